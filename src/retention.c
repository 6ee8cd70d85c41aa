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
#include "executor/spi.h"
#include "parser/analyze.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pg_privacy.h"

PG_FUNCTION_INFO_V1(privacy_check_expression);
PG_FUNCTION_INFO_V1(privacy_require_top_level);
PG_FUNCTION_INFO_V1(privacy_act_as_owner);
PG_FUNCTION_INFO_V1(privacy_type_involves_bsn_sql);
PG_FUNCTION_INFO_V1(privacy_base_type);
PG_FUNCTION_INFO_V1(privacy_column_type);
PG_FUNCTION_INFO_V1(privacy_sql_cache_get);
PG_FUNCTION_INFO_V1(privacy_sql_cache_put);

int			privacy_internal_depth = 0;

int			privacy_internal_level = -1;

/*
 * privacy_acting_internally: is the extension acting as a table's owner in
 * the statement running at offset levels below the one _act_as_owner
 * started (0: the statement's start; 1: its execution)?  Statements that
 * the statement's triggers run are deeper, and get no bypass.  Without the
 * preloaded hooks the levels are unknown, and the bypass holds for
 * everything _act_as_owner runs.
 */
bool
privacy_acting_internally(int offset)
{
	if (privacy_internal_depth == 0)
		return false;
	if (!privacy_hooks_active)
		return true;
	return privacy_exec_level == privacy_internal_level + offset;
}

typedef struct ExprCheck
{
	const char *what;			/* "condition", "start expression", ... */
	Oid			caller;			/* the rule's author */
	List	   *rtables;		/* range tables of the enclosing queries, innermost first */
} ExprCheck;

static void
refuse(ExprCheck *ec, const char *detail_fmt, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the %s may not use %s", ec->what, name),
			 errdetail("%s", detail_fmt),
			 errhint("A retention expression may use the columns you may read in full, "
					 "non-volatile functions and operators of pg_catalog, and subqueries over "
					 "tables you may read.")));
}

static bool
has_suffix(const char *name, const char *suffix)
{
	size_t		n = strlen(name);
	size_t		m = strlen(suffix);

	return n >= m && strcmp(name + n - m, suffix) == 0;
}

/* does the function take a cstring or internal argument? */
static bool
takes_internal_args(Oid funcid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	bool		result = false;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	for (i = 0; i < proc->pronargs; i++)
		if (proc->proargtypes.values[i] == CSTRINGOID ||
			proc->proargtypes.values[i] == INTERNALOID)
			result = true;
	ReleaseSysCache(tup);
	return result;
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

/*
 * A function called by name (not reached through a cast, whose target type
 * check_type covers): type input functions, validators and handlers make
 * values of any type, or parse other code.
 */
static void
check_called_function(ExprCheck *ec, Oid funcid)
{
	char	   *name = get_func_name(funcid);

	if (name == NULL)
		elog(ERROR, "cache lookup failed for function %u", funcid);
	if (has_suffix(name, "_in") || has_suffix(name, "_recv") ||
		has_suffix(name, "_validator") || has_suffix(name, "_handler") ||
		has_suffix(name, "_support") || takes_internal_args(funcid))
		refuse(ec, "Type input functions, validators and handlers may not be used.",
			   quote_identifier(name));
}

/*
 * A value of a type outside pg_catalog could run code that is not the
 * system's when it is made: a domain's check, a composite's columns.
 */
static void
check_type(ExprCheck *ec, Oid typid)
{
	HeapTuple	tup;
	Oid			nsp;
	Oid			elem;

	if (!OidIsValid(typid))
		return;
	/* an enum's labels are data, its input function the system's */
	elem = get_element_type(typid);
	if (type_is_enum(OidIsValid(elem) ? elem : typid))
		return;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nsp = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);
	if (nsp != PG_CATALOG_NAMESPACE)
		refuse(ec, "Only values of the types of pg_catalog may be made or converted.",
			   format_type_be(typid));
}

/*
 * A column the expression reads: the author must be able to read it in
 * full, or the rule, run as the owner, would tell what the author may not
 * see (by the rows it selects, the dates it computes or its errors).
 */
