#!/usr/bin/env bash
# The purge scheduled with pg_cron, run once for real: in the database named
# by cron.database_name (postgres), a login role in the privacy admin role
# schedules privacy.schedule_purge('* * * * *', 'test_purge_job') over a
# small registered table with 5 expired and 3 live rows.  Checks that the
# job is in cron.job as that role with the purge command; that pg_cron runs
# it within 130 seconds and records it as succeeded, run as that role; that
# the expired rows are gone and the live ones kept; that privacy.purge_log
# has a 'done' run by that role with 5 deletions and the audit trail its
# 'retention.purge' entry (acting and logged in as that role), besides the
# entries of the scheduling and unscheduling; that privacy.unschedule_purge
# removes the job from cron.job (and a second call finds none).  And the
# refusals: scheduling as a NOLOGIN admin role (42501), under a job name
# that exists (42710), and in a database without pg_cron (42704, naming
# that database and cron.database_name); none of them adds a job.
# Needs PGHOST/PGPORT/PGUSER (a superuser) and a server with pg_cron in
# shared_preload_libraries, cron.database_name=postgres and cron.host set to
# the socket directory.  Leaves the postgres database as it found it: drops
# the job, its run details, the table, the rule and document type, the
# extensions, schemas and roles it created, and its database, also when a
# check fails (only the entries of the audit trail stay when pg_privacy was
# already installed there: it is append-only).  Exits non-zero when a check
# fails.
set -uo pipefail

DB=postgres
NOCRON=retention_cron_nocron
JOB=test_purge_job
ADMIN=rc_admin
NOLOGIN=rc_nologin_admin
. "$(dirname "$0")/lib/checks.sh"

q() { # sql [db]: the result as unaligned text, as the superuser
    psql -X -q -At -v ON_ERROR_STOP=1 -d "${2:-$DB}" -c "$1"
}
qa() { # sql [db]: the result as unaligned text, as the admin login role
    psql -X -q -At -v ON_ERROR_STOP=1 -U "$ADMIN" -d "${2:-$DB}" -c "$1"
}
qe() { # user sql [db]: the output with the SQLSTATE of an error, as user
    psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -U "$1" -d "${3:-$DB}" -c "$2" 2>&1
}
has_ext() { # name: whether the extension is installed in the postgres database
    [ "$(q "SELECT count(*) FROM pg_extension WHERE extname = '$1'" 2>/dev/null)" = 1 ]
}

created_exts=""    # extensions this script installed in postgres, in order
created_roles=""   # roles that came with them
created_schemas="" # schemas that came with them and stay after DROP EXTENSION

cleanup() {
    # the job first, so that pg_cron starts no run while the rest goes
    if has_ext pg_cron; then
        q "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE 'test\_purge\_%'" >/dev/null 2>&1
        q "DELETE FROM cron.job_run_details WHERE username IN ('$ADMIN', '$NOLOGIN')" >/dev/null 2>&1
    fi
    q "DROP SCHEMA IF EXISTS rc_purge CASCADE" >/dev/null 2>&1
    if has_ext pg_privacy; then
        q "DELETE FROM privacy.retention_rule WHERE name = 'rc_notes'" >/dev/null 2>&1
        q "SELECT privacy.drop_document_type(name) FROM privacy.document_type WHERE name = 'rc_note'" >/dev/null 2>&1
        q "DELETE FROM privacy.purge_log WHERE run_by = '$ADMIN'" >/dev/null 2>&1
    fi
    q "DROP DATABASE IF EXISTS $NOCRON" >/dev/null 2>&1
    local e r
    for e in $(echo "$created_exts" | tr ' ' '\n' | tac); do
        q "DROP EXTENSION IF EXISTS $e" >/dev/null 2>&1
    done
    for e in $created_schemas; do
        q "DROP SCHEMA IF EXISTS $e" >/dev/null 2>&1
    done
    q "DROP ROLE IF EXISTS $ADMIN" >/dev/null 2>&1
    q "DROP ROLE IF EXISTS $NOLOGIN" >/dev/null 2>&1
    for r in $created_roles; do
        q "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup

exts_before=" $(q "SELECT string_agg(extname, ' ') FROM pg_extension") " || exit 1
roles_before=" $(q "SELECT string_agg(rolname, ' ') FROM pg_roles WHERE rolname LIKE 'privacy\_%'") "
schemas_before=" $(q "SELECT string_agg(nspname, ' ') FROM pg_namespace") "

psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || exit 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS pg_privacy CASCADE;
SQL
for e in $(q "SELECT extname FROM pg_extension ORDER BY oid"); do
    case "$exts_before" in *" $e "*) ;; *) created_exts="$created_exts $e" ;; esac
