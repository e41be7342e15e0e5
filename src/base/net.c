/* Listening sockets from "HOST:PORT" strings, shared by the HTTP server and
 * the raw H.264 stream, and what servers ask of a client's address. */
#include "base/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

bool cr_net_is_loopback(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
	if (addr->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int cr_net_listen(const char *spec, int *out_fd, bool *loopback)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256];
	const char *port;
	int fd = -1, ret, one = 1;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(end - spec - 1), spec + 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		port = colon + 1;
	}
	if (getaddrinfo(*host ? host : NULL, port, &hints, &res) != 0)
		return -EADDRNOTAVAIL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto end;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, CR_NET_BACKLOG) < 0) {
		ret = -errno;
		goto end;
	}
	*out_fd = fd;
	*loopback = cr_net_is_loopback(res->ai_addr);
	fd = -1;
	ret = 0;
end:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return ret;
}


const char *cr_net_addr_text(const struct sockaddr *addr, char *buf, size_t len)
{
	const void *host = NULL;

	if (addr->sa_family == AF_INET)
		host = &((const struct sockaddr_in *)addr)->sin_addr;
	else if (addr->sa_family == AF_INET6)
		host = &((const struct sockaddr_in6 *)addr)->sin6_addr;
	if (!host || !inet_ntop(addr->sa_family, host, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

bool cr_net_client_key(const struct sockaddr *addr, uint8_t key[16])
{
	memset(key, 0, 16);
	if (addr->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		return true;
	}
	if (addr->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;

		memcpy(key, a->s6_addr, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
		return true;
	}
	return false;
}

int cr_net_reserve_fds(unsigned long want, unsigned long *have)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
		return -errno;
	if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
		lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max > want ? want : lim.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
			return -errno;
	}
	*have = lim.rlim_cur == RLIM_INFINITY ? want : (unsigned long)lim.rlim_cur;
	return 0;
}
