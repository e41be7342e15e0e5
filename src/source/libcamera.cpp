/* libcamera source ("libcamera", "libcamera:INDEX", "libcamera:ID"): the thin
 * C++ adapter between libcamera's camera API and camrig's source ops. Only
 * this file (and OpenCV's adapter) is C++; it speaks camrig's C interfaces
 * and owns nothing camrig's C code has to know about. It is built as the
 * module camrig-libcamera.so (libcamera_module.h: its one exported table),
 * which libcamera.c loads when camrig first needs libcamera.
 *
 * open() picks the camera, acquires it, asks for one stream (role
 * VideoRecording, or Raw when the configured format is a raw sensor format),
 * sets pixel format, size and buffer count and lets the pipeline validate()
 * them (an adjustment is a warning naming what was chosen, an invalid
 * request an error naming what the camera offers), allocates the buffers
 * (FrameBufferAllocator), maps their dmabufs once, and starts the camera
 * with the configured controls and the frame rate as FrameDurationLimits.
 *
 * Zero-copy: every completed request is handed to the camera thread through
 * a queue and an eventfd (libcamera completes requests on its own thread).
 * read() wraps the request's mapped planes in the pooled frame
 * (cr_frame_wrap()); the frame's last unref — on whichever consumer's thread —
 * queues the request to libcamera again. So that capture never waits on a
 * consumer, at least half the requests always stay with libcamera: when
 * consumers hold the rest, read() copies the frame into the pool's memory and
 * queues the request again at once (counted, logged at close). A NULL frame
 * (the pool exhausted) gives the request straight back.
 *
 * Time: a frame's mono_ns is the request's SensorTimestamp (or the buffer's
 * timestamp): the time the sensor started the frame, taken by the kernel's
 * CSI-2 receiver driver as the V4L2 buffer timestamp, which is
 * CLOCK_MONOTONIC on every driver libcamera supports (libcamera's control
 * documentation says CLOCK_BOOTTIME; the two differ only after a suspend).
 * A timestamp more than a second ahead of CLOCK_MONOTONIC but within a second
 * of CLOCK_BOOTTIME is taken as BOOTTIME and mapped to MONOTONIC, so mono_ns
 * is always CLOCK_MONOTONIC, as the sidecar and LSL need. UTC follows from the
 * camera thread's offset. The sequence number is libcamera's FrameMetadata
 * sequence (the V4L2 one, from 0 at each start): frames the pipeline drops
 * are gaps, as for V4L2.
 *
 * Controls by libcamera's own names and units (ExposureTime µs, AnalogueGain,
 * AeEnable, ScalerCrop x,y,w,h, ...), matched ignoring case and '_' (so
 * exposure_time works too), vendor controls with or without "vendor::".
 * Values are checked against the camera's ControlInfoMap; the configuration's
 * go with start(), live ones with the next request queued.
 *
 * libcamera versions: Debian bookworm's 0.0.3 and Raspberry Pi OS's newer
 * ones (0.4+); the differences used here are guarded by LIBCAMERA_VERSION_*:
 * generateConfiguration() takes a vector (0.0.x) or a span (0.1+), enum
 * controls have names (ControlId::enumerators(), 0.4+), array controls say so
 * (ControlId::isArray(), 0.4+), cameras list their device nodes
 * (properties::SystemDevices, 0.1+), R16 exists (0.1+).
 *
 * Threads: open/read/close on the camera thread; set_control on any thread
 * while open (under the session's lock); frame releases on any thread. The
 * session (camera, buffers, mappings) is refcounted: close() stops the camera
 * and drops its reference, and frames still held by consumers keep the
 * mappings valid until their last unref. One CameraManager per process
 * (libcamera allows no more), refcounted by its users.
 *
 * Reference: libcamera's include/libcamera/{camera,camera_manager,request,
 * framebuffer,framebuffer_allocator,controls,stream}.h and control_ids.yaml;
 * linux/dma-buf.h for DMA_BUF_IOCTL_SYNC. */
#include "source/libcamera_module.h"
#include "source/media.h"
#include "source/source.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"
#include "base/time.h"

#include <libcamera/libcamera.h>
#include <libcamera/version.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include <fcntl.h>
#include <strings.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

using namespace libcamera;

#define LC_AT_LEAST(major, minor) \
	(LIBCAMERA_VERSION_MAJOR > (major) || (LIBCAMERA_VERSION_MAJOR == (major) && LIBCAMERA_VERSION_MINOR >= (minor)))

