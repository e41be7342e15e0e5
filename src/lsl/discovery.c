/* LSL outlet, UDP side: discovery responder and service port.
 *
 * One thread ("lsl-udp") polls three sockets and the outlet's stop eventfd:
 *  - the discovery socket, bound to INADDR_ANY:16571 with SO_REUSEADDR (so
 *    liblsl outlets and other camrig outlets on the host share the port) and
 *    joined to LSL's IPv4 groups on every interface that is up. It receives
 *    unicast (liblsl inlets always query 127.0.0.1:16571), broadcast and
 *    multicast queries, and answers "LSL:shortinfo" only;
 *  - the service socket, this outlet's own port from 16572 up, which answers
 *    "LSL:shortinfo" (liblsl's KnownPeers unicast resolves) and
 *    "LSL:timedata" (clock-offset probes);
 *  - a NETLINK_ROUTE socket subscribed to address and link changes: when an
 *    interface comes up later, the groups are joined on it then (no polling).
 * Several outlets on one host (one per camera) all bind port 16571, but a
 * unicast datagram reaches only one of those sockets. So a query that came
 * from loopback to 127.0.0.x is also relayed, unchanged, to 224.0.0.183 on
 * lo, where every camrig outlet on the host has joined: each answers the
 * inlet (the relay's source is 127.0.0.1, the return port the inlet's).
 * Relayed copies arrive as multicast and are never relayed again.
 * Requests are parsed as liblsl's udp_server.cpp does; anything malformed,
 * oversized or not matching gets no reply. Replies go out with MSG_DONTWAIT:
 * a full socket buffer drops a reply, the thread never waits.
 *
 * A shortinfo reply (~625 bytes) is 24 times the query that asks for it and
 * goes to whatever address and port the query names, so a spoofed query
 * would make camrig an amplifier. Each sender address beyond loopback gets
 * at most REPLY_BURST replies at once and REPLY_RATE a second after that
 * (a token bucket per address in a table of REPLY_SLOTS; liblsl's resolver
 * asks a few times a second). With lsl.interfaces set, datagrams that
 * arrive on another interface are ignored and groups are joined on the
 * listed ones only. */
#include "lsl/internal.h"

#include "base/log.h"
#include "base/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define RELAY_GROUP "224.0.0.183" /* where loopback unicast queries are relayed, on lo */

/* LSL's IPv4 discovery groups (liblsl api_config.cpp defaults: link scope
 * 224.0.0.1 and 224.0.0.183, site scope 239.255.172.215). 127.0.0.1 and
 * 255.255.255.255 need no membership. */
static const char *const groups[] = { "224.0.0.1", "224.0.0.183", "239.255.172.215" };

#define QUERY_ID_MAX 64         /* bytes of a query id (liblsl sends a size_t hash in decimal) */
#define REPLY_SLOTS 64          /* sender addresses whose shortinfo replies are counted */
#define REPLY_BURST 20.0        /* replies a sender gets at once */
#define REPLY_RATE 5.0          /* and then per second */

/* The token bucket of one sender address. */
struct reply_budget {
	struct in_addr addr;        /* 0.0.0.0: free */
	double tokens;
	double last_s;              /* LSL clock of the last refill */
};
#define DATAGRAMS_PER_WAKE 64   /* read at most this many datagrams per socket before polling again */

struct lsl_discovery {
	int service_fd;     /* UDP, INADDR_ANY:service_port */
	int discovery_fd;   /* UDP, INADDR_ANY:multicast_port; -1 when the port was unavailable */
	int netlink_fd;     /* address/link change notifications; -1 when unavailable */
	unsigned joined;    /* group memberships held (interface x group) */
	struct reply_budget budget[REPLY_SLOTS]; /* the UDP thread's only */
	uint8_t buf[LSL_DATAGRAM_MAX + 1];
};

int cr_lsl_discovery_open(struct cr_lsl_outlet *o)
{
	struct lsl_discovery *d = CR_NEW(d);
	int ret;

	d->discovery_fd = d->netlink_fd = -1;
	o->discovery = d;
	d->service_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->service_fd < 0)
		return cr_log_ret(-errno, CR_LOG_ERROR, "lsl: %s: UDP socket: %s", o->field[LSL_F_NAME],
				  strerror(errno));
	setsockopt(d->service_fd, IPPROTO_IP, IP_PKTINFO, &(int){ 1 }, sizeof(int));
	ret = cr_lsl_bind_port(d->service_fd, o->base_port, &o->service_port);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "lsl: %s: cannot bind a UDP service port from %u: %s",
				  o->field[LSL_F_NAME], o->base_port, strerror(-ret));
	return 0;
}

