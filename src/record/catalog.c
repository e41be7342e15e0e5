/* The catalogue (see catalog.h): listing, opening and deleting the files
 * under the roots camrig writes to.
 *
 * Design. Nothing is cached: every call walks or opens afresh, so files
 * written, renamed or deleted by anyone show at once, and a catalogue has no
 * lock. Confinement does not trust path strings: a path is resolved from
 * an fd of its root, one component at a time, with openat(O_NOFOLLOW) and
 * O_PATH | O_DIRECTORY for the directories on the way, and fstat() of each
 * step, so neither "..", nor a symbolic link, nor a file renamed while it
 * is being resolved, leads out of the root. (openat2's RESOLVE_BENEATH does
 * the same in one call; the walk works on every kernel and in containers
 * whose seccomp filters lack openat2.)
 *
 * A listing walks each root down to CR_CATALOG_DEPTH directories, looking
 * at CR_CATALOG_MAX_FILES files at most, and skips a directory that is
 * itself a root (a videos root inside a recording root is listed once). Of
 * a recording's sidecar (doc/sidecar.md) it reads the first and the last
 * 16 KiB: the camera, the first frame's capture time, the end line with the
 * counts and the reason, and the last frame's capture time. Only a sidecar
 * without an end line (being written, or cut short by a crash) is read
 * whole, up to SIDECAR_SCAN_MAX bytes, to count its rows. */
#include "record/catalog.h"

#include "base/json.h"
#include "base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SIDECAR_CHUNK 16384                   /* bytes read at each end of a sidecar */
#define SIDECAR_SCAN_MAX (256l * 1024 * 1024) /* bytes of a sidecar without end line counted at most */
#define ROOTS_MAX (3 * CR_CONFIG_MAX_CAMERAS)

enum root_kind { ROOT_RECORDINGS, ROOT_TIMELAPSES, ROOT_PHOTOS };

struct root {
	char name[32];               /* "recordings", "timelapses-2", ... */
	const char *dir;             /* as configured (the config's string) */
	enum root_kind kind;
	unsigned cameras[CR_CONFIG_MAX_CAMERAS]; /* the cameras writing here, config indexes */
	unsigned ncameras;
};

struct cr_catalog {
	const struct cr_config *config;
	struct root roots[ROOTS_MAX];
	unsigned nroots;
};

/* What a recording's sidecar says. */
struct summary {
	char camera[64];
	bool complete;               /* it has its end line */
	uint64_t recorded, dropped, lost;
	int64_t first_mono_ns, last_mono_ns; /* capture times of the first and last frames in the video */
	int64_t first_utc_us;        /* the first frame's, µs since the UTC epoch; 0: none */
	char reason[160];            /* of the end line */
};

/* A file found by a listing. */
struct item {
	char *path;                  /* the catalogue path */
	char *file;                  /* root dir + "/" + the path under it */
	const struct root *root;
	const char *kind;            /* "video", "snapshot", "timelapse" */
	struct stat st;
	int64_t time_us;             /* when it begins, µs since the UTC epoch */
	bool writing;
	bool has_sidecar;
	struct summary sum;
	char camera[64];
};

struct listing {
	const struct cr_catalog *cat;
	struct stat root_st[ROOTS_MAX];  /* of the roots that exist */
	bool root_exists[ROOTS_MAX];
	struct stat *busy;               /* of the busy paths that exist */
	unsigned nbusy;
	struct item *items;
	size_t nitems, cap;
	unsigned seen;                   /* files looked at */
	bool truncated;
};

