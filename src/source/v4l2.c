/* V4L2 capture source ("v4l2:/dev/videoN", and "auto" once source.c has
 * picked a device): format negotiation, frame rate, crop, controls by name,
 * and mmap streaming.
 *
 * open() first sets up the camera's sensor sub-device when the configuration
 * has a sensor: block (v4l2_sensor.c: crop, bus format and size on its pad,
 * controls), and then asks the node for the matching pixel format and size
 * unless the configuration says otherwise. It negotiates in the order the
 * V4L2 spec lets drivers adjust things: pixel format and size (VIDIOC_S_FMT), crop (VIDIOC_S_SELECTION, which may
 * change the format, so the format is read back after it), frame rate
 * (VIDIOC_S_PARM), controls (VIDIOC_S_EXT_CTRLS, in the configuration's
 * order), then buffers (VIDIOC_REQBUFS, mmap) and VIDIOC_STREAMON. Whatever the
 * driver chose is what src->format reports; a difference from what was asked
 * is logged as a warning, an impossible request is an error naming the
 * device and what it offers.
 *
 * read() waits in poll() on the device and the camera's wake eventfd and
 * takes one buffer (VIDIOC_DQBUF). Zero-copy: a raw frame is handed on in
 * the driver's buffer itself (cr_frame_wrap()), and the frame's last unref,
 * on whichever consumer's thread, queues the buffer again. So that capture
 * never waits on a consumer, at least half the buffers always stay with the
 * driver: when consumers hold the rest (and for compressed frames, which are
 * small), read() copies the frame into the pool's memory and queues the
 * buffer again at once (both counted: /status stream.borrowed, .copied). The
 * buffers and the fd belong to a session that frames keep alive: close()
 * waits a moment for borrowed frames to come back, and otherwise leaves the
 * unmapping and the closing of the fd to the last of them. The driver's
 * sequence number and timestamp (CLOCK_MONOTONIC when the buffer says so)
 * travel with the frame. Buffers the driver marks as errors, empty buffers,
 * short raw frames and MJPEG buffers that do not start a JPEG are counted and
 * skipped: read() goes on to the next buffer and never delivers them.
 *
 * Controls, from the configuration and live, go to the node, or to the sensor
 * sub-device when the node has no control of that name (on a media-controller
 * camera the sensor's controls are only on its sub-device).
 *
 * Threads: open/read/close run on the camera thread. set_control may run on
 * any thread while the source is open (the kernel serializes ioctls on one
 * fd; the control code keeps no state), but not concurrently with open/close.
 *
 * Reference: Documentation/userspace-api/media/v4l/ (dev-capture.rst,
 * mmap.rst, vidioc-g-fmt.rst, vidioc-g-parm.rst, vidioc-g-selection.rst,
 * vidioc-qbuf.rst, buffer.rst). */
#include "source/source.h"
#include "source/v4l2_internal.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_BUFFERS 4
#define MAX_BUFFERS 32 /* VIDEO_MAX_FRAME */

/* A frame smaller than this cannot be a JPEG image: a broken MJPEG buffer
 * (ustreamer uses the same bound), in bytes. */
#define MIN_JPEG_BYTES 128

/* read() reports the device as lost (CR_ELOST, so the camera reopens it)
 * after no frame for this long (ns), or ten frame intervals when that is
 * longer: a stalled camera (a known USB failure) is restarted rather than
 * waited on for ever. */
#define STALL_TIMEOUT_NS (5 * CR_NS_PER_SEC)

struct v4l2_mapping {
	void *start;
	size_t length;                  /* bytes */
};

#define CLOSE_WAIT_NS (1 * CR_NS_PER_SEC) /* close() waits this long for borrowed buffers */

struct v4l2_session;

/* A buffer a frame borrows: the frame's release gives it back. */
struct v4l2_slot {
	struct v4l2_session *session;
	unsigned index;
};

/* One streaming session's buffers and fd, shared with the frames that
 * borrow a buffer (see the design comment). */
struct v4l2_session {
	atomic_int refs;                /* the source's while open, and one per borrowed frame */
	int fd;                         /* closed with the last reference, when the source gave it up */
	bool owns_fd;                   /* close() handed the fd and the mappings over */
	char device[128];
	pthread_mutex_t lock;           /* guards queued and streaming */
	pthread_cond_t returned;        /* a borrowed buffer came back */
	unsigned queued;                /* buffers with the driver */
	bool streaming;                 /* a returned buffer is queued again only while streaming */
	unsigned nbuffers;
	struct v4l2_mapping map[MAX_BUFFERS];
	struct v4l2_slot slots[MAX_BUFFERS];
};

struct v4l2_priv {
	int fd;                         /* -1 when closed */
	char device[128];
	struct v4l2_mapping map[MAX_BUFFERS];
	unsigned nbuffers;              /* allocated with VIDIOC_REQBUFS (and mapped, if map[i].start) */
	bool streaming;
	struct cr_v4l2_sensor sensor;   /* the sensor sub-device, fd -1 when none is configured */
	size_t raw_bytes;               /* bytes of a raw frame by its layout; 0 for compressed */
	int timeout_ms;                 /* poll() limit before a stall is reported */
	struct v4l2_session *session;   /* while streaming */

