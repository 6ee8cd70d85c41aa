-- Attacks on the column masks, closed: calling the masking functions
-- directly (a partial mask keeping everything, the keyed hash on guesses),
-- set-returning SQL functions with a BEGIN ATOMIC body (inlined by the
-- planner from their stored tree), copying masked values into classified
-- columns with INSERT ... SELECT or MERGE, and constraint messages that
-- would show a failing row in full.
BEGIN;
SELECT plan(13);
SET client_min_messages = warning;
CREATE ROLE ca_clerk LOGIN;
CREATE SCHEMA ca_hr;
CREATE TABLE ca_hr.people (id int PRIMARY KEY CHECK (id > 0), name text NOT NULL, diag text, notes text);
INSERT INTO ca_hr.people VALUES (1, 'Jansen', 'diabetes', 'secret note'), (2, 'Pietersen', 'flu', 'other');
SELECT privacy.register_subject_type('ca_person', 'ca_hr.people', 'id');
SELECT privacy.register_table('ca_hr.people', 'ca_person');
SELECT privacy.classify_column('ca_hr.people', 'name', 'identifying');
SELECT privacy.classify_column('ca_hr.people', 'diag', 'special');
SELECT privacy.classify_column('ca_hr.people', 'notes', 'free_text');
GRANT USAGE ON SCHEMA ca_hr TO ca_clerk;
GRANT SELECT, INSERT, UPDATE, DELETE ON ca_hr.people TO ca_clerk;
CREATE SCHEMA ca_own AUTHORIZATION ca_clerk;
RESET client_min_messages;

SET ROLE ca_clerk;
SELECT throws_ok($$SELECT privacy.mask_partial(name, 1000) FROM ca_hr.people$$, '42501',
                 'permission denied to call privacy.mask_partial(text,integer)',
                 'a partial mask keeping every character may not be called on a column');
SELECT throws_ok($$SELECT privacy.mask_partial('Jansen', 2)$$, '42501', NULL,
                 'nor on a literal: the masking functions are the extension''s');
SELECT throws_ok($$SELECT count(*) FROM ca_hr.people WHERE notes = privacy.mask_hash('secret note')$$, '42501',
                 'permission denied to call privacy.mask_hash(text)', 'the keyed hash may not be called on guesses');
SELECT is((SELECT name FROM ca_hr.people WHERE id = 1), '****en', 'the name reads masked');
-- expressions that are not planned as queries are refused by the functions
CREATE TABLE ca_own.g (guess text, h text GENERATED ALWAYS AS (privacy.mask_partial(guess, 99)) STORED);
SELECT throws_ok($$INSERT INTO ca_own.g (guess) VALUES ('Jansen')$$, '42501',
                 'permission denied to call privacy.mask_partial(text,integer)',
                 'a generated column of the clerk may not call a masking function');

CREATE FUNCTION ca_own.f() RETURNS SETOF ca_hr.people LANGUAGE sql STABLE
BEGIN ATOMIC SELECT * FROM ca_hr.people; END;
CREATE FUNCTION ca_own.g() RETURNS SETOF ca_hr.people LANGUAGE sql STABLE
AS 'SELECT * FROM ca_hr.people';
SELECT throws_ok($$SELECT name FROM ca_own.f() WHERE id = 1$$, '42501',
                 'permission denied to call ca_own.f(), which reads masked columns',
                 'an inlined BEGIN ATOMIC function over a masked table is refused');
SELECT is((SELECT name FROM ca_own.g() WHERE id = 1), '****en',
          'the same function with a body as text is masked');
SELECT is((SELECT count(*)::int FROM ca_own.g() WHERE name = 'Jansen'), 0,
          'and a WHERE on its output compares the mask');

SELECT throws_ok($$INSERT INTO ca_hr.people (id, name) SELECT id + 10, name FROM ca_hr.people$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'INSERT ... SELECT of a masked column into a classified column is refused');
SELECT throws_ok($$MERGE INTO ca_hr.people t USING (SELECT id + 20 AS id, name FROM ca_hr.people) s ON t.id = s.id
                   WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name)$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'MERGE ... INSERT of a masked column is refused');
SELECT lives_ok($$INSERT INTO ca_hr.people (id, name) VALUES (3, 'de Vries')$$,
                'a value the clerk supplies is written');

-- a failing row is not shown: the table has row-level security
CREATE FUNCTION pg_temp.detail_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN coalesce(d, '');
END
$$;
SELECT is(pg_temp.detail_of('UPDATE ca_hr.people SET id = -1 WHERE id = 1'), '',
          'a CHECK violation does not show the failing row, even to a handler');
SELECT is(pg_temp.detail_of('UPDATE ca_hr.people SET name = NULL WHERE id = 2'), '',
          'a NOT NULL violation does not show the failing row');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
