-- Column masking: how each role reads each class of column.
--
-- Roles: a clerk in no class role, a payroll officer (privacy_financial and
-- privacy_contact), a medical officer (privacy_special), a privacy admin
-- (member of privacy_admin, in no class role), a superuser, and the
-- non-superuser owner of the tables.  Masks: partial (text, varchar,
-- char(n)), null, hash (keyed, equal values equal and joinable), fixed
-- (custom classes, also on an int column), and a non-text column under a
-- partial class reading NULL.  Paths: select list, WHERE, JOIN, ORDER BY,
-- GROUP BY, RETURNING, subqueries and CTEs, whole-row references, a view
-- and a SQL function made by the superuser, a cursor, prepared statements
-- executed by another role.  A WHERE clause learns nothing the select list
-- would not show; the masked value cannot be written back (UPDATE, ON
-- CONFLICT DO UPDATE, MERGE); a new value written by the clerk is stored in
-- full; EXPLAIN shows the mask for the clerk only.
BEGIN;
SELECT plan(107);

SET client_min_messages = warning;
CREATE ROLE cm_owner;
CREATE ROLE cm_clerk;
CREATE ROLE cm_payroll IN ROLE privacy_financial, privacy_contact;
CREATE ROLE cm_medical IN ROLE privacy_special;
CREATE ROLE cm_admin IN ROLE privacy_admin;
CREATE ROLE cm_super SUPERUSER;
CREATE SCHEMA cm;
GRANT USAGE, CREATE ON SCHEMA cm TO cm_owner;
GRANT USAGE ON SCHEMA cm TO cm_clerk, cm_payroll, cm_medical, cm_admin;

-- custom classes with a fixed mask
INSERT INTO privacy.column_class (name, description, viewer_role, mask, mask_param)
VALUES ('cm_code', 'internal codes', 'privacy_special', 'fixed', '[hidden]'),
       ('cm_grade', 'salary grade', 'privacy_financial', 'fixed', '0');

SET ROLE cm_owner;
CREATE TABLE cm.people (
    id          int PRIMARY KEY,
    name        text,            -- identifying: partial 2
    phone       varchar(20),     -- contact: partial 4
    iban        char(18),        -- financial: partial 4
    salary      numeric,         -- financial, not text: NULL
    birth_year  int,             -- identifying, not text: NULL
    health      text,            -- special: null
    photo       bytea,           -- photo: null
    remark      text,            -- free_text: hash
    code        text,            -- cm_code: fixed '[hidden]'
    grade       int,             -- cm_grade: fixed 0
    city        text             -- not classified
);
INSERT INTO cm.people VALUES
    (1, 'Jan Jansen', '0612345678', 'NL91ABNA0417164300', 3000, 1980, 'asthma', '\x01', 'same text', 'C1', 7, 'Utrecht'),
    (2, 'Piet Pietersen', '0698765432', 'NL20INGB0001234567', 4000, 1990, 'flu', NULL, 'same text', 'C2', 8, 'Zwolle'),
    (3, 'Klaas Vaak', '0611112222', 'NL02RABO0123456789', 2500, 1975, NULL, NULL, 'other text', 'C3', 9, 'Breda');
CREATE TABLE cm.notes (
    id         int PRIMARY KEY,
    person_id  int NOT NULL REFERENCES cm.people,
    body       text              -- free_text: hash
);
INSERT INTO cm.notes VALUES (1, 1, 'same text'), (2, 3, 'another text');
GRANT SELECT, INSERT, UPDATE, DELETE ON cm.people, cm.notes TO cm_clerk, cm_payroll, cm_medical, cm_admin;
RESET ROLE;

