/* A bounded queue of pointers between threads.
 *
 * Producers never wait: cr_queue_push() on a full queue either refuses the new
 * item (CR_QUEUE_DROP_NEWEST, for consumers that need every frame in order up
 * to their limit, like the recorder) or evicts the oldest one
 * (CR_QUEUE_DROP_OLDEST, for live consumers where the latest frame wins), and
 * counts the drop either way. Consumers wait, with a timeout, until an item
 * arrives or the queue is closed; an item wakes the consumer that began
 * waiting last (last in, first out), so of several consumers the fewest
 * stay busy. */
#ifndef CR_BASE_QUEUE_H
#define CR_BASE_QUEUE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cr_queue_policy { CR_QUEUE_DROP_NEWEST, CR_QUEUE_DROP_OLDEST };

struct cr_queue;

/* Creates a queue of up to capacity (>= 1) items. */
struct cr_queue *cr_queue_new(unsigned capacity, enum cr_queue_policy policy);

/* Frees the queue, handing each item still queued to drop (may be NULL).
 * NULL-safe; sets *queue to NULL. */
void cr_queue_free(struct cr_queue **queue, void (*drop)(void *item));

/* Appends item. Returns 0 when queued. On a full queue: DROP_NEWEST returns
 * -EAGAIN and the caller keeps item; DROP_OLDEST queues item, stores the evicted
 * one in *evicted and returns 1 (the caller releases it). Returns -EPIPE on a
 * closed queue. Never blocks beyond the queue's own short lock. */
int cr_queue_push(struct cr_queue *queue, void *item, void **evicted);

/* Takes the oldest item into *item, waiting up to timeout_ns (< 0: forever).
 * Returns 0, -ETIMEDOUT, or -EPIPE once the queue is closed and empty. */
int cr_queue_pop(struct cr_queue *queue, void **item, int64_t timeout_ns);

/* How many consumers wait in cr_queue_pop() right now (for tests). */
unsigned cr_queue_waiting(struct cr_queue *queue);

/* Closes the queue: pushes fail, waiting consumers wake up and drain. */
void cr_queue_close(struct cr_queue *queue);

unsigned cr_queue_length(struct cr_queue *queue);
unsigned cr_queue_capacity(struct cr_queue *queue);

/* Items dropped by push on a full queue since creation. */
uint64_t cr_queue_dropped(struct cr_queue *queue);

#ifdef __cplusplus
}
#endif

#endif
