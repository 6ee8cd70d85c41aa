/* sql/src/60_retention.sql */

-- Retention: document types with their legal periods and the Dutch preset,
-- rules binding them to registered tables, legal holds, signalling and the
-- batched purge with its pg_cron schedule. Needs the registry and the
-- column policies.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-------------------------------------------------------------------------------
-- Retention: document types with their periods, rules binding them to
-- registered tables, legal holds, signalling and the batched purge
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.document_type (
    name         text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    description  text,
    retention    interval    NOT NULL CHECK (retention >= interval '0'),
    clock        text        NOT NULL,
    rounding     text        NOT NULL DEFAULT 'none'
                             CHECK (rounding IN ('none', 'end_of_month', 'end_of_year')),
    min_keep     interval    CHECK (min_keep >= interval '0'),
    action       text        NOT NULL DEFAULT 'delete'
                             CHECK (action IN ('delete', 'anonymize', 'signal')),
    legal_basis  text,
    source       text,
    preset       text,
    changed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    changed_by   name        NOT NULL
);
COMMENT ON TABLE @extschema@.document_type IS
'Kinds of documents with how long they are kept: the period, what starts the clock, rounding, the minimum a law demands, the legal basis and what happens when they expire';
COMMENT ON COLUMN @extschema@.document_type.clock IS
'What starts the clock, in words; each retention rule binds it to an expression';
COMMENT ON COLUMN @extschema@.document_type.rounding IS
'none: the period runs from the start date; end_of_month / end_of_year: from the end of the month or calendar year the start date falls in';
COMMENT ON COLUMN @extschema@.document_type.min_keep IS
'A period a law demands keeping: no purge or erasure removes a document earlier, whatever the retention';

CREATE TABLE @extschema@.retention_rule (
    name          text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    document_type text        NOT NULL REFERENCES @extschema@.document_type ON UPDATE CASCADE,
    relid         regclass    NOT NULL REFERENCES @extschema@.registered_table ON DELETE CASCADE,
    condition     text,
    start_expr    text        NOT NULL,
    retention     interval    CHECK (retention >= interval '0'),
    anonymize     jsonb,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by    name        NOT NULL
);
COMMENT ON TABLE @extschema@.retention_rule IS
'Bindings of document types to registered tables: which rows (condition), when their clock starts (start_expr) and, for anonymizing types, what to blank';
COMMENT ON COLUMN @extschema@.retention_rule.retention IS
'Overrides the document type''s retention for this table; the type''s min_keep still applies';
COMMENT ON COLUMN @extschema@.retention_rule.anonymize IS
'For anonymizing document types: {"column": null} sets NULL, {"column": {"keep": n}} keeps the last n characters, {"column": "text"} writes that value';

CREATE SEQUENCE @extschema@.legal_hold_seq;
CREATE TABLE @extschema@.legal_hold (
    id           bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.legal_hold_seq'),
    subject_type text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key  text        NOT NULL,
    reason       text        NOT NULL CHECK (reason <> ''),
    held_until   date,
    placed_by    name        NOT NULL,
    placed_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    released_by  name,
    released_at  timestamptz,
    CHECK ((released_by IS NULL) = (released_at IS NULL))
);
CREATE INDEX legal_hold_subject_idx ON @extschema@.legal_hold (subject_type, subject_key)
    WHERE released_at IS NULL;
COMMENT ON TABLE @extschema@.legal_hold IS
'Legal holds: while one is active (not released, held_until not passed), no purge or erasure touches the subject''s rows';

CREATE SEQUENCE @extschema@.purge_run_seq;
CREATE TYPE @extschema@.purge_backend AS (pid integer, started timestamptz);
CREATE TABLE @extschema@.purge_log (
    run_id        bigint      NOT NULL,
    rule          text        NOT NULL,
    ord           integer     NOT NULL,
    tbl           text        NOT NULL,
    action        text        NOT NULL,
    run_by        name        NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    status        text        NOT NULL CHECK (status IN ('pending', 'running', 'done', 'budget',
                                                         'not_reached', 'interrupted')),
    deleted       bigint      NOT NULL DEFAULT 0,
    anonymized    bigint      NOT NULL DEFAULT 0,
    held          bigint      NOT NULL DEFAULT 0,
    blocked       bigint      NOT NULL DEFAULT 0,
    batches       integer     NOT NULL DEFAULT 0,
    longest_batch_ms double precision NOT NULL DEFAULT 0,
    run_by_pid    @extschema@.purge_backend,
    PRIMARY KEY (run_id, rule)
);
COMMENT ON TABLE @extschema@.purge_log IS
'What each purge run did per rule: counts, never contents; interrupted runs are closed by the next run';

-- every change reaches the SQL every backend built from these catalogs
CREATE TRIGGER document_type_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.document_type FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
CREATE TRIGGER retention_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.retention_rule FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
ALTER TABLE @extschema@.document_type ENABLE ALWAYS TRIGGER document_type_changed;
ALTER TABLE @extschema@.retention_rule ENABLE ALWAYS TRIGGER retention_rule_changed;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.document_type', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.legal_hold', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.legal_hold_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.purge_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.purge_run_seq', '');

REVOKE ALL ON @extschema@.document_type, @extschema@.retention_rule, @extschema@.legal_hold,
              @extschema@.purge_log FROM PUBLIC;

CREATE FUNCTION @extschema@._check_expression(from_clause text, expr text, what text, author regrole DEFAULT NULL)
RETURNS regtype
AS 'MODULE_PATHNAME', 'privacy_check_expression'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._check_expression(text, text, text, regrole) IS
'The type of a retention expression over a FROM clause, after checking that the purge may run it and that its author (default: the caller) may read what it reads';

CREATE FUNCTION @extschema@._require_top_level(what text)
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_require_top_level'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._require_top_level(text) IS
'Raise inside a transaction block (for procedures that commit)';

CREATE FUNCTION @extschema@._act_as_owner(tbl regclass, sql text, VARIADIC args "any")
RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_act_as_owner'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION @extschema@._sql_cache_get(key text)
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_sql_cache_get'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._sql_cache_get(text) IS
'SQL this backend built and kept under a key, until a catalog it may depend on changes';

CREATE FUNCTION @extschema@._sql_cache_put(key text, value text)
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_sql_cache_put'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._sql_cache_put(text, text) IS
'Keep SQL this backend built under a key';

COMMENT ON FUNCTION @extschema@._act_as_owner(regclass, text, "any") IS
'Run a statement of the purge or an erasure (on the given tuples, or a subject''s rows) as the table''s owner, so that its triggers run with the owner''s rights';

CREATE FUNCTION @extschema@._query(sql text, VARIADIC args "any")
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'privacy_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._query(text, "any") IS
'The rows of a statement the extension built, run with a plan kept in the backend';

CREATE FUNCTION @extschema@.retention_clock(start date, rounding text DEFAULT 'none')
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN NOT pg_catalog.isfinite(start) OR rounding = 'none' THEN start
            WHEN rounding = 'end_of_year'
                THEN pg_catalog.make_date(pg_catalog.date_part('year', start)::integer + 1, 1, 1)
            WHEN rounding = 'end_of_month'
                THEN (pg_catalog.make_date(pg_catalog.date_part('year', start)::integer,
                                           pg_catalog.date_part('month', start)::integer, 1)
                      + interval '1 month')::date
       END;
COMMENT ON FUNCTION @extschema@.retention_clock(date, text) IS
'The day a retention period starts running: the start date, or the day after the end of its month or calendar year';

CREATE FUNCTION @extschema@.retention_expiry(
    start date, retention interval, rounding text DEFAULT 'none', min_keep interval DEFAULT NULL)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (GREATEST(@extschema@.retention_clock(start, rounding) + retention,
                 @extschema@.retention_clock(start, rounding) + coalesce(min_keep, retention)))::date;
COMMENT ON FUNCTION @extschema@.retention_expiry(date, interval, text, interval) IS
'The first day a document may be removed: its start date, rounded up to the end of its month or year, plus the longer of the retention and the minimum keep period';

-- Document types

