/* The status model (see status.h): one snapshot of every part's stats
 * struct, every JSON view of it and the health verdicts (Prometheus
 * text: metrics.c).
 *
 * Design: cr_status_take() is the only code that asks the parts for their
 * state. Each part copies its stats under its own lock, so a snapshot is
 * consistent per part and taken within microseconds across parts; no part's
 * lock is held while another's is taken, so taking a snapshot can never
 * deadlock with the parts' own threads. The snapshot lives on the heap (a
 * camera's holds several paths of up to 1 KiB) and is rendered as often as
 * a reader likes. Strings that camrig does not control (paths, device and
 * driver names, error texts) go into JSON through base/json.h. */
#include "app/status.h"

#include "app/rig.h"
#include "app/status_snapshot.h"
#include "analysis/analysis.h"
#include "base/fanout.h"
#include "base/error.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/time.h"
#include "camrig-version.h"
#include "control/ntfy.h"
#include "encode/jpeg.h"
#include "encode/video.h"
#include "http/http.h"
#include "lsl/lsl.h"
#include "publish/mqtt.h"
#include "publish/rtsp.h"
#include "publish/tcpstream.h"
#include "publish/upload.h"
#include "record/recorder.h"
#include "record/timelapse.h"
#include "source/camera.h"
#include "telemetry/telemetry.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void take_camera(const struct cr_rig *rig, const struct cr_http_camera *hc, struct camera_status *c)
{
	c->config = rig->config;
	cr_camera_stats(rig->camera, &c->camera);
	c->nconsumers = cr_fanout_stats(cr_camera_fanout(rig->camera), c->consumers, CONSUMERS_MAX);
	if (c->nconsumers > CONSUMERS_MAX)
		c->nconsumers = CONSUMERS_MAX;
	c->ncontrols = cr_camera_controls(rig->camera, c->controls, CR_CAMERA_MAX_CONTROLS);
	if (rig->jpeg) {
		c->jpeg_params = cr_jpeg_stage_params(rig->jpeg, NULL);
		cr_jpeg_stage_stats(rig->jpeg, &c->jpeg);
	}
	c->stream_clients = hc ? atomic_load(&hc->stream_clients) : 0;
	c->has_recorder = rig->recorder && rig->encoder;
	if (c->has_recorder) {
		cr_recorder_stats(rig->recorder, &c->recorder);
		cr_video_encoder_stats(rig->encoder, &c->encoder);
	}
	c->has_timelapse = rig->timelapse != NULL;
	if (c->has_timelapse)
		cr_timelapse_stats(rig->timelapse, &c->timelapse);
	c->has_upload = rig->upload != NULL;
	if (c->has_upload)
		cr_upload_stats(rig->upload, &c->upload);
	c->has_lsl = rig->lsl && cr_lsl_outlet_stats(rig->lsl, &c->lsl) == 0;
	c->has_markers = rig->lsl_markers && cr_lsl_outlet_stats(rig->lsl_markers, &c->markers) == 0;
	c->has_tcp = rig->tcp != NULL;
	if (c->has_tcp)
		cr_tcpstream_stats(rig->tcp, &c->tcp);
	c->has_analysis = rig->analysis != NULL;
	if (c->has_analysis)
		cr_analysis_stats(rig->analysis, &c->analysis);
	c->has_rtsp = rig->rtsp != NULL;
	if (c->has_rtsp)
		cr_rtsp_stats(rig->rtsp, &c->rtsp);
	c->has_webrtc = rig->webrtc != NULL;
	if (c->has_webrtc)
		cr_rtsp_stats(rig->webrtc, &c->webrtc);
}

struct cr_status *cr_status_take(const struct cr_status_source *src)
{
	unsigned n = src->config->ncameras;
	struct cr_status *st = cr_calloc(1, sizeof(*st) + n * sizeof(st->cameras[0]));

	st->utc_us = cr_time_utc_us();
	st->uptime_s = (double)(cr_time_mono_ns() - src->start_mono_ns) / 1e9;
	if (src->http)
		cr_http_server_stats(src->http, &st->http);
	st->ncameras = n;
	for (unsigned i = 0; i < n; i++)
		take_camera(&src->rigs[i], src->http_cameras ? &src->http_cameras[i] : NULL, &st->cameras[i]);
	if (src->ntfy) {
		st->ntfy_server = src->config->ntfy.server;
		cr_ntfy_stats(src->ntfy, &st->ntfy);
	}
	st->has_mqtt = src->mqtt != NULL;
	if (st->has_mqtt)
		cr_mqtt_stats(src->mqtt, &st->mqtt);
	st->has_telemetry = src->telemetry != NULL;
	if (st->has_telemetry)
		cr_telemetry_stats(src->telemetry, &st->telemetry);
	return st;
}

void cr_status_free(struct cr_status **pst)
{
	free(*pst);
	*pst = NULL;
}

/* ---- one camera ----------------------------------------------------------- */

/* "recording", "stopping", "paused" (a session file between spans) or "idle". */
static const char *recording_state(const struct cr_recorder_stats *rs)
{
	return rs->recording ? "recording" : rs->stopping ? "stopping" : rs->paused ? "paused" : "idle";
}

