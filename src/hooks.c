/*-------------------------------------------------------------------------
 *
 * hooks.c
 *	  The hooks that enforce BSN rules for every statement, on every table:
 *
 *	  - the inference guard (planner_hook): a role that may not see BSNs may
 *	    not compare, sort, group, deduplicate or otherwise order them, and
 *	    may not pass them to functions that do.  The query is refused before
 *	    it runs, so the refusal itself never depends on stored data;
 *	  - index hiding (get_relation_info_hook): for such a role the planner
 *	    does not see indexes keyed on a bsn, so no scan can deliver rows in
 *	    BSN order;
 *	  - the update guard (ExecutorStart_hook): only the BSN role may change
 *	    a bsn column (UPDATE, INSERT ... ON CONFLICT DO UPDATE, MERGE);
 *	    authorized changes are written to the audit trail (ExecutorEnd_hook);
 *	  - the log scrubber (emit_log_hook): BSN-like numbers in messages are
 *	    masked, and statements that contain one are not logged.
 *
 *	  All hooks chain to the previous ones.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "catalog/namespace.h"
#include "tcop/utility.h"
#include "parser/parser.h"
#include "parser/analyze.h"
#include "utils/acl.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "access/relation.h"
#include "access/genam.h"
#include "utils/relcache.h"
#include "catalog/pg_constraint.h"
#include "catalog/index.h"
#include "utils/builtins.h"
#include "utils/regproc.h"
#include "utils/catcache.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "pg_privacy.h"

static bool index_key_involves_bsn(Relation idx, int c);

static planner_hook_type prev_planner_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;
static int	planner_depth = 0;
static get_relation_info_hook_type prev_get_relation_info_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd_hook = NULL;
static ExecutorRun_hook_type prev_ExecutorRun_hook = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish_hook = NULL;

/*
 * How deeply executors are nested right now: incremented while a
 * statement runs or finishes (its triggers fire then), so that the
 * statements a trigger runs are one level deeper than the statement that
 * fired it.  The extension's bypass of its own policies while it acts as a
 * table's owner holds for exactly one level (privacy_acting_internally).
 */
int			privacy_exec_level = 0;
static emit_log_hook_type prev_emit_log_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility_hook = NULL;

/* functions that take a bsn without comparing it, by OID */
static List *allowed_funcs = NIL;
static bool allowed_valid = false;

/*
 * Functions of pg_catalog that may receive a bsn (or an array or row of
 * them) from a role that may not see BSNs: they only output, count, collect
 * or measure their arguments, never compare or hash them.
 */
static const char *const allowed_catalog_names[] = {
	"to_json", "to_jsonb", "row_to_json", "array_to_json",
	"json_build_array", "json_build_object", "jsonb_build_array",
	"jsonb_build_object", "format", "concat", "concat_ws", "textanycat",
	"anytextcat", "array_to_string", "array_length", "cardinality",
	"array_ndims", "array_dims", "array_lower", "array_upper", "unnest",
	"array_append", "array_prepend", "array_cat", "pg_typeof",
	"pg_column_size", "num_nulls", "num_nonnulls", "count", "array_agg",
	"json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg",
	"lag", "lead", "first_value", "last_value", "nth_value",
	NULL
};

/* functions of the extension that only output a bsn */
static const char *const allowed_privacy_names[] = {
	"bsn_out", "bsn_send", "bsn_display", NULL
};

static void
allowed_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	allowed_valid = false;
}

static void
add_allowed(const char *name, Oid nsp)
{
	CatCList   *list = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(name));
	int			i;

	for (i = 0; i < list->n_members; i++)
	{
		HeapTuple	tup = &list->members[i]->tuple;
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tup);

		if (proc->pronamespace == nsp)
			allowed_funcs = lappend_oid(allowed_funcs, proc->oid);
	}
	ReleaseSysCacheList(list);
}

static bool
function_allowed(Oid funcid)
{
	if (!allowed_valid)
	{
		MemoryContext old = MemoryContextSwitchTo(CacheMemoryContext);
		Oid			nsp = privacy_schema_oid();
		int			i;

		list_free(allowed_funcs);
		allowed_funcs = NIL;
		for (i = 0; allowed_catalog_names[i] != NULL; i++)
			add_allowed(allowed_catalog_names[i], PG_CATALOG_NAMESPACE);
		if (OidIsValid(nsp))
			for (i = 0; allowed_privacy_names[i] != NULL; i++)
				add_allowed(allowed_privacy_names[i], nsp);
		MemoryContextSwitchTo(old);
		allowed_valid = true;
	}
	return list_member_oid(allowed_funcs, funcid);
}

/* --- the inference guard ------------------------------------------------ */

typedef struct GuardContext
{
	bool		enforce;		/* refuse, rather than only note */
	bool		found;			/* the query uses BSN order or equality */
	bool		has_bsn;		/* a bsn value occurs somewhere in the query */
} GuardContext;

/*
 * Anonymous records (and arrays of them) hide their column types once they
 * leave the level that built them, e.g. ROW(bsn) returned by a subquery.
 * When the query handles a bsn anywhere, they are treated as holding one.
 */
static bool guard_records_hold_bsn = false;

/*
 * Does an expression yield a bsn, or something built on one?  Anonymous
 * records and arrays of them are looked into when they are built in place.
 */
