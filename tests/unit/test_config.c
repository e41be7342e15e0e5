/* Configuration: the built-in default, a full file, the exact one-line error
 * (file, line, key, expectation) for each kind of mistake, the command-line
 * setter sharing those checks, and the cross-field checks. Files are written
 * as x.yaml into a temporary directory the test runs in. */
#include "config/config.h"
#include "base/fourcc.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char tmpdir[] = "/tmp/test_config.XXXXXX";

static int setup(void **state)
{
	if (!mkdtemp(tmpdir) || chdir(tmpdir) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	unlink("x.yaml");
	if (chdir("/") < 0)
		return -1;
	return rmdir(tmpdir);
}

static void write_file(const char *text)
{
	FILE *f = fopen("x.yaml", "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Loads text from x.yaml and expects success. */
static struct cr_config *load_ok(const char *text)
{
	struct cr_config *config;
	char *error = NULL;

	write_file(text);
	config = cr_config_load("x.yaml", &error);
	if (!config)
		fail_msg("unexpected error: %s", error);
	assert_null(error);
	return config;
}

/* Loads text from x.yaml and expects exactly the message want. */
static void load_fails(const char *text, const char *want)
{
	struct cr_config *config;
	char *error = NULL;

	write_file(text);
	config = cr_config_load("x.yaml", &error);
	assert_null(config);
	assert_non_null(error);
	assert_string_equal(error, want);
	free(error);
}

static void set_ok(struct cr_config *config, const char *key, const char *value)
{
	char *error = NULL;
	int ret = cr_config_set(config, key, value, &error);

	if (ret < 0)
		fail_msg("%s=%s: unexpected error: %s", key, value, error);
	assert_int_equal(ret, 0);
	assert_null(error);
}

static void set_fails(struct cr_config *config, const char *key, const char *value, const char *want)
{
	char *error = NULL;

	assert_int_equal(cr_config_set(config, key, value, &error), -EINVAL);
	assert_non_null(error);
	assert_string_equal(error, want);
	free(error);
}

static void assert_default_camera(const struct cr_camera_config *cam, const char *name)
{
	assert_string_equal(cam->name, name);
	assert_string_equal(cam->source, "auto");
	assert_int_equal(cam->width, 0);
	assert_int_equal(cam->height, 0);
	assert_true(cam->fps == 0.0);
	assert_int_equal(cam->format, 0);
	assert_true(cam->loop);
	assert_int_equal(cam->buffers, 4);
	assert_int_equal(cam->crop.left | cam->crop.top | cam->crop.width | cam->crop.height, 0);
	assert_int_equal(cam->ncontrols, 0);
	assert_null(cam->controls);
	assert_int_equal(cam->jpeg.quality, 80);
	assert_false(cam->jpeg.gray);
	assert_int_equal(cam->jpeg.width, 0);
	assert_int_equal(cam->jpeg.height, 0);
	assert_int_equal(cam->jpeg.workers, 0);
	assert_false(cam->lsl.enabled);
	assert_null(cam->lsl.name);
	assert_string_equal(cam->lsl.type, "VideoEvents");
}

static void test_default(void **state)
{
	char *error = NULL;
	struct cr_config *config = cr_config_load(NULL, &error);

	assert_non_null(config);
	assert_null(error);
	assert_null(config->path);
	assert_string_equal(config->log_level, "info");
	assert_string_equal(config->http.listen, "127.0.0.1:8080");
	assert_int_equal(config->http.header_timeout, 5);
	assert_int_equal(config->http.max_pending, 1024);
	assert_int_equal(config->http.max_stream_clients, 256);
	assert_int_equal(config->http.max_api_clients, 64);
	assert_int_equal(config->http.max_clients_per_ip, 32);
	assert_int_equal(config->ncameras, 1);
	assert_default_camera(&config->cameras[0], "camera");
	assert_int_equal(cr_config_check(config, &error), 0);
	assert_null(error);
	cr_config_free(&config);
	assert_null(config);
	cr_config_free(&config);
	cr_config_free(NULL);
}

/* A file with a few keys keeps every other default; an empty file is the
 * default. */
static void test_overlay(void **state)
{
	struct cr_config *config = load_ok("http:\n  listen: 0.0.0.0:80\n");

	assert_string_equal(config->path, "x.yaml");
	assert_string_equal(config->http.listen, "0.0.0.0:80");
	assert_int_equal(config->http.max_stream_clients, 256);
	assert_string_equal(config->log_level, "info");
	assert_int_equal(config->ncameras, 1);
	assert_default_camera(&config->cameras[0], "camera");
	cr_config_free(&config);

	config = load_ok("# nothing but a comment\n");
	assert_int_equal(config->ncameras, 1);
	assert_default_camera(&config->cameras[0], "camera");
	cr_config_free(&config);

	/* each listed camera starts from the default camera */
	config = load_ok("cameras:\n  - name: a\n    jpeg: {quality: 50}\n  - name: b\n");
	assert_int_equal(config->ncameras, 2);
	assert_int_equal(config->cameras[0].jpeg.quality, 50);
	assert_int_equal(config->cameras[0].buffers, 4);
	assert_default_camera(&config->cameras[1], "b");
	cr_config_free(&config);
}

static const char full[] =
	"log_level: debug\n"                                    /* 1 */
	"http:\n"                                               /* 2 */
	"  listen: \"[::1]:9000\"\n"                            /* 3 */
	"  max_api_clients: 8\n"                                /* 4 */
	"cameras:\n"                                            /* 5 */
	"  - name: front\n"                                     /* 6 */
	"    source: v4l2:/dev/video2\n"                        /* 7 */
	"    size: 1280x720\n"                                  /* 8 */
	"    fps: 29.97\n"                                      /* 9 */
	"    format: mjpeg\n"                                   /* 10 */
	"    loop: false\n"                                     /* 11 */
	"    buffers: 6\n"                                      /* 12 */
	"    crop: {left: 10, top: 20, width: 100, height: 50}\n" /* 13 */
	"    controls:\n"                                       /* 14 */
	"      exposure_time_absolute: 100\n"                   /* 15 */
	"      wide_dynamic_range: true\n"                      /* 16 */
	"      power_line_frequency: 50 Hz\n"                   /* 17 */
	"    jpeg:\n"                                           /* 18 */
	"      quality: 90\n"                                   /* 19 */
	"      gray: true\n"                                    /* 20 */
	"      size: 320x180\n"                                 /* 21 */
	"      workers: 2\n"                                    /* 22 */
	"    lsl:\n"                                            /* 23 */
	"      enabled: true\n"                                 /* 24 */
	"      name: front-cam\n"                               /* 25 */
	"      type: Markers\n"                                 /* 26 */
	"  - name: back\n"                                      /* 27 */
	"    source: file:/tmp/clip.mkv\n"                      /* 28 */
	"    format: RGB24\n"                                   /* 29 */
	"    controls: {brightness: -5}\n";                     /* 30 */

static void test_full(void **state)
{
	struct cr_config *config = load_ok(full);
	const struct cr_camera_config *cam = &config->cameras[0];
	char *error = NULL;

	assert_string_equal(config->log_level, "debug");
	assert_string_equal(config->http.listen, "[::1]:9000");
	assert_int_equal(config->http.max_api_clients, 8);
	assert_int_equal(config->ncameras, 2);

	assert_string_equal(cam->name, "front");
	assert_string_equal(cam->source, "v4l2:/dev/video2");
	assert_int_equal(cam->width, 1280);
	assert_int_equal(cam->height, 720);
	assert_true(cam->fps > 29.969 && cam->fps < 29.971);
	assert_int_equal(cam->format, CR_FMT_MJPEG);
	assert_false(cam->loop);
	assert_int_equal(cam->buffers, 6);
	assert_int_equal(cam->crop.left, 10);
	assert_int_equal(cam->crop.top, 20);
	assert_int_equal(cam->crop.width, 100);
	assert_int_equal(cam->crop.height, 50);
	assert_int_equal(cam->ncontrols, 3);
	assert_string_equal(cam->controls[0].name, "exposure_time_absolute");
	assert_string_equal(cam->controls[0].value, "100");
	assert_int_equal(cam->controls[0].line, 15);
	assert_string_equal(cam->controls[1].name, "wide_dynamic_range");
	assert_string_equal(cam->controls[1].value, "true");
	assert_int_equal(cam->controls[1].line, 16);
	assert_string_equal(cam->controls[2].name, "power_line_frequency");
	assert_string_equal(cam->controls[2].value, "50 Hz");
	assert_int_equal(cam->controls[2].line, 17);
	assert_int_equal(cam->jpeg.quality, 90);
	assert_true(cam->jpeg.gray);
	assert_int_equal(cam->jpeg.width, 320);
	assert_int_equal(cam->jpeg.height, 180);
	assert_int_equal(cam->jpeg.workers, 2);
	assert_true(cam->lsl.enabled);
	assert_string_equal(cam->lsl.name, "front-cam");
	assert_string_equal(cam->lsl.type, "Markers");

	cam = &config->cameras[1];
	assert_string_equal(cam->name, "back");
	assert_string_equal(cam->source, "file:/tmp/clip.mkv");
	assert_int_equal(cam->format, CR_FMT_RGB24);
	assert_int_equal(cam->ncontrols, 1);
	assert_string_equal(cam->controls[0].name, "brightness");
	assert_string_equal(cam->controls[0].value, "-5");
	assert_int_equal(cam->controls[0].line, 30);
	assert_int_equal(cam->jpeg.quality, 80);

	assert_int_equal(cr_config_check(config, &error), 0);
	cr_config_free(&config);
}

struct bad_file {
	const char *text;
	const char *error;
};

static const struct bad_file bad_files[] = {
	/* found by libcyaml: unknown keys, at any depth and in a later camera */
	{ "log_level: info\ncolour: red\n",
	  "x.yaml:2: colour: unknown key (expected one of: log_level, http, cameras, ntfy, gpio, health, telemetry, sensors, mqtt)" },
	{ "cameras:\n  - name: a\n    jpeg:\n      quality: 5\n\n      colour: 3\n",
	  "x.yaml:6: cameras.0.jpeg.colour: unknown key (expected one of: quality, gray, size, workers)" },
	{ "cameras:\n  - name: a\n  - name: b\n    colour: red\n",
	  "x.yaml:4: cameras.1.colour: unknown key (expected one of: name, source, size, fps, format, loop, "
	  "buffers, crop, controls, jpeg, lsl, recording, timelapse, upload, tcp_stream, sensor, analysis, rtsp, webrtc)" },
	{ "http: {listen: 127.0.0.1:80,\n  port: 80}\n",
	  "x.yaml:2: http.port: unknown key (expected one of: listen, header_timeout, max_pending, max_stream_clients, "
	  "max_api_clients, max_clients_per_ip, auth, password_file, token_file, tls_cert, tls_key, hostnames, "
	  "cors_origins)" },
	/* a key camrig no longer has says what replaced it */
	{ "http:\n  max_clients: 64\n",
	  "x.yaml:2: http.max_clients: no longer a key (expected http.max_stream_clients and http.max_api_clients "
	  "instead: live views and other requests have limits of their own)" },
	/* list keys: a list of valid items */
	{ "http:\n  hostnames: cam.example.org\n",
	  "x.yaml:2: http.hostnames: wrong type: got a value (expected a list of host names, e.g. "
	  "[camrig.example.org, \"*.lab.example.org\"])" },
	{ "http:\n  hostnames: [ok.example.org, bad_name]\n",
	  "x.yaml:2: http.hostnames: \"bad_name\" is not a host name (expected a list of host names, e.g. "
	  "[camrig.example.org, \"*.lab.example.org\"])" },
	{ "http:\n  cors_origins:\n    - https://dash.example.org/app\n",
	  "x.yaml:2: http.cors_origins: \"https://dash.example.org/app\" is not an origin SCHEME://HOST[:PORT] "
	  "(expected a list of origins SCHEME://HOST[:PORT], e.g. [https://dashboard.example.org])" },
	/* found by libcyaml: wrong types */
	{ "cameras:\n  - name: a\n    jpeg:\n      quality: [5]\n",
	  "x.yaml:4: cameras.0.jpeg.quality: wrong type: got a list (expected 1..100)" },
	{ "cameras:\n  - name: a\n    jpeg: 80\n",
	  "x.yaml:3: cameras.0.jpeg: wrong type: got a value (expected a mapping of: quality, gray, size, workers)" },
	{ "log_level: info\ncameras: front\n",
	  "x.yaml:2: cameras: wrong type: got a value (expected a list of cameras, each a mapping)" },
	{ "cameras:\n  - name: a\n  - front\n",
	  "x.yaml:3: cameras.1: wrong type: got a value (expected a mapping of: name, source, size, fps, format, "
	  "loop, buffers, crop, controls, jpeg, lsl, recording, timelapse, upload, tcp_stream, sensor, analysis, rtsp, webrtc)" },
	{ "http:\n  listen:\n    host: x\n",
	  "x.yaml:2: http.listen: wrong type: got a mapping (expected HOST:PORT with PORT 0..65535, e.g. "
	  "127.0.0.1:8080 or [::1]:8080)" },
	{ "\n\nhello\n",
	  "x.yaml:3: wrong type: got a value (expected a mapping of: log_level, http, cameras, ntfy, gpio, health, telemetry, sensors, mqtt)" },
	{ "cameras:\n  - name: a\n    lsl:\n",
	  "x.yaml:3: cameras.0.lsl: wrong type: got an empty value (expected a mapping of: enabled, name, type, markers, interfaces)" },
	/* found by libyaml: syntax */
	{ "cameras:\n  - name: a\n    jpeg: {quality: 3\n  - name: b\n",
	  "x.yaml:4: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping that starts "
	  "at line 3)" },
	{ "cameras:\n  - name: a\n   size: 640x480\n",
	  "x.yaml:3: YAML syntax error: did not find expected '-' indicator (while parsing a block collection that "
	  "starts at line 2)" },
	{ "http:\n\tlisten: 127.0.0.1:80\n",
	  "x.yaml:2: YAML syntax error: found character that cannot start any token (while scanning for the next "
	  "token that starts at line 2) (expected spaces, not tabs, to indent)" },
	{ "log_level: info\nhttp:\n  listen: a: b\n",
	  "x.yaml:3: YAML syntax error: mapping values are not allowed in this context (expected quotes around a "
	  "value that holds \": \", e.g. \"a: b\")" },
	{ "gpio:\n  clicks:\n    3: timelapse start; while timelapse: timelapse stop\n",
	  "x.yaml:3: YAML syntax error: mapping values are not allowed in this context (expected quotes around a "
	  "value that holds \": \", e.g. \"a: b\")" },
	{ "log_level: info\nlog_level: debug\n", "x.yaml:2: log_level: duplicate key, first at line 1 (expected each key once)" },
	{ "base: &b 1\nlog_level: *b\n", "x.yaml:2: log_level: aliases (*name) are not supported (expected plain values)" },
	{ "log_level: info\n---\nlog_level: debug\n", "x.yaml:2: a second YAML document (expected one document)" },
	/* found by the key table */
	{ "cameras:\n  - name: a\n    jpeg:\n      quality: 500\n",
	  "x.yaml:4: cameras.0.jpeg.quality: 500 is out of range (expected 1..100)" },
	{ "cameras:\n  - jpeg: {quality: high}\n",
	  "x.yaml:2: cameras.0.jpeg.quality: \"high\" is not a whole number (expected 1..100)" },
	{ "cameras:\n  - name: a\n  - name: b\n    size: 640*480\n",
	  "x.yaml:4: cameras.1.size: \"640*480\" is not a size (expected WIDTHxHEIGHT in pixels, e.g. 640x480)" },
	{ "cameras:\n  - jpeg:\n      size: 0x240\n",
	  "x.yaml:3: cameras.0.jpeg.size: \"0x240\" is not a size (expected WIDTHxHEIGHT in pixels, e.g. 640x480)" },
	{ "cameras:\n  - format: YUVV\n",
	  "x.yaml:2: cameras.0.format: \"YUVV\" is not a supported format (expected one of: MJPEG, YUYV, NV12, YU12, "
	  "GREY, RGB24, BGR24, or a raw sensor format: Y10, Y10P, Y12, Y16, SBGGR8, SGBRG8, SGRBG8, SRGGB8 (and each "
	  "order with 10, 10P, 12, 16))" },
	{ "http:\n  listen: localhost\n",
	  "x.yaml:2: http.listen: \"localhost\" is not a listen address (expected HOST:PORT with PORT 0..65535, e.g. "
	  "127.0.0.1:8080 or [::1]:8080)" },
	{ "http:\n  listen: \"::1:8080\"\n",
	  "x.yaml:2: http.listen: \"::1:8080\" is not a listen address (expected HOST:PORT with PORT 0..65535, e.g. "
	  "127.0.0.1:8080 or [::1]:8080)" },
	{ "http:\n  max_stream_clients: 0\n",
	  "x.yaml:2: http.max_stream_clients: 0 is out of range (expected 1..16384)" },
	{ "http:\n  header_timeout: 0\n", "x.yaml:2: http.header_timeout: 0 is out of range (expected 1..300)" },
	{ "cameras:\n  - source: /dev/video0\n",
	  "x.yaml:2: cameras.0.source: \"/dev/video0\" is not a source (expected auto, test, libcamera[:INDEX|:ID], "
	  "v4l2:/dev/videoN, file:PATH, url:URL or aravis:[ID])" },
	{ "log_level: verbose\n",
	  "x.yaml:1: log_level: \"verbose\" is not a log level (expected one of: error, warn, info, debug)" },
	{ "cameras:\n  - loop: maybe\n", "x.yaml:2: cameras.0.loop: \"maybe\" is not a boolean (expected true or false)" },
	{ "cameras:\n  - fps: fast\n", "x.yaml:2: cameras.0.fps: \"fast\" is not a number (expected 0..1000)" },
	{ "cameras:\n  - name: front door\n",
	  "x.yaml:2: cameras.0.name: \"front door\" is not a valid name (expected 1 to 64 letters, digits, '-', '_' "
	  "or '.')" },
	{ "cameras:\n  - name:\n", "x.yaml:2: cameras.0.name: no value (expected 1 to 64 letters, digits, '-', '_' or '.')" },
	{ "cameras: []\n", "x.yaml:1: cameras: an empty list (expected 1 to 16 cameras)" },
	/* controls, read by the libyaml pass */
	{ "cameras:\n  - controls:\n      brightness: 1\n      Bad-Name: 2\n",
	  "x.yaml:4: cameras.0.controls.Bad-Name: \"Bad-Name\" is not a control name (expected letters, digits and "
	  "'_', as v4l2-ctl --list-ctrls prints them)" },
	{ "cameras:\n  - controls:\n      zoom: [1, 2]\n",
	  "x.yaml:3: cameras.0.controls.zoom: wrong type: got a list (expected an integer, true, false or a menu "
	  "item name)" },
	{ "cameras:\n  - controls: 5\n",
	  "x.yaml:2: cameras.0.controls: wrong type: got a value (expected a mapping of V4L2 control names to values)" },
	{ "cameras:\n  - controls:\n      zoom: 1\n      zoom: 2\n",
	  "x.yaml:4: cameras.0.controls.zoom: duplicate key, first at line 3 (expected each key once)" },
};

static void test_bad_files(void **state)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		print_message("%s\n", bad_files[i].error);
		load_fails(bad_files[i].text, bad_files[i].error);
	}
}

static void test_lists(void **state)
{
	struct cr_config *config = load_ok("http:\n  hostnames: [Cam.Example.ORG, \"*.lab.example.org\"]\n"
					   "  cors_origins:\n    - https://Dash.example.org\n    - http://[::1]:8000\n");

	assert_string_equal(config->http.hostnames, "cam.example.org,*.lab.example.org");
	assert_string_equal(config->http.cors_origins, "https://dash.example.org,http://[::1]:8000");
	cr_config_free(&config);
	config = load_ok("log_level: info\n");
	assert_string_equal(config->http.hostnames, "");
	assert_string_equal(config->http.cors_origins, "");
	set_ok(config, "http.hostnames", "a.example, b.example");
	assert_string_equal(config->http.hostnames, "a.example,b.example");
	cr_config_free(&config);
}

static void test_missing_file(void **state)
{
	char *error = NULL;

	assert_null(cr_config_load("missing.yaml", &error));
	assert_string_equal(error, "missing.yaml: cannot open: No such file or directory");
	free(error);
}

/* gpio.clicks: a free-form mapping at the top level (not in a camera),
 * laid over the default's empty one; the rules themselves are gpio.c's to
 * check (tests/unit/test_gpio.c). */
static void test_gpio_clicks(void **state)
{
	struct cr_config *config = load_ok("gpio:\n  preset: timelapse\n  clicks:\n    1: snapshot\n"
					   "    \"3\": \"timelapse start 30; while timelapse: timelapse stop\"\n"
					   "    5:\n");

	assert_string_equal(config->gpio.preset, "timelapse");
	assert_int_equal(config->gpio.nclicks, 3);
	assert_string_equal(config->gpio.clicks[0].name, "1");
	assert_string_equal(config->gpio.clicks[0].value, "snapshot");
	assert_string_equal(config->gpio.clicks[1].name, "3");
	assert_string_equal(config->gpio.clicks[1].value, "timelapse start 30; while timelapse: timelapse stop");
	assert_string_equal(config->gpio.clicks[2].name, "5");
	assert_string_equal(config->gpio.clicks[2].value, "");
	assert_int_equal(config->gpio.debounce_ms, 30);   /* the rest of gpio keeps its defaults */
	set_ok(config, "gpio.clicks.5", "none");
	set_ok(config, "gpio.clicks.4", "timelapse pause");
	assert_int_equal(config->gpio.nclicks, 4);
	assert_string_equal(config->gpio.clicks[2].value, "none");
	assert_string_equal(config->gpio.clicks[3].name, "4");
	set_fails(config, "gpio.clicks", "snapshot", "gpio.clicks: not a value (expected gpio.clicks.NAME)");
	cr_config_free(&config);

	config = load_ok("gpio:\n  clicks: {}\n");
	assert_string_equal(config->gpio.preset, "recording");
	assert_int_equal(config->gpio.nclicks, 0);
	cr_config_free(&config);

	load_fails("gpio:\n  clicks: 3\n", "x.yaml:2: gpio.clicks: wrong type: got a value (expected a mapping of click "
		   "counts to rules, e.g. 3: \"timelapse start; while timelapse: timelapse stop\")");
	load_fails("gpio:\n  clicks:\n    3: [snapshot]\n",
		   "x.yaml:3: gpio.clicks.3: wrong type: got a list (expected a text value)");
	load_fails("gpio:\n  preset: time lapse\n", "x.yaml:2: gpio.preset: \"time lapse\" is not a valid name "
		   "(expected the name of a click map preset, e.g. timelapse)");
}

static void test_set(void **state)
{
	struct cr_config *config = cr_config_load(NULL, &(char *){ NULL });
	const struct cr_camera_config *cam;

	assert_non_null(config);
	set_ok(config, "log_level", "warn");
	set_ok(config, "http.listen", "[::]:8081");
	set_ok(config, "http.max_stream_clients", "10");
	set_ok(config, "http.header_timeout", "2");
	set_ok(config, "camera.name", "left");
	/* aravis: takes nothing, an empty id (the first camera) or any id. */
	set_ok(config, "camera.source", "aravis");
	set_ok(config, "camera.source", "aravis:");
	set_ok(config, "camera.source", "aravis:Aravis-Fake-GV01");
	set_ok(config, "camera.format", "Mono16");
	assert_int_equal(config->cameras[0].format, CR_FMT_Y16);
	set_ok(config, "camera.format", "BayerRG8");
	assert_int_equal(config->cameras[0].format, CR_FMT_SRGGB8);
	set_ok(config, "camera.format", "Y10");
	assert_int_equal(config->cameras[0].format, CR_FMT_Y10);
	set_ok(config, "camera.source", "url:rtsp://10.0.0.5/stream");
	set_ok(config, "camera.size", "1920x1080");
	set_ok(config, "camera.fps", "15");
	set_ok(config, "camera.format", "NV12");
	set_ok(config, "camera.loop", "no");
	set_ok(config, "camera.buffers", "8");
	set_ok(config, "camera.crop.width", "640");
	set_ok(config, "camera.crop.height", "480");
	set_ok(config, "cameras.0.jpeg.quality", "95");
	set_ok(config, "camera.jpeg.gray", "true");
	set_ok(config, "camera.jpeg.size", "640x360");
	set_ok(config, "camera.jpeg.workers", "3");
	set_ok(config, "camera.lsl.enabled", "on");
	set_ok(config, "camera.lsl.name", "Left camera");
	set_ok(config, "camera.lsl.type", "Markers");
	set_ok(config, "camera.controls.brightness", "10");
	set_ok(config, "camera.controls.contrast", "5");
	set_ok(config, "camera.controls.brightness", "12");
	set_ok(config, "camera.analysis.fps", "2.5");
	set_ok(config, "camera.analysis.motion.enabled", "true");
	set_ok(config, "camera.analysis.motion.threshold", "0.5");
	set_ok(config, "camera.analysis.motion.zones.door", "exclude 0,0 200x120");
	set_ok(config, "camera.analysis.faces.largest_only", "yes");

	assert_string_equal(config->log_level, "warn");
	assert_string_equal(config->http.listen, "[::]:8081");
	assert_int_equal(config->http.max_stream_clients, 10);
	assert_int_equal(config->http.header_timeout, 2);
	cam = &config->cameras[0];
	assert_string_equal(cam->name, "left");
	assert_string_equal(cam->source, "url:rtsp://10.0.0.5/stream");
	assert_int_equal(cam->width, 1920);
	assert_int_equal(cam->height, 1080);
	assert_true(cam->fps == 15.0);
	assert_int_equal(cam->format, CR_FMT_NV12);
	assert_false(cam->loop);
	assert_int_equal(cam->buffers, 8);
	assert_int_equal(cam->crop.width, 640);
	assert_int_equal(cam->crop.height, 480);
	assert_int_equal(cam->jpeg.quality, 95);
	assert_true(cam->jpeg.gray);
	assert_int_equal(cam->jpeg.width, 640);
	assert_int_equal(cam->jpeg.height, 360);
	assert_int_equal(cam->jpeg.workers, 3);
	assert_true(cam->lsl.enabled);
	assert_string_equal(cam->lsl.name, "Left camera");
	assert_string_equal(cam->lsl.type, "Markers");
	assert_int_equal(cam->ncontrols, 2);
	assert_string_equal(cam->controls[0].name, "brightness");
	assert_string_equal(cam->controls[0].value, "12");
	assert_int_equal(cam->controls[0].line, 0);
	assert_string_equal(cam->controls[1].name, "contrast");
	assert_true(cam->analysis.fps == 2.5 && cam->analysis.width == 320);
	assert_true(cam->analysis.motion.enabled && cam->analysis.motion.threshold == 0.5);
	assert_true(cam->analysis.motion.event_gap == 3 && cam->analysis.motion.post_capture == 5);
	assert_int_equal(cam->analysis.motion.nzones, 1);
	assert_string_equal(cam->analysis.motion.zones[0].name, "door");
	assert_string_equal(cam->analysis.motion.zones[0].value, "exclude 0,0 200x120");
	assert_true(cam->analysis.faces.largest_only && !cam->analysis.faces.enabled);
	assert_string_equal(cam->analysis.faces.model,
			    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml");

	/* cameras.N with N == ncameras appends a default camera */
	set_ok(config, "cameras.1.name", "right");
	assert_int_equal(config->ncameras, 2);
	assert_default_camera(&config->cameras[1], "right");
	assert_int_equal(cr_config_check(config, &(char *){ NULL }), 0);
	cr_config_free(&config);
}

static void test_set_errors(void **state)
{
	struct cr_config *config = cr_config_load(NULL, &(char *){ NULL });

	assert_non_null(config);
	set_fails(config, "camera.jpeg.quality", "0", "camera.jpeg.quality: 0 is out of range (expected 1..100)");
	set_fails(config, "camera.analysis.motion.threshold", "101",
		  "camera.analysis.motion.threshold: 101 is out of range (expected 0..100)");
	set_fails(config, "camera.analysis.width", "16", "camera.analysis.width: 16 is out of range (expected 32..4096)");
	set_fails(config, "cameras.0.jpeg.quality", "101",
		  "cameras.0.jpeg.quality: 101 is out of range (expected 1..100)");
	set_fails(config, "camera.colour", "red",
		  "camera.colour: unknown key (expected one of: name, source, size, fps, format, loop, buffers, crop, "
		  "controls, jpeg, lsl, recording, timelapse, upload, tcp_stream, sensor, analysis, rtsp, webrtc)");
	set_fails(config, "colour", "red", "colour: unknown key (expected one of: log_level, http, cameras, ntfy, gpio, health, telemetry, sensors, mqtt)");
	set_fails(config, "http.port", "80", "http.port: unknown key (expected one of: listen, header_timeout, "
		  "max_pending, max_stream_clients, max_api_clients, max_clients_per_ip, auth, password_file, token_file, "
		  "tls_cert, tls_key, hostnames, cors_origins)");
	set_fails(config, "http.max_clients", "64", "http.max_clients: no longer a key (expected "
		  "http.max_stream_clients and http.max_api_clients instead: live views and other requests have limits "
		  "of their own)");
	set_fails(config, "camera.size", "640", "camera.size: \"640\" is not a size (expected WIDTHxHEIGHT in pixels, e.g. 640x480)");
	set_fails(config, "camera.format", "H264",
		  "camera.format: \"H264\" is not a supported format (expected one of: MJPEG, YUYV, NV12, YU12, GREY, "
		  "RGB24, BGR24, or a raw sensor format: Y10, Y10P, Y12, Y16, SBGGR8, SGBRG8, SGRBG8, SRGGB8 (and each "
		  "order with 10, 10P, 12, 16))");
	set_fails(config, "http.listen", "127.0.0.1:65536",
		  "http.listen: \"127.0.0.1:65536\" is not a listen address (expected HOST:PORT with PORT 0..65535, "
		  "e.g. 127.0.0.1:8080 or [::1]:8080)");
	set_fails(config, "http.listen", "[::1:8080",
		  "http.listen: \"[::1:8080\" is not a listen address (expected HOST:PORT with PORT 0..65535, "
		  "e.g. 127.0.0.1:8080 or [::1]:8080)");
	set_fails(config, "camera.source", "v4l2:",
		  "camera.source: \"v4l2:\" is not a source (expected auto, test, libcamera[:INDEX|:ID], v4l2:/dev/videoN, "
		  "file:PATH, url:URL or aravis:[ID])");
	set_fails(config, "log_level", "trace",
		  "log_level: \"trace\" is not a log level (expected one of: error, warn, info, debug)");
	set_fails(config, "camera.jpeg", "80", "camera.jpeg: not a value (expected one of: quality, gray, size, workers)");
	set_fails(config, "camera.jpeg.quality.max", "80", "camera.jpeg.quality.max: unknown key (expected camera.jpeg.quality)");
	set_fails(config, "cameras", "1", "cameras: not a value (expected cameras.N.KEY)");
	set_fails(config, "camera.controls", "1", "camera.controls: not a value (expected camera.controls.NAME)");
	set_fails(config, "camera.controls.a.b", "1",
		  "camera.controls.a.b: \"a.b\" is not a control name (expected letters, digits and '_', as v4l2-ctl "
		  "--list-ctrls prints them)");
	set_fails(config, "camera.controls.zoom", "",
		  "camera.controls.zoom: \"\" is not a control value (expected an integer, true, false or a menu item name)");
	set_fails(config, "cameras.2.name", "x", "cameras.2.name: no camera 2 (expected a camera index 0..1)");
	set_fails(config, "cameras.one.name", "x", "cameras.one.name: no camera one (expected a camera index 0..1)");
	/* a failed set leaves the config as it was, even when it would append */
	set_fails(config, "cameras.1.jpeg.quality", "0", "cameras.1.jpeg.quality: 0 is out of range (expected 1..100)");
	assert_int_equal(config->ncameras, 1);
	assert_int_equal(config->cameras[0].jpeg.quality, 80);
	assert_string_equal(config->http.listen, "127.0.0.1:8080");
	assert_int_equal(config->cameras[0].ncontrols, 0);
	cr_config_free(&config);
}

static void check_fails(struct cr_config *config, const char *want)
{
	char *error = NULL;

	assert_int_equal(cr_config_check(config, &error), -EINVAL);
	assert_non_null(error);
	assert_string_equal(error, want);
	free(error);
}

static void test_check(void **state)
{
	struct cr_config *config = load_ok("cameras:\n  - name: a\n  - name: a\n");

	check_fails(config, "x.yaml:3: cameras.1.name: \"a\" is also the name of cameras.0 (expected a name unique "
			    "among cameras)");
	set_ok(config, "cameras.1.name", "b");
	assert_int_equal(cr_config_check(config, &(char *){ NULL }), 0);

	set_ok(config, "cameras.1.crop.left", "8");
	check_fails(config, "cameras.1.crop: 0x0 at 8,0 is not a rectangle (expected width and height both above 0, "
			    "or all 0 for no crop)");
	set_ok(config, "cameras.1.size", "640x480");
	set_ok(config, "cameras.1.crop.width", "640");
	set_ok(config, "cameras.1.crop.height", "480");
	check_fails(config, "cameras.1.crop: 640x480 at 8,0 reaches outside the 640x480 frame (expected left + width "
			    "<= 640 and top + height <= 480)");
	set_ok(config, "cameras.1.crop.left", "0");
	assert_int_equal(cr_config_check(config, &(char *){ NULL }), 0);

	config->cameras[0].jpeg.width = 320;
	check_fails(config, "x.yaml:2: cameras.0.jpeg.size: 320x0 (expected both width and height, or neither)");
	config->cameras[0].jpeg.width = 0;

	set_ok(config, "cameras.0.lsl.enabled", "true");
	set_ok(config, "cameras.1.lsl.enabled", "true");
	set_ok(config, "cameras.1.lsl.name", "a");
	check_fails(config, "cameras.1.lsl.name: \"a\" is also the LSL stream of cameras.0 (expected a name unique "
			    "among outlets)");
	cr_config_free(&config);
}

static void test_parse_size(void **state)
{
	int w = -1, h = -1;

	assert_int_equal(cr_config_parse_size("640x480", &w, &h), 0);
	assert_int_equal(w, 640);
	assert_int_equal(h, 480);
	assert_int_equal(cr_config_parse_size("32768X1", &w, &h), 0);
	assert_int_equal(w, 32768);
	assert_int_equal(h, 1);
	static const char *const bad[] = { "", "640", "640x", "x480", "640x480x", "0x480", "640x0", "-640x480",
					   "+640x480", " 640x480", "640x480 ", "32769x1", "640*480", "99999999999x1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w = h = -1;
		if (cr_config_parse_size(bad[i], &w, &h) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(w, -1);
		assert_int_equal(h, -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_overlay),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_gpio_clicks),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_parse_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