static json_t *recording_json(const struct camera_status *c)
{
	const struct cr_recorder_stats *rs = &c->recorder;
	const struct cr_video_encoder_stats *es = &c->encoder;
	char iso[40] = "";

	if (!c->has_recorder)
		return json_null();
	if (rs->trigger_utc_us)
		cr_time_iso8601(rs->trigger_utc_us, iso, sizeof(iso));
	return json_pack("{s:s, s:b, s:o, s:o, s:o, s:s, s:s, s:f, s:f, s:f,"
			 " s:{s:I, s:I, s:I}, s:I, s:f, s:i, s:I, s:i, s:I,"
			 " s:{s:f, s:f, s:I, s:i},"
			 " s:{s:s, s:s, s:o, s:b, s:b, s:I, s:i, s:I, s:I, s:I, s:f, s:f}, s:s, s:i, s:I, s:I, s:I, s:o}",
		"state", recording_state(rs), "recording", rs->recording,
		"reason", cr_json_str(rs->reason), "file", cr_json_str(rs->file), "sidecar", cr_json_str(rs->sidecar),
		"trigger", rs->trigger,
		"trigger_time", iso, "trigger_unix", (double)rs->trigger_utc_us / 1e6, "duration", rs->duration_s,
		"seconds", rs->file_seconds,
		"frames", "written", (json_int_t)rs->frames_written, "dropped", (json_int_t)rs->frames_dropped,
		"lost", (json_int_t)rs->frames_lost,
		"bytes", (json_int_t)rs->bytes_written,
		"bitrate_kbps", rs->file_seconds > 0 ? (double)rs->bytes_written * 8 / 1000 / rs->file_seconds : 0.0,
		"segment", (int)rs->segment, "recordings", (json_int_t)rs->recordings, "queued", (int)rs->queued,
		"queue_dropped", (json_int_t)rs->queue_dropped,
		"pre_trigger", "target_seconds", rs->pre_trigger_s, "seconds", rs->prebuffer.seconds,
		"bytes", (json_int_t)rs->prebuffer.bytes, "packets", (int)rs->prebuffer.packets,
		"encoder", "codec", es->codec, "encoder", es->encoder, "error", cr_json_str(es->error), "active",
		es->active, "lookahead", es->lookahead, "frames", (json_int_t)es->frames, "in_codec", (int)es->in_codec,
		"packets", (json_int_t)es->packets, "dropped", (json_int_t)es->dropped, "errors", (json_int_t)es->errors,
		"encode_ms", es->encode_ms, "bitrate_kbps", es->bitrate_kbps, "split", c->config->recording.split ? c->config->recording.split : "trigger", "spans",
		(int)rs->spans, "queued_bytes", (json_int_t)rs->queued_bytes, "queue_peak_bytes",
		(json_int_t)rs->queue_peak_bytes, "queue_budget_bytes", (json_int_t)rs->queue_budget_bytes, "disk_free_mb",
		rs->disk_free_mb >= 0 ? json_real(rs->disk_free_mb) : json_null());
}

static json_t *timelapse_json(const struct camera_status *c)
{
	const struct cr_timelapse_stats *st = &c->timelapse;
	char iso[40] = "";

	if (!c->has_timelapse)
		return json_null();
	if (st->last_still_utc_us)
		cr_time_iso8601(st->last_still_utc_us, iso, sizeof(iso));
	return json_pack("{s:s, s:o, s:o, s:i, s:f, s:f, s:i, s:i, s:o, s:s, s:f, s:b, s:i, s:o, s:i, s:o, s:I}",
		"state", cr_timelapse_state_name(st->state), "session", cr_json_str(st->session), "dir",
		cr_json_str(st->dir), "shots", (int)st->shots, "interval", st->interval_s, "fps", st->fps, "quality",
		st->quality, "pending_shots", (int)st->pending_shots, "last_still", cr_json_str(st->last_still),
		"last_still_time", iso, "last_still_unix", (double)st->last_still_utc_us / 1e6, "assembling",
		st->assembling, "assembly_queue", (int)st->assembly_queue, "last_video", cr_json_str(st->last_video),
		"last_video_frames", (int)st->last_video_frames, "last_error", cr_json_str(st->last_error), "errors",
		(json_int_t)st->errors);
}

static json_t *upload_json(const struct camera_status *c)
{
	const struct cr_upload_stats *st = &c->upload;

	if (!c->has_upload)
		return json_pack("{s:b}", "enabled", 0);
	return json_pack("{s:b, s:o, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:o, s:f, s:f, s:f}",
		"enabled", 1, "url", cr_json_str(st->url), "interval_ms", st->interval_ms, "queue", (int)st->capacity,
		"taken", (json_int_t)st->taken, "missed", (json_int_t)st->missed, "sent", (json_int_t)st->sent,
		"failed", (json_int_t)st->failed, "dropped", (json_int_t)st->dropped, "bytes", (json_int_t)st->bytes,
		"queued", (int)st->queued, "last_status", (int)st->last_status, "last_error", cr_json_str(st->last_error),
		"last_sent_unix", (double)st->last_sent_utc_us / 1e6, "backoff_s", st->backoff_s, "post_ms", st->post_ms);
}

