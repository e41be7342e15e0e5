/* The acceptor: camrig's own thread on the HTTP listening socket (acceptor.h
 * lists the sets of connections and their bounds).
 *
 * Design. libmicrohttpd gives a connection a thread from the moment it is
 * accepted, and lets a client that sends a byte a minute keep it, so a few
 * dozen slow clients used to lock everyone out. Here a new connection costs
 * no thread until its request has arrived:
 *
 * - Pending. A new connection joins the pending set, registered
 *   edge-triggered (EPOLLET) with epoll. On each wake the acceptor peeks
 *   (MSG_PEEK: the bytes stay for libmicrohttpd) at up to CR_HTTP_HEAD_MAX
 *   bytes for the blank line that ends the headers (request_head.h reads
 *   them). A peeked socket stays readable, which is why the wait is
 *   edge-triggered: only new bytes wake it. Headers longer than
 *   CR_HTTP_HEAD_MAX get a 431.
 * - Deadline. Pending connections are kept in the order they came, so the
 *   oldest is the first to expire and one timer (the epoll_wait timeout)
 *   serves all: at http.header_timeout after connecting a connection gets a
 *   408 and is closed.
 * - Eviction. When the pending set is full, its oldest connection is closed
 *   for the new one (with a 503 that says so); likewise the oldest of one
 *   address when that address has http.max_clients_per_ip pending. A client
 *   that sends its request at once is never the oldest for long, so it gets
 *   in however many slow ones there are, even when they all share its
 *   address (loopback) and per-address limits cannot tell them apart.
 * - Hand-over. Once the headers are complete, the request line says which
 *   pool serves the request (cr_http_path_is_live(): the route table's live
 *   views go to the live pool, its MJPEG streams to that pool's stream
 *   daemon, server.c). The pool's limit and the per-address limit
 *   decide whether it is served; if not, the acceptor answers the 503 with
 *   the reason itself, in one send(), with no thread. Otherwise
 *   MHD_add_connection() gives the socket to the pool, which reads the
 *   request from it as if it had accepted it.
 * - Watching. A request body, and with TLS everything after the ClientHello,
 *   may arrive after the hand-over. The acceptor keeps a dup() of each handed
 *   socket whose request was not all peeked already (cr_http_head_whole()),
 *   sorted by deadline, until the pool has read the request whole
 *   (cr_http_acceptor_request_read()); at the deadline it shuts the socket
 *   down, and libmicrohttpd closes it, unless the request has arrived whole
 *   and the pool has not begun to read it (its thread started late). Holding a dup() makes that shutdown()
 *   safe even if the descriptor libmicrohttpd knows had been closed and
 *   reused meanwhile.
 * - TLS. The acceptor cannot read the request line; it waits for the first
 *   TLS record (the ClientHello, RFC 8446 section 5.1) only, and hands
 *   everything to the API pool, which then serves both kinds: its limit is
 *   the sum of both, live views are limited when they start
 *   (cr_http_live_view_begin()). Nothing here can answer a 503 in
 *   plaintext, so up to CR_HTTP_TLS_OVERFLOW connections over the limit are
 *   handed over for the pool to refuse (server.c), and the rest are closed.
 *   A slow TLS client holds a pool slot until its deadline.
 *
 * Counting. A pool's connections are counted up here, before the hand-over
 * (so a burst cannot overshoot the limit), and down when libmicrohttpd
 * reports the connection closed (cr_http_acceptor_closed()). libmicrohttpd
 * reports every connection it starts, and starts every one it is given
 * while below its own connection limit, which server.c sets above ours.
 * Per-address counts live in a fixed-size hash table with one entry per
 * address that has a connection in any set, so at most as many entries as
 * the limits allow connections; loopback addresses are not counted. */
#include "http/acceptor.h"

