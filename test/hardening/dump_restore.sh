#!/usr/bin/env bash
# pg_dump / pg_restore of a demo-like database with every part of
# pg_privacy filled, into a new database of the same cluster and into a
# second cluster.
#
# The source (cluster A under /tmp/pg_privacy_hardening/dump_a, port 56010)
# is demo/generate.sql with agency.generate(DUMP_SCALE, 0.42, current_date)
# (DUMP_SCALE defaults to 2000), registered as demo/run.sh registers it, and
# filled further: scopes, column classes, an optional and a forbidden field,
# the retention preset with four rules, legal holds (one released), a purge
# run, purposes bound to tables, consent given and withdrawn, recipients
# with a sub-processor, disclosures, requests (one extended, an export and
# an erasure fulfilling theirs), an erasure that keeps and restricts rows, a
# restriction of a branch-12 candidate, rectifications by a clerk,
# notifications (one delivered), a redaction and entries of the application.
#
# It is dumped with pg_dump -Fc and restored with pg_restore into a new
# database of cluster A and into cluster B (/tmp/pg_privacy_hardening/dump_b,
# port 56011), whose roles come from pg_dumpall --roles-only of cluster A.
# Compared between the source and both targets, by queries: the rows of
# every table and view of schema privacy as text, in order (regclass and
# regrole columns show names), except privacy.mask_key, which is documented
# not to be dumped (the targets have a key of their own, checked as such);
# the values of the sequences of schema privacy; the policies, row-level
# security flags and triggers of the agency tables; the agency data itself.
# The audit trail of each target starts with the source's entries and
# seals, unchanged; the restore appends entries of its own DDL on
# registered tables (constraints, row-level security, policies), audited
# like any DDL.  In each target: privacy.audit_verify() holds and new
# entries continue the chain, new catalog rows take new ids, a clerk sees only branch 12, the
# IBAN stays masked and the health note hidden for the clerk, a BSN
# comparison is refused for the clerk (and allowed for payroll), the
# restricted candidate stays hidden from the clerk, the officer still sees
# it, and the DDL guard refuses the table owner turning off row-level
# security.
#
# Needs root (or the postgres OS user) and PostgreSQL 15 with the extension
# installed.  Prints TAP lines; exits non-zero when a check failed.
set -uo pipefail

cd "$(dirname "$0")/../.."
. tools/cluster.sh
. test/client/lib/checks.sh

DIR_A=/tmp/pg_privacy_hardening/dump_a
DIR_B=/tmp/pg_privacy_hardening/dump_b
PORT_A=56010
PORT_B=56011
PRELOAD='pg_privacy, pg_cron'
SCALE=${DUMP_SCALE:-2000}
SRC=agency
DST=agency_copy
WORK=/tmp/pg_privacy_hardening/dump_work

