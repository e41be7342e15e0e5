/* libavformat sources: "file:PATH" (video files) and "url:URL" (RTSP and HTTP
 * IP cameras, or anything else libavformat opens), decoded with libavcodec and,
 * only where the picture's format or size does not fit, converted with
 * libswscale into a format the rest of camrig takes.
 *
 * Design:
 * - An MJPEG stream is passed through packet by packet when no other size or
 *   format is asked for, so the JPEG stage never re-encodes it.
 * - Anything else is decoded and delivered in camera.format, or in the raw
 *   format nearest the decoder's output, at camera.size or the stream's size.
 *   The output format is fixed at open(); a stream that changes size midway
 *   is scaled to it. A picture (or packet) that fits is handed on as the
 *   frame without a copy (libav_output.c).
 * - Clips (every file, and URLs whose container states a duration) are paced
 *   by their PTS against CLOCK_MONOTONIC, or at camera.fps when it is set, and
 *   loop seamlessly: the first frame of a pass is due one frame duration after
 *   the last frame of the previous pass. Live streams are delivered as they
 *   arrive; their end or a read error is a lost device (CR_ELOST).
 * - Every blocking libav call runs under an AVIOInterruptCB that aborts when
 *   the camera's wake_fd becomes readable, and for URLs when the network has
 *   been silent for IO_TIMEOUT_NS (a guard behind the protocols' own timeouts).
 *
 * Only the camera thread calls into a source, so nothing here is locked. */
#include "source/libav_internal.h"

#include "base/error.h"
#include "base/lazy.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IO_TIMEOUT_US "5000000"                  /* protocol timeouts, µs */
#define IO_TIMEOUT_NS (6 * CR_NS_PER_SEC)        /* no packet for this long: lost */
#define OPEN_TIMEOUT_NS (20 * CR_NS_PER_SEC)     /* connect + probe of a URL */
#define LATE_NS CR_NS_PER_SEC                    /* further behind: re-anchor the clock */
#define AHEAD_NS (10 * CR_NS_PER_SEC)            /* a PTS jump further ahead: re-anchor */
#define MJPEG_SLACK (64 * 1024)                  /* bytes over w*h*3/2 a JPEG may take */
#define MAX_BAD_PACKETS 100                      /* consecutive decode errors before giving up */

static const AVRational ns_base = { 1, 1000000000 };

/* Writes "scheme:location" into buf with the password of a URL's user info
 * replaced by "***", so logs and /status never show it. */
static void display_name(const char *scheme, const char *location, char *buf, size_t len)
{
	const char *auth = strstr(location, "://");
	const char *end, *at, *colon;

	if (auth) {
		auth += 3;
		end = auth + strcspn(auth, "/?#");
		at = memchr(auth, '@', (size_t)(end - auth));
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			snprintf(buf, len, "%s:%.*s:***%s", scheme, (int)(colon - location), location, at);
			return;
		}
	}
	snprintf(buf, len, "%s:%s", scheme, location);
}

/* Whether the camera is stopping: wake_fd is readable (it stays so). Sets
 * p->woken. An error after an interrupted read is checked here rather than
 * by p->woken alone: libavformat keeps the I/O error of an aborted read and
 * returns it (or a demuxer's or frame-threaded decoder's error made of the
 * truncated packet) from later calls without asking the callback again. */
static bool stopping(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	struct pollfd pfd = { .fd = src->wake_fd, .events = POLLIN };

	if (!p->woken && src->wake_fd >= 0 && poll(&pfd, 1, 0) > 0)
		p->woken = true;
	return p->woken;
}

/* AVIOInterruptCB: libav polls it during blocking I/O; 1 aborts the call
 * with AVERROR_EXIT. */
static int interrupt_cb(void *opaque)
{
	struct cr_source *src = opaque;
	struct cr_libav *p = src->priv;

	if (stopping(src))
		return 1;
	return p->io_deadline_ns && cr_time_mono_ns() > p->io_deadline_ns;
}

