/*-------------------------------------------------------------------------
 *
 * bsn.c
 *	  The bsn type: the Dutch citizen service number (burgerservicenummer).
 *
 *	  A bsn is stored as a 4-byte integer, passed by value.  Input applies
 *	  the rule of bsn_parse.c; errors never echo the value.  Output depends
 *	  on who asks: members of privacy.bsn_role (through inheritance) and
 *	  superusers get the nine digits, everyone else a masked form that keeps
 *	  the last privacy.bsn_visible_digits digits and cannot be read back as
 *	  a BSN.  The binary format masks the same way.
 *
 *	  The comparison and hash functions are ordinary; who may use them is
 *	  decided by the inference guard (hooks.c) and by EXECUTE privileges.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/hash.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/vacuum.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/sortsupport.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "bsn_parse.h"
#include "pg_privacy.h"

/* binary format: a version byte, then the value */
#define BSN_BINARY_FULL		1
#define BSN_BINARY_MASKED	2

/* authorization cache: valid for one user until roles change */
static bool auth_valid = false;
static Oid	auth_user = InvalidOid;
static bool auth_result = false;

/* set while ANALYZE computes statistics, which keep no values */
static bool bsn_analyze_in_progress = false;

/* the type's OID in this database, and which types contain it */
static bool type_oid_valid = false;
static Oid	bsn_type_oid = InvalidOid;
static HTAB *involves_cache = NULL;

PG_FUNCTION_INFO_V1(privacy_bsn_in);
PG_FUNCTION_INFO_V1(privacy_bsn_out);
PG_FUNCTION_INFO_V1(privacy_bsn_recv);
PG_FUNCTION_INFO_V1(privacy_bsn_send);
PG_FUNCTION_INFO_V1(privacy_bsn_eq);
PG_FUNCTION_INFO_V1(privacy_bsn_ne);
PG_FUNCTION_INFO_V1(privacy_bsn_lt);
PG_FUNCTION_INFO_V1(privacy_bsn_le);
PG_FUNCTION_INFO_V1(privacy_bsn_gt);
PG_FUNCTION_INFO_V1(privacy_bsn_ge);
PG_FUNCTION_INFO_V1(privacy_bsn_cmp);
PG_FUNCTION_INFO_V1(privacy_bsn_sortsupport);
PG_FUNCTION_INFO_V1(privacy_bsn_hash);
PG_FUNCTION_INFO_V1(privacy_bsn_hash_extended);
PG_FUNCTION_INFO_V1(privacy_bsn_smaller);
PG_FUNCTION_INFO_V1(privacy_bsn_larger);
PG_FUNCTION_INFO_V1(privacy_bsn_from_int8);
PG_FUNCTION_INFO_V1(privacy_bsn_is_valid);
PG_FUNCTION_INFO_V1(privacy_bsn_display);
PG_FUNCTION_INFO_V1(privacy_bsn_authorized_sql);
PG_FUNCTION_INFO_V1(privacy_bsn_typanalyze);

static void
auth_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	auth_valid = false;
}

static void
type_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	type_oid_valid = false;
	if (involves_cache != NULL)
	{
		hash_destroy(involves_cache);
		involves_cache = NULL;
	}
}

static void
type_relcache_invalidate(Datum arg, Oid relid)
{
	/* a composite type may have gained or lost a bsn attribute */
	if (involves_cache != NULL)
	{
		hash_destroy(involves_cache);
		involves_cache = NULL;
	}
}

/*
 * privacy_bsn_init: register the invalidation callbacks.  Role and
 * membership changes reset the authorization cache; type changes reset the
 * type cache.
 */
void
privacy_bsn_init(void)
{
	CacheRegisterSyscacheCallback(AUTHOID, auth_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, auth_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, type_invalidate, (Datum) 0);
	CacheRegisterRelcacheCallback(type_relcache_invalidate, (Datum) 0);
}

