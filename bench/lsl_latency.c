/* lsl_latency: push-to-inlet latency and CPU cost of camrig's LSL outlet,
 * beside liblsl's own outlet and beside the least a sender can do.
 *
 * Outlets (--outlet, a comma-separated list; default camrig):
 *   camrig  camrig's outlet (src/lsl/): cr_lsl_outlet_push() per sample.
 *   liblsl  liblsl's own outlet, loaded at run time from the shared library
 *           named by --liblsl or $LIBLSL: lsl_push_sample_dtp() with
 *           pushthrough per sample, chunk size 0 (liblsl's defaults). liblsl
 *           is not packaged by Debian: build it from its source
 *           (github.com/sccn/liblsl, cmake, see its README) outside this
 *           tree and pass the path of the liblsl.so it makes. Its
 *           configuration is a temporary lsl_api.cfg (IPv4 only, discovery
 *           on this machine only, the ports below) unless $LSLAPICFG names
 *           one.
 *   send    no outlet: the pushing thread send()s each encoded sample itself
 *           on a blocking TCP socket to one inlet. This machine's floor
 *           (loopback TCP plus waking the reader), against which an outlet's
 *           thread hop can be judged.
 * Every outlet publishes the same stream as a camrig frames outlet: three
 * double64 channels (frame_number, trigger_time, trigger_type), nominal rate
 * --fps, an explicit timestamp per sample, so every sample is 33 bytes on the
 * wire (doc/lsl-protocol.md section 3.4). Discovery is on a free port, not
 * LSL's 16571 (data and service ports from the next one), so that the
 * benchmark never takes datagrams meant for other outlets on the machine;
 * camrig's outlet serves loopback only.
 *
 * Every outlet runs in the same round, at the same rate: the parent creates
 * them all and pushes one sample to each per period, the pushes spread
 * evenly over the period (the order rotated every round), for --seconds;
 * so every outlet meets the same load on a shared machine while each sample
 * travels alone. Each sample is stamped with the LSL clock just before its
 * push. Each outlet has --inlets child processes (send: 1) that connect over
 * loopback as the same protocol-1.10 inlet for every outlet
 * (doc/lsl-protocol.md section 3.3: a raw socket speaking
 * LSL:streamfeed/110, no liblsl in the inlet) and note, for every sample,
 * the LSL clock when recv() returned it; latency = that minus the sample's
 * timestamp (both CLOCK_MONOTONIC, so no correction); samples that never
 * came are counted as lost. Prints, per round and outlet, p50/p99/max
 * latency, the duration of the push call and the CPU time per sample (the
 * pushing thread's in the push call, plus the outlet's own threads': camrig's
 * "lsl-*" threads, liblsl's every other thread); then a summary per outlet
 * over every round: pooled p50/p99/max and each round's p50 and p99 (the
 * spread). Prints numbers, never fails on timing; exits non-zero only when
 * it cannot run.
 *
 *   lsl_latency [--seconds 60] [--fps 100] [--inlets 1] [--rounds 1]
 *               [--outlet camrig,liblsl,send] [--liblsl PATH] */
#include "base/time.h"
#include "lsl/lsl.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_BYTES 33
#define MAX_INLETS 16
#define MAX_ROUNDS 100

enum kind { K_CAMRIG, K_LIBLSL, K_SEND, K_COUNT };

static const char *const kind_name[K_COUNT] = { "camrig", "liblsl", "send" };

static const char usage[] =
	"usage: lsl_latency [--seconds S] [--fps F] [--inlets N] [--rounds R] [--outlet LIST] [--liblsl PATH]\n"
	"  --outlet LIST  comma-separated, of: camrig (camrig's outlet), liblsl (liblsl's own outlet),\n"
	"                 send (send() from the pushing thread: this machine's floor); default camrig\n"
	"  --liblsl PATH  liblsl's shared library for --outlet liblsl (default $LIBLSL). liblsl is not\n"
	"                 packaged by Debian: build it from its source (github.com/sccn/liblsl, with cmake\n"
	"                 as its README says) outside camrig's tree and pass the liblsl.so it makes\n";

