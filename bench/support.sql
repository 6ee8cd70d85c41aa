-- Support access benchmark roles, on the row-level authorization data of
-- rls.sql: a vendor developer bench_sup (the same table privileges as the
-- clerk bench_rls), an officer who approves, and 100 other support roles
-- whose grants the clerk's lookups must not pay for.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE ROLE bench_sup LOGIN IN ROLE privacy_support;
GRANT USAGE ON SCHEMA rls TO bench_sup;
GRANT SELECT ON rls.rls_ext, rls.visible_ids TO bench_sup;
CREATE ROLE bench_officer IN ROLE privacy_officer;
SELECT format('CREATE ROLE bench_sup_%s IN ROLE privacy_support', g) FROM generate_series(1, 100) g
\gexec

-- bench_sup's grant: branches 7 and 8 of rls.rls_ext, as the clerk sees them
SET ROLE bench_sup;
SELECT privacy.request_access('bench_sup', 'BENCH-1', '{7,8}', '{rls.rls_ext}', now() + '7 hours') AS sup_grant
\gset
SET ROLE bench_officer;
SELECT privacy.approve_access(:sup_grant);
RESET ROLE;

-- bench_other_grants(make): 100 active grants to the other support roles (true), or none (false)
CREATE PROCEDURE public.bench_other_grants(make boolean)
LANGUAGE plpgsql AS $$
DECLARE
    g bigint;
BEGIN
    IF make THEN
        FOR i IN 1..100 LOOP
            EXECUTE format('SET LOCAL ROLE bench_sup_%s', i);
            g := privacy.request_access(format('bench_sup_%s', i)::regrole, 'BENCH-OTHER', ARRAY[(i % 50 + 1)::text],
                                        '{rls.rls_ext}', now() + '7 hours');
            SET LOCAL ROLE bench_officer;
            PERFORM privacy.approve_access(g);
            RESET ROLE;
        END LOOP;
    ELSE
        SET LOCAL ROLE bench_officer;
        FOR g IN SELECT id FROM privacy.access_grants WHERE reason = 'BENCH-OTHER' AND active LOOP
            PERFORM privacy.revoke_access(g);
        END LOOP;
        RESET ROLE;
    END IF;
END
$$;
