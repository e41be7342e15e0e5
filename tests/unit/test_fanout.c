/* Fan-out: every active subscriber gets every frame; a full queue drops and
 * counts for that subscriber only; the publisher never waits; inactive
 * subscribers get nothing; frames go back to the pool when all are done. */
#include "base/fanout.h"
#include "base/time.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static struct cr_frame *frame_n(struct cr_frame_pool *pool, uint64_t n)
{
	struct cr_frame *f = cr_frame_pool_get(pool);

	assert_non_null(f);
	f->index = n;
	return f;
}

static void test_two_subscribers_one_slow(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(16, 16);
	struct cr_fanout *fo = cr_fanout_new();
	struct cr_subscriber *fast = cr_fanout_subscribe(fo, "fast", 8, CR_QUEUE_DROP_NEWEST);
	struct cr_subscriber *slow = cr_fanout_subscribe(fo, "slow", 2, CR_QUEUE_DROP_NEWEST);
	struct cr_subscriber_stats st[4];
	unsigned total, in_use, drops = 0;
	size_t bytes;
	struct cr_frame *f;
	int64_t t0 = cr_time_mono_ns();

	for (uint64_t i = 0; i < 5; i++) {
		f = frame_n(pool, i);
		drops += cr_fanout_publish(fo, f);
		cr_frame_unref(&f);
	}
	/* 5 publishes into a queue of 2 that nobody drains: never blocked. */
	assert_true(cr_time_mono_ns() - t0 < 100 * CR_NS_PER_MS);
	assert_int_equal(drops, 3);
	for (uint64_t i = 0; i < 5; i++) {
		assert_int_equal(cr_subscriber_pop(fast, &f, 0), 0);
		assert_int_equal(f->index, i);
		cr_frame_unref(&f);
	}
	for (uint64_t i = 0; i < 2; i++) {
		assert_int_equal(cr_subscriber_pop(slow, &f, 0), 0);
		assert_int_equal(f->index, i); /* drop-newest keeps the first ones, in order */
		cr_frame_unref(&f);
	}
	assert_int_equal(cr_subscriber_pop(slow, &f, 0), -ETIMEDOUT);
	assert_int_equal(cr_fanout_stats(fo, st, 4), 2);
	for (int i = 0; i < 2; i++) {
		if (strcmp(st[i].name, "slow") == 0) {
			assert_int_equal(st[i].dropped, 3);
			assert_int_equal(st[i].delivered, 2);
		} else {
			assert_string_equal(st[i].name, "fast");
			assert_int_equal(st[i].dropped, 0);
			assert_int_equal(st[i].delivered, 5);
		}
	}
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(in_use, 0);
	cr_fanout_unsubscribe(fo, &fast);
	cr_fanout_unsubscribe(fo, &slow);
	cr_fanout_free(&fo);
	cr_frame_pool_free(&pool);
}

static void test_latest_wins(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(8, 16);
	struct cr_fanout *fo = cr_fanout_new();
	struct cr_subscriber *live = cr_fanout_subscribe(fo, "live", 1, CR_QUEUE_DROP_OLDEST);
	struct cr_frame *f;
	unsigned total, in_use;
	size_t bytes;

	for (uint64_t i = 0; i < 4; i++) {
		f = frame_n(pool, i);
		cr_fanout_publish(fo, f);
		cr_frame_unref(&f);
	}
	assert_int_equal(cr_subscriber_pop(live, &f, 0), 0);
	assert_int_equal(f->index, 3);
	cr_frame_unref(&f);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(in_use, 0); /* evicted frames went back to the pool */
	cr_fanout_unsubscribe(fo, &live);
	cr_fanout_free(&fo);
	cr_frame_pool_free(&pool);
}

/* A byte budget bounds a queue besides its depth: DROP_NEWEST refuses the
 * frame over it, DROP_OLDEST evicts the oldest; an empty queue takes any. */
