/* V4L2 device discovery: the first capture device for source "auto", and
 * `camrig list`, which prints what v4l2-ctl --list-formats-ext and -L would
 * for every capture device, marking the formats camrig can use. Plus the
 * small ioctl helpers the other v4l2*.c files share.
 *
 * Reference: Documentation/userspace-api/media/v4l/vidioc-querycap.rst,
 * vidioc-enum-fmt.rst, vidioc-enum-framesizes.rst, vidioc-enum-frameintervals.rst. */
#include "source/source.h"
#include "source/v4l2_internal.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The most /dev/video* nodes looked at. */
#define MAX_NODES 256

int cr_v4l2_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

uint32_t cr_v4l2_node_caps(const struct v4l2_capability *cap)
{
	return (cap->capabilities & V4L2_CAP_DEVICE_CAPS) ? cap->device_caps : cap->capabilities;
}

int cr_v4l2_formats(int fd, struct v4l2_fmtdesc *out, int max)
{
	int n = 0;

	for (; n < max; n++) {
		int ret;

		memset(&out[n], 0, sizeof(out[n]));
		out[n].index = (uint32_t)n;
		out[n].type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		ret = cr_v4l2_ioctl(fd, VIDIOC_ENUM_FMT, &out[n]);
		if (ret == -EINVAL)
			break;
		if (ret < 0)
			return ret;
	}
	return n;
}

char *cr_v4l2_format_names(const struct v4l2_fmtdesc *fmts, int n, char *buf, size_t len)
{
	size_t used = 0;
	char s[5];

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (used + 12 >= len) {
			snprintf(buf + used, len - used, ", ...");
			break;
		}
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 cr_fourcc_str(fmts[i].pixelformat, s));
	}
	return buf;
}

int cr_v4l2_offers_size(int fd, uint32_t fourcc, int width, int height)
{
	struct v4l2_frmsizeenum fs;

	for (uint32_t i = 0;; i++) {
		memset(&fs, 0, sizeof(fs));
		fs.index = i;
		fs.pixel_format = fourcc;
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0)
			return i == 0; /* nothing enumerated: assume S_FMT will cope */
		if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			if ((int)fs.discrete.width == width && (int)fs.discrete.height == height)
				return 1;
			continue;
		}
		const struct v4l2_frmsize_stepwise *sw = &fs.stepwise;

		return width >= (int)sw->min_width && width <= (int)sw->max_width && height >= (int)sw->min_height &&
		       height <= (int)sw->max_height && sw->step_width && sw->step_height &&
		       (width - (int)sw->min_width) % (int)sw->step_width == 0 &&
		       (height - (int)sw->min_height) % (int)sw->step_height == 0;
	}
}

static int node_number(const char *name)
{
	return atoi(name + strlen("video"));
}

static int compare_nodes(const void *a, const void *b)
{
	return node_number(*(const char *const *)a) - node_number(*(const char *const *)b);
}

/* Fills paths with "/dev/videoN" for every node, sorted by N. Returns how
 * many (>= 0); the caller frees each path. */
static int video_nodes(char **paths, int max)
{
	DIR *dir = opendir("/dev");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)) && n < max) {
		const char *p = e->d_name + strlen("video");

		if (strncmp(e->d_name, "video", 5) != 0 || !*p || strspn(p, "0123456789") != strlen(p))
			continue;
		paths[n++] = cr_strdup(e->d_name);
	}
	closedir(dir);
	qsort(paths, (size_t)n, sizeof(*paths), compare_nodes);
	return n;
}

/* Opens a node and reads its capabilities. Returns the fd, or -errno. */
static int open_node(const char *path, struct v4l2_capability *cap)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	memset(cap, 0, sizeof(*cap));
	ret = cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, cap);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

int cr_v4l2_find_capture_device(char *path, size_t len)
{
	return cr_v4l2_find_capture_device_for_auto(path, len, 0);
}

int cr_v4l2_find_capture_device_for_auto(char *path, size_t len, int skip_libcamera)
{
	char *nodes[MAX_NODES];
	int n = video_nodes(nodes, MAX_NODES), found = -ENODEV;

	for (int i = 0; i < n; i++) {
		struct v4l2_fmtdesc fmts[CR_V4L2_MAX_FORMATS];
		struct v4l2_capability cap;
		char dev[300];
		int fd, nf;

		snprintf(dev, sizeof(dev), "/dev/%s", nodes[i]);
		if (found == 0 || (fd = open_node(dev, &cap)) < 0)
			continue;
		if ((cr_v4l2_node_caps(&cap) & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING)) ==
		    (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING)) {
			nf = cr_v4l2_formats(fd, fmts, CR_V4L2_MAX_FORMATS);
			for (int f = 0; f < nf && found; f++) {
				if (cr_fourcc_is_supported(fmts[f].pixelformat) && !(skip_libcamera && cr_libcamera_owns(dev))) {
					snprintf(path, len, "%s", dev);
					found = 0;
				}
			}
		}
		close(fd);
	}
	for (int i = 0; i < n; i++)
		free(nodes[i]);
	if (found == 0)
		cr_debug("v4l2: first capture device: %s", path);
	return found;
}