/* Joins every group on every IPv4 interface that is up. Memberships already
 * held fail with EADDRINUSE and are counted as held. */
static void join_groups(struct cr_lsl_outlet *o, struct lsl_discovery *d)
{
	struct ifaddrs *ifs, *ifa;
	unsigned joined = 0, interfaces = 0;

	if (d->discovery_fd < 0)
		return;
	if (getifaddrs(&ifs) < 0) {
		cr_warn("lsl: %s: cannot list network interfaces: %s", o->field[LSL_F_NAME], strerror(errno));
		return;
	}
	for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
		struct ip_mreqn mreq = { 0 };

		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || !(ifa->ifa_flags & IFF_UP) ||
		    !cr_lsl_interface_allowed(o, ifa->ifa_name))
			continue;
		mreq.imr_address = ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
		mreq.imr_ifindex = (int)if_nametoindex(ifa->ifa_name);
		interfaces++;
		for (unsigned g = 0; g < CR_ARRAY_SIZE(groups); g++) {
			inet_pton(AF_INET, groups[g], &mreq.imr_multiaddr);
			if (setsockopt(d->discovery_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) == 0 ||
			    errno == EADDRINUSE)
				joined++;
			else
				cr_debug("lsl: %s: cannot join %s on %s: %s", o->field[LSL_F_NAME], groups[g],
					 ifa->ifa_name, strerror(errno));
		}
	}
	freeifaddrs(ifs);
	if (joined != d->joined)
		cr_debug("lsl: %s: %u multicast memberships on %u interfaces", o->field[LSL_F_NAME], joined,
			 interfaces);
	if (joined == 0 && d->joined == 0)
		cr_warn("lsl: %s: joined no multicast group; inlets on this host and broadcast/unicast "
			"resolves still find the stream", o->field[LSL_F_NAME]);
	d->joined = joined;
}

