/* What the endpoint files of the HTTP server share (server.c holds the
 * design): the server's state, a request as handlers see it, and the
 * helpers every endpoint uses. Nothing outside src/http/ includes this. */
#ifndef CR_HTTP_INTERNAL_H
#define CR_HTTP_INTERNAL_H

#include "app/status.h"
#include "http/http.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct cr_http_auth;
struct cr_http_tls;
struct cr_http_origin;
struct cr_http_acceptor;
struct cr_http_writer;
struct cr_http_stream;

/* The pools: one libmicrohttpd daemon each, so that live views and other
 * requests have limits of their own (server.c). With TLS the acceptor
 * cannot tell them apart and the API pool serves both. */
enum cr_http_pool_kind {
	CR_HTTP_POOL_LIVE,             /* /stream.mjpg, /stream, /api/events: long-lived */
	CR_HTTP_POOL_API,              /* everything else: short */
	CR_HTTP_POOLS
};

struct cr_http_pool {
	struct cr_http_server *server;
	enum cr_http_pool_kind kind;
	const char *what;              /* "live views", "requests": for messages */
	const char *limit_key;         /* the config key that sets limit */
	unsigned limit;                /* connections it serves at once; one more gets a 503 */
	unsigned per_ip;               /* of them from one address beyond loopback */
	bool serves_live;              /* live views may be served here */
	struct MHD_Daemon *daemon;     /* NULL until started; with TLS the live pool never is */
	struct MHD_Daemon *stream_daemon; /* the live pool without TLS: MJPEG streams, one polling thread, each
					     request checked there and its connection then suspended and
					     written by the writer (writer.c); NULL: none */
	atomic_uint connections;       /* handed to it (either daemon) and not yet closed */
};

/* A camera's last placeholder image (stream.c), shared by its streams for
 * a second: one encode a second for all of them, not one each. */
struct cr_http_placeholder {
	pthread_mutex_t lock;          /* held while one is made */
	struct cr_jpeg *jpeg;          /* NULL: none yet */
	int width, height;             /* pixels, as asked */
	char text[2 * sizeof(((struct cr_status_health *)0)->what)]; /* its lines, what and error */
	int64_t made_ns;               /* CLOCK_MONOTONIC */
};

struct cr_http_server {
	const struct cr_http_context *ctx;
	struct cr_http_pool pools[CR_HTTP_POOLS];
	struct cr_http_acceptor *acceptor; /* owns the listening socket */
	int64_t test_delay_ns; /* $CAMRIG_TEST_DELAY http:MS, before each request's headers (base/time.h) */
	struct cr_http_writer *writer; /* sends the MJPEG streams of the stream daemon */
	struct cr_http_placeholder *placeholders; /* one per camera of ctx */
	bool loopback;                 /* the listening socket is on a loopback address */
	char bound[80];                /* where it listens, "127.0.0.1:8080" ("[::1]:8080"): the port taken
					  when http.listen asked for port 0 */
	struct cr_http_auth *auth;
	struct cr_http_tls *tls;       /* NULL: plain HTTP */
	struct cr_http_origin *origin; /* Host, cross-site and CORS policy */
	atomic_uint live_views;        /* live responses open (cr_http_live_view_begin) */
	atomic_bool stopping;          /* set at shutdown: live views end */
	atomic_uint_fast64_t replies[CR_HTTP_CODES]; /* by cr_http_codes[] */
};

/* Whether path (len bytes, no query) is a live view's (the route table in
 * server.c): the acceptor sends such requests to the live pool, and those
 * of them with *stream set (the MJPEG stream) to its stream daemon. */
bool cr_http_path_is_live(const char *path, size_t len, bool *stream);

/* Idle connections: a response that makes no progress for this long is
 * closed (libmicrohttpd's connection timeout; the writer's own). */
#define CR_HTTP_IDLE_TIMEOUT_S 60

/* The Content-Security-Policy of every reply but the page's (page.c):
 * no scripts, styles only inline (a browser's own viewer of an image or a
 * video uses them), images and media from camrig itself, and no framing
 * by any page. */
#define CR_HTTP_CSP "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; " \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/* Largest request body accepted, bytes; more gets a 413. */
#define CR_HTTP_BODY_MAX 4096

