/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The tamper-evident audit trail.
 *
 *	  Entries are appended to privacy.audit_log, each carrying a SHA-256
 *	  hash over its own content and the hash of the entry before it, so that
 *	  editing, removing or inserting an entry anywhere but at the end breaks
 *	  the chain and privacy.audit_verify() finds it.
 *
 *	  Chaining happens at commit.  An append during a transaction only
 *	  buffers the entry (in the transaction's memory, dropped with a rolled
 *	  back subtransaction).  At pre-commit the backend takes a lock that
 *	  only chain writers use, reads the chain head, hashes and inserts its
 *	  entries, and commits; the lock is released with the commit.  The chain
 *	  order is therefore the commit order, entries of aborted transactions
 *	  never enter it, a crash leaves the chain as the last commit left it,
 *	  and appenders are serialized only from their pre-commit to the end of
 *	  their commit, never for the rest of their transaction.
 *
 *	  Only the head is read under the lock, with a non-MVCC snapshot so that
 *	  transactions in REPEATABLE READ or SERIALIZABLE see the newest head and
 *	  take no predicate locks on the log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pg_privacy.h"

#define AUDIT_HASH_LEN PG_SHA256_DIGEST_LENGTH
#define AUDIT_NCOLS 14

/* one buffered entry, waiting for commit */
typedef struct PendingEntry
{
	int			nestlevel;		/* subtransaction that appended it */
	TimestampTz logged_at;
	char	   *session_id;
	char	   *login_role;
	char	   *acting_role;
	char	   *actor;
	char	   *action;
	char	   *object;
	char	   *subject_type;
	char	   *subject_key;
	char	   *details;		/* canonical jsonb text, or NULL */
} PendingEntry;

/* entries of the current transaction, in TopTransactionContext */
static List *pending = NIL;

/* a prepared INSERT, kept for the life of the backend */
static SPIPlanPtr insert_plan = NULL;

PG_FUNCTION_INFO_V1(privacy_audit_append_sql);
PG_FUNCTION_INFO_V1(privacy_audit_verify);
PG_FUNCTION_INFO_V1(privacy_audit_guard);
PG_FUNCTION_INFO_V1(privacy_audit_pending);

static void audit_xact_callback(XactEvent event, void *arg);
static void audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								   SubTransactionId parentSubid, void *arg);

/*
 * privacy_audit_init: register the transaction callbacks.  Called from
 * _PG_init in every backend that loads the library.
 */
void
privacy_audit_init(void)
{
	RegisterXactCallback(audit_xact_callback, NULL);
	RegisterSubXactCallback(audit_subxact_callback, NULL);
}

/* --- hashing ------------------------------------------------------------ */

static void
hash_bytes(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0)
		elog(ERROR, "could not update SHA-256 hash: %s",
			 pg_cryptohash_error(ctx));
}

static void
hash_int64(pg_cryptohash_ctx *ctx, int64 v)
{
	uint8		buf[8];
	int			i;

	for (i = 0; i < 8; i++)
		buf[i] = (uint8) ((uint64) v >> (56 - 8 * i));
	hash_bytes(ctx, buf, 8);
}

/* a NULL-aware, length-prefixed string, so that fields cannot run together */
static void
hash_text(pg_cryptohash_ctx *ctx, const char *s)
{
	uint8		tag = (s != NULL);

	hash_bytes(ctx, &tag, 1);
	if (s != NULL)
	{
		size_t		len = strlen(s);

		hash_int64(ctx, (int64) len);
		hash_bytes(ctx, s, len);
	}
}

/*
 * audit_entry_hash: the SHA-256 of one entry and its predecessor's hash.
 * The same function serves appending and verification, so that the two can
 * never disagree on the encoding.
 */
static void
audit_entry_hash(int64 seq, TimestampTz logged_at, int64 txid,
				 const char *session_id, const char *login_role,
				 const char *acting_role, const char *actor,
				 const char *action, const char *object,
				 const char *subject_type, const char *subject_key,
				 const char *details, const uint8 *prev_hash, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	static const char domain[] = "pg_privacy audit v1";

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256 hash");
	hash_bytes(ctx, domain, sizeof(domain) - 1);
	hash_int64(ctx, seq);
	hash_int64(ctx, (int64) logged_at);
	hash_int64(ctx, txid);
	hash_text(ctx, session_id);
	hash_text(ctx, login_role);
	hash_text(ctx, acting_role);
	hash_text(ctx, actor);
	hash_text(ctx, action);
	hash_text(ctx, object);
	hash_text(ctx, subject_type);
	hash_text(ctx, subject_key);
	hash_text(ctx, details);
	hash_bytes(ctx, prev_hash, AUDIT_HASH_LEN);
	if (pg_cryptohash_final(ctx, out, AUDIT_HASH_LEN) < 0)
		elog(ERROR, "could not finalize SHA-256 hash: %s",
			 pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* --- appending ---------------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
	return (s != NULL) ? pstrdup(s) : NULL;
}

/*
 * Refuse a value that would put a BSN into the log.  The check covers
 * nine-digit numbers that pass the elfproef, with or without separators.
 */
static void
check_no_bsn(const char *field, const char *value)
{
	if (value != NULL && privacy_text_has_bsn(value, 9))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit entry field \"%s\" must not contain a BSN", field),
				 errdetail("A nine-digit number that passes the elfproef was found."),
				 errhint("Record a subject key, never the BSN itself.")));
}

