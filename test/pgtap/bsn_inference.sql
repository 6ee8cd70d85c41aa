-- The inference guard: a clerk (no membership of privacy_bsn) may not learn
-- BSNs by comparing, sorting, grouping, deduplicating, joining or hashing
-- them, by any syntax (operators, BETWEEN, IN, ANY, row and array
-- comparisons, CASE, set operations, aggregates, windows, prepared
-- statements, views, own functions, CHECK constraints, domains), nor
-- through an index scan that returns BSN order.  What the clerk may still
-- do (masked text, NULL tests, counting, UNION ALL, JSON) works, and a
-- payroll officer keeps ordinary behaviour (equality, order, index, merge
-- and hash joins, min/max, UNIQUE, foreign keys).  Also: ANALYZE keeps no
-- values of a bsn column, and the operator classes pass amvalidate.
BEGIN;
SELECT plan(173);

SET client_min_messages = warning;
SET search_path = public, privacy;

CREATE ROLE ti_clerk LOGIN;
CREATE ROLE ti_payroll LOGIN IN ROLE privacy_bsn;

-- 1 = 111222333, 2 = 123456782, 3 = NULL, then 2000 more valid numbers
CREATE TABLE public.ti_people (id int NOT NULL, name text, bsn privacy.bsn);
INSERT INTO public.ti_people VALUES (1, 'Anna', '111222333'), (2, 'Bram', '123456782'), (3, 'Cor', NULL);
INSERT INTO public.ti_people
SELECT 3 + row_number() OVER (ORDER BY v), 'p' || v, v::bigint::privacy.bsn
  FROM generate_series(100000000, 100030000) AS v
 WHERE privacy.bsn_is_valid(v::text)
 ORDER BY v LIMIT 2000;
CREATE INDEX ti_people_bsn_idx ON public.ti_people (bsn);
-- every third person also appears in another table
CREATE TABLE public.ti_other (bsn privacy.bsn, note text);
INSERT INTO public.ti_other SELECT bsn, 'other' FROM public.ti_people WHERE id % 3 = 0 AND bsn IS NOT NULL;
CREATE TABLE public.ti_copy (bsn privacy.bsn);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.ti_people, public.ti_other, public.ti_copy TO PUBLIC;
ANALYZE public.ti_people, public.ti_other;

-- views by the superuser: the clerk may select from them, but the guard
-- checks the query after the view is expanded
CREATE VIEW public.ti_sorted AS SELECT id, name, bsn FROM public.ti_people ORDER BY bsn;
CREATE VIEW public.ti_anna AS SELECT id, name FROM public.ti_people WHERE bsn = '111222333';
CREATE VIEW public.ti_distinct AS SELECT DISTINCT bsn FROM public.ti_people;
CREATE VIEW public.ti_plain AS SELECT id, name, bsn FROM public.ti_people;
GRANT SELECT ON public.ti_sorted, public.ti_anna, public.ti_distinct, public.ti_plain TO PUBLIC;

-- a schema the clerk owns, for its own functions, tables and domains
CREATE SCHEMA ti_clerk_space AUTHORIZATION ti_clerk;
RESET client_min_messages;

-- The plan of a query, one line per plan line.
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        result := result || line || E'\n';
    END LOOP;
    RETURN result;
END
$$;

