/* The pre-trigger ring (see prebuffer.h).
 *
 * Design: a growing ring (base/ring.h) of packet references. After each push
 * the front is trimmed to the newest keyframe that is still at least the
 * duration older than the newest packet; while the bytes exceed the limit,
 * whole GOPs go from the front (the ring empties if it holds a single GOP
 * that is too large, and starts again at the next keyframe). */
#include "record/prebuffer.h"

#include "base/mem.h"
#include "base/ring.h"

#include <stdlib.h>

#define FIRST_CAPACITY 64           /* packets; the ring doubles when full */

struct cr_prebuffer {
	struct cr_ring ring;        /* of struct cr_packet *, oldest first */
	int64_t duration_ns;
	size_t max_bytes, bytes;
};

struct cr_prebuffer *cr_prebuffer_new(int64_t duration_ns, size_t max_bytes)
{
	struct cr_prebuffer *pb = CR_NEW(pb);

	pb->duration_ns = duration_ns;
	pb->max_bytes = max_bytes;
	cr_ring_init(&pb->ring, FIRST_CAPACITY, sizeof(struct cr_packet *), CR_RING_DROP_NEWEST);
	return pb;
}

static struct cr_packet *at(const struct cr_prebuffer *pb, unsigned i)
{
	return *(struct cr_packet **)cr_ring_at(&pb->ring, i);
}

/* Drops the first n packets. */
static void drop_front(struct cr_prebuffer *pb, unsigned n)
{
	struct cr_packet *pkt;

	for (unsigned i = 0; i < n && cr_ring_pop(&pb->ring, &pkt); i++) {
		pb->bytes -= cr_packet_size(pkt);
		cr_packet_unref(&pkt);
	}
}

void cr_prebuffer_free(struct cr_prebuffer **ppb)
{
	struct cr_prebuffer *pb = *ppb;

	if (!pb)
		return;
	*ppb = NULL;
	drop_front(pb, cr_ring_length(&pb->ring));
	cr_ring_fini(&pb->ring);
	free(pb);
}

/* The position of the first keyframe after position from, or 0 if none. */
static unsigned next_keyframe(const struct cr_prebuffer *pb, unsigned from)
{
	for (unsigned i = from + 1; i < cr_ring_length(&pb->ring); i++)
		if (at(pb, i)->keyframe)
			return i;
	return 0;
}

void cr_prebuffer_push(struct cr_prebuffer *pb, struct cr_packet *pkt)
{
	struct cr_packet *ref;
	int64_t keep_from;
	unsigned k;

	if (cr_ring_length(&pb->ring) == 0 && !pkt->keyframe)
		return;
	if (cr_ring_full(&pb->ring))
		cr_ring_grow(&pb->ring, pb->ring.capacity * 2);
	ref = cr_packet_ref(pkt);
	cr_ring_push(&pb->ring, &ref, NULL);
	pb->bytes += cr_packet_size(pkt);

	keep_from = pkt->mono_ns - pb->duration_ns;
	while ((k = next_keyframe(pb, 0)) != 0 && at(pb, k)->mono_ns <= keep_from)
		drop_front(pb, k);
	while (pb->bytes > pb->max_bytes && cr_ring_length(&pb->ring) > 0) {
		k = next_keyframe(pb, 0);
		drop_front(pb, k ? k : cr_ring_length(&pb->ring));
	}
}

unsigned cr_prebuffer_snapshot(struct cr_prebuffer *pb, int64_t trigger_ns, struct cr_packet ***out)
{
	int64_t from_ns = trigger_ns - pb->duration_ns;
	unsigned first = 0, n, length = cr_ring_length(&pb->ring);

	*out = NULL;
	for (unsigned i = 0; i < length; i++) {
		struct cr_packet *p = at(pb, i);

		if (p->mono_ns > from_ns)
			break;
		if (p->keyframe)
			first = i;
	}
	n = length - first;
	if (n == 0)
		return 0;
	*out = cr_calloc(n, sizeof(**out));
	for (unsigned i = 0; i < n; i++)
		(*out)[i] = cr_packet_ref(at(pb, first + i));
	return n;
}

void cr_prebuffer_stats(const struct cr_prebuffer *pb, struct cr_prebuffer_stats *stats)
{
	unsigned n = cr_ring_length(&pb->ring);

	stats->packets = n;
	stats->bytes = pb->bytes;
	stats->seconds = n ? (double)(at(pb, n - 1)->mono_ns - at(pb, 0)->mono_ns) / 1e9 : 0;
}
