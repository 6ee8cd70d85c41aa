-- Discovery of stray identifiers: BSNs and IBANs in free text, as the
-- privacy admin, the privacy officer, a payroll officer (who sees BSNs) and
-- a clerk (who sees them masked); scanning a table; redacting in place.
BEGIN;
SELECT plan(27);

SET client_min_messages = warning;
CREATE ROLE dc_admin LOGIN IN ROLE privacy_admin;
CREATE ROLE dc_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE dc_payroll LOGIN IN ROLE privacy_bsn;
CREATE ROLE dc_clerk LOGIN;
CREATE SCHEMA dc;
GRANT USAGE ON SCHEMA dc TO dc_admin, dc_officer, dc_payroll, dc_clerk;
CREATE TABLE dc.notes (id int PRIMARY KEY, body text, author varchar(40), amount int);
INSERT INTO dc.notes VALUES
    (1, 'Belt terug na de vakantie', 'anna', 1),
    (2, 'BSN 111222333 gecontroleerd', 'piet', 2),
    (3, 'sofinummer 1234.56.782, rekening NL91 ABNA 0417 1643 00', 'piet', 3),
    (4, 'IBAN NL91ABNA0417164300 en tel 0612345678', 'BSN 123-456-782', 4),
    (5, 'ordernummer 111222334 (geen BSN) en NL91ABNA0417164301', 'anna', 5);
GRANT SELECT ON dc.notes TO dc_admin, dc_officer, dc_payroll, dc_clerk;
RESET client_min_messages;

-- the finder
SELECT results_eq($$SELECT kind, pos, match FROM privacy.find_identifiers('BSN 111222333 en 1234.56.782')$$,
                  $$VALUES ('bsn', 5, '111222333'), ('bsn', 18, '1234.56.782')$$,
                  'BSNs are found plain and with separators, with their position');
SELECT results_eq($$SELECT kind, match FROM privacy.find_identifiers('NL91 ABNA 0417 1643 00 / NL91ABNA0417164300')$$,
                  $$VALUES ('iban', 'NL91 ABNA 0417 1643 00'), ('iban', 'NL91ABNA0417164300')$$,
                  'IBANs are found in groups of four and compact');
SELECT is((SELECT count(*)::int FROM privacy.find_identifiers('111222334 NL91ABNA0417164301 0612345678 20261129')), 0,
          'a wrong check digit, a wrong IBAN check, a phone number and a date are not identifiers');
SELECT is((SELECT count(*)::int FROM privacy.find_identifiers('111222333123456782')), 0,
          'an 18-digit run is not two BSNs');
SELECT is((SELECT count(*)::int FROM privacy.find_identifiers('111222333 123456782')), 2,
          'two BSNs written next to each other are both found');
SELECT is((SELECT match FROM privacy.find_identifiers('BE68539007547034')), 'BE68539007547034',
          'an IBAN of another country, with its own length');
SELECT is((SELECT count(*)::int FROM privacy.find_identifiers('')), 0, 'an empty text has none');
SELECT ok(privacy.has_identifier('x 111222333 y') AND privacy.has_identifier('x NL91ABNA0417164300')
          AND NOT privacy.has_identifier('x 111222334 y'), 'has_identifier is the fast filter');
SELECT is(privacy.redact_identifiers('BSN 1112.22.333 en IBAN NL91 ABNA 0417 1643 00.'),
          'BSN ****.**.333 en IBAN NL** **** **** **43 00.', 'redaction keeps the separators and the last digits');

-- who sees what
SET ROLE dc_clerk;
SELECT results_eq($$SELECT match FROM privacy.find_identifiers('BSN 111222333 IBAN NL91ABNA0417164300')$$,
                  $$VALUES ('******333'), ('NL************4300')$$,
                  'a clerk gets the matches masked');
SELECT throws_ok($$SELECT * FROM privacy.scan_table('dc.notes')$$, '42501', NULL,
                 'a clerk may not scan tables');
SET ROLE dc_payroll;
SELECT is((SELECT match FROM privacy.find_identifiers('BSN 111222333')), '111222333',
          'payroll, a member of privacy_bsn, gets the match in full');
RESET ROLE;

-- scanning a table
SET ROLE dc_officer;
SELECT is((SELECT string_agg(format('%s|%s|%s|%s', column_name, row_key, kind, match), '; '
                              ORDER BY column_name, row_key, kind, match)
             FROM privacy.scan_table('dc.notes')),
          'author|4|bsn|***-***-782; body|2|bsn|******333; body|3|bsn|****.**.782; '
          'body|3|iban|NL** **** **** **43 00; body|4|iban|NL************4300',
          'the officer scans every text column and sees the matches masked, with the row key');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.scan_table('dc.notes') WHERE match = '111222333'), 1,
          'a superuser sees the match in full');
SELECT is((SELECT count(*)::int FROM privacy.scan_table('dc.notes') WHERE column_name = 'amount'), 0,
          'columns that are not text are not scanned');

-- a table without a primary key is keyed by tuple id
CREATE TABLE dc.loose (memo text);
INSERT INTO dc.loose VALUES ('BSN 111222333');
SELECT matches((SELECT row_key FROM privacy.scan_table('dc.loose')), '^\(0,1\)$', 'without a primary key the row key is the tuple id');

-- redacting in place
SET ROLE dc_officer;
SELECT throws_ok($$SELECT privacy.redact_table('dc.notes', 'body')$$, '42501', NULL,
                 'the officer may not redact (the admin does)');
SET ROLE dc_admin;
SELECT throws_ok($$SELECT privacy.redact_table('dc.notes', 'amount')$$, '42809',
                 'column "amount" of "dc.notes" is not a text column', 'only text columns are redacted');
SELECT throws_ok($$SELECT privacy.redact_table('dc.notes', 'nope')$$, '42703', NULL,
                 'an unknown column is a clear error');
SELECT is(privacy.redact_table('dc.notes', 'body'), 3::bigint, 'redact_table reports the rows it changed');
RESET ROLE;
SELECT is(privacy.audit_pending() > 0, true, 'the redaction is audited');
SELECT is((SELECT details->>'rows' FROM privacy.audit_log WHERE action = 'identifiers.redact' ORDER BY seq DESC LIMIT 1),
          '3', 'the audit entry holds the row count, no value');
SELECT is((SELECT body FROM dc.notes WHERE id = 2), 'BSN ******333 gecontroleerd', 'the BSN is masked in place');
SELECT is((SELECT body FROM dc.notes WHERE id = 1), 'Belt terug na de vakantie', 'other notes are untouched');
SELECT is((SELECT count(*)::int FROM privacy.scan_table('dc.notes') WHERE column_name = 'body'), 0,
          'nothing is found in the column any more');
SELECT is((SELECT count(*)::int FROM privacy.scan_table('dc.notes') WHERE column_name = 'author'), 1,
          'the other column still has its match');
SELECT is((SELECT body FROM dc.notes WHERE id = 5), 'ordernummer 111222334 (geen BSN) en NL91ABNA0417164301',
          'numbers that are no identifiers stay as they were');

SELECT * FROM finish();
ROLLBACK;