/* A request as the endpoint handlers see it. */
struct cr_http_request {
	struct cr_http_server *server;
	struct cr_http_pool *pool;    /* the pool serving it */
	const struct cr_http_context *ctx;
	struct MHD_Connection *conn;
	const char *path;
	const char *method;
	const char *body;             /* NUL-terminated; "" when there is none */
	size_t body_len;              /* bytes */
	const char *cors_origin;      /* the Origin to allow in the reply (http.cors_origins); NULL: none */
	bool writer;                  /* served by the stream daemon: the handler may give the connection to the
					 writer (cr_http_writer_take) and must not block */
	bool *taken;                  /* set when it did: libmicrohttpd's next call for it closes it */
};

/* An endpoint: answers req by queuing a response on req->conn. */
typedef enum MHD_Result (*cr_http_handler)(struct cr_http_request *req);

/* Queues resp with status after adding the headers every reply carries
 * (CORS for an allowed origin), and drops the reference to resp. resp NULL
 * (out of memory in libmicrohttpd): MHD_NO, which closes the connection. */
enum MHD_Result cr_http_queue(struct cr_http_request *req, unsigned status, struct MHD_Response *resp);

/* For a handler that sends its reply itself (the writer): adds the headers
 * every reply carries to resp, as cr_http_queue() does, counts the reply
 * and writes the HTTP/1.1 status line, a Date and resp's headers, ended by
 * the blank line, into buf (len bytes); drops the reference to resp.
 * Returns the bytes written, -ENOMEM for resp NULL, or -ENOSPC. */
int cr_http_response_head(struct cr_http_request *req, unsigned status, struct MHD_Response *resp, char *buf,
			  size_t len);

