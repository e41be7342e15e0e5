/* Configuration: the grammar of data/camrig.yaml, loaded with libcyaml, and
 * every key also settable from the command line.
 *
 * One table (top_keys and the tables below it) describes every key: its YAML
 * name, the parse function that turns text into a field of struct cr_config,
 * and what a good value looks like. The rest is derived from it:
 *
 * - the libcyaml schema, built per load. Every value is loaded as a string
 *   into a struct raw array with one slot per table entry, so libcyaml checks
 *   the shape (unknown keys, a list where a value belongs) and the table's
 *   parse functions check the values: the same functions cr_config_set()
 *   calls, so the file and the command line share one grammar;
 * - the "expected one of: ..." lists in messages.
 *
 * libcyaml 1.3 reports a failure through its log callback only, as a message
 * and a backtrace of field names and sequence entries whose marks point near,
 * not at, the offending line. So a libyaml pass over the same text first
 * records the line of every key path (struct outline); the backtrace becomes a
 * path and the path a line. That pass also reports YAML syntax errors at
 * libyaml's exact mark, and collects the `controls` maps, whose keys are V4L2
 * control names that no schema can list (libcyaml ignores that subtree).
 *
 * Defaults live only in data/camrig.yaml, which is embedded in the binary: a
 * load starts from the embedded file and lays the user's file over it, and
 * each camera of a file starts as a copy of the embedded camera. */
#include "base/config.h"

#include "base/fourcc.h"
#include "base/log.h"
#include "base/mem.h"
#include "embedded.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <cyaml/cyaml.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <yaml.h>

#define FILE_MAX (1024 * 1024)        /* bytes of a config file */
#define DEPTH_MAX 16                  /* nesting of YAML mappings and lists */
#define PLACES_MAX 10000              /* keys and list entries in a file */
#define PIXELS_MAX 32768              /* one side of a size or crop, pixels */
#define NAME_MAX_LEN 64               /* camera name, bytes */
#define TEXT_MAX_LEN 255              /* other free text (LSL name, type), bytes */
#define CONTROL_NAME_MAX 63           /* V4L2 control name, bytes */
#define CONTROL_VALUE_MAX 63          /* control value, bytes (menu names are < 32) */
#define SOURCE_MAX_LEN 4096           /* source spec, bytes */
#define EMBEDDED_NAME "built-in camrig.yaml"
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- the key table ---------------------------------------------------- */

enum key_type {
	KEY_VALUE,      /* a scalar, parsed by key->parse */
	KEY_MAPPING,    /* a mapping of the keys in key->sub */
	KEY_CAMERAS,    /* a list of mappings of the keys in key->sub */
	KEY_CONTROLS,   /* a mapping of V4L2 control names to values */
	KEY_MAP,        /* a mapping of free names to text (struct cr_config_pair at offset, count at offset2) */
};

struct key;

/* Parses text into the field(s) of base (struct cr_config, or struct
 * cr_camera_config below `cameras`) at key->offset. Returns 0, or a negative
 * errno and sets *why to an allocated "VALUE is ..." without the expectation.
 * Leaves the field untouched on failure. */
typedef int parse_fn(const struct key *key, const char *text, void *base, char **why);

struct key {
	const char *name;        /* YAML key; NULL ends a table */
	enum key_type type;
	parse_fn *parse;         /* KEY_VALUE */
	size_t offset;           /* of the field in its base struct */
	size_t offset2;          /* size keys: the height field */
	long min, max;           /* numeric keys: accepted range */
	const char *expected;    /* what a good value looks like; NULL: "min..max" */
	const struct key *sub;   /* KEY_MAPPING, KEY_CAMERAS */
};

static parse_fn parse_int, parse_uint, parse_fps, parse_bool, parse_size, parse_format, parse_name,
	parse_text, parse_source, parse_listen, parse_log_level, parse_word, parse_container, parse_path,
	parse_auth;

static parse_fn parse_url, parse_topic, parse_token, parse_event_list, parse_bias;

static parse_fn parse_post_url;

#define TOP(f) offsetof(struct cr_config, f)
#define CAM(f) offsetof(struct cr_camera_config, f)
#define BOOL_EXPECTED "true or false"
#define SIZE_EXPECTED "WIDTHxHEIGHT in pixels, e.g. 640x480"

static const struct key crop_keys[] = {
	{ .name = "left", .parse = parse_int, .offset = CAM(crop.left), .max = PIXELS_MAX },
	{ .name = "top", .parse = parse_int, .offset = CAM(crop.top), .max = PIXELS_MAX },
	{ .name = "width", .parse = parse_int, .offset = CAM(crop.width), .max = PIXELS_MAX },
	{ .name = "height", .parse = parse_int, .offset = CAM(crop.height), .max = PIXELS_MAX },
	{ 0 },
};

static const struct key jpeg_keys[] = {
	{ .name = "quality", .parse = parse_int, .offset = CAM(jpeg.quality), .min = 1, .max = 100 },
	{ .name = "gray", .parse = parse_bool, .offset = CAM(jpeg.gray), .expected = BOOL_EXPECTED },
	{ .name = "size", .parse = parse_size, .offset = CAM(jpeg.width), .offset2 = CAM(jpeg.height),
	  .expected = SIZE_EXPECTED },
	{ .name = "workers", .parse = parse_int, .offset = CAM(jpeg.workers), .max = 64 },
	{ 0 },
};

static const struct key lsl_keys[] = {
	{ .name = "enabled", .parse = parse_bool, .offset = CAM(lsl.enabled), .expected = BOOL_EXPECTED },
	{ .name = "name", .parse = parse_text, .offset = CAM(lsl.name), .expected = "1 to 255 printable characters" },
	{ .name = "type", .parse = parse_text, .offset = CAM(lsl.type), .expected = "1 to 255 printable characters" },
	{ 0 },
};

#define WORD_EXPECTED "1 to 63 letters, digits, '_' or '-'"

static const struct key recording_keys[] = {
	{ .name = "codec", .parse = parse_word, .offset = CAM(recording.codec),
	  .expected = "copy, mjpeg, h264, h265, ffv1 or a libavcodec encoder name, e.g. h264_v4l2m2m" },
	{ .name = "format", .parse = parse_container, .offset = CAM(recording.format), .expected = "one of: mkv, mp4" },
	{ .name = "root", .parse = parse_path, .offset = CAM(recording.root), .expected = "a directory path" },
	{ .name = "pre_trigger", .parse = parse_fps, .offset = CAM(recording.pre_trigger), .max = 3600 },
	{ .name = "segment", .parse = parse_int, .offset = CAM(recording.segment), .max = 86400 },
	{ .name = "min_free_mb", .parse = parse_int, .offset = CAM(recording.min_free_mb), .max = 1048576 },
	{ .name = "preset", .parse = parse_word, .offset = CAM(recording.preset), .expected = WORD_EXPECTED },
	{ .name = "crf", .parse = parse_int, .offset = CAM(recording.crf), .min = -1, .max = 63 },
	{ .name = "qp", .parse = parse_int, .offset = CAM(recording.qp), .min = -1, .max = 69 },
	{ .name = "bitrate", .parse = parse_int, .offset = CAM(recording.bitrate), .max = 1000000 },
	{ .name = "gop", .parse = parse_fps, .offset = CAM(recording.gop), .max = 60 },
	{ .name = "gray", .parse = parse_bool, .offset = CAM(recording.gray), .expected = BOOL_EXPECTED },
	{ .name = "zerolatency", .parse = parse_bool, .offset = CAM(recording.zerolatency), .expected = BOOL_EXPECTED },
	{ .name = "queue_depth", .parse = parse_int, .offset = CAM(recording.queue_depth), .min = 1, .max = 1024 },
	{ .name = "pre_trigger_max_mb", .parse = parse_int, .offset = CAM(recording.pre_trigger_max_mb), .min = 1,
	  .max = 65536 },
	{ 0 },
};

