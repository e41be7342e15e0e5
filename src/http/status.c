/* The state views: /status (also /info), GET /api/record and GET
 * /api/timelapse, each a rendering of one snapshot of the status model
 * (app/status.h documents the shapes; the README, each field). */
#include "http/internal.h"

enum MHD_Result cr_http_reply_status(struct cr_http_request *req, json_t *(*render)(const struct cr_status *status))
{
	struct cr_status *st;
	json_t *json;

	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	st = cr_status_take(req->ctx->status);
	json = render(st);
	cr_status_free(&st);
	return cr_http_reply_json(req, MHD_HTTP_OK, json);
}

enum MHD_Result cr_http_status(struct cr_http_request *req)
{
	return cr_http_reply_status(req, cr_status_json);
}
