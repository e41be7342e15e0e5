/* What the libavformat sources deliver, and how: the choice between MJPEG
 * pass-through and a raw format at a size, and the hand-over of each
 * picture or packet.
 *
 * Zero-copy where the format fits: a decoded picture already in the output
 * format and size becomes the frame itself (the frame holds the AVFrame, with
 * libav's linesizes as its strides, and frees it at its last unref), its
 * range stated as the decoder gives it (cr_frame.range: limited for most
 * video; the JPEG stage expands it when it encodes). So is an MJPEG packet
 * passed through (the frame holds the AVPacket). Only a picture of another
 * format or size is converted, with libswscale, to full range (JPEG's); a
 * stream that changes size or pixel format midway is converted from then on
 * and keeps the output format fixed at open(). /status counts both ways
 * (stream.borrowed, stream.copied). */
#include "source/libav_internal.h"

#include "base/error.h"
#include "base/log.h"
#include "base/image.h"

#include <libavutil/pixdesc.h>

#include <errno.h>
#include <string.h>

/* The raw format camrig delivers for a decoder's pixel format: the same one
 * where camrig has it, else YU12. */
static uint32_t natural_fourcc(enum AVPixelFormat pix_fmt)
{
	uint32_t fourcc = cr_image_fourcc(pix_fmt);

	return fourcc && cr_fourcc_is_supported(fourcc) ? fourcc : CR_FMT_YU12;
}

/* The deprecated full-range "yuvj" formats as the plain format they alias;
 * sets *full when the input is full range. */
static enum AVPixelFormat unjpeg(enum AVPixelFormat f, int *full)
{
	*full = 1;
	switch (f) {
	case AV_PIX_FMT_YUVJ420P: return AV_PIX_FMT_YUV420P;
	case AV_PIX_FMT_YUVJ422P: return AV_PIX_FMT_YUV422P;
	case AV_PIX_FMT_YUVJ444P: return AV_PIX_FMT_YUV444P;
	case AV_PIX_FMT_YUVJ440P: return AV_PIX_FMT_YUV440P;
	case AV_PIX_FMT_YUVJ411P: return AV_PIX_FMT_YUV411P;
	default: *full = 0; return f;
	}
}

int cr_libav_choose_output(struct cr_source *src)
{
	const struct cr_camera_config *c = src->config;
	struct cr_libav *p = src->priv;
	const AVCodecParameters *par = p->fmt->streams[p->stream]->codecpar;
	uint32_t want = c->format == CR_FMT_JPEG ? CR_FMT_MJPEG : c->format;
	bool mjpeg = par->codec_id == AV_CODEC_ID_MJPEG;
	int w = c->width, h = c->height;

	if (w > 0 && h <= 0 && par->width > 0)
		h = (int)((int64_t)w * par->height / par->width + 1) & ~1;
	else if (h > 0 && w <= 0 && par->height > 0)
		w = (int)((int64_t)h * par->width / par->height + 1) & ~1;
	if (w <= 0 || h <= 0) {
		w = par->width;
		h = par->height;
	}
	if (w <= 0 || h <= 0)
		return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR,
				  "%s: the stream does not state its frame size; set camera.size", p->name);
	p->width = w;
	p->height = h;
	p->passthrough = false;
	if (want == CR_FMT_MJPEG) {
		if (!mjpeg)
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR,
					  "%s: format MJPEG needs an MJPEG stream, this one is %s "
					  "(choose GREY, YUYV, NV12, YU12, RGB24, BGR24, or no format)",
					  p->name, avcodec_get_name(par->codec_id));
		if (w != par->width || h != par->height)
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR,
					  "%s: MJPEG is passed through at the stream's size %dx%d, it cannot "
					  "be scaled to %dx%d (choose a raw format, or no size)",
					  p->name, par->width, par->height, w, h);
	}
	if (mjpeg && !want && w == par->width && h == par->height)
		want = CR_FMT_MJPEG;
	if (want == CR_FMT_MJPEG) {
		p->passthrough = true;
		p->fourcc = CR_FMT_MJPEG;
		p->out_fmt = AV_PIX_FMT_NONE;
		return 0;
	}
	if (want && (!cr_fourcc_is_supported(want) || cr_image_av_format(want) == AV_PIX_FMT_NONE))
		return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR,
				  "%s: cannot deliver format %s (expected one of: GREY, YUYV, NV12, "
				  "YU12, RGB24, BGR24, MJPEG)", p->name, cr_fourcc_name(want));
	p->fourcc = want ? want : natural_fourcc(par->format);
	p->out_fmt = cr_image_av_format(p->fourcc);
	return 0;
}

