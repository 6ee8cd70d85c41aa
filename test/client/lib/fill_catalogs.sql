-- Fills every catalog of pg_privacy in a database holding the demo agency
-- (demo/generate.sql and agency.generate()), as the roles that use them:
-- login roles dr_clerk (branch 12), dr_payroll, dr_officer, dr_admin and
-- dr_owner, the registry with its scopes, column classes with an optional
-- and a forbidden field, the retention preset with four rules, legal holds
-- (one released), purposes bound to tables, consent given and withdrawn,
-- recipients with a sub-processor, disclosures, requests (one extended, an
-- export and an erasure fulfilling theirs), an erasure that keeps and
-- restricts rows, a restriction of a branch-12 candidate, rectifications by
-- a clerk, notifications (one delivered), a purge run, a redaction and
-- entries of the application.  Used by test/hardening/dump_restore.sh and
-- test/upgrade/upgrade.sh; run with psql -v ON_ERROR_STOP=1.
SET client_min_messages = warning;
CREATE ROLE dr_clerk LOGIN IN ROLE privacy_identifying, privacy_contact;   -- branch 12
CREATE ROLE dr_payroll LOGIN IN ROLE privacy_bsn, privacy_identifying, privacy_contact, privacy_financial;
CREATE ROLE dr_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE dr_admin LOGIN IN ROLE privacy_admin;
-- owns the candidates; in the BSN role, as the README asks of owners of
-- tables with an index on a bsn column (a restore builds it as the owner)
CREATE ROLE dr_owner LOGIN IN ROLE privacy_bsn;
GRANT USAGE ON SCHEMA agency TO dr_clerk, dr_payroll, dr_officer, dr_admin, dr_owner;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA agency TO dr_clerk, dr_payroll;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agency TO dr_clerk, dr_payroll;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO dr_officer;
GRANT SELECT ON agency.documents, agency.timesheets, agency.employees TO dr_admin;
ALTER TABLE agency.sick_leave ADD COLUMN health_note text, ADD COLUMN diagnosis text;
ALTER TABLE agency.photos ALTER COLUMN image DROP NOT NULL;
UPDATE agency.sick_leave SET health_note = 'Rugklachten, re-integratie via de bedrijfsarts' WHERE id % 3 = 0;

-- registry and scopes
SET ROLE dr_admin;
SELECT privacy.register_subject_type('candidate', 'agency.candidates', 'id', 'Kandidaten: people registered with the agency');
SELECT count(*) FROM (SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through)
                        FROM privacy.propose_registrations('candidate')) r;
SELECT privacy.grant_scope('dr_clerk', '12');
SELECT privacy.grant_scope('privacy_bsn', '*');
SELECT privacy.grant_scope('privacy_officer', '*');
-- column policies
SELECT privacy.classify_column('agency.sick_leave', 'health_note', 'special');
SELECT privacy.classify_column('agency.candidates', 'iban', 'financial');
SELECT privacy.classify_column('agency.notes', 'body', 'free_text');
SELECT privacy.forbid_field('agency.sick_leave', 'diagnosis', 'An employer may not record a diagnosis (AVG art. 9).');
SELECT privacy.set_optional_field('agency.photos', 'image', false);
SELECT privacy.clear_field('agency.photos', 'image');
SELECT privacy.redact_table('agency.notes', 'body');
-- retention
SELECT privacy.load_retention_preset('nl_staffing');
SELECT privacy.create_retention_rule('candidate_id_copies', 'agency.documents', 'candidate_id_copy',
    start_expr => 'created_at',
    condition => $$doc_type = 'id_copy' AND NOT EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('employee_id_copies', 'agency.documents', 'employee_id_copy',
    start_expr => $$(SELECT max(e.employment_end) FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$,
    condition => $$doc_type = 'id_copy' AND EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('payslips', 'agency.documents', 'payroll_record',
    start_expr => 'created_at', condition => $$doc_type = 'payslip'$$);
SELECT privacy.create_retention_rule('timesheets', 'agency.timesheets', 'working_time_record',
    start_expr => 'week_start');
-- purposes and recipients
SELECT privacy.define_purpose('placement', 'Placing temporary workers with client companies', 'contract');
SELECT privacy.define_purpose('payroll', 'Paying wages and wage tax', 'legal_obligation', 'Wet op de loonbelasting 1964');
SELECT privacy.define_purpose('talent_pool', 'Offering later vacancies', 'consent');
SELECT count(privacy.bind_purpose(t, 'placement'))
  FROM unnest('{agency.candidates, agency.placements, agency.documents, agency.notes}'::regclass[]) t;
SELECT privacy.bind_purpose('agency.timesheets', 'payroll'), privacy.bind_purpose('agency.documents', 'payroll');
SELECT privacy.define_recipient('belastingdienst', 'authority', 'NL', 'eu_eea', description => 'Tax office');
SELECT privacy.define_recipient('payroll_cloud', 'processor', 'IE', 'eu_eea', contact => 'dpo@payroll.example');
SELECT privacy.define_recipient('mail_relay', 'sub_processor', 'US', 'standard_contractual_clauses',
                                processor_of => 'payroll_cloud');
-- the processor's row changes after its sub-processor's: the dump holds
-- the referencing row first
SELECT privacy.define_recipient('payroll_cloud', 'processor', 'IE', 'eu_eea', contact => 'privacy@payroll.example');
RESET ROLE;
ALTER TABLE agency.candidates OWNER TO dr_owner;

-- the candidates the rights work on, all of branch 12
CREATE TEMP TABLE pick AS
SELECT (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12
           AND EXISTS (SELECT FROM agency.placements p WHERE p.candidate_id = c.id)
           AND EXISTS (SELECT FROM agency.documents d WHERE d.candidate_id = c.id AND d.doc_type = 'payslip'
                          AND d.created_at > now() - interval '3 years')
         ORDER BY c.id LIMIT 1) AS erased,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12 ORDER BY c.id LIMIT 1 OFFSET 3) AS restricted,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12 ORDER BY c.id LIMIT 1 OFFSET 4) AS exported,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12 ORDER BY c.id LIMIT 1 OFFSET 5) AS held,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 1 ORDER BY c.id LIMIT 1) AS released;
