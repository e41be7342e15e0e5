/* Frame pool and refcounting: frames come back to the pool on the last unref,
 * an exhausted pool says so instead of allocating, and a pool freed while
 * frames are out lives until the last one returns. */
#include "base/error.h"
#include "base/frame.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void test_get_until_exhausted(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(3, 1024);
	struct cr_frame *f[4];
	unsigned total, in_use;
	size_t bytes;

	for (int i = 0; i < 3; i++) {
		f[i] = cr_frame_pool_get(pool);
		assert_non_null(f[i]);
		assert_int_equal(f[i]->capacity, 1024);
	}
	assert_null(cr_frame_pool_get(pool));
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(total, 3);
	assert_int_equal(in_use, 3);
	assert_int_equal(bytes, 3 * 1024);
	cr_frame_unref(&f[1]);
	assert_null(f[1]);
	f[3] = cr_frame_pool_get(pool);
	assert_non_null(f[3]);
	for (int i = 0; i < 4; i++)
		cr_frame_unref(&f[i]);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(in_use, 0);
	assert_int_equal(bytes, 3 * 1024); /* a reused frame keeps its buffer */
	cr_frame_pool_free(&pool);
	assert_null(pool);
}

/* A buffer needed only in a peak is freed once unused past the limit; the
 * frames in use keep theirs. */
static void test_idle_buffers_freed(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(4, 4096);
	struct cr_frame *f[3];
	unsigned total, in_use;
	size_t bytes;

	(void)state;
	for (int i = 0; i < 3; i++)
		f[i] = cr_frame_pool_get(pool);
	for (int i = 0; i < 3; i++)
		cr_frame_unref(&f[i]);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(bytes, 3 * 4096); /* kept within the limit */
	f[0] = cr_frame_pool_get(pool);
	cr_frame_unref(&f[0]);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(bytes, 3 * 4096);

	cr_frame_pool_set_idle_limit(pool, 0); /* every free buffer is past it */
	f[0] = cr_frame_pool_get(pool);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(bytes, 2 * 4096); /* one idle buffer freed per get */
	f[1] = cr_frame_pool_get(pool);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(in_use, 2);
	assert_int_equal(bytes, 2 * 4096); /* the two in use keep theirs */
	memset(f[0]->data, 1, 4096);
	memset(f[1]->data, 2, 4096);
	cr_frame_unref(&f[0]);
	cr_frame_unref(&f[1]);
	f[0] = cr_frame_pool_get(pool); /* frees the other; takes a buffer back */
	assert_non_null(f[0]->data);
	assert_int_equal(f[0]->capacity, 4096);
	memset(f[0]->data, 3, 4096);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(bytes, 1 * 4096);
	cr_frame_unref(&f[0]);
	cr_frame_pool_free(&pool);
}

static void test_refcount(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(1, 64);
	struct cr_frame *a = cr_frame_pool_get(pool), *b = cr_frame_ref(a);
	unsigned total, in_use;
	size_t bytes;

	cr_frame_unref(&a);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(in_use, 1);
	assert_null(cr_frame_pool_get(pool));
	cr_frame_unref(&b);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(in_use, 0);
	cr_frame_unref(&b); /* NULL-safe */
	cr_frame_pool_free(&pool);
}

static void test_pool_freed_with_frames_out(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(2, 64);
	struct cr_frame *f = cr_frame_pool_get(pool);

	f->data[0] = 42;
	cr_frame_pool_free(&pool);
	assert_int_equal(f->data[0], 42); /* still valid (ASan would catch a use after free) */
	cr_frame_unref(&f);
	cr_frame_pool_free(&pool); /* NULL-safe */
}

static void test_set_format(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(1, 640 * 480 * 3 / 2);
	struct cr_frame *f = cr_frame_pool_get(pool);

	assert_int_equal(cr_frame_set_format(f, CR_FMT_YU12, 640, 480, 0), 0);
	assert_int_equal(f->nplanes, 3);
	assert_int_equal(f->stride[0], 640);
	assert_int_equal(f->stride[1], 320);
	assert_ptr_equal(f->plane[1], f->data + 640 * 480);
	assert_ptr_equal(f->plane[2], f->data + 640 * 480 + 320 * 240);
	assert_int_equal(f->size, 640 * 480 * 3 / 2);
	assert_int_equal(cr_frame_set_format(f, CR_FMT_YUYV, 640, 480, 0), -ENOSPC);
	assert_int_equal(cr_frame_set_format(f, CR_FMT_NV12, 640, 480, 0), 0);
	assert_int_equal(f->nplanes, 2);
	assert_int_equal(cr_frame_set_format(f, CR_FMT_MJPEG, 640, 480, 0), 0);
	assert_int_equal(f->nplanes, 0);
	cr_frame_unref(&f);
	cr_frame_pool_free(&pool);
}

