/* sql/src/75_breaches.sql */

-- Personal data breaches (AVG art. 33 and 34): the register with its
-- 72-hour clock, the history of scope grants that exposure needs, the
-- exposure computed from the registry, and the notifications drafted.
-- Needs the registry, column policies, support access and the rights
-- catalogs (recipients, disclosures, the outbox).
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

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
