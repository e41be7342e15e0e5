/* HTTP authentication (see auth.c). */
#ifndef CR_HTTP_AUTH_H
#define CR_HTTP_AUTH_H

#include "config/config.h"

#include <microhttpd.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_http_auth;

/* Loads the credential files of cfg and decides whether credentials are
 * required (loopback: whether the server listens on loopback only). Fails,
 * logged, when a file is missing, malformed or readable by others, or when
 * credentials are required and none are configured. */
int cr_http_auth_new(const struct cr_http_config *cfg, bool loopback, struct cr_http_auth **out);

/* NULL-safe; sets *auth to NULL. */
void cr_http_auth_free(struct cr_http_auth **auth);

/* Re-reads the credential files (SIGHUP). On failure the old credentials stay
 * in force. Returns 0 or a negative errno (logged). */
int cr_http_auth_reload(struct cr_http_auth *auth);

/* True when the request may proceed: no credentials required, or a valid
 * "Authorization: Basic" or "Authorization: Bearer" header. */
bool cr_http_auth_allowed(struct cr_http_auth *auth, struct MHD_Connection *conn);

bool cr_http_auth_required(const struct cr_http_auth *auth);

#ifdef __cplusplus
}
#endif

#endif
