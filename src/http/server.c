/* HTTP server: the pools (libmicrohttpd daemons), routing and the helpers
 * every endpoint uses.
 *
 * Design. We create and bind the listening socket ourselves, so a taken port
 * fails with the real errno, and run our own acceptor on it (acceptor.c):
 * a connection costs no thread until its request headers have arrived, must
 * send its whole request within http.header_timeout, and when too many are
 * still sending, the oldest goes. The acceptor then hands each connection to
 * one of two pools by its request line: live views (the routes marked live
 * below: MJPEG and event streams, which last) to one, everything else to the
 * other. Each pool is a libmicrohttpd daemon with no listening socket
 * (MHD_USE_NO_LISTEN_SOCKET, fed by MHD_add_connection()) and one thread per
 * connection, and has a limit of its own (http.max_stream_clients,
 * http.max_api_clients), so watchers cannot starve the API nor the other way
 * round; one more gets a 503 with the reason from the acceptor. The live
 * pool's MJPEG streams (the routes marked STREAM) go to a second daemon of
 * the same pool and limit, the stream daemon: one polling thread (epoll,
 * suspend/resume allowed) that reads and checks the request like any
 * other, after which the handler suspends the connection and hands it to
 * the writer (writer.c), which sends the stream from one thread; when the
 * writer resumes it, on_request() is called once more and closes it. Only
 * handlers that never block run there (a stream's, the error replies);
 * a Basic credential's crypt(3) does, delaying the stream requests behind
 * it by its few milliseconds, never the streams being sent.
 * With TLS the acceptor cannot read the request line and the API pool
 * serves both, with live views limited here (cr_http_live_view_begin()),
 * streams in their connections' threads.
 *
 * Both pools share on_request(), so auth, routing and the context are one.
 * What the headers alone decide is answered as soon as they are in, before
 * any body is read: framing (one Content-Length, or chunked alone; RFC 9112
 * section 6), where the request comes from (origin.c), credentials (a
 * request without valid ones gets its 401 at once, so it never takes a live
 * view). Every reply carries "Connection: close": one request per
 * connection, so each request passes the acceptor, its deadline and its
 * pool's limit, and no idle keep-alive connection holds a slot.
 *
 * Routing is a fixed table from path (or, ending in '/', the start of one)
 * to handler; an unknown path is a 404,
 * a method other than the route's a 405, each with a one-line text reason.
 * Headers are bounded by the acceptor (8 KiB) and libmicrohttpd's connection
 * memory limit, bodies by CR_HTTP_BODY_MAX.
 *
 * Threads: on_request() runs in the connection's thread (the stream
 * daemon's polling thread for its connections), on_connection() in its
 * daemon's polling thread; both reach the acceptor only through its
 * functions, which take its lock. */
#include "http/internal.h"

#include "http/acceptor.h"
#include "http/auth.h"
#include "http/origin.h"
#include "http/tls.h"

#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/net.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTION_MEMORY_LIMIT (32 * 1024)
#define THREAD_STACK_SIZE (256 * 1024)
/* libmicrohttpd's own connection limit is set this far above a pool's, so
 * that it never refuses a connection itself: it would close it without a
 * word, and without reporting it closed (acceptor.c counts on the report).
 * Its count trails ours only by connections it has yet to clean up. */
#define MHD_LIMIT_HEADROOM 64
/* File descriptors camrig needs besides the HTTP connections: cameras,
 * files, the other servers. */
#define FDS_BESIDES_HTTP 256

/* Who serves a route: the API pool; the live pool (a live view); the live
 * pool's stream daemon and the writer (an MJPEG stream, a live view too). */
enum serve { API, LIVE, STREAM };

