-- Attack: the owner of a registered, scoped table (outside privacy_admin)
-- switches row-level authorization off for reading by making the table a
-- child of a table of their own (ALTER TABLE ... INHERIT) or a partition of
-- a partitioned table of their own (ATTACH PARTITION).  A query on the
-- parent applies only the parent's policies, and the parent has none: every
-- branch's rows are read.  The DDL guard checks DISABLE/NO FORCE ROW LEVEL
-- SECURITY and policies, but not INHERIT, and ATTACH PARTITION names the
-- parent, which is not registered.  The owner may then GRANT SELECT on the
-- parent to anyone.
--
-- Closed: the DDL guard refuses INHERIT and ATTACH PARTITION of a scoped
-- registered table to roles outside the privacy admin role.
BEGIN;
SELECT plan(5);

SET client_min_messages = warning;
CREATE ROLE aoi_owner;
CREATE ROLE aoi_clerk;
GRANT CREATE, USAGE ON SCHEMA public TO aoi_owner;
CREATE TABLE public.aoi_cases (id int PRIMARY KEY, branch_id smallint NOT NULL, secret text);
INSERT INTO public.aoi_cases VALUES (1, 12, 'utrecht'), (2, 1, 'amsterdam'), (3, 1, 'amsterdam 2');
ALTER TABLE public.aoi_cases OWNER TO aoi_owner;
SELECT privacy.register_subject_type('aoi_case', 'public.aoi_cases', 'id');
SELECT privacy.register_table('public.aoi_cases', 'aoi_case', key_column => 'id', scope_column => 'branch_id');
SELECT privacy.grant_scope('aoi_clerk', '12');
RESET client_min_messages;

SET ROLE aoi_owner;
SELECT is((SELECT count(*) FROM public.aoi_cases), 0::bigint,
          'the owner, holding no scope, sees no rows of the registered table');

CREATE TABLE public.aoi_parted (LIKE public.aoi_cases) PARTITION BY LIST (branch_id);
SELECT throws_ok($$ALTER TABLE public.aoi_parted ATTACH PARTITION public.aoi_cases DEFAULT$$, '42501', NULL,
                 'the owner may not attach a scoped table as a partition of an unscoped table');
SELECT is((SELECT count(*) FROM public.aoi_parted), 0::bigint,
          'the owner does not read the scoped rows through a partitioned parent');
-- undo a successful attach, so that the next case starts from the same table
DO $$ BEGIN ALTER TABLE public.aoi_parted DETACH PARTITION public.aoi_cases; EXCEPTION WHEN others THEN NULL; END $$;

CREATE TABLE public.aoi_parent (LIKE public.aoi_cases);
SELECT throws_ok($$ALTER TABLE public.aoi_cases INHERIT public.aoi_parent$$, '42501', NULL,
                 'the owner may not make a scoped table inherit from an unscoped one');
SELECT is((SELECT count(*) FROM public.aoi_parent), 0::bigint,
          'the owner does not read the scoped rows through an inheritance parent');

RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
