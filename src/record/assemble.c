/* Timelapse assembly (see assemble.h for the model).
 *
 * Design: one pass over the sorted stills. The output size is the first
 * decodable still's, rounded down to even (yuv420p needs it); every still is
 * decoded to its own planar YUV (libturbojpeg, no color conversion) and
 * libswscale turns it into a yuv420p frame of that size, full-range JPEG
 * levels becoming the limited range H.264 players expect (BT.601). Frames go
 * to the encoder with PTS 0, 1, 2, ... in a time base of 1/fps, packets to
 * the MP4 muxer, which with +faststart rewrites the file at the end to put
 * the index first. Nothing here is shared: the caller's thread does it all.
 *
 * Bounds: a still of at most STILL_MAX bytes and 16384 pixels a side; at most
 * CR_ASSEMBLE_MAX_STILLS stills. */
#include "record/assemble.h"

#include "base/image.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <dirent.h>
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#define STILL_MAX (64 * 1024 * 1024)  /* bytes of one still */
#define SIDE_MAX 16384                /* pixels */

/* ---- listing ---------------------------------------------------------------- */

struct entry {
	unsigned number;
	char *name;
};

/* The shot number of "PREFIX_NNNNNN.jpg" (6..9 digits), or 0. */
static unsigned still_number(const char *name)
{
	size_t len = strlen(name), digits;
	const char *us;

	if (name[0] == '.' || len < 12 || strcmp(name + len - 4, ".jpg") != 0)
		return 0;
	us = name + len - 5;
	while (us > name && *us >= '0' && *us <= '9')
		us--;
	digits = (size_t)(name + len - 5 - us);
	if (*us != '_' || digits < 6 || digits > 9)
		return 0;
	return (unsigned)strtoul(us + 1, NULL, 10);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->number != y->number)
		return x->number < y->number ? -1 : 1;
	return strcmp(x->name, y->name);
}

int cr_assemble_list(const char *dir, struct cr_assemble_stills *stills)
{
	struct entry *entries = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	memset(stills, 0, sizeof(*stills));
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned number = still_number(de->d_name);

		if (!number || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK))
			continue;
		if (n == CR_ASSEMBLE_MAX_STILLS) {
			ret = -E2BIG;
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			entries = cr_realloc(entries, cap * sizeof(*entries));
		}
		entries[n++] = (struct entry){ .number = number, .name = cr_strdup(de->d_name) };
	}
	closedir(d);
	if (ret == 0 && n > 0) {
		qsort(entries, n, sizeof(*entries), entry_cmp);
		stills->paths = cr_calloc(n, sizeof(*stills->paths));
		for (size_t i = 0; i < n; i++)
			stills->paths[i] = cr_asprintf("%s/%s", dir, entries[i].name);
		stills->count = (unsigned)n;
		stills->max_number = entries[n - 1].number;
	}
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
	return ret;
}

void cr_assemble_stills_free(struct cr_assemble_stills *stills)
{
	if (!stills)
		return;
	for (unsigned i = 0; i < stills->count; i++)
		free(stills->paths[i]);
	free(stills->paths);
	memset(stills, 0, sizeof(*stills));
}

/* ---- decoding --------------------------------------------------------------- */

struct decoder {
	tjhandle tj;
	uint8_t *file;               /* the still's bytes */
	size_t file_cap;
	uint8_t *yuv;                /* its planes */
	size_t yuv_cap;
	const uint8_t *plane[3];
	int stride[3];
	int width, height;           /* pixels */
	enum AVPixelFormat format;   /* of the planes */
};

