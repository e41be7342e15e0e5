/* The MCP server (see mcp.h).
 *
 * Design: a table of tools. Most rows are the command grammar's verbs
 * (cr_verb_info()): a tool call's arguments become one command line through
 * cr_command_line(), the one builder of command lines, and run on the
 * control thread like every other path's, with trigger type 7 (so the
 * sidecar's trigger is "mcp", and LSL's trigger channel says 7). The rest
 * read: the status model (list_cameras), the catalogue of files written
 * (list_recordings, verify_recording) and the doctor's checks
 * (check_runtime_requirements). snapshot runs the snapshot command and
 * returns the saved JPEG as image content, so an agent sees it.
 *
 * Files an agent may name (verify_recording, recordings resources) are
 * reached only through the catalogue (record/catalog.h), as the HTTP
 * server's /recordings/ are, so a tool cannot be used to read the rest of
 * the disk.
 *
 * References: MCP specification revisions 2026-07-28 (basic/versioning.mdx,
 * server/discover.mdx, server/tools.mdx, server/resources.mdx,
 * server/utilities/caching.mdx) and 2025-11-25 (basic/lifecycle.mdx). */
#include "app/mcp.h"

#include "app/doctor.h"
#include "app/rig.h"
#include "app/status.h"
#include "base/json.h"
#include "base/mem.h"
#include "camrig-version.h"
#include "encode/jpeg.h"
#include "record/catalog.h"
#include "record/verify.h"
#include "source/camera.h"

#include <errno.h>
#include <libavutil/base64.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODERN "2026-07-28"
#define LATEST_LEGACY "2025-11-25"
#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_SERVER "io.modelcontextprotocol/serverInfo"
#define LINE_MAX_BYTES 1024           /* a command line (control/command.c's limit) */
#define IMAGE_MAX_BYTES (16u << 20)   /* a snapshot returned as image content */
#define RECORDINGS_MAX 200            /* recordings listed at most, newest first */
#define LIST_TTL_MS 60000             /* tools/list, resources/list: stable while camrig runs */
#define SNAPSHOT_TIMEOUT_NS (5 * 1000000000LL)

/* JSON-RPC 2.0 and MCP error codes. */
enum { INVALID_REQUEST = -32600, METHOD_NOT_FOUND = -32601, INVALID_PARAMS = -32602, INTERNAL = -32603,
       UNSUPPORTED_VERSION = -32022 };