static bool
expr_involves_bsn(Node *expr)
{
	Oid			t;
	ListCell   *lc;

	if (expr == NULL)
		return false;
	t = exprType(expr);
	if (privacy_type_involves_bsn(t))
		return true;
	if (guard_records_hold_bsn && (t == RECORDOID || t == RECORDARRAYOID))
		return true;
	if (IsA(expr, RowExpr))
	{
		foreach(lc, ((RowExpr *) expr)->args)
			if (expr_involves_bsn(lfirst(lc)))
				return true;
	}
	else if (IsA(expr, ArrayExpr))
	{
		foreach(lc, ((ArrayExpr *) expr)->elements)
			if (expr_involves_bsn(lfirst(lc)))
				return true;
	}
	return false;
}

static bool
list_involves_bsn(List *args)
{
	ListCell   *lc;

	foreach(lc, args)
		if (expr_involves_bsn(lfirst(lc)))
			return true;
	return false;
}

/*
 * Note a use of BSN order or equality; refuse it when enforcing.
 */
static void
guard_refuse(GuardContext *ctx, const char *what, Oid funcid)
{
	ctx->found = true;
	if (ctx->enforce)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 OidIsValid(funcid) ?
				 errmsg(what, format_procedure(funcid)) :
				 errmsg("%s", what),
				 errdetail("Only members of role \"%s\" may compare, sort, group or search BSNs; "
						   "to other roles a BSN is masked and has no order.",
						   privacy_bsn_role),
				 errhint("Search on another column, or use the masked text (bsn::text).")));
}

static void
guard_sortgroup(GuardContext *ctx, List *clauses, List *tlist, const char *what)
{
	ListCell   *lc;

	foreach(lc, clauses)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, tlist);

		if (expr_involves_bsn((Node *) tle->expr))
			guard_refuse(ctx, what, InvalidOid);
	}
}

static void
guard_setop(GuardContext *ctx, Node *node)
{
	SetOperationStmt *op;
	ListCell   *lc;

	if (node == NULL || !IsA(node, SetOperationStmt))
		return;
	op = (SetOperationStmt *) node;
	if (!(op->op == SETOP_UNION && op->all))
	{
		foreach(lc, op->colTypes)
			if (privacy_type_involves_bsn(lfirst_oid(lc)))
				guard_refuse(ctx, "permission denied to use UNION, INTERSECT or EXCEPT on values of type bsn", InvalidOid);
	}
	guard_setop(ctx, op->larg);
	guard_setop(ctx, op->rarg);
}

/*
 * Does the table have a unique index or an exclusion constraint keyed on a
 * bsn?  Such an index tells an inserting role whether a number is stored.
 */
static bool
has_bsn_unique_index(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, RelationGetIndexList(rel))
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		int			c;

		if (idx->rd_index->indisunique || idx->rd_index->indisexclusion)
			for (c = 0; c < IndexRelationGetNumberOfKeyAttributes(idx) && !found; c++)
				found = index_key_involves_bsn(idx, c);
		index_close(idx, AccessShareLock);
		if (found)
			break;
	}
	relation_close(rel, AccessShareLock);
	return found;
}

/*
 * Does ON CONFLICT test a bsn: no conflict target (every unique index is an
 * arbiter), a constraint keyed on a bsn, or a target naming one?  A
 * conflict on any other index raises the ordinary unique violation.
 */
static bool
arbiter_involves_bsn(OnConflictExpr *oc)
{
	ListCell   *lc;

	if (OidIsValid(oc->constraint))
	{
		Oid			indexoid = get_constraint_index(oc->constraint);
		Relation	idx;
		int			c;
		bool		found = false;

		if (!OidIsValid(indexoid))
			return true;
		idx = index_open(indexoid, AccessShareLock);
		for (c = 0; c < IndexRelationGetNumberOfKeyAttributes(idx) && !found; c++)
			found = index_key_involves_bsn(idx, c);
		index_close(idx, AccessShareLock);
		return found;
	}
	if (oc->arbiterElems == NIL)
		return true;
	foreach(lc, oc->arbiterElems)
	{
		InferenceElem *ie = (InferenceElem *) lfirst(lc);

		if (privacy_type_involves_bsn(exprType(ie->expr)))
			return true;
	}
	return false;
}

/*
 * An INSERT into a table with a unique bsn, by a role that may not see
 * BSNs, inserts one row: ON CONFLICT would test guesses silently, and
 * INSERT ... SELECT or a multi-row VALUES would test many guesses per
 * statement.  One row per statement keeps the existence test as costly as
 * guessing the numbers one by one.
 */
static void
guard_insert(Query *q)
{
	RangeTblEntry *target = rt_fetch(q->resultRelation, q->rtable);

	if (target->rtekind != RTE_RELATION || !has_bsn_unique_index(target->relid))
		return;
	if (q->onConflict != NULL && arbiter_involves_bsn(q->onConflict))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to use ON CONFLICT on table \"%s\", which has a unique bsn",
						get_rel_name(target->relid)),
				 errdetail("Only members of role \"%s\" may; ON CONFLICT would tell whether a BSN is stored.",
						   privacy_bsn_role)));
	if (list_length(q->rtable) > (q->onConflict != NULL ? 2 : 1))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to insert more than one row at a time into table \"%s\", which has a unique bsn",
						get_rel_name(target->relid)),
				 errdetail("Only members of role \"%s\" may insert rows from a query or a multi-row VALUES list there.",
						   privacy_bsn_role)));
}

