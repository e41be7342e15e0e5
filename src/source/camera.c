/* The camera thread: source -> pooled frame -> fan-out.
 *
 * Design: one thread per camera runs read() in a loop. The source copies the
 * driver's buffer into a frame from the pool and returns the buffer at once,
 * so the driver never runs dry because of us; the frame is then published to
 * every subscriber's bounded queue (never blocking) and released. Stopping
 * writes to an eventfd that every source includes in its wait. Statistics are
 * kept under a mutex and copied out by cr_camera_stats().
 *
 * Watchdog (base/heartbeat.h): a read is busy for at most READ_BOUND_NS
 * (every source's read gives up on its own well before: a V4L2 stall after
 * 5 s or 10 frame periods, a network stream after 6 s, a reopen of a URL
 * clip after 20 s), handing a frame on for at most WORK_BOUND_NS (the
 * thread never waits there), an open after a loss for OPEN_BOUND_NS; the
 * waits between reopen attempts are not work, however long the device is
 * away. The test-only hook $CAMRIG_TEST_WEDGE=capture:N (N frames) makes
 * the thread stop in the middle of handing a frame on, as a wedged thread
 * would, until the camera is stopped. */
#include "source/camera.h"

#include "base/error.h"
#include "base/heartbeat.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define REOPEN_FIRST_NS (1 * CR_NS_PER_SEC)  /* first retry after a loss */
#define REOPEN_MAX_NS (30 * CR_NS_PER_SEC)   /* retries back off up to this */
#define URL_FIRST_NS (250 * CR_NS_PER_MS)    /* a network stream: first retry */
#define URL_MAX_NS (2 * CR_NS_PER_SEC)       /* ... and at most this long between retries */
#define DEVICE_MAX_NS (5 * CR_NS_PER_SEC)    /* a watched device node: retries besides the events */
#define READ_BOUND_NS (30 * CR_NS_PER_SEC)   /* a read takes at most this long, or 12 frame periods */
#define WORK_BOUND_NS (5 * CR_NS_PER_SEC)    /* handing a frame on takes at most this long */
#define OPEN_BOUND_NS (60 * CR_NS_PER_SEC)   /* reopening after a loss takes at most this long */

struct cr_camera {
	const struct cr_camera_config *config;
	int id;
	struct cr_events *events;    /* may be NULL */
	int wake_fd;                 /* eventfd: stop request */
	struct cr_source *source;
	struct cr_frame_pool *pool;  /* replaced only by the camera thread, under lock */
	unsigned pool_frames;        /* frames in the pool */
	size_t pool_frame_bytes;     /* capacity of each pooled frame */
	struct cr_fanout *fanout;
	pthread_t thread;
	bool started;
	struct cr_heartbeat *heartbeat; /* the camera thread's */
	uint64_t wedge_after;        /* test hook: wedge after this many frames; 0: never */
	atomic_uint_fast64_t published;

	pthread_mutex_t lock;        /* guards stats */
	struct cr_camera_stats stats;
	int64_t window_start_ns;     /* fps measurement window */
	uint64_t window_frames;
	bool have_sequence;
	uint32_t last_sequence;
	struct cr_camera_control controls[CR_CAMERA_MAX_CONTROLS]; /* set so far, under lock */
	unsigned ncontrols;
};

/* Remembers name = value as set. Under cam->lock. */
static void note_control(struct cr_camera *cam, const char *name, const char *value)
{
	unsigned i;

	for (i = 0; i < cam->ncontrols && strcmp(cam->controls[i].name, name) != 0; i++)
		;
	if (i == CR_CAMERA_MAX_CONTROLS)
		return;
	if (i == cam->ncontrols)
		cam->ncontrols++;
	snprintf(cam->controls[i].name, sizeof(cam->controls[i].name), "%s", name);
	snprintf(cam->controls[i].value, sizeof(cam->controls[i].value), "%s", value);
}

const char *cr_camera_state_name(enum cr_camera_state state)
{
	static const char *const names[] = {
		[CR_CAMERA_STOPPED] = "stopped", [CR_CAMERA_RUNNING] = "running", [CR_CAMERA_LOST] = "lost",
		[CR_CAMERA_ENDED] = "ended",     [CR_CAMERA_FAILED] = "failed",
	};

	return names[state];
}