/* One outlet's counters. */
static json_t *outlet_json(const struct cr_lsl_stats *s)
{
	return json_pack("{s:o, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "uid", cr_json_str(s->uid),
			 "data_port", (int)s->data_port, "service_port", (int)s->service_port, "inlets", (int)s->inlets,
			 "streaming", (int)s->streaming, "samples_pushed", (json_int_t)s->samples_pushed,
			 "samples_sent", (json_int_t)s->samples_sent, "samples_skipped", (json_int_t)s->samples_skipped,
			 "inlets_dropped", (json_int_t)s->inlets_dropped, "queries_answered",
			 (json_int_t)s->queries_answered, "queries_limited", (json_int_t)s->queries_limited,
			 "requests_timed_out", (json_int_t)s->requests_timed_out);
}

/* The frames outlet's counters, with its marker stream's under "markers"
 * (null when lsl.markers is off). */
static json_t *lsl_json(const struct camera_status *c)
{
	json_t *lsl, *markers;

	if (!c->has_lsl)
		return json_null();
	lsl = outlet_json(&c->lsl);
	markers = c->has_markers ? outlet_json(&c->markers) : json_null();
	if (c->has_markers)
		json_object_set_new(markers, "refused", json_integer((json_int_t)c->markers.markers_refused));
	json_object_set_new(lsl, "markers", markers);
	return lsl;
}

static json_t *tcp_json(const struct camera_status *c)
{
	const struct cr_tcpstream_stats *s = &c->tcp;

	if (!c->has_tcp)
		return json_null();
	return json_pack("{s:o, s:i, s:I, s:I, s:I, s:I, s:b, s:s}", "listen", cr_json_str(s->listen), "clients",
			 (int)s->clients, "clients_total", (json_int_t)s->clients_total, "bytes_sent",
			 (json_int_t)s->bytes_sent, "skips", (json_int_t)s->skips, "dropped", (json_int_t)s->dropped,
			 "shared_encoder", s->shared_encoder, "error",
			 s->not_h264 ? "the encoder does not produce H.264" : "");
}

static json_t *box_json(struct cr_rect r)
{
	if (r.width <= 0 || r.height <= 0)
		return json_null();
	return json_pack("{s:i, s:i, s:i, s:i}", "x", r.x, "y", r.y, "width", r.width, "height", r.height);
}

/* The analysis stage's counters and latest results; null without one. */
static json_t *analysis_json(const struct camera_status *c)
{
	const struct cr_analysis_stats *a = &c->analysis;
	json_t *faces, *boxes;
	char iso[40] = "";

	if (!c->has_analysis)
		return json_null();
	if (a->last_motion_utc_us)
		cr_time_iso8601(a->last_motion_utc_us, iso, sizeof(iso));
	boxes = json_array();
	for (unsigned i = 0; i < a->faces && i < CR_ANALYSIS_MAX_FACES; i++)
		json_array_append_new(boxes, box_json(a->face_boxes[i]));
	faces = json_pack("{s:b, s:I, s:f, s:i, s:o}", "enabled", a->faces_enabled, "detections",
			  (json_int_t)a->detections, "detect_ms", a->detect_ms, "count", (int)a->faces, "boxes", boxes);
	return json_pack("{s:f, s:i, s:i, s:I, s:I, s:I, s:f, s:f,"
			 " s:{s:b, s:b, s:f, s:o, s:I, s:I, s:I, s:s, s:f}, s:o}",
		"fps", a->fps, "width", a->width, "height", a->height, "analysed", (json_int_t)a->analysed,
		"skipped", (json_int_t)a->skipped, "errors", (json_int_t)a->errors, "analyse_ms", a->analyse_ms,
		"cpu_ms", a->cpu_ms,
		"motion", "enabled", a->motion_enabled, "active", a->motion, "fraction", a->fraction, "box",
		box_json(a->box), "events", (json_int_t)a->motion_events, "frames", (json_int_t)a->motion_frames,
		"light_switches", (json_int_t)a->light_switches, "last_motion_time", iso, "last_motion_unix",
		(double)a->last_motion_utc_us / 1e6,
		"faces", faces);
}

/* A publisher's counters (RTSP, or RTP to Janus). */
static json_t *publisher_json(const struct cr_rtsp_stats *s)
{
	return json_pack("{s:o, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:o}", "url", cr_json_str(s->url),
			 "state", cr_rtsp_state_name(s->state), "shared_encoder", s->shared_encoder, "connects",
			 (json_int_t)s->connects, "connect_errors", (json_int_t)s->connect_errors, "packets",
			 (json_int_t)s->packets, "bytes", (json_int_t)s->bytes, "skips", (json_int_t)s->skips,
			 "backoff_s", s->backoff_s, "session_s", s->session_s, "latency_ms", s->latency_ms, "last_error",
			 cr_json_str(s->last_error));
}

