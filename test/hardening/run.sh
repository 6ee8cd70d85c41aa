#!/usr/bin/env bash
# make test-all, after make test: the slow checks of test/hardening/*.sh
# (crash consistency, dump and restore across clusters, replicas,
# sanitizers, load).  Each script starts and stops the clusters it needs,
# prints TAP-style "ok N - ..." / "not ok N - ..." lines and exits non-zero
# when a check failed.  Prints one summary line "N passed, N failed".
#
# HARDENING_ONLY  names of scripts to run (without .sh), separated by
#                 spaces or commas (default: all)
set -uo pipefail
cd "$(dirname "$0")/../.."
bash tools/deps.sh || exit 1
. tools/cluster.sh
build_and_install

OUT=test/out/hardening
rm -rf "$OUT"
mkdir -p "$OUT"
passed=0
failed=0
for t in test/hardening/*.sh; do
    name=$(basename "$t" .sh)
    [ "$name" = run ] && continue
    if [ -n "${HARDENING_ONLY:-}" ] && [[ " ${HARDENING_ONLY//,/ } " != *" $name "* ]]; then
        continue
    fi
    echo "== $name"
    start=$(date +%s)
    bash "$t" >"$OUT/$name.log" 2>&1
    rc=$?
    ok=$(grep -cE '^ok [0-9]+' "$OUT/$name.log")
    bad=$(grep -cE '^not ok [0-9]+' "$OUT/$name.log")
    grep -E '^(not ok|#)' "$OUT/$name.log" | head -n 40
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1
        echo "not ok - $name exited with status $rc"
        tail -n 20 "$OUT/$name.log"
    fi
    echo "   $ok passed, $bad failed in $(( $(date +%s) - start )) s (log: $OUT/$name.log)"
    passed=$((passed + ok))
    failed=$((failed + bad))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
