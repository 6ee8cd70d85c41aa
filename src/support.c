/*-------------------------------------------------------------------------
 *
 * support.c
 *	  Support access: members of privacy.support_role (the software
 *	  vendor's staff) see registered tables only under an approved grant
 *	  of privacy.access_grant, until it ends, within its scopes, tables and
 *	  column classes; every statement they run under one is audited.
 *
 * The grants are folded into plans like the scopes of other roles (the
 * scope and masking code asks privacy_support_scopes and
 * privacy_support_sees_viewer), so other roles pay nothing.  A grant ends
 * by time, which sends no invalidation: before every run of a support
 * role's plan, the executor checks that each registered table it reads is
 * covered by a grant active now, and that no grant this backend folded into
 * plans has ended since; when one has, the caches and cached plans are
 * reset and the statement is refused, so a plan made under a grant never
 * outlives it (also a cursor fetched later, or a prepared statement).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/timestamp.h"

#include "pg_privacy.h"

char	   *privacy_support_role = NULL;
int			privacy_support_max_duration = 480;

typedef struct SupportGrant
{
	int64		id;
	Oid			role;
	bool		all_scopes;
	List	   *scopes;			/* of char *, the scope values */
	List	   *relids;			/* of Oid: tables and the tables of its subject types */
	List	   *viewers;		/* of Oid: viewer roles of its column classes */
	bool		bsn;
	bool		write;
	TimestampTz until;
} SupportGrant;

static MemoryContext support_cxt = NULL;
static bool grants_valid = false;
static List *grants = NIL;		/* of SupportGrant, active when loaded */

/* the last answer of privacy_support_user */
static bool user_valid = false;
static Oid	user_oid = InvalidOid;
static bool user_is_support = false;

/*
 * privacy_support_reset: forget the grants and the support user, after a
 * change of the grants, the registry or role memberships.
 */
void
privacy_support_reset(void)
{
	if (support_cxt != NULL)
		MemoryContextReset(support_cxt);
	grants = NIL;
	grants_valid = false;
	user_valid = false;
}

/*
 * privacy_support_user: is the role a member of privacy.support_role (and
 * no superuser, who has the privileges of every role)?  Cached for the last
 * role asked, so that other roles pay one comparison.
 */
bool
privacy_support_user(Oid roleid)
{
	Oid			support;

	if (user_valid && roleid == user_oid)
		return user_is_support;
	support = privacy_support_role ? get_role_oid(privacy_support_role, true) : InvalidOid;
	user_is_support = OidIsValid(support) && !superuser_arg(roleid) &&
		has_privs_of_role(roleid, support);
	user_oid = roleid;
	user_valid = true;
	return user_is_support;
}

/* oid_list: the elements of an oid[] datum */
static List *
oid_list(Datum d)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *l = NIL;

	deconstruct_array(a, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			l = lappend_oid(l, DatumGetObjectId(elems[i]));
	return l;
}

/*
 * load_grants: the grants approved and not yet ended, from the catalog.
 * Without the catalog (the SQL of a release before support access is
 * installed) there are none, and support roles see no registered table.
 */
