#!/usr/bin/env bash
# make demo: install what is missing, build, start a throwaway cluster, load a
# synthetic staffing agency and walk through pg_privacy as the roles that use
# it.  "make demo-stop" (or "bash demo/run.sh stop") stops the cluster and
# removes it.
#
# DEMO_SCALE sets the number of candidates (default 3000); DEMO_BUILD=0 uses
# the extension as installed (make test runs the demo that way, after its own
# build).
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=${PG_PRIVACY_DEMO_DIR:-/tmp/pg_privacy_demo}
PORT=54330
SCALE=${DEMO_SCALE:-3000}

if [ "${1:-}" = "stop" ]; then
    . tools/cluster.sh
    cluster_stop "$DIR"
    rm -rf "$DIR"
    echo "demo cluster stopped and removed"
    exit 0
fi

if [ "${DEMO_BUILD:-1}" != 0 ]; then
    bash tools/deps.sh
    . tools/cluster.sh
    build_and_install
else
    . tools/cluster.sh
fi

# a fresh cluster every time
cluster_stop "$DIR"
rm -rf "$DIR"
cluster_create "$DIR"
cluster_start "$DIR" "$PORT" 'pg_privacy, pg_cron' cron.database_name=agency

export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres
bold=$(tput bold 2>/dev/null || true)
plain=$(tput sgr0 2>/dev/null || true)

# step TITLE TEXT: a heading and a sentence of explanation
step() {
    printf '\n%s== %s ==%s\n%s\n\n' "$bold" "$1" "$plain" "$2"
}

# as ROLE: run the SQL on stdin as ROLE, echoing each statement; errors are
# part of the tour
as() {
    printf '%s-- as %s%s\n' "$bold" "$1" "$plain"
    psql -X -q -a -U "$1" -d agency -v ON_ERROR_STOP=0 -v cand="${CAND:-1}" -P pager=off 2>&1 |
        sed -e 's/^psql:<stdin>:[0-9]*: //'
}

step "Setting up" "A new cluster in $DIR with shared_preload_libraries = 'pg_privacy, pg_cron', a database 'agency' and $SCALE synthetic candidates."
psql -X -q -d postgres -c "CREATE DATABASE agency"
psql -X -q -d agency -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE EXTENSION pg_cron;
ALTER DATABASE agency SET search_path = "$user", public, privacy;
SQL
psql -X -q -d agency -v ON_ERROR_STOP=1 -f demo/generate.sql >/dev/null
psql -X -q -d agency -v ON_ERROR_STOP=1 -c "SELECT agency.generate($SCALE)" >/dev/null
psql -X -q -d agency -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SET client_min_messages = warning;
-- the people of the agency
CREATE ROLE clerk_utrecht LOGIN;                       -- intake at the Utrecht branch (12)
CREATE ROLE clerk_amsterdam LOGIN;                     -- intake at the Amsterdam branch (1)
CREATE ROLE payroll_anna LOGIN IN ROLE privacy_bsn;    -- payroll: needs BSNs for the tax office
CREATE ROLE fg_officer LOGIN IN ROLE privacy_officer;  -- the privacy officer (FG)
CREATE ROLE dba_piet LOGIN IN ROLE privacy_admin;      -- administers the registry
CREATE ROLE arts_bakker LOGIN IN ROLE privacy_special; -- the company doctor (bedrijfsarts)
CREATE ROLE dev_sven LOGIN IN ROLE privacy_support;    -- a developer of the software's vendor (processor)
GRANT privacy_identifying, privacy_contact TO clerk_utrecht, clerk_amsterdam;  -- names and phone numbers
GRANT privacy_identifying, privacy_contact, privacy_financial TO payroll_anna;
CREATE ROLE agency_owner NOLOGIN;                      -- owns the application's tables
GRANT USAGE ON SCHEMA agency TO clerk_utrecht, clerk_amsterdam, payroll_anna, fg_officer, agency_owner, dba_piet, arts_bakker;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA agency TO clerk_utrecht, clerk_amsterdam, payroll_anna;
GRANT USAGE ON SCHEMA agency TO dev_sven;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO dev_sven;  -- the extension still refuses registered tables without a grant
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO fg_officer, arts_bakker;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO dba_piet;  -- retention rules read only what their author may read
-- what the sick-leave registration records: a health note for the company
-- doctor, and a diagnosis field that older software still has
ALTER TABLE agency.sick_leave ADD COLUMN health_note text, ADD COLUMN diagnosis text;
ALTER TABLE agency.photos ALTER COLUMN image DROP NOT NULL;   -- photos are optional
UPDATE agency.sick_leave SET health_note = 'Rugklachten, re-integratie via de bedrijfsarts' WHERE id % 3 = 0;
UPDATE agency.sick_leave SET health_note = 'Overspannen, gesprek gepland' WHERE id % 3 = 1;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agency TO clerk_utrecht, clerk_amsterdam, payroll_anna;
SQL
psql -X -q -d agency -c "SELECT (SELECT count(*) FROM agency.candidates) AS candidates, (SELECT count(*) FROM agency.documents) AS documents, (SELECT count(*) FROM agency.placements) AS placements, (SELECT count(*) FROM agency.notes) AS notes"

