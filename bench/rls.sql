-- Row-level authorization benchmark data: the same rows three times, over 50
-- branches, scoped by the extension's policy (rls_ext), by a hand-written
-- native policy with the same predicate (rls_native), and not at all
-- (rls_plain).  The role bench_rls sees branches 7 and 8.
-- psql variables: rows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE ROLE bench_rls LOGIN;
CREATE SCHEMA rls;
GRANT USAGE ON SCHEMA rls TO bench_rls;

CREATE TABLE rls.rls_plain (id int PRIMARY KEY, branch_id int NOT NULL, payload text NOT NULL);
INSERT INTO rls.rls_plain
SELECT g, g % 50 + 1, md5(g::text) FROM generate_series(1, :rows) g;
CREATE INDEX ON rls.rls_plain (branch_id);
CREATE TABLE rls.rls_ext (LIKE rls.rls_plain INCLUDING ALL);
INSERT INTO rls.rls_ext SELECT * FROM rls.rls_plain;
CREATE TABLE rls.rls_native (LIKE rls.rls_plain INCLUDING ALL);
INSERT INTO rls.rls_native SELECT * FROM rls.rls_plain;
GRANT SELECT ON rls.rls_plain, rls.rls_ext, rls.rls_native TO bench_rls;

-- the extension's policy
SELECT privacy.register_subject_type('bench_person', 'rls.rls_ext', 'id');
SELECT privacy.register_table('rls.rls_ext', 'bench_person', scope_column => 'branch_id');
SELECT privacy.grant_scope('bench_rls', '7');
SELECT privacy.grant_scope('bench_rls', '8');

-- the hand-written policy a DBA would write for the same role
ALTER TABLE rls.rls_native ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls.rls_native FORCE ROW LEVEL SECURITY;
CREATE POLICY branch_scope ON rls.rls_native TO bench_rls
    USING (branch_id = ANY ('{7,8}'::int[]));

-- identifiers of rows the role sees, for lookups: id % 50 + 1 is 7 or 8
CREATE TABLE rls.visible_ids (i int PRIMARY KEY, id int NOT NULL);
INSERT INTO rls.visible_ids
SELECT row_number() OVER (ORDER BY id), id FROM rls.rls_plain WHERE branch_id IN (7, 8);
GRANT SELECT ON rls.visible_ids TO bench_rls;

VACUUM ANALYZE rls.rls_plain, rls.rls_ext, rls.rls_native, rls.visible_ids;
