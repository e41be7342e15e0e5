/* The analysis stage (see analysis.h for the model and its events).
 *
 * Design:
 * - One thread per camera pops frames from its own fan-out queue
 *   (CR_ANALYSIS_QUEUE frames, drop-oldest: the camera thread never waits,
 *   and a drop is counted in the fan-out's consumer stats). A frame is due
 *   when its capture time reaches the next slot of analysis.fps (a quarter
 *   period early counts, against pacing jitter); the others are released at
 *   once and counted as skipped. A due frame is scaled to the analysed gray
 *   copy once — libswscale (base/image.h) for raw frames, turbojpeg's
 *   scaled decoding to gray for MJPEG — and every enabled detector runs on
 *   that copy (cv.h: OpenCV).
 * - Motion, per analysed frame: the mean brightness inside the zones is
 *   compared with the previous frame's; a change above light_switch percent
 *   is a light switch: the background is learnt anew from this frame and
 *   nothing counts. Otherwise the frame counts as motion when blobs of at
 *   least min_area cover threshold percent of the counted pixels. The first
 *   frame with motion starts an event; event_gap seconds of capture time
 *   without motion end it at its last frame with motion.
 * - Actions go through the control thread with trigger type 6 (motion),
 *   stamped with the frame's capture time (cr_control_post_at): the
 *   recording's trigger, and so its pre-trigger, is the frame where the
 *   event started. New motion within post_capture after an event keeps the
 *   same recording; when a frame past it arrives (or, with no frames, the
 *   clock passes it by a second) the stop is posted at end + post_capture.
 *   Motion never stops a recording it did not start (commands.c checks the
 *   recording's trigger). The snapshot runs synchronously (this thread
 *   waits for its reply, at most 10 s, while frames are dropped and
 *   counted), so motion_start names its file.
 * - Faces: every faces.every seconds of capture time on an analysed frame.
 * - Results (the running event's box, the last faces) live under a->lock
 *   with the stats; cr_analysis_draw() copies them there and draws outside
 *   it, in the JPEG worker's thread.
 *
 * Locking: a->lock guards a->stats and the results; everything else belongs
 * to the analysis thread. No other lock is taken while it is held. */
#include "analysis/analysis.h"

#include "base/error.h"
#include "base/heartbeat.h"
#include "base/image.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <turbojpeg.h>

#define POP_TIMEOUT_NS (250 * CR_NS_PER_MS)
/* One frame's analysis, a motion snapshot's wait (10 s) included, takes at
 * most this long (the watchdog's bound, base/heartbeat.h). */
#define ANALYSE_BOUND_NS (30 * CR_NS_PER_SEC)
#define IDLE_SLACK_NS CR_NS_PER_SEC     /* without frames, a due stop is posted this late */
#define HISTORY_S 10.0                  /* seconds of analysed frames the background remembers */
#define ZONES_MAX 32
#define ZONE_POINTS_MAX 32
#define COORD_MAX 32768
#define LINE_MAX_BYTES 256

/* ---- zones ---------------------------------------------------------------- */

struct zone {
	bool include;
	int npoints;
	int xy[2 * ZONE_POINTS_MAX];    /* camera pixels */
};

#define ZONE_EXPECTED "include or exclude, then a polygon of 3 to 32 points X,Y or a rectangle X,Y WIDTHxHEIGHT " \
		      "in the camera's pixels, e.g. \"exclude 0,0 200x120\""

/* Reads "A,B" (sep ',') or "AxB" (sep 'x') at *p into a and b. */
static bool read_pair(const char **p, char sep, int *a, int *b)
{
	char *end;
	long x, y;

	if (!isdigit((unsigned char)**p))
		return false;
	x = strtol(*p, &end, 10);
	if (*end != sep && !(sep == 'x' && *end == 'X'))
		return false;
	if (!isdigit((unsigned char)end[1]))
		return false;
	y = strtol(end + 1, &end, 10);
	if (x > COORD_MAX || y > COORD_MAX || (*end && *end != ' '))
		return false;
	*a = (int)x;
	*b = (int)y;
	*p = end;
	return true;
}

