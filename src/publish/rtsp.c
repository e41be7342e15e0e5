/* RTSP publishing: a camera's H.264 to a media server (MediaMTX, go2rtc,
 * any server that takes ANNOUNCE and RECORD), which fans it out to viewers
 * over RTSP, WebRTC and HLS and feeds NVRs; and the same stream as plain
 * RTP to a Janus streaming mountpoint, which browsers play over WebRTC.
 *
 * Protocol: RTSP 1.0 (RFC 2326) as libavformat's "rtsp" muxer speaks it:
 * ANNOUNCE with an SDP of the stream (H.264 RTP payload, RFC 6184, its
 * SPS/PPS as sprop-parameter-sets), SETUP with RTP interleaved over the
 * RTSP TCP connection (rtsp_transport tcp: one connection, through any NAT
 * or firewall that lets the RTSP port through), RECORD, then RTP packets;
 * TEARDOWN at the end. Credentials (rtsp.username, rtsp.password_file) go
 * in the URL handed to libavformat, which answers Basic and Digest
 * challenges; that URL is never logged.
 *
 * RTP to Janus: libavformat's "rtp" muxer over UDP, 1200-byte packets (Janus
 * relays them inside SRTP), payload type 96; the SPS/PPS go in band before
 * every keyframe, since the mountpoint's viewers never see an SDP of ours.
 * UDP has no session: it ends only on a send error.
 *
 * Design: the video encoder hands every packet to our sink on its own
 * thread; the sink only appends a reference to a bounded queue
 * (QUEUE_PACKETS, QUEUE_BYTES) and signals, so it never waits on the
 * network. One thread per publisher runs sessions: it asks the encoder for
 * packets (encoder demand) and a keyframe, waits for that keyframe, opens
 * the session with the encoder's parameters (the SPS timing rewritten to
 * the camera's rate), and writes packets as they come, PTS = capture time
 * since the first packet at 1/90000. A server slower than the camera fills
 * the queue: what is queued is dropped (counted as a skip) and the stream
 * goes on at the next keyframe. Every blocking libavformat call has a
 * deadline, through its interrupt callback (10 s to open, 5 s per packet,
 * 2 s to tear down), and a stop interrupts at once. A failed attempt or a
 * lost session is tried again after a backoff of 1 s doubling to 30 s,
 * back to 1 s after a session was accepted; between attempts the encoder
 * is not asked for packets. New encoder parameters (the camera came back
 * at another size) end the session and start the next at once.
 *
 * Encode once: with an H.264 recording and no bitrate or gop of its own,
 * the recorder's encoder is shared; otherwise the publisher has its own
 * libx264 encoder, which runs only during sessions.
 *
 * Locking: r->lock guards the queue, the accepting flags and stats; the
 * thread holds it only to take packets, never across network calls. */
#include "publish/rtsp.h"

#include "base/error.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ring.h"
#include "base/time.h"

#include <ctype.h>
#include <errno.h>
#include <libavformat/avformat.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_PACKETS 256                        /* packets waiting to be sent */
#define QUEUE_BYTES (16 * 1024 * 1024)           /* bytes of them */
#define CONNECT_TIMEOUT_NS (10 * CR_NS_PER_SEC)  /* ANNOUNCE to RECORD */
#define WRITE_TIMEOUT_NS (5 * CR_NS_PER_SEC)     /* one packet */
#define TEARDOWN_TIMEOUT_NS (2 * CR_NS_PER_SEC)
#define KEYFRAME_WAIT_NS (5 * CR_NS_PER_SEC)     /* for the first keyframe of a session */
#define IDLE_WAIT_NS (1 * CR_NS_PER_SEC)         /* longest wait for a packet before checking a stop */
#define BACKOFF_MIN_NS (1 * CR_NS_PER_SEC)
#define BACKOFF_MAX_NS (30 * CR_NS_PER_SEC)
#define PASSWORD_FILE_MAX 1024
#define RTP_TIME_BASE ((AVRational){ 1, 90000 })
#define PACKET_TIME_BASE ((AVRational){ 1, 1000000 })

