/* Pixel formats, named by their V4L2 FourCC (linux/videodev2.h), and the
 * memory layout of each: planes, strides and sizes. */
#ifndef CR_BASE_FOURCC_H
#define CR_BASE_FOURCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_FOURCC(a, b, c, d) \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

#define CR_FMT_GREY CR_FOURCC('G', 'R', 'E', 'Y')  /* 8-bit luma */
#define CR_FMT_YUYV CR_FOURCC('Y', 'U', 'Y', 'V')  /* packed 4:2:2, Y0 U Y1 V */
#define CR_FMT_NV12 CR_FOURCC('N', 'V', '1', '2')  /* Y plane, interleaved UV plane, 4:2:0 */
#define CR_FMT_YU12 CR_FOURCC('Y', 'U', '1', '2')  /* I420: Y, U, V planes, 4:2:0 */
#define CR_FMT_RGB24 CR_FOURCC('R', 'G', 'B', '3') /* packed R G B */
#define CR_FMT_BGR24 CR_FOURCC('B', 'G', 'R', '3') /* packed B G R */
#define CR_FMT_MJPEG CR_FOURCC('M', 'J', 'P', 'G') /* one JPEG image per frame */
#define CR_FMT_JPEG CR_FOURCC('J', 'P', 'E', 'G')  /* the same, as some drivers name it */
#define CR_FMT_YUV422P CR_FOURCC('4', '2', '2', 'P') /* Y, U, V planes, 4:2:2 (internal: JPEG input) */

/* Raw sensor and machine-vision formats (pixfmt-yuv-luma.rst,
 * pixfmt-bayer.rst; GenICam PFNC names in brackets): samples of DEPTH bits
 * in little-endian 16-bit words with the high bits 0, or MIPI CSI-2 packed
 * ("P": 4 pixels in 5 bytes, the 8 high bits of each, then one byte of the 2
 * low bits of all four, the first pixel's lowest). */
#define CR_FMT_Y10 CR_FOURCC('Y', '1', '0', ' ')     /* 10-bit luma [Mono10] */
#define CR_FMT_Y10P CR_FOURCC('Y', '1', '0', 'P')    /* 10-bit luma, MIPI-packed */
#define CR_FMT_Y12 CR_FOURCC('Y', '1', '2', ' ')     /* 12-bit luma [Mono12] */
#define CR_FMT_Y16 CR_FOURCC('Y', '1', '6', ' ')     /* 16-bit luma [Mono16] */
#define CR_FMT_SBGGR8 CR_FOURCC('B', 'A', '8', '1')  /* Bayer BGBG/GRGR, 8 bits [BayerBG8] */
#define CR_FMT_SGBRG8 CR_FOURCC('G', 'B', 'R', 'G')  /* [BayerGB8] */
#define CR_FMT_SGRBG8 CR_FOURCC('G', 'R', 'B', 'G')  /* [BayerGR8] */
#define CR_FMT_SRGGB8 CR_FOURCC('R', 'G', 'G', 'B')  /* [BayerRG8] */
#define CR_FMT_SBGGR10 CR_FOURCC('B', 'G', '1', '0') /* 10 bits in 16 */
#define CR_FMT_SGBRG10 CR_FOURCC('G', 'B', '1', '0')
#define CR_FMT_SGRBG10 CR_FOURCC('B', 'A', '1', '0')
#define CR_FMT_SRGGB10 CR_FOURCC('R', 'G', '1', '0')
#define CR_FMT_SBGGR10P CR_FOURCC('p', 'B', 'A', 'A') /* 10 bits, MIPI-packed */
#define CR_FMT_SGBRG10P CR_FOURCC('p', 'G', 'A', 'A')
#define CR_FMT_SGRBG10P CR_FOURCC('p', 'g', 'A', 'A')
#define CR_FMT_SRGGB10P CR_FOURCC('p', 'R', 'A', 'A')
#define CR_FMT_SBGGR12 CR_FOURCC('B', 'G', '1', '2') /* 12 bits in 16 */
#define CR_FMT_SGBRG12 CR_FOURCC('G', 'B', '1', '2')
#define CR_FMT_SGRBG12 CR_FOURCC('B', 'A', '1', '2')
#define CR_FMT_SRGGB12 CR_FOURCC('R', 'G', '1', '2')
#define CR_FMT_SBGGR16 CR_FOURCC('B', 'Y', 'R', '2') /* 16 bits */
#define CR_FMT_SGBRG16 CR_FOURCC('G', 'B', '1', '6')
#define CR_FMT_SGRBG16 CR_FOURCC('G', 'R', '1', '6')
#define CR_FMT_SRGGB16 CR_FOURCC('R', 'G', '1', '6')

