/*
 * bsn_binary_client.c
 *	  A libpq client for test/client/binary_protocol.sh: checks what the
 *	  binary format of privacy.bsn carries for a given role, and that a
 *	  masked binary value cannot be sent back.
 *
 * Usage:
 *	  bsn_binary_client fetch CONNINFO QUERY full VALUE
 *	  bsn_binary_client fetch CONNINFO QUERY masked VALUE KEEP
 *		  Run QUERY (one row, one bsn column) with binary results.  "full":
 *		  the bytes are version 1 and the big-endian int4 VALUE.  "masked":
 *		  the bytes are version 2, KEEP, and the int4 VALUE mod 10^KEEP, and
 *		  neither the full int4 nor the nine digits of VALUE occur in them.
 *	  bsn_binary_client resend CONNINFO QUERY INSERT EXPECT
 *		  Fetch one bsn in binary with QUERY, then execute INSERT with that
 *		  value as $1 in binary.  EXPECT is "ok", or a text that the error
 *		  message must contain.
 *	  bsn_binary_client send CONNINFO INSERT HEXBYTES EXPECT
 *		  Execute INSERT with $1 = the given bytes, in binary.
 *
 * When BSN_CLIENT_SETUP is set, each connection first executes it (for
 * settings a test needs in that session).
 *
 * Prints one line per check ("ok ..." or "not ok ...") and exits 0 only when
 * every check passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpq-fe.h"

static int	failures = 0;

static void
check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "ok" : "not ok", what);
	if (!cond)
		failures++;
}

static PGconn *
connect_or_die(const char *conninfo)
{
	PGconn	   *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		exit(2);
	}
	if (getenv("BSN_CLIENT_SETUP") != NULL && getenv("BSN_CLIENT_SETUP")[0] != '\0')
	{
		PGresult   *res = PQexec(conn, getenv("BSN_CLIENT_SETUP"));

		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
			PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			fprintf(stderr, "setup failed: %s", PQerrorMessage(conn));
			exit(2);
		}
		PQclear(res);
	}
	return conn;
}

static long
int4_be(const unsigned char *p)
{
	unsigned long v = ((unsigned long) p[0] << 24) | ((unsigned long) p[1] << 16) |
		((unsigned long) p[2] << 8) | (unsigned long) p[3];

	return (long) (int) v;
}

static int
contains_bytes(const unsigned char *hay, int haylen, const unsigned char *needle, int nlen)
{
	int			i;

	for (i = 0; i + nlen <= haylen; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return 1;
	return 0;
}

/* Fetch one binary bsn; the caller frees the result. */
static PGresult *
fetch_binary(PGconn *conn, const char *query)
{
	PGresult   *res = PQexecParams(conn, query, 0, NULL, NULL, NULL, NULL, 1);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "query failed: %s", PQerrorMessage(conn));
		exit(2);
	}
	if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0))
	{
		fprintf(stderr, "expected one non-null value, got %d rows\n", PQntuples(res));
		exit(2);
	}
	check(PQfformat(res, 0) == 1, "the value came back in binary format");
	return res;
}

static void
expect_result(PGconn *conn, PGresult *res, const char *expect, const char *what)
{
	char		line[512];

	if (strcmp(expect, "ok") == 0)
	{
		snprintf(line, sizeof(line), "%s succeeds%s%s", what,
				 PQresultStatus(res) == PGRES_COMMAND_OK ? "" : ": ",
				 PQresultStatus(res) == PGRES_COMMAND_OK ? "" : PQerrorMessage(conn));
		check(PQresultStatus(res) == PGRES_COMMAND_OK, line);
	}
	else
	{
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		snprintf(line, sizeof(line), "%s fails with \"%s\" (got: %s)", what, expect,
				 msg ? msg : "no error");
		check(PQresultStatus(res) == PGRES_FATAL_ERROR && msg != NULL &&
			  strstr(msg, expect) != NULL, line);
	}
}

