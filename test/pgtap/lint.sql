-- privacy.lint() and strict mode, as the privacy admin, the privacy
-- officer, a table owner and a clerk, on a schema written for the test with
-- findings planted: each planted finding found with its code, each fix
-- applied removes its finding, suppression hides a finding (shown when
-- asked), is audited, listed in the record of processing and needs a reason, roles refused, and strict mode
-- refuses at commit (here: at SET CONSTRAINTS ... IMMEDIATE) a table with a
-- BSN column or a foreign key to a registered table that is not registered
-- in the same transaction, and accepts it once registered.  Views: a view
-- owned by a superuser shows a clerk rows outside its scope and a
-- materialized view shows it a column it may only see masked; lint reports
-- both (also through another view), not a view that runs with its reader's
-- rights, and strict mode refuses them.  A table nobody registered whose
-- columns name people's data is reported, one with only a name and a city
-- is not.
BEGIN;
SELECT plan(46);

SET client_min_messages = warning;
CREATE ROLE li_admin IN ROLE privacy_admin;
CREATE ROLE li_officer IN ROLE privacy_officer;
CREATE ROLE li_owner;
CREATE ROLE li_clerk;
CREATE ROLE li_login LOGIN BYPASSRLS;

CREATE SCHEMA li AUTHORIZATION li_owner;
GRANT USAGE ON SCHEMA li TO li_admin, li_officer, li_login;
GRANT CREATE ON SCHEMA li TO li_admin;
SET ROLE li_owner;
CREATE TABLE li.people (id int PRIMARY KEY, branch_id int NOT NULL, email text, notes text, bsn privacy.bsn);
CREATE TABLE li.visits (id int PRIMARY KEY, person_id int NOT NULL REFERENCES li.people);
CREATE TABLE li.loose (id int PRIMARY KEY, bsn privacy.bsn);
INSERT INTO li.people VALUES (1, 12, 'a@b.nl', 'called, BSN 111222333 checked', '111222333');
GRANT SELECT ON li.people TO PUBLIC;
GRANT SELECT ON li.people TO li_login;
GRANT REFERENCES ON li.people TO li_admin;
RESET ROLE;
SET ROLE li_admin;
SELECT privacy.register_subject_type('li_person', 'li.people', 'id');
SELECT privacy.register_table('li.people', 'li_person', 'id', NULL, 'branch_id');
SELECT privacy.define_purpose('li_marketing', 'Newsletters', 'consent');
RESET ROLE;

CREATE TEMP VIEW found AS SELECT code, object FROM privacy.lint() WHERE object ~ '^(li\.|li_)';
GRANT SELECT ON found TO PUBLIC;

SET ROLE li_admin;
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP001' AND object = 'li.loose'), 'PP001: a BSN column in an unregistered table');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP002' AND object = 'li.visits'), 'PP002: a foreign key to a registered subject, unregistered');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP004' AND object = 'li.people.email'), 'PP004: an e-mail column without a class');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP005' AND object = 'li.people.notes'), 'PP005: a BSN pasted into a text column');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP006' AND object = 'li.people'), 'PP006: no retention rule');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP007' AND object = 'li.people'), 'PP007: no purpose');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP008' AND object = 'li_marketing'), 'PP008: consent without consent records');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP013' AND object = 'li_login'), 'PP013: a BYPASSRLS login that reads a registered table');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP014' AND object = 'li.people'), 'PP014: PUBLIC holds SELECT on a registered table');
SELECT is((SELECT count(*) FROM privacy.lint() WHERE severity NOT IN ('error', 'warning', 'info')), 0::bigint,
          'every finding has a severity');
SELECT ok((SELECT bool_and(fix IS NOT NULL AND message IS NOT NULL) FROM privacy.lint()), 'every finding says what is wrong and how to fix it');

-- the fixes remove their findings
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT * FROM privacy.lint() WHERE object ~ '^li\.' AND code IN ('PP002', 'PP004', 'PP005', 'PP007') LOOP
        EXECUTE replace(f.fix, '''<purpose>''', '''li_marketing''');
    END LOOP;
