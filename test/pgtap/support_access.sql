-- Support access under grants, as the roles that use it: two vendor
-- developers in privacy_support (one abroad), the privacy officer, the
-- privacy admin, an admin who is also in the support role, and a branch
-- clerk.  Covers: no access to registered tables without a grant (tables not
-- registered stay readable), requests refused to non-support roles and for
-- another role, bad requests with their SQLSTATE, self-approval and approval
-- by a clerk refused, access exactly within an approved grant (its scope,
-- its tables, its column classes, BSNs masked unless granted), writes
-- refused without write, every statement under the grant in the audit
-- trail with its literals scrubbed and nothing for the clerk, the catalog
-- guard, revocation at the next statement, expiry at the next fetch of a
-- cursor opened before the end and of a statement prepared before it, a role abroad refused without a safeguard
-- and listed as a transfer with one, and access_report.
BEGIN;
SELECT plan(40);

SET client_min_messages = warning;
CREATE ROLE sa_dev IN ROLE privacy_support;
CREATE ROLE sa_dev2 IN ROLE privacy_support;
CREATE ROLE sa_abroad IN ROLE privacy_support;
CREATE ROLE sa_officer IN ROLE privacy_officer;
CREATE ROLE sa_admin IN ROLE privacy_admin;
CREATE ROLE sa_admin_dev IN ROLE privacy_admin, privacy_support;
CREATE ROLE sa_clerk;

CREATE SCHEMA sa;
CREATE TABLE sa.people (
    id        int PRIMARY KEY,
    name      text NOT NULL,
    iban      text,
    bsn       privacy.bsn,
    branch_id int NOT NULL
);
CREATE TABLE sa.notes (
    id        int PRIMARY KEY,
    person_id int NOT NULL REFERENCES sa.people,
    body      text,
    branch_id int NOT NULL
);
CREATE TABLE sa.lookup (code text PRIMARY KEY);
INSERT INTO sa.people VALUES
    (1, 'Jan Jansen', 'NL91ABNA0417164300', '111222333', 1),
    (2, 'Piet Pietersen', 'NL20INGB0001234567', '123456782', 1),
    (3, 'Klaas Vaak', 'NL02RABO0123456789', '111222333', 2);
INSERT INTO sa.notes VALUES (1, 1, 'note one', 1), (2, 3, 'note two', 2);
INSERT INTO sa.lookup VALUES ('x');
GRANT USAGE ON SCHEMA sa TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON sa.people, sa.notes, sa.lookup
    TO privacy_support, sa_clerk, sa_admin_dev;

SELECT privacy.register_subject_type('sa_person', 'sa.people', 'id');
SELECT privacy.register_table('sa.people', 'sa_person', scope_column => 'branch_id');
SELECT privacy.register_table('sa.notes', 'sa_person', key_column => 'person_id', scope_column => 'branch_id');
SELECT privacy.classify_column('sa.people', 'name', 'identifying');
SELECT privacy.classify_column('sa.people', 'iban', 'financial');
CREATE TEMP TABLE ids (name text PRIMARY KEY, id bigint);
GRANT ALL ON ids TO PUBLIC;
SELECT privacy.grant_scope('sa_clerk', '1');
-- the developer's own scope grant does not count: only grants do
SELECT privacy.grant_scope('sa_dev', '2');

-------------------------------------------------------------------------------
-- without a grant
-------------------------------------------------------------------------------
SET ROLE sa_dev;
SELECT throws_ok('SELECT count(*) FROM sa.people', '42501', NULL,
                 'without a grant a support role is refused a registered table');
SELECT is((SELECT count(*) FROM sa.lookup), 1::bigint, 'a table that is not registered stays readable');
SELECT throws_ok($$SELECT privacy.request_access('sa_dev2', 'T-1', '{1}', '{sa.people}', now() + '1 hour')$$,
                 '42501', NULL, 'a support role cannot request access for another role');
SELECT throws_ok($$SELECT privacy.request_access('sa_dev', ' ', '{1}', '{sa.people}', now() + '1 hour')$$,
                 '22023', NULL, 'a request without a reason is refused');
SELECT throws_ok($$SELECT privacy.request_access('sa_dev', 'T-1', '{1}', '{sa.people}', now() + '9 hours')$$,
                 '22023', NULL, 'a request longer than privacy.support_max_duration is refused');
SELECT throws_ok($$SELECT privacy.request_access('sa_dev', 'T-1', '{1}', '{sa.nope}', now() + '1 hour')$$,
                 '22023', NULL, 'a request for an unregistered table is refused');
