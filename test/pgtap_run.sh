#!/usr/bin/env bash
# Runs the pgTAP files of test/pgtap with pg_prove on the server that PGHOST,
# PGPORT and PGUSER name (a superuser; pg_privacy preloaded), in a database
# of their own that is created first and dropped after a clean run.  Every
# file runs in one transaction and rolls it back, so the server keeps
# nothing of them.  Used by make test and make installcheck.
#
# test/pgtap_run.sh DB LOG
#   DB   the database to create (dropped first when it exists)
#   LOG  pg_prove's output
# PGTAP_VECTORS_REQUIRED=1 makes missing BSN test vectors (shared/data
# beside the repository) a failure; otherwise the file that reads them is
# left out with a note.
set -uo pipefail
cd "$(dirname "$0")/.."
DB=$1
LOG=$2
VECTORS=${BSN_VECTORS:-$(pwd)/../shared/data/bsn_vectors.tsv}

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null || exit 1
if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL'; then
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION pg_privacy CASCADE;
CREATE TABLE public.bsn_vectors (input text, expected text, source text);
SQL
    echo "not ok - pgtap and pg_privacy could not be installed in $DB" >"$LOG"
    exit 1
fi

files=$(ls test/pgtap/*.sql)
status=0
if [ -f "$VECTORS" ]; then
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
        -c "\\copy public.bsn_vectors FROM '$VECTORS' WITH (FORMAT text, HEADER true)" >/dev/null || status=1
elif [ "${PGTAP_VECTORS_REQUIRED:-0}" = 1 ]; then
    echo "not ok - the BSN test vectors are missing: $VECTORS (shared/data beside the repository)"
    status=1
else
    echo "# the BSN test vectors are missing ($VECTORS): test/pgtap/bsn_vectors.sql left out"
    files=$(echo "$files" | grep -v '/bsn_vectors\.sql$')
fi
# shellcheck disable=SC2086
pg_prove -v --ext .sql -d "$DB" $files >"$LOG" 2>&1 || status=1
[ "$status" -eq 0 ] && psql -X -q -d postgres -c "DROP DATABASE $DB" >/dev/null
exit "$status"
