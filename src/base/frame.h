/* Frames and the pool they come from.
 *
 * A frame is one captured image plus its metadata. Frames are refcounted and
 * come from a fixed-size pool: the camera thread takes one, fills it, publishes
 * it to subscribers (each takes a reference) and drops its own reference; the
 * last cr_frame_unref() returns it to the pool. Nothing allocates per frame.
 *
 * Thread safety: refcounting and the pool are safe from any thread. A frame's
 * pixels and metadata are written only by the thread that took it from the
 * pool, before it is published; afterwards everyone treats it as read-only. */
#ifndef CR_BASE_FRAME_H
#define CR_BASE_FRAME_H

#include "base/fourcc.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_frame_pool;

/* The levels of a YUV or GREY frame's samples (ITU-R BT.601 section 2.5.3,
 * H.273 VideoFullRangeFlag). A source states them only where it knows them;
 * a stage that needs one range (the JPEG stage: JFIF's full range) converts a
 * frame that states the other, and takes an unstated frame as it is. */
enum cr_range {
	CR_RANGE_UNSTATED,  /* not stated: every stage takes the samples as they are (V4L2, the test pattern) */
	CR_RANGE_LIMITED,   /* video levels: Y 16..235, Cb and Cr 16..240 (a decoded H.264 clip) */
	CR_RANGE_FULL,      /* JPEG levels: 0..255 */
};

struct cr_frame {
	uint32_t fourcc;                /* pixel format, V4L2 FourCC */
	int width, height;              /* pixels */
	int nplanes;                    /* 0 for compressed formats */
	uint8_t *plane[CR_MAX_PLANES];  /* into data */
	int stride[CR_MAX_PLANES];      /* bytes per row */
	enum cr_range range;            /* YUV and GREY: the samples' levels */
	uint8_t *data;                  /* the whole image (the first plane of a frame wrapped by planes) */
	size_t size;                    /* bytes of data in use (a JPEG's length for MJPEG) */
	size_t capacity;                /* bytes allocated at data */

	uint64_t index;                 /* camrig's count of frames from this camera, from 0 */
	uint32_t sequence;              /* the driver's sequence number (V4L2 buffer.sequence) */
	int64_t mono_ns;                /* capture time, CLOCK_MONOTONIC ns */
	int64_t utc_us;                 /* capture time, µs since the UTC epoch */
	int camera;                     /* index of the camera in the configuration */
	int64_t device_ns;              /* the camera's own timestamp of the exposure, ns of its clock
					   (GigE Vision / USB3 Vision timestamp); 0: the source has none */

	atomic_int refs;
	struct cr_frame_pool *pool;
	uint8_t *own;                   /* the pool's buffer of capacity bytes; data points here unless wrapped */
	size_t own_capacity;            /* bytes at own */
	int64_t idle_since_ns;          /* CLOCK_MONOTONIC ns it last went back to the pool */
	void (*release)(void *opaque);  /* set by cr_frame_wrap(): called at the last unref */
	void *opaque;
};

/* Creates a pool of count frames of up to capacity bytes each. The buffers are
 * allocated on first use, and freed again when they have gone unused for
 * CR_FRAME_POOL_IDLE_NS (the frames in steady use keep theirs). */
struct cr_frame_pool *cr_frame_pool_new(unsigned count, size_t capacity);

#define CR_FRAME_POOL_IDLE_NS (10 * 1000000000LL)

/* Sets how long a free frame's buffer may go unused before the pool frees
 * it, ns (a later cr_frame_pool_get() does). */
void cr_frame_pool_set_idle_limit(struct cr_frame_pool *pool, int64_t ns);

/* Frees the pool. Frames still referenced stay valid and are freed at their
 * last unref. NULL-safe; sets *pool to NULL. */
void cr_frame_pool_free(struct cr_frame_pool **pool);

/* Takes a free frame (refcount 1, metadata zeroed, capacity bytes at data), or
 * returns NULL when every frame is in use: the caller counts a drop and never
 * waits. */
struct cr_frame *cr_frame_pool_get(struct cr_frame_pool *pool);

/* Frames in the pool, how many are in use right now, and the bytes of the
 * pool's own buffers allocated now (the pool's resident memory, at most
 * total x capacity). */
void cr_frame_pool_stats(struct cr_frame_pool *pool, unsigned *total, unsigned *in_use, size_t *bytes);

/* Sets format and size, and points the planes into data by the layout of a
 * raw format with the given stride (bytes, 0: packed). For a compressed format
 * it sets nplanes = 0 and leaves size to the caller. Returns 0, CR_EFORMAT, or
 * -ENOSPC when the layout does not fit the frame's capacity. */
int cr_frame_set_format(struct cr_frame *frame, uint32_t fourcc, int width, int height, int stride);

/* Points frame at memory it does not own — a driver's mapped buffer, for
 * zero-copy capture: data = pixels, capacity = size (bytes); sizes and planes
 * are then set with cr_frame_set_format() as for pooled memory. At the last
 * cr_frame_unref() release(opaque) is called (on whichever thread drops that
 * reference, with no lock held) before the frame goes back to its pool with
 * its own buffer again, so release must be quick and thread-safe (give the
 * buffer back to the driver). Called by the thread that took the frame,
 * before it is published. */
void cr_frame_wrap(struct cr_frame *frame, uint8_t *data, size_t size, void (*release)(void *opaque), void *opaque);

/* Points frame at planes it does not own, each with its own stride — a
 * decoder's picture (an AVFrame's data[] and linesize[]), for zero-copy
 * hand-over — and sets format and size (pixels) as cr_frame_set_format()
 * does: nplanes from the raw format's layout, size the bytes of all planes
 * (stride x rows each), data the first plane. release(opaque) is called at
 * the last unref as for cr_frame_wrap(). Returns 0; CR_EFORMAT for a
 * compressed or unknown format, -EINVAL for a stride smaller than its
 * plane's row (or negative, as libav allows for bottom-up images), leaving
 * the frame as it was (release is then not called). */
int cr_frame_wrap_planes(struct cr_frame *frame, uint32_t fourcc, int width, int height, uint8_t *const plane[],
			 const int stride[], void (*release)(void *opaque), void *opaque);

struct cr_frame *cr_frame_ref(struct cr_frame *frame);

/* Drops a reference; the last one returns the frame to its pool. NULL-safe;
 * sets *frame to NULL. */
void cr_frame_unref(struct cr_frame **frame);

#ifdef __cplusplus
}
#endif

#endif