/* Parses a zone; on failure writes what is wrong into why. */
static int parse_zone(const char *text, struct zone *z, char *why, size_t len)
{
	const char *p = text;

	memset(z, 0, sizeof(*z));
	if (strncmp(p, "include ", 8) == 0) {
		z->include = true;
		p += 8;
	} else if (strncmp(p, "exclude ", 8) == 0) {
		p += 8;
	} else {
		snprintf(why, len, "\"%s\" does not start with include or exclude", text);
		return -EINVAL;
	}
	for (;;) {
		const char *start;
		int a, b;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		start = p;
		if (z->npoints == 1 && strpbrk(p, "xX") && strcspn(p, "xX") < strcspn(p, ",") &&
		    read_pair(&p, 'x', &a, &b)) {
			int x = z->xy[0], y = z->xy[1];

			while (*p == ' ')
				p++;
			if (*p || a < 1 || b < 1) {
				snprintf(why, len, "\"%s\": a rectangle is one point and a size above 0x0", text);
				return -EINVAL;
			}
			z->npoints = 4;
			int r[8] = { x, y, x + a, y, x + a, y + b, x, y + b };
			memcpy(z->xy, r, sizeof(r));
			return 0;
		}
		if (z->npoints == ZONE_POINTS_MAX) {
			snprintf(why, len, "\"%s\" has more than %d points", text, ZONE_POINTS_MAX);
			return -EINVAL;
		}
		if (!read_pair(&p, ',', &a, &b)) {
			snprintf(why, len, "\"%s\": \"%.*s\" is not a point X,Y or a size WxH", text,
				 (int)strcspn(start, " "), start);
			return -EINVAL;
		}
		z->xy[2 * z->npoints] = a;
		z->xy[2 * z->npoints + 1] = b;
		z->npoints++;
	}
	if (z->npoints < 3) {
		snprintf(why, len, "\"%s\" has %d point%s", text, z->npoints, z->npoints == 1 ? "" : "s");
		return -EINVAL;
	}
	return 0;
}

bool cr_analysis_wanted(const struct cr_analysis_config *c)
{
	return c->motion.enabled || c->faces.enabled;
}