step "Status" "What the DBA checks after installing: every hook active, the roles in place."
as postgres <<'SQL'
SELECT component, state, detail FROM privacy.status();
SQL

step "Registering the schema" "The privacy admin tells the extension which tables hold personal data. It follows the foreign keys from the candidates table and proposes a registration for every table that reaches it; confirming them scopes every table to the branch that owns its rows (directly, or through the row it references)."
as dba_piet <<'SQL'
SELECT privacy.register_subject_type('candidate', 'agency.candidates', 'id', 'Kandidaten: people registered with the agency');
SELECT tbl, via, scope_column, scope_through, note FROM privacy.propose_registrations('candidate');
SELECT count(*) AS registered FROM (
  SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through)
    FROM privacy.propose_registrations('candidate')) r;
SELECT privacy.grant_scope('clerk_utrecht', '12');
SELECT privacy.grant_scope('clerk_amsterdam', '1');
SELECT privacy.grant_scope('privacy_bsn', '*');       -- payroll works for every branch
SELECT privacy.grant_scope('privacy_officer', '*');   -- so does the privacy officer
SELECT tbl, subject_type, scope_column, scope_through, has_policy FROM privacy.registry;
SQL

step "Each branch sees its own candidates" "The same queries, as the Utrecht clerk and as the Amsterdam clerk. The policy is folded into a constant when the query is planned, so it costs what a hand-written filter costs and uses the index on branch_id."
for clerk in clerk_utrecht clerk_amsterdam; do
as $clerk <<'SQL'
SELECT (SELECT count(*) FROM agency.candidates) AS candidates,
       (SELECT count(*) FROM agency.documents) AS documents,
       (SELECT count(*) FROM agency.timesheets) AS timesheets,
       (SELECT string_agg(DISTINCT branch_id::text, ',') FROM agency.candidates) AS branches;
SQL
done
as clerk_utrecht <<'SQL'
EXPLAIN (COSTS OFF) SELECT id, last_name FROM agency.candidates WHERE last_name = 'Bos';
-- registering a candidate for another branch is refused
INSERT INTO agency.candidates (branch_id, first_name, last_name, birth_date, street, house_number, postcode, city, phone, email, iban, nationality, registered_at, status)
VALUES (1, 'Sem', 'Visser', '2001-02-03', 'Damrak', '1', '1012 AB', 'Amsterdam', '06-11111111', 'sem@example.nl', 'NL91ABNA0417164300', 'NL', '2026-01-02', 'registered');
SQL

step "The guard" "The owner of the tables may not switch the protection off; only the privacy admin may, and every change to a registered table is audited."
psql -X -q -d agency -c "ALTER TABLE agency.candidates OWNER TO agency_owner"
as postgres <<'SQL'
SET ROLE agency_owner;
ALTER TABLE agency.candidates DISABLE ROW LEVEL SECURITY;
DROP POLICY privacy_scope ON agency.candidates;
ALTER TABLE agency.candidates DROP COLUMN branch_id;
ALTER TABLE agency.candidates ADD COLUMN preferred_name text;
SQL

step "Column policies" "Health notes are special-category data (AVG art. 9): the clerk sees NULL, the company doctor sees them. IBANs and wages are financial: masked for the clerk, in full for payroll. Names, addresses and dates of birth are identifying, phone numbers and e-mail addresses contact data: the clerks and payroll hold both classes, anyone else sees them masked. Photos are switched off in this installation, and the old diagnosis field is forbidden: an employer may not record one."
as dba_piet <<'SQL'
SELECT privacy.grant_scope('arts_bakker', '12');
SELECT privacy.classify_column('agency.sick_leave', 'health_note', 'special');
SELECT privacy.classify_column('agency.candidates', 'iban', 'financial');
SELECT privacy.classify_column('agency.placements', 'hourly_rate', 'financial');
SELECT count(privacy.classify_column('agency.candidates', c, 'identifying')) AS identifying
  FROM unnest('{first_name, last_name, preferred_name, birth_date, street, house_number, postcode, city, nationality}'::name[]) c;
