/* The source interface: where frames come from.
 *
 * A source is opened by the camera thread, which then calls read() in a loop.
 * read() blocks until the next frame is ready, copies it into the frame the
 * camera passes in (from its pool) and gives the driver's buffer back at once.
 * Each implementation lives in its own file: testsrc.c, v4l2.c, libav.c,
 * libcamera.cpp (which may instead wrap its buffers, cr_frame_wrap()).
 *
 * Lifetime: cr_source_new() (parse the spec) -> open() (device, format
 * negotiation, streaming on; src->format is valid after it) -> read()... ->
 * close() -> open() again after a loss, or cr_source_free(). */
#ifndef CR_SOURCE_SOURCE_H
#define CR_SOURCE_SOURCE_H

#include "config/config.h"
#include "config/sources.h"
#include "base/frame.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_source_format {
	uint32_t fourcc;        /* pixel format of the frames read() delivers */
	int width, height;      /* pixels */
	int stride;             /* bytes per row of the first plane; 0: packed */
	double fps;             /* nominal frame rate; 0 if unknown */
	size_t frame_bytes;     /* the largest frame read() can deliver, in bytes */
	char device[128];       /* what was opened: "/dev/video0", a file path, "test" */
	char driver[64];        /* "vivid", "uvcvideo", "libavformat mov", "camrig test pattern" */
	char sensor[240];       /* the sensor sub-device as set: "imx296 10-001a (/dev/v4l-subdev0) pad 0:
				   SBGGR10_1X10 900x600, crop 900x600+0+0"; "" when none was configured */
};

struct cr_source;

/* What a kind of source does (its name and spec are in config/sources.h). */
struct cr_source_ops {

	/* Opens the device and negotiates the format from src->config (size,
	 * fps, format, controls, crop); fills src->format. Returns 0 or a negative
	 * error after logging what failed and with which input. */
	int (*open)(struct cr_source *src);

	/* Waits for the next frame and copies it into frame (format set with
	 * cr_frame_set_format(), pixels, sequence, mono_ns). frame may be NULL
	 * when the pool is exhausted: the frame is then taken from the driver
	 * and discarded. Returns 0 when a frame was delivered (or discarded),
	 * -EAGAIN when src->wake_fd became readable (the camera is stopping),
	 * CR_EEOF at the end of a file that does not loop, CR_ELOST when the
	 * device went away, another negative error otherwise. */
	int (*read)(struct cr_source *src, struct cr_frame *frame);

	/* Stops streaming and closes the device. Safe after a failed open. */
	void (*close)(struct cr_source *src);

	/* Optional (NULL: the source has no controls): sets a control by name
	 * while streaming. Returns 0, -ENOENT for an unknown name (why then
	 * lists the names there are), -EINVAL for a bad value (why: what was
	 * expected); why is len bytes for that one line. */
	int (*set_control)(struct cr_source *src, const char *name, const char *value, char *why, size_t len);

	void (*free_priv)(struct cr_source *src);
};

struct cr_source {
	const struct cr_source_ops *ops;
	const struct cr_camera_config *config;  /* not owned; outlives the source */
	char *location;          /* the spec after "scheme:": a device path, file path or URL */
	struct cr_source_format format;          /* valid after open() */
	int wake_fd;             /* eventfd owned by the camera; readable: read() returns -EAGAIN */
	void *priv;
};

/* Creates the source config->source names ("auto", "test", "libcamera[:INDEX|:ID]",
 * "v4l2:/dev/videoN", "file:PATH", "url:URL"). "auto" picks a libcamera
 * camera of the board (not a USB webcam), else the first V4L2 capture device
 * that no such libcamera camera owns, else the test pattern. wake_fd is the
 * camera's eventfd. Returns 0, or -EINVAL with a logged message for an
 * unknown scheme, -ENOTSUP for libcamera in a build without it. */
int cr_source_new(const struct cr_camera_config *config, int wake_fd, struct cr_source **out);

/* Frees the source; the caller closes it first if it was opened. NULL-safe;
 * sets *src to NULL. */
void cr_source_free(struct cr_source **src);

/* Waits until wake_fd is readable or the absolute CLOCK_MONOTONIC deadline
 * (ns) passes. Returns -EAGAIN if woken, 0 at the deadline. For sources that
 * pace themselves (test pattern, files). */
int cr_source_sleep_until(struct cr_source *src, int64_t deadline_ns);

extern const struct cr_source_ops cr_source_test_ops;
extern const struct cr_source_ops cr_source_v4l2_ops;
extern const struct cr_source_ops cr_source_file_ops;
extern const struct cr_source_ops cr_source_url_ops;
/* Only in a build with libcamera (CAMRIG_HAVE_LIBCAMERA). */
extern const struct cr_source_ops cr_source_libcamera_ops;

/* V4L2 helpers used by "auto" and `camrig list` (v4l2.c). */

/* Writes the path of the first V4L2 video capture device into path. Returns
 * 0, or -ENODEV if there is none. With skip_libcamera, devices that a
 * libcamera camera owns (cr_libcamera_owns()) are passed over. */
int cr_v4l2_find_capture_device(char *path, size_t len);
int cr_v4l2_find_capture_device_for_auto(char *path, size_t len, int skip_libcamera);

/* Prints every V4L2 capture device with its formats, sizes and frame rates
 * (the same information as v4l2-ctl --list-formats-ext) to out. Returns the
 * number of devices found. */
int cr_v4l2_list(FILE *out);

/* libcamera helpers used by "auto" and `camrig list` (libcamera.cpp; in a
 * build without libcamera they find nothing). Each starts libcamera's camera
 * manager for the call (a few hundred ms) unless a source holds it. */

/* True when camrig was built with libcamera. */
int cr_libcamera_available(void);

/* Writes the id (as `cam -l` prints it) of the first libcamera camera that is
 * not a USB webcam into id. Returns 0, -ENODEV if there is none, -ENOTSUP
 * without libcamera, or the camera manager's error. */
int cr_libcamera_find_camera(char *id, size_t len);

/* 1 when the V4L2 node at path is part of a libcamera camera of the board
 * (libcamera's SystemDevices; with libcamera 0.0.x, any node of a media
 * graph with a sensor while libcamera has such a camera), else 0. */
int cr_libcamera_owns(const char *path);

/* Prints every libcamera camera with its id, video and raw streams (formats,
 * sizes) and controls (type, range, default) to out. Returns how many. */
int cr_libcamera_list(FILE *out);

#ifdef __cplusplus
}
#endif

#endif
