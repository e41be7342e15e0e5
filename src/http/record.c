/* The recording API:
 *   POST /api/record/start   optional duration (s) and camera, as query
 *                            parameters or a JSON body {"duration": 10,
 *                            "camera": "NAME"}
 *   POST /api/record/stop    optional camera
 *   GET  /api/record         the recording state of every camera
 * and the "recording" object of each camera in /status.
 *
 * Design: start and stop only translate the request into a line of the
 * command grammar (start_recording duration=N camera=NAME) and run it on the
 * control thread with trigger type http, exactly like POST /api/command, so
 * every path starts and stops recordings the same way. */
#include "http/internal.h"

#include "base/json.h"
#include "base/mem.h"
#include "base/time.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *cr_http_recording_json(struct cr_http_camera *hc)
{
	struct cr_recorder_stats rs;
	struct cr_video_encoder_stats es;
	char iso[40] = "";

	if (!hc->recorder || !hc->encoder)
		return json_null();
	cr_recorder_stats(hc->recorder, &rs);
	cr_video_encoder_stats(hc->encoder, &es);
	if (rs.trigger_utc_us)
		cr_time_iso8601(rs.trigger_utc_us, iso, sizeof(iso));
	return json_pack("{s:s, s:b, s:o, s:o, s:o, s:s, s:s, s:f, s:f, s:f,"
			 " s:{s:I, s:I, s:I}, s:I, s:f, s:i, s:I, s:i, s:I,"
			 " s:{s:f, s:f, s:I, s:i},"
			 " s:{s:s, s:s, s:o, s:b, s:I, s:I, s:I, s:I, s:f, s:f}}",
		"state", rs.recording ? "recording" : rs.stopping ? "stopping" : "idle", "recording", rs.recording,
		"reason", cr_json_str(rs.reason), "file", cr_json_str(rs.file), "sidecar", cr_json_str(rs.sidecar),
		"trigger", rs.trigger,
		"trigger_time", iso, "trigger_unix", (double)rs.trigger_utc_us / 1e6, "duration", rs.duration_s,
		"seconds", rs.file_seconds,
		"frames", "written", (json_int_t)rs.frames_written, "dropped", (json_int_t)rs.frames_dropped,
		"lost", (json_int_t)rs.frames_lost,
		"bytes", (json_int_t)rs.bytes_written,
		"bitrate_kbps", rs.file_seconds > 0 ? (double)rs.bytes_written * 8 / 1000 / rs.file_seconds : 0.0,
		"segment", (int)rs.segment, "recordings", (json_int_t)rs.recordings, "queued", (int)rs.queued,
		"queue_dropped", (json_int_t)rs.queue_dropped,
		"pre_trigger", "target_seconds", rs.pre_trigger_s, "seconds", rs.prebuffer.seconds,
		"bytes", (json_int_t)rs.prebuffer.bytes, "packets", (int)rs.prebuffer.packets,
		"encoder", "codec", es.codec, "encoder", es.encoder, "error", cr_json_str(es.error), "active", es.active,
		"frames", (json_int_t)es.frames, "packets", (json_int_t)es.packets, "dropped", (json_int_t)es.dropped,
		"errors", (json_int_t)es.errors, "encode_ms", es.encode_ms, "bitrate_kbps", es.bitrate_kbps);
}

static enum MHD_Result run(struct cr_http_request *req, bool start)
{
	static const char *const allowed[] = { "duration", "camera", NULL };
	char duration[64], camera[CR_COMMAND_TEXT_MAX + 1], line[256];
	const char *d = NULL, *cam, *unknown = cr_http_unknown_param(req, allowed);
	json_t *body = NULL;
	json_error_t error;
	bool bad = false;

	if (unknown)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: unknown parameter \"%s\" (expected %s)", req->path,
				     unknown, start ? "duration, camera" : "camera");
	if (req->body_len > 0) {
		body = json_loads(req->body, 0, &error);
		if (!json_is_object(body)) {
			json_decref(body);
			return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: the body is not a JSON object (expected "
					     "{\"duration\": SECONDS, \"camera\": \"NAME\"} or none)", req->path);
		}
	}
	if (start)
		d = cr_http_arg(req, body, "duration", duration, sizeof(duration), &bad);
	else if (body && json_object_get(body, "duration"))
		bad = true;
	cam = cr_http_arg(req, body, "camera", camera, sizeof(camera), &bad);
	json_decref(body);
	if (bad)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: bad parameter (expected %s)", req->path,
				     start ? "duration in seconds and camera NAME" : "camera NAME");
	snprintf(line, sizeof(line), "%s%s%s%s%s", start ? "start_recording" : "stop_recording",
		 d ? " duration=" : "", d ? d : "", cam ? " camera=" : "", cam ? cam : "");
	return cr_http_run_command(req, line);
}

enum MHD_Result cr_http_record_start(struct cr_http_request *req)
{
	return run(req, true);
}

enum MHD_Result cr_http_record_stop(struct cr_http_request *req)
{
	return run(req, false);
}

enum MHD_Result cr_http_record(struct cr_http_request *req)
{
	json_t *cameras = json_array();
	bool any = false;

	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	for (unsigned i = 0; i < req->ctx->ncameras; i++) {
		json_t *r = cr_http_recording_json(&req->ctx->cameras[i]);

		any = any || json_is_true(json_object_get(r, "recording"));
		json_object_set_new(r, "camera", cr_json_str(cr_camera_config(req->ctx->cameras[i].camera)->name));
		json_array_append_new(cameras, r);
	}
	return cr_http_reply_json(req, MHD_HTTP_OK, json_pack("{s:b, s:o}", "recording", any, "cameras", cameras));
}
