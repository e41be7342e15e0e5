/* The built-in test pattern: moving colour bars, a luma ramp, a bouncing box,
 * and the frame number and capture time (UTC) drawn into the image, at the
 * configured size, rate and pixel format. Needs no hardware.
 *
 * Every frame is drawn in I420 and converted to the requested format (MJPEG
 * through libturbojpeg). Pacing follows the configured rate on
 * CLOCK_MONOTONIC; like a real driver, the sequence number counts frame
 * periods, so a frame the reader was too slow to take shows as a gap.
 *
 * Controls: three of its own, so that everything built on a camera's
 * controls (set_control, GET /api/controls, the page's panel) can be used and
 * tested without a device: brightness (added to every luma sample),
 * pattern (colour bars or flat gray) and show_clock (the frame number and
 * time). They are atomics read once per frame by the camera thread and set
 * from the control thread. */
#include "source/source.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/text.h"
#include "base/time.h"
#include "base/image.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#define DEFAULT_WIDTH 640
#define DEFAULT_HEIGHT 480
#define DEFAULT_FPS 30.0
#define MJPEG_QUALITY 85

enum { CONTROL_BRIGHTNESS, CONTROL_PATTERN, CONTROL_SHOW_CLOCK, NCONTROLS };
enum { PATTERN_BARS, PATTERN_GRAY };

/* The controls as list_controls describes them; value is the default. */
static const struct cr_source_control controls[NCONTROLS] = {
	[CONTROL_BRIGHTNESS] = { .name = "brightness", .label = "Brightness", .type = CR_CONTROL_INT, .min = -100,
				 .max = 100, .step = 1 },
	[CONTROL_PATTERN] = { .name = "pattern", .label = "Pattern", .type = CR_CONTROL_MENU, .min = 0, .max = 1, .step = 1,
			      .nitems = 2, .items = { { 0, "Colour Bars" }, { 1, "Gray" } } },
	[CONTROL_SHOW_CLOCK] = { .name = "show_clock", .label = "Show Clock", .type = CR_CONTROL_BOOL, .min = 0, .max = 1,
				 .step = 1, .def = 1 },
};

struct testsrc {
	atomic_int control[NCONTROLS]; /* current values; set by set_control */
	int width, height;
	int64_t period_ns;
	int64_t start_ns;       /* CLOCK_MONOTONIC of frame period 0 */
	uint64_t delivered;     /* frames read so far */
	int64_t last_period;    /* period of the last frame delivered, -1 before */
	struct cr_image i420;   /* the drawing surface */
	uint8_t *i420_buf;
	uint8_t *bars[3];       /* one row of each plane's bars, twice over for wrap-around */
	struct cr_scaler *conv;
	tjhandle tj;
	uint8_t *rgb;           /* raw sensor formats: the picture as RGB24, mosaicked from */
};

/* 75% colour bars in BT.601 limited-range Y, U, V. */
static const uint8_t bar_yuv[8][3] = {
	{ 180, 128, 128 }, { 162, 44, 142 }, { 131, 156, 44 }, { 112, 72, 58 },
	{ 84, 184, 198 },  { 65, 100, 212 }, { 35, 212, 114 }, { 16, 128, 128 },
};

static void fill_rect(struct cr_image *img, int x0, int y0, int w, int h, uint8_t y, uint8_t u, uint8_t v)
{
	if (x0 < 0) { w += x0; x0 = 0; }
	if (y0 < 0) { h += y0; y0 = 0; }
	if (x0 + w > img->width) w = img->width - x0;
	if (y0 + h > img->height) h = img->height - y0;
	if (w <= 0 || h <= 0)
		return;
	for (int r = y0; r < y0 + h; r++)
		memset(img->plane[0] + (size_t)r * img->stride[0] + x0, y, (size_t)w);
	for (int r = y0 / 2; r < (y0 + h + 1) / 2; r++) {
		memset(img->plane[1] + (size_t)r * img->stride[1] + x0 / 2, u, (size_t)(w + 1) / 2);
		memset(img->plane[2] + (size_t)r * img->stride[2] + x0 / 2, v, (size_t)(w + 1) / 2);
	}
}

/* Draws text in white on a black box at (x, y); scale is pixels per font dot. */
static void draw_text(struct cr_image *img, int x, int y, int scale, const char *text)
{
	fill_rect(img, x, y, cr_text_width(text, scale), CR_TEXT_HEIGHT(scale), 16, 128, 128);
	cr_text_draw(img->plane[0], img->stride[0], img->width, img->height, x, y, scale, text, 235, 16);
}

