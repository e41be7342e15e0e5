/* Fuzz target: what the HTTP acceptor reads of a connection before
 * libmicrohttpd does (http/request_head.c): the input is the bytes one
 * peek saw, cut at CR_HTTP_HEAD_MAX as the peek is.
 *
 * Properties, for the input and for some of its prefixes (the bytes an
 * earlier peek saw):
 * - the end of the head is 0 or within the bytes, just past a blank line,
 *   and the first one: a prefix ending at or after it finds the same end,
 *   one ending before it finds none;
 * - a request that is whole stays whole as more bytes arrive, is never
 *   one with a Transfer-Encoding header, and takes no more bytes than its
 *   Content-Length says; a known length is the head's and at most
 *   16 * CR_HTTP_HEAD_MAX more, and whole means that many bytes are here;
 * - only live views' requests go to the stream daemon;
 * - a complete ClientHello stays complete as more bytes arrive. */
#include "http/request_head.h"

#include "fuzz.h"

#include <stdbool.h>
#include <strings.h>

/* Whether a line of the head (buf, end bytes) starts with a
 * Transfer-Encoding header. */
static bool has_coding(const char *buf, size_t end)
{
	static const char coding[] = "transfer-encoding:";

	for (size_t i = 0; i + sizeof(coding) - 1 < end; i++)
		if ((i == 0 || buf[i - 1] == '\n') && strncasecmp(buf + i, coding, sizeof(coding) - 1) == 0)
			return true;
	return false;
}

static void check_head(const char *buf, size_t n, size_t full_end)
{
	size_t end = cr_http_head_end(buf, n), length;
	bool live, stream = true;

	FUZZ_CHECK(end <= n);
	if (full_end)
		FUZZ_CHECK(n >= full_end ? end == full_end : end == 0);
	if (!end)
		return;
	FUZZ_CHECK(end >= 2 && buf[end - 1] == '\n' &&
		   (buf[end - 2] == '\n' || (end >= 3 && buf[end - 2] == '\r' && buf[end - 3] == '\n')));
	FUZZ_CHECK(cr_http_head_end(buf, end) == end);
	if (cr_http_head_length(buf, end, &length)) {
		FUZZ_CHECK(length >= end && length <= end + 16 * (size_t)CR_HTTP_HEAD_MAX);
		FUZZ_CHECK(cr_http_head_whole(buf, end, n) == (length <= n));
	}
	if (cr_http_head_whole(buf, end, n)) {
		FUZZ_CHECK(!has_coding(buf, end));
		for (size_t more = n; more <= n + 2; more++)
			FUZZ_CHECK(cr_http_head_whole(buf, end, more));
	}
	live = cr_http_head_is_live(buf, end, &stream);
	FUZZ_CHECK(live || !stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t n = size < CR_HTTP_HEAD_MAX ? size : CR_HTTP_HEAD_MAX, end;
	size_t cuts[] = { n / 4, n / 2, n - n / 8, n > 0 ? n - 1 : 0, n };

	if (n == 0)
		return 0;
	end = cr_http_head_end(buf, n);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		if (cuts[i] > 0)
			check_head(buf, cuts[i], end);
	if (end) {
		check_head(buf, end, end);
		check_head(buf, end - 1, end);
	}
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		if (cuts[i] > 0 && cr_http_tls_hello_complete(data, cuts[i]))
			FUZZ_CHECK(cr_http_tls_hello_complete(data, n));
	return 0;
}
