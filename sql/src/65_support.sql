/* sql/src/65_support.sql */

-- Support access with the controller's prior consent: the software
-- vendor's staff (members of privacy.support_role) ask for time-boxed,
-- scoped access to registered tables; the privacy admin or officer approves
-- it; the library enforces it at every statement and records what was done
-- under it in the audit trail.  Needs the registry, the column classes and
-- the audit trail; the record of processing (70_rights.sql) reads it.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-------------------------------------------------------------------------------
-- Support access
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
