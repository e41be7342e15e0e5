/* The JPEG stage's strip compressor (encode/jpeg_strips.c) against
 * libturbojpeg compressing the same frame converted whole: the same bytes,
 * at sizes of whole MCUs and not; limited levels expanded; nothing it
 * refuses; its buffer given back. */
#include "base/error.h"
#include "base/fourcc.h"
#include "base/image.h"
#include "base/mem.h"
#include "encode/jpeg_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <cmocka.h>

/* A frame of fourcc (YUYV or NV12) with smooth gradients, hard edges and a
 * pixel-wise texture, in buf (freed by the caller). */
static struct cr_image pattern(uint32_t fourcc, int width, int height, uint8_t **buf)
{
	struct cr_plane_layout l;
	struct cr_image img = { .fourcc = fourcc, .width = width, .height = height };

	assert_int_equal(cr_fourcc_layout(fourcc, width, height, 0, &l), 0);
	*buf = cr_calloc(1, l.size + 64); /* libswscale's SIMD reads up to 16 bytes past a row */
	for (int p = 0; p < l.nplanes; p++) {
		img.plane[p] = *buf + l.offset[p];
		img.stride[p] = l.stride[p];
	}
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			uint8_t luma = (uint8_t)((x * 255 / width + ((x / 7 + y / 5) % 2) * 60 + (x * y) % 13) & 0xff);
			uint8_t cb = (uint8_t)(64 + y * 128 / height), cr = (uint8_t)(192 - x * 128 / width);

			if (fourcc == CR_FMT_YUYV) {
				uint8_t *px = img.plane[0] + (size_t)y * (size_t)img.stride[0] + (size_t)x * 2;

				px[0] = luma;
				px[1] = x % 2 ? cr : cb;
			} else {
				img.plane[0][(size_t)y * (size_t)img.stride[0] + (size_t)x] = luma;
				if (y % 2 == 0 && x % 2 == 0) {
					uint8_t *uv = img.plane[1] + (size_t)(y / 2) * (size_t)img.stride[1] + (size_t)x;

					uv[0] = cb;
					uv[1] = cr;
				}
			}
		}
	return img;
}

/* libturbojpeg's JPEG of src converted whole to planar (what the stage did
 * before the strips), tightly packed planes. */
static unsigned char *reference(const struct cr_image *src, int quality, unsigned long *size)
{
	bool is420 = src->fourcc == CR_FMT_NV12;
	uint32_t planar = is420 ? CR_FMT_YU12 : CR_FMT_YUV422P;
	struct cr_plane_layout l;
	struct cr_image img = { .fourcc = planar, .width = src->width, .height = src->height };
	struct cr_scaler *conv = cr_scaler_new(0);
	tjhandle tj = tjInitCompress();
	unsigned char *out = NULL;
	uint8_t *buf;

	/* rows 64-byte aligned, as the strips have them: libswscale's SIMD wants that */
	assert_int_equal(cr_fourcc_layout(planar, src->width, src->height, (src->width + 63) / 64 * 64, &l), 0);
	buf = cr_aligned_alloc(64, l.size + 64);
	for (int p = 0; p < l.nplanes; p++) {
		img.plane[p] = buf + l.offset[p];
		img.stride[p] = l.stride[p];
	}
	assert_int_equal(cr_image_convert(conv, src, &img), 0);
	const unsigned char *planes[3] = { img.plane[0], img.plane[1], img.plane[2] };
	assert_int_equal(tjCompressFromYUVPlanes(tj, planes, img.width, img.stride, img.height,
						 is420 ? TJSAMP_420 : TJSAMP_422, &out, size, quality,
						 quality <= 90 ? TJFLAG_FASTDCT : 0), 0);
	tjDestroy(tj);
	cr_scaler_free(&conv);
	free(buf);
	return out;
}

/* The luma plane of a JPEG (width x height, tightly packed, freed by the
 * caller), decoded by libturbojpeg; checks the JPEG's size and subsampling. */
static uint8_t *decode_luma(const uint8_t *jpeg, size_t size, int width, int height, int subsamp)
{
	tjhandle tj = tjInitDecompress();
	int w, h, ss, cs;
	uint8_t *luma = cr_malloc((size_t)width * (size_t)height);
	uint8_t *chroma = cr_malloc((size_t)width * (size_t)height * 2);
	unsigned char *planes[3] = { luma, chroma, chroma + (size_t)width * (size_t)height };
	int strides[3] = { width, width, width };

	assert_int_equal(tjDecompressHeader3(tj, jpeg, size, &w, &h, &ss, &cs), 0);
	assert_int_equal(w, width);
	assert_int_equal(h, height);
	assert_int_equal(ss, subsamp);
	assert_int_equal(tjDecompressToYUVPlanes(tj, jpeg, size, planes, width, strides, height, 0), 0);
	tjDestroy(tj);
	free(chroma);
	return luma;
}