static const struct key timelapse_keys[] = {
	{ .name = "interval", .parse = parse_fps, .offset = CAM(timelapse.interval), .max = 86400 },
	{ .name = "fps", .parse = parse_fps, .offset = CAM(timelapse.fps), .min = 1, .max = 240 },
	{ .name = "quality", .parse = parse_int, .offset = CAM(timelapse.quality), .min = 1, .max = 100 },
	{ .name = "photos_root", .parse = parse_path, .offset = CAM(timelapse.photos_root), .expected = "a directory path" },
	{ .name = "videos_root", .parse = parse_path, .offset = CAM(timelapse.videos_root), .expected = "a directory path" },
	{ .name = "resume", .parse = parse_bool, .offset = CAM(timelapse.resume), .expected = BOOL_EXPECTED },
	{ .name = "preset", .parse = parse_word, .offset = CAM(timelapse.preset), .expected = WORD_EXPECTED },
	{ .name = "crf", .parse = parse_int, .offset = CAM(timelapse.crf), .max = 51 },
	{ 0 },
};

static const struct key tcp_stream_keys[] = {
	{ .name = "enabled", .parse = parse_bool, .offset = CAM(tcp_stream.enabled), .expected = BOOL_EXPECTED },
	{ .name = "listen", .parse = parse_listen, .offset = CAM(tcp_stream.listen),
	  .expected = "HOST:PORT with PORT 0..65535, e.g. 127.0.0.1:10001 or [::1]:10001" },
	{ .name = "max_clients", .parse = parse_uint, .offset = CAM(tcp_stream.max_clients), .min = 1, .max = 256 },
	{ 0 },
};

static const struct key upload_keys[] = {
	{ .name = "enabled", .parse = parse_bool, .offset = CAM(upload.enabled), .expected = BOOL_EXPECTED },
	{ .name = "url", .parse = parse_post_url, .offset = CAM(upload.url),
	  .expected = "an http:// or https:// URL, e.g. https://example.com/upload" },
	{ .name = "interval_ms", .parse = parse_int, .offset = CAM(upload.interval_ms), .min = 50, .max = 86400000 },
	{ .name = "field", .parse = parse_word, .offset = CAM(upload.field), .expected = WORD_EXPECTED },
	{ .name = "fields", .type = KEY_MAP, .offset = CAM(upload.fields), .offset2 = CAM(upload.nfields),
	  .expected = "a mapping of form field names to values" },
	{ .name = "headers", .type = KEY_MAP, .offset = CAM(upload.headers), .offset2 = CAM(upload.nheaders),
	  .expected = "a mapping of header names to values, e.g. Authorization: Bearer TOKEN" },
	{ .name = "timeout_ms", .parse = parse_int, .offset = CAM(upload.timeout_ms), .min = 100, .max = 600000 },
	{ .name = "queue", .parse = parse_int, .offset = CAM(upload.queue), .min = 1, .max = 64 },
	{ 0 },
};

static const struct key camera_keys[] = {
	{ .name = "name", .parse = parse_name, .offset = CAM(name),
	  .expected = "1 to 64 letters, digits, '-', '_' or '.'" },
	{ .name = "source", .parse = parse_source, .offset = CAM(source),
	  .expected = "auto, test, v4l2:/dev/videoN, file:PATH or url:URL" },
	{ .name = "size", .parse = parse_size, .offset = CAM(width), .offset2 = CAM(height), .expected = SIZE_EXPECTED },
	{ .name = "fps", .parse = parse_fps, .offset = CAM(fps), .max = 1000 },
	{ .name = "format", .parse = parse_format, .offset = CAM(format) },
	{ .name = "loop", .parse = parse_bool, .offset = CAM(loop), .expected = BOOL_EXPECTED },
	{ .name = "buffers", .parse = parse_uint, .offset = CAM(buffers), .min = 2, .max = 32 },
	{ .name = "crop", .type = KEY_MAPPING, .sub = crop_keys },
	{ .name = "controls", .type = KEY_CONTROLS },
	{ .name = "jpeg", .type = KEY_MAPPING, .sub = jpeg_keys },
	{ .name = "lsl", .type = KEY_MAPPING, .sub = lsl_keys },
	{ .name = "recording", .type = KEY_MAPPING, .sub = recording_keys },
	{ .name = "timelapse", .type = KEY_MAPPING, .sub = timelapse_keys },
	{ .name = "upload", .type = KEY_MAPPING, .sub = upload_keys },
	{ .name = "tcp_stream", .type = KEY_MAPPING, .sub = tcp_stream_keys },
	{ 0 },
};

static const struct key http_keys[] = {
	{ .name = "listen", .parse = parse_listen, .offset = TOP(http.listen),
	  .expected = "HOST:PORT with PORT 0..65535, e.g. 127.0.0.1:8080 or [::1]:8080" },
	{ .name = "max_clients", .parse = parse_uint, .offset = TOP(http.max_clients), .min = 1, .max = 4096 },
	{ .name = "auth", .parse = parse_auth, .offset = TOP(http.auth), .expected = "one of: auto, none" },
	{ .name = "password_file", .parse = parse_path, .offset = TOP(http.password_file), .expected = "a file path" },
	{ .name = "token_file", .parse = parse_path, .offset = TOP(http.token_file), .expected = "a file path" },
	{ .name = "tls_cert", .parse = parse_path, .offset = TOP(http.tls_cert), .expected = "a PEM file path" },
	{ .name = "tls_key", .parse = parse_path, .offset = TOP(http.tls_key), .expected = "a PEM file path" },
	{ 0 },
};

#define TOPIC_EXPECTED "1 to 64 letters, digits, '_' or '-'"
#define NTFY_EVENTS "ready, recording_started, recording_finished, error, camera_lost, camera_found"

static const struct key ntfy_keys[] = {
	{ .name = "enabled", .parse = parse_bool, .offset = TOP(ntfy.enabled), .expected = BOOL_EXPECTED },
	{ .name = "server", .parse = parse_url, .offset = TOP(ntfy.server),
	  .expected = "an http:// or https:// URL, e.g. https://ntfy.sh" },
	{ .name = "topic", .parse = parse_topic, .offset = TOP(ntfy.topic), .expected = TOPIC_EXPECTED },
	{ .name = "reply_topic", .parse = parse_topic, .offset = TOP(ntfy.reply_topic), .expected = TOPIC_EXPECTED },
	{ .name = "token", .parse = parse_token, .offset = TOP(ntfy.token),
	  .expected = "1 to 512 printable characters without spaces" },
	{ .name = "token_file", .parse = parse_path, .offset = TOP(ntfy.token_file), .expected = "a file path" },
	{ .name = "priority", .parse = parse_int, .offset = TOP(ntfy.priority), .min = 1, .max = 5 },
	{ .name = "alert_priority", .parse = parse_int, .offset = TOP(ntfy.alert_priority), .min = 1, .max = 5 },
	{ .name = "events", .parse = parse_event_list, .offset = TOP(ntfy.events),
	  .expected = "none, or a comma-separated list of: " NTFY_EVENTS },
	{ 0 },
};

static const struct key gpio_led_keys[] = {
	{ .name = "idle", .parse = parse_int, .offset = TOP(gpio.led_idle), .min = -1, .max = 4095 },
	{ .name = "recording", .parse = parse_int, .offset = TOP(gpio.led_recording), .min = -1, .max = 4095 },
	{ .name = "paused", .parse = parse_int, .offset = TOP(gpio.led_paused), .min = -1, .max = 4095 },
	{ 0 },
};

static const struct key gpio_keys[] = {
	{ .name = "enabled", .parse = parse_bool, .offset = TOP(gpio.enabled), .expected = BOOL_EXPECTED },
	{ .name = "chip", .parse = parse_path, .offset = TOP(gpio.chip),
	  .expected = "a GPIO chip name, path, label or number, e.g. gpiochip0" },
	{ .name = "button", .parse = parse_int, .offset = TOP(gpio.button), .min = -1, .max = 4095 },
	{ .name = "active_low", .parse = parse_bool, .offset = TOP(gpio.active_low), .expected = BOOL_EXPECTED },
	{ .name = "bias", .parse = parse_bias, .offset = TOP(gpio.bias),
	  .expected = "one of: as-is, pull-up, pull-down, disable" },
	{ .name = "debounce_ms", .parse = parse_int, .offset = TOP(gpio.debounce_ms), .min = 1, .max = 1000 },
	{ .name = "click_gap_ms", .parse = parse_int, .offset = TOP(gpio.click_gap_ms), .min = 100, .max = 5000 },
	{ .name = "leds", .type = KEY_MAPPING, .sub = gpio_led_keys },
	{ 0 },
};