/* Opens the input and finds its video stream. */
static int open_input(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	AVDictionary *opts = NULL;
	char *path = NULL;
	int ret;

	p->fmt = avformat_alloc_context();
	if (!p->fmt) {
		ret = AVERROR(ENOMEM);
		goto end;
	}
	p->fmt->interrupt_callback = (AVIOInterruptCB){ .callback = interrupt_cb, .opaque = src };
	if (p->url) {
		av_dict_set(&opts, "timeout", IO_TIMEOUT_US, 0);
		av_dict_set(&opts, "rw_timeout", IO_TIMEOUT_US, 0);
		if (strncmp(src->location, "rtsp", 4) == 0)
			av_dict_set(&opts, "rtsp_transport", "tcp", 0);
		p->io_deadline_ns = cr_time_mono_ns() + OPEN_TIMEOUT_NS;
		path = cr_strdup(src->location);
	} else {
		/* "file:" keeps a ':' in the path from being read as a protocol. */
		path = cr_asprintf("file:%s", src->location);
	}
	ret = avformat_open_input(&p->fmt, path, NULL, &opts);
	if (ret < 0)
		goto end;
	ret = avformat_find_stream_info(p->fmt, NULL);
	if (ret < 0)
		goto end;
	ret = av_find_best_stream(p->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret < 0)
		goto end;
	p->stream = ret;
	p->time_base = p->fmt->streams[ret]->time_base;
	for (unsigned i = 0; i < p->fmt->nb_streams; i++)
		if ((int)i != p->stream)
			p->fmt->streams[i]->discard = AVDISCARD_ALL;
	ret = 0;
end:
	p->io_deadline_ns = 0;
	if (ret < 0)
		avformat_close_input(&p->fmt);
	av_dict_free(&opts);
	free(path);
	return ret;
}

static int open_decoder(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	const AVCodecParameters *par = p->fmt->streams[p->stream]->codecpar;
	const AVCodec *codec = avcodec_find_decoder(par->codec_id);
	int ret;

	if (!codec)
		return AVERROR_DECODER_NOT_FOUND;
	p->dec = avcodec_alloc_context3(codec);
	if (!p->dec)
		return AVERROR(ENOMEM);
	ret = avcodec_parameters_to_context(p->dec, par);
	if (ret < 0)
		return ret;
	p->dec->pkt_timebase = p->time_base;
	p->dec->thread_count = 2;
	/* Frame threading holds frames back; a live view wants them now. */
	p->dec->thread_type = p->live ? FF_THREAD_SLICE : FF_THREAD_FRAME | FF_THREAD_SLICE;
	if (p->live)
		p->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
	return avcodec_open2(p->dec, codec, NULL);
}

static void close_media(struct cr_libav *p)
{
	avcodec_free_context(&p->dec);
	avformat_close_input(&p->fmt);
	cr_scaler_free(&p->scaler);
	av_packet_free(&p->pkt);
	av_frame_free(&p->picture);
	if (p->net)
		avformat_network_deinit();
	p->net = false;
}

