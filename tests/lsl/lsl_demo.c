/* lsl_demo: drives one LSL outlet without the daemon, for tests.
 *
 * It plays a camera: frames are "captured" at exact multiples of the frame
 * period on CLOCK_MONOTONIC and pushed a little later (--lag-us), so a sample
 * whose timestamp equals the capture time proves the outlet sends the
 * capture time and not the push time. Every --trigger-every frames a trigger
 * is recorded half a period before a capture (type cycling 1..7), so the
 * first frame after it must carry it. Each pushed frame is written to the
 * sidecar (--sidecar) with the values an inlet must see ("frame,capture_ns,trigger_utc_us,trigger_type":
 * the sample carries capture_ns / 1e9 and trigger_utc_us / 1e6). stdout gets one JSON line when the outlet is
 * up ({"event":"ready",...}) and one with the outlet's counters and the
 * longest push() call at exit. It runs for --seconds (0: until SIGTERM or
 * SIGINT). */
#include "base/time.h"
#include "lsl/lsl.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: lsl_demo [--name N] [--type T] [--fps F] [--seconds S] [--sidecar PATH]\n"
			"                [--trigger-every FRAMES] [--lag-us US] [--base-port P]\n"
			"                [--multicast-port P] [--stall-timeout-ms MS] [--interfaces LIST]\n"
			"                [--limit-loopback]\n");
	exit(2);
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
		{ "interfaces", required_argument, NULL, 'i' }, { "limit-loopback", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct cr_lsl_stream_info info = {
		.name = "camrig-demo", .camera_name = "demo", .width = 640, .height = 480, .format = "YUYV",
	};
	double fps = 100, seconds = 0;
	long trigger_every = 0, lag_us = 500;
	const char *sidecar_path = NULL;
	FILE *sidecar = NULL;
	struct cr_lsl_outlet *outlet = NULL;
	struct cr_lsl_stats st;
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t period, start, max_push = 0, last_trigger_mono, last_trigger_utc_us = 0;
	int last_trigger_type = 0, c;
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
		case 'i': info.interfaces = optarg; break;
		case 'L': info.limit_loopback = true; break;
		default: usage();
		}
	}
	if (fps <= 0 || optind != argc)
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
	cr_lsl_outlet_stats(outlet, &st);
	printf("{\"event\":\"ready\",\"uid\":\"%s\",\"data_port\":%u,\"service_port\":%u}\n", st.uid, st.data_port,
	       st.service_port);
	fflush(stdout);

	start = cr_time_mono_ns() + period;
	for (frame = 0; !stop; frame++) {
		int64_t capture = start + (int64_t)frame * period, push_at = capture + lag_us * 1000, t0, t1;
		struct timespec ts = cr_time_ts(push_at);

		if (seconds > 0 && capture - start >= (int64_t)(seconds * 1e9))
			break;
		if (trigger_every > 0 && frame > 0 && frame % (uint64_t)trigger_every == 0) {
			/* Half a period before this capture: this frame is the first after it. */
			last_trigger_mono = capture - period / 2;
			last_trigger_utc_us = cr_time_mono_to_utc_us(last_trigger_mono);
			last_trigger_type = (int)(frame / (uint64_t)trigger_every - 1) % 7 + 1;
			cr_lsl_outlet_trigger(outlet, last_trigger_type, last_trigger_mono, last_trigger_utc_us);
		}
		while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		if (stop)
			break;
		t0 = cr_time_mono_ns();
		cr_lsl_outlet_push_frame(outlet, frame, capture);
		t1 = cr_time_mono_ns();
		if (t1 - t0 > max_push)
			max_push = t1 - t0;
		if (sidecar)
			fprintf(sidecar, "%llu,%lld,%lld,%d\n", (unsigned long long)frame, (long long)capture,
				(long long)last_trigger_utc_us, last_trigger_type);
	}

	cr_lsl_outlet_stats(outlet, &st);
	printf("{\"event\":\"stats\",\"frames\":%llu,\"max_push_us\":%.1f,\"inlets\":%u,\"streaming\":%u,"
	       "\"inlets_total\":%llu,\"inlets_dropped\":%llu,\"requests_refused\":%llu,"
	       "\"queries_answered\":%llu,\"queries_limited\":%llu,\"timedata_answered\":%llu,\"samples_pushed\":%llu,"
	       "\"samples_sent\":%llu,\"samples_skipped\":%llu}\n",
	       (unsigned long long)frame, (double)max_push / 1e3, st.inlets, st.streaming,
	       (unsigned long long)st.inlets_total, (unsigned long long)st.inlets_dropped,
	       (unsigned long long)st.requests_refused, (unsigned long long)st.queries_answered,
	       (unsigned long long)st.queries_limited,
	       (unsigned long long)st.timedata_answered, (unsigned long long)st.samples_pushed,
	       (unsigned long long)st.samples_sent, (unsigned long long)st.samples_skipped);
	fflush(stdout);
	cr_lsl_outlet_free(&outlet);
	if (sidecar)
		fclose(sidecar);
	return 0;
}
