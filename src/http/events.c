/* GET /api/events: Server-Sent Events (the WHATWG HTML "server-sent events"
 * format), one message per event on the bus:
 *     id: N\nevent: TYPE\ndata: {JSON}\n\n
 * with a comment line every 15 s to keep proxies from closing an idle stream.
 * With ?stats=N it also sends, every N seconds (1..3600), a "stats" event
 * without an id: the live summary of the status model
 * (cr_status_live_json: fps, frames, drops, clients, recording and
 * timelapse progress), so a page needs no polling loop.
 * Like the MJPEG stream, the reader blocks in the connection's own thread;
 * a client that falls behind loses its oldest events, never anyone else's. */
#include "http/internal.h"

#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_DEPTH 256
#define KEEPALIVE_NS (15 * CR_NS_PER_SEC)
#define WAIT_SLICE_NS (1 * CR_NS_PER_SEC)

struct sse {
	struct cr_http_server *server;
	struct cr_event_sub *sub;
	char *pending;               /* message being sent */
	size_t len, sent;            /* bytes */
	int64_t last_send_ns;
	int64_t stats_every_ns;      /* ?stats: between stats events; 0: none */
	int64_t stats_due_ns;        /* the next one, CLOCK_MONOTONIC */
};

/* The "stats" event: a snapshot of the status model. */
static char *stats_event(struct sse *s)
{
	struct cr_status *st = cr_status_take(s->server->ctx->status);
	json_t *live = cr_status_live_json(st);
	char *data = json_dumps(live, JSON_COMPACT), *msg;

	cr_status_free(&st);
	json_decref(live);
	if (!data)
		return NULL;
	msg = cr_asprintf("event: stats\ndata: %s\n\n", data);
	free(data);
	return msg;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	size_t n;

	while (!s->pending) {
		int64_t wait = WAIT_SLICE_NS, now = cr_time_mono_ns();
		json_t *event = NULL;
		int ret;

		if (s->stats_every_ns && now >= s->stats_due_ns && !atomic_load(&s->server->stopping)) {
			s->stats_due_ns = now + s->stats_every_ns;
			s->pending = stats_event(s);
			if (s->pending) {
				s->len = strlen(s->pending);
				s->sent = 0;
				break;
			}
		}
		if (s->stats_every_ns && s->stats_due_ns - now < wait)
			wait = s->stats_due_ns - now;
		/* Events still queued at shutdown (the "stopping" one) go out first. */
		ret = cr_event_sub_pop(s->sub, &event, atomic_load(&s->server->stopping) ? 0 : wait);
		if (ret == -EPIPE || (ret < 0 && atomic_load(&s->server->stopping)))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (ret == 0) {
			char *data = json_dumps(event, JSON_COMPACT);

			/* An event that cannot be encoded is a bug; it is left out. */
			if (!data) {
				json_decref(event);
				continue;
			}
			s->pending = cr_asprintf("id: %" JSON_INTEGER_FORMAT "\nevent: %s\ndata: %s\n\n",
						 json_integer_value(json_object_get(event, "id")),
						 json_string_value(json_object_get(event, "type")), data);
			free(data);
			json_decref(event);
		} else if (cr_time_mono_ns() - s->last_send_ns >= KEEPALIVE_NS) {
			s->pending = cr_strdup(": keep-alive\n\n");
		}
		if (s->pending) {
			s->len = strlen(s->pending);
			s->sent = 0;
		}
	}
	n = s->len - s->sent < max ? s->len - s->sent : max;
	memcpy(buf, s->pending + s->sent, n);
	s->sent += n;
	if (s->sent == s->len) {
		free(s->pending);
		s->pending = NULL;
	}
	s->last_send_ns = cr_time_mono_ns();
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *s = cls;

	cr_events_unsubscribe(s->server->ctx->events, &s->sub);
	cr_http_live_view_end(s->server);
	free(s->pending);
	free(s);
}

enum MHD_Result cr_http_events(struct cr_http_request *req)
{
	enum MHD_Result result = MHD_NO;
	struct MHD_Response *resp;
	struct sse *s;

	int stats = 0;

	if (cr_http_unknown_param(req, (const char *const[]){ "stats", NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: unknown parameter (expected stats)", req->path);
	if (cr_http_int_param(req, "stats", 1, 3600, &stats) < 0)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: stats: expected seconds from 1 to 3600", req->path);
	if (!cr_http_live_view_begin(req, &result))
		return result;
	s = CR_NEW(s);
	s->server = req->server;
	s->sub = cr_events_subscribe(req->ctx->events, QUEUE_DEPTH);
	/* A first comment gets the headers out at once, so clients see the
	 * stream open before the first event. */
	s->pending = cr_strdup(": camrig events\n\n");
	s->len = strlen(s->pending);
	s->last_send_ns = cr_time_mono_ns();
	s->stats_every_ns = (int64_t)stats * CR_NS_PER_SEC;
	s->stats_due_ns = s->last_send_ns;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
	if (!resp) {
		sse_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return cr_http_queue(req, MHD_HTTP_OK, resp);
}
