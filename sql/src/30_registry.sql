/* sql/src/30_registry.sql */

-- The registry of personal data: subject types, registered tables, scopes
-- granted to roles, the row-level security policies the extension owns,
-- the catalog guards and the triggers that follow renames. Needs the audit
-- trail.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-------------------------------------------------------------------------------
-- The registry of personal data
--
-- Subject types (candidate, employee, client contact) with their root table,
-- the tables that hold their data and how a row maps to its subject (a key
-- column, or a path of foreign keys to the root), and for each table an
-- optional scope column (the branch that owns the row).  Tables are stored as
-- regclass and roles as regrole, so renames keep registrations, and pg_dump
-- writes them by name.
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.subject_type (
    name         text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    root_table   regclass    NOT NULL,
    key_column   name        NOT NULL,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    source       text        NOT NULL DEFAULT 'Provided by the data subject'
);
COMMENT ON COLUMN @extschema@.subject_type.source IS
'Where the data of these subjects comes from, as an access request reports it (AVG art. 15(1)(g))';
COMMENT ON TABLE @extschema@.subject_type IS
'Kinds of data subjects, each with the table and key column that identify one';

CREATE TABLE @extschema@.registered_table (
    relid          regclass    PRIMARY KEY,
    scope_kind     text,
    scope_column   name,
    scope_parent   regclass,
    scope_fk_columns  name[],
    scope_ref_columns name[],
    rls_was_enabled boolean    NOT NULL DEFAULT false,
    rls_was_forced  boolean    NOT NULL DEFAULT false,
    registered_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((scope_kind IS NULL) = (scope_column IS NULL AND scope_parent IS NULL)),
    CHECK (scope_column IS NULL OR scope_parent IS NULL),
    CHECK ((scope_parent IS NULL) = (scope_fk_columns IS NULL))
);
COMMENT ON COLUMN @extschema@.registered_table.scope_parent IS
'A scoped table whose visible rows decide which rows of this table are visible, through the foreign key scope_fk_columns -> scope_ref_columns';
COMMENT ON TABLE @extschema@.registered_table IS
'Tables that hold personal data, with the column that scopes their rows (the branch)';

CREATE TABLE @extschema@.table_subject (
    relid        regclass NOT NULL REFERENCES @extschema@.registered_table ON DELETE CASCADE,
    subject_type text     NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE,
    key_column   name,
    via          regclass[],
    via_columns  jsonb,
    PRIMARY KEY (relid, subject_type),
    CHECK ((key_column IS NULL) <> (via IS NULL)),
    CHECK ((via IS NULL) = (via_columns IS NULL))
);
COMMENT ON TABLE @extschema@.table_subject IS
'How the rows of a registered table map to a subject type: a key column, or foreign keys through the tables in via';
COMMENT ON COLUMN @extschema@.table_subject.via IS
'Tables after this one on the foreign-key path, the last being the subject type''s root table';
COMMENT ON COLUMN @extschema@.table_subject.via_columns IS
'For each step of via: {"columns": [...], "ref_columns": [...]} of the foreign key taken';

CREATE TABLE @extschema@.scope_grant (
    role        regrole     NOT NULL,
    scope_kind  text        NOT NULL DEFAULT 'branch',
    scope       text        NOT NULL,
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by  name        NOT NULL DEFAULT CURRENT_USER,
    PRIMARY KEY (role, scope_kind, scope)
);
COMMENT ON TABLE @extschema@.scope_grant IS
'Scopes (branch numbers, or * for all) granted to roles; members of a role inherit its scopes';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.subject_type', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.registered_table', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.table_subject', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.scope_grant', '');

REVOKE ALL ON @extschema@.subject_type, @extschema@.registered_table,
              @extschema@.table_subject, @extschema@.scope_grant FROM PUBLIC;

-- Every change to the catalogs, by any path, reaches every session at its
-- next statement: the trigger sends an invalidation that clears the scope
-- caches and the cached plans of every backend.
CREATE FUNCTION @extschema@.registry_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_registry_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.registry_changed() IS
'Trigger that makes every session see registry and scope changes at its next statement';