	/* counters since open(), logged by close() */
	uint64_t delivered;             /* frames given to read()'s caller (or discarded for NULL) */
	uint64_t skipped;               /* buffers with errors, empty, short or not JPEG */
	uint64_t driver_drops;          /* gaps in the driver's sequence numbers */
	uint64_t clock_fallbacks;       /* buffers without a monotonic timestamp */
	atomic_uint_fast64_t borrowed;  /* frames handed on in the driver's buffer */
	atomic_uint_fast64_t copied;    /* frames copied: consumers held the other buffers, or compressed */
	atomic_int min_queued;          /* the fewest buffers left with the driver after a dequeue; -1: none yet */
	uint32_t last_sequence;
	bool have_sequence;
};

static bool same_format(uint32_t a, uint32_t b)
{
	bool ajpeg = a == CR_FMT_MJPEG || a == CR_FMT_JPEG, bjpeg = b == CR_FMT_MJPEG || b == CR_FMT_JPEG;

	return a == b || (ajpeg && bjpeg);
}

static char *supported_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; cr_fourcc_supported[i] && used + 8 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 cr_fourcc_name(cr_fourcc_supported[i]));
	return buf;
}

/* The names of the formats in fmts that camrig supports, "none" if none. */
static char *usable_names(const struct v4l2_fmtdesc *fmts, int n, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "none");
	for (int i = 0; i < n && used + 8 < len; i++)
		if (cr_fourcc_is_supported(fmts[i].pixelformat))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 cr_fourcc_name(fmts[i].pixelformat));
	return buf;
}

/* The configuration with the capture format and size the sensor's pad now
 * gives, where cfg leaves them open, in *matched (a shallow copy). */
static const struct cr_camera_config *sensor_matched(struct v4l2_priv *p, const struct cr_camera_config *cfg,
						     struct cr_camera_config *matched)
{
	struct v4l2_fmtdesc fmts[CR_V4L2_MAX_FORMATS];
	uint32_t candidates[4];
	int n = cr_v4l2_formats(p->fd, fmts, CR_V4L2_MAX_FORMATS);
	int nc = cr_v4l2_bus_fourccs(p->sensor.code, candidates, 4);

	*matched = *cfg;
	if (!cfg->format) {
		for (int k = 0; k < nc && !matched->format; k++)
			for (int i = 0; i < n; i++)
				if (fmts[i].pixelformat == candidates[k])
					matched->format = candidates[k];
		if (!matched->format && nc > 0)
			cr_warn("%s: the node offers no pixel format for the sensor's %s output (it offers formats "
				"the link between them may not carry)", p->device, p->sensor.desc);
	}
	if (!cfg->width && p->sensor.width > 0) {
		matched->width = p->sensor.width;
		matched->height = p->sensor.height;
	}
	return matched;
}

/* Sets a control on the node, or on the sensor's sub-device when only it
 * has one of that name. Logs and writes why (len bytes; NULL: not wanted)
 * as cr_v4l2_control_set() does; an unknown name lists both sets of names. */
static int set_control(struct v4l2_priv *p, const char *name, const char *value, int line, char *why, size_t len)
{
	char node_names[600], sensor_names[600], where[64] = "", text[1400];

	if (p->sensor.fd < 0 || cr_v4l2_control_exists(p->fd, name))
		return cr_v4l2_control_set(p->fd, p->device, name, value, line, why, len);
	if (cr_v4l2_sensor_has_control(&p->sensor, name))
		return cr_v4l2_control_set(p->sensor.fd, p->sensor.name, name, value, line, why, len);
	if (line > 0)
		snprintf(where, sizeof(where), " (config line %d)", line);
	snprintf(text, sizeof(text), "%s: control%s \"%s\": no such control (the device has: %s; its sensor %s has: %s)",
		 p->device, where, name, cr_v4l2_control_names(p->fd, node_names, sizeof(node_names)), p->sensor.name,
		 cr_v4l2_control_names(p->sensor.fd, sensor_names, sizeof(sensor_names)));
	cr_err("%s", text);
	if (why)
		snprintf(why, len, "%s", text);
	return -ENOENT;
}

/* Picks the pixel format: the configured one if the device offers it, else
 * the first camrig prefers that the device offers (at the configured size,
 * when one is set and some format has it). Returns 0 with *fourcc (the
 * device's spelling), or CR_EFORMAT after logging. */
