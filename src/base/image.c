/* Conversion between pixel formats with libswscale (see image.h).
 *
 * Design: the context is built with sws_alloc_context() and its options,
 * ranges included, before sws_init_context(): set afterwards, libswscale keeps
 * the plain-copy path it chose for equal formats and sizes and ignores them.
 * The matrix is set after init with sws_setColorspaceDetails(), which
 * libswscale requires there. */
#include "base/image.h"

#include "base/fourcc.h"

#include "base/error.h"
#include "base/mem.h"

#include <libavutil/opt.h>
#include <math.h>
#include <libavutil/imgutils.h>
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
	/* Raw sensor formats libav has as they are. */
	{ CR_FMT_Y10, AV_PIX_FMT_GRAY10LE },           { CR_FMT_Y12, AV_PIX_FMT_GRAY12LE },
	{ CR_FMT_Y16, AV_PIX_FMT_GRAY16LE },
	{ CR_FMT_SBGGR8, AV_PIX_FMT_BAYER_BGGR8 },      { CR_FMT_SGBRG8, AV_PIX_FMT_BAYER_GBRG8 },
	{ CR_FMT_SGRBG8, AV_PIX_FMT_BAYER_GRBG8 },      { CR_FMT_SRGGB8, AV_PIX_FMT_BAYER_RGGB8 },
	{ CR_FMT_SBGGR16, AV_PIX_FMT_BAYER_BGGR16LE },  { CR_FMT_SGBRG16, AV_PIX_FMT_BAYER_GBRG16LE },
	{ CR_FMT_SGRBG16, AV_PIX_FMT_BAYER_GRBG16LE },  { CR_FMT_SRGGB16, AV_PIX_FMT_BAYER_RGGB16LE },
};

/* The 8-bit Bayer format of each order, for demosaicking. */
static enum AVPixelFormat bayer8(enum cr_bayer_order order)
{
	switch (order) {
	case CR_BGGR: return AV_PIX_FMT_BAYER_BGGR8;
	case CR_GBRG: return AV_PIX_FMT_BAYER_GBRG8;
	case CR_GRBG: return AV_PIX_FMT_BAYER_GRBG8;
	case CR_RGGB: return AV_PIX_FMT_BAYER_RGGB8;
	default: return AV_PIX_FMT_GRAY8;
	}
}

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
	/* Developing raw sensor images (cr_image_convert()). */
	struct cr_scaler *develop;   /* the demosaicking step, when it is one step of two */
	uint8_t *samples;            /* 8-bit samples of a raw image */
	size_t samples_size;         /* bytes */
	uint8_t *developed;          /* the developed image, before scaling or converting */
	size_t developed_size;       /* bytes */
	uint8_t *bounce;             /* an aligned destination (needs_bounce()) */
	size_t bounce_size;          /* bytes */
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
	cr_scaler_free(&s->develop);
	free(s->samples);
	free(s->developed);
	free(s->bounce);
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

/* Whether dst must be written through an aligned bounce buffer. FFmpeg
 * 5.1's unscaled NV12 -> YUV420P (a plane copy and a deinterleave) stores
 * whole SSE2 vectors at its destination rows and crashes on rows that are
 * not 16-byte aligned: a tightly packed I420 of 1456 x 1088 (the IMX296's
 * size) has chroma rows 728 bytes apart. Of the conversions camrig makes, at
 * widths of 102 to 2028, tight rows crash no other (measured). */
static bool needs_bounce(const struct cr_picture *src, const struct cr_picture *dst)
{
	if (src->format != AV_PIX_FMT_NV12 || dst->format != AV_PIX_FMT_YUV420P || src->width != dst->width ||
	    src->height != dst->height)
		return false;
	for (int p = 0; p < 3; p++)
		if (((uintptr_t)dst->plane[p] | (uintptr_t)dst->stride[p]) & 15)
			return true;
	return false;
}

