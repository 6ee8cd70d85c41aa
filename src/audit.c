/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The tamper-evident audit trail.
 *
 *	  An append inserts the entry into privacy.audit_log at once, in the
 *	  appending transaction, with a gapless-in-practice sequence number and a
 *	  SHA-256 hash over its content.  Committed entries are then sealed: a
 *	  seal in privacy.audit_seal lists the entries it covers and carries a
 *	  hash over their hashes and the previous seal's hash, so the seals form
 *	  a chain.  Editing an entry breaks its hash; removing or inserting one
 *	  in a sealed range breaks its seal; removing or changing a seal breaks
 *	  the chain.
 *
 *	  Sealing happens at pre-commit of an appending transaction, by whoever
 *	  gets the seal lock without waiting; the others commit without waiting
 *	  and are sealed by the next seal.  A sealer covers every committed entry
 *	  after the last seal, and its own, up to the first entry of a
 *	  transaction still in progress, so that no entry can later commit
 *	  inside a sealed range.  A short "gate" lock keeps a sequence number
 *	  from being taken without its row being visible to the sealer.
 *	  Appenders therefore never wait for each other's commits, and an entry
 *	  is unsealed only from its commit to the next seal;
 *	  privacy.audit_seal() seals what is left (pg_cron can call it).
 *
 *	  Entries of transactions that roll back disappear with them, a crash
 *	  leaves only committed entries, and seals are written in the same
 *	  transactions as entries, so the log is always consistent.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "pg_privacy.h"

#define AUDIT_HASH_LEN PG_SHA256_DIGEST_LENGTH

#define AUDIT_NCOLS 13			/* columns of privacy.audit_log */
#define SEAL_NCOLS 8			/* columns of privacy.audit_seal */

/*
 * Subtransaction levels of the entries this transaction appended (as
 * integers, in TopTransactionContext): whether to seal at commit, and what
 * privacy.audit_pending() reports.
 */
static List *appended = NIL;

/* prepared statements, kept for the life of the backend */
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr seal_plan = NULL;

PG_FUNCTION_INFO_V1(privacy_audit_append_sql);
PG_FUNCTION_INFO_V1(privacy_audit_verify);
PG_FUNCTION_INFO_V1(privacy_audit_guard);
PG_FUNCTION_INFO_V1(privacy_audit_pending);
PG_FUNCTION_INFO_V1(privacy_audit_seal);

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
 * audit_entry_hash: the SHA-256 of one entry.  The same function serves
 * appending and verification, so that the two can never disagree on the
 * encoding.
 */