SELECT privacy.register_subject_type('cm_person', 'cm.people', 'id');
SELECT privacy.register_table('cm.people', 'cm_person');
SELECT privacy.register_table('cm.notes', 'cm_person', key_column => 'person_id');
SELECT privacy.classify_column('cm.people', 'name', 'identifying');
SELECT privacy.classify_column('cm.people', 'phone', 'contact');
SELECT privacy.classify_column('cm.people', 'iban', 'financial');
SELECT privacy.classify_column('cm.people', 'salary', 'financial');
SELECT privacy.classify_column('cm.people', 'birth_year', 'identifying');
SELECT privacy.classify_column('cm.people', 'health', 'special');
SELECT privacy.classify_column('cm.people', 'photo', 'photo');
SELECT privacy.classify_column('cm.people', 'remark', 'free_text');
SELECT privacy.classify_column('cm.people', 'code', 'cm_code');
SELECT privacy.classify_column('cm.people', 'grade', 'cm_grade');
SELECT privacy.classify_column('cm.notes', 'body', 'free_text');

-- made by the superuser, used by the other roles
CREATE VIEW cm.people_view AS SELECT id, name, phone, remark FROM cm.people;
CREATE FUNCTION cm.name_of(int) RETURNS text LANGUAGE sql STABLE
    AS 'SELECT name FROM cm.people WHERE id = $1';
GRANT SELECT ON cm.people_view TO cm_clerk, cm_payroll;

-- the keyed hash of a text, computed by the superuser
CREATE TEMP TABLE hashes AS
SELECT privacy.mask_hash('same text') AS same, privacy.mask_hash('other text') AS other,
       privacy.mask_hash('another text') AS another,
       encode(sha256(convert_to('same text', 'UTF8')), 'hex') AS unkeyed;
GRANT SELECT ON hashes TO PUBLIC;

-- EXPLAIN output as one text
CREATE FUNCTION pg_temp.plan_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || sql LOOP
        result := result || line || E'\n';
    END LOOP;
    RETURN result;
END
$$;

-- the row of person 1 as each role reads it, as text
CREATE FUNCTION pg_temp.row1() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws('|', name, phone, iban, salary, birth_year, health, encode(photo, 'hex'),
                     CASE WHEN remark = (SELECT same FROM hashes) THEN 'HASH' ELSE remark END,
                     code, grade, city)
      FROM cm.people WHERE id = 1
$$;

-------------------------------------------------------------------------------
-- what each role sees
-------------------------------------------------------------------------------
SET ROLE cm_clerk;
SELECT is(pg_temp.row1(), '********en|******5678|**************4300|HASH|[hidden]|0|Utrecht',
          'the clerk reads every class masked: partial, NULL, hash, fixed');
SELECT is((SELECT name FROM cm.people WHERE id = 2), '************en', 'partial 2 keeps the last two characters');
SELECT is((SELECT phone FROM cm.people WHERE id = 1), '******5678'::varchar, 'varchar under partial 4');
SELECT is((SELECT pg_typeof(phone)::text FROM cm.people WHERE id = 1), 'character varying', 'a masked varchar stays varchar');
SELECT is((SELECT iban FROM cm.people WHERE id = 1), '**************4300'::char(18), 'char(n) under partial 4');
SELECT is((SELECT pg_typeof(iban)::text FROM cm.people WHERE id = 1), 'character', 'a masked char(n) stays character');
SELECT ok((SELECT salary IS NULL FROM cm.people WHERE id = 1), 'a numeric column under a partial class reads NULL');
SELECT ok((SELECT birth_year IS NULL FROM cm.people WHERE id = 1), 'an int column under a partial class reads NULL');
SELECT ok((SELECT health IS NULL AND photo IS NULL FROM cm.people WHERE id = 1), 'special and photo read NULL');
SELECT is((SELECT grade FROM cm.people WHERE id = 2), 0, 'a fixed mask on an int column');
SELECT is((SELECT code FROM cm.people WHERE id = 3), '[hidden]', 'a fixed mask on a text column');
SELECT is((SELECT city FROM cm.people WHERE id = 3), 'Breda', 'an unclassified column is plain');
SELECT matches((SELECT remark FROM cm.people WHERE id = 3), '^[0-9a-f]{64}$', 'the hash mask is 64 hex digits');
SELECT is((SELECT remark FROM cm.people WHERE id = 1), (SELECT remark FROM cm.people WHERE id = 2),
          'equal values have equal hashes');