static bool
guard_walker(Node *node, GuardContext *ctx)
{
	if (node == NULL)
		return false;

	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		guard_sortgroup(ctx, q->sortClause, q->targetList, "permission denied to sort by a value of type bsn");
		guard_sortgroup(ctx, q->groupClause, q->targetList, "permission denied to group by a value of type bsn");
		guard_sortgroup(ctx, q->distinctClause, q->targetList, "permission denied to use DISTINCT on a value of type bsn");
		foreach(lc, q->windowClause)
		{
			WindowClause *wc = lfirst_node(WindowClause, lc);

			guard_sortgroup(ctx, wc->partitionClause, q->targetList, "permission denied to partition by a value of type bsn");
			guard_sortgroup(ctx, wc->orderClause, q->targetList, "permission denied to sort by a value of type bsn");
		}
		guard_setop(ctx, q->setOperations);
		if (ctx->enforce && q->commandType == CMD_INSERT && q->resultRelation > 0)
			guard_insert(q);
		return query_tree_walker(q, guard_walker, ctx, 0);
	}

	switch (nodeTag(node))
	{
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			{
				OpExpr	   *op = (OpExpr *) node;

				/* operators that only output their operands, such as || */
				if (list_involves_bsn(op->args) &&
					!(nodeTag(node) == T_OpExpr && function_allowed(get_opcode(op->opno))))
					guard_refuse(ctx, "permission denied to compare values of type bsn", InvalidOid);
			}
			break;
		case T_ScalarArrayOpExpr:
			if (list_involves_bsn(((ScalarArrayOpExpr *) node)->args))
				guard_refuse(ctx, "permission denied to compare values of type bsn", InvalidOid);
			break;
		case T_RowCompareExpr:
			if (list_involves_bsn(((RowCompareExpr *) node)->largs) ||
				list_involves_bsn(((RowCompareExpr *) node)->rargs))
				guard_refuse(ctx, "permission denied to compare values of type bsn", InvalidOid);
			break;
		case T_MinMaxExpr:
			if (privacy_type_involves_bsn(((MinMaxExpr *) node)->minmaxtype) ||
				list_involves_bsn(((MinMaxExpr *) node)->args))
				guard_refuse(ctx, "permission denied to compare values of type bsn", InvalidOid);
			break;
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;

				if (list_involves_bsn(f->args) && !function_allowed(f->funcid))
					guard_refuse(ctx, "permission denied to pass a value of type bsn to function %s", f->funcid);
			}
			break;
		case T_Aggref:
			{
				Aggref	   *a = (Aggref *) node;
				ListCell   *lc;

				if (a->aggdistinct != NIL)
					guard_sortgroup(ctx, a->aggdistinct, a->args, "permission denied to use DISTINCT on a value of type bsn");
				if (a->aggorder != NIL)
					guard_sortgroup(ctx, a->aggorder, a->args, "permission denied to sort by a value of type bsn");
				foreach(lc, a->args)
				{
					TargetEntry *tle = lfirst_node(TargetEntry, lc);

					if (!tle->resjunk && expr_involves_bsn((Node *) tle->expr) &&
						!function_allowed(a->aggfnoid))
						guard_refuse(ctx, "permission denied to aggregate values of type bsn with %s", a->aggfnoid);
				}
			}
			break;
		case T_WindowFunc:
			{
				WindowFunc *w = (WindowFunc *) node;

				if (list_involves_bsn(w->args) && !function_allowed(w->winfnoid))
					guard_refuse(ctx, "permission denied to aggregate values of type bsn with %s", w->winfnoid);
			}
			break;
		default:
			break;
	}
	return expression_tree_walker(node, guard_walker, ctx);
}

/*
 * Does a bsn value occur anywhere in the query (a column, a constant, a
 * parameter, a function result)?
 */
static bool
has_bsn_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, has_bsn_walker, context, 0);
	switch (nodeTag(node))
	{
		case T_Var:
		case T_Const:
		case T_Param:
		case T_FuncExpr:
		case T_Aggref:
		case T_WindowFunc:
		case T_CoerceToDomain:
		case T_RelabelType:
			if (privacy_type_involves_bsn(exprType(node)))
				return true;
			break;
		default:
			break;
	}
	return expression_tree_walker(node, has_bsn_walker, context);
}

/*
 * planner_hook: check the rewritten query (views expanded) before planning.
 * A query that uses BSN order or equality gets a plan that depends on the
 * role, so that a cached plan is never reused by a role with other rights.
 */
static PlannedStmt *
privacy_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	GuardContext ctx = {false, false, false};
	PlannedStmt *result;

	if (OidIsValid(privacy_bsn_type_oid()))
	{
		ctx.enforce = !privacy_bsn_authorized();
		ctx.has_bsn = has_bsn_walker((Node *) parse, NULL);
		if (ctx.has_bsn)
		{
			guard_records_hold_bsn = true;
			PG_TRY();
			{
				(void) guard_walker((Node *) parse, &ctx);
			}
			PG_FINALLY();
			{
				guard_records_hold_bsn = false;
			}
			PG_END_TRY();
		}
	}

	/* column policies: masked references, for this role */
	if (privacy_mask_query(parse))
		ctx.found = true;

	planner_depth++;
	PG_TRY();
	{
		if (prev_planner_hook)
			result = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		planner_depth--;
	}
	PG_END_TRY();

	if (ctx.found)
		result->dependsOnRole = true;
	return result;
}

/*
 * post_parse_analyze_hook: the planner inlines set-returning SQL functions
 * by parsing their bodies while it plans the calling query, after the
 * planner hook saw it.  Such bodies get the inference guard and the column
 * masks here.  (Bodies of functions that are not inlined are planned as
 * queries of their own and pass through the planner hook.)
 */
