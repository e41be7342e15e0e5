/* The writer: one thread that sends every MJPEG stream served without TLS,
 * so that a hundred viewers cost a hundred writes a frame, not a hundred
 * threads woken and a hundred copies.
 *
 * Design. The stream daemon (server.c: libmicrohttpd, one polling thread)
 * reads and checks a stream's request like any other (on_request(): origin,
 * credentials, parameters, the camera, the live-view limit); the handler
 * (stream.c) then writes the response head into the stream, suspends the
 * connection (MHD_suspend_connection(): libmicrohttpd leaves the socket
 * alone and does not time it out) and hands both here
 * (cr_http_writer_take()). From then on this thread alone uses the socket:
 *
 * - Sending. Each part is one sendmsg() of up to three pieces: the part's
 *   boundary and headers, the image itself — the JPEG stage's refcounted
 *   image, shared by every client of its variant, never copied — and the
 *   closing CRLF, non-blocking; a partial write is remembered as an offset
 *   and continued when epoll (edge-triggered EPOLLOUT) says the socket has
 *   room. A client still sending an old image takes the newest one when it
 *   is done: latest wins, nothing queues.
 * - Waking. The JPEG stages call writer_notify() after each image they
 *   publish (an eventfd; wake-ups merge), and each stream says by when it
 *   wants a call anyway (an ?fps= image due, a health check for a
 *   placeholder, the idle timeout): the nearest is epoll_wait()'s timeout.
 *   On every wake each stream is advanced (cr_http_stream_next(): a few
 *   comparisons and, between images, one poll of its variant under the
 *   stage's lock) and sent what it has, so no stream is ever forgotten; a
 *   stream between images counts as waiting on its variant
 *   (cr_jpeg_variant_poll()), which is what makes the stage encode the
 *   next frame for it, as a blocked thread did before.
 * - Ending. A client that has gone (a send fails, or epoll says EPOLLHUP or
 *   EPOLLERR: its close is noticed by the second send after it at the
 *   latest, and every stream keeps sending, images or a placeholder a
 *   second; a client that only shuts down its sending side still gets its
 *   stream), a stream
 *   that ends (camrig stops, a HEAD answered) or one whose socket took
 *   nothing for CR_HTTP_IDLE_TIMEOUT_S ends here:
 *   cr_http_stream_end() releases what it holds and resumes the connection,
 *   and libmicrohttpd closes it and reports it closed (the acceptor's
 *   count, server.c). At stop every stream ends so, before the stream
 *   daemon stops (it must have no connection suspended).
 *
 * Threads and locks: the handler thread (the stream daemon's) adds to
 * incoming under lock; everything else here is the writer thread's. The
 * notify function runs under a JPEG stage's lock and only writes to the
 * eventfd. TLS streams are not here: with TLS the API pool's connection
 * threads send them (stream.c's callback response). */
#include "http/internal.h"

#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENTS_MAX 64                 /* epoll events taken per wake */

/* One stream's connection. */
struct client {
	struct client *next;
	struct cr_http_stream *s;
	int fd;                      /* libmicrohttpd's socket, suspended: ours to write, not to close */
	bool writable;               /* the last send took everything, or EPOLLOUT came since */
	bool gone;                   /* the connection was reset or failed */
	int64_t wake_ns;             /* the stream wants a call by then without an event (CLOCK_MONOTONIC) */
	int64_t progress_ns;         /* the last byte sent, or the hand-over (CLOCK_MONOTONIC) */
};

struct cr_http_writer {
	struct cr_http_server *server;
	int epoll_fd, wake_fd;
	pthread_t thread;
	bool started;
	struct client *clients;      /* the writer thread's */
	pthread_mutex_t lock;        /* guards incoming and stopped */
	struct client *incoming;     /* handed over, not yet seen by the thread */
	bool stopped;                /* no more hand-overs: cr_http_writer_take() ends them itself */
};

static void writer_notify(void *ctx)
{
	struct cr_http_writer *w = ctx;
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		cr_debug("http: waking the writer: %s", strerror(errno));
}

static void client_end(struct cr_http_writer *w, struct client *c)
{
	epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	cr_http_stream_end(&c->s);
	free(c);
}

/* Advances c's stream and sends what it has until the socket is full or
 * there is nothing more. Returns false when the stream is over. */
static bool serve(struct client *c, int64_t now)
{
	int64_t idle_ns = (int64_t)CR_HTTP_IDLE_TIMEOUT_S * CR_NS_PER_SEC;

	if (c->gone)
		return false;
	for (;;) {
		struct iovec iov[3];
		struct msghdr msg = { .msg_iov = iov };
		int ret = cr_http_stream_next(c->s, now, &c->wake_ns);
		ssize_t n;

		if (ret <= 0)
			return ret == 0;
		if (!c->writable) {
			c->wake_ns = c->progress_ns + idle_ns;
			return now < c->wake_ns;
		}
		msg.msg_iovlen = cr_http_stream_iov(c->s, iov);
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->writable = false;
			continue;
		}
		if (n < 0)
			return false; /* EPIPE, ECONNRESET: gone */
		c->progress_ns = now;
		cr_http_stream_sent(c->s, (size_t)n);
	}
}

/* The new clients, registered with epoll; false when the writer stops
 * (then they are ended). */
