/* camrig's command line: `camrig run` (the daemon), `camrig list`,
 * `camrig record start|stop` (a client of the running daemon), `camrig verify`,
 * --help, --version. Signals are handled here only: every other thread is
 * created with them blocked, and the main thread reads them from a signalfd,
 * polled together with the keyboard (stdin, when it is the terminal's
 * foreground) in raw mode, restored on exit. */
#include "app/client.h"
#include "app/doctor.h"
#include "app/monitor.h"
#include "app/pipeline.h"
#include "app/service.h"
#include "config/config.h"
#include "config/sources.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "camrig-version.h"
#include "http/http.h"
#include "record/timelapse.h"
#include "record/verify.h"
#include "source/source.h"

#include <curl/curl.h>
#include <jansson.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <libavutil/log.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

static const char usage[] =
	"Usage: camrig COMMAND [OPTIONS]\n"
	"\n"
	"Camera capture, recording and streaming daemon.\n"
	"\n"
	"Commands:\n"
	"  run                 capture and serve the live view, snapshots and status over HTTP\n"
	"  list [--json]       list the cameras (libcamera, V4L2, GenICam) with their formats, sizes,\n"
	"                      frame rates and controls; --json for programs\n"
	"  record start [--duration S] [--camera NAME] [--listen HOST:PORT] [--credentials FILE]\n"
	"  record stop [--camera NAME] [--listen HOST:PORT] [--credentials FILE]\n"
	"                      start or stop recording in the running daemon (POST /api/command)\n"
	"  monitor [--listen HOST:PORT] [--credentials FILE]\n"
	"                      a terminal view of the running daemon (ncurses, 80x24 is enough): fps,\n"
	"                      drops, clients, recording, pre-trigger, LSL, timelapse, ntfy, host, sensors,\n"
	"                      events; keys r/s record, p snapshot, t timelapse shot, q quit, h help\n"
	"  status [--json] [--listen HOST:PORT] [--credentials FILE]\n"
	"                      the same once (--json: the daemon's /status)\n"
	"  verify FILE...      check recordings against their timestamp sidecars (exit 1 on a mismatch,\n"
	"                      3 when a crash cut one short and every frame it holds matches)\n"
	"  timelapse assemble DIR [--fps N] [--output FILE]\n"
	"                      make the MP4 of a timelapse session's stills (e.g. after a crash)\n"
	"  mcp [--listen HOST:PORT] [--credentials FILE]\n"
	"                      an MCP server on stdio for AI agents, serving the running daemon (which also\n"
	"                      serves MCP at /mcp): tools list_cameras, start_recording, snapshot, ...\n"
	"  doctor [--config FILE] [--set KEY=VALUE]... [--json]\n"
	"                      what this machine can do for that config: libraries, encoders, cameras,\n"
	"                      permissions, free space, ports, clock, GPIO, ntfy, MQTT broker, RTSP servers,\n"
	"                      Janus (exit 1: something the config needs cannot work)\n"
	"\n"
	"Options of run (each sets the config key in brackets; the command line wins over the file):\n"
	"  -c, --config FILE       YAML configuration (default: built in; see data/camrig.yaml)\n"
	"  -s, --source SPEC       where frames come from (Sources below; default auto)   [camera.source]\n"
	"      --size WxH          frame size in pixels, e.g. 640x480                   [camera.size]\n"
	"      --fps N             frame rate                                           [camera.fps]\n"
	"      --format FOURCC     MJPEG, YUYV, NV12, YU12, GREY, RGB24 or BGR24, or raw: [camera.format]\n"
	"                          Y10, Y10P, Y12, Y16, SRGGB8/10/10P/12/16 (each Bayer order);\n"
	"                          GenICam names too: Mono8, Mono16, BayerRG8...\n"
	"  -l, --listen HOST:PORT  HTTP address (default 127.0.0.1:8080)                [http.listen]\n"
	"  -n, --name NAME         camera name shown on the page and in /status        [camera.name]\n"
	"  -o, --set KEY=VALUE     set any config key, e.g. -o camera.jpeg.quality=90\n"
	"      --log-level LEVEL   error, warn, info or debug                           [log_level]\n"
	"\n"
	"  -h, --help              this help\n"
	"  -V, --version           the version\n"
	"\n"
	"HTTP endpoints: / (page), /stream.mjpg, /snapshot.jpg, /frame?width=&height=&quality=&gray=1&overlay=1,\n"
	"/status, /healthz (200 while every camera sent a frame within health.max_age s, else 503),\n"
	"/metrics (Prometheus: frames, drops, fps, clients, recording, analysis, HTTP, MQTT, RTSP, process, host,\n"
	"sensors),\n"
	"/api/command, /api/record (GET), /api/record/start?duration=S, /api/record/stop (POST),\n"
	"/api/timelapse (GET), /api/timelapse/start?interval=S, .../pause, resume, stop, abort, shot (POST),\n"
	"/api/events (Server-Sent Events), /mcp (MCP, Streamable HTTP). A POST needs the header X-Camrig: 1\n"
	"or a JSON body "
	"(curl -H 'X-Camrig: 1' -d get_stats http://127.0.0.1:8080/api/command), which web pages cannot send.\n"
	"A client must send its whole request within http.header_timeout of connecting; of those still\n"
	"sending, the oldest is closed beyond http.max_pending. Live views and other requests have limits\n"
	"of their own, http.max_stream_clients and http.max_api_clients, and beyond loopback\n"
	"http.max_clients_per_ip; a client over a limit gets a 503 with the reason (defaults and more in\n"
	"data/camrig.yaml and the README, \"Limits\").\n"
	"\n"
	"Set in the config (or with -o): recording (codec, pre_trigger, ...), timelapse, upload,\n"
	"lsl (Lab Streaming Layer outlet), tcp_stream (raw H.264 on TCP), ntfy, gpio (a button's click\n"
	"map: gpio.preset recording or timelapse, gpio.clicks.N='COMMAND; while STATE: COMMAND'; LEDs),\n"
	"mqtt (state, events and commands through a broker, Home Assistant discovery:\n"
	"-o mqtt.enabled=true -o mqtt.broker=HOST:PORT), rtsp (publish H.264 to a media server:\n"
	"-o camera.rtsp.enabled=true -o camera.rtsp.url=rtsp://HOST:8554/PATH), webrtc (RTP to a Janus\n"
	"streaming mountpoint, played by the live page: camera.webrtc.rtp, .janus, .mountpoint),\n"
	"http auth/TLS/limits, health.max_age, telemetry (host sampling), sensors (IIO and hwmon:\n"
	"-o sensors=box=iio:dht11/temp), analysis (motion detection that starts recordings:\n"
	"analysis.motion.enabled, threshold, zones, event_gap, post_capture; face detection:\n"
	"analysis.faces.enabled; boxes drawn into the live view with analysis.overlay or ?overlay=1).\n"
	"\n"
	"While running: SIGUSR1 starts recording, SIGUSR2 stops it; in a terminal the keys r (start),\n"
	"s (stop) and q (quit) do the same. Stop with Ctrl-C or SIGTERM (open files are finalized).\n"
	"Under systemd (data/camrig.service, Type=notify): READY=1 once cameras and HTTP run, a STATUS=\n"
	"line, WATCHDOG=1 only while the capture, encoder and control threads make progress, STOPPING=1.\n"
	"\n"
	"Sources:\n";

