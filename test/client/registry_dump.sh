#!/usr/bin/env bash
# pg_dump / pg_restore round trip of the registry of personal data: a schema
# registered with scope columns, a table scoped through its parent, and
# scope grants (to a clerk, to a group role, '*'), dumped by a superuser
# with pg_dump -Fc and restored into a new database of the same cluster.
# Checks that the registry catalogs hold the same rows (tables and roles
# shown by name), that the policies and row-level security flags are the
# same, that each role sees the same rows in both databases (with the scope
# folded into a constant), and that the DDL guard still protects the
# restored tables.
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# databases and roles.  Exits non-zero when a check fails.
set -uo pipefail

SRC=registry_dump_src
DST=registry_dump_dst
ROLES="rd_owner rd_clerk rd_manager rd_region rd_head_office rd_admin"
TMP=$(mktemp -d /tmp/registry_dump.XXXXXX)
. "$(dirname "$0")/lib/checks.sh"

cleanup() {
    for db in $SRC $DST; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    done
    for r in $ROLES; do
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
cleanup
mkdir -p "$TMP"

q() { # db sql: the result as unaligned text, as the superuser
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}
qr() { # role db sql: the result as unaligned text, as a login role
    psql -X -q -At -v ON_ERROR_STOP=1 -U "$1" -d "$2" -c "$3"
}

psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL || exit 1
CREATE ROLE rd_owner LOGIN;
CREATE ROLE rd_clerk LOGIN;
CREATE ROLE rd_region NOLOGIN;
CREATE ROLE rd_manager LOGIN IN ROLE rd_region;
CREATE ROLE rd_head_office LOGIN;
CREATE ROLE rd_admin LOGIN IN ROLE privacy_admin;
CREATE DATABASE $SRC;
SQL

psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE SCHEMA staff AUTHORIZATION rd_owner;
GRANT USAGE ON SCHEMA staff TO rd_clerk, rd_region, rd_head_office, rd_admin;
SET ROLE rd_owner;
CREATE TABLE staff.candidates (id int PRIMARY KEY, name text NOT NULL, branch_id smallint NOT NULL);
CREATE INDEX candidates_branch_idx ON staff.candidates (branch_id);
CREATE TABLE staff.placements (id int PRIMARY KEY, candidate_id int NOT NULL REFERENCES staff.candidates,
                               branch_id smallint NOT NULL);
CREATE TABLE staff.timesheets (id int PRIMARY KEY, placement_id int NOT NULL REFERENCES staff.placements,
                               hours numeric);
CREATE TABLE staff.documents (id int PRIMARY KEY, candidate_id int NOT NULL REFERENCES staff.candidates,
                              title text);
INSERT INTO staff.candidates SELECT g, 'c' || g, (ARRAY[1, 12, 12, 20, 30])[1 + g % 5] FROM generate_series(1, 50) g;
INSERT INTO staff.placements SELECT g, 1 + g % 50, (ARRAY[12, 1, 20])[1 + g % 3] FROM generate_series(1, 40) g;
INSERT INTO staff.timesheets SELECT g, 1 + g % 40, g % 9 FROM generate_series(1, 120) g;
INSERT INTO staff.documents SELECT g, 1 + g % 50, 'doc' || g FROM generate_series(1, 70) g;
GRANT SELECT ON ALL TABLES IN SCHEMA staff TO rd_clerk, rd_region, rd_head_office, rd_admin;
GRANT INSERT ON staff.candidates TO rd_clerk;
RESET ROLE;
SET ROLE rd_admin;
SELECT privacy.register_subject_type('candidate', 'staff.candidates', 'id', 'job seekers');
SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through)
  FROM privacy.propose_registrations('candidate');
SELECT privacy.grant_scope('rd_clerk', '12');
SELECT privacy.grant_scope('rd_region', '12');
SELECT privacy.grant_scope('rd_region', '20');
SELECT privacy.grant_scope('rd_head_office', '*');
RESET ROLE;
SQL

# the registry catalogs, with tables and roles by name (timestamps included:
# the rows are restored as they were)
CATALOGS="
SELECT 'subject_type', s::text FROM privacy.subject_type s
UNION ALL SELECT 'registered_table', r::text FROM privacy.registered_table r
UNION ALL SELECT 'table_subject', t::text FROM privacy.table_subject t
UNION ALL SELECT 'scope_grant', g::text FROM privacy.scope_grant g
UNION ALL SELECT 'registry', v::text FROM privacy.registry v
ORDER BY 1, 2"
POLICIES="
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname, p.polpermissive, p.polcmd,
       p.polroles::regrole[]::text, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.relnamespace = 'staff'::regnamespace AND c.relkind = 'r'
 ORDER BY 1, 4"
