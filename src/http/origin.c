/* Where requests may come from.
 *
 * camrig listens on loopback without credentials by default, so the browser
 * of the person sitting at the machine is the one client that can be turned
 * against it: any page it opens may send requests to 127.0.0.1. Three
 * checks, made before authentication and routing:
 *
 * 1. DNS rebinding. A page on evil.example can point its own name at
 *    127.0.0.1 and then read camrig's replies as same-origin. The browser
 *    still sends "Host: evil.example", so the Host header must name an IP
 *    address (a literal cannot be rebound), localhost, this machine's host
 *    name (or NAME.local, mDNS), the listen address, or an entry of
 *    http.hostnames. Anything else is a 421 (Misdirected Request).
 * 2. Cross-site requests that change state (every method but GET, HEAD and
 *    OPTIONS: POST, DELETE). A browser names the page's origin in Origin and, since 2020
 *    in every engine, the relation in Sec-Fetch-Site; a foreign Origin or a
 *    cross-site / same-site fetch is refused unless http.cors_origins names
 *    the origin.
 * 3. For browsers that send neither: a state-changing request must be one a
 *    page cannot make without a CORS preflight: a content type other than
 *    the three "simple" ones (application/json, say), an Authorization
 *    header, or the header X-Camrig. camrig answers preflights only for
 *    http.cors_origins, so a foreign page never gets that far.
 * GETs change nothing; without Access-Control-Allow-Origin a foreign page
 * cannot read their replies. No reply carries a wildcard CORS header. */
#include "http/origin.h"

#include "base/mem.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HOST_MAX 255

struct cr_http_origin {
	char *hostnames;          /* http.hostnames: "a,*.b", lowercase */
	char *cors_origins;       /* http.cors_origins: "https://a,http://b:8000", lowercase */
	char machine[HOST_MAX + 1]; /* gethostname(), lowercase; "" if unknown */
	char listen_host[HOST_MAX + 1]; /* the host of http.listen, lowercase */
};

static void lowercase(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

struct cr_http_origin *cr_http_origin_new(const struct cr_http_config *cfg)
{
	struct cr_http_origin *o = CR_NEW(o);
	const char *listen = cfg->listen ? cfg->listen : "";
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);

	o->hostnames = cr_strdup(cfg->hostnames ? cfg->hostnames : "");
	o->cors_origins = cr_strdup(cfg->cors_origins ? cfg->cors_origins : "");
	if (gethostname(o->machine, sizeof(o->machine) - 1) < 0)
		o->machine[0] = '\0';
	lowercase(o->machine);
	if (listen[0] == '[' && n >= 2) { /* "[::1]:8080" */
		listen++;
		n -= 2;
	}
	snprintf(o->listen_host, sizeof(o->listen_host), "%.*s", (int)n, listen);
	lowercase(o->listen_host);
	return o;
}

void cr_http_origin_free(struct cr_http_origin **po)
{
	struct cr_http_origin *o = *po;

	if (!o)
		return;
	*po = NULL;
	free(o->hostnames);
	free(o->cors_origins);
	free(o);
}

/* Whether item is one of the comma-separated list (exactly, or under a
 * "*.NAME" entry when wildcards). */
static bool listed(const char *list, const char *item, bool wildcards)
{
	size_t len = strlen(item);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, item, n) == 0)
			return true;
		/* "*.lab.example.org" takes "cam1.lab.example.org", not "lab.example.org". */
		if (wildcards && n > 2 && p[0] == '*' && p[1] == '.' && len > n - 1 &&
		    strncmp(item + len - (n - 1), p + 1, n - 1) == 0)
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/* The host part of a Host header value ("name:port", "[v6]:port"),
 * lowercase, without a trailing dot. Returns false when it is malformed. */
static bool host_of(const char *header, char *host, size_t len, bool *literal)
{
	const char *end;
	unsigned char addr[16];

	*literal = false;
	if (header[0] == '[') {
		end = strchr(header, ']');
		if (!end || (end[1] && end[1] != ':') || (size_t)(end - header) >= len)
			return false;
		snprintf(host, len, "%.*s", (int)(end - header - 1), header + 1);
		*literal = inet_pton(AF_INET6, host, addr) == 1;
		return *literal;
	}
	end = header + strcspn(header, ":");
	if ((size_t)(end - header) >= len || end == header)
		return false;
	if (*end && strspn(end + 1, "0123456789") != strlen(end + 1))
		return false;
	snprintf(host, len, "%.*s", (int)(end - header), header);
	lowercase(host);
	if (host[strlen(host) - 1] == '.')
		host[strlen(host) - 1] = '\0';
	if (strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen(host))
		return false;
	*literal = inet_pton(AF_INET, host, addr) == 1;
	return true;
}