struct cr_rtsp {
	const char *label;                       /* "rtsp" or "webrtc": the config key, for messages */
	const char *format;                      /* libavformat's muxer: "rtsp" or "rtp" */
	bool in_band;                            /* SPS/PPS before every keyframe (RTP: no SDP reaches the viewer) */
	char *shown_url;                         /* without credentials */
	struct cr_camera *camera;
	const char *name;                        /* the camera's */
	struct cr_video_encoder *encoder;
	struct cr_video_encoder *own_encoder;    /* NULL when sharing */
	struct cr_recording_config own_config;   /* settings of own_encoder */
	char *url;                               /* with credentials: never logged */
	pthread_t thread;
	bool started;
	atomic_bool stopping;
	atomic_bool tearing_down;                /* a stop no longer interrupts: TEARDOWN has its deadline */
	_Atomic int64_t deadline_ns;             /* of the blocking libavformat call under way */

	pthread_mutex_t lock;
	pthread_cond_t cond;                     /* a packet queued, or a stop */
	struct cr_ring queue;                    /* of struct cr_packet *, QUEUE_PACKETS */
	size_t queued_bytes;
	bool accepting;                          /* a session wants packets */
	bool waiting_keyframe;                   /* the next packet queued must be a keyframe */
	struct cr_rtsp_stats stats;
	int64_t session_start_ns, retry_at_ns;
	double latency_ns;                       /* capture to sent, smoothed over the last packets */
};

/* Where and how a publisher sends. */
struct target {
	const char *label, *format, *url, *shown_url;
	bool in_band;
	int bitrate;                             /* kbit/s of an own encoder; 0: the recording's */
	double gop;                              /* s; 0: the recording's */
};

static const char *const state_names[] = {
	[CR_RTSP_CONNECTING] = "connecting", [CR_RTSP_PUBLISHING] = "publishing",
	[CR_RTSP_WAITING] = "waiting", [CR_RTSP_STOPPED] = "stopped",
};

