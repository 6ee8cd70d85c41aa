/* sql/src/00_schema.sql */

-- The roles the extension relies on, the schema's USAGE grant, and the status
-- functions. Loaded first: every later piece grants to these roles.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

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
