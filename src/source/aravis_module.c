/* GenICam camera source through libaravis ("aravis:" the first camera,
 * "aravis:ID" one by its Aravis id, "Vendor-Serial" or "Vendor-Model-Serial"
 * as `camrig list` prints it, or its IP address): GigE Vision and USB3
 * Vision machine-vision cameras. Built as the module camrig-aravis.so
 * (aravis_module.h: its one exported table), which aravis.c loads when
 * camrig first needs Aravis, so a camrig without GenICam cameras never maps
 * libaravis, GLib and libxml2.
 *
 * open() connects (arv_camera_new()), applies the configuration as GenICam
 * features by their standard names (SFNC): camera.format as PixelFormat,
 * then every camera.controls entry in the file's order (ExposureTime, Gain,
 * TriggerMode, BinningHorizontal, ... any feature the camera has), then
 * camera.size and camera.crop as Width/Height/OffsetX/OffsetY, then
 * camera.fps as AcquisitionFrameRate. Aravis checks ranges and access
 * (ARV_RANGE_CHECK_POLICY_ENABLE); an unknown feature or a bad value fails
 * with the features there are, or the values expected. What the camera then
 * reports (PixelFormat, Width, Height, frame rate) is src->format. It creates
 * the stream with buffers of the payload size and starts acquisition.
 *
 * read(): Aravis's stream thread reassembles frames (GVSP packets with
 * resends, or USB3 Vision bulk transfers) into our buffers and calls
 * on_stream() after putting each into its output queue; on_stream() only
 * counts the buffer on an eventfd. read() polls that eventfd with the
 * camera's wake fd, pops one buffer, copies its image into the frame and
 * gives the buffer back to the stream at once. A buffer that did not arrive
 * whole (missing packets, timeout) is not delivered: its frame id is then
 * missing and the camera counts it as lost (frames_lost_upstream, a "lost"
 * row in the sidecar). Frame ids of GigE Vision 1.x are 16-bit, skip 0 and
 * wrap; read() extends them into the 32-bit frame sequence, which starts at
 * the camera's id of the first frame.
 *
 * Time: device_ns is the camera's own timestamp (GigE Vision: its tick
 * counter converted to ns by Aravis). mono_ns is that timestamp on the
 * host's CLOCK_MONOTONIC: device_ns plus the smallest offset seen between
 * the frame's arrival (Aravis's system timestamp of its first packet,
 * CLOCK_REALTIME mapped to CLOCK_MONOTONIC) and its device_ns — the arrival
 * with the least delay — which may grow by at most 50 ppm of the time
 * elapsed (the two clocks' drift) and is taken anew when the camera's clock
 * jumps. So the host time keeps the camera's exposure spacing instead of
 * the host's scheduling: a stream thread late by 100 ms delivers a backlog
 * of frames with their true times, not bunched at its wake-up. A camera
 * without timestamps gets its arrival time. A loss of the
 * control channel (ArvDevice "control-lost") or no frame for five seconds
 * (or ten frame intervals) is CR_ELOST: the camera reopens it.
 *
 * Threads: open/read/close run on the camera thread; on_stream() on
 * Aravis's stream thread (it touches the eventfd only); set_control on the
 * control thread while the source is open (Aravis serializes GVCP
 * transactions on a device). Loopback GigE Vision cameras (the fake camera
 * arv-fake-gv-camera-0.8 serves) are read through ordinary sockets: Aravis's
 * packet-socket path does not see loopback traffic; the socket path gets a
 * receive buffer of eight payloads, at least 4 MiB.
 *
 * References: Aravis 0.8 API (arvcamera.h, arvstream.h, arvgvstream.h);
 * GenICam SFNC 2.x for feature names; GigE Vision 2.0 spec, GVSP block_id. */
#include "source/aravis_module.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <arv.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MIN_BUFFERS 16                        /* stream buffers, at least (camera.buffers or fps/2 if more) */
#define BUFFERS_MAX_BYTES (256u << 20)        /* the stream buffers' memory, at most (but 4 buffers) */
#define SOCKET_BUFFER_MIN (4u << 20)          /* bytes, at least (the kernel caps it at net.core.rmem_max) */
#define FRAME_RETENTION_US 500000u              /* µs a GVSP frame may take to complete */
#define STALL_TIMEOUT_NS (5 * CR_NS_PER_SEC)  /* no frame for this long (or ten intervals): lost */

