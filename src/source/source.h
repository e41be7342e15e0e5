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

#include <jansson.h>
#include <stdbool.h>
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
	bool device_clock;      /* frames carry the camera's own timestamp (cr_frame.device_ns) */
};

/* A network or USB camera's stream statistics (Aravis: arv_stream_get_statistics()
 * and the GigE Vision stream's packet counters; V4L2 and file/url: zero-copy),
 * since the source was opened. */
struct cr_source_stream_stats {
	uint64_t completed;          /* frames received whole */
	uint64_t failed;             /* frames the stream gave up on (missing packets, timeouts) */
	uint64_t underruns;          /* frames lost for want of a free buffer */
	uint64_t incomplete;         /* frames read() skipped because they were not whole */
	uint64_t missing_frames;     /* GigE Vision frames of which no packet arrived */
	uint64_t missing_packets;    /* GigE Vision packets that never arrived */
	uint64_t resent_packets;     /* packets recovered by a resend request */
	uint64_t resend_requests;    /* resend requests sent */
	uint64_t borrowed;           /* V4L2: frames handed on in the driver's own buffer (zero-copy);
					file/url: in libav's own picture or packet */
	uint64_t copied;             /* V4L2: frames copied (consumers held the other buffers, or compressed);
					file/url: converted (another format or size asked for) or copied */
	int driver_min_queued;       /* V4L2: the fewest buffers the driver had after a dequeue; -1: none yet
					(0 would mean it could have run dry) */
};

/* The kinds of control a source may have (V4L2's, by the names of
 * v4l2-ctl --list-ctrls). */
enum cr_control_type {
	CR_CONTROL_INT,          /* an integer in min..max, in steps of step */
	CR_CONTROL_INT64,        /* the same, 64 bits wide */
	CR_CONTROL_BOOL,         /* 0 or 1 */
	CR_CONTROL_MENU,         /* one of items[], by index */
	CR_CONTROL_INT_MENU,     /* one of items[], by index; each item names a number */
	CR_CONTROL_BUTTON,       /* an action: any value sets it off */
	CR_CONTROL_BITMASK,      /* bits within the mask max */
	CR_CONTROL_FLOAT,        /* a real number in real.min..real.max (libcamera's AnalogueGain) */
	CR_CONTROL_COMPOUND,     /* anything else, as text: a rectangle, a size, an array, a string
				    (libcamera's ScalerCrop "x,y,width,height"); see values */
};

#define CR_SOURCE_MAX_CONTROLS 64  /* controls one source lists at most */
#define CR_SOURCE_MENU_MAX 32      /* menu items listed per control at most */

/* One control as a source describes it (list_controls). */
struct cr_source_control {
	char name[64];           /* the name set_control takes: "exposure_time_absolute" */
	char label[64];          /* the driver's own: "Exposure Time, Absolute" */
	enum cr_control_type type;
	int64_t min, max, step;  /* the range (menus: of indexes; a bitmask: max is the mask) */
	int64_t def;             /* the default (menus: an index) */
	int64_t value;           /* the current value (menus: an index); valid when has_value */
	bool has_value;          /* false: write-only, a button, or the driver would not say */
	bool read_only;          /* it cannot be set */
	bool inactive;           /* setting it has no effect now (an automatic mode is on) */
	struct {
		double min, max, def, value;  /* CR_CONTROL_FLOAT's range, default and value (when has_value) */
	} real;
	char values[160];        /* CR_CONTROL_COMPOUND: what it takes, in words ("x,y,width,height within
				    (0, 0)/1456x1088"); "" for the other types */
	char text[96];           /* CR_CONTROL_COMPOUND: the current value as set_control takes it (when
				    has_value) */
	char device[160];        /* where it is, when not on the source's own device: the sensor
				    sub-device ("imx296 10-001a (/dev/v4l-subdev0)"); "" */
	unsigned nitems;         /* menus: items[] used */
	struct {
		int64_t index;
		char name[32];   /* the item's name; an integer menu's number as text */
	} items[CR_SOURCE_MENU_MAX];
};

/* "int", "int64", "bool", "menu", "intmenu", "button", "bitmask", "float", "compound". */
const char *cr_control_type_name(enum cr_control_type type);

/* Normalizes a control or menu item name the way v4l2-ctl prints controls:
 * lowercase, every run of other characters than letters and digits becomes
 * one '_', none leading or trailing ("Exposure Time, Absolute" ->
 * "exposure_time_absolute"). out is len bytes. */
void cr_source_control_key(const char *name, char *out, size_t len);