SELECT isnt((SELECT remark FROM cm.people WHERE id = 1), (SELECT remark FROM cm.people WHERE id = 3),
            'different values have different hashes');
SELECT is((SELECT remark FROM cm.people WHERE id = 3), (SELECT other FROM hashes),
          'the hash is the keyed hash of the database');
SELECT isnt((SELECT remark FROM cm.people WHERE id = 1), (SELECT unkeyed FROM hashes),
            'the hash is not the unkeyed SHA-256 of the value');
SELECT is((SELECT body FROM cm.notes WHERE id = 1), (SELECT remark FROM cm.people WHERE id = 1),
          'equal values in different tables have equal hashes');
SELECT is((SELECT count(*)::int FROM cm.people p JOIN cm.notes n ON n.body = p.remark), 2,
          'hashed columns stay joinable');
RESET ROLE;

SET ROLE cm_payroll;
SELECT is(pg_temp.row1(), '********en|0612345678|NL91ABNA0417164300|3000|HASH|[hidden]|7|Utrecht',
          'the payroll officer reads contact and financial columns in full, the others masked');
SELECT is((SELECT salary FROM cm.people WHERE id = 2), 4000::numeric, 'the payroll officer reads the salary');
RESET ROLE;

SET ROLE cm_medical;
SELECT is(pg_temp.row1(), '********en|******5678|**************4300|asthma|01|HASH|C1|0|Utrecht',
          'the medical officer reads special, photo and the custom class in full, the others masked');
RESET ROLE;

SET ROLE cm_admin;
SELECT is(pg_temp.row1(), '********en|******5678|**************4300|HASH|[hidden]|0|Utrecht',
          'the privacy admin is in no class role and reads every class masked');
RESET ROLE;

SET ROLE cm_super;
SELECT is(pg_temp.row1(), 'Jan Jansen|0612345678|NL91ABNA0417164300|3000|1980|asthma|01|same text|C1|7|Utrecht',
          'a superuser reads everything in full');
RESET ROLE;

SET ROLE cm_owner;
SELECT is(pg_temp.row1(), 'Jan Jansen|0612345678|NL91ABNA0417164300|3000|1980|asthma|01|same text|C1|7|Utrecht',
          'the owner of the table reads everything in full');
SELECT is((SELECT body FROM cm.notes WHERE id = 2), 'another text', 'the owner reads the hashed column of the other table');
RESET ROLE;

-------------------------------------------------------------------------------
-- WHERE, JOIN, ORDER BY, GROUP BY work on the masked values
-------------------------------------------------------------------------------
SET ROLE cm_clerk;
SELECT is((SELECT count(*)::int FROM cm.people WHERE name = 'Jan Jansen'), 0,
          'WHERE name = the real name finds nothing for the clerk');
SELECT is((SELECT count(*)::int FROM cm.people WHERE name LIKE '%Jans%'), 0,
          'WHERE name LIKE part of the real name finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people WHERE name ~ 'J'), 0,
          'a regular expression on the real name finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people WHERE length(name) = 10 AND left(name, 1) = 'J'), 0,
          'functions of the column see the masked value');
SELECT is((SELECT array_agg(id ORDER BY id) FROM cm.people WHERE name = '********en'), ARRAY[1],
          'WHERE on the masked form matches');
SELECT is((SELECT array_agg(id ORDER BY id) FROM cm.people WHERE name LIKE '%en'), ARRAY[1, 2],
          'LIKE on the visible part matches');
SELECT is((SELECT count(*)::int FROM cm.people WHERE health = 'asthma'), 0,
          'WHERE on a NULL-masked column finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people WHERE health IS NULL), 3,
          'every NULL-masked value IS NULL');