CREATE TRIGGER scope_grant_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.scope_grant FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
CREATE TRIGGER registered_table_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.registered_table FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
CREATE TRIGGER table_subject_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.table_subject FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
ALTER TABLE @extschema@.table_subject ENABLE ALWAYS TRIGGER table_subject_changed;
ALTER TABLE @extschema@.scope_grant ENABLE ALWAYS TRIGGER scope_grant_changed;
ALTER TABLE @extschema@.registered_table ENABLE ALWAYS TRIGGER registered_table_changed;

-- The checks the policies call.  At planning time a support function
-- replaces each call by a constant for the current role, so that a policy
-- costs what "branch_id = ANY ('{12,13}')" costs and can use an index.
CREATE FUNCTION @extschema@.scope_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'privacy_scope_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.scope_support(internal) IS
'Planner support: folds scope checks into constants for the current role';

CREATE FUNCTION @extschema@.scope_all(scope_kind text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_scope_all'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SUPPORT @extschema@.scope_support;
COMMENT ON FUNCTION @extschema@.scope_all(text) IS
'Whether the current role holds every scope of this kind (a * grant)';

CREATE FUNCTION @extschema@.scope_values(scope_kind text, sample anyelement)
RETURNS anyarray
AS 'MODULE_PATHNAME', 'privacy_scope_values'
LANGUAGE C STABLE PARALLEL SAFE
SUPPORT @extschema@.scope_support;
COMMENT ON FUNCTION @extschema@.scope_values(text, anyelement) IS
'The scopes of this kind the current role holds, as an array of the scope column''s type';

-- Registry management, for the privacy admin.

CREATE FUNCTION @extschema@._require_admin()
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_require_admin'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._require_admin() IS
'Raise unless the calling role is a member of privacy.admin_role (or a superuser)';

CREATE FUNCTION @extschema@._calling_role()
RETURNS regrole
AS 'MODULE_PATHNAME', 'privacy_calling_role'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._calling_role() IS
'The current role of the caller (SET ROLE), also inside security definer functions';

CREATE FUNCTION @extschema@._calling_role_is_admin()
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_calling_role_is_admin'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._calling_role_is_admin() IS
'Whether the caller is a member of privacy.admin_role (or a superuser)';

CREATE FUNCTION @extschema@._column_type(tbl regclass, col name)
RETURNS regtype
AS 'MODULE_PATHNAME', 'privacy_column_type'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._column_type(regclass, name) IS
'Type of a column, or an undefined_column error';

CREATE FUNCTION @extschema@._valid_scope(scope text, typ regtype)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('SELECT %L::%s', scope, typ);
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION @extschema@._valid_scope(text, regtype) IS
'Whether a scope is a valid value of a scope column''s type';


CREATE FUNCTION @extschema@.register_subject_type(
    name text,
    root_table regclass,
    key_column name,
    description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF NOT EXISTS (SELECT FROM pg_attribute
                    WHERE attrelid = root_table AND attname = key_column
                      AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', key_column, root_table
            USING ERRCODE = 'undefined_column';
    END IF;
    INSERT INTO privacy.subject_type (name, root_table, key_column, description)
    VALUES (register_subject_type.name, root_table, key_column, description);
    PERFORM privacy.audit_append('registry.subject_type', root_table::text, NULL, NULL,
        jsonb_build_object('subject_type', register_subject_type.name, 'key_column', key_column));
EXCEPTION
    WHEN unique_violation THEN
        RAISE EXCEPTION 'subject type "%" already exists', register_subject_type.name
            USING ERRCODE = 'duplicate_object';
    WHEN check_violation THEN
        RAISE EXCEPTION 'invalid subject type name "%"', register_subject_type.name
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'A subject type name is lower case letters, digits and underscores, starting with a letter.';
END
$$;
COMMENT ON FUNCTION @extschema@.register_subject_type(text, regclass, name, text) IS
'Register a kind of data subject with the table and key column that identify one';

CREATE FUNCTION @extschema@._apply_policy(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r privacy.registered_table;
    expr text;
BEGIN
    SELECT * INTO r FROM privacy.registered_table WHERE relid = tbl;
    IF NOT FOUND OR r.scope_kind IS NULL THEN
        RETURN;
    END IF;
    IF r.scope_column IS NOT NULL THEN
        expr := format('privacy.scope_all(%L) OR %I = ANY (privacy.scope_values(%L, NULL::%s))',
                       r.scope_kind, r.scope_column, r.scope_kind,
                       privacy._column_type(tbl, r.scope_column)::text);
    ELSE
        -- a row is visible when the row it references in the parent is
        expr := format('privacy.scope_all(%L) OR (%s) IN (SELECT %s FROM %s)',
                       r.scope_kind,
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(r.scope_fk_columns) c),
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(r.scope_ref_columns) c),
                       r.scope_parent);
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', tbl);
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'privacy_scope') THEN
        EXECUTE format('DROP POLICY privacy_scope ON %s', tbl);
    END IF;
    -- The scope is a restrictive policy, so that no permissive policy of the
    -- table (present or added later) can widen it; privacy_base is the
    -- permissive policy that row-level security needs to show any row.
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'privacy_base') THEN
        EXECUTE format('CREATE POLICY privacy_base ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)',
                       tbl);
    END IF;
    EXECUTE format('CREATE POLICY privacy_scope ON %s AS RESTRICTIVE FOR ALL TO PUBLIC USING (%s) WITH CHECK (%s)',
                   tbl, expr, expr);