/* liblsl's C API (include/lsl/{common,streaminfo,outlet}.h), the few calls
 * used, resolved with dlsym so that camrig never links liblsl. */
struct liblsl {
	void *dl;
	int32_t (*library_version)(void);
	void *(*create_streaminfo)(const char *name, const char *type, int32_t channels, double rate,
				   int32_t format, const char *source_id);
	void (*destroy_streaminfo)(void *info);
	void *(*create_outlet)(void *info, int32_t chunk_size, int32_t max_buffered);
	void (*destroy_outlet)(void *outlet);
	int32_t (*push_sample_dtp)(void *outlet, const double *data, double timestamp, int32_t pushthrough);
	int32_t (*wait_for_consumers)(void *outlet, double timeout);
	void *(*get_info)(void *outlet);
	const char *(*get_uid)(void *info);
	char *(*get_xml)(void *info);
	void (*destroy_string)(char *s);
};

#define LSL_CFT_DOUBLE64 2 /* lsl_channel_format_t cft_double64 */

/* One outlet under test, of any kind. */
struct peer {
	enum kind kind;
	uint16_t port;               /* TCP data port inlets connect to */
	char uid[64];                /* the stream's uid, for the streamfeed request */
	struct cr_lsl_outlet *outlet;/* K_CAMRIG */
	void *lsl_outlet;            /* K_LIBLSL */
	int listen_fd, fd;           /* K_SEND */
};

struct result {
	double p50, p99, max; /* µs */
	long n, lost;
};

/* Every latency of one outlet over every round, and each round's figures. */
struct tally {
	double *lat;                    /* µs, every inlet's samples of every round */
	long n;
	double round_p50[MAX_ROUNDS], round_p99[MAX_ROUNDS]; /* µs, all inlets of the round pooled */
	double push_p50[MAX_ROUNDS], push_p99[MAX_ROUNDS];   /* µs, the push call */
	double cpu_us[MAX_ROUNDS];      /* process CPU µs per sample */
	long lost, samples;
	int rounds;
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

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n ? s[n / 2] : 0;
}

static bool read_exact(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static bool write_all(int fd, const void *buf, size_t len)
{
	for (size_t put = 0; put < len;) {
		ssize_t n = write(fd, (const char *)buf + put, len - put);

		if (n <= 0)
			return false;
		put += (size_t)n;
	}
	return true;
}

/* One inlet: connects, checks the response, then timestamps every sample.
 * Reports "r" on ready_fd, then at EOF a struct result and its latencies
 * (result.n doubles, µs) on result_fd. */
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
	/* Until the last sample, the outlet's close, or 5 s without a byte
	 * (liblsl's outlet may keep an inlet's socket open after it is
	 * destroyed). */
	while (next_frame < expected) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t got = poll(&pfd, 1, 5000) == 1 ? recv(fd, buf + have, sizeof(buf) - have, 0) : 0;
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
	r.n = n;
	r.lost = lost + (expected - next_frame);
	if (!write_all(result_fd, &r, sizeof(r)) || !write_all(result_fd, lat, (size_t)n * sizeof(double)))
		return 1;
	return 0;
}

#define RESOLVE(l, field, symbol)                                                                   \
	do {                                                                                        \
		*(void **)&(l)->field = dlsym((l)->dl, symbol);                                     \
		if (!(l)->field) {                                                                  \
			fprintf(stderr, "lsl_latency: %s has no %s: not liblsl's C API\n", path, symbol); \
			return -1;                                                                  \
		}                                                                                   \
	} while (0)

static char cfg[] = "/tmp/lsl_latency-cfg-XXXXXX"; /* the temporary lsl_api.cfg */

/* The outlets' discovery port; their data and service ports are tried from
 * the next one. Not LSL's 16571 and 16572: on a shared machine this
 * benchmark must not take the datagrams other outlets and tests wait for. */
static uint16_t bench_port;

