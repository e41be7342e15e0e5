/* Fuzz target: the requests an LSL outlet answers (doc/lsl-protocol.md):
 * UDP datagrams (lsl/discovery.c) and TCP requests (lsl/feed.c). Includes
 * both files to reach their statics; the outlet is a fake with fixed stream
 * info, no thread and no bound socket.
 *
 * Every input is used three ways:
 * - as one datagram on the discovery socket and one on the service socket,
 *   dispatched as read_datagrams() does ("LSL:shortinfo", "LSL:timedata").
 *   The reply goes to an AF_UNIX socket, where sendmsg() refuses the
 *   inlet's IPv4 address: the parsing runs in full, nothing leaves the
 *   machine;
 * - as a TCP request arriving whole, and arriving one line at a time, on
 *   one end of a socketpair registered with an epoll set as an accepted
 *   inlet is. inlet_read() parses it (handle_request, handle_streamfeed,
 *   parse_int); a feed that starts streaming gets three samples; then the
 *   inlet's deadlines pass (expire()) and what is left is closed.
 * Property: the outlet's inlet and streaming counts are back to 0 after
 * every connection (and ASan: no read past the request, no leak). */
#include "../../src/lsl/discovery.c"
#include "../../src/lsl/feed.c"

#include "fuzz.h"

#include <sys/eventfd.h>

#define TCP_INPUT_MAX (64 * 1024) /* bytes written into the socketpair at most */

static char *fields[LSL_F_COUNT] = {
	[LSL_F_NAME] = "camera",
	[LSL_F_TYPE] = "VideoEvents",
	[LSL_F_CHANNEL_COUNT] = "3",
	[LSL_F_CHANNEL_FORMAT] = "double64",
	[LSL_F_SOURCE_ID] = "camrig:rig:camera",
	[LSL_F_NOMINAL_SRATE] = "25.00000000000000",
	[LSL_F_VERSION] = "1.100000000000000",
	[LSL_F_CREATED_AT] = "1234.500000000000",
	[LSL_F_UID] = "6d3a4c0e-8f1b-4c2a-9e57-1f2b3c4d5e6f",
	[LSL_F_SESSION_ID] = "default",
	[LSL_F_HOSTNAME] = "rig",
	[LSL_F_V4ADDRESS] = "",
	[LSL_F_V4DATA_PORT] = "16572",
	[LSL_F_V4SERVICE_PORT] = "16573",
	[LSL_F_V6ADDRESS] = "",
	[LSL_F_V6DATA_PORT] = "0",
	[LSL_F_V6SERVICE_PORT] = "0",
};

static char shortinfo[] = "<?xml version=\"1.0\"?>\n<info>\n\t<name>camera</name>\n\t<desc />\n</info>\n";
static char fullinfo[] = "<?xml version=\"1.0\"?>\n<info>\n\t<name>camera</name>\n\t<desc>\n\t</desc>\n</info>\n";

static struct cr_lsl_outlet outlet;
static struct lsl_discovery *discovery; /* its reply budgets only; no socket */
static int udp_fd = -1; /* one end of an AF_UNIX datagram socketpair */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cr_lsl_outlet *o = &outlet;
	int sv[2];

	cr_log_set_level(CR_LOG_ERROR);
	memcpy(o->field, fields, sizeof(fields));
	o->shortinfo = shortinfo;
	o->shortinfo_len = strlen(shortinfo);
	o->fullinfo = fullinfo;
	o->fullinfo_len = strlen(fullinfo);
	o->multicast_port = CR_LSL_MULTICAST_PORT;
	o->base_port = CR_LSL_BASE_PORT;
	o->data_port = 16572;
	o->service_port = 16573;
	o->stall_timeout_ns = 10 * CR_NS_PER_SEC;
	o->request_timeout_ns = 2 * CR_NS_PER_SEC;
	o->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	o->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&o->lock, NULL);
	o->slot_bytes = LSL_SAMPLE_BYTES;
	o->push_capacity = LSL_PUSH_RING;
	o->inlet_capacity = LSL_INLET_RING;
	cr_ring_init(&o->ring, o->push_capacity, o->slot_bytes, CR_RING_DROP_OLDEST);
	discovery = CR_NEW(discovery);
	discovery->service_fd = discovery->discovery_fd = discovery->netlink_fd = -1;
	if (o->stop_fd < 0 || o->wake_fd < 0 || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	udp_fd = sv[0];
	return 0;
}

