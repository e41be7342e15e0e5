/* LSL marker streams fed from the event bus: each camera with
 * lsl.markers gets one marker per event cr_lsl_marker_event() names
 * (recording started and finished, snapshot, timelapse shot, camera lost
 * and found), a compact JSON object {"event": TYPE, "camera": NAME, ...the
 * event's data} stamped with the event's mono_ns (when it happened, on the
 * frames' clock). */
#ifndef CR_APP_MARKERS_H
#define CR_APP_MARKERS_H

#include "app/rig.h"
#include "base/events.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cr_markers;

/* Creates the feeder of the nrigs rigs' marker outlets (rig->lsl_markers;
 * rigs without one are skipped) and subscribes it to events. Both must
 * outlive it. Returns 0 and sets *out. */
int cr_markers_new(struct cr_events *events, struct cr_rig *rigs, unsigned nrigs, struct cr_markers **out);

/* Starts its thread ("lsl-markers"). Returns 0 or a negative errno (logged). */
int cr_markers_start(struct cr_markers *markers);

/* Stops and joins the thread; events after it are not sent. Idempotent. */
void cr_markers_stop(struct cr_markers *markers);

/* Stops, unsubscribes and frees. NULL-safe; sets *markers to NULL. */
void cr_markers_free(struct cr_markers **markers);

#ifdef __cplusplus
}
#endif

#endif