/* The usage text, and the sources from config/sources.h's table. */
static void print_usage(FILE *out)
{
	fputs(usage, out);
	for (int i = 0; i < CR_SOURCE_KINDS; i++)
		fprintf(out, "  %-22s  %s\n", cr_source_schemes[i].form, cr_source_schemes[i].about);
}

enum { OPT_SIZE = 256, OPT_FPS, OPT_FORMAT, OPT_LOG_LEVEL };

static const struct option run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "source", required_argument, NULL, 's' },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "fps", required_argument, NULL, OPT_FPS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "listen", required_argument, NULL, 'l' },
	{ "name", required_argument, NULL, 'n' },
	{ "set", required_argument, NULL, 'o' },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The config key each option sets. */
static const char *option_key(int opt)
{
	switch (opt) {
	case 's': return "camera.source";
	case OPT_SIZE: return "camera.size";
	case OPT_FPS: return "camera.fps";
	case OPT_FORMAT: return "camera.format";
	case 'l': return "http.listen";
	case 'n': return "camera.name";
	case OPT_LOG_LEVEL: return "log_level";
	default: return NULL;
	}
}

/* Applies one option to config; "-o KEY=VALUE" or a named option. */
static int apply_option(struct cr_config *config, int opt, const char *arg)
{
	char *error = NULL, *key = NULL;
	const char *value = arg;
	int ret;

	if (opt == 'o') {
		const char *eq = strchr(arg, '=');

		if (!eq || eq == arg) {
			fprintf(stderr, "camrig: --set %s: expected KEY=VALUE\n", arg);
			return -EINVAL;
		}
		key = strndup(arg, (size_t)(eq - arg));
		value = eq + 1;
	}
	ret = cr_config_set(config, key ? key : option_key(opt), value, &error);
	if (ret < 0)
		fprintf(stderr, "camrig: %s\n", error ? error : cr_strerror(ret));
	free(error);
	free(key);
	return ret;
}

