-- The DDL guard on registered tables and on the catalogs of the extension.
--
-- A table owner outside privacy_admin may not turn row-level security off
-- (also on a table scoped through its parent), create a policy on a scoped
-- table, drop, alter or rename the privacy_scope policy, drop or retype the
-- scope column, a subject key column (also one registered later for a
-- second subject type), the foreign-key column a table is scoped through or
-- a bsn column, nor alter, truncate, drop or rename a table of schema
-- privacy; each refusal is 42501 with a detail naming privacy_admin and
-- changes nothing.  The same commands run
-- for a member of privacy_admin on a table it owns, and for a superuser
-- (the guard never replaces PostgreSQL's ownership check).  Allowed DDL on
-- a registered table is audited (pending until commit), policy renames and
-- drops included; renames of tables, schemas and registered columns, by the
-- owner too, keep the registry correct and the policy working; dropping a
-- registered table (also by DROP SCHEMA ... CASCADE) removes its
-- registration.
BEGIN;
SELECT plan(113);

SET client_min_messages = warning;
CREATE ROLE rg_owner LOGIN;
CREATE ROLE rg_admin_owner LOGIN IN ROLE privacy_admin;
CREATE ROLE rg_clerk LOGIN;
CREATE ROLE rg_super LOGIN SUPERUSER;
CREATE SCHEMA rg;
GRANT USAGE, CREATE ON SCHEMA rg TO rg_owner, rg_admin_owner;
GRANT USAGE ON SCHEMA rg TO rg_clerk;

SET ROLE rg_owner;
CREATE TABLE rg.people (
    id        int PRIMARY KEY,
    branch_id smallint NOT NULL,
    bsn       privacy.bsn,
    note      text
);
CREATE INDEX people_branch_idx ON rg.people (branch_id);
CREATE TABLE rg.files (
    id        int PRIMARY KEY,
    person_id int NOT NULL REFERENCES rg.people,
    title     text
);
CREATE TABLE rg.loose (id int PRIMARY KEY, bsn privacy.bsn);
CREATE TABLE rg.notes (id int PRIMARY KEY, person_id int NOT NULL, body text);
CREATE TABLE rg.contacts (id int PRIMARY KEY, name text);
CREATE TABLE rg.links (id int PRIMARY KEY, person_id int, contact_id int, branch_id smallint NOT NULL);
INSERT INTO rg.people VALUES (1, 12, NULL, 'a'), (2, 12, NULL, 'b'), (3, 1, NULL, 'c');
INSERT INTO rg.files VALUES (1, 1, 'cv'), (2, 3, 'cv');
GRANT SELECT ON rg.people, rg.files TO rg_clerk;
RESET ROLE;

SET ROLE rg_admin_owner;
CREATE TABLE rg.admin_people (
    id        int PRIMARY KEY,
    branch_id smallint NOT NULL,
    bsn       privacy.bsn,
    note      text
);
INSERT INTO rg.admin_people VALUES (1, 12, NULL, 'a');
RESET ROLE;

SELECT privacy.register_subject_type('rg_person', 'rg.people', 'id');
SELECT privacy.register_subject_type('rg_admin_person', 'rg.admin_people', 'id');
SELECT privacy.register_subject_type('rg_contact', 'rg.contacts', 'id');
SELECT privacy.register_table('rg.people', 'rg_person', scope_column => 'branch_id');
SELECT privacy.register_table('rg.files', 'rg_person', via => '{rg.people}', scope_through => 'rg.people');
SELECT privacy.register_table('rg.admin_people', 'rg_admin_person', scope_column => 'branch_id',
                              scope_kind => 'rg_region');
SELECT privacy.register_table('rg.notes', 'rg_person', key_column => 'person_id');
SELECT privacy.register_table('rg.links', 'rg_person', key_column => 'person_id', scope_column => 'branch_id');
SELECT privacy.grant_scope('rg_clerk', '12');

-- the error a statement raises, as "SQLSTATE: message (detail)"
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || msg || CASE WHEN det <> '' THEN ' (' || det || ')' ELSE '' END;
END
$$;
-- the plan of a statement for the current role, as one text
CREATE FUNCTION pg_temp.plan(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
        result := result || line || E'\n';
    END LOOP;
    RETURN result;
END
$$;
-- the row-level security state of a table: enabled, forced, privacy_scope policy
CREATE FUNCTION pg_temp.rls(tbl regclass) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s/%s/%s', c.relrowsecurity, c.relforcerowsecurity,
                  EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'privacy_scope'))
      FROM pg_class c WHERE c.oid = tbl