static void
load_grants(void)
{
	Oid			nsp;
	uint64		i;
	MemoryContext old;

	if (grants_valid)
		return;
	if (support_cxt == NULL)
		support_cxt = AllocSetContextCreate(CacheMemoryContext,
											"pg_privacy support grants",
											ALLOCSET_SMALL_SIZES);
	grants = NIL;
	nsp = privacy_schema_oid();
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("access_grant", nsp)) ||
		!IsTransactionState())
	{
		grants_valid = OidIsValid(nsp) && IsTransactionState();
		return;
	}

	privacy_spi_connect();
	privacy_catalog_query(
		"SELECT g.id, g.role::oid, '*' = ANY (g.scopes), g.scopes,"
		"       ARRAY(SELECT t.relid::oid FROM privacy.table_subject t"
		"              WHERE t.subject_type = ANY (g.subject_types)) || g.tables::oid[],"
		"       ARRAY(SELECT r.oid FROM privacy.column_class c"
		"               JOIN pg_catalog.pg_roles r ON r.rolname = c.viewer_role"
		"              WHERE c.name = ANY (g.classes)),"
		"       g.bsn, g.write, g.until"
		"  FROM privacy.access_grant g"
		" WHERE g.status = 'approved' AND g.until > pg_catalog.clock_timestamp()",
		0, NULL, NULL);
	old = MemoryContextSwitchTo(support_cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		SupportGrant *g = palloc0(sizeof(SupportGrant));
		bool		isnull;
		ArrayType  *scopes;
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			j;

		g->id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		g->role = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull));
		g->all_scopes = DatumGetBool(SPI_getbinval(tup, td, 3, &isnull));
		scopes = DatumGetArrayTypeP(SPI_getbinval(tup, td, 4, &isnull));
		deconstruct_array(scopes, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		for (j = 0; j < n; j++)
			if (!nulls[j])
				g->scopes = lappend(g->scopes, TextDatumGetCString(elems[j]));
		g->relids = oid_list(SPI_getbinval(tup, td, 5, &isnull));
		g->viewers = oid_list(SPI_getbinval(tup, td, 6, &isnull));
		g->bsn = DatumGetBool(SPI_getbinval(tup, td, 7, &isnull));
		g->write = DatumGetBool(SPI_getbinval(tup, td, 8, &isnull));
		g->until = DatumGetTimestampTz(SPI_getbinval(tup, td, 9, &isnull));
		grants = lappend(grants, g);
	}
	MemoryContextSwitchTo(old);
	privacy_spi_finish();
	grants_valid = true;
}

/* grant_applies: is the grant the role's (by membership)? */
static inline bool
grant_applies(SupportGrant *g, Oid roleid)
{
	return g->role == roleid || has_privs_of_role(roleid, g->role);
}

/*
 * privacy_support_scopes: the scopes a support role holds through its
 * grants; the grants replace whatever scopes were granted to the role.
 */
void
privacy_support_scopes(Oid roleid, bool *all, List **values, MemoryContext cxt)
{
	ListCell   *lc;
	MemoryContext old;

	load_grants();
	old = MemoryContextSwitchTo(cxt);
	foreach(lc, grants)
	{
		SupportGrant *g = lfirst(lc);
		ListCell   *s;

		if (!grant_applies(g, roleid))
			continue;
		if (g->all_scopes)
			*all = true;
		foreach(s, g->scopes)
			*values = lappend(*values, pstrdup(lfirst(s)));
	}
	MemoryContextSwitchTo(old);
}

/*
 * privacy_support_sees_viewer: does a grant of the support role show the
 * columns of the class whose viewer role this is in full?
 */
bool
privacy_support_sees_viewer(Oid roleid, Oid viewer)
{
	ListCell   *lc;

	load_grants();
	foreach(lc, grants)
	{
		SupportGrant *g = lfirst(lc);

		if (grant_applies(g, roleid) && list_member_oid(g->viewers, viewer))
			return true;
	}
	return false;
}

/*
 * privacy_support_bsn: does a grant active now show the support role BSNs
 * in full?  Checked against the clock at every call: the answer is used
 * for output, not folded into plans.
 */
bool
privacy_support_bsn(Oid roleid)
{
	ListCell   *lc;
	TimestampTz now;

	if (!IsTransactionState())
		return false;
	load_grants();
	now = GetCurrentTimestamp();
	foreach(lc, grants)
	{
		SupportGrant *g = lfirst(lc);

		if (g->bsn && g->until > now && grant_applies(g, roleid))
			return true;
	}
	return false;
}

/*
 * covering_grant: a grant of the role, active at now, that covers the table
 * (and allows writes when asked); NULL when none does.
 */
static SupportGrant *
covering_grant(Oid roleid, Oid relid, bool write, TimestampTz now)
{
	ListCell   *lc;

	foreach(lc, grants)
	{
		SupportGrant *g = lfirst(lc);

		if (g->until > now && (!write || g->write) &&
			list_member_oid(g->relids, relid) && grant_applies(g, roleid))
			return g;
	}
	return NULL;
}

/* rte_writes: does the statement change (or lock) the relation? */
static inline bool
rte_writes(RangeTblEntry *rte)
{
	return (rte->requiredPerms & ~ACL_SELECT) != 0;
}

/*
 * privacy_support_check_relation: refuse a support role a registered table
 * that no active grant covers, or a write that none allows.  Returns the
 * grant that covers it, or 0 when the relation is not registered.
 */
