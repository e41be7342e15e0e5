/* Bounded pointer queue: a ring buffer under a mutex, one condition variable
 * for consumers. Producers never wait on the condition. */
#include "base/queue.h"

#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct cr_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	void **items;
	unsigned capacity, head, length;
	enum cr_queue_policy policy;
	bool closed;
	uint64_t dropped;
};

struct cr_queue *cr_queue_new(unsigned capacity, enum cr_queue_policy policy)
{
	struct cr_queue *q = CR_NEW(q);

	if (capacity == 0)
		capacity = 1;
	pthread_mutex_init(&q->lock, NULL);
	cr_time_cond_init(&q->nonempty);
	q->items = cr_calloc(capacity, sizeof(*q->items));
	q->capacity = capacity;
	q->policy = policy;
	return q;
}

void cr_queue_free(struct cr_queue **pq, void (*drop)(void *item))
{
	struct cr_queue *q = *pq;

	if (!q)
		return;
	*pq = NULL;
	for (unsigned i = 0; i < q->length; i++)
		if (drop)
			drop(q->items[(q->head + i) % q->capacity]);
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->items);
	free(q);
}

int cr_queue_push(struct cr_queue *q, void *item, void **evicted)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		ret = -EPIPE;
	} else if (q->length == q->capacity) {
		q->dropped++;
		if (q->policy == CR_QUEUE_DROP_NEWEST) {
			ret = -EAGAIN;
		} else {
			*evicted = q->items[q->head];
			q->items[q->head] = item;
			q->head = (q->head + 1) % q->capacity;
			ret = 1;
		}
	} else {
		q->items[(q->head + q->length) % q->capacity] = item;
		q->length++;
		pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int cr_queue_pop(struct cr_queue *q, void **item, int64_t timeout_ns)
{
	struct timespec deadline = cr_time_ts(cr_time_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0));
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (q->length == 0 && !q->closed && ret == 0) {
		if (timeout_ns < 0)
			pthread_cond_wait(&q->nonempty, &q->lock);
		else
			ret = -pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline);
	}
	if (q->length > 0) {
		*item = q->items[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->length--;
		ret = 0;
	} else if (q->closed) {
		ret = -EPIPE;
	}
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
	n = q->length;
	pthread_mutex_unlock(&q->lock);
	return n;
}

unsigned cr_queue_capacity(struct cr_queue *q)
{
	return q->capacity;
}

uint64_t cr_queue_dropped(struct cr_queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}
