-- Attacks on the retention layer.  The purge, the reports and the holds run
-- as the extension's owner, a superuser; rule expressions written by a
-- privacy admin are spliced into the SQL they run.  Asserted here:
--  * a privacy admin runs no code of their own as the owner: not through a
--    view in a subquery, a domain reached by a literal (array or composite,
--    evaluated while the expression is parsed), by an I/O cast, a column
--    definition list, an XMLTABLE column or record_in at run time, a
--    validator parsing the admin's function, an anonymized value of a
--    domain column, a subject key of a domain type, or a trigger on a
--    registered table (their own temporary table, or a table a clerk owns);
--  * a privacy admin reads nothing they may not read: pg_authid through a
--    view or a rule on the catalog itself, server files, the mask key,
--    superuser-only settings, a table they cannot SELECT, a column they may
--    not read reached as a field of its composite type, a masked column
--    (in an error message or by counting), a row outside their scope (in an
--    error message); a rule on pg_authid does not make them superuser;
--  * no full BSN leaves the layer: not in error messages of a rule's
--    expressions or of an anonymizing UPDATE, not by counting the rows a
--    condition selects or the rows an anonymization to a guessed BSN would
--    change, not in expired_rows for a key of a domain over bsn or an
--    array of BSNs, not in legal_holds; purge results, the purge's audit
--    entries and hold audit entries carry counts only;
--  * the purge removes only expired rows that are not held: not the rows
--    of an inheritance child sharing a tuple id, not a subject held under
--    another spelling of its key;
--  * the expression checker refuses functions and tables outside its rules,
--    statements smuggled into an expression, and SQL in names, keys and
--    anonymized column names, while a cast of JSON text to a date and a
--    comparison with an enum label stay allowed; officers and clerks
--    cannot call the admin's functions, the SECURITY DEFINER purge helpers
--    or read the catalogs; objects planted in pg_temp change nothing.
BEGIN;
SELECT plan(112);

SET client_min_messages = warning;
CREATE ROLE ra_rule_admin LOGIN IN ROLE privacy_admin;
CREATE ROLE ra_officer LOGIN PASSWORD 'ra-officer-secret' IN ROLE privacy_officer;
CREATE ROLE ra_clerk LOGIN;

CREATE SCHEMA ra_hr;
CREATE TABLE ra_hr.people (id int PRIMARY KEY, name text, bsn privacy.bsn, diag text, left_on date);
INSERT INTO ra_hr.people VALUES (1, 'Jansen', '123456782', 'diabetes', '2000-01-01'),
                                (2, 'Pietersen', '111222333', 'flu', '2001-01-01'),
                                (3, 'de Vries', NULL, NULL, CURRENT_DATE),
                                (4, 'Bakker', '012345623', NULL, '2000-01-01');
CREATE TABLE ra_hr.salary (id int PRIMARY KEY, amount int, paid_on date);
INSERT INTO ra_hr.salary VALUES (1, 98765, '2000-01-01');
CREATE TABLE ra_hr.notes (id int PRIMARY KEY, bsn privacy.bsn, note text CHECK (note <> ''), d date);
INSERT INTO ra_hr.notes VALUES (1, '123456782', 'hello', '2000-01-01');
CREATE DOMAIN ra_hr.bsn_nr AS privacy.bsn;
CREATE TABLE ra_hr.cards (nr ra_hr.bsn_nr PRIMARY KEY, person_id int, d date);
INSERT INTO ra_hr.cards VALUES ('123456782', 1, '2000-01-01');
CREATE TABLE ra_hr.tags (nrs privacy.bsn[] PRIMARY KEY, person_id int, d date);
INSERT INTO ra_hr.tags VALUES ('{123456782}', 1, '2000-01-01');
CREATE TABLE ra_hr.passes (nr privacy.bsn PRIMARY KEY, person_id int, d date);
INSERT INTO ra_hr.passes VALUES ('111222333', 2, '2000-01-01');
CREATE TABLE ra_hr.citizens (bsn privacy.bsn PRIMARY KEY);
CREATE TABLE ra_hr.docs (id int, d date);
CREATE TABLE ra_hr.docs_new () INHERITS (ra_hr.docs);
INSERT INTO ra_hr.docs VALUES (1, '2000-01-01');       -- expired, tuple (0,1) of docs
INSERT INTO ra_hr.docs_new VALUES (2, CURRENT_DATE);   -- not expired, tuple (0,1) of docs_new
CREATE TABLE ra_hr.staff (id int PRIMARY KEY, branch_id int NOT NULL, name text, left_on date);
INSERT INTO ra_hr.staff VALUES (1, 12, 'Visser', '2000-01-01'), (7, 20, 'Hidden-Person', '2000-01-01');
CREATE TYPE ra_hr.app_status AS ENUM ('open', 'rejected');
CREATE TABLE ra_hr.apps (id int PRIMARY KEY, status ra_hr.app_status, meta jsonb, closed_on date);
INSERT INTO ra_hr.apps VALUES (1, 'rejected', '{"closed": "2000-01-01"}', '2000-01-01');
CREATE TABLE ra_hr.clients (nr numeric PRIMARY KEY, d date);
INSERT INTO ra_hr.clients VALUES (42, '2000-01-01');
CREATE SCHEMA "ra odd""s";
CREATE TABLE "ra odd""s"."Tab'le" (id int PRIMARY KEY, "co""l; DROP TABLE ra_hr.people; --" text, d date);
INSERT INTO "ra odd""s"."Tab'le" VALUES (1, 'old', '2000-01-01');
GRANT USAGE ON SCHEMA ra_hr, "ra odd""s" TO ra_rule_admin, ra_officer, ra_clerk;
GRANT SELECT ON ra_hr.people, ra_hr.notes, ra_hr.cards, ra_hr.passes, ra_hr.docs, ra_hr.docs_new,
                ra_hr.clients, ra_hr.staff, ra_hr.apps, "ra odd""s"."Tab'le" TO ra_rule_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON ra_hr.people TO ra_clerk;
