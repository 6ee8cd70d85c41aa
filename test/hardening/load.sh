#!/usr/bin/env bash
# pg_privacy under concurrent load: pgbench runs the agency's roles at the
# same time for LOAD_SECONDS on a demo database of LOAD_SCALE candidates.
#
#   clerk_utrecht (branch 12) and clerk_amsterdam (branch 1), each its own
#     pgbench with LOAD_CLERK_CLIENTS clients: read their branch (rows,
#     masked BSNs, documents of a candidate), register candidates (one row
#     per statement, a new valid BSN, an ID copy dated 60 days back that the
#     retention rule lets expire at once), add documents to their
#     candidates, and try what they may not: compare BSNs, change a BSN,
#     register a candidate in the other branch (each must be refused, 42501)
#   payroll_anna: changes BSNs of random candidates (audited, rectification
#     recorded) and searches by BSN
#   dba_piet: CALL privacy.purge(batch_rows => LOAD_PURGE_BATCH) again and again
#   fg_officer: erases and exports random candidates (some under a legal
#     hold: the erasure must refuse with 55006), and verifies the audit trail
#
# Every action runs in a function of schema loadtest that records an error
# in loadtest.events with its SQLSTATE and whether that kind is expected for
# the action; deadlocks and serialization failures are raised on to pgbench
# (which retries them, --max-tries) so that they reach the server log.
# Rows inserted are logged in loadtest.inserted in the inserting
# transaction, erasure results in loadtest.erasures, purged rows come from
# privacy.purge_log.
#
# Checks: no client aborted and no transaction failed; no unexpected error
# (the counts per kind are printed); no "deadlock detected" in the server
# log and no deadlock retries; the memory of the pgbench connections'
# backends (VmHWM, VmRSS, RssAnon from /proc/PID/status, sampled after
# LOAD_WARMUP seconds and LOAD_SECONDS - 5) stays bounded: at the end
# VmHWM < 2 x its start + 50 MB + shared_buffers (a backend maps more of
# shared_buffers as it touches them) and RssAnon < 2 x its start + 50 MB;
# for documents and candidates, rows present before + inserted - purged -
# erased = rows present after; the purge deleted rows, every purge run
# finished (done), and privacy.audit_verify() held during and after the run.
#
# Settings (environment): LOAD_SECONDS (default 120), LOAD_SCALE (5000),
# LOAD_PORT (56130), LOAD_CLERK_CLIENTS (2 per clerk), LOAD_CLERK_RATE
# (transactions per second per clerk, 0 = unthrottled, default 150),
# LOAD_PAYROLL_RATE (40), LOAD_OFFICER_RATE (10), LOAD_PURGE_BATCH (200),
# LOAD_WARMUP (10), LOAD_HOLDS (candidates under a legal hold, 25),
# HARDENING_DIR (default /tmp/pg_privacy_hardening).
set -uo pipefail

cd "$(dirname "$0")/../.."
. test/client/lib/checks.sh
. tools/cluster.sh

BASE=${HARDENING_DIR:-/tmp/pg_privacy_hardening}
WORK=$BASE/load
DIR=$WORK/cluster
PORT=${LOAD_PORT:-56130}
SECONDS_TO_RUN=${LOAD_SECONDS:-120}
SCALE=${LOAD_SCALE:-5000}
CLERK_CLIENTS=${LOAD_CLERK_CLIENTS:-2}
CLERK_RATE=${LOAD_CLERK_RATE:-150}
PAYROLL_RATE=${LOAD_PAYROLL_RATE:-40}
OFFICER_RATE=${LOAD_OFFICER_RATE:-10}
PURGE_BATCH=${LOAD_PURGE_BATCH:-200}
WARMUP=${LOAD_WARMUP:-10}
HOLDS=${LOAD_HOLDS:-25}
SHARED_BUFFERS_MB=128
T0=$(date +%s)
note() { echo "# $*"; }
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    cluster_stop "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cleanup
rm -rf "$WORK"
mkdir -p "$WORK"
[ "$(id -u)" -eq 0 ] && { chown postgres: "$WORK"; chmod 755 "$WORK"; }
unset PGPASSWORD PGSERVICE
export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres PGDATABASE=agency

