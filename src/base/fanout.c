/* Fan-out: a list of subscribers, each a bounded frame queue. */
#include "base/fanout.h"

#include "base/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cr_subscriber {
	struct cr_subscriber *next;
	char name[CR_SUBSCRIBER_NAME_MAX];
	struct cr_queue *queue;
	atomic_bool active;
	uint64_t delivered;  /* under the fan-out lock */
	enum cr_queue_policy policy;
	size_t budget;       /* bytes; 0: none */
	atomic_size_t bytes; /* of the frames queued: added by publish, taken by pop */
	size_t peak_bytes;   /* under the fan-out lock */
	uint64_t over_budget; /* frames dropped for the budget, under the fan-out lock */
};

struct tap {
	char name[CR_SUBSCRIBER_NAME_MAX];
	cr_fanout_tap_fn fn;
	void *ctx;
	uint64_t delivered;          /* under the fan-out lock */
};

struct cr_fanout {
	pthread_mutex_t lock;
	struct cr_subscriber *subscribers;
	struct tap taps[CR_FANOUT_MAX_TAPS];
	unsigned ntaps;
};

struct cr_fanout *cr_fanout_new(void)
{
	struct cr_fanout *fo = CR_NEW(fo);

	pthread_mutex_init(&fo->lock, NULL);
	return fo;
}

void cr_fanout_free(struct cr_fanout **pfo)
{
	struct cr_fanout *fo = *pfo;

	if (!fo)
		return;
	*pfo = NULL;
	while (fo->subscribers) {
		struct cr_subscriber *s = fo->subscribers;

		cr_fanout_unsubscribe(fo, &s);
	}
	pthread_mutex_destroy(&fo->lock);
	free(fo);
}

struct cr_subscriber *cr_fanout_subscribe(struct cr_fanout *fo, const char *name, unsigned depth,
					  enum cr_queue_policy policy)
{
	struct cr_subscriber *s = CR_NEW(s);

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->queue = cr_queue_new(depth, policy);
	s->policy = policy;
	atomic_store(&s->active, true);
	pthread_mutex_lock(&fo->lock);
	s->next = fo->subscribers;
	fo->subscribers = s;
	pthread_mutex_unlock(&fo->lock);
	return s;
}

static void drop_frame(void *item)
{
	struct cr_frame *f = item;

	cr_frame_unref(&f);
}

void cr_fanout_unsubscribe(struct cr_fanout *fo, struct cr_subscriber **ps)
{
	struct cr_subscriber *s = *ps, **link;

	if (!s)
		return;
	*ps = NULL;
	pthread_mutex_lock(&fo->lock);
	for (link = &fo->subscribers; *link; link = &(*link)->next) {
		if (*link == s) {
			*link = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&fo->lock);
	cr_queue_free(&s->queue, drop_frame);
	free(s);
}

void cr_subscriber_set_budget(struct cr_subscriber *s, size_t budget)
{
	s->budget = budget;
}

void cr_subscriber_set_active(struct cr_subscriber *s, bool active)
{
	atomic_store(&s->active, active);
}

int cr_subscriber_pop(struct cr_subscriber *s, struct cr_frame **frame, int64_t timeout_ns)
{
	void *item;
	int ret = cr_queue_pop(s->queue, &item, timeout_ns);

	if (ret == 0) {
		*frame = item;
		atomic_fetch_sub(&s->bytes, (*frame)->size);
	}
	return ret;
}

void cr_subscriber_close(struct cr_subscriber *s)
{
	cr_queue_close(s->queue);
}

int cr_fanout_add_tap(struct cr_fanout *fo, const char *name, cr_fanout_tap_fn fn, void *ctx)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&fo->lock);
	if (fo->ntaps < CR_FANOUT_MAX_TAPS) {
		struct tap *t = &fo->taps[fo->ntaps++];

		snprintf(t->name, sizeof(t->name), "%s", name);
		t->fn = fn;
		t->ctx = ctx;
		t->delivered = 0;
		ret = 0;
	}
	pthread_mutex_unlock(&fo->lock);
	return ret;
}

