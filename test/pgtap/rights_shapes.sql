-- Data-subject rights on a schema shaped unlike the demo: schema hr, owned
-- by an application role (not a superuser), with employees keyed by a
-- uuid and client contacts keyed by a text code; contracts, shifts and
-- shift breaks three foreign-key steps from the employee; assignments
-- registered for both subject types (an employee placed by a client
-- contact); notes that reply to notes of other employees.
--
-- Asserted:
--  * the export of an employee holds every row reached along the key
--    column and along the one-, two- and three-step paths, and the export of
--    a client contact its own row and assignments, each without a row of
--    another subject, counted by hand-written queries; a uuid key is
--    canonicalized, a text key is taken as it is;
--  * a key that is not a uuid is refused with 22023 by every function
--    that takes a subject key;
--  * rectification through the three-step path is recorded per employee
--    with the employee's key, and an update of an assignment for the
--    employee and the contact both; recipients of each are notified; a
--    shift moved to another employee's contract is recorded for both
--    employees;
--  * a restriction of an employee hides their breaks, shifts, contracts,
--    assignments and notes from a clerk (also new breaks of their shifts)
--    and not from the officer, and no one else's;
--  * erasure: children first along the three-step path (breaks, shifts,
--    contracts, then the employee); an assignment shared with a client
--    contact is the employee's data and goes, and the contact keeps the
--    rest; a note another employee replied to is kept as referenced (and
--    with it the employee's row), replies among the employee's own notes
--    are deleted; a note kept because another employee replied to it keeps
--    the employee's own note it replies to (the erasure succeeds and keeps
--    both); an assignment that is also the data of a client contact under a
--    legal hold is kept; the recipient of the employee's data is notified
--    once; a restricted employee is erased although the tables force
--    row-level security on their owner; erasing again takes a note kept
--    only for a reply that has gone since.
BEGIN;
SELECT plan(61);

SET client_min_messages = warning;
CREATE ROLE rs_admin IN ROLE privacy_admin;
CREATE ROLE rs_officer IN ROLE privacy_officer;
CREATE ROLE rs_clerk;
CREATE ROLE rs_owner;

