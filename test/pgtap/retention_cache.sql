-- The SQL the retention functions build is kept per backend and dropped
-- whenever something it depends on changes, in the same transaction too:
-- a replaced rule and a changed document type are used at once; a rule
-- whose author loses the right to read its table, or reads a column that
-- becomes masked for them, is checked again and refused, and runs again
-- once the right or the column is back.
BEGIN;
SELECT plan(8);

SET client_min_messages = warning;
CREATE ROLE rc_admin IN ROLE privacy_admin;
CREATE SCHEMA rc;
GRANT USAGE ON SCHEMA rc TO rc_admin;
CREATE TABLE rc.people (id int PRIMARY KEY, kind text NOT NULL, made date NOT NULL, note text);
INSERT INTO rc.people VALUES (1, 'a', CURRENT_DATE - 1000, 'x'), (2, 'b', CURRENT_DATE - 1000, 'y'),
                             (3, 'a', CURRENT_DATE, 'z');
GRANT SELECT ON rc.people TO rc_admin;
SELECT privacy.register_subject_type('rc_person', 'rc.people', 'id');
SELECT privacy.register_table('rc.people', 'rc_person');

SET ROLE rc_admin;
SELECT privacy.define_document_type('rc_doc', '1 year', 'the making');
SELECT privacy.create_retention_rule('rc_rule', 'rc.people', 'rc_doc', 'made', $$kind = 'a'$$);
RESET ROLE;

SELECT results_eq($$SELECT rows_total, rows_expired FROM privacy.retention_status('rc_rule')$$,
                  $$VALUES (2::bigint, 1::bigint)$$, 'the rule as written');
SELECT results_eq($$SELECT rows_total, rows_expired FROM privacy.retention_status('rc_rule')$$,
                  $$VALUES (2::bigint, 1::bigint)$$, 'again, from what was kept');

SET ROLE rc_admin;
SELECT privacy.create_retention_rule('rc_rule', 'rc.people', 'rc_doc', 'made', $$kind = 'b'$$,
                                     or_replace => true);
RESET ROLE;
SELECT results_eq($$SELECT rows_total, rows_expired FROM privacy.retention_status('rc_rule')$$,
                  $$VALUES (1::bigint, 1::bigint)$$, 'a replaced rule is used at once');

SELECT privacy.define_document_type('rc_doc', '10 years', 'the making');
SELECT results_eq($$SELECT rows_total, rows_expired FROM privacy.retention_status('rc_rule')$$,
                  $$VALUES (1::bigint, 0::bigint)$$, 'so is a changed document type');

REVOKE SELECT ON rc.people FROM rc_admin;
SELECT throws_ok($$SELECT * FROM privacy.retention_status('rc_rule')$$, '42501', NULL,
                 'an author who may no longer read the table: the rule is refused');
GRANT SELECT ON rc.people TO rc_admin;
SELECT lives_ok($$SELECT * FROM privacy.retention_status('rc_rule')$$, 'and accepted again with the grant');

SELECT privacy.classify_column('rc.people', 'kind', 'special');
SELECT throws_ok($$SELECT * FROM privacy.retention_status('rc_rule')$$, '42501',
                 'the condition may not use column kind of people',
                 'a column masked for the author since: the rule is refused');
SELECT privacy.unclassify_column('rc.people', 'kind');
SELECT results_eq($$SELECT rows_total FROM privacy.retention_status('rc_rule')$$,
                  $$VALUES (1::bigint)$$, 'and runs again when the column is no longer masked');

SELECT * FROM finish();
ROLLBACK;
