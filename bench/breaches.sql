-- Breach exposure benchmark, on the demo agency of rights.sql: a clerk of
-- branch 12 whose login was phished (the table privileges and column
-- classes of the demo's clerks), an officer who computes the exposure, the
-- breach, and the hand-written count of the same rows.
--
--   breach_bench.hand_count()  per registered table the rows branch 12's
--                              clerk reads (along the scope columns and the
--                              foreign keys, as the registry scopes them),
--                              and the number of candidates among them
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE ROLE bench_breach_clerk IN ROLE privacy_identifying, privacy_contact;
GRANT USAGE ON SCHEMA agency TO bench_breach_clerk;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO bench_breach_clerk;
SELECT privacy.grant_scope('bench_breach_clerk', '12');
CREATE ROLE bench_breach_officer IN ROLE privacy_officer;
GRANT USAGE ON SCHEMA agency TO bench_breach_officer;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO bench_breach_officer;
SELECT privacy.grant_scope('bench_breach_officer', '*');  -- the officer reads every branch, as in the demo

SET ROLE bench_breach_officer;
SELECT privacy.report_breach('BENCH: phished clerk login', now(), 'confidentiality') AS breach_id \gset
RESET ROLE;

CREATE SCHEMA breach_bench;
GRANT USAGE ON SCHEMA breach_bench TO bench_breach_officer;
CREATE TABLE breach_bench.breach AS SELECT :breach_id::bigint AS id;
GRANT SELECT ON breach_bench.breach TO bench_breach_officer;

CREATE FUNCTION breach_bench.hand_count() RETURNS jsonb
LANGUAGE sql STABLE AS $$
WITH c AS MATERIALIZED (SELECT id FROM agency.candidates WHERE branch_id = 12),
     e AS MATERIALIZED (SELECT id, candidate_id FROM agency.employees WHERE branch_id = 12),
     p AS MATERIALIZED (SELECT id, candidate_id FROM agency.placements WHERE branch_id = 12),
     d AS MATERIALIZED (SELECT candidate_id FROM agency.documents WHERE candidate_id IN (SELECT id FROM c)),
     n AS MATERIALIZED (SELECT candidate_id FROM agency.notes WHERE candidate_id IN (SELECT id FROM c)),
     ph AS MATERIALIZED (SELECT candidate_id FROM agency.photos WHERE candidate_id IN (SELECT id FROM c)),
     s AS MATERIALIZED (SELECT e.candidate_id FROM agency.sick_leave x JOIN e ON e.id = x.employee_id),
     t AS MATERIALIZED (SELECT p.candidate_id FROM agency.timesheets x JOIN p ON p.id = x.placement_id)
SELECT jsonb_build_object(
    'records', jsonb_build_object(
        'agency.candidates', (SELECT count(*) FROM c), 'agency.employees', (SELECT count(*) FROM e),
        'agency.placements', (SELECT count(*) FROM p), 'agency.documents', (SELECT count(*) FROM d),
        'agency.notes', (SELECT count(*) FROM n), 'agency.photos', (SELECT count(*) FROM ph),
        'agency.sick_leave', (SELECT count(*) FROM s), 'agency.timesheets', (SELECT count(*) FROM t)),
    'subjects', (SELECT count(DISTINCT k) FROM (SELECT id FROM c UNION ALL SELECT candidate_id FROM e
                                                UNION ALL SELECT candidate_id FROM p UNION ALL SELECT candidate_id FROM d
                                                UNION ALL SELECT candidate_id FROM n UNION ALL SELECT candidate_id FROM ph
                                                UNION ALL SELECT candidate_id FROM s UNION ALL SELECT candidate_id FROM t) u(k)))
$$;
GRANT EXECUTE ON FUNCTION breach_bench.hand_count() TO bench_breach_officer;
