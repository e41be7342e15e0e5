/* `camrig doctor` (see doctor.h): checks what a configuration needs of this
 * machine, in the order a user fixes things: the libraries, the encoders,
 * the cameras (found, accessible, opening at the configured format), the
 * recording root's free space, the ports, the clock, GPIO, ntfy and the
 * fleet's servers (the MQTT broker, RTSP media servers, Janus), and the
 * analysis stage's face models (loaded as camrig run loads them).
 *
 * Every check only asks: cameras are opened and closed again, ports bound
 * and released, encoders opened on no frame; nothing is written. The clock
 * check reads the kernel's NTP state (adjtimex(2): STA_UNSYNC clear means a
 * time daemon disciplines the clock). */
#include "app/doctor.h"

#include "analysis/analysis.h"
#include "analysis/cv.h"
#include "base/error.h"
#include "base/json.h"
#include "base/lazy.h"
#include "base/mem.h"
#include "base/net.h"
#include "camrig-version.h"
#include "encode/video.h"
#include "lsl/lsl.h"
#include "source/source.h"

#include <curl/curl.h>
#include <cyaml/cyaml.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <gnutls/gnutls.h>
#include <grp.h>
#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <microhttpd.h>
#include <mosquitto.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>
#ifdef CAMRIG_HAVE_GPIOD
#include <gpiod.h>
#endif

#define NTFY_TIMEOUT_S 5L

/* Encoders worth knowing about on a camera machine, besides the configured ones. */
static const char *const known_encoders[] = {
	"libx264", "libx265", "h264_v4l2m2m", "h264_nvenc", "hevc_nvenc", "h264_vaapi", "h264_qsv", "mjpeg", "ffv1",
};

struct doctor {
	json_t *checks;         /* array of {check, name, ok, needed, detail, fix} */
	bool failed;            /* a needed check failed */
};

