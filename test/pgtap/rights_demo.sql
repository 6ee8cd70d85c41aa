-- Data-subject rights on the demo schema: demo/generate.sql loaded inside
-- the test transaction (read from the repository root, where test/run.sh
-- runs pg_prove), agency.generate(60, 0.42, current_date), and the
-- candidate tables registered as demo/run.sh registers them.
--
-- Asserted:
--  * export_subject: every row of the candidate in each of the 8 registered
--    tables, counted independently along the foreign keys (timesheets
--    through placements, sick leave through employees), and no row of any
--    other candidate; the BSN in full; the parts of AVG art. 15 (purposes
--    with their legal basis, consents with the withdrawal, classified
--    columns, recipients with the disclosures, retention of the subject's
--    tables, legal holds, source, rights with the Autoriteit
--    Persoonsgegevens); portability limited to tables bound to a contract
--    or to consent this candidate has not withdrawn; the key canonicalized;
--    audited with the row counts;
--  * export_subject_encrypted decrypts with pgp_sym_decrypt (pgcrypto's
--    schema looked up) to the same document except generated_at, and not
--    with another passphrase; short passphrases refused;
--  * erase_subject on a candidate employed now, with payslips under a
--    payroll_record rule and timesheets under a working_time_record rule:
--    the dry run changes nothing and returns what the real run returns; the
--    real run keeps the payslips and recent timesheets (with erasable_from
--    dates), keeps the placements and the candidate row they reference,
--    deletes the rest children first, restricts the subject indefinitely,
--    notifies each recipient once, closes the erasure request, and leaves
--    other candidates alone; erasing again changes nothing and notifies
--    nobody;
--  * the restriction hides the kept rows from a clerk with scope '*' (also
--    for updates) and not from the officer;
--  * a legal hold refuses the erasure with 55006 and nothing changes;
--  * a clerk and the privacy admin cannot export, erase or restrict
--    (42501, also with a direct EXECUTE grant); the officer can;
--  * requests: deadlines one month after receipt at month ends (31 January
--    2025 and 2024, 31 March), extension to three months once with a
--    reason, refused twice, without a reason, when closed and after the
--    deadline; requests_due lists overdue requests and those due within a
--    week and no others; export_subject(request_id => ...) closes an access
--    or portability request with the row counts and refuses a request of
--    another subject, of another kind, or already closed;
--  * rectification: an UPDATE of a candidate's phone (and of timesheets,
--    reached through placements) records the columns for that candidate,
--    never the values, and queues one rectification notification per
--    recipient; an UPDATE that changes nothing records nothing;
--  * processing_register lists every purpose with its tables, recipient,
--    transfer outside the EEA and document type; the Markdown has its
--    section headings; a clerk may not read it.
BEGIN;
SELECT plan(148);

SET client_min_messages = warning;
CREATE ROLE rd_admin IN ROLE privacy_admin;
CREATE ROLE rd_officer IN ROLE privacy_officer;
CREATE ROLE rd_clerk IN ROLE privacy_identifying, privacy_contact;

-- the demo schema, as demo/run.sh loads it, without its own transaction
CREATE TEMP TABLE rd_generate_sql (n serial, line text);
\copy rd_generate_sql (line) FROM 'demo/generate.sql' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
\o /dev/null
SELECT string_agg(line, E'\n' ORDER BY n) FROM rd_generate_sql
 WHERE line !~ '^\\set ' AND line !~ '^(BEGIN|COMMIT);$' \gexec
\o
SELECT agency.generate(60, 0.42, current_date) IS NOT NULL AS generated;

GRANT USAGE ON SCHEMA agency TO rd_admin, rd_officer, rd_clerk;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agency TO rd_clerk;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agency TO rd_clerk;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO rd_officer;
GRANT SELECT ON agency.documents, agency.timesheets TO rd_admin;

-- the values the assertions share, readable by every role of the test
CREATE TEMP TABLE rd_cand (tag text PRIMARY KEY, id bigint);
CREATE TEMP TABLE rd_req (tag text PRIMARY KEY, id bigint NOT NULL);
CREATE TEMP TABLE rd_doc (tag text PRIMARY KEY, doc jsonb, enc bytea);
GRANT ALL ON rd_cand, rd_req, rd_doc TO PUBLIC;

