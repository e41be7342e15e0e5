/* What camrig's command-line clients of the daemon share (see client.h). */
#include "app/client.h"

#include "base/fs.h"
#include "base/mem.h"

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