static const struct {
	const char *method;      /* "GET" also answers HEAD */
	const char *path;
	cr_http_handler handler;
	enum serve serve;
} routes[] = {
	{ "GET", "/", cr_http_page, API },
	{ "GET", "/index.html", cr_http_page, API },
	{ "GET", "/stream.mjpg", cr_http_stream, STREAM },
	{ "GET", "/stream", cr_http_stream, STREAM },
	{ "GET", "/snapshot.jpg", cr_http_snapshot, API },
	{ "GET", "/current.jpg", cr_http_snapshot, API },
	{ "GET", "/frame", cr_http_snapshot, API },
	{ "GET", "/status", cr_http_status, API },
	{ "GET", "/info", cr_http_status, API },
	{ "GET", "/healthz", cr_http_healthz, API },
	{ "GET", "/metrics", cr_http_metrics, API },
	{ "POST", "/api/command", cr_http_command, API },
	{ "POST", "/mcp", cr_http_mcp, API },
	{ "GET", "/api/events", cr_http_events, LIVE },
	{ "POST", "/api/record/start", cr_http_record_start, API },
	{ "POST", "/api/record/stop", cr_http_record_stop, API },
	{ "GET", "/api/record", cr_http_record, API },
	{ "POST", "/api/timelapse/start", cr_http_timelapse_action, API },
	{ "POST", "/api/timelapse/pause", cr_http_timelapse_action, API },
	{ "POST", "/api/timelapse/resume", cr_http_timelapse_action, API },
	{ "POST", "/api/timelapse/stop", cr_http_timelapse_action, API },
	{ "POST", "/api/timelapse/abort", cr_http_timelapse_action, API },
	{ "POST", "/api/timelapse/shot", cr_http_timelapse_action, API },
	{ "GET", "/api/timelapse", cr_http_timelapse, API },
	{ "GET", "/api/controls", cr_http_controls, API },
	{ "GET", "/api/recordings", cr_http_recordings, API },
	{ "DELETE", "/api/recordings/", cr_http_recording_delete, API },
	{ "GET", "/recordings/", cr_http_recording_file, API },
};

/* A request being received: its body, bounded by CR_HTTP_BODY_MAX, and
 * what its headers decided. */
struct body {
	char data[CR_HTTP_BODY_MAX + 1];
	size_t len;
	bool too_large;
	bool taken;                   /* the writer has the connection (cr_http_writer_take) */
	const char *cors_origin;      /* from cr_http_origin_check() */
};

bool cr_http_path_is_live(const char *path, size_t len, bool *stream)
{
	*stream = false;
	for (size_t i = 0; i < CR_ARRAY_SIZE(routes); i++) {
		if (routes[i].serve != API && strlen(routes[i].path) == len && memcmp(routes[i].path, path, len) == 0) {
			*stream = routes[i].serve == STREAM;
			return true;
		}
	}
	return false;
}

enum MHD_Result cr_http_reply(struct cr_http_request *req, unsigned status, const char *content_type,
			      const void *body, size_t size)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(size, (void *)body, MHD_RESPMEM_MUST_COPY);

	if (resp) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	}
	return cr_http_queue(req, status, resp);
}

const unsigned short cr_http_codes[CR_HTTP_CODES] = {
	200, 204, 301, 302, 304, 400, 401, 403, 404, 405, 408, 409, 413, 421, 429, 431, 500, 501, 503, 0,
};

static void count_reply(struct cr_http_server *server, unsigned status)
{
	unsigned i = 0;

	while (i < CR_HTTP_CODES - 1 && cr_http_codes[i] != status)
		i++;
	atomic_fetch_add_explicit(&server->replies[i], 1, memory_order_relaxed);
}

/* Counts the reply and adds to resp (may be NULL) the headers every reply
 * carries. */