CREATE FUNCTION pg_temp.cand(t text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM rd_cand WHERE tag = t
$$;
CREATE FUNCTION pg_temp.req(t text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM rd_req WHERE tag = t
$$;
CREATE FUNCTION pg_temp.doc(t text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT doc FROM rd_doc WHERE tag = t
$$;
GRANT EXECUTE ON FUNCTION pg_temp.cand(text), pg_temp.req(text), pg_temp.doc(text) TO PUBLIC;

-- the error of a statement as "SQLSTATE: message"
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END
$$;
-- the number of rows a statement changed
CREATE FUNCTION pg_temp.rows_of(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text), pg_temp.rows_of(text) TO PUBLIC;

-- pgp_sym_decrypt of pgcrypto, wherever the extension was installed
CREATE FUNCTION pg_temp.decrypt(b bytea, pass text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    nsp name;
    out text;
BEGIN
    SELECT n.nspname INTO STRICT nsp FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgcrypto';
    EXECUTE format('SELECT %I.pgp_sym_decrypt($1, $2)', nsp) INTO out USING b, pass;
    RETURN out;
END
$$;

-- A candidate's rows per registered table, counted by hand along the
-- foreign keys; the ids, for comparing with an export.
CREATE FUNCTION pg_temp.rows_of_candidate(c bigint)
RETURNS TABLE (tbl text, id bigint) LANGUAGE sql STABLE AS $$
    SELECT 'agency.candidates', x.id FROM agency.candidates x WHERE x.id = c
    UNION ALL SELECT 'agency.employees', x.id FROM agency.employees x WHERE x.candidate_id = c
    UNION ALL SELECT 'agency.placements', x.id FROM agency.placements x WHERE x.candidate_id = c
    UNION ALL SELECT 'agency.documents', x.id FROM agency.documents x WHERE x.candidate_id = c
    UNION ALL SELECT 'agency.photos', x.id FROM agency.photos x WHERE x.candidate_id = c
    UNION ALL SELECT 'agency.notes', x.id FROM agency.notes x WHERE x.candidate_id = c
    UNION ALL SELECT 'agency.timesheets', t.id FROM agency.timesheets t
                JOIN agency.placements p ON p.id = t.placement_id WHERE p.candidate_id = c
    UNION ALL SELECT 'agency.sick_leave', s.id FROM agency.sick_leave s
                JOIN agency.employees e ON e.id = s.employee_id WHERE e.candidate_id = c
$$;
-- the ids an export holds per table
CREATE FUNCTION pg_temp.rows_of_export(d jsonb)
RETURNS TABLE (tbl text, id bigint) LANGUAGE sql IMMUTABLE AS $$
    SELECT t.key, (r ->> 'id')::bigint FROM jsonb_each(d -> 'data') t, jsonb_array_elements(t.value) r
$$;
-- every row of every table of the schema, for "nothing else changed"
CREATE FUNCTION pg_temp.all_rows()
RETURNS TABLE (tbl text, id bigint, content text) LANGUAGE sql STABLE AS $$
    SELECT 'agency.candidates', x.id, x::text FROM agency.candidates x
    UNION ALL SELECT 'agency.employees', x.id, x::text FROM agency.employees x
    UNION ALL SELECT 'agency.placements', x.id, x::text FROM agency.placements x
    UNION ALL SELECT 'agency.documents', x.id, x::text FROM agency.documents x
    UNION ALL SELECT 'agency.photos', x.id, x::text FROM agency.photos x
    UNION ALL SELECT 'agency.notes', x.id, x::text FROM agency.notes x
    UNION ALL SELECT 'agency.timesheets', x.id, x::text FROM agency.timesheets x
    UNION ALL SELECT 'agency.sick_leave', x.id, x::text FROM agency.sick_leave x
$$;

-------------------------------------------------------------------------------
-- the candidates of the assertions
-------------------------------------------------------------------------------
-- a: employed now, with payslips, timesheets of the last 52 weeks, sick
-- leave, a photo and notes; the one erased
INSERT INTO rd_cand
SELECT 'a', min(c.id) FROM agency.candidates c JOIN agency.employees e ON e.candidate_id = c.id
 WHERE e.employment_end IS NULL
   AND EXISTS (SELECT FROM agency.documents d WHERE d.candidate_id = c.id AND d.doc_type = 'payslip')
   AND EXISTS (SELECT FROM agency.timesheets t JOIN agency.placements p ON p.id = t.placement_id
                WHERE p.candidate_id = c.id AND t.week_start > current_date - 364)
   AND EXISTS (SELECT FROM agency.sick_leave s WHERE s.employee_id = e.id)
   AND EXISTS (SELECT FROM agency.photos f WHERE f.candidate_id = c.id)
   AND EXISTS (SELECT FROM agency.notes n WHERE n.candidate_id = c.id);
-- b: another employee, under a legal hold
INSERT INTO rd_cand
SELECT 'b', min(e.candidate_id) FROM agency.employees e
 WHERE e.candidate_id <> pg_temp.cand('a')
   AND EXISTS (SELECT FROM agency.documents d WHERE d.candidate_id = e.candidate_id);
-- r: an employee with timesheets, whose data is corrected
INSERT INTO rd_cand
SELECT 'r', min(p.candidate_id) FROM agency.placements p JOIN agency.timesheets t ON t.placement_id = p.id
 WHERE p.candidate_id NOT IN (pg_temp.cand('a'), pg_temp.cand('b'));
-- q: a candidate with notes who files requests; o: another one
INSERT INTO rd_cand
SELECT 'q', min(n.candidate_id) FROM agency.notes n
 WHERE n.candidate_id NOT IN (pg_temp.cand('a'), pg_temp.cand('b'), pg_temp.cand('r'));
INSERT INTO rd_cand
SELECT 'o', min(c.id) FROM agency.candidates c
 WHERE c.id NOT IN (pg_temp.cand('a'), pg_temp.cand('b'), pg_temp.cand('r'), pg_temp.cand('q'));

-- for a: an earlier placement with a timesheet older than 52 weeks, and a
-- payslip whose 7 years have passed
INSERT INTO agency.placements (candidate_id, client_id, branch_id, start_date, end_date, hourly_rate)
SELECT c.id, 1, c.branch_id, current_date - 800, current_date - 700, 14.50
  FROM agency.candidates c WHERE c.id = pg_temp.cand('a');
INSERT INTO agency.timesheets (placement_id, week_start, hours)
SELECT max(p.id), date_trunc('week', current_date - 790)::date, 40
  FROM agency.placements p WHERE p.candidate_id = pg_temp.cand('a');
INSERT INTO agency.documents (candidate_id, doc_type, created_at, file_name, content)
SELECT pg_temp.cand('a'), 'payslip', now() - interval '9 years', 'Loonstrook oud.pdf', '\x25504446'::bytea;

-------------------------------------------------------------------------------
-- registration, purposes, recipients, retention (as the privacy admin)
-------------------------------------------------------------------------------
SET ROLE rd_admin;
SELECT privacy.register_subject_type('candidate', 'agency.candidates', 'id',
                                     'Kandidaten: people registered with the agency');
SELECT count(*) FROM (
    SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through)
      FROM privacy.propose_registrations('candidate')) r;
SELECT privacy.grant_scope('rd_clerk', '*');
SELECT privacy.grant_scope('privacy_officer', '*');
SELECT privacy.classify_column('agency.candidates', 'iban', 'financial');
SELECT privacy.classify_column('agency.candidates', 'phone', 'contact');

SELECT privacy.define_purpose('placement', 'Placing workers with client companies', 'contract');
SELECT privacy.define_purpose('payroll', 'Paying wages and wage tax', 'legal_obligation',
                              'Wet op de loonbelasting 1964');
SELECT privacy.define_purpose('talent_pool', 'Offering later vacancies', 'consent');
SELECT privacy.define_purpose('photo_id', 'A photo on the worker''s pass', 'consent');
SELECT privacy.bind_purpose(t, 'placement')
  FROM unnest(ARRAY['agency.candidates', 'agency.placements', 'agency.timesheets', 'agency.documents']::regclass[]) t;
SELECT privacy.bind_purpose(t, 'payroll')
  FROM unnest(ARRAY['agency.employees', 'agency.documents', 'agency.sick_leave']::regclass[]) t;
SELECT privacy.bind_purpose('agency.notes', 'talent_pool');
SELECT privacy.bind_purpose('agency.photos', 'photo_id');

SELECT privacy.define_recipient('belastingdienst', 'authority', 'NL', 'eu_eea', description => 'Tax office');
SELECT privacy.define_recipient('delta_logistiek', 'client', 'NL', 'eu_eea', contact => 'hr@delta.example');
SELECT privacy.define_recipient('payroll_cloud', 'processor', 'US', 'standard_contractual_clauses');
SELECT privacy.define_recipient('mail_relay', 'sub_processor', 'IE', 'eu_eea', processor_of => 'payroll_cloud');

SELECT privacy.load_retention_preset('nl_staffing');
SELECT privacy.create_retention_rule('payslips', 'agency.documents', 'payroll_record',
    start_expr => 'created_at', condition => $$doc_type = 'payslip'$$);
SELECT privacy.create_retention_rule('timesheets', 'agency.timesheets', 'working_time_record',
    start_expr => 'week_start');
RESET ROLE;

-- consent and disclosures (as the privacy officer)
SET ROLE rd_officer;
SELECT privacy.record_consent('candidate', pg_temp.cand('a')::text, 'talent_pool');
SELECT privacy.record_consent('candidate', pg_temp.cand('a')::text, 'photo_id');
SELECT privacy.record_consent('candidate', pg_temp.cand('a')::text, 'photo_id', false);
-- another candidate's consent to the photo does not count for a
SELECT privacy.record_consent('candidate', pg_temp.cand('q')::text, 'photo_id');
SELECT privacy.record_disclosure('delta_logistiek', 'candidate', c::text, ARRAY['identifying', 'contact'],
                                 now() - interval '30 days', 'CV sent for a vacancy'),
       privacy.record_disclosure('delta_logistiek', 'candidate', c::text, ARRAY['identifying'],
                                 now() - interval '10 days', 'placement confirmed'),
       privacy.record_disclosure('belastingdienst', 'candidate', c::text, ARRAY['identifying', 'financial'],
                                 now() - interval '5 days', 'wage tax return')
  FROM unnest(ARRAY[pg_temp.cand('a'), pg_temp.cand('b'), pg_temp.cand('r')]) c;
RESET ROLE;

SELECT is((SELECT string_agg(tag, ', ' ORDER BY tag) FROM rd_cand WHERE id IS NULL), NULL,
          'the generated data has a candidate for each role in the assertions');
SELECT is((SELECT count(DISTINCT id)::int FROM rd_cand), 5, 'five different candidates');

-------------------------------------------------------------------------------
-- access (art. 15)
-------------------------------------------------------------------------------
SET ROLE rd_officer;
INSERT INTO rd_doc (tag, doc) VALUES ('a', privacy.export_subject('candidate', pg_temp.cand('a')::text));
RESET ROLE;

SELECT set_eq($$SELECT jsonb_object_keys(pg_temp.doc('a') -> 'data')$$,
              ARRAY['agency.candidates', 'agency.documents', 'agency.employees', 'agency.notes',
                    'agency.photos', 'agency.placements', 'agency.sick_leave', 'agency.timesheets'],
              'the export has each of the 8 registered tables');
SELECT is((SELECT count(DISTINCT tbl)::int FROM pg_temp.rows_of_candidate(pg_temp.cand('a'))), 8,
          'the erased candidate has rows in each of them');
SELECT bag_eq($$SELECT tbl, id FROM pg_temp.rows_of_export(pg_temp.doc('a'))$$,
              $$SELECT tbl, id FROM pg_temp.rows_of_candidate(pg_temp.cand('a'))$$,
              'the export holds exactly the candidate''s rows, counted along the foreign keys');
SELECT is((SELECT count(*)::int FROM jsonb_each(pg_temp.doc('a') -> 'data') t, jsonb_array_elements(t.value) r
            WHERE (r ? 'candidate_id' AND (r ->> 'candidate_id')::bigint <> pg_temp.cand('a'))
               OR (t.key = 'agency.candidates' AND (r ->> 'id')::bigint <> pg_temp.cand('a'))), 0,
          'no row of another candidate');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(pg_temp.doc('a') -> 'data' -> 'agency.timesheets') r
            WHERE (r ->> 'placement_id')::bigint NOT IN (SELECT id FROM agency.placements
                                                          WHERE candidate_id = pg_temp.cand('a'))), 0,
          'timesheets only of the candidate''s own placements');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(pg_temp.doc('a') -> 'data' -> 'agency.sick_leave') r
            WHERE (r ->> 'employee_id')::bigint NOT IN (SELECT id FROM agency.employees
                                                         WHERE candidate_id = pg_temp.cand('a'))), 0,
          'sick leave only of the candidate''s own employment');
