-- The registry of personal data and row-level authorization by branch, on a
-- small staffing schema: candidates and placements with a branch column,
-- timesheets, their expense lines and documents that are scoped through the
-- row they reference,
-- client contacts, and placement contacts that concern two subject types.
--
-- Covers: propose_registrations (paths of one, two and three foreign-key
-- steps, scope columns and tables to scope through, also through a table
-- that is itself scoped through its parent, registering in the proposed
-- order), the registry view and the generated policies, what each role sees
-- and may change (two branch clerks, a regional manager holding two branches
-- through a group role, a '*' holder, the privacy admin without scopes, a
-- superuser, a BYPASSRLS role, a role without scopes), refused INSERT and
-- UPDATE into a foreign branch, rows visible only through their parent,
-- the folded scope constant and the index scan in EXPLAIN, grants, revokes
-- and membership changes taking effect at the next statement (also for a
-- prepared statement, and undone by ROLLBACK TO SAVEPOINT), every error of
-- the registry functions with its SQLSTATE, refusals for callers outside
-- privacy_admin (also through a SECURITY DEFINER wrapper), role_scopes()
-- (one's own scopes; other roles' only for the admin), the scopes of a
-- dropped role, and the 'bypass roles' row of privacy.status().
BEGIN;
SELECT plan(166);

SET client_min_messages = warning;

-------------------------------------------------------------------------------
-- roles
-------------------------------------------------------------------------------
CREATE ROLE ra_clerk_utrecht LOGIN;
CREATE ROLE ra_clerk_amsterdam LOGIN;
CREATE ROLE ra_region_midden NOLOGIN;
CREATE ROLE ra_manager LOGIN IN ROLE ra_region_midden;
CREATE ROLE ra_head_office LOGIN;
CREATE ROLE ra_nobody LOGIN;
CREATE ROLE ra_admin LOGIN IN ROLE privacy_admin;
CREATE ROLE ra_super LOGIN SUPERUSER;
CREATE ROLE ra_bypass LOGIN BYPASSRLS;
CREATE ROLE ra_bypass_nologin NOLOGIN BYPASSRLS;

-------------------------------------------------------------------------------
-- the schema
-------------------------------------------------------------------------------
CREATE SCHEMA ra;
CREATE TABLE ra.branches (id smallint PRIMARY KEY, name text NOT NULL);
CREATE TABLE ra.candidates (
    id        int PRIMARY KEY,
    name      text NOT NULL,
    branch_id smallint NOT NULL REFERENCES ra.branches
);
CREATE INDEX candidates_branch_idx ON ra.candidates (branch_id);
CREATE TABLE ra.placements (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES ra.candidates,
    branch_id    smallint NOT NULL REFERENCES ra.branches,
    role         text
);
CREATE TABLE ra.timesheets (
    id           int PRIMARY KEY,
    placement_id int NOT NULL REFERENCES ra.placements,
    hours        numeric NOT NULL
);
CREATE TABLE ra.expense_lines (
    id           int PRIMARY KEY,
    timesheet_id int NOT NULL REFERENCES ra.timesheets,
    amount       numeric NOT NULL
);
CREATE TABLE ra.documents (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES ra.candidates,
    title        text NOT NULL
);
CREATE TABLE ra.client_contacts (
    id        int PRIMARY KEY,
    name      text NOT NULL,
    branch_id smallint NOT NULL REFERENCES ra.branches
);
CREATE TABLE ra.placement_contacts (
    placement_id int NOT NULL REFERENCES ra.placements,
    contact_id   int NOT NULL REFERENCES ra.client_contacts,
    branch_id    smallint NOT NULL,
    PRIMARY KEY (placement_id, contact_id)
);

INSERT INTO ra.branches VALUES (1, 'Amsterdam'), (12, 'Utrecht'), (20, 'Rotterdam'), (30, 'Den Haag');
INSERT INTO ra.candidates VALUES
    (1, 'Anna', 12), (2, 'Bram', 12), (3, 'Cor', 12),
    (4, 'Dirk', 1), (5, 'Eva', 1),
    (6, 'Fleur', 20), (7, 'Gijs', 30);
-- placement 6: Eva of Amsterdam placed by Utrecht
INSERT INTO ra.placements VALUES
    (1, 1, 12, 'welder'), (2, 2, 12, 'driver'), (3, 4, 1, 'cook'),
    (4, 6, 20, 'nurse'), (5, 7, 30, 'clerk'), (6, 5, 12, 'painter');
INSERT INTO ra.timesheets VALUES
    (1, 1, 8), (2, 1, 6), (3, 2, 4), (4, 3, 7), (5, 4, 5), (6, 5, 8), (7, 6, 3);
INSERT INTO ra.expense_lines VALUES (1, 1, 10), (2, 4, 20), (3, 5, 30), (4, 6, 40), (5, 7, 50);
INSERT INTO ra.documents VALUES
    (1, 1, 'cv'), (2, 2, 'cv'), (3, 4, 'cv'), (4, 6, 'cv'), (5, 6, 'id'), (6, 7, 'cv'), (7, 5, 'cv');
INSERT INTO ra.client_contacts VALUES (1, 'Karin', 12), (2, 'Lars', 1), (3, 'Mila', 20), (4, 'Noor', 30);
INSERT INTO ra.placement_contacts VALUES (1, 1, 12), (3, 2, 1), (4, 3, 20), (5, 4, 30), (6, 1, 12);

GRANT USAGE ON SCHEMA ra TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ra TO PUBLIC;

-- what the current role sees, table by table:
-- candidates/placements/timesheets/documents/client_contacts/placement_contacts
CREATE FUNCTION pg_temp.seen() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s/%s/%s/%s/%s/%s',
                  (SELECT count(*) FROM ra.candidates), (SELECT count(*) FROM ra.placements),
                  (SELECT count(*) FROM ra.timesheets), (SELECT count(*) FROM ra.documents),
                  (SELECT count(*) FROM ra.client_contacts), (SELECT count(*) FROM ra.placement_contacts))