static void
privacy_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);

	if (planner_depth > 0 && query->commandType == CMD_SELECT &&
		OidIsValid(privacy_schema_oid()))
	{
		if (OidIsValid(privacy_bsn_type_oid()))
		{
			GuardContext ctx = {!privacy_bsn_authorized(), false, false};

			ctx.has_bsn = has_bsn_walker((Node *) query, NULL);
			if (ctx.has_bsn)
			{
				guard_records_hold_bsn = true;
				PG_TRY();
				{
					(void) guard_walker((Node *) query, &ctx);
				}
				PG_FINALLY();
				{
					guard_records_hold_bsn = false;
				}
				PG_END_TRY();
			}
		}
		(void) privacy_mask_query(query);
	}
}

/*
 * get_relation_info_hook: hide indexes keyed on a bsn from roles that may
 * not see BSNs, so that no plan returns rows in BSN order for them.  Index
 * maintenance and unique checks are not affected.
 */
static void
privacy_get_relation_info(PlannerInfo *root, Oid relationObjectId,
						  bool inhparent, RelOptInfo *rel)
{
	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relationObjectId, inhparent, rel);

	if (rel->indexlist != NIL && OidIsValid(privacy_bsn_type_oid()))
	{
		bool		authorized = privacy_bsn_authorized();
		ListCell   *lc;

		foreach(lc, rel->indexlist)
		{
			IndexOptInfo *idx = (IndexOptInfo *) lfirst(lc);
			int			c;

			for (c = 0; c < idx->nkeycolumns; c++)
			{
				if (privacy_type_involves_bsn(idx->opcintype[c]))
				{
					root->glob->dependsOnRole = true;
					if (!authorized)
						rel->indexlist = foreach_delete_current(rel->indexlist, lc);
					break;
				}
			}
		}
	}
}

/* --- the update guard --------------------------------------------------- */

typedef struct BsnUpdate
{
	Oid			relid;
	List	   *columns;		/* column names (char *) */
} BsnUpdate;

/*
 * The bsn columns a statement changes, per table.
 */
static List *
bsn_updates(PlannedStmt *stmt)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		BsnUpdate  *u = NULL;
		int			col = -1;

		if (rte->rtekind != RTE_RELATION || bms_is_empty(rte->updatedCols))
			continue;
		while ((col = bms_next_member(rte->updatedCols, col)) >= 0)
		{
			AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

			if (attno <= 0)
				continue;
			if (privacy_type_involves_bsn(get_atttype(rte->relid, attno)))
			{
				if (u == NULL)
				{
					u = palloc0(sizeof(BsnUpdate));
					u->relid = rte->relid;
					result = lappend(result, u);
				}
				u->columns = lappend(u->columns,
									 get_attname(rte->relid, attno, false));
			}
		}
	}
	return result;
}

static void
privacy_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
					bool execute_once)
{
	/* again at every fetch of a cursor: a grant may have ended meanwhile */
	(void) privacy_support_check(queryDesc->plannedstmt);

	privacy_exec_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun_hook)
			prev_ExecutorRun_hook(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		privacy_exec_level--;
	}
	PG_END_TRY();
}

static void
privacy_ExecutorFinish(QueryDesc *queryDesc)
{
	privacy_exec_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish_hook)
			prev_ExecutorFinish_hook(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		privacy_exec_level--;
	}
	PG_END_TRY();
}

static void
privacy_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	/* the statement the extension runs as a table's owner starts here */
	if (queryDesc->operation != CMD_SELECT &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		!privacy_acting_internally(0) &&
		OidIsValid(privacy_bsn_type_oid()) &&
		!privacy_bsn_authorized())
	{
		List	   *updates = bsn_updates(queryDesc->plannedstmt);

		if (updates != NIL)
		{
			BsnUpdate  *u = linitial(updates);

			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to change BSN column \"%s\" of table \"%s\"",
							(char *) linitial(u->columns), get_rel_name(u->relid)),
					 errdetail("Roles outside \"%s\" may insert a BSN but not change one.",
							   privacy_bsn_role),
					 errhint("Ask a member of role \"%s\" to make the change.",
							 privacy_bsn_role)));
		}
	}

	/* a support role reads registered tables only under an active grant */
	(void) privacy_support_check(queryDesc->plannedstmt);

	if (prev_ExecutorStart_hook)
		prev_ExecutorStart_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * Audit authorized BSN changes: one entry per statement and table, with the
 * columns and the number of rows the statement processed; never a value.
 */