SELECT is(pg_temp.doc('a') -> 'data' -> 'agency.candidates' -> 0 ->> 'last_name',
          (SELECT last_name FROM agency.candidates WHERE id = pg_temp.cand('a')),
          'the candidate''s row as it is stored');
SELECT is(pg_temp.doc('a') -> 'data' -> 'agency.candidates' -> 0 ->> 'bsn',
          (SELECT bsn::text FROM agency.candidates WHERE id = pg_temp.cand('a')),
          'the BSN as the table holds it');
SELECT ok((pg_temp.doc('a') -> 'data' -> 'agency.candidates' -> 0 ->> 'bsn') ~ '^[0-9]{9}$'
          AND agency.valid_bsn((pg_temp.doc('a') -> 'data' -> 'agency.candidates' -> 0 ->> 'bsn')::bigint),
          'the BSN in full: nine digits that pass the elfproef');
SET ROLE rd_clerk;
SELECT isnt((SELECT bsn::text FROM agency.candidates WHERE id = pg_temp.cand('a')),
            pg_temp.doc('a') -> 'data' -> 'agency.candidates' -> 0 ->> 'bsn',
            'which the clerk does not see');
RESET ROLE;

SELECT results_eq($$SELECT pg_temp.doc('a') -> 'subject' AS subject, pg_temp.doc('a') ->> 'kind' AS kind$$,
                  $$SELECT jsonb_build_object('type', 'candidate', 'key', pg_temp.cand('a')::text,
                                              'description', 'Kandidaten: people registered with the agency'),
                           'access (AVG art. 15)'$$,
                  'the subject and the kind of export');
SELECT set_eq($$SELECT p ->> 'purpose' AS purpose, p ->> 'legal_basis' AS basis, p ->> 'description' AS descr
                  FROM jsonb_array_elements(pg_temp.doc('a') -> 'purposes') p$$,
              $$VALUES ('placement', 'contract', 'Placing workers with client companies'),
                       ('payroll', 'legal_obligation', 'Paying wages and wage tax'),
                       ('talent_pool', 'consent', 'Offering later vacancies'),
                       ('photo_id', 'consent', 'A photo on the worker''s pass')$$,
              'the purposes with their legal basis');
SELECT is((SELECT p ->> 'basis_detail' FROM jsonb_array_elements(pg_temp.doc('a') -> 'purposes') p
            WHERE p ->> 'purpose' = 'payroll'), 'Wet op de loonbelasting 1964', 'and the detail of the basis');
SELECT results_eq($$SELECT c ->> 'purpose' AS purpose, c ->> 'withdrawn_at' IS NOT NULL AS withdrawn
                      FROM jsonb_array_elements(pg_temp.doc('a') -> 'consents') c ORDER BY 1$$,
                  $$VALUES ('photo_id', true), ('talent_pool', false)$$,
                  'the consents: the photo consent withdrawn, the talent pool consent standing');
SELECT set_has($$SELECT c ->> 'table' AS tbl, c ->> 'column' AS col, c ->> 'class' AS class
                   FROM jsonb_array_elements(pg_temp.doc('a') -> 'categories') c$$,
               $$VALUES ('agency.candidates', 'iban', 'financial'), ('agency.candidates', 'phone', 'contact')$$,
               'the classified columns');
SELECT bag_eq($$SELECT r ->> 'recipient' AS recipient, r ->> 'kind' AS kind, r ->> 'country' AS country,
                       r ->> 'safeguard' AS safeguard, r -> 'categories' AS categories
                  FROM jsonb_array_elements(pg_temp.doc('a') -> 'recipients') r$$,
              $$VALUES ('delta_logistiek', 'client', 'NL', 'eu_eea', '["identifying", "contact"]'::jsonb),
                       ('delta_logistiek', 'client', 'NL', 'eu_eea', '["identifying"]'::jsonb),
                       ('belastingdienst', 'authority', 'NL', 'eu_eea', '["identifying", "financial"]'::jsonb)$$,
              'the recipients: every disclosure with the categories');
SELECT is((SELECT array_agg((r ->> 'disclosed_at')::timestamptz ORDER BY ord)
             FROM jsonb_array_elements(pg_temp.doc('a') -> 'recipients') WITH ORDINALITY x(r, ord)),
          (SELECT array_agg(disclosed_at ORDER BY disclosed_at) FROM privacy.disclosure
            WHERE subject_type = 'candidate' AND subject_key = pg_temp.cand('a')::text),
          'with their dates, oldest first');
SELECT set_eq($$SELECT r ->> 'table' AS tbl, r ->> 'document_type' AS doctype, r ->> 'retention' AS retention,
                       r ->> 'minimum' AS minimum, r ->> 'source' AS source
                  FROM jsonb_array_elements(pg_temp.doc('a') -> 'retention') r$$,
              $$VALUES ('agency.documents', 'payroll_record', '7 years', '7 years',
                        'Algemene wet inzake rijksbelastingen (AWR), art. 52'),
                       ('agency.timesheets', 'working_time_record', '364 days', '364 days',
                        'Arbeidstijdenbesluit, art. 4.3:1; Arbeidstijdenwet, art. 4:3')$$,
              'the retention of the subject''s tables with their sources');
SELECT is(pg_temp.doc('a') -> 'legal_holds', '0'::jsonb, 'no legal hold');
SELECT is(pg_temp.doc('a') ->> 'source', 'Provided by the data subject', 'the source of the data');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements_text(pg_temp.doc('a') -> 'rights') r
            WHERE r LIKE '%complaint to the Autoriteit Persoonsgegevens%autoriteitpersoonsgegevens.nl%'), 1,
          'the rights: a complaint to the Autoriteit Persoonsgegevens');
SELECT set_has($$SELECT substring(r FROM 'art\. [0-9]+') FROM jsonb_array_elements_text(pg_temp.doc('a') -> 'rights') r$$,
               $$VALUES ('art. 15'), ('art. 16'), ('art. 17'), ('art. 18'), ('art. 20'), ('art. 21'), ('art. 77')$$,
               'access, rectification, erasure, restriction, portability, objection and complaint');
SELECT ok((pg_temp.doc('a') ->> 'generated_at')::timestamptz = now(), 'the time of the export');
SELECT results_eq($$SELECT action, object, subject_type, subject_key, details FROM privacy.audit_log
                     WHERE action = 'rights.export' ORDER BY seq DESC LIMIT 1$$,
                  $$SELECT 'rights.export', 'agency.candidates', 'candidate', pg_temp.cand('a')::text,
                           jsonb_build_object('rows', (SELECT jsonb_object_agg(tbl, n) FROM
                                                         (SELECT tbl, count(*) AS n FROM pg_temp.rows_of_candidate(pg_temp.cand('a'))
                                                           GROUP BY tbl) c),
                                              'request', NULL)$$,
                  'the export is audited with the row counts per table, no data');

SET ROLE rd_officer;
SELECT is(privacy.export_subject('candidate', '000' || pg_temp.cand('a')::text) - 'generated_at',
          pg_temp.doc('a') - 'generated_at', 'a key with leading zeros names the same candidate');
SELECT throws_ok($$SELECT privacy.export_subject('candidate', 'abc')$$, '22023',
                 'invalid key for subject type "candidate"', 'a key that is not a bigint');
RESET ROLE;

