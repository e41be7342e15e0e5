/* The JPEG stage: turns a camera's frames into JPEG images for the live
 * views, encoding each frame at most once per variant.
 *
 * A variant is one (width, height, quality, gray) combination. Clients
 * acquire a variant (which counts as demand), wait for images of it (or,
 * from an event loop, poll for them and are woken by the stage's notify
 * function), and release it. Worker threads (libturbojpeg) take the camera's frames from a
 * latest-wins queue and encode each one for every variant in demand; when no
 * variant is in demand the stage's subscription is inactive and nothing is
 * encoded. MJPEG frames whose variant matches the camera's own size and color
 * are passed through untouched.
 *
 * Each variant keeps only its latest image: a slow client skips images and
 * never builds a queue. */
#ifndef CR_ENCODE_JPEG_H
#define CR_ENCODE_JPEG_H

#include "config/config.h"
#include "base/frame.h"
#include "base/image.h"
#include "source/camera.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An encoded image; immutable once published; refcounted. */
struct cr_jpeg {
	const uint8_t *data;
	size_t size;                 /* bytes */
	int width, height;           /* pixels */
	uint64_t index;              /* the frame's camrig index */
	uint32_t sequence;           /* the frame's driver sequence */
	int64_t mono_ns;             /* the frame's capture time, CLOCK_MONOTONIC ns */
	int64_t utc_us;              /* the frame's capture time, µs since the UTC epoch */
	atomic_int refs;
	struct cr_frame *frame;      /* pass-through: data points into this frame */
	uint8_t *owned;              /* encoded: data is this allocation */
	bool taken;                  /* a waiter has had it (under the stage's lock) */
};

struct cr_jpeg *cr_jpeg_ref(struct cr_jpeg *jpeg);

/* NULL-safe; sets *jpeg to NULL. */
void cr_jpeg_unref(struct cr_jpeg **jpeg);

/* How a frame meets an output size of another shape. */
enum cr_jpeg_fit {
	CR_JPEG_FIT_STRETCH,         /* scaled to the size, shapes distorted (the default) */
	CR_JPEG_FIT_CROP,            /* scaled to cover it, the middle kept */
	CR_JPEG_FIT_PAD,             /* scaled to fit inside it, black bars around */
};

struct cr_jpeg_params {
	int width, height;           /* pixels; 0x0: the camera's size */
	int quality;                 /* 1..100; 0: the configured default */
	bool gray;
	enum cr_jpeg_fit fit;        /* when width x height is not the camera's shape */
	int overlay;                 /* 1: the overlay is drawn in, -1: not, 0: the stage's default */
};

struct cr_jpeg_stage_stats {
	uint64_t encoded;            /* images encoded */
	uint64_t passed_through;     /* camera JPEGs served untouched */
	uint64_t errors;             /* frames that failed to encode */
	uint64_t unsent;             /* images replaced by a newer one before any client had them */
	uint64_t skipped;            /* frames no client was waiting for: not encoded */
	double encode_ms;            /* mean encoding time of the last images, ms */
	unsigned variants_active;    /* variants in demand */
	unsigned workers;
	size_t buffer_bytes;         /* the workers' conversion and output buffers; a worker idle 10 s frees its own */
};

struct cr_jpeg_stage;
struct cr_jpeg_variant;

/* Creates the stage for cam with the defaults in config (quality, gray,
 * output size, else the camera's, workers), subscribed to cam's frames but
 * inactive; no thread runs before cr_jpeg_stage_start().
 * Returns 0 or a negative error (logged). */
int cr_jpeg_stage_new(struct cr_camera *cam, const struct cr_jpeg_config *config, struct cr_jpeg_stage **out);

/* Starts the worker threads. Returns 0 or a negative errno (logged). */
int cr_jpeg_stage_start(struct cr_jpeg_stage *stage);

/* Wakes every waiter for good, joins the workers and leaves the camera's
 * fan-out. Idempotent. */
void cr_jpeg_stage_stop(struct cr_jpeg_stage *stage);

/* Stops and frees. Every variant must have been released. NULL-safe; sets
 * *stage to NULL. */
void cr_jpeg_stage_free(struct cr_jpeg_stage **stage);

/* The index the camera's next frame gets: pass it as min_index for "an image
 * of a frame captured from now on". */
uint64_t cr_jpeg_stage_next_index(struct cr_jpeg_stage *stage);

/* Wakes every waiter for good (shutdown): waits return -EPIPE from now on. */
void cr_jpeg_stage_shutdown(struct cr_jpeg_stage *stage);

/* The stage's default parameters with params' non-zero fields applied. */
struct cr_jpeg_params cr_jpeg_stage_params(struct cr_jpeg_stage *stage, const struct cr_jpeg_params *params);

/* Acquires the variant for params (after cr_jpeg_stage_params), creating it
 * if needed, and counts one unit of demand on it. Returns NULL when the stage
 * already has its maximum number of variants in demand. */
