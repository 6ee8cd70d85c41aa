#!/usr/bin/env bash
# pg_dump / pg_restore round trip of a table with a UNIQUE bsn column: a
# superuser's custom-format dump restores into a new database with the very
# same BSNs; there the table still masks for a clerk and its unique index
# still refuses duplicates.  A clerk's own dump holds only masked values and
# cannot be restored.
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# databases and roles.  Exits non-zero when a check fails.
set -uo pipefail

SRC=bsn_dump_src
DST=bsn_dump_dst
DST2=bsn_dump_dst2
CLERK=dr_clerk
TMP=$(mktemp -d /tmp/bsn_dump_restore.XXXXXX)
. "$(dirname "$0")/lib/checks.sh"

cleanup() {
    for db in $SRC $DST $DST2; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    done
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $CLERK" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
cleanup
mkdir -p "$TMP"

q() { # db sql...: one value, as the superuser
    local db=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "SET search_path = public, privacy" "${@/#/-c}"
}
qc() { # db sql: one value, as the clerk
    psql -X -q -At -v ON_ERROR_STOP=1 -U "$CLERK" -d "$1" -c "$2"
}

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE $CLERK LOGIN" -c "CREATE DATABASE $SRC" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" >/dev/null <<SQL || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE TABLE people (id int PRIMARY KEY, name text, bsn privacy.bsn UNIQUE);
INSERT INTO people VALUES (1, 'Anna', '111222333'), (2, 'Bram', '1234.56.782'), (3, 'Cor', '010000008'),
                          (4, 'Dirk', NULL), (5, 'Eva', '999996708');
INSERT INTO people SELECT 5 + row_number() OVER (ORDER BY v), 'p' || v, v::bigint::privacy.bsn
  FROM generate_series(200000000, 200005000) AS v WHERE privacy.bsn_is_valid(v::text);
CREATE TABLE payslips (id int, bsn privacy.bsn REFERENCES people (bsn), amount numeric);
INSERT INTO payslips VALUES (1, '111222333', 100), (2, '123456782', 200);
GRANT SELECT, INSERT ON people, payslips TO $CLERK;
SQL

ALL="SELECT count(*) || ':' || string_agg(id || '=' || coalesce(bsn::text, '-'), ',' ORDER BY id) FROM people"
src_rows=$(q "$SRC" "$ALL")
case "$src_rows" in
    *"1=111222333,2=123456782,3=010000008,4=-,5=999996708,"*) ok 0 "the source table holds the full BSNs" ;;
    *) ok 1 "the source table holds the full BSNs (got ${src_rows:0:120})" ;;
esac

pg_dump -Fc -d "$SRC" -f "$TMP/src.dump"
ok $? "pg_dump -Fc as a superuser"
psql -X -q -d postgres -c "CREATE DATABASE $DST" || exit 1
pg_restore --exit-on-error -d "$DST" "$TMP/src.dump"
ok $? "pg_restore into a new database"

dst_rows=$(q "$DST" "$ALL")
[ -n "$dst_rows" ] && [ "$src_rows" = "$dst_rows" ]
ok $? "the restored BSNs are identical ($(echo "$dst_rows" | cut -d: -f1) rows)"
src_sum=$(q "$SRC" "SELECT md5(string_agg(bsn::text, ',' ORDER BY bsn)) FROM people")
dst_sum=$(q "$DST" "SELECT md5(string_agg(bsn::text, ',' ORDER BY bsn)) FROM people")
[ -n "$src_sum" ] && [ "$src_sum" = "$dst_sum" ]
ok $? "the restored BSNs sort the same way"
dst_fk=$(q "$DST" "SELECT string_agg(s.id || '=' || p.name, ',' ORDER BY s.id) FROM payslips s JOIN people p ON p.bsn = s.bsn")
[ "$dst_fk" = "1=Anna,2=Bram" ]
ok $? "the restored payslips join their people by bsn (got $dst_fk)"

# the restored table still masks for the clerk
seen=$(qc "$DST" "SELECT string_agg(coalesce(bsn::text, '-'), ',' ORDER BY id) FROM people WHERE id <= 5")
[ "$seen" = "******333,******782,******008,-,******708" ]
ok $? "the clerk sees the restored BSNs masked (got $seen)"
full=$(qc "$DST" "SELECT count(*) FROM people WHERE bsn::text ~ '^[0-9]{9}\$' OR to_json(bsn)::text ~ '[0-9]{9}'")
[ "$full" = "0" ]
ok $? "no restored BSN shows its nine digits to the clerk (got $full)"
err=$(psql -X -q -U "$CLERK" -d "$DST" -c "SET search_path = public, privacy" \
      -c "SELECT id FROM people WHERE bsn = '111222333'" 2>&1)
echo "$err" | grep -q 'permission denied to compare values of type bsn'
ok $? "the clerk may not search the restored table by bsn"

# the restored unique index still works
idx=$(q "$DST" "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE i.indrelid = 'people'::regclass AND i.indisunique AND i.indisvalid
                   AND c.relname = 'people_bsn_key'")
[ "$idx" = "1" ]
ok $? "the unique index on bsn is restored and valid"
err=$(psql -X -q -d "$DST" -c "INSERT INTO people VALUES (1000, 'Dup', '1112.22.333')" 2>&1)
echo "$err" | grep -q 'duplicate key value violates unique constraint "people_bsn_key"'
ok $? "a superuser's duplicate bsn violates the restored unique index"
err=$(psql -X -q -U "$CLERK" -d "$DST" -c "INSERT INTO people VALUES (1001, 'Dup', '123456782')" 2>&1)
echo "$err" | grep -q 'duplicate key value violates unique constraint "people_bsn_key"' &&
    echo "$err" | grep -q 'Key (bsn)=(\*\*\*\*\*\*782) already exists' &&
    ! echo "$err" | grep -q '123456782'
ok $? "the clerk's duplicate is refused too, naming the key masked"
psql -X -q -U "$CLERK" -d "$DST" -c "INSERT INTO people VALUES (1002, 'New', '100000009')"
ok $? "the clerk may insert a new bsn into the restored table"
psql -X -q -d "$DST" -c "SET search_path = public, privacy" -c "SET enable_seqscan = off" \
    -c "EXPLAIN (COSTS OFF) SELECT id FROM people WHERE bsn = '111222333'" | grep -q 'people_bsn_key'
ok $? "a superuser's search on the restored table uses the unique index"

# a clerk's dump holds only masked values and cannot be restored
pg_dump -U "$CLERK" -d "$DST" -a -t people -f "$TMP/clerk.sql" 2>"$TMP/clerk.err"
ok $? "the clerk may dump the table's data"
! grep -qE '111222333|123456782|010000008|999996708' "$TMP/clerk.sql" && grep -q '\*\*\*\*\*\*333' "$TMP/clerk.sql"
ok $? "the clerk's dump holds only masked BSNs"
psql -X -q -d postgres -c "CREATE DATABASE $DST2" || exit 1
pg_restore --exit-on-error -s -d "$DST2" "$TMP/src.dump"
ok $? "the schema restores into a third database"
err=$(psql -X -q -v ON_ERROR_STOP=1 -d "$DST2" -f "$TMP/clerk.sql" 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$err" | grep -q 'invalid input syntax for type bsn'
ok $? "restoring the clerk's dump fails with invalid input syntax for type bsn"
n=$(q "$DST2" "SELECT count(*) FROM people")
[ "$n" = "0" ]
ok $? "and leaves the table empty (got $n rows)"

echo "1..$checks"
checks_done