SELECT is((SELECT count(*)::int FROM cm.people WHERE remark = 'same text'), 0,
          'WHERE on the plain text of a hashed column finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people WHERE remark = (SELECT same FROM hashes)), 2,
          'WHERE on the hash matches');
SELECT is((SELECT count(*)::int FROM cm.people WHERE salary > 2600), 0,
          'a comparison with a NULL-masked number finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people WHERE code = 'C1'), 0,
          'WHERE on the plain value of a fixed-masked column finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people WHERE grade = 7), 0,
          'WHERE on the plain value of a fixed-masked int column finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people p JOIN cm.notes n ON n.person_id = p.id AND p.name = 'Jan Jansen'), 0,
          'a JOIN condition on the real name finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people p JOIN cm.notes n ON n.body = 'same text'), 0,
          'a JOIN condition on the plain text of a hashed column finds nothing');
SELECT is((SELECT count(*)::int FROM cm.people a JOIN cm.people b ON a.name = b.name AND a.id <> b.id), 0,
          'a self-join on the masked names pairs no different people');
SELECT is((SELECT count(*)::int FROM cm.people a JOIN cm.people b ON a.code = b.code), 9,
          'a join on a fixed-masked column pairs every row');
SELECT is((SELECT array_agg(id ORDER BY name, id) FROM cm.people), ARRAY[2, 3, 1],
          'ORDER BY sorts the masked names (the real order would be 1, 3, 2)');
SELECT is((SELECT array_agg(id ORDER BY salary DESC NULLS LAST, id) FROM cm.people), ARRAY[1, 2, 3],
          'ORDER BY a NULL-masked column reveals no order');
SELECT is((SELECT count(*)::int FROM (SELECT code FROM cm.people GROUP BY code) g), 1,
          'GROUP BY a fixed-masked column gives one group');
SELECT is((SELECT count(*)::int FROM (SELECT remark FROM cm.people GROUP BY remark) g), 2,
          'GROUP BY a hashed column groups equal values');
SELECT is((SELECT count(DISTINCT health)::int FROM cm.people), 0, 'DISTINCT over a NULL-masked column');
SELECT is((SELECT max(name) FROM cm.people), '********en', 'aggregates see the masked values');
SELECT is((SELECT string_agg(name, ',' ORDER BY id) FROM cm.people), '********en,************en,********ak',
          'string_agg sees the masked values');
RESET ROLE;

-------------------------------------------------------------------------------
-- other paths to the column
-------------------------------------------------------------------------------
SET ROLE cm_clerk;
SELECT is((SELECT row_to_json(p)->>'name' FROM cm.people p WHERE id = 1), '********en',
          'row_to_json of the whole row is masked');
SELECT ok((SELECT (row_to_json(p)->>'health') IS NULL FROM cm.people p WHERE id = 1),
          'row_to_json of the whole row: NULL-masked column');
SELECT is((SELECT (p).name FROM cm.people p WHERE id = 1), '********en', 'a field of the whole row is masked');
SELECT unalike((SELECT p::text FROM cm.people p WHERE id = 1), '%Jansen%', 'the whole row as text holds no name');
SELECT unalike((SELECT p::text FROM cm.people p WHERE id = 1), '%asthma%', 'the whole row as text holds no health data');
SELECT unalike((SELECT to_jsonb(p)::text FROM cm.people p WHERE id = 1), '%same text%',
              'to_jsonb of the whole row holds no free text');
SELECT is((SELECT array_agg(x.name ORDER BY x.id) FROM (SELECT id, name FROM cm.people) x WHERE x.id < 3),
          ARRAY['********en', '************en'], 'a subquery in FROM is masked');
SELECT is((WITH c AS (SELECT id, name FROM cm.people) SELECT name FROM c WHERE id = 1), '********en',
          'a CTE is masked');
SELECT is((SELECT (SELECT name FROM cm.people p WHERE p.id = n.person_id) FROM cm.notes n WHERE n.id = 1),
          '********en', 'a scalar subquery is masked');
