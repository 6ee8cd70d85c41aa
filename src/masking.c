/*-------------------------------------------------------------------------
 *
 * masking.c
 *	  Column policies inside the engine: masking of classified columns for
 *	  roles outside their class, NULL for fields switched off or forbidden,
 *	  and the trigger that refuses writes to such fields.
 *
 *	  Masking rewrites the query tree before planning: every reference to a
 *	  masked column (a Var, in the select list, WHERE, JOIN, ORDER BY,
 *	  GROUP BY, RETURNING, subqueries, views after their expansion, and
 *	  SQL functions as they are planned) is replaced by its masking
 *	  expression, built as nodes: no SQL text is produced or parsed.  A
 *	  whole-row reference becomes a row of the masked columns.  Comparing or
 *	  sorting then works on the masked value, so a WHERE clause learns
 *	  nothing the select list would not show.  Roles that may see a column,
 *	  the table's owner and superusers get the query unchanged.
 *
 *	  Policies are cached per backend, per relation, and the cache is
 *	  dropped by the registry's invalidation (any change of the policy
 *	  catalogs, or of role memberships).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "common/hmac.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "utils/regproc.h"
#include "catalog/partition.h"
#include "mb/pg_wchar.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "common/sha2.h"

#include "pg_privacy.h"

typedef enum MaskKind
{
	MASK_NONE,					/* not masked by a class */
	MASK_NULL,
	MASK_FIXED,
	MASK_PARTIAL,
	MASK_HASH
} MaskKind;

typedef enum FieldState
{
	FIELD_ON,
	FIELD_OFF,
	FIELD_FORBIDDEN
} FieldState;

typedef struct ColumnMask
{
	AttrNumber	attnum;
	char	   *colname;
	Oid			viewer;			/* role that sees it in full, or InvalidOid */
	MaskKind	kind;
	char	   *param;
	FieldState	state;
	char	   *reason;
} ColumnMask;

typedef struct RelMasks
{
	Oid			relid;			/* hash key */
	Oid			owner;
	int			ncols;
	ColumnMask *cols;
} RelMasks;

static MemoryContext masking_cxt = NULL;
static HTAB *masks = NULL;		/* relid -> RelMasks, all policies */
static bool masks_any = false;
static Oid	catalog_oids[2] = {InvalidOid, InvalidOid};
static bytea *mask_key = NULL;
static bool loading = false;	/* the catalog query itself is not masked */

/* the location of the mask calls the extension inserts (parser locations are >= -1) */
#define MASK_LOCATION (-7)
static Oid	mask_partial_oid = InvalidOid;
static Oid	mask_hash_oid = InvalidOid;

PG_FUNCTION_INFO_V1(privacy_mask_partial);
PG_FUNCTION_INFO_V1(privacy_mask_hash);
PG_FUNCTION_INFO_V1(privacy_column_guard);

void
privacy_masking_reset(void)
{
	if (masking_cxt != NULL)
		MemoryContextReset(masking_cxt);
	masks = NULL;
	masks_any = false;
	mask_key = NULL;
	mask_partial_oid = InvalidOid;
	mask_hash_oid = InvalidOid;
}

bool
privacy_masking_cached(void)
{
	return masks != NULL;
}

bool
privacy_masking_catalog(Oid relid)
{
	return OidIsValid(relid) &&
		(relid == catalog_oids[0] || relid == catalog_oids[1]);
}

/*
 * Load every column policy into the cache.
 */
