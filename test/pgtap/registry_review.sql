-- Registry cases found by review and closed: a permissive policy of the
-- table (present at registration or changed later) cannot widen the scope;
-- proposals for a subject type without scope columns register in order;
-- the foreign-key column of a path is guarded; dropping a subject type's
-- root table leaves no hidden registration behind.
SELECT plan(6);

BEGIN;
SET client_min_messages = warning;
CREATE ROLE rh_owner LOGIN;
CREATE ROLE rh_clerk LOGIN;
CREATE SCHEMA rh;
GRANT USAGE, CREATE ON SCHEMA rh TO rh_owner;
GRANT USAGE ON SCHEMA rh TO rh_clerk;

-- a permissive policy the table had before it was registered cannot widen
-- the scope, which is a restrictive policy
SET ROLE rh_owner;
CREATE TABLE rh.people (id int PRIMARY KEY, branch_id smallint NOT NULL, note text);
INSERT INTO rh.people VALUES (1, 12, 'a'), (2, 1, 'b'), (3, 20, 'secret');
ALTER TABLE rh.people ENABLE ROW LEVEL SECURITY;
CREATE POLICY app_rows ON rh.people USING (note <> 'secret');
GRANT SELECT ON rh.people TO rh_clerk;
RESET ROLE;
SELECT FROM privacy.register_subject_type('rh_person', 'rh.people', 'id');
SELECT FROM privacy.register_table('rh.people', 'rh_person', scope_column => 'branch_id');
SELECT FROM privacy.grant_scope('rh_clerk', '12');
RESET client_min_messages;
SET ROLE rh_clerk;
SELECT results_eq('SELECT id FROM rh.people ORDER BY id', ARRAY[1],
                  'a clerk of branch 12 sees only the row of branch 12 of a registered table');
SET ROLE rh_owner;
SELECT lives_ok('ALTER POLICY app_rows ON rh.people USING (true)',
                'the owner may change its own permissive policy of a scoped table');
SET ROLE rh_clerk;
SELECT results_eq('SELECT id FROM rh.people ORDER BY id', ARRAY[1],
                  'and the clerk still sees only the row of branch 12');
RESET ROLE;

-- a subject type whose tables have no scope column
SET client_min_messages = warning;
CREATE TABLE rh.employees (id int PRIMARY KEY, name text);
CREATE TABLE rh.payslips (id int PRIMARY KEY, employee_id int REFERENCES rh.employees, amount numeric);
SELECT FROM privacy.register_subject_type('rh_employee', 'rh.employees', 'id');
RESET client_min_messages;
SELECT lives_ok($$SELECT privacy.register_table(tbl, 'rh_employee', key_column, via, scope_column,
                                                scope_through => scope_through)
                    FROM privacy.propose_registrations('rh_employee')$$,
                'the proposals for a subject type without scope columns register in order');

-- the foreign-key column of a path of a table with its own scope column
SET client_min_messages = warning;
SET ROLE rh_owner;
CREATE TABLE rh.placements (id int PRIMARY KEY, person_id int REFERENCES rh.people, branch_id smallint NOT NULL);
RESET ROLE;
SELECT FROM privacy.register_table('rh.placements', 'rh_person', via => '{rh.people}', scope_column => 'branch_id');
RESET client_min_messages;
SET ROLE rh_owner;
SELECT throws_ok('ALTER TABLE rh.placements DROP COLUMN person_id CASCADE', '42501', NULL,
                 'the owner may not drop the column that links a row to its subject');
RESET ROLE;

-- the root table of a subject type dropped
SET client_min_messages = warning;
CREATE TABLE rh.c (id int PRIMARY KEY, branch_id smallint);
CREATE TABLE rh.p (id int PRIMARY KEY, c_id int REFERENCES rh.c);
SELECT FROM privacy.register_subject_type('rh_chain', 'rh.c', 'id');
SELECT FROM privacy.register_table('rh.c', 'rh_chain', scope_column => 'branch_id');
SELECT FROM privacy.register_table('rh.p', 'rh_chain', via => '{rh.c}', scope_through => 'rh.c');
DROP TABLE rh.c CASCADE;
RESET client_min_messages;
SELECT is((SELECT string_agg(relid::text, ',' ORDER BY relid::text) FROM privacy.registered_table r
            WHERE NOT EXISTS (SELECT FROM privacy.table_subject t WHERE t.relid = r.relid)),
          NULL, 'no registered table is left without a subject type, hidden from privacy.registry');

SELECT * FROM finish();
ROLLBACK;
