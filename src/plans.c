/*-------------------------------------------------------------------------
 *
 * plans.c
 *	  Kept plans for the statements the retention and rights functions
 *	  build from the catalogs.
 *
 * An erasure, an export and a purge batch run statements whose text the
 * extension builds from the registry (and keeps in the SQL cache of
 * retention.c).  Run through EXECUTE, each would be parsed and planned at
 * every call, which costs more than running it: an erasure of one subject
 * runs some twenty of them.  This module keeps one prepared plan per
 * statement text in the backend, so that running a statement again costs
 * its execution only.
 *
 * The plans are PostgreSQL's own cached plans (SPI_keepplan): the plan
 * cache checks them against every catalog change they depend on, the
 * role they were planned for and the search_path, and plans them again
 * when needed, so a kept plan is never stale.  They are generic plans:
 * their parameters are subject keys and row identifiers, whose plan does
 * not depend on the value.  Since the text is the key, a statement built
 * anew from changed catalogs simply gets a plan of its own; the number of
 * kept plans is bounded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/dest.h"
#include "executor/tstoreReceiver.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"

#include "pg_privacy.h"

PG_FUNCTION_INFO_V1(privacy_query);

#define KEPT_PLANS_MAX		512
#define KEPT_PLANS_MAX_ARGS 8

typedef struct KeptPlan
{
	uint64		hash;			/* hash of the text and argument types: the key */
	char	   *sql;
	int			nargs;
	Oid			argtypes[KEPT_PLANS_MAX_ARGS];
	SPIPlanPtr	plan;
	int			in_use;			/* executions under way */
} KeptPlan;

static HTAB *kept_plans = NULL;
static MemoryContext kept_plans_cxt = NULL;

static uint64
plan_hash(const char *sql, int nargs, const Oid *argtypes)
{
	uint64		h = hash_bytes_extended((const unsigned char *) sql, strlen(sql), 0);

	return hash_bytes_extended((const unsigned char *) argtypes,
							   sizeof(Oid) * nargs, h);
}

/* forget the plans no execution uses, when there are too many */
static void
kept_plans_trim(void)
{
	HASH_SEQ_STATUS status;
	KeptPlan   *kp;

	hash_seq_init(&status, kept_plans);
	while ((kp = (KeptPlan *) hash_seq_search(&status)) != NULL)
	{
		if (kp->in_use > 0)
			continue;
		SPI_freeplan(kp->plan);
		pfree(kp->sql);
		hash_search(kept_plans, &kp->hash, HASH_REMOVE, NULL);
	}
}

/*
 * privacy_kept_plan: the kept plan of a statement, prepared now if there is
 * none; *kept says whether it is kept (false only when another execution of
 * a statement with the same hash is under way: the caller frees it then).
 * Call it connected to SPI.
 */
SPIPlanPtr
privacy_kept_plan(const char *sql, int nargs, Oid *argtypes, void **handle)
{
	uint64		h = plan_hash(sql, nargs, argtypes);
	KeptPlan   *kp;
	bool		found;
	SPIPlanPtr	plan;

	if (nargs > KEPT_PLANS_MAX_ARGS)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_ARGUMENTS),
				 errmsg("a statement of pg_privacy takes at most %d parameters",
						KEPT_PLANS_MAX_ARGS)));
	if (kept_plans == NULL)
	{
		HASHCTL		ctl;

		kept_plans_cxt = AllocSetContextCreate(CacheMemoryContext,
											   "pg_privacy kept plans",
											   ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(KeptPlan);
		ctl.hcxt = kept_plans_cxt;
		kept_plans = hash_create("pg_privacy kept plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	kp = (KeptPlan *) hash_search(kept_plans, &h, HASH_FIND, NULL);
	if (kp != NULL && kp->nargs == nargs && strcmp(kp->sql, sql) == 0 &&
		memcmp(kp->argtypes, argtypes, sizeof(Oid) * nargs) == 0)
	{
		kp->in_use++;
		*handle = kp;
		return kp->plan;
	}

	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("could not prepare a statement of pg_privacy: %s",
						SPI_result_code_string(SPI_result))));
	if (kp != NULL && kp->in_use > 0)
	{
		/* a different text with the same hash, running: do not keep */
		*handle = NULL;
		return plan;
	}
	if (kp == NULL && hash_get_num_entries(kept_plans) >= KEPT_PLANS_MAX)
		kept_plans_trim();
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep a plan of pg_privacy");
	kp = (KeptPlan *) hash_search(kept_plans, &h, HASH_ENTER, &found);
	if (found)
	{
		SPI_freeplan(kp->plan);
		pfree(kp->sql);
	}
	kp->hash = h;
	kp->sql = MemoryContextStrdup(kept_plans_cxt, sql);
	kp->nargs = nargs;
	memset(kp->argtypes, 0, sizeof(kp->argtypes));
	memcpy(kp->argtypes, argtypes, sizeof(Oid) * nargs);
	kp->plan = plan;
	kp->in_use = 1;
	*handle = kp;
	return plan;
}

