/* pg_privacy--0.1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_privacy CASCADE" to load this file. \quit

-------------------------------------------------------------------------------
-- Roles
--
-- The extension relies on three roles, named by settings: the privacy admin
-- (privacy.admin_role), the privacy officer (privacy.officer_role) and the
-- role whose members see BSNs (privacy.bsn_role).  Those that do not exist
-- are created here, NOLOGIN; grant them to login roles.  Roles belong to the
-- cluster, so DROP EXTENSION leaves them in place.
-------------------------------------------------------------------------------

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin'),
        coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer'),
        coalesce(nullif(current_setting('privacy.bsn_role', true), ''), 'privacy_bsn')]
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-------------------------------------------------------------------------------
-- Status
-------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.library_version()
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_library_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.library_version() IS
'Version of the loaded pg_privacy library';

CREATE FUNCTION @extschema@.status(
    OUT component text,
    OUT state text,
    OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'privacy_status'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.status() IS
'State of every pg_privacy component: version, hooks, roles and warnings';

-------------------------------------------------------------------------------
-- The bsn type
-------------------------------------------------------------------------------

CREATE TYPE @extschema@.bsn;

CREATE FUNCTION @extschema@.bsn_in(cstring)
RETURNS @extschema@.bsn
AS 'MODULE_PATHNAME', 'privacy_bsn_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The output depends on the current role, hence STABLE.
CREATE FUNCTION @extschema@.bsn_out(@extschema@.bsn)
RETURNS cstring
AS 'MODULE_PATHNAME', 'privacy_bsn_out'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bsn_recv(internal)
RETURNS @extschema@.bsn
AS 'MODULE_PATHNAME', 'privacy_bsn_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bsn_send(@extschema@.bsn)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_bsn_send'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bsn_typanalyze(internal)
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_typanalyze'
LANGUAGE C STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.bsn (
    INPUT = @extschema@.bsn_in,
    OUTPUT = @extschema@.bsn_out,
    RECEIVE = @extschema@.bsn_recv,
    SEND = @extschema@.bsn_send,
    ANALYZE = @extschema@.bsn_typanalyze,
    LIKE = pg_catalog.int4
);

-- Arrays of bsn keep no values in their statistics either (by default an
-- array column's statistics hold its most common elements, in order).
UPDATE pg_catalog.pg_type SET typanalyze = '@extschema@.bsn_typanalyze'::pg_catalog.regproc
 WHERE oid = '@extschema@.bsn[]'::pg_catalog.regtype;

COMMENT ON TYPE @extschema@.bsn IS
'Dutch citizen service number (burgerservicenummer), validated by the elfproef; masked for roles outside privacy.bsn_role';
COMMENT ON FUNCTION @extschema@.bsn_in(cstring) IS 'bsn input: 8 or 9 digits, optional separators, elfproef';
COMMENT ON FUNCTION @extschema@.bsn_out(@extschema@.bsn) IS 'bsn output: nine digits, or masked for roles outside privacy.bsn_role';
COMMENT ON FUNCTION @extschema@.bsn_recv(internal) IS 'bsn binary input; refuses a masked value';
COMMENT ON FUNCTION @extschema@.bsn_send(@extschema@.bsn) IS 'bsn binary output, masked for roles outside privacy.bsn_role';
COMMENT ON FUNCTION @extschema@.bsn_typanalyze(internal) IS 'bsn statistics: keeps no values and no order';

-- comparison
CREATE FUNCTION @extschema@.bsn_eq(@extschema@.bsn, @extschema@.bsn) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_eq' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_ne(@extschema@.bsn, @extschema@.bsn) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_ne' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_lt(@extschema@.bsn, @extschema@.bsn) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_lt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_le(@extschema@.bsn, @extschema@.bsn) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_le' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_gt(@extschema@.bsn, @extschema@.bsn) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_gt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_ge(@extschema@.bsn, @extschema@.bsn) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_ge' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_cmp(@extschema@.bsn, @extschema@.bsn) RETURNS integer
AS 'MODULE_PATHNAME', 'privacy_bsn_cmp' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_sortsupport(internal) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_bsn_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_hash(@extschema@.bsn) RETURNS integer
AS 'MODULE_PATHNAME', 'privacy_bsn_hash' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_hash_extended(@extschema@.bsn, bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_bsn_hash_extended' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_smaller(@extschema@.bsn, @extschema@.bsn) RETURNS @extschema@.bsn
AS 'MODULE_PATHNAME', 'privacy_bsn_smaller' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.bsn_larger(@extschema@.bsn, @extschema@.bsn) RETURNS @extschema@.bsn
AS 'MODULE_PATHNAME', 'privacy_bsn_larger' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.bsn_eq(@extschema@.bsn, @extschema@.bsn) IS 'bsn equality (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_ne(@extschema@.bsn, @extschema@.bsn) IS 'bsn inequality (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_lt(@extschema@.bsn, @extschema@.bsn) IS 'bsn less than (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_le(@extschema@.bsn, @extschema@.bsn) IS 'bsn less or equal (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_gt(@extschema@.bsn, @extschema@.bsn) IS 'bsn greater than (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_ge(@extschema@.bsn, @extschema@.bsn) IS 'bsn greater or equal (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_cmp(@extschema@.bsn, @extschema@.bsn) IS 'bsn btree comparison (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_sortsupport(internal) IS 'bsn btree sort support';
COMMENT ON FUNCTION @extschema@.bsn_hash(@extschema@.bsn) IS 'bsn hash (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_hash_extended(@extschema@.bsn, bigint) IS 'bsn seeded hash (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_smaller(@extschema@.bsn, @extschema@.bsn) IS 'smaller of two bsn values (members of privacy.bsn_role)';
COMMENT ON FUNCTION @extschema@.bsn_larger(@extschema@.bsn, @extschema@.bsn) IS 'larger of two bsn values (members of privacy.bsn_role)';

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.bsn, RIGHTARG = @extschema@.bsn,
    FUNCTION = @extschema@.bsn_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.bsn, RIGHTARG = @extschema@.bsn,
    FUNCTION = @extschema@.bsn_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.bsn, RIGHTARG = @extschema@.bsn,
    FUNCTION = @extschema@.bsn_lt,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.bsn, RIGHTARG = @extschema@.bsn,
    FUNCTION = @extschema@.bsn_le,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.bsn, RIGHTARG = @extschema@.bsn,
    FUNCTION = @extschema@.bsn_gt,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.bsn, RIGHTARG = @extschema@.bsn,
    FUNCTION = @extschema@.bsn_ge,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS @extschema@.bsn_ops
DEFAULT FOR TYPE @extschema@.bsn USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.bsn_cmp(@extschema@.bsn, @extschema@.bsn),
    FUNCTION 2 @extschema@.bsn_sortsupport(internal),
    FUNCTION 4 pg_catalog.btequalimage(oid);

CREATE OPERATOR CLASS @extschema@.bsn_hash_ops
DEFAULT FOR TYPE @extschema@.bsn USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.bsn_hash(@extschema@.bsn),
    FUNCTION 2 @extschema@.bsn_hash_extended(@extschema@.bsn, bigint);

CREATE AGGREGATE @extschema@.min(@extschema@.bsn) (
    SFUNC = @extschema@.bsn_smaller,
    STYPE = @extschema@.bsn,
    COMBINEFUNC = @extschema@.bsn_smaller,
    SORTOP = OPERATOR(@extschema@.<),
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.max(@extschema@.bsn) (
    SFUNC = @extschema@.bsn_larger,
    STYPE = @extschema@.bsn,
    COMBINEFUNC = @extschema@.bsn_larger,
    SORTOP = OPERATOR(@extschema@.>),
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.min(@extschema@.bsn) IS 'smallest bsn (members of privacy.bsn_role)';
COMMENT ON AGGREGATE @extschema@.max(@extschema@.bsn) IS 'largest bsn (members of privacy.bsn_role)';

-- helpers
CREATE FUNCTION @extschema@.bsn(bigint)
RETURNS @extschema@.bsn
AS 'MODULE_PATHNAME', 'privacy_bsn_from_int8'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bsn(bigint) IS 'bigint to bsn, validated by the elfproef';

CREATE CAST (bigint AS @extschema@.bsn)
    WITH FUNCTION @extschema@.bsn(bigint);

CREATE FUNCTION @extschema@.bsn_is_valid(text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_is_valid'
LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bsn_is_valid(text) IS
'Whether the text is a valid BSN by the input rule; never raises';

CREATE FUNCTION @extschema@.bsn_display(@extschema@.bsn)
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_bsn_display'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bsn_display(@extschema@.bsn) IS
'BSN written as 1234.56.782, masked for roles outside privacy.bsn_role';

CREATE FUNCTION @extschema@.bsn_authorized()
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_bsn_authorized_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bsn_authorized() IS
'Whether the current role sees and may change BSNs';

-- Comparing, hashing and ordering BSNs is for the BSN role only.  The
-- inference guard refuses such queries for other roles; the privileges
-- below also refuse them where no query is planned (check constraints,
-- domain constraints, index predicates).
REVOKE EXECUTE ON FUNCTION
    @extschema@.bsn_eq(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_ne(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_lt(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_le(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_gt(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_ge(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_cmp(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_hash(@extschema@.bsn),
    @extschema@.bsn_hash_extended(@extschema@.bsn, bigint),
    @extschema@.bsn_smaller(@extschema@.bsn, @extschema@.bsn),
    @extschema@.bsn_larger(@extschema@.bsn, @extschema@.bsn),
    @extschema@.min(@extschema@.bsn),
    @extschema@.max(@extschema@.bsn)
FROM PUBLIC;

CREATE FUNCTION @extschema@.grant_bsn_role()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r text := coalesce(nullif(current_setting('privacy.bsn_role', true), ''), 'privacy_bsn');
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION
        privacy.bsn_eq(privacy.bsn, privacy.bsn), privacy.bsn_ne(privacy.bsn, privacy.bsn),
        privacy.bsn_lt(privacy.bsn, privacy.bsn), privacy.bsn_le(privacy.bsn, privacy.bsn),
        privacy.bsn_gt(privacy.bsn, privacy.bsn), privacy.bsn_ge(privacy.bsn, privacy.bsn),
        privacy.bsn_cmp(privacy.bsn, privacy.bsn), privacy.bsn_hash(privacy.bsn),
        privacy.bsn_hash_extended(privacy.bsn, bigint),
        privacy.bsn_smaller(privacy.bsn, privacy.bsn), privacy.bsn_larger(privacy.bsn, privacy.bsn),
        privacy.min(privacy.bsn), privacy.max(privacy.bsn) TO %I', r);
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.grant_bsn_role() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_bsn_role() IS
'Grant the BSN comparison functions to the role named by privacy.bsn_role (after changing that setting)';

SELECT @extschema@.grant_bsn_role();

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

-------------------------------------------------------------------------------
-- Data-subject rights: purposes and consent, recipients and disclosures,
-- the notification outbox, requests with their deadlines, the export of a
-- subject's data, and the record of processing (AVG art. 30)
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.purpose (
    name          text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    description   text        NOT NULL,
    legal_basis   text        NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation',
                                                             'vital_interest', 'public_task',
                                                             'legitimate_interest')),
    basis_detail  text,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.purpose IS
'Purposes of processing with their legal basis (AVG art. 6(1)): consent, contract, legal_obligation, vital_interest, public_task, legitimate_interest';

CREATE TABLE @extschema@.table_purpose (
    relid    regclass NOT NULL REFERENCES @extschema@.registered_table ON DELETE CASCADE,
    purpose  text     NOT NULL REFERENCES @extschema@.purpose ON UPDATE CASCADE,
    PRIMARY KEY (relid, purpose)
);
COMMENT ON TABLE @extschema@.table_purpose IS
'For which purposes the data of a registered table is processed';

CREATE TABLE @extschema@.consent (
    subject_type  text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key   text        NOT NULL,
    purpose       text        NOT NULL REFERENCES @extschema@.purpose ON UPDATE CASCADE,
    given_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    withdrawn_at  timestamptz,
    recorded_by   name        NOT NULL,
    PRIMARY KEY (subject_type, subject_key, purpose, given_at),
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= given_at)
);
COMMENT ON TABLE @extschema@.consent IS
'Consent given, and withdrawn, per subject and purpose';

CREATE TABLE @extschema@.recipient (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    kind          text NOT NULL CHECK (kind IN ('authority', 'pension_fund', 'client', 'processor',
                                                'sub_processor', 'other')),
    country       text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    safeguard     text NOT NULL CHECK (safeguard IN ('eu_eea', 'adequacy', 'standard_contractual_clauses',
                                                     'binding_corporate_rules', 'derogation')),
    processor_of  text REFERENCES @extschema@.recipient ON UPDATE CASCADE,
    contact       text,
    description   text,
    CHECK ((kind = 'sub_processor') = (processor_of IS NOT NULL))
);
COMMENT ON TABLE @extschema@.recipient IS
'Recipients of personal data (AVG art. 19, 30(1)(d)): authorities, pension funds, client companies, processors and sub-processors, with their country and the safeguard of a transfer (art. 44-49)';

CREATE SEQUENCE @extschema@.disclosure_seq;
CREATE TABLE @extschema@.disclosure (
    id            bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.disclosure_seq'),
    recipient     text        NOT NULL REFERENCES @extschema@.recipient ON UPDATE CASCADE,
    subject_type  text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key   text        NOT NULL,
    categories    text[]      NOT NULL,
    disclosed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    recorded_by   name        NOT NULL,
    note          text
);
CREATE INDEX disclosure_subject_idx ON @extschema@.disclosure (subject_type, subject_key);
COMMENT ON TABLE @extschema@.disclosure IS
'Disclosures of a subject''s data to a recipient: which categories, when';

CREATE SEQUENCE @extschema@.notification_seq;
CREATE TABLE @extschema@.notification (
    id            bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.notification_seq'),
    recipient     text        NOT NULL REFERENCES @extschema@.recipient ON UPDATE CASCADE,
    subject_type  text        NOT NULL,
    subject_key   text        NOT NULL,
    event         text        NOT NULL CHECK (event IN ('erasure', 'rectification', 'restriction')),
    details       jsonb,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    delivered_at  timestamptz,
    delivered_by  name
);
CREATE INDEX notification_pending_idx ON @extschema@.notification (id) WHERE delivered_at IS NULL;
COMMENT ON TABLE @extschema@.notification IS
'Outbox of notifications to recipients about an erasure, rectification or restriction (AVG art. 19); a delivery worker LISTENs on privacy_notification';

CREATE SEQUENCE @extschema@.request_seq;
CREATE TABLE @extschema@.request (
    id              bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.request_seq'),
    subject_type    text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key     text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('access', 'portability', 'erasure', 'rectification',
                                                         'restriction', 'objection')),
    received_on     date        NOT NULL,
    deadline        date        NOT NULL,
    extended_reason text,
    status          text        NOT NULL DEFAULT 'open'
                                CHECK (status IN ('open', 'fulfilled', 'refused', 'withdrawn')),
    result          jsonb,
    closed_at       timestamptz,
    registered_by   name        NOT NULL,
    note            text,
    CHECK ((status = 'open') = (closed_at IS NULL))
);
COMMENT ON TABLE @extschema@.request IS
'Data-subject requests with their deadline: one month from receipt, once extendable by two months with a reason (AVG art. 12(3))';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.purpose', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.table_purpose', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recipient', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.disclosure', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.disclosure_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.notification', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.notification_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.request', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.request_seq', '');

REVOKE ALL ON @extschema@.purpose, @extschema@.table_purpose, @extschema@.consent,
              @extschema@.recipient, @extschema@.disclosure, @extschema@.notification,
              @extschema@.request FROM PUBLIC;

-- The internal helpers of the rights functions below (_subject_key,
-- _active_holds, _calling_role_is_officer, _notify_recipients and the
-- erasure's) have no SET clause: only the extension's security definer
-- functions call them (EXECUTE is revoked from PUBLIC), and those pin
-- search_path = pg_catalog, @extschema@, pg_temp already; a SET clause
-- would switch the setting at every call of an erasure.

-- A subject key as the catalogs store it: the text of the typed key, so
-- that '017' and '17' name the same candidate.
CREATE FUNCTION @extschema@._subject_key(subject_type text, subject_key text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    keytype regtype;
    k text;
BEGIN
    SELECT privacy._column_type(s.root_table, s.key_column) INTO keytype
      FROM privacy.subject_type s WHERE s.name = _subject_key.subject_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subject type "%" does not exist', subject_type USING ERRCODE = 'undefined_object';
    END IF;
    IF subject_key IS NULL THEN
        RAISE EXCEPTION 'a subject key is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    BEGIN
        SELECT q.k INTO k
          FROM privacy._query(format('SELECT ($1::%s)::text', privacy._base_type(keytype)), subject_key) AS q(k text);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'invalid key for subject type "%"', subject_type
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A key of this subject type is a %s.', keytype);
    END;
    RETURN k;
END
$$;
COMMENT ON FUNCTION @extschema@._subject_key(text, text) IS
'A subject key in its canonical text form, checked against the type of the subject type''s key';

-- SQL that selects the rows of one subject in a registered table (as r),
-- with the key as $1 (text): along the key column, or up the foreign-key
-- path with a subquery that can use the indexes of each step.
CREATE FUNCTION @extschema@._subject_where(tbl regclass, subject_type text, alias text DEFAULT 'r')
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    pth record;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type, alias);
    IF pth.root_table IS NULL THEN
        RETURN NULL;
    END IF;
    IF pth.key_column IS NOT NULL THEN
        RETURN format('%I.%I = $1::%s', alias, pth.key_column, pth.keytype);
    END IF;
    RETURN format('EXISTS (SELECT 1 FROM %s WHERE %s AND s%s.%I = $1::%s)',
                  pth.joins, pth.link, pth.steps, pth.root_key, pth.keytype);
END
$$;
COMMENT ON FUNCTION @extschema@._subject_where(regclass, text, text) IS
'Condition on the alias (r) selecting one subject''s rows of a registered table, the key as $1';

-- Purposes and consent

CREATE FUNCTION @extschema@.define_purpose(name text, description text, legal_basis text,
                                           basis_detail text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF legal_basis IS NULL OR legal_basis NOT IN ('consent', 'contract', 'legal_obligation', 'vital_interest',
                                                  'public_task', 'legitimate_interest') THEN
        RAISE EXCEPTION 'invalid legal basis "%"', legal_basis
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use consent, contract, legal_obligation, vital_interest, public_task or legitimate_interest (AVG art. 6(1)).';
    END IF;
    BEGIN
        INSERT INTO privacy.purpose AS p (name, description, legal_basis, basis_detail)
        VALUES (define_purpose.name, description, legal_basis, basis_detail)
        ON CONFLICT ON CONSTRAINT purpose_pkey DO UPDATE
           SET description = excluded.description, legal_basis = excluded.legal_basis,
               basis_detail = excluded.basis_detail;
    EXCEPTION
        WHEN check_violation THEN
            RAISE EXCEPTION 'invalid purpose name "%"', define_purpose.name USING ERRCODE = 'invalid_name';
        WHEN not_null_violation THEN
            RAISE EXCEPTION 'a purpose needs a description' USING ERRCODE = 'invalid_parameter_value';
    END;
    PERFORM privacy.audit_append('rights.purpose', define_purpose.name, NULL, NULL,
                                 jsonb_build_object('legal_basis', legal_basis));
END
$$;
COMMENT ON FUNCTION @extschema@.define_purpose(text, text, text, text) IS
'Create or change a purpose of processing with its legal basis; audited';

CREATE FUNCTION @extschema@.bind_purpose(tbl regclass, purpose text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF NOT EXISTS (SELECT FROM privacy.registered_table r WHERE r.relid = tbl) THEN
        RAISE EXCEPTION 'table "%" is not registered', tbl USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.purpose p WHERE p.name = bind_purpose.purpose) THEN
        RAISE EXCEPTION 'purpose "%" does not exist', purpose USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO privacy.table_purpose VALUES (tbl, purpose) ON CONFLICT DO NOTHING;
    PERFORM privacy.audit_append('rights.purpose.bind', tbl::text, NULL, NULL,
                                 jsonb_build_object('purpose', purpose));
END
$$;
COMMENT ON FUNCTION @extschema@.bind_purpose(regclass, text) IS
'Record that a registered table''s data is processed for a purpose; audited';

CREATE FUNCTION @extschema@.record_consent(subject_type text, subject_key text, purpose text,
                                           given boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    basis text;
BEGIN
    SELECT p.legal_basis INTO basis FROM privacy.purpose p WHERE p.name = record_consent.purpose;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'purpose "%" does not exist', purpose USING ERRCODE = 'undefined_object';
    END IF;
    IF basis <> 'consent' THEN
        RAISE EXCEPTION 'purpose "%" rests on %, not on consent', purpose, basis
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF given THEN
        IF NOT EXISTS (SELECT FROM privacy.consent c WHERE c.subject_type = record_consent.subject_type
                          AND c.subject_key = k AND c.purpose = record_consent.purpose
                          AND c.withdrawn_at IS NULL) THEN
            INSERT INTO privacy.consent (subject_type, subject_key, purpose, recorded_by)
            VALUES (subject_type, k, purpose, privacy._calling_role()::name);
        END IF;
    ELSE
        UPDATE privacy.consent c SET withdrawn_at = pg_catalog.now()
         WHERE c.subject_type = record_consent.subject_type AND c.subject_key = k
           AND c.purpose = record_consent.purpose AND c.withdrawn_at IS NULL;
    END IF;
    PERFORM privacy.audit_append(CASE WHEN given THEN 'rights.consent' ELSE 'rights.consent.withdraw' END,
                                 purpose, subject_type, k, NULL);
END
$$;
COMMENT ON FUNCTION @extschema@.record_consent(text, text, text, boolean) IS
'Record consent given (or, with given => false, withdrawn) by a subject for a purpose; audited';

-- Recipients, disclosures and notifications

CREATE FUNCTION @extschema@.define_recipient(name text, kind text, country text, safeguard text,
                                             processor_of text DEFAULT NULL, contact text DEFAULT NULL,
                                             description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF country IN ('AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU',
                   'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
                   'IS', 'LI', 'NO') <> (safeguard = 'eu_eea') THEN
        RAISE EXCEPTION 'safeguard "%" does not fit country "%"', safeguard, country
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Recipients in the EU/EEA have safeguard eu_eea; others need adequacy, standard_contractual_clauses, binding_corporate_rules or derogation.';
    END IF;
    BEGIN
        INSERT INTO privacy.recipient AS r (name, kind, country, safeguard, processor_of, contact, description)
        VALUES (define_recipient.name, kind, country, safeguard, processor_of, contact, description)
        ON CONFLICT ON CONSTRAINT recipient_pkey DO UPDATE
           SET kind = excluded.kind, country = excluded.country, safeguard = excluded.safeguard,
               processor_of = excluded.processor_of, contact = excluded.contact,
               description = excluded.description;
    EXCEPTION
        WHEN check_violation THEN
            RAISE EXCEPTION 'invalid recipient "%"', define_recipient.name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A recipient has a lower-case name, a kind (authority, pension_fund, client, processor, sub_processor, other), a two-letter country code and a safeguard; a sub-processor names its processor.';
        WHEN foreign_key_violation THEN
            RAISE EXCEPTION 'processor "%" does not exist', processor_of USING ERRCODE = 'undefined_object';
    END;
    PERFORM privacy.audit_append('rights.recipient', define_recipient.name, NULL, NULL,
        jsonb_build_object('kind', kind, 'country', country, 'safeguard', safeguard));
END
$$;
COMMENT ON FUNCTION @extschema@.define_recipient(text, text, text, text, text, text, text) IS
'Create or change a recipient with its country and transfer safeguard; audited';

CREATE FUNCTION @extschema@.record_disclosure(recipient text, subject_type text, subject_key text,
                                              categories text[], disclosed_at timestamptz DEFAULT pg_catalog.now(),
                                              note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM privacy.recipient r WHERE r.name = record_disclosure.recipient) THEN
        RAISE EXCEPTION 'recipient "%" does not exist', recipient USING ERRCODE = 'undefined_object';
    END IF;
    IF categories IS NULL OR cardinality(categories) = 0 THEN
        RAISE EXCEPTION 'a disclosure names the categories of data disclosed'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO privacy.disclosure (recipient, subject_type, subject_key, categories, disclosed_at,
                                    recorded_by, note)
    VALUES (recipient, subject_type, k, categories, disclosed_at, privacy._calling_role()::name, note)
    RETURNING disclosure.id INTO id;
    PERFORM privacy.audit_append('rights.disclosure', recipient, subject_type, k,
                                 jsonb_build_object('disclosure', id, 'categories', categories));
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_disclosure(text, text, text, text[], timestamptz, text) IS
'Record that a subject''s data of some categories was disclosed to a recipient; audited';

-- One notification per recipient that received the subject's data, and a
-- NOTIFY for the delivery worker.
CREATE FUNCTION @extschema@._notify_recipients(subject_type text, subject_key text, event text, details jsonb)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO privacy.notification (recipient, subject_type, subject_key, event, details)
    SELECT DISTINCT d.recipient, d.subject_type, d.subject_key, event, details
      FROM privacy.disclosure d
     WHERE d.subject_type = _notify_recipients.subject_type AND d.subject_key = _notify_recipients.subject_key;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('privacy_notification', jsonb_build_object('event', event, 'notifications', n)::text);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@._notify_recipients(text, text, text, jsonb) IS
'Queue a notification about a subject for every recipient that received their data';

CREATE FUNCTION @extschema@.mark_delivered(notification_id bigint)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    UPDATE privacy.notification SET delivered_at = pg_catalog.now(), delivered_by = privacy._calling_role()::name
     WHERE id = notification_id AND delivered_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no undelivered notification with id %', notification_id
            USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.mark_delivered(bigint) IS
'Mark a notification to a recipient as delivered';

CREATE VIEW @extschema@.pending_notifications AS
SELECT n.id, n.recipient, r.kind, r.contact, n.subject_type, n.subject_key, n.event, n.details, n.created_at
  FROM @extschema@.notification n JOIN @extschema@.recipient r ON r.name = n.recipient
 WHERE n.delivered_at IS NULL;
COMMENT ON VIEW @extschema@.pending_notifications IS
'Notifications to recipients not delivered yet';

-- Requests

CREATE FUNCTION @extschema@.register_request(subject_type text, subject_key text, kind text,
                                             received_on date DEFAULT CURRENT_DATE, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    id bigint;
BEGIN
    IF kind IS NULL OR kind NOT IN ('access', 'portability', 'erasure', 'rectification', 'restriction', 'objection') THEN
        RAISE EXCEPTION 'invalid request kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use access, portability, erasure, rectification, restriction or objection.';
    END IF;
    IF received_on IS NULL OR received_on > CURRENT_DATE THEN
        RAISE EXCEPTION 'a request cannot be received in the future' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO privacy.request (subject_type, subject_key, kind, received_on, deadline, registered_by, note)
    VALUES (subject_type, k, kind, received_on, (received_on + interval '1 month')::date,
            privacy._calling_role()::name, note)
    RETURNING request.id INTO id;
    PERFORM privacy.audit_append('rights.request', kind, subject_type, k, jsonb_build_object('request', id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.register_request(text, text, text, date, text) IS
'Register a data-subject request; its deadline is one month after receipt (AVG art. 12(3)); audited';

CREATE FUNCTION @extschema@.extend_request(request_id bigint, reason text)
RETURNS date
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    q privacy.request;
BEGIN
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'extending a request needs a reason' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The subject must be told why within the first month (AVG art. 12(3)).';
    END IF;
    SELECT * INTO q FROM privacy.request r WHERE r.id = request_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'request % does not exist', request_id USING ERRCODE = 'undefined_object';
    END IF;
    IF q.status <> 'open' THEN
        RAISE EXCEPTION 'request % is closed', request_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF q.extended_reason IS NOT NULL THEN
        RAISE EXCEPTION 'request % was already extended', request_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A request can be extended once, by two months.';
    END IF;
    IF CURRENT_DATE > q.deadline THEN
        RAISE EXCEPTION 'request % is past its deadline and can no longer be extended', request_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE privacy.request r SET deadline = (q.received_on + interval '3 months')::date, extended_reason = reason
     WHERE r.id = request_id RETURNING deadline INTO q.deadline;
    PERFORM privacy.audit_append('rights.request.extend', q.kind, q.subject_type, q.subject_key,
                                 jsonb_build_object('request', request_id, 'deadline', q.deadline));
    RETURN q.deadline;
END
$$;
COMMENT ON FUNCTION @extschema@.extend_request(bigint, text) IS
'Extend a request''s deadline once, to three months after receipt, with the reason; audited';

CREATE FUNCTION @extschema@.close_request(request_id bigint, status text, result jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    q privacy.request;
BEGIN
    IF status IS NULL OR status NOT IN ('fulfilled', 'refused', 'withdrawn') THEN
        RAISE EXCEPTION 'invalid request status "%"', status
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use fulfilled, refused or withdrawn.';
    END IF;
    UPDATE privacy.request r
       SET status = close_request.status, result = close_request.result, closed_at = pg_catalog.now()
     WHERE r.id = request_id AND r.status = 'open'
    RETURNING * INTO q;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no open request with id %', request_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('rights.request.close', q.kind, q.subject_type, q.subject_key,
                                 jsonb_build_object('request', request_id, 'status', status));
END
$$;
COMMENT ON FUNCTION @extschema@.close_request(bigint, text, jsonb) IS
'Close a request as fulfilled, refused or withdrawn, with its result; audited';

CREATE VIEW @extschema@.requests_due AS
SELECT q.id, q.subject_type, q.subject_key, q.kind, q.received_on, q.deadline,
       q.extended_reason IS NOT NULL AS extended,
       q.deadline - CURRENT_DATE AS days_left,
       q.deadline < CURRENT_DATE AS overdue
  FROM @extschema@.request q
 WHERE q.status = 'open' AND q.deadline <= CURRENT_DATE + 7;
COMMENT ON VIEW @extschema@.requests_due IS
'Open requests that are overdue or due within a week';

-- Export

CREATE FUNCTION @extschema@.export_subject(subject_type text, subject_key text,
                                           portability boolean DEFAULT false,
                                           request_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    st privacy.subject_type;
    k text := privacy._subject_key(subject_type, subject_key);
    t record;
    parts text[] := '{}';
    sql text;
    data jsonb := '{}';
    counts jsonb := '{}';
    doc jsonb;
    keytype regtype;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to export a data subject'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only members of the privacy officer role may export a subject''s data.';
    END IF;
    SELECT * INTO st FROM privacy.subject_type s WHERE s.name = export_subject.subject_type;
    keytype := privacy._column_type(st.root_table, st.key_column);
    -- one statement gathers every table's rows (one plan, not one per table)
    sql := CASE WHEN NOT portability THEN privacy._sql_cache_get('export:' || st.name) END;
    FOR t IN SELECT ts.relid, privacy._subject_where(ts.relid, st.name) AS cond,
                    (SELECT array_agg(DISTINCT p.legal_basis) FROM privacy.table_purpose tp
                       JOIN privacy.purpose p ON p.name = tp.purpose WHERE tp.relid = ts.relid) AS bases
               FROM privacy.table_subject ts WHERE ts.subject_type = st.name AND sql IS NULL
              ORDER BY ts.relid::text LOOP
        -- portability (art. 20): data processed on consent (not withdrawn) or contract
        IF portability AND NOT (
               'contract' = ANY (coalesce(t.bases, '{}'))
               OR EXISTS (SELECT FROM privacy.table_purpose tp JOIN privacy.purpose p ON p.name = tp.purpose
                            JOIN privacy.consent c ON c.purpose = p.name
                           WHERE tp.relid = t.relid AND p.legal_basis = 'consent'
                             AND c.subject_type = st.name AND c.subject_key = k AND c.withdrawn_at IS NULL)) THEN
            CONTINUE;
        END IF;
        parts := parts || format('jsonb_build_object(%L, (SELECT coalesce(jsonb_agg(to_jsonb(r)), ''[]'') FROM %s%s r WHERE %s))',
                                 t.relid::text, privacy._only(t.relid), t.relid, t.cond);
    END LOOP;
    IF sql IS NULL THEN
        sql := CASE WHEN cardinality(parts) > 0 THEN 'SELECT ' || array_to_string(parts, ' || ')
                    ELSE 'SELECT ''{}''::jsonb' END;
        IF NOT portability THEN
            PERFORM privacy._sql_cache_put('export:' || st.name, sql);
        END IF;
    END IF;
    SELECT q.d INTO data FROM privacy._query(sql, k) AS q(d jsonb);
    SELECT coalesce(jsonb_object_agg(x.key, jsonb_array_length(x.value)), '{}') INTO counts
      FROM jsonb_each(data) x;
    doc := jsonb_build_object(
        'subject', jsonb_build_object('type', st.name, 'key', k, 'description', st.description),
        'generated_at', pg_catalog.now(),
        'kind', CASE WHEN portability THEN 'portability (AVG art. 20)' ELSE 'access (AVG art. 15)' END,
        'data', data,
        'purposes', (SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
                         'purpose', p.name, 'description', p.description, 'legal_basis', p.legal_basis,
                         'basis_detail', p.basis_detail)), '[]')
                       FROM privacy.table_subject ts JOIN privacy.table_purpose tp ON tp.relid = ts.relid
                       JOIN privacy.purpose p ON p.name = tp.purpose
                      WHERE ts.subject_type = st.name),
        'consents', (SELECT coalesce(jsonb_agg(jsonb_build_object('purpose', c.purpose, 'given_at', c.given_at,
                                                                  'withdrawn_at', c.withdrawn_at)
                                               ORDER BY c.given_at), '[]')
                       FROM privacy.consent c WHERE c.subject_type = st.name AND c.subject_key = k),
        'categories', (SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
                           'table', cp.relid::text, 'column', cp.column_name, 'class', cp.class)), '[]')
                         FROM privacy.column_policy cp JOIN privacy.table_subject ts ON ts.relid = cp.relid
                        WHERE ts.subject_type = st.name AND cp.class IS NOT NULL),
        'recipients', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'recipient', r.name, 'kind', r.kind, 'country', r.country,
                           'safeguard', r.safeguard, 'categories', d.categories,
                           'disclosed_at', d.disclosed_at) ORDER BY d.disclosed_at), '[]')
                         FROM privacy.disclosure d JOIN privacy.recipient r ON r.name = d.recipient
                        WHERE d.subject_type = st.name AND d.subject_key = k),
        'retention', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'table', rr.tbl::text, 'document_type', rr.document_type,
                          'retention', rr.retention::text, 'rounding', rr.rounding,
                          'clock', rr.clock, 'minimum', rr.min_keep::text,
                          'legal_basis', rr.legal_basis, 'source', rr.source) ORDER BY rr.rule), '[]')
                        FROM privacy.retention_rules rr JOIN privacy.table_subject ts ON ts.relid = rr.tbl
                       WHERE ts.subject_type = st.name),
        'legal_holds', cardinality(privacy._active_holds(st.name, k, true)),
        'source', st.source,
        'rights', jsonb_build_array(
            'access to your data and a copy of it (AVG art. 15)',
            'rectification of data that is wrong or incomplete (art. 16)',
            'erasure, where no legal duty to keep the data applies (art. 17)',
            'restriction of processing (art. 18)',
            'data portability for data processed on consent or contract (art. 20)',
            'objection to processing based on legitimate interest (art. 21)',
            'withdrawal of consent at any time, without affecting earlier processing (art. 7(3))',
            'a complaint to the Autoriteit Persoonsgegevens, www.autoriteitpersoonsgegevens.nl (art. 77)'));
    PERFORM privacy.audit_append(CASE WHEN portability THEN 'rights.export.portability' ELSE 'rights.export' END,
                                 st.root_table::text, st.name,
                                 CASE WHEN keytype = 'privacy.bsn'::regtype THEN NULL ELSE k END,
                                 jsonb_build_object('rows', counts, 'request', request_id));
    IF request_id IS NOT NULL THEN
        PERFORM privacy._close_subject_request(request_id, st.name, k,
                                               CASE WHEN portability THEN 'portability' ELSE 'access' END,
                                               jsonb_build_object('exported_rows', counts));
    END IF;
    RETURN doc;
END
$$;
COMMENT ON FUNCTION @extschema@.export_subject(text, text, boolean, bigint) IS
'A subject''s data from every registered table as JSON, with purposes, categories, recipients, retention, source and rights (AVG art. 15; art. 20 with portability); audited; closes the given request';

CREATE FUNCTION @extschema@.export_subject_encrypted(subject_type text, subject_key text, passphrase text,
                                                     portability boolean DEFAULT false,
                                                     request_id bigint DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    nsp name;
    out bytea;
BEGIN
    IF passphrase IS NULL OR length(passphrase) < 12 THEN
        RAISE EXCEPTION 'the passphrase must be at least 12 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT n.nspname INTO nsp FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgcrypto';
    EXECUTE format('SELECT %I.pgp_sym_encrypt($1, $2, ''cipher-algo=aes256, compress-algo=2'')', nsp)
       INTO out
      USING privacy.export_subject(subject_type, subject_key, portability, request_id)::text, passphrase;
    RETURN out;
END
$$;
COMMENT ON FUNCTION @extschema@.export_subject_encrypted(text, text, text, boolean, bigint) IS
'The export of a subject encrypted with OpenPGP (AES-256, a passphrase) for delivery; decrypt with pgp_sym_decrypt or gpg';

-- The record of processing

CREATE FUNCTION @extschema@.processing_register()
RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
SELECT jsonb_build_object(
    'controller', current_database(),
    'generated_at', now(),
    'purposes', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'purpose', p.name, 'description', p.description, 'legal_basis', p.legal_basis,
                     'basis_detail', p.basis_detail,
                     'tables', (SELECT coalesce(jsonb_agg(tp.relid::text ORDER BY tp.relid::text), '[]')
                                  FROM privacy.table_purpose tp WHERE tp.purpose = p.name),
                     'subjects', (SELECT coalesce(jsonb_agg(DISTINCT ts.subject_type), '[]')
                                    FROM privacy.table_purpose tp JOIN privacy.table_subject ts ON ts.relid = tp.relid
                                   WHERE tp.purpose = p.name)) ORDER BY p.name), '[]')
                   FROM privacy.purpose p),
    'subject_categories', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'subject_type', s.name, 'description', s.description, 'source', s.source,
                               'tables', (SELECT coalesce(jsonb_agg(ts.relid::text ORDER BY ts.relid::text), '[]')
                                            FROM privacy.table_subject ts WHERE ts.subject_type = s.name))
                               ORDER BY s.name), '[]')
                             FROM privacy.subject_type s),
    'data_categories', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                            'class', c.name, 'description', c.description,
                            'columns', (SELECT coalesce(jsonb_agg(format('%s.%I', cp.relid, cp.column_name)
                                                                   ORDER BY 1), '[]')
                                          FROM privacy.column_policy cp WHERE cp.class = c.name))
                            ORDER BY c.name), '[]')
                          FROM privacy.column_class c),
    'recipients', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'recipient', r.name, 'kind', r.kind, 'country', r.country, 'safeguard', r.safeguard,
                       'processor_of', r.processor_of, 'description', r.description) ORDER BY r.name), '[]')
                     FROM privacy.recipient r),
    'transfers_outside_eea', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                  'recipient', r.name, 'country', r.country, 'safeguard', r.safeguard)
                                  ORDER BY r.name), '[]')
                                FROM privacy.recipient r WHERE r.safeguard <> 'eu_eea'),
    'retention', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'document_type', d.name, 'retention', d.retention::text, 'clock', d.clock,
                      'rounding', d.rounding, 'minimum', d.min_keep::text, 'action', d.action,
                      'legal_basis', d.legal_basis, 'source', d.source) ORDER BY d.name), '[]')
                    FROM privacy.document_type d),
    'security_measures', jsonb_build_array(
        'BSNs stored in the bsn type: validated, masked for roles outside ' || current_setting('privacy.bsn_role') ||
            ', not searchable or sortable by them, changes audited',
        'row-level authorization per branch on every registered table (' ||
            (SELECT count(*) FROM privacy.registered_table WHERE scope_kind IS NOT NULL) || ' tables)',
        'column classes masked inside the database engine (' ||
            (SELECT count(*) FROM privacy.column_policy WHERE class IS NOT NULL) || ' columns)',
        'optional and forbidden fields enforced by the database (' ||
            (SELECT count(*) FROM privacy.column_policy WHERE state <> 'on') || ' fields)',
        'retention periods enforced by a scheduled purge (' ||
            (SELECT count(*) FROM privacy.retention_rule) || ' rules)',
        'a tamper-evident, hash-chained audit trail of access to and changes of personal data',
        'no BSN in server logs or error messages'));
$$;
COMMENT ON FUNCTION @extschema@.processing_register() IS
'The record of processing activities (AVG art. 30) generated from the catalogs, as JSON';

CREATE FUNCTION @extschema@.processing_register_markdown()
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    reg jsonb := privacy.processing_register();
    md text;
    e jsonb;
BEGIN
    md := format(E'# Record of processing activities (AVG art. 30)\n\nController: %s  \nGenerated: %s\n\n## Purposes\n\n| purpose | legal basis | subjects | tables |\n|---|---|---|---|\n',
                 reg ->> 'controller', to_char((reg ->> 'generated_at')::timestamptz, 'YYYY-MM-DD HH24:MI'));
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'purposes') LOOP
        md := md || format(E'| %s: %s | %s%s | %s | %s |\n', e ->> 'purpose', e ->> 'description',
                           e ->> 'legal_basis', coalesce(' (' || (e ->> 'basis_detail') || ')', ''),
                           (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'subjects') x),
                           (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'tables') x));
    END LOOP;
    md := md || E'\n## Categories of subjects\n\n| subject | source | tables |\n|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'subject_categories') LOOP
        md := md || format(E'| %s | %s | %s |\n', coalesce(e ->> 'description', e ->> 'subject_type'),
                           e ->> 'source',
                           (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'tables') x));
    END LOOP;
    md := md || E'\n## Categories of data\n\n| class | columns |\n|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'data_categories') LOOP
        md := md || format(E'| %s | %s |\n', coalesce(e ->> 'description', e ->> 'class'),
                           coalesce((SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'columns') x), '-'));
    END LOOP;
    md := md || E'\n## Recipients\n\n| recipient | kind | country | safeguard |\n|---|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'recipients') LOOP
        md := md || format(E'| %s | %s | %s | %s |\n', e ->> 'recipient', e ->> 'kind', e ->> 'country',
                           e ->> 'safeguard');
    END LOOP;
    md := md || E'\n## Retention periods\n\n| document | period | clock | minimum | source |\n|---|---|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'retention') LOOP
        md := md || format(E'| %s | %s (%s) | %s | %s | %s |\n', e ->> 'document_type', e ->> 'retention',
                           e ->> 'rounding', e ->> 'clock', coalesce(e ->> 'minimum', '-'),
                           coalesce(e ->> 'source', '-'));
    END LOOP;
    md := md || E'\n## Security measures\n\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'security_measures') LOOP
        md := md || format(E'- %s\n', e #>> '{}');
    END LOOP;
    RETURN md;
END
$$;
COMMENT ON FUNCTION @extschema@.processing_register_markdown() IS
'The record of processing activities (AVG art. 30) as a Markdown document';

-- (PL/pgSQL without a SET clause, its names qualified: a SQL function with
-- a SET clause is planned again at every call.)
CREATE FUNCTION @extschema@._calling_role_is_officer()
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN pg_catalog.pg_has_role(@extschema@._calling_role(),
                                  coalesce(nullif(pg_catalog.current_setting('privacy.officer_role', true), ''),
                                           'privacy_officer'),
                                  'USAGE')
           OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) @extschema@._calling_role());
END
$$;
COMMENT ON FUNCTION @extschema@._calling_role_is_officer() IS
'Whether the caller is a member of privacy.officer_role (or a superuser)';

REVOKE EXECUTE ON FUNCTION
    @extschema@._subject_key(text, text),
    @extschema@._calling_role_is_officer(),
    @extschema@._subject_where(regclass, text, text),
    @extschema@.define_purpose(text, text, text, text),
    @extschema@.bind_purpose(regclass, text),
    @extschema@.record_consent(text, text, text, boolean),
    @extschema@.define_recipient(text, text, text, text, text, text, text),
    @extschema@.record_disclosure(text, text, text, text[], timestamptz, text),
    @extschema@._notify_recipients(text, text, text, jsonb),
    @extschema@.mark_delivered(bigint),
    @extschema@.register_request(text, text, text, date, text),
    @extschema@.extend_request(bigint, text),
    @extschema@.close_request(bigint, text, jsonb),
    @extschema@.export_subject(text, text, boolean, bigint),
    @extschema@.export_subject_encrypted(text, text, text, boolean, bigint),
    @extschema@.processing_register(),
    @extschema@.processing_register_markdown()
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT SELECT ON privacy.purpose, privacy.table_purpose, privacy.consent, privacy.recipient, '
        'privacy.disclosure, privacy.notification, privacy.request, privacy.pending_notifications, '
        'privacy.requests_due TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.define_purpose(text, text, text, text), '
        'privacy.bind_purpose(regclass, text), '
        'privacy.define_recipient(text, text, text, text, text, text, text) TO %I', admin);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.record_consent(text, text, text, boolean), '
        'privacy.record_disclosure(text, text, text, text[], timestamptz, text), '
        'privacy.mark_delivered(bigint), privacy.register_request(text, text, text, date, text), '
        'privacy.extend_request(bigint, text), privacy.close_request(bigint, text, jsonb), '
        'privacy.processing_register(), privacy.processing_register_markdown() TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.export_subject(text, text, boolean, bigint), '
        'privacy.export_subject_encrypted(text, text, text, boolean, bigint) TO %I', officer);
END
$$;

-- Restriction of processing (AVG art. 18)

CREATE SEQUENCE @extschema@.restriction_seq;
CREATE TABLE @extschema@.restriction (
    id               bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.restriction_seq'),
    subject_type     text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key      text        NOT NULL,
    reason           text        NOT NULL CHECK (reason <> ''),
    restricted_until date,
    created_by       name        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    lifted_by        name,
    lifted_at        timestamptz,
    CHECK ((lifted_by IS NULL) = (lifted_at IS NULL))
);
CREATE INDEX restriction_subject_idx ON @extschema@.restriction (subject_type, subject_key)
    WHERE lifted_at IS NULL;
COMMENT ON TABLE @extschema@.restriction IS
'Subjects whose processing is restricted: their rows are hidden from everyone but the privacy officer until lifted or until restricted_until';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.restriction', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.restriction_seq', '');
REVOKE ALL ON @extschema@.restriction FROM PUBLIC;
CREATE TRIGGER restriction_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.restriction FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
ALTER TABLE @extschema@.restriction ENABLE ALWAYS TRIGGER restriction_changed;

CREATE FUNCTION @extschema@.restriction_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'privacy_restriction_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.restriction_support(internal) IS
'Planner support: folds restriction_none() into a constant for the current role';

CREATE FUNCTION @extschema@.restriction_none(subject_type text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_restriction_none'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SUPPORT @extschema@.restriction_support;
COMMENT ON FUNCTION @extschema@.restriction_none(text) IS
'Whether no subject of this type is hidden from the current role (the officer sees restricted subjects)';

CREATE FUNCTION @extschema@.restricted_values(subject_type text, tbl regclass, sample anyelement)
RETURNS anyarray
AS 'MODULE_PATHNAME', 'privacy_restricted_values'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.restricted_values(text, regclass, anyelement) IS
'Values of a table''s link to its subject that belong to subjects restricted for the current role';

-- The link values of restricted subjects in one table: its key column's
-- values are the keys; along a foreign-key path, the values of the first
-- foreign key that lead to those keys.
CREATE FUNCTION @extschema@._restricted_links(subject_type text, tbl regclass, keys text[])
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    pth record;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type);
    IF pth.root_table IS NULL THEN
        RETURN;
    END IF;
    IF pth.key_column IS NOT NULL THEN
        RETURN QUERY SELECT unnest(keys);
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format('SELECT DISTINCT s1.%I::text FROM %s WHERE s%s.%I = ANY ($1::%s[])',
                                pth.ref_columns[1], pth.joins, pth.steps, pth.root_key, pth.keytype)
        USING keys;
END
$$;
COMMENT ON FUNCTION @extschema@._restricted_links(text, regclass, text[]) IS
'Values of a table''s link column that lead to the given subjects';

-- The restriction policy of a registered table: a restrictive policy that
-- hides rows of restricted subjects, for every subject type of the table.
CREATE FUNCTION @extschema@._apply_restriction_policy(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    ts record;
    expr text := '';
    linkcol text;
    linktype regtype;
BEGIN
    FOR ts IN SELECT t.*, s.root_table, s.key_column AS root_key
                FROM privacy.table_subject t JOIN privacy.subject_type s ON s.name = t.subject_type
               WHERE t.relid = tbl ORDER BY t.subject_type LOOP
        IF ts.key_column IS NOT NULL THEN
            linkcol := ts.key_column;
        ELSE
            IF jsonb_array_length(ts.via_columns -> 0 -> 'columns') <> 1 THEN
                RAISE EXCEPTION 'cannot restrict subjects of table "%": its foreign key to "%" has several columns',
                                tbl, ts.via[1]
                    USING ERRCODE = 'feature_not_supported',
                          HINT = 'Register the table with a key column instead.';
            END IF;
            linkcol := ts.via_columns -> 0 -> 'columns' ->> 0;
        END IF;
        linktype := privacy._column_type(tbl, linkcol);
        IF 'privacy.bsn'::regtype IN (linktype, (SELECT t.typbasetype FROM pg_type t WHERE t.oid = linktype)) THEN
            RAISE EXCEPTION 'cannot restrict subjects of table "%": it links to them by a BSN', tbl
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'The restriction policy compares the link column, and BSNs may not be compared by the roles it hides rows from.',
                      HINT = 'Key subject types and link tables by a surrogate key, not by the BSN.';
        END IF;
        expr := expr || format(' AND (privacy.restriction_none(%L) OR NOT coalesce(%I = ANY (privacy.restricted_values(%L, %L::regclass, NULL::%s)), false))',
                               ts.subject_type, linkcol, ts.subject_type, tbl::oid::text, linktype);
    END LOOP;
    IF expr = '' THEN
        RETURN;
    END IF;
    expr := substr(expr, 6);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', tbl);
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'privacy_base') THEN
        EXECUTE format('CREATE POLICY privacy_base ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)',
                       tbl);
    END IF;
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'privacy_restrict') THEN
        EXECUTE format('DROP POLICY privacy_restrict ON %s', tbl);
    END IF;
    -- reads and writes: processing of a restricted subject stops, also new
    -- rows linked to them
    EXECUTE format('CREATE POLICY privacy_restrict ON %s AS RESTRICTIVE FOR ALL TO PUBLIC USING (%s)',
                   tbl, expr);
END
$$;
COMMENT ON FUNCTION @extschema@._apply_restriction_policy(regclass) IS
'Enable row-level security on a registered table and (re)create its privacy_restrict policy';

CREATE FUNCTION @extschema@.restrict_subject(subject_type text, subject_key text, reason text,
                                             restricted_until date DEFAULT NULL,
                                             request_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    id bigint;
    t regclass;
    keytype regtype;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to restrict a data subject'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only members of the privacy officer role may restrict processing.';
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a restriction needs a reason' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF restricted_until < CURRENT_DATE THEN
        RAISE EXCEPTION 'a restriction cannot end in the past' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR t IN SELECT ts.relid FROM privacy.table_subject ts
              WHERE ts.subject_type = restrict_subject.subject_type
                AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = ts.relid
                                   AND p.polname = 'privacy_restrict') LOOP
        PERFORM privacy._apply_restriction_policy(t);
    END LOOP;
    SELECT r.id INTO id FROM privacy.restriction r
     WHERE r.subject_type = restrict_subject.subject_type AND r.subject_key = k AND r.lifted_at IS NULL
       AND r.restricted_until IS NOT DISTINCT FROM restrict_subject.restricted_until;
    IF FOUND THEN
        RETURN id;
    END IF;
    INSERT INTO privacy.restriction (subject_type, subject_key, reason, restricted_until, created_by)
    VALUES (subject_type, k, reason, restricted_until, privacy._calling_role()::name)
    RETURNING restriction.id INTO id;
    SELECT privacy._column_type(s.root_table, s.key_column) INTO keytype
      FROM privacy.subject_type s WHERE s.name = restrict_subject.subject_type;
    PERFORM privacy.audit_append('rights.restrict', subject_type, subject_type,
                                 CASE WHEN keytype = 'privacy.bsn'::regtype THEN NULL ELSE k END,
                                 jsonb_build_object('restriction', id, 'until', restricted_until,
                                                    'request', request_id));
    PERFORM privacy._notify_recipients(subject_type, k, 'restriction',
                                       jsonb_build_object('until', restricted_until));
    IF request_id IS NOT NULL THEN
        PERFORM privacy._close_subject_request(request_id, subject_type, k, 'restriction',
                                               jsonb_build_object('restriction', id));
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.restrict_subject(text, text, text, date, bigint) IS
'Restrict processing of a subject: their rows in every registered table are hidden from everyone but the privacy officer; recipients are notified; audited';

CREATE FUNCTION @extschema@.lift_restriction(restriction_id bigint)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    r privacy.restriction;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to lift a restriction' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE privacy.restriction SET lifted_at = pg_catalog.now(), lifted_by = privacy._calling_role()::name
     WHERE id = restriction_id AND lifted_at IS NULL
    RETURNING * INTO r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active restriction with id %', restriction_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('rights.restrict.lift', r.subject_type, r.subject_type, NULL,
                                 jsonb_build_object('restriction', r.id));
END
$$;
COMMENT ON FUNCTION @extschema@.lift_restriction(bigint) IS
'Lift a restriction of processing; audited';

-- Close a request a rights function fulfilled, checking it is an open
-- request of that kind for that subject.
CREATE FUNCTION @extschema@._close_subject_request(request_id bigint, subject_type text, subject_key text,
                                                   kind text, result jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM privacy.request q WHERE q.id = request_id AND q.status = 'open'
                      AND q.subject_type = _close_subject_request.subject_type
                      AND q.subject_key = _close_subject_request.subject_key
                      AND q.kind = _close_subject_request.kind) THEN
        RAISE EXCEPTION 'request % is not an open % request of this subject', request_id, kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM privacy.close_request(request_id, 'fulfilled', result);
END
$$;
COMMENT ON FUNCTION @extschema@._close_subject_request(bigint, text, text, text, jsonb) IS
'Close an open request of a kind for a subject as fulfilled, with the result';

-- Erasure (AVG art. 17)

-- Registered tables of a subject type, tables that reference others first.
CREATE FUNCTION @extschema@._subject_tables(subject_type text)
RETURNS TABLE (relid regclass, ord integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
    WITH RECURSIVE walk(start, cur, depth) AS (
        SELECT t.relid::oid, t.relid::oid, 0 FROM privacy.table_subject t WHERE t.subject_type = $1
        UNION
        SELECT w.start, c.confrelid, w.depth + 1
          FROM walk w JOIN pg_constraint c ON c.contype = 'f' AND c.conrelid = w.cur
         WHERE c.confrelid <> c.conrelid AND w.depth < 16
    )
    SELECT w.start::regclass, (row_number() OVER (ORDER BY max(w.depth) DESC, w.start::regclass::text))::integer
      FROM walk w GROUP BY w.start
$$;
COMMENT ON FUNCTION @extschema@._subject_tables(text) IS
'The registered tables of a subject type in erasure order: referencing tables before referenced ones';

-- The SQL an erasure runs on one table of a subject type, kept in the
-- backend's SQL cache: the FROM clause (subjects joined only where a rule
-- names them), the subject's condition, the retention duty and
-- anonymization of each row, the references from other tables and from
-- the table itself, and the holds of the table's other subject types.
CREATE FUNCTION @extschema@._erase_sql(tbl regclass, subject_type text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    cache_key text := format('erase:%s:%s', tbl::oid, subject_type);
    cached jsonb := privacy._sql_cache_get(cache_key)::jsonb;
    from_sql text;
    subj text;
    duty text := 'NULL::date';
    anon text := 'NULL::text';
    refd text := 'false';
    selfref text;
    other_held text;
    anon_rules jsonb := '{}';
    ru record;
    p record;
    c record;
BEGIN
    IF cached IS NOT NULL THEN
        RETURN cached;
    END IF;
    from_sql := privacy._rule_from(tbl,
        ARRAY(SELECT t.subject_type FROM privacy.table_subject t
               WHERE t.relid = tbl
                 AND EXISTS (SELECT FROM privacy.retention_rule rr
                              WHERE rr.relid = tbl
                                AND (position(t.subject_type IN coalesce(rr.condition, '')) > 0
                                     OR position(t.subject_type IN rr.start_expr) > 0))));
    subj := privacy._subject_where(tbl, subject_type);
    -- the retention duties of the table's rules, and their anonymizations
    FOR ru IN SELECT r.name, r.start_expr, d.rounding, d.min_keep, d.action
                FROM privacy.retention_rule r JOIN privacy.document_type d ON d.name = r.document_type
               WHERE r.relid = tbl ORDER BY r.name LOOP
        SELECT * INTO p FROM privacy._rule_sql(ru.name);
        IF ru.min_keep IS NOT NULL THEN
            duty := format(E'GREATEST(%s, CASE WHEN %s THEN coalesce((privacy.retention_clock((%s\n)::date, %L) + %L::interval)::date, ''infinity''::date) END)',
                           duty, p.cond_sql, ru.start_expr, ru.rounding, ru.min_keep);
        END IF;
        IF ru.action = 'anonymize' THEN
            anon := format('CASE WHEN %s THEN CASE WHEN %s THEN %L ELSE ''done'' END ELSE %s END',
                           p.cond_sql, p.pending_sql, ru.name, anon);
            anon_rules := anon_rules || jsonb_build_object(ru.name, p.set_sql);
        END IF;
    END LOOP;
    -- rows that also belong to another subject under a legal hold
    SELECT coalesce(string_agg(privacy._held_sql(tbl, t.subject_type), ' OR '), 'false')
      INTO other_held
      FROM privacy.table_subject t
     WHERE t.relid = tbl AND t.subject_type <> _erase_sql.subject_type;
    -- rows still referenced by rows of other tables (this table's own
    -- references are settled below, once it is known which rows stay)
    FOR c IN SELECT * FROM privacy._references_to(tbl) LOOP
        IF c.child = tbl THEN
            selfref := concat_ws(' OR ', selfref, c.cond);
        ELSE
            refd := refd || format(' OR EXISTS (SELECT 1 FROM %s x WHERE %s)', c.child, c.cond);
        END IF;
    END LOOP;

    -- the statements themselves: the subject's rows, locked and sorted by
    -- what happens to them; the self-references that keep rows; the
    -- actions, run as the table's owner on the rows' tuple ids
    cached := jsonb_build_object(
        'main', format(
            'WITH rows AS (
                 SELECT r.tableoid AS toid, r.ctid AS tid, d.duty, a.anon, (%s) AS refd, (%s) AS held
                   FROM %s
                   CROSS JOIN LATERAL (SELECT %s AS duty) d
                   CROSS JOIN LATERAL (SELECT %s AS anon) a
                  WHERE %s
                    FOR UPDATE OF r
             )
             SELECT CASE WHEN held THEN ''kept_held''
                         WHEN coalesce(duty > CURRENT_DATE, false) THEN ''kept_duty''
                         WHEN anon IS NOT NULL THEN ''anonymize''
                         WHEN refd THEN ''kept_ref''
                         ELSE ''delete'' END AS what,
                    anon, count(*) AS n, max(duty) AS until, array_agg(tid) AS tids, array_agg(toid) AS oids
               FROM rows GROUP BY 1, 2',
            refd, other_held, from_sql, duty, anon, subj),
        'selfref', CASE WHEN selfref IS NOT NULL THEN format(
            'SELECT array_agg(r.ctid), array_agg(r.tableoid)
               FROM %s r
              WHERE (r.tableoid, r.ctid) IN (SELECT o, t FROM unnest($2, $1) u(o, t))
                AND EXISTS (SELECT 1 FROM %s x
                             WHERE (%s)
                               AND (x.tableoid, x.ctid) NOT IN (SELECT o, t FROM unnest($2, $1) u(o, t)))',
            tbl, tbl, selfref) END,
        'delete', format('DELETE FROM %s t WHERE t.ctid = ANY ($1) AND (t.tableoid, t.ctid) IN (SELECT * FROM unnest($2, $1))',
                         tbl),
        'simple', duty = 'NULL::date' AND anon = 'NULL::text' AND refd = 'false' AND selfref IS NULL
                  AND other_held = 'false',
        'anonymize', (SELECT coalesce(jsonb_object_agg(x.key, format(
                          'UPDATE %s t SET %s WHERE t.ctid = ANY ($1) AND (t.tableoid, t.ctid) IN (SELECT * FROM unnest($2, $1))',
                          tbl, x.value)), '{}')
                        FROM jsonb_each_text(anon_rules) x));
    PERFORM privacy._sql_cache_put(cache_key, cached::text);
    RETURN cached;
END
$$;
COMMENT ON FUNCTION @extschema@._erase_sql(regclass, text) IS
'The SQL pieces an erasure runs on one table of a subject type';

-- What an erasure of a subject type runs, kept in the backend's SQL cache:
-- its tables parents first (erasure runs them the other way round); one
-- statement that locks the subject's rows in all of them, parents first,
-- returning how many each has; and for the tables where nothing can be
-- kept (no retention duty or anonymization, no references to them, no
-- other subject type) and that hold the subject's key, a plain DELETE of
-- the subject's rows.
CREATE FUNCTION @extschema@._erase_program(subject_type text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    cache_key text := 'erase_program:' || subject_type;
    cached jsonb := privacy._sql_cache_get(cache_key)::jsonb;
BEGIN
    IF cached IS NOT NULL THEN
        RETURN cached;
    END IF;
    SELECT jsonb_build_object(
               'tables', coalesce(jsonb_agg(t.relid::oid ORDER BY t.ord DESC), '[]'),
               'direct', coalesce(jsonb_object_agg(t.relid::oid, format('DELETE FROM %s%s r WHERE %s',
                                                                              privacy._only(t.relid), t.relid, d.cond))
                                  FILTER (WHERE d.cond IS NOT NULL
                                            AND (privacy._erase_sql(t.relid, _erase_program.subject_type) ->> 'simple')::boolean),
                                  '{}'),
               'lock', 'SELECT ARRAY[' || coalesce(string_agg(format(
                   '(SELECT count(*) FROM (SELECT 1 FROM %s%s r WHERE %s FOR UPDATE OF r) l)',
                   privacy._only(t.relid), t.relid, privacy._subject_where(t.relid, _erase_program.subject_type)),
                   ', ' ORDER BY t.ord DESC),
                   '') || ']::bigint[]')
      INTO cached
      FROM privacy._subject_tables(subject_type) t
      -- the plain delete runs as the table's owner, so its condition reads
      -- no other table: the key column, or a foreign key to the root's key
      CROSS JOIN LATERAL (
          SELECT CASE WHEN p.steps = 0 THEN format('r.%I = $1::%s', p.key_column, p.keytype)
                      WHEN p.steps = 1 AND p.ref_columns = ARRAY[p.root_key::text]
                           AND cardinality(p.link_columns) = 1
                      THEN format('r.%I = $1::%s', p.link_columns[1], p.keytype) END AS cond
            FROM privacy._subject_path(t.relid, _erase_program.subject_type) p) d;
    PERFORM privacy._sql_cache_put(cache_key, cached::text);
    RETURN cached;
END
$$;
COMMENT ON FUNCTION @extschema@._erase_program(text) IS
'The tables an erasure of a subject type visits and the statement that locks a subject''s rows in them';

-- Erase one subject's rows (src/erasure.c runs the statements of the two
-- functions above): in each table, rows under a retention duty (a document
-- type's minimum keep period that has not passed, or whose clock has not
-- started) are kept; rows of an anonymizing document type are anonymized;
-- rows that other rows still reference are kept; the rest is deleted.
CREATE FUNCTION @extschema@._erase_tables(subject_type text, subject_key text,
                                          OUT result jsonb, OUT audited jsonb, OUT changed bigint,
                                          OUT kept bigint, OUT erasable_from date, OUT kept_for_now boolean)
AS 'MODULE_PATHNAME', 'privacy_erase_tables'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._erase_tables(text, text) IS
'Lock a subject''s rows and erase them table by table, children first, keeping what a retention duty, a reference or another subject''s hold keeps; returns what happened per table and the totals';

CREATE FUNCTION @extschema@.erase_subject(subject_type text, subject_key text, reason text,
                                          dry_run boolean DEFAULT false, request_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    keytype regtype;
    res jsonb := '[]';
    audited jsonb := '[]';   -- res with counts of kept rows
    one record;
    changed bigint := 0;
    kept bigint := 0;
    until date;
    forever boolean := false;
    holds text;
    restriction bigint;
    notified integer := 0;
    summary jsonb;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to erase a data subject'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only members of the privacy officer role may erase a subject''s data.';
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'an erasure needs its legal ground as reason'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example: art. 17(1)(a), no longer needed; art. 17(1)(b), consent withdrawn.';
    END IF;
    SELECT nullif(array_to_string(privacy._active_holds(subject_type, k, true), ', '), '') INTO holds;
    IF holds IS NOT NULL THEN
        RAISE EXCEPTION 'subject is under a legal hold'
            USING ERRCODE = 'object_in_use',
                  DETAIL = format('Legal hold %s keeps every row of this subject; nothing was erased.', holds),
                  HINT = 'Release the hold with privacy.release_hold() once it no longer applies.';
    END IF;
    SELECT privacy._column_type(s.root_table, s.key_column) INTO keytype
      FROM privacy.subject_type s WHERE s.name = erase_subject.subject_type;

    -- everything in one block, undone for a dry run
    BEGIN
        -- lock the subject's rows, then erase them children first
        one := privacy._erase_tables(subject_type, k);
        res := one.result;
        audited := one.audited;
        changed := one.changed;
        kept := one.kept;
        until := one.erasable_from;
        forever := one.kept_for_now;
        IF dry_run THEN
            RAISE EXCEPTION USING ERRCODE = 'PPD02';
        END IF;
    EXCEPTION WHEN SQLSTATE 'PPD02' THEN
        NULL;
    END;

    summary := jsonb_build_object('subject_type', subject_type, 'dry_run', dry_run, 'reason', reason,
                                  'changed', changed, 'kept', kept, 'tables', res);
    IF dry_run THEN
        RETURN summary;
    END IF;

    -- what is kept is restricted until the last duty ends (or until
    -- lifted); the restriction of an earlier erasure gives way to it.
    -- (Any statement on the catalog, even one changing nothing, makes
    -- every backend drop what it built from the catalogs: check first.)
    IF EXISTS (SELECT FROM privacy.restriction r
                WHERE r.subject_type = erase_subject.subject_type AND r.subject_key = k AND r.lifted_at IS NULL
                  AND r.reason = 'erasure requested; kept only as long as the law demands'
                  AND (kept = 0 OR r.restricted_until IS DISTINCT FROM CASE WHEN forever THEN NULL ELSE until END)) THEN
        UPDATE privacy.restriction r SET lifted_at = pg_catalog.now(), lifted_by = privacy._calling_role()::name
         WHERE r.subject_type = erase_subject.subject_type AND r.subject_key = k AND r.lifted_at IS NULL
           AND r.reason = 'erasure requested; kept only as long as the law demands'
           AND (kept = 0 OR r.restricted_until IS DISTINCT FROM CASE WHEN forever THEN NULL ELSE until END);
    END IF;
    IF kept > 0 THEN
        restriction := privacy.restrict_subject(subject_type, k,
                                                'erasure requested; kept only as long as the law demands',
                                                CASE WHEN forever THEN NULL ELSE until END);
    END IF;
    IF changed > 0 THEN
        notified := privacy._notify_recipients(subject_type, k, 'erasure',
                                               jsonb_build_object('request', request_id));
    END IF;
    summary := summary || jsonb_build_object('restriction', restriction, 'notifications', notified);
    PERFORM privacy.audit_append('rights.erase', subject_type, subject_type,
                                 CASE WHEN keytype = 'privacy.bsn'::regtype THEN NULL ELSE k END,
                                 jsonb_build_object('reason', reason, 'request', request_id,
                                                    'tables', audited));
    IF request_id IS NOT NULL THEN
        PERFORM privacy._close_subject_request(request_id, subject_type, k, 'erasure', summary);
    END IF;
    RETURN summary;
END
$$;
COMMENT ON FUNCTION @extschema@.erase_subject(text, text, text, boolean, bigint) IS
'Erase a subject in one transaction: rows under a retention duty are kept and restricted, the rest deleted or anonymized (children first); refused under a legal hold; recipients notified; audited with counts';

REVOKE EXECUTE ON FUNCTION
    @extschema@._restricted_links(text, regclass, text[]),
    @extschema@._apply_restriction_policy(regclass),
    @extschema@.restrict_subject(text, text, text, date, bigint),
    @extschema@.lift_restriction(bigint),
    @extschema@._close_subject_request(bigint, text, text, text, jsonb),
    @extschema@._subject_tables(text),
    @extschema@._erase_sql(regclass, text),
    @extschema@._erase_program(text),
    @extschema@._erase_tables(text, text),
    @extschema@.erase_subject(text, text, text, boolean, bigint)
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.restriction TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.restrict_subject(text, text, text, date, bigint), '
        'privacy.lift_restriction(bigint), '
        'privacy.erase_subject(text, text, text, boolean, bigint) TO %I', officer);
END
$$;

-- Rectification (AVG art. 16, 19): which columns of a subject's rows
-- changed, when and by whom; never the values

CREATE SEQUENCE @extschema@.rectification_seq;
CREATE TABLE @extschema@.rectification (
    id            bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.rectification_seq'),
    subject_type  text        NOT NULL,
    subject_key   text,
    tbl           text        NOT NULL,
    columns       name[]      NOT NULL,
    rows          bigint      NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    changed_by    name        NOT NULL,
    actor         text
);
CREATE INDEX rectification_subject_idx ON @extschema@.rectification (subject_type, subject_key);
COMMENT ON TABLE @extschema@.rectification IS
'Changes to subjects'' rows in registered tables: the columns that changed, when and by whom, never the values; subject_key is empty for subjects keyed by a BSN';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rectification', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rectification_seq', '');
REVOKE ALL ON @extschema@.rectification FROM PUBLIC;

-- The subject key of a row (alias n) of a registered table, as text: the
-- key column, or the root's key reached up the foreign-key path.
CREATE FUNCTION @extschema@._subject_key_sql(tbl regclass, subject_type text, alias text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    pth record;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type, alias);
    IF pth.keytype = 'privacy.bsn'::regtype THEN
        RETURN 'NULL::text';
    END IF;
    IF pth.key_column IS NOT NULL THEN
        RETURN format('(%I.%I)::text', alias, pth.key_column);
    END IF;
    RETURN format('(SELECT (s%s.%I)::text FROM %s WHERE %s)', pth.steps, pth.root_key, pth.joins, pth.link);
END
$$;
COMMENT ON FUNCTION @extschema@._subject_key_sql(regclass, text, text) IS
'SQL for the subject key of a row of a registered table, as text (NULL for subjects keyed by a BSN)';

-- The statement trigger on registered tables: after an UPDATE, record per
-- subject which columns changed, and queue notifications for the
-- recipients that received the subject's data.
CREATE FUNCTION @extschema@.rectification_trigger()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    tbl regclass := TG_RELID;
    pk text;
    diff text;
    st text;
    rec record;
BEGIN
    IF NOT EXISTS (SELECT FROM privacy_new) THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('o.%1$I = n.%1$I', a.attname), ' AND ')
      INTO pk
      FROM pg_index i CROSS JOIN unnest(i.indkey) k(num)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
     WHERE i.indrelid = tbl AND i.indisprimary;
    IF pk IS NULL THEN
        RETURN NULL;        -- rows cannot be paired without a primary key
    END IF;
    SELECT string_agg(format('CASE WHEN o.%1$I IS DISTINCT FROM n.%1$I THEN %1$L::name END', a.attname), ', ')
      INTO diff
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    FOR st IN SELECT t.subject_type FROM privacy.table_subject t WHERE t.relid = tbl ORDER BY 1 LOOP
        -- a row that moved from one subject to another changed for both
        FOR rec IN EXECUTE format(
            'SELECT k, cols, count(*) AS n FROM (
                 SELECT k.k,
                        ARRAY(SELECT c FROM unnest(ARRAY[%s]) c WHERE c IS NOT NULL ORDER BY 1) AS cols
                   FROM privacy_new n JOIN privacy_old o ON %s
                  CROSS JOIN LATERAL (SELECT DISTINCT x FROM unnest(ARRAY[%s, %s]) x) k(k)) s
              WHERE cardinality(cols) > 0
              GROUP BY k, cols', diff, pk, privacy._subject_key_sql(tbl, st, 'n'),
            privacy._subject_key_sql(tbl, st, 'o')) LOOP
            INSERT INTO privacy.rectification (subject_type, subject_key, tbl, columns, rows, changed_by, actor)
            VALUES (st, rec.k, tbl::text, rec.cols, rec.n, privacy._calling_role()::name,
                    nullif(current_setting('privacy.actor', true), ''));
            IF rec.k IS NOT NULL THEN
                PERFORM privacy._notify_recipients(st, rec.k, 'rectification',
                                                   jsonb_build_object('table', tbl::text, 'columns', rec.cols));
            END IF;
        END LOOP;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.rectification_trigger() IS
'Trigger on registered tables: records which columns of which subject changed (never the values) and notifies the recipients of that subject''s data';

CREATE FUNCTION @extschema@._apply_rectification(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'privacy_rectification') THEN
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('CREATE TRIGGER privacy_rectification AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS privacy_old NEW TABLE AS privacy_new '
                       'FOR EACH STATEMENT EXECUTE FUNCTION privacy.rectification_trigger()', tbl);
    EXCEPTION WHEN feature_not_supported OR wrong_object_type THEN
        -- tables with inheritance children cannot have transition tables
        RAISE NOTICE 'changes to "%" are not recorded as rectifications: %', tbl, SQLERRM;
    END;
END
$$;
COMMENT ON FUNCTION @extschema@._apply_rectification(regclass) IS
'Create the rectification trigger of a registered table';

REVOKE EXECUTE ON FUNCTION
    @extschema@._subject_key_sql(regclass, text, text),
    @extschema@._apply_rectification(regclass)
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.rectification TO %I, %I', admin, officer);
END
$$;