static void
load_masks(void)
{
	Oid			nsp;
	HASHCTL		ctl;
	uint64		i;
	MemoryContext old;

	if (masks != NULL || loading)
		return;
	nsp = privacy_schema_oid();
	if (!OidIsValid(nsp))
		return;
	catalog_oids[0] = get_relname_relid("column_policy", nsp);
	catalog_oids[1] = get_relname_relid("column_class", nsp);
	if (!OidIsValid(catalog_oids[0]))
		return;

	if (masking_cxt == NULL)
		masking_cxt = AllocSetContextCreate(CacheMemoryContext,
											"pg_privacy column policies",
											ALLOCSET_SMALL_SIZES);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(RelMasks);
	ctl.hcxt = masking_cxt;

	privacy_spi_connect();
	loading = true;
	PG_TRY();
	{
		privacy_catalog_query("SELECT p.relid::oid, p.column_name::text, k.viewer_role::text, "
							  "  coalesce(k.mask, 'none'), k.mask_param, p.state, p.reason "
							  "FROM privacy.column_policy p "
							  "LEFT JOIN privacy.column_class k ON k.name = p.class "
							  "ORDER BY 1", 0, NULL, NULL);
	}
	PG_FINALLY();
	{
		loading = false;
	}
	PG_END_TRY();

	old = MemoryContextSwitchTo(masking_cxt);
	masks = hash_create("pg_privacy column policies", 64, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		found;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tup, td, 1, &isnull));
		RelMasks   *rm = hash_search(masks, &relid, HASH_ENTER, &found);
		ColumnMask *cm;
		char	   *viewer = SPI_getvalue(tup, td, 3);
		char	   *kind = SPI_getvalue(tup, td, 4);
		char	   *state = SPI_getvalue(tup, td, 6);
		HeapTuple	ctup;

		if (!found)
		{
			rm->ncols = 0;
			rm->cols = NULL;
			rm->owner = InvalidOid;
			ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
			if (HeapTupleIsValid(ctup))
			{
				rm->owner = ((Form_pg_class) GETSTRUCT(ctup))->relowner;
				ReleaseSysCache(ctup);
			}
		}
		rm->cols = rm->cols ? repalloc(rm->cols, sizeof(ColumnMask) * (rm->ncols + 1)) :
			palloc(sizeof(ColumnMask));
		cm = &rm->cols[rm->ncols++];
		cm->colname = SPI_getvalue(tup, td, 2);
		cm->attnum = get_attnum(relid, cm->colname);
		cm->viewer = viewer ? get_role_oid(viewer, true) : InvalidOid;
		cm->kind = strcmp(kind, "null") == 0 ? MASK_NULL :
			strcmp(kind, "fixed") == 0 ? MASK_FIXED :
			strcmp(kind, "partial") == 0 ? MASK_PARTIAL :
			strcmp(kind, "hash") == 0 ? MASK_HASH : MASK_NONE;
		cm->param = SPI_getvalue(tup, td, 5);
		cm->state = strcmp(state, "off") == 0 ? FIELD_OFF :
			strcmp(state, "forbidden") == 0 ? FIELD_FORBIDDEN : FIELD_ON;
		cm->reason = SPI_getvalue(tup, td, 7);
		masks_any = true;
	}
	MemoryContextSwitchTo(old);
	privacy_spi_finish();
}

static RelMasks *
rel_masks(Oid relid)
{
	RelMasks   *rm;
	bool		found;
	List	   *ancestors;
	ListCell   *lc;

	load_masks();
	if (masks == NULL || !masks_any)
		return NULL;
	rm = hash_search(masks, &relid, HASH_FIND, &found);
	if (found)
		return rm->ncols > 0 ? rm : NULL;

	/*
	 * A partition read (or written) directly has the policies of the
	 * partitioned table it belongs to, matched by column name.  The answer,
	 * also "none", is cached like the others.
	 */
	ancestors = get_rel_relispartition(relid) ? get_partition_ancestors(relid) : NIL;
	rm = hash_search(masks, &relid, HASH_ENTER, &found);
	rm->ncols = 0;
	rm->cols = NULL;
	rm->owner = InvalidOid;
	foreach(lc, ancestors)
	{
		RelMasks   *parent = hash_search(masks, &lfirst_oid(lc), HASH_FIND, NULL);
		MemoryContext old;
		HeapTuple	ctup;
		int			i;

		if (parent == NULL || parent->ncols == 0)
			continue;
		old = MemoryContextSwitchTo(masking_cxt);
		rm->cols = palloc(sizeof(ColumnMask) * parent->ncols);
		for (i = 0; i < parent->ncols; i++)
		{
			rm->cols[i] = parent->cols[i];
			rm->cols[i].attnum = get_attnum(relid, parent->cols[i].colname);
		}
		rm->ncols = parent->ncols;
		MemoryContextSwitchTo(old);
		ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (HeapTupleIsValid(ctup))
		{
			rm->owner = ((Form_pg_class) GETSTRUCT(ctup))->relowner;
			ReleaseSysCache(ctup);
		}
		break;
	}
	return rm->ncols > 0 ? rm : NULL;
}

/*
 * How the current role reads a column: MASK_NONE when in full.  Fields
 * switched off or forbidden read as NULL for everyone but superusers; a
 * class masks for everyone but its viewer role, the owner and superusers.
 */