static void prepare(struct cr_http_request *req, unsigned status, struct MHD_Response *resp)
{
	count_reply(req->server, status);
	if (!resp)
		return;
	cr_http_origin_headers(resp, req->cors_origin);
	/* Every reply: nothing of camrig's runs scripts, is framed by another
	 * page, or is sniffed as another type; the page sets its own policy. */
	if (!MHD_get_response_header(resp, "Content-Security-Policy"))
		MHD_add_response_header(resp, "Content-Security-Policy", CR_HTTP_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

enum MHD_Result cr_http_queue(struct cr_http_request *req, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	prepare(req, status, resp);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct head {
	char *buf;
	size_t len, n;                /* bytes: buf's size, written (or wanted: more than len is too long) */
};

static void head_add(struct head *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void head_add(struct head *h, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(h->n < h->len ? h->buf + h->n : NULL, h->n < h->len ? h->len - h->n : 0, fmt, ap);
	va_end(ap);
	h->n += n > 0 ? (size_t)n : 0;
}

static enum MHD_Result head_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	head_add(cls, "%s: %s\r\n", key, value);
	return MHD_YES;
}

int cr_http_response_head(struct cr_http_request *req, unsigned status, struct MHD_Response *resp, char *buf,
			  size_t len)
{
	struct head h = { .buf = buf, .len = len };
	time_t now = time(NULL);
	char date[64];
	struct tm tm;

	prepare(req, status, resp);
	if (!resp)
		return -ENOMEM;
	/* RFC 9110 section 5.6.7: the IMF-fixdate. */
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
	head_add(&h, "HTTP/1.1 %u %s\r\nDate: %s\r\n", status, MHD_get_reason_phrase_for(status), date);
	MHD_get_response_headers(resp, head_header, &h);
	head_add(&h, "\r\n");
	MHD_destroy_response(resp);
	return h.n < len && h.n <= INT_MAX ? (int)h.n : -ENOSPC;
}

enum MHD_Result cr_http_error(struct cr_http_request *req, unsigned status, const char *fmt, ...)
{
	char msg[512], *text;
	enum MHD_Result ret;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Reasons echo what the client sent: keep the text UTF-8 as labelled. */
	text = cr_utf8_escape(msg);
	n = strlen(text);
	text = cr_realloc(text, n + 2);
	text[n++] = '\n';
	cr_debug("http: %s %s: %u %.*s", req->method, req->path, status, (int)n - 1, text);
	ret = cr_http_reply(req, status, "text/plain; charset=utf-8", text, n);
	free(text);
	return ret;
}

struct param_check {
	const char *const *allowed;
	const char *unknown;
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct param_check *pc = cls;

	for (const char *const *a = pc->allowed; *a; a++)
		if (strcmp(*a, key) == 0)
			return MHD_YES;
	pc->unknown = key;
	return MHD_NO;
}

const char *cr_http_unknown_param(struct cr_http_request *req, const char *const *allowed)
{
	struct param_check pc = { .allowed = allowed };

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
	return pc.unknown;
}

int cr_http_query(struct cr_http_request *req, const char *name, const char **value)
{
	size_t len = 0;

	*value = NULL;
	if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), value, &len) != MHD_YES ||
	    !*value)
		return 0;
	/* "%00" decodes to a NUL: "320%00x" must not read as "320". */
	return strlen(*value) == len ? 1 : -EINVAL;
}

int cr_http_int_param(struct cr_http_request *req, const char *name, int min, int max, int *value)
{
	const char *text, *digits;
	int ret = cr_http_query(req, name, &text);
	char *end;
	long v;

	if (ret <= 0)
		return ret;
	/* Digits, with a '-' in front at most: no spaces, no '+', no hex. */
	digits = text + (text[0] == '-');
	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return -EINVAL;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*value = (int)v;
	return 1;
}

struct cr_http_camera *cr_http_pick_camera(struct cr_http_request *req, enum MHD_Result *result)
{
	const char *name;

	if (cr_http_query(req, "camera", &name) < 0) {
		*result = cr_http_error(req, MHD_HTTP_BAD_REQUEST, "camera: contains a NUL byte");
		return NULL;
	}
	if (!name)
		return &req->ctx->cameras[0];
	for (unsigned i = 0; i < req->ctx->ncameras; i++)
		if (strcmp(req->ctx->cameras[i].name, name) == 0)
			return &req->ctx->cameras[i];
	*result = cr_http_error(req, MHD_HTTP_NOT_FOUND, "camera \"%s\": no such camera", name);
	return NULL;
}

