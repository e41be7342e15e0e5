/* Publishing a camera's H.264 over the network (see rtsp.c): to a media
 * server over RTSP, or as RTP to a Janus streaming mountpoint (WebRTC). */
#ifndef CR_PUBLISH_RTSP_H
#define CR_PUBLISH_RTSP_H

#include "config/config.h"
#include "encode/video.h"
#include "source/camera.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_rtsp;

enum cr_rtsp_state {
	CR_RTSP_CONNECTING,   /* waiting for a keyframe, then ANNOUNCE, SETUP, RECORD */
	CR_RTSP_PUBLISHING,   /* RECORD accepted; packets flow */
	CR_RTSP_WAITING,      /* the last attempt failed or the server went; trying again after a backoff */
	CR_RTSP_STOPPED,
};

struct cr_rtsp_stats {
	char url[1100];              /* without credentials */
	enum cr_rtsp_state state;
	bool shared_encoder;         /* the recorder's encoder, not an own one */
	uint64_t connects;           /* sessions the server accepted (RECORD) */
	uint64_t connect_errors;     /* attempts that failed, and sessions that ended in an error */
	uint64_t packets;            /* packets sent */
	uint64_t bytes;              /* bytes of them */
	uint64_t skips;              /* times packets were dropped (a slow server) and the stream went on at a keyframe */
	double backoff_s;            /* s until the next attempt while waiting */
	double session_s;            /* s the current session has lasted */
	double latency_ms;           /* capture to sent, ms, smoothed over the last packets */
	char last_error[256];        /* why the last attempt failed or the session ended; "" none */
};

/* "connecting", "publishing", "waiting", "stopped". */
const char *cr_rtsp_state_name(enum cr_rtsp_state state);

/* Creates the publisher of cam to config->url. When shared is an H.264
 * encoder (the recorder's, before cr_video_encoder_start()) its packets are
 * sent; when shared is NULL the publisher gets its own libx264 encoder with
 * the quality settings of recording, config->bitrate (kbit/s) and
 * config->gop (s) where set, zero latency. Reads config->password_file now
 * (refused when others can read it). config and recording must outlive it.
 * Returns 0 or a negative errno (logged, naming the key). */
int cr_rtsp_new(struct cr_camera *cam, struct cr_video_encoder *shared, const struct cr_rtsp_config *config,
		const struct cr_recording_config *recording, struct cr_rtsp **out);

/* The same for WebRTC through Janus: RTP (RFC 6184, 1200-byte packets,
 * SPS/PPS before every keyframe, as a viewer joining the mountpoint needs)
 * to config->rtp, a Janus streaming mountpoint's video port, over UDP: the
 * "session" ends only on a send error, and a Janus that is not there is not
 * noticed. An own encoder takes config->bitrate and config->gop where set. */
int cr_rtsp_new_webrtc(struct cr_camera *cam, struct cr_video_encoder *shared, const struct cr_webrtc_config *config,
		       const struct cr_recording_config *recording, struct cr_rtsp **out);

/* Starts the publisher's thread (and the own encoder). Returns 0 or a
 * negative errno. */
int cr_rtsp_start(struct cr_rtsp *rtsp);

/* Ends the session (TEARDOWN, within 2 s) and joins the thread. With a
 * shared encoder call it after cr_video_encoder_stop(). Idempotent. */
void cr_rtsp_stop(struct cr_rtsp *rtsp);

/* Stops and frees. NULL-safe; sets *rtsp to NULL. */
void cr_rtsp_free(struct cr_rtsp **rtsp);

void cr_rtsp_stats(struct cr_rtsp *rtsp, struct cr_rtsp_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
