/* Configuration: the grammar of data/camrig.yaml, loaded with libcyaml, and
 * every key also settable from the command line.
 *
 * One table (cr_config_top_keys and the tables below it) describes every key:
 * its YAML name, the parse function that turns text into a field of struct
 * cr_config, and what a good value looks like. The rest is derived from it:
 *
 * - the libcyaml schema, built per load (yaml.c). Every value is
 *   loaded as a string, so libcyaml checks the shape (unknown keys, a list
 *   where a value belongs) and the table's parse functions (values.c)
 *   check the values: the same functions cr_config_set() calls, so the file
 *   and the command line share one grammar;
 * - the "expected one of: ..." lists in messages.
 *
 * keys.c holds the table; this file what walks it, the cameras and their
 * controls, the command line, the cross-field checks and cr_config_free().
 *
 * Defaults live only in data/camrig.yaml, which is embedded in the binary: a
 * load starts from the embedded file and lays the user's file over it, and
 * each camera of a file starts as a copy of the embedded camera. */
#include "config/internal.h"

#include "base/fourcc.h"
#include "base/fs.h"
#include "config/sources.h"
#include "base/mem.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTROL_NAME_MAX 63           /* V4L2 control name, bytes */
#define CONTROL_VALUE_MAX 63          /* control value, bytes (menu names are < 32) */
#define CONTROL_NAME_EXPECTED "letters, digits and '_', as v4l2-ctl --list-ctrls prints them"

/* ---- walking the key table (keys.c) ------------------------------------ */

size_t cr_config_key_count(const struct key *keys)
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

char *cr_config_key_names(const struct key *keys)
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
		char *next;

		if (cr_fourcc_raw(cr_fourcc_supported[i]))
			continue; /* summed up below */
		next = cr_asprintf("%s%s %s", list, i ? "," : "", cr_fourcc_name(cr_fourcc_supported[i]));
		free(list);
		list = next;
	}
	{
		char *next = cr_asprintf("%s, or a raw sensor format: " CR_FOURCC_RAW_NAMES, list);

		free(list);
		list = next;
	}
	return list;
}

char *cr_config_describe(const struct key *key, const struct key *level)
{
	char *names, *text;

	if (key && key->type == KEY_VALUE) {
		if (key->expected)
			return cr_strdup(key->expected);
		if (key->parse == cr_config_parse_format)
			return format_names();
		if (key->choices) {
			char *next;

			text = cr_strdup("one of: ");
			for (const char *const *c = key->choices; *c; c++) {
				next = cr_asprintf("%s%s%s", text, c == key->choices ? "" : ", ", *c);
				free(text);
				text = next;
			}
			return text;
		}
		if (key->parse == cr_config_parse_source) {
			char buf[256];

			return cr_strdup(cr_source_schemes_expected(buf, sizeof(buf)));
		}
		return cr_asprintf("%ld..%ld", key->min, key->max);
	}
	if (key && key->type == KEY_CAMERAS)
		return cr_strdup("a list of cameras, each a mapping");
	if (key && key->type == KEY_CONTROLS)
		return cr_strdup("a mapping of V4L2 control names to values");
	if (key && key->type == KEY_MAP)
		return cr_strdup(key->expected ? key->expected : "a mapping of names to values");
	names = cr_config_key_names(key ? key->sub : level);
	text = cr_asprintf("a mapping of: %s", names);
	free(names);
	return text;
}

