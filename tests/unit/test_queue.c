/* Bounded queue: order, both drop policies with their counts, timeouts,
 * close waking a waiting consumer, and an item waking the consumer that
 * began waiting last. */
#include "base/queue.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#define ITEM(n) ((void *)(uintptr_t)(n))

static void test_fifo(void **state)
{
	struct cr_queue *q = cr_queue_new(4, CR_QUEUE_DROP_NEWEST);
	void *item;

	for (int i = 1; i <= 3; i++)
		assert_int_equal(cr_queue_push(q, ITEM(i), NULL), 0);
	assert_int_equal(cr_queue_length(q), 3);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(cr_queue_pop(q, &item, 0), 0);
		assert_ptr_equal(item, ITEM(i));
	}
	assert_int_equal(cr_queue_pop(q, &item, 0), -ETIMEDOUT);
	cr_queue_free(&q, NULL);
	assert_null(q);
}

static void test_drop_newest(void **state)
{
	struct cr_queue *q = cr_queue_new(2, CR_QUEUE_DROP_NEWEST);
	void *item;

	assert_int_equal(cr_queue_push(q, ITEM(1), NULL), 0);
	assert_int_equal(cr_queue_push(q, ITEM(2), NULL), 0);
	assert_int_equal(cr_queue_push(q, ITEM(3), NULL), -EAGAIN);
	assert_int_equal(cr_queue_dropped(q), 1);
	assert_int_equal(cr_queue_pop(q, &item, 0), 0);
	assert_ptr_equal(item, ITEM(1));
	cr_queue_free(&q, NULL);
}

static void test_drop_oldest(void **state)
{
	struct cr_queue *q = cr_queue_new(2, CR_QUEUE_DROP_OLDEST);
	void *item, *evicted = NULL;

	assert_int_equal(cr_queue_push(q, ITEM(1), &evicted), 0);
	assert_int_equal(cr_queue_push(q, ITEM(2), &evicted), 0);
	assert_int_equal(cr_queue_push(q, ITEM(3), &evicted), 1);
	assert_ptr_equal(evicted, ITEM(1));
	assert_int_equal(cr_queue_dropped(q), 1);
	assert_int_equal(cr_queue_pop(q, &item, 0), 0);
	assert_ptr_equal(item, ITEM(2));
	assert_int_equal(cr_queue_pop(q, &item, 0), 0);
	assert_ptr_equal(item, ITEM(3));
	cr_queue_free(&q, NULL);
}

static void test_timeout(void **state)
{
	struct cr_queue *q = cr_queue_new(1, CR_QUEUE_DROP_NEWEST);
	int64_t t0 = cr_time_mono_ns();
	void *item;

	assert_int_equal(cr_queue_pop(q, &item, 50 * CR_NS_PER_MS), -ETIMEDOUT);
	assert_true(cr_time_mono_ns() - t0 >= 50 * CR_NS_PER_MS);
	cr_queue_free(&q, NULL);
}

static void *closer(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	cr_queue_close(arg);
	return NULL;
}

static void test_close_wakes(void **state)
{
	struct cr_queue *q = cr_queue_new(1, CR_QUEUE_DROP_NEWEST);
	pthread_t t;
	void *item;

	pthread_create(&t, NULL, closer, q);
	assert_int_equal(cr_queue_pop(q, &item, -1), -EPIPE);
	pthread_join(t, NULL);
	assert_int_equal(cr_queue_push(q, ITEM(1), NULL), -EPIPE);
	cr_queue_free(&q, NULL);
}

struct consumer {
	struct cr_queue *q;
	int taken; /* items this consumer popped */
};

static void *consume(void *arg)
{
	struct consumer *c = arg;
	void *item;

	while (cr_queue_pop(c->q, &item, -1) == 0)
		c->taken++;
	return NULL;
}

static void wait_waiting(struct cr_queue *q, unsigned n)
{
	const struct timespec ms = { 0, 1000000 };

	while (cr_queue_waiting(q) != n)
		nanosleep(&ms, NULL);
}

/* Three consumers start waiting one after the other; each item, pushed
 * while all three wait, goes to the last of them, which then waits again
 * as the newest. */
static void test_last_waiter_first(void **state)
{
	struct cr_queue *q = cr_queue_new(4, CR_QUEUE_DROP_OLDEST);
	struct consumer c[3] = { { q, 0 }, { q, 0 }, { q, 0 } };
	pthread_t t[3];

	for (unsigned i = 0; i < 3; i++) {
		pthread_create(&t[i], NULL, consume, &c[i]);
		wait_waiting(q, i + 1);
	}
	for (int k = 0; k < 5; k++) {
		assert_int_equal(cr_queue_push(q, ITEM(k + 1), NULL), 0);
		wait_waiting(q, 3);
	}
	assert_int_equal(cr_queue_length(q), 0);
	cr_queue_close(q);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(c[0].taken, 0);
	assert_int_equal(c[1].taken, 0);
	assert_int_equal(c[2].taken, 5);
	cr_queue_free(&q, NULL);
}

static int freed;
static void count_free(void *item) { freed += (int)(uintptr_t)item; }

static void test_free_drops_items(void **state)
{
	struct cr_queue *q = cr_queue_new(3, CR_QUEUE_DROP_NEWEST);

	cr_queue_push(q, ITEM(1), NULL);
	cr_queue_push(q, ITEM(2), NULL);
	freed = 0;
	cr_queue_free(&q, count_free);
	assert_int_equal(freed, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo),          cmocka_unit_test(test_drop_newest),
		cmocka_unit_test(test_drop_oldest),   cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_close_wakes),   cmocka_unit_test(test_free_drops_items),
		cmocka_unit_test(test_last_waiter_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