static void add(struct doctor *d, const char *check, const char *name, bool ok, bool needed, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Adds one result; fix says what to do when !ok (NULL: nothing to say). */
static void add(struct doctor *d, const char *check, const char *name, bool ok, bool needed, const char *fix,
		const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_array_append_new(d->checks, json_pack("{s:s, s:o, s:b, s:b, s:o, s:o}", "check", check, "name",
						   cr_json_str(name), "ok", ok, "needed", needed, "detail",
						   cr_json_str(detail), "fix", ok || !fix ? json_null() : cr_json_str(fix)));
	if (!ok && needed)
		d->failed = true;
}

/* ---- libraries ---------------------------------------------------------- */

static bool analysis_wanted(const struct cr_config *config)
{
	for (unsigned i = 0; i < config->ncameras; i++)
		if (cr_analysis_wanted(&config->cameras[i].analysis))
			return true;
	return false;
}

static void check_libraries(struct doctor *d, const struct cr_config *config)
{
	char v[64], why[512];
	unsigned av;
	int major, minor, patch;

	add(d, "library", "camrig", true, false, NULL, "%s", CAMRIG_VERSION);
	if (cr_lazy_load(&cr_lazy_libav, why, sizeof(why)) == 0) {
		av = avcodec_version();
		add(d, "library", "FFmpeg", true, true, NULL,
		    "%s (libavcodec %u.%u.%u, libavformat %u.%u, libswscale %u.%u)", av_version_info(),
		    AV_VERSION_MAJOR(av), AV_VERSION_MINOR(av), AV_VERSION_MICRO(av),
		    AV_VERSION_MAJOR(avformat_version()), AV_VERSION_MINOR(avformat_version()),
		    AV_VERSION_MAJOR(swscale_version()), AV_VERSION_MINOR(swscale_version()));
	} else {
		add(d, "library", "FFmpeg", false, true, "install libavformat59 and libavcodec59", "%s", why);
	}
	add(d, "library", "libmicrohttpd", true, true, NULL, "%s", MHD_get_version());
	add(d, "library", "GnuTLS", true, true, NULL, "%s", gnutls_check_version(NULL));
	add(d, "library", "jansson", true, true, NULL, "%s", jansson_version_str());
	add(d, "library", "libcyaml", true, true, NULL, "%s", cyaml_version_str);
	if (cr_lazy_load(&cr_lazy_libcurl, why, sizeof(why)) == 0)
		add(d, "library", "libcurl", true, true, NULL, "%s", curl_version_info(CURLVERSION_NOW)->version);
	else
		add(d, "library", "libcurl", false, true, "install libcurl4", "%s", why);
	if (cr_lazy_load(&cr_lazy_libmosquitto, why, sizeof(why)) == 0) {
		mosquitto_lib_version(&major, &minor, &patch);
		add(d, "library", "libmosquitto", true, config->mqtt.enabled, NULL, "%d.%d.%d", major, minor, patch);
	} else {
		add(d, "library", "libmosquitto", false, config->mqtt.enabled, "install libmosquitto1", "%s", why);
	}
#ifdef CAMRIG_HAVE_GPIOD
	add(d, "library", "libgpiod", true, false, NULL, "%s", gpiod_version_string());
#else
	add(d, "library", "libgpiod", false, false, "install libgpiod-dev and build camrig again", "not built in");
#endif
	if (cr_libcamera_version())
		snprintf(v, sizeof(v), "%s", cr_libcamera_version());
	add(d, "library", "libcamera", cr_libcamera_version() != NULL, false,
	    cr_libcamera_available() ? "install camrig's modules beside it or in LIBDIR/camrig (meson install)"
				     : "install libcamera-dev (and libcamera-ipa) and build camrig again",
	    "%s", cr_libcamera_version() ? v : cr_libcamera_why_not());
	if (cr_aravis_version())
		snprintf(v, sizeof(v), "%s", cr_aravis_version());
	add(d, "library", "libaravis", cr_aravis_version() != NULL, false,
	    cr_aravis_available() ? "install camrig's modules beside it or in LIBDIR/camrig (meson install)"
				  : "install libaravis-dev (and libusb-1.0-0-dev) and build camrig again",
	    "%s", cr_aravis_version() ? v : cr_aravis_why_not());
	add(d, "library", "OpenCV", cr_cv_available(), analysis_wanted(config),
	    "install libopencv-dev and build camrig again", "%s",
	    cr_cv_available() ? cr_cv_version() : cr_cv_why_not());
}

/* ---- encoders -------------------------------------------------------------- */

static bool configured_codec(const struct cr_config *config, const char *codec)
{
	for (unsigned i = 0; i < config->ncameras; i++)
		if (config->cameras[i].recording.codec && strcmp(config->cameras[i].recording.codec, codec) == 0)
			return true;
	return false;
}

static void check_encoder(struct doctor *d, const char *codec, bool needed)
{
	char encoder[64], why[256], name[128];
	int ret = cr_video_encoder_probe(codec, encoder, sizeof(encoder), why, sizeof(why));

	if (strcmp(codec, encoder) == 0)
		snprintf(name, sizeof(name), "%s", codec);
	else
		snprintf(name, sizeof(name), "%s (%s)", codec, encoder);
	add(d, "encoder", name, ret == 0, needed,
	    ret == -ENOENT ? "install an FFmpeg with it, or choose another recording.codec"
			   : "a hardware encoder needs its device and driver; or choose another recording.codec",
	    "%s%s", ret == 0 ? "opens" : why, needed ? " (recording.codec)" : "");
}

static void check_encoders(struct doctor *d, const struct cr_config *config)
{
	for (unsigned i = 0; i < config->ncameras; i++) {
		const char *codec = config->cameras[i].recording.codec;
		bool seen = false;

		for (unsigned j = 0; j < i; j++)
			seen = seen || (config->cameras[j].recording.codec && codec &&
					strcmp(config->cameras[j].recording.codec, codec) == 0);
		if (codec && !seen && strcmp(codec, "copy") != 0)
			check_encoder(d, codec, true);
	}
	for (size_t i = 0; i < CR_ARRAY_SIZE(known_encoders); i++)
		if (!configured_codec(config, known_encoders[i]))
			check_encoder(d, known_encoders[i], false);
}

/* ---- devices: found, and may this user open them -------------------------------------- */

static bool in_group(gid_t gid)
{
	gid_t groups[256];
	int n = getgroups(CR_ARRAY_SIZE(groups), groups);

	if (getegid() == gid)
		return true;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* Whether this user may read and write path; the fix names the group. */
static void check_access(struct doctor *d, const char *path, bool needed)
{
	struct stat st;
	char fix[256], group[64];
	const struct group *gr;
	const struct passwd *pw = getpwuid(geteuid());

	if (stat(path, &st) < 0) {
		add(d, "permission", path, false, needed, "check the device is connected and its driver loaded", "%s",
		    strerror(errno));
		return;
	}
	if (access(path, R_OK | W_OK) == 0) {
		add(d, "permission", path, true, needed, NULL, "readable and writable");
		return;
	}
	gr = getgrgid(st.st_gid);
	snprintf(group, sizeof(group), "%s", gr ? gr->gr_name : "?");
	snprintf(fix, sizeof(fix), "sudo usermod -aG %s %s, then log in again", group, pw ? pw->pw_name : "$USER");
	add(d, "permission", path, false, needed, fix, "not readable and writable by this user (group %s, %s)", group,
	    in_group(st.st_gid) ? "a member" : "not a member");
}

/* The source spec's V4L2 device, if it names one. */
static const char *v4l2_device(const struct cr_camera_config *cam)
{
	return cam->source && strncmp(cam->source, "v4l2:", 5) == 0 ? cam->source + 5 : NULL;
}

static bool device_configured(const struct cr_config *config, const char *path)
{
	for (unsigned i = 0; i < config->ncameras; i++)
		if (v4l2_device(&config->cameras[i]) && strcmp(v4l2_device(&config->cameras[i]), path) == 0)
			return true;
	return false;
}

static void check_v4l2(struct doctor *d, const struct cr_config *config)
{
	glob_t g;
	int found = 0;

	if (glob("/dev/video*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct v4l2_capability cap = { 0 };
			int fd = open(g.gl_pathv[i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
			bool needed = device_configured(config, g.gl_pathv[i]);

			if (fd >= 0 && ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0 &&
			    ((cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities) &
			     (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))) {
				add(d, "camera", g.gl_pathv[i], true, needed, NULL, "V4L2: %s (%s)", (const char *)cap.card,
				    (const char *)cap.driver);
				found++;
			}
			if (fd >= 0)
				close(fd);
			else
				check_access(d, g.gl_pathv[i], needed);
		}
		globfree(&g);
	}
	if (found == 0)
		add(d, "camera", "V4L2", false, false, "connect a camera, or load its driver", "no V4L2 capture device");
}

/* The libcamera cameras (Raspberry Pi camera modules), by their spec. */
static void check_libcamera(struct doctor *d)
{
	json_t *cams, *c;
	size_t i;

	if (!cr_libcamera_available())
		return;
	cams = cr_libcamera_list_json();
	json_array_foreach(cams, i, c) {
		const char *error = json_string_value(json_object_get(c, "error"));
		json_t *array = json_object_get(c, "pixel_array");
		char sensor[48] = "";

		if (json_is_object(array))
			snprintf(sensor, sizeof(sensor), ", sensor %lldx%lld",
				 (long long)json_integer_value(json_object_get(array, "width")),
				 (long long)json_integer_value(json_object_get(array, "height")));
		if (error) {
			add(d, "camera", "libcamera", false, false, "see libcamera's log (LIBCAMERA_LOG_LEVELS=*:INFO)",
			    "%s", error);
			continue;
		}
		add(d, "camera", json_string_value(json_object_get(c, "spec")), true, false, NULL,
		    "libcamera: %s (model %s%s)%s", json_string_value(json_object_get(c, "id")),
		    json_string_value(json_object_get(c, "model")), sensor, json_is_true(json_object_get(c, "external")) ? "; a USB webcam: auto uses V4L2 for it" : "");
	}
	if (json_array_size(cams) == 0)
		add(d, "camera", "libcamera", false, false, "connect the camera module and enable it (camera_auto_detect=1)",
		    "no libcamera camera");
	json_decref(cams);
}

/* The sensor sub-devices a camera with a sensor: block sets up. */
static void check_subdevs(struct doctor *d, const struct cr_config *config)
{
	bool wanted = false;
	glob_t g;

	for (unsigned i = 0; i < config->ncameras; i++) {
		const struct cr_sensor_config *s = &config->cameras[i].sensor;

		wanted = wanted || s->entity || s->format || s->width || s->crop.width || s->ncontrols;
	}
	if (!wanted || glob("/dev/v4l-subdev*", 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		check_access(d, g.gl_pathv[i], true);
	globfree(&g);
}

static void check_aravis(struct doctor *d)
{
	struct cr_aravis_camera cams[16];
	int n;

	if (!cr_aravis_available())
		return;
	n = cr_aravis_cameras(cams, CR_ARRAY_SIZE(cams));
	for (int i = 0; i < n && i < (int)CR_ARRAY_SIZE(cams); i++) {
		char name[160];

		snprintf(name, sizeof(name), "aravis:%s", cams[i].id);
		add(d, "camera", name, !cams[i].error[0], false, "check its network (same subnet, MTU) or USB permissions",
		    "GenICam %s %s %s, serial %s at %s; formats %s%s%s", cams[i].interface, cams[i].vendor, cams[i].model,
		    cams[i].serial, cams[i].address, cams[i].formats[0] ? cams[i].formats : "none camrig reads",
		    cams[i].error[0] ? "; " : "", cams[i].error);
	}
	if (n == 0)
		add(d, "camera", "GenICam", false, false, "connect the camera; a GigE camera must be on this subnet",
		    "no GigE Vision or USB3 Vision camera found");
}

/* Opens each configured camera as `camrig run` would and closes it again. */
static void check_configured_cameras(struct doctor *d, const struct cr_config *config)
{
	int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	for (unsigned i = 0; i < config->ncameras; i++) {
		const struct cr_camera_config *cam = &config->cameras[i];
		struct cr_source *src = NULL;
		char name[192], got[160] = "", want[160] = "";
		int ret;

		snprintf(name, sizeof(name), "%s (%s)", cam->name, cam->source ? cam->source : "auto");
		if (v4l2_device(cam))
			check_access(d, v4l2_device(cam), true);
		if (cam->source && strncmp(cam->source, "url:", 4) == 0) {
			add(d, "camera", name, true, false, NULL, "a network stream: not opened here");
			continue;
		}
		ret = cr_source_new(cam, wake, &src);
		if (ret == 0)
			ret = src->ops->open(src);
		if (ret == 0) {
			const struct cr_source_format *f = &src->format;

			snprintf(got, sizeof(got), "%dx%d %s at %.3g fps", f->width, f->height, cr_fourcc_name(f->fourcc), f->fps);
			if ((cam->format && cam->format != f->fourcc) ||
			    (cam->width > 0 && (cam->width != f->width || cam->height != f->height)) ||
			    (cam->crop.width > 0 && (cam->crop.width != f->width || cam->crop.height != f->height)))
				snprintf(want, sizeof(want), "%s%s%s", cam->format ? cr_fourcc_name(cam->format) : "",
					 cam->format ? " " : "", cam->width > 0 ? "at the configured size" : "");
		}
		if (src) {
			src->ops->close(src);
			cr_source_free(&src);
		}
		if (ret < 0)
			add(d, "camera", name, false, true, "see the reason above; `camrig list` shows what there is",
			    "does not open: %s", cr_strerror(ret));
		else if (want[0])
			add(d, "camera", name, false, true, "choose a format and size `camrig list` shows for it",
			    "opens at %s, not %s", got, want);
		else
			add(d, "camera", name, true, true, NULL, "opens: %s", got);
	}
	if (wake >= 0)
		close(wake);
}

/* ---- disk, ports, clock, GPIO, ntfy ------------------------------------------------------ */

static void check_disk(struct doctor *d, const struct cr_config *config)
{
	for (unsigned i = 0; i < config->ncameras; i++) {
		const struct cr_recording_config *r = &config->cameras[i].recording;
		char dir[PATH_MAX];
		struct statvfs vfs;
		bool seen = false;
		double free_mb;

		for (unsigned j = 0; j < i; j++)
			seen = seen || strcmp(config->cameras[j].recording.root, r->root) == 0;
		if (seen)
			continue;
		/* the root, or the nearest directory above it that exists */
		snprintf(dir, sizeof(dir), "%s", r->root);
		while (statvfs(dir, &vfs) < 0) {
			char *slash = strrchr(dir, '/');

			if (!slash || slash == dir) {
				snprintf(dir, sizeof(dir), "%s", dir[0] == '/' ? "/" : ".");
				if (statvfs(dir, &vfs) < 0)
					vfs = (struct statvfs){ 0 };
				break;
			}
			*slash = '\0';
		}
		free_mb = (double)vfs.f_bavail * (double)vfs.f_frsize / (1024.0 * 1024.0);
		add(d, "disk", r->root, free_mb >= r->min_free_mb && access(dir, W_OK) == 0, true,
		    "free space there, or point recording.root elsewhere",
		    "%.0f MiB free in %s (recording.min_free_mb: %d)%s", free_mb, dir, r->min_free_mb,
		    access(dir, W_OK) == 0 ? "" : "; not writable by this user");
	}
}

static void check_port(struct doctor *d, const char *what, const char *spec)
{
	bool loopback;
	int fd, ret = cr_net_listen(spec, &fd, &loopback);

	if (ret == 0)
		close(fd);
	add(d, "port", what, ret == 0, true,
	    ret == -EADDRINUSE ? "stop what listens there (`ss -ltnp`), or choose another port" : "choose another address",
	    "%s: %s", spec, ret == 0 ? "free" : cr_strerror(ret));
}

static void check_ports(struct doctor *d, const struct cr_config *config)
{
	bool lsl = false;

	check_port(d, "http.listen", config->http.listen);
	for (unsigned i = 0; i < config->ncameras; i++) {
		char key[64];

		if (config->cameras[i].tcp_stream.enabled) {
			snprintf(key, sizeof(key), "cameras.%u.tcp_stream.listen", i);
			check_port(d, key, config->cameras[i].tcp_stream.listen);
		}
		lsl = lsl || config->cameras[i].lsl.enabled;
	}
	if (lsl) {
		char spec[32];
		int free_ports = 0;

		for (int p = CR_LSL_BASE_PORT; p < CR_LSL_BASE_PORT + CR_LSL_PORT_RANGE; p++) {
			bool loopback;
			int fd;

			snprintf(spec, sizeof(spec), "0.0.0.0:%d", p);
			if (cr_net_listen(spec, &fd, &loopback) == 0) {
				close(fd);
				free_ports++;
			}
		}
		add(d, "port", "lsl", free_ports > 0, true, "stop other LSL outlets, or free ports 16572..16603",
		    "%d of the LSL data ports %d..%d free", free_ports, CR_LSL_BASE_PORT,
		    CR_LSL_BASE_PORT + CR_LSL_PORT_RANGE - 1);
	}
}

static void check_clock(struct doctor *d)
{
	struct timex tx = { 0 };
	int state = adjtimex(&tx);
	bool synced = state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);

	add(d, "clock", "NTP", synced, false,
	    "enable a time daemon (systemctl enable --now systemd-timesyncd, or chrony): UTC timestamps depend on it",
	    "%s (estimated error %ld µs)", synced ? "the system clock is synchronized" : "the system clock is not synchronized",
	    (long)tx.esterror);
}

static void check_gpio(struct doctor *d, const struct cr_config *config)
{
	glob_t g;
	size_t n = 0;

	if (glob("/dev/gpiochip*", 0, NULL, &g) == 0) {
		n = g.gl_pathc;
		for (size_t i = 0; i < g.gl_pathc; i++)
			check_access(d, g.gl_pathv[i], false);
		globfree(&g);
	}
	if (!config->gpio.enabled) {
		if (n == 0)
			add(d, "gpio", "chips", true, false, NULL, "no GPIO chip (gpio is off)");
		return;
	}
#ifdef CAMRIG_HAVE_GPIOD
	{
		struct gpiod_chip *chip = gpiod_chip_open_lookup(config->gpio.chip);

		add(d, "gpio", config->gpio.chip, chip != NULL, true, "set gpio.chip to one of /dev/gpiochip* (gpiodetect)",
		    "%s", chip ? "opens" : strerror(errno));
		if (chip)
			gpiod_chip_close(chip);
	}
#else
	add(d, "gpio", config->gpio.chip, false, true, "install libgpiod-dev and build camrig again",
	    "gpio.enabled, but camrig was built without libgpiod");
#endif
}

/* ---- analysis ------------------------------------------------------------ */

/* Loads each enabled face model as the analysis stage does. */
static void check_analysis(struct doctor *d, const struct cr_config *config)
{
	if (!cr_cv_available())
		return;
	for (unsigned i = 0; i < config->ncameras; i++) {
		const struct cr_analysis_config *a = &config->cameras[i].analysis;
		struct cr_cv_faces *faces = NULL;
		char name[160], why[512];

		if (!a->faces.enabled)
			continue;
		snprintf(name, sizeof(name), "%s faces", config->cameras[i].name);
		if (cr_cv_faces_new(a->faces.model, &faces, why, sizeof(why)) == 0)
			snprintf(why, sizeof(why), "%s loads", a->faces.model);
		add(d, "analysis", name, faces != NULL, true,
		    "install opencv-data, or set analysis.faces.model to a cascade in /usr/share/opencv4", "%s", why);
		cr_cv_faces_free(&faces);
	}
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
	return size * n;
}

/* The first bytes of a reply: buf has room for len bytes and a NUL. */
struct reply_start {
	char *buf;
	size_t len, used;
};

/* A libcurl write callback keeping the first bytes of a reply (ctx: struct
 * reply_start), NUL-terminated. */
static size_t keep_start(char *data, size_t size, size_t n, void *ctx)
{
	struct reply_start *got = ctx;
	size_t take = size * n < got->len - got->used ? size * n : got->len - got->used;

	memcpy(got->buf + got->used, data, take);
	got->used += take;
	got->buf[got->used] = '\0';
	return size * n;
}

static void check_ntfy(struct doctor *d, const struct cr_config *config)
{
	CURL *curl;
	CURLcode res;
	long status = 0;

	if (!config->ntfy.enabled)
		return;
	curl = curl_easy_init();
	if (!curl)
		abort();
	curl_easy_setopt(curl, CURLOPT_URL, config->ntfy.server);
	curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, NTFY_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	res = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (res == CURLE_OK)
		add(d, "ntfy", config->ntfy.server, status > 0 && status < 500, true, "check ntfy.server",
		    "answers (HTTP %ld)", status);
	else
		add(d, "ntfy", config->ntfy.server, false, true, "check the network and ntfy.server", "%s",
		    curl_easy_strerror(res));
}

/* ---- the fleet's servers --------------------------------------------------------------- */

/* Whether something accepts TCP connections at host:port (a TCP connect
 * through libcurl, no data sent): "" when it does, else why not. */
static const char *tcp_reaches(const char *host, const char *port, char *why, size_t len)
{
	char url[600];
	CURL *curl = curl_easy_init();
	CURLcode res;

	if (!curl)
		abort();
	snprintf(url, sizeof(url), "http://%s%s%s:%s/", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
		 port);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, NTFY_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	res = curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	snprintf(why, len, "%s", res == CURLE_OK ? "" : curl_easy_strerror(res));
	return why;
}

/* mqtt.broker (HOST:PORT) and each camera's rtsp.url (rtsp:// or rtsps://,
 * RFC 7826: default ports 554 and 322) take TCP connections; each camera's
 * webrtc.janus answers Janus's GET /info (Janus's HTTP API) with its
 * server_info. webrtc.rtp is UDP: nothing to ask. */
static void check_fleet(struct doctor *d, const struct cr_config *config)
{
	char why[256];

	if (config->mqtt.enabled) {
		const char *colon = strrchr(config->mqtt.broker, ':');
		char host[256];

		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - config->mqtt.broker) : 0, config->mqtt.broker);
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		tcp_reaches(host, colon ? colon + 1 : "1883", why, sizeof(why));
		add(d, "mqtt", config->mqtt.broker, !why[0], true, "start the broker, or check the network and mqtt.broker",
		    "%s", why[0] ? why : "accepts connections");
	}
	for (unsigned i = 0; i < config->ncameras; i++) {
		const struct cr_camera_config *cc = &config->cameras[i];
		char key[64];

		if (cc->rtsp.enabled && cc->rtsp.url) {
			CURLU *u = curl_url();
			char *host = NULL, *port = NULL, where[300] = "";

			if (!u)
				abort();
			snprintf(key, sizeof(key), "cameras.%u.rtsp.url", i);
			if (curl_url_set(u, CURLUPART_URL, cc->rtsp.url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
			    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
				curl_url_get(u, CURLUPART_PORT, &port, 0);
				if (host[0] == '[' && host[strlen(host) - 1] == ']') {
					memmove(host, host + 1, strlen(host));
					host[strlen(host) - 1] = '\0';
				}
				snprintf(where, sizeof(where), "%s:%s", host,
					 port ? port : strncmp(cc->rtsp.url, "rtsps:", 6) == 0 ? "322" : "554");
				tcp_reaches(host, strrchr(where, ':') + 1, why, sizeof(why));
			} else {
				snprintf(why, sizeof(why), "not a URL with a host");
			}
			add(d, "rtsp", key, !why[0], true, "start the media server, or check the network and rtsp.url",
			    "%s: %s", where[0] ? where : cc->rtsp.url, why[0] ? why : "accepts connections");
			curl_free(host);
			curl_free(port);
			curl_url_cleanup(u);
		}
		if (cc->webrtc.enabled && cc->webrtc.janus) {
			char url[1100], body[512] = "";
			struct reply_start got = { body, sizeof(body) - 1, 0 };
			CURL *curl = curl_easy_init();
			CURLcode res;
			long status = 0;

			if (!curl)
				abort();
			snprintf(key, sizeof(key), "cameras.%u.webrtc.janus", i);
			snprintf(url, sizeof(url), "%s%sinfo", cc->webrtc.janus,
				 cc->webrtc.janus[strlen(cc->webrtc.janus) - 1] == '/' ? "" : "/");
			curl_easy_setopt(curl, CURLOPT_URL, url);
			curl_easy_setopt(curl, CURLOPT_TIMEOUT, NTFY_TIMEOUT_S);
			curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_start);
			curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
			res = curl_easy_perform(curl);
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_cleanup(curl);
			if (res != CURLE_OK)
				snprintf(why, sizeof(why), "%s", curl_easy_strerror(res));
			else if (status != 200 || !strstr(body, "\"server_info\""))
				snprintf(why, sizeof(why), "HTTP %ld without Janus's server_info: not Janus's HTTP API", status);
			else
				why[0] = '\0';
			add(d, "webrtc", key, !why[0], true, "start Janus with its HTTP transport, or check webrtc.janus",
			    "%s: %s", url, why[0] ? why : "Janus answers");
		}
	}
}

/* ---- output ------------------------------------------------------------------------------ */

static void print_text(const struct doctor *d, FILE *out)
{
	size_t i;
	json_t *c;

	json_array_foreach(d->checks, i, c) {
		const char *fix = json_string_value(json_object_get(c, "fix"));
		bool ok = json_is_true(json_object_get(c, "ok")), needed = json_is_true(json_object_get(c, "needed"));

		fprintf(out, "%s %-10s %s: %s%s%s%s\n", ok ? "✔" : "✘", json_string_value(json_object_get(c, "check")),
			json_string_value(json_object_get(c, "name")), json_string_value(json_object_get(c, "detail")),
			!ok && !needed ? " (not needed)" : "", fix ? " → " : "", fix ? fix : "");
	}
	fprintf(out, "%s\n", d->failed ? "✘ this machine cannot do all that the configuration asks"
				       : "✔ this machine can do what the configuration asks");
}

int cr_doctor_run(const struct cr_config *config, bool json, bool running, FILE *out)
{
	struct doctor d = { .checks = json_array() };

	if (!running)
		curl_global_init(CURL_GLOBAL_DEFAULT); /* the daemon's is done */
	check_libraries(&d, config);
	check_encoders(&d, config);
	check_v4l2(&d, config);
	check_subdevs(&d, config);
	if (!running) {
		check_libcamera(&d);
		check_aravis(&d);
		check_configured_cameras(&d, config);
	}
	check_disk(&d, config);
	if (!running)
		check_ports(&d, config);
	check_clock(&d);
	check_gpio(&d, config);
	check_ntfy(&d, config);
	check_analysis(&d, config);
	check_fleet(&d, config);
	if (!running)
		curl_global_cleanup();
	if (json) {
		json_t *report = json_pack("{s:b, s:O}", "ok", !d.failed, "checks", d.checks);

		json_dumpf(report, out, JSON_INDENT(2));
		fputc('\n', out);
		json_decref(report);
	} else {
		print_text(&d, out);
	}
	json_decref(d.checks);
	return d.failed ? 1 : 0;
}
