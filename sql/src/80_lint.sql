/* sql/src/80_lint.sql */

-- Privacy by design (AVG art. 25): privacy.lint() finds what the registry
-- misses, with the SQL that fixes each finding; suppressions with their
-- reason; strict mode, which refuses at commit a transaction that leaves a
-- table holding personal data unregistered.  Needs everything before it.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-- (The suppressions, privacy.lint_suppression, are created with the record
-- of processing in 70_rights.sql, which lists them.)

-------------------------------------------------------------------------------
-- The checks
-------------------------------------------------------------------------------

-- Tables of the application: ordinary and partitioned tables outside the
-- system schemas, not members of an extension, not partitions.
CREATE FUNCTION @extschema@._lint_tables()
RETURNS SETOF regclass
LANGUAGE sql STABLE
AS $$
    SELECT c.oid::regclass
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
       AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid
                          AND d.deptype = 'e')
$$;
COMMENT ON FUNCTION @extschema@._lint_tables() IS
'The application''s tables that lint looks at';

-- Views and materialized views of the application that read registered
-- tables, directly or through other views, with the tables they reach.
CREATE FUNCTION @extschema@._lint_views()
RETURNS TABLE (view regclass, relkind "char", owner regrole, invoker boolean, tables text)
LANGUAGE sql STABLE
AS $$
    WITH RECURSIVE reach (view, tbl) AS (
        SELECT rw.ev_class, d.refobjid
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
           AND d.refobjid <> rw.ev_class
           AND d.refobjid IN (SELECT r.relid::oid FROM @extschema@.registered_table r)
        UNION
        SELECT rw.ev_class, r.tbl
          FROM reach r
          JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass
                                     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = r.view
          JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid AND rw.ev_class <> r.view
    )
    SELECT c.oid::regclass, c.relkind, c.relowner::regrole,
           coalesce((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(c.reloptions) o
                      WHERE o.option_name = 'security_invoker'), false),
           string_agg(DISTINCT r.tbl::regclass::text, ', ' ORDER BY r.tbl::regclass::text)
      FROM reach r
      JOIN pg_catalog.pg_class c ON c.oid = r.view
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\_temp\_%'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
     GROUP BY c.oid, c.relkind, c.relowner, c.reloptions
$$;
COMMENT ON FUNCTION @extschema@._lint_views() IS
'The application''s views and materialized views that read registered tables, with the tables they reach';

-- Whether a column's name says it holds data about a person, strongly
-- enough to report a table nobody registered (a bare "name" or "city" is
-- also what a company or a branch has).
CREATE FUNCTION @extschema@._lint_personal_name(col name)
RETURNS boolean
LANGUAGE sql IMMUTABLE
RETURN col ~* '(e_?mail|phone|telefoon|mobile|mobiel|^tel$|(^|_)iban|rekeningnummer|birth|geboorte|^dob$|first_?name|last_?name|given_?name|family_?name|surname|voornaam|achternaam|voorletters|initials|health|medic|diagnos|religi|nationalit|ethnic|etnic|photo|foto|portrait)';
COMMENT ON FUNCTION @extschema@._lint_personal_name(name) IS
'Whether a column name (Dutch or English) says the column holds data about a person';

-- The class a column's name or type suggests, or NULL.
CREATE FUNCTION @extschema@._lint_suggested_class(col name, typ regtype)
RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE
    WHEN col ~* '(health|medic|diagnos|ziekte|ziek_|sick|religi|geloof|nationalit|ethnic|etnic|afkomst)' THEN 'special'
    WHEN col ~* '(photo|foto|image|picture|avatar|portrait|pasfoto)' OR typ = 'bytea'::regtype THEN 'photo'
    WHEN col ~* '(e_?mail|phone|telefoon|mobile|mobiel|^tel_|_tel$|^tel$)' THEN 'contact'
    WHEN col ~* '(iban|bank|rekening|salary|salaris|wage|loon)' THEN 'financial'
    WHEN col ~* '(birth|geboorte|^dob$|address|adres|street|straat|postcode|zip|city|woonplaats|house_?number|huisnummer|(^|_)name$|naam$|voornaam|achternaam|surname|initials|voorletters)' THEN 'identifying'
