/* Fuzz target: UTF-8 validation and escaping on the way into JSON
 * (base/json.c), which every outside string camrig reports goes through.
 *
 * Properties, for the whole input and for its C string (up to the first
 * NUL byte):
 * - cr_utf8_valid() agrees with a second, independent decoder written here
 *   from RFC 3629 (code points, not byte ranges: overlong forms, surrogates
 *   and values above U+10FFFF are refused);
 * - cr_utf8_escape() gives valid UTF-8 of at most 4 bytes per input byte,
 *   the input itself when that was valid, and the input again when each
 *   "\xHH" it wrote is turned back into its byte;
 * - cr_json_str() and cr_json_sprintf() never return NULL, their text is
 *   valid UTF-8 that jansson writes and reads back unchanged, and
 *   cr_json_str_is() recognises the string it came from. */
#include "fuzz.h"

#include "base/json.h"

#include <stdbool.h>

/* RFC 3629: decodes code points and checks each against the shortest form. */
static bool reference_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], need, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			need = 2, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			need = 3, cp = c & 0x07;
		else
			return false;
		if (len - i - 1 < need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000))
			return false; /* overlong */
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += need + 1;
	}
	return true;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Whether escaped is original with some bytes >= 0x80 written as "\xHH"
 * (lowercase hex). Bytes below 0x80 are always valid, so a "\x" that stands
 * for one of those was in the original text. */
static bool unescapes_to(const char *escaped, const char *original)
{
	size_t o = 0;

	for (size_t i = 0; escaped[i];) {
		if (escaped[i] == '\\' && escaped[i + 1] == 'x' && hex(escaped[i + 2]) >= 0 && hex(escaped[i + 3]) >= 0 &&
		    (unsigned char)original[o] >= 0x80 &&
		    (unsigned char)original[o] == (unsigned)(hex(escaped[i + 2]) << 4 | hex(escaped[i + 3]))) {
			i += 4;
		} else {
			if (escaped[i] != original[o])
				return false;
			i++;
		}
		o++;
	}
	return original[o] == '\0';
}

static void check_json(json_t *j, const char *s)
{
	const char *text;
	char *dump;
	json_t *back;

	FUZZ_CHECK(j != NULL);
	FUZZ_CHECK(json_is_string(j));
	text = json_string_value(j);
	FUZZ_CHECK(cr_utf8_valid(text, strlen(text)));
	FUZZ_CHECK(reference_valid((const unsigned char *)text, strlen(text)));
	dump = json_dumps(j, JSON_ENCODE_ANY);
	FUZZ_CHECK(dump != NULL);
	back = json_loads(dump, JSON_DECODE_ANY, NULL);
	FUZZ_CHECK(back && json_equal(back, j));
	json_decref(back);
	free(dump);
	if (s)
		FUZZ_CHECK(cr_json_str_is(j, s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size), *escaped;
	size_t len = strlen(s);
	bool valid = cr_utf8_valid(s, len);
	json_t *j;

	FUZZ_CHECK(cr_utf8_valid((const char *)data, size) == reference_valid(data, size));
	FUZZ_CHECK(valid == reference_valid((const unsigned char *)s, len));

	escaped = cr_utf8_escape(s);
	FUZZ_CHECK(escaped != NULL);
	FUZZ_CHECK(strlen(escaped) <= 4 * len);
	FUZZ_CHECK(cr_utf8_valid(escaped, strlen(escaped)));
	FUZZ_CHECK(!valid || strcmp(escaped, s) == 0);
	FUZZ_CHECK(unescapes_to(escaped, s));
	free(escaped);

	j = cr_json_str(s);
	check_json(j, s);
	FUZZ_CHECK(!valid || strcmp(json_string_value(j), s) == 0);
	json_decref(j);

	j = cr_json_sprintf("%s: %.*s", "input", (int)len, s);
	check_json(j, NULL);
	json_decref(j);

	FUZZ_CHECK(cr_utf8_escape(NULL) == NULL);
	j = cr_json_str(NULL);
	FUZZ_CHECK(json_is_null(j));
	json_decref(j);
	free(s);
	return 0;
}
