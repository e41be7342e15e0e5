/* Internals shared by the LSL outlet's files: outlet.c (outlet, stream info,
 * queries, push), discovery.c (UDP thread) and feed.c (TCP thread).
 * Nothing outside src/lsl/ includes this. */
#ifndef CR_LSL_INTERNAL_H
#define CR_LSL_INTERNAL_H

#include "lsl/lsl.h"

#include "base/ring.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LSL_PROTOCOL_VERSION 110  /* the only data protocol spoken: 1.10 */
#define LSL_TAG_DEDUCED 1         /* sample tag: timestamp deduced by the inlet (never sent) */
#define LSL_TAG_TRANSMITTED 2     /* sample tag: 8-byte timestamp follows */
#define LSL_SAMPLE_BYTES (1 + 8 + 8 * CR_LSL_CHANNELS) /* one encoded frame sample: 33 bytes */
#define LSL_MARKER_BYTES (1 + 8 + 1 + 4 + CR_LSL_MARKER_MAX) /* the longest encoded marker: 4110 bytes */
#define LSL_MARKER_SLOT (4 + LSL_MARKER_BYTES) /* a ring slot of a markers outlet: length + sample */
#define LSL_PUSH_RING 512         /* frame samples queued between push() and the TCP thread */
#define LSL_MARKER_RING 64        /* markers queued there (64 x 4 KiB) */
#define LSL_INLET_RING 4096       /* frame samples buffered per inlet, at most */
#define LSL_MARKER_INLET_RING 32  /* markers buffered per inlet, at most: 32 inlets x 32 x 4 KiB = 4 MiB */
#define LSL_INLINE_INLETS 4       /* streaming inlets a push sends to itself, at most (feed.c) */
#define LSL_TRIGGERS 8            /* triggers remembered for cr_lsl_outlet_push_frame() */
#define LSL_STRING_MAX 256        /* bytes of a name, type, source id, ... */
#define LSL_DATAGRAM_MAX 4096     /* bytes of a UDP request we read; larger ones are ignored */

/* Ring slots. Samples are encoded once, at push time, in the protocol-1.10
 * layout and travel as slots of o->slot_bytes bytes through the push ring
 * and every inlet's ring. A frames outlet's samples all have the same length,
 * so its slot is the encoded sample itself (LSL_SAMPLE_BYTES; an inlet's ring
 * goes out in at most two iovecs). A markers outlet's slot is a uint32 length
 * (host order) followed by the encoded sample (LSL_MARKER_SLOT; one iovec per
 * slot). */

struct lsl_trigger {
	int64_t mono_ns;  /* when it happened, CLOCK_MONOTONIC ns */
	double utc_s;     /* the same instant, UTC seconds since the epoch */
	int type;         /* trigger code, 0..7 */
	bool shown;       /* a frame carried it or a later trigger in trigger_type */
};

/* The top-level <info> fields, as text exactly as written in the XML (and as
 * an XPath comparison sees them). */
enum lsl_field {
	LSL_F_NAME, LSL_F_TYPE, LSL_F_CHANNEL_COUNT, LSL_F_CHANNEL_FORMAT, LSL_F_SOURCE_ID,
	LSL_F_NOMINAL_SRATE, LSL_F_VERSION, LSL_F_CREATED_AT, LSL_F_UID, LSL_F_SESSION_ID,
	LSL_F_HOSTNAME, LSL_F_V4ADDRESS, LSL_F_V4DATA_PORT, LSL_F_V4SERVICE_PORT,
	LSL_F_V6ADDRESS, LSL_F_V6DATA_PORT, LSL_F_V6SERVICE_PORT, LSL_F_COUNT,
};

struct lsl_feed;
struct lsl_discovery;

struct cr_lsl_outlet {
	/* Immutable after cr_lsl_outlet_new() returns; read by both threads. */
	char *field[LSL_F_COUNT];         /* see enum lsl_field */
	bool markers;                     /* one string channel (cr_lsl_stream_info.markers) */
	size_t slot_bytes;                /* bytes of a ring slot: LSL_SAMPLE_BYTES or LSL_MARKER_SLOT */
	unsigned push_capacity;           /* slots of the push ring: LSL_PUSH_RING or LSL_MARKER_RING */
	unsigned inlet_capacity;          /* slots of an inlet's ring, at most: LSL_INLET_RING or
					     LSL_MARKER_INLET_RING */
	char *camera_name, *format;
	char *camera_fps;                 /* the camera's frame rate as written in <desc> */
	int width, height;                /* pixels */
	char *shortinfo;                  /* XML with an empty <desc/> */
	size_t shortinfo_len;             /* bytes */
	char *fullinfo;                   /* XML with the full <desc> */
	size_t fullinfo_len;              /* bytes */
	uint16_t multicast_port, base_port, data_port, service_port;
	int64_t stall_timeout_ns;         /* see cr_lsl_stream_info.stall_timeout_ms */
	int64_t request_timeout_ns;       /* see cr_lsl_stream_info.request_timeout_ms */
	char *interfaces;                 /* ",lo,eth0," (commas around each name); NULL: every interface */
	bool limit_loopback;              /* see cr_lsl_stream_info */

