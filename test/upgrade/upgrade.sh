#!/usr/bin/env bash
# The upgrade path, checked on the server of make test (PGHOST, PGPORT and
# PGUSER set by test/run.sh, pg_privacy and pg_cron preloaded):
#
# - the released install scripts are unchanged, byte for byte (their
#   SHA-256 is recorded here), and the installed copies equal them;
# - every released version has an update path to the default version;
# - database upgrade_old gets 0.1.0 and the demo agency with every catalog
#   filled (test/client/lib/fill_catalogs.sql); with the 0.1.0 SQL and the
#   current library, privacy.status() says what to run and the protections
#   hold as the roles use them;
# - ALTER EXTENSION pg_privacy UPDATE: the catalogs' rows and the agency's
#   data are kept, the audit chain verifies, the protections still hold;
# - database upgrade_new gets the default version fresh: described over
#   pg_catalog by test/upgrade/describe.sql, it equals upgrade_old, and
#   upgrade_empty (0.1.0 updated with nothing in it) equals it in the rows
#   of the extension's catalogs too;
# - the description is shown to notice a changed comment, grant, function,
#   column default, policy and index, so that the comparison could fail.
#
# Prints TAP lines; exits non-zero when a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/client/lib/checks.sh
. test/client/lib/protections.sh

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SHAREDIR=$("$PGBIN/pg_config" --sharedir)
SCALE=${UPGRADE_SCALE:-500}
OLD=upgrade_old
NEW=upgrade_new
EMPTY=upgrade_empty
DEFAULT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_privacy.control)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pg_privacy_upgrade.XXXXXX")
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

# Released install scripts: never edited again.
declare -A RELEASED=(
    [0.1.0]=666bc469b4b8fb628de04b605bbb2490766e8ced58fc3fa0fddbce5d22c62c41
)

q() { # "db" sql: the result as unaligned text, as the superuser
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}
qr() { # "db" role sql: as a login role, with privacy on the search path
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -U "$2" -c "SET search_path = public, privacy" -c "$3"
}
describe() { # db: the description of its pg_privacy
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f test/upgrade/describe.sql
}
# catalogs db: the rows of every table of schema privacy but mask_key, in
# order, one line per table: name, count and hash of the rows as text
# (columns that 0.2.0 adds to catalogs of 0.1.0 are left out of the rows,
# so that they compare across the update)
ADDED_COLUMNS='{notification.breach}'
catalogs() {
    q "$1" "SELECT string_agg(c.relname || '=' || (xpath('/row/v/text()', query_to_xml(
                format('SELECT count(*) || '':'' || md5(coalesce(string_agg(r, E''\n'' ORDER BY r), '''')) AS v
                          FROM %s t, LATERAL (SELECT (to_jsonb(t) - %L::text[])::text) x(r)',
                       c.oid::regclass, x.added), false, true, '')))[1]::text, E'\n' ORDER BY c.relname)
              FROM pg_class c,
                   LATERAL (SELECT coalesce(array_agg(split_part(a, '.', 2)), '{}') AS added
                              FROM unnest('$ADDED_COLUMNS'::text[]) a WHERE split_part(a, '.', 1) = c.relname) x
             WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind = 'r' AND c.relname <> 'mask_key'"
}
# the agency's data, as catalogs does for schema privacy
agency_data() {
    q "$1" "SELECT string_agg(c.relname || '=' || (xpath('/row/v/text()', query_to_xml(
                format('SELECT count(*) || '':'' || md5(coalesce(string_agg(t::text, '','' ORDER BY t::text), '''')) AS v FROM %s t',
                       c.oid::regclass), false, true, '')))[1]::text, ', ' ORDER BY c.relname)
              FROM pg_class c WHERE c.relnamespace = 'agency'::regnamespace AND c.relkind = 'r'"
}
# compare_descriptions A B LABEL: one check, with the first differences
compare_descriptions() {
    describe "$1" >"$WORK/$1.desc"
    describe "$2" >"$WORK/$2.desc"
    local facts members
    facts=$(grep -c '' "$WORK/$2.desc")
    members=$(grep -c '^member ' "$WORK/$2.desc")
    if [ "$facts" -gt 100 ] && cmp -s "$WORK/$1.desc" "$WORK/$2.desc"; then
        ok 0 "$3: identical over pg_catalog ($members member objects, $(grep -cE '^[a-z]' "$WORK/$2.desc") facts)"
    else
        ok 1 "$3: identical over pg_catalog"
        diff "$WORK/$1.desc" "$WORK/$2.desc" | head -n 30 | cut -c1-300 | sed 's/^/#   /'
    fi
}

# drop_all: the databases and the login roles of fill_catalogs.sql
drop_all() {
    for db in $OLD $NEW $EMPTY; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
    done
    for r in dr_clerk dr_payroll dr_officer dr_admin dr_owner; do
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null
    done
}
drop_all