/* GenICam pixel formats (PFNC) and camrig's FourCC for each. */
static const struct {
	ArvPixelFormat pfnc;
	const char *name;
	uint32_t fourcc;
} pixel_formats[] = {
	{ ARV_PIXEL_FORMAT_MONO_8, "Mono8", CR_FMT_GREY },
	{ ARV_PIXEL_FORMAT_MONO_10, "Mono10", CR_FMT_Y10 },
	{ ARV_PIXEL_FORMAT_MONO_12, "Mono12", CR_FMT_Y12 },
	{ ARV_PIXEL_FORMAT_MONO_16, "Mono16", CR_FMT_Y16 },
	{ ARV_PIXEL_FORMAT_BAYER_BG_8, "BayerBG8", CR_FMT_SBGGR8 },
	{ ARV_PIXEL_FORMAT_BAYER_GB_8, "BayerGB8", CR_FMT_SGBRG8 },
	{ ARV_PIXEL_FORMAT_BAYER_GR_8, "BayerGR8", CR_FMT_SGRBG8 },
	{ ARV_PIXEL_FORMAT_BAYER_RG_8, "BayerRG8", CR_FMT_SRGGB8 },
	{ ARV_PIXEL_FORMAT_RGB_8_PACKED, "RGB8", CR_FMT_RGB24 },
	{ ARV_PIXEL_FORMAT_BGR_8_PACKED, "BGR8", CR_FMT_BGR24 },
};

/* Features that change the image's size or layout: set in the
 * configuration, never while streaming (the buffers have the old size). */
static const char *const format_features[] = {
	"PixelFormat", "Width", "Height", "OffsetX", "OffsetY", "BinningHorizontal", "BinningVertical",
	"DecimationHorizontal", "DecimationVertical", "ReverseX", "ReverseY",
};

struct aravis_priv {
	ArvCamera *camera;
	ArvDevice *device;              /* the camera's; not a reference of our own */
	ArvStream *stream;
	int buffer_fd;                  /* eventfd: buffers done since it was last read */
	atomic_bool control_lost;       /* set by the "control-lost" signal (any thread) */
	gulong control_lost_handler;
	bool acquiring;
	bool reading;                   /* read() has been called since open() */
	int width, height, stride;      /* pixels; bytes per row */
	ArvPixelFormat pfnc;
	int64_t timeout_ns;             /* a stall after this long without a frame */

	/* frame ids: the 32-bit sequence they extend into */
	bool have_id;
	uint64_t last_id;
	uint32_t sequence;

	/* the device clock's offset to CLOCK_MONOTONIC (see the top) */
	bool have_offset;
	int64_t offset_ns;              /* mono = device + offset */
	int64_t last_device_ns;

	/* counters since open(), logged by close() */
	uint64_t delivered, incomplete, wrong_size;
};

static const char *pixel_format_name(ArvPixelFormat pfnc)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(pixel_formats); i++)
		if (pixel_formats[i].pfnc == pfnc)
			return pixel_formats[i].name;
	return NULL;
}

static uint32_t fourcc_of(ArvPixelFormat pfnc)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(pixel_formats); i++)
		if (pixel_formats[i].pfnc == pfnc)
			return pixel_formats[i].fourcc;
	return 0;
}

static const char *pixel_format_of_fourcc(uint32_t fourcc)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(pixel_formats); i++)
		if (pixel_formats[i].fourcc == fourcc)
			return pixel_formats[i].name;
	return NULL;
}

/* "Mono8, Mono16, ..." of the formats camrig reads, into buf. */
static char *known_formats(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < CR_ARRAY_SIZE(pixel_formats) && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", pixel_formats[i].name);
	return buf;
}

/* The message of error (or "unknown error") and clears it. */
static const char *take_error(GError **error, char *buf, size_t len)
{
	snprintf(buf, len, "%s", *error && (*error)->message ? (*error)->message : "unknown error");
	g_clear_error(error);
	return buf;
}

/* ---- features -------------------------------------------------------------- */

/* Appends the names of the available features under category node (and its
 * subcategories) to buf. */
static void list_features(ArvGc *gc, const char *category, char *buf, size_t len, int depth)
{
	ArvGcNode *node = arv_gc_get_node(gc, category);

	if (!node || !ARV_IS_GC_CATEGORY(node) || depth > 8)
		return;
	for (const GSList *l = arv_gc_category_get_features(ARV_GC_CATEGORY(node)); l; l = l->next) {
		ArvGcNode *f = arv_gc_get_node(gc, l->data);
		size_t n = strlen(buf);

		if (!f || !ARV_IS_GC_FEATURE_NODE(f) || !arv_gc_feature_node_is_available(ARV_GC_FEATURE_NODE(f), NULL))
			continue;
		if (ARV_IS_GC_CATEGORY(f)) {
			list_features(gc, l->data, buf, len, depth + 1);
			continue;
		}
		if (n + strlen(l->data) + 8 >= len) {
			if (n + 4 < len && !strstr(buf, "..."))
				snprintf(buf + n, len - n, ", ...");
			return;
		}
		snprintf(buf + n, len - n, "%s%s", n ? ", " : "", (const char *)l->data);
	}
}

