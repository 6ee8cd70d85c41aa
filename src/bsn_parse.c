/*-------------------------------------------------------------------------
 *
 * bsn_parse.c
 *	  The BSN input rule: surrounding ASCII white space, 8 or 9 digits with
 *	  at most one separator ('.', '-' or space) between two digits, the
 *	  elfproef, and not zero.
 *
 *	  This file must not depend on the server: the fuzz target and the
 *	  type's input function share it.
 *
 *-------------------------------------------------------------------------
 */
#include "bsn_parse.h"

static bool
is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}

static bool
is_separator(char c)
{
	return c == '.' || c == '-' || c == ' ';
}

/*
 * bsn_check: the elfproef on a number of at most nine digits.
 *
 * 9a + 8b + 7c + 6d + 5e + 4f + 3g + 2h - i must be divisible by 11; zero
 * is not a BSN.
 */
bool
bsn_check(int32_t value)
{
	int32_t		v = value;
	int			sum;
	int			weight;

	if (value <= 0 || value > 999999999)
		return false;
	sum = -(v % 10);
	v /= 10;
	for (weight = 2; weight <= 9; weight++)
	{
		sum += weight * (v % 10);
		v /= 10;
	}
	return sum % 11 == 0;
}

/*
 * bsn_parse: apply the input rule to s[0..len).
 *
 * Returns BSN_OK and stores the number in *result, or the reason the text is
 * not a BSN.  *ndigits receives the number of digits seen (for the message).
 */
BsnParseResult
bsn_parse(const char *s, size_t len, int32_t *result, int *ndigits)
{
	size_t		start = 0;
	size_t		end = len;
	size_t		i;
	int			digits = 0;
	int64_t		value = 0;
	bool		prev_digit = false;

	*ndigits = 0;
	while (start < end && is_ascii_space(s[start]))
		start++;
	while (end > start && is_ascii_space(s[end - 1]))
		end--;
	if (start == end)
		return BSN_EMPTY;

	for (i = start; i < end; i++)
	{
		char		c = s[i];

		if (c >= '0' && c <= '9')
		{
			digits++;
			if (digits <= 9)
				value = value * 10 + (c - '0');
			prev_digit = true;
		}
		else if (is_separator(c))
		{
			/* a separator must follow a digit and precede one */
			if (!prev_digit || i + 1 >= end ||
				!(s[i + 1] >= '0' && s[i + 1] <= '9'))
				return BSN_BAD_SEPARATOR;
			prev_digit = false;
		}
		else
			return BSN_BAD_CHARACTER;
	}

	*ndigits = digits;
	if (digits != 8 && digits != 9)
		return BSN_BAD_LENGTH;
	if (value == 0)
		return BSN_ZERO;
	if (!bsn_check((int32_t) value))
		return BSN_BAD_CHECK_DIGIT;
	*result = (int32_t) value;
	return BSN_OK;
}
