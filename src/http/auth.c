/* Who may use the HTTP server: HTTP Basic (RFC 7617) against a file of
 * crypt(3) password hashes, or a bearer token (RFC 6750) from a file.
 *
 * With http.auth "auto" (the default) credentials are required exactly when
 * the server listens beyond loopback; camrig then refuses to start without a
 * password or token file. "none" turns checking off everywhere. Credential
 * files must not be readable by others, are re-read on SIGHUP, and nothing
 * read from them is ever logged.
 *
 * Guessing is made slow and visible, not just possible:
 * - A Basic request for a user name that does not exist runs crypt(3) with
 *   the first user's hash, as a known name does, so the time taken does not
 *   tell which names exist. crypt runs outside the lock. Each run is
 *   counted (cr_http_auth_password_checks(), /status http.password_checks),
 *   which is how the tests see that an unknown name costs one, as a wrong
 *   password does.
 * - Failures are counted per client address (a table of FAILURE_SLOTS, the
 *   least recently failing address evicted): after FREE_FAILURES in a row,
 *   each further attempt within the address's penalty is answered 429 with
 *   Retry-After and not checked at all; the penalty doubles with every
 *   failure from 1 s up to PENALTY_MAX_NS, and a success clears it. Each
 *   address is logged at most once a minute, with how many attempts failed. */
#include "http/auth.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_USERS 64
#define MAX_LINE 512
#define FAILURE_SLOTS 256               /* client addresses tracked */
#define FREE_FAILURES 5                 /* failures in a row before the penalty starts */
#define PENALTY_FIRST_NS CR_NS_PER_SEC
#define PENALTY_MAX_NS (60 * CR_NS_PER_SEC)
#define LOG_EVERY_NS (60 * CR_NS_PER_SEC)

/* The failed attempts of one client address. */
struct failures {
	char addr[INET6_ADDRSTRLEN];     /* "" for a free slot */
	unsigned count;                  /* failures in a row */
	unsigned unlogged;               /* failures not yet in a log line */
	int64_t last_ns;                 /* the last failure, CLOCK_MONOTONIC */
	int64_t until_ns;                /* attempts before this get a 429 */
	int64_t logged_ns;               /* the last log line about it */
};

struct user {
	char *name;
	char *hash;                  /* crypt(3) string, e.g. "$6$salt$..." */
};

struct cr_http_auth {
	const struct cr_http_config *config;
	bool required;
	pthread_mutex_t lock;        /* guards the credentials (reload vs. checks) */
	struct user users[MAX_USERS];
	unsigned nusers;
	char *token;
	pthread_mutex_t failures_lock;  /* guards failures */
	struct failures failures[FAILURE_SLOTS];
	atomic_uint_fast64_t password_checks; /* crypt(3) runs, since start */
};

static void clear(struct cr_http_auth *auth)
{
	for (unsigned i = 0; i < auth->nusers; i++) {
		free(auth->users[i].name);
		explicit_bzero(auth->users[i].hash, strlen(auth->users[i].hash));
		free(auth->users[i].hash);
	}
	auth->nusers = 0;
	if (auth->token) {
		explicit_bzero(auth->token, strlen(auth->token));
		free(auth->token);
		auth->token = NULL;
	}
}

static void wipe(char *text)
{
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
}

static int load_users(const char *path, struct user *users, unsigned *n)
{
	char why[PATH_MAX + 128], *text, *line, *next;
	unsigned lineno = 0;
	int ret = cr_fs_read_secret("http.password_file", path, MAX_USERS * MAX_LINE, &text, why, sizeof(why));

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s", why);
	for (line = text; line && ret == 0; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (!colon || colon == line || colon[1] != '$' || *n == MAX_USERS) {
			ret = cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s:%u: expected \"user:HASH\" with a crypt(3) hash such "
					 "as `openssl passwd -6` prints (at most %d users)", path, lineno, MAX_USERS);
			break;
		}
		*colon = '\0';
		users[*n].name = cr_strdup(line);
		users[*n].hash = cr_strdup(colon + 1);
		(*n)++;
	}
	wipe(text);
	return ret;
}

