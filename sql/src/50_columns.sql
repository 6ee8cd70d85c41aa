/* sql/src/50_columns.sql */

-- Column policies: classes of columns with their viewer roles, masking
-- inside the engine, optional fields and forbidden fields. Needs the
-- registry.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-------------------------------------------------------------------------------
-- Column policies: classes of columns, masking inside the engine, optional
-- and forbidden fields
-------------------------------------------------------------------------------

-- The roles that see a class in full; created when missing, NOLOGIN.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['privacy_identifying', 'privacy_contact', 'privacy_financial',
                             'privacy_special', 'privacy_free_text']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

CREATE TABLE @extschema@.column_class (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    description  text,
    viewer_role  name,
    mask         text NOT NULL CHECK (mask IN ('null', 'fixed', 'partial', 'hash')),
    mask_param   text,
    builtin      boolean NOT NULL DEFAULT false,
    CHECK (mask <> 'partial' OR coalesce(mask_param ~ '^[0-9]{1,2}$', false)),
    CHECK (mask <> 'fixed' OR mask_param IS NOT NULL)
);
COMMENT ON TABLE @extschema@.column_class IS
'Classes of personal data columns: the role that sees them in full, and how everyone else sees them';

-- the built-in classes come with the extension; pg_dump keeps the others
INSERT INTO @extschema@.column_class (name, description, viewer_role, mask, mask_param, builtin) VALUES
    ('identifying', 'Identifying data: name, date of birth, address', 'privacy_identifying', 'partial', '2', true),
    ('contact', 'Contact data: phone, e-mail', 'privacy_contact', 'partial', '4', true),
    ('financial', 'Financial data: IBAN, wages', 'privacy_financial', 'partial', '4', true),
    ('special', 'Special categories (AVG art. 9): health, religion, ethnicity, biometrics', 'privacy_special', 'null', NULL, true),
    ('photo', 'Photos: biometric and may reveal race or religion (AVG art. 9)', 'privacy_special', 'null', NULL, true),
    ('free_text', 'Free text that may hold anything', 'privacy_free_text', 'hash', NULL, true);

CREATE TABLE @extschema@.column_policy (
    relid        regclass NOT NULL REFERENCES @extschema@.registered_table ON DELETE CASCADE,
    column_name  name     NOT NULL,
    class        text     REFERENCES @extschema@.column_class ON UPDATE CASCADE,
    state        text     NOT NULL DEFAULT 'on' CHECK (state IN ('on', 'off', 'forbidden')),
    reason       text,
    changed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (relid, column_name)
);
COMMENT ON TABLE @extschema@.column_policy IS
'Columns of registered tables: their class (masking), and whether the field is switched off or forbidden';

-- the key of the keyed-hash mask, per database (not dumped: see below)
CREATE TABLE @extschema@.mask_key (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    key  bytea NOT NULL
);
INSERT INTO @extschema@.mask_key (key)
VALUES (pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'));
COMMENT ON TABLE @extschema@.mask_key IS
'Secret of the keyed-hash mask (HMAC-SHA256); equal values give equal hashes within this database (pg_dump does not keep it)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.column_class', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.column_policy', '');
-- the mask key is not dumped: a restored database gets a key of its own
REVOKE ALL ON @extschema@.column_class, @extschema@.column_policy, @extschema@.mask_key FROM PUBLIC;

CREATE TRIGGER column_class_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.column_class FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
CREATE TRIGGER column_policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.column_policy FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
ALTER TABLE @extschema@.column_class ENABLE ALWAYS TRIGGER column_class_changed;
ALTER TABLE @extschema@.column_policy ENABLE ALWAYS TRIGGER column_policy_changed;

-- the masks
CREATE FUNCTION @extschema@.mask_partial(value text, keep integer)
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_mask_partial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mask_partial(text, integer) IS
'The text with every character but the last keep replaced by *';

CREATE FUNCTION @extschema@.mask_hash(value text)
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_mask_hash'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mask_hash(text) IS
'HMAC-SHA256 of the text with the database''s mask key, in hex: equal values stay joinable, unreadable';

-- the trigger that refuses values in fields switched off or forbidden
CREATE FUNCTION @extschema@.column_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_column_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.column_guard() IS
'AFTER ROW trigger that refuses a stored value in a column switched off or forbidden';

CREATE FUNCTION @extschema@._column_policy(tbl regclass, col name, new_class text, new_state text, new_reason text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM privacy.registered_table WHERE relid = tbl) THEN
        RAISE EXCEPTION 'table "%" is not registered', tbl
            USING ERRCODE = 'undefined_object',
                  HINT = 'Register it with privacy.register_table() first.';
    END IF;
    PERFORM privacy._column_type(tbl, col);
    INSERT INTO privacy.column_policy AS p (relid, column_name, class, state, reason)
    VALUES (tbl, col, new_class, coalesce(new_state, 'on'), new_reason)
    ON CONFLICT (relid, column_name) DO UPDATE
       SET class = coalesce(EXCLUDED.class, p.class),
           state = coalesce(new_state, p.state),
           reason = CASE WHEN new_state IS NULL THEN p.reason ELSE EXCLUDED.reason END,
           changed_at = now();
    DELETE FROM privacy.column_policy WHERE relid = tbl AND column_name = col AND class IS NULL AND state = 'on';
    -- Row-level security, with a policy that shows every row, so that
    -- PostgreSQL leaves the values of a failing row out of constraint
    -- violation messages (they would show masked columns in full).
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'privacy_base') THEN
        EXECUTE format('CREATE POLICY privacy_base ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)',
                       tbl);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_class WHERE oid = tbl AND relrowsecurity AND relforcerowsecurity) THEN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', tbl);
    END IF;
    -- the write guard, for fields switched off or forbidden
    IF EXISTS (SELECT FROM privacy.column_policy WHERE relid = tbl AND state <> 'on') THEN
        IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'privacy_column_guard') THEN
            -- an AFTER trigger sees the row as stored, after every BEFORE trigger
            EXECUTE format('CREATE TRIGGER privacy_column_guard AFTER INSERT OR UPDATE ON %s '
                           'FOR EACH ROW EXECUTE FUNCTION privacy.column_guard()', tbl);
            EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER privacy_column_guard', tbl);
        END IF;
    ELSIF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'privacy_column_guard') THEN
        EXECUTE format('DROP TRIGGER privacy_column_guard ON %s', tbl);
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._column_policy(regclass, name, text, text, text) IS
'Record a column''s class or state and keep the write guard trigger in step';

