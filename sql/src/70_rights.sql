/* sql/src/70_rights.sql */

-- Data-subject rights: purposes and consent, recipients and disclosures, the
-- notification outbox, requests with their deadlines, restriction,
-- rectification, export, erasure and the record of processing (AVG art.
-- 30). Needs everything before it.
--
-- Part of the install script of the current version: the Makefile joins the
-- files of sql/src in the order of their names into pg_privacy--<version>.sql.

-------------------------------------------------------------------------------
-- Data-subject rights: purposes and consent, recipients and disclosures,
-- the notification outbox, requests with their deadlines, the export of a
-- subject's data, and the record of processing (AVG art. 30)
-------------------------------------------------------------------------------

CREATE TABLE @extschema@.purpose (
    name          text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    description   text        NOT NULL,
    legal_basis   text        NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation',
                                                             'vital_interest', 'public_task',
                                                             'legitimate_interest')),
    basis_detail  text,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.purpose IS
'Purposes of processing with their legal basis (AVG art. 6(1)): consent, contract, legal_obligation, vital_interest, public_task, legitimate_interest';

CREATE TABLE @extschema@.table_purpose (
    relid    regclass NOT NULL REFERENCES @extschema@.registered_table ON DELETE CASCADE,
    purpose  text     NOT NULL REFERENCES @extschema@.purpose ON UPDATE CASCADE,
    PRIMARY KEY (relid, purpose)
);
COMMENT ON TABLE @extschema@.table_purpose IS
'For which purposes the data of a registered table is processed';

CREATE TABLE @extschema@.consent (
    subject_type  text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key   text        NOT NULL,
    purpose       text        NOT NULL REFERENCES @extschema@.purpose ON UPDATE CASCADE,
    given_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    withdrawn_at  timestamptz,
    recorded_by   name        NOT NULL,
    PRIMARY KEY (subject_type, subject_key, purpose, given_at),
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= given_at)
);
COMMENT ON TABLE @extschema@.consent IS
'Consent given, and withdrawn, per subject and purpose';

CREATE TABLE @extschema@.recipient (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    kind          text NOT NULL CHECK (kind IN ('authority', 'pension_fund', 'client', 'processor',
                                                'sub_processor', 'other')),
    country       text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    safeguard     text NOT NULL CHECK (safeguard IN ('eu_eea', 'adequacy', 'standard_contractual_clauses',
                                                     'binding_corporate_rules', 'derogation')),
    processor_of  text REFERENCES @extschema@.recipient ON UPDATE CASCADE,
    contact       text,
    description   text,
    CHECK ((kind = 'sub_processor') = (processor_of IS NOT NULL))
);
COMMENT ON TABLE @extschema@.recipient IS
'Recipients of personal data (AVG art. 19, 30(1)(d)): authorities, pension funds, client companies, processors and sub-processors, with their country and the safeguard of a transfer (art. 44-49)';

CREATE SEQUENCE @extschema@.disclosure_seq;
CREATE TABLE @extschema@.disclosure (
    id            bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.disclosure_seq'),
    recipient     text        NOT NULL REFERENCES @extschema@.recipient ON UPDATE CASCADE,
    subject_type  text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key   text        NOT NULL,
    categories    text[]      NOT NULL,
    disclosed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    recorded_by   name        NOT NULL,
    note          text
);
CREATE INDEX disclosure_subject_idx ON @extschema@.disclosure (subject_type, subject_key);
COMMENT ON TABLE @extschema@.disclosure IS
'Disclosures of a subject''s data to a recipient: which categories, when';

CREATE SEQUENCE @extschema@.notification_seq;
CREATE TABLE @extschema@.notification (
    id            bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.notification_seq'),
    recipient     text        NOT NULL REFERENCES @extschema@.recipient ON UPDATE CASCADE,
    subject_type  text        NOT NULL,
    subject_key   text        NOT NULL,
    event         text        NOT NULL CHECK (event IN ('erasure', 'rectification', 'restriction')),
    details       jsonb,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    delivered_at  timestamptz,
    delivered_by  name
);
CREATE INDEX notification_pending_idx ON @extschema@.notification (id) WHERE delivered_at IS NULL;
COMMENT ON TABLE @extschema@.notification IS
'Outbox of notifications to recipients about an erasure, rectification or restriction (AVG art. 19); a delivery worker LISTENs on privacy_notification';

CREATE SEQUENCE @extschema@.request_seq;
CREATE TABLE @extschema@.request (
    id              bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.request_seq'),
    subject_type    text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key     text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('access', 'portability', 'erasure', 'rectification',
                                                         'restriction', 'objection')),
    received_on     date        NOT NULL,
    deadline        date        NOT NULL,
    extended_reason text,
    status          text        NOT NULL DEFAULT 'open'
                                CHECK (status IN ('open', 'fulfilled', 'refused', 'withdrawn')),
    result          jsonb,
    closed_at       timestamptz,
    registered_by   name        NOT NULL,
    note            text,
    CHECK ((status = 'open') = (closed_at IS NULL))
);
COMMENT ON TABLE @extschema@.request IS
'Data-subject requests with their deadline: one month from receipt, once extendable by two months with a reason (AVG art. 12(3))';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.purpose', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.table_purpose', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recipient', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.disclosure', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.disclosure_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.notification', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.notification_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.request', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.request_seq', '');

REVOKE ALL ON @extschema@.purpose, @extschema@.table_purpose, @extschema@.consent,
              @extschema@.recipient, @extschema@.disclosure, @extschema@.notification,
              @extschema@.request FROM PUBLIC;

