/* Conversion between raw pixel formats with libswscale (sws_getCachedContext
 * keeps the context while formats and sizes stay the same). */
#include "base/image.h"

#include "base/error.h"
#include "base/mem.h"

#include <libswscale/swscale.h>
#include <stdlib.h>

static const struct {
	uint32_t fourcc;
	enum AVPixelFormat format;
} formats[] = {
	{ CR_FMT_GREY, AV_PIX_FMT_GRAY8 },   { CR_FMT_YUYV, AV_PIX_FMT_YUYV422 },
	{ CR_FMT_NV12, AV_PIX_FMT_NV12 },    { CR_FMT_YU12, AV_PIX_FMT_YUV420P },
	{ CR_FMT_RGB24, AV_PIX_FMT_RGB24 },  { CR_FMT_BGR24, AV_PIX_FMT_BGR24 },
	{ CR_FMT_YUV422P, AV_PIX_FMT_YUV422P },
};

enum AVPixelFormat cr_convert_av_format(uint32_t fourcc)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(formats); i++)
		if (formats[i].fourcc == fourcc)
			return formats[i].format;
	return AV_PIX_FMT_NONE;
}

uint32_t cr_convert_fourcc(enum AVPixelFormat format)
{
	if (format == AV_PIX_FMT_YUVJ420P)
		return CR_FMT_YU12;
	for (size_t i = 0; i < CR_ARRAY_SIZE(formats); i++)
		if (formats[i].format == format)
			return formats[i].fourcc;
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

struct cr_convert {
	struct SwsContext *sws;
};

struct cr_convert *cr_convert_new(void)
{
	struct cr_convert *conv = CR_NEW(conv);

	return conv;
}

void cr_convert_free(struct cr_convert **pconv)
{
	struct cr_convert *conv = *pconv;

	if (!conv)
		return;
	*pconv = NULL;
	sws_freeContext(conv->sws);
	free(conv);
}

int cr_convert_image(struct cr_convert *conv, const struct cr_image *src, const struct cr_image *dst)
{
	enum AVPixelFormat sf = cr_convert_av_format(src->fourcc), df = cr_convert_av_format(dst->fourcc);
	const uint8_t *sp[4] = { src->plane[0], src->plane[1], src->plane[2], NULL };
	int ss[4] = { src->stride[0], src->stride[1], src->stride[2], 0 };
	uint8_t *dp[4] = { dst->plane[0], dst->plane[1], dst->plane[2], NULL };
	int ds[4] = { dst->stride[0], dst->stride[1], dst->stride[2], 0 };
	int flags = (src->width == dst->width && src->height == dst->height) ? SWS_POINT : SWS_BILINEAR;

	if (sf == AV_PIX_FMT_NONE || df == AV_PIX_FMT_NONE)
		return CR_EFORMAT;
	conv->sws = sws_getCachedContext(conv->sws, src->width, src->height, sf, dst->width, dst->height, df,
					 flags, NULL, NULL, NULL);
	if (!conv->sws)
		return AVERROR(EINVAL);
	sws_scale(conv->sws, sp, ss, 0, src->height, dp, ds);
	return 0;
}