#include "http/internal.h"
#include "http/request_head.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/net.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BATCH 64               /* connections accepted per wake, before the pending get a turn */
#define EVENTS_MAX 64                 /* epoll events taken per wake */
#define DRAIN_MAX 4                   /* reads of CR_HTTP_HEAD_MAX bytes before a reply and close */
#define PAUSE_NS (100 * CR_NS_PER_MS) /* out of file descriptors: accepting rests this long */
#define LOG_INTERVAL_NS (60 * CR_NS_PER_SEC)
#define PENDING_SET CR_HTTP_POOLS     /* index of the pending count in struct peer */

/* A connection the acceptor holds (pending) or watches (handed over, its
 * request not yet read whole). */
struct conn {
	struct conn *prev, *next;   /* in pending (by arrival) or watched (by deadline) */
	int fd;                     /* pending: the socket; watched: a dup() of it, for shutdown() */
	int mhd_fd;                 /* watched: the descriptor the pool has of the socket */
	int64_t deadline_ns;        /* CLOCK_MONOTONIC: connected + http.header_timeout */
	bool counted;               /* beyond loopback: counted per address under key */
	uint8_t key[16];            /* cr_net_client_key() */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct list {
	struct conn *head, *tail;   /* head: the oldest (pending), the first deadline (watched) */
	unsigned n;
};

/* One client address beyond loopback with a connection in a set. */
struct peer {
	uint8_t key[16];
	unsigned count[CR_HTTP_POOLS + 1]; /* connections per pool; [PENDING_SET]: pending */
	int next;                   /* the next entry in its bucket, or in the free list; -1: none */
};

struct ratelog {
	int64_t last_ns;            /* CLOCK_MONOTONIC of the last message of this kind; 0: none yet */
	unsigned long skipped;      /* events of this kind since then, not logged */
};

struct cr_http_acceptor {
	struct cr_http_server *server;
	const struct cr_http_config *config;
	bool tls;
	int listen_fd, epoll_fd, wake_fd;
	pthread_t thread;
	bool started;
	int64_t timeout_ns;         /* http.header_timeout */
	int64_t paused_until_ns;    /* out of file descriptors: not accepting until then; 0: accepting */
	struct list pending;        /* the acceptor thread's only */
	atomic_uint npending;       /* pending.n, for the stats */
	char buf[CR_HTTP_HEAD_MAX]; /* what a peek sees; the acceptor thread's */

	pthread_mutex_t lock;       /* guards watched and the per-address table */
	struct list watched;
	struct peer *peers;         /* npeers entries */
	unsigned npeers;
	int *buckets;               /* nbuckets (a power of two) chains of entries */
	unsigned nbuckets;
	int free_peer;              /* the first free entry; -1: none */
	uint32_t seed;              /* of the hash: addresses cannot be picked to collide */