$$;
-- the rows a statement affects, as the current role; the change is undone
CREATE FUNCTION pg_temp.affected(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    BEGIN
        EXECUTE sql;
        GET DIAGNOSTICS n = ROW_COUNT;
        RAISE SQLSTATE 'PX001';
    EXCEPTION WHEN SQLSTATE 'PX001' THEN
        RETURN n;
    END;
END
$$;
-- the plan of a statement for the current role, as one text
CREATE FUNCTION pg_temp.plan(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
        result := result || line || E'\n';
    END LOOP;
    RETURN result;
END
$$;
-- a wrapper owned by a superuser: the registry must still check the caller
CREATE FUNCTION pg_temp.definer_grant(r regrole, s text) RETURNS void
LANGUAGE sql SECURITY DEFINER AS $$ SELECT privacy.grant_scope(r, s) $$;
RESET client_min_messages;

-------------------------------------------------------------------------------
-- 1. subject types and the proposed registrations
-------------------------------------------------------------------------------
SET ROLE ra_admin;
SELECT lives_ok($$SELECT privacy.register_subject_type('candidate', 'ra.candidates', 'id', 'job seekers')$$,
                'the admin registers the subject type candidate');
SELECT lives_ok($$SELECT privacy.register_subject_type('client_contact', 'ra.client_contacts', 'id')$$,
                'the admin registers the subject type client_contact');
SELECT results_eq(
    $$SELECT name, root_table::text, key_column::text COLLATE "default", description FROM privacy.subject_type
       WHERE name IN ('candidate', 'client_contact') ORDER BY name$$,
    $$VALUES ('candidate', 'ra.candidates', 'id', 'job seekers'),
             ('client_contact', 'ra.client_contacts', 'id', NULL)$$,
    'the subject types are stored with root table and key column');

SELECT results_eq(
    $$SELECT tbl::text, key_column::text COLLATE "default", via::text, scope_column::text COLLATE "default", scope_through::text, registered, note
        FROM privacy.propose_registrations('candidate')$$,
    $$VALUES
        ('ra.candidates', 'id', NULL, 'branch_id', NULL, false, 'the subject type''s own table'),
        ('ra.documents', NULL, '{ra.candidates}', NULL, 'ra.candidates', false,
         '1 step(s): ra.documents -> ra.candidates'),
        ('ra.placements', NULL, '{ra.candidates}', 'branch_id', NULL, false,
         '1 step(s): ra.placements -> ra.candidates'),
        ('ra.placement_contacts', NULL, '{ra.placements,ra.candidates}', 'branch_id', NULL, false,
         '2 step(s): ra.placement_contacts -> ra.placements -> ra.candidates'),
        ('ra.timesheets', NULL, '{ra.placements,ra.candidates}', NULL, 'ra.placements', false,
         '2 step(s): ra.timesheets -> ra.placements -> ra.candidates'),
        ('ra.expense_lines', NULL, '{ra.timesheets,ra.placements,ra.candidates}', NULL, 'ra.timesheets', false,
         '3 step(s): ra.expense_lines -> ra.timesheets -> ra.placements -> ra.candidates')$$,
    'propose_registrations(candidate): the root first, then by path length, with scope columns and parents');

SELECT results_eq(
    $$SELECT count(*)::int FROM (
        SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column,
                                      scope_through => scope_through)
          FROM privacy.propose_registrations('candidate')) r$$,
    ARRAY[6],
    'registering every proposal in the proposed order works');
SELECT is((SELECT bool_and(registered) FROM privacy.propose_registrations('candidate')), true,
          'afterwards every proposal is marked registered');

SELECT results_eq(
    $$SELECT tbl::text, key_column::text COLLATE "default", via::text, scope_column::text COLLATE "default", scope_through::text, registered, note
        FROM privacy.propose_registrations('client_contact')$$,
    $$VALUES
        ('ra.client_contacts', 'id', NULL, 'branch_id', NULL, false, 'the subject type''s own table'),
        ('ra.placement_contacts', NULL, '{ra.client_contacts}', 'branch_id', NULL, false,
         '1 step(s): ra.placement_contacts -> ra.client_contacts')$$,
    'propose_registrations(client_contact)');
SELECT lives_ok(
    $$SELECT privacy.register_table(tbl, 'client_contact', key_column, via, scope_column,
                                    scope_through => scope_through)
        FROM privacy.propose_registrations('client_contact')$$,
    'a table already registered for candidate is registered for client_contact too');

SELECT results_eq(
    $$SELECT tbl::text, subject_type, key_column::text COLLATE "default", via::text, scope_kind, scope_column::text COLLATE "default",
             scope_through::text, rls_enabled, rls_forced, has_policy
        FROM privacy.registry WHERE tbl::text LIKE 'ra.%' ORDER BY tbl::text, subject_type$$,
    $$VALUES
        ('ra.candidates', 'candidate', 'id', NULL, 'branch', 'branch_id', NULL, true, true, true),
        ('ra.client_contacts', 'client_contact', 'id', NULL, 'branch', 'branch_id', NULL, true, true, true),
        ('ra.documents', 'candidate', NULL, '{ra.candidates}', 'branch', NULL, 'ra.candidates', true, true, true),
        ('ra.expense_lines', 'candidate', NULL, '{ra.timesheets,ra.placements,ra.candidates}', 'branch', NULL, 'ra.timesheets', true, true, true),
        ('ra.placement_contacts', 'candidate', NULL, '{ra.placements,ra.candidates}', 'branch', 'branch_id', NULL, true, true, true),
        ('ra.placement_contacts', 'client_contact', NULL, '{ra.client_contacts}', 'branch', 'branch_id', NULL, true, true, true),
        ('ra.placements', 'candidate', NULL, '{ra.candidates}', 'branch', 'branch_id', NULL, true, true, true),
        ('ra.timesheets', 'candidate', NULL, '{ra.placements,ra.candidates}', 'branch', NULL, 'ra.placements', true, true, true)$$,
    'privacy.registry lists every table, placement_contacts for two subject types');
SELECT is((SELECT via_columns FROM privacy.table_subject WHERE relid = 'ra.timesheets'::regclass),
          '[{"columns": ["placement_id"], "ref_columns": ["id"]}, {"columns": ["candidate_id"], "ref_columns": ["id"]}]'::jsonb,
          'the path of timesheets records the columns of each foreign key');
SELECT results_eq(
    $$SELECT scope_fk_columns::text COLLATE "default", scope_ref_columns::text COLLATE "default" FROM privacy.registered_table
       WHERE relid = 'ra.documents'::regclass$$,
    $$VALUES ('{candidate_id}', '{id}')$$,
    'documents are scoped through candidates by candidate_id -> id');
RESET ROLE;

SELECT is((SELECT pg_get_expr(polqual, polrelid) FROM pg_policy
            WHERE polrelid = 'ra.candidates'::regclass AND polname = 'privacy_scope'),
          '(privacy.scope_all(''branch''::text) OR (branch_id = ANY (privacy.scope_values(''branch''::text, NULL::smallint))))',
          'the policy of a table with a scope column');
SELECT is((SELECT pg_get_expr(polwithcheck, polrelid) = pg_get_expr(polqual, polrelid) FROM pg_policy
            WHERE polrelid = 'ra.candidates'::regclass AND polname = 'privacy_scope'),
          true, 'the policy checks new rows with the same condition');
SELECT matches((SELECT pg_get_expr(polqual, polrelid) FROM pg_policy
                 WHERE polrelid = 'ra.documents'::regclass AND polname = 'privacy_scope'),
               '^\(privacy\.scope_all\(''branch''::text\) OR \(candidate_id IN \( SELECT candidates\.id\s+FROM ra\.candidates\)\)\)$',
               'the policy of a table scoped through its parent');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polname = 'privacy_scope'
              AND polrelid::regclass::text LIKE 'ra.%' AND NOT polpermissive AND polcmd = '*'
              AND polroles = '{0}'),
          7, 'seven restrictive scope policies for all commands and every role');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polname = 'privacy_base'
              AND polrelid::regclass::text LIKE 'ra.%' AND polpermissive AND polcmd = '*'
              AND polroles = '{0}' AND pg_get_expr(polqual, polrelid) = 'true'),
          7, 'seven permissive base policies that let the scope decide');