	int stop_fd;                      /* eventfd, readable once the threads must end */
	int wake_fd;                      /* eventfd, written by push to wake the TCP thread */
	struct lsl_feed *feed;            /* owned by the TCP thread while it runs */
	struct lsl_discovery *discovery;  /* owned by the UDP thread while it runs */
	pthread_t tcp_thread, udp_thread;
	bool tcp_started, udp_started;

	/* Guarded by lock (held for a few copies only, never across a syscall). */
	pthread_mutex_t lock;
	struct cr_ring ring;              /* of slots (slot_bytes), push_capacity, drop-oldest */
	struct lsl_trigger trigger[LSL_TRIGGERS]; /* oldest first */
	unsigned ntriggers;

	/* Counters (see struct cr_lsl_stats); written by one thread, read by any. */
	atomic_uint inlets, streaming;
	atomic_uint_fast64_t inlets_total, inlets_dropped, requests_refused, requests_timed_out;
	atomic_uint_fast64_t queries_answered, queries_limited, timedata_answered;
	atomic_uint_fast64_t samples_pushed, samples_sent, samples_skipped, markers_refused;
};

/* 1 when query (len bytes, not NUL-terminated) matches the outlet: an empty
 * query, or field='value' terms joined by "and" that all hold. 0 for a
 * mismatch or anything it cannot parse. See doc/lsl-protocol.md. */
int cr_lsl_query_match(const struct cr_lsl_outlet *o, const char *query, size_t len);

/* Moves up to max queued slots into out (max x o->slot_bytes bytes, oldest
 * first); returns how many. */
unsigned cr_lsl_outlet_take(struct cr_lsl_outlet *o, uint8_t *out, unsigned max);

/* Encodes one frame sample in the protocol-1.10 layout (tag 2, timestamp,
 * values, host byte order) into LSL_SAMPLE_BYTES bytes at buf. */
void cr_lsl_sample_encode(uint8_t *buf, double timestamp, const double value[CR_LSL_CHANNELS]);

/* Encodes a sample of one string channel (len <= CR_LSL_MARKER_MAX bytes of
 * text) in the protocol-1.10 layout [sample.cpp: save_streambuf]: tag 2,
 * timestamp, one byte giving the width of the length (1 when len <= 0xFF,
 * else 4), the length in that width, the bytes; host byte order. Writes at
 * most LSL_MARKER_BYTES bytes at buf and returns how many. */
size_t cr_lsl_string_encode(uint8_t *buf, double timestamp, const char *text, size_t len);

/* The encoded sample in a ring slot, and its length in bytes. */
static inline const uint8_t *cr_lsl_slot_data(const struct cr_lsl_outlet *o, const uint8_t *slot)
{
	return o->markers ? slot + sizeof(uint32_t) : slot;
}

static inline size_t cr_lsl_slot_length(const struct cr_lsl_outlet *o, const uint8_t *slot)
{
	uint32_t len;

	if (!o->markers)
		return LSL_SAMPLE_BYTES;
	memcpy(&len, slot, sizeof(len));
	return len;
}

/* Whether inlets may reach the outlet through the interface named ifname,
 * or through the interface that holds the local address addr. */
bool cr_lsl_interface_allowed(const struct cr_lsl_outlet *o, const char *ifname);
bool cr_lsl_address_allowed(const struct cr_lsl_outlet *o, struct in_addr addr);

/* Binds fd (a fresh AF_INET socket, SOCK_STREAM or SOCK_DGRAM) to INADDR_ANY at
 * the first free port in [base, base + CR_LSL_PORT_RANGE), else at a port the
 * kernel picks; sets *port. Returns 0 or a negative errno. */
int cr_lsl_bind_port(int fd, uint16_t base, uint16_t *port);

/* Starts a thread named name with every signal blocked. Returns 0 or -errno. */
int cr_lsl_thread_start(pthread_t *thread, const char *name, void *(*fn)(void *), void *arg);

/* TCP data server (feed.c): open binds and listens and sets o->data_port;
 * the thread serves until o->stop_fd is readable; close frees what open made
 * (after the thread was joined, or when it never started). */
int cr_lsl_feed_open(struct cr_lsl_outlet *o);
void *cr_lsl_feed_thread(void *outlet);
void cr_lsl_feed_close(struct cr_lsl_outlet *o);

/* From a push, after queuing its slot: when the TCP thread runs, is not busy
 * (the feed's lock is free: pthread_mutex_trylock()) and at most
 * LSL_INLINE_INLETS inlets stream, sends every queued slot to every inlet
 * from the calling thread with non-blocking sendmsg() calls. Returns 0 when
 * nothing is left waiting; 1 when it sent but some inlet's socket is full
 * and -1 when it did not run: then the caller wakes the TCP thread (for -1,
 * only if no wake is pending already). Never waits for a lock or a socket. */
int cr_lsl_feed_send_now(struct cr_lsl_outlet *o);

/* UDP discovery and service (discovery.c): open binds the service port
 * (sets o->service_port); join binds the discovery port and joins the
 * multicast groups (a failure there only warns); the thread and close as
 * above. */
int cr_lsl_discovery_open(struct cr_lsl_outlet *o);
void cr_lsl_discovery_join(struct cr_lsl_outlet *o);
void *cr_lsl_discovery_thread(void *outlet);
void cr_lsl_discovery_close(struct cr_lsl_outlet *o);

#endif