/*
 * bsn_role_authorized: may this role see and change BSNs?  Not cached: for
 * the rare checks about a role other than the current user.
 */
bool
privacy_role_bsn_authorized(Oid roleid)
{
	Oid			role;

	if (superuser_arg(roleid))
		return true;
	/* a support role sees BSNs only under a grant that says so, until it ends */
	if (privacy_support_user(roleid))
		return privacy_support_bsn(roleid);
	role = get_role_oid(privacy_bsn_role, true);
	return OidIsValid(role) && has_privs_of_role(roleid, role);
}

/*
 * privacy_bsn_role_assign: the setting changed; forget cached answers.
 */
void
privacy_bsn_role_assign(const char *newval, void *extra)
{
	auth_valid = false;
}

/*
 * privacy_bsn_authorized: may the current user see and change BSNs?
 *
 * Superusers and roles with the privileges of privacy.bsn_role may.  The
 * answer is cached for the current user until a role or membership changes
 * or the setting does.
 */
bool
privacy_bsn_authorized(void)
{
	Oid			user = GetUserId();

	if (auth_valid && user == auth_user)
		return auth_result;

	auth_result = privacy_role_bsn_authorized(user);
	/* not kept for a support role: its grant ends by time */
	if (privacy_support_user(user))
		return auth_result;
	auth_user = user;
	auth_valid = true;
	return auth_result;
}

/*
 * privacy_bsn_type_oid: the OID of privacy.bsn in this database, or
 * InvalidOid when the extension is not installed.
 */
Oid
privacy_bsn_type_oid(void)
{
	if (!type_oid_valid)
	{
		Oid			nsp = privacy_schema_oid();

		bsn_type_oid = OidIsValid(nsp) ?
			GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							CStringGetDatum("bsn"), ObjectIdGetDatum(nsp)) :
			InvalidOid;
		/* an absent extension is looked for again: it may be created */
		type_oid_valid = OidIsValid(bsn_type_oid);
	}
	return bsn_type_oid;
}

typedef struct InvolvesEntry
{
	Oid			typid;
	bool		involves;
} InvolvesEntry;