static int load_token(const char *path, char **token)
{
	char why[PATH_MAX + 128], *text;
	int ret = cr_fs_read_secret("http.token_file", path, MAX_LINE, &text, why, sizeof(why));

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s", why);
	text[strcspn(text, "\r\n")] = '\0'; /* the first line */
	if (strlen(text) < 16) {
		wipe(text);
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "http.token_file %s: the token is shorter than 16 characters",
				  path);
	}
	*token = text;
	return 0;
}

int cr_http_auth_reload(struct cr_http_auth *auth)
{
	const struct cr_http_config *cfg = auth->config;
	struct cr_http_auth fresh = { 0 };
	int ret = 0;

	if (cfg->password_file)
		ret = load_users(cfg->password_file, fresh.users, &fresh.nusers);
	if (ret == 0 && cfg->token_file)
		ret = load_token(cfg->token_file, &fresh.token);
	if (ret < 0) {
		clear(&fresh);
		return ret;
	}
	pthread_mutex_lock(&auth->lock);
	clear(auth);
	memcpy(auth->users, fresh.users, sizeof(fresh.users));
	auth->nusers = fresh.nusers;
	auth->token = fresh.token;
	pthread_mutex_unlock(&auth->lock);
	return 0;
}

int cr_http_auth_new(const struct cr_http_config *cfg, bool loopback, struct cr_http_auth **out)
{
	struct cr_http_auth *auth = CR_NEW(auth);
	bool none = cfg->auth && strcmp(cfg->auth, "none") == 0;
	int ret;

	auth->config = cfg;
	pthread_mutex_init(&auth->lock, NULL);
	pthread_mutex_init(&auth->failures_lock, NULL);
	ret = cr_http_auth_reload(auth);
	if (ret < 0) {
		cr_http_auth_free(&auth);
		return ret;
	}
	auth->required = !none && (!loopback || auth->nusers > 0 || auth->token);
	if (auth->required && auth->nusers == 0 && !auth->token) {
		cr_http_auth_free(&auth);
		return cr_log_ret(-EACCES, CR_LOG_ERROR, "http.listen %s is not a loopback address: set "
				  "http.password_file or http.token_file, or http.auth: none to serve without "
				  "authentication", cfg->listen);
	}
	if (none && !loopback)
		cr_warn("http.auth is none: anyone who can reach %s can watch and control the cameras", cfg->listen);
	*out = auth;
	return 0;
}

void cr_http_auth_free(struct cr_http_auth **pauth)
{
	struct cr_http_auth *auth = *pauth;

	if (!auth)
		return;
	*pauth = NULL;
	clear(auth);
	pthread_mutex_destroy(&auth->lock);
	pthread_mutex_destroy(&auth->failures_lock);
	free(auth);
}

/* Compares without an early exit, so timing does not reveal a prefix. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static bool check_password(struct cr_http_auth *auth, const char *user, const char *password)
{
	struct crypt_data *data = cr_calloc(1, sizeof(*data));
	char *hash = NULL;
	bool known = false, ok = false;
	const char *hashed;

	/* The user's hash, or for an unknown name the first user's: the same
	 * crypt(3) work either way. */
	pthread_mutex_lock(&auth->lock);
	for (unsigned i = 0; i < auth->nusers && !known; i++)
		known = strcmp(auth->users[i].name, user) == 0 && (hash = cr_strdup(auth->users[i].hash));
	if (!known && auth->nusers > 0)
		hash = cr_strdup(auth->users[0].hash);
	pthread_mutex_unlock(&auth->lock);
	if (hash) {
		/* crypt_rn, libxcrypt's crypt_r that reports failure as NULL
		 * (and that sanitizers do not intercept). */
		hashed = crypt_rn(password, hash, data, (int)sizeof(*data));
		atomic_fetch_add_explicit(&auth->password_checks, 1, memory_order_relaxed);
		ok = known && hashed && hashed[0] != '*' && same_secret(hashed, hash);
		explicit_bzero(hash, strlen(hash));
		free(hash);
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ok;
}

static bool credentials_ok(struct cr_http_auth *auth, struct MHD_Connection *conn);