static const struct key top_keys[] = {
	{ .name = "log_level", .parse = parse_log_level, .offset = TOP(log_level),
	  .expected = "one of: error, warn, info, debug" },
	{ .name = "http", .type = KEY_MAPPING, .sub = http_keys },
	{ .name = "cameras", .type = KEY_CAMERAS, .sub = camera_keys },
	{ .name = "ntfy", .type = KEY_MAPPING, .sub = ntfy_keys },
	{ .name = "gpio", .type = KEY_MAPPING, .sub = gpio_keys },
	{ 0 },
};

#define CONTROL_NAME_EXPECTED "letters, digits and '_', as v4l2-ctl --list-ctrls prints them"
#define CONTROL_VALUE_EXPECTED "an integer, true, false or a menu item name"

static size_t key_count(const struct key *keys)
{
	size_t n = 0;

	while (keys[n].name)
		n++;
	return n;
}

static const struct key *key_find(const struct key *keys, const char *name, size_t len)
{
	for (; keys->name; keys++)
		if (strlen(keys->name) == len && memcmp(keys->name, name, len) == 0)
			return keys;
	return NULL;
}

/* "a, b, c": the names of a table, allocated. */
static char *key_names(const struct key *keys)
{
	char *list = cr_strdup("");

	for (; keys->name; keys++) {
		char *next = cr_asprintf("%s%s%s", list, *list ? ", " : "", keys->name);

		free(list);
		list = next;
	}
	return list;
}

static char *format_names(void)
{
	char *list = cr_strdup("one of:");

	for (int i = 0; cr_fourcc_supported[i]; i++) {
		char *next = cr_asprintf("%s%s %s", list, i ? "," : "", cr_fourcc_name(cr_fourcc_supported[i]));

		free(list);
		list = next;
	}
	return list;
}

/* What a good value of key looks like, allocated; key NULL with level: a
 * mapping of level's keys (the document, or one camera). */
static char *describe(const struct key *key, const struct key *level)
{
	char *names, *text;

	if (key && key->type == KEY_VALUE) {
		if (key->expected)
			return cr_strdup(key->expected);
		if (key->parse == parse_format)
			return format_names();
		return cr_asprintf("%ld..%ld", key->min, key->max);
	}
	if (key && key->type == KEY_CAMERAS)
		return cr_strdup("a list of cameras, each a mapping");
	if (key && key->type == KEY_CONTROLS)
		return cr_strdup("a mapping of V4L2 control names to values");
	if (key && key->type == KEY_MAP)
		return cr_strdup(key->expected ? key->expected : "a mapping of names to values");
	names = key_names(key ? key->sub : level);
	text = cr_asprintf("a mapping of: %s", names);
	free(names);
	return text;
}

/* Where a dotted path leads in the table, list indexes skipped. */
struct spot {
	const struct key *key;    /* the key the path names; NULL: the document or one camera */
	const struct key *level;  /* the table of its children; NULL: it has none */
};

static int spot_find(const char *path, struct spot *spot)
{
	const struct key *level = top_keys;
	bool index = false;

	spot->key = NULL;
	spot->level = top_keys;
	while (*path) {
		size_t len = strcspn(path, ".");

		if (index) {
			level = spot->key->sub;
			spot->key = NULL;
			index = false;
		} else {
			spot->key = level ? key_find(level, path, len) : NULL;
			if (!spot->key)
				return -ENOENT;
			index = spot->key->type == KEY_CAMERAS;
			level = spot->key->type == KEY_MAPPING ? spot->key->sub : NULL;
		}
		path += len;
		if (*path == '.')
			path++;
	}
	spot->level = level;
	return 0;
}

/* ---- messages ----------------------------------------------------------- */

/* "FILE:LINE: KEY: what (expected ...)"; file NULL: no "FILE:LINE: "; key ""
 * or NULL: no "KEY: "; expected NULL: no parenthesis. */
static char *message(const char *file, int line, const char *key, const char *what, const char *expected)
{
	char *where = file ? cr_asprintf("%s:%d: ", file, line) : cr_strdup("");
	char *text = cr_asprintf("%s%s%s%s%s%s%s", where, key && *key ? key : "", key && *key ? ": " : "", what,
				 expected ? " (expected " : "", expected ? expected : "", expected ? ")" : "");

	free(where);
	return text;
}

static char *join(const char *path, const char *name)
{
	return *path ? cr_asprintf("%s.%s", path, name) : cr_strdup(name);
}

/* ---- value parsers ------------------------------------------------------ */

#define FIELD(base, offset, type) ((type *)((char *)(base) + (offset)))

static void set_string(char **field, const char *text)
{
	char *copy = cr_strdup(text);

	free(*field);
	*field = copy;
}

static bool printable(const char *text)
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

static int parse_int(const struct key *key, const char *text, void *base, char **why)
{
	long n;
	int ret = whole_number(key, text, &n, why);

	if (ret >= 0)
		*FIELD(base, key->offset, int) = (int)n;
	return ret;
}

static int parse_uint(const struct key *key, const char *text, void *base, char **why)
{
	long n;
	int ret = whole_number(key, text, &n, why);

	if (ret >= 0)
		*FIELD(base, key->offset, unsigned) = (unsigned)n;
	return ret;
}

static int parse_fps(const struct key *key, const char *text, void *base, char **why)
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

static int parse_bool(const struct key *key, const char *text, void *base, char **why)
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

static int parse_size(const struct key *key, const char *text, void *base, char **why)
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

static int parse_format(const struct key *key, const char *text, void *base, char **why)
{
	uint32_t fourcc;

	if (cr_fourcc_parse(text, &fourcc) < 0 || !cr_fourcc_is_supported(fourcc)) {
		*why = cr_asprintf("\"%s\" is not a supported format", text);
		return -EINVAL;
	}
	*FIELD(base, key->offset, uint32_t) = fourcc;
	return 0;
}