static void add_root(struct cr_catalog *cat, const char *dir, enum root_kind kind, unsigned camera)
{
	static const char *const kind_names[] = { "recordings", "timelapses", "photos" };
	unsigned same_kind = 0;
	struct root *r;

	if (!dir || !*dir)
		return;
	for (unsigned i = 0; i < cat->nroots; i++) {
		r = &cat->roots[i];
		/* The same directory again: one more camera of it. (One named as a
		 * root of two kinds is the first kind's.) */
		if (strcmp(r->dir, dir) == 0) {
			if (r->kind == kind && r->ncameras < CR_CONFIG_MAX_CAMERAS)
				r->cameras[r->ncameras++] = camera;
			return;
		}
		same_kind += r->kind == kind;
	}
	if (cat->nroots == ROOTS_MAX)
		return;
	r = &cat->roots[cat->nroots++];
	r->dir = dir;
	r->kind = kind;
	r->cameras[r->ncameras++] = camera;
	if (same_kind)
		snprintf(r->name, sizeof(r->name), "%s-%u", kind_names[kind], same_kind + 1);
	else
		snprintf(r->name, sizeof(r->name), "%s", kind_names[kind]);
}

struct cr_catalog *cr_catalog_new(const struct cr_config *config)
{
	struct cr_catalog *cat = CR_NEW(cat);

	cat->config = config;
	for (unsigned i = 0; i < config->ncameras; i++)
		add_root(cat, config->cameras[i].recording.root, ROOT_RECORDINGS, i);
	for (unsigned i = 0; i < config->ncameras; i++)
		add_root(cat, config->cameras[i].timelapse.videos_root, ROOT_TIMELAPSES, i);
	for (unsigned i = 0; i < config->ncameras; i++)
		add_root(cat, config->cameras[i].timelapse.photos_root, ROOT_PHOTOS, i);
	return cat;
}

void cr_catalog_free(struct cr_catalog **pcat)
{
	free(*pcat);
	*pcat = NULL;
}

static bool has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e && strcasecmp(name + n - e, ext) == 0;
}

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".mp4", "video/mp4" },   { ".mkv", "video/x-matroska" },         { ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" }, { ".csv", "text/csv; charset=utf-8" }, { ".json", "application/json" },
};

/* Whether a file name is one of the kinds camrig writes (types[]): only
 * those are served or deleted, so a root set to a directory that holds
 * anything else (recording.root: ".") gives nothing else away. */
static bool servable(const char *name)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(types); i++)
		if (has_ext(name, types[i].ext))
			return true;
	return false;
}