-------------------------------------------------------------------------------
-- 2. scopes
-------------------------------------------------------------------------------
SET ROLE ra_admin;
SELECT lives_ok($$SELECT privacy.grant_scope('ra_clerk_utrecht', '12')$$, 'the admin grants branch 12');
SELECT lives_ok($$SELECT privacy.grant_scope('ra_clerk_amsterdam', '1')$$, 'the admin grants branch 1');
SELECT lives_ok($$SELECT privacy.grant_scope('ra_region_midden', '12'),
                         privacy.grant_scope('ra_region_midden', '20')$$,
                'the admin grants two branches to a group role');
SELECT lives_ok($$SELECT privacy.grant_scope('ra_head_office', '*')$$, 'the admin grants every branch');
SELECT lives_ok($$SELECT privacy.grant_scope('ra_clerk_utrecht', '12')$$, 'granting a scope twice is harmless');
SELECT results_eq(
    $$SELECT role::text, scope_kind, scope, granted_by = session_user FROM privacy.scope_grant
       WHERE role::text LIKE 'ra\_%' ORDER BY 1, 3$$,
    $$VALUES ('ra_clerk_amsterdam', 'branch', '1', true),
             ('ra_clerk_utrecht', 'branch', '12', true),
             ('ra_head_office', 'branch', '*', true),
             ('ra_region_midden', 'branch', '12', true),
             ('ra_region_midden', 'branch', '20', true)$$,
    'the grants, recorded with the granting login role');
RESET ROLE;

SELECT results_eq($$SELECT scope_kind, scope, granted_to::text FROM privacy.role_scopes('ra_manager')$$,
                  $$VALUES ('branch', '12', 'ra_region_midden'), ('branch', '20', 'ra_region_midden')$$,
                  'role_scopes: the manager holds the scopes of its group');
SELECT results_eq($$SELECT scope, granted_to::text FROM privacy.role_scopes('ra_clerk_utrecht')$$,
                  $$VALUES ('12', 'ra_clerk_utrecht')$$, 'role_scopes: the Utrecht clerk holds branch 12');
SELECT is_empty($$SELECT * FROM privacy.role_scopes('ra_nobody')$$, 'role_scopes: a role without scopes holds none');
SET SESSION AUTHORIZATION ra_clerk_amsterdam;
SELECT results_eq($$SELECT scope, granted_to::text FROM privacy.role_scopes()$$,
                  $$VALUES ('1', 'ra_clerk_amsterdam')$$,
                  'role_scopes() without an argument: the scopes of the logged-in role');
RESET SESSION AUTHORIZATION;
SET ROLE ra_manager;
SELECT results_eq($$SELECT scope, granted_to::text FROM privacy.role_scopes()$$,
                  $$VALUES ('12', 'ra_region_midden'), ('20', 'ra_region_midden')$$,
                  'after SET ROLE, role_scopes() lists the scopes of the current role, which the policies use');
SET ROLE ra_clerk_utrecht;
SELECT results_eq($$SELECT scope FROM privacy.role_scopes('ra_clerk_utrecht')$$, $$VALUES ('12')$$,
                  'a clerk may name itself');
SELECT is_empty($$SELECT * FROM privacy.role_scopes('ra_manager')$$,
                'but learns nothing about the scopes of another role');
SET ROLE ra_admin;
SELECT is((SELECT count(*)::int FROM privacy.role_scopes('ra_manager')), 2,
          'the admin lists the scopes of another role');
RESET ROLE;