namespace {

/* read() reports the camera as lost after no frame for this long (ns), or
 * ten frame intervals when that is longer. */
constexpr int64_t STALL_TIMEOUT_NS = 5 * CR_NS_PER_SEC;
/* Requests asked for when the configuration says fewer. */
constexpr unsigned MIN_REQUESTS = 4;
/* Longest list of names or values put into one message, in bytes. */
constexpr size_t LIST_MAX = 600;

/* ---- pixel formats ---------------------------------------------------------
 * camrig names formats by their V4L2 FourCC; libcamera by DRM's. Note the
 * RGB pair: libcamera's BGR888 is R, G, B in memory (V4L2 RGB24). */
struct format_map {
	uint32_t fourcc;
	PixelFormat format;
	bool raw;                       /* a sensor format: the Raw stream role */
};

const format_map formats_table[] = {
	{ CR_FMT_MJPEG, formats::MJPEG, false },
	{ CR_FMT_YUYV, formats::YUYV, false },
	{ CR_FMT_NV12, formats::NV12, false },
	{ CR_FMT_YU12, formats::YUV420, false },
	{ CR_FMT_GREY, formats::R8, false },
	{ CR_FMT_RGB24, formats::BGR888, false },
	{ CR_FMT_BGR24, formats::RGB888, false },
	{ CR_FOURCC('Y', '1', '0', ' '), formats::R10, true },
	{ CR_FOURCC('Y', '1', '0', 'P'), formats::R10_CSI2P, true },
	{ CR_FOURCC('Y', '1', '2', ' '), formats::R12, true },
#if LC_AT_LEAST(0, 1)
	{ CR_FOURCC('Y', '1', '6', ' '), formats::R16, true },
#endif
	{ CR_FOURCC('B', 'A', '8', '1'), formats::SBGGR8, true },
	{ CR_FOURCC('G', 'B', 'R', 'G'), formats::SGBRG8, true },
	{ CR_FOURCC('G', 'R', 'B', 'G'), formats::SGRBG8, true },
	{ CR_FOURCC('R', 'G', 'G', 'B'), formats::SRGGB8, true },
	{ CR_FOURCC('B', 'G', '1', '0'), formats::SBGGR10, true },
	{ CR_FOURCC('G', 'B', '1', '0'), formats::SGBRG10, true },
	{ CR_FOURCC('B', 'A', '1', '0'), formats::SGRBG10, true },
	{ CR_FOURCC('R', 'G', '1', '0'), formats::SRGGB10, true },
	{ CR_FOURCC('p', 'B', 'A', 'A'), formats::SBGGR10_CSI2P, true },
	{ CR_FOURCC('p', 'G', 'A', 'A'), formats::SGBRG10_CSI2P, true },
	{ CR_FOURCC('p', 'g', 'A', 'A'), formats::SGRBG10_CSI2P, true },
	{ CR_FOURCC('p', 'R', 'A', 'A'), formats::SRGGB10_CSI2P, true },
	{ CR_FOURCC('B', 'G', '1', '2'), formats::SBGGR12, true },
	{ CR_FOURCC('G', 'B', '1', '2'), formats::SGBRG12, true },
	{ CR_FOURCC('B', 'A', '1', '2'), formats::SGRBG12, true },
	{ CR_FOURCC('R', 'G', '1', '2'), formats::SRGGB12, true },
	{ CR_FOURCC('B', 'Y', 'R', '2'), formats::SBGGR16, true },
	{ CR_FOURCC('G', 'B', '1', '6'), formats::SGBRG16, true },
	{ CR_FOURCC('G', 'R', '1', '6'), formats::SGRBG16, true },
	{ CR_FOURCC('R', 'G', '1', '6'), formats::SRGGB16, true },
};

const format_map *map_of_fourcc(uint32_t fourcc)
{
	for (const format_map &m : formats_table)
		if (m.fourcc == fourcc)
			return &m;
	return nullptr;
}

const format_map *map_of_format(const PixelFormat &format)
{
	for (const format_map &m : formats_table)
		if (m.format == format)
			return &m;
	return nullptr;
}

/* camrig's name of a libcamera format when it has one ("RGB24 (BGR888)"),
 * else libcamera's. */
std::string format_name(const PixelFormat &format)
{
	const format_map *m = map_of_format(format);
	char s[5];

	if (!m)
		return format.toString();
	const char *name = cr_fourcc_is_supported(m->fourcc) ? cr_fourcc_name(m->fourcc) : cr_fourcc_str(m->fourcc, s);
	if (format.toString() == name)
		return name;
	return std::string(name) + " (" + format.toString() + ")";
}

/* ---- text ----------------------------------------------------------------- */

std::string strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string strprintf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

/* Lowercase, letters and digits only: "ExposureTime", "exposure_time" and
 * "rpi::ExposureTime" all become "exposuretime". */
std::string control_key(const std::string &name)
{
	std::string key, n = name;
	size_t colons = n.rfind("::");

	if (colons != std::string::npos)
		n = n.substr(colons + 2);
	for (char c : n)
		if (isalnum((unsigned char)c))
			key += (char)tolower((unsigned char)c);
	return key;
}

/* Appends s to the bounded list ("a, b, c", then "..."). */
void list_add(std::string &list, const std::string &s)
{
	if (list.size() >= 3 && list.compare(list.size() - 3, 3, "...") == 0)
		return;
	if (list.size() + s.size() + 8 > LIST_MAX) {
		list += list.empty() ? "..." : ", ...";
		return;
	}
	list += (list.empty() ? "" : ", ") + s;
}

/* ---- libcamera's log into camrig's ----------------------------------------
 * libcamera writes whole lines ("[0:00:01.2] [123]  WARN Camera camera.cpp:1
 * text") to a stream; this one hands each line to cr_log at the level its
 * severity word says (ERROR and FATAL: error, WARN: warn, the rest: debug). */
class log_buf : public std::stringbuf
{
public:
	int sync() override
	{
		std::string text = str();
		size_t start = 0, nl;

		while ((nl = text.find('\n', start)) != std::string::npos) {
			emit(text.substr(start, nl - start));
			start = nl + 1;
		}
		str(text.substr(start));
		return 0;
	}

private:
	static void emit(const std::string &line)
	{
		enum cr_log_level level = CR_LOG_DEBUG;
		size_t at = line.find("] ", line.find("] ") + 2);
		std::string rest = at == std::string::npos ? line : line.substr(at + 2);

		rest.erase(0, rest.find_first_not_of(' '));
		if (rest.rfind("ERROR", 0) == 0 || rest.rfind("FATAL", 0) == 0)
			level = CR_LOG_ERROR;
		else if (rest.rfind("WARN", 0) == 0)
			level = CR_LOG_WARN;
		cr_log(level, "libcamera: %s", rest.c_str());
	}
};

/* ---- the camera manager -----------------------------------------------------
 * One per process, started by its first user and stopped with its last. */
std::mutex manager_lock;
std::unique_ptr<CameraManager> manager;
unsigned manager_users;

CameraManager *manager_get(int *err)
{
	static log_buf buf;
	static std::ostream stream(&buf);
	std::lock_guard<std::mutex> guard(manager_lock);

	if (!manager) {
		logSetStream(&stream, false);
		if (!getenv("LIBCAMERA_LOG_LEVELS"))
			logSetLevel("*", "WARN");
		auto m = std::make_unique<CameraManager>();
		int ret = m->start();

		if (ret < 0) {
			*err = ret;
			return nullptr;
		}
		manager = std::move(m);
	}
	manager_users++;
	return manager.get();
}

void manager_put()
{
	std::lock_guard<std::mutex> guard(manager_lock);

	if (manager_users > 0 && --manager_users == 0) {
		manager->stop();
		manager.reset();
	}
}

/* The camera a location names: "" the first, digits an index from 0, else
 * an id as `cam -l` prints it. */
std::shared_ptr<Camera> find_camera(CameraManager *cm, const std::string &location, std::string *known)
{
	std::vector<std::shared_ptr<Camera>> cams = cm->cameras();
	bool index = !location.empty() && location.find_first_not_of("0123456789") == std::string::npos;

	for (size_t i = 0; i < cams.size(); i++)
		list_add(*known, strprintf("%zu: %s", i, cams[i]->id().c_str()));
	if (location.empty())
		return cams.empty() ? nullptr : cams[0];
	if (index) {
		unsigned long i = strtoul(location.c_str(), nullptr, 10);

		return i < cams.size() ? cams[i] : nullptr;
	}
	return cm->get(location);
}

std::string camera_model(const Camera &cam)
{
	std::optional<std::string> model = cam.properties().get(properties::Model);

	return model ? *model : "";
}

/* A USB webcam (libcamera's uvcvideo pipeline says so with this location). */
bool camera_external(const Camera &cam)
{
	std::optional<int32_t> loc = cam.properties().get(properties::Location);

	return loc && *loc == properties::CameraLocationExternal;
}

std::unique_ptr<CameraConfiguration> generate(Camera &cam, StreamRole role)
{
	std::vector<StreamRole> roles{ role };

	return cam.generateConfiguration(roles);
}

/* ---- control values --------------------------------------------------------
 * Parsing a value for a control by its type, and describing what is valid. */

/* Elements of an array control, 1 for a scalar, 0 for an array of any length. */
size_t control_elements(const ControlId *id)
{
#if LC_AT_LEAST(0, 4)
	return id->isArray() ? id->size() : 1;
#else
	/* 0.0.x's ControlId does not say; these are its array controls. */
	if (id->id() == controls::FrameDurationLimits.id() || id->id() == controls::ColourGains.id())
		return 2;
	if (id->id() == controls::SensorBlackLevels.id())
		return 4;
	if (id->id() == controls::ColourCorrectionMatrix.id())
		return 9;
	if (id->id() == controls::AfWindows.id())
		return 0;
	return 1;
#endif
}

/* The name of an enum control's value (0.4+), or "". */
std::string enum_name(const ControlId *id, int32_t v)
{
#if LC_AT_LEAST(0, 4)
	auto it = id->enumerators().find(v);

	if (it != id->enumerators().end())
		return it->second;
#else
	(void)id;
	(void)v;
#endif
	return "";
}

std::string type_name(ControlType t)
{
	switch (t) {
	case ControlTypeBool: return "bool";
	case ControlTypeByte: return "byte";
	case ControlTypeInteger32: return "int32";
	case ControlTypeInteger64: return "int64";
	case ControlTypeFloat: return "float";
	case ControlTypeString: return "string";
	case ControlTypeRectangle: return "rectangle";
	case ControlTypeSize: return "size";
	default: return "other";
	}
}

/* What values a control takes, for messages and `camrig list`:
 * "-1..1 (default 0)", "one of: 0 \"Manual\", 1 \"Auto\"", "true or false". */
std::string describe(const ControlId *id, const ControlInfo &info)
{
	std::string s;

	if (id->type() == ControlTypeBool)
		return "true or false";
	if (!info.values().empty() && id->type() == ControlTypeInteger32) {
		std::string list;

		for (const ControlValue &v : info.values()) {
			int32_t i = v.get<int32_t>();
			std::string name = enum_name(id, i);

			list_add(list, name.empty() ? strprintf("%d", i) : strprintf("%d \"%s\"", i, name.c_str()));
		}
		return "one of: " + list;
	}
	if (id->type() == ControlTypeRectangle)
		s = "x,y,width,height within " + info.max().toString();
	else if (id->type() == ControlTypeSize)
		s = "WIDTHxHEIGHT, " + info.min().toString() + ".." + info.max().toString();
	else
		s = info.min().toString() + ".." + info.max().toString();
	size_t n = control_elements(id);
	if (n != 1)
		s = (n ? strprintf("%zu", n) : std::string("a list of")) + " comma-separated values, each " + s;
	if (!info.def().isNone())
		s += " (default " + info.def().toString() + ")";
	return s;
}

bool parse_bool(const std::string &t, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" }, *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(t.c_str(), yes[i]) == 0 || strcasecmp(t.c_str(), no[i]) == 0) {
			*out = strcasecmp(t.c_str(), yes[i]) == 0;
			return true;
		}
	}
	return false;
}