static int choose_format(struct v4l2_priv *p, const struct cr_camera_config *cfg, uint32_t *fourcc)
{
	struct v4l2_fmtdesc fmts[CR_V4L2_MAX_FORMATS];
	char offered[400], supported[128], usable[128], s[5];
	int n = cr_v4l2_formats(p->fd, fmts, CR_V4L2_MAX_FORMATS);

	if (n < 0)
		return cr_log_ret(n, CR_LOG_ERROR, "%s: cannot list formats: %s", p->device, cr_strerror(n));
	cr_v4l2_format_names(fmts, n, offered, sizeof(offered));
	if (cfg->format) {
		if (!cr_fourcc_is_supported(cfg->format))
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: camrig cannot use format %s (it supports %s)",
					  p->device, cr_fourcc_str(cfg->format, s), supported_names(supported, sizeof(supported)));
		for (int i = 0; i < n; i++) {
			if (same_format(fmts[i].pixelformat, cfg->format)) {
				*fourcc = fmts[i].pixelformat;
				return 0;
			}
		}
		return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR,
				  "%s: format %s is not offered (of camrig's formats it offers: %s; all it offers: %s)",
				  p->device, cr_fourcc_str(cfg->format, s), usable_names(fmts, n, usable, sizeof(usable)),
				  n ? offered : "nothing");
	}
	for (int pass = 0; pass < 2; pass++) {
		bool check_size = pass == 0 && cfg->width > 0 && cfg->height > 0;

		for (int k = 0; cr_fourcc_supported[k]; k++) {
			for (int i = 0; i < n; i++) {
				uint32_t f = fmts[i].pixelformat;

				if (!same_format(f, cr_fourcc_supported[k]))
					continue;
				if (check_size && !cr_v4l2_offers_size(p->fd, f, cfg->width, cfg->height))
					continue;
				*fourcc = f;
				return 0;
			}
		}
	}
	return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR,
			  "%s: offers no format camrig can use (it offers: %s; camrig supports %s)", p->device,
			  n ? offered : "nothing", supported_names(supported, sizeof(supported)));
}

/* VIDIOC_S_FMT with the chosen format and the configured size (or the
 * driver's current one). Returns 0 or a negative error after logging. */
static int set_format(struct v4l2_priv *p, const struct cr_camera_config *cfg, uint32_t fourcc)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	char s[5], t[5];
	int ret;

	ret = cr_v4l2_ioctl(p->fd, VIDIOC_G_FMT, &fmt);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot read the format: %s", p->device, cr_strerror(ret));
	fmt.fmt.pix.pixelformat = fourcc;
	if (cfg->width > 0 && cfg->height > 0) {
		fmt.fmt.pix.width = (uint32_t)cfg->width;
		fmt.fmt.pix.height = (uint32_t)cfg->height;
	}
	fmt.fmt.pix.field = V4L2_FIELD_ANY;
	fmt.fmt.pix.bytesperline = 0;
	fmt.fmt.pix.sizeimage = 0;
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_S_FMT, &fmt);
	if (ret == -EBUSY)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: busy: another program is capturing from it", p->device);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot set format %s %ux%u: %s", p->device,
				  cr_fourcc_str(fourcc, s), fmt.fmt.pix.width, fmt.fmt.pix.height, cr_strerror(ret));
	if (fmt.fmt.pix.pixelformat != fourcc)
		return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: asked for format %s, the driver chose %s", p->device,
				  cr_fourcc_str(fourcc, s), cr_fourcc_str(fmt.fmt.pix.pixelformat, t));
	if (cfg->width > 0 && cfg->height > 0 &&
	    ((int)fmt.fmt.pix.width != cfg->width || (int)fmt.fmt.pix.height != cfg->height))
		cr_warn("%s: asked for %dx%d, the driver chose %ux%u", p->device, cfg->width, cfg->height,
			fmt.fmt.pix.width, fmt.fmt.pix.height);
	if (fmt.fmt.pix.field != V4L2_FIELD_NONE && fmt.fmt.pix.field != V4L2_FIELD_ANY)
		cr_warn("%s: the driver delivers interlaced frames (field order %u); they are used as they are",
			p->device, fmt.fmt.pix.field);
	return 0;
}

/* VIDIOC_S_SELECTION (V4L2_SEL_TGT_CROP) to the configured rectangle
 * (pixels, in the sensor's/input's coordinates). Returns 0 or a negative
 * error after logging. */
static int set_crop(struct v4l2_priv *p, const struct cr_crop_config *crop)
{
	struct v4l2_selection sel = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .target = V4L2_SEL_TGT_CROP_BOUNDS };
	struct v4l2_rect want = { crop->left, crop->top, (uint32_t)crop->width, (uint32_t)crop->height };
	int ret;

	ret = cr_v4l2_ioctl(p->fd, VIDIOC_G_SELECTION, &sel);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot crop to %ux%u+%d+%d: the device (or its current input) "
				  "does not support cropping (%s)", p->device, want.width, want.height, want.left,
				  want.top, cr_strerror(ret));
	if (want.left < sel.r.left || want.top < sel.r.top ||
	    (int64_t)want.left + want.width > (int64_t)sel.r.left + sel.r.width ||
	    (int64_t)want.top + want.height > (int64_t)sel.r.top + sel.r.height)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: crop %ux%u+%d+%d is outside the bounds %ux%u+%d+%d",
				  p->device, want.width, want.height, want.left, want.top, sel.r.width, sel.r.height,
				  sel.r.left, sel.r.top);
	sel.target = V4L2_SEL_TGT_CROP;
	sel.r = want;
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_S_SELECTION, &sel);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot crop to %ux%u+%d+%d: %s", p->device, want.width,
				  want.height, want.left, want.top, cr_strerror(ret));
	if (memcmp(&sel.r, &want, sizeof(want)) != 0)
		cr_warn("%s: asked to crop to %ux%u+%d+%d, the driver chose %ux%u+%d+%d", p->device, want.width,
			want.height, want.left, want.top, sel.r.width, sel.r.height, sel.r.left, sel.r.top);
	else
		cr_info("%s: cropped to %ux%u+%d+%d", p->device, sel.r.width, sel.r.height, sel.r.left, sel.r.top);
	return 0;
}

