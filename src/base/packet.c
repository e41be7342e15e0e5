/* Refcounted encoded packets (see packet.h). */
#include "base/packet.h"

#include "base/mem.h"

#include <stdlib.h>

struct cr_packet *cr_packet_new_take(AVPacket **av, bool keyframe, uint64_t index, uint32_t sequence,
				     int64_t mono_ns, int64_t utc_us)
{
	struct cr_packet *pkt = CR_NEW(pkt);

	pkt->av = *av;
	*av = NULL;
	pkt->keyframe = keyframe;
	pkt->index = index;
	pkt->sequence = sequence;
	pkt->mono_ns = mono_ns;
	pkt->utc_us = utc_us;
	atomic_store(&pkt->refs, 1);
	return pkt;
}

struct cr_packet *cr_packet_ref(struct cr_packet *pkt)
{
	atomic_fetch_add_explicit(&pkt->refs, 1, memory_order_relaxed);
	return pkt;
}

void cr_packet_unref(struct cr_packet **ppkt)
{
	struct cr_packet *pkt = *ppkt;

	if (!pkt)
		return;
	*ppkt = NULL;
	if (atomic_fetch_sub_explicit(&pkt->refs, 1, memory_order_acq_rel) != 1)
		return;
	av_packet_free(&pkt->av);
	free(pkt);
}
