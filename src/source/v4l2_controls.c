/* V4L2 controls by name: the names in the configuration (and from live
 * set_control calls) are matched against the device's controls as v4l2-ctl
 * prints them ("exposure_time_absolute", "wide_dynamic_range"), the value is
 * parsed by the control's type and checked against its range or menu, and
 * set with VIDIOC_S_EXT_CTRLS. Controls are enumerated afresh on each call
 * (VIDIOC_QUERY_EXT_CTRL with V4L2_CTRL_FLAG_NEXT_CTRL | NEXT_COMPOUND), so
 * nothing is cached and a live set from another thread shares no state with
 * the capture thread.
 *
 * Reference: Documentation/userspace-api/media/v4l/vidioc-queryctrl.rst,
 * vidioc-g-ext-ctrls.rst, and v4l2-ctl's name2var() for the spelling. */
#include "source/v4l2_internal.h"

#include "source/source.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest list of names or menu items put into one error message, in bytes:
 * a log line holds 1024. */
#define LIST_MAX 600

void cr_v4l2_control_key(const char *name, char *out, size_t len)
{
	cr_source_control_key(name, out, len);
}

/* Steps through the device's controls: *qc zeroed by the caller before the
 * first call. Skips class headings and disabled controls. Returns 1 with the
 * next control in *qc, 0 at the end, -errno if the driver has no
 * VIDIOC_QUERY_EXT_CTRL. */
static int next_control(int fd, struct v4l2_query_ext_ctrl *qc)
{
	for (;;) {
		uint32_t id = qc->id;
		int ret;

		memset(qc, 0, sizeof(*qc));
		qc->id = id | V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND;
		ret = cr_v4l2_ioctl(fd, VIDIOC_QUERY_EXT_CTRL, qc);
		/* EINVAL: past the last; ENOTTY: a device with no controls at
		 * all (vidioc-queryctrl.rst), such as vimc's capture nodes. */
		if (ret == -EINVAL || ret == -ENOTTY)
			return 0;
		if (ret < 0)
			return ret;
		if (qc->type == V4L2_CTRL_TYPE_CTRL_CLASS || (qc->flags & V4L2_CTRL_FLAG_DISABLED))
			continue;
		return 1;
	}
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case V4L2_CTRL_TYPE_INTEGER: return "int";
	case V4L2_CTRL_TYPE_BOOLEAN: return "bool";
	case V4L2_CTRL_TYPE_MENU: return "menu";
	case V4L2_CTRL_TYPE_INTEGER_MENU: return "intmenu";
	case V4L2_CTRL_TYPE_BUTTON: return "button";
	case V4L2_CTRL_TYPE_INTEGER64: return "int64";
	case V4L2_CTRL_TYPE_BITMASK: return "bitmask";
	case V4L2_CTRL_TYPE_STRING: return "str";
	default: return "compound";
	}
}

/* Appends s to the bounded list buf ("a, b, c"), ending it with "..." once
 * it is full. */
static void list_add(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n >= 3 && strcmp(buf + n - 3, "...") == 0)
		return;
	if (n + strlen(s) + 8 > len) {
		snprintf(buf + n, len - n, "%s...", n ? ", " : "");
		return;
	}
	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s);
}

/* Finds the control whose normalized name is key. Returns 1 with *qc, 0 if
 * there is none (then names lists the device's controls), or -errno. */
static int find_control(int fd, const char *key, struct v4l2_query_ext_ctrl *qc, char *names, size_t len)
{
	char k[64];
	int ret;

	names[0] = '\0';
	memset(qc, 0, sizeof(*qc));
	while ((ret = next_control(fd, qc)) > 0) {
		cr_v4l2_control_key(qc->name, k, sizeof(k));
		if (strcmp(k, key) == 0)
			return 1;
		list_add(names, len, k);
	}
	return ret;
}

/* The menu item name of index (or "%lld" for integer menus) into buf.
 * Returns 0, or -EINVAL for an index the driver skips. */
