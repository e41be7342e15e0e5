/* Configuration values: the parse functions named in the key table
 * (config.c), one per kind of value. Each checks the text of one key and
 * stores it in its field of struct cr_config or struct cr_camera_config; a
 * file (yaml.c) and the command line (cr_config_set()) go through the
 * same ones. */
#include "config/internal.h"

#include "base/fourcc.h"
#include "base/fs.h"
#include "config/sources.h"
#include "base/log.h"
#include "base/mem.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define NAME_MAX_LEN 64               /* camera name, bytes */
#define TEXT_MAX_LEN 255              /* other free text (LSL name, type), bytes */
#define SOURCE_MAX_LEN 4096           /* source spec, bytes */

void cr_config_set_string(char **field, const char *text)
{
	char *copy = cr_strdup(text);

	free(*field);
	*field = copy;
}

bool cr_config_printable(const char *text)
{
	for (; *text; text++)
		if ((unsigned char)*text < 0x20 || *text == 0x7f)
			return false;
	return true;
}

static int whole_number(const struct key *key, const char *text, long *value, char **why)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(text, &end, 10);
	if (end == text || *end || isspace((unsigned char)*text)) {
		*why = cr_asprintf("\"%s\" is not a whole number", text);
		return -EINVAL;
	}
	if (errno == ERANGE || n < key->min || n > key->max) {
		*why = cr_asprintf("%s is out of range", text);
		return -ERANGE;
	}
	*value = n;
	return 0;
}

int cr_config_parse_int(const struct key *key, const char *text, void *base, char **why)
{
	long n;
	int ret = whole_number(key, text, &n, why);

	if (ret >= 0)
		*FIELD(base, key->offset, int) = (int)n;
	return ret;
}

int cr_config_parse_uint(const struct key *key, const char *text, void *base, char **why)
{
	long n;
	int ret = whole_number(key, text, &n, why);

	if (ret >= 0)
		*FIELD(base, key->offset, unsigned) = (unsigned)n;
	return ret;
}

int cr_config_parse_fps(const struct key *key, const char *text, void *base, char **why)
{
	char *end;
	double n = strtod(text, &end);

	if (end == text || *end || isspace((unsigned char)*text)) {
		*why = cr_asprintf("\"%s\" is not a number", text);
		return -EINVAL;
	}
	if (!(n >= (double)key->min && n <= (double)key->max)) {
		*why = cr_asprintf("%s is out of range", text);
		return -ERANGE;
	}
	*FIELD(base, key->offset, double) = n;
	return 0;
}

int cr_config_parse_bool(const struct key *key, const char *text, void *base, char **why)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < CR_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
			*FIELD(base, key->offset, bool) = strcasecmp(text, yes[i]) == 0;
			return 0;
		}
	}
	*why = cr_asprintf("\"%s\" is not a boolean", text);
	return -EINVAL;
}

int cr_config_parse_size_key(const struct key *key, const char *text, void *base, char **why)
{
	int width, height;

	if (cr_config_parse_size(text, &width, &height) < 0) {
		*why = cr_asprintf("\"%s\" is not a size", text);
		return -EINVAL;
	}
	*FIELD(base, key->offset, int) = width;
	*FIELD(base, key->offset2, int) = height;
	return 0;
}

int cr_config_parse_format(const struct key *key, const char *text, void *base, char **why)
{
	uint32_t fourcc;

	if (cr_fourcc_parse(text, &fourcc) < 0 || !cr_fourcc_is_supported(fourcc)) {
		*why = cr_asprintf("\"%s\" is not a supported format", text);
		return -EINVAL;
	}
	*FIELD(base, key->offset, uint32_t) = fourcc;
	return 0;
}

