/* Live-view endpoints: /stream.mjpg (also /stream), /snapshot.jpg (also
 * /current.jpg) and /frame.
 *
 * Design: a stream is one struct cr_http_stream, advanced without blocking
 * by cr_http_stream_next(): between images it holds its variant of the
 * JPEG stage and polls it for an image newer than the last one it sent
 * (counting as waiting on it, so the stage encodes the next frame for it),
 * and when one is there it sends that one whole, as its boundary and part
 * headers (part_head(), the one place they are written), the stage's image
 * itself and a CRLF: a client that reads slowly simply skips images
 * (latest wins) and never queues anything. Each part carries the frame's
 * index, driver sequence and capture time in headers. Two drivers send it:
 * - over plain HTTP, the writer thread (writer.c): the request arrives on
 *   the live pool's stream daemon, is checked like every other, and the
 *   handler writes the response head into the stream and hands it and the
 *   suspended connection over; the writer sends each part with one
 *   sendmsg() from the shared image, for every client from one thread;
 * - over HTTPS (the writer cannot encrypt), a libmicrohttpd callback
 *   response, stream_read(), in the connection's own thread, which blocks
 *   on the stage or sleeps until the stream has something and copies it.
 * The stream's body ends with the connection: the writer never chunks it,
 * libmicrohttpd does for an HTTP/1.1 client.
 *
 * Query parameters (all optional): width & height (pixels, together),
 * quality (1..100), gray (0/1), fit (stretch, crop or pad: how a size of
 * another shape is met), overlay (0/1: the analysis boxes drawn in; absent:
 * the camera's analysis.overlay), camera (name); the stream also fps (1..1000: at
 * most that many images a second, judged by capture time). A stream with
 * fps holds its variant only while it waits for an image it will send, so
 * a slow client alone does not make the stage encode every frame.
 *
 * When the picture stops (app/status.h, cr_status_camera_health()): a
 * stream that has waited half a second for an image looks at its camera's
 * health, and one whose camera is down or has sent no frame for a second gets a
 * placeholder image once a second that says what happened and since when
 * (its part carries X-Placeholder with that text and X-Timestamp, when it
 * was made, instead of the frame headers),
 * until frames return; so a stream always makes progress and a client
 * that has gone is noticed. A snapshot answers 503 at once while the
 * camera is down or has sent no frame for health.max_age, and gives up
 * waiting as soon as it goes down. */
#include "http/internal.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOUNDARY "camrigframe"
#define WAIT_SLICE_NS (500 * CR_NS_PER_MS)   /* a stream checks the camera's health this often */
#define SNAPSHOT_TIMEOUT_NS (10 * CR_NS_PER_SEC)
#define SNAPSHOT_SLICE_NS (100 * CR_NS_PER_MS) /* a snapshot checks the camera's health this often */
#define STALE_NS (1 * CR_NS_PER_SEC)        /* no frame for this long (or 2.5 frame periods): placeholder */
#define PLACEHOLDER_GAP_NS (1 * CR_NS_PER_SEC) /* placeholders a stream sends: one a second */
#define STREAM_BLOCK_SIZE (64 * 1024)
#define FPS_EARLY_NS (20 * CR_NS_PER_MS) /* a rate-limited stream asks for images this long before they are due */

static const char *const image_params[] = { "width", "height", "quality", "gray", "fit", "overlay", "camera", NULL };
static const char *const stream_params[] = { "width", "height", "quality", "gray", "fit", "overlay", "camera", "fps",
					     NULL };
static const char *const fits[] = { [CR_JPEG_FIT_STRETCH] = "stretch", [CR_JPEG_FIT_CROP] = "crop",
				    [CR_JPEG_FIT_PAD] = "pad" };

/* Reads the image parameters of req into *p, and for a stream (fps not
 * NULL) the rate limit into *fps (0: none). Returns NULL, or the reason. */