-------------------------------------------------------------------------------
-- portability (art. 20)
-------------------------------------------------------------------------------
SET ROLE rd_officer;
INSERT INTO rd_doc (tag, doc)
VALUES ('a_port', privacy.export_subject('candidate', pg_temp.cand('a')::text, portability => true));
RESET ROLE;
SELECT set_eq($$SELECT jsonb_object_keys(pg_temp.doc('a_port') -> 'data')$$,
              ARRAY['agency.candidates', 'agency.placements', 'agency.timesheets', 'agency.documents', 'agency.notes'],
              'portability: the tables bound to a contract, and the notes under consent given');
SELECT is((SELECT count(*)::int FROM jsonb_each(pg_temp.doc('a_port') -> 'data') t
            WHERE t.key IN ('agency.photos', 'agency.employees', 'agency.sick_leave')), 0,
          'not the photos (consent withdrawn, even though another candidate consented), nor legal obligations');
SELECT bag_eq($$SELECT tbl, id FROM pg_temp.rows_of_export(pg_temp.doc('a_port'))$$,
              $$SELECT tbl, id FROM pg_temp.rows_of_candidate(pg_temp.cand('a'))
                 WHERE tbl NOT IN ('agency.photos', 'agency.employees', 'agency.sick_leave')$$,
              'with every row of those tables');
SELECT is(pg_temp.doc('a_port') ->> 'kind', 'portability (AVG art. 20)', 'the kind of export');
SELECT is((SELECT action FROM privacy.audit_log ORDER BY seq DESC LIMIT 1), 'rights.export.portability',
          'audited as a portability export');
SET ROLE rd_officer;
SELECT is((SELECT count(*)::int FROM jsonb_object_keys(
              privacy.export_subject('candidate', pg_temp.cand('q')::text, portability => true) -> 'data') k
            WHERE k = 'agency.photos'), 1,
          'the candidate who consented to the photo gets the photos table');
RESET ROLE;

-------------------------------------------------------------------------------
-- the encrypted export
-------------------------------------------------------------------------------
SET ROLE rd_officer;
UPDATE rd_doc SET enc = privacy.export_subject_encrypted('candidate', pg_temp.cand('a')::text,
                                                          'correct horse battery staple')
 WHERE tag = 'a';
SELECT throws_ok($$SELECT privacy.export_subject_encrypted('candidate', pg_temp.cand('a')::text, 'short pass')$$,
                 '22023', 'the passphrase must be at least 12 characters', 'a passphrase of 10 characters');
RESET ROLE;
SELECT is(pg_temp.decrypt((SELECT enc FROM rd_doc WHERE tag = 'a'), 'correct horse battery staple')::jsonb
              - 'generated_at',
          pg_temp.doc('a') - 'generated_at',
          'the encrypted export decrypts to the same document');
SELECT is(position(convert_to((SELECT last_name FROM agency.candidates WHERE id = pg_temp.cand('a')), 'UTF8')
                   IN (SELECT enc FROM rd_doc WHERE tag = 'a')), 0,
          'the ciphertext does not show the name');
SELECT throws_like($$SELECT pg_temp.decrypt((SELECT enc FROM rd_doc WHERE tag = 'a'), 'wrong horse battery staple')$$,
                   '%Wrong key%', 'another passphrase does not decrypt it');

-------------------------------------------------------------------------------
-- who may export, erase and restrict
-------------------------------------------------------------------------------
SET ROLE rd_clerk;
SELECT throws_ok($$SELECT privacy.export_subject('candidate', pg_temp.cand('o')::text)$$, '42501',
                 'permission denied for function export_subject', 'a clerk cannot export');
SELECT throws_ok($$SELECT privacy.export_subject_encrypted('candidate', pg_temp.cand('o')::text, 'a long passphrase')$$,
                 '42501', 'permission denied for function export_subject_encrypted', 'nor export encrypted');
SELECT throws_ok($$SELECT privacy.erase_subject('candidate', pg_temp.cand('o')::text, 'art. 17(1)(a)')$$, '42501',
                 'permission denied for function erase_subject', 'nor erase');
SELECT throws_ok($$SELECT privacy.restrict_subject('candidate', pg_temp.cand('o')::text, 'contested')$$, '42501',
                 'permission denied for function restrict_subject', 'nor restrict');
RESET ROLE;
SET ROLE rd_admin;
SELECT throws_ok($$SELECT privacy.export_subject('candidate', pg_temp.cand('o')::text)$$, '42501',
                 'permission denied for function export_subject', 'the privacy admin cannot export');
SELECT throws_ok($$SELECT privacy.export_subject_encrypted('candidate', pg_temp.cand('o')::text, 'a long passphrase')$$,
                 '42501', 'permission denied for function export_subject_encrypted', 'nor export encrypted');
SELECT throws_ok($$SELECT privacy.erase_subject('candidate', pg_temp.cand('o')::text, 'art. 17(1)(a)')$$, '42501',
                 'permission denied for function erase_subject', 'nor erase');
SELECT throws_ok($$SELECT privacy.restrict_subject('candidate', pg_temp.cand('o')::text, 'contested')$$, '42501',
                 'permission denied for function restrict_subject', 'nor restrict');
RESET ROLE;
-- with EXECUTE granted directly, the functions still check the caller
GRANT EXECUTE ON FUNCTION privacy.export_subject(text, text, boolean, bigint),
                          privacy.export_subject_encrypted(text, text, text, boolean, bigint),
                          privacy.erase_subject(text, text, text, boolean, bigint),
                          privacy.restrict_subject(text, text, text, date, bigint) TO rd_clerk, rd_admin;
SET ROLE rd_clerk;
SELECT throws_ok($$SELECT privacy.export_subject('candidate', pg_temp.cand('o')::text)$$, '42501',
                 'permission denied to export a data subject', 'a clerk granted EXECUTE still cannot export');
SELECT throws_ok($$SELECT privacy.export_subject_encrypted('candidate', pg_temp.cand('o')::text, 'a long passphrase')$$,
                 '42501', 'permission denied to export a data subject', 'nor export encrypted');
SELECT throws_ok($$SELECT privacy.erase_subject('candidate', pg_temp.cand('o')::text, 'art. 17(1)(a)')$$, '42501',
                 'permission denied to erase a data subject', 'nor erase');
SELECT throws_ok($$SELECT privacy.restrict_subject('candidate', pg_temp.cand('o')::text, 'contested')$$, '42501',
                 'permission denied to restrict a data subject', 'nor restrict');
RESET ROLE;
SET ROLE rd_admin;
SELECT throws_ok($$SELECT privacy.export_subject('candidate', pg_temp.cand('o')::text)$$, '42501',
                 'permission denied to export a data subject', 'nor the admin granted EXECUTE');
SELECT throws_ok($$SELECT privacy.erase_subject('candidate', pg_temp.cand('o')::text, 'art. 17(1)(a)')$$, '42501',
                 'permission denied to erase a data subject', 'who cannot erase either');
SELECT throws_ok($$SELECT privacy.restrict_subject('candidate', pg_temp.cand('o')::text, 'contested')$$, '42501',
                 'permission denied to restrict a data subject', 'nor restrict');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION privacy.export_subject(text, text, boolean, bigint),
                           privacy.export_subject_encrypted(text, text, text, boolean, bigint),
                           privacy.erase_subject(text, text, text, boolean, bigint),
                           privacy.restrict_subject(text, text, text, date, bigint) FROM rd_clerk, rd_admin;
SELECT is((SELECT count(*)::int FROM privacy.restriction), 0, 'the refused calls restricted nobody');
SET ROLE rd_officer;
SELECT lives_ok($$SELECT privacy.export_subject('candidate', pg_temp.cand('o')::text)$$, 'the officer exports');
SELECT lives_ok($$SELECT privacy.erase_subject('candidate', pg_temp.cand('o')::text, 'art. 17(1)(a)', dry_run => true)$$,
                'and erases (a dry run here)');
RESET ROLE;

-------------------------------------------------------------------------------
-- a legal hold refuses the erasure
-------------------------------------------------------------------------------
CREATE TEMP TABLE rd_before AS SELECT * FROM pg_temp.all_rows();
SET ROLE rd_officer;
SELECT privacy.place_hold('candidate', pg_temp.cand('b')::text, 'Dispute at the kantonrechter');
SELECT throws_ok($$SELECT privacy.erase_subject('candidate', pg_temp.cand('b')::text, 'art. 17(1)(a)')$$, '55006',
                 'subject is under a legal hold', 'a candidate under a legal hold is not erased');