/* A UDP port the kernel has free now (racy, but a taken port only moves an
 * outlet on to the next one). */
static uint16_t free_udp_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port && port < 65000 ? port : 40571;
}

static void remove_cfg(void)
{
	unlink(cfg);
}

/* Loads liblsl from path. Returns 0, or -1 with a message. */
static int liblsl_load(struct liblsl *l, const char *path)
{
	char text[256];
	int fd, len = snprintf(text, sizeof(text),
			       "[ports]\nIPv6 = disable\nMulticastPort = %u\nBasePort = %u\n[multicast]\n"
			       "ResolveScope = machine\n[log]\nlevel = -1\n", bench_port, bench_port + 1);

	if (!path || !*path) {
		fprintf(stderr, "lsl_latency: --outlet liblsl needs --liblsl PATH or LIBLSL=PATH\n%s", usage);
		return -1;
	}
	/* liblsl reads its configuration once, at its first call. */
	if (!getenv("LSLAPICFG")) {
		fd = mkstemp(cfg);
		if (fd < 0 || !write_all(fd, text, (size_t)len) || close(fd) < 0)
			return -1;
		atexit(remove_cfg);
		setenv("LSLAPICFG", cfg, 1);
	}
	l->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!l->dl) {
		fprintf(stderr, "lsl_latency: cannot load liblsl from %s: %s\n%s", path, dlerror(), usage);
		return -1;
	}
	RESOLVE(l, library_version, "lsl_library_version");
	RESOLVE(l, create_streaminfo, "lsl_create_streaminfo");
	RESOLVE(l, destroy_streaminfo, "lsl_destroy_streaminfo");
	RESOLVE(l, create_outlet, "lsl_create_outlet");
	RESOLVE(l, destroy_outlet, "lsl_destroy_outlet");
	RESOLVE(l, push_sample_dtp, "lsl_push_sample_dtp");
	RESOLVE(l, wait_for_consumers, "lsl_wait_for_consumers");
	RESOLVE(l, get_info, "lsl_get_info");
	RESOLVE(l, get_uid, "lsl_get_uid");
	RESOLVE(l, get_xml, "lsl_get_xml");
	RESOLVE(l, destroy_string, "lsl_destroy_string");
	return 0;
}

/* Creates the outlet and learns its data port and uid. Returns 0 or -1. */
static int peer_open(struct peer *p, enum kind kind, double fps, const struct liblsl *l)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->listen_fd = p->fd = -1;
	if (kind == K_CAMRIG) {
		struct cr_lsl_stream_info info = { .name = "lsl-latency-bench", .camera_name = "bench",
						   .nominal_rate = fps, .multicast_port = bench_port,
						   .base_port = (uint16_t)(bench_port + 1), .interfaces = "lo" };
		struct cr_lsl_stats st;

		if (cr_lsl_outlet_new(&info, &p->outlet) < 0 || cr_lsl_outlet_start(p->outlet) < 0)
			return -1;
		cr_lsl_outlet_stats(p->outlet, &st);
		p->port = st.data_port;
		snprintf(p->uid, sizeof(p->uid), "%s", st.uid);
	} else if (kind == K_LIBLSL) {
		void *info = l->create_streaminfo("lsl-latency-bench", "VideoEvents", 3, fps, LSL_CFT_DOUBLE64,
						  "lsl-latency-bench");
		void *copy;
		char *xml, *port;

		if (!info)
			return -1;
		p->lsl_outlet = l->create_outlet(info, 0, 360);
		l->destroy_streaminfo(info);
		if (!p->lsl_outlet)
			return -1;
		copy = l->get_info(p->lsl_outlet);
		xml = copy ? l->get_xml(copy) : NULL;
		port = xml ? strstr(xml, "<v4data_port>") : NULL;
		if (!port) {
			fprintf(stderr, "lsl_latency: liblsl's stream info names no v4data_port\n");
			return -1;
		}
		p->port = (uint16_t)atoi(port + strlen("<v4data_port>"));
		snprintf(p->uid, sizeof(p->uid), "%s", l->get_uid(copy));
		l->destroy_string(xml);
		l->destroy_streaminfo(copy);
	} else {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);

		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(p->listen_fd, 1) < 0 || getsockname(p->listen_fd, (struct sockaddr *)&sa, &sl) < 0)
			return -1;
		p->port = ntohs(sa.sin_port);
		snprintf(p->uid, sizeof(p->uid), "send");
	}
	return 0;
}