static MaskKind
mask_for_user(RelMasks *rm, ColumnMask *cm, Oid user)
{
	if (superuser_arg(user))
		return MASK_NONE;
	if (cm->state != FIELD_ON)
		return MASK_NULL;
	if (cm->kind == MASK_NONE)
		return MASK_NONE;
	/* a support role sees in full the classes its grants name, no other */
	if (privacy_support_user(user))
		return OidIsValid(cm->viewer) && privacy_support_sees_viewer(user, cm->viewer) ?
			MASK_NONE : cm->kind;
	if (OidIsValid(rm->owner) && has_privs_of_role(user, rm->owner))
		return MASK_NONE;
	if (OidIsValid(cm->viewer) && has_privs_of_role(user, cm->viewer))
		return MASK_NONE;
	return cm->kind;
}

/*
 * privacy_column_masked_for: does the role read this column masked (or as
 * NULL)?  For checks of SQL that runs as the extension's owner on behalf
 * of a role.
 */
bool
privacy_column_masked_for(Oid relid, AttrNumber attnum, Oid roleid)
{
	RelMasks   *rm = rel_masks(relid);
	int			i;

	if (rm == NULL)
		return false;
	for (i = 0; i < rm->ncols; i++)
		if (rm->cols[i].attnum == attnum)
			return mask_for_user(rm, &rm->cols[i], roleid) != MASK_NONE;
	return false;
}

/* --- the masks ---------------------------------------------------------- */

/*
 * privacy.mask_partial(text, keep): every character but the last keep
 * replaced by '*' (characters, not bytes).
 */
/*
 * The masking functions run only where the extension inserted them (or for
 * superusers).  Called by hand on chosen values, the keyed hash would
 * confirm guesses and a partial mask keeping every character would show a
 * column in full.  The planner refuses such calls in queries; this also
 * covers expressions that are not planned as queries (generated columns,
 * CALL arguments).  An inserted call carries MASK_LOCATION, which the
 * parser never produces.
 */
static void
require_inserted_call(FunctionCallInfo fcinfo, const char *name)
{
	Node	   *expr = fcinfo->flinfo ? fcinfo->flinfo->fn_expr : NULL;

	if (expr != NULL && IsA(expr, FuncExpr) &&
		((FuncExpr *) expr)->location == MASK_LOCATION)
		return;
	if (superuser())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to call %s", name),
			 errdetail("The masking functions are applied by pg_privacy; called directly they would reveal masked values.")));
}

/*
 * Whether len bytes are all ASCII, eight at a time: this check is most of
 * what a partial mask costs on short values.
 */