static int
do_fetch(int argc, char **argv)
{
	const char *conninfo = argv[2];
	const char *query = argv[3];
	const char *kind = argv[4];
	long		value = atol(argv[5]);
	PGconn	   *conn = connect_or_die(conninfo);
	PGresult   *res = fetch_binary(conn, query);
	const unsigned char *b = (const unsigned char *) PQgetvalue(res, 0, 0);
	int			len = PQgetlength(res, 0, 0);
	unsigned char full_be[4];
	char		digits[16];
	char		line[256];

	full_be[0] = (value >> 24) & 0xff;
	full_be[1] = (value >> 16) & 0xff;
	full_be[2] = (value >> 8) & 0xff;
	full_be[3] = value & 0xff;
	snprintf(digits, sizeof(digits), "%09ld", value);

	if (strcmp(kind, "full") == 0)
	{
		check(len == 5, "the full binary form is 5 bytes");
		check(len >= 1 && b[0] == 1, "the full binary form has version byte 1");
		snprintf(line, sizeof(line), "the full binary form carries the int4 %ld", value);
		check(len == 5 && int4_be(b + 1) == value, line);
	}
	else if (strcmp(kind, "masked") == 0 && argc >= 7)
	{
		int			keep = atoi(argv[6]);
		long		mod = 1;
		int			i;

		for (i = 0; i < keep; i++)
			mod *= 10;
		check(len == 6, "the masked binary form is 6 bytes");
		check(len >= 1 && b[0] == 2, "the masked binary form has version byte 2");
		snprintf(line, sizeof(line), "the masked binary form says it keeps %d digits", keep);
		check(len >= 2 && b[1] == keep, line);
		snprintf(line, sizeof(line), "the masked binary form carries only the kept digits (%ld)", value % mod);
		check(len == 6 && int4_be(b + 2) == value % mod, line);
		check(!contains_bytes(b, len, full_be, 4), "the masked binary form does not contain the full int4");
		check(!contains_bytes(b, len, (const unsigned char *) digits, 9),
			  "the masked binary form does not contain the nine digits");
	}
	else
	{
		fprintf(stderr, "fetch: kind must be full or masked KEEP\n");
		return 2;
	}
	PQclear(res);
	PQfinish(conn);
	return failures ? 1 : 0;
}

static int
do_resend(char **argv)
{
	PGconn	   *conn = connect_or_die(argv[2]);
	PGresult   *res = fetch_binary(conn, argv[3]);
	const char *values[1];
	int			lengths[1];
	int			formats[1] = {1};
	PGresult   *ins;

	values[0] = PQgetvalue(res, 0, 0);
	lengths[0] = PQgetlength(res, 0, 0);
	ins = PQexecParams(conn, argv[4], 1, NULL, values, lengths, formats, 0);
	expect_result(conn, ins, argv[5], "sending the fetched binary value back");
	PQclear(ins);
	PQclear(res);
	PQfinish(conn);
	return failures ? 1 : 0;
}

static int
do_send(char **argv)
{
	PGconn	   *conn = connect_or_die(argv[2]);
	const char *hex = argv[4];
	size_t		n = strlen(hex) / 2;
	char	   *bytes = malloc(n + 1);
	const char *values[1];
	int			lengths[1];
	int			formats[1] = {1};
	PGresult   *ins;
	size_t		i;
	char		what[256];

	for (i = 0; i < n; i++)
	{
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
		{
			fprintf(stderr, "bad hex\n");
			return 2;
		}
		bytes[i] = (char) v;
	}
	values[0] = bytes;
	lengths[0] = (int) n;
	ins = PQexecParams(conn, argv[3], 1, NULL, values, lengths, formats, 0);
	snprintf(what, sizeof(what), "sending the binary value %s", hex);
	expect_result(conn, ins, argv[5], what);
	PQclear(ins);
	free(bytes);
	PQfinish(conn);
	return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "fetch") == 0)
		return do_fetch(argc, argv);
	if (argc == 6 && strcmp(argv[1], "resend") == 0)
		return do_resend(argv);
	if (argc == 6 && strcmp(argv[1], "send") == 0)
		return do_send(argv);
	fprintf(stderr, "usage: see the comment at the top of bsn_binary_client.c\n");
	return 2;
}
