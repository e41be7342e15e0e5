/* The video encoder stage (see video.h for the model).
 *
 * Design: one thread per camera pops frames from a drop-newest queue (a drop
 * is counted by the fan-out and shows as a gap in the frame indexes, which
 * the recorder writes into the sidecar) and encodes each one:
 *   - copy: the camera's JPEG becomes a packet as it is (copied once, since
 *     the pre-trigger ring keeps packets far longer than the frame pool could);
 *   - raw frames in the encoder's input format are wrapped, not copied: the
 *     AVFrame's buffer holds a reference to the pooled frame;
 *   - gray: the luma plane is used as it is and the chroma planes point at
 *     one constant buffer of 128s (or the encoder takes GRAY8 directly);
 *   - anything else goes through libswscale into a reused scratch picture
 *     (these cases: video_picture.c);
 *     an MJPEG camera is decoded with libavcodec first;
 *   - raw sensor frames (Y10, Y10P, Bayer): a lossless encoder (ffv1,
 *     rawvideo) keeps every bit, the samples as gray of their own depth
 *     (gray, gray10le, gray12le, gray16le; a Bayer mosaic as it is, to be
 *     demosaicked by whoever reads the file): unpacked formats are wrapped
 *     as they are, MIPI-packed ones unpacked; a lossy encoder gets them
 *     developed to 8 bits first (gray, or demosaicked RGB, then 4:2:0).
 * The encoder opens on the first frame (its size and format are known then).
 * Frame metadata waits in a small FIFO keyed by PTS until the encoder hands
 * the frame's packet back (encoders hold a few frames for lookahead).
 *
 * Locking: enc->lock guards demand, the stream parameters and the stats. The
 * codec state belongs to the encoder thread alone. Sinks run on the encoder
 * thread without the lock held. */
#include "encode/video_internal.h"

#include "base/error.h"
#include "base/heartbeat.h"
#include "base/image.h"
#include "base/lazy.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ring.h"
#include "base/time.h"

#include <errno.h>
#include <libavcodec/bsf.h>
#include <libavutil/pixdesc.h>
#include <libavutil/opt.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* ---- choosing an encoder ------------------------------------------------ */

static const AVCodec *video_encoder_by_name(const char *name)
{
	const AVCodec *c = avcodec_find_encoder_by_name(name);

	return c && c->type == AVMEDIA_TYPE_VIDEO ? c : NULL;
}

/* The hardware H.264 encoder "auto" tries first: the Raspberry Pi's (and
 * other SoCs') V4L2 memory-to-memory encoder. */
#define AUTO_HARDWARE "h264_v4l2m2m"

/* The encoder a codec name in the configuration means first. */
static const AVCodec *first_choice(const char *name)
{
	if (strcmp(name, "auto") == 0 && video_encoder_by_name(AUTO_HARDWARE))
		return video_encoder_by_name(AUTO_HARDWARE);
	if (strcmp(name, "h264") == 0 || strcmp(name, "auto") == 0)
		return video_encoder_by_name("libx264") ? video_encoder_by_name("libx264")
							: avcodec_find_encoder(AV_CODEC_ID_H264);
	if (strcmp(name, "h265") == 0 || strcmp(name, "hevc") == 0)
		return video_encoder_by_name("libx265") ? video_encoder_by_name("libx265")
							: avcodec_find_encoder(AV_CODEC_ID_HEVC);
	return video_encoder_by_name(name);
}

/* The software encoder to try when codec fails to open, or NULL. */
static const AVCodec *software_fallback(const AVCodec *codec)
{
	const AVCodec *sw = NULL;

	if (codec->id == AV_CODEC_ID_H264)
		sw = video_encoder_by_name("libx264");
	else if (codec->id == AV_CODEC_ID_HEVC)
		sw = video_encoder_by_name("libx265");
	if (!sw)
		sw = avcodec_find_encoder(codec->id);
	return sw && sw != codec ? sw : NULL;
}

static bool supports(const AVCodec *codec, enum AVPixelFormat fmt)
{
	if (!codec->pix_fmts)
		return fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_GRAY8;
	for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
		if (*p == fmt)
			return true;
	return false;
}

/* Keeps every bit of what it is given. */
static bool lossless(const AVCodec *codec)
{
	return codec->id == AV_CODEC_ID_FFV1 || codec->id == AV_CODEC_ID_RAWVIDEO;
}

/* The input format for codec: the camera's own when the encoder takes it (no
 * conversion), else 4:2:0, else 4:2:2; GRAY8 for gray when it can. A raw
 * sensor frame: its samples as they are (gray of its depth) for a lossless
 * encoder that takes them, else as the 8-bit image it is developed into; a
 * mono one always luma only where the encoder can. */
