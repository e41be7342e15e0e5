/* camrig's command line: `camrig run` (the daemon), `camrig list`, --help,
 * --version. Signals are handled here only: every other thread is created
 * with them blocked and the main thread waits for them with sigwait(). */
#include "app/pipeline.h"
#include "base/config.h"
#include "base/error.h"
#include "base/log.h"
#include "camrig-version.h"
#include "source/source.h"

#include <errno.h>
#include <getopt.h>
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
	"  list                list V4L2 capture devices with their formats, sizes and frame rates\n"
	"\n"
	"Options of run (each sets the config key in brackets; the command line wins over the file):\n"
	"  -c, --config FILE       YAML configuration (default: built in; see data/camrig.yaml)\n"
	"  -s, --source SPEC       auto | test | v4l2:/dev/videoN | file:PATH | url:URL   [camera.source]\n"
	"                          (default auto: the first V4L2 capture device, else the test pattern)\n"
	"      --size WxH          frame size in pixels, e.g. 640x480                   [camera.size]\n"
	"      --fps N             frame rate                                           [camera.fps]\n"
	"      --format FOURCC     MJPEG, YUYV, NV12, YU12, GREY, RGB24 or BGR24         [camera.format]\n"
	"  -l, --listen HOST:PORT  HTTP address (default 127.0.0.1:8080)                [http.listen]\n"
	"  -n, --name NAME         camera name shown on the page and in /status        [camera.name]\n"
	"  -o, --set KEY=VALUE     set any config key, e.g. -o camera.jpeg.quality=90\n"
	"      --log-level LEVEL   error, warn, info or debug                           [log_level]\n"
	"\n"
	"  -h, --help              this help\n"
	"  -V, --version           the version\n"
	"\n"
	"HTTP endpoints: / (page), /stream.mjpg, /snapshot.jpg, /frame?width=&height=&quality=&gray=1,\n"
	"/status. Stop with Ctrl-C or SIGTERM.\n";

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

static int cmd_run(int argc, char **argv)
{
	const char *config_path = NULL;
	struct cr_config *config = NULL;
	struct cr_pipeline *pipeline = NULL;
	char *error = NULL;
	sigset_t signals;
	int opt, ret, sig = 0;

	/* First pass: the config file; second pass: everything else over it. */
	while ((opt = getopt_long(argc, argv, "c:s:l:n:o:h", run_options, NULL)) != -1) {
		if (opt == 'c')
			config_path = optarg;
		else if (opt == 'h')
			return fputs(usage, stdout), 0;
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
	if (cr_config_check(config, &error) < 0) {
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
		while (sig != SIGINT && sig != SIGTERM) {
			if (sigwait(&signals, &sig) != 0)
				break;
			if (sig == SIGHUP)
				cr_pipeline_reload(pipeline);
		}
		cr_info("%s: stopping", strsignal(sig));
	}
	cr_pipeline_stop(&pipeline);
	cr_config_free(&config);
	return ret < 0 ? 1 : 0;
}

static int cmd_list(int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
			return fputs("Usage: camrig list\n\nLists V4L2 capture devices with their formats, sizes "
				     "and frame rates.\n", stdout), 0;
		fprintf(stderr, "camrig: list: unexpected argument \"%s\"\n", argv[1]);
		return 2;
	}
	if (cr_v4l2_list(stdout) == 0)
		printf("no V4L2 capture devices found (the test pattern is always available: --source test)\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return fputs(usage, stdout), 0;
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)
		return printf("camrig %s\n", CAMRIG_VERSION), 0;
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	fprintf(stderr, "camrig: unknown command \"%s\" (expected run or list; see 'camrig --help')\n", argv[1]);
	return 2;
}