const char *cr_catalog_content_type(const char *path)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(types); i++)
		if (has_ext(path, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* ---- resolving a catalogue path ------------------------------------------- */

/* Whether a path component may be followed: not empty, ".", "..", nor
 * hidden. */
static bool component_ok(const char *c)
{
	return c[0] && c[0] != '.';
}

/* Resolves path up to its last component: *dirfd (O_PATH) is the directory
 * that holds it, leaf its name (len bytes), *root its root. Returns 0 or
 * -ENOENT. */
static int resolve(const struct cr_catalog *cat, const char *path, int *dirfd, char *leaf, size_t len,
		   const struct root **root)
{
	char copy[PATH_MAX], *save = NULL, *comp, *next;
	struct stat st;
	unsigned depth = 0;
	int fd;

	*dirfd = -1;
	if (strlen(path) >= sizeof(copy))
		return -ENOENT;
	snprintf(copy, sizeof(copy), "%s", path);
	comp = strtok_r(copy, "/", &save);
	*root = NULL;
	for (unsigned i = 0; comp && i < cat->nroots; i++)
		if (strcmp(cat->roots[i].name, comp) == 0)
			*root = &cat->roots[i];
	if (!*root)
		return -ENOENT;
	fd = open((*root)->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	/* strtok_r skips empty components ("a//b"): refuse them by looking at the raw text. */
	if (strstr(path, "//") || path[strlen(path) - 1] == '/')
		goto fail;
	comp = strtok_r(NULL, "/", &save);
	if (!comp)
		goto fail;
	for (; (next = strtok_r(NULL, "/", &save)); comp = next) {
		int sub;

		if (!component_ok(comp) || ++depth > CR_CATALOG_DEPTH)
			goto fail;
		sub = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
			goto fail;
	}
	if (!component_ok(comp) || !servable(comp) || strlen(comp) >= len)
		goto fail;
	snprintf(leaf, len, "%s", comp);
	*dirfd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -ENOENT;
}

int cr_catalog_open(const struct cr_catalog *cat, const char *path, int *fdp, struct stat *st)
{
	const struct root *root;
	char leaf[NAME_MAX + 1];
	int dirfd, fd, ret = resolve(cat, path, &dirfd, leaf, sizeof(leaf), &root);

	*fdp = -1;
	if (ret < 0)
		return ret;
	/* O_NONBLOCK: a FIFO planted in a root must not hang the request. */
	fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ret = fd < 0 ? (errno == EACCES ? -EACCES : -ENOENT) : 0;
	close(dirfd);
	if (ret == 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)))
		ret = -ENOENT;
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	/* Regular files ignore O_NONBLOCK; clear it all the same. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fdp = fd;
	return 0;
}

/* ---- files being written ------------------------------------------------------ */

static unsigned stat_busy(const struct cr_catalog_busy *busy, struct stat *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; busy && i < busy->n && n < max; i++)
		if (busy->paths[i] && busy->paths[i][0] && stat(busy->paths[i], &out[n]) == 0)
			n++;
	return n;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether the file st in the directory dir_st is busy. */
static bool is_busy(const struct stat *st, const struct stat *dir_st, const struct stat *busy, unsigned nbusy)
{
	for (unsigned i = 0; i < nbusy; i++)
		if (same_file(st, &busy[i]) || (dir_st && S_ISDIR(busy[i].st_mode) && same_file(dir_st, &busy[i])))
			return true;
	return false;
}

#define BUSY_MAX (4 * CR_CONFIG_MAX_CAMERAS)

int cr_catalog_delete(const struct cr_catalog *cat, const char *path, const struct cr_catalog_busy *busy, char *why,
		      size_t len)
{
	struct stat busy_st[BUSY_MAX], st, dir_st;
	const struct root *root;
	char leaf[NAME_MAX + 1], sidecar[NAME_MAX + 1];
	unsigned nbusy = stat_busy(busy, busy_st, BUSY_MAX);
	int dirfd, ret = resolve(cat, path, &dirfd, leaf, sizeof(leaf), &root);

	if (ret < 0) {
		snprintf(why, len, "%s: no such file", path);
		return ret;
	}
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || fstat(dirfd, &dir_st) < 0) {
		close(dirfd);
		snprintf(why, len, "%s: no such file", path);
		return -ENOENT;
	}
	if (is_busy(&st, &dir_st, busy_st, nbusy)) {
		close(dirfd);
		snprintf(why, len, "%s is being written (stop its recording or timelapse first)", path);
		return -EBUSY;
	}
	ret = unlinkat(dirfd, leaf, 0) < 0 ? -errno : 0;
	if (ret == 0 && root->kind == ROOT_RECORDINGS && (has_ext(leaf, ".mkv") || has_ext(leaf, ".mp4"))) {
		snprintf(sidecar, sizeof(sidecar), "%.*s.csv", (int)(strlen(leaf) - 4), leaf);
		unlinkat(dirfd, sidecar, 0); /* a recording may have none */
	}
	close(dirfd);
	if (ret < 0)
		snprintf(why, len, "%s: cannot delete it: %s", path, strerror(-ret));
	return ret;
}

/* ---- sidecars ------------------------------------------------------------------- */

/* Splits a sidecar row into its 7 columns (frame, index, sequence, mono_ns,
 * utc_us, status, trigger), in place. Returns false for anything else. */
static bool split_row(char *line, char *cols[7])
{
	int n = 0;

	if (line[0] == '#' || strncmp(line, "frame,", 6) == 0)
		return false;
	for (char *p = line; n < 7; n++) {
		cols[n] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n == 6;
}

static bool parse_i64(const char *text, int64_t *v)
{
	char *end;

	if (!*text)
		return false;
	errno = 0;
	*v = strtoll(text, &end, 10);
	return !errno && !*end;
}

/* Notes a row into s: the first and last frame in the video; counts it when
 * count. */
static void note_row(struct summary *s, char *line, bool count)
{
	char *cols[7];
	int64_t mono, utc;

	line[strcspn(line, "\r\n")] = '\0';
	if (!split_row(line, cols))
		return;
	if (count) {
		s->recorded += strcmp(cols[5], "recorded") == 0;
		s->dropped += strcmp(cols[5], "dropped") == 0;
		s->lost += strcmp(cols[5], "lost") == 0;
	}
	if (strcmp(cols[5], "recorded") != 0 || !parse_i64(cols[3], &mono))
		return;
	if (!s->first_mono_ns) {
		s->first_mono_ns = mono;
		if (parse_i64(cols[4], &utc))
			s->first_utc_us = utc;
	}
	s->last_mono_ns = mono;
}

/* Reads what the listing shows of the sidecar open at fd into *s. */
static void read_summary(int fd, struct summary *s)
{
	char buf[SIDECAR_CHUNK + 1], *line, *save = NULL;
	struct stat st;
	ssize_t n;
	off_t at;

	memset(s, 0, sizeof(*s));
	if (fstat(fd, &st) < 0)
		return;
	n = pread(fd, buf, SIDECAR_CHUNK, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# camera: ", 10) == 0)
			snprintf(s->camera, sizeof(s->camera), "%s", line + 10);
		if (line[0] != '#' && s->first_mono_ns == 0)
			note_row(s, line, false);
	}
	at = st.st_size > SIDECAR_CHUNK ? st.st_size - SIDECAR_CHUNK : 0;
	n = pread(fd, buf, SIDECAR_CHUNK, at);
	if (n <= 0)
		return;
	buf[n] = '\0';
	line = buf;
	if (at > 0) { /* the first line is cut: skip it */
		line = strchr(buf, '\n');
		line = line ? line + 1 : buf + n;
	}
	for (line = strtok_r(line, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long rec, drop, lost;
		int used = 0;

		if (sscanf(line, "# end: recorded=%llu dropped=%llu lost=%llu reason=%n", &rec, &drop, &lost, &used) == 3 &&
		    used > 0) {
			s->complete = true;
			s->recorded = rec;
			s->dropped = drop;
			s->lost = lost;
			snprintf(s->reason, sizeof(s->reason), "%s", line + used);
		} else if (line[0] != '#') {
			int64_t first = s->first_mono_ns;

			note_row(s, line, false);
			if (first)
				s->first_mono_ns = first;
		}
	}
	if (s->complete)
		return;
	/* No end line: count the rows. */
	FILE *f = fdopen(dup(fd), "r");
	char row[256];
	long read = 0;

	if (!f)
		return;
	while (read < SIDECAR_SCAN_MAX && fgets(row, sizeof(row), f)) {
		read += (long)strlen(row);
		if (row[0] != '#')
			note_row(s, row, true);
	}
	fclose(f);
}

/* ---- listing ------------------------------------------------------------------------ */

/* The camera a file without a sidecar belongs to: the longest camera name
 * that its name starts with, followed by '_' (the default templates); else
 * the root's only camera; else "". */
static void camera_of(const struct cr_catalog *cat, const struct root *root, const char *name, char *out,
		      size_t len)
{
	size_t best = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < cat->config->ncameras; i++) {
		const char *cam = cat->config->cameras[i].name;
		size_t n = strlen(cam);

		if (n > best && strncmp(name, cam, n) == 0 && name[n] == '_') {
			best = n;
			snprintf(out, len, "%s", cam);
		}
	}
	if (!best && root->ncameras == 1)
		snprintf(out, len, "%s", cat->config->cameras[root->cameras[0]].name);
}

static void add_item(struct listing *l, const struct root *root, const char *rel, int dirfd, const char *name,
		     const struct stat *st, const struct stat *dir_st, const char *kind)
{
	struct item *it;

	if (l->nitems == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->items = cr_realloc(l->items, l->cap * sizeof(*l->items));
	}
	it = &l->items[l->nitems++];
	memset(it, 0, sizeof(*it));
	it->path = cr_asprintf("%s/%s%s%s", root->name, rel, *rel ? "/" : "", name);
	it->file = cr_asprintf("%s/%s%s%s", root->dir, rel, *rel ? "/" : "", name);
	it->root = root;
	it->kind = kind;
	it->st = *st;
	it->time_us = (int64_t)st->st_mtim.tv_sec * 1000000 + st->st_mtim.tv_nsec / 1000;
	it->writing = is_busy(st, dir_st, l->busy, l->nbusy);
	if (strcmp(kind, "video") == 0) {
		char sidecar[NAME_MAX + 1];
		int fd;

		snprintf(sidecar, sizeof(sidecar), "%.*s.csv", (int)(strlen(name) - 4), name);
		fd = openat(dirfd, sidecar, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			struct stat sst;

			if (fstat(fd, &sst) == 0 && S_ISREG(sst.st_mode)) {
				it->has_sidecar = true;
				read_summary(fd, &it->sum);
			}
			close(fd);
		}
		if (it->sum.first_utc_us)
			it->time_us = it->sum.first_utc_us;
	}
	if (it->sum.camera[0])
		snprintf(it->camera, sizeof(it->camera), "%s", it->sum.camera);
	else
		camera_of(l->cat, root, name, it->camera, sizeof(it->camera));
}

static bool is_root(const struct listing *l, const struct stat *st)
{
	for (unsigned i = 0; i < l->cat->nroots; i++)
		if (l->root_exists[i] && same_file(st, &l->root_st[i]))
			return true;
	return false;
}

/* Lists the directory dirfd (rel under root; depth below it), which it
 * closes. */
static void walk(struct listing *l, const struct root *root, int dirfd, const char *rel, unsigned depth)
{
	struct stat dir_st;
	struct dirent *e;
	DIR *d;

	if (fstat(dirfd, &dir_st) < 0 || !(d = fdopendir(dirfd))) {
		close(dirfd);
		return;
	}
	while (!l->truncated && (e = readdir(d))) {
		struct stat st;
		const char *kind = NULL;

		if (!component_ok(e->d_name) || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub;
			char *subrel;

			if (depth >= CR_CATALOG_DEPTH || is_root(l, &st))
				continue;
			sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;
			subrel = cr_asprintf("%s%s%s", rel, *rel ? "/" : "", e->d_name);
			walk(l, root, sub, subrel, depth + 1);
			free(subrel);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (++l->seen > CR_CATALOG_MAX_FILES) {
			l->truncated = true;
			break;
		}
		if (root->kind == ROOT_RECORDINGS && (has_ext(e->d_name, ".mkv") || has_ext(e->d_name, ".mp4")))
			kind = "video";
		else if (root->kind == ROOT_RECORDINGS && (has_ext(e->d_name, ".jpg") || has_ext(e->d_name, ".jpeg")))
			kind = "snapshot";
		else if (root->kind == ROOT_TIMELAPSES && has_ext(e->d_name, ".mp4"))
			kind = "timelapse";
		if (kind)
			add_item(l, root, rel, dirfd, e->d_name, &st, &dir_st, kind);
	}
	closedir(d);
}

static int newest_first(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->time_us != y->time_us)
		return x->time_us > y->time_us ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* "/recordings/" + path with every byte outside RFC 3986's unreserved set
 * and '/' %-encoded. */
static char *url_of(const char *path)
{
	size_t n = strlen("/recordings/");
	char *url = cr_malloc(n + 3 * strlen(path) + 1);

	memcpy(url, "/recordings/", n);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			url[n++] = (char)*p;
		else
			n += (size_t)sprintf(url + n, "%%%02X", *p);
	}
	url[n] = '\0';
	return url;
}

static json_t *item_json(const struct item *it)
{
	char iso[40], day[16];
	struct tm tm;
	time_t secs = (time_t)(it->time_us / 1000000);
	char *url = url_of(it->path);
	json_t *j;

	gmtime_r(&secs, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	j = json_pack("{s:o, s:o, s:o, s:s, s:o, s:s, s:s, s:f, s:I, s:s, s:b}", "path", cr_json_str(it->path), "url",
		      cr_json_str(url), "file", cr_json_str(it->file), "kind", it->kind, "camera", cr_json_str(it->camera),
		      "day", day, "time", iso, "time_unix", (double)it->time_us / 1e6, "size", (json_int_t)it->st.st_size,
		      "content_type", cr_catalog_content_type(it->path), "writing", it->writing);
	free(url);
	if (strcmp(it->kind, "video") == 0) {
		const struct summary *s = &it->sum;
		double span = (double)(s->last_mono_ns - s->first_mono_ns) / 1e9;

		if (it->has_sidecar) {
			char *sidecar = cr_asprintf("%.*s.csv", (int)(strlen(it->path) - 4), it->path);

			url = url_of(sidecar);
			json_object_set_new(j, "sidecar", cr_json_str(url));
			free(url);
			free(sidecar);
		} else {
			json_object_set_new(j, "sidecar", json_null());
		}
		/* From the first frame's capture to the end of the last one's. */
		json_object_set_new(j, "duration", json_real(s->recorded > 1 ? span * (double)s->recorded /
								   (double)(s->recorded - 1) : 0.0));
		json_object_set_new(j, "frames", json_integer((json_int_t)s->recorded));
		json_object_set_new(j, "dropped", json_integer((json_int_t)s->dropped));
		json_object_set_new(j, "lost", json_integer((json_int_t)s->lost));
		json_object_set_new(j, "complete", json_boolean(s->complete));
		json_object_set_new(j, "reason", cr_json_str(s->reason));
	}
	return j;
}

static bool keeps(const struct cr_catalog_filter *f, const struct item *it, const char *day)
{
	return (!f->camera || strcmp(f->camera, it->camera) == 0) && (!f->day || strcmp(f->day, day) == 0) &&
	       (!f->kind || strcmp(f->kind, it->kind) == 0);
}

json_t *cr_catalog_list(const struct cr_catalog *cat, const struct cr_catalog_filter *f,
			const struct cr_catalog_busy *busy)
{
	struct stat busy_st[BUSY_MAX];
	struct listing l = { .cat = cat, .busy = busy_st };
	json_t *files = json_array();

	l.nbusy = stat_busy(busy, busy_st, BUSY_MAX);
	for (unsigned i = 0; i < cat->nroots; i++)
		l.root_exists[i] = stat(cat->roots[i].dir, &l.root_st[i]) == 0;
	for (unsigned i = 0; i < cat->nroots && !l.truncated; i++) {
		int fd;

		if (!l.root_exists[i] || cat->roots[i].kind == ROOT_PHOTOS)
			continue;
		fd = open(cat->roots[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			walk(&l, &cat->roots[i], fd, "", 0);
	}
	qsort(l.items, l.nitems, sizeof(*l.items), newest_first);
	for (size_t i = 0; i < l.nitems; i++) {
		struct item *it = &l.items[i];
		char day[16];
		time_t secs = (time_t)(it->time_us / 1000000);
		struct tm tm;

		gmtime_r(&secs, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		if (keeps(f, it, day))
			json_array_append_new(files, item_json(it));
		free(it->path);
		free(it->file);
	}
	free(l.items);
	return json_pack("{s:o, s:b}", "files", files, "truncated", l.truncated);
}
