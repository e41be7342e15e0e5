/* Bounded pointer queue: a ring of pointers (base/ring.h) under a mutex, one
 * condition variable for consumers. Producers never wait on the condition. */
#include "base/queue.h"

#include "base/mem.h"
#include "base/ring.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct cr_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct cr_ring ring;          /* of void * */
	bool closed;
	uint64_t dropped;
};

struct cr_queue *cr_queue_new(unsigned capacity, enum cr_queue_policy policy)
{
	struct cr_queue *q = CR_NEW(q);

	pthread_mutex_init(&q->lock, NULL);
	cr_time_cond_init(&q->nonempty);
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
	pthread_cond_destroy(&q->nonempty);
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
		if (ret == 0)
			pthread_cond_signal(&q->nonempty);
		else
			q->dropped++;
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
		if (timeout_ns < 0)
			pthread_cond_wait(&q->nonempty, &q->lock);
		else
			ret = -pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline);
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
	pthread_cond_broadcast(&q->nonempty);
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
