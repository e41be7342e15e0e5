/* The pre-trigger ring (see prebuffer.h).
 *
 * Design: a growable circular array of packet references. After each push
 * the front is trimmed to the newest keyframe that is still at least the
 * duration older than the newest packet; while the bytes exceed the limit,
 * whole GOPs go from the front (the ring empties if it holds a single GOP
 * that is too large, and starts again at the next keyframe). */
#include "record/prebuffer.h"

#include "base/mem.h"

#include <stdlib.h>

struct cr_prebuffer {
	struct cr_packet **items;   /* capacity entries, circular */
	unsigned capacity, head, length;
	int64_t duration_ns;
	size_t max_bytes, bytes;
};

struct cr_prebuffer *cr_prebuffer_new(int64_t duration_ns, size_t max_bytes)
{
	struct cr_prebuffer *pb = CR_NEW(pb);

	pb->duration_ns = duration_ns;
	pb->max_bytes = max_bytes;
	pb->capacity = 64;
	pb->items = cr_calloc(pb->capacity, sizeof(*pb->items));
	return pb;
}

static struct cr_packet *at(const struct cr_prebuffer *pb, unsigned i)
{
	return pb->items[(pb->head + i) % pb->capacity];
}

/* Drops the first n packets. */
static void drop_front(struct cr_prebuffer *pb, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct cr_packet **slot = &pb->items[pb->head];

		pb->bytes -= cr_packet_size(*slot);
		cr_packet_unref(slot);
		pb->head = (pb->head + 1) % pb->capacity;
		pb->length--;
	}
}

void cr_prebuffer_free(struct cr_prebuffer **ppb)
{
	struct cr_prebuffer *pb = *ppb;

	if (!pb)
		return;
	*ppb = NULL;
	drop_front(pb, pb->length);
	free(pb->items);
	free(pb);
}

/* The position of the first keyframe after position from, or 0 if none. */
static unsigned next_keyframe(const struct cr_prebuffer *pb, unsigned from)
{
	for (unsigned i = from + 1; i < pb->length; i++)
		if (at(pb, i)->keyframe)
			return i;
	return 0;
}

void cr_prebuffer_push(struct cr_prebuffer *pb, struct cr_packet *pkt)
{
	int64_t keep_from;
	unsigned k;

	if (pb->length == 0 && !pkt->keyframe)
		return;
	if (pb->length == pb->capacity) {
		struct cr_packet **items = cr_calloc(pb->capacity * 2, sizeof(*items));

		for (unsigned i = 0; i < pb->length; i++)
			items[i] = at(pb, i);
		free(pb->items);
		pb->items = items;
		pb->head = 0;
		pb->capacity *= 2;
	}
	pb->items[(pb->head + pb->length++) % pb->capacity] = cr_packet_ref(pkt);
	pb->bytes += cr_packet_size(pkt);

	keep_from = pkt->mono_ns - pb->duration_ns;
	while ((k = next_keyframe(pb, 0)) != 0 && at(pb, k)->mono_ns <= keep_from)
		drop_front(pb, k);
	while (pb->bytes > pb->max_bytes && pb->length > 0) {
		k = next_keyframe(pb, 0);
		drop_front(pb, k ? k : pb->length);
	}
}

unsigned cr_prebuffer_snapshot(struct cr_prebuffer *pb, int64_t trigger_ns, struct cr_packet ***out)
{
	int64_t from_ns = trigger_ns - pb->duration_ns;
	unsigned first = 0, n;

	*out = NULL;
	for (unsigned i = 0; i < pb->length; i++) {
		struct cr_packet *p = at(pb, i);

		if (p->mono_ns > from_ns)
			break;
		if (p->keyframe)
			first = i;
	}
	n = pb->length - first;
	if (n == 0)
		return 0;
	*out = cr_calloc(n, sizeof(**out));
	for (unsigned i = 0; i < n; i++)
		(*out)[i] = cr_packet_ref(at(pb, first + i));
	return n;
}

void cr_prebuffer_stats(const struct cr_prebuffer *pb, struct cr_prebuffer_stats *stats)
{
	stats->packets = pb->length;
	stats->bytes = pb->bytes;
	stats->seconds = pb->length ? (double)(at(pb, pb->length - 1)->mono_ns - at(pb, 0)->mono_ns) / 1e9 : 0;
}