static json_t *rtsp_json(const struct camera_status *c)
{
	return c->has_rtsp ? publisher_json(&c->rtsp) : json_null();
}

/* The RTP sender's counters, with what the page needs to play the
 * mountpoint: Janus's URL and the mountpoint id. */
static json_t *webrtc_json(const struct camera_status *c)
{
	json_t *w;

	if (!c->has_webrtc)
		return json_null();
	w = publisher_json(&c->webrtc);
	json_object_set_new(w, "janus", cr_json_str(c->config->webrtc.janus));
	json_object_set_new(w, "mountpoint", json_integer(c->config->webrtc.mountpoint));
	return w;
}

/* Video encoders taking this camera's frames now: each subscribes as
 * "video" (encode/video.c), the recorder's and any stream's own. */
static int encoders_running(const struct camera_status *c)
{
	int n = 0;

	for (int i = 0; i < c->nconsumers; i++)
		n += c->consumers[i].active && strcmp(c->consumers[i].name, "video") == 0;
	return n;
}

/* The controls set so far: {"NAME": "VALUE", ...}. */
static json_t *controls_json(const struct camera_status *c)
{
	json_t *obj = json_object();

	for (int i = 0; i < c->ncontrols; i++) {
		char *name = cr_utf8_escape(c->controls[i].name);

		json_object_set_new(obj, name, cr_json_str(c->controls[i].value));
		free(name);
	}
	return obj;
}

/* The source's stream statistics (GenICam: packets; V4L2, file/url: zero-copy);
 * null for sources without. */
static json_t *stream_json(const struct camera_status *c)
{
	const struct cr_source_stream_stats *s = &c->camera.stream;

	if (!c->camera.has_stream)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "completed", (json_int_t)s->completed,
			 "failed", (json_int_t)s->failed, "underruns", (json_int_t)s->underruns, "incomplete",
			 (json_int_t)s->incomplete, "missing_frames", (json_int_t)s->missing_frames, "missing_packets",
			 (json_int_t)s->missing_packets, "resent_packets", (json_int_t)s->resent_packets,
			 "resend_requests", (json_int_t)s->resend_requests, "borrowed", (json_int_t)s->borrowed,
			 "copied", (json_int_t)s->copied, "driver_min_queued", s->driver_min_queued);
}

static json_t *camera_json(const struct camera_status *c)
{
	const struct cr_camera_stats *st = &c->camera;
	const struct cr_jpeg_params *jp = &c->jpeg_params;
	const struct cr_jpeg_stage_stats *js = &c->jpeg;
	json_t *consumers = json_array(), *camera;

	for (int i = 0; i < c->nconsumers; i++) {
		const struct cr_subscriber_stats *s = &c->consumers[i];

		json_array_append_new(consumers, json_pack("{s:o, s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:b}", "name",
			cr_json_str(s->name), "delivered", (json_int_t)s->delivered, "dropped", (json_int_t)s->dropped,
			"queued", (int)s->length, "depth", (int)s->depth, "queued_bytes", (json_int_t)s->bytes,
			"peak_bytes", (json_int_t)s->peak_bytes, "budget_bytes", (json_int_t)s->budget, "active",
			s->active));
	}
	camera = json_pack(
		"{s:o, s:o, s:o, s:o, s:s, s:o, s:s, s:i, s:i,"
		" s:{s:f, s:f, s:f}, s:{s:I, s:I, s:I, s:i, s:i, s:I}, s:o,"
		" s:{s:i, s:b, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:f, s:I}, s:i, s:f, s:I, s:o, s:o, s:o}",
		"name", cr_json_str(c->config->name), "source", cr_json_str(c->config->source), "device",
		cr_json_str(st->format.device), "driver", cr_json_str(st->format.driver), "state",
		cr_camera_state_name(st->state), "error", cr_json_str(st->error), "format",
		cr_fourcc_name(st->format.fourcc), "width", st->format.width, "height", st->format.height,
		"fps", "requested", st->fps_requested, "nominal", st->format.fps, "measured", st->fps_measured,
		"frames", "captured", (json_int_t)st->frames_captured, "dropped_pool", (json_int_t)st->frames_pool_dropped,
		"lost_upstream", (json_int_t)st->frames_lost_upstream, "pool_size", (int)st->pool_total,
		"pool_in_use", (int)st->pool_in_use, "pool_bytes", (json_int_t)st->pool_bytes,
		"consumers", consumers,
		"jpeg", "quality", jp->quality, "gray", jp->gray, "width", jp->width, "height", jp->height,
		"workers", (int)js->workers, "encoded", (json_int_t)js->encoded,
		"passed_through", (json_int_t)js->passed_through, "errors", (json_int_t)js->errors, "unsent",
		(json_int_t)js->unsent, "skipped", (json_int_t)js->skipped, "encode_ms", js->encode_ms,
		"buffer_bytes", (json_int_t)js->buffer_bytes, "clients", (int)c->stream_clients,
		"last_capture_unix", st->last_mono_ns ? (double)cr_time_mono_to_utc_us(st->last_mono_ns) / 1e6 : 0.0,
		"reconnects", (json_int_t)st->reconnects, "recording", recording_json(c),
		"timelapse", timelapse_json(c), "upload", upload_json(c));
	/* The clock check of a source's timestamps: small and never negative
	 * when they are CLOCK_MONOTONIC. */
	if (st->format.sensor[0])
		json_object_set_new(camera, "sensor", cr_json_str(st->format.sensor));
	json_object_set_new(camera, "capture_age_ms", json_real(st->last_mono_ns ? (double)st->last_age_ns / 1e6 : 0.0));
	json_object_set_new(camera, "lsl", lsl_json(c));
	json_object_set_new(camera, "controls", controls_json(c));
	json_object_set_new(camera, "tcp_stream", tcp_json(c));
	json_object_set_new(camera, "rtsp", rtsp_json(c));
	json_object_set_new(camera, "webrtc", webrtc_json(c));
	json_object_set_new(camera, "encoders", json_integer(encoders_running(c)));
	json_object_set_new(camera, "stream", stream_json(c));
	json_object_set_new(camera, "analysis", analysis_json(c));
	return camera;
}

