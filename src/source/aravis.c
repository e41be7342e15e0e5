/* Aravis from camrig's side: source.h's cr_aravis_ functions, each of which
 * calls the module camrig-aravis.so (aravis_module.h), loaded the first time
 * one needs Aravis. Where there is no module (camrig built without Aravis,
 * or the file missing) they find nothing and the "aravis" source refuses
 * with the reason. */
#include "source/aravis_module.h"

#include "base/log.h"
#include "base/module.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>

static const struct cr_aravis_module *module;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char why[PATH_MAX + 256] = "camrig was built without Aravis (install libaravis-dev and build again)";

static void load(void)
{
#ifdef CAMRIG_HAVE_ARAVIS
	char reason[PATH_MAX + 128];

	module = cr_module_load(CR_ARAVIS_MODULE_FILE, CR_ARAVIS_MODULE_SYMBOL, sizeof(*module), reason,
				sizeof(reason));
	if (!module) {
		snprintf(why, sizeof(why), "%s", reason);
		cr_warn("aravis: %s", why);
	}
#endif
}

static const struct cr_aravis_module *arv(void)
{
	pthread_once(&load_once, load);
	return module;
}

int cr_aravis_available(void)
{
#ifdef CAMRIG_HAVE_ARAVIS
	return 1;
#else
	return 0;
#endif
}

const char *cr_aravis_why_not(void)
{
	return arv() ? NULL : why;
}

const struct cr_source_ops *cr_aravis_source_ops(void)
{
	return arv() ? arv()->ops : NULL;
}

const char *cr_aravis_version(void)
{
	return arv() ? arv()->version() : NULL;
}

int cr_aravis_cameras(struct cr_aravis_camera *out, int max)
{
	return arv() ? arv()->cameras(out, max) : 0;
}