static const char *const versions[] = { MODERN, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" };

static const char instructions[] =
	"camrig captures, records and streams cameras. list_cameras shows them; start_recording and "
	"stop_recording record (each file has a timestamp sidecar, trigger 'mcp'); snapshot returns a JPEG "
	"you can look at; set_control changes exposure, gain and other controls live; get_status and "
	"get_stats report every counter; check_runtime_requirements says what this machine can do.";

struct cr_mcp {
	const struct cr_config *config;
	struct cr_control *control;
	const struct cr_status_source *status;
	const struct cr_catalog *catalog;
};

/* ---- tools that are not commands ------------------------------------------------------ */

struct reader {
	const char *name, *about;
	json_t *(*schema)(void);                        /* its inputSchema's properties */
	const char *required;                           /* the required property, or NULL */
	json_t *(*call)(struct cr_mcp *mcp, json_t *args, char *why, size_t len); /* NULL: why says */
};

static json_t *no_properties(void)
{
	return json_object();
}

static json_t *file_property(void)
{
	return json_pack("{s:{s:s, s:s}}", "file", "type", "string", "description",
			 "a recording (.mkv or .mp4): its path or file as list_recordings names it");
}

static json_t *status_json(struct cr_mcp *mcp, json_t *(*render)(const struct cr_status *))
{
	struct cr_status *st = cr_status_take(mcp->status);
	json_t *j = render(st);

	cr_status_free(&st);
	return j;
}

static json_t *call_list_cameras(struct cr_mcp *mcp, json_t *args, char *why, size_t len)
{
	return json_pack("{s:o}", "cameras", status_json(mcp, cr_status_cameras_json));
}

#define BUSY_MAX 64 /* files being written that a listing marks, at most */

/* The catalogue's recordings (kind "video"), newest first: its listing's
 * {files, truncated}, with the files being written marked. */
static json_t *recordings(struct cr_mcp *mcp)
{
	struct cr_status *st = cr_status_take(mcp->status);
	const char *paths[BUSY_MAX];
	struct cr_catalog_busy busy = { .paths = paths, .n = cr_status_files_in_use(st, paths, BUSY_MAX) };
	struct cr_catalog_filter f = { .kind = "video" };
	json_t *list = cr_catalog_list(mcp->catalog, &f, &busy);

	cr_status_free(&st);
	return list;
}

static json_t *call_list_recordings(struct cr_mcp *mcp, json_t *args, char *why, size_t len)
{
	json_t *list = recordings(mcp), *files = json_object_get(list, "files");

	while (json_array_size(files) > RECORDINGS_MAX)
		json_array_remove(files, RECORDINGS_MAX);
	json_object_set(list, "recordings", files);
	json_object_del(list, "files");
	return list;
}

/* The recording the catalogue lists as name (its catalogue path, or its
 * file as camrig names it), as camrig names it, into file (len bytes).
 * Returns whether there is one. */
static bool listed_recording(struct cr_mcp *mcp, const char *name, char *file, size_t len)
{
	json_t *list = recordings(mcp), *r;
	bool found = false;
	size_t i;

	json_array_foreach(json_object_get(list, "files"), i, r) {
		const char *path = json_string_value(json_object_get(r, "path"));
		const char *f = json_string_value(json_object_get(r, "file"));

		if (!found && f && ((path && strcmp(name, path) == 0) || strcmp(name, f) == 0)) {
			snprintf(file, len, "%s", f);
			found = true;
		}
	}
	json_decref(list);
	return found;
}

static json_t *call_verify(struct cr_mcp *mcp, json_t *args, char *why, size_t len)
{
	const char *file = json_string_value(json_object_get(args, "file"));
	char path[PATH_MAX], *report = NULL;
	size_t size = 0;
	FILE *out;
	int ret;

	if (!file || !listed_recording(mcp, file, path, sizeof(path))) {
		snprintf(why, len, "verify_recording: \"%s\" is not a recording camrig wrote (expected a file or path "
			 "list_recordings names)", file ? file : "");
		return NULL;
	}
	out = open_memstream(&report, &size);
	if (!out)
		abort();
	ret = cr_verify_file(path, out);
	fclose(out);
	if (ret != CR_VERIFY_OK && ret != CR_VERIFY_TRUNCATED) {
		snprintf(why, len, "verify_recording: %s: %s", file, ret < 0 ? "cannot be read" : "does not match its sidecar");
		snprintf(why + strlen(why), len - strlen(why), "\n%s", report ? report : "");
		free(report);
		return NULL;
	}
	args = json_pack("{s:s, s:b, s:o}", "result", ret == CR_VERIFY_OK ? "ok" : "truncated", "ok", 1, "report",
			 cr_json_str(report ? report : ""));
	free(report);
	return args;
}

static json_t *call_doctor(struct cr_mcp *mcp, json_t *args, char *why, size_t len)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	json_t *report;

	if (!out)
		abort();
	cr_doctor_run(mcp->config, true, true, out);
	fclose(out);
	report = json_loads(text ? text : "", 0, NULL);
	free(text);
	if (!report)
		snprintf(why, len, "check_runtime_requirements: internal error: no report");
	return report;
}

static const struct reader readers[] = {
	{ "list_cameras", "The cameras: name, source, device, state, format, size, frame rate, whether it records, "
	  "its controls.", no_properties, NULL, call_list_cameras },
	{ "list_recordings", "The recordings under recording.root, newest first (at most 200): path, file, camera, "
	  "time, size, and what the sidecar says (frames, dropped, lost, duration, complete, reason).", no_properties,
	  NULL, call_list_recordings },
	{ "verify_recording", "Check a recording against its timestamp sidecar (camrig verify): frame count, "
	  "timestamps, every gap accounted for.", file_property, "file", call_verify },
	{ "check_runtime_requirements", "What this machine can do for the running configuration (camrig doctor): "
	  "libraries, encoders, cameras, permissions, disk space, clock, GPIO, ntfy, MQTT broker, RTSP servers, "
	  "Janus.", no_properties, NULL, call_doctor },
};

