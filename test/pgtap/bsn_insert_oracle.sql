-- Inserting guesses into a table with a unique bsn: a clerk inserts one row
-- per statement.  ON CONFLICT over the bsn (which would test guesses
-- silently), INSERT ... SELECT and multi-row VALUES (which would test many
-- guesses per statement) are refused; ON CONFLICT over another key stays.
BEGIN;
SELECT plan(9);

SET client_min_messages = warning;
SET search_path = public, privacy;
CREATE ROLE io_clerk LOGIN;
CREATE ROLE io_payroll LOGIN IN ROLE privacy_bsn;
CREATE TABLE public.io_people (id int PRIMARY KEY, name text, bsn privacy.bsn UNIQUE);
CREATE TABLE public.io_plain (id int PRIMARY KEY, bsn privacy.bsn);
INSERT INTO public.io_people VALUES (1, 'Anna', '111222333');
GRANT SELECT, INSERT, UPDATE ON public.io_people, public.io_plain TO io_clerk, io_payroll;
RESET client_min_messages;

SET ROLE io_clerk;
SELECT throws_ok($$INSERT INTO io_people VALUES (2, 'probe', '111222333') ON CONFLICT (bsn) DO NOTHING$$,
                 '42501', 'permission denied to use ON CONFLICT on table "io_people", which has a unique bsn',
                 'ON CONFLICT over the bsn is refused to the clerk');
SELECT throws_ok($$INSERT INTO io_people VALUES (2, 'probe', '111222333') ON CONFLICT DO NOTHING$$,
                 '42501', NULL, 'ON CONFLICT without a target (every unique index) is refused to the clerk');
SELECT throws_ok($$INSERT INTO io_people SELECT g, 'probe', (g::bigint)::privacy.bsn
                     FROM generate_series(111222300, 111222400) g WHERE privacy.bsn_is_valid(g::text)$$,
                 '42501', 'permission denied to insert more than one row at a time into table "io_people", which has a unique bsn',
                 'INSERT ... SELECT of guesses is refused to the clerk');
SELECT throws_ok($$INSERT INTO io_people VALUES (2, 'a', '123456782'), (3, 'b', '111222333')$$,
                 '42501', NULL, 'a multi-row VALUES list is refused to the clerk');
SELECT lives_ok($$INSERT INTO io_people VALUES (2, 'Bram', '123456782') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name$$,
                'ON CONFLICT over another key is allowed: a bsn conflict raises the ordinary error');
SELECT throws_ok($$INSERT INTO io_people VALUES (3, 'Cor', '111222333')$$, '23505', NULL,
                 'a single-row insert of a stored number gets the unique violation (the documented residual)');
SELECT lives_ok($$INSERT INTO io_plain SELECT g, (g::bigint)::privacy.bsn FROM generate_series(111222300, 111222400) g
                   WHERE privacy.bsn_is_valid(g::text)$$,
                'INSERT ... SELECT into a table without a unique bsn is allowed');
SET ROLE io_payroll;
SELECT lives_ok($$INSERT INTO io_people VALUES (4, 'probe', '111222333') ON CONFLICT (bsn) DO NOTHING$$,
                'a member of privacy_bsn may use ON CONFLICT over the bsn');
SELECT lives_ok($$INSERT INTO io_people SELECT 5, 'copy', bsn FROM io_people WHERE id = 1 ON CONFLICT DO NOTHING$$,
                'and insert from a query');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
