/* Listening sockets and client addresses (see net.c). */
#ifndef CR_BASE_NET_H
#define CR_BASE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The listen() backlog of every listening socket camrig opens: connections
 * the kernel completes before camrig accepts them. The kernel caps it at
 * net.core.somaxconn (4096 since Linux 5.4). */
#define CR_NET_BACKLOG 1024

/* Binds and listens on a TCP socket at spec, "HOST:PORT" or "[IPV6]:PORT"
 * (HOST an address or a name; PORT 0 picks a free one), with a backlog of
 * CR_NET_BACKLOG. Sets *fd (close-on-exec, SO_REUSEADDR) and *loopback (the
 * address is 127.0.0.0/8 or ::1). Returns 0, -EINVAL for a malformed spec,
 * -EADDRNOTAVAIL when HOST does not resolve, or the errno of
 * socket/bind/listen (-EADDRINUSE, -EACCES). */
int cr_net_listen(const char *spec, int *fd, bool *loopback);

/* Whether addr is in 127.0.0.0/8 or is ::1 (or ::ffff:127.x.y.z). */
bool cr_net_is_loopback(const struct sockaddr *addr);

/* The host part of addr (IPv4 or IPv6, without the port) as text into buf
 * (len bytes; 46 hold any); "?" for another family. Returns buf. */
const char *cr_net_addr_text(const struct sockaddr *addr, char *buf, size_t len);

/* Who a client is, for per-client limits: an IPv4 address (also one mapped
 * into IPv6) as ::ffff:a.b.c.d, an IPv6 address cut to its /64 prefix
 * (what one end site is given, RFC 6177), in 16 bytes. Returns false for
 * another family. */
bool cr_net_client_key(const struct sockaddr *addr, uint8_t key[16]);

/* Raises the soft RLIMIT_NOFILE to want file descriptors, or as far as the
 * hard limit allows. Sets *have to the soft limit it leaves. Returns 0 or a
 * negative errno of getrlimit/setrlimit. */
int cr_net_reserve_fds(unsigned long want, unsigned long *have);

#ifdef __cplusplus
}
#endif

#endif
