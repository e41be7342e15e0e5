/* cr_lazy_load(): lazy.h says which libraries and why. */
#include "base/lazy.h"

#include "base/log.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int cr_lazy_load(struct cr_lazy *lib, char *reason, size_t len)
{
	if (!atomic_load_explicit(&lib->tried, memory_order_acquire)) {
		pthread_mutex_lock(&lib->lock);
		if (!atomic_load_explicit(&lib->tried, memory_order_relaxed)) {
			lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
			if (lib->handle)
				cr_debug("lazy: loaded %s (%s)", lib->soname, lib->name);
			else
				snprintf(lib->why, sizeof(lib->why), "%s cannot be loaded: %s", lib->name, dlerror());
			atomic_store_explicit(&lib->tried, true, memory_order_release);
		}
		pthread_mutex_unlock(&lib->lock);
	}
	if (lib->handle)
		return 0;
	if (reason && len)
		snprintf(reason, len, "%s", lib->why);
	return -1;
}

bool cr_lazy_is_open(struct cr_lazy *lib)
{
	return atomic_load_explicit(&lib->tried, memory_order_acquire) && lib->handle;
}

void *cr_lazy_symbol(struct cr_lazy *lib, const char *name)
{
	void *sym;

	if (cr_lazy_load(lib, NULL, 0) != 0) {
		cr_err("%s (needed for %s)", lib->why, name);
		abort();
	}
	sym = dlsym(lib->handle, name);
	if (!sym) {
		cr_err("%s has no %s: %s", lib->soname, name, dlerror());
		abort();
	}
	return sym;
}
