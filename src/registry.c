/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  Row-level authorization: the scope checks that the extension's
 *	  policies call, their per-backend cache and its invalidation, and the
 *	  registry lookups the DDL guard needs.
 *
 *	  A scoped table gets the policy
 *
 *		privacy.scope_all('branch') OR branch_id = ANY (privacy.scope_values('branch', NULL::smallint))
 *
 *	  At planning time the support function replaces both calls by constants
 *	  for the current role, so the policy costs what a hand-written
 *	  "branch_id = ANY ('{12,13}')" costs, and an index on the scope column
 *	  can serve it; for a role holding '*' the whole condition folds to true.
 *	  Plans with folded scopes depend on the role (as every plan under
 *	  row-level security does) and are invalidated when scopes or role
 *	  memberships change, so every session sees a change at its next
 *	  statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/supportnodes.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_privacy.h"

/* the scopes of one kind that one role holds */
typedef struct ScopeEntry
{
	Oid			user;
	char	   *kind;
	bool		all;			/* holds '*' */
	List	   *values;			/* scope values as text (char *) */
} ScopeEntry;

static MemoryContext registry_cxt = NULL;
static List *scope_entries = NIL;

/* registered tables, for the DDL guard */
static bool tables_valid = false;
static List *registered_tables = NIL;	/* of PrivacyRegisteredTable */

/* the catalogs whose changes reset everything */
static Oid	scope_grant_relid = InvalidOid;
static Oid	registered_table_relid = InvalidOid;
static Oid	table_subject_relid = InvalidOid;
static Oid	restriction_relid = InvalidOid;
static Oid	access_grant_relid = InvalidOid;
static Oid	support_profile_relid = InvalidOid;

/* restricted subjects per subject type, as ScopeEntry: all = none hidden */
static List *restriction_entries = NIL;

PG_FUNCTION_INFO_V1(privacy_require_admin);
PG_FUNCTION_INFO_V1(privacy_calling_role);
PG_FUNCTION_INFO_V1(privacy_calling_role_is_admin);
PG_FUNCTION_INFO_V1(privacy_registry_changed);
PG_FUNCTION_INFO_V1(privacy_scope_all);
PG_FUNCTION_INFO_V1(privacy_scope_values);
PG_FUNCTION_INFO_V1(privacy_scope_support);
PG_FUNCTION_INFO_V1(privacy_restriction_none);
PG_FUNCTION_INFO_V1(privacy_restricted_values);
PG_FUNCTION_INFO_V1(privacy_restriction_support);

/*
 * Forget every cached scope and registration, and every cached plan, which
 * may hold scopes folded into constants.
 */
static void
registry_reset(void)
{
	if (registry_cxt != NULL)
		MemoryContextReset(registry_cxt);
	scope_entries = NIL;
	restriction_entries = NIL;
	registered_tables = NIL;
	tables_valid = false;
	privacy_masking_reset();
	privacy_support_reset();
	ResetPlanCache();
}

/*
 * privacy_registry_reset: forget every cached scope, registration, grant
 * and plan, when a support grant folded into plans has ended.
 */
void
privacy_registry_reset(void)
{
	registry_reset();
}

static void
registry_relcache_cb(Datum arg, Oid relid)
{
	/* support grants: nothing else may be cached, but plans may hold them */
	if (OidIsValid(relid) &&
		(relid == access_grant_relid || relid == support_profile_relid))
	{
		registry_reset();
		return;
	}
	if (scope_entries == NIL && restriction_entries == NIL && !tables_valid &&
		!privacy_masking_cached())
		return;
	if (relid == InvalidOid || relid == scope_grant_relid ||
		relid == registered_table_relid || relid == table_subject_relid ||
		relid == restriction_relid ||
		privacy_masking_catalog(relid))
		registry_reset();
}

static void
registry_syscache_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	privacy_support_reset();
	if (scope_entries != NIL || restriction_entries != NIL || tables_valid ||
		privacy_masking_cached())
		registry_reset();
}

