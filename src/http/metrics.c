/* GET /metrics: the status model in the Prometheus text exposition format
 * (app/status.h, cr_status_metrics()), for a Prometheus server to scrape. */
#include "http/internal.h"

#include <stdlib.h>

enum MHD_Result cr_http_metrics(struct cr_http_request *req)
{
	struct cr_status *st;
	enum MHD_Result ret;
	size_t len;
	char *text;

	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	st = cr_status_take(req->ctx->status);
	text = cr_status_metrics(st, &len);
	cr_status_free(&st);
	ret = cr_http_reply(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return ret;
}