$$;
-- audit entries appended since the last mark, within this transaction
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
    SELECT set_config('rg_test.audit_mark', privacy.audit_pending()::text, false)
$$;
CREATE FUNCTION pg_temp.new_entries() RETURNS int LANGUAGE sql AS $$
    SELECT privacy.audit_pending() - current_setting('rg_test.audit_mark')::int
$$;
-- the registry rows of schema rg (and of the schema it is renamed to)
CREATE FUNCTION pg_temp.registry() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s %s key=%s via=%s scope=%s through=%s', tbl, subject_type,
                             coalesce(key_column::text, '-'), coalesce(via::text, '-'),
                             coalesce(scope_column::text, '-'), coalesce(scope_through::text, '-')),
                      '; ' ORDER BY subject_type, tbl::text)
      FROM privacy.registry WHERE subject_type LIKE 'rg\_%'
$$;

-------------------------------------------------------------------------------
-- 1. a table owner outside privacy_admin
-------------------------------------------------------------------------------
SELECT pg_temp.mark();
SET ROLE rg_owner;
SELECT is(pg_temp.error_of('ALTER TABLE rg.people DISABLE ROW LEVEL SECURITY'),
          '42501: permission denied to turn off row-level security on "people" '
          '(The table is protected by pg_privacy; only members of role "privacy_admin" may do this.)',
          'the owner may not disable row-level security');
SELECT throws_ok('ALTER TABLE rg.people NO FORCE ROW LEVEL SECURITY', '42501',
                 'permission denied to turn off row-level security on "people"',
                 'the owner may not stop forcing row-level security');
SELECT throws_ok('ALTER TABLE rg.people ADD COLUMN extra int, DISABLE ROW LEVEL SECURITY', '42501',
                 'permission denied to turn off row-level security on "people"',
                 'nor hide it among other subcommands');
SELECT throws_ok('DROP POLICY privacy_scope ON rg.people', '42501',
                 'permission denied to drop policy "privacy_scope" on "people"',
                 'the owner may not drop the policy');
SELECT throws_ok('DROP POLICY IF EXISTS privacy_scope ON rg.people', '42501',
                 'permission denied to drop policy "privacy_scope" on "people"',
                 'nor with IF EXISTS');
SELECT throws_ok('ALTER POLICY privacy_scope ON rg.people USING (true)', '42501',
                 'permission denied to alter policy "privacy_scope" on "people"',
                 'the owner may not widen the policy');
SELECT throws_ok('ALTER POLICY privacy_scope ON rg.people TO rg_owner', '42501',
                 'permission denied to alter policy "privacy_scope" on "people"',
                 'the owner may not change the roles of the policy');
SELECT throws_ok('ALTER POLICY privacy_scope ON rg.people RENAME TO old_scope', '42501',
                 'permission denied to rename policy "privacy_scope" on "people"',
                 'the owner may not rename the policy');
SELECT throws_ok('ALTER TABLE rg.people DROP COLUMN branch_id', '42501',
                 'permission denied to drop column "branch_id" on "people"',
                 'the owner may not drop the scope column');
SELECT throws_ok('ALTER TABLE rg.people DROP COLUMN branch_id CASCADE', '42501',
                 'permission denied to drop column "branch_id" on "people"',
                 'nor with CASCADE');