/* The colour of a raw format's first two rows, as V4L2 names the orders. */
enum cr_bayer_order { CR_MONO, CR_BGGR, CR_GBRG, CR_GRBG, CR_RGGB };

/* What a raw sensor format is. */
struct cr_raw_format {
	uint32_t fourcc;
	const char *name;              /* "SRGGB10P", "Y10" */
	int depth;                     /* bits per sample: 8, 10, 12 or 16 */
	bool packed;                   /* MIPI CSI-2 packed (10 bits: 5 bytes per 4 pixels) */
	enum cr_bayer_order order;     /* CR_MONO for luma */
};

/* The raw formats' names, for messages. */
#define CR_FOURCC_RAW_NAMES "Y10, Y10P, Y12, Y16, SBGGR8, SGBRG8, SGRBG8, SRGGB8 (and each order with 10, 10P, 12, 16)"

/* The description of a raw sensor format, or NULL for any other format. */
const struct cr_raw_format *cr_fourcc_raw(uint32_t fourcc);

/* True for luma-only formats (GREY and the raw mono ones). */
bool cr_fourcc_is_mono(uint32_t fourcc);

#define CR_MAX_PLANES 3

struct cr_plane_layout {
	int nplanes;
	int stride[CR_MAX_PLANES];     /* bytes per row of each plane */
	int height[CR_MAX_PLANES];     /* rows of each plane */
	size_t offset[CR_MAX_PLANES];  /* bytes from the start of the buffer */
	size_t size;                   /* bytes in all planes */
};

/* Parses a format name: a FourCC ("YUYV", "RGB3"; a raw one as V4L2 spells
 * it, "pRAA", and otherwise case-insensitive; a three-character one, "Y16",
 * is padded with a space), a common alias ("RGB24", "BGR24", "I420",
 * "YUV420", "MJPEG", "GRAY", and GenICam's "Mono8", "Mono10", "Mono12",
 * "Mono16", "BayerRG8", ...) or a raw format's name ("Y10", "SRGGB10P"),
 * case-insensitive. Returns 0 and sets *fourcc, or -EINVAL. */
int cr_fourcc_parse(const char *name, uint32_t *fourcc);

/* Writes the four characters of fourcc into buf (>= 5 bytes) and returns buf. */
char *cr_fourcc_str(uint32_t fourcc, char buf[5]);

/* The name camrig prints for a supported format ("RGB24" rather than "RGB3"). */
const char *cr_fourcc_name(uint32_t fourcc);

/* True for formats whose frames are compressed (MJPEG, JPEG). */
bool cr_fourcc_is_compressed(uint32_t fourcc);

/* True for luma deeper than 8 bits (Y10, Y10P, Y12, Y16): formats that lose
 * information in an 8-bit encoder. */
bool cr_fourcc_is_deep_gray(uint32_t fourcc);

/* True for the formats camrig can produce and consume. */
bool cr_fourcc_is_supported(uint32_t fourcc);

/* Fills *layout for a tightly packed width x height frame (pixels) of a raw
 * format, with the given luma/packed stride (bytes; 0: the minimum; a
 * MIPI-packed row is ceil(width * 10 / 8) bytes at least). Returns 0,
 * or CR_EFORMAT for a compressed or unknown format, -EINVAL for a bad size. */
int cr_fourcc_layout(uint32_t fourcc, int width, int height, int stride, struct cr_plane_layout *layout);

/* The supported formats, in the order camrig prefers them, 0-terminated. */
extern const uint32_t cr_fourcc_supported[];

#ifdef __cplusplus
}
#endif

#endif
