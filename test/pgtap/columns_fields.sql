-- Optional and forbidden fields, and the management functions of column
-- policies.
--
-- An optional field switched off reads NULL for everyone but superusers
-- (the owner included), refuses every non-NULL write with 23514 and the
-- exact message (superusers included), lets updates of other columns pass,
-- is emptied by clear_field (count returned, audited as column.clear), and
-- switched back on does not bring the values back.  A forbidden field
-- refuses every non-NULL write for everyone with the reason as detail.  The
-- guard trigger comes and goes with such fields.  Only members of
-- privacy_admin (or superusers) manage policies, checked against the
-- calling role also through a security definer function (42501), and the
-- functions report unregistered tables, unknown columns and classes, and a
-- fixed mask that is no value of the column's type (42804).
BEGIN;
SELECT plan(75);

SET client_min_messages = warning;
CREATE ROLE cf_owner;
CREATE ROLE cf_clerk;
CREATE ROLE cf_admin IN ROLE privacy_admin;
CREATE ROLE cf_super SUPERUSER;
CREATE SCHEMA cf;
GRANT USAGE, CREATE ON SCHEMA cf TO cf_owner, cf_admin;
GRANT USAGE ON SCHEMA cf TO cf_clerk;

SET ROLE cf_owner;
CREATE TABLE cf.t (
    id         int PRIMARY KEY,
    name       text,
    photo      bytea,
    diagnosis  text,
    note       text,
    n          int
);
INSERT INTO cf.t VALUES
    (1, 'Jan', '\x0102', NULL, 'a', 1),
    (2, 'Piet', '\x03', 'flu', 'b', 2),
    (3, 'Klaas', NULL, NULL, 'c', 3);
CREATE TABLE cf.other (id int PRIMARY KEY, photo bytea);
CREATE TABLE cf.unregistered (id int PRIMARY KEY, name text);
GRANT SELECT, INSERT, UPDATE ON cf.t, cf.other TO cf_clerk, cf_admin;
RESET ROLE;

SELECT privacy.register_subject_type('cf_person', 'cf.t', 'id');
SELECT privacy.register_table('cf.t', 'cf_person');
SELECT privacy.register_table('cf.other', 'cf_person', key_column => 'id');
SELECT privacy.classify_column('cf.t', 'photo', 'photo');

-- the error of a statement as "SQLSTATE: message (detail)"
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || CASE WHEN det <> '' THEN ' (' || det || ')' ELSE '' END;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text) TO PUBLIC;

-------------------------------------------------------------------------------
-- optional field switched off
-------------------------------------------------------------------------------
SET ROLE cf_admin;
SELECT lives_ok($$SELECT privacy.set_optional_field('cf.t', 'photo', false)$$,
                'a privacy admin switches an optional field off');
RESET ROLE;
SELECT has_trigger('cf', 't', 'privacy_column_guard', 'the guard trigger is created');
SELECT is((SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'cf.t'::regclass AND tgname = 'privacy_column_guard'),
          'A', 'the guard fires always, also for replication roles');
SELECT is((SELECT state FROM privacy.column_policies WHERE tbl = 'cf.t'::regclass AND column_name = 'photo'), 'off',
          'column_policies shows the field off');
SELECT is((SELECT action FROM privacy.audit_log ORDER BY seq DESC LIMIT 1), 'column.switch_off', 'switching off is audited');

SET ROLE cf_clerk;
SELECT is((SELECT count(photo)::int FROM cf.t), 0, 'the clerk reads the field switched off as NULL');
SELECT is((SELECT count(*)::int FROM cf.t WHERE photo = '\x03'), 0, 'WHERE on the stored value finds nothing');
RESET ROLE;
SET ROLE cf_owner;
SELECT is((SELECT count(photo)::int FROM cf.t), 0, 'the owner reads it as NULL too');
RESET ROLE;
SET ROLE cf_admin;
SELECT is((SELECT count(photo)::int FROM cf.t), 0, 'the privacy admin reads it as NULL too');
RESET ROLE;
SET ROLE cf_super;
SELECT is((SELECT photo FROM cf.t WHERE id = 1), '\x0102'::bytea, 'a superuser reads the stored value');
RESET ROLE;

SET ROLE cf_clerk;
SELECT throws_ok($$INSERT INTO cf.t (id, photo) VALUES (10, '\xff')$$, '23514',
                 'column "photo" of table "t" is switched off', 'the clerk cannot insert a value');
SELECT throws_ok($$UPDATE cf.t SET photo = '\xff' WHERE id = 3$$, '23514',
                 'column "photo" of table "t" is switched off', 'nor set a value where there was none');
