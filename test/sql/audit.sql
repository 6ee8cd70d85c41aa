-- The audit trail: appending, chaining, the append-only guard and tamper
-- detection.
SET client_min_messages = warning;
CREATE ROLE audit_app LOGIN;
CREATE ROLE audit_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE audit_clerk LOGIN;
GRANT EXECUTE ON FUNCTION privacy.audit_append(text, text, text, text, jsonb) TO audit_app;
RESET client_min_messages;

-- an empty chain verifies
SELECT * FROM privacy.audit_verify();

-- an application role appends; entries record who, as whom, for whom
SET ROLE audit_app;
SET privacy.actor = 'recruiter-17';
SELECT privacy.audit_append('candidate.view', 'agency.candidates', 'candidate', '1001', '{"screen": "profile"}');
SELECT privacy.audit_append('candidate.export');
RESET privacy.actor;
-- the application may not read the log
SELECT count(*) FROM privacy.audit_log;
RESET ROLE;

SELECT seq, login_role, acting_role, actor, action, object, subject_type, subject_key, details,
       length(hash) AS hash_len
  FROM privacy.audit_log ORDER BY seq;
-- each committing transaction sealed its entry; the seals chain
SELECT seal_no, first_seq, last_seq, entries, seqs,
       prev_hash = '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea AS genesis
  FROM privacy.audit_seal ORDER BY seal_no;
SELECT prev_hash = (SELECT hash FROM privacy.audit_seal WHERE seal_no = 1) AS linked
  FROM privacy.audit_seal WHERE seal_no = 2;

-- an entry is written at once, in the appending transaction, and goes with a rollback
BEGIN;
SELECT privacy.audit_append('pending.one');
SELECT privacy.audit_pending();
SELECT count(*) FROM privacy.audit_log WHERE action = 'pending.one';
ROLLBACK;
SELECT count(*) FROM privacy.audit_log WHERE action = 'pending.one';

-- a rolled-back subtransaction drops its entries, a released one keeps them
BEGIN;
SELECT privacy.audit_append('sub.kept');
SAVEPOINT a;
SELECT privacy.audit_append('sub.dropped');
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
SELECT privacy.audit_append('sub.released');
RELEASE SAVEPOINT b;
COMMIT;
SELECT seq, action FROM privacy.audit_log WHERE action LIKE 'sub.%' ORDER BY seq;

-- a prepared transaction may not hold audit entries
BEGIN;
SELECT privacy.audit_append('prepared');
PREPARE TRANSACTION 'audit_prepared';

-- bad input: clear errors, nothing appended
SELECT privacy.audit_append(NULL);
SELECT privacy.audit_append('');
SELECT privacy.audit_append('bsn.seen', NULL, NULL, NULL, '{"note": "bsn 1112.22.333"}');
SELECT privacy.audit_append('bsn.seen', 'table 111222333');
SET privacy.actor = 'clerk 111222333';
SELECT count(*) FROM privacy.audit_log WHERE action IN ('', 'bsn.seen');

-- the privacy officer reads and verifies; a clerk can do neither
SET ROLE audit_officer;
SELECT count(*) > 0 AS officer_reads FROM privacy.audit_log;
SELECT valid, entries FROM privacy.audit_verify();
SET ROLE audit_clerk;
SELECT count(*) FROM privacy.audit_log;
SELECT * FROM privacy.audit_verify();
SELECT privacy.audit_append('clerk.event');
RESET ROLE;

-- append-only, for the owner and superusers too, also as a replica
UPDATE privacy.audit_log SET actor = 'someone else' WHERE seq = 1;
DELETE FROM privacy.audit_log WHERE seq = 1;
TRUNCATE privacy.audit_log;
SET session_replication_role = replica;
DELETE FROM privacy.audit_log WHERE seq = 1;
RESET session_replication_role;
-- a table owner that is not a superuser is refused too
SET client_min_messages = warning;
CREATE ROLE audit_owner LOGIN;
RESET client_min_messages;
ALTER TABLE privacy.audit_log OWNER TO audit_owner;
SET ROLE audit_owner;
UPDATE privacy.audit_log SET actor = 'someone else' WHERE seq = 1;
DELETE FROM privacy.audit_log;
TRUNCATE privacy.audit_log;
RESET ROLE;
ALTER TABLE privacy.audit_log OWNER TO CURRENT_USER;
DROP ROLE audit_owner;
SELECT valid, entries FROM privacy.audit_verify();

-- an anchor kept outside the database
SELECT seal_no AS anchor_seal, hash AS anchor_hash FROM privacy.audit_head() \gset
SELECT valid FROM privacy.audit_verify(:anchor_seal, :'anchor_hash');
SELECT valid, reason FROM privacy.audit_verify(:anchor_seal, '\x00'::bytea);
SELECT valid, reason FROM privacy.audit_verify(999, :'anchor_hash');
SELECT privacy.audit_verify(1, NULL);