/* K_SEND plays the outlet once the inlet connected: reads the request,
 * answers 200 and two samples. Returns 0 or -1. */
static int peer_answer(struct peer *p)
{
	char req[1024], hdr[] = "LSL/110 200 OK\r\n\r\n";
	uint8_t zero[2 * SAMPLE_BYTES] = { 0 };
	size_t got = 0;
	int one = 1;

	p->fd = accept(p->listen_fd, NULL, NULL);
	if (p->fd < 0)
		return -1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	req[0] = '\0';
	while (got < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t n = recv(p->fd, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		req[got] = '\0';
	}
	if (send(p->fd, hdr, strlen(hdr), 0) < 0 || send(p->fd, zero, sizeof(zero), 0) < 0)
		return -1;
	return 0;
}

static void peer_push(struct peer *p, const struct liblsl *l, long k, double ts)
{
	if (p->kind == K_CAMRIG) {
		cr_lsl_outlet_push(p->outlet, (double)k, 0, 0, ts);
	} else if (p->kind == K_LIBLSL) {
		double v[3] = { (double)k, 0, 0 };

		l->push_sample_dtp(p->lsl_outlet, v, ts, 1);
	} else {
		uint8_t enc[SAMPLE_BYTES] = { 2 };
		double v[4] = { ts, (double)k, 0, 0 };

		memcpy(enc + 1, v, sizeof(v));
		(void)!send(p->fd, enc, sizeof(enc), MSG_NOSIGNAL);
	}
}

/* Destroys the outlet, which closes the inlets: they report. */
static void peer_close(struct peer *p, const struct liblsl *l)
{
	if (p->kind == K_CAMRIG)
		cr_lsl_outlet_free(&p->outlet);
	else if (p->kind == K_LIBLSL)
		l->destroy_outlet(p->lsl_outlet);
	if (p->fd >= 0)
		close(p->fd);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
}

/* CPU time in ns of the calling thread. */
static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return cr_time_from_ts(&ts);
}

/* Adds the CPU ns of this process's threads other than the calling one to
 * ns[] (subtracts them when sign is -1), by whose they are: camrig's outlet
 * threads are named "lsl-*", every other one is liblsl's. From
 * /proc/self/task/TID/schedstat (its first field: ns on a CPU). */
static void outlet_threads_cpu(int64_t ns[K_COUNT], int sign)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	long self = (long)gettid();

	while (dir && (e = readdir(dir)) != NULL) {
		char path[300], comm[32] = "";
		long long run = 0;
		FILE *f;

		if (e->d_name[0] == '.' || atol(e->d_name) == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			(void)!fgets(comm, sizeof(comm), f);
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%lld", &run) != 1)
				run = 0;
			fclose(f);
		}
		ns[strncmp(comm, "lsl-", 4) == 0 ? K_CAMRIG : K_LIBLSL] += sign * run;
	}
	if (dir)
		closedir(dir);
}

/* One round: every outlet of kinds[] at once, each pushed once a period,
 * spread evenly over the period (the order rotated by round), so that every
 * outlet meets the same load on a shared machine while each sample still
 * travels alone; each outlet has its own inlets. Adds every outlet's figures
 * to its tally and prints a line per outlet. */