SELECT throws_ok($$UPDATE cf.t SET photo = '\xff' WHERE id = 2$$, '23514',
                 'column "photo" of table "t" is switched off', 'nor change a stored value');
SELECT throws_ok($$INSERT INTO cf.t (id, photo) VALUES (3, '\xff') ON CONFLICT (id) DO UPDATE SET photo = EXCLUDED.photo$$,
                 '23514', 'column "photo" of table "t" is switched off', 'nor through ON CONFLICT DO UPDATE');
SELECT lives_ok($$INSERT INTO cf.t (id, name, photo) VALUES (10, 'Anna', NULL)$$, 'inserting NULL passes');
SELECT lives_ok($$INSERT INTO cf.t (id, name) VALUES (11, 'Bob')$$, 'inserting without the field passes');
SELECT lives_ok($$UPDATE cf.t SET note = 'changed' WHERE id IN (1, 2)$$,
                'updating other columns of rows with a stored value passes');
SELECT is(pg_temp.error_of($$UPDATE cf.t SET photo = '\x01' WHERE id = 11$$),
          '23514: column "photo" of table "t" is switched off (This installation does not store this field (privacy.set_optional_field).)',
          'the refusal says why');
RESET ROLE;
SET ROLE cf_owner;
SELECT throws_ok($$UPDATE cf.t SET photo = '\x09' WHERE id = 1$$, '23514',
                 'column "photo" of table "t" is switched off', 'the owner cannot write a value');
RESET ROLE;
SET ROLE cf_super;
SELECT throws_ok($$INSERT INTO cf.t (id, photo) VALUES (12, '\xff')$$, '23514',
                 'column "photo" of table "t" is switched off', 'nor can a superuser');
SELECT lives_ok($$UPDATE cf.t SET note = 'again' WHERE id = 1$$, 'a superuser updates other columns');
SELECT results_eq($$SELECT id, photo, note FROM cf.t WHERE id IN (1, 2) ORDER BY id$$,
                  $$VALUES (1, '\x0102'::bytea, 'again'), (2, '\x03'::bytea, 'changed')$$,
                  'the stored values were left alone by the updates');
RESET ROLE;

-- clearing the stored values
SET ROLE cf_clerk;
SELECT throws_ok($$SELECT privacy.clear_field('cf.t', 'photo')$$, '42501', NULL, 'the clerk cannot clear a field');
RESET ROLE;
SET ROLE cf_owner;
SELECT throws_ok($$SELECT privacy.clear_field('cf.t', 'photo')$$, '42501', NULL, 'nor can the owner');
RESET ROLE;
SET ROLE cf_admin;
SELECT is(privacy.clear_field('cf.t', 'photo'), 2::bigint, 'clear_field returns the number of values removed');
SELECT ok(privacy.audit_pending() > 0, 'clearing is pending in the audit trail');
SELECT throws_ok($$SELECT privacy.clear_field('cf.t', 'name')$$, '55000',
                 'column "name" of "cf.t" is neither switched off nor forbidden',
                 'a field that is on cannot be cleared');
RESET ROLE;
SELECT results_eq($$SELECT action, object, details FROM privacy.audit_log WHERE action = 'column.clear' ORDER BY seq DESC LIMIT 1$$,
                  $$VALUES ('column.clear', 'cf.t.photo', '{"rows": 2}'::jsonb)$$,
                  'the audit entry names the field and the count');
SELECT is((SELECT count(photo)::int FROM cf.t), 0, 'no stored value is left');
SET ROLE cf_admin;
SELECT is(privacy.clear_field('cf.t', 'photo'), 0::bigint, 'clearing again removes nothing');
RESET ROLE;

SELECT throws_ok($$SELECT privacy.set_optional_field('cf.other', 'photo', NULL)$$, '22004',
                 'enabled must be true or false', 'enabled may not be NULL');

-------------------------------------------------------------------------------
-- forbidden field
-------------------------------------------------------------------------------
SET ROLE cf_admin;
SELECT lives_ok($$SELECT privacy.forbid_field('cf.t', 'diagnosis', 'Not needed for the purpose (GDPR art. 5)')$$,
                'the admin forbids a field');
SELECT throws_ok($$SELECT privacy.forbid_field('cf.t', 'note', '')$$, '22004',
                 'a forbidden field needs a reason', 'a forbidden field needs a reason');
SELECT throws_ok($$SELECT privacy.forbid_field('cf.t', 'note', NULL)$$, '22004',
                 'a forbidden field needs a reason', 'NULL is no reason');