-- tampering by a superuser who disables the guards is detected
ALTER TABLE privacy.audit_log DISABLE TRIGGER USER;
ALTER TABLE privacy.audit_seal DISABLE TRIGGER USER;
CREATE TEMP TABLE saved AS SELECT * FROM privacy.audit_log;
CREATE TEMP TABLE saved_seals AS SELECT * FROM privacy.audit_seal;

-- 1. an edited entry
UPDATE privacy.audit_log SET subject_key = '1002' WHERE seq = 1;
SELECT * FROM privacy.audit_verify();
UPDATE privacy.audit_log SET subject_key = '1001' WHERE seq = 1;
SELECT valid FROM privacy.audit_verify();
-- an edit of the details
UPDATE privacy.audit_log SET details = '{"screen": "list"}' WHERE seq = 1;
SELECT * FROM privacy.audit_verify();
UPDATE privacy.audit_log SET details = '{"screen": "profile"}' WHERE seq = 1;

-- 2. a deleted entry in the middle
DELETE FROM privacy.audit_log WHERE seq = 2;
SELECT * FROM privacy.audit_verify();
INSERT INTO privacy.audit_log SELECT * FROM saved WHERE seq = 2;
SELECT valid FROM privacy.audit_verify();

-- 3. an entry inserted in the middle, with a correct hash of its own, under
--    the number of an entry that was rolled back
INSERT INTO privacy.audit_log
SELECT s.n, logged_at, txid, session_id, login_role, acting_role, actor, 'forged', object,
       subject_type, subject_key, details, hash
  FROM saved, (SELECT min(n) AS n FROM generate_series(1, (SELECT max(seq) FROM saved)) n
                WHERE n NOT IN (SELECT seq FROM saved)) s
 WHERE saved.seq = 1;
SELECT * FROM privacy.audit_verify();
DELETE FROM privacy.audit_log WHERE action = 'forged';

-- 4. an edited seal, a deleted seal
UPDATE privacy.audit_seal SET sealed_at = sealed_at + interval '1 day' WHERE seal_no = 2;
SELECT * FROM privacy.audit_verify();
UPDATE privacy.audit_seal s SET sealed_at = v.sealed_at FROM saved_seals v WHERE s.seal_no = v.seal_no;
UPDATE privacy.audit_seal SET last_seq = last_seq + 1 WHERE seal_no = 2;
SELECT * FROM privacy.audit_verify();
UPDATE privacy.audit_seal s SET last_seq = v.last_seq FROM saved_seals v WHERE s.seal_no = v.seal_no;
UPDATE privacy.audit_seal SET hash = (SELECT hash FROM saved_seals WHERE seal_no = 1) WHERE seal_no = 2;
SELECT * FROM privacy.audit_verify();
UPDATE privacy.audit_seal s SET hash = v.hash FROM saved_seals v WHERE s.seal_no = v.seal_no;
DELETE FROM privacy.audit_seal WHERE seal_no = 2;
SELECT * FROM privacy.audit_verify();
INSERT INTO privacy.audit_seal SELECT * FROM saved_seals WHERE seal_no = 2;
SELECT valid FROM privacy.audit_verify();

-- 5. truncate and rebuild without one entry
TRUNCATE privacy.audit_log;
INSERT INTO privacy.audit_log SELECT * FROM saved WHERE action <> 'sub.kept';
SELECT * FROM privacy.audit_verify();
-- the same, renumbered so that no number is missing
TRUNCATE privacy.audit_log;
INSERT INTO privacy.audit_log
SELECT row_number() OVER (ORDER BY seq), logged_at, txid, session_id, login_role, acting_role,
       actor, action, object, subject_type, subject_key, details, hash
  FROM saved WHERE action <> 'sub.kept';
SELECT * FROM privacy.audit_verify();

-- restored as it was, the trail holds again
TRUNCATE privacy.audit_log;
INSERT INTO privacy.audit_log SELECT * FROM saved;
ALTER TABLE privacy.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE privacy.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE privacy.audit_seal ENABLE ALWAYS TRIGGER audit_seal_append_only;
ALTER TABLE privacy.audit_seal ENABLE ALWAYS TRIGGER audit_seal_no_truncate;
DELETE FROM privacy.audit_log WHERE seq = 1;
DELETE FROM privacy.audit_seal WHERE seal_no = 1;
SELECT valid FROM privacy.audit_verify(:anchor_seal, :'anchor_hash');

-- appending continues the restored chain
SELECT privacy.audit_append('after.restore');
SELECT valid, unsealed, entries = (SELECT count(*) FROM privacy.audit_log) AS all_checked FROM privacy.audit_verify();
-- privacy.audit_seal() seals what a busy sealer left; here nothing is left
SELECT privacy.audit_seal();

-- repeatable read and serializable transactions chain onto the newest head
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT count(*) > 0 FROM privacy.audit_log;
SELECT privacy.audit_append('serializable');
COMMIT;
SELECT valid FROM privacy.audit_verify();

SET client_min_messages = warning;
REVOKE EXECUTE ON FUNCTION privacy.audit_append(text, text, text, text, jsonb) FROM audit_app;
DROP ROLE audit_app;
DROP ROLE audit_officer;
DROP ROLE audit_clerk;