static enum AVPixelFormat pick_format(const AVCodec *codec, uint32_t fourcc, bool gray)
{
	static const enum AVPixelFormat color[] = { AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_NV12,
						    AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUVJ422P };
	enum AVPixelFormat own = cr_image_av_format(fourcc);

	if (cr_fourcc_raw(fourcc)) {
		enum AVPixelFormat samples = cr_image_raw_gray_format(fourcc);

		if (lossless(codec) && (!codec->pix_fmts || supports(codec, samples)))
			return samples;
		gray = gray || (lossless(codec) && cr_fourcc_is_mono(fourcc));
		fourcc = cr_video_developed_fourcc(fourcc);
		own = cr_image_av_format(fourcc);
	}

	if (gray && supports(codec, AV_PIX_FMT_GRAY8))
		return AV_PIX_FMT_GRAY8;
	/* An encoder that takes any format (rawvideo) takes the camera's. */
	if (!codec->pix_fmts && own != AV_PIX_FMT_NONE && !gray)
		return own;
	if (codec->id == AV_CODEC_ID_MJPEG && supports(codec, AV_PIX_FMT_YUVJ420P))
		return AV_PIX_FMT_YUVJ420P;
	if (!gray && (own == AV_PIX_FMT_YUV420P || own == AV_PIX_FMT_NV12) && supports(codec, own))
		return own;
	for (size_t i = 0; i < CR_ARRAY_SIZE(color); i++)
		if (supports(codec, color[i]))
			return color[i];
	return AV_PIX_FMT_NONE;
}

/* libavcodec's mjpeg quantizer scale (1 best .. 31) for JPEG quality 1..100.
 * libjpeg scales its standard tables by 5000/q % below quality 50 and by
 * 200 - 2q % above (jcparam.c, jpeg_quality_scaling); libavcodec's mjpeg
 * writes its intra matrix times qscale/8, a matrix of about the standard
 * table's size: so qscale = 8 x the libjpeg scale / 100 (80 -> 3, 50 -> 8). */
static int mjpeg_qscale(int quality)
{
	int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
	int q = (8 * scale + 50) / 100;

	return q < 1 ? 1 : q > 31 ? 31 : q;
}

static bool has_option(const AVCodec *codec, const char *name)
{
	return codec->priv_class &&
	       av_opt_find((void *)&codec->priv_class, name, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ) != NULL;
}

static double camera_fps(struct cr_video_encoder *enc)
{
	double fps = cr_camera_format(enc->camera)->fps;

	return fps > 0 ? fps : DEFAULT_FPS;
}

/* libx264's lookahead by preset (x264's own preset table: rc_lookahead);
 * libx265's is of the same order. An unknown preset counts as medium. */
static int preset_lookahead(const char *preset)
{
	static const struct {
		const char *name;
		int frames;
	} table[] = { { "ultrafast", 0 }, { "superfast", 0 }, { "veryfast", 10 }, { "faster", 20 },
		      { "fast", 30 },     { "medium", 40 },   { "slow", 50 },     { "slower", 60 },
		      { "veryslow", 60 }, { "placebo", 60 } };

	for (size_t i = 0; preset && i < CR_ARRAY_SIZE(table); i++)
		if (strcmp(preset, table[i].name) == 0)
			return table[i].frames;
	return 40;
}

/* What libx264 (or libx265) would hold in frames with its lookahead, in
 * bytes, for width x height: each frame it holds costs about 6 bytes a
 * pixel (the picture with its padding, its half-pel planes and the
 * quarter-size planes the lookahead analyses: 11.5 MiB a 1080p frame,
 * measured with the ffmpeg CLI), and it holds about rc_lookahead + 2 x its
 * frame threads (1.5 a core, x264's default) + 2 frames. Without the
 * lookahead (tune=zerolatency: sliced threads, no lookahead) it holds
 * about 3. */
static size_t lookahead_bytes(const char *preset, int width, int height)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t threads = cores > 0 ? (size_t)cores * 3 / 2 : 1;

	return ((size_t)preset_lookahead(preset) + 2 * threads + 2) * 6 * (size_t)width * (size_t)height;
}