SELECT throws_ok($$SELECT privacy.request_access('sa_dev', 'T-1', '{1}', '{sa.people}', now() + '1 hour', '{nope}')$$,
                 '22023', NULL, 'a request for an unknown column class is refused');
INSERT INTO pg_temp.ids SELECT 'g1', privacy.request_access('sa_dev', 'T-1 Jan', '{1}', '{sa.people}', now() + '1 hour');
SELECT throws_ok('SELECT count(*) FROM sa.people', '42501', NULL, 'a request not yet approved gives nothing');
SELECT throws_ok($$SELECT privacy.approve_access((SELECT id FROM ids WHERE name = 'g1'))$$,
                 '42501', NULL, 'the requester cannot approve');
RESET ROLE;

SET ROLE sa_clerk;
SELECT throws_ok($$SELECT privacy.request_access('sa_clerk', 'T-1', '{1}', '{sa.people}', now() + '1 hour')$$,
                 '42501', NULL, 'a clerk cannot request support access');
SELECT throws_ok($$SELECT privacy.approve_access((SELECT id FROM pg_temp.ids WHERE name = 'g1'))$$,
                 '42501', NULL, 'a clerk cannot approve');
RESET ROLE;

SET ROLE sa_admin_dev;
INSERT INTO pg_temp.ids SELECT 'own', privacy.request_access('sa_admin_dev', 'T-2', '{1}', '{sa.people}', now() + '1 hour');
SELECT throws_ok($$SELECT privacy.approve_access((SELECT id FROM pg_temp.ids WHERE name = 'own'))$$,
                 '42501', NULL, 'an admin who requested cannot approve their own request');
RESET ROLE;

-------------------------------------------------------------------------------
-- under an approved grant
-------------------------------------------------------------------------------
SET ROLE sa_officer;
SELECT lives_ok($$SELECT privacy.approve_access((SELECT id FROM pg_temp.ids WHERE name = 'g1'), 'ok for T-1')$$,
                'the officer approves');
RESET ROLE;

SET ROLE sa_dev;
SELECT is((SELECT string_agg(id::text, ',' ORDER BY id) FROM sa.people), '1,2',
          'under the grant the developer sees the rows of its scope only (not its own scope grant''s)');
SELECT is((SELECT name FROM sa.people WHERE id = 1), '********en', 'an identifying column is masked');
SELECT is((SELECT iban FROM sa.people WHERE id = 1), '**************4300', 'a financial column is masked');
SELECT matches((SELECT bsn::text FROM sa.people WHERE id = 1), '^\*+333$', 'the BSN is masked');
SELECT throws_ok('SELECT count(*) FROM sa.notes', '42501', NULL, 'a registered table outside the grant is refused');
SELECT throws_ok($$UPDATE sa.people SET branch_id = 1 WHERE id = 1$$, '42501', NULL,
                 'a write is refused under a read grant');
SELECT throws_ok($$DELETE FROM sa.people$$, '42501', NULL, 'a delete too');
SELECT is((SELECT count(*) FROM sa.people WHERE name = 'Jan Jansen'), 0::bigint,
          'a query with a literal (a comparison against the masked value finds nothing)');
RESET ROLE;

SELECT is((SELECT count(*) FROM privacy.audit_log
            WHERE action = 'support.statement' AND acting_role = 'sa_dev'
              AND details -> 'grants' @> to_jsonb((SELECT id FROM ids WHERE name = 'g1'))), 5::bigint,
          'each of the five statements run under the grant is in the audit trail with the grant''s id');
SELECT ok(NOT EXISTS (SELECT FROM privacy.audit_log
                       WHERE action = 'support.statement' AND details::text LIKE '%Jan Jansen%'),
          'their literals are scrubbed');
SELECT ok(EXISTS (SELECT FROM privacy.audit_log
                   WHERE action = 'support.statement' AND details ->> 'statement' LIKE '%FROM sa.people WHERE name =%'),
          'the scrubbed statement text is kept');

SET ROLE sa_clerk;
SELECT is((SELECT count(*) FROM sa.people), 2::bigint, 'the clerk reads its branch');
RESET ROLE;
SELECT ok(NOT EXISTS (SELECT FROM privacy.audit_log WHERE action = 'support.statement' AND acting_role = 'sa_clerk'),
          'nothing is logged for the clerk');

SET ROLE sa_admin;
SELECT throws_ok($$UPDATE privacy.access_grant SET until = now() + '7 days'$$, NULL, NULL,
                 'the admin cannot extend a grant by editing the catalog');
RESET ROLE;
SELECT throws_ok($$UPDATE privacy.access_grant SET status = 'approved' WHERE id = (SELECT id FROM ids WHERE name = 'own')$$,
                 NULL, NULL, 'nor can the superuser approve by editing it');

