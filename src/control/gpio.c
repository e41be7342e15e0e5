/* GPIO push button and status LEDs (see gpio.h for the click map and its
 * rule grammar).
 *
 * Design. The click map is built once, in cr_gpio_new(), from the preset's
 * rules (written in the rule grammar, read by the same parser as the
 * user's) and gpio.clicks; each COMMAND is checked with cr_command_parse, so
 * a map that builds posts only lines the control accepts. Two threads:
 * - gpio-button waits in poll(2) on the button line's event fd and an
 *   eventfd that cr_gpio_free() signals, with a timeout up to the click
 *   logic's next deadline (a level to confirm, a pattern to end). Each edge
 *   (struct gpioevent_data, the kernel's GPIO ABI v1) goes into struct
 *   cr_clicks; a finished pattern becomes a command line posted to the
 *   control (cr_control_post: the thread never waits for the command). Only
 *   a rule with a `while` asks the control for "status" first.
 * - gpio-leds takes events from its event-bus subscription and sets the
 *   LEDs; it ends when the subscription is closed. The state comes from
 *   "status" (the recorder's and the timelapse's own), asked at its start
 *   and after each event of a recording's or a session's state.
 * The button's level is derived from the edge type in software (active_low
 * inverts it), so the line is requested without the active-low flag and the
 * kernel's handling of that flag for edges does not matter.
 *
 * Locking: g->lock guards seen[], what the events said per camera (written
 * by gpio-leds, read by both threads); the map is read-only once built; the
 * clicks state belongs to gpio-button, the LED lines to gpio-leds (and to
 * cr_gpio_free() after the join). */
#include "control/gpio.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <linux/gpio.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#ifdef CAMRIG_HAVE_GPIOD
#include <gpiod.h>
#endif

#define EVENT_DEPTH 32              /* events queued for gpio-leds */
#define REFRESH_NS CR_NS_PER_SEC    /* second look at the recording state */
#define CLOCK_SLACK_NS (10 * CR_NS_PER_SEC)  /* edge timestamps further from now are not CLOCK_MONOTONIC */

/* ---- click patterns ------------------------------------------------------ */

void cr_clicks_init(struct cr_clicks *c, int64_t debounce_ns, int64_t gap_ns, int64_t long_ns)
{
	memset(c, 0, sizeof(*c));
	c->debounce_ns = debounce_ns;
	c->gap_ns = gap_ns;
	c->long_ns = long_ns;
}

/* The debounced level changes at t_ns. Returns the count of a pattern that
 * ended before a press at t_ns, else 0. */
static int settle(struct cr_clicks *c, bool pressed, int64_t t_ns)
{
	int done = 0;

	c->stable = pressed;
	if (pressed) {
		if (c->count && t_ns - c->release_ns >= c->gap_ns) {
			done = c->count;
			c->count = 0;
		}
		c->press_ns = t_ns;
		return done;
	}
	if (t_ns - c->press_ns >= c->long_ns) {
		if (c->count)
			cr_debug("gpio: long press (%lld ms): %d click%s dropped",
				 (long long)((t_ns - c->press_ns) / CR_NS_PER_MS), c->count, c->count == 1 ? "" : "s");
		c->count = 0;
	} else {
		c->count++;
	}
	c->release_ns = t_ns;
	return 0;
}

int cr_clicks_advance(struct cr_clicks *c, int64_t now_ns)
{
	int done = 0;

	if (c->raw != c->stable && now_ns - c->raw_ns >= c->debounce_ns)
		done = settle(c, c->raw, c->raw_ns);
	/* A pattern ends gap_ns after its last release, unless a press came
	 * within the gap (even one still bouncing). */
	if (!done && !c->stable && c->count && now_ns - c->release_ns >= c->gap_ns &&
	    (c->raw == c->stable || c->raw_ns - c->release_ns >= c->gap_ns)) {
		done = c->count;
		c->count = 0;
	}
	return done;
}

