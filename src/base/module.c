/* cr_module_table(): module.h says where modules are looked for and why. */
#include "base/module.h"

#include "base/log.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CAMRIG_MODULE_DIR
#define CAMRIG_MODULE_DIR "/usr/local/lib/camrig"
#endif

/* m's table from dir, or NULL; *found says whether the file is there. One
 * that is there but does not load is said in m->why. */
static const void *load_from(struct cr_module *m, const char *dir, bool *found)
{
	char path[PATH_MAX];
	const size_t *table;
	void *handle;

	*found = snprintf(path, sizeof(path), "%s/%s", dir, m->file) < (int)sizeof(path) && access(path, F_OK) == 0;
	if (!*found)
		return NULL;
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	table = handle ? dlsym(handle, m->symbol) : NULL;
	if (table && *table == m->size)
		return table;
	snprintf(m->why, sizeof(m->why), "the module %s does not load: %s", path,
		 !handle ? dlerror() : table ? "it is from another camrig" : "it has no table");
	if (handle)
		dlclose(handle);
	return NULL;
}

static void load(struct cr_module *m)
{
	char dir[PATH_MAX] = "";
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash = n > 0 ? (dir[n] = '\0', strrchr(dir, '/')) : NULL;
	bool found = false;

	if (!m->built) {
		snprintf(m->why, sizeof(m->why), "%s", m->without);
		return;
	}
	if (slash) {
		*slash = '\0';
		m->table = load_from(m, dir, &found);
	}
	if (!m->table && !found)
		m->table = load_from(m, CAMRIG_MODULE_DIR, &found);
	if (!m->table && !found)
		snprintf(m->why, sizeof(m->why), "the module %s is neither beside camrig (in %s) nor in %s", m->file,
			 dir, CAMRIG_MODULE_DIR);
	if (!m->table)
		cr_warn("%s: %s", m->name, m->why);
}

const void *cr_module_table(struct cr_module *m)
{
	if (!atomic_load_explicit(&m->tried, memory_order_acquire)) {
		pthread_mutex_lock(&m->lock);
		if (!atomic_load_explicit(&m->tried, memory_order_relaxed)) {
			load(m);
			atomic_store_explicit(&m->tried, true, memory_order_release);
		}
		pthread_mutex_unlock(&m->lock);
	}
	return m->table;
}

const char *cr_module_why_not(struct cr_module *m)
{
	return cr_module_table(m) ? NULL : m->why;
}
