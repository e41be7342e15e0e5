/* The event bus: state changes as JSON objects, delivered to every
 * subscriber (Server-Sent Events clients, ntfy, the monitor) through its own
 * bounded queue. Publishing never blocks; a subscriber that falls behind
 * loses its oldest events and the loss is counted.
 *
 * An event is {"id": N, "type": "...", "time": "ISO 8601 UTC", "time_unix": s,
 * "mono_ns": ns, ...data}: mono_ns is when it happened on CLOCK_MONOTONIC
 * (the trigger of a recording, the capture of a still; else when it was
 * published), the clock of frames and LSL timestamps. Types so far: "ready", "stopping", "recording_started",
 * "recording_finished", "camera_lost", "camera_found", "error", and the
 * analysis stage's "motion_start", "motion_end", "faces" (analysis/analysis.h). */
#ifndef CR_BASE_EVENTS_H
#define CR_BASE_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_events;
struct cr_event_sub;

struct cr_events *cr_events_new(void);

/* Every subscriber must be gone. NULL-safe; sets *events to NULL. */
void cr_events_free(struct cr_events **events);

/* Publishes an event of type with the members of data (a JSON object, taken:
 * the bus owns the reference; NULL for none). Thread-safe, never blocks. */
void cr_events_publish(struct cr_events *events, const char *type, json_t *data);

/* Adds a subscriber with room for depth events. */
struct cr_event_sub *cr_events_subscribe(struct cr_events *events, unsigned depth);

/* Removes and frees a subscriber. NULL-safe; sets *sub to NULL. */
void cr_events_unsubscribe(struct cr_events *events, struct cr_event_sub **sub);

/* Takes the next event (the caller owns the reference), waiting up to
 * timeout_ns (< 0: forever). Returns 0, -ETIMEDOUT, or -EPIPE after
 * cr_event_sub_close(). */
int cr_event_sub_pop(struct cr_event_sub *sub, json_t **event, int64_t timeout_ns);

/* Wakes the subscriber's reader for good. */
void cr_event_sub_close(struct cr_event_sub *sub);

/* Events this subscriber lost to a full queue. */
uint64_t cr_event_sub_dropped(struct cr_event_sub *sub);

#ifdef __cplusplus
}
#endif

#endif
