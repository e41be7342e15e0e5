/* The browser page: / redirects to /index.html, which is data/index.html
 * embedded in the binary at build time. */
#include "http/internal.h"

#include "embedded.h"

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
	return cr_http_reply(req, MHD_HTTP_OK, "text/html; charset=utf-8", cr_embedded_index_html,
			     cr_embedded_index_html_size);
}