	pthread_mutex_t log_lock;   /* guards logs; taken last */
	struct ratelog logs[CR_HTTP_EVENTS];
	atomic_ulong counts[CR_HTTP_EVENTS];
};

/* ---- lists ----------------------------------------------------------------- */

static void list_remove(struct list *l, struct conn *c)
{
	*(c->prev ? &c->prev->next : &l->head) = c->next;
	*(c->next ? &c->next->prev : &l->tail) = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

/* Inserts c after the last entry whose deadline is not later, looking from
 * the tail: deadlines mostly come in order. */
static void list_insert(struct list *l, struct conn *c)
{
	struct conn *after = l->tail;

	while (after && after->deadline_ns > c->deadline_ns)
		after = after->prev;
	c->prev = after;
	c->next = after ? after->next : l->head;
	*(c->next ? &c->next->prev : &l->tail) = c;
	*(after ? &after->next : &l->head) = c;
	l->n++;
}

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* The watched connection the pool knows by mhd_fd, taken out of the list;
 * NULL if there is none. Under lock. */
static struct conn *watched_take(struct cr_http_acceptor *a, int mhd_fd)
{
	for (struct conn *c = a->watched.head; c; c = c->next) {
		if (c->mhd_fd == mhd_fd) {
			list_remove(&a->watched, c);
			return c;
		}
	}
	return NULL;
}

/* ---- counts per address ------------------------------------------------------ */

static unsigned bucket_of(const struct cr_http_acceptor *a, const uint8_t key[16])
{
	uint32_t h = 2166136261u ^ a->seed; /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h & (a->nbuckets - 1);
}

/* The entry of key, created with no connections when create; NULL when
 * there is none (or no room, which the table's size rules out). Under
 * lock. */
static struct peer *peer_find(struct cr_http_acceptor *a, const uint8_t key[16], bool create)
{
	unsigned b = bucket_of(a, key);
	struct peer *p;
	int i;

	for (i = a->buckets[b]; i >= 0; i = a->peers[i].next)
		if (memcmp(a->peers[i].key, key, 16) == 0)
			return &a->peers[i];
	if (!create || a->free_peer < 0)
		return NULL;
	i = a->free_peer;
	p = &a->peers[i];
	a->free_peer = p->next;
	memcpy(p->key, key, 16);
	memset(p->count, 0, sizeof(p->count));
	p->next = a->buckets[b];
	a->buckets[b] = i;
	return p;
}

/* Takes one connection off set's count of key; the entry goes when it has
 * none left. Under lock. */
static void peer_drop(struct cr_http_acceptor *a, const uint8_t key[16], unsigned set)
{
	struct peer *p = peer_find(a, key, false);
	int i, *link;

	if (!p || p->count[set] == 0)
		return;
	p->count[set]--;
	for (unsigned s = 0; s <= PENDING_SET; s++)
		if (p->count[s])
			return;
	i = (int)(p - a->peers);
	for (link = &a->buckets[bucket_of(a, key)]; *link != i; link = &a->peers[*link].next)
		;
	*link = p->next;
	p->next = a->free_peer;
	a->free_peer = i;
}

/* Adds one connection to set's count of key unless it has limit already.
 * Returns whether it did. Under lock. */
static bool peer_add(struct cr_http_acceptor *a, const uint8_t key[16], unsigned set, unsigned limit)
{
	struct peer *p = peer_find(a, key, true);

	if (!p)
		return true;
	if (p->count[set] >= limit)
		return false;
	p->count[set]++;
	return true;
}

/* ---- logging -------------------------------------------------------------------- */

void cr_http_acceptor_note(struct cr_http_acceptor *a, enum cr_http_event event, const char *fmt, ...)
{
	struct ratelog *r = &a->logs[event];
	int64_t now = cr_time_mono_ns();
	unsigned long skipped;
	char msg[512];
	va_list ap;

	atomic_fetch_add(&a->counts[event], 1);
	pthread_mutex_lock(&a->log_lock);
	if (r->last_ns && now - r->last_ns < LOG_INTERVAL_NS) {
		r->skipped++;
		pthread_mutex_unlock(&a->log_lock);
		return;
	}
	skipped = r->skipped;
	r->skipped = 0;
	r->last_ns = now;
	pthread_mutex_unlock(&a->log_lock);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (skipped)
		cr_warn("http: %s (and %lu more like it since the last such message)", msg, skipped);
	else
		cr_warn("http: %s", msg);
}

/* ---- replies and closing ------------------------------------------------------ */

static const char *from_text(const struct conn *c, char *buf, size_t len)
{
	return cr_net_addr_text((const struct sockaddr *)&c->addr, buf, len);
}

/* Answers a plaintext connection with status ("503 Service Unavailable")
 * and reason as its one-line body, then closes it; a TLS connection is just
 * closed. */
static void reply_and_close(struct cr_http_acceptor *a, struct conn *c, const char *status, const char *reason)
{
	char text[1024];
	int n;

	if (!a->tls) {
		/* Read what was peeked first: closing a socket with unread bytes
		 * sends a reset, which can make the client drop the reply. */
		for (int i = 0; i < DRAIN_MAX && recv(c->fd, a->buf, sizeof(a->buf), MSG_DONTWAIT) > 0; i++)
			;
		n = snprintf(text, sizeof(text), "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			     "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n%s\r\n%s\n", status,
			     strlen(reason) + 1, strncmp(status, "503", 3) == 0 ? "Retry-After: 10\r\n" : "", reason);
		if (n > 0 && (size_t)n < sizeof(text))
			(void)send(c->fd, text, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	conn_free(c);
}

/* Takes c out of the pending set; the caller closes or hands it over. */
static void pending_remove(struct cr_http_acceptor *a, struct conn *c)
{
	epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	list_remove(&a->pending, c);
	atomic_store(&a->npending, a->pending.n);
	if (c->counted) {
		pthread_mutex_lock(&a->lock);
		peer_drop(a, c->key, PENDING_SET);
		pthread_mutex_unlock(&a->lock);
	}
}

/* Closes the pending connection c for a newer one; why says whose limit. */
static void evict(struct cr_http_acceptor *a, struct conn *c, const char *why)
{
	char from[64];

	pending_remove(a, c);
	cr_http_acceptor_note(a, CR_HTTP_EVICTED, "%s: closed the one waiting longest, from %s", why,
			      from_text(c, from, sizeof(from)));
	reply_and_close(a, c, "503 Service Unavailable", "too many connections waiting to send their request; "
			"this one had waited longest");
}

/* ---- the pending set ------------------------------------------------------------ */

/* Answers c a 503 with reason (logged as event) and closes it. */
static void refuse(struct cr_http_acceptor *a, struct conn *c, enum cr_http_event event, const char *reason)
{
	char from[64];

	cr_http_acceptor_note(a, event, "refused a connection from %s with a 503: %s", from_text(c, from, sizeof(from)),
			      reason);
	reply_and_close(a, c, "503 Service Unavailable", reason);
}

/* Gives c, whose request headers are complete, to the pool of kind, or
 * answers it a 503 when that pool or its address is at its limit. whole:
 * the request is all in the socket, so its deadline ends here; otherwise
 * (a body still to come, TLS) c is watched until the pool has read it. */
static void admit(struct cr_http_acceptor *a, struct conn *c, enum cr_http_pool_kind kind, bool stream, bool whole)
{
	struct cr_http_pool *pool = &a->server->pools[a->tls ? CR_HTTP_POOL_API : kind];
	struct MHD_Daemon *daemon = stream && pool->stream_daemon ? pool->stream_daemon : pool->daemon;
	unsigned allowed = pool->limit + (a->tls ? CR_HTTP_TLS_OVERFLOW : 0);
	char reason[256], from[64];
	struct conn *stale = NULL;
	bool ok = true, watched;
	int mhd_fd;

	/* Only this thread adds to pool->connections: it cannot grow between
	 * this check and the hand-over. */
	if (atomic_load(&pool->connections) >= allowed) {
		snprintf(reason, sizeof(reason), "too many %s open (%s: %u); try again later", pool->what,
			 pool->limit_key, pool->limit);
		refuse(a, c, kind == CR_HTTP_POOL_LIVE ? CR_HTTP_REFUSED_LIVE : CR_HTTP_REFUSED_API, reason);
		return;
	}
	if (c->counted) {
		pthread_mutex_lock(&a->lock);
		ok = peer_add(a, c->key, pool->kind, pool->per_ip);
		pthread_mutex_unlock(&a->lock);
	}
	if (!ok) {
		snprintf(reason, sizeof(reason), "too many %s from %s (http.max_clients_per_ip: %u)", pool->what,
			 from_text(c, from, sizeof(from)), pool->per_ip);
		refuse(a, c, CR_HTTP_REFUSED_PEER, reason);
		return;
	}
	mhd_fd = c->mhd_fd = c->fd;
	/* -1: this one's deadline ends here. A request that is whole is not
	 * cut off however late the pool's thread gets to it (thread creation
	 * waits while FFmpeg's libraries load: seconds on a slow machine). */
	c->fd = whole ? -1 : fcntl(mhd_fd, F_DUPFD_CLOEXEC, 0);
	watched = c->fd >= 0;
	atomic_fetch_add(&pool->connections, 1);
	if (watched) {
		pthread_mutex_lock(&a->lock);
		/* An entry for this descriptor is of a socket closed unseen. */
		stale = watched_take(a, mhd_fd);
		list_insert(&a->watched, c);
		pthread_mutex_unlock(&a->lock);
		conn_free(stale);
	}
	/* From here on c is the pool threads' to take out of watched. */
	if (MHD_add_connection(daemon, mhd_fd, (const struct sockaddr *)&c->addr, c->addrlen) == MHD_YES) {
		if (!watched)
			free(c);
		return;
	}
	/* libmicrohttpd has closed the socket and will report nothing of it. */
	cr_debug("http: libmicrohttpd did not take a connection: %s", cr_strerror(-errno));
	pthread_mutex_lock(&a->lock);
	if (c->counted)
		peer_drop(a, c->key, pool->kind);
	if (watched)
		watched_take(a, mhd_fd);
	pthread_mutex_unlock(&a->lock);
	atomic_fetch_sub(&pool->connections, 1);
	conn_free(c);
}

/* Looks at what the pending connection c has sent so far; events are
 * epoll's for it. */
static void peek(struct cr_http_acceptor *a, struct conn *c, uint32_t events)
{
	ssize_t n = recv(c->fd, a->buf, sizeof(a->buf), MSG_PEEK | MSG_DONTWAIT);
	/* The client has stopped sending: what is not complete now never will be. */
	bool ended = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
	enum cr_http_pool_kind kind = CR_HTTP_POOL_API;
	bool stream = false, whole = false;
	size_t end;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && !ended)
		return;
	if (n <= 0) { /* closed by the client, or reset */
		pending_remove(a, c);
		conn_free(c);
		return;
	}
	if (a->tls) {
		if (!cr_http_tls_hello_complete((const unsigned char *)a->buf, (size_t)n)) {
			if (ended) {
				pending_remove(a, c);
				conn_free(c);
			}
			return;
		}
	} else {
		end = cr_http_head_end(a->buf, (size_t)n);
		if (!end && n < CR_HTTP_HEAD_MAX && ended) {
			pending_remove(a, c);
			conn_free(c);
			return;
		}
		if (!end && n < CR_HTTP_HEAD_MAX)
			return;
		if (!end) {
			char reason[128];

			snprintf(reason, sizeof(reason), "request line and headers longer than %d bytes", CR_HTTP_HEAD_MAX);
			pending_remove(a, c);
			reply_and_close(a, c, "431 Request Header Fields Too Large", reason);
			return;
		}
		kind = cr_http_head_is_live(a->buf, end, &stream) ? CR_HTTP_POOL_LIVE : CR_HTTP_POOL_API;
		whole = cr_http_head_whole(a->buf, end, (size_t)n);
	}
	pending_remove(a, c);
	admit(a, c, kind, stream, whole);
}

/* Out of file descriptors (err): closes the oldest pending connection to
 * make room, or when there is none stops accepting for PAUSE_NS, since the
 * listening socket would stay readable and wake the thread at once. */
static void out_of_fds(struct cr_http_acceptor *a, int err)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &a->listen_fd };
	struct conn *c = a->pending.head;
	char from[64];

	if (c) {
		pending_remove(a, c);
		cr_http_acceptor_note(a, CR_HTTP_OUT_OF_FDS, "cannot accept a connection: %s; closed the pending "
				      "one that waited longest, from %s (raise RLIMIT_NOFILE or lower the http limits)",
				      strerror(err), from_text(c, from, sizeof(from)));
		reply_and_close(a, c, "503 Service Unavailable", "the server is out of file descriptors");
		return;
	}
	epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, a->listen_fd, &ev);
	a->paused_until_ns = cr_time_mono_ns() + PAUSE_NS;
	cr_http_acceptor_note(a, CR_HTTP_OUT_OF_FDS, "cannot accept a connection: %s; not accepting for %d ms "
			      "(raise RLIMIT_NOFILE or lower the http limits)", strerror(err),
			      (int)(PAUSE_NS / CR_NS_PER_MS));
}

