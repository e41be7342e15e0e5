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

static const struct cr_source_ops *const all_ops[] = {
	&cr_source_test_ops, &cr_source_v4l2_ops, &cr_source_file_ops, &cr_source_url_ops,
};

int cr_source_new(const struct cr_camera_config *config, int wake_fd, struct cr_source **out)
{
	const char *spec = config->source ? config->source : "auto";
	const struct cr_source_ops *ops = NULL;
	struct cr_source *src;
	char device[256];
	const char *location = "";

	if (strcmp(spec, "auto") == 0) {
		if (cr_v4l2_find_capture_device(device, sizeof(device)) == 0) {
			cr_info("%s: source auto: using V4L2 device %s", config->name, device);
			ops = &cr_source_v4l2_ops;
			location = device;
		} else {
			cr_info("%s: source auto: no V4L2 capture device, using the test pattern", config->name);
			ops = &cr_source_test_ops;
		}
	} else {
		const char *colon = strchr(spec, ':');
		size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

		for (size_t i = 0; i < CR_ARRAY_SIZE(all_ops); i++)
			if (strlen(all_ops[i]->scheme) == n && strncmp(spec, all_ops[i]->scheme, n) == 0)
				ops = all_ops[i];
		if (!ops)
			return cr_log_ret(-EINVAL, CR_LOG_ERROR,
					  "%s: source \"%s\": unknown kind (expected auto, test, v4l2:/dev/videoN, "
					  "file:PATH or url:URL)", config->name, spec);
		location = colon ? colon + 1 : "";
		if (ops != &cr_source_test_ops && !*location)
			return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: source \"%s\": missing %s after \"%s:\"",
					  config->name, spec, ops == &cr_source_url_ops ? "URL" : "path", ops->scheme);
	}
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