/* ---- host and sensors --------------------------------------------------------- */

/* A number, or null when not known (< 0). */
static json_t *known(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *throttled_json(const struct cr_host_stats *h)
{
	static const char *const flags[] = { "under_voltage", "frequency_capped", "throttled", "soft_temp_limit" };
	json_t *t;

	if (!h->has_throttled)
		return json_null();
	t = json_pack("{s:o}", "flags", cr_json_sprintf("0x%x", (unsigned)h->throttled));
	for (unsigned i = 0; i < CR_ARRAY_SIZE(flags); i++) {
		char since[40];

		json_object_set_new(t, flags[i], json_boolean(h->throttled & (1u << i)));
		snprintf(since, sizeof(since), "%s_occurred", flags[i]);
		json_object_set_new(t, since, json_boolean(h->throttled & (1u << (16 + i))));
	}
	return t;
}

static json_t *host_json(const struct cr_status *st)
{
	const struct cr_host_stats *h = &st->telemetry.host;
	json_t *disks = json_array(), *thermal = json_array();

	if (!st->has_telemetry || !h->sampled) {
		json_decref(disks);
		json_decref(thermal);
		return json_null();
	}
	for (unsigned i = 0; i < h->ndisks; i++) {
		const struct cr_disk_stats *d = &h->disks[i];

		json_array_append_new(disks, json_pack("{s:o, s:I, s:I, s:o, s:s}", "path", cr_json_str(d->path),
			"free_bytes", (json_int_t)d->free_bytes, "total_bytes", (json_int_t)d->total_bytes, "free_percent",
			d->total_bytes ? json_real(100.0 * (double)d->free_bytes / (double)d->total_bytes) : json_null(),
			"error", d->error ? cr_strerror(d->error) : ""));
	}
	for (unsigned i = 0; i < h->nthermal; i++)
		json_array_append_new(thermal, json_pack("{s:o, s:o, s:f}", "zone", cr_json_str(h->thermal[i].zone), "type",
			cr_json_str(h->thermal[i].type), "celsius", h->thermal[i].celsius));
	return json_pack("{s:o, s:i, s:[f, f, f], s:{s:I, s:I, s:o}, s:f, s:o, s:o, s:o,"
			 " s:{s:o, s:f, s:I, s:I, s:i, s:i, s:I, s:f}}",
		"cpu_percent", known(h->cpu_percent), "cpus", (int)h->cpus, "load", h->load[0], h->load[1], h->load[2],
		"memory", "total_bytes", (json_int_t)h->mem_total_bytes, "available_bytes",
		(json_int_t)h->mem_available_bytes, "used_percent", h->mem_total_bytes ?
		json_real(100.0 - 100.0 * (double)h->mem_available_bytes / (double)h->mem_total_bytes) : json_null(),
		"uptime", h->uptime_s, "disks", disks, "thermal", thermal, "throttled", throttled_json(h),
		"process", "cpu_percent", known(h->process_cpu_percent), "cpu_seconds", h->process_cpu_seconds,
		"rss_bytes", (json_int_t)h->rss_bytes, "vsize_bytes", (json_int_t)h->vsize_bytes, "threads",
		(int)h->threads, "open_fds", (int)h->open_fds, "max_fds", (json_int_t)h->max_fds, "start_time_unix",
		h->start_time_unix);
}

static json_t *sensors_json(const struct cr_status *st)
{
	json_t *list = json_array();

	for (unsigned i = 0; st->has_telemetry && i < st->telemetry.nsensors; i++) {
		const struct cr_sensor_reading *r = &st->telemetry.sensors[i];

		json_array_append_new(list, json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:f, s:b, s:I, s:I, s:o}",
			"name", cr_json_str(r->spec.name), "kind", r->spec.kind == CR_SENSOR_IIO ? "iio" : "hwmon",
			"device", cr_json_str(r->spec.device), "channel", cr_json_str(r->spec.channel), "path",
			cr_json_str(r->path), "value", r->valid ? json_real(r->value) : json_null(), "unit",
			r->unit ? r->unit : "", "time_unix", (double)r->read_utc_us / 1e6, "ok", r->valid && !r->failing,
			"reads", (json_int_t)r->reads, "errors", (json_int_t)r->errors, "error", cr_json_str(r->error)));
	}
	return list;
}

