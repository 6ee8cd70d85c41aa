-- The registry of personal data: the exact messages (with detail and hint)
-- of the registry functions and of the DDL guard, and what
-- propose_registrations, privacy.registry and role_scopes show for a small
-- schema.  Everything created here is removed at the end.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE rr_admin IN ROLE privacy_admin;
CREATE ROLE rr_owner;
CREATE ROLE rr_clerk;
CREATE ROLE rr_team;
GRANT rr_team TO rr_clerk;
CREATE SCHEMA rr;
GRANT USAGE, CREATE ON SCHEMA rr TO rr_owner;
GRANT USAGE ON SCHEMA rr TO rr_clerk, rr_admin;
SET ROLE rr_owner;
CREATE TABLE rr.candidates (id int PRIMARY KEY, name text, branch_id smallint NOT NULL, bsn privacy.bsn);
CREATE TABLE rr.placements (id int PRIMARY KEY, candidate_id int REFERENCES rr.candidates, branch_id smallint);
CREATE TABLE rr.timesheets (id int PRIMARY KEY, placement_id int REFERENCES rr.placements, hours numeric);
CREATE TABLE rr.notes (id int PRIMARY KEY, candidate_code text, author int REFERENCES rr.candidates,
                       subject int REFERENCES rr.candidates);
CREATE VIEW rr.candidate_names AS SELECT id, name FROM rr.candidates;
INSERT INTO rr.candidates VALUES (1, 'Anna', 12), (2, 'Bram', 12), (3, 'Dirk', 1), (4, 'Eva', 20);
INSERT INTO rr.placements VALUES (1, 1, 12), (2, 3, 1), (3, 4, 20);
INSERT INTO rr.timesheets VALUES (1, 1, 8), (2, 2, 4), (3, 3, 2);
GRANT SELECT ON rr.candidates, rr.placements, rr.timesheets TO rr_clerk;
GRANT INSERT, UPDATE ON rr.candidates TO rr_clerk;
RESET ROLE;
RESET client_min_messages;

-- only members of privacy_admin manage the registry
SET ROLE rr_clerk;
SELECT privacy.register_subject_type('candidate', 'rr.candidates', 'id');
RESET ROLE;
GRANT EXECUTE ON FUNCTION privacy.register_subject_type(text, regclass, name, text) TO rr_clerk;
SET ROLE rr_clerk;
SELECT privacy.register_subject_type('candidate', 'rr.candidates', 'id');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION privacy.register_subject_type(text, regclass, name, text) FROM rr_clerk;

SET ROLE rr_admin;
-- subject types
SELECT privacy.register_subject_type('candidate', 'rr.candidates', 'id', 'job seekers');
SELECT privacy.register_subject_type('candidate', 'rr.candidates', 'id');
SELECT privacy.register_subject_type('Candidate', 'rr.candidates', 'id');
SELECT privacy.register_subject_type('other', 'rr.candidates', 'nr');
SELECT privacy.propose_registrations('supplier');

-- the proposals, and registering them in the proposed order
SELECT tbl, key_column, via, scope_column, scope_through, registered, note
  FROM privacy.propose_registrations('candidate');
SELECT count(*) AS registered
  FROM (SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column,
                                      scope_through => scope_through)
          FROM privacy.propose_registrations('candidate')
         WHERE tbl <> 'rr.notes'::regclass) r;

-- registration errors
SELECT privacy.register_table('rr.notes', 'supplier', key_column => 'id');
SELECT privacy.register_table('rr.candidate_names', 'candidate', key_column => 'id');
SELECT privacy.register_table('rr.notes', 'candidate');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'author', via => '{rr.candidates}');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'nr');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'candidate_code');
SELECT privacy.register_table('rr.notes', 'candidate', via => '{rr.candidates}');
SELECT privacy.register_table('rr.notes', 'candidate', via => '{rr.placements}');
SELECT privacy.register_table('rr.timesheets', 'candidate', via => '{rr.placements}');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'author', scope_column => 'branch');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'author', scope_column => 'id',
                              scope_kind => 'Branch');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'author', scope_column => 'id',
                              scope_through => 'rr.candidates');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'author', scope_through => 'rr.candidates');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'author', scope_through => 'rr.notes');
SELECT privacy.register_table('rr.candidates', 'candidate');
SELECT privacy.register_table('rr.timesheets', 'candidate', via => '{rr.placements,rr.candidates}',
                              scope_column => 'hours');
SELECT privacy.register_table('rr.placements', 'candidate', via => '{rr.candidates}', scope_column => 'id');
SELECT privacy.unregister_table('rr.notes');
SELECT privacy.unregister_table('rr.candidates', 'supplier');

