-- Fills the breach register of pg_privacy 0.2.0 and later, after
-- fill_catalogs.sql: a scope grant that ended, a lint finding suppressed, a breach reported by the
-- officer with the exposure of a compromised clerk, of leaked rows and of a
-- recipient, assessed as high risk, its notification drafted (one outbox
-- entry per person concerned) and the authority notified.  Run with
-- psql -v ON_ERROR_STOP=1.
SET client_min_messages = warning;
SET ROLE dr_admin;
SELECT privacy.grant_scope('dr_clerk', '1');
SELECT privacy.revoke_scope('dr_clerk', '1');
SELECT privacy.suppress_finding('PP006', 'agency.photos', 'photos are switched off; nothing to keep');
RESET ROLE;
SET ROLE dr_officer;
SELECT privacy.report_breach('Phished login of the branch 12 clerk', now() - interval '1 hour', 'confidentiality',
                             now() - interval '1 day', now()) AS breach \gset
SELECT privacy.breach_exposure(:breach, role => 'dr_clerk', from_time => now() - interval '1 day', until_time => now());
SELECT privacy.breach_exposure(:breach, tbl => 'agency.candidates', condition => 'r.id <= 5');
SELECT privacy.assess_breach(:breach, 'high', 'Contact data of many people in the hands of a phisher',
                             'Phishing mails to the people concerned', 'Password reset; sessions ended');
SELECT queued > 0 AS queued FROM privacy.breach_notification(:breach);
SELECT privacy.notify_authority(:breach, now(), 'AP-2026-0001');
RESET ROLE;