CREATE SCHEMA ra_own AUTHORIZATION ra_rule_admin;
CREATE SCHEMA ra_app AUTHORIZATION ra_clerk;

SELECT FROM privacy.register_subject_type('ra_person', 'ra_hr.people', 'id');
SELECT FROM privacy.register_table('ra_hr.people', 'ra_person');
SELECT FROM privacy.register_table('ra_hr.salary', 'ra_person', key_column => 'id');
SELECT FROM privacy.register_table('ra_hr.notes', 'ra_person', key_column => 'id');
SELECT FROM privacy.register_table('ra_hr.cards', 'ra_person', key_column => 'person_id');
SELECT FROM privacy.register_table('ra_hr.passes', 'ra_person', key_column => 'person_id');
SELECT FROM privacy.register_table('ra_hr.tags', 'ra_person', key_column => 'person_id');
SELECT FROM privacy.register_table('ra_hr.apps', 'ra_person', key_column => 'id');
SELECT FROM privacy.register_subject_type('ra_citizen', 'ra_hr.citizens', 'bsn');
SELECT FROM privacy.register_subject_type('ra_staff', 'ra_hr.staff', 'id');
SELECT FROM privacy.register_table('ra_hr.staff', 'ra_staff', scope_column => 'branch_id');
SELECT FROM privacy.grant_scope('ra_rule_admin', '12');
SELECT FROM privacy.register_subject_type('ra_doc', 'ra_hr.docs', 'id');
SELECT FROM privacy.register_table('ra_hr.docs', 'ra_doc');
SELECT FROM privacy.register_subject_type('ra_client', 'ra_hr.clients', 'nr');
SELECT FROM privacy.register_table('ra_hr.clients', 'ra_client');
SELECT FROM privacy.register_subject_type('ra_odd', '"ra odd""s"."Tab''le"', 'id');
SELECT FROM privacy.register_table('"ra odd""s"."Tab''le"', 'ra_odd');
SELECT FROM privacy.classify_column('ra_hr.people', 'diag', 'special');
SELECT FROM privacy.define_document_type('ra_file', '1 year', 'the end of the file');
SELECT FROM privacy.define_document_type('ra_anon', '0', 'the end of the file', action => 'anonymize');
SELECT FROM privacy.create_retention_rule('ra_people', 'ra_hr.people', 'ra_file', 'left_on');
SELECT FROM privacy.create_retention_rule('ra_cards', 'ra_hr.cards', 'ra_file', 'd');
SELECT FROM privacy.create_retention_rule('ra_passes', 'ra_hr.passes', 'ra_file', 'd');
SELECT FROM privacy.create_retention_rule('ra_tags', 'ra_hr.tags', 'ra_file', 'd');
SELECT FROM privacy.create_retention_rule('ra_docs', 'ra_hr.docs', 'ra_file', 'd');
SELECT FROM privacy.create_retention_rule('ra_clients', 'ra_hr.clients', 'ra_file', 'd');

-- set to 666 by attacker code that finds itself running as a superuser
CREATE TEMP SEQUENCE ra_flag;
GRANT SELECT, UPDATE ON SEQUENCE pg_temp.ra_flag TO PUBLIC;

