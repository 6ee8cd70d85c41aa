#!/usr/bin/env bash
# pg_privacy_lint, the command for migration pipelines, as installed in
# PostgreSQL's bin directory: it connects with the libpq variables, prints
# each finding with its fix, prints JSON with --json, exits 1 on an error
# finding, 0 once the error is suppressed, and 2 when it cannot run (an
# unknown option, a role that may not lint, no such database).
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# database and roles.  Exits non-zero when a check fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
. "$(dirname "$0")/lib/checks.sh"

DB=lint_cli
LINT=$(pg_config --bindir 2>/dev/null)/pg_privacy_lint
[ -x "$LINT" ] || LINT=/usr/lib/postgresql/15/bin/pg_privacy_lint

cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS lc_admin" -c "DROP ROLE IF EXISTS lc_clerk" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" \
    -c "CREATE ROLE lc_admin LOGIN IN ROLE privacy_admin" -c "CREATE ROLE lc_clerk LOGIN" || exit 1
q -c "SET client_min_messages = warning; CREATE EXTENSION pg_privacy CASCADE" >/dev/null || exit 1
q -c "CREATE TABLE public.people (id int PRIMARY KEY, bsn privacy.bsn)" || exit 1

[ -x "$LINT" ]
ok $? "pg_privacy_lint is installed ($LINT)"
out=$(PGUSER=lc_admin PGDATABASE=$DB "$LINT")
rc=$?
[ "$rc" -eq 1 ] && grep -q '^PP001 error   public.people: ' <<<"$out" && grep -q 'fix: SELECT privacy.register_table' <<<"$out"
ok $? "an unregistered BSN column: PP001 with its fix, exit status 1 (got $rc)"
json=$(PGUSER=lc_admin "$LINT" --json "$DB")
python3 -c 'import json, sys; f = json.load(sys.stdin); assert any(x["code"] == "PP001" and x["object"] == "public.people" for x in f)' <<<"$json"
ok $? "--json prints the findings as a JSON array"
q -c "SET ROLE lc_admin; SELECT privacy.suppress_finding('PP001', 'public.people', 'test numbers only')" >/dev/null
PGUSER=lc_admin "$LINT" "$DB" >/dev/null
rc=$?
[ "$rc" -eq 0 ]
ok $? "suppressed, the finding no longer fails the pipeline (exit status $rc)"
all=$(PGUSER=lc_admin "$LINT" --all "$DB")
grep -q 'suppressed: test numbers only' <<<"$all"
ok $? "--all shows the suppressed finding with its reason"
PGUSER=lc_clerk "$LINT" "$DB" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ]
ok $? "a role that may not lint: exit status 2 (got $rc)"
"$LINT" --bogus "$DB" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ]
ok $? "an unknown option: exit status 2 (got $rc)"
"$LINT" "${DB}_missing" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ]
ok $? "no such database: exit status 2 (got $rc)"
checks_done