/* Opens codec for width x height frames of fourcc. Returns 0 or a libav error. */
static int open_codec(struct cr_video_encoder *enc, const AVCodec *codec, int width, int height, uint32_t fourcc)
{
	const struct cr_recording_config *cfg = enc->config;
	double fps = camera_fps(enc);
	enum AVPixelFormat fmt = pick_format(codec, fourcc, cfg->gray);
	const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
	AVDictionary *opts = NULL;
	AVCodecContext *ctx;
	char num[32];
	int ret;

	if (fmt == AV_PIX_FMT_NONE)
		return CR_EFORMAT;
	ctx = avcodec_alloc_context3(codec);
	if (!ctx)
		return AVERROR(ENOMEM);
	/* Subsampled chroma wants even sizes. */
	ctx->width = desc->log2_chroma_w ? width & ~1 : width;
	ctx->height = desc->log2_chroma_h ? height & ~1 : height;
	ctx->pix_fmt = fmt;
	ctx->time_base = (AVRational){ 1, 1000000 };
	ctx->framerate = av_d2q(fps, 100000);
	ctx->gop_size = cfg->gop > 0 ? (int)lround(cfg->gop * fps) : 1;
	if (ctx->gop_size < 1)
		ctx->gop_size = 1;
	ctx->max_b_frames = 0;
	ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ctx->thread_count = 0;
	if (fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || codec->id == AV_CODEC_ID_MJPEG)
		ctx->color_range = AVCOL_RANGE_JPEG;
	if (cfg->bitrate > 0) {
		ctx->bit_rate = (int64_t)cfg->bitrate * 1000;
	} else if (has_option(codec, "crf") || has_option(codec, "qp")) {
		snprintf(num, sizeof(num), "%d", cfg->qp >= 0 ? cfg->qp : cfg->crf);
		if (cfg->qp >= 0 && has_option(codec, "qp"))
			av_dict_set(&opts, "qp", num, 0);
		else if (cfg->crf >= 0 && has_option(codec, "crf"))
			av_dict_set(&opts, "crf", num, 0);
	} else if (codec->id != AV_CODEC_ID_FFV1) {
		int q = cfg->qp >= 0 ? cfg->qp : mjpeg_qscale(cfg->quality > 0 ? cfg->quality : 80);

		ctx->flags |= AV_CODEC_FLAG_QSCALE;
		ctx->global_quality = FF_QP2LAMBDA * q;
		ctx->qmin = 1; /* qscale 1 for the highest qualities */
		ctx->qmax = q > 31 ? q : 31;
	}
	if (cfg->preset && has_option(codec, "preset"))
		av_dict_set(&opts, "preset", cfg->preset, 0);
	enc->lookahead = false;
	if (strcmp(codec->name, "libx264") == 0 || strcmp(codec->name, "libx265") == 0) {
		size_t need = lookahead_bytes(cfg->preset, width, height);

		enc->lookahead = !cfg->zerolatency && need <= (size_t)cfg->lookahead_mb << 20;
		if (!enc->lookahead)
			av_dict_set(&opts, "tune", "zerolatency", 0);
		if (!enc->lookahead && !cfg->zerolatency)
			cr_info("%s: %s without its lookahead (as zerolatency): at %dx%d it would hold about %zu MiB, "
				"more than recording.lookahead_mb (%d)", cr_camera_config(enc->camera)->name, codec->name,
				width, height, need >> 20, cfg->lookahead_mb);
	} else if (cfg->zerolatency && has_option(codec, "tune")) {
		av_dict_set(&opts, "tune", "zerolatency", 0);
	}
	if (has_option(codec, "forced-idr"))
		av_dict_set(&opts, "forced-idr", "1", 0);
	if (codec->id == AV_CODEC_ID_FFV1)
		av_dict_set(&opts, "level", "3", 0);
	ret = avcodec_open2(ctx, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		avcodec_free_context(&ctx);
		return ret;
	}
	enc->ctx = ctx;
	return 0;
}

static void set_error(struct cr_video_encoder *enc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct cr_video_encoder *enc, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&enc->lock);
	va_start(ap, fmt);
	vsnprintf(enc->stats.error, sizeof(enc->stats.error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&enc->lock);
}

/* Publishes the stream parameters once the encoder (or copy) is set up. */
static void publish_parameters(struct cr_video_encoder *enc, const struct cr_frame *f, const char *name)
{
	AVCodecParameters *par = avcodec_parameters_alloc();
	const AVCodecDescriptor *d;

	if (!par)
		abort();
	if (enc->ctx) {
		avcodec_parameters_from_context(par, enc->ctx);
	} else {
		par->codec_type = AVMEDIA_TYPE_VIDEO;
		par->codec_id = AV_CODEC_ID_MJPEG;
		par->width = f->width;
		par->height = f->height;
		par->format = AV_PIX_FMT_YUVJ422P;
		par->color_range = AVCOL_RANGE_JPEG;
	}
	d = avcodec_descriptor_get(par->codec_id);
	pthread_mutex_lock(&enc->lock);
	avcodec_parameters_free(&enc->par);
	enc->par = par;
	enc->intra_only = enc->copy || (d && (d->props & AV_CODEC_PROP_INTRA_ONLY)) ||
			  (enc->ctx && enc->ctx->gop_size <= 1);
	snprintf(enc->stats.encoder, sizeof(enc->stats.encoder), "%s", name);
	enc->stats.lookahead = enc->ctx && enc->lookahead;
	pthread_mutex_unlock(&enc->lock);
}

