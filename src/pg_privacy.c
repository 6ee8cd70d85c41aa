/*-------------------------------------------------------------------------
 *
 * pg_privacy.c
 *	  Module entry point: settings, hook installation and privacy.status().
 *
 *	  The library works without shared_preload_libraries: the type, the
 *	  audit trail and the catalog functions load on first use.  The hooks
 *	  that enforce rules for every statement (the BSN update guard, the
 *	  inference guard and the log scrubber) are installed only when the
 *	  library is preloaded, so that every backend enforces the same rules;
 *	  privacy.status() says which protections are inactive otherwise.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "executor/spi.h"
#include "commands/extension.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_privacy.h"

PG_MODULE_MAGIC;

/*
 * privacy.admin_role: the role that manages the extension's catalogs and
 * policies (registry, retention rules, column classes).  Only a superuser may
 * change it, since it decides who administers privacy.
 */
char	   *privacy_admin_role = NULL;

/*
 * privacy.officer_role: the role of the privacy officer (functionaris
 * gegevensbescherming), who answers data-subject requests and reads the
 * audit trail.
 */
char	   *privacy_officer_role = NULL;

/*
 * privacy.bsn_role: members of this role (through inheritance, as for
 * privileges) and superusers see BSNs in full and may change them.  Everyone
 * else sees a masked form and may only insert.
 */
char	   *privacy_bsn_role = NULL;

/*
 * privacy.bsn_visible_digits: how many trailing digits of a BSN a role that
 * is not authorized sees.  0 hides the number entirely; 4 is the most the
 * extension allows, so that the masked form never identifies a person.
 */
int			privacy_bsn_visible_digits = 3;

/*
 * privacy.actor: the application-level user on whose behalf the session
 * acts (for pooled connections that SET ROLE per request).  It is recorded
 * in every audit entry.  Any role may set it; it is informational and the
 * audit entry also records the database roles.
 */
char	   *privacy_actor = NULL;

/*
 * privacy.strict: refuse, at commit, a transaction that creates or alters
 * a table so that it holds personal data (a bsn column, a foreign key to a
 * subject's table) without registering it.  A security setting: only a
 * superuser sets it, or the privacy admin per database through
 * privacy.set_strict().  The check itself is SQL (sql/src/80_lint.sql).
 */
bool		privacy_strict = false;

/* true when the hooks were installed at postmaster start */
bool		privacy_hooks_active = false;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(privacy_status);
PG_FUNCTION_INFO_V1(privacy_library_version);

/*
 * Role names are identifiers; refuse what could never name a role so that a
 * typo shows up when it is set rather than as a silent lack of protection.
 */
static bool
check_role_name(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("A role name must not be empty.");
		return false;
	}
	if (strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A role name must be shorter than %d bytes.",
							NAMEDATALEN);
		return false;
	}
	return true;
}

/*
 * The actor must not carry a BSN: it is written to the audit trail.
 */
static bool
check_actor(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && privacy_text_has_bsn(*newval, 9))
	{
		GUC_check_errdetail("The actor must not contain a BSN.");
		return false;
	}
	return true;
}