/* ---- tools/list ------------------------------------------------------------------------- */

static json_t *verb_schema(const struct cr_verb_info *v)
{
	json_t *props = json_object(), *required = json_array();

	for (const struct cr_verb_arg *a = v->args; a->name; a++) {
		static const char *const types[] = { [CR_ARG_STRING] = "string", [CR_ARG_NUMBER] = "number",
						     [CR_ARG_BOOLEAN] = "boolean" };
		json_t *p = json_pack("{s:s, s:s}", "type", types[a->type], "description", a->about);

		if (a->choices) {
			json_t *e = json_array();

			for (const char *const *c = a->choices; *c; c++)
				json_array_append_new(e, json_string(*c));
			json_object_set_new(p, "enum", e);
		}
		if (a->type == CR_ARG_NUMBER)
			json_object_set_new(p, "minimum", json_integer(0));
		json_object_set_new(props, a->name, p);
		if (a->required)
			json_array_append_new(required, json_string(a->name));
	}
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required", required,
			 "additionalProperties", 0);
}

static json_t *tools_list(void)
{
	json_t *tools = json_array();

	for (int v = 0; v < CR_VERB_COUNT; v++) {
		const struct cr_verb_info *info = cr_verb_info((enum cr_verb)v);

		if (info->agent)
			json_array_append_new(tools, json_pack("{s:s, s:s, s:o}", "name", info->tool, "description",
							       info->about, "inputSchema", verb_schema(info)));
	}
	for (size_t i = 0; i < CR_ARRAY_SIZE(readers); i++) {
		json_t *required = json_array();

		if (readers[i].required)
			json_array_append_new(required, json_string(readers[i].required));
		json_array_append_new(tools, json_pack("{s:s, s:s, s:{s:s, s:o, s:o, s:b}}", "name", readers[i].name,
						       "description", readers[i].about, "inputSchema", "type", "object",
						       "properties", readers[i].schema(), "required", required,
						       "additionalProperties", 0));
	}
	return json_pack("{s:o}", "tools", tools);
}

/* ---- tools/call ------------------------------------------------------------------------------ */

static json_t *tool_error(const char *why)
{
	return json_pack("{s:[{s:s, s:o}], s:b}", "content", "type", "text", "text", cr_json_str(why), "isError", 1);
}

/* The text of a tool argument's value for the command line. Returns 0, or
 * -EINVAL with why set. */
static int arg_text(const char *tool, const struct cr_verb_arg *a, json_t *v, char *buf, size_t len, char *why,
		    size_t wlen)
{
	if (a->type == CR_ARG_BOOLEAN && !json_is_boolean(v)) {
		snprintf(why, wlen, "%s: %s: expected true or false", tool, a->name);
		return -EINVAL;
	}
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else {
		snprintf(why, wlen, "%s: %s: expected a %s", tool, a->name, a->type == CR_ARG_NUMBER ? "number" : "string");
		return -EINVAL;
	}
	return 0;
}

/* The command line of a call of verb v's tool with args. Returns 0, or
 * -EINVAL with why set (an unknown or missing argument, a value that is
 * not one word). */