/* ---- views ------------------------------------------------------------------ */

json_t *cr_status_json(const struct cr_status *st)
{
	unsigned stream_clients = 0;
	json_t *cameras = json_array(), *status;
	char iso[40];

	for (unsigned i = 0; i < st->ncameras; i++) {
		json_array_append_new(cameras, camera_json(&st->cameras[i]));
		stream_clients += st->cameras[i].stream_clients;
	}
	status = json_pack("{s:o, s:s, s:f, s:s, s:f, s:{s:i, s:i}, s:{s:i, s:i, s:i, s:I, s:I, s:I, s:I}, s:O, s:o}",
		"name", cr_json_str(st->cameras[0].config->name), "version", CAMRIG_VERSION,
		"uptime", st->uptime_s, "time", cr_time_iso8601(st->utc_us, iso, sizeof(iso)),
		"time_unix", (double)st->utc_us / 1e6,
		"clients", "http", (int)st->http.connections, "stream", (int)stream_clients,
		"http", "connections", (int)st->http.connections, "live_views", (int)st->http.live_views,
		"pending", (int)st->http.pending, "refused", (json_int_t)st->http.refused,
		"evicted", (json_int_t)st->http.evicted, "timed_out", (json_int_t)st->http.timed_out,
		"password_checks", (json_int_t)st->http.password_checks,
		"camera", json_array_get(cameras, 0), "cameras", cameras);
	json_object_set_new(json_object_get(status, "http"), "shared",
			    json_pack("{s:I, s:I, s:I}", "parts", (json_int_t)st->http.shared.parts, "sends",
				      (json_int_t)st->http.shared.sends, "bytes", (json_int_t)st->http.shared.bytes));
	json_object_set_new(status, "host", host_json(st));
	json_object_set_new(status, "sensors", sensors_json(st));
	if (st->ntfy_server) {
		const struct cr_ntfy_stats *n = &st->ntfy;

		json_object_set_new(status, "ntfy", json_pack("{s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "server",
			cr_json_str(st->ntfy_server), "connected", n->connected, "connects", (json_int_t)n->connects,
			"messages_run", (json_int_t)n->messages_run, "messages_skipped", (json_int_t)n->messages_skipped,
			"published", (json_int_t)n->published, "publish_errors", (json_int_t)n->publish_errors,
			"dropped", (json_int_t)n->dropped, "errors", (json_int_t)n->errors));
	}
	if (st->has_mqtt) {
		const struct cr_mqtt_stats *m = &st->mqtt;

		json_object_set_new(status, "mqtt", json_pack("{s:o, s:o, s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			"broker", cr_json_str(m->broker), "client_id", cr_json_str(m->client_id), "base_topic",
			cr_json_str(m->base_topic), "connected", m->connected, "connects", (json_int_t)m->connects,
			"connect_errors", (json_int_t)m->connect_errors, "commands_run", (json_int_t)m->commands_run,
			"commands_skipped", (json_int_t)m->commands_skipped, "published", (json_int_t)m->published,
			"dropped", (json_int_t)m->dropped, "discovery_removed", (json_int_t)m->discovery_removed,
			"last_error", cr_json_str(m->last_error)));
	}
	return status;
}

json_t *cr_status_mqtt_json(const struct cr_status *st)
{
	json_t *cameras = json_array();

	for (unsigned i = 0; i < st->ncameras; i++) {
		const struct camera_status *c = &st->cameras[i];
		const struct cr_camera_stats *cs = &c->camera;
		json_t *telemetry = json_pack("{s:f, s:I, s:I, s:i, s:b, s:o}", "fps", cs->fps_measured, "frames",
			(json_int_t)cs->frames_captured, "dropped",
			(json_int_t)(cs->frames_pool_dropped + cs->frames_lost_upstream), "clients", (int)c->stream_clients,
			"recording", c->has_recorder && c->recorder.recording, "disk_free_mb",
			c->has_recorder && c->recorder.disk_free_mb >= 0 ? json_real(c->recorder.disk_free_mb)
									  : json_null());

		json_array_append_new(cameras, json_pack("{s:o, s:o}", "state", camera_json(c), "telemetry",
							 telemetry));
	}
	return cameras;
}

json_t *cr_status_mqtt_host_json(const struct cr_status *st)
{
	const struct cr_host_stats *h = &st->telemetry.host;
	json_t *sensors = json_object();

	if (!st->has_telemetry || !h->sampled) {
		json_decref(sensors);
		return NULL;
	}
	for (unsigned i = 0; i < st->telemetry.nsensors; i++) {
		const struct cr_sensor_reading *r = &st->telemetry.sensors[i];

		json_object_set_new(sensors, r->spec.name, r->valid && !r->failing ? json_real(r->value) : json_null());
	}
	return json_pack("{s:o, s:f, s:f, s:o}", "cpu_percent", h->cpu_percent >= 0 ? json_real(h->cpu_percent)
											: json_null(),
			 "load1", h->load[0], "memory_available_mb", (double)h->mem_available_bytes / (1024.0 * 1024.0),
			 "sensors", sensors);
}

