/* Source creation from a spec string, the pacing helper shared by sources
 * that set their own frame rate, and the control helpers shared by sources
 * that keep their controls themselves. */
#include "source/source.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The ops of each kind of source in config/sources.h's table. */
static const struct cr_source_ops *const ops_of[CR_SOURCE_KINDS] = {
	[CR_SOURCE_TEST] = &cr_source_test_ops,
	[CR_SOURCE_V4L2] = &cr_source_v4l2_ops,
	[CR_SOURCE_FILE] = &cr_source_file_ops,
	[CR_SOURCE_URL] = &cr_source_url_ops,
	/* CR_SOURCE_LIBCAMERA: from its module, cr_libcamera_source_ops() */
	/* CR_SOURCE_ARAVIS: from its module, cr_aravis_source_ops() */
};

int cr_source_new(const struct cr_camera_config *config, int wake_fd, struct cr_source **out)
{
	const char *spec = config->source ? config->source : "auto", *location = "";
	const struct cr_source_scheme *scheme = cr_source_scheme_of(spec, &location);
	const struct cr_source_ops *ops = NULL;
	struct cr_source *src;
	char device[256], expected[256], id[256];

	if (!scheme)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: source \"%s\": not a source (expected %s)", config->name,
				  spec, cr_source_schemes_expected(expected, sizeof(expected)));
	if (scheme->kind == CR_SOURCE_AUTO) {
		if (cr_libcamera_find_camera(id, sizeof(id)) == 0) {
			cr_info("%s: source auto: using libcamera camera %s", config->name, id);
			ops = cr_libcamera_source_ops();
			location = id;
		} else if (cr_v4l2_find_capture_device_for_auto(device, sizeof(device), cr_libcamera_available()) == 0) {
			cr_info("%s: source auto: using V4L2 device %s", config->name, device);
			ops = &cr_source_v4l2_ops;
			location = device;
		} else {
			cr_info("%s: source auto: no libcamera camera or V4L2 capture device, using the test pattern",
				config->name);
			ops = &cr_source_test_ops;
		}
	} else if (scheme->kind == CR_SOURCE_LIBCAMERA) {
		ops = cr_libcamera_source_ops();
		if (!ops)
			return cr_log_ret(-ENOTSUP, CR_LOG_ERROR, "%s: source \"%s\": %s", config->name, spec,
					  cr_libcamera_why_not());
	} else if (scheme->kind == CR_SOURCE_ARAVIS) {
		ops = cr_aravis_source_ops();
		if (!ops)
			return cr_log_ret(-ENOTSUP, CR_LOG_ERROR, "%s: source \"%s\": %s", config->name, spec,
					  cr_aravis_why_not());
	} else {
		ops = ops_of[scheme->kind];
	}
	src = CR_NEW(src);
	src->ops = ops;
	src->config = config;
	src->location = cr_strdup(location);
	src->wake_fd = wake_fd;
	*out = src;
	return 0;
}

void cr_source_free(struct cr_source **psrc)
{
	struct cr_source *src = *psrc;

	if (!src)
		return;
	*psrc = NULL;
	if (src->ops->free_priv)
		src->ops->free_priv(src);
	free(src->location);
	free(src);
}

int cr_source_sleep_until(struct cr_source *src, int64_t deadline_ns)
{
	struct pollfd pfd = { .fd = src->wake_fd, .events = POLLIN };

	for (;;) {
		int64_t left = deadline_ns - cr_time_mono_ns();
		struct timespec ts;
		int ret;

		if (left <= 0)
			return 0;
		ts = cr_time_ts(left);
		ret = ppoll(&pfd, 1, &ts, NULL);
		if (ret > 0)
			return -EAGAIN;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

const char *cr_control_type_name(enum cr_control_type type)
{
	static const char *const names[] = {
		[CR_CONTROL_INT] = "int",   [CR_CONTROL_INT64] = "int64",     [CR_CONTROL_BOOL] = "bool",
		[CR_CONTROL_MENU] = "menu", [CR_CONTROL_INT_MENU] = "intmenu", [CR_CONTROL_BUTTON] = "button",
		[CR_CONTROL_BITMASK] = "bitmask", [CR_CONTROL_FLOAT] = "float", [CR_CONTROL_COMPOUND] = "compound",
	};

	return (unsigned)type < CR_ARRAY_SIZE(names) ? names[type] : "?";
}

void cr_source_control_key(const char *name, char *out, size_t len)
{
	size_t n = 0;
	bool gap = false;

	if (len == 0)
		return;
	for (; *name && n + 2 < len; name++) {
		unsigned char c = (unsigned char)*name;

		if (isalnum(c)) {
			if (gap && n > 0)
				out[n++] = '_';
			gap = false;
			out[n++] = (char)tolower(c);
		} else {
			gap = true;
		}
	}
	out[n] = '\0';
}

static int parse_integer(const char *text, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 0);
	if (errno || end == text || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int cr_source_control_parse(const struct cr_source_control *c, const char *text, int64_t *value, char *why,
			    size_t len)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };
	char key[64], item_key[64];
	size_t n;
	int64_t v;

	switch (c->type) {
	case CR_CONTROL_BOOL:
		for (size_t i = 0; i < CR_ARRAY_SIZE(yes); i++) {
			if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
				*value = strcasecmp(text, yes[i]) == 0;
				return 0;
			}
		}
		snprintf(why, len, "expected true or false");
		return -EINVAL;
	case CR_CONTROL_BUTTON:
		*value = 1;
		return 0;
	case CR_CONTROL_MENU:
	case CR_CONTROL_INT_MENU:
		cr_source_control_key(text, key, sizeof(key));
		for (unsigned i = 0; i < c->nitems; i++) {
			cr_source_control_key(c->items[i].name, item_key, sizeof(item_key));
			if (strcasecmp(c->items[i].name, text) == 0 || (key[0] && strcmp(key, item_key) == 0)) {
				*value = c->items[i].index;
				return 0;
			}
		}
		if (parse_integer(text, &v) == 0)
			for (unsigned i = 0; i < c->nitems; i++)
				if (c->items[i].index == v) {
					*value = v;
					return 0;
				}
		n = (size_t)snprintf(why, len, "expected a menu item:");
		for (unsigned i = 0; i < c->nitems && n < len; i++)
			n += (size_t)snprintf(why + n, len - n, "%s %lld: \"%s\"", i ? "," : "",
					      (long long)c->items[i].index, c->items[i].name);
		return -EINVAL;
	case CR_CONTROL_BITMASK:
		if (parse_integer(text, &v) < 0 || v < 0 || ((uint64_t)v & ~(uint64_t)c->max)) {
			snprintf(why, len, "expected a bitmask within 0x%08llx", (unsigned long long)c->max);
			return -EINVAL;
		}
		*value = v;
		return 0;
	default:
		if (parse_integer(text, &v) < 0 || v < c->min || v > c->max ||
		    (c->step > 1 && (v - c->min) % c->step != 0)) {
			snprintf(why, len, "expected an integer in %lld..%lld (step %lld)", (long long)c->min,
				 (long long)c->max, (long long)c->step);
			return -EINVAL;
		}
		*value = v;
		return 0;
	}
}
