/* UTF-8 validation and escaping for JSON (see json.h). The decoder follows
 * RFC 3629 section 4's ABNF byte ranges directly, so overlong forms and
 * surrogates are rejected by the ranges themselves. */
#include "base/json.h"

#include "base/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (at most n bytes available),
 * or 0 when the byte at s does not start one. */
static size_t sequence_length(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* The second byte's range depends on the first (RFC 3629 section 4). */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool cr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = sequence_length(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

char *cr_utf8_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, o = 0;
	char *out;

	if (!s)
		return NULL;
	len = strlen(s);
	out = cr_malloc(len * 4 + 1); /* each byte becomes at most "\xHH" */
	for (size_t i = 0; i < len;) {
		size_t n = sequence_length(p + i, len - i);

		if (n == 0) {
			o += (size_t)sprintf(out + o, "\\x%02x", p[i]);
			i++;
		} else {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	return out;
}

json_t *cr_json_str(const char *s)
{
	json_t *j;
	char *escaped;

	if (!s)
		return json_null();
	if (cr_utf8_valid(s, strlen(s)))
		return json_string(s);
	escaped = cr_utf8_escape(s);
	j = json_string(escaped);
	free(escaped);
	return j;
}

bool cr_json_str_is(const json_t *json, const char *s)
{
	char *escaped;
	bool same;

	if (!json_is_string(json) || !s)
		return false;
	escaped = cr_utf8_escape(s);
	same = strcmp(json_string_value(json), escaped) == 0;
	free(escaped);
	return same;
}

json_t *cr_json_sprintf(const char *fmt, ...)
{
	va_list ap;
	char *text;
	json_t *j;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return json_string("(message could not be formatted)");
	j = cr_json_str(text);
	free(text);
	return j;
}