SELECT is((SELECT count(*)::int FROM cm.notes n WHERE EXISTS (SELECT FROM cm.people p WHERE p.id = n.person_id AND p.name = 'Jan Jansen')),
          0, 'EXISTS on the real name finds nothing');
SELECT is((SELECT name FROM cm.people WHERE id = 1 UNION ALL SELECT 'x' LIMIT 1), '********en', 'UNION is masked');
SELECT is((SELECT name FROM cm.people_view WHERE id = 1), '********en', 'a view of the superuser is masked for the clerk');
SELECT is((SELECT phone FROM cm.people_view WHERE id = 1), '******5678'::varchar, 'a view: contact masked for the clerk');
SELECT is((SELECT count(*)::int FROM cm.people_view WHERE name = 'Jan Jansen'), 0, 'WHERE on the real name through a view finds nothing');
SELECT is(cm.name_of(1), '********en', 'a SQL function of the superuser is masked for the clerk');
SELECT is((SELECT name FROM cm.people WHERE id = 2 FOR UPDATE), '************en', 'SELECT ... FOR UPDATE is masked');
DECLARE cm_cursor CURSOR FOR SELECT name, health FROM cm.people ORDER BY id;
SELECT results_eq('cm_cursor'::refcursor,
                  $$VALUES ('********en', NULL::text), ('************en', NULL), ('********ak', NULL)$$,
                  'a cursor is masked');
CLOSE cm_cursor;
SELECT results_eq($$UPDATE cm.people SET city = city WHERE id = 1 RETURNING name, phone, health$$,
                  $$VALUES ('********en', '******5678'::varchar, NULL::text)$$,
                  'RETURNING of an UPDATE is masked');
SELECT results_eq($$DELETE FROM cm.notes WHERE id = 2 RETURNING body$$,
                  $$SELECT another FROM hashes$$,
                  'RETURNING of a DELETE is masked');
RESET ROLE;

SET ROLE cm_payroll;
SELECT is((SELECT phone FROM cm.people_view WHERE id = 1), '0612345678'::varchar, 'a view shows the payroll officer the contact data');
SELECT is((SELECT name FROM cm.people_view WHERE id = 1), '********en', 'a view masks the name for the payroll officer');
SELECT is((SELECT row_to_json(p)->>'phone' FROM cm.people p WHERE id = 1), '0612345678',
          'the whole row shows the payroll officer the contact data');
RESET ROLE;

SET ROLE cm_medical;
SELECT is((SELECT row_to_json(p)->>'health' FROM cm.people p WHERE id = 1), 'asthma',
          'the whole row shows the medical officer the health data');
RESET ROLE;

SET ROLE cm_super;
SELECT is(cm.name_of(1), 'Jan Jansen', 'the SQL function returns the name to a superuser');
RESET ROLE;

-- prepared statements: the plan depends on the role that executes it
CREATE TEMP TABLE cm_exec (who text, name text);
GRANT ALL ON cm_exec TO PUBLIC;
PREPARE cm_by_super(text) AS INSERT INTO cm_exec SELECT $1, name FROM cm.people WHERE id = 1;
EXECUTE cm_by_super('superuser');
SET ROLE cm_clerk;
EXECUTE cm_by_super('clerk');
PREPARE cm_by_clerk(text) AS INSERT INTO cm_exec SELECT $1, name FROM cm.people WHERE id = 1;
EXECUTE cm_by_clerk('clerk, own statement');
RESET ROLE;
EXECUTE cm_by_clerk('superuser, statement of the clerk');
SELECT results_eq($$SELECT who, name FROM cm_exec$$,
                  $$VALUES ('superuser', 'Jan Jansen'), ('clerk', '********en'),
                           ('clerk, own statement', '********en'),
                           ('superuser, statement of the clerk', 'Jan Jansen')$$,
                  'a prepared statement is masked for the role that executes it, whoever prepared it');
