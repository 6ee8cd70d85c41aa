-- Schema and data for the pg_privacy benchmarks.
--
-- psql variables: rows (number of BSNs to generate) and datafile (a path the
-- server may write; it receives the BSNs as 9-digit text, one per line).

\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS pg_privacy CASCADE;
-- the bsn operators live in schema privacy
ALTER DATABASE :"DBNAME" SET search_path = public, privacy;
SET search_path = public, privacy;

-------------------------------------------------------------------------------
-- Audit trail baseline: a plain table of the same shape as privacy.audit_log
-------------------------------------------------------------------------------

CREATE SEQUENCE bench_plain_seq;
CREATE TABLE bench_plain (
    seq          bigint      NOT NULL PRIMARY KEY DEFAULT nextval('bench_plain_seq'),
    logged_at    timestamptz NOT NULL,
    txid         xid8        NOT NULL,
    session_id   text        NOT NULL,
    login_role   name        NOT NULL,
    acting_role  name        NOT NULL,
    actor        text,
    action       text        NOT NULL,
    object       text,
    subject_type text,
    subject_key  text,
    details      jsonb,
    prev_hash    bytea       NOT NULL,
    hash         bytea       NOT NULL
);
ALTER SEQUENCE bench_plain_seq OWNED BY bench_plain.seq;
CREATE INDEX bench_plain_subject_idx
    ON bench_plain (subject_type, subject_key)
    WHERE subject_key IS NOT NULL;

-------------------------------------------------------------------------------
-- BSN data: valid numbers built set-based from 8-digit prefixes.  With
-- s = (9a + 8b + 7c + 6d + 5e + 4f + 3g + 2h) mod 11, the elfproef holds for
-- check digit s, so prefixes with s = 10 are skipped.  The prefixes are
-- spread over the whole range of 9-digit numbers.
-------------------------------------------------------------------------------

CREATE TABLE t_int (id int NOT NULL, b int4 NOT NULL);

INSERT INTO t_int (id, b)
SELECT row_number() OVER (ORDER BY p), p * 10 + s
FROM (
    SELECT p,
           (9 * (p / 10000000) + 8 * (p / 1000000 % 10) + 7 * (p / 100000 % 10)
            + 6 * (p / 10000 % 10) + 5 * (p / 1000 % 10) + 4 * (p / 100 % 10)
            + 3 * (p / 10 % 10) + 2 * (p % 10)) % 11 AS s
    FROM generate_series(10000000::bigint, 99999999::bigint,
                         greatest(1, 90000000 / (:rows::bigint * 6 / 5))) AS p
) AS prefixes
WHERE s < 10
LIMIT :rows;

SELECT count(*) = :rows AS enough_rows FROM t_int \gset
\if :enough_rows
\else
    \warn 'could not generate enough BSNs'
    SELECT 1 / 0;
\endif

CREATE TABLE t_bsn (id int NOT NULL, b bsn NOT NULL);
INSERT INTO t_bsn SELECT id, b::bigint::bsn FROM t_int ORDER BY id;

CREATE TABLE t_text (id int NOT NULL, b text NOT NULL);
INSERT INTO t_text SELECT id, lpad(b::text, 9, '0') FROM t_int ORDER BY id;

CREATE INDEX t_int_b_idx ON t_int (b);
CREATE INDEX t_bsn_b_idx ON t_bsn (b);
CREATE INDEX t_text_b_idx ON t_text (b);

-- lookup keys: row i holds the value of row i, as int4 and as bsn
CREATE TABLE keys (i int PRIMARY KEY, vi int4 NOT NULL, vb bsn NOT NULL);
INSERT INTO keys SELECT id, b, b::bigint::bsn FROM t_int ORDER BY id;

-------------------------------------------------------------------------------
-- COPY FROM targets: one column each
-------------------------------------------------------------------------------

-- the usual alternative to a bsn type: text with a PL/pgSQL check
CREATE FUNCTION elfproef(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    total integer := 0;
    digit integer;
BEGIN
    IF length(v) <> 9 OR v !~ '^[0-9]+$' THEN
        RETURN false;
    END IF;
    FOR pos IN 1..9 LOOP
        digit := substr(v, pos, 1)::integer;
        IF pos = 9 THEN
            total := total - digit;
        ELSE
            total := total + (10 - pos) * digit;
        END IF;
    END LOOP;
    RETURN total % 11 = 0 AND v <> '000000000';
END
$$;
CREATE DOMAIN bsn_text AS text CHECK (elfproef(VALUE));

CREATE TABLE c_int (b int4);
CREATE TABLE c_bsn (b bsn);
CREATE TABLE c_dom (b bsn_text);

-- the data file, written by the server so that it can read it back
COPY (SELECT lpad(b::text, 9, '0') FROM t_int ORDER BY id) TO :'datafile';

-------------------------------------------------------------------------------
-- A role that may read the BSN table but not see BSNs
-------------------------------------------------------------------------------

CREATE ROLE bench_clerk LOGIN;
GRANT SELECT ON t_bsn TO bench_clerk;

VACUUM ANALYZE t_int, t_bsn, t_text, keys, bench_plain;
CHECKPOINT;
