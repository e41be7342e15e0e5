/* camrig's command line: `camrig run` (the daemon), `camrig list`,
 * `camrig record start|stop` (a client of the running daemon), `camrig verify`,
 * --help, --version. Signals are handled here only: every other thread is
 * created with them blocked, and the main thread reads them from a signalfd,
 * polled together with the keyboard (stdin, when it is the terminal's
 * foreground) in raw mode, restored on exit. */
#include "app/pipeline.h"
#include "config/config.h"
#include "config/sources.h"
#include "base/error.h"
#include "base/fs.h"
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
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: camrig COMMAND [OPTIONS]\n"
	"\n"
	"Camera capture, recording and streaming daemon.\n"
	"\n"
	"Commands:\n"
	"  run                 capture and serve the live view, snapshots and status over HTTP\n"
	"  list                list libcamera cameras and V4L2 capture devices with their formats,\n"
	"                      sizes, frame rates and controls\n"
	"  record start [--duration S] [--camera NAME] [--listen HOST:PORT] [--credentials FILE]\n"
	"  record stop [--camera NAME] [--listen HOST:PORT] [--credentials FILE]\n"
	"                      start or stop recording in the running daemon (POST /api/command)\n"
	"  verify FILE...      check recordings against their timestamp sidecars (exit 1 on a mismatch,\n"
	"                      3 when a crash cut one short and every frame it holds matches)\n"
	"  timelapse assemble DIR [--fps N] [--output FILE]\n"
	"                      make the MP4 of a timelapse session's stills (e.g. after a crash)\n"
	"\n"
	"Options of run (each sets the config key in brackets; the command line wins over the file):\n"
	"  -c, --config FILE       YAML configuration (default: built in; see data/camrig.yaml)\n"
	"  -s, --source SPEC       where frames come from (Sources below; default auto)   [camera.source]\n"
	"      --size WxH          frame size in pixels, e.g. 640x480                   [camera.size]\n"
	"      --fps N             frame rate                                           [camera.fps]\n"
	"      --format FOURCC     MJPEG, YUYV, NV12, YU12, GREY, RGB24 or BGR24, or raw: [camera.format]\n"
	"                          Y10, Y10P, Y12, Y16, SRGGB8/10/10P/12/16 (each Bayer order)\n"
	"  -l, --listen HOST:PORT  HTTP address (default 127.0.0.1:8080)                [http.listen]\n"
	"  -n, --name NAME         camera name shown on the page and in /status        [camera.name]\n"
	"  -o, --set KEY=VALUE     set any config key, e.g. -o camera.jpeg.quality=90\n"
	"      --log-level LEVEL   error, warn, info or debug                           [log_level]\n"
	"\n"
	"  -h, --help              this help\n"
	"  -V, --version           the version\n"
	"\n"
	"HTTP endpoints: / (page), /stream.mjpg, /snapshot.jpg, /frame?width=&height=&quality=&gray=1,\n"
	"/status, /api/command, /api/record (GET), /api/record/start?duration=S, /api/record/stop (POST),\n"
	"/api/timelapse (GET), /api/timelapse/start?interval=S, .../pause, resume, stop, abort, shot (POST),\n"
	"/api/events (Server-Sent Events). A POST needs the header X-Camrig: 1 or a JSON body\n"
	"(curl -H 'X-Camrig: 1' -d get_stats http://127.0.0.1:8080/api/command), which web pages cannot send.\n"
	"A client must send its whole request within http.header_timeout of connecting; of those still\n"
	"sending, the oldest is closed beyond http.max_pending. Live views and other requests have limits\n"
	"of their own, http.max_stream_clients and http.max_api_clients, and beyond loopback\n"
	"http.max_clients_per_ip; a client over a limit gets a 503 with the reason (defaults and more in\n"
	"data/camrig.yaml and the README, \"Limits\").\n"
	"\n"
	"Set in the config (or with -o): recording (codec, pre_trigger, ...), timelapse, upload,\n"
	"lsl (Lab Streaming Layer outlet), tcp_stream (raw H.264 on TCP), ntfy, gpio, http auth/TLS/limits.\n"
	"\n"
	"While running: SIGUSR1 starts recording, SIGUSR2 stops it; in a terminal the keys r (start),\n"
	"s (stop) and q (quit) do the same. Stop with Ctrl-C or SIGTERM (open files are finalized).\n"
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
static int run_loop(struct cr_pipeline *pipeline, const sigset_t *signals)
{
	struct pollfd fds[2] = { { .fd = signalfd(-1, signals, SFD_CLOEXEC), .events = POLLIN },
				 { .fd = keyboard_open() ? STDIN_FILENO : -1, .events = POLLIN } };
	int sig = 0;

	if (fds[0].fd < 0)
		return -errno;
	while (sig != SIGINT && sig != SIGTERM) {
		struct signalfd_siginfo si;
		char key;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			sig = -errno;
			break;
		}
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
	char *error = NULL;
	sigset_t signals;
	int opt, ret, sig;

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

	ret = block_signals(&signals);
	if (ret == 0)
		ret = cr_pipeline_start(config, &pipeline);
	if (ret == 0) {
		cr_info("camrig %s running; stop with Ctrl-C or SIGTERM", CAMRIG_VERSION);
		sig = run_loop(pipeline, &signals);
		cr_info("%s: stopping", sig > 0 ? strsignal(sig) : "error");
	}
	cr_pipeline_stop(&pipeline);
	cr_config_free(&config);
	return ret < 0 ? 1 : 0;
}