-- Whether the plan of a query scans the given index.
CREATE FUNCTION pg_temp.uses_index(q text, idx text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF line ~ ('Index (Only )?Scan( Backward)? using ' || idx || '\M')
           OR line ~ ('Bitmap Index Scan on ' || idx || '\M') THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$$;

-------------------------------------------------------------------------------
-- 1. the clerk may not compare BSNs
-------------------------------------------------------------------------------

SET ROLE ti_clerk;
SELECT is((SELECT count(*)::int FROM public.ti_people), 2003, 'the clerk may read the table');

SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn = '111222333'$$, '42501',
                 'permission denied to compare values of type bsn', 'WHERE bsn = constant is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE '111222333' = bsn$$, '42501', NULL,
                 'WHERE constant = bsn is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn OPERATOR(privacy.=) '111222333'$$, '42501', NULL,
                 'the schema-qualified operator is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn <> '111222333'$$, '42501', NULL, '<> is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn < '111222333'$$, '42501', NULL, '< is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn <= '111222333'$$, '42501', NULL, '<= is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn > '111222333'$$, '42501', NULL, '> is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn >= '111222333'$$, '42501', NULL, '>= is refused');
SELECT throws_ok($$SELECT bsn = '111222333' FROM ti_people$$, '42501', NULL,
                 'a comparison in the select list is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn BETWEEN '100000009' AND '111222333'$$, '42501', NULL,
                 'BETWEEN is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn BETWEEN SYMMETRIC '111222333' AND '100000009'$$,
                 '42501', NULL, 'BETWEEN SYMMETRIC is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn IN ('111222333', '123456782')$$, '42501', NULL,
                 'an IN list is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn NOT IN ('111222333')$$, '42501', NULL,
                 'a NOT IN list is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn = ANY (ARRAY['111222333', '123456782']::privacy.bsn[])$$,
                 '42501', NULL, '= ANY(array) is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn = ANY ('{111222333}')$$, '42501', NULL,
                 '= ANY(array literal) is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn < ALL ('{111222333}')$$, '42501', NULL,
                 '< ALL(array) is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn IS DISTINCT FROM '111222333'$$, '42501', NULL,
                 'IS DISTINCT FROM is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE bsn IS NOT DISTINCT FROM '111222333'$$, '42501', NULL,
                 'IS NOT DISTINCT FROM is refused');
SELECT throws_ok($$SELECT NULLIF(bsn, '111222333')::text FROM ti_people$$, '42501', NULL, 'NULLIF is refused');
SELECT throws_ok($$SELECT GREATEST(bsn, '111222333')::text FROM ti_people$$, '42501', NULL, 'GREATEST is refused');
SELECT throws_ok($$SELECT LEAST(bsn, '111222333')::text FROM ti_people$$, '42501', NULL, 'LEAST is refused');
SELECT throws_ok($$SELECT CASE bsn WHEN '111222333' THEN 1 ELSE 0 END FROM ti_people$$, '42501', NULL,
                 'a simple CASE on a bsn is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE (bsn, id) < ('111222333', 10)$$, '42501', NULL,
                 'a row comparison (<) is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE (bsn, id) = ('111222333', 1)$$, '42501', NULL,
                 'a row comparison (=) is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE ROW(bsn) = ROW('111222333'::privacy.bsn)$$, '42501', NULL,
                 'a one-column row comparison is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people a, ti_people b WHERE a = b$$, '42501', NULL,
                 'comparing whole rows that contain a bsn is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people a, ti_people b WHERE (a.*) = (b.*)$$, '42501', NULL,
                 'the row-wise comparison (a.*) = (b.*) is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people a, ti_people b WHERE (a.*) < (b.*)$$, '42501', NULL,
                 'the row-wise comparison (a.*) < (b.*) is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people a, ti_people b WHERE (a.*) IS NOT DISTINCT FROM (b.*)$$,
                 '42501', NULL, 'IS NOT DISTINCT FROM on whole rows is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE ARRAY[bsn] = ARRAY['111222333'::privacy.bsn]$$, '42501', NULL,
                 'ARRAY[bsn] = ARRAY[...] is refused');
SELECT throws_ok($$SELECT id FROM ti_people WHERE ARRAY[bsn] <@ '{111222333,123456782}'::privacy.bsn[]$$,
                 '42501', NULL, 'array containment is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people WHERE bsn IN (SELECT bsn FROM ti_other)$$, '42501', NULL,
                 'IN (subquery) is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people p WHERE EXISTS (SELECT FROM ti_other o WHERE o.bsn = p.bsn)$$,
                 '42501', NULL, 'a correlated EXISTS comparing bsn is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people JOIN ti_other USING (bsn)$$, '42501', NULL,
                 'JOIN USING (bsn) is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people NATURAL JOIN ti_other$$, '42501', NULL,
                 'a NATURAL JOIN on bsn is refused');
SELECT throws_ok($$DELETE FROM ti_people WHERE bsn = '111222333'$$, '42501', NULL,
                 'DELETE ... WHERE bsn = constant is refused');
SELECT throws_ok($$UPDATE ti_people SET name = name WHERE bsn = '111222333'$$, '42501', NULL,
                 'UPDATE ... WHERE bsn = constant is refused');
SELECT throws_ok($$MERGE INTO ti_people t USING ti_other s ON t.bsn = s.bsn
                   WHEN MATCHED THEN UPDATE SET name = s.note$$, '42501', NULL,
                 'MERGE joining on bsn is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people WHERE bsn = (SELECT bsn FROM ti_people WHERE id = 1)$$,
                 '42501', NULL, 'comparing with a scalar subquery is refused');
SELECT throws_ok($$WITH c AS (SELECT bsn FROM ti_other) SELECT count(*) FROM ti_people p, c WHERE p.bsn = c.bsn$$,
                 '42501', NULL, 'a comparison against a CTE is refused');

-- candidate numbers built with generate_series, joined under every join method
SELECT throws_ok($$SELECT count(*) FROM ti_people p
                   JOIN (SELECT v::bigint::privacy.bsn AS c FROM generate_series(100000000, 100040000) AS v
                          WHERE privacy.bsn_is_valid(v::text)) AS cand ON p.bsn = cand.c$$,
                 '42501', NULL, 'a join against generated candidates is refused (default join methods)');
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT throws_ok($$SELECT count(*) FROM ti_people p
                   JOIN (SELECT v::bigint::privacy.bsn AS c FROM generate_series(100000000, 100040000) AS v
                          WHERE privacy.bsn_is_valid(v::text)) AS cand ON p.bsn = cand.c$$,
                 '42501', NULL, 'a join against generated candidates is refused (hash join only)');
SET enable_mergejoin = on;
SET enable_hashjoin = off;
SELECT throws_ok($$SELECT count(*) FROM ti_people p
                   JOIN (SELECT v::bigint::privacy.bsn AS c FROM generate_series(100000000, 100040000) AS v
                          WHERE privacy.bsn_is_valid(v::text)) AS cand ON p.bsn = cand.c$$,
                 '42501', NULL, 'a join against generated candidates is refused (merge join only)');
SET enable_mergejoin = off;
SET enable_nestloop = on;
SELECT throws_ok($$SELECT count(*) FROM ti_people p
                   JOIN (SELECT v::bigint::privacy.bsn AS c FROM generate_series(100000000, 100040000) AS v
                          WHERE privacy.bsn_is_valid(v::text)) AS cand ON p.bsn = cand.c$$,
                 '42501', NULL, 'a join against generated candidates is refused (nested loop only)');
RESET enable_mergejoin;
RESET enable_hashjoin;
RESET enable_nestloop;

-- prepared statements: refused with a parameter, custom or generic plan
PREPARE ti_find_clerk(privacy.bsn) AS SELECT id FROM ti_people WHERE bsn = $1;
SELECT throws_ok($$EXECUTE ti_find_clerk('111222333')$$, '42501', NULL,
                 'WHERE bsn = $1 through PREPARE/EXECUTE is refused');
SET plan_cache_mode = force_generic_plan;
SELECT throws_ok($$EXECUTE ti_find_clerk('111222333')$$, '42501', NULL,
                 'WHERE bsn = $1 with a generic plan is refused');
RESET plan_cache_mode;
DEALLOCATE ti_find_clerk;
RESET ROLE;

-- a statement prepared and run by payroll is replanned, and refused, for the clerk
SET ROLE ti_payroll;
PREPARE ti_find_payroll(privacy.bsn) AS SELECT id FROM ti_people WHERE bsn = $1;
SET plan_cache_mode = force_generic_plan;
SELECT is((SELECT count(*)::int FROM ti_people WHERE bsn = '111222333'), 1, 'payroll finds a person by bsn');
SELECT lives_ok($$EXECUTE ti_find_payroll('111222333')$$, 'payroll runs its prepared search');
SET ROLE ti_clerk;
SELECT throws_ok($$EXECUTE ti_find_payroll('111222333')$$, '42501', NULL,
                 'the clerk may not reuse the plan payroll prepared');
RESET ROLE;
RESET plan_cache_mode;
DEALLOCATE ti_find_payroll;

-------------------------------------------------------------------------------
-- 2. the clerk may not sort, group, deduplicate or partition by a bsn
-------------------------------------------------------------------------------

SET ROLE ti_clerk;
SELECT throws_ok($$SELECT id FROM ti_people ORDER BY bsn$$, '42501',
                 'permission denied to sort by a value of type bsn', 'ORDER BY bsn is refused');
SELECT throws_ok($$SELECT id FROM ti_people ORDER BY bsn DESC LIMIT 1$$, '42501', NULL,
                 'ORDER BY bsn DESC LIMIT 1 is refused');
SELECT throws_ok($$SELECT id FROM ti_people ORDER BY 3 + 0, bsn$$, '42501', NULL,
                 'ORDER BY with bsn as a second key is refused');
SELECT throws_ok($$SELECT id FROM ti_people ORDER BY bsn USING OPERATOR(privacy.<)$$, '42501', NULL,
                 'ORDER BY ... USING < is refused');
SET enable_seqscan = off;
SELECT throws_ok($$SELECT id FROM ti_people ORDER BY bsn LIMIT 5$$, '42501', NULL,
                 'ORDER BY bsn with an index present and sequential scans off is refused');
RESET enable_seqscan;
SELECT throws_ok($$SELECT s.id FROM (SELECT id, bsn FROM ti_people ORDER BY bsn LIMIT 5) s$$, '42501', NULL,
                 'ORDER BY bsn inside a subquery is refused');
SELECT throws_ok($$SELECT bsn::text, count(*) FROM ti_people GROUP BY bsn$$, '42501',
                 'permission denied to group by a value of type bsn', 'GROUP BY bsn is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people GROUP BY ROLLUP (bsn)$$, '42501', NULL,
                 'GROUP BY ROLLUP (bsn) is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people p GROUP BY p$$, '42501', NULL,
                 'GROUP BY a whole row containing a bsn is refused');
SELECT throws_ok($$SELECT DISTINCT bsn FROM ti_people$$, '42501',
                 'permission denied to use DISTINCT on a value of type bsn', 'DISTINCT bsn is refused');
SELECT throws_ok($$SELECT DISTINCT ON (bsn) id FROM ti_people$$, '42501', NULL, 'DISTINCT ON (bsn) is refused');
SELECT throws_ok($$SELECT DISTINCT p FROM ti_people p$$, '42501', NULL,
                 'DISTINCT on a whole row containing a bsn is refused');
SELECT throws_ok($$SELECT DISTINCT ARRAY[bsn] FROM ti_people$$, '42501', NULL,
                 'DISTINCT on an array of bsn is refused');
SELECT throws_ok($$SELECT DISTINCT ROW(bsn, id) FROM ti_people$$, '42501', NULL,
                 'DISTINCT on a row built from a bsn is refused');
SELECT throws_ok($$SELECT row_number() OVER (PARTITION BY bsn) FROM ti_people$$, '42501',
                 'permission denied to partition by a value of type bsn', 'window PARTITION BY bsn is refused');
SELECT throws_ok($$SELECT rank() OVER (ORDER BY bsn) FROM ti_people$$, '42501', NULL,
                 'window ORDER BY bsn is refused');
SELECT throws_ok($$SELECT lag(bsn) OVER (ORDER BY bsn)::text FROM ti_people$$, '42501', NULL,
                 'lag() over a window ordered by bsn is refused');
SELECT throws_ok($$SELECT bsn FROM ti_people UNION SELECT bsn FROM ti_other$$, '42501',
                 'permission denied to use UNION, INTERSECT or EXCEPT on values of type bsn', 'UNION is refused');
SELECT throws_ok($$SELECT bsn FROM ti_people INTERSECT SELECT bsn FROM ti_other$$, '42501', NULL,
                 'INTERSECT is refused');
SELECT throws_ok($$SELECT bsn FROM ti_people EXCEPT SELECT bsn FROM ti_other$$, '42501', NULL,
                 'EXCEPT is refused');
SELECT throws_ok($$SELECT bsn FROM ti_people INTERSECT ALL SELECT '111222333'::privacy.bsn$$, '42501', NULL,
                 'INTERSECT ALL against a candidate is refused');
SELECT throws_ok($$SELECT count(*) FROM (SELECT bsn FROM ti_people UNION ALL SELECT bsn FROM ti_other
                                         UNION SELECT bsn FROM ti_other) s$$, '42501', NULL,
                 'a UNION above a UNION ALL is refused');
SELECT throws_ok($$WITH RECURSIVE r(b) AS (SELECT bsn FROM ti_people WHERE id = 1 UNION SELECT b FROM r)
                   SELECT count(*) FROM r$$, '42501', NULL, 'a recursive UNION over bsn is refused');

-- aggregates
SELECT throws_ok($$SELECT count(DISTINCT bsn) FROM ti_people$$, '42501', NULL, 'count(DISTINCT bsn) is refused');
SELECT throws_ok($$SELECT array_agg(bsn ORDER BY bsn)::text FROM ti_people$$, '42501', NULL,
                 'array_agg(bsn ORDER BY bsn) is refused');
SELECT throws_ok($$SELECT string_agg(bsn::text, ',' ORDER BY bsn) FROM ti_people$$, '42501', NULL,
                 'string_agg(... ORDER BY bsn) is refused');
SELECT throws_ok($$SELECT json_agg(bsn ORDER BY bsn) FROM ti_people$$, '42501', NULL,
                 'json_agg(bsn ORDER BY bsn) is refused');
SELECT throws_ok($$SELECT min(bsn)::text FROM ti_people$$, '42501', NULL, 'min(bsn) is refused');
SELECT throws_ok($$SELECT max(bsn)::text FROM ti_people$$, '42501', NULL, 'max(bsn) is refused');
SELECT throws_ok($$SELECT privacy.min(bsn)::text FROM ti_people$$, '42501', NULL, 'privacy.min(bsn) is refused');
SELECT throws_ok($$SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY bsn)::text FROM ti_people$$, '42501', NULL,
                 'percentile_disc ... WITHIN GROUP (ORDER BY bsn) is refused');
SELECT throws_ok($$SELECT mode() WITHIN GROUP (ORDER BY bsn)::text FROM ti_people$$, '42501', NULL,
                 'mode() WITHIN GROUP (ORDER BY bsn) is refused');

-------------------------------------------------------------------------------
-- 3. the clerk may not pass a bsn to comparing functions
-------------------------------------------------------------------------------

SELECT throws_ok($$SELECT privacy.bsn_cmp(bsn, '111222333') FROM ti_people$$, '42501', NULL,
                 'bsn_cmp called directly is refused');
SELECT throws_ok($$SELECT privacy.bsn_eq(bsn, '111222333') FROM ti_people$$, '42501', NULL,
                 'bsn_eq called directly is refused');
SELECT throws_ok($$SELECT privacy.bsn_lt(bsn, '111222333') FROM ti_people$$, '42501', NULL,
                 'bsn_lt called directly is refused');
SELECT throws_ok($$SELECT privacy.bsn_hash(bsn) FROM ti_people$$, '42501', NULL,
                 'bsn_hash called directly is refused');
SELECT throws_ok($$SELECT privacy.bsn_hash_extended(bsn, 0) FROM ti_people$$, '42501', NULL,
                 'bsn_hash_extended called directly is refused');
SELECT throws_ok($$SELECT privacy.bsn_smaller(bsn, '111222333')::text FROM ti_people$$, '42501', NULL,
                 'bsn_smaller called directly is refused');
