/* The pre-trigger buffer: the last N seconds of encoded packets, kept so a
 * recording can begin before its trigger.
 *
 * The ring always starts on a keyframe, so a file written from it decodes
 * from its first packet. It holds the packets from the newest keyframe at
 * least N seconds older than the newest packet onwards: between N and
 * N + one GOP seconds. A byte limit bounds it whatever the bitrate (the
 * oldest GOPs go first). Memory is about bitrate x N.
 *
 * Not thread-safe: the recorder guards it with its lock. */
#ifndef CR_RECORD_PREBUFFER_H
#define CR_RECORD_PREBUFFER_H

#include "base/packet.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_prebuffer;

struct cr_prebuffer_stats {
	double seconds;        /* capture time from the first packet to the last, s */
	size_t bytes;          /* compressed bytes held */
	unsigned packets;      /* packets held */
};

/* Creates a ring of duration_ns (ns of capture time, > 0) holding at most
 * max_bytes bytes. */
struct cr_prebuffer *cr_prebuffer_new(int64_t duration_ns, size_t max_bytes);

/* Drops every packet and frees. NULL-safe; sets *pb to NULL. */
void cr_prebuffer_free(struct cr_prebuffer **pb);

/* Appends pkt (takes a reference of its own) and trims the front. Packets
 * before the first keyframe are not kept. */
void cr_prebuffer_push(struct cr_prebuffer *pb, struct cr_packet *pkt);

/* Copies references to the packets a recording triggered at trigger_ns
 * (CLOCK_MONOTONIC ns) starts with: from the newest keyframe captured at or
 * before trigger_ns - duration (or the oldest keyframe held, when the ring
 * is shorter) to the end. *out is a new array the caller frees, after
 * unreferencing each packet. Returns the number of packets (0: *out NULL). */
unsigned cr_prebuffer_snapshot(struct cr_prebuffer *pb, int64_t trigger_ns, struct cr_packet ***out);

void cr_prebuffer_stats(const struct cr_prebuffer *pb, struct cr_prebuffer_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
