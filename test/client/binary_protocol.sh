#!/usr/bin/env bash
# The binary protocol and COPY as a clerk and as a payroll officer:
#  - a bsn fetched in binary (resultFormat = 1) carries, for the clerk, only
#    version byte 2, the number of kept digits and those digits; for payroll,
#    version byte 1 and the full int4 (bsn_binary_client.c, built with libpq);
#  - a masked binary value sent back as a binary parameter is refused with
#    "a masked bsn cannot be stored";
#  - COPY TO STDOUT as the clerk (text, csv, binary) contains neither the
#    nine digits nor the big-endian int4 of any stored BSN, and reading the
#    clerk's dumps back with COPY FROM fails and leaves the table unchanged.
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# database and roles.  Exits non-zero when a check fails.
set -uo pipefail

cd "$(dirname "$0")/../.."
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=$PGBIN/pg_config
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config)

DB=bsn_client_binary
CLERK=cb_clerk
PAYROLL=cb_payroll
TMP=$(mktemp -d /tmp/bsn_binary_protocol.XXXXXX)
. "$(dirname "$0")/lib/checks.sh"

su_psql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $CLERK, $PAYROLL" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

cleanup
mkdir -p "$TMP"

# build the client
if ! gcc -O1 -Wall -Werror -I"$("$PG_CONFIG" --includedir)" -o "$TMP/bsn_binary_client" \
        test/client/bsn_binary_client.c -L"$("$PG_CONFIG" --libdir)" -lpq; then
    echo "not ok - building bsn_binary_client failed"
    exit 1
fi
CLIENT=$TMP/bsn_binary_client

su_psql -d postgres -c "CREATE DATABASE $DB" \
    -c "CREATE ROLE $CLERK LOGIN" \
    -c "CREATE ROLE $PAYROLL LOGIN IN ROLE privacy_bsn" >/dev/null || exit 1
su_psql -d "$DB" >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE TABLE people (id int PRIMARY KEY, name text, bsn privacy.bsn);
INSERT INTO people VALUES (1, 'Anna', '111222333'), (2, 'Bram', '1234.56.782'), (3, 'Cor', '010000008'),
                          (4, 'Dirk', NULL);
CREATE TABLE people_copy (id int, name text, bsn privacy.bsn);
INSERT INTO people_copy VALUES (100, 'Existing', '100000009');
GRANT SELECT, INSERT ON people, people_copy TO PUBLIC;
-- lets the test choose the kept digits for the clerk's session
CREATE FUNCTION set_visible_digits(n int) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog AS
$$ BEGIN PERFORM set_config('privacy.bsn_visible_digits', n::text, false); END $$;
GRANT EXECUTE ON FUNCTION set_visible_digits(int) TO PUBLIC;
SQL

conn() { echo "dbname=$DB user=$1"; }
run_client() {
    local out rc
    out=$("$CLIENT" "$@" 2>&1)
    rc=$?
    echo "$out" | sed 's/^/    /'
    return $rc
}

# 1. binary results
run_client fetch "$(conn $CLERK)" "SELECT bsn FROM people WHERE id = 1" masked 111222333 3
ok $? "the clerk gets 111222333 in binary as version 2, keep 3, 333"
run_client fetch "$(conn $CLERK)" "SELECT bsn FROM people WHERE id = 2" masked 123456782 3
ok $? "the clerk gets 123456782 in binary masked"
run_client fetch "$(conn $CLERK)" "SELECT bsn FROM people WHERE id = 3" masked 10000008 3
ok $? "the clerk gets an eight-digit BSN in binary masked"
BSN_CLIENT_SETUP="SELECT set_visible_digits(0)" \
    run_client fetch "$(conn $CLERK)" "SELECT bsn FROM people WHERE id = 1" masked 111222333 0
ok $? "with 0 visible digits the clerk's binary value carries no digit"
BSN_CLIENT_SETUP="SELECT set_visible_digits(4)" \
    run_client fetch "$(conn $CLERK)" "SELECT bsn FROM people WHERE id = 2" masked 123456782 4
ok $? "with 4 visible digits the clerk's binary value carries the last four"
run_client fetch "$(conn $CLERK)" "SELECT (SELECT bsn FROM people WHERE id = 1)" masked 111222333 3
ok $? "a bsn from a subquery is masked in binary too"
run_client fetch "$(conn $PAYROLL)" "SELECT bsn FROM people WHERE id = 1" full 111222333
ok $? "payroll gets version 1 and the full int4 for 111222333"
run_client fetch "$(conn $PAYROLL)" "SELECT bsn FROM people WHERE id = 3" full 10000008
ok $? "payroll gets version 1 and the full int4 for an eight-digit BSN"

# 2. binary parameters: a masked value cannot be stored
run_client resend "$(conn $CLERK)" "SELECT bsn FROM people WHERE id = 1" \
    "INSERT INTO people_copy (id, bsn) VALUES (10, \$1)" "a masked bsn cannot be stored"
ok $? "the clerk cannot send its masked binary value back"
run_client resend "$(conn $CLERK)" "SELECT bsn FROM people WHERE id = 1" \
    "SELECT \$1::privacy.bsn" "a masked bsn cannot be stored"
ok $? "a masked binary value is refused as a parameter of a SELECT too"
run_client send "$(conn $PAYROLL)" "INSERT INTO people_copy (id, bsn) VALUES (11, \$1)" 0203 \
    "a masked bsn cannot be stored"
ok $? "payroll cannot store a masked binary value either"
run_client send "$(conn $PAYROLL)" "INSERT INTO people_copy (id, bsn) VALUES (12, \$1)" 020300000000 \
    "a masked bsn cannot be stored"