done
for r in $(q "SELECT rolname FROM pg_roles WHERE rolname LIKE 'privacy\_%'"); do
    case "$roles_before" in *" $r "*) ;; *) created_roles="$created_roles $r" ;; esac
done
for n in privacy cron; do
    case "$schemas_before" in *" $n "*) ;; *) created_schemas="$created_schemas $n" ;; esac
done

psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || exit 1
SET client_min_messages = warning;
CREATE ROLE $ADMIN LOGIN IN ROLE privacy_admin;
CREATE ROLE $NOLOGIN NOLOGIN IN ROLE privacy_admin;
CREATE SCHEMA rc_purge;
CREATE TABLE rc_purge.notes (id int PRIMARY KEY, created date NOT NULL, note text NOT NULL);
INSERT INTO rc_purge.notes
SELECT g, current_date - CASE WHEN g <= 5 THEN 100 ELSE 3 END, 'note ' || g FROM generate_series(1, 8) g;
SELECT privacy.register_subject_type('rc_note', 'rc_purge.notes', 'id');
SELECT privacy.register_table('rc_purge.notes', 'rc_note');
SELECT privacy.define_document_type('rc_note', '30 days', 'the day the note was written');
SELECT privacy.create_retention_rule('rc_notes', 'rc_purge.notes', 'rc_note', 'created');
SQL

[ "$(qa "SELECT rows_total || '/' || rows_expired FROM privacy.retention_status('rc_notes')")" = "8/5" ]
ok $? "the rule covers 8 rows, 5 of them expired"

# scheduling as the admin login role
job=$(qa "SELECT privacy.schedule_purge('* * * * *', '$JOB')")
[[ "$job" =~ ^[0-9]+$ ]]
ok $? "privacy.schedule_purge returns the job id ($job)"
job=${job:-0}
[[ "$job" =~ ^[0-9]+$ ]] || job=0
[ "$(q "SELECT username || '|' || database || '|' || schedule || '|' || active FROM cron.job
         WHERE jobid = $job AND jobname = '$JOB'
           AND command LIKE 'CALL privacy.purge(batch_rows => 200000, max_runtime => %'")" = "$ADMIN|$DB|* * * * *|true" ]
ok $? "cron.job holds the job: run as $ADMIN in $DB every minute, calling privacy.purge"
[ "$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'retention.schedule' AND object = '$JOB'
           AND acting_role = '$ADMIN' AND details ->> 'job' = '$job' AND details ->> 'role' = '$ADMIN'")" = 1 ]
ok $? "the scheduling is audited, with the job and the role"

out=$(qe "$ADMIN" "SELECT privacy.schedule_purge('0 3 * * *', '$JOB')")
echo "$out" | grep -q "42710" && echo "$out" | grep -q "a pg_cron job named \"$JOB\" already exists"
ok $? "a second job under the same name is refused (42710)"
[ "$(q "SELECT count(*) FROM cron.job WHERE jobname = '$JOB'")" = 1 ]
ok $? "there is still one job of that name"

