/* Who may use the HTTP server: HTTP Basic (RFC 7617) against a file of
 * crypt(3) password hashes, or a bearer token (RFC 6750) from a file.
 *
 * With http.auth "auto" (the default) credentials are required exactly when
 * the server listens beyond loopback; camrig then refuses to start without a
 * password or token file. "none" turns checking off everywhere. Credential
 * files must not be readable by others, are re-read on SIGHUP, and nothing
 * read from them is ever logged. */
#include "http/auth.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_USERS 64
#define MAX_LINE 512

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
	bool ok = false;

	pthread_mutex_lock(&auth->lock);
	for (unsigned i = 0; i < auth->nusers && !ok; i++) {
		if (strcmp(auth->users[i].name, user) == 0) {
			/* crypt_rn, libxcrypt's crypt_r that reports failure as
			 * NULL (and that sanitizers do not intercept). */
			const char *hashed = crypt_rn(password, auth->users[i].hash, data, (int)sizeof(*data));

			ok = hashed && hashed[0] != '*' && same_secret(hashed, auth->users[i].hash);
		}
	}
	pthread_mutex_unlock(&auth->lock);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ok;
}

bool cr_http_auth_allowed(struct cr_http_auth *auth, struct MHD_Connection *conn)
{
	const char *header;
	bool ok = false;

	if (!auth->required)
		return true;
	header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
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