/* Opens an encoder for the first frame f, falling back as video.h says. */
static void open_for(struct cr_video_encoder *enc, const struct cr_frame *f)
{
	const char *name = enc->config->codec;
	const AVCodec *tried[4] = { 0 };
	unsigned ntried = 0;
	int ret;
	/* auto: a hardware encoder that does not open is no surprise. */
	bool automatic = strcmp(name, "auto") == 0;
	char why[256];

	enc->opened = true;
	if (cr_lazy_load(&cr_lazy_libav, why, sizeof(why)) != 0) {
		enc->failed = true;
		cr_err("%s: %s; nothing will be recorded", cr_camera_config(enc->camera)->name, why);
		set_error(enc, "%s", why);
		return;
	}
	if (!enc->out && !(enc->out = av_packet_alloc())) /* kept across reopens, freed with the encoder */
		abort();
	enc->in_width = f->width;
	enc->in_height = f->height;
	enc->in_compressed = cr_fourcc_is_compressed(f->fourcc);
	if (strcmp(name, "copy") == 0) {
		if (f->fourcc == CR_FMT_MJPEG || f->fourcc == CR_FMT_JPEG) {
			enc->copy = true;
			publish_parameters(enc, f, "copy");
			cr_info("%s: recording the camera's MJPEG as it is", cr_camera_config(enc->camera)->name);
			return;
		}
		cr_warn("%s: recording.codec copy needs an MJPEG camera (this one delivers %s); encoding mjpeg",
			cr_camera_config(enc->camera)->name, cr_fourcc_name(f->fourcc));
		set_error(enc, "copy needs an MJPEG camera; encoding mjpeg");
		name = "mjpeg";
	}
	tried[ntried] = first_choice(name);
	while (tried[ntried] && ntried < CR_ARRAY_SIZE(tried)) {
		const AVCodec *c = tried[ntried++];

		ret = open_codec(enc, c, f->width, f->height, f->fourcc);
		if (ret == 0) {
			if (ntried > 1 && !(automatic && ntried == 2))
				set_error(enc, "%s did not open; using %s", tried[0]->name, c->name);
			cr_info("%s: recording encoder %s, %dx%d %s, GOP %d frames", cr_camera_config(enc->camera)->name,
				c->name, enc->ctx->width, enc->ctx->height, av_get_pix_fmt_name(enc->ctx->pix_fmt),
				enc->ctx->gop_size);
			publish_parameters(enc, f, c->name);
			return;
		}
		cr_log(automatic && ntried == 1 ? CR_LOG_INFO : CR_LOG_WARN, "%s: encoder %s does not open for %dx%d %s: %s",
		       cr_camera_config(enc->camera)->name, c->name, f->width, f->height, cr_fourcc_name(f->fourcc),
		       cr_strerror(ret));
		if (ntried < CR_ARRAY_SIZE(tried)) {
			const AVCodec *next = software_fallback(c);

			if (!next || next == tried[0])
				next = c->id == AV_CODEC_ID_MJPEG ? NULL : avcodec_find_encoder(AV_CODEC_ID_MJPEG);
			for (unsigned i = 0; next && i < ntried; i++)
				if (tried[i] == next)
					next = c->id == AV_CODEC_ID_MJPEG ? NULL : avcodec_find_encoder(AV_CODEC_ID_MJPEG);
			tried[ntried] = next;
			if (next)
				cr_log(automatic && ntried == 1 ? CR_LOG_INFO : CR_LOG_WARN, "%s: falling back to %s",
				       cr_camera_config(enc->camera)->name, next->name);
		}
	}
	enc->failed = true;
	cr_err("%s: no video encoder opens for recording.codec %s; nothing will be recorded",
	       cr_camera_config(enc->camera)->name, enc->config->codec);
	set_error(enc, "no encoder opens for %s", enc->config->codec);
}

/* ---- packets ------------------------------------------------------------- */