CREATE SCHEMA hr AUTHORIZATION rs_owner;
GRANT USAGE ON SCHEMA hr TO rs_admin, rs_officer, rs_clerk;
SET ROLE rs_owner;
CREATE TABLE hr.people (
    id         uuid PRIMARY KEY,
    naam       text NOT NULL,
    woonplaats text
);
CREATE TABLE hr.client_contacts (
    code    text PRIMARY KEY,
    naam    text NOT NULL,
    email   text
);
CREATE TABLE hr.contracts (
    id         int PRIMARY KEY,
    person_id  uuid NOT NULL REFERENCES hr.people,
    starts_on  date NOT NULL
);
CREATE TABLE hr.shifts (
    id          int PRIMARY KEY,
    contract_id int NOT NULL REFERENCES hr.contracts,
    day         date NOT NULL
);
CREATE TABLE hr.shift_breaks (
    id        int PRIMARY KEY,
    shift_id  int NOT NULL REFERENCES hr.shifts,
    minutes   int NOT NULL
);
CREATE TABLE hr.assignments (
    id            int PRIMARY KEY,
    person_id     uuid REFERENCES hr.people,
    contact_code  text REFERENCES hr.client_contacts,
    opdracht          text NOT NULL
);
CREATE TABLE hr.notes (
    id         int PRIMARY KEY,
    person_id  uuid NOT NULL REFERENCES hr.people,
    reply_to   int REFERENCES hr.notes,
    body       text NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA hr TO rs_clerk;
GRANT SELECT ON ALL TABLES IN SCHEMA hr TO rs_officer;

-- employees p1 .. p4, contacts c1 and c2
INSERT INTO hr.people VALUES
    ('a0000000-0000-4000-8000-000000000001', 'Anouk Smit', 'Zwolle'),
    ('a0000000-0000-4000-8000-000000000002', 'Bas de Wit', 'Deventer'),
    ('a0000000-0000-4000-8000-000000000003', 'Carla Kok', 'Kampen'),
    ('a0000000-0000-4000-8000-000000000004', 'Dirk Bos', 'Zwolle');
INSERT INTO hr.client_contacts VALUES
    ('acme/jansen', 'Joke Jansen', 'joke@acme.example'),
    ('acme/de-vries', 'Henk de Vries', 'henk@acme.example');
INSERT INTO hr.contracts VALUES
    (10, 'a0000000-0000-4000-8000-000000000001', '2025-01-01'),
    (11, 'a0000000-0000-4000-8000-000000000001', '2025-07-01'),
    (12, 'a0000000-0000-4000-8000-000000000002', '2025-03-01'),
    (13, 'a0000000-0000-4000-8000-000000000003', '2025-04-01'),
    (14, 'a0000000-0000-4000-8000-000000000004', '2025-05-01');
INSERT INTO hr.shifts VALUES
    (20, 10, '2025-01-06'), (21, 10, '2025-01-07'), (22, 11, '2025-07-07'),
    (23, 12, '2025-03-03'), (24, 13, '2025-04-07');
INSERT INTO hr.shift_breaks VALUES
    (30, 20, 30), (31, 20, 15), (32, 22, 30), (33, 23, 30), (34, 23, 15), (35, 24, 30);
INSERT INTO hr.assignments VALUES
    (40, 'a0000000-0000-4000-8000-000000000001', 'acme/jansen', 'Orderpicken hal 2'),
    (41, 'a0000000-0000-4000-8000-000000000001', 'acme/de-vries', 'Inpakken'),
    (42, 'a0000000-0000-4000-8000-000000000002', 'acme/jansen', 'Heftruck'),
    (43, 'a0000000-0000-4000-8000-000000000003', 'acme/de-vries', 'Schoonmaak'),
    (44, 'a0000000-0000-4000-8000-000000000001', NULL, 'Training VCA'),
    (45, NULL, 'acme/jansen', 'Open vacature magazijn');
INSERT INTO hr.notes VALUES
    (50, 'a0000000-0000-4000-8000-000000000001', NULL, 'Vraagt om meer uren'),
    (51, 'a0000000-0000-4000-8000-000000000002', 50, 'Ik wil ook meer uren'),
    (52, 'a0000000-0000-4000-8000-000000000001', NULL, 'Rooster week 3'),
    (53, 'a0000000-0000-4000-8000-000000000001', 52, 'Aanvulling rooster week 3'),
    (54, 'a0000000-0000-4000-8000-000000000002', NULL, 'Nieuw adres'),
    (60, 'a0000000-0000-4000-8000-000000000004', NULL, 'Klacht over de kantine'),
    (61, 'a0000000-0000-4000-8000-000000000004', 60, 'Klacht aangevuld'),
    (62, 'a0000000-0000-4000-8000-000000000003', 61, 'Eens met de klacht');
RESET ROLE;

SET ROLE rs_admin;
SELECT privacy.register_subject_type('employee', 'hr.people', 'id', 'Medewerkers');
SELECT privacy.register_subject_type('contact', 'hr.client_contacts', 'code', 'Contactpersonen van klanten');
SELECT privacy.register_table('hr.people', 'employee');
SELECT privacy.register_table('hr.client_contacts', 'contact');
SELECT privacy.register_table('hr.contracts', 'employee', key_column => 'person_id');
SELECT privacy.register_table('hr.shifts', 'employee', via => ARRAY['hr.contracts', 'hr.people']::regclass[]);
SELECT privacy.register_table('hr.shift_breaks', 'employee',
                              via => ARRAY['hr.shifts', 'hr.contracts', 'hr.people']::regclass[]);
SELECT privacy.register_table('hr.assignments', 'employee', key_column => 'person_id');
SELECT privacy.register_table('hr.assignments', 'contact', key_column => 'contact_code');
SELECT privacy.register_table('hr.notes', 'employee', key_column => 'person_id');
SELECT privacy.define_recipient('uwv', 'authority', 'NL', 'eu_eea');
SELECT privacy.define_recipient('acme', 'client', 'BE', 'eu_eea');
RESET ROLE;

SET ROLE rs_officer;
SELECT privacy.record_disclosure('uwv', 'employee', 'a0000000-0000-4000-8000-000000000001', ARRAY['identifying']);
SELECT privacy.record_disclosure('acme', 'contact', 'acme/jansen', ARRAY['contact']);
RESET ROLE;

-- the error of a statement as "SQLSTATE: message"
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text) TO PUBLIC;
CREATE TEMP TABLE rs_doc (tag text PRIMARY KEY, doc jsonb);
GRANT ALL ON rs_doc TO PUBLIC;
CREATE FUNCTION pg_temp.doc(t text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT doc FROM rs_doc WHERE tag = t
$$;
-- the rows an export holds per table, by their key
CREATE FUNCTION pg_temp.rows_of_export(d jsonb)
RETURNS TABLE (tbl text, k text) LANGUAGE sql IMMUTABLE AS $$
    SELECT t.key, coalesce(r ->> 'id', r ->> 'code') FROM jsonb_each(d -> 'data') t, jsonb_array_elements(t.value) r
$$;
-- an erasure as the calling role, its result stored under a tag: 'erased'
-- or the error as "SQLSTATE: message"
CREATE FUNCTION pg_temp.try_erase(st text, k text, t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st_ text;
    msg text;
BEGIN
    INSERT INTO rs_doc VALUES (t, privacy.erase_subject(st, k, 'art. 17(1)(a): no longer needed'));
    RETURN 'erased';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st_ = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st_ || ': ' || msg;
END
$$;
-- the keys of the rows of each table, to see what an erasure left
CREATE FUNCTION pg_temp.all_rows()
RETURNS TABLE (tbl text, k text) LANGUAGE sql STABLE AS $$
    SELECT 'hr.people', id::text FROM hr.people
    UNION ALL SELECT 'hr.client_contacts', code FROM hr.client_contacts
    UNION ALL SELECT 'hr.contracts', id::text FROM hr.contracts
    UNION ALL SELECT 'hr.shifts', id::text FROM hr.shifts
    UNION ALL SELECT 'hr.shift_breaks', id::text FROM hr.shift_breaks
    UNION ALL SELECT 'hr.assignments', id::text FROM hr.assignments
    UNION ALL SELECT 'hr.notes', id::text FROM hr.notes
$$;
GRANT EXECUTE ON FUNCTION pg_temp.doc(text), pg_temp.rows_of_export(jsonb), pg_temp.try_erase(text, text, text),
                          pg_temp.all_rows() TO PUBLIC;
-- an employee's rows, found by hand along the foreign keys
CREATE FUNCTION pg_temp.rows_of_employee(p uuid)
RETURNS TABLE (tbl text, k text) LANGUAGE sql STABLE AS $$
    SELECT 'hr.people', id::text FROM hr.people WHERE id = p
    UNION ALL SELECT 'hr.contracts', c.id::text FROM hr.contracts c WHERE c.person_id = p
    UNION ALL SELECT 'hr.shifts', s.id::text FROM hr.shifts s JOIN hr.contracts c ON c.id = s.contract_id
               WHERE c.person_id = p
    UNION ALL SELECT 'hr.shift_breaks', b.id::text FROM hr.shift_breaks b JOIN hr.shifts s ON s.id = b.shift_id
                JOIN hr.contracts c ON c.id = s.contract_id WHERE c.person_id = p
    UNION ALL SELECT 'hr.assignments', a.id::text FROM hr.assignments a WHERE a.person_id = p
    UNION ALL SELECT 'hr.notes', n.id::text FROM hr.notes n WHERE n.person_id = p
$$;
CREATE FUNCTION pg_temp.rows_of_contact(c text)
RETURNS TABLE (tbl text, k text) LANGUAGE sql STABLE AS $$
    SELECT 'hr.client_contacts', code FROM hr.client_contacts WHERE code = c
    UNION ALL SELECT 'hr.assignments', a.id::text FROM hr.assignments a WHERE a.contact_code = c
$$;

-------------------------------------------------------------------------------
-- exports
-------------------------------------------------------------------------------
SET ROLE rs_officer;
INSERT INTO rs_doc VALUES
    ('p1', privacy.export_subject('employee', 'a0000000-0000-4000-8000-000000000001')),
    ('p1_upper', privacy.export_subject('employee', '{A0000000-0000-4000-8000-000000000001}')),
    ('p3', privacy.export_subject('employee', 'a0000000-0000-4000-8000-000000000003')),
    ('c1', privacy.export_subject('contact', 'acme/jansen')),
    ('c1_upper', privacy.export_subject('contact', 'ACME/JANSEN'));
RESET ROLE;
SELECT set_eq($$SELECT jsonb_object_keys(pg_temp.doc('p1') -> 'data')$$,
              ARRAY['hr.people', 'hr.contracts', 'hr.shifts', 'hr.shift_breaks', 'hr.assignments', 'hr.notes'],
              'an employee''s export has the six tables of employees');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_export(pg_temp.doc('p1'))$$,
              $$SELECT * FROM pg_temp.rows_of_employee('a0000000-0000-4000-8000-000000000001')$$,
              'every row of the employee, along the key columns and the paths of one, two and three steps');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_export(pg_temp.doc('p1')) WHERE tbl IN ('hr.shifts', 'hr.shift_breaks')$$,
              $$VALUES ('hr.shifts', '20'), ('hr.shifts', '21'), ('hr.shifts', '22'),
                       ('hr.shift_breaks', '30'), ('hr.shift_breaks', '31'), ('hr.shift_breaks', '32')$$,
              'the shifts of both contracts, and the breaks of those shifts');