cleanup() {
    cluster_stop "$DIR_A"
    cluster_stop "$DIR_B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGUSER=postgres
# the three databases: "A agency", "A agency_copy", "B agency"
TARGETS=("$DIR_A $PORT_A $DST" "$DIR_B $PORT_B $SRC")
SOURCE="$DIR_A $PORT_A $SRC"

q() { # "dir port db" sql: the result as unaligned text, as the superuser
    local where=($1)
    psql -X -q -At -v ON_ERROR_STOP=1 -h "${where[0]}" -p "${where[1]}" -d "${where[2]}" -c "$2"
}
qr() { # "dir port db" role sql: as a login role, with privacy on the search path
    local where=($1)
    psql -X -q -At -v ON_ERROR_STOP=1 -h "${where[0]}" -p "${where[1]}" -d "${where[2]}" -U "$2" \
        -c "SET search_path = public, privacy" -c "$3"
}
name_of() { # "dir port db": a short name for messages
    local where=($1)
    if [ "${where[0]}" = "$DIR_A" ]; then echo "A/${where[2]}"; else echo "B/${where[2]}"; fi
}

T0=$(date +%s)
for d in "$DIR_A" "$DIR_B"; do
    cluster_stop "$d"
    rm -rf "$d"
done
rm -rf "$WORK"
mkdir -p "$WORK"
chmod 777 "$WORK"
cluster_create "$DIR_A" && cluster_start "$DIR_A" "$PORT_A" "$PRELOAD" || exit 1
cluster_create "$DIR_B" && cluster_start "$DIR_B" "$PORT_B" "$PRELOAD" || exit 1

# ---------------------------------------------------------------------------
# The source
# ---------------------------------------------------------------------------
psql -X -q -h "$DIR_A" -p "$PORT_A" -d postgres -c "CREATE DATABASE $SRC" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -h "$DIR_A" -p "$PORT_A" -d "$SRC" >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
SQL
psql -X -q -v ON_ERROR_STOP=1 -h "$DIR_A" -p "$PORT_A" -d "$SRC" -f demo/generate.sql >/dev/null || exit 1
psql -X -q -v ON_ERROR_STOP=1 -h "$DIR_A" -p "$PORT_A" -d "$SRC" \
    -c "SELECT agency.generate($SCALE, 0.42, current_date)" >/dev/null || exit 1

psql -X -q -v ON_ERROR_STOP=1 -h "$DIR_A" -p "$PORT_A" -d "$SRC" >"$WORK/fill.log" 2>&1 <<'SQL' || { cat "$WORK/fill.log"; exit 1; }
SET client_min_messages = warning;
CREATE ROLE dr_clerk LOGIN IN ROLE privacy_identifying, privacy_contact;   -- branch 12
CREATE ROLE dr_payroll LOGIN IN ROLE privacy_bsn, privacy_identifying, privacy_contact, privacy_financial;
CREATE ROLE dr_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE dr_admin LOGIN IN ROLE privacy_admin;
-- owns the candidates; in the BSN role, as the README asks of owners of
-- tables with an index on a bsn column (a restore builds it as the owner)
CREATE ROLE dr_owner LOGIN IN ROLE privacy_bsn;
GRANT USAGE ON SCHEMA agency TO dr_clerk, dr_payroll, dr_officer, dr_admin, dr_owner;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA agency TO dr_clerk, dr_payroll;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agency TO dr_clerk, dr_payroll;
GRANT SELECT ON ALL TABLES IN SCHEMA agency TO dr_officer;
GRANT SELECT ON agency.documents, agency.timesheets, agency.employees TO dr_admin;
ALTER TABLE agency.sick_leave ADD COLUMN health_note text, ADD COLUMN diagnosis text;
ALTER TABLE agency.photos ALTER COLUMN image DROP NOT NULL;
UPDATE agency.sick_leave SET health_note = 'Rugklachten, re-integratie via de bedrijfsarts' WHERE id % 3 = 0;

-- registry and scopes
SET ROLE dr_admin;
SELECT privacy.register_subject_type('candidate', 'agency.candidates', 'id', 'Kandidaten: people registered with the agency');
SELECT count(*) FROM (SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through)
                        FROM privacy.propose_registrations('candidate')) r;
