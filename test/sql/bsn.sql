-- The bsn type: input rule and its messages, masking per role, the update
-- guard, the inference guard and the maintenance guard, with the exact
-- messages a user sees.
SET search_path = public, privacy;
SET client_min_messages = warning;
CREATE ROLE bsn_clerk LOGIN;
CREATE ROLE bsn_payroll_group IN ROLE privacy_bsn;
CREATE ROLE bsn_payroll LOGIN IN ROLE bsn_payroll_group;
CREATE ROLE bsn_noinherit LOGIN NOINHERIT IN ROLE privacy_bsn;
RESET client_min_messages;

-- input: separators, padding, white space
SELECT '111222333'::bsn, ' 1112.22.333 '::bsn, '1112-22-333'::bsn, '1112 22 333'::bsn,
       '12345672'::bsn AS padded, E'\t123456782\n'::bsn;
-- input errors never show the value
SELECT ''::bsn;
SELECT '   '::bsn;
SELECT '11122233x'::bsn;
SELECT '1112..22.333'::bsn;
SELECT '.111222333'::bsn;
SELECT '111222333-'::bsn;
SELECT '1112223330'::bsn;
SELECT '1234567'::bsn;
SELECT '111222334'::bsn;
SELECT '000000000'::bsn;
SELECT '00000000'::bsn;
SELECT '+111222333'::bsn;
SELECT '１１１２２２３３３'::bsn;
-- validity without errors
SELECT privacy.bsn_is_valid(v) FROM (VALUES ('111222333'), ('111222334'), (''), ('abc'), (repeat('9', 10000))) AS t(v);
-- from bigint
SELECT 111222333::bigint::bsn, 12345672::bigint::bsn;
SELECT 111222334::bigint::bsn;
SELECT (-1)::bigint::bsn;
SELECT 9999999999::bigint::bsn;
-- stored in 4 bytes, passed by value
SELECT typlen, typbyval, typalign FROM pg_type WHERE typname = 'bsn';
SELECT pg_column_size('111222333'::bsn);

CREATE TABLE people (id int PRIMARY KEY, name text, bsn bsn UNIQUE);
GRANT SELECT, INSERT, UPDATE, DELETE ON people TO bsn_clerk, bsn_payroll, bsn_noinherit;
INSERT INTO people VALUES (1, 'Jan', '111222333'), (2, 'Sanne', '123456782'), (3, 'Piet', NULL);

-- masking per role: inheritance counts, NOINHERIT does not
SET ROLE bsn_payroll;
SELECT id, bsn, bsn_display(bsn), bsn_authorized() FROM people ORDER BY id;
SET ROLE bsn_noinherit;
SELECT id, bsn, bsn_authorized() FROM people ORDER BY id;
SET ROLE bsn_clerk;
SELECT id, bsn, bsn_display(bsn), bsn::text, to_json(bsn), format('%s', bsn) FROM people ORDER BY id;
SELECT row_to_json(p) FROM people p ORDER BY id;
SELECT string_agg(bsn::text, ',') FROM people;
-- the masked form is not a BSN
SELECT '******333'::bsn;
RESET ROLE;
SET privacy.bsn_visible_digits = 0;
SET ROLE bsn_clerk;
SELECT bsn FROM people WHERE id = 1;
RESET ROLE;
SET privacy.bsn_visible_digits = 4;
SET ROLE bsn_clerk;
SELECT bsn FROM people WHERE id = 1;
RESET ROLE;
RESET privacy.bsn_visible_digits;

-- the clerk inserts, but does not change a BSN
SET ROLE bsn_clerk;
INSERT INTO people VALUES (4, 'Klaas', '987654305');
UPDATE people SET name = 'Klaas de Vries' WHERE id = 4;
UPDATE people SET bsn = '111222333' WHERE id = 4;
UPDATE people SET bsn = NULL WHERE id = 4;
UPDATE people SET bsn = '123456782' WHERE id = 3;
INSERT INTO people VALUES (4, 'Klaas', '987654305') ON CONFLICT (id) DO UPDATE SET bsn = EXCLUDED.bsn;
INSERT INTO people VALUES (4, 'Klaas', '987654305') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
MERGE INTO people p USING (VALUES (4, '111222333'::bsn)) v(id, b) ON p.id = v.id
  WHEN MATCHED THEN UPDATE SET bsn = v.b;