int cr_analysis_check(const struct cr_analysis_config *c, char **key, char **why)
{
	char reason[512];
	struct zone z;
	struct stat st;

	*key = *why = NULL;
	if (c->motion.nzones > ZONES_MAX) {
		*key = cr_strdup("motion.zones");
		*why = cr_asprintf("%u zones (expected at most %d)", c->motion.nzones, ZONES_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->motion.nzones; i++) {
		if (parse_zone(c->motion.zones[i].value, &z, reason, sizeof(reason)) < 0) {
			*key = cr_asprintf("motion.zones.%s", c->motion.zones[i].name);
			*why = cr_asprintf("%s (expected %s)", reason, ZONE_EXPECTED);
			return -EINVAL;
		}
	}
	if (cr_analysis_wanted(c) && !cr_cv_available()) {
		*key = cr_strdup(c->motion.enabled ? "motion.enabled" : "faces.enabled");
		*why = cr_asprintf("%s (expected false, or a camrig with OpenCV)", cr_cv_why_not());
		return -EINVAL;
	}
	if (c->faces.enabled && (!c->faces.model || stat(c->faces.model, &st) < 0 || !S_ISREG(st.st_mode))) {
		*key = cr_strdup("faces.model");
		*why = cr_asprintf("%s: no such file (expected an OpenCV cascade XML file, e.g. from Debian's "
				   "opencv-data: /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml)",
				   c->faces.model ? c->faces.model : "(none)");
		return -EINVAL;
	}
	return 0;
}

#define FACES_FRESH_MIN_NS (5 * CR_NS_PER_SEC) /* faces drawn at least this long after their detection */

/* ---- the stage -------------------------------------------------------------- */

struct cr_analysis {
	struct cr_camera *camera;
	const struct cr_camera_config *cc;
	const struct cr_analysis_config *config;
	struct cr_control *control;
	struct cr_events *events;
	struct cr_subscriber *sub;
	pthread_t thread;
	bool started;
	atomic_bool stopping;

	/* the analysis thread's */
	struct zone zones[ZONES_MAX];
	unsigned nzones;
	struct cr_scaler *scaler;
	tjhandle tj;
	uint8_t *decoded;            /* an MJPEG frame decoded to gray */
	size_t decoded_size;
	int cam_w, cam_h;            /* the frames' size the copy is made for */
	int w, h;                    /* the analysed copy, pixels */
	uint8_t *gray;               /* w x h, packed */
	uint8_t *mask;               /* w x h, 255 where pixels count; NULL: all */
	struct cr_cv_motion *motion;
	struct cr_cv_faces *faces;
	int64_t period_ns, next_due_ns, next_faces_ns;
	bool have_mean;
	double prev_mean;
	bool in_event;
	int64_t event_start_ns, last_motion_ns;
	uint64_t last_motion_index;
	double peak;
	struct cr_rect event_box;    /* camera pixels */
	bool have_previous;
	uint64_t previous_index;     /* the analysed frame before this one */
	bool recording;              /* motion started the recording that runs */
	int64_t stop_due_ns;         /* post the stop at this capture time; 0: none due */
	double cpu_total_ms;
	unsigned nanalysed_faces;

	pthread_mutex_t lock;
	struct cr_analysis_stats stats;
	int64_t faces_mono_ns;       /* capture time of the last detection */
};

/* Camera pixels of a rectangle of the analysed copy. */
static struct cr_rect to_camera(const struct cr_analysis *a, struct cr_rect r)
{
	double sx = (double)a->cam_w / a->w, sy = (double)a->cam_h / a->h;

	return (struct cr_rect){ (int)lround(r.x * sx), (int)lround(r.y * sy), (int)lround(r.width * sx),
				 (int)lround(r.height * sy) };
}

static struct cr_rect rect_union(struct cr_rect a, struct cr_rect b)
{
	int x0, y0, x1, y1;

	if (a.width <= 0 || a.height <= 0)
		return b;
	if (b.width <= 0 || b.height <= 0)
		return a;
	x0 = a.x < b.x ? a.x : b.x;
	y0 = a.y < b.y ? a.y : b.y;
	x1 = a.x + a.width > b.x + b.width ? a.x + a.width : b.x + b.width;
	y1 = a.y + a.height > b.y + b.height ? a.y + a.height : b.y + b.height;
	return (struct cr_rect){ x0, y0, x1 - x0, y1 - y0 };
}

static json_t *rect_json(struct cr_rect r)
{
	return json_pack("{s:i, s:i, s:i, s:i}", "x", r.x, "y", r.y, "width", r.width, "height", r.height);
}

/* (Re)builds what depends on the frames' size: the copy, the mask, the
 * background. Returns 0 or a negative errno (logged). */
static int set_size(struct cr_analysis *a, int cam_w, int cam_h)
{
	int w = a->config->width < cam_w ? a->config->width : cam_w, h, ret = 0;
	bool any_include = false;

	h = (int)((int64_t)cam_h * w / cam_w) & ~1;
	w &= ~1;
	if (w < 8 || h < 8)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: analysis: %dx%d frames are too small to analyse",
				  a->cc->name, cam_w, cam_h);
	cr_cv_motion_free(&a->motion);
	free(a->gray);
	free(a->mask);
	a->mask = NULL;
	a->cam_w = cam_w;
	a->cam_h = cam_h;
	a->w = w;
	a->h = h;
	a->gray = cr_malloc((size_t)w * (size_t)h);
	a->have_mean = false;
	for (unsigned i = 0; i < a->nzones; i++)
		any_include = any_include || a->zones[i].include;
	if (a->nzones) {
		a->mask = cr_malloc((size_t)w * (size_t)h);
		memset(a->mask, any_include ? 0 : 255, (size_t)w * (size_t)h);
		/* includes first, then excludes win */
		for (int pass = 0; pass < 2 && ret == 0; pass++) {
			for (unsigned i = 0; i < a->nzones && ret == 0; i++) {
				const struct zone *z = &a->zones[i];
				int xy[2 * ZONE_POINTS_MAX];

				if (z->include != (pass == 0))
					continue;
				for (int k = 0; k < z->npoints; k++) {
					xy[2 * k] = (int)lround((double)z->xy[2 * k] * w / cam_w);
					xy[2 * k + 1] = (int)lround((double)z->xy[2 * k + 1] * h / cam_h);
				}
				ret = cr_cv_fill_polygon(a->mask, w, h, xy, z->npoints, z->include ? 255 : 0);
			}
		}
	}
	if (ret == 0 && a->config->motion.enabled) {
		double fps = a->config->fps > 0 ? a->config->fps : 25;
		int history = (int)(HISTORY_S * fps);

		ret = cr_cv_motion_new(w, h, a->mask, history < 2 ? 2 : history, &a->motion);
		if (ret == -EINVAL)
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: analysis.motion.zones leave no pixel to watch",
					  a->cc->name);
	}
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: analysis: %s", a->cc->name, cr_strerror(ret));
	pthread_mutex_lock(&a->lock);
	a->stats.width = w;
	a->stats.height = h;
	pthread_mutex_unlock(&a->lock);
	cr_info("%s: analysis: %dx%d gray at %.3g fps (%s%s%s)", a->cc->name, w, h, a->config->fps,
		a->config->motion.enabled ? "motion" : "", a->config->motion.enabled && a->config->faces.enabled ? ", " : "",
		a->config->faces.enabled ? "faces" : "");
	return 0;
}

