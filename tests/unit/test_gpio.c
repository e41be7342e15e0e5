/* GPIO: the click-pattern logic with simulated edges (contact bounce, long
 * presses, 1/3/4/5 clicks, the debounce and gap boundaries), the click map
 * (both presets, gpio.clicks over them, `none`, every refusal of a rule with
 * its key and words, the FILE:LINE of a rule in a file), the LED levels of
 * each state, and the button and LED threads end to end with the line
 * simulated: struct gpioevent_data records written into a pipe stand in for
 * the kernel's line event fd, and a real control thread with stub handlers
 * receives the commands. Includes gpio.c to reach its statics. */
#include "../../src/control/gpio.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define MS CR_NS_PER_MS
#define DEBOUNCE (30 * MS)
#define GAP (600 * MS)
#define LONG (1000 * MS)
#define T0 (1000 * CR_NS_PER_SEC)   /* an arbitrary start on the monotonic clock */

/* An edge at T0 + ms: '+' press, '-' release. */
struct edge {
	char level;
	int64_t ms;
};

/* Feeds edges, letting time pass between them as the thread would (advance
 * at every deadline), then up to T0 + end_ms. Returns the patterns reported,
 * in order, in out (at most max); the count is the return value. */
static int run(const struct edge *edges, size_t n, int64_t end_ms, int *out, int max)
{
	struct cr_clicks c;
	int found = 0;

	cr_clicks_init(&c, DEBOUNCE, GAP, LONG);
	for (size_t i = 0; i <= n; i++) {
		int64_t t = i < n ? T0 + edges[i].ms * MS : T0 + end_ms * MS;
		int64_t d;
		int k;

		while ((d = cr_clicks_deadline(&c)) >= 0 && d <= t) {
			k = cr_clicks_advance(&c, d);
			if (k && found < max)
				out[found++] = k;
			if (!k && cr_clicks_deadline(&c) == d)
				break;   /* nothing more before t */
		}
		if (i < n) {
			k = cr_clicks_edge(&c, edges[i].level == '+', t);
			if (k && found < max)
				out[found++] = k;
		} else {
			k = cr_clicks_advance(&c, t);
			if (k && found < max)
				out[found++] = k;
		}
	}
	return found;
}

#define RUN(edges, end_ms, out) run(edges, CR_ARRAY_SIZE(edges), end_ms, out, (int)CR_ARRAY_SIZE(out))

static void test_single_click(void **state)
{
	const struct edge e[] = { { '+', 0 }, { '-', 100 } };
	int out[4];

	assert_int_equal(RUN(e, 5000, out), 1);
	assert_int_equal(out[0], 1);
}

static void test_pattern_ends_after_gap(void **state)
{
	struct cr_clicks c;

	cr_clicks_init(&c, DEBOUNCE, GAP, LONG);
	assert_int_equal(cr_clicks_deadline(&c), -1);
	assert_int_equal(cr_clicks_edge(&c, true, T0), 0);
	assert_int_equal(cr_clicks_deadline(&c), T0 + DEBOUNCE);
	assert_int_equal(cr_clicks_advance(&c, T0 + DEBOUNCE), 0);
	assert_int_equal(cr_clicks_deadline(&c), -1);        /* held: only an edge matters */
	assert_int_equal(cr_clicks_edge(&c, false, T0 + 100 * MS), 0);
	assert_int_equal(cr_clicks_advance(&c, T0 + 130 * MS), 0);
	assert_int_equal(cr_clicks_deadline(&c), T0 + 100 * MS + GAP);
	assert_int_equal(cr_clicks_advance(&c, T0 + 100 * MS + GAP - 1), 0);
	assert_int_equal(cr_clicks_advance(&c, T0 + 100 * MS + GAP), 1);
	assert_int_equal(cr_clicks_deadline(&c), -1);
	assert_int_equal(cr_clicks_advance(&c, T0 + 10 * CR_NS_PER_SEC), 0);  /* reported once */
}

