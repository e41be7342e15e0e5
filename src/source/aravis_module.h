/* The Aravis (GenICam) source as a module: aravis_module.c is built into
 * camrig-aravis.so, which exports one table, CR_ARAVIS_MODULE_SYMBOL;
 * aravis.c, in camrig itself, loads it (base/module.h) the first time camrig
 * needs Aravis (an aravis: source, `camrig list`, `camrig doctor`), so a
 * camrig without GenICam cameras never maps libaravis, GLib, libxml2 and ICU
 * (about 3 MiB of RSS). Private to src/source/. */
#ifndef CR_SOURCE_ARAVIS_MODULE_H
#define CR_SOURCE_ARAVIS_MODULE_H

#include "source/source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CR_ARAVIS_MODULE_FILE "camrig-aravis.so"
#define CR_ARAVIS_MODULE_SYMBOL "cr_aravis_module"

/* What the module exports; size is sizeof(struct cr_aravis_module) where it
 * was built, so a module of another camrig is refused instead of misread.
 * The functions are source.h's cr_aravis_ ones of the same names. */
struct cr_aravis_module {
	size_t size;
	const struct cr_source_ops *ops; /* the "aravis" source */
	const char *(*version)(void);
	int (*cameras)(struct cr_aravis_camera *out, int max);
};

#ifdef __cplusplus
}
#endif

#endif
