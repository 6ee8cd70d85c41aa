-- Column policies, the exact messages and outputs: the write-back refusal,
-- a field switched off, a forbidden field, the admin-only functions,
-- EXPLAIN as the clerk and as the superuser, and COPY table TO and
-- COPY (query) TO as the clerk, masked.
SET client_min_messages = warning;
CREATE ROLE colreg_owner;
CREATE ROLE colreg_clerk;
CREATE SCHEMA colreg;
GRANT USAGE, CREATE ON SCHEMA colreg TO colreg_owner;
GRANT USAGE ON SCHEMA colreg TO colreg_clerk;
SET ROLE colreg_owner;
CREATE TABLE colreg.t (
    id         int PRIMARY KEY,
    name       text,
    phone      varchar(20),
    photo      bytea,
    diagnosis  text,
    city       text
);
INSERT INTO colreg.t VALUES
    (1, 'Jan Jansen', '0612345678', NULL, NULL, 'Utrecht'),
    (2, 'Piet Pietersen', '0698765432', NULL, NULL, 'Zwolle');
GRANT SELECT, INSERT, UPDATE ON colreg.t TO colreg_clerk;
RESET ROLE;
SELECT privacy.register_subject_type('colreg_person', 'colreg.t', 'id');
SELECT privacy.register_table('colreg.t', 'colreg_person');
SELECT privacy.classify_column('colreg.t', 'name', 'identifying');
SELECT privacy.classify_column('colreg.t', 'phone', 'contact');
SELECT privacy.set_optional_field('colreg.t', 'photo', false);
SELECT privacy.forbid_field('colreg.t', 'diagnosis', 'Not needed for the purpose');
-- a security definer function of the superuser: the calling role counts
CREATE FUNCTION colreg.classify_city() RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$SELECT privacy.classify_column('colreg.t', 'city', 'identifying')$$;
GRANT EXECUTE ON FUNCTION colreg.classify_city() TO colreg_clerk;
SELECT tbl, column_name, class, mask, mask_param, state, reason
  FROM privacy.column_policies WHERE tbl = 'colreg.t'::regclass ORDER BY column_name;
RESET client_min_messages;

-- as the clerk
SET ROLE colreg_clerk;
SELECT id, name, phone, photo, diagnosis, city FROM colreg.t ORDER BY id;
SELECT count(*) FROM colreg.t WHERE name = 'Jan Jansen';
UPDATE colreg.t SET name = name WHERE id = 1;
UPDATE colreg.t SET phone = phone || '' WHERE id = 1;
INSERT INTO colreg.t (id, photo) VALUES (3, '\x01');
INSERT INTO colreg.t (id, diagnosis) VALUES (3, 'flu');
SELECT privacy.classify_column('colreg.t', 'city', 'identifying');
SELECT colreg.classify_city();
EXPLAIN (COSTS OFF) SELECT id FROM colreg.t WHERE name = 'Jan Jansen';
EXPLAIN (COSTS OFF, VERBOSE) SELECT name, phone, photo FROM colreg.t;
COPY colreg.t TO STDOUT;
COPY colreg.t (id, name) TO STDOUT;
COPY (SELECT id, name, phone FROM colreg.t ORDER BY id) TO STDOUT WITH (FORMAT csv);
RESET ROLE;

-- as the owner, who is no admin
SET ROLE colreg_owner;
SELECT privacy.forbid_field('colreg.t', 'city', 'no reason');
RESET ROLE;

-- as the superuser
EXPLAIN (COSTS OFF) SELECT id FROM colreg.t WHERE name = 'Jan Jansen';
UPDATE colreg.t SET diagnosis = 'flu' WHERE id = 1;
COPY (SELECT id, name, phone FROM colreg.t ORDER BY id) TO STDOUT WITH (FORMAT csv);

-- clean up
SET client_min_messages = warning;
DROP SCHEMA colreg CASCADE;
DELETE FROM privacy.subject_type WHERE name = 'colreg_person';
DROP ROLE colreg_owner;
DROP ROLE colreg_clerk;