static void test_bounces(void **state)
{
	/* Chatter of a few ms on both press and release: still one click. */
	const struct edge e[] = { { '+', 0 }, { '-', 2 }, { '+', 4 }, { '-', 7 }, { '+', 9 },
				  { '-', 150 }, { '+', 151 }, { '-', 155 }, { '+', 158 }, { '-', 160 } };
	/* Three clicks, each bouncing. */
	const struct edge e3[] = { { '+', 0 }, { '-', 3 }, { '+', 5 }, { '-', 100 }, { '+', 104 }, { '-', 106 },
				   { '+', 300 }, { '-', 301 }, { '+', 303 }, { '-', 400 },
				   { '+', 600 }, { '-', 602 }, { '+', 604 }, { '-', 700 }, { '+', 701 }, { '-', 703 } };
	int out[4];

	assert_int_equal(RUN(e, 5000, out), 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(RUN(e3, 5000, out), 1);
	assert_int_equal(out[0], 3);
}

/* n clean clicks, 100 ms down and 150 ms up. */
static int clicks(int n, int *out, int max)
{
	struct edge e[20];

	for (int i = 0; i < n; i++) {
		e[2 * i] = (struct edge){ '+', i * 250 };
		e[2 * i + 1] = (struct edge){ '-', i * 250 + 100 };
	}
	return run(e, (size_t)(2 * n), 10000, out, max);
}

static void test_counts(void **state)
{
	int out[4];

	for (int n = 1; n <= 7; n++) {
		assert_int_equal(clicks(n, out, 4), 1);
		assert_int_equal(out[0], n);
	}
}

static void test_gap_boundary(void **state)
{
	/* The next press exactly click_gap_ms after the release: a new pattern. */
	const struct edge apart[] = { { '+', 0 }, { '-', 100 }, { '+', 700 }, { '-', 800 } };
	/* One ms less: the same pattern. */
	const struct edge together[] = { { '+', 0 }, { '-', 100 }, { '+', 699 }, { '-', 800 } };
	/* A press that starts within the gap but is still bouncing at the gap's
	 * end keeps the pattern open. */
	const struct edge bouncing[] = { { '+', 0 }, { '-', 100 }, { '+', 690 }, { '-', 692 }, { '+', 695 },
					 { '-', 800 } };
	int out[4];

	assert_int_equal(RUN(apart, 5000, out), 2);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 1);
	assert_int_equal(RUN(together, 5000, out), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(RUN(bouncing, 5000, out), 1);
	assert_int_equal(out[0], 2);
}

static void test_debounce_boundary(void **state)
{
	/* A 29 ms blip is noise; 30 ms down and 30 ms up is a click. */
	const struct edge blip[] = { { '+', 0 }, { '-', 29 } };
	const struct edge shortest[] = { { '+', 0 }, { '-', 30 }, { '+', 60 }, { '-', 90 } };
	/* Noise during the gap neither adds a click nor keeps the pattern open. */
	const struct edge noise[] = { { '+', 0 }, { '-', 100 }, { '+', 400 }, { '-', 405 } };
	int out[4];

	assert_int_equal(RUN(blip, 5000, out), 0);
	assert_int_equal(RUN(shortest, 5000, out), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(RUN(noise, 5000, out), 1);
	assert_int_equal(out[0], 1);
}

static void test_long_press(void **state)
{
	const struct edge held[] = { { '+', 0 }, { '-', 1000 } };
	const struct edge almost[] = { { '+', 0 }, { '-', 999 } };
	/* Two clicks, then a long press: the pattern is dropped. */
	const struct edge cancel[] = { { '+', 0 }, { '-', 100 }, { '+', 300 }, { '-', 400 }, { '+', 600 },
				       { '-', 2000 } };
	/* A long press, then one click: one click. */
	const struct edge after[] = { { '+', 0 }, { '-', 1500 }, { '+', 1700 }, { '-', 1800 } };
	int out[4];

	assert_int_equal(RUN(held, 5000, out), 0);
	assert_int_equal(RUN(almost, 5000, out), 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(RUN(cancel, 5000, out), 0);
	assert_int_equal(RUN(after, 5000, out), 1);
	assert_int_equal(out[0], 1);
}

static void test_late_advance(void **state)
{
	/* Nobody called advance at the deadline; the next press reports the
	 * finished pattern first. */
	struct cr_clicks c;

	cr_clicks_init(&c, DEBOUNCE, GAP, LONG);
	cr_clicks_edge(&c, true, T0);
	cr_clicks_edge(&c, false, T0 + 100 * MS);
	assert_int_equal(cr_clicks_edge(&c, true, T0 + 3000 * MS), 1);
	assert_int_equal(cr_clicks_edge(&c, false, T0 + 3100 * MS), 0);
	assert_int_equal(cr_clicks_advance(&c, T0 + 4000 * MS), 1);
	/* A repeated level (a lost edge) is ignored. */
	assert_int_equal(cr_clicks_edge(&c, false, T0 + 5000 * MS), 0);
	assert_int_equal(cr_clicks_deadline(&c), -1);
}

/* ---- the click map ----------------------------------------------------------- */

#define REC CR_GPIO_RECORDING
#define TL CR_GPIO_TIMELAPSE
#define PAUSED (CR_GPIO_TIMELAPSE | CR_GPIO_PAUSED)   /* a paused session is a session */

/* The map of preset (NULL: the default) and the clicks given as "COUNT",
 * "RULE", ... pairs ending with NULL; fails the test if it does not build. */
static void map_of(struct cr_gpio_map *map, const char *preset, ...)
{
	struct cr_config_pair pairs[16];
	struct cr_gpio_config config = { .preset = (char *)preset, .clicks = pairs };
	char *key, *why;
	const char *name;
	va_list ap;

	va_start(ap, preset);
	while ((name = va_arg(ap, const char *))) {
		pairs[config.nclicks].name = (char *)name;
		pairs[config.nclicks++].value = va_arg(ap, char *);
	}
	va_end(ap);
	if (cr_gpio_map_build(&config, map, &key, &why) < 0)
		fail_msg("unexpected error: %s: %s", key, why);
	assert_null(key);
	assert_null(why);
}

/* A command or NULL, for assert_string_equal on a NULL. */
static const char *cmd_of(const struct cr_gpio_map *map, int clicks, unsigned state)
{
	const char *line = cr_gpio_map_command(map, clicks, state);

	return line ? line : "(none)";
}

static void test_preset_recording(void **state)
{
	struct cr_gpio_map map;

	/* the default, and by name: today's map */
	for (int i = 0; i < 2; i++) {
		map_of(&map, i ? "recording" : NULL, NULL);
		assert_string_equal(cmd_of(&map, 1, 0), "snapshot");
		assert_string_equal(cmd_of(&map, 1, REC | PAUSED), "snapshot");
		assert_string_equal(cmd_of(&map, 3, 0), "start_recording");
		assert_string_equal(cmd_of(&map, 3, TL), "start_recording");
		assert_string_equal(cmd_of(&map, 3, REC), "stop_recording");
		assert_string_equal(cmd_of(&map, 4, 0), "timelapse pause");
		assert_string_equal(cmd_of(&map, 4, TL), "timelapse pause");
		assert_string_equal(cmd_of(&map, 4, PAUSED), "timelapse resume");
		assert_string_equal(cmd_of(&map, 5, REC), "stop_recording discard");
		for (int n = -1; n <= 12; n++)
			if (n != 1 && n != 3 && n != 4 && n != 5)
				assert_string_equal(cmd_of(&map, n, REC | PAUSED), "(none)");
		assert_false(cr_gpio_map_needs_state(&map, 1));
		assert_true(cr_gpio_map_needs_state(&map, 3));
		assert_true(cr_gpio_map_needs_state(&map, 4));
		assert_false(cr_gpio_map_needs_state(&map, 5));
		assert_false(cr_gpio_map_needs_state(&map, 0));
		assert_false(cr_gpio_map_needs_state(&map, 10));
	}
}

static void test_preset_timelapse(void **state)
{
	struct cr_gpio_map map;

	map_of(&map, "timelapse", NULL);
	assert_string_equal(cmd_of(&map, 1, 0), "timelapse shot");
	assert_string_equal(cmd_of(&map, 3, 0), "timelapse start");
	assert_string_equal(cmd_of(&map, 3, REC), "timelapse start");   /* a recording is not a session */
	assert_string_equal(cmd_of(&map, 3, TL), "timelapse stop");
	assert_string_equal(cmd_of(&map, 3, PAUSED), "timelapse stop");   /* stop assembles a paused one too */
	assert_string_equal(cmd_of(&map, 4, TL), "timelapse pause");
	assert_string_equal(cmd_of(&map, 4, PAUSED), "timelapse resume");
	assert_string_equal(cmd_of(&map, 5, TL), "timelapse abort");
	assert_string_equal(cmd_of(&map, 2, TL), "(none)");
	assert_string_equal(cmd_of(&map, 6, TL), "(none)");
}

static void test_clicks_override(void **state)
{
	struct cr_gpio_map map;

	/* A count replaced, one added, one taken out; the others stay. */
	map_of(&map, "timelapse", "1", "snapshot camera=top", "2", "timelapse shot", "5", "none", NULL);
	assert_string_equal(cmd_of(&map, 1, TL), "snapshot camera=top");
	assert_string_equal(cmd_of(&map, 2, TL), "timelapse shot");
	assert_string_equal(cmd_of(&map, 5, TL), "(none)");
	assert_false(cr_gpio_map_needs_state(&map, 5));
	assert_string_equal(cmd_of(&map, 3, TL), "timelapse stop");

	/* The first while that holds wins, in the rule's order; none in a clause;
	 * spaces and case are free; 9 clicks is the most. */
	map_of(&map, NULL, "3", "  start_recording 60 ;While PAUSED :timelapse resume;  while recording:  none ",
	       "9", "quit", NULL);
	assert_string_equal(cmd_of(&map, 3, 0), "start_recording 60");
	assert_string_equal(cmd_of(&map, 3, REC), "(none)");
	assert_string_equal(cmd_of(&map, 3, PAUSED), "timelapse resume");
	assert_string_equal(cmd_of(&map, 3, REC | PAUSED), "timelapse resume");
	assert_string_equal(cmd_of(&map, 9, 0), "quit");
	map_of(&map, NULL, "3", "none; while recording: stop_recording; while timelapse: timelapse stop", NULL);
	assert_string_equal(cmd_of(&map, 3, 0), "(none)");
	assert_string_equal(cmd_of(&map, 3, TL), "timelapse stop");
	assert_string_equal(cmd_of(&map, 3, REC | TL), "stop_recording");
}

struct bad_rule {
	const char *preset, *count, *rule;
	const char *key, *why;
};

static const struct bad_rule bad_rules[] = {
	{ "timelaps", NULL, NULL, "gpio.preset", "unknown preset \"timelaps\" (expected one of: recording, timelapse)" },
	{ NULL, "0", "snapshot", "gpio.clicks.0", "not a number of clicks (expected 1..9)" },
	{ NULL, "10", "snapshot", "gpio.clicks.10", "not a number of clicks (expected 1..9)" },
	{ NULL, "three", "snapshot", "gpio.clicks.three", "not a number of clicks (expected 1..9)" },
	{ NULL, "3", "", "gpio.clicks.3",
	  "no rule (expected COMMAND, or COMMAND; while STATE: COMMAND, or none)" },
	{ NULL, "3", "  ", "gpio.clicks.3",
	  "no rule (expected COMMAND, or COMMAND; while STATE: COMMAND, or none)" },
	{ NULL, "3", "timelapse begin", "gpio.clicks.3",
	  "\"timelapse begin\": timelapse: unknown action \"begin\" (expected one of: start, pause, resume, stop, "
	  "abort, shot)" },
	{ "timelapse", "3", "timelapse start; while timelapse: timelapse halt", "gpio.clicks.3",
	  "\"timelapse halt\": timelapse: unknown action \"halt\" (expected one of: start, pause, resume, stop, "
	  "abort, shot)" },
	{ NULL, "1", "snap", "gpio.clicks.1",
	  "\"snap\": unknown command \"snap\" (expected one of: start_recording, stop_recording, snapshot, status, "
	  "get_stats, set_control, list_controls, timelapse, quit)" },
	{ NULL, "1", "snapshot now", "gpio.clicks.1",
	  "\"snapshot now\": snapshot: wrong number of arguments (usage: snapshot [camera=NAME])" },
	{ NULL, "3", "timelapse start; while runing: timelapse stop", "gpio.clicks.3",
	  "unknown state \"runing\" (expected one of: recording, timelapse, paused)" },
	{ NULL, "3", "timelapse start; while: timelapse stop", "gpio.clicks.3",
	  "no state after \"while\" (expected while STATE: COMMAND)" },
	{ NULL, "3", "timelapse start; while timelapse timelapse stop", "gpio.clicks.3",
	  "\"while timelapse timelapse stop\" has no ':' (expected while STATE: COMMAND)" },
	{ NULL, "3", "timelapse start; timelapse stop", "gpio.clicks.3",
	  "\"timelapse stop\" after ';' (expected while STATE: COMMAND)" },
	{ NULL, "3", "timelapse start; while timelapse:", "gpio.clicks.3",
	  "an empty command (expected a command line, or none)" },
	{ NULL, "3", "timelapse start;", "gpio.clicks.3", "nothing after ';' (expected while STATE: COMMAND)" },
	{ NULL, "3", "; while recording: stop_recording", "gpio.clicks.3",
	  "an empty command (expected a command line, or none)" },
	{ NULL, "3", "while recording: stop_recording", "gpio.clicks.3",
	  "the rule starts with \"while\" (expected a command first, e.g. none; while recording: stop_recording)" },
	{ NULL, "3", "none; while paused: timelapse resume; while PAUSED: timelapse stop", "gpio.clicks.3",
	  "\"while PAUSED\" twice (expected each state once)" },
	{ NULL, "4", "set_control exposure_time_absolute 100 camera=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "gpio.clicks.4",
	  "the command \"set_control exposure...\" is too long (expected at most 127 characters)" },
};

static void test_bad_rules(void **state)
{
	for (size_t i = 0; i < CR_ARRAY_SIZE(bad_rules); i++) {
		const struct bad_rule *b = &bad_rules[i];
		struct cr_config_pair good[] = { { "1", "snapshot" }, { (char *)b->count, (char *)b->rule } };
		struct cr_gpio_config config = { .preset = (char *)b->preset, .clicks = good,
						 .nclicks = b->count ? 2 : 0 };
		struct cr_gpio_map map;
		char *key = NULL, *why = NULL;

		print_message("%s: %s\n", b->key, b->why);
		assert_int_equal(cr_gpio_map_build(&config, &map, &key, &why), -EINVAL);
		assert_string_equal(key, b->key);
		assert_string_equal(why, b->why);
		free(key);
		free(why);
		assert_int_equal(cr_gpio_check(&config, &key, &why), -EINVAL);
		assert_string_equal(key, b->key);
		free(key);
		free(why);
	}
}

/* A bad rule in a file is refused with the file and line of its key, as
 * cr_pipeline_check() words it (through cr_config_error). */
static void test_check_names_line(void **state)
{
	static const char text[] =
		"gpio:\n"                                                   /* 1 */
		"  enabled: true\n"                                         /* 2 */
		"  button: 17\n"                                            /* 3 */
		"  preset: timelapse\n"                                     /* 4 */
		"  clicks:\n"                                               /* 5 */
		"    1: snapshot\n"                                         /* 6 */
		"    3: \"timelapse start; while runing: timelapse stop\"\n" /* 7 */
		"    5: none\n";                                            /* 8 */
	char path[] = "/tmp/test_gpio.XXXXXX";
	int fd = mkstemp(path);
	struct cr_config *config;
	char *error = NULL, *key, *why, *message;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	config = cr_config_load(path, &error);
	if (!config)
		fail_msg("unexpected error: %s", error);
	assert_int_equal(cr_config_check(config, &error), 0);
	assert_string_equal(config->gpio.preset, "timelapse");
	assert_int_equal(config->gpio.nclicks, 3);
	assert_int_equal(cr_gpio_check(&config->gpio, &key, &why), -EINVAL);
	message = cr_config_error(config, key, "%s", why);
	{
		char *want = cr_asprintf("%s:7: gpio.clicks.3: unknown state \"runing\" (expected one of: recording, "
					 "timelapse, paused)", path);

		assert_string_equal(message, want);
		free(want);
	}
	free(message);
	free(key);
	free(why);

	/* Set from the command line instead: the same words, no FILE:LINE. */
	assert_int_equal(cr_config_set(config, "gpio.clicks.3", "timelapse start; while paused: timelapse resume",
				       &error), 0);
	assert_int_equal(cr_gpio_check(&config->gpio, &key, &why), 0);
	assert_int_equal(cr_config_set(config, "gpio.clicks.4", "timelapse paws", &error), 0);
	assert_int_equal(cr_gpio_check(&config->gpio, &key, &why), -EINVAL);
	message = cr_config_error(config, key, "%s", why);
	assert_string_equal(message, "gpio.clicks.4: \"timelapse paws\": timelapse: unknown action \"paws\" (expected "
			    "one of: start, pause, resume, stop, abort, shot)");
	free(message);
	free(key);
	free(why);
	cr_config_free(&config);

	/* The built-in default builds: the recording preset, no clicks. */
	config = cr_config_load(NULL, &error);
	assert_non_null(config);
	assert_string_equal(config->gpio.preset, "recording");
	assert_int_equal(config->gpio.nclicks, 0);
	assert_int_equal(cr_gpio_check(&config->gpio, &key, &why), 0);
	cr_config_free(&config);
	unlink(path);
}

static void test_leds_of(void **state)
{
	static const struct {
		unsigned state;
		bool idle, recording, paused;
	} cases[] = {
		{ 0, true, false, false },
		{ REC, false, true, false },
		{ TL, false, true, false },          /* a running session lights recording */
		{ PAUSED, false, false, true },      /* a paused one: paused only, not idle */
		{ REC | PAUSED, false, true, true },
		{ REC | TL, false, true, false },
	};

	for (size_t i = 0; i < CR_ARRAY_SIZE(cases); i++) {
		bool idle, recording, paused;

		cr_gpio_leds_of(cases[i].state, &idle, &recording, &paused);
		assert_int_equal(idle, cases[i].idle);
		assert_int_equal(recording, cases[i].recording);
		assert_int_equal(paused, cases[i].paused);
	}
}

/* ---- the threads, with the line simulated ---------------------------------- */

struct stub {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls[CR_VERB_COUNT];
	enum cr_trigger trigger;      /* of the last command */
	int discard;                  /* of the last command */
	enum cr_timelapse_action timelapse;  /* of the last command */
	const char *recording_state;  /* what "status" reports; NULL: no recording object */
	const char *timelapse_state;  /* the same for the timelapse */
};

static struct stub stub = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int on_command(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	pthread_mutex_lock(&stub.lock);
	stub.calls[cmd->verb]++;
	stub.trigger = cmd->trigger;
	stub.discard = cmd->discard;
	stub.timelapse = cmd->timelapse;
	pthread_cond_broadcast(&stub.cond);
	pthread_mutex_unlock(&stub.lock);
	return 0;
}

static int on_status(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	json_t *cam = json_pack("{s:s}", "name", "camera");

	pthread_mutex_lock(&stub.lock);
	if (stub.recording_state)
		json_object_set_new(cam, "recording", json_pack("{s:s}", "state", stub.recording_state));
	if (stub.timelapse_state)
		json_object_set_new(cam, "timelapse", json_pack("{s:s}", "state", stub.timelapse_state));
	pthread_mutex_unlock(&stub.lock);
	json_object_set_new(reply, "status", json_pack("{s:[o]}", "cameras", cam));
	return 0;
}

/* Waits up to 5 s for verb to have been run want times. */
static int wait_calls(enum cr_verb verb, int want)
{
	struct timespec deadline = cr_time_ts(cr_time_mono_ns() + 5 * CR_NS_PER_SEC);
	int got;

	pthread_mutex_lock(&stub.lock);
	while (stub.calls[verb] < want && pthread_cond_timedwait(&stub.cond, &stub.lock, &deadline) == 0)
		;
	got = stub.calls[verb];
	pthread_mutex_unlock(&stub.lock);
	return got;
}

/* Writes the edges of n bouncing clicks in one go, as the kernel would queue
 * them (active low: a press is a falling edge), timestamped in the past and
 * after every edge written before. */
static void write_clicks(int fd, int n)
{
	static int64_t last;
	int64_t base = cr_time_mono_ns() - 9 * CR_NS_PER_SEC;   /* edge_time() accepts up to 10 s back */
	struct gpioevent_data ev[4 * 8];
	const struct { int64_t ms; uint32_t id; } click[4] = {
		{ 0, GPIOEVENT_EVENT_FALLING_EDGE }, { 3, GPIOEVENT_EVENT_RISING_EDGE },
		{ 5, GPIOEVENT_EVENT_FALLING_EDGE }, { 100, GPIOEVENT_EVENT_RISING_EDGE },
	};

	assert_true(n <= 8);
	if (base < last + 300 * MS)
		base = last + 300 * MS;
	/* many patterns in a row: wait until this one lies in the past */
	while (base + ((n - 1) * 150 + 100) * MS >= cr_time_mono_ns()) {
		struct timespec pause = { 0, 10 * 1000 * 1000 };

		nanosleep(&pause, NULL);
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < 4; j++)
			ev[4 * i + j] = (struct gpioevent_data){ .timestamp = (uint64_t)(base + (i * 150 + click[j].ms) * MS),
								  .id = click[j].id };
	last = base + ((n - 1) * 150 + 100) * MS;
	assert_true(last < cr_time_mono_ns());
	assert_int_equal(write(fd, ev, (size_t)(4 * n) * sizeof(ev[0])), (ssize_t)((size_t)(4 * n) * sizeof(ev[0])));
}

/* Waits up to 5 s for LED led to show on. */
static bool wait_led(struct cr_gpio *g, enum led led, bool on)
{
	int64_t end = cr_time_mono_ns() + 5 * CR_NS_PER_SEC;
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	/* The test has no event to wait on for a LED; polling is fine here. */
	while (__atomic_load_n(&g->led_on[led], __ATOMIC_SEQ_CST) != (int)on && cr_time_mono_ns() < end)
		nanosleep(&pause, NULL);
	return __atomic_load_n(&g->led_on[led], __ATOMIC_SEQ_CST) == (int)on;
}

/* Sets what "status" reports (NULL: no such object); first call: sets up
 * the condition variable. Counts start again from 0. */
static void stub_reset(const char *recording_state, const char *timelapse_state)
{
	static bool ready;

	if (!ready) {
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);   /* wait_calls() waits on CLOCK_MONOTONIC */
		pthread_cond_init(&stub.cond, &attr);
		pthread_condattr_destroy(&attr);
		ready = true;
	}
	pthread_mutex_lock(&stub.lock);
	memset(stub.calls, 0, sizeof(stub.calls));
	stub.recording_state = recording_state;
	stub.timelapse_state = timelapse_state;
	pthread_mutex_unlock(&stub.lock);
}

/* Sets what "status" reports, counts kept. */
static void stub_states(const char *recording_state, const char *timelapse_state)
{
	pthread_mutex_lock(&stub.lock);
	stub.recording_state = recording_state;
	stub.timelapse_state = timelapse_state;
	pthread_mutex_unlock(&stub.lock);
}

static void test_threads_simulated_line(void **state)
{
	struct cr_gpio_config config = {
		.enabled = true, .chip = "sim", .button = 7, .active_low = true, .bias = "as-is",
		.debounce_ms = 30, .click_gap_ms = 200, .led_idle = 1, .led_recording = 2, .led_paused = 3,
	};
	struct cr_events *events = cr_events_new();
	struct cr_control *control = cr_control_new(events);
	struct cr_gpio *g = NULL;
	int fds[2];

	stub_reset(NULL, NULL);
	cr_control_on(control, CR_VERB_SNAPSHOT, on_command, NULL);
	cr_control_on(control, CR_VERB_START_RECORDING, on_command, NULL);
	cr_control_on(control, CR_VERB_STOP_RECORDING, on_command, NULL);
	cr_control_on(control, CR_VERB_TIMELAPSE, on_command, NULL);
	cr_control_on(control, CR_VERB_STATUS, on_status, NULL);
	assert_int_equal(cr_control_start(control), 0);
	assert_int_equal(cr_gpio_new(&config, control, events, &g), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(start_threads(g, fds[0]), 0);

	/* Nothing records: idle LED on, recording LED off. */
	assert_true(wait_led(g, LED_IDLE, true));
	assert_true(wait_led(g, LED_RECORDING, false));
	assert_true(wait_led(g, LED_PAUSED, false));

	write_clicks(fds[1], 1);
	assert_int_equal(wait_calls(CR_VERB_SNAPSHOT, 1), 1);
	assert_int_equal(stub.trigger, CR_TRIGGER_GPIO);

	/* 3 clicks while /status says idle: start; while recording: stop. */
	pthread_mutex_lock(&stub.lock);
	stub.recording_state = "idle";
	pthread_mutex_unlock(&stub.lock);
	write_clicks(fds[1], 3);
	assert_int_equal(wait_calls(CR_VERB_START_RECORDING, 1), 1);

	pthread_mutex_lock(&stub.lock);
	stub.recording_state = "recording";
	pthread_mutex_unlock(&stub.lock);
	cr_events_publish(events, "recording_started", json_pack("{s:s}", "camera", "camera"));
	assert_true(wait_led(g, LED_RECORDING, true));
	assert_true(wait_led(g, LED_IDLE, false));
	write_clicks(fds[1], 3);
	assert_int_equal(wait_calls(CR_VERB_STOP_RECORDING, 1), 1);

	/* Without a recording object in /status, the events decide. */
	pthread_mutex_lock(&stub.lock);
	stub.recording_state = NULL;
	pthread_mutex_unlock(&stub.lock);
	cr_events_publish(events, "recording_finished", json_pack("{s:s}", "camera", "camera"));
	assert_true(wait_led(g, LED_RECORDING, false));
	assert_true(wait_led(g, LED_IDLE, true));
	write_clicks(fds[1], 3);
	assert_int_equal(wait_calls(CR_VERB_START_RECORDING, 2), 2);

	/* 5 clicks: stop without keeping. */
	write_clicks(fds[1], 5);
	assert_int_equal(wait_calls(CR_VERB_STOP_RECORDING, 2), 2);
	assert_int_equal(stub.discard, 1);

	/* 4 clicks: pause, or resume while /status (else the events) says paused. */
	write_clicks(fds[1], 4);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 1), 1);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_PAUSE);
	pthread_mutex_lock(&stub.lock);
	stub.timelapse_state = "paused";
	pthread_mutex_unlock(&stub.lock);
	write_clicks(fds[1], 4);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 2), 2);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_RESUME);
	pthread_mutex_lock(&stub.lock);
	stub.timelapse_state = NULL;
	pthread_mutex_unlock(&stub.lock);
	cr_events_publish(events, "timelapse_paused", NULL);
	assert_true(wait_led(g, LED_PAUSED, true));
	write_clicks(fds[1], 4);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 3), 3);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_RESUME);

	/* Two clicks: no command; the next pattern still works. */
	write_clicks(fds[1], 2);
	write_clicks(fds[1], 1);
	assert_int_equal(wait_calls(CR_VERB_SNAPSHOT, 2), 2);
	assert_int_equal(wait_calls(CR_VERB_START_RECORDING, 2), 2);
	assert_int_equal(wait_calls(CR_VERB_STOP_RECORDING, 2), 2);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 3), 3);

	cr_gpio_free(&g);
	assert_null(g);
	cr_gpio_free(&g);
	close(fds[0]);
	close(fds[1]);
	cr_control_free(&control);
	cr_events_free(&events);
}

