-- Who sees and who may change a BSN, on a table created after the
-- extension: a clerk (no membership), a payroll officer (member of
-- privacy_bsn through an intermediate role), a NOINHERIT member of
-- privacy_bsn (authorized only after SET ROLE), a privacy officer and a
-- superuser.  Covers the text output and every way of turning a bsn into
-- text (bsn_display, to_json, row_to_json, format, string_agg, ...), the
-- update guard (UPDATE, SET NULL, ON CONFLICT DO UPDATE, MERGE) with its
-- audit entries, privacy.bsn_visible_digits, privacy.bsn_role, and that the
-- masked text cannot be read back as a bsn.
BEGIN;
SELECT plan(116);

SET client_min_messages = warning;
CREATE ROLE tr_clerk LOGIN;
CREATE ROLE tr_payroll_group NOLOGIN IN ROLE privacy_bsn;
CREATE ROLE tr_payroll LOGIN IN ROLE tr_payroll_group;
CREATE ROLE tr_noinherit LOGIN NOINHERIT IN ROLE privacy_bsn;
CREATE ROLE tr_officer LOGIN IN ROLE privacy_officer;

CREATE TABLE public.tr_people (
    id   int PRIMARY KEY,
    name text NOT NULL,
    bsn  privacy.bsn UNIQUE
);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.tr_people TO PUBLIC;
INSERT INTO public.tr_people VALUES
    (1, 'Anna', '111222333'),
    (2, 'Bram', '1234.56.782'),
    (3, 'Cor', NULL);
RESET client_min_messages;

-- the current role's view of the table, as one line of text
CREATE FUNCTION pg_temp.seen() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(coalesce(bsn::text, '-'), ',' ORDER BY id) FROM public.tr_people
$$;

-------------------------------------------------------------------------------
-- 1. what each role sees
-------------------------------------------------------------------------------

-- superuser
SELECT is(privacy.bsn_authorized(), true, 'a superuser is authorized');
SELECT is(pg_temp.seen(), '111222333,123456782,-', 'a superuser sees nine digits');
SELECT is((SELECT privacy.bsn_display(bsn) FROM public.tr_people WHERE id = 2), '1234.56.782',
          'a superuser gets the written form from bsn_display');

-- clerk
SET ROLE tr_clerk;
SELECT is(privacy.bsn_authorized(), false, 'the clerk is not authorized');
SELECT is(pg_temp.seen(), '******333,******782,-', 'the clerk sees the masked text');
SELECT is((SELECT bsn::text FROM public.tr_people WHERE id = 1), '******333',
          'bsn::text is masked for the clerk');
SELECT is((SELECT privacy.bsn_display(bsn) FROM public.tr_people WHERE id = 2), '****.**.782',
          'bsn_display is masked for the clerk');
SELECT is((SELECT to_json(bsn)::text FROM public.tr_people WHERE id = 1), '"******333"',
          'to_json is masked for the clerk');
SELECT is((SELECT to_jsonb(bsn)::text FROM public.tr_people WHERE id = 1), '"******333"',
          'to_jsonb is masked for the clerk');
SELECT is((SELECT row_to_json(p)::text FROM public.tr_people p WHERE id = 1),
          '{"id":1,"name":"Anna","bsn":"******333"}', 'row_to_json is masked for the clerk');
SELECT is((SELECT jsonb_build_object('b', bsn)::text FROM public.tr_people WHERE id = 2),
          '{"b": "******782"}', 'jsonb_build_object is masked for the clerk');
SELECT is((SELECT json_agg(p ORDER BY id)::text FROM public.tr_people p WHERE id <= 2),
          '[{"id":1,"name":"Anna","bsn":"******333"}, '
          || E'\n' || ' {"id":2,"name":"Bram","bsn":"******782"}]',
          'json_agg of rows is masked for the clerk');
SELECT is((SELECT format('%s|%L|%I', bsn, bsn, bsn) FROM public.tr_people WHERE id = 1),
          '******333|''******333''|"******333"', 'format() is masked for the clerk');
SELECT is((SELECT concat('bsn:', bsn) FROM public.tr_people WHERE id = 1), 'bsn:******333',
          'concat() is masked for the clerk');
SELECT is((SELECT 'bsn:' || bsn::text FROM public.tr_people WHERE id = 1), 'bsn:******333',
          'text concatenation of bsn::text is masked for the clerk');
SELECT is((SELECT string_agg(bsn::text, ',' ORDER BY id) FROM public.tr_people),
          '******333,******782', 'string_agg(bsn::text) is masked for the clerk');
