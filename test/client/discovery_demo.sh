#!/usr/bin/env bash
# Discovery on the demo's notes: the scanner finds exactly the BSNs and IBANs
# the generator pasted into notes (each candidate's own, counted
# independently by joining the candidates), returns them masked to the
# privacy officer, and redact_table removes them all.
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# database and roles.  Exits non-zero when a check fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
. "$(dirname "$0")/lib/checks.sh"

DB=discovery_demo
OFFICER=dd_officer

cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $OFFICER" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $OFFICER IN ROLE privacy_officer" || exit 1
q -c "SET client_min_messages = warning; CREATE EXTENSION pg_privacy CASCADE" >/dev/null || exit 1
q -f demo/generate.sql >/dev/null || exit 1
q -c "SELECT agency.generate(2000)" >/dev/null || exit 1
q -c "GRANT USAGE ON SCHEMA agency TO $OFFICER; GRANT SELECT ON agency.notes TO $OFFICER" || exit 1

# counted independently: notes that hold their candidate's BSN or IBAN, in any written form
want_bsn=$(q -c "SELECT count(*) FROM agency.notes n JOIN agency.candidates c ON c.id = n.candidate_id
                  WHERE position(c.bsn::text IN regexp_replace(n.body, '([0-9])[. -]([0-9])', '\1\2', 'g')) > 0")
want_iban=$(q -c "SELECT count(*) FROM agency.notes n JOIN agency.candidates c ON c.id = n.candidate_id
                   WHERE position(c.iban IN replace(n.body, ' ', '')) > 0")
[ "$want_bsn" -gt 0 ] && [ "$want_iban" -gt 0 ]
ok $? "the generated notes hold pasted BSNs ($want_bsn) and IBANs ($want_iban)"

got_bsn=$(q -c "SELECT count(*) FROM privacy.scan_table('agency.notes') WHERE kind = 'bsn'")
got_iban=$(q -c "SELECT count(*) FROM privacy.scan_table('agency.notes') WHERE kind = 'iban'")
[ "$got_bsn" = "$want_bsn" ]
ok $? "the scanner finds every pasted BSN (found $got_bsn, expected $want_bsn)"
[ "$got_iban" = "$want_iban" ]
ok $? "the scanner finds every pasted IBAN (found $got_iban, expected $want_iban)"

full=$(q -c "SET ROLE $OFFICER" -c "SELECT count(*) FROM privacy.scan_table('agency.notes')
             WHERE match ~ '[0-9]{9}' OR (kind = 'bsn' AND match !~ '^[*. -]+[0-9]{3}$')")
[ "$full" = "0" ]
ok $? "the officer gets every match masked (unmasked: $full)"

redacted=$(q -c "SELECT privacy.redact_table('agency.notes', 'body')")
[ "$redacted" -ge "$want_bsn" ]
ok $? "redact_table changes the notes that held an identifier ($redacted rows)"
left=$(q -c "SELECT count(*) FROM privacy.scan_table('agency.notes')")
[ "$left" = "0" ]
ok $? "nothing is found after redaction"
leaked=$(q -c "SELECT count(*) FROM agency.notes n JOIN agency.candidates c ON c.id = n.candidate_id
                WHERE position(c.bsn::text IN regexp_replace(n.body, '([0-9])[. -]([0-9])', '\1\2', 'g')) > 0")
[ "$leaked" = "0" ]
ok $? "no note holds its candidate's BSN any more"

checks_done