/* The timelapse preset with a rule of the user's: the click map, and the
 * LEDs following sessions from "status" and, without a timelapse object in
 * it, from the events. */
static void test_threads_timelapse(void **state)
{
	struct cr_config_pair clicks[] = { { "2", "snapshot" } };
	struct cr_gpio_config config = {
		.enabled = true, .chip = "sim", .button = 7, .active_low = true, .bias = "as-is",
		.debounce_ms = 30, .click_gap_ms = 200, .led_idle = 1, .led_recording = 2, .led_paused = 3,
		.preset = "timelapse", .clicks = clicks, .nclicks = 1,
	};
	struct cr_events *events = cr_events_new();
	struct cr_control *control = cr_control_new(events);
	struct cr_gpio *g = NULL;
	int fds[2];

	/* A session already runs when GPIO starts (resumed at start-up). */
	stub_reset("idle", "running");
	cr_control_on(control, CR_VERB_SNAPSHOT, on_command, NULL);
	cr_control_on(control, CR_VERB_TIMELAPSE, on_command, NULL);
	cr_control_on(control, CR_VERB_STATUS, on_status, NULL);
	assert_int_equal(cr_control_start(control), 0);
	assert_int_equal(cr_gpio_new(&config, control, events, &g), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(start_threads(g, fds[0]), 0);
	assert_true(wait_led(g, LED_RECORDING, true));
	assert_true(wait_led(g, LED_IDLE, false));
	assert_true(wait_led(g, LED_PAUSED, false));

	/* 1 click: a still; 3 while it runs: stop. */
	write_clicks(fds[1], 1);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 1), 1);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_SHOT);
	write_clicks(fds[1], 3);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 2), 2);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_STOP);
	stub_states("idle", "idle");
	cr_events_publish(events, "timelapse_stopped", json_pack("{s:s}", "camera", "camera"));
	assert_true(wait_led(g, LED_IDLE, true));
	assert_true(wait_led(g, LED_RECORDING, false));

	/* 3 with none: start; paused: the paused LED alone; 4: resume. */
	write_clicks(fds[1], 3);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 3), 3);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_START);
	stub_states("idle", "paused");
	cr_events_publish(events, "timelapse_paused", json_pack("{s:s}", "camera", "camera"));
	assert_true(wait_led(g, LED_PAUSED, true));
	assert_true(wait_led(g, LED_RECORDING, false));
	assert_true(wait_led(g, LED_IDLE, false));
	write_clicks(fds[1], 4);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 4), 4);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_RESUME);

	/* The user's 2 clicks; 5: abort. */
	write_clicks(fds[1], 2);
	assert_int_equal(wait_calls(CR_VERB_SNAPSHOT, 1), 1);
	write_clicks(fds[1], 5);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 5), 5);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_ABORT);

	/* Without a timelapse object in /status, the events decide. */
	stub_states("idle", NULL);
	cr_events_publish(events, "timelapse_aborted", json_pack("{s:s}", "camera", "camera"));
	assert_true(wait_led(g, LED_PAUSED, false));
	assert_true(wait_led(g, LED_IDLE, true));
	cr_events_publish(events, "timelapse_started", json_pack("{s:s}", "camera", "camera"));
	assert_true(wait_led(g, LED_RECORDING, true));
	assert_true(wait_led(g, LED_IDLE, false));
	write_clicks(fds[1], 3);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 6), 6);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_STOP);
	cr_events_publish(events, "timelapse_finished", json_pack("{s:s}", "camera", "camera"));
	assert_true(wait_led(g, LED_IDLE, true));
	write_clicks(fds[1], 3);
	assert_int_equal(wait_calls(CR_VERB_TIMELAPSE, 7), 7);
	assert_int_equal(stub.timelapse, CR_TIMELAPSE_START);

	cr_gpio_free(&g);
	close(fds[0]);
	close(fds[1]);
	cr_control_free(&control);
	cr_events_free(&events);
}