END
$$;
COMMENT ON FUNCTION @extschema@._apply_policy(regclass) IS
'Enable and force row-level security on a scoped table and (re)create its privacy_scope policy';

CREATE FUNCTION @extschema@.register_table(
    tbl regclass,
    subject_type text,
    key_column name DEFAULT NULL,
    via regclass[] DEFAULT NULL,
    scope_column name DEFAULT NULL,
    scope_kind text DEFAULT 'branch',
    scope_through regclass DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st privacy.subject_type;
    parent privacy.registered_table;
    fkcols name[];
    refcols name[];
    reg privacy.registered_table;
    cur regclass := tbl;
    nxt regclass;
    steps jsonb := '[]';
    n integer;
    fk record;
    keytype regtype;
    roottype regtype;
BEGIN
    PERFORM privacy._require_admin();
    SELECT * INTO st FROM privacy.subject_type s WHERE s.name = register_table.subject_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subject type "%" does not exist', register_table.subject_type
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it first with privacy.register_subject_type().';
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;

    IF key_column IS NOT NULL AND via IS NOT NULL THEN
        RAISE EXCEPTION 'give a key column or a foreign-key path, not both'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF key_column IS NULL AND via IS NULL THEN
        IF tbl = st.root_table THEN
            key_column := st.key_column;
        ELSE
            RAISE EXCEPTION 'table "%" needs a key column or a foreign-key path to "%"', tbl, st.root_table
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('privacy.propose_registrations(%L) proposes one.', st.name);
        END IF;
    END IF;

    IF key_column IS NOT NULL THEN
        keytype := privacy._column_type(tbl, key_column);
        roottype := privacy._column_type(st.root_table, st.key_column);
        IF keytype <> roottype AND NOT EXISTS (
               SELECT FROM pg_cast WHERE castsource = keytype AND casttarget = roottype
                                     AND castcontext = 'i') THEN
            RAISE EXCEPTION 'column "%" of "%" is of type %, but the key of subject type "%" is of type %',
                            key_column, tbl, keytype, st.name, roottype
                USING ERRCODE = 'datatype_mismatch';
        END IF;
    ELSE
        FOREACH nxt IN ARRAY via LOOP
            SELECT count(*) INTO n FROM pg_constraint
             WHERE contype = 'f' AND conrelid = cur AND confrelid = nxt;
            IF n = 0 THEN
                RAISE EXCEPTION 'no foreign key from "%" to "%"', cur, nxt
                    USING ERRCODE = 'invalid_foreign_key';
            ELSIF n > 1 THEN
                RAISE EXCEPTION 'more than one foreign key from "%" to "%"', cur, nxt
                    USING ERRCODE = 'invalid_foreign_key',
                          HINT = 'Register the table with the key column instead.';
            END IF;
            SELECT
                (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(num, ord)
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num) AS cols,
                (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(num, ord)
                   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num) AS refcols
              INTO fk
              FROM pg_constraint c
             WHERE c.contype = 'f' AND c.conrelid = cur AND c.confrelid = nxt;
            steps := steps || jsonb_build_array(jsonb_build_object('columns', fk.cols, 'ref_columns', fk.refcols));
            cur := nxt;
        END LOOP;
        IF cur <> st.root_table THEN
            RAISE EXCEPTION 'the foreign-key path from "%" ends at "%", not at "%", the table of subject type "%"',
                            tbl, cur, st.root_table, st.name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;

    IF scope_column IS NOT NULL THEN
        PERFORM privacy._column_type(tbl, scope_column);
        IF scope_kind IS NULL OR scope_kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
            RAISE EXCEPTION 'invalid scope kind "%"', scope_kind USING ERRCODE = 'invalid_name';
        END IF;
    END IF;

    IF scope_through IS NOT NULL THEN
        IF scope_column IS NOT NULL THEN
            RAISE EXCEPTION 'give a scope column or a table to scope through, not both'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT * INTO parent FROM privacy.registered_table r WHERE r.relid = scope_through;
        IF NOT FOUND OR parent.scope_kind IS NULL THEN
            RAISE EXCEPTION 'table "%" is not a scoped registered table', scope_through
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Register it with a scope column first.';
        END IF;
        SELECT count(*) INTO n FROM pg_constraint
         WHERE contype = 'f' AND conrelid = tbl AND confrelid = scope_through;
        IF n <> 1 THEN
            RAISE EXCEPTION '% foreign keys from "%" to "%"; exactly one is needed to scope through it',
                            n, tbl, scope_through
                USING ERRCODE = 'invalid_foreign_key';
        END IF;
        SELECT array_agg(a.attname ORDER BY k.ord), array_agg(b.attname ORDER BY k.ord)
          INTO fkcols, refcols
          FROM pg_constraint c,
               unnest(c.conkey, c.confkey) WITH ORDINALITY k(num, refnum, ord)
          JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = k.num
          JOIN pg_attribute b ON b.attrelid = scope_through AND b.attnum = k.refnum
         WHERE c.contype = 'f' AND c.conrelid = tbl AND c.confrelid = scope_through;
        scope_kind := parent.scope_kind;
    END IF;

    SELECT * INTO reg FROM privacy.registered_table WHERE relid = tbl;
    IF NOT FOUND THEN
        INSERT INTO privacy.registered_table (relid, scope_kind, scope_column, scope_parent,
                                              scope_fk_columns, scope_ref_columns,
                                              rls_was_enabled, rls_was_forced)
        SELECT tbl, CASE WHEN scope_column IS NOT NULL OR scope_through IS NOT NULL THEN scope_kind END,
               scope_column, scope_through, fkcols, refcols,
               c.relrowsecurity, c.relforcerowsecurity
          FROM pg_class c WHERE c.oid = tbl;
    ELSIF (scope_column IS NOT NULL OR scope_through IS NOT NULL) AND reg.scope_kind IS NULL THEN
        UPDATE privacy.registered_table
           SET scope_column = register_table.scope_column, scope_kind = register_table.scope_kind,
               scope_parent = scope_through, scope_fk_columns = fkcols, scope_ref_columns = refcols
         WHERE relid = tbl;
    ELSIF (scope_column IS NOT NULL OR scope_through IS NOT NULL)
          AND (reg.scope_column IS DISTINCT FROM scope_column OR reg.scope_parent IS DISTINCT FROM scope_through) THEN
        RAISE EXCEPTION 'table "%" is already scoped by %', tbl,
                        CASE WHEN reg.scope_column IS NOT NULL THEN format('column "%s"', reg.scope_column)
                             ELSE format('table "%s"', reg.scope_parent) END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- scopes granted before this column existed must be values of its type
    IF scope_column IS NOT NULL THEN
        FOR n IN SELECT 1 FROM privacy.scope_grant g
                  WHERE g.scope_kind = register_table.scope_kind AND g.scope <> '*'
                    AND NOT privacy._valid_scope(g.scope, privacy._column_type(tbl, scope_column)) LOOP
            RAISE EXCEPTION 'a granted scope of kind "%" is not a valid value for column "%" of "%"',
                            register_table.scope_kind, scope_column, tbl
                USING ERRCODE = 'invalid_text_representation',
                      HINT = 'Revoke it with privacy.revoke_scope() first; privacy.scope_grant lists the grants.';
        END LOOP;
    END IF;

    BEGIN
        INSERT INTO privacy.table_subject (relid, subject_type, key_column, via, via_columns)
        VALUES (tbl, st.name, key_column, via, CASE WHEN via IS NOT NULL THEN steps END);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'table "%" is already registered for subject type "%"', tbl, st.name
            USING ERRCODE = 'duplicate_object';
    END;

    PERFORM privacy._apply_policy(tbl);
    IF EXISTS (SELECT FROM privacy.restriction r WHERE r.subject_type = st.name)
       OR EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tbl AND p.polname = 'privacy_restrict') THEN
        PERFORM privacy._apply_restriction_policy(tbl);
    END IF;
    PERFORM privacy._apply_rectification(tbl);
    PERFORM privacy.audit_append('registry.register', tbl::text, NULL, NULL,
        jsonb_build_object('subject_type', st.name, 'key_column', key_column,
                           'via', to_jsonb(via::text[]), 'scope_column',
                           (SELECT r.scope_column FROM privacy.registered_table r WHERE r.relid = tbl),
                           'scope_through', scope_through::text));