SELECT is((SELECT p::text FROM public.tr_people p WHERE id = 2), '(2,Bram,******782)',
          'the row as text is masked for the clerk');
SELECT is((SELECT array_agg(bsn ORDER BY id)::text FROM public.tr_people WHERE bsn IS NOT NULL),
          '{******333,******782}', 'an array of bsn is masked for the clerk');
SELECT is((SELECT xmlforest(bsn)::text FROM public.tr_people WHERE id = 1), '<bsn>******333</bsn>',
          'xmlforest is masked for the clerk');
SELECT is((SELECT count(*)::int FROM public.tr_people WHERE bsn::text ~ '111222333|123456782'),
          0, 'no text form of any stored bsn holds its nine digits for the clerk');
RESET ROLE;

-- payroll officer, authorized through an intermediate role
SET ROLE tr_payroll;
SELECT is(privacy.bsn_authorized(), true, 'payroll is authorized through an intermediate role');
SELECT is(pg_temp.seen(), '111222333,123456782,-', 'payroll sees nine digits');
SELECT is((SELECT privacy.bsn_display(bsn) FROM public.tr_people WHERE id = 1), '1112.22.333',
          'payroll gets the written form from bsn_display');
SELECT is((SELECT to_json(bsn)::text FROM public.tr_people WHERE id = 1), '"111222333"',
          'to_json shows payroll the nine digits');
SELECT is((SELECT row_to_json(p)::text FROM public.tr_people p WHERE id = 2),
          '{"id":2,"name":"Bram","bsn":"123456782"}', 'row_to_json shows payroll the nine digits');
SELECT is((SELECT format('%s', bsn) FROM public.tr_people WHERE id = 2), '123456782',
          'format() shows payroll the nine digits');
SELECT is((SELECT string_agg(bsn::text, ',' ORDER BY id) FROM public.tr_people),
          '111222333,123456782', 'string_agg shows payroll the nine digits');
RESET ROLE;

-- a NOINHERIT member: masked until it takes on the role
SET ROLE tr_noinherit;
SELECT is(privacy.bsn_authorized(), false, 'a NOINHERIT member is not authorized by membership alone');
SELECT is(pg_temp.seen(), '******333,******782,-', 'a NOINHERIT member sees the masked text');
SELECT throws_ok($$UPDATE public.tr_people SET bsn = '100000009' WHERE id = 3$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'a NOINHERIT member may not change a bsn');
SET ROLE privacy_bsn;
SELECT is(privacy.bsn_authorized(), true, 'after SET ROLE privacy_bsn the member is authorized');
SELECT is(pg_temp.seen(), '111222333,123456782,-', 'after SET ROLE privacy_bsn the member sees nine digits');
RESET ROLE;

-- privacy officer: reads the audit trail, but does not see BSNs
SET ROLE tr_officer;
SELECT is(privacy.bsn_authorized(), false, 'the privacy officer is not authorized for BSNs');
SELECT is(pg_temp.seen(), '******333,******782,-', 'the privacy officer sees the masked text');
SELECT is((SELECT to_json(bsn)::text FROM public.tr_people WHERE id = 2), '"******782"',
          'to_json is masked for the privacy officer');
SELECT lives_ok('SELECT count(*) FROM privacy.audit_log', 'the privacy officer reads the audit trail');
RESET ROLE;

SET ROLE tr_clerk;
SELECT throws_ok('SELECT count(*) FROM privacy.audit_log', '42501', NULL,
                 'the clerk may not read the audit trail');
RESET ROLE;

-------------------------------------------------------------------------------
-- 2. privacy.bsn_visible_digits changes the masked form
-------------------------------------------------------------------------------

SET privacy.bsn_visible_digits = 0;
SET ROLE tr_clerk;
SELECT is(pg_temp.seen(), '*********,*********,-', 'with 0 visible digits the clerk sees only asterisks');
SELECT is((SELECT privacy.bsn_display(bsn) FROM public.tr_people WHERE id = 1), '****.**.***',
          'with 0 visible digits bsn_display shows only asterisks');
RESET ROLE;
SET privacy.bsn_visible_digits = 1;
SET ROLE tr_clerk;
SELECT is(pg_temp.seen(), '********3,********2,-', 'with 1 visible digit the clerk sees the last digit');
RESET ROLE;
SET privacy.bsn_visible_digits = 4;
SET ROLE tr_clerk;
SELECT is(pg_temp.seen(), '*****2333,*****6782,-', 'with 4 visible digits the clerk sees the last four');
SELECT is((SELECT privacy.bsn_display(bsn) FROM public.tr_people WHERE id = 2), '****.*6.782',
          'with 4 visible digits bsn_display shows the last four');