SELECT throws_ok('ALTER TABLE rg.people ALTER COLUMN branch_id TYPE int', '42501',
                 'permission denied to change the type of column "branch_id" on "people"',
                 'the owner may not change the type of the scope column');
SELECT throws_ok('ALTER TABLE rg.people DROP COLUMN id CASCADE', '42501',
                 'permission denied to drop column "id" on "people"',
                 'the owner may not drop the subject key column');
SELECT throws_ok('ALTER TABLE rg.people ALTER COLUMN id TYPE bigint', '42501',
                 'permission denied to change the type of column "id" on "people"',
                 'the owner may not change the type of the subject key column');
SELECT throws_ok('ALTER TABLE rg.people DROP COLUMN bsn', '42501',
                 'permission denied to drop column "bsn" on "people"',
                 'the owner may not drop a bsn column');
SELECT throws_ok('ALTER TABLE rg.people ALTER COLUMN bsn TYPE int USING NULL', '42501',
                 'permission denied to change the type of column "bsn" on "people"',
                 'the owner may not change the type of a bsn column');
SELECT throws_ok('ALTER TABLE rg.loose DROP COLUMN bsn', '42501',
                 'permission denied to drop column "bsn" on "loose"',
                 'a bsn column is guarded on an unregistered table too');
SELECT throws_ok('DROP POLICY privacy_scope ON rg.files', '42501',
                 'permission denied to drop policy "privacy_scope" on "files"',
                 'the owner may not drop the policy of a table scoped through its parent');
SELECT throws_ok('ALTER POLICY privacy_scope ON rg.files USING (true)', '42501',
                 'permission denied to alter policy "privacy_scope" on "files"',
                 'nor widen it');
SELECT throws_ok('ALTER TABLE rg.files DISABLE ROW LEVEL SECURITY', '42501',
                 'permission denied to turn off row-level security on "files"',
                 'the owner may not disable row-level security of a table scoped through its parent');
SELECT throws_ok('ALTER TABLE rg.files NO FORCE ROW LEVEL SECURITY', '42501',
                 'permission denied to turn off row-level security on "files"',
                 'nor stop forcing it');
SELECT throws_ok('ALTER TABLE rg.files DROP COLUMN person_id CASCADE', '42501',
                 'permission denied to drop column "person_id" on "files"',
                 'the owner may not drop the foreign-key column a table is scoped through');
SELECT throws_ok('CREATE POLICY everyone ON rg.people AS PERMISSIVE USING (true)', '42501',
                 'permission denied to create a policy on "people"',
                 'the owner may not add a permissive policy to a scoped table');
SELECT throws_ok('CREATE POLICY no_zero ON rg.people AS RESTRICTIVE USING (branch_id <> 0)', '42501',
                 'permission denied to create a policy on "people"',
                 'nor a restrictive one');
SELECT throws_ok('CREATE POLICY everyone ON rg.files USING (true)', '42501',
                 'permission denied to create a policy on "files"',
                 'nor a policy on a table scoped through its parent');
SELECT throws_ok('ALTER TABLE rg.links DROP COLUMN person_id', '42501',
                 'permission denied to drop column "person_id" on "links"',
                 'the owner may not drop the key column of a table registered by key');
SELECT is(pg_temp.new_entries(), 0, 'refused commands leave no audit entry');
RESET ROLE;
SELECT lives_ok($$SELECT privacy.register_table('rg.links', 'rg_contact', key_column => 'contact_id',
                                                scope_column => 'branch_id')$$,
                'the table is registered for a second subject type by another key column');
SELECT pg_temp.mark();
SET ROLE rg_owner;
SELECT throws_ok('ALTER TABLE rg.links DROP COLUMN contact_id', '42501',
                 'permission denied to drop column "contact_id" on "links"',
                 'the guard knows the new key column at once');
SELECT is(pg_temp.new_entries(), 0, 'the refused drop leaves no audit entry');
RESET ROLE;

