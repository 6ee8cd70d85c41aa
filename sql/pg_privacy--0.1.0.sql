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
    prev_hash    bytea       NOT NULL,
    hash         bytea       NOT NULL
);

CREATE INDEX audit_log_subject_idx
    ON @extschema@.audit_log (subject_type, subject_key)
    WHERE subject_key IS NOT NULL;

COMMENT ON TABLE @extschema@.audit_log IS
'Append-only, hash-chained audit trail; verify with privacy.audit_verify()';
COMMENT ON COLUMN @extschema@.audit_log.seq IS 'Position in the chain, gapless, in commit order';
COMMENT ON COLUMN @extschema@.audit_log.logged_at IS 'When the entry was appended';
COMMENT ON COLUMN @extschema@.audit_log.txid IS 'Transaction that appended the entry';
COMMENT ON COLUMN @extschema@.audit_log.session_id IS 'Session, as %c in log_line_prefix';
COMMENT ON COLUMN @extschema@.audit_log.login_role IS 'Session user';
COMMENT ON COLUMN @extschema@.audit_log.acting_role IS 'Current user when the entry was appended';
COMMENT ON COLUMN @extschema@.audit_log.actor IS 'Application-level user (privacy.actor)';
COMMENT ON COLUMN @extschema@.audit_log.action IS 'What was done, e.g. bsn.update';
COMMENT ON COLUMN @extschema@.audit_log.object IS 'What it was done to, e.g. a table';
COMMENT ON COLUMN @extschema@.audit_log.subject_type IS 'Type of the data subject concerned';
COMMENT ON COLUMN @extschema@.audit_log.subject_key IS 'Key of the data subject concerned';
COMMENT ON COLUMN @extschema@.audit_log.details IS 'Counts and reasons; never personal values';
COMMENT ON COLUMN @extschema@.audit_log.prev_hash IS 'hash of the previous entry (zeros for the first)';
COMMENT ON COLUMN @extschema@.audit_log.hash IS 'SHA-256 over this entry and prev_hash';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log', '');

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
-- also when session_replication_role is replica
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

REVOKE ALL ON @extschema@.audit_log FROM PUBLIC;

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
'Number of audit entries this transaction will chain when it commits';

CREATE FUNCTION @extschema@.audit_verify(
    anchor_seq bigint DEFAULT NULL,
    anchor_hash bytea DEFAULT NULL,
    OUT valid boolean,
    OUT entries bigint,
    OUT first_invalid bigint,
    OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'privacy_audit_verify'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.audit_verify(bigint, bytea) IS
'Recompute the audit chain; reports the first entry that breaks it.  With an anchor (seq, hash) kept outside the database, also detects a rewritten tail';

CREATE FUNCTION @extschema@.audit_head(OUT seq bigint, OUT hash bytea)
RETURNS record
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.seq, a.hash FROM privacy.audit_log a ORDER BY a.seq DESC LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.audit_head() IS
'The newest chained entry: store it outside the database as an anchor for audit_verify()';

REVOKE EXECUTE ON FUNCTION
    @extschema@.audit_append(text, text, text, text, jsonb),
    @extschema@.audit_verify(bigint, bytea),
    @extschema@.audit_head()
FROM PUBLIC;

DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.audit_log TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.audit_append(text, text, text, text, jsonb), '
                              'privacy.audit_verify(bigint, bytea), privacy.audit_head() TO %I, %I',
                              admin, officer);
END
$$;
