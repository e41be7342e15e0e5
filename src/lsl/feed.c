/* LSL outlet, TCP side: the data server every inlet connects to.
 *
 * One thread ("lsl-tcp") runs an epoll loop over the listening socket, the
 * outlet's stop and wake eventfds, and up to CR_LSL_MAX_INLETS non-blocking
 * connections. A connection starts in REQUEST: it has the request timeout
 * (o->request_timeout_ns, 2 s by default) from its accept() to send a
 * complete request of at most REQUEST_MAX bytes, parsed as
 * liblsl's tcp_server.cpp does:
 *   LSL:fullinfo                  -> the full XML, then close
 *   LSL:shortinfo + query line    -> the short XML if the query matches, then close
 *   LSL:streamfeed/110 <uid> + headers + blank line
 *                                 -> 1.10 response header, two test-pattern
 *                                    samples, then every pushed sample (STREAM)
 * or it is closed; and when every slot is taken a new connection closes the
 * one that has waited longest for its request, so idle or hostile
 * connections cannot hold the slots. A request is refused as liblsl refuses:
 * "LSL/110 505 Version not supported" for a major version above 1 (and,
 * unlike liblsl, for anything that would need the 1.00 data protocol; for a
 * string stream Value-Size is ignored, as liblsl does), "LSL/110 404 Not
 * found" for another stream's uid, and a silent close for anything
 * unparseable. One-shot replies end with shutdown(SHUT_WR) and a short
 * LINGER for the inlet to close first, so a reply is never cut by a reset.
 *
 * Samples: distribute() takes every queued slot from the push ring (samples
 * are encoded at push time, internal.h) and appends it to every streaming
 * inlet's ring of slots (capacity = the inlet's Max-Buffer-Length, at most
 * o->inlet_capacity: 4096 frames or 32 markers), then writes each ring with
 * one non-blocking sendmsg(): a frames ring is contiguous 33-byte samples (at
 * most two iovecs), a markers ring one iovec per marker. A ring that fills
 * is written out first; when the socket takes nothing more, the ring drops
 * its oldest sample not yet begun (liblsl's consumer queue also drops the
 * oldest) and counts it; an inlet whose socket accepts no byte for the stall
 * timeout (10 s by default) while data waits is disconnected.
 *
 * Who sends. The pushing thread itself runs distribute() when it can
 * (cr_lsl_feed_send_now(): at most LSL_INLINE_INLETS streaming inlets and
 * the TCP thread not busy), so a sample reaches the socket without waiting
 * for a thread to be scheduled, which is what a loaded machine makes slow;
 * otherwise, and whenever data is left waiting on a full socket, it wakes
 * the TCP thread through the eventfd and that thread sends. Both hold
 * feed->lock while they touch the inlets: the TCP thread for each batch of
 * epoll events (never across epoll_wait()), the pushing thread only through
 * pthread_mutex_trylock(), so a push never waits for the lock, and every
 * socket call it makes is non-blocking. Lock order: feed->lock, then
 * o->lock (cr_lsl_outlet_take()). Nothing here ever blocks the capture
 * thread or another inlet. */
#include "lsl/internal.h"

#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define REQUEST_MAX 4096                        /* bytes: request line + headers */
#define LINGER_TIMEOUT_NS (2 * CR_NS_PER_SEC)   /* after a one-shot reply, for the inlet to close */
#define ACCEPT_PAUSE_NS (CR_NS_PER_SEC)         /* out of file descriptors: stop accepting this long */
#define MARKER_IOV 64                           /* markers handed to one sendmsg(), at most */
#define SEND_BUFFER 65536                       /* SO_SNDBUF per inlet, bytes */
#define HEAD_MAX 512                            /* bytes of a feed response header + test patterns */

#define ID_STOP UINT64_MAX
#define ID_WAKE (UINT64_MAX - 1)
#define ID_LISTEN (UINT64_MAX - 2)

enum inlet_state { IN_FREE, IN_REQUEST, IN_REPLY, IN_LINGER, IN_STREAM };