/*
 * privacy_audit_append: buffer an entry until the transaction commits.
 *
 * The C interface for the rest of the extension.  Records the session, the
 * login and current role and the application actor as they are now.
 */
void
privacy_audit_append(const char *action, const char *object,
					 const char *subject_type, const char *subject_key,
					 Jsonb *details)
{
	MemoryContext oldcxt;
	PendingEntry *e;
	char	   *details_text = NULL;

	if (action == NULL || action[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("audit entry action must not be empty")));
	if (IsInParallelMode())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot append audit entries during a parallel operation")));

	if (details != NULL)
		details_text = JsonbToCString(NULL, &details->root, VARSIZE(details));

	check_no_bsn("action", action);
	check_no_bsn("object", object);
	check_no_bsn("subject_type", subject_type);
	check_no_bsn("details", details_text);

	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	e = palloc0(sizeof(PendingEntry));
	e->nestlevel = GetCurrentTransactionNestLevel();
	e->logged_at = GetCurrentTimestamp();
	e->session_id = psprintf("%lx.%x", (long) MyStartTime, MyProcPid);
	e->login_role = pstrdup(GetUserNameFromId(GetSessionUserId(), false));
	e->acting_role = pstrdup(GetUserNameFromId(GetOuterUserId(), false));
	e->actor = (privacy_actor != NULL && privacy_actor[0] != '\0') ?
		pstrdup(privacy_actor) : NULL;
	e->action = pstrdup(action);
	e->object = dup_or_null(object);
	e->subject_type = dup_or_null(subject_type);
	e->subject_key = dup_or_null(subject_key);
	e->details = dup_or_null(details_text);
	pending = lappend(pending, e);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * The audit log's OID and its primary key index, or InvalidOid when the
 * extension is not installed in this database.
 */
static Oid
audit_log_relid(void)
{
	Oid			nsp = privacy_schema_oid();

	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid("audit_log", nsp);
}

/*
 * Read the chain head (highest seq) with SnapshotSelf: under the chain lock
 * every earlier chain writer has committed, and a non-MVCC snapshot sees it
 * whatever the isolation level, without predicate locks.
 */
static void
audit_read_head(Relation rel, int64 *seq, uint8 *hash)
{
	Oid			pkoid = RelationGetPrimaryKeyIndex(rel);
	Relation	idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;

	*seq = 0;
	memset(hash, 0, AUDIT_HASH_LEN);
	if (!OidIsValid(pkoid))
		elog(ERROR, "privacy.audit_log has no primary key");

	idx = index_open(pkoid, AccessShareLock);
	scan = index_beginscan(rel, idx, SnapshotSelf, 0, 0);
	index_rescan(scan, NULL, 0, NULL, 0);
	slot = table_slot_create(rel, NULL);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d;
		bytea	   *h;

		d = slot_getattr(slot, 1, &isnull);
		*seq = DatumGetInt64(d);
		d = slot_getattr(slot, AUDIT_NCOLS, &isnull);
		h = DatumGetByteaPP(d);
		if (!isnull && VARSIZE_ANY_EXHDR(h) == AUDIT_HASH_LEN)
			memcpy(hash, VARDATA_ANY(h), AUDIT_HASH_LEN);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

static bytea *
hash_to_bytea(const uint8 *h)
{
	bytea	   *b = palloc(VARHDRSZ + AUDIT_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(b), h, AUDIT_HASH_LEN);
	return b;
}

/*
 * audit_flush: chain and insert the buffered entries.  Runs at pre-commit.
 */
static void
audit_flush(void)
{
	Oid			relid;
	Relation	rel;
	int64		seq;
	uint8		prev[AUDIT_HASH_LEN];
	int64		txid;
	Oid			save_userid;
	int			save_sec;
	ListCell   *lc;

	relid = audit_log_relid();
	if (!OidIsValid(relid))
	{
		ereport(WARNING,
				(errmsg("%d audit entries discarded: pg_privacy is not installed in this database",
						list_length(pending))));
		return;
	}

	/* the chain lock: an object lock on the log that only chain writers take */
	LockDatabaseObject(RelationRelationId, relid, 0, ExclusiveLock);

	rel = table_open(relid, RowExclusiveLock);
	audit_read_head(rel, &seq, prev);
	txid = (int64) U64FromFullTransactionId(GetTopFullTransactionId());

	/* insert as the log's owner: appending needs no privilege on the log */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (insert_plan == NULL)
		{
			Oid			argtypes[AUDIT_NCOLS] = {
				INT8OID, TIMESTAMPTZOID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
				TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
				BYTEAOID, BYTEAOID
			};
			SPIPlanPtr	plan;

			plan = SPI_prepare("INSERT INTO privacy.audit_log "
							   "(seq, logged_at, txid, session_id, login_role, acting_role, "
							   " actor, action, object, subject_type, subject_key, details, "
							   " prev_hash, hash) "
							   "VALUES ($1, $2, $3::text::pg_catalog.xid8, $4, $5, $6, $7, $8, $9, "
							   " $10, $11, $12::pg_catalog.jsonb, $13, $14)",
							   AUDIT_NCOLS, argtypes);
			if (plan == NULL)
				elog(ERROR, "could not prepare audit insert: %s",
					 SPI_result_code_string(SPI_result));
			SPI_keepplan(plan);
			insert_plan = plan;
		}

		foreach(lc, pending)
		{
			PendingEntry *e = (PendingEntry *) lfirst(lc);
			uint8		hash[AUDIT_HASH_LEN];
			Datum		values[AUDIT_NCOLS];
			char		nulls[AUDIT_NCOLS];
			bool		isnull;
			int			i;

			seq++;
			audit_entry_hash(seq, e->logged_at, txid, e->session_id,
							 e->login_role, e->acting_role, e->actor,
							 e->action, e->object, e->subject_type,
							 e->subject_key, e->details, prev, hash);

			memset(nulls, ' ', sizeof(nulls));
			values[0] = Int64GetDatum(seq);
			values[1] = TimestampTzGetDatum(e->logged_at);
			values[2] = Int64GetDatum(txid);
			values[3] = CStringGetTextDatum(e->session_id);
			values[4] = CStringGetTextDatum(e->login_role);
			values[5] = CStringGetTextDatum(e->acting_role);
			values[6] = text_or_null(e->actor, &isnull);
			if (isnull)
				nulls[6] = 'n';
			values[7] = CStringGetTextDatum(e->action);
			for (i = 8; i <= 11; i++)
			{
				const char *s = (i == 8) ? e->object :
				(i == 9) ? e->subject_type :
				(i == 10) ? e->subject_key : e->details;

				values[i] = text_or_null(s, &isnull);
				if (isnull)
					nulls[i] = 'n';
			}
			values[12] = PointerGetDatum(hash_to_bytea(prev));
			values[13] = PointerGetDatum(hash_to_bytea(hash));

			if (SPI_execute_plan(insert_plan, values, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not insert audit entry");
			memcpy(prev, hash, AUDIT_HASH_LEN);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	PopActiveSnapshot();

	table_close(rel, NoLock);
}

static void
audit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			/* on error the abort event below clears the list */
			if (pending != NIL)
				audit_flush();
			pending = NIL;
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (pending != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that has appended audit entries"),
						 errdetail("Audit entries are chained at commit; a prepared transaction would hold the chain until it is resolved.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* the list lived in TopTransactionContext, which goes away */
			pending = NIL;
			break;
		default:
			break;
	}
}

/*
 * Entries appended in a subtransaction that rolls back are dropped; those of
 * a committed subtransaction now belong to its parent.
 */
static void
audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (pending == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending)
		{
			PendingEntry *e = (PendingEntry *) lfirst(lc);

			if (e->nestlevel >= level)
				pending = foreach_delete_current(pending, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending)
		{
			PendingEntry *e = (PendingEntry *) lfirst(lc);

			if (e->nestlevel >= level)
				e->nestlevel = level - 1;
		}
	}
}

/* --- SQL interface ------------------------------------------------------ */

static char *
text_arg_or_null(FunctionCallInfo fcinfo, int n)
{
	if (PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * privacy.audit_append(action, object, subject_type, subject_key, details)
 */
Datum
privacy_audit_append_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("audit entry action must not be NULL")));
	privacy_audit_append(text_arg_or_null(fcinfo, 0),
						 text_arg_or_null(fcinfo, 1),
						 text_arg_or_null(fcinfo, 2),
						 text_arg_or_null(fcinfo, 3),
						 PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4));
	PG_RETURN_VOID();
}

/*
 * privacy.audit_pending(): how many entries this transaction will chain at
 * commit.
 */
Datum
privacy_audit_pending(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(list_length(pending));
}

/*
 * privacy.audit_log_guard(): statement trigger that makes the log
 * append-only, for every role including the owner and superusers.
 */
Datum
privacy_audit_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *op = "change";

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("privacy.audit_log_guard() must be called as a trigger")));
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		op = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		op = "TRUNCATE";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on the audit log is not allowed", op),
			 errdetail("The audit log is append-only, for every role."),
			 errhint("Use privacy.audit_append() to add an entry.")));
	PG_RETURN_NULL();
}

