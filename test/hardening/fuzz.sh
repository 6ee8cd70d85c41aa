#!/usr/bin/env bash
# The libFuzzer target of the BSN input rule (test/fuzz), run for
# HARDENING_FUZZ_SECONDS (default 600): it must end without a finding (a
# crash, a sanitizer report or a result that differs from the reference
# implementation).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/client/lib/checks.sh
secs=${HARDENING_FUZZ_SECONDS:-600}
log=$(mktemp)
start=$(date +%s)
FUZZ_SECONDS=$secs bash test/fuzz/run.sh >"$log" 2>&1
rc=$?
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
echo "# $(( $(date +%s) - start )) s, ${runs:-?} inputs executed"
[ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|libFuzzer)|runtime error:' "$log"
ok $? "the BSN input fuzz target ran ${secs} s without a finding"
[ "$rc" -eq 0 ] || tail -n 30 "$log" | sed 's/^/# /'
rm -f "$log"
checks_done
