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
struct cr_telemetry;
struct cr_mqtt;

/* What a snapshot is taken of; pipeline.c fills it in as parts start. */
struct cr_status_source {
	const struct cr_config *config;
	struct cr_rig *rigs;                 /* config->ncameras */
	struct cr_http_camera *http_cameras; /* the same cameras as HTTP serves them (stream clients) */
	struct cr_http_server *http;         /* NULL: not serving (yet) */
	struct cr_ntfy *ntfy;                /* NULL: ntfy off */
	struct cr_telemetry *telemetry;      /* host and sensors; NULL: not started (yet) */
	struct cr_mqtt *mqtt;                /* NULL: mqtt off */
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
 *   evicted, timed_out, password_checks, shared: {parts, sends, bytes}} (struct cr_http_stats),
 *   camera: the first camera,
 *   cameras: [every camera]
 * where a camera is
 *   name, source, device, driver, state, error, format, width, height,
 *   fps: {requested, nominal, measured}, frames: {captured, dropped_pool,
 *   lost_upstream, pool_size, pool_in_use, pool_bytes}, consumers: [{name, delivered,
 *   dropped, queued, depth, active}], jpeg: {quality, gray, width, height,
 *   workers, encoded, passed_through, errors, encode_ms}, clients,
 *   last_capture_unix, reconnects, recording (as in GET /api/record),
 *   timelapse (as in GET /api/timelapse), upload, lsl, controls, tcp_stream,
 *   rtsp: {url, state, shared_encoder, connects, connect_errors, packets,
 *   bytes, skips, backoff_s, session_s, latency_ms, last_error} or null,
 *   webrtc: the same of the RTP sender to Janus with janus (URL) and
 *   mountpoint, or null, encoders (video encoders taking frames now),
 *   stream (GenICam cameras: {completed, failed, underruns, incomplete,
 *   missing_frames, missing_packets, resent_packets, resend_requests}; else null),
 *   analysis: null, or {fps, width, height, analysed, skipped, errors,
 *   analyse_ms, cpu_ms, motion: {enabled, active, fraction, box, events,
 *   frames, light_switches, last_motion_time, last_motion_unix}, faces:
 *   {enabled, detections, detect_ms, count, boxes}} (boxes in camera pixels)
 * and, when ntfy is on, ntfy: {server, connected, connects, messages_run,
 * messages_skipped, published, publish_errors, dropped, errors}; when mqtt
 * is on, mqtt: {broker, client_id, base_topic, connected, connects,
 * connect_errors, commands_run, commands_skipped, published, dropped,
 * discovery_removed, last_error}; host
 * (telemetry.h: cpu_percent, cpus, load, memory, uptime, disks, thermal,
 * throttled, process; null before the first sample) and sensors: [{name,
 * kind, device, channel, path, value, unit, time_unix, ok, reads, errors,
 * error}]. A camera's recording has disk_free_mb (MiB free where recordings
 * go; null: unknown). The README documents each field for users. */
json_t *cr_status_json(const struct cr_status *status);

/* The get_stats reply: everything /status has but the "camera" shortcut
 * and the daemon's name and version: {uptime, time, time_unix, clients,
 * cameras: [each camera's full object: frames, consumers, jpeg, recording
 * (with pre_trigger and encoder), timelapse, upload, lsl, tcp_stream, ...],
 * ntfy when on}. */
json_t *cr_status_stats_json(const struct cr_status *status);

/* What MQTT publishes per camera (publish/mqtt.h): an array, config order,
 * of {"state": the camera's object as /status has it, "telemetry": {fps (measured),
 * frames (captured), dropped (frames lost in the pool or upstream),
 * clients (live views), recording (bool), disk_free_mb (MiB free where
 * recordings go, null: unknown)}}. */
json_t *cr_status_mqtt_json(const struct cr_status *status);

/* What MQTT publishes for the machine (BASE/telemetry): {cpu_percent (null
 * before the second sample), load1, memory_available_mb (MiB), sensors:
 * {NAME: the latest reading in its unit, null while its last read failed}},
 * or NULL before telemetry's first sample. */
json_t *cr_status_mqtt_host_json(const struct cr_status *status);

/* The cameras in short, for agents (MCP list_cameras): [{name, source,
 * device, driver, state, format, width, height, fps (nominal), recording
 * (bool), controls: {NAME: VALUE as set}}]. */