static void
audit_entry_hash(int64 seq, TimestampTz logged_at, int64 txid,
				 const char *session_id, const char *login_role,
				 const char *acting_role, const char *actor,
				 const char *action, const char *object,
				 const char *subject_type, const char *subject_key,
				 const char *details, uint8 *out)
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
	if (pg_cryptohash_final(ctx, out, AUDIT_HASH_LEN) < 0)
		elog(ERROR, "could not finalize SHA-256 hash: %s",
			 pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* --- appending ---------------------------------------------------------- */


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

/* the extension's relations, or InvalidOid when it is not installed */
static Oid
privacy_relid(const char *name)
{
	Oid			nsp = privacy_schema_oid();

	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid(name, nsp);
}

/*
 * The two locks of the trail, as object locks on the log that no other code
 * takes.  The gate (sub-id 1) is held in share mode by appenders while they
 * take a sequence number and insert, and in exclusive mode by a sealer while
 * it decides what to seal.  The seal lock (sub-id 2) is held by a sealer
 * until it commits.
 */
static void
audit_locktag(LOCKTAG *tag, Oid logrelid, int which)
{
	SET_LOCKTAG_OBJECT(*tag, MyDatabaseId, RelationRelationId, logrelid, which);
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
 * Run a prepared statement as the owner of the log, so that appending and
 * sealing need no privilege on it; with a snapshot when there is none.
 */
static void
run_as_owner(Oid logrelid, SPIPlanPtr plan, Datum *values, const char *nulls,
			 int expect)
{
	HeapTuple	tup;
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	bool		pushed = false;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(logrelid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", logrelid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	PG_TRY();
	{
		if (SPI_execute_plan(plan, values, nulls, false, 0) != expect)
			elog(ERROR, "could not write to the audit trail");
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
 * privacy_audit_append: write an entry to the audit trail, in the current
 * transaction.
 *
 * The C interface for the rest of the extension.  Records the session, the
 * login role, the acting role (the caller of a security definer function)
 * and the application actor as they are now.
 */
void
privacy_audit_append(const char *action, const char *object,
					 const char *subject_type, const char *subject_key,
					 Jsonb *details)
{
	Oid			logrelid;
	Oid			seqrelid;
	char	   *details_text = NULL;
	char	   *session_id;
	char	   *login_role;
	char	   *acting_role;
	char	   *actor;
	TimestampTz logged_at;
	int64		txid;
	int64		seq;
	uint8		hash[AUDIT_HASH_LEN];
	Datum		values[AUDIT_NCOLS];
	char		nulls[AUDIT_NCOLS];
	bool		isnull;
	LOCKTAG		gate;
	MemoryContext oldcxt;
	int			i;

	if (action == NULL || action[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("audit entry action must not be empty")));
	/* on a standby or in a read-only transaction: 25006, as for any write */
	PreventCommandIfReadOnly("privacy.audit_append()");
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

	logrelid = privacy_relid("audit_log");
	seqrelid = privacy_relid("audit_seq");
	if (!OidIsValid(logrelid) || !OidIsValid(seqrelid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_privacy is not installed in this database")));

	logged_at = GetCurrentTimestamp();
	session_id = psprintf("%lx.%x", (long) MyStartTime, MyProcPid);
	login_role = GetUserNameFromId(GetSessionUserId(), false);
	acting_role = GetUserNameFromId(GetOuterUserId(), false);
	actor = (privacy_actor != NULL && privacy_actor[0] != '\0') ? privacy_actor : NULL;
	txid = (int64) U64FromFullTransactionId(GetTopFullTransactionId());

	privacy_spi_connect();
	if (insert_plan == NULL)
	{
		Oid			argtypes[AUDIT_NCOLS] = {
			INT8OID, TIMESTAMPTZOID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
			TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID
		};
		SPIPlanPtr	plan;

		plan = SPI_prepare("INSERT INTO privacy.audit_log "
						   "(seq, logged_at, txid, session_id, login_role, acting_role, "
						   " actor, action, object, subject_type, subject_key, details, hash) "
						   "VALUES ($1, $2, $3::text::pg_catalog.xid8, $4, $5, $6, $7, $8, $9, "
						   " $10, $11, $12::pg_catalog.jsonb, $13)",
						   AUDIT_NCOLS, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare the audit insert: %s",
					 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		insert_plan = plan;
	}

	/* the number and the row become visible to a sealer together */
	audit_locktag(&gate, logrelid, 1);
	(void) LockAcquire(&gate, ShareLock, false, false);
	PG_TRY();
	{
		seq = nextval_internal(seqrelid, false);
		audit_entry_hash(seq, logged_at, txid, session_id, login_role,
						 acting_role, actor, action, object, subject_type,
						 subject_key, details_text, hash);

		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum(seq);
		values[1] = TimestampTzGetDatum(logged_at);
		values[2] = Int64GetDatum(txid);
		values[3] = CStringGetTextDatum(session_id);
		values[4] = CStringGetTextDatum(login_role);
		values[5] = CStringGetTextDatum(acting_role);
		values[6] = text_or_null(actor, &isnull);
		if (isnull)
			nulls[6] = 'n';
		values[7] = CStringGetTextDatum(action);
		for (i = 8; i <= 11; i++)
		{
			const char *v = (i == 8) ? object :
			(i == 9) ? subject_type :
			(i == 10) ? subject_key : details_text;

			values[i] = text_or_null(v, &isnull);
			if (isnull)
				nulls[i] = 'n';
		}
		values[12] = PointerGetDatum(hash_to_bytea(hash));
		run_as_owner(logrelid, insert_plan, values, nulls, SPI_OK_INSERT);
	}
	PG_FINALLY();
	{
		LockRelease(&gate, ShareLock, false);
	}
	PG_END_TRY();
	privacy_spi_finish();

	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	appended = lappend_int(appended, GetCurrentTransactionNestLevel());
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Read the newest seal with SnapshotSelf: under the seal lock every earlier
 * sealer has committed, and a non-MVCC snapshot sees its seal whatever the
 * isolation level, without predicate locks.
 */
static void
read_last_seal(Relation sealrel, int64 *seal_no, int64 *last_seq, uint8 *hash)
{
	Oid			pkoid = RelationGetPrimaryKeyIndex(sealrel);
	Relation	idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;

	*seal_no = 0;
	*last_seq = 0;
	memset(hash, 0, AUDIT_HASH_LEN);
	if (!OidIsValid(pkoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the audit trail of pg_privacy is damaged"),
				 errdetail("privacy.audit_seal has no primary key.")));

	idx = index_open(pkoid, AccessShareLock);
	scan = index_beginscan(sealrel, idx, SnapshotSelf, 0, 0);
	index_rescan(scan, NULL, 0, NULL, 0);
	slot = table_slot_create(sealrel, NULL);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;
		bytea	   *h;

		*seal_no = DatumGetInt64(slot_getattr(slot, 1, &isnull));
		*last_seq = DatumGetInt64(slot_getattr(slot, 4, &isnull));
		h = DatumGetByteaPP(slot_getattr(slot, SEAL_NCOLS, &isnull));
		if (!isnull && VARSIZE_ANY_EXHDR(h) == AUDIT_HASH_LEN)
			memcpy(hash, VARDATA_ANY(h), AUDIT_HASH_LEN);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
}

/*
 * The hash of a seal: its number and time, the previous seal's hash, and the
 * number and hash of every entry it covers, in order.
 */
static void
seal_hash(int64 seal_no, TimestampTz sealed_at, const uint8 *prev, int n,
		  const int64 *seqs, uint8 *const *hashes, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	static const char domain[] = "pg_privacy seal v1";
	int			i;

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256 hash");
	hash_bytes(ctx, domain, sizeof(domain) - 1);
	hash_int64(ctx, seal_no);
	hash_int64(ctx, (int64) sealed_at);
	hash_bytes(ctx, prev, AUDIT_HASH_LEN);
	hash_int64(ctx, n);
	for (i = 0; i < n; i++)
	{
		hash_int64(ctx, seqs[i]);
		hash_bytes(ctx, hashes[i], AUDIT_HASH_LEN);
	}
	if (pg_cryptohash_final(ctx, out, AUDIT_HASH_LEN) < 0)
		elog(ERROR, "could not finalize SHA-256 hash: %s",
			 pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/*
 * audit_seal_now: seal the committed entries after the last seal (and this
 * transaction's own).  With wait = false, gives up at once when another
 * transaction is sealing.  Returns the number of entries sealed.
 */
static int
audit_seal_now(bool wait)
{
	Oid			logrelid = privacy_relid("audit_log");
	Oid			sealrelid = privacy_relid("audit_seal");
	LOCKTAG		sealtag;
	LOCKTAG		gate;
	Relation	logrel;
	Relation	sealrel;
	Relation	idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	SnapshotData dirty;
	ScanKeyData key;
	int64		seal_no;
	int64		last_seq;
	uint8		prev[AUDIT_HASH_LEN];
	uint8		hash[AUDIT_HASH_LEN];
	int64	   *seqs;
	uint8	  **hashes;
	int			n = 0;
	int			cap = 64;

	if (!OidIsValid(logrelid) || !OidIsValid(sealrelid))
		return 0;

	audit_locktag(&sealtag, logrelid, 2);
	if (LockAcquire(&sealtag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		return 0;

	logrel = table_open(logrelid, AccessShareLock);
	sealrel = table_open(sealrelid, RowExclusiveLock);
	read_last_seal(sealrel, &seal_no, &last_seq, prev);

	seqs = palloc(sizeof(int64) * cap);
	hashes = palloc(sizeof(uint8 *) * cap);

	/* no sequence number is taken without its row while we look */
	audit_locktag(&gate, logrelid, 1);
	(void) LockAcquire(&gate, ExclusiveLock, false, false);

	InitDirtySnapshot(dirty);
	if (!OidIsValid(RelationGetPrimaryKeyIndex(logrel)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the audit trail of pg_privacy is damaged"),
				 errdetail("privacy.audit_log has no primary key.")));
	idx = index_open(RelationGetPrimaryKeyIndex(logrel), AccessShareLock);
	ScanKeyInit(&key, 1, BTGreaterStrategyNumber, F_INT8GT, Int64GetDatum(last_seq));
	scan = index_beginscan(logrel, idx, &dirty, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	slot = table_slot_create(logrel, NULL);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		bytea	   *h;

		/* an entry of a transaction still in progress ends the seal */
		if (TransactionIdIsValid(dirty.xmin))
			break;
		if (n == cap)
		{
			cap *= 2;
			seqs = repalloc(seqs, sizeof(int64) * cap);
			hashes = repalloc(hashes, sizeof(uint8 *) * cap);
		}
		seqs[n] = DatumGetInt64(slot_getattr(slot, 1, &isnull));
		h = DatumGetByteaPP(slot_getattr(slot, AUDIT_NCOLS, &isnull));
		hashes[n] = palloc0(AUDIT_HASH_LEN);
		if (!isnull && VARSIZE_ANY_EXHDR(h) == AUDIT_HASH_LEN)
			memcpy(hashes[n], VARDATA_ANY(h), AUDIT_HASH_LEN);
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
	LockRelease(&gate, ExclusiveLock, false);

	if (n > 0)
	{
		Datum		values[SEAL_NCOLS];
		char		nulls[SEAL_NCOLS];
		Datum	   *seqdatums = palloc(sizeof(Datum) * n);
		TimestampTz sealed_at = GetCurrentTimestamp();
		int			i;

		seal_hash(seal_no + 1, sealed_at, prev, n, seqs, hashes, hash);
		for (i = 0; i < n; i++)
			seqdatums[i] = Int64GetDatum(seqs[i]);

		privacy_spi_connect();
		if (seal_plan == NULL)
		{
			Oid			argtypes[SEAL_NCOLS] = {
				INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, INT8ARRAYOID,
				BYTEAOID, BYTEAOID
			};
			SPIPlanPtr	plan;

			plan = SPI_prepare("INSERT INTO privacy.audit_seal "
							   "(seal_no, sealed_at, first_seq, last_seq, entries, seqs, prev_hash, hash) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
							   SEAL_NCOLS, argtypes);
			if (plan == NULL)
				elog(ERROR, "could not prepare the seal insert");
			SPI_keepplan(plan);
			seal_plan = plan;
		}
		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum(seal_no + 1);
		values[1] = TimestampTzGetDatum(sealed_at);
		values[2] = Int64GetDatum(seqs[0]);
		values[3] = Int64GetDatum(seqs[n - 1]);
		values[4] = Int32GetDatum(n);
		values[5] = PointerGetDatum(construct_array(seqdatums, n, INT8OID, 8,
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[6] = PointerGetDatum(hash_to_bytea(prev));
		values[7] = PointerGetDatum(hash_to_bytea(hash));
		run_as_owner(logrelid, seal_plan, values, nulls, SPI_OK_INSERT);
		privacy_spi_finish();
	}
	else
		LockRelease(&sealtag, ExclusiveLock, false);

	table_close(sealrel, NoLock);
	table_close(logrel, NoLock);
	return n;
}

static void
audit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			/* seal, unless another transaction is sealing right now */
			if (appended != NIL)
				(void) audit_seal_now(false);
			appended = NIL;
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (appended != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that has appended audit entries"),
						 errdetail("A prepared transaction would keep every later entry unsealed until it is resolved.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* the list lived in TopTransactionContext, which goes away */
			appended = NIL;
			break;
		default:
			break;
	}
}

/*
 * Entries of a subtransaction that rolls back are gone; those of a
 * committed subtransaction now belong to its parent.
 */
static void
audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (appended == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, appended)
		{
			if (lfirst_int(lc) >= level)
				appended = foreach_delete_current(appended, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, appended)
		{
			if (lfirst_int(lc) >= level)
				lfirst_int(lc) = level - 1;
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
 * privacy.audit_pending(): how many entries this transaction appended; they
 * are sealed when it commits.
 */
Datum
privacy_audit_pending(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(list_length(appended));
}

/*
 * privacy.audit_seal(): seal every committed entry not sealed yet, waiting
 * for a concurrent sealer.  Returns how many entries it sealed.
 */
Datum
privacy_audit_seal(PG_FUNCTION_ARGS)
{
	PreventCommandIfReadOnly("privacy.audit_seal()");
	PG_RETURN_INT32(audit_seal_now(true));
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
			 errmsg("%s on the audit trail is not allowed", op),
			 errdetail("The audit trail is append-only, for every role."),
			 errhint("Use privacy.audit_append() to add an entry.")));
	PG_RETURN_NULL();
}

/* one row of a verification cursor, copied out of SPI memory */
typedef struct VerifyEntry
{
	int64		seq;
	uint8		stored[AUDIT_HASH_LEN];
	uint8		computed[AUDIT_HASH_LEN];
} VerifyEntry;

/*
 * Fetch the next entry from the cursor over the log, recomputing its hash.
 * Returns false at the end.
 */
static bool
next_entry(Portal portal, VerifyEntry *e, MemoryContext cxt)
{
	HeapTuple	tup;
	TupleDesc	td;
	bool		isnull;
	char	   *f[9];
	bytea	   *h;
	int			k;
	MemoryContext old;

	SPI_cursor_fetch(portal, true, 1);
	if (SPI_processed == 0)
		return false;
	old = MemoryContextSwitchTo(cxt);
	tup = SPI_tuptable->vals[0];
	td = SPI_tuptable->tupdesc;
	e->seq = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
	for (k = 0; k < 9; k++)
		f[k] = SPI_getvalue(tup, td, 4 + k);
	audit_entry_hash(e->seq,
					 DatumGetTimestampTz(SPI_getbinval(tup, td, 2, &isnull)),
					 DatumGetInt64(SPI_getbinval(tup, td, 3, &isnull)),
					 f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8],
					 e->computed);
	h = DatumGetByteaPP(SPI_getbinval(tup, td, 13, &isnull));
	memset(e->stored, 0, AUDIT_HASH_LEN);
	if (!isnull && VARSIZE_ANY_EXHDR(h) == AUDIT_HASH_LEN)
		memcpy(e->stored, VARDATA_ANY(h), AUDIT_HASH_LEN);
	MemoryContextSwitchTo(old);
	MemoryContextReset(cxt);
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/*
 * privacy.audit_verify(anchor_seal, anchor_hash): recompute every entry's
 * hash, check that every seal lists exactly the entries of its range and
 * matches its hash, and that the seals chain.  Returns whether the trail
 * holds, how many entries were checked, the first entry (or seal) that
 * breaks it and why, and how many entries are not sealed yet.  With an
 * anchor (a seal recorded outside the database), also checks that seal.
 */
Datum
privacy_audit_verify(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		result[5];
	bool		rnulls[5] = {false, false, false, false, false};
	Portal		seals;
	Portal		entries;
	SPIPlanPtr	plan;
	uint8		prev[AUDIT_HASH_LEN];
	int64		expected_seal = 1;
	int64		checked = 0;
	int64		unsealed = 0;
	int64		broken = 0;
	char	   *why = NULL;
	bool		have_anchor = !PG_ARGISNULL(0) && !PG_ARGISNULL(1);
	int64		anchor_seal = have_anchor ? PG_GETARG_INT64(0) : 0;
	bytea	   *anchor_hash = have_anchor ? PG_GETARG_BYTEA_PP(1) : NULL;
	bool		anchor_seen = false;
	MemoryContext rowcxt;
	VerifyEntry cur;
	bool		have_cur;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0) != PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an anchor needs both a seal number and a hash")));

	memset(prev, 0, AUDIT_HASH_LEN);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "audit verify rows",
								   ALLOCSET_DEFAULT_SIZES);

	privacy_spi_connect();
	plan = SPI_prepare("SELECT seq, logged_at, txid::text::int8, session_id, login_role::text, "
					   " acting_role::text, actor, action, object, subject_type, subject_key, "
					   " details::text, hash FROM privacy.audit_log ORDER BY seq", 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the audit scan");
	entries = SPI_cursor_open("privacy_verify_entries", plan, NULL, NULL, true);
	plan = SPI_prepare("SELECT seal_no, seqs, prev_hash, hash, sealed_at, first_seq, last_seq, entries "
					   "FROM privacy.audit_seal ORDER BY seal_no",
					   0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the seal scan");
	seals = SPI_cursor_open("privacy_verify_seals", plan, NULL, NULL, true);

	have_cur = next_entry(entries, &cur, rowcxt);

	/* every seal, with the entries of its range */
	while (why == NULL)
	{
		HeapTuple	tup;
		TupleDesc	td;
		bool		isnull;
		int64		seal_no;
		TimestampTz sealed_at;
		int64		first_seq;
		int64		last_seq;
		int32		count;
		ArrayType  *arr;
		Datum	   *elems;
		int			nelems;
		bytea	   *ph;
		bytea	   *sh;
		int64	   *seqs;
		uint8	  **hashes;
		uint8		calc[AUDIT_HASH_LEN];
		int			i;

		SPI_cursor_fetch(seals, true, 1);
		if (SPI_processed == 0)
			break;
		tup = SPI_tuptable->vals[0];
		td = SPI_tuptable->tupdesc;
		seal_no = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		arr = DatumGetArrayTypePCopy(SPI_getbinval(tup, td, 2, &isnull));
		ph = DatumGetByteaPCopy(SPI_getbinval(tup, td, 3, &isnull));
		sh = DatumGetByteaPCopy(SPI_getbinval(tup, td, 4, &isnull));
		sealed_at = DatumGetTimestampTz(SPI_getbinval(tup, td, 5, &isnull));
		first_seq = DatumGetInt64(SPI_getbinval(tup, td, 6, &isnull));
		last_seq = DatumGetInt64(SPI_getbinval(tup, td, 7, &isnull));
		count = DatumGetInt32(SPI_getbinval(tup, td, 8, &isnull));
		SPI_freetuptable(SPI_tuptable);
		deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, NULL, &nelems);

		if (seal_no != expected_seal)
		{
			broken = Min(seal_no, expected_seal);
			why = psprintf("seal %lld is missing", (long long) expected_seal);
			break;
		}
		if (VARSIZE_ANY_EXHDR(ph) != AUDIT_HASH_LEN ||
			memcmp(VARDATA_ANY(ph), prev, AUDIT_HASH_LEN) != 0)
		{
			broken = seal_no;
			why = psprintf("seal %lld does not link to seal %lld",
						   (long long) seal_no, (long long) (seal_no - 1));
			break;
		}

		seqs = palloc(sizeof(int64) * Max(nelems, 1));
		hashes = palloc(sizeof(uint8 *) * Max(nelems, 1));
		for (i = 0; i < nelems && why == NULL; i++)
		{
			int64		want = DatumGetInt64(elems[i]);

			if (!have_cur || cur.seq > want)
			{
				broken = want;
				why = psprintf("entry %lld is missing", (long long) want);
			}
			else if (cur.seq < want)
			{
				broken = cur.seq;
				why = psprintf("entry %lld is not in seal %lld",
							   (long long) cur.seq, (long long) seal_no);
			}
			else if (memcmp(cur.stored, cur.computed, AUDIT_HASH_LEN) != 0)
			{
				broken = cur.seq;
				why = psprintf("entry %lld does not match its hash", (long long) cur.seq);
			}
			else
			{
				seqs[i] = cur.seq;
				hashes[i] = palloc(AUDIT_HASH_LEN);
				memcpy(hashes[i], cur.computed, AUDIT_HASH_LEN);
				checked++;
				have_cur = next_entry(entries, &cur, rowcxt);
			}
		}
		if (why != NULL)
			break;

		seal_hash(seal_no, sealed_at, prev, nelems, seqs, hashes, calc);
		if (VARSIZE_ANY_EXHDR(sh) != AUDIT_HASH_LEN ||
			memcmp(VARDATA_ANY(sh), calc, AUDIT_HASH_LEN) != 0 ||
			count != nelems || nelems == 0 ||
			first_seq != seqs[0] || last_seq != seqs[nelems - 1])
		{
			broken = seal_no;
			why = psprintf("seal %lld does not match its hash", (long long) seal_no);
			break;
		}
		if (have_anchor && seal_no == anchor_seal)
		{
			anchor_seen = true;
			if (VARSIZE_ANY_EXHDR(anchor_hash) != AUDIT_HASH_LEN ||
				memcmp(VARDATA_ANY(anchor_hash), calc, AUDIT_HASH_LEN) != 0)
			{
				broken = seal_no;
				why = psprintf("seal %lld does not match the anchor", (long long) seal_no);
				break;
			}
		}
		memcpy(prev, calc, AUDIT_HASH_LEN);
		expected_seal++;
	}

	/* entries after the last seal: their own hashes, and a count */
	while (why == NULL && have_cur)
	{
		if (memcmp(cur.stored, cur.computed, AUDIT_HASH_LEN) != 0)
		{
			broken = cur.seq;
			why = psprintf("entry %lld does not match its hash", (long long) cur.seq);
			break;
		}
		checked++;
		unsealed++;
		have_cur = next_entry(entries, &cur, rowcxt);
	}

	SPI_cursor_close(seals);
	SPI_cursor_close(entries);
	privacy_spi_finish();

	if (why == NULL && have_anchor && !anchor_seen)
	{
		broken = anchor_seal;
		why = psprintf("the anchor seal %lld is not in the trail",
					   (long long) anchor_seal);
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
	result[4] = Int64GetDatum(unsealed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, rnulls)));
}