ok $? "a masked binary value with zero kept digits is refused"
run_client resend "$(conn $PAYROLL)" "SELECT bsn FROM people WHERE id = 1" \
    "INSERT INTO people_copy (id, bsn) VALUES (13, \$1)" ok
ok $? "payroll's full binary value can be sent back"
run_client send "$(conn $CLERK)" "INSERT INTO people_copy (id, bsn) VALUES (14, \$1)" 01075bcd0e ok
ok $? "the clerk may insert a full binary value"
run_client send "$(conn $CLERK)" "INSERT INTO people_copy (id, bsn) VALUES (15, \$1)" 01075bcd15 \
    "invalid binary value for type bsn"
ok $? "a binary value failing the elfproef is refused"
run_client send "$(conn $CLERK)" "INSERT INTO people_copy (id, bsn) VALUES (16, \$1)" 03075bcd0e \
    "unsupported binary format version"
ok $? "an unknown binary format version is refused"
rows=$(psql -X -At -d "$DB" -c "SELECT string_agg(id || ':' || bsn::text, ',' ORDER BY id) FROM people_copy")
[ "$rows" = "13:111222333,14:123456782,100:100000009" ]
ok $? "only the full binary values were stored (got $rows)"

# 3. COPY TO STDOUT as the clerk holds no full number
BSNS=(111222333 123456782 010000008)
HEX=("06 a1 1e 3d" "07 5b cd 0e" "00 98 96 88")
leaks() { # file: prints what it finds
    local f=$1 i found=""
    for i in 0 1 2; do
        grep -qa "${BSNS[$i]}" "$f" && found="$found ${BSNS[$i]}"
        od -An -v -tx1 "$f" | tr -s ' \n' '  ' | grep -q " ${HEX[$i]} " && found="$found int4:${BSNS[$i]}"
    done
    echo "$found"
}
for fmt in text csv binary; do
    psql -X -q -d "$DB" -U "$CLERK" -c "COPY people TO STDOUT (FORMAT $fmt)" >"$TMP/clerk.$fmt"
    ok $? "the clerk may COPY the table out as $fmt"
    found=$(leaks "$TMP/clerk.$fmt")
    [ -z "$found" ]
    ok $? "the clerk's COPY ($fmt) holds no full BSN${found:+ (found:$found)}"
    psql -X -q -d "$DB" -U "$PAYROLL" -c "COPY people TO STDOUT (FORMAT $fmt)" >"$TMP/payroll.$fmt"
    found=$(leaks "$TMP/payroll.$fmt")
    [ -n "$found" ]
    ok $? "payroll's COPY ($fmt) does hold the full BSNs (the search finds them)"
done
psql -X -q -d "$DB" -U "$CLERK" -c "COPY (SELECT bsn, to_json(bsn), privacy.bsn_display(bsn), row_to_json(p) FROM people p) TO STDOUT" \
    >"$TMP/clerk.query"
found=$(leaks "$TMP/clerk.query")
[ -z "$found" ] && grep -q '\*\*\*\*\.\*\*\.333' "$TMP/clerk.query"
ok $? "the clerk's COPY of a query with JSON and bsn_display holds no full BSN${found:+ (found:$found)}"
grep -q '\*\*\*\*\*\*333' "$TMP/clerk.text"
ok $? "the clerk's text COPY has the masked form"

# 4. the clerk's dumps cannot be loaded back; the table is unchanged
before=$(psql -X -At -d "$DB" -c "SELECT count(*) || '/' || md5(string_agg(id || ':' || coalesce(bsn::text, '-'), ',' ORDER BY id)) FROM people_copy")
for fmt in text csv; do
    err=$(psql -X -q -d "$DB" -U "$CLERK" -c "COPY people_copy FROM STDIN (FORMAT $fmt)" <"$TMP/clerk.$fmt" 2>&1)
    rc=$?
    [ $rc -ne 0 ] && echo "$err" | grep -q 'invalid input syntax for type bsn'
    ok $? "COPY FROM of the clerk's masked $fmt dump fails with invalid input syntax for type bsn"
    err=$(psql -X -q -d "$DB" -U "$PAYROLL" -c "COPY people_copy FROM STDIN (FORMAT $fmt)" <"$TMP/clerk.$fmt" 2>&1)
    rc=$?
    [ $rc -ne 0 ] && echo "$err" | grep -q 'invalid input syntax for type bsn'
    ok $? "payroll cannot load the clerk's masked $fmt dump either"
done
err=$(psql -X -q -d "$DB" -U "$CLERK" -c "COPY people_copy FROM STDIN (FORMAT binary)" <"$TMP/clerk.binary" 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$err" | grep -q 'a masked bsn cannot be stored'
ok $? "COPY FROM of the clerk's masked binary dump fails with a masked bsn cannot be stored"
after=$(psql -X -At -d "$DB" -c "SELECT count(*) || '/' || md5(string_agg(id || ':' || coalesce(bsn::text, '-'), ',' ORDER BY id)) FROM people_copy")
[ "$before" = "$after" ]
ok $? "the failed loads left the table unchanged"

# a full dump does load (COPY FROM is allowed to the clerk), as a control
psql -X -q -d "$DB" -U "$CLERK" -c "COPY people_copy FROM STDIN (FORMAT binary)" <"$TMP/payroll.binary"
ok $? "the clerk may load payroll's full binary dump"
rows=$(psql -X -q -At -d "$DB" -c "SET search_path = public, privacy" \
    -c "SELECT count(*) FROM people_copy p JOIN people q USING (id, bsn)")
[ "$rows" = "3" ]
ok $? "the loaded rows carry the original BSNs (got $rows of 3)"

echo "1..$checks"
checks_done