/* The analysed gray copy of frame into a->gray. Returns 0 or a negative
 * errno. */
static int make_gray(struct cr_analysis *a, const struct cr_frame *frame)
{
	struct cr_image dst = { .fourcc = CR_FMT_GREY, .width = a->w, .height = a->h, .plane = { a->gray },
				.stride = { a->w } };
	struct cr_image src;

	if (cr_fourcc_is_compressed(frame->fourcc)) {
		int width, height, subsamp, colorspace, n;
		tjscalingfactor *factors = tjGetScalingFactors(&n), best = { 1, 1 };

		if (tjDecompressHeader3(a->tj, frame->data, frame->size, &width, &height, &subsamp, &colorspace) < 0)
			return -EIO;
		/* the smallest scale turbojpeg decodes to that is still as wide as the copy */
		for (int i = 0; i < n; i++)
			if (TJSCALED(width, factors[i]) >= a->w &&
			    factors[i].num * best.denom < best.num * factors[i].denom)
				best = factors[i];
		width = TJSCALED(width, best);
		height = TJSCALED(height, best);
		if ((size_t)width * (size_t)height > a->decoded_size) {
			free(a->decoded);
			a->decoded_size = (size_t)width * (size_t)height;
			a->decoded = cr_malloc(a->decoded_size);
		}
		if (tjDecompress2(a->tj, frame->data, frame->size, a->decoded, width, width, height, TJPF_GRAY,
				  TJFLAG_FASTDCT) < 0 && tjGetErrorCode(a->tj) == TJERR_FATAL)
			return -EIO;
		src = (struct cr_image){ .fourcc = CR_FMT_GREY, .width = width, .height = height,
					 .plane = { a->decoded }, .stride = { width } };
	} else {
		src = cr_image_of_frame(frame);
	}
	return cr_image_convert(a->scaler, &src, &dst);
}

/* Runs line on the control thread at mono_ns, without waiting. */
static void post(struct cr_analysis *a, const char *verb, int64_t mono_ns)
{
	char line[LINE_MAX_BYTES];

	if (cr_command_line(line, sizeof(line), verb, "camera", a->cc->name, NULL) == 0)
		cr_control_post_at(a->control, line, CR_TRIGGER_MOTION, mono_ns);
}

/* Takes a snapshot through the control thread, waiting for it; its path
 * goes into path ("" when it failed). */
static void snapshot(struct cr_analysis *a, char *path, size_t len)
{
	char line[LINE_MAX_BYTES];
	json_t *reply;
	const char *file;

	path[0] = '\0';
	if (cr_command_line(line, sizeof(line), "snapshot", "camera", a->cc->name, NULL) < 0)
		return;
	reply = cr_control_run(a->control, line, CR_TRIGGER_MOTION);
	file = json_string_value(json_array_get(json_object_get(reply, "files"), 0));
	if (file)
		snprintf(path, len, "%s", file);
	else
		cr_warn("%s: motion snapshot: %s", a->cc->name, json_string_value(json_object_get(reply, "error")));
	json_decref(reply);
}

