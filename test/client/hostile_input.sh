#!/usr/bin/env bash
# Hostile input to every function and procedure of schema privacy, and a
# search_path attack on the extension.
#
# 1. Every function, aggregate and procedure of schema privacy, enumerated
#    from pg_proc (so that new ones are covered without editing this file),
#    is called as the superuser, and those whose names do not start with an
#    underscore also as a clerk who holds no privacy role, with:
#      - plausible arguments (a registered table, a subject that exists, ...),
#      - all NULLs,
#      - every text argument '' at once, and 100 kB at once,
#      - per argument, the others plausible, values of its type that are
#        hostile: NULL, '', 'abc' where a regclass, regrole, regtype, number,
#        date, interval, boolean or jsonb is expected, a 100 kB string,
#        a table and a column that do not exist, OIDs 0 and 4294967295,
#        an index, a view, a sequence, a system catalog, the extension's own
#        audit log, identifiers that need quotes ("Robert'); DROP TABLE x;--"
#        as a schema, a table, columns and a role that exist), format
#        directives, SQL fragments with comments and unbalanced parentheses,
#        extreme numbers, dates and intervals, malformed JSON shapes.
#    Every call runs in a subtransaction that is rolled back, so calls do not
#    change what later calls see; procedures are also called at top level.
#    Each call must return a result or fail with a clear error: any SQLSTATE
#    but class XX (internal error).  As the clerk, a function PUBLIC may not
#    execute never returns a result.  After each function the server must still
#    answer, a connection opened at the start must still be there (a crashed
#    backend makes the postmaster end every connection), and at the end the
#    postmaster pid must be the same and the server log (when readable at
#    $PGHOST/server.log) must have no process terminated by a signal.  A
#    sentinel table public.x must still exist, and an event trigger must
#    never have seen it dropped (also not in a rolled-back call).
#    A retention rule whose condition or start expression ends in a "--"
#    comment must either be refused or work.
#
#    Not called, and why:
#      - functions taking type internal (bsn_recv, bsn_typanalyze,
#        bsn_sortsupport, scope_support, restriction_support): planner,
#        ANALYZE and protocol support that SQL cannot call;
#      - the type I/O functions of privacy.bsn (bsn_in, bsn_out, bsn_send,
#        bsn_recv): reached through casts, COPY and the binary protocol,
#        which test/client/binary_protocol.sh and the fuzzer cover;
#      - trigger and event trigger functions (audit_log_guard,
#        registry_changed, column_guard, rectification_trigger,
#        _registry_sql_drop): PostgreSQL refuses to call them directly.
#    The list actually skipped is printed as comments.
#
# 2. A search_path attack in the manner of PostgreSQL's own security tests:
#    an unprivileged role with CREATE on schema public plants functions,
#    aggregates and operators there with the names and argument types of
#    pg_catalog's (copies of every signature of about 90 functions used in
#    SQL, =, <>, <, >, <=, >=, +, -, ||, ~~, ~, ->, ->>, ?, @> ... on the
#    common types, = on regclass, regrole and regtype, format(),
#    jsonb_build_object() and concat_ws() with concrete argument types,
#    count(*), array_agg, string_agg, jsonb_agg ...), each of which counts
#    its calls in a sequence and raises a WARNING naming itself and the role
#    it runs as.  With search_path = public, pg_catalog (public first) the
#    superuser, the privacy admin, the privacy officer and a clerk then call
#    the extension's functions (registration, scopes, column policies,
#    retention rules, status, purge_plan, CALL privacy.purge(), holds,
#    purposes, recipients, requests, export, erasure, restriction, the
#    record of processing, audit_verify ...) and read and change registered
#    tables (the planner and executor hooks, the rectification trigger).
#    CREATE EXTENSION pg_privacy runs in a fresh database with the planted
#    objects present (pgcrypto installed before them).  None of the planted
#    objects may ever be called; a control query shows that they are
#    reachable when called directly.
#
# Needs PGHOST/PGPORT/PGUSER (a superuser); creates and drops its own
# databases (hostile_input, hostile_fresh) and roles (hi_*).  Exits non-zero
# when a check fails.
set -uo pipefail

DB=hostile_input
FRESH=hostile_fresh
ROLES=(hi_clerk hi_admin hi_officer hi_attacker "hi'); DROP TABLE x;--")
TMP=$(mktemp -d /tmp/hostile_input.XXXXXX)
chmod 755 "$TMP"
. "$(dirname "$0")/lib/checks.sh"
START=$(date +%s)
WITNESS_PID=

cleanup() {
    [ -n "$WITNESS_PID" ] && kill "$WITNESS_PID" 2>/dev/null
    for db in $DB $FRESH; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    done
    for r in "${ROLES[@]}"; do
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS \"${r//\"/\"\"}\"" >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
cleanup
mkdir -p "$TMP"

q() { # sql [db]: the result as unaligned text, as the superuser
    psql -X -q -At -v ON_ERROR_STOP=1 -d "${2:-$DB}" -c "$1"
}

# what tells a crash: the postmaster pid, the server log, a witness connection
PIDFILE=${PGHOST:-}/data/postmaster.pid
SERVERLOG=${PGHOST:-}/server.log
pm_pid() { [ -r "$PIDFILE" ] && head -n 1 "$PIDFILE"; }
PM0=$(pm_pid)
START_TIME=$(q "SELECT pg_postmaster_start_time()" postgres)
LOG0=0
[ -r "$SERVERLOG" ] && LOG0=$(wc -c <"$SERVERLOG")

# ---------------------------------------------------------------------------
# The database: a registered schema, and objects with hostile names
# ---------------------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" -c "CREATE DATABASE $FRESH" >/dev/null || exit 1
# the extension first: it creates the privacy roles when they are missing
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_privacy CASCADE;
CREATE ROLE hi_clerk LOGIN;
CREATE ROLE hi_admin LOGIN IN ROLE privacy_admin;
CREATE ROLE hi_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE hi_attacker LOGIN;
CREATE ROLE "hi'); DROP TABLE x;--" NOLOGIN;
SQL

psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >"$TMP/setup.log" 2>&1 <<'SQL' || { cat "$TMP/setup.log"; exit 1; }
SET client_min_messages = warning;

-- the sentinel, and a watch on its being dropped that survives a rollback
CREATE SCHEMA hi_driver;
CREATE TABLE public.x (id int);
INSERT INTO public.x VALUES (1);
CREATE SEQUENCE hi_driver.x_drops;
GRANT USAGE ON SCHEMA hi_driver TO PUBLIC;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE hi_driver.x_drops TO PUBLIC;
CREATE FUNCTION hi_driver.watch_drops() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_event_trigger_dropped_objects() o
                WHERE o.object_type OPERATOR(pg_catalog.=) 'table'
                  AND o.object_identity OPERATOR(pg_catalog.=) 'public.x') THEN
        PERFORM pg_catalog.nextval('hi_driver.x_drops');
        RAISE WARNING 'the sentinel table public.x was dropped';
    END IF;
END
$$;
CREATE EVENT TRIGGER hi_watch_drops ON sql_drop EXECUTE FUNCTION hi_driver.watch_drops();

CREATE SCHEMA hi;
CREATE TABLE hi.people (id int PRIMARY KEY, branch text NOT NULL, name text, bsn privacy.bsn,
                        note text, diagnosis text);
CREATE TABLE hi.docs (id int PRIMARY KEY, person_id int NOT NULL REFERENCES hi.people, created_at date NOT NULL,
                      body text);
CREATE TABLE hi.notes (id int PRIMARY KEY, person_id int NOT NULL REFERENCES hi.people, created_at date NOT NULL,
                       body text);
INSERT INTO hi.people SELECT g, (g % 3)::text, 'person ' || g, NULL, 'phone 0612345678', NULL
  FROM generate_series(1, 30) g;
UPDATE hi.people SET bsn = '111222333', diagnosis = 'flu' WHERE id = 1;
UPDATE hi.people SET bsn = '123456782' WHERE id = 2;
INSERT INTO hi.docs SELECT g, 1 + g % 30, current_date - (g % 3) * 400, 'doc ' || g FROM generate_series(1, 90) g;
INSERT INTO hi.notes SELECT g, 1 + g % 30, current_date - (g % 2) * 400, 'BSN 111222333' FROM generate_series(1, 60) g;
CREATE VIEW hi.v AS SELECT id FROM hi.people;
CREATE SEQUENCE hi.s;

-- a schema, a table and columns whose names need quotes
CREATE SCHEMA "Robert'); DROP TABLE x;--";
CREATE TABLE "Robert'); DROP TABLE x;--"."Robert'); DROP TABLE x;--" (
    id int PRIMARY KEY,
    "col'); DROP TABLE x;--" text,
    "branch'); DROP TABLE x;--" text NOT NULL,
    "when'); DROP TABLE x;--" date NOT NULL);