-- the scopes of a dropped role go with it
CREATE ROLE ra_leaver;
SET ROLE ra_admin;
SELECT lives_ok($$SELECT privacy.grant_scope('ra_leaver', '20')$$, 'a role that will leave gets branch 20');
RESET ROLE;
DROP ROLE ra_leaver;
SELECT is((SELECT count(*)::int FROM privacy.scope_grant g
            WHERE NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = g.role::oid)), 0,
          'DROP ROLE removes the role''s scope grants');

-------------------------------------------------------------------------------
-- 3. what each role sees: candidates/placements/timesheets/documents/
--    client_contacts/placement_contacts
-------------------------------------------------------------------------------
SET ROLE ra_clerk_utrecht;
SELECT is(pg_temp.seen(), '3/3/4/2/1/2', 'the Utrecht clerk sees the rows of branch 12');
SELECT results_eq($$SELECT id FROM ra.candidates ORDER BY id$$, ARRAY[1, 2, 3],
                  'the Utrecht clerk sees candidates 1, 2, 3');
SELECT results_eq($$SELECT id FROM ra.placements ORDER BY id$$, ARRAY[1, 2, 6],
                  'the Utrecht clerk sees placement 6 of an Amsterdam candidate, placed by Utrecht');
SELECT results_eq($$SELECT id FROM ra.documents ORDER BY id$$, ARRAY[1, 2],
                  'the Utrecht clerk sees the documents of Utrecht candidates only');
SELECT results_eq($$SELECT id FROM ra.timesheets ORDER BY id$$, ARRAY[1, 2, 3, 7],
                  'the Utrecht clerk sees the timesheets of Utrecht placements');
SELECT is((SELECT count(*)::int FROM ra.candidates WHERE branch_id = 1), 0,
          'asking for another branch returns nothing');
SELECT is((SELECT count(*)::int FROM ra.documents d WHERE d.candidate_id = 5), 0,
          'the document of Eva stays hidden although Utrecht placed her');

SET ROLE ra_clerk_amsterdam;
SELECT is(pg_temp.seen(), '2/1/1/2/1/1', 'the Amsterdam clerk sees the rows of branch 1');
SELECT results_eq($$SELECT id FROM ra.documents ORDER BY id$$, ARRAY[3, 7],
                  'the Amsterdam clerk sees the documents of Amsterdam candidates');

SET ROLE ra_manager;
SELECT is(pg_temp.seen(), '4/4/5/4/2/3', 'the regional manager sees branches 12 and 20 through the group role');
SELECT results_eq($$SELECT DISTINCT branch_id FROM ra.candidates ORDER BY 1$$, ARRAY[12, 20]::smallint[],
                  'the regional manager sees exactly branches 12 and 20');

SET ROLE ra_region_midden;
SELECT is(pg_temp.seen(), '4/4/5/4/2/3', 'the group role itself sees the same rows');

SET ROLE ra_head_office;
SELECT is(pg_temp.seen(), '7/6/7/7/4/5', 'a * grant sees every row');

SET ROLE ra_admin;
SELECT is(pg_temp.seen(), '0/0/0/0/0/0', 'the privacy admin without scopes sees no rows');

SET ROLE ra_nobody;
SELECT is(pg_temp.seen(), '0/0/0/0/0/0', 'a role without scopes sees no rows');

SET ROLE ra_super;
SELECT is(pg_temp.seen(), '7/6/7/7/4/5', 'a superuser sees every row');

SET ROLE ra_bypass;
SELECT is(pg_temp.seen(), '7/6/7/7/4/5', 'a BYPASSRLS role sees every row');
RESET ROLE;

SELECT is(pg_temp.seen(), '7/6/7/7/4/5', 'the superuser owner sees every row');

-------------------------------------------------------------------------------
-- 4. UPDATE and DELETE reach the visible rows only
-------------------------------------------------------------------------------
SET ROLE ra_clerk_utrecht;
SELECT is(pg_temp.affected('UPDATE ra.candidates SET name = name'), 3::bigint,
          'the Utrecht clerk updates 3 candidates');
SELECT is(pg_temp.affected('UPDATE ra.candidates SET name = name WHERE id = 4'), 0::bigint,
          'the Utrecht clerk updates no candidate of Amsterdam');
SELECT is(pg_temp.affected('UPDATE ra.documents SET title = title'), 2::bigint,
          'the Utrecht clerk updates 2 documents');
SELECT is(pg_temp.affected('UPDATE ra.timesheets SET hours = hours + 1'), 4::bigint,
          'the Utrecht clerk updates 4 timesheets');
SELECT is(pg_temp.affected('DELETE FROM ra.documents'), 2::bigint,
          'the Utrecht clerk deletes 2 documents');
SELECT is(pg_temp.affected('DELETE FROM ra.placement_contacts'), 2::bigint,
          'the Utrecht clerk deletes 2 placement contacts');
SELECT is(pg_temp.affected('DELETE FROM ra.documents WHERE candidate_id = 6'), 0::bigint,
          'the Utrecht clerk deletes no document of Rotterdam');

SET ROLE ra_clerk_amsterdam;
SELECT is(pg_temp.affected('UPDATE ra.candidates SET name = name'), 2::bigint,
          'the Amsterdam clerk updates 2 candidates');
SELECT is(pg_temp.affected('UPDATE ra.timesheets SET hours = hours'), 1::bigint,
          'the Amsterdam clerk updates 1 timesheet');
SELECT is(pg_temp.affected('DELETE FROM ra.documents'), 2::bigint,
          'the Amsterdam clerk deletes 2 documents');

SET ROLE ra_manager;
SELECT is(pg_temp.affected('UPDATE ra.placements SET role = role'), 4::bigint,
          'the regional manager updates 4 placements');
SELECT is(pg_temp.affected('DELETE FROM ra.documents'), 4::bigint,
          'the regional manager deletes 4 documents');

SET ROLE ra_head_office;
SELECT is(pg_temp.affected('UPDATE ra.candidates SET name = name'), 7::bigint,
          'the * holder updates every candidate');
