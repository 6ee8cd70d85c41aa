-- A registered table whose inheritance child is registered too: the
-- child's rows belong to the child's rules and duties, and the parent's
-- statements must leave them alone.
--
-- Asserted:
--  * erasure: a child row under a ten-year minimum keep period is kept
--    (and the person it refers to), although the parent's rule keeps
--    nothing and the parent's own rows are deleted;
--  * export: the child's row appears once, under the child, not again
--    under the parent;
--  * purge: the parent's short rule does not reach the child's rows, which
--    the child's long rule keeps (dry run, and retention_status);
--  * a parent whose child is not registered still reaches the child's rows
--    (they are the parent's business then).
BEGIN;
SELECT plan(9);

SET client_min_messages = warning;
CREATE ROLE ri_admin IN ROLE privacy_admin;
CREATE ROLE ri_officer IN ROLE privacy_officer;

CREATE SCHEMA ri;
GRANT USAGE ON SCHEMA ri TO ri_admin, ri_officer;
CREATE TABLE ri.persons (id int PRIMARY KEY, naam text NOT NULL);
CREATE TABLE ri.docs (id int PRIMARY KEY, person_id int NOT NULL REFERENCES ri.persons, made date NOT NULL);
CREATE TABLE ri.docs_legal (kind text) INHERITS (ri.docs);
CREATE TABLE ri.loose (id int PRIMARY KEY, person_id int NOT NULL REFERENCES ri.persons, made date NOT NULL);
CREATE TABLE ri.loose_child () INHERITS (ri.loose);
INSERT INTO ri.persons VALUES (1, 'Een'), (2, 'Twee');
INSERT INTO ri.docs VALUES (10, 1, '2000-01-01'), (20, 2, '2000-01-01');
INSERT INTO ri.docs_legal VALUES (11, 1, CURRENT_DATE - 30, 'loonstrook'), (21, 2, CURRENT_DATE - 400, 'loonstrook');
INSERT INTO ri.loose VALUES (30, 1, '2000-01-01');
INSERT INTO ri.loose_child VALUES (31, 1, '2000-01-01');
GRANT SELECT ON ALL TABLES IN SCHEMA ri TO ri_admin;

SET ROLE ri_admin;
SELECT privacy.register_subject_type('ri_person', 'ri.persons', 'id', 'Personen');
SELECT privacy.register_table('ri.persons', 'ri_person');
SELECT privacy.register_table('ri.docs', 'ri_person', key_column => 'person_id');
SELECT privacy.register_table('ri.docs_legal', 'ri_person', key_column => 'person_id');
SELECT privacy.register_table('ri.loose', 'ri_person', key_column => 'person_id');
SELECT privacy.define_document_type('ri_short', '1 day', 'from the day it was made');
SELECT privacy.define_document_type('ri_payroll', '7 years', 'from the day it was made', min_keep => '10 years');
SELECT privacy.create_retention_rule('ri_docs', 'ri.docs', 'ri_short', start_expr => 'made');
SELECT privacy.create_retention_rule('ri_docs_legal', 'ri.docs_legal', 'ri_payroll', start_expr => 'made');

-- the purge: the parent's short rule does not reach the child
SELECT is((SELECT (r ->> 'deleted')::int FROM jsonb_array_elements(privacy.purge_plan() -> 'rules') r
            WHERE r ->> 'rule' = 'ri_docs'), 2,
          'the parent''s rule would purge the parent''s own two rows only');
SELECT is((SELECT (r ->> 'deleted')::int FROM jsonb_array_elements(privacy.purge_plan() -> 'rules') r
            WHERE r ->> 'rule' = 'ri_docs_legal'), 0,
          'the child''s rule keeps its rows (ten years minimum)');
SELECT is((SELECT rows_total::int FROM privacy.retention_status('ri_docs')), 2,
          'the signalling counts the parent''s own rows only');
RESET ROLE;

-- the export
SET ROLE ri_officer;
SELECT is(jsonb_array_length(privacy.export_subject('ri_person', '1') -> 'data' -> 'ri.docs'), 1,
          'the export lists the parent''s own row under the parent');
SELECT is(jsonb_array_length(privacy.export_subject('ri_person', '1') -> 'data' -> 'ri.docs_legal'), 1,
          'and the child''s row under the child');
SELECT is(jsonb_array_length(privacy.export_subject('ri_person', '1') -> 'data' -> 'ri.loose'), 2,
          'a parent whose child is not registered lists the child''s row too');

-- the erasure
SELECT is((privacy.erase_subject('ri_person', '1', 'art. 17(1)(a)') ->> 'kept')::int, 2,
          'the erasure keeps the child''s payslip, and the person it refers to through the parent''s foreign key');
RESET ROLE;
SELECT is((SELECT array_agg(id ORDER BY id) FROM ri.docs WHERE person_id = 1), ARRAY[11],
          'the child''s row is still there, the parent''s own row is gone');
SELECT is((SELECT count(*)::int FROM ri.loose WHERE person_id = 1), 0,
          'rows of an unregistered child go with the parent');

SELECT * FROM finish();
ROLLBACK;
