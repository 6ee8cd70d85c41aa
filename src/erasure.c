/*-------------------------------------------------------------------------
 *
 * erasure.c
 *	  The per-table work of an erasure (privacy.erase_subject).
 *
 * erase_subject (SQL) checks the caller, the reason and the legal holds,
 * and afterwards restricts what was kept, notifies recipients and writes
 * the audit entry.  Between the two it calls privacy._erase_tables(), here:
 * lock the subject's rows in every table, then visit the tables children
 * first and delete, anonymize or keep each row as the statements built by
 * privacy._erase_program() and privacy._erase_sql() decide.  All the SQL
 * is built (and kept) by those functions; this module only runs it, with
 * kept plans (plans.c), and adds up what happened.  Written in C because
 * an erasure is one short transaction, in which the interpreter's setup
 * of the many small steps cost more than the steps themselves.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "pg_privacy.h"

PG_FUNCTION_INFO_V1(privacy_erase_tables);

/* column col (1-based) of row 0 of the last statement, or NULL */
static Datum
first_value(int col, bool *isnull)
{
	if (SPI_processed == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

static char *
first_text(int col)
{
	bool		isnull;
	Datum		d = first_value(col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* what happened to one table */
typedef struct TableResult
{
	int64		deleted;
	int64		anonymized;
	int64		kept_duty;
	int64		kept_ref;
	int64		kept_held;
	int64		kept_policy;	/* hidden from the owner by the table's own policies */
	DateADT		kept_until;		/* latest end of a duty; DATEVAL_NOEND when not started */
	bool		until_known;
} TableResult;

/* The full visit of one table: privacy._erase_sql's statements. */
static void
erase_table(Oid relid, text *subject_type, text *key, TableResult *tr)
{
	Oid			sql_types[2] = {REGCLASSOID, TEXTOID};
	Datum		sql_args[2] = {ObjectIdGetDatum(relid), PointerGetDatum(subject_type)};
	char	   *main_sql;
	char	   *selfref;
	char	   *delete_sql;
	Datum		anonymize;
	bool		isnull;
	Oid			key_type[1] = {TEXTOID};
	Datum		key_arg[1] = {PointerGetDatum(key)};
	SPITupleTable *rows;
	uint64		nrows;
	uint64		r;
	Datum		del_tids = (Datum) 0;
	Datum		del_oids = (Datum) 0;
	bool		have_del = false;
	Oid			act_types[2] = {TIDARRAYOID, OIDARRAYOID};

	privacy_kept_execute("SELECT q ->> 'main', q ->> 'selfref', q ->> 'delete', q -> 'anonymize'"
						 "  FROM privacy._erase_sql($1, $2) q", 2, sql_types, sql_args, NULL);
	main_sql = first_text(1);
	selfref = first_text(2);
	delete_sql = first_text(3);
	anonymize = first_value(4, &isnull);
	if (main_sql == NULL || delete_sql == NULL || isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the erasure statements of relation %u are missing", relid),
				 errhint("The registry changed during the erasure; run it again.")));

	/*
	 * The subject's rows, locked and sorted by what happens to them; acted
	 * on as the table's owner, by tuple id, in statements that see the rows
	 * as they were locked.
	 */
	nrows = privacy_kept_execute(main_sql, 1, key_type, key_arg, NULL);
	rows = SPI_tuptable;
	for (r = 0; r < nrows; r++)
	{
		HeapTuple	row = rows->vals[r];
		TupleDesc	desc = rows->tupdesc;
		char	   *what = SPI_getvalue(row, desc, 1);
		char	   *anon = SPI_getvalue(row, desc, 2);
		int64		n = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
		Datum		until = SPI_getbinval(row, desc, 4, &isnull);
		bool		until_null = isnull;
		bool		tids_null;
		bool		oids_null;
		Datum		tids = SPI_getbinval(row, desc, 5, &tids_null);
		Datum		oids = SPI_getbinval(row, desc, 6, &oids_null);

		if (strcmp(what, "kept_held") == 0)
			tr->kept_held += n;
		else if (strcmp(what, "kept_duty") == 0)
		{
			tr->kept_duty += n;
			if (!until_null &&
				(!tr->until_known || DatumGetDateADT(until) > tr->kept_until))
			{
				tr->kept_until = DatumGetDateADT(until);
				tr->until_known = true;
			}
		}
		else if (strcmp(what, "kept_ref") == 0)
			tr->kept_ref += n;
		else if (strcmp(what, "anonymize") == 0 && anon != NULL &&
				 strcmp(anon, "done") != 0 && !tids_null)
		{
			Oid			get_types[2] = {JSONBOID, TEXTOID};
			Datum		get_args[2] = {anonymize, CStringGetTextDatum(anon)};
			Datum		act_args[2] = {tids, oids};
			char		act_nulls[2] = {' ', oids_null ? 'n' : ' '};
			char	   *update_sql;
			int64		done;

			privacy_kept_execute("SELECT $1 ->> $2", 2, get_types, get_args, NULL);
			update_sql = first_text(1);
			if (update_sql == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("the anonymization of rule \"%s\" is missing", anon),
						 errhint("The retention rules changed during the erasure; run it again.")));
			done = (int64) privacy_act_as_owner_run(relid, update_sql, 2, act_types,
													 act_args, act_nulls);

			tr->anonymized += done;
			if (done < n)
				tr->kept_policy += n - done;
		}
		else if (strcmp(what, "delete") == 0 && !tids_null && !oids_null)
		{
			del_tids = tids;
			del_oids = oids;
			have_del = true;
		}
	}

	/*
	 * A row of this table that another row of it references stays when the
	 * referencing row stays (kept, or another subject's): repeat until no
	 * such row is left in what is to be deleted.
	 */
	while (selfref != NULL && have_del)
	{
		Oid			types[2] = {TIDARRAYOID, OIDARRAYOID};
		Datum		args[2] = {del_tids, del_oids};
		Oid			diff_types[4] = {TIDARRAYOID, OIDARRAYOID, TIDARRAYOID, OIDARRAYOID};
		Datum		diff_args[4];
		bool		moved_null;
		Datum		moved;
		Datum		moved_oids;

		privacy_kept_execute(selfref, 2, types, args, NULL);
		moved = first_value(1, &moved_null);
		if (moved_null)
			break;
		moved_oids = first_value(2, &isnull);
		tr->kept_ref += ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(moved)),
									   ARR_DIMS(DatumGetArrayTypeP(moved)));
		diff_args[0] = del_tids;
		diff_args[1] = del_oids;
		diff_args[2] = moved;
		diff_args[3] = moved_oids;
		privacy_kept_execute("SELECT array_agg(u.t), array_agg(u.o) FROM unnest($1, $2) u(t, o)"
							 " WHERE (u.o, u.t) NOT IN (SELECT m.o, m.t FROM unnest($3, $4) m(t, o))",
							 4, diff_types, diff_args, NULL);
		del_tids = first_value(1, &isnull);
		have_del = !isnull;
		del_oids = first_value(2, &isnull);
	}
	if (have_del)
	{
		Datum		act_args[2] = {del_tids, del_oids};
		ArrayType  *a = DatumGetArrayTypeP(del_tids);
		int64		expected = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		int64		done = (int64) privacy_act_as_owner_run(relid, delete_sql, 2, act_types,
															act_args, NULL);

		tr->deleted += done;
		if (done < expected)
			tr->kept_policy += expected - done;
	}
}