static void draw(struct testsrc *t, uint64_t number, int64_t mono_ns)
{
	struct cr_image *img = &t->i420;
	int w = t->width, h = t->height, bars_h = h * 2 / 3;
	int shift = (int)((number * 2) % (uint64_t)w);
	int64_t utc_us = cr_time_mono_to_utc_us(mono_ns);
	int64_t day_ms = (utc_us / 1000) % (INT64_C(86400) * 1000);
	int box = h / 8 > 8 ? h / 8 : 8, span_x = w - box, span_y = h - box;
	int64_t bx = (int64_t)(number * 3) % (2 * (span_x > 0 ? span_x : 1));
	int64_t by = (int64_t)(number * 2) % (2 * (span_y > 0 ? span_y : 1));
	int scale = h / 160 > 0 ? h / 160 : 1;
	char text[48];

	int brightness = atomic_load(&t->control[CONTROL_BRIGHTNESS]);
	bool gray = atomic_load(&t->control[CONTROL_PATTERN]) == PATTERN_GRAY;

	if (gray)
		bars_h = 0;
	for (int r = 0; r < h; r++) {
		uint8_t *row = img->plane[0] + (size_t)r * img->stride[0];

		if (gray) {
			memset(row, 126, (size_t)w);
		} else if (r < bars_h) {
			memcpy(row, t->bars[0] + shift, (size_t)w);
		} else {
			for (int c = 0; c < w; c++)
				row[c] = (uint8_t)(16 + (((c + w - shift) % w) * 219) / w);
		}
	}
	for (int r = 0; r < (h + 1) / 2; r++) {
		for (int p = 1; p < 3; p++) {
			uint8_t *row = img->plane[p] + (size_t)r * img->stride[p];

			if (r * 2 < bars_h)
				memcpy(row, t->bars[p] + shift / 2, (size_t)(w + 1) / 2);
			else
				memset(row, 128, (size_t)(w + 1) / 2);
		}
	}
	if (bx > span_x)
		bx = 2 * span_x - bx;
	if (by > span_y)
		by = 2 * span_y - by;
	fill_rect(img, (int)bx, (int)by, box, box, 235, 128, 128);
	if (atomic_load(&t->control[CONTROL_SHOW_CLOCK])) {
		snprintf(text, sizeof(text), "#%06llu %02d:%02d:%02d.%03d", (unsigned long long)number,
			 (int)(day_ms / 3600000), (int)(day_ms / 60000 % 60), (int)(day_ms / 1000 % 60),
			 (int)(day_ms % 1000));
		draw_text(img, scale * 2, scale * 2, scale, text);
	}
	if (brightness != 0) {
		for (int r = 0; r < h; r++) {
			uint8_t *row = img->plane[0] + (size_t)r * img->stride[0];

			for (int c = 0; c < w; c++) {
				int y = row[c] + brightness;

				row[c] = (uint8_t)(y < 16 ? 16 : y > 235 ? 235 : y);
			}
		}
	}
}

/* The control named name (any spelling cr_source_control_key folds to it),
 * or -1. */
static int find_control(const char *name)
{
	char key[64];

	cr_source_control_key(name, key, sizeof(key));
	for (int i = 0; i < NCONTROLS; i++)
		if (strcmp(key, controls[i].name) == 0)
			return i;
	return -1;
}

static int set_one(struct testsrc *t, const char *name, const char *value, char *why, size_t len)
{
	int i = find_control(name);
	int64_t v;

	if (i < 0) {
		snprintf(why, len, "\"%s\": no such control (the test pattern has: brightness, pattern, show_clock)",
			 name);
		return -ENOENT;
	}
	if (cr_source_control_parse(&controls[i], value, &v, why, len) < 0) {
		char expected[512];

		snprintf(expected, sizeof(expected), "%s", why);
		snprintf(why, len, "\"%s\": bad value \"%s\" (%s)", controls[i].name, value, expected);
		return -EINVAL;
	}
	atomic_store(&t->control[i], (int)v);
	return 0;
}

static int testsrc_set_control(struct cr_source *src, const char *name, const char *value, char *why, size_t len)
{
	struct testsrc *t = src->priv;

	if (!t) {
		snprintf(why, len, "the test pattern is not running");
		return -ENODEV;
	}
	return set_one(t, name, value, why, len);
}

static int testsrc_list_controls(struct cr_source *src, struct cr_source_control *out, int max, char *why,
				 size_t len)
{
	struct testsrc *t = src->priv;

	if (!t) {
		snprintf(why, len, "the test pattern is not running");
		return -ENODEV;
	}
	for (int i = 0; i < NCONTROLS && i < max; i++) {
		out[i] = controls[i];
		out[i].value = atomic_load(&t->control[i]);
		out[i].has_value = true;
	}
	return NCONTROLS;
}