-- The internal helpers of the rights functions below (_subject_key,
-- _active_holds, _calling_role_is_officer, _notify_recipients and the
-- erasure's) have no SET clause: only the extension's security definer
-- functions call them (EXECUTE is revoked from PUBLIC), and those pin
-- search_path = pg_catalog, @extschema@, pg_temp already; a SET clause
-- would switch the setting at every call of an erasure.

-- A subject key as the catalogs store it: the text of the typed key, so
-- that '017' and '17' name the same candidate.
CREATE FUNCTION @extschema@._subject_key(subject_type text, subject_key text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    keytype regtype;
    k text;
BEGIN
    SELECT privacy._column_type(s.root_table, s.key_column) INTO keytype
      FROM privacy.subject_type s WHERE s.name = _subject_key.subject_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subject type "%" does not exist', subject_type USING ERRCODE = 'undefined_object';
    END IF;
    IF subject_key IS NULL THEN
        RAISE EXCEPTION 'a subject key is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    BEGIN
        SELECT q.k INTO k
          FROM privacy._query(format('SELECT ($1::%s)::text', privacy._base_type(keytype)), subject_key) AS q(k text);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'invalid key for subject type "%"', subject_type
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A key of this subject type is a %s.', keytype);
    END;
    RETURN k;
END
$$;
COMMENT ON FUNCTION @extschema@._subject_key(text, text) IS
'A subject key in its canonical text form, checked against the type of the subject type''s key';

-- SQL that selects the rows of one subject in a registered table (as r),
-- with the key as $1 (text): along the key column, or up the foreign-key
-- path with a subquery that can use the indexes of each step.
CREATE FUNCTION @extschema@._subject_where(tbl regclass, subject_type text, alias text DEFAULT 'r')
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    pth record;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type, alias);
    IF pth.root_table IS NULL THEN
        RETURN NULL;
    END IF;
    IF pth.key_column IS NOT NULL THEN
        RETURN format('%I.%I = $1::%s', alias, pth.key_column, pth.keytype);
    END IF;
    RETURN format('EXISTS (SELECT 1 FROM %s WHERE %s AND s%s.%I = $1::%s)',
                  pth.joins, pth.link, pth.steps, pth.root_key, pth.keytype);
END
$$;
COMMENT ON FUNCTION @extschema@._subject_where(regclass, text, text) IS
'Condition on the alias (r) selecting one subject''s rows of a registered table, the key as $1';

-- Purposes and consent

CREATE FUNCTION @extschema@.define_purpose(name text, description text, legal_basis text,
                                           basis_detail text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF legal_basis IS NULL OR legal_basis NOT IN ('consent', 'contract', 'legal_obligation', 'vital_interest',
                                                  'public_task', 'legitimate_interest') THEN
        RAISE EXCEPTION 'invalid legal basis "%"', legal_basis
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use consent, contract, legal_obligation, vital_interest, public_task or legitimate_interest (AVG art. 6(1)).';
    END IF;
    BEGIN
        INSERT INTO privacy.purpose AS p (name, description, legal_basis, basis_detail)
        VALUES (define_purpose.name, description, legal_basis, basis_detail)
        ON CONFLICT ON CONSTRAINT purpose_pkey DO UPDATE
           SET description = excluded.description, legal_basis = excluded.legal_basis,
               basis_detail = excluded.basis_detail;
    EXCEPTION
        WHEN check_violation THEN
            RAISE EXCEPTION 'invalid purpose name "%"', define_purpose.name USING ERRCODE = 'invalid_name';
        WHEN not_null_violation THEN
            RAISE EXCEPTION 'a purpose needs a description' USING ERRCODE = 'invalid_parameter_value';
    END;
    PERFORM privacy.audit_append('rights.purpose', define_purpose.name, NULL, NULL,
                                 jsonb_build_object('legal_basis', legal_basis));
END
$$;
COMMENT ON FUNCTION @extschema@.define_purpose(text, text, text, text) IS
'Create or change a purpose of processing with its legal basis; audited';

CREATE FUNCTION @extschema@.bind_purpose(tbl regclass, purpose text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF NOT EXISTS (SELECT FROM privacy.registered_table r WHERE r.relid = tbl) THEN
        RAISE EXCEPTION 'table "%" is not registered', tbl USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.purpose p WHERE p.name = bind_purpose.purpose) THEN
        RAISE EXCEPTION 'purpose "%" does not exist', purpose USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO privacy.table_purpose VALUES (tbl, purpose) ON CONFLICT DO NOTHING;
    PERFORM privacy.audit_append('rights.purpose.bind', tbl::text, NULL, NULL,
                                 jsonb_build_object('purpose', purpose));
END
$$;
COMMENT ON FUNCTION @extschema@.bind_purpose(regclass, text) IS
'Record that a registered table''s data is processed for a purpose; audited';

CREATE FUNCTION @extschema@.record_consent(subject_type text, subject_key text, purpose text,
                                           given boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    basis text;
BEGIN
    SELECT p.legal_basis INTO basis FROM privacy.purpose p WHERE p.name = record_consent.purpose;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'purpose "%" does not exist', purpose USING ERRCODE = 'undefined_object';
    END IF;
    IF basis <> 'consent' THEN
        RAISE EXCEPTION 'purpose "%" rests on %, not on consent', purpose, basis
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF given THEN
        IF NOT EXISTS (SELECT FROM privacy.consent c WHERE c.subject_type = record_consent.subject_type
                          AND c.subject_key = k AND c.purpose = record_consent.purpose
                          AND c.withdrawn_at IS NULL) THEN
            INSERT INTO privacy.consent (subject_type, subject_key, purpose, recorded_by)
            VALUES (subject_type, k, purpose, privacy._calling_role()::name);
        END IF;
    ELSE
        UPDATE privacy.consent c SET withdrawn_at = pg_catalog.now()
         WHERE c.subject_type = record_consent.subject_type AND c.subject_key = k
           AND c.purpose = record_consent.purpose AND c.withdrawn_at IS NULL;
    END IF;
    PERFORM privacy.audit_append(CASE WHEN given THEN 'rights.consent' ELSE 'rights.consent.withdraw' END,
                                 purpose, subject_type, k, NULL);
END
$$;
COMMENT ON FUNCTION @extschema@.record_consent(text, text, text, boolean) IS
'Record consent given (or, with given => false, withdrawn) by a subject for a purpose; audited';

-- Recipients, disclosures and notifications

CREATE FUNCTION @extschema@.define_recipient(name text, kind text, country text, safeguard text,
                                             processor_of text DEFAULT NULL, contact text DEFAULT NULL,
                                             description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM privacy._require_admin();
    IF country IN ('AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU',
                   'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
                   'IS', 'LI', 'NO') <> (safeguard = 'eu_eea') THEN
        RAISE EXCEPTION 'safeguard "%" does not fit country "%"', safeguard, country
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Recipients in the EU/EEA have safeguard eu_eea; others need adequacy, standard_contractual_clauses, binding_corporate_rules or derogation.';
    END IF;
    BEGIN
        INSERT INTO privacy.recipient AS r (name, kind, country, safeguard, processor_of, contact, description)
        VALUES (define_recipient.name, kind, country, safeguard, processor_of, contact, description)
        ON CONFLICT ON CONSTRAINT recipient_pkey DO UPDATE
           SET kind = excluded.kind, country = excluded.country, safeguard = excluded.safeguard,
               processor_of = excluded.processor_of, contact = excluded.contact,
               description = excluded.description;
    EXCEPTION
        WHEN check_violation THEN
            RAISE EXCEPTION 'invalid recipient "%"', define_recipient.name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A recipient has a lower-case name, a kind (authority, pension_fund, client, processor, sub_processor, other), a two-letter country code and a safeguard; a sub-processor names its processor.';
        WHEN foreign_key_violation THEN
            RAISE EXCEPTION 'processor "%" does not exist', processor_of USING ERRCODE = 'undefined_object';
    END;
    PERFORM privacy.audit_append('rights.recipient', define_recipient.name, NULL, NULL,
        jsonb_build_object('kind', kind, 'country', country, 'safeguard', safeguard));
END
$$;
COMMENT ON FUNCTION @extschema@.define_recipient(text, text, text, text, text, text, text) IS
'Create or change a recipient with its country and transfer safeguard; audited';

CREATE FUNCTION @extschema@.record_disclosure(recipient text, subject_type text, subject_key text,
                                              categories text[], disclosed_at timestamptz DEFAULT pg_catalog.now(),
                                              note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM privacy.recipient r WHERE r.name = record_disclosure.recipient) THEN
        RAISE EXCEPTION 'recipient "%" does not exist', recipient USING ERRCODE = 'undefined_object';
    END IF;
    IF categories IS NULL OR cardinality(categories) = 0 THEN
        RAISE EXCEPTION 'a disclosure names the categories of data disclosed'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO privacy.disclosure (recipient, subject_type, subject_key, categories, disclosed_at,
                                    recorded_by, note)
    VALUES (recipient, subject_type, k, categories, disclosed_at, privacy._calling_role()::name, note)
    RETURNING disclosure.id INTO id;
    PERFORM privacy.audit_append('rights.disclosure', recipient, subject_type, k,
                                 jsonb_build_object('disclosure', id, 'categories', categories));
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_disclosure(text, text, text, text[], timestamptz, text) IS
'Record that a subject''s data of some categories was disclosed to a recipient; audited';

-- One notification per recipient that received the subject's data, and a
-- NOTIFY for the delivery worker.
CREATE FUNCTION @extschema@._notify_recipients(subject_type text, subject_key text, event text, details jsonb)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO privacy.notification (recipient, subject_type, subject_key, event, details)
    SELECT DISTINCT d.recipient, d.subject_type, d.subject_key, event, details
      FROM privacy.disclosure d
     WHERE d.subject_type = _notify_recipients.subject_type AND d.subject_key = _notify_recipients.subject_key;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('privacy_notification', jsonb_build_object('event', event, 'notifications', n)::text);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@._notify_recipients(text, text, text, jsonb) IS
'Queue a notification about a subject for every recipient that received their data';

CREATE FUNCTION @extschema@.mark_delivered(notification_id bigint)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    UPDATE privacy.notification SET delivered_at = pg_catalog.now(), delivered_by = privacy._calling_role()::name
     WHERE id = notification_id AND delivered_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no undelivered notification with id %', notification_id
            USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.mark_delivered(bigint) IS
'Mark a notification to a recipient as delivered';

CREATE VIEW @extschema@.pending_notifications AS
SELECT n.id, n.recipient, r.kind, r.contact, n.subject_type, n.subject_key, n.event, n.details, n.created_at
  FROM @extschema@.notification n JOIN @extschema@.recipient r ON r.name = n.recipient
 WHERE n.delivered_at IS NULL;
COMMENT ON VIEW @extschema@.pending_notifications IS
'Notifications to recipients not delivered yet';

-- Requests

CREATE FUNCTION @extschema@.register_request(subject_type text, subject_key text, kind text,
                                             received_on date DEFAULT CURRENT_DATE, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    id bigint;
BEGIN
    IF kind IS NULL OR kind NOT IN ('access', 'portability', 'erasure', 'rectification', 'restriction', 'objection') THEN
        RAISE EXCEPTION 'invalid request kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use access, portability, erasure, rectification, restriction or objection.';
    END IF;
    IF received_on IS NULL OR received_on > CURRENT_DATE THEN
        RAISE EXCEPTION 'a request cannot be received in the future' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO privacy.request (subject_type, subject_key, kind, received_on, deadline, registered_by, note)
    VALUES (subject_type, k, kind, received_on, (received_on + interval '1 month')::date,
            privacy._calling_role()::name, note)
    RETURNING request.id INTO id;
    PERFORM privacy.audit_append('rights.request', kind, subject_type, k, jsonb_build_object('request', id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.register_request(text, text, text, date, text) IS
'Register a data-subject request; its deadline is one month after receipt (AVG art. 12(3)); audited';

CREATE FUNCTION @extschema@.extend_request(request_id bigint, reason text)
RETURNS date
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    q privacy.request;
BEGIN
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'extending a request needs a reason' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The subject must be told why within the first month (AVG art. 12(3)).';
    END IF;
    SELECT * INTO q FROM privacy.request r WHERE r.id = request_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'request % does not exist', request_id USING ERRCODE = 'undefined_object';
    END IF;
    IF q.status <> 'open' THEN
        RAISE EXCEPTION 'request % is closed', request_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF q.extended_reason IS NOT NULL THEN
        RAISE EXCEPTION 'request % was already extended', request_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A request can be extended once, by two months.';
    END IF;
    IF CURRENT_DATE > q.deadline THEN
        RAISE EXCEPTION 'request % is past its deadline and can no longer be extended', request_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE privacy.request r SET deadline = (q.received_on + interval '3 months')::date, extended_reason = reason
     WHERE r.id = request_id RETURNING deadline INTO q.deadline;
    PERFORM privacy.audit_append('rights.request.extend', q.kind, q.subject_type, q.subject_key,
                                 jsonb_build_object('request', request_id, 'deadline', q.deadline));
    RETURN q.deadline;
END
$$;
COMMENT ON FUNCTION @extschema@.extend_request(bigint, text) IS
'Extend a request''s deadline once, to three months after receipt, with the reason; audited';

CREATE FUNCTION @extschema@.close_request(request_id bigint, status text, result jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    q privacy.request;
BEGIN
    IF status IS NULL OR status NOT IN ('fulfilled', 'refused', 'withdrawn') THEN
        RAISE EXCEPTION 'invalid request status "%"', status
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use fulfilled, refused or withdrawn.';
    END IF;
    UPDATE privacy.request r
       SET status = close_request.status, result = close_request.result, closed_at = pg_catalog.now()
     WHERE r.id = request_id AND r.status = 'open'
    RETURNING * INTO q;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no open request with id %', request_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('rights.request.close', q.kind, q.subject_type, q.subject_key,
                                 jsonb_build_object('request', request_id, 'status', status));
END
$$;
COMMENT ON FUNCTION @extschema@.close_request(bigint, text, jsonb) IS
'Close a request as fulfilled, refused or withdrawn, with its result; audited';

CREATE VIEW @extschema@.requests_due AS
SELECT q.id, q.subject_type, q.subject_key, q.kind, q.received_on, q.deadline,
       q.extended_reason IS NOT NULL AS extended,
       q.deadline - CURRENT_DATE AS days_left,
       q.deadline < CURRENT_DATE AS overdue
  FROM @extschema@.request q
 WHERE q.status = 'open' AND q.deadline <= CURRENT_DATE + 7;
COMMENT ON VIEW @extschema@.requests_due IS
'Open requests that are overdue or due within a week';

-- Export

CREATE FUNCTION @extschema@.export_subject(subject_type text, subject_key text,
                                           portability boolean DEFAULT false,
                                           request_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    st privacy.subject_type;
    k text := privacy._subject_key(subject_type, subject_key);
    t record;
    parts text[] := '{}';
    sql text;
    data jsonb := '{}';
    counts jsonb := '{}';
    doc jsonb;
    keytype regtype;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to export a data subject'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only members of the privacy officer role may export a subject''s data.';
    END IF;
    SELECT * INTO st FROM privacy.subject_type s WHERE s.name = export_subject.subject_type;
    keytype := privacy._column_type(st.root_table, st.key_column);
    -- one statement gathers every table's rows (one plan, not one per table)
    sql := CASE WHEN NOT portability THEN privacy._sql_cache_get('export:' || st.name) END;
    FOR t IN SELECT ts.relid, privacy._subject_where(ts.relid, st.name) AS cond,
                    (SELECT array_agg(DISTINCT p.legal_basis) FROM privacy.table_purpose tp
                       JOIN privacy.purpose p ON p.name = tp.purpose WHERE tp.relid = ts.relid) AS bases
               FROM privacy.table_subject ts WHERE ts.subject_type = st.name AND sql IS NULL
              ORDER BY ts.relid::text LOOP
        -- portability (art. 20): data processed on consent (not withdrawn) or contract
        IF portability AND NOT (
               'contract' = ANY (coalesce(t.bases, '{}'))
               OR EXISTS (SELECT FROM privacy.table_purpose tp JOIN privacy.purpose p ON p.name = tp.purpose
                            JOIN privacy.consent c ON c.purpose = p.name
                           WHERE tp.relid = t.relid AND p.legal_basis = 'consent'
                             AND c.subject_type = st.name AND c.subject_key = k AND c.withdrawn_at IS NULL)) THEN
            CONTINUE;
        END IF;
        parts := parts || format('jsonb_build_object(%L, (SELECT coalesce(jsonb_agg(to_jsonb(r)), ''[]'') FROM %s%s r WHERE %s))',
                                 t.relid::text, privacy._only(t.relid), t.relid, t.cond);
    END LOOP;
    IF sql IS NULL THEN
        sql := CASE WHEN cardinality(parts) > 0 THEN 'SELECT ' || array_to_string(parts, ' || ')
                    ELSE 'SELECT ''{}''::jsonb' END;
        IF NOT portability THEN
            PERFORM privacy._sql_cache_put('export:' || st.name, sql);
        END IF;
    END IF;
    SELECT q.d INTO data FROM privacy._query(sql, k) AS q(d jsonb);
    SELECT coalesce(jsonb_object_agg(x.key, jsonb_array_length(x.value)), '{}') INTO counts
      FROM jsonb_each(data) x;
    doc := jsonb_build_object(
        'subject', jsonb_build_object('type', st.name, 'key', k, 'description', st.description),
        'generated_at', pg_catalog.now(),
        'kind', CASE WHEN portability THEN 'portability (AVG art. 20)' ELSE 'access (AVG art. 15)' END,
        'data', data,
        'purposes', (SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
                         'purpose', p.name, 'description', p.description, 'legal_basis', p.legal_basis,
                         'basis_detail', p.basis_detail)), '[]')
                       FROM privacy.table_subject ts JOIN privacy.table_purpose tp ON tp.relid = ts.relid
                       JOIN privacy.purpose p ON p.name = tp.purpose
                      WHERE ts.subject_type = st.name),
        'consents', (SELECT coalesce(jsonb_agg(jsonb_build_object('purpose', c.purpose, 'given_at', c.given_at,
                                                                  'withdrawn_at', c.withdrawn_at)
                                               ORDER BY c.given_at), '[]')
                       FROM privacy.consent c WHERE c.subject_type = st.name AND c.subject_key = k),
        'categories', (SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
                           'table', cp.relid::text, 'column', cp.column_name, 'class', cp.class)), '[]')
                         FROM privacy.column_policy cp JOIN privacy.table_subject ts ON ts.relid = cp.relid
                        WHERE ts.subject_type = st.name AND cp.class IS NOT NULL),
        'recipients', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'recipient', r.name, 'kind', r.kind, 'country', r.country,
                           'safeguard', r.safeguard, 'categories', d.categories,
                           'disclosed_at', d.disclosed_at) ORDER BY d.disclosed_at), '[]')
                         FROM privacy.disclosure d JOIN privacy.recipient r ON r.name = d.recipient
                        WHERE d.subject_type = st.name AND d.subject_key = k),
        'retention', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'table', rr.tbl::text, 'document_type', rr.document_type,
                          'retention', rr.retention::text, 'rounding', rr.rounding,
                          'clock', rr.clock, 'minimum', rr.min_keep::text,
                          'legal_basis', rr.legal_basis, 'source', rr.source) ORDER BY rr.rule), '[]')
                        FROM privacy.retention_rules rr JOIN privacy.table_subject ts ON ts.relid = rr.tbl
                       WHERE ts.subject_type = st.name),
        'legal_holds', cardinality(privacy._active_holds(st.name, k, true)),
        'source', st.source,
        'rights', jsonb_build_array(
            'access to your data and a copy of it (AVG art. 15)',
            'rectification of data that is wrong or incomplete (art. 16)',
            'erasure, where no legal duty to keep the data applies (art. 17)',
            'restriction of processing (art. 18)',
            'data portability for data processed on consent or contract (art. 20)',
            'objection to processing based on legitimate interest (art. 21)',
            'withdrawal of consent at any time, without affecting earlier processing (art. 7(3))',
            'a complaint to the Autoriteit Persoonsgegevens, www.autoriteitpersoonsgegevens.nl (art. 77)'));
    PERFORM privacy.audit_append(CASE WHEN portability THEN 'rights.export.portability' ELSE 'rights.export' END,
                                 st.root_table::text, st.name,
                                 CASE WHEN keytype = 'privacy.bsn'::regtype THEN NULL ELSE k END,
                                 jsonb_build_object('rows', counts, 'request', request_id));
    IF request_id IS NOT NULL THEN
        PERFORM privacy._close_subject_request(request_id, st.name, k,
                                               CASE WHEN portability THEN 'portability' ELSE 'access' END,
                                               jsonb_build_object('exported_rows', counts));
    END IF;
    RETURN doc;