SELECT count(privacy.classify_column('agency.candidates', c, 'contact')) AS contact FROM unnest('{phone, email}'::name[]) c;
-- scanned ID copies and CVs identify their holder, and so do their file names
SELECT count(privacy.classify_column('agency.documents', c, 'identifying')) AS identifying FROM unnest('{file_name, content}'::name[]) c;
SELECT privacy.forbid_field('agency.sick_leave', 'diagnosis',
    'An employer may not record a diagnosis; only the company doctor may (AVG art. 9, UAVG art. 30).');
SELECT privacy.set_optional_field('agency.photos', 'image', false);
SELECT tbl, class, viewer_role, mask, state, string_agg(column_name::text, ', ' ORDER BY column_name) AS columns
  FROM privacy.column_policies GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2;
SQL
SICK=$(psql -X -At -d agency -c "SELECT min(s.id) FROM agency.sick_leave s JOIN agency.employees e ON e.id = s.employee_id WHERE e.branch_id = 12 AND s.health_note IS NOT NULL")
as clerk_utrecht <<SQL
SELECT id, start_date, end_date, health_note FROM agency.sick_leave WHERE id = $SICK;
SELECT count(*) AS found FROM agency.sick_leave WHERE health_note LIKE '%Rug%';
SELECT last_name, iban FROM agency.candidates WHERE branch_id = 12 ORDER BY id LIMIT 2;
INSERT INTO agency.sick_leave (employee_id, start_date, diagnosis)
SELECT employee_id, current_date, 'griep' FROM agency.sick_leave WHERE id = $SICK;
SELECT count(*) AS photos, count(image) AS images_visible FROM agency.photos;
INSERT INTO agency.photos (candidate_id, image, taken_at)
SELECT id, '\\x89504e47', now() FROM agency.candidates WHERE branch_id = 12 LIMIT 1;
SQL
as arts_bakker <<SQL
SELECT id, start_date, end_date, health_note FROM agency.sick_leave WHERE id = $SICK;
SQL
as payroll_anna <<'SQL'
SELECT last_name, iban FROM agency.candidates WHERE branch_id = 12 ORDER BY id LIMIT 2;
SQL
as dba_piet <<'SQL'
SELECT privacy.clear_field('agency.photos', 'image') AS photos_cleared;
SQL

CAND=$(psql -X -At -d agency -c "SELECT min(id) FROM agency.candidates WHERE branch_id = 12")
step "One candidate, two people" "The intake clerk sees a masked BSN; payroll, a member of privacy_bsn, sees it in full. The masking happens in the type's output function, for every client and every output path."
as clerk_utrecht <<'SQL'
SELECT id, first_name, last_name, bsn, privacy.bsn_display(bsn) AS display, privacy.bsn_authorized()
  FROM agency.candidates WHERE id = :cand;
SELECT row_to_json(c) AS as_json FROM (SELECT id, last_name, bsn FROM agency.candidates WHERE id = :cand) c;
SQL
as payroll_anna <<'SQL'
SELECT id, first_name, last_name, bsn, privacy.bsn_display(bsn) AS display, privacy.bsn_authorized()
  FROM agency.candidates WHERE id = :cand;
SQL

step "The clerk registers a candidate" "Adding a BSN is allowed (\"kan het nummer wel toevoegen\"); a wrong check digit is refused without repeating the number; changing a BSN afterwards is not allowed."
as clerk_utrecht <<'SQL'
INSERT INTO agency.candidates (branch_id, first_name, last_name, birth_date, street, house_number, postcode, city, phone, email, iban, bsn, nationality, registered_at, status)
VALUES (12, 'Fenna', 'Bos', '1999-04-12', 'Oudegracht', '12', '3511 AB', 'Utrecht', '06-12345678', 'fenna.bos@example.nl',
        'NL91ABNA0417164300', '1112.22.333', 'NL', '2026-01-02', 'registered')
RETURNING id, last_name, bsn;
INSERT INTO agency.candidates (branch_id, first_name, last_name, birth_date, street, house_number, postcode, city, phone, email, iban, bsn, nationality, registered_at, status)
VALUES (12, 'Daan', 'Bos', '1998-01-01', 'Oudegracht', '12', '3511 AB', 'Utrecht', '06-12345679', 'daan.bos@example.nl',
        'NL91ABNA0417164300', '111222334', 'NL', '2026-01-02', 'registered');
