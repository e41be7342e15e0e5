/* What servers ask of a client's address (base/net.c): loopback or not, the
 * key per-client limits count by (IPv4, IPv4 mapped into IPv6 alike; IPv6
 * by its /64), and the address as text. */
#include "base/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static struct sockaddr_in v4(const char *text)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };

	assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
	return a;
}

static struct sockaddr_in6 v6(const char *text)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(80) };

	assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
	return a;
}

static void test_loopback(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1"), b = v4("127.4.5.6"), c = v4("10.0.0.1");
	struct sockaddr_in6 d = v6("::1"), e = v6("::ffff:127.0.0.1"), f = v6("fd00::1");

	assert_true(cr_net_is_loopback((struct sockaddr *)&a));
	assert_true(cr_net_is_loopback((struct sockaddr *)&b));
	assert_false(cr_net_is_loopback((struct sockaddr *)&c));
	assert_true(cr_net_is_loopback((struct sockaddr *)&d));
	assert_true(cr_net_is_loopback((struct sockaddr *)&e));
	assert_false(cr_net_is_loopback((struct sockaddr *)&f));
}

static void test_client_key(void **state)
{
	struct sockaddr_in a = v4("192.0.2.7"), b = v4("192.0.2.8");
	struct sockaddr_in6 mapped = v6("::ffff:192.0.2.7"), c = v6("2001:db8:1:2::1"), d = v6("2001:db8:1:2:ffff::9"),
			    e = v6("2001:db8:1:3::1");
	struct sockaddr other = { .sa_family = AF_UNIX };
	uint8_t ka[16], kb[16], km[16], kc[16], kd[16], ke[16];

	assert_true(cr_net_client_key((struct sockaddr *)&a, ka));
	assert_true(cr_net_client_key((struct sockaddr *)&b, kb));
	assert_true(cr_net_client_key((struct sockaddr *)&mapped, km));
	assert_true(cr_net_client_key((struct sockaddr *)&c, kc));
	assert_true(cr_net_client_key((struct sockaddr *)&d, kd));
	assert_true(cr_net_client_key((struct sockaddr *)&e, ke));
	assert_memory_not_equal(ka, kb, 16);
	assert_memory_equal(ka, km, 16);      /* the same client, however it is written */
	assert_memory_equal(kc, kd, 16);      /* one /64 */
	assert_memory_not_equal(kc, ke, 16);  /* the next /64 */
	assert_false(cr_net_client_key(&other, ke));
}

static void test_addr_text(void **state)
{
	struct sockaddr_in a = v4("192.0.2.7");
	struct sockaddr_in6 b = v6("2001:db8::1");
	struct sockaddr other = { .sa_family = AF_UNIX };
	char buf[64];

	assert_string_equal(cr_net_addr_text((struct sockaddr *)&a, buf, sizeof(buf)), "192.0.2.7");
	assert_string_equal(cr_net_addr_text((struct sockaddr *)&b, buf, sizeof(buf)), "2001:db8::1");
	assert_string_equal(cr_net_addr_text(&other, buf, sizeof(buf)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_client_key),
		cmocka_unit_test(test_addr_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