/* Parses text as a value of the control c: an integer (decimal or 0x hex)
 * in its range, true/false (also yes/no, on/off, 1/0) for a boolean, a menu
 * item by name (case and punctuation ignored) or index. Into *value (menus:
 * the index). Returns 0, or -EINVAL with what is expected in why (len
 * bytes). For sources that keep their controls themselves (the test
 * pattern); V4L2's are parsed against the driver (v4l2_controls.c). */
int cr_source_control_parse(const struct cr_source_control *c, const char *text, int64_t *value, char *why,
			    size_t len);

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

	/* Optional (NULL: none): fills stats with the stream's counters. Called
	 * by the camera thread between reads; never blocks. */
	void (*stream_stats)(struct cr_source *src, struct cr_source_stream_stats *stats);
	/* Optional, with set_control: describes the source's controls, each
	 * with its current value, into out[max]. Returns how many there are
	 * (only the first max are written), or -ENODEV when the device is not
	 * open (why: the reason). Runs beside read(), like set_control. */
	int (*list_controls)(struct cr_source *src, struct cr_source_control *out, int max, char *why, size_t len);

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

/* The same as JSON, for programs (`camrig list --json`): [{path, spec
 * ("v4l2:/dev/video0"), card, driver, bus, usable (camrig can stream it),
 * formats: [{fourcc, description, camrig (its name in camrig, null: not
 * usable), sizes: [{width, height, fps: [rates] or {min, max}}] or one
 * range {min_width, ..., step_height, fps}}]}], and {path, error} for a node
 * that cannot be opened. The caller owns the array. */
json_t *cr_v4l2_list_json(void);

/* libcamera helpers used by "auto" and `camrig list` (libcamera.c, which
 * loads the module camrig-libcamera.so built from libcamera.cpp; without it
 * they find nothing). Each starts libcamera's camera manager for the call (a
 * few hundred ms) unless a source holds it. */

/* True when camrig was built with libcamera. */
int cr_libcamera_available(void);

/* The "libcamera" source's ops from the module (loading it), or NULL when
 * there is none: cr_libcamera_why_not() then says why. */
const struct cr_source_ops *cr_libcamera_source_ops(void);

/* NULL when the libcamera module is loaded (loading it), else why not (built
 * without libcamera; the module missing or not loading, with its path). */
const char *cr_libcamera_why_not(void);

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

/* The same as JSON (`camrig list --json`): [{index, id, spec
 * ("libcamera:0"), model, external (a USB webcam: auto uses V4L2 for it),
 * pixel_array: {width, height} or null, streams: {video, raw: {default:
 * {format, width, height}, formats: [{format, camrig (its name in camrig,
 * null: not usable), min: {width, height}, max: {...}, sizes: [{width,
 * height}]}]} or null}, controls: [{name, type, values}]}], or [{error}]
 * when the camera manager does not start. The caller owns the array. */
json_t *cr_libcamera_list_json(void);

/* The version of the libcamera camrig runs with ("v0.0.3"), NULL without. */
const char *cr_libcamera_version(void);

/* Aravis (GenICam) helpers used by `camrig list` and `camrig doctor`
 * (aravis.c, which loads the module camrig-aravis.so built from
 * aravis_module.c; without it they find nothing). */

/* One GenICam camera Aravis found. */
struct cr_aravis_camera {
	char id[128];           /* what aravis:ID takes: "Basler-21234567", "Aravis-Fake-GV01" */
	char vendor[64], model[64], serial[64];
	char interface[32];     /* "GigEVision", "USB3Vision" */
	char address[64];       /* IP address, or the USB device */
	char formats[256];      /* the pixel formats it offers that camrig reads, GenICam names: "Mono8, Mono16" */
	char error[160];        /* why it could not be opened to read its formats; "" */
};

/* True when camrig was built with Aravis. */
int cr_aravis_available(void);

/* The "aravis" source's ops from the module (loading it), or NULL when there
 * is none: cr_aravis_why_not() then says why. */
const struct cr_source_ops *cr_aravis_source_ops(void);

/* NULL when the Aravis module is loaded (loading it), else why not. */
const char *cr_aravis_why_not(void);

/* The version of the libaravis camrig runs with ("0.8.26"), NULL without. */
const char *cr_aravis_version(void);

/* Discovers GenICam cameras (GigE Vision broadcast on every interface, USB3
 * Vision; about a second) and opens each to read its pixel formats. Fills
 * up to max; returns how many there are. */
int cr_aravis_cameras(struct cr_aravis_camera *out, int max);

#ifdef __cplusplus
}
#endif

#endif