struct inlet {
	enum inlet_state state;
	int fd;
	uint32_t gen;                 /* bumped at close: events of an older connection are stale */
	bool want_out, reading;       /* registered for EPOLLOUT / EPOLLIN */
	bool eof;                     /* the inlet closed its side */
	char peer[INET_ADDRSTRLEN + 8];
	int64_t deadline_ns;          /* REQUEST and LINGER: when to give up, CLOCK_MONOTONIC */
	int64_t progress_ns;          /* STREAM: when the socket last accepted bytes or data began waiting */
	char *req;                    /* REQUEST: REQUEST_MAX + 1 bytes */
	size_t req_len;               /* bytes in req */
	const char *pre;              /* bytes to send before any sample: a reply or the feed header */
	size_t pre_len, pre_off;      /* bytes */
	char head[HEAD_MAX];          /* the feed header, pre points here in STREAM */
	struct cr_ring ring;          /* STREAM: slots (o->slot_bytes) of encoded samples, oldest first */
	unsigned head_off;            /* bytes of the head sample already sent */
	uint64_t sent, skipped;       /* samples */
};

struct lsl_feed {
	/* Guards every field below and the inlets' state (see the top). */
	pthread_mutex_t lock;
	bool serving;                 /* the TCP thread runs: a push may send */
	int listen_fd, epoll_fd;
	int64_t accept_paused_until;  /* ns; 0: accepting */
	struct inlet inlet[CR_LSL_MAX_INLETS];
	uint8_t *batch;               /* o->push_capacity slots taken from the push ring */
	char scratch[4096];           /* bytes read and discarded after the request */
};

int cr_lsl_feed_open(struct cr_lsl_outlet *o)
{
	struct lsl_feed *f = CR_NEW(f);
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, ret;

	o->feed = f;
	pthread_mutex_init(&f->lock, NULL);
	f->epoll_fd = -1;
	f->batch = cr_malloc((size_t)o->push_capacity * o->slot_bytes);
	for (int i = 0; i < CR_LSL_MAX_INLETS; i++)
		f->inlet[i].fd = -1;
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0)
		return cr_log_ret(-errno, CR_LOG_ERROR, "lsl: %s: TCP socket: %s", o->field[LSL_F_NAME],
				  strerror(errno));
	/* Reuse a port whose previous owner left TIME_WAIT connections behind. */
	setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ret = cr_lsl_bind_port(f->listen_fd, o->base_port, &o->data_port);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "lsl: %s: cannot bind a TCP data port from %u: %s",
				  o->field[LSL_F_NAME], o->base_port, strerror(-ret));
	if (listen(f->listen_fd, 16) < 0)
		return cr_log_ret(-errno, CR_LOG_ERROR, "lsl: %s: listen on TCP port %u: %s", o->field[LSL_F_NAME],
				  o->data_port, strerror(errno));
	f->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epoll_fd < 0)
		return cr_log_ret(-errno, CR_LOG_ERROR, "lsl: %s: epoll: %s", o->field[LSL_F_NAME], strerror(errno));
	ev.data.u64 = ID_STOP;
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, o->stop_fd, &ev) < 0)
		goto epoll_failed;
	ev.data.u64 = ID_WAKE;
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, o->wake_fd, &ev) < 0)
		goto epoll_failed;
	ev.data.u64 = ID_LISTEN;
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, f->listen_fd, &ev) < 0)
		goto epoll_failed;
	return 0;

epoll_failed:
	return cr_log_ret(-errno, CR_LOG_ERROR, "lsl: %s: epoll_ctl: %s", o->field[LSL_F_NAME], strerror(errno));
}

static void inlet_release(struct cr_lsl_outlet *o, struct inlet *in)
{
	if (in->state == IN_STREAM)
		atomic_fetch_sub(&o->streaming, 1);
	atomic_fetch_sub(&o->inlets, 1);
	close(in->fd); /* also leaves the epoll set */
	free(in->req);
	cr_ring_fini(&in->ring);
	in->req = NULL;
	in->fd = -1;
	in->state = IN_FREE;
	in->gen++;
}

void cr_lsl_feed_close(struct cr_lsl_outlet *o)
{
	struct lsl_feed *f = o->feed;

	if (!f)
		return;
	for (int i = 0; i < CR_LSL_MAX_INLETS; i++)
		if (f->inlet[i].state != IN_FREE)
			inlet_release(o, &f->inlet[i]);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->epoll_fd >= 0)
		close(f->epoll_fd);
	free(f->batch);
	pthread_mutex_destroy(&f->lock);
	free(f);
	o->feed = NULL;
}

/* ---- connection bookkeeping ---- */

static uint64_t inlet_id(const struct lsl_feed *f, const struct inlet *in)
{
	return (uint64_t)in->gen << 32 | (uint64_t)(in - f->inlet);
}