UPDATE agency.candidates SET bsn = '123456782' WHERE last_name = 'Bos';
UPDATE agency.candidates SET bsn = NULL WHERE last_name = 'Bos';
UPDATE agency.candidates SET phone = '06-87654321' WHERE last_name = 'Bos';
SQL

step "The clerk tries to find a BSN" "Masking that can be searched is no masking. Comparisons, sorting, grouping and joins on a BSN are refused before the query runs, so the refusal says nothing about the data."
as clerk_utrecht <<'SQL'
SELECT id FROM agency.candidates WHERE bsn = '111222333';
SELECT id FROM agency.candidates WHERE bsn BETWEEN '100000009' AND '200000007';
SELECT id, bsn FROM agency.candidates ORDER BY bsn LIMIT 3;
SELECT c.id FROM agency.candidates c
  JOIN (SELECT lpad(n::text, 9, '0') AS guess FROM generate_series(111222300, 111222400) n
         WHERE privacy.bsn_is_valid(lpad(n::text, 9, '0'))) g ON c.bsn = g.guess::bsn;
SELECT max(bsn) FROM agency.candidates;
-- the masked text carries nothing more than what is shown
SELECT count(*) AS ending_in_333 FROM agency.candidates WHERE bsn::text LIKE '%333';
SQL

step "Payroll corrects a BSN" "Members of privacy_bsn may change a BSN. Every change is written to the audit trail: the table, the column and the number of rows, never the number itself."
as payroll_anna <<'SQL'
SET privacy.actor = 'anna@agency.example';
SELECT id FROM agency.candidates WHERE bsn = '111222333';
UPDATE agency.candidates SET bsn = '123456782' WHERE bsn = '111222333';
SQL

step "BSNs pasted into notes" "Staff paste BSNs and IBANs into free-text notes. The privacy officer scans the notes table (as herself, so row-level security applies and the numbers come back masked); the admin redacts them in place, which is audited."
as fg_officer <<'SQL'
SELECT kind, count(*) FROM privacy.scan_table('agency.notes') GROUP BY kind ORDER BY kind;
SELECT column_name, row_key, kind, match FROM privacy.scan_table('agency.notes') ORDER BY row_key::int LIMIT 4;
SQL
as dba_piet <<'SQL'
SELECT privacy.redact_table('agency.notes', 'body') AS notes_redacted;
SQL
as fg_officer <<'SQL'
SELECT count(*) AS left_over FROM privacy.scan_table('agency.notes');
SELECT body FROM agency.notes WHERE id = 80;
SQL

step "Documents expire" "The controller loads the Dutch staffing periods (each with its legal source, to review), and the admin binds them to the tables: ID copies of candidates who never worked for the agency go after 4 weeks, those of employees 5 years after the end of the calendar year their employment ended, payslips after 7 years, timesheets after 52 weeks. The officer sees what has expired and puts one candidate on a legal hold; the purge runs in short batches, leaves that candidate alone and is audited per rule. pg_cron then runs it on a schedule."
as dba_piet <<'SQL'
SELECT privacy.load_retention_preset('nl_staffing') AS types_added;
SELECT name, retention, rounding, min_keep, source FROM privacy.document_type ORDER BY name;
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
-- a rule may not read what its author may not read
SELECT privacy.create_retention_rule('sneaky', 'agency.documents', 'personnel_file',
    start_expr => $$(SELECT min(rolvaliduntil)::date FROM pg_authid)$$);
SQL
as fg_officer <<'SQL'
SELECT rule_name, document_type, rows_total, rows_expired, next_expiry, expired_since FROM privacy.retention_status();
SELECT rule_name, row_key, subject, expired_since FROM privacy.expired_rows('candidate_id_copies', 3);
SELECT privacy.place_hold('candidate', (SELECT subject ->> 'candidate' FROM privacy.expired_rows('candidate_id_copies', 1)),
                          'Dispute at the kantonrechter about the registration') AS hold;
SQL
as dba_piet <<'SQL'
-- the dry run: CALL privacy.purge(dry_run => true) returns the same
SELECT r ->> 'rule' AS rule, r -> 'deleted' AS would_delete, r -> 'held' AS held, r -> 'blocked' AS blocked
  FROM jsonb_array_elements(privacy.purge_plan() -> 'rules') r;