static int read_file(struct decoder *dec, const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int ret = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0 || st.st_size <= 0 || st.st_size > STILL_MAX) {
		ret = -EFBIG;
		goto end;
	}
	if ((size_t)st.st_size > dec->file_cap) {
		free(dec->file);
		dec->file_cap = (size_t)st.st_size;
		dec->file = cr_malloc(dec->file_cap);
	}
	if (fread(dec->file, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		ret = -EIO;
	*size = (size_t)st.st_size;
end:
	fclose(f);
	return ret;
}

/* Decodes path into dec's planes. Returns 0, or a negative errno (-EBADMSG:
 * not a JPEG libturbojpeg decodes). */
static int decode(struct decoder *dec, const char *path)
{
	static const enum AVPixelFormat formats[] = {
		[TJSAMP_444] = AV_PIX_FMT_YUVJ444P, [TJSAMP_422] = AV_PIX_FMT_YUVJ422P,
		[TJSAMP_420] = AV_PIX_FMT_YUVJ420P, [TJSAMP_GRAY] = AV_PIX_FMT_GRAY8,
		[TJSAMP_440] = AV_PIX_FMT_YUVJ440P, [TJSAMP_411] = AV_PIX_FMT_YUVJ411P,
	};
	int width, height, subsamp, colorspace, nplanes, ret;
	unsigned char *planes[3] = { NULL };
	size_t size = 0, need = 0;

	ret = read_file(dec, path, &size);
	if (ret < 0)
		return ret;
	if (tjDecompressHeader3(dec->tj, dec->file, (unsigned long)size, &width, &height, &subsamp, &colorspace) < 0 ||
	    subsamp < 0 || subsamp > TJSAMP_411 || colorspace == TJCS_CMYK || colorspace == TJCS_YCCK ||
	    width < 2 || height < 2 || width > SIDE_MAX || height > SIDE_MAX)
		return -EBADMSG;
	nplanes = subsamp == TJSAMP_GRAY ? 1 : 3;
	for (int p = 0; p < nplanes; p++)
		need += (size_t)tjPlaneSizeYUV(p, width, 0, height, subsamp);
	if (need > dec->yuv_cap) {
		free(dec->yuv);
		dec->yuv_cap = need;
		dec->yuv = cr_malloc(need);
	}
	need = 0;
	for (int p = 0; p < nplanes; p++) {
		planes[p] = dec->yuv + need;
		dec->stride[p] = tjPlaneWidth(p, width, subsamp);
		need += (size_t)tjPlaneSizeYUV(p, width, 0, height, subsamp);
	}
	if (tjDecompressToYUVPlanes(dec->tj, dec->file, (unsigned long)size, planes, width, dec->stride, height, 0) < 0 &&
	    tjGetErrorCode(dec->tj) == TJERR_FATAL)
		return -EBADMSG;
	for (int p = 0; p < 3; p++)
		dec->plane[p] = planes[p];
	dec->width = width;
	dec->height = height;
	dec->format = formats[subsamp];
	return 0;
}

/* ---- encoding --------------------------------------------------------------- */

struct encoder {
	AVFormatContext *oc;
	AVCodecContext *cc;
	AVStream *st;
	AVFrame *frame;
	AVPacket *pkt;
	struct cr_scaler *scaler;    /* stills -> yuv420p */
	int64_t pts;
	bool header_written;
};

static void why_set(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static int encoder_open(struct encoder *e, const char *part, int width, int height,
			const struct cr_assemble_params *params, char *why, size_t len)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	AVDictionary *opts = NULL;
	AVRational rate = av_d2q(params->fps, 100000);
	int ret;

	if (!codec)
		codec = avcodec_find_encoder(AV_CODEC_ID_H264);
	if (!codec) {
		why_set(why, len, "no H.264 encoder in this libavcodec");
		return AVERROR_ENCODER_NOT_FOUND;
	}
	ret = avformat_alloc_output_context2(&e->oc, NULL, "mp4", part);
	if (ret < 0) {
		why_set(why, len, "cannot set up the MP4 muxer: %s", av_err2str(ret));
		return ret;
	}
	e->cc = avcodec_alloc_context3(codec);
	e->frame = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (!e->cc || !e->frame || !e->pkt)
		abort();
	e->cc->width = width;
	e->cc->height = height;
	e->cc->pix_fmt = AV_PIX_FMT_YUV420P;
	e->cc->framerate = rate;
	e->cc->time_base = av_inv_q(rate);
	e->cc->sample_aspect_ratio = (AVRational){ 1, 1 };
	e->cc->color_range = AVCOL_RANGE_MPEG;
	e->cc->colorspace = AVCOL_SPC_SMPTE170M;
	e->cc->color_primaries = AVCOL_PRI_SMPTE170M;
	e->cc->color_trc = AVCOL_TRC_SMPTE170M;
	if (e->oc->oformat->flags & AVFMT_GLOBALHEADER)
		e->cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if (strcmp(codec->name, "libx264") == 0) {
		av_opt_set(e->cc->priv_data, "preset", params->preset ? params->preset : "medium", 0);
		if (params->crf >= 0)
			av_opt_set_int(e->cc->priv_data, "crf", params->crf, 0);
	}
	ret = avcodec_open2(e->cc, codec, NULL);
	if (ret < 0) {
		why_set(why, len, "cannot open the %s encoder at %dx%d: %s", codec->name, width, height, av_err2str(ret));
		return ret;
	}
	e->st = avformat_new_stream(e->oc, NULL);
	if (!e->st)
		abort();
	ret = avcodec_parameters_from_context(e->st->codecpar, e->cc);
	if (ret < 0)
		return ret;
	e->st->time_base = e->cc->time_base;
	e->st->avg_frame_rate = rate;
	ret = avio_open(&e->oc->pb, part, AVIO_FLAG_WRITE);
	if (ret < 0) {
		why_set(why, len, "cannot create %s: %s", part, av_err2str(ret));
		return ret;
	}
	av_dict_set(&opts, "movflags", "+faststart", 0);
	ret = avformat_write_header(e->oc, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		why_set(why, len, "cannot write the MP4 header of %s: %s", part, av_err2str(ret));
		return ret;
	}
	e->header_written = true;
	e->frame->format = AV_PIX_FMT_YUV420P;
	e->frame->width = width;
	e->frame->height = height;
	e->frame->color_range = AVCOL_RANGE_MPEG;
	ret = av_frame_get_buffer(e->frame, 0);
	if (ret < 0)
		abort();
	return 0;
}

/* Sends frame (NULL: flush) and writes every packet the encoder has ready. */
static int encoder_send(struct encoder *e, AVFrame *frame, char *why, size_t len)
{
	int ret = avcodec_send_frame(e->cc, frame);

	while (ret >= 0) {
		ret = avcodec_receive_packet(e->cc, e->pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			break;
		av_packet_rescale_ts(e->pkt, e->cc->time_base, e->st->time_base);
		e->pkt->stream_index = e->st->index;
		ret = av_interleaved_write_frame(e->oc, e->pkt);
		if (ret < 0) {
			why_set(why, len, "cannot write to the video: %s", av_err2str(ret));
			return ret;
		}
	}
	why_set(why, len, "encoding failed: %s", av_err2str(ret));
	return ret;
}

/* Converts dec's still into the next frame and encodes it. */
static int encoder_add(struct encoder *e, const struct decoder *dec, char *why, size_t len)
{
	/* JPEG levels are full range, the video's limited (BT.601 both). */
	struct cr_picture in = { .format = dec->format, .width = dec->width, .height = dec->height, .full_range = true };
	struct cr_picture out = { .format = AV_PIX_FMT_YUV420P, .width = e->cc->width, .height = e->cc->height };
	int ret;

	for (int i = 0; i < 3; i++) {
		in.plane[i] = (uint8_t *)dec->plane[i];
		in.stride[i] = dec->stride[i];
	}
	ret = av_frame_make_writable(e->frame);
	if (ret < 0)
		abort();
	memcpy(out.plane, e->frame->data, sizeof(out.plane));
	memcpy(out.stride, e->frame->linesize, sizeof(out.stride));
	if (!e->scaler)
		e->scaler = cr_scaler_new(SWS_BICUBIC);
	if (cr_scaler_run(e->scaler, &in, &out) < 0) {
		why_set(why, len, "cannot convert %dx%d %s to yuv420p", dec->width, dec->height,
			av_get_pix_fmt_name(dec->format));
		return AVERROR(EINVAL);
	}
	e->frame->pts = e->pts++;
	return encoder_send(e, e->frame, why, len);
}

static void encoder_close(struct encoder *e)
{
	if (e->oc) {
		if (e->oc->pb)
			avio_closep(&e->oc->pb);
		avformat_free_context(e->oc);
	}
	avcodec_free_context(&e->cc);
	av_frame_free(&e->frame);
	av_packet_free(&e->pkt);
	cr_scaler_free(&e->scaler);
	memset(e, 0, sizeof(*e));
}

/* ---- the whole ---------------------------------------------------------------- */

int cr_assemble(const char *dir, const char *output, const struct cr_assemble_params *params,
		struct cr_assemble_result *result, char *why, size_t len)
{
	struct cr_assemble_stills stills = { 0 };
	struct cr_assemble_result res = { 0 };
	struct decoder dec = { 0 };
	struct encoder enc = { 0 };
	int64_t t0 = cr_time_mono_ns();
	char part[CR_ASSEMBLE_PATH_MAX + 8];
	bool part_made = false;
	int ret;

	why[0] = '\0';
	if (!(params->fps > 0)) {
		why_set(why, len, "fps: %g is not above 0", params->fps);
		return -EINVAL;
	}
	if (snprintf(part, sizeof(part), "%s.part", output) >= (int)sizeof(part)) {
		why_set(why, len, "%s: path too long", output);
		return -ENAMETOOLONG;
	}
	ret = cr_assemble_list(dir, &stills);
	if (ret < 0) {
		why_set(why, len, "%s: cannot list the stills: %s", dir, ret == -E2BIG ? "too many" : strerror(-ret));
		goto end;
	}
	res.stills = stills.count;
	dec.tj = tjInitDecompress();
	if (!dec.tj)
		abort();
	for (unsigned i = 0; i < stills.count; i++) {
		if (params->cancel && atomic_load(params->cancel)) {
			why_set(why, len, "cancelled after %u of %u stills", i, stills.count);
			ret = -ECANCELED;
			goto end;
		}
		ret = decode(&dec, stills.paths[i]);
		if (ret < 0) {
			cr_debug("assemble: %s: skipped: %s", stills.paths[i],
				 ret == -EBADMSG ? "not a JPEG that decodes" : strerror(-ret));
			res.skipped++;
			continue;
		}
		if (!enc.oc) {
			res.width = dec.width & ~1;
			res.height = dec.height & ~1;
			part_made = true;
			ret = encoder_open(&enc, part, res.width, res.height, params, why, len);
			if (ret < 0)
				goto end;
		}
		ret = encoder_add(&enc, &dec, why, len);
		if (ret < 0)
			goto end;
		res.frames++;
	}
	if (!enc.oc) {
		why_set(why, len, "%s: no still to assemble (%u found, none decodes)", dir, stills.count);
		ret = -ENOENT;
		goto end;
	}
	ret = encoder_send(&enc, NULL, why, len);
	if (ret < 0)
		goto end;
	ret = av_write_trailer(enc.oc);
	if (ret < 0) {
		why_set(why, len, "cannot finish the video: %s", av_err2str(ret));
		goto end;
	}
	ret = avio_closep(&enc.oc->pb);
	if (ret < 0) {
		why_set(why, len, "cannot write %s: %s", part, av_err2str(ret));
		goto end;
	}
	if (rename(part, output) < 0) {
		ret = -errno;
		why_set(why, len, "cannot rename %s to %s: %s", part, output, strerror(errno));
		goto end;
	}
	part_made = false;
end:
	encoder_close(&enc);
	if (part_made)
		unlink(part);
	if (dec.tj)
		tjDestroy(dec.tj);
	free(dec.file);
	free(dec.yuv);
	cr_assemble_stills_free(&stills);
	res.seconds = (double)(cr_time_mono_ns() - t0) / 1e9;
	if (result)
		*result = res;
	return ret < 0 ? ret : 0;
}
