/* Raw H.264 over TCP (see tcpstream.c). */
#ifndef CR_PUBLISH_TCPSTREAM_H
#define CR_PUBLISH_TCPSTREAM_H

#include "config/config.h"
#include "encode/video.h"
#include "source/camera.h"

#include <jansson.h>
#include <stdbool.h>

struct cr_tcpstream;

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

/* Disconnects every client, stops the thread and the own encoder, frees.
 * With a shared encoder call it after cr_video_encoder_close(), when the
 * encoder thread no longer calls our sink. NULL-safe; sets *ts to NULL. */
void cr_tcpstream_free(struct cr_tcpstream **ts);

/* {listen, clients, clients_total, bytes_sent, skips, dropped, shared_encoder,
 * error}, or JSON null for NULL. */
json_t *cr_tcpstream_status_json(struct cr_tcpstream *ts);

#endif