/*
 * privacy.audit_verify(anchor_seq, anchor_hash): walk the chain in order and
 * recompute every hash.  Returns whether it holds, how many entries were
 * checked, the first entry that breaks it and why.  With an anchor (a head
 * recorded outside the database earlier), also checks that the entry at
 * anchor_seq still has that hash, which detects a rewritten tail.
 */
Datum
privacy_audit_verify(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		result[4];
	bool		rnulls[4] = {false, false, false, false};
	Portal		portal;
	SPIPlanPtr	plan;
	uint8		prev[AUDIT_HASH_LEN];
	int64		expected = 1;
	int64		checked = 0;
	int64		broken = 0;
	char	   *why = NULL;
	bool		have_anchor = !PG_ARGISNULL(0) && !PG_ARGISNULL(1);
	int64		anchor_seq = have_anchor ? PG_GETARG_INT64(0) : 0;
	bytea	   *anchor_hash = have_anchor ? PG_GETARG_BYTEA_PP(1) : NULL;
	bool		anchor_seen = false;
	MemoryContext rowcxt;
	MemoryContext oldcxt;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0) != PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an anchor needs both a sequence number and a hash")));

	memset(prev, 0, AUDIT_HASH_LEN);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "audit verify rows",
								   ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare("SELECT seq, logged_at, txid::text::int8, session_id, login_role::text, "
					   " acting_role::text, actor, action, object, subject_type, subject_key, "
					   " details::text, prev_hash, hash "
					   "FROM privacy.audit_log ORDER BY seq", 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare audit scan");
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

	while (why == NULL)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed && why == NULL; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *f[9];
			int64		seq;
			TimestampTz ts;
			int64		txid;
			bytea	   *ph;
			bytea	   *h;
			uint8		calc[AUDIT_HASH_LEN];
			int			k;

			oldcxt = MemoryContextSwitchTo(rowcxt);
			seq = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
			ts = DatumGetTimestampTz(SPI_getbinval(tup, td, 2, &isnull));
			txid = DatumGetInt64(SPI_getbinval(tup, td, 3, &isnull));
			for (k = 0; k < 9; k++)
				f[k] = SPI_getvalue(tup, td, 4 + k);
			ph = DatumGetByteaPP(SPI_getbinval(tup, td, 13, &isnull));
			h = DatumGetByteaPP(SPI_getbinval(tup, td, 14, &isnull));

			if (seq != expected)
			{
				broken = (seq > expected) ? expected : seq;
				why = (seq > expected) ?
					psprintf("entry %lld is missing", (long long) expected) :
					psprintf("entry %lld appears twice", (long long) seq);
			}
			else if (VARSIZE_ANY_EXHDR(ph) != AUDIT_HASH_LEN ||
					 memcmp(VARDATA_ANY(ph), prev, AUDIT_HASH_LEN) != 0)
			{
				broken = seq;
				why = psprintf("entry %lld does not link to entry %lld",
							   (long long) seq, (long long) (seq - 1));
			}
			else
			{
				audit_entry_hash(seq, ts, txid, f[0], f[1], f[2], f[3], f[4],
								 f[5], f[6], f[7], f[8], prev, calc);
				if (VARSIZE_ANY_EXHDR(h) != AUDIT_HASH_LEN ||
					memcmp(VARDATA_ANY(h), calc, AUDIT_HASH_LEN) != 0)
				{
					broken = seq;
					why = psprintf("entry %lld does not match its hash",
								   (long long) seq);
				}
			}
			if (why == NULL)
			{
				if (have_anchor && seq == anchor_seq)
				{
					anchor_seen = true;
					if (VARSIZE_ANY_EXHDR(anchor_hash) != AUDIT_HASH_LEN ||
						memcmp(VARDATA_ANY(anchor_hash), calc, AUDIT_HASH_LEN) != 0)
					{
						broken = seq;
						why = psprintf("entry %lld does not match the anchor",
									   (long long) seq);
					}
				}
				memcpy(prev, calc, AUDIT_HASH_LEN);
				expected++;
				checked++;
			}
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();

	if (why == NULL && have_anchor && !anchor_seen)
	{
		broken = anchor_seq;
		why = psprintf("the anchor entry %lld is not in the log",
					   (long long) anchor_seq);
	}

	result[0] = BoolGetDatum(why == NULL);
	result[1] = Int64GetDatum(checked);
	if (why == NULL)
	{
		rnulls[2] = true;
		rnulls[3] = true;
	}
	else
	{
		result[2] = Int64GetDatum(broken);
		result[3] = CStringGetTextDatum(why);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, rnulls)));
}