/* VIDIOC_S_PARM with the configured rate (or VIDIOC_G_PARM for the
 * driver's). Sets *fps to what the driver runs at (0: unknown). A driver
 * that cannot set the rate is a warning, not an error. */
static void set_rate(struct v4l2_priv *p, double want, double *fps)
{
	struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_fract *tpf = &parm.parm.capture.timeperframe;
	int ret;

	*fps = 0;
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_G_PARM, &parm);
	if (ret < 0) {
		if (want > 0)
			cr_warn("%s: the driver cannot set the frame rate (%s); %g fps ignored", p->device,
				cr_strerror(ret), want);
		return;
	}
	if (want > 0 && !(parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
		cr_warn("%s: the driver cannot set the frame rate; %g fps ignored", p->device, want);
	} else if (want > 0) {
		if (want == floor(want)) {
			tpf->numerator = 1;
			tpf->denominator = (uint32_t)want;
		} else {
			tpf->numerator = 1000;
			tpf->denominator = (uint32_t)lround(want * 1000);
		}
		ret = cr_v4l2_ioctl(p->fd, VIDIOC_S_PARM, &parm);
		if (ret < 0)
			cr_warn("%s: cannot set %g fps: %s", p->device, want, cr_strerror(ret));
	}
	if (tpf->numerator && tpf->denominator)
		*fps = (double)tpf->denominator / tpf->numerator;
	if (want > 0 && *fps > 0 && fabs(*fps - want) > 0.01 * want)
		cr_warn("%s: asked for %g fps, the driver runs at %g fps", p->device, want, *fps);
}

/* ---- the session (zero-copy) ---------------------------------------------- */

static struct v4l2_session *session_new(struct v4l2_priv *p)
{
	struct v4l2_session *s = CR_NEW(s);

	atomic_store(&s->refs, 1);
	s->fd = p->fd;
	snprintf(s->device, sizeof(s->device), "%s", p->device);
	pthread_mutex_init(&s->lock, NULL);
	cr_time_cond_init(&s->returned);
	s->queued = p->nbuffers;
	s->streaming = true;
	s->nbuffers = p->nbuffers;
	for (unsigned i = 0; i < p->nbuffers; i++) {
		s->map[i] = p->map[i];
		s->slots[i] = (struct v4l2_slot){ s, i };
	}
	return s;
}

/* The last reference is gone: frees the buffers and closes the fd when
 * close() handed them over. */
static void session_free(struct v4l2_session *s)
{
	if (s->owns_fd) {
		struct v4l2_requestbuffers req = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						   .memory = V4L2_MEMORY_MMAP };

		for (unsigned i = 0; i < s->nbuffers; i++)
			munmap(s->map[i].start, s->map[i].length);
		cr_v4l2_ioctl(s->fd, VIDIOC_REQBUFS, &req);
		close(s->fd);
		cr_debug("%s: the last borrowed buffer came back: closed", s->device);
	}
	pthread_cond_destroy(&s->returned);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void session_unref(struct v4l2_session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) == 1)
		session_free(s);
}

/* A borrowed frame's last unref (any thread): its buffer goes back to the
 * driver while the session streams. */
static void release_buffer(void *opaque)
{
	struct v4l2_slot *slot = opaque;
	struct v4l2_session *s = slot->session;
	struct v4l2_buffer buf = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP,
				   .index = slot->index };
	bool last;

	pthread_mutex_lock(&s->lock);
	if (s->streaming && cr_v4l2_ioctl(s->fd, VIDIOC_QBUF, &buf) == 0)
		s->queued++;
	/* Under the lock, so that close() waiting for it sees it gone. */
	last = atomic_fetch_sub(&s->refs, 1) == 1;
	pthread_cond_broadcast(&s->returned);
	pthread_mutex_unlock(&s->lock);
	if (last)
		session_free(s); /* close() gave it up already: nobody else has it */
}

/* Queues buffer buf again (the camera thread). Returns 0 or a negative errno. */
static int requeue(struct v4l2_priv *p, struct v4l2_buffer *buf)
{
	int ret;

	pthread_mutex_lock(&p->session->lock);
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_QBUF, buf);
	if (ret == 0)
		p->session->queued++;
	pthread_mutex_unlock(&p->session->lock);
	return ret;
}

/* Stops the session: after VIDIOC_STREAMOFF no buffer is with the driver.
 * Returns whether every borrowed frame came back within CLOSE_WAIT_NS (the
 * source then frees the buffers and closes the fd itself); if not, the
 * session takes them over and the last frame frees them. */