static void
check_column(ExprCheck *ec, Oid relid, AttrNumber attnum)
{
	char	   *colname = get_attname(relid, attnum, true);
	char	   *what;

	if (colname == NULL)
		return;
	what = psprintf("column %s of %s", quote_identifier(colname),
					quote_identifier(get_rel_name(relid)));
	if (pg_attribute_aclcheck(relid, attnum, ec->caller, ACL_SELECT) != ACLCHECK_OK &&
		pg_class_aclcheck(relid, ec->caller, ACL_SELECT) != ACLCHECK_OK)
		refuse(ec, "You may not read this column yourself.", what);
	if (privacy_column_masked_for(relid, attnum, ec->caller))
		refuse(ec, "You read this column masked.", what);
	if (privacy_type_involves_bsn(get_atttype(relid, attnum)) &&
		!privacy_role_bsn_authorized(ec->caller))
		refuse(ec, "You are not authorized for BSNs.", what);
}

/* the range table entry a Var points to */
static RangeTblEntry *
var_rte(ExprCheck *ec, Var *var)
{
	List	   *rtable;

	if (var->varlevelsup >= list_length(ec->rtables))
		elog(ERROR, "retention expression refers to an unknown query level");
	rtable = (List *) list_nth(ec->rtables, var->varlevelsup);
	return rt_fetch(var->varno, rtable);
}

static bool
check_walker(Node *node, ExprCheck *ec)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		bool		result;
		ListCell   *lc;

		if (q->rowMarks != NIL)
			refuse(ec, "Subqueries may not lock rows.", "FOR UPDATE or FOR SHARE");
		if (q->commandType != CMD_SELECT)
			refuse(ec, "Only SELECT subqueries may be used.", "a data-modifying statement");
		/* the tables first: reading a catalog is refused as such */
		foreach(lc, q->rtable)
			check_walker((Node *) lfirst(lc), ec);
		ec->rtables = lcons(q->rtable, ec->rtables);
		result = query_tree_walker(q, check_walker, ec, QTW_EXAMINE_RTES_BEFORE);
		ec->rtables = list_delete_first(ec->rtables);
		return result;
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
			if (pg_class_aclcheck(rte->relid, ec->caller, ACL_SELECT) != ACLCHECK_OK &&
				pg_attribute_aclcheck_all(rte->relid, ec->caller, ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
				refuse(ec, "You may not read this table yourself.", quote_identifier(relname));
		}
		else if (rte->rtekind == RTE_FUNCTION)
		{
			ListCell   *lc;

			/* a column definition list converts values to its types */
			foreach(lc, rte->functions)
			{
				RangeTblFunction *rtf = (RangeTblFunction *) lfirst(lc);
				ListCell   *tc;

				foreach(tc, rtf->funccoltypes)
					check_type(ec, lfirst_oid(tc));
			}
		}
		else if (rte->rtekind == RTE_TABLEFUNC)
		{
			ListCell   *tc;

			foreach(tc, rte->tablefunc->coltypes)
				check_type(ec, lfirst_oid(tc));
		}
		return false;
	}
	if (IsA(node, FieldSelect) && IsA(((FieldSelect *) node)->arg, Var) &&
		var_rte(ec, (Var *) ((FieldSelect *) node)->arg)->rtekind == RTE_SUBQUERY)
	{
		FieldSelect *fs = (FieldSelect *) node;
		Var		   *var = (Var *) fs->arg;
		Oid			relid = typeidTypeRelid(var->vartype);

		/* a column of a subject's row: (candidate).birth_date */
		if (OidIsValid(relid))
		{
			check_column(ec, relid, fs->fieldnum);
			return false;
		}
	}
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		RangeTblEntry *rte = var_rte(ec, var);

		if (var->varattno == InvalidAttrNumber || OidIsValid(typeidTypeRelid(var->vartype)))
			refuse(ec, "Read the columns of a row one by one.", "a whole row");
		if (rte->rtekind == RTE_RELATION)
			check_column(ec, rte->relid, var->varattno);
		else if (rte->rtekind == RTE_JOIN)
			refuse(ec, "Qualify the column with its table instead.", "a column of a join");
		return false;
	}
	if (IsA(node, CoerceToDomain))
		refuse(ec, "Domain constraints could run functions outside pg_catalog.", "a domain");
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcformat == COERCE_EXPLICIT_CALL)
		check_called_function(ec, ((FuncExpr *) node)->funcid);
	if (IsA(node, Const) || IsA(node, CoerceViaIO) || IsA(node, ArrayCoerceExpr) ||
		IsA(node, RelabelType) || IsA(node, ConvertRowtypeExpr) || IsA(node, ArrayExpr) ||
		IsA(node, RowExpr))
		check_type(ec, exprType(node));
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
	char	   *from;
	char	   *expr;
	char	   *what;
	Oid			checker;
	List	   *raw;
	SelectStmt *sel;
	StringInfoData sql;
	RawStmt    *rs;
	Query	   *query;
	TargetEntry *tle;
	ExprCheck	ec;
	ExprErrorContext errctx;
	ErrorContextCallback errcb;
	Oid			save_userid;
	int			save_sec;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	from = text_to_cstring(PG_GETARG_TEXT_PP(0));
	expr = text_to_cstring(PG_GETARG_TEXT_PP(1));
	what = text_to_cstring(PG_GETARG_TEXT_PP(2));
	checker = PG_ARGISNULL(3) ? GetOuterUserId() : PG_GETARG_OID(3);
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
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the %s must be a single value expression", what)));
	rs = linitial_node(RawStmt, raw);

	/*
	 * Analysis can run code (a type's input function for a literal): it
	 * runs as the author, not as the owner, and restricted as maintenance
	 * commands are.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(checker, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		query = parse_analyze_fixedparams(rs, sql.data, NULL, 0, NULL);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
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
	ec.rtables = list_make1(query->rtable);
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

/*
 * privacy._act_as_owner(tbl, sql, VARIADIC args): run a statement the purge
 * or an erasure built (its parameters the tuple ids and their table oids,
 * or a subject key) as the owner of the table, as PostgreSQL runs
 * maintenance commands: the table's triggers then run with the owner's
 * rights, not the extension owner's, and cannot change the session.  The
 * extension's own row policies let every row through for this statement
 * (the rows were chosen by the rules), not for the queries its triggers
 * run (privacy_acting_internally); other policies of the table still apply
 * to its owner.  The statement runs with a kept plan (plans.c), in which
 * the extension's policies stay calls, decided when they run.  Returns the
 * number of rows processed; nothing is run when the first parameter is
 * NULL.
 */
