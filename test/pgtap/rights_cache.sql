-- The statements an erasure builds are kept in the backend (their text in
-- the SQL cache, their plans as kept plans); this follows them through
-- catalog and schema changes in one session, on tables owned by an
-- application role that is subject to its own scoped policies.
--
-- Asserted:
--  * a table where nothing can be kept is erased with a plain delete; once
--    a rule with a minimum keep period covers it (same session), the next
--    erasure keeps its rows, and once the rule is gone deletes them again;
--  * columns and indexes added and dropped between erasures, and a table
--    truncated, do not break the kept plans;
--  * a dry run counts what the real erasure then does, with warm caches;
--  * after erasures ran as the table owner, the owner's own queries still
--    see only its scope (the policies were not folded open for the owner),
--    and a clerk's too;
--  * a clerk may call neither privacy._query nor privacy._act_as_owner.
BEGIN;
SELECT plan(22);

SET client_min_messages = warning;
CREATE ROLE rc_admin IN ROLE privacy_admin;
CREATE ROLE rc_officer IN ROLE privacy_officer;
CREATE ROLE rc_clerk;
CREATE ROLE rc_owner;

CREATE SCHEMA rc AUTHORIZATION rc_owner;
GRANT USAGE ON SCHEMA rc TO rc_admin, rc_officer, rc_clerk;
SET ROLE rc_owner;
CREATE TABLE rc.persons (
    id     int PRIMARY KEY,
    branch text NOT NULL,
    naam   text NOT NULL
);
CREATE TABLE rc.notes (
    id        int PRIMARY KEY,
    person_id int NOT NULL REFERENCES rc.persons,
    branch    text NOT NULL,
    written   date NOT NULL,
    body      text
);
INSERT INTO rc.persons SELECT g, CASE WHEN g % 2 = 0 THEN 'utrecht' ELSE 'zwolle' END, 'Persoon ' || g
  FROM generate_series(1, 8) g;
INSERT INTO rc.notes SELECT 10 * p + n, p, CASE WHEN p % 2 = 0 THEN 'utrecht' ELSE 'zwolle' END,
                            DATE '2026-01-01', 'notitie ' || n
  FROM generate_series(1, 8) p, generate_series(1, 3) n;
GRANT SELECT, INSERT, UPDATE, DELETE ON rc.persons, rc.notes TO rc_clerk;
GRANT SELECT ON rc.persons, rc.notes TO rc_admin;
RESET ROLE;

SET ROLE rc_admin;
SELECT privacy.register_subject_type('rc_person', 'rc.persons', 'id', 'Personen');
SELECT privacy.register_table('rc.persons', 'rc_person', scope_column => 'branch');
SELECT privacy.register_table('rc.notes', 'rc_person', key_column => 'person_id', scope_column => 'branch');
SELECT privacy.grant_scope('rc_clerk', 'zwolle');
SELECT privacy.grant_scope('rc_owner', 'utrecht');
SELECT privacy.grant_scope('rc_admin', '*');
SELECT privacy.define_document_type('rc_note', '1 year', 'from the day the note was written',
                                    min_keep => '10 years');
RESET ROLE;

-- a plain delete where nothing can be kept
SET ROLE rc_officer;
SELECT is((SELECT (t ->> 'deleted')::int FROM jsonb_array_elements(
               privacy.erase_subject('rc_person', '1', 'art. 17(1)(a)') -> 'tables') t
            WHERE t ->> 'table' = 'rc.notes'), 3,
          'the notes of person 1 are deleted');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM rc.notes WHERE person_id = 1), 0, 'no note of person 1 is left');

-- a rule with a minimum keep period, in the same session
SET ROLE rc_admin;
SELECT privacy.create_retention_rule('rc_notes', 'rc.notes', 'rc_note', start_expr => 'written');
RESET ROLE;
SET ROLE rc_officer;
SELECT is((SELECT t -> 'kept' -> 0 ->> 'rows' FROM jsonb_array_elements(
               privacy.erase_subject('rc_person', '2', 'art. 17(1)(a)') -> 'tables') t
            WHERE t ->> 'table' = 'rc.notes'), '3',
          'once a rule keeps notes, the next erasure keeps the notes of person 2');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM rc.notes WHERE person_id = 2), 3, 'the notes of person 2 are still there');