DEALLOCATE cm_by_super;
DEALLOCATE cm_by_clerk;

-------------------------------------------------------------------------------
-- writes
-------------------------------------------------------------------------------
SET ROLE cm_clerk;
SELECT throws_ok($$UPDATE cm.people SET name = name WHERE id = 1$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'the clerk cannot write a masked name back');
SELECT throws_ok($$UPDATE cm.people SET name = upper(name) || '' WHERE id = 1$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'nor an expression of it');
SELECT throws_ok($$UPDATE cm.people SET phone = name WHERE id = 1$$, '42501',
                 'permission denied to write the masked value of column "phone"',
                 'nor another masked column into a masked column');
SELECT throws_ok($$UPDATE cm.people SET remark = remark WHERE id = 1$$, '42501',
                 'permission denied to write the masked value of column "remark"',
                 'nor a hashed value');
SELECT throws_ok($$UPDATE cm.people p SET name = q.name FROM cm.people q WHERE q.id = 2 AND p.id = 1$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'nor a masked value of another row');
SELECT throws_ok($$INSERT INTO cm.people (id, name) VALUES (1, 'x')
                   ON CONFLICT (id) DO UPDATE SET name = cm.people.name || '!'$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'nor through ON CONFLICT DO UPDATE');
SELECT throws_ok($$MERGE INTO cm.people t USING (VALUES (1)) s(id) ON t.id = s.id
                   WHEN MATCHED THEN UPDATE SET name = t.name$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'nor through MERGE');
SELECT lives_ok($$UPDATE cm.people SET city = name WHERE id = 3$$,
                'a masked value may be copied into an unclassified column');
SELECT lives_ok($$UPDATE cm.people SET name = 'Jan de Vries', phone = '0600000001' WHERE id = 1$$,
                'the clerk may write a new value');
SELECT lives_ok($$INSERT INTO cm.people (id, name, phone, iban, remark, health) VALUES
                  (4, 'Anna Smit', '0622223333', 'NL12TRIO0123456789', 'same text', 'migraine')$$,
                'the clerk may insert a row with classified columns');
SELECT lives_ok($$INSERT INTO cm.people (id, name) VALUES (2, 'Piet Paulusma')
                  ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name$$,
                'ON CONFLICT DO UPDATE may write the proposed value');
SELECT is((SELECT name FROM cm.people WHERE id = 4), '*******it', 'the clerk reads the inserted name masked');
SELECT is((SELECT remark FROM cm.people WHERE id = 4), (SELECT same FROM hashes), 'the inserted free text hashes as the equal old one');
RESET ROLE;

SET ROLE cm_payroll;
SELECT lives_ok($$UPDATE cm.people SET phone = phone || '', iban = iban WHERE id = 3$$,
                'the payroll officer may write back columns it reads in full');
SELECT throws_ok($$UPDATE cm.people SET name = name WHERE id = 3$$, '42501',
                 'permission denied to write the masked value of column "name"',
                 'but not the name it reads masked');
RESET ROLE;

SET ROLE cm_super;
SELECT results_eq($$SELECT id, name, phone::text, iban::text, health, remark, city FROM cm.people ORDER BY id$$,
                  $$VALUES (1, 'Jan de Vries', '0600000001', 'NL91ABNA0417164300', 'asthma', 'same text', 'Utrecht'),
                           (2, 'Piet Paulusma', '0698765432', 'NL20INGB0001234567', 'flu', 'same text', 'Zwolle'),
                           (3, 'Klaas Vaak', '0611112222', 'NL02RABO0123456789', NULL, 'other text', '********ak'),
                           (4, 'Anna Smit', '0622223333', 'NL12TRIO0123456789', 'migraine', 'same text', NULL)$$,
                  'the superuser reads what the clerk wrote in full, and nothing was overwritten by a mask');
RESET ROLE;

