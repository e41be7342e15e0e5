/* Which requests may use the HTTP server, by where they come from (see
 * origin.c): the Host header, cross-site requests, CORS. */
#ifndef CR_HTTP_ORIGIN_H
#define CR_HTTP_ORIGIN_H

#include "config/config.h"
#include "http/http.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_http_origin;

/* The policy of cfg (http.hostnames, http.cors_origins) for a server on
 * listen ("HOST:PORT"). Never fails: cfg was checked when it was loaded. */
struct cr_http_origin *cr_http_origin_new(const struct cr_http_config *cfg);

/* NULL-safe; sets *origin to NULL. */
void cr_http_origin_free(struct cr_http_origin **origin);

/* Decides whether the request on conn may go on, by its Host, Origin and
 * Sec-Fetch-Site headers. Returns 0 when it may, else the status to answer
 * (400 no Host on HTTP/1.1, 421 a Host camrig is not known by, 403 a
 * cross-site state-changing request) with a one-line reason in why (len
 * bytes). *cors_origin is set to the request's
 * Origin when it is one of http.cors_origins (the reply must name it in
 * Access-Control-Allow-Origin), else NULL. tls: the request came over
 * HTTPS. Sources: RFC 9110 section 7.2 (Host), the Fetch standard
 * ("CORS-safelisted request-header", "simple" content types, Sec-Fetch-Site
 * from Fetch Metadata), RFC 6454 (Origin). */
unsigned cr_http_origin_check(const struct cr_http_origin *origin, struct MHD_Connection *conn, const char *method,
			      const char *version, bool tls, const char **cors_origin, char *why, size_t len);

/* A state-changing request must be one that a web page cannot send without
 * a CORS preflight: a content type other than the three "simple" ones, an
 * Authorization header, or CR_HTTP_REQUEST_HEADER. Returns 0 when it is
 * (or the method changes nothing), else 403 with the reason in why. */
unsigned cr_http_origin_check_preflighted(struct MHD_Connection *conn, const char *method, char *why, size_t len);

/* Adds the CORS headers for cors_origin (from cr_http_origin_check; NULL:
 * none) to resp: every reply gets them. */
void cr_http_origin_headers(struct MHD_Response *resp, const char *cors_origin);

/* Adds what a preflight's reply says besides: the methods and headers
 * allowed, and for how long (Fetch standard, "CORS protocol"). */
void cr_http_origin_preflight_headers(struct MHD_Response *resp);

#ifdef __cplusplus
}
#endif

#endif