SELECT privacy.grant_scope('dr_clerk', '12');
SELECT privacy.grant_scope('privacy_bsn', '*');
SELECT privacy.grant_scope('privacy_officer', '*');
-- column policies
SELECT privacy.classify_column('agency.sick_leave', 'health_note', 'special');
SELECT privacy.classify_column('agency.candidates', 'iban', 'financial');
SELECT privacy.classify_column('agency.notes', 'body', 'free_text');
SELECT privacy.forbid_field('agency.sick_leave', 'diagnosis', 'An employer may not record a diagnosis (AVG art. 9).');
SELECT privacy.set_optional_field('agency.photos', 'image', false);
SELECT privacy.clear_field('agency.photos', 'image');
SELECT privacy.redact_table('agency.notes', 'body');
-- retention
SELECT privacy.load_retention_preset('nl_staffing');
SELECT privacy.create_retention_rule('candidate_id_copies', 'agency.documents', 'candidate_id_copy',
    start_expr => 'created_at',
    condition => $$doc_type = 'id_copy' AND NOT EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('employee_id_copies', 'agency.documents', 'employee_id_copy',
    start_expr => $$(SELECT max(e.employment_end) FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$,
    condition => $$doc_type = 'id_copy' AND EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('payslips', 'agency.documents', 'payroll_record',
    start_expr => 'created_at', condition => $$doc_type = 'payslip'$$);
SELECT privacy.create_retention_rule('timesheets', 'agency.timesheets', 'working_time_record',
    start_expr => 'week_start');
-- purposes and recipients
SELECT privacy.define_purpose('placement', 'Placing temporary workers with client companies', 'contract');
SELECT privacy.define_purpose('payroll', 'Paying wages and wage tax', 'legal_obligation', 'Wet op de loonbelasting 1964');
SELECT privacy.define_purpose('talent_pool', 'Offering later vacancies', 'consent');
SELECT count(privacy.bind_purpose(t, 'placement'))
  FROM unnest('{agency.candidates, agency.placements, agency.documents, agency.notes}'::regclass[]) t;
SELECT privacy.bind_purpose('agency.timesheets', 'payroll'), privacy.bind_purpose('agency.documents', 'payroll');
SELECT privacy.define_recipient('belastingdienst', 'authority', 'NL', 'eu_eea', description => 'Tax office');
SELECT privacy.define_recipient('payroll_cloud', 'processor', 'IE', 'eu_eea', contact => 'dpo@payroll.example');
SELECT privacy.define_recipient('mail_relay', 'sub_processor', 'US', 'standard_contractual_clauses',
                                processor_of => 'payroll_cloud');
-- the processor's row changes after its sub-processor's: the dump holds
-- the referencing row first
SELECT privacy.define_recipient('payroll_cloud', 'processor', 'IE', 'eu_eea', contact => 'privacy@payroll.example');
RESET ROLE;
ALTER TABLE agency.candidates OWNER TO dr_owner;

-- the candidates the rights work on, all of branch 12
CREATE TEMP TABLE pick AS
SELECT (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12
           AND EXISTS (SELECT FROM agency.placements p WHERE p.candidate_id = c.id)
           AND EXISTS (SELECT FROM agency.documents d WHERE d.candidate_id = c.id AND d.doc_type = 'payslip'
                          AND d.created_at > now() - interval '3 years')
         ORDER BY c.id LIMIT 1) AS erased,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12 ORDER BY c.id LIMIT 1 OFFSET 3) AS restricted,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12 ORDER BY c.id LIMIT 1 OFFSET 4) AS exported,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 12 ORDER BY c.id LIMIT 1 OFFSET 5) AS held,
       (SELECT c.id FROM agency.candidates c WHERE c.branch_id = 1 ORDER BY c.id LIMIT 1) AS released;
GRANT SELECT ON pick TO PUBLIC;
SELECT * FROM pick \gset

SET ROLE dr_officer;
SELECT privacy.place_hold('candidate', :'held', 'Dispute at the kantonrechter');
SELECT privacy.release_hold(privacy.place_hold('candidate', :'released', 'Tax audit', current_date + 30));
SELECT privacy.record_consent('candidate', :'exported', 'talent_pool');
SELECT privacy.record_consent('candidate', :'restricted', 'talent_pool');
SELECT privacy.record_consent('candidate', :'restricted', 'talent_pool', false);
SELECT privacy.record_disclosure('belastingdienst', 'candidate', c::text, ARRAY['identifying', 'financial'])
  FROM unnest(ARRAY[:erased, :restricted, :exported]::bigint[]) c;
SELECT privacy.record_disclosure('payroll_cloud', 'candidate', :'erased', ARRAY['financial'], note => 'monthly run');
SELECT privacy.register_request('candidate', :'exported', 'access') AS access_request \gset
SELECT privacy.export_subject('candidate', :'exported', request_id => :access_request) IS NOT NULL;
SELECT privacy.register_request('candidate', :'erased', 'erasure') AS erasure_request \gset
SELECT privacy.erase_subject('candidate', :'erased', 'art. 17(1)(a): no longer needed', request_id => :erasure_request) -> 'restriction';
SELECT privacy.register_request('candidate', :'restricted', 'restriction') AS restriction_request \gset
SELECT privacy.restrict_subject('candidate', :'restricted', 'accuracy contested', request_id => :restriction_request);
SELECT privacy.register_request('candidate', :'held', 'rectification', current_date - 10, 'address changed') AS rect_request \gset
SELECT privacy.extend_request(:rect_request, 'Records in the archive');
SELECT privacy.register_request('candidate', :'held', 'objection');
SELECT privacy.mark_delivered(min(id)) FROM privacy.notification;
RESET ROLE;

-- a clerk corrects phone numbers: rectifications and notifications
SET ROLE dr_clerk;
UPDATE agency.candidates SET phone = '06-' || lpad(id::text, 8, '0')
 WHERE id IN (SELECT exported FROM pick UNION ALL SELECT held FROM pick);
RESET ROLE;

-- the purge, and what the application logs itself
SET ROLE dr_admin;
CALL privacy.purge();
SET privacy.actor = 'recruiter-17';
SELECT privacy.audit_append('candidate.view', 'agency.candidates', 'candidate', exported::text, '{"screen": "profile"}')
  FROM pick;
RESET privacy.actor;
RESET ROLE;
SQL
read -r ERASED RESTRICTED EXPORTED HELD <<<"$(q "$SOURCE" "
    SELECT (SELECT subject_key FROM privacy.request WHERE kind = 'erasure') || ' ' ||
           (SELECT subject_key FROM privacy.request WHERE kind = 'restriction') || ' ' ||
           (SELECT subject_key FROM privacy.request WHERE kind = 'access') || ' ' ||
           (SELECT subject_key FROM privacy.legal_hold WHERE released_at IS NULL)")"
echo "# source filled in $(( $(date +%s) - T0 )) s: scale $SCALE; erased $ERASED, restricted $RESTRICTED, exported $EXPORTED, held $HELD"

# every catalog is filled
empty=$(q "$SOURCE" "
    SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
     WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind = 'r'
       AND NOT (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass),
                                                     false, true, '')))[1]::text::int > 0")
[ -z "$empty" ]
ok $? "source: every table of schema privacy holds rows (empty: ${empty:-none})"
src_state=$(q "$SOURCE" "
    SELECT (SELECT count(*) FROM privacy.purge_log WHERE status = 'done') || '/' ||
           (SELECT count(*) FROM privacy.restriction WHERE lifted_at IS NULL) || '/' ||
           (SELECT count(*) FROM privacy.request WHERE status = 'fulfilled') || '/' ||
           (SELECT count(*) FROM privacy.legal_hold WHERE released_at IS NOT NULL) || '/' ||
           (SELECT count(*) FROM privacy.notification WHERE delivered_at IS NOT NULL) || '/' ||
           (SELECT count(*) FROM privacy.column_policy WHERE state <> 'on')")
echo "# purge rules done/restrictions/fulfilled requests/released holds/delivered/fields off or forbidden: $src_state"
[[ "$src_state" =~ ^4/2/3/1/1/2$ ]]
ok $? "source: a purge run, an erasure's restriction and a restriction, fulfilled requests, a released hold, a delivered notification, fields off and forbidden ($src_state)"

# ---------------------------------------------------------------------------
# What is compared
# ---------------------------------------------------------------------------
CATALOGS=$(q "$SOURCE" "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                         WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind IN ('r', 'v')
                           AND c.relname <> 'mask_key'")
SEQUENCES="SELECT string_agg(c.relname || '=' || (xpath('/row/v/text()', query_to_xml(
               format('SELECT last_value || '':'' || is_called AS v FROM %s', c.oid::regclass), false, true, '')))[1]::text,
               ', ' ORDER BY c.relname)
             FROM pg_class c WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind = 'S'
                               AND c.relname <> 'audit_seq'"
OBJECTS="SELECT string_agg(x, E'\n' ORDER BY x) FROM (
    SELECT 'class ' || c.relname || ' rls=' || c.relrowsecurity || ' forced=' || c.relforcerowsecurity
           || ' owner=' || c.relowner::regrole AS x
      FROM pg_class c WHERE c.relnamespace = 'agency'::regnamespace AND c.relkind = 'r'
    UNION ALL
    SELECT 'policy ' || p.polrelid::regclass || ' ' || p.polname || ' ' || p.polpermissive || ' ' || p.polcmd::text
           || ' ' || p.polroles::regrole[]::text || ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')
           || ' ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-')
      FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = 'agency'::regnamespace
    UNION ALL
    SELECT 'trigger ' || t.tgrelid::regclass || ' ' || t.tgname || ' ' || t.tgenabled::text || ' ' || pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace IN ('agency'::regnamespace, 'privacy'::regnamespace) AND NOT t.tgisinternal
    UNION ALL
    SELECT 'event trigger ' || evtname || ' ' || evtevent || ' ' || evtenabled::text || ' ' || evtfoid::regproc
      FROM pg_event_trigger) o"
DATA="SELECT string_agg(c.relname || '=' || (xpath('/row/v/text()', query_to_xml(
          format('SELECT count(*) || '':'' || md5(coalesce(string_agg(t::text, '','' ORDER BY t::text), '''')) AS v FROM %s t',
                 c.oid::regclass), false, true, '')))[1]::text, ', ' ORDER BY c.relname)
        FROM pg_class c WHERE c.relnamespace = 'agency'::regnamespace AND c.relkind = 'r'"

declare -A src_cat
for t in $CATALOGS; do
    src_cat[$t]=$(q "$SOURCE" "SELECT t::text FROM privacy.$t t ORDER BY 1")
done
src_seq=$(q "$SOURCE" "$SEQUENCES")
src_obj=$(q "$SOURCE" "$OBJECTS")
src_data=$(q "$SOURCE" "$DATA")
src_key=$(q "$SOURCE" "SELECT encode(key, 'hex') FROM privacy.mask_key")
echo "# $(echo "$CATALOGS" | wc -w) tables and views of schema privacy compared; sequences: $src_seq"

# ---------------------------------------------------------------------------
# Dump and restore
# ---------------------------------------------------------------------------
T0=$(date +%s)
pg_dump -Fc -h "$DIR_A" -p "$PORT_A" -d "$SRC" -f "$WORK/agency.dump"
ok $? "pg_dump -Fc of the source ($(du -k "$WORK/agency.dump" | cut -f1) kB)"

psql -X -q -h "$DIR_A" -p "$PORT_A" -d postgres -c "CREATE DATABASE $DST" || exit 1
pg_restore --exit-on-error -h "$DIR_A" -p "$PORT_A" -d "$DST" "$WORK/agency.dump" 2>"$WORK/restore_a.err"
ok $? "pg_restore into a new database of the same cluster"
[ -s "$WORK/restore_a.err" ] && head -n 20 "$WORK/restore_a.err" | sed 's/^/# /'

# the roles of cluster A, but postgres, which exists
pg_dumpall --roles-only --no-role-passwords -h "$DIR_A" -p "$PORT_A" | grep -v '^CREATE ROLE postgres;$' >"$WORK/roles.sql"
psql -X -q -v ON_ERROR_STOP=1 -h "$DIR_B" -p "$PORT_B" -d postgres -f "$WORK/roles.sql" >/dev/null
ok $? "the roles of cluster A are created in cluster B"
[ "$(q "$DIR_B $PORT_B postgres" "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
                                   WHERE r.rolname LIKE 'dr\_%'")" = "$(q "$DIR_A $PORT_A postgres" "
                                   SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
                                    WHERE r.rolname LIKE 'dr\_%'")" ]
ok $? "cluster B has the role memberships of cluster A"
psql -X -q -h "$DIR_B" -p "$PORT_B" -d postgres -c "CREATE DATABASE $SRC" || exit 1
pg_restore --exit-on-error -h "$DIR_B" -p "$PORT_B" -d "$SRC" "$WORK/agency.dump" 2>"$WORK/restore_b.err"
ok $? "pg_restore into cluster B"
[ -s "$WORK/restore_b.err" ] && head -n 20 "$WORK/restore_b.err" | sed 's/^/# /'
echo "# dumped and restored twice in $(( $(date +%s) - T0 )) s"

# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------
for target in "${TARGETS[@]}"; do
    tn=$(name_of "$target")
    tcats=$(q "$target" "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                          WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind IN ('r', 'v')
                            AND c.relname <> 'mask_key'")
    [ "$tcats" = "$CATALOGS" ]
    ok $? "$tn: the same tables and views in schema privacy"
    for t in $CATALOGS; do
        # the audit trail grows with the restore's own DDL: checked below
        case $t in audit_log|audit_seal) continue ;; esac
        dst=$(q "$target" "SELECT t::text FROM privacy.$t t ORDER BY 1" 2>&1)
        n=$(printf '%s' "${src_cat[$t]}" | grep -c '^')
        if [ "$dst" = "${src_cat[$t]}" ]; then
            ok 0 "$tn: privacy.$t holds the same $n rows"
        else
            ok 1 "$tn: privacy.$t holds the same $n rows"
            diff <(echo "${src_cat[$t]}") <(echo "$dst") | head -n 10 | cut -c1-300 | sed 's/^/#   /'
        fi
    done
    # the source's entries and seals, unchanged, and what the restore added
    for t in audit_log audit_seal; do
        key=$([ $t = audit_log ] && echo seq || echo seal_no)
        max=$(q "$SOURCE" "SELECT max($key) FROM privacy.$t")
        src=$(q "$SOURCE" "SELECT t::text FROM privacy.$t t WHERE $key <= $max ORDER BY $key")
        dst=$(q "$target" "SELECT t::text FROM privacy.$t t WHERE $key <= $max ORDER BY $key")
        [ -n "$src" ] && [ "$dst" = "$src" ]
        ok $? "$tn: the source's privacy.$t rows 1 .. $max are there unchanged"
    done
    # pg_restore recreates constraints, row-level security and policies on
    # registered tables: the DDL guard audits that DDL like any other
    added=$(q "$target" "SELECT count(*) FILTER (WHERE action <> 'ddl') || ' other, ' || count(*) || ' in all'
                          FROM privacy.audit_log WHERE seq > $(q "$SOURCE" "SELECT max(seq) FROM privacy.audit_log")")
    [[ "$added" == "0 other, "* ]]
    ok $? "$tn: the restore appended only entries of its own DDL ($added)"
    dst=$(q "$target" "$SEQUENCES")
    [ "$dst" = "$src_seq" ]
    ok $? "$tn: the sequences of schema privacy have the same values${dst:+ }$([ "$dst" = "$src_seq" ] || echo "(got $dst)")"
    dst=$(q "$target" "$OBJECTS")
    if [ "$dst" = "$src_obj" ]; then
        ok 0 "$tn: the same policies, row-level security flags, owners and triggers ($(echo "$dst" | wc -l) objects)"
    else
        ok 1 "$tn: the same policies, row-level security flags, owners and triggers"
        diff <(echo "$src_obj") <(echo "$dst") | head -n 10 | cut -c1-300 | sed 's/^/#   /'
    fi
    dst=$(q "$target" "$DATA")
    [ -n "$dst" ] && [ "$dst" = "$src_data" ]
    ok $? "$tn: the agency tables hold the same rows, BSNs included"
    key=$(q "$target" "SELECT count(*) || ':' || string_agg(encode(key, 'hex'), ',') FROM privacy.mask_key")
    [[ "$key" == 1:* ]] && [ "${key#1:}" != "$src_key" ] && [ ${#src_key} -ge 32 ]
    ok $? "$tn: privacy.mask_key holds a key of its own, as documented (not dumped)"
done

# ---------------------------------------------------------------------------
# The protections in the restored databases
# ---------------------------------------------------------------------------
for target in "$SOURCE" "${TARGETS[@]}"; do
    tn=$(name_of "$target")
    v=$(q "$target" "SELECT valid::text || ',' || entries || ',' || coalesce(reason, '-') FROM privacy.audit_verify()")
    [[ "$v" == true,* ]]
    ok $? "$tn: privacy.audit_verify() holds ($v)"
    entries=$(q "$target" "SELECT entries FROM privacy.audit_verify()")
    qr "$target" dr_officer "SELECT privacy.audit_append('dump.check', 'agency.candidates', NULL, NULL, NULL)" >/dev/null
    v=$(q "$target" "SELECT valid::text || ',' || entries FROM privacy.audit_verify()")
    [ "$v" = "true,$((entries + 1))" ]
    ok $? "$tn: a new entry continues the chain ($v)"
    maxreq=$(q "$SOURCE" "SELECT max(id) FROM privacy.request WHERE note IS DISTINCT FROM 'after the restore'")
    id=$(qr "$target" dr_officer "SELECT privacy.register_request('candidate', '$EXPORTED', 'objection', note => 'after the restore')" 2>&1)
    [[ "$id" =~ ^[0-9]+$ ]] && [ "$id" -gt "$maxreq" ]
    ok $? "$tn: a new request takes a new id ($id > $maxreq)"

    seen=$(qr "$target" dr_clerk "SELECT count(*) || ':' || string_agg(DISTINCT branch_id::text, ',') FROM agency.candidates")
    want=$(q "$target" "SELECT count(*) || ':12' FROM agency.candidates c WHERE c.branch_id = 12
                          AND c.id::text NOT IN (SELECT subject_key FROM privacy.restriction WHERE lifted_at IS NULL)")
    [ "$seen" = "$want" ]
    ok $? "$tn: the clerk sees only branch 12, without restricted candidates ($seen)"
    seen=$(qr "$target" dr_clerk "SELECT count(*) FILTER (WHERE iban ~ '^NL[0-9]{2}[A-Z]{4}[0-9]{10}\$') || ':' ||
                                         count(*) FILTER (WHERE iban LIKE '%*%') || ':' || count(*)
                                    FROM agency.candidates WHERE iban IS NOT NULL")
    [[ "$seen" =~ ^0:([0-9]+):([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" -gt 0 ]
    ok $? "$tn: the IBAN stays masked for the clerk (in full:masked:all = $seen)"
    seen=$(qr "$target" dr_payroll "SELECT count(*) FILTER (WHERE iban ~ '^NL[0-9]{2}[A-Z]{4}[0-9]{10}\$') > 0
                                      FROM agency.candidates")
    [ "$seen" = "t" ]
    ok $? "$tn: payroll sees IBANs in full"
    seen=$(qr "$target" dr_clerk "SELECT count(*) || ':' || count(health_note) FROM agency.sick_leave")
    [[ "$seen" =~ ^[1-9][0-9]*:0$ ]]
    ok $? "$tn: the health note stays hidden from the clerk (rows:notes = $seen)"
    err=$(qr "$target" dr_clerk "SELECT id FROM agency.candidates WHERE bsn = '111222333'" 2>&1)
    echo "$err" | grep -q 'permission denied to compare values of type bsn'
    ok $? "$tn: a BSN comparison is refused for the clerk"
    seen=$(qr "$target" dr_payroll "SELECT count(*) FROM agency.candidates WHERE bsn = bsn" 2>&1)
    [[ "$seen" =~ ^[1-9][0-9]*$ ]]
    ok $? "$tn: payroll may compare BSNs ($seen)"
    seen=$(qr "$target" dr_clerk "SELECT count(*) FROM agency.candidates WHERE id = $RESTRICTED")
    [ "$seen" = "0" ] && [ "$(q "$target" "SELECT count(*) FROM agency.candidates WHERE id = $RESTRICTED")" = 1 ]
    ok $? "$tn: the restricted candidate stays hidden from the clerk"
    seen=$(qr "$target" dr_clerk "SELECT count(*) FROM agency.placements WHERE candidate_id = $RESTRICTED")
    [ "$seen" = "0" ]
    ok $? "$tn: and so do the restricted candidate's placements"
    seen=$(qr "$target" dr_officer "SELECT count(*) FROM agency.candidates WHERE id = $RESTRICTED")
    [ "$seen" = "1" ]
    ok $? "$tn: the officer still sees the restricted candidate"
    err=$(psql -X -q -h "$(echo "$target" | cut -d' ' -f1)" -p "$(echo "$target" | cut -d' ' -f2)" \
               -d "$(echo "$target" | cut -d' ' -f3)" -U dr_owner \
               -c "ALTER TABLE agency.candidates DISABLE ROW LEVEL SECURITY" 2>&1)
    echo "$err" | grep -q 'permission denied to turn off row-level security on "candidates"'
    ok $? "$tn: the DDL guard refuses the owner turning off row-level security"
    [ "$(q "$target" "SELECT relrowsecurity FROM pg_class WHERE oid = 'agency.candidates'::regclass")" = "t" ]
    ok $? "$tn: row-level security is still on"
    err=$(qr "$target" dr_clerk "INSERT INTO agency.sick_leave (employee_id, start_date, diagnosis)
                                 SELECT employee_id, current_date, 'griep' FROM agency.sick_leave LIMIT 1" 2>&1)
    echo "$err" | grep -q 'column "diagnosis" of table "sick_leave" may not hold a value'
    ok $? "$tn: the forbidden field still refuses a value"
done

echo "1..$checks"
cleanup
[ "$failures" -eq 0 ] && rm -rf "$DIR_A" "$DIR_B" "$WORK"
checks_done