/*
 * privacy_kept_plan_release: the execution of a plan privacy_kept_plan
 * returned is over (also on error); frees a plan that was not kept.
 */
void
privacy_kept_plan_release(SPIPlanPtr plan, void *handle)
{
	KeptPlan   *kp = (KeptPlan *) handle;

	if (kp == NULL)
		SPI_freeplan(plan);
	else if (kp->in_use > 0)
		kp->in_use--;
}

/*
 * privacy_kept_execute: run a statement with its kept plan in the current
 * SPI connection (read-write, every row); the rows are in SPI_tuptable.
 * Returns the number of rows processed.
 */
uint64
privacy_kept_execute(const char *sql, int nargs, Oid *argtypes, Datum *values,
					 const char *nulls)
{
	void	   *handle = NULL;
	SPIPlanPtr	plan = privacy_kept_plan(sql, nargs, argtypes, &handle);

	PG_TRY();
	{
		int			rc = SPI_execute_plan(plan, values, nulls, false, 0);

		if (rc < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("could not run the statement: %s",
							SPI_result_code_string(rc))));
	}
	PG_FINALLY();
	{
		privacy_kept_plan_release(plan, handle);
	}
	PG_END_TRY();
	return SPI_processed;
}

/*
 * privacy_push_extension_path: name objects as the extension's own
 * functions do, pg_catalog and then the extension's schema (whose objects
 * only the extension owner creates), for the statements built by those
 * functions.  Returns the GUC nest level to close with AtEOXact_GUC, or 0
 * when the path was already so.
 */
int
privacy_push_extension_path(void)
{
	char	   *want = psprintf("pg_catalog, %s, pg_temp",
								quote_identifier(get_namespace_name(privacy_schema_oid())));
	int			level = 0;

	if (strcmp(namespace_search_path, want) != 0)
	{
		level = NewGUCNestLevel();
		(void) set_config_option("search_path", want, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	pfree(want);
	return level;
}

/*
 * The rows of a statement go to the caller's tuplestore through this
 * receiver, which checks at startup (after the plan cache planned the
 * statement again if it had to) that the rows have the declared types: a
 * statement's result can change when a table it reads changes.
 */
typedef struct CheckedReceiver
{
	DestReceiver pub;
	DestReceiver *inner;
	TupleDesc	expected;
} CheckedReceiver;

static void
checked_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	CheckedReceiver *r = (CheckedReceiver *) self;
	int			i;

	if (typeinfo->natts != r->expected->natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the statement returns other columns than the column definition list names")));
	for (i = 0; i < typeinfo->natts; i++)
		if (TupleDescAttr(typeinfo, i)->atttypid != TupleDescAttr(r->expected, i)->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of the statement is not of the type the column definition list names",
							i + 1)));
	r->inner->rStartup(r->inner, operation, typeinfo);
}

static bool
checked_receive(TupleTableSlot *slot, DestReceiver *self)
{
	CheckedReceiver *r = (CheckedReceiver *) self;

	return r->inner->receiveSlot(slot, r->inner);
}

static void
checked_shutdown(DestReceiver *self)
{
	CheckedReceiver *r = (CheckedReceiver *) self;

	r->inner->rShutdown(r->inner);
}

static void
checked_destroy(DestReceiver *self)
{
	CheckedReceiver *r = (CheckedReceiver *) self;

	r->inner->rDestroy(r->inner);
	pfree(r);
}

