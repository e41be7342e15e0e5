/* The camera sensor behind a V4L2 capture node, as a V4L2 sub-device
 * (media controller): what media-ctl and v4l2-ctl -d /dev/v4l-subdevN do for
 * the Raspberry Pi's CSI cameras, from the camera's sensor: configuration.
 *
 * open: the sub-device is found in the node's media graph (media.c: the named
 * entity, or the camera sensor upstream of the node), then on its source pad
 * the crop (VIDIOC_SUBDEV_S_SELECTION, V4L2_SEL_TGT_CROP: the part of the
 * pixel array read out) and after it the format (VIDIOC_SUBDEV_S_FMT: bus
 * code and size; a driver may bin or adjust), both read back; a difference is
 * a warning, a refusal an error naming the entity and what it offers; the
 * same format on the sink pads the sensor's enabled links feed (its CSI-2
 * receiver: the kernel checks every link of the pipeline at STREAMON, and a
 * sensor whose receiver still expects the old format gives EPIPE); then the
 * sub-device's controls by name (v4l2_controls.c). The fd stays open, so
 * controls can be set live. The capture node's format must then match the
 * pad's (the kernel checks at VIDIOC_STREAMON): v4l2.c asks for it.
 *
 * Reference: Documentation/userspace-api/media/v4l/dev-subdev.rst,
 * vidioc-subdev-g-fmt.rst, vidioc-subdev-g-selection.rst,
 * vidioc-subdev-enum-mbus-code.rst, subdev-formats.rst. */
#include "source/media.h"
#include "source/v4l2_internal.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/media-bus-format.h>
#include <linux/v4l2-subdev.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef MEDIA_BUS_FMT_Y16_1X16
#define MEDIA_BUS_FMT_Y16_1X16 0x202e /* linux 6.3 */
#endif

/* camrig's formats and the bus codes that carry them (the packed and the
 * unpacked capture formats share one: packing is the receiver's). */
static const struct {
	uint32_t fourcc;
	uint32_t code;
	const char *name;               /* media-ctl's name, without MEDIA_BUS_FMT_ */
} bus_codes[] = {
	{ CR_FMT_GREY, MEDIA_BUS_FMT_Y8_1X8, "Y8_1X8" },
	{ CR_FMT_Y10, MEDIA_BUS_FMT_Y10_1X10, "Y10_1X10" },
	{ CR_FMT_Y10P, MEDIA_BUS_FMT_Y10_1X10, "Y10_1X10" },
	{ CR_FMT_Y12, MEDIA_BUS_FMT_Y12_1X12, "Y12_1X12" },
	{ CR_FMT_Y16, MEDIA_BUS_FMT_Y16_1X16, "Y16_1X16" },
	{ CR_FMT_SBGGR8, MEDIA_BUS_FMT_SBGGR8_1X8, "SBGGR8_1X8" },
	{ CR_FMT_SGBRG8, MEDIA_BUS_FMT_SGBRG8_1X8, "SGBRG8_1X8" },
	{ CR_FMT_SGRBG8, MEDIA_BUS_FMT_SGRBG8_1X8, "SGRBG8_1X8" },
	{ CR_FMT_SRGGB8, MEDIA_BUS_FMT_SRGGB8_1X8, "SRGGB8_1X8" },
	{ CR_FMT_SBGGR10, MEDIA_BUS_FMT_SBGGR10_1X10, "SBGGR10_1X10" },
	{ CR_FMT_SGBRG10, MEDIA_BUS_FMT_SGBRG10_1X10, "SGBRG10_1X10" },
	{ CR_FMT_SGRBG10, MEDIA_BUS_FMT_SGRBG10_1X10, "SGRBG10_1X10" },
	{ CR_FMT_SRGGB10, MEDIA_BUS_FMT_SRGGB10_1X10, "SRGGB10_1X10" },
	{ CR_FMT_SBGGR10P, MEDIA_BUS_FMT_SBGGR10_1X10, "SBGGR10_1X10" },
	{ CR_FMT_SGBRG10P, MEDIA_BUS_FMT_SGBRG10_1X10, "SGBRG10_1X10" },
	{ CR_FMT_SGRBG10P, MEDIA_BUS_FMT_SGRBG10_1X10, "SGRBG10_1X10" },
	{ CR_FMT_SRGGB10P, MEDIA_BUS_FMT_SRGGB10_1X10, "SRGGB10_1X10" },
	{ CR_FMT_SBGGR12, MEDIA_BUS_FMT_SBGGR12_1X12, "SBGGR12_1X12" },
	{ CR_FMT_SGBRG12, MEDIA_BUS_FMT_SGBRG12_1X12, "SGBRG12_1X12" },
	{ CR_FMT_SGRBG12, MEDIA_BUS_FMT_SGRBG12_1X12, "SGRBG12_1X12" },
	{ CR_FMT_SRGGB12, MEDIA_BUS_FMT_SRGGB12_1X12, "SRGGB12_1X12" },
	{ CR_FMT_SBGGR16, MEDIA_BUS_FMT_SBGGR16_1X16, "SBGGR16_1X16" },
	{ CR_FMT_SGBRG16, MEDIA_BUS_FMT_SGBRG16_1X16, "SGBRG16_1X16" },
	{ CR_FMT_SGRBG16, MEDIA_BUS_FMT_SGRBG16_1X16, "SGRBG16_1X16" },
	{ CR_FMT_SRGGB16, MEDIA_BUS_FMT_SRGGB16_1X16, "SRGGB16_1X16" },
	{ CR_FMT_RGB24, MEDIA_BUS_FMT_RGB888_1X24, "RGB888_1X24" },
	{ CR_FMT_BGR24, MEDIA_BUS_FMT_BGR888_1X24, "BGR888_1X24" },
};