END;
COMMENT ON FUNCTION @extschema@._lint_suggested_class(name, regtype) IS
'The column class a column''s name (Dutch or English) or type suggests';

CREATE FUNCTION @extschema@._lint_findings(sample_rows integer DEFAULT 200, strict_only boolean DEFAULT false)
RETURNS TABLE (code text, severity text, object text, message text, fix text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    st text := coalesce((SELECT s.name FROM privacy.subject_type s ORDER BY s.name LIMIT 1), '<subject type>');
    pur text := coalesce((SELECT p.name FROM privacy.purpose p ORDER BY p.name LIMIT 1), '<purpose>');
    t record;
    cols text[];
    hits boolean[];
    i integer;
    tabs oid[] := ARRAY(SELECT privacy._lint_tables());
    reaching oid[] := '{}';
BEGIN

    -- PP001: a BSN column in a table that is not registered
    RETURN QUERY
    SELECT 'PP001', 'error', l.relid::regclass::text,
           format('table holds BSNs (column %s) but is not registered', string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)),
           format('SELECT privacy.register_table(%L, %L, key_column => ''<column with the subject''''s key>'');',
                  l.relid::regclass::text, st)
      FROM unnest(tabs) l(relid)
      JOIN pg_attribute a ON a.attrelid = l.relid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE privacy._type_involves_bsn(a.atttypid::regtype)
       AND NOT EXISTS (SELECT FROM privacy.table_subject s WHERE s.relid = l.relid)
     GROUP BY l.relid;

    -- PP002: a foreign-key path to a subject's table, not registered
    FOR t IN
    SELECT DISTINCT ON (p.tbl) p.tbl AS relid, 'PP002' AS code, 'error' AS severity, p.tbl::text AS object,
           CASE WHEN p.tbl = s.root_table THEN format('table is the one of subject type %s but is not registered', s.name)
                ELSE format('table reaches the %s of subject type %s through foreign keys but is not registered',
                            s.root_table, s.name) END AS message,
           format('SELECT privacy.register_table(%L, %L, %s, %s, %s, scope_through => %s);', p.tbl::text, s.name,
                  coalesce(quote_literal(p.key_column), 'NULL'), coalesce(quote_literal(p.via::text), 'NULL'),
                  coalesce(quote_literal(p.scope_column), 'NULL'), coalesce(quote_literal(p.scope_through::text), 'NULL')) AS fix
      FROM privacy.subject_type s, privacy.propose_registrations(s.name) p
     WHERE NOT p.registered AND p.tbl::oid = ANY (tabs)
       AND NOT EXISTS (SELECT FROM privacy.table_subject x WHERE x.relid = p.tbl)
     ORDER BY p.tbl, s.name LOOP
        code := t.code; severity := t.severity; object := t.object; message := t.message; fix := t.fix;
        RETURN NEXT;
        reaching := reaching || t.relid::oid;
    END LOOP;

    -- PP015: a view that reads registered tables with the rights of an owner
    -- who bypasses row-level security: its readers see every row.  PP016: a
    -- materialized view of registered tables, a copy that row-level
    -- security, column masks, retention and erasure do not reach.
    RETURN QUERY
    SELECT CASE v.relkind WHEN 'v' THEN 'PP015' ELSE 'PP016' END, 'error', v.view::text,
           CASE v.relkind
                WHEN 'v' THEN format('view reads %s with the rights of its owner %s, who bypasses row-level security: whoever reads the view sees every row',
                                     v.tables, v.owner)
                ELSE format('materialized view copies %s out of reach of row-level security, column masks, retention and erasure',
                            v.tables) END,
           CASE v.relkind
                WHEN 'v' THEN format('ALTER VIEW %s SET (security_invoker = true);', v.view)
                ELSE format('DROP MATERIALIZED VIEW %s;  -- read the tables through a view with security_invoker = true instead', v.view) END
      FROM privacy._lint_views() v JOIN pg_roles ro ON ro.oid = v.owner
     WHERE v.relkind = 'm' OR (NOT v.invoker AND (ro.rolsuper OR ro.rolbypassrls))
     ORDER BY v.view::text;

    -- strict mode, at commit, needs only the checks above
    IF strict_only THEN
        RETURN;
    END IF;

    -- PP003: a registration that no longer fits the table
    RETURN QUERY
    SELECT 'PP003', 'error', r.relid::text, x.what,
           format('SELECT privacy.unregister_table(%L);  -- then register it again: privacy.propose_registrations()', r.relid::text)
      FROM privacy.registered_table r,
           LATERAL (SELECT format('scope column %I does not exist', r.scope_column) AS what
                     WHERE r.scope_column IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = r.relid AND a.attname = r.scope_column
                                                                    AND a.attnum > 0 AND NOT a.attisdropped)
                    UNION ALL
                    SELECT format('no foreign key (%s) to %s for the scope any more', array_to_string(r.scope_fk_columns, ', '),
                                  r.scope_parent)
                     WHERE r.scope_parent IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_constraint c
                                        WHERE c.contype = 'f' AND c.conrelid = r.relid AND c.confrelid = r.scope_parent
                                          AND ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                                                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                                                     ORDER BY k.o)::name[] = r.scope_fk_columns)
                    UNION ALL
                    SELECT format('key column %I of subject type %s does not exist', ts.key_column, ts.subject_type)
                      FROM privacy.table_subject ts
                     WHERE ts.relid = r.relid AND ts.key_column IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = r.relid AND a.attname = ts.key_column
                                                                    AND a.attnum > 0 AND NOT a.attisdropped)
                    UNION ALL
                    SELECT format('no foreign key (%s) to %s on the path to subject type %s any more',
                                  (SELECT string_agg(c, ', ') FROM jsonb_array_elements_text(ts.via_columns -> 0 -> 'columns') c),
                                  ts.via[1], ts.subject_type)
                      FROM privacy.table_subject ts
                     WHERE ts.relid = r.relid AND ts.via IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_constraint c
                                        WHERE c.contype = 'f' AND c.conrelid = r.relid AND c.confrelid = ts.via[1]
                                          AND ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                                                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                                                     ORDER BY k.o)
                                              = ARRAY(SELECT jsonb_array_elements_text(ts.via_columns -> 0 -> 'columns')))) x;

    -- PP004: an unclassified column whose name or type suggests personal data
    RETURN QUERY
    SELECT 'PP004', 'warning', format('%s.%I', r.relid, a.attname),
           format('column looks like %s data but has no class', privacy._lint_suggested_class(a.attname, a.atttypid::regtype)),
           format('SELECT privacy.classify_column(%L, %L, %L);', r.relid::text, a.attname,
                  privacy._lint_suggested_class(a.attname, a.atttypid::regtype))
      FROM privacy.registered_table r
      JOIN pg_attribute a ON a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE privacy._lint_suggested_class(a.attname, a.atttypid::regtype) IS NOT NULL
       AND NOT privacy._type_involves_bsn(a.atttypid::regtype)
       AND NOT EXISTS (SELECT FROM privacy.column_policy cp
                        WHERE cp.relid = r.relid AND cp.column_name = a.attname
                          AND (cp.class IS NOT NULL OR cp.state <> 'on'))
     ORDER BY r.relid::text, a.attnum;

    -- PP005: BSNs or IBANs in a sample of a text column without a class
    FOR t IN SELECT r.relid, array_agg(a.attname ORDER BY a.attnum) AS cols
               FROM privacy.registered_table r
               JOIN pg_attribute a ON a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE privacy._base_type(a.atttypid::regtype) IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
                AND NOT EXISTS (SELECT FROM privacy.column_policy cp
                                 WHERE cp.relid = r.relid AND cp.column_name = a.attname
                                   AND (cp.class IS NOT NULL OR cp.state <> 'on'))
              GROUP BY r.relid ORDER BY r.relid::text LOOP
        cols := t.cols;
        EXECUTE format('SELECT ARRAY[%s] FROM (SELECT %s FROM %s LIMIT %s) s',
                       (SELECT string_agg(format('coalesce(bool_or(privacy.has_identifier(%I::text)), false)', c), ', ')
                          FROM unnest(cols) c),
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c),
                       t.relid::regclass, sample_rows)
            INTO hits;
        FOR i IN 1 .. cardinality(cols) LOOP
            IF hits[i] THEN
                code := 'PP005'; severity := 'warning'; object := format('%s.%I', t.relid::regclass, cols[i]);
                message := 'BSNs or IBANs found in a sample of this text column, which has no class';
                fix := format('SELECT privacy.classify_column(%L, %L, ''free_text'');  -- and see privacy.scan_table(%L)',
                              t.relid::regclass::text, cols[i], t.relid::regclass::text);
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;

    -- PP006, PP007: a registered table without a retention rule or a purpose
    RETURN QUERY
    SELECT 'PP006', 'warning', r.relid::text, 'registered table has no retention rule',
           format('SELECT privacy.create_retention_rule(%L, %L, ''<document type>'', start_expr => ''<column>'');',
                  left(regexp_replace(lower(c.relname), '[^a-z0-9_]', '_', 'g'), 63), r.relid::text)
      FROM privacy.registered_table r JOIN pg_class c ON c.oid = r.relid
     WHERE NOT EXISTS (SELECT FROM privacy.retention_rule x WHERE x.relid = r.relid)
     ORDER BY r.relid::text;
    RETURN QUERY
    SELECT 'PP007', 'warning', r.relid::text, 'registered table is bound to no purpose',
           format('SELECT privacy.bind_purpose(%L, %L);', r.relid::text, pur)
      FROM privacy.registered_table r
     WHERE NOT EXISTS (SELECT FROM privacy.table_purpose x WHERE x.relid = r.relid)
     ORDER BY r.relid::text;

    -- PP008: a purpose on consent without any consent recorded
    RETURN QUERY
    SELECT 'PP008', 'warning', p.name, 'purpose rests on consent but no consent is recorded',
           format('SELECT privacy.record_consent(''%s'', ''<key>'', %L);  -- or give the purpose its real legal basis', st, p.name)
      FROM privacy.purpose p
     WHERE p.legal_basis = 'consent' AND NOT EXISTS (SELECT FROM privacy.consent c WHERE c.purpose = p.name)
     ORDER BY p.name;

    -- PP009, PP010: transfers outside the EU/EEA
    RETURN QUERY
    SELECT 'PP009', 'error', sp.role::text,
           format('support role works from %s without a safeguard for the transfer', sp.country),
           format('SELECT privacy.define_support_role(%L, %L, ''standard_contractual_clauses'');', sp.role::text, sp.country)
      FROM privacy.support_profile sp WHERE sp.safeguard = 'none'
     ORDER BY 3;
    RETURN QUERY
    SELECT 'PP010', 'warning', r.name,
           format('recipient in %s rests on a derogation (AVG art. 49): only for occasional transfers', r.country),
           format('SELECT privacy.define_recipient(%L, %L, %L, ''standard_contractual_clauses'');', r.name, r.kind, r.country)
      FROM privacy.recipient r WHERE r.safeguard = 'derogation'
     ORDER BY r.name;

    -- PP011: retention rules that nothing runs
    IF EXISTS (SELECT FROM privacy.retention_rule) THEN
        IF to_regclass('cron.job') IS NULL THEN
            i := 0;
        ELSE
            EXECUTE 'SELECT count(*) FROM cron.job WHERE active AND command ~* ''privacy\.purge''' INTO i;
        END IF;
        IF i = 0 THEN
            code := 'PP011'; severity := 'warning'; object := 'privacy.purge';
            message := 'retention rules exist but no active pg_cron job runs privacy.purge()';
            fix := 'SELECT privacy.schedule_purge();';
            RETURN NEXT;
        END IF;
    END IF;

    -- PP012: requests past their deadline
    RETURN QUERY
    SELECT 'PP012', 'error', 'request ' || q.id,
           format('%s request of %s is past its deadline (%s)', q.kind, q.subject_type, q.deadline),
           format('SELECT privacy.close_request(%s, ''fulfilled'');  -- or privacy.extend_request(%s, ''<reason>'')', q.id, q.id)
      FROM privacy.request q WHERE q.status = 'open' AND q.deadline < current_date
     ORDER BY q.id;

    -- PP013: login roles that bypass row-level security and can read a
    -- registered table (the bootstrap superuser, which owns the cluster, aside)
    RETURN QUERY
    SELECT 'PP013', 'warning', ro.rolname::text,
           format('login role is %s and reads every row of %s registered tables',
                  CASE WHEN ro.rolsuper THEN 'a superuser' ELSE 'BYPASSRLS' END, count(*)),
           format('ALTER ROLE %I %s;', ro.rolname, CASE WHEN ro.rolsuper THEN 'NOSUPERUSER' ELSE 'NOBYPASSRLS' END)
      FROM pg_roles ro, privacy.registered_table r
     WHERE ro.rolcanlogin AND (ro.rolsuper OR ro.rolbypassrls) AND ro.oid <> 10
       AND has_any_column_privilege(ro.oid, r.relid, 'SELECT')
     GROUP BY ro.rolname, ro.rolsuper
     ORDER BY ro.rolname;

    -- PP014: privileges granted to PUBLIC on a registered table
    RETURN QUERY
    SELECT 'PP014', 'error', r.relid::text,
           format('PUBLIC holds %s on a registered table', string_agg(DISTINCT acl.privilege_type, ', ')),
           format('REVOKE ALL ON %s FROM PUBLIC;', r.relid)
      FROM privacy.registered_table r JOIN pg_class c ON c.oid = r.relid, aclexplode(c.relacl) acl
     WHERE acl.grantee = 0
     GROUP BY r.relid ORDER BY r.relid::text;

    -- PP017: a table nobody registered whose columns say it holds data about
    -- people (tables with a BSN or a path to a subject are PP001 and PP002)
    RETURN QUERY
    SELECT 'PP017', 'warning', l.relid::regclass::text,
           format('table is not registered but its columns suggest data about people (%s)',
                  string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)),
           format('SELECT privacy.register_subject_type(''<subject type>'', %1$L, %2$L); SELECT privacy.register_table(%1$L, ''<subject type>'', %2$L);  -- or only the second, with the key column, for people of a subject type that exists',
                  l.relid::regclass::text,
                  coalesce((SELECT ka.attname::text FROM pg_constraint k
                              JOIN pg_attribute ka ON ka.attrelid = k.conrelid AND ka.attnum = k.conkey[1]
                             WHERE k.conrelid = l.relid AND k.contype = 'p' AND cardinality(k.conkey) = 1),
                           '<key column>'))
      FROM unnest(tabs) l(relid)
      JOIN pg_attribute a ON a.attrelid = l.relid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE privacy._lint_personal_name(a.attname)
       AND NOT (l.relid = ANY (reaching))
       AND NOT EXISTS (SELECT FROM privacy.table_subject s WHERE s.relid = l.relid)
       AND NOT EXISTS (SELECT FROM pg_attribute b WHERE b.attrelid = l.relid AND b.attnum > 0 AND NOT b.attisdropped
                                                   AND privacy._type_involves_bsn(b.atttypid::regtype))
     GROUP BY l.relid
     ORDER BY l.relid::regclass::text;