static void motion_started(struct cr_analysis *a, const struct cr_frame *frame, double fraction)
{
	const struct cr_motion_config *mc = &a->config->motion;
	char path[1024] = "";

	a->in_event = true;
	a->event_start_ns = frame->mono_ns;
	a->peak = fraction;
	if (mc->record && !a->recording) {
		post(a, "start_recording", frame->mono_ns);
		a->recording = true;
	}
	a->stop_due_ns = 0; /* new motion within post_capture: the same recording goes on */
	if (mc->snapshot)
		snapshot(a, path, sizeof(path));
	cr_events_publish(a->events, "motion_start", json_pack("{s:o, s:I, s:o, s:I, s:f, s:o, s:o}", "camera",
			  cr_json_str(a->cc->name), "frame", (json_int_t)frame->index, "previous_frame",
			  a->have_previous ? json_integer((json_int_t)a->previous_index) : json_null(), "mono_ns",
			  (json_int_t)frame->mono_ns, "fraction", fraction, "box", rect_json(a->event_box), "snapshot",
			  path[0] ? cr_json_str(path) : json_null()));
	cr_info("%s: motion started at frame %llu (%.2f%% changed)", a->cc->name, (unsigned long long)frame->index,
		fraction);
}

static void motion_ended(struct cr_analysis *a)
{
	double duration = (double)(a->last_motion_ns - a->event_start_ns) / 1e9;

	a->in_event = false;
	if (a->recording)
		a->stop_due_ns = a->last_motion_ns + (int64_t)(a->config->motion.post_capture * 1e9);
	cr_events_publish(a->events, "motion_end", json_pack("{s:o, s:I, s:I, s:f, s:f, s:o}", "camera",
			  cr_json_str(a->cc->name), "frame", (json_int_t)a->last_motion_index, "mono_ns",
			  (json_int_t)a->last_motion_ns, "duration", duration, "peak_fraction", a->peak, "box",
			  rect_json(a->event_box)));
	cr_info("%s: motion ended at frame %llu (%.1f s)", a->cc->name, (unsigned long long)a->last_motion_index,
		duration);
	pthread_mutex_lock(&a->lock);
	a->stats.motion = false;
	a->stats.box = (struct cr_rect){ 0 };
	pthread_mutex_unlock(&a->lock);
	a->event_box = (struct cr_rect){ 0 };
}

/* Ends an event and posts a due stop by capture time now_ns (a frame's, or
 * the clock's when frames stopped coming). */
static void motion_timers(struct cr_analysis *a, int64_t now_ns)
{
	if (a->in_event && now_ns - a->last_motion_ns >= (int64_t)(a->config->motion.event_gap * 1e9))
		motion_ended(a);
	if (!a->in_event && a->recording && a->stop_due_ns && now_ns >= a->stop_due_ns) {
		post(a, "stop_recording", a->stop_due_ns);
		a->recording = false;
		a->stop_due_ns = 0;
	}
}

