/* The bounded ring (base/ring.c): order across the wrap, both policies on a
 * full ring, putting an item back in front, taking the newest back, the
 * contiguous runs for writev(), growing, and items wider than a pointer. */
#include "base/ring.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static int at(const struct cr_ring *r, unsigned i)
{
	return *(int *)cr_ring_at(r, i);
}

static void push(struct cr_ring *r, int v, int want)
{
	assert_int_equal(cr_ring_push(r, &v, NULL), want);
}

static void test_wrap_around(void **state)
{
	struct cr_ring r;
	int v;

	cr_ring_init(&r, 3, sizeof(int), CR_RING_DROP_NEWEST);
	for (int round = 0; round < 5; round++) {
		push(&r, round * 10 + 1, 0);
		push(&r, round * 10 + 2, 0);
		assert_true(cr_ring_pop(&r, &v));
		assert_int_equal(v, round * 10 + 1);
		assert_true(cr_ring_pop(&r, &v));
		assert_int_equal(v, round * 10 + 2);
	}
	assert_false(cr_ring_pop(&r, &v));
	assert_int_equal(cr_ring_length(&r), 0);
	cr_ring_fini(&r);
}

static void test_full_drop_newest(void **state)
{
	struct cr_ring r;

	cr_ring_init(&r, 2, sizeof(int), CR_RING_DROP_NEWEST);
	push(&r, 1, 0);
	push(&r, 2, 0);
	assert_true(cr_ring_full(&r));
	push(&r, 3, -EAGAIN);
	assert_int_equal(cr_ring_length(&r), 2);
	assert_int_equal(at(&r, 0), 1);
	assert_int_equal(at(&r, 1), 2);
	cr_ring_fini(&r);
}

static void test_full_drop_oldest(void **state)
{
	struct cr_ring r;
	int evicted = 0, v;

	cr_ring_init(&r, 3, sizeof(int), CR_RING_DROP_OLDEST);
	for (v = 1; v <= 3; v++)
		push(&r, v, 0);
	v = 4;
	assert_int_equal(cr_ring_push(&r, &v, &evicted), 1);
	assert_int_equal(evicted, 1);
	v = 5;
	assert_int_equal(cr_ring_push(&r, &v, NULL), 1);
	assert_int_equal(cr_ring_length(&r), 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(at(&r, i), (int)i + 3);
	cr_ring_fini(&r);
}

static void test_front_and_back(void **state)
{
	struct cr_ring r;
	int v;

	cr_ring_init(&r, 3, sizeof(int), CR_RING_DROP_NEWEST);
	push(&r, 2, 0);
	push(&r, 3, 0);
	v = 1;
	assert_int_equal(cr_ring_push_front(&r, &v), 0);   /* a retry goes first */
	assert_int_equal(cr_ring_push_front(&r, &v), -EAGAIN);
	assert_int_equal(at(&r, 0), 1);
	assert_int_equal(at(&r, 2), 3);
	assert_true(cr_ring_pop_back(&r, &v));
	assert_int_equal(v, 3);
	cr_ring_drop(&r, 5);                               /* more than it holds: empties */
	assert_int_equal(cr_ring_length(&r), 0);
	assert_false(cr_ring_pop_back(&r, NULL));
	cr_ring_fini(&r);
}

static void test_spans(void **state)
{
	struct cr_ring r;
	unsigned n1, n2;
	void *s1, *s2;

	cr_ring_init(&r, 4, 1, CR_RING_DROP_NEWEST);
	for (char c = 'a'; c <= 'd'; c++)
		cr_ring_push(&r, &c, NULL);
	cr_ring_drop(&r, 3);                               /* head at the last slot */
	for (char c = 'e'; c <= 'f'; c++)
		cr_ring_push(&r, &c, NULL);
	cr_ring_spans(&r, &s1, &n1, &s2, &n2);
	assert_int_equal(n1, 1);
	assert_int_equal(n2, 2);
	assert_memory_equal(s1, "d", 1);
	assert_memory_equal(s2, "ef", 2);
	cr_ring_drop(&r, 1);
	cr_ring_spans(&r, &s1, &n1, &s2, &n2);
	assert_int_equal(n1, 2);
	assert_int_equal(n2, 0);
	assert_memory_equal(s1, "ef", 2);
	cr_ring_fini(&r);
}

static void test_grow_keeps_order(void **state)
{
	struct cr_ring r;

	cr_ring_init(&r, 2, sizeof(int), CR_RING_DROP_NEWEST);
	push(&r, 1, 0);
	push(&r, 2, 0);
	cr_ring_drop(&r, 1);
	push(&r, 3, 0);                                    /* wrapped: 2 3 */
	cr_ring_grow(&r, 4);
	push(&r, 4, 0);
	push(&r, 5, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(at(&r, i), (int)i + 2);
	cr_ring_fini(&r);
	cr_ring_fini(&r);                                  /* twice is harmless */
}

struct wide {
	char text[40];
	double value;
};

static void test_wide_items(void **state)
{
	struct cr_ring r;
	struct wide w = { .value = 0 }, out;

	cr_ring_init(&r, 0, sizeof(w), CR_RING_DROP_OLDEST); /* 0 is taken as 1 */
	snprintf(w.text, sizeof(w.text), "first");
	cr_ring_push(&r, &w, NULL);
	snprintf(w.text, sizeof(w.text), "second");
	w.value = 2.5;
	assert_int_equal(cr_ring_push(&r, &w, &out), 1);
	assert_string_equal(out.text, "first");
	assert_true(cr_ring_pop(&r, &out));
	assert_string_equal(out.text, "second");
	assert_true(out.value == 2.5);
	cr_ring_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_around),     cmocka_unit_test(test_full_drop_newest),
		cmocka_unit_test(test_full_drop_oldest), cmocka_unit_test(test_front_and_back),
		cmocka_unit_test(test_spans),           cmocka_unit_test(test_grow_keeps_order),
		cmocka_unit_test(test_wide_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
