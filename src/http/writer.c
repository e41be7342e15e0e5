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
 * - Sending. A part (the boundary and headers, the JPEG stage's image and
 *   the closing CRLF) is the same bytes for every client of that image, so
 *   the first client to start it writes it once into a memfd (struct part)
 *   and every client sends it with one sendfile(): the kernel's TCP takes
 *   references to the memfd's pages instead of copying the image into each
 *   socket's buffer (on loopback the reader then copies from those pages).
 *   A part is sealed once made and never written again (its pages live on
 *   in the sent segments until they are acked); it is closed at the end of
 *   the first wake in which no client sends it, so a slow client that comes
 *   to its image later makes it again. Where no part can be had (the response head, a socket that is
 *   not non-blocking, no memfd) the stream is sent with sendmsg() from
 *   memory: up to three pieces, the image shared, not copied. Non-blocking
 *   either way; a partial write is remembered as an offset and continued
 *   when epoll (edge-triggered EPOLLOUT) says the socket has room. A client
 *   still sending an old image takes the newest one when it is done: latest
 *   wins, nothing queues.
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
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENTS_MAX 64                 /* epoll events taken per wake */

/* One image's part, as every client sends it: a memfd of len bytes. */
struct part {
	struct part *next;
	struct cr_jpeg *jpeg;        /* the image, held: the key */
	int fd;                      /* the memfd: boundary and headers, the image, CRLF */
	size_t len;                  /* bytes */
	unsigned users;              /* clients sending it */
};

/* One stream's connection. */
struct client {
	struct client *next;
	struct cr_http_stream *s;
	int fd;                      /* libmicrohttpd's socket, suspended: ours to write, not to close */
	bool nonblocking;            /* fd is O_NONBLOCK: sendfile() cannot block on it */
	struct part *part;           /* what it sends now, shared; NULL: from memory */
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
	struct part *parts;          /* the writer thread's: every part some client sends */
	atomic_uint_fast64_t nparts, sends, part_bytes; /* stats->shared */
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

/* c is done with its part; an unused part stays until the end of the wake
 * (parts_sweep()), for the clients that start its image after c. */
static void part_release(struct part **pp)
{
	if (*pp)
		(*pp)->users--;
	*pp = NULL;
}

/* Frees the parts no client sends. At the end of every wake: one that a
 * slow client comes to later is made again then. */
static void parts_sweep(struct cr_http_writer *w)
{
	for (struct part **link = &w->parts; *link;) {
		struct part *p = *link;

		if (p->users > 0) {
			link = &p->next;
			continue;
		}
		*link = p->next;
		atomic_fetch_sub(&w->part_bytes, p->len);
		close(p->fd);
		cr_jpeg_unref(&p->jpeg);
		free(p);
	}
}

/* A part of c's image: what c is about to send of it, written into a new
 * memfd and sealed against any change; NULL when one cannot be made (the
 * caller sends from memory). */
static struct part *part_new(struct client *c, struct cr_jpeg *jpeg)
{
	struct iovec iov[3];
	unsigned n = cr_http_stream_iov(c->s, iov), i = 0;
	struct part *p;
	size_t len = 0;
	int fd = memfd_create("camrig-mjpeg-part", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return NULL;
	for (unsigned k = 0; k < n; k++)
		len += iov[k].iov_len;
	while (i < n) {
		ssize_t got = writev(fd, iov + i, (int)(n - i));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			goto fail;
		for (size_t left = (size_t)got; left > 0;) { /* the pieces are never empty */
			size_t take = left < iov[i].iov_len ? left : iov[i].iov_len;

			iov[i].iov_base = (uint8_t *)iov[i].iov_base + take;
			iov[i].iov_len -= take;
			left -= take;
			if (iov[i].iov_len == 0)
				i++;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	p = CR_NEW(p);
	p->jpeg = cr_jpeg_ref(jpeg);
	p->fd = fd;
	p->len = len;
	return p;
fail:
	close(fd);
	return NULL;
}

/* The shared part of what c sends now, found or made (made only by a
 * client about to start it); *sent: how much of it c has sent. NULL: send
 * from memory. */
static struct part *part_of(struct cr_http_writer *w, struct client *c, size_t *sent)
{
	struct cr_jpeg *jpeg = cr_http_stream_part(c->s, sent);
	struct part *p;

	if (c->part && c->part->jpeg == jpeg)
		return c->part;
	part_release(&c->part);
	if (!jpeg || !c->nonblocking)
		return NULL;
	for (p = w->parts; p && p->jpeg != jpeg; p = p->next)
		;
	if (!p) {
		if (*sent > 0 || !(p = part_new(c, jpeg)))
			return NULL;
		p->next = w->parts;
		w->parts = p;
		atomic_fetch_add(&w->nparts, 1);
		atomic_fetch_add(&w->part_bytes, p->len);
	}
	p->users++;
	c->part = p;
	return p;
}

static void client_end(struct cr_http_writer *w, struct client *c)
{
	part_release(&c->part);
	epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	cr_http_stream_end(&c->s);
	free(c);
}

/* Advances c's stream and sends what it has until the socket is full or
 * there is nothing more. Returns false when the stream is over. */
static bool serve(struct cr_http_writer *w, struct client *c, int64_t now)
{
	int64_t idle_ns = (int64_t)CR_HTTP_IDLE_TIMEOUT_S * CR_NS_PER_SEC;

	if (c->gone)
		return false;
	for (;;) {
		struct iovec iov[3];
		struct msghdr msg = { .msg_iov = iov };
		int ret = cr_http_stream_next(c->s, now, &c->wake_ns);
		struct part *p;
		size_t sent;
		ssize_t n;

		if (ret <= 0)
			return ret == 0;
		if (!c->writable) {
			c->wake_ns = c->progress_ns + idle_ns;
			return now < c->wake_ns;
		}
		p = part_of(w, c, &sent);
		if (p) {
			/* A client that has gone makes this raise SIGPIPE (sendfile()
			 * takes no MSG_NOSIGNAL): blocked in this thread, it stays
			 * pending, and the call fails with EPIPE. */
			off_t off = (off_t)sent;

			n = sendfile(c->fd, p->fd, &off, p->len - sent);
		} else {
			msg.msg_iovlen = cr_http_stream_iov(c->s, iov);
			n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->writable = false;
			continue;
		}
		if (n < 0)
			return false; /* EPIPE, ECONNRESET: gone */
		c->progress_ns = now;
		if (cr_http_stream_sent(c->s, (size_t)n) && c->part) {
			atomic_fetch_add_explicit(&w->sends, 1, memory_order_relaxed);
			part_release(&c->part);
		}
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

			if (!serve(w, c, now)) {
				*link = c->next;
				client_end(w, c);
				continue;
			}
			if (c->wake_ns < next)
				next = c->wake_ns;
			link = &c->next;
		}
		parts_sweep(w);
		timeout = next == INT64_MAX ? -1 : next <= now ? 0 : (int)((next - now + CR_NS_PER_MS - 1) / CR_NS_PER_MS);
	}
	while (w->clients) {
		struct client *c = w->clients;

		w->clients = c->next;
		client_end(w, c);
	}
	parts_sweep(w);
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

void cr_http_writer_stats(struct cr_http_writer *w, struct cr_http_stats *stats)
{
	if (!w)
		return;
	stats->shared.parts = atomic_load(&w->nparts);
	stats->shared.sends = atomic_load(&w->sends);
	stats->shared.bytes = atomic_load(&w->part_bytes);
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
	c->nonblocking = c->fd >= 0 && (fcntl(c->fd, F_GETFL) & O_NONBLOCK);
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
