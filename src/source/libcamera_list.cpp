/* `camrig list`, `camrig doctor` and the auto source's questions for the
 * libcamera module (libcamera_internal.h): the cameras, their streams'
 * formats and sizes, their controls, and which device nodes they own. */
#include "source/libcamera_internal.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"
#include "source/media.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <sys/stat.h>

namespace cr_lc {

/* ---- camrig list ----------------------------------------------------------- */

static void print_stream(FILE *out, Camera &cam, StreamRole role, const char *what)
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
static json_t *stream_json(Camera &cam, StreamRole role)
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

} /* namespace cr_lc */
