-- The retention purge, run for real: expired rows deleted, anonymized with
-- NULL, a partial mask and fixed values, rows already anonymized left
-- alone; a dry run that changes nothing and counts what the next run does,
-- children before parents so that a parent becomes deletable in the same
-- run; a legal hold that keeps one subject's rows until it is released; a
-- minimum keep period that outlasts the rule's retention; a row kept and
-- counted as blocked while a child that has not expired references it;
-- batches over a table of many pages; a second run that changes nothing;
-- max_runtime => '0' leaving the rules as budget / not_reached; refusals
-- (inside a transaction block, for roles outside privacy_admin, bad
-- arguments); purge_log and one audit entry per rule per run; and the
-- NOTIFY on privacy_retention when a run leaves expired rows, with only
-- rule names and counts in its payload.  Dates are relative to the current
-- date and never printed.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE retp_admin LOGIN IN ROLE privacy_admin;
CREATE ROLE retp_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE retp_clerk LOGIN;
CREATE SCHEMA retp;
GRANT USAGE ON SCHEMA retp TO retp_admin;

CREATE TABLE retp.candidates (
    id       int PRIMARY KEY,
    name     text NOT NULL
);
CREATE TABLE retp.id_copies (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES retp.candidates,
    scanned_on   date NOT NULL,
    image        text
);
CREATE TABLE retp.applications (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES retp.candidates,
    closed_on    date NOT NULL,
    motivation   text,
    phone        varchar(20),
    city         text,
    score        int
);
CREATE TABLE retp.timesheets (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES retp.candidates,
    worked_on    date NOT NULL,
    hours        numeric NOT NULL
);
CREATE TABLE retp.contracts (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES retp.candidates,
    ended_on     date
);
CREATE TABLE retp.payslips (
    id           int PRIMARY KEY,
    contract_id  int NOT NULL REFERENCES retp.contracts,
    paid_on      date NOT NULL,
    amount       numeric NOT NULL
);
CREATE TABLE retp.events (
    id           int PRIMARY KEY,
    candidate_id int NOT NULL REFERENCES retp.candidates,
    happened_on  date NOT NULL,
    payload      text
);

INSERT INTO retp.candidates VALUES (1, 'Jan Jansen'), (2, 'Piet Pietersen'), (3, 'Klaas Klaassen'), (4, 'Marie Maas');
-- 28 days: 1, 2 (held) and 4 expired
INSERT INTO retp.id_copies VALUES
    (1, 1, CURRENT_DATE - 100, 'scan-1'),
    (2, 2, CURRENT_DATE - 100, 'scan-2'),
    (3, 3, CURRENT_DATE - 10, 'scan-3'),
    (4, 4, CURRENT_DATE - 50, 'scan-4'),
    (5, 2, CURRENT_DATE - 5, 'scan-5');
-- 30 days, anonymized: 1, 2 (held) and 5 expired; 4 expired but anonymous already
INSERT INTO retp.applications VALUES
    (1, 1, CURRENT_DATE - 60, 'Eager to work', '0612345678', 'Utrecht', 8),
    (2, 2, CURRENT_DATE - 60, 'Available now', '0687654321', 'Zwolle', 6),
    (3, 3, CURRENT_DATE - 5, 'Looking forward', '0611112222', 'Assen', 9),
    (4, 4, CURRENT_DATE - 90, NULL, '********78', 'unknown', 0),
    (5, 3, CURRENT_DATE - 45, 'Later', NULL, 'Zwolle', 7);
-- 1 day by the rule, but the type keeps 364 days: only 1 has expired
INSERT INTO retp.timesheets VALUES
    (1, 1, CURRENT_DATE - 400, 8),
    (2, 3, CURRENT_DATE - 100, 8),
    (3, 4, CURRENT_DATE - 30, 4);
-- 365 days after the end: 1, 2 and 4 (held) expired, 3 has not ended
INSERT INTO retp.contracts VALUES
    (1, 1, CURRENT_DATE - 1000),
    (2, 3, CURRENT_DATE - 800),
    (3, 4, NULL),
    (4, 2, CURRENT_DATE - 900);