-- a unique violation shows the masked number only
INSERT INTO people VALUES (5, 'Guess', '111222333');
RESET ROLE;
-- also for an authorized role the message is masked (it would be logged)
INSERT INTO people VALUES (5, 'Guess', '111222333');
SELECT id, name, bsn FROM people ORDER BY id;

-- authorized changes are audited with the column and the row count, no value
SET ROLE bsn_payroll;
UPDATE people SET bsn = '111222333' WHERE id = 3;
UPDATE people SET bsn = NULL WHERE id = 3;
RESET ROLE;
SELECT action, object, acting_role, details FROM privacy.audit_log
 WHERE action = 'bsn.update' ORDER BY seq;

-- the inference guard, one message per channel
SET ROLE bsn_clerk;
SELECT id FROM people WHERE bsn = '111222333';
SELECT id FROM people WHERE bsn BETWEEN '100000009' AND '200000007';
SELECT id FROM people WHERE bsn IN ('111222333', '123456782');
SELECT id FROM people ORDER BY bsn;
SELECT bsn, count(*) FROM people GROUP BY bsn;
SELECT DISTINCT bsn FROM people;
SELECT bsn FROM people UNION SELECT '111222333';
SELECT row_number() OVER (ORDER BY bsn) FROM people;
SELECT max(bsn) FROM people;
SELECT count(DISTINCT bsn) FROM people;
SELECT bsn_cmp(bsn, '111222333') FROM people;
SELECT bsn_hash(bsn) FROM people;
SELECT GREATEST(bsn, '111222333') FROM people;
SELECT p.id FROM people p JOIN people q USING (bsn);
-- what carries no information stays allowed
SELECT id FROM people WHERE bsn IS NOT NULL AND bsn::text = '******333';
SELECT count(bsn) FROM people;
SELECT bsn FROM people WHERE id = 1 UNION ALL SELECT bsn FROM people WHERE id = 2;
RESET ROLE;

-- a plan prepared by an authorized role is planned again for the clerk
PREPARE find(bsn) AS SELECT id FROM people WHERE bsn = $1;
EXECUTE find('111222333');
SET ROLE bsn_clerk;
EXECUTE find('111222333');
RESET ROLE;
DEALLOCATE find;

-- a view ordering by BSN, made by the owner, does not order for the clerk
CREATE VIEW people_by_bsn AS SELECT id, bsn FROM people ORDER BY bsn;
GRANT SELECT ON people_by_bsn TO bsn_clerk;
SET ROLE bsn_clerk;
SELECT * FROM people_by_bsn;
RESET ROLE;

-- where no query is planned, privileges refuse the comparison
SET ROLE bsn_clerk;
CREATE TEMP TABLE mine (b bsn CHECK (b <> '111222333'));
INSERT INTO mine SELECT bsn FROM people WHERE id = 1;
-- a role's own copy cannot be indexed, clustered or partitioned by BSN
CREATE TEMP TABLE copy AS SELECT bsn FROM people;
CREATE INDEX ON copy (bsn);
CREATE TEMP TABLE parts (b bsn) PARTITION BY RANGE (b);
CREATE TEMP TABLE hparts (b bsn) PARTITION BY HASH (b);
RESET ROLE;

-- the indexes are not visible to the clerk's planner
SET enable_seqscan = off;
SET ROLE bsn_payroll;
EXPLAIN (COSTS OFF) SELECT bsn FROM people;
SET ROLE bsn_clerk;
EXPLAIN (COSTS OFF) SELECT bsn FROM people;
RESET ROLE;
RESET enable_seqscan;

-- statistics keep no values
ANALYZE people;
SELECT attname, null_frac, n_distinct, most_common_vals IS NULL AS no_mcv,
       histogram_bounds IS NULL AS no_histogram, correlation IS NULL AS no_correlation
  FROM pg_stats WHERE tablename = 'people' AND attname = 'bsn';

-- the opclasses are valid
SELECT opcname, amvalidate(oid) FROM pg_opclass WHERE opcname IN ('bsn_ops', 'bsn_hash_ops') ORDER BY 1;

SET ROLE bsn_clerk;
DROP TABLE mine, copy;
RESET ROLE;
DROP VIEW people_by_bsn;
DROP TABLE people;
SET client_min_messages = warning;
DROP ROLE bsn_clerk;
DROP ROLE bsn_payroll;
DROP ROLE bsn_payroll_group;
DROP ROLE bsn_noinherit;
