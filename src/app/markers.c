/* LSL marker streams from the event bus (see markers.h).
 *
 * One thread pops the bus subscription; an event of a marker type whose
 * "camera" has a marker outlet becomes that outlet's marker. The push never
 * blocks (lsl/lsl.h), so the thread only ever waits on the bus. A marker too
 * long for LSL (a path of thousands of bytes) is refused by the outlet,
 * counted in its markers_refused and logged. */
#include "app/markers.h"

#include "base/log.h"
#include "base/mem.h"
#include "lsl/lsl.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_DEPTH 64 /* events queued for the thread; markers are rare */

struct cr_markers {
	struct cr_events *events;
	struct cr_event_sub *sub;
	struct cr_rig *rigs;
	unsigned nrigs;
	pthread_t thread;
	bool started;
};

int cr_markers_new(struct cr_events *events, struct cr_rig *rigs, unsigned nrigs, struct cr_markers **out)
{
	struct cr_markers *m = CR_NEW(m);

	m->events = events;
	m->rigs = rigs;
	m->nrigs = nrigs;
	m->sub = cr_events_subscribe(events, EVENT_DEPTH);
	*out = m;
	return 0;
}

static struct cr_lsl_outlet *outlet_of(const struct cr_markers *m, const char *camera)
{
	for (unsigned i = 0; camera && i < m->nrigs; i++)
		if (m->rigs[i].lsl_markers && strcmp(m->rigs[i].config->name, camera) == 0)
			return m->rigs[i].lsl_markers;
	return NULL;
}

/* The marker of event: its data under "event": TYPE, without the bus's own
 * bookkeeping (id, the time fields). Allocated; NULL when it is no marker. */
static char *marker_text(const char *type, json_t *event)
{
	json_t *marker = json_pack("{s:s}", "event", type);
	const char *key;
	json_t *value;
	char *text;

	json_object_foreach(event, key, value) {
		if (strcmp(key, "type") && strcmp(key, "id") && strcmp(key, "time") && strcmp(key, "time_unix") &&
		    strcmp(key, "mono_ns"))
			json_object_set(marker, key, value);
	}
	text = json_dumps(marker, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(marker);
	return text;
}

static void send_marker(struct cr_markers *m, json_t *event)
{
	const char *type = json_string_value(json_object_get(event, "type"));
	const char *camera = json_string_value(json_object_get(event, "camera"));
	json_t *mono = json_object_get(event, "mono_ns");
	struct cr_lsl_outlet *outlet;
	char *text;
	int ret;

	if (!type || !cr_lsl_marker_event(type) || !(outlet = outlet_of(m, camera)) || !json_is_integer(mono))
		return;
	text = marker_text(type, event);
	if (!text)
		return;
	ret = cr_lsl_outlet_push_marker(outlet, text, (int64_t)json_integer_value(mono));
	if (ret < 0)
		cr_warn("lsl: %s: the %s marker (%zu bytes) was not sent: %s", camera, type, strlen(text),
			ret == -E2BIG ? "longer than LSL markers may be" : "refused");
	free(text);
}

static void *markers_thread(void *arg)
{
	struct cr_markers *m = arg;
	json_t *event;

	pthread_setname_np(pthread_self(), "lsl-markers");
	while (cr_event_sub_pop(m->sub, &event, -1) == 0) {
		send_marker(m, event);
		json_decref(event);
	}
	return NULL;
}

int cr_markers_start(struct cr_markers *m)
{
	int ret = -pthread_create(&m->thread, NULL, markers_thread, m);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "lsl: cannot start the markers thread: %s", strerror(-ret));
	m->started = true;
	return 0;
}

void cr_markers_stop(struct cr_markers *m)
{
	if (!m->started)
		return;
	cr_event_sub_close(m->sub);
	pthread_join(m->thread, NULL);
	m->started = false;
}

void cr_markers_free(struct cr_markers **pm)
{
	struct cr_markers *m = *pm;

	if (!m)
		return;
	cr_markers_stop(m);
	cr_events_unsubscribe(m->events, &m->sub);
	free(m);
	*pm = NULL;
}