-- the result of a series of statements, or the error (with its detail) as
-- a handler of the attacker sees it
CREATE FUNCTION pg_temp.outcome(VARIADIC sqls text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    q text;
    res text;
    s text;
    m text;
    d text;
BEGIN
    FOREACH q IN ARRAY sqls LOOP
        EXECUTE q INTO res;
    END LOOP;
    RETURN coalesce(res, '');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    RETURN s || ': ' || m || ' ' || coalesce(d, '');
END
$$;
RESET client_min_messages;

-------------------------------------------------------------------------------
-- A privacy admin running code as the owner
-------------------------------------------------------------------------------
SET ROLE ra_rule_admin;
CREATE FUNCTION pg_temp.ra_pwn() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        PERFORM pg_catalog.setval('pg_temp.ra_flag', 666);
    END IF;
    RETURN true;
END
$$;
CREATE FUNCTION ra_own.pwn() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        PERFORM pg_catalog.setval('pg_temp.ra_flag', 666);
        -- what an attacker would do: ALTER ROLE ra_rule_admin SUPERUSER
    END IF;
    RETURN true;
END
$$;
CREATE VIEW ra_own.v AS SELECT ra_own.pwn() AS x;
CREATE DOMAIN pg_temp.ra_d AS int CHECK (VALUE IS NULL OR pg_temp.ra_pwn());
CREATE DOMAIN pg_temp.ra_dt AS text CHECK (VALUE IS NULL OR pg_temp.ra_pwn());
CREATE TYPE pg_temp.ra_c AS (x pg_temp.ra_d);

-- 1. a view in a subquery: the checker sees a table the admin may read
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_view', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => '(SELECT x FROM ra_own.v)')$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_view')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a view in a condition''s subquery does not run the admin''s function as the owner');

-- 2. a literal of an array of a domain is read (and checked) while parsing
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_dom1', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => $c$'{1}'::pg_temp.ra_d[] IS NOT NULL$c$)$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a literal of an array of a domain does not run the domain''s check as the owner');

-- 3. the same with a composite type that has a column of the domain
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_dom2', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => $c$'(1)'::pg_temp.ra_c IS NOT NULL$c$)$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a literal of a composite with a domain column does not run the domain''s check as the owner');

-- 4. an I/O cast to an array of a domain at run time
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_dom3', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => $c$('{' || id || '}')::pg_temp.ra_d[] IS NOT NULL$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_dom3')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a cast of text to an array of a domain does not run the domain''s check as the owner');

-- 5. a column definition list or an XMLTABLE column of a domain
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_dom4', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$EXISTS (SELECT 1 FROM jsonb_to_record('{"x": 1}') AS t(x pg_temp.ra_d))$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_dom4')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a column definition list of a domain does not run the domain''s check as the owner');
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_dom5', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$EXISTS (SELECT 1 FROM xmltable('/a' PASSING ('<a><x>1</x></a>'::xml)
                                                       COLUMNS x pg_temp.ra_d PATH 'x'))$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_dom5')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'an XMLTABLE column of a domain does not run the domain''s check as the owner');

-- 6. a type's input function, called by hand with the type's OID
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_dom6', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$record_in('(1)', 'pg_temp.ra_c'::regtype, -1) IS NOT NULL$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_dom6')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'record_in on a composite with a domain column does not run the domain''s check as the owner');

-- 7. a validator parses a function's body, literals included
CREATE FUNCTION pg_temp.ra_body() RETURNS int LANGUAGE sql AS $f$ SELECT 1 WHERE '{1}'::pg_temp.ra_d[] IS NOT NULL $f$;
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_dom7', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$fmgr_sql_validator('pg_temp.ra_body'::regproc) IS NULL$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_dom7')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'fmgr_sql_validator on the admin''s function does not parse its literals as the owner');

-- 8. the anonymized value of a domain column is tried when the rule is made
CREATE TEMP TABLE ra_tk (id int PRIMARY KEY, note pg_temp.ra_dt, d date);
INSERT INTO pg_temp.ra_tk VALUES (1, 'x', '2000-01-01');
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.register_subject_type('ra_tk', 'pg_temp.ra_tk', 'id')$$,
    $$SELECT privacy.register_table('pg_temp.ra_tk', 'ra_tk')$$,
    $$SELECT privacy.create_retention_rule('ra_tk', 'pg_temp.ra_tk', 'ra_anon', 'd',
                                           anonymize => '{"note": "gone"}')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'anonymizing a column of a domain does not run the domain''s check as the owner');

-- 9. a subject key of a domain type is cast by place_hold
CREATE TEMP TABLE ra_tk2 (id pg_temp.ra_d PRIMARY KEY);
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.register_subject_type('ra_tk2', 'pg_temp.ra_tk2', 'id')$$,
    $$SELECT privacy.place_hold('ra_tk2', '1', 'a hold')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a hold on a subject key of a domain type does not run the domain''s check as the owner');

-- 10. a trigger on the admin's own (temporary) registered table
CREATE TEMP TABLE ra_tt (id int PRIMARY KEY, d date);
INSERT INTO pg_temp.ra_tt VALUES (1, '2000-01-01');
CREATE FUNCTION pg_temp.ra_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.ra_pwn();
    RETURN OLD;
END
$$;
CREATE TRIGGER ra_trg BEFORE DELETE ON pg_temp.ra_tt FOR EACH ROW EXECUTE FUNCTION pg_temp.ra_trg();
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.register_subject_type('ra_tt', 'pg_temp.ra_tt', 'id')$$,
    $$SELECT privacy.register_table('pg_temp.ra_tt', 'ra_tt')$$,
    $$SELECT privacy.create_retention_rule('ra_tt', 'pg_temp.ra_tt', 'ra_file', 'd')$$,
    $$SELECT privacy.purge_plan('ra_tt')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a trigger on the admin''s registered table does not run as the owner in the purge');
