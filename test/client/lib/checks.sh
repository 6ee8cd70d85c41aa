# Checks for the client tests, sourced by test/client/*.sh: "ok STATUS TEXT"
# records one check (STATUS 0 passes) in TAP style, "checks_done" prints the
# summary and exits non-zero when a check failed.

failures=0
checks=0

ok() {
    checks=$((checks + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $checks - $2"
    else
        echo "not ok $checks - $2"
        failures=$((failures + 1))
    fi
}

checks_done() {
    [ "$failures" -eq 0 ] || { echo "$failures of $checks checks failed"; exit 1; }
    echo "all $checks checks passed"
}