static bool session_stop(struct v4l2_priv *p)
{
	struct v4l2_session *s = p->session;
	struct timespec deadline = cr_time_ts(cr_time_mono_ns() + CLOSE_WAIT_NS);
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	bool back;

	pthread_mutex_lock(&s->lock);
	if (s->streaming && cr_v4l2_ioctl(p->fd, VIDIOC_STREAMOFF, &type) < 0)
		cr_debug("%s: VIDIOC_STREAMOFF failed", p->device);
	s->streaming = false;
	s->queued = 0;
	while (atomic_load(&s->refs) > 1 &&
	       pthread_cond_timedwait(&s->returned, &s->lock, &deadline) != ETIMEDOUT)
		;
	back = atomic_load(&s->refs) == 1;
	if (!back) {
		s->owns_fd = true;
		cr_warn("%s: consumers still hold %d of its buffers: they are freed, and the device closed, when "
			"they let go", p->device, atomic_load(&s->refs) - 1);
	}
	pthread_mutex_unlock(&s->lock);
	p->session = NULL;
	session_unref(s);
	return back;
}

/* Allocates, maps and queues the buffers, and starts streaming. Returns 0
 * or a negative error after logging. */
static int start_streaming(struct v4l2_priv *p, unsigned want)
{
	struct v4l2_requestbuffers req = { 0 };
	int ret;

	req.count = want ? want : DEFAULT_BUFFERS;
	if (req.count > MAX_BUFFERS)
		req.count = MAX_BUFFERS;
	req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	req.memory = V4L2_MEMORY_MMAP;
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_REQBUFS, &req);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot allocate %u mmap buffers: %s", p->device, req.count,
				  cr_strerror(ret));
	p->nbuffers = req.count < MAX_BUFFERS ? req.count : MAX_BUFFERS;
	if (p->nbuffers == 0)
		return cr_log_ret(-ENOMEM, CR_LOG_ERROR, "%s: the driver allocated no buffers", p->device);
	if (want && p->nbuffers != want)
		cr_info("%s: asked for %u buffers, the driver allocated %u", p->device, want, p->nbuffers);

	for (unsigned i = 0; i < p->nbuffers; i++) {
		struct v4l2_buffer buf = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = i };
		void *start;

		ret = cr_v4l2_ioctl(p->fd, VIDIOC_QUERYBUF, &buf);
		if (ret < 0)
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot query buffer %u: %s", p->device, i,
					  cr_strerror(ret));
		start = mmap(NULL, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, buf.m.offset);
		if (start == MAP_FAILED) {
			ret = -errno;
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot map buffer %u (%u bytes): %s", p->device, i,
					  buf.length, cr_strerror(ret));
		}
		p->map[i].start = start;
		p->map[i].length = buf.length;
		ret = cr_v4l2_ioctl(p->fd, VIDIOC_QBUF, &buf);
		if (ret < 0)
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot queue buffer %u: %s", p->device, i,
					  cr_strerror(ret));
	}
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_STREAMON, &req.type);
	if (ret == -EPIPE)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot start streaming: the formats along the media pipeline do "
				  "not match (VIDIOC_STREAMON: %s): the capture node, its sensor and the entities between "
				  "must agree; set the sensor's with sensor: format and size, and see media-ctl -p",
				  p->device, cr_strerror(ret));
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot start streaming: %s", p->device, cr_strerror(ret));
	p->streaming = true;
	p->session = session_new(p);
	atomic_store(&p->min_queued, -1);
	return 0;
}

static void v4l2_close(struct cr_source *src)
{
	struct v4l2_priv *p = src->priv;
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	if (!p || p->fd < 0)
		return;
	if (p->session && !session_stop(p)) {
		/* The session has the buffers and the fd now. */
		p->streaming = false;
		p->nbuffers = 0;
		p->fd = -1;
		goto closed;
	}
	if (p->streaming && cr_v4l2_ioctl(p->fd, VIDIOC_STREAMOFF, &type) < 0)
		cr_debug("%s: VIDIOC_STREAMOFF failed", p->device);
	p->streaming = false;
	for (unsigned i = 0; i < p->nbuffers; i++) {
		if (p->map[i].start)
			munmap(p->map[i].start, p->map[i].length);
		p->map[i].start = NULL;
	}
	if (p->nbuffers) {
		struct v4l2_requestbuffers req = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						   .memory = V4L2_MEMORY_MMAP };

		if (cr_v4l2_ioctl(p->fd, VIDIOC_REQBUFS, &req) < 0)
			cr_debug("%s: freeing the buffers failed", p->device);
	}
	p->nbuffers = 0;
	close(p->fd);
	p->fd = -1;
closed:
	cr_v4l2_sensor_close(&p->sensor);
	if (p->delivered || p->skipped)
		cr_info("%s: closed after %" PRIu64 " frames (%" PRIu64 " handed on in the driver's buffers, %" PRIu64
			" copied; %" PRIu64 " bad buffers skipped, %" PRIu64 " frames dropped by the driver, %" PRIu64
			" without a driver timestamp)", p->device, p->delivered, (uint64_t)atomic_load(&p->borrowed),
			(uint64_t)atomic_load(&p->copied), p->skipped, p->driver_drops, p->clock_fallbacks);
}