int cr_clicks_edge(struct cr_clicks *c, bool pressed, int64_t t_ns)
{
	int done = cr_clicks_advance(c, t_ns);

	if (pressed != c->raw) {
		c->raw = pressed;
		c->raw_ns = t_ns;
	}
	return done;
}

int64_t cr_clicks_deadline(const struct cr_clicks *c)
{
	if (c->raw != c->stable) {
		/* a level to confirm, unless it is a press after the pattern ended */
		if (!c->stable && c->count && c->raw_ns - c->release_ns >= c->gap_ns)
			return c->release_ns + c->gap_ns;
		return c->raw_ns + c->debounce_ns;
	}
	if (!c->stable && c->count)
		return c->release_ns + c->gap_ns;
	return -1;
}

/* ---- the click map ------------------------------------------------------- */

/* The presets, written in the rule grammar and read by the one rule parser.
 * README.md's "GPIO" and data/camrig.yaml show them as a table. */
static const struct {
	const char *name;
	const char *rules[CR_GPIO_CLICKS_MAX + 1];   /* by count; NULL: none */
} presets[] = {
	{ "recording", {
		[1] = "snapshot",
		[3] = "start_recording; while recording: stop_recording",
		[4] = "timelapse pause; while paused: timelapse resume",
		[5] = "stop_recording discard",
	} },
	{ "timelapse", {
		[1] = "timelapse shot",
		[3] = "timelapse start; while timelapse: timelapse stop",
		[4] = "timelapse pause; while paused: timelapse resume",
		[5] = "timelapse abort",
	} },
};

static const struct {
	const char *name;
	unsigned state;
} states[] = {
	{ "recording", CR_GPIO_RECORDING },
	{ "timelapse", CR_GPIO_TIMELAPSE },
	{ "paused", CR_GPIO_PAUSED },
};

#define RULE_EXPECTED "COMMAND, or COMMAND; while STATE: COMMAND, or none"
#define FAIL(why, ...) (*(why) = cr_asprintf(__VA_ARGS__), -EINVAL)