static void client_address(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info ? info->client_addr : NULL;

	snprintf(buf, len, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
}

/* The slot of addr, or the least recently failing one to reuse. Under
 * failures_lock. */
static struct failures *failures_of(struct cr_http_auth *auth, const char *addr, bool make)
{
	struct failures *oldest = &auth->failures[0];

	for (unsigned i = 0; i < FAILURE_SLOTS; i++) {
		struct failures *f = &auth->failures[i];

		if (strcmp(f->addr, addr) == 0)
			return f;
		if (f->last_ns < oldest->last_ns)
			oldest = f;
	}
	if (!make)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	return oldest;
}

/* Counts a failed attempt from addr and sets its penalty. */
static void note_failure(struct cr_http_auth *auth, const char *addr)
{
	int64_t now = cr_time_mono_ns();
	struct failures *f;

	pthread_mutex_lock(&auth->failures_lock);
	f = failures_of(auth, addr, true);
	f->count++;
	f->unlogged++;
	f->last_ns = now;
	if (f->count > FREE_FAILURES) {
		unsigned doublings = f->count - FREE_FAILURES - 1;
		int64_t penalty = doublings >= 6 ? PENALTY_MAX_NS : PENALTY_FIRST_NS << doublings;

		f->until_ns = now + (penalty < PENALTY_MAX_NS ? penalty : PENALTY_MAX_NS);
	}
	if (f->logged_ns == 0 || now - f->logged_ns >= LOG_EVERY_NS) {
		cr_warn("http: %u failed authentication attempt%s from %s%s", f->unlogged, f->unlogged == 1 ? "" : "s",
			addr, f->until_ns > now ? "; further attempts get 429 for a while" : "");
		f->logged_ns = now;
		f->unlogged = 0;
	}
	pthread_mutex_unlock(&auth->failures_lock);
}

enum cr_http_auth_result cr_http_auth_check(struct cr_http_auth *auth, struct MHD_Connection *conn,
					    unsigned *retry_after_s)
{
	char addr[INET6_ADDRSTRLEN];
	int64_t now = cr_time_mono_ns();
	struct failures *f;
	bool ok;

	if (!auth->required)
		return CR_HTTP_AUTH_OK;
	client_address(conn, addr, sizeof(addr));
	pthread_mutex_lock(&auth->failures_lock);
	f = failures_of(auth, addr, false);
	if (f && f->until_ns > now) {
		*retry_after_s = (unsigned)((f->until_ns - now + CR_NS_PER_SEC - 1) / CR_NS_PER_SEC);
		pthread_mutex_unlock(&auth->failures_lock);
		return CR_HTTP_AUTH_THROTTLED;
	}
	pthread_mutex_unlock(&auth->failures_lock);
	ok = credentials_ok(auth, conn);
	pthread_mutex_lock(&auth->failures_lock);
	f = failures_of(auth, addr, false);
	if (ok && f)
		memset(f, 0, sizeof(*f));
	pthread_mutex_unlock(&auth->failures_lock);
	if (ok)
		return CR_HTTP_AUTH_OK;
	/* No credentials at all is how every browser asks first: not a guess. */
	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))
		note_failure(auth, addr);
	return CR_HTTP_AUTH_DENIED;
}

/* Whether conn carries valid credentials. */
static bool credentials_ok(struct cr_http_auth *auth, struct MHD_Connection *conn)
{
	const char *header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	bool ok = false;

	if (!header)
		return false;
	if (strncasecmp(header, "Bearer ", 7) == 0) {
		pthread_mutex_lock(&auth->lock);
		ok = auth->token && same_secret(header + 7, auth->token);
		pthread_mutex_unlock(&auth->lock);
	} else if (strncasecmp(header, "Basic ", 6) == 0) {
		char *password = NULL, *user = MHD_basic_auth_get_username_password(conn, &password);

		ok = user && password && check_password(auth, user, password);
		if (password)
			explicit_bzero(password, strlen(password));
		MHD_free(user);
		MHD_free(password);
	}
	return ok;
}

bool cr_http_auth_required(const struct cr_http_auth *auth)
{
	return auth->required;
}

uint64_t cr_http_auth_password_checks(struct cr_http_auth *auth)
{
	return auth ? atomic_load_explicit(&auth->password_checks, memory_order_relaxed) : 0;
}
