/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  C support for retention rules: checking the expressions a privacy
 *	  admin writes into a rule, and refusing a purge inside a transaction
 *	  block.
 *
 * A retention rule holds two pieces of SQL written by the privacy admin: a
 * condition that selects the rows of a document type and an expression for
 * the date that starts the clock.  The purge runs them as the extension's
 * owner (it must see and delete rows no single role may see), so they are
 * held to what a date calculation needs: one value expression, functions
 * and operators of pg_catalog that are not volatile and do not read
 * arbitrary relations, and subqueries only over tables the admin may read
 * that are neither system catalogs nor temporary.  Anything else would let
 * the admin act as the owner.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "pg_privacy.h"

PG_FUNCTION_INFO_V1(privacy_check_expression);
PG_FUNCTION_INFO_V1(privacy_require_top_level);

typedef struct ExprCheck
{
	const char *what;			/* "condition", "start expression", ... */
	Oid			caller;
} ExprCheck;

static void
refuse(ExprCheck *ec, const char *detail_fmt, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the %s may not use %s", ec->what, name),
			 errdetail("%s", detail_fmt),
			 errhint("A retention expression may use the row's columns, its subjects' columns, "
					 "non-volatile functions and operators of pg_catalog, and subqueries over "
					 "tables you may read.")));
}

/* Whether a function may run inside a rule: see the file header. */
static bool
check_function(Oid funcid, void *context)
{
	ExprCheck  *ec = (ExprCheck *) context;
	char	   *name = get_func_name(funcid);

	if (name == NULL)
		elog(ERROR, "cache lookup failed for function %u", funcid);
	if (get_func_namespace(funcid) != PG_CATALOG_NAMESPACE)
		refuse(ec, "Only functions and operators of pg_catalog may be used.",
			   quote_identifier(name));
	if (func_volatile(funcid) == PROVOLATILE_VOLATILE)
		refuse(ec, "Volatile functions may not be used.", quote_identifier(name));
	/* readers of relations, settings and server state by name */
	if (strncmp(name, "pg_", 3) == 0 || strstr(name, "_to_xml") != NULL ||
		strcmp(name, "current_setting") == 0)
		refuse(ec, "Functions that read relations or server state may not be used.",
			   quote_identifier(name));
	return false;
}

static bool
check_walker(Node *node, ExprCheck *ec)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		if (q->rowMarks != NIL)
			refuse(ec, "Subqueries may not lock rows.", "FOR UPDATE or FOR SHARE");
		if (q->commandType != CMD_SELECT)
			refuse(ec, "Only SELECT subqueries may be used.", "a data-modifying statement");
		return query_tree_walker(q, check_walker, ec, QTW_EXAMINE_RTES_BEFORE);
	}
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
		{
			Oid			nsp = get_rel_namespace(rte->relid);
			char	   *relname = get_rel_name(rte->relid);

			if (IsCatalogRelationOid(rte->relid) || IsCatalogNamespace(nsp) ||
				IsToastNamespace(nsp) ||
				strcmp(get_namespace_name(nsp), "information_schema") == 0)
				refuse(ec, "System catalogs may not be read.", quote_identifier(relname));
			if (isAnyTempNamespace(nsp))
				refuse(ec, "Temporary tables may not be read.", quote_identifier(relname));

			/*
			 * A view runs the code of whoever wrote it, as the purge's owner;
			 * a foreign table reaches outside the database.  Tables and
			 * materialized views only hold data.
			 */
			if (rte->relkind != RELKIND_RELATION &&
				rte->relkind != RELKIND_PARTITIONED_TABLE &&
				rte->relkind != RELKIND_MATVIEW)
				refuse(ec, "Only tables and materialized views may be read, not views or foreign tables.",
					   quote_identifier(relname));
			if (pg_class_aclcheck(rte->relid, ec->caller, ACL_SELECT) != ACLCHECK_OK)
				refuse(ec, "You may not read this table yourself.", quote_identifier(relname));
		}
		return false;
	}
	if (IsA(node, CoerceToDomain))
		refuse(ec, "Domain constraints could run functions outside pg_catalog.", "a domain");
	if (check_functions_in_node(node, check_function, ec))
		return true;
	return expression_tree_walker(node, check_walker, ec);
}

