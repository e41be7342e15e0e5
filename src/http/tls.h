/* HTTPS certificates for libmicrohttpd, reloadable while serving (see
 * tls.c). */
#ifndef CR_HTTP_TLS_H
#define CR_HTTP_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_http_tls;

/* Loads a PEM certificate chain and its PEM private key (which must not be
 * readable by others). One per process: the GnuTLS callback has no context
 * argument. Returns 0 or a negative errno (logged, naming the file). */
int cr_http_tls_new(const char *cert_path, const char *key_path, struct cr_http_tls **out);

/* Loads the files again; new handshakes use the new pair, sessions already
 * open keep theirs. On failure the old pair stays in use. */
int cr_http_tls_reload(struct cr_http_tls *tls);

/* Frees every pair loaded. Call after the server has stopped. NULL-safe;
 * sets *tls to NULL. */
void cr_http_tls_free(struct cr_http_tls **tls);

/* The certificate callback to give libmicrohttpd (MHD_OPTION_HTTPS_CERT_CALLBACK). */
gnutls_certificate_retrieve_function2 *cr_http_tls_callback(void);

#ifdef __cplusplus
}
#endif

#endif
