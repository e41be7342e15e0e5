/* Conversion between pixel formats with libswscale (see image.h).
 *
 * Design: the context is built with sws_alloc_context() and its options,
 * ranges included, before sws_init_context(): set afterwards, libswscale keeps
 * the plain-copy path it chose for equal formats and sizes and ignores them.
 * The matrix is set after init with sws_setColorspaceDetails(), which
 * libswscale requires there. */
#include "base/image.h"

#include "base/error.h"
#include "base/mem.h"

#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	uint32_t fourcc;
	enum AVPixelFormat format;
} formats[] = {
	{ CR_FMT_GREY, AV_PIX_FMT_GRAY8 },   { CR_FMT_YUYV, AV_PIX_FMT_YUYV422 },
	{ CR_FMT_NV12, AV_PIX_FMT_NV12 },    { CR_FMT_YU12, AV_PIX_FMT_YUV420P },
	{ CR_FMT_RGB24, AV_PIX_FMT_RGB24 },  { CR_FMT_BGR24, AV_PIX_FMT_BGR24 },
	{ CR_FMT_YUV422P, AV_PIX_FMT_YUV422P },
	{ CR_FMT_Y10, AV_PIX_FMT_GRAY10LE }, { CR_FMT_Y12, AV_PIX_FMT_GRAY12LE },
	{ CR_FMT_Y16, AV_PIX_FMT_GRAY16LE }, { CR_FMT_SBGGR8, AV_PIX_FMT_BAYER_BGGR8 },
	{ CR_FMT_SGBRG8, AV_PIX_FMT_BAYER_GBRG8 }, { CR_FMT_SGRBG8, AV_PIX_FMT_BAYER_GRBG8 },
	{ CR_FMT_SRGGB8, AV_PIX_FMT_BAYER_RGGB8 },
};

enum AVPixelFormat cr_image_av_format(uint32_t fourcc)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(formats); i++)
		if (formats[i].fourcc == fourcc)
			return formats[i].format;
	return AV_PIX_FMT_NONE;
}

uint32_t cr_image_fourcc(enum AVPixelFormat format)
{
	if (format == AV_PIX_FMT_YUVJ420P)
		return CR_FMT_YU12;
	for (size_t i = 0; i < CR_ARRAY_SIZE(formats); i++)
		if (formats[i].format == format)
			return formats[i].fourcc;
	return 0;
}

/* What a context was built for. */
struct side {
	enum AVPixelFormat format;
	int width, height;
	bool full_range;
	int matrix;
};

struct cr_scaler {
	struct SwsContext *sws;
	struct side src, dst;        /* valid while sws is set */
	int resize_flags;
};

struct cr_scaler *cr_scaler_new(int resize_flags)
{
	struct cr_scaler *s = CR_NEW(s);

	s->resize_flags = resize_flags ? resize_flags : SWS_BILINEAR;
	return s;
}

void cr_scaler_free(struct cr_scaler **ps)
{
	struct cr_scaler *s = *ps;

	if (!s)
		return;
	*ps = NULL;
	sws_freeContext(s->sws);
	free(s);
}

static struct side side_of(const struct cr_picture *p)
{
	return (struct side){ .format = p->format, .width = p->width, .height = p->height,
			      .full_range = p->full_range, .matrix = p->matrix ? p->matrix : SWS_CS_DEFAULT };
}

static bool same_side(const struct side *a, const struct side *b)
{
	return a->format == b->format && a->width == b->width && a->height == b->height &&
	       a->full_range == b->full_range && a->matrix == b->matrix;
}

static int build(struct cr_scaler *s, const struct side *src, const struct side *dst)
{
	bool same_size = src->width == dst->width && src->height == dst->height;
	struct SwsContext *sws;

	sws_freeContext(s->sws);
	s->sws = sws = sws_alloc_context();
	if (!sws)
		return AVERROR(ENOMEM);
	av_opt_set_int(sws, "srcw", src->width, 0);
	av_opt_set_int(sws, "srch", src->height, 0);
	av_opt_set_int(sws, "src_format", src->format, 0);
	av_opt_set_int(sws, "dstw", dst->width, 0);
	av_opt_set_int(sws, "dsth", dst->height, 0);
	av_opt_set_int(sws, "dst_format", dst->format, 0);
	av_opt_set_int(sws, "sws_flags", same_size ? SWS_POINT : s->resize_flags, 0);
	av_opt_set_int(sws, "src_range", src->full_range, 0);
	av_opt_set_int(sws, "dst_range", dst->full_range, 0);
	if (sws_init_context(sws, NULL, NULL) < 0) {
		sws_freeContext(sws);
		s->sws = NULL;
		return AVERROR(EINVAL);
	}
	sws_setColorspaceDetails(sws, sws_getCoefficients(src->matrix), src->full_range, sws_getCoefficients(dst->matrix),
				 dst->full_range, 0, 1 << 16, 1 << 16);
	s->src = *src;
	s->dst = *dst;
	return 0;
}

int cr_scaler_run(struct cr_scaler *s, const struct cr_picture *src, const struct cr_picture *dst)
{
	struct side a = side_of(src), b = side_of(dst);

	if (!s->sws || !same_side(&s->src, &a) || !same_side(&s->dst, &b)) {
		int ret = build(s, &a, &b);

		if (ret < 0)
			return ret;
	}
	sws_scale(s->sws, (const uint8_t *const *)src->plane, src->stride, 0, src->height, dst->plane, dst->stride);
	return 0;
}

struct cr_image cr_image_of_frame(const struct cr_frame *f)
{
	struct cr_image img = { .fourcc = f->fourcc, .width = f->width, .height = f->height };

	for (int p = 0; p < f->nplanes; p++) {
		img.plane[p] = f->plane[p];
		img.stride[p] = f->stride[p];
	}
	return img;
}

static struct cr_picture picture_of(const struct cr_image *img)
{
	struct cr_picture p = { .format = cr_image_av_format(img->fourcc), .width = img->width, .height = img->height };

	memcpy(p.plane, img->plane, sizeof(img->plane));
	memcpy(p.stride, img->stride, sizeof(img->stride));
	return p;
}

int cr_image_convert(struct cr_scaler *s, const struct cr_image *src, const struct cr_image *dst)
{
	struct cr_picture a = picture_of(src), b = picture_of(dst);

	if (a.format == AV_PIX_FMT_NONE || b.format == AV_PIX_FMT_NONE)
		return CR_EFORMAT;
	return cr_scaler_run(s, &a, &b);
}