/* Registers the events the inlet's state needs. */
static int inlet_watch(struct lsl_feed *f, struct inlet *in, bool reading, bool want_out)
{
	struct epoll_event ev = { .events = (reading ? EPOLLIN | EPOLLRDHUP : 0) | (want_out ? EPOLLOUT : 0),
				  .data.u64 = inlet_id(f, in) };

	if (reading == in->reading && want_out == in->want_out)
		return 0;
	in->reading = reading;
	in->want_out = want_out;
	return epoll_ctl(f->epoll_fd, EPOLL_CTL_MOD, in->fd, &ev) < 0 ? -errno : 0;
}

static void inlet_close(struct cr_lsl_outlet *o, struct inlet *in, const char *why)
{
	if (in->state == IN_STREAM)
		cr_info("lsl: %s: inlet %s %s after %llu samples (%llu skipped)", o->field[LSL_F_NAME], in->peer,
			why, (unsigned long long)in->sent, (unsigned long long)in->skipped);
	else
		cr_debug("lsl: %s: connection from %s %s", o->field[LSL_F_NAME], in->peer, why);
	inlet_release(o, in);
}

static void inlet_refuse(struct cr_lsl_outlet *o, struct inlet *in, const char *why)
{
	atomic_fetch_add_explicit(&o->requests_refused, 1, memory_order_relaxed);
	inlet_close(o, in, why);
}

/* Whether the connection on fd came to an address of an allowed interface. */
static bool accept_allowed(struct cr_lsl_outlet *o, int fd)
{
	struct sockaddr_in local;
	socklen_t len = sizeof(local);

	if (!o->interfaces)
		return true;
	return getsockname(fd, (struct sockaddr *)&local, &len) == 0 && local.sin_family == AF_INET &&
	       cr_lsl_address_allowed(o, local.sin_addr);
}

/* A free inlet slot; when every slot is taken, the one that has waited
 * longest for a request is closed for it, so idle connections cannot lock
 * inlets out. NULL when every slot streams or answers. */
static struct inlet *free_slot(struct cr_lsl_outlet *o, struct lsl_feed *f)
{
	struct inlet *idle = NULL;

	for (int i = 0; i < CR_LSL_MAX_INLETS; i++) {
		struct inlet *in = &f->inlet[i];

		if (in->state == IN_FREE)
			return in;
		if (in->state == IN_REQUEST && (!idle || in->deadline_ns < idle->deadline_ns))
			idle = in;
	}
	if (idle)
		inlet_refuse(o, idle, "closed: every connection was taken and it had sent no request");
	return idle;
}

static void accept_all(struct cr_lsl_outlet *o, struct lsl_feed *f, int64_t now)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(f->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct inlet *in = NULL;
		int one = 1, sndbuf = SEND_BUFFER;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				cr_warn("lsl: %s: cannot accept inlets: %s", o->field[LSL_F_NAME], strerror(errno));
				ev.events = 0;
				ev.data.u64 = ID_LISTEN;
				epoll_ctl(f->epoll_fd, EPOLL_CTL_MOD, f->listen_fd, &ev);
				f->accept_paused_until = now + ACCEPT_PAUSE_NS;
			}
			return; /* EAGAIN, or a connection that died in the backlog */
		}
		if (!accept_allowed(o, fd)) {
			atomic_fetch_add_explicit(&o->requests_refused, 1, memory_order_relaxed);
			close(fd);
			continue;
		}
		in = free_slot(o, f);
		if (!in) {
			cr_debug("lsl: %s: %d connections open, refusing another", o->field[LSL_F_NAME],
				 CR_LSL_MAX_INLETS);
			atomic_fetch_add_explicit(&o->requests_refused, 1, memory_order_relaxed);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		in->state = IN_REQUEST;
		in->fd = fd;
		in->want_out = false;
		in->reading = true;
		in->eof = false;
		in->deadline_ns = now + o->request_timeout_ns;
		in->req = cr_malloc(REQUEST_MAX + 1);
		in->req_len = 0;
		in->pre = NULL;
		in->pre_len = in->pre_off = 0;
		in->head_off = 0;
		in->sent = in->skipped = 0;
		inet_ntop(AF_INET, &sa.sin_addr, in->peer, INET_ADDRSTRLEN);
		snprintf(in->peer + strlen(in->peer), sizeof(in->peer) - strlen(in->peer), ":%u", ntohs(sa.sin_port));
		atomic_fetch_add(&o->inlets, 1);
		ev.data.u64 = inlet_id(f, in);
		if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			cr_warn("lsl: %s: epoll_ctl: %s", o->field[LSL_F_NAME], strerror(errno));
			inlet_release(o, in);
		}
	}
}

