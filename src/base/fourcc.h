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
/* Machine-vision raw formats (GenICam PFNC names in brackets; V4L2
 * pixfmt-yuv-luma.rst, pixfmt-srggb8.rst): luma deeper than 8 bits is one
 * little-endian 16-bit word per pixel with the value in its low bits. */
#define CR_FMT_Y10 CR_FOURCC('Y', '1', '0', ' ')   /* 10-bit luma in 16 bits [Mono10] */
#define CR_FMT_Y12 CR_FOURCC('Y', '1', '2', ' ')   /* 12-bit luma in 16 bits [Mono12] */
#define CR_FMT_Y16 CR_FOURCC('Y', '1', '6', ' ')   /* 16-bit luma [Mono16] */
#define CR_FMT_SBGGR8 CR_FOURCC('B', 'A', '8', '1') /* 8-bit Bayer, BG/GR rows [BayerBG8] */
#define CR_FMT_SGBRG8 CR_FOURCC('G', 'B', 'R', 'G') /* 8-bit Bayer, GB/RG rows [BayerGB8] */
#define CR_FMT_SGRBG8 CR_FOURCC('G', 'R', 'B', 'G') /* 8-bit Bayer, GR/BG rows [BayerGR8] */
#define CR_FMT_SRGGB8 CR_FOURCC('R', 'G', 'G', 'B') /* 8-bit Bayer, RG/GB rows [BayerRG8] */

#define CR_MAX_PLANES 3

struct cr_plane_layout {
	int nplanes;
	int stride[CR_MAX_PLANES];     /* bytes per row of each plane */
	int height[CR_MAX_PLANES];     /* rows of each plane */
	size_t offset[CR_MAX_PLANES];  /* bytes from the start of the buffer */
	size_t size;                   /* bytes in all planes */
};

/* Parses a format name: a FourCC ("YUYV", "RGB3", "Y16") or a common alias
 * ("RGB24", "BGR24", "I420", "YUV420", "MJPEG", "GRAY", and GenICam's "Mono8",
 * "Mono10", "Mono12", "Mono16", "BayerRG8", ...), case-insensitive; a
 * three-character FourCC is padded with a space. Returns 0 and
 * sets *fourcc, or -EINVAL. */
int cr_fourcc_parse(const char *name, uint32_t *fourcc);

/* Writes the four characters of fourcc into buf (>= 5 bytes) and returns buf. */
char *cr_fourcc_str(uint32_t fourcc, char buf[5]);

/* The name camrig prints for a supported format ("RGB24" rather than "RGB3"). */
const char *cr_fourcc_name(uint32_t fourcc);

/* True for formats whose frames are compressed (MJPEG, JPEG). */
bool cr_fourcc_is_compressed(uint32_t fourcc);

/* True for luma deeper than 8 bits (Y10, Y12, Y16): formats that lose
 * information in an 8-bit encoder. */
bool cr_fourcc_is_deep_gray(uint32_t fourcc);

/* True for the 8-bit Bayer formats (raw sensor mosaics: converted, never produced). */
bool cr_fourcc_is_bayer(uint32_t fourcc);

/* True for the formats camrig can produce and consume. */
bool cr_fourcc_is_supported(uint32_t fourcc);

/* Fills *layout for a tightly packed width x height frame (pixels) of a raw
 * format, with the given luma/packed stride (bytes; 0: the minimum). Returns 0,
 * or CR_EFORMAT for a compressed or unknown format, -EINVAL for a bad size. */
int cr_fourcc_layout(uint32_t fourcc, int width, int height, int stride, struct cr_plane_layout *layout);

/* The supported formats, in the order camrig prefers them, 0-terminated. */
extern const uint32_t cr_fourcc_supported[];

#ifdef __cplusplus
}
#endif

#endif