SELECT throws_ok($$SELECT privacy.set_optional_field('cf.t', 'diagnosis', true)$$, '55000',
                 'column "diagnosis" of "cf.t" is forbidden, not optional', 'a forbidden field cannot be switched on');
RESET ROLE;
SELECT has_trigger('cf', 't', 'privacy_column_guard', 'the guard trigger is still there');
SELECT results_eq($$SELECT state, reason FROM privacy.column_policies WHERE tbl = 'cf.t'::regclass AND column_name = 'diagnosis'$$,
                  $$VALUES ('forbidden', 'Not needed for the purpose (GDPR art. 5)')$$,
                  'column_policies shows the field forbidden with the reason');

SET ROLE cf_clerk;
SELECT is(pg_temp.error_of($$INSERT INTO cf.t (id, diagnosis) VALUES (20, 'flu')$$),
          '23514: column "diagnosis" of table "t" may not hold a value (Not needed for the purpose (GDPR art. 5))',
          'the clerk cannot insert a value; the detail is the reason');
SELECT is(pg_temp.error_of($$UPDATE cf.t SET diagnosis = 'cold' WHERE id = 1$$),
          '23514: column "diagnosis" of table "t" may not hold a value (Not needed for the purpose (GDPR art. 5))',
          'nor set one');
SELECT is((SELECT count(diagnosis)::int FROM cf.t), 0, 'the clerk reads the forbidden field as NULL');
SELECT lives_ok($$UPDATE cf.t SET note = 'x' WHERE id = 2$$, 'updating another column of a row with an old value passes');
SELECT lives_ok($$INSERT INTO cf.t (id, diagnosis) VALUES (21, NULL)$$, 'inserting NULL passes');
RESET ROLE;
SET ROLE cf_owner;
SELECT throws_ok($$INSERT INTO cf.t (id, diagnosis) VALUES (22, 'flu')$$, '23514',
                 'column "diagnosis" of table "t" may not hold a value', 'the owner cannot write a value');
RESET ROLE;
SET ROLE cf_admin;
SELECT throws_ok($$UPDATE cf.t SET diagnosis = 'x' WHERE id = 3$$, '23514',
                 'column "diagnosis" of table "t" may not hold a value', 'nor the admin');
RESET ROLE;
SET ROLE cf_super;
SELECT is(pg_temp.error_of($$UPDATE cf.t SET diagnosis = 'x' WHERE id = 3$$),
          '23514: column "diagnosis" of table "t" may not hold a value (Not needed for the purpose (GDPR art. 5))',
          'nor a superuser');
SELECT throws_ok($$COPY cf.t (id, diagnosis) FROM PROGRAM 'echo 23,flu' WITH (FORMAT csv)$$, '23514',
                 'column "diagnosis" of table "t" may not hold a value', 'nor COPY FROM');
SELECT throws_ok($$UPDATE cf.t SET diagnosis = 'other' WHERE id = 2$$, '23514',
                 'column "diagnosis" of table "t" may not hold a value', 'an old value cannot be changed');
SET session_replication_role = replica;
SELECT throws_ok($$INSERT INTO cf.t (id, diagnosis) VALUES (24, 'flu')$$, '23514',
                 'column "diagnosis" of table "t" may not hold a value', 'nor as a replica');
RESET session_replication_role;
SELECT is((SELECT diagnosis FROM cf.t WHERE id = 2), 'flu', 'the old value stays until cleared');
RESET ROLE;
SET ROLE cf_owner;
SELECT throws_ok($$ALTER TABLE cf.t DISABLE TRIGGER privacy_column_guard$$, '42501', NULL,
                 'the owner cannot disable the guard');
SELECT throws_ok($$DROP TRIGGER privacy_column_guard ON cf.t$$, '42501', NULL, 'nor drop it');
RESET ROLE;
SET ROLE cf_admin;
SELECT is(privacy.clear_field('cf.t', 'diagnosis'), 1::bigint, 'a forbidden field can be cleared');
RESET ROLE;
SELECT is((SELECT count(diagnosis)::int FROM cf.t), 0, 'and then holds no value');

-------------------------------------------------------------------------------
-- who may manage policies
-------------------------------------------------------------------------------
SET ROLE cf_clerk;
SELECT throws_ok($$SELECT privacy.classify_column('cf.t', 'name', 'identifying')$$, '42501', NULL,
                 'the clerk cannot classify');
