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
. test/client/lib/protections.sh

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

psql -X -q -v ON_ERROR_STOP=1 -h "$DIR_A" -p "$PORT_A" -d "$SRC" -f test/client/lib/fill_catalogs.sql \
    -f test/client/lib/fill_support.sql -f test/client/lib/fill_breaches.sql >"$WORK/fill.log" 2>&1 || { cat "$WORK/fill.log"; exit 1; }
read -r ERASED RESTRICTED EXPORTED HELD <<<"$(q "$SOURCE" "
    SELECT (SELECT subject_key FROM privacy.request WHERE kind = 'erasure') || ' ' ||
           (SELECT subject_key FROM privacy.request WHERE kind = 'restriction') || ' ' ||
           (SELECT subject_key FROM privacy.request WHERE kind = 'access') || ' ' ||
           (SELECT subject_key FROM privacy.legal_hold WHERE released_at IS NULL)")"
echo "# source filled in $(( $(date +%s) - T0 )) s: scale $SCALE; erased $ERASED, restricted $RESTRICTED, exported $EXPORTED, held $HELD"

# every catalog is filled (strict_pending is empty outside a transaction under privacy.strict)
empty=$(q "$SOURCE" "
    SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
     WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind = 'r' AND c.relname <> 'strict_pending'
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
    check_protections "$target" "$(name_of "$target")" 'after the restore'
done

echo "1..$checks"
cleanup
[ "$failures" -eq 0 ] && rm -rf "$DIR_A" "$DIR_B" "$WORK"
checks_done
