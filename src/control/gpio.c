/* GPIO push button and status LEDs (see gpio.h for the click patterns).
 *
 * Design. Two threads:
 * - gpio-button waits in poll(2) on the button line's event fd and an
 *   eventfd that cr_gpio_free() signals, with a timeout up to the click
 *   logic's next deadline (a level to confirm, a pattern to end). Each edge
 *   (struct gpioevent_data, the kernel's GPIO ABI v1) goes into struct
 *   cr_clicks; a finished pattern becomes a command line posted to the
 *   control (cr_control_post: the thread never waits for the command). Only
 *   the 3-click toggle asks the control for "status" first, to know whether a
 *   camera records.
 * - gpio-leds takes events from its event-bus subscription and sets the
 *   LEDs; it ends when the subscription is closed. Whether a camera records
 *   comes from "status" (the recorder's own state), asked after each
 *   recording event.
 * The button's level is derived from the edge type in software (active_low
 * inverts it), so the line is requested without the active-low flag and the
 * kernel's handling of that flag for edges does not matter.
 *
 * Locking: g->lock guards the recording set and the paused flag (written by
 * gpio-leds, read by gpio-button); the clicks state belongs to gpio-button,
 * the LED lines to gpio-leds (and to cr_gpio_free() after the join). */
#include "control/gpio.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <linux/gpio.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
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

const char *cr_gpio_click_command(int clicks, bool recording, bool paused)
{
	switch (clicks) {
	case 1: return "snapshot";
	case 3: return recording ? "stop_recording" : "start_recording";
	case 4: return paused ? "timelapse resume" : "timelapse pause";
	case 5: return "stop_recording discard";
	default: return NULL;
	}
}

/* ---- the GPIO part ------------------------------------------------------- */

enum led { LED_IDLE, LED_RECORDING, LED_PAUSED, LED_COUNT };

struct cr_gpio {
	const struct cr_gpio_config *config;
	struct cr_control *control;
	struct cr_events *events;
	struct cr_event_sub *sub;
	struct cr_clicks clicks;          /* gpio-button's */
	int button_fd;                    /* edge events; -1: no button */
	int stop_fd;                      /* eventfd: gpio-button ends */
	pthread_t button_thread, led_thread;
	bool button_started, led_started;
	int led_lines[LED_COUNT];         /* line offsets, -1: none */
	int led_on[LED_COUNT];            /* last value set, -1: never */

	pthread_mutex_t lock;             /* guards the two below */
	char recording[CR_CONFIG_MAX_CAMERAS][65];  /* cameras recording, by name (<= 64 bytes); "" = free */
	bool paused;                      /* the timelapse is paused */

#ifdef CAMRIG_HAVE_GPIOD
	struct gpiod_chip *chip;
	struct gpiod_line *button;
	struct gpiod_line *leds[LED_COUNT];
#endif
};

static bool recording_by_events(struct cr_gpio *g)
{
	bool any = false;

	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < CR_CONFIG_MAX_CAMERAS; i++)
		any |= g->recording[i][0] != '\0';
	pthread_mutex_unlock(&g->lock);
	return any;
}

/* What "status" says: whether a camera records (cameras[].recording.state
 * "recording" or "starting") and whether a timelapse is paused
 * (cameras[].timelapse.state "paused"). Where /status has no such object,
 * the events seen decide. */
static void state_now(struct cr_gpio *g, bool *recording, bool *paused)
{
	json_t *reply = cr_control_run(g->control, "status", CR_TRIGGER_GPIO), *cams, *cam;
	bool rec_known = false, pause_known = false;
	size_t i;

	*recording = *paused = false;
	cams = json_object_get(json_object_get(reply, "status"), "cameras");
	json_array_foreach(cams, i, cam) {
		const char *rec = json_string_value(json_object_get(json_object_get(cam, "recording"), "state"));
		const char *tl = json_string_value(json_object_get(json_object_get(cam, "timelapse"), "state"));

		if (rec) {
			rec_known = true;
			*recording |= strcmp(rec, "recording") == 0 || strcmp(rec, "starting") == 0;
		}
		if (tl) {
			pause_known = true;
			*paused |= strcmp(tl, "paused") == 0;
		}
	}
	json_decref(reply);
	if (!rec_known)
		*recording = recording_by_events(g);
	if (!pause_known) {
		pthread_mutex_lock(&g->lock);
		*paused = g->paused;
		pthread_mutex_unlock(&g->lock);
	}
}