static int libav_open(struct cr_source *src)
{
	const struct cr_camera_config *c = src->config;
	struct cr_libav *p = src->priv;
	struct cr_source_format *f = &src->format;
	const AVStream *st;
	const char *what = "cannot open";
	struct cr_plane_layout layout = { 0 };
	AVRational rate;
	char fps[32] = "unknown rate", why[256];
	int ret;

	if (cr_lazy_load(&cr_lazy_libav, why, sizeof(why)) != 0)
		return cr_log_ret(-ELIBACC, CR_LOG_ERROR, "%s: %s", c->name, why);
	if (!p)
		p = src->priv = CR_NEW(p);
	close_media(p);
	p->url = src->ops == &cr_source_url_ops;
	display_name(p->url ? "url" : "file", src->location, p->name, sizeof(p->name));
	p->pending = p->woken = false;
	p->anchor_ns = p->pass_ns = p->last_ns = p->media_ns = 0;
	p->first_pts = AV_NOPTS_VALUE;
	p->delivered = p->pass_frames = 0;
	p->bad_packets = 0;
	if (p->url) {
		avformat_network_init();
		p->net = true;
	}

	ret = open_input(src);
	if (ret < 0)
		goto end;
	st = p->fmt->streams[p->stream];
	/* A URL is live unless its container states a length: an HTTP-served
	 * clip is paced and loops like a file, a camera's stream is not. */
	p->live = p->url && (p->fmt->duration == AV_NOPTS_VALUE || p->fmt->duration <= 0);
	ret = cr_libav_choose_output(src);
	if (ret < 0) {
		what = NULL; /* logged */
		goto end;
	}
	if (!p->passthrough) {
		what = "cannot open the decoder";
		ret = open_decoder(src);
		if (ret < 0)
			goto end;
		what = "cannot decode";
		ret = cr_fourcc_layout(p->fourcc, p->width, p->height, 0, &layout);
		if (ret < 0)
			goto end;
	}
	p->pkt = av_packet_alloc();
	p->picture = av_frame_alloc();
	if (!p->pkt || !p->picture) {
		ret = AVERROR(ENOMEM);
		goto end;
	}

	rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
	memset(f, 0, sizeof(*f));
	f->fourcc = p->fourcc;
	f->width = p->width;
	f->height = p->height;
	f->fps = c->fps > 0 ? c->fps : rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
	f->frame_bytes = p->passthrough ? (size_t)p->width * (size_t)p->height * 3 / 2 + MJPEG_SLACK : layout.size;
	snprintf(f->device, sizeof(f->device), "%s", p->name + (p->url ? 4 : 5));
	snprintf(f->driver, sizeof(f->driver), "libavformat %s", p->fmt->iformat->name);
	p->frame_ns = f->fps > 0 ? (int64_t)(CR_NS_PER_SEC / f->fps) : 40 * CR_NS_PER_MS;
	if (f->fps > 0)
		snprintf(fps, sizeof(fps), "%.2f fps", f->fps);
	cr_info("%s: %s %s %dx%d, %s, delivering %s %dx%d%s%s", p->name, p->fmt->iformat->name,
		avcodec_get_name(st->codecpar->codec_id), st->codecpar->width, st->codecpar->height, fps,
		cr_fourcc_name(p->fourcc), p->width, p->height, p->passthrough ? " (passed through)" : "",
		p->live ? ", live" : c->loop ? ", looping" : "");
	ret = 0;
end:
	if (ret < 0) {
		if (p->woken)
			ret = -EAGAIN; /* the camera is stopping: nothing went wrong */
		else if (ret == AVERROR_STREAM_NOT_FOUND)
			cr_err("%s: no video stream in the input", p->name);
		else if (what)
			cr_err("%s: %s: %s", p->name, what, cr_strerror(ret));
		close_media(p);
	}
	return ret;
}

/* Maps a failed av_read_frame() to what read() returns: -EAGAIN when woken,
 * CR_ELOST for a live stream, AVERROR_EOF (the end of the pass) for a clip. */
static int read_error(struct cr_source *src, int err)
{
	struct cr_libav *p = src->priv;

	if (stopping(src))
		return -EAGAIN;
	if (p->live && err == AVERROR_EXIT)
		return cr_log_ret(CR_ELOST, CR_LOG_WARN, "%s: connection lost: no data for %lld s", p->name,
				  (long long)(IO_TIMEOUT_NS / CR_NS_PER_SEC));
	if (p->live)
		return cr_log_ret(CR_ELOST, CR_LOG_WARN, "%s: connection lost: %s", p->name,
				  err == AVERROR_EOF ? "the stream ended" : cr_strerror(err));
	/* Demuxers that look past the last packet (index, cues) fail there when
	 * the input cannot seek, e.g. an HTTP server without ranges. Any other
	 * error ends the pass too: a damaged tail must not stop the camera, and
	 * a clip whose server went away fails when it is opened again. */
	if (err != AVERROR_EOF && !(p->fmt->pb && p->fmt->pb->eof_reached))
		cr_warn("%s: read error after %llu frames of this pass, taking it as the end: %s",
			p->name, (unsigned long long)p->pass_frames, cr_strerror(err));
	return AVERROR_EOF;
}

/* Reads the next packet of the video stream into p->pkt. */
static int read_packet(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	int ret;

	for (;;) {
		av_packet_unref(p->pkt);
		p->woken = false;
		p->io_deadline_ns = p->url ? cr_time_mono_ns() + IO_TIMEOUT_NS : 0;
		ret = av_read_frame(p->fmt, p->pkt);
		p->io_deadline_ns = 0;
		if (ret < 0)
			return read_error(src, ret);
		if (p->pkt->stream_index == p->stream)
			return 0;
	}
}

