/* Raw H.264 over TCP: an Annex-B elementary stream that `ffplay
 * tcp://HOST:PORT` and `mpv tcp://HOST:PORT` play as it arrives.
 *
 * Design: the video encoder hands every packet to our sink on its own thread;
 * the sink only appends a reference to each client's bounded queue (and
 * wakes our thread through an eventfd), so it never waits on a socket. One
 * thread serves the listening socket and every client with poll() and
 * non-blocking writes. A client joins at the next keyframe, which is preceded
 * by the SPS/PPS (the encoder's extradata: libx264 writes them out of band
 * because the recorder wants a global header). A client whose queue
 * overflows (it reads slower than the camera produces) loses what is queued
 * and skips to the next keyframe; one that takes no byte for 10 s while data
 * waits is disconnected. Nobody else notices either.
 *
 * Encode once: with an H.264 recording the recorder's encoder is shared;
 * otherwise the stream has its own encoder, which runs only while a client
 * is connected (encoder demand).
 *
 * A raw stream has no container timestamps, so players take the frame rate
 * from the SPS. The recorder's encoder signals its microsecond time base
 * there (x264 with variable frame rate input), which players read as
 * 1,000,000 fps; the SPS we send is rewritten with libavcodec's
 * h264_metadata filter to the camera's frame rate.
 *
 * Locking: ts->lock guards the client table and the extradata; the thread
 * holds it across its non-blocking writes, which cannot wait. */
#include "publish/tcpstream.h"

#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/net.h"
#include "base/ring.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:10001"
#define MAX_CLIENTS 256
#define CLIENT_QUEUE 256                         /* packets */
#define CLIENT_QUEUE_BYTES (8 * 1024 * 1024)     /* bytes */
#define STALL_NS (10 * CR_NS_PER_SEC)
#define SEND_BUFFER (128 * 1024)                 /* SO_SNDBUF per client, bytes */
#define TICK_MS 1000                             /* stall checks */

struct client {
	int fd;
	char peer[64];
	struct cr_ring queue;                    /* of struct cr_packet *, CLIENT_QUEUE */
	size_t queued_bytes;
	size_t offset;                           /* bytes of the oldest queued packet sent */
	size_t header_sent;                      /* bytes of the SPS/PPS sent; header_len: done */
	size_t header_len;                       /* SPS/PPS to send before the oldest packet */
	bool waiting_keyframe;
	int64_t last_progress_ns;
};

struct cr_tcpstream {
	const struct cr_tcp_stream_config *config;
	struct cr_camera *camera;                /* its nominal rate sets the SPS timing */
	const char *camera_name;
	struct cr_video_encoder *encoder;
	struct cr_video_encoder *own_encoder;    /* NULL when sharing */
	struct cr_recording_config own_config;   /* settings of own_encoder */
	int listen_fd, wake_fd;
	pthread_t thread;
	bool started;
	atomic_bool stopping;

	pthread_mutex_t lock;
	struct client *clients[MAX_CLIENTS];
	unsigned nclients;
	uint8_t *header;                         /* Annex-B SPS/PPS, from the first keyframe on */
	unsigned header_params;                  /* the encoder parameters it is of */
	size_t header_len;
	bool not_h264;                           /* the encoder turned out not to be H.264 */
	uint64_t clients_total, bytes_sent, skips, dropped;
};

/* The oldest packet queued for c (there is one). */
static struct cr_packet *oldest(const struct client *c)
{
	return *(struct cr_packet **)cr_ring_at(&c->queue, 0);
}

static void client_clear_queue(struct client *c)
{
	for (struct cr_packet *pkt; cr_ring_pop(&c->queue, &pkt);)
		cr_packet_unref(&pkt);
	c->queued_bytes = 0;
	c->offset = 0;
}

/* Drops what c has queued, except a packet already partly sent (cutting it
 * would corrupt the stream), and makes it wait for the next keyframe. */
static void client_skip(struct cr_tcpstream *ts, struct client *c)
{
	struct cr_packet *partial = NULL;

	if (cr_ring_length(&c->queue) && (c->offset > 0 || c->header_sent < c->header_len))
		partial = cr_packet_ref(oldest(c));
	client_clear_queue(c);
	if (partial) {
		cr_ring_push(&c->queue, &partial, NULL);
		c->queued_bytes = cr_packet_size(partial);
	} else {
		c->header_len = c->header_sent = 0;
	}
	c->waiting_keyframe = true;
	ts->skips++;
}