static bool host_known(const struct cr_http_origin *o, const char *host)
{
	size_t len = strlen(host), mlen = strlen(o->machine);

	if (strcmp(host, "localhost") == 0 || (len > 10 && strcmp(host + len - 10, ".localhost") == 0))
		return true;
	if (o->machine[0] && (strcmp(host, o->machine) == 0 ||
			      (len == mlen + 6 && strncmp(host, o->machine, mlen) == 0 && strcmp(host + mlen, ".local") == 0)))
		return true;
	return strcmp(host, o->listen_host) == 0 || listed(o->hostnames, host, true);
}

/* The media type of a Content-Type value, lowercase, without parameters. */
static void media_type(const char *value, char *out, size_t len)
{
	size_t n;

	while (*value == ' ' || *value == '\t')
		value++;
	n = strcspn(value, "; \t");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), value);
	lowercase(out);
}

static bool simple_content_type(const char *value)
{
	char type[64];

	if (!value)
		return true;
	media_type(value, type, sizeof(type));
	return strcmp(type, "application/x-www-form-urlencoded") == 0 || strcmp(type, "multipart/form-data") == 0 ||
	       strcmp(type, "text/plain") == 0;
}

static bool safe_method(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
}

unsigned cr_http_origin_check(const struct cr_http_origin *o, struct MHD_Connection *conn, const char *method,
			      const char *version, bool tls, const char **cors_origin, char *why, size_t len)
{
	const char *host_header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *fetch_site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	char host[HOST_MAX + 1], own[HOST_MAX + 16], lower_origin[HOST_MAX + 16];
	bool literal, allowed_origin = false;

	*cors_origin = NULL;
	if (!host_header) {
		if (strcmp(version, MHD_HTTP_VERSION_1_0) == 0)
			goto origin;
		snprintf(why, len, "no Host header (HTTP/1.1 requires one, RFC 9110 section 7.2)");
		return MHD_HTTP_BAD_REQUEST;
	}
	if (!host_of(host_header, host, sizeof(host), &literal)) {
		snprintf(why, len, "malformed Host header \"%.100s\" (expected HOST[:PORT])", host_header);
		return MHD_HTTP_BAD_REQUEST;
	}
	if (!literal && !host_known(o, host)) {
		snprintf(why, len, "Host \"%s\" is not a name camrig is known by (add it to http.hostnames)", host);
		return 421; /* Misdirected Request, RFC 9110 section 15.5.20 */
	}
origin:
	if (origin) {
		snprintf(lower_origin, sizeof(lower_origin), "%s", origin);
		lowercase(lower_origin);
		allowed_origin = listed(o->cors_origins, lower_origin, false);
		if (allowed_origin)
			*cors_origin = origin;
	}
	if (safe_method(method))
		return 0;
	if (origin && !allowed_origin) {
		snprintf(own, sizeof(own), "%s://%s", tls ? "https" : "http", host_header ? host_header : "");
		lowercase(own);
		if (strcmp(lower_origin, own) != 0) {
			snprintf(why, len, "%s from the web page of %.100s refused: it is another site (add the origin to "
				 "http.cors_origins to allow it)", method, origin);
			return MHD_HTTP_FORBIDDEN;
		}
	}
	if (fetch_site && !allowed_origin && (strcasecmp(fetch_site, "cross-site") == 0 ||
					      strcasecmp(fetch_site, "same-site") == 0)) {
		snprintf(why, len, "%s from a %s web page refused (add its origin to http.cors_origins to allow it)",
			 method, fetch_site);
		return MHD_HTTP_FORBIDDEN;
	}
	return 0;
}

unsigned cr_http_origin_check_preflighted(struct MHD_Connection *conn, const char *method, char *why, size_t len)
{
	if (safe_method(method))
		return 0;
	if (simple_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)) &&
	    !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) &&
	    !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, CR_HTTP_REQUEST_HEADER)) {
		snprintf(why, len, "%s needs the header " CR_HTTP_REQUEST_HEADER ": 1 or a JSON body (Content-Type: "
			 "application/json), which a web page of another site cannot send, e.g. curl -H '"
			 CR_HTTP_REQUEST_HEADER ": 1' ...", method);
		return MHD_HTTP_FORBIDDEN;
	}
	return 0;
}

void cr_http_origin_headers(struct MHD_Response *resp, const char *cors_origin)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
	if (!cors_origin)
		return;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, cors_origin);
	MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
}

void cr_http_origin_preflight_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, DELETE");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type, " CR_HTTP_REQUEST_HEADER);
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
}