# ---------------------------------------------------------------------------
# The released scripts
# ---------------------------------------------------------------------------
for v in "${!RELEASED[@]}"; do
    f=sql/pg_privacy--$v.sql
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$sum" = "${RELEASED[$v]}" ]
    ok $? "$f is the released $v, byte for byte (sha256 $sum)"
    cmp -s "$f" "$SHAREDIR/extension/pg_privacy--$v.sql"
    ok $? "the installed pg_privacy--$v.sql is the released one"
done
released=$(git ls-files 'sql/pg_privacy--*.sql' | sed -n 's|^sql/pg_privacy--\([0-9.]*\)\.sql$|\1|p' | sort -V | tr '\n' ' ')
[ "$(echo "$released" | wc -w)" = "${#RELEASED[@]}" ]
ok $? "every committed install script is a recorded release ($released)"
[ "$(ls sql/src/*.sql | wc -l)" -ge 5 ] &&
    ! git ls-files --error-unmatch "sql/pg_privacy--$DEFAULT.sql" >/dev/null 2>&1
ok $? "the install script of $DEFAULT is built from sql/src, not committed"

psql -X -q -d postgres -c "CREATE DATABASE $NEW" && q $NEW "SET client_min_messages = warning; CREATE EXTENSION pg_privacy CASCADE"
for v in "${!RELEASED[@]}"; do
    path=$(q $NEW "SELECT path FROM pg_extension_update_paths('pg_privacy') WHERE source = '$v' AND target = '$DEFAULT'")
    [ -n "$path" ]
    ok $? "an update path from $v to $DEFAULT: ${path:-none}"
done

# ---------------------------------------------------------------------------
# 0.1.0, filled, with the current library
# ---------------------------------------------------------------------------
psql -X -q -d postgres -c "CREATE DATABASE $OLD"
q $OLD "SET client_min_messages = warning; CREATE EXTENSION pg_privacy VERSION '0.1.0' CASCADE" >/dev/null
[ "$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'")" = 0.1.0 ]
ok $? "$OLD: pg_privacy 0.1.0 installed"
psql -X -q -v ON_ERROR_STOP=1 -d $OLD -f demo/generate.sql >/dev/null &&
    q $OLD "SELECT agency.generate($SCALE, 0.42, current_date)" >/dev/null &&
    psql -X -q -v ON_ERROR_STOP=1 -d $OLD -f test/client/lib/fill_catalogs.sql >"$WORK/fill.log" 2>&1
ok $? "$OLD: the demo agency and every catalog filled under 0.1.0"
[ -s "$WORK/fill.log" ] && grep -i error "$WORK/fill.log" | head -n 5 | sed 's/^/# /'
empty=$(q $OLD "
    SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
     WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind = 'r'
       AND NOT (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass),
                                                     false, true, '')))[1]::text::int > 0")
[ -z "$empty" ]
ok $? "$OLD: every table of schema privacy holds rows (empty: ${empty:-none})"
read -r RESTRICTED EXPORTED <<<"$(q $OLD "
    SELECT (SELECT subject_key FROM privacy.request WHERE kind = 'restriction') || ' ' ||
           (SELECT subject_key FROM privacy.request WHERE kind = 'access')")"

st=$(q $OLD "SELECT state || ': ' || detail FROM privacy.status() WHERE component = 'version'")
[[ "$st" == "warning: "*"0.1.0"*"older than"*"ALTER EXTENSION pg_privacy UPDATE"* ]]
ok $? "$OLD: privacy.status() says the SQL is older than the library and what to run ($st)"
check_protections "$OLD" "$OLD (0.1.0 SQL, library $DEFAULT)" 'before the update'

before_cat=$(catalogs $OLD)
before_data=$(agency_data $OLD)
before_seq=$(q $OLD "SELECT max(seq) FROM privacy.audit_log")
before_log=$(q $OLD "SELECT t::text FROM privacy.audit_log t ORDER BY seq")
before_seals=$(q $OLD "SELECT t::text FROM privacy.audit_seal t ORDER BY seal_no")

# ---------------------------------------------------------------------------
# The update
# ---------------------------------------------------------------------------
q $OLD "ALTER EXTENSION pg_privacy UPDATE" >"$WORK/update.log" 2>&1
ok $? "$OLD: ALTER EXTENSION pg_privacy UPDATE"
sed 's/^/# /' "$WORK/update.log" | head -n 10
[ "$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'")" = "$DEFAULT" ]
ok $? "$OLD: pg_privacy is $DEFAULT"
st=$(q $OLD "SELECT state FROM privacy.status() WHERE component = 'version'")
[ "$st" = ok ]
ok $? "$OLD: privacy.status() reports the version ok ($st)"