SELECT throws_ok($$SELECT privacy.erase_subject('candidate', pg_temp.cand('b')::text, 'art. 17(1)(a)', dry_run => true)$$,
                 '55006', 'subject is under a legal hold', 'not even in a dry run');
RESET ROLE;
SELECT bag_eq($$SELECT * FROM pg_temp.all_rows()$$, $$SELECT * FROM rd_before$$,
              'no row of any table changed');
SELECT is((SELECT count(*)::int FROM privacy.notification), 0, 'no recipient was notified');
SELECT is((SELECT count(*)::int FROM privacy.restriction), 0, 'nobody was restricted');
SELECT is((SELECT count(*)::int FROM privacy.audit_log WHERE action = 'rights.erase'), 0, 'no erasure was audited');

-------------------------------------------------------------------------------
-- erasure (art. 17)
-------------------------------------------------------------------------------
-- what the erasure of a must do, worked out by hand from the rows and the
-- two rules: payslips kept until 7 years after the end of their calendar
-- year, timesheets until 52 weeks after their week; placements with a kept
-- timesheet and the candidate row kept as referenced; the rest deleted
CREATE TEMP TABLE rd_expect AS
WITH a AS (SELECT pg_temp.cand('a') AS id),
docs AS (
    SELECT d.id, d.doc_type = 'payslip'
                 AND (date_trunc('year', d.created_at::date) + interval '8 years')::date > current_date AS kept,
           CASE WHEN d.doc_type = 'payslip' THEN (date_trunc('year', d.created_at::date) + interval '8 years')::date END AS until
      FROM agency.documents d, a WHERE d.candidate_id = a.id),
ts AS (
    SELECT t.id, t.placement_id, t.week_start + 364 > current_date AS kept, t.week_start + 364 AS until
      FROM agency.timesheets t JOIN agency.placements p ON p.id = t.placement_id, a WHERE p.candidate_id = a.id),
pl AS (
    SELECT p.id, EXISTS (SELECT FROM ts WHERE ts.placement_id = p.id AND ts.kept) AS kept
      FROM agency.placements p, a WHERE p.candidate_id = a.id)
SELECT 'agency.documents' AS tbl, count(*) FILTER (WHERE NOT kept) AS deleted,
       count(*) FILTER (WHERE kept) AS kept_duty, 0::bigint AS kept_ref, max(until) FILTER (WHERE kept) AS until
  FROM docs
UNION ALL
SELECT 'agency.timesheets', count(*) FILTER (WHERE NOT kept), count(*) FILTER (WHERE kept), 0,
       max(until) FILTER (WHERE kept)
  FROM ts
UNION ALL
SELECT 'agency.placements', count(*) FILTER (WHERE NOT kept), 0, count(*) FILTER (WHERE kept), NULL FROM pl
UNION ALL
SELECT 'agency.candidates', 0, 0, 1, NULL
UNION ALL
SELECT tbl, count(*), 0, 0, NULL FROM pg_temp.rows_of_candidate(pg_temp.cand('a'))
 WHERE tbl IN ('agency.employees', 'agency.sick_leave', 'agency.photos', 'agency.notes') GROUP BY tbl;
GRANT SELECT ON rd_expect TO PUBLIC;
-- the rows of a that stay
CREATE TEMP TABLE rd_stay AS
SELECT 'agency.documents' AS tbl, d.id FROM agency.documents d
 WHERE d.candidate_id = pg_temp.cand('a') AND d.doc_type = 'payslip'
   AND (date_trunc('year', d.created_at::date) + interval '8 years')::date > current_date
UNION ALL
SELECT 'agency.timesheets', t.id FROM agency.timesheets t JOIN agency.placements p ON p.id = t.placement_id
 WHERE p.candidate_id = pg_temp.cand('a') AND t.week_start + 364 > current_date
UNION ALL
SELECT DISTINCT 'agency.placements', p.id FROM agency.timesheets t JOIN agency.placements p ON p.id = t.placement_id
 WHERE p.candidate_id = pg_temp.cand('a') AND t.week_start + 364 > current_date
UNION ALL
SELECT 'agency.candidates', pg_temp.cand('a');
GRANT SELECT ON rd_stay TO PUBLIC;
SELECT ok((SELECT bool_and(deleted > 0) FROM rd_expect WHERE tbl <> 'agency.candidates')
          AND (SELECT bool_and(kept_duty > 0) FROM rd_expect WHERE tbl IN ('agency.documents', 'agency.timesheets'))
          AND (SELECT kept_ref > 0 FROM rd_expect WHERE tbl = 'agency.placements'),
          'the candidate has rows to delete in every table, and rows to keep for each rule and reference');

DROP TABLE rd_before;
CREATE TEMP TABLE rd_before AS SELECT * FROM pg_temp.all_rows();
CREATE TEMP TABLE rd_a_before AS SELECT * FROM pg_temp.rows_of_candidate(pg_temp.cand('a'));
GRANT SELECT ON rd_before, rd_a_before TO PUBLIC;
SET ROLE rd_officer;
INSERT INTO rd_req VALUES ('a_erase', privacy.register_request('candidate', pg_temp.cand('a')::text, 'erasure'));
INSERT INTO rd_doc (tag, doc)
VALUES ('a_dry', privacy.erase_subject('candidate', pg_temp.cand('a')::text, 'art. 17(1)(a): no longer needed',
                                       dry_run => true));
RESET ROLE;
SELECT bag_eq($$SELECT * FROM pg_temp.all_rows()$$, $$SELECT * FROM rd_before$$,
              'the dry run changes no row');
SELECT is((SELECT count(*)::int FROM privacy.restriction), 0, 'restricts nobody');
SELECT is((SELECT count(*)::int FROM privacy.notification), 0, 'notifies nobody');
SELECT is((SELECT status FROM privacy.request WHERE id = pg_temp.req('a_erase')), 'open', 'and leaves the request open');
SELECT is(pg_temp.doc('a_dry') -> 'dry_run', 'true'::jsonb, 'and says it was a dry run');

SET ROLE rd_officer;
INSERT INTO rd_doc (tag, doc)
VALUES ('a_erase', privacy.erase_subject('candidate', pg_temp.cand('a')::text, 'art. 17(1)(a): no longer needed',
                                         request_id => pg_temp.req('a_erase')));
RESET ROLE;
SELECT is(pg_temp.doc('a_dry') - 'dry_run', pg_temp.doc('a_erase') - 'dry_run' - 'restriction' - 'notifications',
          'the dry run returned what the erasure did');
SELECT set_eq($$SELECT t ->> 'table' AS tbl, (t ->> 'deleted')::bigint AS deleted,
                       coalesce((SELECT sum((k ->> 'rows')::bigint) FROM jsonb_array_elements(t -> 'kept') k
                                  WHERE k ->> 'why' LIKE 'a retention duty%'), 0) AS kept_duty,
                       coalesce((SELECT sum((k ->> 'rows')::bigint) FROM jsonb_array_elements(t -> 'kept') k
                                  WHERE k ->> 'why' = 'other rows still reference them'), 0) AS kept_ref
                  FROM jsonb_array_elements(pg_temp.doc('a_erase') -> 'tables') t$$,
              $$SELECT tbl, deleted, kept_duty, kept_ref FROM rd_expect$$,
              'per table: the rows deleted, kept for a retention duty and kept as referenced');
SELECT is((SELECT sum((t ->> 'anonymized')::int)::int FROM jsonb_array_elements(pg_temp.doc('a_erase') -> 'tables') t), 0,
          'nothing anonymized');
SELECT results_eq($$SELECT (pg_temp.doc('a_erase') ->> 'changed')::bigint AS changed,
                           (pg_temp.doc('a_erase') ->> 'kept')::bigint AS kept$$,
                  $$SELECT sum(deleted)::bigint, sum(kept_duty + kept_ref)::bigint FROM rd_expect$$,
                  'the totals changed and kept');