uint32_t cr_v4l2_bus_code(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(bus_codes) / sizeof(bus_codes[0]); i++)
		if (bus_codes[i].fourcc == fourcc)
			return bus_codes[i].code;
	return 0;
}

int cr_v4l2_bus_fourccs(uint32_t code, uint32_t *out, int max)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(bus_codes) / sizeof(bus_codes[0]) && n < max; i++)
		if (bus_codes[i].code == code)
			out[n++] = bus_codes[i].fourcc;
	return n;
}

static const char *code_name(uint32_t code, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(bus_codes) / sizeof(bus_codes[0]); i++)
		if (bus_codes[i].code == code)
			return bus_codes[i].name;
	snprintf(buf, len, "0x%04x", code);
	return buf;
}

/* The bus codes the pad offers, "SRGGB10_1X10, ..." into buf. */
static char *offered_codes(int fd, unsigned pad, char *buf, size_t len)
{
	size_t n = 0;
	char hex[16];

	buf[0] = '\0';
	for (uint32_t i = 0; i < 64 && n + 24 < len; i++) {
		struct v4l2_subdev_mbus_code_enum e = { .pad = pad, .index = i, .which = V4L2_SUBDEV_FORMAT_ACTIVE };

		if (cr_v4l2_ioctl(fd, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &e) < 0)
			break;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", code_name(e.code, hex, sizeof(hex)));
	}
	return n ? buf : strcpy(buf, "nothing listed");
}

static bool wanted(const struct cr_sensor_config *c)
{
	return c->entity || c->format || c->width || c->crop.width || c->ncontrols;
}

bool cr_v4l2_sensor_configured(const struct cr_sensor_config *c)
{
	return wanted(c);
}

