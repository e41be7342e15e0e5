/* GET /healthz: 200 while every camera delivered a frame within
 * health.max_age seconds, 503 otherwise, with a JSON body that says which
 * camera and why (app/status.h, cr_status_health_json()). For Docker's
 * HEALTHCHECK, Kubernetes probes, Home Assistant and health-check timers:
 * they need the status code; people get the reason. */
#include "http/internal.h"

enum MHD_Result cr_http_healthz(struct cr_http_request *req)
{
	bool healthy;
	json_t *json;

	if (cr_http_unknown_param(req, (const char *const[]){ NULL }))
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s takes no parameters", req->path);
	json = cr_status_health_json(req->ctx->status, &healthy);
	return cr_http_reply_json(req, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, json);
}