bool cr_http_live_view_begin(struct cr_http_request *req, enum MHD_Result *result)
{
	struct cr_http_server *server = req->server;
	unsigned limit = server->ctx->config->max_stream_clients;
	char reason[128];

	if (atomic_fetch_add(&server->live_views, 1) < limit)
		return true;
	atomic_fetch_sub(&server->live_views, 1);
	snprintf(reason, sizeof(reason), "too many live views open (http.max_stream_clients: %u); try again later",
		 limit);
	cr_http_acceptor_note(server->acceptor, CR_HTTP_REFUSED_LIVE, "refused %s with a 503: %s", req->path, reason);
	*result = cr_http_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", reason);
	return false;
}

void cr_http_live_view_end(struct cr_http_server *server)
{
	atomic_fetch_sub(&server->live_views, 1);
}

/* A 401 asking for credentials, or a 429 while the client address is
 * throttled for failing too often (auth.c). */
static enum MHD_Result unauthorized(struct cr_http_request *req, enum cr_http_auth_result why, unsigned retry_s)
{
	static const char msg[] = "authentication required (HTTP Basic or a bearer token)\n";
	static const char slow[] = "too many failed authentication attempts from this address; try again later\n";
	bool throttled = why == CR_HTTP_AUTH_THROTTLED;
	struct MHD_Response *resp = MHD_create_response_from_buffer(throttled ? sizeof(slow) - 1 : sizeof(msg) - 1,
								     (void *)(throttled ? slow : msg),
								     MHD_RESPMEM_PERSISTENT);
	char seconds[16];

	if (resp) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		if (throttled) {
			snprintf(seconds, sizeof(seconds), "%u", retry_s);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
		} else {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						"Basic realm=\"camrig\", charset=\"UTF-8\"");
		}
	}
	return cr_http_queue(req, throttled ? MHD_HTTP_TOO_MANY_REQUESTS : MHD_HTTP_UNAUTHORIZED, resp);
}

/* A CORS preflight (OPTIONS) from an origin of http.cors_origins; from any
 * other a 403, so the browser never sends the request itself. */
static enum MHD_Result preflight(struct cr_http_request *req)
{
	struct MHD_Response *resp;

	if (!req->cors_origin)
		return cr_http_error(req, MHD_HTTP_FORBIDDEN, "OPTIONS %s: cross-origin use refused (add the origin "
				     "to http.cors_origins to allow it)", req->path);
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (resp)
		cr_http_origin_preflight_headers(resp);
	return cr_http_queue(req, MHD_HTTP_NO_CONTENT, resp);
}

static bool method_matches(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 || (strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

/* A route's path is the request's, or, when it ends in '/' (and is not "/"),
 * the start of it: "/recordings/" takes "/recordings/a/b.mp4". */
static bool route_matches(const char *route_path, const char *path)
{
	size_t n = strlen(route_path);

	if (n > 1 && route_path[n - 1] == '/')
		return strncmp(path, route_path, n) == 0;
	return strcmp(path, route_path) == 0;
}

static enum MHD_Result route(struct cr_http_request *req)
{
	const char *allowed = NULL;

	for (size_t i = 0; i < CR_ARRAY_SIZE(routes); i++) {
		if (!route_matches(routes[i].path, req->path))
			continue;
		/* The acceptor compares the path as sent; libmicrohttpd's is
		 * unescaped. A live view that reached the API pool so must not
		 * hold one of its slots. */
		if (routes[i].serve != API && !req->pool->serves_live)
			return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: ask for a live view by its plain path "
					     "(without %%-escapes)", req->path);
		if (method_matches(routes[i].method, req->method))
			return routes[i].handler(req);
		allowed = routes[i].method;
	}
	if (allowed)
		return cr_http_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "%s %s: method not allowed (expected %s)",
				     req->method, req->path, allowed);
	return cr_http_error(req, MHD_HTTP_NOT_FOUND, "%s: not found (try /, /stream.mjpg, /snapshot.jpg, "
			     "/frame, /status, /healthz, /metrics, /api/command, /api/recordings)", req->path);
}