-- 365 days after payment: all but 3 expired; 5 is of the held candidate 2;
-- 3 keeps contract 2
INSERT INTO retp.payslips VALUES
    (1, 1, CURRENT_DATE - 1100, 2000),
    (2, 1, CURRENT_DATE - 1000, 2000),
    (3, 2, CURRENT_DATE - 10, 2100),
    (4, 3, CURRENT_DATE - 500, 1900),
    (5, 4, CURRENT_DATE - 900, 1800);
-- 365 days: the odd ids (candidates 2 and 4) expired, 750 of each
INSERT INTO retp.events
SELECT g, 1 + g % 4, CURRENT_DATE - (g % 2) * 400 - 1, repeat('event ', 20)
  FROM generate_series(1, 3000) g;

-- a rule reads only what its author may read
GRANT SELECT ON ALL TABLES IN SCHEMA retp TO retp_admin;
SELECT privacy.register_subject_type('retp_candidate', 'retp.candidates', 'id');
SELECT privacy.register_table('retp.candidates', 'retp_candidate');
SELECT privacy.register_table('retp.id_copies', 'retp_candidate', key_column => 'candidate_id');
SELECT privacy.register_table('retp.applications', 'retp_candidate', key_column => 'candidate_id');
SELECT privacy.register_table('retp.timesheets', 'retp_candidate', key_column => 'candidate_id');
SELECT privacy.register_table('retp.contracts', 'retp_candidate', key_column => 'candidate_id');
SELECT privacy.register_table('retp.payslips', 'retp_candidate', via => ARRAY['retp.contracts', 'retp.candidates']::regclass[]);
SELECT privacy.register_table('retp.events', 'retp_candidate', key_column => 'candidate_id');

SET ROLE retp_admin;
SELECT privacy.define_document_type('retp_copy', '28 days', 'the scan');
SELECT privacy.define_document_type('retp_application', '30 days', 'the end of the procedure', action => 'anonymize');
SELECT privacy.define_document_type('retp_hours', '30 days', 'the day of the work', min_keep => '364 days');
SELECT privacy.define_document_type('retp_year', '365 days', 'the date of the record');
-- the parent's rule sorts first by name; the purge still runs the child first
SELECT privacy.create_retention_rule('retp_contracts', 'retp.contracts', 'retp_year', 'ended_on',
                                     condition => 'ended_on IS NOT NULL');
SELECT privacy.create_retention_rule('retp_payslips', 'retp.payslips', 'retp_year', 'paid_on');
SELECT privacy.create_retention_rule('retp_copies', 'retp.id_copies', 'retp_copy', 'scanned_on');
SELECT privacy.create_retention_rule('retp_applications', 'retp.applications', 'retp_application', 'closed_on',
    anonymize => '{"motivation": null, "phone": {"keep": 2}, "city": "unknown", "score": "0"}');
SELECT privacy.create_retention_rule('retp_hours', 'retp.timesheets', 'retp_hours', 'worked_on', retention => '1 day');
SELECT privacy.create_retention_rule('retp_events', 'retp.events', 'retp_year', 'happened_on');
RESET ROLE;
SET ROLE retp_officer;
SELECT privacy.place_hold('retp_candidate', '2', 'Labour court case') > 0 AS hold_placed;
RESET ROLE;
RESET client_min_messages;

-- what the rows look like: ids per table, and a digest of every value
CREATE FUNCTION retp.ids() RETURNS TABLE (tbl text, ids text) LANGUAGE sql AS $$
    SELECT 'id_copies', string_agg(id::text, ',' ORDER BY id) FROM retp.id_copies
    UNION ALL SELECT 'applications', string_agg(id::text, ',' ORDER BY id) FROM retp.applications
    UNION ALL SELECT 'timesheets', string_agg(id::text, ',' ORDER BY id) FROM retp.timesheets
    UNION ALL SELECT 'contracts', string_agg(id::text, ',' ORDER BY id) FROM retp.contracts
    UNION ALL SELECT 'payslips', string_agg(id::text, ',' ORDER BY id) FROM retp.payslips
    UNION ALL SELECT 'events', count(*) || ' rows, ' || count(*) FILTER (WHERE id % 4 = 1) || ' of candidate 2'
                FROM retp.events
