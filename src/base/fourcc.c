/* FourCC names and raw frame layouts. Layouts follow the V4L2 pixel format
 * documentation (Documentation/userspace-api/media/v4l/pixfmt-*.rst). */
#include "base/fourcc.h"

#include "base/error.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

/* Raw sensor formats come last: a device that also offers a developed image
 * gives that by default; among raw ones, unpacked before packed (no CPU to
 * unpack) and mono before Bayer. */
const uint32_t cr_fourcc_supported[] = {
	CR_FMT_MJPEG, CR_FMT_YUYV, CR_FMT_NV12, CR_FMT_YU12, CR_FMT_GREY, CR_FMT_RGB24, CR_FMT_BGR24,
	CR_FMT_Y10, CR_FMT_Y12, CR_FMT_Y16, CR_FMT_Y10P,
	CR_FMT_SBGGR8, CR_FMT_SGBRG8, CR_FMT_SGRBG8, CR_FMT_SRGGB8,
	CR_FMT_SBGGR10, CR_FMT_SGBRG10, CR_FMT_SGRBG10, CR_FMT_SRGGB10,
	CR_FMT_SBGGR12, CR_FMT_SGBRG12, CR_FMT_SGRBG12, CR_FMT_SRGGB12,
	CR_FMT_SBGGR16, CR_FMT_SGBRG16, CR_FMT_SGRBG16, CR_FMT_SRGGB16,
	CR_FMT_SBGGR10P, CR_FMT_SGBRG10P, CR_FMT_SGRBG10P, CR_FMT_SRGGB10P,
	0,
};

static const struct cr_raw_format raw_formats[] = {
	{ CR_FMT_Y10, "Y10", 10, false, CR_MONO },
	{ CR_FMT_Y10P, "Y10P", 10, true, CR_MONO },
	{ CR_FMT_Y12, "Y12", 12, false, CR_MONO },
	{ CR_FMT_Y16, "Y16", 16, false, CR_MONO },
	{ CR_FMT_SBGGR8, "SBGGR8", 8, false, CR_BGGR },
	{ CR_FMT_SGBRG8, "SGBRG8", 8, false, CR_GBRG },
	{ CR_FMT_SGRBG8, "SGRBG8", 8, false, CR_GRBG },
	{ CR_FMT_SRGGB8, "SRGGB8", 8, false, CR_RGGB },
	{ CR_FMT_SBGGR10, "SBGGR10", 10, false, CR_BGGR },
	{ CR_FMT_SGBRG10, "SGBRG10", 10, false, CR_GBRG },
	{ CR_FMT_SGRBG10, "SGRBG10", 10, false, CR_GRBG },
	{ CR_FMT_SRGGB10, "SRGGB10", 10, false, CR_RGGB },
	{ CR_FMT_SBGGR10P, "SBGGR10P", 10, true, CR_BGGR },
	{ CR_FMT_SGBRG10P, "SGBRG10P", 10, true, CR_GBRG },
	{ CR_FMT_SGRBG10P, "SGRBG10P", 10, true, CR_GRBG },
	{ CR_FMT_SRGGB10P, "SRGGB10P", 10, true, CR_RGGB },
	{ CR_FMT_SBGGR12, "SBGGR12", 12, false, CR_BGGR },
	{ CR_FMT_SGBRG12, "SGBRG12", 12, false, CR_GBRG },
	{ CR_FMT_SGRBG12, "SGRBG12", 12, false, CR_GRBG },
	{ CR_FMT_SRGGB12, "SRGGB12", 12, false, CR_RGGB },
	{ CR_FMT_SBGGR16, "SBGGR16", 16, false, CR_BGGR },
	{ CR_FMT_SGBRG16, "SGBRG16", 16, false, CR_GBRG },
	{ CR_FMT_SGRBG16, "SGRBG16", 16, false, CR_GRBG },
	{ CR_FMT_SRGGB16, "SRGGB16", 16, false, CR_RGGB },
};

const struct cr_raw_format *cr_fourcc_raw(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(raw_formats) / sizeof(raw_formats[0]); i++)
		if (raw_formats[i].fourcc == fourcc)
			return &raw_formats[i];
	return NULL;
}

bool cr_fourcc_is_mono(uint32_t fourcc)
{
	const struct cr_raw_format *r = cr_fourcc_raw(fourcc);

	return fourcc == CR_FMT_GREY || (r && r->order == CR_MONO);
}