SELECT throws_ok($$SELECT privacy.bsn_cmp('111222333', '123456782')$$, '42501', NULL,
                 'bsn_cmp on two constants is refused');
SELECT throws_ok($$SELECT array_position(ARRAY[bsn], '111222333') FROM ti_people$$, '42501', NULL,
                 'array_position on an array of bsn is refused');
SELECT throws_ok($$SELECT array_remove(ARRAY[bsn], '111222333')::text FROM ti_people$$, '42501', NULL,
                 'array_remove on an array of bsn is refused');
SELECT throws_ok($$SELECT hash_array(ARRAY[bsn]) FROM ti_people$$, '42501', NULL,
                 'hash_array on an array of bsn is refused');
SELECT throws_ok($$SELECT hash_record(p) FROM ti_people p$$, '42501', NULL,
                 'hash_record on a row containing a bsn is refused');
SELECT throws_ok($$SELECT btrecordcmp(p, p) FROM ti_people p$$, '42501', NULL,
                 'btrecordcmp on rows containing a bsn is refused');

-------------------------------------------------------------------------------
-- 4. views, own functions, constraints and domains
-------------------------------------------------------------------------------

SELECT throws_ok($$SELECT id FROM ti_sorted$$, '42501', NULL,
                 'a superuser''s view ordered by bsn is refused to the clerk');
