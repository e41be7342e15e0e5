/* The control API: POST /api/command runs one line of the command grammar
 * (src/control/command.h) and answers with the command's JSON reply.
 *
 * The body is either the command line as text, or JSON {"command": "..."}.
 * A parse error is a 400, an unknown camera or control a 404, a command that
 * does not fit the current state a 409; the reply says why in "error". */
#include "http/internal.h"

#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result cr_http_reply_json(struct cr_http_request *req, unsigned status, json_t *json)
{
	char *text = json_dumps(json, JSON_INDENT(2)); /* NULL for a NULL json too */
	enum MHD_Result ret;
	size_t len;

	/* Text reaches JSON through base/json.h, so this is a bug, never a
	 * client's doing: answer it, do not crash on it. */
	if (!text) {
		json_decref(json);
		cr_err("http: %s %s: the reply could not be encoded as JSON", req->method, req->path);
		return cr_http_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: internal error: the reply could not "
				     "be encoded as JSON", req->path);
	}
	len = strlen(text);
	text = cr_realloc(text, len + 2);
	text[len++] = '\n';
	ret = cr_http_reply(req, status, "application/json", text, len);
	free(text);
	json_decref(json);
	return ret;
}

enum MHD_Result cr_http_run_command(struct cr_http_request *req, const char *line)
{
	json_t *reply = cr_control_run(req->ctx->control, line, CR_TRIGGER_HTTP);
	json_t *status = json_object_get(reply, "status");

	return cr_http_reply_json(req, json_is_integer(status) ? (unsigned)json_integer_value(status) : MHD_HTTP_OK,
				  reply);
}

const char *cr_http_arg(struct cr_http_request *req, json_t *body, const char *name, char *buf, size_t len,
			bool *bad)
{
	const char *q;
	json_t *v = body ? json_object_get(body, name) : NULL;

	if (cr_http_query(req, name, &q) < 0) {
		*bad = true;
		return NULL;
	}
	if (q)
		snprintf(buf, len, "%s", q);
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_number(v))
		snprintf(buf, len, "%.17g", json_number_value(v));
	else if (v && !json_is_null(v))
		*bad = true;
	else
		return NULL;
	return buf;
}

enum MHD_Result cr_http_command(struct cr_http_request *req)
{
	const char *line = req->body;
	json_t *parsed = NULL;
	json_error_t error;
	enum MHD_Result ret;

	if (strlen(req->body) != req->body_len)
		return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: the body contains a NUL byte", req->path);
	if (line[0] == '{') {
		parsed = json_loads(line, 0, &error);
		line = json_string_value(json_object_get(parsed, "command"));
		if (!line) {
			json_decref(parsed);
			return cr_http_error(req, MHD_HTTP_BAD_REQUEST, "%s: expected a command line or JSON "
					     "{\"command\": \"...\"}", req->path);
		}
	}
	ret = cr_http_run_command(req, line);
	json_decref(parsed);
	return ret;
}
