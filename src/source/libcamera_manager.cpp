/* The libcamera module's shared parts (libcamera_internal.h): pixel formats,
 * text helpers, libcamera's log into camrig's, and the camera manager. */
#include "source/libcamera_internal.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"

#include <cstdarg>
#include <cstdlib>
#include <mutex>
#include <ostream>
#include <sstream>
#include <streambuf>

namespace cr_lc {

/* ---- pixel formats ---------------------------------------------------------
 * camrig names formats by their V4L2 FourCC; libcamera by DRM's. Note the
 * RGB pair: libcamera's BGR888 is R, G, B in memory (V4L2 RGB24). */
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

namespace {

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


} /* namespace */

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

} /* namespace cr_lc */
