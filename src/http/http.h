/* The HTTP server (libmicrohttpd): the live view, snapshots, the status and
 * the control API (see server.c for the design, one file per endpoint
 * group). What app/ needs to run it.
 *
 * HTTP knows the rest of camrig through its context only: each camera's
 * name and JPEG stage (the live images), the control thread (commands), the
 * event bus (/api/events), the status model (app/status.h), which renders
 * every state view, and the catalogue of files written (record/catalog.h).
 * It includes no part beyond those. */
#ifndef CR_HTTP_HTTP_H
#define CR_HTTP_HTTP_H

#include "base/events.h"
#include "config/config.h"
#include "control/control.h"
#include "encode/jpeg.h"

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_status_source;
struct cr_catalog;

/* The header a state-changing request may carry instead of a non-simple
 * content type; any value ("X-Camrig: 1"). Browsers cannot send it to
 * another site without a CORS preflight, which camrig refuses
 * (origin.c). Programs such as `camrig record` send it. */
#define CR_HTTP_REQUEST_HEADER "X-Camrig"

/* What the server serves of one camera. */
struct cr_http_camera {
	const char *name;              /* ?camera=NAME */
	struct cr_jpeg_stage *jpeg;    /* its live images */
	atomic_uint stream_clients;    /* /stream.mjpg responses open now */
};

/* Everything the server uses; the app owns it, and it outlives the server. */
struct cr_http_context {
	const struct cr_http_config *config;
	struct cr_http_camera *cameras;     /* ncameras, >= 1; the first is the default */
	unsigned ncameras;
	struct cr_control *control;         /* runs /api/command and the POST APIs */
	struct cr_events *events;           /* /api/events */
	const struct cr_status_source *status; /* /status, GET /api/record, GET /api/timelapse */
	const struct cr_catalog *catalog;   /* /api/recordings, /recordings/ (record/catalog.h) */
	/* POST /mcp (NULL: a 404): handles one MCP JSON-RPC message (borrowed)
	 * sent with the MCP-Protocol-Version header version (NULL: none) and
	 * returns the response (the caller frees it), or NULL for none (a
	 * notification: 202). May set *status (default 200) to 400 for a
	 * version it does not speak. Called on connection threads. */
	json_t *(*mcp)(void *ctx, json_t *message, const char *version, unsigned *status);
	void *mcp_ctx;
	const char *page_connect;           /* origins besides camrig's the page may fetch from, space-separated
					       (the Janus of each camera's WebRTC view); NULL: none */
};

struct cr_http_server;

/* Checks the TLS and credential settings, binds config->listen ("HOST:PORT"),
 * loads the credential files and certificate, and raises the soft
 * RLIMIT_NOFILE to what the connection limits may need (warning when it
 * cannot); no thread runs and nothing is served before
 * cr_http_server_start(). Returns 0, or a negative errno after logging what
 * is wrong ("cannot listen on HOST:PORT: reason"). */
int cr_http_server_new(const struct cr_http_context *ctx, struct cr_http_server **out);

/* Starts serving: the pools' libmicrohttpd threads, then the acceptor.
 * Returns 0 or a negative errno (logged). */
int cr_http_server_start(struct cr_http_server *server);

/* Stops accepting (pending connections are closed), ends live views and
 * event streams, and joins the connection threads. Idempotent. */
void cr_http_server_stop(struct cr_http_server *server);

/* Stops and frees. NULL-safe; sets *server to NULL. */
void cr_http_server_free(struct cr_http_server **server);

/* Reloads the credential files and the TLS certificate (SIGHUP). On failure
 * what was loaded before stays in force. Returns 0 or a negative errno. */
int cr_http_server_reload(struct cr_http_server *server);

/* The status codes whose replies are counted one by one
 * (cr_http_stats.replies); the last slot counts every other. */
#define CR_HTTP_CODES 20
extern const unsigned short cr_http_codes[CR_HTTP_CODES];

/* What the server counts (cr_http_server_stats). */
struct cr_http_stats {
	uint64_t replies[CR_HTTP_CODES]; /* replies sent by camrig's handlers, by status code (cr_http_codes[i];
					    0: any other), since start; the acceptor's own refusals are below */
	unsigned connections;        /* connections being served now (live views and other requests) */
	unsigned live_views;         /* live views open now (MJPEG streams and event streams) */
	unsigned pending;            /* connections still sending their request */
	uint64_t refused;            /* 503s for a limit, since start */
	uint64_t evicted;            /* pending connections closed for a newer one, since start */
	uint64_t timed_out;          /* connections closed for not sending their request within
					http.header_timeout, since start */
	uint64_t password_checks;    /* HTTP Basic passwords checked against a crypt(3) hash, since start
					(cr_http_auth_password_checks()) */
	struct {
		uint64_t parts;      /* MJPEG parts written once into memory every client's socket is handed by
					reference (sendfile), since start */
		uint64_t sends;      /* sends of a part to one client from such a copy, since start */
		uint64_t bytes;      /* bytes those copies hold now */
	} shared;                    /* the stream writer's (http/writer.c) */
};

/* Copies the counts into *stats; safe from any thread. */
void cr_http_server_stats(struct cr_http_server *server, struct cr_http_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