INSERT INTO "Robert'); DROP TABLE x;--"."Robert'); DROP TABLE x;--"
SELECT g, 'value ' || g, (g % 2)::text, current_date - (g % 2) * 400 FROM generate_series(1, 20) g;

GRANT USAGE ON SCHEMA hi, "Robert'); DROP TABLE x;--" TO hi_clerk, hi_admin, hi_officer;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA hi, "Robert'); DROP TABLE x;--" TO hi_clerk;
GRANT SELECT ON ALL TABLES IN SCHEMA hi, "Robert'); DROP TABLE x;--" TO hi_admin, hi_officer;

SET ROLE hi_admin;
SELECT privacy.register_subject_type('person', 'hi.people', 'id', 'people');
SELECT privacy.register_table('hi.people', 'person', scope_column => 'branch');
SELECT privacy.register_table('hi.docs', 'person', key_column => 'person_id', scope_through => 'hi.people');
SELECT privacy.register_subject_type('hostile', '"Robert''); DROP TABLE x;--"."Robert''); DROP TABLE x;--"', 'id');
SELECT privacy.register_table('"Robert''); DROP TABLE x;--"."Robert''); DROP TABLE x;--"', 'hostile',
                              scope_column => 'branch''); DROP TABLE x;--');
SELECT privacy.grant_scope('hi_clerk', '1');
SELECT privacy.grant_scope('privacy_officer', '*');
SELECT privacy.grant_scope('"hi''); DROP TABLE x;--"', '1');
SELECT privacy.classify_column('hi.people', 'note', 'contact');
SELECT privacy.classify_column('"Robert''); DROP TABLE x;--"."Robert''); DROP TABLE x;--"',
                               'col''); DROP TABLE x;--', 'identifying');
SELECT privacy.forbid_field('hi.people', 'diagnosis', 'not ours to keep');
SELECT privacy.define_document_type('hi_doc', '30 days', 'creation');
SELECT privacy.create_retention_rule('hi_rule', 'hi.docs', 'hi_doc', start_expr => 'created_at');
SELECT privacy.create_retention_rule('hi_hostile_rule',
                                     '"Robert''); DROP TABLE x;--"."Robert''); DROP TABLE x;--"', 'hi_doc',
                                     start_expr => '"when''); DROP TABLE x;--"',
                                     condition => '"branch''); DROP TABLE x;--" <> ''Robert''''); DROP TABLE x;--''');
SELECT privacy.define_purpose('hi_purpose', 'p', 'consent');
SELECT privacy.bind_purpose('hi.docs', 'hi_purpose');
SELECT privacy.define_recipient('hi_recipient', 'authority', 'NL', 'eu_eea');
RESET ROLE;
SET ROLE hi_officer;
SELECT privacy.place_hold('person', '2', 'court');
SELECT privacy.place_hold('hostile', '1', 'Robert''); DROP TABLE x;--');
SELECT privacy.record_consent('person', '1', 'hi_purpose');
SELECT privacy.record_disclosure('hi_recipient', 'person', '1', '{identifying}');
SELECT privacy.register_request('person', '1', 'access');
SELECT privacy.restrict_subject('person', '3', 'contested');
RESET ROLE;
GRANT ALL ON SCHEMA hi_driver TO PUBLIC;
SQL
ok 0 "setup: a registered schema, and a schema, table, columns and role whose names need quotes, registered, classified, scoped and under a rule"

# ---------------------------------------------------------------------------
# 1. Every function with hostile arguments
# ---------------------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >"$TMP/generate.log" 2>&1 <<'SQL' || { cat "$TMP/generate.log"; exit 1; }
SET client_min_messages = warning;
-- what is not called
CREATE TABLE hi_driver.skipped AS
SELECT p.oid::regprocedure AS fn,
       CASE WHEN p.oid IN (SELECT unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend])::oid
                             FROM pg_type t WHERE t.typnamespace = 'privacy'::regnamespace)
            THEN 'type I/O'
            WHEN 'internal'::regtype = ANY (p.proargtypes::regtype[]) THEN 'takes internal'
            ELSE 'trigger function' END AS why
  FROM pg_proc p
 WHERE p.pronamespace = 'privacy'::regnamespace
   AND (p.oid IN (SELECT unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend])::oid
                    FROM pg_type t WHERE t.typnamespace = 'privacy'::regnamespace)
        OR 'internal'::regtype = ANY (p.proargtypes::regtype[])
        OR p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype));

-- plausible arguments: per function and argument name, per argument name,
-- per type
CREATE TABLE hi_driver.plausible (fn text NOT NULL, arg text NOT NULL, expr text NOT NULL, PRIMARY KEY (fn, arg));
INSERT INTO hi_driver.plausible VALUES
  ('', 'action', $$'hi.event'$$), ('define_document_type', 'action', $$'delete'$$),
  ('', 'alias', $$'r'$$), ('', 'basis_detail', $$'detail'$$), ('', 'class', $$'contact'$$),
  ('', 'clock', $$'creation'$$), ('', 'condition', $$'true'$$), ('', 'contact', $$'c@example.org'$$),
  ('', 'country', $$'NL'$$), ('', 'description', $$'d'$$), ('', 'document_type', $$'hi_doc'$$),
  ('', 'event', $$'erasure'$$), ('', 'expr', $$'created_at'$$), ('', 'from_clause', $$'hi.docs AS r'$$),
  ('', 'job_name', $$'hi_job'$$), ('', 'kind', $$'access'$$), ('define_recipient', 'kind', $$'authority'$$),
  ('_close_subject_request', 'kind', $$'access'$$), ('', 'legal_basis', $$'contract'$$),
  ('', 'message', $$'m'$$), ('', 'name', $$'hi_x'$$),
  ('define_document_type', 'name', $$'hi_doc'$$), ('drop_document_type', 'name', $$'hi_doc'$$),
  ('create_retention_rule', 'name', $$'hi_rule'$$), ('drop_retention_rule', 'name', $$'hi_rule'$$),
  ('register_subject_type', 'name', $$'person'$$), ('define_purpose', 'name', $$'hi_purpose'$$),
  ('define_recipient', 'name', $$'hi_recipient'$$),
  ('', 'new_class', $$'contact'$$), ('', 'new_reason', $$'r'$$), ('', 'new_state', $$'on'$$),
  ('', 'note', $$'n'$$), ('', 'object', $$'hi.people'$$), ('', 'passphrase', $$'correct horse battery staple'$$),
  ('', 'preset', $$'nl_staffing'$$), ('', 'purpose', $$'hi_purpose'$$), ('', 'reason', $$'art. 17(1)(a)'$$),
  ('', 'recipient', $$'hi_recipient'$$), ('', 'rounding', $$'none'$$), ('', 'rule', $$'hi_rule'$$),
  ('', 'rule_name', $$'hi_rule'$$), ('', 'safeguard', $$'eu_eea'$$), ('', 'schedule', $$'30 3 * * *'$$),
  ('', 'scope', $$'1'$$), ('', 'scope_kind', $$'branch'$$), ('', 'source', $$'s'$$), ('', 'sql', $$'SELECT 1'$$),
  ('', 'start_expr', $$'created_at'$$), ('', 'state', $$'22000'$$), ('', 'status', $$'fulfilled'$$),
  ('_purge_close', 'status', $$'done'$$),
  ('', 'subject_key', $$'1'$$), ('', 'subject_type', $$'person'$$),
  ('', 'txt', $$'BSN 111222333, IBAN NL91ABNA0417164300'$$), ('', 'value', $$'secret value'$$),
  ('', 'what', $$'hi'$$), ('', 'categories', $$'{identifying}'$$), ('', 'keys', $$'{1}'$$),
  ('', 'subjects', $$'{person}'$$), ('', 'tids', $$'{"(0,1)"}'$$), ('', 'oids', $$ARRAY['hi.docs'::regclass::oid]$$),
  ('', 'column_name', $$'name'$$), ('classify_column', 'column_name', $$'name'$$), ('', 'col', $$'name'$$),
  ('', 'key_column', $$'id'$$), ('register_table', 'key_column', $$NULL$$), ('', 'new_name', $$'name'$$),
  ('', 'old_name', $$'name'$$), ('', 'scope_column', $$'branch'$$), ('', 'tbl', $$'hi.people'$$),
  ('create_retention_rule', 'tbl', $$'hi.docs'$$), ('', 'root_table', $$'hi.people'$$),
  ('', 'anchor_seal', $$NULL$$), ('', 'anchor_hash', $$NULL$$), ('', 'first_page', $$0$$), ('', 'end_page', $$10$$),
  ('', 'dry_run', $$true$$), ('', 'batch_rows', $$1000$$), ('', 'keep', $$2$$), ('', 'max_rows', $$10$$),
  ('', 'author', $$'hi_admin'$$), ('', 'role', $$'hi_clerk'$$), ('', 'typ', $$'text'$$),
  ('', 'anonymize', $$NULL$$), ('', 'details', $$'{}'$$), ('', 'result', $$NULL$$), ('close_request', 'result', $$'{}'$$),
  ('', 'processor_of', $$NULL$$), ('', 'scope_through', $$NULL$$), ('', 'via', $$NULL$$),
  ('', 'max_runtime', $$'1 minute'$$), ('', 'retention', $$'30 days'$$), ('', 'min_keep', $$NULL$$),
  ('', 'held_until', $$NULL$$), ('', 'restricted_until', $$NULL$$), ('', 'received_on', $$current_date$$),
  ('', 'start', $$current_date$$), ('', 'disclosed_at', $$now()$$), ('', 'request_id', $$NULL$$);