static void deliver(struct cr_video_encoder *enc, struct cr_packet *pkt)
{
	int64_t now = cr_time_mono_ns();

	pkt->params = enc->params;
	for (unsigned i = 0; i < enc->nsinks; i++)
		enc->sinks[i].fn(enc->sinks[i].ctx, pkt);
	pthread_mutex_lock(&enc->lock);
	enc->stats.packets++;
	if (pkt->mono_ns > enc->stats.last_out_mono_ns)
		enc->stats.last_out_mono_ns = pkt->mono_ns;
	enc->stats.in_codec = cr_ring_length(&enc->meta);
	enc->rate_bytes += cr_packet_size(pkt);
	if (enc->rate_start_ns == 0) {
		enc->rate_start_ns = now;
	} else if (now - enc->rate_start_ns >= CR_NS_PER_SEC) {
		enc->stats.bitrate_kbps = (double)enc->rate_bytes * 8 / 1000 * CR_NS_PER_SEC / (double)(now - enc->rate_start_ns);
		enc->rate_start_ns = now;
		enc->rate_bytes = 0;
	}
	pthread_mutex_unlock(&enc->lock);
}

/* Takes the metadata of the frame with this PTS out of the FIFO. */
static bool meta_take(struct cr_video_encoder *enc, int64_t pts, struct meta *out)
{
	for (unsigned i = 0; i < cr_ring_length(&enc->meta); i++) {
		struct meta *m = cr_ring_at(&enc->meta, i);

		if (m->pts != pts)
			continue;
		*out = *m;
		/* Entries before it will never come out (an encoder dropped them). */
		cr_ring_drop(&enc->meta, i + 1);
		return true;
	}
	return false;
}

static void receive_packets(struct cr_video_encoder *enc)
{
	for (;;) {
		struct cr_packet *pkt;
		AVPacket *av;
		struct meta m;
		bool key;
		int ret = avcodec_receive_packet(enc->ctx, enc->out);

		if (ret < 0)
			return;
		if (!meta_take(enc, enc->out->pts, &m)) {
			cr_debug("%s: a packet with an unknown PTS %" PRId64, cr_camera_config(enc->camera)->name,
				 enc->out->pts);
			av_packet_unref(enc->out);
			continue;
		}
		av = av_packet_alloc();
		if (!av)
			abort();
		av_packet_move_ref(av, enc->out);
		key = (av->flags & AV_PKT_FLAG_KEY) != 0;
		pkt = cr_packet_new_take(&av, key, m.index, m.sequence, m.mono_ns, m.utc_us);
		pkt->device_ns = m.device_ns;
		deliver(enc, pkt);
		cr_packet_unref(&pkt);
	}
}

/* ---- the thread ----------------------------------------------------------- */

static void count_error(struct cr_video_encoder *enc)
{
	pthread_mutex_lock(&enc->lock);
	enc->stats.errors++;
	pthread_mutex_unlock(&enc->lock);
}

static void copy_frame(struct cr_video_encoder *enc, const struct cr_frame *f, int64_t pts)
{
	AVPacket *av = av_packet_alloc();
	struct cr_packet *pkt;

	if (!av || av_new_packet(av, (int)f->size) < 0)
		abort();
	memcpy(av->data, f->data, f->size);
	av->pts = av->dts = pts;
	av->flags |= AV_PKT_FLAG_KEY;
	pkt = cr_packet_new_take(&av, true, f->index, f->sequence, f->mono_ns, f->utc_us);
	pkt->device_ns = f->device_ns;
	deliver(enc, pkt);
	cr_packet_unref(&pkt);
}

/* The camera came back with frames of another size or kind: the encoder
 * hands out what it holds, closes, and opens again for the new frames, and
 * its packets carry new parameters (the recorder starts a new file). */
/* Drains the codec (the frames it holds come out as packets now) and
 * closes it; the next frame opens it again, and its packets carry new
 * parameters. */
static void close_codec(struct cr_video_encoder *enc)
{
	if (enc->ctx && avcodec_send_frame(enc->ctx, NULL) >= 0)
		receive_packets(enc);
	avcodec_free_context(&enc->ctx);
	avcodec_free_context(&enc->dec);
	av_frame_free(&enc->decoded);
	av_frame_free(&enc->scratch);
	av_frame_free(&enc->developed);
	av_buffer_unref(&enc->gray_chroma);
	cr_ring_drop(&enc->meta, cr_ring_length(&enc->meta));
	pthread_mutex_lock(&enc->lock);
	enc->stats.in_codec = 0;
	pthread_mutex_unlock(&enc->lock);
	enc->opened = enc->copy = enc->failed = false;
	enc->params++;
	atomic_store(&enc->want_keyframe, true);
}

/* Whether f differs in size or kind from the frames the codec was (or is)
 * open for. */
static bool changed(const struct cr_video_encoder *enc, const struct cr_frame *f)
{
	return enc->in_width && (f->width != enc->in_width || f->height != enc->in_height ||
				 cr_fourcc_is_compressed(f->fourcc) != enc->in_compressed);
}

