#!/usr/bin/env bash
# The audit entries for BSN changes, once committed: a payroll officer's
# UPDATE of a bsn column appends one 'bsn.update' entry per statement and
# table, with the columns and the row count and never a value, recorded for
# the login and acting roles; a rolled-back change and a clerk's refused
# change append nothing; the chain still verifies.  (Inside a pgTAP
# transaction only the pending count can be seen; this needs real commits.)
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# database and roles.  Exits non-zero when a check fails.
set -uo pipefail

DB=bsn_audit_update
CLERK=au_clerk
PAYROLL=au_payroll
. "$(dirname "$0")/lib/checks.sh"

cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $CLERK, $PAYROLL" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $CLERK LOGIN" \
    -c "CREATE ROLE $PAYROLL LOGIN IN ROLE privacy_bsn" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE TABLE people (id int PRIMARY KEY, name text, bsn privacy.bsn, partner_bsn privacy.bsn);
INSERT INTO people VALUES (1, 'Anna', '111222333', NULL), (2, 'Bram', '123456782', NULL), (3, 'Cor', NULL, NULL);
GRANT SELECT, UPDATE ON people TO $CLERK, $PAYROLL;
SQL

q() { psql -X -q -At -d "$DB" -c "$1"; }
entries() { q "SELECT count(*) FROM privacy.audit_log WHERE action = 'bsn.update'"; }

n0=$(entries)
[ "$n0" = "0" ]
ok $? "no bsn.update entry at the start (got $n0)"

psql -X -q -v ON_ERROR_STOP=1 -U "$PAYROLL" -d "$DB" \
    -c "UPDATE people SET bsn = NULL WHERE id IN (1, 2)" >/dev/null
ok $? "payroll clears two BSNs in one statement"
n1=$(entries)
[ "$n1" = "1" ]
ok $? "one committed statement makes one bsn.update entry (got $n1)"
last=$(q "SELECT object || '|' || (details = '{\"columns\": [\"bsn\"], \"rows\": 2}'::jsonb) || '|' || login_role || '|' || acting_role
            FROM privacy.audit_log WHERE action = 'bsn.update' ORDER BY seq DESC LIMIT 1")
[ "$last" = "public.people|true|$PAYROLL|$PAYROLL" ]
ok $? "the entry names the table, the column, the row count and the roles (got $last)"

psql -X -q -v ON_ERROR_STOP=1 -U "$PAYROLL" -d "$DB" \
    -c "SET privacy.actor = 'hr-app:jdevries'" \
    -c "UPDATE people SET bsn = '111222333', partner_bsn = '123456782' WHERE id = 1" >/dev/null
ok $? "payroll sets two bsn columns of one row"
last=$(q "SELECT (details->'columns' @> '[\"bsn\", \"partner_bsn\"]') || '|' || (details->>'rows') || '|' || coalesce(actor, '-')
            FROM privacy.audit_log WHERE action = 'bsn.update' ORDER BY seq DESC LIMIT 1")
[ "$last" = "true|1|hr-app:jdevries" ]
ok $? "the entry lists both columns, one row and the application actor (got $last)"

psql -X -q -v ON_ERROR_STOP=1 -U "$PAYROLL" -d "$DB" \
    -c "BEGIN" -c "UPDATE people SET bsn = '100000009' WHERE id = 3" -c "ROLLBACK" >/dev/null
n2=$(entries)
[ "$n2" = "2" ]
ok $? "a rolled-back change appends nothing (got $n2 entries)"

psql -X -q -U "$CLERK" -d "$DB" -c "UPDATE people SET bsn = '100000009' WHERE id = 3" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "the clerk's change of a bsn is refused"
psql -X -q -v ON_ERROR_STOP=1 -U "$CLERK" -d "$DB" -c "UPDATE people SET name = 'Cor B.' WHERE id = 3" >/dev/null
ok $? "the clerk's change of another column is allowed"
n3=$(entries)
[ "$n3" = "2" ]
ok $? "neither appends a bsn.update entry (got $n3 entries)"

digits=$(q "SELECT count(*) FROM privacy.audit_log WHERE coalesce(details::text, '') || coalesce(object, '') || coalesce(actor, '') ~ '[0-9]{8}'")
[ "$digits" = "0" ]
ok $? "no audit entry holds a run of eight or more digits (got $digits)"
valid=$(q "SELECT valid FROM privacy.audit_verify()")
[ "$valid" = "t" ]
ok $? "the audit chain verifies"
stored=$(q "SELECT string_agg(coalesce(bsn::text, '-') || '/' || coalesce(partner_bsn::text, '-'), ',' ORDER BY id) FROM people")
[ "$stored" = "111222333/123456782,-/-,-/-" ]
ok $? "the table holds exactly the committed changes (got $stored)"

echo "1..$checks"
checks_done