static void
privacy_ExecutorEnd(QueryDesc *queryDesc)
{
	/* what a support role did under its grants goes to the audit trail */
	if (queryDesc->estate != NULL &&
		!(queryDesc->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		privacy_support_user(GetUserId()) && !privacy_acting_internally(0))
	{
		List	   *used = privacy_support_used(queryDesc->plannedstmt);

		if (used != NIL)
			privacy_support_log(queryDesc, used);
	}

	if (queryDesc->operation != CMD_SELECT &&
		queryDesc->estate != NULL &&
		OidIsValid(privacy_bsn_type_oid()))
	{
		List	   *updates = bsn_updates(queryDesc->plannedstmt);
		ListCell   *lc;

		foreach(lc, updates)
		{
			BsnUpdate  *u = lfirst(lc);
			JsonbParseState *st = NULL;
			JsonbValue	k;
			JsonbValue	v;
			ListCell   *c;
			JsonbValue *res;

			pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
			k.type = jbvString;
			k.val.string.val = "columns";
			k.val.string.len = 7;
			pushJsonbValue(&st, WJB_KEY, &k);
			pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
			foreach(c, u->columns)
			{
				v.type = jbvString;
				v.val.string.val = lfirst(c);
				v.val.string.len = strlen(lfirst(c));
				pushJsonbValue(&st, WJB_ELEM, &v);
			}
			pushJsonbValue(&st, WJB_END_ARRAY, NULL);
			k.val.string.val = "rows";
			k.val.string.len = 4;
			pushJsonbValue(&st, WJB_KEY, &k);
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric,
																Int64GetDatum((int64) queryDesc->estate->es_processed)));
			pushJsonbValue(&st, WJB_VALUE, &v);
			res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);

			privacy_audit_append("bsn.update",
								 quote_qualified_identifier(get_namespace_name(get_rel_namespace(u->relid)),
															get_rel_name(u->relid)),
								 NULL, NULL, JsonbValueToJsonb(res));
		}
	}

	if (prev_ExecutorEnd_hook)
		prev_ExecutorEnd_hook(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* --- utility commands: the DDL guard --------------------------------- */

/* what an allowed command did to a registered table, for the audit trail */
typedef struct GuardedChange
{
	Oid			relid;
	const char *what;
	char	   *renamed_from;	/* column renames to follow in the registry */
	char	   *renamed_to;
} GuardedChange;

static void
require_admin_for(const char *what, Oid relid)
{
	if (!privacy_role_is_admin(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s on \"%s\"", what,
						get_rel_name(relid)),
				 errdetail("The table is protected by pg_privacy; only members of role \"%s\" may do this.",
						   privacy_admin_role)));
}

static bool
name_in_list(const char *name, const char *commalist)
{
	char	   *copy;
	char	   *tok;
	char	   *save;

	if (name == NULL || commalist == NULL)
		return false;
	copy = pstrdup(commalist);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, name) == 0)
			return true;
	return false;
}

/* a column that the registry, the policies or the bsn guard depend on */
static bool
protected_column(PrivacyRegisteredTable *t, Oid relid, const char *colname)
{
	AttrNumber	attno;

	if (colname == NULL)
		return false;
	if (t != NULL && t->scope_column != NULL && strcmp(t->scope_column, colname) == 0)
		return true;
	if (t != NULL && name_in_list(colname, t->key_columns))
		return true;
	attno = get_attnum(relid, colname);
	return attno != InvalidAttrNumber &&
		privacy_type_involves_bsn(get_atttype(relid, attno));
}

static bool
is_extension_catalog(Oid relid)
{
	Oid			nsp = privacy_schema_oid();

	return OidIsValid(nsp) && get_rel_namespace(relid) == nsp;
}

/*
 * Check a utility command against the guard.  Returns what to audit (or
 * NULL) when the command may run.
 */