/*
 * privacy._query(sql, VARIADIC args "any"): the rows of a statement the
 * extension built, run with a kept plan; the caller names the columns and
 * their types, which must be the statement's.  Internal: only the
 * extension's own functions call it.
 */
Datum
privacy_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql;
	int			nargs = PG_NARGS() - 1;
	Oid			argtypes[KEPT_PLANS_MAX_ARGS];
	Datum		values[KEPT_PLANS_MAX_ARGS];
	char		nulls[KEPT_PLANS_MAX_ARGS];
	SPIPlanPtr	plan;
	void	   *handle = NULL;
	int			guc_level;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the statement must not be null")));
	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the parameters must be passed one by one, not as a VARIADIC array")));
	if (nargs > KEPT_PLANS_MAX_ARGS)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_ARGUMENTS),
				 errmsg("a statement of pg_privacy takes at most %d parameters",
						KEPT_PLANS_MAX_ARGS)));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	for (i = 0; i < nargs; i++)
	{
		argtypes[i] = get_fn_expr_argtype(fcinfo->flinfo, i + 1);
		if (!OidIsValid(argtypes[i]) || argtypes[i] == UNKNOWNOID)
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_DATATYPE),
					 errmsg("parameter %d of the statement has no type", i + 1),
					 errhint("Cast the parameter to its type.")));
		values[i] = PG_ARGISNULL(i + 1) ? (Datum) 0 : PG_GETARG_DATUM(i + 1);
		nulls[i] = PG_ARGISNULL(i + 1) ? 'n' : ' ';
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	/*
	 * Connected to SPI directly: the path is pinned to the extension's here
	 * (its own functions, the callers, have it already).
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	guc_level = privacy_push_extension_path();
	plan = privacy_kept_plan(sql, nargs, argtypes, &handle);
	PG_TRY();
	{
		List	   *sources = SPI_plan_get_plan_sources(plan);
		CachedPlanSource *src;
		TupleDesc	expected = rsinfo->setDesc;
		DestReceiver *dest;
		SPIExecuteOptions options;
		ParamListInfo params;
		int			rc;

		/* the rows must have the shape the caller declared */
		if (list_length(sources) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the statement must be a single statement")));
		src = (CachedPlanSource *) linitial(sources);
		if (src->resultDesc == NULL || src->resultDesc->natts != expected->natts)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the statement returns other columns than the column definition list names")));
		for (i = 0; i < expected->natts; i++)
			if (TupleDescAttr(src->resultDesc, i)->atttypid !=
				TupleDescAttr(expected, i)->atttypid)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column %d of the statement is not of the type the column definition list names",
								i + 1)));

		{
			CheckedReceiver *checked = palloc0(sizeof(CheckedReceiver));

			checked->inner = CreateDestReceiver(DestTuplestore);
			SetTuplestoreDestReceiverParams(checked->inner, rsinfo->setResult,
											rsinfo->econtext->ecxt_per_query_memory,
											false, NULL, NULL);
			checked->expected = expected;
			checked->pub.receiveSlot = checked_receive;
			checked->pub.rStartup = checked_startup;
			checked->pub.rShutdown = checked_shutdown;
			checked->pub.rDestroy = checked_destroy;
			checked->pub.mydest = DestTuplestore;
			dest = (DestReceiver *) checked;
		}
		params = makeParamList(nargs);
		for (i = 0; i < nargs; i++)
		{
			params->params[i].value = values[i];
			params->params[i].isnull = nulls[i] == 'n';
			params->params[i].pflags = PARAM_FLAG_CONST;
			params->params[i].ptype = argtypes[i];
		}
		memset(&options, 0, sizeof(options));
		options.params = params;
		options.read_only = false;
		options.dest = dest;
		rc = SPI_execute_plan_extended(plan, &options);
		if (rc < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("could not run the statement: %s",
							SPI_result_code_string(rc))));
		dest->rDestroy(dest);
	}
	PG_FINALLY();
	{
		privacy_kept_plan_release(plan, handle);
	}
	PG_END_TRY();
	if (guc_level > 0)
		AtEOXact_GUC(true, guc_level);
	SPI_finish();
	return (Datum) 0;
}
