/* Raw H.264 over TCP (see tcpstream.c). */
#ifndef CR_PUBLISH_TCPSTREAM_H
#define CR_PUBLISH_TCPSTREAM_H

#include "config/config.h"
#include "encode/video.h"
#include "source/camera.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_tcpstream;

struct cr_tcpstream_stats {
	char listen[128];            /* HOST:PORT as configured */
	unsigned clients;            /* connected now */
	uint64_t clients_total;      /* accepted since start */
	uint64_t bytes_sent;         /* bytes */
	uint64_t skips;              /* times a slow client skipped to the next keyframe */
	uint64_t dropped;            /* clients dropped: stalled, or the queue overflowed */
	bool shared_encoder;         /* the recorder's encoder, not an own one */
	bool not_h264;               /* the encoder does not produce H.264: nothing is sent */
};

/* Creates the stream of cam on config->listen. When shared is an H.264
 * encoder (the recorder's, before cr_video_encoder_start()) its packets are
 * used; when shared is NULL the stream gets its own libx264 encoder with the
 * quality settings of recording (zero latency, 1 s GOP). Binds at once, so a
 * taken port fails here (logged). Returns 0 or a negative errno. */
int cr_tcpstream_new(struct cr_camera *cam, struct cr_video_encoder *shared,
		     const struct cr_tcp_stream_config *config, const struct cr_recording_config *recording,
		     struct cr_tcpstream **out);

/* Starts the thread (and the own encoder). Returns 0 or a negative errno. */
int cr_tcpstream_start(struct cr_tcpstream *ts);

/* Stops the thread and the own encoder and disconnects every client. With a
 * shared encoder call it after cr_video_encoder_stop(), when the encoder
 * thread no longer calls our sink. Idempotent. */
void cr_tcpstream_stop(struct cr_tcpstream *ts);

/* Stops and frees. NULL-safe; sets *ts to NULL. */
void cr_tcpstream_free(struct cr_tcpstream **ts);

void cr_tcpstream_stats(struct cr_tcpstream *ts, struct cr_tcpstream_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
