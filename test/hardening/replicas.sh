#!/usr/bin/env bash
# pg_privacy on replicas: a physical streaming standby and logical
# replication of a table with bsn columns.
#
# Three clusters of their own under $HARDENING_DIR/replicas, all preloading
# pg_privacy (the installed build; test/hardening/run.sh installs it first),
# connected over their Unix sockets:
#   primary  (port REPL_PORT)       wal_level = logical, the demo agency
#                                   (demo/generate.sql, agency.generate(REPL_SCALE))
#                                   registered, scoped, classified, with
#                                   retention rules, roles as in the demo
#   standby  (port REPL_PORT + 1)   pg_basebackup -R of the primary, hot standby
#   subscriber (port REPL_PORT + 2) database payroll, a table like the
#                                   publisher's, subscribed in several ways
#
# Physical standby.  For clerk_utrecht (branch 12), payroll_anna
# (privacy_bsn, financial) and fg_officer (privacy_officer) the same queries
# (rows and scopes of the registered tables, BSNs as text, as
# privacy.bsn_display, in JSON and through binary COPY, classified columns)
# give byte-identical results on the primary and the standby, also after a
# purge, an erasure and a restriction on the primary; the inference guard
# refuses a clerk's BSN comparison on the standby as on the primary; a scope
# grant and a role membership granted on the primary reach a connection that
# stays open on the standby at its next statement; the log scrubber masks a
# BSN in an error raised on the standby.  The extension's functions that
# write must refuse on the standby with SQLSTATE 25006 and a message that
# says the transaction is read-only: CALL privacy.purge (and its dry run),
# erase_subject, place_hold, audit_append, register_table, grant_scope,
# restrict_subject, audit_seal and export_subject (which audits).  The
# messages are printed.  What this found:
#   - audit_append, and export_subject through it, fail on a standby with
#     XX000 "cannot assign TransactionIds during recovery" (the function
#     asks for the transaction id before anything refuses the write);
#   - audit_seal fails with 55000 "cannot acquire lock mode ExclusiveLock on
#     database objects while recovery is in progress";
#   - the purge's dry run fails with 25006 but reports 'retention rule "..."
#     failed to run' and hints at the rule's expressions.
#   Reads (audit_verify, retention_status, masking, policies) work.
#
# Logical replication.  The publisher's output plugin converts values with
# the type's output (text) or send (binary) function inside the walsender,
# which runs as the role of the subscription's connection, so the bsn type
# masks for that role exactly as for a query:
#   - connection role authorized (a superuser, or a member of privacy_bsn
#     with REPLICATION): the initial copy and the streamed inserts and
#     updates carry the real BSNs (bsn and bsn[] columns, text and binary
#     mode), also while the subscription's owner on the subscriber is a
#     member of privacy_bsn rather than a superuser;
#   - connection role not authorized (REPLICATION, SELECT, not in
#     privacy_bsn): the initial copy fails at its first row ("invalid input
#     syntax for type bsn", COPY ... column bsn: "******733"), streamed
#     changes fail in text mode the same way and in binary mode with "a
#     masked bsn cannot be stored"; the worker retries and the subscriber's
#     table receives nothing: no masked value is stored as a bsn.  The
#     decoded stream itself (test_decoding, peeked by that role) carries only
#     the masked form.
#   Observations, printed but not failures: a subscriber that declares the
#   column as text instead of privacy.bsn stores the masked text the
#   unauthorized role was sent (the type's input is what refuses it; declare
#   bsn columns as privacy.bsn on subscribers); and the update guard, an
#   executor hook, does not see the apply worker, so a BSN change replicated
#   from an authorized publisher is applied even when the subscription's
#   owner is not in privacy_bsn, without a bsn.update audit entry on the
#   subscriber.
#
# Settings (environment): HARDENING_DIR (default /tmp/pg_privacy_hardening),
# REPL_PORT (default 56120; uses three ports from it), REPL_SCALE (demo
# candidates, default 1500), REPL_WAIT (seconds to wait for replication,
# default 60).
set -uo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
. test/client/lib/checks.sh
. tools/cluster.sh

BASE=${HARDENING_DIR:-/tmp/pg_privacy_hardening}
WORK=$BASE/replicas
PORT=${REPL_PORT:-56120}
SPORT=$((PORT + 1))
BPORT=$((PORT + 2))
SCALE=${REPL_SCALE:-1500}
WAIT=${REPL_WAIT:-60}
PRI=$WORK/primary
STB=$WORK/standby
SUB=$WORK/subscriber
T0=$(date +%s)
note() { echo "# $*"; }

cleanup() {
    [ -n "${SESS_CHILD:-}" ] && kill "$SESS_CHILD" 2>/dev/null
    cluster_stop "$SUB"
    cluster_stop "$STB"
    cluster_stop "$PRI"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cleanup
rm -rf "$WORK"
mkdir -p "$WORK"
[ "$(id -u)" -eq 0 ] && { chown postgres: "$WORK"; chmod 755 "$WORK"; }
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE

# p / s / b ROLE DB SQL...: run on the primary, standby, subscriber; unaligned output
p() { local r=$1 d=$2; shift 2; psql -X -q -At -h "$PRI" -p "$PORT" -U "$r" -d "$d" "${@/#/-c}"; }
s() { local r=$1 d=$2; shift 2; psql -X -q -At -h "$STB" -p "$SPORT" -U "$r" -d "$d" "${@/#/-c}"; }
b() { local r=$1 d=$2; shift 2; psql -X -q -At -h "$SUB" -p "$BPORT" -U "$r" -d "$d" "${@/#/-c}"; }

# wait_replay: until the standby has replayed the primary's current WAL
wait_replay() {
    local lsn i
    lsn=$(p postgres postgres "SELECT pg_current_wal_lsn()")
    for i in $(seq 1 $((WAIT * 5))); do
        [ "$(s postgres postgres "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
        sleep 0.2
    done
    return 1
}

# --- the primary and its demo database ------------------------------------------
cluster_create "$PRI" &&
    cluster_start "$PRI" "$PORT" 'pg_privacy' wal_level=logical max_wal_senders=10 \
        max_replication_slots=10 hot_standby=on wal_keep_size=256MB
ok $? "the primary starts (wal_level = logical, pg_privacy preloaded)"

{
    p postgres postgres "CREATE DATABASE agency"
    psql -X -q -h "$PRI" -p "$PORT" -U postgres -d agency -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
ALTER DATABASE agency SET search_path = "$user", public, privacy;
SQL
    psql -X -q -h "$PRI" -p "$PORT" -U postgres -d agency -v ON_ERROR_STOP=1 -f demo/generate.sql
    p postgres agency "SELECT agency.generate($SCALE)"
    psql -X -q -h "$PRI" -p "$PORT" -U postgres -d agency -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE ROLE clerk_utrecht LOGIN;
CREATE ROLE payroll_anna LOGIN IN ROLE privacy_bsn;
CREATE ROLE fg_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE dba_piet LOGIN IN ROLE privacy_admin;
GRANT privacy_identifying, privacy_contact TO clerk_utrecht;
GRANT privacy_identifying, privacy_contact, privacy_financial TO payroll_anna;
GRANT USAGE ON SCHEMA agency TO clerk_utrecht, payroll_anna, fg_officer, dba_piet;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA agency TO clerk_utrecht, payroll_anna;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO fg_officer;
GRANT SELECT ON agency.documents, agency.timesheets, agency.employees TO dba_piet;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agency TO clerk_utrecht, payroll_anna;
ALTER TABLE agency.sick_leave ADD COLUMN health_note text;
UPDATE agency.sick_leave SET health_note = 'Rugklachten, re-integratie via de bedrijfsarts' WHERE id % 3 = 0;
SET ROLE dba_piet;
SELECT privacy.register_subject_type('candidate', 'agency.candidates', 'id');
SELECT count(privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through))
  FROM privacy.propose_registrations('candidate');
SELECT privacy.grant_scope('clerk_utrecht', '12');
SELECT privacy.grant_scope('privacy_bsn', '*');
SELECT privacy.grant_scope('privacy_officer', '*');
SELECT privacy.classify_column('agency.sick_leave', 'health_note', 'special');
SELECT privacy.classify_column('agency.candidates', 'iban', 'financial');
SELECT privacy.classify_column('agency.candidates', 'phone', 'contact');
SELECT privacy.load_retention_preset('nl_staffing');
SELECT privacy.create_retention_rule('candidate_id_copies', 'agency.documents', 'candidate_id_copy',
    start_expr => 'created_at',
    condition => $$doc_type = 'id_copy' AND NOT EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('timesheets', 'agency.timesheets', 'working_time_record', start_expr => 'week_start');
RESET ROLE;
-- the table that is replicated logically
CREATE TABLE public.payees (id int PRIMARY KEY, name text, bsn privacy.bsn, old_bsns privacy.bsn[]);
INSERT INTO public.payees
SELECT g, 'payee ' || g, agency.bsn_for(g, 7)::privacy.bsn, ARRAY[agency.bsn_for(g + 5000, 7)::privacy.bsn]
  FROM generate_series(1, 50) g;
CREATE PUBLICATION pub_payees FOR TABLE public.payees;
CREATE ROLE repl_bsn LOGIN REPLICATION IN ROLE privacy_bsn;
CREATE ROLE repl_clerk LOGIN REPLICATION;
GRANT SELECT ON public.payees TO repl_bsn, repl_clerk;
SQL
} >"$WORK/setup.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 20 "$WORK/setup.log" | sed 's/^/# /'
ok $rc "the demo agency ($SCALE candidates) is registered, scoped, classified and has retention rules on the primary"

# --- the standby ----------------------------------------------------------------
mkdir -p "$STB"
[ "$(id -u)" -eq 0 ] && chown postgres: "$STB" && chmod 755 "$STB"
as_owner "$PGBIN/pg_basebackup" -D "$STB/data" -h "$PRI" -p "$PORT" -U postgres -R -X stream -c fast \
    >"$WORK/basebackup.log" 2>&1 &&
    cluster_start "$STB" "$SPORT" 'pg_privacy' hot_standby=on &&
    [ "$(s postgres postgres "SELECT pg_is_in_recovery()")" = t ] && wait_replay
ok $? "a streaming standby (pg_basebackup -R over the primary's socket) is in recovery and has caught up"
s postgres agency "SELECT component || ' ' || state FROM privacy.status() WHERE component IN ('preload', 'bsn inference guard', 'bsn update guard', 'log scrubber')" |
    sed 's/^/# standby status: /'

# snapshot PORT_FN ROLE: what a role sees, as text; and the binary COPY of BSNs
snapshot() {
    local fn=$1 role=$2
    $fn "$role" agency \
        "SELECT string_agg(format('c|%s|%s|%s|%s|%s|%s|%s', id, branch_id, last_name, bsn, privacy.bsn_display(bsn), iban, phone), E'\n' ORDER BY id) FROM agency.candidates" \
        "SELECT format('documents %s of %s candidates, timesheets %s, placements %s, notes %s', count(*), count(DISTINCT candidate_id), (SELECT count(*) FROM agency.timesheets), (SELECT count(*) FROM agency.placements), (SELECT count(*) FROM agency.notes)) FROM agency.documents" \
        "SELECT 'sick leave ' || string_agg(format('%s:%s', id, health_note), ',' ORDER BY id) FROM agency.sick_leave" \
        "SELECT 'json ' || string_agg(row_to_json(c)::text, ',' ORDER BY c.id) FROM (SELECT id, bsn FROM agency.candidates) c" \
        "SELECT 'authorized ' || privacy.bsn_authorized()" 2>&1
}
binary_copy() {
    local host=$1 port=$2 role=$3
    psql -X -q -h "$host" -p "$port" -U "$role" -d agency \
        -c "COPY (SELECT id, bsn FROM agency.candidates ORDER BY id) TO STDOUT (FORMAT binary)" 2>&1 | md5sum | cut -c1-32
}

compare_roles() {   # compare_roles LABEL
    local label=$1 role a b ba bb
    for role in clerk_utrecht payroll_anna fg_officer; do
        a=$(snapshot p "$role")
        b=$(snapshot s "$role")
        echo "$a" >"$WORK/$label.$role.primary"
        echo "$b" >"$WORK/$label.$role.standby"
        ba=$(binary_copy "$PRI" "$PORT" "$role")
        bb=$(binary_copy "$STB" "$SPORT" "$role")
        [ -n "$a" ] && [ "$a" = "$b" ] && [ "$ba" = "$bb" ]
        ok $? "$label: $role sees the same rows, masks and policies on the standby as on the primary ($(grep -c '^c|' <<<"$a") candidates; binary COPY $ba)"
        [ "$a" = "$b" ] || diff "$WORK/$label.$role.primary" "$WORK/$label.$role.standby" | head -n 10 | sed 's/^/# /'
    done
    # and what they see is what each role should see: c|id|branch|last_name|bsn|display|iban|phone
    local masked='^\*\*\*\*\*\*[0-9][0-9][0-9]$' full='^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$'
    local iban='^NL[0-9][0-9][A-Z][A-Z][A-Z][A-Z][0-9]+$'
    awk -F'|' -v m="$masked" -v i="$iban" '
        $1 == "c" { n++; if ($3 != 12 || $5 !~ m || $7 ~ i) bad++ }
        END { exit !(n > 0 && bad == 0) }' "$WORK/$label.clerk_utrecht.standby"
    ok $? "$label: on the standby the clerk sees branch 12 only, BSNs as ******NNN and IBANs masked"
    awk -F'|' -v f="$full" -v i="$iban" '
        $1 == "c" { n++; br[$3] = 1; if ($5 !~ f) bad++; if ($7 ~ i) ib++ }
        /Rugklachten/ { bad++ }
        END { nb = 0; for (k in br) nb++; exit !(n > 0 && bad == 0 && nb > 1 && ib > 0) }' "$WORK/$label.payroll_anna.standby"
    ok $? "$label: on the standby payroll sees every branch, BSNs and IBANs in full, health notes hidden"
    awk -F'|' -v m="$masked" '
        $1 == "c" { n++; br[$3] = 1; if ($5 !~ m) bad++ }
        END { nb = 0; for (k in br) nb++; exit !(n > 0 && bad == 0 && nb > 1) }' "$WORK/$label.fg_officer.standby"
    ok $? "$label: on the standby the officer sees every branch, BSNs masked"
}
compare_roles "standby"

# the inference guard on the standby
err=$(s clerk_utrecht agency "\\set VERBOSITY sqlstate" "SELECT id FROM agency.candidates WHERE bsn = '111222333'" 2>&1)
[ "$err" = "ERROR:  42501" ]
ok $? "on the standby a clerk's BSN comparison is refused (42501) as on the primary"
# the log scrubber on the standby
full=$(s clerk_utrecht agency "DO \$\$BEGIN RAISE EXCEPTION 'lookup of 111222333 failed'; END\$\$" 2>&1)
msg=$(head -n 1 <<<"$full")
! grep -q '111222333' <<<"$full" && grep -q '\*\*\*\*\*\*333' <<<"$msg" && ! grep -q '111222333' "$STB/server.log"
ok $? "on the standby the log scrubber masks a BSN in an error message and keeps it out of the log ($msg)"

# --- writes on the standby are refused ------------------------------------------------
CAND=$(p postgres agency "SELECT min(id) FROM agency.candidates WHERE branch_id = 12")
# refused ROLE LABEL SQL: run on the standby, expect SQLSTATE 25006 and a read-only message
refused() {
    local role=$1 label=$2 sql=$3 out state msg
    out=$(psql -X -q -h "$STB" -p "$SPORT" -U "$role" -d agency -v ON_ERROR_STOP=0 \
        -c "$sql" -c '\echo STATE=:LAST_ERROR_SQLSTATE' -c '\echo MESSAGE=:LAST_ERROR_MESSAGE' 2>/dev/null)
    state=$(sed -n 's/^STATE=//p' <<<"$out")
    msg=$(sed -n 's/^MESSAGE=//p' <<<"$out")
    note "standby, $label as $role: $state $msg"
    [ "$state" = 25006 ] && grep -qi 'read-only' <<<"$msg"
    ok $? "on the standby $label refuses with 25006, read-only transaction"
}
refused dba_piet "CALL privacy.purge()" "CALL privacy.purge(batch_rows => 100)"
refused dba_piet "CALL privacy.purge(dry_run)" "CALL privacy.purge(dry_run => true)"
refused fg_officer "privacy.erase_subject" "SELECT privacy.erase_subject('candidate', '$CAND', 'art. 17(1)(a)')"
refused fg_officer "privacy.place_hold" "SELECT privacy.place_hold('candidate', '$CAND', 'dispute')"
refused dba_piet "privacy.audit_append" "SELECT privacy.audit_append('standby.test', 'agency.candidates')"
refused dba_piet "privacy.register_table" "SELECT privacy.register_table('agency.branches', 'candidate', key_column => 'id')"
refused dba_piet "privacy.grant_scope" "SELECT privacy.grant_scope('clerk_utrecht', '11')"
refused fg_officer "privacy.restrict_subject" "SELECT privacy.restrict_subject('candidate', '$CAND', 'accuracy contested')"
refused dba_piet "privacy.audit_seal" "SELECT privacy.audit_seal()"
refused fg_officer "privacy.export_subject (audited)" "SELECT privacy.export_subject('candidate', '$CAND') IS NOT NULL"

# reads that need no write work on the standby
v=$(s fg_officer agency "SELECT valid FROM privacy.audit_verify()")
vp=$(p fg_officer agency "SELECT entries FROM privacy.audit_verify()")
vs=$(s fg_officer agency "SELECT entries FROM privacy.audit_verify()")
[ "$v" = t ] && [ "$vp" = "$vs" ]
ok $? "on the standby privacy.audit_verify() holds and counts the primary's $vp entries"
rs=$(s fg_officer agency "SELECT string_agg(rule_name || ':' || rows_total || ':' || rows_expired, ',' ORDER BY rule_name) FROM privacy.retention_status()")
rp=$(p fg_officer agency "SELECT string_agg(rule_name || ':' || rows_total || ':' || rows_expired, ',' ORDER BY rule_name) FROM privacy.retention_status()")
[ -n "$rs" ] && [ "$rs" = "$rp" ]
ok $? "on the standby privacy.retention_status() answers as on the primary ($rs)"

# --- a connection that stays open on the standby sees grants made on the primary -------
coproc SESS { psql -X -q -At -h "$STB" -p "$SPORT" -U clerk_utrecht -d agency 2>&1; }
SESS_CHILD=$SESS_PID    # bash unsets SESS_PID once the coprocess has exited
ask() {   # ask SQL: one line of answer from the open connection
    local line
    echo "$1" >&"${SESS[1]}"
    IFS= read -r -t 30 line <&"${SESS[0]}" || line="(no answer)"
    echo "$line"
}
before=$(ask "SELECT count(*) FROM agency.candidates;")
p dba_piet agency "SELECT privacy.grant_scope('clerk_utrecht', '11')" >/dev/null && wait_replay
after=$(ask "SELECT count(*) FROM agency.candidates;")
expect=$(p postgres agency "SELECT count(*) FROM agency.candidates WHERE branch_id IN (11, 12)")
[ "$after" = "$expect" ] && [ "$before" != "$after" ]
ok $? "a scope granted on the primary reaches an open standby connection at its next statement ($before -> $after candidates)"
p dba_piet agency "SELECT privacy.revoke_scope('clerk_utrecht', '11')" >/dev/null && wait_replay
again=$(ask "SELECT count(*) FROM agency.candidates;")
[ "$again" = "$before" ]
ok $? "and its revocation too ($again candidates)"
m1=$(ask "SELECT bsn::text FROM agency.candidates WHERE id = $CAND;")
p postgres agency "GRANT privacy_bsn TO clerk_utrecht" >/dev/null && wait_replay
m2=$(ask "SELECT bsn::text FROM agency.candidates WHERE id = $CAND;")
p postgres agency "REVOKE privacy_bsn FROM clerk_utrecht" >/dev/null && wait_replay
m3=$(ask "SELECT bsn::text FROM agency.candidates WHERE id = $CAND;")
grep -qE '^\*{6}[0-9]{3}$' <<<"$m1" && grep -qE '^[0-9]{9}$' <<<"$m2" && [ "$m3" = "$m1" ]
ok $? "membership in privacy_bsn granted and revoked on the primary unmasks and masks again in the open standby connection ($m1, $m2, $m3)"
echo '\q' >&"${SESS[1]}"
wait "$SESS_CHILD" 2>/dev/null || true
SESS_CHILD=

# --- writes on the primary, read on the standby ----------------------------------------
ERASE=$(p postgres agency "SELECT min(c.id) FROM agency.candidates c WHERE c.branch_id = 12 AND c.id > $CAND AND NOT EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = c.id)")
RESTRICT=$(p postgres agency "SELECT min(id) FROM agency.candidates WHERE branch_id = 12 AND id > $ERASE")
{
    psql -X -q -h "$PRI" -p "$PORT" -U dba_piet -d agency -v ON_ERROR_STOP=1 -c "CALL privacy.purge(batch_rows => 500)"
    p fg_officer agency "SELECT privacy.erase_subject('candidate', '$ERASE', 'art. 17(1)(a)') ->> 'changed'"
    p fg_officer agency "SELECT privacy.restrict_subject('candidate', '$RESTRICT', 'accuracy contested')"
} >"$WORK/primary-writes.log" 2>&1
ok $? "on the primary: a purge, an erasure of candidate $ERASE and a restriction of candidate $RESTRICT"
wait_replay
compare_roles "after writes"
cs=$(s clerk_utrecht agency "SELECT count(*) FROM agency.documents WHERE candidate_id = $RESTRICT")
os=$(s fg_officer agency "SELECT count(*) FROM agency.documents WHERE candidate_id = $RESTRICT")
[ "$cs" = 0 ] && [ "$os" -gt 0 ]
ok $? "on the standby the restricted candidate's documents are hidden from the clerk (0) and shown to the officer ($os)"
v=$(s fg_officer agency "SELECT valid FROM privacy.audit_verify()")
[ "$v" = t ]
ok $? "on the standby privacy.audit_verify() still holds after the primary's purge, erasure and restriction"
dead=$(grep -E 'PANIC|was terminated by signal|server process .* exited with exit code|TRAP:' "$STB/server.log" "$PRI/server.log")
[ -z "$dead" ] || echo "$dead" | head | sed 's/^/# /'
[ -z "$dead" ]
ok $? "no crash on the primary or the standby"
note "physical standby done after $(( $(date +%s) - T0 )) s"

# --- logical replication ------------------------------------------------------------
cluster_create "$SUB" && cluster_start "$SUB" "$BPORT" 'pg_privacy' && {
    b postgres postgres "CREATE DATABASE payroll"
    psql -X -q -h "$SUB" -p "$BPORT" -U postgres -d payroll -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE TABLE public.payees (id int PRIMARY KEY, name text, bsn privacy.bsn, old_bsns privacy.bsn[]);
CREATE TABLE public.payees_text (id int PRIMARY KEY, name text, bsn text, old_bsns text);
CREATE ROLE sub_owner LOGIN;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.payees, public.payees_text TO sub_owner;
SQL
} >"$WORK/subscriber.log" 2>&1
ok $? "a subscriber cluster with pg_privacy and a payees table (bsn, bsn[])"

PUBCONN="host=$PRI port=$PORT dbname=agency"
payees_digest() {   # payees_digest FN DB TABLE: the rows as a superuser sees them
    $1 postgres "$2" "SELECT count(*) || ' rows ' || md5(coalesce(string_agg(format('%s|%s|%s|%s', id, name, bsn, old_bsns), ',' ORDER BY id), '')) FROM public.$3"
}
wait_sync() {   # wait_sync: until the subscriber's payees equal the publisher's
    local i
    for i in $(seq 1 $((WAIT * 2))); do
        [ "$(payees_digest b payroll payees)" = "$(payees_digest p agency payees)" ] && return 0
        sleep 0.5
    done
    return 1
}
drop_sub() {   # drop_sub NAME: the subscription, its slots on the publisher, the copied rows
    local i
    b postgres payroll "DROP SUBSCRIPTION $1" >/dev/null 2>&1
    for i in $(seq 1 $((WAIT * 2))); do
        p postgres agency "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                            WHERE NOT active AND (slot_name LIKE 'pg\\_%\\_sync\\_%' OR slot_name = '$1')" >/dev/null 2>&1
        [ "$(p postgres agency "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")" = 0 ] && break
        sleep 0.5
    done
    b postgres payroll "TRUNCATE public.payees" >/dev/null
}
# publisher changes after a subscription has started: an insert and BSN updates
next_id=1000
pub_changes() {
    next_id=$((next_id + 1))
    p postgres agency \
        "INSERT INTO public.payees VALUES ($next_id, 'streamed', agency.bsn_for($next_id, 7)::privacy.bsn, ARRAY[agency.bsn_for($next_id + 1, 7)::privacy.bsn])" \
        "UPDATE public.payees SET bsn = agency.bsn_for(id + $next_id, 7)::privacy.bsn WHERE id IN (1, 2)" >/dev/null
}

# 1. a superuser's connection, text then binary
b postgres payroll "CREATE SUBSCRIPTION sub_super CONNECTION '$PUBCONN user=postgres' PUBLICATION pub_payees" >/dev/null 2>&1
wait_sync && pub_changes && wait_sync
ok $? "superuser connection, text: the initial copy and streamed inserts and BSN updates arrive with the real BSNs ($(payees_digest b payroll payees))"
b postgres payroll "ALTER SUBSCRIPTION sub_super SET (binary = true)" >/dev/null
pub_changes && wait_sync
ok $? "superuser connection, binary: streamed changes arrive with the real BSNs"
drop_sub sub_super

# 2. a replication role in privacy_bsn; the subscription owned by a member of privacy_bsn
b postgres payroll "GRANT privacy_bsn TO sub_owner" >/dev/null
b postgres payroll "CREATE SUBSCRIPTION sub_bsn CONNECTION '$PUBCONN user=repl_bsn' PUBLICATION pub_payees WITH (binary = true)" >/dev/null 2>&1
wait_sync
ok $? "connection role in privacy_bsn: the initial copy holds the real BSNs"
# PostgreSQL 15 makes only a superuser own a subscription; the owner keeps it after losing that
b postgres payroll "ALTER ROLE sub_owner SUPERUSER" "ALTER SUBSCRIPTION sub_bsn OWNER TO sub_owner" "ALTER ROLE sub_owner NOSUPERUSER" >/dev/null
pub_changes && wait_sync
ok $? "connection role and subscription owner in privacy_bsn (not superusers): streamed inserts and BSN updates arrive in full"
# the owner outside privacy_bsn: an observation
b postgres payroll "REVOKE privacy_bsn FROM sub_owner" >/dev/null
pub_changes
if wait_sync; then
    note "observation: with the subscription's owner outside privacy_bsn, a replicated BSN update was applied (the update guard does not see the apply worker; no bsn.update entry on the subscriber: $(b postgres payroll "SELECT count(*) FROM privacy.audit_log WHERE action = 'bsn.update'"))"
    ok 0 "owner outside privacy_bsn: the replicated values stay correct"
else
    note "with the subscription's owner outside privacy_bsn the replicated changes stop: $(grep -E 'ERROR' "$SUB/server.log" | tail -n 1)"
    [ "$(b postgres payroll "SELECT count(*) FROM public.payees p WHERE NOT privacy.bsn_is_valid(p.bsn::text)")" = 0 ]
    ok $? "owner outside privacy_bsn: nothing masked is stored"
fi
drop_sub sub_bsn

# 3. a replication role outside privacy_bsn
check_refused_sub() {   # check_refused_sub NAME LABEL PATTERN
    local name=$1 label=$2 pattern=$3 i n bad log_from
    log_from=$4
    for i in $(seq 1 $((WAIT * 2))); do
        grep -qE "$pattern" < <(tail -n +"$log_from" "$SUB/server.log") && break
        sleep 0.5
    done
    n=$(b postgres payroll "SELECT count(*) FROM public.payees")
    note "$label: $(tail -n +"$log_from" "$SUB/server.log" | grep -E -A2 "$pattern" | head -n 3 | sed 's/^[-0-9: .]*UTC \[[0-9]*\] //' | tr '\n' ' ')"
    grep -qE "$pattern" < <(tail -n +"$log_from" "$SUB/server.log") && [ "$n" = 0 ]
    ok $? "$label: replication fails with a clear error and stores nothing ($n rows)"
}
start=$(( $(wc -l <"$SUB/server.log") + 1 ))
b postgres payroll "CREATE SUBSCRIPTION sub_clerk CONNECTION '$PUBCONN user=repl_clerk' PUBLICATION pub_payees" >/dev/null 2>&1
check_refused_sub sub_clerk "connection role outside privacy_bsn, initial copy" 'invalid input syntax for type bsn' "$start"
grep -q 'COPY payees, line 1, column bsn: "\*\*\*\*\*\*[0-9]\{3\}"' "$SUB/server.log"
ok $? "the initial copy was sent the masked form (******NNN), never the number"
drop_sub sub_clerk
start=$(( $(wc -l <"$SUB/server.log") + 1 ))
b postgres payroll "CREATE SUBSCRIPTION sub_clerk_bin CONNECTION '$PUBCONN user=repl_clerk' PUBLICATION pub_payees WITH (copy_data = false, binary = true)" >/dev/null 2>&1
sleep 2
pub_changes
check_refused_sub sub_clerk_bin "connection role outside privacy_bsn, streamed, binary" 'a masked bsn cannot be stored' "$start"
drop_sub sub_clerk_bin
start=$(( $(wc -l <"$SUB/server.log") + 1 ))
b postgres payroll "CREATE SUBSCRIPTION sub_clerk_txt CONNECTION '$PUBCONN user=repl_clerk' PUBLICATION pub_payees WITH (copy_data = false)" >/dev/null 2>&1
sleep 2
pub_changes
check_refused_sub sub_clerk_txt "connection role outside privacy_bsn, streamed, text" 'invalid input syntax for type bsn' "$start"
drop_sub sub_clerk_txt

# what the walsender decodes for each role: test_decoding peeked as that role
p postgres agency "SELECT 1 FROM pg_create_logical_replication_slot('peek_slot', 'test_decoding')" >/dev/null
p postgres agency "INSERT INTO public.payees VALUES (999, 'peek', '111222333', ARRAY['123456782'::privacy.bsn])" >/dev/null
dc=$(p repl_clerk agency "SELECT data FROM pg_logical_slot_peek_changes('peek_slot', NULL, NULL) WHERE data LIKE '%payees%'" 2>&1)
db=$(p repl_bsn agency "SELECT data FROM pg_logical_slot_peek_changes('peek_slot', NULL, NULL) WHERE data LIKE '%payees%'" 2>&1)
p postgres agency "SELECT pg_drop_replication_slot('peek_slot')" >/dev/null
note "decoded for repl_clerk: $dc"
note "decoded for repl_bsn:   $db"
grep -q "bsn\[bsn\]:'\*\*\*\*\*\*333'" <<<"$dc" && grep -q "{\*\*\*\*\*\*782}" <<<"$dc" && ! grep -qE '111222333|123456782' <<<"$dc" &&
    grep -q "bsn\[bsn\]:'111222333'" <<<"$db" && grep -q '{123456782}' <<<"$db"
ok $? "the decoded change stream carries the masked form for a role outside privacy_bsn and the number for a member"

# an observation: a subscriber column of type text takes whatever the role was sent
p postgres agency "CREATE PUBLICATION pub_payees_text FOR TABLE public.payees" >/dev/null
b postgres payroll "ALTER TABLE public.payees_text RENAME TO payees_t" "ALTER TABLE public.payees RENAME TO payees_b" \
    "ALTER TABLE public.payees_t RENAME TO payees" >/dev/null
b postgres payroll "CREATE SUBSCRIPTION sub_clerk_text CONNECTION '$PUBCONN user=repl_clerk' PUBLICATION pub_payees_text" >/dev/null 2>&1
for _ in $(seq 1 $((WAIT * 2))); do
    [ "$(b postgres payroll "SELECT count(*) FROM public.payees")" = "$(p postgres agency "SELECT count(*) FROM public.payees")" ] && break
    sleep 0.5
done
tb=$(b postgres payroll "SELECT count(*) FILTER (WHERE bsn ~ '^\*{6}[0-9]{3}$') || ' of ' || count(*) FROM public.payees")
full=$(b postgres payroll "SELECT count(*) FROM public.payees WHERE bsn ~ '^[0-9]{9}$'")
note "observation: into a text column the unauthorized role's subscription stores the masked text ($tb rows are ******NNN)"
[ "$full" = 0 ]
ok $? "a text column subscribed through a role outside privacy_bsn never receives a full BSN"
drop_sub sub_clerk_text

dead=$(grep -E 'PANIC|was terminated by signal|TRAP:' "$SUB/server.log" "$PRI/server.log")
[ -z "$dead" ] || echo "$dead" | head | sed 's/^/# /'
[ -z "$dead" ]
ok $? "no crash on the publisher or the subscriber"
note "total $(( $(date +%s) - T0 )) s"
checks_done
