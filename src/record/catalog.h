/* The catalogue: the files camrig has written, as the HTTP server lists,
 * serves and deletes them.
 *
 * Roots: each camera's recording.root (recordings and their sidecars,
 * snapshots), timelapse.videos_root (timelapse videos) and
 * timelapse.photos_root (their stills). Each distinct directory is a root
 * with a name: "recordings", "timelapses", "photos", and "recordings-2",
 * ... for a further directory of the same kind (cameras in config order).
 * A file's catalogue path is "NAME/PATH/UNDER/THE/ROOT".
 *
 * Nothing outside the roots can be reached: a path is opened one component
 * at a time from the root with openat(O_NOFOLLOW), and a component that is
 * empty, ".", "..", hidden (a leading '.', e.g. a still being written) or a
 * symbolic link, or a last one that is not a regular file of a kind camrig
 * writes (.mp4, .mkv, .jpg, .jpeg, .csv, .json), is "no such file"
 * (-ENOENT), as is a path of more than CR_CATALOG_DEPTH components.
 *
 * Thread-safe: a catalogue is read-only after cr_catalog_new(); each call
 * opens what it needs. */
#ifndef CR_RECORD_CATALOG_H
#define CR_RECORD_CATALOG_H

#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_CATALOG_DEPTH 8           /* directories below a root, at most */
#define CR_CATALOG_MAX_FILES 10000   /* files one listing looks at, at most */

struct cr_catalog;

/* The roots of config's cameras (config not copied: it must outlive the
 * catalogue). A root that does not exist (yet) lists nothing. Never fails. */
struct cr_catalog *cr_catalog_new(const struct cr_config *config);

/* NULL-safe; sets *cat to NULL. */
void cr_catalog_free(struct cr_catalog **cat);

/* What a listing keeps; NULL members keep everything. */
struct cr_catalog_filter {
	const char *camera;          /* a camera's name */
	const char *day;             /* "YYYY-MM-DD", the UTC day the file begins */
	const char *kind;            /* "video", "snapshot" or "timelapse" */
};

/* Files being written: busy[nbusy] are paths as camrig wrote them (the
 * recorder's file and sidecar; a timelapse session's directory, whose
 * files are all busy). Compared by device and inode. */
struct cr_catalog_busy {
	const char *const *paths;
	unsigned n;
};

/* Lists every recording (mkv, mp4 under a recording root, with what its
 * sidecar says), snapshot (jpg under a recording root) and timelapse video
 * (mp4 under a videos root) that f keeps, newest first:
 *   {files: [{path, url, file, kind, camera, day, time, time_unix, size,
 *   content_type, writing, and for a recording sidecar (url or null),
 *   complete, duration (s), frames, dropped, lost, reason}], truncated}
 * path is the catalogue path, url the one to GET (/recordings/ + path,
 * %-encoded), file the path as camrig names it. truncated: more than
 * CR_CATALOG_MAX_FILES files were there. Never NULL. */
json_t *cr_catalog_list(const struct cr_catalog *cat, const struct cr_catalog_filter *f,
			const struct cr_catalog_busy *busy);

/* Opens the file at the catalogue path (decoded, no query) for reading into
 * *fd (O_CLOEXEC; the caller closes it) with its fstat() in *st. Returns 0,
 * or -ENOENT (no such root or file, or a path that could lead out of the
 * roots: see above), or another -errno. */
int cr_catalog_open(const struct cr_catalog *cat, const char *path, int *fd, struct stat *st);

/* The media type of a catalogue path by its extension: video/mp4,
 * video/x-matroska, image/jpeg, text/csv; charset=utf-8, application/json,
 * else application/octet-stream. */
const char *cr_catalog_content_type(const char *path);

/* Deletes the file at the catalogue path, and a recording's sidecar with it.
 * Returns 0, -ENOENT as cr_catalog_open(), -EBUSY when the file is being
 * written (busy), or another -errno, with a one-line reason in why (len
 * bytes). */
int cr_catalog_delete(const struct cr_catalog *cat, const char *path, const struct cr_catalog_busy *busy, char *why,
		      size_t len);

#ifdef __cplusplus
}
#endif

#endif