CREATE FUNCTION @extschema@.classify_column(tbl regclass, column_name name, class text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c privacy.column_class;
BEGIN
    PERFORM privacy._require_admin();
    SELECT * INTO c FROM privacy.column_class k WHERE k.name = classify_column.class;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column class "%" does not exist', class USING ERRCODE = 'undefined_object';
    END IF;
    IF c.mask = 'fixed' AND NOT privacy._valid_scope(c.mask_param, privacy._column_type(tbl, column_name)) THEN
        RAISE EXCEPTION 'the fixed mask of class "%" is not a value of column "%" of "%"', class, column_name, tbl
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    PERFORM privacy._column_policy(tbl, column_name, class, NULL, NULL);
    -- statistics would show the most common values, unmasked, in pg_stats
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', tbl, column_name);
    DELETE FROM pg_catalog.pg_statistic
     WHERE starelid = tbl AND staattnum = (SELECT a.attnum FROM pg_attribute a
                                            WHERE a.attrelid = tbl AND a.attname = classify_column.column_name);
    PERFORM privacy.audit_append('column.classify', format('%s.%I', tbl, column_name), NULL, NULL,
                                 jsonb_build_object('class', class));
END
$$;
COMMENT ON FUNCTION @extschema@.classify_column(regclass, name, text) IS
'Put a column of a registered table in a class: roles outside the class''s viewer role see it masked';

CREATE FUNCTION @extschema@.unclassify_column(tbl regclass, column_name name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    UPDATE privacy.column_policy SET class = NULL WHERE relid = tbl AND column_policy.column_name = unclassify_column.column_name;
    DELETE FROM privacy.column_policy WHERE relid = tbl AND class IS NULL AND state = 'on';
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS -1', tbl, column_name);
    PERFORM privacy.audit_append('column.unclassify', format('%s.%I', tbl, column_name));
END
$$;
COMMENT ON FUNCTION @extschema@.unclassify_column(regclass, name) IS
'Remove a column''s class';

CREATE FUNCTION @extschema@.set_optional_field(tbl regclass, column_name name, enabled boolean)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'enabled must be true or false' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT enabled AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl
                                  AND a.attname = set_optional_field.column_name AND a.attnum > 0 AND a.attnotnull) THEN
        RAISE EXCEPTION 'column "%" of "%" is NOT NULL, so it cannot be switched off', column_name, tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Drop the NOT NULL constraint first (ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL).';
    END IF;
    IF EXISTS (SELECT FROM privacy.column_policy p WHERE p.relid = tbl
                  AND p.column_name = set_optional_field.column_name AND p.state = 'forbidden') THEN
        RAISE EXCEPTION 'column "%" of "%" is forbidden, not optional', column_name, tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM privacy._column_policy(tbl, column_name, NULL, CASE WHEN enabled THEN 'on' ELSE 'off' END, NULL);
    PERFORM privacy.audit_append(CASE WHEN enabled THEN 'column.switch_on' ELSE 'column.switch_off' END,
                                 format('%s.%I', tbl, column_name));
END
$$;
COMMENT ON FUNCTION @extschema@.set_optional_field(regclass, name, boolean) IS
'Switch an optional field on or off for the installation: while off, writes of a value fail and reads return NULL';

CREATE FUNCTION @extschema@.forbid_field(tbl regclass, column_name name, reason text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF reason IS NULL OR reason = '' THEN
        RAISE EXCEPTION 'a forbidden field needs a reason' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl
                  AND a.attname = forbid_field.column_name AND a.attnum > 0 AND a.attnotnull) THEN
        RAISE EXCEPTION 'column "%" of "%" is NOT NULL, so it cannot be forbidden', column_name, tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Drop the NOT NULL constraint first (ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL).';
    END IF;
    PERFORM privacy._column_policy(tbl, column_name, NULL, 'forbidden', reason);
    PERFORM privacy.audit_append('column.forbid', format('%s.%I', tbl, column_name));
END
$$;
COMMENT ON FUNCTION @extschema@.forbid_field(regclass, name, text) IS
'Declare a column forbidden: every non-NULL write fails with the reason';

CREATE FUNCTION @extschema@.clear_field(tbl regclass, column_name name)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM privacy._require_admin();
    IF NOT EXISTS (SELECT FROM privacy.column_policy p WHERE p.relid = tbl
                      AND p.column_name = clear_field.column_name AND p.state <> 'on') THEN
        RAISE EXCEPTION 'column "%" of "%" is neither switched off nor forbidden', column_name, tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    EXECUTE format('UPDATE %s SET %I = NULL WHERE %I IS NOT NULL', tbl, column_name, column_name);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM privacy.audit_append('column.clear', format('%s.%I', tbl, column_name), NULL, NULL,
                                 jsonb_build_object('rows', n));
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.clear_field(regclass, name) IS
'Remove the stored values of a field switched off or forbidden; audited with the row count';

CREATE VIEW @extschema@.column_policies AS
SELECT p.relid AS tbl, p.column_name, p.class, k.viewer_role, k.mask, k.mask_param, p.state, p.reason
  FROM @extschema@.column_policy p
  LEFT JOIN @extschema@.column_class k ON k.name = p.class;
COMMENT ON VIEW @extschema@.column_policies IS
'Every classified, optional or forbidden column with how it is masked';

REVOKE ALL ON @extschema@.column_policies FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    @extschema@._column_policy(regclass, name, text, text, text),
    @extschema@.classify_column(regclass, name, text),
    @extschema@.unclassify_column(regclass, name),
    @extschema@.set_optional_field(regclass, name, boolean),
    @extschema@.forbid_field(regclass, name, text),
    @extschema@.clear_field(regclass, name)
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.column_class, privacy.column_policy, '
                              'privacy.column_policies TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.classify_column(regclass, name, text), '
                              'privacy.unclassify_column(regclass, name), '
                              'privacy.set_optional_field(regclass, name, boolean), '
                              'privacy.forbid_field(regclass, name, text), '
                              'privacy.clear_field(regclass, name) TO %I', admin);
END
$$;

CREATE FUNCTION @extschema@.field_status(
    OUT tbl regclass,
    OUT column_name name,
    OUT state text,
    OUT stored_values bigint)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT c.relid, c.column_name, c.state FROM privacy.column_policy c
              WHERE c.state <> 'on' ORDER BY c.relid::text, c.column_name LOOP
        tbl := p.relid;
        column_name := p.column_name;
        state := p.state;
        EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL', p.relid, p.column_name)
           INTO stored_values;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.field_status() IS
'Fields switched off or forbidden, and how many stored values each still holds (clear them with privacy.clear_field)';
REVOKE EXECUTE ON FUNCTION @extschema@.field_status() FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.field_status() TO %I, %I', admin, officer);
END
$$;