END
$$;
COMMENT ON FUNCTION @extschema@.export_subject(text, text, boolean, bigint) IS
'A subject''s data from every registered table as JSON, with purposes, categories, recipients, retention, source and rights (AVG art. 15; art. 20 with portability); audited; closes the given request';

CREATE FUNCTION @extschema@.export_subject_encrypted(subject_type text, subject_key text, passphrase text,
                                                     portability boolean DEFAULT false,
                                                     request_id bigint DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    nsp name;
    out bytea;
BEGIN
    IF passphrase IS NULL OR length(passphrase) < 12 THEN
        RAISE EXCEPTION 'the passphrase must be at least 12 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT n.nspname INTO nsp FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgcrypto';
    EXECUTE format('SELECT %I.pgp_sym_encrypt($1, $2, ''cipher-algo=aes256, compress-algo=2'')', nsp)
       INTO out
      USING privacy.export_subject(subject_type, subject_key, portability, request_id)::text, passphrase;
    RETURN out;
END
$$;
COMMENT ON FUNCTION @extschema@.export_subject_encrypted(text, text, text, boolean, bigint) IS
'The export of a subject encrypted with OpenPGP (AES-256, a passphrase) for delivery; decrypt with pgp_sym_decrypt or gpg';

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


-- The record of processing

CREATE FUNCTION @extschema@.processing_register()
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
COMMENT ON FUNCTION @extschema@.processing_register() IS
'The record of processing activities (AVG art. 30) generated from the catalogs, as JSON';

CREATE FUNCTION @extschema@.processing_register_markdown()
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
COMMENT ON FUNCTION @extschema@.processing_register_markdown() IS
'The record of processing activities (AVG art. 30) as a Markdown document';

-- (PL/pgSQL without a SET clause, its names qualified: a SQL function with
-- a SET clause is planned again at every call.)
CREATE FUNCTION @extschema@._calling_role_is_officer()
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN pg_catalog.pg_has_role(@extschema@._calling_role(),
                                  coalesce(nullif(pg_catalog.current_setting('privacy.officer_role', true), ''),
                                           'privacy_officer'),
                                  'USAGE')
           OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) @extschema@._calling_role());
