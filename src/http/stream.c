/* Live-view endpoints: /stream.mjpg (also /stream), /snapshot.jpg (also
 * /current.jpg) and /frame.
 *
 * Design: a stream response is a libmicrohttpd callback response. Its reader
 * runs in the connection's own thread and blocks on the JPEG stage until an
 * image newer than the last one it sent exists, then sends that one whole:
 * a client that reads slowly simply skips images (latest wins) and never
 * queues anything. Each part carries the frame's index, driver sequence and
 * capture time in headers.
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
 * stream whose camera is down or has sent no frame for a second gets a
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

/* One open stream: the image being sent and how far. */
struct stream {
	struct cr_http_server *server;
	struct cr_http_camera *hc;
	struct cr_jpeg_variant *variant; /* held while images are wanted; with fps only while one is due */
	struct cr_jpeg_params params;
	int64_t gap_ns;              /* ?fps: capture time between images sent, at least; 0: every image */
	int64_t due_ns;              /* ?fps: the next image's capture time, at least (CLOCK_MONOTONIC) */
	struct cr_jpeg *jpeg;        /* image being sent, NULL between images */
	bool placeholder;            /* jpeg is a placeholder, not a frame's image */
	int64_t placeholder_ns;      /* when the last placeholder was made, CLOCK_MONOTONIC ns; 0: none */
	char head[512];              /* boundary and part headers */
	char what[160];              /* the placeholder's text (struct cr_status_health) */
	size_t head_len;
	size_t sent;                 /* bytes of head + image + "\r\n" sent */
	uint64_t next_index;         /* the next image must be of a frame at least this new */
};

/* Between images: when the camera is down or has sent nothing for a second
 * (or 2.5 frame periods of a slower camera), and the last placeholder is a
 * second old, makes s->jpeg a placeholder that says so. Returns whether it
 * did. */
static bool make_placeholder(struct stream *s)
{
	const struct cr_http_context *ctx = s->server->ctx;
	int64_t now = cr_time_mono_ns();
	struct cr_status_health h;
	double stale_s = (double)STALE_NS / CR_NS_PER_SEC;
	char upper[sizeof(h.what)];
	const char *lines[3];
	int width, height;

	if (s->placeholder_ns && now - s->placeholder_ns < PLACEHOLDER_GAP_NS)
		return false;
	cr_status_camera_health(ctx->status, (unsigned)(s->hc - ctx->cameras), stale_s, &h);
	if (h.healthy)
		return false;
	snprintf(s->what, sizeof(s->what), "%s", h.what);
	for (size_t i = 0; i <= strlen(h.what); i++)
		upper[i] = (char)toupper((unsigned char)h.what[i]);
	lines[0] = upper;
	lines[1] = s->hc->name;
	lines[2] = h.error;
	width = s->params.width ? s->params.width : h.width ? h.width : 640;
	height = s->params.height ? s->params.height : h.height ? h.height : 480;
	if (cr_jpeg_placeholder(width, height, lines, h.error[0] ? 3 : 2, &s->jpeg) < 0)
		return false;
	s->placeholder = true;
	s->placeholder_ns = now;
	return true;
}

/* A rate-limited stream between images: sleeps until shortly before the
 * next one is due, then takes its variant again. False when camrig stops
 * or the stage has no room for the variant. */