static void warn_changed(const struct cr_video_encoder *enc, const struct cr_frame *f)
{
	cr_warn("%s: the camera's frames changed from %dx%d to %dx%d %s: recording at the new size",
		cr_camera_config(enc->camera)->name, enc->in_width, enc->in_height, f->width, f->height,
		cr_fourcc_name(f->fourcc));
}

/* No frame came for a while. If the camera is gone (lost, ended, failed),
 * the frames the codec still holds (x264's lookahead) would otherwise come
 * out only after it returns, behind the recorder's end of the file they
 * belong to: they come out now. */
static void idle(struct cr_video_encoder *enc)
{
	struct cr_camera_stats cs;

	if (!enc->ctx || cr_ring_length(&enc->meta) == 0)
		return;
	cr_camera_stats(enc->camera, &cs);
	if (cs.state == CR_CAMERA_RUNNING)
		return;
	cr_debug("%s: the camera is %s: draining the encoder's %u frames", cr_camera_config(enc->camera)->name,
		 cr_camera_state_name(cs.state), cr_ring_length(&enc->meta));
	close_codec(enc);
}

static void encode_frame(struct cr_video_encoder *enc, struct cr_frame *f)
{
	int64_t t0 = cr_time_mono_ns(), pts = f->mono_ns / 1000;
	struct meta m;
	int ret;

	pthread_mutex_lock(&enc->lock);
	enc->stats.frames++;
	pthread_mutex_unlock(&enc->lock);
	if (changed(enc, f)) {
		/* Closed already when the camera went away (idle()). */
		warn_changed(enc, f);
		close_codec(enc);
	}
	if (!enc->opened)
		open_for(enc, f);
	if (enc->failed)
		return count_error(enc);
	/* PTS strictly increases, whatever the source's clock does. */
	if (pts <= enc->last_pts)
		pts = enc->last_pts + 1;
	enc->last_pts = pts;
	if (enc->copy) {
		if (!cr_fourcc_is_compressed(f->fourcc))
			return count_error(enc);
		atomic_store(&enc->want_keyframe, false);
		return copy_frame(enc, f, pts);
	}
	ret = cr_video_make_picture(enc, f);
	if (ret < 0) {
		cr_debug("%s: frame %" PRIu64 " does not convert: %s", cr_camera_config(enc->camera)->name, f->index,
			 cr_strerror(ret));
		return count_error(enc);
	}
	enc->pic->pts = pts;
	/* A fixed quantizer (AV_CODEC_FLAG_QSCALE) is taken from each picture,
	 * not from the context: without this mjpeg rate-controls to qmin. */
	enc->pic->quality = enc->ctx->global_quality;
	enc->pic->pict_type = atomic_exchange(&enc->want_keyframe, false) ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	m = (struct meta){ .pts = pts, .index = f->index, .sequence = f->sequence, .mono_ns = f->mono_ns,
			   .utc_us = f->utc_us, .device_ns = f->device_ns };
	cr_ring_push(&enc->meta, &m, NULL);
	ret = avcodec_send_frame(enc->ctx, enc->pic);
	av_frame_unref(enc->pic);
	if (ret < 0) {
		cr_ring_pop_back(&enc->meta, NULL);
		cr_debug("%s: frame %" PRIu64 " does not encode: %s", cr_camera_config(enc->camera)->name, f->index,
			 cr_strerror(ret));
		return count_error(enc);
	}
	receive_packets(enc);
	pthread_mutex_lock(&enc->lock);
	enc->stats.encode_ms = 0.95 * enc->stats.encode_ms + 0.05 * (double)(cr_time_mono_ns() - t0) / 1e6;
	enc->stats.in_codec = cr_ring_length(&enc->meta);
	pthread_mutex_unlock(&enc->lock);
}

static void *encoder_thread(void *arg)
{
	struct cr_video_encoder *enc = arg;
	struct cr_heartbeat *hb;
	char name[16];

	snprintf(name, sizeof(name), "venc:%s", cr_camera_config(enc->camera)->name);
	pthread_setname_np(pthread_self(), name);
	hb = cr_heartbeat_register(name);
	for (;;) {
		struct cr_frame *f;
		int ret;

		cr_heartbeat_idle(hb);
		ret = cr_subscriber_pop(enc->sub, &f, IDLE_NS);
		if (ret == -EPIPE)
			break;
		if (ret == -ETIMEDOUT)
			idle(enc);
		if (ret < 0)
			continue;
		cr_heartbeat_busy(hb, ENCODE_BOUND_NS);
		if (enc->test_delay_ns) {
			struct timespec ts = cr_time_ts(enc->test_delay_ns);

			nanosleep(&ts, NULL); /* a test hook: a slow encoder */
		}
		encode_frame(enc, f);
		cr_frame_unref(&f);
	}
	/* Drain: the frames the encoder still holds come out now. */
	cr_heartbeat_busy(hb, ENCODE_BOUND_NS);
	if (enc->ctx && avcodec_send_frame(enc->ctx, NULL) >= 0)
		receive_packets(enc);
	cr_heartbeat_unregister(&hb);
	return NULL;
}