static bool
type_involves_bsn_depth(Oid typid, int depth)
{
	HeapTuple	tup;
	Form_pg_type typ;
	bool		result = false;
	InvolvesEntry *entry;
	bool		found;

	if (!OidIsValid(typid) || depth > 16)
		return false;
	if (typid == privacy_bsn_type_oid())
		return true;
	/* built-in types never contain a bsn */
	if (typid < FirstNormalObjectId)
		return false;

	if (involves_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(InvolvesEntry);
		ctl.hcxt = CacheMemoryContext;
		involves_cache = hash_create("pg_privacy bsn type cache", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(involves_cache, &typid, HASH_FIND, &found);
	if (found)
		return entry->involves;

	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return false;
	typ = (Form_pg_type) GETSTRUCT(tup);
	if (typ->typtype == TYPTYPE_DOMAIN)
		result = type_involves_bsn_depth(typ->typbasetype, depth + 1);
	else if (OidIsValid(typ->typelem) && IsTrueArrayType(typ))
		result = type_involves_bsn_depth(typ->typelem, depth + 1);
	else if (typ->typtype == TYPTYPE_COMPOSITE && OidIsValid(typ->typrelid))
	{
		TupleDesc	td = lookup_rowtype_tupdesc_noerror(typid, -1, true);

		if (td != NULL)
		{
			int			i;

			for (i = 0; i < td->natts && !result; i++)
			{
				Form_pg_attribute att = TupleDescAttr(td, i);

				if (!att->attisdropped)
					result = type_involves_bsn_depth(att->atttypid, depth + 1);
			}
			ReleaseTupleDesc(td);
		}
	}
	else if (typ->typtype == TYPTYPE_RANGE || typ->typtype == TYPTYPE_MULTIRANGE)
	{
		TypeCacheEntry *tce = lookup_type_cache(typid, TYPECACHE_RANGE_INFO |
												TYPECACHE_MULTIRANGE_INFO);

		if (typ->typtype == TYPTYPE_RANGE && tce->rngelemtype)
			result = type_involves_bsn_depth(tce->rngelemtype->type_id, depth + 1);
		else if (tce->rngtype)
			result = type_involves_bsn_depth(tce->rngtype->type_id, depth + 1);
	}
	ReleaseSysCache(tup);

	/* the recursion may have reset the cache */
	if (involves_cache != NULL)
	{
		entry = hash_search(involves_cache, &typid, HASH_ENTER, &found);
		entry->involves = result;
	}
	return result;
}

/*
 * privacy_type_involves_bsn: is typid bsn, or a domain, array, composite or
 * range built on it?
 */
bool
privacy_type_involves_bsn(Oid typid)
{
	if (!OidIsValid(privacy_bsn_type_oid()))
		return false;
	return type_involves_bsn_depth(typid, 0);
}

/* --- input and output --------------------------------------------------- */

/*
 * Report why text is not a BSN, without the text.
 */
static void
report_parse_error(BsnParseResult r, int ndigits)
{
	const char *detail;

	switch (r)
	{
		case BSN_EMPTY:
			detail = "The value is empty.";
			break;
		case BSN_BAD_CHARACTER:
			detail = "A BSN may contain only digits, separated by single \".\", \"-\" or space characters.";
			break;
		case BSN_BAD_SEPARATOR:
			detail = "A separator must stand between two digits.";
			break;
		case BSN_BAD_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s", "bsn"),
					 errdetail("A BSN has 9 digits (or 8 for an older number); the value has %d.",
							   ndigits)));
			return;
		case BSN_BAD_CHECK_DIGIT:
			detail = "The check digit does not match (elfproef).";
			break;
		case BSN_ZERO:
			detail = "Zero is not a BSN.";
			break;
		default:
			detail = NULL;
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s", "bsn"),
			 detail ? errdetail("%s", detail) : 0));
}

Datum
privacy_bsn_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	int32_t		value;
	int			ndigits;
	BsnParseResult r;

	r = bsn_parse(s, strlen(s), &value, &ndigits);
	if (r != BSN_OK)
		report_parse_error(r, ndigits);
	PG_RETURN_INT32(value);
}

/*
 * Write the masked form into buf (at least 10 bytes): asterisks for all but
 * the last privacy.bsn_visible_digits digits.
 */
/*
 * Write the nine digits of a BSN into buf (at least 10 bytes).  Output is on
 * the hot path of every COPY and SELECT, hence no snprintf.
 */
static inline void
format_digits(int32 value, char *buf)
{
	uint32		v = (uint32) value;
	int			i;

	for (i = 8; i >= 0; i--)
	{
		buf[i] = (char) ('0' + v % 10);
		v /= 10;
	}
	buf[9] = '\0';
}

/*
 * Write the masked form into buf (at least 10 bytes): asterisks for all but
 * the last privacy.bsn_visible_digits digits.
 */
static void
mask_digits(int32 value, char *buf)
{
	int			keep = privacy_bsn_visible_digits;

	format_digits(value, buf);
	memset(buf, '*', 9 - keep);
}

Datum
privacy_bsn_out(PG_FUNCTION_ARGS)
{
	int32		value = PG_GETARG_INT32(0);
	char	   *buf = palloc(10);

	if (privacy_bsn_authorized())
		format_digits(value, buf);
	else
		mask_digits(value, buf);
	PG_RETURN_CSTRING(buf);
}

/*
 * Binary input accepts only the full form; a masked value is refused rather
 * than stored as garbage.
 */
Datum
privacy_bsn_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	int32		value;

	if (version == BSN_BINARY_MASKED)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("a masked bsn cannot be stored"),
				 errdetail("The value was written for a role that may not see BSNs.")));
	if (version != BSN_BINARY_FULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported binary format version %d for type %s",
						version, "bsn")));
	value = pq_getmsgint(buf, 4);
	if (!bsn_check(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary value for type %s", "bsn"),
				 errdetail("The check digit does not match (elfproef).")));
	PG_RETURN_INT32(value);
}