static int measure(const enum kind *kinds, int nk, int round, double seconds, double fps, int inlets,
		   const struct liblsl *l, struct tally *t)
{
	long samples = (long)(seconds * fps);
	int64_t period = (int64_t)(1e9 / fps), slot = period / nk, start, threads_ns[K_COUNT] = { 0 };
	double *push_us[K_COUNT];
	int64_t push_cpu_ns[K_COUNT] = { 0 };
	int ready[2], results[K_COUNT][MAX_INLETS][2], nin[K_COUNT], waiting = 0;
	struct peer p[K_COUNT];

	if (pipe(ready) < 0)
		return -1;
	for (int j = 0; j < nk; j++) {
		nin[j] = kinds[j] == K_SEND ? 1 : inlets;
		push_us[j] = calloc((size_t)samples + 1, sizeof(double));
		if (!push_us[j] || peer_open(&p[j], kinds[j], fps, l) < 0) {
			fprintf(stderr, "lsl_latency: cannot create the %s outlet\n", kind_name[kinds[j]]);
			return -1;
		}
	}
	fflush(NULL);
	for (int j = 0; j < nk; j++) {
		for (int i = 0; i < nin[j]; i++) {
			pid_t pid;

			if (pipe(results[j][i]) < 0)
				return -1;
			pid = fork();
			if (pid == 0)
				_exit(run_inlet(p[j].port, p[j].uid, samples, ready[1], results[j][i][1]));
			if (pid < 0)
				return -1;
			close(results[j][i][1]);
			waiting++;
		}
		if (kinds[j] == K_SEND && peer_answer(&p[j]) < 0)
			return -1;
	}
	close(ready[1]);
	for (int i = 0; i < waiting; i++) {
		char b;

		if (read(ready[0], &b, 1) != 1) {
			fprintf(stderr, "lsl_latency: an inlet failed to connect\n");
			return -1;
		}
	}
	close(ready[0]);
	for (int j = 0; j < nk; j++) {
		/* liblsl makes an inlet's queue only after its test patterns went out. */
		if (kinds[j] == K_LIBLSL && !l->wait_for_consumers(p[j].lsl_outlet, 10.0)) {
			fprintf(stderr, "lsl_latency: liblsl's outlet has no consumer after 10 s\n");
			return -1;
		}
	}

	outlet_threads_cpu(threads_ns, -1);
	start = cr_time_mono_ns() + period;
	for (long k = 0; k < samples; k++) {
		for (int s = 0; s < nk; s++) {
			int j = (s + round) % nk;
			struct timespec ts = cr_time_ts(start + k * period + s * slot);
			int64_t t0, t1, c0;

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			c0 = thread_cpu_ns();
			t0 = cr_time_mono_ns();
			peer_push(&p[j], l, k, (double)t0 / 1e9);
			t1 = cr_time_mono_ns();
			push_cpu_ns[j] += thread_cpu_ns() - c0;
			push_us[j][k] = (double)(t1 - t0) / 1e3;
		}
	}
	outlet_threads_cpu(threads_ns, 1);
	for (int j = 0; j < nk; j++)
		peer_close(&p[j], l);

	for (int j = 0; j < nk; j++) {
		struct tally *tk = &t[j];
		double *round_lat = tk->lat + tk->n;
		long round_n = 0;
		struct result pr, rr;

		for (int i = 0; i < nin[j]; i++) {
			struct result r;

			if (!read_exact(results[j][i][0], &r, sizeof(r)) || r.n < 0 || r.n > samples + 1024 ||
			    !read_exact(results[j][i][0], tk->lat + tk->n, (size_t)r.n * sizeof(double))) {
				fprintf(stderr, "lsl_latency: an inlet of the %s outlet failed\n", kind_name[kinds[j]]);
				return -1;
			}
			close(results[j][i][0]);
			tk->n += r.n;
			round_n += r.n;
			tk->lost += r.lost;
		}
		percentiles(round_lat, round_n, &rr);
		percentiles(push_us[j], samples, &pr);
		tk->round_p50[round] = rr.p50;
		tk->round_p99[round] = rr.p99;
		tk->push_p50[round] = pr.p50;
		tk->push_p99[round] = pr.p99;
		tk->cpu_us[round] = (double)(push_cpu_ns[j] + (kinds[j] == K_SEND ? 0 : threads_ns[kinds[j]])) / 1e3 /
				    (double)samples;
		printf("  round %d %-6s push -> socket read  p50 %7.1f us  p99 %7.1f us  max %8.1f us  (%ld samples); "
		       "push call p50 %.2f us p99 %.2f us; CPU %.1f us per sample\n", round + 1, kind_name[kinds[j]],
		       rr.p50, rr.p99, rr.max, round_n, pr.p50, pr.p99, tk->cpu_us[round]);
		tk->samples += samples * nin[j];
		tk->rounds++;
		free(push_us[j]);
	}
	fflush(stdout);
	while (wait(NULL) > 0)
		;
	return 0;
}