RESET ROLE;
SET ROLE tr_payroll;
SELECT is(pg_temp.seen(), '111222333,123456782,-', 'the setting does not affect payroll');
RESET ROLE;
RESET privacy.bsn_visible_digits;
SELECT throws_ok('SET privacy.bsn_visible_digits = 5', '22023', NULL, 'more than 4 visible digits is refused');
SELECT throws_ok('SET privacy.bsn_visible_digits = -1', '22023', NULL, 'a negative number of digits is refused');
SET ROLE tr_clerk;
SELECT throws_ok('SET privacy.bsn_visible_digits = 4', '42501', NULL, 'the clerk may not change the visible digits');
SELECT is(pg_temp.seen(), '******333,******782,-', 'the default shows three digits');
SELECT throws_ok('SET privacy.bsn_role = ''tr_clerk''', '42501', NULL, 'the clerk may not name itself the BSN role');
SELECT is(privacy.bsn_authorized(), false, 'the clerk is still not authorized');
RESET ROLE;

-------------------------------------------------------------------------------
-- 3. privacy.bsn_role names the authorized role
-------------------------------------------------------------------------------

SET privacy.bsn_role = 'privacy_officer';
SET ROLE tr_officer;
SELECT is(privacy.bsn_authorized(), true, 'with bsn_role = privacy_officer the officer is authorized');
SELECT is(pg_temp.seen(), '111222333,123456782,-', 'and sees nine digits');
RESET ROLE;
SET ROLE tr_payroll;
SELECT is(privacy.bsn_authorized(), false, 'and payroll no longer is');
SELECT is(pg_temp.seen(), '******333,******782,-', 'and payroll sees the masked text');
RESET ROLE;
RESET privacy.bsn_role;
SET ROLE tr_payroll;
SELECT is(privacy.bsn_authorized(), true, 'after RESET payroll is authorized again');
RESET ROLE;

-------------------------------------------------------------------------------
-- 4. the masked text is not a BSN
-------------------------------------------------------------------------------

SELECT throws_ok($$SELECT '******333'::privacy.bsn$$, '22P02', 'invalid input syntax for type bsn',
                 'the masked text cannot be cast back to bsn');
SELECT throws_ok($$SELECT '****.**.333'::privacy.bsn$$, '22P02', 'invalid input syntax for type bsn',
                 'the masked written form cannot be cast back to bsn');
SELECT throws_ok($$SELECT '*********'::privacy.bsn$$, '22P02', 'invalid input syntax for type bsn',
                 'the fully masked text cannot be cast back to bsn');
SET ROLE tr_clerk;
SELECT throws_ok($$INSERT INTO public.tr_people
                   VALUES (10, 'copy', (SELECT bsn::text FROM public.tr_people WHERE id = 1)::privacy.bsn)$$,
                 '22P02', 'invalid input syntax for type bsn',
                 'the clerk cannot copy a bsn through its text');
SELECT throws_ok($$INSERT INTO public.tr_people SELECT 10, name, bsn::text::privacy.bsn
                     FROM public.tr_people WHERE id = 1$$, '42501',
                 'permission denied to insert more than one row at a time into table "tr_people", which has a unique bsn',
                 'the clerk may not insert rows from a query into a table with a unique bsn');
SELECT throws_ok($$SELECT privacy.bsn_display(bsn)::privacy.bsn FROM public.tr_people WHERE id = 1$$,
                 '22P02', 'invalid input syntax for type bsn',
                 'the clerk cannot read bsn_display back as a bsn');
SELECT is(privacy.bsn_is_valid((SELECT bsn::text FROM public.tr_people WHERE id = 1)), false,
          'the masked text is not a valid BSN');
RESET ROLE;

-------------------------------------------------------------------------------
-- 5. the clerk may insert but not change a bsn
-------------------------------------------------------------------------------

SET ROLE tr_clerk;
SELECT lives_ok($$INSERT INTO public.tr_people VALUES (4, 'Dirk', '100000009')$$,
                'the clerk may insert a row with a bsn');
SELECT lives_ok($$INSERT INTO public.tr_people (id, name) VALUES (5, 'Eva')$$,
                'the clerk may insert a row without a bsn');
SELECT lives_ok($$UPDATE public.tr_people SET name = 'Anna B.' WHERE id = 1$$,
                'the clerk may change other columns');