static const char *parse_params(struct cr_http_request *req, struct cr_jpeg_params *p, int *fps)
{
	const char *unknown = cr_http_unknown_param(req, fps ? stream_params : image_params), *fit;
	int width = 0, height = 0, gray = 0, overlay = -1, w, h;

	if (unknown)
		return fps ? "unknown parameter (expected width, height, quality, gray, fit, overlay, fps, camera)"
			   : "unknown parameter (expected width, height, quality, gray, fit, overlay, camera)";
	memset(p, 0, sizeof(*p));
	if (cr_http_query(req, "fit", &fit) < 0)
		return "fit: expected stretch, crop or pad";
	if (fit) {
		unsigned i = 0;

		while (i < CR_ARRAY_SIZE(fits) && strcmp(fit, fits[i]) != 0)
			i++;
		if (i == CR_ARRAY_SIZE(fits))
			return "fit: expected stretch, crop or pad";
		p->fit = (enum cr_jpeg_fit)i;
	}
	if (fps && cr_http_int_param(req, "fps", 1, 1000, fps) < 0)
		return "fps: expected an integer from 1 to 1000";
	w = cr_http_int_param(req, "width", 16, 8192, &width);
	h = cr_http_int_param(req, "height", 16, 8192, &height);
	if (w < 0)
		return "width: expected an integer from 16 to 8192";
	if (h < 0)
		return "height: expected an integer from 16 to 8192";
	if ((w > 0) != (h > 0))
		return "width and height go together";
	if (cr_http_int_param(req, "quality", 1, 100, &p->quality) < 0)
		return "quality: expected an integer from 1 to 100";
	if (cr_http_int_param(req, "gray", 0, 1, &gray) < 0)
		return "gray: expected 0 or 1";
	if (cr_http_int_param(req, "overlay", 0, 1, &overlay) < 0)
		return "overlay: expected 0 or 1";
	p->width = width;
	p->height = height;
	p->gray = gray;
	p->overlay = overlay < 0 ? 0 : overlay ? 1 : -1;
	return NULL;
}

/* The camera and image parameters an image request names (fps: a stream's
 * rate limit, NULL for one image), or NULL after queuing the 404 or 400
 * into *result. */
static struct cr_http_camera *image_request(struct cr_http_request *req, struct cr_jpeg_params *p, int *fps,
					    enum MHD_Result *result)
{
	struct cr_http_camera *hc = cr_http_pick_camera(req, result);
	const char *problem;

	if (!hc)
		return NULL;
	problem = parse_params(req, p, fps);
	if (problem) {
		*result = cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: %s", req->path, problem);
		return NULL;
	}
	*p = cr_jpeg_stage_params(hc->jpeg, p);
	return hc;
}

static void add_frame_headers(struct MHD_Response *resp, const struct cr_jpeg *jpeg)
{
	char v[64];

	snprintf(v, sizeof(v), "%" PRIu64, jpeg->index);
	MHD_add_response_header(resp, "X-Frame-Index", v);
	snprintf(v, sizeof(v), "%" PRIu32, jpeg->sequence);
	MHD_add_response_header(resp, "X-Frame-Sequence", v);
	snprintf(v, sizeof(v), "%" PRId64 ".%06" PRId64, jpeg->utc_us / CR_US_PER_SEC, jpeg->utc_us % CR_US_PER_SEC);
	MHD_add_response_header(resp, "X-Timestamp", v);
	snprintf(v, sizeof(v), "%" PRId64, jpeg->mono_ns);
	MHD_add_response_header(resp, "X-Capture-Monotonic-Ns", v);
}

/* The health of hc's camera, judged against max_age_s. */
static void camera_health(const struct cr_http_context *ctx, const struct cr_http_camera *hc, double max_age_s,
			  struct cr_status_health *h)
{
	cr_status_camera_health(ctx->status, (unsigned)(hc - ctx->cameras), max_age_s, h);
}