static int command_line(const struct cr_verb_info *v, json_t *args, char *line, size_t len, char *why, size_t wlen)
{
	const char *key;
	json_t *value;
	char text[CR_COMMAND_TEXT_MAX * 4], prev[LINE_MAX_BYTES + 1];

	json_object_foreach(args, key, value) {
		const struct cr_verb_arg *a = v->args;

		while (a->name && strcmp(a->name, key) != 0)
			a++;
		if (!a->name) {
			size_t n = (size_t)snprintf(why, wlen, "%s: unknown argument \"%s\" (expected ", v->tool, key);

			for (a = v->args; a->name && n < wlen; a++)
				n += (size_t)snprintf(why + n, wlen - n, "%s%s", a == v->args ? "" : ", ", a->name);
			snprintf(why + (n < wlen ? n : wlen - 1), wlen - (n < wlen ? n : wlen - 1), "%s",
				 v->args->name ? ")" : "none)");
			return -EINVAL;
		}
	}
	snprintf(line, len, "%s", v->name);
	for (const struct cr_verb_arg *a = v->args; a->name; a++) {
		int ret;

		value = json_object_get(args, a->name);
		if (!value || json_is_null(value)) {
			if (a->required) {
				snprintf(why, wlen, "%s: missing argument \"%s\" (usage: %s)", v->tool, a->name, v->usage);
				return -EINVAL;
			}
			continue;
		}
		if (arg_text(v->tool, a, value, text, sizeof(text), why, wlen) < 0)
			return -EINVAL;
		if (a->form == CR_ARG_WORD && !json_is_true(value))
			continue;
		snprintf(prev, sizeof(prev), "%s", line);
		ret = a->form == CR_ARG_NAMED ? cr_command_line(line, len, prev, a->name, text, NULL)
		      : cr_command_line(line, len, prev, "", a->form == CR_ARG_WORD ? a->name : text, NULL);
		if (ret < 0) {
			snprintf(why, wlen, "%s: %s \"%s\": %s", v->tool, a->name, text,
				 ret == -EINVAL ? "expected one word (no spaces or '=')" : "too long");
			return -EINVAL;
		}
	}
	return 0;
}

/* The image content of a saved JPEG, or NULL. */
static json_t *image_of(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	char *b64;
	long size;
	json_t *content = NULL;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && size <= (long)IMAGE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0) {
		data = cr_malloc((size_t)size);
		if (fread(data, 1, (size_t)size, f) == (size_t)size) {
			b64 = cr_malloc(AV_BASE64_SIZE((size_t)size));
			av_base64_encode(b64, (int)AV_BASE64_SIZE((size_t)size), data, (int)size);
			content = json_pack("{s:s, s:s, s:s}", "type", "image", "mimeType", "image/jpeg", "data", b64);
			free(b64);
		}
		free(data);
	}
	fclose(f);
	return content;
}

static json_t *call_command(struct cr_mcp *mcp, const struct cr_verb_info *v, json_t *args)
{
	char line[LINE_MAX_BYTES + 1], why[1024];
	json_t *reply, *result, *content;
	char *text;

	if (command_line(v, args, line, sizeof(line), why, sizeof(why)) < 0)
		return tool_error(why);
	reply = cr_control_run(mcp->control, line, CR_TRIGGER_MCP);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		result = tool_error(json_string_value(json_object_get(reply, "error")) ?: "failed");
		json_decref(reply);
		return result;
	}
	text = json_dumps(reply, JSON_COMPACT);
	content = json_pack("[{s:s, s:o}]", "type", "text", "text", cr_json_str(text ? text : "{}"));
	free(text);
	if (strcmp(v->name, "snapshot") == 0) {
		size_t i;
		json_t *file;

		json_array_foreach(json_object_get(reply, "files"), i, file) {
			json_t *image = image_of(json_string_value(file));

			if (image)
				json_array_append_new(content, image);
		}
	}
	return json_pack("{s:o, s:o, s:b}", "content", content, "structuredContent", reply, "isError", 0);
}