static int parse_name(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > NAME_MAX_LEN || strspn(text, "abcdefghijklmnopqrstuvwxyz"
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len) {
		*why = cr_asprintf("\"%s\" is not a valid name", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

static int parse_text(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > TEXT_MAX_LEN || !printable(text)) {
		*why = cr_asprintf("\"%s\" is not valid text", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

static bool has_prefix(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

static int parse_source(const struct key *key, const char *text, void *base, char **why)
{
	bool ok = strcmp(text, "auto") == 0 || strcmp(text, "test") == 0 ||
		  (has_prefix(text, "v4l2:/") && text[6]) || (has_prefix(text, "file:") && text[5]) ||
		  (has_prefix(text, "url:") && strstr(text + 4, "://") > text + 4);

	if (!ok || strlen(text) > SOURCE_MAX_LEN || !printable(text)) {
		*why = cr_asprintf("\"%s\" is not a source", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
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
static int parse_listen(const struct key *key, const char *text, void *base, char **why)
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
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
bad:
	*why = cr_asprintf("\"%s\" is not a listen address", text);
	return -EINVAL;
}

/* A token: encoder and preset names. */
static int parse_word(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > 63 || strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len) {
		*why = cr_asprintf("\"%s\" is not a valid name", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

static int parse_container(const struct key *key, const char *text, void *base, char **why)
{
	if (strcmp(text, "mkv") != 0 && strcmp(text, "mp4") != 0) {
		*why = cr_asprintf("\"%s\" is not a container format", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

static int parse_path(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > 1024 || !printable(text)) {
		*why = cr_asprintf("\"%s\" is not a path", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

static int parse_auth(const struct key *key, const char *text, void *base, char **why)
{
	if (strcmp(text, "auto") != 0 && strcmp(text, "none") != 0) {
		*why = cr_asprintf("\"%s\" is not an authentication mode", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* An ntfy server: "http://HOST[:PORT][/PATH]" or https://; no trailing '/'
 * is kept. */
static int parse_url(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text), scheme = has_prefix(text, "https://") ? 8 : has_prefix(text, "http://") ? 7 : 0;
	char *url;

	if (!scheme || len == scheme || len > 1024 || strpbrk(text, " \"?#") || !printable(text)) {
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
static int parse_topic(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len > 64 || strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len) {
		*why = cr_asprintf("\"%s\" is not a topic name", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* A secret that goes into an HTTP header: never echoed in messages. */
static int parse_token(const struct key *key, const char *text, void *base, char **why)
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
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* "none" or a comma-separated list of the event types in NTFY_EVENTS;
 * stored as "a,b,c" without spaces. */
static int parse_event_list(const struct key *key, const char *text, void *base, char **why)
{
	static const char *const known[] = { "ready", "recording_started", "recording_finished", "error",
					     "camera_lost", "camera_found" };
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

static int parse_bias(const struct key *key, const char *text, void *base, char **why)
{
	if (strcmp(text, "as-is") != 0 && strcmp(text, "pull-up") != 0 && strcmp(text, "pull-down") != 0 &&
	    strcmp(text, "disable") != 0) {
		*why = cr_asprintf("\"%s\" is not a bias", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

/* Where upload.c POSTs to: http:// or https://, kept as written (a query
 * string is fine). */
static int parse_post_url(const struct key *key, const char *text, void *base, char **why)
{
	size_t len = strlen(text), scheme = has_prefix(text, "https://") ? 8 : has_prefix(text, "http://") ? 7 : 0;

	if (!scheme || len == scheme || len > 2048 || strpbrk(text, " \"") || !printable(text)) {
		*why = cr_asprintf("\"%s\" is not a URL", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
	return 0;
}

static int parse_log_level(const struct key *key, const char *text, void *base, char **why)
{
	if (cr_log_parse_level(text) < 0) {
		*why = cr_asprintf("\"%s\" is not a log level", text);
		return -EINVAL;
	}
	set_string(FIELD(base, key->offset, char *), text);
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

/* ---- cameras and controls ------------------------------------------------ */

static void pairs_free(struct cr_config_pair *pairs, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
}

static struct cr_config_pair *pairs_copy(const struct cr_config_pair *pairs, unsigned count)
{
	struct cr_config_pair *copy = count ? cr_calloc(count, sizeof(*copy)) : NULL;

	for (unsigned i = 0; i < count; i++) {
		copy[i].name = cr_strdup(pairs[i].name);
		copy[i].value = cr_strdup(pairs[i].value);
	}
	return copy;
}

static void camera_clear(struct cr_camera_config *cam)
{
	for (unsigned i = 0; i < cam->ncontrols; i++) {
		free(cam->controls[i].name);
		free(cam->controls[i].value);
	}
	free(cam->controls);
	free(cam->name);
	free(cam->source);
	free(cam->lsl.name);
	free(cam->lsl.type);
	free(cam->recording.codec);
	free(cam->recording.format);
	free(cam->recording.root);
	free(cam->recording.preset);
	free(cam->timelapse.photos_root);
	free(cam->timelapse.videos_root);
	free(cam->timelapse.preset);
	free(cam->upload.url);
	free(cam->tcp_stream.listen);
	free(cam->upload.field);
	pairs_free(cam->upload.fields, cam->upload.nfields);
	pairs_free(cam->upload.headers, cam->upload.nheaders);
	memset(cam, 0, sizeof(*cam));
}

static char *strdup_or_null(const char *s)
{
	return s ? cr_strdup(s) : NULL;
}

static void camera_copy(struct cr_camera_config *dst, const struct cr_camera_config *src)
{
	*dst = *src;
	dst->name = strdup_or_null(src->name);
	dst->source = strdup_or_null(src->source);
	dst->lsl.name = strdup_or_null(src->lsl.name);
	dst->lsl.type = strdup_or_null(src->lsl.type);
	dst->recording.codec = strdup_or_null(src->recording.codec);
	dst->recording.format = strdup_or_null(src->recording.format);
	dst->recording.root = strdup_or_null(src->recording.root);
	dst->recording.preset = strdup_or_null(src->recording.preset);
	dst->timelapse.photos_root = strdup_or_null(src->timelapse.photos_root);
	dst->timelapse.videos_root = strdup_or_null(src->timelapse.videos_root);
	dst->timelapse.preset = strdup_or_null(src->timelapse.preset);
	dst->upload.url = strdup_or_null(src->upload.url);
	dst->tcp_stream.listen = strdup_or_null(src->tcp_stream.listen);
	dst->upload.field = strdup_or_null(src->upload.field);
	dst->upload.fields = pairs_copy(src->upload.fields, src->upload.nfields);
	dst->upload.headers = pairs_copy(src->upload.headers, src->upload.nheaders);
	dst->controls = src->ncontrols ? cr_calloc(src->ncontrols, sizeof(*dst->controls)) : NULL;
	for (unsigned i = 0; i < src->ncontrols; i++) {
		dst->controls[i] = src->controls[i];
		dst->controls[i].name = cr_strdup(src->controls[i].name);
		dst->controls[i].value = cr_strdup(src->controls[i].value);
	}
}

/* Adds or replaces control name. On failure sets *why and *expected (static). */
static int control_set(struct cr_camera_config *cam, const char *name, const char *value, int line, char **why,
		       const char **expected)
{
	size_t len = strlen(name);
	unsigned i;

	if (len == 0 || len > CONTROL_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len) {
		*why = cr_asprintf("\"%s\" is not a control name", name);
		*expected = CONTROL_NAME_EXPECTED;
		return -EINVAL;
	}
	if (!*value || strlen(value) > CONTROL_VALUE_MAX || !printable(value)) {
		*why = cr_asprintf("\"%s\" is not a control value", value);
		*expected = CONTROL_VALUE_EXPECTED;
		return -EINVAL;
	}
	for (i = 0; i < cam->ncontrols && strcmp(cam->controls[i].name, name) != 0; i++)
		;
	if (i == cam->ncontrols) {
		if (cam->ncontrols == CR_CONFIG_MAX_CONTROLS) {
			*why = cr_strdup("one control too many");
			*expected = "at most " STR(CR_CONFIG_MAX_CONTROLS) " per camera";
			return -E2BIG;
		}
		cam->controls = cr_realloc(cam->controls, (cam->ncontrols + 1) * sizeof(*cam->controls));
		cam->controls[i].name = cr_strdup(name);
		cam->controls[i].value = NULL;
		cam->ncontrols++;
	}
	set_string(&cam->controls[i].value, value);
	cam->controls[i].line = line;
	return 0;
}

#define PAIR_NAME_MAX 64
#define PAIR_VALUE_MAX 4096

/* Adds or replaces entry name of the free-form mapping key (KEY_MAP) of
 * base. The value is never echoed: it may be a secret (an Authorization
 * header). On failure sets *why and *expected (static). */
static int map_set(const struct key *key, void *base, const char *name, const char *value, char **why,
		   const char **expected)
{
	struct cr_config_pair **pairs = FIELD(base, key->offset, struct cr_config_pair *);
	unsigned *count = FIELD(base, key->offset2, unsigned);
	size_t len = strlen(name);
	unsigned i;

	if (len == 0 || len > PAIR_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != len) {
		*why = cr_asprintf("\"%s\" is not a valid name", name);
		*expected = "1 to " STR(PAIR_NAME_MAX) " letters, digits, '_', '-' or '.'";
		return -EINVAL;
	}
	if (strlen(value) > PAIR_VALUE_MAX || !printable(value)) {
		*why = cr_asprintf("the value of %s is not valid", name);
		*expected = "at most " STR(PAIR_VALUE_MAX) " printable characters";
		return -EINVAL;
	}
	for (i = 0; i < *count && strcmp((*pairs)[i].name, name) != 0; i++)
		;
	if (i == *count) {
		if (*count == CR_CONFIG_MAX_PAIRS) {
			*why = cr_strdup("one entry too many");
			*expected = "at most " STR(CR_CONFIG_MAX_PAIRS) " entries";
			return -E2BIG;
		}
		*pairs = cr_realloc(*pairs, (*count + 1) * sizeof(**pairs));
		(*pairs)[i].name = cr_strdup(name);
		(*pairs)[i].value = NULL;
		(*count)++;
	}
	set_string(&(*pairs)[i].value, value);
	return 0;
}

/* ---- outline: a libyaml pass that finds the line of every key ------------ */

enum node_kind { NODE_VALUE, NODE_EMPTY, NODE_LIST, NODE_MAPPING };

struct place {               /* one key or list entry of the file */
	char *path;          /* "cameras.0.jpeg.quality"; "" for the document */
	int line;            /* of the key or entry, from 1 */
	enum node_kind kind; /* of its value */
};

struct found_control {       /* one entry of a cameras.N.controls map */
	unsigned camera;
	char *name, *value;
	int line;
};

struct found_pair {          /* one entry of a free-form mapping (KEY_MAP) */
	char *path;          /* of the mapping, e.g. "cameras.0.upload.fields" */
	char *name, *value;
	int line;
};

struct outline {
	const char *file;
	struct place *places;
	size_t nplaces;
	struct found_control *controls;
	size_t ncontrols;
	struct found_pair *pairs;
	size_t npairs;
};

struct frame {               /* an open mapping or list during the pass */
	bool list;
	char *path;
	char *key;           /* mapping: the key whose value comes next; NULL: a key comes next */
	size_t key_place;    /* that key's index in places */
	unsigned count;      /* list: entries so far */
	int controls_camera; /* >= 0: this mapping is cameras.N.controls */
	bool map;            /* this mapping is the value of a KEY_MAP key */
};

static void outline_free(struct outline *o)
{
	for (size_t i = 0; i < o->nplaces; i++)
		free(o->places[i].path);
	for (size_t i = 0; i < o->ncontrols; i++) {
		free(o->controls[i].name);
		free(o->controls[i].value);
	}
	for (size_t i = 0; i < o->npairs; i++) {
		free(o->pairs[i].path);
		free(o->pairs[i].name);
		free(o->pairs[i].value);
	}
	free(o->places);
	free(o->controls);
	free(o->pairs);
}

static const struct place *place_find(const struct outline *o, const char *path)
{
	for (size_t i = 0; i < o->nplaces; i++)
		if (strcmp(o->places[i].path, path) == 0)
			return &o->places[i];
	return NULL;
}

/* The line of path, or of its nearest ancestor in the file; 1 if none. */
static int place_line(const struct outline *o, const char *path)
{
	char *p = cr_strdup(path);
	int line = 1;

	for (;;) {
		const struct place *place = place_find(o, p);
		char *dot;

		if (place) {
			line = place->line;
			break;
		}
		dot = strrchr(p, '.');
		if (!dot && !*p)
			break;
		if (dot)
			*dot = '\0';
		else
			*p = '\0';
	}
	free(p);
	return line;
}

static size_t place_add(struct outline *o, char *path, int line, enum node_kind kind)
{
	o->places = cr_realloc(o->places, (o->nplaces + 1) * sizeof(*o->places));
	o->places[o->nplaces] = (struct place){ .path = path, .line = line, .kind = kind };
	return o->nplaces++;
}

static const char *kind_name(enum node_kind kind)
{
	switch (kind) {
	case NODE_EMPTY: return "an empty value";
	case NODE_LIST: return "a list";
	case NODE_MAPPING: return "a mapping";
	default: return "a value";
	}
}

static enum node_kind event_kind(const yaml_event_t *ev)
{
	const char *v;

	if (ev->type == YAML_SEQUENCE_START_EVENT)
		return NODE_LIST;
	if (ev->type == YAML_MAPPING_START_EVENT)
		return NODE_MAPPING;
	v = (const char *)ev->data.scalar.value;
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL")))
		return NODE_EMPTY;
	return NODE_VALUE;
}

/* A node event: a key, or the value of the pending key or list entry. */
static int outline_node(struct outline *o, struct frame *stack, int *depth, const yaml_event_t *ev, char **error)
{
	int line = (int)ev->start_mark.line + 1;
	enum node_kind kind = event_kind(ev);
	struct frame *top = *depth ? &stack[*depth - 1] : NULL;
	char *path, *key = NULL;
	int controls_camera = -1, ret = 0;
	struct spot spot;
	bool map = false;

	if (o->nplaces == PLACES_MAX) {
		*error = message(o->file, line, NULL, "too many keys", "at most " STR(PLACES_MAX));
		return -EINVAL;
	}
	if (top && !top->list && !top->key) {
		const struct place *dup;

		if (ev->type != YAML_SCALAR_EVENT) {
			*error = message(o->file, line, top->path, "a key must be plain text", "KEY: VALUE");
			return -EINVAL;
		}
		path = join(top->path, (const char *)ev->data.scalar.value);
		dup = place_find(o, path);
		if (dup) {
			char *what = cr_asprintf("duplicate key, first at line %d", dup->line);

			*error = message(o->file, line, path, what, "each key once");
			free(what);
			free(path);
			return -EINVAL;
		}
		top->key = cr_strdup((const char *)ev->data.scalar.value);
		top->key_place = place_add(o, path, line, NODE_EMPTY);
		return 0;
	}
	if (!top) {
		path = cr_strdup("");
		place_add(o, path, line, kind);
	} else if (top->list) {
		char index[16];

		snprintf(index, sizeof(index), "%u", top->count++);
		path = join(top->path, index);
		place_add(o, path, line, kind);
	} else {
		key = top->key;
		top->key = NULL;
		o->places[top->key_place].kind = kind;
		path = o->places[top->key_place].path;
		line = o->places[top->key_place].line;
		if (*depth == 3 && stack[1].list && strcmp(stack[1].path, "cameras") == 0 &&
		    strcmp(key, "controls") == 0) {
			controls_camera = (int)stack[1].count - 1;
			if (kind == NODE_VALUE || kind == NODE_LIST) {
				char *what = cr_asprintf("wrong type: got %s", kind_name(kind));

				*error = message(o->file, line, path, what, "a mapping of V4L2 control names to values");
				free(what);
				ret = -EINVAL;
				goto end;
			}
		} else if (spot_find(path, &spot) == 0 && spot.key && spot.key->type == KEY_MAP) {
			map = true;
			if (kind == NODE_VALUE || kind == NODE_LIST) {
				char *what = cr_asprintf("wrong type: got %s", kind_name(kind));

				*error = message(o->file, line, path, what, spot.key->expected);
				free(what);
				ret = -EINVAL;
				goto end;
			}
		}
	}
	if (top && top->map) {
		if (ev->type != YAML_SCALAR_EVENT) {
			char *what = cr_asprintf("wrong type: got %s", kind_name(kind));

			*error = message(o->file, line, path, what, "a text value");
			free(what);
			ret = -EINVAL;
			goto end;
		}
		o->pairs = cr_realloc(o->pairs, (o->npairs + 1) * sizeof(*o->pairs));
		o->pairs[o->npairs++] = (struct found_pair){
			.path = cr_strdup(top->path),
			.name = cr_strdup(key),
			.value = cr_strdup(kind == NODE_EMPTY ? "" : (const char *)ev->data.scalar.value),
			.line = line,
		};
	}
	if (top && top->controls_camera >= 0) {
		if (ev->type != YAML_SCALAR_EVENT) {
			char *what = cr_asprintf("wrong type: got %s", kind_name(kind));

			*error = message(o->file, line, path, what, CONTROL_VALUE_EXPECTED);
			free(what);
			ret = -EINVAL;
			goto end;
		}
		o->controls = cr_realloc(o->controls, (o->ncontrols + 1) * sizeof(*o->controls));
		o->controls[o->ncontrols++] = (struct found_control){
			.camera = (unsigned)top->controls_camera,
			.name = cr_strdup(key),
			.value = cr_strdup((const char *)ev->data.scalar.value),
			.line = line,
		};
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) {
		if (*depth == DEPTH_MAX) {
			*error = message(o->file, line, path, "nested too deep", NULL);
			ret = -EINVAL;
			goto end;
		}
		stack[(*depth)++] = (struct frame){
			.list = ev->type == YAML_SEQUENCE_START_EVENT,
			.path = cr_strdup(path),
			.controls_camera = ev->type == YAML_MAPPING_START_EVENT ? controls_camera : -1,
			.map = map && ev->type == YAML_MAPPING_START_EVENT,
		};
	}
end:
	free(key);
	return ret;
}

/* Reads text with libyaml: fills o, or returns -EINVAL with *error for a
 * syntax error, a duplicate key, an alias, a second document, a malformed
 * controls map. */
static int outline_build(struct outline *o, const char *text, size_t len, char **error)
{
	struct frame stack[DEPTH_MAX];
	int depth = 0, documents = 0, ret = 0;
	yaml_parser_t parser;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && ret >= 0) {
		yaml_event_t ev;
		int line;

		if (!yaml_parser_parse(&parser, &ev)) {
			/* libyaml's own words; its context names the construct it was in */
			size_t at = parser.problem_mark.index;
			char *context = parser.context ? cr_asprintf(" (%s that starts at line %zu)", parser.context,
								       parser.context_mark.line + 1) : NULL;

			*error = cr_asprintf("%s:%zu: YAML syntax error: %s%s%s", o->file, parser.problem_mark.line + 1,
					     parser.problem ? parser.problem : "unreadable", context ? context : "",
					     at < len && text[at] == '\t' ? " (expected spaces, not tabs, to indent)" : "");
			free(context);
			ret = -EINVAL;
			break;
		}
		line = (int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++documents > 1) {
				*error = message(o->file, line, NULL, "a second YAML document", "one document");
				ret = -EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT: {
			char *path = !depth ? cr_strdup("") : stack[depth - 1].key
					? join(stack[depth - 1].path, stack[depth - 1].key) : cr_strdup(stack[depth - 1].path);

			*error = message(o->file, line, path, "aliases (*name) are not supported", "plain values");
			free(path);
			ret = -EINVAL;
			break;
		}
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			ret = outline_node(o, stack, &depth, &ev, error);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			free(stack[depth].path);
			free(stack[depth].key);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	while (depth > 0) {
		depth--;
		free(stack[depth].path);
		free(stack[depth].key);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* ---- libcyaml: schema from the table, raw strings, its errors ------------ */

struct raw {                 /* one key as libcyaml loads it */
	void *value;         /* char *; struct raw[] of key->sub; KEY_CAMERAS: count x struct raw[] */
	unsigned count;      /* KEY_CAMERAS: entries */
};

static void schema_free(const struct key *keys, cyaml_schema_field_t *fields)
{
	if (!fields)
		return;
	for (size_t i = 0; keys[i].name; i++) {
		if (keys[i].type == KEY_MAPPING) {
			schema_free(keys[i].sub, (cyaml_schema_field_t *)fields[i].value.mapping.fields);
		} else if (keys[i].type == KEY_CAMERAS) {
			cyaml_schema_value_t *entry = (cyaml_schema_value_t *)fields[i].value.sequence.entry;

			schema_free(keys[i].sub, (cyaml_schema_field_t *)entry->mapping.fields);
			free(entry);
		}
	}
	free(fields);
}

/* libcyaml fields for a table: slot i of a struct raw array holds keys[i]. */
static cyaml_schema_field_t *schema_fields(const struct key *keys)
{
	size_t n = key_count(keys);
	cyaml_schema_field_t *fields = cr_calloc(n + 1, sizeof(*fields));

	for (size_t i = 0; i < n; i++) {
		cyaml_schema_field_t *f = &fields[i];
		cyaml_schema_value_t *entry;

		f->key = keys[i].name;
		f->data_offset = (uint32_t)(i * sizeof(struct raw) + offsetof(struct raw, value));
		f->value.flags = CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER;
		switch (keys[i].type) {
		case KEY_VALUE:
			f->value.type = CYAML_STRING;
			f->value.data_size = sizeof(char *);
			f->value.string.max = CYAML_UNLIMITED;
			break;
		case KEY_MAPPING:
			f->value.type = CYAML_MAPPING;
			f->value.data_size = (uint32_t)(key_count(keys[i].sub) * sizeof(struct raw));
			f->value.mapping.fields = schema_fields(keys[i].sub);
			break;
		case KEY_CAMERAS:
			entry = cr_calloc(1, sizeof(*entry));
			entry->type = CYAML_MAPPING;
			entry->data_size = (uint32_t)(key_count(keys[i].sub) * sizeof(struct raw));
			entry->mapping.fields = schema_fields(keys[i].sub);
			f->count_offset = (uint32_t)(i * sizeof(struct raw) + offsetof(struct raw, count));
			f->count_size = sizeof(unsigned);
			f->value.type = CYAML_SEQUENCE;
			f->value.data_size = entry->data_size;
			f->value.sequence.entry = entry;
			f->value.sequence.max = CYAML_UNLIMITED;
			break;
		case KEY_CONTROLS:
		case KEY_MAP:
			f->value.type = CYAML_IGNORE;
			f->value.flags = CYAML_FLAG_OPTIONAL;
			break;
		}
	}
	return fields;
}

struct cyaml_log_text {      /* what libcyaml logged at error level */
	char *text;
	size_t len;
};

static void cyaml_log_collect(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cyaml_log_text *log = ctx;
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, args);

	if (level < CYAML_LOG_ERROR || n < 0 || log->len > 16384)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	log->text = cr_realloc(log->text, log->len + (size_t)n + 1);
	memcpy(log->text + log->len, line, (size_t)n + 1);
	log->len += (size_t)n;
}

/* Turns libcyaml 1.3's error log into one line. The log reads:
 *     Load: Unexpected key: colour
 *     Load: Backtrace:
 *       in mapping (line: 5, column: 16)
 *       in mapping field 'jpeg' (line: 5, column: 7)
 *       in sequence entry '1' (line: 3, column: 5)
 *       in mapping field 'cameras' (line: 3, column: 3)
 * innermost first, sequence entries counted from 1. */
static char *cyaml_message(const struct outline *o, const char *log, cyaml_err_t err)
{
	char *problem = NULL, *path = cr_strdup(""), *full = NULL, *what = NULL, *expected = NULL, *text;
	const char *p = log ? log : "";
	struct spot spot;

	while (*p) {
		size_t len = strcspn(p, "\n");
		char name[256];
		unsigned entry;
		char *next = NULL;

		if (sscanf(p, "  in mapping field '%255[^']'", name) == 1)
			next = *path ? cr_asprintf("%s.%s", name, path) : cr_strdup(name);
		else if (sscanf(p, "  in sequence entry '%u'", &entry) == 1 && entry > 0)
			next = *path ? cr_asprintf("%u.%s", entry - 1, path) : cr_asprintf("%u", entry - 1);
		else if (!problem && has_prefix(p, "Load: ") && !has_prefix(p, "Load: Backtrace:"))
			problem = cr_asprintf("%.*s", (int)(len - 6), p + 6);
		if (next) {
			free(path);
			path = next;
		}
		p += len;
		if (*p)
			p++;
	}
	if (problem && has_prefix(problem, "Unexpected key: ")) {
		full = join(path, problem + strlen("Unexpected key: "));
		what = cr_strdup("unknown key");
		if (spot_find(path, &spot) == 0 && spot.level) {
			char *names = key_names(spot.level);

			expected = cr_asprintf("one of: %s", names);
			free(names);
		}
	} else if (problem && has_prefix(problem, "Expecting ")) {
		const struct place *place = place_find(o, path);

		full = cr_strdup(path);
		what = cr_asprintf("wrong type: got %s", kind_name(place ? place->kind : NODE_VALUE));
		if (spot_find(path, &spot) == 0)
			expected = describe(spot.key, spot.level);
	} else {
		full = cr_strdup(path);
		what = cr_asprintf("%s (%s)", problem ? problem : "cannot load", cyaml_strerror(err));
	}
	text = message(o->file, place_line(o, full), full, what, expected);
	free(problem);
	free(path);
	free(full);
	free(what);
	free(expected);
	return text;
}

/* ---- applying loaded values -------------------------------------------- */

struct load {
	const struct outline *outline;
	char **error;
};

static int apply_value(struct load *ld, const struct key *key, const char *path, const char *text, void *base)
{
	const struct place *place = place_find(ld->outline, path);
	char *why = NULL, *expected;
	int ret;

	if (place && place->kind == NODE_EMPTY) {
		why = cr_strdup("no value");
		ret = -EINVAL;
	} else {
		ret = key->parse(key, text, base, &why);
	}
	if (ret < 0) {
		expected = describe(key, NULL);
		*ld->error = message(ld->outline->file, place_line(ld->outline, path), path, why, expected);
		free(expected);
		free(why);
	}
	return ret;
}

static int apply_keys(struct load *ld, const struct key *keys, const struct raw *raw, void *base,
		      struct cr_config *config, const char *path);

/* The entries the outline found in the free-form mapping at path. */
static int apply_map(struct load *ld, const struct key *key, const char *path, void *base)
{
	for (size_t i = 0; i < ld->outline->npairs; i++) {
		const struct found_pair *fp = &ld->outline->pairs[i];
		const char *expected;
		char *why, *full;

		if (strcmp(fp->path, path) != 0)
			continue;
		if (map_set(key, base, fp->name, fp->value, &why, &expected) < 0) {
			full = join(path, fp->name);
			*ld->error = message(ld->outline->file, fp->line, full, why, expected);
			free(full);
			free(why);
			return -EINVAL;
		}
	}
	return 0;
}

static int apply_camera(struct load *ld, const struct raw *raw, struct cr_camera_config *cam, unsigned index,
			struct cr_config *config)
{
	char *path = cr_asprintf("cameras.%u", index);
	int ret = apply_keys(ld, camera_keys, raw, cam, config, path);

	for (size_t i = 0; ret >= 0 && i < ld->outline->ncontrols; i++) {
		const struct found_control *fc = &ld->outline->controls[i];
		const char *expected;
		char *why, *key;

		if (fc->camera != index)
			continue;
		ret = control_set(cam, fc->name, fc->value, fc->line, &why, &expected);
		if (ret < 0) {
			key = cr_asprintf("%s.controls.%s", path, fc->name);
			*ld->error = message(ld->outline->file, fc->line, key, why, expected);
			free(key);
			free(why);
		}
	}
	free(path);
	return ret;
}

/* Replaces the cameras with the file's list; each starts as a copy of the
 * first camera so far (the embedded default), or zeroed for the embedded file. */
static int apply_cameras(struct load *ld, const struct key *key, const struct raw *raw, struct cr_config *config,
			 const char *path)
{
	const struct cr_camera_config zero = { 0 }, *model = config->ncameras ? &config->cameras[0] : &zero;
	size_t nkeys = key_count(key->sub);
	struct cr_camera_config *cams;
	unsigned count = raw->value ? raw->count : 0;
	int ret = 0;

	if (count == 0 || count > CR_CONFIG_MAX_CAMERAS) {
		char *what = count ? cr_asprintf("%u cameras", count) : cr_strdup("an empty list");

		*ld->error = message(ld->outline->file, place_line(ld->outline, path), path, what,
				     "1 to " STR(CR_CONFIG_MAX_CAMERAS) " cameras");
		free(what);
		return -EINVAL;
	}
	cams = cr_calloc(count, sizeof(*cams));
	for (unsigned i = 0; i < count; i++)
		camera_copy(&cams[i], model);
	for (unsigned i = 0; ret >= 0 && i < count; i++)
		ret = apply_camera(ld, (const struct raw *)raw->value + i * nkeys, &cams[i], i, config);
	if (ret < 0) {
		for (unsigned i = 0; i < count; i++)
			camera_clear(&cams[i]);
		free(cams);
		return ret;
	}
	for (unsigned i = 0; i < config->ncameras; i++)
		camera_clear(&config->cameras[i]);
	free(config->cameras);
	config->cameras = cams;
	config->ncameras = count;
	return 0;
}

static int apply_keys(struct load *ld, const struct key *keys, const struct raw *raw, void *base,
		      struct cr_config *config, const char *path)
{
	int ret = 0;

	for (size_t i = 0; ret >= 0 && keys[i].name; i++) {
		const struct key *key = &keys[i];
		char *key_path = join(path, key->name);

		if (key->type == KEY_VALUE && raw[i].value)
			ret = apply_value(ld, key, key_path, raw[i].value, base);
		else if (key->type == KEY_MAPPING && raw[i].value)
			ret = apply_keys(ld, key->sub, raw[i].value, base, config, key_path);
		else if (key->type == KEY_CAMERAS && place_find(ld->outline, key_path))
			ret = apply_cameras(ld, key, &raw[i], config, key_path);
		else if (key->type == KEY_MAP)
			ret = apply_map(ld, key, key_path, base);
		free(key_path);
	}
	return ret;
}

/* Lays the YAML text over config; file names the text in messages. */
static int load_text(struct cr_config *config, const char *text, size_t len, const char *file, char **error)
{
	struct cyaml_log_text log = { 0 };
	const cyaml_config_t cyaml_config = {
		.log_fn = cyaml_log_collect,
		.log_ctx = &log,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		.flags = CYAML_CFG_NO_ALIAS,
	};
	cyaml_schema_value_t schema = {
		.type = CYAML_MAPPING,
		.flags = CYAML_FLAG_POINTER,
		.data_size = (uint32_t)(key_count(top_keys) * sizeof(struct raw)),
	};
	struct outline outline = { .file = file };
	struct load ld = { .outline = &outline, .error = error };
	struct raw *raw = NULL;
	cyaml_err_t err;
	int ret;

	ret = outline_build(&outline, text, len, error);
	if (ret < 0)
		goto end;
	schema.mapping.fields = schema_fields(top_keys);
	err = cyaml_load_data((const uint8_t *)text, len, &cyaml_config, &schema, (cyaml_data_t **)&raw, NULL);
	if (err != CYAML_OK) {
		*error = cyaml_message(&outline, log.text, err);
		ret = -EINVAL;
		goto end;
	}
	if (raw)
		ret = apply_keys(&ld, top_keys, raw, config, config, "");
end:
	if (raw)
		cyaml_free(&cyaml_config, &schema, raw, 0);
	schema_free(top_keys, (cyaml_schema_field_t *)schema.mapping.fields);
	outline_free(&outline);
	free(log.text);
	return ret;
}

static int read_file(const char *path, char **text, size_t *len, char **error)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		int err = errno;

		*error = cr_asprintf("%s: cannot open: %s", path, strerror(err));
		return -err;
	}
	buf = cr_malloc(FILE_MAX + 1);
	n = fread(buf, 1, FILE_MAX + 1, f);
	if (ferror(f) || n > FILE_MAX) {
		*error = ferror(f) ? cr_asprintf("%s: cannot read: %s", path, strerror(errno))
				   : cr_asprintf("%s: too large (expected at most %d bytes)", path, FILE_MAX);
		fclose(f);
		free(buf);
		return -EIO;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

struct cr_config *cr_config_load(const char *path, char **error)
{
	struct cr_config *config = CR_NEW(config);
	char *text = NULL;
	size_t len = 0;
	int ret;

	assert(error);
	*error = NULL;
	ret = load_text(config, (const char *)cr_embedded_camrig_yaml, cr_embedded_camrig_yaml_size,
			EMBEDDED_NAME, error);
	if (ret >= 0 && config->ncameras == 0) {
		*error = cr_strdup(EMBEDDED_NAME ": no camera (expected one default camera)");
		ret = -EINVAL;
	}
	if (ret >= 0 && path) {
		config->path = cr_strdup(path);
		ret = read_file(path, &text, &len, error);
		if (ret >= 0)
			ret = load_text(config, text, len, path, error);
		free(text);
	}
	if (ret < 0)
		cr_config_free(&config);
	return config;
}

/* ---- the command line ---------------------------------------------------- */

/* The embedded file's camera, for cameras.N with N == ncameras. */
static int default_camera(struct cr_camera_config *cam, char **error)
{
	struct cr_config *def = cr_config_load(NULL, error);

	if (!def)
		return -EINVAL;
	*cam = def->cameras[0];
	memset(&def->cameras[0], 0, sizeof(def->cameras[0]));
	cr_config_free(&def);
	return 0;
}

int cr_config_set(struct cr_config *config, const char *key, const char *value, char **error)
{
	const struct key *keys = top_keys, *k;
	char *canon, *why = NULL, *expected = NULL, *names;
	const char *p, *control_expected;
	void *base = config;
	bool appended = false;
	int ret = 0;

	assert(config && key && value && error);
	*error = NULL;
	canon = has_prefix(key, "camera.") ? cr_asprintf("cameras.0.%s", key + strlen("camera.")) : cr_strdup(key);
	for (p = canon;;) {
		size_t len = strcspn(p, ".");

		k = key_find(keys, p, len);
		if (!k) {
			names = key_names(keys);
			expected = cr_asprintf("one of: %s", names);
			free(names);
			why = cr_strdup("unknown key");
			break;
		}
		p += len;
		if (k->type == KEY_VALUE) {
			if (*p) {
				why = cr_strdup("unknown key");
				expected = cr_asprintf("%.*s", (int)(strlen(key) - strlen(p)), key);
			} else if (k->parse(k, value, base, &why) < 0) {
				expected = describe(k, NULL);
			}
			break;
		}
		if (!*p) {
			why = cr_strdup("not a value");
			names = k->type == KEY_MAPPING ? key_names(k->sub) : NULL;
			expected = names ? cr_asprintf("one of: %s", names)
					 : cr_asprintf("%s.%s", key, k->type == KEY_CAMERAS ? "N.KEY" : "NAME");
			free(names);
			break;
		}
		p++;
		if (k->type == KEY_MAPPING) {
			keys = k->sub;
		} else if (k->type == KEY_CONTROLS) {
			if (control_set(base, p, value, 0, &why, &control_expected) < 0)
				expected = cr_strdup(control_expected);
			break;
		} else if (k->type == KEY_MAP) {
			if (map_set(k, base, p, value, &why, &control_expected) < 0)
				expected = cr_strdup(control_expected);
			break;
		} else {
			unsigned long n;
			char *end;

			len = strcspn(p, ".");
			n = strtoul(p, &end, 10);
			if (len == 0 || len > 3 || end != p + len || !isdigit((unsigned char)*p) || n > config->ncameras ||
			    n >= CR_CONFIG_MAX_CAMERAS) {
				unsigned last = config->ncameras < CR_CONFIG_MAX_CAMERAS ? config->ncameras
											: CR_CONFIG_MAX_CAMERAS - 1;

				why = cr_asprintf("no camera %.*s", (int)len, p);
				expected = cr_asprintf("a camera index 0..%u", last);
				break;
			}
			if (n == config->ncameras) {
				struct cr_camera_config cam;

				ret = default_camera(&cam, error);
				if (ret < 0)
					break;
				config->cameras = cr_realloc(config->cameras,
							     (config->ncameras + 1) * sizeof(*config->cameras));
				config->cameras[config->ncameras++] = cam;
				appended = true;
			}
			base = &config->cameras[n];
			keys = k->sub;
			p += len;
			if (!*p) {
				why = cr_strdup("not a value");
				names = key_names(keys);
				expected = cr_asprintf("one of: %s", names);
				free(names);
				break;
			}
			p++;
		}
	}
	if (why) {
		*error = message(NULL, 0, key, why, expected);
		ret = -EINVAL;
	}
	if (ret < 0 && appended)
		camera_clear(&config->cameras[--config->ncameras]);
	free(canon);
	free(why);
	free(expected);
	return ret;
}

/* ---- cross-field checks -------------------------------------------------- */

static char *check_camera(const struct cr_config *config, unsigned i)
{
	const struct cr_camera_config *cam = &config->cameras[i];
	const struct cr_crop_config *crop = &cam->crop;

	if (!cam->name || !cam->source)
		return cr_asprintf("cameras.%u: no %s (expected a value)", i, cam->name ? "source" : "name");
	for (unsigned j = 0; j < i; j++)
		if (strcmp(config->cameras[j].name, cam->name) == 0)
			return cr_asprintf("cameras.%u.name: \"%s\" is also the name of cameras.%u (expected a name "
					   "unique among cameras)", i, cam->name, j);
	if ((cam->width == 0) != (cam->height == 0))
		return cr_asprintf("cameras.%u.size: %dx%d (expected both width and height, or neither)", i,
				   cam->width, cam->height);
	if ((cam->jpeg.width == 0) != (cam->jpeg.height == 0))
		return cr_asprintf("cameras.%u.jpeg.size: %dx%d (expected both width and height, or neither)", i,
				   cam->jpeg.width, cam->jpeg.height);
	if ((crop->width == 0) != (crop->height == 0) || (!crop->width && (crop->left || crop->top)))
		return cr_asprintf("cameras.%u.crop: %dx%d at %d,%d is not a rectangle (expected width and height "
				   "both above 0, or all 0 for no crop)", i, crop->width, crop->height, crop->left, crop->top);
	if (crop->width && cam->width &&
	    (crop->left + crop->width > cam->width || crop->top + crop->height > cam->height))
		return cr_asprintf("cameras.%u.crop: %dx%d at %d,%d reaches outside the %dx%d frame (expected "
				   "left + width <= %d and top + height <= %d)", i, crop->width, crop->height,
				   crop->left, crop->top, cam->width, cam->height, cam->width, cam->height);
	if (cam->upload.enabled && !cam->upload.url)
		return cr_asprintf("cameras.%u.upload.url: missing (expected an http:// or https:// URL when "
				   "upload.enabled is true)", i);
	for (unsigned j = 0; cam->lsl.enabled && j < i; j++) {
		const struct cr_camera_config *other = &config->cameras[j];
		const char *a = cam->lsl.name ? cam->lsl.name : cam->name;
		const char *b = other->lsl.name ? other->lsl.name : other->name;

		if (other->lsl.enabled && strcmp(a, b) == 0)
			return cr_asprintf("cameras.%u.lsl.name: \"%s\" is also the LSL stream of cameras.%u "
					   "(expected a name unique among outlets)", i, a, j);
	}
	return NULL;
}

/* ntfy and gpio: what must go together. */
static char *check_remote(const struct cr_config *config)
{
	const struct cr_ntfy_config *n = &config->ntfy;
	const struct cr_gpio_config *g = &config->gpio;

	if (n->enabled && !n->topic)
		return cr_strdup("ntfy.topic: missing (expected " TOPIC_EXPECTED " when ntfy.enabled is true)");
	if (n->token && n->token_file)
		return cr_strdup("ntfy.token_file: set as well as ntfy.token (expected one of them)");
	if (g->enabled && g->button < 0 && g->led_idle < 0 && g->led_recording < 0 && g->led_paused < 0)
		return cr_strdup("gpio.button: -1 and no LED either (expected a button line offset or "
				 "gpio.leds lines when gpio.enabled is true)");
	if (g->enabled) {
		const int lines[] = { g->button, g->led_idle, g->led_recording, g->led_paused };
		const char *const names[] = { "button", "leds.idle", "leds.recording", "leds.paused" };

		for (int i = 1; i < 4; i++)
			for (int j = 0; j < i; j++)
				if (lines[i] >= 0 && lines[i] == lines[j])
					return cr_asprintf("gpio.%s: line %d is also gpio.%s (expected a line "
							   "of its own)", names[i], lines[i], names[j]);
	}
	return NULL;
}

int cr_config_check(const struct cr_config *config, char **error)
{
	assert(config && error);
	*error = NULL;
	if (config->ncameras == 0 || config->ncameras > CR_CONFIG_MAX_CAMERAS) {
		*error = cr_asprintf("cameras: %u cameras (expected 1 to %d cameras)", config->ncameras,
				     CR_CONFIG_MAX_CAMERAS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < config->ncameras; i++) {
		*error = check_camera(config, i);
		if (*error)
			return -EINVAL;
	}
	*error = check_remote(config);
	if (*error)
		return -EINVAL;
	return 0;
}

void cr_config_free(struct cr_config **pconfig)
{
	struct cr_config *config = pconfig ? *pconfig : NULL;

	if (!config)
		return;
	*pconfig = NULL;
	for (unsigned i = 0; i < config->ncameras; i++)
		camera_clear(&config->cameras[i]);
	free(config->cameras);
	free(config->http.listen);
	free(config->http.auth);
	free(config->http.password_file);
	free(config->http.token_file);
	free(config->http.tls_cert);
	free(config->http.tls_key);
	free(config->ntfy.server);
	free(config->ntfy.topic);
	free(config->ntfy.reply_topic);
	free(config->ntfy.token);
	free(config->ntfy.token_file);
	free(config->ntfy.events);
	free(config->gpio.chip);
	free(config->gpio.bias);
	free(config->log_level);
	free(config->path);
	free(config);
}