/* ---- sending ---- */

static bool inlet_pending(const struct inlet *in)
{
	return in->pre_off < in->pre_len || cr_ring_length(&in->ring) > 0;
}

/* Writes as much as the socket takes. Returns false when the inlet was closed. */
static bool inlet_flush(struct cr_lsl_outlet *o, struct lsl_feed *f, struct inlet *in, int64_t now)
{
	struct iovec iov[1 + MARKER_IOV];
	struct msghdr msg = { .msg_iov = iov };
	unsigned queued = cr_ring_length(&in->ring);
	int n = 0;
	ssize_t sent;
	size_t k;

	if (in->pre_off < in->pre_len)
		iov[n++] = (struct iovec){ (void *)(in->pre + in->pre_off), in->pre_len - in->pre_off };
	if (queued > 0 && !o->markers) {
		/* Frames: slots are the samples, back to back. */
		unsigned first_n, second_n;
		void *first, *second;

		cr_ring_spans(&in->ring, &first, &first_n, &second, &second_n);
		iov[n++] = (struct iovec){ (uint8_t *)first + in->head_off,
					   (size_t)first_n * LSL_SAMPLE_BYTES - in->head_off };
		if (second_n > 0)
			iov[n++] = (struct iovec){ second, (size_t)second_n * LSL_SAMPLE_BYTES };
	} else if (queued > 0) {
		/* Markers: each slot holds its length and a sample of that length. */
		for (unsigned i = 0; i < queued && i < MARKER_IOV; i++) {
			const uint8_t *slot = cr_ring_at(&in->ring, i);
			size_t skip = i == 0 ? in->head_off : 0;

			iov[n++] = (struct iovec){ (void *)(cr_lsl_slot_data(o, slot) + skip),
						   cr_lsl_slot_length(o, slot) - skip };
		}
	}
	if (n > 0) {
		msg.msg_iovlen = (size_t)n;
		sent = sendmsg(in->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				inlet_close(o, in, errno == EPIPE || errno == ECONNRESET ? "disconnected" : "failed");
				return false;
			}
			sent = 0;
		}
		if (sent > 0)
			in->progress_ns = now;
		k = in->pre_len - in->pre_off < (size_t)sent ? in->pre_len - in->pre_off : (size_t)sent;
		in->pre_off += k;
		sent -= (ssize_t)k;
		while (sent > 0) {
			k = cr_lsl_slot_length(o, cr_ring_at(&in->ring, 0)) - in->head_off;
			if ((size_t)sent < k) {
				in->head_off += (unsigned)sent;
				break;
			}
			sent -= (ssize_t)k;
			in->head_off = 0;
			cr_ring_drop(&in->ring, 1);
			in->sent++;
			atomic_fetch_add_explicit(&o->samples_sent, 1, memory_order_relaxed);
		}
	}
	if (in->state == IN_REPLY && !inlet_pending(in)) {
		/* One-shot reply sent: end our side, let the inlet close first. */
		shutdown(in->fd, SHUT_WR);
		if (in->eof) {
			inlet_close(o, in, "answered");
			return false;
		}
		in->state = IN_LINGER;
		in->deadline_ns = now + LINGER_TIMEOUT_NS;
	}
	if (inlet_watch(f, in, !in->eof, inlet_pending(in)) < 0) {
		inlet_close(o, in, "failed");
		return false;
	}
	return true;
}

/* Appends one slot; a full ring first drops its oldest sample that has not
 * begun to go out. */
static void inlet_append(struct cr_lsl_outlet *o, struct inlet *in, const uint8_t *slot, int64_t now)
{
	if (!inlet_pending(in))
		in->progress_ns = now; /* the stall clock runs while data waits */
	if (cr_ring_full(&in->ring)) {
		/* The head is half sent: keep it, drop the one behind it by
		 * moving the head's slot one on (capacity >= 2). */
		if (in->head_off > 0)
			memcpy(cr_ring_at(&in->ring, 1), cr_ring_at(&in->ring, 0), o->slot_bytes);
		cr_ring_drop(&in->ring, 1);
		in->skipped++;
		atomic_fetch_add_explicit(&o->samples_skipped, 1, memory_order_relaxed);
	}
	cr_ring_push(&in->ring, slot, NULL);
}