/* read_datagrams() after recvmsg(): the same size limit and dispatch. The
 * query comes from loopback (never rate-limited) or from 192.0.2.7 with a
 * fresh reply budget, so that no input depends on the ones before. */
static void datagram(struct cr_lsl_outlet *o, const uint8_t *data, size_t size, bool service)
{
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40000),
				    .sin_addr.s_addr = htonl(service ? 0xc0000207 : INADDR_LOOPBACK) };
	const char *p = (const char *)data, *end = p + size, *method;
	size_t method_len;

	if (size > LSL_DATAGRAM_MAX)
		return;
	memset(discovery->budget, 0, sizeof(discovery->budget));
	next_line(&p, end, &method, &method_len);
	if (line_is(method, method_len, "LSL:shortinfo"))
		answer_shortinfo(o, discovery, udp_fd, p, end, &from);
	else if (service && line_is(method, method_len, "LSL:timedata"))
		answer_timedata(o, udp_fd, p, end, &from, cr_lsl_clock());
}

/* Reads and drops what the outlet sent to the inlet. */
static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Writes all of data into fd (non-blocking; the socket buffer holds it). */
static bool send_all(int fd, const uint8_t *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n <= 0)
			return false;
		data += n;
		size -= (size_t)n;
	}
	return true;
}

/* One connection: set up as accept_all() sets up an accepted one (keep the
 * two in step), fed the request in
 * pieces (each up to and with a '\n' when by_line), then timed out and
 * closed. */
static void connection(struct cr_lsl_outlet *o, const uint8_t *data, size_t size, bool by_line)
{
	struct lsl_feed *f = CR_NEW(f);
	struct inlet *in = &f->inlet[0];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int64_t now = cr_time_mono_ns();
	uint64_t count;
	int sv[2];

	f->listen_fd = -1;
	f->batch = cr_malloc((size_t)o->push_capacity * o->slot_bytes);
	for (int i = 0; i < CR_LSL_MAX_INLETS; i++)
		f->inlet[i].fd = -1;
	f->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epoll_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	in->state = IN_REQUEST;
	in->fd = sv[0];
	in->reading = true;
	in->deadline_ns = now + o->request_timeout_ns;
	in->req = cr_malloc(REQUEST_MAX + 1);
	snprintf(in->peer, sizeof(in->peer), "127.0.0.1:40000");
	atomic_fetch_add(&o->inlets, 1);
	ev.data.u64 = inlet_id(f, in);
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, in->fd, &ev) < 0)
		abort();

	if (size > TCP_INPUT_MAX)
		size = TCP_INPUT_MAX;
	for (size_t at = 0; at < size && in->state == IN_REQUEST;) {
		const uint8_t *nl = by_line ? memchr(data + at, '\n', size - at) : NULL;
		size_t n = nl ? (size_t)(nl - (data + at)) + 1 : size - at;

		if (!send_all(sv[1], data + at, n))
			break;
		at += n;
		inlet_read(o, f, in, now);
		drain(sv[1]);
	}
	if (in->state == IN_STREAM) {
		for (int i = 0; i < 3; i++)
			cr_lsl_outlet_push(o, i, 0, 0, cr_lsl_clock());
		(void)!read(o->wake_fd, &count, sizeof(count));
		distribute(o, f, now);
		drain(sv[1]);
	}
	if (in->state != IN_FREE) {
		/* The inlet closes its side, then every deadline passes. */
		shutdown(sv[1], SHUT_WR);
		inlet_read(o, f, in, now);
		if (in->state != IN_FREE && in->state != IN_STREAM)
			inlet_flush(o, f, in, now);
		expire(o, f, now + 60 * CR_NS_PER_SEC);
	}
	if (in->state != IN_FREE)
		inlet_release(o, in);
	FUZZ_CHECK(atomic_load(&o->inlets) == 0);
	FUZZ_CHECK(atomic_load(&o->streaming) == 0);
	close(sv[1]);
	close(f->epoll_fd);
	/* Samples pushed after the inlet left stay queued: drop them. */
	while (cr_lsl_outlet_take(o, f->batch, o->push_capacity) > 0)
		;
	free(f->batch);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	datagram(&outlet, data, size, false);
	datagram(&outlet, data, size, true);
	connection(&outlet, data, size, false);
	if (memchr(data, '\n', size))
		connection(&outlet, data, size, true);
	return 0;
}
