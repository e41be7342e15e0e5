/* camrig's own modules: the parts that link a heavy library (OpenCV,
 * libcamera) are built as shared objects camrig loads the first time it
 * needs one, so a camrig that never uses the library never maps it.
 *
 * A module exports one table, whose first member is a size_t holding the
 * table's size where the module was built; it calls camrig's own cr_
 * functions, which the camrig executable exports (meson.build). */
#ifndef CR_BASE_MODULE_H
#define CR_BASE_MODULE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the module file (a name such as "camrig-libcamera.so") from the
 * directory of the running camrig binary (a build tree: meson puts both in
 * build/), else from CAMRIG_MODULE_DIR (where `meson install` puts it,
 * LIBDIR/camrig), and returns the address of its table symbol. NULL when it
 * is in neither place, does not load (a missing library, an undefined
 * symbol), or its table's size is not size (a module of another camrig);
 * why (len bytes) then says which, naming the paths. A module is never
 * unloaded. Not thread-safe: call it under the caller's pthread_once. */
const void *cr_module_load(const char *file, const char *symbol, size_t size, char *why, size_t len);

#ifdef __cplusplus
}
#endif

#endif