/*
 * privacy_registry_init: register the invalidation callbacks.
 */
void
privacy_registry_init(void)
{
	CacheRegisterRelcacheCallback(registry_relcache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, registry_syscache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, registry_syscache_cb, (Datum) 0);
}

static MemoryContext
registry_context(void)
{
	if (registry_cxt == NULL)
		registry_cxt = AllocSetContextCreate(CacheMemoryContext,
											 "pg_privacy registry cache",
											 ALLOCSET_SMALL_SIZES);
	return registry_cxt;
}

/*
 * privacy_role_is_admin: does the role have the privileges of
 * privacy.admin_role (or is it a superuser)?
 */
bool
privacy_role_is_admin(Oid roleid)
{
	Oid			admin;

	if (superuser_arg(roleid))
		return true;
	admin = get_role_oid(privacy_admin_role, true);
	return OidIsValid(admin) && has_privs_of_role(roleid, admin);
}

/*
 * privacy._require_admin(): the registry functions run as their owner, so
 * they check the role that called them: the outer user, which SET ROLE sets
 * and security definer functions leave alone.
 */
Datum
privacy_require_admin(PG_FUNCTION_ARGS)
{
	Oid			caller = GetOuterUserId();

	if (!privacy_role_is_admin(caller))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to manage the privacy registry"),
				 errdetail("Role \"%s\" is not a member of \"%s\".",
						   GetUserNameFromId(caller, false), privacy_admin_role)));
	PG_RETURN_VOID();
}

/*
 * privacy._calling_role(): the caller's current role, also inside security
 * definer functions.
 */
Datum
privacy_calling_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/*
 * privacy._calling_role_is_admin(): may the caller administer the registry?
 */
Datum
privacy_calling_role_is_admin(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(privacy_role_is_admin(GetOuterUserId()));
}

/*
 * privacy.registry_changed(): statement trigger on the scope and registry
 * catalogs.  Sends an invalidation for the catalog, which every backend
 * (this one at its next command) turns into a reset of its scope cache and
 * cached plans.  The invalidation is transactional: it is sent on commit.
 */
Datum
privacy_registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("privacy.registry_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	PG_RETURN_POINTER(NULL);
}

static bool
pushed_snapshot_needed(void)
{
	return !ActiveSnapshotSet();
}

/*
 * Run a read-only query on the extension's catalogs as their owner, so that
 * the role whose scopes are looked up needs no privilege on them.
 */