CREATE TABLE hi_driver.type_default (typ regtype PRIMARY KEY, expr text NOT NULL);
INSERT INTO hi_driver.type_default VALUES
  ('text', $$'x'$$), ('name', $$'name'$$), ('regclass', $$'hi.people'$$), ('regclass[]', 'NULL'),
  ('regrole', $$'hi_clerk'$$), ('regtype', $$'text'$$), ('integer', '1'), ('bigint', '1'), ('boolean', 'false'),
  ('date', 'current_date'), ('interval', $$'30 days'$$), ('timestamptz', 'now()'), ('jsonb', $$'{}'$$),
  ('text[]', $$'{identifying}'$$), ('tid[]', $$'{"(0,1)"}'$$), ('oid[]', $$'{}'$$), ('bytea', $$'\x00'$$),
  ('privacy.bsn', $$'111222333'$$), ('anyelement', '1');

-- hostile values per type
CREATE TABLE hi_driver.hostile (typ regtype NOT NULL, expr text NOT NULL);
INSERT INTO hi_driver.hostile
SELECT t, e FROM unnest('{text,name}'::regtype[]) t, unnest(ARRAY[
  'NULL', $$''$$, $$'abc'$$, $$repeat('x', 100000)$$, $$'no_such_schema.no_such_table'$$, $$'no_such_column'$$,
  $h$$q$Robert'); DROP TABLE x;--$q$$h$,
  $h$$q$"Robert'); DROP TABLE x;--"$q$$h$,
  $h$$q$"Robert'); DROP TABLE x;--"."Robert'); DROP TABLE x;--"$q$$h$,
  $h$$q$col'); DROP TABLE x;--$q$$h$,
  $h$$q$%s %I %L %1$s %999999$s %$q$$h$,
  $h$E'back\\slash\nnew line\ttab'$h$, $h$'ë€𝄞'$h$, $h$'*'$h$, $h$'-1'$h$,
  $h$$q$1) OR true; DROP TABLE x; --$q$$h$,
  $h$$q$true --$q$$h$, $h$$q$true) OR (true$q$$h$, $h$$q$true /*$q$$h$, $h$$q$$$ true$q$$h$,
  $h$$q$created_at) FROM hi.docs r; DROP TABLE x; SELECT (1$q$$h$,
  $h$$q$(SELECT count(*) FROM pg_authid) > 0$q$$h$
]) e;
INSERT INTO hi_driver.hostile SELECT 'regclass', e FROM unnest(ARRAY[
  'NULL', $$'abc'$$, $$'no_such_schema.no_such_table'$$, $$'public.no_such_table'$$, $$'0'$$, $$'4294967295'$$,
  $$'public.x'$$, $h$$q$"Robert'); DROP TABLE x;--"."Robert'); DROP TABLE x;--"$q$$h$, $$'privacy.audit_log'$$,
  $$'pg_catalog.pg_authid'$$, $$'hi.people_pkey'$$, $$'hi.v'$$, $$'hi.s'$$, $$'hi.notes'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'regclass[]', e FROM unnest(ARRAY[
  'NULL', $$'{}'$$, $$'{0}'$$, $$'{4294967295}'$$, $$'{public.x}'$$, $$'{hi.docs,hi.docs}'$$, $$'{NULL}'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'regrole', e FROM unnest(ARRAY[
  'NULL', $$'abc'$$, $$'0'$$, $$'4294967295'$$, $$'postgres'$$, $$'pg_monitor'$$, $$'privacy_admin'$$,
  $h$$q$"hi'); DROP TABLE x;--"$q$$h$]) e;
INSERT INTO hi_driver.hostile SELECT 'regtype', e FROM unnest(ARRAY[
  'NULL', $$'abc'$$, $$'0'$$, $$'privacy.bsn'$$, $$'record'$$, $$'anyelement'$$, $$'hi.people'$$, $$'int4[]'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'integer', e FROM unnest(ARRAY[
  'NULL', '0', '-1', '2147483647', '-2147483648', $$'abc'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'bigint', e FROM unnest(ARRAY[
  'NULL', '0', '-1', '9223372036854775807', '-9223372036854775808', $$'abc'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'boolean', e FROM unnest(ARRAY['NULL', 'true', 'false', $$'abc'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'date', e FROM unnest(ARRAY[
  'NULL', $$'infinity'$$, $$'-infinity'$$, $$'4713-01-01 BC'$$, $$'5874897-12-31'$$, $$'abc'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'interval', e FROM unnest(ARRAY[
  'NULL', $$'-1 day'$$, $$'-178000000 years'$$, $$'178000000 years'$$, $$'0'$$, $$'abc'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'timestamptz', e FROM unnest(ARRAY[
  'NULL', $$'infinity'$$, $$'-infinity'$$, $$'abc'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'jsonb', e FROM unnest(ARRAY[
  'NULL', $$'null'$$, $$'[]'$$, $$'"x"'$$, $$'{}'$$, $$'{"name": null}'$$, $$'{"name": {"keep": -1}}'$$,
  $$'{"name": {"keep": 2147483647}}'$$, $$'{"name": {"keep": "x"}}'$$, $$'{"name": [1, 2]}'$$,
  $$'{"id": null}'$$, $$'{"no_such_column": null}'$$, $$jsonb_build_object('name', repeat('x', 100000))$$,
  $h$jsonb_build_object($q$Robert'); DROP TABLE x;--$q$, NULL)$h$, $$'abc'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'text[]', e FROM unnest(ARRAY[
  'NULL', $$'{}'$$, $$'{NULL}'$$, $$ARRAY['']$$, $$ARRAY[repeat('x', 100000)]$$,
  $h$ARRAY[$q$Robert'); DROP TABLE x;--$q$]$h$, $$'{identifying,bogus}'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'tid[]', e FROM unnest(ARRAY[
  'NULL', $$'{}'$$, $$'{"(4294967295,65535)"}'$$, $$'{"(0,0)"}'$$, $$'{NULL}'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'oid[]', e FROM unnest(ARRAY[
  'NULL', $$'{}'$$, $$'{0}'$$, $$'{4294967295}'$$, $$'{NULL}'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'bytea', e FROM unnest(ARRAY[
  'NULL', $$'\x'$$, $$'\x00'$$, $$decode(repeat('ab', 100000), 'hex')$$, $$'abc'::bytea$$]) e;
INSERT INTO hi_driver.hostile SELECT 'privacy.bsn', e FROM unnest(ARRAY[
  'NULL', $$'111222333'$$, $$'123456782'$$, $$'abc'$$, $$'000000000'$$, $$'9999999999'$$]) e;
INSERT INTO hi_driver.hostile SELECT 'anyelement', e FROM unnest(ARRAY[
  'NULL::integer', '1', $$'x'::text$$, $$'111222333'::privacy.bsn$$, 'ARRAY[1]', $$repeat('x', 100000)$$,
  $$'{}'::jsonb$$]) e;

CREATE TABLE hi_driver.calls (id serial PRIMARY KEY, fn regprocedure NOT NULL, kind "char" NOT NULL,
                              who text NOT NULL, variant text NOT NULL, sql text NOT NULL);
CREATE TABLE hi_driver.results (id int PRIMARY KEY, state text NOT NULL, message text);

CREATE FUNCTION hi_driver.arg(fn text, arg text, typ regtype, expr text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN t.typtype = 'p' THEN expr ELSE format('CAST(%s AS %s)', expr, format_type(typ, NULL)) END
      FROM pg_type t WHERE t.oid = typ
$$;
CREATE FUNCTION hi_driver.plausible_arg(fn text, arg text, typ regtype) RETURNS text LANGUAGE sql AS $$
    SELECT hi_driver.arg(fn, arg, typ, coalesce(
        (SELECT expr FROM hi_driver.plausible p WHERE p.fn = $1 AND p.arg = $2),
        (SELECT expr FROM hi_driver.plausible p WHERE p.fn = '' AND p.arg = $2),
        (SELECT expr FROM hi_driver.type_default d WHERE d.typ = $3),
        'NULL'))
$$;

CREATE FUNCTION hi_driver.generate() RETURNS integer LANGUAGE plpgsql AS $g$
DECLARE
    f record;
    names text[];
    types regtype[];
    plaus text[];
    args text[];
    i integer;
    h record;
    w text;
    textish boolean;
    call text;
BEGIN
    FOR f IN SELECT p.oid, p.proname, p.prokind, p.proargtypes, p.proallargtypes, p.proargmodes, p.proargnames
               FROM pg_proc p
              WHERE p.pronamespace = 'privacy'::regnamespace
                AND p.oid NOT IN (SELECT s.fn FROM hi_driver.skipped s)
              ORDER BY p.oid::regprocedure::text LOOP
        IF f.proallargtypes IS NULL THEN
            types := ARRAY(SELECT t::regtype FROM unnest(f.proargtypes::oid[]) WITH ORDINALITY u(t, n) ORDER BY n);
            names := coalesce(f.proargnames, array_fill(''::text, ARRAY[cardinality(types)]));
        ELSE
            SELECT array_agg(t::regtype ORDER BY n), array_agg(coalesce(f.proargnames[n], '') ORDER BY n)
              INTO types, names
              FROM unnest(f.proallargtypes, f.proargmodes) WITH ORDINALITY u(t, m, n)
             WHERE m IN ('i', 'b', 'v');
            types := coalesce(types, '{}');
            names := coalesce(names, '{}');
        END IF;
        plaus := '{}';
        FOR i IN 1 .. cardinality(types) LOOP
            plaus := plaus || hi_driver.plausible_arg(f.proname, names[i], types[i]);
        END LOOP;
        textish := 'text'::regtype = ANY (types) OR 'name'::regtype = ANY (types);
        FOREACH w IN ARRAY CASE WHEN f.proname ~ '^_' THEN ARRAY['superuser'] ELSE ARRAY['superuser', 'clerk'] END LOOP
            call := CASE WHEN f.prokind = 'p' THEN 'CALL ' ELSE 'SELECT ' END
                    || format('privacy.%I(', f.proname);
            INSERT INTO hi_driver.calls (fn, kind, who, variant, sql)
            VALUES (f.oid, f.prokind, w, 'plausible', call || array_to_string(plaus, ', ') || ')');
            IF cardinality(types) > 0 THEN
                INSERT INTO hi_driver.calls (fn, kind, who, variant, sql)
                SELECT f.oid, f.prokind, w, 'all NULL',
                       call || string_agg(hi_driver.arg(f.proname, names[n], types[n], 'NULL'), ', ' ORDER BY n) || ')'
                  FROM generate_series(1, cardinality(types)) n;
            END IF;
            IF textish THEN
                INSERT INTO hi_driver.calls (fn, kind, who, variant, sql)
                SELECT f.oid, f.prokind, w, v.label,
                       call || string_agg(CASE WHEN types[n] IN ('text'::regtype, 'name'::regtype)
                                               THEN hi_driver.arg(f.proname, names[n], types[n], v.expr)
                                               ELSE plaus[n] END, ', ' ORDER BY n) || ')'
                  FROM generate_series(1, cardinality(types)) n,
                       (VALUES ('all text empty', $$''$$), ('all text 100 kB', $$repeat('x', 100000)$$)) v(label, expr)
                 GROUP BY v.label;
            END IF;
            FOR i IN 1 .. cardinality(types) LOOP
                FOR h IN SELECT expr FROM hi_driver.hostile WHERE typ = types[i] LOOP
                    args := plaus;
                    args[i] := hi_driver.arg(f.proname, names[i], types[i], h.expr);
                    INSERT INTO hi_driver.calls (fn, kind, who, variant, sql)
                    VALUES (f.oid, f.prokind, w, format('%s = %s', coalesce(nullif(names[i], ''), '$' || i), left(h.expr, 60)),
                            call || array_to_string(args, ', ') || ')');
                END LOOP;
            END LOOP;
        END LOOP;
    END LOOP;
    DELETE FROM hi_driver.calls c USING hi_driver.calls d
     WHERE c.fn = d.fn AND c.who = d.who AND c.sql = d.sql AND c.id > d.id;
    RETURN (SELECT count(*) FROM hi_driver.calls);
END
$g$;

-- run the calls of one function that have no result yet, each in a
-- subtransaction that is rolled back; a NOTICE names each call before it
-- runs, so that a call that crashes the server is known
CREATE FUNCTION hi_driver.run(f regprocedure) RETURNS void LANGUAGE plpgsql AS $r$
DECLARE
    c record;
    st text;
    msg text;
BEGIN
    FOR c IN SELECT * FROM hi_driver.calls k
              WHERE k.fn = f AND NOT EXISTS (SELECT FROM hi_driver.results r WHERE r.id = k.id)
              ORDER BY k.id LOOP
        RAISE NOTICE 'hi call %', c.id;
        BEGIN
            IF c.who = 'clerk' THEN
                SET LOCAL ROLE hi_clerk;
            END IF;
            EXECUTE c.sql;
            RAISE EXCEPTION USING ERRCODE = 'HI000';
        EXCEPTION
            WHEN SQLSTATE 'HI000' THEN
                st := 'ok';
                msg := NULL;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        INSERT INTO hi_driver.results VALUES (c.id, st, left(msg, 300))
            ON CONFLICT (id) DO UPDATE SET state = excluded.state, message = excluded.message;
    END LOOP;
END
$r$;
SELECT hi_driver.generate();
SQL
ncalls=$(q "SELECT count(*) FROM hi_driver.calls")
nfns=$(q "SELECT count(DISTINCT fn) FROM hi_driver.calls")
echo "# $nfns functions and procedures, $ncalls calls; not called:"
q "SELECT '#   ' || fn || ': ' || why FROM hi_driver.skipped ORDER BY why, fn::text"
[ "$nfns" -ge 90 ]
ok $? "pg_proc lists $nfns functions and procedures of schema privacy to call ($ncalls calls)"

# the witness: a connection that a crash of any backend would end
new_witness() {
    [ -n "$WITNESS_PID" ] && kill "$WITNESS_PID" 2>/dev/null
    PGAPPNAME=hi_witness psql -X -q -d "$DB" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
    WITNESS_PID=$!
    WITNESS=
    for _ in $(seq 1 50); do
        WITNESS=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'hi_witness' AND state = 'active'" 2>/dev/null)
        [ -n "$WITNESS" ] && break
        sleep 0.1
    done
}
new_witness
alive() { # is the server up, with the witness connection and the same postmaster?
    pg_isready -q -d "$DB" &&
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE pid = ${WITNESS:-0}" 2>/dev/null)" = 1 ] &&
        [ "$(pm_pid)" = "$PM0" ]
}
wait_up() { # after a crash: until the server answers again
    local i
    for i in $(seq 1 300); do
        q "SELECT 1" >/dev/null 2>&1 && break
        sleep 0.1
    done
}

T1=$(date +%s)
crashed=0
while IFS='|' read -r fn kind; do
    # after a crash: the call that crashed is recorded, and the run resumes
    for try in 1 2 3 4 5; do
        psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "SET lock_timeout = '2s'" -c "SET statement_timeout = '60s'" \
            -c "SET client_min_messages = notice" -c "SELECT hi_driver.run('$fn')" >"$TMP/run.log" 2>&1
        rc=$?
        [ $rc -eq 0 ] && break
        alive && break
        crashed=$((crashed + 1))
        wait_up
        last=$(grep -o 'hi call [0-9]*' "$TMP/run.log" | tail -n 1 | grep -o '[0-9]*$')
        [ -n "$last" ] && q "INSERT INTO hi_driver.results VALUES ($last, 'CRASH', 'the server process crashed')
                             ON CONFLICT (id) DO NOTHING" >/dev/null
        new_witness
    done
    if [ "$kind" = p ]; then
        # procedures also at top level, where they may commit: one connection,
        # each call followed by its SQLSTATE
        q "INSERT INTO hi_driver.calls (fn, kind, who, variant, sql)
           SELECT fn, kind, who, variant || ' (top level)', sql FROM hi_driver.calls
            WHERE fn = '$fn'::regprocedure ORDER BY id" >/dev/null
        q "SELECT CASE WHEN who = 'clerk' THEN 'SET ROLE hi_clerk;' ELSE '' END || E'\n' || sql || E';\n'
                  || '\echo @@ ' || id || ' :SQLSTATE' || E'\nRESET ROLE;'
             FROM hi_driver.calls WHERE fn = '$fn'::regprocedure AND variant LIKE '%(top level)' ORDER BY id" \
            >"$TMP/top.sql"
        psql -X -q -d "$DB" -v ON_ERROR_STOP=0 -c "SET lock_timeout = '2s'" -f "$TMP/top.sql" 2>/dev/null |
            sed -n 's/^@@ \([0-9]*\) \([0-9A-Z]*\)$/(\1, \2)/p' |
            sed "s/, 00000)/, 'ok')/; s/, \([0-9A-Z]\{5\}\))/, '\1')/" | paste -sd, >"$TMP/top.values"
        if ! alive; then
            crashed=$((crashed + 1))
            wait_up
            new_witness
            rc=1
        fi
        [ -s "$TMP/top.values" ] && q "INSERT INTO hi_driver.results VALUES $(cat "$TMP/top.values")" >/dev/null
    fi
    IFS=$'\x1f' read -r summary missing bad clerk_ran < <(q "
        SELECT count(*) FILTER (WHERE c.who = 'superuser') || ' calls as the superuser (' ||
               count(*) FILTER (WHERE c.who = 'superuser' AND r.state = 'ok') || ' results)' ||
               CASE WHEN count(*) FILTER (WHERE c.who = 'clerk') > 0
                    THEN ', ' || count(*) FILTER (WHERE c.who = 'clerk') || ' as the clerk (' ||
                         count(*) FILTER (WHERE c.who = 'clerk' AND r.state = 'ok') || ' results, ' ||
                         count(*) FILTER (WHERE c.who = 'clerk' AND r.state = '42501') || ' refused)'
                    ELSE '' END || chr(31) ||
               count(*) FILTER (WHERE r.id IS NULL) || chr(31) ||
               coalesce(string_agg(c.who || ' ' || c.variant || ': ' || r.state || ' ' ||
                                   translate(coalesce(r.message, ''), E'\n\r', '  '), ' | ')
                            FILTER (WHERE r.state LIKE 'XX%' OR r.state = 'CRASH'), '') || chr(31) ||
               coalesce(string_agg(c.variant, '; ')
                            FILTER (WHERE c.who = 'clerk' AND r.state = 'ok'
                                      AND NOT has_function_privilege('hi_clerk', c.fn, 'EXECUTE')), '')
          FROM hi_driver.calls c LEFT JOIN hi_driver.results r USING (id) WHERE c.fn = '$fn'::regprocedure" 2>/dev/null)
    if [ $rc -eq 0 ] && [ -z "$bad" ] && [ "$missing" = 0 ] && [ -z "$clerk_ran" ] && alive; then
        ok 0 "$fn: $summary, no internal error"
    else
        ok 1 "$fn: $summary, no internal error"
        [ -n "$bad" ] && echo "$bad" | sed 's/ | /\n/g' | cut -c1-400 | sed 's/^ */#   /'
        [ -n "$clerk_ran" ] && echo "#   the clerk got a result from a function PUBLIC may not execute: ${clerk_ran:0:300}"
        if [ "$missing" != 0 ]; then
            echo "#   $missing calls without a result (psql status $rc): $(grep -v 'NOTICE' "$TMP/run.log" | tail -n 2 | tr '\n' ' ' | cut -c1-200)"
        fi
    fi
done < <(q "SELECT DISTINCT fn::text, kind FROM hi_driver.calls ORDER BY 1")
echo "# the calls took $(( $(date +%s) - T1 )) s"

states=$(q "SELECT string_agg(state || ' ' || n, ', ' ORDER BY n DESC) FROM (
              SELECT r.state, count(*) AS n FROM hi_driver.results r GROUP BY 1) s")
echo "# outcomes (SQLSTATE count): $states"
[ "$crashed" -eq 0 ] && alive
ok $? "the server never crashed: the witness connection survived every batch (crashes: $crashed)"
q "SELECT '#   crashed the server: ' || c.who || ': ' || left(c.sql, 200) FROM hi_driver.calls c
     JOIN hi_driver.results r USING (id) WHERE r.state = 'CRASH' ORDER BY c.id"
[ -z "$PM0" ] || [ "$(pm_pid)" = "$PM0" ]
ok $? "the postmaster pid is unchanged (${PM0:-not readable})"
[ "$(q "SELECT pg_postmaster_start_time()" postgres)" = "$START_TIME" ]
ok $? "the postmaster start time is unchanged"
if [ -r "$SERVERLOG" ]; then
    signals=$(tail -c +"$((LOG0 + 1))" "$SERVERLOG" | grep -E 'terminated by signal|terminated by exception|PANIC|TRAP:')
    [ -z "$signals" ]
    ok $? "the server log shows no process terminated by a signal ($(printf '%s' "$signals" | grep -c '^') lines)"
    [ -n "$signals" ] && echo "$signals" | head -n 8 | sed 's/^/#   /'
else
    echo "# the server log ($SERVERLOG) is not readable here; not checked"
fi
[ "$(q "SELECT count(*) FROM public.x")" = 1 ]
ok $? "the sentinel table public.x still exists with its row"
drops=$(q "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM hi_driver.x_drops")
[ "$drops" = 0 ]
ok $? "no call ever dropped public.x, not even in a rolled-back call (drops seen: $drops)"
psql -X -q -d "$DB" -c "BEGIN" -c "DROP TABLE public.x" -c "ROLLBACK" >/dev/null 2>&1
[ "$(q "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM hi_driver.x_drops")" = $((drops + 1)) ]
ok $? "control: a DROP TABLE public.x that is rolled back is seen all the same"
n=$(q "SELECT count(*) FROM pg_class WHERE relname = 'Robert''); DROP TABLE x;--' AND relkind = 'r'")
[ "$n" = 1 ]
ok $? "the table with the hostile name is still there"

# the record of processing while a subject type has no table yet
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "BEGIN" -c "SET LOCAL ROLE hi_admin" \
        -c "SELECT privacy.register_subject_type('hi_lonely', 'hi.people', 'id')" \
        -c "SELECT length(privacy.processing_register_markdown()) > 0" -c "ROLLBACK" 2>&1)
