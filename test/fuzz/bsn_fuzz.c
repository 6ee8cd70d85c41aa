/*
 * bsn_fuzz.c
 *	  libFuzzer target for the BSN input rule (src/bsn_parse.c).
 *
 *	  Besides crashes and sanitizer reports, it checks the parser against a
 *	  second, deliberately naive reading of the rule, and checks that every
 *	  accepted number prints and parses back to itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsn_parse.h"

static int
space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* the rule read literally: returns 1 and the value when the text is a BSN */
static int
reference(const uint8_t *s, size_t len, long *value)
{
	size_t		a = 0,
				b = len,
				i;
	char		digits[64];
	int			n = 0;
	long		v = 0;
	int			sum = 0;

	while (a < b && space(s[a]))
		a++;
	while (b > a && space(s[b - 1]))
		b--;
	if (a == b)
		return 0;
	for (i = a; i < b; i++)
	{
		unsigned char c = s[i];

		if (c >= '0' && c <= '9')
		{
			if (n >= 60)
				return 0;
			digits[n++] = (char) c;
		}
		else if (c == '.' || c == '-' || c == ' ')
		{
			/* between two digits */
			if (i == a || i + 1 >= b)
				return 0;
			if (!(s[i - 1] >= '0' && s[i - 1] <= '9') || !(s[i + 1] >= '0' && s[i + 1] <= '9'))
				return 0;
		}
		else
			return 0;
	}
	if (n != 8 && n != 9)
		return 0;
	{
		char		nine[9];

		/* an 8-digit number is read with a leading zero */
		memset(nine, '0', 9);
		memcpy(nine + (9 - n), digits, (size_t) n);
		for (i = 0; i < 9; i++)
			v = v * 10 + (nine[i] - '0');
		for (i = 0; i < 8; i++)
			sum += (int) (9 - i) * (nine[i] - '0');
		sum -= nine[8] - '0';
	}
	if (v == 0 || sum % 11 != 0)
		return 0;
	*value = v;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t		got = -1;
	int			nd;
	long		want = -1;
	BsnParseResult r = bsn_parse((const char *) data, size, &got, &nd);
	int			ok = reference(data, size, &want);

	if ((r == BSN_OK) != ok)
	{
		fprintf(stderr, "parser says %d, reference says %d\n", (int) r, ok);
		abort();
	}
	if (ok)
	{
		char		buf[16];
		int32_t		again = -1;

		if ((long) got != want || !bsn_check(got))
			abort();
		snprintf(buf, sizeof(buf), "%09d", (int) got);
		if (bsn_parse(buf, strlen(buf), &again, &nd) != BSN_OK || again != got)
			abort();
	}
	return 0;
}