END
$$;
COMMENT ON FUNCTION @extschema@.register_table(regclass, text, name, regclass[], name, text, regclass) IS
'Register a table holding data of a subject type, by key column or foreign-key path, with an optional scope column';

CREATE FUNCTION @extschema@.unregister_table(tbl regclass, subject_type text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    reg privacy.registered_table;
BEGIN
    PERFORM privacy._require_admin();
    SELECT * INTO reg FROM privacy.registered_table WHERE relid = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table "%" is not registered', tbl USING ERRCODE = 'undefined_object';
    END IF;
    IF subject_type IS NOT NULL THEN
        DELETE FROM privacy.table_subject t WHERE t.relid = tbl AND t.subject_type = unregister_table.subject_type;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'table "%" is not registered for subject type "%"', tbl, subject_type
                USING ERRCODE = 'undefined_object';
        END IF;
    ELSE
        DELETE FROM privacy.table_subject t WHERE t.relid = tbl;
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.table_subject t WHERE t.relid = tbl) THEN
        DELETE FROM privacy.registered_table WHERE relid = tbl;
        EXECUTE format('DROP TRIGGER IF EXISTS privacy_rectification ON %s', tbl);
        IF reg.scope_kind IS NOT NULL
           OR EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tbl AND p.polname = 'privacy_restrict') THEN
            EXECUTE format('DROP POLICY IF EXISTS privacy_restrict ON %s', tbl);
            EXECUTE format('DROP POLICY IF EXISTS privacy_scope ON %s', tbl);
            EXECUTE format('DROP POLICY IF EXISTS privacy_base ON %s', tbl);
            IF NOT reg.rls_was_forced THEN
                EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
            END IF;
            IF NOT reg.rls_was_enabled THEN
                EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
            END IF;
        END IF;
    ELSIF EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tbl AND p.polname = 'privacy_restrict') THEN
        PERFORM privacy._apply_restriction_policy(tbl);
    END IF;
    PERFORM privacy.audit_append('registry.unregister', tbl::text, NULL, NULL,
        jsonb_build_object('subject_type', subject_type));