static void test_fourcc_parse(void **state)
{
	uint32_t f;
	char buf[5];

	assert_int_equal(cr_fourcc_parse("yuyv", &f), 0);
	assert_int_equal(f, CR_FMT_YUYV);
	assert_int_equal(cr_fourcc_parse("RGB24", &f), 0);
	assert_int_equal(f, CR_FMT_RGB24);
	assert_int_equal(cr_fourcc_parse("MJPEG", &f), 0);
	assert_int_equal(f, CR_FMT_MJPEG);
	assert_int_equal(cr_fourcc_parse("toolong", &f), -EINVAL);
	assert_string_equal(cr_fourcc_str(CR_FMT_NV12, buf), "NV12");
	assert_true(cr_fourcc_is_supported(CR_FMT_GREY));
	assert_false(cr_fourcc_is_supported(CR_FOURCC('H', '2', '6', '4')));
}

static void count_release(void *opaque)
{
	(*(int *)opaque)++;
}

/* A wrapped frame (zero-copy capture) points at the driver's memory until its
 * last unref, which gives that memory back exactly once; then it is an
 * ordinary pooled frame again, even from a pool freed meanwhile. */
static void test_wrap(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(1, 64);
	static uint8_t driver[640 * 480 * 2];
	struct cr_frame *f = cr_frame_pool_get(pool), *g;
	uint8_t *own = f->data;
	int released = 0;

	cr_frame_wrap(f, driver, sizeof(driver), count_release, &released);
	assert_int_equal(cr_frame_set_format(f, CR_FMT_YUYV, 640, 480, 0), 0);
	assert_ptr_equal(f->plane[0], driver);
	g = cr_frame_ref(f);
	cr_frame_unref(&f);
	assert_int_equal(released, 0);
	cr_frame_unref(&g);
	assert_int_equal(released, 1);
	f = cr_frame_pool_get(pool);
	assert_ptr_equal(f->data, own);
	assert_int_equal(f->capacity, 64);
	assert_int_equal(cr_frame_set_format(f, CR_FMT_YUYV, 640, 480, 0), -ENOSPC);
	cr_frame_wrap(f, driver, sizeof(driver), count_release, &released);
	cr_frame_pool_free(&pool);
	cr_frame_unref(&f);
	assert_int_equal(released, 2);
}

/* A frame wrapped by planes (a decoder's picture) keeps each plane and its
 * own stride, counts every plane's bytes, refuses a stride below the row
 * without touching the frame, and releases once at the last unref. */
static void test_wrap_planes(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(1, 64);
	static uint8_t y[64 * 48], u[48 * 24], v[48 * 24];
	uint8_t *planes[3] = { y, u, v };
	int strides[3] = { 64, 48, 48 }, narrow[3] = { 64, 16, 48 };
	struct cr_frame *f = cr_frame_pool_get(pool);
	uint8_t *own = f->data;
	int released = 0;

	assert_int_equal(cr_frame_wrap_planes(f, CR_FMT_YU12, 40, 48, planes, narrow, count_release, &released), -EINVAL);
	assert_ptr_equal(f->data, own);
	assert_null(f->release);
	assert_int_equal(cr_frame_wrap_planes(f, CR_FMT_MJPEG, 40, 48, planes, strides, count_release, &released),
			 CR_EFORMAT);
	assert_int_equal(cr_frame_wrap_planes(f, CR_FMT_YU12, 40, 48, planes, strides, count_release, &released), 0);
	assert_int_equal(f->nplanes, 3);
	assert_ptr_equal(f->plane[1], u);
	assert_ptr_equal(f->plane[2], v);
	assert_int_equal(f->stride[0], 64);
	assert_int_equal(f->stride[2], 48);
	assert_int_equal(f->size, 64 * 48 + 2 * 48 * 24);
	assert_int_equal(f->range, CR_RANGE_UNSTATED);
	cr_frame_unref(&f);
	assert_int_equal(released, 1);
	f = cr_frame_pool_get(pool);
	assert_ptr_equal(f->data, own);
	cr_frame_unref(&f);
	assert_int_equal(released, 1);
	cr_frame_pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_until_exhausted),
		cmocka_unit_test(test_idle_buffers_freed),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_pool_freed_with_frames_out),
		cmocka_unit_test(test_set_format),
		cmocka_unit_test(test_fourcc_parse),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrap_planes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
