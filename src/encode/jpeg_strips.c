/* YUYV and NV12 frames compressed to JPEG a strip at a time (the model is in
 * jpeg_internal.h).
 *
 * Design: one libjpeg compression object per worker, kept across frames.
 * For each iMCU row the frame's rows are converted by libswscale into a
 * planar strip (Y, Cb, Cr of 4:2:2 or 4:2:0), its right edge and (in the last
 * strip) its bottom rows padded by repeating the last column and row, and
 * handed to jpeg_write_raw_data(). libjpeg's errors longjmp back to the
 * compress call (libjpeg.txt, "Error handling"); its output goes to a
 * buffer that grows by realloc() and becomes the image. */
#include "encode/jpeg_internal.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h uses FILE and size_t without including them */
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#define MIN_OUTPUT 4096          /* bytes: the first output buffer without a hint */
/* Bytes: the strip's luma rows start at multiples of this, its chroma rows
 * at multiples of half of it. libswscale's SIMD stores whole aligned vectors
 * (NV12 into planar rows 56 bytes apart crashes it, FFmpeg 5.1). */
#define ALIGN 64

/* libjpeg's error manager, with somewhere to jump to. */
struct escape {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
};

/* libjpeg's destination manager over a growing buffer. */
struct output {
	struct jpeg_destination_mgr pub;
	uint8_t *buf;                /* cr_malloc()ed; NULL between images */
	size_t cap;                  /* bytes */
};

struct cr_jpeg_strips {
	struct jpeg_compress_struct cinfo;
	struct escape err;
	struct output out;
	bool created;                /* cinfo is set up (jpeg_create_compress() returned) */
	struct cr_scaler *conv;      /* full strips */
	struct cr_scaler *tail;      /* a last strip of fewer rows (another size for libswscale) */
	uint8_t *strip;              /* the planar strip */
	size_t strip_size;           /* bytes */
};

static void error_exit(j_common_ptr cinfo)
{
	struct escape *err = (struct escape *)cinfo->err;

	(*cinfo->err->output_message)(cinfo);
	longjmp(err->jump, 1);
}

static void output_message(j_common_ptr cinfo)
{
	char text[JMSG_LENGTH_MAX];

	(*cinfo->err->format_message)(cinfo, text);
	cr_debug("jpeg: libjpeg: %s", text);
}

static void output_init(j_compress_ptr cinfo)
{
	struct output *out = (struct output *)cinfo->dest;

	out->pub.next_output_byte = out->buf;
	out->pub.free_in_buffer = out->cap;
}

/* The buffer is full: twice the room. */
static boolean output_grow(j_compress_ptr cinfo)
{
	struct output *out = (struct output *)cinfo->dest;
	size_t used = out->cap;

	out->cap *= 2;
	out->buf = cr_realloc(out->buf, out->cap);
	out->pub.next_output_byte = out->buf + used;
	out->pub.free_in_buffer = out->cap - used;
	return TRUE;
}

static void output_term(j_compress_ptr cinfo)
{
	(void)cinfo;
}

struct cr_jpeg_strips *cr_jpeg_strips_new(void)
{
	struct cr_jpeg_strips *s = CR_NEW(s);

	s->cinfo.err = jpeg_std_error(&s->err.pub);
	s->err.pub.error_exit = error_exit;
	s->err.pub.output_message = output_message;
	if (setjmp(s->err.jump)) {
		cr_jpeg_strips_free(&s);
		return NULL;
	}
	jpeg_create_compress(&s->cinfo);
	s->created = true;
	s->out.pub = (struct jpeg_destination_mgr){ .init_destination = output_init,
						    .empty_output_buffer = output_grow,
						    .term_destination = output_term };
	s->cinfo.dest = &s->out.pub;
	s->conv = cr_scaler_new(0);
	return s;
}

void cr_jpeg_strips_free(struct cr_jpeg_strips **pstrips)
{
	struct cr_jpeg_strips *s = *pstrips;

	if (!s)
		return;
	*pstrips = NULL;
	if (s->created)
		jpeg_destroy_compress(&s->cinfo);
	cr_scaler_free(&s->conv);
	cr_scaler_free(&s->tail);
	free(s->strip);
	free(s->out.buf);
	free(s);
}

bool cr_jpeg_strips_take(const struct cr_image *src)
{
	return (src->fourcc == CR_FMT_YUYV || src->fourcc == CR_FMT_NV12) && src->width >= 2 && src->height >= 2 &&
	       src->width % 2 == 0 && src->height % 2 == 0;
}

size_t cr_jpeg_strips_held(const struct cr_jpeg_strips *s)
{
	return s->strip_size;
}

void cr_jpeg_strips_release(struct cr_jpeg_strips *s)
{
	free(s->strip);
	s->strip = NULL;
	s->strip_size = 0;
}