int64
privacy_support_check_relation(Oid roleid, Oid relid, bool write, TimestampTz now)
{
	SupportGrant *g;

	if (privacy_registered_table(relid) == NULL)
		return 0;
	g = covering_grant(roleid, relid, write, now);
	if (g != NULL)
		return g->id;
	if (write && covering_grant(roleid, relid, false, now) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to change table \"%s\" under support access",
						get_rel_name(relid)),
				 errdetail("The access grant of role \"%s\" covering the table does not allow writes.",
						   GetUserNameFromId(roleid, false)),
				 errhint("Request a grant with write => true.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for table \"%s\"", get_rel_name(relid)),
			 errdetail("Role \"%s\" is a support role, and no active access grant covers the table.",
					   GetUserNameFromId(roleid, false)),
			 errhint("Request access with privacy.request_access(); the privacy officer approves it.")));
	return 0;					/* keep the compiler quiet */
}

/*
 * privacy_support_check: before a support role's plan runs (ExecutorStart,
 * and ExecutorRun for every fetch of a cursor), check its registered
 * tables against the grants active now.  Returns the ids of the grants
 * used, or NIL when the role is no support role or reads no registered
 * table.
 */
List *
privacy_support_check(PlannedStmt *stmt)
{
	Oid			roleid = GetUserId();
	TimestampTz now;
	ListCell   *lc;
	List	   *used = NIL;

	if (!privacy_support_user(roleid) || privacy_acting_internally(0))
		return NIL;
	load_grants();
	now = GetCurrentTimestamp();

	/*
	 * A grant this backend loaded has ended: its scopes and classes may be
	 * folded into cached plans, this one included.  Forget them all and
	 * refuse the statement; run again, it is planned anew.
	 */
	foreach(lc, grants)
	{
		SupportGrant *g = lfirst(lc);

		if (g->until <= now && grant_applies(g, roleid))
		{
			int64		id = g->id;

			privacy_registry_reset();
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("support access grant %lld has ended", (long long) id),
					 errdetail("Plans made under the grant have been discarded."),
					 errhint("Run the statement again to run it under the grants still active.")));
		}
	}

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		int64		id;

		if (rte->rtekind != RTE_RELATION)
			continue;
		id = privacy_support_check_relation(roleid, rte->relid, rte_writes(rte), now);
		if (id != 0 && !list_member_int(used, (int) id))
			used = lappend_int(used, (int) id);
	}
	return used;
}

/*
 * privacy_support_used: the grants of the support role that cover the
 * registered tables of a statement, whatever the time (for its audit
 * entry, when it has run); NIL when it reads no registered table.
 */
List *
privacy_support_used(PlannedStmt *stmt)
{
	Oid			roleid = GetUserId();
	ListCell   *lc;
	List	   *used = NIL;
	bool		registered = false;

	load_grants();
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		ListCell   *g;

		if (rte->rtekind != RTE_RELATION || privacy_registered_table(rte->relid) == NULL)
			continue;
		registered = true;
		foreach(g, grants)
		{
			SupportGrant *sg = lfirst(g);

			if (list_member_oid(sg->relids, rte->relid) && grant_applies(sg, roleid) &&
				!list_member_int(used, (int) sg->id))
				used = lappend_int(used, (int) sg->id);
		}
	}
	/* a registered table read under a grant that was reset meanwhile */
	if (registered && used == NIL)
		used = lappend_int(used, 0);
	return used;
}

/*
 * scrub_statement: the statement's text with every literal (strings,
 * dollar-quoted strings, numbers) replaced by '?', so that no BSN and no
 * other value from a WHERE clause reaches the audit trail.
 */
