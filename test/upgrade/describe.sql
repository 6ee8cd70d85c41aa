-- Describes the installed pg_privacy over pg_catalog, one row per fact,
-- sorted, so that two databases can be compared with diff: an installation
-- updated from an older version must be described exactly like a fresh one.
--
-- Described: every member object of the extension; each function's
-- definition (pg_get_functiondef: arguments, result, language, volatility,
-- strictness, parallel marking, SECURITY DEFINER, SET clauses, cost, body),
-- each aggregate's parts; each view's definition; each table's columns (in
-- order, dropped columns left out), defaults, constraints, indexes,
-- row-level security flags, policies and triggers; sequences; types with
-- their I/O functions, domains' constraints and enum labels; operators;
-- operator classes and families with their members; casts; event
-- triggers; the grants on all of these (and on the schema and the columns);
-- their comments; and the extension's pg_extension_config_dump list.
--
-- Object identifiers never appear: objects are named, so the description
-- of a database does not depend on the order objects were created in.  The
-- roles the install script creates belong to the cluster and are not
-- described here.  The config dump list is compared as a set: its order
-- means nothing to pg_dump.

\pset format unaligned
\pset tuples_only on

-- a privilege list as its sorted items, NULL read as the default it means:
-- a GRANT followed by its REVOKE leaves the same privileges as neither
CREATE FUNCTION pg_temp.acl(acl pg_catalog.aclitem[], kind "char", owner pg_catalog.oid)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(pg_catalog.string_agg(a::text, ',' ORDER BY a::text), '-')
      FROM pg_catalog.unnest(CASE WHEN kind IS NULL THEN coalesce(acl, '{}')
                                  ELSE coalesce(acl, pg_catalog.acldefault(kind, owner)) END) a
$$;