/* ---- public --------------------------------------------------------------- */

int cr_video_encoder_probe(const char *codec, char *encoder, size_t len, char *why, size_t why_len)
{
	const AVCodec *c = first_choice(codec);
	AVDictionary *opts = NULL;
	AVCodecContext *ctx;
	enum AVPixelFormat fmt;
	int ret;

	snprintf(encoder, len, "%s", c ? c->name : codec);
	if (!c) {
		snprintf(why, why_len, "this libavcodec has no encoder \"%s\"", codec);
		return -ENOENT;
	}
	fmt = pick_format(c, CR_FMT_YU12, false);
	if (fmt == AV_PIX_FMT_NONE && c->pix_fmts)
		fmt = c->pix_fmts[0]; /* a hardware encoder's own surfaces */
	ctx = avcodec_alloc_context3(c);
	if (!ctx)
		abort();
	ctx->width = 640;
	ctx->height = 480;
	ctx->pix_fmt = fmt;
	ctx->time_base = (AVRational){ 1, 1000000 };
	ctx->framerate = (AVRational){ 25, 1 };
	ctx->gop_size = 25;
	ctx->max_b_frames = 0;
	if (has_option(c, "x265-params"))
		av_dict_set(&opts, "x265-params", "log-level=none", 0); /* libx265 prints to stderr itself */
	ret = avcodec_open2(ctx, c, &opts);
	av_dict_free(&opts);
	avcodec_free_context(&ctx);
	if (ret < 0)
		snprintf(why, why_len, "%s does not open: %s", c->name, cr_strerror(ret));
	return ret;
}

bool cr_video_codec_known(const char *name)
{
	static const char *const families[] = { "auto", "copy", "mjpeg", "h264", "h265", "hevc", "ffv1" };

	for (size_t i = 0; i < CR_ARRAY_SIZE(families); i++)
		if (strcmp(name, families[i]) == 0)
			return true;
	return first_choice(name) != NULL;
}

int cr_video_encoder_new(struct cr_camera *cam, const struct cr_recording_config *config,
			 struct cr_video_encoder **out)
{
	const char *name = cr_camera_config(cam)->name;
	struct cr_video_encoder *enc;

	if (!config->codec || !cr_video_codec_known(config->codec))
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s: recording.codec: unknown encoder \"%s\" (expected one of: "
				  CR_VIDEO_CODECS_EXPECTED ")", name, config->codec ? config->codec : "");
	enc = CR_NEW(enc);
	enc->camera = cam;
	enc->config = config;
	pthread_mutex_init(&enc->lock, NULL);
	snprintf(enc->stats.codec, sizeof(enc->stats.codec), "%s", config->codec);
	enc->pic = av_frame_alloc();
	if (!enc->pic)
		abort();
	enc->last_pts = INT64_MIN;
	cr_ring_init(&enc->meta, META_MAX, sizeof(struct meta), CR_RING_DROP_OLDEST);
	enc->sub = cr_fanout_subscribe(cr_camera_fanout(cam), SUBSCRIBER_NAME,
				       config->queue_depth > 0 ? (unsigned)config->queue_depth : 32, CR_QUEUE_DROP_NEWEST);
	enc->test_delay_ns = cr_time_test_delay_ns("encoder");
	cr_subscriber_set_budget(enc->sub, (size_t)(config->queue_mb > 0 ? config->queue_mb : 8) << 20);
	cr_subscriber_set_active(enc->sub, false);
	*out = enc;
	return 0;
}

void cr_video_encoder_set_overlay(struct cr_video_encoder *enc, cr_jpeg_overlay_fn fn, void *ctx)
{
	enc->overlay = fn;
	enc->overlay_ctx = ctx;
}

int cr_video_encoder_add_sink(struct cr_video_encoder *enc, cr_packet_sink sink, void *ctx)
{
	if (enc->nsinks == MAX_SINKS || enc->started)
		return -ENOSPC;
	enc->sinks[enc->nsinks].fn = sink;
	enc->sinks[enc->nsinks++].ctx = ctx;
	return 0;
}