void cr_lsl_discovery_join(struct cr_lsl_outlet *o)
{
	struct lsl_discovery *d = o->discovery;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(o->multicast_port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_LINK };
	struct in_addr loopback = { htonl(INADDR_LOOPBACK) };
	int one = 1;

	d->discovery_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->discovery_fd < 0 ||
	    setsockopt(d->discovery_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(d->discovery_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		cr_warn("lsl: %s: cannot listen for discovery on UDP port %u (%s); only resolves sent to "
			"the service port %u will find the stream", o->field[LSL_F_NAME], o->multicast_port,
			strerror(errno), o->service_port);
		if (d->discovery_fd >= 0)
			close(d->discovery_fd);
		d->discovery_fd = -1;
		return;
	}
	/* For the relay: learn each datagram's destination; send multicast via lo. */
	setsockopt(d->discovery_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(d->discovery_fd, IPPROTO_IP, IP_MULTICAST_IF, &loopback, sizeof(loopback));
	setsockopt(d->discovery_fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one));
	join_groups(o, d);
	d->netlink_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (d->netlink_fd >= 0 && bind(d->netlink_fd, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		cr_debug("lsl: %s: no interface change notifications: %s", o->field[LSL_F_NAME], strerror(errno));
		close(d->netlink_fd);
		d->netlink_fd = -1;
	}
}

void cr_lsl_discovery_close(struct cr_lsl_outlet *o)
{
	struct lsl_discovery *d = o->discovery;

	if (!d)
		return;
	if (d->service_fd >= 0)
		close(d->service_fd);
	if (d->discovery_fd >= 0)
		close(d->discovery_fd);
	if (d->netlink_fd >= 0)
		close(d->netlink_fd);
	free(d);
	o->discovery = NULL;
}

/* ---- request parsing ---- */

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The next line of [*p, end) without its terminator, trimmed of white space
 * at both ends (liblsl: getline() then trim()). Advances *p past the '\n'. */
static void next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;

	*p = nl ? nl + 1 : end;
	while (s < e && is_space((uint8_t)*s))
		s++;
	while (e > s && is_space((uint8_t)e[-1]))
		e--;
	*line = s;
	*len = (size_t)(e - s);
}

/* The next white-space separated token (liblsl: operator>>). */
static bool next_token(const char **p, const char *end, char *out, size_t max)
{
	const char *s = *p, *e;

	while (s < end && is_space((uint8_t)*s))
		s++;
	for (e = s; e < end && !is_space((uint8_t)*e); e++)
		;
	*p = e;
	if (e == s || (size_t)(e - s) >= max)
		return false;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return true;
}

static bool line_is(const char *line, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(line, word, len) == 0;
}

static void send_reply(int fd, const struct iovec *iov, int n, const struct sockaddr_in *to)
{
	struct msghdr msg = { .msg_name = (void *)to, .msg_namelen = sizeof(*to), .msg_iov = (struct iovec *)iov,
			      .msg_iovlen = (size_t)n };
	char addr[INET_ADDRSTRLEN];

	if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		cr_debug("lsl: reply to %s:%u dropped: %s", inet_ntop(AF_INET, &to->sin_addr, addr, sizeof(addr)),
			 ntohs(to->sin_port), strerror(errno));
}

/* Whether from may have another shortinfo reply now (see the top). */
static bool reply_allowed(const struct cr_lsl_outlet *o, struct lsl_discovery *d, const struct sockaddr_in *from)
{
	struct reply_budget *b = NULL, *oldest = &d->budget[0];
	double now = cr_lsl_clock();

	/* The kernel drops loopback sources arriving from outside: no spoofing. */
	if ((ntohl(from->sin_addr.s_addr) >> 24) == 127 && !o->limit_loopback)
		return true;
	for (unsigned i = 0; i < REPLY_SLOTS && !b; i++) {
		if (d->budget[i].addr.s_addr == from->sin_addr.s_addr)
			b = &d->budget[i];
		else if (d->budget[i].last_s < oldest->last_s)
			oldest = &d->budget[i];
	}
	if (!b) {
		b = oldest;
		*b = (struct reply_budget){ .addr = from->sin_addr, .tokens = REPLY_BURST, .last_s = now };
	}
	b->tokens += (now - b->last_s) * REPLY_RATE;
	if (b->tokens > REPLY_BURST)
		b->tokens = REPLY_BURST;
	b->last_s = now;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

/* "LSL:shortinfo\r\n<query>\r\n<return port> <query id>\r\n" -> to the
 * sender's address at the return port: "<query id>\r\n<shortinfo XML>". */
static void answer_shortinfo(struct cr_lsl_outlet *o, struct lsl_discovery *d, int fd, const char *p,
			     const char *end, const struct sockaddr_in *from)
{
	char port_text[8], id[QUERY_ID_MAX + 1], *port_end;
	const char *query;
	size_t query_len;
	struct sockaddr_in to = *from;
	struct iovec iov[3];
	long port;

	next_line(&p, end, &query, &query_len);
	if (!next_token(&p, end, port_text, sizeof(port_text)) || !next_token(&p, end, id, sizeof(id)))
		return;
	port = strtol(port_text, &port_end, 10);
	if (*port_end || port < 1 || port > 65535)
		return;
	for (const char *c = id; *c; c++)
		if ((uint8_t)*c < 0x21 || (uint8_t)*c > 0x7e)
			return;
	if (!cr_lsl_query_match(o, query, query_len))
		return;
	if (!reply_allowed(o, d, from)) {
		atomic_fetch_add_explicit(&o->queries_limited, 1, memory_order_relaxed);
		return;
	}
	to.sin_port = htons((uint16_t)port);
	iov[0] = (struct iovec){ id, strlen(id) };
	iov[1] = (struct iovec){ "\r\n", 2 };
	iov[2] = (struct iovec){ o->shortinfo, o->shortinfo_len };
	send_reply(fd, iov, 3, &to);
	atomic_fetch_add_explicit(&o->queries_answered, 1, memory_order_relaxed);
}

/* "LSL:timedata\r\n<wave id> <t0>\r\n" -> to the sender:
 * " <wave id> <t0> <t1> <t2>", t1 = receive time, t2 = send time, LSL clock. */
static void answer_timedata(struct cr_lsl_outlet *o, int fd, const char *p, const char *end,
			    const struct sockaddr_in *from, double t1)
{
	char wave_text[16], t0_text[64], *e1, *e2, reply[160];
	struct iovec iov;
	long wave;
	double t0;
	int n;

	if (!next_token(&p, end, wave_text, sizeof(wave_text)) || !next_token(&p, end, t0_text, sizeof(t0_text)))
		return;
	errno = 0;
	wave = strtol(wave_text, &e1, 10);
	t0 = strtod(t0_text, &e2);
	if (*e1 || *e2 || errno || wave < -2147483647L - 1 || wave > 2147483647L || !isfinite(t0))
		return;
	n = snprintf(reply, sizeof(reply), " %ld %.16g %.16g %.16g", wave, t0, t1, cr_lsl_clock());
	iov = (struct iovec){ reply, (size_t)n };
	send_reply(fd, &iov, 1, from);
	atomic_fetch_add_explicit(&o->timedata_answered, 1, memory_order_relaxed);
}

static bool is_loopback(struct in_addr a)
{
	return (ntohl(a.s_addr) >> 24) == 127;
}

/* Relays a query that came by unicast over loopback to the other outlets on
 * this host (see the top of the file). */
static void relay_query(struct cr_lsl_outlet *o, struct lsl_discovery *d, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(o->multicast_port) };

	inet_pton(AF_INET, RELAY_GROUP, &to.sin_addr);
	if (sendto(d->discovery_fd, d->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof(to)) < 0)
		cr_debug("lsl: %s: cannot relay a query on lo: %s", o->field[LSL_F_NAME], strerror(errno));
}

static void read_datagrams(struct cr_lsl_outlet *o, struct lsl_discovery *d, int fd, bool service)
{
	for (int i = 0; i < DATAGRAMS_PER_WAKE; i++) {
		struct sockaddr_in from;
		char addr[INET_ADDRSTRLEN];
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		} control;
		struct iovec iov = { d->buf, LSL_DATAGRAM_MAX };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
		double t1 = cr_lsl_clock();
		const char *p = (const char *)d->buf, *end, *method;
		size_t method_len;
		struct in_addr dest = { 0 };
		char ifname[IF_NAMESIZE] = "";

		if (n < 0)
			return; /* EAGAIN, or an ICMP error from an earlier reply */
		if (n > LSL_DATAGRAM_MAX || (msg.msg_flags & MSG_TRUNC) || msg.msg_namelen != sizeof(from) ||
		    from.sin_family != AF_INET || from.sin_port == 0)
			continue; /* oversized (truncated) or from nowhere */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				const struct in_pktinfo *info = (const struct in_pktinfo *)(const void *)CMSG_DATA(c);

				dest = info->ipi_addr;
				if (!if_indextoname((unsigned)info->ipi_ifindex, ifname))
					ifname[0] = '\0';
			}
		if (o->interfaces && !cr_lsl_interface_allowed(o, ifname))
			continue; /* arrived on an interface inlets may not use */
		end = p + n;
		next_line(&p, end, &method, &method_len);
		if (line_is(method, method_len, "LSL:shortinfo")) {
			answer_shortinfo(o, d, fd, p, end, &from);
			if (!service && is_loopback(dest) && is_loopback(from.sin_addr))
				relay_query(o, d, (size_t)n);
		}
		else if (service && line_is(method, method_len, "LSL:timedata"))
			answer_timedata(o, fd, p, end, &from, t1);
		else if (cr_log_get_level() >= CR_LOG_DEBUG)
			cr_debug("lsl: %s: ignoring a %zd-byte datagram from %s:%u", o->field[LSL_F_NAME], n,
				 inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr)), ntohs(from.sin_port));
	}
}