bool parse_int(const std::string &t, int64_t *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(t.c_str(), &end, 0);
	if (errno || end == t.c_str() || *end)
		return false;
	*out = v;
	return true;
}

bool parse_float(const std::string &t, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(t.c_str(), &end);
	if (errno || end == t.c_str() || *end || !std::isfinite(v))
		return false;
	*out = v;
	return true;
}

std::vector<std::string> split(const std::string &t, char sep)
{
	std::vector<std::string> parts;
	std::string cur;

	for (char c : t) {
		if (c == sep) {
			parts.push_back(cur);
			cur.clear();
		} else if (c != ' ') {
			cur += c;
		}
	}
	parts.push_back(cur);
	return parts;
}

/* One element of a scalar type, range-checked against info. */
bool parse_scalar(const ControlId *id, const ControlInfo &info, const std::string &t, ControlValue *out)
{
	int64_t i;
	double d;
	bool b;

	switch (id->type()) {
	case ControlTypeBool:
		if (!parse_bool(t, &b))
			return false;
		*out = ControlValue(b);
		return true;
	case ControlTypeByte:
	case ControlTypeInteger32:
	case ControlTypeInteger64: {
		if (!parse_int(t, &i)) {
			/* An enum value by its name (0.4+), case and '_' ignored. */
			bool found = false;

			for (const ControlValue &v : info.values())
				if (id->type() == ControlTypeInteger32 &&
				    control_key(enum_name(id, v.get<int32_t>())) == control_key(t) && !control_key(t).empty()) {
					i = v.get<int32_t>();
					found = true;
				}
			if (!found)
				return false;
		}
		if (!info.values().empty()) {
			bool ok = false;

			for (const ControlValue &v : info.values())
				ok = ok || (id->type() == ControlTypeInteger32 ? v.get<int32_t>() == i : v.toString() == t);
			if (!ok)
				return false;
		}
		if (id->type() == ControlTypeInteger32) {
			if (i < INT32_MIN || i > INT32_MAX ||
			    (!info.min().isNone() && info.min().type() == ControlTypeInteger32 && i < info.min().get<int32_t>()) ||
			    (!info.max().isNone() && info.max().type() == ControlTypeInteger32 && i > info.max().get<int32_t>()))
				return false;
			*out = ControlValue((int32_t)i);
		} else if (id->type() == ControlTypeInteger64) {
			if ((!info.min().isNone() && info.min().type() == ControlTypeInteger64 && i < info.min().get<int64_t>()) ||
			    (!info.max().isNone() && info.max().type() == ControlTypeInteger64 && i > info.max().get<int64_t>()))
				return false;
			*out = ControlValue((int64_t)i);
		} else {
			if (i < 0 || i > 255)
				return false;
			*out = ControlValue((uint8_t)i);
		}
		return true;
	}
	case ControlTypeFloat:
		if (!parse_float(t, &d))
			return false;
		if ((!info.min().isNone() && info.min().type() == ControlTypeFloat && d < info.min().get<float>()) ||
		    (!info.max().isNone() && info.max().type() == ControlTypeFloat && d > info.max().get<float>()))
			return false;
		*out = ControlValue((float)d);
		return true;
	case ControlTypeRectangle: {
		std::vector<std::string> p = split(t, ',');
		int64_t v[4];

		if (p.size() != 4)
			return false;
		for (int k = 0; k < 4; k++)
			if (!parse_int(p[k], &v[k]) || v[k] < 0 || v[k] > 65535)
				return false;
		Rectangle r((int)v[0], (int)v[1], (unsigned)v[2], (unsigned)v[3]);
		if (!info.max().isNone() && info.max().type() == ControlTypeRectangle) {
			Rectangle bounds = info.max().get<Rectangle>();
			/* ScalerCrop's max is the sensor's whole output, in its own coordinates. */
			if (r.width == 0 || r.height == 0 || r.x + (int64_t)r.width > bounds.x + (int64_t)bounds.width ||
			    r.y + (int64_t)r.height > bounds.y + (int64_t)bounds.height)
				return false;
		}
		*out = ControlValue(r);
		return true;
	}
	case ControlTypeSize: {
		unsigned w, h;
		char end;

		if (sscanf(t.c_str(), "%ux%u%c", &w, &h, &end) != 2)
			return false;
		*out = ControlValue(Size(w, h));
		return true;
	}
	default:
		return false;
	}
}

/* Parses text for the control id. Returns 0, or -EINVAL with *why. */
int parse_control(const ControlId *id, const ControlInfo &info, const std::string &text, ControlValue *out,
		  std::string *why)
{
	size_t n = control_elements(id);

	*why = "expected " + describe(id, info);
	if (n == 1)
		return parse_scalar(id, info, text, out) ? 0 : -EINVAL;
	std::vector<std::string> parts = split(text, ',');
	if ((n && parts.size() != n) || parts.empty())
		return -EINVAL;
	std::vector<ControlValue> elems(parts.size());
	for (size_t k = 0; k < parts.size(); k++)
		if (!parse_scalar(id, info, parts[k], &elems[k]))
			return -EINVAL;
	switch (id->type()) {
	case ControlTypeFloat: {
		std::vector<float> v;
		for (auto &e : elems)
			v.push_back(e.get<float>());
		out->set(Span<const float>(v));
		return 0;
	}
	case ControlTypeInteger32: {
		std::vector<int32_t> v;
		for (auto &e : elems)
			v.push_back(e.get<int32_t>());
		out->set(Span<const int32_t>(v));
		return 0;
	}
	case ControlTypeInteger64: {
		std::vector<int64_t> v;
		for (auto &e : elems)
			v.push_back(e.get<int64_t>());
		out->set(Span<const int64_t>(v));
		return 0;
	}
	default:
		*why = "an array of " + type_name(id->type()) + " cannot be set from camrig";
		return -EINVAL;
	}
}

/* Finds the camera's control named name. Returns the entry, or end() with
 * *names listing the controls there are. */
ControlInfoMap::const_iterator find_control(const ControlInfoMap &map, const std::string &name, std::string *names)
{
	std::string key = control_key(name);
	std::vector<std::string> all;

	for (auto it = map.begin(); it != map.end(); ++it) {
		if (control_key(it->first->name()) == key)
			return it;
		all.push_back(it->first->name());
	}
	std::sort(all.begin(), all.end());
	for (const std::string &s : all)
		list_add(*names, s);
	return map.end();
}

/* ---- the session -------------------------------------------------------------
 * One configured, streaming camera: what frames out in the pipeline point
 * into. Refcounted: the source holds one reference while open, each wrapped
 * frame one. */
struct mapping {
	uint8_t *plane[CR_MAX_PLANES];
	size_t length[CR_MAX_PLANES];   /* bytes of each plane */
	int fd[CR_MAX_PLANES];          /* the plane's dmabuf (not owned) */
	int nplanes;
	std::vector<std::pair<void *, size_t>> maps; /* what to munmap */
};