static json_t *tools_call(struct cr_mcp *mcp, json_t *params, int *code, char *why, size_t len)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments"), *out;
	char reason[2048];

	if (!name) {
		snprintf(why, len, "tools/call: params.name: expected a tool name");
		return *code = INVALID_PARAMS, NULL;
	}
	if (args && !json_is_object(args)) {
		snprintf(why, len, "tools/call %s: params.arguments: expected an object", name);
		return *code = INVALID_PARAMS, NULL;
	}
	args = args ? json_incref(args) : json_object();
	for (int v = 0; v < CR_VERB_COUNT; v++) {
		const struct cr_verb_info *info = cr_verb_info((enum cr_verb)v);

		if (info->agent && strcmp(info->tool, name) == 0) {
			out = call_command(mcp, info, args);
			json_decref(args);
			return out;
		}
	}
	for (size_t i = 0; i < CR_ARRAY_SIZE(readers); i++) {
		if (strcmp(readers[i].name, name) != 0)
			continue;
		reason[0] = '\0';
		if (readers[i].required && !json_is_string(json_object_get(args, readers[i].required))) {
			snprintf(reason, sizeof(reason), "%s: missing argument \"%s\"", name, readers[i].required);
			out = NULL;
		} else {
			out = readers[i].call(mcp, args, reason, sizeof(reason));
		}
		json_decref(args);
		if (!out)
			return tool_error(reason);
		{
			char *text = json_dumps(out, JSON_COMPACT);
			json_t *result = json_pack("{s:[{s:s, s:o}], s:o, s:b}", "content", "type", "text", "text",
						   cr_json_str(text ? text : "{}"), "structuredContent", out, "isError", 0);

			free(text);
			return result;
		}
	}
	json_decref(args);
	snprintf(why, len, "tools/call: unknown tool \"%s\" (tools/list names them)", name);
	return *code = INVALID_PARAMS, NULL;
}

/* ---- resources ---------------------------------------------------------------------------------- */

static json_t *resources_list(struct cr_mcp *mcp)
{
	json_t *list = json_array(), *recs = recordings(mcp), *r;
	size_t i;

	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "uri", "camrig://status", "name", "status",
					      "description", "The whole status (as GET /status)", "mimeType",
					      "application/json"));
	for (unsigned c = 0; c < mcp->config->ncameras; c++) {
		const char *name = mcp->config->cameras[c].name;
		char *uri = cr_asprintf("camrig://cameras/%s/snapshot.jpg", name);

		json_array_append_new(list, json_pack("{s:o, s:o, s:s, s:s}", "uri", cr_json_str(uri), "name",
						      cr_json_sprintf("%s snapshot", name), "description",
						      "A JPEG of the camera's current frame", "mimeType", "image/jpeg"));
		free(uri);
	}
	json_array_foreach(json_object_get(recs, "files"), i, r) {
		const char *path = json_string_value(json_object_get(r, "path"));
		char *uri, *name;

		if (json_is_null(json_object_get(r, "sidecar")) || !path || strlen(path) < 4)
			continue;
		uri = cr_asprintf("camrig://recordings/%.*s.csv", (int)(strlen(path) - 4), path);
		name = strrchr(uri, '/') + 1;
		json_array_append_new(list, json_pack("{s:o, s:o, s:s, s:s}", "uri", cr_json_str(uri), "name",
						      cr_json_str(name), "description",
						      "A recording's timestamp sidecar (doc/sidecar.md)", "mimeType", "text/csv"));
		free(uri);
	}
	json_decref(recs);
	return json_pack("{s:o}", "resources", list);
}

/* The current JPEG of camera name, as a blob resource, or NULL. */
static json_t *snapshot_resource(struct cr_mcp *mcp, const char *uri, const char *name, size_t len)
{
	for (unsigned c = 0; c < mcp->config->ncameras; c++) {
		struct cr_rig *rig = &mcp->status->rigs[c];
		struct cr_jpeg_params params;
		struct cr_jpeg *jpeg = NULL;
		json_t *out;
		char *b64;

		if (strlen(mcp->config->cameras[c].name) != len || strncmp(mcp->config->cameras[c].name, name, len) != 0 ||
		    !rig->jpeg)
			continue;
		params = cr_jpeg_stage_params(rig->jpeg, NULL);
		if (cr_jpeg_stage_take(rig->jpeg, &params, cr_camera_frames_published(rig->camera), SNAPSHOT_TIMEOUT_NS,
				       NULL, &jpeg) < 0)
			return NULL;
		b64 = cr_malloc(AV_BASE64_SIZE(jpeg->size));
		av_base64_encode(b64, (int)AV_BASE64_SIZE(jpeg->size), jpeg->data, (int)jpeg->size);
		out = json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", uri, "mimeType", "image/jpeg", "blob", b64);
		free(b64);
		cr_jpeg_unref(&jpeg);
		return out;
	}
	return NULL;
}