static int v4l2_open(struct cr_source *src)
{
	const struct cr_camera_config *cfg = src->config;
	struct cr_source_format *out = &src->format;
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_capability cap = { 0 };
	struct v4l2_priv *p = src->priv;
	struct cr_plane_layout layout;
	struct cr_camera_config matched;
	const char *path = src->location;
	char found[64], s[5];
	uint32_t fourcc = 0, caps;
	double fps = 0;
	int ret;

	if (!p) {
		p = CR_NEW(p);
		p->fd = -1;
		p->sensor.fd = -1;
		src->priv = p;
	}
	v4l2_close(src);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->sensor.fd = -1;
	if (!path || !*path || strcmp(path, "auto") == 0) {
		ret = cr_v4l2_find_capture_device(found, sizeof(found));
		if (ret < 0)
			return cr_log_ret(ret, CR_LOG_ERROR, "v4l2: no V4L2 capture device found (see `camrig list`)");
		path = found;
	}
	snprintf(p->device, sizeof(p->device), "%s", path);

	p->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (p->fd < 0) {
		ret = -errno;
		if (ret == -EACCES)
			cr_err("%s: permission denied (is the user in the \"video\" group?)", path);
		else if (ret == -ENOENT)
			cr_err("%s: no such device (`camrig list` shows the capture devices)", path);
		else
			cr_err("%s: cannot open: %s", path, cr_strerror(ret));
		return ret;
	}
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_QUERYCAP, &cap);
	if (ret < 0) {
		cr_err("%s: not a V4L2 device (VIDIOC_QUERYCAP: %s)", path, cr_strerror(ret));
		goto fail;
	}
	caps = cr_v4l2_node_caps(&cap);
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
		ret = -ENODEV;
		if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE)
			cr_err("%s (%s): multi-planar capture devices are not supported yet", path, (char *)cap.card);
		else
			cr_err("%s (%s): not a video capture device (`camrig list` shows the capture devices)", path,
			       (char *)cap.card);
		goto fail;
	}
	if (!(caps & V4L2_CAP_STREAMING)) {
		ret = -ENOTSUP;
		cr_err("%s (%s): the driver has no streaming I/O (only read(), which camrig does not use)", path,
		       (char *)cap.card);
		goto fail;
	}

	if ((ret = cr_v4l2_sensor_open(path, &cfg->sensor, &p->sensor)) < 0)
		goto fail;
	if (p->sensor.fd >= 0)
		cfg = sensor_matched(p, cfg, &matched);
	if ((ret = choose_format(p, cfg, &fourcc)) < 0 || (ret = set_format(p, cfg, fourcc)) < 0)
		goto fail;
	if (cfg->crop.width > 0 && cfg->crop.height > 0 && (ret = set_crop(p, &cfg->crop)) < 0)
		goto fail;
	ret = cr_v4l2_ioctl(p->fd, VIDIOC_G_FMT, &fmt); /* crop may have changed it */
	if (ret < 0) {
		cr_err("%s: cannot read the format back: %s", path, cr_strerror(ret));
		goto fail;
	}
	set_rate(p, cfg->fps, &fps);
	for (unsigned i = 0; i < cfg->ncontrols; i++) {
		const struct cr_control_setting *c = &cfg->controls[i];

		if ((ret = set_control(p, c->name, c->value, c->line, NULL, 0)) < 0)
			goto fail;
	}

	memset(out, 0, sizeof(*out));
	/* Frames from a driver that names its JPEG format JPEG go on as MJPEG:
	 * the same bytes, one name for everything downstream. */
	out->fourcc = fmt.fmt.pix.pixelformat == CR_FMT_JPEG ? CR_FMT_MJPEG : fmt.fmt.pix.pixelformat;
	out->width = (int)fmt.fmt.pix.width;
	out->height = (int)fmt.fmt.pix.height;
	out->fps = fps;
	out->frame_bytes = fmt.fmt.pix.sizeimage;
	if (!cr_fourcc_is_compressed(out->fourcc)) {
		ret = cr_fourcc_layout(out->fourcc, out->width, out->height, (int)fmt.fmt.pix.bytesperline, &layout);
		if (ret < 0) {
			cr_err("%s: cannot lay out %dx%d %s frames", path, out->width, out->height,
			       cr_fourcc_str(out->fourcc, s));
			goto fail;
		}
		out->stride = layout.stride[0];
		p->raw_bytes = layout.size;
		if (out->frame_bytes < layout.size)
			out->frame_bytes = layout.size;
	} else if (out->frame_bytes == 0) {
		out->frame_bytes = (size_t)out->width * (size_t)out->height * 2;
	}
	snprintf(out->device, sizeof(out->device), "%s", path);
	snprintf(out->driver, sizeof(out->driver), "%s", (char *)cap.driver);
	snprintf(out->sensor, sizeof(out->sensor), "%s", p->sensor.fd >= 0 ? p->sensor.desc : "");

	if ((ret = start_streaming(p, cfg->buffers)) < 0)
		goto fail;
	for (unsigned i = 0; i < p->nbuffers; i++) /* a JPEG may fill its whole buffer */
		if (cr_fourcc_is_compressed(out->fourcc) && p->map[i].length > out->frame_bytes)
			out->frame_bytes = p->map[i].length;
	p->timeout_ms = (int)(STALL_TIMEOUT_NS / CR_NS_PER_MS);
	if (fps > 0 && 10000.0 / fps > p->timeout_ms)
		p->timeout_ms = (int)(10000.0 / fps);
	cr_info("%s: %s (%s, %s): %dx%d %s, %d bytes per line, %g fps, %u buffers", path, (char *)cap.card,
		(char *)cap.driver, (char *)cap.bus_info, out->width, out->height, cr_fourcc_str(out->fourcc, s),
		out->stride, out->fps, p->nbuffers);
	return 0;