/* The request's framing headers (RFC 9112 section 6): at most one
 * Content-Length, or Transfer-Encoding: chunked alone. */
struct framing {
	unsigned content_lengths, transfer_encodings;
	const char *content_length, *transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct framing *f = cls;

	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->content_lengths++;
		f->content_length = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->transfer_encodings++;
		f->transfer_encoding = value;
	}
	return MHD_YES;
}

/* Two Content-Lengths (equal or not), or one with a Transfer-Encoding, are
 * how request smuggling starts: each reader of the stream may frame the body
 * differently (RFC 9112 sections 6.3 and 11.2). libmicrohttpd would take the
 * first, so camrig refuses them. Returns 0, or the status to answer with the
 * reason in why (len bytes). */
static unsigned check_framing(struct MHD_Connection *conn, char *why, size_t len)
{
	struct framing f = { 0 };

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
	if (f.content_lengths > 1) {
		snprintf(why, len, "%u Content-Length headers (expected at most one)", f.content_lengths);
		return MHD_HTTP_BAD_REQUEST;
	}
	if (f.content_lengths && f.transfer_encodings) {
		snprintf(why, len, "both Transfer-Encoding and Content-Length (expected one of them)");
		return MHD_HTTP_BAD_REQUEST;
	}
	if (f.transfer_encodings > 1 || (f.transfer_encoding && strcasecmp(f.transfer_encoding, "chunked") != 0)) {
		snprintf(why, len, "Transfer-Encoding \"%s\" is not supported (expected chunked)", f.transfer_encoding);
		return MHD_HTTP_NOT_IMPLEMENTED;
	}
	if (f.content_length && strtoull(f.content_length, NULL, 10) > CR_HTTP_BODY_MAX) {
		snprintf(why, len, "a request body of %s bytes is too large (expected at most %d bytes)",
			 f.content_length, CR_HTTP_BODY_MAX);
		return MHD_HTTP_CONTENT_TOO_LARGE;
	}
	return 0;
}

/* What the headers decide, on the first call: MHD_YES to go on to the body,
 * or the result of the reply queued (libmicrohttpd then reads no body and
 * closes the connection). */
static enum MHD_Result check_headers(struct cr_http_request *req, const char *version, struct body *body)
{
	struct cr_http_pool *pool = req->pool;
	struct MHD_Connection *conn = req->conn;
	enum cr_http_auth_result auth;
	unsigned refused, retry_s = 0;
	char why[512];

	refused = check_framing(conn, why, sizeof(why));
	if (refused)
		return cr_http_error(req, refused, "%s", why);
	/* Only with TLS can a pool hold more than its limit (acceptor.h). */
	if (atomic_load(&pool->connections) > pool->limit) {
		snprintf(why, sizeof(why), "too many %s open (%s: %u); try again later", pool->what, pool->limit_key,
			 pool->limit);
		cr_http_acceptor_note(req->server->acceptor, CR_HTTP_REFUSED_API, "refused %s with a 503: %s",
				      req->path, why);
		return cr_http_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", why);
	}
	/* Where the request comes from before who sends it: a preflight has
	 * no credentials, and a foreign page's request must not even learn
	 * whether credentials are needed. */
	refused = cr_http_origin_check(req->server->origin, conn, req->method, version, req->server->tls != NULL,
				       &req->cors_origin, why, sizeof(why));
	if (refused)
		return cr_http_error(req, refused, "%s", why);
	body->cors_origin = req->cors_origin;
	if (strcmp(req->method, MHD_HTTP_METHOD_OPTIONS) == 0)
		return preflight(req);
	auth = cr_http_auth_check(req->server->auth, conn, &retry_s);
	if (auth != CR_HTTP_AUTH_OK)
		return unauthorized(req, auth, retry_s);
	refused = cr_http_origin_check_preflighted(conn, req->method, why, sizeof(why));
	if (refused)
		return cr_http_error(req, refused, "%s", why);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct cr_http_pool *pool = cls;
	struct cr_http_server *server = pool->server;
	struct cr_http_request req = { .server = server, .pool = pool, .ctx = server->ctx, .conn = conn, .path = url,
				       .method = method };
	struct body *body = *con_cls;

