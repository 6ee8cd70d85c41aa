-- Retention rules, document types and legal holds, without running the
-- purge.
--
-- retention_clock and retention_expiry on calendar edges: 31 December and
-- 1 January with end_of_year, the leap day plus one and four years,
-- end_of_month on 31 January and in February of a leap year, no rounding,
-- a minimum keep period that wins over a shorter retention (and not over a
-- longer one), infinite dates.  The nl_staffing preset adds its 7 types,
-- each with a source and a legal basis; loading it again adds none and
-- keeps a type the controller changed.  define_document_type,
-- drop_document_type and create_retention_rule refuse bad input with exact
-- SQLSTATEs and messages; the expression check refuses clauses, volatile
-- functions, functions outside pg_catalog, readers of files and relations
-- (pg_read_file, query_to_xml, table_to_xml), system catalogs, temporary
-- tables, tables the admin may not read, views that run other functions,
-- row locks, domains, sets and aggregates, and accepts a subquery over a
-- table the admin may read; anonymize specifications are checked against
-- the table (keys, NOT NULL, generated columns, types and lengths).
-- or_replace, drop_retention_rule.  Only members of privacy_admin manage
-- types and rules (42501 for a clerk and the officer, also through SET
-- ROLE, a direct EXECUTE grant and a security definer function); the
-- officer reads the status and places and releases holds, a clerk does
-- not.  Audit entries carry action names and no row contents (no BSN).
-- retention_status and expired_rows on a small data set: counts, held
-- rows, next_expiry, expired_since, a subject's column through
-- (subject_type).col, a table registered through a foreign-key path, a
-- row other rows reference, and BSN keys masked.
BEGIN;
SELECT plan(223);

SET client_min_messages = warning;
CREATE ROLE rt_admin IN ROLE privacy_admin;
CREATE ROLE rt_officer IN ROLE privacy_officer;
CREATE ROLE rt_clerk;
CREATE SCHEMA rt;
GRANT USAGE ON SCHEMA rt TO rt_admin, rt_officer, rt_clerk;
GRANT CREATE ON SCHEMA rt TO rt_admin;

CREATE TABLE rt.candidates (
    id       int PRIMARY KEY,
    name     text NOT NULL,
    left_on  date
);
CREATE TABLE rt.id_copies (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES rt.candidates,
    scanned_on   date NOT NULL,
    image        text
);
CREATE TABLE rt.placements (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES rt.candidates,
    started_on   date NOT NULL
);
CREATE TABLE rt.timesheets (
    id           int PRIMARY KEY,
    placement_id int NOT NULL REFERENCES rt.placements,
    worked_on    date NOT NULL,
    hours        numeric NOT NULL
);
CREATE TABLE rt.employees (
    bsn       privacy.bsn PRIMARY KEY,
    name      text NOT NULL,
    ended_on  date
);
CREATE TABLE rt.tax_forms (
    bsn          privacy.bsn PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES rt.candidates,
    filed_on     date NOT NULL
);
CREATE TABLE rt.notes (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES rt.candidates,
    written_on   date NOT NULL,
    body         text,
    n            int,
    code         varchar(3),
    ref          text UNIQUE,
    shout        text GENERATED ALWAYS AS (upper(body)) STORED
);
CREATE TABLE rt.unregistered (id int PRIMARY KEY, d date);
CREATE TABLE rt.lookup (id int PRIMARY KEY);
CREATE TABLE rt.secret (id int PRIMARY KEY);
CREATE DOMAIN rt.posint AS int CHECK (VALUE > 0);
GRANT SELECT ON rt.lookup TO rt_admin;
-- a rule reads only what its author may read: the tables it binds
GRANT SELECT ON rt.candidates, rt.id_copies, rt.placements, rt.timesheets, rt.employees,
                rt.tax_forms, rt.notes TO rt_admin;
GRANT SELECT ON rt.candidates, rt.id_copies TO rt_clerk;

INSERT INTO rt.candidates VALUES
    (1, 'Jan Jansen', CURRENT_DATE - 800),
    (2, 'Piet Pietersen', CURRENT_DATE - 200),
    (3, 'Klaas Klaassen', NULL);
INSERT INTO rt.id_copies VALUES
    (1, 1, CURRENT_DATE - 100, 'scan-1'),
    (2, 2, CURRENT_DATE - 60, 'scan-2'),
    (3, 3, CURRENT_DATE - 10, 'scan-3'),
    (4, 2, CURRENT_DATE - 40, 'scan-4'),
    (5, 1, CURRENT_DATE - 5, 'scan-5');
INSERT INTO rt.placements VALUES
    (1, 1, CURRENT_DATE - 900),
    (2, 2, CURRENT_DATE - 600),
    (3, 3, CURRENT_DATE - 500);
INSERT INTO rt.timesheets VALUES
    (1, 1, CURRENT_DATE - 400, 8),
    (2, 1, CURRENT_DATE - 10, 8),
    (3, 2, CURRENT_DATE - 500, 6),
    (4, 3, CURRENT_DATE - 400, 4);
INSERT INTO rt.employees VALUES
    ('111222333', 'Anna de Vries', CURRENT_DATE - 3000),
    ('123456782', 'Bram Bakker', CURRENT_DATE - 10);
INSERT INTO rt.tax_forms VALUES
    ('123456782', 1, CURRENT_DATE - 400),
    ('111222333', 3, CURRENT_DATE - 10);
INSERT INTO rt.lookup VALUES (1);

SELECT privacy.register_subject_type('rt_candidate', 'rt.candidates', 'id');
SELECT privacy.register_subject_type('rt_employee', 'rt.employees', 'bsn');
SELECT privacy.register_table('rt.candidates', 'rt_candidate');
SELECT privacy.register_table('rt.id_copies', 'rt_candidate', key_column => 'candidate_id');
SELECT privacy.register_table('rt.placements', 'rt_candidate', key_column => 'candidate_id');
SELECT privacy.register_table('rt.timesheets', 'rt_candidate', via => ARRAY['rt.placements', 'rt.candidates']::regclass[]);
SELECT privacy.register_table('rt.notes', 'rt_candidate', key_column => 'candidate_id');
SELECT privacy.register_table('rt.employees', 'rt_employee');
SELECT privacy.register_table('rt.tax_forms', 'rt_candidate', key_column => 'candidate_id');

-- the error of a statement as "SQLSTATE: message (detail)"
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || CASE WHEN det <> '' THEN ' (' || det || ')' ELSE '' END;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text) TO PUBLIC;

-- the newest audit entry
CREATE FUNCTION pg_temp.last_audit() RETURNS privacy.audit_log LANGUAGE sql AS $$
    SELECT * FROM privacy.audit_log ORDER BY seq DESC LIMIT 1
$$;

-------------------------------------------------------------------------------
-- the calendar
-------------------------------------------------------------------------------
SELECT is(privacy.retention_clock('2020-12-31', 'end_of_year'), '2021-01-01'::date,
          'end_of_year: the clock of 31 December starts the next day');
SELECT is(privacy.retention_expiry('2020-12-31', '7 years', 'end_of_year'), '2028-01-01'::date,
          'end_of_year: 31 December 2020 plus 7 years expires on 1 January 2028');
SELECT is(privacy.retention_clock('2021-01-01', 'end_of_year'), '2022-01-01'::date,
          'end_of_year: the clock of 1 January starts a year later');
SELECT is(privacy.retention_expiry('2021-01-01', '1 year', 'end_of_year'), '2023-01-01'::date,
          'end_of_year: 1 January 2021 plus 1 year expires on 1 January 2023');
SELECT is(privacy.retention_expiry('2020-02-29', '1 year'), '2021-02-28'::date,
          'the leap day plus 1 year: 28 February');
SELECT is(privacy.retention_expiry('2020-02-29', '4 years'), '2024-02-29'::date,
          'the leap day plus 4 years: the leap day');
SELECT is(privacy.retention_expiry('2020-02-29', '1 year', 'end_of_year'), '2022-01-01'::date,
          'the leap day with end_of_year');
SELECT is(privacy.retention_clock('2021-01-31', 'end_of_month'), '2021-02-01'::date,
          'end_of_month: the clock of 31 January starts on 1 February');
SELECT is(privacy.retention_expiry('2021-01-31', '1 month', 'end_of_month'), '2021-03-01'::date,
          'end_of_month: 31 January plus a month expires on 1 March');
SELECT is(privacy.retention_expiry('2021-01-31', '1 month'), '2021-02-28'::date,
          'no rounding: 31 January plus a month is the end of February');
SELECT is(privacy.retention_clock('2020-02-29', 'end_of_month'), '2020-03-01'::date,
          'end_of_month: the leap day starts the clock on 1 March');
SELECT is(privacy.retention_clock('2020-02-01', 'end_of_month'), '2020-03-01'::date,
          'end_of_month: 1 February of a leap year too');
SELECT is(privacy.retention_expiry('2020-02-15', '1 month', 'end_of_month'), '2020-04-01'::date,
          'end_of_month: mid February of a leap year plus a month');
SELECT is(privacy.retention_clock('2020-12-31', 'none'), '2020-12-31'::date, 'none: the start date itself');
SELECT is(privacy.retention_clock('2020-12-31'), '2020-12-31'::date, 'no rounding by default');
SELECT is(privacy.retention_expiry('2020-12-31', '1 day'), '2021-01-01'::date, 'none: the start plus the period');
SELECT is(privacy.retention_expiry('2020-01-01', '1 year', 'none', '5 years'), '2025-01-01'::date,
          'a minimum keep period longer than the retention wins');
SELECT is(privacy.retention_expiry('2020-06-15', '4 weeks', 'end_of_year', '5 years'), '2026-01-01'::date,
          'the minimum keep period runs from the rounded clock');
SELECT is(privacy.retention_expiry('2020-01-01', '5 years', 'none', '1 year'), '2025-01-01'::date,
          'a shorter minimum keep period does not shorten the retention');
SELECT is(privacy.retention_expiry('2020-01-01', '1 year', 'none', '0'), '2021-01-01'::date,
          'a minimum keep period of zero changes nothing');
SELECT is(privacy.retention_expiry('infinity', '1 year', 'end_of_year'), 'infinity'::date,
          'a start of infinity never expires');
SELECT is(privacy.retention_expiry('-infinity', '1 year', 'end_of_month', '5 years'), '-infinity'::date,
          'a start of -infinity has always expired');
SELECT is(privacy.retention_clock('infinity', 'end_of_month'), 'infinity'::date,
          'rounding leaves infinity alone');
SELECT is(privacy.retention_clock('-infinity', 'end_of_year'), '-infinity'::date,
          'rounding leaves -infinity alone');

-------------------------------------------------------------------------------
-- the preset
-------------------------------------------------------------------------------
SET ROLE rt_admin;
SELECT is(privacy.load_retention_preset(), 7, 'the nl_staffing preset adds 7 document types');
RESET ROLE;
SELECT is((SELECT action FROM pg_temp.last_audit()), 'retention.preset', 'loading the preset is audited');
SELECT is((SELECT details FROM pg_temp.last_audit()), '{"added": 7}'::jsonb, 'with the number added');
SELECT set_eq($$SELECT name FROM privacy.document_type WHERE preset = 'nl_staffing'$$,
              ARRAY['employee_id_copy', 'payroll_record', 'candidate_id_copy', 'rejected_applicant',
                    'rejected_applicant_consent', 'working_time_record', 'personnel_file'],
              'the 7 types of the preset');
SELECT is((SELECT count(*)::int FROM privacy.document_type
            WHERE preset = 'nl_staffing' AND btrim(coalesce(source, '')) <> ''
              AND btrim(coalesce(legal_basis, '')) <> '' AND btrim(clock) <> ''), 7,
          'each has a source, a legal basis and a clock');
SELECT results_eq($$SELECT retention, rounding, min_keep FROM privacy.document_type WHERE name = 'payroll_record'$$,
                  $$VALUES (interval '7 years', 'end_of_year', interval '7 years')$$,
                  'payroll records: 7 years from the end of the year, a legal minimum');
SET ROLE rt_admin;
SELECT lives_ok($$SELECT privacy.define_document_type('payroll_record', '10 years', 'the end of the calendar year',
                                                      'end_of_year', '7 years', 'delete', 'own policy', 'AWR art. 52')$$,
                'the controller changes a preset type');
SELECT is(privacy.load_retention_preset(), 0, 'loading the preset again adds nothing');
SELECT is(privacy.load_retention_preset('nl_staffing'), 0, 'nor by name');
RESET ROLE;
SELECT results_eq($$SELECT retention, legal_basis, preset FROM privacy.document_type WHERE name = 'payroll_record'$$,
                  $$VALUES (interval '10 years', 'own policy', NULL::text)$$,
                  'the controller''s change is kept, and the type no longer counts as preset');
SELECT is((SELECT count(*)::int FROM privacy.document_type WHERE preset = 'nl_staffing'), 6,
          'the other 6 are still the preset''s');
SELECT is((SELECT details FROM pg_temp.last_audit()), '{"added": 0}'::jsonb, 'the second load is audited as adding 0');
SELECT throws_ok($$SELECT privacy.load_retention_preset('de_staffing')$$, '42704',
                 'unknown retention preset "de_staffing"', 'an unknown preset');