SELECT is(pg_temp.affected('DELETE FROM ra.placement_contacts'), 5::bigint,
          'the * holder deletes every placement contact');

SET ROLE ra_nobody;
SELECT is(pg_temp.affected('UPDATE ra.candidates SET name = name'), 0::bigint,
          'a role without scopes updates nothing');
SELECT is(pg_temp.affected('DELETE FROM ra.documents'), 0::bigint,
          'a role without scopes deletes nothing');
RESET ROLE;
SELECT is(pg_temp.seen(), '7/6/7/7/4/5', 'the undone changes left every row in place');

-------------------------------------------------------------------------------
-- 5. INSERT and UPDATE into another branch
-------------------------------------------------------------------------------
SET ROLE ra_clerk_utrecht;
SELECT is(pg_temp.affected($$INSERT INTO ra.candidates VALUES (100, 'Olga', 12)$$), 1::bigint,
          'the Utrecht clerk inserts a candidate of branch 12');
SELECT throws_ok($$INSERT INTO ra.candidates VALUES (101, 'Piet', 1)$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "candidates"',
                 'the Utrecht clerk may not insert a candidate of branch 1');
SELECT throws_ok($$INSERT INTO ra.placement_contacts VALUES (2, 2, 1)$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "placement_contacts"',
                 'the Utrecht clerk may not insert a placement contact of branch 1');
SELECT throws_ok($$UPDATE ra.candidates SET branch_id = 1 WHERE id = 1$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "candidates"',
                 'the Utrecht clerk may not move a candidate to branch 1');
SELECT throws_ok($$UPDATE ra.placements SET branch_id = 20 WHERE id = 2$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "placements"',
                 'the Utrecht clerk may not move a placement to branch 20');
SELECT is(pg_temp.affected($$INSERT INTO ra.documents VALUES (100, 3, 'reference')$$), 1::bigint,
          'the Utrecht clerk adds a document to an Utrecht candidate');
SELECT throws_ok($$INSERT INTO ra.documents VALUES (101, 4, 'reference')$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "documents"',
                 'the Utrecht clerk may not add a document to an Amsterdam candidate');
SELECT throws_ok($$UPDATE ra.documents SET candidate_id = 4 WHERE id = 1$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "documents"',
                 'the Utrecht clerk may not move a document to an Amsterdam candidate');
SELECT throws_ok($$INSERT INTO ra.timesheets VALUES (100, 3, 1)$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "timesheets"',
                 'the Utrecht clerk may not add a timesheet to an Amsterdam placement');
SELECT is(pg_temp.affected($$INSERT INTO ra.timesheets VALUES (100, 6, 1)$$), 1::bigint,
          'the Utrecht clerk adds a timesheet to an Utrecht placement of an Amsterdam candidate');
SET ROLE ra_manager;
SELECT is(pg_temp.affected($$INSERT INTO ra.candidates VALUES (102, 'Quinn', 20)$$), 1::bigint,
          'the regional manager inserts into either of the two branches');
SELECT throws_ok($$INSERT INTO ra.candidates VALUES (103, 'Rik', 30)$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "candidates"',
                 'the regional manager may not insert into branch 30');
SET ROLE ra_head_office;
SELECT is(pg_temp.affected($$UPDATE ra.candidates SET branch_id = 30 WHERE id = 1$$), 1::bigint,
          'the * holder moves a candidate to any branch');
SET ROLE ra_nobody;
SELECT throws_ok($$INSERT INTO ra.candidates VALUES (104, 'Sam', 12)$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "candidates"',
                 'a role without scopes may not insert');
RESET ROLE;

-------------------------------------------------------------------------------
-- 6. rows scoped through their parent follow the parent
-------------------------------------------------------------------------------
UPDATE ra.candidates SET branch_id = 12 WHERE id = 5;
SET ROLE ra_clerk_utrecht;
SELECT results_eq($$SELECT id FROM ra.documents ORDER BY id$$, ARRAY[1, 2, 7],
                  'once Eva moves to Utrecht, her document is visible to the Utrecht clerk');
SET ROLE ra_clerk_amsterdam;
SELECT results_eq($$SELECT id FROM ra.documents ORDER BY id$$, ARRAY[3],
                  'and no longer to the Amsterdam clerk');
RESET ROLE;
UPDATE ra.candidates SET branch_id = 1 WHERE id = 5;

-- a path of three foreign-key steps, scoped through a table that is itself
-- scoped through its parent
SELECT is((SELECT via_columns FROM privacy.table_subject WHERE relid = 'ra.expense_lines'::regclass),
          '[{"columns": ["timesheet_id"], "ref_columns": ["id"]}, {"columns": ["placement_id"], "ref_columns": ["id"]}, {"columns": ["candidate_id"], "ref_columns": ["id"]}]'::jsonb,
          'its path records the three foreign keys');
SET ROLE ra_clerk_utrecht;
SELECT results_eq($$SELECT id FROM ra.expense_lines ORDER BY id$$, ARRAY[1, 5],
                  'the Utrecht clerk sees the expense lines of Utrecht timesheets');
SELECT throws_ok($$INSERT INTO ra.expense_lines VALUES (100, 4, 1)$$, '42501',
                 'new row violates row-level security policy "privacy_scope" for table "expense_lines"',
                 'the Utrecht clerk may not add an expense line to an Amsterdam timesheet');
SET ROLE ra_manager;
SELECT results_eq($$SELECT id FROM ra.expense_lines ORDER BY id$$, ARRAY[1, 3, 5],
                  'the regional manager sees the expense lines of branches 12 and 20');
SET ROLE ra_head_office;
SELECT is((SELECT count(*)::int FROM ra.expense_lines), 5, 'the * holder sees every expense line');
RESET ROLE;