/* The 503 of a snapshot whose camera is down or silent. */
static enum MHD_Result snapshot_unavailable(struct cr_http_request *req, const struct cr_http_camera *hc,
					    const struct cr_status_health *h)
{
	return cr_http_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "camera \"%s\": %s%s%s%s", hc->name, h->what,
			     h->error[0] ? " (" : "", h->error, h->error[0] ? ")" : "");
}

enum MHD_Result cr_http_snapshot(struct cr_http_request *req)
{
	enum MHD_Result result = MHD_NO;
	struct cr_jpeg_params p;
	struct cr_http_camera *hc = image_request(req, &p, NULL, &result);
	double max_age = req->ctx->status->config->health.max_age;
	struct cr_jpeg_variant *variant;
	struct cr_status_health h;
	struct cr_jpeg *jpeg = NULL;
	struct MHD_Response *resp;
	uint64_t min_index;
	int64_t deadline;
	int ret = -ETIMEDOUT;

	if (!hc)
		return result;
	camera_health(req->ctx, hc, max_age, &h);
	if (!h.healthy)
		return snapshot_unavailable(req, hc, &h);
	/* A frame captured after the request arrived: every frame published so
	 * far is too old. */
	min_index = cr_jpeg_stage_next_index(hc->jpeg);
	variant = cr_jpeg_stage_acquire(hc->jpeg, &p);
	if (!variant)
		return cr_http_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "too many different image sizes in use");
	deadline = cr_time_mono_ns() + SNAPSHOT_TIMEOUT_NS;
	while (ret == -ETIMEDOUT && cr_time_mono_ns() < deadline && !atomic_load(&req->server->stopping)) {
		ret = cr_jpeg_variant_wait(hc->jpeg, variant, min_index, SNAPSHOT_SLICE_NS, &jpeg);
		if (ret == -ETIMEDOUT) {
			camera_health(req->ctx, hc, max_age, &h);
			if (!h.healthy) {
				cr_jpeg_stage_release(hc->jpeg, &variant);
				return snapshot_unavailable(req, hc, &h);
			}
		}
	}
	cr_jpeg_stage_release(hc->jpeg, &variant);
	if (ret < 0)
		return cr_http_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "no frame from the camera within %d s (%s)",
				     (int)(SNAPSHOT_TIMEOUT_NS / CR_NS_PER_SEC), cr_strerror(ret));
	resp = MHD_create_response_from_buffer(jpeg->size, (void *)jpeg->data, MHD_RESPMEM_MUST_COPY);
	if (resp) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "image/jpeg");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		add_frame_headers(resp, jpeg);
		result = cr_http_queue(req, MHD_HTTP_OK, resp);
	}
	cr_jpeg_unref(&jpeg);
	return result;
}

/* One open stream: what it sends now and how far it got, and what it waits
 * for between images. Served either by the writer thread (writer.c) or
 * by its connection's thread (stream_read()), never by both. */
struct cr_http_stream {
	struct cr_http_server *server;
	struct cr_http_camera *hc;
	struct MHD_Connection *conn; /* the writer's: resumed when the stream ends; NULL: a callback response */
	struct cr_jpeg_variant *variant; /* held while images are wanted; with fps only while one is due */
	bool waiting;                /* counted as waiting on variant (cr_jpeg_variant_poll) */
	bool head_only;              /* HEAD: the response head, then the end */
	struct cr_jpeg_params params;
	int64_t gap_ns;              /* ?fps: capture time between images sent, at least; 0: every image */
	int64_t due_ns;              /* ?fps: the next image's capture time, at least (CLOCK_MONOTONIC) */
	int64_t check_ns;            /* waiting: when to judge the camera's health next (CLOCK_MONOTONIC); 0: not yet set */
	struct cr_jpeg *jpeg;        /* image being sent, NULL between images */
	bool placeholder;            /* jpeg is a placeholder, not a frame's image */
	int64_t placeholder_ns;      /* when the last placeholder was made, CLOCK_MONOTONIC ns; 0: none */
	char head[1024];             /* the HTTP response head (writer, first), then each part's boundary and
					headers */
	char what[160];              /* the placeholder's text (struct cr_status_health) */
	size_t head_len;             /* bytes of head to send; 0: nothing is being sent */
	size_t sent;                 /* bytes of head + image + "\r\n" sent */
	uint64_t next_index;         /* the next image must be of a frame at least this new */
};

