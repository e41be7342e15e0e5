/* What the configuration files share: the key table's shape (config.c holds
 * the table), the value parsers (values.c), the outline of a file
 * (outline.c) that yaml.c loads with, and the helpers each of
 * them uses. Not for use outside src/config/. */
#ifndef CR_CONFIG_INTERNAL_H
#define CR_CONFIG_INTERNAL_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

#define PIXELS_MAX 32768              /* one side of a size or crop, pixels */
#define CONTROL_VALUE_EXPECTED "an integer, true, false or a menu item name"
#define STR_(x) #x
#define STR(x) STR_(x)

/* The field of type at offset bytes into base. */
#define FIELD(base, offset, type) ((type *)((char *)(base) + (offset)))

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
	bool list;               /* KEY_VALUE: the file gives a list of values, which parse
				    gets joined with ","; the command line gives that text */
	const char *const *choices; /* cr_config_parse_choice: the values, NULL-terminated */
	const char *what;        /* cr_config_parse_choice: what a value is ("a container format") */
};

#define CR_CONFIG_TOPIC_EXPECTED "1 to 64 letters, digits, '_' or '-'" /* an ntfy topic */

/* The document's keys; cameras.N's keys (keys.c). */
extern const struct key cr_config_top_keys[];
extern const struct key cr_config_camera_keys[];

/* What replaces path ("http.max_clients"), a key camrig no longer has, as
 * the text of "(expected ...)"; NULL when camrig never had it. */
const char *cr_config_removed_key(const char *path);

/* Entries in a table. */
size_t cr_config_key_count(const struct key *keys);

/* "a, b, c": the names of a table, allocated. */
char *cr_config_key_names(const struct key *keys);

/* What a good value of key looks like, allocated; key NULL with level: a
 * mapping of level's keys (the document, or one camera). */
char *cr_config_describe(const struct key *key, const struct key *level);

/* Where a dotted path leads in the table, list indexes skipped. */
struct spot {
	const struct key *key;    /* the key the path names; NULL: the document or one camera */
	const struct key *level;  /* the table of its children; NULL: it has none */
};

/* Follows path ("cameras.0.jpeg") from cr_config_top_keys. Returns 0, or
 * -ENOENT when a part of it names no key. */
int cr_config_spot_find(const char *path, struct spot *spot);

/* "FILE:LINE: KEY: what (expected ...)", allocated; file NULL: no
 * "FILE:LINE: "; key "" or NULL: no "KEY: "; expected NULL: no parenthesis. */
char *cr_config_message(const char *file, int line, const char *key, const char *what, const char *expected);

/* "path.name", or "name" when path is "", allocated. */
char *cr_config_join(const char *path, const char *name);

/* ---- value parsers (values.c) ---------------------------------- */

parse_fn cr_config_parse_int, cr_config_parse_uint, cr_config_parse_fps, cr_config_parse_bool,
	cr_config_parse_size_key, cr_config_parse_format, cr_config_parse_name, cr_config_parse_text,
	cr_config_parse_source, cr_config_parse_listen, cr_config_parse_log_level, cr_config_parse_word,
	cr_config_parse_choice, cr_config_parse_path, cr_config_parse_url,
	cr_config_parse_topic, cr_config_parse_token, cr_config_parse_event_list,
	cr_config_parse_post_url, cr_config_parse_hostnames, cr_config_parse_origins, cr_config_parse_interfaces,
	cr_config_parse_name_template, cr_config_parse_sensors, cr_config_parse_broker, cr_config_parse_client_id,
	cr_config_parse_mqtt_topic, cr_config_parse_rtsp_url;

/* Replaces *field with a copy of text. */
void cr_config_set_string(char **field, const char *text);

/* True when text holds no control character. */
bool cr_config_printable(const char *text);

/* True when text starts with prefix. */
bool cr_config_has_prefix(const char *text, const char *prefix);

/* ---- cameras and controls (config.c) ---------------------------------- */

/* Frees what cam owns and zeroes it. */
void cr_config_camera_clear(struct cr_camera_config *cam);

/* Makes dst a deep copy of src. */
void cr_config_camera_copy(struct cr_camera_config *dst, const struct cr_camera_config *src);

/* Adds or replaces control name. On failure sets *why and *expected (static). */
int cr_config_control_set(struct cr_camera_config *cam, const char *name, const char *value, int line,
			  char **why, const char **expected);

/* Adds or replaces entry name of the free-form mapping key (KEY_MAP) of
 * base. The value is never echoed: it may be a secret (an Authorization
 * header). On failure sets *why and *expected (static). */
int cr_config_map_set(const struct key *key, void *base, const char *name, const char *value,
		      char **why, const char **expected);

/* ---- the outline of a file (outline.c) ------------------------- */

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

struct cr_config_outline {
	const char *file;
	struct place *places;
	size_t nplaces;
	struct found_control *controls;
	size_t ncontrols;
	struct found_pair *pairs;
	size_t npairs;
};

/* Reads text with libyaml: fills o, or returns -EINVAL with *error for a
 * syntax error, a duplicate key, an alias, a second document, a malformed
 * controls map. */
int cr_config_outline_build(struct cr_config_outline *o, const char *text, size_t len, char **error);

/* Frees what o holds (not o itself). */
void cr_config_outline_free(struct cr_config_outline *o);

/* The place of path, or NULL when the file does not have it. */
const struct place *cr_config_place_find(const struct cr_config_outline *o, const char *path);

/* The line of path, or of its nearest ancestor in the file; 1 if none. */
int cr_config_place_line(const struct cr_config_outline *o, const char *path);

/* "a value", "an empty value", "a list" or "a mapping". */
const char *cr_config_kind_name(enum node_kind kind);

#endif