static bool recording_now(struct cr_gpio *g)
{
	bool recording, paused;

	state_now(g, &recording, &paused);
	return recording;
}

/* A pattern of clicks ended: post its command. */
static void on_clicks(struct cr_gpio *g, int clicks)
{
	bool recording = false, paused = false;
	const char *line;

	if (clicks == 3 || clicks == 4)
		state_now(g, &recording, &paused);
	line = cr_gpio_click_command(clicks, recording, paused);
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

/* Sets the LEDs; recording: whether a camera records. */
static void update_leds(struct cr_gpio *g, bool recording)
{
	bool paused;

	pthread_mutex_lock(&g->lock);
	paused = g->paused;
	pthread_mutex_unlock(&g->lock);
	set_led(g, LED_IDLE, !recording);
	set_led(g, LED_RECORDING, recording);
	set_led(g, LED_PAUSED, paused);
}

/* Tracks the recording set and the paused flag from one event. Returns
 * whether it was a recording event. */
static bool on_event(struct cr_gpio *g, json_t *event)
{
	bool recording_event = false;

	const char *type = json_string_value(json_object_get(event, "type"));
	const char *camera = json_string_value(json_object_get(event, "camera"));

	if (!type)
		return false;
	if (!camera)
		camera = "";
	pthread_mutex_lock(&g->lock);
	if (strcmp(type, "recording_started") == 0 || strcmp(type, "recording_finished") == 0) {
		recording_event = true;
		bool start = strcmp(type, "recording_started") == 0;
		int slot = -1;

		for (int i = 0; i < CR_CONFIG_MAX_CAMERAS; i++) {
			if (g->recording[i][0] && strcmp(g->recording[i], camera) == 0)
				slot = i;
			else if (slot < 0 && start && !g->recording[i][0])
				slot = i;
		}
		if (slot >= 0 && start)
			snprintf(g->recording[slot], sizeof(g->recording[slot]), "%s", camera);
		else if (slot >= 0 && strcmp(g->recording[slot], camera) == 0)
			g->recording[slot][0] = '\0';
	} else if (strcmp(type, "timelapse_paused") == 0) {
		g->paused = true;
	} else if (strcmp(type, "timelapse_resumed") == 0 || strcmp(type, "timelapse_started") == 0 ||
		   strcmp(type, "timelapse_stopped") == 0 || strcmp(type, "timelapse_aborted") == 0 ||
		   strcmp(type, "timelapse_finished") == 0) {
		g->paused = false;
	}
	pthread_mutex_unlock(&g->lock);
	return recording_event;
}

/* Follows the events. After a recording event the recording LED asks
 * /status, and asks again REFRESH_NS later: a recording that ends by itself
 * reports its last file before its state turns idle, and a new segment's
 * file ending does not end the recording. */
static void *led_main(void *arg)
{
	struct cr_gpio *g = arg;
	int64_t refresh_at = -1;   /* CLOCK_MONOTONIC ns; -1: none due */
	bool recording = false;
	json_t *event;

	pthread_setname_np(pthread_self(), "gpio-leds");
	update_leds(g, recording);
	for (;;) {
		int64_t now = cr_time_mono_ns();
		int ret = cr_event_sub_pop(g->sub, &event, refresh_at < 0 ? -1 : refresh_at > now ? refresh_at - now : 0);

		if (ret == -ETIMEDOUT) {
			refresh_at = -1;
			recording = recording_now(g);
		} else if (ret < 0) {
			break;
		} else {
			if (on_event(g, event)) {
				recording = recording_now(g);
				refresh_at = cr_time_mono_ns() + REFRESH_NS;
			}
			json_decref(event);
		}
		update_leds(g, recording);
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