static bool parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = { "true", "1", "on", "yes" }, *const no[] = { "false", "0", "off", "no" };

	for (size_t i = 0; i < CR_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(value, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

/* Features the standard names of which vary between cameras of older
 * SFNC versions (ExposureTimeAbs, GainRaw, AcquisitionFrameRateAbs): set
 * through Aravis's own mapping. Returns 1 when name is one of them and the
 * camera lacks the standard node, after setting it (0) or failing (< 0). */
static int set_mapped(struct aravis_priv *p, const char *name, const char *value, char *why, size_t len)
{
	void (*set)(ArvCamera *, double, GError **) = NULL;
	void (*bounds)(ArvCamera *, double *, double *, GError **) = NULL;
	GError *error = NULL;
	double v, min = 0, max = 0;
	char *end, msg[256];

	if (strcmp(name, "ExposureTime") == 0) {
		set = arv_camera_set_exposure_time;
		bounds = arv_camera_get_exposure_time_bounds;
	} else if (strcmp(name, "Gain") == 0) {
		set = arv_camera_set_gain;
		bounds = arv_camera_get_gain_bounds;
	} else if (strcmp(name, "AcquisitionFrameRate") == 0) {
		set = arv_camera_set_frame_rate;
		bounds = arv_camera_get_frame_rate_bounds;
	}
	if (!set || arv_device_get_feature(p->device, name))
		return 1;
	bounds(p->camera, &min, &max, &error);
	g_clear_error(&error);
	v = strtod(value, &end);
	if (end == value || *end || !isfinite(v) || (max > min && (v < min || v > max))) {
		snprintf(why, len, "%s: \"%s\" is not a value (expected a number from %g to %g)", name, value, min, max);
		return -EINVAL;
	}
	set(p->camera, v, &error);
	if (error) {
		snprintf(why, len, "%s = %s: %s", name, value, take_error(&error, msg, sizeof(msg)));
		return -EINVAL;
	}
	return 0;
}

/* Sets the GenICam feature name to value (text: a number, an enumeration
 * entry, true/false, or "execute" for a command). Returns 0, -ENOENT for a
 * feature the camera does not have (why lists those it has), -EINVAL for a
 * bad value (why: what was expected), -EACCES for a read-only one. */
static int set_feature(struct aravis_priv *p, const char *name, const char *value, char *why, size_t len)
{
	ArvGcNode *node;
	GError *error = NULL;
	char msg[256], *end;
	int ret = set_mapped(p, name, value, why, len);

	if (ret <= 0)
		return ret;
	node = arv_device_get_feature(p->device, name);
	if (!node || !ARV_IS_GC_FEATURE_NODE(node) || ARV_IS_GC_CATEGORY(node) ||
	    !arv_gc_feature_node_is_implemented(ARV_GC_FEATURE_NODE(node), NULL)) {
		char names[768] = "";

		list_features(arv_device_get_genicam(p->device), "Root", names, sizeof(names), 0);
		snprintf(why, len, "unknown GenICam feature \"%s\" (expected one of: %s)", name, names);
		return -ENOENT;
	}
	if (!arv_gc_feature_node_is_available(ARV_GC_FEATURE_NODE(node), NULL)) {
		snprintf(why, len, "%s is not available now (another feature disables it)", name);
		return -EINVAL;
	}
	if (ARV_IS_GC_ENUMERATION(node)) {
		guint n = 0;
		const char **entries = arv_gc_enumeration_dup_available_string_values(ARV_GC_ENUMERATION(node), &n, NULL);
		const char *entry = NULL;
		char list[512] = "";
		size_t used = 0;

		for (guint i = 0; i < n; i++) {
			if (strcasecmp(entries[i], value) == 0)
				entry = entries[i];
			if (used < sizeof(list))
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", entries[i]);
		}
		if (entry)
			arv_gc_enumeration_set_string_value(ARV_GC_ENUMERATION(node), entry, &error);
		g_free(entries);
		if (!entry) {
			snprintf(why, len, "%s: \"%s\" is not a value (expected one of: %s)", name, value, list);
			return -EINVAL;
		}
	} else if (ARV_IS_GC_BOOLEAN(node)) {
		bool b;

		if (!parse_bool(value, &b)) {
			snprintf(why, len, "%s: \"%s\" is not a value (expected true or false)", name, value);
			return -EINVAL;
		}
		arv_gc_boolean_set_value(ARV_GC_BOOLEAN(node), b, &error);
	} else if (ARV_IS_GC_COMMAND(node)) {
		if (strcasecmp(value, "execute") != 0 && strcmp(value, "1") != 0) {
			snprintf(why, len, "%s: \"%s\" is not a value (a command: expected execute)", name, value);
			return -EINVAL;
		}
		arv_gc_command_execute(ARV_GC_COMMAND(node), &error);
	} else if (ARV_IS_GC_INTEGER(node)) {
		ArvGcInteger *i = ARV_GC_INTEGER(node);
		long long v = strtoll(value, &end, 0);
		gint64 min = arv_gc_integer_get_min(i, NULL), max = arv_gc_integer_get_max(i, NULL);
		gint64 inc = arv_gc_integer_get_inc(i, NULL);

		if (end == value || *end || v < min || v > max || (inc > 1 && (v - min) % inc != 0)) {
			char step[48] = "";

			if (inc > 1)
				snprintf(step, sizeof(step), " in steps of %lld", (long long)inc);
			snprintf(why, len, "%s: \"%s\" is not a value (expected an integer from %lld to %lld%s)", name,
				 value, (long long)min, (long long)max, step);
			return -EINVAL;
		}
		arv_gc_integer_set_value(i, v, &error);
	} else if (ARV_IS_GC_FLOAT(node)) {
		ArvGcFloat *f = ARV_GC_FLOAT(node);
		double v = strtod(value, &end), min = arv_gc_float_get_min(f, NULL), max = arv_gc_float_get_max(f, NULL);

		if (end == value || *end || !isfinite(v) || v < min || v > max) {
			snprintf(why, len, "%s: \"%s\" is not a value (expected a number from %g to %g%s%s)", name, value,
				 min, max, arv_gc_float_get_unit(f) ? " " : "",
				 arv_gc_float_get_unit(f) ? arv_gc_float_get_unit(f) : "");
			return -EINVAL;
		}
		arv_gc_float_set_value(f, v, &error);
	} else if (ARV_IS_GC_STRING(node)) {
		arv_gc_string_set_value(ARV_GC_STRING(node), value, &error);
	} else {
		snprintf(why, len, "%s is not a feature camrig can set (expected a number, enumeration, boolean, "
			 "string or command)", name);
		return -EINVAL;
	}
	if (error) {
		int code = error->domain == ARV_GC_ERROR && error->code == ARV_GC_ERROR_READ_ONLY ? -EACCES
														: -EINVAL;

		snprintf(why, len, "%s = %s: %s", name, value, take_error(&error, msg, sizeof(msg)));
		return code;
	}
	return 0;
}

/* ---- open, read, close -------------------------------------------------------- */

static void on_control_lost(ArvDevice *device, void *ctx)
{
	struct cr_source *src = ctx;
	struct aravis_priv *p = src->priv;
	uint64_t one = 1;

	atomic_store(&p->control_lost, true);
	(void)!write(p->buffer_fd, &one, sizeof(one));
}

/* On Aravis's stream thread: a buffer is in the output queue. */
static void on_stream(void *ctx, ArvStreamCallbackType type, ArvBuffer *buffer)
{
	struct aravis_priv *p = ctx;
	uint64_t one = 1;

	if (type == ARV_STREAM_CALLBACK_TYPE_BUFFER_DONE)
		(void)!write(p->buffer_fd, &one, sizeof(one));
}

static bool is_loopback(ArvCamera *camera)
{
	GSocketAddress *addr;
	bool loop = false;

	if (!arv_camera_is_gv_device(camera))
		return false;
	addr = arv_gv_device_get_device_address(ARV_GV_DEVICE(arv_camera_get_device(camera)));
	if (addr && G_IS_INET_SOCKET_ADDRESS(addr))
		loop = g_inet_address_get_is_loopback(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr)));
	return loop;
}