/* Between images: when the camera is down or has sent nothing for a second
 * (or 2.5 frame periods of a slower camera), and the last placeholder is a
 * second old, makes s->jpeg a placeholder that says so: the camera's last
 * one if it is of this size and text and under a second old, else a new
 * one (made under the camera's placeholder lock, so streams that want one
 * at once make one between them). Returns whether it did. */
static bool make_placeholder(struct cr_http_stream *s, int64_t now)
{
	const struct cr_http_context *ctx = s->server->ctx;
	unsigned camera = (unsigned)(s->hc - ctx->cameras);
	struct cr_http_placeholder *cache = &s->server->placeholders[camera];
	struct cr_status_health h;
	double stale_s = (double)STALE_NS / CR_NS_PER_SEC;
	char upper[sizeof(h.what)], text[sizeof(cache->text)];
	const char *lines[3];
	int width, height, ret = 0;

	if (s->placeholder_ns && now - s->placeholder_ns < PLACEHOLDER_GAP_NS)
		return false;
	cr_status_camera_health(ctx->status, camera, stale_s, &h);
	if (h.healthy)
		return false;
	snprintf(s->what, sizeof(s->what), "%s", h.what);
	snprintf(text, sizeof(text), "%s\n%s", h.what, h.error);
	width = s->params.width ? s->params.width : h.width ? h.width : 640;
	height = s->params.height ? s->params.height : h.height ? h.height : 480;
	pthread_mutex_lock(&cache->lock);
	if (!cache->jpeg || cache->width != width || cache->height != height || strcmp(cache->text, text) != 0 ||
	    now - cache->made_ns >= PLACEHOLDER_GAP_NS) {
		for (size_t i = 0; i <= strlen(h.what); i++)
			upper[i] = (char)toupper((unsigned char)h.what[i]);
		lines[0] = upper;
		lines[1] = s->hc->name;
		lines[2] = h.error;
		cr_jpeg_unref(&cache->jpeg);
		ret = cr_jpeg_placeholder(width, height, lines, h.error[0] ? 3 : 2, &cache->jpeg);
		cache->width = width;
		cache->height = height;
		snprintf(cache->text, sizeof(cache->text), "%s", text);
		cache->made_ns = now;
	}
	if (ret == 0)
		s->jpeg = cr_jpeg_ref(cache->jpeg);
	pthread_mutex_unlock(&cache->lock);
	if (ret < 0)
		return false;
	s->placeholder = true;
	s->placeholder_ns = now;
	return true;
}

/* The boundary and part headers of s->jpeg into s->head: the one place a
 * part's headers are written. */
static void part_head(struct cr_http_stream *s)
{
	const struct cr_jpeg *j = s->jpeg;
	int n;

	if (s->placeholder)
		n = snprintf(s->head, sizeof(s->head), "--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
			     "X-Placeholder: %s\r\nX-Timestamp: %" PRId64 ".%06" PRId64 "\r\n\r\n", j->size, s->what,
			     j->utc_us / CR_US_PER_SEC, j->utc_us % CR_US_PER_SEC);
	else
		n = snprintf(s->head, sizeof(s->head), "--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
			     "X-Frame-Index: %" PRIu64 "\r\nX-Frame-Sequence: %" PRIu32 "\r\n"
			     "X-Timestamp: %" PRId64 ".%06" PRId64 "\r\nX-Capture-Monotonic-Ns: %" PRId64 "\r\n\r\n",
			     j->size, j->index, j->sequence, j->utc_us / CR_US_PER_SEC, j->utc_us % CR_US_PER_SEC,
			     j->mono_ns);
	s->head_len = (size_t)n; /* at most some 300 bytes: the text is bounded */
	s->sent = 0;
}

