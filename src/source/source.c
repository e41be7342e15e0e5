/* Source creation from a spec string, and the pacing helper shared by sources
 * that set their own frame rate. */
#include "source/source.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* The ops of each kind of source in config/sources.h's table. */
static const struct cr_source_ops *const ops_of[CR_SOURCE_KINDS] = {
	[CR_SOURCE_TEST] = &cr_source_test_ops,
	[CR_SOURCE_V4L2] = &cr_source_v4l2_ops,
	[CR_SOURCE_FILE] = &cr_source_file_ops,
	[CR_SOURCE_URL] = &cr_source_url_ops,
#ifdef CAMRIG_HAVE_LIBCAMERA
	[CR_SOURCE_LIBCAMERA] = &cr_source_libcamera_ops,
#endif
};

#ifdef CAMRIG_HAVE_LIBCAMERA
int cr_libcamera_available(void)
{
	return 1;
}
#else
int cr_libcamera_available(void)
{
	return 0;
}

int cr_libcamera_find_camera(char *id, size_t len)
{
	return -ENOTSUP;
}

int cr_libcamera_owns(const char *path)
{
	return 0;
}

int cr_libcamera_list(FILE *out)
{
	return 0;
}
#endif

int cr_source_new(const struct cr_camera_config *config, int wake_fd, struct cr_source **out)
{
	const char *spec = config->source ? config->source : "auto", *location = "";
	const struct cr_source_scheme *scheme = cr_source_scheme_of(spec, &location);
	const struct cr_source_ops *ops = NULL;
	struct cr_source *src;
	char device[256], expected[256], id[256];

	if (!scheme)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: source \"%s\": not a source (expected %s)", config->name,
				  spec, cr_source_schemes_expected(expected, sizeof(expected)));
	if (scheme->kind == CR_SOURCE_AUTO) {
		if (cr_libcamera_find_camera(id, sizeof(id)) == 0) {
			cr_info("%s: source auto: using libcamera camera %s", config->name, id);
			ops = ops_of[CR_SOURCE_LIBCAMERA];
			location = id;
		} else if (cr_v4l2_find_capture_device_for_auto(device, sizeof(device), cr_libcamera_available()) == 0) {
			cr_info("%s: source auto: using V4L2 device %s", config->name, device);
			ops = &cr_source_v4l2_ops;
			location = device;
		} else {
			cr_info("%s: source auto: no libcamera camera or V4L2 capture device, using the test pattern",
				config->name);
			ops = &cr_source_test_ops;
		}
	} else {
		ops = ops_of[scheme->kind];
	}
	if (!ops)
		return cr_log_ret(-ENOTSUP, CR_LOG_ERROR, "%s: source \"%s\": this camrig was built without libcamera "
				  "(install libcamera-dev and build again)", config->name, spec);
	src = CR_NEW(src);
	src->ops = ops;
	src->config = config;
	src->location = cr_strdup(location);
	src->wake_fd = wake_fd;
	*out = src;
	return 0;
}

void cr_source_free(struct cr_source **psrc)
{
	struct cr_source *src = *psrc;

	if (!src)
		return;
	*psrc = NULL;
	if (src->ops->free_priv)
		src->ops->free_priv(src);
	free(src->location);
	free(src);
}

int cr_source_sleep_until(struct cr_source *src, int64_t deadline_ns)
{
	struct pollfd pfd = { .fd = src->wake_fd, .events = POLLIN };

	for (;;) {
		int64_t left = deadline_ns - cr_time_mono_ns();
		struct timespec ts;
		int ret;

		if (left <= 0)
			return 0;
		ts = cr_time_ts(left);
		ret = ppoll(&pfd, 1, &ts, NULL);
		if (ret > 0)
			return -EAGAIN;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}