static int fail(struct cr_source *src, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct cr_source *src, int ret, const char *fmt, ...)
{
	char msg[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cr_log_ret(ret, CR_LOG_ERROR, "%s: source %s: %s", src->config->name, src->config->source, msg);
}

/* Applies camera.format, camera.controls, camera.size/crop and camera.fps. */
static int configure(struct cr_source *src)
{
	const struct cr_camera_config *cfg = src->config;
	struct aravis_priv *p = src->priv;
	char why[1024], value[32], names[256];
	int ret;

	if (cfg->format) {
		const char *name = pixel_format_of_fourcc(cfg->format);

		if (!name)
			return fail(src, CR_EFORMAT, "camera.format %s has no GenICam pixel format (expected one of: %s)",
				    cr_fourcc_name(cfg->format), known_formats(names, sizeof(names)));
		ret = set_feature(p, "PixelFormat", name, why, sizeof(why));
		if (ret < 0)
			return fail(src, ret, "camera.format: %s", why);
	}
	for (unsigned i = 0; i < cfg->ncontrols; i++) {
		const struct cr_control_setting *c = &cfg->controls[i];

		ret = set_feature(p, c->name, c->value, why, sizeof(why));
		if (ret < 0)
			return c->line ? fail(src, ret, "line %d: controls: %s", c->line, why)
				       : fail(src, ret, "controls: %s", why);
	}
	/* Offsets first when they shrink, size first when it shrinks: set the
	 * size, then the offsets, then the size again (what the offsets allow). */
	if (cfg->crop.width > 0 || cfg->width > 0) {
		int w = cfg->crop.width > 0 ? cfg->crop.width : cfg->width;
		int h = cfg->crop.width > 0 ? cfg->crop.height : cfg->height;
		const char *what = cfg->crop.width > 0 ? "camera.crop" : "camera.size";

		snprintf(value, sizeof(value), "%d", w);
		ret = set_feature(p, "Width", value, why, sizeof(why));
		snprintf(value, sizeof(value), "%d", h);
		if (ret == 0)
			ret = set_feature(p, "Height", value, why, sizeof(why));
		if (ret == 0 && cfg->crop.width > 0) {
			snprintf(value, sizeof(value), "%d", cfg->crop.left);
			ret = set_feature(p, "OffsetX", value, why, sizeof(why));
			snprintf(value, sizeof(value), "%d", cfg->crop.top);
			if (ret == 0)
				ret = set_feature(p, "OffsetY", value, why, sizeof(why));
		}
		if (ret < 0)
			return fail(src, ret, "%s: %s", what, why);
	}
	if (cfg->fps > 0) {
		snprintf(value, sizeof(value), "%g", cfg->fps);
		ret = set_feature(p, "AcquisitionFrameRate", value, why, sizeof(why));
		if (ret < 0)
			return fail(src, ret, "camera.fps: %s", why);
	}
	return 0;
}

static int aravis_open(struct cr_source *src)
{
	const struct cr_camera_config *cfg = src->config;
	struct aravis_priv *p = src->priv;
	GError *error = NULL;
	const char *id = src->location[0] ? src->location : NULL, *name;
	char msg[512], names[256];
	unsigned nbuffers = cfg->buffers > MIN_BUFFERS ? cfg->buffers : MIN_BUFFERS;
	gint x, y;
	guint payload;
	double fps;
	int ret;

	if (!p) {
		p = src->priv = CR_NEW(p);
		p->buffer_fd = -1;
	}
	p->buffer_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->buffer_fd < 0)
		return fail(src, -errno, "eventfd: %s", cr_strerror(-errno));
	atomic_store(&p->control_lost, false);
	p->have_id = p->reading = p->have_offset = false;
	p->delivered = p->incomplete = p->wrong_size = 0;
	p->camera = arv_camera_new(id, &error);
	if (!p->camera)
		return fail(src, CR_ELOST, "%s: %s (is it connected? `camrig list` shows the cameras Aravis finds)",
			    id ? id : "no GenICam camera", take_error(&error, msg, sizeof(msg)));
	p->device = arv_camera_get_device(p->camera);
	arv_device_set_range_check_policy(p->device, ARV_RANGE_CHECK_POLICY_ENABLE);
	arv_device_set_access_check_policy(p->device, ARV_ACCESS_CHECK_POLICY_ENABLE);
	p->control_lost_handler = g_signal_connect(p->device, "control-lost", G_CALLBACK(on_control_lost), src);
	/* A camera left streaming by a crashed client refuses new settings. */
	arv_camera_stop_acquisition(p->camera, NULL);
	ret = configure(src);
	if (ret < 0)
		return ret;
	arv_camera_get_region(p->camera, &x, &y, &p->width, &p->height, &error);
	if (!error)
		p->pfnc = arv_camera_get_pixel_format(p->camera, &error);
	if (error)
		return fail(src, -EIO, "reading the image format: %s", take_error(&error, msg, sizeof(msg)));
	name = pixel_format_name(p->pfnc);
	if (!name)
		return fail(src, CR_EFORMAT, "the camera's PixelFormat %s is not one camrig reads (expected one of: %s; "
			    "set controls: {PixelFormat: Mono8})",
			    arv_camera_get_pixel_format_as_string(p->camera, NULL) ?: "?", known_formats(names, sizeof(names)));
	fps = arv_camera_get_frame_rate(p->camera, &error);
	g_clear_error(&error);
	if (arv_camera_is_gv_device(p->camera)) {
		if (is_loopback(p->camera))
			arv_gv_device_set_stream_options(ARV_GV_DEVICE(p->device), ARV_GV_STREAM_OPTION_PACKET_SOCKET_DISABLED);
		arv_camera_gv_auto_packet_size(p->camera, &error);
		if (error)
			cr_warn("%s: %s: packet size negotiation: %s", cfg->name, cfg->source,
				take_error(&error, msg, sizeof(msg)));
	}
	payload = arv_camera_get_payload(p->camera, &error);
	if (error)
		return fail(src, -EIO, "reading the payload size: %s", take_error(&error, msg, sizeof(msg)));
	p->stream = arv_camera_create_stream(p->camera, on_stream, p, &error);
	if (!p->stream)
		return fail(src, -EIO, "cannot open its stream: %s", take_error(&error, msg, sizeof(msg)));
	/* A frame whose packets the stream thread reads late (under load) is
	 * not given up for 0.5 s: the packets are in the socket buffer. */
	if (ARV_IS_GV_STREAM(p->stream))
		g_object_set(p->stream, "frame-retention", (guint)FRAME_RETENTION_US, NULL);
	/* The socket path (loopback) needs a receive buffer of several frames:
	 * the stream thread may be late by a few frame intervals under load. */
	if (ARV_IS_GV_STREAM(p->stream))
		g_object_set(p->stream, "socket-buffer", ARV_GV_STREAM_SOCKET_BUFFER_FIXED, "socket-buffer-size",
			     (int)(payload * 8 > SOCKET_BUFFER_MIN ? (payload * 8 < INT32_MAX / 2 ? payload * 8 : INT32_MAX / 2)
								   : SOCKET_BUFFER_MIN), NULL);
	/* Half a second of frames (the frame retention), within BUFFERS_MAX_BYTES. */
	if (fps > 0 && fps / 2 > nbuffers)
		nbuffers = (unsigned)(fps / 2);
	if (payload > 0 && (uint64_t)nbuffers * payload > BUFFERS_MAX_BYTES)
		nbuffers = (unsigned)(BUFFERS_MAX_BYTES / payload) > MIN_BUFFERS / 4 ? (unsigned)(BUFFERS_MAX_BYTES / payload)
										 : MIN_BUFFERS / 4;
	for (unsigned i = 0; i < nbuffers; i++)
		arv_stream_push_buffer(p->stream, arv_buffer_new_allocate(payload));
	arv_camera_set_acquisition_mode(p->camera, ARV_ACQUISITION_MODE_CONTINUOUS, &error);
	g_clear_error(&error); /* cameras without the feature are continuous */
	arv_camera_start_acquisition(p->camera, &error);
	if (error)
		return fail(src, -EIO, "cannot start acquisition: %s", take_error(&error, msg, sizeof(msg)));
	p->acquiring = true;
	p->stride = (int)((size_t)p->width * (size_t)ARV_PIXEL_FORMAT_BIT_PER_PIXEL(p->pfnc) / 8);
	p->timeout_ns = fps > 0 && 10 * CR_NS_PER_SEC / fps > STALL_TIMEOUT_NS ? (int64_t)(10 * CR_NS_PER_SEC / fps)
									: STALL_TIMEOUT_NS;
	src->format = (struct cr_source_format){ .fourcc = fourcc_of(p->pfnc), .width = p->width,
						 .height = p->height, .fps = fps, .device_clock = true };
	src->format.stride = p->stride;
	src->format.frame_bytes = (size_t)p->stride * (size_t)p->height;
	snprintf(src->format.device, sizeof(src->format.device), "%s",
		 arv_camera_get_device_id(p->camera, NULL) ?: (id ? id : "aravis"));
	snprintf(src->format.driver, sizeof(src->format.driver), "aravis %s %s %s",
		 arv_camera_is_gv_device(p->camera) ? "GigEVision" : arv_camera_is_uv_device(p->camera) ? "USB3Vision" : "",
		 arv_camera_get_vendor_name(p->camera, NULL) ?: "", arv_camera_get_model_name(p->camera, NULL) ?: "");
	cr_info("%s: %s (%s): %dx%d %s at %.3g fps, %u buffers of %u bytes", cfg->name, src->format.device,
		src->format.driver, p->width, p->height, name, fps, nbuffers, payload);
	return 0;
}