[ "$(echo "$out" | tail -n 1)" = t ]
ok $? "the record of processing renders while a subject type has no table yet$(echo "$out" | grep -m 1 ERROR | sed 's/^/ (/; s/$/)/')"

# a rule expression that ends in a comment: refused, or it works
for what in condition start_expr; do
    if [ $what = condition ]; then
        args="start_expr => 'created_at', condition => 'person_id > 0 -- every document'"
    else
        args="start_expr => 'created_at -- the day it was written'"
    fi
    out=$(psql -X -q -At -v ON_ERROR_STOP=1 -U hi_admin -d "$DB" \
            -c "SELECT privacy.create_retention_rule('hi_comment_$what', 'hi.docs', 'hi_doc', $args)" 2>&1)
    if [ $? -ne 0 ]; then
        ok 0 "a $what ending in a -- comment is refused when the rule is created"
    else
        out=$(psql -X -q -At -v ON_ERROR_STOP=1 -U hi_admin -d "$DB" \
                -c "SELECT privacy.purge_plan('hi_comment_$what') -> 'rules' -> 0 ->> 'deleted'" 2>&1 | head -n 1)
        [[ "$out" =~ ^[0-9]+$ ]]
        ok $? "a $what ending in a -- comment, accepted by create_retention_rule, works in the purge (got: ${out:0:160})"
        q "DELETE FROM privacy.retention_rule WHERE name = 'hi_comment_$what'" >/dev/null
    fi