/* Reads the next JPEG that fits a frame into p->pkt. */
static int next_jpeg(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	int ret;

	for (;;) {
		ret = read_packet(src);
		if (ret < 0)
			return ret;
		if ((size_t)p->pkt->size <= src->format.frame_bytes)
			return 0;
		if (p->oversize++ % 100 == 0)
			cr_warn("%s: skipped a %d-byte JPEG, over the %zu bytes a frame holds (%u so far)",
				p->name, p->pkt->size, src->format.frame_bytes, p->oversize);
	}
}

/* Decodes the next picture into p->picture; AVERROR_EOF once the decoder
 * has been drained at the end of the input. */
static int decode(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	int ret;

	for (;;) {
		ret = avcodec_receive_frame(p->dec, p->picture);
		if (ret == 0 || ret == AVERROR_EOF)
			return ret;
		if (ret != AVERROR(EAGAIN))
			goto bad;
		ret = read_packet(src);
		if (ret == AVERROR_EOF) {
			ret = avcodec_send_packet(p->dec, NULL); /* drain: the last frames come out */
			if (ret < 0 && ret != AVERROR_EOF)
				return stopping(src) ? -EAGAIN : ret;
			continue;
		}
		if (ret < 0)
			return ret;
		ret = avcodec_send_packet(p->dec, p->pkt);
		av_packet_unref(p->pkt);
		if (ret >= 0) {
			p->bad_packets = 0;
			continue;
		}
bad:
		if (p->bad_packets++ >= MAX_BAD_PACKETS)
			return cr_log_ret(ret, CR_LOG_ERROR, "%s: %d packets in a row do not decode: %s",
					  p->name, MAX_BAD_PACKETS, cr_strerror(ret));
		if (p->bad_packets == 1)
			cr_warn("%s: skipping a packet that does not decode: %s", p->name, cr_strerror(ret));
	}
}

/* At the end of a clip: seeks (or reopens) to the start for another pass, or
 * returns CR_EEOF when it does not loop, CR_ELOST when a URL cannot be opened
 * again. */
static int rewind_input(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	const AVStream *st = p->fmt->streams[p->stream];
	int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
	int ret;

	if (p->pass_frames == 0)
		return cr_log_ret(AVERROR_INVALIDDATA, CR_LOG_ERROR, "%s: no video frame in the %s",
				  p->name, p->sequence ? "file after seeking to its start" : "input");
	/* A file that ends well before the duration its header gives was cut
	 * short (a copy that stopped, a recording that crashed): say so once. */
	if (!p->url && !p->told_short && p->fmt->duration > 0 &&
	    (double)(p->last_ns + p->frame_ns) < 0.9e3 * (double)p->fmt->duration) {
		cr_warn("%s: the file ends after %.1f s of the %.1f s its header says (cut short?); %s", p->name,
			(double)(p->last_ns + p->frame_ns) / 1e9, (double)p->fmt->duration / AV_TIME_BASE,
			src->config->loop ? "looping what there is" : "ending there");
		p->told_short = true;
	}
	if (!src->config->loop)
		return CR_EEOF; /* the camera says so */
	/* A URL opens again: over HTTP without ranges a seek can "succeed" and
	 * leave the demuxer at the end. */
	ret = p->url ? AVERROR(ESPIPE) : av_seek_frame(p->fmt, p->stream, start, AVSEEK_FLAG_BACKWARD);
	if (ret < 0) {
		cr_debug("%s: cannot seek (%s), opening it again", p->name, cr_strerror(ret));
		avformat_close_input(&p->fmt);
		ret = open_input(src);
		if (ret < 0 && p->woken)
			return -EAGAIN;
		if (ret < 0)
			return cr_log_ret(p->url ? CR_ELOST : ret, CR_LOG_ERROR, "%s: cannot open again to loop: %s",
					  p->name, cr_strerror(ret));
	}
	if (p->dec)
		avcodec_flush_buffers(p->dec);
	p->pass_ns += p->last_ns + p->frame_ns;
	p->first_pts = AV_NOPTS_VALUE;
	p->last_ns = 0;
	p->pass_frames = 0;
	return 0;
}

/* Sets the media time of the frame just read from its PTS (time_base). A
 * PTS that goes back or jumps ahead by more than AHEAD_NS (concatenated
 * streams, a wrapped clock) is a discontinuity: the clip goes on one frame
 * after the last. */
