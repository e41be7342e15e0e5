/* camrig's own modules: the parts that link a heavy library (OpenCV,
 * libcamera, Aravis) are built as shared objects camrig loads the first time
 * it needs one, so a camrig that never uses the library never maps it.
 *
 * A module exports one table, whose first member is a size_t holding the
 * table's size where the module was built; it calls camrig's own cr_
 * functions, which the camrig executable exports (meson.build). */
#ifndef CR_BASE_MODULE_H
#define CR_BASE_MODULE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One module, loaded once on first use: define it with CR_MODULE() and ask
 * for its table with cr_module_table(). */
struct cr_module {
	const char *name;        /* for messages: "libcamera" */
	const char *file;        /* "camrig-libcamera.so" */
	const char *symbol;      /* its table's name */
	size_t size;             /* sizeof the table */
	bool built;              /* camrig was built with the module's library */
	const char *without;     /* why not, when !built */
	/* private */
	pthread_mutex_t lock;
	atomic_bool tried;
	const void *table;
	char why[PATH_MAX + 256];
};

#define CR_MODULE(name, file, symbol, size, built, without) \
	{ (name), (file), (symbol), (size), (built), (without), PTHREAD_MUTEX_INITIALIZER, false, NULL, "" }

/* The module's table, loading it the first time (a warning names what went
 * wrong): from the directory of the running camrig binary (a build tree:
 * meson puts both in build/), else from CAMRIG_MODULE_DIR (where `meson
 * install` puts it, LIBDIR/camrig). NULL when camrig was built without it,
 * or it is in neither place, does not load (a missing library, an undefined
 * symbol) or its table's size is not m->size (a module of another camrig);
 * cr_module_why_not() then says which. A module is never unloaded.
 * Thread-safe. */
const void *cr_module_table(struct cr_module *m);

/* NULL when the module is loaded (loading it), else why not, naming the
 * paths looked at. */
const char *cr_module_why_not(struct cr_module *m);

#ifdef __cplusplus
}
#endif

#endif