/* libav's own messages (decoder concealment, protocol chatter) are noise
 * next to what the sources report themselves: they show at debug level only,
 * as camrig log lines. */
static void libav_log(void *avcl, int level, const char *fmt, va_list vl)
{
	char line[1024];
	int prefix = 1;
	size_t n;

	if (level > AV_LOG_WARNING || cr_log_get_level() < CR_LOG_DEBUG)
		return;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &prefix);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n)
		cr_debug("libav: %s", line);
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGPIPE);
	return -pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* The keyboard: stdin in raw mode (no line buffering, no echo; Ctrl-C still
 * signals) when it is a terminal camrig runs in the foreground of. */
static struct termios saved_termios;
static bool keyboard_raw;

static void keyboard_restore(void)
{
	if (keyboard_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	keyboard_raw = false;
}

static bool keyboard_open(void)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp() ||
	    tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return false;
	raw = saved_termios;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return false;
	keyboard_raw = true;
	atexit(keyboard_restore);
	cr_info("keys: r start recording, s stop recording, q quit");
	return true;
}

static void on_key(struct cr_pipeline *pipeline, char key)
{
	switch (key) {
	case 'r': case 'R':
		cr_pipeline_post(pipeline, "start_recording", CR_TRIGGER_KEYBOARD);
		break;
	case 's': case 'S':
		cr_pipeline_post(pipeline, "stop_recording", CR_TRIGGER_KEYBOARD);
		break;
	case 'q': case 'Q':
		cr_pipeline_post(pipeline, "quit", CR_TRIGGER_KEYBOARD);
		break;
	default:
		break;
	}
}

/* Waits for signals (and keys) until SIGINT or SIGTERM; returns that signal,
 * or -errno when waiting fails. SIGUSR1 and SIGUSR2 start and stop recording
 * with trigger type 0 (none: signals carry no sender). */
static int run_loop(struct cr_pipeline *pipeline, struct cr_service *service, const sigset_t *signals)
{
	struct pollfd fds[3] = { { .fd = signalfd(-1, signals, SFD_CLOEXEC), .events = POLLIN },
				 { .fd = keyboard_open() ? STDIN_FILENO : -1, .events = POLLIN },
				 { .fd = cr_service_fd(service), .events = POLLIN } };
	int sig = 0;

	if (fds[0].fd < 0)
		return -errno;
	while (sig != SIGINT && sig != SIGTERM) {
		struct signalfd_siginfo si;
		char key;

		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			sig = -errno;
			break;
		}
		if (fds[2].revents)
			cr_service_tick(service, cr_pipeline_status(pipeline));
		if (fds[1].revents) {
			if (read(STDIN_FILENO, &key, 1) == 1)
				on_key(pipeline, key);
			else
				fds[1].fd = -1; /* end of input: no more keys */
		}
		if (!(fds[0].revents & POLLIN) || read(fds[0].fd, &si, sizeof(si)) != sizeof(si))
			continue;
		sig = (int)si.ssi_signo;
		if (sig == SIGHUP)
			cr_pipeline_reload(pipeline);
		else if (sig == SIGUSR1)
			cr_pipeline_post(pipeline, "start_recording", CR_TRIGGER_NONE);
		else if (sig == SIGUSR2)
			cr_pipeline_post(pipeline, "stop_recording", CR_TRIGGER_NONE);
	}
	keyboard_restore();
	close(fds[0].fd);
	return sig;
}

