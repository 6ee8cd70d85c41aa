-- Data-subject rights benchmark data: the demo's staffing agency
-- (demo/generate.sql) with :scale candidates, registered for subject type
-- candidate as demo/run.sh registers it, with the demo's retention rules
-- (ID copies, payslips, timesheets), so that an erasure weighs the
-- retention duties of every row.
--
--   rights_bench.export(id)     the hand-written export: the same rows as
--                               privacy.export_subject's "data", as jsonb
--   rights_bench.sample         :n candidates, drawn with seed :seed, that
--                               an erasure removes completely (its dry run
--                               keeps nothing), with their rows saved in
--                               rights_bench.saved_<table>
--   rights_bench.restore(id)    puts a sampled candidate's rows back after
--                               an erasure or the hand-written DELETEs
--   rights_bench.left_over(id)  how many of the candidate's rows exist
--
-- psql variables: scale, n, seed.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

\ir ../demo/generate.sql
SELECT agency.generate(:scale) IS NOT NULL AS generated;
VACUUM ANALYZE agency.candidates, agency.employees, agency.placements, agency.documents,
               agency.timesheets, agency.sick_leave, agency.photos, agency.notes;

SELECT privacy.register_subject_type('candidate', 'agency.candidates', 'id',
                                     'Kandidaten: people registered with the agency');
SELECT count(*) AS registered FROM (
  SELECT privacy.register_table(tbl, 'candidate', key_column, via, scope_column, scope_through => scope_through)
    FROM privacy.propose_registrations('candidate')) r;

SELECT privacy.load_retention_preset('nl_staffing') >= 0 AS preset;
SELECT privacy.create_retention_rule('candidate_id_copies', 'agency.documents', 'candidate_id_copy',
    start_expr => 'created_at',
    condition => $$doc_type = 'id_copy' AND NOT EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('employee_id_copies', 'agency.documents', 'employee_id_copy',
    start_expr => $$(SELECT max(e.employment_end) FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$,
    condition => $$doc_type = 'id_copy' AND EXISTS (SELECT FROM agency.employees e WHERE e.candidate_id = r.candidate_id)$$);
SELECT privacy.create_retention_rule('payslips', 'agency.documents', 'payroll_record',
    start_expr => 'created_at', condition => $$doc_type = 'payslip'$$);
SELECT privacy.create_retention_rule('timesheets', 'agency.timesheets', 'working_time_record',
    start_expr => 'week_start');

CREATE SCHEMA rights_bench;

-- The hand-written export: per registered table, its rows of the candidate
-- along the foreign keys, aggregated as privacy.export_subject aggregates
-- them.
CREATE FUNCTION rights_bench.export(c bigint) RETURNS jsonb
LANGUAGE sql STABLE
RETURN jsonb_build_object(
    'agency.candidates', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.candidates t WHERE t.id = c),
    'agency.documents', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.documents t WHERE t.candidate_id = c),
    'agency.employees', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.employees t WHERE t.candidate_id = c),
    'agency.notes', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.notes t WHERE t.candidate_id = c),
    'agency.photos', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.photos t WHERE t.candidate_id = c),
    'agency.placements', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.placements t WHERE t.candidate_id = c),
    'agency.sick_leave', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.sick_leave t
                           WHERE t.employee_id IN (SELECT e.id FROM agency.employees e WHERE e.candidate_id = c)),
    'agency.timesheets', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM agency.timesheets t
                           WHERE t.placement_id IN (SELECT p.id FROM agency.placements p WHERE p.candidate_id = c)));

