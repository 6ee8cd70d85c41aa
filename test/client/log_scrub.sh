#!/usr/bin/env bash
# The server log never holds a BSN: as a superuser and as a clerk, run
# failing statements that contain BSNs (invalid input, unique and not-null
# violations, RAISE EXCEPTION / WARNING with a bsn value in PL/pgSQL, a
# refused search), and statements logged by log_statement = 'all' and
# log_min_duration_statement = 0; then read what the server wrote to its log
# during the test and check that none of the BSNs used appears, in any
# written form (111222333, 1112.22.333, 111-222-333, 111 222 333, or an
# older eight-digit number), while the masked forms and the errors do.
# The log is "$PGHOST/server.log" (test/run.sh starts the server with it).
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# database and role.  Exits non-zero when a check fails.
set -uo pipefail

DB=bsn_log_scrub
CLERK=ls_clerk
LOG=${PGHOST:-}/server.log
TMP=$(mktemp -d /tmp/bsn_log_scrub.XXXXXX)
. "$(dirname "$0")/lib/checks.sh"

cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $CLERK" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
cleanup
mkdir -p "$TMP"

if [ ! -r "$LOG" ]; then
    echo "not ok - the server log $LOG cannot be read"
    exit 1
fi

# the BSNs this test uses, as nine digits
BSNS=(111222333 123456782 246813507 246813519 030000014 999996708)

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE $CLERK LOGIN" -c "CREATE DATABASE $DB" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, bsn privacy.bsn UNIQUE);
INSERT INTO people VALUES (1, 'Anna', '111222333'), (2, 'Bram', '123456782'), (3, 'Cor', '030000014');
GRANT SELECT, INSERT ON people TO $CLERK;
CREATE FUNCTION check_person(p_id int) RETURNS void LANGUAGE sql AS
\$\$ INSERT INTO people SELECT p_id + 100, NULL, bsn FROM people WHERE id = p_id \$\$;
SQL

start=$(($(stat -c %s "$LOG") + 1))

# Run one statement; it must fail.  Its client-side error lines are kept.
su_fail() { # description sql...
    local what=$1
    shift
    local args=() s
    for s in "$@"; do args+=(-c "$s"); done
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "${args[@]}" >>"$TMP/client.out" 2>>"$TMP/client.err"
    [ $? -ne 0 ]
    ok $? "superuser: $what fails"
}
clerk_fail() {
    local what=$1
    shift
    local args=() s
    for s in "$@"; do args+=(-c "$s"); done
    psql -X -q -v ON_ERROR_STOP=1 -U "$CLERK" -d "$DB" "${args[@]}" >>"$TMP/client.out" 2>>"$TMP/client.err"
    [ $? -ne 0 ]
    ok $? "clerk: $what fails"
}

# superuser
su_fail "a BSN too large for smallint" "SELECT '111222333'::int2"
su_fail "a BSN with a stray letter read as integer" "SELECT 'bsn 1112.22.333'::int"
su_fail "an invalid bsn next to a valid one" "SELECT '2468.13.507x'::privacy.bsn"
su_fail "a BSN as a date" "SELECT '246-813-519'::date"
su_fail "a duplicate bsn" "INSERT INTO people VALUES (10, 'Dup', '1234 56 782')"
su_fail "a duplicate eight-digit bsn" "INSERT INTO people VALUES (11, 'Dup', '30000014')"
su_fail "a NULL name with a BSN in the failing row" "INSERT INTO people VALUES (12, NULL, '999996708')"
su_fail "a not-null violation inside an SQL function" "SELECT check_person(1)"
su_fail "RAISE EXCEPTION with a bsn value" \
    "DO \$\$ DECLARE b privacy.bsn; BEGIN SELECT bsn INTO b FROM people WHERE id = 1; RAISE EXCEPTION 'person %', b; END \$\$"
su_fail "RAISE EXCEPTION with bsn_display and a detail" \
    "DO \$\$ DECLARE b privacy.bsn; BEGIN SELECT bsn INTO b FROM people WHERE id = 2;
        RAISE EXCEPTION 'person %', privacy.bsn_display(b) USING DETAIL = 'bsn ' || b::text, HINT = 'check ' || b::text; END \$\$"
su_fail "RAISE EXCEPTION with a literal in the statement" \
    "DO \$\$ BEGIN RAISE EXCEPTION 'looking for %', '246813507'::privacy.bsn; END \$\$"
su_fail "an error in a nested function whose context shows a BSN" \
    "CREATE FUNCTION pg_temp.f(t text) RETURNS int LANGUAGE plpgsql AS \$\$ BEGIN RETURN t::int; END \$\$" \
    "SELECT pg_temp.f('bsn 030000014')"
psql -X -q -d "$DB" -c "DO \$\$ DECLARE b privacy.bsn; BEGIN SELECT bsn INTO b FROM people WHERE id = 1;
    RAISE WARNING 'warning about %', b; END \$\$" >>"$TMP/client.out" 2>>"$TMP/client.err"
ok $? "superuser: RAISE WARNING with a bsn value runs"

# clerk
clerk_fail "a duplicate bsn" "INSERT INTO people VALUES (20, 'Dup', '111222333')"
clerk_fail "a refused search by bsn" "SET search_path = public, privacy" \
    "SELECT id FROM people WHERE bsn = '123456782'"
clerk_fail "a BSN too large for smallint" "SELECT '246813519'::int2"
clerk_fail "a NULL name with a BSN" "INSERT INTO people VALUES (21, NULL, '246.813.519')"
clerk_fail "RAISE EXCEPTION with a literal BSN" "DO \$\$ BEGIN RAISE EXCEPTION 'bsn 111-222-333'; END \$\$"