int cr_camera_new(const struct cr_camera_config *config, int id, unsigned pool_frames, struct cr_events *events,
		  struct cr_camera **out)
{
	struct cr_camera *cam = CR_NEW(cam);
	int ret;

	cam->config = config;
	cam->id = id;
	cam->pool_frames = pool_frames;
	cam->events = events;
	pthread_mutex_init(&cam->lock, NULL);
	cam->fanout = cr_fanout_new();
	cam->stats.fps_requested = config->fps;
	cam->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cam->wake_fd < 0) {
		ret = -errno;
		cr_camera_free(&cam);
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: eventfd: %s", config->name, cr_strerror(ret));
	}
	ret = cr_source_new(config, cam->wake_fd, &cam->source);
	if (ret < 0) {
		cr_camera_free(&cam);
		return ret;
	}
	*out = cam;
	return 0;
}

static void set_state(struct cr_camera *cam, enum cr_camera_state state, int err)
{
	static const char *const event_types[] = {
		[CR_CAMERA_RUNNING] = "camera_found", [CR_CAMERA_LOST] = "camera_lost",
		[CR_CAMERA_ENDED] = "camera_ended", [CR_CAMERA_FAILED] = "error",
	};

	pthread_mutex_lock(&cam->lock);
	cam->stats.state = state;
	cam->stats.state_mono_ns = cr_time_mono_ns();
	if (err < 0)
		snprintf(cam->stats.error, sizeof(cam->stats.error), "%s", cr_strerror(err));
	else
		cam->stats.error[0] = '\0';
	pthread_mutex_unlock(&cam->lock);
	if (cam->events && event_types[state])
		cr_events_publish(cam->events, event_types[state],
				  json_pack("{s:o, s:o, s:s}", "camera", cr_json_str(cam->config->name), "device",
					    cr_json_str(cam->source->format.device), "error", err < 0 ? cr_strerror(err) : ""));
}

static void account(struct cr_camera *cam, const struct cr_frame *f, bool dropped)
{
	int64_t now = f ? f->mono_ns : cr_time_mono_ns();
	struct cr_source_stream_stats stream = { .driver_min_queued = -1 };

	if (cam->source->ops->stream_stats)
		cam->source->ops->stream_stats(cam->source, &stream);
	pthread_mutex_lock(&cam->lock);
	if (cam->source->ops->stream_stats) {
		cam->stats.has_stream = true;
		cam->stats.stream = stream;
	}
	if (dropped)
		cam->stats.frames_pool_dropped++;
	if (f) {
		if (cam->have_sequence && f->sequence != cam->last_sequence + 1 && f->sequence > cam->last_sequence)
			cam->stats.frames_lost_upstream += f->sequence - cam->last_sequence - 1;
		cam->have_sequence = true;
		cam->last_sequence = f->sequence;
		cam->stats.frames_captured++;
		cam->stats.last_mono_ns = f->mono_ns;
		cam->stats.last_age_ns = cr_time_mono_ns() - f->mono_ns;
	}
	cam->window_frames++;
	if (cam->window_start_ns == 0) {
		cam->window_start_ns = now;
		cam->window_frames = 0;
	} else if (now - cam->window_start_ns >= CR_NS_PER_SEC) {
		cam->stats.fps_measured = (double)cam->window_frames * CR_NS_PER_SEC / (double)(now - cam->window_start_ns);
		cam->window_start_ns = now;
		cam->window_frames = 0;
	}
	pthread_mutex_unlock(&cam->lock);
}

/* Watches the directory of a device node ("/dev/video0",
 * "/dev/v4l/by-id/...") for it to appear again or change (udev creates the
 * node, then sets its mode). Returns an inotify fd, or -1 when location is
 * not a device node or cannot be watched. */
static int watch_device(const char *location)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(location, '/');
	int fd;

	if (strncmp(location, "/dev/", 5) != 0 || !slash || (size_t)(slash - location) >= sizeof(dir))
		return -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - location), location);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd >= 0 && inotify_add_watch(fd, dir, IN_CREATE | IN_ATTRIB | IN_MOVED_TO) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Waits up to wait_ns for the camera to stop (-EAGAIN) or, when watch is an
 * inotify fd, for an event on the device's name (1); 0 at the timeout. */