END
$$;
COMMENT ON FUNCTION @extschema@._lint_findings(integer, boolean) IS
'Every finding of the lint checks, suppressed or not; with strict_only, only those of the checks strict mode runs at commit (PP001, PP002, PP015, PP016)';

CREATE FUNCTION @extschema@.lint(include_suppressed boolean DEFAULT false, sample_rows integer DEFAULT 200)
RETURNS TABLE (code text, severity text, object text, message text, fix text, suppressed text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF NOT (privacy._calling_role_is_admin() OR privacy._calling_role_is_officer()) THEN
        RAISE EXCEPTION 'only the privacy admin or the privacy officer may lint the schema'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF sample_rows IS NULL OR sample_rows < 0 THEN
        RAISE EXCEPTION 'sample_rows must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT f.code, f.severity, f.object, f.message, f.fix, s.reason
      FROM privacy._lint_findings(sample_rows) f
      LEFT JOIN privacy.lint_suppression s ON s.code = f.code AND s.object = f.object
     WHERE include_suppressed OR s.code IS NULL
     ORDER BY CASE f.severity WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END, f.code, f.object;
END
$$;
COMMENT ON FUNCTION @extschema@.lint(boolean, integer) IS
'What the registry misses: one row per finding with its code (PP001...), severity, object, what is wrong and the SQL that fixes it; suppressed findings only when asked';

CREATE FUNCTION @extschema@.suppress_finding(code text, object text, reason text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF code IS NULL OR code !~ '^PP[0-9]{3}$' THEN
        RAISE EXCEPTION 'invalid finding code "%"', code
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Codes look like PP004; see privacy.lint().';
    END IF;
    IF object IS NULL OR btrim(object) = '' OR reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a suppression names its object and its reason' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO privacy.lint_suppression AS x (code, object, reason, suppressed_by)
    VALUES (code, object, reason, privacy._calling_role()::name)
    ON CONFLICT ON CONSTRAINT lint_suppression_pkey DO UPDATE
       SET reason = excluded.reason, suppressed_by = excluded.suppressed_by, suppressed_at = pg_catalog.now();
    PERFORM privacy.audit_append('lint.suppress', object, NULL, NULL,
                                 jsonb_build_object('code', code, 'reason', reason));
END
$$;
COMMENT ON FUNCTION @extschema@.suppress_finding(text, text, text) IS
'Accept a finding of privacy.lint() for an object, with the reason; audited, and listed in the record of processing';

CREATE FUNCTION @extschema@.unsuppress_finding(code text, object text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    DELETE FROM privacy.lint_suppression s WHERE s.code = unsuppress_finding.code AND s.object = unsuppress_finding.object;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'finding % of "%" is not suppressed', code, object USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('lint.unsuppress', object, NULL, NULL, jsonb_build_object('code', code));
END
$$;
COMMENT ON FUNCTION @extschema@.unsuppress_finding(text, text) IS
'Withdraw the suppression of a finding; audited';

-------------------------------------------------------------------------------
-- Strict mode
--
-- With privacy.strict on, every CREATE or ALTER of a table, a view or a
-- materialized view notes the relation; at commit, a deferred trigger runs
-- the registration checks (PP001, PP002) and the view checks (PP015,
-- PP016) on the relations noted and refuses the transaction when one of
-- them holds personal data and is not registered, or shows registered
-- tables without their protection.
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.strict_pending (
    relid  oid NOT NULL,
    txid   xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    PRIMARY KEY (txid, relid)
);
COMMENT ON TABLE @extschema@.strict_pending IS
'Tables created or altered by a transaction under privacy.strict, checked when it commits; empty outside such a transaction';
REVOKE ALL ON @extschema@.strict_pending FROM PUBLIC;

CREATE FUNCTION @extschema@._strict_note()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF NOT coalesce(current_setting('privacy.strict', true)::boolean, false) THEN
        RETURN;
    END IF;
    INSERT INTO privacy.strict_pending (relid)
    SELECT DISTINCT c.objid FROM pg_event_trigger_ddl_commands() c
     WHERE c.classid = 'pg_catalog.pg_class'::regclass AND c.objsubid = 0
       AND EXISTS (SELECT FROM pg_class x WHERE x.oid = c.objid AND x.relkind IN ('r', 'p', 'v', 'm')
                                             AND x.relpersistence <> 't')
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@._strict_note() IS
'Event trigger: under privacy.strict, note the tables a DDL command created or altered, for the check at commit';

CREATE EVENT TRIGGER privacy_strict_note ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
                 'CREATE VIEW', 'ALTER VIEW', 'CREATE MATERIALIZED VIEW', 'ALTER MATERIALIZED VIEW')
    EXECUTE FUNCTION @extschema@._strict_note();

CREATE FUNCTION @extschema@._strict_check()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    f record;
BEGIN
    DELETE FROM privacy.strict_pending p WHERE p.txid = NEW.txid AND p.relid = NEW.relid;
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = NEW.relid)
       OR EXISTS (SELECT FROM privacy.table_subject s WHERE s.relid = NEW.relid) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO f FROM privacy._lint_findings(0, strict_only => true) x
     WHERE x.object = NEW.relid::regclass::text
       AND NOT EXISTS (SELECT FROM privacy.lint_suppression s WHERE s.code = x.code AND s.object = x.object)
     LIMIT 1;
    IF FOUND AND f.code IN ('PP001', 'PP002') THEN
        RAISE EXCEPTION 'table "%" holds personal data and is not registered', NEW.relid::regclass
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s: %s. privacy.strict is on: a table like this must be registered in the transaction that creates it.',
                                  f.code, f.message),
                  HINT = format('Run, as the privacy admin, in the same transaction: %s', f.fix);
    ELSIF FOUND THEN
        RAISE EXCEPTION '% "%" would show registered tables without their protection',
                        CASE f.code WHEN 'PP016' THEN 'materialized view' ELSE 'view' END, NEW.relid::regclass
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s: %s. privacy.strict is on.', f.code, f.message),
                  HINT = CASE f.code WHEN 'PP016' THEN 'Read the tables through a view with security_invoker = true instead.'
                                     ELSE format('Run, in the same transaction: %s', f.fix) END;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._strict_check() IS