SELECT throws_ok($$SELECT privacy.unclassify_column('cf.t', 'name')$$, '42501', NULL, 'nor unclassify');
SELECT throws_ok($$SELECT privacy.set_optional_field('cf.t', 'note', false)$$, '42501', NULL, 'nor switch a field off');
SELECT throws_ok($$SELECT privacy.forbid_field('cf.t', 'note', 'no')$$, '42501', NULL, 'nor forbid a field');
RESET ROLE;
SET ROLE cf_owner;
SELECT throws_ok($$SELECT privacy.classify_column('cf.t', 'name', 'identifying')$$, '42501', NULL,
                 'the owner of the table cannot classify');
SELECT throws_ok($$INSERT INTO privacy.column_policy (relid, column_name, class) VALUES ('cf.t', 'name', 'special')$$,
                 '42501', NULL, 'nor write the policy catalog');
RESET ROLE;

-- the calling role counts, also inside a security definer function
SET ROLE cf_admin;
CREATE FUNCTION cf.classify_for_me(col name) RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$SELECT privacy.classify_column('cf.t', col, 'identifying')$$;
CREATE FUNCTION cf.switch_off_for_me(col name) RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$SELECT privacy.set_optional_field('cf.t', col, false)$$;
GRANT EXECUTE ON FUNCTION cf.classify_for_me(name), cf.switch_off_for_me(name) TO cf_clerk;
RESET ROLE;
SET ROLE cf_clerk;
SELECT throws_ok($$SELECT cf.classify_for_me('name')$$, '42501', 'permission denied to manage the privacy registry',
                 'a clerk cannot classify through a security definer function of an admin');
SELECT throws_ok($$SELECT cf.switch_off_for_me('note')$$, '42501', 'permission denied to manage the privacy registry',
                 'nor switch a field off');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.column_policies WHERE tbl = 'cf.t'::regclass AND column_name IN ('name', 'note')), 0,
          'the refused calls changed nothing');

-------------------------------------------------------------------------------
-- errors
-------------------------------------------------------------------------------
SELECT throws_ok($$SELECT privacy.classify_column('cf.unregistered', 'name', 'identifying')$$, '42704',
                 'table "cf.unregistered" is not registered', 'an unregistered table');
SELECT throws_ok($$SELECT privacy.set_optional_field('cf.unregistered', 'name', false)$$, '42704',
                 'table "cf.unregistered" is not registered', 'an unregistered table, optional field');
SELECT throws_ok($$SELECT privacy.forbid_field('cf.unregistered', 'name', 'no')$$, '42704',
                 'table "cf.unregistered" is not registered', 'an unregistered table, forbidden field');
SELECT throws_ok($$SELECT privacy.classify_column('cf.t', 'nope', 'identifying')$$, '42703',
                 'column "nope" of relation "cf.t" does not exist', 'an unknown column');
SELECT throws_ok($$SELECT privacy.forbid_field('cf.t', 'ctid', 'no')$$, '42703',
                 'column "ctid" of relation "cf.t" does not exist', 'a system column is no column to forbid');
SELECT throws_ok($$SELECT privacy.classify_column('cf.t', 'name', 'nope')$$, '42704',
                 'column class "nope" does not exist', 'an unknown class');
SELECT throws_ok($$SELECT privacy.classify_column('cf.t', 'name', 'Identifying')$$, '42704',
                 'column class "Identifying" does not exist', 'class names are case sensitive');
INSERT INTO privacy.column_class (name, viewer_role, mask, mask_param) VALUES ('cf_word', 'privacy_special', 'fixed', 'secret');
SELECT throws_ok($$SELECT privacy.classify_column('cf.t', 'n', 'cf_word')$$, '42804',
                 'the fixed mask of class "cf_word" is not a value of column "n" of "cf.t"',
                 'a fixed mask that is no value of the column type');
SELECT lives_ok($$SELECT privacy.classify_column('cf.t', 'note', 'cf_word')$$, 'the same class on a text column');
SELECT throws_ok($$INSERT INTO privacy.column_class (name, mask, mask_param) VALUES ('cf_bad', 'partial', 'x')$$, '23514', NULL,
                 'a partial class keeps a number of characters');
SELECT throws_ok($$INSERT INTO privacy.column_class (name, mask) VALUES ('cf_bad', 'fixed')$$, '23514', NULL,
                 'a fixed class needs its value');
SELECT throws_ok($$INSERT INTO privacy.column_class (name, mask) VALUES ('cf_bad', 'shuffle')$$, '23514', NULL,
                 'an unknown mask style is refused');
SELECT is((SELECT count(*)::int FROM privacy.column_policies WHERE tbl = 'cf.t'::regclass AND column_name IN ('name', 'n')), 0,
          'the failed calls recorded nothing');

SELECT * FROM finish();
ROLLBACK;
