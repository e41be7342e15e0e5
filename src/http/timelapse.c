/* The timelapse API:
 *   POST /api/timelapse/start    optional interval (s; 0: shots on trigger only;
 *                                absent: timelapse.interval)
 *                                and camera, as query parameters or a JSON
 *                                body {"interval": 10, "camera": "NAME"}
 *   POST /api/timelapse/shot     one still now (e.g. from a 3D printer's
 *                                layer-change G-code); optional camera
 *   POST /api/timelapse/pause, /resume, /stop, /abort   optional camera
 *   GET  /api/timelapse          the timelapse state of every camera (app/status.h)
 *
 * Design: like record.c, a POST only turns the request into a line of
 * the command grammar ("timelapse shot camera=NAME") and runs it on the
 * control thread with trigger type http, so every path drives sessions the
 * same way. A body that is not a JSON object is ignored (webhooks send
 * their own payloads); unknown query parameters are refused. */
#include "http/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "/api/timelapse/"

enum MHD_Result cr_http_timelapse_action(struct cr_http_request *req)
{
	static const char *const allowed[] = { "interval", "camera", NULL };
	const char *action = req->path + strlen(PREFIX), *unknown = cr_http_unknown_param(req, allowed);
	bool start = strcmp(action, "start") == 0, bad = false;
	char interval[64], camera[CR_COMMAND_TEXT_MAX + 1], head[64], line[256];
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
	snprintf(head, sizeof(head), "timelapse %s", action);
	if (bad || cr_command_line(line, sizeof(line), head, "", i, "camera", cam, NULL) < 0)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: bad parameter (expected %s)", req->path,
				     start ? "interval in seconds and camera NAME" : "camera NAME");
	return cr_http_run_command(req, line);
}

enum MHD_Result cr_http_timelapse(struct cr_http_request *req)
{
	return cr_http_reply_status(req, cr_status_timelapses_json);
}