static bool take_incoming(struct cr_http_writer *w, int64_t now)
{
	struct client *c, *next;
	bool stopped;

	pthread_mutex_lock(&w->lock);
	c = w->incoming;
	w->incoming = NULL;
	stopped = w->stopped;
	pthread_mutex_unlock(&w->lock);
	for (; c; c = next) {
		struct epoll_event ev = { .events = EPOLLOUT | EPOLLET, .data.ptr = c };

		next = c->next;
		if (stopped || epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			cr_http_stream_end(&c->s);
			free(c);
			continue;
		}
		c->writable = true;
		c->progress_ns = now;
		c->next = w->clients;
		w->clients = c;
	}
	return !stopped;
}

static void *run(void *arg)
{
	struct cr_http_writer *w = arg;
	struct epoll_event events[EVENTS_MAX];
	int timeout = -1;

	for (;;) {
		int n = epoll_wait(w->epoll_fd, events, EVENTS_MAX, timeout);
		int64_t now, next = INT64_MAX;
		struct client **link;

		if (n < 0 && errno != EINTR) {
			cr_err("http: writer: epoll_wait: %s; MJPEG streams stop", strerror(errno));
			n = 0;
			pthread_mutex_lock(&w->lock);
			w->stopped = true;
			pthread_mutex_unlock(&w->lock);
		}
		for (int i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;
			uint64_t count;

			if (!c) {
				if (read(w->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
					cr_debug("http: writer: reading its eventfd: %s", strerror(errno));
				continue;
			}
			if (events[i].events & EPOLLOUT)
				c->writable = true;
			if (events[i].events & (EPOLLHUP | EPOLLERR))
				c->gone = true;
		}
		now = cr_time_mono_ns();
		if (!take_incoming(w, now))
			break;
		for (link = &w->clients; *link;) {
			struct client *c = *link;

			if (!serve(c, now)) {
				*link = c->next;
				client_end(w, c);
				continue;
			}
			if (c->wake_ns < next)
				next = c->wake_ns;
			link = &c->next;
		}
		timeout = next == INT64_MAX ? -1 : next <= now ? 0 : (int)((next - now + CR_NS_PER_MS - 1) / CR_NS_PER_MS);
	}
	while (w->clients) {
		struct client *c = w->clients;

		w->clients = c->next;
		client_end(w, c);
	}
	return NULL;
}

int cr_http_writer_new(struct cr_http_server *server, struct cr_http_writer **out)
{
	struct cr_http_writer *w = CR_NEW(w);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	w->server = server;
	pthread_mutex_init(&w->lock, NULL);
	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epoll_fd < 0 || w->wake_fd < 0 || epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0) {
		int ret = -errno;

		cr_err("http: cannot set up the stream writer: %s", strerror(-ret));
		cr_http_writer_free(&w);
		return ret;
	}
	*out = w;
	return 0;
}

int cr_http_writer_start(struct cr_http_writer *w)
{
	const struct cr_http_context *ctx = w->server->ctx;
	sigset_t all, old;
	int ret;

	for (unsigned i = 0; i < ctx->ncameras; i++)
		cr_jpeg_stage_set_notify(ctx->cameras[i].jpeg, writer_notify, w);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread starts with every signal blocked */
	ret = -pthread_create(&w->thread, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "http: cannot start the stream writer: %s", strerror(-ret));
	pthread_setname_np(w->thread, "http-writer");
	w->started = true;
	return 0;
}

void cr_http_writer_take(struct cr_http_writer *w, struct cr_http_request *req, struct cr_http_stream *s)
{
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct client *c = CR_NEW(c);
	bool stopped;
	int one = 1;

	MHD_suspend_connection(req->conn);
	*req->taken = true;
	c->s = s;
	c->fd = fd ? fd->connect_fd : -1;
	/* Each part leaves in one send: no need to wait for an ACK before
	 * the last segment of an image (Nagle's algorithm). */
	if (c->fd >= 0)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_mutex_lock(&w->lock);
	stopped = w->stopped || c->fd < 0;
	if (!stopped) {
		c->next = w->incoming;
		w->incoming = c;
	}
	pthread_mutex_unlock(&w->lock);
	if (stopped) {
		cr_http_stream_end(&c->s);
		free(c);
		return;
	}
	writer_notify(w);
}

void cr_http_writer_stop(struct cr_http_writer *w)
{
	const struct cr_http_context *ctx;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopped = true;
	pthread_mutex_unlock(&w->lock);
	if (w->started) {
		writer_notify(w);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	/* Handed over after the thread's last look: this thread ends them. */
	while (w->incoming) {
		struct client *c = w->incoming;

		w->incoming = c->next;
		cr_http_stream_end(&c->s);
		free(c);
	}
	ctx = w->server->ctx;
	for (unsigned i = 0; i < ctx->ncameras; i++)
		cr_jpeg_stage_set_notify(ctx->cameras[i].jpeg, NULL, NULL);
}

void cr_http_writer_free(struct cr_http_writer **pw)
{
	struct cr_http_writer *w = *pw;

	if (!w)
		return;
	*pw = NULL;
	cr_http_writer_stop(w);
	if (w->epoll_fd >= 0)
		close(w->epoll_fd);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