struct cr_jpeg_variant *cr_jpeg_stage_acquire(struct cr_jpeg_stage *stage, const struct cr_jpeg_params *params);

/* Drops one unit of demand. NULL-safe; sets *variant to NULL. */
void cr_jpeg_stage_release(struct cr_jpeg_stage *stage, struct cr_jpeg_variant **variant);

/* Waits up to timeout_ns for an image of a frame whose index is >= min_index
 * and returns a reference to the newest such image in *out. Returns 0,
 * -ETIMEDOUT, or -EPIPE after shutdown. */
int cr_jpeg_variant_wait(struct cr_jpeg_stage *stage, struct cr_jpeg_variant *variant, uint64_t min_index,
			 int64_t timeout_ns, struct cr_jpeg **out);

/* The non-blocking form of cr_jpeg_variant_wait(), for an event loop: the
 * newest image of a frame whose index is >= min_index into *out (a new
 * reference) and 0; -EAGAIN when there is none yet; -EPIPE after shutdown.
 * *waiting is the caller's flag, false at first: -EAGAIN sets it and
 * counts the caller as waiting on v (so the next frame is encoded for v,
 * and the notify function says when it is published), any other outcome
 * clears it. Before releasing v, a caller still waiting calls
 * cr_jpeg_variant_unwait(), which clears the flag and the count. */
int cr_jpeg_variant_poll(struct cr_jpeg_stage *stage, struct cr_jpeg_variant *variant, uint64_t min_index,
			 bool *waiting, struct cr_jpeg **out);
void cr_jpeg_variant_unwait(struct cr_jpeg_stage *stage, struct cr_jpeg_variant *variant, bool *waiting);

/* Sets fn, called with ctx after every image the stage publishes and at
 * shutdown, under the stage's lock: it must not block nor call the stage
 * (an event loop's wake-up: a write to an eventfd). NULL: none. After
 * this returns the previous function is no longer running nor called. */
void cr_jpeg_stage_set_notify(struct cr_jpeg_stage *stage, void (*fn)(void *ctx), void *ctx);

/* Takes one image of params (after cr_jpeg_stage_params) of a frame whose
 * index is >= min_index — pass cr_camera_frames_published() for "a frame
 * captured from now on" — acquiring the variant for just this long. Waits up
 * to timeout_ns in slices of at most 0.2 s, giving up early when *cancel (may
 * be NULL) becomes true. Returns 0 with a reference in *out, -EBUSY (too many
 * variants in use), -ETIMEDOUT, -ECANCELED, or -EPIPE after shutdown. */
int cr_jpeg_stage_take(struct cr_jpeg_stage *stage, const struct cr_jpeg_params *params, uint64_t min_index,
		       int64_t timeout_ns, const atomic_bool *cancel, struct cr_jpeg **out);

void cr_jpeg_stage_stats(struct cr_jpeg_stage *stage, struct cr_jpeg_stage_stats *stats);

/* Where the camera's frame lies in an output image: a frame pixel (x, y)
 * is at (x * scale_x + offset_x, y * scale_y + offset_y) of the output
 * (fit: crop cuts, pad adds black bars). */
struct cr_jpeg_overlay_view {
	double scale_x, scale_y;     /* output pixels per frame pixel */
	double offset_x, offset_y;   /* output pixels */
};

/* Draws into img (GREY or YU12 at the variant's size, full range, written
 * in place) what the overlay shows for frame. Runs in a JPEG worker thread,
 * once per image of each variant that has the overlay; it must not block
 * for long, and must not keep img or frame. */
typedef void (*cr_jpeg_overlay_fn)(void *ctx, const struct cr_image *img, const struct cr_jpeg_overlay_view *view,
				   const struct cr_frame *frame);

/* Sets the overlay (the analysis stage's boxes): variants whose overlay is
 * 1 are drawn by fn, and by_default says what overlay 0 means. Call before
 * cr_jpeg_stage_start(); ctx must stay valid until the stage is stopped.
 * Without it every image is plain. */
void cr_jpeg_stage_set_overlay(struct cr_jpeg_stage *stage, cr_jpeg_overlay_fn fn, void *ctx, bool by_default);

/* A placeholder for a live view whose camera sends no frames: a dark gray
 * JPEG (luma only) of width x height pixels (each clamped to 64..4096)
 * with each of the nlines lines of text (base/text.h's font) centred, the
 * first one large. Encoded on the caller's thread with its own libturbojpeg
 * handle (a few ms at 640x480); index and sequence are 0, the times now.
 * Returns 0 with a new reference in *out, or -EIO. */
int cr_jpeg_placeholder(int width, int height, const char *const *lines, unsigned nlines, struct cr_jpeg **out);

#ifdef __cplusplus
}
#endif

#endif