/* Moves every pushed sample to every streaming inlet and writes them out. */
static void distribute(struct cr_lsl_outlet *o, struct lsl_feed *f, int64_t now)
{
	unsigned n;

	while ((n = cr_lsl_outlet_take(o, f->batch, o->push_capacity)) > 0) {
		for (int i = 0; i < CR_LSL_MAX_INLETS; i++) {
			struct inlet *in = &f->inlet[i];

			if (in->state != IN_STREAM)
				continue;
			for (unsigned s = 0; s < n; s++) {
				/* Full: hand the socket what it takes before dropping. */
				if (cr_ring_full(&in->ring) && !in->want_out && !inlet_flush(o, f, in, now))
					break; /* closed */
				inlet_append(o, in, f->batch + (size_t)s * o->slot_bytes, now);
			}
			if (in->state != IN_STREAM)
				continue;
			if (!in->want_out) /* else the socket is full: EPOLLOUT will come */
				inlet_flush(o, f, in, now);
		}
	}
}

/* ---- requests ---- */

static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

static bool span_is(const char *s, const char *e, const char *word)
{
	return (size_t)(e - s) == strlen(word) && memcmp(s, word, (size_t)(e - s)) == 0;
}

/* Parses an integer header value as std::stoi would need it: digits with an
 * optional sign, nothing else. */