/* The 32-bit sequence of frame id: ids count up, and GigE Vision 1.x ids
 * are 16-bit, skip 0 and wrap from 65535 to 1. An id that goes back
 * otherwise is a restart of the camera's count: the sequence goes on by one. */
static uint32_t sequence_of(struct aravis_priv *p, uint64_t id)
{
	uint64_t step = 1;

	if (p->have_id) {
		if (id > p->last_id)
			step = id - p->last_id;
		else if (p->last_id <= 0xffff && p->last_id >= 0xff00 && id < 0x100)
			step = 0xffff - p->last_id + id; /* 65535 -> 1 is one step */
		if (step > 0xffff)
			step = 1;
	}
	p->sequence = p->have_id ? p->sequence + (uint32_t)step : (uint32_t)id; /* the camera's own id at first */
	p->have_id = true;
	p->last_id = id;
	return p->sequence;
}

/* Copies buffer's image into frame. Returns 0, or -EAGAIN when the image
 * is not the size the stream was opened for (counted; skipped). */
static int copy_image(struct cr_source *src, ArvBuffer *buffer, struct cr_frame *frame)
{
	struct aravis_priv *p = src->priv;
	size_t size = 0, row = (size_t)p->stride;
	const uint8_t *data = arv_buffer_get_image_data(buffer, &size);
	guint pad_x = 0, pad_y = 0;
	size_t in_stride;
	int ret;

	if (arv_buffer_get_image_width(buffer) != p->width || arv_buffer_get_image_height(buffer) != p->height ||
	    arv_buffer_get_image_pixel_format(buffer) != p->pfnc || !data) {
		p->wrong_size++;
		return -EAGAIN;
	}
	arv_buffer_get_image_padding(buffer, (gint *)&pad_x, (gint *)&pad_y);
	in_stride = row + pad_x;
	if (size < in_stride * (size_t)(p->height - 1) + row) {
		p->wrong_size++;
		return -EAGAIN;
	}
	if (!frame)
		return 0;
	ret = cr_frame_set_format(frame, src->format.fourcc, p->width, p->height, p->stride);
	if (ret < 0)
		return ret;
	if (in_stride == row) {
		memcpy(frame->data, data, row * (size_t)p->height);
	} else {
		for (int y = 0; y < p->height; y++)
			memcpy(frame->data + (size_t)y * row, data + (size_t)y * in_stride, row);
	}
	frame->size = row * (size_t)p->height;
	return 0;
}