static void read_netlink(struct cr_lsl_outlet *o, struct lsl_discovery *d)
{
	bool changed = false;

	/* The content does not matter: any address or link event re-runs the join.
	 * ENOBUFS means events were lost, which is a change as well. */
	for (;;) {
		ssize_t n = recv(d->netlink_fd, d->buf, LSL_DATAGRAM_MAX, MSG_DONTWAIT);

		if (n > 0 || (n < 0 && errno == ENOBUFS))
			changed = true;
		else
			break;
	}
	if (changed)
		join_groups(o, d);
}

void *cr_lsl_discovery_thread(void *outlet)
{
	struct cr_lsl_outlet *o = outlet;
	struct lsl_discovery *d = o->discovery;
	struct pollfd pfd[4] = {
		{ .fd = o->stop_fd, .events = POLLIN },
		{ .fd = d->service_fd, .events = POLLIN },
		{ .fd = d->discovery_fd, .events = POLLIN },
		{ .fd = d->netlink_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, CR_ARRAY_SIZE(pfd), -1) < 0) {
			if (errno == EINTR)
				continue;
			cr_err("lsl: %s: UDP thread: poll: %s", o->field[LSL_F_NAME], strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents)
			read_datagrams(o, d, d->service_fd, true);
		if (pfd[2].revents)
			read_datagrams(o, d, d->discovery_fd, false);
		if (pfd[3].revents)
			read_netlink(o, d);
	}
	return NULL;
}