# pg_cron runs it on the next minute
status=""
deadline=$((SECONDS + 130))
while [ $SECONDS -lt $deadline ]; do
    status=$(q "SELECT status FROM cron.job_run_details WHERE jobid = $job AND status IN ('succeeded', 'failed')
                ORDER BY runid LIMIT 1")
    [ -n "$status" ] && break
    sleep 2
done
[ "$status" = succeeded ]
ok $? "pg_cron ran the job and it succeeded (${status:-no finished run within 130 s})"
[ "$status" = failed ] && q "SELECT return_message FROM cron.job_run_details WHERE jobid = $job ORDER BY runid LIMIT 1"
[ "$(q "SELECT username || '|' || database FROM cron.job_run_details WHERE jobid = $job ORDER BY runid LIMIT 1")" \
    = "$ADMIN|$DB" ]
ok $? "the run connected as $ADMIN to $DB"

[ "$(q "SELECT count(*) FILTER (WHERE created < current_date - 30) || '/' || count(*) FROM rc_purge.notes")" = "0/3" ]
ok $? "the expired rows are gone and the 3 live rows are kept"
run=$(q "SELECT run_id FROM privacy.purge_log WHERE run_by = '$ADMIN' AND rule = 'rc_notes' ORDER BY run_id LIMIT 1")
[ "$(q "SELECT status || '|' || deleted || '|' || tbl || '|' || (finished_at IS NOT NULL)
          FROM privacy.purge_log WHERE run_id = ${run:-0} AND rule = 'rc_notes'")" = "done|5|rc_purge.notes|true" ]
ok $? "privacy.purge_log has a finished run by $ADMIN: done, 5 deleted"
[ "$(q "SELECT coalesce(sum(deleted), 0) FROM privacy.purge_log WHERE run_by = '$ADMIN'")" = 5 ]
ok $? "the runs of the job deleted 5 rows in all"
[ "$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'retention.purge' AND details ->> 'run' = '${run:-0}'
           AND details ->> 'rule' = 'rc_notes' AND details ->> 'status' = 'done' AND details ->> 'deleted' = '5'
           AND object = 'rc_purge.notes' AND acting_role = '$ADMIN' AND login_role = '$ADMIN'")" = 1 ]
ok $? "the audit trail has the run's retention.purge entry, by $ADMIN, with its counts"

# unscheduling
qa "SELECT privacy.unschedule_purge('$JOB')" >/dev/null
ok $? "privacy.unschedule_purge('$JOB') as $ADMIN"
[ "$(q "SELECT count(*) FROM cron.job WHERE jobname = '$JOB' OR jobid = $job")" = 0 ]
ok $? "cron.job no longer has the job"
[ "$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'retention.unschedule' AND object = '$JOB'
           AND acting_role = '$ADMIN' AND details ->> 'job' = '$job'")" = 1 ]
ok $? "the unscheduling is audited"
out=$(qe "$ADMIN" "SELECT privacy.unschedule_purge('$JOB')")
echo "$out" | grep -q "42704" && echo "$out" | grep -q "no scheduled purge named \"$JOB\""
ok $? "unscheduling it again finds no job (42704)"

# refusals
out=$(qe "$PGUSER" "SET ROLE $NOLOGIN; SELECT privacy.schedule_purge('* * * * *', 'test_purge_nologin')")
echo "$out" | grep -q "42501" && echo "$out" | grep -q "role \"$NOLOGIN\" cannot log in"
ok $? "a NOLOGIN admin role may not schedule the purge (42501)"
[ "$(q "SELECT count(*) FROM cron.job WHERE jobname = 'test_purge_nologin' OR username = '$NOLOGIN'")" = 0 ]
ok $? "no job was added for the NOLOGIN role"

psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE DATABASE $NOCRON" >/dev/null &&
    psql -X -q -v ON_ERROR_STOP=1 -d "$NOCRON" -c "SET client_min_messages = warning" \
        -c "CREATE EXTENSION pg_privacy CASCADE" >/dev/null
ok $? "a database without pg_cron, with pg_privacy"
out=$(qe "$ADMIN" "SELECT privacy.schedule_purge('* * * * *', 'test_purge_nocron')" "$NOCRON")
echo "$out" | grep -q "42704" && echo "$out" | grep -q "pg_cron is not installed in database \"$NOCRON\"" &&
    echo "$out" | grep -q "cron.database_name ($DB)"
ok $? "scheduling there is refused, naming the database and cron.database_name (42704)"
[ "$(q "SELECT count(*) FROM cron.job WHERE jobname = 'test_purge_nocron' OR database = '$NOCRON'")" = 0 ]
ok $? "no job was added for that database"

echo "1..$checks"
checks_done
