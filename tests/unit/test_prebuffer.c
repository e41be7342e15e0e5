/* Pre-trigger ring and sidecar: the ring starts on a keyframe, keeps between
 * N and N + one GOP, honours its byte limit, and a snapshot starts at the
 * newest keyframe at or before trigger - N; the sidecar writes gap rows that
 * account for dropped and lost frames. */
#include "record/prebuffer.h"
#include "record/sidecar.h"
#include "base/time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define MS CR_NS_PER_MS

/* A packet of size bytes for frame i captured at i * 40 ms; a keyframe every gop. */
static struct cr_packet *packet(unsigned i, unsigned gop, int size)
{
	AVPacket *av = av_packet_alloc();

	assert_int_equal(av_new_packet(av, size), 0);
	return cr_packet_new_take(&av, i % gop == 0, i, i, (int64_t)i * 40 * MS, 1000000 + i * 40000);
}

static void test_ring_window(void **state)
{
	struct cr_prebuffer *pb = cr_prebuffer_new(1000 * MS, 1 << 30);
	struct cr_prebuffer_stats st;
	struct cr_packet **snap;
	unsigned n;

	for (unsigned i = 3; i < 200; i++) { /* starts mid-GOP: 3, 4 are not kept */
		struct cr_packet *p = packet(i, 10, 100);

		cr_prebuffer_push(pb, p);
		cr_packet_unref(&p);
	}
	cr_prebuffer_stats(pb, &st);
	/* newest 199 at 7.96 s; keep from the newest keyframe <= 6.96 s: 170 (6.8 s). */
	assert_int_equal(st.packets, 30);
	assert_true(st.seconds >= 1.0 && st.seconds <= 1.0 + 0.4);
	assert_int_equal(st.bytes, 3000);
	/* A trigger at frame 195 (7.8 s): newest keyframe <= 6.8 s is frame 170. */
	n = cr_prebuffer_snapshot(pb, 195 * 40 * MS, &snap);
	assert_int_equal(n, 30);
	assert_true(snap[0]->keyframe);
	assert_int_equal(snap[0]->index, 170);
	for (unsigned i = 0; i < n; i++)
		cr_packet_unref(&snap[i]);
	free(snap);
	cr_prebuffer_free(&pb);
	assert_null(pb);
}

static void test_ring_intra_exact(void **state)
{
	struct cr_prebuffer *pb = cr_prebuffer_new(1000 * MS, 1 << 30);
	struct cr_packet **snap;
	unsigned n;

	for (unsigned i = 0; i < 100; i++) {
		struct cr_packet *p = packet(i, 1, 10);

		cr_prebuffer_push(pb, p);
		cr_packet_unref(&p);
	}
	/* Every frame a keyframe: the snapshot starts exactly N before the trigger. */
	n = cr_prebuffer_snapshot(pb, 99 * 40 * MS + 5 * MS, &snap);
	assert_int_equal(n, 26);
	assert_int_equal(snap[0]->index, 74); /* 2.96 s: the newest frame <= 3.965 s - 1 s */
	for (unsigned i = 0; i < n; i++)
		cr_packet_unref(&snap[i]);
	free(snap);
	cr_prebuffer_free(&pb);
}

static void test_ring_byte_limit(void **state)
{
	struct cr_prebuffer *pb = cr_prebuffer_new(100000 * MS, 5000);
	struct cr_prebuffer_stats st;

	for (unsigned i = 0; i < 100; i++) {
		struct cr_packet *p = packet(i, 10, 100);

		cr_prebuffer_push(pb, p);
		cr_packet_unref(&p);
	}
	cr_prebuffer_stats(pb, &st);
	assert_true(st.bytes <= 5000);
	assert_true(st.packets >= 40);
	cr_prebuffer_free(&pb);
}

static void test_sidecar_gaps(void **state)
{
	char path[] = "/tmp/camrig-sidecar-XXXXXX";
	struct cr_sidecar_info info = { .video = "v.mkv", .camera = "c", .codec = "x", .trigger = "http" };
	struct cr_sidecar *sc = NULL;
	struct cr_sidecar_counts counts;
	char text[4096];
	size_t len;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(cr_sidecar_open(path, &info, &sc), 0);
	/* Index 0..5 with sequence 10, 11, (12, 13 lost upstream) 14; index 3 dropped inside. */
	struct { uint64_t index; uint32_t seq; } frames[] = { { 0, 10 }, { 1, 11 }, { 2, 14 }, { 4, 16 } };
	for (unsigned i = 0; i < 4; i++) {
		AVPacket *av = av_packet_alloc();
		struct cr_packet *p = cr_packet_new_take(&av, true, frames[i].index, frames[i].seq, i * 40 * MS, 0);

		assert_int_equal(cr_sidecar_frame(sc, i, p), 0);
		cr_packet_unref(&p);
	}
	cr_sidecar_counts(sc, &counts);
	assert_int_equal(counts.recorded, 4);
	assert_int_equal(counts.dropped, 1);
	assert_int_equal(counts.lost, 2);
	assert_int_equal(cr_sidecar_close(&sc, "test"), 0);
	f = fopen(path, "r");
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	unlink(path);
	text[len] = '\0';
	assert_non_null(strstr(text, ",,12,,,lost,http\n,,13,,,lost,http\n2,2,14,"));
	assert_non_null(strstr(text, ",3,15,,,dropped,http\n3,4,16,"));
	assert_non_null(strstr(text, "# end: recorded=4 dropped=1 lost=2 reason=test\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_window),
		cmocka_unit_test(test_ring_intra_exact),
		cmocka_unit_test(test_ring_byte_limit),
		cmocka_unit_test(test_sidecar_gaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
