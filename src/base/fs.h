/* Small filesystem helpers: directories, whole-file writes, unique names,
 * secret files. */
#ifndef CR_BASE_FS_H
#define CR_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>

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
