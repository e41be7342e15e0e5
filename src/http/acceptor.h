/* The acceptor: camrig's own thread on the HTTP listening socket, which
 * holds each new connection until its request has arrived and then hands it
 * to the pool (libmicrohttpd daemon) that serves its kind of request
 * (acceptor.c holds the design; server.c the pools). Nothing outside
 * src/http/ includes this.
 *
 * The sets of connections and what bounds each:
 *
 *   pending   accepted, request headers not yet complete (with TLS: the
 *             ClientHello not yet complete). Held by the acceptor, no
 *             thread each. At most http.max_pending, http.max_clients_per_ip
 *             per address beyond loopback; one more evicts the oldest (of
 *             that address when it is the per-address cap). Closed at
 *             http.header_timeout after connecting.
 *   watched   handed to a pool, request not yet read whole (a body still
 *             coming; with TLS the handshake and headers too). Shut down at
 *             the same deadline.
 *   served    in a pool: at most its limit (http.max_stream_clients,
 *             http.max_api_clients) and http.max_clients_per_ip per address
 *             beyond loopback; one more gets a 503 with the reason.
 *
 * Every refusal, eviction and deadline is counted (cr_http_acceptor_stats)
 * and logged at most once a minute per kind, with how many there were.
 *
 * Threads: the acceptor thread owns the pending set. The watched set and
 * the per-address counts are shared with the pools' threads, which call
 * cr_http_acceptor_request_read() (a connection's thread) and
 * cr_http_acceptor_closed() (a daemon's polling thread), under one lock that
 * is never held while another is taken, except the log's (a leaf). */
#ifndef CR_HTTP_ACCEPTOR_H
#define CR_HTTP_ACCEPTOR_H

#include "http/http.h"

#include <microhttpd.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_http_server;
struct cr_http_pool;
struct cr_http_acceptor;

/* With TLS, connections handed to the pool beyond its limit so that it can
 * answer them a 503 (the acceptor cannot: it does not speak TLS). */
#define CR_HTTP_TLS_OVERFLOW 16

/* What the acceptor counts and logs, each kind at most once a minute. */
enum cr_http_event {
	CR_HTTP_TIMED_OUT,      /* the request did not arrive within http.header_timeout */
	CR_HTTP_EVICTED,        /* a pending connection closed for a newer one */
	CR_HTTP_REFUSED_LIVE,   /* 503: http.max_stream_clients */
	CR_HTTP_REFUSED_API,    /* 503: http.max_api_clients */
	CR_HTTP_REFUSED_PEER,   /* 503: http.max_clients_per_ip */
	CR_HTTP_OUT_OF_FDS,     /* accept() found no file descriptor */
	CR_HTTP_EVENTS
};

/* Takes listen_fd (listening, from cr_net_listen) and prepares to serve it
 * to server's pools; starts no thread. Returns 0 or a negative errno
 * (logged). listen_fd is closed on failure too. */
int cr_http_acceptor_new(struct cr_http_server *server, int listen_fd, struct cr_http_acceptor **out);

/* Starts the thread ("http-accept"). The pools must be started. Returns 0
 * or a negative errno (logged). */
int cr_http_acceptor_start(struct cr_http_acceptor *a);

/* Stops accepting and closes every pending connection; joins the thread.
 * Idempotent. Connections already handed over stay with their pools. */
void cr_http_acceptor_stop(struct cr_http_acceptor *a);

/* Stops, closes the listening socket and frees. Call after the pools have
 * stopped. NULL-safe; sets *a to NULL. */
void cr_http_acceptor_free(struct cr_http_acceptor **a);

/* conn's request has been read whole: its deadline no longer applies. */
void cr_http_acceptor_request_read(struct cr_http_acceptor *a, struct MHD_Connection *conn);

/* pool has closed conn (MHD_CONNECTION_NOTIFY_CLOSED): gives back its
 * slot. */
void cr_http_acceptor_closed(struct cr_http_acceptor *a, struct cr_http_pool *pool, struct MHD_Connection *conn);

/* Counts event and logs the message (printf-style, one line, without the
 * "http: " prefix) unless one of its kind was logged less than a minute
 * ago; the next message that is logged says how many were not. */
void cr_http_acceptor_note(struct cr_http_acceptor *a, enum cr_http_event event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fills pending, refused, evicted and timed_out of stats. */
void cr_http_acceptor_stats(struct cr_http_acceptor *a, struct cr_http_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