static inline bool
bytes_are_ascii(const char *s, int len)
{
	uint64		acc = 0;
	int			i = 0;

	for (; i + 8 <= len; i += 8)
	{
		uint64		w;

		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (unsigned char) s[i];
	return (acc & UINT64CONST(0x8080808080808080)) == 0;
}

Datum
privacy_mask_partial(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int			keep = PG_GETARG_INT32(1);
	const char *src = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	text	   *result;
	char	   *dst;
	int			i;
	bool		ascii = true;

	require_inserted_call(fcinfo, "privacy.mask_partial(text,integer)");
	ascii = bytes_are_ascii(src, len);

	if (ascii || pg_database_encoding_max_length() == 1)
	{
		/* one byte per character: the same length, asterisks, the tail */
		int			nmask = Max(len - Max(keep, 0), 0);

		result = (text *) palloc(VARHDRSZ + len);
		SET_VARSIZE(result, VARHDRSZ + len);
		dst = VARDATA(result);
		memset(dst, '*', nmask);
		memcpy(dst + nmask, src + nmask, len - nmask);
	}
	else
	{
		char	   *s = text_to_cstring(t);
		int			nchars = pg_mbstrlen(s);
		StringInfoData out;
		const char *p = s;

		initStringInfo(&out);
		for (i = 0; i < nchars; i++)
		{
			int			clen = pg_mblen(p);

			if (i < nchars - keep)
				appendStringInfoChar(&out, '*');
			else
				appendBinaryStringInfo(&out, p, clen);
			p += clen;
		}
		result = cstring_to_text_with_len(out.data, out.len);
	}
	PG_RETURN_TEXT_P(result);
}

/*
 * privacy.mask_hash(text): HMAC-SHA256 with the database's mask key, hex.
 */
Datum
privacy_mask_hash(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	pg_hmac_ctx *ctx;
	int			i;

	require_inserted_call(fcinfo, "privacy.mask_hash(text)");
	if (mask_key == NULL)
	{
		MemoryContext old;

		privacy_spi_connect();
		privacy_catalog_query("SELECT key FROM privacy.mask_key", 0, NULL, NULL);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the mask key of pg_privacy is missing")));
		if (masking_cxt == NULL)
			masking_cxt = AllocSetContextCreate(CacheMemoryContext,
												"pg_privacy column policies",
												ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(masking_cxt);
		{
			bool		isnull;

			mask_key = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 1, &isnull));
		}
		MemoryContextSwitchTo(old);
		privacy_spi_finish();
	}

	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL ||
		pg_hmac_init(ctx, (uint8 *) VARDATA(mask_key), VARSIZE(mask_key) - VARHDRSZ) < 0 ||
		pg_hmac_update(ctx, (uint8 *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		elog(ERROR, "could not compute HMAC-SHA256");
	pg_hmac_free(ctx);
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}

/* --- rewriting the query ------------------------------------------------ */

static Oid
privacy_func_oid(const char *name, int nargs, Oid *argtypes)
{
	return LookupFuncName(list_make2(makeString(PRIVACY_SCHEMA), makeString(pstrdup(name))),
						  nargs, argtypes, false);
}

static int
rel_natts(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	int			n = 0;

	if (HeapTupleIsValid(tup))
	{
		n = ((Form_pg_class) GETSTRUCT(tup))->relnatts;
		ReleaseSysCache(tup);
	}
	return n;
}

static bool
is_text_like(Oid typid)
{
	typid = getBaseType(typid);
	return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID;
}

/*
 * The masking expression for a reference to a column.
 */
static Node *
make_mask(Var *var, ColumnMask *cm, MaskKind kind)
{
	if (kind == MASK_FIXED && cm->param != NULL)
	{
		Oid			typinput;
		Oid			typioparam;
		int16		typlen;
		bool		typbyval;
		Datum		d;

		getTypeInputInfo(var->vartype, &typinput, &typioparam);
		get_typlenbyval(var->vartype, &typlen, &typbyval);
		d = OidInputFunctionCall(typinput, cm->param, typioparam, var->vartypmod);
		return (Node *) makeConst(var->vartype, var->vartypmod, var->varcollid,
								  typlen, d, false, typbyval);
	}
	if ((kind == MASK_PARTIAL || kind == MASK_HASH) && is_text_like(var->vartype))
	{
		Oid			argtypes[2] = {TEXTOID, INT4OID};
		Node	   *arg;
		Node	   *call;

		if (var->vartype == TEXTOID)
			arg = (Node *) copyObject(var);
		else
			arg = (Node *) makeRelabelType((Expr *) copyObject(var), TEXTOID, -1,
										   var->varcollid, COERCE_IMPLICIT_CAST);
		if (getBaseType(var->vartype) == BPCHAROID)
			arg = (Node *) makeFuncExpr(F_TEXT_BPCHAR, TEXTOID, list_make1(copyObject(var)),
										var->varcollid, var->varcollid, COERCE_EXPLICIT_CALL);
		if (kind == MASK_PARTIAL)
			call = (Node *) makeFuncExpr(privacy_func_oid("mask_partial", 2, argtypes),
										 TEXTOID,
										 list_make2(arg, makeConst(INT4OID, -1, InvalidOid, 4,
																   Int32GetDatum(cm->param ? atoi(cm->param) : 0),
																   false, true)),
										 var->varcollid, var->varcollid, COERCE_EXPLICIT_CALL);
		else
			call = (Node *) makeFuncExpr(privacy_func_oid("mask_hash", 1, argtypes),
										 TEXTOID, list_make1(arg),
										 var->varcollid, var->varcollid, COERCE_EXPLICIT_CALL);
		((FuncExpr *) call)->location = MASK_LOCATION;
		if (var->vartype == TEXTOID)
			return call;
		return (Node *) makeRelabelType((Expr *) call, var->vartype, -1,
										var->varcollid, COERCE_IMPLICIT_CAST);
	}
	return (Node *) makeNullConst(var->vartype, var->vartypmod, var->varcollid);
}

/* what to mask in one range table entry, for the current role */
typedef struct RteMask
{
	RelMasks   *rm;
	MaskKind   *kinds;			/* by attnum, 1-based; MASK_NONE for plain */
	int			natts;
	bool		any;
} RteMask;

typedef struct MaskContext
{
	List	   *levels;			/* per query level (innermost first): RteMask ** by rti */
	bool		found;			/* a relation with policies was referenced */
	Oid			user;
} MaskContext;

static RteMask **
level_map(Query *q, MaskContext *ctx)
{
	int			n = list_length(q->rtable);
	RteMask   **map = palloc0(sizeof(RteMask *) * (n + 1));
	ListCell   *lc;
	int			rti = 0;

	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		RelMasks   *rm;
		RteMask    *m;
		int			i;

		rti++;
		if (rte->rtekind != RTE_RELATION)
			continue;
		/* the values an INSERT ... ON CONFLICT proposes are the writer's own */
		if (q->onConflict != NULL && rti == q->onConflict->exclRelIndex)
			continue;
		rm = rel_masks(rte->relid);
		if (rm == NULL)
			continue;
		ctx->found = true;
		m = palloc0(sizeof(RteMask));
		m->rm = rm;
		m->natts = rel_natts(rte->relid);
		m->kinds = palloc0(sizeof(MaskKind) * (m->natts + 1));
		for (i = 0; i < rm->ncols; i++)
		{
			ColumnMask *cm = &rm->cols[i];
			MaskKind	k;

			if (cm->attnum <= 0 || cm->attnum > m->natts)
				continue;
			k = mask_for_user(rm, cm, ctx->user);
			m->kinds[cm->attnum] = k;
			if (k != MASK_NONE)
				m->any = true;
		}
		if (m->any)
			map[rti] = m;
	}
	return map;
}

static ColumnMask *
find_cm(RelMasks *rm, AttrNumber attnum)
{
	int			i;

	for (i = 0; i < rm->ncols; i++)
		if (rm->cols[i].attnum == attnum)
			return &rm->cols[i];
	return NULL;
}

/*
 * Does an expression of query q read a masked column?  Follows references
 * into subqueries, CTEs, joins and sublinks, so that a masked value copied
 * through any of them is seen.
 */
typedef struct ReadsMasked
{
	Query	   *q;
	RteMask   **map;
	MaskContext *ctx;
	int			depth;
} ReadsMasked;

static bool reads_masked_walker(Node *node, ReadsMasked *rm);

static bool
query_target_reads_masked(Query *sub, int attno, ReadsMasked *outer)
{
	ReadsMasked inner = {sub, level_map(sub, outer->ctx), outer->ctx, outer->depth + 1};
	ListCell   *lc;

	if (outer->depth > 16)
		return false;
	foreach(lc, sub->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk || (attno > 0 && tle->resno != attno))
			continue;
		if (reads_masked_walker((Node *) tle->expr, &inner))
			return true;
	}
	return false;
}