static GuardedChange *
ddl_guard(Node *parsetree)
{
	GuardedChange *change = NULL;
	Oid			relid = InvalidOid;
	PrivacyRegisteredTable *t;

	if (creating_extension || !OidIsValid(privacy_schema_oid()))
		return NULL;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			{
				AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
				ListCell   *lc;

				relid = RangeVarGetRelid(stmt->relation, NoLock, true);
				if (!OidIsValid(relid))
					return NULL;
				if (is_extension_catalog(relid))
				{
					require_admin_for("alter a catalog of pg_privacy", relid);
					break;
				}
				t = privacy_registered_table(relid);
				foreach(lc, stmt->cmds)
				{
					AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

					if (!IsA(cmd, AlterTableCmd))
						continue;
					switch (cmd->subtype)
					{
						case AT_DisableRowSecurity:
						case AT_NoForceRowSecurity:
							if (t != NULL && t->scoped)
								require_admin_for("turn off row-level security", relid);
							break;
						case AT_DropColumn:
							if (protected_column(t, relid, cmd->name))
								require_admin_for(psprintf("drop column \"%s\"", cmd->name), relid);
							break;
						case AT_AlterColumnType:
							if (protected_column(t, relid, cmd->name))
								require_admin_for(psprintf("change the type of column \"%s\"", cmd->name), relid);
							break;
						case AT_AddInherit:
							/* as a child, the table's rows are read through the parent's policies */
							if (t != NULL && t->scoped)
								require_admin_for("make the table inherit from another", relid);
							break;
						case AT_AttachPartition:
							{
								PartitionCmd *pc = (PartitionCmd *) cmd->def;
								Oid			part = RangeVarGetRelid(pc->name, NoLock, true);
								PrivacyRegisteredTable *pt = OidIsValid(part) ?
								privacy_registered_table(part) : NULL;

								if (pt != NULL && pt->scoped)
									require_admin_for(psprintf("attach \"%s\" as a partition",
															   get_rel_name(part)), relid);
							}
							break;
						case AT_DisableTrig:
						case AT_EnableTrig:
						case AT_EnableReplicaTrig:
							if (t != NULL && cmd->name != NULL &&
								strcmp(cmd->name, "privacy_column_guard") == 0)
								require_admin_for("change trigger \"privacy_column_guard\"", relid);
							break;
						case AT_DisableTrigAll:
						case AT_DisableTrigUser:
						case AT_EnableTrigAll:
						case AT_EnableTrigUser:
							if (t != NULL)
								require_admin_for("change the triggers", relid);
							break;
						default:
							break;
					}
				}
				if (t != NULL)
				{
					change = palloc0(sizeof(GuardedChange));
					change->what = "ALTER TABLE";
				}
			}
			break;

		case T_DropStmt:
			{
				DropStmt   *stmt = (DropStmt *) parsetree;
				ListCell   *lc;

				foreach(lc, stmt->objects)
				{
					if (stmt->removeType == OBJECT_POLICY)
					{
						List	   *names = list_copy((List *) lfirst(lc));
						char	   *policy = strVal(llast(names));

						names = list_truncate(names, list_length(names) - 1);
						relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
						if (OidIsValid(relid) && privacy_registered_table(relid) != NULL)
						{
							if (strcmp(policy, "privacy_scope") == 0 || strcmp(policy, "privacy_base") == 0)
								require_admin_for(psprintf("drop policy \"%s\"", policy), relid);
							change = palloc0(sizeof(GuardedChange));
							change->what = "DROP POLICY";
						}
					}
					else if (stmt->removeType == OBJECT_TRIGGER)
					{
						List	   *names = list_copy((List *) lfirst(lc));
						char	   *trigger = strVal(llast(names));

						names = list_truncate(names, list_length(names) - 1);
						relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
						if (OidIsValid(relid) && strcmp(trigger, "privacy_column_guard") == 0 &&
							privacy_registered_table(relid) != NULL)
							require_admin_for("drop trigger \"privacy_column_guard\"", relid);
					}
					else if (stmt->removeType == OBJECT_TABLE)
					{
						relid = RangeVarGetRelid(makeRangeVarFromNameList((List *) lfirst(lc)),
												 NoLock, true);
						if (OidIsValid(relid) && is_extension_catalog(relid))
							require_admin_for("drop a catalog of pg_privacy", relid);
					}
				}
			}
			break;

		case T_AlterPolicyStmt:
			{
				AlterPolicyStmt *stmt = (AlterPolicyStmt *) parsetree;

				relid = RangeVarGetRelid(stmt->table, NoLock, true);
				if (OidIsValid(relid) && (strcmp(stmt->policy_name, "privacy_scope") == 0 || strcmp(stmt->policy_name, "privacy_base") == 0) &&
					privacy_registered_table(relid) != NULL)
				{
					require_admin_for(psprintf("alter policy \"%s\"", stmt->policy_name), relid);
					change = palloc0(sizeof(GuardedChange));
					change->what = "ALTER POLICY";
				}
			}
			break;

		case T_CreatePolicyStmt:
			{
				CreatePolicyStmt *stmt = (CreatePolicyStmt *) parsetree;

				relid = RangeVarGetRelid(stmt->table, NoLock, true);
				t = OidIsValid(relid) ? privacy_registered_table(relid) : NULL;
				if (t != NULL)
				{
					/* a permissive policy would widen what the scope allows */
					if (t->scoped)
						require_admin_for("create a policy", relid);
					change = palloc0(sizeof(GuardedChange));
					change->what = "CREATE POLICY";
				}
			}
			break;

		case T_TruncateStmt:
			{
				TruncateStmt *stmt = (TruncateStmt *) parsetree;
				ListCell   *lc;

				foreach(lc, stmt->relations)
				{
					relid = RangeVarGetRelid((RangeVar *) lfirst(lc), NoLock, true);
					if (OidIsValid(relid) && is_extension_catalog(relid))
						require_admin_for("truncate a catalog of pg_privacy", relid);
				}
			}
			break;

		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parsetree;

				if (stmt->relation == NULL)
					return NULL;
				relid = RangeVarGetRelid(stmt->relation, NoLock, true);
				if (!OidIsValid(relid))
					return NULL;
				if (stmt->renameType == OBJECT_POLICY)
				{
					if (privacy_registered_table(relid) == NULL)
						return NULL;
					if (strcmp(stmt->subname, "privacy_scope") == 0 || strcmp(stmt->subname, "privacy_base") == 0)
						require_admin_for(psprintf("rename policy \"%s\"", stmt->subname), relid);
					change = palloc0(sizeof(GuardedChange));
					change->what = "RENAME POLICY";
					break;
				}
				if (is_extension_catalog(relid))
					require_admin_for("rename a catalog of pg_privacy", relid);
				if (privacy_registered_table(relid) != NULL)
				{
					change = palloc0(sizeof(GuardedChange));
					change->what = stmt->renameType == OBJECT_COLUMN ? "RENAME COLUMN" : "RENAME";
					if (stmt->renameType == OBJECT_COLUMN)
					{
						change->renamed_from = pstrdup(stmt->subname);
						change->renamed_to = pstrdup(stmt->newname);
					}
				}
			}
			break;

		default:
			break;
	}
	if (change != NULL)
		change->relid = relid;
	return change;
}

/*
 * After an allowed change: follow a column rename in the registry, and
 * write the change to the audit trail.
 */