done

kill "$WITNESS_PID" 2>/dev/null
q "SELECT pg_terminate_backend(${WITNESS:-0})" >/dev/null 2>&1
WITNESS_PID=

# ---------------------------------------------------------------------------
# 2. The search_path attack
# ---------------------------------------------------------------------------
PLANT=$(cat <<'SQL'
SET client_min_messages = warning;
CREATE SEQUENCE public.hi_planted_calls;
CREATE TABLE public.hi_planted (name text PRIMARY KEY);
GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.hi_planted_calls TO PUBLIC;
GRANT SELECT ON public.hi_planted TO PUBLIC;
-- what every planted object does first: count, and say so
-- (its own search_path makes what it runs itself safe; it warns once per
-- object and statement: the statements set hi_planted.epoch)
CREATE FUNCTION public.hi_planted_call(what text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    epoch text := coalesce(current_setting('hi_planted.epoch', true), '');
    seen text := 'hi_planted.h' || md5(what);
BEGIN
    PERFORM nextval('public.hi_planted_calls');
    IF epoch = '' OR coalesce(current_setting(seen, true), '') <> epoch THEN
        PERFORM set_config(seen, epoch, false);
        RAISE WARNING 'hi planted object called: % as %', what, current_user;
    END IF;
END
$$;
DO $plant$
DECLARE
    f record;
    o record;
    args text;
    body text;
    n_fn integer := 0;
    n_op integer := 0;
    n_bad integer := 0;
    i integer := 0;
BEGIN
    -- copies of pg_catalog functions, same names and argument types
    FOR f IN
        SELECT p.oid, p.proname, p.proargtypes::oid[] AS args, p.prorettype, p.proretset, p.provariadic
          FROM pg_proc p
         WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f' AND p.proallargtypes IS NULL
           AND p.proname = ANY ('{lower,upper,btrim,ltrim,rtrim,length,char_length,octet_length,left,right,substr,
               substring,replace,strpos,split_part,string_to_array,array_to_string,array_length,array_position,
               array_positions,array_append,array_prepend,array_cat,array_remove,cardinality,unnest,now,
               clock_timestamp,statement_timestamp,transaction_timestamp,current_setting,set_config,quote_ident,
               quote_literal,quote_nullable,format,md5,sha256,encode,decode,convert_to,convert_from,to_char,
               to_jsonb,to_json,row_to_json,jsonb_build_object,jsonb_build_array,jsonb_typeof,jsonb_array_length,
               jsonb_array_elements,jsonb_array_elements_text,jsonb_object_keys,jsonb_strip_nulls,jsonb_set,
               jsonb_insert,jsonb_extract_path,jsonb_extract_path_text,jsonb_pretty,jsonb_agg_finalfn,
               regexp_replace,regexp_match,regexp_matches,regexp_split_to_array,make_date,date_part,date_trunc,
               isfinite,age,generate_series,pg_has_role,has_table_privilege,has_column_privilege,
               has_function_privilege,has_schema_privilege,has_sequence_privilege,pg_get_expr,pg_get_indexdef,
               pg_get_constraintdef,pg_get_userbyid,to_regclass,to_regrole,to_regtype,to_regproc,pg_backend_pid,
               pg_notify,txid_current,pg_current_xact_id,gen_random_uuid,nextval,currval,setval,
               pg_advisory_xact_lock,pg_try_advisory_xact_lock,lpad,rpad,repeat,reverse,initcap,translate,
               starts_with,abs,round,floor,ceil,obj_description,col_description,pg_relation_size,
               current_database,current_schema,current_schemas,array_fill,array_upper,array_lower,
               texteq,textne,int8eq,oideq,nameeq,jsonb_exists,jsonb_object_field,jsonb_object_field_text,
               format_type,pg_typeof,pg_column_size,pg_sleep,pg_get_function_identity_arguments,
               int8pl,int4pl,date_pl_interval,timestamptz_pl_interval,textcat,pg_get_triggerdef,
               string_agg_transfn,array_agg_transfn,jsonb_object,pg_event_trigger_dropped_objects,
               pg_event_trigger_ddl_commands,pg_identify_object,pg_describe_object}'::name[])
    LOOP
        IF EXISTS (SELECT FROM unnest(f.args || f.prorettype) t JOIN pg_type y ON y.oid = t
                    WHERE y.typname IN ('any', 'internal', 'cstring', 'trigger', 'event_trigger', 'language_handler',
                                        'fdw_handler', 'table_am_handler', 'index_am_handler', 'tsm_handler',
                                        'anycompatiblerange', 'anycompatiblemultirange', 'anymultirange',
                                        'pg_ddl_command', 'record'))
           OR f.prorettype = 'void'::regtype AND f.proretset THEN
            CONTINUE;
        END IF;
        i := i + 1;
        SELECT string_agg(CASE WHEN f.provariadic <> 0 AND n = cardinality(f.args) THEN 'VARIADIC ' ELSE '' END
                          || format_type(t, NULL), ', ' ORDER BY n)
          INTO args FROM unnest(f.args) WITH ORDINALITY u(t, n);
        body := format('PERFORM public.hi_planted_call(%L); ', f.oid::regprocedure::text);
        IF f.proretset THEN
            body := body || format('RETURN QUERY SELECT * FROM pg_catalog.%I(%s);', f.proname,
                                   (SELECT string_agg(CASE WHEN f.provariadic <> 0 AND n = cardinality(f.args)
                                                           THEN 'VARIADIC ' ELSE '' END || '$' || n, ', ' ORDER BY n)
                                      FROM generate_series(1, cardinality(f.args)) n));
        ELSIF f.prorettype = 'void'::regtype THEN
            body := body || format('PERFORM pg_catalog.%I(%s);', f.proname,
                                   (SELECT string_agg('$' || n, ', ' ORDER BY n) FROM generate_series(1, cardinality(f.args)) n));
        ELSE
            body := body || format('RETURN pg_catalog.%I(%s);', f.proname,
                                   (SELECT string_agg(CASE WHEN f.provariadic <> 0 AND n = cardinality(f.args)
                                                           THEN 'VARIADIC ' ELSE '' END || '$' || n, ', ' ORDER BY n)
                                      FROM generate_series(1, cardinality(f.args)) n));
        END IF;
        BEGIN
            EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s%s LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS %L',
                           f.proname, coalesce(args, ''), CASE WHEN f.proretset THEN 'SETOF ' ELSE '' END,
                           format_type(f.prorettype, NULL), 'BEGIN ' || body || ' END');
            INSERT INTO public.hi_planted VALUES ('public.' || f.oid::regprocedure::text) ON CONFLICT DO NOTHING;
            n_fn := n_fn + 1;
        EXCEPTION WHEN OTHERS THEN
            n_bad := n_bad + 1;
        END;
    END LOOP;

    -- variadic "any" functions, with concrete argument types
    FOR f IN SELECT * FROM (VALUES
        ('format', 'text, text', 'text'), ('format', 'text, text, text', 'text'),
        ('format', 'text, text, text, text', 'text'), ('format', 'text, name', 'text'),
        ('format', 'text, regclass', 'text'), ('format', 'text, regclass, name', 'text'),
        ('format', 'text, regclass, name, text, bigint', 'text'), ('format', 'text, text, name, text, bigint', 'text'),
        ('format', 'text, text, name', 'text'), ('format', 'text, name, name', 'text'),
        ('concat_ws', 'text, text, text', 'text'), ('concat', 'text, text', 'text'),
        ('jsonb_build_object', 'text, text', 'jsonb'), ('jsonb_build_object', 'text, bigint', 'jsonb'),
        ('jsonb_build_object', 'text, jsonb', 'jsonb'), ('jsonb_build_object', 'text, text, text, text', 'jsonb'),
        ('jsonb_build_object', 'text, text, text, bigint', 'jsonb'), ('jsonb_build_array', 'text', 'jsonb'),
        ('jsonb_build_array', 'jsonb', 'jsonb'), ('jsonb_build_array', 'text, text', 'jsonb')) v(name, args, ret)
    LOOP
        BEGIN
            EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS %L',
                           f.name, f.args, f.ret,
                           format('BEGIN PERFORM public.hi_planted_call(%L); RETURN pg_catalog.%I(%s); END',
                                  f.name || '(' || f.args || ')', f.name,
                                  (SELECT string_agg('$' || n, ', ') FROM generate_series(1, 1 + length(f.args) - length(replace(f.args, ',', ''))) n)));
            INSERT INTO public.hi_planted VALUES ('public.' || f.name || '(' || f.args || ')') ON CONFLICT DO NOTHING;
            n_fn := n_fn + 1;
        EXCEPTION WHEN OTHERS THEN
            n_bad := n_bad + 1;
        END;
    END LOOP;

    -- aggregates
    CREATE FUNCTION public.hi_agg_count(bigint) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $f$BEGIN PERFORM public.hi_planted_call('count(*)'); RETURN $1 OPERATOR(pg_catalog.+) 1; END$f$;
    CREATE AGGREGATE public.count(*) (sfunc = public.hi_agg_count, stype = bigint, initcond = '0');
    CREATE FUNCTION public.hi_agg_array(anyarray, anynonarray) RETURNS anyarray LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $f$BEGIN PERFORM public.hi_planted_call('array_agg(anynonarray)'); RETURN pg_catalog.array_append($1, $2); END$f$;
    CREATE AGGREGATE public.array_agg(anynonarray) (sfunc = public.hi_agg_array, stype = anyarray);
    CREATE FUNCTION public.hi_agg_string(text, text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $f$BEGIN PERFORM public.hi_planted_call('string_agg(text, text)');
              RETURN CASE WHEN $1 IS NULL THEN $2 ELSE $1 OPERATOR(pg_catalog.||) $3 OPERATOR(pg_catalog.||) $2 END; END$f$;
    CREATE AGGREGATE public.string_agg(text, text) (sfunc = public.hi_agg_string, stype = text);
    CREATE FUNCTION public.hi_agg_jsonb(jsonb, anyelement) RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $f$BEGIN PERFORM public.hi_planted_call('jsonb_agg(anyelement)');
              RETURN coalesce($1, '[]'::jsonb) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array($2); END$f$;
    CREATE AGGREGATE public.jsonb_agg(anyelement) (sfunc = public.hi_agg_jsonb, stype = jsonb);
    CREATE FUNCTION public.hi_agg_max(bigint, bigint) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $f$BEGIN PERFORM public.hi_planted_call('max/sum(bigint)'); RETURN pg_catalog.int8larger($1, $2); END$f$;
    CREATE AGGREGATE public.max(bigint) (sfunc = public.hi_agg_max, stype = bigint);
    CREATE AGGREGATE public.sum(bigint) (sfunc = public.hi_agg_max, stype = bigint);
    CREATE FUNCTION public.hi_agg_bool(boolean, boolean) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $f$BEGIN PERFORM public.hi_planted_call('bool_or/bool_and(boolean)'); RETURN $1 OR $2; END$f$;
    CREATE AGGREGATE public.bool_or(boolean) (sfunc = public.hi_agg_bool, stype = boolean);
    CREATE AGGREGATE public.bool_and(boolean) (sfunc = public.hi_agg_bool, stype = boolean);
    INSERT INTO public.hi_planted VALUES ('public.count(*)'), ('public.array_agg(anynonarray)'),
        ('public.string_agg(text, text)'), ('public.jsonb_agg(anyelement)'), ('public.max(bigint)'),
        ('public.sum(bigint)'), ('public.bool_or(boolean)'), ('public.bool_and(boolean)');

    -- operators: copies of pg_catalog's on common types, and = on reg* types
    FOR o IN
        SELECT op.oprname, op.oprleft::regtype AS l, op.oprright::regtype AS r, op.oprresult::regtype AS res,
               op.oprcode::regproc AS code
          FROM pg_operator op
         WHERE op.oprnamespace = 'pg_catalog'::regnamespace AND op.oprkind = 'b'
           AND op.oprname IN ('=', '<>', '<', '>', '<=', '>=', '+', '-', '||', '~~', '!~~', '~', '~*', '->', '->>',
                              '#>', '#>>', '?', '?|', '?&', '@>', '<@', '&&', '#-')
           AND op.oprleft::regtype::text IN ('text', 'name', 'bigint', 'integer', 'smallint', 'numeric', 'oid', 'date',
                 'timestamp with time zone', 'timestamp without time zone', 'interval', 'jsonb', 'json', 'boolean',
                 'bytea', 'tid', '"char"', 'text[]', 'anyarray', 'anyelement', 'xid8', 'anycompatiblearray')
           AND op.oprright::regtype::text IN ('text', 'name', 'bigint', 'integer', 'smallint', 'numeric', 'oid', 'date',
                 'timestamp with time zone', 'timestamp without time zone', 'interval', 'jsonb', 'json', 'boolean',
                 'bytea', 'tid', '"char"', 'text[]', 'anyarray', 'anyelement', 'xid8', 'anycompatiblearray')
        UNION ALL
        SELECT v.name, v.t::regtype, v.t::regtype, 'boolean'::regtype, 'pg_catalog.oideq'::regproc
          FROM (VALUES ('=', 'regclass'), ('=', 'regrole'), ('=', 'regtype'), ('=', 'regproc'),
                       ('=', 'regnamespace'), ('<>', 'regclass'), ('<>', 'regrole')) v(name, t)
    LOOP
        i := i + 1;
        BEGIN
            EXECUTE format('CREATE FUNCTION public.hi_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS %L',
                           i, format_type(o.l, NULL), format_type(o.r, NULL), format_type(o.res, NULL),
                           format('BEGIN PERFORM public.hi_planted_call(%L); RETURN $1 OPERATOR(pg_catalog.%s) $2; END',
                                  format('operator %s(%s, %s)', o.oprname, o.l, o.r), o.oprname));
            EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.hi_op_%s)',
                           o.oprname, format_type(o.l, NULL), format_type(o.r, NULL), i);
            INSERT INTO public.hi_planted VALUES (format('operator public.%s(%s, %s)', o.oprname, o.l, o.r))
                ON CONFLICT DO NOTHING;
            n_op := n_op + 1;
        EXCEPTION WHEN OTHERS THEN
            n_bad := n_bad + 1;
        END;
    END LOOP;
    RAISE WARNING 'hi planted % functions, % operators (% signatures could not be copied)', n_fn, n_op, n_bad;