END
$$;
COMMENT ON FUNCTION @extschema@.unregister_table(regclass, text) IS
'Remove a table''s registration (for one subject type, or all); the last one also removes its policy';

CREATE FUNCTION @extschema@.propose_registrations(subject_type text)
RETURNS TABLE (tbl regclass, key_column name, via regclass[], scope_column name,
               scope_through regclass, registered boolean, note text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st privacy.subject_type;
    scope_name name;
BEGIN
    SELECT * INTO st FROM privacy.subject_type s WHERE s.name = propose_registrations.subject_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subject type "%" does not exist', propose_registrations.subject_type
            USING ERRCODE = 'undefined_object';
    END IF;
    -- the scope column is the root's, when registered; otherwise branch_id
    SELECT coalesce((SELECT r.scope_column FROM privacy.registered_table r
                      WHERE r.relid = st.root_table), 'branch_id') INTO scope_name;
    RETURN QUERY
    WITH RECURSIVE walk(relid, via, depth) AS (
        SELECT c.conrelid, ARRAY[c.confrelid]::oid[], 1
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.confrelid = st.root_table AND c.conrelid <> st.root_table
        UNION ALL
        SELECT c.conrelid, c.confrelid || w.via, w.depth + 1
          FROM walk w
          JOIN pg_constraint c ON c.contype = 'f' AND c.confrelid = w.relid
         WHERE c.conrelid <> ALL (w.via) AND c.conrelid <> w.relid AND w.depth < 8
    ), shortest AS (
        SELECT DISTINCT ON (w.relid) w.relid, w.via, w.depth
          FROM walk w ORDER BY w.relid, w.depth, w.via::text
    ), candidates AS (
        SELECT st.root_table::oid AS relid, NULL::oid[] AS via, 0 AS depth
        UNION ALL
        SELECT s.relid, s.via, s.depth FROM shortest s
    ), scoped AS (
        SELECT c.relid, c.via, c.depth,
               (SELECT a.attname FROM pg_attribute a
                 WHERE a.attrelid = c.relid AND a.attname = scope_name
                   AND a.attnum > 0 AND NOT a.attisdropped) AS scol
          FROM candidates c
    )
    SELECT x.relid::regclass,
           CASE WHEN x.depth = 0 THEN st.key_column END,
           x.via::regclass[],
           x.scol,
           -- without a scope column of its own, a table is scoped through the table it references
           -- (the referenced table comes earlier in this list, so it is
           -- registered, and scoped, first)
           -- (only when the chain ends at a scoped root table)
           CASE WHEN x.scol IS NULL AND x.depth > 0
                     AND (SELECT count(*) FROM pg_constraint c
                           WHERE c.contype = 'f' AND c.conrelid = x.relid AND c.confrelid = x.via[1]) = 1
                     AND (EXISTS (SELECT FROM scoped y WHERE y.depth = 0 AND y.scol IS NOT NULL)
                          OR EXISTS (SELECT FROM privacy.registered_table r
                                      WHERE r.relid = st.root_table AND r.scope_kind IS NOT NULL))
                THEN x.via[1]::regclass END,
           EXISTS (SELECT FROM privacy.table_subject t WHERE t.relid = x.relid AND t.subject_type = st.name),
           CASE WHEN x.depth = 0 THEN 'the subject type''s own table'
                WHEN EXISTS (
                    SELECT FROM unnest(x.relid || x.via) WITH ORDINALITY a(rel, i)
                      JOIN unnest(x.via) WITH ORDINALITY b(rel, j) ON j = i
                     WHERE (SELECT count(*) FROM pg_constraint c
                             WHERE c.contype = 'f' AND c.conrelid = a.rel AND c.confrelid = b.rel) > 1)
                THEN 'more than one foreign key on the path: register with a key column'
                ELSE format('%s step(s): %s', x.depth,
                            array_to_string((x.relid || x.via)::regclass[]::text[], ' -> '))
           END
      FROM scoped x
     ORDER BY x.depth, x.relid::regclass::text;
END
$$;
COMMENT ON FUNCTION @extschema@.propose_registrations(text) IS
'Tables that reach the subject type''s table through foreign keys, with the shortest path, for the admin to confirm';

CREATE FUNCTION @extschema@.grant_scope(role regrole, scope text, scope_kind text DEFAULT 'branch')
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col record;
BEGIN
    PERFORM privacy._require_admin();
    IF scope IS NULL OR scope = '' THEN
        RAISE EXCEPTION 'a scope must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the scope must be a value of every scope column of its kind
    IF scope <> '*' THEN
        FOR col IN SELECT r.relid, r.scope_column, a.atttypid::regtype AS typ
                     FROM privacy.registered_table r
                     JOIN pg_attribute a ON a.attrelid = r.relid AND a.attname = r.scope_column
                                        AND a.attnum > 0 AND NOT a.attisdropped
                    WHERE r.scope_kind = grant_scope.scope_kind LOOP
            IF NOT privacy._valid_scope(scope, col.typ) THEN
                RAISE EXCEPTION 'scope "%" is not a valid value for column "%" of "%"',
                                scope, col.scope_column, col.relid
                    USING ERRCODE = 'invalid_text_representation';
            END IF;
        END LOOP;
    END IF;
    INSERT INTO privacy.scope_grant (role, scope_kind, scope, granted_by)
    VALUES (role, scope_kind, scope, session_user)
    ON CONFLICT DO NOTHING;
    PERFORM privacy.audit_append('scope.grant', role::text, NULL, NULL,
        jsonb_build_object('scope_kind', scope_kind, 'scope', scope));
END
$$;
COMMENT ON FUNCTION @extschema@.grant_scope(regrole, text, text) IS
'Grant a scope (a value of the scope column, or * for all) to a role; its members inherit it';

CREATE FUNCTION @extschema@.revoke_scope(role regrole, scope text, scope_kind text DEFAULT 'branch')
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    DELETE FROM privacy.scope_grant g
     WHERE g.role = revoke_scope.role AND g.scope_kind = revoke_scope.scope_kind AND g.scope = revoke_scope.scope;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" does not hold scope "%" of kind "%"', role, scope, scope_kind
            USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('scope.revoke', role::text, NULL, NULL,
        jsonb_build_object('scope_kind', scope_kind, 'scope', scope));
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_scope(regrole, text, text) IS
'Revoke a scope from a role';

CREATE FUNCTION @extschema@.role_scopes(role regrole DEFAULT NULL)
RETURNS TABLE (scope_kind text, scope text, granted_to regrole)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT g.scope_kind, g.scope, g.role
      FROM privacy.scope_grant g,
           (SELECT coalesce(role_scopes.role, privacy._calling_role()) AS who) w
     WHERE pg_has_role(w.who, g.role, 'USAGE')
       AND (w.who = privacy._calling_role() OR privacy._calling_role_is_admin())
     ORDER BY 1, 2, 3
$$;
COMMENT ON FUNCTION @extschema@.role_scopes(regrole) IS
'The scopes a role (by default the current one) holds, directly or through membership; other roles'' only for the admin';

CREATE VIEW @extschema@.registry AS
SELECT t.relid AS tbl, t.subject_type, t.key_column, t.via, r.scope_kind, r.scope_column,
       r.scope_parent AS scope_through,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = t.relid AND p.polname = 'privacy_scope') AS has_policy
  FROM @extschema@.table_subject t
  JOIN @extschema@.registered_table r ON r.relid = t.relid
  JOIN pg_catalog.pg_class c ON c.oid = t.relid;