/* Compresses fourcc at width x height both ways: the same bytes, edges and
 * all (libturbojpeg pads its planes by repeating the last row and column, as
 * the strips do). */
static void check_size(uint32_t fourcc, int width, int height, int quality)
{
	struct cr_jpeg_strips *strips = cr_jpeg_strips_new();
	uint8_t *buf, *data;
	struct cr_image src = pattern(fourcc, width, height, &buf);
	unsigned long ref_size;
	unsigned char *ref = reference(&src, quality, &ref_size);
	size_t size;

	assert_non_null(strips);
	assert_true(cr_jpeg_strips_take(&src));
	assert_int_equal(cr_jpeg_strips_compress(strips, &src, quality, 0, &data, &size), 0);
	print_message("%s %dx%d q%d: %zu bytes (libturbojpeg %lu)\n", cr_fourcc_name(fourcc), width, height, quality,
		      size, ref_size);
	assert_int_equal(size, ref_size);
	assert_memory_equal(data, ref, size);
	/* Again with a size hint far too small: the output grows to the same. */
	free(data);
	assert_int_equal(cr_jpeg_strips_compress(strips, &src, quality, 16, &data, &size), 0);
	assert_int_equal(size, ref_size);
	assert_memory_equal(data, ref, size);
	assert_true(cr_jpeg_strips_held(strips) > 0);
	cr_jpeg_strips_release(strips);
	assert_int_equal(cr_jpeg_strips_held(strips), 0);
	free(data);
	tjFree(ref);
	free(buf);
	cr_jpeg_strips_free(&strips);
	assert_null(strips);
}

static void test_yuyv_sizes(void **state)
{
	check_size(CR_FMT_YUYV, 64, 48, 80);
	check_size(CR_FMT_YUYV, 1920, 1080, 80);
	check_size(CR_FMT_YUYV, 640, 480, 95);     /* the accurate DCT above 90 */
	check_size(CR_FMT_YUYV, 102, 50, 80);      /* neither whole MCUs wide nor a whole strip tall */
	check_size(CR_FMT_YUYV, 2, 2, 80);
}

static void test_nv12_sizes(void **state)
{
	check_size(CR_FMT_NV12, 64, 48, 80);
	check_size(CR_FMT_NV12, 1280, 720, 80);
	/* (libswscale wants its planes 16-byte aligned: 102 x 56 puts NV12's chroma there) */
	check_size(CR_FMT_NV12, 102, 56, 80);
	check_size(CR_FMT_NV12, 2, 2, 80);
}

/* A frame that states limited range comes out at JFIF's full range: video
 * black (16) decodes near 0, video white (235) near 255. */
static void test_limited_range_expanded(void **state)
{
	struct cr_jpeg_strips *strips = cr_jpeg_strips_new();
	uint8_t *buf, *data, *luma;
	struct cr_image src = pattern(CR_FMT_YUYV, 64, 16, &buf);
	size_t size;

	for (int y = 0; y < 16; y++)
		for (int x = 0; x < 64; x++) {
			uint8_t *px = src.plane[0] + (size_t)y * (size_t)src.stride[0] + (size_t)x * 2;

			px[0] = x < 32 ? 16 : 235;
			px[1] = 128;
		}
	src.range = CR_RANGE_LIMITED;
	assert_int_equal(cr_jpeg_strips_compress(strips, &src, 95, 0, &data, &size), 0);
	luma = decode_luma(data, size, 64, 16, TJSAMP_422);
	assert_true(luma[8 * 64 + 4] <= 3);
	assert_true(luma[8 * 64 + 60] >= 252);
	free(luma);
	free(data);
	free(buf);
	cr_jpeg_strips_free(&strips);
}

static void test_refuses_other_layouts(void **state)
{
	struct cr_jpeg_strips *strips = cr_jpeg_strips_new();
	uint8_t pixels[64 * 3];
	struct cr_image rgb = { .fourcc = CR_FMT_RGB24, .width = 8, .height = 8, .plane = { pixels }, .stride = { 24 } };
	struct cr_image odd = { .fourcc = CR_FMT_YUYV, .width = 8, .height = 7, .plane = { pixels }, .stride = { 16 } };
	uint8_t *data = NULL;
	size_t size = 0;

	assert_false(cr_jpeg_strips_take(&rgb));
	assert_false(cr_jpeg_strips_take(&odd));
	assert_int_equal(cr_jpeg_strips_compress(strips, &rgb, 80, 0, &data, &size), CR_EFORMAT);
	assert_null(data);
	cr_jpeg_strips_free(&strips);
	cr_jpeg_strips_free(&strips); /* NULL-safe */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yuyv_sizes),
		cmocka_unit_test(test_nv12_sizes),
		cmocka_unit_test(test_limited_range_expanded),
		cmocka_unit_test(test_refuses_other_layouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