static size_t align(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

/* Pads a plane of a strip, width x height samples of rows x stride: each
 * row to stride with its last sample, and rows height..rows-1 with the last
 * row (libjpeg reads whole blocks; these samples fill the edge blocks). */
static void pad_plane(uint8_t *plane, int stride, int width, int height, int rows)
{
	for (int r = 0; r < height; r++) {
		uint8_t *row = plane + (size_t)r * (size_t)stride;

		memset(row + width, row[width - 1], (size_t)(stride - width));
	}
	for (int r = height; r < rows; r++)
		memcpy(plane + (size_t)r * (size_t)stride, plane + (size_t)(height - 1) * (size_t)stride, (size_t)stride);
}

/* Gives up the image in progress. Returns ret. */
static int fail(struct cr_jpeg_strips *s, int ret)
{
	jpeg_abort_compress(&s->cinfo);
	free(s->out.buf);
	s->out.buf = NULL;
	return ret;
}

/* The body of cr_jpeg_strips_compress() once libjpeg's errors have somewhere
 * to jump to (a function of its own, so that no local of the caller changes
 * between setjmp() and longjmp()). */
static int encode(struct cr_jpeg_strips *s, const struct cr_image *src, int quality, uint8_t **data, size_t *size)
{
	struct jpeg_compress_struct *c = &s->cinfo;
	const bool is420 = src->fourcc == CR_FMT_NV12;
	const int rows = is420 ? 16 : 8;                         /* luma rows of an iMCU row */
	const int ystride = (int)align((size_t)src->width, ALIGN); /* whole MCUs (two blocks wide), aligned rows */
	const int cstride = ystride / 2;
	JSAMPROW yrows[16], cbrows[DCTSIZE], crrows[DCTSIZE];
	JSAMPARRAY planes[3] = { yrows, cbrows, crrows };
	struct cr_image strip = {
		.fourcc = is420 ? CR_FMT_YU12 : CR_FMT_YUV422P, .width = src->width,
		.plane = { s->strip, s->strip + (size_t)ystride * (size_t)rows,
			   s->strip + (size_t)ystride * (size_t)rows + (size_t)cstride * DCTSIZE },
		.stride = { ystride, cstride, cstride },
		/* JFIF's YCbCr is full range: limited levels are expanded on the way. */
		.range = src->range == CR_RANGE_UNSTATED ? CR_RANGE_UNSTATED : CR_RANGE_FULL,
	};

	for (int r = 0; r < rows; r++)
		yrows[r] = strip.plane[0] + (size_t)r * (size_t)ystride;
	for (int r = 0; r < DCTSIZE; r++) {
		cbrows[r] = strip.plane[1] + (size_t)r * (size_t)cstride;
		crrows[r] = strip.plane[2] + (size_t)r * (size_t)cstride;
	}
	c->image_width = (JDIMENSION)src->width;
	c->image_height = (JDIMENSION)src->height;
	c->input_components = 3;
	c->in_color_space = JCS_YCbCr;
	jpeg_set_defaults(c);
	jpeg_set_quality(c, quality, TRUE);
	c->raw_data_in = TRUE;
	c->dct_method = quality >= 96 ? JDCT_ISLOW : JDCT_IFAST; /* libturbojpeg's choice */
	c->comp_info[0].h_samp_factor = 2;
	c->comp_info[0].v_samp_factor = is420 ? 2 : 1;
	for (int i = 1; i < 3; i++)
		c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
	jpeg_start_compress(c, TRUE);
	for (int y = 0; y < src->height; y += rows) {
		int n = src->height - y < rows ? src->height - y : rows;
		int crows = is420 ? n / 2 : n;
		struct cr_image view;
		int ret;

		strip.height = n;
		cr_image_rect(src, 0, y, src->width, n, &view);
		if (n < rows && !s->tail)
			s->tail = cr_scaler_new(0);
		ret = cr_image_convert(n < rows ? s->tail : s->conv, &view, &strip);
		if (ret < 0)
			return fail(s, ret);
		pad_plane(strip.plane[0], ystride, src->width, n, rows);
		pad_plane(strip.plane[1], cstride, src->width / 2, crows, DCTSIZE);
		pad_plane(strip.plane[2], cstride, src->width / 2, crows, DCTSIZE);
		jpeg_write_raw_data(c, planes, (JDIMENSION)rows);
	}
	jpeg_finish_compress(c);
	*size = s->out.cap - s->out.pub.free_in_buffer;
	*data = cr_realloc(s->out.buf, *size); /* give back the room the image did not use */
	s->out.buf = NULL;
	return 0;
}

int cr_jpeg_strips_compress(struct cr_jpeg_strips *s, const struct cr_image *src, int quality, size_t size_hint,
			    uint8_t **data, size_t *size)
{
	/* The most a strip takes: 4:2:0's 16 luma rows and two half-width chroma planes of 8. */
	size_t need = align((size_t)src->width, ALIGN) * (16 + DCTSIZE);

	if (!cr_jpeg_strips_take(src))
		return CR_EFORMAT;
	if (s->strip_size < need) {
		free(s->strip);
		s->strip = cr_aligned_alloc(ALIGN, need);
		s->strip_size = need;
	}
	s->out.cap = size_hint > 0 ? size_hint + size_hint / 4 : MIN_OUTPUT;
	s->out.buf = cr_malloc(s->out.cap);
	if (setjmp(s->err.jump)) /* libjpeg failed (error_exit() said why) */
		return fail(s, -EIO);
	return encode(s, src, quality, data, size);
}