SQL
as dba_piet <<'SQL' | cut -c1-160
CALL privacy.purge();
SELECT rule, status, deleted, held, blocked, batches, round(longest_batch_ms) AS longest_batch_ms
  FROM privacy.purge_log ORDER BY run_id, ord;
CALL privacy.purge();
SQL
as fg_officer <<'SQL'
SELECT rule_name, rows_expired, rows_held FROM privacy.retention_status();
SQL
as dba_piet <<'SQL'
SELECT privacy.schedule_purge('* * * * *', 'demo_purge') AS job;
SQL
printf 'waiting for pg_cron to run the job (it starts on the next minute) ...\n'
for _ in $(seq 1 75); do
    done_runs=$(psql -X -At -d agency -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'demo_purge' AND d.status IN ('succeeded', 'failed')")
    [ "$done_runs" -gt 0 ] && break
    sleep 2
done
as postgres <<'SQL'
SELECT j.jobname, j.username, d.status, d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid) ORDER BY d.runid LIMIT 1;
SELECT run_id, run_by, count(*) AS rules, sum(deleted) AS deleted FROM privacy.purge_log GROUP BY 1, 2 ORDER BY 1;
SQL
as dba_piet <<'SQL'
SELECT privacy.unschedule_purge('demo_purge');
SELECT privacy.schedule_purge('30 3 * * *') AS nightly_job;
SQL