SELECT is(pg_temp.rls('rg.people'), 't/t/t', 'people still has its forced row-level security and policy');
SELECT is(pg_temp.rls('rg.files'), 't/t/t', 'files still has its forced row-level security and policy');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polrelid IN ('rg.people'::regclass, 'rg.files'::regclass)),
          4, 'no policy was added (each table has its scope and base policy)');
SET ROLE rg_clerk;
SELECT is((SELECT count(*)::int FROM rg.files), 1, 'the clerk still sees only the file of branch 12');
RESET ROLE;
SELECT is((SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'rg.people'::regclass AND attnum > 0 AND NOT attisdropped),
          'id,branch_id,bsn,note', 'no column was added, dropped or changed');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'rg.people'::regclass AND attname = 'branch_id'),
          'smallint', 'the scope column keeps its type');

-- the catalogs of the extension
SET ROLE rg_owner;
SELECT is(pg_temp.error_of('TRUNCATE privacy.scope_grant'),
          '42501: permission denied to truncate a catalog of pg_privacy on "scope_grant" '
          '(The table is protected by pg_privacy; only members of role "privacy_admin" may do this.)',
          'TRUNCATE of a catalog is refused');
SELECT is(pg_temp.error_of('ALTER TABLE privacy.scope_grant DISABLE TRIGGER scope_grant_changed'),
          '42501: permission denied to alter a catalog of pg_privacy on "scope_grant" '
          '(The table is protected by pg_privacy; only members of role "privacy_admin" may do this.)',
          'ALTER TABLE of a catalog is refused');
SELECT is(pg_temp.error_of('DROP TABLE privacy.registered_table'),
          '42501: permission denied to drop a catalog of pg_privacy on "registered_table" '
          '(The table is protected by pg_privacy; only members of role "privacy_admin" may do this.)',
          'DROP TABLE of a catalog is refused');
SELECT is(pg_temp.error_of('ALTER TABLE privacy.table_subject RENAME TO table_subject_old'),
          '42501: permission denied to rename a catalog of pg_privacy on "table_subject" '
          '(The table is protected by pg_privacy; only members of role "privacy_admin" may do this.)',
          'RENAME of a catalog is refused');
SELECT throws_ok('TRUNCATE privacy.audit_log', '42501',
                 'permission denied to truncate a catalog of pg_privacy on "audit_log"',
                 'TRUNCATE of the audit log is refused');
SELECT throws_ok('DROP TABLE rg.loose, privacy.subject_type', '42501',
                 'permission denied to drop a catalog of pg_privacy on "subject_type"',
                 'a catalog among other tables in one DROP is refused');
SELECT throws_ok('ALTER TABLE privacy.subject_type RENAME COLUMN name TO label', '42501',
                 'permission denied to rename a catalog of pg_privacy on "subject_type"',
                 'renaming a column of a catalog is refused');
RESET ROLE;
SELECT ok(to_regclass('rg.loose') IS NOT NULL AND to_regclass('privacy.subject_type') IS NOT NULL,
          'the refused DROP dropped nothing');

-- a member of privacy_admin passes the guard, but PostgreSQL still wants the owner
SET ROLE rg_admin_owner;
SELECT throws_ok('ALTER TABLE rg.people DISABLE ROW LEVEL SECURITY', '42501', 'must be owner of table people',
                 'the admin passes the guard but is not the owner of people');
SELECT throws_ok('TRUNCATE privacy.scope_grant', '42501', 'permission denied for table scope_grant',
                 'the admin passes the guard but has no TRUNCATE privilege on the catalog');
RESET ROLE;

-------------------------------------------------------------------------------
-- 2. allowed DDL on registered tables is audited
-------------------------------------------------------------------------------
SELECT pg_temp.mark();
SET ROLE rg_owner;
SELECT lives_ok('ALTER TABLE rg.people ADD COLUMN phone text', 'the owner adds a column');
SELECT is(pg_temp.new_entries(), 1, 'ALTER TABLE on a registered table appends an audit entry');
SELECT lives_ok('ALTER TABLE rg.people DROP COLUMN phone', 'the owner drops an unprotected column');
SELECT lives_ok('ALTER TABLE rg.people ALTER COLUMN note TYPE varchar(200)', 'the owner changes the type of an unprotected column');
SELECT is(pg_temp.new_entries(), 3, 'each ALTER TABLE appends one entry');
SELECT lives_ok('CREATE POLICY own_notes ON rg.notes USING (true)',
                'the owner adds a policy to a registered table without scope');