RESET ROLE;

-- 11. a clerk who owns a registered table adds a trigger; the admin plans a purge
SET ROLE ra_clerk;
CREATE TABLE ra_app.visits (id int PRIMARY KEY, person_id int, d date);
INSERT INTO ra_app.visits VALUES (1, 1, '2000-01-01');
CREATE FUNCTION ra_app.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        PERFORM pg_catalog.setval('pg_temp.ra_flag', 666);
        -- what an attacker would do: ALTER ROLE ra_clerk SUPERUSER
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER visits_trg BEFORE DELETE ON ra_app.visits FOR EACH ROW EXECUTE FUNCTION ra_app.trg();
GRANT USAGE ON SCHEMA ra_app TO ra_rule_admin;
GRANT SELECT ON ra_app.visits TO ra_rule_admin;
RESET ROLE;
SET ROLE ra_rule_admin;
SELECT FROM setval('pg_temp.ra_flag', 1);
SELECT FROM pg_temp.outcome(
    $$SELECT privacy.register_table('ra_app.visits', 'ra_person', key_column => 'person_id')$$,
    $$SELECT privacy.create_retention_rule('ra_visits', 'ra_app.visits', 'ra_file', 'd')$$,
    $$SELECT privacy.purge_plan('ra_visits')$$);
SELECT is((SELECT last_value FROM pg_temp.ra_flag), 1::bigint,
          'a trigger a clerk put on a registered table does not run as the owner in the purge');

-- 12. a rule on pg_authid that "anonymizes" rolsuper
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.register_subject_type('ra_role', 'pg_catalog.pg_authid', 'oid')$$,
    $$SELECT privacy.register_table('pg_catalog.pg_authid', 'ra_role')$$,
    $$SELECT privacy.create_retention_rule('ra_su', 'pg_catalog.pg_authid', 'ra_anon', $c$'2000-01-01'::date$c$,
                                           condition => $c$rolname = 'ra_rule_admin'$c$,
                                           anonymize => '{"rolsuper": "true"}')$$,
    $$SELECT privacy.purge_plan('ra_su')::text$$),
    '"anonymized": [1-9]',
    'a retention rule cannot set rolsuper of the admin in pg_authid');

-------------------------------------------------------------------------------
-- A privacy admin reading what they may not read
-------------------------------------------------------------------------------
CREATE VIEW ra_own.roles WITH (security_invoker = true) AS
SELECT rolname, rolpassword FROM pg_catalog.pg_authid;
CREATE VIEW ra_own.files WITH (security_invoker = true) AS
SELECT pg_catalog.pg_read_file('postmaster.opts') AS content;

SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_pw1', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$(SELECT rolpassword FROM ra_own.roles WHERE rolname = 'ra_officer')::date IS NULL$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_pw1')$$),
    'SCRAM-SHA-256',
    'a security_invoker view over pg_authid does not show a password hash');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_pw2', 'pg_catalog.pg_authid', 'ra_file', 'rolpassword::date',
                                           condition => $c$rolname = 'ra_officer'$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_pw2')$$),
    'SCRAM-SHA-256',
    'a rule on pg_authid itself does not show a password hash');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_file1', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$(SELECT content FROM ra_own.files)::date IS NULL$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_file1')$$),
    'bin/postgres',
    'a view reading a server file does not show its content');
SELECT outcome AS ra_leak FROM pg_temp.outcome(
    $$SELECT privacy.register_subject_type('ra_key', 'privacy.mask_key', 'id')$$,
    $$SELECT privacy.register_table('privacy.mask_key', 'ra_key')$$,
    $$SELECT privacy.create_retention_rule('ra_key', 'privacy.mask_key', 'ra_file', $c$'2000-01-01'::date$c$,
                                           condition => $c$('x' || encode(key, 'hex'))::int > 0$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_key')$$) \gset
SELECT outcome AS ra_leak2 FROM pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_set', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$current_setting('data_directory')::date IS NULL$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_set')$$) \gset
RESET ROLE;
SELECT ok(strpos(:'ra_leak', (SELECT substr(encode(key, 'hex'), 1, 16) FROM privacy.mask_key)) = 0,
          'a rule on privacy.mask_key does not show the key of the keyed hash');
SELECT ok(strpos(:'ra_leak2', current_setting('data_directory')) = 0,
          'a rule does not show a setting only superusers may read');
SET ROLE ra_rule_admin;
SELECT throws_ok($$SELECT amount FROM ra_hr.salary$$, '42501', NULL,
                 'the admin may not read the salaries');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_sal', 'ra_hr.salary', 'ra_file', 'paid_on',
                                           condition => 'amount::text::date IS NULL')$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_sal')$$),
    '98765',
    'a rule on a registered table the admin cannot read does not show its values');
SELECT isnt(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_sal2', 'ra_hr.salary', 'ra_file', 'paid_on',
                                           condition => 'amount > 90000')$$,
    $$SELECT rows_total::text FROM privacy.retention_status('ra_sal2')$$),
    '1',
    'a condition on a table the admin cannot read does not tell a salary by counting');
