/* The recordings over HTTP:
 *   GET    /api/recordings       the catalogue's list (record/catalog.h),
 *                                optional camera=NAME, day=YYYY-MM-DD,
 *                                kind=video|snapshot|timelapse
 *   GET    /recordings/PATH      a file of the catalogue, with Range, ETag
 *                                and If-None-Match (RFC 9110 sections 8.8.3,
 *                                13.1.2, 13.1.5, 14), so a browser can seek
 *   DELETE /api/recordings/PATH  deletes it (a recording with its sidecar);
 *                                409 while it is being written
 *
 * Design: a file is sent by libmicrohttpd from its descriptor
 * (MHD_create_response_from_fd_at_offset64, sendfile() where it can), in the
 * connection's own thread; the catalogue resolves PATH (libmicrohttpd has
 * decoded its %-escapes) from an fd of its root, so "..", symbolic links
 * and encoded tricks are a 404 like any missing file. The ETag is strong,
 * of the inode, size and modification time: a recording still growing gets
 * a new one with every write. One range is served (206); a request for
 * several gets the whole file (200), which RFC 9110 section 14.2 allows.
 * Which files are being written comes from the status model. */
#include "http/internal.h"

#include "base/json.h"
#include "base/mem.h"
#include "record/catalog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define FILES_PREFIX "/recordings/"
#define DELETE_PREFIX "/api/recordings/"
#define BUSY_MAX (4 * CR_CONFIG_MAX_CAMERAS)

/* The files being written now, from one snapshot of the status model (kept
 * in *st until the caller frees it). */
static struct cr_catalog_busy busy_files(struct cr_http_request *req, struct cr_status **st, const char **paths)
{
	*st = cr_status_take(req->ctx->status);
	return (struct cr_catalog_busy){ .paths = paths, .n = cr_status_files_in_use(*st, paths, BUSY_MAX) };
}

enum MHD_Result cr_http_recordings(struct cr_http_request *req)
{
	static const char *const allowed[] = { "camera", "day", "kind", NULL };
	static const char *const kinds[] = { "video", "snapshot", "timelapse" };
	const char *unknown = cr_http_unknown_param(req, allowed), *paths[BUSY_MAX];
	struct cr_catalog_filter f = { 0 };
	struct cr_catalog_busy busy;
	struct cr_status *st;
	unsigned y, m, d;
	char tail;
	json_t *list;
	bool kind_ok = false;

	if (unknown)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: unknown parameter \"%s\" (expected camera, day, kind)",
				     req->path, unknown);
	if (cr_http_query(req, "camera", &f.camera) < 0 || cr_http_query(req, "day", &f.day) < 0 ||
	    cr_http_query(req, "kind", &f.kind) < 0)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: a parameter contains a NUL byte", req->path);
	if (f.day && (strlen(f.day) != 10 || sscanf(f.day, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
		      d < 1 || d > 31))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: day \"%s\": expected a date YYYY-MM-DD", req->path,
				     f.day);
	for (size_t i = 0; f.kind && i < CR_ARRAY_SIZE(kinds); i++)
		kind_ok = kind_ok || strcmp(f.kind, kinds[i]) == 0;
	if (f.kind && !kind_ok)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: kind \"%s\": expected video, snapshot or timelapse",
				     req->path, f.kind);
	busy = busy_files(req, &st, paths);
	list = cr_catalog_list(req->ctx->catalog, &f, &busy);
	cr_status_free(&st);
	return cr_http_reply_json(req, MHD_HTTP_OK, list);
}

/* Whether the If-None-Match value (a list of entity tags, or "*") names
 * etag, by the weak comparison (RFC 9110 section 13.1.2). */