COUNTS="SELECT (SELECT count(*) FROM staff.candidates) || '/' || (SELECT count(*) FROM staff.placements) || '/' ||
               (SELECT count(*) FROM staff.timesheets) || '/' || (SELECT count(*) FROM staff.documents)"

src_catalogs=$(q "$SRC" "$CATALOGS")
[ "$(echo "$src_catalogs" | grep -c '^registry|')" -eq 4 ]
ok $? "the source registry holds 4 tables"
echo "$src_catalogs" | grep -q '^registered_table|(staff.timesheets,branch,,staff.placements,{placement_id},{id},'
ok $? "the source registry scopes timesheets through placements, by name"
echo "$src_catalogs" | grep -q '^scope_grant|(rd_region,branch,20,'
ok $? "the source grants name their roles"
src_policies=$(q "$SRC" "$POLICIES")
[ "$(echo "$src_policies" | grep -c '|t|t|privacy_scope|f|\*|{-}|')" -eq 4 ]
ok $? "the source has 4 forced privacy_scope policies"

declare -A src_counts
for r in rd_clerk rd_manager rd_head_office rd_admin; do
    src_counts[$r]=$(qr "$r" "$SRC" "$COUNTS")
done
[ "${src_counts[rd_clerk]}" = "20/13/39/28" ]
ok $? "the clerk sees branch 12 in the source (${src_counts[rd_clerk]})"
[ "${src_counts[rd_manager]}" = "30/26/78/42" ]
ok $? "the manager sees branches 12 and 20 in the source (${src_counts[rd_manager]})"
[ "${src_counts[rd_head_office]}" = "50/40/120/70" ]
ok $? "the head office sees every row in the source (${src_counts[rd_head_office]})"
[ "${src_counts[rd_admin]}" = "0/0/0/0" ]
ok $? "the admin without scopes sees nothing in the source (${src_counts[rd_admin]})"

pg_dump -Fc -d "$SRC" -f "$TMP/src.dump"
ok $? "pg_dump -Fc as a superuser"
psql -X -q -d postgres -c "CREATE DATABASE $DST" || exit 1
pg_restore --exit-on-error -d "$DST" "$TMP/src.dump"
ok $? "pg_restore into a new database"

dst_catalogs=$(q "$DST" "$CATALOGS")
if [ -n "$dst_catalogs" ] && [ "$src_catalogs" = "$dst_catalogs" ]; then
    ok 0 "the registry catalogs hold the same rows ($(echo "$dst_catalogs" | wc -l) rows)"
else
    ok 1 "the registry catalogs hold the same rows"
    diff <(echo "$src_catalogs") <(echo "$dst_catalogs") | head -20
fi
dst_policies=$(q "$DST" "$POLICIES")
if [ -n "$dst_policies" ] && [ "$src_policies" = "$dst_policies" ]; then
    ok 0 "the policies and row-level security flags are the same"
else
    ok 1 "the policies and row-level security flags are the same"
    diff <(echo "$src_policies") <(echo "$dst_policies") | head -20
fi
[ "$(q "$DST" "SELECT count(*) FROM privacy.registered_table r JOIN pg_class c ON c.oid = r.relid")" -eq 4 ]
ok $? "every restored registration points at a restored table"

for r in rd_clerk rd_manager rd_head_office rd_admin; do
    dst=$(qr "$r" "$DST" "$COUNTS")
    [ "$dst" = "${src_counts[$r]}" ]
    ok $? "$r sees the same rows in both databases ($dst)"
done

plan=$(qr rd_clerk "$DST" "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM staff.candidates")
echo "$plan" | grep -q "branch_id = ANY ('{12}'::smallint\[\])"
ok $? "in the restored database the clerk's scope is folded into a constant"

out=$(qr rd_clerk "$DST" "INSERT INTO staff.candidates VALUES (1000, 'x', 1)" 2>&1)
echo "$out" | grep -q 'new row violates row-level security policy "privacy_scope" for table "candidates"'
ok $? "in the restored database the clerk may not insert into another branch"
out=$(psql -X -q -At -U rd_owner -d "$DST" -c "ALTER TABLE staff.candidates DISABLE ROW LEVEL SECURITY" 2>&1)
echo "$out" | grep -q 'permission denied to turn off row-level security on "candidates"'
ok $? "the DDL guard protects the restored table from its owner"

qr rd_admin "$DST" "SELECT privacy.revoke_scope('rd_region', '20')" >/dev/null &&
    [ "$(qr rd_manager "$DST" "$COUNTS")" = "${src_counts[rd_clerk]}" ] &&
    [ "$(qr rd_manager "$SRC" "$COUNTS")" = "${src_counts[rd_manager]}" ]
ok $? "a revoke in the restored database applies there and not in the source"

[ "$(q "$DST" "SELECT valid FROM privacy.audit_verify()")" = "t" ]
ok $? "the restored audit trail verifies"

echo "1..$checks"
checks_done