END
$$;
SELECT fix AS pp014_fix FROM privacy.lint() WHERE code = 'PP014' AND object = 'li.people' \gset
RESET ROLE;
SET ROLE li_owner;  -- revoking is the owner's business
:pp014_fix
RESET ROLE;
SET ROLE li_admin;
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code = 'PP002'), 'the PP002 fix registers the table');
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code IN ('PP004', 'PP005')), 'the PP004 and PP005 fixes classify the columns');
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code = 'PP007' AND object = 'li.people'), 'the PP007 fix binds a purpose');
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code = 'PP014'), 'the PP014 fix revokes PUBLIC');

-- suppression
SELECT throws_ok($$SELECT privacy.suppress_finding('PP001', 'li.loose', ' ')$$, '22023', NULL, 'a suppression needs a reason');
SELECT throws_ok($$SELECT privacy.suppress_finding('X1', 'li.loose', 'r')$$, '22023', NULL, 'a suppression needs a valid code');
SELECT privacy.suppress_finding('PP001', 'li.loose', 'lookup table of test numbers, no people');
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code = 'PP001' AND object = 'li.loose'), 'a suppressed finding is hidden');
SELECT is((SELECT suppressed FROM privacy.lint(true) WHERE code = 'PP001' AND object = 'li.loose'),
          'lookup table of test numbers, no people', 'and shown with its reason when asked');
RESET ROLE;
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'lint.suppress' AND object = 'li.loose'), 1::bigint,
          'the suppression is audited');
SELECT ok(privacy.processing_register() -> 'accepted_findings' @> '[{"code": "PP001", "object": "li.loose"}]'
          AND privacy.processing_register_markdown() LIKE '%| PP001 | li.loose | lookup table of test numbers, no people |%',
          'the suppression is listed in the record of processing');

-- views over registered tables, and copies
SET ROLE li_owner;
CREATE TABLE li.contacts (id int PRIMARY KEY, full_name text, email text);
CREATE TABLE li.offices (id int PRIMARY KEY, name text, city text);
CREATE VIEW li.people_own AS SELECT id, branch_id FROM li.people;
RESET ROLE;
CREATE VIEW li.people_all AS SELECT id, branch_id, email FROM li.people;
CREATE VIEW li.people_all2 AS SELECT id FROM li.people_all;
CREATE VIEW li.people_inv WITH (security_invoker = on) AS SELECT id FROM li.people;
CREATE MATERIALIZED VIEW li.people_copy AS SELECT id, email FROM li.people;
GRANT USAGE ON SCHEMA li TO li_clerk;
GRANT SELECT ON li.people_all, li.people_copy TO li_clerk;
SET ROLE li_admin;
SELECT privacy.grant_scope('li_clerk', '13');
RESET ROLE;
SET ROLE li_clerk;
SELECT is((SELECT count(*) FROM li.people_all), 1::bigint,
          'the hole: through a view owned by a superuser, a clerk of branch 13 sees the row of branch 12');
SELECT is((SELECT email FROM li.people_copy), 'a@b.nl',
          'the hole: a materialized view shows the clerk in full a column it sees masked in the table');
RESET ROLE;
SET ROLE li_admin;
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP015' AND object = 'li.people_all'),
          'PP015: a view over a registered table with the rights of a superuser');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP015' AND object = 'li.people_all2'),
          'PP015: also through another view');
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code = 'PP015' AND object IN ('li.people_inv', 'li.people_own')),
          'no PP015 for a view with security_invoker, nor for one whose owner is subject to row-level security');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP016' AND object = 'li.people_copy'),
          'PP016: a materialized view of a registered table');
SELECT ok(EXISTS (SELECT FROM found WHERE code = 'PP017' AND object = 'li.contacts'),
          'PP017: an unregistered table with an e-mail column');
SELECT ok(NOT EXISTS (SELECT FROM found WHERE object = 'li.offices'),
          'no finding for a table with only a name and a city');
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code = 'PP017' AND object IN ('li.loose', 'li.people')),
          'no PP017 for a table that PP001 reports or that is registered');
