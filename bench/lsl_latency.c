/* lsl_latency: push-to-socket latency and CPU cost of camrig's LSL outlet.
 *
 * The parent process creates an outlet and pushes samples at --fps for
 * --seconds, each stamped with the LSL clock just before cr_lsl_outlet_push().
 * --inlets child processes connect over loopback as protocol-1.10 inlets
 * (doc/lsl-protocol.md section 3.3) and note, for every sample, the LSL clock
 * when recv() returned it; latency = that minus the sample's timestamp (both
 * CLOCK_MONOTONIC, so no correction). Prints p50/p99/max latency, the
 * duration of the push() call itself, and the outlet process's CPU time per
 * sample (user + system of every thread: the push loop, which mostly sleeps,
 * and the outlet's two threads). Prints numbers, never fails on timing; exits
 * non-zero only when it cannot run.
 *
 * --baseline replaces the outlet by the least a sender can do: the pushing
 * thread send()s each encoded sample itself on a blocking TCP socket to one
 * inlet. It measures this machine's floor (loopback TCP plus waking the
 * reader), against which the outlet's extra thread hop can be judged.
 *
 *   lsl_latency [--seconds 60] [--fps 100] [--inlets 1] [--baseline] */
#include "base/time.h"
#include "lsl/lsl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_BYTES 33

struct result {
	double p50, p99, max; /* µs */
	long n, lost;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void percentiles(double *v, long n, struct result *r)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	r->n = n;
	r->p50 = n ? v[n / 2] : 0;
	r->p99 = n ? v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0;
	r->max = n ? v[n - 1] : 0;
}

