/* cr_module_load(): module.h says where modules are looked for and why. */
#include "base/module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CAMRIG_MODULE_DIR
#define CAMRIG_MODULE_DIR "/usr/local/lib/camrig"
#endif

/* The table from dir/file, or NULL; *found says whether the file is there.
 * One that is there but does not load is said in why. */
static const void *load_from(const char *dir, const char *file, const char *symbol, size_t size, bool *found,
			     char *why, size_t len)
{
	char path[PATH_MAX];
	const size_t *table;
	void *handle;

	*found = snprintf(path, sizeof(path), "%s/%s", dir, file) < (int)sizeof(path) && access(path, F_OK) == 0;
	if (!*found)
		return NULL;
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	table = handle ? dlsym(handle, symbol) : NULL;
	if (table && *table == size)
		return table;
	snprintf(why, len, "the module %s does not load: %s", path,
		 !handle ? dlerror() : table ? "it is from another camrig" : "it has no table");
	if (handle)
		dlclose(handle);
	return NULL;
}

const void *cr_module_load(const char *file, const char *symbol, size_t size, char *why, size_t len)
{
	char dir[PATH_MAX] = "";
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash = n > 0 ? (dir[n] = '\0', strrchr(dir, '/')) : NULL;
	const void *table = NULL;
	bool found = false;

	if (slash) {
		*slash = '\0';
		table = load_from(dir, file, symbol, size, &found, why, len);
	}
	if (!table && !found)
		table = load_from(CAMRIG_MODULE_DIR, file, symbol, size, &found, why, len);
	if (!table && !found)
		snprintf(why, len, "the module %s is neither beside camrig (in %s) nor in %s", file, dir,
			 CAMRIG_MODULE_DIR);
	return table;
}
