/* Fuzz target: what the HTTP server reads from a request before any
 * endpoint acts on it: the Host / Origin / Sec-Fetch-Site / Content-Type
 * policy (http/origin.c) and the query parameters (cr_http_int_param(),
 * cr_http_unknown_param() and cr_http_arg() in http/, parse_params() of
 * http/stream.c). Includes origin.c and stream.c to reach their statics.
 *
 * libmicrohttpd parses the request itself; camrig sees the result through
 * MHD_lookup_connection_value(), MHD_lookup_connection_value_n() and
 * MHD_get_connection_values(). This file defines the three, over a fake
 * connection made from the input, so the linker takes them instead of
 * libmicrohttpd's (the real daemon never runs here). They behave as
 * libmicrohttpd 0.9.7x does: keys compare without case, the first of
 * several equal keys wins, "?gray" without '=' has a NULL value, and %HH in
 * the query string is decoded (%00 too: the _n lookup then gives a length
 * beyond the C string). The input reads as a request:
 *
 *   METHOD TARGET VERSION          e.g. POST /stream.mjpg?width=640&gray=1 HTTP/1.1
 *   Name: value                    headers, up to an empty line
 *
 *   body                           JSON, for cr_http_arg()
 *
 * Three extra headers, X-Listen, X-Hostnames and X-Cors-Origins, make a
 * third origin policy besides two fixed ones.
 *
 * Properties: the origin check answers 0, 400, 403 or 421 with a reason for
 * a refusal, and names an allowed origin only as the request sent it; a
 * parsed Host is lowercase and fits its buffer; a query value with a NUL
 * byte in it is refused; an integer parameter taken is decimal digits
 * within its range; image parameters that pass are in range, width and
 * height together; an argument that is not refused is NUL-terminated in its
 * buffer whatever the size. Not covered, since they need libmicrohttpd's
 * own connection: its request parsing, and HTTP Basic (auth.c), which it
 * decodes. */
#include "../../src/http/origin.c"
#include "../../src/http/stream.c"

#include "fuzz.h"

#include "base/log.h"

#include <stdbool.h>

#define VALUES_MAX 64  /* headers and arguments kept from one input */

struct value {
	enum MHD_ValueKind kind;
	const char *key, *value;  /* value NULL: an argument without '=' */
	size_t key_len, value_len; /* bytes, decoded (may hold NULs) */
};

/* The fake connection: what libmicrohttpd would have parsed. */
struct fake_connection {
	struct value values[VALUES_MAX];
	unsigned n;
};

const char *MHD_lookup_connection_value(struct MHD_Connection *connection, enum MHD_ValueKind kind, const char *key)
{
	const struct fake_connection *c = (const struct fake_connection *)connection;

	for (unsigned i = 0; i < c->n; i++)
		if ((c->values[i].kind & kind) && key && strcasecmp(c->values[i].key, key) == 0)
			return c->values[i].value;
	return NULL;
}

enum MHD_Result MHD_lookup_connection_value_n(struct MHD_Connection *connection, enum MHD_ValueKind kind,
					      const char *key, size_t key_size, const char **value_ptr,
					      size_t *value_size_ptr)
{
	const struct fake_connection *c = (const struct fake_connection *)connection;

	for (unsigned i = 0; i < c->n; i++) {
		const struct value *v = &c->values[i];

		if ((v->kind & kind) && key && v->key_len == key_size && strncasecmp(v->key, key, key_size) == 0) {
			if (value_ptr)
				*value_ptr = v->value;
			if (value_size_ptr)
				*value_size_ptr = v->value_len;
			return MHD_YES;
		}
	}
	return MHD_NO;
}

int MHD_get_connection_values(struct MHD_Connection *connection, enum MHD_ValueKind kind,
			      MHD_KeyValueIterator iterator, void *iterator_cls)
{
	const struct fake_connection *c = (const struct fake_connection *)connection;
	int n = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (!(c->values[i].kind & kind))
			continue;
		n++;
		if (iterator && iterator(iterator_cls, c->values[i].kind, c->values[i].key, c->values[i].value) != MHD_YES)
			break;
	}
	return n;
}