$$;
CREATE FUNCTION retp.digest() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(t::text, ';' ORDER BY id) FROM retp.candidates t),
        (SELECT string_agg(t::text, ';' ORDER BY id) FROM retp.id_copies t),
        (SELECT string_agg(t::text, ';' ORDER BY id) FROM retp.applications t),
        (SELECT string_agg(t::text, ';' ORDER BY id) FROM retp.timesheets t),
        (SELECT string_agg(t::text, ';' ORDER BY id) FROM retp.contracts t),
        (SELECT string_agg(t::text, ';' ORDER BY id) FROM retp.payslips t),
        (SELECT string_agg(t::text, ';' ORDER BY id) FROM retp.events t)))
$$;
-- the per-rule counts of a purge result, in the order the rules ran
CREATE FUNCTION retp.counts(result jsonb)
RETURNS TABLE (rule text, tbl text, action text, deleted int, anonymized int, held int, blocked int, status text)
LANGUAGE sql AS $$
    SELECT r ->> 'rule', r ->> 'table', r ->> 'action', (r ->> 'deleted')::int, (r ->> 'anonymized')::int,
           (r ->> 'held')::int, (r ->> 'blocked')::int, r ->> 'status'
      FROM jsonb_array_elements(result -> 'rules') WITH ORDINALITY AS e(r, n)
     ORDER BY n
$$;
-- whether a dry run counted exactly what the run did, rule by rule, in order
CREATE FUNCTION retp.same_counts(dry jsonb, run jsonb) RETURNS boolean LANGUAGE sql AS $$
    SELECT jsonb_array_length(dry -> 'rules') = jsonb_array_length(run -> 'rules')
       AND NOT EXISTS (
           SELECT FROM jsonb_array_elements(dry -> 'rules') WITH ORDINALITY d(r, n)
           FULL JOIN jsonb_array_elements(run -> 'rules') WITH ORDINALITY x(r, n) USING (n)
            WHERE d.r IS NULL OR x.r IS NULL
               OR (SELECT jsonb_object_agg(k, d.r -> k)
                     FROM unnest(ARRAY['rule', 'table', 'action', 'deleted', 'anonymized', 'held', 'blocked']) k)
                  IS DISTINCT FROM
                  (SELECT jsonb_object_agg(k, x.r -> k)
                     FROM unnest(ARRAY['rule', 'table', 'action', 'deleted', 'anonymized', 'held', 'blocked']) k))
$$;

-- the status before any purge
SELECT rule_name, action, rows_total, rows_expired, rows_held,
       next_expiry > CURRENT_DATE AS next_in_future, expired_since <= CURRENT_DATE AS since_in_past
  FROM privacy.retention_status() WHERE rule_name LIKE 'retp_%' ORDER BY rule_name;
SELECT * FROM retp.ids();

-------------------------------------------------------------------------------
-- a dry run, then the run it predicts
-------------------------------------------------------------------------------
SELECT retp.digest() AS before_dry_run \gset
SET ROLE retp_admin;
CALL privacy.purge(dry_run => true) \gset dry1_
RESET ROLE;
SELECT (:'dry1_result'::jsonb) -> 'run' AS run, (:'dry1_result'::jsonb) -> 'dry_run' AS dry_run;
SELECT * FROM retp.counts(:'dry1_result');
-- the dry run changed nothing, and logged nothing
SELECT retp.digest() = :'before_dry_run' AS unchanged;
SELECT count(*) AS logged FROM privacy.purge_log WHERE rule LIKE 'retp_%';

-- the real run, listening: it leaves held and blocked rows, so it notifies
\set nfile '/tmp/pg_privacy_retention_' :PORT '.notify'
\setenv RETP_NOTIFY_FILE :nfile
LISTEN privacy_retention;
SET ROLE retp_admin;
\o :nfile
CALL privacy.purge(batch_rows => 500) \gset run1_
\o
RESET ROLE;
UNLISTEN privacy_retention;
\! sed -E 's/PID [0-9]+/PID N/; s/"run": [0-9]+/"run": N/' "$RETP_NOTIFY_FILE"; rm -f "$RETP_NOTIFY_FILE"
SELECT (:'run1_result'::jsonb) -> 'dry_run' AS dry_run, (:'run1_result'::jsonb) -> 'run' = 'null' AS run_missing;
SELECT * FROM retp.counts(:'run1_result');
SELECT retp.same_counts(:'dry1_result', :'run1_result') AS dry_run_predicted_the_run;
SELECT r ->> 'rule' AS rule, (r ->> 'batches')::int AS batches
  FROM jsonb_array_elements((:'run1_result'::jsonb) -> 'rules') r WHERE r ->> 'rule' <> 'retp_events';
