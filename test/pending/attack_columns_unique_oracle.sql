-- Residual channel, documented in doc/column-policies.md ("Unique constraints").
-- Hole (inference): a unique constraint that includes a classified column is
-- an existence oracle for a clerk with INSERT: INSERT ... ON CONFLICT DO
-- NOTHING (or a plain INSERT and its unique_violation) tells whether a
-- guessed plain value is stored, although WHERE name = 'Jansen' finds
-- nothing.  (Error DETAILs are hidden because register_table enables RLS.)
-- Run by hand: pg_prove -v --ext .sql -d <db> test/pending/attack_columns_unique_oracle.sql
BEGIN;
SELECT plan(3);
SET client_min_messages = warning;
CREATE ROLE ac_clerk LOGIN;
CREATE SCHEMA ac_hr;
CREATE TABLE ac_hr.people (id int PRIMARY KEY, name text NOT NULL, diag text, notes text,
                           dept text NOT NULL DEFAULT 'A', UNIQUE (name, dept));
INSERT INTO ac_hr.people VALUES (1, 'Jansen', 'diabetes', 'secret note', 'A'),
                                (2, 'Pietersen', 'flu', 'other', 'B');
SELECT privacy.register_subject_type('ac_person', 'ac_hr.people', 'id');
SELECT privacy.register_table('ac_hr.people', 'ac_person');
SELECT privacy.classify_column('ac_hr.people', 'name', 'identifying');
SELECT privacy.classify_column('ac_hr.people', 'diag', 'special');
SELECT privacy.classify_column('ac_hr.people', 'notes', 'free_text');
GRANT USAGE ON SCHEMA ac_hr TO ac_clerk;
GRANT SELECT, INSERT, UPDATE, DELETE ON ac_hr.people TO ac_clerk;
CREATE SCHEMA ac_own AUTHORIZATION ac_clerk;
RESET client_min_messages;
SET ROLE ac_clerk;
SELECT is((SELECT count(*)::int FROM ac_hr.people WHERE name = 'Jansen'), 0,
          'WHERE on the masked name finds nothing (as documented)');
SELECT throws_ok(
  $$INSERT INTO ac_hr.people (id, name, dept) VALUES (102, 'Jansen', 'A') ON CONFLICT DO NOTHING$$,
  '42501', NULL,
  'ON CONFLICT on a unique key with a masked column is refused for a clerk (it would confirm a guess)');
SELECT throws_ok(
  $$INSERT INTO ac_hr.people (id, name, dept) VALUES (103, 'Jansen', 'A')$$,
  '42501', NULL,
  'the unique check does not answer a guessed masked value with unique_violation (23505)');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