static bool
reads_masked_walker(Node *node, ReadsMasked *rm)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *v = (Var *) node;
		RangeTblEntry *rte;

		if (v->varlevelsup != 0 || v->varno <= 0 || v->varno > list_length(rm->q->rtable))
			return false;
		rte = rt_fetch(v->varno, rm->q->rtable);
		switch (rte->rtekind)
		{
			case RTE_RELATION:
				if (rm->map[v->varno] == NULL)
					return false;
				if (v->varattno == 0)
					return true;
				return v->varattno > 0 && v->varattno <= rm->map[v->varno]->natts &&
					rm->map[v->varno]->kinds[v->varattno] != MASK_NONE;
			case RTE_SUBQUERY:
				return query_target_reads_masked(rte->subquery, v->varattno, rm);
			case RTE_JOIN:
				if (v->varattno > 0 && v->varattno <= list_length(rte->joinaliasvars))
					return reads_masked_walker(list_nth(rte->joinaliasvars, v->varattno - 1), rm);
				return false;
			case RTE_CTE:
				{
					ListCell   *lc;

					foreach(lc, rm->q->cteList)
					{
						CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

						if (strcmp(cte->ctename, rte->ctename) == 0 && IsA(cte->ctequery, Query))
							return query_target_reads_masked((Query *) cte->ctequery, v->varattno, rm);
					}
				}
				return false;
			default:
				return false;
		}
	}
	if (IsA(node, SubLink))
	{
		SubLink    *sl = (SubLink *) node;

		if (IsA(sl->subselect, Query) &&
			query_target_reads_masked((Query *) sl->subselect, 0, rm))
			return true;
		return reads_masked_walker(sl->testexpr, rm);
	}
	return expression_tree_walker(node, reads_masked_walker, rm);
}