static int menu_item(int fd, const struct v4l2_query_ext_ctrl *qc, uint32_t index, char *buf, size_t len)
{
	struct v4l2_querymenu qm = { .id = qc->id, .index = index };

	if (cr_v4l2_ioctl(fd, VIDIOC_QUERYMENU, &qm) < 0)
		return -EINVAL;
	if (qc->type == V4L2_CTRL_TYPE_INTEGER_MENU)
		snprintf(buf, len, "%lld", (long long)qm.value);
	else
		snprintf(buf, len, "%s", (const char *)qm.name);
	return 0;
}

/* The control type camrig lists qc as; false for one it does not (strings,
 * compound controls). */
static bool control_type(const struct v4l2_query_ext_ctrl *qc, enum cr_control_type *type);

/* Fills c from qc (and the current value and menu items from the driver). */
static void describe(int fd, const struct v4l2_query_ext_ctrl *qc, enum cr_control_type type,
		     struct cr_source_control *c);

/* Parses value for the control qc into *out (the index for menus) with the
 * one grammar of control values (cr_source_control_parse); strings by their
 * length. On a bad value fills why with what is accepted and returns -EINVAL. */
static int parse_value(int fd, const struct v4l2_query_ext_ctrl *qc, const char *value, int64_t *out,
		       char *why, size_t len)
{
	struct cr_source_control c;
	enum cr_control_type type;

	if (qc->type == V4L2_CTRL_TYPE_STRING) {
		if (strlen(value) < (size_t)qc->minimum || strlen(value) > (size_t)qc->maximum) {
			snprintf(why, len, "expected a string of %lld..%lld characters", (long long)qc->minimum,
				 (long long)qc->maximum);
			return -EINVAL;
		}
		*out = 0;
		return 0;
	}
	if (!control_type(qc, &type)) {
		snprintf(why, len, "a %s control cannot be set from camrig", type_name(qc->type));
		return -EINVAL;
	}
	describe(fd, qc, type, &c);
	return cr_source_control_parse(&c, value, out, why, len);
}

static void format_where(char *buf, size_t len, const char *device, int line)
{
	if (line > 0)
		snprintf(buf, len, "%s: control (config line %d)", device, line);
	else
		snprintf(buf, len, "%s: control", device);
}