static int cmd_run(int argc, char **argv)
{
	const char *config_path = NULL;
	struct cr_config *config = NULL;
	struct cr_pipeline *pipeline = NULL;
	struct cr_service *service = NULL;
	char *error = NULL;
	sigset_t signals;
	int opt, ret, sig;

	/* Two malloc arenas, not eight per core: camrig's threads allocate
	 * little on their hot paths (frames are pooled), and each arena a thread
	 * touches stays resident (0.5-0.7 MiB of a 18 MiB daemon, measured). */
	mallopt(M_ARENA_MAX, 2);
	/* No transparent huge pages: where the kernel gives them to every
	 * anonymous mapping (THP "always", Debian's kernel default), malloc's
	 * arenas and the frame pool grow in 2 MiB steps. Measured in the vivid
	 * guest, a 640x480 camera with two clients: 13.5 MiB RSS with them,
	 * 10.2 MiB without. camrig's buffers are too small or too short-lived
	 * to gain much from fewer TLB misses. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	/* A stop asked for while camrig starts (loading a config, opening a
	 * camera can take seconds) waits in the signalfd and ends the run cleanly
	 * once it is up, instead of killing it half-made. */
	ret = block_signals(&signals);
	if (ret < 0) {
		fprintf(stderr, "camrig: cannot block signals: %s\n", strerror(-ret));
		return 1;
	}
	/* First pass: the config file; second pass: everything else over it. */
	while ((opt = getopt_long(argc, argv, "c:s:l:n:o:h", run_options, NULL)) != -1) {
		if (opt == 'c')
			config_path = optarg;
		else if (opt == 'h')
			return print_usage(stdout), 0;
		else if (opt == '?')
			return fprintf(stderr, "camrig: see 'camrig --help'\n"), 2;
	}
	if (optind < argc) {
		fprintf(stderr, "camrig: run: unexpected argument \"%s\" (see 'camrig --help')\n", argv[optind]);
		return 2;
	}
	config = cr_config_load(config_path, &error);
	if (!config) {
		fprintf(stderr, "camrig: %s\n", error);
		free(error);
		return 1;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:s:l:n:o:h", run_options, NULL)) != -1) {
		if (opt != 'c' && apply_option(config, opt, optarg) < 0) {
			cr_config_free(&config);
			return 1;
		}
	}
	if (cr_config_check(config, &error) < 0 || cr_pipeline_check(config, &error) < 0) {
		fprintf(stderr, "camrig: %s\n", error);
		free(error);
		cr_config_free(&config);
		return 1;
	}
	ret = cr_log_parse_level(config->log_level);
	if (ret >= 0)
		cr_log_set_level(ret);
	av_log_set_callback(libav_log);

	ret = cr_pipeline_start(config, &pipeline);
	if (ret == 0) {
		service = cr_service_new();
		cr_info("camrig %s running; stop with Ctrl-C or SIGTERM", CAMRIG_VERSION);
		cr_service_ready(service, cr_pipeline_status(pipeline));
		sig = run_loop(pipeline, service, &signals);
		cr_info("%s: stopping", sig > 0 ? strsignal(sig) : "error");
		cr_service_stopping(service);
	}
	cr_pipeline_stop(&pipeline);
	cr_service_free(&service);
	cr_config_free(&config);
	return ret < 0 ? 1 : 0;
}

#define CR_LIST_MAX 32 /* GenICam cameras `camrig list` shows */

/* `camrig list --json`: every camera found and every kind of source, as one
 * JSON object for programs:
 *   {"libcamera": [cr_libcamera_list_json()'s cameras] (null: built without libcamera),
 *    "v4l2": [cr_v4l2_list_json()'s devices],
 *    "aravis": [{id, spec, vendor, model, serial, interface, address,
 *                formats: [GenICam names camrig reads], error}] (null: built without Aravis),
 *    "sources": [{name, form, about}]} */