/*
 * Module load.  Settings first, then the reserved prefix, then the hooks
 * (only when preloaded), then the callbacks that every backend needs.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("privacy.admin_role",
							   "Role that administers the privacy catalogs and policies.",
							   NULL,
							   &privacy_admin_role,
							   "privacy_admin",
							   PGC_SUSET,
							   0,
							   check_role_name, NULL, NULL);

	DefineCustomStringVariable("privacy.officer_role",
							   "Role of the privacy officer, who answers data-subject requests.",
							   NULL,
							   &privacy_officer_role,
							   "privacy_officer",
							   PGC_SUSET,
							   0,
							   check_role_name, NULL, NULL);

	DefineCustomStringVariable("privacy.bsn_role",
							   "Role whose members see and change BSNs in full.",
							   NULL,
							   &privacy_bsn_role,
							   "privacy_bsn",
							   PGC_SUSET,
							   0,
							   check_role_name, privacy_bsn_role_assign, NULL);

	/*
	 * The role whose members, the software vendor's staff, see registered
	 * tables only under an approved access grant (privacy.request_access).
	 */
	DefineCustomStringVariable("privacy.support_role",
							   "Role whose members see registered tables only under an approved access grant.",
							   NULL,
							   &privacy_support_role,
							   "privacy_support",
							   PGC_SUSET,
							   0,
							   check_role_name, NULL, NULL);

	/* The longest support access grant that may be requested. */
	DefineCustomIntVariable("privacy.support_max_duration",
							"Longest support access grant that may be requested.",
							NULL,
							&privacy_support_max_duration,
							480, 1, 7 * 24 * 60,
							PGC_SUSET,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("privacy.bsn_visible_digits",
							"Number of trailing BSN digits shown to roles that may not see BSNs.",
							NULL,
							&privacy_bsn_visible_digits,
							3, 0, 4,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("privacy.actor",
							   "Application-level user recorded in audit entries.",
							   NULL,
							   &privacy_actor,
							   "",
							   PGC_USERSET,
							   0,
							   check_actor, NULL, NULL);

	DefineCustomBoolVariable("privacy.strict",
							 "Refuses at commit DDL that leaves a table holding personal data unregistered.",
							 NULL,
							 &privacy_strict,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("privacy");

	privacy_bsn_init();
	privacy_audit_init();
	privacy_registry_init();
	privacy_retention_init();

	if (process_shared_preload_libraries_in_progress)
	{
		privacy_hooks_init();
		privacy_hooks_active = true;
	}
}

/*
 * privacy_schema_oid: the extension's schema, or InvalidOid when the
 * extension is not installed in this database (also when a dropped
 * extension left its schema behind).
 */
Oid
privacy_schema_oid(void)
{
	Oid			nsp = get_namespace_oid(PRIVACY_SCHEMA, true);

	/* DROP EXTENSION leaves the schema behind: look for the extension's log */
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("audit_log", nsp)))
		return InvalidOid;
	return nsp;
}

/*
 * The extension's own queries run with search_path = pg_catalog, pg_temp,
 * whatever the session set: they often run as the owner of the
 * extension's catalogs (from hooks, in any role's session), and a function
 * or operator found in a schema the caller controls would run with the
 * owner's rights.  The setting is pushed when the outermost connection to
 * SPI opens and popped when it closes; a (sub)transaction that aborts
 * meanwhile has already popped it, which the callbacks below follow.
 */
#define SPI_STACK_SIZE 64
static SubTransactionId spi_stack[SPI_STACK_SIZE];
static int	spi_depth = 0;
static int	spi_guc_level = 0;

static void
spi_xact_cb(XactEvent event, void *arg)
{
	spi_depth = 0;
}

static void
spi_subxact_cb(SubXactEvent event, SubTransactionId mySubid,
			   SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (spi_depth > 0 &&
		   spi_stack[Min(spi_depth, SPI_STACK_SIZE) - 1] >= mySubid)
		spi_depth--;
}

/*
 * privacy_spi_connect: connect to SPI with the extension's search_path;
 * failing is an internal error.  Pair with privacy_spi_finish().
 */
void
privacy_spi_connect(void)
{
	static bool callbacks = false;

	if (!callbacks)
	{
		RegisterXactCallback(spi_xact_cb, NULL);
		RegisterSubXactCallback(spi_subxact_cb, NULL);
		callbacks = true;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (spi_depth == 0)
	{
		spi_guc_level = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	if (spi_depth < SPI_STACK_SIZE)
		spi_stack[spi_depth] = GetCurrentSubTransactionId();
	spi_depth++;
}

/*
 * privacy_spi_finish: close the connection privacy_spi_connect opened, and
 * give the session its search_path back after the outermost one.
 */
void
privacy_spi_finish(void)
{
	SPI_finish();
	if (spi_depth > 0 && --spi_depth == 0)
		AtEOXact_GUC(true, spi_guc_level);
}

/*
 * privacy.library_version(): the version compiled into the loaded library,
 * to compare with the installed extension version.
 */
Datum
privacy_library_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(PRIVACY_VERSION));
}

