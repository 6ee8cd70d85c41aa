-- Channels through anonymous records, arrays and long digit runs: a clerk
-- may not compare, sort or deduplicate records built from a bsn, even after
-- they left the query level that built them (subqueries, CTEs, LATERAL,
-- unnest); statistics of bsn[] columns keep no values; the BSN finder of the
-- log scrubber and the audit trail has no limit on digit groups.
BEGIN;
SELECT plan(15);

SET client_min_messages = warning;
SET search_path = public, privacy;
CREATE ROLE rec_clerk LOGIN;
CREATE TABLE public.rec_people (id int PRIMARY KEY, name text, bsn privacy.bsn UNIQUE);
INSERT INTO public.rec_people VALUES (1, 'Anna', '111222333'), (2, 'Bram', '123456782');
INSERT INTO public.rec_people
SELECT 2 + row_number() OVER (ORDER BY v), 'p' || v, v::bigint::privacy.bsn
  FROM generate_series(100000000, 100002000) AS v WHERE privacy.bsn_is_valid(v::text);
GRANT SELECT, INSERT, UPDATE ON public.rec_people TO rec_clerk;
CREATE TABLE public.rec_arrays (ids privacy.bsn[]);
INSERT INTO public.rec_arrays SELECT ARRAY[bsn] FROM public.rec_people;
GRANT SELECT ON public.rec_arrays TO rec_clerk;
ANALYZE public.rec_arrays;
RESET client_min_messages;

SET ROLE rec_clerk;
-- a join with generated candidates would recover every full BSN
SELECT throws_ok($$
    SELECT p.id, c.v
      FROM (SELECT id, ROW(bsn) AS r FROM rec_people) p
      JOIN (SELECT v, ROW(v::bigint::privacy.bsn) AS r
              FROM generate_series(111222000, 111223000) AS v
             WHERE privacy.bsn_is_valid(v::text)) c ON p.r = c.r$$,
    '42501', NULL, 'a join of anonymous records holding a bsn is refused');
SELECT throws_ok($$SELECT id FROM (SELECT id, ROW(bsn) AS r FROM rec_people) a
                    WHERE a.r = (SELECT ROW('111222333'::privacy.bsn))$$,
                 '42501', NULL, 'comparing an anonymous record from a subquery is refused');
SELECT throws_ok($$SELECT id FROM (SELECT id, ROW(bsn) AS r FROM rec_people) a
                    WHERE a.r *= (SELECT ROW('111222333'::privacy.bsn))$$,
                 '42501', NULL, 'binary (*=) comparison of such a record is refused');
SELECT throws_ok($$SELECT s.r::text AS t FROM (SELECT ROW(bsn) AS r FROM rec_people) s ORDER BY s.r LIMIT 3$$,
                 '42501', NULL, 'ORDER BY an anonymous record from a subquery is refused');
SELECT throws_ok($$SELECT count(*) FROM (SELECT DISTINCT r FROM (SELECT ROW(bsn) AS r FROM rec_people) s) x$$,
                 '42501', NULL, 'DISTINCT on an anonymous record from a subquery is refused');
SELECT throws_ok($$WITH c AS (SELECT ROW(bsn) AS r FROM rec_people) SELECT c.r::text AS t FROM c ORDER BY c.r LIMIT 2$$,
                 '42501', NULL, 'ORDER BY an anonymous record from a CTE is refused');
SELECT throws_ok($$SELECT v.r::text AS t FROM rec_people, LATERAL (VALUES (ROW(bsn))) AS v(r) ORDER BY v.r LIMIT 2$$,
                 '42501', NULL, 'ORDER BY an anonymous record from LATERAL VALUES is refused');
SELECT throws_ok($$SELECT s.x::text AS t FROM (SELECT unnest(array_agg(ROW(bsn))) AS x FROM rec_people) s ORDER BY s.x LIMIT 2$$,
                 '42501', NULL, 'ORDER BY records unnested from array_agg(ROW(bsn)) is refused');
SELECT throws_ok($$SELECT r, count(*) FROM (SELECT ROW(bsn) AS r FROM rec_people) s GROUP BY r$$,
                 '42501', NULL, 'GROUP BY an anonymous record holding a bsn is refused');
-- ordering by the masked text stays allowed: it carries only the masked digits
SELECT is((SELECT count(*)::int FROM (SELECT s.r::text AS t FROM (SELECT ROW(bsn) AS r FROM rec_people) s ORDER BY 1) x),
          (SELECT count(*)::int FROM rec_people), 'ordering by the text of such a record is allowed');
-- || only outputs its operand
SELECT is((SELECT 'bsn:' || bsn FROM rec_people WHERE id = 1), 'bsn:******333',
          'concatenating a bsn with text is allowed and masked');
-- records without a bsn in the query are not affected
SELECT is((SELECT count(*)::int FROM (SELECT DISTINCT r FROM (SELECT ROW(id % 3) AS r FROM rec_people) s) x), 3,
          'records in a query without a bsn can be deduplicated');
-- statistics of a bsn[] column keep no values and no order
SELECT ok((SELECT histogram_bounds IS NULL AND most_common_vals IS NULL AND most_common_elems IS NULL
             FROM pg_stats WHERE tablename = 'rec_arrays' AND attname = 'ids'),
          'ANALYZE keeps no values and no BSN order for a bsn[] column');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_statistic WHERE starelid = 'public.rec_arrays'::regclass
             AND (stakind1 <> 0 OR stakind2 <> 0 OR stakind3 <> 0 OR stakind4 <> 0 OR stakind5 <> 0)), 0,
          'pg_statistic holds no value slots for a bsn[] column');

-- the BSN finder has no limit on the number of digit groups
SELECT throws_like(
    format($$SELECT privacy.audit_append('bsn.seen', NULL, NULL, NULL, '{"note": "%s 111222333"}')$$,
           rtrim(repeat('1 ', 40))),
    '%must not contain a BSN%',
    'a BSN after 40 short digit groups is found in an audit entry');
SELECT * FROM finish();
ROLLBACK;