static bool parse_int(const char *s, const char *e, long *out)
{
	char buf[24], *end;

	if (e - s <= 0 || (size_t)(e - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	errno = 0;
	*out = strtol(buf, &end, 10);
	return !*end && !errno;
}

static void start_reply(struct cr_lsl_outlet *o, struct lsl_feed *f, struct inlet *in, const char *data,
			size_t len, int64_t now)
{
	free(in->req);
	in->req = NULL;
	in->state = IN_REPLY;
	in->progress_ns = now;
	in->pre = data;
	in->pre_len = len;
	in->pre_off = 0;
	inlet_flush(o, f, in, now);
}

static void refuse_status(struct cr_lsl_outlet *o, struct lsl_feed *f, struct inlet *in, const char *status,
			  int64_t now)
{
	atomic_fetch_add_explicit(&o->requests_refused, 1, memory_order_relaxed);
	cr_debug("lsl: %s: refusing streamfeed from %s: %s", o->field[LSL_F_NAME], in->peer, status);
	snprintf(in->head, sizeof(in->head), "LSL/%d %s\r\n", LSL_PROTOCOL_VERSION, status);
	start_reply(o, f, in, in->head, strlen(in->head), now);
}

/* "LSL:streamfeed/<version> <uid>\r\n" + "Key: value\r\n"... + "\r\n";
 * line..line_end is the request line, hdr..hdr_end the header lines. */
static void handle_streamfeed(struct cr_lsl_outlet *o, struct lsl_feed *f, struct inlet *in, const char *line,
			      const char *line_end, const char *hdr, const char *hdr_end, int64_t now)
{
	const char *v = line + strlen("LSL:streamfeed/"), *v_end, *uid, *uid_end;
	long version, byte_order = 1234, value_size = 8, ieee754 = 1, subnormals = 1, max_buffered = 0;
	long protocol, max_chunk = 0;
	unsigned capacity;
	uint8_t *p;
	double pattern[CR_LSL_CHANNELS];
	int len;

	for (v_end = v; v_end < line_end && *v_end != ' ' && *v_end != '\t'; v_end++)
		;
	for (uid = v_end; uid < line_end && (*uid == ' ' || *uid == '\t'); uid++)
		;
	for (uid_end = uid; uid_end < line_end && *uid_end != ' ' && *uid_end != '\t'; uid_end++)
		;
	if (!parse_int(v, v_end, &version) || version < 0) {
		inlet_refuse(o, in, "sent a malformed streamfeed version");
		return;
	}
	/* liblsl's order: a newer major version first, then the uid. */
	if (version / 100 > LSL_PROTOCOL_VERSION / 100) {
		refuse_status(o, f, in, "505 Version not supported", now);
		return;
	}
	if (uid_end > uid && !span_is(uid, uid_end, o->field[LSL_F_UID])) {
		refuse_status(o, f, in, "404 Not found", now);
		return;
	}
	protocol = version;
	/* Header lines: key and value trimmed, case-insensitive, ';' starts a comment. */
	while (hdr < hdr_end) {
		const char *eol = memchr(hdr, '\n', (size_t)(hdr_end - hdr)), *k = hdr, *k_end, *val, *val_end;
		char key[32];
		long num;
		size_t n;

		eol = eol ? eol : hdr_end;
		hdr = eol + (eol < hdr_end);
		val_end = memchr(k, ';', (size_t)(eol - k));
		val_end = val_end ? val_end : eol;
		k_end = memchr(k, ':', (size_t)(val_end - k));
		if (!k_end)
			continue;
		val = k_end + 1;
		trim(&k, &k_end);
		trim(&val, &val_end);
		n = (size_t)(k_end - k);
		if (n >= sizeof(key))
			continue;
		for (size_t i = 0; i < n; i++)
			key[i] = (char)tolower((unsigned char)k[i]);
		key[n] = '\0';
		if (strcmp(key, "native-byte-order") && strcmp(key, "has-ieee754-floats") &&
		    strcmp(key, "supports-subnormals") && strcmp(key, "value-size") &&
		    strcmp(key, "max-buffer-length") && strcmp(key, "max-chunk-length") &&
		    strcmp(key, "protocol-version"))
			continue; /* Endian-Performance, Hostname, Source-Id, Session-Id, ...: unused */
		if (!parse_int(val, val_end, &num)) {
			inlet_refuse(o, in, "sent a malformed streamfeed header");
			return;
		}
		if (!strcmp(key, "native-byte-order"))
			byte_order = num;
		else if (!strcmp(key, "has-ieee754-floats"))
			ieee754 = num;
		else if (!strcmp(key, "supports-subnormals"))
			subnormals = num;
		else if (!strcmp(key, "value-size"))
			value_size = num;
		else if (!strcmp(key, "max-buffer-length"))
			max_buffered = num;
		else if (!strcmp(key, "max-chunk-length"))
			max_chunk = num;
		else
			protocol = num;
	}
	(void)byte_order; /* we send our own order and say so; liblsl inlets convert */
	(void)max_chunk;  /* every sample is sent as soon as it is pushed */
	/* liblsl would fall back to the 1.00 portable archive for these; camrig
	 * speaks 1.10 only (doc/lsl-protocol.md). A string channel has no value
	 * size (inlets send sizeof(std::string)): liblsl ignores it, so do we. */
	if (version < LSL_PROTOCOL_VERSION || protocol < LSL_PROTOCOL_VERSION || (value_size != 8 && !o->markers) ||
	    !ieee754) {
		refuse_status(o, f, in, "505 Version not supported", now);
		return;
	}

	len = snprintf(in->head, sizeof(in->head),
		       "LSL/%d 200 OK\r\nUID: %s\r\nByte-Order: %d\r\nSuppress-Subnormals: %d\r\n"
		       "Data-Protocol-Version: %d\r\n\r\n",
		       LSL_PROTOCOL_VERSION, o->field[LSL_F_UID], __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4321 : 1234,
		       subnormals || o->markers ? 0 : 1, LSL_PROTOCOL_VERSION);
	p = (uint8_t *)in->head + len;
	/* liblsl sample::assign_test_pattern(4), then (2): timestamp 123456.789,
	 * double64 channel k = +-(k + offset + 16777217), negative for odd k;
	 * string channel k = the decimal text of +-(k + 10), whatever the offset
	 * (one channel: "10"). */
	for (int offset = 4; offset >= 2; offset -= 2) {
		if (o->markers) {
			p += cr_lsl_string_encode(p, 123456.789, "10", 2);
			continue;
		}
		for (int k = 0; k < CR_LSL_CHANNELS; k++)
			pattern[k] = (double)(k + offset + 16777217) * (k % 2 == 0 ? 1 : -1);
		cr_lsl_sample_encode(p, 123456.789, pattern);
		p += LSL_SAMPLE_BYTES;
	}
	in->pre = in->head;
	in->pre_len = (size_t)(p - (uint8_t *)in->head);
	in->pre_off = 0;
	in->progress_ns = now;
	free(in->req);
	in->req = NULL;
	if (max_buffered <= 0) {
		/* liblsl sends the header and test patterns and nothing more. */
		in->state = IN_REPLY;
		inlet_flush(o, f, in, now);
		return;
	}
	capacity = o->inlet_capacity; /* 4096 frames or 32 markers */
	if (max_buffered < (long)capacity)
		capacity = max_buffered < 2 ? 2 : (unsigned)max_buffered;
	cr_ring_init(&in->ring, capacity, o->slot_bytes, CR_RING_DROP_NEWEST);
	in->state = IN_STREAM;
	in->progress_ns = now;
	atomic_fetch_add(&o->streaming, 1);
	atomic_fetch_add_explicit(&o->inlets_total, 1, memory_order_relaxed);
	cr_info("lsl: %s: inlet %s streaming (protocol 1.10, buffer %u samples)", o->field[LSL_F_NAME], in->peer,
		in->ring.capacity);
	inlet_flush(o, f, in, now);
}

/* Acts on the request once it is complete; waits for more bytes otherwise. */
static void handle_request(struct cr_lsl_outlet *o, struct lsl_feed *f, struct inlet *in, int64_t now)
{
	const char *req = in->req, *end = req + in->req_len, *nl = memchr(req, '\n', in->req_len);
	const char *line = req, *line_end = nl, *next, *nl2, *blank;

	if (!nl)
		goto incomplete;
	trim(&line, &line_end);
	next = nl + 1;
	if (span_is(line, line_end, "LSL:fullinfo")) {
		start_reply(o, f, in, o->fullinfo, o->fullinfo_len, now);
	} else if (span_is(line, line_end, "LSL:shortinfo")) {
		const char *q = next, *q_end;

		nl2 = memchr(next, '\n', (size_t)(end - next));
		if (!nl2)
			goto incomplete;
		q_end = nl2;
		trim(&q, &q_end);
		if (cr_lsl_query_match(o, q, (size_t)(q_end - q))) {
			atomic_fetch_add_explicit(&o->queries_answered, 1, memory_order_relaxed);
			start_reply(o, f, in, o->shortinfo, o->shortinfo_len, now);
		} else {
			start_reply(o, f, in, NULL, 0, now); /* no match: just close */
		}
	} else if (line_end - line > 15 && memcmp(line, "LSL:streamfeed/", 15) == 0) {
		/* liblsl reads up to "\r\n\r\n" (the request line's own "\r\n"
		 * may be its first half); a bare "\n\n" is accepted too. */
		const char *from = nl > req && nl[-1] == '\r' ? nl - 1 : nl;

		blank = memmem(from, (size_t)(end - from), "\r\n\r\n", 4);
		if (!blank)
			blank = memmem(nl, (size_t)(end - nl), "\n\n", 2);
		if (!blank)
			goto incomplete;
		handle_streamfeed(o, f, in, line, line_end, next, blank, now);
	} else if (span_is(line, line_end, "LSL:streamfeed")) {
		inlet_refuse(o, in, "asked for the 1.00 protocol (refused)");
	} else {
		inlet_refuse(o, in, "sent an unknown request");
	}
	return;

incomplete:
	if (in->req_len >= REQUEST_MAX)
		inlet_refuse(o, in, "sent an oversized request");
}

/* Reads what the inlet sent: the request, or bytes to discard afterwards. */
static void inlet_read(struct cr_lsl_outlet *o, struct lsl_feed *f, struct inlet *in, int64_t now)
{
	for (int round = 0; round < 4; round++) {
		ssize_t n;

		if (in->state == IN_REQUEST)
			n = recv(in->fd, in->req + in->req_len, REQUEST_MAX - in->req_len, MSG_DONTWAIT);
		else
			n = recv(in->fd, f->scratch, sizeof(f->scratch), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			inlet_close(o, in, errno == ECONNRESET ? "disconnected" : "failed");
			return;
		}
		if (n == 0) {
			in->eof = true;
			if (in->state == IN_REQUEST)
				inlet_refuse(o, in, "closed before completing a request");
			else if (in->state == IN_LINGER)
				inlet_close(o, in, "answered");
			else if (inlet_watch(f, in, false, in->want_out) < 0)
				inlet_close(o, in, "failed");
			/* REPLY and STREAM: the inlet may have only shut down its
			 * sending side; a real close shows as EPIPE on the next send. */
			return;
		}
		if (in->state == IN_REQUEST) {
			in->req_len += (size_t)n;
			in->req[in->req_len] = '\0';
			handle_request(o, f, in, now);
			if (in->state != IN_REQUEST)
				return; /* leftovers in req are ignored, as liblsl does */
		}
	}
}

/* Closes connections past their deadline; returns ms to the next deadline
 * (-1: none). */
static int expire(struct cr_lsl_outlet *o, struct lsl_feed *f, int64_t now)
{
	int64_t next = INT64_MAX;

	if (f->accept_paused_until) {
		if (now >= f->accept_paused_until) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ID_LISTEN };

			epoll_ctl(f->epoll_fd, EPOLL_CTL_MOD, f->listen_fd, &ev);
			f->accept_paused_until = 0;
		} else {
			next = f->accept_paused_until;
		}
	}
	for (int i = 0; i < CR_LSL_MAX_INLETS; i++) {
		struct inlet *in = &f->inlet[i];
		int64_t deadline;

		if (in->state == IN_FREE)
			continue;
		if (in->state == IN_STREAM || in->state == IN_REPLY) {
			if (!inlet_pending(in))
				continue;
			deadline = in->progress_ns + o->stall_timeout_ns;
		} else {
			deadline = in->deadline_ns;
		}
		if (now >= deadline) {
			if (in->state == IN_STREAM) {
				atomic_fetch_add_explicit(&o->inlets_dropped, 1, memory_order_relaxed);
				cr_warn("lsl: %s: inlet %s took no data for %lld ms, disconnecting it",
					o->field[LSL_F_NAME], in->peer, (long long)(o->stall_timeout_ns / CR_NS_PER_MS));
			}
			if (in->state == IN_REQUEST) {
				atomic_fetch_add_explicit(&o->requests_timed_out, 1, memory_order_relaxed);
				inlet_refuse(o, in, "timed out before completing a request");
			}
			else
				inlet_close(o, in, in->state == IN_STREAM ? "stalled" : "timed out");
			continue;
		}
		if (deadline < next)
			next = deadline;
	}
	if (next == INT64_MAX)
		return -1;
	return (int)((next - now + CR_NS_PER_MS - 1) / CR_NS_PER_MS);
}

