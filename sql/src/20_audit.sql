/* sql/src/20_audit.sql */

-- The audit trail: the append-only, hash-chained audit_log, its seals, and
-- the functions that append to, seal and verify it. Needs the roles of
-- 00_schema.sql.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-------------------------------------------------------------------------------
-- The audit trail
-------------------------------------------------------------------------------

CREATE SEQUENCE @extschema@.audit_seq;

CREATE TABLE @extschema@.audit_log (
    seq          bigint      NOT NULL PRIMARY KEY,
    logged_at    timestamptz NOT NULL,
    txid         xid8        NOT NULL,
    session_id   text        NOT NULL,
    login_role   name        NOT NULL,
    acting_role  name        NOT NULL,
    actor        text,
    action       text        NOT NULL,
    object       text,
    subject_type text,
    subject_key  text,
    details      jsonb,
    hash         bytea       NOT NULL
);

CREATE INDEX audit_log_subject_idx
    ON @extschema@.audit_log (subject_type, subject_key)
    WHERE subject_key IS NOT NULL;

COMMENT ON TABLE @extschema@.audit_log IS
'Append-only audit trail; every entry is hashed and sealed in privacy.audit_seal; verify with privacy.audit_verify()';
COMMENT ON COLUMN @extschema@.audit_log.seq IS 'Entry number, in the order of appending (numbers of rolled-back entries are skipped)';
COMMENT ON COLUMN @extschema@.audit_log.logged_at IS 'When the entry was appended';
COMMENT ON COLUMN @extschema@.audit_log.txid IS 'Transaction that appended the entry';
COMMENT ON COLUMN @extschema@.audit_log.session_id IS 'Session, as %c in log_line_prefix';
COMMENT ON COLUMN @extschema@.audit_log.login_role IS 'Session user';
COMMENT ON COLUMN @extschema@.audit_log.acting_role IS 'Current role (SET ROLE) when the entry was appended; the caller of a security definer function';
COMMENT ON COLUMN @extschema@.audit_log.actor IS 'Application-level user (privacy.actor)';
COMMENT ON COLUMN @extschema@.audit_log.action IS 'What was done, e.g. bsn.update';
COMMENT ON COLUMN @extschema@.audit_log.object IS 'What it was done to, e.g. a table';
COMMENT ON COLUMN @extschema@.audit_log.subject_type IS 'Type of the data subject concerned';
COMMENT ON COLUMN @extschema@.audit_log.subject_key IS 'Key of the data subject concerned';
COMMENT ON COLUMN @extschema@.audit_log.details IS 'Counts and reasons; never personal values';
COMMENT ON COLUMN @extschema@.audit_log.hash IS 'SHA-256 over this entry';

CREATE TABLE @extschema@.audit_seal (
    seal_no    bigint      NOT NULL PRIMARY KEY,
    sealed_at  timestamptz NOT NULL,
    first_seq  bigint      NOT NULL,
    last_seq   bigint      NOT NULL,
    entries    integer     NOT NULL,
    seqs       bigint[]    NOT NULL,
    prev_hash  bytea       NOT NULL,
    hash       bytea       NOT NULL
);
COMMENT ON TABLE @extschema@.audit_seal IS
'Chain of seals over the audit trail: each lists the entries it covers and hashes them with the previous seal';
COMMENT ON COLUMN @extschema@.audit_seal.seqs IS 'The entries this seal covers, in order';
COMMENT ON COLUMN @extschema@.audit_seal.prev_hash IS 'hash of the previous seal (zeros for the first)';
COMMENT ON COLUMN @extschema@.audit_seal.hash IS 'SHA-256 over the seal number, prev_hash and the covered entries'' numbers and hashes';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seal', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seq', '');

CREATE FUNCTION @extschema@.audit_log_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_audit_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.audit_log_guard() IS
'Trigger that keeps privacy.audit_log append-only';

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON @extschema@.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_log_guard();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON @extschema@.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_log_guard();
CREATE TRIGGER audit_seal_append_only
    BEFORE UPDATE OR DELETE ON @extschema@.audit_seal
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_log_guard();
CREATE TRIGGER audit_seal_no_truncate
    BEFORE TRUNCATE ON @extschema@.audit_seal
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_log_guard();
-- also when session_replication_role is replica
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE @extschema@.audit_seal ENABLE ALWAYS TRIGGER audit_seal_append_only;
ALTER TABLE @extschema@.audit_seal ENABLE ALWAYS TRIGGER audit_seal_no_truncate;

REVOKE ALL ON @extschema@.audit_log, @extschema@.audit_seal, @extschema@.audit_seq FROM PUBLIC;

CREATE FUNCTION @extschema@.audit_append(
    action text,
    object text DEFAULT NULL,
    subject_type text DEFAULT NULL,
    subject_key text DEFAULT NULL,
    details jsonb DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_audit_append_sql'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.audit_append(text, text, text, text, jsonb) IS
'Append an entry to the audit trail; it is chained when the transaction commits';

CREATE FUNCTION @extschema@.audit_pending()
RETURNS integer
AS 'MODULE_PATHNAME', 'privacy_audit_pending'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.audit_pending() IS
'Number of audit entries this transaction appended; they are sealed when it commits';

CREATE FUNCTION @extschema@.audit_seal()
RETURNS integer
AS 'MODULE_PATHNAME', 'privacy_audit_seal'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.audit_seal() IS
'Seal every committed audit entry that is not sealed yet; returns how many were sealed (for pg_cron)';

CREATE FUNCTION @extschema@.audit_verify(
    anchor_seal bigint DEFAULT NULL,
    anchor_hash bytea DEFAULT NULL,
    OUT valid boolean,
    OUT entries bigint,
    OUT first_invalid bigint,
    OUT reason text,
    OUT unsealed bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'privacy_audit_verify'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.audit_verify(bigint, bytea) IS
'Recompute every entry and seal of the audit trail; reports the first that breaks it.  With an anchor (seal, hash) kept outside the database, also detects a rewritten tail';

CREATE FUNCTION @extschema@.audit_head(OUT seal_no bigint, OUT hash bytea, OUT last_seq bigint)
RETURNS record
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.seal_no, s.hash, s.last_seq FROM privacy.audit_seal s ORDER BY s.seal_no DESC LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.audit_head() IS
'The newest seal: store it outside the database as an anchor for audit_verify()';

REVOKE EXECUTE ON FUNCTION
    @extschema@.audit_append(text, text, text, text, jsonb),
    @extschema@.audit_verify(bigint, bytea),
    @extschema@.audit_head(),
    @extschema@.audit_seal()
FROM PUBLIC;

DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.audit_log, privacy.audit_seal TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.audit_append(text, text, text, text, jsonb), '
                              'privacy.audit_verify(bigint, bytea), privacy.audit_head(), '
                              'privacy.audit_seal() TO %I, %I',
                              admin, officer);
END
$$;
