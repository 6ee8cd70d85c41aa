-- Column-policy cases found by review, closed: switching a field back on
-- and unclassifying; set-returning SQL functions inlined by the planner;
-- partitions of a registered partitioned table (reads and the write guard);
-- renamed classified columns; masked values written back through
-- subqueries; hashing guesses with privacy.mask_hash; pg_stats of masked
-- columns; BEFORE triggers that would fill a forbidden field.
BEGIN;
SELECT plan(14);

SET client_min_messages = warning;
CREATE ROLE ch_owner;
CREATE ROLE ch_clerk;
CREATE SCHEMA ch;
GRANT USAGE, CREATE ON SCHEMA ch TO ch_owner;
GRANT USAGE ON SCHEMA ch TO ch_clerk;
SET ROLE ch_owner;
CREATE TABLE ch.t (id int PRIMARY KEY, name text, note text, photo bytea, diagnosis text);
INSERT INTO ch.t VALUES (1, 'Jan Jansen', 'same text', NULL, NULL), (2, 'Piet Pietersen', 'same text', NULL, NULL),
                        (3, 'Klaas Vaak', 'same text', NULL, NULL);
CREATE TABLE ch.pt (id int, name text, diagnosis text) PARTITION BY RANGE (id);
CREATE TABLE ch.pt1 PARTITION OF ch.pt FOR VALUES FROM (0) TO (100);
INSERT INTO ch.pt VALUES (1, 'Jan Jansen', NULL);
GRANT SELECT, INSERT, UPDATE ON ch.t, ch.pt, ch.pt1 TO ch_clerk;
RESET ROLE;
SELECT privacy.register_subject_type('ch_person', 'ch.t', 'id');
SELECT privacy.register_table('ch.t', 'ch_person');
SELECT privacy.register_subject_type('ch_pperson', 'ch.pt', 'id');
SELECT privacy.register_table('ch.pt', 'ch_pperson');
SELECT privacy.classify_column('ch.t', 'name', 'identifying');
SELECT privacy.classify_column('ch.t', 'note', 'free_text');
SELECT privacy.classify_column('ch.pt', 'name', 'identifying');
SELECT privacy.forbid_field('ch.pt', 'diagnosis', 'not needed');
CREATE FUNCTION ch.all_people() RETURNS SETOF ch.t LANGUAGE sql STABLE AS 'SELECT * FROM ch.t';
CREATE FUNCTION ch.names() RETURNS TABLE (name text) LANGUAGE sql STABLE AS 'SELECT name FROM ch.t';

-- 1
SELECT lives_ok($$SELECT privacy.set_optional_field('ch.t', 'photo', false)$$, 'an optional field is switched off');
SELECT lives_ok($$SELECT privacy.set_optional_field('ch.t', 'photo', true)$$, 'and switched back on');
-- 2
SELECT lives_ok($$SELECT privacy.unclassify_column('ch.t', 'note')$$, 'a classified column is unclassified');
SELECT privacy.classify_column('ch.t', 'note', 'free_text');

SET ROLE ch_clerk;
-- 3
SELECT is((SELECT name FROM ch.all_people() WHERE id = 1), '********en',
          'an inlined SQL function returning the table rows is masked');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ch.names()), ARRAY['************en', '********ak', '********en'],
          'an inlined SQL function returning a column is masked');
-- 4
SELECT is((SELECT name FROM ch.pt1 WHERE id = 1), '********en', 'a partition of a registered table is masked');
-- 5
SELECT throws_ok($$INSERT INTO ch.pt VALUES (2, 'x', 'flu')$$, '23514',
                 'column "diagnosis" of table "pt1" may not hold a value',
                 'a forbidden field of a partitioned table refuses values');
-- 7
SELECT throws_ok($$UPDATE ch.t SET name = (SELECT name FROM ch.t t2 WHERE t2.id = ch.t.id) WHERE id = 1$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'a masked value written back through a scalar subquery is refused');
SELECT throws_ok($$UPDATE ch.t SET name = x.n FROM (SELECT id, name AS n FROM ch.t) x WHERE x.id = ch.t.id AND ch.t.id = 2$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'a masked value written back through a subquery in FROM is refused');
-- 8
SELECT throws_ok($$SELECT count(*) FROM ch.t WHERE note = privacy.mask_hash('same text')$$, '42501',
                 'permission denied to call privacy.mask_hash(text)',
                 'the clerk cannot confirm a guess of a hashed value by hashing it');
RESET ROLE;

-- 9
ANALYZE ch.t;
SET ROLE ch_clerk;
SELECT is((SELECT most_common_vals::text FROM pg_stats WHERE schemaname = 'ch' AND tablename = 't' AND attname = 'note'), NULL,
          'pg_stats shows no values of a masked column to the clerk');
RESET ROLE;

-- 10
SELECT privacy.forbid_field('ch.t', 'diagnosis', 'not needed');
SET ROLE ch_owner;
CREATE FUNCTION ch.fill() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.diagnosis := 'flu'; RETURN NEW; END$$;
CREATE TRIGGER zz_fill BEFORE INSERT ON ch.t FOR EACH ROW EXECUTE FUNCTION ch.fill();
SELECT throws_ok($$INSERT INTO ch.t (id) VALUES (10)$$, '23514',
                 'column "diagnosis" of table "t" may not hold a value',
                 'a later BEFORE trigger cannot store a forbidden value');
RESET ROLE;

-- 6 (last: it renames the column)
SET ROLE ch_owner;
ALTER TABLE ch.t RENAME COLUMN name TO full_name;
RESET ROLE;
SELECT is((SELECT column_name::text FROM privacy.column_policies WHERE tbl = 'ch.t'::regclass AND class = 'identifying'),
          'full_name', 'the policy follows the rename (a new session reads the column in full otherwise)');
SET ROLE ch_clerk;
SELECT is((SELECT full_name FROM ch.t WHERE id = 1), '********en', 'a renamed classified column stays masked');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
