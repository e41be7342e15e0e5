/* Listening sockets (see net.c). */
#ifndef CR_BASE_NET_H
#define CR_BASE_NET_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Binds and listens on a TCP socket at spec, "HOST:PORT" or "[IPV6]:PORT"
 * (HOST an address or a name; PORT 0 picks a free one). Sets *fd (close-on-
 * exec, SO_REUSEADDR) and *loopback (the address is 127.0.0.0/8 or ::1).
 * Returns 0, -EINVAL for a malformed spec, -EADDRNOTAVAIL when HOST does not
 * resolve, or the errno of socket/bind/listen (-EADDRINUSE, -EACCES). */
int cr_net_listen(const char *spec, int *fd, bool *loopback);

#ifdef __cplusplus
}
#endif

#endif