static int64_t realtime_to_mono_ns(uint64_t realtime_ns)
{
	struct timespec rt;
	int64_t offset;

	clock_gettime(CLOCK_REALTIME, &rt);
	offset = (int64_t)rt.tv_sec * CR_NS_PER_SEC + rt.tv_nsec - cr_time_mono_ns();
	return (int64_t)realtime_ns - offset;
}

#define DRIFT_PPM 50                           /* the clocks' drift the offset follows */
#define CLOCK_JUMP_NS (1 * CR_NS_PER_SEC)       /* an offset this much higher: the camera's clock jumped */

/* The host time (CLOCK_MONOTONIC ns) of a frame that arrived at arrival_ns
 * with the camera's timestamp device_ns (0: none). */
static int64_t host_time(struct aravis_priv *p, int64_t arrival_ns, int64_t device_ns)
{
	int64_t sample = arrival_ns - device_ns, elapsed = device_ns - p->last_device_ns, mono;

	if (device_ns <= 0)
		return arrival_ns;
	if (!p->have_offset || elapsed < 0 || sample - p->offset_ns > CLOCK_JUMP_NS) {
		p->offset_ns = sample; /* the first frame, or the camera's clock was reset */
	} else if (sample < p->offset_ns) {
		p->offset_ns = sample;  /* a frame that arrived sooner after its exposure */
	} else {
		int64_t allow = elapsed / (1000000 / DRIFT_PPM);

		p->offset_ns += sample - p->offset_ns < allow ? sample - p->offset_ns : allow;
	}
	p->have_offset = true;
	p->last_device_ns = device_ns;
	mono = device_ns + p->offset_ns;
	return mono < arrival_ns ? mono : arrival_ns;
}