-------------------------------------------------------------------------------
-- document types
-------------------------------------------------------------------------------
SET ROLE rt_admin;
SELECT lives_ok($$SELECT privacy.define_document_type('rt_copy', '4 weeks', 'the scan of the document',
                                                      legal_basis => 'Waadi art. 7c', source => 'test')$$,
                'the admin defines a document type');
SELECT lives_ok($$SELECT privacy.define_document_type('rt_file', '365 days', 'the day the candidate left')$$,
                'and a second one');
SELECT lives_ok($$SELECT privacy.define_document_type('rt_hours', '364 days', 'the day of the work',
                                                      min_keep => '364 days')$$,
                'one with a minimum keep period');
SELECT lives_ok($$SELECT privacy.define_document_type('rt_payroll', '2000 days', 'the end of the employment')$$,
                'one for the employees');
SELECT lives_ok($$SELECT privacy.define_document_type('rt_anon', '30 days', 'the note', action => 'anonymize')$$,
                'one that anonymizes');
SELECT lives_ok($$SELECT privacy.define_document_type('rt_signal', '30 days', 'the note', action => 'signal')$$,
                'one that only signals');
RESET ROLE;
SELECT results_eq($$SELECT retention, clock, rounding, min_keep, action, legal_basis, source, preset, changed_by
                      FROM privacy.document_type WHERE name = 'rt_copy'$$,
                  $$VALUES (interval '4 weeks', 'the scan of the document', 'none', NULL::interval, 'delete',
                            'Waadi art. 7c', 'test', NULL::text, 'rt_admin'::name)$$,
                  'the type is stored with its defaults and the calling role');
SELECT results_eq($$SELECT action, object, details FROM pg_temp.last_audit()$$,
                  $$VALUES ('retention.document_type', 'rt_signal',
                            '{"action": "signal", "min_keep": null, "previous": null, "rounding": "none", "retention": "30 days"}'::jsonb)$$,
                  'defining a type is audited with its periods');

SET ROLE rt_admin;
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', '1 year', 'x', rounding => 'end_of_week')$$,
                 '22023', 'invalid rounding "end_of_week"', 'an unknown rounding');
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', '1 year', 'x', rounding => NULL)$$,
                 '22023', 'invalid rounding "<NULL>"', 'no rounding at all');
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', '1 year', 'x', action => 'shred')$$,
                 '22023', 'invalid retention action "shred"', 'an unknown action');
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', '-1 day', 'x')$$,
                 '22023', 'a retention period must not be negative or missing', 'a negative retention');
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', NULL, 'x')$$,
                 '22023', 'a retention period must not be negative or missing', 'a missing retention');
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', '1 year', 'x', min_keep => '-1 year')$$,
                 '22023', 'a retention period must not be negative or missing', 'a negative minimum keep period');
SELECT is(pg_temp.error_of($$SELECT privacy.define_document_type('Bad Name', '1 year', 'x')$$),
          '42602: invalid document type name "Bad Name" (A document type name is lower case letters, digits and underscores, starting with a letter.)',
          'an invalid name');
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', '1 year', '  ')$$,
                 '22023', 'say what starts the clock of document type "rt_bad"', 'an empty clock');
SELECT throws_ok($$SELECT privacy.define_document_type('rt_bad', '1 year', NULL)$$,
                 '22023', 'say what starts the clock of document type "rt_bad"', 'no clock');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.document_type WHERE name IN ('rt_bad', 'Bad Name')), 0,
          'the refused definitions stored nothing');

-------------------------------------------------------------------------------
-- rules: what is accepted
-------------------------------------------------------------------------------
SET ROLE rt_admin;
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_copies', 'rt.id_copies', 'rt_copy', 'scanned_on')$$,
                'a rule with a start column');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_notes', 'rt.notes', 'rt_file',
                                                       '(rt_candidate).left_on',
                                                       condition => '(rt_candidate).left_on IS NOT NULL')$$,
                'a rule over a column of the subject, as (subject_type).col');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_hours', 'rt.timesheets', 'rt_hours', 'r.worked_on',
                                                       condition => '(rt_candidate).left_on IS NOT NULL')$$,
                'a rule over a table registered through a foreign-key path, with r.col');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_cands', 'rt.candidates', 'rt_file', 'left_on',
                                                       condition => 'left_on IS NOT NULL')$$,
                'a rule over the root table');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_forms', 'rt.tax_forms', 'rt_file', 'filed_on')$$,
                'a rule over a table with a BSN as its primary key');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_staff', 'rt.employees', 'rt_payroll', 'ended_on')$$,
                'a rule over the table of a subject type keyed by a BSN');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_ts', 'rt.placements', 'rt_file',
                                                       'started_on::timestamptz + interval ''1 hour''')$$,
                'a start expression of type timestamptz');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_lookup', 'rt.placements', 'rt_file', 'started_on',
                                                       condition => 'EXISTS (SELECT 1 FROM rt.lookup l WHERE l.id = r.id)')$$,
                'a subquery over a table the admin may read');
RESET ROLE;
SELECT results_eq($$SELECT rule, tbl, document_type, action, retention, min_keep, condition, start_expr, created_by
                      FROM privacy.retention_rules WHERE rule = 'rt_hours'$$,
                  $$VALUES ('rt_hours', 'rt.timesheets'::regclass, 'rt_hours', 'delete', interval '364 days',
                            interval '364 days', '(rt_candidate).left_on IS NOT NULL', 'r.worked_on', 'rt_admin'::name)$$,
                  'retention_rules shows the rule with its type''s periods');
SELECT results_eq($$SELECT action, object, details FROM privacy.audit_log WHERE action LIKE 'retention.rule%'
                     AND details ->> 'rule' = 'rt_copies'$$,
                  $$VALUES ('retention.rule', 'rt.id_copies',
                            '{"rule": "rt_copies", "start": "scanned_on", "anonymize": null, "condition": null, "retention": null, "document_type": "rt_copy"}'::jsonb)$$,
                  'creating a rule is audited with its definition');