int cr_scaler_run(struct cr_scaler *s, const struct cr_picture *src, const struct cr_picture *dst)
{
	struct side a = side_of(src), b = side_of(dst);

	if (!s->sws || !same_side(&s->src, &a) || !same_side(&s->dst, &b)) {
		int ret = build(s, &a, &b);

		if (ret < 0)
			return ret;
	}
	if (needs_bounce(src, dst)) {
		uint8_t *plane[4];
		int stride[4];
		int size = av_image_get_buffer_size(dst->format, dst->width, dst->height, 64);

		if (size < 0)
			return size;
		if (s->bounce_size < (size_t)size) {
			free(s->bounce);
			s->bounce = cr_aligned_alloc(64, (size_t)size);
			s->bounce_size = (size_t)size;
		}
		av_image_fill_arrays(plane, stride, s->bounce, dst->format, dst->width, dst->height, 64);
		sws_scale(s->sws, (const uint8_t *const *)src->plane, src->stride, 0, src->height, plane, stride);
		av_image_copy((uint8_t **)dst->plane, (int *)dst->stride, (const uint8_t **)plane, stride, dst->format,
			      dst->width, dst->height);
		return 0;
	}
	sws_scale(s->sws, (const uint8_t *const *)src->plane, src->stride, 0, src->height, dst->plane, dst->stride);
	return 0;
}

struct cr_image cr_image_of_frame(const struct cr_frame *f)
{
	struct cr_image img = { .fourcc = f->fourcc, .width = f->width, .height = f->height, .range = f->range };

	for (int p = 0; p < f->nplanes; p++) {
		img.plane[p] = f->plane[p];
		img.stride[p] = f->stride[p];
	}
	return img;
}

bool cr_image_rect(const struct cr_image *img, int x, int y, int width, int height, struct cr_image *out)
{
	*out = *img;
	out->width = width;
	out->height = height;
	switch (img->fourcc) {
	case CR_FMT_GREY:
		out->plane[0] += (size_t)y * img->stride[0] + (size_t)x;
		return true;
	case CR_FMT_YUYV:
		out->plane[0] += (size_t)y * img->stride[0] + (size_t)x * 2;
		return true;
	case CR_FMT_RGB24:
	case CR_FMT_BGR24:
		out->plane[0] += (size_t)y * img->stride[0] + (size_t)x * 3;
		return true;
	case CR_FMT_NV12:
		out->plane[0] += (size_t)y * img->stride[0] + (size_t)x;
		out->plane[1] += (size_t)(y / 2) * img->stride[1] + (size_t)x;
		return true;
	case CR_FMT_YU12:
		out->plane[0] += (size_t)y * img->stride[0] + (size_t)x;
		for (int p = 1; p < 3; p++)
			out->plane[p] += (size_t)(y / 2) * img->stride[p] + (size_t)(x / 2);
		return true;
	case CR_FMT_YUV422P:
		out->plane[0] += (size_t)y * img->stride[0] + (size_t)x;
		for (int p = 1; p < 3; p++)
			out->plane[p] += (size_t)y * img->stride[p] + (size_t)(x / 2);
		return true;
	default:
		return false;
	}
}

static struct cr_picture picture_of(const struct cr_image *img)
{
	struct cr_picture p = { .format = cr_image_av_format(img->fourcc), .width = img->width, .height = img->height };

	memcpy(p.plane, img->plane, sizeof(img->plane));
	memcpy(p.stride, img->stride, sizeof(img->stride));
	return p;
}

/* Grows *buf to at least size bytes. */
static uint8_t *reserve(uint8_t **buf, size_t *have, size_t size)
{
	if (*have < size) {
		free(*buf);
		*buf = cr_malloc(size);
		*have = size;
	}
	return *buf;
}

/* Copies planar YUV or GREY src into dst of the same format and size with
 * only the levels changed: limited (Y 16..235, Cb/Cr 16..240) expanded to
 * full (0..255), or the reverse (BT.601 section 2.5.3). One table lookup a
 * sample: libswscale takes its general scaling path for that (or, GRAY8 into
 * GRAY8, copies without a range change). Returns false for other formats. */