static const struct {
	const char *name;
	uint32_t fourcc;
} aliases[] = {
	{ "RGB24", CR_FMT_RGB24 }, { "BGR24", CR_FMT_BGR24 }, { "I420", CR_FMT_YU12 },
	{ "YUV420", CR_FMT_YU12 }, { "MJPEG", CR_FMT_MJPEG }, { "GRAY", CR_FMT_GREY },
	{ "GRAY8", CR_FMT_GREY },  { "Y8", CR_FMT_GREY },     { "YUY2", CR_FMT_YUYV },
	{ "MONO8", CR_FMT_GREY },  { "MONO10", CR_FMT_Y10 },  { "MONO12", CR_FMT_Y12 },
	{ "MONO16", CR_FMT_Y16 },  { "GRAY16", CR_FMT_Y16 },  { "BAYERBG8", CR_FMT_SBGGR8 },
	{ "BAYERGB8", CR_FMT_SGBRG8 }, { "BAYERGR8", CR_FMT_SGRBG8 }, { "BAYERRG8", CR_FMT_SRGGB8 },
	{ "BA81", CR_FMT_SBGGR8 },
};

int cr_fourcc_parse(const char *name, uint32_t *fourcc)
{
	char up[5];

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(name, aliases[i].name) == 0) {
			*fourcc = aliases[i].fourcc;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(raw_formats) / sizeof(raw_formats[0]); i++) {
		char s[5];

		if (strcasecmp(name, raw_formats[i].name) == 0 || strcmp(name, cr_fourcc_str(raw_formats[i].fourcc, s)) == 0) {
			*fourcc = raw_formats[i].fourcc;
			return 0;
		}
	}
	if (strlen(name) != 4 && strlen(name) != 3)
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		up[i] = name[i] ? (char)toupper((unsigned char)name[i]) : ' ';
	*fourcc = CR_FOURCC(up[0], up[1], up[2], up[3]);
	return 0;
}

char *cr_fourcc_str(uint32_t fourcc, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((fourcc >> (8 * i)) & 0xff);

		buf[i] = isprint((unsigned char)c) ? c : '?';
	}
	buf[4] = '\0';
	return buf;
}

const char *cr_fourcc_name(uint32_t fourcc)
{
	switch (fourcc) {
	case CR_FMT_GREY: return "GREY";
	case CR_FMT_YUYV: return "YUYV";
	case CR_FMT_NV12: return "NV12";
	case CR_FMT_YU12: return "YU12";
	case CR_FMT_RGB24: return "RGB24";
	case CR_FMT_BGR24: return "BGR24";
	case CR_FMT_MJPEG: return "MJPEG";
	case CR_FMT_JPEG: return "JPEG";
	default: return cr_fourcc_raw(fourcc) ? cr_fourcc_raw(fourcc)->name : "unknown";
	}
}

bool cr_fourcc_is_compressed(uint32_t fourcc)
{
	return fourcc == CR_FMT_MJPEG || fourcc == CR_FMT_JPEG;
}

bool cr_fourcc_is_deep_gray(uint32_t fourcc)
{
	const struct cr_raw_format *r = cr_fourcc_raw(fourcc);

	return r && r->order == CR_MONO && r->depth > 8;
}

bool cr_fourcc_is_supported(uint32_t fourcc)
{
	if (fourcc == CR_FMT_JPEG)
		return true;
	for (int i = 0; cr_fourcc_supported[i]; i++)
		if (cr_fourcc_supported[i] == fourcc)
			return true;
	return false;
}

int cr_fourcc_layout(uint32_t fourcc, int width, int height, int stride, struct cr_plane_layout *l)
{
	const struct cr_raw_format *raw = cr_fourcc_raw(fourcc);
	int bpp;

	if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	if (raw) {
		int row = raw->packed ? (width * 10 + 7) / 8 : width * (raw->depth > 8 ? 2 : 1);

		l->nplanes = 1;
		l->stride[0] = stride < row ? row : stride;
		l->height[0] = height;
		l->size = (size_t)l->stride[0] * (size_t)height;
		return 0;
	}
	switch (fourcc) {
	case CR_FMT_GREY: bpp = 1; break;
	case CR_FMT_YUYV: bpp = 2; break;
	case CR_FMT_RGB24:
	case CR_FMT_BGR24: bpp = 3; break;
	case CR_FMT_NV12:
	case CR_FMT_YU12:
	case CR_FMT_YUV422P: bpp = 1; break;
	default: return CR_EFORMAT;
	}
	if (stride < width * bpp)
		stride = width * bpp;
	l->nplanes = 1;
	l->stride[0] = stride;
	l->height[0] = height;
	l->size = (size_t)stride * (size_t)height;
	if (fourcc == CR_FMT_NV12) {
		l->nplanes = 2;
		l->stride[1] = stride;
		l->height[1] = (height + 1) / 2;
		l->offset[1] = l->size;
		l->size += (size_t)l->stride[1] * (size_t)l->height[1];
	} else if (fourcc == CR_FMT_YU12 || fourcc == CR_FMT_YUV422P) {
		l->nplanes = 3;
		for (int p = 1; p < 3; p++) {
			l->stride[p] = (stride + 1) / 2;
			l->height[p] = fourcc == CR_FMT_YU12 ? (height + 1) / 2 : height;
			l->offset[p] = l->size;
			l->size += (size_t)l->stride[p] * (size_t)l->height[p];
		}
	}
	return 0;
}
