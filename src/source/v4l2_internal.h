/* Helpers shared by the V4L2 source files (v4l2.c: capture, v4l2_controls.c:
 * controls by name, v4l2_list.c: device discovery and `camrig list`). Not for
 * use outside src/source/v4l2*.c. The V4L2 API they speak is the kernel's
 * Documentation/userspace-api/media/v4l/ (linux/videodev2.h). */
#ifndef CR_SOURCE_V4L2_INTERNAL_H
#define CR_SOURCE_V4L2_INTERNAL_H

#include "config/config.h"

#include <linux/videodev2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The most formats a device may list that camrig looks at. */
#define CR_V4L2_MAX_FORMATS 64

/* ioctl() retried on EINTR. Returns >= 0, or -errno. */
int cr_v4l2_ioctl(int fd, unsigned long request, void *arg);

/* The capabilities that apply to this device node: device_caps when the
 * driver reports them (V4L2_CAP_DEVICE_CAPS), else capabilities. */
uint32_t cr_v4l2_node_caps(const struct v4l2_capability *cap);

/* Lists the capture formats (VIDIOC_ENUM_FMT, single-planar capture) into
 * out[max]. Returns how many were written (>= 0), or -errno. */
int cr_v4l2_formats(int fd, struct v4l2_fmtdesc *out, int max);

/* Writes "YUYV, GREY, ..." (the FourCCs of fmts) into buf. Returns buf. */
char *cr_v4l2_format_names(const struct v4l2_fmtdesc *fmts, int n, char *buf, size_t len);

/* True when the device offers width x height (pixels) in fourcc, by
 * VIDIOC_ENUM_FRAMESIZES (discrete, or inside a stepwise/continuous range).
 * Also true when the driver does not enumerate sizes at all. */
int cr_v4l2_offers_size(int fd, uint32_t fourcc, int width, int height);

/* Normalizes a V4L2 control name the way v4l2-ctl prints it: lowercase,
 * every run of non-alphanumeric characters becomes one '_', none leading or
 * trailing ("Exposure Time, Absolute" -> "exposure_time_absolute"). */
void cr_v4l2_control_key(const char *name, char *out, size_t len);

/* Sets the control named name (v4l2-ctl's spelling, matched after
 * normalizing both) to value (integer, boolean true/false/1/0/yes/no/on/off,
 * or a menu item's name or index) with VIDIOC_S_EXT_CTRLS. line is the
 * configuration line for messages (0: none). Logs what failed naming the
 * control, the device and the valid names, values or range, and writes the
 * same line into why (len bytes; NULL: not wanted). Returns 0, -ENOENT for an
 * unknown name, -EINVAL for a bad value, -EACCES for a read-only control, or
 * the driver's -errno. */
int cr_v4l2_control_set(int fd, const char *device, const char *name, const char *value, int line, char *why,
			size_t len);

/* Applies settings[0..n) in order (cr_v4l2_control_set each). Returns 0 or
 * the first error. */
int cr_v4l2_controls_apply(int fd, const char *device, const struct cr_control_setting *settings,
			   unsigned n);

struct cr_source_control;

/* Describes the device's controls that camrig can set (not strings, arrays
 * or compound controls), with their current values, into out[max]
 * (VIDIOC_QUERY_EXT_CTRL, VIDIOC_QUERYMENU, VIDIOC_G_EXT_CTRLS). Returns
 * how many there are (only max written), or -errno. */
int cr_v4l2_controls_list(int fd, struct cr_source_control *out, int max);

/* Prints every control of the device with type, range, default, current
 * value and menu items, each line starting with indent. */
void cr_v4l2_controls_print(int fd, FILE *out, const char *indent);

/* True when the device (node or sub-device) has a control named name
 * (v4l2-ctl's spelling, normalized as cr_v4l2_control_key()). */
bool cr_v4l2_control_exists(int fd, const char *name);

/* The device's control names, "a, b, c" (bounded, "..." when cut), into buf. */
char *cr_v4l2_control_names(int fd, char *buf, size_t len);

/* The camera sensor sub-device of a capture node (v4l2_sensor.c), set up
 * from the camera's sensor: configuration. */
struct cr_v4l2_sensor {
	int fd;                       /* the open sub-device; -1: none configured */
	char path[64];                /* "/dev/v4l-subdev0" */
	char entity[64];              /* its media entity: "imx296 10-001a" */
	char name[140];               /* for messages: "imx296 10-001a (/dev/v4l-subdev0)" */
	unsigned pad;                 /* the source pad set */
	uint32_t code;                /* its media-bus code now (MEDIA_BUS_FMT_*) */
	int width, height;            /* its size now, pixels */
	bool has_crop;                /* the pad has a crop rectangle: crop */
	struct v4l2_rect crop;        /* sensor pixels */
	char desc[240];               /* for /status: "imx296 ... pad 0: SRGGB10_1X10 900x600, crop ..." */
};

/* True when c asks for anything (an entity, format, size, crop, controls). */
bool cr_v4l2_sensor_configured(const struct cr_sensor_config *c);

/* Finds the sensor of the capture node video_path in its media graph and
 * applies c: crop, then format (bus code, size), then controls; *s keeps the
 * sub-device open. With nothing configured returns 0 and s->fd = -1.
 * Returns 0, or a negative error after logging what failed, naming the
 * entity and what it offers. */
int cr_v4l2_sensor_open(const char *video_path, const struct cr_sensor_config *c, struct cr_v4l2_sensor *s);

/* Closes the sub-device; safe on a closed one. */
void cr_v4l2_sensor_close(struct cr_v4l2_sensor *s);

/* True when the sensor's sub-device has the control name. */
bool cr_v4l2_sensor_has_control(const struct cr_v4l2_sensor *s, const char *name);

/* The media-bus code that carries camrig format fourcc (0: none), and the
 * camrig formats a code can arrive as at a capture node (unpacked first). */
uint32_t cr_v4l2_bus_code(uint32_t fourcc);
int cr_v4l2_bus_fourccs(uint32_t code, uint32_t *out, int max);

#endif