-------------------------------------------------------------------------------
-- rules: what is refused
-------------------------------------------------------------------------------
SET ROLE rt_admin;
CREATE FUNCTION rt.is_old(d date) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN d < DATE '2000-01-01';
CREATE FUNCTION rt.loud() RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RETURN true; END$$;
CREATE VIEW rt.loud_view AS SELECT rt.loud() AS ok;
CREATE TEMP TABLE rt_tmp (id int);
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.nope', 'rt_file', 'd')$$,
                 '42P01', 'relation "rt.nope" does not exist', 'an unknown table');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_nope', 'started_on')$$,
                 '42704', 'document type "rt_nope" does not exist', 'an unknown document type');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.unregistered', 'rt_file', 'd')$$,
                 '42704', 'table "rt.unregistered" is not registered', 'an unregistered table');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on', condition => '1')$$,
                 '42804', 'the condition of retention rule "rt_x" is of type integer, not boolean',
                 'a condition that is not boolean');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.candidates', 'rt_file', 'name')$$,
                 '42804', 'the start expression of retention rule "rt_x" is of type text, not a date',
                 'a start that is not a date');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.candidates', 'rt_file', 'id')$$,
                 '42804', 'the start expression of retention rule "rt_x" is of type integer, not a date',
                 'a start that is a number');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'ended_on')$$,
                 '42703', 'column "ended_on" does not exist', 'an unknown column in the start');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => '(rt_candidate).nope')$$,
                 '42703', 'column "nope" not found in data type rt.candidates', 'an unknown column of the subject');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'started_on <')$$,
                 '42601', 'syntax error at end of input', 'a syntax error');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'true; DROP TABLE rt.lookup')$$,
                 '42601', 'syntax error at or near ";"', 'a second statement');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'true) FROM rt.secret --')$$,
                 '42601', 'syntax error at or near ")"', 'a closing parenthesis that would leave the expression');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'true FROM rt.secret')$$),
          '42601: the condition must be a single value expression (It may not have a FROM, WHERE or other clause, an alias, or several values.)',
          'an expression with a FROM clause');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'true WHERE false')$$,
                 '42601', 'the condition must be a single value expression', 'with a WHERE clause');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'true UNION SELECT false')$$,
                 '42601', 'syntax error at or near "UNION"', 'with a UNION');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'true, false')$$,
                 '42601', 'the condition must be a single value expression', 'with two values');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on AS s')$$,
                 '42601', 'the start expression must be a single value expression', 'a start with an alias');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'random() < 0.5')$$),
          '42501: the condition may not use random (Volatile functions may not be used.)',
          'a volatile function');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file',
                                                        '(started_on + random() * interval ''1 day'')::date')$$,
                 '42501', 'the start expression may not use random', 'a volatile function in the start');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'clock_timestamp() > started_on')$$,
                 '42501', 'the condition may not use clock_timestamp', 'clock_timestamp is volatile');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'rt.is_old(started_on)')$$),
          '42501: the condition may not use is_old (Only functions and operators of pg_catalog may be used.)',
          'an immutable function outside pg_catalog');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'pg_read_file(''/etc/passwd'') <> ''''')$$),
          '42501: the condition may not use pg_read_file (Volatile functions may not be used.)',
          'pg_read_file');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'query_to_xml(''SELECT 1'', true, true, '''') IS NOT NULL')$$,
                 '42501', 'the condition may not use query_to_xml', 'query_to_xml');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'table_to_xml(''rt.secret'', true, true, '''') IS NOT NULL')$$),
          '42501: the condition may not use table_to_xml (Functions that read relations or server state may not be used.)',
          'table_to_xml, a stable function');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'pg_has_role(''rt_clerk'', ''member'')')$$,
                 '42501', 'the condition may not use pg_has_role', 'no pg_ function at all');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'EXISTS (SELECT FROM pg_authid WHERE rolsuper)')$$),
          '42501: the condition may not use pg_authid (System catalogs may not be read.)',
          'a subquery over pg_authid');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => '(SELECT count(*) FROM pg_class) > 0')$$,
                 '42501', 'the condition may not use pg_class', 'a subquery over pg_class');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'EXISTS (SELECT FROM information_schema.tables)')$$,
                 '42501', NULL, 'a subquery over information_schema');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'EXISTS (SELECT FROM rt_tmp)')$$),
          '42501: the condition may not use rt_tmp (Temporary tables may not be read.)',
          'a subquery over a temporary table');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                                 condition => 'id IN (SELECT s.id FROM rt.secret s)')$$),
          '42501: the condition may not use secret (You may not read this table yourself.)',
          'a subquery over a table the admin may not read');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'EXISTS (SELECT FROM rt.lookup JOIN rt.secret USING (id))')$$,
                 '42501', 'the condition may not use secret', 'nor when joined to one it may read');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_view', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => '(SELECT ok FROM rt.loud_view)')$$,
                 '42501', NULL, 'a view of the admin that runs a function outside pg_catalog');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'EXISTS (SELECT FROM rt.lookup FOR UPDATE)')$$,
                 '42501', 'the condition may not use FOR UPDATE or FOR SHARE', 'a subquery that locks rows');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'id::rt.posint > 0')$$,
                 '42501', 'the condition may not use a domain', 'a cast to a domain');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'generate_series(1, 2) > 1')$$,
                 '0A000', 'the condition may not return a set', 'a set-returning expression');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'count(*) > 1')$$,
                 '42803', 'the condition may not use aggregate or window functions over the rows', 'an aggregate');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        condition => 'row_number() OVER () > 1')$$,
                 '42803', 'the condition may not use aggregate or window functions over the rows', 'a window function');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'max(started_on)')$$,
                 '42803', 'the start expression may not use aggregate or window functions over the rows',
                 'an aggregate start');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', '  ')$$,
                 '22023', 'a retention rule needs a start expression', 'an empty start');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_x', 'rt.placements', 'rt_file', 'started_on',
                                                        retention => '-1 day')$$,
                 '22023', 'a retention period must not be negative', 'a negative retention override');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('RT X', 'rt.placements', 'rt_file', 'started_on')$$),
          '42602: invalid retention rule name "RT X" (A rule name is lower case letters, digits and underscores, starting with a letter.)',
          'an invalid rule name');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.retention_rule WHERE name IN ('rt_x', 'RT X')), 0,
          'the refused rules stored nothing');
DELETE FROM privacy.retention_rule WHERE name = 'rt_view';
SELECT is((SELECT count(*)::int FROM privacy.audit_log WHERE action LIKE 'retention.rule%' AND details ->> 'rule' = 'rt_x'), 0,
          'and audited nothing');

-------------------------------------------------------------------------------
-- anonymize specifications
-------------------------------------------------------------------------------
SET ROLE rt_admin;
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on')$$,
                 '22023', 'document type "rt_anon" has action anonymize, so the rule must name columns to anonymize',
                 'an anonymizing type needs columns');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_file', 'written_on',
                                                        anonymize => '{"body": null}')$$,
                 '22023', 'document type "rt_file" has action delete, so the rule must not name columns to anonymize',
                 'a deleting type takes no columns');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{}')$$,
                 '22023', 'anonymize must be a JSON object naming at least one column', 'an empty object');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '["body"]')$$,
                 '22023', 'anonymize must be a JSON object naming at least one column', 'an array');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"nope": null}')$$,
                 '42703', 'column "nope" of relation "rt.notes" does not exist', 'an unknown column');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"id": "0"}')$$,
                 '22023', 'column "id" of "rt.notes" is part of a key or constraint and cannot be anonymized',
                 'the primary key');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"candidate_id": "1"}')$$,
                 '22023', 'column "candidate_id" of "rt.notes" is part of a key or constraint and cannot be anonymized',
                 'a foreign key');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"ref": null}')$$,
                 '22023', 'column "ref" of "rt.notes" is part of a key or constraint and cannot be anonymized',
                 'a unique column');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"written_on": null}')$$,
                 '22023', 'column "written_on" of "rt.notes" is NOT NULL and cannot be set to NULL',
                 'NULL into a NOT NULL column');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"shout": null}')$$,
                 '22023', 'column "shout" of "rt.notes" is generated and cannot be anonymized',
                 'NULL into a generated column');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_gen', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"shout": "X"}')$$,
                 '22023', NULL, 'a fixed value into a generated column');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_long', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"code": "TOOLONG"}')$$,
                 '22023', NULL, 'a fixed value longer than a varchar(3) column takes');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"body": {"keep": -1}}')$$),
          '22023: invalid anonymization of column "body" (A partial mask is {"keep": n}, n between 0 and 100.)',
          'a negative keep');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"body": {"keep": 101}}')$$,
                 '22023', 'invalid anonymization of column "body"', 'a keep over 100');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"body": {"keep": 1.5}}')$$,
                 '22023', 'invalid anonymization of column "body"', 'a fractional keep');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"body": {"keep": "3"}}')$$,
                 '22023', 'invalid anonymization of column "body"', 'a keep given as a string');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"body": {"keep": 3, "from": "left"}}')$$,
                 '22023', 'invalid anonymization of column "body"', 'a mask with another key');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"body": {}}')$$,
                 '22023', 'invalid anonymization of column "body"', 'a mask without keep');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"n": {"keep": 2}}')$$,
                 '42809', 'column "n" of "rt.notes" is not a text column; it can be set to NULL or a fixed value',
                 'a partial mask of a number');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"n": "many"}')$$,
                 '22023', 'the anonymized value of column "n" is not a valid value of the column', 'a fixed value of the wrong type');
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"n": 5}')$$),
          '22023: invalid anonymization of column "n" (Give null, {"keep": n} or a value as a string.)',
          'a value that is not a string');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on', anonymize => '{"body": true}')$$,
                 '22023', 'invalid anonymization of column "body"', 'a boolean');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on',
                                                       anonymize => '{"body": {"keep": 2}, "n": null, "code": "XX"}')$$,
                'NULL, a partial mask and a fixed value');
RESET ROLE;
DELETE FROM privacy.retention_rule WHERE name IN ('rt_gen', 'rt_long');
SELECT is((SELECT anonymize FROM privacy.retention_rule WHERE name = 'rt_a'),
          '{"body": {"keep": 2}, "n": null, "code": "XX"}'::jsonb, 'the specification is stored');

-------------------------------------------------------------------------------
-- replacing and dropping rules and types
-------------------------------------------------------------------------------
SET ROLE rt_admin;
SELECT is(pg_temp.error_of($$SELECT privacy.create_retention_rule('rt_copies', 'rt.id_copies', 'rt_copy', 'scanned_on + 1')$$),
          '42710: retention rule "rt_copies" already exists', 'a rule of the same name');
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on',
                                                       condition => 'body IS NOT NULL',
                                                       anonymize => '{"body": null}', retention => '10 days',
                                                       or_replace => true)$$,
                'or_replace changes a rule');
RESET ROLE;
SELECT results_eq($$SELECT condition, anonymize, retention FROM privacy.retention_rule WHERE name = 'rt_a'$$,
                  $$VALUES ('body IS NOT NULL', '{"body": null}'::jsonb, interval '10 days')$$,
                  'the rule is replaced');
SELECT results_eq($$SELECT action, object, details ->> 'rule', details ->> 'condition' FROM pg_temp.last_audit()$$,
                  $$VALUES ('retention.rule.replace', 'rt.notes', 'rt_a', 'body IS NOT NULL')$$,
                  'replacing is audited as such');
SET ROLE rt_admin;
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_a', 'rt.notes', 'rt_anon', 'written_on',
                                                        condition => 'random() > 0', anonymize => '{"body": null}',
                                                        or_replace => true)$$,
                 '42501', 'the condition may not use random', 'a replacement is checked too');
RESET ROLE;
SELECT is((SELECT condition FROM privacy.retention_rule WHERE name = 'rt_a'), 'body IS NOT NULL',
          'and a refused replacement leaves the rule alone');
SET ROLE rt_admin;
SELECT throws_ok($$SELECT privacy.define_document_type('rt_anon', '30 days', 'the note', action => 'delete')$$,
                 '55006', 'document type "rt_anon" is used by retention rules; its action cannot change',
                 'the action of a type in use does not change');
SELECT is(pg_temp.error_of($$SELECT privacy.drop_document_type('rt_anon')$$),
          '2BP01: document type "rt_anon" is used by retention rules', 'a type in use is not dropped');
SELECT lives_ok($$SELECT privacy.drop_retention_rule('rt_a')$$, 'dropping a rule');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.retention_rule WHERE name = 'rt_a'), 0, 'the rule is gone');
SELECT results_eq($$SELECT action, object, details FROM pg_temp.last_audit()$$,
                  $$VALUES ('retention.rule.drop', 'rt.notes', '{"rule": "rt_a"}'::jsonb)$$,
                  'dropping is audited');
SET ROLE rt_admin;
SELECT throws_ok($$SELECT privacy.drop_retention_rule('rt_a')$$, '42704', 'retention rule "rt_a" does not exist',
                 'a rule that does not exist');
SELECT lives_ok($$SELECT privacy.drop_document_type('rt_anon')$$, 'a type no rule uses is dropped');
SELECT throws_ok($$SELECT privacy.drop_document_type('rt_anon')$$, '42704', 'document type "rt_anon" does not exist',
                 'a type that does not exist');
SELECT lives_ok($$SELECT privacy.drop_retention_rule('rt_lookup')$$, 'dropping the rule over rt.lookup');
SELECT lives_ok($$SELECT privacy.drop_retention_rule('rt_ts')$$, 'and the one with a timestamptz start');
RESET ROLE;
SELECT is((SELECT action FROM pg_temp.last_audit()), 'retention.rule.drop', 'audited');

-------------------------------------------------------------------------------
-- who may manage types and rules
-------------------------------------------------------------------------------
SET ROLE rt_clerk;
SELECT throws_ok($$SELECT privacy.define_document_type('rt_clerk_type', '1 year', 'x')$$, '42501', NULL,
                 'a clerk cannot define a document type');
SELECT throws_ok($$SELECT privacy.drop_document_type('rt_copy')$$, '42501', NULL, 'nor drop one');
SELECT throws_ok($$SELECT privacy.load_retention_preset()$$, '42501', NULL, 'nor load the preset');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_clerk_rule', 'rt.id_copies', 'rt_copy', 'scanned_on')$$,
                 '42501', NULL, 'nor create a rule');
SELECT throws_ok($$SELECT privacy.drop_retention_rule('rt_copies')$$, '42501', NULL, 'nor drop one');
SELECT throws_ok($$SELECT count(*) FROM privacy.retention_rule$$, '42501', NULL, 'nor read the rules');
RESET ROLE;
SET ROLE rt_officer;
SELECT throws_ok($$SELECT privacy.define_document_type('rt_officer_type', '1 year', 'x')$$, '42501', NULL,
                 'the officer cannot define a document type');
SELECT throws_ok($$SELECT privacy.drop_document_type('rt_copy')$$, '42501', NULL, 'nor drop one');
SELECT throws_ok($$SELECT privacy.load_retention_preset()$$, '42501', NULL, 'nor load the preset');
SELECT throws_ok($$SELECT privacy.create_retention_rule('rt_officer_rule', 'rt.id_copies', 'rt_copy', 'scanned_on')$$,
                 '42501', NULL, 'nor create a rule');
SELECT throws_ok($$SELECT privacy.drop_retention_rule('rt_copies')$$, '42501', NULL, 'nor drop one');
SELECT is((SELECT count(*)::int FROM privacy.retention_rules
            WHERE rule IN ('rt_copies', 'rt_notes', 'rt_hours', 'rt_cands', 'rt_forms')), 5,
          'the officer reads the rules');
RESET ROLE;

-- the function's own check: a direct grant, and a security definer function
GRANT EXECUTE ON FUNCTION privacy.define_document_type(text, interval, text, text, interval, text, text, text, text),
                          privacy.drop_retention_rule(text) TO rt_clerk;
SET ROLE rt_clerk;
SELECT is(pg_temp.error_of($$SELECT privacy.define_document_type('rt_clerk_type', '1 year', 'x')$$),
          '42501: permission denied to manage the privacy registry (Role "rt_clerk" is not a member of "privacy_admin".)',
          'a clerk granted EXECUTE is still refused');
SELECT throws_ok($$SELECT privacy.drop_retention_rule('rt_copies')$$, '42501',
                 'permission denied to manage the privacy registry', 'also when dropping a rule');
RESET ROLE;
SET ROLE rt_admin;
CREATE FUNCTION rt.rule_for_me() RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$SELECT privacy.create_retention_rule('rt_definer', 'rt.id_copies', 'rt_copy', 'scanned_on')$$;
CREATE FUNCTION rt.type_for_me() RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$SELECT privacy.define_document_type('rt_definer', '1 day', 'x')$$;
GRANT EXECUTE ON FUNCTION rt.rule_for_me(), rt.type_for_me() TO rt_clerk, rt_officer;
RESET ROLE;
SET ROLE rt_clerk;
SELECT throws_ok($$SELECT rt.rule_for_me()$$, '42501', 'permission denied to manage the privacy registry',
                 'a clerk cannot create a rule through a security definer function of an admin');
SELECT throws_ok($$SELECT rt.type_for_me()$$, '42501', 'permission denied to manage the privacy registry',
                 'nor define a type');
RESET ROLE;
SET ROLE rt_officer;
SELECT throws_ok($$SELECT rt.rule_for_me()$$, '42501', 'permission denied to manage the privacy registry',
                 'nor can the officer');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.retention_rule WHERE name IN ('rt_clerk_rule', 'rt_officer_rule', 'rt_definer'))
          + (SELECT count(*)::int FROM privacy.document_type WHERE name IN ('rt_clerk_type', 'rt_officer_type', 'rt_definer')), 0,
          'the refused calls changed nothing');
SELECT is((SELECT count(*)::int FROM privacy.retention_rule WHERE name = 'rt_copies'), 1, 'the rule is still there');

-------------------------------------------------------------------------------
-- legal holds
-------------------------------------------------------------------------------
SET ROLE rt_clerk;
SELECT throws_ok($$SELECT privacy.place_hold('rt_candidate', '2', 'dispute')$$, '42501', NULL,
                 'a clerk cannot place a hold');
SELECT throws_ok($$SELECT privacy.subject_held('rt_candidate', '2')$$, '42501', NULL, 'nor ask about one');
SELECT throws_ok($$SELECT * FROM privacy.retention_status()$$, '42501', NULL, 'nor read the retention status');
SELECT throws_ok($$SELECT * FROM privacy.expired_rows()$$, '42501', NULL, 'nor the expired rows');
SELECT throws_ok($$SELECT count(*) FROM privacy.legal_holds$$, '42501', NULL, 'nor the holds');
RESET ROLE;

SET ROLE rt_officer;
SELECT ok(privacy.place_hold('rt_candidate', ' 2', 'Labour court case 2024-17') > 0, 'the officer places a hold');
RESET ROLE;
SELECT results_eq($$SELECT subject_type, subject_key, reason, held_until, placed_by, active FROM privacy.legal_holds
                     WHERE subject_type = 'rt_candidate'$$,
                  $$VALUES ('rt_candidate', '2', 'Labour court case 2024-17', NULL::date, 'rt_officer'::name, true)$$,
                  'the hold is stored with the key as the purge compares it');
SELECT results_eq($$SELECT action, object, subject_type, subject_key FROM pg_temp.last_audit()$$,
                  $$VALUES ('retention.hold', 'rt_candidate', 'rt_candidate', '2')$$,
                  'placing a hold is audited with the subject');
SET ROLE rt_officer;
SELECT ok(privacy.subject_held('rt_candidate', '2'), 'subject_held sees the hold');
SELECT ok(NOT privacy.subject_held('rt_candidate', '1'), 'and not on another subject');
SELECT throws_ok($$SELECT privacy.place_hold('rt_nobody', '2', 'x')$$, '42704', 'subject type "rt_nobody" does not exist',
                 'an unknown subject type');
SELECT throws_ok($$SELECT privacy.place_hold('rt_candidate', '2', ' ')$$, '22023',
                 'a legal hold needs a subject key and a reason', 'a hold needs a reason');
SELECT throws_ok($$SELECT privacy.place_hold('rt_candidate', NULL, 'x')$$, '22023',
                 'a legal hold needs a subject key and a reason', 'and a key');
SELECT throws_ok($$SELECT privacy.place_hold('rt_candidate', '2', 'x', CURRENT_DATE - 1)$$, '22023',
                 'a legal hold cannot end in the past', 'a hold ending yesterday');
SELECT is(pg_temp.error_of($$SELECT privacy.place_hold('rt_candidate', 'two', 'x')$$),
          '22023: invalid key for subject type "rt_candidate" (A key of this subject type is a integer.)',
          'a key that is no value of the key column');
SELECT throws_ok($$SELECT privacy.place_hold('rt_employee', '123456789', 'x')$$, '22023',
                 'invalid key for subject type "rt_employee"', 'a BSN that fails the check');
SELECT ok(privacy.place_hold('rt_employee', '111222333', 'Tax audit') > 0, 'a hold on an employee, by BSN');
RESET ROLE;
SELECT results_eq($$SELECT action, subject_type, subject_key, details ? 'hold', position('111222333' IN details::text)
                      FROM pg_temp.last_audit()$$,
                  $$VALUES ('retention.hold', 'rt_employee', NULL::text, true, 0)$$,
                  'the audit entry of a hold on a BSN does not contain the BSN');
SELECT is((SELECT subject_key FROM privacy.legal_hold WHERE subject_type = 'rt_employee'), '111222333',
          'the hold itself keeps the BSN for the purge');

-- a hold placed and released again
SET ROLE rt_officer;
SELECT lives_ok($$SELECT privacy.release_hold(privacy.place_hold('rt_candidate', '3', 'Mistake'))$$,
                'the officer releases a hold');
RESET ROLE;
SELECT results_eq($$SELECT released_by, active FROM privacy.legal_holds WHERE subject_key = '3'$$,
                  $$VALUES ('rt_officer'::name, false)$$, 'the released hold is inactive');
SELECT results_eq($$SELECT action, details ? 'hold' FROM pg_temp.last_audit()$$,
                  $$VALUES ('retention.hold.release', true)$$, 'releasing is audited');
SET ROLE rt_officer;
SELECT throws_ok($$SELECT privacy.release_hold((SELECT id FROM privacy.legal_holds WHERE subject_key = '3'))$$,
                 '42704', NULL, 'a released hold is not released twice');
SELECT ok(NOT privacy.subject_held('rt_candidate', '3'), 'the subject is no longer held');
SELECT lives_ok($$SELECT privacy.place_hold('rt_candidate', '3', 'Until today', CURRENT_DATE)$$,
                'a hold until today');
SELECT ok(privacy.subject_held('rt_candidate', '3'), 'holds on its last day');
RESET ROLE;
SET ROLE rt_clerk;
SELECT throws_ok($$SELECT privacy.release_hold(1)$$, '42501', NULL, 'a clerk cannot release a hold');
RESET ROLE;
UPDATE privacy.legal_hold SET released_at = now(), released_by = 'postgres' WHERE subject_key = '3';

-------------------------------------------------------------------------------
-- the status on a known data set
-------------------------------------------------------------------------------
-- rt_copies (4 weeks from scanned_on): copies 1, 2 and 4 expired, 2 and 4 of
-- the held candidate 2; 3 and 5 expire in 18 and 23 days.
-- rt_hours (364 days, also the minimum, for candidates who left): sheets 1
-- (expired) and 2 of candidate 1, 3 of the held candidate 2 (expired);
-- sheet 4 is of candidate 3, who has not left.
-- rt_notes: no notes yet.  rt_cands (365 days after leaving): candidate 1,
-- whom other rows reference.  rt_forms (365 days after filing): the form
-- with BSN 123456782.  rt_staff (2000 days after the end): the employee
-- with BSN 111222333, held.
CREATE FUNCTION pg_temp.status(rule text) RETURNS TABLE (
    tbl regclass, document_type text, action text, rows_total bigint, rows_expired bigint,
    rows_held bigint, next_expiry date, expired_since date)
LANGUAGE sql AS $$
    SELECT tbl, document_type, action, rows_total, rows_expired, rows_held, next_expiry, expired_since
      FROM privacy.retention_status() WHERE rule_name = rule
$$;
GRANT EXECUTE ON FUNCTION pg_temp.status(text) TO PUBLIC;
SET ROLE rt_officer;
SELECT results_eq($$SELECT * FROM pg_temp.status('rt_copies')$$,
                  $$VALUES ('rt.id_copies'::regclass, 'rt_copy', 'delete', 5::bigint, 3::bigint, 2::bigint,
                            CURRENT_DATE + 18, CURRENT_DATE - 72)$$,
                  'rt_copies: 5 rows, 3 expired of which 2 held, the next in 18 days, the oldest 72 days ago');
SELECT results_eq($$SELECT * FROM pg_temp.status('rt_hours')$$,
                  $$VALUES ('rt.timesheets'::regclass, 'rt_hours', 'delete', 3::bigint, 2::bigint, 1::bigint,
                            CURRENT_DATE + 354, CURRENT_DATE - 136)$$,
                  'rt_hours, through the foreign-key path: the condition on the subject, the hold on the subject');
SELECT results_eq($$SELECT * FROM pg_temp.status('rt_cands')$$,
                  $$VALUES ('rt.candidates'::regclass, 'rt_file', 'delete', 2::bigint, 1::bigint, 0::bigint,
                            CURRENT_DATE + 165, CURRENT_DATE - 435)$$,
                  'rt_cands: the condition leaves out the candidate who has not left');
SELECT results_eq($$SELECT * FROM pg_temp.status('rt_notes')$$,
                  $$VALUES ('rt.notes'::regclass, 'rt_file', 'delete', 0::bigint, 0::bigint, 0::bigint,
                            NULL::date, NULL::date)$$,
                  'rt_notes: an empty table');
SELECT results_eq($$SELECT * FROM pg_temp.status('rt_forms')$$,
                  $$VALUES ('rt.tax_forms'::regclass, 'rt_file', 'delete', 2::bigint, 1::bigint, 0::bigint,
                            CURRENT_DATE + 355, CURRENT_DATE - 35)$$,
                  'rt_forms: a table with a BSN key');
SELECT results_eq($$SELECT * FROM pg_temp.status('rt_staff')$$,
                  $$VALUES ('rt.employees'::regclass, 'rt_payroll', 'delete', 2::bigint, 1::bigint, 1::bigint,
                            CURRENT_DATE + 1990, CURRENT_DATE - 1000)$$,
                  'rt_staff: the hold on a BSN subject counts');
SELECT set_eq($$SELECT rule_name FROM privacy.retention_status() WHERE tbl::text LIKE 'rt.%'$$,
              $$VALUES ('rt_cands'), ('rt_copies'), ('rt_forms'), ('rt_hours'), ('rt_notes'), ('rt_staff')$$,
              'retention_status() has a row per rule');
SELECT results_eq($$SELECT rule_name, row_key, subject, expired_since, held, referenced
                      FROM privacy.expired_rows() WHERE tbl::text LIKE 'rt.%' AND rule_name <> 'rt_staff'$$,
                  $$VALUES ('rt_cands', '1', '{"rt_candidate": "1"}'::jsonb, CURRENT_DATE - 435, false, true),
                           ('rt_copies', '1', '{"rt_candidate": "1"}'::jsonb, CURRENT_DATE - 72, false, false),
                           ('rt_copies', '2', '{"rt_candidate": "2"}'::jsonb, CURRENT_DATE - 32, true, false),
                           ('rt_copies', '4', '{"rt_candidate": "2"}'::jsonb, CURRENT_DATE - 12, true, false),
                           ('rt_forms', '******782', '{"rt_candidate": "1"}'::jsonb, CURRENT_DATE - 35, false, false),
                           ('rt_hours', '3', '{"rt_candidate": "2"}'::jsonb, CURRENT_DATE - 136, true, false),
                           ('rt_hours', '1', '{"rt_candidate": "1"}'::jsonb, CURRENT_DATE - 36, false, false)$$,
                  'expired_rows: each expired row, oldest first per rule, held or referenced, a BSN key masked');
SELECT results_eq($$SELECT row_key, subject, expired_since, held, referenced FROM privacy.expired_rows()
                     WHERE rule_name = 'rt_staff'$$,
                  $$VALUES ('******333', '{"rt_employee": "******333"}'::jsonb, CURRENT_DATE - 1000, true, false)$$,
                  'expired_rows of a subject keyed by a BSN: key and subject masked, held');
SELECT is((SELECT count(*)::int FROM privacy.expired_rows() e
            WHERE e.row_key ~ '(111222333|123456782)' OR e.subject::text ~ '(111222333|123456782)'),
          0, 'no expired row shows a BSN');
SELECT results_eq($$SELECT rule_name, row_key FROM privacy.expired_rows('rt_copies', 2)$$,
                  $$VALUES ('rt_copies', '1'), ('rt_copies', '2')$$, 'max_rows limits the rows');
SELECT is((SELECT count(*)::int FROM privacy.expired_rows(NULL, 4) WHERE tbl::text LIKE 'rt.%'), 4,
          'also over several rules');
SELECT is((SELECT count(*)::int FROM privacy.expired_rows(NULL, 0)), 0, 'zero rows');
SELECT throws_ok($$SELECT * FROM privacy.expired_rows(NULL, -1)$$, '22023', 'max_rows must be zero or more',
                 'a negative max_rows');
SELECT throws_ok($$SELECT * FROM privacy.expired_rows('rt_nope')$$, '42704', 'retention rule "rt_nope" does not exist',
                 'expired_rows of an unknown rule');
SELECT throws_ok($$SELECT * FROM privacy.retention_status('rt_nope')$$, '42704', 'retention rule "rt_nope" does not exist',
                 'retention_status of an unknown rule');
RESET ROLE;

-- the status follows the data, the holds and the rule
SET ROLE rt_officer;
SELECT lives_ok($$SELECT privacy.release_hold((SELECT id FROM privacy.legal_holds WHERE subject_type = 'rt_candidate'
                                                  AND released_at IS NULL))$$,
                'the hold on candidate 2 is released');
SELECT results_eq($$SELECT rows_expired, rows_held FROM privacy.retention_status('rt_copies')$$,
                  $$VALUES (3::bigint, 0::bigint)$$, 'its copies count as expired and no longer held');
RESET ROLE;
INSERT INTO rt.notes (id, candidate_id, written_on, body) VALUES
    (1, 1, CURRENT_DATE, 'about Jan'),
    (2, 2, CURRENT_DATE, 'about Piet'),
    (3, 3, CURRENT_DATE, 'about Klaas');
SET ROLE rt_officer;
SELECT results_eq($$SELECT rows_total, rows_expired, next_expiry, expired_since FROM privacy.retention_status('rt_notes')$$,
                  $$VALUES (2::bigint, 1::bigint, CURRENT_DATE + 165, CURRENT_DATE - 435)$$,
                  'a rule on the subject''s column counts by the subject''s date');
RESET ROLE;
SET ROLE rt_admin;
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_copies', 'rt.id_copies', 'rt_copy', 'scanned_on',
                                                       retention => '50 days', or_replace => true)$$,
                'a rule overrides the type''s retention');
RESET ROLE;
SELECT results_eq($$SELECT rows_expired, next_expiry, expired_since FROM privacy.retention_status('rt_copies')$$,
                  $$VALUES (2::bigint, CURRENT_DATE + 10, CURRENT_DATE - 50)$$,
                  'the override counts');
SET ROLE rt_admin;
SELECT lives_ok($$SELECT privacy.define_document_type('rt_copy', '4 weeks', 'the scan of the document',
                                                      min_keep => '90 days')$$,
                'the type gets a minimum keep period longer than the override');
RESET ROLE;
SELECT results_eq($$SELECT rows_expired, next_expiry, expired_since FROM privacy.retention_status('rt_copies')$$,
                  $$VALUES (1::bigint, CURRENT_DATE + 30, CURRENT_DATE - 10)$$,
                  'the minimum keep period wins over the rule''s shorter retention');
SELECT results_eq($$SELECT action, details -> 'previous' FROM pg_temp.last_audit()$$,
                  $$VALUES ('retention.document_type', '{"min_keep": null, "rounding": "none", "retention": "28 days"}'::jsonb)$$,
                  'the change is audited with the previous periods');
SET ROLE rt_admin;
SELECT lives_ok($$SELECT privacy.create_retention_rule('rt_signal', 'rt.placements', 'rt_signal', 'started_on')$$,
                'a rule that only signals');
RESET ROLE;
SELECT results_eq($$SELECT action, rows_total, rows_expired FROM privacy.retention_status('rt_signal')$$,
                  $$VALUES ('signal', 3::bigint, 3::bigint)$$, 'a signalling rule is counted like the others');

-- audit entries: action names, no row contents
SELECT is((SELECT count(*)::int FROM privacy.audit_log
            WHERE action LIKE 'retention.%'
              AND (details::text ~ '(Jan|Piet|Klaas|Anna|Bram|scan-|111222333|123456782)'
                   OR coalesce(subject_key, '') IN ('111222333', '123456782'))), 0,
          'no retention audit entry holds a name, a document or a BSN');
SELECT set_has($$SELECT DISTINCT action FROM privacy.audit_log WHERE action LIKE 'retention.%'$$,
               $$VALUES ('retention.preset'), ('retention.document_type'), ('retention.document_type.drop'),
                        ('retention.rule'), ('retention.rule.replace'), ('retention.rule.drop'),
                        ('retention.hold'), ('retention.hold.release')$$,
               'each change has its action name');
SELECT is((SELECT count(*)::int FROM privacy.audit_log WHERE action = 'retention.hold'), 4,
          'one entry per hold placed');

SELECT * FROM finish();
ROLLBACK;