	if (body && body->taken)
		return MHD_NO; /* resumed by the writer: the stream is over, close */
	/* libmicrohttpd calls once with the headers, then with pieces of the
	 * body, then once more with none: the headers are checked on the
	 * first call, the request is answered on the last. */
	if (!body) {
		*con_cls = body = CR_NEW(body);
		if (server->test_delay_ns) { /* a pool thread that is slow to get to its request */
			struct timespec ts = cr_time_ts(server->test_delay_ns);

			nanosleep(&ts, NULL);
		}
		return check_headers(&req, version, body);
	}
	if (*upload_data_size) {
		if (body->len + *upload_data_size > CR_HTTP_BODY_MAX)
			body->too_large = true;
		else
			memcpy(body->data + body->len, upload_data, *upload_data_size);
		if (!body->too_large)
			body->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	cr_http_acceptor_request_read(server->acceptor, conn);
	req.cors_origin = body->cors_origin;
	req.writer = pool->stream_daemon &&
		     MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON)->daemon == pool->stream_daemon;
	req.taken = &body->taken;
	if (body->too_large)
		return cr_http_error(&req, MHD_HTTP_CONTENT_TOO_LARGE, "%s: request body too large (expected at most "
				     "%d bytes)", url, CR_HTTP_BODY_MAX);
	body->data[body->len] = '\0';
	req.body = body->data;
	req.body_len = body->len;
	return route(&req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	free(*con_cls);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct cr_http_pool *pool = cls;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		cr_http_acceptor_closed(pool->server->acceptor, pool, conn);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cr_debug("http: %s", msg);
}

static void pool_init(struct cr_http_pool *pool, struct cr_http_server *server, enum cr_http_pool_kind kind,
		      const char *what, const char *limit_key, unsigned limit, unsigned per_ip, bool serves_live)
{
	pool->server = server;
	pool->kind = kind;
	pool->what = what;
	pool->limit_key = limit_key;
	pool->limit = limit;
	pool->per_ip = per_ip;
	pool->serves_live = serves_live;
	atomic_init(&pool->connections, 0);
}

static void pools_init(struct cr_http_server *server)
{
	const struct cr_http_config *cfg = server->ctx->config;

	if (server->tls) {
		/* The acceptor cannot read the request line: one pool for both. */
		pool_init(&server->pools[CR_HTTP_POOL_LIVE], server, CR_HTTP_POOL_LIVE, "live views",
			  "http.max_stream_clients", 0, 0, true);
		pool_init(&server->pools[CR_HTTP_POOL_API], server, CR_HTTP_POOL_API, "connections",
			  "http.max_stream_clients + http.max_api_clients", cfg->max_stream_clients + cfg->max_api_clients,
			  2 * cfg->max_clients_per_ip, true);
		return;
	}
	pool_init(&server->pools[CR_HTTP_POOL_LIVE], server, CR_HTTP_POOL_LIVE, "live views", "http.max_stream_clients",
		  cfg->max_stream_clients, cfg->max_clients_per_ip, true);
	pool_init(&server->pools[CR_HTTP_POOL_API], server, CR_HTTP_POOL_API, "requests", "http.max_api_clients",
		  cfg->max_api_clients, cfg->max_clients_per_ip, false);
}

/* Each connection needs a descriptor, a watched one two for a moment. */
static void reserve_fds(const struct cr_http_config *cfg)
{
	unsigned long want = cfg->max_pending + 2ul * (cfg->max_stream_clients + cfg->max_api_clients) +
			     FDS_BESIDES_HTTP, have;
	int ret = cr_net_reserve_fds(want, &have);

	if (ret < 0)
		cr_warn("http: cannot raise RLIMIT_NOFILE: %s", cr_strerror(ret));
	else if (have < want)
		cr_warn("http: the connection limits may need %lu file descriptors and RLIMIT_NOFILE allows %lu: raise "
			"it (ulimit -n, systemd LimitNOFILE=) or lower http.max_pending, http.max_stream_clients or "
			"http.max_api_clients", want, have);
}

/* "HOST:PORT" of the socket fd listens on; spec (http.listen) when the
 * kernel does not say. */
static void bound_address(int fd, const char *spec, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64];
	unsigned port;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		snprintf(out, len, "%s", spec);
		return;
	}
	cr_net_addr_text((struct sockaddr *)&ss, host, sizeof(host));
	port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