static int list_json(void)
{
	json_t *out = json_object(), *sources = json_array();

	json_object_set_new(out, "libcamera", cr_libcamera_available() ? cr_libcamera_list_json() : json_null());
	json_object_set_new(out, "v4l2", cr_v4l2_list_json());
	if (cr_aravis_available()) {
		struct cr_aravis_camera cams[CR_LIST_MAX];
		int n = cr_aravis_cameras(cams, CR_LIST_MAX);
		json_t *list = json_array();

		for (int i = 0; i < n && i < CR_LIST_MAX; i++) {
			json_t *formats = json_array();
			char *save = NULL, *tok, buf[sizeof(cams[i].formats)];

			snprintf(buf, sizeof(buf), "%s", cams[i].formats);
			for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
				json_array_append_new(formats, json_string(tok));
			json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
				cr_json_str(cams[i].id), "spec", cr_json_sprintf("aravis:%s", cams[i].id), "vendor",
				cr_json_str(cams[i].vendor), "model", cr_json_str(cams[i].model), "serial",
				cr_json_str(cams[i].serial), "interface", cr_json_str(cams[i].interface), "address",
				cr_json_str(cams[i].address), "formats", formats, "error",
				cams[i].error[0] ? cr_json_str(cams[i].error) : json_null()));
		}
		json_object_set_new(out, "aravis", list);
	} else {
		json_object_set_new(out, "aravis", json_null());
	}
	for (int i = 0; i < CR_SOURCE_KINDS; i++)
		json_array_append_new(sources, json_pack("{s:s, s:s, s:s}", "name", cr_source_schemes[i].name, "form",
							 cr_source_schemes[i].form, "about", cr_source_schemes[i].about));
	json_object_set_new(out, "sources", sources);
	json_dumpf(out, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(out);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
			return fputs("Usage: camrig list [--json]\n\nLists libcamera cameras (their streams, sizes and "
				     "controls), V4L2 capture devices (formats, sizes, frame rates and controls)\n"
				     "and GenICam cameras (Aravis) with vendor, model, serial, interface and pixel formats,\n"
				     "then the kinds of source. --json: the same as one JSON object for programs:\n"
				     "{\"libcamera\": [...], \"v4l2\": [...], \"aravis\": [...], \"sources\": [...]}, each\n"
				     "camera with the \"spec\" that --source takes.\n", stdout), 0;
		if (strcmp(argv[1], "--json") == 0 && argc == 2)
			return list_json();
		fprintf(stderr, "camrig: list: unexpected argument \"%s\" (expected --json)\n", argv[1]);
		return 2;
	}
	if (!cr_libcamera_available())
		printf("libcamera: not in this build (install libcamera-dev and build again)\n\n");
	else if (cr_libcamera_list(stdout) == 0)
		printf("no libcamera cameras found\n\n");
	if (cr_v4l2_list(stdout) == 0)
		printf("no V4L2 capture devices found\n");
	if (cr_aravis_available()) {
		struct cr_aravis_camera cams[CR_LIST_MAX];
		int n = cr_aravis_cameras(cams, CR_LIST_MAX);

		printf("\n");
		for (int i = 0; i < n && i < CR_LIST_MAX; i++)
			printf("aravis:%s\n  vendor %s, model %s, serial %s, %s at %s\n  formats: %s%s%s\n", cams[i].id,
			       cams[i].vendor, cams[i].model, cams[i].serial, cams[i].interface, cams[i].address,
			       cams[i].formats[0] ? cams[i].formats : "none camrig reads", cams[i].error[0] ? "\n  error: " : "",
			       cams[i].error);
		if (n == 0)
			printf("no GenICam cameras found (GigE Vision, USB3 Vision)\n");
	}
	printf("\nSources (--source SPEC):\n");
	for (int i = 0; i < CR_SOURCE_KINDS; i++)
		printf("  %-22s  %s\n", cr_source_schemes[i].form, cr_source_schemes[i].about);
	return 0;
}

/* `camrig record start|stop`: POSTs the command to the running daemon's
 * /api/command, prints the reply, exits 0 if it says "ok". */
