/* GET /api/controls[?camera=NAME]: each camera's controls with type, range,
 * step, menu items, default and current value (the reply of the command
 * list_controls, app/commands.c). Like record.c it only turns the request
 * into a command line and runs it on the control thread, which also runs
 * every set_control: a listing never races a change. */
#include "http/internal.h"

#include <stdio.h>

enum MHD_Result cr_http_controls(struct cr_http_request *req)
{
	static const char *const allowed[] = { "camera", NULL };
	const char *unknown = cr_http_unknown_param(req, allowed), *camera;
	char line[256];

	if (unknown)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: unknown parameter \"%s\" (expected camera)", req->path,
				     unknown);
	if (cr_http_query(req, "camera", &camera) < 0 ||
	    cr_command_line(line, sizeof(line), "list_controls", "camera", camera, NULL) < 0)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: camera: expected a camera's name", req->path);
	return cr_http_run_command(req, line);
}