static json_t *resources_read(struct cr_mcp *mcp, json_t *params, int *code, char *why, size_t len)
{
	const char *uri = json_string_value(json_object_get(params, "uri"));
	struct stat info;
	int fd;

	if (!uri) {
		snprintf(why, len, "resources/read: params.uri: expected a URI");
		return *code = INVALID_PARAMS, NULL;
	}
	if (strcmp(uri, "camrig://status") == 0) {
		json_t *st = status_json(mcp, cr_status_json);
		char *text = json_dumps(st, JSON_COMPACT);
		json_t *out = json_pack("{s:[{s:s, s:s, s:o}]}", "contents", "uri", uri, "mimeType", "application/json",
					"text", cr_json_str(text ? text : ""));

		free(text);
		json_decref(st);
		return out;
	}
	if (strncmp(uri, "camrig://cameras/", 17) == 0 && strstr(uri + 17, "/snapshot.jpg")) {
		const char *name = uri + 17;
		json_t *out = snapshot_resource(mcp, uri, name, (size_t)(strstr(name, "/snapshot.jpg") - name));

		if (out)
			return out;
	}
	if (strncmp(uri, "camrig://recordings/", 20) == 0 && strlen(uri) > 24 &&
	    strcmp(uri + strlen(uri) - 4, ".csv") == 0 && cr_catalog_open(mcp->catalog, uri + 20, &fd, &info) == 0) {
		size_t max = (size_t)(info.st_size < IMAGE_MAX_BYTES ? info.st_size : IMAGE_MAX_BYTES);
		char *text = cr_malloc(max + 1);
		FILE *f = fdopen(fd, "r");
		size_t n = f ? fread(text, 1, max, f) : 0;
		json_t *out;

		if (f)
			fclose(f);
		else
			close(fd);
		text[n] = '\0';
		out = json_pack("{s:[{s:s, s:s, s:o}]}", "contents", "uri", uri, "mimeType", "text/csv", "text",
				cr_json_str(text));
		free(text);
		return out;
	}
	snprintf(why, len, "resources/read: no resource \"%s\" (resources/list names them)", uri);
	return *code = INVALID_PARAMS, NULL;
}

/* ---- the protocol --------------------------------------------------------------------------------- */

bool cr_mcp_version_supported(const char *version)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(versions); i++)
		if (version && strcmp(version, versions[i]) == 0)
			return true;
	return false;
}

static json_t *capabilities(void)
{
	return json_pack("{s:{s:b}, s:{s:b, s:b}}", "tools", "listChanged", 0, "resources", "subscribe", 0,
			 "listChanged", 0);
}

static json_t *server_info(void)
{
	return json_pack("{s:s, s:s, s:s}", "name", "camrig", "title", "camrig camera daemon", "version", CAMRIG_VERSION);
}

static json_t *initialize(json_t *params)
{
	const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
	const char *version = asked && cr_mcp_version_supported(asked) && strcmp(asked, MODERN) != 0 ? asked : LATEST_LEGACY;

	return json_pack("{s:s, s:o, s:o, s:s}", "protocolVersion", version, "capabilities", capabilities(),
			 "serverInfo", server_info(), "instructions", instructions);
}

static json_t *discover(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < CR_ARRAY_SIZE(versions); i++)
		json_array_append_new(list, json_string(versions[i]));
	return json_pack("{s:s, s:o, s:o, s:s, s:{s:o}, s:i, s:s}", "resultType", "complete", "supportedVersions", list,
			 "capabilities", capabilities(), "instructions", instructions, "_meta", META_SERVER,
			 server_info(), "ttlMs", LIST_TTL_MS, "cacheScope", "public");
}

static json_t *error_response(json_t *id, int code, const char *message, json_t *data)
{
	json_t *err = json_pack("{s:i, s:o}", "code", code, "message", cr_json_str(message));

	if (data)
		json_object_set_new(err, "data", data);
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", err);
}

