-- An erasure acts on each table as the table's owner; these are the ways
-- an owner (a non-superuser application role) could turn that against the
-- rules, each with what must happen instead.
--
-- Asserted:
--  * the owner's triggers that fire during an erasure read under the
--    owner's own policies: a statement trigger copying the persons table
--    sees only the owner's scope, without a restricted subject; only the
--    erasure's own statement passes the extension's policies;
--  * a BEFORE DELETE trigger of the owner cannot change a BSN during the
--    erasure (the update guard holds in triggers);
--  * a table reached through other owners' tables is erased although its
--    owner may not read them (only REFERENCES), and rows the table's own
--    policies hide from its owner are reported as kept, not as erased;
--  * privacy._query refuses rows whose type changed since the plan was
--    kept (the superuser is the only role that may call it).
BEGIN;
SELECT plan(12);

SET client_min_messages = warning;
CREATE ROLE ro_admin IN ROLE privacy_admin;
CREATE ROLE ro_officer IN ROLE privacy_officer;
CREATE ROLE ro_owner;
CREATE ROLE ro_owner_b;

CREATE SCHEMA ro AUTHORIZATION ro_owner;
CREATE SCHEMA rob AUTHORIZATION ro_owner_b;
GRANT USAGE ON SCHEMA ro TO ro_admin, ro_officer, ro_owner_b;
GRANT USAGE ON SCHEMA rob TO ro_admin, ro_officer;
SET ROLE ro_owner;
CREATE TABLE ro.persons (
    id     int PRIMARY KEY,
    branch text NOT NULL,
    naam   text NOT NULL,
    bsn    privacy.bsn
);
CREATE TABLE ro.notes (
    id        int PRIMARY KEY,
    person_id int NOT NULL REFERENCES ro.persons,
    branch    text NOT NULL,
    body      text
);
CREATE TABLE ro.bookings (
    id        int PRIMARY KEY,
    person_id int NOT NULL REFERENCES ro.persons,
    branch    text NOT NULL
);
INSERT INTO ro.persons SELECT g, CASE WHEN g % 2 = 0 THEN 'utrecht' ELSE 'zwolle' END, 'Persoon ' || g, NULL
  FROM generate_series(1, 8) g;
INSERT INTO ro.notes SELECT 10 * p + n, p, CASE WHEN p % 2 = 0 THEN 'utrecht' ELSE 'zwolle' END, 'notitie'
  FROM generate_series(1, 8) p, generate_series(1, 2) n;
INSERT INTO ro.bookings SELECT 100 + p, p, CASE WHEN p % 2 = 0 THEN 'utrecht' ELSE 'zwolle' END
  FROM generate_series(1, 8) p;
GRANT SELECT ON ro.persons, ro.notes, ro.bookings TO ro_admin;
GRANT REFERENCES ON ro.bookings TO ro_owner_b;

-- the spy: copies whatever the owner can read of persons while notes are deleted
CREATE TABLE ro.leak (id int, branch text);
CREATE FUNCTION ro.spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ro.leak SELECT p.id, p.branch FROM ro.persons p;
    RETURN NULL;
END
$$;
CREATE TRIGGER spy AFTER DELETE ON ro.notes FOR EACH STATEMENT EXECUTE FUNCTION ro.spy();
RESET ROLE;

-- visits of another owner, reached through bookings (two steps to persons)
SET ROLE ro_owner_b;
CREATE TABLE rob.visits (
    id         int PRIMARY KEY,
    booking_id int NOT NULL REFERENCES ro.bookings,
    branch     text NOT NULL
);
INSERT INTO rob.visits SELECT 200 + p, 100 + p, CASE WHEN p % 2 = 0 THEN 'utrecht' ELSE 'zwolle' END
  FROM generate_series(1, 8) p;
GRANT SELECT ON rob.visits TO ro_admin;
RESET ROLE;