-------------------------------------------------------------------------------
-- 7. the plan: scope calls folded into constants, the branch index used
-------------------------------------------------------------------------------
SET enable_seqscan = off;
SET ROLE ra_clerk_utrecht;
SELECT matches(pg_temp.plan('SELECT id FROM ra.candidates'),
               'branch_id = ANY \(''\{12\}''::smallint\[\]\)',
               'for the Utrecht clerk the policy is folded into branch_id = ANY (''{12}'')');
SELECT matches(pg_temp.plan('SELECT id FROM ra.candidates'),
               '(Bitmap Index Scan|Index Scan|Index Only Scan) (using |on )candidates_branch_idx',
               'the branch index serves the policy');
SELECT doesnt_match(pg_temp.plan('SELECT id FROM ra.candidates'), 'scope_all|scope_values',
                    'no scope call is left in the plan');
SELECT matches(pg_temp.plan('SELECT id FROM ra.documents'),
               'branch_id = ANY \(''\{12\}''::smallint\[\]\)',
               'the policy of documents is folded through the candidates subquery');
SET ROLE ra_manager;
SELECT matches(pg_temp.plan('SELECT id FROM ra.candidates'),
               'branch_id = ANY \(''\{(12,20|20,12)\}''::smallint\[\]\)',
               'for the regional manager the constant holds both branches');
SET ROLE ra_nobody;
SELECT matches(pg_temp.plan('SELECT id FROM ra.candidates'),
               'branch_id = ANY \(''\{\}''::smallint\[\]\)',
               'for a role without scopes the constant is empty');
SET ROLE ra_head_office;
SELECT doesnt_match(pg_temp.plan('SELECT id FROM ra.candidates'), 'branch_id =|Filter|Cond',
                    'for a * holder the policy folds to true: no condition at all');
RESET ROLE;
RESET enable_seqscan;

