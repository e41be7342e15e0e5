/* The JPEG stage's strip compressor (jpeg_strips.c), for jpeg.c and its
 * unit test only.
 *
 * A YUYV or NV12 frame compressed a strip at a time: libjpeg's raw-data
 * interface (libjpeg-turbo's libjpeg.txt, "Raw (downsampled) image data")
 * takes one iMCU row at a time (8 rows of 4:2:2, 16 of 4:2:0), which is
 * converted from the frame's layout just before (libswscale), so the frame is
 * never held converted whole: at 1920x1080 the strips are 30 or 45 KB where a
 * planar copy of the frame is 4 or 3 MiB. The output is the same as
 * tjCompressFromYUVPlanes() of the planar frame (the same engine and tables;
 * edges padded by repeating the last row and column). */
#ifndef CR_ENCODE_JPEG_INTERNAL_H
#define CR_ENCODE_JPEG_INTERNAL_H

#include "base/image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cr_jpeg_strips;

/* A compressor; NULL if libjpeg cannot allocate one. Not thread-safe: one
 * per worker. */
struct cr_jpeg_strips *cr_jpeg_strips_new(void);

/* NULL-safe; sets *strips to NULL. */
void cr_jpeg_strips_free(struct cr_jpeg_strips **strips);

/* Whether src can go through the strip path: YUYV (compressed 4:2:2) or
 * NV12 (4:2:0), sizes even and at least 2x2. */
bool cr_jpeg_strips_take(const struct cr_image *src);

/* Compresses src at quality (1..100; libjpeg's fast integer DCT below 96,
 * the accurate one from 96, as libturbojpeg chooses) into a new malloc()ed JPEG of
 * *size bytes at *data (the caller frees it). size_hint (bytes; 0: none) is
 * what the output likely needs, e.g. the last image's size: with it, the
 * output seldom grows. The levels: as cr_image_convert() from src into a
 * full-range image (expanded when src states limited range). Returns 0,
 * CR_EFORMAT for an image cr_jpeg_strips_take() refuses, -EIO when libjpeg
 * fails (the reason at debug level). */
int cr_jpeg_strips_compress(struct cr_jpeg_strips *strips, const struct cr_image *src, int quality,
			    size_t size_hint, uint8_t **data, size_t *size);

/* Bytes the compressor holds between frames (its strip buffer). */
size_t cr_jpeg_strips_held(const struct cr_jpeg_strips *strips);

/* Frees the strip buffer (kept between frames otherwise). */
void cr_jpeg_strips_release(struct cr_jpeg_strips *strips);

#endif