step "A candidate exercises their rights" "A former worker asks what the agency holds about them, then asks to be forgotten. The officer registers both requests (one month to answer), exports everything in one call (with the full BSN: it is their own data, and with purposes, recipients, retention periods and the right to complain to the Autoriteit Persoonsgegevens), and erases them: the payroll records the law makes the agency keep stay, hidden from everyone but the officer, the rest goes, and every recipient of their data gets a notification."
CAND=$(psql -X -At -d agency -c "SELECT c.id FROM agency.candidates c
    WHERE c.branch_id = 12
      AND EXISTS (SELECT FROM agency.placements p WHERE p.candidate_id = c.id)
      AND EXISTS (SELECT FROM agency.documents d WHERE d.candidate_id = c.id AND d.doc_type = 'payslip'
                     AND d.created_at > now() - interval '3 years')
    ORDER BY c.id LIMIT 1")
as dba_piet <<'SQL'
SELECT privacy.define_purpose('placement', 'Placing temporary workers with client companies', 'contract');
SELECT privacy.define_purpose('payroll', 'Paying wages and wage tax', 'legal_obligation', 'Wet op de loonbelasting 1964; AWR art. 52');
SELECT privacy.define_purpose('talent_pool', 'Offering later vacancies', 'consent');
SELECT count(privacy.bind_purpose(t, 'placement')) AS bound
  FROM unnest('{agency.candidates, agency.placements, agency.documents, agency.notes}'::regclass[]) t;
SELECT privacy.bind_purpose('agency.timesheets', 'payroll'), privacy.bind_purpose('agency.documents', 'payroll');
SELECT privacy.define_recipient('belastingdienst', 'authority', 'NL', 'eu_eea', description => 'Tax office: wage tax returns');
SELECT privacy.define_recipient('payroll_cloud', 'processor', 'IE', 'eu_eea', description => 'Payroll processing service');
SELECT privacy.define_recipient('mail_relay', 'sub_processor', 'US', 'standard_contractual_clauses',
                                processor_of => 'payroll_cloud', description => 'Sends payslips by e-mail');
SQL
as postgres <<'SQL' >/dev/null
-- what the application records when it sends data out
SELECT privacy.define_recipient('client_' || c.id, 'client', 'NL', 'eu_eea', contact => c.name)
  FROM agency.clients c WHERE c.id IN (SELECT p.client_id FROM agency.placements p WHERE p.candidate_id = :cand);
SELECT privacy.record_disclosure('client_' || p.client_id, 'candidate', :'cand', ARRAY['identifying', 'contact'])
  FROM agency.placements p WHERE p.candidate_id = :cand;
SELECT privacy.record_disclosure('belastingdienst', 'candidate', :'cand', ARRAY['identifying', 'financial']);
SQL
as fg_officer <<'SQL'
SELECT privacy.register_request('candidate', :'cand', 'access') AS access_request \gset
SELECT id, kind, received_on, deadline FROM privacy.request ORDER BY id;
SELECT e -> 'data' -> 'agency.candidates' -> 0 ->> 'bsn' AS bsn_in_export,
       (SELECT jsonb_object_agg(k, jsonb_array_length(v)) FROM jsonb_each(e -> 'data') x(k, v)) AS rows_per_table,
       (SELECT string_agg(r ->> 'recipient', ', ') FROM jsonb_array_elements(e -> 'recipients') r) AS recipients,
       e -> 'rights' ->> -1 AS complaint
  FROM (SELECT privacy.export_subject('candidate', :'cand', request_id => :access_request) AS e) s;
SELECT privacy.register_request('candidate', :'cand', 'erasure') AS erasure_request \gset
SELECT t ->> 'table' AS tbl, t -> 'deleted' AS deleted, t -> 'anonymized' AS anonymized, t -> 'kept' AS kept
  FROM jsonb_array_elements(privacy.erase_subject('candidate', :'cand', 'art. 17(1)(a): no longer needed',
                                                  request_id => :erasure_request) -> 'tables') t;
SELECT id, kind, status, deadline FROM privacy.request ORDER BY id;
SELECT recipient, event FROM privacy.pending_notifications WHERE subject_key = :'cand' ORDER BY recipient;
SELECT count(*) AS documents_kept_visible_to_officer FROM agency.documents WHERE candidate_id = :cand;
SQL
as clerk_utrecht <<'SQL'
SELECT count(*) AS documents_visible_to_clerk FROM agency.documents WHERE candidate_id = :cand;
SELECT count(*) AS candidate_visible_to_clerk FROM agency.candidates WHERE id = :cand;
SQL
as fg_officer <<'SQL' | sed -n '1,60p'
\pset format unaligned
\pset tuples_only on
SELECT privacy.processing_register_markdown();
SQL

step "The vendor's developer needs to look" "The software's vendor hosts it and is a processor: its developer may see the agency's data only with the agency's permission, given in advance, each time. He asks for the Utrecht branch's candidates for one ticket; the privacy officer approves; he sees those rows, with BSNs and names masked, and every statement he runs is audited. The grant ends by itself, and the access report is what the agency keeps."
as dev_sven <<'SQL'
SELECT count(*) FROM agency.candidates;
SELECT privacy.request_access('dev_sven', 'TICKET-4711: intake form loses the phone number', '{12}',
                              '{agency.candidates}', now() + interval '8 seconds') AS grant_id;
SQL
as fg_officer <<'SQL'
SELECT id, role, reason, scopes, tables, until - requested_at AS lasts, status FROM privacy.access_grants;
SELECT privacy.approve_access(max(id), 'for TICKET-4711 only') FROM privacy.access_grants;
SQL
as dev_sven <<'SQL'
SELECT branch_id, count(*) FROM agency.candidates GROUP BY branch_id;
SELECT id, last_name, phone, bsn FROM agency.candidates ORDER BY id LIMIT 3;
SELECT count(*) FROM agency.documents;
SELECT pg_sleep(9);
SELECT count(*) FROM agency.candidates;
SELECT count(*) FROM agency.candidates;
SQL
as fg_officer <<'SQL'
\pset format unaligned
\pset tuples_only on
SELECT markdown FROM privacy.access_report((SELECT max(id) FROM privacy.access_grants));
SQL

step "A phished login" "The Utrecht clerk's password was phished: someone used the login from abroad for the last hour. The privacy officer records the breach (the report to the Autoriteit Persoonsgegevens is due 72 hours after becoming aware of it), computes what the login could read in that window from the scopes it held then, and which categories it saw in full, drafts the notification with everything AVG art. 33(3) asks for, and, the risk being high, queues one notification per candidate concerned. The register keeps it all; nobody can delete it."
as fg_officer <<'SQL'
SELECT privacy.report_breach('Phishing: the login of the Utrecht intake clerk was used from abroad',
                             became_aware_at => now() - interval '10 minutes', kind => 'confidentiality',
                             occurred_from => now() - interval '1 hour', occurred_until => now(),
                             contact => 'FG: fg@uitzendbureau.example, 030-1234567') AS breach_id \gset
SELECT privacy.report_breach('A laptop with a payroll export was stolen from a car', now() - interval '60 hours',
                             'confidentiality');
SELECT id, description, authority_deadline, time_left, late FROM privacy.breaches_due;
SELECT e ->> 'subjects' AS candidates, e -> 'records' AS records_per_table,
       (SELECT string_agg(k || ' ' || (v ->> 'seen'), ', ' ORDER BY k) FROM jsonb_each(e -> 'categories') c(k, v)) AS categories
  FROM privacy.breach_exposure(:breach_id, role => 'clerk_utrecht',
                               from_time => now() - interval '1 hour', until_time => now()) e;
SELECT privacy.assess_breach(:breach_id, 'high', 'Names, addresses and phone numbers of a whole branch in the hands of a phisher',
                             consequences => 'Targeted phishing and identity fraud against the candidates',
                             measures => 'Password reset and sessions ended; second factor enforced for all branch logins');
SELECT queued AS notifications_queued FROM privacy.breach_notification(:breach_id);
SELECT privacy.notify_authority(:breach_id, reference => 'AP-2026-12345');
SELECT count(*) AS breaches_due_now FROM privacy.breaches_due;
SQL
as postgres <<'SQL'
DELETE FROM privacy.breach;
SQL
as fg_officer <<'SQL' | sed -n '1,75p'
\pset format unaligned
\pset tuples_only on
SELECT markdown FROM privacy.breach_notification((SELECT min(id) FROM privacy.breach));
SQL
as clerk_utrecht <<'SQL'
SELECT count(*) FROM privacy.breach;
SQL

step "A new release adds a table" "The next release of the staffing software adds a table of references that candidates give, with the referee's name and phone number. Nobody told the registry. privacy.lint() notices it, says what is wrong and gives the SQL that fixes it; the admin runs the fixes. Lint also lists what this tour left out: the contact persons at client companies, people too, in a table nobody registered; tables without a retention rule or a purpose; a purpose on consent without any consent."
psql -X -q -d agency -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE TABLE agency.candidate_references (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    candidate_id  bigint NOT NULL REFERENCES agency.candidates,
    referee_name  text NOT NULL,
    referee_phone text,
    given_on      date NOT NULL DEFAULT current_date
);
GRANT SELECT, INSERT ON agency.candidate_references TO clerk_utrecht, clerk_amsterdam;
GRANT SELECT ON agency.candidate_references TO dba_piet;
SQL
as dba_piet <<'SQL'
SELECT code, severity, object, message FROM privacy.lint() ORDER BY code, object;
SELECT fix FROM privacy.lint() WHERE code = 'PP002';
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT fix FROM privacy.lint() WHERE code = 'PP002' LOOP
        EXECUTE f.fix;
    END LOOP;
    FOR f IN SELECT fix FROM privacy.lint() WHERE code = 'PP004' LOOP
        EXECUTE f.fix;
    END LOOP;
END
$$;
SELECT code, object FROM privacy.lint() WHERE object LIKE 'agency.candidate_references%';
SQL

step "Nothing left to find" "The admin finishes the registration: the client companies' contact persons as a subject type of their own, kept two years after the last placement at their company ended; a retention rule for every registered table (candidates never employed go four weeks after they registered, employment records and placements seven years after the end of the year they ended, sick leave and recruiters' notes after two years, references four weeks after they were given), a purpose for every table, and the consents of the candidates who joined the talent pool, which the application records. Lint then finds nothing, and pg_privacy_lint, the command a migration pipeline runs, exits 0. With strict mode on, the next unregistered table is refused when its transaction commits."
as dba_piet <<'SQL'
SELECT privacy.register_subject_type('client_contact', 'agency.client_contacts', 'id', 'Contactpersonen bij opdrachtgevers');
SELECT privacy.register_table('agency.client_contacts', 'client_contact', 'id');
SELECT count(privacy.classify_column('agency.client_contacts', c, k)) AS classified
  FROM (VALUES ('name', 'identifying'), ('email', 'contact'), ('phone', 'contact')) v(c, k);
SELECT privacy.define_document_type('business_contact', '2 years', 'the end of the last placement at the contact''s company',
                                    legal_basis => 'Legitimate interest (AVG art. 6(1)(f)) in the business relationship',
                                    source => 'AVG art. 5(1)(e); no legal period applies: the agency''s own policy',
                                    description => 'Names and contact details of contact persons at client companies');
SELECT privacy.create_retention_rule('client_contacts', 'agency.client_contacts', 'business_contact',
    start_expr => $$(SELECT max(p.end_date) FROM agency.placements p WHERE p.client_id = r.client_id)$$);
SELECT privacy.create_retention_rule('never_employed', 'agency.candidates', 'rejected_applicant', start_expr => 'registered_at',
    condition => $$status IN ('rejected', 'inactive') AND NOT EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.id)$$);
