/* POST /mcp: the MCP Streamable HTTP transport (specification 2025-11-25
 * and 2026-07-28, basic/transports/streamable-http.mdx) of the server in
 * app/mcp.c, which the context's mcp hook runs.
 *
 * Each POST carries one JSON-RPC message. A request is answered with its
 * response as application/json (the server sends no stream: nothing it
 * does outlasts a request); a notification or a client's response with 202
 * Accepted and no body. camrig keeps no session (no Mcp-Session-Id): every
 * request stands alone. GET /mcp (a server-to-client stream) is a 405, as
 * the transport allows. A MCP-Protocol-Version header naming a version the
 * server does not speak is a 400. Authentication, the Origin check (against
 * DNS rebinding) and the body limit are the server's, as for every route. */
#include "http/internal.h"

#include "base/json.h"

#include <stdlib.h>
#include <string.h>

enum MHD_Result cr_http_mcp(struct cr_http_request *req)
{
	const char *version = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "MCP-Protocol-Version");
	json_error_t error;
	json_t *msg, *reply;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	char *text;

	if (!req->ctx->mcp)
		return cr_http_error(req, MHD_HTTP_NOT_FOUND, "%s: MCP is not served here", req->path);
	msg = json_loadb(req->body, req->body_len, 0, &error);
	if (!msg)
		return cr_http_reply_json(req, MHD_HTTP_BAD_REQUEST,
					  json_pack("{s:s, s:n, s:{s:i, s:o}}", "jsonrpc", "2.0", "id", "error", "code",
						    -32700, "message", cr_json_sprintf("parse error: %s (expected one "
						    "JSON-RPC message)", error.text)));
	reply = req->ctx->mcp(req->ctx->mcp_ctx, msg, version, &status);
	json_decref(msg);
	if (!reply)
		return cr_http_reply(req, MHD_HTTP_ACCEPTED, "application/json", "", 0);
	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!text)
		return cr_http_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: the reply could not be encoded", req->path);
	ret = cr_http_reply(req, status, "application/json", text, strlen(text));
	free(text);
	return ret;
}
