/* HTTP server: listening socket, libmicrohttpd daemon, routing and the helpers
 * every endpoint uses.
 *
 * Design: we create and bind the listening socket ourselves so a taken port
 * fails with the real errno, then hand it to libmicrohttpd, which runs one
 * thread per connection. Routing is a fixed table from path to handler; an
 * unknown path is a 404, a method other than GET/HEAD a 405, each with a
 * one-line text reason. Headers and bodies are bounded by libmicrohttpd's
 * connection memory limit (MHD_OPTION_CONNECTION_MEMORY_LIMIT). */
#include "http/internal.h"

#include "http/auth.h"
#include "http/origin.h"
#include "http/tls.h"

#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECTION_MEMORY_LIMIT (32 * 1024)
#define THREAD_STACK_SIZE (256 * 1024)
#define IDLE_TIMEOUT_S 60

static const struct {
	const char *method;      /* "GET" also answers HEAD */
	const char *path;
	cr_http_handler handler;
} routes[] = {
	{ "GET", "/", cr_http_page },
	{ "GET", "/index.html", cr_http_page },
	{ "GET", "/stream.mjpg", cr_http_stream },
	{ "GET", "/stream", cr_http_stream },
	{ "GET", "/snapshot.jpg", cr_http_snapshot },
	{ "GET", "/current.jpg", cr_http_snapshot },
	{ "GET", "/frame", cr_http_snapshot },
	{ "GET", "/status", cr_http_status },
	{ "GET", "/info", cr_http_status },
	{ "POST", "/api/command", cr_http_command },
	{ "GET", "/api/events", cr_http_events },
	{ "POST", "/api/record/start", cr_http_record_start },
	{ "POST", "/api/record/stop", cr_http_record_stop },
	{ "GET", "/api/record", cr_http_record },
	{ "POST", "/api/timelapse/start", cr_http_timelapse_action },
	{ "POST", "/api/timelapse/pause", cr_http_timelapse_action },
	{ "POST", "/api/timelapse/resume", cr_http_timelapse_action },
	{ "POST", "/api/timelapse/stop", cr_http_timelapse_action },
	{ "POST", "/api/timelapse/abort", cr_http_timelapse_action },
	{ "POST", "/api/timelapse/shot", cr_http_timelapse_action },
	{ "GET", "/api/timelapse", cr_http_timelapse },
};

/* A request body being received: bounded by CR_HTTP_BODY_MAX. */
struct body {
	char data[CR_HTTP_BODY_MAX + 1];
	size_t len;
	bool too_large;
};

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

enum MHD_Result cr_http_queue(struct cr_http_request *req, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	cr_http_origin_headers(resp, req->cors_origin);
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
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

static enum MHD_Result route(struct cr_http_request *req)
{
	const char *allowed = NULL;

	for (size_t i = 0; i < CR_ARRAY_SIZE(routes); i++) {
		if (strcmp(req->path, routes[i].path) != 0)
			continue;
		if (method_matches(routes[i].method, req->method))
			return routes[i].handler(req);
		allowed = routes[i].method;
	}
	if (allowed)
		return cr_http_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "%s %s: method not allowed (expected %s)",
				     req->method, req->path, allowed);
	return cr_http_error(req, MHD_HTTP_NOT_FOUND, "%s: not found (try /, /stream.mjpg, /snapshot.jpg, "
			     "/frame, /status, /api/command)", req->path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct cr_http_server *server = cls;
	struct cr_http_request req = { .server = server, .ctx = server->ctx, .conn = conn, .path = url,
				       .method = method };
	struct body *body = *con_cls;
	enum cr_http_auth_result auth;
	unsigned refused, retry_s = 0;
	char why[512];

	/* libmicrohttpd calls once with the headers, then with pieces of the
	 * body, then once more with none: we answer on that last call. */
	if (!body) {
		*con_cls = body = CR_NEW(body);
		return MHD_YES;
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
	if (body->too_large)
		return cr_http_error(&req, MHD_HTTP_CONTENT_TOO_LARGE, "%s: request body too large (expected at most "
				     "%d bytes)", url, CR_HTTP_BODY_MAX);
	/* Where the request comes from before who sends it: a preflight has
	 * no credentials, and a foreign page's request must not even learn
	 * whether credentials are needed. */
	refused = cr_http_origin_check(server->origin, conn, method, version, server->tls != NULL, &req.cors_origin,
				       why, sizeof(why));
	if (refused)
		return cr_http_error(&req, refused, "%s", why);
	if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0)
		return preflight(&req);
	auth = cr_http_auth_check(server->auth, conn, &retry_s);
	if (auth != CR_HTTP_AUTH_OK)
		return unauthorized(&req, auth, retry_s);
	refused = cr_http_origin_check_preflighted(conn, method, why, sizeof(why));
	if (refused)
		return cr_http_error(&req, refused, "%s", why);
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
	struct cr_http_server *server = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&server->connections, 1);
	else
		atomic_fetch_sub(&server->connections, 1);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cr_debug("http: %s", msg);
}