-- a column of a composite type the admin owns, in a table the admin may
-- not read that column of
CREATE TYPE ra_own.info AS (secret text);
RESET ROLE;
CREATE TABLE ra_hr.emp (id int PRIMARY KEY, info ra_own.info, d date);
INSERT INTO ra_hr.emp VALUES (1, ROW('topsecret'), '2000-01-01');
GRANT SELECT (id, d) ON ra_hr.emp TO ra_rule_admin;
SELECT FROM privacy.register_table('ra_hr.emp', 'ra_person', key_column => 'id');
SET ROLE ra_rule_admin;
SELECT throws_ok($$SELECT info FROM ra_hr.emp$$, '42501', NULL, 'the admin may not read column info');
SELECT isnt(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_emp', 'ra_hr.emp', 'ra_file', 'd',
                                           condition => $c$(r.info).secret LIKE 'top%'$c$)$$,
    $$SELECT rows_total::text FROM privacy.retention_status('ra_emp')$$),
    '1',
    'a field of that column does not tell its value by counting');
SELECT is((SELECT string_agg(name, ',') FROM ra_hr.staff), 'Visser',
          'the admin of branch 12 sees only the staff of branch 12');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_scope', 'ra_hr.staff', 'ra_file', 'left_on',
                                           condition => 'id = 7 AND name::int > 0')$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_scope')$$),
    'Hidden-Person',
    'a condition does not show a value of a row outside the admin''s scope in an error');
SELECT is((SELECT count(*)::int FROM ra_hr.people WHERE diag = 'diabetes'), 0,
          'the admin reads the special-category column masked');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_diag1', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => 'diag::int > 0')$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_diag1')$$),
    'diabetes',
    'a condition does not show a masked column in an error');
SELECT isnt(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_diag2', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => $c$diag = 'diabetes'$c$)$$,
    $$SELECT string_agg(row_key, ',') FROM privacy.expired_rows('ra_diag2')$$),
    '1',
    'a condition on a masked column does not single out the person with diabetes');

-------------------------------------------------------------------------------
-- Full BSNs
-------------------------------------------------------------------------------
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_bsn1', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => 'id = 1 AND to_json(bsn)::text::int > 0')$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_bsn1')$$),
    '123456782',
    'a condition does not show a full BSN in an error (to_json)');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_bsn2', 'ra_hr.passes', 'ra_file', 'd',
                                           condition => 'row_to_json(r)::text::int > 0')$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_bsn2')$$),
    '111222333',
    'a condition does not show a full BSN in an error (the whole row)');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_bsn3', 'ra_hr.people', 'ra_file', 'left_on',
        condition => $c$(SELECT array_to_string(array_agg(p.bsn), ',') FROM ra_hr.people p)::int > 0$c$)$$,
    $$SELECT count(*) FROM privacy.retention_status('ra_bsn3')$$),
    '123456782',
    'a subquery does not show full BSNs in an error');
SELECT isnt(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_bsn4', 'ra_hr.people', 'ra_file', 'left_on',
                                           condition => $c$to_json(bsn)::text = '"1234' || '56782"'$c$)$$,
    $$SELECT string_agg(row_key, ',') FROM privacy.expired_rows('ra_bsn4')$$),
    '1',
    'a condition does not confirm a guessed BSN by the rows it selects');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_bsn5', 'ra_hr.people', 'ra_anon', 'left_on',
                                           condition => 'id = 4', anonymize => '{"bsn": "12345623"}')$$,
    $$SELECT privacy.purge_plan('ra_bsn5')::text$$),
    '"anonymized": 0',
    'anonymizing to a guessed BSN does not confirm the guess by what is left to anonymize');
SELECT doesnt_match(pg_temp.outcome(
    $$SELECT privacy.create_retention_rule('ra_notes', 'ra_hr.notes', 'ra_anon', 'd',
                                           anonymize => '{"note": ""}')$$,
    $$SELECT privacy.purge_plan('ra_notes')::text$$),
    '123456782',
    'an anonymization that breaks a CHECK constraint does not show the row''s BSN');
RESET ROLE;

SET ROLE ra_officer;
SELECT doesnt_match((SELECT string_agg(row_key, ',') FROM privacy.expired_rows('ra_cards')), '123456782',
                    'expired_rows masks a key of a domain over bsn');
SELECT is((SELECT string_agg(row_key, ',') FROM privacy.expired_rows('ra_passes')), '******333',
          'expired_rows masks a bsn key');
SELECT doesnt_match((SELECT string_agg(row_key, ',') FROM privacy.expired_rows('ra_tags')), '123456782',
                    'and a key that is an array of BSNs');
SELECT lives_ok($$SELECT privacy.place_hold('ra_citizen', '999996708', 'court case')$$,
                'an officer places a hold on a subject keyed by BSN');