/* Queues a plain-text error "reason\n" with status (4xx/5xx). */
enum MHD_Result cr_http_error(struct cr_http_request *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Queues body (copied) with the content type and status. */
enum MHD_Result cr_http_reply(struct cr_http_request *req, unsigned status, const char *content_type,
			      const void *body, size_t size);

/* Checks that every query parameter is one of allowed (NULL-terminated).
 * Returns NULL if so, else the first unknown name. */
const char *cr_http_unknown_param(struct cr_http_request *req, const char *const *allowed);

/* The query parameter name into *value. Returns 1 when it is there, 0 when
 * absent (*value NULL), -EINVAL when its decoded text holds a NUL byte. */
int cr_http_query(struct cr_http_request *req, const char *name, const char **value);

/* The query parameter name parsed as an integer in [min, max] (decimal
 * digits, a leading '-' at most). Returns 0 and
 * leaves *value as is when absent, 1 when set, -EINVAL when malformed or out
 * of range. */
int cr_http_int_param(struct cr_http_request *req, const char *name, int min, int max, int *value);

/* The camera the request names with ?camera=NAME (default: the first), or
 * NULL after queuing a 404. */
struct cr_http_camera *cr_http_pick_camera(struct cr_http_request *req, enum MHD_Result *result);

/* A live view is about to start (stream.c, events.c): returns true, or
 * false after queuing a 503 into *result when http.max_stream_clients live
 * views are open. Each true is paired with cr_http_live_view_end() when the
 * response ends. */
bool cr_http_live_view_begin(struct cr_http_request *req, enum MHD_Result *result);
void cr_http_live_view_end(struct cr_http_server *server);

/* The writer (writer.c): one thread with an epoll set that sends every
 * MJPEG stream of the stream daemon. new: 0 or a negative errno (logged);
 * start: sets the JPEG stages' notify function and starts the thread;
 * stop: ends every stream (their connections resumed for libmicrohttpd to
 * close), joins the thread and clears the notify functions; idempotent,
 * and before the stream daemon stops. */
int cr_http_writer_new(struct cr_http_server *server, struct cr_http_writer **out);
int cr_http_writer_start(struct cr_http_writer *w);
void cr_http_writer_stop(struct cr_http_writer *w);
void cr_http_writer_free(struct cr_http_writer **w);

/* Fills stats->shared; any thread; NULL-safe. */
void cr_http_writer_stats(struct cr_http_writer *w, struct cr_http_stats *stats);

/* Suspends req's connection (of the stream daemon) and hands it with s to
 * the writer thread, which from now on sends s (its response head first)
 * and ends it (cr_http_stream_end) when the client goes, the stream ends
 * or camrig stops; after stop, ends it at once. Called from the handler. */
void cr_http_writer_take(struct cr_http_writer *w, struct cr_http_request *req, struct cr_http_stream *s);

/* stream.c, what the writer drives of a stream. next: without blocking,
 * makes the next thing to send ready: 1 when there is (the response head,
 * or a part: boundary, headers, image), 0 when not yet — call again when
 * the JPEG stage notifies or by *wake_ns (CLOCK_MONOTONIC ns) at the
 * latest — or a negative errno when the stream is over (-EPIPE: camrig
 * stops, or a HEAD was answered; -EBUSY: no room for its variant). iov:
 * the unsent rest of it as up to 3 pieces (the image shared, not copied);
 * returns how many. part: the image of the part being sent (NULL: none,
 * or the response head, which is s's own) and in *sent how many bytes of
 * it (head, image, CRLF) have gone; every stream sends the same bytes for
 * one image, so the writer may send them from one shared copy. sent: n
 * more bytes went out; true when all did. end:
 * releases what s holds, stops counting it, frees it and resumes its
 * connection; NULL-safe, sets *s to NULL. */
int cr_http_stream_next(struct cr_http_stream *s, int64_t now_ns, int64_t *wake_ns);
unsigned cr_http_stream_iov(const struct cr_http_stream *s, struct iovec iov[3]);
struct cr_jpeg *cr_http_stream_part(const struct cr_http_stream *s, size_t *sent);
bool cr_http_stream_sent(struct cr_http_stream *s, size_t n);
void cr_http_stream_end(struct cr_http_stream **s);

/* Endpoint handlers (one file per group). */
enum MHD_Result cr_http_stream(struct cr_http_request *req);    /* stream.c: /stream.mjpg */
enum MHD_Result cr_http_snapshot(struct cr_http_request *req);  /* stream.c: /snapshot.jpg, /frame */
enum MHD_Result cr_http_status(struct cr_http_request *req);    /* status.c: /status */
enum MHD_Result cr_http_healthz(struct cr_http_request *req);   /* health.c: /healthz */
enum MHD_Result cr_http_metrics(struct cr_http_request *req);   /* metrics.c: /metrics */
enum MHD_Result cr_http_page(struct cr_http_request *req);      /* page.c: /, /index.html */
enum MHD_Result cr_http_command(struct cr_http_request *req);   /* command.c: POST /api/command */
enum MHD_Result cr_http_mcp(struct cr_http_request *req);       /* mcp.c: POST /mcp */
enum MHD_Result cr_http_events(struct cr_http_request *req);    /* events.c: GET /api/events */
enum MHD_Result cr_http_record_start(struct cr_http_request *req); /* record.c: POST /api/record/start */
enum MHD_Result cr_http_record_stop(struct cr_http_request *req);  /* record.c: POST /api/record/stop */
enum MHD_Result cr_http_record(struct cr_http_request *req);       /* record.c: GET /api/record */
enum MHD_Result cr_http_controls(struct cr_http_request *req);     /* controls.c: GET /api/controls */

/* files.c: GET /api/recordings, GET /recordings/PATH, DELETE /api/recordings/PATH. */
enum MHD_Result cr_http_recordings(struct cr_http_request *req);
enum MHD_Result cr_http_recording_file(struct cr_http_request *req);
enum MHD_Result cr_http_recording_delete(struct cr_http_request *req);

/* timelapse.c: POST /api/timelapse/{start,pause,resume,stop,abort,shot}
 * and GET /api/timelapse. */
enum MHD_Result cr_http_timelapse_action(struct cr_http_request *req);
enum MHD_Result cr_http_timelapse(struct cr_http_request *req);

/* Runs one command line on the control thread (trigger http) and queues its
 * JSON reply with the status code the reply asks for (command.c). */
enum MHD_Result cr_http_run_command(struct cr_http_request *req, const char *line);

/* A request argument for a command line, from the query string or else from
 * the JSON object body (may be NULL): a string's text or a number printed,
 * into buf. Returns NULL when absent. Sets *bad when present but neither a
 * string nor a number; cr_command_line() checks the text. */
const char *cr_http_arg(struct cr_http_request *req, json_t *body, const char *name, char *buf, size_t len,
			bool *bad);

/* Answers a GET of a state view (status.c): refuses query parameters, takes
 * a snapshot of the status model and queues render's JSON of it. */
enum MHD_Result cr_http_reply_status(struct cr_http_request *req, json_t *(*render)(const struct cr_status *status));

/* Queues json, pretty-printed, with status, and drops the reference to it. */
enum MHD_Result cr_http_reply_json(struct cr_http_request *req, unsigned status, json_t *json);

#endif
