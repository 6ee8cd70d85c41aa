-- The bsn input rule against the shared test vectors (public.bsn_vectors,
-- loaded by test/run.sh from shared/data/bsn_vectors.tsv): for every vector,
-- privacy.bsn_is_valid agrees with the expected verdict; a valid input read
-- as bsn (by a superuser) prints as its nine digits; an invalid one raises
-- 22P02 whose message and detail never repeat the input.  Also: the bigint
-- cast, and bsn_is_valid never raising whatever the text.
BEGIN;

SELECT plan(
    (SELECT greatest(1, count(*)::int
                        + count(*) FILTER (WHERE expected = 'valid')::int
                        + 2 * count(*) FILTER (WHERE expected = 'invalid')::int)
       FROM public.bsn_vectors)
    + 28);

-- A printable description of an input: JSON escapes control characters.
CREATE FUNCTION pg_temp.shown(input text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT to_json(input)::text $$;

-- The SQLSTATE, message and detail of reading input as a bsn (NULL when it
-- is accepted).
CREATE FUNCTION pg_temp.bsn_input_error(input text, OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM input::privacy.bsn;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                            message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
END
$$;

-- The same for any statement.
CREATE FUNCTION pg_temp.error_of(stmt text, OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                            message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
END
$$;

-- Whether an error text gives away the input: a run of 8 or more digits, or
-- the (trimmed) input itself when it is long enough to be recognisable.
CREATE FUNCTION pg_temp.leaks_input(errtext text, input text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(errtext, '') ~ '[0-9]{8}'
        OR (length(btrim(input, E' \t\n\r\f\v')) >= 4
            AND strpos(coalesce(errtext, ''), btrim(input, E' \t\n\r\f\v')) > 0)
$$;

-- 1. bsn_is_valid agrees with every vector
SELECT CASE WHEN (SELECT count(*) FROM public.bsn_vectors) = 0
            THEN skip('no BSN test vectors were loaded into public.bsn_vectors', 1) END;

SELECT is(privacy.bsn_is_valid(input), expected = 'valid',
          format('bsn_is_valid(%s) is %s (%s)', pg_temp.shown(input),
                 expected = 'valid', source))
  FROM public.bsn_vectors ORDER BY expected DESC, input;

-- 2. valid vectors round-trip to nine digits
SELECT is(input::privacy.bsn::text,
          lpad(regexp_replace(input, '[^0-9]', '', 'g'), 9, '0'),
          format('valid %s reads as the nine digits', pg_temp.shown(input)))
  FROM public.bsn_vectors WHERE expected = 'valid' ORDER BY input;

-- 3. invalid vectors raise 22P02, and the error never repeats the input
SELECT throws_ok(format('SELECT %L::privacy.bsn', input), '22P02',
                 'invalid input syntax for type bsn',
                 format('invalid %s is refused with 22P02', pg_temp.shown(input)))
  FROM public.bsn_vectors WHERE expected = 'invalid' ORDER BY input;

SELECT ok(e.state = '22P02' AND e.detail IS NOT NULL
          AND NOT pg_temp.leaks_input(e.message, v.input)
          AND NOT pg_temp.leaks_input(e.detail, v.input),
          format('error for invalid %s has a detail and repeats no digits: %s / %s',
                 pg_temp.shown(v.input), e.message, e.detail))
  FROM public.bsn_vectors v, LATERAL pg_temp.bsn_input_error(v.input) e
 WHERE v.expected = 'invalid' ORDER BY v.input;

-- 4. errors for inputs that are one digit off a BSN: no digits in them
SELECT ok(NOT pg_temp.leaks_input(e.message, '111222334')
          AND NOT pg_temp.leaks_input(e.detail, '111222334')
          AND e.detail ~ 'elfproef',
          'a failed elfproef is explained without the number')
  FROM pg_temp.bsn_input_error('111222334') e;
SELECT ok(e.detail = 'A BSN has 9 digits (or 8 for an older number); the value has 10.',
          'a wrong length is reported as a count of digits only')
  FROM pg_temp.bsn_input_error('1112223334') e;
SELECT ok(NOT pg_temp.leaks_input(e.message, '1234.56.782x')
          AND NOT pg_temp.leaks_input(e.detail, '1234.56.782x'),
          'a bad character is reported without the value')
  FROM pg_temp.bsn_input_error('1234.56.782x') e;

-- 5. the bigint cast validates the same way
SELECT is(111222333::bigint::privacy.bsn::text, '111222333', 'bigint 111222333 casts to bsn');
SELECT is(10000008::bigint::privacy.bsn::text, '010000008', 'an eight-digit bigint is left-padded');
SELECT throws_ok('SELECT 111222334::bigint::privacy.bsn', '22P02', NULL,
                 'a bigint failing the elfproef is refused');
SELECT throws_ok('SELECT 0::bigint::privacy.bsn', '22P02', NULL, 'bigint zero is refused');
SELECT throws_ok('SELECT (-111222333)::bigint::privacy.bsn', '22P02', NULL,
                 'a negative bigint is refused');
SELECT throws_ok('SELECT 1111222333::bigint::privacy.bsn', '22P02', NULL,
                 'a ten-digit bigint is refused');
SELECT throws_ok($$SELECT ''::privacy.bsn$$, '22P02',
                 'invalid input syntax for type bsn', 'the empty string is not a bsn');
SELECT ok(e.state = '22P02' AND NOT pg_temp.leaks_input(e.message, '111222334')
          AND NOT pg_temp.leaks_input(e.detail, '111222334'),
          'the bigint cast does not repeat the number in its error')
  FROM pg_temp.error_of('SELECT 111222334::bigint::privacy.bsn') e;
SELECT ok(e.state = '22P02' AND strpos(e.message || ' ' || e.detail, '1111222333') = 0
          AND strpos(e.message || ' ' || e.detail, '111222333') = 0,
          'nor does it repeat an out-of-range number')
  FROM pg_temp.error_of('SELECT 1111222333::bigint::privacy.bsn') e;

-- 6. bsn_is_valid never raises, whatever the text
SELECT is(privacy.bsn_is_valid(NULL), NULL, 'bsn_is_valid(NULL) is NULL');
SELECT is(privacy.bsn_is_valid(''), false, 'bsn_is_valid of the empty string is false');
SELECT is(privacy.bsn_is_valid(repeat(' ', 100000)), false, 'only white space is not a BSN');
SELECT is(privacy.bsn_is_valid(repeat('1', 1000000)), false, 'a million digits are not a BSN');
SELECT is(privacy.bsn_is_valid(repeat('1.', 500000) || '1'), false,
          'a million separated digits are not a BSN');
SELECT is(privacy.bsn_is_valid(repeat(' ', 100000) || '111222333' || repeat(E'\t', 100000)), true,
          'a BSN amid long white space is valid');
SELECT is(privacy.bsn_is_valid('١٢٣'), false, 'Arabic-Indic digits are not a BSN');
SELECT is(privacy.bsn_is_valid('١١١٢٢٢٣٣٣'), false, 'nine Arabic-Indic digits are not a BSN');
SELECT is(privacy.bsn_is_valid('１１１２２２３３３'), false, 'nine fullwidth digits are not a BSN');
SELECT is(privacy.bsn_is_valid(E'111222333\u00a0'), false, 'a trailing no-break space is not white space');
SELECT is(privacy.bsn_is_valid(E'\x01\x02\x7f111222333'), false, 'control characters are not white space');
SELECT lives_ok(
    $$SELECT count(privacy.bsn_is_valid(s))
        FROM (SELECT string_agg(chr(c), '') AS s
                FROM generate_series(1, 300) AS g(i),
                     LATERAL (SELECT (1 + (i * 7919 + k * 104729) % 55295) AS c
                                FROM generate_series(1, 1 + i % 40) AS k) AS cs
               GROUP BY i) AS strings$$,
    'bsn_is_valid survives 300 strings of arbitrary characters');
SELECT is((SELECT count(*)::int
             FROM generate_series(1, 2000) AS g(i),
                  LATERAL (SELECT string_agg(chr(33 + (i * 31 + k * 17) % 15), '') AS s
                             FROM generate_series(1, 9 + i % 5) AS k) AS x
            WHERE privacy.bsn_is_valid(s)),
          0, 'strings of punctuation are never valid');
-- the elfproef written out in SQL, as an independent oracle
SELECT is((SELECT count(*)::int
             FROM generate_series(1, 999999999, 1000003) AS g(v),
                  LATERAL (SELECT sum((10 - p) * substr(lpad(v::text, 9, '0'), p, 1)::int)
                                  - 2 * substr(lpad(v::text, 9, '0'), 9, 1)::int AS s
                             FROM generate_series(1, 9) AS p) AS w
            WHERE privacy.bsn_is_valid(lpad(v::text, 9, '0')) <> (w.s % 11 = 0)),
          0, 'bsn_is_valid agrees with the elfproef over a sample of nine-digit numbers');
SELECT is((SELECT count(*)::int
             FROM generate_series(1, 999999999, 1000003) AS g(v)
            WHERE privacy.bsn_is_valid(lpad(v::text, 9, '0'))
              AND privacy.bsn_is_valid(substr(lpad(v::text, 9, '0'), 1, 4) || '.'
                                       || substr(lpad(v::text, 9, '0'), 5, 2) || '.'
                                       || substr(lpad(v::text, 9, '0'), 7)) IS NOT TRUE),
          0, 'every valid sampled number is also valid written as 1234.56.782');
SELECT cmp_ok((SELECT count(*)::int FROM generate_series(1, 999999999, 1000003) AS g(v)
                WHERE privacy.bsn_is_valid(lpad(v::text, 9, '0'))), '>', 50,
              'the sample holds enough valid numbers to mean something');

SELECT * FROM finish();
ROLLBACK;
