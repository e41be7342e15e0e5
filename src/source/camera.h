/* A camera: one source, its frame pool, its fan-out and the thread that
 * moves frames from the one to the other.
 *
 * The camera thread never waits on a consumer: it takes a frame from the pool
 * (or, when the pool is exhausted, discards the driver's buffer and counts a
 * drop), lets the source fill it, stamps index and UTC time, publishes it to
 * the fan-out and drops its own reference. A lost device is closed at once
 * and reopened when it comes back: a device node the moment it appears
 * again (inotify on its directory, with a retry every 5 s besides), a
 * network stream after 0.25 s backing off to every 2 s, anything else after
 * 1 s backing off to every 30 s. */
#ifndef CR_SOURCE_CAMERA_H
#define CR_SOURCE_CAMERA_H

#include "config/config.h"
#include "base/fanout.h"
#include "base/events.h"
#include "source/source.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cr_camera_state {
	CR_CAMERA_STOPPED,   /* not started, or stopped */
	CR_CAMERA_RUNNING,   /* delivering frames */
	CR_CAMERA_LOST,      /* the device went away; reopening */
	CR_CAMERA_ENDED,     /* a file source reached its end */
	CR_CAMERA_FAILED,    /* read failed for another reason; see error */
};

struct cr_camera_stats {
	enum cr_camera_state state;
	char error[160];             /* the last error, "" if none */
	struct cr_source_format format;
	double fps_requested;        /* from the configuration; 0: source default */
	double fps_measured;         /* frames per second over the last second or so */
	uint64_t frames_captured;    /* frames published */
	uint64_t frames_pool_dropped; /* frames discarded because every pooled frame was in use */
	uint64_t frames_lost_upstream; /* gaps in the driver's sequence numbers */
	uint64_t reconnects;         /* times the source was reopened after a loss */
	int64_t last_mono_ns;        /* capture time of the last frame, CLOCK_MONOTONIC ns; 0: none yet */
	int64_t last_age_ns;         /* how old the last frame was when the source gave it to the
				        camera thread: CLOCK_MONOTONIC now - its capture time, ns */
	int64_t state_mono_ns;       /* when state last changed (a start, a loss, a return), CLOCK_MONOTONIC ns */
	unsigned pool_total, pool_in_use; /* frames */
	size_t pool_bytes;           /* the pool's buffers allocated now (memory held; idle ones go after 10 s) */
	bool has_stream;             /* the source keeps stream statistics (GenICam cameras) */
	struct cr_source_stream_stats stream;
};

struct cr_camera;

/* Creates a camera for config (not copied: it must outlive the camera); id is
 * its index in the configuration, pool_frames how many frames its pool
 * holds. State changes (lost, found, ended) are published to events (may be
 * NULL). Nothing is opened before cr_camera_start(). Returns 0 or a negative
 * error (logged). */
int cr_camera_new(const struct cr_camera_config *config, int id, unsigned pool_frames, struct cr_events *events,
		  struct cr_camera **out);

/* Opens the source (so a missing device or bad format fails here, with a
 * logged reason) and starts the camera thread. Returns 0 or a negative
 * error. */
int cr_camera_start(struct cr_camera *cam);

/* Stops the thread and closes the source. Idempotent; safe if not started. */
void cr_camera_stop(struct cr_camera *cam);

/* Stops if needed and frees. NULL-safe; sets *cam to NULL. */
void cr_camera_free(struct cr_camera **cam);

struct cr_fanout *cr_camera_fanout(struct cr_camera *cam);
const struct cr_camera_config *cr_camera_config(struct cr_camera *cam);

/* The source's format (valid after a successful start). */
const struct cr_source_format *cr_camera_format(struct cr_camera *cam);

/* How many frames have been published so far: the index the next frame gets. */
uint64_t cr_camera_frames_published(struct cr_camera *cam);

void cr_camera_stats(struct cr_camera *cam, struct cr_camera_stats *stats);

const char *cr_camera_state_name(enum cr_camera_state state);

/* Sets a source control by name while capturing (V4L2 controls). Returns 0,
 * -ENOTSUP when the source has no controls, or the source's error (-ENOENT
 * unknown control, -EINVAL bad value, -ENODEV device gone), with why (len
 * bytes) the one-line reason: the controls there are, the values expected. */
int cr_camera_set_control(struct cr_camera *cam, const char *name, const char *value, char *why, size_t len);

/* Describes the source's controls with their current values (type, range,
 * step, default, menu items) into out[max]. Returns how many there are (only
 * max written: CR_SOURCE_MAX_CONTROLS is enough), 0 for a source without
 * controls (a file or a stream), or -ENODEV when the device is lost, with
 * why (len bytes) the reason. Safe beside the camera thread, not beside
 * another set or list of the same camera (the control thread runs one at a
 * time). */
int cr_camera_list_controls(struct cr_camera *cam, struct cr_source_control *out, int max, char *why, size_t len);

#define CR_CAMERA_MAX_CONTROLS 64

struct cr_camera_control {
	char name[64];
	char value[64];
};

/* The controls set so far, from the configuration and by set_control, with
 * the value each was last set to. Fills up to max; returns how many. */
int cr_camera_controls(struct cr_camera *cam, struct cr_camera_control *out, int max);

#ifdef __cplusplus
}
#endif

#endif