END
$$;
COMMENT ON FUNCTION @extschema@._calling_role_is_officer() IS
'Whether the caller is a member of privacy.officer_role (or a superuser)';

REVOKE EXECUTE ON FUNCTION
    @extschema@._subject_key(text, text),
    @extschema@._calling_role_is_officer(),
    @extschema@._subject_where(regclass, text, text),
    @extschema@.define_purpose(text, text, text, text),
    @extschema@.bind_purpose(regclass, text),
    @extschema@.record_consent(text, text, text, boolean),
    @extschema@.define_recipient(text, text, text, text, text, text, text),
    @extschema@.record_disclosure(text, text, text, text[], timestamptz, text),
    @extschema@._notify_recipients(text, text, text, jsonb),
    @extschema@.mark_delivered(bigint),
    @extschema@.register_request(text, text, text, date, text),
    @extschema@.extend_request(bigint, text),
    @extschema@.close_request(bigint, text, jsonb),
    @extschema@.export_subject(text, text, boolean, bigint),
    @extschema@.export_subject_encrypted(text, text, text, boolean, bigint),
    @extschema@.processing_register(),
    @extschema@.processing_register_markdown()
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT SELECT ON privacy.purpose, privacy.table_purpose, privacy.consent, privacy.recipient, '
        'privacy.disclosure, privacy.notification, privacy.request, privacy.pending_notifications, '
        'privacy.requests_due TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.define_purpose(text, text, text, text), '
        'privacy.bind_purpose(regclass, text), '
        'privacy.define_recipient(text, text, text, text, text, text, text) TO %I', admin);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.record_consent(text, text, text, boolean), '
        'privacy.record_disclosure(text, text, text, text[], timestamptz, text), '
        'privacy.mark_delivered(bigint), privacy.register_request(text, text, text, date, text), '
        'privacy.extend_request(bigint, text), privacy.close_request(bigint, text, jsonb), '
        'privacy.processing_register(), privacy.processing_register_markdown() TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.export_subject(text, text, boolean, bigint), '
        'privacy.export_subject_encrypted(text, text, text, boolean, bigint) TO %I', officer);