static void add_pending(struct cr_http_acceptor *a, int fd, const struct sockaddr_storage *addr, socklen_t len)
{
	struct conn *c = CR_NEW(c);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c };
	const struct sockaddr *sa = (const struct sockaddr *)addr;
	bool over = false;
	char why[128];

	c->fd = c->mhd_fd = fd;
	c->addr = *addr;
	c->addrlen = len;
	c->deadline_ns = cr_time_mono_ns() + a->timeout_ns;
	c->counted = !cr_net_is_loopback(sa) && cr_net_client_key(sa, c->key);
	if (c->counted) {
		pthread_mutex_lock(&a->lock);
		over = !peer_add(a, c->key, PENDING_SET, a->config->max_clients_per_ip);
		pthread_mutex_unlock(&a->lock);
	}
	if (over) {
		/* Its oldest goes; c takes its place in the count. */
		for (struct conn *old = a->pending.head; old; old = old->next) {
			if (old->counted && memcmp(old->key, c->key, 16) == 0) {
				snprintf(why, sizeof(why), "its address had %u connections waiting (http.max_clients_per_ip)",
					 a->config->max_clients_per_ip);
				evict(a, old, why);
				break;
			}
		}
		pthread_mutex_lock(&a->lock);
		peer_add(a, c->key, PENDING_SET, UINT_MAX);
		pthread_mutex_unlock(&a->lock);
	}
	if (a->pending.n >= a->config->max_pending) {
		snprintf(why, sizeof(why), "%u connections were waiting to send their request (http.max_pending)",
			 a->pending.n);
		evict(a, a->pending.head, why);
	}
	list_insert(&a->pending, c);
	atomic_store(&a->npending, a->pending.n);
	if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		cr_debug("http: epoll_ctl: %s", strerror(errno));
		pending_remove(a, c);
		conn_free(c);
	}
}

