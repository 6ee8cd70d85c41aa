/*-------------------------------------------------------------------------
 *
 * discovery.c
 *	  Finding stray identifiers in free text: BSNs (nine digits, also
 *	  written with separators, passing the elfproef) and IBANs (ISO 13616:
 *	  country code, check digits, account; mod-97 check), so that a DBA
 *	  learns where staff pasted them into notes, and can redact them.
 *
 *	  Matches are returned in full only to roles that may see BSNs; every
 *	  other role gets the masked form.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "pg_privacy.h"

PG_FUNCTION_INFO_V1(privacy_find_identifiers);
PG_FUNCTION_INFO_V1(privacy_has_identifier);
PG_FUNCTION_INFO_V1(privacy_redact_identifiers);

/* IBAN lengths of the countries a Dutch staffing agency meets most */
static const struct
{
	const char *country;
	int			length;
}			iban_lengths[] = {
	{"NL", 18}, {"BE", 16}, {"DE", 22}, {"FR", 27}, {"GB", 22}, {"ES", 24},
	{"IT", 27}, {"LU", 20}, {"PL", 28}, {"PT", 25}, {"AT", 20}, {"IE", 22},
	{"RO", 24}, {"BG", 22}, {"LT", 20}, {"LV", 21}, {"HU", 28}, {"CZ", 24},
	{"SK", 24}, {"GR", 27}, {"DK", 18}, {"SE", 24}, {"FI", 18}, {"TR", 26},
	{NULL, 0}
};

typedef enum IdentKind
{
	IDENT_BSN,
	IDENT_IBAN
} IdentKind;

typedef struct IdentMatch
{
	IdentKind	kind;
	int			start;			/* byte offset */
	int			end;			/* exclusive */
} IdentMatch;

typedef struct MatchList
{
	IdentMatch *items;
	int			n;
	int			cap;
} MatchList;

static void
add_match(MatchList *l, IdentKind kind, int start, int end)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 8;
		l->items = l->items ? repalloc(l->items, sizeof(IdentMatch) * l->cap) :
			palloc(sizeof(IdentMatch) * l->cap);
	}
	l->items[l->n].kind = kind;
	l->items[l->n].start = start;
	l->items[l->n].end = end;
	l->n++;
}

static void
bsn_span(int start, int end, void *arg)
{
	add_match((MatchList *) arg, IDENT_BSN, start, end);
}

static bool
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_alnum_upper(char c)
{
	return is_upper(c) || (c >= '0' && c <= '9');
}

static int
iban_length(const char *cc)
{
	int			i;

	for (i = 0; iban_lengths[i].country != NULL; i++)
		if (cc[0] == iban_lengths[i].country[0] && cc[1] == iban_lengths[i].country[1])
			return iban_lengths[i].length;
	return 0;
}

/*
 * The mod-97 check of ISO 13616 over the compact IBAN (no spaces): the first
 * four characters moved to the end, letters as 10..35, remainder 1.
 */
static bool
iban_check(const char *compact, int len)
{
	int			rem = 0;
	int			i;

	for (i = 0; i < len; i++)
	{
		char		c = compact[(i + 4) % len];

		if (c >= '0' && c <= '9')
			rem = (rem * 10 + (c - '0')) % 97;
		else if (is_upper(c))
			rem = (rem * 100 + (c - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

/*
 * Find IBANs: a country code, two check digits, and the account, compact or
 * in groups of four separated by single spaces, of the country's length.
 */
static void
find_ibans(const char *s, int len, MatchList *l)
{
	int			i = 0;

	while (i + 4 <= len)
	{
		int			want;
		char		compact[40];
		int			n = 0;
		int			j;

		if (!(is_upper(s[i]) && is_upper(s[i + 1]) &&
			  s[i + 2] >= '0' && s[i + 2] <= '9' && s[i + 3] >= '0' && s[i + 3] <= '9') ||
			(i > 0 && is_alnum_upper(s[i - 1])))
		{
			i++;
			continue;
		}
		want = iban_length(s + i);
		if (want == 0)
		{
			i++;
			continue;
		}
		/* collect alphanumerics, allowing a single space between groups */
		j = i;
		while (j < len && n < want)
		{
			if (is_alnum_upper(s[j]))
				compact[n++] = s[j++];
			else if (s[j] == ' ' && n % 4 == 0 && n > 0 && j + 1 < len && is_alnum_upper(s[j + 1]))
				j++;
			else
				break;
		}
		if (n == want && (j >= len || !is_alnum_upper(s[j])) && iban_check(compact, n))
		{
			add_match(l, IDENT_IBAN, i, j);
			i = j;
		}
		else
			i++;
	}
}

static MatchList
find_all(const char *s, int len)
{
	MatchList	l = {NULL, 0, 0};

	privacy_find_bsn(s, bsn_span, &l);
	find_ibans(s, len, &l);
	return l;
}

/*
 * The text of a match as the current role may see it: in full for a role
 * that sees BSNs, otherwise with every digit or letter of the number but
 * the last privacy.bsn_visible_digits (BSN) or four (IBAN) replaced by '*'.
 */
static char *
match_text(const char *s, IdentMatch *m, bool full)
{
	int			len = m->end - m->start;
	char	   *out = pnstrdup(s + m->start, len);
	int			keep = (m->kind == IDENT_BSN) ? privacy_bsn_visible_digits : 4;
	int			seen = 0;
	int			i;

	if (full)
		return out;
	for (i = len - 1; i >= 0; i--)
	{
		if (is_alnum_upper(out[i]))
		{
			if (seen >= keep && !(m->kind == IDENT_IBAN && i < 2))
				out[i] = '*';
			seen++;
		}
	}
	return out;
}

/*
 * privacy.find_identifiers(text): every BSN and IBAN in the text, with its
 * position (in characters from 1 for ASCII text, bytes otherwise) and the
 * match as the current role may see it.
 */
Datum
privacy_find_identifiers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MatchList	l = find_all(s, strlen(s));
	bool		full = privacy_bsn_authorized();
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < l.n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(l.items[i].kind == IDENT_BSN ? "bsn" : "iban");
		values[1] = Int32GetDatum(l.items[i].start + 1);
		values[2] = CStringGetTextDatum(match_text(s, &l.items[i], full));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * privacy.has_identifier(text): does the text hold a BSN or an IBAN?  The
 * fast filter of a table scan.
 */
Datum
privacy_has_identifier(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char	   *s = text_to_cstring(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	bool		found;

	found = privacy_text_has_bsn(s, 9);
	if (!found)
	{
		MatchList	l = {NULL, 0, 0};

		find_ibans(s, len, &l);
		found = l.n > 0;
	}
	PG_RETURN_BOOL(found);
}

/*
 * privacy.redact_identifiers(text): the text with every BSN and IBAN masked
 * as for a role that may not see them.
 */
Datum
privacy_redact_identifiers(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MatchList	l = find_all(s, strlen(s));
	int			i;

	for (i = 0; i < l.n; i++)
	{
		char	   *masked = match_text(s, &l.items[i], false);

		memcpy(s + l.items[i].start, masked, l.items[i].end - l.items[i].start);
	}
	PG_RETURN_TEXT_P(cstring_to_text(s));
}