q() { psql -X -q -At -v ON_ERROR_STOP=1 "${@/#/-c}"; }   # q SQL...: as the superuser, in agency

cluster_create "$DIR" &&
    cluster_start "$DIR" "$PORT" 'pg_privacy' "shared_buffers=${SHARED_BUFFERS_MB}MB" log_lock_waits=on \
        "log_line_prefix='%m [%p] %u '"
ok $? "a cluster with pg_privacy preloaded"

# --- the demo agency, its roles, registry, policies, retention and the load schema ---
setup_start=$(date +%s)
{
    psql -X -q -d postgres -c "CREATE DATABASE agency"
    psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
ALTER DATABASE agency SET search_path = "$user", public, privacy;
SQL
    psql -X -q -v ON_ERROR_STOP=1 -f demo/generate.sql
    q "SELECT agency.generate($SCALE)"
    psql -X -q -v ON_ERROR_STOP=1 -v holds="$HOLDS" <<'SQL'
SET client_min_messages = warning;
CREATE ROLE clerk_utrecht LOGIN;
CREATE ROLE clerk_amsterdam LOGIN;
CREATE ROLE payroll_anna LOGIN IN ROLE privacy_bsn;
CREATE ROLE fg_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE dba_piet LOGIN IN ROLE privacy_admin;
GRANT privacy_identifying, privacy_contact TO clerk_utrecht, clerk_amsterdam;
GRANT privacy_identifying, privacy_contact, privacy_financial TO payroll_anna;
GRANT USAGE ON SCHEMA agency TO clerk_utrecht, clerk_amsterdam, payroll_anna, fg_officer, dba_piet;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA agency TO clerk_utrecht, clerk_amsterdam, payroll_anna;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO fg_officer;
GRANT SELECT ON agency.documents, agency.timesheets, agency.employees TO dba_piet;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agency TO clerk_utrecht, clerk_amsterdam, payroll_anna;
SET ROLE dba_piet;
SELECT privacy.register_subject_type('candidate', 'agency.candidates', 'id');
SELECT count(privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through))
  FROM privacy.propose_registrations('candidate');
SELECT privacy.grant_scope('clerk_utrecht', '12');
SELECT privacy.grant_scope('clerk_amsterdam', '1');
SELECT privacy.grant_scope('privacy_bsn', '*');
SELECT privacy.grant_scope('privacy_officer', '*');
SELECT privacy.classify_column('agency.candidates', 'iban', 'financial');
SELECT privacy.load_retention_preset('nl_staffing');
SELECT privacy.create_retention_rule('candidate_id_copies', 'agency.documents', 'candidate_id_copy',
    start_expr => 'created_at',
    condition => $$doc_type = 'id_copy' AND NOT EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('employee_id_copies', 'agency.documents', 'employee_id_copy',
    start_expr => $$(SELECT max(e.employment_end) FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$,
    condition => $$doc_type = 'id_copy' AND EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('payslips', 'agency.documents', 'payroll_record',
    start_expr => 'created_at', condition => $$doc_type = 'payslip'$$);
SELECT privacy.create_retention_rule('timesheets', 'agency.timesheets', 'working_time_record', start_expr => 'week_start');
RESET ROLE;
SET ROLE fg_officer;
SELECT count(privacy.place_hold('candidate', id::text, 'load test: proceedings'))
  FROM (SELECT id FROM agency.candidates ORDER BY id % 97, id LIMIT :holds) h;
RESET ROLE;

-- the load's bookkeeping
CREATE SCHEMA loadtest;
CREATE TABLE loadtest.config (shift bigint NOT NULL, max_candidate bigint NOT NULL);
CREATE TABLE loadtest.inserted (tbl text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE loadtest.events (role name NOT NULL DEFAULT current_user, action text NOT NULL, sqlstate text NOT NULL,
                              message text, expected boolean NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE loadtest.erasures (subject_key text NOT NULL, result jsonb NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE loadtest.exports (subject_key text NOT NULL, bytes integer, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE loadtest.verifies (valid boolean, entries bigint, reason text, unsealed bigint, at timestamptz NOT NULL DEFAULT clock_timestamp());
-- the shift agency.generate used for BSNs (bsn_for is a bijection for one shift)
SELECT setseed(0.42);
INSERT INTO loadtest.config SELECT floor(random() * 9000000)::bigint, (SELECT max(id) FROM agency.candidates);
DO $$BEGIN
    IF (SELECT agency.bsn_for(1, shift) FROM loadtest.config) <> (SELECT bsn::text FROM agency.candidates WHERE id = 1) THEN
        RAISE EXCEPTION 'the BSN shift of the generator was not found';
    END IF;
END$$;
GRANT USAGE ON SCHEMA loadtest TO clerk_utrecht, clerk_amsterdam, payroll_anna, fg_officer, dba_piet;
GRANT SELECT ON loadtest.config TO clerk_utrecht, clerk_amsterdam, payroll_anna, fg_officer, dba_piet;
GRANT INSERT ON loadtest.inserted, loadtest.events, loadtest.erasures, loadtest.exports, loadtest.verifies
   TO clerk_utrecht, clerk_amsterdam, payroll_anna, fg_officer, dba_piet;

-- log_event: record an error; deadlocks and serialization failures go on to pgbench
CREATE FUNCTION loadtest.log_event(action text, state text, message text, expected_states text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loadtest.events (action, sqlstate, message, expected)
    VALUES (action, state, left(message, 300), state = ANY (expected_states));
END$$;

-- a clerk reads the branch: candidates with masked BSNs, a candidate's documents
CREATE FUNCTION loadtest.clerk_read(branch int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    c bigint;
BEGIN
    SELECT count(*), max(id) INTO n, c FROM (
        SELECT id, last_name, bsn::text AS bsn, privacy.bsn_display(bsn) FROM agency.candidates
         WHERE branch_id = branch ORDER BY id DESC LIMIT 25) s;
    PERFORM d.id, d.doc_type, d.created_at FROM agency.documents d WHERE d.candidate_id = c;
    PERFORM count(*) FROM agency.candidates WHERE branch_id <> branch;   -- policies: nothing
EXCEPTION
    WHEN deadlock_detected OR serialization_failure THEN RAISE;
    WHEN OTHERS THEN PERFORM loadtest.log_event('clerk.read', SQLSTATE, SQLERRM, '{}');
END$$;

-- a clerk registers a candidate (one row per statement, a new BSN) and their ID copy
CREATE FUNCTION loadtest.clerk_insert_candidate(branch int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    s bigint := (SELECT shift FROM loadtest.config);
BEGIN
    v_id := nextval(pg_get_serial_sequence('agency.candidates', 'id'));
    INSERT INTO agency.candidates (id, branch_id, first_name, last_name, birth_date, street, house_number,
                                   postcode, city, phone, email, iban, bsn, nationality, registered_at, status)
    VALUES (v_id, branch, 'Load', 'Kandidaat ' || v_id, date '1990-01-01' + (v_id % 7000)::int, 'Oudegracht',
            '12', '3511 AB', 'Utrecht', '06-12345678', 'load' || v_id || '@example.nl', 'NL91ABNA0417164300',
            agency.bsn_for(v_id, s)::privacy.bsn, 'NL', current_date, 'registered');
    INSERT INTO loadtest.inserted (tbl) VALUES ('agency.candidates');
    INSERT INTO agency.documents (candidate_id, doc_type, created_at, file_name, content)
    VALUES (v_id, 'id_copy', now() - interval '60 days', 'ID ' || v_id || '.jpg', '\xffd8ffe0'::bytea);
    INSERT INTO loadtest.inserted (tbl) VALUES ('agency.documents');
EXCEPTION
    WHEN deadlock_detected OR serialization_failure THEN RAISE;
    WHEN OTHERS THEN PERFORM loadtest.log_event('clerk.insert_candidate', SQLSTATE, SQLERRM, '{}');
END$$;

-- a clerk adds a document to one of the branch's candidates; an erasure may
-- have removed the candidate in the meantime (23503), or restricted it after
-- the clerk read it, whereupon the restriction's policy refuses the new row
-- (42501 naming privacy_restrict)
CREATE FUNCTION loadtest.clerk_insert_document(branch int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c bigint;
BEGIN
    SELECT id INTO c FROM agency.candidates
     WHERE branch_id = branch AND id >= (SELECT floor(random() * max_candidate * 1.2)::bigint FROM loadtest.config)
     ORDER BY id LIMIT 1;
    IF c IS NULL THEN
        RETURN;
    END IF;
    IF random() < 0.7 THEN
        INSERT INTO agency.documents (candidate_id, doc_type, created_at, file_name, content)
        VALUES (c, 'id_copy', now() - interval '45 days', 'ID kopie ' || c || '.jpg', '\xffd8ffe0'::bytea);
    ELSE
        INSERT INTO agency.documents (candidate_id, doc_type, created_at, file_name, content)
        VALUES (c, 'cv', now(), 'CV ' || c || '.pdf', '\x25504446'::bytea);
    END IF;
    INSERT INTO loadtest.inserted (tbl) VALUES ('agency.documents');
EXCEPTION
    WHEN deadlock_detected OR serialization_failure THEN RAISE;
    WHEN OTHERS THEN
        PERFORM loadtest.log_event('clerk.insert_document', SQLSTATE, SQLERRM,
            CASE WHEN SQLERRM LIKE '%policy "privacy_restrict"%' THEN '{23503,42501}' ELSE '{23503}' END::text[]);
END$$;

-- what a clerk may not do: each must be refused
CREATE FUNCTION loadtest.clerk_refused(branch int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c bigint;
BEGIN
    SELECT max(id) INTO c FROM agency.candidates WHERE branch_id = branch;
    BEGIN
        PERFORM id FROM agency.candidates WHERE bsn = '111222333';
        PERFORM loadtest.log_event('clerk.compare_bsn', 'allowed', 'a BSN comparison was not refused', '{}');
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure THEN RAISE;
        WHEN OTHERS THEN PERFORM loadtest.log_event('clerk.compare_bsn', SQLSTATE, SQLERRM, '{42501}');
    END;
    BEGIN
        UPDATE agency.candidates SET bsn = '123456782' WHERE id = c;
        PERFORM loadtest.log_event('clerk.update_bsn', 'allowed', 'a BSN change was not refused', '{}');
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure THEN RAISE;
        WHEN OTHERS THEN PERFORM loadtest.log_event('clerk.update_bsn', SQLSTATE, SQLERRM, '{42501}');
    END;
    BEGIN
        INSERT INTO agency.candidates (branch_id, first_name, last_name, birth_date, street, house_number,
                                       postcode, city, nationality, registered_at, bsn)
        VALUES (CASE WHEN branch = 12 THEN 1 ELSE 12 END, 'Ander', 'Filiaal', '2000-01-01', 'Damrak', '1',
                '1012 AB', 'Amsterdam', 'NL', current_date, '111222333');
        PERFORM loadtest.log_event('clerk.insert_other_branch', 'allowed', 'an insert into another branch was not refused', '{}');
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure THEN RAISE;
        WHEN OTHERS THEN PERFORM loadtest.log_event('clerk.insert_other_branch', SQLSTATE, SQLERRM, '{42501}');
    END;
END$$;

-- payroll corrects a BSN: a new number of the same bijection (never another candidate's)
CREATE FUNCTION loadtest.payroll_update() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c bigint;
    s bigint;
    b privacy.bsn;
BEGIN
    SELECT floor(1 + random() * max_candidate * 1.1)::bigint, shift INTO c, s FROM loadtest.config;
    UPDATE agency.candidates SET bsn = agency.bsn_for(id + 9000000 * (1 + floor(random() * 8)::int), s)::privacy.bsn
     WHERE id = c RETURNING bsn INTO b;
    IF b IS NOT NULL THEN
        PERFORM id FROM agency.candidates WHERE bsn = b;     -- payroll may search by BSN
    END IF;
EXCEPTION
    WHEN deadlock_detected OR serialization_failure THEN RAISE;
    WHEN OTHERS THEN PERFORM loadtest.log_event('payroll.update_bsn', SQLSTATE, SQLERRM, '{}');
END$$;

-- the officer erases a random candidate (a held one is refused: 55006)
CREATE FUNCTION loadtest.officer_erase() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c text;
    r jsonb;
BEGIN
    IF random() < 0.2 THEN      -- now and then a candidate under a hold
        SELECT h.subject_key INTO c FROM privacy.legal_holds h WHERE h.active ORDER BY random() LIMIT 1;
    ELSE
        SELECT floor(1 + random() * max_candidate * 1.1)::bigint::text INTO c FROM loadtest.config;
    END IF;
    r := privacy.erase_subject('candidate', c, 'art. 17(1)(a): load test');
    INSERT INTO loadtest.erasures (subject_key, result) VALUES (c, r);
EXCEPTION
    WHEN deadlock_detected OR serialization_failure THEN RAISE;
    WHEN OTHERS THEN PERFORM loadtest.log_event('officer.erase', SQLSTATE, SQLERRM, '{55006}');
END$$;

CREATE FUNCTION loadtest.officer_export() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c text;
BEGIN
    SELECT floor(1 + random() * max_candidate * 1.1)::bigint::text INTO c FROM loadtest.config;
    INSERT INTO loadtest.exports (subject_key, bytes)
    VALUES (c, length(privacy.export_subject('candidate', c)::text));
EXCEPTION
    WHEN deadlock_detected OR serialization_failure THEN RAISE;
    WHEN OTHERS THEN PERFORM loadtest.log_event('officer.export', SQLSTATE, SQLERRM, '{}');
END$$;

CREATE FUNCTION loadtest.officer_verify() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loadtest.verifies (valid, entries, reason, unsealed)
    SELECT v.valid, v.entries, v.reason, v.unsealed FROM privacy.audit_verify() v;
EXCEPTION
    WHEN deadlock_detected OR serialization_failure THEN RAISE;
    WHEN OTHERS THEN PERFORM loadtest.log_event('officer.verify', SQLSTATE, SQLERRM, '{}');
END$$;
SQL
    # expired rows of the generated data go first, so that the load's purges
    # work on what the load adds (and on what is left)
    psql -X -q -U dba_piet -v ON_ERROR_STOP=1 -c "CALL privacy.purge()"
    psql -X -q -c "VACUUM ANALYZE"
} >"$WORK/setup.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 20 "$WORK/setup.log" | sed 's/^/# /'
ok $rc "the demo agency ($SCALE candidates): roles, registry, scopes, column policy, 4 retention rules, $HOLDS legal holds ($(( $(date +%s) - setup_start )) s)"

# --- the pgbench scripts ----------------------------------------------------------
S=$WORK/scripts
mkdir -p "$S"
echo 'SELECT loadtest.clerk_read(:branch);' >"$S/clerk_read.sql"
echo 'SELECT loadtest.clerk_insert_candidate(:branch);' >"$S/clerk_insert_candidate.sql"
echo 'SELECT loadtest.clerk_insert_document(:branch);' >"$S/clerk_insert_document.sql"
echo 'SELECT loadtest.clerk_refused(:branch);' >"$S/clerk_refused.sql"
echo 'SELECT loadtest.payroll_update();' >"$S/payroll.sql"
printf 'CALL privacy.purge(batch_rows => %s);\n\\sleep 500 ms\n' "$PURGE_BATCH" >"$S/purge.sql"
echo 'SELECT loadtest.officer_erase();' >"$S/officer_erase.sql"
echo 'SELECT loadtest.officer_export();' >"$S/officer_export.sql"
echo 'SELECT loadtest.officer_verify();' >"$S/officer_verify.sql"
[ "$(id -u)" -eq 0 ] && chmod -R a+rX "$S"

# before
count_rows() { q "SELECT (SELECT count(*) FROM agency.documents) || ' ' || (SELECT count(*) FROM agency.candidates)"; }
read -r DOCS0 CANDS0 <<<"$(count_rows)"
RUN0=$(q "SELECT coalesce(max(run_id), 0) FROM privacy.purge_log")
LOG0=$(( $(wc -l <"$DIR/server.log") + 1 ))
note "before: $DOCS0 documents, $CANDS0 candidates; purge runs so far: $RUN0"

rate() { [ "$1" -gt 0 ] && echo "-R $1"; }
bench() {   # bench NAME ROLE CLIENTS RATE ARGS...
    local name=$1 role=$2 clients=$3 r=$4
    shift 4
    pgbench -n -U "$role" -c "$clients" -j 1 -T "$SECONDS_TO_RUN" $(rate "$r") --max-tries=10 \
        --failures-detailed "$@" agency >"$WORK/pgbench.$name.log" 2>&1 &
    PIDS+=($!)
}
bench clerk_utrecht clerk_utrecht "$CLERK_CLIENTS" "$CLERK_RATE" -D branch=12 \
    -f "$S/clerk_read.sql@5" -f "$S/clerk_insert_candidate.sql@1" -f "$S/clerk_insert_document.sql@3" -f "$S/clerk_refused.sql@1"
bench clerk_amsterdam clerk_amsterdam "$CLERK_CLIENTS" "$CLERK_RATE" -D branch=1 \
    -f "$S/clerk_read.sql@5" -f "$S/clerk_insert_candidate.sql@1" -f "$S/clerk_insert_document.sql@3" -f "$S/clerk_refused.sql@1"
bench payroll payroll_anna 1 "$PAYROLL_RATE" -f "$S/payroll.sql"
bench purge dba_piet 1 0 -f "$S/purge.sql"
bench officer fg_officer 1 "$OFFICER_RATE" -f "$S/officer_erase.sql@4" -f "$S/officer_export.sql@4" -f "$S/officer_verify.sql@1"
note "load started: ${SECONDS_TO_RUN} s, $((2 * CLERK_CLIENTS + 3)) connections"

# memory of the pgbench connections' backends
mem_sample() {   # mem_sample FILE: pid user VmHWM VmRSS RssAnon (kB)
    local pid user
    q "SELECT pid || ' ' || usename FROM pg_stat_activity WHERE application_name = 'pgbench' ORDER BY pid" |
        while read -r pid user; do
            as_owner cat "/proc/$pid/status" 2>/dev/null |
                awk -v p="$pid" -v u="$user" '/^VmHWM:/ {h=$2} /^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2}
                    END { if (h != "") print p, u, h, r, a }'
        done >"$1"
}
sleep "$WARMUP"
mem_sample "$WORK/mem.start"
sleep $(( SECONDS_TO_RUN - WARMUP - 5 > 0 ? SECONDS_TO_RUN - WARMUP - 5 : 1 ))
mem_sample "$WORK/mem.end"
rc_all=0
for pid in "${PIDS[@]}"; do wait "$pid" || rc_all=1; done
PIDS=()
note "load finished after $(( $(date +%s) - T0 )) s in all"

# --- pgbench's view ----------------------------------------------------------------
for f in "$WORK"/pgbench.*.log; do
    name=$(basename "$f" .log | sed 's/^pgbench\.//')
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$f")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$f")
    retried=$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' "$f")
    deadl=$(sed -n 's/^number of deadlock failures: \([0-9]*\).*/\1/p' "$f")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$f")
    lat=$(sed -n 's/^latency average = \([0-9.]* ms\).*/\1/p' "$f")
    note "pgbench $name: ${tx:-?} transactions, ${tps:-?} tps, latency ${lat:-?}, failed ${failed:-?}, retried ${retried:-0}, deadlock failures ${deadl:-0}"
    aborted=$(grep -cE 'aborted|Run was aborted' "$f")
    [ "$aborted" -gt 0 ] && grep -E 'aborted|error' "$f" | head -n 5 | sed 's/^/#   /'
    [ -n "$tx" ] && [ "$tx" -gt 0 ] && [ "${failed:-1}" = 0 ] && [ "$aborted" -eq 0 ]
    ok $? "pgbench $name: no client aborted, no transaction failed"
done
[ $rc_all -eq 0 ]
ok $? "every pgbench process exited normally"

# --- errors by kind -------------------------------------------------------------------
note "errors by kind (role, action, SQLSTATE, expected, count):"
q "SELECT format('%s %s %s %s %s', role, action, sqlstate, CASE WHEN expected THEN 'expected' ELSE 'UNEXPECTED' END, count(*))
     FROM loadtest.events GROUP BY role, action, sqlstate, expected ORDER BY role, action, sqlstate" | sed 's/^/#   /'
unexpected=$(q "SELECT count(*) FROM loadtest.events WHERE NOT expected")
[ "$unexpected" = 0 ] ||
    q "SELECT format('%s %s %s: %s', role, action, sqlstate, message) FROM loadtest.events WHERE NOT expected LIMIT 10" | sed 's/^/#   /'
[ "$unexpected" = 0 ]
ok $? "no unexpected error ($unexpected)"
refusals=$(q "SELECT count(*) FROM loadtest.events WHERE action IN ('clerk.compare_bsn', 'clerk.update_bsn', 'clerk.insert_other_branch') AND expected AND sqlstate = '42501'")
attempts=$(q "SELECT count(*) FROM loadtest.events WHERE action IN ('clerk.compare_bsn', 'clerk.update_bsn', 'clerk.insert_other_branch')")
[ "$refusals" -gt 0 ] && [ "$refusals" = "$attempts" ]
ok $? "every forbidden clerk action was refused with 42501 ($refusals of $attempts)"

deadlocks=$(tail -n +"$LOG0" "$DIR/server.log" | grep -c 'deadlock detected')
[ "$deadlocks" -gt 0 ] && tail -n +"$LOG0" "$DIR/server.log" | grep -A4 -m2 'deadlock detected' | sed 's/^/#   /'
retries=$(cat "$WORK"/pgbench.*.log | sed -n 's/^number of deadlock failures: \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
[ "$deadlocks" -eq 0 ]
ok $? "no \"deadlock detected\" in the server log ($deadlocks; pgbench deadlock failures after retries: $retries)"
other=$(tail -n +"$LOG0" "$DIR/server.log" | grep -E 'PANIC|FATAL|was terminated by signal|server process .* exited with exit code' | grep -v 'terminating connection due to administrator command')
[ -n "$other" ] && echo "$other" | head -n 5 | sed 's/^/#   /'
[ -z "$other" ]
ok $? "no crash, PANIC or FATAL in the server log"
waits=$(tail -n +"$LOG0" "$DIR/server.log" | grep -c 'still waiting for')
note "lock waits longer than deadlock_timeout in the server log: $waits"

# --- memory ---------------------------------------------------------------------------
note "backend memory, kB (pid user VmHWM VmRSS RssAnon), start -> end:"
join <(sort "$WORK/mem.start") <(sort "$WORK/mem.end") |
    awk '{printf "#   %s %-15s HWM %7d -> %7d  RSS %7d -> %7d  anon %7d -> %7d\n", $1, $2, $3, $7, $4, $8, $5, $9}'
mem_ok=$(join <(sort "$WORK/mem.start") <(sort "$WORK/mem.end") |
    awk -v sb=$((SHARED_BUFFERS_MB * 1024)) '
        { n++; if ($7 >= 2 * $3 + 51200 + sb) bad++; if ($9 >= 2 * $5 + 51200) bad++
          if ($3 > hs) hs = $3; if ($7 > he) he = $7; if ($5 > as) as = $5; if ($9 > ae) ae = $9 }
        END { printf "%d %d %d %d %d %d\n", n, bad + 0, hs, he, as, ae }')
read -r mem_n mem_bad hwm_s hwm_e anon_s anon_e <<<"$mem_ok"
note "largest backend: VmHWM $((hwm_s / 1024)) MB -> $((hwm_e / 1024)) MB, RssAnon $((anon_s / 1024)) MB -> $((anon_e / 1024)) MB over $mem_n backends"
[ "$mem_n" -ge 5 ] && [ "$mem_bad" -eq 0 ]
ok $? "backend memory stays bounded: VmHWM < 2 x start + 50 MB + shared_buffers, RssAnon < 2 x start + 50 MB ($mem_n backends sampled)"

# --- the counts reconcile ---------------------------------------------------------------
q "SELECT audit_seal FROM privacy.audit_seal()" >/dev/null
read -r DOCS1 CANDS1 <<<"$(count_rows)"
reconcile() {   # reconcile TABLE BEFORE AFTER
    local tbl=$1 before=$2 after=$3 ins pur era
    ins=$(q "SELECT count(*) FROM loadtest.inserted WHERE tbl = '$tbl'")
    pur=$(q "SELECT coalesce(sum(deleted), 0) FROM privacy.purge_log WHERE run_id > $RUN0 AND tbl = '$tbl'")
    era=$(q "SELECT coalesce(sum((t ->> 'deleted')::bigint), 0) FROM loadtest.erasures e, jsonb_array_elements(e.result -> 'tables') t WHERE t ->> 'table' = '$tbl'")
    note "$tbl: $before before + $ins inserted - $pur purged - $era erased = $((before + ins - pur - era)); present: $after"
    [ $((before + ins - pur - era)) -eq "$after" ]
    ok $? "$tbl: rows before + inserted - purged - erased = rows present"
    eval "INS_${tbl#agency.}=$ins PUR_${tbl#agency.}=$pur ERA_${tbl#agency.}=$era"
}
reconcile agency.documents "$DOCS0" "$DOCS1"
reconcile agency.candidates "$CANDS0" "$CANDS1"
runs=$(q "SELECT count(DISTINCT run_id) FROM privacy.purge_log WHERE run_id > $RUN0")
notdone=$(q "SELECT count(*) FROM privacy.purge_log WHERE run_id > $RUN0 AND status <> 'done'")
q "SELECT format('%s: %s runs, %s deleted, %s held, %s blocked, %s batches, longest batch %s ms', rule, count(*), sum(deleted), sum(held), sum(blocked), sum(batches), round(max(longest_batch_ms)))
     FROM privacy.purge_log WHERE run_id > $RUN0 GROUP BY rule ORDER BY rule" | sed 's/^/#   purge /'
[ "$runs" -gt 0 ] && [ "$notdone" = 0 ] && [ "${PUR_documents:-0}" -gt 0 ]
ok $? "the purge ran $runs times, every run finished (not done: $notdone) and deleted ${PUR_documents:-0} documents"
erasures=$(q "SELECT count(*) || ' erasures (' || count(*) FILTER (WHERE (result ->> 'changed')::int > 0) || ' changed something, ' || count(*) FILTER (WHERE result ->> 'restriction' IS NOT NULL) || ' restricted), ' || (SELECT count(*) FROM loadtest.exports) || ' exports, ' || (SELECT count(*) FROM loadtest.events WHERE action = 'officer.erase' AND sqlstate = '55006') || ' refused for a hold' FROM loadtest.erasures")
note "officer: $erasures"
[ "$(q "SELECT count(*) FROM loadtest.erasures")" -gt 0 ] && [ "${INS_documents:-0}" -gt 0 ] && [ "${INS_candidates:-0}" -gt 0 ]
ok $? "the load inserted candidates and documents and erased candidates"
held_erased=$(q "SELECT count(*) FROM loadtest.erasures e JOIN privacy.legal_hold h ON h.subject_key = e.subject_key AND h.released_at IS NULL WHERE (e.result ->> 'changed')::int > 0")
held_refused=$(q "SELECT count(*) FROM loadtest.events WHERE action = 'officer.erase' AND sqlstate = '55006'")
[ "$held_erased" = 0 ] && [ "$held_refused" -gt 0 ]
ok $? "erasures of candidates under a legal hold were refused with 55006 ($held_refused times) and none was erased ($held_erased)"
verifies=$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE NOT valid) FROM loadtest.verifies")
read -r nver nbad <<<"$verifies"
final=$(q "SELECT valid || ' ' || entries || ' ' || coalesce(reason, '-') || ' ' || unsealed FROM privacy.audit_verify()")
note "audit trail: $final (valid entries reason unsealed); $nver verifications during the load, $nbad invalid"
[ "$nver" -gt 0 ] && [ "$nbad" = 0 ] && [ "${final%% *}" = true ]
ok $? "privacy.audit_verify() held during the load ($nver times) and holds after it"
note "total $(( $(date +%s) - T0 )) s"
checks_done