static void accept_some(struct cr_http_acceptor *a)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage addr;
		socklen_t len = sizeof(addr);
		int fd = accept4(a->listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			add_pending(a, fd, &addr, len);
		} else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			out_of_fds(a, errno);
			if (a->paused_until_ns)
				return;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} /* else a connection that failed before we took it (accept(2): treat like EAGAIN, try the next) */
	}
}

/* Whether the request on fd, a watched socket past its deadline, has
 * arrived whole while its pool has not begun to read it (the pool's thread
 * can start seconds late on a slow machine, while FFmpeg's libraries load):
 * the socket still holds the request head at its front, and at least the
 * request's length (the head and its Content-Length). Never for TLS, whose
 * bytes the acceptor cannot read. */
static bool arrived_whole(struct cr_http_acceptor *a, int fd)
{
	ssize_t n = a->tls ? -1 : recv(fd, a->buf, sizeof(a->buf), MSG_PEEK | MSG_DONTWAIT);
	size_t end = n > 0 ? cr_http_head_end(a->buf, (size_t)n) : 0, length;
	int queued;

	return end && cr_http_head_length(a->buf, end, &length) && ioctl(fd, FIONREAD, &queued) == 0 && queued >= 0 &&
	       (size_t)queued >= length;
}

/* Closes the pending and shuts down the watched connections that are past
 * their deadline at now (but those arrived_whole()), and resumes accepting when its pause is over.
 * Returns the epoll_wait timeout until the next deadline (ms; -1: none). */