-------------------------------------------------------------------------------
-- EXPLAIN
-------------------------------------------------------------------------------
SET ROLE cm_clerk;
SELECT matches(pg_temp.plan_of('SELECT id FROM cm.people WHERE name = ''x'''),
               'privacy\.mask_partial\(people\.name, 2\)', 'the clerk''s plan filters on the partial mask');
SELECT matches(pg_temp.plan_of('SELECT remark FROM cm.people'),
               'privacy\.mask_hash\((people\.)?remark\)', 'the clerk''s plan selects the hash mask');
SELECT unalike(pg_temp.plan_of('SELECT health, salary FROM cm.people'), '%health%',
              'the clerk''s plan never reads a NULL-masked column');
RESET ROLE;

SET ROLE cm_payroll;
SELECT unalike(pg_temp.plan_of('SELECT id FROM cm.people WHERE phone = ''x'' AND iban = ''y'''), '%mask_%',
              'the payroll officer''s plan on contact and financial columns has no mask');
SELECT matches(pg_temp.plan_of('SELECT name FROM cm.people'), 'mask_partial',
               'the payroll officer''s plan on the name has the mask');
RESET ROLE;

SET ROLE cm_owner;
SELECT unalike(pg_temp.plan_of('SELECT * FROM cm.people WHERE name = ''x'''), '%mask_%',
              'the owner''s plan has no mask');
RESET ROLE;

SET ROLE cm_super;
SELECT unalike(pg_temp.plan_of('SELECT * FROM cm.people WHERE name = ''x'''), '%mask_%',
              'the superuser''s plan has no mask');
SELECT matches(pg_temp.plan_of('SELECT * FROM cm.people WHERE name = ''x'''), '\(people\.name = ''x''::text\)',
               'the superuser''s plan filters on the column itself');
RESET ROLE;

-------------------------------------------------------------------------------
-- a change of class applies to the next statement
-------------------------------------------------------------------------------
SELECT privacy.classify_column('cm.people', 'city', 'contact');
SET ROLE cm_clerk;
SELECT is((SELECT city FROM cm.people WHERE id = 2), '**olle', 'a column classified later reads masked for the clerk');
RESET ROLE;
SET ROLE cm_payroll;
SELECT is((SELECT city FROM cm.people WHERE id = 2), 'Zwolle', 'and in full for the viewer role of its class');
RESET ROLE;
SELECT privacy.classify_column('cm.people', 'city', 'special');
SET ROLE cm_clerk;
SELECT ok((SELECT city IS NULL FROM cm.people WHERE id = 2), 'a new class replaces the old one');
RESET ROLE;
SELECT is((SELECT class FROM privacy.column_policies WHERE tbl = 'cm.people'::regclass AND column_name = 'city'), 'special',
          'column_policies shows the new class');
SELECT results_eq($$SELECT column_name::text COLLATE "default", class, viewer_role::text COLLATE "default", mask, mask_param FROM privacy.column_policies
                     WHERE tbl = 'cm.people'::regclass AND column_name IN ('phone', 'remark', 'code') ORDER BY 1$$,
                  $$VALUES ('code', 'cm_code', 'privacy_special', 'fixed', '[hidden]'),
                           ('phone', 'contact', 'privacy_contact', 'partial', '4'),
                           ('remark', 'free_text', 'privacy_free_text', 'hash', NULL)$$,
                  'column_policies shows class, viewer role and mask');

-- the superuser may add a class; the admin reads the classes but cannot add one
SET ROLE cm_admin;
SELECT throws_ok($$INSERT INTO privacy.column_class (name, viewer_role, mask, mask_param) VALUES ('cm_x', 'privacy_special', 'fixed', 'x')$$,
                 '42501', NULL, 'an admin that is no superuser cannot add classes directly');
SELECT is((SELECT mask FROM privacy.column_class WHERE name = 'cm_code'), 'fixed', 'the admin reads the classes');
RESET ROLE;
SET ROLE cm_clerk;
SELECT throws_ok($$SELECT * FROM privacy.column_policies$$, '42501', NULL, 'the clerk cannot read the policies');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