SELECT throws_ok($$SELECT id FROM ti_anna$$, '42501', NULL,
                 'a superuser''s view filtering on a bsn is refused to the clerk');
SELECT throws_ok($$SELECT count(*) FROM ti_distinct$$, '42501', NULL,
                 'a superuser''s view with DISTINCT bsn is refused to the clerk');
SELECT throws_ok($$SELECT id FROM ti_plain ORDER BY bsn$$, '42501', NULL,
                 'ordering a plain view by its bsn column is refused');
SELECT is((SELECT count(*)::int FROM ti_plain WHERE bsn IS NOT NULL), 2002,
          'the clerk may read a plain view');

CREATE FUNCTION ti_clerk_space.same(a privacy.bsn, b privacy.bsn) RETURNS boolean
LANGUAGE sql AS $$ SELECT a = b $$;
CREATE FUNCTION ti_clerk_space.same_plpgsql(a privacy.bsn, b privacy.bsn) RETURNS boolean
LANGUAGE plpgsql AS $$ BEGIN RETURN a = b; END $$;
CREATE FUNCTION ti_clerk_space.count_matches(t text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(*) FROM public.ti_people WHERE bsn = t::privacy.bsn);
END
$$;
CREATE FUNCTION ti_clerk_space.first_by_order() RETURNS int
LANGUAGE sql AS $$ SELECT id FROM public.ti_people ORDER BY bsn LIMIT 1 $$;
SELECT throws_ok($$SELECT count(*) FROM ti_people WHERE ti_clerk_space.same(bsn, '111222333')$$, '42501', NULL,
                 'the clerk''s own SQL function comparing two bsn is refused');
SELECT throws_ok($$SELECT ti_clerk_space.same('111222333', '111222333')$$, '42501', NULL,
                 'the clerk''s own SQL function on two constants is refused');
SELECT throws_ok($$SELECT count(*) FROM ti_people WHERE ti_clerk_space.same_plpgsql(bsn, '111222333')$$,
                 '42501', NULL, 'the clerk''s own PL/pgSQL function comparing two bsn is refused');
SELECT throws_ok($$SELECT ti_clerk_space.count_matches('111222333')$$, '42501', NULL,
                 'a comparison inside the clerk''s PL/pgSQL function is refused');
SELECT throws_ok($$SELECT ti_clerk_space.first_by_order()$$, '42501', NULL,
                 'an ORDER BY bsn inside the clerk''s SQL function is refused');

CREATE TABLE ti_clerk_space.mine (b privacy.bsn CHECK (b <> '111222333'));
SELECT throws_ok($$INSERT INTO ti_clerk_space.mine VALUES ('123456782')$$, '42501',
                 'permission denied for function bsn_ne',
                 'a CHECK constraint comparing bsn on the clerk''s table fails on EXECUTE of bsn_ne');
SELECT throws_ok($$INSERT INTO ti_clerk_space.mine SELECT bsn FROM ti_people WHERE bsn IS NOT NULL$$, '42501',
                 'permission denied for function bsn_ne',
                 'such a CHECK constraint cannot be used to test copied BSNs either');
CREATE TABLE ti_clerk_space.mine_eq (b privacy.bsn CHECK (b = b));
SELECT throws_ok($$INSERT INTO ti_clerk_space.mine_eq VALUES ('123456782')$$, '42501',
                 'permission denied for function bsn_eq',
                 'a CHECK constraint using = fails on EXECUTE of bsn_eq');
CREATE DOMAIN ti_clerk_space.not_anna AS privacy.bsn CHECK (VALUE <> '111222333');
SELECT throws_ok($$SELECT '123456782'::ti_clerk_space.not_anna::text$$, '42501',
                 'permission denied for function bsn_ne',
                 'a domain CHECK comparing bsn fails on EXECUTE of bsn_ne');
SELECT is((SELECT count(*)::int FROM ti_clerk_space.mine), 0, 'nothing was stored through the refused CHECK');