static void print_fps(FILE *out, const struct v4l2_fract *interval)
{
	if (interval->numerator == 0)
		fprintf(out, "?");
	else
		fprintf(out, "%g", (double)interval->denominator / interval->numerator);
}

/* Prints the frame rates offered at one size, as " @ 5, 10, 25 fps". */
static void print_intervals(int fd, FILE *out, uint32_t fourcc, uint32_t width, uint32_t height)
{
	struct v4l2_frmivalenum fi;

	for (uint32_t i = 0; i < 256; i++) {
		memset(&fi, 0, sizeof(fi));
		fi.index = i;
		fi.pixel_format = fourcc;
		fi.width = width;
		fi.height = height;
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0)
			break;
		fprintf(out, "%s", i == 0 ? " @ " : ", ");
		if (fi.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			print_fps(out, &fi.discrete);
			continue;
		}
		/* Stepwise or continuous: the longest interval is the lowest rate. */
		print_fps(out, &fi.stepwise.max);
		fprintf(out, "-");
		print_fps(out, &fi.stepwise.min);
		break;
	}
	fprintf(out, " fps\n");
}

static void print_sizes(int fd, FILE *out, uint32_t fourcc)
{
	struct v4l2_frmsizeenum fs;

	for (uint32_t i = 0; i < 1024; i++) {
		memset(&fs, 0, sizeof(fs));
		fs.index = i;
		fs.pixel_format = fourcc;
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) {
			if (i == 0)
				fprintf(out, "      (sizes not enumerated by the driver)\n");
			return;
		}
		if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			fprintf(out, "      %ux%u", fs.discrete.width, fs.discrete.height);
			print_intervals(fd, out, fourcc, fs.discrete.width, fs.discrete.height);
			continue;
		}
		fprintf(out, "      %ux%u to %ux%u, step %ux%u", fs.stepwise.min_width, fs.stepwise.min_height,
			fs.stepwise.max_width, fs.stepwise.max_height, fs.stepwise.step_width, fs.stepwise.step_height);
		print_intervals(fd, out, fourcc, fs.stepwise.max_width, fs.stepwise.max_height);
		return;
	}
}

/* Prints one capture device; returns 1 if it is one, 0 if not. */
static int list_device(const char *path, FILE *out)
{
	struct v4l2_fmtdesc fmts[CR_V4L2_MAX_FORMATS];
	struct v4l2_capability cap;
	uint32_t caps;
	char s[5];
	int fd, n;

	fd = open_node(path, &cap);
	if (fd < 0) {
		if (fd != -ENOTTY && fd != -ENODEV)
			fprintf(out, "%s: cannot open: %s\n\n", path, cr_strerror(fd));
		return 0;
	}
	caps = cr_v4l2_node_caps(&cap);
	if (!(caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))) {
		close(fd);
		return 0;
	}
	fprintf(out, "%s: %s (driver %s, bus %s)\n", path, (const char *)cap.card, (const char *)cap.driver,
		(const char *)cap.bus_info);
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
		fprintf(out, "  multi-planar capture only: not supported by camrig\n\n");
		close(fd);
		return 1;
	}
	if (!(caps & V4L2_CAP_STREAMING))
		fprintf(out, "  no streaming I/O: not supported by camrig\n");
	n = cr_v4l2_formats(fd, fmts, CR_V4L2_MAX_FORMATS);
	if (n < 0)
		fprintf(out, "  formats: cannot list: %s\n", cr_strerror(n));
	for (int i = 0; i < n; i++) {
		uint32_t f = fmts[i].pixelformat;

		fprintf(out, "  %s  %s", cr_fourcc_str(f, s), (const char *)fmts[i].description);
		if (!cr_fourcc_is_supported(f)) {
			fprintf(out, "  [not supported by camrig]\n");
			continue; /* sizes only for the formats camrig can use */
		}
		fprintf(out, "  [camrig: %s]\n", cr_fourcc_name(f));
		print_sizes(fd, out, f);
	}
	cr_v4l2_controls_print(fd, out, "  ");
	fputc('\n', out);
	close(fd);
	return 1;
}