# the update must not change what the catalogs hold: compared table by
# table, except the audit trail, which may only grow
after_cat=$(catalogs $OLD)
# (catalogs the update creates are new, and must be empty)
old_names=$(echo "$before_cat" | sed 's/=.*//')
kept=$(echo "$after_cat" | awk -F= 'NR == FNR { old[$1] = 1; next } ($1 in old)' <(echo "$old_names") -)
added=$(echo "$after_cat" | awk -F= 'NR == FNR { old[$1] = 1; next } !($1 in old)' <(echo "$old_names") -)
changed=$(diff <(echo "$before_cat" | grep -vE '^audit_(log|seal)=') <(echo "$kept" | grep -vE '^audit_(log|seal)=') | grep '^[<>]')
[ -z "$changed" ] && [ -z "$(echo "$added" | grep -v '=0:' | grep .)" ]
ok $? "$OLD: every catalog holds the same rows after the update ($(echo "$before_cat" | wc -l) tables; new and empty: $(echo "$added" | sed 's/=.*//' | tr '\n' ' '))"
[ -n "$changed" ] && echo "$changed" | head -n 10 | sed 's/^/#   /'
[ "$(q $OLD "SELECT t::text FROM privacy.audit_log t WHERE seq <= $before_seq ORDER BY seq")" = "$before_log" ] &&
    [ "$(q $OLD "SELECT t::text FROM privacy.audit_seal t ORDER BY seal_no" | head -n "$(echo "$before_seals" | wc -l)")" = "$before_seals" ]
ok $? "$OLD: the audit entries and seals written before the update are unchanged ($before_seq entries)"
[ "$(agency_data $OLD)" = "$before_data" ]
ok $? "$OLD: the agency's data is unchanged, BSNs included"
check_protections "$OLD" "$OLD (updated to $DEFAULT)" 'after the update'

# ---------------------------------------------------------------------------
# Updated against fresh
# ---------------------------------------------------------------------------
compare_descriptions $OLD $NEW "$OLD updated from 0.1.0 and $NEW installed as $DEFAULT"

psql -X -q -d postgres -c "CREATE DATABASE $EMPTY"
q $EMPTY "SET client_min_messages = warning; CREATE EXTENSION pg_privacy VERSION '0.1.0' CASCADE;
          ALTER EXTENSION pg_privacy UPDATE" >/dev/null
compare_descriptions $EMPTY $NEW "$EMPTY (0.1.0 updated without data) and $NEW"
# what an install writes into the catalogs (the column classes, the audit
# entries of the install itself) must be what the update leaves: compared
# without the entries' times, hashes and transaction ids
install_rows() {
    q "$1" "SELECT string_agg(t::text, E'\n' ORDER BY t::text) FROM privacy.column_class t"
    q "$1" "SELECT string_agg(action || ' ' || coalesce(object, '-') || ' ' || coalesce(details::text, '-'), E'\n' ORDER BY seq)
              FROM privacy.audit_log"
    catalogs "$1" | sed -E 's/=([0-9]+):.*/=\1/' | grep -vE '^column_class='
}
install_rows $NEW >"$WORK/new.rows" 2>&1
install_rows $EMPTY >"$WORK/empty.rows" 2>&1
cmp -s "$WORK/new.rows" "$WORK/empty.rows" && ! grep -q ERROR "$WORK/new.rows"
ok $? "$EMPTY and $NEW: the catalogs hold the same rows after the install"
cmp -s "$WORK/new.rows" "$WORK/empty.rows" || diff "$WORK/new.rows" "$WORK/empty.rows" | head -n 10 | sed 's/^/#   /'

# ---------------------------------------------------------------------------
# The comparison could fail: each change below must show in the description
# ---------------------------------------------------------------------------
describe $EMPTY >"$WORK/base.desc"
while IFS='|' read -r what sql undo; do
    q $EMPTY "$sql" >/dev/null 2>&1
    describe $EMPTY >"$WORK/changed.desc"
    q $EMPTY "$undo" >/dev/null 2>&1
    ! cmp -s "$WORK/base.desc" "$WORK/changed.desc"
    ok $? "the description notices $what"
done <<'CHANGES'
a changed comment|COMMENT ON FUNCTION privacy.status() IS 'changed'|COMMENT ON FUNCTION privacy.status() IS 'State of every pg_privacy component: version, hooks, roles and warnings'
a grant|GRANT EXECUTE ON FUNCTION privacy.bsn_is_valid(text) TO privacy_bsn|REVOKE EXECUTE ON FUNCTION privacy.bsn_is_valid(text) FROM privacy_bsn
a changed function|ALTER FUNCTION privacy.bsn_is_valid(text) COST 7|ALTER FUNCTION privacy.bsn_is_valid(text) COST 1
a column default|ALTER TABLE privacy.request ALTER COLUMN note SET DEFAULT 'x'|ALTER TABLE privacy.request ALTER COLUMN note DROP DEFAULT
a table's policy|CREATE POLICY upgrade_check ON privacy.request USING (false)|DROP POLICY upgrade_check ON privacy.request
an index|CREATE INDEX upgrade_check ON privacy.request (note)|DROP INDEX privacy.upgrade_check
CHANGES
describe $EMPTY >"$WORK/after.desc"
cmp -s "$WORK/base.desc" "$WORK/after.desc"
ok $? "the changes were undone"

echo "1..$checks"
[ "$failures" -eq 0 ] && drop_all
checks_done