static int wait_for_return(struct cr_camera *cam, int watch, int64_t wait_ns)
{
	struct pollfd pfd[2] = { { .fd = cam->wake_fd, .events = POLLIN }, { .fd = watch, .events = POLLIN } };
	const char *name = strrchr(cam->source->location, '/') + 1;
	int64_t deadline = cr_time_mono_ns() + wait_ns;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (watch < 0)
		return cr_source_sleep_until(cam->source, deadline);
	for (;;) {
		int64_t left = deadline - cr_time_mono_ns();
		struct timespec ts = cr_time_ts(left > 0 ? left : 0);
		ssize_t n;

		if (ppoll(pfd, 2, &ts, NULL) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			return -EAGAIN;
		if (!pfd[1].revents)
			return 0;
		while ((n = read(watch, buf, sizeof(buf))) > 0) {
			for (char *p = buf; p < buf + n;) {
				const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

				if (ev->len && strcmp(ev->name, name) == 0)
					return 1;
				p += sizeof(*ev) + ev->len;
			}
		}
		if (cr_time_mono_ns() >= deadline)
			return 0;
	}
}

/* Reopens a lost source until it works or the camera stops. A device node
 * is watched: its return is noticed at once (inotify on its directory), with
 * a retry every 5 s besides. A network stream is retried after 0.25 s,
 * backing off to every 2 s. Anything else 1 s after the loss, backing off to
 * every 30 s. Each failed open logs its reason, so a camera unplugged for a
 * day does not fill the journal. Returns 0 when reopened, -EAGAIN when
 * stopping. */
static int reopen(struct cr_camera *cam)
{
	bool url = cam->source->ops == &cr_source_url_ops;
	int watch = watch_device(cam->source->location), ret = 0;
	int64_t max_ns = url ? URL_MAX_NS : watch >= 0 ? DEVICE_MAX_NS : REOPEN_MAX_NS;
	int64_t wait_ns = url ? URL_FIRST_NS : REOPEN_FIRST_NS;

	/* Let go of the device while it is away (a driver can then be
	 * unloaded and loaded again). */
	cam->source->ops->close(cam->source);
	for (;; wait_ns = wait_ns * 2 < max_ns ? wait_ns * 2 : max_ns) {
		cr_heartbeat_idle(cam->heartbeat); /* waiting for the device is no wedge */
		ret = wait_for_return(cam, watch, wait_ns);
		if (ret < 0)
			break;
		cr_heartbeat_busy(cam->heartbeat, OPEN_BOUND_NS);
		cam->source->ops->close(cam->source);
		ret = cam->source->ops->open(cam->source);
		if (ret == 0) {
			cr_info("%s: %s is back", cam->config->name, cam->source->format.device);
			/* A device that comes back with larger frames needs a new pool;
			 * frames of the old one stay valid until their last unref. */
			if (cam->source->format.frame_bytes > cam->pool_frame_bytes) {
				struct cr_frame_pool *old = cam->pool;
				unsigned total, in_use;
				size_t bytes;

				cr_frame_pool_stats(old, &total, &in_use, &bytes);
				pthread_mutex_lock(&cam->lock);
				cam->pool = cr_frame_pool_new(total, cam->source->format.frame_bytes);
				cam->pool_frame_bytes = cam->source->format.frame_bytes;
				pthread_mutex_unlock(&cam->lock);
				cr_frame_pool_free(&old);
			}
			pthread_mutex_lock(&cam->lock);
			cam->stats.reconnects++;
			cam->stats.format = cam->source->format;
			cam->have_sequence = false;
			pthread_mutex_unlock(&cam->lock);
			set_state(cam, CR_CAMERA_RUNNING, 0);
			break;
		}
		ret = 0;
	}
	if (watch >= 0)
		close(watch);
	return ret;
}

/* How long a read may take: READ_BOUND_NS, or 12 frame periods of a slower
 * source. */
static int64_t read_bound(const struct cr_camera *cam)
{
	double fps = cam->source->format.fps;

	if (fps > 0 && 12.0 / fps * 1e9 > (double)READ_BOUND_NS)
		return (int64_t)(12.0 / fps * 1e9);
	return READ_BOUND_NS;
}

/* The test hook: stops here, busy, until the camera is stopped. */
static void wedge(struct cr_camera *cam)
{
	cr_warn("%s: test hook CAMRIG_TEST_WEDGE: the capture thread wedges now, after %llu frames", cam->config->name,
		(unsigned long long)cam->wedge_after);
	while (cr_source_sleep_until(cam->source, cr_time_mono_ns() + 100 * CR_NS_PER_MS) == 0)
		;
}

static void *camera_thread(void *arg)
{
	struct cr_camera *cam = arg;
	char name[16];

	snprintf(name, sizeof(name), "cam:%s", cam->config->name);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		struct cr_frame *frame = cr_frame_pool_get(cam->pool);
		int ret;

		cr_heartbeat_busy(cam->heartbeat, read_bound(cam));
		ret = cam->source->ops->read(cam->source, frame);
		cr_heartbeat_busy(cam->heartbeat, WORK_BOUND_NS);
		if (ret == 0 && frame) {
			frame->index = atomic_load(&cam->published);
			frame->camera = cam->id;
			frame->utc_us = cr_time_mono_to_utc_us(frame->mono_ns);
			cr_fanout_publish(cam->fanout, frame);
			atomic_fetch_add(&cam->published, 1);
			account(cam, frame, false);
			if (cam->wedge_after && atomic_load(&cam->published) == cam->wedge_after) {
				cr_frame_unref(&frame);
				wedge(cam);
				break;
			}
		} else if (ret == 0) {
			account(cam, NULL, true);
		}
		cr_frame_unref(&frame);
		if (ret == 0)
			continue;
		if (ret == -EAGAIN)
			break;
		if (ret == CR_EEOF) {
			cr_info("%s: %s: end of input", cam->config->name, cam->source->format.device);
			set_state(cam, CR_CAMERA_ENDED, 0);
			break;
		}
		cr_err("%s: %s: %s", cam->config->name, cam->source->format.device,
		       ret == CR_ELOST ? "device lost; reopening it when it returns" : cr_strerror(ret));
		set_state(cam, ret == CR_ELOST ? CR_CAMERA_LOST : CR_CAMERA_FAILED, ret);
		if (ret != CR_ELOST || reopen(cam) < 0)
			break;
	}
	cr_heartbeat_idle(cam->heartbeat);
	return NULL;
}