json_t *cr_status_stats_json(const struct cr_status *st)
{
	json_t *stats = cr_status_json(st);

	json_object_del(stats, "camera");
	json_object_del(stats, "name");
	json_object_del(stats, "version");
	return stats;
}

json_t *cr_status_cameras_json(const struct cr_status *st)
{
	json_t *cameras = json_array();

	for (unsigned i = 0; i < st->ncameras; i++) {
		const struct camera_status *c = &st->cameras[i];
		const struct cr_camera_stats *cs = &c->camera;

		json_array_append_new(cameras, json_pack("{s:o, s:o, s:o, s:o, s:s, s:s, s:i, s:i, s:f, s:b, s:o}",
			"name", cr_json_str(c->config->name), "source", cr_json_str(c->config->source), "device",
			cr_json_str(cs->format.device), "driver", cr_json_str(cs->format.driver), "state",
			cr_camera_state_name(cs->state), "format", cr_fourcc_name(cs->format.fourcc), "width",
			cs->format.width, "height", cs->format.height, "fps", cs->format.fps, "recording",
			c->has_recorder && c->recorder.recording, "controls", controls_json(c)));
	}
	return cameras;
}

json_t *cr_status_recordings_json(const struct cr_status *st)
{
	json_t *cameras = json_array();
	bool any = false;

	for (unsigned i = 0; i < st->ncameras; i++) {
		json_t *r = recording_json(&st->cameras[i]);

		if (!json_is_object(r)) {
			json_decref(r);
			r = json_object();
		}
		any = any || json_is_true(json_object_get(r, "recording"));
		json_object_set_new(r, "camera", cr_json_str(st->cameras[i].config->name));
		json_array_append_new(cameras, r);
	}
	return json_pack("{s:b, s:o}", "recording", any, "cameras", cameras);
}

json_t *cr_status_camera_timelapse_json(const struct cr_status *st, unsigned camera)
{
	json_t *t = timelapse_json(&st->cameras[camera]);

	if (!json_is_object(t)) {
		json_decref(t);
		t = json_object();
	}
	json_object_set_new(t, "camera", cr_json_str(st->cameras[camera].config->name));
	return t;
}

json_t *cr_status_timelapses_json(const struct cr_status *st)
{
	json_t *cameras = json_array();

	for (unsigned i = 0; i < st->ncameras; i++)
		json_array_append_new(cameras, cr_status_camera_timelapse_json(st, i));
	return json_pack("{s:o}", "cameras", cameras);
}

void cr_status_line(const struct cr_status *st, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < st->ncameras && n < len; i++) {
		const struct camera_status *c = &st->cameras[i];
		const char *rec = !c->has_recorder ? "" : c->recorder.recording ? "recording" : "";

		n += (size_t)snprintf(buf + n, len - n, "%s%s: %s %.1f fps%s%s", i ? ", " : "", c->config->name,
				      cr_camera_state_name(c->camera.state), c->camera.fps_measured, *rec ? ", " : "", rec);
		if (*rec && n < len)
			n += (size_t)snprintf(buf + n, len - n, " %.0f s", c->recorder.file_seconds);
	}
	if (n < len)
		snprintf(buf + n, len - n, "; %u live views", st->http.live_views);
}

/* ---- health ------------------------------------------------------------------ */