SELECT is((SELECT count(*)::int FROM jsonb_each(pg_temp.doc('p1') -> 'data') t, jsonb_array_elements(t.value) r
            WHERE coalesce(r ->> 'person_id', r ->> 'id') IS DISTINCT FROM 'a0000000-0000-4000-8000-000000000001'
              AND t.key IN ('hr.people', 'hr.contracts', 'hr.assignments', 'hr.notes')), 0,
          'no row of another employee, nor a contact''s assignment without the employee');
SELECT is(pg_temp.doc('p1_upper') - 'generated_at', pg_temp.doc('p1') - 'generated_at',
          'a uuid in capitals and braces names the same employee');
SELECT is(pg_temp.doc('p1_upper') #>> '{subject,key}', 'a0000000-0000-4000-8000-000000000001',
          'in its canonical form');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_export(pg_temp.doc('p3'))$$,
              $$VALUES ('hr.people', 'a0000000-0000-4000-8000-000000000003'), ('hr.contracts', '13'), ('hr.shifts', '24'),
                       ('hr.shift_breaks', '35'), ('hr.assignments', '43'), ('hr.notes', '62')$$,
              'another employee''s export: their rows only, the note replying to someone else''s included');
SELECT set_eq($$SELECT jsonb_object_keys(pg_temp.doc('c1') -> 'data')$$, ARRAY['hr.client_contacts', 'hr.assignments'],
              'a contact''s export has the tables of contacts');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_export(pg_temp.doc('c1'))$$,
              $$SELECT * FROM pg_temp.rows_of_contact('acme/jansen')$$,
              'the contact''s row and the assignments they placed, by hand');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_export(pg_temp.doc('c1'))$$,
              $$VALUES ('hr.client_contacts', 'acme/jansen'), ('hr.assignments', '40'), ('hr.assignments', '42'),
                       ('hr.assignments', '45')$$,
              'three assignments: two with an employee, one without');