/*
 * Binary output: version 1 and the number for authorized roles; version 2,
 * the number of digits kept and only those digits for everyone else.
 */
Datum
privacy_bsn_send(PG_FUNCTION_ARGS)
{
	int32		value = PG_GETARG_INT32(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	if (privacy_bsn_authorized())
	{
		pq_sendbyte(&buf, BSN_BINARY_FULL);
		pq_sendint32(&buf, value);
	}
	else
	{
		int			keep = privacy_bsn_visible_digits;
		int32		mod = 1;
		int			i;

		for (i = 0; i < keep; i++)
			mod *= 10;
		pq_sendbyte(&buf, BSN_BINARY_MASKED);
		pq_sendbyte(&buf, keep);
		pq_sendint32(&buf, value % mod);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* --- comparison --------------------------------------------------------- */

#define BSN_CMP_FN(name, op) \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL(PG_GETARG_INT32(0) op PG_GETARG_INT32(1)); \
}

BSN_CMP_FN(privacy_bsn_eq, ==)
BSN_CMP_FN(privacy_bsn_ne, !=)
BSN_CMP_FN(privacy_bsn_lt, <)
BSN_CMP_FN(privacy_bsn_le, <=)
BSN_CMP_FN(privacy_bsn_gt, >)
BSN_CMP_FN(privacy_bsn_ge, >=)

/*
 * Refuse to order or hash BSNs on behalf of a role that may not see them in
 * the maintenance operations that run as a table's owner (CREATE INDEX,
 * REINDEX, CLUSTER, REFRESH MATERIALIZED VIEW): a role could otherwise copy
 * BSNs into a table of its own, index it and CLUSTER it to read them in
 * order.  Such operations run as a security-restricted operation; they are
 * allowed when the role that issued the command or the owner is authorized,
 * and during ANALYZE, whose statistics keep no values.  Unique checks on
 * INSERT run outside such operations and are not affected.
 */
static void
check_maintenance_order(void)
{
	if (InSecurityRestrictedOperation() && !bsn_analyze_in_progress &&
		!privacy_bsn_authorized() && !privacy_role_bsn_authorized(GetOuterUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to sort or hash values of type bsn for role \"%s\"",
						GetUserNameFromId(GetUserId(), false)),
				 errdetail("Building an index on a bsn or clustering by one needs a member of role \"%s\".",
						   privacy_bsn_role),
				 errhint("Run the command as a member of \"%s\", or make the table's owner one.",
						 privacy_bsn_role)));
}

Datum
privacy_bsn_cmp(PG_FUNCTION_ARGS)
{
	int32		a = PG_GETARG_INT32(0);
	int32		b = PG_GETARG_INT32(1);

	check_maintenance_order();
	PG_RETURN_INT32((a > b) - (a < b));
}

Datum
privacy_bsn_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	check_maintenance_order();
	ssup->comparator = ssup_datum_int32_cmp;
	PG_RETURN_VOID();
}

Datum
privacy_bsn_hash(PG_FUNCTION_ARGS)
{
	check_maintenance_order();
	return hash_uint32((uint32) PG_GETARG_INT32(0));
}

Datum
privacy_bsn_hash_extended(PG_FUNCTION_ARGS)
{
	check_maintenance_order();
	return hash_uint32_extended((uint32) PG_GETARG_INT32(0),
								PG_GETARG_INT64(1));
}

Datum
privacy_bsn_smaller(PG_FUNCTION_ARGS)
{
	int32		a = PG_GETARG_INT32(0);
	int32		b = PG_GETARG_INT32(1);

	PG_RETURN_INT32(a < b ? a : b);
}