END
$$;

-- Restriction of processing (AVG art. 18)

CREATE SEQUENCE @extschema@.restriction_seq;
CREATE TABLE @extschema@.restriction (
    id               bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.restriction_seq'),
    subject_type     text        NOT NULL REFERENCES @extschema@.subject_type ON UPDATE CASCADE ON DELETE CASCADE,
    subject_key      text        NOT NULL,
    reason           text        NOT NULL CHECK (reason <> ''),
    restricted_until date,
    created_by       name        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    lifted_by        name,
    lifted_at        timestamptz,
    CHECK ((lifted_by IS NULL) = (lifted_at IS NULL))
);
CREATE INDEX restriction_subject_idx ON @extschema@.restriction (subject_type, subject_key)
    WHERE lifted_at IS NULL;
COMMENT ON TABLE @extschema@.restriction IS
'Subjects whose processing is restricted: their rows are hidden from everyone but the privacy officer until lifted or until restricted_until';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.restriction', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.restriction_seq', '');
REVOKE ALL ON @extschema@.restriction FROM PUBLIC;
CREATE TRIGGER restriction_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.restriction FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.registry_changed();
ALTER TABLE @extschema@.restriction ENABLE ALWAYS TRIGGER restriction_changed;

CREATE FUNCTION @extschema@.restriction_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'privacy_restriction_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.restriction_support(internal) IS
'Planner support: folds restriction_none() into a constant for the current role';

CREATE FUNCTION @extschema@.restriction_none(subject_type text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_restriction_none'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SUPPORT @extschema@.restriction_support;
COMMENT ON FUNCTION @extschema@.restriction_none(text) IS
'Whether no subject of this type is hidden from the current role (the officer sees restricted subjects)';

CREATE FUNCTION @extschema@.restricted_values(subject_type text, tbl regclass, sample anyelement)
RETURNS anyarray
AS 'MODULE_PATHNAME', 'privacy_restricted_values'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.restricted_values(text, regclass, anyelement) IS
'Values of a table''s link to its subject that belong to subjects restricted for the current role';

-- The link values of restricted subjects in one table: its key column's
-- values are the keys; along a foreign-key path, the values of the first
-- foreign key that lead to those keys.
CREATE FUNCTION @extschema@._restricted_links(subject_type text, tbl regclass, keys text[])
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    pth record;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type);
    IF pth.root_table IS NULL THEN
        RETURN;
    END IF;
    IF pth.key_column IS NOT NULL THEN
        RETURN QUERY SELECT unnest(keys);
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format('SELECT DISTINCT s1.%I::text FROM %s WHERE s%s.%I = ANY ($1::%s[])',
                                pth.ref_columns[1], pth.joins, pth.steps, pth.root_key, pth.keytype)
        USING keys;
END
$$;
COMMENT ON FUNCTION @extschema@._restricted_links(text, regclass, text[]) IS
'Values of a table''s link column that lead to the given subjects';

-- The restriction policy of a registered table: a restrictive policy that
-- hides rows of restricted subjects, for every subject type of the table.
CREATE FUNCTION @extschema@._apply_restriction_policy(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    ts record;
    expr text := '';
    linkcol text;
    linktype regtype;
BEGIN
    FOR ts IN SELECT t.*, s.root_table, s.key_column AS root_key
                FROM privacy.table_subject t JOIN privacy.subject_type s ON s.name = t.subject_type
               WHERE t.relid = tbl ORDER BY t.subject_type LOOP
        IF ts.key_column IS NOT NULL THEN
            linkcol := ts.key_column;
        ELSE
            IF jsonb_array_length(ts.via_columns -> 0 -> 'columns') <> 1 THEN
                RAISE EXCEPTION 'cannot restrict subjects of table "%": its foreign key to "%" has several columns',
                                tbl, ts.via[1]
                    USING ERRCODE = 'feature_not_supported',
                          HINT = 'Register the table with a key column instead.';
            END IF;
            linkcol := ts.via_columns -> 0 -> 'columns' ->> 0;
        END IF;
        linktype := privacy._column_type(tbl, linkcol);
        IF 'privacy.bsn'::regtype IN (linktype, (SELECT t.typbasetype FROM pg_type t WHERE t.oid = linktype)) THEN
            RAISE EXCEPTION 'cannot restrict subjects of table "%": it links to them by a BSN', tbl
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'The restriction policy compares the link column, and BSNs may not be compared by the roles it hides rows from.',
                      HINT = 'Key subject types and link tables by a surrogate key, not by the BSN.';
        END IF;
        expr := expr || format(' AND (privacy.restriction_none(%L) OR NOT coalesce(%I = ANY (privacy.restricted_values(%L, %L::regclass, NULL::%s)), false))',
                               ts.subject_type, linkcol, ts.subject_type, tbl::oid::text, linktype);
    END LOOP;
    IF expr = '' THEN
        RETURN;
    END IF;
    expr := substr(expr, 6);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', tbl);
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'privacy_base') THEN
        EXECUTE format('CREATE POLICY privacy_base ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)',
                       tbl);
    END IF;
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'privacy_restrict') THEN
        EXECUTE format('DROP POLICY privacy_restrict ON %s', tbl);
    END IF;
    -- reads and writes: processing of a restricted subject stops, also new
    -- rows linked to them
    EXECUTE format('CREATE POLICY privacy_restrict ON %s AS RESTRICTIVE FOR ALL TO PUBLIC USING (%s)',
                   tbl, expr);
END
$$;
COMMENT ON FUNCTION @extschema@._apply_restriction_policy(regclass) IS
'Enable row-level security on a registered table and (re)create its privacy_restrict policy';

CREATE FUNCTION @extschema@.restrict_subject(subject_type text, subject_key text, reason text,
                                             restricted_until date DEFAULT NULL,
                                             request_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    id bigint;
    t regclass;
    keytype regtype;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to restrict a data subject'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only members of the privacy officer role may restrict processing.';
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a restriction needs a reason' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF restricted_until < CURRENT_DATE THEN
        RAISE EXCEPTION 'a restriction cannot end in the past' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR t IN SELECT ts.relid FROM privacy.table_subject ts
              WHERE ts.subject_type = restrict_subject.subject_type
                AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = ts.relid
                                   AND p.polname = 'privacy_restrict') LOOP
        PERFORM privacy._apply_restriction_policy(t);
    END LOOP;
    SELECT r.id INTO id FROM privacy.restriction r
     WHERE r.subject_type = restrict_subject.subject_type AND r.subject_key = k AND r.lifted_at IS NULL
       AND r.restricted_until IS NOT DISTINCT FROM restrict_subject.restricted_until;
    IF FOUND THEN
        RETURN id;
    END IF;
    INSERT INTO privacy.restriction (subject_type, subject_key, reason, restricted_until, created_by)
    VALUES (subject_type, k, reason, restricted_until, privacy._calling_role()::name)
    RETURNING restriction.id INTO id;
    SELECT privacy._column_type(s.root_table, s.key_column) INTO keytype
      FROM privacy.subject_type s WHERE s.name = restrict_subject.subject_type;
    PERFORM privacy.audit_append('rights.restrict', subject_type, subject_type,
                                 CASE WHEN keytype = 'privacy.bsn'::regtype THEN NULL ELSE k END,
                                 jsonb_build_object('restriction', id, 'until', restricted_until,
                                                    'request', request_id));
    PERFORM privacy._notify_recipients(subject_type, k, 'restriction',
                                       jsonb_build_object('until', restricted_until));
    IF request_id IS NOT NULL THEN
        PERFORM privacy._close_subject_request(request_id, subject_type, k, 'restriction',
                                               jsonb_build_object('restriction', id));
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.restrict_subject(text, text, text, date, bigint) IS
'Restrict processing of a subject: their rows in every registered table are hidden from everyone but the privacy officer; recipients are notified; audited';