SELECT is((SELECT count(*)::int FROM pg_temp.rows_of_export(pg_temp.doc('c1_upper'))), 0,
          'a text key is taken as it is: another spelling is another (unknown) contact');
SELECT is(pg_temp.doc('c1') #>> '{subject,key}', 'acme/jansen', 'the text key unchanged');

-------------------------------------------------------------------------------
-- a key of the wrong type
-------------------------------------------------------------------------------
SET ROLE rs_officer;
SELECT throws_ok($$SELECT privacy.export_subject('employee', 'P-0001')$$, '22023',
                 'invalid key for subject type "employee"', 'export: a key that is not a uuid');
SELECT throws_ok($$SELECT privacy.export_subject_encrypted('employee', 'P-0001', 'a long passphrase')$$, '22023',
                 'invalid key for subject type "employee"', 'the encrypted export');
SELECT throws_ok($$SELECT privacy.erase_subject('employee', 'P-0001', 'art. 17(1)(a)')$$, '22023',
                 'invalid key for subject type "employee"', 'erasure');
SELECT throws_ok($$SELECT privacy.restrict_subject('employee', 'P-0001', 'contested')$$, '22023',
                 'invalid key for subject type "employee"', 'restriction');
SELECT throws_ok($$SELECT privacy.register_request('employee', 'P-0001', 'access')$$, '22023',
                 'invalid key for subject type "employee"', 'a request');
SELECT throws_ok($$SELECT privacy.record_disclosure('uwv', 'employee', 'P-0001', ARRAY['identifying'])$$, '22023',
                 'invalid key for subject type "employee"', 'a disclosure');
SELECT throws_ok($$SELECT privacy.place_hold('employee', 'P-0001', 'dispute')$$, '22023',
                 'invalid key for subject type "employee"', 'a legal hold');
SELECT throws_ok($$SELECT privacy.export_subject('employee', 'a0000000-0000-4000-8000-00000000000')$$, '22023',
                 'invalid key for subject type "employee"', 'a uuid one digit short');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.request) + (SELECT count(*)::int FROM privacy.restriction)
          + (SELECT count(*)::int FROM privacy.legal_hold), 0, 'the refused calls stored nothing');