/* Logs the failure and keeps its text for the caller. */
static int refuse(int ret, char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(int ret, char *out, size_t len, const char *fmt, ...)
{
	char text[LIST_MAX + 512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cr_err("%s", text);
	if (out)
		snprintf(out, len, "%s", text);
	return ret;
}

bool cr_v4l2_control_exists(int fd, const char *name)
{
	struct v4l2_query_ext_ctrl qc;
	char key[64], names[LIST_MAX];

	cr_v4l2_control_key(name, key, sizeof(key));
	return find_control(fd, key, &qc, names, sizeof(names)) > 0;
}

char *cr_v4l2_control_names(int fd, char *buf, size_t len)
{
	struct v4l2_query_ext_ctrl qc;
	char names[LIST_MAX];

	find_control(fd, "", &qc, names, sizeof(names));
	snprintf(buf, len, "%s", names[0] ? names : "no controls");
	return buf;
}

int cr_v4l2_control_set(int fd, const char *device, const char *name, const char *value, int line, char *out,
			size_t out_len)
{
	struct v4l2_query_ext_ctrl qc;
	struct v4l2_ext_control ctrl = { 0 };
	struct v4l2_ext_controls ctrls = { 0 };
	char key[64], names[LIST_MAX], why[LIST_MAX + 64], where[192];
	char *str = NULL;
	int64_t v = 0;
	int ret;

	format_where(where, sizeof(where), device, line);
	cr_v4l2_control_key(name, key, sizeof(key));
	ret = find_control(fd, key, &qc, names, sizeof(names));
	if (ret < 0)
		return refuse(ret, out, out_len, "%s \"%s\": cannot list the device's controls: %s", where,
				  name, cr_strerror(ret));
	if (ret == 0) {
		return refuse(-ENOENT, out, out_len, "%s \"%s\": no such control (the device has: %s)", where,
				  name, names[0] ? names : "no controls");
	}
	if (qc.flags & V4L2_CTRL_FLAG_READ_ONLY)
		return refuse(-EACCES, out, out_len, "%s \"%s\" is read-only", where, key);
	ret = parse_value(fd, &qc, value, &v, why, sizeof(why));
	if (ret < 0)
		return refuse(ret, out, out_len, "%s \"%s\": bad value \"%s\" (%s)", where, key, value, why);
	if (qc.flags & V4L2_CTRL_FLAG_INACTIVE)
		cr_warn("%s \"%s\" is inactive now (an automatic mode may be on): the value %s may have no effect",
			where, key, value);

	ctrl.id = qc.id;
	if (qc.type == V4L2_CTRL_TYPE_INTEGER64) {
		ctrl.value64 = v;
	} else if (qc.type == V4L2_CTRL_TYPE_STRING) {
		str = cr_calloc(1, (size_t)qc.maximum + 1);
		memcpy(str, value, strlen(value));
		ctrl.string = str;
		ctrl.size = (uint32_t)qc.maximum + 1;
	} else {
		ctrl.value = (int32_t)v;
	}
	ctrls.which = V4L2_CTRL_WHICH_CUR_VAL;
	ctrls.count = 1;
	ctrls.controls = &ctrl;
	ret = cr_v4l2_ioctl(fd, VIDIOC_S_EXT_CTRLS, &ctrls);
	free(str);
	if (ret < 0)
		return refuse(ret, out, out_len, "%s \"%s\" = %s: the driver refused it: %s", where, key, value,
				  cr_strerror(ret));
	cr_info("%s: %s = %s", device, key, value);
	return 0;
}

int cr_v4l2_controls_apply(int fd, const char *device, const struct cr_control_setting *settings, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = cr_v4l2_control_set(fd, device, settings[i].name, settings[i].value, settings[i].line, NULL, 0);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The current value of a control with a value of at most 64 bits. */
static int current_value(int fd, const struct v4l2_query_ext_ctrl *qc, int64_t *out)
{
	struct v4l2_ext_control ctrl = { .id = qc->id };
	struct v4l2_ext_controls ctrls = { .which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1, .controls = &ctrl };
	int ret = cr_v4l2_ioctl(fd, VIDIOC_G_EXT_CTRLS, &ctrls);

	if (ret < 0)
		return ret;
	*out = qc->type == V4L2_CTRL_TYPE_INTEGER64 ? ctrl.value64 : ctrl.value;
	return 0;
}

void cr_v4l2_controls_print(int fd, FILE *out, const char *indent)
{
	struct v4l2_query_ext_ctrl qc;
	char key[64], item[64];
	int64_t cur;
	int ret, count = 0;

	memset(&qc, 0, sizeof(qc));
	while ((ret = next_control(fd, &qc)) > 0) {
		bool has_cur;

		if (qc.type == V4L2_CTRL_TYPE_STRING || (qc.flags & V4L2_CTRL_FLAG_HAS_PAYLOAD) ||
		    qc.type >= V4L2_CTRL_COMPOUND_TYPES)
			continue; /* strings, arrays and compound controls: not settable from the config */
		if (count++ == 0)
			fprintf(out, "%scontrols:\n", indent);
		cr_v4l2_control_key(qc.name, key, sizeof(key));
		fprintf(out, "%s  %s (%s)", indent, key, type_name(qc.type));
		has_cur = !(qc.flags & V4L2_CTRL_FLAG_WRITE_ONLY) && qc.type != V4L2_CTRL_TYPE_BUTTON &&
			  current_value(fd, &qc, &cur) == 0;
		switch (qc.type) {
		case V4L2_CTRL_TYPE_INTEGER:
		case V4L2_CTRL_TYPE_INTEGER64:
			fprintf(out, ": %lld..%lld step %llu default %lld", (long long)qc.minimum,
				(long long)qc.maximum, (unsigned long long)qc.step, (long long)qc.default_value);
			break;
		case V4L2_CTRL_TYPE_BOOLEAN:
			fprintf(out, ": default %s", qc.default_value ? "true" : "false");
			break;
		case V4L2_CTRL_TYPE_BITMASK:
			fprintf(out, ": mask 0x%08llx default 0x%08llx", (unsigned long long)qc.maximum,
				(unsigned long long)qc.default_value);
			break;
		case V4L2_CTRL_TYPE_MENU:
		case V4L2_CTRL_TYPE_INTEGER_MENU:
			fprintf(out, ":");
			for (int64_t i = qc.minimum, first = 1; i <= qc.maximum; i++) {
				if (menu_item(fd, &qc, (uint32_t)i, item, sizeof(item)) == 0) {
					fprintf(out, "%s %lld=\"%s\"", first ? "" : ",", (long long)i, item);
					first = 0;
				}
			}
			fprintf(out, "; default %lld", (long long)qc.default_value);
			break;
		default:
			break;
		}
		if (has_cur) {
			if (qc.type == V4L2_CTRL_TYPE_BOOLEAN)
				fprintf(out, ", now %s", cur ? "true" : "false");
			else if (qc.type == V4L2_CTRL_TYPE_BITMASK)
				fprintf(out, ", now 0x%08x", (uint32_t)cur);
			else
				fprintf(out, ", now %lld", (long long)cur);
		}
		if (qc.flags & V4L2_CTRL_FLAG_READ_ONLY)
			fprintf(out, " [read-only]");
		if (qc.flags & V4L2_CTRL_FLAG_INACTIVE)
			fprintf(out, " [inactive]");
		fputc('\n', out);
	}
	if (ret < 0)
		fprintf(out, "%scontrols: cannot list: %s\n", indent, cr_strerror(ret));
}

/* The control's type in camrig's terms; false for the kinds camrig does not
 * set (strings, arrays, compound controls). */
static bool control_type(const struct v4l2_query_ext_ctrl *qc, enum cr_control_type *type)
{
	if (qc->flags & V4L2_CTRL_FLAG_HAS_PAYLOAD)
		return false;
	switch (qc->type) {
	case V4L2_CTRL_TYPE_INTEGER: *type = CR_CONTROL_INT; return true;
	case V4L2_CTRL_TYPE_INTEGER64: *type = CR_CONTROL_INT64; return true;
	case V4L2_CTRL_TYPE_BOOLEAN: *type = CR_CONTROL_BOOL; return true;
	case V4L2_CTRL_TYPE_MENU: *type = CR_CONTROL_MENU; return true;
	case V4L2_CTRL_TYPE_INTEGER_MENU: *type = CR_CONTROL_INT_MENU; return true;
	case V4L2_CTRL_TYPE_BUTTON: *type = CR_CONTROL_BUTTON; return true;
	case V4L2_CTRL_TYPE_BITMASK: *type = CR_CONTROL_BITMASK; return true;
	default: return false;
	}
}

static void describe(int fd, const struct v4l2_query_ext_ctrl *qc, enum cr_control_type type,
		     struct cr_source_control *c)
{
	int64_t cur;

	memset(c, 0, sizeof(*c));
	cr_v4l2_control_key(qc->name, c->name, sizeof(c->name));
	snprintf(c->label, sizeof(c->label), "%s", qc->name);
	c->type = type;
	c->min = qc->minimum;
	c->max = qc->maximum;
	c->step = (int64_t)qc->step;
	c->def = qc->default_value;
	c->read_only = qc->flags & V4L2_CTRL_FLAG_READ_ONLY;
	c->inactive = qc->flags & V4L2_CTRL_FLAG_INACTIVE;
	if (!(qc->flags & V4L2_CTRL_FLAG_WRITE_ONLY) && type != CR_CONTROL_BUTTON && current_value(fd, qc, &cur) == 0) {
		c->value = cur;
		c->has_value = true;
	}
	if (type == CR_CONTROL_MENU || type == CR_CONTROL_INT_MENU)
		for (int64_t i = qc->minimum; i <= qc->maximum && c->nitems < CR_SOURCE_MENU_MAX; i++)
			if (menu_item(fd, qc, (uint32_t)i, c->items[c->nitems].name, sizeof(c->items[c->nitems].name)) == 0)
				c->items[c->nitems++].index = i;
}

int cr_v4l2_controls_list(int fd, struct cr_source_control *out, int max)
{
	struct v4l2_query_ext_ctrl qc;
	enum cr_control_type type;
	int ret, n = 0;

	memset(&qc, 0, sizeof(qc));
	while ((ret = next_control(fd, &qc)) > 0) {
		if (!control_type(&qc, &type))
			continue;
		if (n++ >= max)
			continue;
		describe(fd, &qc, type, &out[n - 1]);
	}
	return ret < 0 ? ret : n;
}
