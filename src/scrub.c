/*-------------------------------------------------------------------------
 *
 * scrub.c
 *	  Finding BSN-like numbers in free text, to keep them out of the audit
 *	  trail and to mask them in messages before the server logs or sends
 *	  them.
 *
 *	  A number is taken as a BSN when a sequence of whole digit groups,
 *	  joined by single separators ('.', '-' or space), has 9 digits (or 8,
 *	  when asked, for older numbers written without the leading zero) and
 *	  passes the elfproef.  Groups are tried from every group boundary, so
 *	  two numbers written next to each other are both found.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "bsn_parse.h"
#include "pg_privacy.h"

/* a BSN spans at most nine digits, hence at most nine groups */
#define MAX_GROUPS 9

typedef struct DigitGroup
{
	int			start;			/* offset of the first digit */
	int			end;			/* offset after the last digit */
} DigitGroup;

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_sep(char c)
{
	return c == '.' || c == '-' || c == ' ';
}

/*
 * Try the sequences of whole groups that end with the newest group
 * (window[n - 1]); call found() for each that is BSN-like.  Returns false
 * when found() asked to stop.
 */
static bool
try_sequences(char *s, DigitGroup *window, int n, int min_digits, bool *any,
			  bool (*found) (char *s, DigitGroup *g, int n, void *arg), void *arg)
{
	int			digits = 0;
	int			j;

	for (j = n - 1; j >= 0; j--)
	{
		digits += window[j].end - window[j].start;
		if (digits > 9)
			break;
		if (digits == 9 || (digits == 8 && min_digits <= 8))
		{
			int32_t		value = 0;
			bool		intact = true;
			int			g;
			int			p;

			/* digits masked by an earlier, overlapping match stop it */
			for (g = j; g < n; g++)
				for (p = window[g].start; p < window[g].end; p++)
				{
					if (!is_digit(s[p]))
						intact = false;
					else
						value = value * 10 + (s[p] - '0');
				}
			if (intact && value != 0 && bsn_check(value))
			{
				*any = true;
				if (!found(s, &window[j], n - j, arg))
					return false;
			}
		}
	}
	return true;
}

/*
 * scan_text: call found() for every BSN-like sequence; stops early when
 * found() returns false.  Works on runs of any length: only the last nine
 * groups of a run can end a BSN at the current group.
 */
static bool
scan_text(char *s, int min_digits, bool (*found) (char *s, DigitGroup *g, int n, void *arg),
		  void *arg)
{
	int			i = 0;
	bool		any = false;

	if (s == NULL)
		return false;

	while (s[i] != '\0')
	{
		DigitGroup	window[MAX_GROUPS];
		int			n = 0;

		if (!is_digit(s[i]))
		{
			i++;
			continue;
		}
		/* a run of digit groups joined by single separators */
		for (;;)
		{
			int			st = i;

			while (is_digit(s[i]))
				i++;
			if (n == MAX_GROUPS)
			{
				memmove(window, window + 1, sizeof(DigitGroup) * (MAX_GROUPS - 1));
				n--;
			}
			window[n].start = st;
			window[n].end = i;
			n++;
			if (!try_sequences(s, window, n, min_digits, &any, found, arg))
				return true;
			if (is_sep(s[i]) && is_digit(s[i + 1]))
				i++;
			else
				break;
		}
	}
	return any;
}

static bool
stop_at_first(char *s, DigitGroup *g, int n, void *arg)
{
	return false;
}

/*
 * privacy_text_has_bsn: whether s holds a BSN-like number of min_digits (8
 * or 9) or more digits.
 */
bool
privacy_text_has_bsn(const char *s, int min_digits)
{
	return scan_text((char *) s, min_digits, stop_at_first, NULL);
}

static bool
mask_found(char *s, DigitGroup *g, int n, void *arg)
{
	int			keep = privacy_bsn_visible_digits;
	int			total = 0;
	int			seen = 0;
	int			i;
	int			p;

	for (i = 0; i < n; i++)
		total += g[i].end - g[i].start;
	for (i = 0; i < n; i++)
		for (p = g[i].start; p < g[i].end; p++)
		{
			if (seen < total - keep)
				s[p] = '*';
			seen++;
		}
	return true;
}

/*
 * privacy_scrub_bsn: mask, in place, every BSN-like number in s, keeping the
 * digits a role without BSN access would see.  Returns whether anything was
 * masked.  Does not allocate, so it is safe inside error reporting.
 */
bool
privacy_scrub_bsn(char *s)
{
	return scan_text(s, 8, mask_found, NULL);
}

typedef struct SpanCallback
{
	void		(*cb) (int start, int end, void *arg);
	void	   *arg;
} SpanCallback;

static bool
span_found(char *s, DigitGroup *g, int n, void *arg)
{
	SpanCallback *sc = (SpanCallback *) arg;

	sc->cb(g[0].start, g[n - 1].end, sc->arg);
	return true;
}

/*
 * privacy_find_bsn: call cb(start, end) for every BSN-like number of nine
 * digits in s (byte offsets, end exclusive).
 */
void
privacy_find_bsn(const char *s, void (*cb) (int start, int end, void *arg), void *arg)
{
	SpanCallback sc = {cb, arg};

	(void) scan_text((char *) s, 9, span_found, &sc);
}
