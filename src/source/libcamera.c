/* libcamera from camrig's side: source.h's cr_libcamera_ functions, each of
 * which calls the module camrig-libcamera.so (libcamera_module.h), loaded
 * the first time one needs libcamera. Where there is no module (camrig built
 * without libcamera, or the file missing) they find nothing and the
 * "libcamera" source refuses with the reason.
 *
 * "auto" and the V4L2 listing ask libcamera whether it has a camera, or owns
 * a node, only when some media graph other than a USB webcam's has a camera
 * sensor (cr_media_any_board_sensor()): without one libcamera has no camera
 * auto would pick, so a machine with a webcam never loads it. */
#include "source/libcamera_module.h"

#include "base/log.h"
#include "base/module.h"
#include "source/media.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>

static const struct cr_libcamera_module *module;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char why[PATH_MAX + 256] = "camrig was built without libcamera (install libcamera-dev and build again)";

static void load(void)
{
#ifdef CAMRIG_HAVE_LIBCAMERA
	char reason[PATH_MAX + 128];

	module = cr_module_load(CR_LIBCAMERA_MODULE_FILE, CR_LIBCAMERA_MODULE_SYMBOL, sizeof(*module), reason,
				sizeof(reason));
	if (!module) {
		snprintf(why, sizeof(why), "%s", reason);
		cr_warn("libcamera: %s", why);
	}
#endif
}

static const struct cr_libcamera_module *lc(void)
{
	pthread_once(&load_once, load);
	return module;
}

int cr_libcamera_available(void)
{
#ifdef CAMRIG_HAVE_LIBCAMERA
	return 1;
#else
	return 0;
#endif
}

const char *cr_libcamera_why_not(void)
{
	return lc() ? NULL : why;
}

const struct cr_source_ops *cr_libcamera_source_ops(void)
{
	return lc() ? lc()->ops : NULL;
}

const char *cr_libcamera_version(void)
{
	return lc() ? lc()->version() : NULL;
}

int cr_libcamera_find_camera(char *id, size_t len)
{
	if (cr_libcamera_available() && !cr_media_any_board_sensor())
		return -ENODEV;
	return lc() ? lc()->find_camera(id, len) : -ENOTSUP;
}

int cr_libcamera_owns(const char *path)
{
	if (cr_libcamera_available() && !cr_media_any_board_sensor())
		return 0;
	return lc() ? lc()->owns(path) : 0;
}

int cr_libcamera_list(FILE *out)
{
	if (!cr_libcamera_available())
		return 0;
	if (!lc()) {
		fprintf(out, "%s\n\n", why);
		return 0;
	}
	return lc()->list(out);
}

json_t *cr_libcamera_list_json(void)
{
	if (!cr_libcamera_available())
		return json_array();
	if (!lc())
		return json_pack("[{s:s}]", "error", why);
	return lc()->list_json();
}
