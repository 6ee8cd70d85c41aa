#!/usr/bin/env bash
# Crash consistency.  A cluster of its own (under
# /tmp/pg_privacy_hardening/crash, port 56001) is crashed three times: the
# postmaster is killed with SIGKILL, and its orphaned children right after it
# (as a power loss would: no backend goes on committing after the crash),
# then started again, which runs crash recovery.
#
#  (a) in the middle of CALL privacy.purge(batch_rows => 500) over a table
#      with 400000 expired rows, once purge_log shows committed batches;
#  (b) in the middle of privacy.erase_subject() of a subject with 35000
#      rows: a second connection holds the subject's root table in SHARE mode
#      (row locks pass, deletes wait), so the erasure has locked the
#      subject's rows, deleted those of the child tables and waits to delete
#      the root row, its transaction open, when the server dies;
#  (c) during a burst of audited writes: pgbench, 8 clients, each
#      transaction appending an audit entry, changing a BSN (audited as
#      bsn.update, recorded as a rectification) and inserting a row.
#
# After each restart: privacy.audit_verify() is valid; (a) no batch is half
# done: rows deleted = the sum of "deleted" in purge_log for the run, the
# rule's expired rows left = initial - deleted, the fresh rows and the rule
# not yet reached untouched; the next CALL privacy.purge() deletes every
# expired row and closes the interrupted run (interrupted / not_reached, each
# audited); (b) the subject is untouched (rows per table as before, no
# erasure audited, no restriction), and erasing it again erases it wholly;
# (c) every committed transaction has both its audit entries and its row,
# and sealing what is left keeps the chain valid.
#
# Needs root (or the postgres OS user) and PostgreSQL 15 with the extension
# installed.  Prints TAP lines; exits non-zero when a check failed.
set -uo pipefail

cd "$(dirname "$0")/../.."
. tools/cluster.sh
. test/client/lib/checks.sh

DIR=/tmp/pg_privacy_hardening/crash
PORT=56001
DB=crash
PRELOAD='pg_privacy, pg_cron'
BG_PIDS=()

cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    cluster_stop "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB

q() { # sql: the result as unaligned text, as the superuser
    psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"
}
qr() { # role sql: the result as unaligned text, as a login role
    psql -X -q -At -v ON_ERROR_STOP=1 -U "$1" -c "$2"
}
wait_for() { # seconds sql: poll until the query returns t
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        [ "$(q "$2" 2>/dev/null)" = "t" ] && return 0
        sleep 0.1
    done
    return 1
}
verify_audit() { # label: the trail verifies
    local v
    v=$(q "SELECT valid::text || ',' || entries || ',' || coalesce(reason, '-') FROM privacy.audit_verify()")
    [[ "$v" == true,* ]]
    ok $? "$1: privacy.audit_verify() is valid ($v)"
}

# crash: SIGKILL to the postmaster, then to the children it left behind;
# returns when every one of them is gone
crash() {
    local pm kids p i alive
    pm=$(head -n 1 "$DIR/data/postmaster.pid")
    kids=$(pgrep -P "$pm" | tr '\n' ' ')
    kill -9 "$pm"
    for p in $kids; do
        kill -9 "$p" 2>/dev/null
    done
    for ((i = 0; i < 100; i++)); do
        alive=0
        for p in $pm $kids; do
            kill -0 "$p" 2>/dev/null && alive=1
        done
        [ $alive -eq 0 ] && return 0
        sleep 0.1
    done
    echo "# processes of the crashed server still alive: $pm $kids"
    return 1
}
# restart LABEL: the cluster was not shut down cleanly, and starts again
restart() {
    local state
    state=$(as_owner "$PGBIN/pg_controldata" -D "$DIR/data" | sed -n 's/^Database cluster state: *//p')
    [ "$state" = "in production" ]
    ok $? "$1: the server died without a shutdown checkpoint (cluster state: $state)"
    log_from=$(($(wc -l <"$DIR/server.log") + 1))
    cluster_start "$DIR" "$PORT" "$PRELOAD" 2>/dev/null
    ok $? "$1: the server starts again"
    tail -n +"$log_from" "$DIR/server.log" | grep -q 'database system was not properly shut down; automatic recovery in progress'
    ok $? "$1: the start ran crash recovery"
    [ "$(q "SELECT 1")" = "1" ] || { echo "# the restarted server does not answer"; checks_done; }
}

cluster_stop "$DIR"
rm -rf "$DIR"
cluster_create "$DIR" || exit 1
cluster_start "$DIR" "$PORT" "$PRELOAD" || exit 1
psql -X -q -d postgres -c "CREATE DATABASE $DB" || exit 1

T0=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE ROLE crash_admin LOGIN IN ROLE privacy_admin;
CREATE ROLE crash_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE crash_writer LOGIN IN ROLE privacy_bsn;
CREATE SCHEMA crash;
CREATE TABLE crash.people (id bigint PRIMARY KEY, name text NOT NULL, bsn privacy.bsn);
CREATE TABLE crash.docs (id bigint PRIMARY KEY, person_id bigint NOT NULL REFERENCES crash.people,
                         created_at date NOT NULL, body text);
CREATE INDEX ON crash.docs (person_id);
CREATE TABLE crash.notes (id bigint PRIMARY KEY, person_id bigint NOT NULL REFERENCES crash.people,
                          created_at date NOT NULL, body text);
CREATE INDEX ON crash.notes (person_id);
CREATE TABLE crash.bsn_pool (n int PRIMARY KEY, bsn privacy.bsn NOT NULL);
CREATE TABLE crash.burst_log (n bigserial PRIMARY KEY, person_id bigint NOT NULL);

INSERT INTO crash.bsn_pool
SELECT row_number() OVER (ORDER BY v), v::privacy.bsn
  FROM generate_series(100000000::bigint, 100100000) v WHERE privacy.bsn_is_valid(v::text) LIMIT 5000;
INSERT INTO crash.people SELECT g, 'person ' || g, (SELECT bsn FROM crash.bsn_pool WHERE n = g)
  FROM generate_series(1, 2000) g;
-- 400000 expired documents of persons 2..2000, 50000 fresh ones; person 1
-- has 30000 fresh documents and 5000 fresh notes (the erasure's subject)
INSERT INTO crash.docs
SELECT g, 2 + g % 1999, current_date - 400, 'expired document ' || g FROM generate_series(1, 400000) g;
INSERT INTO crash.docs
SELECT g, 2 + g % 1999, current_date, 'fresh document ' || g FROM generate_series(400001, 450000) g;
INSERT INTO crash.docs
SELECT g, 1, current_date, 'document of person 1' FROM generate_series(450001, 480000) g;
INSERT INTO crash.notes
SELECT g, 2 + g % 1999, current_date - 400, 'expired note ' || g FROM generate_series(1, 100000) g;
INSERT INTO crash.notes
SELECT g, 1, current_date, 'note of person 1' FROM generate_series(100001, 105000) g;
ANALYZE crash.people, crash.docs, crash.notes;

GRANT USAGE ON SCHEMA crash TO crash_admin, crash_officer, crash_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA crash TO crash_admin, crash_officer;
GRANT SELECT, UPDATE ON crash.people TO crash_writer;
GRANT SELECT ON crash.bsn_pool TO crash_writer;
GRANT INSERT ON crash.burst_log TO crash_writer;
GRANT USAGE ON SEQUENCE crash.burst_log_n_seq TO crash_writer;
GRANT EXECUTE ON FUNCTION privacy.audit_append(text, text, text, text, jsonb) TO crash_writer;

SET ROLE crash_admin;
SELECT privacy.register_subject_type('person', 'crash.people', 'id', 'people of the crash test');
SELECT privacy.register_table(tbl, 'person', key_column, via) FROM privacy.propose_registrations('person');
SELECT privacy.define_document_type('crash_record', '30 days', 'creation of the record');
SELECT privacy.create_retention_rule('r1_docs', 'crash.docs', 'crash_record', start_expr => 'created_at');
SELECT privacy.create_retention_rule('r2_notes', 'crash.notes', 'crash_record', start_expr => 'created_at');
RESET ROLE;
SQL
echo "# data loaded in $(( $(date +%s) - T0 )) s"
[ "$(q "SELECT count(*) FROM privacy.registered_table WHERE relid::text LIKE 'crash.%'")" = "3" ]
ok $? "setup: three tables registered for subject type person"
verify_audit "setup"

EXPIRED_DOCS="SELECT count(*) FROM crash.docs WHERE created_at < current_date - 200"
EXPIRED_NOTES="SELECT count(*) FROM crash.notes WHERE created_at < current_date - 200"

# ---------------------------------------------------------------------------
# (a) a crash in the middle of a purge
# ---------------------------------------------------------------------------
T0=$(date +%s)
docs0=$(q "SELECT count(*) FROM crash.docs")
exp_docs0=$(q "$EXPIRED_DOCS")
exp_notes0=$(q "$EXPIRED_NOTES")
status0=$(q "SELECT rows_expired FROM privacy.retention_status('r1_docs')")
[ "$exp_docs0" = 400000 ] && [ "$status0" = "$exp_docs0" ]
ok $? "purge: 400000 expired documents before, as retention_status counts them ($status0)"

PGAPPNAME=crash_purge psql -X -q -U crash_admin -c "CALL privacy.purge(batch_rows => 500)" \
    >"$DIR/purge.out" 2>&1 &
purge_pid=$!
BG_PIDS+=("$purge_pid")
wait_for 60 "SELECT coalesce(max(batches), 0) >= 5 FROM privacy.purge_log WHERE status = 'running'"
ok $? "purge: the background purge committed some batches"
crash
ok $? "purge: postmaster and backends killed with SIGKILL"
wait "$purge_pid"
purge_rc=$?
[ "$purge_rc" -ne 0 ] && ! grep -q '"dry_run"' "$DIR/purge.out"
ok $? "purge: the CALL did not finish (psql status $purge_rc)"
restart "purge"

run=$(q "SELECT max(run_id) FROM privacy.purge_log")
log=$(q "SELECT string_agg(rule || ':' || status || ':' || (finished_at IS NULL), ',' ORDER BY ord)
           FROM privacy.purge_log WHERE run_id = $run")
[ "$log" = "r1_docs:running:true,r2_notes:pending:true" ]
ok $? "purge: purge_log shows the run open in r1_docs, r2_notes pending ($log)"
deleted=$(q "SELECT sum(deleted) FROM privacy.purge_log WHERE run_id = $run")
batches=$(q "SELECT batches FROM privacy.purge_log WHERE run_id = $run AND rule = 'r1_docs'")
exp_docs1=$(q "$EXPIRED_DOCS")
docs1=$(q "SELECT count(*) FROM crash.docs")
echo "# run $run: $batches batches committed, $deleted rows deleted, $exp_docs1 expired left"
[ "$deleted" -gt 0 ] && [ "$exp_docs1" -gt 0 ]
ok $? "purge: the crash came mid-way ($deleted deleted, $exp_docs1 expired left)"
[ $((exp_docs0 - deleted)) -eq "$exp_docs1" ]
ok $? "purge: expired rows left = initial - deleted in purge_log ($exp_docs0 - $deleted = $exp_docs1)"
[ $((docs0 - deleted)) -eq "$docs1" ]
ok $? "purge: only expired rows went, no fresh row ($docs0 - $deleted = $docs1)"
[ "$(q "SELECT count(*) FROM crash.docs WHERE created_at >= current_date - 200")" = 80000 ]
ok $? "purge: the 80000 fresh documents are all there"
[ "$(q "$EXPIRED_NOTES")" = "$exp_notes0" ]
ok $? "purge: the rule not reached deleted nothing ($exp_notes0 expired notes)"
[ "$(q "SELECT rows_expired FROM privacy.retention_status('r1_docs')")" = "$exp_docs1" ]
ok $? "purge: retention_status agrees with the rows left"
[ "$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'retention.purge' AND details ->> 'run' = '$run'")" = 0 ]
ok $? "purge: the interrupted run wrote no audit entry before the crash"
verify_audit "purge, after the crash"

out=$(qr crash_admin "CALL privacy.purge()")
ok $? "purge: the next CALL privacy.purge() succeeds"
[ "$(q "$EXPIRED_DOCS")" = 0 ] && [ "$(q "$EXPIRED_NOTES")" = 0 ]
ok $? "purge: no expired row is left"
[ "$(q "SELECT rows_expired FROM privacy.retention_status('r1_docs')")" = 0 ]
ok $? "purge: retention_status shows no expired document"
[ "$(q "SELECT count(*) FROM crash.docs")" = $((docs0 - exp_docs0)) ]
ok $? "purge: $((docs0 - exp_docs0)) documents are left, the fresh ones"
log=$(q "SELECT string_agg(rule || ':' || status || ':' || (finished_at IS NOT NULL), ',' ORDER BY ord)
           FROM privacy.purge_log WHERE run_id = $run")
[ "$log" = "r1_docs:interrupted:true,r2_notes:not_reached:true" ]
ok $? "purge: the interrupted run is closed ($log)"
audited=$(q "SELECT string_agg((details ->> 'rule') || ':' || (details ->> 'status') || ':' || (details ->> 'deleted'),
                               ',' ORDER BY details ->> 'rule')
               FROM privacy.audit_log WHERE action = 'retention.purge' AND details ->> 'run' = '$run'")
[ "$audited" = "r1_docs:interrupted:$deleted,r2_notes:not_reached:0" ]
ok $? "purge: the closing of the interrupted run is audited ($audited)"
run2=$(q "SELECT max(run_id) FROM privacy.purge_log")
log=$(q "SELECT string_agg(rule || ':' || status || ':' || deleted, ',' ORDER BY ord) FROM privacy.purge_log WHERE run_id = $run2")
[ "$run2" -gt "$run" ] && [ "$log" = "r1_docs:done:$exp_docs1,r2_notes:done:$exp_notes0" ]
ok $? "purge: the new run deleted what was left ($log)"
verify_audit "purge, after the next run"
echo "# (a) took $(( $(date +%s) - T0 )) s"

# ---------------------------------------------------------------------------
# (b) a crash in the middle of an erasure
# ---------------------------------------------------------------------------
T0=$(date +%s)
COUNTS="SELECT (SELECT count(*) FROM crash.people WHERE id = 1) || '/' ||
               (SELECT count(*) FROM crash.docs WHERE person_id = 1) || '/' ||
               (SELECT count(*) FROM crash.notes WHERE person_id = 1) || ' of ' ||
               (SELECT count(*) FROM crash.people) || '/' || (SELECT count(*) FROM crash.docs) || '/' ||
               (SELECT count(*) FROM crash.notes)"
before=$(q "$COUNTS")
[[ "$before" == "1/30000/5000 of "* ]]
ok $? "erasure: person 1 has 1/30000/5000 rows in people/docs/notes ($before)"
entries_before=$(q "SELECT count(*) FROM privacy.audit_log")

PGAPPNAME=crash_locker psql -X -q -c "BEGIN" -c "LOCK TABLE crash.people IN SHARE MODE" \
    -c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
BG_PIDS+=($!)
wait_for 30 "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'crash_locker'
                             AND query LIKE '%pg_sleep%' AND state = 'active')"
ok $? "erasure: another connection holds the people table in SHARE mode"
PGAPPNAME=crash_eraser psql -X -q -U crash_officer -c "SELECT privacy.erase_subject('person', '1', 'art. 17(1)(a)')" \
    >"$DIR/erase.out" 2>&1 &
erase_pid=$!
BG_PIDS+=("$erase_pid")
wait_for 60 "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'crash_eraser'
                             AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL)"
ok $? "erasure: the erasure waits for the lock, its transaction open with writes made"
waits=$(q "SELECT string_agg(l.relation::regclass::text || ' ' || l.mode, ',')
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE a.application_name = 'crash_eraser' AND NOT l.granted")
[ "$waits" = "crash.people RowExclusiveLock" ]
ok $? "erasure: it waits to delete from the root table ($waits)"
held=$(q "SELECT string_agg(DISTINCT l.relation::regclass::text, ',' ORDER BY l.relation::regclass::text)
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE a.application_name = 'crash_eraser' AND l.mode = 'RowExclusiveLock'
             AND l.relation IN ('crash.docs'::regclass, 'crash.notes'::regclass) AND l.granted")
[ "$held" = "crash.docs,crash.notes" ]
ok $? "erasure: it has already written to docs and notes ($held)"
crash
ok $? "erasure: postmaster and backends killed with SIGKILL"
wait "$erase_pid"
! grep -q '"subject_type"' "$DIR/erase.out"
ok $? "erasure: the erasure did not return"
restart "erasure"

after=$(q "$COUNTS")
[ "$after" = "$before" ]
ok $? "erasure: person 1 is untouched, and so is everyone else ($after)"
[ "$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'rights.erase'")" = 0 ]
ok $? "erasure: no erasure is audited"
[ "$(q "SELECT count(*) FROM privacy.restriction")" = 0 ]
ok $? "erasure: no restriction was left behind"
[ "$(q "SELECT count(*) FROM privacy.audit_log")" = "$entries_before" ]
ok $? "erasure: the audit trail has the entries it had before ($entries_before)"
verify_audit "erasure, after the crash"

res=$(qr crash_officer "SELECT privacy.erase_subject('person', '1', 'art. 17(1)(a)') ->> 'changed'")
[ "$res" = 35001 ]
ok $? "erasure: erasing again changes 35001 rows ($res)"
after=$(q "$COUNTS")
[[ "$after" == "0/0/0 of "* ]]
ok $? "erasure: person 1 is wholly erased now ($after)"
[ "$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'rights.erase' AND subject_key = '1'")" = 1 ]
ok $? "erasure: the erasure is audited once"
verify_audit "erasure, after erasing again"
echo "# (b) took $(( $(date +%s) - T0 )) s"

# ---------------------------------------------------------------------------
# (c) a crash during a burst of audited writes
# ---------------------------------------------------------------------------
T0=$(date +%s)
cat >"$DIR/burst.sql" <<'SQL'
\set id random(2, 2000)
\set r random(1, 5000)
BEGIN;
SELECT privacy.audit_append('crash.burst', 'crash.people', 'person', (:id)::text, NULL);
UPDATE crash.people SET bsn = (SELECT p.bsn FROM crash.bsn_pool p WHERE p.n = :r) WHERE id = :id;
INSERT INTO crash.burst_log (person_id) VALUES (:id);
COMMIT;
SQL
chmod 644 "$DIR/burst.sql"
"$PGBIN/pgbench" -n -c 8 -j 4 -T 120 -U crash_writer -f "$DIR/burst.sql" "$DB" >"$DIR/pgbench.out" 2>&1 &
bench_pid=$!
BG_PIDS+=("$bench_pid")
wait_for 60 "SELECT count(*) >= 1000 FROM crash.burst_log"
ok $? "burst: 8 clients commit audited writes"
crash
ok $? "burst: postmaster and backends killed with SIGKILL"
wait "$bench_pid"
restart "burst"

verify_audit "burst, after the crash"
n_rows=$(q "SELECT count(*) FROM crash.burst_log")
n_append=$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'crash.burst'")
n_update=$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'bsn.update' AND acting_role = 'crash_writer'")
echo "# committed: $n_rows rows, $n_append appended entries, $n_update bsn.update entries"
[ "$n_rows" -ge 1000 ] && [ "$n_append" = "$n_rows" ] && [ "$n_update" = "$n_rows" ]
ok $? "burst: every committed transaction has its row and both its audit entries ($n_rows/$n_append/$n_update)"
n_rect=$(q "SELECT count(*) FROM privacy.rectification WHERE tbl::text = 'crash.people'")
[ "$n_rect" -gt 0 ] && [ "$n_rect" -le "$n_rows" ]
ok $? "burst: the rectifications of the committed changes are there ($n_rect)"
gaps=$(q "SELECT count(*) FROM (SELECT seq, lead(seq) OVER (ORDER BY seq) AS nxt FROM privacy.audit_log) s
           WHERE nxt IS NOT NULL AND nxt <> seq + 1")
echo "# gaps in the entry numbers (rolled-back or lost appends): $gaps"
q "SELECT privacy.audit_seal()" >/dev/null
v=$(q "SELECT valid::text || ',' || unsealed FROM privacy.audit_verify()")
[ "$v" = "true,0" ]
ok $? "burst: after audit_seal() every entry is sealed and the chain is valid ($v)"
entries=$(q "SELECT entries FROM privacy.audit_verify()")
q "SELECT privacy.audit_append('crash.after', 'crash.people', NULL, NULL, NULL)" >/dev/null
v=$(q "SELECT valid::text || ',' || entries || ',' || unsealed FROM privacy.audit_verify()")
[ "$v" = "true,$((entries + 1)),0" ]
ok $? "burst: a new entry continues the chain ($v)"
echo "# (c) took $(( $(date +%s) - T0 )) s"

cluster_stop "$DIR"
echo "1..$checks"
[ "$failures" -eq 0 ] && rm -rf "$DIR"
checks_done