/* The last unref of a frame that holds a decoder's picture or a demuxer's
 * packet (any thread): libav's buffers are refcounted and thread-safe, and
 * outlive the decoder and demuxer they came from. */
static void release_picture(void *opaque)
{
	AVFrame *pic = opaque;

	av_frame_free(&pic);
}

static void release_packet(void *opaque)
{
	AVPacket *pkt = opaque;

	av_packet_free(&pkt);
}

/* Hands the decoded picture on as frame itself, when it is already in the
 * output format and size: frame holds the picture's buffers (p->picture is
 * left empty) and keeps libav's linesizes. Returns false when it is not. */
static bool hand_on(struct cr_libav *p, enum AVPixelFormat format, enum cr_range range, struct cr_frame *frame)
{
	AVFrame *pic = p->picture, *held;

	if (format != p->out_fmt || pic->width != p->width || pic->height != p->height || !pic->buf[0] ||
	    pic->hw_frames_ctx)
		return false;
	held = av_frame_alloc();
	if (!held)
		return false;
	av_frame_move_ref(held, pic);
	if (cr_frame_wrap_planes(frame, p->fourcc, p->width, p->height, held->data, held->linesize, release_picture,
				 held) < 0) {
		/* A bottom-up picture (negative linesize): convert it instead. */
		av_frame_move_ref(pic, held);
		av_frame_free(&held);
		return false;
	}
	frame->range = range;
	return true;
}

int cr_libav_deliver_picture(struct cr_source *src, struct cr_frame *frame)
{
	struct cr_libav *p = src->priv;
	const AVFrame *pic = p->picture;
	struct cr_picture in = { .width = pic->width, .height = pic->height, .matrix = pic->colorspace };
	/* Ours: full range, BT.601 (JPEG's), as turbojpeg takes it. */
	struct cr_picture out = { .format = p->out_fmt, .width = p->width, .height = p->height, .full_range = true };
	bool yuv = p->fourcc != CR_FMT_RGB24 && p->fourcc != CR_FMT_BGR24;
	int full, ret;

	in.format = unjpeg(pic->format, &full);
	in.full_range = full || pic->color_range == AVCOL_RANGE_JPEG;
	if (hand_on(p, in.format, in.full_range ? CR_RANGE_FULL : CR_RANGE_LIMITED, frame)) {
		p->borrowed++;
		return 0;
	}
	memcpy(in.plane, pic->data, sizeof(in.plane));
	memcpy(in.stride, pic->linesize, sizeof(in.stride));
	ret = cr_frame_set_format(frame, p->fourcc, p->width, p->height, 0);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: frame does not hold %s %dx%d: %s", p->name,
				  cr_fourcc_name(p->fourcc), p->width, p->height, cr_strerror(ret));
	for (int i = 0; i < frame->nplanes; i++) {
		out.plane[i] = frame->plane[i];
		out.stride[i] = frame->stride[i];
	}
	if (!p->scaler)
		p->scaler = cr_scaler_new(0);
	if (cr_scaler_run(p->scaler, &in, &out) < 0)
		return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: cannot convert %s %dx%d to %s %dx%d", p->name,
				  av_get_pix_fmt_name(pic->format), pic->width, pic->height, cr_fourcc_name(p->fourcc),
				  p->width, p->height);
	frame->range = yuv ? CR_RANGE_FULL : CR_RANGE_UNSTATED;
	p->copied++;
	return 0;
}

int cr_libav_deliver_jpeg(struct cr_source *src, struct cr_frame *frame)
{
	struct cr_libav *p = src->priv;
	size_t size = (size_t)p->pkt->size;
	AVPacket *held;

	if (p->pkt->buf && (held = av_packet_alloc())) {
		av_packet_move_ref(held, p->pkt);
		cr_frame_wrap(frame, held->data, size, release_packet, held);
		cr_frame_set_format(frame, CR_FMT_MJPEG, p->width, p->height, 0);
		frame->size = size;
		p->borrowed++;
		return 0;
	}
	if (size > frame->capacity)
		return cr_log_ret(-ENOSPC, CR_LOG_ERROR, "%s: a %zu-byte JPEG does not fit a %zu-byte frame",
				  p->name, size, frame->capacity);
	cr_frame_set_format(frame, CR_FMT_MJPEG, p->width, p->height, 0);
	memcpy(frame->data, p->pkt->data, size);
	frame->size = size;
	p->copied++;
	return 0;
}