static int expire(struct cr_http_acceptor *a, int64_t now)
{
	int64_t next = INT64_MAX;
	unsigned timeout_s = a->config->header_timeout;
	struct conn *c;
	char from[64], reason[128];

	if (a->paused_until_ns && now >= a->paused_until_ns) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &a->listen_fd };

		epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, a->listen_fd, &ev);
		a->paused_until_ns = 0;
	}
	while ((c = a->pending.head) && c->deadline_ns <= now) {
		pending_remove(a, c);
		cr_http_acceptor_note(a, CR_HTTP_TIMED_OUT, "closed a connection from %s that had not sent its request "
				      "headers within %u s (http.header_timeout)", from_text(c, from, sizeof(from)),
				      timeout_s);
		snprintf(reason, sizeof(reason), "request headers not complete within %u s (http.header_timeout)",
			 timeout_s);
		reply_and_close(a, c, "408 Request Timeout", reason);
	}
	for (;;) {
		pthread_mutex_lock(&a->lock);
		c = a->watched.head;
		if (c && c->deadline_ns <= now) {
			list_remove(&a->watched, c); /* c is this thread's now */
		} else {
			if (c)
				next = c->deadline_ns;
			c = NULL;
		}
		pthread_mutex_unlock(&a->lock);
		if (!c)
			break;
		if (arrived_whole(a, c->fd)) {
			cr_debug("http: a request from %s arrived whole before its deadline; its pool had not begun to "
				 "read it yet", from_text(c, from, sizeof(from)));
			conn_free(c);
			continue;
		}
		shutdown(c->fd, SHUT_RDWR); /* the pool sees the end and closes */
		cr_http_acceptor_note(a, CR_HTTP_TIMED_OUT, "closed a connection from %s whose request had not arrived "
				      "whole within %u s (http.header_timeout)", from_text(c, from, sizeof(from)),
				      timeout_s);
		conn_free(c);
	}
	if (a->pending.head && a->pending.head->deadline_ns < next)
		next = a->pending.head->deadline_ns;
	if (a->paused_until_ns && a->paused_until_ns < next)
		next = a->paused_until_ns;
	if (next == INT64_MAX)
		return -1;
	return (int)((next - now + CR_NS_PER_MS - 1) / CR_NS_PER_MS);
}

