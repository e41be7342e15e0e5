/* Pixel format conversion and scaling, through libswscale: the one place
 * camrig sets up a scaler.
 *
 * cr_scaler converts a picture described by its libav pixel format, size,
 * planes, range and matrix (struct cr_picture); it keeps one libswscale
 * context and rebuilds it only when either side changes. cr_image_convert()
 * is the same for camrig's raw FourCC frames. */
#ifndef CR_BASE_IMAGE_H
#define CR_BASE_IMAGE_H

#include "base/frame.h"

#include <libavutil/pixfmt.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The libav pixel format of a raw FourCC, or AV_PIX_FMT_NONE. */
enum AVPixelFormat cr_image_av_format(uint32_t fourcc);

/* The FourCC of a libav pixel format, or 0 if camrig has none for it. */
uint32_t cr_image_fourcc(enum AVPixelFormat format);

/* One side of a conversion. */
struct cr_picture {
	enum AVPixelFormat format;
	int width, height;          /* pixels */
	uint8_t *plane[4];          /* the source's are only read */
	int stride[4];              /* bytes per row */
	bool full_range;            /* YUV levels 0..255 (JPEG) rather than 16..235 (video) */
	int matrix;                 /* YUV<->RGB coefficients, SWS_CS_* (libswscale/swscale.h);
				       0: BT.601 (SWS_CS_DEFAULT) */
};

struct cr_scaler;

/* A scaler; resize_flags are the SWS_* algorithm flags used when the sizes
 * differ (0: SWS_BILINEAR); equal sizes use SWS_POINT. */
struct cr_scaler *cr_scaler_new(int resize_flags);

/* NULL-safe; sets *scaler to NULL. */
void cr_scaler_free(struct cr_scaler **scaler);

/* Converts and scales src into dst (whose planes are allocated for its
 * format and size). Not thread-safe: one scaler per thread. Returns 0, or
 * AVERROR(EINVAL) when libswscale cannot convert between the two. */
int cr_scaler_run(struct cr_scaler *scaler, const struct cr_picture *src, const struct cr_picture *dst);

/* A raw image: plane pointers and strides (bytes), FourCC and size (pixels). */
struct cr_image {
	uint32_t fourcc;
	int width, height;
	uint8_t *plane[CR_MAX_PLANES];
	int stride[CR_MAX_PLANES];
	enum cr_range range;        /* YUV and GREY levels, as cr_frame has them */
};

/* The image view of a raw frame. */
struct cr_image cr_image_of_frame(const struct cr_frame *frame);

/* The rectangle x, y, width x height (pixels; even numbers, inside img) of
 * img as an image of its own over img's pixels (nothing is copied): a crop,
 * or a strip of rows. False for a FourCC it does not know (GREY, YUYV,
 * RGB24, BGR24, NV12, YU12 and 4:2:2 planar it knows). */
bool cr_image_rect(const struct cr_image *img, int x, int y, int width, int height, struct cr_image *out);

/* Converts and scales the raw image src into dst (BT.601) with scaler. The
 * levels change only when both images state a range and they differ (a
 * limited-range frame into a full-range image for JPEG); otherwise the
 * samples keep theirs. A raw sensor image (cr_fourcc_raw()) is developed first
 * (cr_image_develop()). Returns 0, CR_EFORMAT for a format libav does not
 * have, or a libav error. */
int cr_image_convert(struct cr_scaler *scaler, const struct cr_image *src, const struct cr_image *dst);

/* Raw sensor images (cr_fourcc_raw(): mono or Bayer, 8-16 bits, maybe
 * MIPI-packed; the layouts in base/fourcc.h).
 *
 * The format an image's samples are as they stand, read as gray (a Bayer
 * mosaic too): GRAY8, GRAY10LE, GRAY12LE or GRAY16LE; a packed one after
 * cr_image_raw_samples() with bits 16. AV_PIX_FMT_NONE for other formats. */
enum AVPixelFormat cr_image_raw_gray_format(uint32_t fourcc);

/* Unpacks one MIPI CSI-2 RAW10 row: width pixels from ceil(width * 10 / 8)
 * bytes at src (groups of 4 pixels in 5 bytes: the 8 high bits of each, then
 * their 2 low bits, the first pixel's lowest) into width 10-bit values. */
void cr_image_unpack10(const uint8_t *src, uint16_t *dst, int width);

/* Copies raw's samples into dst (stride bytes per row): bits 8 gives each
 * sample's 8 high bits (one byte), bits 16 each sample as it is in a
 * little-endian 16-bit word (MIPI-packed rows unpacked). Returns 0, or
 * CR_EFORMAT when raw is not a raw sensor format. */
int cr_image_raw_samples(const struct cr_image *raw, int bits, uint8_t *dst, int stride);

/* Develops the raw sensor image raw into an 8-bit image of the same size:
 * dst is GREY for a mono format; for a Bayer one RGB24 (or BGR24),
 * demosaicked by libswscale (bilinear) from the 8 high bits. scaler does the
 * demosaicking. Returns 0, CR_EFORMAT for another format or pair, or a libav
 * error. */
int cr_image_develop(struct cr_scaler *scaler, const struct cr_image *raw, const struct cr_image *dst);

#ifdef __cplusplus
}
#endif

#endif