struct session;

struct slot {
	session *s;
	Request *request;
	unsigned index;
};

struct session {
	std::atomic<int> refs{ 1 };
	CameraManager *cm = nullptr;
	std::shared_ptr<Camera> camera;
	bool acquired = false;
	std::unique_ptr<CameraConfiguration> config;
	Stream *stream = nullptr;
	std::unique_ptr<FrameBufferAllocator> allocator;
	std::vector<std::unique_ptr<Request>> requests;
	std::vector<mapping> maps;       /* by request index */
	std::vector<slot> slots;         /* by request index */
	std::string name;                /* for messages: "libcamera:0 (Sensor B)" */

	std::mutex lock;                 /* guards what follows */
	int event_fd = -1;               /* readable: completed is not empty, or lost */
	std::deque<Request *> completed;
	bool streaming = false;
	bool lost = false;
	unsigned queued = 0;             /* requests with libcamera */
	std::unique_ptr<ControlList> pending; /* live controls for the next request */
	/* Each control's latest known value, by id, for list_controls: as set
	 * (the configuration's, live ones), then as the last completed
	 * request's metadata reports it (what the pipeline applied). */
	std::map<unsigned int, ControlValue> known;

	/* Notes the values of list as known. Under lock. */
	void note(const ControlList &list)
	{
		for (const auto &v : list)
			known[v.first] = v.second;
	}

	~session()
	{
		for (mapping &m : maps)
			for (auto &p : m.maps)
				munmap(p.first, p.second);
		requests.clear();
		if (allocator && stream)
			allocator->free(stream);
		allocator.reset();
		config.reset();
		if (camera && acquired)
			camera->release();
		camera.reset();
		if (event_fd >= 0)
			close(event_fd);
		if (cm)
			manager_put();
	}

	void ref() { refs.fetch_add(1, std::memory_order_relaxed); }

	void unref()
	{
		if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
			delete this;
	}

	void wake()
	{
		uint64_t one = 1;

		(void)!write(event_fd, &one, sizeof(one));
	}

	/* libcamera's thread: a request is done (or cancelled by stop()). */
	void on_completed(Request *request)
	{
		std::lock_guard<std::mutex> guard(lock);

		if (queued > 0)
			queued--;
		completed.push_back(request);
		wake();
	}

	void on_disconnected()
	{
		std::lock_guard<std::mutex> guard(lock);

		lost = true;
		wake();
	}

	/* Gives request back to libcamera with the pending live controls, if
	 * still streaming. Any thread. */
	void requeue(Request *request)
	{
		std::unique_lock<std::mutex> guard(lock);

		if (!streaming)
			return;
		request->reuse(Request::ReuseBuffers);
		if (pending) {
			request->controls().merge(*pending);
			pending.reset();
		}
		queued++;
		guard.unlock();
		int ret = camera->queueRequest(request);
		if (ret < 0) {
			guard.lock();
			queued--;
			cr_debug("%s: cannot queue a request: %s", name.c_str(), cr_strerror(ret));
		}
	}
};

void sync_planes(const mapping &m, uint64_t flags)
{
	for (int p = 0; p < m.nplanes; p++) {
		struct dma_buf_sync sync = { flags | DMA_BUF_SYNC_READ };

		if (p > 0 && m.fd[p] == m.fd[p - 1])
			continue;
		(void)ioctl(m.fd[p], DMA_BUF_IOCTL_SYNC, &sync);
	}
}

/* A wrapped frame's last unref (any thread). */
void release_slot(void *opaque)
{
	slot *sl = static_cast<slot *>(opaque);
	session *s = sl->s;

	sync_planes(s->maps[sl->index], DMA_BUF_SYNC_END);
	s->requeue(sl->request);
	s->unref();
}

/* Maps every plane of buffer once per dmabuf (planes of one buffer often
 * share a dmabuf at different offsets). Returns 0 or -errno. */
int map_buffer(const FrameBuffer *buffer, mapping *m)
{
	const std::vector<FrameBuffer::Plane> &planes = buffer->planes();
	std::map<int, std::pair<uint8_t *, size_t>> by_fd;

	m->nplanes = (int)std::min<size_t>(planes.size(), CR_MAX_PLANES);
	for (int p = 0; p < m->nplanes; p++) {
		int fd = planes[p].fd.get();
		size_t end = (size_t)planes[p].offset + planes[p].length;

		if (planes[p].offset == FrameBuffer::Plane::kInvalidOffset)
			return -EINVAL;
		auto it = by_fd.find(fd);
		if (it == by_fd.end() || it->second.second < end)
			by_fd[fd] = { nullptr, std::max(end, it == by_fd.end() ? 0 : it->second.second) };
	}
	for (auto &entry : by_fd) {
		void *addr = mmap(nullptr, entry.second.second, PROT_READ, MAP_SHARED, entry.first, 0);

		if (addr == MAP_FAILED)
			return -errno;
		entry.second.first = static_cast<uint8_t *>(addr);
		m->maps.push_back({ addr, entry.second.second });
	}
	for (int p = 0; p < m->nplanes; p++) {
		m->fd[p] = planes[p].fd.get();
		m->plane[p] = by_fd[m->fd[p]].first + planes[p].offset;
		m->length[p] = planes[p].length;
	}
	return 0;
}

/* ---- the source ------------------------------------------------------------ */

struct priv {
	session *s = nullptr;            /* NULL while closed */
	int timeout_ms = 0;
	unsigned min_queued = 2;         /* requests kept with libcamera; below: copy */
	struct cr_plane_layout layout {};
	bool compressed = false;
	/* counters since open(), logged by close() */
	uint64_t delivered = 0, copied = 0, skipped = 0, boottime = 0;
};

/* Maps a frame timestamp (ns) to CLOCK_MONOTONIC, see the design comment. */
int64_t to_monotonic(int64_t ts, uint64_t *boottime)
{
	struct timespec mono, boot;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	if (ts <= cr_time_from_ts(&mono) + CR_NS_PER_SEC)
		return ts;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	int64_t offset = cr_time_from_ts(&boot) - cr_time_from_ts(&mono);
	if (std::llabs(ts - cr_time_from_ts(&boot)) < CR_NS_PER_SEC) {
		(*boottime)++;
		return ts - offset;
	}
	return ts;
}

int lc_apply_controls(session *s, const struct cr_control_setting *settings, unsigned n, ControlList *list)
{
	const ControlInfoMap &map = s->camera->controls();

	for (unsigned i = 0; i < n; i++) {
		std::string names, why, where = s->name + ": control";
		ControlValue value;

		if (settings[i].line > 0)
			where += strprintf(" (config line %d)", settings[i].line);
		auto it = find_control(map, settings[i].name, &names);
		if (it == map.end())
			return cr_log_ret(-ENOENT, CR_LOG_ERROR, "%s \"%s\": no such control (the camera has: %s)",
					  where.c_str(), settings[i].name, names.empty() ? "no controls" : names.c_str());
		if (parse_control(it->first, it->second, settings[i].value, &value, &why) < 0)
			return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s \"%s\": bad value \"%s\" (%s)", where.c_str(),
					  it->first->name().c_str(), settings[i].value, why.c_str());
		list->set(it->first->id(), value);
		cr_info("%s: %s = %s", s->name.c_str(), it->first->name().c_str(), value.toString().c_str());
	}
	return 0;
}

/* The formats and sizes a stream configuration offers, for messages. */
std::string offered(const StreamConfiguration &cfg)
{
	std::string list;

	for (const PixelFormat &f : cfg.formats().pixelformats()) {
		SizeRange r = cfg.formats().range(f);

		list_add(list, format_name(f) + " " + r.min.toString() + ".." + r.max.toString());
	}
	return list.empty() ? "nothing" : list;
}

/* Picks the pixel format: the configured one, else the stream's default
 * when camrig can use it, else the first camrig prefers that it offers.
 * Returns 0 or CR_EFORMAT after logging. */
int choose_format(session *s, const struct cr_camera_config *cfg, StreamConfiguration &sc)
{
	std::vector<PixelFormat> offers = sc.formats().pixelformats();
	char fs[5];

	if (cfg->format) {
		const format_map *m = map_of_fourcc(cfg->format == CR_FMT_JPEG ? CR_FMT_MJPEG : cfg->format);

		if (!m)
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: camrig cannot use format %s with libcamera "
					  "(the camera offers: %s)", s->name.c_str(), cr_fourcc_str(cfg->format, fs),
					  offered(sc).c_str());
		if (std::find(offers.begin(), offers.end(), m->format) == offers.end())
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: format %s is not offered (the camera offers: %s)",
					  s->name.c_str(), format_name(m->format).c_str(), offered(sc).c_str());
		sc.pixelFormat = m->format;
		return 0;
	}
	const format_map *own = map_of_format(sc.pixelFormat);
	if (own && cr_fourcc_is_supported(own->fourcc))
		return 0;
	for (int k = 0; cr_fourcc_supported[k]; k++) {
		const format_map *m = map_of_fourcc(cr_fourcc_supported[k]);

		if (m && std::find(offers.begin(), offers.end(), m->format) != offers.end()) {
			sc.pixelFormat = m->format;
			return 0;
		}
	}
	return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: offers no format camrig can use (it offers: %s)",
			  s->name.c_str(), offered(sc).c_str());
}

void lc_close(struct cr_source *src);

int lc_open(struct cr_source *src)
{
	const struct cr_camera_config *cfg = src->config;
	struct cr_source_format *out = &src->format;
	priv *p = static_cast<priv *>(src->priv);
	std::string known, loc = src->location ? src->location : "";
	char fs[5];
	int ret = 0;

	if (!p) {
		p = new priv;
		src->priv = p;
	}
	lc_close(src);
	*p = priv();
	session *s = new session;
	s->name = "libcamera" + (loc.empty() ? std::string() : ":" + loc);
	s->cm = manager_get(&ret);
	if (!s->cm) {
		cr_err("%s: libcamera's camera manager does not start: %s", s->name.c_str(), cr_strerror(ret));
		s->unref();
		return ret;
	}
	s->camera = find_camera(s->cm, loc, &known);
	if (!s->camera) {
		cr_err("%s: no such camera (libcamera has: %s; `camrig list` shows them)", s->name.c_str(),
		       known.empty() ? "no cameras" : known.c_str());
		s->unref();
		return -ENODEV;
	}
	s->name = "libcamera:" + s->camera->id();
	ret = s->camera->acquire();
	if (ret < 0) {
		cr_err("%s: cannot acquire the camera: %s", s->name.c_str(),
		       ret == -EBUSY ? "another program is using it" : cr_strerror(ret));
		s->unref();
		return ret;
	}
	s->acquired = true;

	/* The stream: role, format, size, buffers; then what the pipeline makes of it. */
	const format_map *asked = cfg->format ? map_of_fourcc(cfg->format) : nullptr;
	s->config = generate(*s->camera, asked && asked->raw ? StreamRole::Raw : StreamRole::VideoRecording);
	if (!s->config || s->config->empty()) {
		cr_err("%s: the camera offers no %s stream", s->name.c_str(), asked && asked->raw ? "raw" : "video");
		s->unref();
		return -ENODEV;
	}
	StreamConfiguration &sc = s->config->at(0);
	if ((ret = choose_format(s, cfg, sc)) < 0) {
		s->unref();
		return ret;
	}
	PixelFormat want_format = sc.pixelFormat;
	if (cfg->width > 0 && cfg->height > 0)
		sc.size = Size((unsigned)cfg->width, (unsigned)cfg->height);
	sc.bufferCount = std::max({ sc.bufferCount, cfg->buffers, MIN_REQUESTS });
	switch (s->config->validate()) {
	case CameraConfiguration::Invalid:
		cr_err("%s: the camera cannot deliver %s %ux%u (it offers: %s)", s->name.c_str(),
		       format_name(want_format).c_str(), sc.size.width, sc.size.height, offered(sc).c_str());
		s->unref();
		return CR_EFORMAT;
	case CameraConfiguration::Adjusted:
		if (sc.pixelFormat != want_format)
			cr_warn("%s: asked for %s, the camera chose %s", s->name.c_str(), format_name(want_format).c_str(),
				format_name(sc.pixelFormat).c_str());
		if (cfg->width > 0 && cfg->height > 0 && sc.size != Size((unsigned)cfg->width, (unsigned)cfg->height))
			cr_warn("%s: asked for %dx%d, the camera chose %s", s->name.c_str(), cfg->width, cfg->height,
				sc.size.toString().c_str());
		break;
	default:
		break;
	}
	const format_map *m = map_of_format(sc.pixelFormat);
	if (!m) {
		cr_err("%s: the camera chose format %s, which camrig cannot use", s->name.c_str(),
		       sc.pixelFormat.toString().c_str());
		s->unref();
		return CR_EFORMAT;
	}
	ret = s->camera->configure(s->config.get());
	if (ret < 0) {
		cr_err("%s: cannot configure %s %s: %s", s->name.c_str(), format_name(sc.pixelFormat).c_str(),
		       sc.size.toString().c_str(), cr_strerror(ret));
		s->unref();
		return ret;
	}
	s->stream = sc.stream();

	memset(out, 0, sizeof(*out));
	out->fourcc = m->fourcc;
	out->width = (int)sc.size.width;
	out->height = (int)sc.size.height;
	p->compressed = cr_fourcc_is_compressed(out->fourcc);
	if (!p->compressed) {
		ret = cr_fourcc_layout(out->fourcc, out->width, out->height, (int)sc.stride, &p->layout);
		if (ret < 0) {
			cr_err("%s: camrig cannot lay out %dx%d %s frames yet", s->name.c_str(), out->width, out->height,
			       cr_fourcc_str(out->fourcc, fs));
			s->unref();
			return CR_EFORMAT;
		}
		out->stride = p->layout.stride[0];
		out->frame_bytes = p->layout.size;
	}
	out->frame_bytes = std::max<size_t>(out->frame_bytes, sc.frameSize);
	if (out->frame_bytes == 0)
		out->frame_bytes = (size_t)out->width * (size_t)out->height * 2;
	snprintf(out->device, sizeof(out->device), "libcamera:%s", s->camera->id().c_str());
	snprintf(out->driver, sizeof(out->driver), "libcamera %s", camera_model(*s->camera).c_str());

	/* Buffers, requests, mappings. */
	s->allocator = std::make_unique<FrameBufferAllocator>(s->camera);
	ret = s->allocator->allocate(s->stream);
	if (ret <= 0) {
		cr_err("%s: cannot allocate buffers: %s", s->name.c_str(), cr_strerror(ret < 0 ? ret : -ENOMEM));
		s->unref();
		return ret < 0 ? ret : -ENOMEM;
	}
	const std::vector<std::unique_ptr<FrameBuffer>> &buffers = s->allocator->buffers(s->stream);
	s->maps.resize(buffers.size());
	s->slots.resize(buffers.size());
	for (unsigned i = 0; i < buffers.size(); i++) {
		std::unique_ptr<Request> request = s->camera->createRequest(i);

		if (!request || request->addBuffer(s->stream, buffers[i].get()) < 0 ||
		    (ret = map_buffer(buffers[i].get(), &s->maps[i])) < 0) {
			ret = ret < 0 ? ret : -ENOMEM;
			cr_err("%s: cannot set up request %u: %s", s->name.c_str(), i, cr_strerror(ret));
			s->unref();
			return ret;
		}
		s->slots[i] = { s, request.get(), i };
		s->requests.push_back(std::move(request));
	}
	p->min_queued = std::max<unsigned>(1, (unsigned)(s->requests.size() + 1) / 2);

	/* Controls: the frame rate first, so a FrameDurationLimits of the
	 * configuration's overrides it. */
	ControlList start(s->camera->controls());
	const ControlInfoMap &cmap = s->camera->controls();
	auto fdl = cmap.find(&controls::FrameDurationLimits);
	if (cfg->fps > 0 && fdl != cmap.end()) {
		int64_t us = llround(1e6 / cfg->fps);
		const ControlInfo &info = fdl->second;

		if (info.min().type() == ControlTypeInteger64 && info.max().type() == ControlTypeInteger64 &&
		    (us < info.min().get<int64_t>() || us > info.max().get<int64_t>())) {
			cr_err("%s: %g fps is out of range (expected %.6g..%.6g fps)", s->name.c_str(), cfg->fps,
			       1e6 / (double)info.max().get<int64_t>(), 1e6 / (double)info.min().get<int64_t>());
			s->unref();
			return -EINVAL;
		}
		int64_t limits[2] = { us, us };
		start.set(controls::FrameDurationLimits, Span<const int64_t, 2>(limits));
		out->fps = cfg->fps;
	} else if (cfg->fps > 0) {
		cr_warn("%s: the camera cannot set the frame rate (no FrameDurationLimits); %g fps ignored",
			s->name.c_str(), cfg->fps);
	}
	if ((ret = lc_apply_controls(s, cfg->controls, cfg->ncontrols, &start)) < 0) {
		s->unref();
		return ret;
	}

	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->event_fd < 0) {
		ret = -errno;
		s->unref();
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: eventfd: %s", s->name.c_str(), cr_strerror(ret));
	}
	s->camera->requestCompleted.connect(s, &session::on_completed);
	s->camera->disconnected.connect(s, &session::on_disconnected);
	ret = s->camera->start(&start);
	if (ret < 0) {
		cr_err("%s: cannot start the camera: %s", s->name.c_str(), cr_strerror(ret));
		s->camera->requestCompleted.disconnect(s);
		s->camera->disconnected.disconnect(s);
		s->unref();
		return ret;
	}
	s->streaming = true;
	p->s = s;
	/* The same controls go with the first request too: some pipelines
	 * (vimc) ignore those given to start(). */
	if (!start.empty()) {
		s->pending = std::make_unique<ControlList>(start);
		std::lock_guard<std::mutex> guard(s->lock);
		s->note(start);
	}
	for (auto &request : s->requests)
		s->requeue(request.get());

	p->timeout_ms = (int)(STALL_TIMEOUT_NS / CR_NS_PER_MS);
	if (out->fps > 0 && 10000.0 / out->fps > p->timeout_ms)
		p->timeout_ms = (int)(10000.0 / out->fps);
	cr_info("%s (%s): %dx%d %s, %d bytes per line, %s fps, %zu requests (libcamera %s)", s->name.c_str(),
		camera_model(*s->camera).c_str(), out->width, out->height, format_name(sc.pixelFormat).c_str(),
		out->stride, out->fps > 0 ? strprintf("%g", out->fps).c_str() : "the camera's", s->requests.size(),
		CameraManager::version().c_str());
	return 0;
}

void lc_close(struct cr_source *src)
{
	priv *p = static_cast<priv *>(src->priv);

	if (!p || !p->s)
		return;
	session *s = p->s;
	p->s = nullptr;
	{
		std::lock_guard<std::mutex> guard(s->lock);
		s->streaming = false;
	}
	s->camera->stop();
	s->camera->requestCompleted.disconnect(s);
	s->camera->disconnected.disconnect(s);
	if (p->delivered || p->skipped)
		cr_info("%s: closed after %" PRIu64 " frames (%" PRIu64 " copied because consumers held the other "
			"buffers, %" PRIu64 " failed or cancelled, %" PRIu64 " timestamps on CLOCK_BOOTTIME)",
			s->name.c_str(), p->delivered, p->copied, p->skipped, p->boottime);
	s->unref();
}

/* Fills frame from request: wrapped (zero-copy) or copied, see the design
 * comment. Returns 0, or -EAGAIN when the frame was not usable (skipped). */
int deliver(struct cr_source *src, priv *p, Request *request, struct cr_frame *frame)
{
	session *s = p->s;
	const struct cr_source_format *f = &src->format;
	FrameBuffer *buffer = request->findBuffer(s->stream);
	unsigned index = (unsigned)request->cookie();
	const mapping &m = s->maps[index];
	unsigned queued;

	if (!buffer || buffer->metadata().status != FrameMetadata::FrameSuccess) {
		p->skipped++;
		s->requeue(request);
		return -EAGAIN;
	}
	const FrameMetadata &md = buffer->metadata();
	size_t used = md.planes().size() > 0 ? md.planes()[0].bytesused : m.length[0];
	if (p->compressed && (used < 2 || m.plane[0][0] != 0xff || m.plane[0][1] != 0xd8)) {
		p->skipped++;
		s->requeue(request);
		return -EAGAIN;
	}
	if (!frame) {
		p->delivered++;
		s->requeue(request);
		return 0;
	}
	std::optional<int64_t> ts = request->metadata().get(controls::SensorTimestamp);
	frame->mono_ns = to_monotonic(ts ? *ts : (int64_t)md.timestamp, &p->boottime);
	frame->sequence = md.sequence;
	{
		std::lock_guard<std::mutex> guard(s->lock);
		queued = s->queued;
		s->note(request->metadata());
	}
	sync_planes(m, DMA_BUF_SYNC_START);
	if (queued >= p->min_queued) {
		/* Zero-copy: the frame points into the buffer until its last unref. */
		s->ref();
		cr_frame_wrap(frame, m.plane[0], p->compressed ? m.length[0] : std::max(m.length[0], p->layout.size),
			      release_slot, &s->slots[index]);
		frame->fourcc = f->fourcc;
		frame->width = f->width;
		frame->height = f->height;
		if (p->compressed) {
			frame->nplanes = 0;
			frame->size = used;
		} else {
			frame->nplanes = p->layout.nplanes;
			for (int k = 0; k < p->layout.nplanes; k++) {
				/* Planes in their own places when the buffer has them so, else by the layout. */
				frame->plane[k] = k < m.nplanes ? m.plane[k] : m.plane[0] + p->layout.offset[k];
				frame->stride[k] = p->layout.stride[k];
			}
			frame->size = p->layout.size;
		}
		p->delivered++;
		return 0;
	}
	/* Consumers hold the other buffers: copy, and give this one back now. */
	int ret = cr_frame_set_format(frame, f->fourcc, f->width, f->height, f->stride);
	if (ret == 0 && p->compressed) {
		if (used > frame->capacity)
			ret = -ENOSPC;
		else
			memcpy(frame->data, m.plane[0], (frame->size = used));
	} else if (ret == 0) {
		for (int k = 0; k < p->layout.nplanes; k++) {
			const uint8_t *from = k < m.nplanes ? m.plane[k] : m.plane[0] + p->layout.offset[k];

			memcpy(frame->plane[k], from, (size_t)p->layout.stride[k] * (size_t)p->layout.height[k]);
		}
	}
	sync_planes(m, DMA_BUF_SYNC_END);
	s->requeue(request);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: a %dx%d frame does not fit the frame pool: %s", s->name.c_str(),
				  f->width, f->height, cr_strerror(ret));
	p->copied++;
	p->delivered++;
	return 0;
}