SELECT throws_ok($$UPDATE public.tr_people SET bsn = '100000009' WHERE id = 5$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'the clerk may not set a bsn by UPDATE');
SELECT throws_ok($$UPDATE public.tr_people SET bsn = '123456782' WHERE id = 1$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'the clerk may not overwrite a bsn');
SELECT throws_ok($$UPDATE public.tr_people SET bsn = NULL WHERE id = 1$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'the clerk may not clear a bsn');
SELECT throws_ok($$UPDATE public.tr_people SET bsn = bsn WHERE id = 1$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'the clerk may not even assign a bsn to itself');
SELECT throws_ok($$UPDATE public.tr_people SET name = 'x', bsn = '100000009' WHERE false$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'the refusal does not depend on the rows matched');
SELECT throws_ok($$INSERT INTO public.tr_people VALUES (1, 'Anna', '123456782')
                   ON CONFLICT (id) DO UPDATE SET bsn = EXCLUDED.bsn$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'the clerk may not change a bsn by ON CONFLICT DO UPDATE');
SELECT lives_ok($$INSERT INTO public.tr_people VALUES (1, 'Anna C.', '123456782')
                  ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name$$,
                'ON CONFLICT DO UPDATE of other columns is allowed to the clerk');
SELECT throws_ok($$MERGE INTO public.tr_people t
                   USING (VALUES (1, '123456782'::privacy.bsn)) AS s(id, b) ON t.id = s.id
                   WHEN MATCHED THEN UPDATE SET bsn = s.b$$, '42501',
                 'permission denied to change BSN column "bsn" of table "tr_people"',
                 'the clerk may not change a bsn by MERGE');
SELECT lives_ok($$MERGE INTO public.tr_people t
                  USING (VALUES (6, 'Fenna', '010000008'::privacy.bsn)) AS s(id, n, b) ON t.id = s.id
                  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.n, s.b)$$,
                'the clerk may insert a bsn by MERGE');
SELECT lives_ok($$DELETE FROM public.tr_people WHERE id = 6$$, 'the clerk may delete a row it may delete');
SELECT is(privacy.audit_pending(), 0, 'nothing the clerk did is audited as a bsn change');
RESET ROLE;

SELECT is(pg_temp.seen(), '111222333,123456782,-,100000009,-',
          'after the refusals every stored bsn is unchanged');
SELECT is((SELECT name FROM public.tr_people WHERE id = 1), 'Anna C.', 'the allowed changes took effect');

-- a view owned by the superuser does not open a way round the guard
CREATE VIEW public.tr_people_v AS SELECT id, name, bsn FROM public.tr_people;
GRANT SELECT, UPDATE ON public.tr_people_v TO tr_clerk;
SET ROLE tr_clerk;
SELECT throws_like($$UPDATE public.tr_people_v SET bsn = '100000009' WHERE id = 5$$,
                 'permission denied to change BSN column "bsn" of table "tr\_people%"',
                 'the clerk may not change a bsn through an updatable view');
RESET ROLE;

-- a domain over bsn and a table in another schema are guarded the same way
CREATE SCHEMA tr_hr;
CREATE DOMAIN tr_hr.dutch_id AS privacy.bsn;
CREATE TABLE tr_hr.staff (id int PRIMARY KEY, emp_bsn tr_hr.dutch_id, ids privacy.bsn[]);
GRANT USAGE ON SCHEMA tr_hr TO PUBLIC;
GRANT SELECT, INSERT, UPDATE ON tr_hr.staff TO PUBLIC;
INSERT INTO tr_hr.staff VALUES (1, '111222333', ARRAY['123456782'::privacy.bsn]);
SET ROLE tr_clerk;
SELECT throws_ok($$UPDATE tr_hr.staff SET emp_bsn = '100000009'$$, '42501',
                 'permission denied to change BSN column "emp_bsn" of table "staff"',
                 'a column of a domain over bsn is guarded');
SELECT throws_ok($$UPDATE tr_hr.staff SET ids = '{}'$$, '42501',
                 'permission denied to change BSN column "ids" of table "staff"',
                 'a column of bsn[] is guarded');
SELECT is((SELECT emp_bsn::text || ' ' || ids::text FROM tr_hr.staff), '******333 {******782}',
          'a domain over bsn and an array of bsn are masked');
RESET ROLE;

-------------------------------------------------------------------------------
-- 6. payroll may change a bsn; each change is audited at commit
-------------------------------------------------------------------------------

SET ROLE tr_payroll;
SELECT is(privacy.audit_pending(), 0, 'no audit entry is pending before payroll changes anything');
SELECT lives_ok($$UPDATE public.tr_people SET bsn = '010000008' WHERE id = 5$$,
                'payroll may set a bsn by UPDATE');