static bool convert_range(const struct cr_image *src, const struct cr_image *dst, bool expand)
{
	uint8_t lut[2][256]; /* luma, chroma */
	struct cr_plane_layout l;

	if (src->fourcc != dst->fourcc || src->width != dst->width || src->height != dst->height ||
	    (src->fourcc != CR_FMT_GREY && src->fourcc != CR_FMT_YU12 && src->fourcc != CR_FMT_NV12 &&
	     src->fourcc != CR_FMT_YUV422P) ||
	    cr_fourcc_layout(src->fourcc, src->width, src->height, 0, &l) < 0)
		return false;
	for (int v = 0; v < 256; v++) {
		int y = expand ? ((v - 16) * 255 + 109) / 219 : (v * 219 + 127) / 255 + 16;
		int c = expand ? 128 + (int)lround((v - 128) * 255.0 / 224) : 128 + (int)lround((v - 128) * 224.0 / 255);

		lut[0][v] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
		lut[1][v] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
	}
	for (int p = 0; p < l.nplanes; p++) {
		const uint8_t *t = lut[p > 0];

		for (int row = 0; row < l.height[p]; row++) {
			const uint8_t *in = src->plane[p] + (size_t)row * src->stride[p];
			uint8_t *out = dst->plane[p] + (size_t)row * dst->stride[p];

			for (int x = 0; x < l.stride[p]; x++)
				out[x] = t[in[x]];
		}
	}
	return true;
}

int cr_image_convert(struct cr_scaler *s, const struct cr_image *src, const struct cr_image *dst)
{
	struct cr_picture a = picture_of(src), b = picture_of(dst);
	const struct cr_raw_format *raw = cr_fourcc_raw(src->fourcc);

	if (raw) {
		/* Develop into an 8-bit image first, then convert that (or develop
		 * straight into dst when it is the developed format and size). */
		uint32_t dev = raw->order == CR_MONO ? CR_FMT_GREY : CR_FMT_RGB24;
		struct cr_plane_layout l;
		struct cr_image img = { .fourcc = dev, .width = src->width, .height = src->height };
		int ret;

		if (dst->fourcc == dev && dst->width == src->width && dst->height == src->height)
			return cr_image_develop(s, src, dst);
		if ((ret = cr_fourcc_layout(dev, src->width, src->height, 0, &l)) < 0)
			return ret;
		reserve(&s->developed, &s->developed_size, l.size);
		for (int p = 0; p < l.nplanes; p++) {
			img.plane[p] = s->developed + l.offset[p];
			img.stride[p] = l.stride[p];
		}
		if (!s->develop)
			s->develop = cr_scaler_new(0);
		if ((ret = cr_image_develop(s->develop, src, &img)) < 0)
			return ret;
		return cr_image_convert(s, &img, dst);
	}
	if (a.format == AV_PIX_FMT_NONE || b.format == AV_PIX_FMT_NONE)
		return CR_EFORMAT;
	if (src->range != CR_RANGE_UNSTATED && dst->range != CR_RANGE_UNSTATED) {
		a.full_range = src->range == CR_RANGE_FULL;
		b.full_range = dst->range == CR_RANGE_FULL;
		if (a.full_range != b.full_range && convert_range(src, dst, b.full_range))
			return 0;
	}
	return cr_scaler_run(s, &a, &b);
}

enum AVPixelFormat cr_image_raw_gray_format(uint32_t fourcc)
{
	const struct cr_raw_format *raw = cr_fourcc_raw(fourcc);

	if (!raw)
		return fourcc == CR_FMT_GREY ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_NONE;
	switch (raw->depth) {
	case 8: return AV_PIX_FMT_GRAY8;
	case 10: return AV_PIX_FMT_GRAY10LE;
	case 12: return AV_PIX_FMT_GRAY12LE;
	default: return AV_PIX_FMT_GRAY16LE;
	}
}

