/* The status model: one consistent snapshot of every part, rendered for
 * every reader.
 *
 * Each part exports a stats struct (cr_camera_stats, cr_recorder_stats, ...);
 * cr_status_take() copies all of them once, each under its own lock, and the
 * renderers below turn that one snapshot into what /status, GET /api/record,
 * GET /api/timelapse, the status, get_stats and timelapse commands (and so
 * ntfy replies) answer. A reader that needs another view of the state adds
 * a renderer here, never a second walk over the parts. */
#ifndef CR_APP_STATUS_H
#define CR_APP_STATUS_H

#include "config/config.h"

#include <jansson.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_rig;
struct cr_http_server;
struct cr_http_camera;
struct cr_ntfy;

/* What a snapshot is taken of; pipeline.c fills it in as parts start. */
struct cr_status_source {
	const struct cr_config *config;
	struct cr_rig *rigs;                 /* config->ncameras */
	struct cr_http_camera *http_cameras; /* the same cameras as HTTP serves them (stream clients) */
	struct cr_http_server *http;         /* NULL: not serving (yet) */
	struct cr_ntfy *ntfy;                /* NULL: ntfy off */
	int64_t start_mono_ns;               /* when camrig started, CLOCK_MONOTONIC ns */
};

struct cr_status;

/* Takes a snapshot of everything src names. Safe from any thread while the
 * parts are not freed. Never NULL. */
struct cr_status *cr_status_take(const struct cr_status_source *src);

/* NULL-safe; sets *status to NULL. */
void cr_status_free(struct cr_status **status);

/* The whole status, as /status serves it and the status command answers:
 *   name, version, uptime (s), time (ISO 8601 UTC), time_unix (s),
 *   clients: {http, stream}, http: {connections, live_views, pending, refused,
 *   evicted, timed_out} (struct cr_http_stats), camera: the first camera,
 *   cameras: [every camera]
 * where a camera is
 *   name, source, device, driver, state, error, format, width, height,
 *   fps: {requested, nominal, measured}, frames: {captured, dropped_pool,
 *   lost_upstream, pool_size, pool_in_use}, consumers: [{name, delivered,
 *   dropped, queued, depth, active}], jpeg: {quality, gray, width, height,
 *   workers, encoded, passed_through, errors, encode_ms}, clients,
 *   last_capture_unix, reconnects, recording (as in GET /api/record),
 *   timelapse (as in GET /api/timelapse), upload, lsl, controls, tcp_stream,
 *   analysis: null, or {fps, width, height, analysed, skipped, errors,
 *   analyse_ms, cpu_ms, motion: {enabled, active, fraction, box, events,
 *   frames, light_switches, last_motion_time, last_motion_unix}, faces:
 *   {enabled, detections, detect_ms, count, boxes}} (boxes in camera pixels)
 * and, when ntfy is on, ntfy: {server, connected, connects, messages_run,
 * messages_skipped, published, publish_errors, dropped, errors}. The README
 * documents each field for users. */
json_t *cr_status_json(const struct cr_status *status);

/* The get_stats reply: everything /status has but the "camera" shortcut
 * and the daemon's name and version: {uptime, time, time_unix, clients,
 * cameras: [each camera's full object: frames, consumers, jpeg, recording
 * (with pre_trigger and encoder), timelapse, upload, lsl, tcp_stream, ...],
 * ntfy when on}. */
json_t *cr_status_stats_json(const struct cr_status *status);

/* GET /api/record: {recording: any camera records, cameras: [each camera's
 * recording object with its "camera" name]}. */
json_t *cr_status_recordings_json(const struct cr_status *status);

/* GET /api/timelapse: {cameras: [each camera's timelapse object with its
 * "camera" name]}. */
json_t *cr_status_timelapses_json(const struct cr_status *status);

/* One camera's timelapse object (index into config->cameras) with its
 * "camera" name, for the timelapse command's reply. */
json_t *cr_status_camera_timelapse_json(const struct cr_status *status, unsigned camera);

#ifdef __cplusplus
}
#endif

#endif
