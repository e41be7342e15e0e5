/* The HTTP server (libmicrohttpd): routing, errors and the shared context of
 * the endpoint files (stream.c, status.c, page.c).
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION): a live-view
 * handler may block waiting for the next image without holding up anyone
 * else, and a client that stops reading only ties up its own thread. The
 * number of connections is capped by http.max_clients. */
#ifndef CR_HTTP_INTERNAL_H
#define CR_HTTP_INTERNAL_H

#include "config/config.h"
#include "control/control.h"
#include "encode/jpeg.h"
#include "encode/video.h"
#include "publish/upload.h"
#include "record/recorder.h"
#include "record/timelapse.h"
#include "source/camera.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>

/* What the server serves for one camera. */
struct cr_http_camera {
	struct cr_camera *camera;
	struct cr_jpeg_stage *jpeg;
	struct cr_video_encoder *encoder;
	struct cr_recorder *recorder;
	struct cr_timelapse *timelapse;
	struct cr_upload *upload;     /* NULL: upload off */
	struct cr_lsl_outlet *lsl;    /* NULL: no LSL outlet */
	struct cr_tcpstream *tcp;     /* NULL: no raw H.264 stream */
	atomic_uint stream_clients;   /* /stream.mjpg responses open now */
};

struct cr_http_server;

struct cr_http_context {
	const struct cr_config *config;
	struct cr_http_camera *cameras;
	unsigned ncameras;
	struct cr_control *control;   /* runs /api/command */
	struct cr_events *events;     /* /api/events */
	struct cr_ntfy *ntfy;         /* "ntfy" in /status; NULL: off */
	int64_t start_mono_ns;        /* when camrig started, CLOCK_MONOTONIC ns */
	atomic_uint connections;      /* HTTP connections open now */
	atomic_bool stopping;         /* set at shutdown: live views end */
	struct cr_http_server *server; /* set while serving */
};

/* Binds config->http.listen ("HOST:PORT") and starts serving ctx. Returns 0,
 * or a negative errno after logging "cannot listen on HOST:PORT: reason". */
int cr_http_server_new(struct cr_http_context *ctx, struct cr_http_server **out);

/* Reloads the credential files and the TLS certificate (SIGHUP). On failure
 * what was loaded before stays in force. Returns 0 or a negative errno. */
int cr_http_server_reload(struct cr_http_server *server);

/* Stops accepting, ends live views and joins the connection threads.
 * NULL-safe; sets *server to NULL. */
void cr_http_server_free(struct cr_http_server **server);

/* Largest request body accepted, bytes; more gets a 413. */
#define CR_HTTP_BODY_MAX 4096

/* A request as the endpoint handlers see it. */
struct cr_http_request {
	struct cr_http_context *ctx;
	struct MHD_Connection *conn;
	const char *path;
	const char *method;
	const char *body;             /* NUL-terminated; "" when there is none */
	size_t body_len;              /* bytes */
	const char *cors_origin;      /* the Origin to allow in the reply (http.cors_origins); NULL: none */
};

/* An endpoint: answers req by queuing a response on req->conn. */
typedef enum MHD_Result (*cr_http_handler)(struct cr_http_request *req);

/* Queues resp with status after adding the headers every reply carries
 * (CORS for an allowed origin), and drops the reference to resp. resp NULL
 * (out of memory in libmicrohttpd): MHD_NO, which closes the connection. */
enum MHD_Result cr_http_queue(struct cr_http_request *req, unsigned status, struct MHD_Response *resp);

/* Queues a plain-text error "reason\n" with status (4xx/5xx). */
enum MHD_Result cr_http_error(struct cr_http_request *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Queues body (copied) with the content type and status. */
enum MHD_Result cr_http_reply(struct cr_http_request *req, unsigned status, const char *content_type,
			      const void *body, size_t size);

/* Checks that every query parameter is one of allowed (NULL-terminated).
 * Returns NULL if so, else the first unknown name. */
const char *cr_http_unknown_param(struct cr_http_request *req, const char *const *allowed);

/* The query parameter name parsed as an integer in [min, max]. Returns 0 and
 * leaves *value as is when absent, 1 when set, -EINVAL when malformed or out
 * of range. */
int cr_http_int_param(struct cr_http_request *req, const char *name, int min, int max, int *value);

/* The camera the request names with ?camera=NAME (default: the first), or
 * NULL after queuing a 404. */
struct cr_http_camera *cr_http_pick_camera(struct cr_http_request *req, enum MHD_Result *result);

/* Endpoint handlers (one file per group). */
enum MHD_Result cr_http_stream(struct cr_http_request *req);    /* stream.c: /stream.mjpg */
enum MHD_Result cr_http_snapshot(struct cr_http_request *req);  /* stream.c: /snapshot.jpg, /frame */
enum MHD_Result cr_http_status(struct cr_http_request *req);    /* status.c: /status */
enum MHD_Result cr_http_page(struct cr_http_request *req);      /* page.c: /, /index.html */
enum MHD_Result cr_http_command(struct cr_http_request *req);   /* command.c: POST /api/command */
enum MHD_Result cr_http_events(struct cr_http_request *req);    /* events.c: GET /api/events */
enum MHD_Result cr_http_record_start(struct cr_http_request *req); /* record.c: POST /api/record/start */
enum MHD_Result cr_http_record_stop(struct cr_http_request *req);  /* record.c: POST /api/record/stop */
enum MHD_Result cr_http_record(struct cr_http_request *req);       /* record.c: GET /api/record */

/* A camera's recording state (record.c): the "recording" object of
 * /status and the entries of GET /api/record. */
json_t *cr_http_recording_json(struct cr_http_camera *hc);

/* timelapse.c: POST /api/timelapse/{start,pause,resume,stop,abort,shot}
 * and GET /api/timelapse. */
enum MHD_Result cr_http_timelapse_action(struct cr_http_request *req);
enum MHD_Result cr_http_timelapse(struct cr_http_request *req);

/* A camera's timelapse state (timelapse.c): the "timelapse" object of
 * /status, of the timelapse command's reply and of GET /api/timelapse. */
json_t *cr_http_timelapse_json(struct cr_http_camera *hc);

/* Runs one command line on the control thread (trigger http) and queues its
 * JSON reply with the status code the reply asks for (command.c). */
enum MHD_Result cr_http_run_command(struct cr_http_request *req, const char *line);

/* A request argument for a command line, from the query string or else from
 * the JSON object body (may be NULL): a string's text or a number printed,
 * into buf. Returns NULL when absent. Sets *bad when present but empty, not a
 * string or number, or not one word (a space or '=' would change the command
 * line). */
const char *cr_http_arg(struct cr_http_request *req, json_t *body, const char *name, char *buf, size_t len,
			bool *bad);

/* Queues json, pretty-printed, with status, and drops the reference to it. */
enum MHD_Result cr_http_reply_json(struct cr_http_request *req, unsigned status, json_t *json);

/* The whole status as JSON (status.c): what /status serves, and what the
 * "status" command answers. */
json_t *cr_http_status_json(struct cr_http_context *ctx);

#endif