static bool read_exact(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* One inlet: connects, checks the response, then timestamps every sample.
 * Reports "ready" on ready_fd, then a struct result on result_fd at EOF. */
static int run_inlet(uint16_t port, const char *uid, long expected, int ready_fd, int result_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char req[512], line[256];
	size_t have = 0, len;
	uint8_t buf[64 * SAMPLE_BYTES];
	double *lat = calloc((size_t)expected + 1024, sizeof(double));
	long n = 0, next_frame = 0, lost = 0;
	struct result r = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (!lat || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	len = (size_t)snprintf(req, sizeof(req),
			       "LSL:streamfeed/110 %s\r\nNative-Byte-Order: 1234\r\nValue-Size: 8\r\n"
			       "Max-Buffer-Length: 4096\r\n\r\n", uid);
	if (send(fd, req, len, 0) != (ssize_t)len)
		return 1;
	/* Response header: lines up to an empty one, read byte by byte. */
	for (;;) {
		size_t l = 0;

		while (l < sizeof(line) - 1 && read_exact(fd, &line[l], 1) && line[l] != '\n')
			l++;
		line[l] = '\0';
		if (have++ == 0 && strncmp(line, "LSL/110 200", 11) != 0) {
			fprintf(stderr, "lsl_latency: outlet answered \"%s\"\n", line);
			return 1;
		}
		if (l <= 1)
			break;
	}
	if (!read_exact(fd, buf, 2 * SAMPLE_BYTES)) /* the two test patterns */
		return 1;
	(void)!write(ready_fd, "r", 1);
	have = 0;
	for (;;) {
		ssize_t got = recv(fd, buf + have, sizeof(buf) - have, 0);
		double now = (double)cr_time_mono_ns() / 1e9;

		if (got <= 0)
			break;
		have += (size_t)got;
		for (size_t off = 0; off + SAMPLE_BYTES <= have; off += SAMPLE_BYTES) {
			double ts, frame;

			memcpy(&ts, buf + off + 1, 8);
			memcpy(&frame, buf + off + 9, 8);
			if ((long)frame != next_frame)
				lost += (long)frame - next_frame;
			next_frame = (long)frame + 1;
			if (n < expected + 1024)
				lat[n++] = (now - ts) * 1e6;
		}
		len = have - have % SAMPLE_BYTES;
		memmove(buf, buf + len, have - len);
		have -= len;
	}
	percentiles(lat, n, &r);
	r.lost = lost;
	(void)!write(result_fd, &r, sizeof(r));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "fps", required_argument, NULL, 'f' },
		{ "inlets", required_argument, NULL, 'i' },
		{ "baseline", no_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	double seconds = 60, fps = 100;
	int inlets = 1, c, ready[2], results[2], baseline_fd = -1, listen_fd = -1;
	bool baseline = false;
	struct cr_lsl_stream_info info = { .name = "lsl-latency-bench", .camera_name = "bench" };
	struct cr_lsl_outlet *outlet = NULL;
	struct cr_lsl_stats st;
	struct rusage ru0, ru1;
	long samples;
	double *push_us, cpu_s;
	int64_t period, start;
	struct result pr;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's': seconds = atof(optarg); break;
		case 'f': fps = atof(optarg); break;
		case 'i': inlets = atoi(optarg); break;
		case 'B': baseline = true; break;
		default:
			fprintf(stderr, "usage: lsl_latency [--seconds S] [--fps F] [--inlets N] [--baseline]\n");
			return 2;
		}
	}
	if (seconds <= 0 || fps <= 0 || inlets < 1 || inlets > 16)
		return 2;
	samples = (long)(seconds * fps);
	period = (int64_t)(1e9 / fps);
	push_us = calloc((size_t)samples + 1, sizeof(double));
	signal(SIGPIPE, SIG_IGN);
	info.nominal_rate = fps;
	if (!push_us || pipe(ready) < 0 || pipe(results) < 0)
		return 1;
	if (baseline) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);

		inlets = 1;
		memset(&st, 0, sizeof(st));
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 1) < 0 ||
		    getsockname(listen_fd, (struct sockaddr *)&sa, &sl) < 0)
			return 1;
		st.data_port = ntohs(sa.sin_port);
		snprintf(st.uid, sizeof(st.uid), "baseline");
	} else {
		if (cr_lsl_outlet_new(&info, &outlet) < 0 || cr_lsl_outlet_start(outlet) < 0)
			return 1;
		cr_lsl_outlet_stats(outlet, &st);
	}
	fflush(NULL);
	for (int i = 0; i < inlets; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(run_inlet(st.data_port, st.uid, samples, ready[1], results[1]));
		if (pid < 0)
			return 1;
	}
	if (baseline) {
		/* Play the outlet: read the request, answer 200 and two samples. */
		char req[1024], hdr[] = "LSL/110 200 OK\r\n\r\n";
		uint8_t zero[2 * SAMPLE_BYTES] = { 0 };
		size_t got = 0;
		int one = 1;

		baseline_fd = accept(listen_fd, NULL, NULL);
		if (baseline_fd < 0)
			return 1;
		setsockopt(baseline_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (got < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
			ssize_t n = recv(baseline_fd, req + got, sizeof(req) - 1 - got, 0);

			if (n <= 0)
				return 1;
			got += (size_t)n;
			req[got] = '\0';
		}
		if (send(baseline_fd, hdr, strlen(hdr), 0) < 0 || send(baseline_fd, zero, sizeof(zero), 0) < 0)
			return 1;
	}
	for (int i = 0; i < inlets; i++) {
		char b;

		if (read(ready[0], &b, 1) != 1) {
			fprintf(stderr, "lsl_latency: an inlet failed to connect\n");
			return 1;
		}
	}

	getrusage(RUSAGE_SELF, &ru0);
	start = cr_time_mono_ns() + period;
	for (long k = 0; k < samples; k++) {
		struct timespec ts = cr_time_ts(start + k * period);
		int64_t t0, t1;

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		t0 = cr_time_mono_ns();
		if (baseline) {
			uint8_t enc[SAMPLE_BYTES] = { 2 };
			double v[4] = { (double)t0 / 1e9, (double)k, 0, 0 };

			memcpy(enc + 1, v, sizeof(v));
			(void)!send(baseline_fd, enc, sizeof(enc), MSG_NOSIGNAL);
		} else {
			cr_lsl_outlet_push(outlet, (double)k, 0, 0, (double)t0 / 1e9);
		}
		t1 = cr_time_mono_ns();
		push_us[k] = (double)(t1 - t0) / 1e3;
	}
	getrusage(RUSAGE_SELF, &ru1);
	if (baseline) {
		st.samples_sent = (uint64_t)samples;
		close(baseline_fd);
		close(listen_fd);
	} else {
		cr_lsl_outlet_stats(outlet, &st);
		cr_lsl_outlet_free(&outlet); /* closes the inlets: they report */
	}

	cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		(double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	percentiles(push_us, samples, &pr);
	printf("lsl_latency%s: %.0f fps for %.0f s, %d inlet(s) on loopback, %ld samples pushed\n",
	       baseline ? " --baseline (send() from the pushing thread, no outlet)" : "", fps, seconds, inlets, samples);
	for (int i = 0; i < inlets; i++) {
		struct result r;

		if (read(results[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
			break;
		printf("  inlet %d: push -> socket read  p50 %7.1f us  p99 %7.1f us  max %8.1f us  (%ld samples, %ld "
		       "lost)\n", i, r.p50, r.p99, r.max, r.n, r.lost);
	}
	printf("  %s p50 %7.2f us  p99 %7.2f us  max %8.1f us\n", baseline ? "send() call:                " : "push() call:               ", pr.p50, pr.p99, pr.max);
	printf("  %s process CPU: %.1f us per sample (%.3f s user+sys for %ld samples; samples sent %llu, "
	       "skipped %llu)\n", baseline ? "sender" : "outlet", cpu_s * 1e6 / (double)samples, cpu_s, samples, (unsigned long long)st.samples_sent,
	       (unsigned long long)st.samples_skipped);
	while (wait(NULL) > 0)
		;
	free(push_us);
	return 0;
}