COMMENT ON VIEW @extschema@.registry IS
'Every registered table with its subject types, key or path, scope column and policy state';

REVOKE ALL ON @extschema@.registry FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    @extschema@._apply_policy(regclass),
    @extschema@.register_subject_type(text, regclass, name, text),
    @extschema@.register_table(regclass, text, name, regclass[], name, text, regclass),
    @extschema@.unregister_table(regclass, text),
    @extschema@.propose_registrations(text),
    @extschema@.grant_scope(regrole, text, text),
    @extschema@.revoke_scope(regrole, text, text)
FROM PUBLIC;

DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.subject_type, privacy.registered_table, '
                              'privacy.table_subject, privacy.scope_grant, privacy.registry TO %I, %I',
                              admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION '
                              'privacy.register_subject_type(text, regclass, name, text), '
                              'privacy.register_table(regclass, text, name, regclass[], name, text, regclass), '
                              'privacy.unregister_table(regclass, text), '
                              'privacy.propose_registrations(text), '
                              'privacy.grant_scope(regrole, text, text), '
                              'privacy.revoke_scope(regrole, text, text) TO %I', admin);
END
$$;

-- Dropping a registered table (directly or by DROP SCHEMA ... CASCADE)
-- removes its registration, and the drop is audited.
CREATE FUNCTION @extschema@._registry_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT objid, object_identity FROM pg_event_trigger_dropped_objects()
              WHERE classid = 'pg_class'::regclass AND objsubid = 0 LOOP
        IF EXISTS (SELECT FROM privacy.registered_table WHERE relid::oid = d.objid) THEN
            DELETE FROM privacy.table_subject WHERE relid::oid = d.objid;
            DELETE FROM privacy.registered_table WHERE relid::oid = d.objid;
            PERFORM privacy.audit_append('registry.dropped', d.object_identity);
        END IF;
        DELETE FROM privacy.table_subject t USING privacy.subject_type s
         WHERE t.subject_type = s.name AND s.root_table::oid = d.objid;
        DELETE FROM privacy.subject_type WHERE root_table::oid = d.objid;
        -- tables left without a subject type, or scoped through the dropped
        -- table, are no longer registered (their row-level security stays
        -- forced: without a policy nobody but a superuser sees their rows)
        DELETE FROM privacy.registered_table r
         WHERE NOT EXISTS (SELECT FROM privacy.table_subject t WHERE t.relid = r.relid)
            OR r.scope_parent::oid = d.objid;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@._registry_sql_drop() IS
