/* lsl_demo: drives LSL outlets without the daemon, for tests.
 *
 * It plays a camera: frames are "captured" at exact multiples of the frame
 * period on CLOCK_MONOTONIC and pushed a little later (--lag-us), so a sample
 * whose timestamp equals the capture time proves the outlet sends the
 * capture time and not the push time.
 *
 * Triggers (--trigger-every N, N >= 3): trigger k (k = 0, 1, ...) happens half
 * a period before the capture of frame f = (k + 1) N, with type k % 7 + 1.
 * How it is recorded cycles with k % 3, to cover every rule of lsl.h:
 *   0: recorded before frame f - 1 is pushed: f - 1, captured before it but
 *      pushed after it, keeps the previous trigger; f shows it;
 *   1: as 0, plus a second trigger a quarter period earlier (type
 *      (k + 3) % 7 + 1), recorded after the first: f shows only the later;
 *   2: recorded only after frame f was pushed: f keeps the previous trigger,
 *      f + 1 shows it.
 * Each pushed frame is written to the sidecar (--sidecar) with the values an
 * inlet must see ("frame,capture_ns,trigger_utc_us,trigger_type": the sample
 * carries capture_ns / 1e9, trigger_utc_us / 1e6 and trigger_type).
 *
 * --markers NAME adds a markers outlet (camera name: --name). Each stdin line
 * "m TEXT" pushes TEXT on it with the current CLOCK_MONOTONIC time, "f TEXT"
 * tries the same on the frames outlet (which must refuse), and each gets one
 * stdout line {"event":"marker","ret":R,"mono_ns":T,"bytes":B}.
 *
 * stdout gets one JSON line when the outlets are up ({"event":"ready",...})
 * and one with the counters of each outlet and the longest push() call at
 * exit, in wall-clock time (max_push_us: includes any preemption of the
 * pushing thread) and in the thread's CPU time (max_push_cpu_us: the work
 * the call did). It runs for --seconds (0: until SIGTERM or SIGINT). */
#include "base/time.h"
#include "lsl/lsl.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (2 * CR_LSL_MARKER_MAX + 16) /* a longer stdin line is cut there */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: lsl_demo [--name N] [--type T] [--fps F] [--seconds S] [--sidecar PATH]\n"
			"                [--trigger-every FRAMES (>= 3)] [--lag-us US] [--base-port P]\n"
			"                [--multicast-port P] [--stall-timeout-ms MS] [--request-timeout-ms MS]\n"
			"                [--interfaces LIST] [--limit-loopback] [--markers NAME]\n");
	exit(2);
}

struct stdin_reader {
	struct cr_lsl_outlet *frames, *markers;
	int stop_pipe[2];   /* written by main to end the thread */
	pthread_t thread;
};

static void push_line(struct stdin_reader *r, char *line, size_t len)
{
	struct cr_lsl_outlet *outlet;
	int64_t mono_ns = cr_time_mono_ns();
	int ret;

	if (len < 2 || (line[0] != 'm' && line[0] != 'f') || line[1] != ' ') {
		printf("{\"event\":\"error\",\"bytes\":%zu}\n", len);
		fflush(stdout);
		return;
	}
	outlet = line[0] == 'm' ? r->markers : r->frames;
	line[len] = '\0';
	ret = cr_lsl_outlet_push_marker(outlet, line + 2, mono_ns);
	printf("{\"event\":\"marker\",\"ret\":%d,\"mono_ns\":%lld,\"bytes\":%zu}\n", ret, (long long)mono_ns,
	       len - 2);
	fflush(stdout);
}

/* Reads stdin line by line until EOF or the stop pipe. */
static void *stdin_thread(void *arg)
{
	struct stdin_reader *r = arg;
	static char buf[LINE_MAX_BYTES + 1];
	size_t used = 0;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = 0, .events = POLLIN }, { .fd = r->stop_pipe[0], .events = POLLIN } };
		char *nl;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(0, buf + used, LINE_MAX_BYTES - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		while ((nl = memchr(buf, '\n', used)) != NULL) {
			size_t len = (size_t)(nl - buf);

			push_line(r, buf, len);
			memmove(buf, nl + 1, used - len - 1);
			used -= len + 1;
		}
		if (used == LINE_MAX_BYTES) {
			push_line(r, buf, used);
			used = 0;
		}
	}
	return NULL;
}

