-- Discovery benchmark data: about :mb MB of free-text notes in which one in
-- thirty holds a BSN (with or without separators) and one in fifty an IBAN,
-- and the usual alternative to the extension's scanner: a regular
-- expression with an elfproef written in SQL.
-- psql variables: mb.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE disc_notes (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO disc_notes
SELECT g,
       repeat('Kandidaat belt terug over de planning van week ' || (g % 52) || ', rijbewijs B. ', 6)
       || CASE WHEN g % 30 = 0 THEN ' BSN 111222333 ' WHEN g % 30 = 15 THEN ' sofinummer 1234.56.782 ' ELSE '' END
       || CASE WHEN g % 50 = 0 THEN ' rekening NL91ABNA0417164300' ELSE '' END
       || ' ordernummer ' || (100000000 + g)::text
  FROM generate_series(1, (:mb * 1048576 / 400)::int) g;
ALTER TABLE disc_notes SET (autovacuum_enabled = false);
VACUUM ANALYZE disc_notes;

CREATE FUNCTION sql_elfproef(d text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT length(d) = 9 AND d <> '000000000' AND (
        9 * substr(d, 1, 1)::int + 8 * substr(d, 2, 1)::int + 7 * substr(d, 3, 1)::int
      + 6 * substr(d, 4, 1)::int + 5 * substr(d, 5, 1)::int + 4 * substr(d, 6, 1)::int
      + 3 * substr(d, 7, 1)::int + 2 * substr(d, 8, 1)::int - substr(d, 9, 1)::int) % 11 = 0
$$;