/* Sets the camera's frame rate in the SPS of par; leaves par as it is
 * when that fails: players then guess the rate. */
static void set_sps_frame_rate(struct cr_tcpstream *ts, AVCodecParameters *par)
{
	double fps = cr_camera_format(ts->camera)->fps;
	int ret = fps > 0 ? cr_video_h264_set_frame_rate(par, fps) : 0;

	if (ret < 0)
		cr_warn("%s: tcp_stream: cannot set the frame rate in the SPS (%s); players may guess it",
			ts->camera_name, av_err2str(ret));
}

/* Reads the encoder's SPS/PPS once; false when the stream cannot be H.264. */
static bool have_header(struct cr_tcpstream *ts, unsigned params)
{
	AVCodecParameters *par;

	if (ts->header && ts->header_params != params) {
		/* The encoder reopened (the camera changed size): new SPS/PPS, and
		 * every client starts again at this keyframe. */
		free(ts->header);
		ts->header = NULL;
		for (unsigned i = 0; i < ts->nclients; i++)
			client_skip(ts, ts->clients[i]);
	}
	if (ts->header || ts->not_h264)
		return ts->header != NULL;
	ts->header_params = params;
	par = avcodec_parameters_alloc();
	if (par && cr_video_encoder_parameters(ts->encoder, par) == 0) {
		if (par->codec_id != AV_CODEC_ID_H264) {
			ts->not_h264 = true;
			cr_err("%s: tcp_stream: the encoder produces %s, not H.264; no stream", ts->camera_name,
			       avcodec_get_name(par->codec_id));
		} else {
			set_sps_frame_rate(ts, par);
			ts->header_len = (size_t)par->extradata_size;
			ts->header = cr_malloc(ts->header_len + 1);
			memcpy(ts->header, par->extradata, ts->header_len);
		}
	}
	avcodec_parameters_free(&par);
	return ts->header != NULL;
}

/* The encoder's sink: on the encoder thread, never blocks. */
static void on_packet(void *ctx, struct cr_packet *pkt)
{
	struct cr_tcpstream *ts = ctx;
	uint64_t one = 1;

	pthread_mutex_lock(&ts->lock);
	if (ts->nclients == 0 || (pkt->keyframe && !have_header(ts, pkt->params)) || ts->not_h264) {
		pthread_mutex_unlock(&ts->lock);
		return;
	}
	for (unsigned i = 0; i < ts->nclients; i++) {
		struct client *c = ts->clients[i];
		struct cr_packet *ref;

		if (c->waiting_keyframe) {
			if (!pkt->keyframe || !ts->header)
				continue;
			c->waiting_keyframe = false;
			if (cr_ring_length(&c->queue) == 0) {
				c->header_len = ts->header_len;
				c->header_sent = 0;
			}
		}
		if (cr_ring_full(&c->queue) || c->queued_bytes + cr_packet_size(pkt) > CLIENT_QUEUE_BYTES) {
			client_skip(ts, c);
			continue;
		}
		ref = cr_packet_ref(pkt);
		cr_ring_push(&c->queue, &ref, NULL);
		c->queued_bytes += cr_packet_size(pkt);
	}
	pthread_mutex_unlock(&ts->lock);
	(void)!write(ts->wake_fd, &one, sizeof(one));
}

/* Writes what c has queued until the socket would block. Returns 0, or -1
 * when the client is gone. Under ts->lock. */
