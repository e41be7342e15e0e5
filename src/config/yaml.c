/* Loading a configuration file: YAML text through libcyaml into struct
 * cr_config, with every error as "FILE:LINE: KEY: what (expected ...)".
 *
 * The libcyaml schema is built per load from the key table (config.c): every
 * value is loaded as a string into a struct raw array with one slot per table
 * entry, so libcyaml checks the shape (unknown keys, a list where a value
 * belongs) and the table's parse functions (values.c) check the
 * values. libcyaml 1.3 reports a failure through its log callback only, as a
 * message and a backtrace of field names and sequence entries whose marks
 * point near, not at, the offending line; the outline of the same text
 * (outline.c) turns that backtrace's path into a line.
 *
 * cr_config_load() loads the embedded data/camrig.yaml first, then the user's
 * file over it. */
#include "config/internal.h"

#include "base/mem.h"
#include "embedded.h"

#include <assert.h>
#include <cyaml/cyaml.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (1024 * 1024)        /* bytes of a config file */
#define EMBEDDED_NAME "built-in camrig.yaml"

/* ---- libcyaml: schema from the table, raw strings, its errors ------------ */

struct raw {                 /* one key as libcyaml loads it */
	void *value;         /* char *; list keys: count x char *; struct raw[] of key->sub;
				KEY_CAMERAS: count x struct raw[] */
	unsigned count;      /* KEY_CAMERAS, list keys: entries */
};

