/* UTF-8 validation and escaping (base/json.c): the RFC 3629 edge cases, and
 * that text which jansson alone refuses still becomes a JSON string. */
#include "base/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static bool valid(const char *s)
{
	return cr_utf8_valid(s, strlen(s));
}

static void test_valid(void **state)
{
	assert_true(valid(""));
	assert_true(valid("plain ascii"));
	assert_true(valid("caf\xc3\xa9"));               /* U+00E9 */
	assert_true(valid("\xe2\x82\xac"));              /* U+20AC */
	assert_true(valid("\xf0\x9f\x93\xb7"));          /* U+1F4F7 */
	assert_true(valid("\xf4\x8f\xbf\xbf"));          /* U+10FFFF, the last */
	assert_false(valid("foo\xff"));
	assert_false(valid("caf\xe9"));                  /* Latin-1 */
	assert_false(valid("\xc0\xaf"));                 /* overlong '/' */
	assert_false(valid("\xe0\x80\xaf"));             /* overlong, 3 bytes */
	assert_false(valid("\xed\xa0\x80"));             /* surrogate U+D800 */
	assert_false(valid("\xf4\x90\x80\x80"));         /* above U+10FFFF */
	assert_false(valid("\xe2\x82"));                 /* truncated */
	assert_false(valid("\x80"));                     /* lone continuation */
}

static void test_escape(void **state)
{
	char *e = cr_utf8_escape("foo\xff" "bar caf\xc3\xa9 \xe2\x82");

	assert_string_equal(e, "foo\\xffbar caf\xc3\xa9 \\xe2\\x82");
	free(e);
	assert_null(cr_utf8_escape(NULL));
}

static void test_json_str(void **state)
{
	json_t *j = cr_json_str("vid\xe9o.mp4");
	char *text;

	assert_null(json_string("vid\xe9o.mp4")); /* why this exists */
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "vid\\xe9o.mp4");
	assert_true(cr_json_str_is(j, "vid\xe9o.mp4"));
	assert_false(cr_json_str_is(j, "video.mp4"));
	json_decref(j);

	j = cr_json_sprintf("unknown command \"%s\"", "foo\xff");
	text = json_dumps(j, JSON_ENCODE_ANY);
	assert_string_equal(text, "\"unknown command \\\"foo\\\\xff\\\"\"");
	free(text);
	json_decref(j);

	j = cr_json_str(NULL);
	assert_true(json_is_null(j));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_json_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