static int client_send(struct cr_tcpstream *ts, struct client *c)
{
	while (cr_ring_length(&c->queue)) {
		struct cr_packet *pkt = oldest(c);
		struct iovec iov[2];
		int n = 0;
		ssize_t sent;

		if (c->header_sent < c->header_len)
			iov[n++] = (struct iovec){ ts->header + c->header_sent, c->header_len - c->header_sent };
		iov[n++] = (struct iovec){ pkt->av->data + c->offset, cr_packet_size(pkt) - c->offset };
		sent = writev(c->fd, iov, n);
		if (sent < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		c->last_progress_ns = cr_time_mono_ns();
		ts->bytes_sent += (uint64_t)sent;
		if (c->header_sent < c->header_len) {
			size_t h = c->header_len - c->header_sent < (size_t)sent ? c->header_len - c->header_sent
										   : (size_t)sent;

			c->header_sent += h;
			sent -= (ssize_t)h;
		}
		c->offset += (size_t)sent;
		if (c->offset < cr_packet_size(pkt))
			return 0;
		c->queued_bytes -= cr_packet_size(pkt);
		cr_ring_pop(&c->queue, NULL);
		cr_packet_unref(&pkt);
		c->offset = 0;
		c->header_len = c->header_sent = 0;
	}
	return 0;
}

/* Removes client i. Under ts->lock. */
static void client_remove(struct cr_tcpstream *ts, unsigned i, const char *why)
{
	struct client *c = ts->clients[i];

	cr_info("%s: tcp_stream: %s %s", ts->camera_name, c->peer, why);
	client_clear_queue(c);
	cr_ring_fini(&c->queue);
	close(c->fd);
	free(c);
	ts->clients[i] = ts->clients[--ts->nclients];
	if (ts->nclients == 0)
		cr_video_encoder_demand(ts->encoder, false);
}

static void accept_client(struct cr_tcpstream *ts)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	int fd = accept4(ts->listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
	struct client *c;
	char host[48] = "?";

	if (fd < 0)
		return;
	if (ts->nclients == MAX_CLIENTS || ts->nclients >= ts->config->max_clients) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A small kernel buffer: a client that stops reading stops taking bytes
	 * within a second or so, and the stall clock sees it (an autotuned one
	 * would absorb minutes of video first). */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ SEND_BUFFER }, sizeof(int));
	if (addr.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof(host));
	else if (addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof(host));
	c = CR_NEW(c);
	c->fd = fd;
	cr_ring_init(&c->queue, CLIENT_QUEUE, sizeof(struct cr_packet *), CR_RING_DROP_NEWEST);
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
		 ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port
						 : ((struct sockaddr_in6 *)&addr)->sin6_port));
	c->waiting_keyframe = true;
	c->last_progress_ns = cr_time_mono_ns();
	ts->clients[ts->nclients++] = c;
	ts->clients_total++;
	if (ts->nclients == 1)
		cr_video_encoder_demand(ts->encoder, true);
	cr_info("%s: tcp_stream: %s connected; it starts at the next keyframe", ts->camera_name, c->peer);
}

static void *tcpstream_thread(void *arg)
{
	struct cr_tcpstream *ts = arg;
	struct pollfd pfds[2 + MAX_CLIENTS];
	char name[16];

	snprintf(name, sizeof(name), "tcp:%s", ts->camera_name);
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load(&ts->stopping)) {
		unsigned n;
		int64_t now;

		pthread_mutex_lock(&ts->lock);
		pfds[0] = (struct pollfd){ .fd = ts->wake_fd, .events = POLLIN };
		pfds[1] = (struct pollfd){ .fd = ts->listen_fd, .events = POLLIN };
		for (n = 0; n < ts->nclients; n++) {
			struct client *c = ts->clients[n];

			pfds[2 + n] = (struct pollfd){ .fd = c->fd,
						       .events = POLLIN | (cr_ring_length(&c->queue) ? POLLOUT : 0) };
		}
		pthread_mutex_unlock(&ts->lock);
		if (poll(pfds, 2 + n, TICK_MS) < 0 && errno != EINTR)
			break;
		if (pfds[0].revents & POLLIN) {
			uint64_t v;

			(void)!read(ts->wake_fd, &v, sizeof(v));
		}
		pthread_mutex_lock(&ts->lock);
		now = cr_time_mono_ns();
		/* Clients only leave in this thread, so index i still names the
		 * client polled at 2 + i; walk down so removals keep that true. */
		for (unsigned i = n; i-- > 0;) {
			struct client *c = ts->clients[i];
			short ev = pfds[2 + i].revents;
			char junk[256];

			if (ev & (POLLERR | POLLHUP | POLLNVAL) ||
			    ((ev & POLLIN) && recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) == 0)) {
				client_remove(ts, i, "disconnected");
				continue;
			}
			if (client_send(ts, c) < 0) {
				client_remove(ts, i, "disconnected");
			} else if (cr_ring_length(&c->queue) && now - c->last_progress_ns > STALL_NS) {
				ts->dropped++;
				client_remove(ts, i, "took nothing for 10 s; disconnected");
			}
		}
		if (pfds[1].revents & POLLIN)
			accept_client(ts);
		pthread_mutex_unlock(&ts->lock);
	}
	return NULL;
}