'Deferred trigger: at commit, refuse a table noted under privacy.strict that holds personal data and is not registered';

CREATE CONSTRAINT TRIGGER strict_check AFTER INSERT ON @extschema@.strict_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION @extschema@._strict_check();
ALTER TABLE @extschema@.strict_pending ENABLE ALWAYS TRIGGER strict_check;

CREATE FUNCTION @extschema@.set_strict(enabled boolean)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'strict mode is on or off' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE format('ALTER DATABASE %I SET privacy.strict = %s', current_database(), CASE WHEN enabled THEN 'on' ELSE 'off' END);
    PERFORM privacy.audit_append('lint.strict', current_database(), NULL, NULL, jsonb_build_object('strict', enabled));
END
$$;
COMMENT ON FUNCTION @extschema@.set_strict(boolean) IS
'Switch privacy.strict on or off for the current database (new sessions); audited';

REVOKE EXECUTE ON FUNCTION
    @extschema@._lint_tables(),
    @extschema@._lint_views(),
    @extschema@._lint_suggested_class(name, regtype),
    @extschema@._lint_personal_name(name),
    @extschema@._lint_findings(integer, boolean),
    @extschema@.lint(boolean, integer),
    @extschema@.suppress_finding(text, text, text),
    @extschema@.unsuppress_finding(text, text),
    @extschema@._strict_note(),
    @extschema@._strict_check(),
    @extschema@.set_strict(boolean)
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.lint_suppression TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.lint(boolean, integer) TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.suppress_finding(text, text, text), '
        'privacy.unsuppress_finding(text, text), privacy.set_strict(boolean) TO %I', admin);
END
$$;