SELECT is(pg_temp.new_entries(), 4, 'CREATE POLICY on a registered table appends an audit entry');
SELECT lives_ok('ALTER POLICY own_notes ON rg.notes RENAME TO notes_policy', 'the owner renames that policy');
SELECT lives_ok('DROP POLICY notes_policy ON rg.notes', 'and drops it');
SELECT is(pg_temp.new_entries(), 6, 'renaming and dropping a policy of a registered table are audited');
SELECT lives_ok('ALTER TABLE rg.people ENABLE ROW LEVEL SECURITY', 'the owner may enable row-level security again');
SELECT lives_ok('ALTER TABLE rg.files RENAME TO attachments', 'the owner renames a registered table');
SELECT is(pg_temp.new_entries(), 8, 'ENABLE ROW LEVEL SECURITY and RENAME of a registered table append one entry each');
SELECT lives_ok('ALTER TABLE rg.loose ADD COLUMN note text', 'the owner alters an unregistered table');
SELECT lives_ok('CREATE POLICY loose_policy ON rg.loose USING (true)', 'and adds a policy to it');
SELECT is(pg_temp.new_entries(), 8, 'which is not audited');
RESET ROLE;
SELECT is(pg_temp.registry(),
          'rg.admin_people rg_admin_person key=id via=- scope=branch_id through=-; '
          'rg.links rg_contact key=contact_id via=- scope=branch_id through=-; '
          'rg.attachments rg_person key=- via={rg.people} scope=- through=rg.people; '
          'rg.links rg_person key=person_id via=- scope=branch_id through=-; '
          'rg.notes rg_person key=person_id via=- scope=- through=-; '
          'rg.people rg_person key=id via=- scope=branch_id through=-',
          'the registry follows the renamed table');
SET ROLE rg_clerk;
SELECT is((SELECT count(*)::int FROM rg.attachments), 1, 'the policy of the renamed table still applies');
RESET ROLE;

-------------------------------------------------------------------------------
-- 3. the admin: a member of privacy_admin on a table it owns
-------------------------------------------------------------------------------
SET ROLE rg_admin_owner;
SELECT pg_temp.mark();
SELECT lives_ok('ALTER POLICY privacy_scope ON rg.admin_people RENAME TO scope_renamed', 'the admin renames the policy');
SELECT lives_ok('ALTER POLICY scope_renamed ON rg.admin_people RENAME TO privacy_scope', 'and renames it back');
SELECT lives_ok('ALTER TABLE rg.admin_people NO FORCE ROW LEVEL SECURITY', 'the admin stops forcing row-level security');
SELECT lives_ok('ALTER TABLE rg.admin_people DISABLE ROW LEVEL SECURITY', 'the admin disables row-level security');
SELECT is(pg_temp.rls('rg.admin_people'), 'f/f/t', 'row-level security is off');
SELECT lives_ok('ALTER TABLE rg.admin_people ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY',
                'the admin turns it back on');
SELECT lives_ok($$ALTER POLICY privacy_scope ON rg.admin_people USING (privacy.scope_all('branch'))$$,
                'the admin alters the policy');