fail:
	v4l2_close(src);
	return ret;
}

/* Checks a dequeued buffer. Returns true if it holds a usable frame. */
static bool buffer_usable(struct v4l2_priv *p, const struct cr_source_format *f, const struct v4l2_buffer *buf)
{
	const uint8_t *data = p->map[buf->index].start;

	if (buf->flags & V4L2_BUF_FLAG_ERROR)
		return false;
	if (buf->bytesused == 0 || buf->bytesused > p->map[buf->index].length)
		return false;
	if (cr_fourcc_is_compressed(f->fourcc))
		return buf->bytesused >= MIN_JPEG_BYTES && data[0] == 0xff && data[1] == 0xd8;
	return buf->bytesused >= p->raw_bytes;
}

/* The driver's sequence number and capture time of buf into frame. */
static void set_metadata(struct v4l2_priv *p, const struct v4l2_buffer *buf, struct cr_frame *frame)
{
	frame->sequence = buf->sequence;
	if ((buf->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
	    (buf->timestamp.tv_sec || buf->timestamp.tv_usec)) {
		frame->mono_ns = (int64_t)buf->timestamp.tv_sec * CR_NS_PER_SEC + (int64_t)buf->timestamp.tv_usec * 1000;
	} else {
		frame->mono_ns = cr_time_mono_ns();
		p->clock_fallbacks++;
	}
	frame->utc_us = cr_time_mono_to_utc_us(frame->mono_ns);
}

/* Hands a usable raw buffer on as frame itself, when at least half the
 * buffers stay with the driver (queued: how many do now). Returns true when
 * the frame borrows it (the buffer is then not queued again here). */
static bool borrow(struct cr_source *src, const struct v4l2_buffer *buf, unsigned queued, struct cr_frame *frame)
{
	struct v4l2_priv *p = src->priv;
	const struct cr_source_format *f = &src->format;
	struct v4l2_session *s = p->session;

	if (cr_fourcc_is_compressed(f->fourcc) || queued < (p->nbuffers + 1) / 2)
		return false;
	atomic_fetch_add(&s->refs, 1);
	cr_frame_wrap(frame, s->map[buf->index].start, s->map[buf->index].length, release_buffer,
		      &s->slots[buf->index]);
	if (cr_frame_set_format(frame, f->fourcc, f->width, f->height, f->stride) < 0) {
		/* Cannot be: buffer_usable() checked the size. Give it back. */
		cr_frame_wrap(frame, frame->own, frame->own_capacity, NULL, NULL);
		atomic_fetch_sub(&s->refs, 1);
		return false;
	}
	set_metadata(p, buf, frame);
	atomic_fetch_add(&p->borrowed, 1);
	return true;
}

/* Copies a usable buffer into frame with the driver's metadata. */
static int deliver(struct cr_source *src, const struct v4l2_buffer *buf, struct cr_frame *frame)
{
	struct v4l2_priv *p = src->priv;
	const struct cr_source_format *f = &src->format;
	int ret;

	ret = cr_frame_set_format(frame, f->fourcc, f->width, f->height, f->stride);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: a %dx%d frame does not fit the frame pool: %s", p->device,
				  f->width, f->height, cr_strerror(ret));
	if (cr_fourcc_is_compressed(f->fourcc)) {
		if (buf->bytesused > frame->capacity)
			return cr_log_ret(-ENOSPC, CR_LOG_ERROR, "%s: a %u-byte JPEG does not fit the frame pool (%zu)",
					  p->device, buf->bytesused, frame->capacity);
		frame->size = buf->bytesused;
	}
	memcpy(frame->data, p->map[buf->index].start, frame->size);
	set_metadata(p, buf, frame);
	atomic_fetch_add(&p->copied, 1);
	return 0;
}

