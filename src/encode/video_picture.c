/* Pictures for the video encoder (video_internal.h): a camera frame as the
 * AVFrame its codec takes; the cases are listed in video.c's design. */
#include "encode/video_internal.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <libavutil/imgutils.h>
#include <string.h>

static void release_frame(void *opaque, uint8_t *data)
{
	struct cr_frame *f = opaque;

	cr_frame_unref(&f);
}

/* A buffer reference that keeps the pooled frame f alive. */
static AVBufferRef *frame_buffer(struct cr_frame *f)
{
	AVBufferRef *buf = av_buffer_create(f->data, f->capacity, release_frame, cr_frame_ref(f), AV_BUFFER_FLAG_READONLY);

	if (!buf)
		abort();
	return buf;
}

/* Converts the picture in src (av format, planes, strides, size) into
 * enc->scratch (format dst_fmt at the encoder's size). */
static int convert(struct cr_video_encoder *enc, enum AVPixelFormat src_fmt, uint8_t *const src[4],
		   const int src_stride[4], int width, int height, enum AVPixelFormat dst_fmt)
{
	int ret;

	if (!enc->scratch || enc->scratch->format != dst_fmt) {
		av_frame_free(&enc->scratch);
		enc->scratch = av_frame_alloc();
		if (!enc->scratch)
			abort();
		enc->scratch->format = dst_fmt;
		enc->scratch->width = enc->ctx->width;
		enc->scratch->height = enc->ctx->height;
		ret = av_frame_get_buffer(enc->scratch, 0);
		if (ret < 0)
			return ret;
	}
	ret = av_frame_make_writable(enc->scratch);
	if (ret < 0)
		return ret;
	{
		struct cr_picture in = { .format = src_fmt, .width = width, .height = height };
		struct cr_picture out = { .format = dst_fmt, .width = enc->ctx->width, .height = enc->ctx->height };

		memcpy(in.plane, src, sizeof(in.plane));
		memcpy(in.stride, src_stride, sizeof(in.stride));
		memcpy(out.plane, enc->scratch->data, sizeof(out.plane));
		memcpy(out.stride, enc->scratch->linesize, sizeof(out.stride));
		if (!enc->scaler)
			enc->scaler = cr_scaler_new(0);
		return cr_scaler_run(enc->scaler, &in, &out) < 0 ? CR_EFORMAT : 0;
	}
}

/* Decodes an MJPEG frame into enc->decoded. */
static int decode_jpeg(struct cr_video_encoder *enc, const struct cr_frame *f)
{
	AVPacket *pkt = av_packet_alloc();
	int ret;

	if (!pkt)
		abort();
	if (!enc->dec) {
		const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_MJPEG);

		enc->dec = avcodec_alloc_context3(c);
		enc->decoded = av_frame_alloc();
		if (!enc->dec || !enc->decoded)
			abort();
		ret = avcodec_open2(enc->dec, c, NULL);
		if (ret < 0)
			goto end;
	}
	pkt->data = f->data;
	pkt->size = (int)f->size;
	ret = avcodec_send_packet(enc->dec, pkt);
	if (ret >= 0)
		ret = avcodec_receive_frame(enc->dec, enc->decoded);
end:
	av_packet_free(&pkt);
	return ret;
}

static bool planar_luma(uint32_t fourcc)
{
	return fourcc == CR_FMT_GREY || fourcc == CR_FMT_YU12 || fourcc == CR_FMT_NV12 || fourcc == CR_FMT_YUV422P;
}

/* Attaches constant 128 chroma planes to a gray picture in enc->pic. */
static void gray_chroma(struct cr_video_encoder *enc)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(enc->ctx->pix_fmt);
	int cw = AV_CEIL_RSHIFT(enc->ctx->width, d->log2_chroma_w);

	if (enc->ctx->pix_fmt == AV_PIX_FMT_GRAY8)
		return;
	if (!enc->gray_chroma) {
		enc->gray_chroma = av_buffer_alloc((size_t)(enc->ctx->width + 2) * (size_t)(enc->ctx->height + 2));
		if (!enc->gray_chroma)
			abort();
		memset(enc->gray_chroma->data, 128, (size_t)enc->gray_chroma->size);
	}
	for (int p = 1; p < d->nb_components && p < 3; p++) {
		if (enc->ctx->pix_fmt == AV_PIX_FMT_NV12 && p == 2)
			break;
		enc->pic->data[p] = enc->gray_chroma->data;
		enc->pic->linesize[p] = enc->ctx->pix_fmt == AV_PIX_FMT_NV12 ? enc->ctx->width : cw;
		enc->pic->buf[p] = av_buffer_ref(enc->gray_chroma);
	}
}