/*
 * Refuse to write a masked value back: an UPDATE (or ON CONFLICT DO UPDATE,
 * or MERGE) of a column masked for the role, from masked columns.
 */
static void
check_write_back(Query *q, RteMask **map, MaskContext *ctx)
{
	ReadsMasked rm = {q, map, ctx, 0};

	RteMask    *target;
	ListCell   *lc;
	List	   *tlists = NIL;

	if (q->resultRelation <= 0 || map[q->resultRelation] == NULL)
		return;
	target = map[q->resultRelation];
	if (q->commandType == CMD_UPDATE || q->commandType == CMD_INSERT)
		tlists = lappend(tlists, q->targetList);
	if (q->onConflict != NULL && q->onConflict->action == ONCONFLICT_UPDATE)
		tlists = lappend(tlists, q->onConflict->onConflictSet);
	foreach(lc, q->mergeActionList)
	{
		MergeAction *a = (MergeAction *) lfirst(lc);

		if (a->commandType == CMD_UPDATE || a->commandType == CMD_INSERT)
			tlists = lappend(tlists, a->targetList);
	}
	foreach(lc, tlists)
	{
		ListCell   *t;

		foreach(t, (List *) lfirst(lc))
		{
			TargetEntry *tle = lfirst_node(TargetEntry, t);

			if (tle->resjunk || tle->resno <= 0 || tle->resno > target->natts ||
				target->kinds[tle->resno] == MASK_NONE)
				continue;
			if (reads_masked_walker((Node *) tle->expr, &rm))
			{
				ColumnMask *cm = find_cm(target->rm, tle->resno);

				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to write the masked value of column \"%s\"",
								cm ? cm->colname : "?"),
						 errdetail("The role sees this column masked; writing it from masked values would store the mask.")));
			}
		}
	}
}

static Node *mask_mutator(Node *node, MaskContext *ctx);

/* a whole-row reference: a row of the columns, masked ones masked */
static Node *
mask_whole_row(Var *var, RteMask *m, RangeTblEntry *rte)
{
	RowExpr    *row = makeNode(RowExpr);
	int			i;

	row->row_typeid = var->vartype;
	row->row_format = COERCE_IMPLICIT_CAST;
	row->location = -1;
	for (i = 1; i <= m->natts; i++)
	{
		HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(rte->relid), Int16GetDatum(i));
		Form_pg_attribute att;
		Var		   *col;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for attribute %d of relation %u", i, rte->relid);
		att = (Form_pg_attribute) GETSTRUCT(tup);
		if (att->attisdropped)
		{
			row->args = lappend(row->args, makeNullConst(INT4OID, -1, InvalidOid));
			row->colnames = lappend(row->colnames, makeString(pstrdup("")));
		}
		else
		{
			col = makeVar(var->varno, i, att->atttypid, att->atttypmod,
						  att->attcollation, var->varlevelsup);
			row->args = lappend(row->args, m->kinds[i] != MASK_NONE ?
								make_mask(col, find_cm(m->rm, i), m->kinds[i]) : (Node *) col);
			row->colnames = lappend(row->colnames, makeString(pstrdup(NameStr(att->attname))));
		}
		ReleaseSysCache(tup);
	}
	if (var->vartype == RECORDOID)
		row->row_typeid = get_rel_type_id(rte->relid);
	return (Node *) row;
}

static Query *
mask_query_level(Query *q, MaskContext *ctx)
{
	RteMask   **map = level_map(q, ctx);

	check_write_back(q, map, ctx);
	ctx->levels = lcons(map, ctx->levels);
	q = query_tree_mutator(q, mask_mutator, ctx, QTW_DONT_COPY_QUERY);
	ctx->levels = list_delete_first(ctx->levels);
	return q;
}

/* the OIDs of the mask functions, looked up once per cache */
static void
mask_function_oids(void)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};

	if (!OidIsValid(mask_partial_oid))
	{
		mask_partial_oid = privacy_func_oid("mask_partial", 2, argtypes);
		mask_hash_oid = privacy_func_oid("mask_hash", 1, argtypes);
	}
}