static void
status_row(Tuplestorestate *ts, TupleDesc td, const char *component,
		   const char *state, const char *detail)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(component);
	values[1] = CStringGetTextDatum(state);
	if (detail)
		values[2] = CStringGetTextDatum(detail);
	else
		nulls[2] = true;
	tuplestore_putvalues(ts, td, values, nulls);
}

static void
status_role(Tuplestorestate *ts, TupleDesc td, const char *setting,
			const char *rolename)
{
	if (OidIsValid(get_role_oid(rolename, true)))
		status_row(ts, td, setting, "ok",
				   psprintf("role \"%s\" exists", rolename));
	else
		status_row(ts, td, setting, "warning",
				   psprintf("role \"%s\" does not exist; create it or change %s",
							rolename, setting));
}

/*
 * compare_versions: <0, 0 or >0 as version a is older than, equal to or
 * newer than version b, comparing the dot-separated numbers in turn.
 */
static int
compare_versions(const char *a, const char *b)
{
	while (*a || *b)
	{
		long		na = strtol(a, (char **) &a, 10);
		long		nb = strtol(b, (char **) &b, 10);

		if (na != nb)
			return na < nb ? -1 : 1;
		if (*a == '.')
			a++;
		else if (*a)
			return strcmp(a, b);
		if (*b == '.')
			b++;
		else if (*b)
			return strcmp(a, b);
	}
	return 0;
}

/*
 * privacy.status(): one row per component with its state ('ok', 'info',
 * 'warning' or 'inactive') and a sentence for the DBA.
 */