SELECT is((SELECT count(*)::int FROM privacy.audit_log
            WHERE action = 'retention.hold' AND subject_type = 'ra_citizen'
              AND (subject_key IS NOT NULL OR details::text ~ '999996708')), 0,
          'the hold''s audit entry has no BSN');
RESET ROLE;
SET ROLE ra_rule_admin;
SELECT lives_ok($$SELECT * FROM privacy.legal_holds$$, 'the admin reads the legal holds');
SELECT doesnt_match(pg_temp.outcome($$SELECT string_agg(subject_key, ',') FROM privacy.legal_holds$$), '999996708',
                    'legal_holds does not show the admin the held BSN in full');
SELECT doesnt_match(pg_temp.outcome($$SELECT string_agg(subject_key, ',') FROM privacy.legal_hold$$), '999996708',
                    'nor does the legal_hold table');
-- with privacy.bsn_visible_digits = 0 no digit of a BSN is shown
RESET ROLE;
SET privacy.bsn_visible_digits = 0;
SET ROLE ra_rule_admin;
SELECT is((SELECT bsn::text FROM ra_hr.people WHERE id = 1), '*********',
          'with no visible digits the admin reads a BSN fully masked');
SELECT doesnt_match(pg_temp.outcome($$SELECT string_agg(subject_key, ',') FROM privacy.legal_holds
                                       WHERE subject_type = 'ra_citizen'$$), '[0-9]',
                    'and legal_holds shows no digit of the held BSN');
SELECT doesnt_match(pg_temp.outcome($$SELECT string_agg(row_key, ',') FROM privacy.expired_rows('ra_cards')$$), '[0-9]',
                    'nor expired_rows of a BSN key');
RESET ROLE;
RESET privacy.bsn_visible_digits;
SET ROLE ra_rule_admin;
-- a purge run, batch by batch, inside this transaction
SELECT privacy._purge_begin('ra_passes') AS ra_run \gset
SELECT lives_ok(format('SELECT privacy._purge_batch(%s, %L, 0, 10)', :ra_run, 'ra_passes'),
                'the admin runs a batch of a purge');
SELECT lives_ok(format('SELECT privacy._purge_close(%s, %L, %L)', :ra_run, 'ra_passes', 'done'),
                'and closes the rule');
SELECT doesnt_match(privacy._purge_end(:ra_run)::text, '111222333|\*\*\*333',
                    'the purge result has counts, no BSN');
SELECT doesnt_match((SELECT string_agg(details::text || coalesce(subject_key, ''), ',') FROM privacy.audit_log
                      WHERE action = 'retention.purge'), '111222333',
                    'the purge''s audit entries have counts, no BSN');
SELECT is((SELECT count(*)::int FROM ra_hr.passes), 0, 'and the batch deleted the expired row');

-------------------------------------------------------------------------------
-- The purge removes what is expired and not held, nothing else
-------------------------------------------------------------------------------
SELECT lives_ok($$SELECT privacy.place_hold('ra_doc', '2', 'court case')$$,
                'a hold on document 2, in the inheritance child, not expired');
SELECT doesnt_match(pg_temp.outcome($$SELECT privacy.purge_plan('ra_docs')::text$$), '"deleted": 2',
                    'the purge does not delete a row of an inheritance child with the tuple id of an expired row');
SELECT lives_ok($$SELECT privacy.place_hold('ra_client', '42.0', 'court case')$$,
                'a hold on client 42, written 42.0');
SELECT doesnt_match(pg_temp.outcome($$SELECT privacy.purge_plan('ra_clients')::text$$), '"deleted": 1',
                    'the purge does not delete a client held under another spelling of the key');

-------------------------------------------------------------------------------
-- The expression checker and names: refused
-------------------------------------------------------------------------------
CREATE TEMP TABLE ra_tmp (a int);
CREATE FUNCTION ra_own.f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION pg_temp.ra_rule(cond text) RETURNS void LANGUAGE sql AS $$
    SELECT privacy.create_retention_rule('ra_chk', 'ra_hr.people', 'ra_file', 'left_on',
                                         condition => cond, or_replace => true)
$$;
SELECT throws_ok($$SELECT pg_temp.ra_rule($c$pg_read_file('PG_VERSION') <> ''$c$)$$, '42501',
                 'the condition may not use pg_read_file', 'a rule may not read server files');
SELECT throws_ok($$SELECT pg_temp.ra_rule('lo_get(1) IS NULL')$$, '42501',
                 'the condition may not use lo_get', 'nor large objects (volatile)');
SELECT throws_ok($$SELECT pg_temp.ra_rule('(SELECT count(*) FROM pg_authid) > 0')$$, '42501',
                 'the condition may not use pg_authid', 'nor read a catalog in a subquery');
SELECT throws_ok($$SELECT pg_temp.ra_rule('(SELECT count(*) FROM information_schema.tables) > 0')$$, '42501',
                 NULL, 'nor information_schema');
SELECT throws_ok($$SELECT pg_temp.ra_rule('(SELECT count(*) FROM ra_tmp) > 0')$$, '42501',
                 'the condition may not use ra_tmp', 'nor a temporary table');
