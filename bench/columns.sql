-- Column-policy benchmark data: :rows people with three classified columns
-- (a name and a phone number masked partially, a health note masked to
-- NULL), read as a role that sees them masked and as one that sees them in
-- full.
-- psql variables: rows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE ROLE bench_masked LOGIN;
CREATE ROLE bench_plain LOGIN IN ROLE privacy_identifying, privacy_contact, privacy_special;
CREATE SCHEMA col;
GRANT USAGE ON SCHEMA col TO bench_masked, bench_plain;
CREATE TABLE col.people (
    id     int PRIMARY KEY,
    name   text NOT NULL,
    phone  text NOT NULL,
    health text,
    city   text NOT NULL
);
INSERT INTO col.people
SELECT g, 'Persoon ' || g || ' van der Berg', '06-' || lpad((g::bigint * 7919 % 100000000)::text, 8, '0'),
       CASE WHEN g % 10 = 0 THEN 'rugklachten' END, (ARRAY['Utrecht', 'Amsterdam', 'Zwolle'])[g % 3 + 1]
  FROM generate_series(1, :rows) g;
GRANT SELECT ON col.people TO bench_masked, bench_plain;
SELECT privacy.register_subject_type('bench_col_person', 'col.people', 'id');
SELECT privacy.register_table('col.people', 'bench_col_person');
SELECT privacy.classify_column('col.people', 'name', 'identifying');
SELECT privacy.classify_column('col.people', 'phone', 'contact');
SELECT privacy.classify_column('col.people', 'health', 'special');
VACUUM ANALYZE col.people;