static int motion_step(struct cr_analysis *a, const struct cr_frame *frame)
{
	const struct cr_motion_config *mc = &a->config->motion;
	double mean = cr_cv_mean(a->gray, a->w, a->h, a->w, a->mask), before = a->prev_mean;
	bool relearn = false, moving;
	struct cr_cv_motion_result r;
	/* min_area is in the camera's square pixels */
	int min_area = (int)((double)mc->min_area * a->w * a->h / ((double)a->cam_w * a->cam_h));
	int ret;

	if (a->have_mean && mc->light_switch > 0)
		relearn = fabs(mean - a->prev_mean) > mc->light_switch / 100.0 * (a->prev_mean > 1 ? a->prev_mean : 1);
	a->prev_mean = mean;
	a->have_mean = true;
	ret = cr_cv_motion_apply(a->motion, a->gray, a->w, min_area, relearn, &r);
	if (ret < 0)
		return ret;
	moving = !relearn && r.blobs > 0 && r.fraction >= mc->threshold;
	if (moving) {
		a->last_motion_ns = frame->mono_ns;
		a->last_motion_index = frame->index;
		a->event_box = rect_union(a->event_box, to_camera(a, r.box));
		if (r.fraction > a->peak)
			a->peak = r.fraction;
	}
	pthread_mutex_lock(&a->lock);
	a->stats.fraction = relearn ? 0 : r.fraction;
	a->stats.light_switches += relearn;
	if (moving) {
		a->stats.motion_frames++;
		a->stats.motion = true;
		a->stats.box = a->event_box;
		a->stats.last_motion_utc_us = frame->utc_us;
		a->stats.motion_events += !a->in_event;
	}
	pthread_mutex_unlock(&a->lock);
	if (relearn)
		cr_info("%s: analysis: light switch at frame %llu (brightness %.0f -> %.0f): background relearnt",
			a->cc->name, (unsigned long long)frame->index, before, mean);
	if (moving && !a->in_event)
		motion_started(a, frame, r.fraction);
	motion_timers(a, frame->mono_ns);
	a->have_previous = true;
	a->previous_index = frame->index;
	return 0;
}

static int faces_step(struct cr_analysis *a, const struct cr_frame *frame)
{
	const struct cr_faces_config *fc = &a->config->faces;
	struct cr_rect found[CR_ANALYSIS_MAX_FACES];
	int min_size = (int)lround((double)fc->min_size * a->w / a->cam_w), n;
	int64_t t0 = cr_time_mono_ns();
	unsigned prev;
	json_t *boxes;

	n = cr_cv_faces_detect(a->faces, a->gray, a->w, a->h, a->w, min_size < 1 ? 1 : min_size, found,
			       CR_ANALYSIS_MAX_FACES);
	if (n < 0)
		return n;
	if (n > CR_ANALYSIS_MAX_FACES)
		n = CR_ANALYSIS_MAX_FACES;
	if (fc->largest_only && n > 1)
		n = 1;
	boxes = json_array();
	for (int i = 0; i < n; i++) {
		found[i] = to_camera(a, found[i]);
		json_array_append_new(boxes, rect_json(found[i]));
	}
	pthread_mutex_lock(&a->lock);
	prev = a->stats.faces;
	a->stats.faces = (unsigned)n;
	memcpy(a->stats.face_boxes, found, sizeof(found[0]) * (size_t)n);
	a->stats.detections++;
	a->stats.detect_ms = 0.9 * a->stats.detect_ms + 0.1 * (double)(cr_time_mono_ns() - t0) / 1e6;
	if (a->stats.detections == 1)
		a->stats.detect_ms = (double)(cr_time_mono_ns() - t0) / 1e6;
	a->faces_mono_ns = frame->mono_ns;
	pthread_mutex_unlock(&a->lock);
	if (n > 0 || prev > 0)
		cr_events_publish(a->events, "faces", json_pack("{s:o, s:I, s:I, s:i, s:o}", "camera",
				  cr_json_str(a->cc->name), "frame", (json_int_t)frame->index, "mono_ns",
				  (json_int_t)frame->mono_ns, "count", n, "boxes", boxes));
	else
		json_decref(boxes);
	return 0;
}

static double thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void analyse(struct cr_analysis *a, const struct cr_frame *frame)
{
	int64_t t0 = cr_time_mono_ns();
	double cpu0 = thread_cpu_ms();
	int ret = 0;

	if ((frame->width != a->cam_w || frame->height != a->cam_h) && set_size(a, frame->width, frame->height) < 0)
		ret = -EINVAL;
	if (ret == 0)
		ret = make_gray(a, frame);
	if (ret == 0 && a->motion)
		ret = motion_step(a, frame);
	if (ret == 0 && a->faces && frame->mono_ns >= a->next_faces_ns) {
		a->next_faces_ns = frame->mono_ns + (int64_t)(a->config->faces.every * 1e9) -
				   a->period_ns / 4;
		ret = faces_step(a, frame);
	}
	a->cpu_total_ms += thread_cpu_ms() - cpu0;
	pthread_mutex_lock(&a->lock);
	if (ret < 0) {
		a->stats.errors++;
	} else {
		double ms = (double)(cr_time_mono_ns() - t0) / 1e6;

		a->stats.analysed++;
		a->stats.analyse_ms = a->stats.analysed == 1 ? ms : 0.9 * a->stats.analyse_ms + 0.1 * ms;
		a->stats.cpu_ms = a->cpu_total_ms / (double)a->stats.analysed;
	}
	pthread_mutex_unlock(&a->lock);
}

