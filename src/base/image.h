/* Pixel format conversion and scaling between camrig's FourCCs, through
 * libswscale. */
#ifndef CR_BASE_IMAGE_H
#define CR_BASE_IMAGE_H

#include "base/frame.h"

#include <libavutil/pixfmt.h>
#include <stdint.h>

/* The libav pixel format of a raw FourCC, or AV_PIX_FMT_NONE. */
enum AVPixelFormat cr_convert_av_format(uint32_t fourcc);

/* The FourCC of a libav pixel format, or 0 if camrig has none for it. */
uint32_t cr_convert_fourcc(enum AVPixelFormat format);

/* A planar image: plane pointers and strides (bytes), format and size (pixels). */
struct cr_image {
	uint32_t fourcc;
	int width, height;
	uint8_t *plane[CR_MAX_PLANES];
	int stride[CR_MAX_PLANES];
};

/* The image view of a raw frame. */
struct cr_image cr_image_of_frame(const struct cr_frame *frame);

struct cr_convert;

struct cr_convert *cr_convert_new(void);

/* NULL-safe; sets *conv to NULL. */
void cr_convert_free(struct cr_convert **conv);

/* Converts and scales src into dst (both raw formats; dst's planes must be
 * allocated for dst's size). Keeps one libswscale context and rebuilds it only
 * when formats or sizes change. Not thread-safe: one per thread. Returns 0,
 * CR_EFORMAT for an unsupported format, or a libav error. */
int cr_convert_image(struct cr_convert *conv, const struct cr_image *src, const struct cr_image *dst);

#endif
