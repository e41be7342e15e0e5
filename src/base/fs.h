/* Small filesystem helpers shared by the recorder and the timelapse. */
#ifndef CR_BASE_FS_H
#define CR_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