/* A reused picture of format at the frame's size in enc->developed. */
static int developed_picture(struct cr_video_encoder *enc, enum AVPixelFormat format, int width, int height)
{
	if (enc->developed && enc->developed->format == format && enc->developed->width == width &&
	    enc->developed->height == height)
		return av_frame_make_writable(enc->developed);
	av_frame_free(&enc->developed);
	enc->developed = av_frame_alloc();
	if (!enc->developed)
		abort();
	enc->developed->format = format;
	enc->developed->width = width;
	enc->developed->height = height;
	return av_frame_get_buffer(enc->developed, 0);
}

/* A raw sensor frame f for the encoder (see the design comment). Returns 0
 * when enc->pic is filled (the samples as they are, wrapped or unpacked), 1
 * with the frame developed to 8 bits in enc->developed (*own, planes and
 * strides describe it), or a negative error. */
static int raw_picture(struct cr_video_encoder *enc, struct cr_frame *f, enum AVPixelFormat *own, uint8_t *planes[4],
		       int strides[4])
{
	const struct cr_raw_format *raw = cr_fourcc_raw(f->fourcc);
	enum AVPixelFormat samples = cr_image_raw_gray_format(f->fourcc);
	struct cr_image img = cr_image_of_frame(f), dev;
	uint32_t fourcc;
	int ret;

	if (enc->ctx->pix_fmt == samples && f->width == enc->ctx->width && f->height == enc->ctx->height) {
		if (!raw->packed) {
			enc->pic->data[0] = f->plane[0];
			enc->pic->linesize[0] = f->stride[0];
			enc->pic->buf[0] = frame_buffer(f);
			return 0;
		}
		if ((ret = developed_picture(enc, samples, f->width, f->height)) < 0)
			return ret;
		if ((ret = cr_image_raw_samples(&img, 16, enc->developed->data[0], enc->developed->linesize[0])) < 0)
			return ret;
		return av_frame_ref(enc->pic, enc->developed) < 0 ? AVERROR(ENOMEM) : 0;
	}
	fourcc = cr_video_developed_fourcc(f->fourcc);
	*own = cr_image_av_format(fourcc);
	if ((ret = developed_picture(enc, *own, f->width, f->height)) < 0)
		return ret;
	dev = (struct cr_image){ .fourcc = fourcc, .width = f->width, .height = f->height };
	for (int p = 0; p < CR_MAX_PLANES; p++) {
		planes[p] = dev.plane[p] = enc->developed->data[p];
		strides[p] = dev.stride[p] = enc->developed->linesize[p];
	}
	if (!enc->develop)
		enc->develop = cr_scaler_new(0);
	ret = cr_image_develop(enc->develop, &img, &dev);
	return ret < 0 ? ret : 1;
}

/* Draws the overlay into enc->scratch (the frame's copy at the encoder's
 * size), when it is 4:2:0 or gray. */
static void draw_overlay(struct cr_video_encoder *enc, const struct cr_frame *f)
{
	AVFrame *s = enc->scratch;
	bool gray = s->format == AV_PIX_FMT_GRAY8;
	struct cr_image img = { .fourcc = gray ? CR_FMT_GREY : CR_FMT_YU12, .width = s->width, .height = s->height };
	struct cr_jpeg_overlay_view view = { (double)s->width / f->width, (double)s->height / f->height, 0, 0 };

	if (!gray && s->format != AV_PIX_FMT_YUV420P && s->format != AV_PIX_FMT_YUVJ420P)
		return;
	for (int p = 0; p < (gray ? 1 : 3); p++) {
		img.plane[p] = s->data[p];
		img.stride[p] = s->linesize[p];
	}
	enc->overlay(enc->overlay_ctx, &img, &view, f);
}

