-- Lint benchmark schema: 500 tables in schema lint_bench, as a large
-- application has them: a registered root (people), 200 registered tables
-- that reference it (a scope column each, a few personal-looking columns,
-- a row of data), 250 unregistered tables that reference it and 50 that do
-- not, some with a bsn column.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS lint_bench CASCADE;
CREATE SCHEMA lint_bench;
CREATE TABLE lint_bench.people (id int PRIMARY KEY, branch_id int NOT NULL, email text, notes text, bsn privacy.bsn);
INSERT INTO lint_bench.people VALUES (1, 1, 'a@example.nl', 'nothing to see', NULL);
SELECT format('CREATE TABLE lint_bench.t%s (id int PRIMARY KEY, person_id int REFERENCES lint_bench.people, branch_id int NOT NULL, phone text, note text%s)',
              g, CASE WHEN g % 10 = 0 THEN ', bsn privacy.bsn' ELSE '' END)
  FROM generate_series(1, 449) g
\gexec
SELECT format('CREATE TABLE lint_bench.u%s (id int PRIMARY KEY, label text%s)', g,
              CASE WHEN g % 5 = 0 THEN ', bsn privacy.bsn' ELSE '' END)
  FROM generate_series(1, 50) g
\gexec
SELECT format('INSERT INTO lint_bench.t%s VALUES (1, 1, 1, ''0612345678'', ''called back'')', g) FROM generate_series(1, 449) g
\gexec
SELECT privacy.register_subject_type('lint_person', 'lint_bench.people', 'id');
SELECT privacy.register_table('lint_bench.people', 'lint_person', 'id', NULL, 'branch_id');
SELECT count(privacy.register_table(format('lint_bench.t%s', g)::regclass, 'lint_person', NULL,
                                    '{lint_bench.people}', 'branch_id'))
  FROM generate_series(1, 199) g;
ANALYZE;