SELECT (r ->> 'batches')::int > 1 AS events_in_several_batches
  FROM jsonb_array_elements((:'run1_result'::jsonb) -> 'rules') r WHERE r ->> 'rule' = 'retp_events';
SELECT * FROM retp.ids();
-- anonymized: 1 and 5; 2 is held, 3 has not expired, 4 was anonymous already
SELECT id, motivation, phone, city, score FROM retp.applications ORDER BY id;
-- the minimum keep period: sheet 2 is past the rule's day but within 364 days
SELECT rule_name, rows_total, rows_expired FROM privacy.retention_status('retp_hours');

-- a second run changes nothing: nothing deleted or anonymized, same data
SELECT retp.digest() AS after_run1 \gset
SET ROLE retp_admin;
CALL privacy.purge(dry_run => true) \gset dry2_
CALL privacy.purge(batch_rows => 500) \gset run2_
RESET ROLE;
SELECT * FROM retp.counts(:'run2_result');
SELECT retp.same_counts(:'dry2_result', :'run2_result') AS dry_run_predicted_the_run;
SELECT retp.digest() = :'after_run1' AS unchanged;

-------------------------------------------------------------------------------
-- the hold released: the next run removes the subject's expired rows
-------------------------------------------------------------------------------
SET ROLE retp_officer;
SELECT privacy.release_hold(id) FROM privacy.legal_holds WHERE subject_type = 'retp_candidate' AND active;
RESET ROLE;
SET ROLE retp_admin;
CALL privacy.purge(dry_run => true) \gset dry3_
CALL privacy.purge(batch_rows => 500) \gset run3_
RESET ROLE;
-- payslip 5 goes first, so that contract 4 goes in the same run
SELECT * FROM retp.counts(:'run3_result');
SELECT retp.same_counts(:'dry3_result', :'run3_result') AS dry_run_predicted_the_run;
SELECT * FROM retp.ids();
SELECT id, motivation, phone, city, score FROM retp.applications ORDER BY id;
-- contract 2 stays as long as payslip 3 does
SELECT row_key, held, referenced FROM privacy.expired_rows('retp_contracts');

-------------------------------------------------------------------------------
-- one rule, and a run out of time
-------------------------------------------------------------------------------
INSERT INTO retp.id_copies VALUES (6, 3, CURRENT_DATE - 30, 'scan-6');
LISTEN privacy_retention;
SET ROLE retp_admin;
\o :nfile
CALL privacy.purge(rule => 'retp_copies') \gset one_
\o
RESET ROLE;
-- it leaves no expired row behind, so it does not notify
\! grep -c privacy_retention "$RETP_NOTIFY_FILE"; rm -f "$RETP_NOTIFY_FILE"
SELECT * FROM retp.counts(:'one_result');
-- out of time before the first batch: nothing changes, and what is left is
-- notified
SELECT retp.digest() AS before_budget \gset
SET ROLE retp_admin;
\o :nfile
CALL privacy.purge(max_runtime => '0') \gset budget_
\o
RESET ROLE;
UNLISTEN privacy_retention;
\! sed -E 's/PID [0-9]+/PID N/; s/"run": [0-9]+/"run": N/' "$RETP_NOTIFY_FILE"; rm -f "$RETP_NOTIFY_FILE"
SELECT * FROM retp.counts(:'budget_result');
SELECT retp.digest() = :'before_budget' AS unchanged;
SELECT r ->> 'rule' AS rule, (r ->> 'batches')::int AS batches
  FROM jsonb_array_elements((:'budget_result'::jsonb) -> 'rules') r;

