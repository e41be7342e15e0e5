/* The status model (see status.h): one snapshot of every part's stats
 * struct, and every JSON view of it.
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
#include "base/fanout.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/time.h"
#include "camrig-version.h"
#include "control/ntfy.h"
#include "encode/jpeg.h"
#include "encode/video.h"
#include "http/http.h"
#include "lsl/lsl.h"
#include "publish/tcpstream.h"
#include "publish/upload.h"
#include "record/recorder.h"
#include "record/timelapse.h"
#include "source/camera.h"

#include <stdatomic.h>
#include <stdlib.h>

#define CONSUMERS_MAX 16

struct camera_status {
	const struct cr_camera_config *config;
	struct cr_camera_stats camera;
	struct cr_subscriber_stats consumers[CONSUMERS_MAX];
	int nconsumers;
	struct cr_camera_control controls[CR_CAMERA_MAX_CONTROLS];
	int ncontrols;
	struct cr_jpeg_params jpeg_params;
	struct cr_jpeg_stage_stats jpeg;
	unsigned stream_clients;             /* /stream.mjpg responses open */
	bool has_recorder;
	struct cr_recorder_stats recorder;
	struct cr_video_encoder_stats encoder;
	bool has_timelapse;
	struct cr_timelapse_stats timelapse;
	bool has_upload;
	struct cr_upload_stats upload;
	bool has_lsl;
	struct cr_lsl_stats lsl;
	bool has_tcp;
	struct cr_tcpstream_stats tcp;
};

struct cr_status {
	int64_t utc_us;                      /* when it was taken, µs since the UTC epoch */
	double uptime_s;                     /* s since camrig started */
	struct cr_http_stats http;           /* zero when not serving */
	const char *ntfy_server;             /* NULL: ntfy off */
	struct cr_ntfy_stats ntfy;
	unsigned ncameras;
	struct camera_status cameras[];
};

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
	c->has_tcp = rig->tcp != NULL;
	if (c->has_tcp)
		cr_tcpstream_stats(rig->tcp, &c->tcp);
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
	return st;
}

void cr_status_free(struct cr_status **pst)
{
	free(*pst);
	*pst = NULL;
}

/* ---- one camera ----------------------------------------------------------- */

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
			 " s:{s:s, s:s, s:o, s:b, s:I, s:I, s:I, s:I, s:f, s:f}}",
		"state", rs->recording ? "recording" : rs->stopping ? "stopping" : "idle", "recording", rs->recording,
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
		es->active, "frames", (json_int_t)es->frames, "packets", (json_int_t)es->packets, "dropped",
		(json_int_t)es->dropped, "errors", (json_int_t)es->errors, "encode_ms", es->encode_ms, "bitrate_kbps",
		es->bitrate_kbps);
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

static json_t *lsl_json(const struct camera_status *c)
{
	const struct cr_lsl_stats *s = &c->lsl;

	if (!c->has_lsl)
		return json_null();
	return json_pack("{s:o, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "uid", cr_json_str(s->uid), "data_port",
			 (int)s->data_port, "service_port", (int)s->service_port, "inlets", (int)s->inlets, "streaming",
			 (int)s->streaming, "samples_pushed", (json_int_t)s->samples_pushed, "samples_sent",
			 (json_int_t)s->samples_sent, "samples_skipped", (json_int_t)s->samples_skipped, "inlets_dropped",
			 (json_int_t)s->inlets_dropped, "queries_answered", (json_int_t)s->queries_answered,
			 "queries_limited", (json_int_t)s->queries_limited);
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

static json_t *camera_json(const struct camera_status *c)
{
	const struct cr_camera_stats *st = &c->camera;
	const struct cr_jpeg_params *jp = &c->jpeg_params;
	const struct cr_jpeg_stage_stats *js = &c->jpeg;
	json_t *consumers = json_array(), *camera;

	for (int i = 0; i < c->nconsumers; i++) {
		const struct cr_subscriber_stats *s = &c->consumers[i];

		json_array_append_new(consumers, json_pack("{s:o, s:I, s:I, s:i, s:i, s:b}", "name", cr_json_str(s->name),
			"delivered", (json_int_t)s->delivered, "dropped", (json_int_t)s->dropped, "queued", (int)s->length,
			"depth", (int)s->depth, "active", s->active));
	}
	camera = json_pack(
		"{s:o, s:o, s:o, s:o, s:s, s:o, s:s, s:i, s:i,"
		" s:{s:f, s:f, s:f}, s:{s:I, s:I, s:I, s:i, s:i}, s:o,"
		" s:{s:i, s:b, s:i, s:i, s:i, s:I, s:I, s:I, s:f}, s:i, s:f, s:I, s:o, s:o, s:o}",
		"name", cr_json_str(c->config->name), "source", cr_json_str(c->config->source), "device",
		cr_json_str(st->format.device), "driver", cr_json_str(st->format.driver), "state",
		cr_camera_state_name(st->state), "error", cr_json_str(st->error), "format",
		cr_fourcc_name(st->format.fourcc), "width", st->format.width, "height", st->format.height,
		"fps", "requested", st->fps_requested, "nominal", st->format.fps, "measured", st->fps_measured,
		"frames", "captured", (json_int_t)st->frames_captured, "dropped_pool", (json_int_t)st->frames_pool_dropped,
		"lost_upstream", (json_int_t)st->frames_lost_upstream, "pool_size", (int)st->pool_total,
		"pool_in_use", (int)st->pool_in_use,
		"consumers", consumers,
		"jpeg", "quality", jp->quality, "gray", jp->gray, "width", jp->width, "height", jp->height,
		"workers", (int)js->workers, "encoded", (json_int_t)js->encoded,
		"passed_through", (json_int_t)js->passed_through, "errors", (json_int_t)js->errors, "encode_ms",
		js->encode_ms,
		"clients", (int)c->stream_clients,
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
	return camera;
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
	status = json_pack("{s:o, s:s, s:f, s:s, s:f, s:{s:i, s:i}, s:{s:i, s:i, s:i, s:I, s:I, s:I}, s:O, s:o}",
		"name", cr_json_str(st->cameras[0].config->name), "version", CAMRIG_VERSION,
		"uptime", st->uptime_s, "time", cr_time_iso8601(st->utc_us, iso, sizeof(iso)),
		"time_unix", (double)st->utc_us / 1e6,
		"clients", "http", (int)st->http.connections, "stream", (int)stream_clients,
		"http", "connections", (int)st->http.connections, "live_views", (int)st->http.live_views,
		"pending", (int)st->http.pending, "refused", (json_int_t)st->http.refused,
		"evicted", (json_int_t)st->http.evicted, "timed_out", (json_int_t)st->http.timed_out,
		"camera", json_array_get(cameras, 0), "cameras", cameras);
	if (st->ntfy_server) {
		const struct cr_ntfy_stats *n = &st->ntfy;

		json_object_set_new(status, "ntfy", json_pack("{s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "server",
			cr_json_str(st->ntfy_server), "connected", n->connected, "connects", (json_int_t)n->connects,
			"messages_run", (json_int_t)n->messages_run, "messages_skipped", (json_int_t)n->messages_skipped,
			"published", (json_int_t)n->published, "publish_errors", (json_int_t)n->publish_errors,
			"dropped", (json_int_t)n->dropped, "errors", (json_int_t)n->errors));
	}
	return status;
}

json_t *cr_status_stats_json(const struct cr_status *st)
{
	json_t *stats = cr_status_json(st);

	json_object_del(stats, "camera");
	json_object_del(stats, "name");
	json_object_del(stats, "version");
	return stats;
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