/* $CAMRIG_TEST_WEDGE=capture:N: N; else 0. */
static uint64_t test_wedge_after(void)
{
	const char *hook = getenv("CAMRIG_TEST_WEDGE");
	unsigned long long n;

	if (!hook || sscanf(hook, "capture:%llu", &n) != 1)
		return 0;
	return n;
}

int cr_camera_start(struct cr_camera *cam)
{
	int ret;

	ret = cam->source->ops->open(cam->source);
	/* Controls asked of a source that has none would be silently lost. */
	if (ret == 0 && cam->config->ncontrols + cam->config->sensor.ncontrols > 0 && !cam->source->ops->set_control) {
		cr_err("%s: controls: its source %s (%s) has no controls (expected no controls: key, or a V4L2, "
		       "libcamera or Aravis camera, or the test pattern)", cam->config->name, cam->config->source,
		       cam->source->format.driver);
		ret = -EINVAL;
	}
	/* Nor may a sensor: block be lost on a source that has no sub-device. */
	if (ret == 0 && cam->source->ops != &cr_source_v4l2_ops &&
	    (cam->config->sensor.entity || cam->config->sensor.format || cam->config->sensor.width ||
	     cam->config->sensor.crop.width || cam->config->sensor.ncontrols)) {
		cr_err("%s: sensor: its source %s (%s) has no sensor sub-device (expected no sensor: key, or a V4L2 "
		       "camera; libcamera sets up its sensor itself: use its controls and ScalerCrop)", cam->config->name,
		       cam->config->source, cam->source->format.driver);
		ret = -EINVAL;
	}
	if (ret < 0) {
		cam->source->ops->close(cam->source);
		return ret;
	}
	pthread_mutex_lock(&cam->lock);
	cam->stats.format = cam->source->format;
	cam->stats.state = CR_CAMERA_RUNNING;
	cam->stats.state_mono_ns = cr_time_mono_ns();
	for (unsigned i = 0; i < cam->config->ncontrols; i++)
		note_control(cam, cam->config->controls[i].name, cam->config->controls[i].value);
	for (unsigned i = 0; i < cam->config->sensor.ncontrols; i++)
		note_control(cam, cam->config->sensor.controls[i].name, cam->config->sensor.controls[i].value);
	pthread_mutex_unlock(&cam->lock);
	cr_frame_pool_free(&cam->pool); /* a restart gets a pool of the format's size */
	cam->pool = cr_frame_pool_new(cam->pool_frames, cam->source->format.frame_bytes);
	cam->pool_frame_bytes = cam->source->format.frame_bytes;
	if (!cam->heartbeat) {
		char name[CR_HEARTBEAT_NAME_MAX];

		snprintf(name, sizeof(name), "cam:%s", cam->config->name);
		cam->heartbeat = cr_heartbeat_register(name);
	}
	cam->wedge_after = test_wedge_after();
	ret = -pthread_create(&cam->thread, NULL, camera_thread, cam);
	if (ret < 0) {
		cam->source->ops->close(cam->source);
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot start thread: %s", cam->config->name,
				  cr_strerror(ret));
	}
	cam->started = true;
	return 0;
}