/* a date as JSON writes it (ISO 8601, whatever DateStyle says) */
static void
append_date(StringInfo buf, DateADT d)
{
	char		out[MAXDATELEN + 1];

	appendStringInfoString(buf, JsonEncodeDateTime(out, DateADTGetDatum(d), DATEOID, NULL));
}

/*
 * privacy._erase_tables(subject_type, key): lock the subject's rows and
 * erase them table by table, children first.  Returns the result per table
 * (as erase_subject reports it), the same with counts of kept rows (for the
 * audit entry), the rows changed and kept, the latest date a kept row
 * becomes erasable, and whether some row is kept with no such date.
 */
Datum
privacy_erase_tables(PG_FUNCTION_ARGS)
{
	text	   *subject_type = PG_GETARG_TEXT_PP(0);
	text	   *key = PG_GETARG_TEXT_PP(1);
	TupleDesc	tupdesc;
	MemoryContext caller = CurrentMemoryContext;
	StringInfoData res;
	StringInfoData audited;
	int64		changed = 0;
	int64		kept = 0;
	DateADT		until = 0;
	bool		until_known = false;
	bool		forever = false;
	int			guc_level;
	Datum		out[6];
	bool		out_null[6] = {false, false, false, false, false, false};
	Oid			st_type[1] = {TEXTOID};
	Datum		st_arg[1] = {PointerGetDatum(subject_type)};
	Datum	   *tables;
	Datum	   *directs;
	bool	   *direct_nulls;
	int			ntables;
	int			ndirect;
	char	   *lock_sql;
	Datum	   *counts = NULL;
	int			ncounts = 0;
	bool		isnull;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	initStringInfo(&res);
	initStringInfo(&audited);
	appendStringInfoChar(&res, '[');
	appendStringInfoChar(&audited, '[');

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	guc_level = privacy_push_extension_path();

	/* the program: tables parents first, the lock, the plain deletes */
	privacy_kept_execute("SELECT ARRAY(SELECT x.t::oid FROM jsonb_array_elements_text(p -> 'tables') WITH ORDINALITY x(t, o)"
						 "              ORDER BY x.o),"
						 "       p ->> 'lock',"
						 "       ARRAY(SELECT p -> 'direct' ->> x.t FROM jsonb_array_elements_text(p -> 'tables')"
						 "              WITH ORDINALITY x(t, o) ORDER BY x.o)"
						 "  FROM privacy._erase_program($1) p", 1, st_type, st_arg, NULL);
	deconstruct_array(DatumGetArrayTypeP(first_value(1, &isnull)), OIDOID, sizeof(Oid), true,
					  TYPALIGN_INT, &tables, NULL, &ntables);
	lock_sql = first_text(2);
	deconstruct_array(DatumGetArrayTypeP(first_value(3, &isnull)), TEXTOID, -1, false,
					  TYPALIGN_INT, &directs, &direct_nulls, &ndirect);
	if (lock_sql == NULL || ndirect != ntables)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the erasure program of the subject type is incomplete"),
				 errhint("The registry changed during the erasure; run it again.")));

	/*
	 * Lock the subject's rows parents first: a child row inserted meanwhile
	 * then waits for the erasure, and fails on its foreign key once the
	 * parent is gone, instead of being missed by a table erased before it
	 * was committed.
	 */
	{
		Oid			types[1] = {TEXTOID};
		Datum		args[1] = {PointerGetDatum(key)};
		Datum		c;

		privacy_kept_execute(lock_sql, 1, types, args, NULL);
		c = first_value(1, &isnull);
		if (!isnull)
			deconstruct_array(DatumGetArrayTypeP(c), INT8OID, 8, FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE, &counts, NULL, &ncounts);
		if (ncounts != ntables)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the erasure's lock counted %d tables of %d", ncounts, ntables),
					 errhint("The registry changed during the erasure; run it again.")));
	}

	for (i = ntables - 1; i >= 0; i--)
	{
		Oid			relid = DatumGetObjectId(tables[i]);
		char	   *name = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
		TableResult tr;
		StringInfoData kept_json;
		int64		kept_here;
		bool		first = true;

		memset(&tr, 0, sizeof(tr));
		if (DatumGetInt64(counts[i]) == 0)
			;					/* none of the subject's rows here */
		else if (!direct_nulls[i])
		{
			/* none that could be kept: one plain delete */
			Oid			types[1] = {TEXTOID};
			Datum		args[1] = {PointerGetDatum(key)};

			tr.deleted = (int64) privacy_act_as_owner_run(relid, TextDatumGetCString(directs[i]),
														  1, types, args, NULL);
			if (tr.deleted < DatumGetInt64(counts[i]))
				tr.kept_policy = DatumGetInt64(counts[i]) - tr.deleted;
		}
		else
			erase_table(relid, subject_type, key, &tr);

		/* the table's entry of the result */
		initStringInfo(&kept_json);
		appendStringInfoChar(&kept_json, '[');
		if (tr.kept_duty > 0)
		{
			appendStringInfo(&kept_json, "{\"rows\": " INT64_FORMAT ", \"why\": "
							 "\"a retention duty (minimum keep period) has not ended\", ",
							 tr.kept_duty);
			if (tr.until_known && !DATE_IS_NOEND(tr.kept_until))
			{
				appendStringInfoString(&kept_json, "\"erasable_from\": \"");
				append_date(&kept_json, tr.kept_until);
				appendStringInfoString(&kept_json, "\"}");
			}
			else
				appendStringInfoString(&kept_json, "\"note\": \"the period has not started yet\"}");
			first = false;
		}
		if (tr.kept_ref > 0)
		{
			appendStringInfo(&kept_json, "%s{\"rows\": " INT64_FORMAT ", \"why\": "
							 "\"other rows still reference them\"}",
							 first ? "" : ", ", tr.kept_ref);
			first = false;
		}
		if (tr.kept_held > 0)
		{
			appendStringInfo(&kept_json, "%s{\"rows\": " INT64_FORMAT ", \"why\": "
							 "\"they also belong to another subject under a legal hold\"}",
							 first ? "" : ", ", tr.kept_held);
			first = false;
		}
		if (tr.kept_policy > 0)
			appendStringInfo(&kept_json, "%s{\"rows\": " INT64_FORMAT ", \"why\": "
							 "\"a row policy of the table hides them from its owner, as whom the erasure acts\"}",
							 first ? "" : ", ", tr.kept_policy);
		appendStringInfoChar(&kept_json, ']');

		kept_here = tr.kept_duty + tr.kept_ref + tr.kept_held + tr.kept_policy;
		if (i < ntables - 1)
		{
			appendStringInfoString(&res, ", ");
			appendStringInfoString(&audited, ", ");
		}
		appendStringInfoString(&res, "{\"table\": ");
		escape_json(&res, name);
		appendStringInfo(&res, ", \"deleted\": " INT64_FORMAT ", \"anonymized\": " INT64_FORMAT
						 ", \"kept\": %s}", tr.deleted, tr.anonymized, kept_json.data);
		appendStringInfoString(&audited, "{\"table\": ");
		escape_json(&audited, name);
		appendStringInfo(&audited, ", \"deleted\": " INT64_FORMAT ", \"anonymized\": " INT64_FORMAT
						 ", \"kept\": " INT64_FORMAT "}", tr.deleted, tr.anonymized, kept_here);

		changed += tr.deleted + tr.anonymized;
		kept += kept_here;
		/* kept with no date: a period not started, a reference, a hold */
		if (tr.kept_ref > 0 || tr.kept_held > 0 || tr.kept_policy > 0 ||
			(tr.kept_duty > 0 && (!tr.until_known || DATE_IS_NOEND(tr.kept_until))))
			forever = true;
		if (tr.kept_duty > 0 && tr.until_known && !DATE_IS_NOEND(tr.kept_until) &&
			(!until_known || tr.kept_until > until))
		{
			until = tr.kept_until;
			until_known = true;
		}
	}
	appendStringInfoChar(&res, ']');
	appendStringInfoChar(&audited, ']');

	if (guc_level > 0)
		AtEOXact_GUC(true, guc_level);
	SPI_finish();

	MemoryContextSwitchTo(caller);
	out[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum(res.data));
	out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(audited.data));
	out[2] = Int64GetDatum(changed);
	out[3] = Int64GetDatum(kept);
	out[4] = DateADTGetDatum(until);
	out_null[4] = !until_known;
	out[5] = BoolGetDatum(forever);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), out, out_null)));
}
