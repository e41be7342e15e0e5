/* What the files of the libcamera module share (C++ only, private to
 * src/source): libcamera.cpp (the source: sessions, open, read, controls
 * set live), libcamera_manager.cpp (the camera manager, pixel formats,
 * text helpers, libcamera's log into camrig's), libcamera_controls.cpp
 * (parsing and describing control values) and libcamera_list.cpp (camrig
 * list, doctor and auto's questions). All of it is hidden inside
 * camrig-libcamera.so (libcamera_module.h). */
#ifndef CR_SOURCE_LIBCAMERA_INTERNAL_H
#define CR_SOURCE_LIBCAMERA_INTERNAL_H

#include "source/source.h"

#include <libcamera/libcamera.h>
#include <libcamera/version.h>

#include <jansson.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#define LC_AT_LEAST(major, minor) \
	(LIBCAMERA_VERSION_MAJOR > (major) || (LIBCAMERA_VERSION_MAJOR == (major) && LIBCAMERA_VERSION_MINOR >= (minor)))

namespace cr_lc {

using namespace libcamera;

/* Longest list of names or values put into one message, in bytes. */
constexpr size_t LIST_MAX = 600;

/* ---- libcamera_manager.cpp ---- */

/* camrig's FourCC of a libcamera pixel format (DRM's names); raw: a sensor
 * format, for the Raw stream role. */
struct format_map {
	uint32_t fourcc;
	PixelFormat format;
	bool raw;
};

const format_map *map_of_fourcc(uint32_t fourcc);
const format_map *map_of_format(const PixelFormat &format);
std::string format_name(const PixelFormat &format);

std::string strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string control_key(const std::string &name);
void list_add(std::string &list, const std::string &s);

/* The process's one CameraManager, started by its first user (nullptr and
 * *err on failure) and stopped with its last manager_put(). */
CameraManager *manager_get(int *err);
void manager_put();
std::shared_ptr<Camera> find_camera(CameraManager *cm, const std::string &location, std::string *known);
std::string camera_model(const Camera &cam);
bool camera_external(const Camera &cam);
std::unique_ptr<CameraConfiguration> generate(Camera &cam, StreamRole role);

/* ---- libcamera_controls.cpp ---- */

size_t control_elements(const ControlId *id);
std::string type_name(ControlType t);
std::string describe(const ControlId *id, const ControlInfo &info);
int parse_control(const ControlId *id, const ControlInfo &info, const std::string &text, ControlValue *out,
		  std::string *why);
ControlInfoMap::const_iterator find_control(const ControlInfoMap &map, const std::string &name, std::string *names);
void describe_control(const ControlId *id, const ControlInfo &info, const ControlValue *value,
		      struct cr_source_control *c);

/* ---- libcamera_list.cpp: the module's entry points but the source ---- */

const char *lc_version(void);
int lc_find_camera(char *id, size_t len);
int lc_owns(const char *path);
int lc_list(FILE *out);
json_t *lc_list_json(void);

} /* namespace cr_lc */

#endif