static void *run(void *arg)
{
	struct cr_http_acceptor *a = arg;
	struct epoll_event events[EVENTS_MAX];

	for (;;) {
		int n = epoll_wait(a->epoll_fd, events, EVENTS_MAX, expire(a, cr_time_mono_ns()));
		bool listen_ready = false;

		if (n < 0 && errno != EINTR) {
			cr_err("http: epoll_wait: %s; no longer accepting connections", strerror(errno));
			return NULL;
		}
		/* Accepting may evict pending connections, so it comes after the
		 * events of this batch, which may name them. */
		for (int i = 0; i < n; i++) {
			void *ptr = events[i].data.ptr;

			if (ptr == &a->wake_fd)
				return NULL;
			if (ptr == &a->listen_fd)
				listen_ready = true;
			else
				peek(a, ptr, events[i].events);
		}
		if (listen_ready)
			accept_some(a);
	}
}

/* ---- lifecycle ----------------------------------------------------------------- */

int cr_http_acceptor_new(struct cr_http_server *server, int listen_fd, struct cr_http_acceptor **out)
{
	const struct cr_http_config *cfg = server->ctx->config;
	struct cr_http_acceptor *a = CR_NEW(a);
	struct epoll_event ev = { .events = EPOLLIN };
	int ret = 0;

	a->server = server;
	a->config = cfg;
	a->tls = server->tls != NULL;
	a->listen_fd = listen_fd;
	a->timeout_ns = (int64_t)cfg->header_timeout * CR_NS_PER_SEC;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->log_lock, NULL);
	/* One entry per address with a connection in a set, one more for the
	 * newcomer counted before the connection it evicts is not. */
	a->npeers = cfg->max_pending + 2;
	for (unsigned i = 0; i < CR_HTTP_POOLS; i++)
		a->npeers += server->pools[i].limit + CR_HTTP_TLS_OVERFLOW;
	a->peers = cr_calloc(a->npeers, sizeof(*a->peers));
	for (unsigned i = 0; i < a->npeers; i++)
		a->peers[i].next = i + 1 < a->npeers ? (int)i + 1 : -1;
	for (a->nbuckets = 1; a->nbuckets < a->npeers; a->nbuckets *= 2)
		;
	a->buckets = cr_calloc(a->nbuckets, sizeof(*a->buckets));
	memset(a->buckets, 0xff, a->nbuckets * sizeof(*a->buckets)); /* -1: empty */
	if (getrandom(&a->seed, sizeof(a->seed), GRND_NONBLOCK) != sizeof(a->seed))
		a->seed = (uint32_t)cr_time_mono_ns();
	a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->epoll_fd < 0 || a->wake_fd < 0 || fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0)
		ret = -errno;
	ev.data.ptr = &a->listen_fd;
	if (ret == 0 && epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) < 0)
		ret = -errno;
	ev.data.ptr = &a->wake_fd;
	if (ret == 0 && epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->wake_fd, &ev) < 0)
		ret = -errno;
	if (ret < 0) {
		cr_err("http: cannot set up the acceptor: %s", cr_strerror(ret));
		cr_http_acceptor_free(&a);
		return ret;
	}
	*out = a;
	return 0;
}