# statements logged by log_statement and log_min_duration_statement
psql -X -q -d "$DB" -c "SET log_statement = 'all'" \
    -c "SELECT '111222333'::privacy.bsn AS logged_statement_probe" \
    -c "SELECT 'written 1112.22.333' AS logged_statement_probe" >/dev/null
ok $? "superuser: statements with BSNs run under log_statement = all"
psql -X -q -d "$DB" -c "SET log_min_duration_statement = 0" \
    -c "SELECT '246813507'::privacy.bsn AS duration_probe" >/dev/null
ok $? "superuser: a statement with a BSN runs under log_min_duration_statement = 0"
psql -X -q -d postgres -c "ALTER ROLE $CLERK SET log_statement = 'all'"
psql -X -q -U "$CLERK" -d "$DB" -c "INSERT INTO people VALUES (30, 'Clerk insert', '246813519')" \
    -c "PREPARE ins(int, privacy.bsn) AS INSERT INTO people VALUES (\$1, 'Prepared', \$2)" \
    -c "EXECUTE ins(31, '999996708')" >/dev/null
ok $? "clerk: inserts with BSNs run under ALTER ROLE ... SET log_statement = all"
psql -X -q -d postgres -c "ALTER ROLE $CLERK RESET log_statement"

su_fail "a BSN after 40 short digit groups" "SELECT '$(printf '1 %.0s' {1..40})111222333'::int"
# let the server write everything out
psql -X -q -d "$DB" -c "SELECT pg_sleep(0.5)" >/dev/null
tail -c +"$start" "$LOG" >"$TMP/log"

lines=$(wc -l <"$TMP/log")
[ "$lines" -gt 20 ]
ok $? "the server logged the test's messages ($lines lines)"

# every written form: join digit groups split by single separators, then
# look for the nine digits (or the eight digits of an older number)
joined=$(sed -E ':a; s/([0-9])[-. ]([0-9])/\1\2/g; ta' "$TMP/log")
leaked=""
for b in "${BSNS[@]}"; do
    short=${b#0}
    if echo "$joined" | grep -q -- "$b" || echo "$joined" | grep -q -- "$short"; then
        leaked="$leaked $b"
    fi
done
[ -z "$leaked" ]
ok $? "no BSN used appears in the server log in any written form${leaked:+ (found:$leaked)}"
if [ -n "$leaked" ]; then
    for b in $leaked; do grep -nE "$(echo "${b#0}" | sed -E 's/(.)/\1[-. ]?/g')" "$TMP/log" | head -3; done
fi

grep -q 'Key (bsn)=(\*\*\*\*\*\*333) already exists' "$TMP/log"
ok $? "the log has the clerk's unique violation with the key masked"
grep -q 'Key (bsn)=(\*\*\*\*\*\*782) already exists' "$TMP/log"
ok $? "the log has the superuser's unique violation with the key masked"
grep -q 'Key (bsn)=(\*\*\*\*\*014) already exists\|Key (bsn)=(\*\*\*\*\*\*014) already exists' "$TMP/log"
ok $? "the log has the eight-digit duplicate masked"
grep -q 'person \*\*\*\*\*\*333' "$TMP/log"
ok $? "RAISE EXCEPTION with a bsn value is logged masked"
grep -q 'person \*\*\*\*\.\*\*\.782' "$TMP/log"
ok $? "RAISE EXCEPTION with bsn_display is logged masked"
grep -q 'warning about \*\*\*\*\*\*333' "$TMP/log"
ok $? "RAISE WARNING with a bsn value is logged masked"
grep -q 'permission denied to compare values of type bsn' "$TMP/log"
ok $? "the clerk's refused search is logged"
grep -q 'statement: SELECT .\*\*\*\*\*\*333.::privacy.bsn AS logged_statement_probe' "$TMP/log"
ok $? "log_statement = all logs the statement with the BSN masked"
grep -q 'statement: SELECT .written \*\*\*\*\.\*\*\.333. AS logged_statement_probe' "$TMP/log"
ok $? "log_statement = all masks the written form 1234.56.782 too"
grep -q 'duration: .*statement: SELECT .\*\*\*\*\*\*507.::privacy.bsn AS duration_probe' "$TMP/log"
ok $? "log_min_duration_statement logs the statement with the BSN masked"
grep -q "statement: INSERT INTO people VALUES (30, 'Clerk insert', '\*\*\*\*\*\*519')" "$TMP/log"
ok $? "the clerk's statement under ALTER ROLE ... SET log_statement is logged masked"
grep -q "statement: EXECUTE ins(31, '\*\*\*\*\*\*708')" "$TMP/log"
ok $? "an EXECUTE with a BSN argument is logged masked"
! grep -qE '^[^ ]+ [^ ]+ [^ ]+ \[[0-9]+\] STATEMENT: .*(::int2|::date|VALUES \(1[0-2],)' "$TMP/log"
ok $? "statements that failed and contain a BSN are not logged as STATEMENT lines"

# what the clients were told is masked as well
client_leaks=$(grep -E '^(ERROR|WARNING|DETAIL|HINT|CONTEXT):' "$TMP/client.err" |
    sed -E ':a; s/([0-9])[-. ]([0-9])/\1\2/g; ta' | grep -E "$(IFS='|'; echo "${BSNS[*]}")|30000014|99999670")
[ -z "$client_leaks" ]
ok $? "the error, detail, hint and context lines sent to clients hold no BSN${client_leaks:+: $client_leaks}"

echo "1..$checks"
checks_done