static void print_list(const double *v, int n)
{
	for (int i = 0; i < n; i++)
		printf("%s%.0f", i ? "/" : "", v[i]);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "fps", required_argument, NULL, 'f' },
		{ "inlets", required_argument, NULL, 'i' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "outlet", required_argument, NULL, 'o' },
		{ "liblsl", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	double seconds = 60, fps = 100;
	int inlets = 1, rounds = 1, c, nkinds = 0;
	const char *outlets = "camrig", *path = getenv("LIBLSL");
	enum kind kinds[K_COUNT];
	struct liblsl l = { 0 };
	struct tally t[K_COUNT];
	char *list, *tok, *save;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's': seconds = atof(optarg); break;
		case 'f': fps = atof(optarg); break;
		case 'i': inlets = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'o': outlets = optarg; break;
		case 'l': path = optarg; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc || seconds <= 0 || fps <= 0 || inlets < 1 || inlets > MAX_INLETS || rounds < 1 ||
	    rounds > MAX_ROUNDS) {
		fputs(usage, stderr);
		return 2;
	}
	bench_port = free_udp_port();
	list = strdup(outlets);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = 0;

		while (k < K_COUNT && strcmp(tok, kind_name[k]) != 0)
			k++;
		if (k == K_COUNT || nkinds == K_COUNT) {
			fprintf(stderr, "lsl_latency: --outlet: unknown or repeated outlet \"%s\" (expected a list of: "
				"camrig, liblsl, send)\n", tok);
			return 2;
		}
		kinds[nkinds++] = (enum kind)k;
		if (k == K_LIBLSL && liblsl_load(&l, path) < 0)
			return 1;
	}
	free(list);
	signal(SIGPIPE, SIG_IGN);
	printf("lsl_latency: %.0f fps for %.0f s per round, %d round(s), %d inlet(s) on loopback (send: 1)",
	       fps, seconds, rounds, inlets);
	if (l.dl)
		printf("; liblsl %d.%d from %s", l.library_version() / 100, l.library_version() % 100, path);
	printf("\n");
	for (int k = 0; k < nkinds; k++) {
		memset(&t[k], 0, sizeof(t[k]));
		t[k].lat = calloc((size_t)rounds * (size_t)inlets * ((size_t)(seconds * fps) + 1024), sizeof(double));
		if (!t[k].lat)
			return 1;
	}
	for (int r = 0; r < rounds; r++)
		if (measure(kinds, nkinds, r, seconds, fps, inlets, &l, t) < 0)
			return 1;
	for (int k = 0; k < nkinds; k++) {
		struct result all;

		percentiles(t[k].lat, t[k].n, &all);
		printf("summary %s: p50 %.1f us p99 %.1f us max %.1f us over %ld samples of %d round(s), %ld lost; "
		       "round p50 ", kind_name[kinds[k]], all.p50, all.p99, all.max, all.n, rounds, t[k].lost);
		print_list(t[k].round_p50, rounds);
		printf(" us, round p99 ");
		print_list(t[k].round_p99, rounds);
		printf(" us; push call p50 %.2f us p99 %.2f us, CPU %.1f us per sample (medians of rounds)\n",
		       median(t[k].push_p50, rounds), median(t[k].push_p99, rounds), median(t[k].cpu_us, rounds));
		free(t[k].lat);
	}
	return 0;
}