static int v4l2_read(struct cr_source *src, struct cr_frame *frame)
{
	struct v4l2_priv *p = src->priv;

	if (!p || p->fd < 0 || !p->streaming)
		return -EBADF;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = p->fd, .events = POLLIN }, { .fd = src->wake_fd, .events = POLLIN } };
		struct v4l2_buffer buf = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };
		unsigned queued = 0;
		int ret, qret;

		ret = poll(pfd, src->wake_fd >= 0 ? 2 : 1, p->timeout_ms);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (src->wake_fd >= 0 && (pfd[1].revents & POLLIN))
			return -EAGAIN;
		if (ret == 0)
			return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: no frame for %d ms: the device stalled",
					  p->device, p->timeout_ms);
		if (!(pfd[0].revents & POLLIN)) {
			if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
				return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: the device stopped (poll: 0x%x)", p->device,
						  (unsigned)pfd[0].revents);
			continue;
		}

		pthread_mutex_lock(&p->session->lock);
		ret = cr_v4l2_ioctl(p->fd, VIDIOC_DQBUF, &buf);
		if (ret == 0)
			queued = --p->session->queued;
		pthread_mutex_unlock(&p->session->lock);
		if (ret == 0 && (atomic_load(&p->min_queued) < 0 || (int)queued < atomic_load(&p->min_queued)))
			atomic_store(&p->min_queued, (int)queued);
		if (ret == -EAGAIN)
			continue;
		if (ret == -ENODEV || ret == -EIO)
			return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: the device went away (%s)", p->device,
					  cr_strerror(ret));
		if (ret < 0)
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: VIDIOC_DQBUF: %s", p->device, cr_strerror(ret));
		if (buf.index >= p->nbuffers)
			return cr_log_ret(-EIO, CR_LOG_ERROR, "%s: the driver returned buffer %u of %u", p->device,
					  buf.index, p->nbuffers);

		if (p->have_sequence && buf.sequence - p->last_sequence > 1 && buf.sequence - p->last_sequence < (1u << 30)) {
			p->driver_drops += buf.sequence - p->last_sequence - 1;
			cr_debug("%s: the driver dropped %u frames before sequence %u", p->device,
				 buf.sequence - p->last_sequence - 1, buf.sequence);
		}
		p->last_sequence = buf.sequence;
		p->have_sequence = true;

		ret = 0;
		if (!buffer_usable(p, &src->format, &buf)) {
			if (p->skipped++ == 0 || (p->skipped & (p->skipped - 1)) == 0) /* 1st, 2nd, 4th, 8th... */
				cr_warn("%s: skipped a bad buffer (sequence %u, %u bytes, flags 0x%x; %" PRIu64 " so far)",
					p->device, buf.sequence, buf.bytesused, buf.flags, p->skipped);
			ret = 1;
		} else if (frame && borrow(src, &buf, queued, frame)) {
			p->delivered++;
			return 0;
		} else if (frame) {
			ret = deliver(src, &buf, frame);
		}

		qret = requeue(p, &buf);
		if (qret == -ENODEV || qret == -EIO)
			return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: the device went away (%s)", p->device,
					  cr_strerror(qret));
		if (qret < 0)
			return cr_log_ret(qret, CR_LOG_ERROR, "%s: VIDIOC_QBUF: %s", p->device, cr_strerror(qret));
		if (ret == 1)
			continue;
		if (ret == 0)
			p->delivered++;
		return ret;
	}
}

static int v4l2_set_control(struct cr_source *src, const char *name, const char *value, char *why, size_t len)
{
	struct v4l2_priv *p = src->priv;

	if (!p || p->fd < 0) {
		snprintf(why, len, "the device is not open (the camera is lost)");
		return -ENODEV;
	}
	return set_control(p, name, value, 0, why, len);
}

static int v4l2_list_controls(struct cr_source *src, struct cr_source_control *out, int max, char *why, size_t len)
{
	struct v4l2_priv *p = src->priv;
	int ret;

	if (!p || p->fd < 0) {
		snprintf(why, len, "the device is not open (the camera is lost)");
		return -ENODEV;
	}
	ret = cr_v4l2_controls_list(p->fd, out, max);
	if (ret < 0) {
		snprintf(why, len, "%s: cannot list the device's controls: %s", p->device, cr_strerror(ret));
		return ret;
	}
	/* Then the sensor sub-device's, those the node has no control of that
	 * name for (as set_control finds them). */
	if (p->sensor.fd >= 0) {
		struct cr_source_control *sensor = cr_calloc(CR_SOURCE_MAX_CONTROLS, sizeof(*sensor));
		int n = cr_v4l2_controls_list(p->sensor.fd, sensor, CR_SOURCE_MAX_CONTROLS), total = ret;

		for (int i = 0; i < n && i < CR_SOURCE_MAX_CONTROLS; i++) {
			bool on_node = false;

			for (int k = 0; k < ret && k < max && !on_node; k++)
				on_node = strcmp(out[k].name, sensor[i].name) == 0;
			if (on_node)
				continue;
			if (total < max) {
				out[total] = sensor[i];
				snprintf(out[total].device, sizeof(out[total].device), "%s", p->sensor.name);
			}
			total++;
		}
		free(sensor);
		ret = total;
	}
	return ret;
}

static void v4l2_stream_stats(struct cr_source *src, struct cr_source_stream_stats *stats)
{
	struct v4l2_priv *p = src->priv;

	if (!p)
		return;
	stats->borrowed = atomic_load(&p->borrowed);
	stats->copied = atomic_load(&p->copied);
	stats->driver_min_queued = atomic_load(&p->min_queued);
}

static void v4l2_free_priv(struct cr_source *src)
{
	v4l2_close(src);
	free(src->priv);
	src->priv = NULL;
}

const struct cr_source_ops cr_source_v4l2_ops = {
	.open = v4l2_open,
	.read = v4l2_read,
	.close = v4l2_close,
	.set_control = v4l2_set_control,
	.list_controls = v4l2_list_controls,
	.stream_stats = v4l2_stream_stats,
	.free_priv = v4l2_free_priv,
};
