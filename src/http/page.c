/* The browser page: / redirects to /index.html, which is data/index.html
 * embedded in the binary at build time, with a Content-Security-Policy that
 * lets only its own inline script and style run (their hashes, from
 * scripts/embed.py) and talk to camrig alone, and to the Janus of a camera's
 * WebRTC view (webrtc.janus). */
#include "http/internal.h"

#include "embedded.h"

#include <stdio.h>
#include <string.h>

enum MHD_Result cr_http_page(struct cr_http_request *req)
{
	struct MHD_Response *resp;

	if (strcmp(req->path, "/") == 0) {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/index.html");
		return cr_http_queue(req, MHD_HTTP_FOUND, resp);
	}
	resp = MHD_create_response_from_buffer(cr_embedded_index_html_size, (void *)cr_embedded_index_html,
					       MHD_RESPMEM_PERSISTENT);
	if (resp) {
		char csp[2048];

		snprintf(csp, sizeof(csp), "default-src 'none'; %s; img-src 'self' blob: data:; media-src 'self'; "
			 "connect-src 'self'%s%s; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
			 cr_embedded_index_html_csp, req->ctx->page_connect ? " " : "",
			 req->ctx->page_connect ? req->ctx->page_connect : "");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		MHD_add_response_header(resp, "Content-Security-Policy", csp);
	}
	return cr_http_queue(req, MHD_HTTP_OK, resp);
}