-- scopes
SELECT privacy.grant_scope('rr_clerk', '12');
SELECT privacy.grant_scope('rr_team', '1');
SELECT privacy.grant_scope('rr_clerk', 'utrecht');
SELECT privacy.grant_scope('rr_clerk', '99999');
SELECT privacy.grant_scope('rr_clerk', '');
SELECT privacy.revoke_scope('rr_clerk', '20');
SELECT privacy.grant_scope('rr_clerk', 'north', 'region');
SELECT privacy.register_table('rr.notes', 'candidate', key_column => 'author', scope_column => 'id',
                              scope_kind => 'region');
SELECT privacy.revoke_scope('rr_clerk', 'north', 'region');
SELECT * FROM privacy.role_scopes('rr_clerk');
RESET ROLE;
SET ROLE rr_clerk;
SELECT * FROM privacy.role_scopes();
SELECT * FROM privacy.role_scopes('rr_team');
RESET ROLE;

-- the registry and the policies
SELECT tbl, subject_type, key_column, via, scope_kind, scope_column, scope_through,
       rls_enabled, rls_forced, has_policy
  FROM privacy.registry WHERE tbl::text LIKE 'rr.%' ORDER BY tbl::text, subject_type;
SELECT polrelid::regclass AS tbl, polname, pg_get_expr(polqual, polrelid) AS using_expr
  FROM pg_policy WHERE polrelid::regclass::text LIKE 'rr.%' ORDER BY 1;
SET ROLE rr_clerk;
SELECT (SELECT count(*) FROM rr.candidates) AS candidates, (SELECT count(*) FROM rr.placements) AS placements,
       (SELECT count(*) FROM rr.timesheets) AS timesheets;
INSERT INTO rr.candidates VALUES (5, 'Fem', 20);
UPDATE rr.candidates SET branch_id = 20 WHERE id = 1;
RESET ROLE;

-- the DDL guard: a table owner outside privacy_admin
SET ROLE rr_owner;
ALTER TABLE rr.candidates DISABLE ROW LEVEL SECURITY;
ALTER TABLE rr.candidates NO FORCE ROW LEVEL SECURITY;
DROP POLICY privacy_scope ON rr.candidates;
ALTER POLICY privacy_scope ON rr.candidates USING (true);
ALTER POLICY privacy_scope ON rr.candidates RENAME TO scope;
ALTER TABLE rr.candidates DROP COLUMN branch_id;
ALTER TABLE rr.candidates ALTER COLUMN branch_id TYPE int;
ALTER TABLE rr.candidates DROP COLUMN id CASCADE;
ALTER TABLE rr.candidates ALTER COLUMN id TYPE bigint;
ALTER TABLE rr.candidates DROP COLUMN bsn;
ALTER TABLE rr.candidates ALTER COLUMN bsn TYPE text;
CREATE POLICY everyone ON rr.candidates USING (true);
ALTER TABLE rr.timesheets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE rr.timesheets DROP COLUMN placement_id CASCADE;
TRUNCATE privacy.scope_grant;
ALTER TABLE privacy.scope_grant DISABLE TRIGGER ALL;
ALTER TABLE privacy.registered_table RENAME TO registered;
DROP TABLE privacy.subject_type;
-- allowed, and audited
BEGIN;
ALTER TABLE rr.candidates ADD COLUMN phone text;
ALTER TABLE rr.placements RENAME TO assignments;
SELECT privacy.audit_pending();
ROLLBACK;
RESET ROLE;

-- a member of privacy_admin passes the guard; PostgreSQL still wants the owner
SET ROLE rr_admin;
ALTER TABLE rr.candidates DISABLE ROW LEVEL SECURITY;
TRUNCATE privacy.scope_grant;
RESET ROLE;

-- renames as a superuser: the registry follows
ALTER TABLE rr.candidates RENAME COLUMN branch_id TO vestiging;
ALTER TABLE rr.placements RENAME TO assignments;
SELECT tbl, subject_type, key_column, via, scope_column, scope_through
  FROM privacy.registry WHERE tbl::text LIKE 'rr.%' ORDER BY tbl::text, subject_type;
SELECT pg_get_expr(polqual, polrelid) AS using_expr FROM pg_policy
 WHERE polrelid = 'rr.candidates'::regclass;

-- dropping a registered table removes its registration
DROP TABLE rr.timesheets;
SELECT tbl FROM privacy.registry WHERE tbl::text LIKE 'rr.%' ORDER BY tbl::text;
SELECT action, object FROM privacy.audit_log WHERE action = 'registry.dropped' ORDER BY seq DESC LIMIT 1;

-- clean up
SET client_min_messages = warning;
DELETE FROM privacy.scope_grant WHERE role IN ('rr_clerk'::regrole, 'rr_team'::regrole);
DROP SCHEMA rr CASCADE;
DROP ROLE rr_admin, rr_owner, rr_clerk, rr_team;
RESET client_min_messages;
SELECT count(*) AS leftover FROM privacy.registered_table WHERE relid::text LIKE 'rr.%';
SELECT count(*) AS leftover FROM privacy.subject_type WHERE name = 'candidate';
