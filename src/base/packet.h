/* Encoded video packets: one compressed frame plus the metadata of the camera
 * frame it came from.
 *
 * A packet is produced once by the video encoder and shared, refcounted, by
 * everything downstream: the pre-trigger ring, the recorder, later network
 * feeds. Its data is an AVPacket buffer (refcounted by libav itself), so
 * handing it to the muxer costs a reference, not a copy. Immutable once
 * published. */
#ifndef CR_BASE_PACKET_H
#define CR_BASE_PACKET_H

#include <libavcodec/packet.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_packet {
	AVPacket *av;         /* data, size, keyframe flag; pts/dts in µs of CLOCK_MONOTONIC */
	bool keyframe;        /* decoding can start here (IDR / intra frame) */
	uint64_t index;       /* the frame's camrig index (cr_frame.index) */
	uint32_t sequence;    /* the frame's driver sequence number */
	int64_t mono_ns;      /* the frame's capture time, CLOCK_MONOTONIC ns */
	int64_t utc_us;       /* the frame's capture time, µs since the UTC epoch */
	int64_t device_ns;    /* the frame's camera timestamp, ns of the camera's clock; 0: none
				 (set by the encoder after cr_packet_new_take()) */
	unsigned params;      /* the encoder's stream parameters it belongs to: a new value means new
				 codec parameters (the camera came back with another size) */
	atomic_int refs;
};

/* Wraps av (taken: the packet owns it from now on) with the frame metadata.
 * Returns the packet with one reference. */
struct cr_packet *cr_packet_new_take(AVPacket **av, bool keyframe, uint64_t index, uint32_t sequence,
				     int64_t mono_ns, int64_t utc_us);

struct cr_packet *cr_packet_ref(struct cr_packet *pkt);

/* Drops a reference; the last one frees. NULL-safe; sets *pkt to NULL. */
void cr_packet_unref(struct cr_packet **pkt);

/* Bytes of compressed data. */
static inline size_t cr_packet_size(const struct cr_packet *pkt)
{
	return (size_t)pkt->av->size;
}

#ifdef __cplusplus
}
#endif

#endif