void
privacy_catalog_query(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	Oid			nsp = privacy_schema_oid();
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	HeapTuple	tup;
	bool		pushed;

	scope_grant_relid = get_relname_relid("scope_grant", nsp);
	registered_table_relid = get_relname_relid("registered_table", nsp);
	table_subject_relid = get_relname_relid("table_subject", nsp);
	restriction_relid = get_relname_relid("restriction", nsp);
	access_grant_relid = get_relname_relid("access_grant", nsp);
	support_profile_relid = get_relname_relid("support_profile", nsp);
	if (!OidIsValid(scope_grant_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_privacy is not installed in this database")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(scope_grant_relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", scope_grant_relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	if (!pushed_snapshot_needed())
		pushed = false;
	else
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	PG_TRY();
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

		/*
		 * Read the newest committed state, not the transaction's snapshot:
		 * the cache outlives the transaction, and a REPEATABLE READ snapshot
		 * could be older than a revoke whose invalidation already arrived.
		 * A parallel worker cannot take a new snapshot; it reads with the
		 * one it shares with its leader.
		 */
		if (plan == NULL ||
			SPI_execute_snapshot(plan, values, NULL,
								 IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot(),
								 InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the privacy registry");
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
		if (pushed)
			PopActiveSnapshot();
	}
	PG_END_TRY();
}

/*
 * privacy_registry_exec: run a statement that changes the registry, as the
 * owner of its catalogs (the DDL guard's follow-ups run for table owners who
 * have no rights on them).
 */
void
privacy_registry_exec(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	Oid			nsp = privacy_schema_oid();
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("registered_table", nsp) : InvalidOid;
	HeapTuple	tup;
	Oid			owner;
	Oid			save_userid;
	int			save_sec;

	if (!OidIsValid(relid))
		return;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		privacy_spi_connect();
		if (SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0) < 0)
			elog(ERROR, "could not update the privacy registry");
		privacy_spi_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

/*
 * scope_lookup: the scopes of a kind the current user holds, from the cache
 * or the catalog.
 */
static ScopeEntry *
scope_lookup(const char *kind)
{
	Oid			user = GetUserId();
	ListCell   *lc;
	ScopeEntry *e;
	MemoryContext old;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	uint64		i;

	foreach(lc, scope_entries)
	{
		e = (ScopeEntry *) lfirst(lc);
		if (e->user == user && strcmp(e->kind, kind) == 0)
			return e;
	}

	/* a support role holds the scopes of its grants, and no other */
	if (privacy_support_user(user))
	{
		old = MemoryContextSwitchTo(registry_context());
		e = palloc0(sizeof(ScopeEntry));
		e->user = user;
		e->kind = pstrdup(kind);
		privacy_support_scopes(user, &e->all, &e->values, registry_context());
		scope_entries = lappend(scope_entries, e);
		MemoryContextSwitchTo(old);
		return e;
	}

	values[0] = CStringGetTextDatum(kind);
	privacy_spi_connect();
	privacy_catalog_query("SELECT role::oid, scope FROM privacy.scope_grant WHERE scope_kind = $1",
				  1, argtypes, values);

	old = MemoryContextSwitchTo(registry_context());
	e = palloc0(sizeof(ScopeEntry));
	e->user = user;
	e->kind = pstrdup(kind);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			role = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1, &isnull));
		char	   *scope = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (!has_privs_of_role(user, role))
			continue;
		if (strcmp(scope, "*") == 0)
			e->all = true;
		else
			e->values = lappend(e->values, pstrdup(scope));
	}
	scope_entries = lappend(scope_entries, e);
	MemoryContextSwitchTo(old);
	privacy_spi_finish();
	return e;
}

/*
 * Build the array of scope values of element type elemtype.
 */
static ArrayType *
scope_array(ScopeEntry *e, Oid elemtype)
{
	int			n = list_length(e->values);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	Oid			typinput;
	Oid			typioparam;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	ListCell   *lc;
	int			i = 0;

	getTypeInputInfo(elemtype, &typinput, &typioparam);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	foreach(lc, e->values)
		elems[i++] = OidInputFunctionCall(typinput, (char *) lfirst(lc), typioparam, -1);
	return construct_array(elems, n, elemtype, typlen, typbyval, typalign);
}

/*
 * privacy.scope_all(kind): does the current role hold every scope?
 */
Datum
privacy_scope_all(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (privacy_acting_internally(1))
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(scope_lookup(kind)->all);
}

/*
 * privacy.scope_values(kind, sample): the current role's scopes, as an
 * array of the sample's type (the type of the scope column).
 */
Datum
privacy_scope_values(PG_FUNCTION_ARGS)
{
	Oid			elemtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	char	   *kind;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!OidIsValid(elemtype))
		elog(ERROR, "could not determine the scope type");
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PG_RETURN_ARRAYTYPE_P(scope_array(scope_lookup(kind), elemtype));
}

/*
 * privacy.scope_support(internal): fold scope_all() and scope_values() with a
 * constant kind into constants for the current role at planning time.
 */
