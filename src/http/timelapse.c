/* The timelapse API:
 *   POST /api/timelapse/start    optional interval (s; 0: the configured one)
 *                                and camera, as query parameters or a JSON
 *                                body {"interval": 10, "camera": "NAME"}
 *   POST /api/timelapse/shot     one still now (e.g. from a 3D printer's
 *                                layer-change G-code); optional camera
 *   POST /api/timelapse/pause, /resume, /stop, /abort   optional camera
 *   GET  /api/timelapse          the timelapse state of every camera
 * and the "timelapse" object of each camera in /status.
 *
 * Design: like record.c, a POST only turns the request into a line of
 * the command grammar ("timelapse shot camera=NAME") and runs it on the
 * control thread with trigger type http, so every path drives sessions the
 * same way. A body that is not a JSON object is ignored (webhooks send
 * their own payloads); unknown query parameters are refused. */
#include "http/internal.h"

#include "base/json.h"
#include "base/time.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "/api/timelapse/"

json_t *cr_http_timelapse_json(struct cr_http_camera *hc)
{
	struct cr_timelapse_stats st;
	char iso[40] = "";

	if (!hc->timelapse)
		return json_null();
	cr_timelapse_stats(hc->timelapse, &st);
	if (st.last_still_utc_us)
		cr_time_iso8601(st.last_still_utc_us, iso, sizeof(iso));
	return json_pack("{s:s, s:o, s:o, s:i, s:f, s:f, s:i, s:i, s:o, s:s, s:f, s:b, s:i, s:o, s:i, s:o, s:I}",
		"state", cr_timelapse_state_name(st.state), "session", cr_json_str(st.session), "dir", cr_json_str(st.dir),
		"shots", (int)st.shots,
		"interval", st.interval_s, "fps", st.fps, "quality", st.quality, "pending_shots", (int)st.pending_shots,
		"last_still", cr_json_str(st.last_still), "last_still_time", iso, "last_still_unix", (double)st.last_still_utc_us / 1e6,
		"assembling", st.assembling, "assembly_queue", (int)st.assembly_queue, "last_video",
		cr_json_str(st.last_video), "last_video_frames", (int)st.last_video_frames, "last_error",
		cr_json_str(st.last_error),
		"errors", (json_int_t)st.errors);
}

enum MHD_Result cr_http_timelapse_action(struct cr_http_request *req)
{
	static const char *const allowed[] = { "interval", "camera", NULL };
	const char *action = req->path + strlen(PREFIX), *unknown = cr_http_unknown_param(req, allowed);
	bool start = strcmp(action, "start") == 0, bad = false;
	char interval[64], camera[CR_COMMAND_TEXT_MAX + 1], line[256];
	const char *i = NULL, *cam;
	json_t *body = NULL;

	if (unknown)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: unknown parameter \"%s\" (expected %s)", req->path,
				     unknown, start ? "interval, camera" : "camera");
	if (req->body_len > 0) {
		body = json_loads(req->body, 0, NULL);
		if (!json_is_object(body)) {
			json_decref(body);
			body = NULL;
		}
	}
	if (start)
		i = cr_http_arg(req, body, "interval", interval, sizeof(interval), &bad);
	else if (MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "interval"))
		bad = true;
	cam = cr_http_arg(req, body, "camera", camera, sizeof(camera), &bad);
	json_decref(body);
	if (bad)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: bad parameter (expected %s)", req->path,
				     start ? "interval in seconds and camera NAME" : "camera NAME");
	snprintf(line, sizeof(line), "timelapse %s%s%s%s%s", action, i ? " " : "", i ? i : "", cam ? " camera=" : "",
		 cam ? cam : "");
	return cr_http_run_command(req, line);
}

enum MHD_Result cr_http_timelapse(struct cr_http_request *req)
{
	json_t *cameras = json_array();

	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	for (unsigned i = 0; i < req->ctx->ncameras; i++) {
		json_t *t = cr_http_timelapse_json(&req->ctx->cameras[i]);

		if (!json_is_object(t)) {
			json_decref(t);
			t = json_object();
		}
		json_object_set_new(t, "camera", cr_json_str(cr_camera_config(req->ctx->cameras[i].camera)->name));
		json_array_append_new(cameras, t);
	}
	return cr_http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "cameras", cameras));
}