static int cmd_list(int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
			return fputs("Usage: camrig list\n\nLists libcamera cameras (their streams, sizes and controls) "
				     "and V4L2 capture devices (formats, sizes, frame rates and controls).\n", stdout), 0;
		fprintf(stderr, "camrig: list: unexpected argument \"%s\"\n", argv[1]);
		return 2;
	}
	if (!cr_libcamera_available())
		printf("libcamera: not in this build (install libcamera-dev and build again)\n\n");
	else if (cr_libcamera_list(stdout) == 0)
		printf("no libcamera cameras found\n\n");
	if (cr_v4l2_list(stdout) == 0)
		printf("no V4L2 capture devices found\n");
	printf("\nSources (--source SPEC):\n");
	for (int i = 0; i < CR_SOURCE_KINDS; i++)
		printf("  %-22s  %s\n", cr_source_schemes[i].form, cr_source_schemes[i].about);
	return 0;
}

static size_t collect_reply(char *data, size_t size, size_t n, void *ctx)
{
	char **reply = ctx;
	size_t have = *reply ? strlen(*reply) : 0, add = size * n;

	if (have + add > 1024 * 1024)
		return 0; /* a reply that large is not camrig's */
	*reply = realloc(*reply, have + add + 1);
	if (!*reply)
		return 0;
	memcpy(*reply + have, data, add);
	(*reply)[have + add] = '\0';
	return add;
}

/* `camrig record start|stop`: POSTs the command to the running daemon's
 * /api/command, prints the reply, exits 0 if it says "ok". */
/* The credentials a client of the daemon sends, "USER:PASSWORD" (HTTP
 * Basic) or "Bearer TOKEN", into *out (allocated; the caller wipes and frees
 * it; NULL: none): the first line of file (a secret file: not readable by
 * others), else user from the command line, else $CAMRIG_CREDENTIALS.
 * Returns 0, or 1 after printing why the file cannot be used. */
static int client_credentials(const char *file, const char *user, char **out)
{
	const char *env = getenv("CAMRIG_CREDENTIALS");
	char why[PATH_MAX + 128];

	*out = NULL;
	if (file) {
		if (cr_fs_read_secret("--credentials", file, 4096, out, why, sizeof(why)) < 0)
			return fprintf(stderr, "camrig: %s\n", why), 1;
		(*out)[strcspn(*out, "\r\n")] = '\0';
	} else if (user) {
		fprintf(stderr, "camrig: warning: --user puts the password where `ps` shows it to every user; "
			"use --credentials FILE or $CAMRIG_CREDENTIALS\n");
		*out = strdup(user);
	} else if (env && *env) {
		*out = strdup(env);
	}
	return 0;
}

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
	char line[256], url[512], *reply = NULL, *credentials = NULL, *bearer = NULL;
	struct curl_slist *headers = NULL;
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
	if (client_credentials(file, user, &credentials))
		return 1;
	snprintf(url, sizeof(url), "%s%s/api/command", strstr(listen, "://") ? "" : "http://", listen);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	if (!curl) {
		fprintf(stderr, "camrig: record: cannot initialize libcurl\n");
		return 1;
	}
	headers = curl_slist_append(headers, "Content-Type: text/plain");
	headers = curl_slist_append(headers, CR_HTTP_REQUEST_HEADER ": 1"); /* not a web page */
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, line);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_reply);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (credentials && strncmp(credentials, "Bearer ", 7) == 0) {
		bearer = cr_asprintf("Authorization: %s", credentials);
		headers = curl_slist_append(headers, bearer);
	} else if (credentials) {
		curl_easy_setopt(curl, CURLOPT_USERPWD, credentials);
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	res = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (credentials) {
		explicit_bzero(credentials, strlen(credentials));
		free(credentials);
	}
	if (bearer) {
		explicit_bzero(bearer, strlen(bearer));
		free(bearer);
	}
	curl_slist_free_all(headers);
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
	fprintf(stderr, "camrig: unknown command \"%s\" (expected run, list, record, verify or timelapse; see "
		"'camrig --help')\n",
		argv[1]);
	return 2;
}