Datum
privacy_scope_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	FuncExpr   *f;
	Const	   *kind;
	ScopeEntry *e;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	f = req->fcall;
	kind = (Const *) linitial(f->args);
	if (!IsA(kind, Const) || kind->constisnull)
		PG_RETURN_POINTER(NULL);

	/* the answer is for this role: the plan must not serve another */
	if (req->root != NULL)
		req->root->glob->dependsOnRole = true;

	/*
	 * Acting as a table's owner, the functions let every row through when
	 * they run; folded, the plan would do so for the owner's own queries
	 * too, so it is left as a call.
	 */
	if (privacy_internal_depth > 0)
		PG_RETURN_POINTER(NULL);
	e = scope_lookup(TextDatumGetCString(kind->constvalue));
	if (list_length(f->args) == 1)
		PG_RETURN_POINTER(makeBoolConst(e->all, false));
	else
	{
		Oid			elemtype = exprType(lsecond(f->args));
		ArrayType  *arr = scope_array(e, elemtype);

		PG_RETURN_POINTER(makeConst(f->funcresulttype, -1, f->funccollid, -1,
									PointerGetDatum(arr), false, false));
	}
}

/*
 * privacy_registered_table: the registration of a table (for the DDL
 * guard), or NULL when it is not registered.
 */
PrivacyRegisteredTable *
privacy_registered_table(Oid relid)
{
	ListCell   *lc;

	if (!OidIsValid(privacy_schema_oid()))
		return NULL;
	if (!tables_valid)
	{
		MemoryContext old;
		uint64		i;

		privacy_spi_connect();
		privacy_catalog_query("SELECT r.relid::oid, r.scope_column::text, "
					  "  array_to_string(array_agg(t.key_column) FILTER (WHERE t.key_column IS NOT NULL) "
					  "    || coalesce(r.scope_fk_columns, '{}') "
					  "    || coalesce((SELECT array_agg(c) FROM privacy.table_subject p, "
					  "                   jsonb_array_elements_text(p.via_columns->0->'columns') c "
					  "                  WHERE p.relid = r.relid)::name[], '{}'), ','), "
					  "  r.scope_kind IS NOT NULL "
					  "FROM privacy.registered_table r "
					  "LEFT JOIN privacy.table_subject t ON t.relid = r.relid "
					  "GROUP BY r.relid, r.scope_column, r.scope_fk_columns, r.scope_kind", 0, NULL, NULL);
		old = MemoryContextSwitchTo(registry_context());
		registered_tables = NIL;
		for (i = 0; i < SPI_processed; i++)
		{
			PrivacyRegisteredTable *t = palloc0(sizeof(PrivacyRegisteredTable));
			bool		isnull;
			char	   *keys;

			t->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													  SPI_tuptable->tupdesc, 1, &isnull));
			t->scope_column = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
			keys = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
			t->key_columns = keys ? pstrdup(keys) : NULL;
			t->scoped = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
												  SPI_tuptable->tupdesc, 4, &isnull));
			registered_tables = lappend(registered_tables, t);
		}
		tables_valid = true;
		MemoryContextSwitchTo(old);
		privacy_spi_finish();
	}
	foreach(lc, registered_tables)
	{
		PrivacyRegisteredTable *t = (PrivacyRegisteredTable *) lfirst(lc);

		if (t->relid == relid)
			return t;
	}
	return NULL;
}


/* --- restriction of processing (AVG art. 18) ----------------------------- */

/*
 * The subjects of a type whose processing is restricted, for the current
 * user: nothing is hidden from the privacy officer (and superusers), who
 * handle the restricted data.
 */