int cr_video_make_picture(struct cr_video_encoder *enc, struct cr_frame *f)
{
	enum AVPixelFormat want = enc->ctx->pix_fmt, own = cr_image_av_format(f->fourcc);
	bool gray = enc->config->gray, same_size = f->width == enc->ctx->width && f->height == enc->ctx->height;
	uint8_t *planes[4] = { 0 };
	int strides[4] = { 0 };
	int ret;

	if (want == AV_PIX_FMT_YUVJ420P)
		want = AV_PIX_FMT_YUV420P;
	if (want == AV_PIX_FMT_YUVJ422P)
		want = AV_PIX_FMT_YUV422P;
	av_frame_unref(enc->pic);
	enc->pic->format = enc->ctx->pix_fmt;
	enc->pic->width = enc->ctx->width;
	enc->pic->height = enc->ctx->height;
	if (cr_fourcc_is_compressed(f->fourcc)) {
		ret = decode_jpeg(enc, f);
		if (ret < 0)
			return ret;
		ret = convert(enc, enc->decoded->format, enc->decoded->data, enc->decoded->linesize, enc->decoded->width,
			      enc->decoded->height, gray ? AV_PIX_FMT_GRAY8 : enc->ctx->pix_fmt);
		av_frame_unref(enc->decoded);
		goto converted;
	}
	for (int p = 0; p < f->nplanes; p++) {
		planes[p] = f->plane[p];
		strides[p] = f->stride[p];
	}
	if (cr_fourcc_raw(f->fourcc)) {
		ret = raw_picture(enc, f, &own, planes, strides);
		if (ret <= 0)
			return ret;
		/* Developed to 8 bits: go on from there (an overlay draws into a copy). */
		if (!enc->overlay && gray && same_size && own == AV_PIX_FMT_GRAY8) {
			enc->pic->data[0] = planes[0];
			enc->pic->linesize[0] = strides[0];
			enc->pic->buf[0] = av_buffer_ref(enc->developed->buf[0]);
			gray_chroma(enc);
			return 0;
		}
		if (!enc->overlay && !gray && same_size && own == want) {
			if (av_frame_ref(enc->pic, enc->developed) < 0)
				return AVERROR(ENOMEM);
			enc->pic->format = enc->ctx->pix_fmt;
			return 0;
		}
		ret = convert(enc, own, planes, strides, f->width, f->height, gray ? AV_PIX_FMT_GRAY8 : enc->ctx->pix_fmt);
		goto converted;
	}
	if (enc->overlay) {
		/* drawn into a copy of its own: the frame is shared */
		if (own == AV_PIX_FMT_NONE)
			return CR_EFORMAT;
		ret = convert(enc, own, planes, strides, f->width, f->height, gray ? AV_PIX_FMT_GRAY8 : enc->ctx->pix_fmt);
		goto converted;
	}
	if (gray && same_size && planar_luma(f->fourcc)) {
		enc->pic->data[0] = f->plane[0];
		enc->pic->linesize[0] = f->stride[0];
		enc->pic->buf[0] = frame_buffer(f);
		gray_chroma(enc);
		return 0;
	}
	if (!gray && same_size && own == want) {
		for (int p = 0; p < f->nplanes; p++) {
			enc->pic->data[p] = f->plane[p];
			enc->pic->linesize[p] = f->stride[p];
		}
		enc->pic->buf[0] = frame_buffer(f);
		return 0;
	}
	if (own == AV_PIX_FMT_NONE)
		return CR_EFORMAT;
	ret = convert(enc, own, planes, strides, f->width, f->height, gray ? AV_PIX_FMT_GRAY8 : enc->ctx->pix_fmt);
converted:
	if (ret < 0)
		return ret;
	if (enc->overlay)
		draw_overlay(enc, f);
	if (gray) {
		enc->pic->data[0] = enc->scratch->data[0];
		enc->pic->linesize[0] = enc->scratch->linesize[0];
		enc->pic->buf[0] = av_buffer_ref(enc->scratch->buf[0]);
		gray_chroma(enc);
		return 0;
	}
	return av_frame_ref(enc->pic, enc->scratch) < 0 ? AVERROR(ENOMEM) : (enc->pic->format = enc->ctx->pix_fmt, 0);
}