static int cmd_record(int argc, char **argv)
{
	static const struct option options[] = {
		{ "duration", required_argument, NULL, 'd' }, { "camera", required_argument, NULL, 'C' },
		{ "listen", required_argument, NULL, 'l' },   { "user", required_argument, NULL, 'u' },
		{ "credentials", required_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char record_usage[] =
		"Usage: camrig record start [--duration SECONDS] [--camera NAME] [--listen HOST:PORT] [--credentials FILE]\n"
		"       camrig record stop [--camera NAME] [--listen HOST:PORT] [--credentials FILE]\n\n"
		"Starts or stops recording in the camrig daemon listening on HOST:PORT (default 127.0.0.1:8080;\n"
		"also a URL, http://HOST:PORT or https://...). Prints the daemon's reply.\n"
		"Credentials, where the daemon asks for them: the first line of FILE (not readable by others),\n"
		"else $CAMRIG_CREDENTIALS: USER:PASSWORD for HTTP Basic, or \"Bearer TOKEN\".\n"
		"(--user USER:PASSWORD works too, but shows the password to `ps`.)\n";
	const char *duration = NULL, *camera = NULL, *listen = "127.0.0.1:8080", *user = NULL, *file = NULL, *action;
	char line[256], url[512], *reply = NULL, *credentials = NULL;
	json_t *parsed;
	long status = 0;
	CURLcode res;
	CURL *curl;
	int opt, ok;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:l:h", options, NULL)) != -1) {
		switch (opt) {
		case 'd': duration = optarg; break;
		case 'C': camera = optarg; break;
		case 'l': listen = optarg; break;
		case 'u': user = optarg; break;
		case 'k': file = optarg; break;
		case 'h': return fputs(record_usage, stdout), 0;
		default: return fputs(record_usage, stderr), 2;
		}
	}
	action = optind < argc ? argv[optind] : "";
	if ((strcmp(action, "start") != 0 && strcmp(action, "stop") != 0) || optind + 1 != argc ||
	    (duration && strcmp(action, "stop") == 0)) {
		fprintf(stderr, "camrig: record: expected start [--duration S] or stop\n%s", record_usage);
		return 2;
	}
	snprintf(url, sizeof(url), "%s_recording", action);
	if (cr_command_line(line, sizeof(line), url, "duration", duration, "camera", camera, NULL) < 0) {
		fprintf(stderr, "camrig: record: --duration and --camera take one word\n");
		return 2;
	}
	if (cr_client_credentials(file, user, &credentials))
		return 1;
	cr_client_url(listen, "/api/command", url, sizeof(url));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	if (!curl) {
		fprintf(stderr, "camrig: record: cannot initialize libcurl\n");
		return 1;
	}
	res = cr_client_post(curl, url, "text/plain", line, strlen(line), credentials, &reply, &status);
	cr_client_credentials_free(&credentials);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	if (res != CURLE_OK) {
		fprintf(stderr, "camrig: record %s: %s: %s (is `camrig run` listening there? see --listen)\n", action,
			url, curl_easy_strerror(res));
		free(reply);
		return 1;
	}
	fputs(reply ? reply : "", stdout);
	parsed = reply ? json_loads(reply, 0, NULL) : NULL;
	ok = status == 200 && json_is_true(json_object_get(parsed, "ok"));
	if (!ok)
		fprintf(stderr, "camrig: record %s: the daemon answered %ld%s%s\n", action, status,
			json_is_string(json_object_get(parsed, "error")) ? ": " : "",
			json_is_string(json_object_get(parsed, "error")) ? json_string_value(json_object_get(parsed, "error")) : "");
	json_decref(parsed);
	free(reply);
	return ok ? 0 : 1;
}

/* Writes a JSON-RPC error response for the request id (NULL: not a
 * request, nothing to write) to stdout as one line. */
static void mcp_error(json_t *id, int code, const char *message)
{
	json_t *e;
	char *text;

	if (!id)
		return;
	e = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code", code, "message", message);
	text = json_dumps(e, JSON_COMPACT);
	if (text)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	json_decref(e);
}

#define MCP_LINE_MAX (1024 * 1024) /* bytes of one message on stdin */

/* `camrig mcp`: the MCP stdio transport (specification, basic/transports:
 * newline-delimited JSON-RPC messages on stdin and stdout, logs on stderr)
 * relayed message by message to the daemon's Streamable HTTP endpoint
 * /mcp, which is the server: what one transport offers the other does. */
static int cmd_mcp(int argc, char **argv)
{
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' }, { "credentials", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	static const char mcp_usage[] =
		"Usage: camrig mcp [--listen HOST:PORT] [--credentials FILE]\n\n"
		"An MCP (Model Context Protocol) server on stdin/stdout for AI agents, serving the camrig daemon\n"
		"listening on HOST:PORT (default 127.0.0.1:8080; also http://... or https://...): its tools\n"
		"(list_cameras, start_recording, stop_recording, snapshot, set_control, ...) and resources. Put\n"
		"this command in the agent's MCP configuration. Credentials, where the daemon asks for them: the\n"
		"first line of FILE (not readable by others), else $CAMRIG_CREDENTIALS: USER:PASSWORD for HTTP\n"
		"Basic, or \"Bearer TOKEN\". The daemon also serves MCP itself at /mcp (Streamable HTTP).\n";
	const char *listen = "127.0.0.1:8080", *file = NULL;
	char url[512], *credentials = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t n;
	CURL *curl;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "l:h", options, NULL)) != -1) {
		switch (opt) {
		case 'l': listen = optarg; break;
		case 'k': file = optarg; break;
		case 'h': return fputs(mcp_usage, stdout), 0;
		default: return fputs(mcp_usage, stderr), 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "camrig: mcp: unexpected argument \"%s\"\n%s", argv[optind], mcp_usage);
		return 2;
	}
	if (cr_client_credentials(file, NULL, &credentials))
		return 1;
	cr_client_url(listen, "/mcp", url, sizeof(url));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	if (!curl)
		return fprintf(stderr, "camrig: mcp: cannot initialize libcurl\n"), 1;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		json_t *msg, *reply_json;
		char *reply = NULL, *text, why[PATH_MAX];
		long status;
		CURLcode res;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		msg = n <= MCP_LINE_MAX ? json_loadb(line, (size_t)n, 0, NULL) : NULL;
		if (!msg) {
			mcp_error(json_null(), -32700, n > MCP_LINE_MAX ? "camrig mcp: message too long (at most 1 MiB)"
								      : "camrig mcp: parse error: expected one JSON-RPC message per line");
			continue;
		}
		res = cr_client_post(curl, url, "application/json", line, (size_t)n, credentials, &reply, &status);
		reply_json = reply && *reply ? json_loads(reply, 0, NULL) : NULL;
		if (res == CURLE_OK && reply_json && json_object_get(reply_json, "jsonrpc")) {
			text = json_dumps(reply_json, JSON_COMPACT);
			printf("%s\n", text ? text : "");
			fflush(stdout);
			free(text);
		} else if (res == CURLE_OK && status == 202) {
			/* a notification: nothing to answer */
		} else {
			if (res != CURLE_OK)
				snprintf(why, sizeof(why), "camrig mcp: %s: %s (is `camrig run` listening there? see --listen)",
					 url, curl_easy_strerror(res));
			else if (status == 401)
				snprintf(why, sizeof(why), "camrig mcp: %s: the daemon asks for credentials (--credentials FILE "
					 "or $CAMRIG_CREDENTIALS)", url);
			else
				snprintf(why, sizeof(why), "camrig mcp: %s: the daemon answered %ld: %.200s", url, status,
					 reply ? reply : "");
			why[strcspn(why, "\n")] = '\0';
			fprintf(stderr, "%s\n", why);
			mcp_error(json_object_get(msg, "id"), -32603, why);
		}
		json_decref(reply_json);
		json_decref(msg);
		free(reply);
	}
	free(line);
	cr_client_credentials_free(&credentials);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return 0;
}