int cr_v4l2_list(FILE *out)
{
	char *nodes[MAX_NODES];
	int n = video_nodes(nodes, MAX_NODES), count = 0;

	for (int i = 0; i < n; i++) {
		char path[300];

		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		count += list_device(path, out);
		free(nodes[i]);
	}
	return count;
}

/* ---- the same, as JSON (`camrig list --json`) ------------------------------------ */

static double fps_of(const struct v4l2_fract *interval)
{
	return interval->numerator ? (double)interval->denominator / interval->numerator : 0;
}

/* The frame rates at one size: [5, 10, 25], or {"min": 1, "max": 30} for a range. */
static json_t *intervals_json(int fd, uint32_t fourcc, uint32_t width, uint32_t height)
{
	json_t *rates = json_array();

	for (uint32_t i = 0; i < 256; i++) {
		struct v4l2_frmivalenum fi = { .index = i, .pixel_format = fourcc, .width = width, .height = height };

		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0)
			break;
		if (fi.type != V4L2_FRMIVAL_TYPE_DISCRETE) {
			json_decref(rates);
			return json_pack("{s:f, s:f}", "min", fps_of(&fi.stepwise.max), "max", fps_of(&fi.stepwise.min));
		}
		json_array_append_new(rates, json_real(fps_of(&fi.discrete)));
	}
	return rates;
}

/* The sizes of one format: [{width, height, fps}] or, for a range, one
 * {min_width, min_height, max_width, max_height, step_width, step_height, fps}. */
static json_t *sizes_json(int fd, uint32_t fourcc)
{
	json_t *sizes = json_array();

	for (uint32_t i = 0; i < 1024; i++) {
		struct v4l2_frmsizeenum fs = { .index = i, .pixel_format = fourcc };

		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0)
			break;
		if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			json_array_append_new(sizes, json_pack("{s:i, s:i, s:o}", "width", (int)fs.discrete.width, "height",
							       (int)fs.discrete.height, "fps",
							       intervals_json(fd, fourcc, fs.discrete.width,
									      fs.discrete.height)));
			continue;
		}
		json_array_append_new(sizes, json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:o}", "min_width",
			(int)fs.stepwise.min_width, "min_height", (int)fs.stepwise.min_height, "max_width",
			(int)fs.stepwise.max_width, "max_height", (int)fs.stepwise.max_height, "step_width",
			(int)fs.stepwise.step_width, "step_height", (int)fs.stepwise.step_height, "fps",
			intervals_json(fd, fourcc, fs.stepwise.max_width, fs.stepwise.max_height)));
		break;
	}
	return sizes;
}

json_t *cr_v4l2_list_json(void)
{
	char *nodes[MAX_NODES];
	int n = video_nodes(nodes, MAX_NODES);
	json_t *devices = json_array();

	for (int i = 0; i < n; i++) {
		struct v4l2_fmtdesc fmts[CR_V4L2_MAX_FORMATS];
		struct v4l2_capability cap;
		char path[300], s[5];
		json_t *formats;
		uint32_t caps;
		int fd, nf;

		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		free(nodes[i]);
		fd = open_node(path, &cap);
		if (fd < 0) {
			if (fd != -ENOTTY && fd != -ENODEV)
				json_array_append_new(devices, json_pack("{s:s, s:o}", "path", path, "error",
									 cr_json_str(cr_strerror(fd))));
			continue;
		}
		caps = cr_v4l2_node_caps(&cap);
		if (!(caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))) {
			close(fd);
			continue;
		}
		formats = json_array();
		nf = cr_v4l2_formats(fd, fmts, CR_V4L2_MAX_FORMATS);
		for (int k = 0; k < nf; k++) {
			uint32_t f = fmts[k].pixelformat;
			bool ok = cr_fourcc_is_supported(f);

			json_array_append_new(formats, json_pack("{s:s, s:o, s:o, s:o}", "fourcc", cr_fourcc_str(f, s),
				"description", cr_json_str((const char *)fmts[k].description), "camrig",
				ok ? json_string(cr_fourcc_name(f)) : json_null(), "sizes", ok ? sizes_json(fd, f) : json_array()));
		}
		json_array_append_new(devices, json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o}", "path", path, "spec",
			cr_json_sprintf("v4l2:%s", path), "card", cr_json_str((const char *)cap.card), "driver",
			cr_json_str((const char *)cap.driver), "bus", cr_json_str((const char *)cap.bus_info), "usable",
			(caps & V4L2_CAP_VIDEO_CAPTURE) && (caps & V4L2_CAP_STREAMING), "formats", formats));
		close(fd);
	}
	return devices;
}