void cr_fanout_remove_tap(struct cr_fanout *fo, void *ctx)
{
	pthread_mutex_lock(&fo->lock);
	for (unsigned i = 0; i < fo->ntaps; i++) {
		if (fo->taps[i].ctx == ctx) {
			fo->taps[i] = fo->taps[--fo->ntaps];
			break;
		}
	}
	pthread_mutex_unlock(&fo->lock);
}

/* Makes room in s's budget for frame: true when it may be queued. A
 * DROP_OLDEST queue evicts its oldest frames (counted as the queue's
 * drops); a DROP_NEWEST one refuses frame unless the queue is empty.
 * Under the fan-out lock. */
static bool make_room(struct cr_subscriber *s, const struct cr_frame *frame)
{
	void *item;

	if (!s->budget)
		return true;
	while (atomic_load(&s->bytes) + frame->size > s->budget && cr_queue_length(s->queue) > 0) {
		if (s->policy == CR_QUEUE_DROP_NEWEST || cr_queue_pop(s->queue, &item, 0) < 0)
			return false;
		atomic_fetch_sub(&s->bytes, ((struct cr_frame *)item)->size);
		s->over_budget++;
		drop_frame(item);
	}
	return true;
}

unsigned cr_fanout_publish(struct cr_fanout *fo, struct cr_frame *frame)
{
	unsigned drops = 0;

	pthread_mutex_lock(&fo->lock);
	for (unsigned i = 0; i < fo->ntaps; i++) {
		fo->taps[i].fn(fo->taps[i].ctx, frame);
		fo->taps[i].delivered++;
	}
	for (struct cr_subscriber *s = fo->subscribers; s; s = s->next) {
		void *evicted = NULL;
		int ret;

		if (!atomic_load(&s->active))
			continue;
		if (!make_room(s, frame)) {
			drops++;
			s->over_budget++;
			continue;
		}
		atomic_fetch_add(&s->bytes, frame->size);
		ret = cr_queue_push(s->queue, cr_frame_ref(frame), &evicted);
		if (ret == 0) {
			s->delivered++;
		} else if (ret == 1) {
			s->delivered++;
			drops++;
			atomic_fetch_sub(&s->bytes, ((struct cr_frame *)evicted)->size);
			drop_frame(evicted);
		} else {
			drops++;
			atomic_fetch_sub(&s->bytes, frame->size);
			drop_frame(frame); /* the reference taken for the queue */
		}
		if (atomic_load(&s->bytes) > s->peak_bytes)
			s->peak_bytes = atomic_load(&s->bytes);
	}
	pthread_mutex_unlock(&fo->lock);
	return drops;
}

int cr_fanout_stats(struct cr_fanout *fo, struct cr_subscriber_stats *stats, int max)
{
	int n = 0;

	pthread_mutex_lock(&fo->lock);
	for (unsigned i = 0; i < fo->ntaps; i++, n++) {
		if (n >= max)
			continue;
		memset(&stats[n], 0, sizeof(stats[n]));
		memcpy(stats[n].name, fo->taps[i].name, sizeof(stats[n].name));
		stats[n].delivered = fo->taps[i].delivered;
		stats[n].active = true;
	}
	for (struct cr_subscriber *s = fo->subscribers; s; s = s->next, n++) {
		if (n >= max)
			continue;
		memcpy(stats[n].name, s->name, sizeof(stats[n].name));
		stats[n].delivered = s->delivered;
		stats[n].dropped = cr_queue_dropped(s->queue) + s->over_budget;
		stats[n].bytes = atomic_load(&s->bytes);
		stats[n].peak_bytes = s->peak_bytes;
		stats[n].budget = s->budget;
		stats[n].length = cr_queue_length(s->queue);
		stats[n].depth = cr_queue_capacity(s->queue);
		stats[n].active = atomic_load(&s->active);
	}
	pthread_mutex_unlock(&fo->lock);
	return n;
}