/* `camrig verify FILE...`: 0 when every file matches its sidecar, 1 on a
 * mismatch, 2 when a file cannot be read. */
static int cmd_verify(int argc, char **argv)
{
	/* Exit status by result, and which wins over which across files. */
	static const int exit_of[] = { [CR_VERIFY_OK] = 0, [CR_VERIFY_MISMATCH] = 1, [CR_VERIFY_TRUNCATED] = 3 };
	static const int rank_of_exit[] = { 0, 2, 3, 1 }; /* exit 0 < 3 < 1 < 2 */
	int worst = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs("Usage: camrig verify FILE...\n\nChecks each recording against its timestamp sidecar (FILE with "
		      "the extension .csv):\nframe count, monotonic PTS matching the capture times, and that every gap "
		      "is accounted for.\nExit status: 0 all match, 1 a mismatch, 2 a file cannot be read, 3 a recording\n"
		      "was cut short (a crash: no end line) and every frame it holds matches.\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	av_log_set_level(AV_LOG_ERROR);
	for (int i = 1; i < argc; i++) {
		int ret = cr_verify_file(argv[i], stdout);
		int rc = ret < 0 ? 2 : exit_of[ret];

		if (rank_of_exit[rc] > rank_of_exit[worst])
			worst = rc;
		if (i + 1 < argc)
			putchar('\n');
	}
	return worst;
}

/* `camrig doctor [--config FILE] [--set KEY=VALUE]... [--json]`: 0 when
 * everything the configuration needs works here, 1 when something does not,
 * 2 on a usage error. */
static int cmd_doctor(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' }, { "set", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char doctor_usage[] =
		"Usage: camrig doctor [--config FILE] [--set KEY=VALUE]... [--json]\n\n"
		"Checks what this machine can do for the configuration (default: the built-in one): library\n"
		"versions; which encoders open (libx264, h264_v4l2m2m, h264_nvenc, h264_vaapi, ...); the cameras\n"
		"found (V4L2, GenICam) and whether the configured ones open at the configured format; device\n"
		"permissions and group membership; free space at the recording root; whether the HTTP, LSL and\n"
		"TCP ports are free; whether the clock is NTP-synchronized; GPIO chips; ntfy when configured;\n"
		"whether the MQTT broker and the RTSP media servers take connections and webrtc.janus is Janus;\n"
		"OpenCV and the face models when analysis is on.\n"
		"One line per check, with what to do when it fails; --json: one JSON object for programs.\n"
		"Exit status: 0 everything the configuration needs works, 1 something does not, 2 usage.\n"
		"Run it while camrig is stopped: a running camrig holds its cameras and ports.\n";
	const char *config_path = NULL;
	struct cr_config *config;
	char *error = NULL;
	bool json = false;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'o': break;
		case 'j': json = true; break;
		case 'h': return fputs(doctor_usage, stdout), 0;
		default: return fputs(doctor_usage, stderr), 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "camrig: doctor: unexpected argument \"%s\"\n%s", argv[optind], doctor_usage);
		return 2;
	}
	config = cr_config_load(config_path, &error);
	if (!config) {
		fprintf(stderr, "camrig: %s\n", error);
		free(error);
		return 1;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:o:h", options, NULL)) != -1) {
		if (opt == 'o' && apply_option(config, opt, optarg) < 0) {
			cr_config_free(&config);
			return 1;
		}
	}
	if (cr_config_check(config, &error) < 0 || cr_pipeline_check(config, &error) < 0) {
		fprintf(stderr, "camrig: %s\n", error);
		free(error);
		cr_config_free(&config);
		return 1;
	}
	cr_log_set_level(CR_LOG_ERROR);
	av_log_set_level(AV_LOG_QUIET);
	ret = cr_doctor_run(config, json, false, stdout);
	cr_config_free(&config);
	return ret;
}