static int testsrc_open(struct cr_source *src)
{
	const struct cr_camera_config *cfg = src->config;
	uint32_t fourcc = cfg->format ? cfg->format : CR_FMT_YUYV;
	double fps = cfg->fps > 0 ? cfg->fps : DEFAULT_FPS;
	struct testsrc *t;
	struct cr_plane_layout l;
	int ret;

	if (fourcc == CR_FMT_JPEG)
		fourcc = CR_FMT_MJPEG;
	if (!cr_fourcc_is_supported(fourcc))
		return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR,
				  "%s: test source: format %s is not supported (expected one of: GREY, YUYV, "
				  "NV12, YU12, RGB24, BGR24, MJPEG, or a raw sensor format: " CR_FOURCC_RAW_NAMES ")",
				  cfg->name, cr_fourcc_name(fourcc));
	t = CR_NEW(t);
	src->priv = t;
	for (int i = 0; i < NCONTROLS; i++)
		atomic_init(&t->control[i], (int)controls[i].def);
	for (unsigned i = 0; i < cfg->ncontrols; i++) {
		char why[512];

		if (set_one(t, cfg->controls[i].name, cfg->controls[i].value, why, sizeof(why)) < 0)
			return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: test source: control (config line %d) %s", cfg->name,
					  cfg->controls[i].line, why);
	}
	t->width = cfg->width > 0 ? cfg->width : DEFAULT_WIDTH;
	t->height = cfg->height > 0 ? cfg->height : DEFAULT_HEIGHT;
	/* 4:2:0 drawing and YUYV output want even sizes. */
	t->width &= ~1;
	t->height &= ~1;
	if (t->width < 16 || t->height < 16)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: test source: size %dx%d is too small (expected "
				  "at least 16x16)", cfg->name, cfg->width, cfg->height);
	ret = cr_fourcc_layout(CR_FMT_YU12, t->width, t->height, 0, &l);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: test source: size %dx%d is out of range",
				  cfg->name, t->width, t->height);
	t->i420_buf = cr_malloc(l.size);
	t->i420 = (struct cr_image){ .fourcc = CR_FMT_YU12, .width = t->width, .height = t->height };
	for (int p = 0; p < 3; p++) {
		int pw = p ? (t->width + 1) / 2 : t->width;

		t->i420.plane[p] = t->i420_buf + l.offset[p];
		t->i420.stride[p] = l.stride[p];
		t->bars[p] = cr_malloc((size_t)pw * 2);
		for (int c = 0; c < pw * 2; c++)
			t->bars[p][c] = bar_yuv[(c % pw) * 8 / pw][p];
	}
	t->conv = cr_scaler_new(0);
	if (cr_fourcc_raw(fourcc))
		t->rgb = cr_malloc((size_t)t->width * (size_t)t->height * 3);
	t->period_ns = (int64_t)((double)CR_NS_PER_SEC / fps);
	t->last_period = -1;

	src->format = (struct cr_source_format){ .fourcc = fourcc, .width = t->width, .height = t->height,
						 .fps = fps };
	snprintf(src->format.device, sizeof(src->format.device), "test");
	snprintf(src->format.driver, sizeof(src->format.driver), "camrig test pattern");
	if (fourcc == CR_FMT_MJPEG) {
		t->tj = tjInitCompress();
		if (!t->tj)
			return cr_log_ret(-ENOMEM, CR_LOG_ERROR, "test source: %s", tjGetErrorStr2(NULL));
		src->format.frame_bytes = tjBufSize(t->width, t->height, TJSAMP_420);
	} else {
		ret = cr_fourcc_layout(fourcc, t->width, t->height, 0, &l);
		if (ret < 0)
			return ret;
		src->format.frame_bytes = l.size;
	}
	t->start_ns = cr_time_mono_ns();
	return 0;
}

/* Stores sample v (raw->depth bits) at pixel x of a raw row. */
static void put_sample(const struct cr_raw_format *raw, uint8_t *row, int x, int width, unsigned v)
{
	if (raw->packed) {
		int group = x / 4 * 5, k = x % 4, low = x / 4 * 5 + (width - x / 4 * 4 < 4 ? width - x / 4 * 4 : 4);

		row[group + k] = (uint8_t)(v >> 2);
		row[low] = (uint8_t)((row[low] & ~(3u << (2 * k))) | (v & 3) << (2 * k));
	} else if (raw->depth == 8) {
		row[x] = (uint8_t)v;
	} else {
		row[2 * x] = (uint8_t)(v & 0xff);
		row[2 * x + 1] = (uint8_t)(v >> 8);
	}
}

/* The picture as a raw sensor frame: a Bayer mosaic of it (the colour of
 * each site taken from RGB24) or its luma, each 8-bit value in the high bits
 * of the format's depth and a pattern ((x ^ y) & the rest) in the low ones,
 * so that keeping the full depth can be told from keeping 8 bits. */