static char *state_names(void)
{
	char list[128];
	size_t n = 0;

	for (size_t i = 0; i < CR_ARRAY_SIZE(states); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", states[i].name);
	return cr_strdup(list);
}

static char *preset_names(void)
{
	char list[128];
	size_t n = 0;

	for (size_t i = 0; i < CR_ARRAY_SIZE(presets); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", presets[i].name);
	return cr_strdup(list);
}

/* text without the spaces around it, in place. */
static char *trim(char *text)
{
	char *end = text + strlen(text);

	while (isspace((unsigned char)*text))
		text++;
	while (end > text && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return text;
}

/* Whether text starts with the word word (case-insensitive), followed by a
 * space, a ':' or the end. */
static bool starts_with_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	return strncasecmp(text, word, len) == 0 &&
	       (!text[len] || text[len] == ':' || isspace((unsigned char)text[len]));
}

/* One COMMAND of a rule into out: none, or a line cr_command_parse takes. */
static int parse_command(const char *text, char out[CR_GPIO_COMMAND_MAX], char **why)
{
	struct cr_command cmd;
	char *error;

	if (!*text)
		return FAIL(why, "an empty command (expected a command line, or none)");
	if (strcasecmp(text, "none") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(text) >= CR_GPIO_COMMAND_MAX)
		return FAIL(why, "the command \"%.20s...\" is too long (expected at most %d characters)", text,
			    CR_GPIO_COMMAND_MAX - 1);
	if (cr_command_parse(text, CR_TRIGGER_GPIO, &cmd, &error) < 0) {
		*why = cr_asprintf("\"%s\": %s", text, error);
		free(error);
		return -EINVAL;
	}
	strcpy(out, text);
	return 0;
}

/* One "while STATE: COMMAND" clause (text starts with "while"). */
static int parse_while(char *text, struct cr_gpio_rule *rule, char **why)
{
	char *colon = strchr(text, ':'), *state, *list;
	unsigned bit = 0;

	if (!colon)
		return FAIL(why, "\"%s\" has no ':' (expected while STATE: COMMAND)", text);
	*colon = '\0';
	state = trim(text + strlen("while"));
	if (!*state)
		return FAIL(why, "no state after \"while\" (expected while STATE: COMMAND)");
	for (size_t i = 0; i < CR_ARRAY_SIZE(states); i++)
		if (strcasecmp(state, states[i].name) == 0)
			bit = states[i].state;
	if (!bit) {
		int ret;

		list = state_names();
		ret = FAIL(why, "unknown state \"%s\" (expected one of: %s)", state, list);
		free(list);
		return ret;
	}
	for (unsigned i = 0; i < rule->nwhile; i++)
		if (rule->when[i].state == bit)
			return FAIL(why, "\"while %s\" twice (expected each state once)", state);
	assert(rule->nwhile < CR_GPIO_WHILE_MAX);   /* one clause per state */
	rule->when[rule->nwhile].state = bit;
	return parse_command(trim(colon + 1), rule->when[rule->nwhile++].command, why);
}

int cr_gpio_rule_parse(const char *text, struct cr_gpio_rule *rule, char **why)
{
	char *copy = cr_strdup(text), *rest = copy, *clause;
	int ret = 0;

	*why = NULL;
	memset(rule, 0, sizeof(*rule));
	for (unsigned i = 0; ret == 0 && rest; i++) {
		clause = rest;
		rest = strchr(rest, ';');
		if (rest)
			*rest++ = '\0';
		clause = trim(clause);
		if (i == 0 && !*clause && !rest)
			ret = FAIL(why, "no rule (expected " RULE_EXPECTED ")");
		else if (i == 0 && starts_with_word(clause, "while"))
			ret = FAIL(why, "the rule starts with \"while\" (expected a command first, e.g. none; %s)",
				   clause);
		else if (i == 0)
			ret = parse_command(clause, rule->command, why);
		else if (!*clause)
			ret = FAIL(why, "nothing after ';' (expected while STATE: COMMAND)");
		else if (!starts_with_word(clause, "while"))
			ret = FAIL(why, "\"%s\" after ';' (expected while STATE: COMMAND)", clause);
		else
			ret = parse_while(clause, rule, why);
	}
	free(copy);
	return ret;
}

int cr_gpio_map_build(const struct cr_gpio_config *config, struct cr_gpio_map *map, char **key, char **why)
{
	const char *name = config->preset ? config->preset : "recording";
	int preset = -1, ret;

	*key = *why = NULL;
	for (size_t i = 0; i < CR_ARRAY_SIZE(presets); i++)
		if (strcmp(name, presets[i].name) == 0)
			preset = (int)i;
	if (preset < 0) {
		char *list = preset_names();

		*key = cr_strdup("gpio.preset");
		ret = FAIL(why, "unknown preset \"%s\" (expected one of: %s)", name, list);
		free(list);
		return ret;
	}
	memset(map, 0, sizeof(*map));
	for (int n = 1; n <= CR_GPIO_CLICKS_MAX; n++) {
		if (!presets[preset].rules[n])
			continue;
		ret = cr_gpio_rule_parse(presets[preset].rules[n], &map->rules[n], why);
		assert(ret == 0);   /* the presets are ours */
	}
	for (unsigned i = 0; i < config->nclicks; i++) {
		const char *count = config->clicks[i].name;
		int n = count[0] >= '1' && count[0] <= '0' + CR_GPIO_CLICKS_MAX && !count[1] ? count[0] - '0' : 0;

		*key = cr_asprintf("gpio.clicks.%s", count);
		if (!n)
			return FAIL(why, "not a number of clicks (expected 1..%d)", CR_GPIO_CLICKS_MAX);
		ret = cr_gpio_rule_parse(config->clicks[i].value, &map->rules[n], why);
		if (ret < 0)
			return ret;
		free(*key);
		*key = NULL;
	}
	return 0;
}

int cr_gpio_check(const struct cr_gpio_config *config, char **key, char **why)
{
	struct cr_gpio_map *map = cr_malloc(sizeof(*map));
	int ret = cr_gpio_map_build(config, map, key, why);

	free(map);
	return ret;
}

const char *cr_gpio_map_command(const struct cr_gpio_map *map, int clicks, unsigned state)
{
	const struct cr_gpio_rule *rule;
	const char *line;

	if (clicks < 1 || clicks > CR_GPIO_CLICKS_MAX)
		return NULL;
	rule = &map->rules[clicks];
	line = rule->command;
	for (unsigned i = 0; i < rule->nwhile; i++) {
		if (state & rule->when[i].state) {
			line = rule->when[i].command;
			break;
		}
	}
	return *line ? line : NULL;
}

bool cr_gpio_map_needs_state(const struct cr_gpio_map *map, int clicks)
{
	return clicks >= 1 && clicks <= CR_GPIO_CLICKS_MAX && map->rules[clicks].nwhile > 0;
}

void cr_gpio_leds_of(unsigned state, bool *idle, bool *recording, bool *paused)
{
	*idle = !(state & (CR_GPIO_RECORDING | CR_GPIO_TIMELAPSE));
	*recording = (state & CR_GPIO_RECORDING) || ((state & CR_GPIO_TIMELAPSE) && !(state & CR_GPIO_PAUSED));
	*paused = state & CR_GPIO_PAUSED;
}

/* ---- the GPIO part ------------------------------------------------------- */

enum led { LED_IDLE, LED_RECORDING, LED_PAUSED, LED_COUNT };

/* What the events said of one camera, for when /status has no word on it. */
struct seen {
	bool used;                        /* this slot holds a camera */
	char camera[65];                  /* its name (<= 64 bytes); "": an event without one */
	bool recording;                   /* recording_started, not yet _finished */
	bool timelapse;                   /* timelapse_started or _resumed, not yet stopped */
	bool paused;                      /* timelapse_paused, not yet resumed or stopped */
};

struct cr_gpio {
	const struct cr_gpio_config *config;
	struct cr_control *control;
	struct cr_events *events;
	struct cr_event_sub *sub;
	struct cr_gpio_map map;           /* read-only after cr_gpio_new() */
	struct cr_clicks clicks;          /* gpio-button's */
	int button_fd;                    /* edge events; -1: no button */
	int stop_fd;                      /* eventfd: gpio-button ends */
	pthread_t button_thread, led_thread;
	bool button_started, led_started;
	int led_lines[LED_COUNT];         /* line offsets, -1: none */
	int led_on[LED_COUNT];            /* last value set, -1: never */

	pthread_mutex_t lock;             /* guards seen[] */
	struct seen seen[CR_CONFIG_MAX_CAMERAS];

#ifdef CAMRIG_HAVE_GPIOD
	struct gpiod_chip *chip;
	struct gpiod_line *button;
	struct gpiod_line *leds[LED_COUNT];
#endif
};

/* The state mask the events say, the bits of mask only. */
static unsigned state_by_events(struct cr_gpio *g, unsigned mask)
{
	unsigned state = 0;

	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < CR_CONFIG_MAX_CAMERAS; i++) {
		const struct seen *s = &g->seen[i];

		if (!s->used)
			continue;
		state |= (s->recording ? CR_GPIO_RECORDING : 0) | (s->timelapse ? CR_GPIO_TIMELAPSE : 0) |
			 (s->paused ? CR_GPIO_PAUSED | CR_GPIO_TIMELAPSE : 0);
	}
	pthread_mutex_unlock(&g->lock);
	return state & mask;
}

/* What "status" says, as a mask of enum cr_gpio_state: a camera records
 * (cameras[].recording.state "recording" or "starting"), a timelapse session
 * runs or is paused (cameras[].timelapse.state "running" or "paused"). Where
 * /status has no such object, the events seen decide. */
static unsigned state_now(struct cr_gpio *g)
{
	json_t *reply = cr_control_run(g->control, "status", CR_TRIGGER_GPIO), *cams, *cam;
	unsigned state = 0, known = 0;
	size_t i;

	cams = json_object_get(json_object_get(reply, "status"), "cameras");
	json_array_foreach(cams, i, cam) {
		const char *rec = json_string_value(json_object_get(json_object_get(cam, "recording"), "state"));
		const char *tl = json_string_value(json_object_get(json_object_get(cam, "timelapse"), "state"));

		if (rec) {
			known |= CR_GPIO_RECORDING;
			if (strcmp(rec, "recording") == 0 || strcmp(rec, "starting") == 0)
				state |= CR_GPIO_RECORDING;
		}
		if (tl) {
			known |= CR_GPIO_TIMELAPSE | CR_GPIO_PAUSED;
			if (strcmp(tl, "running") == 0)
				state |= CR_GPIO_TIMELAPSE;
			else if (strcmp(tl, "paused") == 0)
				state |= CR_GPIO_TIMELAPSE | CR_GPIO_PAUSED;
		}
	}
	json_decref(reply);
	return state | state_by_events(g, ~known);
}

/* A pattern of clicks ended: post its command. */
static void on_clicks(struct cr_gpio *g, int clicks)
{
	unsigned state = cr_gpio_map_needs_state(&g->map, clicks) ? state_now(g) : 0;
	const char *line = cr_gpio_map_command(&g->map, clicks, state);

	if (!line) {
		cr_info("gpio: %d click%s: no command for that pattern", clicks, clicks == 1 ? "" : "s");
		return;
	}
	cr_info("gpio: %d click%s: %s", clicks, clicks == 1 ? "" : "s", line);
	cr_control_post(g->control, line, CR_TRIGGER_GPIO);
}

static void set_led(struct cr_gpio *g, enum led led, bool on)
{
	if (g->led_lines[led] < 0 || g->led_on[led] == (int)on)
		return;
	g->led_on[led] = on;
#ifdef CAMRIG_HAVE_GPIOD
	if (g->leds[led] && gpiod_line_set_value(g->leds[led], on) < 0)
		cr_warn("gpio: %s line %d: cannot set the LED: %s", g->config->chip, g->led_lines[led], strerror(errno));
#endif
}

static void update_leds(struct cr_gpio *g, unsigned state)
{
	bool idle, recording, paused;

	cr_gpio_leds_of(state, &idle, &recording, &paused);
	set_led(g, LED_IDLE, idle);
	set_led(g, LED_RECORDING, recording);
	set_led(g, LED_PAUSED, paused);
}

/* Tracks what one event says of its camera. Returns whether it was an event
 * of a recording's or a timelapse session's state. */
static bool on_event(struct cr_gpio *g, json_t *event)
{
	static const struct {
		const char *type;
		int recording, timelapse, paused;   /* the new value; -1: unchanged */
	} changes[] = {
		{ "recording_started", 1, -1, -1 },  { "recording_finished", 0, -1, -1 },
		{ "timelapse_started", -1, 1, 0 },   { "timelapse_resumed", -1, 1, 0 },
		{ "timelapse_paused", -1, 1, 1 },    { "timelapse_stopped", -1, 0, 0 },
		{ "timelapse_aborted", -1, 0, 0 },   { "timelapse_finished", -1, 0, 0 },
	};
	const char *type = json_string_value(json_object_get(event, "type"));
	const char *camera = json_string_value(json_object_get(event, "camera"));
	struct seen *s = NULL;
	size_t c;

	for (c = 0; type && c < CR_ARRAY_SIZE(changes) && strcmp(type, changes[c].type) != 0; c++)
		;
	if (!type || c == CR_ARRAY_SIZE(changes))
		return false;
	if (!camera)
		camera = "";
	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < CR_CONFIG_MAX_CAMERAS && !s; i++)
		if (g->seen[i].used && strcmp(g->seen[i].camera, camera) == 0)
			s = &g->seen[i];
	for (unsigned i = 0; i < CR_CONFIG_MAX_CAMERAS && !s; i++) {
		if (!g->seen[i].used) {
			s = &g->seen[i];
			s->used = true;
			snprintf(s->camera, sizeof(s->camera), "%s", camera);
		}
	}
	if (s) {
		if (changes[c].recording >= 0)
			s->recording = changes[c].recording;
		if (changes[c].timelapse >= 0)
			s->timelapse = changes[c].timelapse;
		if (changes[c].paused >= 0)
			s->paused = changes[c].paused;
	}
	pthread_mutex_unlock(&g->lock);
	return true;
}