static void *analysis_thread(void *arg)
{
	struct cr_analysis *a = arg;
	struct cr_heartbeat *hb;
	char name[16];

	snprintf(name, sizeof(name), "ana:%s", a->cc->name);
	pthread_setname_np(pthread_self(), name);
	hb = cr_heartbeat_register(name);
	while (!atomic_load(&a->stopping)) {
		struct cr_frame *frame;
		int ret;

		cr_heartbeat_idle(hb);
		ret = cr_subscriber_pop(a->sub, &frame, POP_TIMEOUT_NS);
		if (ret == -EPIPE)
			break;
		cr_heartbeat_busy(hb, ANALYSE_BOUND_NS);
		if (ret < 0) { /* no frames: the camera is lost or its file ended */
			if (a->motion)
				motion_timers(a, cr_time_mono_ns() - IDLE_SLACK_NS);
			continue;
		}
		if (a->next_due_ns && frame->mono_ns + a->period_ns / 4 < a->next_due_ns) {
			pthread_mutex_lock(&a->lock);
			a->stats.skipped++;
			pthread_mutex_unlock(&a->lock);
			cr_frame_unref(&frame);
			continue;
		}
		/* the next slot; one that fell behind starts again from this frame */
		a->next_due_ns = a->next_due_ns + a->period_ns > frame->mono_ns ? a->next_due_ns + a->period_ns
										: frame->mono_ns + a->period_ns;
		analyse(a, frame);
		cr_frame_unref(&frame);
	}
	cr_heartbeat_unregister(&hb);
	return NULL;
}

int cr_analysis_new(struct cr_camera *cam, const struct cr_camera_config *cc, struct cr_control *control,
		    struct cr_events *events, struct cr_analysis **out)
{
	struct cr_analysis *a = CR_NEW(a);
	char *key, *why, reason[512];
	int ret;

	*out = NULL;
	a->camera = cam;
	a->cc = cc;
	a->config = &cc->analysis;
	a->control = control;
	a->events = events;
	pthread_mutex_init(&a->lock, NULL);
	a->stats.motion_enabled = a->config->motion.enabled;
	a->stats.faces_enabled = a->config->faces.enabled;
	a->stats.fps = a->config->fps;
	a->period_ns = a->config->fps > 0 ? (int64_t)(1e9 / a->config->fps) : 0;
	ret = cr_analysis_check(a->config, &key, &why);
	if (ret < 0) {
		cr_err("%s: analysis.%s: %s", cc->name, key, why);
		free(key);
		free(why);
		cr_analysis_free(&a);
		return ret;
	}
	for (unsigned i = 0; i < a->config->motion.nzones; i++)
		parse_zone(a->config->motion.zones[i].value, &a->zones[a->nzones++], reason, sizeof(reason));
	if (a->config->faces.enabled) {
		ret = cr_cv_faces_new(a->config->faces.model, &a->faces, reason, sizeof(reason));
		if (ret < 0) {
			cr_err("%s: analysis.faces.model: %s", cc->name, reason);
			cr_analysis_free(&a);
			return ret;
		}
	}
	a->scaler = cr_scaler_new(0);
	a->tj = tjInitDecompress();
	if (!a->tj) {
		cr_analysis_free(&a);
		return cr_log_ret(-ENOMEM, CR_LOG_ERROR, "%s: analysis: cannot start turbojpeg", cc->name);
	}
	a->sub = cr_fanout_subscribe(cr_camera_fanout(cam), "analysis", CR_ANALYSIS_QUEUE, CR_QUEUE_DROP_OLDEST);
	cr_subscriber_set_active(a->sub, false);
	*out = a;
	return 0;
}

