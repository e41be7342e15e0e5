/* Aravis from camrig's side: source.h's cr_aravis_ functions, each of which
 * calls the module camrig-aravis.so (aravis_module.h), loaded the first time
 * one needs Aravis. Where there is no module (camrig built without Aravis,
 * or the file missing) they find nothing and the "aravis" source refuses
 * with the reason. */
#include "source/aravis_module.h"

#include "base/module.h"

#ifdef CAMRIG_HAVE_ARAVIS
#define BUILT true
#else
#define BUILT false
#endif

static struct cr_module module = CR_MODULE("aravis", CR_ARAVIS_MODULE_FILE, CR_ARAVIS_MODULE_SYMBOL,
					   sizeof(struct cr_aravis_module), BUILT,
					   "camrig was built without Aravis (install libaravis-dev and build again)");

static const struct cr_aravis_module *arv(void)
{
	return cr_module_table(&module);
}

int cr_aravis_available(void)
{
	return BUILT;
}

const char *cr_aravis_why_not(void)
{
	return cr_module_why_not(&module);
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
