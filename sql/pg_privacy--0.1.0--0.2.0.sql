/* pg_privacy--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_privacy UPDATE TO '0.2.0'" to load this file. \quit

-- Every change to the SQL of 0.1.0 that 0.2.0 makes, in the order of the
-- pieces of sql/src it belongs to.  An updated installation must equal a
-- fresh one of 0.2.0: test/upgrade compares the two over pg_catalog.

-------------------------------------------------------------------------------
-- 65_support.sql: support access under grants (new in 0.2.0)
-------------------------------------------------------------------------------


DO $$
DECLARE
    r text := coalesce(nullif(current_setting('privacy.support_role', true), ''), 'privacy_support');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
        EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
    END IF;
END
$$;

CREATE FUNCTION @extschema@._in_eea(country text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN country OPERATOR(pg_catalog.=) ANY (ARRAY[
    'AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU',
    'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
    'IS', 'LI', 'NO']);
COMMENT ON FUNCTION @extschema@._in_eea(text) IS
'Whether a two-letter country code is a member state of the EU or the EEA';

CREATE TABLE @extschema@.support_profile (
    role         regrole     PRIMARY KEY,
    country      text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    safeguard    text        NOT NULL CHECK (safeguard IN ('eu_eea', 'adequacy', 'standard_contractual_clauses',
                                                           'binding_corporate_rules', 'none')),
    organisation text,
    defined_by   name        NOT NULL,
    defined_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((safeguard = 'eu_eea') = @extschema@._in_eea(country))
);
COMMENT ON TABLE @extschema@.support_profile IS
'Support roles with the country their staff work from and the safeguard of that transfer (AVG art. 44-49); a role without a profile works from the EU/EEA';

CREATE SEQUENCE @extschema@.access_grant_seq;
CREATE TABLE @extschema@.access_grant (
    id            bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.access_grant_seq'),
    role          regrole     NOT NULL,
    requested_by  name        NOT NULL,
    reason        text        NOT NULL CHECK (pg_catalog.btrim(reason) <> ''),
    scopes        text[]      NOT NULL CHECK (pg_catalog.cardinality(scopes) > 0),
    tables        regclass[]  NOT NULL DEFAULT '{}',
    subject_types text[]      NOT NULL DEFAULT '{}',
    classes       text[]      NOT NULL DEFAULT '{}',
    bsn           boolean     NOT NULL DEFAULT false,
    write         boolean     NOT NULL DEFAULT false,
    requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    until         timestamptz NOT NULL,
    status        text        NOT NULL DEFAULT 'requested'
                              CHECK (status IN ('requested', 'approved', 'refused', 'revoked')),
    country       text,
    safeguard     text,
    decided_by    name,
    decided_at    timestamptz,
    decision_note text,
    revoked_by    name,
    revoked_at    timestamptz,
    CHECK (pg_catalog.cardinality(tables) + pg_catalog.cardinality(subject_types) > 0),
    CHECK ((status = 'requested') = (decided_at IS NULL AND revoked_at IS NULL) OR status = 'revoked'),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX access_grant_role_idx ON @extschema@.access_grant (role) WHERE status = 'approved';
COMMENT ON TABLE @extschema@.access_grant IS
'Requests for support access and the grants made of them: who, why, which scopes, tables or subject types and column classes, until when, and who decided; never deleted';

-- Only the functions below write these rows, as the extension's owner;
-- the guard also keeps a superuser from re-enabling a grant that ended.
CREATE FUNCTION @extschema@._access_grant_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'access grants are kept: revoke one with privacy.revoke_access()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (OLD.id, OLD.role, OLD.requested_by, OLD.reason, OLD.scopes, OLD.tables, OLD.subject_types,
        OLD.classes, OLD.bsn, OLD.write, OLD.requested_at, OLD.until)
       IS DISTINCT FROM
       (NEW.id, NEW.role, NEW.requested_by, NEW.reason, NEW.scopes, NEW.tables, NEW.subject_types,
        NEW.classes, NEW.bsn, NEW.write, NEW.requested_at, NEW.until)
       OR NOT ((OLD.status = 'requested' AND NEW.status IN ('approved', 'refused', 'revoked'))
               OR (OLD.status = 'approved' AND NEW.status = 'revoked' AND OLD.decided_at = NEW.decided_at))
       OR (OLD.status = 'requested' AND NEW.status = 'approved' AND NEW.until <= pg_catalog.now()) THEN
        RAISE EXCEPTION 'access grant % cannot be changed this way', OLD.id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A request is approved, refused or revoked once; an approved grant can only be revoked, and what it covers and its end never change.',
                  HINT = 'Ask for a new grant with privacy.request_access().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@._access_grant_guard() IS
'Keeps access grants from being deleted, widened, extended or re-enabled';

CREATE TRIGGER access_grant_guard BEFORE UPDATE OR DELETE ON @extschema@.access_grant
    FOR EACH ROW EXECUTE FUNCTION @extschema@._access_grant_guard();
CREATE TRIGGER access_grant_no_truncate BEFORE TRUNCATE ON @extschema@.access_grant
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._access_grant_guard();
CREATE TRIGGER access_grant_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.access_grant FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
CREATE TRIGGER support_profile_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.support_profile FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
ALTER TABLE @extschema@.access_grant ENABLE ALWAYS TRIGGER access_grant_guard;
ALTER TABLE @extschema@.access_grant ENABLE ALWAYS TRIGGER access_grant_no_truncate;
ALTER TABLE @extschema@.access_grant ENABLE ALWAYS TRIGGER access_grant_changed;
ALTER TABLE @extschema@.support_profile ENABLE ALWAYS TRIGGER support_profile_changed;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.support_profile', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.access_grant', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.access_grant_seq', '');
REVOKE ALL ON @extschema@.support_profile, @extschema@.access_grant FROM PUBLIC;

CREATE FUNCTION @extschema@._support_role()
RETURNS name
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(nullif(pg_catalog.current_setting('privacy.support_role', true), ''), 'privacy_support');
COMMENT ON FUNCTION @extschema@._support_role() IS
'The support role: privacy.support_role, or privacy_support';

CREATE FUNCTION @extschema@._transfer_allowed(role regrole, OUT country text, OUT safeguard text)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT p.country, p.safeguard INTO country, safeguard FROM privacy.support_profile p WHERE p.role = _transfer_allowed.role;
    IF NOT FOUND THEN
        country := NULL;
        safeguard := 'eu_eea';
    ELSIF safeguard = 'none' THEN
        RAISE EXCEPTION 'support role "%" works from % without a safeguard for the transfer', role, country
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Access from outside the EU/EEA needs an adequacy decision, standard contractual clauses or binding corporate rules (AVG art. 45-47).',
                  HINT = 'Record the safeguard with privacy.define_support_role().';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._transfer_allowed(regrole) IS
'The country and safeguard of a support role; refuses a role outside the EU/EEA without a safeguard';

CREATE FUNCTION @extschema@.define_support_role(role regrole, country text, safeguard text DEFAULT NULL,
                                                organisation text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    sg text := coalesce(safeguard, CASE WHEN privacy._in_eea(upper(country)) THEN 'eu_eea' ELSE 'none' END);
BEGIN
    PERFORM privacy._require_admin();
    IF NOT pg_has_role(role, privacy._support_role(), 'USAGE') THEN
        RAISE EXCEPTION 'role "%" is not a member of "%"', role, privacy._support_role()
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('GRANT %I TO %I first.', privacy._support_role(), role::text);
    END IF;
    IF country IS NULL OR upper(country) !~ '^[A-Z]{2}$' THEN
        RAISE EXCEPTION 'a support role needs a two-letter country code' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF privacy._in_eea(upper(country)) <> (sg = 'eu_eea') OR
       sg NOT IN ('eu_eea', 'adequacy', 'standard_contractual_clauses', 'binding_corporate_rules', 'none') THEN
        RAISE EXCEPTION 'safeguard "%" does not fit country "%"', sg, upper(country)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Roles in the EU/EEA have safeguard eu_eea; others adequacy, standard_contractual_clauses, binding_corporate_rules, or none (then no grant is approved).';
    END IF;
    INSERT INTO privacy.support_profile AS p (role, country, safeguard, organisation, defined_by)
    VALUES (define_support_role.role, upper(define_support_role.country), sg, define_support_role.organisation,
            privacy._calling_role()::regrole::name)
    ON CONFLICT ON CONSTRAINT support_profile_pkey DO UPDATE
       SET country = excluded.country, safeguard = excluded.safeguard, organisation = excluded.organisation,
           defined_by = excluded.defined_by, defined_at = pg_catalog.now();
    PERFORM privacy.audit_append('support.role', role::text, NULL, NULL,
        jsonb_build_object('country', upper(country), 'safeguard', sg));
END
$$;
COMMENT ON FUNCTION @extschema@.define_support_role(regrole, text, text, text) IS
'Record the country a support role works from and the safeguard of that transfer; audited';

CREATE FUNCTION @extschema@.request_access(role regrole, reason text, scopes text[], objects text[],
                                           until timestamptz, classes text[] DEFAULT '{}',
                                           bsn boolean DEFAULT false, write boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    caller regrole := privacy._calling_role()::regrole;
    max_len interval := pg_catalog.current_setting('privacy.support_max_duration')::interval;
    tbls regclass[] := '{}';
    sts text[] := '{}';
    o text;
    rel regclass;
    id bigint;
BEGIN
    IF NOT pg_has_role(caller, privacy._support_role(), 'USAGE') OR NOT pg_has_role(caller, role, 'USAGE')
       OR NOT pg_has_role(role, privacy._support_role(), 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to request support access for role "%"', role
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Support access is requested by members of "%s", for themselves.', privacy._support_role());
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a support access request needs a reason (the ticket it is for)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF scopes IS NULL OR cardinality(scopes) = 0 OR array_position(scopes, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'a support access request names the scopes it needs'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Name branches, or ''*'' for every branch.';
    END IF;
    IF objects IS NULL OR cardinality(objects) = 0 THEN
        RAISE EXCEPTION 'a support access request names the tables or subject types it needs'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH o IN ARRAY objects LOOP
        IF EXISTS (SELECT FROM privacy.subject_type s WHERE s.name = o) THEN
            sts := sts || o;
        ELSE
            -- a registered table by its qualified name, or by its name alone
            -- when one registered table has it
            rel := pg_catalog.to_regclass(o);
            IF rel IS NULL OR NOT EXISTS (SELECT FROM privacy.registered_table t WHERE t.relid = rel) THEN
                SELECT min(t.relid::oid)::regclass INTO rel FROM privacy.registered_table t
                  JOIN pg_catalog.pg_class c ON c.oid = t.relid
                 WHERE c.relname = o
                HAVING count(*) = 1;
            END IF;
            IF rel IS NULL THEN
                RAISE EXCEPTION '"%" is neither a subject type nor a registered table', o
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Name a registered table by its qualified name (schema.table).';
            END IF;
            tbls := tbls || rel;
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM unnest(coalesce(classes, '{}')) c
                WHERE NOT EXISTS (SELECT FROM privacy.column_class k WHERE k.name = c)) THEN
        RAISE EXCEPTION 'unknown column class in %', classes
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The classes are listed in privacy.column_class; BSNs in full are asked for with bsn => true.';
    END IF;
    IF until IS NULL OR until <= pg_catalog.now() OR until > pg_catalog.now() + max_len THEN
        RAISE EXCEPTION 'support access must end within % from now', max_len
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'privacy.support_max_duration sets the longest grant.';
    END IF;
    PERFORM privacy._transfer_allowed(role);
    INSERT INTO privacy.access_grant (role, requested_by, reason, scopes, tables, subject_types, classes,
                                      bsn, write, until)
    VALUES (role, caller::name, reason, scopes, tbls, sts, coalesce(classes, '{}'),
            coalesce(bsn, false), coalesce(write, false), until)
    RETURNING access_grant.id INTO id;
    PERFORM privacy.audit_append('support.request', role::text, NULL, NULL,
        jsonb_build_object('grant', id, 'reason', reason, 'scopes', scopes, 'tables', tbls::text[],
                           'subject_types', sts, 'classes', coalesce(classes, '{}'), 'bsn', coalesce(bsn, false),
                           'write', coalesce(write, false), 'until', until));
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.request_access(regrole, text, text[], text[], timestamptz, text[], boolean, boolean) IS
'A support role asks for access: the reason, scopes, tables or subject types, column classes seen in full, BSNs in full, writes, and the end; audited';

CREATE FUNCTION @extschema@._decide_access(grant_id bigint, approve boolean, note text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    caller regrole := privacy._calling_role()::regrole;
    g privacy.access_grant;
    t record;
BEGIN
    IF NOT (privacy._calling_role_is_admin() OR privacy._calling_role_is_officer()) THEN
        RAISE EXCEPTION 'permission denied to decide on support access'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The privacy admin or the privacy officer approves or refuses requests.';
    END IF;
    SELECT * INTO g FROM privacy.access_grant a WHERE a.id = grant_id FOR UPDATE;
    IF NOT FOUND OR g.status <> 'requested' THEN
        RAISE EXCEPTION 'no open support access request with id %', grant_id USING ERRCODE = 'undefined_object';
    END IF;
    IF caller::name = g.requested_by OR pg_has_role(caller, g.role, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to decide on one''s own support access request'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Another member of the privacy admin or officer role must decide.';
    END IF;
    IF approve THEN
        IF g.until <= pg_catalog.now() THEN
            RAISE EXCEPTION 'support access request % has already ended', grant_id
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        t := privacy._transfer_allowed(g.role);
        UPDATE privacy.access_grant a
           SET status = 'approved', decided_by = caller::name, decided_at = pg_catalog.now(),
               decision_note = note, country = t.country, safeguard = t.safeguard
         WHERE a.id = grant_id;
    ELSE
        UPDATE privacy.access_grant a
           SET status = 'refused', decided_by = caller::name, decided_at = pg_catalog.now(), decision_note = note
         WHERE a.id = grant_id;
    END IF;
    PERFORM privacy.audit_append(CASE WHEN approve THEN 'support.approve' ELSE 'support.refuse' END,
        g.role::text, NULL, NULL, jsonb_build_object('grant', grant_id, 'note', note, 'until', g.until));
END
$$;
COMMENT ON FUNCTION @extschema@._decide_access(bigint, boolean, text) IS
'Approve or refuse a support access request, as neither its requester nor a member of its role; audited';

CREATE FUNCTION @extschema@.approve_access(grant_id bigint, note text DEFAULT NULL)
RETURNS void
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT privacy._decide_access(grant_id, true, note);
END;
COMMENT ON FUNCTION @extschema@.approve_access(bigint, text) IS
'Approve a support access request (privacy admin or officer, not the requester); audited';

CREATE FUNCTION @extschema@.refuse_access(grant_id bigint, note text DEFAULT NULL)
RETURNS void
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT privacy._decide_access(grant_id, false, note);
END;
COMMENT ON FUNCTION @extschema@.refuse_access(bigint, text) IS
'Refuse a support access request (privacy admin or officer, not the requester); audited';

CREATE FUNCTION @extschema@.revoke_access(grant_id bigint, note text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    caller regrole := privacy._calling_role()::regrole;
    g privacy.access_grant;
BEGIN
    SELECT * INTO g FROM privacy.access_grant a WHERE a.id = grant_id FOR UPDATE;
    IF NOT FOUND OR g.status NOT IN ('requested', 'approved') THEN
        RAISE EXCEPTION 'no open support access request or grant with id %', grant_id
            USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT (privacy._calling_role_is_admin() OR privacy._calling_role_is_officer()
            OR caller::name = g.requested_by) THEN
        RAISE EXCEPTION 'permission denied to revoke support access %', grant_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The privacy admin, the privacy officer or the requester revokes a grant.';
    END IF;
    UPDATE privacy.access_grant a
       SET status = 'revoked', revoked_by = caller::name, revoked_at = pg_catalog.now(),
           decision_note = coalesce(note, a.decision_note)
     WHERE a.id = grant_id;
    PERFORM privacy.audit_append('support.revoke', g.role::text, NULL, NULL,
        jsonb_build_object('grant', grant_id, 'note', note));
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_access(bigint, text) IS
'End a support access grant (or withdraw a request) at once; audited';

CREATE VIEW @extschema@.access_grants AS
SELECT g.id, g.role, g.requested_by, g.reason, g.scopes, g.tables, g.subject_types, g.classes, g.bsn, g.write,
       g.requested_at, g.until, g.status,
       g.status = 'approved' AND g.until > pg_catalog.now() AS active,
       g.country, g.safeguard, g.decided_by, g.decided_at, g.decision_note, g.revoked_by, g.revoked_at
  FROM @extschema@.access_grant g;
COMMENT ON VIEW @extschema@.access_grants IS
'Support access requests and grants, with whether each is active now';

CREATE FUNCTION @extschema@.access_report(grant_id bigint, OUT report jsonb, OUT markdown text)
RETURNS record
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    g privacy.access_grants;
    s jsonb;
    e jsonb;
BEGIN
    IF NOT (privacy._calling_role_is_admin() OR privacy._calling_role_is_officer()) THEN
        RAISE EXCEPTION 'permission denied to read support access reports'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO g FROM privacy.access_grants a WHERE a.id = grant_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no support access request with id %', grant_id USING ERRCODE = 'undefined_object';
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('at', l.logged_at, 'login', l.login_role, 'tables', l.object,
                                                 'command', l.details ->> 'command',
                                                 'rows', (l.details ->> 'rows')::bigint,
                                                 'statement', l.details ->> 'statement') ORDER BY l.seq), '[]')
      INTO s
      FROM privacy.audit_log l
     WHERE l.action = 'support.statement' AND l.details -> 'grants' @> to_jsonb(grant_id);
    report := jsonb_build_object(
        'grant', g.id, 'role', g.role::text, 'requested_by', g.requested_by, 'reason', g.reason,
        'scopes', g.scopes, 'tables', g.tables::text[], 'subject_types', g.subject_types,
        'classes', g.classes, 'bsn', g.bsn, 'write', g.write, 'requested_at', g.requested_at,
        'until', g.until, 'status', g.status, 'active', g.active,
        'country', g.country, 'safeguard', g.safeguard,
        'decided_by', g.decided_by, 'decided_at', g.decided_at, 'decision_note', g.decision_note,
        'revoked_by', g.revoked_by, 'revoked_at', g.revoked_at,
        'statements', s, 'statement_count', jsonb_array_length(s),
        'rows', (SELECT coalesce(sum((x ->> 'rows')::bigint), 0) FROM jsonb_array_elements(s) x));
    markdown := format(E'# Support access %s\n\n| | |\n|---|---|\n| role | %s |\n| requested by | %s at %s |\n| reason | %s |\n| scopes | %s |\n| tables | %s |\n| subject types | %s |\n| classes in full | %s |\n| BSNs in full | %s |\n| writes | %s |\n| until | %s |\n| status | %s%s |\n| decided by | %s |\n| transfer | %s |\n\n## Statements (%s, %s rows)\n\n| at | command | rows | tables | statement |\n|---|---|---|---|---|\n',
        g.id, g.role, g.requested_by, to_char(g.requested_at, 'YYYY-MM-DD HH24:MI'), g.reason,
        array_to_string(g.scopes, ', '), coalesce(nullif(array_to_string(g.tables::text[], ', '), ''), '-'),
        coalesce(nullif(array_to_string(g.subject_types, ', '), ''), '-'),
        coalesce(nullif(array_to_string(g.classes, ', '), ''), 'none'),
        CASE WHEN g.bsn THEN 'yes' ELSE 'no' END, CASE WHEN g.write THEN 'yes' ELSE 'no' END,
        to_char(g.until, 'YYYY-MM-DD HH24:MI'), g.status,
        CASE WHEN g.revoked_at IS NOT NULL THEN ' at ' || to_char(g.revoked_at, 'YYYY-MM-DD HH24:MI') ELSE '' END,
        coalesce(g.decided_by || ' at ' || to_char(g.decided_at, 'YYYY-MM-DD HH24:MI'), '-'),
        coalesce(g.country || ' (' || g.safeguard || ')', 'within the EU/EEA'),
        report ->> 'statement_count', report ->> 'rows');
    FOR e IN SELECT * FROM jsonb_array_elements(s) LOOP
        markdown := markdown || format(E'| %s | %s | %s | %s | `%s` |\n',
            to_char((e ->> 'at')::timestamptz, 'YYYY-MM-DD HH24:MI:SS'), e ->> 'command', e ->> 'rows',
            e ->> 'tables', replace(replace(e ->> 'statement', '|', '\|'), E'\n', ' '));
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.access_report(bigint) IS
'A support access grant, who decided on it, and every statement run under it, as JSON and Markdown';

REVOKE EXECUTE ON FUNCTION
    @extschema@._access_grant_guard(),
    @extschema@._transfer_allowed(regrole),
    @extschema@.define_support_role(regrole, text, text, text),
    @extschema@.request_access(regrole, text, text[], text[], timestamptz, text[], boolean, boolean),
    @extschema@._decide_access(bigint, boolean, text),
    @extschema@.approve_access(bigint, text),
    @extschema@.refuse_access(bigint, text),
    @extschema@.revoke_access(bigint, text),
    @extschema@.access_report(bigint)
  FROM PUBLIC;

DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
    support text := coalesce(nullif(current_setting('privacy.support_role', true), ''), 'privacy_support');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.access_grant, privacy.access_grants, privacy.support_profile TO %I, %I',
                              admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.define_support_role(regrole, text, text, text) TO %I', admin);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.approve_access(bigint, text), '
                              'privacy.refuse_access(bigint, text), privacy.access_report(bigint) TO %I, %I',
                              admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.revoke_access(bigint, text) TO %I, %I, %I',
                              admin, officer, support);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION '
                              'privacy.request_access(regrole, text, text[], text[], timestamptz, text[], boolean, boolean) TO %I',
                              support);
END
$$;

-------------------------------------------------------------------------------
-- 70_rights.sql: the record of processing lists support roles abroad as
-- transfers, the support access granted and the accepted lint findings
-------------------------------------------------------------------------------

-- Findings of privacy.lint() accepted with their reason (80_lint.sql);
-- the record of processing lists them.
CREATE TABLE @extschema@.lint_suppression (
    code           text        NOT NULL CHECK (code ~ '^PP[0-9]{3}$'),
    object         text        NOT NULL,
    reason         text        NOT NULL CHECK (pg_catalog.btrim(reason) <> ''),
    suppressed_by  name        NOT NULL,
    suppressed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (code, object)
);
COMMENT ON TABLE @extschema@.lint_suppression IS
'Findings of privacy.lint() accepted for an object, with the reason; listed in the record of processing';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lint_suppression', '');
REVOKE ALL ON @extschema@.lint_suppression FROM PUBLIC;


CREATE OR REPLACE FUNCTION @extschema@.processing_register()
RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
SELECT jsonb_build_object(
    'controller', current_database(),
    'generated_at', now(),
    'purposes', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'purpose', p.name, 'description', p.description, 'legal_basis', p.legal_basis,
                     'basis_detail', p.basis_detail,
                     'tables', (SELECT coalesce(jsonb_agg(tp.relid::text ORDER BY tp.relid::text), '[]')
                                  FROM privacy.table_purpose tp WHERE tp.purpose = p.name),
                     'subjects', (SELECT coalesce(jsonb_agg(DISTINCT ts.subject_type), '[]')
                                    FROM privacy.table_purpose tp JOIN privacy.table_subject ts ON ts.relid = tp.relid
                                   WHERE tp.purpose = p.name)) ORDER BY p.name), '[]')
                   FROM privacy.purpose p),
    'subject_categories', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'subject_type', s.name, 'description', s.description, 'source', s.source,
                               'tables', (SELECT coalesce(jsonb_agg(ts.relid::text ORDER BY ts.relid::text), '[]')
                                            FROM privacy.table_subject ts WHERE ts.subject_type = s.name))
                               ORDER BY s.name), '[]')
                             FROM privacy.subject_type s),
    'data_categories', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                            'class', c.name, 'description', c.description,
                            'columns', (SELECT coalesce(jsonb_agg(format('%s.%I', cp.relid, cp.column_name)
                                                                   ORDER BY 1), '[]')
                                          FROM privacy.column_policy cp WHERE cp.class = c.name))
                            ORDER BY c.name), '[]')
                          FROM privacy.column_class c),
    'recipients', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'recipient', r.name, 'kind', r.kind, 'country', r.country, 'safeguard', r.safeguard,
                       'processor_of', r.processor_of, 'description', r.description) ORDER BY r.name), '[]')
                     FROM privacy.recipient r),
    'transfers_outside_eea', (SELECT coalesce(jsonb_agg(t.x ORDER BY t.ord, t.name), '[]') FROM (
                                  SELECT 1 AS ord, r.name::text AS name, jsonb_build_object(
                                         'recipient', r.name, 'country', r.country, 'safeguard', r.safeguard) AS x
                                    FROM privacy.recipient r WHERE r.safeguard <> 'eu_eea'
                                  UNION ALL
                                  SELECT 2, p.role::text, jsonb_build_object(
                                         'support_role', p.role::text, 'organisation', p.organisation,
                                         'country', p.country, 'safeguard', p.safeguard,
                                         'grants', (SELECT count(*) FROM privacy.access_grant g
                                                     WHERE g.role = p.role AND g.decided_at IS NOT NULL
                                                       AND g.status <> 'refused'))
                                    FROM privacy.support_profile p
                                   WHERE p.safeguard <> 'eu_eea'
                                     AND EXISTS (SELECT FROM privacy.access_grant g
                                                  WHERE g.role = p.role AND g.decided_at IS NOT NULL
                                                    AND g.status <> 'refused')) t),
    'support_access', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'grant', g.id, 'role', g.role::text, 'reason', g.reason, 'approved_by', g.decided_by,
                           'from', g.decided_at, 'until', least(g.until, g.revoked_at), 'scopes', g.scopes,
                           'country', coalesce(g.country, '-'), 'safeguard', g.safeguard) ORDER BY g.id), '[]')
                         FROM privacy.access_grant g WHERE g.decided_at IS NOT NULL AND g.status <> 'refused'),
    'retention', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'document_type', d.name, 'retention', d.retention::text, 'clock', d.clock,
                      'rounding', d.rounding, 'minimum', d.min_keep::text, 'action', d.action,
                      'legal_basis', d.legal_basis, 'source', d.source) ORDER BY d.name), '[]')
                    FROM privacy.document_type d),
    'accepted_findings', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                              'code', s.code, 'object', s.object, 'reason', s.reason, 'by', s.suppressed_by,
                              'at', s.suppressed_at) ORDER BY s.code, s.object), '[]')
                            FROM privacy.lint_suppression s),
    'security_measures', jsonb_build_array(
        'BSNs stored in the bsn type: validated, masked for roles outside ' || current_setting('privacy.bsn_role') ||
            ', not searchable or sortable by them, changes audited',
        'row-level authorization per branch on every registered table (' ||
            (SELECT count(*) FROM privacy.registered_table WHERE scope_kind IS NOT NULL) || ' tables)',
        'column classes masked inside the database engine (' ||
            (SELECT count(*) FROM privacy.column_policy WHERE class IS NOT NULL) || ' columns)',
        'optional and forbidden fields enforced by the database (' ||
            (SELECT count(*) FROM privacy.column_policy WHERE state <> 'on') || ' fields)',
        'retention periods enforced by a scheduled purge (' ||
            (SELECT count(*) FROM privacy.retention_rule) || ' rules)',
        'a tamper-evident, hash-chained audit trail of access to and changes of personal data',
        'no BSN in server logs or error messages'));
$$;
CREATE OR REPLACE FUNCTION @extschema@.processing_register_markdown()
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    reg jsonb := privacy.processing_register();
    md text;
    e jsonb;
BEGIN
    md := format(E'# Record of processing activities (AVG art. 30)\n\nController: %s  \nGenerated: %s\n\n## Purposes\n\n| purpose | legal basis | subjects | tables |\n|---|---|---|---|\n',
                 reg ->> 'controller', to_char((reg ->> 'generated_at')::timestamptz, 'YYYY-MM-DD HH24:MI'));
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'purposes') LOOP
        md := md || format(E'| %s: %s | %s%s | %s | %s |\n', e ->> 'purpose', e ->> 'description',
                           e ->> 'legal_basis', coalesce(' (' || (e ->> 'basis_detail') || ')', ''),
                           (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'subjects') x),
                           (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'tables') x));
    END LOOP;
    md := md || E'\n## Categories of subjects\n\n| subject | source | tables |\n|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'subject_categories') LOOP
        md := md || format(E'| %s | %s | %s |\n', coalesce(e ->> 'description', e ->> 'subject_type'),
                           e ->> 'source',
                           (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'tables') x));
    END LOOP;
    md := md || E'\n## Categories of data\n\n| class | columns |\n|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'data_categories') LOOP
        md := md || format(E'| %s | %s |\n', coalesce(e ->> 'description', e ->> 'class'),
                           coalesce((SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(e -> 'columns') x), '-'));
    END LOOP;
    md := md || E'\n## Recipients\n\n| recipient | kind | country | safeguard |\n|---|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'recipients') LOOP
        md := md || format(E'| %s | %s | %s | %s |\n', e ->> 'recipient', e ->> 'kind', e ->> 'country',
                           e ->> 'safeguard');
    END LOOP;
    md := md || E'\n## Transfers outside the EU/EEA\n\n| to | country | safeguard |\n|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'transfers_outside_eea') LOOP
        md := md || format(E'| %s | %s | %s |\n',
                           coalesce(e ->> 'recipient', 'support role ' || (e ->> 'support_role')),
                           e ->> 'country', e ->> 'safeguard');
    END LOOP;
    md := md || E'\n## Support access\n\n| grant | role | reason | approved by | from | until | transfer |\n|---|---|---|---|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'support_access') LOOP
        md := md || format(E'| %s | %s | %s | %s | %s | %s | %s |\n', e ->> 'grant', e ->> 'role', e ->> 'reason',
                           e ->> 'approved_by', to_char((e ->> 'from')::timestamptz, 'YYYY-MM-DD HH24:MI'),
                           to_char((e ->> 'until')::timestamptz, 'YYYY-MM-DD HH24:MI'),
                           e ->> 'country' || ' (' || (e ->> 'safeguard') || ')');
    END LOOP;
    md := md || E'\n## Retention periods\n\n| document | period | clock | minimum | source |\n|---|---|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'retention') LOOP
        md := md || format(E'| %s | %s (%s) | %s | %s | %s |\n', e ->> 'document_type', e ->> 'retention',
                           e ->> 'rounding', e ->> 'clock', coalesce(e ->> 'minimum', '-'),
                           coalesce(e ->> 'source', '-'));
    END LOOP;
    md := md || E'\n## Accepted findings of privacy.lint()\n\n| code | object | reason | by |\n|---|---|---|---|\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'accepted_findings') LOOP
        md := md || format(E'| %s | %s | %s | %s |\n', e ->> 'code', e ->> 'object', e ->> 'reason', e ->> 'by');
    END LOOP;
    md := md || E'\n## Security measures\n\n';
    FOR e IN SELECT * FROM jsonb_array_elements(reg -> 'security_measures') LOOP
        md := md || format(E'- %s\n', e #>> '{}');
    END LOOP;
    RETURN md;
END
$$;

-------------------------------------------------------------------------------
-- 75_breaches.sql: personal data breaches (new in 0.2.0)
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- The history of scope grants
--
-- A scope grant in scope_grant holds from its granted_at until now; when it
-- is revoked (by any path) its row moves here with the time it ended, so
-- that the scopes a role held between two times can be told afterwards.
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.scope_grant_ended (
    role        regrole     NOT NULL,
    scope_kind  text        NOT NULL,
    scope       text        NOT NULL,
    granted_at  timestamptz NOT NULL,
    granted_by  name        NOT NULL,
    ended_at    timestamptz NOT NULL,
    ended_by    name        NOT NULL,
    CHECK (ended_at >= granted_at)
);
COMMENT ON TABLE @extschema@.scope_grant_ended IS
'Scope grants that ended, with when they held: with scope_grant, the history of who could see which rows';

CREATE FUNCTION @extschema@._scope_grant_ended()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO privacy.scope_grant_ended (role, scope_kind, scope, granted_at, granted_by, ended_at, ended_by)
    VALUES (OLD.role, OLD.scope_kind, OLD.scope, OLD.granted_at, OLD.granted_by,
            greatest(clock_timestamp(), OLD.granted_at), session_user);
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION @extschema@._scope_grant_ended() IS
'Trigger that keeps a revoked scope grant in scope_grant_ended';

CREATE TRIGGER scope_grant_history AFTER DELETE ON @extschema@.scope_grant
    FOR EACH ROW EXECUTE FUNCTION @extschema@._scope_grant_ended();
ALTER TABLE @extschema@.scope_grant ENABLE ALWAYS TRIGGER scope_grant_history;

-------------------------------------------------------------------------------
-- The breach register (AVG art. 33(5): every breach documented, never
-- deleted)
-------------------------------------------------------------------------------

CREATE SEQUENCE @extschema@.breach_seq;
CREATE TABLE @extschema@.breach (
    id                     bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.breach_seq'),
    description            text        NOT NULL CHECK (pg_catalog.btrim(description) <> ''),
    kind                   text        NOT NULL CHECK (kind IN ('confidentiality', 'integrity', 'availability')),
    occurred_from          timestamptz,
    occurred_until         timestamptz,
    became_aware_at        timestamptz NOT NULL,
    authority_deadline     timestamptz NOT NULL,
    reported_by            name        NOT NULL,
    reported_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
    contact                text,
    controller             text        REFERENCES @extschema@.recipient ON UPDATE CASCADE,
    status                 text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    risk                   text        CHECK (risk IN ('none', 'risk', 'high')),
    risk_reasoning         text,
    consequences           text,
    measures               text,
    assessed_at            timestamptz,
    authority_notified_at  timestamptz,
    authority_reference    text,
    late_reason            text,
    subjects_notified_at   timestamptz,
    controller_notified_at timestamptz,
    closed_at              timestamptz,
    closing_note           text,
    CHECK ((risk IS NULL) = (risk_reasoning IS NULL)),
    CHECK ((risk IS NULL) = (assessed_at IS NULL)),
    CHECK (occurred_until IS NULL OR occurred_from IS NULL OR occurred_until >= occurred_from),
    CHECK (authority_notified_at IS NULL OR authority_notified_at <= authority_deadline
           OR pg_catalog.btrim(late_reason) <> ''),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
COMMENT ON TABLE @extschema@.breach IS
'Personal data breaches (AVG art. 33, 34): what happened, when the controller became aware, the 72-hour deadline of the report to the authority, the risk assessment, the measures and the notifications; never deleted';
COMMENT ON COLUMN @extschema@.breach.controller IS
'The controller on whose behalf the data was processed, when this organisation is its processor: it is notified instead of the authority (AVG art. 33(2))';

CREATE SEQUENCE @extschema@.exposure_seq;
CREATE TABLE @extschema@.exposure (
    id           bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.exposure_seq'),
    breach       bigint      NOT NULL REFERENCES @extschema@.breach,
    cause        text        NOT NULL CHECK (cause IN ('role', 'rows', 'recipient')),
    parameters   jsonb       NOT NULL,
    subjects     bigint      NOT NULL,
    records      jsonb       NOT NULL,
    categories   jsonb       NOT NULL,
    activity     jsonb,
    computed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    computed_by  name        NOT NULL
);
CREATE INDEX exposure_breach_idx ON @extschema@.exposure (breach);
COMMENT ON TABLE @extschema@.exposure IS
'What a breach exposed, computed from the registry: the cause, the number of subjects, the records per table, the categories of data and how they were seen, and what the audit trail shows was done';

CREATE TABLE @extschema@.exposure_subject (
    exposure      bigint NOT NULL REFERENCES @extschema@.exposure,
    subject_type  text   NOT NULL,
    subject_keys  text[] NOT NULL,
    PRIMARY KEY (exposure, subject_type)
);
COMMENT ON TABLE @extschema@.exposure_subject IS
'The keys of the subjects an exposure reached, per subject type';

-- Only the functions below write these rows; the guard keeps everyone,
-- superusers included, from deleting them or rewriting what was recorded.
CREATE FUNCTION @extschema@._breach_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'the breach register is kept: its entries are never deleted'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'AVG art. 33(5) requires every breach to be documented.',
                  HINT = 'Close a breach with privacy.close_breach().';
    END IF;
    IF TG_TABLE_NAME <> 'breach' THEN
        RAISE EXCEPTION 'breach register entry cannot be changed this way'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Exposures and the history of scope grants are kept as recorded.';
    END IF;
    IF (OLD.id, OLD.kind, OLD.became_aware_at, OLD.authority_deadline, OLD.reported_by, OLD.reported_at)
          IS DISTINCT FROM
          (NEW.id, NEW.kind, NEW.became_aware_at, NEW.authority_deadline, NEW.reported_by, NEW.reported_at)
       OR OLD.status = 'closed'
       OR (OLD.authority_notified_at IS NOT NULL AND OLD.authority_notified_at IS DISTINCT FROM NEW.authority_notified_at)
       OR (OLD.subjects_notified_at IS NOT NULL AND OLD.subjects_notified_at IS DISTINCT FROM NEW.subjects_notified_at) THEN
        RAISE EXCEPTION 'breach register entry cannot be changed this way'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'When the controller became aware, the deadline and the dates of notifications are kept as recorded; exposures are never changed; a closed breach stays closed.',
                  HINT = 'Report a new breach with privacy.report_breach() if one was recorded wrongly.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@._breach_guard() IS
'Keeps the breach register from being deleted or rewritten';

CREATE TRIGGER breach_guard BEFORE UPDATE OR DELETE ON @extschema@.breach
    FOR EACH ROW EXECUTE FUNCTION @extschema@._breach_guard();
CREATE TRIGGER breach_no_truncate BEFORE TRUNCATE ON @extschema@.breach
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._breach_guard();
CREATE TRIGGER exposure_guard BEFORE UPDATE OR DELETE ON @extschema@.exposure
    FOR EACH ROW EXECUTE FUNCTION @extschema@._breach_guard();
CREATE TRIGGER exposure_no_truncate BEFORE TRUNCATE ON @extschema@.exposure
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._breach_guard();
CREATE TRIGGER exposure_subject_guard BEFORE UPDATE OR DELETE ON @extschema@.exposure_subject
    FOR EACH ROW EXECUTE FUNCTION @extschema@._breach_guard();
CREATE TRIGGER exposure_subject_no_truncate BEFORE TRUNCATE ON @extschema@.exposure_subject
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._breach_guard();
CREATE TRIGGER scope_grant_ended_guard BEFORE UPDATE OR DELETE ON @extschema@.scope_grant_ended
    FOR EACH ROW EXECUTE FUNCTION @extschema@._breach_guard();
CREATE TRIGGER scope_grant_ended_no_truncate BEFORE TRUNCATE ON @extschema@.scope_grant_ended
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._breach_guard();
ALTER TABLE @extschema@.breach ENABLE ALWAYS TRIGGER breach_guard;
ALTER TABLE @extschema@.breach ENABLE ALWAYS TRIGGER breach_no_truncate;
ALTER TABLE @extschema@.exposure ENABLE ALWAYS TRIGGER exposure_guard;
ALTER TABLE @extschema@.exposure ENABLE ALWAYS TRIGGER exposure_no_truncate;
ALTER TABLE @extschema@.exposure_subject ENABLE ALWAYS TRIGGER exposure_subject_guard;
ALTER TABLE @extschema@.exposure_subject ENABLE ALWAYS TRIGGER exposure_subject_no_truncate;
ALTER TABLE @extschema@.scope_grant_ended ENABLE ALWAYS TRIGGER scope_grant_ended_guard;
ALTER TABLE @extschema@.scope_grant_ended ENABLE ALWAYS TRIGGER scope_grant_ended_no_truncate;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.scope_grant_ended', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.breach', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.breach_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exposure', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exposure_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exposure_subject', '');

REVOKE ALL ON @extschema@.scope_grant_ended, @extschema@.breach, @extschema@.exposure,
              @extschema@.exposure_subject FROM PUBLIC;

-------------------------------------------------------------------------------
-- Writing the register
-------------------------------------------------------------------------------

CREATE FUNCTION @extschema@._require_officer(what text)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'only the privacy officer may %', what
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('Ask a member of %s.',
                                coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer'));
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._require_officer(text) IS
'Raise unless the caller is a member of privacy.officer_role (or a superuser)';

-- The breach, locked, for a function that changes it.
CREATE FUNCTION @extschema@._open_breach(breach_id bigint)
RETURNS @extschema@.breach
LANGUAGE plpgsql
AS $$
DECLARE
    b privacy.breach;
BEGIN
    SELECT * INTO b FROM privacy.breach WHERE id = breach_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'breach % does not exist', breach_id USING ERRCODE = 'undefined_object';
    END IF;
    IF b.status = 'closed' THEN
        RAISE EXCEPTION 'breach % is closed', breach_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Report a new breach with privacy.report_breach() for what was found later.';
    END IF;
    RETURN b;
END
$$;
COMMENT ON FUNCTION @extschema@._open_breach(bigint) IS
'An open breach of the register, locked for update';

-- A notification is recorded at a time between becoming aware and now.
CREATE FUNCTION @extschema@._check_notified_at(b @extschema@.breach, notified_at timestamptz)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF notified_at IS NULL OR notified_at < b.became_aware_at OR notified_at > clock_timestamp() THEN
        RAISE EXCEPTION 'the notification of breach % must lie between becoming aware of it and now', b.id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._check_notified_at(@extschema@.breach, timestamptz) IS
'Raise unless a notification time lies between becoming aware of the breach and now';

CREATE FUNCTION @extschema@.report_breach(description text, became_aware_at timestamptz, kind text,
                                          occurred_from timestamptz DEFAULT NULL,
                                          occurred_until timestamptz DEFAULT NULL,
                                          contact text DEFAULT NULL, controller text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    id bigint;
BEGIN
    PERFORM privacy._require_officer('report a breach');
    IF description IS NULL OR btrim(description) = '' THEN
        RAISE EXCEPTION 'a breach needs a description of what happened' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF kind IS NULL OR kind NOT IN ('confidentiality', 'integrity', 'availability') THEN
        RAISE EXCEPTION 'invalid kind of breach "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A breach is one of confidentiality (data seen by whom should not), integrity (data changed) or availability (data lost).';
    END IF;
    IF became_aware_at IS NULL OR became_aware_at > clock_timestamp() THEN
        RAISE EXCEPTION 'a breach needs the time the organisation became aware of it, not in the future'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF occurred_from > occurred_until OR occurred_from > became_aware_at THEN
        RAISE EXCEPTION 'the breach cannot have begun after it ended or after it was noticed'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF controller IS NOT NULL AND NOT EXISTS (SELECT FROM privacy.recipient r WHERE r.name = controller) THEN
        RAISE EXCEPTION 'recipient "%" does not exist', controller
            USING ERRCODE = 'undefined_object',
                  HINT = 'Define the controller first with privacy.define_recipient().';
    END IF;
    INSERT INTO privacy.breach (description, kind, occurred_from, occurred_until, became_aware_at,
                                authority_deadline, reported_by, contact, controller)
    VALUES (description, kind, occurred_from, occurred_until, became_aware_at,
            became_aware_at + interval '72 hours', privacy._calling_role()::name, contact, controller)
    RETURNING breach.id INTO id;
    PERFORM privacy.audit_append('breach.report', 'breach ' || id, NULL, NULL,
        jsonb_build_object('breach', id, 'kind', kind, 'became_aware_at', became_aware_at,
                           'authority_deadline', became_aware_at + interval '72 hours',
                           'controller', controller));
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.report_breach(text, timestamptz, text, timestamptz, timestamptz, text, text) IS
'Record a personal data breach; the report to the authority is due 72 hours after became_aware_at (AVG art. 33(1)); audited';

CREATE FUNCTION @extschema@.assess_breach(breach_id bigint, risk text, reasoning text,
                                          consequences text DEFAULT NULL, measures text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    b privacy.breach;
BEGIN
    PERFORM privacy._require_officer('assess a breach');
    b := privacy._open_breach(breach_id);
    IF risk IS NULL OR risk NOT IN ('none', 'risk', 'high') THEN
        RAISE EXCEPTION 'invalid risk "%"', risk
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The risk to the rights and freedoms of the people concerned is none (no report needed, art. 33(1)), risk (report to the authority) or high (also tell the people, art. 34(1)).';
    END IF;
    IF reasoning IS NULL OR btrim(reasoning) = '' THEN
        RAISE EXCEPTION 'a risk assessment needs its reasoning' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE privacy.breach x
       SET risk = assess_breach.risk, risk_reasoning = reasoning, assessed_at = clock_timestamp(),
           consequences = coalesce(assess_breach.consequences, x.consequences),
           measures = coalesce(assess_breach.measures, x.measures)
     WHERE x.id = breach_id;
    PERFORM privacy.audit_append('breach.assess', 'breach ' || breach_id, NULL, NULL,
        jsonb_build_object('breach', breach_id, 'risk', risk, 'previous_risk', b.risk,
                           'consequences', consequences IS NOT NULL, 'measures', measures IS NOT NULL));
END
$$;
COMMENT ON FUNCTION @extschema@.assess_breach(bigint, text, text, text, text) IS
'Record (or revise) the risk of a breach with its reasoning, its likely consequences and the measures taken; audited';

CREATE FUNCTION @extschema@.notify_authority(breach_id bigint, notified_at timestamptz DEFAULT pg_catalog.now(),
                                             reference text DEFAULT NULL, late_reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    b privacy.breach;
BEGIN
    PERFORM privacy._require_officer('record the notification of a breach');
    b := privacy._open_breach(breach_id);
    IF b.authority_notified_at IS NOT NULL THEN
        RAISE EXCEPTION 'the authority was notified of breach % already', breach_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM privacy._check_notified_at(b, notified_at);
    IF notified_at > b.authority_deadline AND coalesce(btrim(late_reason), '') = '' THEN
        RAISE EXCEPTION 'the notification of breach % is late and needs its reason', breach_id
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The deadline was %s; a notification after 72 hours must give the reasons for the delay (AVG art. 33(1)).',
                                  to_char(b.authority_deadline, 'YYYY-MM-DD HH24:MI TZ')),
                  HINT = 'Pass late_reason.';
    END IF;
    UPDATE privacy.breach x
       SET authority_notified_at = notified_at, authority_reference = reference,
           late_reason = CASE WHEN notified_at > b.authority_deadline THEN notify_authority.late_reason END
     WHERE x.id = breach_id;
    PERFORM privacy.audit_append('breach.notify_authority', 'breach ' || breach_id, NULL, NULL,
        jsonb_build_object('breach', breach_id, 'notified_at', notified_at, 'reference', reference,
                           'late', notified_at > b.authority_deadline));
END
$$;
COMMENT ON FUNCTION @extschema@.notify_authority(bigint, timestamptz, text, text) IS
'Record that the authority (Autoriteit Persoonsgegevens) was notified of a breach; after the deadline only with the reason for the delay; audited';

CREATE FUNCTION @extschema@.notify_subjects(breach_id bigint, notified_at timestamptz DEFAULT pg_catalog.now())
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    b privacy.breach;
BEGIN
    PERFORM privacy._require_officer('record the notification of a breach');
    b := privacy._open_breach(breach_id);
    IF b.subjects_notified_at IS NOT NULL THEN
        RAISE EXCEPTION 'the people concerned were notified of breach % already', breach_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM privacy._check_notified_at(b, notified_at);
    UPDATE privacy.breach x SET subjects_notified_at = notified_at WHERE x.id = breach_id;
    PERFORM privacy.audit_append('breach.notify_subjects', 'breach ' || breach_id, NULL, NULL,
        jsonb_build_object('breach', breach_id, 'notified_at', notified_at));
END
$$;
COMMENT ON FUNCTION @extschema@.notify_subjects(bigint, timestamptz) IS
'Record that the people concerned were told of a breach (AVG art. 34); audited';

CREATE FUNCTION @extschema@.close_breach(breach_id bigint, note text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    b privacy.breach;
BEGIN
    PERFORM privacy._require_officer('close a breach');
    b := privacy._open_breach(breach_id);
    IF b.risk IS NULL THEN
        RAISE EXCEPTION 'breach % has not been assessed', breach_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Record the risk with privacy.assess_breach() first.';
    END IF;
    IF b.risk <> 'none' AND b.controller IS NULL AND b.authority_notified_at IS NULL THEN
        RAISE EXCEPTION 'breach % carries a risk and the authority has not been notified', breach_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Record the notification with privacy.notify_authority().';
    END IF;
    IF b.risk <> 'none' AND b.controller IS NOT NULL AND b.controller_notified_at IS NULL THEN
        RAISE EXCEPTION 'breach % carries a risk and controller "%" has not been notified', breach_id, b.controller
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Draft the notification with privacy.breach_notification().';
    END IF;
    IF b.risk = 'high' AND b.controller IS NULL AND b.subjects_notified_at IS NULL THEN
        RAISE EXCEPTION 'breach % carries a high risk and the people concerned have not been told', breach_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Record it with privacy.notify_subjects(), or revise the assessment with its reasoning (AVG art. 34(3)).';
    END IF;
    IF note IS NULL OR btrim(note) = '' THEN
        RAISE EXCEPTION 'closing a breach needs a note' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE privacy.breach x SET status = 'closed', closed_at = clock_timestamp(), closing_note = note
     WHERE x.id = breach_id;
    PERFORM privacy.audit_append('breach.close', 'breach ' || breach_id, NULL, NULL,
        jsonb_build_object('breach', breach_id));
END
$$;
COMMENT ON FUNCTION @extschema@.close_breach(bigint, text) IS
'Close a breach once it is assessed and notified as its risk requires; audited';

CREATE VIEW @extschema@.breaches_due AS
SELECT b.id, b.description, b.kind, b.became_aware_at, b.authority_deadline, b.risk,
       pg_catalog.clock_timestamp() > b.authority_deadline AS late,
       pg_catalog.date_trunc('minute', b.authority_deadline - pg_catalog.clock_timestamp()) AS time_left
  FROM @extschema@.breach b
 WHERE b.status = 'open' AND b.authority_notified_at IS NULL AND b.controller IS NULL
   AND b.risk IS DISTINCT FROM 'none'
   AND b.authority_deadline < pg_catalog.clock_timestamp() + interval '24 hours';
COMMENT ON VIEW @extschema@.breaches_due IS
'Breaches whose report to the authority is due within 24 hours, or late (not assessed as without risk, not reported yet)';

-------------------------------------------------------------------------------
-- Exposure
-------------------------------------------------------------------------------

-- Condition on a registered table (as alias) that keeps the rows a role
-- could read with the given scopes ({"kind": ["12"] or ["*"]}) and not of
-- the subjects hidden from it by a restriction ({"type": ["key"]}): the
-- policies of the table written out, up the scope parents.
CREATE FUNCTION @extschema@._exposure_where(tbl regclass, alias text, scopes jsonb, hidden jsonb, depth integer DEFAULT 0)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    r privacy.registered_table;
    cond text := 'true';
    ts record;
    linkcol name;
    links text[];
    palias text := 'p' || depth;
BEGIN
    SELECT * INTO r FROM privacy.registered_table WHERE relid = tbl;
    IF r.scope_kind IS NOT NULL AND NOT coalesce(scopes -> r.scope_kind ? '*', false) THEN
        IF r.scope_column IS NOT NULL THEN
            cond := format('%I.%I = ANY (%L::%s[])', alias, r.scope_column,
                           coalesce(ARRAY(SELECT jsonb_array_elements_text(scopes -> r.scope_kind)), '{}'),
                           privacy._base_type(privacy._column_type(tbl, r.scope_column)));
        ELSE
            cond := format('(%s) IN (SELECT %s FROM %s %s WHERE %s)',
                           (SELECT string_agg(format('%I.%I', alias, c), ', ') FROM unnest(r.scope_fk_columns) c),
                           (SELECT string_agg(format('%I.%I', palias, c), ', ') FROM unnest(r.scope_ref_columns) c),
                           r.scope_parent, palias,
                           privacy._exposure_where(r.scope_parent, palias, scopes, hidden, depth + 1));
        END IF;
    END IF;
    FOR ts IN SELECT t.subject_type, t.key_column, t.via_columns FROM privacy.table_subject t
               WHERE t.relid = tbl AND hidden ? t.subject_type ORDER BY t.subject_type LOOP
        linkcol := coalesce(ts.key_column, ts.via_columns -> 0 -> 'columns' ->> 0);
        links := ARRAY(SELECT privacy._restricted_links(ts.subject_type, tbl,
                                                        ARRAY(SELECT jsonb_array_elements_text(hidden -> ts.subject_type))));
        IF cardinality(links) > 0 THEN
            cond := cond || format(' AND NOT coalesce(%I.%I = ANY (%L::%s[]), false)', alias, linkcol, links,
                                   privacy._base_type(privacy._column_type(tbl, linkcol)));
        END IF;
    END LOOP;
    RETURN cond;
END
$$;
COMMENT ON FUNCTION @extschema@._exposure_where(regclass, text, jsonb, jsonb, integer) IS
'Condition keeping the rows of a registered table that scopes show and restrictions do not hide';

-- The subject key of a row, in the type of the subject type's key: the
-- foreign key itself where it references the root's key, otherwise the
-- root's key reached by joins (outer joins added to the FROM clause, for
-- the planner to hash; a correlated subquery when the alias s is taken).
CREATE FUNCTION @extschema@._exposure_key(tbl regclass, subject_type text, alias text, joined boolean,
                                          OUT key_expr text, OUT join_sql text)
RETURNS record
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    pth record;
    joins text;
    last jsonb;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type, alias);
    join_sql := '';
    IF pth.keytype = 'privacy.bsn'::regtype THEN
        key_expr := 'NULL::text';
    ELSIF pth.key_column IS NOT NULL THEN
        key_expr := format('(%I.%I)::%s', alias, pth.key_column, pth.keytype);
    ELSIF pth.steps = 1 AND cardinality(pth.link_columns) = 1 AND pth.ref_columns[1] = pth.root_key THEN
        key_expr := format('(%I.%I)::%s', alias, pth.link_columns[1], pth.keytype);
    ELSIF NOT joined THEN
        key_expr := format('(s%s.%I)::%s', pth.steps, pth.root_key, pth.keytype);
        joins := pth.joins;
        -- the last step's foreign key holds the root's key already: no join
        -- to the root
        last := (SELECT t.via_columns -> (pth.steps - 1) FROM privacy.table_subject t
                  WHERE t.relid = tbl AND t.subject_type = _exposure_key.subject_type);
        IF jsonb_array_length(last -> 'columns') = 1 AND last -> 'ref_columns' ->> 0 = pth.root_key
           AND position(format(' JOIN %s s%s ON ', pth.root_table, pth.steps) IN joins) > 0 THEN
            joins := left(joins, position(format(' JOIN %s s%s ON ', pth.root_table, pth.steps) IN joins) - 1);
            key_expr := format('(s%s.%I)::%s', pth.steps - 1, last -> 'columns' ->> 0, pth.keytype);
        END IF;
        join_sql := format(' LEFT JOIN %s ON %s',
                           CASE WHEN position(' JOIN ' IN joins) > 0 THEN '(' || joins || ')' ELSE joins END, pth.link);
    ELSE
        key_expr := format('(SELECT s%s.%I FROM %s WHERE %s)::%s', pth.steps, pth.root_key, pth.joins,
                           pth.link, pth.keytype);
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._exposure_key(regclass, text, text, boolean) IS
'SQL for the subject key of a row of a registered table in the key''s type, and the joins it needs';

-- Count the rows of the given tables under their conditions and collect
-- their subjects; store the exposure.  tables: [{"tbl": oid, "where": sql}].
CREATE FUNCTION @extschema@._store_exposure(breach_id bigint, cause text, parameters jsonb, tables jsonb,
                                            categories jsonb, activity jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    t jsonb;
    i integer := 0;
    ctes text[] := '{}';
    counts text[] := '{}';
    st record;
    keys text;
    sql text;
    records jsonb := '{}';
    subject_keys jsonb := '{}';
    cols text;
    joins text;
    k record;
    eid bigint;
    total bigint;
BEGIN
    FOR t IN SELECT * FROM jsonb_array_elements(tables) LOOP
        i := i + 1;
        cols := '';
        joins := '';
        FOR st IN SELECT s.subject_type FROM privacy.table_subject s
                   WHERE s.relid = (t ->> 'tbl')::oid ORDER BY s.subject_type LOOP
            SELECT * INTO k FROM privacy._exposure_key((t ->> 'tbl')::oid::regclass, st.subject_type, 'r', joins <> '');
            cols := cols || format(', %s AS %I', k.key_expr, 'k_' || st.subject_type);
            joins := joins || k.join_sql;
        END LOOP;
        ctes := ctes || format('t%s AS MATERIALIZED (SELECT %s FROM %s%s r%s WHERE %s)', i,
                               coalesce(nullif(substr(cols, 3), ''), 'NULL::text AS k_'),
                               privacy._only((t ->> 'tbl')::oid::regclass), (t ->> 'tbl')::oid::regclass,
                               joins, t ->> 'where');
        counts := counts || format('%L, (SELECT count(*) FROM t%s)', (t ->> 'tbl')::oid::regclass::text, i);
    END LOOP;
    IF i = 0 THEN
        records := '{}';
    ELSE
        -- subject keys of each subject type over every table that has it
        keys := '';
        FOR st IN SELECT s.subject_type,
                         array_agg(o.n ORDER BY o.n) AS ns
                    FROM jsonb_array_elements(tables) WITH ORDINALITY o(t, n)
                    JOIN privacy.table_subject s ON s.relid = (o.t ->> 'tbl')::oid
                   GROUP BY s.subject_type ORDER BY s.subject_type LOOP
            keys := keys || format(', %L, (SELECT coalesce(to_jsonb(array_agg(DISTINCT k ORDER BY k)::text[]), ''[]'') FROM (%s) u(k) WHERE k IS NOT NULL)',
                                   st.subject_type,
                                   (SELECT string_agg(format('SELECT %I FROM t%s', 'k_' || st.subject_type, n), ' UNION ALL ')
                                      FROM unnest(st.ns) n));
        END LOOP;
        sql := format('WITH %s SELECT jsonb_build_object(%s), jsonb_build_object(%s)',
                      array_to_string(ctes, ', '), array_to_string(counts, ', '),
                      CASE WHEN keys = '' THEN '' ELSE substr(keys, 3) END);
        EXECUTE sql INTO records, subject_keys;
    END IF;
    SELECT coalesce(sum(jsonb_array_length(e.value)), 0) INTO total FROM jsonb_each(subject_keys) e;
    INSERT INTO privacy.exposure (breach, cause, parameters, subjects, records, categories, activity, computed_by)
    VALUES (breach_id, cause, parameters, total, records, categories, activity, privacy._calling_role()::name)
    RETURNING id INTO eid;
    INSERT INTO privacy.exposure_subject (exposure, subject_type, subject_keys)
    SELECT eid, e.key, ARRAY(SELECT jsonb_array_elements_text(e.value))
      FROM jsonb_each(subject_keys) e WHERE jsonb_array_length(e.value) > 0;
    RETURN jsonb_build_object('exposure', eid, 'subjects', total, 'records', records,
                              'categories', categories, 'activity', activity);
END
$$;
COMMENT ON FUNCTION @extschema@._store_exposure(bigint, text, jsonb, jsonb, jsonb, jsonb) IS
'Count and store what an exposure reached: the rows per table and the keys of their subjects';

-- Categories of data in the given tables and how a role saw each:
-- {"class": {"seen": "full" | "masked", "columns": [...]}}, and "bsn".
CREATE FUNCTION @extschema@._exposure_categories(tbls regclass[], full_classes text[], bsn_full boolean,
                                                 only_columns name[] DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_object_agg(x.class, jsonb_build_object('seen', x.seen, 'columns', x.columns)), '{}')
      FROM (SELECT cp.class,
                   CASE WHEN bool_or(cp.class = ANY (full_classes)) THEN 'full' ELSE 'masked' END AS seen,
                   jsonb_agg(format('%s.%I', cp.relid, cp.column_name) ORDER BY cp.relid::text, cp.column_name) AS columns
              FROM privacy.column_policy cp
             WHERE cp.relid = ANY (tbls) AND cp.class IS NOT NULL AND cp.state = 'on'
               AND (only_columns IS NULL OR cp.column_name = ANY (only_columns))
             GROUP BY cp.class
            UNION ALL
            SELECT 'bsn', CASE WHEN bsn_full THEN 'full' ELSE 'masked' END,
                   jsonb_agg(format('%s.%I', a.attrelid::regclass, a.attname) ORDER BY a.attrelid::regclass::text, a.attname)
              FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = ANY (tbls) AND a.attnum > 0 AND NOT a.attisdropped
               AND privacy._type_involves_bsn(a.atttypid::regtype)
               AND (only_columns IS NULL OR a.attname = ANY (only_columns))
            HAVING count(*) > 0
            UNION ALL
            -- columns of no class: personal data as well, seen as stored
            SELECT 'other', 'full',
                   jsonb_agg(format('%s.%I', a.attrelid::regclass, a.attname) ORDER BY a.attrelid::regclass::text, a.attnum)
              FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = ANY (tbls) AND a.attnum > 0 AND NOT a.attisdropped
               AND NOT privacy._type_involves_bsn(a.atttypid::regtype)
               AND NOT EXISTS (SELECT FROM privacy.column_policy cp
                                WHERE cp.relid = a.attrelid AND cp.column_name = a.attname
                                  AND (cp.class IS NOT NULL OR cp.state <> 'on'))
               AND (only_columns IS NULL OR a.attname = ANY (only_columns))
            HAVING count(*) > 0) x
$$;
COMMENT ON FUNCTION @extschema@._exposure_categories(regclass[], text[], boolean, name[]) IS
'The classes of data in some tables (BSNs, and other for columns of no class), each seen in full or masked';

CREATE FUNCTION @extschema@.breach_exposure(breach_id bigint,
                                            role regrole DEFAULT NULL,
                                            from_time timestamptz DEFAULT NULL,
                                            until_time timestamptz DEFAULT NULL,
                                            tbl regclass DEFAULT NULL,
                                            condition text DEFAULT NULL,
                                            leaked_columns name[] DEFAULT NULL,
                                            recipient text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    b privacy.breach;
    is_super boolean;
    scopes jsonb := '{}';
    hidden jsonb;
    tables jsonb := '[]';
    tbls regclass[] := '{}';
    full_classes text[];
    bsn_full boolean;
    activity jsonb;
    r record;
    ag record;
    typ regtype;
    support boolean;
    result jsonb;
    bad text;
    grants bigint[] := '{}';
    keys jsonb;
BEGIN
    PERFORM privacy._require_officer('compute the exposure of a breach');
    b := privacy._open_breach(breach_id);
    IF num_nonnulls(role, tbl, recipient) <> 1 THEN
        RAISE EXCEPTION 'an exposure has one cause: a role, a table, or a recipient'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass role with from_time and until_time, tbl with condition, or recipient.';
    END IF;

    IF role IS NOT NULL THEN
        -- (a) a role or login compromised between two times
        IF from_time IS NULL OR until_time IS NULL OR from_time > until_time THEN
            RAISE EXCEPTION 'a compromised role needs the window it was compromised in'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass from_time and until_time, from_time first.';
        END IF;
        SELECT rolsuper OR rolbypassrls INTO is_super FROM pg_roles WHERE oid = role;
        -- as the executor has it: a member of the support role, not a superuser
        support := NOT (SELECT rolsuper FROM pg_roles WHERE oid = role)
                   AND EXISTS (SELECT FROM pg_roles x WHERE x.rolname = privacy._support_role())
                   AND pg_has_role(role, privacy._support_role(), 'USAGE');
        IF is_super AND NOT support THEN
            SELECT jsonb_object_agg(k, '["*"]'::jsonb) INTO scopes
              FROM (SELECT DISTINCT scope_kind FROM privacy.registered_table WHERE scope_kind IS NOT NULL) s(k);
        ELSIF NOT support THEN
            SELECT jsonb_object_agg(h.scope_kind, h.scopes) INTO scopes
              FROM (SELECT x.scope_kind, jsonb_agg(DISTINCT x.scope) AS scopes
                      FROM (SELECT g.role, g.scope_kind, g.scope, g.granted_at, NULL::timestamptz AS ended_at
                              FROM privacy.scope_grant g
                            UNION ALL
                            SELECT e.role, e.scope_kind, e.scope, e.granted_at, e.ended_at
                              FROM privacy.scope_grant_ended e) x
                     WHERE pg_has_role(breach_exposure.role, x.role, 'USAGE')
                       AND x.granted_at <= until_time AND (x.ended_at IS NULL OR x.ended_at >= from_time)
                     GROUP BY x.scope_kind) h;
        END IF;
        scopes := coalesce(scopes, '{}');
        -- subjects restricted during the whole window were hidden from it
        IF is_super OR pg_has_role(role, coalesce(nullif(current_setting('privacy.officer_role', true), ''),
                                                  'privacy_officer'), 'USAGE') THEN
            hidden := '{}';
        ELSE
            SELECT coalesce(jsonb_object_agg(h.subject_type, h.keys), '{}') INTO hidden
              FROM (SELECT x.subject_type, jsonb_agg(DISTINCT x.subject_key) AS keys
                      FROM privacy.restriction x
                     WHERE x.created_at <= from_time
                       AND (x.lifted_at IS NULL OR x.lifted_at >= until_time)
                       AND (x.restricted_until IS NULL OR x.restricted_until > until_time::date)
                     GROUP BY x.subject_type) h;
        END IF;
        IF support THEN
            -- a support role reads registered tables only under its grants
            FOR ag IN SELECT * FROM privacy.access_grant a
                      WHERE pg_has_role(breach_exposure.role, a.role, 'USAGE') AND a.status IN ('approved', 'revoked')
                        AND a.decided_at IS NOT NULL AND a.decided_at <= until_time
                        AND least(a.until, a.revoked_at) >= from_time LOOP
                FOR r IN SELECT DISTINCT t.relid FROM privacy.table_subject t
                          WHERE (t.relid = ANY (ag.tables) OR t.subject_type = ANY (ag.subject_types))
                            AND has_any_column_privilege(breach_exposure.role, t.relid, 'SELECT') LOOP
                    SELECT jsonb_object_agg(k, to_jsonb(ag.scopes)) INTO scopes
                      FROM (SELECT DISTINCT scope_kind FROM privacy.registered_table WHERE scope_kind IS NOT NULL) s(k);
                    tables := tables || jsonb_build_object('tbl', r.relid::oid,
                        'where', privacy._exposure_where(r.relid, 'r', coalesce(scopes, '{}'), hidden));
                    tbls := tbls || r.relid;
                END LOOP;
                grants := grants || ag.id;
                full_classes := coalesce(full_classes, '{}') || ag.classes;
                bsn_full := coalesce(bsn_full, false) OR ag.bsn;
            END LOOP;
            -- several grants on one table: a row is exposed when any grant shows it
            SELECT coalesce(jsonb_agg(jsonb_build_object('tbl', x.tbl, 'where', x.cond) ORDER BY x.tbl), '[]') INTO tables
              FROM (SELECT (e ->> 'tbl')::oid AS tbl, '(' || string_agg(e ->> 'where', ') OR (') || ')' AS cond
                      FROM jsonb_array_elements(tables) e GROUP BY 1) x;
            full_classes := coalesce(full_classes, '{}');
            bsn_full := coalesce(bsn_full, false);
        ELSE
            FOR r IN SELECT rt.relid FROM privacy.registered_table rt
                      WHERE EXISTS (SELECT FROM privacy.table_subject t WHERE t.relid = rt.relid)
                        AND has_any_column_privilege(breach_exposure.role, rt.relid, 'SELECT')
                      ORDER BY rt.relid::text LOOP
                tables := tables || jsonb_build_object('tbl', r.relid::oid,
                                                       'where', privacy._exposure_where(r.relid, 'r', scopes, hidden));
                tbls := tbls || r.relid;
            END LOOP;
            full_classes := ARRAY(SELECT c.name FROM privacy.column_class c
                                   WHERE is_super OR (c.viewer_role IS NOT NULL
                                         AND EXISTS (SELECT FROM pg_roles x WHERE x.rolname = c.viewer_role)
                                         AND pg_has_role(breach_exposure.role, c.viewer_role, 'USAGE')));
            bsn_full := is_super OR pg_has_role(breach_exposure.role, current_setting('privacy.bsn_role'), 'USAGE');
        END IF;
        -- what the audit trail shows it did in the window
        SELECT jsonb_build_object(
                   'entries', count(*),
                   'actions', coalesce((SELECT jsonb_object_agg(y.action, y.n)
                                          FROM (SELECT a2.action, count(*) AS n FROM privacy.audit_log a2
                                                 WHERE (a2.login_role = role::text OR a2.acting_role = role::text)
                                                   AND a2.logged_at BETWEEN from_time AND until_time
                                                 GROUP BY a2.action) y), '{}'),
                   'subjects', count(DISTINCT (a.subject_type, a.subject_key)) FILTER (WHERE a.subject_key IS NOT NULL))
          INTO activity
          FROM privacy.audit_log a
         WHERE (a.login_role = role::text OR a.acting_role = role::text)
           AND a.logged_at BETWEEN from_time AND until_time;
        result := privacy._store_exposure(breach_id, 'role',
            jsonb_build_object('role', role::text, 'from', from_time, 'until', until_time, 'scopes', scopes,
                               'superuser_or_bypassrls', is_super, 'support_grants', CASE WHEN support THEN grants END,
                               'hidden_subjects', (SELECT coalesce(sum(jsonb_array_length(v)), 0) FROM jsonb_each(hidden) e(k, v))),
            tables, privacy._exposure_categories(tbls, full_classes, bsn_full), activity);

    ELSIF tbl IS NOT NULL THEN
        -- (b) rows of a table that left the organisation
        IF NOT EXISTS (SELECT FROM privacy.table_subject t WHERE t.relid = tbl) THEN
            RAISE EXCEPTION 'table "%" is not registered', tbl
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'An exposure counts the subjects of registered tables; register it with privacy.register_table().';
        END IF;
        IF condition IS NULL OR btrim(condition) = '' THEN
            RAISE EXCEPTION 'a leaked set of rows needs the condition that selects them'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass condition => ''true'' for the whole table.';
        END IF;
        SELECT string_agg(quote_ident(c), ', ') INTO bad
          FROM unnest(leaked_columns) c
         WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = c
                                                        AND a.attnum > 0 AND NOT a.attisdropped);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'table "%" has no column %', tbl, bad USING ERRCODE = 'undefined_column';
        END IF;
        typ := privacy._check_expression(format('%s%s AS r', privacy._only(tbl), tbl), condition,
                                         'condition of a leaked set of rows');
        IF typ <> 'boolean'::regtype THEN
            RAISE EXCEPTION 'the condition of a leaked set of rows must be boolean, not %', typ
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        result := privacy._store_exposure(breach_id, 'rows',
            jsonb_build_object('table', tbl::text, 'condition', condition, 'columns', leaked_columns),
            jsonb_build_array(jsonb_build_object('tbl', tbl::oid, 'where', '(' || condition || ')')),
            privacy._exposure_categories(ARRAY[tbl], ARRAY(SELECT c.name FROM privacy.column_class c), true,
                                         leaked_columns),
            NULL);

    ELSE
        -- (c) a recipient that was sent what it should not have had
        IF NOT EXISTS (SELECT FROM privacy.recipient x WHERE x.name = recipient) THEN
            RAISE EXCEPTION 'recipient "%" does not exist', recipient USING ERRCODE = 'undefined_object';
        END IF;
        SELECT coalesce(jsonb_object_agg(k.subject_type, k.ks), '{}') INTO keys
          FROM (SELECT d.subject_type, jsonb_agg(DISTINCT d.subject_key ORDER BY d.subject_key) AS ks
                  FROM privacy.disclosure d
                 WHERE d.recipient = breach_exposure.recipient
                   AND d.disclosed_at BETWEEN coalesce(from_time, '-infinity') AND coalesce(until_time, 'infinity')
                 GROUP BY d.subject_type) k;
        INSERT INTO privacy.exposure (breach, cause, parameters, subjects, records, categories, activity, computed_by)
        SELECT breach_id, 'recipient',
               jsonb_build_object('recipient', breach_exposure.recipient, 'from', from_time, 'until', until_time),
               (SELECT coalesce(sum(jsonb_array_length(e.value)), 0) FROM jsonb_each(keys) e),
               jsonb_build_object('disclosures', count(*)),
               coalesce((SELECT jsonb_object_agg(u.c, jsonb_build_object('seen', 'full', 'columns', '[]'::jsonb))
                           FROM (SELECT DISTINCT unnest(d2.categories) c FROM privacy.disclosure d2
                                  WHERE d2.recipient = breach_exposure.recipient
                                    AND d2.disclosed_at BETWEEN coalesce(from_time, '-infinity') AND coalesce(until_time, 'infinity')) u),
                        '{}'),
               NULL, privacy._calling_role()::name
          FROM privacy.disclosure d
         WHERE d.recipient = breach_exposure.recipient
           AND d.disclosed_at BETWEEN coalesce(from_time, '-infinity') AND coalesce(until_time, 'infinity')
        RETURNING jsonb_build_object('exposure', id, 'subjects', subjects, 'records', records,
                                     'categories', categories, 'activity', NULL) INTO result;
        INSERT INTO privacy.exposure_subject (exposure, subject_type, subject_keys)
        SELECT (result ->> 'exposure')::bigint, e.key, ARRAY(SELECT jsonb_array_elements_text(e.value))
          FROM jsonb_each(keys) e;
    END IF;

    PERFORM privacy.audit_append('breach.exposure', 'breach ' || breach_id, NULL, NULL,
        jsonb_build_object('breach', breach_id, 'exposure', result -> 'exposure',
                           'cause', CASE WHEN role IS NOT NULL THEN 'role' WHEN tbl IS NOT NULL THEN 'rows' ELSE 'recipient' END,
                           'subjects', result -> 'subjects', 'records', result -> 'records'));
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.breach_exposure(bigint, regrole, timestamptz, timestamptz, regclass, text, name[], text) IS
'Compute and store what a breach exposed: the rows a compromised role could read between two times (role, from_time, until_time), a leaked set of rows (tbl, condition, leaked_columns), or the disclosures to a recipient (recipient); audited';

-------------------------------------------------------------------------------
-- The notifications: the report to the authority (art. 33(3)), the people
-- concerned (art. 34) and the controller (art. 33(2)) through the outbox
-------------------------------------------------------------------------------

-- The outbox also carries breach notifications: to a data subject (no
-- recipient) or to the controller this organisation processes for (no
-- subject).
ALTER TABLE @extschema@.notification
    ALTER COLUMN recipient DROP NOT NULL,
    ALTER COLUMN subject_type DROP NOT NULL,
    ALTER COLUMN subject_key DROP NOT NULL,
    ADD COLUMN breach bigint REFERENCES @extschema@.breach,
    DROP CONSTRAINT notification_event_check,
    ADD CONSTRAINT notification_event_check
        CHECK (event IN ('erasure', 'rectification', 'restriction', 'breach')),
    ADD CONSTRAINT notification_breach_check CHECK ((event = 'breach') = (breach IS NOT NULL)),
    ADD CONSTRAINT notification_addressee_check
        CHECK ((recipient IS NOT NULL AND subject_key IS NOT NULL)
               OR (event = 'breach' AND (recipient IS NULL) <> (subject_key IS NULL)));
CREATE INDEX notification_breach_idx ON @extschema@.notification (breach) WHERE breach IS NOT NULL;
COMMENT ON TABLE @extschema@.notification IS
'Outbox of notifications: to recipients about an erasure, rectification or restriction (AVG art. 19), and about a breach to the people concerned (art. 34, no recipient) or to the controller (art. 33(2), no subject); a delivery worker LISTENs on privacy_notification';

CREATE OR REPLACE VIEW @extschema@.pending_notifications AS
SELECT n.id, n.recipient, r.kind, r.contact, n.subject_type, n.subject_key, n.event, n.details, n.created_at,
       n.breach
  FROM @extschema@.notification n LEFT JOIN @extschema@.recipient r ON r.name = n.recipient
 WHERE n.delivered_at IS NULL;
COMMENT ON VIEW @extschema@.pending_notifications IS
'Notifications not delivered yet: to recipients, and about breaches to the people concerned (recipient NULL)';

CREATE FUNCTION @extschema@.breach_notification(breach_id bigint, OUT report jsonb, OUT markdown text,
                                                OUT queued integer)
RETURNS record
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    b privacy.breach;
    subj jsonb;
    recs jsonb;
    cats jsonb;
    n integer;
    ent record;
BEGIN
    PERFORM privacy._require_officer('draft the notification of a breach');
    SELECT * INTO b FROM privacy.breach WHERE id = breach_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'breach % does not exist', breach_id USING ERRCODE = 'undefined_object';
    END IF;
    -- the subjects of all exposures, each once; the records of a table
    -- reached by several exposures counted at their largest
    SELECT coalesce(jsonb_object_agg(s.subject_type, s.n), '{}') INTO subj
      FROM (SELECT x.subject_type, count(DISTINCT k) AS n
              FROM privacy.exposure e JOIN privacy.exposure_subject x ON x.exposure = e.id, unnest(x.subject_keys) k
             WHERE e.breach = breach_id GROUP BY x.subject_type) s;
    SELECT coalesce(jsonb_object_agg(t.k, t.n), '{}') INTO recs
      FROM (SELECT r.key AS k, max(r.value::bigint) AS n
              FROM privacy.exposure e, jsonb_each_text(e.records) r
             WHERE e.breach = breach_id GROUP BY r.key) t;
    SELECT coalesce(jsonb_object_agg(c.k, jsonb_build_object('seen', c.seen, 'columns', c.cols)), '{}') INTO cats
      FROM (SELECT x.key AS k,
                   CASE WHEN bool_or(x.value ->> 'seen' = 'full') THEN 'full' ELSE 'masked' END AS seen,
                   (SELECT coalesce(jsonb_agg(DISTINCT col), '[]')
                      FROM privacy.exposure e2, jsonb_array_elements_text(e2.categories -> x.key -> 'columns') col
                     WHERE e2.breach = breach_id) AS cols
              FROM privacy.exposure e, jsonb_each(e.categories) x
             WHERE e.breach = breach_id GROUP BY x.key) c;
    report := jsonb_build_object(
        'breach', b.id,
        'controller', current_database(),
        'addressed_to', CASE WHEN b.controller IS NULL THEN 'Autoriteit Persoonsgegevens' ELSE b.controller END,
        'nature', jsonb_build_object('kind', b.kind, 'description', b.description,
                                     'occurred_from', b.occurred_from, 'occurred_until', b.occurred_until,
                                     'became_aware_at', b.became_aware_at),
        'subjects', jsonb_build_object('approximate_number',
                                       (SELECT coalesce(sum(v::bigint), 0) FROM jsonb_each_text(subj) s(k, v)),
                                       'per_type', subj),
        'records', jsonb_build_object('approximate_number',
                                      (SELECT coalesce(sum(v::bigint), 0) FROM jsonb_each_text(recs) s(k, v)),
                                      'per_table', recs),
        'categories', cats,
        'special_categories', cats ? 'special' OR cats ? 'photo',
        'contact', coalesce(b.contact, 'the privacy officer (' ||
                            coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer') || ')'),
        'likely_consequences', b.consequences,
        'measures', b.measures,
        'risk', b.risk, 'risk_reasoning', b.risk_reasoning,
        'authority_deadline', b.authority_deadline,
        'late', coalesce(b.authority_notified_at, clock_timestamp()) > b.authority_deadline,
        'late_reason', b.late_reason,
        'subjects_to_be_told', b.risk = 'high',
        'exposures', (SELECT count(*) FROM privacy.exposure e WHERE e.breach = breach_id),
        'drafted_at', clock_timestamp());

    markdown := format(E'# Personal data breach %s\n\nTo: %s  \nFrom: %s  \nDrafted: %s\n\n'
                       '## Nature of the breach (art. 33(3)(a))\n\n| | |\n|---|---|\n| kind | %s |\n| what happened | %s |\n| when | %s |\n| became aware | %s |\n| report due | %s%s |\n\n'
                       '## People and records concerned\n\nApproximately %s people and %s records.\n\n| subject type | people |\n|---|---|\n',
                       b.id, report ->> 'addressed_to', current_database(), to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI TZ'),
                       b.kind, b.description,
                       coalesce(to_char(b.occurred_from, 'YYYY-MM-DD HH24:MI'), '?') || ' to ' ||
                           coalesce(to_char(b.occurred_until, 'YYYY-MM-DD HH24:MI'), '?'),
                       to_char(b.became_aware_at, 'YYYY-MM-DD HH24:MI TZ'),
                       to_char(b.authority_deadline, 'YYYY-MM-DD HH24:MI TZ'),
                       CASE WHEN (report ->> 'late')::boolean
                            THEN ' (late: ' || coalesce(b.late_reason, 'reason not yet recorded') || ')' ELSE '' END,
                       report #>> '{subjects,approximate_number}', report #>> '{records,approximate_number}');
    FOR ent IN SELECT * FROM jsonb_each_text(subj) ORDER BY 1 LOOP
        markdown := markdown || format(E'| %s | %s |\n', ent.key, ent.value);
    END LOOP;
    markdown := markdown || E'\n| table | records |\n|---|---|\n';
    FOR ent IN SELECT * FROM jsonb_each_text(recs) ORDER BY 1 LOOP
        markdown := markdown || format(E'| %s | %s |\n', ent.key, ent.value);
    END LOOP;
    markdown := markdown || E'\n## Categories of data\n\n| category | seen | columns |\n|---|---|---|\n';
    FOR ent IN SELECT * FROM jsonb_each(cats) ORDER BY 1 LOOP
        markdown := markdown || format(E'| %s | %s | %s |\n', ent.key,
                                       CASE ent.value ->> 'seen' WHEN 'full' THEN 'in full' ELSE 'masked' END,
                                       coalesce((SELECT string_agg(c, ', ') FROM jsonb_array_elements_text(ent.value -> 'columns') c), '-'));
    END LOOP;
    markdown := markdown || format(E'\n## Contact point (art. 33(3)(b))\n\n%s\n\n## Likely consequences (art. 33(3)(c))\n\n%s\n\n'
                                   '## Measures taken or proposed (art. 33(3)(d))\n\n%s\n\n## Risk\n\n%s%s\n',
                                   report ->> 'contact', coalesce(b.consequences, 'Not yet assessed.'),
                                   coalesce(b.measures, 'Not yet recorded.'),
                                   coalesce(b.risk, 'not yet assessed'),
                                   coalesce(': ' || b.risk_reasoning, ''));

    -- the outbox: the controller (art. 33(2)), or for a high risk the
    -- people concerned (art. 34), each once per breach
    queued := 0;
    IF b.controller IS NOT NULL AND NOT EXISTS (SELECT FROM privacy.notification x
                                                 WHERE x.breach = breach_id AND x.recipient IS NOT NULL) THEN
        INSERT INTO privacy.notification (recipient, event, details, breach)
        VALUES (b.controller, 'breach', report, breach_id);
        UPDATE privacy.breach x SET controller_notified_at = clock_timestamp() WHERE x.id = breach_id;
        queued := 1;
    END IF;
    IF b.risk = 'high' AND b.controller IS NULL THEN
        INSERT INTO privacy.notification (subject_type, subject_key, event, details, breach)
        SELECT DISTINCT x.subject_type, k, 'breach',
               jsonb_build_object('breach', breach_id, 'kind', b.kind, 'description', b.description,
                                  'categories', cats, 'likely_consequences', b.consequences,
                                  'measures', b.measures, 'contact', report -> 'contact'),
               breach_id
          FROM privacy.exposure e JOIN privacy.exposure_subject x ON x.exposure = e.id, unnest(x.subject_keys) k
         WHERE e.breach = breach_id
           AND NOT EXISTS (SELECT FROM privacy.notification o
                            WHERE o.breach = breach_id AND o.subject_type = x.subject_type AND o.subject_key = k);
        GET DIAGNOSTICS n = ROW_COUNT;
        queued := queued + n;
    END IF;
    IF queued > 0 THEN
        PERFORM pg_notify('privacy_notification', jsonb_build_object('event', 'breach', 'notifications', queued)::text);
    END IF;
    PERFORM privacy.audit_append('breach.notification', 'breach ' || breach_id, NULL, NULL,
        jsonb_build_object('breach', breach_id, 'queued', queued));
END
$$;
COMMENT ON FUNCTION @extschema@.breach_notification(bigint) IS
'Draft the notification of a breach with every element of AVG art. 33(3), as JSON and Markdown; queue it for the controller (art. 33(2)) or, for a high risk, one notification per person concerned (art. 34); audited';

REVOKE EXECUTE ON FUNCTION
    @extschema@._scope_grant_ended(),
    @extschema@._breach_guard(),
    @extschema@._require_officer(text),
    @extschema@._open_breach(bigint),
    @extschema@._check_notified_at(@extschema@.breach, timestamptz),
    @extschema@.report_breach(text, timestamptz, text, timestamptz, timestamptz, text, text),
    @extschema@.assess_breach(bigint, text, text, text, text),
    @extschema@.notify_authority(bigint, timestamptz, text, text),
    @extschema@.notify_subjects(bigint, timestamptz),
    @extschema@.close_breach(bigint, text),
    @extschema@._exposure_where(regclass, text, jsonb, jsonb, integer),
    @extschema@._exposure_key(regclass, text, text, boolean),
    @extschema@._store_exposure(bigint, text, jsonb, jsonb, jsonb, jsonb),
    @extschema@._exposure_categories(regclass[], text[], boolean, name[]),
    @extschema@.breach_exposure(bigint, regrole, timestamptz, timestamptz, regclass, text, name[], text),
    @extschema@.breach_notification(bigint)
FROM PUBLIC;
REVOKE ALL ON @extschema@.breaches_due FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT SELECT ON privacy.breach, privacy.exposure, privacy.exposure_subject, privacy.breaches_due TO %I',
        officer);
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.scope_grant_ended TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION '
        'privacy.report_breach(text, timestamptz, text, timestamptz, timestamptz, text, text), '
        'privacy.assess_breach(bigint, text, text, text, text), '
        'privacy.notify_authority(bigint, timestamptz, text, text), '
        'privacy.notify_subjects(bigint, timestamptz), privacy.close_breach(bigint, text), '
        'privacy.breach_exposure(bigint, regrole, timestamptz, timestamptz, regclass, text, name[], text), '
        'privacy.breach_notification(bigint) TO %I', officer);
END
$$;

-------------------------------------------------------------------------------
-- 80_lint.sql: lint and strict mode (new in 0.2.0)
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- The checks
-------------------------------------------------------------------------------

-- Tables of the application: ordinary and partitioned tables outside the
-- system schemas, not members of an extension, not partitions.
CREATE FUNCTION @extschema@._lint_tables()
RETURNS SETOF regclass
LANGUAGE sql STABLE
AS $$
    SELECT c.oid::regclass
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
       AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid
                          AND d.deptype = 'e')
$$;
COMMENT ON FUNCTION @extschema@._lint_tables() IS
'The application''s tables that lint looks at';

-- Views and materialized views of the application that read registered
-- tables, directly or through other views, with the tables they reach.
CREATE FUNCTION @extschema@._lint_views()
RETURNS TABLE (view regclass, relkind "char", owner regrole, invoker boolean, tables text)
LANGUAGE sql STABLE
AS $$
    WITH RECURSIVE reach (view, tbl) AS (
        SELECT rw.ev_class, d.refobjid
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
           AND d.refobjid <> rw.ev_class
           AND d.refobjid IN (SELECT r.relid::oid FROM @extschema@.registered_table r)
        UNION
        SELECT rw.ev_class, r.tbl
          FROM reach r
          JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass
                                     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = r.view
          JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid AND rw.ev_class <> r.view
    )
    SELECT c.oid::regclass, c.relkind, c.relowner::regrole,
           coalesce((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(c.reloptions) o
                      WHERE o.option_name = 'security_invoker'), false),
           string_agg(DISTINCT r.tbl::regclass::text, ', ' ORDER BY r.tbl::regclass::text)
      FROM reach r
      JOIN pg_catalog.pg_class c ON c.oid = r.view
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\_temp\_%'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
     GROUP BY c.oid, c.relkind, c.relowner, c.reloptions
$$;
COMMENT ON FUNCTION @extschema@._lint_views() IS
'The application''s views and materialized views that read registered tables, with the tables they reach';

-- Whether a column's name says it holds data about a person, strongly
-- enough to report a table nobody registered (a bare "name" or "city" is
-- also what a company or a branch has).
CREATE FUNCTION @extschema@._lint_personal_name(col name)
RETURNS boolean
LANGUAGE sql IMMUTABLE
RETURN col ~* '(e_?mail|phone|telefoon|mobile|mobiel|^tel$|(^|_)iban|rekeningnummer|birth|geboorte|^dob$|first_?name|last_?name|given_?name|family_?name|surname|voornaam|achternaam|voorletters|initials|health|medic|diagnos|religi|nationalit|ethnic|etnic|photo|foto|portrait)';
COMMENT ON FUNCTION @extschema@._lint_personal_name(name) IS
'Whether a column name (Dutch or English) says the column holds data about a person';

-- The class a column's name or type suggests, or NULL.
CREATE FUNCTION @extschema@._lint_suggested_class(col name, typ regtype)
RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE
    WHEN col ~* '(health|medic|diagnos|ziekte|ziek_|sick|religi|geloof|nationalit|ethnic|etnic|afkomst)' THEN 'special'
    WHEN col ~* '(photo|foto|image|picture|avatar|portrait|pasfoto)' OR typ = 'bytea'::regtype THEN 'photo'
    WHEN col ~* '(e_?mail|phone|telefoon|mobile|mobiel|^tel_|_tel$|^tel$)' THEN 'contact'
    WHEN col ~* '(iban|bank|rekening|salary|salaris|wage|loon)' THEN 'financial'
    WHEN col ~* '(birth|geboorte|^dob$|address|adres|street|straat|postcode|zip|city|woonplaats|house_?number|huisnummer|(^|_)name$|naam$|voornaam|achternaam|surname|initials|voorletters)' THEN 'identifying'
END;
COMMENT ON FUNCTION @extschema@._lint_suggested_class(name, regtype) IS
'The column class a column''s name (Dutch or English) or type suggests';

CREATE FUNCTION @extschema@._lint_findings(sample_rows integer DEFAULT 200, strict_only boolean DEFAULT false)
RETURNS TABLE (code text, severity text, object text, message text, fix text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    st text := coalesce((SELECT s.name FROM privacy.subject_type s ORDER BY s.name LIMIT 1), '<subject type>');
    pur text := coalesce((SELECT p.name FROM privacy.purpose p ORDER BY p.name LIMIT 1), '<purpose>');
    t record;
    cols text[];
    hits boolean[];
    i integer;
    tabs oid[] := ARRAY(SELECT privacy._lint_tables());
    reaching oid[] := '{}';
BEGIN

    -- PP001: a BSN column in a table that is not registered
    RETURN QUERY
    SELECT 'PP001', 'error', l.relid::regclass::text,
           format('table holds BSNs (column %s) but is not registered', string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)),
           format('SELECT privacy.register_table(%L, %L, key_column => ''<column with the subject''''s key>'');',
                  l.relid::regclass::text, st)
      FROM unnest(tabs) l(relid)
      JOIN pg_attribute a ON a.attrelid = l.relid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE privacy._type_involves_bsn(a.atttypid::regtype)
       AND NOT EXISTS (SELECT FROM privacy.table_subject s WHERE s.relid = l.relid)
     GROUP BY l.relid;

    -- PP002: a foreign-key path to a subject's table, not registered
    FOR t IN
    SELECT DISTINCT ON (p.tbl) p.tbl AS relid, 'PP002' AS code, 'error' AS severity, p.tbl::text AS object,
           CASE WHEN p.tbl = s.root_table THEN format('table is the one of subject type %s but is not registered', s.name)
                ELSE format('table reaches the %s of subject type %s through foreign keys but is not registered',
                            s.root_table, s.name) END AS message,
           format('SELECT privacy.register_table(%L, %L, %s, %s, %s, scope_through => %s);', p.tbl::text, s.name,
                  coalesce(quote_literal(p.key_column), 'NULL'), coalesce(quote_literal(p.via::text), 'NULL'),
                  coalesce(quote_literal(p.scope_column), 'NULL'), coalesce(quote_literal(p.scope_through::text), 'NULL')) AS fix
      FROM privacy.subject_type s, privacy.propose_registrations(s.name) p
     WHERE NOT p.registered AND p.tbl::oid = ANY (tabs)
       AND NOT EXISTS (SELECT FROM privacy.table_subject x WHERE x.relid = p.tbl)
     ORDER BY p.tbl, s.name LOOP
        code := t.code; severity := t.severity; object := t.object; message := t.message; fix := t.fix;
        RETURN NEXT;
        reaching := reaching || t.relid::oid;
    END LOOP;

    -- PP015: a view that reads registered tables with the rights of an owner
    -- who bypasses row-level security: its readers see every row.  PP016: a
    -- materialized view of registered tables, a copy that row-level
    -- security, column masks, retention and erasure do not reach.
    RETURN QUERY
    SELECT CASE v.relkind WHEN 'v' THEN 'PP015' ELSE 'PP016' END, 'error', v.view::text,
           CASE v.relkind
                WHEN 'v' THEN format('view reads %s with the rights of its owner %s, who bypasses row-level security: whoever reads the view sees every row',
                                     v.tables, v.owner)
                ELSE format('materialized view copies %s out of reach of row-level security, column masks, retention and erasure',
                            v.tables) END,
           CASE v.relkind
                WHEN 'v' THEN format('ALTER VIEW %s SET (security_invoker = true);', v.view)
                ELSE format('DROP MATERIALIZED VIEW %s;  -- read the tables through a view with security_invoker = true instead', v.view) END
      FROM privacy._lint_views() v JOIN pg_roles ro ON ro.oid = v.owner
     WHERE v.relkind = 'm' OR (NOT v.invoker AND (ro.rolsuper OR ro.rolbypassrls))
     ORDER BY v.view::text;

    -- strict mode, at commit, needs only the checks above
    IF strict_only THEN
        RETURN;
    END IF;

    -- PP003: a registration that no longer fits the table
    RETURN QUERY
    SELECT 'PP003', 'error', r.relid::text, x.what,
           format('SELECT privacy.unregister_table(%L);  -- then register it again: privacy.propose_registrations()', r.relid::text)
      FROM privacy.registered_table r,
           LATERAL (SELECT format('scope column %I does not exist', r.scope_column) AS what
                     WHERE r.scope_column IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = r.relid AND a.attname = r.scope_column
                                                                    AND a.attnum > 0 AND NOT a.attisdropped)
                    UNION ALL
                    SELECT format('no foreign key (%s) to %s for the scope any more', array_to_string(r.scope_fk_columns, ', '),
                                  r.scope_parent)
                     WHERE r.scope_parent IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_constraint c
                                        WHERE c.contype = 'f' AND c.conrelid = r.relid AND c.confrelid = r.scope_parent
                                          AND ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                                                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                                                     ORDER BY k.o)::name[] = r.scope_fk_columns)
                    UNION ALL
                    SELECT format('key column %I of subject type %s does not exist', ts.key_column, ts.subject_type)
                      FROM privacy.table_subject ts
                     WHERE ts.relid = r.relid AND ts.key_column IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = r.relid AND a.attname = ts.key_column
                                                                    AND a.attnum > 0 AND NOT a.attisdropped)
                    UNION ALL
                    SELECT format('no foreign key (%s) to %s on the path to subject type %s any more',
                                  (SELECT string_agg(c, ', ') FROM jsonb_array_elements_text(ts.via_columns -> 0 -> 'columns') c),
                                  ts.via[1], ts.subject_type)
                      FROM privacy.table_subject ts
                     WHERE ts.relid = r.relid AND ts.via IS NOT NULL
                       AND NOT EXISTS (SELECT FROM pg_constraint c
                                        WHERE c.contype = 'f' AND c.conrelid = r.relid AND c.confrelid = ts.via[1]
                                          AND ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                                                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                                                     ORDER BY k.o)
                                              = ARRAY(SELECT jsonb_array_elements_text(ts.via_columns -> 0 -> 'columns')))) x;

    -- PP004: an unclassified column whose name or type suggests personal data
    RETURN QUERY
    SELECT 'PP004', 'warning', format('%s.%I', r.relid, a.attname),
           format('column looks like %s data but has no class', privacy._lint_suggested_class(a.attname, a.atttypid::regtype)),
           format('SELECT privacy.classify_column(%L, %L, %L);', r.relid::text, a.attname,
                  privacy._lint_suggested_class(a.attname, a.atttypid::regtype))
      FROM privacy.registered_table r
      JOIN pg_attribute a ON a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE privacy._lint_suggested_class(a.attname, a.atttypid::regtype) IS NOT NULL
       AND NOT privacy._type_involves_bsn(a.atttypid::regtype)
       AND NOT EXISTS (SELECT FROM privacy.column_policy cp
                        WHERE cp.relid = r.relid AND cp.column_name = a.attname
                          AND (cp.class IS NOT NULL OR cp.state <> 'on'))
     ORDER BY r.relid::text, a.attnum;

    -- PP005: BSNs or IBANs in a sample of a text column without a class
    FOR t IN SELECT r.relid, array_agg(a.attname ORDER BY a.attnum) AS cols
               FROM privacy.registered_table r
               JOIN pg_attribute a ON a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE privacy._base_type(a.atttypid::regtype) IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
                AND NOT EXISTS (SELECT FROM privacy.column_policy cp
                                 WHERE cp.relid = r.relid AND cp.column_name = a.attname
                                   AND (cp.class IS NOT NULL OR cp.state <> 'on'))
              GROUP BY r.relid ORDER BY r.relid::text LOOP
        cols := t.cols;
        EXECUTE format('SELECT ARRAY[%s] FROM (SELECT %s FROM %s LIMIT %s) s',
                       (SELECT string_agg(format('coalesce(bool_or(privacy.has_identifier(%I::text)), false)', c), ', ')
                          FROM unnest(cols) c),
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c),
                       t.relid::regclass, sample_rows)
            INTO hits;
        FOR i IN 1 .. cardinality(cols) LOOP
            IF hits[i] THEN
                code := 'PP005'; severity := 'warning'; object := format('%s.%I', t.relid::regclass, cols[i]);
                message := 'BSNs or IBANs found in a sample of this text column, which has no class';
                fix := format('SELECT privacy.classify_column(%L, %L, ''free_text'');  -- and see privacy.scan_table(%L)',
                              t.relid::regclass::text, cols[i], t.relid::regclass::text);
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;

    -- PP006, PP007: a registered table without a retention rule or a purpose
    RETURN QUERY
    SELECT 'PP006', 'warning', r.relid::text, 'registered table has no retention rule',
           format('SELECT privacy.create_retention_rule(%L, %L, ''<document type>'', start_expr => ''<column>'');',
                  left(regexp_replace(lower(c.relname), '[^a-z0-9_]', '_', 'g'), 63), r.relid::text)
      FROM privacy.registered_table r JOIN pg_class c ON c.oid = r.relid
     WHERE NOT EXISTS (SELECT FROM privacy.retention_rule x WHERE x.relid = r.relid)
     ORDER BY r.relid::text;
    RETURN QUERY
    SELECT 'PP007', 'warning', r.relid::text, 'registered table is bound to no purpose',
           format('SELECT privacy.bind_purpose(%L, %L);', r.relid::text, pur)
      FROM privacy.registered_table r
     WHERE NOT EXISTS (SELECT FROM privacy.table_purpose x WHERE x.relid = r.relid)
     ORDER BY r.relid::text;

    -- PP008: a purpose on consent without any consent recorded
    RETURN QUERY
    SELECT 'PP008', 'warning', p.name, 'purpose rests on consent but no consent is recorded',
           format('SELECT privacy.record_consent(''%s'', ''<key>'', %L);  -- or give the purpose its real legal basis', st, p.name)
      FROM privacy.purpose p
     WHERE p.legal_basis = 'consent' AND NOT EXISTS (SELECT FROM privacy.consent c WHERE c.purpose = p.name)
     ORDER BY p.name;

    -- PP009, PP010: transfers outside the EU/EEA
    RETURN QUERY
    SELECT 'PP009', 'error', sp.role::text,
           format('support role works from %s without a safeguard for the transfer', sp.country),
           format('SELECT privacy.define_support_role(%L, %L, ''standard_contractual_clauses'');', sp.role::text, sp.country)
      FROM privacy.support_profile sp WHERE sp.safeguard = 'none'
     ORDER BY 3;
    RETURN QUERY
    SELECT 'PP010', 'warning', r.name,
           format('recipient in %s rests on a derogation (AVG art. 49): only for occasional transfers', r.country),
           format('SELECT privacy.define_recipient(%L, %L, %L, ''standard_contractual_clauses'');', r.name, r.kind, r.country)
      FROM privacy.recipient r WHERE r.safeguard = 'derogation'
     ORDER BY r.name;

    -- PP011: retention rules that nothing runs
    IF EXISTS (SELECT FROM privacy.retention_rule) THEN
        IF to_regclass('cron.job') IS NULL THEN
            i := 0;
        ELSE
            EXECUTE 'SELECT count(*) FROM cron.job WHERE active AND command ~* ''privacy\.purge''' INTO i;
        END IF;
        IF i = 0 THEN
            code := 'PP011'; severity := 'warning'; object := 'privacy.purge';
            message := 'retention rules exist but no active pg_cron job runs privacy.purge()';
            fix := 'SELECT privacy.schedule_purge();';
            RETURN NEXT;
        END IF;
    END IF;

    -- PP012: requests past their deadline
    RETURN QUERY
    SELECT 'PP012', 'error', 'request ' || q.id,
           format('%s request of %s is past its deadline (%s)', q.kind, q.subject_type, q.deadline),
           format('SELECT privacy.close_request(%s, ''fulfilled'');  -- or privacy.extend_request(%s, ''<reason>'')', q.id, q.id)
      FROM privacy.request q WHERE q.status = 'open' AND q.deadline < current_date
     ORDER BY q.id;

    -- PP013: login roles that bypass row-level security and can read a
    -- registered table (the bootstrap superuser, which owns the cluster, aside)
    RETURN QUERY
    SELECT 'PP013', 'warning', ro.rolname::text,
           format('login role is %s and reads every row of %s registered tables',
                  CASE WHEN ro.rolsuper THEN 'a superuser' ELSE 'BYPASSRLS' END, count(*)),
           format('ALTER ROLE %I %s;', ro.rolname, CASE WHEN ro.rolsuper THEN 'NOSUPERUSER' ELSE 'NOBYPASSRLS' END)
      FROM pg_roles ro, privacy.registered_table r
     WHERE ro.rolcanlogin AND (ro.rolsuper OR ro.rolbypassrls) AND ro.oid <> 10
       AND has_any_column_privilege(ro.oid, r.relid, 'SELECT')
     GROUP BY ro.rolname, ro.rolsuper
     ORDER BY ro.rolname;

    -- PP014: privileges granted to PUBLIC on a registered table
    RETURN QUERY
    SELECT 'PP014', 'error', r.relid::text,
           format('PUBLIC holds %s on a registered table', string_agg(DISTINCT acl.privilege_type, ', ')),
           format('REVOKE ALL ON %s FROM PUBLIC;', r.relid)
      FROM privacy.registered_table r JOIN pg_class c ON c.oid = r.relid, aclexplode(c.relacl) acl
     WHERE acl.grantee = 0
     GROUP BY r.relid ORDER BY r.relid::text;

    -- PP017: a table nobody registered whose columns say it holds data about
    -- people (tables with a BSN or a path to a subject are PP001 and PP002)
    RETURN QUERY
    SELECT 'PP017', 'warning', l.relid::regclass::text,
           format('table is not registered but its columns suggest data about people (%s)',
                  string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)),
           format('SELECT privacy.register_subject_type(''<subject type>'', %1$L, %2$L); SELECT privacy.register_table(%1$L, ''<subject type>'', %2$L);  -- or only the second, with the key column, for people of a subject type that exists',
                  l.relid::regclass::text,
                  coalesce((SELECT ka.attname::text FROM pg_constraint k
                              JOIN pg_attribute ka ON ka.attrelid = k.conrelid AND ka.attnum = k.conkey[1]
                             WHERE k.conrelid = l.relid AND k.contype = 'p' AND cardinality(k.conkey) = 1),
                           '<key column>'))
      FROM unnest(tabs) l(relid)
      JOIN pg_attribute a ON a.attrelid = l.relid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE privacy._lint_personal_name(a.attname)
       AND NOT (l.relid = ANY (reaching))
       AND NOT EXISTS (SELECT FROM privacy.table_subject s WHERE s.relid = l.relid)
       AND NOT EXISTS (SELECT FROM pg_attribute b WHERE b.attrelid = l.relid AND b.attnum > 0 AND NOT b.attisdropped
                                                   AND privacy._type_involves_bsn(b.atttypid::regtype))
     GROUP BY l.relid
     ORDER BY l.relid::regclass::text;
END
$$;
COMMENT ON FUNCTION @extschema@._lint_findings(integer, boolean) IS
'Every finding of the lint checks, suppressed or not; with strict_only, only those of the checks strict mode runs at commit (PP001, PP002, PP015, PP016)';

CREATE FUNCTION @extschema@.lint(include_suppressed boolean DEFAULT false, sample_rows integer DEFAULT 200)
RETURNS TABLE (code text, severity text, object text, message text, fix text, suppressed text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF NOT (privacy._calling_role_is_admin() OR privacy._calling_role_is_officer()) THEN
        RAISE EXCEPTION 'only the privacy admin or the privacy officer may lint the schema'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF sample_rows IS NULL OR sample_rows < 0 THEN
        RAISE EXCEPTION 'sample_rows must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT f.code, f.severity, f.object, f.message, f.fix, s.reason
      FROM privacy._lint_findings(sample_rows) f
      LEFT JOIN privacy.lint_suppression s ON s.code = f.code AND s.object = f.object
     WHERE include_suppressed OR s.code IS NULL
     ORDER BY CASE f.severity WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END, f.code, f.object;
END
$$;
COMMENT ON FUNCTION @extschema@.lint(boolean, integer) IS
'What the registry misses: one row per finding with its code (PP001...), severity, object, what is wrong and the SQL that fixes it; suppressed findings only when asked';

CREATE FUNCTION @extschema@.suppress_finding(code text, object text, reason text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF code IS NULL OR code !~ '^PP[0-9]{3}$' THEN
        RAISE EXCEPTION 'invalid finding code "%"', code
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Codes look like PP004; see privacy.lint().';
    END IF;
    IF object IS NULL OR btrim(object) = '' OR reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a suppression names its object and its reason' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO privacy.lint_suppression AS x (code, object, reason, suppressed_by)
    VALUES (code, object, reason, privacy._calling_role()::name)
    ON CONFLICT ON CONSTRAINT lint_suppression_pkey DO UPDATE
       SET reason = excluded.reason, suppressed_by = excluded.suppressed_by, suppressed_at = pg_catalog.now();
    PERFORM privacy.audit_append('lint.suppress', object, NULL, NULL,
                                 jsonb_build_object('code', code, 'reason', reason));
END
$$;
COMMENT ON FUNCTION @extschema@.suppress_finding(text, text, text) IS
'Accept a finding of privacy.lint() for an object, with the reason; audited, and listed in the record of processing';

CREATE FUNCTION @extschema@.unsuppress_finding(code text, object text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    DELETE FROM privacy.lint_suppression s WHERE s.code = unsuppress_finding.code AND s.object = unsuppress_finding.object;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'finding % of "%" is not suppressed', code, object USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('lint.unsuppress', object, NULL, NULL, jsonb_build_object('code', code));
END
$$;
COMMENT ON FUNCTION @extschema@.unsuppress_finding(text, text) IS
'Withdraw the suppression of a finding; audited';

-------------------------------------------------------------------------------
-- Strict mode
--
-- With privacy.strict on, every CREATE or ALTER of a table, a view or a
-- materialized view notes the relation; at commit, a deferred trigger runs
-- the registration checks (PP001, PP002) and the view checks (PP015,
-- PP016) on the relations noted and refuses the transaction when one of
-- them holds personal data and is not registered, or shows registered
-- tables without their protection.
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.strict_pending (
    relid  oid NOT NULL,
    txid   xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    PRIMARY KEY (txid, relid)
);
COMMENT ON TABLE @extschema@.strict_pending IS
'Tables created or altered by a transaction under privacy.strict, checked when it commits; empty outside such a transaction';
REVOKE ALL ON @extschema@.strict_pending FROM PUBLIC;

CREATE FUNCTION @extschema@._strict_note()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF NOT coalesce(current_setting('privacy.strict', true)::boolean, false) THEN
        RETURN;
    END IF;
    INSERT INTO privacy.strict_pending (relid)
    SELECT DISTINCT c.objid FROM pg_event_trigger_ddl_commands() c
     WHERE c.classid = 'pg_catalog.pg_class'::regclass AND c.objsubid = 0
       AND EXISTS (SELECT FROM pg_class x WHERE x.oid = c.objid AND x.relkind IN ('r', 'p', 'v', 'm')
                                             AND x.relpersistence <> 't')
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@._strict_note() IS
'Event trigger: under privacy.strict, note the tables a DDL command created or altered, for the check at commit';

CREATE EVENT TRIGGER privacy_strict_note ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
                 'CREATE VIEW', 'ALTER VIEW', 'CREATE MATERIALIZED VIEW', 'ALTER MATERIALIZED VIEW')
    EXECUTE FUNCTION @extschema@._strict_note();

CREATE FUNCTION @extschema@._strict_check()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    f record;
BEGIN
    DELETE FROM privacy.strict_pending p WHERE p.txid = NEW.txid AND p.relid = NEW.relid;
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = NEW.relid)
       OR EXISTS (SELECT FROM privacy.table_subject s WHERE s.relid = NEW.relid) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO f FROM privacy._lint_findings(0, strict_only => true) x
     WHERE x.object = NEW.relid::regclass::text
       AND NOT EXISTS (SELECT FROM privacy.lint_suppression s WHERE s.code = x.code AND s.object = x.object)
     LIMIT 1;
    IF FOUND AND f.code IN ('PP001', 'PP002') THEN
        RAISE EXCEPTION 'table "%" holds personal data and is not registered', NEW.relid::regclass
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s: %s. privacy.strict is on: a table like this must be registered in the transaction that creates it.',
                                  f.code, f.message),
                  HINT = format('Run, as the privacy admin, in the same transaction: %s', f.fix);
    ELSIF FOUND THEN
        RAISE EXCEPTION '% "%" would show registered tables without their protection',
                        CASE f.code WHEN 'PP016' THEN 'materialized view' ELSE 'view' END, NEW.relid::regclass
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s: %s. privacy.strict is on.', f.code, f.message),
                  HINT = CASE f.code WHEN 'PP016' THEN 'Read the tables through a view with security_invoker = true instead.'
                                     ELSE format('Run, in the same transaction: %s', f.fix) END;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._strict_check() IS
'Deferred trigger: at commit, refuse a table noted under privacy.strict that holds personal data and is not registered';

CREATE CONSTRAINT TRIGGER strict_check AFTER INSERT ON @extschema@.strict_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION @extschema@._strict_check();
ALTER TABLE @extschema@.strict_pending ENABLE ALWAYS TRIGGER strict_check;

CREATE FUNCTION @extschema@.set_strict(enabled boolean)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'strict mode is on or off' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE format('ALTER DATABASE %I SET privacy.strict = %s', current_database(), CASE WHEN enabled THEN 'on' ELSE 'off' END);
    PERFORM privacy.audit_append('lint.strict', current_database(), NULL, NULL, jsonb_build_object('strict', enabled));
END
$$;
COMMENT ON FUNCTION @extschema@.set_strict(boolean) IS
'Switch privacy.strict on or off for the current database (new sessions); audited';

REVOKE EXECUTE ON FUNCTION
    @extschema@._lint_tables(),
    @extschema@._lint_views(),
    @extschema@._lint_suggested_class(name, regtype),
    @extschema@._lint_personal_name(name),
    @extschema@._lint_findings(integer, boolean),
    @extschema@.lint(boolean, integer),
    @extschema@.suppress_finding(text, text, text),
    @extschema@.unsuppress_finding(text, text),
    @extschema@._strict_note(),
    @extschema@._strict_check(),
    @extschema@.set_strict(boolean)
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.lint_suppression TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.lint(boolean, integer) TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.suppress_finding(text, text, text), '
        'privacy.unsuppress_finding(text, text), privacy.set_strict(boolean) TO %I', admin);
END
$$;
