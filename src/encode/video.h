/* The video encoder stage: turns a camera's frames into one stream of
 * encoded packets (libavcodec), shared by everything that needs them.
 *
 * Encode once: the encoder subscribes to its camera's fan-out with its own
 * deep, drop-newest queue and runs only while something needs packets (a
 * unit of demand: the pre-trigger buffer always, the recorder while it
 * records). Every packet goes to every sink in order; a sink runs on the
 * encoder thread and takes its own reference if it keeps the packet.
 *
 * Codecs: "copy" passes the camera's MJPEG frames through untouched (a raw
 * camera gets "mjpeg" instead, with a warning); "mjpeg", "h264" (libx264),
 * "h265" (libx265), "ffv1", "auto" (h264_v4l2m2m where it opens, quietly
 * libx264 where not), or any libavcodec encoder by name. An encoder that
 * fails to open falls back to the software encoder of its codec, then to
 * mjpeg, with a warning. No B-frames, so packets come out in capture order.
 * A packet's PTS and DTS are its frame's capture time in µs of
 * CLOCK_MONOTONIC (time base 1/1000000). */
#ifndef CR_ENCODE_VIDEO_H
#define CR_ENCODE_VIDEO_H

#include "config/config.h"
#include "base/packet.h"
#include "encode/jpeg.h"
#include "source/camera.h"

#include <libavcodec/avcodec.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_video_encoder;

/* Called on the encoder thread for every packet, in order. pkt is borrowed:
 * take a reference to keep it. Must not block. */
typedef void (*cr_packet_sink)(void *ctx, struct cr_packet *pkt);

struct cr_video_encoder_stats {
	char codec[32];               /* the codec asked for ("h264") */
	char encoder[32];             /* the libavcodec encoder in use ("libx264"), "" before the first frame */
	char error[160];              /* why the encoder does not run, or the last fallback; "" if none */
	bool active;                  /* encoding now (someone needs packets) */
	bool lookahead;               /* libx264/libx265 with its lookahead: zerolatency off and the lookahead
					 fits recording.lookahead_mb */
	uint64_t frames;              /* frames taken from the camera */
	unsigned queued;              /* frames waiting in the encoder's queue now */
	unsigned in_codec;            /* frames given to the codec that it has not put out yet (lookahead) */
	int64_t last_out_mono_ns;     /* capture time of the newest frame put out as a packet, CLOCK_MONOTONIC
					 ns; 0: none */
	uint64_t packets;             /* packets produced */
	uint64_t dropped;             /* frames dropped on the encoder's full queue */
	uint64_t errors;              /* frames that failed to convert or encode */
	double encode_ms;             /* mean time per frame over the last frames, ms */
	double bitrate_kbps;          /* output over the last second or so, kbit/s */
};

/* Whether recording.codec name means an encoder: one of the names
 * CR_VIDEO_CODECS_EXPECTED lists (accepted as they are, so checking a
 * config does not load libavcodec; whether such an encoder opens here is
 * learnt when it opens), or a video encoder this libavcodec has by name. */
bool cr_video_codec_known(const char *name);

/* Opens (and closes) the encoder recording.codec name means (auto, h264,
 * h265, ... or an encoder by name; not copy) for 640x480 frames at 25 fps,
 * to learn whether it works on this machine: a hardware encoder needs its
 * device and driver. Writes the encoder's name into encoder (len bytes).
 * Returns 0, -ENOENT when libavcodec has no such encoder, or the libav
 * error of avcodec_open2(), with why (why_len bytes) saying which. */
int cr_video_encoder_probe(const char *codec, char *encoder, size_t len, char *why, size_t why_len);

/* What a good recording.codec is, for messages. */
#define CR_VIDEO_CODECS_EXPECTED \
	"auto, copy, mjpeg, h264, h265, ffv1, or a video encoder `ffmpeg -encoders` lists"

/* Creates the encoder for cam with the recording settings of config (not
 * copied; must outlive it). Checks the codec name; the encoder itself opens
 * on the first frame, when the frame format is known. Inactive until
 * cr_video_encoder_demand(). Returns 0, or -EINVAL (logged) for an unknown
 * codec. */
int cr_video_encoder_new(struct cr_camera *cam, const struct cr_recording_config *config,
			 struct cr_video_encoder **out);

/* Draws fn's overlay (the analysis stage's boxes) into every frame encoded
 * in 4:2:0 or gray (recording.overlay; not with codec copy, whose JPEGs pass
 * untouched), in the encoder's own copy of the frame. Call before
 * cr_video_encoder_start(); ctx must stay valid until the encoder stops. */
void cr_video_encoder_set_overlay(struct cr_video_encoder *enc, cr_jpeg_overlay_fn fn, void *ctx);

/* Adds a sink (at most 4); call before cr_video_encoder_start(). */
int cr_video_encoder_add_sink(struct cr_video_encoder *enc, cr_packet_sink sink, void *ctx);

/* Starts the encoder thread. Returns 0 or a negative errno (logged). */
int cr_video_encoder_start(struct cr_video_encoder *enc);

/* Adds (add = true) or removes one unit of demand. Going from 0 to 1 starts
 * taking frames, and the first one is encoded as a keyframe. Safe from any
 * thread; a no-op after cr_video_encoder_stop(). */
void cr_video_encoder_demand(struct cr_video_encoder *enc, bool add);

/* Makes the next frame encoded a keyframe (the first after a gap). Safe
 * from any thread. */
void cr_video_encoder_keyframe(struct cr_video_encoder *enc);

/* Encodes what is still queued, drains the encoder into the sinks, joins the
 * thread and leaves the camera's fan-out. Stop the camera first. The object
 * stays valid for demand and stats calls until freed. Idempotent. */
void cr_video_encoder_stop(struct cr_video_encoder *enc);

/* Stops if needed and frees. NULL-safe; sets *enc to NULL. */
void cr_video_encoder_free(struct cr_video_encoder **enc);

/* Copies the stream parameters (codec, size, pixel format, extradata) into
 * par. Returns 0, or -EAGAIN before the encoder has opened. */
int cr_video_encoder_parameters(struct cr_video_encoder *enc, AVCodecParameters *par);

/* Rewrites the timing in the SPS of H.264 parameters par (their extradata,
 * as cr_video_encoder_parameters() gives them) to fps frames a second,
 * for players of a raw or RTP stream that take the rate from the SPS (the
 * encoder signals its µs time base there, read as 1,000,000 fps). Uses
 * libavcodec's h264_metadata filter, tick_rate = 2 x fps (a tick is a
 * field; fixed_frame_rate_flag stays as x264 wrote it: setting it
 * contradicts x264's low_delay_hrd_flag). Returns 0, or a negative AVERROR
 * with par unchanged. */
int cr_video_h264_set_frame_rate(AVCodecParameters *par, double fps);

/* True when every packet is a keyframe (copy, mjpeg, ffv1, gop 0). */
bool cr_video_encoder_intra_only(struct cr_video_encoder *enc);

void cr_video_encoder_stats(struct cr_video_encoder *enc, struct cr_video_encoder_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
