/* The camera thread: source -> pooled frame -> fan-out.
 *
 * Design: one thread per camera runs read() in a loop. The source copies the
 * driver's buffer into a frame from the pool and returns the buffer at once,
 * so the driver never runs dry because of us; the frame is then published to
 * every subscriber's bounded queue (never blocking) and released. Stopping
 * writes to an eventfd that every source includes in its wait. Statistics are
 * kept under a mutex and copied out by cr_camera_stats(). */
#include "source/camera.h"

#include "base/error.h"
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
#include <sys/eventfd.h>
#include <unistd.h>

#define REOPEN_FIRST_NS (1 * CR_NS_PER_SEC)  /* first retry after a loss */
#define REOPEN_MAX_NS (30 * CR_NS_PER_SEC)   /* retries back off up to this */

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

	pthread_mutex_lock(&cam->lock);
	if (dropped)
		cam->stats.frames_pool_dropped++;
	if (f) {
		if (cam->have_sequence && f->sequence != cam->last_sequence + 1 && f->sequence > cam->last_sequence)
			cam->stats.frames_lost_upstream += f->sequence - cam->last_sequence - 1;
		cam->have_sequence = true;
		cam->last_sequence = f->sequence;
		cam->stats.frames_captured++;
		cam->stats.last_mono_ns = f->mono_ns;
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

/* Reopens a lost source until it works or the camera stops, 1 s after the
 * loss, then backing off to every 30 s (each failed open logs its reason, so
 * a camera unplugged for a day does not fill the journal). Returns 0 when
 * reopened, -EAGAIN when stopping. */
static int reopen(struct cr_camera *cam)
{
	int64_t wait_ns = REOPEN_FIRST_NS;

	for (;; wait_ns = wait_ns * 2 < REOPEN_MAX_NS ? wait_ns * 2 : REOPEN_MAX_NS) {
		int ret = cr_source_sleep_until(cam->source, cr_time_mono_ns() + wait_ns);

		if (ret < 0)
			return ret;
		cam->source->ops->close(cam->source);
		ret = cam->source->ops->open(cam->source);
		if (ret == 0) {
			cr_info("%s: %s is back", cam->config->name, cam->source->format.device);
			/* A device that comes back with larger frames needs a new pool;
			 * frames of the old one stay valid until their last unref. */
			if (cam->source->format.frame_bytes > cam->pool_frame_bytes) {
				struct cr_frame_pool *old = cam->pool;
				unsigned total, in_use;

				cr_frame_pool_stats(old, &total, &in_use);
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
			return 0;
		}
	}
}

static void *camera_thread(void *arg)
{
	struct cr_camera *cam = arg;
	char name[16];

	snprintf(name, sizeof(name), "cam:%s", cam->config->name);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		struct cr_frame *frame = cr_frame_pool_get(cam->pool);
		int ret = cam->source->ops->read(cam->source, frame);

		if (ret == 0 && frame) {
			frame->index = atomic_load(&cam->published);
			frame->camera = cam->id;
			frame->utc_us = cr_time_mono_to_utc_us(frame->mono_ns);
			cr_fanout_publish(cam->fanout, frame);
			atomic_fetch_add(&cam->published, 1);
			account(cam, frame, false);
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
		       ret == CR_ELOST ? "device lost, reopening it (every 1 s, backing off to 30 s)" : cr_strerror(ret));
		set_state(cam, ret == CR_ELOST ? CR_CAMERA_LOST : CR_CAMERA_FAILED, ret);
		if (ret != CR_ELOST || reopen(cam) < 0)
			break;
	}
	return NULL;
}

int cr_camera_start(struct cr_camera *cam)
{
	int ret;

	ret = cam->source->ops->open(cam->source);
	if (ret < 0) {
		cam->source->ops->close(cam->source);
		return ret;
	}
	pthread_mutex_lock(&cam->lock);
	cam->stats.format = cam->source->format;
	cam->stats.state = CR_CAMERA_RUNNING;
	for (unsigned i = 0; i < cam->config->ncontrols; i++)
		note_control(cam, cam->config->controls[i].name, cam->config->controls[i].value);
	pthread_mutex_unlock(&cam->lock);
	cr_frame_pool_free(&cam->pool); /* a restart gets a pool of the format's size */
	cam->pool = cr_frame_pool_new(cam->pool_frames, cam->source->format.frame_bytes);
	cam->pool_frame_bytes = cam->source->format.frame_bytes;
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
	if (cam->stats.state == CR_CAMERA_RUNNING)
		cam->stats.state = CR_CAMERA_STOPPED;
	pthread_mutex_unlock(&cam->lock);
}

void cr_camera_free(struct cr_camera **pcam)
{
	struct cr_camera *cam = *pcam;

	if (!cam)
		return;
	*pcam = NULL;
	cr_camera_stop(cam);
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
		cr_frame_pool_stats(cam->pool, &stats->pool_total, &stats->pool_in_use);
	pthread_mutex_unlock(&cam->lock);
}

int cr_camera_set_control(struct cr_camera *cam, const char *name, const char *value)
{
	int ret;

	if (!cam->source->ops->set_control)
		return -ENOTSUP;
	ret = cam->source->ops->set_control(cam->source, name, value);
	if (ret == 0) {
		pthread_mutex_lock(&cam->lock);
		note_control(cam, name, value);
		pthread_mutex_unlock(&cam->lock);
	}
	return ret;
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