int cr_http_server_new(const struct cr_http_context *ctx, struct cr_http_server **out)
{
	const struct cr_http_config *cfg = ctx->config;
	struct cr_http_server *server = CR_NEW(server);
	int listen_fd = -1, ret;

	server->ctx = ctx;
	server->test_delay_ns = cr_time_test_delay_ns("http");
	server->origin = cr_http_origin_new(cfg);
	server->placeholders = cr_calloc(ctx->ncameras, sizeof(*server->placeholders));
	for (unsigned i = 0; i < ctx->ncameras; i++)
		pthread_mutex_init(&server->placeholders[i].lock, NULL);
	if (!cfg->tls_cert != !cfg->tls_key) {
		ret = cr_log_ret(-EINVAL, CR_LOG_ERROR, "http.tls_cert and http.tls_key go together (HTTPS needs both)");
		goto fail;
	}
	ret = cr_net_listen(cfg->listen, &listen_fd, &server->loopback);
	if (ret < 0) {
		cr_err("cannot listen on %s: %s", cfg->listen, cr_strerror(ret));
		goto fail;
	}
	bound_address(listen_fd, cfg->listen, server->bound, sizeof(server->bound));
	ret = cr_http_auth_new(cfg, server->loopback, &server->auth);
	if (ret == 0 && cfg->tls_cert)
		ret = cr_http_tls_new(cfg->tls_cert, cfg->tls_key, &server->tls);
	if (ret < 0)
		goto fail;
	pools_init(server);
	reserve_fds(cfg);
	ret = cr_http_writer_new(server, &server->writer);
	if (ret < 0)
		goto fail;
	ret = cr_http_acceptor_new(server, listen_fd, &server->acceptor);
	listen_fd = -1; /* the acceptor's, or closed */
	if (ret < 0)
		goto fail;
	*out = server;
	return 0;
fail:
	if (listen_fd >= 0)
		close(listen_fd);
	cr_http_server_free(&server);
	return ret;
}

/* One libmicrohttpd daemon of pool: a thread per connection, or for the
 * stream daemon one polling thread (epoll) whose connections may be
 * suspended for the writer. */
