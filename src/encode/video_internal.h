/* What the video encoder's files share (private to src/encode): video.c,
 * the stage (choosing and opening the encoder, its thread, packets out), and
 * video_picture.c, which turns a camera frame into the picture the codec
 * takes. */
#ifndef CR_ENCODE_VIDEO_INTERNAL_H
#define CR_ENCODE_VIDEO_INTERNAL_H

#include "encode/video.h"

#include "base/fourcc.h"
#include "base/image.h"
#include "base/ring.h"

#include <libavcodec/avcodec.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_SINKS 4
#define META_MAX 1024            /* frames an encoder may hold back */
#define DEFAULT_FPS 30.0
#define SUBSCRIBER_NAME "video"
#define ENCODE_BOUND_NS (30 * CR_NS_PER_SEC) /* one frame, the encoder opened on the first (the watchdog's bound) */
#define IDLE_NS (250 * CR_NS_PER_MS) /* no frame this long: see whether the camera is gone (idle()) */

struct meta {
	int64_t pts;                 /* µs */
	uint64_t index;
	uint32_t sequence;
	int64_t mono_ns, utc_us;
	int64_t device_ns;           /* the camera's timestamp, ns; 0: none */
};

struct cr_video_encoder {
	struct cr_camera *camera;
	const struct cr_recording_config *config;
	struct cr_subscriber *sub;
	struct {
		cr_packet_sink fn;
		void *ctx;
	} sinks[MAX_SINKS];
	unsigned nsinks;
	pthread_t thread;
	bool started;                 /* the thread runs */
	atomic_bool want_keyframe;
	cr_jpeg_overlay_fn overlay;  /* NULL: none; set before the thread starts */
	void *overlay_ctx;

	/* Encoder thread only. */
	bool opened;                 /* tried to open (ctx or copy set, or failed) */
	int in_width, in_height;     /* the frames it was opened for, pixels */
	bool in_compressed;          /* ... and whether they were MJPEG */
	bool copy;                   /* passing MJPEG through */
	bool failed;                 /* no encoder could open: frames are counted as errors */
	bool lookahead;              /* the codec opened with its lookahead (not tune=zerolatency) */
	AVCodecContext *ctx;
	AVCodecContext *dec;         /* MJPEG camera -> raw */
	AVFrame *decoded, *scratch, *pic;
	AVFrame *developed;          /* a raw sensor frame developed to 8 bits, or unpacked */
	struct cr_scaler *develop;   /* demosaicking */
	AVPacket *out;
	struct cr_scaler *scaler;             /* frames -> the encoder's format and size */
	AVBufferRef *gray_chroma;    /* constant 128s for gray pictures with chroma planes */
	struct cr_ring meta;                  /* of struct meta, META_MAX, drop-oldest */
	int64_t last_pts;            /* µs */

	pthread_mutex_t lock;        /* guards what follows */
	unsigned demand;
	bool closed;
	AVCodecParameters *par;      /* NULL until the encoder opened */
	unsigned params;             /* bumped at every reopen: packets carry it */
	int64_t test_delay_ns;       /* $CAMRIG_TEST_DELAY encoder:MS (base/time.h) */
	bool intra_only;
	struct cr_video_encoder_stats stats;
	int64_t rate_start_ns;       /* bitrate window */
	uint64_t rate_bytes;
};

/* The 8-bit format a raw sensor frame is developed into for a lossy
 * encoder (or a lossless one that cannot take its depth). */
static inline uint32_t cr_video_developed_fourcc(uint32_t fourcc)
{
	return cr_fourcc_is_mono(fourcc) ? CR_FMT_GREY : CR_FMT_RGB24;
}

/* Fills enc->pic with frame f (the size the codec was opened for, or scaled
 * to it) in the codec's input format: wrapped where the layout fits (the
 * AVFrame then holds a reference to f), else converted into enc->scratch,
 * an MJPEG frame decoded first, a raw sensor frame developed or unpacked,
 * gray with constant chroma, and the overlay drawn. Encoder thread only.
 * Returns 0 or a negative errno / AVERROR. */
int cr_video_make_picture(struct cr_video_encoder *enc, struct cr_frame *f);

#endif