-------------------------------------------------------------------------------
-- rectification through the paths
-------------------------------------------------------------------------------
SET ROLE rs_clerk;
UPDATE hr.shift_breaks SET minutes = minutes + 5 WHERE id IN (30, 31, 33);
UPDATE hr.assignments SET opdracht = 'Orderpicken hal 3' WHERE id = 40;
RESET ROLE;
SELECT set_eq($$SELECT subject_type, subject_key, tbl, columns, rows, changed_by FROM privacy.rectification$$,
              $$VALUES ('employee', 'a0000000-0000-4000-8000-000000000001', 'hr.shift_breaks', '{minutes}'::name[], 2::bigint, 'rs_clerk'::name),
                       ('employee', 'a0000000-0000-4000-8000-000000000002', 'hr.shift_breaks', '{minutes}'::name[], 1::bigint, 'rs_clerk'::name),
                       ('employee', 'a0000000-0000-4000-8000-000000000001', 'hr.assignments', '{opdracht}'::name[], 1::bigint, 'rs_clerk'::name),
                       ('contact', 'acme/jansen', 'hr.assignments', '{opdracht}'::name[], 1::bigint, 'rs_clerk'::name)$$,
              'breaks changed are recorded per employee reached three steps up; an assignment for both its subjects');
SELECT set_eq($$SELECT recipient, subject_type, subject_key, details FROM privacy.notification WHERE event = 'rectification'$$,
              $$VALUES ('uwv', 'employee', 'a0000000-0000-4000-8000-000000000001', '{"table": "hr.shift_breaks", "columns": ["minutes"]}'::jsonb),
                       ('uwv', 'employee', 'a0000000-0000-4000-8000-000000000001', '{"table": "hr.assignments", "columns": ["opdracht"]}'::jsonb),
                       ('acme', 'contact', 'acme/jansen', '{"table": "hr.assignments", "columns": ["opdracht"]}'::jsonb)$$,
              'the recipients of each subject are notified; the employee without a recipient notifies no one');

