/* Event bus: a list of subscribers under one mutex, each a bounded
 * latest-wins queue of JSON objects (shared, refcounted by jansson). */
#include "base/events.h"

#include "base/mem.h"
#include "base/queue.h"
#include "base/time.h"

#include <pthread.h>
#include <stdlib.h>

struct cr_event_sub {
	struct cr_event_sub *next;
	struct cr_queue *queue;
};

struct cr_events {
	pthread_mutex_t lock;
	struct cr_event_sub *subs;
	uint64_t next_id;
};

struct cr_events *cr_events_new(void)
{
	struct cr_events *ev = CR_NEW(ev);

	pthread_mutex_init(&ev->lock, NULL);
	ev->next_id = 1;
	return ev;
}

void cr_events_free(struct cr_events **pev)
{
	struct cr_events *ev = *pev;

	if (!ev)
		return;
	*pev = NULL;
	while (ev->subs) {
		struct cr_event_sub *s = ev->subs;

		cr_events_unsubscribe(ev, &s);
	}
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

static void drop_event(void *item)
{
	json_decref(item);
}

void cr_events_publish(struct cr_events *ev, const char *type, json_t *data)
{
	json_t *event = json_object();
	int64_t utc_us = cr_time_utc_us();
	char iso[40];

	pthread_mutex_lock(&ev->lock);
	json_object_set_new(event, "id", json_integer((json_int_t)ev->next_id++));
	json_object_set_new(event, "type", json_string(type));
	json_object_set_new(event, "time", json_string(cr_time_iso8601(utc_us, iso, sizeof(iso))));
	json_object_set_new(event, "time_unix", json_real((double)utc_us / 1e6));
	json_object_set_new(event, "mono_ns", json_integer((json_int_t)cr_time_mono_ns()));
	if (data) /* a publisher that knows when it happened gives its own mono_ns */
		json_object_update(event, data);
	for (struct cr_event_sub *s = ev->subs; s; s = s->next) {
		void *evicted = NULL;
		int ret = cr_queue_push(s->queue, json_incref(event), &evicted);

		if (ret == 1)
			drop_event(evicted);
		else if (ret < 0) /* a subscriber closing: its queue took nothing */
			json_decref(event);
	}
	pthread_mutex_unlock(&ev->lock);
	json_decref(data);
	json_decref(event);
}

struct cr_event_sub *cr_events_subscribe(struct cr_events *ev, unsigned depth)
{
	struct cr_event_sub *s = CR_NEW(s);

	s->queue = cr_queue_new(depth, CR_QUEUE_DROP_OLDEST);
	pthread_mutex_lock(&ev->lock);
	s->next = ev->subs;
	ev->subs = s;
	pthread_mutex_unlock(&ev->lock);
	return s;
}

void cr_events_unsubscribe(struct cr_events *ev, struct cr_event_sub **ps)
{
	struct cr_event_sub *s = *ps, **link;

	if (!s)
		return;
	*ps = NULL;
	pthread_mutex_lock(&ev->lock);
	for (link = &ev->subs; *link; link = &(*link)->next) {
		if (*link == s) {
			*link = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&ev->lock);
	cr_queue_free(&s->queue, drop_event);
	free(s);
}

int cr_event_sub_pop(struct cr_event_sub *s, json_t **event, int64_t timeout_ns)
{
	void *item;
	int ret = cr_queue_pop(s->queue, &item, timeout_ns);

	if (ret == 0)
		*event = item;
	return ret;
}

void cr_event_sub_close(struct cr_event_sub *s)
{
	cr_queue_close(s->queue);
}

uint64_t cr_event_sub_dropped(struct cr_event_sub *s)
{
	return cr_queue_dropped(s->queue);
}