static struct MHD_Daemon *daemon_start(struct cr_http_pool *pool, bool streams)
{
	struct cr_http_server *server = pool->server;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG |
			 (server->tls ? MHD_USE_TLS : 0) |
			 (streams ? MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL);
	unsigned limit = pool->limit + (server->tls ? CR_HTTP_TLS_OVERFLOW : 0) + MHD_LIMIT_HEADROOM;
	struct MHD_OptionItem options[] = {
		{ MHD_OPTION_CONNECTION_LIMIT, limit, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, CR_HTTP_IDLE_TIMEOUT_S, NULL },
		{ MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK_SIZE, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, pool },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL },
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_error, NULL },
		{ server->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, 0,
		  server->tls ? (void *)cr_http_tls_callback() : NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, pool, MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

static int pool_start(struct cr_http_pool *pool)
{
	pool->daemon = daemon_start(pool, false);
	/* Without TLS the writer can send the live pool's MJPEG streams. */
	if (pool->daemon && pool->kind == CR_HTTP_POOL_LIVE && !pool->server->tls)
		pool->stream_daemon = daemon_start(pool, true);
	if (!pool->daemon || (pool->kind == CR_HTTP_POOL_LIVE && !pool->server->tls && !pool->stream_daemon))
		return cr_log_ret(-EIO, CR_LOG_ERROR, "cannot start the HTTP server's pool of %s", pool->what);
	return 0;
}

int cr_http_server_start(struct cr_http_server *server)
{
	int ret = 0;

	for (unsigned i = 0; i < CR_HTTP_POOLS && ret == 0; i++)
		if (server->pools[i].limit)
			ret = pool_start(&server->pools[i]);
	if (ret == 0)
		ret = cr_http_writer_start(server->writer);
	if (ret == 0)
		ret = cr_http_acceptor_start(server->acceptor);
	if (ret < 0) {
		cr_http_server_stop(server);
		return ret;
	}
	cr_info("serving %s://%s/%s", server->tls ? "https" : "http", server->bound,
		cr_http_auth_required(server->auth) ? " (authentication required)" : "");
	return 0;
}

int cr_http_server_reload(struct cr_http_server *server)
{
	int ret = cr_http_auth_reload(server->auth);

	if (server->tls) {
		int tls_ret = cr_http_tls_reload(server->tls);

		if (ret == 0)
			ret = tls_ret;
	}
	if (ret == 0)
		cr_info("http: credentials%s reloaded", server->tls ? " and certificate" : "");
	else
		cr_warn("http: reload failed; still using what was loaded before");
	return ret;
}

void cr_http_server_stats(struct cr_http_server *server, struct cr_http_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	for (unsigned i = 0; i < CR_HTTP_POOLS; i++)
		stats->connections += atomic_load(&server->pools[i].connections);
	stats->live_views = atomic_load(&server->live_views);
	for (unsigned i = 0; i < CR_HTTP_CODES; i++)
		stats->replies[i] = atomic_load_explicit(&server->replies[i], memory_order_relaxed);
	cr_http_acceptor_stats(server->acceptor, stats);
	cr_http_writer_stats(server->writer, stats);
	stats->password_checks = cr_http_auth_password_checks(server->auth);
}

void cr_http_server_stop(struct cr_http_server *server)
{
	atomic_store(&server->stopping, true);
	cr_http_acceptor_stop(server->acceptor); /* no more hand-overs */
	for (unsigned i = 0; i < server->ctx->ncameras; i++)
		cr_jpeg_stage_shutdown(server->ctx->cameras[i].jpeg);
	/* Before the stream daemon: it must have no suspended connection. */
	cr_http_writer_stop(server->writer);
	for (unsigned i = 0; i < CR_HTTP_POOLS; i++) {
		if (server->pools[i].stream_daemon)
			MHD_stop_daemon(server->pools[i].stream_daemon);
		if (server->pools[i].daemon)
			MHD_stop_daemon(server->pools[i].daemon); /* joins its connections' threads */
		server->pools[i].daemon = server->pools[i].stream_daemon = NULL;
	}
}

void cr_http_server_free(struct cr_http_server **pserver)
{
	struct cr_http_server *server = *pserver;

	if (!server)
		return;
	*pserver = NULL;
	cr_http_server_stop(server);
	cr_http_acceptor_free(&server->acceptor);
	cr_http_writer_free(&server->writer);
	cr_http_auth_free(&server->auth);
	cr_http_tls_free(&server->tls);
	cr_http_origin_free(&server->origin);
	for (unsigned i = 0; i < server->ctx->ncameras; i++) {
		cr_jpeg_unref(&server->placeholders[i].jpeg);
		pthread_mutex_destroy(&server->placeholders[i].lock);
	}
	free(server->placeholders);
	free(server);
}