-- a shift moved to another employee's contract changes the data of both
INSERT INTO hr.shifts VALUES (26, 13, '2025-04-08');
SET ROLE rs_clerk;
UPDATE hr.shifts SET contract_id = 14 WHERE id = 26;
RESET ROLE;
SELECT set_has($$SELECT subject_type, subject_key, columns, rows FROM privacy.rectification WHERE tbl = 'hr.shifts'$$,
               $$VALUES ('employee', 'a0000000-0000-4000-8000-000000000004', '{contract_id}'::name[], 1::bigint)$$,
               'a shift moved to another contract is recorded for the employee it now belongs to');
SELECT set_has($$SELECT subject_type, subject_key, columns, rows FROM privacy.rectification WHERE tbl = 'hr.shifts'$$,
               $$VALUES ('employee', 'a0000000-0000-4000-8000-000000000003', '{contract_id}'::name[], 1::bigint)$$,
               'and for the employee it was taken from');

-------------------------------------------------------------------------------
-- restriction through the three-step path
-------------------------------------------------------------------------------
SET ROLE rs_officer;
SELECT privacy.restrict_subject('employee', 'a0000000-0000-4000-8000-000000000002', 'accuracy contested (art. 18(1)(a))');
RESET ROLE;
CREATE TEMP TABLE rs_all AS SELECT * FROM pg_temp.all_rows();
CREATE TEMP TABLE rs_p2 AS SELECT * FROM pg_temp.rows_of_employee('a0000000-0000-4000-8000-000000000002');
GRANT SELECT ON rs_all, rs_p2 TO PUBLIC;
SET ROLE rs_clerk;
SELECT bag_eq($$SELECT * FROM pg_temp.all_rows()$$,
              $$SELECT * FROM rs_all EXCEPT ALL SELECT * FROM rs_p2$$,
              'a clerk sees every row but the restricted employee''s');
SELECT bag_eq($$SELECT * FROM rs_all EXCEPT ALL SELECT * FROM pg_temp.all_rows()$$,
              $$VALUES ('hr.people', 'a0000000-0000-4000-8000-000000000002'), ('hr.contracts', '12'), ('hr.shifts', '23'),
                       ('hr.shift_breaks', '33'), ('hr.shift_breaks', '34'), ('hr.assignments', '42'),
                       ('hr.notes', '51'), ('hr.notes', '54')$$,
              'hidden: the employee, the contract, the shift, both breaks three steps away, the shared assignment, the notes');
SELECT throws_ok($$INSERT INTO hr.shift_breaks VALUES (36, 23, 10)$$, '42501',
                 'new row violates row-level security policy "privacy_restrict" for table "shift_breaks"',
                 'a clerk cannot add a break to the restricted employee''s shift');
SELECT lives_ok($$INSERT INTO hr.shift_breaks VALUES (37, 24, 10)$$, 'but to another employee''s');
SELECT is(pg_temp.error_of($$UPDATE hr.shift_breaks SET minutes = 0 WHERE id = 33$$), 'no error',
          'an update of a hidden break runs');
RESET ROLE;
SELECT is((SELECT minutes FROM hr.shift_breaks WHERE id = 33), 35, 'and changes nothing');
DELETE FROM hr.shift_breaks WHERE id = 37;
SET ROLE rs_officer;
SELECT bag_eq($$SELECT * FROM pg_temp.all_rows()$$, $$SELECT * FROM rs_all$$,
              'the officer sees every row');
RESET ROLE;

-------------------------------------------------------------------------------
-- erasure
-------------------------------------------------------------------------------
-- p1: breaks, shifts and contracts go children first; the assignments go,
-- also those placed by a contact; note 50, which p2 replied to, stays, and
-- with it p1's row; notes 52 and 53, a reply among p1's own notes, go
DROP TABLE rs_all;
CREATE TEMP TABLE rs_all AS SELECT * FROM pg_temp.all_rows();
GRANT SELECT ON rs_all TO PUBLIC;
SET ROLE rs_officer;
SELECT is(pg_temp.try_erase('employee', 'a0000000-0000-4000-8000-000000000001', 'e_p1'), 'erased',
          'an employee is erased');