Datum
privacy_bsn_larger(PG_FUNCTION_ARGS)
{
	int32		a = PG_GETARG_INT32(0);
	int32		b = PG_GETARG_INT32(1);

	PG_RETURN_INT32(a > b ? a : b);
}

/* --- helpers ------------------------------------------------------------ */

/*
 * Cast from bigint: the number must be a valid BSN.
 */
Datum
privacy_bsn_from_int8(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);

	if (v <= 0 || v > 999999999)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s", "bsn"),
				 errdetail("A BSN is a number from 1 to 999999999.")));
	if (!bsn_check((int32) v))
		report_parse_error(BSN_BAD_CHECK_DIGIT, 9);
	PG_RETURN_INT32((int32) v);
}

/*
 * privacy.bsn_is_valid(text): does the text satisfy the input rule?  Never
 * raises, whatever the text.
 */
Datum
privacy_bsn_is_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int32_t		value;
	int			ndigits;

	PG_RETURN_BOOL(bsn_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
							 &value, &ndigits) == BSN_OK);
}

/*
 * privacy.bsn_display(bsn): the conventional written form 1234.56.782, or
 * its masked equivalent for roles that may not see BSNs.
 */
Datum
privacy_bsn_display(PG_FUNCTION_ARGS)
{
	int32		value = PG_GETARG_INT32(0);
	char		digits[10];
	char	   *out = palloc(12);

	if (privacy_bsn_authorized())
		format_digits(value, digits);
	else
		mask_digits(value, digits);
	memcpy(out, digits, 4);
	out[4] = '.';
	memcpy(out + 5, digits + 4, 2);
	out[7] = '.';
	memcpy(out + 8, digits + 6, 3);
	out[11] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * privacy.bsn_authorized(): whether the current role sees BSNs in full.
 */
Datum
privacy_bsn_authorized_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(privacy_bsn_authorized());
}

/* --- statistics --------------------------------------------------------- */

typedef struct BsnAnalyzeData
{
	AnalyzeAttrComputeStatsFunc std_compute;
	void	   *std_extra;
} BsnAnalyzeData;

/*
 * Compute the standard statistics, then drop every slot that holds values
 * or their order (most common values, histogram, correlation).  pg_stats
 * would otherwise show stored BSNs, in order, to anyone who may read the
 * table; the planner keeps the null fraction, width and distinct count.
 */
static void
bsn_compute_stats(VacAttrStatsP stats, AnalyzeAttrFetchFunc fetchfunc,
				  int samplerows, double totalrows)
{
	BsnAnalyzeData *d = (BsnAnalyzeData *) stats->extra_data;
	int			i;

	stats->extra_data = d->std_extra;
	bsn_analyze_in_progress = true;
	PG_TRY();
	{
		d->std_compute(stats, fetchfunc, samplerows, totalrows);
	}
	PG_FINALLY();
	{
		bsn_analyze_in_progress = false;
	}
	PG_END_TRY();
	stats->extra_data = d;

	for (i = 0; i < STATISTIC_NUM_SLOTS; i++)
	{
		stats->stakind[i] = 0;
		stats->staop[i] = InvalidOid;
		stats->stacoll[i] = InvalidOid;
		stats->numnumbers[i] = 0;
		stats->stanumbers[i] = NULL;
		stats->numvalues[i] = 0;
		stats->stavalues[i] = NULL;
	}
}

Datum
privacy_bsn_typanalyze(PG_FUNCTION_ARGS)
{
	VacAttrStats *stats = (VacAttrStats *) PG_GETARG_POINTER(0);
	BsnAnalyzeData *d;

	if (!std_typanalyze(stats))
		PG_RETURN_BOOL(false);
	d = palloc(sizeof(BsnAnalyzeData));
	d->std_compute = stats->compute_stats;
	d->std_extra = stats->extra_data;
	stats->compute_stats = bsn_compute_stats;
	stats->extra_data = d;
	PG_RETURN_BOOL(true);
}