SELECT lives_ok('ALTER TABLE rg.admin_people ALTER COLUMN id TYPE bigint', 'the admin changes the type of the key column');
SELECT lives_ok('ALTER TABLE rg.admin_people DROP COLUMN bsn', 'the admin drops a bsn column');
SELECT lives_ok('DROP POLICY privacy_scope ON rg.admin_people', 'the admin drops the policy');
SELECT lives_ok('ALTER TABLE rg.admin_people ALTER COLUMN branch_id TYPE int', 'the admin changes the type of the scope column');
SELECT lives_ok('ALTER TABLE rg.admin_people DROP COLUMN branch_id', 'the admin drops the scope column');
SELECT is(pg_temp.new_entries(), 11, 'each of these eleven changes of the admin is audited too');
RESET ROLE;
SELECT lives_ok($$SELECT privacy.grant_scope('rg_clerk', '5', 'rg_region')$$,
                'grant_scope of that kind still works once its scope column is gone');
SELECT is(pg_temp.rls('rg.admin_people'), 't/t/f', 'the admin''s table: forced row-level security, no policy');
SET ROLE rg_admin_owner;
SELECT lives_ok($$SELECT privacy.unregister_table('rg.admin_people')$$, 'the admin unregisters the table');
RESET ROLE;
SELECT is(pg_temp.rls('rg.admin_people'), 'f/f/f', 'unregistering restored the row-level security flags');

-------------------------------------------------------------------------------
-- 4. a superuser on a table owned by someone else
-------------------------------------------------------------------------------
SET ROLE rg_super;
SELECT lives_ok('ALTER TABLE rg.people NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY',
                'a superuser turns row-level security off');
SELECT lives_ok('ALTER TABLE rg.people ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY',
                'and on again');
SELECT lives_ok('ALTER POLICY privacy_scope ON rg.people RENAME TO scope_renamed', 'a superuser renames the policy');
SELECT lives_ok('ALTER POLICY scope_renamed ON rg.people RENAME TO privacy_scope', 'and back');
SELECT lives_ok('ALTER TABLE rg.people ALTER COLUMN bsn TYPE privacy.bsn', 'a superuser retypes a bsn column');
SELECT lives_ok('TRUNCATE privacy.scope_grant', 'a superuser may truncate a catalog');
RESET ROLE;
SELECT is(pg_temp.rls('rg.people'), 't/t/t', 'people is protected as before');
SET ROLE rg_clerk;
SELECT is((SELECT count(*)::int FROM rg.people), 0, 'the truncated grants took effect at the next statement');
RESET ROLE;
SELECT lives_ok($$SELECT privacy.grant_scope('rg_clerk', '12')$$, 'the clerk gets branch 12 back');
SET ROLE rg_clerk;
SELECT is((SELECT count(*)::int FROM rg.people), 2, 'the clerk sees branch 12 again');
RESET ROLE;

-------------------------------------------------------------------------------
-- 5. renames keep the registry correct
-------------------------------------------------------------------------------
SELECT pg_temp.mark();
SET ROLE rg_owner;
SELECT lives_ok('ALTER TABLE rg.people RENAME COLUMN branch_id TO vestiging', 'the owner renames the scope column');
SELECT lives_ok('ALTER TABLE rg.people RENAME COLUMN id TO person_no', 'the owner renames the key column');
SELECT lives_ok('ALTER TABLE rg.attachments RENAME COLUMN person_id TO owner_no',
                'the owner renames the foreign-key column of the table scoped through people');
SELECT lives_ok('ALTER TABLE rg.people RENAME TO persons', 'the owner renames the table');
RESET ROLE;
SELECT is(pg_temp.registry(),
          'rg.links rg_contact key=contact_id via=- scope=branch_id through=-; '
          'rg.attachments rg_person key=- via={rg.persons} scope=- through=rg.persons; '
          'rg.links rg_person key=person_id via=- scope=branch_id through=-; '
          'rg.notes rg_person key=person_id via=- scope=- through=-; '
          'rg.persons rg_person key=person_no via=- scope=vestiging through=-',
          'the registry follows renamed columns and tables');
SELECT results_eq(
    $$SELECT scope_fk_columns::text COLLATE "default", scope_ref_columns::text COLLATE "default"
        FROM privacy.registered_table WHERE relid = 'rg.attachments'::regclass$$,
    $$VALUES ('{owner_no}', '{person_no}')$$,
    'the foreign key of the scope follows both renames');
