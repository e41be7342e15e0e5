/* camrig's command-line clients of a running daemon (`camrig record`,
 * `camrig monitor`, `camrig status`): where it listens and the credentials
 * it may want, one way for all of them. */
#ifndef CR_APP_CLIENT_H
#define CR_APP_CLIENT_H

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The credentials a client of the daemon sends, "USER:PASSWORD" (HTTP
 * Basic) or "Bearer TOKEN", into *out (allocated; free with
 * cr_client_credentials_free(); NULL: none): the first line of file (a
 * secret file: not readable by others), else user from the command line
 * (with a warning: `ps` shows it), else $CAMRIG_CREDENTIALS. Returns 0, or 1
 * after printing why the file cannot be used. */
int cr_client_credentials(const char *file, const char *user, char **out);

/* Wipes and frees credentials. NULL-safe; sets *credentials to NULL. */
void cr_client_credentials_free(char **credentials);

/* "http://HOST:PORT" (or listen as given when it is a URL) + path, into buf
 * (len bytes). */
void cr_client_url(const char *listen, const char *path, char *buf, size_t len);

/* Sets up sending credentials (may be NULL): "USER:PASSWORD" as HTTP Basic
 * on curl (a transfer's option: once per handle), or "Bearer TOKEN" as an
 * Authorization header appended to *headers (curl is not used and may be
 * NULL; the caller sets CURLOPT_HTTPHEADER to the list and frees it). */
void cr_client_auth(CURL *curl, const char *credentials, struct curl_slist **headers);

/* POSTs body (size bytes of content_type; "application/json" also sends
 * Accept: application/json, text/event-stream, as MCP's Streamable HTTP
 * asks) to url with credentials (as cr_client_auth; may be NULL) and the
 * header X-Camrig: 1 (a program, not a web page), within 15 s. The reply's
 * body goes into *reply (allocated, NUL-terminated, at most 1 MiB; the
 * caller frees it), its HTTP status into *status (0: none). Reuses curl's
 * connection between calls. Returns curl's result. */
CURLcode cr_client_post(CURL *curl, const char *url, const char *content_type, const char *body, size_t size,
			const char *credentials, char **reply, long *status);

#ifdef __cplusplus
}
#endif

#endif