RESET ROLE;
SELECT ok((SELECT array_position(a, 'hr.shift_breaks') < array_position(a, 'hr.shifts')
              AND array_position(a, 'hr.shifts') < array_position(a, 'hr.contracts')
              AND array_position(a, 'hr.contracts') < array_position(a, 'hr.people')
              AND array_position(a, 'hr.assignments') < array_position(a, 'hr.people')
              AND array_position(a, 'hr.notes') < array_position(a, 'hr.people')
              AND cardinality(a) = 6
             FROM (SELECT array_agg(t ->> 'table' ORDER BY ord) AS a
                     FROM jsonb_array_elements(pg_temp.doc('e_p1') -> 'tables') WITH ORDINALITY x(t, ord)) s),
          'children first: breaks, shifts, contracts, then the employee');
SELECT set_eq($$SELECT t ->> 'table' AS tbl, (t ->> 'deleted')::int AS deleted,
                       coalesce((SELECT sum((k ->> 'rows')::int) FROM jsonb_array_elements(t -> 'kept') k), 0)::int AS kept
                  FROM jsonb_array_elements(pg_temp.doc('e_p1') -> 'tables') t$$,
              $$VALUES ('hr.shift_breaks', 3, 0), ('hr.shifts', 3, 0), ('hr.contracts', 2, 0),
                       ('hr.assignments', 3, 0), ('hr.notes', 2, 1), ('hr.people', 0, 1)$$,
              'per table: what went and what was kept');
SELECT bag_eq($$SELECT * FROM rs_all EXCEPT ALL SELECT * FROM pg_temp.all_rows()$$,
              $$VALUES ('hr.shift_breaks', '30'), ('hr.shift_breaks', '31'), ('hr.shift_breaks', '32'),
                       ('hr.shifts', '20'), ('hr.shifts', '21'), ('hr.shifts', '22'),
                       ('hr.contracts', '10'), ('hr.contracts', '11'),
                       ('hr.assignments', '40'), ('hr.assignments', '41'), ('hr.assignments', '44'),
                       ('hr.notes', '52'), ('hr.notes', '53')$$,
              'exactly those rows are gone');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_employee('a0000000-0000-4000-8000-000000000001')$$,
              $$VALUES ('hr.people', 'a0000000-0000-4000-8000-000000000001'), ('hr.notes', '50')$$,
              'the note another employee replied to, and the employee it needs, are kept');
SELECT is((SELECT (k ->> 'why') FROM jsonb_array_elements(pg_temp.doc('e_p1') -> 'tables') t, jsonb_array_elements(t -> 'kept') k
            WHERE t ->> 'table' = 'hr.notes'), 'other rows still reference them', 'as referenced');
SELECT is((SELECT reply_to FROM hr.notes WHERE id = 51), 50, 'the reply still replies to it');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_contact('acme/jansen')$$,
              $$VALUES ('hr.client_contacts', 'acme/jansen'), ('hr.assignments', '42'), ('hr.assignments', '45')$$,
              'the contact keeps the assignments that were not the employee''s');
SELECT results_eq($$SELECT subject_type, subject_key, restricted_until FROM privacy.restriction
                     WHERE id = (pg_temp.doc('e_p1') ->> 'restriction')::bigint$$,
                  $$VALUES ('employee', 'a0000000-0000-4000-8000-000000000001', NULL::date)$$,
                  'what is kept is restricted for good');
SELECT results_eq($$SELECT recipient, details FROM privacy.notification WHERE event = 'erasure'$$,
                  $$VALUES ('uwv', '{"request": null}'::jsonb)$$,
                  'the recipient of the employee''s data is notified of the erasure');
SELECT is((pg_temp.doc('e_p1') ->> 'notifications')::int, 1, 'once');
SET ROLE rs_clerk;
SELECT is((SELECT count(*)::int FROM hr.notes WHERE id = 50), 0, 'the clerk no longer sees the kept note');
SELECT is((SELECT count(*)::int FROM hr.notes WHERE id = 53), 0, 'nor, of course, the deleted ones');
RESET ROLE;

