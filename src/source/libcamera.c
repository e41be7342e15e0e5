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

#include "base/module.h"
#include "source/media.h"

#include <errno.h>
#include <stdio.h>

#ifdef CAMRIG_HAVE_LIBCAMERA
#define BUILT true
#else
#define BUILT false
#endif

static struct cr_module module = CR_MODULE("libcamera", CR_LIBCAMERA_MODULE_FILE, CR_LIBCAMERA_MODULE_SYMBOL,
					   sizeof(struct cr_libcamera_module), BUILT,
					   "camrig was built without libcamera (install libcamera-dev and build again)");

static const struct cr_libcamera_module *lc(void)
{
	return cr_module_table(&module);
}

int cr_libcamera_available(void)
{
	return BUILT;
}

const char *cr_libcamera_why_not(void)
{
	return cr_module_why_not(&module);
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
		fprintf(out, "%s\n\n", cr_libcamera_why_not());
		return 0;
	}
	return lc()->list(out);
}

json_t *cr_libcamera_list_json(void)
{
	if (!cr_libcamera_available())
		return json_array();
	if (!lc())
		return json_pack("[{s:s}]", "error", cr_libcamera_why_not());
	return lc()->list_json();
}
