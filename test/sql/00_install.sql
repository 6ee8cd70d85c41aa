-- Installing, inspecting and dropping the extension.
CREATE EXTENSION pg_privacy CASCADE;
SELECT extname, extversion FROM pg_extension WHERE extname IN ('pg_privacy', 'pgcrypto') ORDER BY 1;
SELECT privacy.library_version();

-- with the library preloaded, every hook is active
SELECT component, state FROM privacy.status()
 WHERE component NOT IN ('bypass roles') ORDER BY component;

-- the roles the extension relies on exist, and cannot log in
SELECT rolname, rolcanlogin FROM pg_roles
 WHERE rolname IN ('privacy_admin', 'privacy_officer', 'privacy_bsn') ORDER BY 1;

-- settings are reserved and validated
SHOW privacy.bsn_visible_digits;
SET privacy.bsn_visible_digits = 5;
SET privacy.bsn_role = '';
SET privacy.no_such_setting = 1;

-- ordinary roles may not change security settings
CREATE ROLE install_clerk LOGIN;
SET ROLE install_clerk;
SET privacy.bsn_role = 'install_clerk';
SET privacy.bsn_visible_digits = 4;
-- the application actor is a session setting anyone may set
SET privacy.actor = 'jan@example.nl';
SHOW privacy.actor;
RESET privacy.actor;
RESET ROLE;

-- a status warning for a configured role that does not exist
SET privacy.officer_role = 'no_such_officer';
SELECT component, state, detail FROM privacy.status() WHERE component = 'privacy.officer_role';
RESET privacy.officer_role;

-- drop and install again: the roles stay, the objects come back
DROP EXTENSION pg_privacy;
SELECT count(*) FROM pg_roles WHERE rolname IN ('privacy_admin', 'privacy_officer', 'privacy_bsn');
SELECT count(*) FROM pg_namespace WHERE nspname = 'privacy';
-- the schema left behind is not taken for the extension: DDL keeps working
CREATE TABLE after_drop (id int);
ALTER TABLE after_drop ADD COLUMN x int;
CREATE ROLE after_drop_role;
DROP ROLE after_drop_role;
DROP TABLE after_drop;
CREATE EXTENSION pg_privacy;
SELECT count(*) > 40 AS has_members FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
 WHERE e.extname = 'pg_privacy' AND d.deptype = 'e';
DROP ROLE install_clerk;