uint64
privacy_act_as_owner_run(Oid relid, const char *sql, int nargs, Oid *argtypes,
						 Datum *values, char *nulls)
{
	HeapTuple	tup;
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			save_level;
	uint64		processed = 0;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	save_level = privacy_internal_level;
	privacy_internal_level = privacy_exec_level;
	privacy_internal_depth++;
	PG_TRY();
	{
		/*
		 * The path is pinned to the extension's; it and the owner's
		 * settings are gone with save_nestlevel at the end.
		 */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		(void) privacy_push_extension_path();
		processed = privacy_kept_execute(sql, nargs, argtypes, values, nulls);
		SPI_finish();
	}
	PG_FINALLY();
	{
		privacy_internal_depth--;
		privacy_internal_level = save_level;
		AtEOXact_GUC(false, save_nestlevel);
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	return processed;
}

Datum
privacy_act_as_owner(PG_FUNCTION_ARGS)
{
	int			nargs = PG_NARGS() - 2;
	Datum		values[8];
	char		nulls[8];
	Oid			argtypes[8];
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || nargs < 1 || PG_ARGISNULL(2))
		PG_RETURN_INT64(0);
	if (nargs > lengthof(values) || get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_ARGUMENTS),
				 errmsg("the parameters must be passed one by one, at most %d",
						(int) lengthof(values))));
	for (i = 0; i < nargs; i++)
	{
		argtypes[i] = get_fn_expr_argtype(fcinfo->flinfo, i + 2);
		if (!OidIsValid(argtypes[i]) || argtypes[i] == UNKNOWNOID)
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_DATATYPE),
					 errmsg("parameter %d of the statement has no type", i + 1),
					 errhint("Cast the parameter to its type.")));
		values[i] = PG_ARGISNULL(i + 2) ? (Datum) 0 : PG_GETARG_DATUM(i + 2);
		nulls[i] = PG_ARGISNULL(i + 2) ? 'n' : ' ';
	}
	PG_RETURN_INT64((int64) privacy_act_as_owner_run(PG_GETARG_OID(0),
													 text_to_cstring(PG_GETARG_TEXT_PP(1)),
													 nargs, argtypes, values, nulls));
}

