/* The HTTP acceptor's pieces that need no socket (http/acceptor.c, included
 * to reach its statics, and http/request_head.c): where headers end, whether
 * a request is whole, which pool a request line picks, when a ClientHello is
 * whole, the deadline order of its lists, the per-address table
 * filling, emptying and reusing its entries, and when a watched request
 * has arrived whole (over a socketpair). */
#include "http/acceptor.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static size_t end_of(const char *text)
{
	return cr_http_head_end(text, strlen(text));
}

static void test_headers_end(void **state)
{
	assert_int_equal(end_of(""), 0);
	assert_int_equal(end_of("GET / HTTP/1.1\r\nHost: a\r\n"), 0);
	assert_int_equal(end_of("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0);
	assert_int_equal(end_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
	assert_int_equal(end_of("GET / HTTP/1.0\r\n\r\nbody"), strlen("GET / HTTP/1.0\r\n\r\n"));
	/* a bare LF ends lines too (RFC 9112 section 2.2) */
	assert_int_equal(end_of("GET / HTTP/1.0\nHost: a\n\n"), strlen("GET / HTTP/1.0\nHost: a\n\n"));
	/* empty lines before the request line are no end of headers */
	assert_int_equal(end_of("\r\n\r\nGET / HTTP/1.1\r\n"), 0);
	assert_int_equal(end_of("\r\nGET / HTTP/1.0\r\n\r\n"), strlen("\r\nGET / HTTP/1.0\r\n\r\n"));
}

static bool whole(const char *text)
{
	size_t n = strlen(text);

	return cr_http_head_whole(text, cr_http_head_end(text, n), n);
}

static void test_head_whole(void **state)
{
	assert_true(whole("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
	assert_true(whole("POST /api/command HTTP/1.1\r\nContent-Length: 4\r\n\r\nsnap"));
	assert_true(whole("POST / HTTP/1.1\r\ncontent-length:\t0\r\n\r\n"));
	assert_false(whole("POST /api/command HTTP/1.1\r\nContent-Length: 4\r\n\r\nsna"));
	assert_false(whole("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
	/* two lengths, or one that is no plain number: libmicrohttpd decides */
	assert_false(whole("POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"));
	assert_false(whole("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"));
	assert_false(whole("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"));
	/* only at the start of a line */
	assert_true(whole("GET / HTTP/1.1\r\nX-Content-Length: 9\r\n\r\n"));
}

static enum cr_http_pool_kind kind_of(const char *text)
{
	bool stream;

	return cr_http_head_is_live(text, strlen(text), &stream) ? CR_HTTP_POOL_LIVE : CR_HTTP_POOL_API;
}

/* Whether the request goes to the live pool's stream daemon (the writer). */
static bool stream_of(const char *text)
{
	bool stream = true;

	cr_http_head_is_live(text, strlen(text), &stream);
	return stream;
}

static void test_classify(void **state)
{
	assert_int_equal(kind_of("GET /stream.mjpg HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_LIVE);
	assert_int_equal(kind_of("GET /stream.mjpg?width=320&height=240 HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_LIVE);
	assert_int_equal(kind_of("GET /stream HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_LIVE);
	assert_int_equal(kind_of("\r\nGET /api/events HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_LIVE);
	assert_int_equal(kind_of("HEAD /stream.mjpg HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_LIVE);
	assert_int_equal(kind_of("GET /status HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_API);
	assert_int_equal(kind_of("POST /api/command HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_API);
	assert_int_equal(kind_of("GET /stream.mjpgx HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_API);
	assert_int_equal(kind_of("GET /streams HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_API);
	assert_int_equal(kind_of("GET /stream%2Emjpg HTTP/1.1\r\n\r\n"), CR_HTTP_POOL_API);
	assert_int_equal(kind_of("GET\r\n\r\n"), CR_HTTP_POOL_API);
	assert_int_equal(kind_of("\x00\x01garbage\r\n\r\n"), CR_HTTP_POOL_API);
	/* MJPEG streams to the stream daemon, event streams not */
	assert_true(stream_of("GET /stream.mjpg?fps=2 HTTP/1.1\r\n\r\n"));
	assert_true(stream_of("GET /stream HTTP/1.0\r\n\r\n"));
	assert_false(stream_of("GET /api/events HTTP/1.1\r\n\r\n"));
	assert_false(stream_of("GET /status HTTP/1.1\r\n\r\n"));
	assert_false(stream_of("GET\r\n\r\n"));
}

static void test_hello_complete(void **state)
{
	const unsigned char hello[] = { 0x16, 3, 1, 0, 4, 1, 2, 3, 4 };

	assert_false(cr_http_tls_hello_complete(hello, 3));
	assert_false(cr_http_tls_hello_complete(hello, 5));
	assert_false(cr_http_tls_hello_complete(hello, 8));
	assert_true(cr_http_tls_hello_complete(hello, 9));
	/* not a handshake: GnuTLS may refuse it at once */
	assert_true(cr_http_tls_hello_complete((const unsigned char *)"GET / HTTP/1.1", 3));
	/* a record longer than the peek: what fits is enough */
	{
		static unsigned char big[CR_HTTP_HEAD_MAX] = { 0x16, 3, 1, 0x40, 0x00 };

		assert_false(cr_http_tls_hello_complete(big, CR_HTTP_HEAD_MAX - 1));
		assert_true(cr_http_tls_hello_complete(big, CR_HTTP_HEAD_MAX));
	}
}

static void test_list_by_deadline(void **state)
{
	struct conn c[5] = { { .deadline_ns = 30 }, { .deadline_ns = 10 }, { .deadline_ns = 20 },
			     { .deadline_ns = 40 }, { .deadline_ns = 20 } };
	struct list l = { 0 };
	const int64_t want[] = { 10, 20, 20, 30, 40 };
	int i = 0;

	for (int k = 0; k < 5; k++)
		list_insert(&l, &c[k]);
	assert_int_equal(l.n, 5);
	for (struct conn *x = l.head; x; x = x->next, i++)
		assert_int_equal(x->deadline_ns, want[i]);
	/* equal deadlines keep their arrival order */
	assert_ptr_equal(l.head->next, &c[2]);
	assert_ptr_equal(l.head->next->next, &c[4]);
	list_remove(&l, &c[1]);
	list_remove(&l, &c[3]);
	assert_ptr_equal(l.head, &c[2]);
	assert_ptr_equal(l.tail, &c[0]);
	assert_int_equal(l.n, 3);
}

static void key_of(uint8_t key[16], uint8_t n)
{
	memset(key, 0, 16);
	key[15] = n;
}

static void test_peers(void **state)
{
	struct cr_http_acceptor a = { .npeers = 3, .nbuckets = 4 };
	struct peer peers[3];
	int buckets[4] = { -1, -1, -1, -1 };
	uint8_t k1[16], k2[16], k3[16], k4[16];

	a.peers = peers;
	a.buckets = buckets;
	for (int i = 0; i < 3; i++)
		peers[i].next = i + 1 < 3 ? i + 1 : -1;
	key_of(k1, 1);
	key_of(k2, 2);
	key_of(k3, 3);
	key_of(k4, 4);

	/* per set, up to the limit */
	assert_true(peer_add(&a, k1, PENDING_SET, 2));
	assert_true(peer_add(&a, k1, PENDING_SET, 2));
	assert_false(peer_add(&a, k1, PENDING_SET, 2));
	assert_true(peer_add(&a, k1, CR_HTTP_POOL_LIVE, 2));
	assert_int_equal(peer_find(&a, k1, false)->count[PENDING_SET], 2);
	assert_int_equal(peer_find(&a, k1, false)->count[CR_HTTP_POOL_LIVE], 1);

	/* the table full: a new address is not counted (and so not refused) */
	assert_true(peer_add(&a, k2, CR_HTTP_POOL_API, 1));
	assert_true(peer_add(&a, k3, CR_HTTP_POOL_API, 1));
	assert_false(peer_add(&a, k3, CR_HTTP_POOL_API, 1));
	assert_null(peer_find(&a, k4, true));
	assert_true(peer_add(&a, k4, CR_HTTP_POOL_API, 0));

	/* an entry goes when its last connection does, and is reused */
	peer_drop(&a, k2, CR_HTTP_POOL_API);
	assert_null(peer_find(&a, k2, false));
	peer_drop(&a, k2, CR_HTTP_POOL_API); /* nothing left: no change */
	assert_true(peer_add(&a, k4, CR_HTTP_POOL_API, 1));
	assert_false(peer_add(&a, k4, CR_HTTP_POOL_API, 1));
	peer_drop(&a, k1, PENDING_SET);
	peer_drop(&a, k1, PENDING_SET);
	assert_non_null(peer_find(&a, k1, false)); /* still a live view */
	peer_drop(&a, k1, CR_HTTP_POOL_LIVE);
	assert_null(peer_find(&a, k1, false));
	assert_non_null(peer_find(&a, k3, false));
	assert_non_null(peer_find(&a, k4, false));
}

/* At a watched socket's deadline: a request counts as arrived whole only
 * while its head is still at the front (the pool has read nothing) and all
 * its body is there too. */
static void test_arrived_whole(void **state)
{
	static struct cr_http_acceptor a; /* only buf and tls are used */
	const char head[] = "POST /api/command HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
	char sink[sizeof(head)];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_false(arrived_whole(&a, sv[0])); /* nothing yet */
	assert_int_equal(write(sv[1], head, strlen(head)), (ssize_t)strlen(head));
	assert_int_equal(write(sv[1], "snap", 4), 4);
	assert_false(arrived_whole(&a, sv[0])); /* 4 of 10 body bytes */
	assert_int_equal(write(sv[1], "shot\r\n", 6), 6);
	assert_true(arrived_whole(&a, sv[0]));
	a.tls = true;
	assert_false(arrived_whole(&a, sv[0])); /* TLS bytes are not readable here */
	a.tls = false;
	/* The pool has read the head: what is left is no request head. */
	assert_int_equal(read(sv[0], sink, strlen(head)), (ssize_t)strlen(head));
	assert_false(arrived_whole(&a, sv[0]));
	close(sv[0]);
	close(sv[1]);

	/* A chunked body's length is not known here. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 52), 52);
	assert_false(arrived_whole(&a, sv[0]));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_end),
		cmocka_unit_test(test_head_whole),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_hello_complete),
		cmocka_unit_test(test_list_by_deadline),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_arrived_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