CREATE FUNCTION @extschema@.lift_restriction(restriction_id bigint)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    r privacy.restriction;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to lift a restriction' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE privacy.restriction SET lifted_at = pg_catalog.now(), lifted_by = privacy._calling_role()::name
     WHERE id = restriction_id AND lifted_at IS NULL
    RETURNING * INTO r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active restriction with id %', restriction_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy.audit_append('rights.restrict.lift', r.subject_type, r.subject_type, NULL,
                                 jsonb_build_object('restriction', r.id));
END
$$;
COMMENT ON FUNCTION @extschema@.lift_restriction(bigint) IS
'Lift a restriction of processing; audited';

-- Close a request a rights function fulfilled, checking it is an open
-- request of that kind for that subject.
CREATE FUNCTION @extschema@._close_subject_request(request_id bigint, subject_type text, subject_key text,
                                                   kind text, result jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM privacy.request q WHERE q.id = request_id AND q.status = 'open'
                      AND q.subject_type = _close_subject_request.subject_type
                      AND q.subject_key = _close_subject_request.subject_key
                      AND q.kind = _close_subject_request.kind) THEN
        RAISE EXCEPTION 'request % is not an open % request of this subject', request_id, kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM privacy.close_request(request_id, 'fulfilled', result);
END
$$;
COMMENT ON FUNCTION @extschema@._close_subject_request(bigint, text, text, text, jsonb) IS
'Close an open request of a kind for a subject as fulfilled, with the result';

-- Erasure (AVG art. 17)

-- Registered tables of a subject type, tables that reference others first.
CREATE FUNCTION @extschema@._subject_tables(subject_type text)
RETURNS TABLE (relid regclass, ord integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
    WITH RECURSIVE walk(start, cur, depth) AS (
        SELECT t.relid::oid, t.relid::oid, 0 FROM privacy.table_subject t WHERE t.subject_type = $1
        UNION
        SELECT w.start, c.confrelid, w.depth + 1
          FROM walk w JOIN pg_constraint c ON c.contype = 'f' AND c.conrelid = w.cur
         WHERE c.confrelid <> c.conrelid AND w.depth < 16
    )
    SELECT w.start::regclass, (row_number() OVER (ORDER BY max(w.depth) DESC, w.start::regclass::text))::integer
      FROM walk w GROUP BY w.start
$$;
COMMENT ON FUNCTION @extschema@._subject_tables(text) IS
'The registered tables of a subject type in erasure order: referencing tables before referenced ones';

-- The SQL an erasure runs on one table of a subject type, kept in the
-- backend's SQL cache: the FROM clause (subjects joined only where a rule
-- names them), the subject's condition, the retention duty and
-- anonymization of each row, the references from other tables and from
-- the table itself, and the holds of the table's other subject types.
CREATE FUNCTION @extschema@._erase_sql(tbl regclass, subject_type text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    cache_key text := format('erase:%s:%s', tbl::oid, subject_type);
    cached jsonb := privacy._sql_cache_get(cache_key)::jsonb;
    from_sql text;
    subj text;
    duty text := 'NULL::date';
    anon text := 'NULL::text';
    refd text := 'false';
    selfref text;
    other_held text;
    anon_rules jsonb := '{}';
    ru record;
    p record;
    c record;
BEGIN
    IF cached IS NOT NULL THEN
        RETURN cached;
    END IF;
    from_sql := privacy._rule_from(tbl,
        ARRAY(SELECT t.subject_type FROM privacy.table_subject t
               WHERE t.relid = tbl
                 AND EXISTS (SELECT FROM privacy.retention_rule rr
                              WHERE rr.relid = tbl
                                AND (position(t.subject_type IN coalesce(rr.condition, '')) > 0
                                     OR position(t.subject_type IN rr.start_expr) > 0))));
    subj := privacy._subject_where(tbl, subject_type);
    -- the retention duties of the table's rules, and their anonymizations
    FOR ru IN SELECT r.name, r.start_expr, d.rounding, d.min_keep, d.action
                FROM privacy.retention_rule r JOIN privacy.document_type d ON d.name = r.document_type
               WHERE r.relid = tbl ORDER BY r.name LOOP
        SELECT * INTO p FROM privacy._rule_sql(ru.name);
        IF ru.min_keep IS NOT NULL THEN
            duty := format(E'GREATEST(%s, CASE WHEN %s THEN coalesce((privacy.retention_clock((%s\n)::date, %L) + %L::interval)::date, ''infinity''::date) END)',
                           duty, p.cond_sql, ru.start_expr, ru.rounding, ru.min_keep);
        END IF;
        IF ru.action = 'anonymize' THEN
            anon := format('CASE WHEN %s THEN CASE WHEN %s THEN %L ELSE ''done'' END ELSE %s END',
                           p.cond_sql, p.pending_sql, ru.name, anon);
            anon_rules := anon_rules || jsonb_build_object(ru.name, p.set_sql);
        END IF;
    END LOOP;
    -- rows that also belong to another subject under a legal hold
    SELECT coalesce(string_agg(privacy._held_sql(tbl, t.subject_type), ' OR '), 'false')
      INTO other_held
      FROM privacy.table_subject t
     WHERE t.relid = tbl AND t.subject_type <> _erase_sql.subject_type;
    -- rows still referenced by rows of other tables (this table's own
    -- references are settled below, once it is known which rows stay)
    FOR c IN SELECT * FROM privacy._references_to(tbl) LOOP
        IF c.child = tbl THEN
            selfref := concat_ws(' OR ', selfref, c.cond);
        ELSE
            refd := refd || format(' OR EXISTS (SELECT 1 FROM %s x WHERE %s)', c.child, c.cond);
        END IF;
    END LOOP;

    -- the statements themselves: the subject's rows, locked and sorted by
    -- what happens to them; the self-references that keep rows; the
    -- actions, run as the table's owner on the rows' tuple ids
    cached := jsonb_build_object(
        'main', format(
            'WITH rows AS (
                 SELECT r.tableoid AS toid, r.ctid AS tid, d.duty, a.anon, (%s) AS refd, (%s) AS held
                   FROM %s
                   CROSS JOIN LATERAL (SELECT %s AS duty) d
                   CROSS JOIN LATERAL (SELECT %s AS anon) a
                  WHERE %s
                    FOR UPDATE OF r
             )
             SELECT CASE WHEN held THEN ''kept_held''
                         WHEN coalesce(duty > CURRENT_DATE, false) THEN ''kept_duty''
                         WHEN anon IS NOT NULL THEN ''anonymize''
                         WHEN refd THEN ''kept_ref''
                         ELSE ''delete'' END AS what,
                    anon, count(*) AS n, max(duty) AS until, array_agg(tid) AS tids, array_agg(toid) AS oids
               FROM rows GROUP BY 1, 2',
            refd, other_held, from_sql, duty, anon, subj),
        'selfref', CASE WHEN selfref IS NOT NULL THEN format(
            'SELECT array_agg(r.ctid), array_agg(r.tableoid)
               FROM %s r
              WHERE (r.tableoid, r.ctid) IN (SELECT o, t FROM unnest($2, $1) u(o, t))
                AND EXISTS (SELECT 1 FROM %s x
                             WHERE (%s)
                               AND (x.tableoid, x.ctid) NOT IN (SELECT o, t FROM unnest($2, $1) u(o, t)))',
            tbl, tbl, selfref) END,
        'delete', format('DELETE FROM %s t WHERE t.ctid = ANY ($1) AND (t.tableoid, t.ctid) IN (SELECT * FROM unnest($2, $1))',
                         tbl),
        'simple', duty = 'NULL::date' AND anon = 'NULL::text' AND refd = 'false' AND selfref IS NULL
                  AND other_held = 'false',
        'anonymize', (SELECT coalesce(jsonb_object_agg(x.key, format(
                          'UPDATE %s t SET %s WHERE t.ctid = ANY ($1) AND (t.tableoid, t.ctid) IN (SELECT * FROM unnest($2, $1))',
                          tbl, x.value)), '{}')
                        FROM jsonb_each_text(anon_rules) x));
    PERFORM privacy._sql_cache_put(cache_key, cached::text);
    RETURN cached;
