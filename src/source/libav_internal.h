/* State and helpers shared by the libavformat source files (libav.c: open,
 * demux, decode, pacing; libav_output.c: what read() delivers and the
 * conversion into it). Not for use outside src/source/libav*.c. */
#ifndef CR_SOURCE_LIBAV_INTERNAL_H
#define CR_SOURCE_LIBAV_INTERNAL_H

#include "base/frame.h"
#include "base/image.h"
#include "source/source.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <stdbool.h>
#include <stdint.h>

/* A file: or url: source's private state (src->priv). It lives from the
 * first open() to free_priv(), so the sequence count survives reconnects. */
struct cr_libav {
	char name[200];              /* "file:PATH" / "url:URL" (password hidden), for messages */
	AVFormatContext *fmt;
	AVCodecContext *dec;         /* NULL when passing MJPEG through */
	struct cr_scaler *scaler;    /* decoder pictures -> output frames */
	AVPacket *pkt;
	AVFrame *picture;
	int stream;                  /* index of the video stream in fmt */
	AVRational time_base;        /* of that stream */
	bool net;                    /* avformat_network_init() was called */

	bool url;                    /* a url: source */
	bool live;                   /* not paced; its end is a loss */
	bool passthrough;            /* deliver the MJPEG packets as they are */
	bool pending;                /* picture (or pkt) holds a frame not yet delivered */
	bool woken;                  /* the interrupt callback saw wake_fd readable */
	bool told_short;             /* warned that the file ends before its header's duration */
	int64_t io_deadline_ns;      /* CLOCK_MONOTONIC; 0: none */

	uint32_t fourcc;             /* output format */
	enum AVPixelFormat out_fmt;  /* the same as libav names it; NONE when passing through */
	int width, height;           /* output size, pixels */

	int64_t anchor_ns;           /* CLOCK_MONOTONIC time of media time 0; 0: not yet */
	int64_t first_pts;           /* first PTS of this pass (time_base), AV_NOPTS_VALUE before it */
	int64_t pass_ns;             /* media time at which this pass starts, ns */
	int64_t last_ns;             /* media time of the last frame, ns from the start of its pass */
	int64_t frame_ns;            /* duration of one frame, ns (nominal, then observed) */
	int64_t media_ns;            /* media time of the pending frame, ns */
	uint64_t delivered;          /* frames paced at camera.fps since open */
	uint64_t pass_frames;        /* frames read in this pass */
	uint64_t sequence;           /* frames produced since the first open */
	unsigned oversize;           /* JPEG packets too large for a frame, skipped */
	unsigned bad_packets;        /* consecutive packets the decoder refused */
	uint64_t borrowed;           /* frames handed on in libav's own buffers (zero-copy), since the first open */
	uint64_t copied;             /* frames converted or copied into the frame's own buffer */
};

/* Decides what read() delivers from the opened stream and src->config
 * (format, size): MJPEG passed through, or a raw format at a size. Sets
 * passthrough, fourcc, out_fmt, width and height. Logs and returns
 * CR_EFORMAT for a request the stream cannot meet. */
int cr_libav_choose_output(struct cr_source *src);

/* Delivers the decoded picture (priv->picture) as frame: the picture itself
 * when it is in the output format and size (zero-copy, its range stated;
 * priv->picture is then empty), else converted with libswscale into the
 * frame's own buffer, YUV and GREY in full range. Counts borrowed or copied.
 * Returns 0, or a logged CR_EFORMAT / -ENOSPC. */
int cr_libav_deliver_picture(struct cr_source *src, struct cr_frame *frame);

/* Delivers the JPEG packet (priv->pkt) as an MJPEG frame: the packet's own
 * buffer when it is refcounted (priv->pkt is then empty), else copied.
 * Returns 0, or a logged -ENOSPC when a copy exceeds the frame's capacity. */
int cr_libav_deliver_jpeg(struct cr_source *src, struct cr_frame *frame);

#endif