typedef struct ExprErrorContext
{
	const char *what;
	const char *sql;
} ExprErrorContext;

/*
 * Errors while parsing the query built around an expression: point into
 * that query, not into the statement the client sent, and say which
 * expression it was.
 */
static void
expression_error_callback(void *arg)
{
	ExprErrorContext *ctx = (ExprErrorContext *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(ctx->sql);
	}
	errcontext("retention rule %s", ctx->what);
}

/*
 * privacy._check_expression(from_clause, expr, what, author): the type of
 * expr evaluated over from_clause, after checking that expr is one value
 * expression the purge may run (see the file header), reading only what
 * author (the rule's author; NULL for the caller) may read.  from_clause is
 * built by the extension; only expr comes from the admin.
 */
Datum
privacy_check_expression(PG_FUNCTION_ARGS)
{
	char	   *from = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *expr = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *what = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Oid			checker = PG_ARGISNULL(3) ? GetOuterUserId() : PG_GETARG_OID(3);
	List	   *raw;
	SelectStmt *sel;
	StringInfoData sql;
	RawStmt    *rs;
	Query	   *query;
	TargetEntry *tle;
	ExprCheck	ec;
	ExprErrorContext errctx;
	ErrorContextCallback errcb;

	ec.what = what;
	ec.caller = checker;

	/*
	 * Alone, the text must parse as exactly one target without any clause:
	 * then, between parentheses, it cannot reach out of its place in the
	 * query built around it.
	 */
	errctx.what = what;
	errctx.sql = expr;
	errcb.callback = expression_error_callback;
	errcb.arg = &errctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = raw_parser(expr, RAW_PARSE_PLPGSQL_EXPR);
	sel = (list_length(raw) == 1 &&
		   IsA(linitial_node(RawStmt, raw)->stmt, SelectStmt)) ?
		(SelectStmt *) linitial_node(RawStmt, raw)->stmt : NULL;
	if (sel == NULL || list_length(sel->targetList) != 1 ||
		sel->fromClause != NIL || sel->whereClause != NULL ||
		sel->groupClause != NIL || sel->havingClause != NULL ||
		sel->windowClause != NIL || sel->sortClause != NIL ||
		sel->limitCount != NULL || sel->limitOffset != NULL ||
		sel->lockingClause != NIL || sel->distinctClause != NIL ||
		sel->intoClause != NULL || sel->withClause != NULL ||
		linitial_node(ResTarget, sel->targetList)->name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the %s must be a single value expression", what),
				 errdetail("It may not have a FROM, WHERE or other clause, an alias, or several values.")));

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT (%s\n) FROM %s", expr, from);
	errctx.sql = sql.data;
	raw = pg_parse_query(sql.data);
	if (list_length(raw) != 1)
		elog(ERROR, "retention expression parsed into %d statements", list_length(raw));
	rs = linitial_node(RawStmt, raw);
	query = parse_analyze_fixedparams(rs, sql.data, NULL, 0, NULL);
	error_context_stack = errcb.previous;
	tle = linitial_node(TargetEntry, query->targetList);
	if (expression_returns_set((Node *) tle->expr))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the %s may not return a set", what)));
	if (query->hasAggs || query->hasWindowFuncs)
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("the %s may not use aggregate or window functions over the rows", what),
				 errhint("Use a subquery to aggregate over other rows.")));
	check_walker((Node *) tle->expr, &ec);
	PG_RETURN_OID(exprType((Node *) tle->expr));
}

/*
 * privacy._require_top_level(what): refuse inside a transaction block.  The
 * purge commits after every batch, which only a CALL of its own can do; the
 * generic error PostgreSQL would give later says nothing about why.
 */
Datum
privacy_require_top_level(PG_FUNCTION_ARGS)
{
	char	   *what = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", what),
				 errdetail("It commits after every batch, so that locks are held briefly and finished batches survive a cancel or crash."),
				 errhint("CALL it on its own, or run it with dry_run => true, which only counts.")));
	PG_RETURN_VOID();
}