SELECT fix AS pp015_fix FROM privacy.lint() WHERE code = 'PP015' AND object = 'li.people_all' \gset
SELECT fix AS pp015_fix2 FROM privacy.lint() WHERE code = 'PP015' AND object = 'li.people_all2' \gset
SELECT fix AS pp016_fix FROM privacy.lint() WHERE code = 'PP016' AND object = 'li.people_copy' \gset
SELECT replace(fix, '<subject type>', 'li_contact') AS pp017_fix FROM privacy.lint() WHERE code = 'PP017' AND object = 'li.contacts' \gset
SELECT is(:'pp015_fix'::text, 'ALTER VIEW li.people_all SET (security_invoker = true);', 'the PP015 fix makes the view run with its reader''s rights');
RESET ROLE;
:pp015_fix
:pp015_fix2
:pp016_fix
SET ROLE li_admin;
:pp017_fix
SELECT ok(NOT EXISTS (SELECT FROM found WHERE code IN ('PP015', 'PP016', 'PP017')),
          'the PP015, PP016 and PP017 fixes remove their findings');
SELECT ok(EXISTS (SELECT FROM privacy.subject_type WHERE name = 'li_contact' AND root_table = 'li.contacts'::regclass),
          'the PP017 fix registers the table''s people as a subject type');
RESET ROLE;
GRANT SELECT ON li.people TO li_clerk;
SET ROLE li_clerk;
SELECT is((SELECT count(*) FROM li.people_all), 0::bigint, 'with the fix, the clerk sees through the view only what its scope allows');
RESET ROLE;

-- roles
SET ROLE li_officer;
SELECT lives_ok($$SELECT count(*) FROM privacy.lint()$$, 'the officer may lint');
SELECT throws_ok($$SELECT privacy.suppress_finding('PP006', 'li.people', 'r')$$, '42501', NULL, 'but not suppress');
SET ROLE li_clerk;
SELECT throws_ok($$SELECT count(*) FROM privacy.lint()$$, '42501', NULL, 'a clerk may not lint');
RESET ROLE;

-- strict mode: checked at commit, here brought forward with SET CONSTRAINTS
SET LOCAL privacy.strict = on;
SET ROLE li_owner;
CREATE TABLE li.orders (id int PRIMARY KEY, person_id int REFERENCES li.people);
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '42501', 'table "li.orders" holds personal data and is not registered',
                 'strict: the owner''s table with a foreign key to a registered table is refused');
SET CONSTRAINTS ALL DEFERRED;  -- back to the check at commit
DROP TABLE li.orders;
CREATE TABLE li.plain (id int PRIMARY KEY);
SELECT lives_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, 'strict: a table without personal data is accepted');
SET CONSTRAINTS ALL DEFERRED;
ALTER TABLE li.plain ADD COLUMN bsn privacy.bsn;
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '42501', NULL, 'strict: adding a BSN column is refused');
SET CONSTRAINTS ALL DEFERRED;
DROP TABLE li.plain;
RESET ROLE;
SET ROLE li_admin;
CREATE TABLE li.notes2 (id int PRIMARY KEY, person_id int REFERENCES li.people);
SELECT privacy.register_table('li.notes2', 'li_person', NULL, '{li.people}', NULL, scope_through => 'li.people');
SELECT lives_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, 'strict: registered in the same transaction, accepted');
RESET ROLE;
SET CONSTRAINTS ALL DEFERRED;
CREATE VIEW li.report AS SELECT id, branch_id FROM li.people;
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '42501', 'view "li.report" would show registered tables without their protection',
                 'strict: a superuser''s view over a registered table is refused');
SET CONSTRAINTS ALL DEFERRED;
ALTER VIEW li.report SET (security_invoker = true);
SELECT lives_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, 'strict: accepted once it runs with its reader''s rights');
SET CONSTRAINTS ALL DEFERRED;
ALTER VIEW li.report RESET (security_invoker);
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '42501', NULL, 'strict: switching security_invoker off again is refused');
SET CONSTRAINTS ALL DEFERRED;
DROP VIEW li.report;
ALTER VIEW li.people_own OWNER TO postgres;
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '42501', 'view "li.people_own" would show registered tables without their protection',
                 'strict: giving a view to a superuser is refused');
SET CONSTRAINTS ALL DEFERRED;
ALTER VIEW li.people_own OWNER TO li_owner;
SET ROLE li_owner;
CREATE MATERIALIZED VIEW li.people_copy2 AS SELECT id FROM li.people;
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '42501', 'materialized view "li.people_copy2" would show registered tables without their protection',
                 'strict: the owner''s materialized view of a registered table is refused');
SET CONSTRAINTS ALL DEFERRED;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