int cr_http_stream_next(struct cr_http_stream *s, int64_t now, int64_t *wake_ns)
{
	struct cr_jpeg_stage *stage = s->hc->jpeg;
	int ret;

	if (s->head_len)
		return 1;
	if (s->head_only || atomic_load(&s->server->stopping))
		return -EPIPE;
	if (!s->variant) {
		/* Rate-limited, between images: the variant again shortly before
		 * the next image is due. */
		if (now < s->due_ns - FPS_EARLY_NS) {
			*wake_ns = s->due_ns - FPS_EARLY_NS;
			return 0;
		}
		s->variant = cr_jpeg_stage_acquire(stage, &s->params);
		if (!s->variant)
			return -EBUSY;
		/* An image of a frame published from now on: not the one held from before. */
		if (s->next_index < cr_jpeg_stage_next_index(stage))
			s->next_index = cr_jpeg_stage_next_index(stage);
	}
	while ((ret = cr_jpeg_variant_poll(stage, s->variant, s->next_index, &s->waiting, &s->jpeg)) == 0) {
		s->next_index = s->jpeg->index + 1;
		if (s->jpeg->mono_ns >= s->due_ns) {
			part_head(s);
			return 1;
		}
		cr_jpeg_unref(&s->jpeg); /* captured too soon after the last one sent */
	}
	if (ret != -EAGAIN)
		return ret;
	if (!s->check_ns)
		s->check_ns = now + WAIT_SLICE_NS;
	if (now >= s->check_ns) {
		s->check_ns = now + WAIT_SLICE_NS;
		if (make_placeholder(s, now)) {
			cr_jpeg_variant_unwait(stage, s->variant, &s->waiting);
			part_head(s);
			return 1;
		}
	}
	*wake_ns = s->check_ns;
	return 0;
}

unsigned cr_http_stream_iov(const struct cr_http_stream *s, struct iovec iov[3])
{
	const struct iovec all[3] = {
		{ (void *)s->head, s->head_len },
		{ s->jpeg ? (void *)s->jpeg->data : NULL, s->jpeg ? s->jpeg->size : 0 },
		{ (void *)"\r\n", s->jpeg ? 2 : 0 },
	};
	size_t skip = s->sent;
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++) {
		if (skip >= all[i].iov_len) {
			skip -= all[i].iov_len;
			continue;
		}
		iov[n].iov_base = (uint8_t *)all[i].iov_base + skip;
		iov[n++].iov_len = all[i].iov_len - skip;
		skip = 0;
	}
	return n;
}

struct cr_jpeg *cr_http_stream_part(const struct cr_http_stream *s, size_t *sent)
{
	*sent = s->sent;
	return s->head_len ? s->jpeg : NULL;
}

bool cr_http_stream_sent(struct cr_http_stream *s, size_t n)
{
	size_t total = s->head_len + (s->jpeg ? s->jpeg->size + 2 : 0);

	s->sent += n;
	if (s->sent < total)
		return false;
	if (s->gap_ns && s->jpeg && !s->placeholder) {
		s->due_ns = s->jpeg->mono_ns + s->gap_ns;
		cr_jpeg_stage_release(s->hc->jpeg, &s->variant);
	}
	cr_jpeg_unref(&s->jpeg);
	s->placeholder = false;
	s->head_len = s->sent = 0;
	s->check_ns = 0;
	return true;
}

/* A stream's end, however it came: what it holds is released and it is no
 * longer counted. */