static void
ddl_after(GuardedChange *change)
{
	JsonbParseState *st = NULL;
	JsonbValue	k;
	JsonbValue	v;
	JsonbValue *res;

	if (change->renamed_from != NULL)
	{
		Oid			argtypes[3] = {OIDOID, TEXTOID, TEXTOID};
		Datum		values[3];

		values[0] = ObjectIdGetDatum(change->relid);
		values[1] = CStringGetTextDatum(change->renamed_from);
		values[2] = CStringGetTextDatum(change->renamed_to);
		privacy_registry_exec("SELECT privacy._rename_column($1::regclass, $2::name, $3::name)",
							  3, argtypes, values);
	}

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	k.type = jbvString;
	k.val.string.val = "command";
	k.val.string.len = 7;
	pushJsonbValue(&st, WJB_KEY, &k);
	v.type = jbvString;
	v.val.string.val = (char *) change->what;
	v.val.string.len = strlen(change->what);
	pushJsonbValue(&st, WJB_VALUE, &v);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	privacy_audit_append("ddl", quote_qualified_identifier(get_namespace_name(get_rel_namespace(change->relid)),
														   get_rel_name(change->relid)),
						 NULL, NULL, JsonbValueToJsonb(res));
}

/*
 * Refuse the table's indexes (and exclusion constraints) keyed on a bsn.
 */
/*
 * Is key column c of an index a bsn, or built on one?  Looks at the
 * operator class, the indexed column and the index expression, since an
 * operator class for any array hides an array of bsn.
 */
static bool
index_key_involves_bsn(Relation idx, int c)
{
	AttrNumber	attno = idx->rd_index->indkey.values[c];

	if (privacy_type_involves_bsn(idx->rd_opcintype[c]))
		return true;
	if (attno != 0)
		return privacy_type_involves_bsn(get_atttype(idx->rd_index->indrelid, attno));
	else
	{
		List	   *exprs = RelationGetIndexExpressions(idx);
		int			e = 0;
		int			i;

		/* the expression of key column c is the n-th among expression columns */
		for (i = 0; i < c; i++)
			if (idx->rd_index->indkey.values[i] == 0)
				e++;
		return e < list_length(exprs) &&
			privacy_type_involves_bsn(exprType(list_nth(exprs, e)));
	}
}

static List *
index_oids(Oid relid)
{
	Relation	rel;
	List	   *indexes;

	if (!OidIsValid(relid) || get_rel_relkind(relid) == '\0')
		return NIL;
	rel = relation_open(relid, NoLock);
	indexes = list_copy(RelationGetIndexList(rel));
	relation_close(rel, NoLock);
	return indexes;
}

static void
refuse_bsn_indexes(Oid relid, List *before)
{
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;

	if (get_rel_relkind(relid) == '\0')
		return;
	rel = relation_open(relid, NoLock);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx;
		int			c;

		/* only the indexes this command made */
		if (list_member_oid(before, lfirst_oid(lc)))
			continue;
		idx = index_open(lfirst_oid(lc), AccessShareLock);

		for (c = 0; c < IndexRelationGetNumberOfKeyAttributes(idx); c++)
		{
			if (index_key_involves_bsn(idx, c))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to create an index or constraint keyed on a bsn on \"%s\"",
								RelationGetRelationName(rel)),
						 errdetail("Only members of role \"%s\" may index, or constrain the uniqueness of, BSNs.",
								   privacy_bsn_role)));
		}
		index_close(idx, AccessShareLock);
	}
	relation_close(rel, NoLock);
}

/*
 * ProcessUtility_hook: the DDL guard before the command; after it, the
 * registry follows renames, allowed changes are audited, and a partitioned
 * table keyed on a bsn is refused to a role that may not see BSNs (routing
 * rows compares or hashes the key, and the partition a row lands in would
 * reveal where its BSN lies; the check runs on the created table's actual
 * key, and the error rolls the creation back).
 */
