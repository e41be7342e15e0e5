/* HTTPS certificates that can be swapped without a restart.
 *
 * libmicrohttpd asks for the certificate of every handshake through a GnuTLS
 * retrieve callback (MHD_OPTION_HTTPS_CERT_CALLBACK), which answers with the
 * pair loaded most recently. SIGHUP loads the files again. Pairs are kept
 * until the server stops, because sessions that began with an older pair
 * still point at it (renewals are rare, so this stays small).
 *
 * A pair is used only when the key belongs to the certificate: the SHA-256
 * key ids (RFC 5280 section 4.2.1.2's method, over the SubjectPublicKeyInfo)
 * of the leaf certificate's public key and of the public half of the private
 * key must match. A mismatch refuses to start, and on SIGHUP keeps the pair
 * in use: either way no handshake can fail for it. */
#include "http/tls.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/auth.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN 8
#define KEY_FILE_MAX (64 * 1024)     /* bytes of a PEM private key file */

struct pair {
	struct pair *older;
	gnutls_pcert_st chain[MAX_CHAIN];
	unsigned chain_length;
	gnutls_privkey_t key;
};

struct cr_http_tls {
	char *cert_path, *key_path;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pair *current;        /* newest pair; older ones chained */

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
		    const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **pcert,
		    unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	pthread_mutex_lock(&lock);
	if (!current) {
		pthread_mutex_unlock(&lock);
		return -1;
	}
	*pcert = current->chain;
	*pcert_length = current->chain_length;
	*privkey = current->key;
	pthread_mutex_unlock(&lock);
	return 0;
}

gnutls_certificate_retrieve_function2 *cr_http_tls_callback(void)
{
	return retrieve;
}

static void pair_free(struct pair *p)
{
	for (unsigned i = 0; i < p->chain_length; i++)
		gnutls_pcert_deinit(&p->chain[i]);
	if (p->key)
		gnutls_privkey_deinit(p->key);
	free(p);
}

/* Whether key is the private key of the leaf certificate of p's chain. */
static bool key_matches(const struct pair *p)
{
	unsigned char cert_id[64], key_id[64];
	size_t cert_len = sizeof(cert_id), key_len = sizeof(key_id);
	gnutls_pubkey_t pub = NULL;
	bool same = false;

	if (gnutls_pubkey_init(&pub) == 0 && gnutls_pubkey_import_privkey(pub, p->key, 0, 0) == 0 &&
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, key_id, &key_len) == 0 &&
	    gnutls_pubkey_get_key_id(p->chain[0].pubkey, GNUTLS_KEYID_USE_SHA256, cert_id, &cert_len) == 0)
		same = cert_len == key_len && memcmp(cert_id, key_id, key_len) == 0;
	if (pub)
		gnutls_pubkey_deinit(pub);
	return same;
}

static int load(struct cr_http_tls *tls, struct pair **out)
{
	gnutls_datum_t cert = { 0 }, key = { 0 };
	struct pair *p = CR_NEW(p);
	char why[PATH_MAX + 128], *key_text = NULL;
	int ret;

	ret = cr_fs_read_secret("http.tls_key", tls->key_path, KEY_FILE_MAX, &key_text, why, sizeof(why));
	if (ret < 0) {
		cr_err("%s", why);
		goto end;
	}
	key = (gnutls_datum_t){ .data = (unsigned char *)key_text, .size = (unsigned)strlen(key_text) };
	if (gnutls_load_file(tls->cert_path, &cert) < 0) {
		ret = cr_log_ret(-ENOENT, CR_LOG_ERROR, "http.tls_cert %s: cannot read it", tls->cert_path);
		goto end;
	}
	p->chain_length = MAX_CHAIN;
	ret = gnutls_pcert_list_import_x509_raw(p->chain, &p->chain_length, &cert, GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0) {
		p->chain_length = 0;
		ret = cr_log_ret(-EINVAL, CR_LOG_ERROR, "http.tls_cert %s: not a PEM certificate chain (%s)",
				 tls->cert_path, gnutls_strerror(ret));
		goto end;
	}
	ret = gnutls_privkey_init(&p->key);
	if (ret == 0)
		ret = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		ret = cr_log_ret(-EINVAL, CR_LOG_ERROR, "http.tls_key %s: not a PEM private key (%s)", tls->key_path,
				 gnutls_strerror(ret));
		goto end;
	}
	if (!key_matches(p)) {
		ret = cr_log_ret(-EINVAL, CR_LOG_ERROR, "http.tls_key %s is not the key of the certificate in "
				 "http.tls_cert %s (expected the pair a CA issued, or that `openssl req -x509` wrote)",
				 tls->key_path, tls->cert_path);
		goto end;
	}
	*out = p;
	p = NULL;
	ret = 0;
end:
	if (key_text) {
		explicit_bzero(key_text, key.size);
		free(key_text);
	}
	gnutls_free(cert.data);
	if (p)
		pair_free(p);
	return ret;
}

int cr_http_tls_reload(struct cr_http_tls *tls)
{
	struct pair *p = NULL;
	int ret = load(tls, &p);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&lock);
	p->older = current;
	current = p;
	pthread_mutex_unlock(&lock);
	return 0;
}

int cr_http_tls_new(const char *cert_path, const char *key_path, struct cr_http_tls **out)
{
	struct cr_http_tls *tls = CR_NEW(tls);
	int ret;

	tls->cert_path = cr_strdup(cert_path);
	tls->key_path = cr_strdup(key_path);
	ret = cr_http_tls_reload(tls);
	if (ret < 0) {
		cr_http_tls_free(&tls);
		return ret;
	}
	*out = tls;
	return 0;
}

void cr_http_tls_free(struct cr_http_tls **ptls)
{
	struct cr_http_tls *tls = *ptls;

	if (!tls)
		return;
	*ptls = NULL;
	pthread_mutex_lock(&lock);
	while (current) {
		struct pair *p = current;

		current = p->older;
		pair_free(p);
	}
	pthread_mutex_unlock(&lock);
	free(tls->cert_path);
	free(tls->key_path);
	free(tls);
}