/* Follows the events. It starts from "status" (a timelapse session resumed
 * at start-up began before GPIO subscribed), asks it after every event of a
 * recording's or a session's state and again REFRESH_NS later: a recording
 * that ends by itself reports its last file before its state turns idle,
 * and a new segment's file ending does not end the recording. */
static void *led_main(void *arg)
{
	struct cr_gpio *g = arg;
	int64_t refresh_at = -1;   /* CLOCK_MONOTONIC ns; -1: none due */
	unsigned state;
	json_t *event;

	pthread_setname_np(pthread_self(), "gpio-leds");
	state = state_now(g);
	update_leds(g, state);
	for (;;) {
		int64_t now = cr_time_mono_ns();
		int ret = cr_event_sub_pop(g->sub, &event, refresh_at < 0 ? -1 : refresh_at > now ? refresh_at - now : 0);

		if (ret == -ETIMEDOUT) {
			refresh_at = -1;
			state = state_now(g);
		} else if (ret < 0) {
			break;
		} else {
			if (on_event(g, event)) {
				state = state_now(g);
				refresh_at = cr_time_mono_ns() + REFRESH_NS;
			}
			json_decref(event);
		}
		update_leds(g, state);
	}
	return NULL;
}

/* An edge's time: the kernel's timestamp when it is CLOCK_MONOTONIC (Linux
 * >= 5.7), else now. */
static int64_t edge_time(uint64_t timestamp_ns, int64_t now_ns)
{
	int64_t t = (int64_t)timestamp_ns;

	return t <= now_ns && now_ns - t < CLOCK_SLACK_NS ? t : now_ns;
}

/* Reads one edge from the button fd and feeds it. Returns 0, or a negative
 * errno when the fd failed. */
static int read_edge(struct cr_gpio *g)
{
	struct gpioevent_data ev;
	ssize_t n = read(g->button_fd, &ev, sizeof(ev));
	int64_t now = cr_time_mono_ns();
	bool pressed;
	int clicks;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n != (ssize_t)sizeof(ev))
		return -EIO;
	pressed = (ev.id == GPIOEVENT_EVENT_RISING_EDGE) != g->config->active_low;
	clicks = cr_clicks_edge(&g->clicks, pressed, edge_time(ev.timestamp, now));
	if (clicks)
		on_clicks(g, clicks);
	return 0;
}

static void *button_main(void *arg)
{
	struct cr_gpio *g = arg;
	struct pollfd fds[2] = { { .fd = g->stop_fd, .events = POLLIN }, { .fd = g->button_fd, .events = POLLIN } };

	pthread_setname_np(pthread_self(), "gpio-button");
	for (;;) {
		int64_t deadline = cr_clicks_deadline(&g->clicks), now = cr_time_mono_ns();
		int timeout = deadline < 0 ? -1 : deadline <= now ? 0 : (int)((deadline - now + CR_NS_PER_MS - 1) / CR_NS_PER_MS);
		int clicks, ret = poll(fds, 2, timeout);

		if (ret < 0 && errno != EINTR) {
			cr_err("gpio: waiting for the button: %s", strerror(errno));
			break;
		}
		if (fds[0].revents)
			break;
		if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL) && !(fds[1].revents & POLLIN)) {
			cr_err("gpio: %s line %d: the button's events ended", g->config->chip, g->config->button);
			break;
		}
		if (fds[1].revents & POLLIN) {
			/* Every queued edge first: advancing to now with one still
			 * queued would end its pattern too early. */
			do
				ret = read_edge(g);
			while (ret == 0 && poll(&fds[1], 1, 0) == 1 && fds[1].revents & POLLIN);
			if (ret < 0) {
				cr_err("gpio: %s line %d: cannot read the button: %s", g->config->chip, g->config->button,
				       cr_strerror(ret));
				break;
			}
		}
		clicks = cr_clicks_advance(&g->clicks, cr_time_mono_ns());
		if (clicks)
			on_clicks(g, clicks);
	}
	return NULL;
}