SELECT is(privacy.audit_pending(), 1, 'the UPDATE of a bsn buffers one audit entry');
SELECT lives_ok($$UPDATE public.tr_people SET name = 'Eva V.' WHERE id = 5$$,
                'payroll may change other columns');
SELECT is(privacy.audit_pending(), 1, 'an UPDATE not touching a bsn adds no audit entry');
SELECT lives_ok($$UPDATE public.tr_people SET bsn = NULL WHERE id = 4$$, 'payroll may clear a bsn');
SELECT is(privacy.audit_pending(), 2, 'clearing a bsn is audited');
SELECT lives_ok($$INSERT INTO public.tr_people VALUES (4, 'Dirk', '100000009')
                  ON CONFLICT (id) DO UPDATE SET bsn = EXCLUDED.bsn$$,
                'payroll may change a bsn by ON CONFLICT DO UPDATE');
SELECT is(privacy.audit_pending(), 3, 'ON CONFLICT DO UPDATE of a bsn is audited');
SELECT lives_ok($$MERGE INTO public.tr_people t
                  USING (VALUES (3, '100252333'::privacy.bsn)) AS s(id, b) ON t.id = s.id
                  WHEN MATCHED THEN UPDATE SET bsn = s.b$$,
                'payroll may change a bsn by MERGE');
SELECT is(privacy.audit_pending(), 4, 'MERGE of a bsn is audited');
SELECT lives_ok($$UPDATE tr_hr.staff SET emp_bsn = '100000009', ids = '{}'$$,
                'payroll may change two bsn columns at once');
SELECT is(privacy.audit_pending(), 5, 'one statement on one table is one audit entry');
SELECT lives_ok($$INSERT INTO public.tr_people VALUES (7, 'Gijs', '999996708')$$,
                'payroll may insert');
SELECT is(privacy.audit_pending(), 5, 'an INSERT is not audited as a bsn change');
SELECT is(pg_temp.seen(), '111222333,123456782,100252333,100000009,010000008,999996708',
          'payroll sees every change it made');
RESET ROLE;

-- an entry stays pending only for the transaction that made it
SAVEPOINT before_dropped_change;
SET ROLE tr_payroll;
UPDATE public.tr_people SET bsn = '999996630' WHERE id = 7;
SELECT is(privacy.audit_pending(), 6, 'a change inside a savepoint is pending');
RESET ROLE;
ROLLBACK TO SAVEPOINT before_dropped_change;
SELECT is(privacy.audit_pending(), 5, 'rolling back the savepoint drops its audit entry');

-------------------------------------------------------------------------------
-- 7. a unique violation shows the clerk only the masked key
-------------------------------------------------------------------------------

CREATE FUNCTION pg_temp.error_detail(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE stmt;
    RETURN NULL;
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN d;
END
$$;
SET ROLE tr_clerk;
SELECT is(pg_temp.error_detail($$INSERT INTO public.tr_people VALUES (20, 'Dup', '111222333')$$),
          'Key (bsn)=(******333) already exists.',
          'the clerk''s unique violation names the key masked');
RESET ROLE;
SET ROLE tr_payroll;
SELECT is(pg_temp.error_detail($$INSERT INTO public.tr_people VALUES (20, 'Dup', '111222333')$$),
          'Key (bsn)=(111222333) already exists.',
          'payroll''s unique violation names the key in full (the log scrubber masks it when sent)');
RESET ROLE;

-------------------------------------------------------------------------------
-- 8. the comparison functions are for privacy_bsn only
-------------------------------------------------------------------------------

SELECT ok(NOT has_function_privilege('tr_clerk', p.oid, 'EXECUTE'),
          format('the clerk may not execute %s', p.oid::regprocedure))
  FROM pg_proc p
 WHERE p.pronamespace = 'privacy'::regnamespace
   AND p.proname IN ('bsn_eq', 'bsn_ne', 'bsn_lt', 'bsn_le', 'bsn_gt', 'bsn_ge', 'bsn_cmp',
                     'bsn_hash', 'bsn_hash_extended', 'bsn_smaller', 'bsn_larger', 'min', 'max')
 ORDER BY p.proname;
SELECT ok(has_function_privilege('tr_payroll', 'privacy.bsn_eq(privacy.bsn, privacy.bsn)', 'EXECUTE'),
          'payroll may execute bsn_eq through its membership');
SELECT ok(has_function_privilege('tr_clerk', 'privacy.bsn_display(privacy.bsn)', 'EXECUTE'),
          'the clerk may execute bsn_display');

SELECT * FROM finish();
ROLLBACK;