static bool none_match(const char *header, const char *etag)
{
	const char *p = header;

	while (*p) {
		size_t n;

		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n && n == strlen(etag) && strncmp(p, etag, n) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* Parses a Range value (RFC 9110 section 14.1.2) for a file of size bytes.
 * Returns 1 with one range [*first, *last] (bytes, inclusive), 0 when it
 * is to be ignored (not bytes, malformed, several ranges: the whole file is
 * sent), -1 when it cannot be satisfied (416). */
static int parse_range(const char *value, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p = value;
	char *end;
	unsigned long long a, b;

	if (strncasecmp(p, "bytes=", 6) != 0)
		return 0;
	p += 6;
	p += strspn(p, " \t");
	if (strchr(p, ','))
		return 0;
	if (*p == '-') {           /* the last N bytes */
		if (p[1] < '0' || p[1] > '9')
			return 0;
		errno = 0;
		b = strtoull(p + 1, &end, 10);
		if (errno || *(end + strspn(end, " \t")))
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	a = strtoull(p, &end, 10);
	if (errno || *end != '-')
		return 0;
	p = end + 1;
	if (*p >= '0' && *p <= '9') {
		b = strtoull(p, &end, 10);
		if (errno || *(end + strspn(end, " \t")) || b < a)
			return 0;
	} else if (*(p + strspn(p, " \t"))) {
		return 0;
	} else {
		b = UINT64_MAX;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 1;
}

static void add_file_headers(struct MHD_Response *resp, const char *content_type, const char *etag,
			     const struct stat *st)
{
	char date[64];
	struct tm tm;

	gmtime_r(&st->st_mtim.tv_sec, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	/* Kept, but asked about again (If-None-Match) before each use. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

enum MHD_Result cr_http_recording_file(struct cr_http_request *req)
{
	const char *path = req->path + strlen(FILES_PREFIX), *range, *if_range, *inm, *type;
	uint64_t first = 0, last = 0, size;
	struct MHD_Response *resp;
	char etag[96], crange[96];
	struct stat st;
	int fd, ret, ranged = 0;

	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	ret = cr_catalog_open(req->ctx->catalog, path, &fd, &st);
	if (ret == -EACCES)
		return cr_http_error(req, MHD_HTTP_FORBIDDEN, "%s: camrig may not read it", req->path);
	if (ret < 0)
		return cr_http_error(req, MHD_HTTP_NOT_FOUND, "%s: no such file (GET /api/recordings lists them)",
				     req->path);
	size = (uint64_t)st.st_size;
	type = cr_catalog_content_type(path);
	snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st.st_ino, size,
		 (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
	inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm && none_match(inm, etag)) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (resp)
			add_file_headers(resp, NULL, etag, &st);
		return cr_http_queue(req, MHD_HTTP_NOT_MODIFIED, resp);
	}
	range = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	if_range = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
	/* Range is for GET alone (RFC 9110 section 14.2); an If-Range that is
	 * not the current ETag asks for the whole, changed file. */
	if (range && strcmp(req->method, MHD_HTTP_METHOD_GET) == 0 && (!if_range || strcmp(if_range, etag) == 0))
		ranged = parse_range(range, size, &first, &last);
	if (ranged < 0) {
		close(fd);
		snprintf(crange, sizeof(crange), "bytes */%" PRIu64, size);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (resp) {
			add_file_headers(resp, NULL, etag, &st);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
		}
		return cr_http_queue(req, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
	}
	if (!ranged) {
		first = 0;
		last = size ? size - 1 : 0;
	}
	if (size == 0) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		/* Takes fd: libmicrohttpd closes it with the response. */
		resp = MHD_create_response_from_fd_at_offset64(last - first + 1, fd, (int64_t)first);
		if (!resp)
			close(fd);
	}
	if (!resp)
		return MHD_NO;
	add_file_headers(resp, type, etag, &st);
	if (ranged) {
		snprintf(crange, sizeof(crange), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
	}
	return cr_http_queue(req, ranged ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
}

enum MHD_Result cr_http_recording_delete(struct cr_http_request *req)
{
	const char *path = req->path + strlen(DELETE_PREFIX), *paths[BUSY_MAX];
	struct cr_catalog_busy busy;
	struct cr_status *st;
	char why[512];
	int ret;

	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	busy = busy_files(req, &st, paths);
	ret = cr_catalog_delete(req->ctx->catalog, path, &busy, why, sizeof(why));
	cr_status_free(&st);
	if (ret == -ENOENT)
		return cr_http_error(req, MHD_HTTP_NOT_FOUND, "%s (GET /api/recordings lists the files)", why);
	if (ret == -EBUSY)
		return cr_http_error(req, MHD_HTTP_CONFLICT, "%s", why);
	if (ret < 0)
		return cr_http_error(req, ret == -EACCES || ret == -EPERM || ret == -EROFS ? MHD_HTTP_FORBIDDEN
								     : MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", why);
	return cr_http_reply_json(req, MHD_HTTP_OK, json_pack("{s:b, s:o}", "ok", 1, "deleted", cr_json_str(path)));
}
