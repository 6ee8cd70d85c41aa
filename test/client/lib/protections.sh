# The protections of pg_privacy in a database filled by fill_catalogs.sql,
# checked as the roles that use it; sourced by test/hardening/dump_restore.sh
# and test/upgrade/upgrade.sh after checks.sh.
#
# check_protections TARGET NAME NOTE
#   TARGET is what the caller's q and qr functions take ("dir port db"), NAME
#   names the database in the check lines, NOTE is written into the request
#   the check registers.  Needs the caller's q (SQL as the superuser) and qr
#   (SQL as a login role), and RESTRICTED and EXPORTED: the keys of the
#   candidates fill_catalogs.sql restricted and exported.
check_protections() {
    local target=$1 tn=$2 v entries maxreq id seen err
    v=$(q "$target" "SELECT valid::text || ',' || entries || ',' || coalesce(reason, '-') FROM privacy.audit_verify()")
    [[ "$v" == true,* ]]
    ok $? "$tn: privacy.audit_verify() holds ($v)"
    entries=$(q "$target" "SELECT entries FROM privacy.audit_verify()")
    qr "$target" dr_officer "SELECT privacy.audit_append('dump.check', 'agency.candidates', NULL, NULL, NULL)" >/dev/null
    v=$(q "$target" "SELECT valid::text || ',' || entries FROM privacy.audit_verify()")
    [ "$v" = "true,$((entries + 1))" ]
    ok $? "$tn: a new entry continues the chain ($v)"
    maxreq=$(q "$target" "SELECT max(id) FROM privacy.request")
    id=$(qr "$target" dr_officer "SELECT privacy.register_request('candidate', '$EXPORTED', 'objection', note => '$3')" 2>&1)
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
    err=$(qr "$target" dr_owner "ALTER TABLE agency.candidates DISABLE ROW LEVEL SECURITY" 2>&1)
    echo "$err" | grep -q 'permission denied to turn off row-level security on "candidates"'
    ok $? "$tn: the DDL guard refuses the owner turning off row-level security"
    [ "$(q "$target" "SELECT relrowsecurity FROM pg_class WHERE oid = 'agency.candidates'::regclass")" = "t" ]
    ok $? "$tn: row-level security is still on"
    err=$(qr "$target" dr_clerk "INSERT INTO agency.sick_leave (employee_id, start_date, diagnosis)
                                 SELECT employee_id, current_date, 'griep' FROM agency.sick_leave LIMIT 1" 2>&1)
    echo "$err" | grep -q 'column "diagnosis" of table "sick_leave" may not hold a value'
    ok $? "$tn: the forbidden field still refuses a value"
}
