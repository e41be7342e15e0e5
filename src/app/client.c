/* What camrig's command-line clients of the daemon share (see client.h). */
#include "app/client.h"

#include "base/fs.h"
#include "base/mem.h"
#include "http/http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cr_client_credentials(const char *file, const char *user, char **out)
{
	const char *env = getenv("CAMRIG_CREDENTIALS");
	char why[PATH_MAX + 128];

	*out = NULL;
	if (file) {
		if (cr_fs_read_secret("--credentials", file, 4096, out, why, sizeof(why)) < 0)
			return fprintf(stderr, "camrig: %s\n", why), 1;
		(*out)[strcspn(*out, "\r\n")] = '\0';
	} else if (user) {
		fprintf(stderr, "camrig: warning: --user puts the password where `ps` shows it to every user; "
			"use --credentials FILE or $CAMRIG_CREDENTIALS\n");
		*out = strdup(user);
	} else if (env && *env) {
		*out = strdup(env);
	}
	return 0;
}

void cr_client_credentials_free(char **credentials)
{
	if (!*credentials)
		return;
	explicit_bzero(*credentials, strlen(*credentials));
	free(*credentials);
	*credentials = NULL;
}

void cr_client_url(const char *listen, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", strstr(listen, "://") ? "" : "http://", listen, path);
}

void cr_client_auth(CURL *curl, const char *credentials, struct curl_slist **headers)
{
	if (!credentials)
		return;
	if (strncmp(credentials, "Bearer ", 7) == 0) {
		char *h = cr_asprintf("Authorization: %s", credentials);

		if (headers)
			*headers = curl_slist_append(*headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	} else if (curl) {
		curl_easy_setopt(curl, CURLOPT_USERPWD, credentials);
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
}

static size_t collect_reply(char *data, size_t size, size_t n, void *ctx)
{
	char **reply = ctx;
	size_t have = *reply ? strlen(*reply) : 0, add = size * n;

	if (have + add > 1024 * 1024)
		return 0; /* a reply that large is not camrig's */
	*reply = cr_realloc(*reply, have + add + 1);
	memcpy(*reply + have, data, add);
	(*reply)[have + add] = '\0';
	return add;
}

CURLcode cr_client_post(CURL *curl, const char *url, const char *content_type, const char *body, size_t size,
			const char *credentials, char **reply, long *status)
{
	char type[128];
	struct curl_slist *headers = NULL;
	CURLcode res;

	snprintf(type, sizeof(type), "Content-Type: %s", content_type);
	headers = curl_slist_append(headers, type);
	headers = curl_slist_append(headers, CR_HTTP_REQUEST_HEADER ": 1"); /* not a web page */
	if (strcmp(content_type, "application/json") == 0)
		headers = curl_slist_append(headers, "Accept: application/json, text/event-stream");
	cr_client_auth(curl, credentials, &headers);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)size);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_reply);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	*status = 0;
	res = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers); /* a bearer token in it: curl copies nothing it keeps */
	return res;
}