SELECT is((SELECT report ->> 'decided_by' FROM privacy.access_report((SELECT id FROM ids WHERE name = 'g1'))),
          'sa_officer', 'access_report names who approved');
SELECT ok((SELECT (report ->> 'statement_count')::int = 5 AND markdown LIKE '%T-1 Jan%'
             FROM privacy.access_report((SELECT id FROM ids WHERE name = 'g1'))),
          'and what was done under it, in jsonb and Markdown');

SET ROLE sa_officer;
SELECT privacy.revoke_access((SELECT id FROM pg_temp.ids WHERE name = 'g1'));
RESET ROLE;
SET ROLE sa_dev;
SELECT throws_ok('SELECT count(*) FROM sa.people', '42501', NULL, 'a revoked grant stops at the next statement');
RESET ROLE;

-------------------------------------------------------------------------------
-- a grant that ends while a cursor is open; BSN and classes granted
-------------------------------------------------------------------------------
SET ROLE sa_dev;
INSERT INTO pg_temp.ids SELECT 'short', privacy.request_access('sa_dev', 'T-3', '{2}', '{sa_person}',
                                                    clock_timestamp() + '3 seconds', '{financial}', bsn => true);
RESET ROLE;
SET ROLE sa_officer;
SELECT privacy.approve_access((SELECT id FROM pg_temp.ids WHERE name = 'short'));
RESET ROLE;
SET ROLE sa_dev;
SELECT is((SELECT iban || ' ' || bsn::text FROM sa.people WHERE id = 3), 'NL02RABO0123456789 111222333',
          'a grant of the financial class and of BSNs shows both in full');
SELECT is((SELECT count(*) FROM sa.notes), 1::bigint, 'a subject type covers its tables, within the scope');
DECLARE c CURSOR FOR SELECT id FROM sa.notes UNION ALL SELECT id FROM sa.notes;
PREPARE p_notes AS SELECT count(*) FROM sa.notes;
SELECT results_eq('EXECUTE p_notes', $$VALUES (1::bigint)$$, 'a statement prepared under the grant runs while it lasts');
RESET ROLE;
-- one row of the cursor, fetched as the developer from a statement of the
-- superuser's (the first statement of the developer after the end is refused
-- whatever it reads: plans made under the grant are discarded)
CREATE FUNCTION sa.fetch_c() RETURNS int LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    cur refcursor := 'c';
    r int;
BEGIN
    FETCH cur INTO r;
    RETURN r;
END
$$;
ALTER FUNCTION sa.fetch_c() OWNER TO sa_dev;
SELECT is(sa.fetch_c(), 2, 'the cursor is fetched while the grant lasts');
SELECT pg_sleep(greatest(0, extract(epoch FROM (SELECT until FROM privacy.access_grant
                                                WHERE id = (SELECT id FROM ids WHERE name = 'short')) - clock_timestamp())) + 0.2);
SELECT throws_ok('SELECT sa.fetch_c()', '42501', NULL, 'the same cursor cannot be fetched after the grant''s end');
SET ROLE sa_dev;
SELECT throws_ok('SELECT count(*) FROM sa.notes', '42501', NULL, 'nor the table read again');
SELECT throws_ok('EXECUTE p_notes', '42501', NULL, 'nor the statement prepared under it');
RESET ROLE;

-------------------------------------------------------------------------------
-- transfers
-------------------------------------------------------------------------------
SELECT privacy.define_support_role('sa_abroad', 'US');
SET ROLE sa_abroad;
SELECT throws_ok($$SELECT privacy.request_access('sa_abroad', 'T-4', '{1}', '{sa.people}', now() + '1 hour')$$,
                 '42501', NULL, 'a role outside the EU/EEA without a safeguard is refused');
RESET ROLE;
SELECT privacy.define_support_role('sa_abroad', 'US', 'standard_contractual_clauses', 'Vendor Inc.');
SET ROLE sa_abroad;
INSERT INTO pg_temp.ids SELECT 'abroad', privacy.request_access('sa_abroad', 'T-4', '{1}', '{sa.people}', now() + '1 hour');
RESET ROLE;
SET ROLE sa_officer;
SELECT privacy.approve_access((SELECT id FROM pg_temp.ids WHERE name = 'abroad'));
RESET ROLE;
SELECT ok((SELECT privacy.processing_register() -> 'transfers_outside_eea')::text LIKE '%sa_abroad%',
          'with standard contractual clauses it is approved and listed as a transfer in the Art. 30 record');

SELECT * FROM finish();
ROLLBACK;