int cr_config_parse_name(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > NAME_MAX_LEN || strspn(text, "abcdefghijklmnopqrstuvwxyz"
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len) {
		*why = cr_asprintf("\"%s\" is not a valid name", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

int cr_config_parse_text(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > TEXT_MAX_LEN || !cr_config_printable(text)) {
		*why = cr_asprintf("\"%s\" is not valid text", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

bool cr_config_has_prefix(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

int cr_config_parse_source(const struct key *key, const char *text, void *base, char **why)
{
	const char *location;

	if (!cr_source_scheme_of(text, &location) || strlen(text) > SOURCE_MAX_LEN || !cr_config_printable(text)) {
		*why = cr_asprintf("\"%s\" is not a source", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

static bool hostname_ok(const char *host, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (host[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)host[i]) || host[i] == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* "HOST:PORT" with HOST an IPv4 address or a host name, or "[IPv6]:PORT". */
int cr_config_parse_listen(const struct key *key, const char *text, void *base, char **why)
{
	char host[256], addr[sizeof(struct in6_addr)];
	const char *port, *end;
	size_t len;
	long n;

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end || end[1] != ':')
			goto bad;
		len = (size_t)(end - text - 1);
		port = end + 2;
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1)
			goto bad;
	} else {
		end = strchr(text, ':');
		if (!end || strchr(end + 1, ':'))
			goto bad;
		len = (size_t)(end - text);
		port = end + 1;
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, text, len);
		host[len] = '\0';
		if (strspn(host, "0123456789.") == len ? inet_pton(AF_INET, host, addr) != 1 : !hostname_ok(host, len))
			goto bad;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
		goto bad;
	n = strtol(port, NULL, 10);
	if (n > 65535)
		goto bad;
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
bad:
	*why = cr_asprintf("\"%s\" is not a listen address", text);
	return -EINVAL;
}

/* An MQTT broker: "HOST:PORT" as a listen address is written. */
int cr_config_parse_broker(const struct key *key, const char *text, void *base, char **why)
{
	int ret = cr_config_parse_listen(key, text, base, why);

	if (ret < 0) {
		free(*why);
		*why = cr_asprintf("\"%s\" is not a broker address", text);
	}
	return ret;
}

/* An MQTT client id: letters, digits, '_', '-' and {host}, at most 64
 * bytes once {host} is expanded (MQTT 3.1.1 section 3.1.3.1 asks servers
 * to take 1..23 of [0-9a-zA-Z]; every broker in use takes longer ones). */
int cr_config_parse_client_id(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	for (const char *p = text; *p; p++) {
		if (strncmp(p, "{host}", 6) == 0) {
			p += 5;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			len = 0;
	}
	if (len == 0 || len > 64) {
		*why = cr_asprintf("\"%s\" is not a client id", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* An MQTT topic to publish under (MQTT 5.0 section 4.7): no wildcard, no
 * empty level, no leading '$' (the broker's), printable ASCII without
 * spaces so it can be typed into mosquitto_sub; {host} allowed. */
int cr_config_parse_mqtt_topic(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);
	bool ok = len > 0 && len <= 200 && text[0] != '$' && text[0] != '/' && text[len - 1] != '/' &&
		  !strstr(text, "//") && !strpbrk(text, "+#");

	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)text[i] > 0x20 && (unsigned char)text[i] < 0x7f;
	if (!ok) {
		*why = cr_asprintf("\"%s\" is not a topic", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* Where the RTSP publisher sends: rtsp:// or rtsps://, a host, a path;
 * credentials go in rtsp.username and rtsp.password_file, never the URL
 * (URLs are logged and shown in /status). */
int cr_config_parse_rtsp_url(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text),
	       scheme = cr_config_has_prefix(text, "rtsps://") ? 8 : cr_config_has_prefix(text, "rtsp://") ? 7 : 0;
	const char *host = text + scheme;

	if (!scheme || len > 1024 || !*host || *host == '/' || *host == ':' || strpbrk(text, " \"#") ||
	    !cr_config_printable(text)) {
		*why = cr_asprintf("\"%s\" is not an RTSP URL", text);
		return -EINVAL;
	}
	if (strchr(host, '@')) {
		*why = cr_strdup("the URL has credentials in it");
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* A token: encoder and preset names. */
int cr_config_parse_word(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > 63 || strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len) {
		*why = cr_asprintf("\"%s\" is not a valid name", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

int cr_config_parse_choice(const struct key *key, const char *text, void *base, char **why)
{
	for (const char *const *c = key->choices; *c; c++) {
		if (strcmp(text, *c) == 0) {
			cr_config_set_string(FIELD(base, key->offset, char *), text);
			return 0;
		}
	}
	*why = cr_asprintf("\"%s\" is not %s", text, key->what);
	return -EINVAL;
}

int cr_config_parse_path(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > 1024 || !cr_config_printable(text)) {
		*why = cr_asprintf("\"%s\" is not a path", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* A file-name template (base/fs.h): expanded once with sample fields to
 * check it. A key whose name ends in "_name" takes one name, no '/'. */
int cr_config_parse_name_template(const struct key *key, const char *text, void *base, char **why)
{
	const struct cr_fs_name_fields sample = { .utc_us = INT64_C(1764547200000000), .camera = "camera" };
	size_t klen = strlen(key->name);
	char out[1024], reason[512];

	if (strlen(text) > 512) {
		*why = cr_asprintf("a template of %zu bytes is too long (at most 512)", strlen(text));
		return -EINVAL;
	}
	if (cr_fs_name_expand(text, &sample, out, sizeof(out), reason, sizeof(reason)) < 0) {
		*why = cr_strdup(reason);
		return -EINVAL;
	}
	if (klen > 5 && strcmp(key->name + klen - 5, "_name") == 0 && strchr(text, '/')) {
		*why = cr_asprintf("\"%s\" has a '/'", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* An ntfy server: "http://HOST[:PORT][/PATH]" or https://; no trailing '/'
 * is kept. */
int cr_config_parse_url(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text),
	       scheme = cr_config_has_prefix(text, "https://") ? 8 : cr_config_has_prefix(text, "http://") ? 7 : 0;
	char *url;

	if (!scheme || len == scheme || len > 1024 || strpbrk(text, " \"?#") || !cr_config_printable(text)) {
		*why = cr_asprintf("\"%s\" is not a server URL", text);
		return -EINVAL;
	}
	url = cr_strdup(text);
	while (len > scheme && url[len - 1] == '/')
		url[--len] = '\0';
	free(*FIELD(base, key->offset, char *));
	*FIELD(base, key->offset, char *) = url;
	return 0;
}

/* An ntfy topic name (ntfy allows [-_A-Za-z0-9]{1,64}). */
int cr_config_parse_topic(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > 64 || strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len) {
		*why = cr_asprintf("\"%s\" is not a topic name", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* A secret that goes into an HTTP header: never echoed in messages. */
int cr_config_parse_token(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f) {
			len = 0;
			break;
		}
	}
	if (len == 0 || len > 512) {
		*why = cr_strdup("the token is not valid");
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* "none" or a comma-separated list of the event types in NTFY_EVENTS;
 * stored as "a,b,c" without spaces. */
int cr_config_parse_event_list(const struct key *key, const char *text, void *base, char **why)
{
	static const char *const known[] = { "ready", "recording_started", "recording_finished", "error",
					     "camera_lost", "camera_found", "motion_start" };
	char *list = cr_strdup(""), *copy = cr_strdup(text), *save = NULL, *tok;

	if (strcmp(text, "none") != 0) {
		for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			size_t i = 0;
			char *next;

			while (i < CR_ARRAY_SIZE(known) && strcmp(tok, known[i]) != 0)
				i++;
			if (i == CR_ARRAY_SIZE(known)) {
				*why = cr_asprintf("\"%s\" is not an event type", tok);
				free(list);
				free(copy);
				return -EINVAL;
			}
			next = cr_asprintf("%s%s%s", list, *list ? "," : "", tok);
			free(list);
			list = next;
		}
		if (!*list) {
			*why = cr_asprintf("\"%s\" names no event", text);
			free(list);
			free(copy);
			return -EINVAL;
		}
	}
	free(copy);
	if (!*list) {
		free(list);
		list = cr_strdup("none");
	}
	free(*FIELD(base, key->offset, char *));
	*FIELD(base, key->offset, char *) = list;
	return 0;
}

/* Where upload.c POSTs to: http:// or https://, kept as written (a query
 * string is fine). */
int cr_config_parse_post_url(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text),
	       scheme = cr_config_has_prefix(text, "https://") ? 8 : cr_config_has_prefix(text, "http://") ? 7 : 0;

	if (!scheme || len == scheme || len > 2048 || strpbrk(text, " \"") || !cr_config_printable(text)) {
		*why = cr_asprintf("\"%s\" is not a URL", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

int cr_config_parse_log_level(const struct key *key, const char *text, void *base, char **why)
{
	if (cr_log_parse_level(text) < 0) {
		*why = cr_asprintf("\"%s\" is not a log level", text);
		return -EINVAL;
	}
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

int cr_config_parse_size(const char *text, int *width, int *height)
{
	long side[2];
	const char *p = text;

	for (int i = 0; i < 2; i++) {
		size_t digits = strspn(p, "0123456789");

		if (digits == 0 || digits > 5)
			return -EINVAL;
		side[i] = strtol(p, NULL, 10);
		if (side[i] < 1 || side[i] > PIXELS_MAX)
			return -EINVAL;
		p += digits;
		if (i == 0 && *p != 'x' && *p != 'X')
			return -EINVAL;
		p++;
	}
	if (p[-1] != '\0')
		return -EINVAL;
	*width = (int)side[0];
	*height = (int)side[1];
	return 0;
}

/* Each item of a comma-separated list through check (which lowercases it in
 * place and returns false for a bad one); the list stored lowercase and
 * comma-separated, "" for none. */
static int parse_list(const struct key *key, const char *text, void *base, char **why,
		      bool (*check)(char *item), const char *what)
{
	char *list = cr_strdup(""), *copy = cr_strdup(text), *save = NULL, *tok;

	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *next;

		if (!check(tok)) {
			*why = cr_asprintf("\"%s\" is not %s", tok, what);
			free(list);
			free(copy);
			return -EINVAL;
		}
		next = cr_asprintf("%s%s%s", list, *list ? "," : "", tok);
		free(list);
		list = next;
	}
	free(copy);
	free(*FIELD(base, key->offset, char *));
	*FIELD(base, key->offset, char *) = list;
	return 0;
}

/* A DNS name (RFC 1123 labels of letters, digits and '-'), optionally
 * "*." before it for any name under it; lowercased. */
static bool check_hostname(char *name)
{
	char *p = name;

	if (cr_config_has_prefix(p, "*."))
		p += 2;
	if (!*p || strlen(p) > 253 || *p == '.' || *p == '-' || p[strlen(p) - 1] == '.')
		return false;
	for (char *c = p; *c; c++) {
		*c = (char)tolower((unsigned char)*c);
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return false;
		if (*c == '.' && c[1] == '.')
			return false;
	}
	return true;
}

int cr_config_parse_hostnames(const struct key *key, const char *text, void *base, char **why)
{
	return parse_list(key, text, base, why, check_hostname, "a host name");
}

/* A web origin as browsers send it (RFC 6454 section 6.1):
 * SCHEME://HOST[:PORT] with scheme http or https, no path; lowercased. */
static bool check_origin(char *origin)
{
	size_t scheme = cr_config_has_prefix(origin, "https://") ? 8 : cr_config_has_prefix(origin, "http://") ? 7 : 0;
	char *host = origin + scheme, *port;

	for (char *c = origin; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!scheme || !*host || strlen(origin) > 255)
		return false;
	if (*host == '[') {                   /* an IPv6 literal */
		char *end = strchr(host, ']');

		if (!end || strspn(host + 1, "0123456789abcdef:.") != (size_t)(end - host - 1))
			return false;
		port = end + 1;
	} else {
		port = host + strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789-.");
		if (port == host)
			return false;
	}
	if (*port == ':')
		return port[1] && strspn(port + 1, "0123456789") == strlen(port + 1) && strlen(port + 1) <= 5;
	return *port == '\0';
}

int cr_config_parse_origins(const struct key *key, const char *text, void *base, char **why)
{
	return parse_list(key, text, base, why, check_origin, "an origin SCHEME://HOST[:PORT]");
}

/* A network interface name as the kernel takes them (IFNAMSIZ - 1 bytes, no
 * '/', no white space); kept as written. */
static bool check_interface(char *name)
{
	size_t len = strlen(name);

	return len > 0 && len < 16 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:@") == len;
}

int cr_config_parse_interfaces(const struct key *key, const char *text, void *base, char **why)
{
	return parse_list(key, text, base, why, check_interface, "a network interface name");
}

int cr_config_sensor_parse(const char *spec, struct cr_sensor_spec *out)
{
	static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
	static const char device[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:";
	const char *eq = strchr(spec, '='), *kind, *slash;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!eq)
		return -EINVAL;
	n = (size_t)(eq - spec);
	if (n == 0 || n >= sizeof(out->name) || strspn(spec, word) != n)
		return -EINVAL;
	memcpy(out->name, spec, n);
	kind = eq + 1;
	if (cr_config_has_prefix(kind, "iio:"))
		out->kind = CR_SENSOR_IIO;
	else if (cr_config_has_prefix(kind, "hwmon:"))
		out->kind = CR_SENSOR_HWMON;
	else
		return -EINVAL;
	kind = strchr(kind, ':') + 1;
	slash = strrchr(kind, '/');
	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - kind);
	if (n == 0 || n >= sizeof(out->device) || strspn(kind, device) != n || kind[0] == '.' || slash[1] == '.')
		return -EINVAL;
	memcpy(out->device, kind, n);
	n = strlen(slash + 1);
	if (n == 0 || n >= sizeof(out->channel) || strspn(slash + 1, word) != n)
		return -EINVAL;
	memcpy(out->channel, slash + 1, n);
	return 0;
}

int cr_config_parse_sensors(const struct key *key, const char *text, void *base, char **why)
{
	struct cr_sensor_spec specs[CR_CONFIG_MAX_SENSORS];
	char *copy = cr_strdup(text), *save = NULL, *tok;
	unsigned n = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (n == CR_CONFIG_MAX_SENSORS) {
			*why = cr_asprintf("more than %d sensors", CR_CONFIG_MAX_SENSORS);
			free(copy);
			return -E2BIG;
		}
		if (cr_config_sensor_parse(tok, &specs[n]) < 0) {
			*why = cr_asprintf("\"%s\" is not a sensor", tok);
			free(copy);
			return -EINVAL;
		}
		for (unsigned i = 0; i < n; i++) {
			if (strcmp(specs[i].name, specs[n].name) == 0) {
				*why = cr_asprintf("\"%s\": the name %s is taken by an earlier sensor", tok, specs[n].name);
				free(copy);
				return -EINVAL;
			}
		}
		n++;
	}
	free(copy);
	cr_config_set_string(FIELD(base, key->offset, char *), text);
	return 0;
}