static ScopeEntry *
restriction_lookup(const char *subject_type)
{
	Oid			user = GetUserId();
	Oid			officer = get_role_oid(privacy_officer_role, true);
	ListCell   *lc;
	ScopeEntry *e;
	MemoryContext old;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	uint64		i;

	foreach(lc, restriction_entries)
	{
		e = (ScopeEntry *) lfirst(lc);
		if (e->user == user && strcmp(e->kind, subject_type) == 0)
			return e;
	}

	values[0] = CStringGetTextDatum(subject_type);
	privacy_spi_connect();
	privacy_catalog_query("SELECT DISTINCT subject_key FROM privacy.restriction "
						  "WHERE subject_type = $1 AND lifted_at IS NULL "
						  "AND (restricted_until IS NULL OR restricted_until >= CURRENT_DATE)",
						  1, argtypes, values);
	old = MemoryContextSwitchTo(registry_context());
	e = palloc0(sizeof(ScopeEntry));
	e->user = user;
	e->kind = pstrdup(subject_type);
	if (superuser_arg(user) || (OidIsValid(officer) && has_privs_of_role(user, officer)))
		e->all = true;
	else
	{
		for (i = 0; i < SPI_processed; i++)
			e->values = lappend(e->values,
								pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
		e->all = (e->values == NIL);
	}
	restriction_entries = lappend(restriction_entries, e);
	MemoryContextSwitchTo(old);
	privacy_spi_finish();
	return e;
}

/*
 * privacy.restriction_none(subject_type): is nothing of this subject type
 * hidden from the current role?  Folded into a constant at planning time,
 * so that the restriction policy costs nothing while no subject of the
 * type is restricted, and nothing for the officer.
 */
Datum
privacy_restriction_none(PG_FUNCTION_ARGS)
{
	if (privacy_acting_internally(1))
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(restriction_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)))->all);
}

/*
 * privacy.restricted_values(subject_type, tbl, sample): the values of tbl's
 * link to its subject (its key column, or the first foreign key of its
 * path) that belong to restricted subjects, as an array of the sample's
 * type.  Computed once per query execution and kept in fn_extra, so that
 * rows linked to a restricted subject after a plan was cached are hidden
 * too.
 */
Datum
privacy_restricted_values(PG_FUNCTION_ARGS)
{
	Oid			elemtype = get_fn_expr_argtype(fcinfo->flinfo, 2);
	ScopeEntry *e;
	ScopeEntry	links;
	MemoryContext old;
	ArrayType  *arr;

	if (fcinfo->flinfo->fn_extra != NULL)
		PG_RETURN_ARRAYTYPE_P(fcinfo->flinfo->fn_extra);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (!OidIsValid(elemtype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("could not determine the type of the restricted values"),
				 errhint("Pass a typed NULL of the link column's type as the third argument.")));

	e = restriction_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	memset(&links, 0, sizeof(links));
	if (!e->all && !privacy_acting_internally(1))
	{
		Oid			argtypes[3] = {TEXTOID, REGCLASSOID, TEXTARRAYOID};
		Datum		values[3];
		Datum	   *keys = palloc(sizeof(Datum) * list_length(e->values));
		ListCell   *lc;
		int			n = 0;
		uint64		i;

		foreach(lc, e->values)
			keys[n++] = CStringGetTextDatum((char *) lfirst(lc));
		values[0] = PG_GETARG_DATUM(0);
		values[1] = PG_GETARG_DATUM(1);
		values[2] = PointerGetDatum(construct_array(keys, n, TEXTOID, -1, false, TYPALIGN_INT));
		privacy_spi_connect();
		privacy_catalog_query("SELECT v FROM privacy._restricted_links($1, $2, $3) v",
							  3, argtypes, values);
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		for (i = 0; i < SPI_processed; i++)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			if (v != NULL)
				links.values = lappend(links.values, pstrdup(v));
		}
		MemoryContextSwitchTo(old);
		privacy_spi_finish();
	}
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	arr = scope_array(&links, elemtype);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = arr;
	PG_RETURN_ARRAYTYPE_P(arr);
}

/*
 * privacy.restriction_support(internal): fold restriction_none() with a
 * constant subject type into a constant for the current role.
 */
Datum
privacy_restriction_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	Const	   *st;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	st = (Const *) linitial(req->fcall->args);
	if (!IsA(st, Const) || st->constisnull)
		PG_RETURN_POINTER(NULL);
	if (req->root != NULL)
		req->root->glob->dependsOnRole = true;
	if (privacy_internal_depth > 0)
		PG_RETURN_POINTER(NULL);	/* as in privacy_scope_support */
	PG_RETURN_POINTER(makeBoolConst(restriction_lookup(TextDatumGetCString(st->constvalue))->all,
									false));
}