CREATE FUNCTION @extschema@.define_document_type(
    name text,
    retention interval,
    clock text,
    rounding text DEFAULT 'none',
    min_keep interval DEFAULT NULL,
    action text DEFAULT 'delete',
    legal_basis text DEFAULT NULL,
    source text DEFAULT NULL,
    description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    old privacy.document_type;
BEGIN
    PERFORM privacy._require_admin();
    IF rounding IS NULL OR rounding NOT IN ('none', 'end_of_month', 'end_of_year') THEN
        RAISE EXCEPTION 'invalid rounding "%"', rounding
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use none, end_of_month or end_of_year.';
    END IF;
    IF action IS NULL OR action NOT IN ('delete', 'anonymize', 'signal') THEN
        RAISE EXCEPTION 'invalid retention action "%"', action
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use delete, anonymize or signal.';
    END IF;
    IF retention IS NULL OR retention < interval '0' OR min_keep < interval '0' THEN
        RAISE EXCEPTION 'a retention period must not be negative or missing'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF clock IS NULL OR btrim(clock) = '' THEN
        RAISE EXCEPTION 'say what starts the clock of document type "%"', define_document_type.name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO old FROM privacy.document_type d WHERE d.name = define_document_type.name FOR UPDATE;
    IF FOUND AND old.action <> define_document_type.action
       AND EXISTS (SELECT FROM privacy.retention_rule r WHERE r.document_type = old.name) THEN
        RAISE EXCEPTION 'document type "%" is used by retention rules; its action cannot change', old.name
            USING ERRCODE = 'object_in_use',
                  HINT = 'Drop and recreate its rules, or define a new document type.';
    END IF;
    BEGIN
        INSERT INTO privacy.document_type AS d
               (name, description, retention, clock, rounding, min_keep, action, legal_basis,
                source, changed_by)
        VALUES (define_document_type.name, description, retention, clock, rounding, min_keep,
                action, legal_basis, source, privacy._calling_role()::name)
        ON CONFLICT ON CONSTRAINT document_type_pkey DO UPDATE
           SET description = excluded.description, retention = excluded.retention,
               clock = excluded.clock, rounding = excluded.rounding, min_keep = excluded.min_keep,
               action = excluded.action, legal_basis = excluded.legal_basis,
               source = excluded.source, preset = NULL, changed_at = pg_catalog.now(),
               changed_by = excluded.changed_by;
    EXCEPTION WHEN check_violation THEN
        RAISE EXCEPTION 'invalid document type name "%"', define_document_type.name
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'A document type name is lower case letters, digits and underscores, starting with a letter.';
    END;
    PERFORM privacy.audit_append('retention.document_type', define_document_type.name, NULL, NULL,
        jsonb_build_object('retention', retention::text, 'min_keep', min_keep::text,
                           'rounding', rounding, 'action', action,
                           'previous', CASE WHEN old.name IS NOT NULL THEN
                               jsonb_build_object('retention', old.retention::text,
                                                  'min_keep', old.min_keep::text,
                                                  'rounding', old.rounding) END));
END
$$;
COMMENT ON FUNCTION @extschema@.define_document_type(text, interval, text, text, interval, text, text, text, text) IS
'Create or change a document type: retention, what starts the clock, rounding, minimum keep period, action, legal basis and source; audited';

CREATE FUNCTION @extschema@.drop_document_type(name text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF EXISTS (SELECT FROM privacy.retention_rule r WHERE r.document_type = drop_document_type.name) THEN
        RAISE EXCEPTION 'document type "%" is used by retention rules', drop_document_type.name
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Drop its rules first; privacy.retention_rules lists them.';
    END IF;
    DELETE FROM privacy.document_type d WHERE d.name = drop_document_type.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document type "%" does not exist', drop_document_type.name
            USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('retention.document_type.drop', drop_document_type.name);
END
$$;
COMMENT ON FUNCTION @extschema@.drop_document_type(text) IS
'Remove a document type no rule uses; audited';

CREATE FUNCTION @extschema@.load_retention_preset(preset text DEFAULT 'nl_staffing')
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    PERFORM privacy._require_admin();
    IF preset IS DISTINCT FROM 'nl_staffing' THEN
        RAISE EXCEPTION 'unknown retention preset "%"', preset
            USING ERRCODE = 'undefined_object', HINT = 'The available preset is nl_staffing.';
    END IF;
    -- Types already present are left as the controller set them.
    INSERT INTO privacy.document_type (name, description, retention, clock, rounding, min_keep,
                                       action, legal_basis, source, preset, changed_by)
    SELECT p.*, 'nl_staffing', privacy._calling_role()::name
      FROM (VALUES
        ('employee_id_copy',
         'Copy of the identity document of an employee, kept for the wage tax administration',
         interval '5 years', 'the end of the employment', 'end_of_year', interval '5 years', 'delete',
         'Legal obligation (AVG art. 6(1)(c)): the employer keeps the copy with the wage administration',
         'Uitvoeringsregeling loonbelasting 2011, art. 7.5; Wet op de loonbelasting 1964, art. 28'),
        ('payroll_record',
         'Payroll and fiscal records: payslips, wage statements, the wage administration',
         interval '7 years', 'the end of the calendar year of the record', 'end_of_year', interval '7 years', 'delete',
         'Legal obligation (AVG art. 6(1)(c)): the fiscal duty to keep records',
         'Algemene wet inzake rijksbelastingen (AWR), art. 52'),
        ('candidate_id_copy',
         'Copy of the identity document a candidate showed at registration, while not employed',
         interval '4 weeks', 'the registration of the candidate', 'none', NULL, 'delete',
         'Legal obligation (AVG art. 6(1)(c)): identification of the worker before placement; no longer than needed',
         'Wet allocatie arbeidskrachten door intermediairs (Waadi), art. 7c; AVG art. 5(1)(e)'),
        ('rejected_applicant',
         'Application data of a candidate who was not placed, without consent to keep it',
         interval '4 weeks', 'the end of the application procedure', 'none', NULL, 'delete',
         'Legitimate interest (AVG art. 6(1)(f)) during the procedure',
         'Autoriteit Persoonsgegevens, guidance on application data (sollicitatiegegevens)'),
        ('rejected_applicant_consent',
         'Application data of a candidate who was not placed and consented to keeping it for later vacancies',
         interval '1 year', 'the end of the application procedure', 'none', NULL, 'delete',
         'Consent (AVG art. 6(1)(a))',
         'Autoriteit Persoonsgegevens, guidance on application data (sollicitatiegegevens)'),
        ('working_time_record',
         'Records of working and rest times (timesheets)',
         interval '52 weeks', 'the date of the work', 'none', interval '52 weeks', 'delete',
         'Legal obligation (AVG art. 6(1)(c)): the working-time administration',
         'Arbeidstijdenbesluit, art. 4.3:1; Arbeidstijdenwet, art. 4:3'),
        ('personnel_file',
         'Personnel file of a (former) employee, where no statutory period applies',
         interval '2 years', 'the end of the employment', 'none', NULL, 'delete',
         'Legitimate interest (AVG art. 6(1)(f)): disputes after the employment ends',
         'Autoriteit Persoonsgegevens, guidance on personnel files (personeelsdossier)')
      ) AS p(name, description, retention, clock, rounding, min_keep, action, legal_basis, source)
    ON CONFLICT ON CONSTRAINT document_type_pkey DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM privacy.audit_append('retention.preset', preset, NULL, NULL,
                                 jsonb_build_object('added', n));
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.load_retention_preset(text) IS
'Add the document types of a preset (nl_staffing: Dutch staffing periods with their sources) that are not defined yet; a starting point for the controller to review';

-- How the purge and the signalling reach a rule's rows: the table as r,
-- and for each of its subject types the subject's root row as one value
-- named after the subject type, reached along the registry's key column or
-- foreign-key path.  A rule writes (candidate).birth_date for a column of
-- the subject; the row's own columns stay unambiguous.
-- The path from a registered table (alias) to the root row of one of its
-- subject types: the key column, or the foreign-key path as joins of the
-- tables after the first step (s1 .. sn, sn the root) and the condition
-- linking s1 to the alias.  Every reader of the registry's paths builds on
-- this.
CREATE FUNCTION @extschema@._subject_path(
    tbl regclass, subject_type text, alias text DEFAULT 'r',
    OUT key_column name, OUT root_table regclass, OUT root_key name, OUT keytype regtype,
    OUT steps integer, OUT joins text, OUT link text, OUT link_columns text[], OUT ref_columns text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    ts record;
    step jsonb;
    cond text;
    i integer;
BEGIN
    SELECT t.key_column, t.via, t.via_columns, s.root_table AS root, s.key_column AS rkey
      INTO ts
      FROM privacy.table_subject t JOIN privacy.subject_type s ON s.name = t.subject_type
     WHERE t.relid = tbl AND t.subject_type = _subject_path.subject_type;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    key_column := ts.key_column;
    root_table := ts.root;
    root_key := ts.rkey;
    keytype := privacy._base_type(privacy._column_type(ts.root, ts.rkey));
    IF ts.key_column IS NOT NULL THEN
        steps := 0;
        RETURN;
    END IF;
    steps := array_length(ts.via, 1);
    joins := format('%s s1', ts.via[1]);
    FOR i IN 2 .. steps LOOP
        step := ts.via_columns -> (i - 1);
        SELECT string_agg(format('s%s.%I = s%s.%I', i, rc, i - 1, c), ' AND ')
          INTO cond
          FROM jsonb_array_elements_text(step -> 'columns') WITH ORDINALITY a(c, k)
          JOIN jsonb_array_elements_text(step -> 'ref_columns') WITH ORDINALITY b(rc, m) ON m = k;
        joins := joins || format(' JOIN %s s%s ON %s', ts.via[i], i, cond);
    END LOOP;
    step := ts.via_columns -> 0;
    SELECT string_agg(format('s1.%I = %I.%I', rc, alias, c), ' AND ' ORDER BY k),
           array_agg(c ORDER BY k), array_agg(rc ORDER BY k)
      INTO link, link_columns, ref_columns
      FROM jsonb_array_elements_text(step -> 'columns') WITH ORDINALITY a(c, k)
      JOIN jsonb_array_elements_text(step -> 'ref_columns') WITH ORDINALITY b(rc, m) ON m = k;
END
$$;
COMMENT ON FUNCTION @extschema@._subject_path(regclass, text, text) IS
'How a row of a registered table reaches the root row of a subject type: key column, or foreign-key joins and the link condition';

-- 'ONLY ' when a child of the table (by inheritance, or a partition) is
-- registered itself: its rows are then its own table's business (its
-- rules, its duties), and the parent's statements must not reach them.
CREATE FUNCTION @extschema@._only(tbl regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
RETURN CASE WHEN EXISTS (SELECT FROM pg_inherits i JOIN privacy.table_subject t ON t.relid = i.inhrelid
                          WHERE i.inhparent = tbl) THEN 'ONLY ' ELSE '' END;
COMMENT ON FUNCTION @extschema@._only(regclass) IS
'ONLY when a child table of the table is registered itself, so that statements on the table leave the child''s rows alone';

CREATE FUNCTION @extschema@._rule_from(tbl regclass, subjects text[] DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    st text;
    pth record;
    sql text := format('%s%s AS r', privacy._only(tbl), tbl);
BEGIN
    FOR st IN SELECT t.subject_type FROM privacy.table_subject t
               WHERE t.relid = tbl AND (subjects IS NULL OR t.subject_type = ANY (subjects))
               ORDER BY t.subject_type LOOP
        SELECT * INTO pth FROM privacy._subject_path(tbl, st);
        IF pth.key_column IS NOT NULL THEN
            sql := sql || format(' LEFT JOIN LATERAL (SELECT s AS %I FROM %s s WHERE s.%I = r.%I) AS %I ON true',
                                 st, pth.root_table, pth.root_key, pth.key_column, '_subject_' || st);
        ELSE
            sql := sql || format(' LEFT JOIN LATERAL (SELECT s%s AS %I FROM %s WHERE %s) AS %I ON true',
                                 pth.steps, st, pth.joins, pth.link, '_subject_' || st);
        END IF;
    END LOOP;
    RETURN sql;
END
$$;
COMMENT ON FUNCTION @extschema@._rule_from(regclass, text[]) IS
'FROM clause of a registered table (as r) with the root row of each of its subjects (or of those listed) as a value named after the subject type';

-- The base type of a domain (the type itself otherwise): values are cast
-- to it, so that no domain check written by someone else runs as the
-- extension's owner.
CREATE FUNCTION @extschema@._base_type(typ regtype)
RETURNS regtype
AS 'MODULE_PATHNAME', 'privacy_base_type'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._base_type(regtype) IS
'The base type of a domain, or the type itself';

CREATE FUNCTION @extschema@._type_involves_bsn(typ regtype)
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_type_involves_bsn_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._type_involves_bsn(regtype) IS
'Whether a type is bsn, or an array, domain, composite or range holding one';

-- A value as text for reports: masked when it is a BSN.
CREATE FUNCTION @extschema@._report_text(expr text, typ regtype)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
RETURN CASE WHEN @extschema@._base_type(typ) = 'privacy.bsn'::regtype
            THEN format('privacy.mask_partial((%s)::text, current_setting(''privacy.bsn_visible_digits'')::integer)', expr)
            WHEN @extschema@._type_involves_bsn(typ)
            THEN quote_literal('(holds BSNs)')
            ELSE format('(%s)::text', expr) END;
COMMENT ON FUNCTION @extschema@._report_text(text, regtype) IS
'SQL for a value shown in a retention report: BSNs masked';

-- Whether a row (r) of a registered table belongs to a subject under an
-- active legal hold: the held subjects' keys, or the values of the table's
-- first foreign key that lead to them, are gathered once per statement (an
-- uncorrelated subquery), so that rows need no join to their subject.
CREATE FUNCTION @extschema@._held_sql(tbl regclass, subject_type text, bare boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    pth record;
    holds text;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type);
    holds := format('ARRAY(SELECT h.subject_key::%s FROM privacy.legal_hold h WHERE h.subject_type = %L'
                    ' AND h.released_at IS NULL AND (h.held_until IS NULL OR h.held_until >= CURRENT_DATE))',
                    pth.keytype, subject_type);
    -- bare: without coalesce, true or not true, so that a filter on it can
    -- use an index on the link column
    IF pth.key_column IS NOT NULL THEN
        RETURN format(CASE WHEN bare THEN 'r.%I::%s = ANY (%s)' ELSE 'coalesce(r.%I::%s = ANY (%s), false)' END,
                      pth.key_column, pth.keytype, holds);
    END IF;
    IF cardinality(pth.link_columns) = 1 THEN
        RETURN format(CASE WHEN bare THEN 'r.%I = ANY (ARRAY(SELECT s1.%I FROM %s WHERE s%s.%I::%s = ANY (%s)))'
                           ELSE 'coalesce(r.%I = ANY (ARRAY(SELECT s1.%I FROM %s WHERE s%s.%I::%s = ANY (%s))), false)' END,
                      pth.link_columns[1], pth.ref_columns[1], pth.joins, pth.steps, pth.root_key,
                      pth.keytype, holds);
    END IF;
    RETURN format('EXISTS (SELECT 1 FROM %s WHERE %s AND s%s.%I::%s = ANY (%s))',
                  pth.joins, pth.link, pth.steps, pth.root_key, pth.keytype, holds);
END
$$;
COMMENT ON FUNCTION @extschema@._held_sql(regclass, text, boolean) IS
'SQL telling whether a row (r) of a registered table belongs to a subject under an active legal hold';

-- The foreign keys that reference a table: the referencing table and the
-- condition that a row x of it references the row r.
CREATE FUNCTION @extschema@._references_to(tbl regclass, OUT child regclass, OUT cond text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
    SELECT c.conrelid::regclass,
           (SELECT string_agg(format('x.%I = r.%I', a.attname, b.attname), ' AND ' ORDER BY k.ord)
              FROM unnest(c.conkey, c.confkey) WITH ORDINALITY k(num, refnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
              JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.refnum)
      FROM pg_constraint c
     WHERE c.contype = 'f' AND c.confrelid = tbl AND c.conparentid = 0
     ORDER BY c.oid
$$;
COMMENT ON FUNCTION @extschema@._references_to(regclass) IS
'The foreign keys referencing a table, as the referencing table and the condition on x (referencing) and r (referenced)';

-- The pieces of SQL a rule is run with.
CREATE FUNCTION @extschema@._rule_sql(
    rule_name text,
    OUT from_sql text, OUT cond_sql text, OUT expiry_sql text, OUT key_sql text,
    OUT subject_sql text, OUT held_sql text, OUT blocked_sql text, OUT pending_sql text,
    OUT set_sql text, OUT action text, OUT tbl regclass, OUT partitioned boolean,
    OUT from_all_sql text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    ru privacy.retention_rule;
    dt privacy.document_type;
    typ regtype;
    col text;
    spec jsonb;
    cached jsonb := privacy._sql_cache_get('rule:' || rule_name)::jsonb;
BEGIN
    IF cached IS NOT NULL THEN
        SELECT * INTO from_sql, cond_sql, expiry_sql, key_sql, subject_sql, held_sql, blocked_sql,
                      pending_sql, set_sql, action, tbl, partitioned, from_all_sql
          FROM jsonb_to_record(cached) AS x(from_sql text, cond_sql text, expiry_sql text, key_sql text,
                                            subject_sql text, held_sql text, blocked_sql text,
                                            pending_sql text, set_sql text, action text, tbl regclass,
                                            partitioned boolean, from_all_sql text);
        RETURN;
    END IF;
    SELECT * INTO ru FROM privacy.retention_rule WHERE name = rule_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retention rule "%" does not exist', rule_name USING ERRCODE = 'undefined_object';
    END IF;
    SELECT * INTO dt FROM privacy.document_type WHERE name = ru.document_type;
    tbl := ru.relid;
    IF (SELECT c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                                  'pg_toast'::regnamespace, '@extschema@'::regnamespace)
          FROM pg_class c WHERE c.oid = tbl) THEN
        RAISE EXCEPTION 'retention rules cannot act on "%"', tbl
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'System catalogs and the extension''s own tables are not personal data to purge.';
    END IF;
    action := dt.action;
    -- tuple ids repeat across partitions and inheritance children
    partitioned := (SELECT relkind = 'p' FROM pg_class WHERE oid = tbl)
                   OR EXISTS (SELECT FROM pg_inherits WHERE inhparent = tbl);
    -- the subjects' rows are joined only for the expressions that name them
    -- (a name absent from an expression's text cannot be referenced by it)
    from_sql := privacy._rule_from(tbl,
        ARRAY(SELECT t.subject_type FROM privacy.table_subject t
               WHERE t.relid = tbl
                 AND (position(t.subject_type IN coalesce(ru.condition, '')) > 0
                      OR position(t.subject_type IN ru.start_expr) > 0)));
    from_all_sql := privacy._rule_from(tbl);

    -- checked again at every use, against the rule's author: functions and
    -- privileges may have changed since the rule was written
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ru.created_by) THEN
        RAISE EXCEPTION 'the author of retention rule "%" no longer exists', ru.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'A privacy admin must create the rule again (or_replace => true).';
    END IF;
    cond_sql := coalesce(ru.condition, 'true');
    typ := privacy._check_expression(from_sql, cond_sql, 'condition', ru.created_by::regrole);
    IF typ <> 'boolean'::regtype THEN
        RAISE EXCEPTION 'the condition of retention rule "%" is of type %, not boolean', ru.name, typ
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    typ := privacy._check_expression(from_sql, ru.start_expr, 'start expression', ru.created_by::regrole);
    IF typ NOT IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN
        RAISE EXCEPTION 'the start expression of retention rule "%" is of type %, not a date', ru.name, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'The start expression gives the date that starts the clock: a date or timestamp.';
    END IF;
    -- a line break before each closing parenthesis: an expression may end
    -- in a -- comment
    cond_sql := format(E'(%s\n)', cond_sql);
    expiry_sql := format(E'privacy.retention_expiry((%s\n)::date, %L::interval, %L, %L::interval)',
                         ru.start_expr, coalesce(ru.retention, dt.retention), dt.rounding, dt.min_keep);

    -- the row key: the primary key's columns, or the tuple id
    SELECT string_agg(privacy._report_text(format('r.%I', a.attname), a.atttypid::regtype),
                      ' || '','' || ' ORDER BY k.ord)
      INTO key_sql
      FROM pg_index i
      CROSS JOIN unnest(i.indkey) WITH ORDINALITY k(num, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
     WHERE i.indrelid = tbl AND i.indisprimary;
    key_sql := coalesce(key_sql, 'r.ctid::text');

    SELECT coalesce('jsonb_build_object(' || string_agg(
               format('%L, %s', t.subject_type,
                      privacy._report_text(format('(%I).%I', t.subject_type, s.key_column),
                                           privacy._column_type(s.root_table, s.key_column))),
               ', ' ORDER BY t.subject_type) || ')', '''{}''::jsonb'),
           coalesce(string_agg(privacy._held_sql(tbl, t.subject_type), ' OR '), 'false')
      INTO subject_sql, held_sql
      FROM privacy.table_subject t JOIN privacy.subject_type s ON s.name = t.subject_type
     WHERE t.relid = tbl;

    -- rows that other rows reference are kept until those are gone
    SELECT coalesce(string_agg(format('EXISTS (SELECT 1 FROM %s x WHERE %s)', f.child, f.cond), ' OR '),
                    'false')
      INTO blocked_sql
      FROM privacy._references_to(tbl) f;

    pending_sql := 'true';
    set_sql := NULL;
    IF action = 'anonymize' THEN
        blocked_sql := 'false';
        pending_sql := '';
        set_sql := '';
        FOR col, spec IN SELECT key, value FROM jsonb_each(ru.anonymize) ORDER BY key LOOP
            typ := privacy._column_type(tbl, col);
            IF spec = 'null'::jsonb THEN
                pending_sql := pending_sql || format(' OR r.%I IS NOT NULL', col);
                set_sql := set_sql || format(', %I = NULL', col);
            ELSIF jsonb_typeof(spec) = 'object' THEN
                pending_sql := pending_sql || format(
                    ' OR r.%1$I IS DISTINCT FROM privacy.mask_partial(r.%1$I::text, %2$s)::%3$s',
                    col, (spec ->> 'keep')::integer, typ);
                set_sql := set_sql || format(', %1$I = privacy.mask_partial(%1$I::text, %2$s)::%3$s',
                                             col, (spec ->> 'keep')::integer, typ);
            ELSE
                pending_sql := pending_sql || format(' OR r.%I IS DISTINCT FROM %L::%s', col, spec #>> '{}', typ);
                set_sql := set_sql || format(', %I = %L::%s', col, spec #>> '{}', typ);
            END IF;
        END LOOP;
        pending_sql := '(' || substr(pending_sql, 5) || ')';
        set_sql := substr(set_sql, 3);
    END IF;
    PERFORM privacy._sql_cache_put('rule:' || rule_name, jsonb_build_object(
        'from_sql', from_sql, 'cond_sql', cond_sql, 'expiry_sql', expiry_sql, 'key_sql', key_sql,
        'subject_sql', subject_sql, 'held_sql', held_sql, 'blocked_sql', blocked_sql,
        'pending_sql', pending_sql, 'set_sql', set_sql, 'action', action, 'tbl', tbl::oid,
        'partitioned', partitioned, 'from_all_sql', from_all_sql)::text);
END
$$;
COMMENT ON FUNCTION @extschema@._rule_sql(text) IS
'The SQL pieces a retention rule runs with: FROM clause, condition, expiry, row key, subjects, holds, references and anonymization';

-- Rules

CREATE FUNCTION @extschema@.create_retention_rule(
    name text,
    tbl regclass,
    document_type text,
    start_expr text,
    condition text DEFAULT NULL,
    anonymize jsonb DEFAULT NULL,
    retention interval DEFAULT NULL,
    or_replace boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    dt privacy.document_type;
    old privacy.retention_rule;
    parts record;
    col text;
    spec jsonb;
    typ regtype;
    fits boolean;
BEGIN
    PERFORM privacy._require_admin();
    SELECT * INTO dt FROM privacy.document_type d WHERE d.name = create_retention_rule.document_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document type "%" does not exist', create_retention_rule.document_type
            USING ERRCODE = 'undefined_object',
                  HINT = 'Define it with privacy.define_document_type(), or load a preset with privacy.load_retention_preset().';
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.registered_table r WHERE r.relid = tbl) THEN
        RAISE EXCEPTION 'table "%" is not registered', tbl
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with privacy.register_table() first.';
    END IF;
    IF start_expr IS NULL OR btrim(start_expr) = '' THEN
        RAISE EXCEPTION 'a retention rule needs a start expression'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention < interval '0' THEN
        RAISE EXCEPTION 'a retention period must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (dt.action = 'anonymize') <> (anonymize IS NOT NULL) THEN
        RAISE EXCEPTION 'document type "%" has action %, so the rule % name columns to anonymize',
                        dt.name, dt.action, CASE WHEN dt.action = 'anonymize' THEN 'must' ELSE 'must not' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF anonymize IS NOT NULL THEN
        IF jsonb_typeof(anonymize) <> 'object' OR anonymize = '{}'::jsonb THEN
            RAISE EXCEPTION 'anonymize must be a JSON object naming at least one column'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR col, spec IN SELECT key, value FROM jsonb_each(anonymize) LOOP
            typ := privacy._column_type(tbl, col);
            IF EXISTS (SELECT FROM pg_constraint c JOIN pg_attribute a
                           ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                        WHERE c.conrelid = tbl AND c.contype IN ('p', 'u', 'f', 'x')
                          AND a.attname = col) THEN
                RAISE EXCEPTION 'column "%" of "%" is part of a key or constraint and cannot be anonymized', col, tbl
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF (SELECT t.typnamespace <> 'pg_catalog'::regnamespace AND t.oid <> 'privacy.bsn'::regtype
                  FROM pg_type t WHERE t.oid = typ) THEN
                RAISE EXCEPTION 'column "%" of "%" is of type %, which cannot be anonymized', col, tbl, typ
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = 'Writing a value of a domain or a type outside pg_catalog could run its checks as the extension''s owner.';
            END IF;
            IF typ = 'privacy.bsn'::regtype AND spec <> 'null'::jsonb THEN
                RAISE EXCEPTION 'a BSN column can only be anonymized to NULL'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col
                          AND (a.attgenerated <> '' OR a.attidentity = 'a')) THEN
                RAISE EXCEPTION 'column "%" of "%" is generated and cannot be anonymized', col, tbl
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col
                          AND a.attnotnull AND spec = 'null'::jsonb) THEN
                RAISE EXCEPTION 'column "%" of "%" is NOT NULL and cannot be set to NULL', col, tbl
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF jsonb_typeof(spec) = 'object' THEN
                IF NOT (spec ? 'keep') OR jsonb_typeof(spec -> 'keep') <> 'number'
                   OR (spec ->> 'keep')::numeric NOT BETWEEN 0 AND 100
                   OR (spec ->> 'keep')::numeric <> trunc((spec ->> 'keep')::numeric)
                   OR (SELECT count(*) FROM jsonb_object_keys(spec)) <> 1 THEN
                    RAISE EXCEPTION 'invalid anonymization of column "%"', col
                        USING ERRCODE = 'invalid_parameter_value',
                              DETAIL = 'A partial mask is {"keep": n}, n between 0 and 100.';
                END IF;
                IF typ NOT IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype) THEN
                    RAISE EXCEPTION 'column "%" of "%" is not a text column; it can be set to NULL or a fixed value', col, tbl
                        USING ERRCODE = 'wrong_object_type';
                END IF;
            ELSIF jsonb_typeof(spec) = 'string' THEN
                -- a value of the column's type that its type modifier keeps
                -- whole (an explicit cast would cut a varchar(3) short)
                BEGIN
                    EXECUTE format('SELECT (%L::%s)::text IS NOT DISTINCT FROM (%L::%s)::text',
                                   spec #>> '{}', typ, spec #>> '{}',
                                   (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                                     WHERE a.attrelid = tbl AND a.attname = col))
                       INTO fits;
                EXCEPTION WHEN data_exception THEN
                    fits := false;
                END;
                IF NOT fits THEN
                    RAISE EXCEPTION 'the anonymized value of column "%" is not a valid value of the column', col
                        USING ERRCODE = 'invalid_parameter_value',
                              DETAIL = format('The column is of type %s.',
                                              (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                                                WHERE a.attrelid = tbl AND a.attname = col));
                END IF;
            ELSIF spec <> 'null'::jsonb THEN
                RAISE EXCEPTION 'invalid anonymization of column "%"', col
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = 'Give null, {"keep": n} or a value as a string.';
            END IF;
        END LOOP;
    END IF;

    SELECT * INTO old FROM privacy.retention_rule r WHERE r.name = create_retention_rule.name FOR UPDATE;
    IF FOUND AND NOT or_replace THEN
        RAISE EXCEPTION 'retention rule "%" already exists', create_retention_rule.name
            USING ERRCODE = 'duplicate_object', HINT = 'Pass or_replace => true to change it.';
    END IF;
    BEGIN
        INSERT INTO privacy.retention_rule AS r (name, document_type, relid, condition, start_expr,
                                                 retention, anonymize, created_by)
        VALUES (create_retention_rule.name, dt.name, tbl, condition, start_expr, retention,
                anonymize, privacy._calling_role()::name)
        ON CONFLICT ON CONSTRAINT retention_rule_pkey DO UPDATE
           SET document_type = excluded.document_type, relid = excluded.relid,
               condition = excluded.condition, start_expr = excluded.start_expr,
               retention = excluded.retention, anonymize = excluded.anonymize,
               created_at = pg_catalog.now(), created_by = excluded.created_by;
    EXCEPTION WHEN check_violation THEN
        RAISE EXCEPTION 'invalid retention rule name "%"', create_retention_rule.name
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'A rule name is lower case letters, digits and underscores, starting with a letter.';
    END;
    -- type-checks both expressions; an error undoes the insert
    SELECT * INTO parts FROM privacy._rule_sql(create_retention_rule.name);
    PERFORM privacy.audit_append(CASE WHEN old.name IS NULL THEN 'retention.rule' ELSE 'retention.rule.replace' END,
        tbl::text, NULL, NULL,
        jsonb_build_object('rule', create_retention_rule.name, 'document_type', dt.name,
                           'condition', condition, 'start', start_expr,
                           'retention', retention::text, 'anonymize', anonymize));
END
$$;
COMMENT ON FUNCTION @extschema@.create_retention_rule(text, regclass, text, text, text, jsonb, interval, boolean) IS
'Bind a document type to a registered table: the rows (condition), the date that starts their clock (start_expr), and for anonymizing types the columns to blank; audited';

CREATE FUNCTION @extschema@.drop_retention_rule(name text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    tbl regclass;
BEGIN
    PERFORM privacy._require_admin();
    DELETE FROM privacy.retention_rule r WHERE r.name = drop_retention_rule.name RETURNING relid INTO tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retention rule "%" does not exist', drop_retention_rule.name
            USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('retention.rule.drop', tbl::text, NULL, NULL,
                                 jsonb_build_object('rule', drop_retention_rule.name));
END
$$;
COMMENT ON FUNCTION @extschema@.drop_retention_rule(text) IS
'Remove a retention rule; audited';

CREATE VIEW @extschema@.retention_rules AS
SELECT r.name AS rule, r.relid AS tbl, r.document_type, d.action,
       coalesce(r.retention, d.retention) AS retention, d.rounding, d.min_keep, d.clock,
       r.condition, r.start_expr, r.anonymize, d.legal_basis, d.source, r.created_by, r.created_at
  FROM @extschema@.retention_rule r
  JOIN @extschema@.document_type d ON d.name = r.document_type;
COMMENT ON VIEW @extschema@.retention_rules IS
'Retention rules with the periods, rounding, action and legal basis of their document types';

-- Legal holds

CREATE FUNCTION @extschema@.place_hold(
    subject_type text, subject_key text, reason text, held_until date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    id bigint;
    keytype regtype;
BEGIN
    SELECT privacy._column_type(s.root_table, s.key_column) INTO keytype
      FROM privacy.subject_type s WHERE s.name = place_hold.subject_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subject type "%" does not exist', place_hold.subject_type
            USING ERRCODE = 'undefined_object';
    END IF;
    IF subject_key IS NULL OR reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a legal hold needs a subject key and a reason'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF held_until < CURRENT_DATE THEN
        RAISE EXCEPTION 'a legal hold cannot end in the past' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    subject_key := privacy._subject_key(place_hold.subject_type, subject_key);
    INSERT INTO privacy.legal_hold (subject_type, subject_key, reason, held_until, placed_by)
    VALUES (place_hold.subject_type, subject_key, reason, held_until, privacy._calling_role()::name)
    RETURNING legal_hold.id INTO id;
    PERFORM privacy.audit_append('retention.hold', place_hold.subject_type, place_hold.subject_type,
        CASE WHEN keytype = 'privacy.bsn'::regtype THEN NULL ELSE subject_key END,
        jsonb_build_object('hold', id, 'until', held_until));
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.place_hold(text, text, text, date) IS
'Place a legal hold on a subject: no purge or erasure touches their rows until it is released or ends; audited';

CREATE FUNCTION @extschema@.release_hold(hold_id bigint)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    h privacy.legal_hold;
BEGIN
    UPDATE privacy.legal_hold SET released_at = pg_catalog.now(), released_by = privacy._calling_role()::name
     WHERE id = hold_id AND released_at IS NULL
    RETURNING * INTO h;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active legal hold with id %', hold_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('retention.hold.release', h.subject_type, h.subject_type, NULL,
                                 jsonb_build_object('hold', h.id));
END
$$;
COMMENT ON FUNCTION @extschema@.release_hold(bigint) IS
'Release a legal hold; audited';

CREATE VIEW @extschema@.legal_holds AS
SELECT h.id, h.subject_type,
       CASE WHEN @extschema@._base_type(@extschema@._column_type(s.root_table, s.key_column)) = '@extschema@.bsn'::regtype
            THEN repeat('*', length(h.subject_key) - least(current_setting('privacy.bsn_visible_digits')::integer, 9))
                 || right(h.subject_key, least(current_setting('privacy.bsn_visible_digits')::integer, 9))
            ELSE h.subject_key END AS subject_key,
       h.reason, h.held_until, h.placed_by, h.placed_at,
       h.released_at IS NULL AND (h.held_until IS NULL OR h.held_until >= CURRENT_DATE) AS active,
       h.released_by, h.released_at
  FROM @extschema@.legal_hold h JOIN @extschema@.subject_type s ON s.name = h.subject_type;
COMMENT ON VIEW @extschema@.legal_holds IS
'Legal holds, with whether each is active now';

-- The active holds of a subject, compared as values of the key's type, so
-- that every spelling of a key finds its holds.
CREATE FUNCTION @extschema@._active_holds(subject_type text, subject_key text, canonical boolean DEFAULT false)
RETURNS bigint[]
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    typ regtype;
    ids bigint[];
BEGIN
    SELECT privacy._base_type(privacy._column_type(s.root_table, s.key_column)) INTO typ
      FROM privacy.subject_type s WHERE s.name = _active_holds.subject_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subject type "%" does not exist', subject_type USING ERRCODE = 'undefined_object';
    END IF;
    -- most subject types have no hold at all
    IF NOT EXISTS (SELECT FROM privacy.legal_hold h
                    WHERE h.subject_type = _active_holds.subject_type AND h.released_at IS NULL) THEN
        IF NOT canonical THEN
            PERFORM privacy._subject_key(subject_type, subject_key);
        END IF;
        RETURN '{}';
    END IF;
    SELECT q.ids INTO ids
      FROM privacy._query(format('SELECT array_agg(h.id ORDER BY h.id) FROM privacy.legal_hold h
                                   WHERE h.subject_type = $1 AND h.subject_key::%1$s = $2::%1$s
                                     AND h.released_at IS NULL AND (h.held_until IS NULL OR h.held_until >= CURRENT_DATE)', typ),
                          subject_type,
                          CASE WHEN canonical THEN subject_key ELSE privacy._subject_key(subject_type, subject_key) END)
           AS q(ids bigint[]);
    RETURN coalesce(ids, '{}');
END
$$;
COMMENT ON FUNCTION @extschema@._active_holds(text, text, boolean) IS
'The ids of the active legal holds of a subject (canonical: the key is already in its canonical form)';

CREATE FUNCTION @extschema@.subject_held(subject_type text, subject_key text)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
RETURN cardinality(privacy._active_holds(subject_type, subject_key)) > 0;
COMMENT ON FUNCTION @extschema@.subject_held(text, text) IS
'Whether an active legal hold covers a subject';

-- Signalling

CREATE FUNCTION @extschema@.retention_status(
    rule text DEFAULT NULL,
    OUT rule_name text, OUT tbl regclass, OUT document_type text, OUT action text,
    OUT rows_total bigint, OUT rows_expired bigint, OUT rows_held bigint,
    OUT next_expiry date, OUT expired_since date)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    ru record;
    p record;
    state text;
    message text;
BEGIN
    FOR ru IN SELECT r.name, r.document_type FROM privacy.retention_rule r
               WHERE retention_status.rule IS NULL OR r.name = retention_status.rule
               ORDER BY r.name LOOP
        SELECT * INTO p FROM privacy._rule_sql(ru.name);
        rule_name := ru.name;
        tbl := p.tbl;
        document_type := ru.document_type;
        action := p.action;
        BEGIN
            EXECUTE format(
                'SELECT count(*), count(*) FILTER (WHERE e <= CURRENT_DATE AND pending),
                        count(*) FILTER (WHERE e <= CURRENT_DATE AND pending AND held),
                        min(e) FILTER (WHERE e > CURRENT_DATE),
                        min(e) FILTER (WHERE e <= CURRENT_DATE AND pending)
                   FROM (SELECT %s AS e, %s AS pending, %s AS held FROM %s WHERE %s OFFSET 0) s',
                p.expiry_sql, p.pending_sql, p.held_sql, p.from_sql, p.cond_sql)
              INTO rows_total, rows_expired, rows_held, next_expiry, expired_since;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
            PERFORM privacy._rule_failed(ru.name, state, message);
        END;
        RETURN NEXT;
    END LOOP;
    IF rule IS NOT NULL AND NOT FOUND THEN
        RAISE EXCEPTION 'retention rule "%" does not exist', rule USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.retention_status(text) IS
'Per retention rule: rows it covers, rows expired now (and how many of those are under a legal hold), the next expiry date and the oldest expiry not yet acted on';

CREATE FUNCTION @extschema@.expired_rows(
    rule text DEFAULT NULL,
    max_rows integer DEFAULT 1000,
    OUT rule_name text, OUT tbl regclass, OUT row_key text, OUT subject jsonb,
    OUT expired_since date, OUT held boolean, OUT referenced boolean)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    ru record;
    p record;
    n bigint := 0;
    got bigint;
    state text;
    message text;
BEGIN
    IF max_rows IS NULL OR max_rows < 0 THEN
        RAISE EXCEPTION 'max_rows must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF rule IS NOT NULL AND NOT EXISTS (SELECT FROM privacy.retention_rule r WHERE r.name = expired_rows.rule) THEN
        RAISE EXCEPTION 'retention rule "%" does not exist', rule USING ERRCODE = 'undefined_object';
    END IF;
    FOR ru IN SELECT r.name FROM privacy.retention_rule r
               WHERE expired_rows.rule IS NULL OR r.name = expired_rows.rule ORDER BY r.name LOOP
        EXIT WHEN n >= max_rows;
        SELECT * INTO p FROM privacy._rule_sql(ru.name);
        BEGIN
            RETURN QUERY EXECUTE format(
                'SELECT %L::text, %L::regclass, %s, %s, %s AS e, %s, %s
                   FROM %s WHERE %s AND %s AND %s <= CURRENT_DATE
                  ORDER BY e, 3 LIMIT %s',
                ru.name, p.tbl, p.key_sql, p.subject_sql, p.expiry_sql, p.held_sql,
                CASE WHEN p.action = 'delete' THEN p.blocked_sql ELSE 'false' END,
                p.from_all_sql, p.cond_sql, p.pending_sql, p.expiry_sql, max_rows - n);
            GET DIAGNOSTICS got = ROW_COUNT;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
            PERFORM privacy._rule_failed(ru.name, state, message);
        END;
        n := n + got;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.expired_rows(text, integer) IS
'Rows whose retention has expired: rule, table, row key, subjects (BSNs masked), expired since, and whether a legal hold or a referencing row keeps them';

-- The purge

-- Rules in the order the purge runs them: tables that reference others
-- before the tables they reference, so that children go before parents.
CREATE FUNCTION @extschema@._purge_order(rule text DEFAULT NULL)
RETURNS TABLE (rule_name text, ord integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
    WITH RECURSIVE walk(start, cur, depth) AS (
        SELECT r.relid::oid, r.relid::oid, 0 FROM privacy.retention_rule r
        UNION
        SELECT w.start, c.confrelid, w.depth + 1
          FROM walk w JOIN pg_constraint c ON c.contype = 'f' AND c.conrelid = w.cur
         WHERE c.confrelid <> c.conrelid AND w.depth < 16
    ), height AS (
        SELECT start, max(depth) AS h FROM walk GROUP BY start
    )
    SELECT r.name, (row_number() OVER (ORDER BY h.h DESC, r.name))::integer
      FROM privacy.retention_rule r
      JOIN privacy.document_type d ON d.name = r.document_type
      JOIN height h ON h.start = r.relid::oid
     WHERE d.action <> 'signal' AND ($1 IS NULL OR r.name = $1)
$$;
COMMENT ON FUNCTION @extschema@._purge_order(text) IS
'Acting retention rules in purge order: referencing tables before referenced ones';

-- The statements that act on one rule's expired rows: the first picks
-- them in a window of the table's pages ($1 <= ctid < $2) for the purge,
-- or over the whole table for a dry run, and returns the tuple ids to act
-- on with the counts of rows held and rows other rows reference; the
-- second deletes or anonymizes those tuples ($1 tids, $2 table oids), as
-- the table's owner.
CREATE FUNCTION @extschema@._purge_statements(rule_name text, windowed boolean,
                                              OUT pick text, OUT act text, OUT tbl regclass,
                                              OUT direct text, OUT count_left text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    p record;
    win text := CASE WHEN windowed THEN 'r.ctid >= $1 AND r.ctid < $2 AND' ELSE '' END;
BEGIN
    SELECT * INTO p FROM privacy._rule_sql(rule_name);
    tbl := p.tbl;

    -- When the rule's expressions need no subject's row, one statement can
    -- pick and act (PostgreSQL rechecks a row a concurrent update changed);
    -- the rows left are counted apart, and only when holds or references
    -- can leave any.  The caller uses it only while the table has no
    -- triggers of its own.
    IF p.from_sql = format('%s%s AS r', privacy._only(p.tbl), p.tbl) THEN
        direct := format(
            '%s WHERE %s %s AND %s AND %s <= CURRENT_DATE AND NOT (%s) AND NOT (%s)',
            CASE WHEN p.action = 'delete' THEN format('DELETE FROM %s', p.from_sql)
                 ELSE format('UPDATE %s SET %s', p.from_sql, p.set_sql) END,
            win, p.cond_sql, p.pending_sql, p.expiry_sql, p.held_sql, p.blocked_sql);
        IF p.blocked_sql <> 'false' OR EXISTS (
               SELECT FROM privacy.legal_hold h JOIN privacy.table_subject t ON t.subject_type = h.subject_type
                WHERE t.relid = p.tbl AND h.released_at IS NULL
                  AND (h.held_until IS NULL OR h.held_until >= CURRENT_DATE)) THEN
            count_left := format(
                'SELECT count(*) FILTER (WHERE held), count(*) FILTER (WHERE blocked AND NOT held)
                   FROM (SELECT (%s) AS held, (%s) AS blocked FROM %s
                          WHERE %s (%s) AND %s AND %s AND %s <= CURRENT_DATE) c',
                p.held_sql, p.blocked_sql, p.from_sql, win,
                CASE WHEN p.blocked_sql = 'false'
                     THEN (SELECT string_agg(privacy._held_sql(p.tbl, t.subject_type, true), ' OR ')
                             FROM privacy.table_subject t WHERE t.relid = p.tbl)
                     ELSE format('(%s) OR (%s)', p.held_sql, p.blocked_sql) END,
                p.cond_sql, p.pending_sql, p.expiry_sql);
        END IF;
    END IF;
    pick := format(
        'SELECT array_agg(tid) FILTER (WHERE NOT held AND NOT blocked),
                array_agg(toid) FILTER (WHERE NOT held AND NOT blocked),
                count(*) FILTER (WHERE held), count(*) FILTER (WHERE blocked AND NOT held)
           FROM (SELECT r.tableoid AS toid, r.ctid AS tid, (%s) AS held, (%s) AS blocked
                   FROM %s
                  WHERE %s %s AND %s AND %s <= CURRENT_DATE) c',
        p.held_sql, p.blocked_sql, p.from_sql,
        CASE WHEN windowed THEN 'r.ctid >= $1 AND r.ctid < $2 AND' ELSE '' END,
        p.cond_sql, p.pending_sql, p.expiry_sql);
    IF p.action = 'delete' THEN
        act := format('DELETE FROM %s t', p.tbl);
    ELSE
        act := format('UPDATE %s t SET %s', p.tbl, p.set_sql);
    END IF;
    act := act || ' WHERE t.ctid = ANY ($1)';
    IF p.partitioned THEN
        act := act || ' AND (t.tableoid, t.ctid) IN (SELECT * FROM unnest($2, $1))';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_statements(text, boolean) IS
'SQL that picks a rule''s expired rows (in a window of pages, or all) and counts them, and SQL that deletes or anonymizes them by tuple id';

-- An error of a rule's SQL, told without its message: a message can carry
-- values of the rows (a failed cast shows its input), and the rule runs
-- over rows that neither its author nor the caller may see.  Read-only
-- transactions, lock waits, cancels and serialization failures keep their
-- message and state, so that callers can tell and retry.
CREATE FUNCTION @extschema@._rule_failed(rule_name text, state text, message text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF left(state, 2) IN ('25', '40', '53', '55', '57', '58') THEN
        RAISE EXCEPTION '%', message USING ERRCODE = state;
    END IF;
    RAISE EXCEPTION 'retention rule "%" failed to run (SQLSTATE %)', rule_name, state
        USING ERRCODE = state,
              DETAIL = 'The message is not shown, as it could hold values of the rows.',
              HINT = 'Check the rule''s expressions against the data: privacy.retention_rules lists them.';
END
$$;
COMMENT ON FUNCTION @extschema@._rule_failed(text, text, text) IS
'Raise the error of a retention rule''s SQL without a message that could hold row values';

-- Run one rule's statements: lock and count, then act.
CREATE FUNCTION @extschema@._purge_run(rule_name text, first_page bigint, end_page bigint,
                                       OUT acted bigint, OUT held bigint, OUT blocked bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    s record;
    tids tid[];
    oids oid[];
    act text;
    n bigint;
    attempt integer := 0;
    state text;
    message text;
BEGIN
    SELECT * INTO s FROM privacy._purge_statements(rule_name, first_page IS NOT NULL);
    act := s.act;
    IF first_page IS NOT NULL THEN
        -- the window again, so that the tuple ids are found by a range scan
        act := act || format(' AND t.ctid >= %L::tid AND t.ctid < %L::tid',
                             format('(%s,0)', first_page), format('(%s,0)', end_page));
    END IF;
    acted := 0;
    -- Pick the expired rows, then act on them by tuple id.  A row updated
    -- in between has a new tuple id and is passed over by the second
    -- statement (which waits for the updater first): pick again, the new
    -- version may still be expired.
    -- a table without triggers of its own: one statement as the
    -- extension's owner (no code of the table's owner can run); the lock
    -- keeps a trigger from being added until the batch commits
    IF s.direct IS NOT NULL THEN
        EXECUTE format('LOCK TABLE %s IN ROW EXCLUSIVE MODE', s.tbl);
        IF NOT EXISTS (
               SELECT FROM pg_trigger g
                WHERE g.tgrelid IN (WITH RECURSIVE tree(relid) AS (
                                        SELECT s.tbl::oid
                                        UNION
                                        SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid)
                                    SELECT relid FROM tree)
                  AND NOT g.tgisinternal
                  AND g.tgfoid NOT IN ('privacy.rectification_trigger'::regproc, 'privacy.column_guard'::regproc)) THEN
            BEGIN
                IF first_page IS NOT NULL THEN
                    EXECUTE s.direct
                      USING format('(%s,0)', first_page)::tid, format('(%s,0)', end_page)::tid;
                    GET DIAGNOSTICS acted = ROW_COUNT;
                    IF s.count_left IS NOT NULL THEN
                        EXECUTE s.count_left INTO held, blocked
                          USING format('(%s,0)', first_page)::tid, format('(%s,0)', end_page)::tid;
                    END IF;
                ELSE
                    EXECUTE s.direct;
                    GET DIAGNOSTICS acted = ROW_COUNT;
                    IF s.count_left IS NOT NULL THEN
                        EXECUTE s.count_left INTO held, blocked;
                    END IF;
                END IF;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
                PERFORM privacy._rule_failed(rule_name, state, message);
            END;
            held := coalesce(held, 0);
            blocked := coalesce(blocked, 0);
            RETURN;
        END IF;
    END IF;

    LOOP
        attempt := attempt + 1;
        BEGIN
            IF first_page IS NOT NULL THEN
                EXECUTE s.pick INTO tids, oids, held, blocked
                  USING format('(%s,0)', first_page)::tid, format('(%s,0)', end_page)::tid;
            ELSE
                EXECUTE s.pick INTO tids, oids, held, blocked;
            END IF;
            n := 0;
            IF tids IS NOT NULL THEN
                n := privacy._act_as_owner(s.tbl, act, tids, oids);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
            PERFORM privacy._rule_failed(rule_name, state, message);
        END;
        acted := acted + n;
        EXIT WHEN tids IS NULL OR n >= cardinality(tids) OR attempt >= 5;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_run(text, bigint, bigint) IS
'Pick and count a rule''s expired rows (in a window of pages, or all), then delete or anonymize them, picking again what concurrent updates moved';

CREATE FUNCTION @extschema@.purge_plan(rule text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o record;
    p record;
    acted bigint;
    held bigint;
    blocked bigint;
    res jsonb := '[]';
BEGIN
    PERFORM privacy._require_admin();
    IF rule IS NOT NULL AND NOT EXISTS (SELECT FROM privacy.retention_rule r WHERE r.name = purge_plan.rule) THEN
        RAISE EXCEPTION 'retention rule "%" does not exist', rule USING ERRCODE = 'undefined_object';
    END IF;
    -- The real statements, in the real order, undone at the end: the counts
    -- are what a purge run now would do, children before parents included.
    BEGIN
        FOR o IN SELECT * FROM privacy._purge_order(rule) ORDER BY ord LOOP
            SELECT * INTO p FROM privacy._rule_sql(o.rule_name);
            SELECT * INTO acted, held, blocked FROM privacy._purge_run(o.rule_name, NULL, NULL);
            res := res || jsonb_build_array(jsonb_build_object(
                'rule', o.rule_name, 'table', p.tbl::text, 'action', p.action,
                'deleted', CASE WHEN p.action = 'delete' THEN acted ELSE 0 END,
                'anonymized', CASE WHEN p.action = 'anonymize' THEN acted ELSE 0 END,
                'held', held, 'blocked', blocked, 'status', 'dry_run'));
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'PPD01';
    EXCEPTION WHEN SQLSTATE 'PPD01' THEN
        NULL;
    END;
    RETURN jsonb_build_object('run', NULL, 'dry_run', true, 'rules', res);
END
$$;
COMMENT ON FUNCTION @extschema@.purge_plan(text) IS
'Dry run of the purge: what it would delete, anonymize and leave (held, referenced) per rule, by running it and undoing it';

CREATE FUNCTION @extschema@._purge_close(run bigint, rule text, status text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    l privacy.purge_log;
BEGIN
    PERFORM privacy._require_admin();
    UPDATE privacy.purge_log SET status = _purge_close.status, finished_at = pg_catalog.now()
     WHERE run_id = run AND purge_log.rule = _purge_close.rule AND finished_at IS NULL
    RETURNING * INTO l;
    IF FOUND THEN
        PERFORM privacy.audit_append('retention.purge', l.tbl, NULL, NULL,
            jsonb_build_object('run', l.run_id, 'rule', l.rule, 'action', l.action, 'status', l.status,
                               'deleted', l.deleted, 'anonymized', l.anonymized, 'held', l.held,
                               'blocked', l.blocked, 'batches', l.batches));
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_close(bigint, text, text) IS
'Finish one rule of a purge run and write its audit entry';

CREATE FUNCTION @extschema@._purge_begin(rule text)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    run bigint;
    l record;
    other integer;
BEGIN
    PERFORM privacy._require_admin();
    IF rule IS NOT NULL AND NOT EXISTS (SELECT FROM privacy.retention_rule r WHERE r.name = _purge_begin.rule) THEN
        RAISE EXCEPTION 'retention rule "%" does not exist', rule USING ERRCODE = 'undefined_object';
    END IF;
    -- A run still marked as going whose backend is not running a statement
    -- was cancelled or crashed: close it, so its work is audited.
    SELECT max(a.pid) INTO other
      FROM privacy.purge_log pl JOIN pg_stat_activity a
        ON a.pid = (pl.run_by_pid).pid AND a.backend_start = (pl.run_by_pid).started
     WHERE pl.finished_at IS NULL AND a.state = 'active' AND a.pid <> pg_backend_pid();
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'another purge is running (process %)', other
            USING ERRCODE = 'lock_not_available',
                  HINT = 'Wait for it to finish, or cancel it: the next run finishes its work.';
    END IF;
    FOR l IN SELECT p.run_id, p.rule, p.status FROM privacy.purge_log p
              WHERE p.finished_at IS NULL ORDER BY p.run_id, p.ord LOOP
        PERFORM privacy._purge_close(l.run_id, l.rule,
                                     CASE WHEN l.status = 'pending' THEN 'not_reached' ELSE 'interrupted' END);
    END LOOP;
    run := nextval('privacy.purge_run_seq');
    INSERT INTO privacy.purge_log (run_id, rule, ord, tbl, action, run_by, started_at, status, run_by_pid)
    SELECT run, o.rule_name, o.ord, r.relid::text, d.action, privacy._calling_role()::name,
           pg_catalog.now(), 'pending',
           ROW(pg_backend_pid(), (SELECT a.backend_start FROM pg_stat_activity a
                                   WHERE a.pid = pg_backend_pid()))::privacy.purge_backend
      FROM privacy._purge_order(rule) o
      JOIN privacy.retention_rule r ON r.name = o.rule_name
      JOIN privacy.document_type d ON d.name = r.document_type;
    RETURN run;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_begin(text) IS
'Start a purge run: close runs that were interrupted, and list the rules to run in order';

-- How many pages one rule's table spans and how many a batch takes, so
-- that a batch looks at about batch_rows rows.
CREATE FUNCTION @extschema@._purge_window(rule text, batch_rows integer,
                                          OUT pages bigint, OUT window_pages bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    tbl regclass;
    tuples float8;
    relpages float8;
BEGIN
    PERFORM privacy._require_admin();
    SELECT r.relid INTO tbl FROM privacy.retention_rule r WHERE r.name = _purge_window.rule;
    SELECT max(pg_relation_size(t.relid) / current_setting('block_size')::bigint),
           sum(greatest(c.reltuples, 0)), sum(c.relpages)
      INTO pages, tuples, relpages
      FROM (WITH RECURSIVE tree(relid) AS (
                SELECT tbl::oid
                UNION
                SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid)
            SELECT relid FROM tree) t
      JOIN pg_class c ON c.oid = t.relid
     WHERE c.relkind NOT IN ('p', 'f');
    pages := coalesce(pages, 0);
    window_pages := greatest(1, floor(batch_rows /
        CASE WHEN relpages > 0 AND tuples > 0 THEN tuples / relpages ELSE 100 END))::bigint;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_window(text, integer) IS
'Pages of a rule''s table and the pages per batch for a number of rows per batch';

CREATE FUNCTION @extschema@._purge_batch(run bigint, rule text, first_page bigint, end_page bigint)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    acted bigint;
    n_held bigint;
    n_blocked bigint;
    t0 timestamptz := clock_timestamp();
    ms float8;
    act text;
BEGIN
    PERFORM privacy._require_admin();
    SELECT l.action INTO act FROM privacy.purge_log l
     WHERE l.run_id = run AND l.rule = _purge_batch.rule AND l.finished_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'purge run % has no open rule "%"', run, rule USING ERRCODE = 'undefined_object';
    END IF;
    SELECT * INTO acted, n_held, n_blocked FROM privacy._purge_run(rule, first_page, end_page);
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
    UPDATE privacy.purge_log l
       SET status = 'running',
           deleted = l.deleted + CASE WHEN act = 'delete' THEN acted ELSE 0 END,
           anonymized = l.anonymized + CASE WHEN act = 'anonymize' THEN acted ELSE 0 END,
           held = l.held + n_held, blocked = l.blocked + n_blocked,
           batches = l.batches + 1, longest_batch_ms = greatest(l.longest_batch_ms, ms)
     WHERE l.run_id = run AND l.rule = _purge_batch.rule;
    RETURN acted;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_batch(bigint, text, bigint, bigint) IS
'One batch of a purge: act on a rule''s expired rows in a window of pages, and count it in the run''s log';

CREATE FUNCTION @extschema@._purge_end(run bigint)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    res jsonb;
    left_over jsonb;
BEGIN
    PERFORM privacy._require_admin();
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'rule', l.rule, 'table', l.tbl, 'action', l.action, 'deleted', l.deleted,
               'anonymized', l.anonymized, 'held', l.held, 'blocked', l.blocked,
               'status', l.status, 'batches', l.batches,
               'longest_batch_ms', round(l.longest_batch_ms::numeric, 1)) ORDER BY l.ord), '[]'),
           jsonb_agg(jsonb_build_object('rule', l.rule, 'held', l.held, 'blocked', l.blocked,
                                        'status', l.status) ORDER BY l.ord)
               FILTER (WHERE l.held > 0 OR l.blocked > 0 OR l.status <> 'done')
      INTO res, left_over
      FROM privacy.purge_log l WHERE l.run_id = run;
    -- tell whoever listens that expired rows remain that this run left
    IF left_over IS NOT NULL THEN
        PERFORM pg_notify('privacy_retention',
                          jsonb_build_object('run', run, 'left', left_over)::text);
    END IF;
    RETURN jsonb_build_object('run', run, 'dry_run', false, 'rules', res);
END
$$;
COMMENT ON FUNCTION @extschema@._purge_end(bigint) IS
'Finish a purge run: its result, and a NOTIFY on privacy_retention when it left expired rows';

CREATE PROCEDURE @extschema@.purge(
    dry_run boolean DEFAULT false,
    batch_rows integer DEFAULT 200000,
    max_runtime interval DEFAULT NULL,
    rule text DEFAULT NULL,
    INOUT result jsonb DEFAULT NULL)
LANGUAGE plpgsql
-- no SET search_path (a procedure with one cannot commit): everything in
-- the body is qualified, so objects in the caller's schemas are never used
AS $$
DECLARE
    run bigint;
    rules text[];
    r text;
    w record;
    pos bigint;
    deadline timestamptz;
    tries integer;
    stop boolean := false;
BEGIN
    PERFORM privacy._require_admin();
    IF batch_rows IS NULL OR batch_rows OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch_rows must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_runtime OPERATOR(pg_catalog.<) interval '0' THEN
        RAISE EXCEPTION 'max_runtime must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF dry_run THEN
        result := privacy.purge_plan(rule);
        RETURN;
    END IF;
    PERFORM privacy._require_top_level('privacy.purge()');
    deadline := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) max_runtime;
    run := privacy._purge_begin(rule);
    rules := ARRAY(SELECT l.rule FROM privacy.purge_log l WHERE l.run_id OPERATOR(pg_catalog.=) run ORDER BY l.ord);
    COMMIT;
    FOREACH r IN ARRAY rules LOOP
        IF stop THEN
            PERFORM privacy._purge_close(run, r, 'not_reached');
            COMMIT;
            CONTINUE;
        END IF;
        SELECT * INTO w FROM privacy._purge_window(r, batch_rows);
        pos := 0;
        WHILE pos OPERATOR(pg_catalog.<) w.pages LOOP
            IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) deadline THEN
                stop := true;
                EXIT;
            END IF;
            tries := 0;
            LOOP
                BEGIN
                    PERFORM privacy._purge_batch(run, r, pos, pos OPERATOR(pg_catalog.+) w.window_pages);
                    EXIT;
                EXCEPTION WHEN deadlock_detected OR serialization_failure THEN
                    tries := tries OPERATOR(pg_catalog.+) 1;
                    IF tries OPERATOR(pg_catalog.>=) 3 THEN
                        RAISE;
                    END IF;
                END;
            END LOOP;
            COMMIT;
            pos := pos OPERATOR(pg_catalog.+) w.window_pages;
        END LOOP;
        PERFORM privacy._purge_close(run, r, CASE WHEN stop THEN 'budget' ELSE 'done' END);
        COMMIT;
    END LOOP;
    result := privacy._purge_end(run);
END
$$;
COMMENT ON PROCEDURE @extschema@.purge(boolean, integer, interval, text, jsonb) IS
'Delete or anonymize expired rows, rule by rule (children before parents), in batches of about batch_rows rows that each commit; honours legal holds and minimum keep periods; audited per rule';

-- Scheduling with pg_cron

CREATE FUNCTION @extschema@.schedule_purge(
    schedule text DEFAULT '30 3 * * *',
    job_name text DEFAULT 'privacy_purge',
    batch_rows integer DEFAULT 200000,
    max_runtime interval DEFAULT '1 hour')
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    who name := privacy._calling_role()::name;
    job bigint;
BEGIN
    PERFORM privacy._require_admin();
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'undefined_object',
                  DETAIL = format('pg_cron runs its jobs from the database named by cron.database_name (%s).',
                                  coalesce(current_setting('cron.database_name', true), 'not set')),
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, and CREATE EXTENSION pg_cron.';
    END IF;
    IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = who) THEN
        RAISE EXCEPTION 'role "%" cannot log in, and pg_cron runs a job as the role that scheduled it', who
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Schedule the purge as a login role that is a member of the privacy admin role.';
    END IF;
    IF batch_rows IS NULL OR batch_rows < 1 OR max_runtime IS NULL OR max_runtime < interval '0' THEN
        RAISE EXCEPTION 'invalid batch_rows or max_runtime' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM cron.job WHERE jobname = job_name) THEN
        RAISE EXCEPTION 'a pg_cron job named "%" already exists', job_name
            USING ERRCODE = 'duplicate_object', HINT = 'Unschedule it with privacy.unschedule_purge() first.';
    END IF;
    EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4, $5, true)'
       INTO job
      USING job_name, schedule,
            format('CALL privacy.purge(batch_rows => %s, max_runtime => %L)', batch_rows, max_runtime),
            current_database(), who::text;
    PERFORM privacy.audit_append('retention.schedule', job_name, NULL, NULL,
        jsonb_build_object('job', job, 'schedule', schedule, 'role', who,
                           'batch_rows', batch_rows, 'max_runtime', max_runtime::text));
    RETURN job;
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_purge(text, text, integer, interval) IS
'Schedule privacy.purge() with pg_cron, run as the calling role; audited';

CREATE FUNCTION @extschema@.unschedule_purge(job_name text DEFAULT 'privacy_purge')
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    PERFORM privacy._require_admin();
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE 'SELECT jobid FROM cron.job WHERE jobname = $1 AND command LIKE ''CALL privacy.purge(%'''
       INTO job USING job_name;
    IF job IS NULL THEN
        RAISE EXCEPTION 'no scheduled purge named "%"', job_name USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE 'SELECT cron.unschedule($1)' USING job;
    PERFORM privacy.audit_append('retention.unschedule', job_name, NULL, NULL, jsonb_build_object('job', job));
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_purge(text) IS
'Remove the pg_cron job of a scheduled purge; audited';

REVOKE EXECUTE ON FUNCTION
    @extschema@._check_expression(text, text, text, regrole),
    @extschema@._require_top_level(text),
    @extschema@._act_as_owner(regclass, text, "any"),
    @extschema@._query(text, "any"),
    @extschema@._sql_cache_get(text),
    @extschema@._sql_cache_put(text, text),
    @extschema@.define_document_type(text, interval, text, text, interval, text, text, text, text),
    @extschema@.drop_document_type(text),
    @extschema@.load_retention_preset(text),
    @extschema@._rule_from(regclass, text[]),
    @extschema@._only(regclass),
    @extschema@._references_to(regclass),
    @extschema@._subject_path(regclass, text, text),
    @extschema@._report_text(text, regtype),
    @extschema@._type_involves_bsn(regtype),
    @extschema@._rule_sql(text),
    @extschema@._held_sql(regclass, text, boolean),
    @extschema@.create_retention_rule(text, regclass, text, text, text, jsonb, interval, boolean),
    @extschema@.drop_retention_rule(text),
    @extschema@.place_hold(text, text, text, date),
    @extschema@.release_hold(bigint),
    @extschema@.subject_held(text, text),
    @extschema@._active_holds(text, text, boolean),
    @extschema@.retention_status(text),
    @extschema@.expired_rows(text, integer),
    @extschema@._purge_order(text),
    @extschema@._purge_statements(text, boolean),
    @extschema@._purge_run(text, bigint, bigint),
    @extschema@._rule_failed(text, text, text),
    @extschema@.purge_plan(text),
    @extschema@._purge_close(bigint, text, text),
    @extschema@._purge_begin(text),
    @extschema@._purge_window(text, integer),
    @extschema@._purge_batch(bigint, text, bigint, bigint),
    @extschema@._purge_end(bigint),
    @extschema@.schedule_purge(text, text, integer, interval),
    @extschema@.unschedule_purge(text)
FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.purge(boolean, integer, interval, text, jsonb) FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT SELECT ON privacy.document_type, privacy.retention_rule, '
        'privacy.purge_log, privacy.retention_rules, privacy.legal_holds TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.place_hold(text, text, text, date), '
        'privacy.release_hold(bigint), privacy.subject_held(text, text), '
        'privacy.retention_status(text), privacy.expired_rows(text, integer) TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION '
        'privacy.define_document_type(text, interval, text, text, interval, text, text, text, text), '
        'privacy.drop_document_type(text), privacy.load_retention_preset(text), '
        'privacy.create_retention_rule(text, regclass, text, text, text, jsonb, interval, boolean), '
        'privacy.drop_retention_rule(text), privacy.purge_plan(text), '
        'privacy._require_top_level(text), privacy._purge_close(bigint, text, text), '
        'privacy._purge_begin(text), privacy._purge_window(text, integer), '
        'privacy._purge_batch(bigint, text, bigint, bigint), privacy._purge_end(bigint), '
        'privacy.schedule_purge(text, text, integer, interval), privacy.unschedule_purge(text) TO %I', admin);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON PROCEDURE privacy.purge(boolean, integer, interval, text, jsonb) TO %I', admin);
END
$$;
