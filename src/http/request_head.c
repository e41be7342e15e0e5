/* Request heads as the acceptor peeks at them (request_head.h). */
#include "http/request_head.h"

#include "http/internal.h"

#include <strings.h>

#define TLS_RECORD_HEADER 5 /* bytes: type, version, length (RFC 8446 section 5.1) */
#define TLS_HANDSHAKE 0x16  /* the record type of a ClientHello */

size_t cr_http_head_end(const char *buf, size_t n)
{
	size_t i = 0;

	while (i < n && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	for (; i + 1 < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

bool cr_http_head_length(const char *buf, size_t end, size_t *length_out)
{
	static const char length[] = "content-length:", coding[] = "transfer-encoding:";
	bool has_length = false;
	size_t body = 0;

	for (size_t i = 0; i < end; i++) {
		const char *line = buf + i;
		size_t left = end - i;

		if (i > 0 && buf[i - 1] != '\n')
			continue;
		if (left > sizeof(coding) - 1 && strncasecmp(line, coding, sizeof(coding) - 1) == 0)
			return false;
		if (left > sizeof(length) - 1 && strncasecmp(line, length, sizeof(length) - 1) == 0) {
			size_t j = i + sizeof(length) - 1;

			if (has_length)
				return false;
			has_length = true;
			while (j < end && (buf[j] == ' ' || buf[j] == '\t'))
				j++;
			if (j >= end || buf[j] < '0' || buf[j] > '9')
				return false;
			for (; j < end && buf[j] >= '0' && buf[j] <= '9'; j++) {
				body = body * 10 + (size_t)(buf[j] - '0');
				if (body > (size_t)CR_HTTP_HEAD_MAX * 16)
					return false; /* more than can be here */
			}
		}
	}
	*length_out = end + body;
	return true;
}

bool cr_http_head_whole(const char *buf, size_t end, size_t n)
{
	size_t length;

	return cr_http_head_length(buf, end, &length) && length <= n;
}

bool cr_http_head_is_live(const char *buf, size_t n, bool *stream)
{
	size_t i = 0, path;

	*stream = false;
	while (i < n && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	while (i < n && buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\n')
		i++;
	if (i == n || buf[i] != ' ')
		return false;
	path = ++i;
	while (i < n && buf[i] != ' ' && buf[i] != '?' && buf[i] != '\r' && buf[i] != '\n')
		i++;
	return cr_http_path_is_live(buf + path, i - path, stream);
}

bool cr_http_tls_hello_complete(const unsigned char *buf, size_t n)
{
	size_t need;

	if (buf[0] != TLS_HANDSHAKE)
		return true;
	if (n < TLS_RECORD_HEADER)
		return false;
	need = TLS_RECORD_HEADER + ((size_t)buf[3] << 8 | buf[4]);
	return n >= (need < CR_HTTP_HEAD_MAX ? need : CR_HTTP_HEAD_MAX);
}