SELECT throws_ok($$SELECT pg_temp.ra_rule('(SELECT count(*) FROM ra_hr.salary) > 0')$$, '42501',
                 'the condition may not use salary', 'nor a table the admin cannot read');
SELECT throws_ok($$SELECT pg_temp.ra_rule('(SELECT count(*) FROM privacy.mask_key) > 0')$$, '42501',
                 'the condition may not use mask_key', 'nor the mask key');
SELECT throws_ok($$SELECT pg_temp.ra_rule('EXISTS (SELECT 1 FROM ra_hr.people FOR UPDATE)')$$, '42501',
                 NULL, 'nor lock rows');
SELECT throws_ok($$SELECT pg_temp.ra_rule('EXISTS (WITH d AS (DELETE FROM ra_hr.people RETURNING 1) SELECT 1 FROM d)')$$,
                 '0A000', NULL, 'nor delete in a WITH clause');
SELECT throws_ok($$SELECT pg_temp.ra_rule('ra_own.f(id) > 0')$$, '42501',
                 'the condition may not use f', 'nor call the admin''s function');
SELECT throws_ok($$SELECT pg_temp.ra_rule('EXISTS (SELECT FROM ROWS FROM (ra_own.f(1)))')$$, '42501',
                 'the condition may not use f', 'nor in a FROM clause of a subquery');
SELECT throws_ok($$SELECT pg_temp.ra_rule($c$query_to_xml('SELECT 1', true, true, '') IS NOT NULL$c$)$$, '42501',
                 'the condition may not use query_to_xml', 'nor run SQL text');
SELECT throws_ok($$SELECT pg_temp.ra_rule($c$ts_rewrite('a'::tsquery, 'SELECT 1') IS NOT NULL$c$)$$, '42501',
                 NULL, 'nor run SQL text through ts_rewrite');
SELECT throws_ok($$SELECT pg_temp.ra_rule('random() > 0')$$, '42501',
                 'the condition may not use random', 'nor a volatile function');
SELECT throws_ok($$SELECT pg_temp.ra_rule('1::pg_temp.ra_d IS NOT NULL')$$, '42501',
                 'the condition may not use a domain', 'nor a cast to a domain');
SELECT throws_ok($$SELECT pg_temp.ra_rule('true) FROM pg_authid --')$$, '42601', NULL,
                 'an expression cannot close its parenthesis and add a FROM clause');
SELECT throws_ok($$SELECT pg_temp.ra_rule('true; SELECT 1')$$, '42601', NULL,
                 'nor add a statement');
SELECT throws_ok($$SELECT pg_temp.ra_rule('true /*')$$, '42601', NULL,
                 'nor open a comment');
SELECT throws_ok($$SELECT pg_temp.ra_rule('true AS x')$$, '42601',
                 'the condition must be a single value expression', 'nor name its value');
SELECT throws_ok($$SELECT pg_temp.ra_rule('count(*) > 0')$$, '42803', NULL,
                 'nor aggregate over the rows');
SELECT throws_ok($$SELECT pg_temp.ra_rule('generate_series(1, 2) > 0')$$, '0A000', NULL,
                 'nor return a set');
SELECT throws_ok($$SELECT privacy._check_expression('pg_authid AS r', 'rolpassword', 'x')$$, '42501', NULL,
                 'the checker is not for calling directly');
SELECT throws_ok($$SELECT privacy.create_retention_rule('ra_x''; DROP TABLE ra_hr.people; --', 'ra_hr.people',
                                                        'ra_file', 'left_on')$$,
                 '42602', NULL, 'a rule name carries no SQL');
SELECT throws_ok($$SELECT privacy.create_retention_rule('ra_x', 'ra_hr.people', 'ra_anon', 'left_on',
                                                        anonymize => '{"name\"; DROP TABLE ra_hr.people; --": null}')$$,
                 '42703', NULL, 'an anonymized column name carries no SQL');
-- what a rule needs stays allowed
SELECT lives_ok($$SELECT privacy.create_retention_rule('ra_apps1', 'ra_hr.apps', 'ra_file',
                                                       $c$(meta ->> 'closed')::date$c$)$$,
                'a start date read from JSON text with a cast is allowed');
SELECT lives_ok($$SELECT privacy.create_retention_rule('ra_apps2', 'ra_hr.apps', 'ra_file', 'closed_on',
                                                       condition => $c$status = 'rejected'$c$)$$,
                'a condition comparing an enum column with a label is allowed');
SELECT lives_ok($$SELECT privacy.create_retention_rule('ra_odd', '"ra odd""s"."Tab''le"', 'ra_anon', 'd',
                      anonymize => '{"co\"l; DROP TABLE ra_hr.people; --": null}')$$,
                'names that need quotes make a rule');
SELECT is(privacy.purge_plan('ra_odd') #>> '{rules,0,anonymized}', '1',
          'and its purge plan anonymizes the row');