int cr_lsl_feed_send_now(struct cr_lsl_outlet *o)
{
	struct lsl_feed *f = o->feed;
	int ret = 0;

	if (!f || pthread_mutex_trylock(&f->lock) != 0)
		return -1;
	if (!f->serving || atomic_load_explicit(&o->streaming, memory_order_relaxed) > LSL_INLINE_INLETS) {
		pthread_mutex_unlock(&f->lock);
		return -1;
	}
	distribute(o, f, cr_time_mono_ns());
	/* Data left on a full socket: the TCP thread must watch its stall
	 * deadline, which it computed before the data waited. */
	for (int i = 0; i < CR_LSL_MAX_INLETS && !ret; i++)
		ret = f->inlet[i].state == IN_STREAM && inlet_pending(&f->inlet[i]);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

void *cr_lsl_feed_thread(void *outlet)
{
	struct cr_lsl_outlet *o = outlet;
	struct lsl_feed *f = o->feed;
	struct epoll_event ev[32];
	int64_t now = cr_time_mono_ns();

	pthread_mutex_lock(&f->lock);
	f->serving = true;
	for (;;) {
		int n, timeout = expire(o, f, now);

		pthread_mutex_unlock(&f->lock);
		n = epoll_wait(f->epoll_fd, ev, CR_ARRAY_SIZE(ev), timeout);
		now = cr_time_mono_ns();
		pthread_mutex_lock(&f->lock);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			cr_err("lsl: %s: TCP thread: epoll_wait: %s", o->field[LSL_F_NAME], strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t id = ev[i].data.u64, count;
			struct inlet *in;

			if (id == ID_STOP)
				goto stop;
			if (id == ID_WAKE) {
				(void)!read(o->wake_fd, &count, sizeof(count));
				distribute(o, f, now);
				continue;
			}
			if (id == ID_LISTEN) {
				accept_all(o, f, now);
				continue;
			}
			in = &f->inlet[(uint32_t)id % CR_LSL_MAX_INLETS];
			if (in->state == IN_FREE || in->gen != (uint32_t)(id >> 32))
				continue; /* closed earlier in this batch */
			if (ev[i].events & (EPOLLERR | EPOLLHUP)) {
				/* Reset, or both directions shut: nobody is left to read. */
				inlet_close(o, in, "disconnected");
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLRDHUP))
				inlet_read(o, f, in, now);
			if (in->state != IN_FREE && in->gen == (uint32_t)(id >> 32) && (ev[i].events & EPOLLOUT))
				inlet_flush(o, f, in, now);
		}
	}
stop:
	f->serving = false;
	pthread_mutex_unlock(&f->lock);
	return NULL;
}
