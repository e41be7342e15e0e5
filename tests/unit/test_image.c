/* Raw sensor formats (base/fourcc.c, base/image.c) on known patterns: the
 * MIPI RAW10 unpacker, samples at 8 and 16 bits from every depth and
 * packing, developing mono to gray and each Bayer order to colour, raw
 * frames through cr_image_convert() with scaling, and the names and layouts. */
#include "base/error.h"
#include "base/fourcc.h"
#include "base/image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Packs 10-bit values the MIPI CSI-2 way (the spec's own layout, written out
 * independently of the unpacker under test). */
static void pack10(const uint16_t *v, int n, uint8_t *out)
{
	for (int g = 0; g * 4 < n; g++) {
		int k, count = n - g * 4 < 4 ? n - g * 4 : 4;
		uint8_t low = 0;

		for (k = 0; k < count; k++) {
			out[g * 5 + k] = (uint8_t)(v[g * 4 + k] >> 2);
			low |= (uint8_t)((v[g * 4 + k] & 3) << (2 * k));
		}
		out[g * 5 + count] = low;
	}
}

static void test_unpack10_known_bytes(void **state)
{
	/* 1020 = 0xff << 2 | 0, 1 = 0 << 2 | 1, 514 = 0x80 << 2 | 2, 7 = 1 << 2 | 3 */
	const uint8_t packed[5] = { 0xff, 0x00, 0x80, 0x01, 0xe4 /* 11 10 01 00 */ };
	uint16_t out[4];

	cr_image_unpack10(packed, out, 4);
	assert_int_equal(out[0], 1020);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 514);
	assert_int_equal(out[3], 7);
}

static void test_unpack10_round_trip(void **state)
{
	/* Every value 0..1023, and rows that end inside a group (6, 7 pixels). */
	static uint16_t v[1024], back[1024];
	static uint8_t packed[1280 + 5];

	for (int i = 0; i < 1024; i++)
		v[i] = (uint16_t)((i * 37) % 1024);
	pack10(v, 1024, packed);
	cr_image_unpack10(packed, back, 1024);
	assert_memory_equal(v, back, sizeof(v));
	for (int n = 5; n <= 7; n++) {
		memset(back, 0, sizeof(back));
		pack10(v, n, packed);
		cr_image_unpack10(packed, back, n);
		assert_memory_equal(v, back, (size_t)n * 2);
	}
}

/* A w x h raw image of fourcc in buf where sample(x, y) gives each value. */
static struct cr_image raw_image(uint32_t fourcc, int w, int h, uint8_t *buf, unsigned (*sample)(int, int))
{
	const struct cr_raw_format *raw = cr_fourcc_raw(fourcc);
	struct cr_plane_layout l;
	struct cr_image img = { .fourcc = fourcc, .width = w, .height = h, .plane = { buf } };
	uint16_t row[64];

	assert_non_null(raw);
	assert_int_equal(cr_fourcc_layout(fourcc, w, h, 0, &l), 0);
	img.stride[0] = l.stride[0];
	for (int y = 0; y < h; y++) {
		uint8_t *r = buf + (size_t)y * (size_t)l.stride[0];

		for (int x = 0; x < w; x++)
			row[x] = (uint16_t)sample(x, y);
		if (raw->packed) {
			pack10(row, w, r);
		} else {
			for (int x = 0; x < w; x++) {
				if (raw->depth == 8) {
					r[x] = (uint8_t)row[x];
				} else {
					r[2 * x] = (uint8_t)(row[x] & 0xff);
					r[2 * x + 1] = (uint8_t)(row[x] >> 8);
				}
			}
		}
	}
	return img;
}

static int cur_depth;

static unsigned ramp(int x, int y)
{
	return (unsigned)(x * 61 + y * 17) % (1u << cur_depth);
}