-------------------------------------------------------------------------------
-- 5. indexes on bsn are hidden from the clerk's plans
-------------------------------------------------------------------------------

SET enable_seqscan = off;
SELECT ok(NOT pg_temp.uses_index('SELECT bsn FROM ti_people', 'ti_people_bsn_idx'),
          'EXPLAIN SELECT bsn shows the clerk no scan of the bsn index');
SELECT ok(NOT pg_temp.uses_index('SELECT bsn::text FROM ti_people WHERE bsn IS NOT NULL', 'ti_people_bsn_idx'),
          'EXPLAIN ... WHERE bsn IS NOT NULL shows the clerk no scan of the bsn index');
SELECT ok(NOT pg_temp.uses_index('SELECT count(*) FROM ti_people WHERE bsn IS NULL', 'ti_people_bsn_idx'),
          'EXPLAIN ... WHERE bsn IS NULL shows the clerk no scan of the bsn index');
SELECT ok(NOT pg_temp.uses_index('SELECT bsn FROM ti_plain', 'ti_people_bsn_idx'),
          'a view does not bring the bsn index back for the clerk');
SELECT ok(pg_temp.plan_of('SELECT bsn FROM ti_people') ~ 'Seq Scan on ti_people',
          'the clerk reads the table by a sequential scan');
SELECT is(array_to_string((SELECT array_agg(bsn::text) FROM (SELECT bsn FROM ti_people WHERE bsn IS NOT NULL LIMIT 3) s), ','),
          '******333,******782,******009', 'the clerk gets rows in storage order, not BSN order');
RESET enable_seqscan;
RESET ROLE;

SET ROLE ti_payroll;
SET enable_seqscan = off;
SELECT ok(pg_temp.uses_index('SELECT bsn FROM ti_people', 'ti_people_bsn_idx'),
          'EXPLAIN SELECT bsn shows payroll a scan of the bsn index');
SELECT ok(pg_temp.uses_index($$SELECT id FROM ti_people WHERE bsn = '111222333'$$, 'ti_people_bsn_idx'),
          'payroll''s search by bsn uses the index');
SELECT is(array_to_string((SELECT array_agg(bsn::text) FROM (SELECT bsn FROM ti_people WHERE bsn IS NOT NULL ORDER BY bsn LIMIT 3) s), ','),
          '100000009,100000010,100000022', 'payroll gets rows in BSN order from the index');
RESET enable_seqscan;

-- a plan made for payroll is not reused for the clerk
PREPARE ti_all_bsn AS SELECT bsn FROM ti_people;
SET enable_seqscan = off;
SELECT ok(pg_temp.uses_index('EXECUTE ti_all_bsn', 'ti_people_bsn_idx'),
          'payroll''s prepared statement scans the bsn index');
SET ROLE ti_clerk;
SELECT ok(NOT pg_temp.uses_index('EXECUTE ti_all_bsn', 'ti_people_bsn_idx'),
          'the same prepared statement run by the clerk does not');
RESET ROLE;
RESET enable_seqscan;
DEALLOCATE ti_all_bsn;

-------------------------------------------------------------------------------
-- 6. what the clerk may still do
-------------------------------------------------------------------------------

SET ROLE ti_clerk;
SELECT is((SELECT bsn::text FROM ti_people WHERE id = 1), '******333', 'SELECT bsn::text gives the masked text');
SELECT is((SELECT min(id) FROM ti_people WHERE bsn::text = '******782'), 2,
          'the masked text can be compared as text');
SELECT is((SELECT count(*)::int FROM ti_people WHERE bsn IS NULL), 1, 'WHERE bsn IS NULL works');
SELECT is((SELECT count(*)::int FROM ti_people WHERE bsn IS NOT NULL), 2002, 'WHERE bsn IS NOT NULL works');
SELECT is((SELECT count(bsn)::int FROM ti_people), 2002, 'count(bsn) works');
SELECT is((SELECT count(*)::int FROM (SELECT bsn FROM ti_people UNION ALL SELECT bsn FROM ti_other) s),
          2003 + (SELECT count(*)::int FROM ti_other), 'UNION ALL works');
SELECT is((SELECT to_json(bsn)::text FROM ti_people WHERE id = 2), '"******782"', 'to_json works, masked');
SELECT is((SELECT row_to_json(p)::text FROM ti_people p WHERE id = 2), '{"id":2,"name":"Bram","bsn":"******782"}',
          'row_to_json works, masked');
SELECT is((SELECT array_length(array_agg(bsn), 1) FROM ti_people), 2003, 'array_agg(bsn) without ORDER BY works');
SELECT is((SELECT string_agg(bsn::text, ',' ORDER BY id) FROM ti_people WHERE id <= 2), '******333,******782',
          'string_agg ordered by another column works');
SELECT is((SELECT string_agg(lag::text, ',') FROM (SELECT lag(bsn) OVER (ORDER BY id) FROM ti_people WHERE id <= 3) s),
          '******333,******782', 'lag(bsn) over a window ordered by another column works');