static void stream_free(void *cls)
{
	struct cr_http_stream *s = cls;

	cr_jpeg_unref(&s->jpeg);
	if (s->variant)
		cr_jpeg_variant_unwait(s->hc->jpeg, s->variant, &s->waiting);
	cr_jpeg_stage_release(s->hc->jpeg, &s->variant);
	atomic_fetch_sub(&s->hc->stream_clients, 1);
	cr_http_live_view_end(s->server);
	free(s);
}

void cr_http_stream_end(struct cr_http_stream **ps)
{
	struct cr_http_stream *s = *ps;
	struct MHD_Connection *conn;

	if (!s)
		return;
	*ps = NULL;
	conn = s->conn;
	stream_free(s);
	MHD_resume_connection(conn); /* libmicrohttpd calls on_request() once more, which closes it */
}

/* A stream on its connection's thread (a callback response: TLS, or HEAD
 * in the thread pool): blocks until the next part is there, then copies
 * as much of it as fits. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct cr_http_stream *s = cls;
	struct iovec iov[3];
	unsigned k;
	size_t n = 0;

	for (;;) {
		int64_t now = cr_time_mono_ns(), wake = now, wait;
		int ret = cr_http_stream_next(s, now, &wake);

		if (ret < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (ret > 0)
			break;
		wait = wake - now < WAIT_SLICE_NS ? wake - now : WAIT_SLICE_NS;
		if (wait <= 0)
			continue;
		if (s->variant) {
			struct cr_jpeg *jpeg = NULL;

			/* Wakes when an image is there; the loop takes it. */
			cr_jpeg_variant_wait(s->hc->jpeg, s->variant, s->next_index, wait, &jpeg);
			cr_jpeg_unref(&jpeg);
		} else {
			struct timespec ts = cr_time_ts(wait);

			nanosleep(&ts, NULL);
		}
	}
	k = cr_http_stream_iov(s, iov);
	for (unsigned i = 0; i < k && n < max; i++) {
		size_t chunk = iov[i].iov_len < max - n ? iov[i].iov_len : max - n;

		memcpy(buf + n, iov[i].iov_base, chunk);
		n += chunk;
	}
	cr_http_stream_sent(s, n);
	return (ssize_t)n;
}

enum MHD_Result cr_http_stream(struct cr_http_request *req)
{
	enum MHD_Result result = MHD_NO;
	struct cr_jpeg_params p;
	int fps = 0;
	struct cr_http_camera *hc = image_request(req, &p, &fps, &result);
	struct MHD_Response *resp;
	struct cr_http_stream *s;
	int len;

	if (!hc || !cr_http_live_view_begin(req, &result))
		return result;
	s = CR_NEW(s);
	s->server = req->server;
	s->hc = hc;
	s->next_index = cr_jpeg_stage_next_index(hc->jpeg); /* no stale first image */
	s->params = p;
	s->gap_ns = fps ? CR_NS_PER_SEC / fps : 0;
	s->variant = cr_jpeg_stage_acquire(hc->jpeg, &p);
	if (!s->variant) {
		free(s);
		cr_http_live_view_end(req->server);
		return cr_http_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "too many different image sizes in use");
	}
	atomic_fetch_add(&hc->stream_clients, 1);
	if (req->writer)
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, s,
							 stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "multipart/x-mixed-replace;boundary=" BOUNDARY);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store, no-cache, must-revalidate, pre-check=0, post-check=0, max-age=0");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_PRAGMA, "no-cache");
	if (!req->writer)
		return cr_http_queue(req, MHD_HTTP_OK, resp);
	/* The writer sends the head itself: the body is delimited by the
	 * connection's close (RFC 9112 section 6.3), never chunked. */
	len = cr_http_response_head(req, MHD_HTTP_OK, resp, s->head, sizeof(s->head));
	if (len < 0) {
		stream_free(s);
		return MHD_NO;
	}
	s->head_len = (size_t)len;
	s->head_only = strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0;
	s->conn = req->conn;
	cr_http_writer_take(req->server->writer, req, s);
	return MHD_YES;
}