int cr_http_acceptor_start(struct cr_http_acceptor *a)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread starts with every signal blocked */
	ret = -pthread_create(&a->thread, NULL, run, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "http: cannot start the acceptor thread: %s", cr_strerror(ret));
	pthread_setname_np(a->thread, "http-accept");
	a->started = true;
	return 0;
}

void cr_http_acceptor_stop(struct cr_http_acceptor *a)
{
	uint64_t one = 1;

	if (!a)
		return;
	if (a->started) {
		if (write(a->wake_fd, &one, sizeof(one)) < 0)
			cr_debug("http: waking the acceptor: %s", strerror(errno));
		pthread_join(a->thread, NULL);
		a->started = false;
	}
	while (a->pending.head) {
		struct conn *c = a->pending.head;

		pending_remove(a, c);
		conn_free(c);
	}
}

void cr_http_acceptor_free(struct cr_http_acceptor **pa)
{
	struct cr_http_acceptor *a = *pa;

	if (!a)
		return;
	*pa = NULL;
	cr_http_acceptor_stop(a);
	while (a->watched.head) {
		struct conn *c = a->watched.head;

		list_remove(&a->watched, c);
		conn_free(c);
	}
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	if (a->epoll_fd >= 0)
		close(a->epoll_fd);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	free(a->peers);
	free(a->buckets);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->log_lock);
	free(a);
}

/* ---- what the pools report ---------------------------------------------------- */

void cr_http_acceptor_request_read(struct cr_http_acceptor *a, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conn *c;

	if (!fd)
		return;
	pthread_mutex_lock(&a->lock);
	c = watched_take(a, fd->connect_fd);
	pthread_mutex_unlock(&a->lock);
	conn_free(c);
}

void cr_http_acceptor_closed(struct cr_http_acceptor *a, struct cr_http_pool *pool, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conn *c = NULL;
	uint8_t key[16];

	pthread_mutex_lock(&a->lock);
	if (addr && !cr_net_is_loopback(addr->client_addr) && cr_net_client_key(addr->client_addr, key))
		peer_drop(a, key, pool->kind);
	if (fd)
		c = watched_take(a, fd->connect_fd);
	pthread_mutex_unlock(&a->lock);
	conn_free(c);
	atomic_fetch_sub(&pool->connections, 1);
}

void cr_http_acceptor_stats(struct cr_http_acceptor *a, struct cr_http_stats *stats)
{
	stats->pending = atomic_load(&a->npending);
	stats->refused = atomic_load(&a->counts[CR_HTTP_REFUSED_LIVE]) + atomic_load(&a->counts[CR_HTTP_REFUSED_API]) +
			 atomic_load(&a->counts[CR_HTTP_REFUSED_PEER]);
	stats->evicted = atomic_load(&a->counts[CR_HTTP_EVICTED]);
	stats->timed_out = atomic_load(&a->counts[CR_HTTP_TIMED_OUT]);
}