GRANT SELECT ON pick TO PUBLIC;
SELECT * FROM pick \gset

SET ROLE dr_officer;
SELECT privacy.place_hold('candidate', :'held', 'Dispute at the kantonrechter');
SELECT privacy.release_hold(privacy.place_hold('candidate', :'released', 'Tax audit', current_date + 30));
SELECT privacy.record_consent('candidate', :'exported', 'talent_pool');
SELECT privacy.record_consent('candidate', :'restricted', 'talent_pool');
SELECT privacy.record_consent('candidate', :'restricted', 'talent_pool', false);
SELECT privacy.record_disclosure('belastingdienst', 'candidate', c::text, ARRAY['identifying', 'financial'])
  FROM unnest(ARRAY[:erased, :restricted, :exported]::bigint[]) c;
SELECT privacy.record_disclosure('payroll_cloud', 'candidate', :'erased', ARRAY['financial'], note => 'monthly run');
SELECT privacy.register_request('candidate', :'exported', 'access') AS access_request \gset
SELECT privacy.export_subject('candidate', :'exported', request_id => :access_request) IS NOT NULL;
SELECT privacy.register_request('candidate', :'erased', 'erasure') AS erasure_request \gset
SELECT privacy.erase_subject('candidate', :'erased', 'art. 17(1)(a): no longer needed', request_id => :erasure_request) -> 'restriction';
SELECT privacy.register_request('candidate', :'restricted', 'restriction') AS restriction_request \gset
SELECT privacy.restrict_subject('candidate', :'restricted', 'accuracy contested', request_id => :restriction_request);
SELECT privacy.register_request('candidate', :'held', 'rectification', current_date - 10, 'address changed') AS rect_request \gset
SELECT privacy.extend_request(:rect_request, 'Records in the archive');
SELECT privacy.register_request('candidate', :'held', 'objection');
SELECT privacy.mark_delivered(min(id)) FROM privacy.notification;
RESET ROLE;

-- a clerk corrects phone numbers: rectifications and notifications
SET ROLE dr_clerk;
UPDATE agency.candidates SET phone = '06-' || lpad(id::text, 8, '0')
 WHERE id IN (SELECT exported FROM pick UNION ALL SELECT held FROM pick);
RESET ROLE;

-- the purge, and what the application logs itself
SET ROLE dr_admin;
CALL privacy.purge();
SET privacy.actor = 'recruiter-17';
SELECT privacy.audit_append('candidate.view', 'agency.candidates', 'candidate', exported::text, '{"screen": "profile"}')
  FROM pick;
RESET privacy.actor;
RESET ROLE;