END
$$;
COMMENT ON FUNCTION @extschema@._erase_sql(regclass, text) IS
'The SQL pieces an erasure runs on one table of a subject type';

-- What an erasure of a subject type runs, kept in the backend's SQL cache:
-- its tables parents first (erasure runs them the other way round); one
-- statement that locks the subject's rows in all of them, parents first,
-- returning how many each has; and for the tables where nothing can be
-- kept (no retention duty or anonymization, no references to them, no
-- other subject type) and that hold the subject's key, a plain DELETE of
-- the subject's rows.
CREATE FUNCTION @extschema@._erase_program(subject_type text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    cache_key text := 'erase_program:' || subject_type;
    cached jsonb := privacy._sql_cache_get(cache_key)::jsonb;
BEGIN
    IF cached IS NOT NULL THEN
        RETURN cached;
    END IF;
    SELECT jsonb_build_object(
               'tables', coalesce(jsonb_agg(t.relid::oid ORDER BY t.ord DESC), '[]'),
               'direct', coalesce(jsonb_object_agg(t.relid::oid, format('DELETE FROM %s%s r WHERE %s',
                                                                              privacy._only(t.relid), t.relid, d.cond))
                                  FILTER (WHERE d.cond IS NOT NULL
                                            AND (privacy._erase_sql(t.relid, _erase_program.subject_type) ->> 'simple')::boolean),
                                  '{}'),
               'lock', 'SELECT ARRAY[' || coalesce(string_agg(format(
                   '(SELECT count(*) FROM (SELECT 1 FROM %s%s r WHERE %s FOR UPDATE OF r) l)',
                   privacy._only(t.relid), t.relid, privacy._subject_where(t.relid, _erase_program.subject_type)),
                   ', ' ORDER BY t.ord DESC),
                   '') || ']::bigint[]')
      INTO cached
      FROM privacy._subject_tables(subject_type) t
      -- the plain delete runs as the table's owner, so its condition reads
      -- no other table: the key column, or a foreign key to the root's key
      CROSS JOIN LATERAL (
          SELECT CASE WHEN p.steps = 0 THEN format('r.%I = $1::%s', p.key_column, p.keytype)
                      WHEN p.steps = 1 AND p.ref_columns = ARRAY[p.root_key::text]
                           AND cardinality(p.link_columns) = 1
                      THEN format('r.%I = $1::%s', p.link_columns[1], p.keytype) END AS cond
            FROM privacy._subject_path(t.relid, _erase_program.subject_type) p) d;
    PERFORM privacy._sql_cache_put(cache_key, cached::text);
    RETURN cached;
END
$$;
COMMENT ON FUNCTION @extschema@._erase_program(text) IS
'The tables an erasure of a subject type visits and the statement that locks a subject''s rows in them';

-- Erase one subject's rows (src/erasure.c runs the statements of the two
-- functions above): in each table, rows under a retention duty (a document
-- type's minimum keep period that has not passed, or whose clock has not
-- started) are kept; rows of an anonymizing document type are anonymized;
-- rows that other rows still reference are kept; the rest is deleted.
CREATE FUNCTION @extschema@._erase_tables(subject_type text, subject_key text,
                                          OUT result jsonb, OUT audited jsonb, OUT changed bigint,
                                          OUT kept bigint, OUT erasable_from date, OUT kept_for_now boolean)
AS 'MODULE_PATHNAME', 'privacy_erase_tables'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._erase_tables(text, text) IS
'Lock a subject''s rows and erase them table by table, children first, keeping what a retention duty, a reference or another subject''s hold keeps; returns what happened per table and the totals';

CREATE FUNCTION @extschema@.erase_subject(subject_type text, subject_key text, reason text,
                                          dry_run boolean DEFAULT false, request_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    k text := privacy._subject_key(subject_type, subject_key);
    keytype regtype;
    res jsonb := '[]';
    audited jsonb := '[]';   -- res with counts of kept rows
    one record;
    changed bigint := 0;
    kept bigint := 0;
    until date;
    forever boolean := false;
    holds text;
    restriction bigint;
    notified integer := 0;
    summary jsonb;
BEGIN
    IF NOT privacy._calling_role_is_officer() THEN
        RAISE EXCEPTION 'permission denied to erase a data subject'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only members of the privacy officer role may erase a subject''s data.';
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'an erasure needs its legal ground as reason'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example: art. 17(1)(a), no longer needed; art. 17(1)(b), consent withdrawn.';
    END IF;
    SELECT nullif(array_to_string(privacy._active_holds(subject_type, k, true), ', '), '') INTO holds;
    IF holds IS NOT NULL THEN
        RAISE EXCEPTION 'subject is under a legal hold'
            USING ERRCODE = 'object_in_use',
                  DETAIL = format('Legal hold %s keeps every row of this subject; nothing was erased.', holds),
                  HINT = 'Release the hold with privacy.release_hold() once it no longer applies.';
    END IF;
    SELECT privacy._column_type(s.root_table, s.key_column) INTO keytype
      FROM privacy.subject_type s WHERE s.name = erase_subject.subject_type;

    -- everything in one block, undone for a dry run
    BEGIN
        -- lock the subject's rows, then erase them children first
        one := privacy._erase_tables(subject_type, k);
        res := one.result;
        audited := one.audited;
        changed := one.changed;
        kept := one.kept;
        until := one.erasable_from;
        forever := one.kept_for_now;
        IF dry_run THEN
            RAISE EXCEPTION USING ERRCODE = 'PPD02';
        END IF;
    EXCEPTION WHEN SQLSTATE 'PPD02' THEN
        NULL;
    END;

    summary := jsonb_build_object('subject_type', subject_type, 'dry_run', dry_run, 'reason', reason,
                                  'changed', changed, 'kept', kept, 'tables', res);
    IF dry_run THEN
        RETURN summary;
    END IF;

    -- what is kept is restricted until the last duty ends (or until
    -- lifted); the restriction of an earlier erasure gives way to it.
    -- (Any statement on the catalog, even one changing nothing, makes
    -- every backend drop what it built from the catalogs: check first.)
    IF EXISTS (SELECT FROM privacy.restriction r
                WHERE r.subject_type = erase_subject.subject_type AND r.subject_key = k AND r.lifted_at IS NULL
                  AND r.reason = 'erasure requested; kept only as long as the law demands'
                  AND (kept = 0 OR r.restricted_until IS DISTINCT FROM CASE WHEN forever THEN NULL ELSE until END)) THEN
        UPDATE privacy.restriction r SET lifted_at = pg_catalog.now(), lifted_by = privacy._calling_role()::name
         WHERE r.subject_type = erase_subject.subject_type AND r.subject_key = k AND r.lifted_at IS NULL
           AND r.reason = 'erasure requested; kept only as long as the law demands'
           AND (kept = 0 OR r.restricted_until IS DISTINCT FROM CASE WHEN forever THEN NULL ELSE until END);
    END IF;
    IF kept > 0 THEN
        restriction := privacy.restrict_subject(subject_type, k,
                                                'erasure requested; kept only as long as the law demands',
                                                CASE WHEN forever THEN NULL ELSE until END);
    END IF;
    IF changed > 0 THEN
        notified := privacy._notify_recipients(subject_type, k, 'erasure',
                                               jsonb_build_object('request', request_id));
    END IF;
    summary := summary || jsonb_build_object('restriction', restriction, 'notifications', notified);
    PERFORM privacy.audit_append('rights.erase', subject_type, subject_type,
                                 CASE WHEN keytype = 'privacy.bsn'::regtype THEN NULL ELSE k END,
                                 jsonb_build_object('reason', reason, 'request', request_id,
                                                    'tables', audited));
    IF request_id IS NOT NULL THEN
        PERFORM privacy._close_subject_request(request_id, subject_type, k, 'erasure', summary);
    END IF;
    RETURN summary;
END
$$;
COMMENT ON FUNCTION @extschema@.erase_subject(text, text, text, boolean, bigint) IS
'Erase a subject in one transaction: rows under a retention duty are kept and restricted, the rest deleted or anonymized (children first); refused under a legal hold; recipients notified; audited with counts';

REVOKE EXECUTE ON FUNCTION
    @extschema@._restricted_links(text, regclass, text[]),
    @extschema@._apply_restriction_policy(regclass),
    @extschema@.restrict_subject(text, text, text, date, bigint),
    @extschema@.lift_restriction(bigint),
    @extschema@._close_subject_request(bigint, text, text, text, jsonb),
    @extschema@._subject_tables(text),
    @extschema@._erase_sql(regclass, text),
    @extschema@._erase_program(text),
    @extschema@._erase_tables(text, text),
    @extschema@.erase_subject(text, text, text, boolean, bigint)
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.restriction TO %I, %I', admin, officer);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.restrict_subject(text, text, text, date, bigint), '
        'privacy.lift_restriction(bigint), '
        'privacy.erase_subject(text, text, text, boolean, bigint) TO %I', officer);
