/* Fan-out of a camera's frames to its subscribers.
 *
 * Each subscriber (JPEG stage, encoder, LSL outlet, ...) has its own bounded
 * queue and drop counter; the queue is bounded in frames and, when given a
 * budget, in bytes of the frames it holds (cr_subscriber_set_budget()). cr_fanout_publish() gives every active subscriber a
 * reference to the frame without ever waiting: a full queue drops by the
 * subscriber's policy and counts it. An inactive subscriber (nobody needs its
 * output right now) receives nothing and counts nothing.
 *
 * Locking: the subscriber list is guarded by a mutex held only while
 * publishing or changing the list; queues have their own locks. */
#ifndef CR_BASE_FANOUT_H
#define CR_BASE_FANOUT_H

#include "base/frame.h"
#include "base/queue.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_SUBSCRIBER_NAME_MAX 32

struct cr_fanout;
struct cr_subscriber;

struct cr_subscriber_stats {
	char name[CR_SUBSCRIBER_NAME_MAX];
	uint64_t delivered;  /* frames queued */
	uint64_t dropped;    /* frames dropped on a full queue */
	unsigned length;     /* frames queued now */
	unsigned depth;      /* queue capacity */
	size_t bytes;        /* bytes of the frames queued now (their size) */
	size_t peak_bytes;   /* the most bytes queued at once, ever */
	size_t budget;       /* bytes the queue may hold (at least one frame whatever its size); 0: none */
	bool active;
};

struct cr_fanout *cr_fanout_new(void);

/* Frees the fan-out. Every subscriber must have been removed. NULL-safe. */
void cr_fanout_free(struct cr_fanout **fanout);

/* Adds a subscriber with a queue of depth frames (>= 1) and the given drop
 * policy. It starts active. name (truncated to 31 bytes) shows in the stats. */
struct cr_subscriber *cr_fanout_subscribe(struct cr_fanout *fanout, const char *name, unsigned depth,
					  enum cr_queue_policy policy);

/* Removes and frees a subscriber, releasing the frames still queued for it.
 * NULL-safe; sets *sub to NULL. */
void cr_fanout_unsubscribe(struct cr_fanout *fanout, struct cr_subscriber **sub);

/* Bounds the subscriber's queue to budget bytes of frames (their size) as
 * well as to its depth; 0 (the default): by depth only. A frame that would
 * go over it is dropped by the queue's policy (DROP_NEWEST: the new frame;
 * DROP_OLDEST: queued frames, oldest first) and counted; an empty queue
 * takes any one frame. Call before frames flow. */
void cr_subscriber_set_budget(struct cr_subscriber *sub, size_t budget);

/* An inactive subscriber is skipped by publish. */
void cr_subscriber_set_active(struct cr_subscriber *sub, bool active);

/* Takes the next frame for this subscriber (the caller owns one reference),
 * waiting up to timeout_ns (< 0: forever). Returns 0, -ETIMEDOUT, or -EPIPE
 * after cr_subscriber_close(). */
int cr_subscriber_pop(struct cr_subscriber *sub, struct cr_frame **frame, int64_t timeout_ns);

/* Wakes the subscriber's consumer for good: pops return -EPIPE once drained. */
void cr_subscriber_close(struct cr_subscriber *sub);

/* A tap is a consumer called inline by cr_fanout_publish(), in the camera
 * thread, for work that takes bounded, tiny time and must not wait a thread
 * hop (the LSL outlet's push: a short lock, then a non-blocking send or an
 * eventfd write). It must never block, and must not keep the frame beyond
 * the call. */
typedef void (*cr_fanout_tap_fn)(void *ctx, const struct cr_frame *frame);

/* Adds a tap (at most CR_FANOUT_MAX_TAPS); it shows in the stats as a
 * consumer that never drops. Returns 0 or -ENOSPC. */
int cr_fanout_add_tap(struct cr_fanout *fanout, const char *name, cr_fanout_tap_fn fn, void *ctx);

/* Removes the tap added with ctx; when it returns, fn is not running and will
 * not run again for ctx. */
void cr_fanout_remove_tap(struct cr_fanout *fanout, void *ctx);

#define CR_FANOUT_MAX_TAPS 4

/* Publishes frame to every tap and active subscriber. Returns how many
 * subscribers dropped it. */
unsigned cr_fanout_publish(struct cr_fanout *fanout, struct cr_frame *frame);

/* Fills up to max entries of stats; returns the number of subscribers. */
int cr_fanout_stats(struct cr_fanout *fanout, struct cr_subscriber_stats *stats, int max);

#ifdef __cplusplus
}
#endif

#endif
