/* The libcamera adapter as a module: libcamera.cpp is built into
 * camrig-libcamera.so, which exports one table, CR_LIBCAMERA_MODULE_SYMBOL;
 * libcamera.c, in camrig itself, loads it (base/module.h) the first time
 * camrig needs libcamera, so a camrig whose cameras are V4L2, GenICam, files
 * or the test pattern never maps libcamera and the C++ runtime (about 4 MiB
 * of RSS). Private to src/source/. */
#ifndef CR_SOURCE_LIBCAMERA_MODULE_H
#define CR_SOURCE_LIBCAMERA_MODULE_H

#include "source/source.h"

#include <jansson.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_LIBCAMERA_MODULE_FILE "camrig-libcamera.so"
#define CR_LIBCAMERA_MODULE_SYMBOL "cr_libcamera_module"

/* What the module exports; size is sizeof(struct cr_libcamera_module) where
 * it was built, so a module of another camrig is refused instead of misread.
 * The functions are source.h's cr_libcamera_ ones of the same names. */
struct cr_libcamera_module {
	size_t size;
	const struct cr_source_ops *ops; /* the "libcamera" source */
	const char *(*version)(void);
	int (*find_camera)(char *id, size_t len);
	int (*owns)(const char *path);
	int (*list)(FILE *out);
	json_t *(*list_json)(void);
};

#ifdef __cplusplus
}
#endif

#endif
