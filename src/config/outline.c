/* The outline of a configuration file: a libyaml pass over the text that
 * records the line of every key path ("cameras.0.jpeg.quality") and the kind
 * of its value, so that yaml.c can turn libcyaml's backtraces, whose
 * marks point near, not at, the offending line, into FILE:LINE messages.
 *
 * The pass also reports YAML syntax errors at libyaml's exact mark, refuses
 * what camrig does not accept (duplicate keys, aliases, a second document),
 * and collects the `controls` maps and the free-form mappings (KEY_MAP),
 * whose keys no schema can list (libcyaml ignores those subtrees). */
#include "config/internal.h"

#include "base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define DEPTH_MAX 16                  /* nesting of YAML mappings and lists */
#define PLACES_MAX 10000              /* keys and list entries in a file */

struct frame {               /* an open mapping or list during the pass */
	bool list;
	char *path;
	char *key;           /* mapping: the key whose value comes next; NULL: a key comes next */
	size_t key_place;    /* that key's index in places */
	unsigned count;      /* list: entries so far */
	int controls_camera; /* >= 0: this mapping is cameras.N.controls */
	bool map;            /* this mapping is the value of a KEY_MAP key */
};

void cr_config_outline_free(struct cr_config_outline *o)
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

const struct place *cr_config_place_find(const struct cr_config_outline *o, const char *path)
{
	for (size_t i = 0; i < o->nplaces; i++)
		if (strcmp(o->places[i].path, path) == 0)
			return &o->places[i];
	return NULL;
}

int cr_config_place_line(const struct cr_config_outline *o, const char *path)
{
	char *p = cr_strdup(path);
	int line = 1;

	for (;;) {
		const struct place *place = cr_config_place_find(o, p);
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

static size_t place_add(struct cr_config_outline *o, char *path, int line, enum node_kind kind)
{
	o->places = cr_realloc(o->places, (o->nplaces + 1) * sizeof(*o->places));
	o->places[o->nplaces] = (struct place){ .path = path, .line = line, .kind = kind };
	return o->nplaces++;
}

const char *cr_config_kind_name(enum node_kind kind)
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
static int outline_node(struct cr_config_outline *o, struct frame *stack, int *depth, const yaml_event_t *ev, char **error)
{
	int line = (int)ev->start_mark.line + 1;
	enum node_kind kind = event_kind(ev);
	struct frame *top = *depth ? &stack[*depth - 1] : NULL;
	char *path, *key = NULL;
	int controls_camera = -1, ret = 0;
	struct spot spot;
	bool map = false;

	if (o->nplaces == PLACES_MAX) {
		*error = cr_config_message(o->file, line, NULL, "too many keys", "at most " STR(PLACES_MAX));
		return -EINVAL;
	}
	if (top && !top->list && !top->key) {
		const struct place *dup;

		if (ev->type != YAML_SCALAR_EVENT) {
			*error = cr_config_message(o->file, line, top->path, "a key must be plain text", "KEY: VALUE");
			return -EINVAL;
		}
		path = cr_config_join(top->path, (const char *)ev->data.scalar.value);
		dup = cr_config_place_find(o, path);
		if (dup) {
			char *what = cr_asprintf("duplicate key, first at line %d", dup->line);

			*error = cr_config_message(o->file, line, path, what, "each key once");
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
		path = cr_config_join(top->path, index);
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
				char *what = cr_asprintf("wrong type: got %s", cr_config_kind_name(kind));

				*error = cr_config_message(o->file, line, path, what,
							   "a mapping of V4L2 control names to values");
				free(what);
				ret = -EINVAL;
				goto end;
			}
		} else if (cr_config_spot_find(path, &spot) == 0 && spot.key && spot.key->type == KEY_MAP) {
			map = true;
			if (kind == NODE_VALUE || kind == NODE_LIST) {
				char *what = cr_asprintf("wrong type: got %s", cr_config_kind_name(kind));

				*error = cr_config_message(o->file, line, path, what, spot.key->expected);
				free(what);
				ret = -EINVAL;
				goto end;
			}
		}
	}
	if (top && top->map) {
		if (ev->type != YAML_SCALAR_EVENT) {
			char *what = cr_asprintf("wrong type: got %s", cr_config_kind_name(kind));

			*error = cr_config_message(o->file, line, path, what, "a text value");
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
			char *what = cr_asprintf("wrong type: got %s", cr_config_kind_name(kind));

			*error = cr_config_message(o->file, line, path, what, CONTROL_VALUE_EXPECTED);
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
			*error = cr_config_message(o->file, line, path, "nested too deep", NULL);
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

int cr_config_outline_build(struct cr_config_outline *o, const char *text, size_t len, char **error)
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

			/* The two slips people make: tabs, and a value holding ": "
			 * (a gpio.clicks rule's "while STATE: COMMAND") unquoted. */
			const char *hint = at < len && text[at] == '\t' ? " (expected spaces, not tabs, to indent)"
					   : parser.problem && strstr(parser.problem, "mapping values are not allowed")
					   ? " (expected quotes around a value that holds \": \", e.g. \"a: b\")" : "";

			*error = cr_asprintf("%s:%zu: YAML syntax error: %s%s%s", o->file, parser.problem_mark.line + 1,
					     parser.problem ? parser.problem : "unreadable", context ? context : "",
					     hint);
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
				*error = cr_config_message(o->file, line, NULL,
							   "a second YAML document", "one document");
				ret = -EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT: {
			char *path = !depth ? cr_strdup("") : stack[depth - 1].key
					? cr_config_join(stack[depth - 1].path, stack[depth - 1].key)
					: cr_strdup(stack[depth - 1].path);

			*error = cr_config_message(o->file, line, path,
						   "aliases (*name) are not supported", "plain values");
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