SELECT is((SELECT coalesce(bsn, '100000009')::text FROM ti_people WHERE id = 3), '******009', 'COALESCE works');
SELECT is((SELECT min(bsn::text) FROM ti_people WHERE id <= 2), '******333', 'min(bsn::text) works on the masked text');
SELECT lives_ok($$SELECT bsn::text FROM ti_people ORDER BY bsn::text$$, 'ORDER BY the masked text works');
SELECT is((SELECT count(DISTINCT bsn::text)::int FROM ti_people) < 2002, true,
          'DISTINCT on the masked text merges different BSNs with the same visible digits');
SELECT is((SELECT format('%s', bsn) FROM ti_people WHERE id = 1), '******333', 'format() works, masked');
SELECT is((SELECT num_nonnulls(bsn, id) FROM ti_people WHERE id = 3), 1, 'num_nonnulls works');
SELECT lives_ok($$INSERT INTO ti_copy SELECT bsn FROM ti_people WHERE id = 1$$,
                'the clerk may copy a bsn into another table without comparing it');
SELECT is((SELECT count(*)::int FROM (SELECT bsn FROM ti_people UNION ALL SELECT NULL) s), 2004,
          'UNION ALL with a NULL works');
RESET ROLE;
SELECT is((SELECT bsn::text FROM ti_copy), '111222333', 'the copied bsn is the real value, not the masked text');

-------------------------------------------------------------------------------
-- 7. payroll keeps ordinary behaviour
-------------------------------------------------------------------------------

SET ROLE ti_payroll;
SELECT is((SELECT id FROM ti_people WHERE bsn = '111222333'), 1, 'payroll: equality finds the row');
SELECT is((SELECT id FROM ti_people WHERE bsn = '1234.56.782'), 2, 'payroll: equality with the written form');
SELECT is((SELECT count(*)::int FROM ti_people WHERE bsn BETWEEN '100000009' AND '111222333'), 2001,
          'payroll: BETWEEN counts a range');
SELECT is((SELECT count(*)::int FROM ti_people WHERE bsn IN ('111222333', '123456782', '100000009')), 3,
          'payroll: IN works');
SELECT is((SELECT string_agg(bsn::text, ',' ORDER BY bsn) FROM ti_people),
          (SELECT string_agg(bsn::text, ',' ORDER BY bsn::text) FROM ti_people),
          'payroll: ORDER BY bsn is numeric order');
SELECT is((SELECT bsn::text FROM ti_people ORDER BY bsn DESC NULLS LAST LIMIT 1), '123456782',
          'payroll: ORDER BY bsn DESC puts the largest first');
SELECT is((SELECT min(bsn)::text || ' ' || max(bsn)::text FROM ti_people), '100000009 123456782',
          'payroll: min and max');
SELECT is((SELECT count(DISTINCT bsn)::int FROM ti_people), 2002, 'payroll: count(DISTINCT bsn)');
SELECT is((SELECT count(*)::int FROM (SELECT bsn FROM ti_people GROUP BY bsn) s), 2003, 'payroll: GROUP BY bsn');
SELECT is((SELECT count(*)::int FROM (SELECT bsn FROM ti_people UNION SELECT bsn FROM ti_other) s), 2003,
          'payroll: UNION');
SELECT is((SELECT privacy.bsn_cmp('111222333', '123456782')), -1, 'payroll: bsn_cmp');
SELECT is((SELECT privacy.bsn_hash('111222333') = privacy.bsn_hash('1112.22.333')), true,
          'payroll: equal BSNs hash alike');

SET enable_hashjoin = off;
SET enable_nestloop = off;
SELECT ok(pg_temp.plan_of('SELECT count(*) FROM ti_people p JOIN ti_other o ON p.bsn = o.bsn') ~ 'Merge Join',
          'payroll: a merge join on bsn is planned');
SELECT is((SELECT count(*)::int FROM ti_people p JOIN ti_other o ON p.bsn = o.bsn),
          (SELECT count(*)::int FROM ti_other), 'payroll: the merge join finds every match');
SET enable_hashjoin = on;
SET enable_mergejoin = off;
SELECT ok(pg_temp.plan_of('SELECT count(*) FROM ti_people p JOIN ti_other o ON p.bsn = o.bsn') ~ 'Hash Join',
          'payroll: a hash join on bsn is planned');
SELECT is((SELECT count(*)::int FROM ti_people p JOIN ti_other o ON p.bsn = o.bsn),
          (SELECT count(*)::int FROM ti_other), 'payroll: the hash join finds every match');
SELECT ok(pg_temp.plan_of('SELECT count(DISTINCT bsn) FROM ti_people') IS NOT NULL
          AND pg_temp.plan_of('SELECT bsn FROM ti_people GROUP BY bsn') ~ 'HashAggregate|GroupAggregate|Group',
          'payroll: grouping by bsn is planned');
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_nestloop;
RESET ROLE;