void cr_image_unpack10(const uint8_t *src, uint16_t *dst, int width)
{
	int x = 0;

	for (; x + 4 <= width; x += 4, src += 5) {
		uint8_t low = src[4];

		dst[x] = (uint16_t)(src[0] << 2 | (low & 3));
		dst[x + 1] = (uint16_t)(src[1] << 2 | (low >> 2 & 3));
		dst[x + 2] = (uint16_t)(src[2] << 2 | (low >> 4 & 3));
		dst[x + 3] = (uint16_t)(src[3] << 2 | (low >> 6 & 3));
	}
	/* A row that ends inside a group: its low-bit byte follows its pixels. */
	for (int k = 0; x + k < width; k++)
		dst[x + k] = (uint16_t)(src[k] << 2 | (src[width - x] >> (2 * k) & 3));
}

int cr_image_raw_samples(const struct cr_image *img, int bits, uint8_t *dst, int stride)
{
	const struct cr_raw_format *raw = cr_fourcc_raw(img->fourcc);

	if (!raw || (bits != 8 && bits != 16))
		return CR_EFORMAT;
	for (int y = 0; y < img->height; y++) {
		const uint8_t *in = img->plane[0] + (size_t)y * (size_t)img->stride[0];
		uint8_t *out = dst + (size_t)y * (size_t)stride;

		if (raw->packed && bits == 8) {
			/* The first 4 bytes of each group are the 8 high bits. */
			for (int x = 0; x < img->width; x++)
				out[x] = in[x / 4 * 5 + x % 4];
		} else if (raw->packed) {
			uint16_t row[16384];

			cr_image_unpack10(in, row, img->width);
			for (int x = 0; x < img->width; x++) {
				out[2 * x] = (uint8_t)(row[x] & 0xff);
				out[2 * x + 1] = (uint8_t)(row[x] >> 8);
			}
		} else if (raw->depth == 8 && bits == 8) {
			memcpy(out, in, (size_t)img->width);
		} else if (raw->depth == 8) {
			for (int x = 0; x < img->width; x++) {
				out[2 * x] = in[x];
				out[2 * x + 1] = 0;
			}
		} else if (bits == 8) {
			int shift = raw->depth - 8;

			for (int x = 0; x < img->width; x++)
				out[x] = (uint8_t)((in[2 * x] | in[2 * x + 1] << 8) >> shift);
		} else {
			memcpy(out, in, (size_t)img->width * 2);
		}
	}
	return 0;
}

int cr_image_develop(struct cr_scaler *s, const struct cr_image *img, const struct cr_image *dst)
{
	const struct cr_raw_format *raw = cr_fourcc_raw(img->fourcc);
	struct cr_picture in = { .width = img->width, .height = img->height }, out = picture_of(dst);
	int ret;

	if (!raw || dst->width != img->width || dst->height != img->height)
		return CR_EFORMAT;
	if (raw->order == CR_MONO)
		return dst->fourcc == CR_FMT_GREY ? cr_image_raw_samples(img, 8, dst->plane[0], dst->stride[0])
						  : CR_EFORMAT;
	/* Not to YUV directly: libswscale's Bayer-to-YUV path gets the
	 * colours wrong (its Bayer-to-RGB one is right, test_image.c). */
	if (dst->fourcc != CR_FMT_RGB24 && dst->fourcc != CR_FMT_BGR24)
		return CR_EFORMAT;
	reserve(&s->samples, &s->samples_size, (size_t)img->width * (size_t)img->height);
	if ((ret = cr_image_raw_samples(img, 8, s->samples, img->width)) < 0)
		return ret;
	in.format = bayer8(raw->order);
	in.plane[0] = s->samples;
	in.stride[0] = img->width;
	return cr_scaler_run(s, &in, &out);
}