-- the hand-written export gathers what the extension exports (the rows of
-- each table in any order)
CREATE FUNCTION rights_bench.by_id(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN (SELECT jsonb_object_agg(k, (SELECT coalesce(jsonb_agg(e ORDER BY (e ->> 'id')::bigint), '[]')
                                      FROM jsonb_array_elements(v) e))
          FROM jsonb_each(j) t(k, v));
DO $$
DECLARE
    c bigint;
BEGIN
    FOR c IN SELECT id FROM agency.candidates WHERE id % (SELECT greatest(count(*) / 20, 1) FROM agency.candidates) = 1 LOOP
        IF rights_bench.by_id(privacy.export_subject('candidate', c::text) -> 'data')
           IS DISTINCT FROM rights_bench.by_id(rights_bench.export(c)) THEN
            RAISE EXCEPTION 'the hand-written export of candidate % differs from privacy.export_subject', c;
        END IF;
    END LOOP;
END
$$;

-- The erasure sample: candidates drawn at random (seeded) whose erasure
-- keeps nothing, so that the hand-written DELETEs of all their rows remove
-- the same rows.  Candidates with rows under a retention duty (recent
-- payslips, timesheets, ID copies of employees) are left out.
CREATE TABLE rights_bench.sample (ord int PRIMARY KEY, id bigint NOT NULL UNIQUE, rows_total int NOT NULL);
SELECT set_config('rights_bench.n', :'n', false) IS NOT NULL AS n, setseed(:seed) IS NULL AS seeded;
DO $$
DECLARE
    c bigint;
    res jsonb;
    n int := 0;
    wanted int := current_setting('rights_bench.n')::int;
BEGIN
    FOR c IN SELECT id FROM (SELECT id, random() AS k FROM agency.candidates ORDER BY id) s
              ORDER BY k LIMIT 20 * wanted LOOP
        res := privacy.erase_subject('candidate', c::text, 'sample', dry_run => true);
        CONTINUE WHEN (res ->> 'kept')::int > 0;
        n := n + 1;
        INSERT INTO rights_bench.sample VALUES (n, c, (res ->> 'changed')::int);
        EXIT WHEN n >= wanted;
    END LOOP;
END
$$;

CREATE TABLE rights_bench.saved_candidates AS
    SELECT t.* FROM agency.candidates t JOIN rights_bench.sample s ON s.id = t.id;
CREATE TABLE rights_bench.saved_employees AS
    SELECT t.* FROM agency.employees t JOIN rights_bench.sample s ON s.id = t.candidate_id;
CREATE TABLE rights_bench.saved_placements AS
    SELECT t.* FROM agency.placements t JOIN rights_bench.sample s ON s.id = t.candidate_id;
CREATE TABLE rights_bench.saved_documents AS
    SELECT t.* FROM agency.documents t JOIN rights_bench.sample s ON s.id = t.candidate_id;
CREATE TABLE rights_bench.saved_notes AS
    SELECT t.* FROM agency.notes t JOIN rights_bench.sample s ON s.id = t.candidate_id;
CREATE TABLE rights_bench.saved_photos AS
    SELECT t.* FROM agency.photos t JOIN rights_bench.sample s ON s.id = t.candidate_id;
CREATE TABLE rights_bench.saved_sick_leave AS
    SELECT t.*, e.candidate_id AS saved_for FROM agency.sick_leave t JOIN rights_bench.saved_employees e ON e.id = t.employee_id;
CREATE TABLE rights_bench.saved_timesheets AS
    SELECT t.*, p.candidate_id AS saved_for FROM agency.timesheets t JOIN rights_bench.saved_placements p ON p.id = t.placement_id;
CREATE INDEX ON rights_bench.saved_candidates (id);
CREATE INDEX ON rights_bench.saved_employees (candidate_id);
CREATE INDEX ON rights_bench.saved_placements (candidate_id);
CREATE INDEX ON rights_bench.saved_documents (candidate_id);
CREATE INDEX ON rights_bench.saved_notes (candidate_id);
CREATE INDEX ON rights_bench.saved_photos (candidate_id);
CREATE INDEX ON rights_bench.saved_sick_leave (saved_for);
CREATE INDEX ON rights_bench.saved_timesheets (saved_for);

CREATE FUNCTION rights_bench.left_over(c bigint) RETURNS bigint
LANGUAGE sql STABLE
RETURN (SELECT count(*) FROM agency.candidates WHERE id = c)
     + (SELECT count(*) FROM agency.employees WHERE candidate_id = c)
     + (SELECT count(*) FROM agency.placements WHERE candidate_id = c)
     + (SELECT count(*) FROM agency.documents WHERE candidate_id = c)
     + (SELECT count(*) FROM agency.notes WHERE candidate_id = c)
     + (SELECT count(*) FROM agency.photos WHERE candidate_id = c)
     + (SELECT count(*) FROM agency.sick_leave s JOIN agency.employees e ON e.id = s.employee_id
         WHERE e.candidate_id = c)
     + (SELECT count(*) FROM agency.timesheets t JOIN agency.placements p ON p.id = t.placement_id
         WHERE p.candidate_id = c);

-- Put a sampled candidate's rows back, parents first; fails unless the
-- candidate was gone completely and comes back completely.
CREATE FUNCTION rights_bench.restore(c bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF rights_bench.left_over(c) <> 0 THEN
        RAISE EXCEPTION 'candidate % was not removed completely: % rows left', c, rights_bench.left_over(c);
    END IF;
    INSERT INTO agency.candidates SELECT * FROM rights_bench.saved_candidates WHERE id = c;
    INSERT INTO agency.employees SELECT * FROM rights_bench.saved_employees WHERE candidate_id = c;
    INSERT INTO agency.placements SELECT * FROM rights_bench.saved_placements WHERE candidate_id = c;
    INSERT INTO agency.documents SELECT * FROM rights_bench.saved_documents WHERE candidate_id = c;
    INSERT INTO agency.notes SELECT * FROM rights_bench.saved_notes WHERE candidate_id = c;
    INSERT INTO agency.photos SELECT * FROM rights_bench.saved_photos WHERE candidate_id = c;
    INSERT INTO agency.sick_leave SELECT id, employee_id, start_date, end_date
      FROM rights_bench.saved_sick_leave WHERE saved_for = c;
    INSERT INTO agency.timesheets SELECT id, placement_id, week_start, hours
      FROM rights_bench.saved_timesheets WHERE saved_for = c;
    IF rights_bench.left_over(c) <> (SELECT rows_total FROM rights_bench.sample WHERE id = c) THEN
        RAISE EXCEPTION 'candidate % was not restored completely', c;
    END IF;
END
$$;

ANALYZE rights_bench.sample;
CHECKPOINT;