int cr_gpio_new(const struct cr_gpio_config *config, struct cr_control *control, struct cr_events *events,
		struct cr_gpio **out)
{
	struct cr_gpio *g = CR_NEW(g);
	char *key, *why;

	g->config = config;
	g->control = control;
	g->events = events;
	g->button_fd = -1;
	g->led_lines[LED_IDLE] = config->led_idle;
	g->led_lines[LED_RECORDING] = config->led_recording;
	g->led_lines[LED_PAUSED] = config->led_paused;
	for (int i = 0; i < LED_COUNT; i++)
		g->led_on[i] = -1;
	pthread_mutex_init(&g->lock, NULL);
	g->stop_fd = -1;
	if (cr_gpio_map_build(config, &g->map, &key, &why) < 0) {
		cr_err("gpio: %s: %s", key, why);
		free(key);
		free(why);
		cr_gpio_free(&g);
		return -EINVAL;
	}
	cr_clicks_init(&g->clicks, (int64_t)config->debounce_ms * CR_NS_PER_MS,
		       (int64_t)config->click_gap_ms * CR_NS_PER_MS, CR_CLICKS_LONG_MS * CR_NS_PER_MS);
	g->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (g->stop_fd < 0) {
		int ret = -errno;

		cr_gpio_free(&g);
		return cr_log_ret(ret, CR_LOG_ERROR, "gpio: eventfd: %s", cr_strerror(ret));
	}
	*out = g;
	return 0;
}