'Event trigger: forget the registrations of dropped tables';

CREATE EVENT TRIGGER privacy_registry_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@._registry_sql_drop();

-- Renaming a column of a registered table keeps its registration.
CREATE FUNCTION @extschema@._rename_column(tbl regclass, old_name name, new_name name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE privacy.registered_table SET scope_column = new_name
     WHERE relid = tbl AND scope_column = old_name;
    UPDATE privacy.table_subject SET key_column = new_name
     WHERE relid = tbl AND key_column = old_name;
    UPDATE privacy.registered_table SET scope_fk_columns = array_replace(scope_fk_columns, old_name, new_name)
     WHERE relid = tbl AND old_name = ANY (scope_fk_columns);
    UPDATE privacy.registered_table SET scope_ref_columns = array_replace(scope_ref_columns, old_name, new_name)
     WHERE scope_parent = tbl AND old_name = ANY (scope_ref_columns);
    UPDATE privacy.subject_type SET key_column = new_name
     WHERE root_table = tbl AND key_column = old_name;
    UPDATE privacy.column_policy SET column_name = new_name
     WHERE relid = tbl AND column_name = old_name;
    -- foreign-key steps that leave this table, or arrive at it
    UPDATE privacy.table_subject t
       SET via_columns = (
           SELECT jsonb_agg(
                    jsonb_build_object(
                        'columns', CASE WHEN (CASE WHEN s.i = 1 THEN t.relid ELSE t.via[s.i - 1] END) = tbl
                                        THEN (SELECT jsonb_agg(CASE WHEN c = old_name THEN new_name::text ELSE c END)
                                                FROM jsonb_array_elements_text(s.step->'columns') c)
                                        ELSE s.step->'columns' END,
                        'ref_columns', CASE WHEN t.via[s.i] = tbl
                                        THEN (SELECT jsonb_agg(CASE WHEN c = old_name THEN new_name::text ELSE c END)
                                                FROM jsonb_array_elements_text(s.step->'ref_columns') c)
                                        ELSE s.step->'ref_columns' END)
                    ORDER BY s.i)
             FROM jsonb_array_elements(t.via_columns) WITH ORDINALITY s(step, i))
     WHERE t.via_columns IS NOT NULL AND (t.relid = tbl OR tbl = ANY (t.via));
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._rename_column(regclass, name, name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._rename_column(regclass, name, name) IS
'Follow a column rename in the registry';