-------------------------------------------------------------------------------
-- refusals
-------------------------------------------------------------------------------
SET ROLE retp_admin;
BEGIN;
CALL privacy.purge();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a dry run only counts, and may run in a transaction
BEGIN;
CALL privacy.purge(dry_run => true) \gset txdry_
COMMIT;
SELECT jsonb_array_length((:'txdry_result'::jsonb) -> 'rules') AS rules_counted;
CALL privacy.purge(batch_rows => 0);
\echo :LAST_ERROR_SQLSTATE
CALL privacy.purge(max_runtime => '-1 second');
\echo :LAST_ERROR_SQLSTATE
CALL privacy.purge(rule => 'retp_nope');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE retp_officer;
CALL privacy.purge();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE retp_clerk;
CALL privacy.purge();
\echo :LAST_ERROR_SQLSTATE
CALL privacy.purge(dry_run => true);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- EXECUTE granted is not enough: the role must be a member of privacy_admin
GRANT EXECUTE ON PROCEDURE privacy.purge(boolean, integer, interval, text, jsonb) TO retp_clerk;
SET ROLE retp_clerk;
CALL privacy.purge();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE EXECUTE ON PROCEDURE privacy.purge(boolean, integer, interval, text, jsonb) FROM retp_clerk;
-- five runs: three of every rule, one of one rule, one out of time; the
-- refused calls started none
SELECT count(DISTINCT run_id) AS runs FROM privacy.purge_log WHERE rule LIKE 'retp_%';

-------------------------------------------------------------------------------
-- the log and the audit trail
-------------------------------------------------------------------------------
SELECT dense_rank() OVER (ORDER BY run_id) AS run, ord, rule, tbl, action, run_by, status,
       deleted, anonymized, held, blocked, batches > 0 AS batched, finished_at >= started_at AS finished
  FROM privacy.purge_log WHERE rule LIKE 'retp_%' ORDER BY run_id, ord;
-- one audit entry per rule per run, with the log's counts
SELECT count(*) AS entries,
       count(*) FILTER (WHERE a.details ->> 'status' = l.status AND (a.details ->> 'deleted')::bigint = l.deleted
                          AND (a.details ->> 'anonymized')::bigint = l.anonymized
                          AND (a.details ->> 'held')::bigint = l.held
                          AND (a.details ->> 'blocked')::bigint = l.blocked
                          AND (a.details ->> 'batches')::int = l.batches
                          AND a.object = l.tbl AND a.acting_role = 'retp_admin') AS matching
  FROM privacy.purge_log l
  JOIN privacy.audit_log a ON a.action = 'retention.purge' AND (a.details ->> 'run')::bigint = l.run_id
                          AND a.details ->> 'rule' = l.rule
 WHERE l.rule LIKE 'retp_%';
SELECT count(*) AS log_rows FROM privacy.purge_log WHERE rule LIKE 'retp_%';
SELECT count(*) AS audit_entries FROM privacy.audit_log
 WHERE action = 'retention.purge' AND details ->> 'rule' LIKE 'retp_%'
   AND (details ->> 'run')::bigint IN (SELECT run_id FROM privacy.purge_log);
-- counts only: no subject, no values
SELECT object, subject_type, subject_key, details - 'run' AS details
  FROM privacy.audit_log
 WHERE action = 'retention.purge' AND details ->> 'rule' = 'retp_applications'
   AND (details ->> 'run')::bigint IN (SELECT run_id FROM privacy.purge_log)
 ORDER BY seq LIMIT 1;
SELECT count(*) AS entries_with_values FROM privacy.audit_log
 WHERE action = 'retention.purge'
   AND (details::text ~ '(Jan|Piet|Klaas|Marie|Utrecht|Zwolle|Eager|scan-|0612345678)' OR subject_key IS NOT NULL);

-- clean up
SET client_min_messages = warning;
SELECT privacy.drop_retention_rule(name) FROM privacy.retention_rule WHERE name LIKE 'retp_%';
SELECT privacy.drop_document_type(name) FROM privacy.document_type WHERE name LIKE 'retp_%';
DELETE FROM privacy.legal_hold WHERE subject_type = 'retp_candidate';
DELETE FROM privacy.purge_log WHERE rule LIKE 'retp_%';
DROP SCHEMA retp CASCADE;
DELETE FROM privacy.subject_type WHERE name = 'retp_candidate';
DROP ROLE retp_admin, retp_officer, retp_clerk;
RESET client_min_messages;
SELECT count(*) AS leftover FROM privacy.retention_rule WHERE name LIKE 'retp_%';