/* 8 bits: the high bits of each sample; 16 bits: the sample itself. */
static void test_samples_every_depth(void **state)
{
	static const uint32_t formats[] = { CR_FMT_Y10, CR_FMT_Y10P, CR_FMT_Y12, CR_FMT_Y16, CR_FMT_SRGGB8,
					    CR_FMT_SGRBG10, CR_FMT_SBGGR10P, CR_FMT_SGBRG12, CR_FMT_SRGGB16 };
	static uint8_t buf[64 * 8 * 2], out8[64 * 8], out16[64 * 8 * 2];

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const struct cr_raw_format *raw = cr_fourcc_raw(formats[i]);
		struct cr_image img;

		cur_depth = raw->depth;
		img = raw_image(formats[i], 62, 8, buf, ramp); /* 62: a packed row ends inside a group */
		assert_int_equal(cr_image_raw_samples(&img, 8, out8, 62), 0);
		assert_int_equal(cr_image_raw_samples(&img, 16, out16, 124), 0);
		for (int y = 0; y < 8; y++) {
			for (int x = 0; x < 62; x++) {
				unsigned v = ramp(x, y);

				assert_int_equal(out8[y * 62 + x], v >> (raw->depth - 8));
				assert_int_equal(out16[y * 124 + 2 * x] | out16[y * 124 + 2 * x + 1] << 8, v);
			}
		}
	}
	assert_int_equal(cr_image_raw_samples(&(struct cr_image){ .fourcc = CR_FMT_YUYV }, 8, out8, 1), CR_EFORMAT);
}

static void test_develop_mono(void **state)
{
	static uint8_t buf[32 * 4 * 2], gray[32 * 4];
	struct cr_scaler *s = cr_scaler_new(0);
	struct cr_image img, dst = { .fourcc = CR_FMT_GREY, .width = 32, .height = 4, .plane = { gray },
				     .stride = { 32 } };

	cur_depth = 10;
	img = raw_image(CR_FMT_Y10P, 32, 4, buf, ramp);
	assert_int_equal(cr_image_develop(s, &img, &dst), 0);
	for (int i = 0; i < 32 * 4; i++)
		assert_int_equal(gray[i], ramp(i % 32, i / 32) >> 2);
	/* A mono sensor develops to gray only. */
	dst.fourcc = CR_FMT_YU12;
	assert_int_equal(cr_image_develop(s, &img, &dst), CR_EFORMAT);
	cr_scaler_free(&s);
}

/* A scene of one colour (R 200, G 100, B 50) seen through each Bayer order
 * (and at 8, 10-packed and 12 bits): demosaicked, every pixel is that colour. */
static int bayer_order_x, bayer_order_y; /* where R sits in the 2x2 tile */
static int bayer_depth;

static unsigned scene(int x, int y)
{
	int rx = (x & 1) == bayer_order_x, ry = (y & 1) == bayer_order_y;
	unsigned v = rx && ry ? 200 : !rx && !ry ? 50 : 100;

	return v << (bayer_depth - 8);
}

static void test_develop_bayer_orders(void **state)
{
	static const struct { uint32_t fourcc; int rx, ry; } cases[] = {
		{ CR_FMT_SRGGB8, 0, 0 }, { CR_FMT_SGRBG8, 1, 0 }, { CR_FMT_SGBRG8, 0, 1 }, { CR_FMT_SBGGR8, 1, 1 },
		{ CR_FMT_SRGGB10P, 0, 0 }, { CR_FMT_SBGGR10P, 1, 1 }, { CR_FMT_SGRBG12, 1, 0 }, { CR_FMT_SGBRG16, 0, 1 },
	};
	static uint8_t buf[16 * 16 * 2], rgb[16 * 16 * 3];
	struct cr_scaler *s = cr_scaler_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cr_image img, dst = { .fourcc = CR_FMT_RGB24, .width = 16, .height = 16, .plane = { rgb },
					     .stride = { 48 } };

		bayer_order_x = cases[i].rx;
		bayer_order_y = cases[i].ry;
		bayer_depth = cr_fourcc_raw(cases[i].fourcc)->depth;
		img = raw_image(cases[i].fourcc, 16, 16, buf, scene);
		assert_int_equal(cr_image_develop(s, &img, &dst), 0);
		for (int y = 2; y < 14; y++) {
			for (int x = 2; x < 14; x++) {
				const uint8_t *p = rgb + y * 48 + x * 3;

				if (abs(p[0] - 200) > 2 || abs(p[1] - 100) > 2 || abs(p[2] - 50) > 2)
					fail_msg("%s at %d,%d: %d,%d,%d (expected 200,100,50)", cr_fourcc_name(cases[i].fourcc),
						 x, y, p[0], p[1], p[2]);
			}
		}
	}
	cr_scaler_free(&s);
}

