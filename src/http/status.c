/* /status (also /info): the daemon's state as JSON (jansson).
 *
 * Shape (documented for users in the README):
 *   name, version, uptime (s), time (ISO 8601 UTC), time_unix (s),
 *   clients: {http, stream}, camera: the first camera, cameras: [every camera]
 * where a camera is
 *   name, source, device, driver, state, error, format, width, height,
 *   fps: {requested, nominal, measured}, frames: {captured, dropped_pool,
 *   lost_upstream}, consumers: [{name, delivered, dropped, queued, depth}],
 *   jpeg: {quality, gray, width, height, workers, encoded, passed_through,
 *   errors, encode_ms}, clients, last_capture_unix, reconnects,
 *   recording: see record.c, timelapse: see timelapse.c,
 *   upload: see cr_upload_status_json() in upload.h.
 * and, when ntfy is on, ntfy: see cr_ntfy_status_json() in ntfy.h. */
#include "http/internal.h"

#include "lsl/lsl.h"
#include "publish/tcpstream.h"

#include "base/json.h"
#include "base/time.h"
#include "camrig-version.h"
#include "control/ntfy.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The controls set so far: {"NAME": "VALUE", ...}. */
static json_t *controls_json(struct cr_camera *cam)
{
	struct cr_camera_control controls[CR_CAMERA_MAX_CONTROLS];
	int n = cr_camera_controls(cam, controls, CR_CAMERA_MAX_CONTROLS);
	json_t *obj = json_object();

	for (int i = 0; i < n; i++) {
		char *name = cr_utf8_escape(controls[i].name);

		json_object_set_new(obj, name, cr_json_str(controls[i].value));
		free(name);
	}
	return obj;
}

/* The LSL outlet's counters, or null when there is none. */
static json_t *lsl_json(struct cr_lsl_outlet *outlet)
{
	struct cr_lsl_stats s;

	if (!outlet || cr_lsl_outlet_stats(outlet, &s) < 0)
		return json_null();
	return json_pack("{s:o, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I}", "uid", cr_json_str(s.uid), "data_port",
			 (int)s.data_port, "service_port", (int)s.service_port, "inlets", (int)s.inlets, "streaming",
			 (int)s.streaming, "samples_pushed", (json_int_t)s.samples_pushed, "samples_sent",
			 (json_int_t)s.samples_sent, "samples_skipped", (json_int_t)s.samples_skipped, "inlets_dropped",
			 (json_int_t)s.inlets_dropped, "queries_answered", (json_int_t)s.queries_answered);
}

static json_t *camera_json(struct cr_http_context *ctx, struct cr_http_camera *hc)
{
	const struct cr_camera_config *cfg = cr_camera_config(hc->camera);
	struct cr_subscriber_stats subs[16];
	struct cr_camera_stats st;
	struct cr_jpeg_stage_stats js;
	struct cr_jpeg_params jp = cr_jpeg_stage_params(hc->jpeg, NULL);
	json_t *consumers = json_array(), *camera;
	int n;

	cr_camera_stats(hc->camera, &st);
	cr_jpeg_stage_stats(hc->jpeg, &js);
	n = cr_fanout_stats(cr_camera_fanout(hc->camera), subs, 16);
	for (int i = 0; i < n && i < 16; i++)
		json_array_append_new(consumers, json_pack("{s:o, s:I, s:I, s:i, s:i, s:b}", "name", cr_json_str(subs[i].name),
			"delivered", (json_int_t)subs[i].delivered, "dropped", (json_int_t)subs[i].dropped,
			"queued", (int)subs[i].length, "depth", (int)subs[i].depth, "active", subs[i].active));
	camera = json_pack(
		"{s:o, s:o, s:o, s:o, s:s, s:o, s:s, s:i, s:i,"
		" s:{s:f, s:f, s:f}, s:{s:I, s:I, s:I, s:i, s:i}, s:o,"
		" s:{s:i, s:b, s:i, s:i, s:i, s:I, s:I, s:I, s:f}, s:i, s:f, s:I, s:o, s:o, s:o}",
		"name", cr_json_str(cfg->name), "source", cr_json_str(cfg->source), "device", cr_json_str(st.format.device),
		"driver", cr_json_str(st.format.driver), "state", cr_camera_state_name(st.state), "error",
		cr_json_str(st.error), "format", cr_fourcc_name(st.format.fourcc),
		"width", st.format.width, "height", st.format.height,
		"fps", "requested", st.fps_requested, "nominal", st.format.fps, "measured", st.fps_measured,
		"frames", "captured", (json_int_t)st.frames_captured, "dropped_pool", (json_int_t)st.frames_pool_dropped,
		"lost_upstream", (json_int_t)st.frames_lost_upstream, "pool_size", (int)st.pool_total,
		"pool_in_use", (int)st.pool_in_use,
		"consumers", consumers,
		"jpeg", "quality", jp.quality, "gray", jp.gray, "width", jp.width, "height", jp.height,
		"workers", (int)js.workers, "encoded", (json_int_t)js.encoded,
		"passed_through", (json_int_t)js.passed_through, "errors", (json_int_t)js.errors, "encode_ms",
		js.encode_ms,
		"clients", (int)atomic_load(&hc->stream_clients),
		"last_capture_unix", st.last_mono_ns ? (double)cr_time_mono_to_utc_us(st.last_mono_ns) / 1e6 : 0.0,
		"reconnects", (json_int_t)st.reconnects, "recording", cr_http_recording_json(hc),
		"timelapse", cr_http_timelapse_json(hc), "upload", cr_upload_status_json(hc->upload));
	json_object_set_new(camera, "lsl", lsl_json(hc->lsl));
	json_object_set_new(camera, "controls", controls_json(hc->camera));
	json_object_set_new(camera, "tcp_stream", cr_tcpstream_status_json(hc->tcp));
	return camera;
}

json_t *cr_http_status_json(struct cr_http_context *ctx)
{
	int64_t now_us = cr_time_utc_us();
	unsigned stream_clients = 0;
	json_t *cameras = json_array();
	char iso[40];
	json_t *status;

	for (unsigned i = 0; i < ctx->ncameras; i++) {
		json_array_append_new(cameras, camera_json(ctx, &ctx->cameras[i]));
		stream_clients += atomic_load(&ctx->cameras[i].stream_clients);
	}
	status = json_pack("{s:o, s:s, s:f, s:s, s:f, s:{s:i, s:i}, s:O, s:o}",
		"name", cr_json_str(cr_camera_config(ctx->cameras[0].camera)->name), "version", CAMRIG_VERSION,
		"uptime", (double)(cr_time_mono_ns() - ctx->start_mono_ns) / 1e9,
		"time", cr_time_iso8601(now_us, iso, sizeof(iso)), "time_unix", (double)now_us / 1e6,
		"clients", "http", (int)atomic_load(&ctx->connections), "stream", (int)stream_clients,
		"camera", json_array_get(cameras, 0), "cameras", cameras);
	if (ctx->ntfy)
		json_object_set_new(status, "ntfy", cr_ntfy_status_json(ctx->ntfy));
	return status;
}

enum MHD_Result cr_http_status(struct cr_http_request *req)
{
	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	return cr_http_reply_json(req, MHD_HTTP_OK, cr_http_status_json(req->ctx));
}