void cr_v4l2_sensor_close(struct cr_v4l2_sensor *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Sets the pad's crop. Returns 0 or a negative error after logging. */
static int set_crop(struct cr_v4l2_sensor *s, const struct cr_crop_config *crop)
{
	struct v4l2_subdev_selection sel = { .which = V4L2_SUBDEV_FORMAT_ACTIVE, .pad = s->pad,
					     .target = V4L2_SEL_TGT_CROP_BOUNDS };
	struct v4l2_rect want = { crop->left, crop->top, (uint32_t)crop->width, (uint32_t)crop->height };
	int ret = cr_v4l2_ioctl(s->fd, VIDIOC_SUBDEV_G_SELECTION, &sel);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: sensor crop %ux%u+%d+%d: the sub-device has no crop on pad %u "
				  "(VIDIOC_SUBDEV_G_SELECTION: %s)", s->name, want.width, want.height, want.left, want.top,
				  s->pad, cr_strerror(ret));
	if (want.left < sel.r.left || want.top < sel.r.top ||
	    (int64_t)want.left + want.width > (int64_t)sel.r.left + sel.r.width ||
	    (int64_t)want.top + want.height > (int64_t)sel.r.top + sel.r.height)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: sensor crop %ux%u+%d+%d is outside the pixel array "
				  "%ux%u+%d+%d", s->name, want.width, want.height, want.left, want.top, sel.r.width,
				  sel.r.height, sel.r.left, sel.r.top);
	sel.target = V4L2_SEL_TGT_CROP;
	sel.r = want;
	ret = cr_v4l2_ioctl(s->fd, VIDIOC_SUBDEV_S_SELECTION, &sel);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: sensor crop %ux%u+%d+%d refused: %s", s->name, want.width,
				  want.height, want.left, want.top, cr_strerror(ret));
	if (memcmp(&sel.r, &want, sizeof(want)) != 0)
		cr_warn("%s: asked to crop the sensor to %ux%u+%d+%d, it chose %ux%u+%d+%d", s->name, want.width,
			want.height, want.left, want.top, sel.r.width, sel.r.height, sel.r.left, sel.r.top);
	return 0;
}

/* Sets the pad's bus code and size. */
static int set_format(struct cr_v4l2_sensor *s, const struct cr_sensor_config *c)
{
	struct v4l2_subdev_format f = { .which = V4L2_SUBDEV_FORMAT_ACTIVE, .pad = s->pad };
	uint32_t code = c->format ? cr_v4l2_bus_code(c->format) : 0;
	char offered[600], a[16], b[16], fs[5];
	int ret = cr_v4l2_ioctl(s->fd, VIDIOC_SUBDEV_G_FMT, &f);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot read the sensor's format on pad %u: %s", s->name, s->pad,
				  cr_strerror(ret));
	if (c->format && !code)
		return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: sensor.format %s has no media-bus code (expected a "
				  "raw format, GREY, RGB24 or BGR24)", s->name, cr_fourcc_str(c->format, fs));
	if (code || c->width) {
		if (code)
			f.format.code = code;
		if (c->width > 0) {
			f.format.width = (uint32_t)c->width;
			f.format.height = (uint32_t)c->height;
		}
		f.format.field = V4L2_FIELD_NONE;
		ret = cr_v4l2_ioctl(s->fd, VIDIOC_SUBDEV_S_FMT, &f);
		if (ret == -EBUSY)
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: busy: the sensor is streaming for another program", s->name);
		if (ret < 0)
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: the sensor refused format %s %ux%u on pad %u: %s", s->name,
					  code_name(code, a, sizeof(a)), f.format.width, f.format.height, s->pad,
					  cr_strerror(ret));
		if (code && f.format.code != code)
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: asked the sensor for %s, it chose %s (it offers: %s)",
					  s->name, code_name(code, a, sizeof(a)), code_name(f.format.code, b, sizeof(b)),
					  offered_codes(s->fd, s->pad, offered, sizeof(offered)));
		if (c->width > 0 && ((int)f.format.width != c->width || (int)f.format.height != c->height))
			cr_warn("%s: asked the sensor for %dx%d, it chose %ux%u", s->name, c->width, c->height,
				f.format.width, f.format.height);
	}
	s->code = f.format.code;
	s->width = (int)f.format.width;
	s->height = (int)f.format.height;
	return 0;
}

/* Sets the sensor's format on the sink pads it feeds. A refusal is a
 * warning: streaming will say whether the pipeline holds together. */
