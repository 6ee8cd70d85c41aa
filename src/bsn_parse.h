/*-------------------------------------------------------------------------
 *
 * bsn_parse.h
 *	  The BSN input rule, free of any server dependency so that the fuzz
 *	  target links it on its own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BSN_PARSE_H
#define BSN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum BsnParseResult
{
	BSN_OK = 0,
	BSN_EMPTY,					/* nothing but white space */
	BSN_BAD_CHARACTER,			/* a character that is not a digit or separator */
	BSN_BAD_SEPARATOR,			/* separator not between two digits */
	BSN_BAD_LENGTH,				/* not 8 or 9 digits */
	BSN_BAD_CHECK_DIGIT,		/* elfproef fails */
	BSN_ZERO					/* 000000000 */
} BsnParseResult;

extern BsnParseResult bsn_parse(const char *s, size_t len, int32_t *result,
								int *ndigits);
extern bool bsn_check(int32_t value);

#endif							/* BSN_PARSE_H */