END
$plant$;
SQL
)

planted_calls() { # db: how many times a planted object was called
    q "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.hi_planted_calls" "$1"
}
# run_as DB ROLE LABEL: the statements on stdin, one a line, run in one
# connection with search_path = public, pg_catalog; one check per statement:
# no planted object was called while it ran (lines starting with a
# backslash are passed on as they are)
run_as() {
    local db=$1 role=$2 label=$3 k=0 line n prev names err
    local -a stmts
    mapfile -t stmts
    printf '%s\n' "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS hi_n FROM public.hi_planted_calls \\gset" \
        "\\warn @@end 0 :hi_n" >"$TMP/sp.sql"
    for line in "${stmts[@]}"; do
        [ -z "$line" ] && continue
        if [[ "$line" == \\* ]]; then
            echo "$line" >>"$TMP/sp.sql"
            continue
        fi
        k=$((k + 1))
        printf '%s\n' "SELECT pg_catalog.set_config('hi_planted.epoch', '$k', false) \\g /dev/null" \
            "\\warn @@begin $k" "$line" \
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS hi_n FROM public.hi_planted_calls \\gset" \
            "\\warn @@end $k :hi_n" >>"$TMP/sp.sql"
    done
    prev=$(planted_calls "$db")
    PGOPTIONS="-c search_path=public,pg_catalog" psql -X -q -At -d "$db" -U "$role" -v ON_ERROR_STOP=0 \
        -c "SET client_min_messages = warning" -f "$TMP/sp.sql" >/dev/null 2>"$TMP/sp.err"
    n=$(sed -n "s/^@@end 0 \([0-9]*\)\$/\1/p" "$TMP/sp.err")
    names=$(awk '/^@@end 0 /{exit} 1' "$TMP/sp.err" | sed -n 's/.*hi planted object called: //p' | sort -u | paste -sd ';')
    if [ -n "$n" ] && [ "$n" = "$prev" ]; then
        ok 0 "search_path: $label: opening the connection"
    else
        ok 1 "search_path: $label: opening the connection (planted objects called $((${n:-0} - prev)) times)"
        [ -n "$names" ] && echo "#   called: $names"
    fi
    [ -n "$n" ] && prev=$n
    k=0
    for line in "${stmts[@]}"; do
        [ -z "$line" ] && continue
        [[ "$line" == \\* ]] && continue
        k=$((k + 1))
        n=$(sed -n "s/^@@end $k \([0-9]*\)\$/\1/p" "$TMP/sp.err")
        names=$(awk -v k="$k" '$0 == "@@begin " k {f = 1; next} index($0, "@@end " k " ") == 1 {f = 0} f' "$TMP/sp.err" |
                sed -n 's/.*hi planted object called: //p' | sort -u | paste -sd ';' | sed 's/;/; /g')
        err=$(awk -v k="$k" '$0 == "@@begin " k {f = 1; next} index($0, "@@end " k " ") == 1 {f = 0} f' "$TMP/sp.err" |
              grep -m 1 'ERROR:' | sed 's/.*ERROR: *//' | cut -c1-120)
        if [ -n "$n" ] && [ "$n" = "$prev" ]; then
            ok 0 "search_path: $label: ${line:0:90}${err:+ (error: $err)}"
        else
            ok 1 "search_path: $label: ${line:0:90} (planted objects called $((${n:-0} - prev)) times)"
            [ -n "$names" ] && echo "#   called: $names"
            [ -z "$n" ] && echo "#   the statement did not complete: $(tail -n 2 "$TMP/sp.err" | tr '\n' ' ' | cut -c1-200)"
        fi
        [ -n "$n" ] && prev=$n
    done
}