static Node *
mask_mutator(Node *node, MaskContext *ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
		return (Node *) mask_query_level((Query *) node, ctx);
	/* masked by an earlier pass (a query parsed while planning is seen twice) */
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->location == MASK_LOCATION &&
		(((FuncExpr *) node)->funcid == mask_partial_oid ||
		 ((FuncExpr *) node)->funcid == mask_hash_oid))
		return (Node *) copyObject(node);
	if (IsA(node, Var))
	{
		Var		   *v = (Var *) node;
		RteMask   **map;
		RteMask    *m;

		if (v->varlevelsup >= list_length(ctx->levels))
			return (Node *) copyObject(v);
		map = (RteMask **) list_nth(ctx->levels, v->varlevelsup);
		m = map[v->varno];
		if (m == NULL || v->varattno < 0 || v->varattno > m->natts)
			return (Node *) copyObject(v);
		if (v->varattno == 0)
		{
			/* find the range table entry of that level */
			return (Node *) copyObject(v);
		}
		if (m->kinds[v->varattno] == MASK_NONE)
			return (Node *) copyObject(v);
		return make_mask(v, find_cm(m->rm, v->varattno), m->kinds[v->varattno]);
	}
	return expression_tree_mutator(node, mask_mutator, ctx);
}

/*
 * Whole-row references need the range table entry; they are replaced in a
 * pass of their own, per query level.
 */
typedef struct WholeRowContext
{
	List	   *queries;		/* per level, innermost first */
	List	   *maps;
	MaskContext *mctx;
} WholeRowContext;

static Node *
whole_row_mutator(Node *node, WholeRowContext *ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		ctx->queries = lcons(q, ctx->queries);
		ctx->maps = lcons(level_map(q, ctx->mctx), ctx->maps);
		q = query_tree_mutator(q, whole_row_mutator, ctx, QTW_DONT_COPY_QUERY);
		ctx->queries = list_delete_first(ctx->queries);
		ctx->maps = list_delete_first(ctx->maps);
		return (Node *) q;
	}
	if (IsA(node, Var) && ((Var *) node)->varattno == 0)
	{
		Var		   *v = (Var *) node;

		if (v->varlevelsup < list_length(ctx->queries))
		{
			Query	   *q = list_nth(ctx->queries, v->varlevelsup);
			RteMask   **map = list_nth(ctx->maps, v->varlevelsup);

			if (v->varno > 0 && v->varno <= list_length(q->rtable) && map[v->varno] != NULL)
				return mask_whole_row(v, map[v->varno], rt_fetch(v->varno, q->rtable));
		}
		return (Node *) copyObject(v);
	}
	return expression_tree_mutator(node, whole_row_mutator, ctx);
}



typedef struct PolicyScan
{
	bool		found;			/* a relation with policies */
	bool		masked;			/* one with a column masked for the user */
	Oid			user;
} PolicyScan;

static bool policy_scan_walker(Node *node, PolicyScan *scan);

/*
 * A set-returning SQL function with a BEGIN ATOMIC body is inlined by the
 * planner from its stored query tree, after the masks were applied and
 * without parse analysis: refuse it when its body reads a table with
 * columns masked for the role.  (Bodies written as text are parsed when
 * inlined and get their masks; functions that are not inlined are planned
 * as queries of their own.)
 */
static void
check_atomic_body(Oid funcid, PolicyScan *scan)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	bool		isnull;
	Datum		body;
	PolicyScan	inner = {false, false, scan->user};

	if (!HeapTupleIsValid(tup))
		return;
	if (((Form_pg_proc) GETSTRUCT(tup))->prolang != SQLlanguageId ||
		!((Form_pg_proc) GETSTRUCT(tup))->proretset)
	{
		ReleaseSysCache(tup);
		return;
	}
	body = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosqlbody, &isnull);
	if (!isnull)
	{
		Node	   *n = stringToNode(TextDatumGetCString(body));

		(void) policy_scan_walker(n, &inner);
	}
	ReleaseSysCache(tup);
	if (inner.masked)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to call %s, which reads masked columns",
						format_procedure(funcid)),
				 errdetail("A set-returning SQL function with a BEGIN ATOMIC body is not masked for this role."),
				 errhint("Write the function body as a string literal.")));
}