/* cr_image_convert() takes raw frames too: developed, then scaled. */
static void test_convert_raw_scaled(void **state)
{
	static uint8_t buf[64 * 32 * 2], out[32 * 16 * 3 / 2];
	struct cr_scaler *s = cr_scaler_new(0);
	struct cr_image img, dst = { .fourcc = CR_FMT_YU12, .width = 32, .height = 16,
				     .plane = { out, out + 32 * 16, out + 32 * 16 + 16 * 8 }, .stride = { 32, 16, 16 } };
	int y, u, v;

	bayer_order_x = bayer_order_y = 0;
	bayer_depth = 10;
	img = raw_image(CR_FMT_SRGGB10, 64, 32, buf, scene);
	assert_int_equal(cr_image_convert(s, &img, &dst), 0);
	/* BT.601 limited range of (200, 100, 50): Y 122.7, U 91.2, V 175.5. */
	y = out[8 * 32 + 16];
	u = out[32 * 16 + 4 * 16 + 8];
	v = out[32 * 16 + 16 * 8 + 4 * 16 + 8];
	if (abs(y - 123) > 3 || abs(u - 91) > 3 || abs(v - 175) > 3)
		fail_msg("Y %d U %d V %d (expected about 123, 91, 175)", y, u, v);
	cr_scaler_free(&s);
}

/* Levels change only between two stated ranges: limited into full expands
 * (Y 16 -> 0, 235 -> 255, chroma 16 -> 0, 240 -> 255), also for GREY and the luma of
 * YU12 taken as GREY (the JPEG stage's gray variant); an unstated side keeps
 * the samples as they are. */
/* NV12 into a tightly packed I420 at widths whose chroma rows are not
 * 16-byte aligned (the IMX296's 1456, the Pi v2's 1640): every sample where
 * it belongs, and no crash (FFmpeg 5.1's own NV12 -> I420 crashes there,
 * base/image.c). */
static void test_convert_nv12_tight(void **state)
{
	static const int widths[] = { 1456, 1640, 102 };

	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		int w = widths[i], h = 56;
		size_t luma = (size_t)w * (size_t)h, quarter = luma / 4;
		uint8_t *in = malloc(luma * 3 / 2), *out = malloc(luma * 3 / 2);
		struct cr_scaler *s = cr_scaler_new(0);
		struct cr_image src = { .fourcc = CR_FMT_NV12, .width = w, .height = h, .plane = { in, in + luma },
					.stride = { w, w } };
		struct cr_image dst = { .fourcc = CR_FMT_YU12, .width = w, .height = h,
					.plane = { out, out + luma, out + luma + quarter }, .stride = { w, w / 2, w / 2 } };

		for (size_t k = 0; k < luma; k++)
			in[k] = (uint8_t)(k * 7);
		for (size_t k = 0; k < quarter; k++) {
			in[luma + 2 * k] = (uint8_t)(k * 3);      /* U */
			in[luma + 2 * k + 1] = (uint8_t)(k * 5);  /* V */
		}
		assert_int_equal(cr_image_convert(s, &src, &dst), 0);
		assert_memory_equal(out, in, luma);
		for (size_t k = 0; k < quarter; k++) {
			assert_int_equal(out[luma + k], (uint8_t)(k * 3));
			assert_int_equal(out[luma + quarter + k], (uint8_t)(k * 5));
		}
		cr_scaler_free(&s);
		free(in);
		free(out);
	}
}