-------------------------------------------------------------------------------
-- 8. changes take effect at the next statement
-------------------------------------------------------------------------------
SET ROLE ra_clerk_utrecht;
PREPARE ra_count AS SELECT count(*)::int FROM ra.candidates;
SELECT results_eq('ra_count', ARRAY[3], 'before the revoke the prepared statement counts 3 candidates');
SELECT results_eq('ra_count', ARRAY[3], 'and again, from its cached plan');
SET ROLE ra_admin;
SELECT lives_ok($$SELECT privacy.revoke_scope('ra_clerk_utrecht', '12')$$, 'the admin revokes branch 12');
SET ROLE ra_clerk_utrecht;
SELECT is((SELECT count(*)::int FROM ra.candidates), 0, 'at the next statement the clerk sees nothing');
SELECT results_eq('ra_count', ARRAY[0], 'the prepared statement sees nothing either');
SELECT matches(pg_temp.plan('EXECUTE ra_count'), '''\{\}''::smallint',
               'the prepared statement was planned again with the empty scope');
SET ROLE ra_admin;
SELECT lives_ok($$SELECT privacy.grant_scope('ra_clerk_utrecht', '1')$$, 'the admin grants branch 1 instead');
SET ROLE ra_clerk_utrecht;
SELECT is((SELECT array_agg(id ORDER BY id) FROM ra.candidates), ARRAY[4, 5],
          'at the next statement the clerk sees branch 1');
SELECT results_eq('ra_count', ARRAY[2], 'and so does the prepared statement');
RESET ROLE;
DEALLOCATE ra_count;

-- role membership
REVOKE ra_region_midden FROM ra_manager;
SET ROLE ra_manager;
SELECT is(pg_temp.seen(), '0/0/0/0/0/0', 'without the group role the manager sees nothing');
RESET ROLE;
GRANT ra_region_midden TO ra_manager;
SET ROLE ra_manager;
SELECT is(pg_temp.seen(), '4/4/5/4/2/3', 'with the group role back the manager sees both branches again');
RESET ROLE;
CREATE ROLE ra_noinherit LOGIN NOINHERIT IN ROLE ra_region_midden;
SET ROLE ra_noinherit;
SELECT is((SELECT count(*)::int FROM ra.candidates), 0, 'a NOINHERIT member does not hold the scopes of its group');
RESET ROLE;

-- a grant rolled back to a savepoint is forgotten at once
SAVEPOINT before_grant;
SELECT lives_ok($$SELECT privacy.grant_scope('ra_nobody', '20')$$, 'a grant inside a savepoint');
SET ROLE ra_nobody;
SELECT is((SELECT count(*)::int FROM ra.candidates), 1, 'inside the savepoint the new grant shows');
RESET ROLE;
ROLLBACK TO SAVEPOINT before_grant;
SET ROLE ra_nobody;
SELECT is((SELECT count(*)::int FROM ra.candidates), 0, 'after ROLLBACK TO SAVEPOINT the grant is gone');
RESET ROLE;

-- back to the grants of section 2
SET ROLE ra_admin;
SELECT lives_ok($$SELECT privacy.revoke_scope('ra_clerk_utrecht', '1'), privacy.grant_scope('ra_clerk_utrecht', '12')$$,
                'the Utrecht clerk gets branch 12 back');
RESET ROLE;

-------------------------------------------------------------------------------
-- 9. registration errors, with their SQLSTATE
-------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE SCHEMA rx;
GRANT USAGE ON SCHEMA rx TO PUBLIC;
CREATE TABLE rx.loose_notes (id int PRIMARY KEY, candidate_code text, branch_id smallint, branch_code text);
CREATE TABLE rx.referrals (
    id           int PRIMARY KEY,
    candidate_id int REFERENCES ra.candidates,
    referred_by  int REFERENCES ra.candidates
);
CREATE TABLE rx.placement_notes (id int PRIMARY KEY, placement_id int REFERENCES ra.placements);
CREATE TABLE rx.lonely (id int PRIMARY KEY, candidate_id int);
CREATE VIEW rx.candidate_names AS SELECT id, name FROM ra.candidates;
CREATE TABLE rx.region_notes (id int PRIMARY KEY, candidate_id int REFERENCES ra.candidates, region text);
RESET client_min_messages;

SET ROLE ra_admin;
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'supplier', key_column => 'id')$$,
                 '42704', 'subject type "supplier" does not exist', 'unknown subject type');
SELECT throws_ok($$SELECT privacy.propose_registrations('supplier')$$,
                 '42704', 'subject type "supplier" does not exist', 'propose for an unknown subject type');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate', key_column => 'candidate_no')$$,
                 '42703', 'column "candidate_no" of relation "rx.loose_notes" does not exist',
                 'unknown key column');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate', key_column => 'id',
                                                 scope_column => 'vestiging')$$,
                 '42703', 'column "vestiging" of relation "rx.loose_notes" does not exist',
                 'unknown scope column');
SELECT throws_ok($$SELECT privacy.register_subject_type('supplier', 'rx.loose_notes', 'supplier_id')$$,
                 '42703', 'column "supplier_id" of relation "rx.loose_notes" does not exist',
                 'unknown key column of a subject type');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate', key_column => 'candidate_code')$$,
                 '42804', 'column "candidate_code" of "rx.loose_notes" is of type text, but the key of subject type "candidate" is of type integer',
                 'a key column of the wrong type');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate', via => '{ra.candidates}')$$,
                 '42830', 'no foreign key from "rx.loose_notes" to "ra.candidates"',
                 'a path without a foreign key');
SELECT throws_ok($$SELECT privacy.register_table('rx.referrals', 'candidate', via => '{ra.candidates}')$$,
                 '42830', 'more than one foreign key from "rx.referrals" to "ra.candidates"',
                 'a path with two foreign keys to choose from');
SELECT is((SELECT note FROM privacy.propose_registrations('candidate') WHERE tbl = 'rx.referrals'::regclass),
          'more than one foreign key on the path: register with a key column',
          'propose_registrations says so too');
SELECT throws_ok($$SELECT privacy.register_table('rx.placement_notes', 'candidate', via => '{ra.placements}')$$,
                 '22023', 'the foreign-key path from "rx.placement_notes" ends at "ra.placements", not at "ra.candidates", the table of subject type "candidate"',
                 'a path that does not end at the root table');
SELECT throws_ok($$SELECT privacy.register_table('rx.candidate_names', 'candidate', key_column => 'id')$$,
                 '42809', '"rx.candidate_names" is not a table', 'a view is not a table');
SELECT throws_ok($$SELECT privacy.register_table('ra.candidates', 'candidate')$$,
                 '42710', 'table "ra.candidates" is already registered for subject type "candidate"',
                 'a table registered twice for the same subject type');
SELECT throws_ok($$SELECT privacy.register_subject_type('candidate', 'ra.candidates', 'id')$$,
                 '42710', 'subject type "candidate" already exists', 'a subject type registered twice');
SELECT throws_ok($$SELECT privacy.register_subject_type('Candidate Two', 'ra.candidates', 'id')$$,
                 '42602', 'invalid subject type name "Candidate Two"', 'an invalid subject type name');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate', key_column => 'id', via => '{ra.candidates}')$$,
                 '22023', 'give a key column or a foreign-key path, not both', 'key column and path together');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate')$$,
                 '22023', 'table "rx.loose_notes" needs a key column or a foreign-key path to "ra.candidates"',
                 'neither key column nor path');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate', key_column => 'id',
                                                 scope_column => 'branch_id', scope_kind => 'Branch!')$$,
                 '42602', 'invalid scope kind "Branch!"', 'an invalid scope kind');
SELECT throws_ok($$SELECT privacy.register_table('rx.region_notes', 'candidate', via => '{ra.candidates}',
                                                 scope_column => 'region', scope_through => 'ra.candidates')$$,
                 '22023', 'give a scope column or a table to scope through, not both',
                 'scope column and parent together');
SELECT throws_ok($$SELECT privacy.register_table('rx.placement_notes', 'candidate', via => '{ra.placements,ra.candidates}',
                                                 scope_through => 'rx.region_notes')$$,
                 '22023', 'table "rx.region_notes" is not a scoped registered table',
                 'scoping through an unregistered table');
SELECT throws_ok($$SELECT privacy.register_table('rx.referrals', 'candidate', key_column => 'candidate_id',
                                                 scope_through => 'ra.candidates')$$,
                 '42830', '2 foreign keys from "rx.referrals" to "ra.candidates"; exactly one is needed to scope through it',
                 'scoping through a parent referenced twice');
SELECT throws_ok($$SELECT privacy.register_table('rx.lonely', 'candidate', key_column => 'candidate_id',
                                                 scope_through => 'ra.candidates')$$,
                 '42830', '0 foreign keys from "rx.lonely" to "ra.candidates"; exactly one is needed to scope through it',
                 'scoping through a parent not referenced at all');
SELECT throws_ok($$SELECT privacy.register_table('ra.timesheets', 'client_contact', key_column => 'id',
                                                 scope_column => 'hours')$$,
                 '22023', 'table "ra.timesheets" is already scoped by table "ra.placements"',
                 'a second registration may not change the scope');
SELECT throws_ok($$SELECT privacy.unregister_table('rx.loose_notes')$$,
                 '42704', 'table "rx.loose_notes" is not registered', 'unregistering a table that is not registered');
SELECT throws_ok($$SELECT privacy.unregister_table('ra.candidates', 'client_contact')$$,
                 '42704', 'table "ra.candidates" is not registered for subject type "client_contact"',
                 'unregistering for a subject type the table is not registered for');
SELECT throws_ok($$SELECT privacy.grant_scope('ra_nobody', 'utrecht')$$,
                 '22P02', 'scope "utrecht" is not a valid value for column "branch_id" of "ra.candidates"',
                 'a scope that is not a smallint');
SELECT throws_ok($$SELECT privacy.grant_scope('ra_nobody', '70000')$$,
                 '22P02', NULL, 'a scope out of the range of smallint');
SELECT throws_ok($$SELECT privacy.grant_scope('ra_nobody', '')$$,
                 '22023', 'a scope must not be empty', 'an empty scope');
SELECT throws_ok($$SELECT privacy.revoke_scope('ra_nobody', '12')$$,
                 '42704', 'role "ra_nobody" does not hold scope "12" of kind "branch"', 'revoking a scope not held');
SELECT lives_ok($$SELECT privacy.grant_scope('ra_nobody', 'north', 'region')$$,
                'a scope of a kind no table uses yet is accepted');
SELECT throws_ok($$SELECT privacy.register_table('rx.loose_notes', 'candidate', key_column => 'id',
                                                 scope_column => 'branch_id', scope_kind => 'region')$$,
                 '22P02', 'a granted scope of kind "region" is not a valid value for column "branch_id" of "rx.loose_notes"',
                 'a scope column that cannot hold a granted scope of its kind is refused');
SELECT lives_ok($$SELECT privacy.revoke_scope('ra_nobody', 'north', 'region')$$, 'the grant is revoked');
SELECT is((SELECT count(*)::int FROM privacy.registered_table WHERE relid::text LIKE 'rx.%'), 0,
          'none of the refused registrations left a trace');
SELECT is((SELECT count(*)::int FROM privacy.scope_grant WHERE role = 'ra_nobody'::regrole), 0,
          'none of the refused grants left a trace');

-- a registration through a parent, undone
SELECT lives_ok($$SELECT privacy.register_table('rx.region_notes', 'candidate', via => '{ra.candidates}',
                                                scope_through => 'ra.candidates')$$,
                'a table scoped through candidates registered explicitly');
SELECT lives_ok($$SELECT privacy.unregister_table('rx.region_notes')$$, 'and unregistered');
RESET ROLE;
SELECT results_eq(
    $$SELECT c.relrowsecurity, c.relforcerowsecurity,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid)
        FROM pg_class c WHERE c.oid = 'rx.region_notes'::regclass$$,
    $$VALUES (false, false, 0)$$,
    'unregistering the last subject type removes the policy and restores the row-level security flags');

-------------------------------------------------------------------------------
-- 10. callers outside privacy_admin
-------------------------------------------------------------------------------
SET ROLE ra_clerk_utrecht;
SELECT throws_ok($$SELECT privacy.grant_scope('ra_clerk_utrecht', '*')$$, '42501', NULL,
                 'a clerk may not grant itself a scope');
SELECT throws_ok($$SELECT privacy.revoke_scope('ra_clerk_amsterdam', '1')$$, '42501', NULL,
                 'a clerk may not revoke a scope');
SELECT throws_ok($$SELECT privacy.register_table('rx.lonely', 'candidate', key_column => 'candidate_id')$$, '42501', NULL,
                 'a clerk may not register a table');
SELECT throws_ok($$SELECT privacy.unregister_table('ra.candidates')$$, '42501', NULL,
                 'a clerk may not unregister a table');
SELECT throws_ok($$SELECT privacy.register_subject_type('supplier', 'rx.lonely', 'id')$$, '42501', NULL,
                 'a clerk may not register a subject type');
SELECT throws_ok($$SELECT * FROM privacy.propose_registrations('candidate')$$, '42501', NULL,
                 'a clerk may not ask for proposals');
SELECT throws_ok($$SELECT * FROM privacy.registry$$, '42501', NULL, 'a clerk may not read the registry');
SELECT throws_ok($$SELECT * FROM privacy.scope_grant$$, '42501', NULL, 'a clerk may not read the grants');
SELECT throws_ok($$INSERT INTO privacy.scope_grant (role, scope) VALUES ('ra_clerk_utrecht', '*')$$, '42501', NULL,
                 'a clerk may not write a grant directly');
SELECT throws_ok($$SELECT pg_temp.definer_grant('ra_clerk_utrecht', '*')$$, '42501',
                 'permission denied to manage the privacy registry',
                 'a SECURITY DEFINER wrapper owned by a superuser does not help the clerk');
RESET ROLE;
GRANT EXECUTE ON FUNCTION privacy.grant_scope(regrole, text, text) TO ra_clerk_amsterdam;
SET ROLE ra_clerk_amsterdam;
SELECT throws_ok($$SELECT privacy.grant_scope('ra_clerk_amsterdam', '*')$$, '42501',
                 'permission denied to manage the privacy registry',
                 'EXECUTE on grant_scope without membership in privacy_admin is not enough');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION privacy.grant_scope(regrole, text, text) FROM ra_clerk_amsterdam;
SET ROLE ra_clerk_utrecht;
SELECT is((SELECT count(*)::int FROM ra.candidates), 3, 'the refused calls changed nothing for the clerk');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.scope_grant WHERE scope = '*'), 1,
          'only the head office holds *');
SET ROLE ra_super;
SELECT lives_ok($$SELECT privacy.grant_scope('ra_nobody', '30')$$, 'a superuser outside privacy_admin manages scopes');
SELECT lives_ok($$SELECT privacy.revoke_scope('ra_nobody', '30')$$, 'and revokes them');
RESET ROLE;

-------------------------------------------------------------------------------
-- 11. privacy.status(): roles that bypass row-level security
-------------------------------------------------------------------------------
SELECT matches((SELECT detail FROM privacy.status() WHERE component = 'bypass roles'),
               '(^|[ :,])ra_bypass(,|$)', 'a BYPASSRLS login role is listed under bypass roles');
SELECT matches((SELECT detail FROM privacy.status() WHERE component = 'bypass roles'),
               '(^|[ :,])ra_super(,|$)', 'a superuser login role is listed under bypass roles');
SELECT doesnt_match((SELECT detail FROM privacy.status() WHERE component = 'bypass roles'),
                    'ra_bypass_nologin|ra_clerk|ra_head_office',
                    'roles that cannot log in or do not bypass are not listed');
SELECT is((SELECT state FROM privacy.status() WHERE component = 'bypass roles'), 'warning',
          'bypass roles are a warning');

SELECT * FROM finish();
ROLLBACK;