static int aravis_read(struct cr_source *src, struct cr_frame *frame)
{
	struct aravis_priv *p = src->priv;
	struct pollfd pfd[2] = { { .fd = src->wake_fd, .events = POLLIN }, { .fd = p->buffer_fd, .events = POLLIN } };
	int64_t deadline = cr_time_mono_ns() + p->timeout_ns;
	ArvBuffer *stale;

	/* Frames that filled the buffers between open() and the camera
	 * thread's first read (other parts start meanwhile) are old, and the
	 * camera lost frames for want of buffers after them: the count starts
	 * at the first frame read() can take fresh. */
	if (!p->reading) {
		p->reading = true;
		while ((stale = arv_stream_try_pop_buffer(p->stream)))
			arv_stream_push_buffer(p->stream, stale);
	}
	for (;;) {
		ArvBuffer *buffer;
		struct timespec ts;
		uint64_t count;
		int64_t left;
		int ret;

		if (atomic_load(&p->control_lost))
			return CR_ELOST;
		buffer = arv_stream_try_pop_buffer(p->stream);
		if (buffer) {
			if (arv_buffer_get_status(buffer) != ARV_BUFFER_STATUS_SUCCESS) {
				p->incomplete++; /* its id is missing from the sequence: counted as lost */
				arv_stream_push_buffer(p->stream, buffer);
				continue;
			}
			ret = copy_image(src, buffer, frame);
			if (ret == 0) {
				uint32_t seq = sequence_of(p, arv_buffer_get_frame_id(buffer));

				int64_t device_ns = (int64_t)arv_buffer_get_timestamp(buffer);
				int64_t arrival_ns = arv_buffer_get_system_timestamp(buffer)
					? realtime_to_mono_ns(arv_buffer_get_system_timestamp(buffer)) : cr_time_mono_ns();
				int64_t mono_ns = host_time(p, arrival_ns, device_ns);

				p->delivered++;
				if (frame) {
					frame->sequence = seq;
					frame->mono_ns = mono_ns;
					frame->device_ns = device_ns;
				}
			}
			arv_stream_push_buffer(p->stream, buffer);
			if (ret == 0)
				return 0;
			if (ret != -EAGAIN)
				return ret;
			continue;
		}
		left = deadline - cr_time_mono_ns();
		if (left <= 0) {
			cr_warn("%s: %s: no frame for %.1f s", src->config->name, src->format.device,
				(double)p->timeout_ns / CR_NS_PER_SEC);
			return CR_ELOST;
		}
		ts = cr_time_ts(left);
		if (ppoll(pfd, 2, &ts, NULL) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			return -EAGAIN;
		if (pfd[1].revents)
			(void)!read(p->buffer_fd, &count, sizeof(count));
	}
}

static void aravis_close(struct cr_source *src)
{
	struct aravis_priv *p = src->priv;

	if (!p)
		return;
	if (p->acquiring) {
		arv_camera_stop_acquisition(p->camera, NULL);
		p->acquiring = false;
	}
	if (p->stream) {
		cr_info("%s: %s: closed after %llu frames (%llu incomplete, %llu of another size)", src->config->name,
			src->format.device, (unsigned long long)p->delivered, (unsigned long long)p->incomplete,
			(unsigned long long)p->wrong_size);
		g_clear_object(&p->stream); /* joins the stream thread */
	}
	if (p->camera) {
		if (p->control_lost_handler)
			g_signal_handler_disconnect(p->device, p->control_lost_handler);
		p->control_lost_handler = 0;
		g_clear_object(&p->camera);
		p->device = NULL;
	}
	if (p->buffer_fd >= 0)
		close(p->buffer_fd);
	p->buffer_fd = -1;
}

static int aravis_set_control(struct cr_source *src, const char *name, const char *value, char *why, size_t len)
{
	struct aravis_priv *p = src->priv;

	if (!p || !p->camera) {
		snprintf(why, len, "the camera is not open");
		return -ENODEV;
	}
	for (size_t i = 0; i < CR_ARRAY_SIZE(format_features); i++) {
		if (strcmp(name, format_features[i]) == 0) {
			snprintf(why, len, "%s changes the image format: set it in the config (controls: {%s: %s}) and "
				 "restart", name, name, value);
			return -EINVAL;
		}
	}
	return set_feature(p, name, value, why, len);
}

static void aravis_stream_stats(struct cr_source *src, struct cr_source_stream_stats *st)
{
	struct aravis_priv *p = src->priv;
	guint64 completed = 0, failures = 0, underruns = 0;

	if (!p || !p->stream)
		return;
	arv_stream_get_statistics(p->stream, &completed, &failures, &underruns);
	st->completed = completed;
	st->failed = failures;
	st->underruns = underruns;
	st->incomplete = p->incomplete;
	if (ARV_IS_GV_STREAM(p->stream)) {
		st->missing_packets = arv_stream_get_info_uint64_by_name(p->stream, "n_missing_packets");
		st->missing_frames = arv_stream_get_info_uint64_by_name(p->stream, "n_missing_frames");
		st->resent_packets = arv_stream_get_info_uint64_by_name(p->stream, "n_resent_packets");
		st->resend_requests = arv_stream_get_info_uint64_by_name(p->stream, "n_resend_requests");
	}
}

static void aravis_free(struct cr_source *src)
{
	aravis_close(src);
	free(src->priv);
	src->priv = NULL;
}

static const struct cr_source_ops aravis_ops = {
	.open = aravis_open,
	.read = aravis_read,
	.close = aravis_close,
	.set_control = aravis_set_control,
	.stream_stats = aravis_stream_stats,
	.free_priv = aravis_free,
};

/* ---- discovery ------------------------------------------------------------------ */

static const char *gc_version(void)
{
	static char version[32];

	snprintf(version, sizeof(version), "%u.%u.%u", arv_get_major_version(), arv_get_minor_version(),
		 arv_get_micro_version());
	return version;
}

static int gc_cameras(struct cr_aravis_camera *out, int max)
{
	unsigned n;
	int found = 0;

	arv_update_device_list();
	n = arv_get_n_devices();
	for (unsigned i = 0; i < n; i++, found++) {
		struct cr_aravis_camera *c = &out[found];
		GError *error = NULL;
		ArvCamera *camera;
		const char **fmts;
		guint nfmts = 0;
		size_t used = 0;

		if (found >= max)
			continue;
		memset(c, 0, sizeof(*c));
		snprintf(c->id, sizeof(c->id), "%s", arv_get_device_id(i) ?: "");
		snprintf(c->vendor, sizeof(c->vendor), "%s", arv_get_device_vendor(i) ?: "");
		snprintf(c->model, sizeof(c->model), "%s", arv_get_device_model(i) ?: "");
		snprintf(c->serial, sizeof(c->serial), "%s", arv_get_device_serial_nbr(i) ?: "");
		snprintf(c->interface, sizeof(c->interface), "%s", arv_get_device_protocol(i) ?: "");
		snprintf(c->address, sizeof(c->address), "%s", arv_get_device_address(i) ?: "");
		camera = arv_camera_new(c->id, &error);
		if (!camera) {
			take_error(&error, c->error, sizeof(c->error));
			continue;
		}
		fmts = arv_camera_dup_available_pixel_formats_as_strings(camera, &nfmts, &error);
		for (guint k = 0; fmts && k < nfmts; k++) {
			bool known = false;

			for (size_t j = 0; j < CR_ARRAY_SIZE(pixel_formats); j++)
				known = known || strcmp(pixel_formats[j].name, fmts[k]) == 0;
			if (known && used < sizeof(c->formats))
				used += (size_t)snprintf(c->formats + used, sizeof(c->formats) - used, "%s%s", used ? ", " : "",
							 fmts[k]);
		}
		if (error)
			take_error(&error, c->error, sizeof(c->error));
		g_free(fmts);
		g_object_unref(camera);
	}
	return found;
}

/* The module's one exported symbol (the build hides every other). */
__attribute__((visibility("default"))) const struct cr_aravis_module cr_aravis_module = {
	sizeof(struct cr_aravis_module), &aravis_ops, gc_version, gc_cameras,
};