/* "12:03:07 UTC" of utc_us (µs since the UTC epoch). */
static const char *clock_utc(int64_t utc_us, char *buf, size_t len)
{
	time_t t = (time_t)(utc_us / CR_US_PER_SEC);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%02d:%02d:%02d UTC", tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

void cr_status_camera_health(const struct cr_status_source *src, unsigned camera, double max_age_s,
			     struct cr_status_health *h)
{
	struct cr_camera_stats st;
	int64_t now = cr_time_mono_ns();
	char at[32];

	cr_camera_stats(src->rigs[camera].camera, &st);
	memset(h, 0, sizeof(*h));
	h->state = cr_camera_state_name(st.state);
	h->down = st.state != CR_CAMERA_RUNNING;
	h->width = st.format.width;
	h->height = st.format.height;
	snprintf(h->error, sizeof(h->error), "%s", st.error);
	h->frame_age_s = (double)(now - (st.last_mono_ns ? st.last_mono_ns : st.state_mono_ns)) / 1e9;
	if (h->down) {
		h->since_utc_us = st.state_mono_ns ? cr_time_mono_to_utc_us(st.state_mono_ns) : 0;
		clock_utc(h->since_utc_us, at, sizeof(at));
		switch (st.state) {
		case CR_CAMERA_LOST:
			snprintf(h->what, sizeof(h->what), "camera lost %s, reconnecting", at);
			break;
		case CR_CAMERA_ENDED:
			snprintf(h->what, sizeof(h->what), "input ended %s", at);
			break;
		case CR_CAMERA_FAILED:
			snprintf(h->what, sizeof(h->what), "camera failed %s", at);
			break;
		default:
			snprintf(h->what, sizeof(h->what), "camera stopped");
			break;
		}
		return;
	}
	h->healthy = h->frame_age_s <= max_age_s;
	if (st.last_mono_ns)
		h->since_utc_us = cr_time_mono_to_utc_us(st.last_mono_ns);
	if (h->healthy)
		return;
	if (st.last_mono_ns)
		snprintf(h->what, sizeof(h->what), "no frame since %s (%.0f s)", clock_utc(h->since_utc_us, at, sizeof(at)),
			 h->frame_age_s);
	else
		snprintf(h->what, sizeof(h->what), "no frame yet (%.0f s since the camera started)", h->frame_age_s);
}

json_t *cr_status_health_json(const struct cr_status_source *src, bool *healthy)
{
	double max_age = src->config->health.max_age;
	json_t *cameras = json_array();
	char reason[512] = "";

	*healthy = true;
	for (unsigned i = 0; i < src->config->ncameras; i++) {
		const char *name = src->config->cameras[i].name;
		struct cr_status_health h;

		cr_status_camera_health(src, i, max_age, &h);
		if (!h.healthy && *healthy) {
			*healthy = false;
			snprintf(reason, sizeof(reason), "%s: %s%s%s%s", name, h.what, h.error[0] ? " (" : "", h.error,
				 h.error[0] ? ")" : "");
		}
		json_array_append_new(cameras, json_pack("{s:o, s:b, s:s, s:f, s:s, s:o}", "name", cr_json_str(name),
			"healthy", h.healthy, "state", h.state, "frame_age", h.frame_age_s, "what", h.what, "error",
			cr_json_str(h.error)));
	}
	return json_pack("{s:b, s:f, s:o, s:o}", "healthy", *healthy, "max_age", max_age, "reason", cr_json_str(reason),
			 "cameras", cameras);
}

json_t *cr_status_live_json(const struct cr_status *st)
{
	unsigned stream_clients = 0;
	json_t *cameras = json_array();

	for (unsigned i = 0; i < st->ncameras; i++) {
		const struct camera_status *c = &st->cameras[i];
		const struct cr_camera_stats *cs = &c->camera;
		const struct cr_recorder_stats *rs = &c->recorder;
		json_t *rec = json_null(), *tl = json_null();

		stream_clients += c->stream_clients;
		if (c->has_recorder)
			rec = json_pack("{s:s, s:o, s:f, s:f, s:I, s:I, s:I, s:I}", "state", recording_state(rs), "file",
					cr_json_str(rs->file), "seconds", rs->file_seconds, "duration", rs->duration_s,
					"frames", (json_int_t)rs->frames_written, "dropped", (json_int_t)rs->frames_dropped,
					"lost", (json_int_t)rs->frames_lost, "bytes", (json_int_t)rs->bytes_written);
		if (c->has_timelapse)
			tl = json_pack("{s:s, s:o, s:i, s:f, s:b}", "state", cr_timelapse_state_name(c->timelapse.state),
				       "session", cr_json_str(c->timelapse.session), "shots", (int)c->timelapse.shots,
				       "interval", c->timelapse.interval_s, "assembling", c->timelapse.assembling);
		json_array_append_new(cameras, json_pack("{s:o, s:s, s:o, s:s, s:i, s:i, s:f, s:I, s:I, s:i, s:o, s:o}",
			"name", cr_json_str(c->config->name), "state", cr_camera_state_name(cs->state), "error",
			cr_json_str(cs->error), "format", cr_fourcc_name(cs->format.fourcc), "width", cs->format.width,
			"height", cs->format.height, "fps", cs->fps_measured, "frames", (json_int_t)cs->frames_captured,
			"dropped", (json_int_t)(cs->frames_pool_dropped + cs->frames_lost_upstream), "clients",
			(int)c->stream_clients, "recording", rec, "timelapse", tl));
	}
	return json_pack("{s:f, s:{s:i, s:i}, s:o}", "time_unix", (double)st->utc_us / 1e6, "clients", "http",
			 (int)st->http.connections, "stream", (int)stream_clients, "cameras", cameras);
}

unsigned cr_status_files_in_use(const struct cr_status *st, const char **paths, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < st->ncameras; i++) {
		const struct camera_status *c = &st->cameras[i];

		if (c->has_recorder && (c->recorder.recording || c->recorder.stopping || c->recorder.paused)) {
			if (n < max && c->recorder.file[0])
				paths[n++] = c->recorder.file;
			if (n < max && c->recorder.sidecar[0])
				paths[n++] = c->recorder.sidecar;
		}
		if (c->has_timelapse && c->timelapse.state != CR_TIMELAPSE_IDLE && c->timelapse.dir[0] && n < max)
			paths[n++] = c->timelapse.dir;
	}
	return n;
}
