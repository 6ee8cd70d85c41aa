#!/usr/bin/env bash
# make test: install what is missing, build, start a throwaway cluster with
# the preload settings, run the pg_regress suite, the pgTAP files, the
# isolation specs, the tests without preload and a short fuzz run, stop the
# cluster, and print one line "N passed, N failed".
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash tools/deps.sh || exit 1
. tools/cluster.sh
build_and_install || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

PGXSDIR=$(dirname "$("$PGBIN/pg_config" --pgxs)")/..
PG_REGRESS=$PGXSDIR/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXSDIR/test/isolation/pg_isolation_regress

DIR=$(mktemp -d /tmp/pg_privacy_test.XXXXXX)
PORT=54329
OUT=$ROOT/test/out
rm -rf "$OUT"
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] && chmod 777 "$OUT"

cleanup() {
    cluster_stop "$DIR"
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
passed=0
failed=0

# count "... ok" / "... FAILED" lines of pg_regress-style output
count_regress() {
    local log=$1 rc=$2 ok bad
    ok=$(grep -cE '\.\.\. ok' "$log")
    bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$log")
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    passed=$((passed + ok))
    failed=$((failed + bad))
}

cluster_create "$DIR" || { echo "0 passed, 1 failed"; exit 1; }
cluster_start "$DIR" "$PORT" 'pg_privacy, pg_cron' || { echo "0 passed, 1 failed"; exit 1; }

# 1. pg_regress
echo "== pg_regress"
createdb contrib_regression
tests=$(cd test/sql && ls *.sql | sed 's/\.sql$//' | sort)
"$PG_REGRESS" --use-existing --host="$DIR" --port="$PORT" --user=postgres \
    --inputdir=test --outputdir="$OUT/regress" --dbname=contrib_regression \
    $tests 2>&1 | tee "$OUT/regress.log"
count_regress "$OUT/regress.log" "${PIPESTATUS[0]}"
[ -f "$OUT/regress/regression.diffs" ] && cat "$OUT/regress/regression.diffs"

# 2. pgTAP
echo "== pgTAP"
PGTAP_VECTORS_REQUIRED=1 bash test/pgtap_run.sh pgtap_tests "$OUT/pgtap.log"
rc=$?
grep -vE '^\s*ok [0-9]+' "$OUT/pgtap.log"
ok=$(grep -cE '^\s*ok [0-9]+' "$OUT/pgtap.log")
bad=$(grep -cE '^\s*not ok' "$OUT/pgtap.log")
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
passed=$((passed + ok)); failed=$((failed + bad))

# 3. isolation specs
echo "== isolation"
createdb isolation_regression
specs=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//' | sort)
"$PG_ISOLATION_REGRESS" --use-existing --host="$DIR" --port="$PORT" --user=postgres \
    --inputdir=test/isolation --outputdir="$OUT/isolation" --dbname=isolation_regression \
    $specs 2>&1 | tee "$OUT/isolation.log"
count_regress "$OUT/isolation.log" "${PIPESTATUS[0]}"
[ -f "$OUT/isolation/regression.diffs" ] && cat "$OUT/isolation/regression.diffs"

# 4. external clients: binary protocol, pg_dump round trip, log contents
echo "== clients"
for t in test/client/*.sh; do
    [ -e "$t" ] || continue
    if bash "$t" >"$OUT/$(basename "$t").log" 2>&1; then
        echo "ok     $(basename "$t")"
        passed=$((passed + 1))
    else
        echo "FAILED $(basename "$t")"; cat "$OUT/$(basename "$t").log"
        failed=$((failed + 1))
    fi
done

# 5. the upgrade path: released scripts, ALTER EXTENSION UPDATE of a filled
# 0.1.0, compared with a fresh install over pg_catalog
echo "== upgrade"
bash test/upgrade/upgrade.sh >"$OUT/upgrade.log" 2>&1
rc=$?
grep -E '^(not ok|#)' "$OUT/upgrade.log" | head -n 60
ok=$(grep -cE '^ok [0-9]+' "$OUT/upgrade.log")
bad=$(grep -cE '^not ok' "$OUT/upgrade.log")
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; tail -n 20 "$OUT/upgrade.log"; fi
echo "   $ok passed, $bad failed (log: test/out/upgrade.log)"
passed=$((passed + ok)); failed=$((failed + bad))

# 6. without shared_preload_libraries
echo "== without preload"
cluster_stop "$DIR"
cluster_start "$DIR" "$PORT" '' || { failed=$((failed + 1)); }
createdb nopreload_regression
nptests=$(cd test/nopreload/sql && ls *.sql | sed 's/\.sql$//' | sort)
"$PG_REGRESS" --use-existing --host="$DIR" --port="$PORT" --user=postgres \
    --inputdir=test/nopreload --outputdir="$OUT/nopreload" --dbname=nopreload_regression \
    $nptests 2>&1 | tee "$OUT/nopreload.log"
count_regress "$OUT/nopreload.log" "${PIPESTATUS[0]}"
[ -f "$OUT/nopreload/regression.diffs" ] && cat "$OUT/nopreload/regression.diffs"
cluster_stop "$DIR"

# 7. a short fuzz run of the input parser
echo "== fuzz"
if FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash test/fuzz/run.sh >"$OUT/fuzz.log" 2>&1; then
    echo "ok     bsn input fuzz"; passed=$((passed + 1))
else
    echo "FAILED bsn input fuzz"; tail -n 30 "$OUT/fuzz.log"; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