/* `camrig timelapse assemble DIR [--fps N] [--output FILE]`: 0 when the
 * video was written, 1 when it could not be, 2 on a usage error. */
static int cmd_timelapse(int argc, char **argv)
{
	static const struct option options[] = {
		{ "fps", required_argument, NULL, 'f' }, { "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },      { NULL, 0, NULL, 0 },
	};
	static const char timelapse_usage[] =
		"Usage: camrig timelapse assemble DIR [--fps N] [--output FILE]\n\n"
		"Assembles the stills of a timelapse session directory (PHOTOS_ROOT/SESSION, the\n"
		"CAMERA_NNNNNN.jpg files in number order) into an H.264 MP4, one still per frame.\n"
		"  --fps N        frame rate (default: the session's, from its session.json, else 25)\n"
		"  -o, --output FILE  the video (default: the path in session.json, else DIR.mp4)\n"
		"The session is then marked finished, so a restarted camrig does not resume it.\n";
	const char *output = NULL, *fps_text = NULL;
	char path[CR_TIMELAPSE_PATH_MAX], why[CR_TIMELAPSE_PATH_MAX + 256], *end;
	struct cr_assemble_result res;
	double fps = 0;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f': fps_text = optarg; break;
		case 'o': output = optarg; break;
		case 'h': return fputs(timelapse_usage, stdout), 0;
		default: return fputs(timelapse_usage, stderr), 2;
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "assemble") != 0) {
		fprintf(stderr, "camrig: timelapse: expected assemble DIR\n%s", timelapse_usage);
		return 2;
	}
	if (fps_text) {
		fps = strtod(fps_text, &end);
		if (end == fps_text || *end || !(fps > 0 && fps <= 240)) {
			fprintf(stderr, "camrig: timelapse assemble: --fps %s: expected a number above 0, at most 240\n",
				fps_text);
			return 2;
		}
	}
	av_log_set_level(AV_LOG_ERROR);
	ret = cr_timelapse_assemble_dir(argv[optind + 1], fps, output, path, sizeof(path), &res, why, sizeof(why));
	if (ret < 0) {
		fprintf(stderr, "camrig: timelapse assemble %s: %s\n", argv[optind + 1], why[0] ? why : cr_strerror(ret));
		return 1;
	}
	printf("%s: %u frames of %dx%d from %u stills%s\n", path, res.frames, res.width, res.height, res.stills,
	       res.skipped ? " (some did not decode and were skipped)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return print_usage(stdout), 0;
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)
		return printf("camrig %s\n", CAMRIG_VERSION), 0;
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "timelapse") == 0)
		return cmd_timelapse(argc - 1, argv + 1);
	if (strcmp(argv[1], "doctor") == 0)
		return cmd_doctor(argc - 1, argv + 1);
	if (strcmp(argv[1], "mcp") == 0)
		return cmd_mcp(argc - 1, argv + 1);
	if (strcmp(argv[1], "monitor") == 0)
		return cr_monitor_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cr_status_main(argc - 1, argv + 1);
	fprintf(stderr, "camrig: unknown command \"%s\" (expected run, list, record, monitor, status, verify, "
		"timelapse, doctor or mcp; see "
		"'camrig --help')\n",
		argv[1]);
	return 2;
}