SELECT set_eq($$SELECT t ->> 'table' AS tbl, (k ->> 'erasable_from')::date AS erasable_from
                  FROM jsonb_array_elements(pg_temp.doc('a_erase') -> 'tables') t, jsonb_array_elements(t -> 'kept') k
                 WHERE k ? 'erasable_from'$$,
              $$SELECT tbl, until FROM rd_expect WHERE kept_duty > 0$$,
              'kept payslips and timesheets say from when they may be erased');
SELECT ok((SELECT array_position(a, 'agency.timesheets') < array_position(a, 'agency.placements')
              AND array_position(a, 'agency.sick_leave') < array_position(a, 'agency.employees')
              AND array_position(a, 'agency.candidates') = 8
             FROM (SELECT array_agg(t ->> 'table' ORDER BY ord) AS a
                     FROM jsonb_array_elements(pg_temp.doc('a_erase') -> 'tables') WITH ORDINALITY x(t, ord)) s),
          'tables handled children first, the candidates last');
SELECT bag_eq($$SELECT tbl, id FROM pg_temp.rows_of_candidate(pg_temp.cand('a'))$$,
              $$SELECT tbl, id FROM rd_stay$$,
              'the candidate''s rows left are exactly the kept ones');
SELECT bag_eq($$SELECT * FROM pg_temp.all_rows() WHERE (tbl, id) NOT IN (SELECT tbl, id FROM rd_stay)$$,
              $$SELECT * FROM rd_before WHERE (tbl, id) NOT IN (SELECT tbl, id FROM rd_a_before)$$,
              'every other candidate''s rows are untouched');
SELECT bag_eq($$SELECT * FROM pg_temp.all_rows() WHERE (tbl, id) IN (SELECT tbl, id FROM rd_stay)$$,
              $$SELECT * FROM rd_before WHERE (tbl, id) IN (SELECT tbl, id FROM rd_stay)$$,
              'the kept rows are kept as they were');
SELECT results_eq($$SELECT r.id, r.reason, r.restricted_until, r.lifted_at FROM privacy.restriction r
                     WHERE r.subject_type = 'candidate' AND r.subject_key = pg_temp.cand('a')::text$$,
                  $$SELECT (pg_temp.doc('a_erase') ->> 'restriction')::bigint,
                           'erasure requested; kept only as long as the law demands', NULL::date, NULL::timestamptz$$,
                  'what is kept is restricted, indefinitely while rows are kept as referenced');
SELECT is((SELECT count(*)::int FROM privacy.restriction), 1, 'one restriction in all');
SELECT set_eq($$SELECT recipient, event FROM privacy.notification
                 WHERE subject_type = 'candidate' AND subject_key = pg_temp.cand('a')::text AND event = 'erasure'$$,
              $$VALUES ('delta_logistiek', 'erasure'), ('belastingdienst', 'erasure')$$,
              'the client and the tax office are notified of the erasure');
SELECT is((SELECT count(*)::int FROM privacy.notification WHERE event = 'erasure'), 2,
          'once each, though the client received data twice: 2 notifications');
SELECT is((pg_temp.doc('a_erase') ->> 'notifications')::int, 2, 'the result counts them');
SELECT is((SELECT count(*)::int FROM privacy.notification WHERE event = 'restriction'
              AND subject_key = pg_temp.cand('a')::text), 2, 'and of the restriction, once each');
SELECT is((SELECT count(*)::int FROM privacy.notification WHERE subject_key <> pg_temp.cand('a')::text), 0,
          'no other candidate''s recipients are notified');
SELECT results_eq($$SELECT status, result FROM privacy.request WHERE id = pg_temp.req('a_erase')$$,
                  $$SELECT 'fulfilled', pg_temp.doc('a_erase')$$,
                  'the erasure request is closed as fulfilled with the result');
SELECT results_eq($$SELECT subject_key, details ->> 'reason', details -> 'request' FROM privacy.audit_log
                     WHERE action = 'rights.erase'$$,
                  $$SELECT pg_temp.cand('a')::text, 'art. 17(1)(a): no longer needed', to_jsonb(pg_temp.req('a_erase'))$$,
                  'the erasure is audited once, with its legal ground');
SELECT is((SELECT count(*)::int FROM privacy.audit_log a, agency.candidates c
            WHERE a.action = 'rights.erase' AND c.id = pg_temp.cand('a')
              AND (a.details::text LIKE '%' || c.last_name || '%' OR a.details::text LIKE '%' || c.bsn::text || '%'
                   OR a.details::text LIKE '%Loonstrook%')), 0,
          'with counts only: no name, BSN or file name');

-- the restriction in effect
SET ROLE rd_clerk;
SELECT results_eq($$SELECT (SELECT count(*) FROM agency.candidates WHERE id = pg_temp.cand('a')),
                           (SELECT count(*) FROM agency.documents WHERE candidate_id = pg_temp.cand('a')),
                           (SELECT count(*) FROM agency.placements WHERE candidate_id = pg_temp.cand('a')),
                           (SELECT count(*) FROM agency.timesheets WHERE id IN (SELECT id FROM rd_stay WHERE tbl = 'agency.timesheets'))$$,
                  $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
                  'a clerk with scope * sees none of the kept rows, also timesheets reached through placements');
SELECT is((SELECT count(*) FROM agency.candidates), (SELECT count(*) - 1 FROM rd_before WHERE tbl = 'agency.candidates'),
          'and every other candidate');
SELECT is(pg_temp.rows_of($$UPDATE agency.documents SET file_name = 'x.pdf' WHERE candidate_id = pg_temp.cand('a')$$), 0::bigint,
          'nor changes them');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM agency.documents WHERE candidate_id = pg_temp.cand('a') AND file_name = 'x.pdf'), 0,
          'the kept payslips are unchanged');
SET ROLE rd_officer;
SELECT bag_eq($$SELECT 'agency.candidates' AS tbl, id FROM agency.candidates WHERE id = pg_temp.cand('a')
                UNION ALL SELECT 'agency.documents', id FROM agency.documents WHERE candidate_id = pg_temp.cand('a')
                UNION ALL SELECT 'agency.placements', id FROM agency.placements WHERE candidate_id = pg_temp.cand('a')
                UNION ALL SELECT 'agency.timesheets', t.id FROM agency.timesheets t
                            JOIN agency.placements p ON p.id = t.placement_id WHERE p.candidate_id = pg_temp.cand('a')$$,
              $$SELECT tbl, id FROM rd_stay$$,
              'the officer sees them');
RESET ROLE;

-- again
SET ROLE rd_officer;
INSERT INTO rd_doc (tag, doc)
VALUES ('a_again', privacy.erase_subject('candidate', pg_temp.cand('a')::text, 'art. 17(1)(a): no longer needed'));
RESET ROLE;
SELECT is((pg_temp.doc('a_again') ->> 'changed')::int, 0, 'erasing again changes nothing');
SELECT is((SELECT sum((t ->> 'deleted')::int + (t ->> 'anonymized')::int)::int
             FROM jsonb_array_elements(pg_temp.doc('a_again') -> 'tables') t), 0, 'in no table');
SELECT is(pg_temp.doc('a_again') -> 'kept', pg_temp.doc('a_erase') -> 'kept', 'the same rows are kept');
SELECT is((pg_temp.doc('a_again') ->> 'notifications')::int, 0, 'nobody is notified');
SELECT is((SELECT count(*)::int FROM privacy.notification), 4, 'no notification was added');
SELECT is(pg_temp.doc('a_again') -> 'restriction', pg_temp.doc('a_erase') -> 'restriction', 'the same restriction');
SELECT is((SELECT count(*)::int FROM privacy.restriction), 1, 'and no second one');
SELECT bag_eq($$SELECT tbl, id FROM pg_temp.rows_of_candidate(pg_temp.cand('a'))$$,
              $$SELECT tbl, id FROM rd_stay$$, 'the kept rows are still there');

