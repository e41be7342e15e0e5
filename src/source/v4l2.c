/* V4L2 capture source. (stub, being written) */
#include "source/source.h"

#include <errno.h>

static int v4l2_open(struct cr_source *src) { return -ENOSYS; }
static int v4l2_read(struct cr_source *src, struct cr_frame *frame) { return -ENOSYS; }
static void v4l2_close(struct cr_source *src) {}

const struct cr_source_ops cr_source_v4l2_ops = {
	.scheme = "v4l2", .open = v4l2_open, .read = v4l2_read, .close = v4l2_close,
};

int cr_v4l2_find_capture_device(char *path, size_t len) { return -ENODEV; }
int cr_v4l2_list(FILE *out) { return 0; }