-- UNIQUE and foreign keys between bsn columns, exercised by payroll
CREATE TABLE public.ti_person (bsn privacy.bsn PRIMARY KEY, name text);
CREATE TABLE public.ti_payslip (id int, bsn privacy.bsn NOT NULL REFERENCES public.ti_person);
CREATE UNIQUE INDEX ti_person_bsn_hash_check ON public.ti_person USING btree (bsn);
CREATE INDEX ti_payslip_bsn_hash ON public.ti_payslip USING hash (bsn);
GRANT SELECT, INSERT ON public.ti_person, public.ti_payslip TO ti_payroll;
SET ROLE ti_payroll;
SELECT lives_ok($$INSERT INTO ti_person VALUES ('111222333', 'Anna'), ('123456782', 'Bram')$$,
                'payroll: inserting distinct BSNs under UNIQUE works');
SELECT throws_ok($$INSERT INTO ti_person VALUES ('1112.22.333', 'Anna again')$$, '23505', NULL,
                 'payroll: a duplicate bsn (written differently) violates UNIQUE');
SELECT lives_ok($$INSERT INTO ti_payslip VALUES (1, '111222333')$$,
                'payroll: a foreign key to an existing bsn is accepted');
SELECT throws_ok($$INSERT INTO ti_payslip VALUES (2, '100000009')$$, '23503', NULL,
                 'payroll: a foreign key to a missing bsn is refused');
SET enable_seqscan = off;
SELECT ok(pg_temp.uses_index($$SELECT id FROM ti_payslip WHERE bsn = '111222333'$$, 'ti_payslip_bsn_hash'),
          'payroll: a hash index on bsn is used');
RESET enable_seqscan;
SELECT is((SELECT id FROM ti_payslip WHERE bsn = '111222333'), 1, 'payroll: the hash index finds the row');
RESET ROLE;

-------------------------------------------------------------------------------
-- 8. statistics and operator classes
-------------------------------------------------------------------------------

CREATE TABLE public.ti_stats (bsn privacy.bsn, n int);
INSERT INTO public.ti_stats
SELECT (ARRAY['111222333', '123456782', '100000009', '100000010']::privacy.bsn[])[1 + i % 4], i
  FROM generate_series(1, 4000) AS i;
INSERT INTO public.ti_stats SELECT bsn, 0 FROM public.ti_people WHERE bsn IS NOT NULL;
ANALYZE public.ti_stats;
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'public' AND tablename = 'ti_stats'
            AND attname = 'bsn'), 1, 'ANALYZE leaves a row in pg_stats for a bsn column');
SELECT ok((SELECT most_common_vals IS NULL AND most_common_freqs IS NULL FROM pg_stats
            WHERE schemaname = 'public' AND tablename = 'ti_stats' AND attname = 'bsn'),
          'no most common values are kept for a bsn column, even with frequent values');
SELECT ok((SELECT histogram_bounds IS NULL FROM pg_stats
            WHERE schemaname = 'public' AND tablename = 'ti_stats' AND attname = 'bsn'),
          'no histogram is kept for a bsn column');
SELECT ok((SELECT correlation IS NULL FROM pg_stats
            WHERE schemaname = 'public' AND tablename = 'ti_stats' AND attname = 'bsn'),
          'no correlation is kept for a bsn column');
SELECT ok((SELECT n_distinct IS NOT NULL AND null_frac = 0 FROM pg_stats
            WHERE schemaname = 'public' AND tablename = 'ti_stats' AND attname = 'bsn'),
          'the null fraction and distinct count are kept');
SELECT ok((SELECT most_common_vals IS NOT NULL FROM pg_stats
            WHERE schemaname = 'public' AND tablename = 'ti_stats' AND attname = 'n'),
          'an int column of the same table does keep most common values');
SELECT is((SELECT count(*)::int FROM pg_statistic s
             JOIN pg_attribute a ON a.attrelid = s.starelid AND a.attnum = s.staattnum
            WHERE s.starelid = 'public.ti_stats'::regclass AND a.attname = 'bsn'
              AND (s.stavalues1 IS NOT NULL OR s.stavalues2 IS NOT NULL OR s.stavalues3 IS NOT NULL
                   OR s.stavalues4 IS NOT NULL OR s.stavalues5 IS NOT NULL)),
          0, 'pg_statistic holds no bsn values');

SELECT is((SELECT count(*)::int FROM pg_opclass
            WHERE opcname IN ('bsn_ops', 'bsn_hash_ops') AND opcnamespace = 'privacy'::regnamespace), 2,
          'both operator classes exist');
SELECT is((SELECT bool_and(amvalidate(oid)) FROM pg_opclass
            WHERE opcname IN ('bsn_ops', 'bsn_hash_ops') AND opcnamespace = 'privacy'::regnamespace), true,
          'the btree and hash operator classes pass amvalidate');
SELECT ok((SELECT opcdefault FROM pg_opclass WHERE opcname = 'bsn_ops' AND opcnamespace = 'privacy'::regnamespace)
          AND (SELECT opcdefault FROM pg_opclass WHERE opcname = 'bsn_hash_ops' AND opcnamespace = 'privacy'::regnamespace),
          'both operator classes are the defaults for bsn');

SELECT * FROM finish();
ROLLBACK;