int cr_analysis_start(struct cr_analysis *a)
{
	int ret = -pthread_create(&a->thread, NULL, analysis_thread, a);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: analysis: cannot start its thread: %s", a->cc->name,
				  cr_strerror(ret));
	a->started = true;
	cr_subscriber_set_active(a->sub, true);
	return 0;
}

void cr_analysis_stop(struct cr_analysis *a)
{
	atomic_store(&a->stopping, true);
	if (a->sub)
		cr_subscriber_close(a->sub);
	if (a->started)
		pthread_join(a->thread, NULL);
	a->started = false;
	cr_fanout_unsubscribe(cr_camera_fanout(a->camera), &a->sub);
}

void cr_analysis_free(struct cr_analysis **pa)
{
	struct cr_analysis *a = *pa;

	if (!a)
		return;
	*pa = NULL;
	cr_analysis_stop(a);
	cr_cv_motion_free(&a->motion);
	cr_cv_faces_free(&a->faces);
	cr_scaler_free(&a->scaler);
	if (a->tj)
		tjDestroy(a->tj);
	free(a->decoded);
	free(a->gray);
	free(a->mask);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void cr_analysis_stats(struct cr_analysis *a, struct cr_analysis_stats *stats)
{
	pthread_mutex_lock(&a->lock);
	*stats = a->stats;
	pthread_mutex_unlock(&a->lock);
}

/* ---- the overlay -------------------------------------------------------------- */

static struct cr_rect to_view(struct cr_rect r, const struct cr_jpeg_overlay_view *v)
{
	return (struct cr_rect){ (int)lround(r.x * v->scale_x + v->offset_x), (int)lround(r.y * v->scale_y + v->offset_y),
				 (int)lround(r.width * v->scale_x), (int)lround(r.height * v->scale_y) };
}

void cr_analysis_draw(void *ctx, const struct cr_image *img, const struct cr_jpeg_overlay_view *view,
		      const struct cr_frame *frame)
{
	struct cr_analysis *a = ctx;
	struct cr_cv_box boxes[CR_ANALYSIS_MAX_FACES + 1];
	char motion_label[32], stamp[40];
	bool faces_fresh;
	int64_t age;
	int n = 0;

	pthread_mutex_lock(&a->lock);
	/* A detection newer than the frame (an encoder that lags) still counts;
	 * an older one counts for two detection periods, and at least
	 * FACES_FRESH_MIN_NS, so a loaded machine that detects late still
	 * draws the last faces found rather than none. */
	age = (int64_t)(2 * a->config->faces.every * 1e9) + 2 * (a->period_ns ? a->period_ns : CR_NS_PER_SEC / 5);
	faces_fresh = a->faces_mono_ns &&
		      frame->mono_ns - a->faces_mono_ns <= (age > FACES_FRESH_MIN_NS ? age : FACES_FRESH_MIN_NS);
	if (a->stats.motion && a->stats.box.width > 0) {
		snprintf(motion_label, sizeof(motion_label), "motion %.1f%%", a->stats.fraction);
		boxes[n++] = (struct cr_cv_box){ .rect = to_view(a->stats.box, view), .label = motion_label,
						 .y = 82, .u = 90, .v = 240 };
	}
	for (unsigned i = 0; faces_fresh && i < a->stats.faces; i++)
		boxes[n++] = (struct cr_cv_box){ .rect = to_view(a->stats.face_boxes[i], view), .label = "face",
						 .y = 145, .u = 54, .v = 34 };
	pthread_mutex_unlock(&a->lock);
	if (a->config->timestamp)
		cr_time_iso8601(frame->utc_us, stamp, sizeof(stamp));
	if (n > 0 || a->config->timestamp) {
		struct cr_cv_picture pic = { .yu12 = img->fourcc == CR_FMT_YU12, .width = img->width,
					     .height = img->height };

		for (int p = 0; p < (pic.yu12 ? 3 : 1); p++) {
			pic.plane[p] = img->plane[p];
			pic.stride[p] = img->stride[p];
		}
		if (img->fourcc == CR_FMT_GREY || pic.yu12)
			cr_cv_draw(&pic, boxes, n, a->config->timestamp ? stamp : NULL);
	}
}
