/* sql/src/10_bsn.sql */

-- The bsn type: input, output, binary I/O, comparison operators guarded for
-- roles outside privacy.bsn_role, btree and hash operator classes, casts and
-- the display and validation helpers.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

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
