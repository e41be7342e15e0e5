/* HTTP authentication (see auth.c). */
#ifndef CR_HTTP_AUTH_H
#define CR_HTTP_AUTH_H

#include "config/config.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

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

enum cr_http_auth_result {
	CR_HTTP_AUTH_OK,         /* no credentials required, or valid ones */
	CR_HTTP_AUTH_DENIED,     /* none or wrong: answer 401 */
	CR_HTTP_AUTH_THROTTLED,  /* too many failures from this address: answer 429, not checked */
};

/* Whether the request on conn may proceed: no credentials required, or a
 * valid "Authorization: Basic" (RFC 7617) or "Authorization: Bearer" (RFC
 * 6750) header. A client address that failed too often is throttled; then
 * *retry_after_s says for how many seconds (see auth.c). Thread-safe. */
enum cr_http_auth_result cr_http_auth_check(struct cr_http_auth *auth, struct MHD_Connection *conn,
					    unsigned *retry_after_s);

bool cr_http_auth_required(const struct cr_http_auth *auth);

/* How many passwords were checked against a crypt(3) hash since start: one
 * per HTTP Basic attempt with a user name and password, for a known name or
 * not (an unknown name is checked against the first user's hash, auth.c);
 * none for a bearer token, a throttled attempt, or without a password file.
 * 0 for NULL. Thread-safe. */
uint64_t cr_http_auth_password_checks(struct cr_http_auth *auth);

#ifdef __cplusplus
}
#endif

#endif