-- p4: note 61 stays because p3 replied to it; it replies to p4's note 60,
-- which must stay with it
DROP TABLE rs_all;
CREATE TEMP TABLE rs_all AS SELECT * FROM pg_temp.all_rows();
SET ROLE rs_officer;
SELECT is(pg_temp.try_erase('employee', 'a0000000-0000-4000-8000-000000000004', 'e_p4'), 'erased',
          'an employee whose kept note replies to their own earlier note is erased');
RESET ROLE;
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_employee('a0000000-0000-4000-8000-000000000004')$$,
              $$VALUES ('hr.people', 'a0000000-0000-4000-8000-000000000004'), ('hr.notes', '60'), ('hr.notes', '61')$$,
              'both notes are kept: the one replied to, and the one it replies to');
SELECT is((SELECT (t ->> 'deleted')::int FROM jsonb_array_elements(pg_temp.doc('e_p4') -> 'tables') t
            WHERE t ->> 'table' = 'hr.contracts'), 1, 'the contract goes');
SELECT is((SELECT count(*)::int FROM hr.notes WHERE id = 62 AND reply_to = 61), 1, 'the other employee''s reply is untouched');

-- p3: assignment 43 is also the data of contact acme/de-vries, under a
-- legal hold; it stays
SET ROLE rs_officer;
SELECT privacy.place_hold('contact', 'acme/de-vries', 'Claim of the client about the cleaning contract');
SELECT throws_ok($$SELECT privacy.erase_subject('contact', 'acme/de-vries', 'art. 17(1)(a)')$$, '55006',
                 'subject is under a legal hold', 'the held contact is not erased');
SELECT is(pg_temp.try_erase('employee', 'a0000000-0000-4000-8000-000000000003', 'e_p3'), 'erased',
          'an employee whose assignment a held contact shares is erased');
RESET ROLE;
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_contact('acme/de-vries')$$,
              $$VALUES ('hr.client_contacts', 'acme/de-vries'), ('hr.assignments', '43')$$,
              'the assignment under the contact''s legal hold is kept');
SELECT is((SELECT coalesce(sum((k ->> 'rows')::int), 0)::int
             FROM jsonb_array_elements(pg_temp.doc('e_p3') -> 'tables') t, jsonb_array_elements(t -> 'kept') k
            WHERE t ->> 'table' = 'hr.assignments'), 1, 'and reported as kept');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of_employee('a0000000-0000-4000-8000-000000000003')
                 WHERE tbl NOT IN ('hr.people', 'hr.assignments')$$,
              $$SELECT NULL::text AS tbl, NULL::text AS k WHERE false$$,
              'the employee''s other rows are gone');

-- p2 is restricted; the tables force row-level security on their owner,
-- who runs the deletes
SET ROLE rs_officer;
SELECT is(pg_temp.try_erase('employee', 'a0000000-0000-4000-8000-000000000002', 'e_p2'), 'erased',
          'a restricted employee is erased');
RESET ROLE;
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 'hr.shift_breaks'::regclass)
          AND (SELECT relowner FROM pg_class WHERE oid = 'hr.shift_breaks'::regclass) = 'rs_owner'::regrole,
          'the tables force row-level security on their owner, who is not a superuser');
SELECT is((SELECT count(*)::int FROM pg_temp.rows_of_employee('a0000000-0000-4000-8000-000000000002')), 0,
          'every row of the restricted employee is gone');
SELECT results_eq($$SELECT (pg_temp.doc('e_p2') ->> 'changed')::int, (pg_temp.doc('e_p2') ->> 'kept')::int$$,
                  $$VALUES (8, 0)$$, 'eight rows, none kept');
SELECT is((SELECT count(*)::int FROM hr.notes WHERE id = 50), 1, 'p1''s note, no longer replied to, stays until erased again');
SET ROLE rs_officer;
SELECT is(pg_temp.try_erase('employee', 'a0000000-0000-4000-8000-000000000001', 'e_p1_again'), 'erased',
          'erasing p1 again');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_temp.rows_of_employee('a0000000-0000-4000-8000-000000000001')), 0,
          'takes what was kept only for the reply');

SELECT * FROM finish();
ROLLBACK;