/*
 * privacy._type_involves_bsn(type): is it the bsn type, or an array,
 * domain, composite or range holding one?
 */
Datum
privacy_type_involves_bsn_sql(PG_FUNCTION_ARGS)
{
	Oid			typid = PG_GETARG_OID(0);

	if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typid)))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(privacy_type_involves_bsn(typid));
}

/*
 * privacy._column_type(tbl, col): the type of a column of a table, or an
 * undefined_column error.
 */
Datum
privacy_column_type(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Name		col = PG_GETARG_NAME(1);
	AttrNumber	attnum = get_attnum(relid, NameStr(*col));

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						NameStr(*col),
						DatumGetCString(DirectFunctionCall1(regclassout,
															ObjectIdGetDatum(relid))))));
	PG_RETURN_OID(get_atttype(relid, attnum));
}

/*
 * privacy._base_type(type): the base type of a domain, or the type itself.
 */
Datum
privacy_base_type(PG_FUNCTION_ARGS)
{
	Oid			typid = PG_GETARG_OID(0);

	if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typid)))
		PG_RETURN_NULL();
	PG_RETURN_OID(getBaseType(typid));
}

/* --- the SQL the retention and rights functions build -------------------- */

/*
 * The purge, the signalling and the rights functions build their SQL from
 * the catalogs (and check a rule's expressions against its author) at
 * every call; this backend-local cache keeps what they built until
 * anything it may depend on changes: any relation's definition or
 * privileges (relcache invalidation), functions (pg_proc), types, roles
 * and role membership.  The extension's own catalogs send a relcache
 * invalidation on every change through their statement triggers.  An
 * aborted transaction's invalidations are replayed locally, so nothing
 * built from uncommitted catalogs survives it.
 */
static MemoryContext sql_cache_cxt = NULL;
static HTAB *sql_cache = NULL;

typedef struct SqlCacheEntry
{
	char		key[NAMEDATALEN * 2];
	char	   *value;
} SqlCacheEntry;

static void
sql_cache_reset(void)
{
	if (sql_cache_cxt != NULL)
		MemoryContextReset(sql_cache_cxt);
	sql_cache = NULL;
}

static void
sql_cache_relcache_cb(Datum arg, Oid relid)
{
	if (sql_cache != NULL)
		sql_cache_reset();
}

static void
sql_cache_syscache_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	if (sql_cache != NULL)
		sql_cache_reset();
}

/*
 * privacy_retention_init: register the invalidation callbacks of the SQL
 * cache.
 */
void
privacy_retention_init(void)
{
	CacheRegisterRelcacheCallback(sql_cache_relcache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, sql_cache_syscache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, sql_cache_syscache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, sql_cache_syscache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, sql_cache_syscache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, sql_cache_syscache_cb, (Datum) 0);
}

/* privacy._sql_cache_get(key): what was kept under key, or NULL */
Datum
privacy_sql_cache_get(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SqlCacheEntry *e;

	if (sql_cache == NULL || strlen(key) >= NAMEDATALEN * 2)
		PG_RETURN_NULL();
	e = hash_search(sql_cache, key, HASH_FIND, NULL);
	if (e == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(e->value));
}

/* privacy._sql_cache_put(key, value): keep value under key */
Datum
privacy_sql_cache_put(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *value = text_to_cstring(PG_GETARG_TEXT_PP(1));
	SqlCacheEntry *e;
	bool		found;

	if (strlen(key) >= NAMEDATALEN * 2)
		PG_RETURN_VOID();
	if (sql_cache_cxt == NULL)
		sql_cache_cxt = AllocSetContextCreate(CacheMemoryContext, "pg_privacy SQL cache",
											  ALLOCSET_DEFAULT_SIZES);
	if (sql_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN * 2;
		ctl.entrysize = sizeof(SqlCacheEntry);
		ctl.hcxt = sql_cache_cxt;
		sql_cache = hash_create("pg_privacy SQL cache", 64, &ctl,
								HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	e = hash_search(sql_cache, key, HASH_ENTER, &found);
	e->value = MemoryContextStrdup(sql_cache_cxt, value);
	PG_RETURN_VOID();
}