static struct cr_http_origin *policies[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cr_http_config loopback = {
		.listen = "127.0.0.1:8080",
		.hostnames = "camrig.example.org,*.lab.example.org",
		.cors_origins = "https://dashboard.example.org,http://localhost:8000",
	};
	struct cr_http_config v6 = { .listen = "[::1]:8080", .hostnames = "", .cors_origins = "" };

	cr_log_set_level(CR_LOG_ERROR);
	policies[0] = cr_http_origin_new(&loopback);
	policies[1] = cr_http_origin_new(&v6);
	return 0;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes %HH in place (libmicrohttpd's MHD_http_unescape()); returns the
 * decoded length. */
static size_t unescape(char *s)
{
	char *o = s, *start = s;

	for (; *s; s++) {
		if (s[0] == '%' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
			*o++ = (char)(hex(s[1]) << 4 | hex(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return (size_t)(o - start);
}

static void add(struct fake_connection *c, enum MHD_ValueKind kind, const char *key, size_t key_len,
		const char *value, size_t value_len)
{
	if (c->n < VALUES_MAX)
		c->values[c->n++] = (struct value){ kind, key, value, key_len, value_len };
}

/* Splits text (modified in place) into the request line, headers and body. */
static void parse_request(char *text, struct fake_connection *c, const char **method, const char **version,
			  const char **body)
{
	char *line = text, *next, *target, *query, *save = NULL;
	bool first = true;

	*method = "GET";
	*version = MHD_HTTP_VERSION_1_1;
	*body = "";
	for (; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (first) {
			first = false;
			*method = strtok_r(line, " ", &save);
			target = strtok_r(NULL, " ", &save);
			*version = strtok_r(NULL, " ", &save);
			*method = *method ? *method : "GET";
			*version = *version ? *version : MHD_HTTP_VERSION_1_1;
			query = target ? strchr(target, '?') : NULL;
			if (!query)
				continue;
			for (char *arg = strtok_r(query + 1, "&", &save); arg; arg = strtok_r(NULL, "&", &save)) {
				char *eq = strchr(arg, '=');
				size_t value_len = 0;

				if (eq) {
					*eq = '\0';
					value_len = unescape(eq + 1);
				}
				add(c, MHD_GET_ARGUMENT_KIND, arg, unescape(arg), eq ? eq + 1 : NULL, value_len);
			}
		} else if (!*line) {
			*body = next ? next : "";
			return;
		} else {
			char *colon = strchr(line, ':'), *value;

			if (!colon)
				continue;
			*colon = '\0';
			for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
				;
			add(c, MHD_HEADER_KIND, line, strlen(line), value, strlen(value));
		}
	}
}

static bool lowercase_only(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return false;
	return true;
}

static void check_origin(const struct cr_http_origin *policy, struct MHD_Connection *conn, const char *method,
			 const char *version)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");

	for (int tls = 0; tls < 2; tls++) {
		const char *cors = (const char *)"unset";
		char why[256] = "", *small = malloc(8);
		unsigned status = cr_http_origin_check(policy, conn, method, version, tls, &cors, why, sizeof(why));

		FUZZ_CHECK(status == 0 || status == 400 || status == 403 || status == 421);
		FUZZ_CHECK(status == 0 || why[0]);
		FUZZ_CHECK(cors == NULL || cors == origin);
		if (!small)
			abort();
		status = cr_http_origin_check(policy, conn, method, version, tls, &cors, small, 8);
		FUZZ_CHECK(status == 0 || memchr(small, '\0', 8));
		free(small);
	}
}

static void check_host(const char *header)
{
	static const size_t sizes[] = { 1, 2, 8, HOST_MAX + 1 };

	for (size_t i = 0; i < CR_ARRAY_SIZE(sizes); i++) {
		char *host = malloc(sizes[i]);
		bool literal = true;

		if (!host)
			abort();
		if (host_of(header, host, sizes[i], &literal)) {
			FUZZ_CHECK(strlen(host) < sizes[i]);
			FUZZ_CHECK(lowercase_only(host) || literal);
		} else {
			FUZZ_CHECK(!literal);
		}
		free(host);
	}
}

static void check_media_type(const char *value)
{
	static const size_t sizes[] = { 1, 2, 16, 64 };

	for (size_t i = 0; i < CR_ARRAY_SIZE(sizes); i++) {
		char *type = malloc(sizes[i]);

		if (!type)
			abort();
		media_type(value, type, sizes[i]);
		FUZZ_CHECK(strlen(type) < sizes[i] && lowercase_only(type));
		FUZZ_CHECK(!strpbrk(type, "; \t"));
		free(type);
	}
	simple_content_type(value);
}

static void check_params(struct cr_http_request *req, const struct fake_connection *c, json_t *body)
{
	static const char *const names[] = { "width", "height", "quality", "gray", "fit", "fps", "camera", "duration",
					     "discard", "interval", "name", "value" };
	static const size_t sizes[] = { 1, 4, 64 };
	const char *unknown = cr_http_unknown_param(req, stream_params);
	struct cr_jpeg_params p;
	int fps = 0;
	const char *problem = parse_params(req, &p, &fps);

	if (unknown) {
		bool found = false;

		for (unsigned i = 0; i < c->n; i++)
			found = found || (c->values[i].kind == MHD_GET_ARGUMENT_KIND && unknown == c->values[i].key);
		FUZZ_CHECK(found);
		FUZZ_CHECK(problem != NULL);
	}
	if (!problem) {
		FUZZ_CHECK((p.width == 0 && p.height == 0) ||
			   (p.width >= 16 && p.width <= 8192 && p.height >= 16 && p.height <= 8192));
		FUZZ_CHECK(p.quality == 0 || (p.quality >= 1 && p.quality <= 100));
		FUZZ_CHECK(p.gray == 0 || p.gray == 1);
		FUZZ_CHECK(p.fit <= CR_JPEG_FIT_PAD);
		FUZZ_CHECK(fps >= 0 && fps <= 1000);
	}
	for (unsigned i = 0; i < c->n; i++) {
		const char *key = c->values[i].key, *text = NULL, *q = (const char *)"unset";
		size_t len = 0;
		int v = 12345, ret;

		if (c->values[i].kind != MHD_GET_ARGUMENT_KIND)
			continue;
		/* What libmicrohttpd has for the name as a C string. */
		if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &text, &len) != MHD_YES)
			text = NULL;
		ret = cr_http_query(req, key, &q);
		FUZZ_CHECK(ret == (!text ? 0 : strlen(text) == len ? 1 : -EINVAL));
		FUZZ_CHECK(ret == 1 ? q == text : ret == 0 ? q == NULL : 1);
		ret = cr_http_int_param(req, key, -100, 100, &v);
		FUZZ_CHECK(ret == 0 || ret == 1 || ret == -EINVAL);
		FUZZ_CHECK(ret == 1 ? v >= -100 && v <= 100 : v == 12345);
		/* Strict: decimal digits with a '-' in front at most. */
		FUZZ_CHECK(ret != 1 || (text[text[0] == '-'] && strspn(text + (text[0] == '-'), "0123456789") ==
							  strlen(text + (text[0] == '-'))));
	}
	for (size_t i = 0; i < CR_ARRAY_SIZE(names); i++) {
		for (size_t s = 0; s < CR_ARRAY_SIZE(sizes); s++) {
			char *buf = malloc(sizes[s]);
			bool bad = false;
			const char *arg;

			if (!buf)
				abort();
			arg = cr_http_arg(req, body, names[i], buf, sizes[s], &bad);
			FUZZ_CHECK(arg == NULL || arg == buf);
			FUZZ_CHECK(arg == NULL || bad || memchr(buf, '\0', sizes[s]));
			free(buf);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct fake_connection c = { .n = 0 };
	struct MHD_Connection *conn = (struct MHD_Connection *)&c;
	struct cr_http_request req = { .conn = conn, .path = "/stream.mjpg" };
	const char *method, *version, *body_text, *v;
	json_t *body;

	parse_request(text, &c, &method, &version, &body_text);
	req.method = method;
	req.body = body_text;
	req.body_len = strlen(body_text);

	for (size_t i = 0; i < CR_ARRAY_SIZE(policies); i++)
		check_origin(policies[i], conn, method, version);
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Listen");
	if (v) {
		struct cr_http_config cfg = {
			.listen = (char *)v,
			.hostnames = (char *)MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Hostnames"),
			.cors_origins = (char *)MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Cors-Origins"),
		};
		struct cr_http_origin *policy = cr_http_origin_new(&cfg);

		check_origin(policy, conn, method, version);
		cr_http_origin_free(&policy);
		FUZZ_CHECK(policy == NULL);
	}
	FUZZ_CHECK(cr_http_origin_check_preflighted(conn, method, (char[64]){ 0 }, 64) % 403 == 0);
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (v)
		check_host(v);
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (v)
		check_media_type(v);

	body = json_loads(body_text, 0, NULL);
	check_params(&req, &c, body);
	json_decref(body);
	free(text);
	return 0;
}