static void stamp(struct cr_libav *p, int64_t pts)
{
	int64_t t;

	if (pts == AV_NOPTS_VALUE || (p->first_pts == AV_NOPTS_VALUE && p->pass_frames > 0)) {
		t = p->pass_frames ? p->last_ns + p->frame_ns : 0;
	} else {
		if (p->first_pts == AV_NOPTS_VALUE)
			p->first_pts = pts;
		t = av_rescale_q(pts - p->first_pts, p->time_base, ns_base);
		if (p->pass_frames > 0 && (t < p->last_ns || t > p->last_ns + AHEAD_NS)) {
			t = p->last_ns + p->frame_ns;
			p->first_pts = pts - av_rescale_q(t, ns_base, p->time_base);
		}
	}
	if (p->pass_frames > 0 && t > p->last_ns && t - p->last_ns < CR_NS_PER_SEC)
		p->frame_ns = t - p->last_ns;
	p->last_ns = t;
	p->media_ns = p->pass_ns + t;
	p->pass_frames++;
}

/* Reads the next frame into p->picture (or p->pkt), looping at the end. */
static int next_frame(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	int ret;

	for (;;) {
		ret = p->passthrough ? next_jpeg(src) : decode(src);
		if (ret == 0)
			break;
		if (ret != AVERROR_EOF)
			return ret;
		ret = rewind_input(src);
		if (ret < 0)
			return ret;
	}
	if (p->passthrough)
		stamp(p, p->pkt->pts != AV_NOPTS_VALUE ? p->pkt->pts : p->pkt->dts);
	else
		stamp(p, p->picture->best_effort_timestamp);
	return 0;
}

/* Waits until the pending frame is due: at its media time for a clip, at
 * frame n / camera.fps when that is set; live streams do not wait. */
static int pace(struct cr_source *src)
{
	struct cr_libav *p = src->priv;
	int64_t now = cr_time_mono_ns(), t, due;

	if (p->live)
		return 0;
	t = src->config->fps > 0 ? (int64_t)((double)p->delivered * CR_NS_PER_SEC / src->config->fps)
				 : p->media_ns;
	if (!p->anchor_ns)
		p->anchor_ns = now - t;
	due = p->anchor_ns + t;
	if (due < now - LATE_NS || due > now + AHEAD_NS) {
		/* Stalled (a suspend, a slow disk) or a PTS jump: go on from now
		 * instead of bursting or stopping. */
		p->anchor_ns = now - t;
		due = now;
	}
	return cr_source_sleep_until(src, due);
}

static int libav_read(struct cr_source *src, struct cr_frame *frame)
{
	struct cr_libav *p = src->priv;
	int ret;

	if (!p || !p->fmt)
		return -EBADF;
	if (!p->pending) {
		ret = next_frame(src);
		if (ret < 0)
			return ret;
		p->pending = true;
	}
	ret = pace(src);
	if (ret < 0)
		return ret; /* woken: the frame stays pending */
	p->pending = false;
	p->delivered++;
	if (frame) {
		ret = p->passthrough ? cr_libav_deliver_jpeg(src, frame) : cr_libav_deliver_picture(src, frame);
		if (ret < 0)
			return ret;
		frame->sequence = (uint32_t)p->sequence;
		frame->mono_ns = cr_time_mono_ns(); /* "captured" when delivered */
	}
	p->sequence++;
	if (p->passthrough)
		av_packet_unref(p->pkt);
	else
		av_frame_unref(p->picture);
	return 0;
}

static void libav_stream_stats(struct cr_source *src, struct cr_source_stream_stats *stats)
{
	const struct cr_libav *p = src->priv;

	if (!p)
		return;
	stats->borrowed = p->borrowed;
	stats->copied = p->copied;
}

static void libav_close(struct cr_source *src)
{
	if (src->priv)
		close_media(src->priv);
}

static void libav_free_priv(struct cr_source *src)
{
	libav_close(src);
	free(src->priv);
	src->priv = NULL;
}

const struct cr_source_ops cr_source_file_ops = {
	.open = libav_open,
	.read = libav_read,
	.close = libav_close,
	.stream_stats = libav_stream_stats,
	.free_priv = libav_free_priv,
};

const struct cr_source_ops cr_source_url_ops = {
	.open = libav_open,
	.read = libav_read,
	.close = libav_close,
	.stream_stats = libav_stream_stats,
	.free_priv = libav_free_priv,
};