static int deliver_raw(struct testsrc *t, const struct cr_raw_format *raw, struct cr_frame *frame)
{
	static const char *const orders[] = { [CR_BGGR] = "BGGR", [CR_GBRG] = "GBRG", [CR_GRBG] = "GRBG",
					      [CR_RGGB] = "RGGB" };
	int shift = raw->depth - 8;
	unsigned mask = (1u << shift) - 1;

	if (raw->order != CR_MONO) {
		struct cr_image rgb = { .fourcc = CR_FMT_RGB24, .width = t->width, .height = t->height,
					.plane = { t->rgb }, .stride = { t->width * 3 } };
		int ret = cr_image_convert(t->conv, &t->i420, &rgb);

		if (ret < 0)
			return ret;
	}
	for (int y = 0; y < t->height; y++) {
		uint8_t *row = frame->plane[0] + (size_t)y * (size_t)frame->stride[0];

		for (int x = 0; x < t->width; x++) {
			unsigned v;

			if (raw->order == CR_MONO) {
				v = t->i420.plane[0][(size_t)y * (size_t)t->i420.stride[0] + (size_t)x];
			} else {
				char c = orders[raw->order][(y & 1) * 2 + (x & 1)];
				int ch = c == 'R' ? 0 : c == 'G' ? 1 : 2;

				v = t->rgb[((size_t)y * (size_t)t->width + (size_t)x) * 3 + (size_t)ch];
			}
			put_sample(raw, row, x, t->width, v << shift | ((unsigned)(x ^ y) & mask));
		}
	}
	return 0;
}

static int deliver(struct testsrc *t, struct cr_frame *frame)
{
	struct cr_image dst;
	int ret;

	if (frame->fourcc == CR_FMT_MJPEG) {
		const unsigned char *planes[3] = { t->i420.plane[0], t->i420.plane[1], t->i420.plane[2] };
		unsigned char *out = frame->data;
		unsigned long size = frame->capacity;

		if (tjCompressFromYUVPlanes(t->tj, planes, t->width, t->i420.stride, t->height, TJSAMP_420, &out,
					    &size, MJPEG_QUALITY, TJFLAG_NOREALLOC | TJFLAG_FASTDCT) < 0) {
			cr_debug("test source: JPEG encoding failed: %s", tjGetErrorStr2(t->tj));
			return -EIO;
		}
		frame->size = size;
		return 0;
	}
	if (frame->fourcc == CR_FMT_YU12 || frame->fourcc == CR_FMT_GREY) {
		for (int p = 0; p < frame->nplanes; p++) {
			int rows = p ? (t->height + 1) / 2 : t->height, bytes = p ? (t->width + 1) / 2 : t->width;

			for (int r = 0; r < rows; r++)
				memcpy(frame->plane[p] + (size_t)r * frame->stride[p],
				       t->i420.plane[p] + (size_t)r * t->i420.stride[p], (size_t)bytes);
		}
		return 0;
	}
	if (cr_fourcc_raw(frame->fourcc))
		return deliver_raw(t, cr_fourcc_raw(frame->fourcc), frame);
	dst = cr_image_of_frame(frame);
	ret = cr_image_convert(t->conv, &t->i420, &dst);
	return ret;
}

static int testsrc_read(struct cr_source *src, struct cr_frame *frame)
{
	struct testsrc *t = src->priv;
	int64_t now = cr_time_mono_ns(), period, due;
	int ret;

	/* The next frame period after the last one delivered; a reader that fell
	 * behind gets the current period and a gap in the sequence numbers. */
	period = t->last_period + 1;
	if ((now - t->start_ns) / t->period_ns > period)
		period = (now - t->start_ns) / t->period_ns;
	due = t->start_ns + period * t->period_ns;
	ret = cr_source_sleep_until(src, due);
	if (ret < 0)
		return ret;
	t->last_period = period;
	if (!frame)
		return 0;
	ret = cr_frame_set_format(frame, src->format.fourcc, t->width, t->height, 0);
	if (ret < 0)
		return ret;
	frame->sequence = (uint32_t)period;
	frame->mono_ns = due;
	draw(t, t->delivered++, due);
	return deliver(t, frame);
}

static void testsrc_close(struct cr_source *src)
{
	struct testsrc *t = src->priv;

	if (!t)
		return;
	src->priv = NULL;
	if (t->tj)
		tjDestroy(t->tj);
	cr_scaler_free(&t->conv);
	for (int p = 0; p < 3; p++)
		free(t->bars[p]);
	free(t->i420_buf);
	free(t->rgb);
	free(t);
}

const struct cr_source_ops cr_source_test_ops = {
	.open = testsrc_open,
	.read = testsrc_read,
	.close = testsrc_close,
	.set_control = testsrc_set_control,
	.list_controls = testsrc_list_controls,
};