static bool
policy_scan_walker(Node *node, PolicyScan *scan)
{
	if (node == NULL)
		return false;
	/*
	 * The masks are for the extension to insert: called on guesses, the hash
	 * would confirm them, and a partial mask keeping everything would show
	 * a column in full.
	 */
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->location != MASK_LOCATION &&
		(((FuncExpr *) node)->funcid == mask_hash_oid ||
		 ((FuncExpr *) node)->funcid == mask_partial_oid) &&
		!superuser_arg(scan->user))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to call %s", format_procedure(((FuncExpr *) node)->funcid)),
				 errdetail("The masking functions are applied by pg_privacy; called directly they would reveal masked values.")));
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		RelMasks   *rm;
		int			i;

		if (rte->rtekind == RTE_RELATION && (rm = rel_masks(rte->relid)) != NULL)
		{
			scan->found = true;
			for (i = 0; i < rm->ncols; i++)
				if (mask_for_user(rm, &rm->cols[i], scan->user) != MASK_NONE)
					scan->masked = true;
		}
		else if (rte->rtekind == RTE_FUNCTION)
		{
			ListCell   *lc;

			foreach(lc, rte->functions)
			{
				RangeTblFunction *rf = lfirst_node(RangeTblFunction, lc);

				if (IsA(rf->funcexpr, FuncExpr))
					check_atomic_body(((FuncExpr *) rf->funcexpr)->funcid, scan);
			}
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, policy_scan_walker, scan,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, policy_scan_walker, scan);
}

/*
 * privacy_mask_query: mask the query for the current role, in place.
 * Returns whether it referenced a relation with column policies (its plan
 * then depends on the role).
 */
bool
privacy_mask_query(Query *parse)
{
	MaskContext ctx;
	WholeRowContext wctx;

	PolicyScan	scan = {false, false, GetUserId()};

	load_masks();
	if (masks == NULL || !masks_any)
		return false;
	mask_function_oids();
	/* most queries touch no table with policies: leave them untouched */
	(void) policy_scan_walker((Node *) parse, &scan);
	if (!scan.masked)
		return scan.found;

	ctx.levels = NIL;
	ctx.found = false;
	ctx.user = scan.user;
	wctx.queries = NIL;
	wctx.maps = NIL;
	wctx.mctx = &ctx;
	/* columns first; the rows built for whole-row references after */
	(void) mask_query_level(parse, &ctx);
	(void) whole_row_mutator((Node *) parse, &wctx);
	return true;
}

/*
 * privacy_copy_needs_query: does COPY of this relation to a client need to
 * go through the planner, so that its columns are masked?
 */
bool
privacy_copy_needs_query(Oid relid)
{
	RelMasks   *rm = rel_masks(relid);
	int			i;

	if (rm == NULL)
		return false;
	for (i = 0; i < rm->ncols; i++)
		if (mask_for_user(rm, &rm->cols[i], GetUserId()) != MASK_NONE)
			return true;
	return false;
}

/* --- the write guard ---------------------------------------------------- */

/*
 * privacy.column_guard(): AFTER INSERT OR UPDATE row trigger, so that it
 * sees the row as stored, after every BEFORE trigger.  A field switched off
 * or forbidden may not receive a value; an UPDATE that leaves an old value
 * alone is not a write of it.
 */
Datum
privacy_column_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	HeapTuple	newtup;
	HeapTuple	oldtup = NULL;
	RelMasks   *rm;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("privacy.column_guard() must be an AFTER ROW trigger")));
	rel = td->tg_relation;
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		newtup = td->tg_newtuple;
		oldtup = td->tg_trigtuple;
	}
	else
		newtup = td->tg_trigtuple;

	rm = rel_masks(RelationGetRelid(rel));
	for (i = 0; rm != NULL && i < rm->ncols; i++)
	{
		ColumnMask *cm = &rm->cols[i];
		bool		isnull;
		Datum		d;

		if (cm->state == FIELD_ON || cm->attnum <= 0)
			continue;
		d = heap_getattr(newtup, cm->attnum, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		if (oldtup != NULL)
		{
			bool		oldnull;
			Datum		od = heap_getattr(oldtup, cm->attnum, RelationGetDescr(rel), &oldnull);
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), cm->attnum - 1);

			if (!oldnull && datumIsEqual(d, od, att->attbyval, att->attlen))
				continue;
		}
		if (cm->state == FIELD_OFF)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("column \"%s\" of table \"%s\" is switched off",
							cm->colname, RelationGetRelationName(rel)),
					 errdetail("This installation does not store this field (privacy.set_optional_field)."),
					 errhint("Leave it NULL, or ask the privacy admin to switch it on.")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("column \"%s\" of table \"%s\" may not hold a value",
							cm->colname, RelationGetRelationName(rel)),
					 errdetail("%s", cm->reason ? cm->reason : "The field is forbidden.")));
	}
	return PointerGetDatum(newtup);
}