SET ROLE ro_admin;
SELECT privacy.register_subject_type('ro_person', 'ro.persons', 'id', 'Personen');
SELECT privacy.register_table('ro.persons', 'ro_person', scope_column => 'branch');
SELECT privacy.register_table('ro.notes', 'ro_person', key_column => 'person_id', scope_column => 'branch');
SELECT privacy.register_table('ro.bookings', 'ro_person', key_column => 'person_id', scope_column => 'branch');
SELECT privacy.register_table('rob.visits', 'ro_person', via => ARRAY['ro.bookings', 'ro.persons']::regclass[],
                              scope_column => 'branch');
SELECT privacy.grant_scope('ro_owner', 'utrecht');
SELECT privacy.grant_scope('ro_owner_b', '*');
RESET ROLE;

SET ROLE ro_officer;
SELECT ok(privacy.restrict_subject('ro_person', '4', 'accuracy contested') IS NOT NULL, 'person 4 is restricted');
SELECT is((privacy.erase_subject('ro_person', '3', 'art. 17(1)(a)') ->> 'changed')::int, 5,
          'person 3 is erased: two notes, a booking, a visit and the person');
RESET ROLE;

SET ROLE ro_owner;
SELECT set_eq('SELECT id FROM ro.leak', ARRAY[2, 6, 8],
              'the owner''s trigger read persons under the owner''s policies: its scope, not the restricted person');
SELECT is((SELECT count(*)::int FROM ro.leak WHERE branch = 'zwolle'), 0, 'nothing of zwolle leaked');
RESET ROLE;

-- a trigger that tries to change a BSN while the erasure runs
SET ROLE ro_owner;
CREATE FUNCTION ro.touch_bsn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ro.persons SET bsn = NULL WHERE id = OLD.person_id;
    RETURN OLD;
END
$$;
CREATE TRIGGER touch_bsn BEFORE DELETE ON ro.bookings FOR EACH ROW EXECUTE FUNCTION ro.touch_bsn();
RESET ROLE;
SET ROLE ro_officer;
SELECT throws_ok($$SELECT privacy.erase_subject('ro_person', '6', 'art. 17(1)(a)')$$, '42501', NULL,
                 'a trigger of the owner may not change a BSN during an erasure');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM ro.notes WHERE person_id = 6), 2, 'and the refused erasure changed nothing');
SET ROLE ro_owner;
DROP TRIGGER touch_bsn ON ro.bookings;
RESET ROLE;

-- the other owner's table, reached through tables it may not read
SET ROLE ro_officer;
SELECT is((SELECT (t ->> 'deleted')::int FROM jsonb_array_elements(
               privacy.erase_subject('ro_person', '5', 'art. 17(1)(a)') -> 'tables') t
            WHERE t ->> 'table' = 'rob.visits'), 1,
          'the visit of person 5 is erased although its owner may not read bookings');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM rob.visits WHERE booking_id = 105), 0, 'the visit is gone');

-- rows the table's own policy hides from its owner (a policy on a
-- registered table is for the superuser or the privacy admin to create)
CREATE POLICY no_delete ON rob.visits AS RESTRICTIVE FOR DELETE TO ro_owner_b USING (false);
SET ROLE ro_officer;
SELECT is((SELECT t -> 'kept' -> 0 ->> 'rows' FROM jsonb_array_elements(
               privacy.erase_subject('ro_person', '7', 'art. 17(1)(a)') -> 'tables') t
            WHERE t ->> 'table' = 'rob.visits'), '1',
          'a visit the owner''s own policy keeps is reported as kept');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM rob.visits WHERE booking_id = 107), 1, 'and it is still there');

-- the internal runner checks the rows it returns
CREATE TABLE public.ro_tq (c int);
INSERT INTO public.ro_tq VALUES (42);
SELECT is((SELECT q.c FROM privacy._query('SELECT c FROM public.ro_tq WHERE $1', true) AS q(c int)), 42,
          'privacy._query returns the row');
ALTER TABLE public.ro_tq ALTER c TYPE text USING 'hello world ' || c;
SELECT throws_ok($$SELECT q.c FROM privacy._query('SELECT c FROM public.ro_tq WHERE $1', true) AS q(c int)$$,
                 '42804', NULL, 'a kept statement whose column changed type is refused, not read as the old type');

SELECT * FROM finish();
ROLLBACK;