const char *cr_rtsp_state_name(enum cr_rtsp_state state)
{
	return (unsigned)state < CR_ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

/* Under r->lock. */
static void queue_clear(struct cr_rtsp *r)
{
	for (struct cr_packet *pkt; cr_ring_pop(&r->queue, &pkt);)
		cr_packet_unref(&pkt);
	r->queued_bytes = 0;
}

/* The encoder's sink: on the encoder thread, never blocks. */
static void on_packet(void *ctx, struct cr_packet *pkt)
{
	struct cr_rtsp *r = ctx;
	struct cr_packet *ref;

	pthread_mutex_lock(&r->lock);
	if (!r->accepting || (r->waiting_keyframe && !pkt->keyframe)) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	if (cr_ring_full(&r->queue) || r->queued_bytes + cr_packet_size(pkt) > QUEUE_BYTES) {
		queue_clear(r);
		r->stats.skips++;
		if (!pkt->keyframe) {
			r->waiting_keyframe = true;
			pthread_mutex_unlock(&r->lock);
			return;
		}
	}
	r->waiting_keyframe = false;
	ref = cr_packet_ref(pkt);
	cr_ring_push(&r->queue, &ref, NULL);
	r->queued_bytes += cr_packet_size(pkt);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* The next queued packet, waiting up to timeout_ns; NULL on a stop or a
 * timeout. */
static struct cr_packet *next_packet(struct cr_rtsp *r, int64_t timeout_ns)
{
	struct timespec until = cr_time_ts(cr_time_mono_ns() + timeout_ns);
	struct cr_packet *pkt = NULL;

	pthread_mutex_lock(&r->lock);
	while (!cr_ring_length(&r->queue) && !atomic_load(&r->stopping) &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
		;
	if (cr_ring_pop(&r->queue, &pkt))
		r->queued_bytes -= cr_packet_size(pkt);
	pthread_mutex_unlock(&r->lock);
	return pkt;
}

/* libavformat's interrupt callback: non-zero ends the blocking call. */
static int interrupted(void *ctx)
{
	struct cr_rtsp *r = ctx;

	if (atomic_load(&r->stopping) && !atomic_load(&r->tearing_down))
		return 1;
	return cr_time_mono_ns() > atomic_load(&r->deadline_ns);
}

static void set_state(struct cr_rtsp *r, enum cr_rtsp_state state)
{
	pthread_mutex_lock(&r->lock);
	r->stats.state = state;
	if (state == CR_RTSP_PUBLISHING) {
		r->stats.connects++;
		r->session_start_ns = cr_time_mono_ns();
	}
	pthread_mutex_unlock(&r->lock);
}

static void accept_packets(struct cr_rtsp *r, bool on)
{
	pthread_mutex_lock(&r->lock);
	r->accepting = on;
	r->waiting_keyframe = true;
	queue_clear(r);
	pthread_mutex_unlock(&r->lock);
	cr_video_encoder_demand(r->encoder, on);
	if (on)
		cr_video_encoder_keyframe(r->encoder);
}

/* Annex-B: starts with a start code (libx264's extradata does; avcC does not). */
static bool annex_b(const uint8_t *data, int size)
{
	return size > 4 && data[0] == 0 && data[1] == 0 && (data[2] == 1 || (data[2] == 0 && data[3] == 1));
}

/* Writes pkt (its PTS made relative to first_us, in the stream's time base),
 * a keyframe after the SPS/PPS of par when the target wants them in band. */
static int write_packet(struct cr_rtsp *r, AVFormatContext *oc, const AVCodecParameters *par, struct cr_packet *pkt,
			int64_t first_us)
{
	AVPacket *out;
	int ret;

	if (r->in_band && pkt->keyframe && annex_b(par->extradata, par->extradata_size)) {
		out = av_packet_alloc();
		if (out && av_new_packet(out, par->extradata_size + pkt->av->size) == 0) {
			memcpy(out->data, par->extradata, (size_t)par->extradata_size);
			memcpy(out->data + par->extradata_size, pkt->av->data, (size_t)pkt->av->size);
			out->flags = pkt->av->flags;
			out->pts = out->dts = pkt->av->pts;
		}
	} else {
		out = av_packet_clone(pkt->av);
	}
	if (!out || !out->data) {
		av_packet_free(&out);
		return AVERROR(ENOMEM);
	}
	out->stream_index = 0;
	out->pts = out->dts = av_rescale_q(pkt->av->pts - first_us, PACKET_TIME_BASE, oc->streams[0]->time_base);
	out->duration = 0;
	atomic_store(&r->deadline_ns, cr_time_mono_ns() + WRITE_TIMEOUT_NS);
	ret = av_write_frame(oc, out);
	av_packet_free(&out);
	if (ret == 0) {
		double late = (double)(cr_time_mono_ns() - pkt->mono_ns);

		pthread_mutex_lock(&r->lock);
		r->stats.packets++;
		r->stats.bytes += cr_packet_size(pkt);
		r->latency_ns = r->latency_ns > 0 ? 0.95 * r->latency_ns + 0.05 * late : late;
		pthread_mutex_unlock(&r->lock);
	}
	return ret;
}

/* One session: a keyframe, ANNOUNCE/SETUP/RECORD, packets until an error, a
 * stop, or new encoder parameters. Returns 0 (stopped, or new parameters:
 * go again at once), or a negative error with why (len bytes) set. */
static int session(struct cr_rtsp *r, char *why, size_t len)
{
	AVCodecParameters *par = avcodec_parameters_alloc();
	struct cr_packet *pkt;
	AVFormatContext *oc = NULL;
	AVDictionary *opts = NULL;
	bool header = false;
	int64_t first_us;
	unsigned params;
	double fps = cr_camera_format(r->camera)->fps;
	int ret;

	set_state(r, CR_RTSP_CONNECTING);
	accept_packets(r, true);
	pkt = next_packet(r, KEYFRAME_WAIT_NS);
	if (!pkt) {
		ret = atomic_load(&r->stopping) ? 0 : -ETIMEDOUT;
		snprintf(why, len, "no keyframe from the encoder within 5 s");
		goto end;
	}
	ret = par ? cr_video_encoder_parameters(r->encoder, par) : -ENOMEM;
	if (ret < 0) {
		snprintf(why, len, "the encoder has no stream parameters: %s", cr_strerror(ret));
		goto end;
	}
	if (par->codec_id != AV_CODEC_ID_H264) {
		snprintf(why, len, "the encoder produces %s, not H.264", avcodec_get_name(par->codec_id));
		ret = -EINVAL;
		goto end;
	}
	if (fps > 0 && cr_video_h264_set_frame_rate(par, fps) < 0)
		cr_debug("%s: %s: the SPS keeps the encoder's timing", r->name, r->label);
	params = pkt->params;
	first_us = pkt->av->pts;
	ret = avformat_alloc_output_context2(&oc, NULL, r->format, r->url);
	if (ret < 0) {
		snprintf(why, len, "cannot publish to %s: %s", r->shown_url, av_err2str(ret));
		goto end;
	}
	oc->interrupt_callback = (AVIOInterruptCB){ .callback = interrupted, .opaque = r };
	if (!avformat_new_stream(oc, NULL)) {
		ret = AVERROR(ENOMEM);
		goto end;
	}
	avcodec_parameters_copy(oc->streams[0]->codecpar, par);
	oc->streams[0]->time_base = RTP_TIME_BASE;
	if (strcmp(r->format, "rtsp") == 0)
		av_dict_set(&opts, "rtsp_transport", "tcp", 0);
	atomic_store(&r->deadline_ns, cr_time_mono_ns() + CONNECT_TIMEOUT_NS);
	ret = oc->oformat->flags & AVFMT_NOFILE ? 0 /* rtsp: the muxer connects */
						: avio_open2(&oc->pb, r->url, AVIO_FLAG_WRITE, &oc->interrupt_callback, NULL);
	if (ret == 0)
		ret = avformat_write_header(oc, &opts);
	if (ret < 0) {
		snprintf(why, len, "%s did not take the stream%s: %s%s", r->shown_url,
			 strcmp(r->format, "rtsp") == 0 ? " (ANNOUNCE, SETUP, RECORD)" : "", av_err2str(ret),
			 ret == AVERROR_INVALIDDATA && strcmp(r->format, "rtsp") == 0
				 ? " (refused: a path it does not serve, or credentials? see rtsp.username and "
				   "rtsp.password_file)" : "");
		goto end;
	}
	header = true;
	set_state(r, CR_RTSP_PUBLISHING);
	cr_info("%s: %s: sending to %s", r->name, r->label, r->shown_url);
	while (pkt) {
		if (pkt->params != params) {
			cr_info("%s: %s: new stream parameters; starting again", r->name, r->label);
			break;
		}
		ret = write_packet(r, oc, par, pkt, first_us);
		cr_packet_unref(&pkt);
		if (ret < 0) {
			snprintf(why, len, "the session with %s ended: %s", r->shown_url, av_err2str(ret));
			goto end;
		}
		while (!pkt && !atomic_load(&r->stopping))
			pkt = next_packet(r, IDLE_WAIT_NS);
	}
	ret = 0;
end:
	cr_packet_unref(&pkt);
	accept_packets(r, false);
	if (header) {
		atomic_store(&r->tearing_down, true);
		atomic_store(&r->deadline_ns, cr_time_mono_ns() + TEARDOWN_TIMEOUT_NS);
		av_write_trailer(oc);
		atomic_store(&r->tearing_down, false);
	}
	if (oc && !(oc->oformat->flags & AVFMT_NOFILE))
		avio_closep(&oc->pb);
	avformat_free_context(oc);
	av_dict_free(&opts);
	avcodec_parameters_free(&par);
	return ret;
}

static void *rtsp_thread(void *arg)
{
	struct cr_rtsp *r = arg;
	int64_t backoff = BACKOFF_MIN_NS;
	unsigned failures = 0;
	char name[16], why[256];

	snprintf(name, sizeof(name), "%s:%s", strcmp(r->format, "rtsp") == 0 ? "rtsp" : "rtp", r->name);
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load(&r->stopping)) {
		struct timespec until;
		uint64_t connects_before;
		int ret;

		pthread_mutex_lock(&r->lock);
		connects_before = r->stats.connects;
		pthread_mutex_unlock(&r->lock);
		why[0] = '\0';
		ret = session(r, why, sizeof(why));
		if (atomic_load(&r->stopping))
			break;
		pthread_mutex_lock(&r->lock);
		if (r->stats.connects != connects_before) {
			backoff = BACKOFF_MIN_NS; /* a session was accepted */
			failures = 0;
		}
		if (ret == 0) {
			pthread_mutex_unlock(&r->lock);
			continue;
		}
		r->stats.connect_errors++;
		snprintf(r->stats.last_error, sizeof(r->stats.last_error), "%s", why);
		r->stats.state = CR_RTSP_WAITING;
		r->retry_at_ns = cr_time_mono_ns() + backoff;
		until = cr_time_ts(r->retry_at_ns);
		if (failures++ == 0)
			cr_warn("%s: %s: %s; trying again with backoff", r->name, r->label, why);
		else
			cr_debug("%s: %s: attempt %u: %s", r->name, r->label, failures, why);
		backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
		while (!atomic_load(&r->stopping) && pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
			;
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&r->lock);
	r->stats.state = CR_RTSP_STOPPED;
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* "%XX" for every byte of text but RFC 3986's unreserved ones (userinfo). */
static char *percent_encode(const char *text)
{
	char *out = cr_malloc(3 * strlen(text) + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	return out;
}

/* c->url with rtsp.username and the password file's first line in it,
 * allocated into *url. */
static int make_url(const char *name, const struct cr_rtsp_config *c, char **url)
{
	const char *rest = strstr(c->url, "://") + 3;
	char *user, *pass = NULL, *secret = NULL, why[PATH_MAX + 128];
	int ret;

	if (!c->username) {
		*url = cr_strdup(c->url);
		return 0;
	}
	if (c->password_file) {
		ret = cr_fs_read_secret("rtsp.password_file", c->password_file, PASSWORD_FILE_MAX, &secret, why,
					sizeof(why));
		if (ret < 0)
			return cr_log_ret(ret == -EFBIG ? -EINVAL : ret, CR_LOG_ERROR, "%s: %s", name, why);
		secret[strcspn(secret, "\r\n")] = '\0';
		pass = percent_encode(secret);
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	user = percent_encode(c->username);
	*url = cr_asprintf("%.*s%s%s%s@%s", (int)(rest - c->url), c->url, user, pass ? ":" : "", pass ? pass : "",
			   rest);
	free(user);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		free(pass);
	}
	return 0;
}

/* Creates a publisher for target (its url is taken). */
static int publisher_new(struct cr_camera *cam, struct cr_video_encoder *shared, const struct target *t, char *url,
			 const struct cr_recording_config *recording, struct cr_rtsp **out)
{
	struct cr_rtsp *r = CR_NEW(r);
	int ret;

	r->label = t->label;
	r->format = t->format;
	r->in_band = t->in_band;
	r->url = url;
	r->shown_url = cr_strdup(t->shown_url);
	r->camera = cam;
	r->name = cr_camera_config(cam)->name;
	pthread_mutex_init(&r->lock, NULL);
	cr_time_cond_init(&r->cond);
	cr_ring_init(&r->queue, QUEUE_PACKETS, sizeof(struct cr_packet *), CR_RING_DROP_NEWEST);
	snprintf(r->stats.url, sizeof(r->stats.url), "%s", t->shown_url);
	r->stats.state = CR_RTSP_STOPPED;
	r->encoder = shared;
	if (!shared) {
		r->own_config = *recording;   /* borrowed strings: config outlives us */
		r->own_config.codec = "h264";
		r->own_config.zerolatency = true;
		r->own_config.gray = false;
		r->own_config.pre_trigger = 0;
		r->own_config.queue_depth = 8;
		if (t->gop > 0)
			r->own_config.gop = t->gop;
		if (t->bitrate > 0)
			r->own_config.bitrate = t->bitrate;
		ret = cr_video_encoder_new(cam, &r->own_config, &r->own_encoder);
		if (ret < 0)
			goto fail;
		r->encoder = r->own_encoder;
	}
	ret = cr_video_encoder_add_sink(r->encoder, on_packet, r);
	if (ret < 0)
		goto fail;
	r->stats.shared_encoder = shared != NULL;
	cr_info("%s: %s: will send to %s (%s encoder)", r->name, r->label, t->shown_url,
		shared ? "the recorder's" : "its own");
	*out = r;
	return 0;
fail:
	cr_rtsp_free(&r);
	return ret;
}

int cr_rtsp_new(struct cr_camera *cam, struct cr_video_encoder *shared, const struct cr_rtsp_config *config,
		const struct cr_recording_config *recording, struct cr_rtsp **out)
{
	const struct target t = { .label = "rtsp", .format = "rtsp", .shown_url = config->url,
				  .bitrate = config->bitrate, .gop = config->gop };
	char *url = NULL;
	int ret = make_url(cr_camera_config(cam)->name, config, &url);

	return ret < 0 ? ret : publisher_new(cam, shared, &t, url, recording, out);
}

int cr_rtsp_new_webrtc(struct cr_camera *cam, struct cr_video_encoder *shared, const struct cr_webrtc_config *config,
		       const struct cr_recording_config *recording, struct cr_rtsp **out)
{
	/* 1200-byte RTP packets: Janus relays them as they are, inside SRTP
	 * over DTLS-negotiated UDP, which must stay under the path's MTU. */
	char *url = cr_asprintf("rtp://%s?pkt_size=1200", config->rtp), *shown = cr_asprintf("rtp://%s", config->rtp);
	const struct target t = { .label = "webrtc", .format = "rtp", .shown_url = shown, .in_band = true,
				  .bitrate = config->bitrate, .gop = config->gop };
	int ret = publisher_new(cam, shared, &t, url, recording, out);

	free(shown);
	return ret;
}

int cr_rtsp_start(struct cr_rtsp *r)
{
	int ret;

	if (r->own_encoder) {
		ret = cr_video_encoder_start(r->own_encoder);
		if (ret < 0)
			return ret;
	}
	ret = -pthread_create(&r->thread, NULL, rtsp_thread, r);
	r->started = ret == 0;
	return ret;
}

void cr_rtsp_stop(struct cr_rtsp *r)
{
	atomic_store(&r->stopping, true);
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
		r->started = false;
	}
	if (r->own_encoder)
		cr_video_encoder_stop(r->own_encoder);
	pthread_mutex_lock(&r->lock);
	r->accepting = false;
	queue_clear(r);
	pthread_mutex_unlock(&r->lock);
}

void cr_rtsp_free(struct cr_rtsp **pr)
{
	struct cr_rtsp *r = *pr;

	if (!r)
		return;
	*pr = NULL;
	cr_rtsp_stop(r);
	cr_video_encoder_free(&r->own_encoder);
	cr_ring_fini(&r->queue);
	free(r->shown_url);
	if (r->url) {
		explicit_bzero(r->url, strlen(r->url));
		free(r->url);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void cr_rtsp_stats(struct cr_rtsp *r, struct cr_rtsp_stats *stats)
{
	int64_t now = cr_time_mono_ns();

	pthread_mutex_lock(&r->lock);
	*stats = r->stats;
	stats->backoff_s = r->stats.state == CR_RTSP_WAITING && r->retry_at_ns > now
				   ? (double)(r->retry_at_ns - now) / 1e9 : 0;
	stats->session_s = r->stats.state == CR_RTSP_PUBLISHING ? (double)(now - r->session_start_ns) / 1e9 : 0;
	stats->latency_ms = r->latency_ns / 1e6;
	pthread_mutex_unlock(&r->lock);
}