json_t *cr_status_cameras_json(const struct cr_status *status);

/* GET /api/record: {recording: any camera records, cameras: [each camera's
 * recording object with its "camera" name]}. */
json_t *cr_status_recordings_json(const struct cr_status *status);

/* GET /api/timelapse: {cameras: [each camera's timelapse object with its
 * "camera" name]}. */
json_t *cr_status_timelapses_json(const struct cr_status *status);

/* One camera's timelapse object (index into config->cameras) with its
 * "camera" name, for the timelapse command's reply. */
json_t *cr_status_camera_timelapse_json(const struct cr_status *status, unsigned camera);

/* /metrics: the whole snapshot in the Prometheus text exposition format
 * 0.0.4, every family with HELP and TYPE: per camera (label camera)
 * camrig_frames_captured_total, camrig_frames_pool_dropped_total,
 * camrig_frames_lost_upstream_total, camrig_camera_fps, camrig_camera_up,
 * the JPEG stage, recording, pre-trigger, encoder, LSL, timelapse, upload,
 * RTSP (camrig_rtsp_*) and WebRTC (camrig_webrtc_*) counters; the ntfy and
 * MQTT (camrig_mqtt_*) client's; per consumer (camera, consumer) camrig_frames_delivered_total
 * and camrig_frames_dropped_total; camrig_http_requests_total by code; the
 * process_* families of Prometheus' client libraries; camrig_host_*; the
 * sensors as camrig_sensor_UNIT (label sensor). Allocated, *len bytes (no
 * NUL counted, one there); the caller frees it. The README lists the
 * families. */
char *cr_status_metrics(const struct cr_status *status, size_t *len);

/* One line for people (systemd's STATUS=, `systemctl status`), into buf
 * (len bytes, truncated): each camera's state, measured fps and recording,
 * and the live views open: "camera: running 30.0 fps, recording 12 s; 2 live
 * views". */
void cr_status_line(const struct cr_status *status, char *buf, size_t len);

/* One camera's health (camera: an index into config->cameras), judged by
 * its state and the age of its last frame against max_age_s (s). Copies
 * that camera's stats only: cheap enough for every request. */
struct cr_status_health {
	bool healthy;                /* running, and a frame within max_age_s */
	bool down;                   /* lost, ended, failed or stopped: no frame is coming soon */
	const char *state;           /* cr_camera_state_name(): "running", "lost", ... */
	double frame_age_s;          /* s since the last frame; since the camera started when none yet */
	int64_t since_utc_us;        /* when it went down, else the last frame's capture time (µs since the
					UTC epoch); 0: neither */
	int width, height;           /* the source's frame size, pixels; 0 before it ever opened */
	char what[160];              /* when not healthy, what happened and since when, for people:
					"camera lost 12:03:07 UTC, reconnecting"; else "" */
	char error[160];             /* the camera's last error, "" if none */
};

void cr_status_camera_health(const struct cr_status_source *src, unsigned camera, double max_age_s,
			     struct cr_status_health *out);

/* /healthz: {healthy, max_age (s), reason ("" when healthy, else the first
 * unhealthy camera's "NAME: what (error)"), cameras: [{name, healthy, state,
 * frame_age (s), what, error}]}, judged by config->health.max_age; *healthy
 * says whether every camera is. */
json_t *cr_status_health_json(const struct cr_status_source *src, bool *healthy);
/* The live summary the page shows, the "stats" event of /api/events?stats=N:
 *   {time_unix, clients: {http, stream}, cameras: [{name, state, error,
 *   format, width, height, fps (measured), frames (captured), dropped (frames
 *   the pool had no room for, and lost upstream), clients, recording: {state,
 *   file, seconds, duration, frames, dropped, lost, bytes} or null,
 *   timelapse: {state, session, shots, interval, assembling} or null}]} */
json_t *cr_status_live_json(const struct cr_status *status);

/* The files being written now: each camera's recording file and sidecar
 * while it records or stops, and the directory of each running or paused
 * timelapse session (whose stills are written there). Into paths[max] as
 * pointers into status (valid while it is); returns how many. For
 * refusing to delete them and marking them in listings. */
unsigned cr_status_files_in_use(const struct cr_status *status, const char **paths, unsigned max);

#ifdef __cplusplus
}
#endif

#endif
