/* What the acceptor reads of a request before libmicrohttpd does
 * (acceptor.c): the peeked bytes of a plaintext request head, or the first
 * TLS record. Outside input, so these parse it on their own and have a
 * fuzz target (tests/fuzz/fuzz_http_head.c). Private to src/http. */
#ifndef CR_HTTP_REQUEST_HEAD_H
#define CR_HTTP_REQUEST_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_HTTP_HEAD_MAX 8192 /* bytes of request line and headers the acceptor reads; more gets a 431 */

/* The end of the request line and headers in buf (n bytes): the offset
 * past the blank line that ends them, or 0 while there is none. RFC 9112
 * section 2.2: a bare LF ends a line too, and empty lines before the
 * request line are ignored. The first such end: more bytes after it never
 * move it. */
size_t cr_http_head_end(const char *buf, size_t n);

/* The length of the request whose head ends at end (cr_http_head_end()) in
 * buf: *length is end plus its body (bytes), when the head announces no
 * body (no Content-Length and no Transfer-Encoding: RFC 9112 section 6.3)
 * or a Content-Length of decimal digits. False for a Transfer-Encoding, two
 * Content-Length lines, or one that is not a plain number or is beyond
 * 16 * CR_HTTP_HEAD_MAX (libmicrohttpd decides about those). */
bool cr_http_head_length(const char *buf, size_t end, size_t *length);

/* Whether the request whose head ends at end is all in buf (n >= end
 * bytes): cr_http_head_length() knows its length, and n is at least that. */
bool cr_http_head_whole(const char *buf, size_t end, size_t n);

/* Whether the request that starts buf (n bytes, the head complete) is a
 * live view's, for the live pool, by the path of its request line
 * "METHOD SP TARGET SP VERSION" (cr_http_path_is_live(), the route
 * table); anything else, and what is no request line, goes to the API
 * pool, which answers that a 400. *stream: an MJPEG stream, for the live
 * pool's stream daemon (false when not live). */
bool cr_http_head_is_live(const char *buf, size_t n, bool *stream);

/* Whether buf (n >= 1 bytes) holds the first TLS record whole (RFC 8446
 * section 5.1: type 0x16 handshake, version, 16-bit length) or
 * CR_HTTP_HEAD_MAX bytes of it, or is no TLS handshake at all (then GnuTLS
 * refuses it). True stays true as more bytes arrive. */
bool cr_http_tls_hello_complete(const unsigned char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif
