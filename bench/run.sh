#!/usr/bin/env bash
# make bench: install what is missing, build, start a throwaway cluster with
# the preload settings, measure pg_privacy against plain PostgreSQL on the
# same data, print a table and write bench/out/results.tsv.
#
# Every figure is a ratio against a baseline measured in the same run:
# baseline and subject runs alternate (A B A B ...), and the ratio is taken
# between their medians.  Index lookups, which take microseconds, mix
# baseline and subject transactions within each pgbench run instead.
#
# Settings (environment):
#   BENCH_ROWS     number of BSNs in the bsn tables      (default 1000000)
#   BENCH_SECONDS  length of each pgbench run, seconds   (default 10)
#   BENCH_REPEAT   measurements of each subject          (default 5)
#   BENCH_ONLY     sections to run, separated by spaces or commas (default
#                  all): audit copy output lookup rls support discovery
#                  columns retention rights breaches lint sizes; the setup runs always, and the
#                  results go to bench/out/results-only.tsv instead
#   BENCH_RIGHTS_ROWS  candidates of the demo agency in the rights and breaches sections
#                  (default BENCH_ROWS; one million take about two minutes
#                  to generate on two cores)
#   BENCH_RIGHTS_N candidates erased by the rights section  (default 200)
# Quick mode for development:
#   BENCH_ROWS=100000 BENCH_SECONDS=3 BENCH_REPEAT=3 make bench
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROWS=${BENCH_ROWS:-1000000}
RUN_SECONDS=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-5}
RIGHTS_ROWS=${BENCH_RIGHTS_ROWS:-$ROWS}
# a COPY takes well under a second: three times as many rounds
COPY_REPEAT=$((REPEAT * 3))
BENCH=bench
OUT=$BENCH/out
PORT=54331

bash tools/deps.sh
. tools/cluster.sh
build_and_install

DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_privacy_bench.XXXXXX")

# cleanup: stop the throwaway cluster and remove it
cleanup() {
    cluster_stop "$DIR"
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres PGDATABASE=bench
DATAFILE=$DIR/bsns.txt

# command prefix that pins a client to a CPU (see one_cpu)
PIN=()
# one row per result: name, baseline, subject, ratio, target, met
RESULTS=()

# say MESSAGE...: progress on stderr
say() {
    echo "$*" >&2
}

# sql ARGS...: psql without startup files, stopping at the first error
sql() {
    "${PIN[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# only SECTION: whether BENCH_ONLY names SECTION (every section without it)
only() {
    [ -z "${BENCH_ONLY:-}" ] && return 0
    [[ " ${BENCH_ONLY//,/ } " == *" $1 "* ]]
}

# one_cpu on|off: with on, new server processes and the clients share one
# CPU.  A single client and its backend otherwise land on the same or on
# different CPUs from run to run, and the two cases differ by a factor of
# several in round trips per second.  Does nothing without taskset or with
# a single CPU.
one_cpu() {
    local cpus last pid
    PIN=()
    cpus=$(nproc)
    [ "$cpus" -ge 2 ] && command -v taskset >/dev/null || return 0
    last=$((cpus - 1))
    pid=$(head -n 1 "$DIR/data/postmaster.pid")
    if [ "$1" = on ]; then
        taskset -a -p -c "$last" "$pid" >/dev/null
        PIN=(taskset -c "$last")
    else
        taskset -a -p -c "0-$last" "$pid" >/dev/null
    fi
}

# median NUMBERS...: the median
median() {
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# divide A B: A / B with three decimals
divide() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

# meets RATIO TARGET: yes or no; TARGET is like >=0.5 or <=1.10
meets() {
    awk -v r="$1" -v t="$2" 'BEGIN {
        op = substr(t, 1, 2); v = substr(t, 3) + 0
        ok = (op == ">=") ? (r >= v) : (op == "<=") ? (r <= v) : 0
        print ok ? "yes" : "no" }'
}

# result NAME BASELINE SUBJECT RATIO TARGET: record one row (display strings
# for baseline and subject; TARGET "info" for informational rows)
result() {
    local met=-
    [ "$5" = info ] || met=$(meets "$4" "$5")
    RESULTS+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$5"$'\t'"$met")
}

# sql_time SETUP STATEMENT [ROLE]: in a new session, run SETUP, then time
# STATEMENT (as ROLE if given) with its output discarded; prints milliseconds
sql_time() {
    local setup=$1 stmt=$2 role=${3:-} ms
    ms=$(sql <<EOF | awk '/^Time: / { t = $2 } END { print t }'
$setup
${role:+SET ROLE $role;}
\o /dev/null
\timing on
$stmt
EOF
    )
    [ -n "$ms" ] || { say "no timing for: $stmt"; return 1; }
    echo "$ms"
}

# pgbench_run SCRIPT CLIENTS THREADS SECONDS [PGBENCH OPTIONS...]: prints
# "tps transactions"
pgbench_run() {
    local script=$1 clients=$2 threads=$3 secs=$4 log tps tx
    shift 4
    if ! log=$("${PIN[@]}" "$PGBIN/pgbench" -n -M prepared -f "$script" -c "$clients" \
        -j "$threads" -T "$secs" -D rows="$ROWS" "$@" 2>&1); then
        echo "$log" >&2
        return 1
    fi
    tps=$(awk '/^tps = / { print $3; exit }' <<<"$log")
    tx=$(awk -F': ' '/^number of transactions actually processed/ { print $2; exit }' <<<"$log")
    if [ -z "$tps" ] || grep -qE '^number of failed transactions: [1-9]' <<<"$log"; then
        echo "$log" >&2
        return 1
    fi
    echo "$tps $tx"
}

# list VALUES...: values rounded for progress lines
list() {
    printf '%s\n' "$@" | awk '{ printf "%s%.5g", (NR > 1 ? " " : ""), $1 } END { print "" }'
}

# setup: cluster, database, extension, tables and data
setup() {
    cluster_create "$DIR"
    cluster_start "$DIR" "$PORT" 'pg_privacy, pg_cron' \
        shared_buffers=512MB max_wal_size=8GB checkpoint_timeout=30min \
        autovacuum=off
    "$PGBIN/createdb" bench
    say "== setup: $ROWS BSNs"
    sql -v rows="$ROWS" -v datafile="$DATAFILE" -f "$BENCH/setup.sql"
}

# bench_audit CLIENTS THREADS: audit_append against a plain insert
# (sets AUDIT_TX to the audit transactions run, warm-up included)
bench_audit() {
    local clients=$1 threads=$2 name=audit_append_${1}client warm base=() subj=() r out
    if [ "$clients" -gt 1 ]; then name+=s; fi
    say "== $name: ${REPEAT}x ${RUN_SECONDS}s each, -c $clients -j $threads"
    sql -c CHECKPOINT
    warm=$(( RUN_SECONDS / 5 > 1 ? RUN_SECONDS / 5 : 1 ))
    pgbench_run "$BENCH/plain_insert.pgbench" "$clients" "$threads" "$warm" >/dev/null
    out=$(pgbench_run "$BENCH/audit_append.pgbench" "$clients" "$threads" "$warm")
    AUDIT_TX=$(( AUDIT_TX + ${out#* } ))
    for ((r = 1; r <= REPEAT; r++)); do
        out=$(pgbench_run "$BENCH/plain_insert.pgbench" "$clients" "$threads" "$RUN_SECONDS")
        base+=("${out% *}")
        out=$(pgbench_run "$BENCH/audit_append.pgbench" "$clients" "$threads" "$RUN_SECONDS")
        subj+=("${out% *}")
        AUDIT_TX=$(( AUDIT_TX + ${out#* } ))
    done
    say "   plain insert tps: $(list "${base[@]}")"
    say "   audit_append tps: $(list "${subj[@]}")"
    local mb ms
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result "$name" "$(printf '%.0f tps' "$mb")" "$(printf '%.0f tps' "$ms")" \
        "$(divide "$ms" "$mb")" ">=0.5"
}

# audit_check: the chain must verify and hold every appended entry
audit_check() {
    local line valid entries reason appended
    line=$(sql -At -F '|' -c "SELECT valid, entries,
        (SELECT count(*) FROM privacy.audit_log WHERE action = 'bench.event'),
        coalesce(reason, '') FROM privacy.audit_verify()")
    IFS='|' read -r valid entries appended reason <<<"$line"
    if [ "$valid" != t ]; then
        say "FAILED: privacy.audit_verify() reports an invalid chain: $reason"
        exit 1
    fi
    if [ "$appended" -ne "$AUDIT_TX" ]; then
        say "FAILED: the audit chain holds $appended benchmark entries, $AUDIT_TX were appended"
        exit 1
    fi
    say "   privacy.audit_verify(): valid, $entries entries"
}

# copy_into TABLE: milliseconds to COPY the BSN file into the emptied TABLE
copy_into() {
    sql_time "TRUNCATE $1;" "COPY $1 FROM '$DATAFILE';"
}

# copy_out TABLE [ROLE]: milliseconds to COPY column b of TABLE to the client
copy_out() {
    sql_time "" "COPY (SELECT b FROM $1) TO STDOUT;" "${2:-}"
}

# bench_copy_from: COPY FROM the BSN file into int4, bsn and the PL/pgSQL
# domain, interleaved
bench_copy_from() {
    local r t_int=() t_bsn=() t_dom=()
    say "== COPY FROM: ${COPY_REPEAT}x int4, bsn, text domain"
    sql -c CHECKPOINT
    # warm-up: the file into the page cache, the functions into the caches
    copy_into c_int >/dev/null
    copy_into c_bsn >/dev/null
    copy_into c_dom >/dev/null
    for ((r = 1; r <= COPY_REPEAT; r++)); do
        t_int+=("$(copy_into c_int)")
        t_bsn+=("$(copy_into c_bsn)")
        t_dom+=("$(copy_into c_dom)")
    done
    say "   int4 ms:        $(list "${t_int[@]}")"
    say "   bsn ms:         $(list "${t_bsn[@]}")"
    say "   text domain ms: $(list "${t_dom[@]}")"
    local mi mb md
    mi=$(median "${t_int[@]}")
    mb=$(median "${t_bsn[@]}")
    md=$(median "${t_dom[@]}")
    result bsn_copy_from "$(printf '%.1f ms' "$mi")" "$(printf '%.1f ms' "$mb")" \
        "$(divide "$mb" "$mi")" "<=1.10"
    result bsn_validation_speedup "$(printf '%.1f ms' "$md")" "$(printf '%.1f ms' "$mb")" \
        "$(divide "$md" "$mb")" ">=8"
}

# bench_output: COPY TO STDOUT of int4 as superuser, bsn as superuser and
# bsn as a role that sees masked values, interleaved
bench_output() {
    local r t_int=() t_auth=() t_mask=()
    say "== COPY TO STDOUT: ${COPY_REPEAT}x int4, bsn, bsn masked"
    copy_out t_int >/dev/null
    copy_out t_bsn >/dev/null
    copy_out t_bsn bench_clerk >/dev/null
    for ((r = 1; r <= COPY_REPEAT; r++)); do
        t_int+=("$(copy_out t_int)")
        t_auth+=("$(copy_out t_bsn)")
        t_mask+=("$(copy_out t_bsn bench_clerk)")
    done
    say "   int4 ms:       $(list "${t_int[@]}")"
    say "   bsn ms:        $(list "${t_auth[@]}")"
    say "   bsn masked ms: $(list "${t_mask[@]}")"
    local mi ma mm
    mi=$(median "${t_int[@]}")
    ma=$(median "${t_auth[@]}")
    mm=$(median "${t_mask[@]}")
    result bsn_output_authorized "$(printf '%.1f ms' "$mi")" "$(printf '%.1f ms' "$ma")" \
        "$(divide "$ma" "$mi")" "<=1.10"
    result bsn_output_masked "$(printf '%.1f ms' "$mi")" "$(printf '%.1f ms' "$mm")" \
        "$(divide "$mm" "$mi")" "<=1.15"
}

# pgbench_mixed SCRIPT_A SCRIPT_B SECONDS: one client runs both scripts,
# picking one at random for each transaction; prints the mean latency of
# each in microseconds, from the per-transaction log
pgbench_mixed() {
    local a=$1 b=$2 secs=$3 logdir log
    shift 3
    logdir=$(mktemp -d "${TMPDIR:-/tmp}/pg_privacy_bench_log.XXXXXX")
    if ! log=$(cd "$logdir" && "${PIN[@]}" "$PGBIN/pgbench" -n -M prepared \
        -f "$ROOT/$a@1" -f "$ROOT/$b@1" -c 1 -j 1 -T "$secs" -D rows="$ROWS" "$@" \
        -l --log-prefix=mixed 2>&1); then
        echo "$log" >&2
        rm -rf "$logdir"
        return 1
    fi
    # log lines: client transaction latency_us script_no epoch epoch_us
    awk '{ n[$4]++; t[$4] += $3 }
        END { if (n[0] && n[1]) printf "%.3f %.3f\n", t[0] / n[0], t[1] / n[1]; else exit 1 }' \
        "$logdir"/mixed.*
    rm -rf "$logdir"
}

# bench_lookup: single-client index lookups by a random value, int4 vs bsn.
# Both run in the same pgbench runs, alternating at random transaction by
# transaction: lookups take microseconds, and load elsewhere on the machine
# moves separate runs by more than the difference measured.
bench_lookup() {
    local r base=() subj=() out
    say "== index lookup: ${REPEAT}x ${RUN_SECONDS}s, int4 and bsn mixed, -c 1"
    pgbench_mixed "$BENCH/lookup_int4.pgbench" "$BENCH/lookup_bsn.pgbench" \
        "$(( RUN_SECONDS / 5 > 1 ? RUN_SECONDS / 5 : 1 ))" >/dev/null
    for ((r = 1; r <= REPEAT; r++)); do
        out=$(pgbench_mixed "$BENCH/lookup_int4.pgbench" "$BENCH/lookup_bsn.pgbench" "$RUN_SECONDS")
        base+=("${out% *}")
        subj+=("${out#* }")
    done
    say "   int4 us per lookup: $(list "${base[@]}")"
    say "   bsn us per lookup:  $(list "${subj[@]}")"
    local mb ms
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result bsn_index_lookup "$(printf '%.2f us' "$mb")" "$(printf '%.2f us' "$ms")" \
        "$(divide "$ms" "$mb")" "<=1.10"
}

# bench_rls_setup: the row-level authorization tables (bench/rls.sql)
bench_rls_setup() {
    say "== row-level authorization: $ROWS rows over 50 branches, a role with 2"
    sql -v rows="$ROWS" -f "$BENCH/rls.sql" >/dev/null
    NVISIBLE=$(sql -At -c "SELECT count(*) FROM rls.visible_ids")
}

# bench_rls_scan: a scan of every visible row through the extension's
# policy against the hand-written native policy with the same predicate
bench_rls_scan() {
    local r base=() subj=() q
    # each statement runs twice in its session and the second is timed: the
    # first fills the session's caches (the scopes, the relation cache)
    q="SELECT count(*), sum(length(payload))"
    say "   scan: ${COPY_REPEAT}x native policy and extension policy"
    for ((r = 1; r <= COPY_REPEAT; r++)); do
        base+=("$(sql_time "" "$q FROM rls.rls_native; $q FROM rls.rls_native" bench_rls)")
        subj+=("$(sql_time "" "$q FROM rls.rls_ext; $q FROM rls.rls_ext" bench_rls)")
    done
    say "   native ms:    $(list "${base[@]}")"
    say "   extension ms: $(list "${subj[@]}")"
    local mb ms
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result rls_scan_vs_native_policy "$(printf '%.1f ms' "$mb")" "$(printf '%.1f ms' "$ms")" \
        "$(divide "$ms" "$mb")" "<=1.05"
}

# bench_rls_lookup: primary-key lookups through the policy against the same
# table without row-level security, mixed in each pgbench run
bench_rls_lookup() {
    local r base=() subj=() out
    say "   lookup: ${REPEAT}x ${RUN_SECONDS}s, no RLS and extension policy mixed, -c 1"
    for ((r = 0; r <= REPEAT; r++)); do
        out=$(PGUSER=bench_rls pgbench_mixed "$BENCH/rls_lookup_plain.pgbench" \
            "$BENCH/rls_lookup_ext.pgbench" "$RUN_SECONDS" -D nvisible="$NVISIBLE")
        [ "$r" -eq 0 ] && continue      # warm-up
        base+=("${out% *}")
        subj+=("${out#* }")
    done
    say "   no RLS us:    $(list "${base[@]}")"
    say "   extension us: $(list "${subj[@]}")"
    local mb ms
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result rls_pk_lookup_vs_no_rls "$(printf '%.2f us' "$mb")" "$(printf '%.2f us' "$ms")" \
        "$(divide "$ms" "$mb")" "<=1.10"
}

# bench_rls_index: the folded policy lets the planner use the index on the
# branch column (1 = the plan scans that index)
bench_rls_index() {
    local plan used=0
    plan=$(sql -At -c "SET ROLE bench_rls" -c "EXPLAIN SELECT count(*) FROM rls.rls_ext")
    grep -q 'Index.*rls_ext_branch_id_idx' <<<"$plan" && used=1
    say "   plan: $(grep -o 'Index[^(]*' <<<"$plan" | head -n 1)"
    result rls_scan_uses_branch_index "index" "$( [ $used -eq 1 ] && echo used || echo 'not used')" \
        "$used" ">=1"
}

# bench_support: support access.  A clerk's primary-key lookups through the
# extension's policy with no grants to support roles and with 100 active
# grants to others, in alternating runs (the grants are made and revoked
# between runs); then a support role's scan of its grant's rows against the
# clerk's scan of the same rows (each statement of the support role is also
# written to the audit trail)
bench_support() {
    local r base=() subj=() out q
    say "== support access: 100 grants to others, and a support role's read"
    sql -f "$BENCH/support.sql" >/dev/null
    say "   clerk lookup: ${REPEAT}x ${RUN_SECONDS}s with 0 and with 100 active grants to others"
    for ((r = 0; r <= REPEAT; r++)); do
        sql -c "CALL public.bench_other_grants(false)"
        out=$(PGUSER=bench_rls pgbench_run "$BENCH/rls_lookup_ext.pgbench" 1 1 "$RUN_SECONDS" -D nvisible="$NVISIBLE")
        [ "$r" -gt 0 ] && base+=("${out% *}")
        sql -c "CALL public.bench_other_grants(true)"
        out=$(PGUSER=bench_rls pgbench_run "$BENCH/rls_lookup_ext.pgbench" 1 1 "$RUN_SECONDS" -D nvisible="$NVISIBLE")
        [ "$r" -gt 0 ] && subj+=("${out% *}")
    done
    say "   0 grants tps:   $(list "${base[@]}")"
    say "   100 grants tps: $(list "${subj[@]}")"
    local mb ms
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    # a ratio of times: tps without the grants over tps with them
    result support_clerk_100_grants "$(printf '%.0f tps' "$mb")" "$(printf '%.0f tps' "$ms")" \
        "$(divide "$mb" "$ms")" "<=1.02"

    base=()
    subj=()
    q="SELECT count(*), sum(length(payload)) FROM rls.rls_ext"
    say "   read: ${COPY_REPEAT}x clerk and support role under a grant, same rows"
    for ((r = 1; r <= COPY_REPEAT; r++)); do
        base+=("$(sql_time "" "$q; $q" bench_rls)")
        subj+=("$(sql_time "" "$q; $q" bench_sup)")
    done
    say "   clerk ms:   $(list "${base[@]}")"
    say "   support ms: $(list "${subj[@]}")"
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result support_read_vs_clerk "$(printf '%.1f ms' "$mb")" "$(printf '%.1f ms' "$ms")" \
        "$(divide "$ms" "$mb")" "<=1.10"
}

# bench_discovery: finding BSNs in free text with the extension's scanner
# against a regular expression with an elfproef in SQL, and the scanner's
# throughput
bench_discovery() {
    local mb=${BENCH_DISCOVERY_MB:-100} r base=() subj=() bytes
    say "== discovery: ${mb} MB of notes, ${REPEAT}x regular expression and scanner"
    sql -v mb="$mb" -f "$BENCH/discovery.sql" >/dev/null
    bytes=$(sql -At -c "SELECT sum(octet_length(body)) FROM disc_notes")
    local q_re="SELECT count(*) FROM disc_notes n,
        regexp_matches(n.body, '(?:^|[^0-9])([0-9]{4}[. -]?[0-9]{2}[. -]?[0-9]{3})(?![0-9])', 'g') m
        WHERE sql_elfproef(regexp_replace(m[1], '[^0-9]', '', 'g'))"
    local q_ext="SELECT count(*) FROM disc_notes n, privacy.find_identifiers(n.body) f
        WHERE privacy.has_identifier(n.body) AND f.kind = 'bsn'"
    local found_re found_ext
    found_re=$(sql -At -c "$q_re")
    found_ext=$(sql -At -c "$q_ext")
    [ "$found_re" = "$found_ext" ] || say "   note: the regular expression found $found_re, the scanner $found_ext"
    for ((r = 1; r <= REPEAT; r++)); do
        base+=("$(sql_time "" "$q_re")")
        subj+=("$(sql_time "" "$q_ext")")
    done
    say "   regular expression ms: $(list "${base[@]}")"
    say "   scanner ms:            $(list "${subj[@]}")"
    local mb_ mr ms
    mr=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result discovery_speedup_vs_regex "$(printf '%.0f ms' "$mr")" "$(printf '%.0f ms' "$ms")" \
        "$(divide "$mr" "$ms")" ">=10"
    mb_=$(awk -v b="$bytes" -v t="$ms" 'BEGIN { printf "%.1f", b / 1048576 / (t / 1000) }')
    result discovery_scanner_mb_per_s "$(megabytes "$bytes")" "$(printf '%.0f ms' "$ms")" "$mb_" info
}

# bench_columns: reading three classified columns as a role that sees them
# masked against one that sees them in full, in bulk and by point lookups
# planned for every execution
bench_columns() {
    local r base=() subj=() q
    say "== column policies: $ROWS people, three classified columns"
    sql -v rows="$ROWS" -f "$BENCH/columns.sql" >/dev/null
    q="COPY (SELECT id, name, phone, health, city FROM col.people) TO STDOUT"
    for ((r = 1; r <= COPY_REPEAT; r++)); do
        base+=("$(sql_time "" "$q" bench_plain)")
        subj+=("$(sql_time "" "$q" bench_masked)")
    done
    say "   plain ms:  $(list "${base[@]}")"
    say "   masked ms: $(list "${subj[@]}")"
    local mb ms
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result columns_masked_read "$(printf '%.1f ms' "$mb")" "$(printf '%.1f ms' "$ms")" \
        "$(divide "$ms" "$mb")" "<=1.10"

    base=()
    subj=()
    say "   lookups: ${REPEAT}x ${RUN_SECONDS}s each role, -M simple (planning included)"
    for ((r = 0; r <= REPEAT; r++)); do
        local tb ts
        tb=$(PGUSER=bench_plain "${PIN[@]}" "$PGBIN/pgbench" -n -M simple -f "$BENCH/columns_lookup.pgbench" \
            -c 1 -j 1 -T "$RUN_SECONDS" -D rows="$ROWS" 2>&1 | awk '/^tps = / { print $3; exit }')
        ts=$(PGUSER=bench_masked "${PIN[@]}" "$PGBIN/pgbench" -n -M simple -f "$BENCH/columns_lookup.pgbench" \
            -c 1 -j 1 -T "$RUN_SECONDS" -D rows="$ROWS" 2>&1 | awk '/^tps = / { print $3; exit }')
        [ "$r" -eq 0 ] && continue      # warm-up
        base+=("$tb")
        subj+=("$ts")
    done
    say "   plain tps:  $(list "${base[@]}")"
    say "   masked tps: $(list "${subj[@]}")"
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    # a ratio of times: plain tps over masked tps
    result columns_masked_lookup "$(printf '%.0f tps' "$mb")" "$(printf '%.0f tps' "$ms")" \
        "$(divide "$mb" "$ms")" "<=1.10"
}

# retention_reload TABLE...: fill the tables again from the retention
# template, in the same order, vacuum and analyze them, and checkpoint, so
# that every measurement starts from the same pages in the same state
retention_reload() {
    local t
    for t in "$@"; do
        sql -c "SET session_replication_role = replica" -c "SET synchronize_seqscans = off" \
            -c "TRUNCATE $t" -c "INSERT INTO $t SELECT * FROM ret.document_template" \
            -c "VACUUM ANALYZE $t"
    done
    sql -c CHECKPOINT
}

# rows_per_s ROWS MS: rows per second
rows_per_s() {
    awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / (t / 1000) }'
}

# bench_retention: CALL privacy.purge() with its default batch size against
# one plain DELETE with the rule's condition and expiry on an identical copy
# of the table, both deleting the same expired rows of a freshly loaded
# table; the longest batch of the purge; privacy.retention_status() against
# a count with the same predicate
bench_retention() {
    local r base=() subj=() longest=() line deleted held batches ms t cond expiry n_expired
    say "== retention: $ROWS documents, 10% expired payslips, ${REPEAT}x DELETE and purge"
    sql -v rows="$ROWS" -f "$BENCH/retention.sql" >/dev/null
    # the rule's own condition and expiry, as the purge writes them
    cond=$(sql -At -c "SELECT cond_sql FROM privacy._rule_sql('bench_payslips')")
    expiry=$(sql -At -c "SELECT expiry_sql FROM privacy._rule_sql('bench_payslips')")
    local pred="$cond AND $expiry <= CURRENT_DATE"
    # timed without parallel workers: one process on each side, and workers
    # fail on the rule's expression (retention_status_parallel below)
    local serial="SET max_parallel_workers_per_gather = 0;"
    n_expired=$(sql -At -c "$serial" -c "SELECT count(*) FROM ret.document_template r WHERE $pred")

    # status first, while the table is full
    retention_reload ret.document ret.document_plain
    local q_count="SELECT count(*) FILTER (WHERE $expiry <= CURRENT_DATE) FROM ret.document r WHERE $cond"
    local q_status="SELECT * FROM privacy.retention_status()"
    line=$(sql -At -F ' ' -c "$serial" -c "SELECT rows_total, rows_expired, rows_held FROM privacy.retention_status('bench_payslips')")
    say "   retention_status(): rows covered, expired, held: $line; expired by the predicate: $n_expired"
    sql_time "$serial" "$q_count" >/dev/null
    sql_time "$serial" "$q_status" >/dev/null
    for ((r = 1; r <= REPEAT; r++)); do
        base+=("$(sql_time "$serial" "$q_count")")
        subj+=("$(sql_time "$serial" "$q_status")")
    done
    say "   count ms:  $(list "${base[@]}")"
    say "   status ms: $(list "${subj[@]}")"
    local mcount mstatus
    mcount=$(median "${base[@]}")
    mstatus=$(median "${subj[@]}")
    # the status query with the planner's default choice for a large table,
    # a parallel plan: its workers must be able to run the rule's expressions
    local par=1 err
    if ! err=$(sql -c "SET parallel_setup_cost = 0" -c "SET parallel_tuple_cost = 0" \
        -c "SET min_parallel_table_scan_size = 0" -c "$q_status" 2>&1 >/dev/null); then
        par=0
        say "   retention_status() in a parallel plan: $(head -n 1 <<<"$err")"
    fi

    # the purge against the plain DELETE; round 0 warms up
    base=()
    subj=()
    for ((r = 0; r <= REPEAT; r++)); do
        retention_reload ret.document ret.document_plain
        ms=$(sql_time "" "DELETE FROM ret.document_plain r WHERE $pred")
        if [ "$r" -gt 0 ]; then base+=("$(rows_per_s "$n_expired" "$ms")"); fi
        ms=$(sql_time "" "CALL privacy.purge()")
        line=$(sql -At -F ' ' -c "SELECT deleted, held, batches, longest_batch_ms FROM privacy.purge_log
            WHERE rule = 'bench_payslips' ORDER BY run_id DESC LIMIT 1")
        read -r deleted held batches t <<<"$line"
        if [ $((deleted + held)) -ne "$n_expired" ]; then
            say "FAILED: the purge deleted $deleted and held $held of $n_expired expired rows"
            exit 1
        fi
        say "   round $r: purge deleted $deleted, held $held, in $batches batches, longest ${t} ms"
        [ "$r" -gt 0 ] || continue
        subj+=("$(rows_per_s "$deleted" "$ms")")
        longest+=("$t")
    done
    say "   DELETE rows/s: $(list "${base[@]}")"
    say "   purge rows/s:  $(list "${subj[@]}")"
    local mb ms_ lmax
    mb=$(median "${base[@]}")
    ms_=$(median "${subj[@]}")
    lmax=$(printf '%s\n' "${longest[@]}" | sort -g | tail -n 1)
    result retention_purge_vs_delete "$(printf '%.0f rows/s' "$mb")" "$(printf '%.0f rows/s' "$ms_")" \
        "$(divide "$ms_" "$mb")" ">=0.7"
    result retention_longest_batch_ms "200000 rows" "$(printf '%.1f ms' "$lmax")" \
        "$(printf '%.1f' "$lmax")" "<=200"
    result retention_status_1m_ms "$(printf '%.1f ms' "$mcount")" "$(printf '%.1f ms' "$mstatus")" \
        "$(printf '%.1f' "$mstatus")" info
    result retention_status_vs_count "$(printf '%.1f ms' "$mcount")" "$(printf '%.1f ms' "$mstatus")" \
        "$(divide "$mstatus" "$mcount")" info
    result retention_status_parallel "parallel plan" "$([ "$par" -eq 1 ] && echo runs || echo fails)" \
        "$par" ">=1"
}

# pgbench_latencies SCRIPT_A SCRIPT_B SECONDS OUT_A OUT_B: one client runs
# both scripts (absolute paths), picking one at random for each
# transaction; appends the latency of each transaction, in microseconds, to
# OUT_A or OUT_B
pgbench_latencies() {
    local a=$1 b=$2 secs=$3 out_a=$4 out_b=$5 logdir log
    logdir=$(mktemp -d "${TMPDIR:-/tmp}/pg_privacy_bench_log.XXXXXX")
    if ! log=$(cd "$logdir" && "${PIN[@]}" "$PGBIN/pgbench" -n -M prepared \
        -f "$a@1" -f "$b@1" -c 1 -j 1 -T "$secs" -D rows="$RIGHTS_ROWS" \
        -l --log-prefix=mixed 2>&1) || grep -qE '^number of failed transactions: [1-9]' <<<"$log"; then
        echo "$log" >&2
        rm -rf "$logdir"
        return 1
    fi
    # log lines: client transaction latency_us script_no epoch epoch_us
    awk -v a="$out_a" -v b="$out_b" '{ print $3 >> ($4 == 0 ? a : b) }' "$logdir"/mixed.*
    rm -rf "$logdir"
}

# percentile P FILE: the P-th percentile (nearest rank) of the numbers in FILE
percentile() {
    sort -g "$2" | awk -v p="$1" '{ v[NR] = $1 }
        END { i = int(NR * p / 100); if (i < NR * p / 100) i++; if (i < 1) i = 1; print v[i] }'
}

# bench_rights_export: privacy.export_subject('candidate', id) against a
# hand-written query that gathers the same rows as jsonb
# (rights_bench.export: jsonb_agg(to_jsonb(t)) per table along the foreign
# keys), for random candidates, both in the same pgbench runs; the 50th and
# 95th percentile of the latencies
bench_rights_export() {
    local r plain=$DIR/rights_export_plain.us ext=$DIR/rights_export_ext.us
    local sp=$DIR/rights_export_plain.pgbench se=$DIR/rights_export_ext.pgbench
    printf '%s\n' '\set id random(1, :rows)' 'SELECT rights_bench.export(:id);' >"$sp"
    printf '%s\n' '\set id random(1, :rows)' "SELECT privacy.export_subject('candidate', :id::text);" >"$se"
    say "   export: ${REPEAT}x ${RUN_SECONDS}s, hand-written query and export_subject mixed, -c 1, random candidates"
    pgbench_latencies "$sp" "$se" "$(( RUN_SECONDS / 5 > 1 ? RUN_SECONDS / 5 : 1 ))" /dev/null /dev/null
    : >"$plain"
    : >"$ext"
    for ((r = 1; r <= REPEAT; r++)); do
        pgbench_latencies "$sp" "$se" "$RUN_SECONDS" "$plain" "$ext"
    done
    local p50p p95p p50e p95e
    p50p=$(awk '{ print $1 / 1000 }' "$plain" | percentile 50 /dev/stdin)
    p95p=$(awk '{ print $1 / 1000 }' "$plain" | percentile 95 /dev/stdin)
    p50e=$(awk '{ print $1 / 1000 }' "$ext" | percentile 50 /dev/stdin)
    p95e=$(awk '{ print $1 / 1000 }' "$ext" | percentile 95 /dev/stdin)
    say "   hand-written ms: p50 $p50p, p95 $p95p ($(wc -l <"$plain") exports)"
    say "   export_subject ms: p50 $p50e, p95 $p95e ($(wc -l <"$ext") exports)"
    result rights_export_p50 "$(printf '%.2f ms' "$p50p")" "$(printf '%.2f ms' "$p50e")" \
        "$(divide "$p50e" "$p50p")" "<=2"
    result rights_export_p95 "$(printf '%.2f ms' "$p95p")" "$(printf '%.2f ms' "$p95e")" \
        "$(divide "$p95e" "$p95p")" "<=2"
}

# bench_rights_erase: privacy.erase_subject against hand-written DELETEs of
# the same rows, children first along the foreign keys, one transaction per
# candidate either way.  Both remove the same candidates of the sample
# (rights_bench.sample: candidates whose erasure keeps nothing, so that both
# remove every row of the candidate): after each removal the candidate's rows
# are put back (rights_bench.restore, which fails unless the removal was
# complete), and which of the two goes first alternates from candidate to
# candidate, so that each meets the rows as often in their first place as
# put back.  The first four candidates warm up.
bench_rights_erase() {
    local ids i c script line side ms base=() subj=() sb=0 ss=0
    mapfile -t ids < <(sql -At -c "SELECT id FROM rights_bench.sample ORDER BY ord")
    say "   erasure: ${#ids[@]} candidates, erase_subject and hand-written DELETEs, -c 1"
    script=$DIR/rights_erase.sql
    {
        echo '\o /dev/null'
        for i in "${!ids[@]}"; do
            c=${ids[$i]}
            for side in $( ((i % 2)) && echo "plain ext" || echo "ext plain"); do
                echo "\\echo $i $side"
                echo '\timing on'
                if [ "$side" = ext ]; then
                    echo "SELECT privacy.erase_subject('candidate', '$c', 'art. 17(1)(a): benchmark');"
                else
                    echo "BEGIN\\; DELETE FROM agency.timesheets t USING agency.placements p" \
                         "WHERE t.placement_id = p.id AND p.candidate_id = $c\\;" \
                         "DELETE FROM agency.sick_leave s USING agency.employees e" \
                         "WHERE s.employee_id = e.id AND e.candidate_id = $c\\;" \
                         "DELETE FROM agency.documents WHERE candidate_id = $c\\;" \
                         "DELETE FROM agency.notes WHERE candidate_id = $c\\;" \
                         "DELETE FROM agency.photos WHERE candidate_id = $c\\;" \
                         "DELETE FROM agency.placements WHERE candidate_id = $c\\;" \
                         "DELETE FROM agency.employees WHERE candidate_id = $c\\;" \
                         "DELETE FROM agency.candidates WHERE id = $c\\; COMMIT;"
                fi
                echo '\timing off'
                echo "SELECT rights_bench.restore($c);"
            done
        done
    } >"$script"
    if ! sql -f "$script" >"$DIR/rights_erase.out"; then
        say "FAILED: an erasure or its hand-written counterpart left rows behind, or failed"
        exit 1
    fi
    while read -r i side ms; do
        [ "$i" -ge 4 ] || continue
        if [ "$side" = ext ]; then
            subj+=("$ms")
            ss=$(awk -v a="$ss" -v b="$ms" 'BEGIN { print a + b }')
        else
            base+=("$ms")
            sb=$(awk -v a="$sb" -v b="$ms" 'BEGIN { print a + b }')
        fi
    done < <(awk '/^[0-9]+ (ext|plain)$/ { tag = $0 } /^Time: / { print tag, $2 }' "$DIR/rights_erase.out")
    say "   DELETEs ms per candidate:        median $(median "${base[@]}"), total $(printf '%.0f' "$sb") for ${#base[@]}"
    say "   erase_subject ms per candidate: median $(median "${subj[@]}"), total $(printf '%.0f' "$ss") for ${#subj[@]}"
    local mb ms_
    mb=$(median "${base[@]}")
    ms_=$(median "${subj[@]}")
    result rights_erase "$(printf '%.2f ms' "$mb")" "$(printf '%.2f ms' "$ms_")" \
        "$(divide "$ms_" "$mb")" "<=2"
}

# bench_rights: the data-subject rights layer on the demo agency
# (bench/rights.sql): exports and erasures of candidates
bench_rights() {
    local t0=$SECONDS n=${BENCH_RIGHTS_N:-200}
    say "== rights: the demo agency with $RIGHTS_ROWS candidates, $n erasures"
    sql -v scale="$RIGHTS_ROWS" -v n="$n" -v seed=0.5 -f "$BENCH/rights.sql" >/dev/null
    say "   setup: $((SECONDS - t0)) s (generation, registration, retention rules, the erasure sample)"
    one_cpu on
    bench_rights_export
    bench_rights_erase
    one_cpu off
}

# bench_breaches: the exposure of a phished clerk login on the demo agency
# (bench/breaches.sql), privacy.breach_exposure against the hand-written
# count of the same rows and subjects; both run as the privacy officer, and
# the two must agree before anything is timed
bench_breaches() {
    local r base=() subj=() mb ms b exp hand q
    local t0=$SECONDS
    say "== breaches: exposure of a phished clerk login, demo agency with $RIGHTS_ROWS candidates"
    if ! only rights; then
        sql -v scale="$RIGHTS_ROWS" -v n=1 -v seed=0.5 -f "$BENCH/rights.sql" >/dev/null
    fi
    sql -f "$BENCH/breaches.sql" >/dev/null
    say "   setup: $((SECONDS - t0)) s"
    b=$(sql -At -c "SELECT id FROM breach_bench.breach")
    q="SELECT privacy.breach_exposure($b, role => 'bench_breach_clerk', from_time => now() - interval '1 day', until_time => now())"
    exp=$(sql -At -c "SET ROLE bench_breach_officer; SELECT jsonb_build_object('records', e -> 'records', 'subjects', e -> 'subjects') FROM ($q) x(e)")
    hand=$(sql -At -c "SELECT breach_bench.hand_count()")
    if [ "$(sql -At -c "SELECT '$exp'::jsonb = '$hand'::jsonb")" != t ]; then
        say "   the exposure and the hand-written count differ: $exp against $hand"
        return 1
    fi
    say "   $(sql -At -c "SELECT ('$hand'::jsonb ->> 'subjects') || ' candidates, ' || (SELECT sum(v::bigint) FROM jsonb_each_text('$hand'::jsonb -> 'records') x(k, v)) || ' records'")"
    say "   ${COPY_REPEAT}x hand-written count and breach_exposure"
    for ((r = 1; r <= COPY_REPEAT; r++)); do
        base+=("$(sql_time "" "SELECT breach_bench.hand_count()" bench_breach_officer)")
        subj+=("$(sql_time "" "$q" bench_breach_officer)")
    done
    say "   hand-written ms:    $(list "${base[@]}")"
    say "   breach_exposure ms: $(list "${subj[@]}")"
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result breach_exposure_clerk "$(printf '%.0f ms' "$mb")" "$(printf '%.0f ms' "$ms")" \
        "$(divide "$ms" "$mb")" "<=2"
}

# bench_lint: privacy.lint() on a schema of 500 tables (bench/lint.sql)
# against a plain scan of pg_class and pg_attribute over the same tables;
# the target is on the time itself (at most 5 s), the ratio is reported
bench_lint() {
    local r base=() subj=() mb ms q
    say "== lint: privacy.lint() on 500 tables"
    sql -f "$BENCH/lint.sql" >/dev/null
    q="SELECT c.oid::regclass, a.attname, a.atttypid FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relnamespace = 'lint_bench'::regnamespace AND a.attnum > 0"
    for ((r = 1; r <= COPY_REPEAT; r++)); do
        base+=("$(sql_time "" "$q")")
        subj+=("$(sql_time "" "SELECT * FROM privacy.lint()")")
    done
    say "   pg_class scan ms: $(list "${base[@]}")"
    say "   lint ms:          $(list "${subj[@]}")"
    mb=$(median "${base[@]}")
    ms=$(median "${subj[@]}")
    result lint_500_tables_seconds "-" "$(printf '%.0f ms' "$ms")" "$(divide "$ms" 1000)" "<=5"
    result lint_500_vs_pg_class "$(printf '%.1f ms' "$mb")" "$(printf '%.0f ms' "$ms")" "$(divide "$ms" "$mb")" info
}

# megabytes BYTES: a size for display
megabytes() {
    awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'
}

# bench_sizes: table and index sizes of bsn against int4 and text
bench_sizes() {
    local line ti tb tt ii ib it
    line=$(sql -At -F ' ' -c "SELECT pg_relation_size('t_int'), pg_relation_size('t_bsn'),
        pg_relation_size('t_text'), pg_relation_size('t_int_b_idx'),
        pg_relation_size('t_bsn_b_idx'), pg_relation_size('t_text_b_idx')")
    read -r ti tb tt ii ib it <<<"$line"
    result size_table_bsn_vs_int4 "$(megabytes "$ti")" "$(megabytes "$tb")" "$(divide "$tb" "$ti")" info
    result size_table_bsn_vs_text "$(megabytes "$tt")" "$(megabytes "$tb")" "$(divide "$tb" "$tt")" info
    result size_index_bsn_vs_int4 "$(megabytes "$ii")" "$(megabytes "$ib")" "$(divide "$ib" "$ii")" info
    result size_index_bsn_vs_text "$(megabytes "$it")" "$(megabytes "$ib")" "$(divide "$ib" "$it")" info
}

# report: print the table and write bench/out/results.tsv
report() {
    local row name base subj ratio target met file=$OUT/results.tsv
    [ -z "${BENCH_ONLY:-}" ] || file=$OUT/results-only.tsv
    mkdir -p "$OUT"
    printf 'name\tratio\ttarget\tmet\n' >"$file"
    echo
    echo "pg_privacy benchmarks: $ROWS rows; medians of $REPEAT pgbench runs of ${RUN_SECONDS}s, of $COPY_REPEAT COPY runs"
    printf '%-26s %14s %14s %8s %8s %4s\n' name baseline subject ratio target met
    for row in "${RESULTS[@]}"; do
        IFS=$'\t' read -r name base subj ratio target met <<<"$row"
        printf '%-26s %14s %14s %8s %8s %4s\n' "$name" "$base" "$subj" "$ratio" "$target" "$met"
        printf '%s\t%s\t%s\t%s\n' "$name" "$ratio" "$target" "$met" >>"$file"
    done
}

AUDIT_TX=0
setup
if only audit; then
    one_cpu on
    bench_audit 1 1
    one_cpu off
    bench_audit 8 2
    audit_check
fi
one_cpu on
if only copy; then bench_copy_from; fi
if only output; then bench_output; fi
if only lookup; then bench_lookup; fi
if only rls; then
    bench_rls_setup
    bench_rls_scan
    bench_rls_lookup
    bench_rls_index
fi
if only support; then
    only rls || bench_rls_setup
    bench_support
fi
if only discovery; then bench_discovery; fi
if only columns; then bench_columns; fi
one_cpu off
if only retention; then bench_retention; fi
if only rights; then bench_rights; fi
if only breaches; then bench_breaches; fi
if only lint; then bench_lint; fi
if only sizes; then bench_sizes; fi
report
