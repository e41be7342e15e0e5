/* libavformat file/URL source. (stub, being written) */
#include "source/source.h"

#include <errno.h>

static int libav_open(struct cr_source *src) { return -ENOSYS; }
static int libav_read(struct cr_source *src, struct cr_frame *frame) { return -ENOSYS; }
static void libav_close(struct cr_source *src) {}

const struct cr_source_ops cr_source_file_ops = {
	.scheme = "file", .open = libav_open, .read = libav_read, .close = libav_close,
};
const struct cr_source_ops cr_source_url_ops = {
	.scheme = "url", .open = libav_open, .read = libav_read, .close = libav_close,
};