END
$$;

-- Rectification (AVG art. 16, 19): which columns of a subject's rows
-- changed, when and by whom; never the values

CREATE SEQUENCE @extschema@.rectification_seq;
CREATE TABLE @extschema@.rectification (
    id            bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.rectification_seq'),
    subject_type  text        NOT NULL,
    subject_key   text,
    tbl           text        NOT NULL,
    columns       name[]      NOT NULL,
    rows          bigint      NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    changed_by    name        NOT NULL,
    actor         text
);
CREATE INDEX rectification_subject_idx ON @extschema@.rectification (subject_type, subject_key);
COMMENT ON TABLE @extschema@.rectification IS
'Changes to subjects'' rows in registered tables: the columns that changed, when and by whom, never the values; subject_key is empty for subjects keyed by a BSN';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rectification', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rectification_seq', '');
REVOKE ALL ON @extschema@.rectification FROM PUBLIC;

-- The subject key of a row (alias n) of a registered table, as text: the
-- key column, or the root's key reached up the foreign-key path.
CREATE FUNCTION @extschema@._subject_key_sql(tbl regclass, subject_type text, alias text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    pth record;
BEGIN
    SELECT * INTO pth FROM privacy._subject_path(tbl, subject_type, alias);
    IF pth.keytype = 'privacy.bsn'::regtype THEN
        RETURN 'NULL::text';
    END IF;
    IF pth.key_column IS NOT NULL THEN
        RETURN format('(%I.%I)::text', alias, pth.key_column);
    END IF;
    RETURN format('(SELECT (s%s.%I)::text FROM %s WHERE %s)', pth.steps, pth.root_key, pth.joins, pth.link);
END
$$;
COMMENT ON FUNCTION @extschema@._subject_key_sql(regclass, text, text) IS
'SQL for the subject key of a row of a registered table, as text (NULL for subjects keyed by a BSN)';

-- The statement trigger on registered tables: after an UPDATE, record per
-- subject which columns changed, and queue notifications for the
-- recipients that received the subject's data.
CREATE FUNCTION @extschema@.rectification_trigger()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    tbl regclass := TG_RELID;
    pk text;
    diff text;
    st text;
    rec record;
BEGIN
    IF NOT EXISTS (SELECT FROM privacy_new) THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('o.%1$I = n.%1$I', a.attname), ' AND ')
      INTO pk
      FROM pg_index i CROSS JOIN unnest(i.indkey) k(num)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
     WHERE i.indrelid = tbl AND i.indisprimary;
    IF pk IS NULL THEN
        RETURN NULL;        -- rows cannot be paired without a primary key
    END IF;
    SELECT string_agg(format('CASE WHEN o.%1$I IS DISTINCT FROM n.%1$I THEN %1$L::name END', a.attname), ', ')
      INTO diff
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    FOR st IN SELECT t.subject_type FROM privacy.table_subject t WHERE t.relid = tbl ORDER BY 1 LOOP
        -- a row that moved from one subject to another changed for both
        FOR rec IN EXECUTE format(
            'SELECT k, cols, count(*) AS n FROM (
                 SELECT k.k,
                        ARRAY(SELECT c FROM unnest(ARRAY[%s]) c WHERE c IS NOT NULL ORDER BY 1) AS cols
                   FROM privacy_new n JOIN privacy_old o ON %s
                  CROSS JOIN LATERAL (SELECT DISTINCT x FROM unnest(ARRAY[%s, %s]) x) k(k)) s
              WHERE cardinality(cols) > 0
              GROUP BY k, cols', diff, pk, privacy._subject_key_sql(tbl, st, 'n'),
            privacy._subject_key_sql(tbl, st, 'o')) LOOP
            INSERT INTO privacy.rectification (subject_type, subject_key, tbl, columns, rows, changed_by, actor)
            VALUES (st, rec.k, tbl::text, rec.cols, rec.n, privacy._calling_role()::name,
                    nullif(current_setting('privacy.actor', true), ''));
            IF rec.k IS NOT NULL THEN
                PERFORM privacy._notify_recipients(st, rec.k, 'rectification',
                                                   jsonb_build_object('table', tbl::text, 'columns', rec.cols));
            END IF;
        END LOOP;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.rectification_trigger() IS
'Trigger on registered tables: records which columns of which subject changed (never the values) and notifies the recipients of that subject''s data';

CREATE FUNCTION @extschema@._apply_rectification(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'privacy_rectification') THEN
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('CREATE TRIGGER privacy_rectification AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS privacy_old NEW TABLE AS privacy_new '
                       'FOR EACH STATEMENT EXECUTE FUNCTION privacy.rectification_trigger()', tbl);
    EXCEPTION WHEN feature_not_supported OR wrong_object_type THEN
        -- tables with inheritance children cannot have transition tables
        RAISE NOTICE 'changes to "%" are not recorded as rectifications: %', tbl, SQLERRM;
    END;
END
$$;
COMMENT ON FUNCTION @extschema@._apply_rectification(regclass) IS
'Create the rectification trigger of a registered table';

REVOKE EXECUTE ON FUNCTION
    @extschema@._subject_key_sql(regclass, text, text),
    @extschema@._apply_rectification(regclass)
FROM PUBLIC;
DO $$
DECLARE
    admin text := coalesce(nullif(current_setting('privacy.admin_role', true), ''), 'privacy_admin');
    officer text := coalesce(nullif(current_setting('privacy.officer_role', true), ''), 'privacy_officer');
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.rectification TO %I, %I', admin, officer);
END
$$;