-------------------------------------------------------------------------------
-- requests and their deadlines (art. 12(3))
-------------------------------------------------------------------------------
SET ROLE rd_officer;
INSERT INTO rd_req VALUES
    ('jan2025', privacy.register_request('candidate', pg_temp.cand('q')::text, 'access', DATE '2025-01-31')),
    ('jan2024', privacy.register_request('candidate', pg_temp.cand('q')::text, 'access', DATE '2024-01-31')),
    ('mar2025', privacy.register_request('candidate', pg_temp.cand('q')::text, 'rectification', DATE '2025-03-31')),
    ('recent', privacy.register_request('candidate', pg_temp.cand('q')::text, 'objection', current_date - 5)),
    ('closed', privacy.register_request('candidate', pg_temp.cand('q')::text, 'restriction', current_date - 2)),
    ('due_soon', privacy.register_request('candidate', pg_temp.cand('o')::text, 'access', current_date - 25)),
    ('overdue', privacy.register_request('candidate', pg_temp.cand('o')::text, 'erasure', current_date - 40)),
    ('not_due', privacy.register_request('candidate', pg_temp.cand('o')::text, 'access', current_date)),
    ('refused', privacy.register_request('candidate', pg_temp.cand('o')::text, 'erasure', current_date - 40)),
    ('extended_due', privacy.register_request('candidate', pg_temp.cand('o')::text, 'portability', current_date - 25));
RESET ROLE;
SELECT results_eq($$SELECT deadline FROM privacy.request WHERE id IN (pg_temp.req('jan2025'), pg_temp.req('jan2024'),
                                                                      pg_temp.req('mar2025')) ORDER BY id$$,
                  $$VALUES (DATE '2025-02-28'), (DATE '2024-02-29'), (DATE '2025-04-30')$$,
                  'a month after 31 January is 28 February, 29 in a leap year; after 31 March, 30 April');
SELECT results_eq($$SELECT subject_type, subject_key, kind, received_on, status, registered_by, extended_reason
                      FROM privacy.request WHERE id = pg_temp.req('jan2025')$$,
                  $$SELECT 'candidate', pg_temp.cand('q')::text, 'access', DATE '2025-01-31', 'open', 'rd_officer'::name,
                           NULL::text$$,
                  'the request is stored open, with who registered it');
SET ROLE rd_officer;
SELECT is(privacy.extend_request(pg_temp.req('recent'), 'Documents in the archive of three branches'),
          (current_date - 5 + interval '3 months')::date, 'an extension: three months after receipt');
SELECT throws_ok(format('SELECT privacy.extend_request(%s, %L)', pg_temp.req('recent'), 'more time'), '55000',
                 format('request %s was already extended', pg_temp.req('recent')), 'only once');
SELECT throws_ok(format('SELECT privacy.extend_request(%s, NULL)', pg_temp.req('mar2025')), '22023',
                 'extending a request needs a reason', 'not without a reason');
SELECT throws_ok(format('SELECT privacy.extend_request(%s, %L)', pg_temp.req('due_soon'), '   '), '22023',
                 'extending a request needs a reason', 'nor with a blank one');
SELECT lives_ok(format('SELECT privacy.close_request(%s, %L)', pg_temp.req('closed'), 'withdrawn'),
                'a request is withdrawn');
SELECT throws_ok(format('SELECT privacy.extend_request(%s, %L)', pg_temp.req('closed'), 'more time'), '55000',
                 format('request %s is closed', pg_temp.req('closed')), 'a closed request is not extended');
SELECT throws_ok(format('SELECT privacy.extend_request(%s, %L)', pg_temp.req('jan2025'), 'more time'), '55000',
                 format('request %s is past its deadline and can no longer be extended', pg_temp.req('jan2025')),
                 'nor one past its deadline');
SELECT throws_ok($$SELECT privacy.register_request('candidate', '1', 'access', current_date + 1)$$, '22023',
                 'a request cannot be received in the future', 'a request from the future');
SELECT throws_ok($$SELECT privacy.register_request('candidate', '1', 'complaint')$$, '22023',
                 'invalid request kind "complaint"', 'an unknown kind');
SELECT lives_ok(format('SELECT privacy.close_request(%s, %L, %L)', pg_temp.req('refused'), 'refused',
                       '{"why": "manifestly unfounded"}'), 'an overdue request is refused');
SELECT lives_ok(format('SELECT privacy.extend_request(%s, %L)', pg_temp.req('extended_due'), 'Complex request'),
                'a request due soon is extended');
RESET ROLE;
SELECT results_eq($$SELECT extended_reason, deadline, status FROM privacy.request WHERE id = pg_temp.req('recent')$$,
                  $$SELECT 'Documents in the archive of three branches', (current_date - 5 + interval '3 months')::date, 'open'$$,
                  'the extension is stored with its reason');
SELECT results_eq($$SELECT status, result, closed_at IS NOT NULL FROM privacy.request WHERE id = pg_temp.req('refused')$$,
                  $$VALUES ('refused', '{"why": "manifestly unfounded"}'::jsonb, true)$$,
                  'closing stores the status and the result');

SET ROLE rd_officer;
SELECT set_eq($$SELECT id FROM privacy.requests_due WHERE id IN (SELECT id FROM rd_req)$$,
              $$SELECT pg_temp.req(t) FROM unnest(ARRAY['jan2025', 'jan2024', 'mar2025', 'due_soon', 'overdue']) t$$,
              'requests_due: the overdue open requests and the one due within a week, not the others');
SELECT results_eq($$SELECT overdue, extended, days_left = deadline - current_date, days_left BETWEEN 0 AND 7
                      FROM privacy.requests_due WHERE id = pg_temp.req('due_soon')$$,
                  $$VALUES (false, false, true, true)$$,
                  'the one due soon is not overdue and has 0 to 7 days left');
SELECT results_eq($$SELECT overdue, days_left < 0, deadline FROM privacy.requests_due WHERE id = pg_temp.req('overdue')$$,
                  $$SELECT true, true, (current_date - 40 + interval '1 month')::date$$,
                  'an overdue one says so');
RESET ROLE;

-- fulfilled by the export
SET ROLE rd_officer;
INSERT INTO rd_req VALUES
    ('access', privacy.register_request('candidate', pg_temp.cand('q')::text, 'access')),
    ('other_subject', privacy.register_request('candidate', pg_temp.cand('o')::text, 'access')),
    ('other_kind', privacy.register_request('candidate', pg_temp.cand('q')::text, 'erasure')),
    ('portability', privacy.register_request('candidate', pg_temp.cand('q')::text, 'portability'));
INSERT INTO rd_doc (tag, doc)
VALUES ('q', privacy.export_subject('candidate', pg_temp.cand('q')::text, request_id => pg_temp.req('access')));
RESET ROLE;
SELECT results_eq($$SELECT status, closed_at IS NOT NULL, result FROM privacy.request WHERE id = pg_temp.req('access')$$,
                  $$SELECT 'fulfilled', true,
                           jsonb_build_object('exported_rows', jsonb_object_agg(t, (SELECT count(*) FROM pg_temp.rows_of_candidate(pg_temp.cand('q')) r
                                                                                    WHERE r.tbl = t)))
                      FROM unnest(ARRAY['agency.candidates', 'agency.documents', 'agency.employees', 'agency.notes',
                                        'agency.photos', 'agency.placements', 'agency.sick_leave', 'agency.timesheets']) t$$,
                  'an access request is closed as fulfilled with the row counts per table');
SELECT bag_eq($$SELECT tbl, id FROM pg_temp.rows_of_export(pg_temp.doc('q'))$$,
              $$SELECT tbl, id FROM pg_temp.rows_of_candidate(pg_temp.cand('q'))$$,
              'and the export holds that candidate''s rows');
SELECT is((SELECT details -> 'request' FROM privacy.audit_log WHERE action = 'rights.export' ORDER BY seq DESC LIMIT 1),
          to_jsonb(pg_temp.req('access')), 'the audit entry names the request');
SET ROLE rd_officer;
SELECT throws_ok(format('SELECT privacy.export_subject(%L, %L, request_id => %s)', 'candidate', pg_temp.cand('q'),
                        pg_temp.req('other_subject')), '22023',
                 format('request %s is not an open access request of this subject', pg_temp.req('other_subject')),
                 'a request of another subject is refused');
SELECT throws_ok(format('SELECT privacy.export_subject(%L, %L, request_id => %s)', 'candidate', pg_temp.cand('q'),
                        pg_temp.req('other_kind')), '22023',
                 format('request %s is not an open access request of this subject', pg_temp.req('other_kind')),
                 'so is an erasure request');
SELECT throws_ok(format('SELECT privacy.export_subject(%L, %L, request_id => %s)', 'candidate', pg_temp.cand('q'),
                        pg_temp.req('access')), '22023',
                 format('request %s is not an open access request of this subject', pg_temp.req('access')),
                 'and one already fulfilled');