Datum
privacy_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Tuplestorestate *ts;
	TupleDesc	td;
	Oid			extoid;
	char	   *extversion = NULL;
	HeapTuple	tup;
	bool		any_bypass = false;
	StringInfoData bypass;

	InitMaterializedSRF(fcinfo, 0);
	ts = rsinfo->setResult;
	td = rsinfo->setDesc;

	/* version: installed extension against the loaded library */
	extoid = get_extension_oid("pg_privacy", true);
	if (OidIsValid(extoid))
	{
		Datum		d;
		bool		isnull;
		Relation	rel;
		ScanKeyData key;
		SysScanDesc scan;

		rel = table_open(ExtensionRelationId, AccessShareLock);
		ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(extoid));
		scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup))
		{
			d = heap_getattr(tup, Anum_pg_extension_extversion,
							 RelationGetDescr(rel), &isnull);
			if (!isnull)
				extversion = text_to_cstring(DatumGetTextPP(d));
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	if (extversion == NULL)
		status_row(ts, td, "version", "warning",
				   psprintf("library %s is loaded but the extension is not installed in this database",
							PRIVACY_VERSION));
	else if (compare_versions(extversion, PRIVACY_VERSION) < 0)
		status_row(ts, td, "version", "warning",
				   psprintf("the SQL of pg_privacy %s installed in this database is older than the loaded library %s; "
							"run ALTER EXTENSION pg_privacy UPDATE in this database (see doc/upgrading.md)",
							extversion, PRIVACY_VERSION));
	else if (compare_versions(extversion, PRIVACY_VERSION) > 0)
		status_row(ts, td, "version", "warning",
				   psprintf("the SQL of pg_privacy %s installed in this database is newer than the loaded library %s; "
							"install the package of %s and restart the server",
							extversion, PRIVACY_VERSION, extversion));
	else
		status_row(ts, td, "version", "ok",
				   psprintf("extension and library %s", PRIVACY_VERSION));

	/* hooks */
	if (privacy_hooks_active)
		status_row(ts, td, "preload", "ok",
				   "loaded through shared_preload_libraries; all hooks active");
	else
		status_row(ts, td, "preload", "inactive",
				   "pg_privacy is not in shared_preload_libraries: the BSN update guard, "
				   "the BSN inference guard and the log scrubber are inactive; "
				   "masking, validation and the audit trail still work");
	status_row(ts, td, "bsn update guard", privacy_hooks_active ? "ok" : "inactive",
			   privacy_hooks_active ? "UPDATE of bsn columns restricted to the BSN role" : NULL);
	status_row(ts, td, "bsn inference guard", privacy_hooks_active ? "ok" : "inactive",
			   privacy_hooks_active ? "comparing, sorting and grouping BSNs restricted to the BSN role" : NULL);
	status_row(ts, td, "log scrubber", privacy_hooks_active ? "ok" : "inactive",
			   privacy_hooks_active ? "BSNs in messages are masked before they are logged or sent" : NULL);

	/* roles */
	status_role(ts, td, "privacy.admin_role", privacy_admin_role);
	status_role(ts, td, "privacy.officer_role", privacy_officer_role);
	status_role(ts, td, "privacy.bsn_role", privacy_bsn_role);
	status_role(ts, td, "privacy.support_role", privacy_support_role);
	status_row(ts, td, "privacy.bsn_visible_digits", "info",
			   psprintf("roles outside \"%s\" see the last %d digits",
						privacy_bsn_role, privacy_bsn_visible_digits));

	/* roles that bypass row-level security see everything */
	initStringInfo(&bypass);
	{
		Relation	rel = table_open(AuthIdRelationId, AccessShareLock);
		SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);

		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_authid a = (Form_pg_authid) GETSTRUCT(tup);

			if ((a->rolsuper || a->rolbypassrls) && a->rolcanlogin)
			{
				if (any_bypass)
					appendStringInfoString(&bypass, ", ");
				appendStringInfoString(&bypass, quote_identifier(NameStr(a->rolname)));
				any_bypass = true;
			}
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	if (any_bypass)
		status_row(ts, td, "bypass roles", "warning",
				   psprintf("these login roles are superusers or have BYPASSRLS and see every row and BSN: %s",
							bypass.data));

	/* fields switched off or forbidden that still hold values */
	{
		Oid			nsp = privacy_schema_oid();
		Oid			fn = OidIsValid(nsp) ?
			GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum("field_status"),
							PointerGetDatum(buildoidvector(NULL, 0)), ObjectIdGetDatum(nsp)) :
			InvalidOid;

		if (OidIsValid(fn) && pg_proc_aclcheck(fn, GetUserId(), ACL_EXECUTE) == ACLCHECK_OK)
		{
			StringInfoData held;
			uint64		i;

			initStringInfo(&held);
			privacy_spi_connect();
			if (SPI_execute("SELECT format('%s.%I (%s, %s values)', tbl, column_name, state, stored_values) "
							"FROM privacy.field_status() WHERE stored_values > 0", true, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not read the field status");
			for (i = 0; i < SPI_processed; i++)
			{
				if (i > 0)
					appendStringInfoString(&held, ", ");
				appendStringInfoString(&held, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
			}
			if (SPI_processed > 0)
				status_row(ts, td, "fields", "warning",
						   psprintf("fields switched off or forbidden still hold values; clear them with privacy.clear_field(): %s",
									held.data));
			else
				status_row(ts, td, "fields", "ok", "no field that is switched off or forbidden holds a value");
			privacy_spi_finish();
		}
	}

	status_row(ts, td, "privacy.strict", privacy_strict ? "ok" : "info",
			   privacy_strict ?
			   "on: DDL that leaves personal data unregistered is refused at commit" :
			   "off: privacy.lint() reports unregistered personal data; privacy.set_strict(true) refuses it");

	/* pg_cron, for the scheduled purge */
	if (OidIsValid(get_extension_oid("pg_cron", true)))
		status_row(ts, td, "pg_cron", "ok", "installed in this database");
	else
		status_row(ts, td, "pg_cron", "info",
				   "not installed in this database; scheduled purges need it");

	return (Datum) 0;
}