SELECT privacy.create_retention_rule('employments', 'agency.employees', 'payroll_record', start_expr => 'employment_end');
SELECT privacy.create_retention_rule('placements', 'agency.placements', 'payroll_record', start_expr => 'end_date');
SELECT privacy.create_retention_rule('sick_leave', 'agency.sick_leave', 'personnel_file',
    start_expr => $$(SELECT e.employment_end FROM agency.employees e WHERE e.id = r.employee_id)$$);
SELECT privacy.create_retention_rule('recruiter_notes', 'agency.notes', 'personnel_file', start_expr => 'created_at');
SELECT privacy.create_retention_rule('photos', 'agency.photos', 'personnel_file', start_expr => 'taken_at');
SELECT privacy.create_retention_rule('references', 'agency.candidate_references', 'rejected_applicant', start_expr => 'given_on');
SELECT privacy.define_purpose('absence', 'Guiding sick employees back to work and paying wages during illness',
                              'legal_obligation', 'BW art. 7:629; Wet verbetering poortwachter');
SELECT privacy.bind_purpose('agency.sick_leave', 'absence'), privacy.bind_purpose('agency.employees', 'payroll'),
       privacy.bind_purpose('agency.photos', 'placement'), privacy.bind_purpose('agency.candidate_references', 'placement'),
       privacy.bind_purpose('agency.candidates', 'talent_pool');