static void print_counters(const struct cr_lsl_stats *st)
{
	printf("\"inlets\":%u,\"streaming\":%u,\"inlets_total\":%llu,\"inlets_dropped\":%llu,"
	       "\"requests_refused\":%llu,\"requests_timed_out\":%llu,\"queries_answered\":%llu,"
	       "\"queries_limited\":%llu,\"timedata_answered\":%llu,\"samples_pushed\":%llu,"
	       "\"samples_sent\":%llu,\"samples_skipped\":%llu,\"markers_refused\":%llu",
	       st->inlets, st->streaming, (unsigned long long)st->inlets_total, (unsigned long long)st->inlets_dropped,
	       (unsigned long long)st->requests_refused, (unsigned long long)st->requests_timed_out,
	       (unsigned long long)st->queries_answered, (unsigned long long)st->queries_limited,
	       (unsigned long long)st->timedata_answered, (unsigned long long)st->samples_pushed,
	       (unsigned long long)st->samples_sent, (unsigned long long)st->samples_skipped,
	       (unsigned long long)st->markers_refused);
}

/* The trigger of the schedule above that frame f shows first (k >= 0), or
 * -1 when f shows none. */
static long trigger_shown_by(uint64_t f, long every)
{
	if (every <= 0 || f < (uint64_t)every)
		return -1;
	if (f % (uint64_t)every == 0 && (f / (uint64_t)every - 1) % 3 != 2)
		return (long)(f / (uint64_t)every - 1);
	if (f % (uint64_t)every == 1 && (f / (uint64_t)every - 1) % 3 == 2)
		return (long)(f / (uint64_t)every - 1);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },     { "type", required_argument, NULL, 't' },
		{ "fps", required_argument, NULL, 'f' },      { "seconds", required_argument, NULL, 's' },
		{ "sidecar", required_argument, NULL, 'o' },  { "trigger-every", required_argument, NULL, 'g' },
		{ "lag-us", required_argument, NULL, 'l' },   { "base-port", required_argument, NULL, 'b' },
		{ "multicast-port", required_argument, NULL, 'm' },
		{ "stall-timeout-ms", required_argument, NULL, 'T' },
		{ "request-timeout-ms", required_argument, NULL, 'R' },
		{ "interfaces", required_argument, NULL, 'i' }, { "limit-loopback", no_argument, NULL, 'L' },
		{ "markers", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	struct cr_lsl_stream_info info = {
		.name = "camrig-demo", .camera_name = "demo", .width = 640, .height = 480, .format = "YUYV",
	};
	struct cr_lsl_stream_info marker_info;
	const char *markers_name = NULL;
	double fps = 100, seconds = 0;
	long trigger_every = 0, lag_us = 500;
	const char *sidecar_path = NULL;
	FILE *sidecar = NULL;
	struct cr_lsl_outlet *outlet = NULL, *markers = NULL;
	struct stdin_reader reader = { .stop_pipe = { -1, -1 } };
	bool reading = false;
	struct cr_lsl_stats st, mst;
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t period, start, max_push = 0, max_push_cpu = 0, shown_utc_us = 0;
	int64_t trigger_utc_us[3] = { 0 }; /* of the last triggers recorded, by k % 3 */
	int c;
	uint64_t frame;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'n': info.name = info.camera_name = optarg; break;
		case 't': info.type = optarg; break;
		case 'f': fps = atof(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'o': sidecar_path = optarg; break;
		case 'g': trigger_every = atol(optarg); break;
		case 'l': lag_us = atol(optarg); break;
		case 'b': info.base_port = (uint16_t)atoi(optarg); break;
		case 'm': info.multicast_port = (uint16_t)atoi(optarg); break;
		case 'T': info.stall_timeout_ms = atoi(optarg); break;
		case 'R': info.request_timeout_ms = atoi(optarg); break;
		case 'i': info.interfaces = optarg; break;
		case 'L': info.limit_loopback = true; break;
		case 'M': markers_name = optarg; break;
		default: usage();
		}
	}
	if (fps <= 0 || optind != argc || (trigger_every != 0 && trigger_every < 3))
		usage();
	info.nominal_rate = fps;
	period = (int64_t)(1e9 / fps);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (sidecar_path) {
		sidecar = fopen(sidecar_path, "w");
		if (!sidecar) {
			fprintf(stderr, "lsl_demo: %s: %s\n", sidecar_path, strerror(errno));
			return 1;
		}
		setvbuf(sidecar, NULL, _IOLBF, 0);
	}
	if (cr_lsl_outlet_new(&info, &outlet) < 0 || cr_lsl_outlet_start(outlet) < 0)
		return 1;
	if (markers_name) {
		marker_info = info;
		marker_info.name = markers_name;
		marker_info.type = NULL;
		marker_info.markers = true;
		if (cr_lsl_outlet_new(&marker_info, &markers) < 0 || cr_lsl_outlet_start(markers) < 0)
			return 1;
	}
	cr_lsl_outlet_stats(outlet, &st);
	printf("{\"event\":\"ready\",\"uid\":\"%s\",\"data_port\":%u,\"service_port\":%u", st.uid, st.data_port,
	       st.service_port);
	if (markers) {
		cr_lsl_outlet_stats(markers, &mst);
		printf(",\"markers_uid\":\"%s\",\"markers_data_port\":%u,\"markers_service_port\":%u", mst.uid,
		       mst.data_port, mst.service_port);
	}
	printf("}\n");
	fflush(stdout);
	if (markers) {
		sigset_t all, old;

		reader.frames = outlet;
		reader.markers = markers;
		if (pipe(reader.stop_pipe) < 0)
			return 1;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		reading = pthread_create(&reader.thread, NULL, stdin_thread, &reader) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}

	start = cr_time_mono_ns() + period;
	for (frame = 0; !stop; frame++) {
		int64_t capture = start + (int64_t)frame * period, push_at = capture + lag_us * 1000, t0, t1;
		struct timespec ts = cr_time_ts(push_at), cpu0, cpu1;
		int shown_type = 0;
		long k;

		if (seconds > 0 && capture - start >= (int64_t)(seconds * 1e9))
			break;
		/* Variants 0 and 1: the trigger before the next capture, recorded now. */
		if (trigger_every > 0 && (frame + 1) % (uint64_t)trigger_every == 0 &&
		    ((frame + 1) / (uint64_t)trigger_every - 1) % 3 != 2) {
			int64_t mono = capture + period / 2;

			k = (long)((frame + 1) / (uint64_t)trigger_every - 1);
			trigger_utc_us[k % 3] = cr_time_mono_to_utc_us(mono);
			cr_lsl_outlet_trigger(outlet, (int)(k % 7 + 1), mono, trigger_utc_us[k % 3]);
			if (k % 3 == 1)
				cr_lsl_outlet_trigger(outlet, (int)((k + 3) % 7 + 1), mono - period / 4,
						      cr_time_mono_to_utc_us(mono - period / 4));
		}
		while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		if (stop)
			break;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
		t0 = cr_time_mono_ns();
		cr_lsl_outlet_push_frame(outlet, frame, capture);
		t1 = cr_time_mono_ns();
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
		if (t1 - t0 > max_push)
			max_push = t1 - t0;
		t1 = (cpu1.tv_sec - cpu0.tv_sec) * 1000000000LL + (cpu1.tv_nsec - cpu0.tv_nsec);
		if (t1 > max_push_cpu)
			max_push_cpu = t1;
		/* Variant 2: the trigger before this capture, recorded only now. */
		if (trigger_every > 0 && frame > 0 && frame % (uint64_t)trigger_every == 0 &&
		    (frame / (uint64_t)trigger_every - 1) % 3 == 2) {
			int64_t mono = capture - period / 2;

			k = (long)(frame / (uint64_t)trigger_every - 1);
			trigger_utc_us[2] = cr_time_mono_to_utc_us(mono);
			cr_lsl_outlet_trigger(outlet, (int)(k % 7 + 1), mono, trigger_utc_us[2]);
		}
		k = trigger_shown_by(frame, trigger_every);
		if (k >= 0) {
			shown_utc_us = trigger_utc_us[k % 3];
			shown_type = (int)(k % 7 + 1);
		}
		if (sidecar)
			fprintf(sidecar, "%llu,%lld,%lld,%d\n", (unsigned long long)frame, (long long)capture,
				(long long)shown_utc_us, shown_type);
	}

	if (reading) {
		(void)!write(reader.stop_pipe[1], "x", 1);
		pthread_join(reader.thread, NULL);
	}
	cr_lsl_outlet_stats(outlet, &st);
	printf("{\"event\":\"stats\",\"frames\":%llu,\"max_push_us\":%.1f,\"max_push_cpu_us\":%.1f,",
	       (unsigned long long)frame, (double)max_push / 1e3, (double)max_push_cpu / 1e3);
	print_counters(&st);
	if (markers) {
		cr_lsl_outlet_stats(markers, &mst);
		printf(",\"markers\":{");
		print_counters(&mst);
		printf("}");
	}
	printf("}\n");
	fflush(stdout);
	cr_lsl_outlet_free(&markers);
	cr_lsl_outlet_free(&outlet);
	if (reader.stop_pipe[0] >= 0) {
		close(reader.stop_pipe[0]);
		close(reader.stop_pipe[1]);
	}
	if (sidecar)
		fclose(sidecar);
	return 0;
}