int cr_http_server_new(const struct cr_http_context *ctx, struct cr_http_server **out)
{
	const struct cr_http_config *cfg = ctx->config;
	struct cr_http_server *server = CR_NEW(server);
	int ret;

	server->ctx = ctx;
	server->listen_fd = -1;
	server->origin = cr_http_origin_new(cfg);
	if (!cfg->tls_cert != !cfg->tls_key) {
		ret = cr_log_ret(-EINVAL, CR_LOG_ERROR, "http.tls_cert and http.tls_key go together (HTTPS needs both)");
		goto fail;
	}
	ret = cr_net_listen(cfg->listen, &server->listen_fd, &server->loopback);
	if (ret < 0) {
		cr_err("cannot listen on %s: %s", cfg->listen, cr_strerror(ret));
		goto fail;
	}
	ret = cr_http_auth_new(cfg, server->loopback, &server->auth);
	if (ret == 0 && cfg->tls_cert)
		ret = cr_http_tls_new(cfg->tls_cert, cfg->tls_key, &server->tls);
	if (ret < 0)
		goto fail;
	*out = server;
	return 0;
fail:
	cr_http_server_free(&server);
	return ret;
}

int cr_http_server_start(struct cr_http_server *server)
{
	const struct cr_http_config *cfg = server->ctx->config;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			 (server->tls ? MHD_USE_TLS : 0);
	struct MHD_OptionItem options[] = {
		{ MHD_OPTION_LISTEN_SOCKET, server->listen_fd, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, cfg->max_clients ? cfg->max_clients : 64, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, NULL },
		{ MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK_SIZE, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, server },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL },
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_error, NULL },
		{ server->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, 0,
		  server->tls ? (void *)cr_http_tls_callback() : NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	server->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, server, MHD_OPTION_ARRAY, options,
					  MHD_OPTION_END);
	if (!server->daemon)
		return cr_log_ret(-EIO, CR_LOG_ERROR, "cannot start the HTTP server on %s", cfg->listen);
	server->listen_fd = -1; /* the daemon owns it now */
	cr_info("serving %s://%s/%s", server->tls ? "https" : "http", cfg->listen,
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

unsigned cr_http_server_connections(struct cr_http_server *server)
{
	return atomic_load(&server->connections);
}

void cr_http_server_stop(struct cr_http_server *server)
{
	atomic_store(&server->stopping, true);
	for (unsigned i = 0; i < server->ctx->ncameras; i++)
		cr_jpeg_stage_shutdown(server->ctx->cameras[i].jpeg);
	if (server->daemon)
		MHD_stop_daemon(server->daemon); /* also closes the listening socket */
	server->daemon = NULL;
}

void cr_http_server_free(struct cr_http_server **pserver)
{
	struct cr_http_server *server = *pserver;

	if (!server)
		return;
	*pserver = NULL;
	cr_http_server_stop(server);
	if (server->listen_fd >= 0)
		close(server->listen_fd);
	cr_http_auth_free(&server->auth);
	cr_http_tls_free(&server->tls);
	cr_http_origin_free(&server->origin);
	free(server);
}