int lc_read(struct cr_source *src, struct cr_frame *frame)
{
	priv *p = static_cast<priv *>(src->priv);

	if (!p || !p->s)
		return -EBADF;
	session *s = p->s;
	for (;;) {
		struct pollfd pfd[2] = { { s->event_fd, POLLIN, 0 }, { src->wake_fd, POLLIN, 0 } };
		Request *request = nullptr;
		uint64_t n;
		int ret = poll(pfd, src->wake_fd >= 0 ? 2 : 1, p->timeout_ms);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (src->wake_fd >= 0 && (pfd[1].revents & POLLIN))
			return -EAGAIN;
		if (ret == 0)
			return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: no frame for %d ms: the camera stalled",
					  s->name.c_str(), p->timeout_ms);
		{
			std::lock_guard<std::mutex> guard(s->lock);

			if (s->lost)
				return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: the camera was disconnected", s->name.c_str());
			if (!s->completed.empty()) {
				request = s->completed.front();
				s->completed.pop_front();
			}
			if (s->completed.empty())
				(void)!read(s->event_fd, &n, sizeof(n));
		}
		if (!request)
			continue;
		if (request->status() == Request::RequestCancelled) {
			p->skipped++;
			s->requeue(request);
			continue;
		}
		ret = deliver(src, p, request, frame);
		if (ret == -EAGAIN)
			continue;
		return ret;
	}
}

int lc_set_control(struct cr_source *src, const char *name, const char *value, char *why, size_t len)
{
	priv *p = static_cast<priv *>(src->priv);
	std::string names, reason;
	ControlValue v;

	if (!p || !p->s) {
		snprintf(why, len, "the camera is not open (it is lost)");
		return -ENODEV;
	}
	session *s = p->s;
	const ControlInfoMap &map = s->camera->controls();
	auto it = find_control(map, name, &names);
	if (it == map.end()) {
		snprintf(why, len, "%s: control \"%s\": no such control (the camera has: %s)", s->name.c_str(), name,
			 names.empty() ? "no controls" : names.c_str());
		cr_err("%s", why);
		return -ENOENT;
	}
	if (parse_control(it->first, it->second, value, &v, &reason) < 0) {
		snprintf(why, len, "%s: control \"%s\": bad value \"%s\" (%s)", s->name.c_str(), it->first->name().c_str(),
			 value, reason.c_str());
		cr_err("%s", why);
		return -EINVAL;
	}
	{
		std::lock_guard<std::mutex> guard(s->lock);

		if (!s->pending)
			s->pending = std::make_unique<ControlList>(map);
		s->pending->set(it->first->id(), v);
		s->known[it->first->id()] = v;
	}
	cr_info("%s: %s = %s", s->name.c_str(), it->first->name().c_str(), v.toString().c_str());
	return 0;
}

void lc_free_priv(struct cr_source *src)
{
	lc_close(src);
	delete static_cast<priv *>(src->priv);
	src->priv = nullptr;
}

/* Describes one control as camrig's list_controls does, with value (its
 * latest known, or None). */
void describe_control(const ControlId *id, const ControlInfo &info, const ControlValue *value,
		      struct cr_source_control *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", id->name().c_str());
	snprintf(c->label, sizeof(c->label), "%s", id->name().c_str());
	bool scalar = control_elements(id) == 1 && (!value || !value->isArray());
	auto integer = [](const ControlValue &v) -> int64_t {
		if (v.type() == ControlTypeInteger32 && !v.isArray())
			return v.get<int32_t>();
		if (v.type() == ControlTypeInteger64 && !v.isArray())
			return v.get<int64_t>();
		if (v.type() == ControlTypeBool && !v.isArray())
			return v.get<bool>();
		if (v.type() == ControlTypeByte && !v.isArray())
			return v.get<uint8_t>();
		return 0;
	};
	bool known = value && !value->isNone();

	if (scalar && id->type() == ControlTypeBool) {
		c->type = CR_CONTROL_BOOL;
		c->min = 0;
		c->max = c->step = 1;
		c->def = info.def().isNone() ? 0 : integer(info.def());
	} else if (scalar && id->type() == ControlTypeInteger32 && !info.values().empty()) {
		c->type = CR_CONTROL_MENU;
		for (const ControlValue &v : info.values()) {
			if (c->nitems >= CR_SOURCE_MENU_MAX)
				break;
			int32_t i = v.get<int32_t>();
			std::string name = enum_name(id, i);

			c->items[c->nitems].index = i;
			snprintf(c->items[c->nitems].name, sizeof(c->items[0].name), "%s",
				 name.empty() ? strprintf("%d", i).c_str() : name.c_str());
			c->nitems++;
		}
		c->min = c->nitems ? c->items[0].index : 0;
		c->max = c->nitems ? c->items[c->nitems - 1].index : 0;
		c->step = 1;
		c->def = info.def().isNone() ? c->min : integer(info.def());
	} else if (scalar && (id->type() == ControlTypeInteger32 || id->type() == ControlTypeInteger64 ||
			      id->type() == ControlTypeByte)) {
		c->type = id->type() == ControlTypeInteger64 ? CR_CONTROL_INT64 : CR_CONTROL_INT;
		c->min = info.min().isNone() ? 0 : integer(info.min());
		c->max = info.max().isNone() ? 0 : integer(info.max());
		c->step = 1;
		c->def = info.def().isNone() ? c->min : integer(info.def());
	} else if (scalar && id->type() == ControlTypeFloat) {
		c->type = CR_CONTROL_FLOAT;
		c->real.min = info.min().type() == ControlTypeFloat ? info.min().get<float>() : 0;
		c->real.max = info.max().type() == ControlTypeFloat ? info.max().get<float>() : 0;
		c->real.def = info.def().type() == ControlTypeFloat ? info.def().get<float>() : c->real.min;
		if (known && value->type() == ControlTypeFloat) {
			c->real.value = value->get<float>();
			c->has_value = true;
		}
		return;
	} else {
		c->type = CR_CONTROL_COMPOUND;
		snprintf(c->values, sizeof(c->values), "%s: %s", type_name(id->type()).c_str(),
			 describe(id, info).c_str());
		if (known) {
			/* ControlValue's text ("(0, 0)/1456x1088", "[ 33333, 33333 ]") as set_control takes it:
			 * the numbers, comma-separated. */
			std::string t, all = value->toString();
			bool in_number = false;

			for (char ch : all) {
				bool digit = isdigit((unsigned char)ch) || ch == '.' || ch == '-';

				if (digit && !in_number && !t.empty())
					t += ',';
				if (digit)
					t += ch;
				in_number = digit;
			}
			snprintf(c->text, sizeof(c->text), "%s", value->type() == ControlTypeString ? all.c_str() : t.c_str());
			c->has_value = true;
		}
		return;
	}
	if (known) {
		c->value = integer(*value);
		c->has_value = true;
	}
}

int lc_list_controls(struct cr_source *src, struct cr_source_control *out, int max, char *why, size_t len)
{
	priv *p = static_cast<priv *>(src->priv);
	std::vector<std::pair<std::string, const std::pair<const ControlId *const, ControlInfo> *>> sorted;
	int n = 0;

	if (!p || !p->s) {
		snprintf(why, len, "the camera is not open (it is lost)");
		return -ENODEV;
	}
	session *s = p->s;
	for (const auto &entry : s->camera->controls())
		sorted.push_back({ entry.first->name(), &entry });
	std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
	std::lock_guard<std::mutex> guard(s->lock);
	for (const auto &e : sorted) {
		auto it = s->known.find(e.second->first->id());

		if (n < max)
			describe_control(e.second->first, e.second->second, it == s->known.end() ? nullptr : &it->second,
					 &out[n]);
		n++;
	}
	return n;
}

/* ---- camrig list ----------------------------------------------------------- */