struct cr_mcp *cr_mcp_new(const struct cr_config *config, struct cr_control *control,
			  const struct cr_status_source *status, const struct cr_catalog *catalog)
{
	struct cr_mcp *mcp = CR_NEW(mcp);

	mcp->config = config;
	mcp->control = control;
	mcp->status = status;
	mcp->catalog = catalog;
	return mcp;
}

void cr_mcp_free(struct cr_mcp **pmcp)
{
	free(*pmcp);
	*pmcp = NULL;
}

json_t *cr_mcp_handle(struct cr_mcp *mcp, json_t *msg)
{
	json_t *id = json_object_get(msg, "id"), *params = json_object_get(msg, "params"), *result = NULL, *meta;
	const char *method = json_string_value(json_object_get(msg, "method"));
	const char *modern = NULL;
	char why[1024] = "";
	int code = 0;

	if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0)
		return error_response(id, INVALID_REQUEST, "expected a JSON-RPC 2.0 message object (a batch is not "
				      "accepted)", NULL);
	if (!method)
		return id && (json_object_get(msg, "result") || json_object_get(msg, "error")) ? NULL /* a response */
			: error_response(id, INVALID_REQUEST, "expected a method", NULL);
	if (id && !json_is_string(id) && !json_is_integer(id))
		return error_response(NULL, INVALID_REQUEST, "id: expected a string or an integer", NULL);
	if (!id)
		return NULL; /* notifications/initialized, notifications/cancelled, ...: nothing to answer */
	if (params && !json_is_object(params))
		return error_response(id, INVALID_PARAMS, "params: expected an object", NULL);
	meta = json_object_get(params, "_meta");
	if (json_object_get(meta, META_VERSION)) {
		modern = json_string_value(json_object_get(meta, META_VERSION));
		if (!modern || !cr_mcp_version_supported(modern) || strcmp(modern, MODERN) != 0) {
			json_t *list = json_array();

			for (size_t i = 0; i < CR_ARRAY_SIZE(versions); i++)
				json_array_append_new(list, json_string(versions[i]));
			return error_response(id, UNSUPPORTED_VERSION, "Unsupported protocol version",
					      json_pack("{s:o, s:O}", "supported", list, "requested",
							json_object_get(meta, META_VERSION)));
		}
	}
	if (strcmp(method, "initialize") == 0)
		result = initialize(params);
	else if (strcmp(method, "server/discover") == 0)
		result = discover();
	else if (strcmp(method, "ping") == 0)
		result = json_object();
	else if (strcmp(method, "tools/list") == 0)
		result = tools_list();
	else if (strcmp(method, "tools/call") == 0)
		result = tools_call(mcp, params, &code, why, sizeof(why));
	else if (strcmp(method, "resources/list") == 0)
		result = resources_list(mcp);
	else if (strcmp(method, "resources/templates/list") == 0)
		result = json_pack("{s:[]}", "resourceTemplates");
	else if (strcmp(method, "resources/read") == 0)
		result = resources_read(mcp, params, &code, why, sizeof(why));
	else
		return error_response(id, METHOD_NOT_FOUND, why[0] ? why : "unknown method",
				      json_pack("{s:s}", "method", method));
	if (!result)
		return error_response(id, code ? code : INTERNAL, why[0] ? why : "internal error", NULL);
	if (modern) {
		/* 2026-07-28: every result says it is complete and who answered;
		 * lists say how long they stay fresh. */
		json_object_set_new(result, "resultType", json_string("complete"));
		json_object_set_new(result, "_meta", json_pack("{s:o}", META_SERVER, server_info()));
		if (strcmp(method, "tools/list") == 0 || strcmp(method, "resources/list") == 0 ||
		    strcmp(method, "resources/templates/list") == 0) {
			json_object_set_new(result, "ttlMs", json_integer(LIST_TTL_MS));
			json_object_set_new(result, "cacheScope", json_string("private"));
		} else if (strcmp(method, "resources/read") == 0) {
			json_object_set_new(result, "ttlMs", json_integer(0));
			json_object_set_new(result, "cacheScope", json_string("private"));
		}
	}
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}