static void
privacy_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	CreateStmt *create = NULL;
	GuardedChange *change;
	List	   *dropped_roles = NIL;
	RangeVar   *index_rv = NULL;
	Oid			index_target = InvalidOid;
	List	   *indexes_before = NIL;

	/*
	 * COPY of a table with masked columns to a client goes through the
	 * planner as COPY (SELECT ...), so that the masks apply, as PostgreSQL
	 * itself does for tables with row-level security.
	 */
	if (IsA(parsetree, CopyStmt) && OidIsValid(privacy_schema_oid()))
	{
		CopyStmt   *copy = (CopyStmt *) parsetree;

		/*
		 * A support role copies registered tables through a query, which
		 * the executor checks against its grants and audits.
		 */
		if (copy->relation != NULL && privacy_support_user(GetUserId()))
		{
			Oid			relid = RangeVarGetRelid(copy->relation, NoLock, true);

			if (OidIsValid(relid) && privacy_registered_table(relid) != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to copy table \"%s\" as a support role",
								get_rel_name(relid)),
						 errhint("Use COPY (SELECT ...) TO, which runs under the access grant and is audited.")));
		}

		if (!copy->is_from && copy->relation != NULL && copy->query == NULL)
		{
			Oid			relid = RangeVarGetRelid(copy->relation, NoLock, true);

			if (OidIsValid(relid) && privacy_copy_needs_query(relid))
			{
				StringInfoData sql;
				ListCell   *lc;
				List	   *raw;

				initStringInfo(&sql);
				appendStringInfoString(&sql, "SELECT ");
				if (copy->attlist == NIL)
					appendStringInfoString(&sql, "*");
				foreach(lc, copy->attlist)
				{
					if (lc != list_head(copy->attlist))
						appendStringInfoString(&sql, ", ");
					appendStringInfoString(&sql, quote_identifier(strVal(lfirst(lc))));
				}
				appendStringInfo(&sql, " FROM %s%s",
								 copy->relation->inh ? "" : "ONLY ",
								 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															get_rel_name(relid)));
				raw = raw_parser(sql.data, RAW_PARSE_DEFAULT);
				pstmt = copyObject(pstmt);
				copy = (CopyStmt *) pstmt->utilityStmt;
				copy->query = ((RawStmt *) linitial(raw))->stmt;
				copy->relation = NULL;
				copy->attlist = NIL;
				parsetree = (Node *) copy;
				readOnlyTree = false;
			}
		}
	}

	change = ddl_guard(parsetree);
	if (IsA(parsetree, CreateStmt) && ((CreateStmt *) parsetree)->partspec != NULL)
		create = (CreateStmt *) copyObject(parsetree);
	if (IsA(parsetree, IndexStmt))
		index_rv = copyObject(((IndexStmt *) parsetree)->relation);
	else if (IsA(parsetree, CreateStmt))
		index_rv = copyObject(((CreateStmt *) parsetree)->relation);
	else if (IsA(parsetree, AlterTableStmt))
		index_rv = copyObject(((AlterTableStmt *) parsetree)->relation);
	if (index_rv != NULL && OidIsValid(privacy_bsn_type_oid()))
		indexes_before = index_oids(RangeVarGetRelid(index_rv, NoLock, true));
	if (IsA(parsetree, DropRoleStmt) && OidIsValid(privacy_schema_oid()))
	{
		ListCell   *lc;

		foreach(lc, ((DropRoleStmt *) parsetree)->roles)
		{
			RoleSpec   *spec = (RoleSpec *) lfirst(lc);
			Oid			roleid = (spec->roletype == ROLESPEC_CSTRING) ?
			get_role_oid(spec->rolename, true) : InvalidOid;

			if (OidIsValid(roleid))
				dropped_roles = lappend_oid(dropped_roles, roleid);
		}
	}

	if (prev_ProcessUtility_hook)
		prev_ProcessUtility_hook(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (change != NULL)
		ddl_after(change);
	if (index_rv != NULL)
		index_target = RangeVarGetRelid(index_rv, NoLock, true);

	/* a dropped role's scopes go with it (a new role could get its OID) */
	if (dropped_roles != NIL)
	{
		ListCell   *lc;

		foreach(lc, dropped_roles)
		{
			Oid			argtypes[1] = {OIDOID};
			Datum		values[1];

			values[0] = ObjectIdGetDatum(lfirst_oid(lc));
			privacy_registry_exec("DELETE FROM privacy.scope_grant WHERE role::oid = $1",
								  1, argtypes, values);
		}
	}

	/*
	 * A role that may not see BSNs may not have an index or an exclusion
	 * constraint keyed on a bsn: every insert into it would compare or hash
	 * the key, and an exclusion or unique check against numbers of its
	 * choosing would recover a stored BSN.  Checked on the table after the
	 * command, whatever the access method, so that the error rolls it back.
	 */
	if (index_target != InvalidOid && OidIsValid(privacy_bsn_type_oid()) &&
		!privacy_bsn_authorized() && !privacy_role_bsn_authorized(GetOuterUserId()))
		refuse_bsn_indexes(index_target, indexes_before);

	if (create != NULL && OidIsValid(privacy_bsn_type_oid()) &&
		!privacy_bsn_authorized())
	{
		Oid			relid = RangeVarGetRelid(create->relation, NoLock, true);

		if (OidIsValid(relid))
		{
			Relation	rel = relation_open(relid, NoLock);
			PartitionKey key = RelationGetPartitionKey(rel);
			int			i;

			for (i = 0; key != NULL && i < key->partnatts; i++)
			{
				if (privacy_type_involves_bsn(key->parttypid[i]))
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("permission denied to partition a table by a value of type bsn"),
							 errdetail("Only members of role \"%s\" may partition by a BSN.",
									   privacy_bsn_role)));
			}
			relation_close(rel, NoLock);
		}
	}
}

/* --- the log scrubber --------------------------------------------------- */

/*
 * Mask BSN-like numbers in every text of a message before it is logged or
 * sent, and keep a statement that contains one out of the log.  Works in
 * place and allocates nothing.
 */
static void
privacy_emit_log(ErrorData *edata)
{
	privacy_scrub_bsn(edata->message);
	privacy_scrub_bsn(edata->detail);
	privacy_scrub_bsn(edata->detail_log);
	privacy_scrub_bsn(edata->hint);
	privacy_scrub_bsn(edata->context);
	privacy_scrub_bsn(edata->internalquery);
	if (!edata->hide_stmt && debug_query_string != NULL &&
		privacy_text_has_bsn(debug_query_string, 8))
		edata->hide_stmt = true;

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * privacy_hooks_init: install the hooks.  Called from _PG_init only when
 * the library is preloaded.
 */
void
privacy_hooks_init(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = privacy_planner;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = privacy_post_parse_analyze;
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = privacy_get_relation_info;
	prev_ExecutorStart_hook = ExecutorStart_hook;
	ExecutorStart_hook = privacy_ExecutorStart;
	prev_ExecutorEnd_hook = ExecutorEnd_hook;
	ExecutorEnd_hook = privacy_ExecutorEnd;
	prev_ExecutorRun_hook = ExecutorRun_hook;
	ExecutorRun_hook = privacy_ExecutorRun;
	prev_ExecutorFinish_hook = ExecutorFinish_hook;
	ExecutorFinish_hook = privacy_ExecutorFinish;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = privacy_emit_log;
	prev_ProcessUtility_hook = ProcessUtility_hook;
	ProcessUtility_hook = privacy_ProcessUtility;

	CacheRegisterSyscacheCallback(PROCOID, allowed_invalidate, (Datum) 0);
}