void cr_camera_stop(struct cr_camera *cam)
{
	uint64_t one = 1;

	if (!cam->started)
		return;
	(void)!write(cam->wake_fd, &one, sizeof(one));
	pthread_join(cam->thread, NULL);
	cam->started = false;
	cam->source->ops->close(cam->source);
	pthread_mutex_lock(&cam->lock);
	if (cam->stats.state == CR_CAMERA_RUNNING) {
		cam->stats.state = CR_CAMERA_STOPPED;
		cam->stats.state_mono_ns = cr_time_mono_ns();
	}
	pthread_mutex_unlock(&cam->lock);
}

void cr_camera_free(struct cr_camera **pcam)
{
	struct cr_camera *cam = *pcam;

	if (!cam)
		return;
	*pcam = NULL;
	cr_camera_stop(cam);
	cr_heartbeat_unregister(&cam->heartbeat);
	cr_source_free(&cam->source);
	cr_fanout_free(&cam->fanout);
	cr_frame_pool_free(&cam->pool);
	if (cam->wake_fd >= 0)
		close(cam->wake_fd);
	pthread_mutex_destroy(&cam->lock);
	free(cam);
}

struct cr_fanout *cr_camera_fanout(struct cr_camera *cam)
{
	return cam->fanout;
}

const struct cr_camera_config *cr_camera_config(struct cr_camera *cam)
{
	return cam->config;
}

const struct cr_source_format *cr_camera_format(struct cr_camera *cam)
{
	return &cam->source->format;
}

uint64_t cr_camera_frames_published(struct cr_camera *cam)
{
	return atomic_load(&cam->published);
}

void cr_camera_stats(struct cr_camera *cam, struct cr_camera_stats *stats)
{
	pthread_mutex_lock(&cam->lock);
	*stats = cam->stats;
	if (cam->pool)
		cr_frame_pool_stats(cam->pool, &stats->pool_total, &stats->pool_in_use, &stats->pool_bytes);
	pthread_mutex_unlock(&cam->lock);
}

int cr_camera_set_control(struct cr_camera *cam, const char *name, const char *value, char *why, size_t len)
{
	int ret;

	if (!cam->source->ops->set_control) {
		snprintf(why, len, "its source %s (%s) has no controls", cam->config->source,
			 cam->source->format.driver[0] ? cam->source->format.driver : "not open");
		return -ENOTSUP;
	}
	ret = cam->source->ops->set_control(cam->source, name, value, why, len);
	if (ret == 0) {
		pthread_mutex_lock(&cam->lock);
		note_control(cam, name, value);
		pthread_mutex_unlock(&cam->lock);
	}
	return ret;
}

int cr_camera_list_controls(struct cr_camera *cam, struct cr_source_control *out, int max, char *why, size_t len)
{
	if (!cam->source->ops->list_controls)
		return 0;
	return cam->source->ops->list_controls(cam->source, out, max, why, len);
}

int cr_camera_controls(struct cr_camera *cam, struct cr_camera_control *out, int max)
{
	int n;

	pthread_mutex_lock(&cam->lock);
	for (n = 0; n < (int)cam->ncontrols && n < max; n++)
		out[n] = cam->controls[n];
	pthread_mutex_unlock(&cam->lock);
	return n;
}