WITH ext AS (
    SELECT e.oid, e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_privacy'
),
member AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid = ext.oid AND d.deptype = 'e'
),
rel AS (
    SELECT c.* FROM pg_catalog.pg_class c JOIN member m
        ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid = c.oid
),
fn AS (
    SELECT p.* FROM pg_catalog.pg_proc p JOIN member m
        ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid = p.oid
),
typ AS (
    SELECT t.* FROM pg_catalog.pg_type t JOIN member m
        ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND m.objid = t.oid
),
opr AS (
    SELECT o.* FROM pg_catalog.pg_operator o JOIN member m
        ON m.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND m.objid = o.oid
),
opf AS (
    SELECT f.* FROM pg_catalog.pg_opfamily f JOIN member m
        ON m.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND m.objid = f.oid
),
opc AS (
    SELECT c.* FROM pg_catalog.pg_opclass c JOIN member m
        ON m.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND m.objid = c.oid
),
facts(fact) AS (
    -- every member object
    SELECT 'member ' || pg_catalog.pg_describe_object(classid, objid, objsubid) FROM member
    -- the extension itself
    UNION ALL
    SELECT 'extension schema=' || e.extnamespace::pg_catalog.regnamespace
           || ' relocatable=' || e.extrelocatable || ' version=' || e.extversion
      FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_privacy'
    UNION ALL
    SELECT 'config dump ' || c.cfg::pg_catalog.regclass || ' condition=' || pg_catalog.quote_literal(c.cond)
      FROM pg_catalog.pg_extension e,
           unnest(e.extconfig, e.extcondition) AS c(cfg, cond)
     WHERE e.extname = 'pg_privacy'
    UNION ALL
    SELECT 'schema ' || n.nspname || ' owner=' || n.nspowner::pg_catalog.regrole
           || ' acl=' || pg_temp.acl(n.nspacl, 'n', n.nspowner)
      FROM pg_catalog.pg_namespace n, ext WHERE n.oid = ext.extnamespace
    -- functions and procedures
    UNION ALL
    SELECT 'function ' || p.oid::pg_catalog.regprocedure || ' acl=' || pg_temp.acl(p.proacl, 'f', p.proowner)
           || ' leakproof=' || p.proleakproof || E'\n' || pg_catalog.pg_get_functiondef(p.oid)
      FROM fn p WHERE p.prokind <> 'a'
    UNION ALL
    SELECT 'aggregate ' || p.oid::pg_catalog.regprocedure || ' acl=' || pg_temp.acl(p.proacl, 'f', p.proowner)
           || ' kind=' || a.aggkind::text || ' transfn=' || a.aggtransfn::pg_catalog.regprocedure
           || ' finalfn=' || a.aggfinalfn || ' combinefn=' || a.aggcombinefn
           || ' sortop=' || a.aggsortop::pg_catalog.regoperator
           || ' transtype=' || pg_catalog.format_type(a.aggtranstype, NULL)
           || ' initval=' || coalesce(a.agginitval, '-') || ' parallel=' || p.proparallel::text
      FROM fn p JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
    -- relations
    UNION ALL
    SELECT 'relation ' || c.oid::pg_catalog.regclass || ' kind=' || c.relkind::text
           || ' persistence=' || c.relpersistence::text || ' rls=' || c.relrowsecurity
           || ' forced=' || c.relforcerowsecurity || ' replident=' || c.relreplident::text
           || ' options=' || coalesce(c.reloptions::text, '-')
           || ' owner=' || c.relowner::pg_catalog.regrole
           || ' acl=' || pg_temp.acl(c.relacl, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
      FROM rel c
    UNION ALL
    SELECT 'view ' || c.oid::pg_catalog.regclass || E'\n' || pg_catalog.pg_get_viewdef(c.oid, true)
      FROM rel c WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'column ' || a.attrelid::pg_catalog.regclass || ' #'
           || pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)
           || ' ' || pg_catalog.quote_ident(a.attname)
           || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
           || ' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text
           || ' generated=' || a.attgenerated::text
           || ' default=' || coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '-')
           || ' collation=' || coalesce(a.attcollation::pg_catalog.regcollation::text, '-')
           || ' acl=' || pg_temp.acl(a.attacl, NULL, NULL)
      FROM pg_catalog.pg_attribute a
      JOIN rel c ON c.oid = a.attrelid
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint ' || coalesce(k.conrelid::pg_catalog.regclass::text, k.contypid::pg_catalog.regtype::text)
           || ' ' || pg_catalog.quote_ident(k.conname) || ' ' || k.contype::text
           || ' deferrable=' || k.condeferrable || '/' || k.condeferred
           || ' ' || pg_catalog.pg_get_constraintdef(k.oid)
      FROM pg_catalog.pg_constraint k
     WHERE k.conrelid IN (SELECT oid FROM rel) OR k.contypid IN (SELECT oid FROM typ)
    UNION ALL
    SELECT 'index ' || i.indrelid::pg_catalog.regclass || ' ' || pg_catalog.pg_get_indexdef(i.indexrelid)
           || ' clustered=' || i.indisclustered || ' replident=' || i.indisreplident
      FROM pg_catalog.pg_index i WHERE i.indrelid IN (SELECT oid FROM rel)
    UNION ALL
    SELECT 'policy ' || p.polrelid::pg_catalog.regclass || ' ' || pg_catalog.quote_ident(p.polname)
           || ' cmd=' || p.polcmd::text || ' permissive=' || p.polpermissive
           || ' roles=' || p.polroles::pg_catalog.regrole[]::text
           || ' using=' || coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '-')
           || ' check=' || coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '-')
      FROM pg_catalog.pg_policy p WHERE p.polrelid IN (SELECT oid FROM rel)
    UNION ALL
    SELECT 'trigger ' || t.tgrelid::pg_catalog.regclass || ' ' || pg_catalog.quote_ident(t.tgname)
           || ' enabled=' || t.tgenabled::text || ' ' || pg_catalog.pg_get_triggerdef(t.oid)
      FROM pg_catalog.pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rel) AND NOT t.tgisinternal
    UNION ALL
    SELECT 'rule ' || r.ev_class::pg_catalog.regclass || ' ' || pg_catalog.pg_get_ruledef(r.oid)
      FROM pg_catalog.pg_rewrite r
     WHERE r.ev_class IN (SELECT oid FROM rel) AND r.rulename <> '_RETURN'
    UNION ALL
    SELECT 'sequence ' || s.seqrelid::pg_catalog.regclass || ' type=' || s.seqtypid::pg_catalog.regtype
           || ' start=' || s.seqstart || ' increment=' || s.seqincrement || ' min=' || s.seqmin
           || ' max=' || s.seqmax || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle
           || ' owned by=' || coalesce((
                  SELECT d.refobjid::pg_catalog.regclass || '.' || a.attname
                    FROM pg_catalog.pg_depend d
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.seqrelid
                     AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                     AND d.deptype IN ('a', 'i')), '-')
      FROM pg_catalog.pg_sequence s WHERE s.seqrelid IN (SELECT oid FROM rel)
    -- types
    UNION ALL
    SELECT 'type ' || t.oid::pg_catalog.regtype || ' type=' || t.typtype::text || ' len=' || t.typlen
           || ' byval=' || t.typbyval || ' align=' || t.typalign::text || ' storage=' || t.typstorage::text
           || ' category=' || t.typcategory::text || ' preferred=' || t.typispreferred
           || ' delim=' || t.typdelim::text
           || ' input=' || t.typinput::pg_catalog.regprocedure::text
           || ' output=' || t.typoutput::pg_catalog.regprocedure::text
           || ' receive=' || t.typreceive || ' send=' || t.typsend
           || ' modin=' || t.typmodin || ' modout=' || t.typmodout || ' analyze=' || t.typanalyze
           || ' subscript=' || t.typsubscript
           || ' elem=' || t.typelem::pg_catalog.regtype || ' base=' || t.typbasetype::pg_catalog.regtype
           || ' notnull=' || t.typnotnull || ' default=' || coalesce(t.typdefault, '-')
           || ' collation=' || coalesce(t.typcollation::pg_catalog.regcollation::text, '-')
           || ' owner=' || t.typowner::pg_catalog.regrole
           || ' acl=' || pg_temp.acl(t.typacl, 'T', t.typowner)
      FROM typ t
    UNION ALL
    SELECT 'enum ' || e.enumtypid::pg_catalog.regtype || ' #'
           || pg_catalog.row_number() OVER (PARTITION BY e.enumtypid ORDER BY e.enumsortorder)
           || ' ' || e.enumlabel
      FROM pg_catalog.pg_enum e WHERE e.enumtypid IN (SELECT oid FROM typ)
    -- operators, operator classes and families
    UNION ALL
    SELECT 'operator ' || o.oid::pg_catalog.regoperator || ' kind=' || o.oprkind::text
           || ' result=' || o.oprresult::pg_catalog.regtype
           || ' code=' || o.oprcode::pg_catalog.regprocedure::text
           || ' restrict=' || o.oprrest || ' join=' || o.oprjoin
           || ' commutator=' || o.oprcom::pg_catalog.regoperator
           || ' negator=' || o.oprnegate::pg_catalog.regoperator
           || ' merges=' || o.oprcanmerge || ' hashes=' || o.oprcanhash
           || ' owner=' || o.oprowner::pg_catalog.regrole
      FROM opr o
    UNION ALL
    SELECT 'opclass ' || c.opcname || ' method=' || am.amname
           || ' family=' || f.opfname || ' type=' || c.opcintype::pg_catalog.regtype
           || ' default=' || c.opcdefault || ' keytype=' || c.opckeytype::pg_catalog.regtype
      FROM opc c
      JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod
      JOIN pg_catalog.pg_opfamily f ON f.oid = c.opcfamily
    UNION ALL
    SELECT 'opfamily ' || f.opfname || ' method=' || am.amname
      FROM opf f JOIN pg_catalog.pg_am am ON am.oid = f.opfmethod
    UNION ALL
    SELECT 'opfamily operator ' || f.opfname || ' ' || am.amname || ' strategy=' || o.amopstrategy
           || ' ' || o.amopopr::pg_catalog.regoperator || ' purpose=' || o.amoppurpose::text
           || ' types=' || o.amoplefttype::pg_catalog.regtype || ',' || o.amoprighttype::pg_catalog.regtype
           || ' sortfamily=' || coalesce((SELECT s.opfname FROM pg_catalog.pg_opfamily s
                                           WHERE s.oid = o.amopsortfamily), '-')
      FROM pg_catalog.pg_amop o
      JOIN opf f ON f.oid = o.amopfamily
      JOIN pg_catalog.pg_am am ON am.oid = o.amopmethod
    UNION ALL
    SELECT 'opfamily function ' || f.opfname || ' number=' || p.amprocnum
           || ' types=' || p.amproclefttype::pg_catalog.regtype || ',' || p.amprocrighttype::pg_catalog.regtype
           || ' ' || p.amproc::pg_catalog.regprocedure::text
      FROM pg_catalog.pg_amproc p JOIN opf f ON f.oid = p.amprocfamily
    -- casts
    UNION ALL
    SELECT 'cast ' || c.castsource::pg_catalog.regtype || ' -> ' || c.casttarget::pg_catalog.regtype
           || ' function=' || coalesce(c.castfunc::pg_catalog.regprocedure::text, '-')
           || ' context=' || c.castcontext::text || ' method=' || c.castmethod::text
      FROM pg_catalog.pg_cast c JOIN member m
        ON m.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND m.objid = c.oid
    -- event triggers
    UNION ALL
    SELECT 'event trigger ' || t.evtname || ' event=' || t.evtevent || ' enabled=' || t.evtenabled::text
           || ' function=' || t.evtfoid::pg_catalog.regprocedure || ' tags=' || coalesce(t.evttags::text, '-')
      FROM pg_catalog.pg_event_trigger t JOIN member m
        ON m.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass AND m.objid = t.oid
    -- comments: on every member object, and on the columns of member relations
    UNION ALL
    SELECT 'comment ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid)
           || ' = ' || pg_catalog.quote_literal(d.description)
      FROM pg_catalog.pg_description d
     WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM member)
    UNION ALL
    SELECT 'comment on schema = ' || pg_catalog.quote_literal(pg_catalog.obj_description(ext.extnamespace, 'pg_namespace'))
      FROM ext WHERE pg_catalog.obj_description(ext.extnamespace, 'pg_namespace') IS NOT NULL
)
SELECT fact FROM facts ORDER BY fact COLLATE "C";
