#!/usr/bin/env bash
# privacy.lint() on the demo's schema: runs the whole demo (make demo, with a
# small agency, on a cluster of its own), which registers the schema in full;
# then checks that lint finds nothing there, as the privacy admin and as the
# privacy officer, suppressed findings included, and that pg_privacy_lint
# exits 0; that the demo's new table was caught (PP002) and strict mode
# refused the next one; and plants findings on the demo schema one at a
# time (an unclassified phone column, a PUBLIC grant, a login superuser, a
# table without a retention rule, an unregistered table with a foreign key
# to the employees), each found with its code and object and gone once its
# fix, run as the admin (the superuser for the role), is applied.  Also a
# report view made by the superuser and a materialized view of candidates.
# Needs no server: the demo starts its own cluster, which is removed at the
# end.  Exits non-zero when a check fails.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. "$(dirname "$0")/lib/checks.sh"

DEMO_DIR=$(mktemp -d /tmp/pg_privacy_demo_lint.XXXXXX)
LOG=$DEMO_DIR.log
export PG_PRIVACY_DEMO_DIR=$DEMO_DIR
cleanup() {
    bash demo/run.sh stop >/dev/null 2>&1
    rm -rf "$DEMO_DIR" "$LOG"
}
trap cleanup EXIT

DEMO_BUILD=0 DEMO_SCALE=${DEMO_SCALE:-600} bash demo/run.sh >"$LOG" 2>&1
rc=$?
[ "$rc" -eq 0 ]
ok $? "the demo runs to the end (exit status $rc)"
[ "$rc" -eq 0 ] || { tail -n 40 "$LOG"; checks_done; }

export PGHOST=$DEMO_DIR PGPORT=54330 PGDATABASE=agency PGUSER=postgres
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# findings ROLE: code and object of each finding lint gives ROLE, "lint
# failed" when it cannot run
findings() {
    q -U "$1" -c "SELECT string_agg(code || ' ' || object, '; ' ORDER BY code, object)
                    FROM privacy.lint(include_suppressed => true)" 2>&1 || echo "lint failed"
}

got=$(findings dba_piet)
[ -z "$got" ]
ok $? "the fully registered demo schema: no finding for the admin, suppressed ones included (got: $got)"
got=$(findings fg_officer)
[ -z "$got" ]
ok $? "and none for the privacy officer (got: $got)"
[ "$(q -U dba_piet -c "SELECT count(*) FROM privacy.lint_suppression")" = 0 ]
ok $? "no finding was suppressed to get there"
out=$(PGUSER=dba_piet /usr/lib/postgresql/15/bin/pg_privacy_lint agency)
rc=$?
[ "$rc" -eq 0 ] && grep -q '^0 findings, 0 errors$' <<<"$out"
ok $? "pg_privacy_lint on the demo: 0 findings, exit status 0 (got $rc: $out)"

grep -q 'PP002 | error    | agency.candidate_references' "$LOG"
ok $? "the demo's new table of references was caught as PP002 before it was registered"
grep -q 'PP017 | warning  | agency.client_contacts' "$LOG"
ok $? "and the unregistered contact persons of client companies as PP017"
[ "$(q -c "SELECT to_regclass('agency.candidate_skills') IS NULL")" = t ] &&
    grep -q 'ERROR:  table "agency.candidate_skills" holds personal data and is not registered' "$LOG"
ok $? "with strict mode on, the demo's unregistered table was refused and does not exist"
[ "$(q -c "SHOW privacy.strict")" = on ]
ok $? "strict mode stays on for the agency database"

# plant SQL CODE OBJECT WHAT [FIXER [LEFT]]: plant a finding as the
# superuser, check that lint finds it and nothing else, run its fix as
# FIXER (dba_piet), check that only LEFT (nothing) is left
plant() {
    local sql=$1 code=$2 object=$3 what=$4 fixer=${5:-dba_piet} left=${6:-} fix
    q -c "SET privacy.strict = off" -c "$sql" >/dev/null
    got=$(findings dba_piet)
    [ "$got" = "$code $object" ]
    ok $? "$what: $code on $object and nothing else (got: $got)"
    fix=$(q -U dba_piet -c "SELECT fix FROM privacy.lint() WHERE code = '$code' AND object = '$object'")
    q -U "$fixer" -c "$fix" >/dev/null
    got=$(findings dba_piet)
    [ "$got" = "$left" ]
    ok $? "$what: its fix ($fix) removes it (left: ${got:-nothing})"
}

plant "CREATE VIEW public.branch_report AS SELECT c.branch_id, c.last_name, c.phone FROM agency.candidates c;
       GRANT SELECT ON public.branch_report TO clerk_utrecht" \
    PP015 public.branch_report "a report view created by a migration run as the superuser" postgres
got=$(q -U clerk_utrecht -c "SELECT count(DISTINCT branch_id) FROM public.branch_report")
[ "$got" = 1 ]
ok $? "with the fix, the Utrecht clerk sees only its own branch through the view (branches: $got)"
plant "CREATE MATERIALIZED VIEW public.candidate_cache AS SELECT id, iban FROM agency.candidates" \
    PP016 public.candidate_cache "a materialized view of the candidates" postgres
plant "ALTER TABLE agency.employees ADD COLUMN home_phone text" \
    PP004 agency.employees.home_phone "a phone column added to a registered table"
plant "GRANT SELECT ON agency.notes TO PUBLIC" \
    PP014 agency.notes "a PUBLIC grant on a registered table" postgres
plant "CREATE ROLE demo_lint_root LOGIN SUPERUSER" \
    PP013 demo_lint_root "a login superuser" postgres
q -c "DROP ROLE demo_lint_root" >/dev/null
plant "CREATE TABLE agency.contracts (id int PRIMARY KEY, employee_id bigint NOT NULL REFERENCES agency.employees, signed_on date);
       GRANT SELECT ON agency.contracts TO dba_piet" \
    PP002 agency.contracts "a table of a new release with a foreign key to the employees" \
    dba_piet "PP006 agency.contracts; PP007 agency.contracts"
got=$(q -c "SELECT scope_through FROM privacy.registry WHERE tbl = 'agency.contracts'::regclass")
[ "$got" = agency.employees ]
ok $? "the fix registered it scoped through the employees (got: $got)"
# the fix of PP006 is a template (the document type and the start are the
# admin's choice); the one of PP007 names the first purpose
fix=$(q -U dba_piet -c "SELECT fix FROM privacy.lint() WHERE code = 'PP006'")
grep -qF "SELECT privacy.create_retention_rule('contracts', 'agency.contracts', '<document type>', start_expr => '<column>');" <<<"$fix"
ok $? "PP006 proposes a retention rule named after the table (got: $fix)"
q -U dba_piet -c "SELECT privacy.create_retention_rule('contracts', 'agency.contracts', 'personnel_file', start_expr => 'signed_on')" \
    -c "$(q -U dba_piet -c "SELECT fix FROM privacy.lint() WHERE code = 'PP007'")" >/dev/null
got=$(findings dba_piet)
[ -z "$got" ]
ok $? "with a retention rule and the proposed purpose, nothing is left (left: ${got:-nothing})"

checks_done