static void propagate(struct cr_v4l2_sensor *s, const struct cr_media_subdev *sd)
{
	struct cr_media_subdev next[8];
	int n = cr_media_downstream(sd, next, 8);

	for (int i = 0; i < n; i++) {
		struct v4l2_subdev_format f = { .which = V4L2_SUBDEV_FORMAT_ACTIVE, .pad = next[i].pad };
		int fd = open(next[i].path, O_RDWR | O_CLOEXEC), ret = fd < 0 ? -errno : 0;
		char code[16];

		if (ret == 0)
			ret = cr_v4l2_ioctl(fd, VIDIOC_SUBDEV_G_FMT, &f);
		if (ret == 0 && (f.format.code != s->code || (int)f.format.width != s->width ||
				 (int)f.format.height != s->height)) {
			f.format.code = s->code;
			f.format.width = (uint32_t)s->width;
			f.format.height = (uint32_t)s->height;
			ret = cr_v4l2_ioctl(fd, VIDIOC_SUBDEV_S_FMT, &f);
			if (ret == 0)
				cr_info("%s: set \"%s\" pad %u to %s %dx%d as well (it takes the sensor's output)", s->name,
					next[i].entity, next[i].pad, code_name(s->code, code, sizeof(code)), s->width,
					s->height);
		}
		if (ret < 0)
			cr_warn("%s: cannot set \"%s\" (%s) pad %u to the sensor's format: %s; streaming may fail", s->name,
				next[i].entity, next[i].path, next[i].pad, cr_strerror(ret));
		if (fd >= 0)
			close(fd);
	}
}

/* Does the sub-device have the control name? */
bool cr_v4l2_sensor_has_control(const struct cr_v4l2_sensor *s, const char *name)
{
	return s->fd >= 0 && cr_v4l2_control_exists(s->fd, name);
}

int cr_v4l2_sensor_open(const char *video_path, const struct cr_sensor_config *c, struct cr_v4l2_sensor *s)
{
	struct cr_media_subdev sd;
	struct v4l2_subdev_selection sel;
	char why[600], code[16];
	int ret;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (!wanted(c))
		return 0;
	ret = cr_media_find_subdev(video_path, c->entity && strcmp(c->entity, "auto") != 0 ? c->entity : NULL, &sd,
				   why, sizeof(why));
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: sensor: %s", video_path, why);
	snprintf(s->path, sizeof(s->path), "%s", sd.path);
	snprintf(s->entity, sizeof(s->entity), "%s", sd.entity);
	snprintf(s->name, sizeof(s->name), "%s (%s)", sd.entity, sd.path);
	s->pad = sd.pad;
	s->fd = open(sd.path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0) {
		ret = -errno;
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot open the sensor's sub-device: %s%s", s->name,
				  cr_strerror(ret), ret == -EACCES ? " (is the user in the \"video\" group?)" : "");
	}
	if ((c->crop.width > 0 && (ret = set_crop(s, &c->crop)) < 0) || (ret = set_format(s, c)) < 0)
		goto fail;
	propagate(s, &sd);
	sel = (struct v4l2_subdev_selection){ .which = V4L2_SUBDEV_FORMAT_ACTIVE, .pad = s->pad,
					      .target = V4L2_SEL_TGT_CROP };
	s->has_crop = cr_v4l2_ioctl(s->fd, VIDIOC_SUBDEV_G_SELECTION, &sel) == 0;
	s->crop = sel.r;
	for (unsigned i = 0; i < c->ncontrols; i++) {
		ret = cr_v4l2_control_set(s->fd, s->name, c->controls[i].name, c->controls[i].value, 0, NULL, 0);
		if (ret < 0)
			goto fail;
	}
	if (s->has_crop)
		snprintf(s->desc, sizeof(s->desc), "%s pad %u: %s %dx%d, crop %ux%u+%d+%d", s->name, s->pad,
			 code_name(s->code, code, sizeof(code)), s->width, s->height, s->crop.width, s->crop.height,
			 s->crop.left, s->crop.top);
	else
		snprintf(s->desc, sizeof(s->desc), "%s pad %u: %s %dx%d", s->name, s->pad,
			 code_name(s->code, code, sizeof(code)), s->width, s->height);
	cr_info("%s: sensor %s", video_path, s->desc);
	return 0;

fail:
	cr_v4l2_sensor_close(s);
	return ret;
}