int cr_tcpstream_new(struct cr_camera *cam, struct cr_video_encoder *shared,
		     const struct cr_tcp_stream_config *config, const struct cr_recording_config *recording,
		     struct cr_tcpstream **out)
{
	struct cr_tcpstream *ts = CR_NEW(ts);
	const char *listen = config->listen ? config->listen : DEFAULT_LISTEN;
	bool loopback;
	int ret;

	ts->config = config;
	ts->camera = cam;
	ts->camera_name = cr_camera_config(cam)->name;
	ts->listen_fd = ts->wake_fd = -1;
	pthread_mutex_init(&ts->lock, NULL);
	ret = cr_net_listen(listen, &ts->listen_fd, &loopback);
	if (ret < 0) {
		cr_err("%s: tcp_stream: cannot listen on %s: %s", ts->camera_name, listen, strerror(-ret));
		goto fail;
	}
	if (!loopback)
		cr_warn("%s: tcp_stream on %s: anyone who can connect gets the video (no authentication)",
			ts->camera_name, listen);
	ts->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ts->wake_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ts->encoder = shared;
	if (!shared) {
		ts->own_config = *recording;   /* borrowed strings: config outlives us */
		ts->own_config.codec = "h264";
		ts->own_config.zerolatency = true;
		ts->own_config.gop = 1;
		ts->own_config.gray = false;
		ts->own_config.pre_trigger = 0;
		ts->own_config.queue_depth = 8;
		ret = cr_video_encoder_new(cam, &ts->own_config, &ts->own_encoder);
		if (ret < 0)
			goto fail;
		ts->encoder = ts->own_encoder;
	}
	ret = cr_video_encoder_add_sink(ts->encoder, on_packet, ts);
	if (ret < 0)
		goto fail;
	cr_info("%s: raw H.264 on tcp://%s (%s encoder)", ts->camera_name, listen,
		shared ? "the recorder's" : "its own");
	*out = ts;
	return 0;
fail:
	cr_tcpstream_free(&ts);
	return ret;
}

int cr_tcpstream_start(struct cr_tcpstream *ts)
{
	int ret;

	if (ts->own_encoder) {
		ret = cr_video_encoder_start(ts->own_encoder);
		if (ret < 0)
			return ret;
	}
	ret = -pthread_create(&ts->thread, NULL, tcpstream_thread, ts);
	ts->started = ret == 0;
	return ret;
}

void cr_tcpstream_stop(struct cr_tcpstream *ts)
{
	uint64_t one = 1;

	atomic_store(&ts->stopping, true);
	if (ts->started) {
		(void)!write(ts->wake_fd, &one, sizeof(one));
		pthread_join(ts->thread, NULL);
		ts->started = false;
	}
	if (ts->own_encoder)
		cr_video_encoder_stop(ts->own_encoder);
	pthread_mutex_lock(&ts->lock);
	while (ts->nclients)
		client_remove(ts, ts->nclients - 1, "disconnected: camrig is stopping");
	pthread_mutex_unlock(&ts->lock);
}

void cr_tcpstream_free(struct cr_tcpstream **pts)
{
	struct cr_tcpstream *ts = *pts;

	if (!ts)
		return;
	*pts = NULL;
	cr_tcpstream_stop(ts);
	cr_video_encoder_free(&ts->own_encoder);
	if (ts->listen_fd >= 0)
		close(ts->listen_fd);
	if (ts->wake_fd >= 0)
		close(ts->wake_fd);
	free(ts->header);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

void cr_tcpstream_stats(struct cr_tcpstream *ts, struct cr_tcpstream_stats *stats)
{
	pthread_mutex_lock(&ts->lock);
	snprintf(stats->listen, sizeof(stats->listen), "%s", ts->config->listen ? ts->config->listen : DEFAULT_LISTEN);
	stats->clients = ts->nclients;
	stats->clients_total = ts->clients_total;
	stats->bytes_sent = ts->bytes_sent;
	stats->skips = ts->skips;
	stats->dropped = ts->dropped;
	stats->shared_encoder = ts->own_encoder == NULL;
	stats->not_h264 = ts->not_h264;
	pthread_mutex_unlock(&ts->lock);
}
