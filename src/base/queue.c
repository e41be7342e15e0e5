/* Bounded pointer queue: a ring of pointers (base/ring.h) under a mutex.
 * Producers never wait. Each waiting consumer has a condition variable of
 * its own on a stack, and an item wakes the one that began waiting last: a
 * pool of consumers (the JPEG workers) then keeps the fewest of them busy,
 * so when one is enough the others never touch their buffers or caches.
 * One condition variable for all would wake them about in turn (glibc's
 * is close to first in, first out). */
#include "base/queue.h"

#include "base/mem.h"
#include "base/ring.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* A consumer waiting in cr_queue_pop(), on its stack. */
struct waiter {
	pthread_cond_t wake;
	struct waiter *next;          /* the one that began waiting before it */
	bool woken;                   /* taken off the stack by a push or the close */
};

struct cr_queue {
	pthread_mutex_t lock;
	struct waiter *waiters;       /* the newest first */
	struct cr_ring ring;          /* of void * */
	bool closed;
	uint64_t dropped;
};

struct cr_queue *cr_queue_new(unsigned capacity, enum cr_queue_policy policy)
{
	struct cr_queue *q = CR_NEW(q);

	pthread_mutex_init(&q->lock, NULL);
	cr_ring_init(&q->ring, capacity, sizeof(void *),
		     policy == CR_QUEUE_DROP_NEWEST ? CR_RING_DROP_NEWEST : CR_RING_DROP_OLDEST);
	return q;
}

void cr_queue_free(struct cr_queue **pq, void (*drop)(void *item))
{
	struct cr_queue *q = *pq;

	if (!q)
		return;
	*pq = NULL;
	for (void *item; cr_ring_pop(&q->ring, &item);)
		if (drop)
			drop(item);
	pthread_mutex_destroy(&q->lock);
	cr_ring_fini(&q->ring);
	free(q);
}

int cr_queue_push(struct cr_queue *q, void *item, void **evicted)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		ret = -EPIPE;
	} else {
		ret = cr_ring_push(&q->ring, &item, evicted);
		if (ret == 0 && q->waiters) {
			struct waiter *w = q->waiters;

			q->waiters = w->next;
			w->woken = true;
			pthread_cond_signal(&w->wake);
		} else if (ret != 0) {
			q->dropped++;
		}
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int cr_queue_pop(struct cr_queue *q, void **item, int64_t timeout_ns)
{
	struct timespec deadline = cr_time_ts(cr_time_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0));
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (cr_ring_length(&q->ring) == 0 && !q->closed && ret == 0) {
		struct waiter w = { .next = q->waiters };

		cr_time_cond_init(&w.wake);
		q->waiters = &w;
		while (!w.woken && ret == 0) {
			if (timeout_ns < 0)
				pthread_cond_wait(&w.wake, &q->lock);
			else
				ret = -pthread_cond_timedwait(&w.wake, &q->lock, &deadline);
		}
		if (!w.woken) { /* timed out: still on the stack */
			struct waiter **link = &q->waiters;

			while (*link != &w)
				link = &(*link)->next;
			*link = w.next;
		}
		pthread_cond_destroy(&w.wake);
	}
	if (cr_ring_pop(&q->ring, item))
		ret = 0;
	else if (q->closed)
		ret = -EPIPE;
	pthread_mutex_unlock(&q->lock);
	return ret;
}

void cr_queue_close(struct cr_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	for (struct waiter *w = q->waiters; w; w = w->next) {
		w->woken = true;
		pthread_cond_signal(&w->wake);
	}
	q->waiters = NULL;
	pthread_mutex_unlock(&q->lock);
}

unsigned cr_queue_length(struct cr_queue *q)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = cr_ring_length(&q->ring);
	pthread_mutex_unlock(&q->lock);
	return n;
}

unsigned cr_queue_waiting(struct cr_queue *q)
{
	unsigned n = 0;

	pthread_mutex_lock(&q->lock);
	for (const struct waiter *w = q->waiters; w; w = w->next)
		n++;
	pthread_mutex_unlock(&q->lock);
	return n;
}

unsigned cr_queue_capacity(struct cr_queue *q)
{
	return q->ring.capacity;
}

uint64_t cr_queue_dropped(struct cr_queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}