SELECT is((SELECT count(*)::int FROM rc.persons WHERE id = 2), 1,
          'and person 2 with them, referenced by the kept notes');

SET ROLE rc_admin;
SELECT privacy.drop_retention_rule('rc_notes');
RESET ROLE;
SET ROLE rc_officer;
SELECT is((privacy.erase_subject('rc_person', '3', 'art. 17(1)(a)') ->> 'changed')::int, 4,
          'with the rule gone, person 3 and their notes are deleted');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM rc.notes WHERE person_id = 3), 0, 'no note of person 3 is left');

-- schema changes between erasures
SET ROLE rc_owner;
ALTER TABLE rc.notes ADD COLUMN topic text;
CREATE INDEX notes_person_written ON rc.notes (person_id, written);
RESET ROLE;
SET ROLE rc_officer;
SELECT is((privacy.erase_subject('rc_person', '4', 'art. 17(1)(a)') ->> 'changed')::int, 4,
          'after a column and an index were added, person 4 is erased');
RESET ROLE;
SET ROLE rc_owner;
ALTER TABLE rc.notes DROP COLUMN topic;
DROP INDEX rc.notes_person_written;
RESET ROLE;
SET ROLE rc_officer;
SELECT is((privacy.erase_subject('rc_person', '5', 'art. 17(1)(a)') ->> 'changed')::int, 4,
          'after they were dropped, person 5 is erased');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM rc.notes WHERE person_id IN (4, 5)), 0, 'no note of persons 4 and 5 is left');

-- a dry run with warm caches counts what the erasure does
SET ROLE rc_officer;
SELECT is((privacy.erase_subject('rc_person', '6', 'art. 17(1)(a)', dry_run => true) ->> 'changed')::int, 4,
          'the dry run of person 6 counts four rows');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM rc.notes WHERE person_id = 6), 3, 'and changes nothing');
SET ROLE rc_officer;
SELECT is((privacy.erase_subject('rc_person', '6', 'art. 17(1)(a)') ->> 'changed')::int, 4,
          'the erasure of person 6 changes the four rows the dry run counted');
RESET ROLE;

-- the owner's own plans after the extension acted as the owner
SET ROLE rc_owner;
SELECT is((SELECT count(*)::int FROM rc.notes), 3,
          'the owner still sees only the notes of its scope (utrecht: person 8; person 2 is restricted)');
SELECT is((SELECT count(*)::int FROM rc.persons), 1,
          'and only the persons of its scope');
PREPARE rc_owner_notes AS SELECT count(*)::int FROM rc.notes;
SELECT is((SELECT count(*)::int FROM rc.notes WHERE branch = 'zwolle'), 0, 'no note of zwolle');
RESET ROLE;
SET ROLE rc_officer;
SELECT is((privacy.erase_subject('rc_person', '8', 'art. 17(1)(a)') ->> 'changed')::int, 4,
          'person 8 is erased');
RESET ROLE;
SET ROLE rc_owner;
SELECT results_eq('EXECUTE rc_owner_notes', ARRAY[0],
                  'a statement the owner prepared before still applies its scope after the erasure');
RESET ROLE;
SET ROLE rc_clerk;
SELECT is((SELECT count(*)::int FROM rc.notes), 3, 'the clerk sees the notes of zwolle (person 7)');
SELECT is((SELECT count(*)::int FROM rc.persons WHERE branch = 'utrecht'), 0, 'and no person of utrecht');

-- the internal runners are not for clerks
SELECT throws_ok($$SELECT * FROM privacy._query('SELECT 1', 1) AS q(n int)$$, '42501', NULL,
                 'a clerk may not run privacy._query');
SELECT throws_ok($$SELECT privacy._act_as_owner('rc.notes', 'DELETE FROM rc.notes', 1)$$, '42501', NULL,
                 'a clerk may not run privacy._act_as_owner');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