int cr_config_spot_find(const char *path, struct spot *spot)
{
	const struct key *level = cr_config_top_keys;
	bool index = false;

	spot->key = NULL;
	spot->level = cr_config_top_keys;
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

char *cr_config_message(const char *file, int line, const char *key, const char *what, const char *expected)
{
	char *where = file ? cr_asprintf("%s:%d: ", file, line) : cr_strdup("");
	char *text = cr_asprintf("%s%s%s%s%s%s%s", where, key && *key ? key : "", key && *key ? ": " : "", what,
				 expected ? " (expected " : "", expected ? expected : "", expected ? ")" : "");

	free(where);
	return text;
}

char *cr_config_join(const char *path, const char *name)
{
	return *path ? cr_asprintf("%s.%s", path, name) : cr_strdup(name);
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

void cr_config_camera_clear(struct cr_camera_config *cam)
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
	free(cam->lsl.interfaces);
	free(cam->recording.codec);
	free(cam->recording.format);
	free(cam->recording.root);
	free(cam->recording.filename);
	free(cam->recording.snapshot_filename);
	free(cam->recording.timezone);
	free(cam->recording.split);
	free(cam->recording.preset);
	free(cam->timelapse.photos_root);
	free(cam->timelapse.videos_root);
	free(cam->timelapse.session_name);
	free(cam->timelapse.timezone);
	free(cam->timelapse.preset);
	free(cam->upload.url);
	free(cam->tcp_stream.listen);
	free(cam->rtsp.url);
	free(cam->rtsp.username);
	free(cam->rtsp.password_file);
	free(cam->webrtc.rtp);
	free(cam->webrtc.janus);
	free(cam->upload.field);
	pairs_free(cam->upload.fields, cam->upload.nfields);
	pairs_free(cam->upload.headers, cam->upload.nheaders);
	free(cam->sensor.entity);
	pairs_free(cam->sensor.controls, cam->sensor.ncontrols);
	pairs_free(cam->analysis.motion.zones, cam->analysis.motion.nzones);
	free(cam->analysis.faces.model);
	memset(cam, 0, sizeof(*cam));
}

static char *strdup_or_null(const char *s)
{
	return s ? cr_strdup(s) : NULL;
}

void cr_config_camera_copy(struct cr_camera_config *dst, const struct cr_camera_config *src)
{
	*dst = *src;
	dst->name = strdup_or_null(src->name);
	dst->source = strdup_or_null(src->source);
	dst->lsl.name = strdup_or_null(src->lsl.name);
	dst->lsl.type = strdup_or_null(src->lsl.type);
	dst->lsl.interfaces = strdup_or_null(src->lsl.interfaces);
	dst->recording.codec = strdup_or_null(src->recording.codec);
	dst->recording.format = strdup_or_null(src->recording.format);
	dst->recording.root = strdup_or_null(src->recording.root);
	dst->recording.filename = strdup_or_null(src->recording.filename);
	dst->recording.snapshot_filename = strdup_or_null(src->recording.snapshot_filename);
	dst->recording.timezone = strdup_or_null(src->recording.timezone);
	dst->recording.split = strdup_or_null(src->recording.split);
	dst->recording.preset = strdup_or_null(src->recording.preset);
	dst->timelapse.photos_root = strdup_or_null(src->timelapse.photos_root);
	dst->timelapse.videos_root = strdup_or_null(src->timelapse.videos_root);
	dst->timelapse.session_name = strdup_or_null(src->timelapse.session_name);
	dst->timelapse.timezone = strdup_or_null(src->timelapse.timezone);
	dst->timelapse.preset = strdup_or_null(src->timelapse.preset);
	dst->upload.url = strdup_or_null(src->upload.url);
	dst->tcp_stream.listen = strdup_or_null(src->tcp_stream.listen);
	dst->rtsp.url = strdup_or_null(src->rtsp.url);
	dst->rtsp.username = strdup_or_null(src->rtsp.username);
	dst->rtsp.password_file = strdup_or_null(src->rtsp.password_file);
	dst->webrtc.rtp = strdup_or_null(src->webrtc.rtp);
	dst->webrtc.janus = strdup_or_null(src->webrtc.janus);
	dst->upload.field = strdup_or_null(src->upload.field);
	dst->upload.fields = pairs_copy(src->upload.fields, src->upload.nfields);
	dst->upload.headers = pairs_copy(src->upload.headers, src->upload.nheaders);
	dst->sensor.entity = strdup_or_null(src->sensor.entity);
	dst->sensor.controls = pairs_copy(src->sensor.controls, src->sensor.ncontrols);
	dst->analysis.motion.zones = pairs_copy(src->analysis.motion.zones, src->analysis.motion.nzones);
	dst->analysis.faces.model = strdup_or_null(src->analysis.faces.model);
	dst->controls = src->ncontrols ? cr_calloc(src->ncontrols, sizeof(*dst->controls)) : NULL;
	for (unsigned i = 0; i < src->ncontrols; i++) {
		dst->controls[i] = src->controls[i];
		dst->controls[i].name = cr_strdup(src->controls[i].name);
		dst->controls[i].value = cr_strdup(src->controls[i].value);
	}
}

int cr_config_control_set(struct cr_camera_config *cam, const char *name, const char *value, int line,
			  char **why, const char **expected)
{
	size_t len = strlen(name);
	unsigned i;

	if (len == 0 || len > CONTROL_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len) {
		*why = cr_asprintf("\"%s\" is not a control name", name);
		*expected = CONTROL_NAME_EXPECTED;
		return -EINVAL;
	}
	if (!*value || strlen(value) > CONTROL_VALUE_MAX || !cr_config_printable(value)) {
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
	cr_config_set_string(&cam->controls[i].value, value);
	cam->controls[i].line = line;
	return 0;
}

#define PAIR_NAME_MAX 64
#define PAIR_VALUE_MAX 4096

int cr_config_map_set(const struct key *key, void *base, const char *name, const char *value,
		      char **why, const char **expected)
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
	if (strlen(value) > PAIR_VALUE_MAX || !cr_config_printable(value)) {
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
	cr_config_set_string(&(*pairs)[i].value, value);
	return 0;
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
	const struct key *keys = cr_config_top_keys, *k;
	char *canon, *why = NULL, *expected = NULL, *names;
	const char *p, *control_expected;
	void *base = config;
	bool appended = false;
	int ret = 0;

	assert(config && key && value && error);
	*error = NULL;
	canon = cr_config_has_prefix(key, "camera.") ? cr_asprintf("cameras.0.%s", key + strlen("camera."))
						     : cr_strdup(key);
	for (p = canon;;) {
		size_t len = strcspn(p, ".");

		k = key_find(keys, p, len);
		if (!k) {
			char *path = cr_asprintf("%.*s", (int)(p - canon + (ptrdiff_t)len), canon);
			const char *instead = cr_config_removed_key(path);

			free(path);
			names = cr_config_key_names(keys);
			expected = instead ? cr_strdup(instead) : cr_asprintf("one of: %s", names);
			free(names);
			why = cr_strdup(instead ? "no longer a key" : "unknown key");
			break;
		}
		p += len;
		if (k->type == KEY_VALUE) {
			if (*p) {
				why = cr_strdup("unknown key");
				expected = cr_asprintf("%.*s", (int)(strlen(key) - strlen(p)), key);
			} else if (k->parse(k, value, base, &why) < 0) {
				expected = cr_config_describe(k, NULL);
			}
			break;
		}
		if (!*p) {
			why = cr_strdup("not a value");
			names = k->type == KEY_MAPPING ? cr_config_key_names(k->sub) : NULL;
			expected = names ? cr_asprintf("one of: %s", names)
					 : cr_asprintf("%s.%s", key, k->type == KEY_CAMERAS ? "N.KEY" : "NAME");
			free(names);
			break;
		}
		p++;
		if (k->type == KEY_MAPPING) {
			keys = k->sub;
		} else if (k->type == KEY_CONTROLS) {
			if (cr_config_control_set(base, p, value, 0, &why, &control_expected) < 0)
				expected = cr_strdup(control_expected);
			break;
		} else if (k->type == KEY_MAP) {
			if (cr_config_map_set(k, base, p, value, &why, &control_expected) < 0)
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
				names = cr_config_key_names(keys);
				expected = cr_asprintf("one of: %s", names);
				free(names);
				break;
			}
			p++;
		}
	}
	if (why) {
		*error = cr_config_message(NULL, 0, key, why, expected);
		ret = -EINVAL;
	}
	if (ret < 0 && appended)
		cr_config_camera_clear(&config->cameras[--config->ncameras]);
	if (ret >= 0) {
		char *set = cr_asprintf("%s%s\n", config->set_keys ? config->set_keys : "\n", canon);

		free(config->set_keys);
		config->set_keys = set;
	}
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
	if ((cam->sensor.width == 0) != (cam->sensor.height == 0))
		return cr_asprintf("cameras.%u.sensor.size: %dx%d (expected both width and height, or neither)", i,
				   cam->sensor.width, cam->sensor.height);
	if ((cam->sensor.crop.width == 0) != (cam->sensor.crop.height == 0) ||
	    (!cam->sensor.crop.width && (cam->sensor.crop.left || cam->sensor.crop.top)))
		return cr_asprintf("cameras.%u.sensor.crop: %dx%d at %d,%d is not a rectangle (expected width and "
				   "height both above 0, or all 0 for no crop)", i, cam->sensor.crop.width,
				   cam->sensor.crop.height, cam->sensor.crop.left, cam->sensor.crop.top);
	if (crop->width && cam->width &&
	    (crop->left + crop->width > cam->width || crop->top + crop->height > cam->height))
		return cr_asprintf("cameras.%u.crop: %dx%d at %d,%d reaches outside the %dx%d frame (expected "
				   "left + width <= %d and top + height <= %d)", i, crop->width, crop->height,
				   crop->left, crop->top, cam->width, cam->height, cam->width, cam->height);
	if (cam->rtsp.enabled && !cam->rtsp.url)
		return cr_asprintf("cameras.%u.rtsp.url: missing (expected rtsp://HOST[:PORT]/PATH when rtsp.enabled "
				   "is true)", i);
	if (cam->rtsp.password_file && !cam->rtsp.username)
		return cr_asprintf("cameras.%u.rtsp.username: missing (expected a user name when rtsp.password_file "
				   "is set)", i);
	if (cam->webrtc.enabled && (!cam->webrtc.rtp || !cam->webrtc.janus))
		return cr_asprintf("cameras.%u.webrtc.%s: missing (expected %s when webrtc.enabled is true)", i,
				   cam->webrtc.rtp ? "janus" : "rtp", cam->webrtc.rtp ? "the URL of Janus's HTTP API"
										    : "HOST:PORT of the mountpoint's video port");
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

/* ntfy, gpio and mqtt: what must go together. */
static char *check_remote(const struct cr_config *config)
{
	const struct cr_ntfy_config *n = &config->ntfy;
	const struct cr_gpio_config *g = &config->gpio;

	if (n->enabled && !n->topic)
		return cr_strdup("ntfy.topic: missing (expected " CR_CONFIG_TOPIC_EXPECTED " when ntfy.enabled is true)");
	if (n->token && n->token_file)
		return cr_strdup("ntfy.token_file: set as well as ntfy.token (expected one of them)");
	if (g->enabled && g->button < 0 && g->led_idle < 0 && g->led_recording < 0 && g->led_paused < 0)
		return cr_strdup("gpio.button: -1 and no LED either (expected a button line offset or "
				 "gpio.leds lines when gpio.enabled is true)");
	if (config->mqtt.password_file && !config->mqtt.username)
		return cr_strdup("mqtt.username: missing (expected a user name when mqtt.password_file is set)");
	if (!config->mqtt.cert_file != !config->mqtt.key_file)
		return cr_strdup(config->mqtt.cert_file ? "mqtt.key_file: missing (expected the client certificate's key "
							  "when mqtt.cert_file is set)"
							: "mqtt.cert_file: missing (expected the certificate of "
							  "mqtt.key_file)");
	if ((config->mqtt.ca_file || config->mqtt.cert_file) && !config->mqtt.tls)
		return cr_strdup(config->mqtt.ca_file ? "mqtt.ca_file: set, but mqtt.tls is false (expected mqtt.tls: "
							"true, or no ca_file)"
						      : "mqtt.cert_file: set, but mqtt.tls is false (expected mqtt.tls: "
							"true, or no cert_file)");
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

/* "FILE:LINE: " + text, LINE where key (or its nearest ancestor) stands in
 * the file (1 when it has nothing of it), or text alone when key was set
 * from the command line or there is no file. Takes text. */
static char *located(const struct cr_config *config, const char *key, char *text)
{
	char *item = cr_asprintf("\n%s\n", key), *below = cr_asprintf("\n%s.", key), *full;
	/* The key, or a key under it, came from the command line. */
	bool set = config->set_keys && (strstr(config->set_keys, item) || strstr(config->set_keys, below));
	int line = config->outline && !set ? cr_config_place_line(config->outline, key) : 0;

	free(item);
	free(below);
	if (line <= 0 || !config->path)
		return text;
	full = cr_asprintf("%s:%d: %s", config->path, line, text);
	free(text);
	return full;
}

char *cr_config_error(const struct cr_config *config, const char *key, const char *fmt, ...)
{
	char *text, *full;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	full = cr_asprintf("%s: %s", key, text);
	free(text);
	return located(config, key, full);
}

int cr_config_check(const struct cr_config *config, char **error)
{
	char *text = NULL;

	assert(config && error);
	*error = NULL;
	if (config->ncameras == 0 || config->ncameras > CR_CONFIG_MAX_CAMERAS)
		text = cr_asprintf("cameras: %u cameras (expected 1 to %d cameras)", config->ncameras,
				   CR_CONFIG_MAX_CAMERAS);
	for (unsigned i = 0; !text && i < config->ncameras; i++)
		text = check_camera(config, i);
	if (!text)
		text = check_remote(config);
	if (!text)
		return 0;
	/* Every check's text starts with the key it is about. */
	{
		char *key = cr_asprintf("%.*s", (int)strcspn(text, ":"), text);

		*error = located(config, key, text);
		free(key);
	}
	return -EINVAL;
}

void cr_config_free(struct cr_config **pconfig)
{
	struct cr_config *config = pconfig ? *pconfig : NULL;

	if (!config)
		return;
	*pconfig = NULL;
	for (unsigned i = 0; i < config->ncameras; i++)
		cr_config_camera_clear(&config->cameras[i]);
	free(config->cameras);
	free(config->http.listen);
	free(config->http.auth);
	free(config->http.password_file);
	free(config->http.token_file);
	free(config->http.tls_cert);
	free(config->http.tls_key);
	free(config->http.hostnames);
	free(config->http.cors_origins);
	free(config->ntfy.server);
	free(config->ntfy.topic);
	free(config->ntfy.reply_topic);
	free(config->ntfy.token);
	free(config->ntfy.token_file);
	free(config->ntfy.events);
	free(config->telemetry.sensors);
	free(config->gpio.chip);
	free(config->gpio.bias);
	free(config->gpio.preset);
	pairs_free(config->gpio.clicks, config->gpio.nclicks);
	free(config->mqtt.broker);
	free(config->mqtt.ca_file);
	free(config->mqtt.cert_file);
	free(config->mqtt.key_file);
	free(config->mqtt.username);
	free(config->mqtt.password_file);
	free(config->mqtt.client_id);
	free(config->mqtt.base_topic);
	free(config->mqtt.discovery_prefix);
	free(config->log_level);
	if (config->outline)
		cr_config_outline_free(config->outline);
	free(config->outline);
	free(config->set_keys);
	free(config->path);
	free(config);
}