static void test_budget(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(16, 100);
	struct cr_fanout *fo = cr_fanout_new();
	struct cr_subscriber *rec = cr_fanout_subscribe(fo, "rec", 8, CR_QUEUE_DROP_NEWEST);
	struct cr_subscriber *live = cr_fanout_subscribe(fo, "live", 8, CR_QUEUE_DROP_OLDEST);
	struct cr_subscriber_stats st[2];
	struct cr_frame *f;

	cr_subscriber_set_budget(rec, 250);
	cr_subscriber_set_budget(live, 250);
	for (uint64_t i = 0; i < 5; i++) {
		f = frame_n(pool, i);
		f->size = 100;
		cr_fanout_publish(fo, f);
		cr_frame_unref(&f);
	}
	assert_int_equal(cr_fanout_stats(fo, st, 2), 2);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(st[k].length, 2);  /* 2 x 100 bytes fit in 250, a third does not */
		assert_int_equal(st[k].bytes, 200);
		assert_int_equal(st[k].peak_bytes, 200);
		assert_int_equal(st[k].budget, 250);
		assert_int_equal(st[k].dropped, 3);
	}
	assert_int_equal(cr_subscriber_pop(rec, &f, 0), 0);
	assert_int_equal(f->index, 0); /* the first two were kept */
	cr_frame_unref(&f);
	assert_int_equal(cr_subscriber_pop(live, &f, 0), 0);
	assert_int_equal(f->index, 3); /* the newest two were kept */
	cr_frame_unref(&f);
	/* An empty queue takes a frame larger than the budget. */
	assert_int_equal(cr_subscriber_pop(rec, &f, 0), 0);
	cr_frame_unref(&f);
	f = frame_n(pool, 9);
	f->size = 100;
	cr_subscriber_set_budget(rec, 50);
	cr_fanout_publish(fo, f);
	cr_frame_unref(&f);
	assert_int_equal(cr_subscriber_pop(rec, &f, 0), 0);
	assert_int_equal(f->index, 9);
	cr_frame_unref(&f);
	cr_fanout_unsubscribe(fo, &rec);
	cr_fanout_unsubscribe(fo, &live);
	cr_fanout_free(&fo);
	cr_frame_pool_free(&pool);
}

static void test_inactive_and_unsubscribe(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(4, 16);
	struct cr_fanout *fo = cr_fanout_new();
	struct cr_subscriber *s = cr_fanout_subscribe(fo, "s", 4, CR_QUEUE_DROP_NEWEST);
	struct cr_frame *f;
	unsigned total, in_use;
	size_t bytes;

	cr_subscriber_set_active(s, false);
	f = frame_n(pool, 0);
	assert_int_equal(cr_fanout_publish(fo, f), 0);
	cr_frame_unref(&f);
	assert_int_equal(cr_subscriber_pop(s, &f, 0), -ETIMEDOUT);
	cr_subscriber_set_active(s, true);
	f = frame_n(pool, 1);
	cr_fanout_publish(fo, f);
	cr_frame_unref(&f);
	/* Unsubscribing with a frame still queued releases it. */
	cr_fanout_unsubscribe(fo, &s);
	assert_null(s);
	cr_frame_pool_stats(pool, &total, &in_use, &bytes);
	assert_int_equal(in_use, 0);
	cr_fanout_free(&fo);
	cr_frame_pool_free(&pool);
}

struct tap_seen {
	uint64_t last_index;
	int calls;
	int refs_during_call;
};

static void tap(void *ctx, const struct cr_frame *frame)
{
	struct tap_seen *seen = ctx;

	seen->last_index = frame->index;
	seen->calls++;
	seen->refs_during_call = atomic_load(&frame->refs);
}

static void test_taps(void **state)
{
	struct cr_frame_pool *pool = cr_frame_pool_new(4, 16);
	struct cr_fanout *fo = cr_fanout_new();
	struct tap_seen a = { 0 }, b = { 0 };
	struct cr_subscriber_stats st[4];
	struct cr_frame *f;

	assert_int_equal(cr_fanout_add_tap(fo, "a", tap, &a), 0);
	assert_int_equal(cr_fanout_add_tap(fo, "b", tap, &b), 0);
	for (uint64_t i = 0; i < 3; i++) {
		f = frame_n(pool, i);
		cr_fanout_publish(fo, f);
		cr_frame_unref(&f);
	}
	assert_int_equal(a.calls, 3);
	assert_int_equal(a.last_index, 2);
	assert_int_equal(a.refs_during_call, 1); /* inline: the publisher's own reference */
	assert_int_equal(cr_fanout_stats(fo, st, 4), 2);
	assert_string_equal(st[0].name, "a");
	assert_int_equal(st[0].delivered, 3);
	assert_int_equal(st[0].dropped, 0);
	cr_fanout_remove_tap(fo, &a);
	f = frame_n(pool, 3);
	cr_fanout_publish(fo, f);
	cr_frame_unref(&f);
	assert_int_equal(a.calls, 3);
	assert_int_equal(b.calls, 4);
	assert_int_equal(cr_fanout_add_tap(fo, "c", tap, &a), 0);
	assert_int_equal(cr_fanout_add_tap(fo, "d", tap, &a), 0);
	assert_int_equal(cr_fanout_add_tap(fo, "e", tap, &a), 0);
	assert_int_equal(cr_fanout_add_tap(fo, "f", tap, &a), -ENOSPC);
	cr_fanout_free(&fo);
	cr_frame_pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_subscribers_one_slow),
		cmocka_unit_test(test_latest_wins),
		cmocka_unit_test(test_inactive_and_unsubscribe),
		cmocka_unit_test(test_taps),
		cmocka_unit_test(test_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