/* The entry of a list key: a string. */
static const cyaml_schema_value_t list_entry = {
	.type = CYAML_STRING,
	.flags = CYAML_FLAG_POINTER,
	.data_size = sizeof(char),
	.string.max = CYAML_UNLIMITED,
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
	size_t n = cr_config_key_count(keys);
	cyaml_schema_field_t *fields = cr_calloc(n + 1, sizeof(*fields));

	for (size_t i = 0; i < n; i++) {
		cyaml_schema_field_t *f = &fields[i];
		cyaml_schema_value_t *entry;

		f->key = keys[i].name;
		f->data_offset = (uint32_t)(i * sizeof(struct raw) + offsetof(struct raw, value));
		f->value.flags = CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER;
		switch (keys[i].type) {
		case KEY_VALUE:
			if (keys[i].list) {
				f->count_offset = (uint32_t)(i * sizeof(struct raw) + offsetof(struct raw, count));
				f->count_size = sizeof(unsigned);
				f->value.type = CYAML_SEQUENCE;
				f->value.data_size = sizeof(char *);
				f->value.sequence.entry = &list_entry;
				f->value.sequence.max = CYAML_UNLIMITED;
				break;
			}
			f->value.type = CYAML_STRING;
			f->value.data_size = sizeof(char *);
			f->value.string.max = CYAML_UNLIMITED;
			break;
		case KEY_MAPPING:
			f->value.type = CYAML_MAPPING;
			f->value.data_size = (uint32_t)(cr_config_key_count(keys[i].sub) * sizeof(struct raw));
			f->value.mapping.fields = schema_fields(keys[i].sub);
			break;
		case KEY_CAMERAS:
			entry = cr_calloc(1, sizeof(*entry));
			entry->type = CYAML_MAPPING;
			entry->data_size = (uint32_t)(cr_config_key_count(keys[i].sub) * sizeof(struct raw));
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
static char *cyaml_message(const struct cr_config_outline *o, const char *log, cyaml_err_t err)
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
		else if (!problem && cr_config_has_prefix(p, "Load: ") && !cr_config_has_prefix(p, "Load: Backtrace:"))
			problem = cr_asprintf("%.*s", (int)(len - 6), p + 6);
		if (next) {
			free(path);
			path = next;
		}
		p += len;
		if (*p)
			p++;
	}
	if (problem && cr_config_has_prefix(problem, "Unexpected key: ")) {
		full = cr_config_join(path, problem + strlen("Unexpected key: "));
		what = cr_strdup(cr_config_removed_key(full) ? "no longer a key" : "unknown key");
		if (cr_config_removed_key(full)) {
			expected = cr_strdup(cr_config_removed_key(full));
		} else if (cr_config_spot_find(path, &spot) == 0 && spot.level) {
			char *names = cr_config_key_names(spot.level);

			expected = cr_asprintf("one of: %s", names);
			free(names);
		}
	} else if (problem && cr_config_has_prefix(problem, "Expecting ")) {
		const struct place *place = cr_config_place_find(o, path);

		full = cr_strdup(path);
		what = cr_asprintf("wrong type: got %s", cr_config_kind_name(place ? place->kind : NODE_VALUE));
		if (cr_config_spot_find(path, &spot) == 0)
			expected = cr_config_describe(spot.key, spot.level);
	} else {
		full = cr_strdup(path);
		what = cr_asprintf("%s (%s)", problem ? problem : "cannot load", cyaml_strerror(err));
	}
	text = cr_config_message(o->file, cr_config_place_line(o, full), full, what, expected);
	free(problem);
	free(path);
	free(full);
	free(what);
	free(expected);
	return text;
}

/* ---- applying loaded values -------------------------------------------- */

struct load {
	const struct cr_config_outline *outline;
	char **error;
};

static int apply_value(struct load *ld, const struct key *key, const char *path, const char *text, void *base)
{
	const struct place *place = cr_config_place_find(ld->outline, path);
	char *why = NULL, *expected;
	int ret;

	if (place && place->kind == NODE_EMPTY) {
		why = cr_strdup("no value");
		ret = -EINVAL;
	} else {
		ret = key->parse(key, text, base, &why);
	}
	if (ret < 0) {
		expected = cr_config_describe(key, NULL);
		*ld->error = cr_config_message(ld->outline->file, cr_config_place_line(ld->outline, path),
					       path, why, expected);
		free(expected);
		free(why);
	}
	return ret;
}

static int apply_keys(struct load *ld, const struct key *keys, const struct raw *raw, void *base,
		      struct cr_config *config, const char *path);

/* A list key: its entries joined with "," for the key's parse function. */
static int apply_list(struct load *ld, const struct key *key, const char *path, const struct raw *raw, void *base)
{
	char *const *items = raw->value;
	char *text = cr_strdup("");
	int ret;

	for (unsigned i = 0; i < raw->count; i++) {
		char *next = cr_asprintf("%s%s%s", text, i ? "," : "", items[i]);

		free(text);
		text = next;
	}
	ret = apply_value(ld, key, path, text, base);
	free(text);
	return ret;
}

/* The entries the outline found in the free-form mapping at path. */
static int apply_map(struct load *ld, const struct key *key, const char *path, void *base)
{
	for (size_t i = 0; i < ld->outline->npairs; i++) {
		const struct found_pair *fp = &ld->outline->pairs[i];
		const char *expected;
		char *why, *full;

		if (strcmp(fp->path, path) != 0)
			continue;
		if (cr_config_map_set(key, base, fp->name, fp->value, &why, &expected) < 0) {
			full = cr_config_join(path, fp->name);
			*ld->error = cr_config_message(ld->outline->file, fp->line, full, why, expected);
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
	int ret = apply_keys(ld, cr_config_camera_keys, raw, cam, config, path);

	for (size_t i = 0; ret >= 0 && i < ld->outline->ncontrols; i++) {
		const struct found_control *fc = &ld->outline->controls[i];
		const char *expected;
		char *why, *key;

		if (fc->camera != index)
			continue;
		ret = cr_config_control_set(cam, fc->name, fc->value, fc->line, &why, &expected);
		if (ret < 0) {
			key = cr_asprintf("%s.controls.%s", path, fc->name);
			*ld->error = cr_config_message(ld->outline->file, fc->line, key, why, expected);
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
	size_t nkeys = cr_config_key_count(key->sub);
	struct cr_camera_config *cams;
	unsigned count = raw->value ? raw->count : 0;
	int ret = 0;

	if (count == 0 || count > CR_CONFIG_MAX_CAMERAS) {
		char *what = count ? cr_asprintf("%u cameras", count) : cr_strdup("an empty list");

		*ld->error = cr_config_message(ld->outline->file, cr_config_place_line(ld->outline, path), path, what,
					      "1 to " STR(CR_CONFIG_MAX_CAMERAS) " cameras");
		free(what);
		return -EINVAL;
	}
	cams = cr_calloc(count, sizeof(*cams));
	for (unsigned i = 0; i < count; i++)
		cr_config_camera_copy(&cams[i], model);
	for (unsigned i = 0; ret >= 0 && i < count; i++)
		ret = apply_camera(ld, (const struct raw *)raw->value + i * nkeys, &cams[i], i, config);
	if (ret < 0) {
		for (unsigned i = 0; i < count; i++)
			cr_config_camera_clear(&cams[i]);
		free(cams);
		return ret;
	}
	for (unsigned i = 0; i < config->ncameras; i++)
		cr_config_camera_clear(&config->cameras[i]);
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
		char *key_path = cr_config_join(path, key->name);

		if (key->type == KEY_VALUE && key->list && cr_config_place_find(ld->outline, key_path))
			ret = apply_list(ld, key, key_path, &raw[i], base);
		else if (key->type == KEY_VALUE && raw[i].value)
			ret = apply_value(ld, key, key_path, raw[i].value, base);
		else if (key->type == KEY_MAPPING && raw[i].value)
			ret = apply_keys(ld, key->sub, raw[i].value, base, config, key_path);
		else if (key->type == KEY_CAMERAS && cr_config_place_find(ld->outline, key_path))
			ret = apply_cameras(ld, key, &raw[i], config, key_path);
		else if (key->type == KEY_MAP)
			ret = apply_map(ld, key, key_path, base);
		free(key_path);
	}
	return ret;
}

/* Lays the YAML text over config; file names the text in messages. keep:
 * the outline stays in config->outline, for later messages. */
static int load_text(struct cr_config *config, const char *text, size_t len, const char *file, bool keep,
		     char **error)
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
		.data_size = (uint32_t)(cr_config_key_count(cr_config_top_keys) * sizeof(struct raw)),
	};
	struct cr_config_outline outline = { .file = file };
	struct load ld = { .outline = &outline, .error = error };
	struct raw *raw = NULL;
	cyaml_err_t err;
	int ret;

	ret = cr_config_outline_build(&outline, text, len, error);
	if (ret < 0)
		goto end;
	schema.mapping.fields = schema_fields(cr_config_top_keys);
	err = cyaml_load_data((const uint8_t *)text, len, &cyaml_config, &schema, (cyaml_data_t **)&raw, NULL);
	if (err != CYAML_OK) {
		*error = cyaml_message(&outline, log.text, err);
		ret = -EINVAL;
		goto end;
	}
	if (raw)
		ret = apply_keys(&ld, cr_config_top_keys, raw, config, config, "");
end:
	if (raw)
		cyaml_free(&cyaml_config, &schema, raw, 0);
	schema_free(cr_config_top_keys, (cyaml_schema_field_t *)schema.mapping.fields);
	if (keep && ret >= 0) {
		config->outline = cr_malloc(sizeof(*config->outline));
		*config->outline = outline;
	} else {
		cr_config_outline_free(&outline);
	}
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
			EMBEDDED_NAME, false, error);
	if (ret >= 0 && config->ncameras == 0) {
		*error = cr_strdup(EMBEDDED_NAME ": no camera (expected one default camera)");
		ret = -EINVAL;
	}
	if (ret >= 0 && path) {
		config->path = cr_strdup(path);
		ret = read_file(path, &text, &len, error);
		if (ret >= 0)
			ret = load_text(config, text, len, config->path, true, error);
		free(text);
	}
	if (ret < 0)
		cr_config_free(&config);
	return config;
}
