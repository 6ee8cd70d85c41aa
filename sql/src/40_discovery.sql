/* sql/src/40_discovery.sql */

-- Discovery of stray identifiers: the C scanners that find BSNs and IBANs
-- in free text, and the table scan and redaction built on them.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-------------------------------------------------------------------------------
-- Discovery of stray identifiers: BSNs and IBANs pasted into free text
-------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.find_identifiers(
    txt text,
    OUT kind text,
    OUT pos integer,
    OUT match text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'privacy_find_identifiers'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.find_identifiers(text) IS
'Every BSN (elfproef) and IBAN (mod 97) in a text, with its position; masked for roles outside privacy.bsn_role';

CREATE FUNCTION @extschema@.has_identifier(txt text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_has_identifier'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.has_identifier(text) IS
'Whether a text holds a BSN or an IBAN';

CREATE FUNCTION @extschema@.redact_identifiers(txt text)
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_redact_identifiers'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.redact_identifiers(text) IS
'The text with every BSN and IBAN masked';

CREATE FUNCTION @extschema@.scan_table(
    tbl regclass,
    OUT tbl_name regclass,
    OUT column_name name,
    OUT row_key text,
    OUT kind text,
    OUT match text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col name;
    keyexpr text;
BEGIN
    -- the row key: the primary key's columns, or the tuple id
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
      INTO keyexpr
      FROM pg_index i
      CROSS JOIN unnest(i.indkey) WITH ORDINALITY k(num, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
     WHERE i.indrelid = tbl AND i.indisprimary;
    keyexpr := CASE WHEN keyexpr IS NULL THEN 'ctid::text' ELSE format('(%s)::text', keyexpr) END;
    FOR col IN SELECT a.attname FROM pg_attribute a
                WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
                  AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
                ORDER BY a.attnum LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::regclass, %L::name, %s, f.kind, f.match
               FROM %s t, privacy.find_identifiers(t.%I::text) f
              WHERE privacy.has_identifier(t.%I::text)',
            tbl, col, keyexpr, tbl, col, col);
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.scan_table(regclass) IS
'BSNs and IBANs in the text columns of a table: column, row key, kind and the (masked) match; as the caller, so privileges and row-level security apply';

CREATE FUNCTION @extschema@.redact_table(tbl regclass, column_name name)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM privacy._require_admin();
    IF privacy._column_type(tbl, column_name) NOT IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype) THEN
        RAISE EXCEPTION 'column "%" of "%" is not a text column', column_name, tbl
            USING ERRCODE = 'wrong_object_type';
    END IF;
    EXECUTE format('UPDATE %s SET %I = privacy.redact_identifiers(%I) WHERE privacy.has_identifier(%I)',
                   tbl, column_name, column_name, column_name);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM privacy.audit_append('identifiers.redact', format('%s.%I', tbl, column_name), NULL, NULL,
                                 jsonb_build_object('rows', n));
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.redact_table(regclass, name) IS
'Mask every BSN and IBAN in a text column, in place; audited with the row count';

REVOKE EXECUTE ON FUNCTION @extschema@.scan_table(regclass), @extschema@.redact_table(regclass, name) FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.scan_table(regclass) TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.redact_table(regclass, name) TO %I', admin);
END
$$;