T2=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "GRANT CREATE ON SCHEMA public TO hi_attacker" >/dev/null || exit 1
out=$(psql -X -q -v ON_ERROR_STOP=1 -U hi_attacker -d "$DB" -f - <<<"$PLANT" 2>&1)
ok $? "search_path: an unprivileged role plants objects in public ($(echo "$out" | sed -n 's/.*hi planted \([0-9]* functions, [0-9]* operators\).*/\1/p'))"
echo "$out" | grep -v 'hi planted' | head -n 5 | sed 's/^/# /'

# the control: the planted objects are what public-first resolution finds
before=$(planted_calls "$DB")
out=$(PGOPTIONS="-c search_path=public,pg_catalog" psql -X -q -At -U hi_clerk -d "$DB" \
        -c "SELECT 'a'::text = 'b'::text, lower('X'), now() IS NOT NULL, 'hi.people'::regclass = 'hi.people'::regclass,
                   (SELECT count(*) FROM generate_series(1, 3))" 2>&1)
after=$(planted_calls "$DB")
[ $((after - before)) -ge 5 ]
ok $? "search_path: control: called directly, the planted objects are reached ($((after - before)) calls)"

# the statements below qualify every operator and function of their own
# with pg_catalog: only what the extension runs can reach a planted object
run_as "$DB" hi_clerk "as a clerk" <<'SQL'
SELECT pg_catalog.count(*) FROM hi.people;
SELECT pg_catalog.count(*) FROM hi.docs;
SELECT id, name, note, bsn, privacy.bsn_display(bsn) FROM hi.people ORDER BY id LIMIT 3;
SELECT pg_catalog.count(*) FROM "Robert'); DROP TABLE x;--"."Robert'); DROP TABLE x;--";
INSERT INTO hi.people (id, branch, name, bsn) VALUES (100, '1', 'new', '100000009');
UPDATE hi.people SET name = 'renamed' WHERE id OPERATOR(pg_catalog.=) 100;
UPDATE hi.people SET note = 'new phone' WHERE id OPERATOR(pg_catalog.=) 1;
INSERT INTO hi.docs VALUES (1000, 100, current_date, 'new doc');
SELECT privacy.bsn_is_valid('111222333'), privacy.bsn_authorized(), privacy.redact_identifiers('bsn 111222333');
SQL
run_as "$DB" postgres "as the superuser" <<'SQL'
SELECT pg_catalog.count(*) FROM hi.people;
SELECT * FROM privacy.status();
SELECT * FROM privacy.audit_verify();
SELECT privacy.audit_append('hi.path', 'hi.people', 'person', '4', '{"k": 1}');
SELECT * FROM privacy.audit_head();
SELECT privacy.audit_seal();
SELECT pg_catalog.count(*) FROM privacy.propose_registrations('person');
SELECT privacy.register_table('hi.notes', 'person', key_column => 'person_id');
SELECT privacy.grant_scope('hi_clerk', '2');
SELECT privacy.revoke_scope('hi_clerk', '2');
SELECT * FROM privacy.role_scopes('hi_clerk');
SELECT privacy.classify_column('hi.notes', 'body', 'free_text');
SELECT privacy.set_optional_field('hi.people', 'name', false);
SELECT privacy.set_optional_field('hi.people', 'name', true);
SELECT * FROM privacy.field_status();
SELECT pg_catalog.count(*) FROM privacy.scan_table('hi.notes');
SELECT privacy.redact_table('hi.notes', 'body');
SELECT privacy.define_document_type('hi_doc2', '1 year', 'x', 'end_of_year', '1 year');
SELECT privacy.load_retention_preset();
SELECT privacy.create_retention_rule('hi_rule2', 'hi.notes', 'hi_doc2', start_expr => 'created_at', condition => 'id > 0');
SELECT * FROM privacy.retention_status();
SELECT * FROM privacy.expired_rows();
SELECT privacy.purge_plan();
SELECT privacy.retention_expiry(current_date, '1 year', 'end_of_month', '2 years');
SELECT privacy.release_hold(privacy.place_hold('person', '4', 'r'));
SELECT privacy.subject_held('person', '2');
SELECT privacy.define_purpose('hi_p2', 'p', 'contract');
SELECT privacy.bind_purpose('hi.people', 'hi_p2');
SELECT privacy.record_consent('person', '5', 'hi_purpose');
SELECT privacy.define_recipient('hi_r2', 'processor', 'US', 'standard_contractual_clauses');
SELECT privacy.record_disclosure('hi_r2', 'person', '5', '{contact}');
SELECT privacy.extend_request(privacy.register_request('person', '5', 'access', '2020-01-01'), 'archive');
SELECT privacy.close_request(privacy.register_request('person', '5', 'objection'), 'refused', '{}');
SELECT privacy.mark_delivered(pg_catalog.min(id)) FROM privacy.notification WHERE delivered_at IS NULL;
SELECT privacy.export_subject('person', '1');
SELECT pg_catalog.length(privacy.export_subject_encrypted('person', '1', 'correct horse battery staple'));
SELECT privacy.erase_subject('person', '5', 'art. 17(1)(a)', dry_run => true);
SELECT privacy.erase_subject('person', '6', 'art. 17(1)(a)');
SELECT privacy.lift_restriction(privacy.restrict_subject('person', '7', 'contested'));
SELECT privacy.processing_register();
SELECT pg_catalog.length(privacy.processing_register_markdown());
SELECT privacy.find_identifiers('111222333 NL91ABNA0417164300'), privacy.has_identifier('x 111222333');
SELECT privacy.mask_partial('0612345678', 2), privacy.bsn_display('111222333');
SELECT pg_catalog.count(*) FROM hi.docs d JOIN hi.people p ON p.id OPERATOR(pg_catalog.=) d.person_id;
UPDATE hi.people SET note = note WHERE id OPERATOR(pg_catalog.=) 8;
UPDATE hi.people SET bsn = '010000008' WHERE id OPERATOR(pg_catalog.=) 9;
CALL privacy.purge(batch_rows => 5);
SQL
run_as "$DB" hi_admin "as the privacy admin" <<'SQL'
SELECT privacy.register_subject_type('person2', 'hi.people', 'id', 'people again');
SELECT privacy.grant_scope('hi_clerk', '2');
SELECT privacy.revoke_scope('hi_clerk', '2');
SELECT privacy.classify_column('hi.people', 'name', 'identifying');
SELECT privacy.unclassify_column('hi.people', 'name');
SELECT * FROM privacy.field_status();
SELECT privacy.clear_field('hi.people', 'diagnosis');
SELECT privacy.define_document_type('hi_doc3', '2 years', 'x');
SELECT privacy.create_retention_rule('hi_rule3', 'hi.docs', 'hi_doc3', start_expr => 'created_at', condition => 'id % 2 = 0');
SELECT privacy.drop_retention_rule('hi_rule3');
SELECT privacy.drop_document_type('hi_doc3');
SELECT * FROM privacy.retention_status();
SELECT * FROM privacy.expired_rows('hi_rule');
SELECT privacy.purge_plan('hi_rule');
SELECT privacy.define_purpose('hi_p3', 'p', 'legitimate_interest');
SELECT privacy.define_recipient('hi_r3', 'client', 'BE', 'eu_eea');
SELECT pg_catalog.count(*) FROM privacy.scan_table('hi.people');
SELECT privacy.processing_register_markdown() IS NOT NULL;
SELECT * FROM privacy.audit_verify();
SELECT privacy.audit_append('hi.admin', NULL, NULL, NULL, NULL);
SELECT privacy.unregister_table('hi.notes');
CALL privacy.purge();
SELECT privacy.schedule_purge('30 3 * * *', 'hi_job');
SQL
run_as "$DB" hi_officer "as the privacy officer" <<'SQL'
SELECT pg_catalog.count(*) FROM hi.people;
SELECT privacy.place_hold('person', '10', 'court') AS hold \gset
SELECT privacy.release_hold(:hold);
SELECT * FROM privacy.retention_status();
SELECT privacy.record_consent('person', '11', 'hi_purpose');
SELECT privacy.record_consent('person', '11', 'hi_purpose', false);
SELECT privacy.record_disclosure('hi_recipient', 'person', '11', '{identifying,contact}');
SELECT privacy.register_request('person', '11', 'erasure') AS req \gset
SELECT privacy.export_subject('person', '11');
SELECT privacy.export_subject('person', '11', portability => true);
SELECT pg_catalog.length(privacy.export_subject_encrypted('person', '11', 'correct horse battery staple'));
SELECT privacy.erase_subject('person', '11', 'art. 17(1)(a)', dry_run => true);
SELECT privacy.erase_subject('person', '11', 'art. 17(1)(a)', request_id => :req);
SELECT privacy.restrict_subject('person', '12', 'contested') AS res \gset
SELECT privacy.lift_restriction(:res);
SELECT * FROM privacy.requests_due;
SELECT * FROM privacy.pending_notifications;
SELECT privacy.mark_delivered(pg_catalog.max(id)) FROM privacy.pending_notifications;
SELECT privacy.processing_register();
SELECT * FROM privacy.audit_verify();
SQL

# CREATE EXTENSION in a fresh database with the planted objects present
psql -X -q -v ON_ERROR_STOP=1 -d "$FRESH" -c "CREATE EXTENSION pgcrypto" \
    -c "GRANT CREATE ON SCHEMA public TO hi_attacker" >/dev/null || exit 1
out=$(psql -X -q -v ON_ERROR_STOP=1 -U hi_attacker -d "$FRESH" -f - <<<"$PLANT" 2>&1)
ok $? "search_path: the objects are planted in a fresh database too"
run_as "$FRESH" postgres "in a fresh database" <<'SQL'
CREATE EXTENSION pg_privacy;
SELECT * FROM privacy.status();
SELECT * FROM privacy.audit_verify();
CREATE TABLE public.t (id int PRIMARY KEY, branch text);
SELECT privacy.register_subject_type('t', 'public.t', 'id');
SELECT privacy.register_table('public.t', 't', scope_column => 'branch');
SELECT pg_catalog.count(*) FROM public.t;
SQL
[ "$(q "SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'" "$FRESH")" != "" ]
ok $? "search_path: the extension was created in the fresh database"
echo "# the search_path attack took $(( $(date +%s) - T2 )) s"

echo "# $(( $(date +%s) - START )) s in all"
echo "1..$checks"
checks_done
