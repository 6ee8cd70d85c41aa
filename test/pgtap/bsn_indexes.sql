-- Attack: a clerk (outside privacy_bsn) builds a hash-index EXCLUSION
-- constraint on a bsn column of a temporary table of their own.  Building
-- it on an empty table never calls bsn_hash inside the security-restricted
-- index build (only btree builds call the sort support at once), and every
-- later INSERT checks the constraint outside any security-restricted
-- operation, where bsn_hash and bsn_eq run for anyone.
-- INSERT ... SELECT <all guesses> ... ON CONFLICT DO NOTHING RETURNING then
-- tests ~90 000 guesses per statement (every valid number with the masked
-- suffix) and returns the full BSN of a row in about half a second.
-- The same works with bsn[] and with a domain over bsn.
--
-- Closed: for such a role, the indexes and constraints a command creates
-- are checked after it, whatever the access method, and refused when keyed
-- on a bsn.
BEGIN;
SELECT plan(5);
SET search_path = public, privacy;

SET client_min_messages = warning;
CREATE ROLE ahx_clerk;
CREATE TABLE public.ahx_people (id int PRIMARY KEY, name text, bsn privacy.bsn);
INSERT INTO public.ahx_people VALUES (1, 'Anna', '111222333');
GRANT SELECT ON public.ahx_people TO ahx_clerk;
CREATE DOMAIN public.ahx_dbsn AS privacy.bsn;

-- the whole attack, as the invoking role; NULL when any step is refused
CREATE FUNCTION pg_temp.ahx_recover(cand int) RETURNS int LANGUAGE plpgsql AS $f$
DECLARE
    suffix int;
    found  int;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS ahx_probe (b privacy.bsn, guess int,
                                               EXCLUDE USING hash (b WITH =));
    CREATE TEMP TABLE IF NOT EXISTS ahx_got (g int);
    TRUNCATE ahx_probe, ahx_got;
    INSERT INTO ahx_probe (b) SELECT bsn FROM public.ahx_people WHERE id = cand;
    SELECT right(bsn::text, 3)::int INTO suffix FROM public.ahx_people WHERE id = cand;
    WITH ins AS (
        INSERT INTO ahx_probe (b, guess)
        SELECT (p * 1000 + suffix)::bigint::privacy.bsn, p * 1000 + suffix
          FROM generate_series(0, 999999) p
         WHERE p * 1000 + suffix > 0
           AND privacy.bsn_is_valid(lpad((p * 1000 + suffix)::text, 9, '0'))
        ON CONFLICT DO NOTHING
        RETURNING guess)
    INSERT INTO ahx_got SELECT guess FROM ins;
    SELECT p * 1000 + suffix INTO found
      FROM generate_series(0, 999999) p
     WHERE p * 1000 + suffix > 0
       AND privacy.bsn_is_valid(lpad((p * 1000 + suffix)::text, 9, '0'))
       AND NOT EXISTS (SELECT 1 FROM ahx_got WHERE g = p * 1000 + suffix);
    RETURN found;
EXCEPTION WHEN insufficient_privilege OR undefined_table THEN
    RETURN NULL;
END
$f$;
RESET client_min_messages;

SET ROLE ahx_clerk;
SELECT is((SELECT bsn::text FROM public.ahx_people WHERE id = 1), '******333',
          'the clerk sees the BSN masked');
SELECT throws_ok($$CREATE TEMP TABLE ahx_t1 (b privacy.bsn, EXCLUDE USING hash (b WITH =))$$,
                 '42501', NULL,
                 'a clerk may not build a hash exclusion constraint on a bsn');
SELECT throws_ok($$CREATE TEMP TABLE ahx_t2 (b privacy.bsn[], EXCLUDE USING hash (b WITH =))$$,
                 '42501', NULL,
                 'a clerk may not build a hash exclusion constraint on a bsn[]');
SELECT throws_ok($$CREATE TEMP TABLE ahx_t3 (b public.ahx_dbsn); CREATE INDEX ON ahx_t3 USING hash (b)$$,
                 '42501', NULL,
                 'a clerk may not build a hash index on a domain over bsn');
SELECT is(pg_temp.ahx_recover(1), NULL,
          'a clerk cannot recover a stored BSN with batched guesses against an exclusion constraint of their own');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