static void test_convert_range(void **state)
{
	static uint8_t in[16 * 8 * 3 / 2], out[16 * 8 * 3 / 2];
	struct cr_scaler *s = cr_scaler_new(0);
	struct cr_image src = { .fourcc = CR_FMT_YU12, .width = 16, .height = 8,
				.plane = { in, in + 128, in + 128 + 32 }, .stride = { 16, 8, 8 }, .range = CR_RANGE_LIMITED };
	struct cr_image dst = src, gray = { .fourcc = CR_FMT_GREY, .width = 16, .height = 8, .plane = { out },
					    .stride = { 16 }, .range = CR_RANGE_FULL };

	memset(in, 16, 64);
	memset(in + 64, 235, 64);
	memset(in + 128, 16, 32);  /* U */
	memset(in + 160, 240, 32); /* V */
	dst.plane[0] = out;
	dst.plane[1] = out + 128;
	dst.plane[2] = out + 128 + 32;
	dst.range = CR_RANGE_FULL;
	assert_int_equal(cr_image_convert(s, &src, &dst), 0);
	assert_in_range(out[0], 0, 1);
	assert_in_range(out[127], 254, 255);
	assert_in_range(out[128], 0, 1);
	assert_in_range(out[191], 254, 255);
	memset(out, 0x55, sizeof(out));
	assert_int_equal(cr_image_convert(s, &src, &gray), 0);
	assert_in_range(out[0], 0, 1);
	assert_in_range(out[127], 254, 255);
	memset(out, 0x55, sizeof(out));
	src.fourcc = CR_FMT_GREY;
	assert_int_equal(cr_image_convert(s, &src, &gray), 0);
	assert_in_range(out[0], 0, 1);
	assert_in_range(out[127], 254, 255);
	memset(out, 0x55, sizeof(out));
	gray.width = 8;
	gray.height = 4;
	gray.stride[0] = 8;
	assert_int_equal(cr_image_convert(s, &src, &gray), 0);
	assert_in_range(out[0], 0, 1);
	assert_in_range(out[31], 254, 255);
	gray.width = 16;
	gray.height = 8;
	gray.stride[0] = 16;
	gray.range = CR_RANGE_UNSTATED;
	assert_int_equal(cr_image_convert(s, &src, &gray), 0);
	assert_int_equal(out[0], 16);
	assert_int_equal(out[127], 235);
	cr_scaler_free(&s);
}

static void test_names_and_layouts(void **state)
{
	struct cr_plane_layout l;
	uint32_t f;

	assert_int_equal(cr_fourcc_parse("pRAA", &f), 0);
	assert_int_equal(f, CR_FMT_SRGGB10P);
	assert_int_equal(cr_fourcc_parse("srggb10p", &f), 0);
	assert_int_equal(f, CR_FMT_SRGGB10P);
	assert_int_equal(cr_fourcc_parse("Y10", &f), 0);
	assert_int_equal(f, CR_FMT_Y10);
	assert_int_equal(cr_fourcc_parse("BA81", &f), 0);
	assert_int_equal(f, CR_FMT_SBGGR8);
	assert_string_equal(cr_fourcc_name(CR_FMT_SGRBG10P), "SGRBG10P");
	assert_true(cr_fourcc_is_supported(CR_FMT_Y12));
	assert_true(cr_fourcc_is_mono(CR_FMT_Y10P));
	assert_false(cr_fourcc_is_mono(CR_FMT_SRGGB8));
	assert_int_equal(cr_fourcc_layout(CR_FMT_Y10P, 1456, 1088, 0, &l), 0);
	assert_int_equal(l.stride[0], 1820);
	assert_int_equal(cr_fourcc_layout(CR_FMT_SRGGB12, 100, 10, 256, &l), 0);
	assert_int_equal(l.stride[0], 256);
	assert_int_equal(l.size, 2560);
	assert_int_equal(cr_fourcc_layout(CR_FMT_SRGGB10P, 6, 1, 0, &l), 0);
	assert_int_equal(l.stride[0], 8); /* 5 bytes for 4 pixels, 3 for the last 2 */
	assert_int_equal(cr_image_raw_gray_format(CR_FMT_SBGGR12), AV_PIX_FMT_GRAY12LE);
	assert_int_equal(cr_image_raw_gray_format(CR_FMT_Y10P), AV_PIX_FMT_GRAY10LE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpack10_known_bytes),
		cmocka_unit_test(test_unpack10_round_trip),
		cmocka_unit_test(test_samples_every_depth),
		cmocka_unit_test(test_develop_mono),
		cmocka_unit_test(test_develop_bayer_orders),
		cmocka_unit_test(test_convert_raw_scaled),
		cmocka_unit_test(test_convert_nv12_tight),
		cmocka_unit_test(test_convert_range),
		cmocka_unit_test(test_names_and_layouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
