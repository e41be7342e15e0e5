/* Small filesystem helpers: directories, whole-file writes, unique names,
 * secret files. */
#ifndef CR_BASE_FS_H
#define CR_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates path and every missing parent (mkdir -p), mode 0755. Returns 0,
 * -ENAMETOOLONG past PATH_MAX, or the errno of the mkdir that failed. */
int cr_fs_make_dirs(const char *path);

/* cr_fs_make_dirs() of the directory that holds path ("a/b/c.mp4": "a/b");
 * 0 when path has no directory part. */
int cr_fs_make_parent(const char *path);

/* Writes size bytes of data to path (created or truncated, mode 0644),
 * fsync'ed when sync. Returns 0 or a negative errno. */
int cr_fs_write_file(const char *path, const void *data, size_t size, bool sync);

/* Writes path whole or not at all: to "path.tmp", fsync, then rename over
 * path. Returns 0 or a negative errno (the temporary file is removed). */
int cr_fs_write_atomic(const char *path, const void *data, size_t size);

/* Names tried by cr_fs_claim_unique(): base, base_1 ... base_999. */
#define CR_FS_UNIQUE_MAX 1000

/* Finds the first free name of base, base_1, base_2, ... (up to
 * CR_FS_UNIQUE_MAX names) and writes it into out (len bytes). claim decides
 * for each candidate path: it returns 0 when the name is free and now taken
 * for the caller (say, mkdir() succeeded), -EEXIST to try the next one, or
 * another negative errno to stop. Returns 0, -ENAMETOOLONG, -EEXIST when
 * every name is taken, or claim's error. */
int cr_fs_claim_unique(const char *base, char *out, size_t len, int (*claim)(void *ctx, const char *path),
		       void *ctx);

/* What a file-name template (cr_fs_name_expand) is filled with. */
struct cr_fs_name_fields {
	int64_t utc_us;      /* the time the name is for, µs since the UTC epoch */
	bool local;          /* strftime fields in local time (TZ), else UTC */
	const char *camera;  /* {camera} */
	unsigned number;     /* {n}: a counter, written with at least 4 digits */
};

/* What a template may hold, for messages. */
#define CR_FS_NAME_EXPECTED \
	"a relative path of strftime fields (%Y %m %d %H %M %S %j %y %%), {camera}, {n} (a counter) and {ms} " \
	"(milliseconds), e.g. %Y_%m_%d/video/{camera}_%Y_%m_%d_%H_%M_%S"

/* Expands the file-name template tmpl into out (len bytes): strftime's %Y
 * %m %d %H %M %S %j %y and %% of fields->utc_us, {camera}, {n} and {ms}
 * (3 digits); every other byte as it is. The result is a relative path:
 * a template that is absolute, has an empty, "." or ".." component, a
 * control character, or another % or {} field is refused. Returns 0,
 * -EINVAL with a one-line reason in why (why_len bytes; may be NULL), or
 * -ENAMETOOLONG. */
int cr_fs_name_expand(const char *tmpl, const struct cr_fs_name_fields *fields, char *out, size_t len, char *why,
		      size_t why_len);

/* Reads the secret file path whole (at most max bytes) into *text,
 * NUL-terminated and allocated: the caller wipes it with explicit_bzero()
 * and frees it. A secret file must be no one's but its owner's: one that
 * others can read or write is refused. what names the setting in the reason
 * ("http.token_file"). Returns 0, or -EPERM (readable by others), -EFBIG
 * (longer than max), the errno of open or read, with a one-line reason
 * naming what, the path and what to do written into why (why_len bytes). */
int cr_fs_read_secret(const char *what, const char *path, size_t max, char **text, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
