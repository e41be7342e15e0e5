/* JSON that cannot fail on outside text.
 *
 * jansson refuses any string that is not valid UTF-8: json_string() and
 * json_sprintf() return NULL, json_pack() fails as a whole, and the NULL
 * travels up until something dereferences it. camrig reports text it does
 * not control — file names (Linux paths are bytes), V4L2 driver strings,
 * command lines and URLs sent by clients — so every such string goes into
 * JSON through these helpers, which escape each byte that is not part of a
 * valid UTF-8 sequence as the four visible characters \xHH. */
#ifndef CR_BASE_JSON_H
#define CR_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether the len bytes at s are valid UTF-8 (RFC 3629 section 3: no
 * overlong forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF). A
 * NUL byte counts as valid. */
bool cr_utf8_valid(const char *s, size_t len);

/* A copy of the NUL-terminated s with every byte that does not belong to a
 * valid UTF-8 sequence replaced by "\xHH" (lowercase hex). Allocated; the
 * caller frees it. NULL s gives NULL. */
char *cr_utf8_escape(const char *s);

/* A JSON string of s, escaped as above when needed: never NULL for a
 * non-NULL s. A NULL s gives JSON null. For json_pack use "s:o". */
json_t *cr_json_str(const char *s);

/* Whether json is the JSON string cr_json_str(s) gives: a name read back
 * from a file camrig wrote compares equal to the one it came from. */
bool cr_json_str_is(const json_t *json, const char *s);

/* printf into a JSON string, escaped as above: never NULL. */
json_t *cr_json_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif
