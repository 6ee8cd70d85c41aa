-- Known holes in the BSN protection, written as pgTAP tests of the behaviour
-- that is wanted.  They fail today; they are not run by make test.  Run
-- them by hand, in a database prepared like pgtap_tests by test/run.sh:
--     pg_prove -v --ext .sql -d pgtap_tests test/pending/holes.sql
-- Move a test into test/pgtap/ once the hole it shows is closed.
--
--  These are the residual channels documented in doc/bsn.md; the anonymous
--  records, bsn[] statistics and long digit runs found here earlier are
--  closed and tested in test/pgtap/bsn_records.sql, ON CONFLICT in
--  test/pgtap/bsn_insert_oracle.sql.
--
--  3. The stored form of a BSN constant in a view, a column default, a CHECK
--     constraint (pg_rewrite.ev_action, pg_attrdef.adbin, pg_constraint.conbin)
--     is readable by every role and carries the int4 value.
--  6. A BEFORE UPDATE trigger may change a bsn column during a clerk's UPDATE
--     of another column, without refusal and without an audit entry.
BEGIN;
SELECT plan(5);

SET client_min_messages = warning;
SET search_path = public, privacy;
CREATE ROLE th_clerk LOGIN;
CREATE TABLE public.th_people (id int PRIMARY KEY, name text, bsn privacy.bsn UNIQUE);
INSERT INTO public.th_people VALUES (1, 'Anna', '111222333'), (2, 'Bram', '123456782');
INSERT INTO public.th_people
SELECT 2 + row_number() OVER (ORDER BY v), 'p' || v, v::bigint::privacy.bsn
  FROM generate_series(100000000, 100002000) AS v WHERE privacy.bsn_is_valid(v::text);
GRANT SELECT, INSERT, UPDATE ON public.th_people TO th_clerk;
RESET client_min_messages;

-------------------------------------------------------------------------------
-- 3. BSN constants in catalog node trees
-------------------------------------------------------------------------------
-- 111222333 = 0x06A11E3D, stored little-endian as [ 61 30 -95 6 ...]
CREATE VIEW public.th_anna AS SELECT id, name FROM public.th_people WHERE bsn = '111222333';
-- 123456782 = 0x075BCD0E, stored as [ 14 -51 91 7 ...]
CREATE TABLE public.th_defaults (b privacy.bsn DEFAULT '123456782',
                                 c privacy.bsn CONSTRAINT th_not_anna CHECK (c IS DISTINCT FROM '111222333'));
SET ROLE th_clerk;
SELECT ok((SELECT ev_action::text FROM pg_rewrite WHERE ev_class = 'public.th_anna'::regclass)
          !~ ':constvalue 4 \[ 61 30 -95 6 ',
          'pg_rewrite does not show the clerk the value of a BSN constant in a view');
SELECT ok((SELECT adbin::text FROM pg_attrdef WHERE adrelid = 'public.th_defaults'::regclass)
          !~ ':constvalue 4 \[ 14 -51 91 7 ',
          'pg_attrdef does not show the clerk the value of a BSN default');
SELECT ok((SELECT conbin::text FROM pg_constraint WHERE conname = 'th_not_anna')
          !~ ':constvalue 4 \[ 61 30 -95 6 ',
          'pg_constraint does not show the clerk the value of a BSN in a CHECK constraint');
RESET ROLE;

-------------------------------------------------------------------------------
-- 6. a trigger changes a bsn during a clerk's UPDATE
-------------------------------------------------------------------------------
CREATE FUNCTION public.th_swap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name = 'swap' THEN
        NEW.bsn := '999996708';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER th_swap BEFORE UPDATE ON public.th_people FOR EACH ROW EXECUTE FUNCTION public.th_swap();
SET ROLE th_clerk;
SELECT throws_ok($$UPDATE th_people SET name = 'swap' WHERE id = 2$$, '42501', NULL,
                 'a clerk''s UPDATE whose trigger changes a bsn is refused');
RESET ROLE;
SELECT is((SELECT bsn::text FROM public.th_people WHERE id = 2), '123456782',
          'the bsn was not changed by the clerk''s UPDATE');

SELECT * FROM finish();
ROLLBACK;