static char *
scrub_statement(const char *src, int len)
{
	StringInfoData out;
	int			i = 0;

	initStringInfo(&out);
	while (i < len)
	{
		char		c = src[i];

		if (c == '\'' || ((c == 'E' || c == 'e') && i + 1 < len && src[i + 1] == '\'' &&
						  (i == 0 || !(isalnum((unsigned char) src[i - 1]) || src[i - 1] == '_'))))
		{
			bool		esc = (c != '\'');

			i += esc ? 2 : 1;
			while (i < len)
			{
				if (esc && src[i] == '\\' && i + 1 < len)
					i += 2;
				else if (src[i] == '\'' && i + 1 < len && src[i + 1] == '\'')
					i += 2;
				else if (src[i] == '\'')
				{
					i++;
					break;
				}
				else
					i++;
			}
			appendStringInfoChar(&out, '?');
		}
		else if (c == '$' && (i == 0 || !(isalnum((unsigned char) src[i - 1]) || src[i - 1] == '_')))
		{
			/* $tag$ ... $tag$, or a parameter $1 */
			int			j = i + 1;

			while (j < len && (isalnum((unsigned char) src[j]) || src[j] == '_'))
				j++;
			if (j < len && src[j] == '$' && !isdigit((unsigned char) src[i + 1]))
			{
				int			taglen = j - i + 1;
				int			k = j + 1;

				while (k + taglen <= len && strncmp(src + k, src + i, taglen) != 0)
					k++;
				i = Min(k + taglen, len);
				appendStringInfoChar(&out, '?');
			}
			else
			{
				appendBinaryStringInfo(&out, src + i, j - i);
				i = j;
			}
		}
		else if (c == '"')
		{
			/* a quoted identifier stays */
			int			j = i + 1;

			while (j < len && !(src[j] == '"' && !(j + 1 < len && src[j + 1] == '"')))
				j += (src[j] == '"') ? 2 : 1;
			j = Min(j + 1, len);
			appendBinaryStringInfo(&out, src + i, j - i);
			i = j;
		}
		else if (isdigit((unsigned char) c) &&
				 (i == 0 || !(isalnum((unsigned char) src[i - 1]) || src[i - 1] == '_')))
		{
			while (i < len && (isalnum((unsigned char) src[i]) || src[i] == '.' || src[i] == '_'))
				i++;
			appendStringInfoChar(&out, '?');
		}
		else if (c == '-' && i + 1 < len && src[i + 1] == '-')
		{
			/* a comment may hold anything: left out */
			while (i < len && src[i] != '\n')
				i++;
		}
		else if (c == '/' && i + 1 < len && src[i + 1] == '*')
		{
			const char *end = strstr(src + i + 2, "*/");

			i = end ? Min((int) (end - src) + 2, len) : len;
		}
		else
		{
			appendStringInfoChar(&out, c);
			i++;
		}
		if (out.len > 4000)
		{
			appendStringInfoString(&out, " ...");
			break;
		}
	}
	return out.data;
}

static const char *
command_name(CmdType op)
{
	switch (op)
	{
		case CMD_SELECT:
			return "SELECT";
		case CMD_INSERT:
			return "INSERT";
		case CMD_UPDATE:
			return "UPDATE";
		case CMD_DELETE:
			return "DELETE";
		case CMD_MERGE:
			return "MERGE";
		default:
			return "OTHER";
	}
}

/*
 * privacy_support_log: the audit entry of a support role's statement that
 * ran under grants: the grants, tables, command, rows and scrubbed text.
 */
void
privacy_support_log(QueryDesc *queryDesc, List *used)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;
	StringInfoData js;
	StringInfoData tables;
	ListCell   *lc;
	const char *src = queryDesc->sourceText ? queryDesc->sourceText : "";
	int			loc = Max(stmt->stmt_location, 0);
	int			len = stmt->stmt_len > 0 ? stmt->stmt_len : (int) strlen(src + Min(loc, (int) strlen(src)));
	bool		first = true;
	List	   *seen = NIL;

	if (loc > (int) strlen(src))
		loc = 0;
	initStringInfo(&tables);
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind != RTE_RELATION || list_member_oid(seen, rte->relid) ||
			privacy_registered_table(rte->relid) == NULL)
			continue;
		seen = lappend_oid(seen, rte->relid);
		if (!first)
			appendStringInfoString(&tables, ", ");
		appendStringInfoString(&tables,
							   quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
														  get_rel_name(rte->relid)));
		first = false;
	}

	initStringInfo(&js);
	appendStringInfoString(&js, "{\"grants\": [");
	first = true;
	foreach(lc, used)
	{
		appendStringInfo(&js, "%s%d", first ? "" : ", ", lfirst_int(lc));
		first = false;
	}
	appendStringInfo(&js, "], \"command\": \"%s\", \"rows\": " UINT64_FORMAT ", \"statement\": ",
					 command_name(queryDesc->operation),
					 queryDesc->estate ? queryDesc->estate->es_processed : 0);
	escape_json(&js, scrub_statement(src + loc, len));
	appendStringInfoChar(&js, '}');
	privacy_audit_append("support.statement", tables.data, NULL, NULL,
						 DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data))));
}