SELECT throws_ok(format('SELECT privacy.export_subject(%L, %L, request_id => %s)', 'candidate', pg_temp.cand('q'),
                        pg_temp.req('portability')), '22023',
                 format('request %s is not an open access request of this subject', pg_temp.req('portability')),
                 'a portability request is not fulfilled by an access export');
SELECT lives_ok(format('SELECT privacy.export_subject(%L, %L, portability => true, request_id => %s)', 'candidate',
                       pg_temp.cand('q'), pg_temp.req('portability')),
                'but by a portability export');
RESET ROLE;
SELECT results_eq($$SELECT id, status FROM privacy.request
                     WHERE id IN (pg_temp.req('other_subject'), pg_temp.req('other_kind'), pg_temp.req('portability'))
                     ORDER BY id$$,
                  $$VALUES (pg_temp.req('other_subject'), 'open'), (pg_temp.req('other_kind'), 'open'),
                           (pg_temp.req('portability'), 'fulfilled')$$,
                  'the refused requests stay open');
SELECT is((SELECT result -> 'exported_rows' ? 'agency.photos' FROM privacy.request WHERE id = pg_temp.req('portability')),
          true, 'the portability result counts the photos this candidate consented to');

-------------------------------------------------------------------------------
-- rectification (art. 16, 19)
-------------------------------------------------------------------------------
SET ROLE rd_clerk;
SET privacy.actor = 'intake@agency.example';
UPDATE agency.candidates SET phone = '06-24681357' WHERE id = pg_temp.cand('r');
RESET privacy.actor;
RESET ROLE;
SELECT results_eq($$SELECT subject_type, subject_key, tbl, columns, rows, changed_by, actor FROM privacy.rectification$$,
                  $$SELECT 'candidate', pg_temp.cand('r')::text, 'agency.candidates', '{phone}'::name[], 1::bigint,
                           'rd_clerk'::name, 'intake@agency.example'$$,
                  'a changed phone number is recorded for the candidate: the column, not the value');
SELECT is((SELECT count(*)::int FROM privacy.rectification x WHERE to_jsonb(x)::text LIKE '%24681357%'), 0,
          'the new number is not in the record');
SELECT set_eq($$SELECT recipient, details FROM privacy.notification
                 WHERE event = 'rectification' AND subject_key = pg_temp.cand('r')::text$$,
              $$VALUES ('delta_logistiek', '{"table": "agency.candidates", "columns": ["phone"]}'::jsonb),
                       ('belastingdienst', '{"table": "agency.candidates", "columns": ["phone"]}'::jsonb)$$,
              'one rectification notification per recipient of the candidate''s data');
SELECT is((SELECT count(*)::int FROM privacy.notification WHERE event = 'rectification'), 2,
          'two in all, though the client received data twice');
SET ROLE rd_clerk;
UPDATE agency.candidates SET phone = phone, email = email WHERE id = pg_temp.cand('r');
UPDATE agency.timesheets SET hours = hours - 1
 WHERE placement_id IN (SELECT id FROM agency.placements WHERE candidate_id = pg_temp.cand('r'));
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.rectification WHERE tbl = 'agency.candidates'), 1,
          'an update that changes nothing records nothing');
SELECT results_eq($$SELECT subject_key, columns, rows FROM privacy.rectification WHERE tbl = 'agency.timesheets'$$,
                  $$SELECT pg_temp.cand('r')::text, '{hours}'::name[], count(*)
                      FROM agency.timesheets t JOIN agency.placements p ON p.id = t.placement_id
                     WHERE p.candidate_id = pg_temp.cand('r')$$,
                  'timesheets changed are recorded for the candidate reached through the placements');
SELECT is((SELECT count(*)::int FROM privacy.notification WHERE event = 'rectification'), 4,
          'and notified to the same two recipients');

-------------------------------------------------------------------------------
-- the record of processing (art. 30)
-------------------------------------------------------------------------------
SET ROLE rd_officer;
INSERT INTO rd_doc (tag, doc) VALUES ('register', privacy.processing_register());
INSERT INTO rd_doc (tag, doc) VALUES ('markdown', to_jsonb(privacy.processing_register_markdown()));
RESET ROLE;
SELECT set_eq($$SELECT p ->> 'purpose' AS purpose, p ->> 'legal_basis' AS basis, p -> 'tables' AS tables
                  FROM jsonb_array_elements(pg_temp.doc('register') -> 'purposes') p$$,
              $$VALUES ('payroll', 'legal_obligation', '["agency.documents", "agency.employees", "agency.sick_leave"]'::jsonb),
                       ('photo_id', 'consent', '["agency.photos"]'::jsonb),
                       ('placement', 'contract', '["agency.candidates", "agency.documents", "agency.placements", "agency.timesheets"]'::jsonb),
                       ('talent_pool', 'consent', '["agency.notes"]'::jsonb)$$,
              'every purpose with its legal basis and tables');
SELECT set_eq($$SELECT r ->> 'recipient' AS recipient, r ->> 'kind' AS kind, r ->> 'country' AS country,
                       r ->> 'processor_of' AS processor_of
                  FROM jsonb_array_elements(pg_temp.doc('register') -> 'recipients') r$$,
              $$VALUES ('belastingdienst', 'authority', 'NL', NULL), ('delta_logistiek', 'client', 'NL', NULL),
                       ('payroll_cloud', 'processor', 'US', NULL), ('mail_relay', 'sub_processor', 'IE', 'payroll_cloud')$$,
              'every recipient');
SELECT is(pg_temp.doc('register') -> 'transfers_outside_eea',
          '[{"country": "US", "recipient": "payroll_cloud", "safeguard": "standard_contractual_clauses"}]'::jsonb,
          'the transfer outside the EEA with its safeguard');
SELECT set_eq($$SELECT r ->> 'document_type' FROM jsonb_array_elements(pg_temp.doc('register') -> 'retention') r$$,
              $$SELECT name FROM privacy.document_type$$,
              'every document type');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(pg_temp.doc('register') -> 'retention') r), 7,
          'the 7 of the preset');
SELECT is((SELECT s -> 'tables' FROM jsonb_array_elements(pg_temp.doc('register') -> 'subject_categories') s
            WHERE s ->> 'subject_type' = 'candidate'),
          '["agency.candidates", "agency.documents", "agency.employees", "agency.notes", "agency.photos",
            "agency.placements", "agency.sick_leave", "agency.timesheets"]'::jsonb,
          'the candidates with their tables');
SELECT set_has($$SELECT c ->> 'class' AS class, col AS col
                   FROM jsonb_array_elements(pg_temp.doc('register') -> 'data_categories') c,
                        jsonb_array_elements_text(c -> 'columns') col$$,
               $$VALUES ('financial', 'agency.candidates.iban'), ('contact', 'agency.candidates.phone')$$,
               'the classified columns');
SELECT is((SELECT count(*)::int FROM regexp_matches(pg_temp.doc('markdown') #>> '{}',
               '^(# Record of processing activities \(AVG art\. 30\)|## Purposes|## Categories of subjects|## Categories of data|## Recipients|## Retention periods|## Security measures)$',
               'gn')), 7,
          'the Markdown has its seven headings');
SELECT ok(strpos(pg_temp.doc('markdown') #>> '{}', '| payroll_cloud | processor | US | standard_contractual_clauses |') > 0,
          'and a row per recipient');
SELECT ok(strpos(pg_temp.doc('markdown') #>> '{}', '| payroll: Paying wages and wage tax | legal_obligation (Wet op de loonbelasting 1964) | candidate |') > 0,
          'and per purpose');
SET ROLE rd_admin;
SELECT is(privacy.processing_register() - 'generated_at', pg_temp.doc('register') - 'generated_at',
          'the admin reads the same record');
RESET ROLE;
SET ROLE rd_clerk;
SELECT throws_ok($$SELECT privacy.processing_register()$$, '42501',
                 'permission denied for function processing_register', 'a clerk does not');
SELECT throws_ok($$SELECT privacy.processing_register_markdown()$$, '42501',
                 'permission denied for function processing_register_markdown', 'nor its Markdown');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