static bool await_due(struct stream *s)
{
	for (;;) {
		int64_t wait = s->due_ns - FPS_EARLY_NS - cr_time_mono_ns();

		if (atomic_load(&s->server->stopping))
			return false;
		if (wait <= 0)
			break;
		struct timespec ts = cr_time_ts(wait < WAIT_SLICE_NS ? wait : WAIT_SLICE_NS);
		nanosleep(&ts, NULL);
	}
	s->variant = cr_jpeg_stage_acquire(s->hc->jpeg, &s->params);
	if (!s->variant)
		return false;
	/* An image of a frame published from now on: not the one held from before. */
	if (s->next_index < cr_jpeg_stage_next_index(s->hc->jpeg))
		s->next_index = cr_jpeg_stage_next_index(s->hc->jpeg);
	return true;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t total, n = 0;

	if (!s->jpeg) {
		if (!s->variant && !await_due(s))
			return MHD_CONTENT_READER_END_OF_STREAM;
		for (;;) {
			int ret;

			if (atomic_load(&s->server->stopping))
				return MHD_CONTENT_READER_END_OF_STREAM;
			ret = cr_jpeg_variant_wait(s->hc->jpeg, s->variant, s->next_index, WAIT_SLICE_NS, &s->jpeg);
			if (ret == -EPIPE)
				return MHD_CONTENT_READER_END_OF_STREAM;
			if (ret < 0) {
				if (make_placeholder(s))
					break;
				continue;
			}
			s->next_index = s->jpeg->index + 1;
			if (s->jpeg->mono_ns >= s->due_ns)
				break;
			cr_jpeg_unref(&s->jpeg); /* captured too soon after the last one sent */
		}
		if (s->placeholder)
			s->head_len = (size_t)snprintf(s->head, sizeof(s->head),
				"--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
				"X-Placeholder: %s\r\nX-Timestamp: %" PRId64 ".%06" PRId64 "\r\n\r\n", s->jpeg->size,
				s->what, s->jpeg->utc_us / CR_US_PER_SEC, s->jpeg->utc_us % CR_US_PER_SEC);
		else
			s->head_len = (size_t)snprintf(s->head, sizeof(s->head),
				"--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
				"X-Frame-Index: %" PRIu64 "\r\nX-Frame-Sequence: %" PRIu32 "\r\n"
				"X-Timestamp: %" PRId64 ".%06" PRId64 "\r\nX-Capture-Monotonic-Ns: %" PRId64 "\r\n\r\n",
				s->jpeg->size, s->jpeg->index, s->jpeg->sequence, s->jpeg->utc_us / CR_US_PER_SEC,
				s->jpeg->utc_us % CR_US_PER_SEC, s->jpeg->mono_ns);
		s->sent = 0;
	}
	total = s->head_len + s->jpeg->size + 2;
	while (n < max && s->sent < total) {
		size_t chunk;
		const uint8_t *from;

		if (s->sent < s->head_len) {
			from = (const uint8_t *)s->head + s->sent;
			chunk = s->head_len - s->sent;
		} else if (s->sent < s->head_len + s->jpeg->size) {
			from = s->jpeg->data + (s->sent - s->head_len);
			chunk = s->head_len + s->jpeg->size - s->sent;
		} else {
			from = (const uint8_t *)"\r\n" + (s->sent - s->head_len - s->jpeg->size);
			chunk = total - s->sent;
		}
		if (chunk > max - n)
			chunk = max - n;
		memcpy(buf + n, from, chunk);
		n += chunk;
		s->sent += chunk;
	}
	if (s->sent == total) {
		if (s->gap_ns && !s->placeholder) {
			s->due_ns = s->jpeg->mono_ns + s->gap_ns;
			cr_jpeg_stage_release(s->hc->jpeg, &s->variant);
		}
		cr_jpeg_unref(&s->jpeg);
		s->placeholder = false;
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	cr_jpeg_unref(&s->jpeg);
	cr_jpeg_stage_release(s->hc->jpeg, &s->variant);
	atomic_fetch_sub(&s->hc->stream_clients, 1);
	cr_http_live_view_end(s->server);
	free(s);
}

enum MHD_Result cr_http_stream(struct cr_http_request *req)
{
	enum MHD_Result result = MHD_NO;
	struct cr_jpeg_params p;
	int fps = 0;
	struct cr_http_camera *hc = image_request(req, &p, &fps, &result);
	struct MHD_Response *resp;
	struct stream *s;

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
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, s, stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "multipart/x-mixed-replace;boundary=" BOUNDARY);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store, no-cache, must-revalidate, pre-check=0, post-check=0, max-age=0");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_PRAGMA, "no-cache");
	return cr_http_queue(req, MHD_HTTP_OK, resp);
}