/* A map that does not build fails cr_gpio_new(), before anything opens. */
static void test_new_refuses_bad_map(void **state)
{
	struct cr_config_pair clicks[] = { { "3", "timelapse start; while running: timelapse stop" } };
	struct cr_gpio_config config = {
		.enabled = true, .chip = "sim", .button = 7, .active_low = true, .bias = "as-is",
		.debounce_ms = 30, .click_gap_ms = 200, .led_idle = -1, .led_recording = -1, .led_paused = -1,
		.clicks = clicks, .nclicks = 1,
	};
	struct cr_events *events = cr_events_new();
	struct cr_control *control = cr_control_new(events);
	struct cr_gpio *g = NULL;

	assert_int_equal(cr_gpio_new(&config, control, events, &g), -EINVAL);
	assert_null(g);
	cr_control_free(&control);
	cr_events_free(&events);
}

static void test_start_fails_clearly(void **state)
{
	struct cr_gpio_config config = {
		.enabled = true, .chip = "camrig-no-such-chip", .button = 3, .active_low = true, .bias = "as-is",
		.debounce_ms = 30, .click_gap_ms = 600, .led_idle = -1, .led_recording = -1, .led_paused = -1,
	};
	struct cr_events *events = cr_events_new();
	struct cr_control *control = cr_control_new(events);
	struct cr_gpio *g = NULL;

	assert_int_equal(cr_gpio_new(&config, control, events, &g), 0);
	assert_true(cr_gpio_start(g) < 0);
	cr_gpio_free(&g);
	cr_control_free(&control);
	cr_events_free(&events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_click),
		cmocka_unit_test(test_pattern_ends_after_gap),
		cmocka_unit_test(test_bounces),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_gap_boundary),
		cmocka_unit_test(test_debounce_boundary),
		cmocka_unit_test(test_long_press),
		cmocka_unit_test(test_late_advance),
		cmocka_unit_test(test_preset_recording),
		cmocka_unit_test(test_preset_timelapse),
		cmocka_unit_test(test_clicks_override),
		cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_check_names_line),
		cmocka_unit_test(test_leds_of),
		cmocka_unit_test(test_threads_simulated_line),
		cmocka_unit_test(test_threads_timelapse),
		cmocka_unit_test(test_new_refuses_bad_map),
		cmocka_unit_test(test_start_fails_clearly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