SELECT is((SELECT via_columns FROM privacy.table_subject WHERE relid = 'rg.attachments'::regclass),
          '[{"columns": ["owner_no"], "ref_columns": ["person_no"]}]'::jsonb,
          'the foreign-key path follows both renames');
SELECT is((SELECT key_column::text FROM privacy.subject_type WHERE name = 'rg_person'), 'person_no',
          'the subject type follows the renamed key column');
SELECT is(pg_temp.new_entries(), 4, 'the four renames are audited');
SET ROLE rg_clerk;
SELECT is((SELECT count(*)::int FROM rg.persons), 2, 'the policy still applies after the renames');
SELECT is((SELECT count(*)::int FROM rg.attachments), 1, 'and so does the policy through the parent');
SET enable_seqscan = off;
SELECT matches(pg_temp.plan('SELECT person_no FROM rg.persons'),
               'vestiging = ANY \(''\{12\}''::smallint\[\]\)',
               'the folded policy names the renamed scope column');
RESET enable_seqscan;
RESET ROLE;
SET ROLE rg_owner;
SELECT throws_ok('ALTER TABLE rg.persons DROP COLUMN vestiging', '42501',
                 'permission denied to drop column "vestiging" on "persons"',
                 'the guard protects the scope column under its new name');
SELECT throws_ok('ALTER TABLE rg.persons ALTER COLUMN person_no TYPE bigint', '42501',
                 'permission denied to change the type of column "person_no" on "persons"',
                 'and the key column under its new name');
SELECT throws_ok('ALTER TABLE rg.persons DISABLE ROW LEVEL SECURITY', '42501',
                 'permission denied to turn off row-level security on "persons"',
                 'and the renamed table');
RESET ROLE;
ALTER SCHEMA rg RENAME TO rg_renamed;
SELECT is(pg_temp.registry(),
          'rg_renamed.links rg_contact key=contact_id via=- scope=branch_id through=-; '
          'rg_renamed.attachments rg_person key=- via={rg_renamed.persons} scope=- through=rg_renamed.persons; '
          'rg_renamed.links rg_person key=person_id via=- scope=branch_id through=-; '
          'rg_renamed.notes rg_person key=person_id via=- scope=- through=-; '
          'rg_renamed.persons rg_person key=person_no via=- scope=vestiging through=-',
          'the registry follows a renamed schema');
ALTER SCHEMA rg_renamed RENAME TO rg;

-------------------------------------------------------------------------------
-- 6. dropping registered tables removes their registration
-------------------------------------------------------------------------------
SELECT pg_temp.mark();
SET ROLE rg_owner;
SELECT is(pg_temp.error_of('DROP TABLE rg.attachments'), 'no error', 'the owner drops a registered table');
SELECT is(pg_temp.new_entries(), 1, 'the drop is audited');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.registered_table WHERE relid::oid NOT IN (SELECT oid FROM pg_class)), 0,
          'no registration is left for a dropped table');
SELECT is(pg_temp.registry(),
          'rg.links rg_contact key=contact_id via=- scope=branch_id through=-; '
          'rg.links rg_person key=person_id via=- scope=branch_id through=-; '
          'rg.notes rg_person key=person_id via=- scope=- through=-; '
          'rg.persons rg_person key=person_no via=- scope=vestiging through=-',
          'the dropped table left the registry');
DROP SCHEMA rg CASCADE;
SELECT is(pg_temp.registry(), NULL, 'DROP SCHEMA ... CASCADE removes every registration of its tables');
SELECT is((SELECT count(*)::int FROM privacy.subject_type WHERE name LIKE 'rg\_%'), 0,
          'and the subject types whose table was dropped');
SELECT is((SELECT count(*)::int FROM privacy.table_subject t
            WHERE NOT EXISTS (SELECT FROM privacy.registered_table r WHERE r.relid = t.relid)), 0,
          'no subject mapping is left without its table');

SELECT * FROM finish();
ROLLBACK;