/* Starts the threads on an open button fd (or -1) and the LED lines. Also
 * what tests/unit/test_gpio.c starts on a pipe, with or without libgpiod. */
__attribute__((unused)) static int start_threads(struct cr_gpio *g, int button_fd)
{
	int ret = 0;

	g->button_fd = button_fd;
	if (g->led_lines[LED_IDLE] >= 0 || g->led_lines[LED_RECORDING] >= 0 || g->led_lines[LED_PAUSED] >= 0) {
		g->sub = cr_events_subscribe(g->events, EVENT_DEPTH);
		ret = -pthread_create(&g->led_thread, NULL, led_main, g);
		g->led_started = ret == 0;
	}
	if (ret == 0 && button_fd >= 0) {
		ret = -pthread_create(&g->button_thread, NULL, button_main, g);
		g->button_started = ret == 0;
	}
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "gpio: cannot start a thread: %s", cr_strerror(ret));
	return 0;
}

#ifdef CAMRIG_HAVE_GPIOD
static int request_lines(struct cr_gpio *g)
{
	const struct cr_gpio_config *cfg = g->config;
	static const char *const led_names[] = { "leds.idle", "leds.recording", "leds.paused" };
	int flags = 0, ret;

	g->chip = gpiod_chip_open_lookup(cfg->chip);
	if (!g->chip) {
		ret = -errno;
		return cr_log_ret(ret, CR_LOG_ERROR, "gpio.chip: %s: cannot open: %s (expected a chip that gpiodetect "
				  "lists)", cfg->chip, cr_strerror(ret));
	}
	if (strcmp(cfg->bias, "pull-up") == 0)
		flags = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
	else if (strcmp(cfg->bias, "pull-down") == 0)
		flags = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
	else if (strcmp(cfg->bias, "disable") == 0)
		flags = GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
	if (cfg->button >= 0) {
		g->button = gpiod_chip_get_line(g->chip, (unsigned)cfg->button);
		if (!g->button || gpiod_line_request_both_edges_events_flags(g->button, "camrig", flags) < 0) {
			ret = -errno;
			g->button = NULL;
			return cr_log_ret(ret, CR_LOG_ERROR, "gpio.button: %s line %d: cannot watch it: %s (is it in use? "
					  "see gpioinfo)", cfg->chip, cfg->button, cr_strerror(ret));
		}
	}
	for (int i = 0; i < LED_COUNT; i++) {
		if (g->led_lines[i] < 0)
			continue;
		g->leds[i] = gpiod_chip_get_line(g->chip, (unsigned)g->led_lines[i]);
		if (!g->leds[i] || gpiod_line_request_output(g->leds[i], "camrig", 0) < 0) {
			ret = -errno;
			g->leds[i] = NULL;
			return cr_log_ret(ret, CR_LOG_ERROR, "gpio.%s: %s line %d: cannot drive it: %s (is it in use? see "
					  "gpioinfo)", led_names[i], cfg->chip, g->led_lines[i], cr_strerror(ret));
		}
	}
	return 0;
}
#endif