int cr_video_encoder_start(struct cr_video_encoder *enc)
{
	int ret = -pthread_create(&enc->thread, NULL, encoder_thread, enc);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: cannot start the video encoder: %s",
				  cr_camera_config(enc->camera)->name, cr_strerror(ret));
	enc->started = true;
	return 0;
}

void cr_video_encoder_demand(struct cr_video_encoder *enc, bool add)
{
	pthread_mutex_lock(&enc->lock);
	if (!enc->closed) {
		if (add && enc->demand++ == 0) {
			atomic_store(&enc->want_keyframe, true);
			cr_subscriber_set_active(enc->sub, true);
		} else if (!add && enc->demand > 0 && --enc->demand == 0) {
			cr_subscriber_set_active(enc->sub, false);
		}
		enc->stats.active = enc->demand > 0;
	}
	pthread_mutex_unlock(&enc->lock);
}

void cr_video_encoder_keyframe(struct cr_video_encoder *enc)
{
	atomic_store(&enc->want_keyframe, true);
}

void cr_video_encoder_stop(struct cr_video_encoder *enc)
{
	struct cr_video_encoder_stats last;

	pthread_mutex_lock(&enc->lock);
	enc->closed = true;
	pthread_mutex_unlock(&enc->lock);
	if (!enc->sub)
		return;
	cr_subscriber_close(enc->sub);
	if (enc->started)
		pthread_join(enc->thread, NULL);
	enc->started = false;
	cr_video_encoder_stats(enc, &last); /* the queue's drops, before the queue goes */
	pthread_mutex_lock(&enc->lock);
	enc->stats.dropped = last.dropped;
	pthread_mutex_unlock(&enc->lock);
	cr_fanout_unsubscribe(cr_camera_fanout(enc->camera), &enc->sub);
}

void cr_video_encoder_free(struct cr_video_encoder **penc)
{
	struct cr_video_encoder *enc = *penc;

	if (!enc)
		return;
	*penc = NULL;
	cr_video_encoder_stop(enc);
	avcodec_free_context(&enc->ctx);
	avcodec_free_context(&enc->dec);
	av_frame_free(&enc->decoded);
	av_frame_free(&enc->scratch);
	av_frame_free(&enc->developed);
	cr_scaler_free(&enc->develop);
	av_frame_free(&enc->pic);
	av_packet_free(&enc->out);
	av_buffer_unref(&enc->gray_chroma);
	cr_scaler_free(&enc->scaler);
	avcodec_parameters_free(&enc->par);
	cr_ring_fini(&enc->meta);
	pthread_mutex_destroy(&enc->lock);
	free(enc);
}

int cr_video_encoder_parameters(struct cr_video_encoder *enc, AVCodecParameters *par)
{
	int ret = -EAGAIN;

	pthread_mutex_lock(&enc->lock);
	if (enc->par)
		ret = avcodec_parameters_copy(par, enc->par);
	pthread_mutex_unlock(&enc->lock);
	return ret;
}

int cr_video_h264_set_frame_rate(AVCodecParameters *par, double fps)
{
	const AVBitStreamFilter *filter = av_bsf_get_by_name("h264_metadata");
	AVBSFContext *bsf = NULL;
	int ret;

	if (!filter || fps <= 0)
		return AVERROR(EINVAL);
	ret = av_bsf_alloc(filter, &bsf);
	if (ret == 0)
		ret = avcodec_parameters_copy(bsf->par_in, par);
	if (ret == 0)
		ret = av_opt_set_q(bsf, "tick_rate", av_d2q(2 * fps, 1000000), AV_OPT_SEARCH_CHILDREN);
	if (ret == 0)
		ret = av_bsf_init(bsf);
	if (ret == 0 && bsf->par_out->extradata_size > 0)
		ret = avcodec_parameters_copy(par, bsf->par_out);
	av_bsf_free(&bsf);
	return ret;
}

bool cr_video_encoder_intra_only(struct cr_video_encoder *enc)
{
	bool intra;

	pthread_mutex_lock(&enc->lock);
	intra = enc->intra_only;
	pthread_mutex_unlock(&enc->lock);
	return intra;
}

void cr_video_encoder_stats(struct cr_video_encoder *enc, struct cr_video_encoder_stats *stats)
{
	struct cr_subscriber_stats subs[16];
	int n = cr_fanout_stats(cr_camera_fanout(enc->camera), subs, 16);

	pthread_mutex_lock(&enc->lock);
	*stats = enc->stats;
	pthread_mutex_unlock(&enc->lock);
	for (int i = 0; enc->sub && i < n && i < 16; i++)
		if (strcmp(subs[i].name, SUBSCRIBER_NAME) == 0) {
			stats->dropped = subs[i].dropped;
			stats->queued = subs[i].length;
		}
}
