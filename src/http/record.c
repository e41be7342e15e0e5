/* The recording API:
 *   POST /api/record/start   optional duration (s) and camera, as query
 *                            parameters or a JSON body {"duration": 10,
 *                            "camera": "NAME"}
 *   POST /api/record/stop    optional camera
 *   GET  /api/record         the recording state of every camera (app/status.h)
 *
 * Design: start and stop only translate the request into a line of the
 * command grammar (start_recording duration=N camera=NAME) and run it on the
 * control thread with trigger type http, exactly like POST /api/command, so
 * every path starts and stops recordings the same way. */
#include "http/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

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
	if (bad || cr_command_line(line, sizeof(line), start ? "start_recording" : "stop_recording", "duration", d,
				   "camera", cam, NULL) < 0)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: bad parameter (expected %s)", req->path,
				     start ? "duration in seconds and camera NAME" : "camera NAME");
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
	return cr_http_reply_status(req, cr_status_recordings_json);
}