int cr_gpio_start(struct cr_gpio *g)
{
#ifdef CAMRIG_HAVE_GPIOD
	int ret = request_lines(g);

	if (ret < 0)
		return ret;
	ret = start_threads(g, g->button ? gpiod_line_event_get_fd(g->button) : -1);
	if (ret == 0)
		cr_info("gpio: %s: button on line %d, LEDs on lines %d/%d/%d (idle/recording/paused)", g->config->chip,
			g->config->button, g->led_lines[LED_IDLE], g->led_lines[LED_RECORDING], g->led_lines[LED_PAUSED]);
	return ret;
#else
	return cr_log_ret(-ENOTSUP, CR_LOG_ERROR, "gpio.enabled: this camrig was built without libgpiod (install "
			  "libgpiod-dev and rebuild, or set gpio.enabled: false)");
#endif
}

void cr_gpio_stop(struct cr_gpio *g)
{
	if (g->button_started) {
		uint64_t one = 1;

		if (write(g->stop_fd, &one, sizeof(one)) < 0)
			cr_err("gpio: cannot stop the button thread: %s", strerror(errno));
		pthread_join(g->button_thread, NULL);
		g->button_started = false;
	}
	if (g->sub)
		cr_event_sub_close(g->sub);
	if (g->led_started)
		pthread_join(g->led_thread, NULL);
	g->led_started = false;
	cr_events_unsubscribe(g->events, &g->sub);
	for (int i = 0; i < LED_COUNT; i++)
		set_led(g, (enum led)i, false);
}

void cr_gpio_free(struct cr_gpio **pg)
{
	struct cr_gpio *g = *pg;

	if (!g)
		return;
	*pg = NULL;
	cr_gpio_stop(g);
#ifdef CAMRIG_HAVE_GPIOD
	for (int i = 0; i < LED_COUNT; i++)
		if (g->leds[i])
			gpiod_line_release(g->leds[i]);
	if (g->button)
		gpiod_line_release(g->button);
	if (g->chip)
		gpiod_chip_close(g->chip);
#endif
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