SELECT is((SELECT count(*)::int FROM ra_hr.people), 4, 'and drops nothing');
SELECT throws_ok($$CALL privacy.purge()$$, '25001', NULL,
                 'the purge does not run inside a transaction block');
SELECT throws_ok($$SELECT privacy._purge_batch(-1, 'ra_people', 0, 10)$$, '42704', NULL,
                 'a batch needs an open run');
RESET ROLE;

-------------------------------------------------------------------------------
-- Officers and clerks
-------------------------------------------------------------------------------
SET ROLE ra_officer;
SELECT throws_ok($$SELECT privacy.create_retention_rule('ra_o', 'ra_hr.people', 'ra_file', 'left_on')$$,
                 '42501', NULL, 'an officer may not make a rule');
SELECT throws_ok($$SELECT privacy.define_document_type('ra_file', '0', 'now')$$,
                 '42501', NULL, 'nor change a document type''s period');
SELECT throws_ok($$SELECT privacy.purge_plan()$$, '42501', NULL, 'nor plan a purge');
SELECT throws_ok($$CALL privacy.purge(dry_run => true)$$, '42501', NULL, 'nor call the purge');
SELECT throws_ok($$SELECT privacy._purge_begin(NULL)$$, '42501', NULL, 'nor start a purge run');
SELECT throws_ok($$SELECT privacy._purge_batch(1, 'ra_people', 0, 1000)$$, '42501', NULL,
                 'nor run a batch');
SELECT throws_ok($$SELECT privacy._purge_close(1, 'ra_people', 'done')$$, '42501', NULL,
                 'nor close a run');
SELECT throws_ok($$SELECT privacy._purge_window('ra_people', 10)$$, '42501', NULL,
                 'nor size a batch');
SELECT throws_ok($$SELECT privacy._purge_end(1)$$, '42501', NULL, 'nor end a run');
SELECT throws_ok($$SELECT privacy._rule_from('ra_hr.people')$$, '42501', NULL,
                 'nor build a rule''s FROM clause');
SELECT throws_ok($$SELECT privacy._report_text('bsn', 'privacy.bsn')$$, '42501', NULL,
                 'nor the text of a report value');
SELECT throws_ok($$SELECT privacy.schedule_purge('* * * * *', $j$x'); DROP TABLE ra_hr.people; --$j$)$$,
                 '42501', NULL, 'nor schedule a purge');
SELECT throws_ok($$SELECT privacy.drop_retention_rule('ra_people')$$, '42501', NULL,
                 'nor drop a rule');
SELECT throws_ok($$UPDATE privacy.retention_rule SET condition = 'true'$$, '42501', NULL,
                 'nor change a rule''s condition in the table');
SELECT throws_ok($$INSERT INTO privacy.legal_hold (subject_type, subject_key, reason, placed_by)
                   VALUES ('ra_person', '1', 'x', 'postgres')$$, '42501', NULL,
                 'nor write a hold in the table');
SELECT throws_ok($$SELECT * FROM privacy.expired_rows($r$ra_people' OR true --$r$)$$, '42704', NULL,
                 'a rule name passed to a report carries no SQL');
SELECT throws_ok($$SELECT privacy.place_hold('ra_person', $k$1'::int; DROP TABLE ra_hr.people; --$k$, 'x')$$,
                 '22023', NULL, 'a subject key carries no SQL');
-- objects planted in pg_temp are not used by the definer functions
CREATE TEMP TABLE legal_hold (subject_type text, subject_key text, released_at timestamptz, held_until date);
INSERT INTO pg_temp.legal_hold VALUES ('ra_person', '3', NULL, NULL);
SELECT is(privacy.subject_held('ra_person', '3'), false,
          'a planted pg_temp.legal_hold does not hold a subject');
RESET ROLE;

SET ROLE ra_clerk;
SELECT throws_ok($$SELECT * FROM privacy.retention_status()$$, '42501', NULL,
                 'a clerk may not read the retention status');
SELECT throws_ok($$SELECT * FROM privacy.expired_rows()$$, '42501', NULL, 'nor the expired rows');
SELECT throws_ok($$SELECT privacy.place_hold('ra_person', '1', 'x')$$, '42501', NULL, 'nor place a hold');
SELECT throws_ok($$SELECT privacy.subject_held('ra_person', '1')$$, '42501', NULL, 'nor ask for a hold');
SELECT throws_ok($$SELECT * FROM privacy._rule_sql('ra_people')$$, '42501', NULL,
                 'nor build a rule''s SQL');
SELECT throws_ok($$SELECT * FROM privacy._purge_statements('ra_people', false)$$, '42501', NULL,
                 'nor the purge''s statements');
SELECT throws_ok($$SELECT * FROM privacy._purge_run('ra_people', NULL, NULL)$$, '42501', NULL,
                 'nor run them');
SELECT throws_ok($$SELECT count(*) FROM privacy.purge_log$$, '42501', NULL, 'nor read the purge log');
SELECT throws_ok($$SELECT count(*) FROM privacy.legal_holds$$, '42501', NULL, 'nor the holds');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