SELECT privacy.define_purpose('client_relations', 'Keeping in touch with the contact persons of client companies',
                              'legitimate_interest');
SELECT privacy.bind_purpose('agency.client_contacts', 'client_relations');
SQL
as postgres <<'SQL'
-- what the application records when a candidate joins the talent pool
SELECT count(privacy.record_consent('candidate', c.id::text, 'talent_pool')) AS consents
  FROM (SELECT id FROM agency.candidates WHERE status = 'inactive' ORDER BY id LIMIT 20) c;
SQL
as dba_piet <<'SQL'
SELECT count(*) AS findings FROM privacy.lint();
SQL
printf '%s-- pg_privacy_lint agency%s\n' "$bold" "$plain"
rc=0
PGUSER=dba_piet "$PGBIN/pg_privacy_lint" agency || rc=$?
echo "exit status $rc"
as dba_piet <<'SQL'
SELECT privacy.set_strict(true);
SQL
as postgres <<'SQL'
SHOW privacy.strict;
CREATE TABLE agency.candidate_skills (candidate_id bigint REFERENCES agency.candidates, skill text);
SQL

step "The privacy officer reads the audit trail" "Every entry carries a SHA-256 hash and is sealed when its transaction commits; the seals form a chain, and audit_verify() recomputes all of it."
as fg_officer <<'SQL'
SELECT count(*) AS entries, count(DISTINCT action) AS actions FROM privacy.audit_log;
SELECT seq, logged_at::timestamp(0), login_role, acting_role, actor, action, object, details
  FROM privacy.audit_log ORDER BY seq DESC LIMIT 6;
SELECT * FROM privacy.audit_verify();
SELECT seal_no, last_seq, encode(hash, 'hex') AS anchor FROM privacy.audit_head();
SQL

step "Nobody rewrites history" "The log is append-only, also for its owner and superusers. A superuser who switches the guard off and edits an entry is caught by the chain."
as postgres <<'SQL'
DELETE FROM privacy.audit_log;
ALTER TABLE privacy.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE privacy.audit_log SET acting_role = 'clerk_utrecht' WHERE seq = 1;
ALTER TABLE privacy.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT * FROM privacy.audit_verify();
SQL
as postgres <<'SQL' >/dev/null
ALTER TABLE privacy.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE privacy.audit_log SET acting_role = 'payroll_anna' WHERE seq = 1;
ALTER TABLE privacy.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SQL

step "No BSN in the server log" "Error messages are scrubbed before they are logged or sent, and statements containing a BSN are not logged."
as payroll_anna <<'SQL'
INSERT INTO agency.candidates (branch_id, first_name, last_name, birth_date, street, house_number, postcode, city, phone, email, iban, bsn, nationality, registered_at, status)
SELECT branch_id, first_name, last_name, birth_date, street, house_number, postcode, city, phone, email, iban, bsn, nationality, registered_at, status
  FROM agency.candidates WHERE id = 1;
SQL
echo "server log lines mentioning that candidate's BSN in full: $(grep -c "$(psql -X -At -d agency -c "SELECT bsn FROM agency.candidates WHERE id = 1")" "$DIR/server.log" || true)"

step "Done" "The demo cluster keeps running.
  connect:  psql -h $DIR -p $PORT -U postgres agency      (or -U clerk_utrecht, -U payroll_anna, -U fg_officer)
  stop:     make demo-stop"