void print_stream(FILE *out, Camera &cam, StreamRole role, const char *what)
{
	std::unique_ptr<CameraConfiguration> config = generate(cam, role);

	if (!config || config->empty()) {
		fprintf(out, "  %s stream: none\n", what);
		return;
	}
	const StreamConfiguration &sc = config->at(0);
	fprintf(out, "  %s stream (default %s %s):\n", what, format_name(sc.pixelFormat).c_str(),
		sc.size.toString().c_str());
	for (const PixelFormat &f : sc.formats().pixelformats()) {
		const format_map *m = map_of_format(f);
		SizeRange r = sc.formats().range(f);
		std::string sizes;

		for (const Size &size : sc.formats().sizes(f))
			list_add(sizes, size.toString());
		fprintf(out, "    %-24s %s..%s%s%s  [%s]\n", format_name(f).c_str(), r.min.toString().c_str(),
			r.max.toString().c_str(), sizes.empty() ? "" : ": ", sizes.c_str(),
			m && cr_fourcc_is_supported(m->fourcc) ? "camrig: yes" : m ? "raw" : "not supported by camrig");
	}
}

/* One stream role's formats and sizes for `camrig list --json` (see
 * cr_libcamera_list_json()), or JSON null when the camera has none. */
json_t *stream_json(Camera &cam, StreamRole role)
{
	std::unique_ptr<CameraConfiguration> config = generate(cam, role);

	if (!config || config->empty())
		return json_null();
	const StreamConfiguration &sc = config->at(0);
	json_t *formats = json_array();
	for (const PixelFormat &f : sc.formats().pixelformats()) {
		const format_map *m = map_of_format(f);
		SizeRange r = sc.formats().range(f);
		json_t *sizes = json_array();

		for (const Size &size : sc.formats().sizes(f))
			json_array_append_new(sizes, json_pack("{s:i, s:i}", "width", (int)size.width, "height",
							       (int)size.height));
		json_array_append_new(formats, json_pack("{s:s, s:o, s:{s:i, s:i}, s:{s:i, s:i}, s:o}", "format",
			format_name(f).c_str(), "camrig",
			m && cr_fourcc_is_supported(m->fourcc) ? json_string(cr_fourcc_name(m->fourcc)) : json_null(),
			"min", "width", (int)r.min.width, "height", (int)r.min.height, "max", "width", (int)r.max.width,
			"height", (int)r.max.height, "sizes", sizes));
	}
	return json_pack("{s:{s:s, s:i, s:i}, s:o}", "default", "format", format_name(sc.pixelFormat).c_str(), "width",
			 (int)sc.size.width, "height", (int)sc.size.height, "formats", formats);
}

const struct cr_source_ops libcamera_ops = {
	.open = lc_open,
	.read = lc_read,
	.close = lc_close,
	.set_control = lc_set_control,
	.stream_stats = nullptr,
	.list_controls = lc_list_controls,
	.free_priv = lc_free_priv,
};

const char *lc_version(void)
{
	static const std::string version = CameraManager::version(); /* initialized once, thread-safe */

	return version.c_str();
}

int lc_find_camera(char *id, size_t len)
{
	int ret = 0;
	CameraManager *cm = manager_get(&ret);

	if (!cm)
		return cr_log_ret(ret, CR_LOG_DEBUG, "libcamera: the camera manager does not start: %s", cr_strerror(ret));
	ret = -ENODEV;
	for (const std::shared_ptr<Camera> &cam : cm->cameras()) {
		if (camera_external(*cam))
			continue; /* a USB webcam: V4L2 passes its MJPEG through and has all its controls */
		snprintf(id, len, "%s", cam->id().c_str());
		ret = 0;
		break;
	}
	manager_put();
	return ret;
}

int lc_owns(const char *path)
{
	struct stat st;
	int owned = 0, ret = 0;

	if (stat(path, &st) < 0)
		return 0;
	CameraManager *cm = manager_get(&ret);
	if (!cm)
		return 0;
	for (const std::shared_ptr<Camera> &cam : cm->cameras()) {
		if (camera_external(*cam))
			continue;
#if LC_AT_LEAST(0, 1)
		std::optional<Span<const int64_t>> devs = cam->properties().get(properties::SystemDevices);

		if (devs) {
			for (int64_t d : *devs)
				owned = owned || (dev_t)d == st.st_rdev;
			continue;
		}
#endif
		/* Without SystemDevices (0.0.x): any node of a media graph with a
		 * camera sensor in it is the pipeline's. */
		owned = owned || cr_media_has_sensor(path) > 0;
	}
	manager_put();
	return owned;
}

int lc_list(FILE *out)
{
	int ret = 0, n = 0;
	CameraManager *cm = manager_get(&ret);

	if (!cm) {
		fprintf(out, "libcamera: the camera manager does not start: %s\n\n", cr_strerror(ret));
		return 0;
	}
	for (const std::shared_ptr<Camera> &cam : cm->cameras()) {
		std::optional<Size> array = cam->properties().get(properties::PixelArraySize);
		std::vector<std::pair<std::string, std::string>> ctrls;

		fprintf(out, "libcamera:%d  %s  (model %s%s%s%s; libcamera %s)\n", n, cam->id().c_str(),
			camera_model(*cam).c_str(), array ? ", sensor " : "", array ? array->toString().c_str() : "",
			camera_external(*cam) ? ", external: auto uses V4L2 for it" : "", CameraManager::version().c_str());
		fprintf(out, "  spec: libcamera:%d or \"libcamera:%s\"\n", n, cam->id().c_str());
		print_stream(out, *cam, StreamRole::VideoRecording, "video");
		print_stream(out, *cam, StreamRole::Raw, "raw");
		for (const auto &entry : cam->controls())
			ctrls.push_back({ entry.first->name(), type_name(entry.first->type()) + ": " +
								       describe(entry.first, entry.second) });
		std::sort(ctrls.begin(), ctrls.end());
		fprintf(out, "  controls:%s\n", ctrls.empty() ? " none" : "");
		for (const auto &c : ctrls)
			fprintf(out, "    %s (%s)\n", c.first.c_str(), c.second.c_str());
		fputc('\n', out);
		n++;
	}
	manager_put();
	return n;
}

json_t *lc_list_json(void)
{
	int ret = 0, n = 0;
	CameraManager *cm = manager_get(&ret);
	json_t *cameras = json_array();

	if (!cm) {
		json_array_append_new(cameras, json_pack("{s:s+}", "error", "the camera manager does not start: ",
							 cr_strerror(ret)));
		return cameras;
	}
	for (const std::shared_ptr<Camera> &cam : cm->cameras()) {
		std::optional<Size> array = cam->properties().get(properties::PixelArraySize);
		json_t *streams = json_object(), *ctrls = json_array();
		std::vector<std::pair<std::string, json_t *>> sorted;

		json_object_set_new(streams, "video", stream_json(*cam, StreamRole::VideoRecording));
		json_object_set_new(streams, "raw", stream_json(*cam, StreamRole::Raw));
		for (const auto &entry : cam->controls())
			sorted.push_back({ entry.first->name(),
					   json_pack("{s:s, s:s, s:s}", "name", entry.first->name().c_str(), "type",
						     type_name(entry.first->type()).c_str(), "values",
						     describe(entry.first, entry.second).c_str()) });
		std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
		for (auto &c : sorted)
			json_array_append_new(ctrls, c.second);
		json_array_append_new(cameras, json_pack("{s:i, s:s, s:s+, s:s, s:b, s:o, s:o, s:o}", "index", n, "id",
			cam->id().c_str(), "spec", "libcamera:", std::to_string(n).c_str(), "model",
			camera_model(*cam).c_str(), "external", camera_external(*cam), "pixel_array",
			array ? json_pack("{s:i, s:i}", "width", (int)array->width, "height", (int)array->height)
			      : json_null(), "streams", streams, "controls", ctrls));
		n++;
	}
	manager_put();
	return cameras;
}

} /* namespace */

/* The module's one exported symbol (the build hides every other). */
extern "C" __attribute__((visibility("default"))) const struct cr_libcamera_module cr_libcamera_module = {
	sizeof(struct cr_libcamera_module), &libcamera_ops, lc_version, lc_find_camera, lc_owns, lc_list, lc_list_json,
};
