-- Fills the support access catalogs of pg_privacy 0.2.0 and later, after
-- fill_catalogs.sql: a support role abroad with its safeguard, a request
-- approved by the officer, a read under it (audited), and a request
-- refused.  Run with psql -v ON_ERROR_STOP=1.
SET client_min_messages = warning;
CREATE ROLE dr_support LOGIN IN ROLE privacy_support;
GRANT USAGE ON SCHEMA agency TO dr_support;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO dr_support;
SET ROLE dr_admin;
SELECT privacy.define_support_role('dr_support', 'US', 'standard_contractual_clauses', 'Vendor Inc.');
RESET ROLE;
SET ROLE dr_support;
SELECT privacy.request_access('dr_support', 'TICKET-1: totals of branch 12', '{12}', '{agency.candidates}',
                              now() + interval '1 hour') AS support_grant \gset
SELECT privacy.request_access('dr_support', 'TICKET-2: everything', '{*}', '{candidate}',
                              now() + interval '1 hour') AS refused_grant \gset
RESET ROLE;
SET ROLE dr_officer;
SELECT privacy.approve_access(:support_grant, 'agreed with the branch');
SELECT privacy.refuse_access(:refused_grant, 'too wide');
RESET ROLE;
SET ROLE dr_support;
SELECT count(*) FROM agency.candidates;
RESET ROLE;
