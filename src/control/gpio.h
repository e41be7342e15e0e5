/* GPIO: a push button whose click patterns run commands, and status LEDs.
 *
 * A click is a press and a release, each level held for at least
 * gpio.debounce_ms (contact bounce shorter than that is ignored). A pattern
 * ends gpio.click_gap_ms after its last release without a new press; a press
 * held CR_CLICKS_LONG_MS or longer throws the pattern away.
 *
 * The click map says which command line (control/command.h) a pattern of
 * 1..CR_GPIO_CLICKS_MAX clicks posts, trigger "gpio". It starts as the
 * preset gpio.preset and each gpio.clicks entry COUNT: RULE replaces or adds
 * one count. A rule:
 *
 *   RULE    = COMMAND { ";" "while" STATE ":" COMMAND }
 *   COMMAND = a line of the command grammar (cr_command_parse decides)
 *           | none         nothing
 *   STATE   = recording    a camera records
 *           | timelapse    a timelapse session runs or is paused
 *           | paused       a timelapse session is paused
 *
 * The command of the first `while` whose state holds runs, else the first
 * one; each state at most once in a rule. A rule "none" takes a count out of
 * the preset. Every command is checked at start-up. The presets:
 *
 *   clicks  recording (the default)                 timelapse
 *   1       snapshot                                timelapse shot
 *   3       start_recording;                        timelapse start;
 *             while recording: stop_recording         while timelapse: timelapse stop
 *   4       timelapse pause;                        timelapse pause;
 *             while paused: timelapse resume          while paused: timelapse resume
 *   5       stop_recording discard                  timelapse abort
 *   other   nothing (logged)                        nothing (logged)
 *
 * The states are what /status says (cameras[].recording.state "recording"
 * or "starting"; cameras[].timelapse.state "running" or "paused"), else what
 * the events said (recording_started / _finished; timelapse_started,
 * _resumed, _paused, _stopped, _aborted, _finished). The control answers a
 * verb without a handler in this build with "not available" (logged).
 *
 * LEDs (each optional): idle while nothing records and no timelapse session
 * runs or is paused (the live view is up), recording while a camera records
 * or a timelapse session runs (not while it is paused), paused while a
 * timelapse session is paused.
 *
 * Hardware: libgpiod 1.6 (the kernel's GPIO character device, ABI v1,
 * Documentation/userspace-api/gpio/chardev_v1.rst): the button line is
 * requested for both edges, events read as struct gpioevent_data
 * (timestamp in ns, CLOCK_MONOTONIC since Linux 5.7); LEDs as outputs.
 * libgpiod is optional at build time (CAMRIG_HAVE_GPIOD); without it
 * cr_gpio_start() fails with a message saying so. */
#ifndef CR_CONTROL_GPIO_H
#define CR_CONTROL_GPIO_H

#include "config/config.h"
#include "control/control.h"
#include "base/events.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_CLICKS_LONG_MS 1000   /* a press this long (ms) or longer cancels the pattern */

/* Click-pattern recognition, pure logic: fed with edges and the time, it
 * reports finished patterns. All times are CLOCK_MONOTONIC ns. */
struct cr_clicks {
	int64_t debounce_ns;   /* a level must hold this long to count */
	int64_t gap_ns;        /* silence after a release that ends a pattern */
	int64_t long_ns;       /* a press this long cancels the pattern */
	bool stable;           /* debounced level: true = pressed */
	bool raw;              /* level after the last edge */
	int64_t raw_ns;        /* time of the last edge */
	int64_t press_ns;      /* time of the last debounced press */
	int64_t release_ns;    /* time of the last debounced release */
	int count;             /* clicks in the pattern so far */
};

/* Starts with the button released and no pattern. */
void cr_clicks_init(struct cr_clicks *c, int64_t debounce_ns, int64_t gap_ns, int64_t long_ns);

/* Feeds an edge: the line became pressed (true) or released at t_ns.
 * Edges must come in time order; one repeating the current level is
 * ignored. Returns the click count of a pattern that had ended before t_ns
 * (>= 1), else 0. */
int cr_clicks_edge(struct cr_clicks *c, bool pressed, int64_t t_ns);

/* Lets time pass to now_ns (>= every edge fed). Returns the click count of a
 * pattern that has ended (>= 1), else 0. */
int cr_clicks_advance(struct cr_clicks *c, int64_t now_ns);

/* When cr_clicks_advance() may next report or settle something (ns), or -1
 * when only an edge can change anything. */
int64_t cr_clicks_deadline(const struct cr_clicks *c);

/* ---- the click map ---------------------------------------------------------- */

#define CR_GPIO_CLICKS_MAX 9       /* the longest pattern a rule may be given for, clicks */
#define CR_GPIO_WHILE_MAX 3        /* while clauses of one rule: one per state */
#define CR_GPIO_COMMAND_MAX 128    /* bytes of one command of a rule, with the NUL */

/* The states a rule's `while` names, as bits of a state mask; each holds when
 * it holds for any camera. */
enum cr_gpio_state {
	CR_GPIO_RECORDING = 1u << 0,   /* a camera records */
	CR_GPIO_TIMELAPSE = 1u << 1,   /* a timelapse session runs or is paused */
	CR_GPIO_PAUSED = 1u << 2,      /* a timelapse session is paused */
};

/* One count's rule, parsed. A command "" is none. */
struct cr_gpio_rule {
	char command[CR_GPIO_COMMAND_MAX];        /* when no clause's state holds */
	unsigned nwhile;                          /* clauses in when[] */
	struct {
		unsigned state;                   /* one enum cr_gpio_state bit */
		char command[CR_GPIO_COMMAND_MAX];
	} when[CR_GPIO_WHILE_MAX];                /* in the rule's order */
};

/* The click map: rules[n] for a pattern of n clicks (rules[0] is unused and
 * none). */
struct cr_gpio_map {
	struct cr_gpio_rule rules[CR_GPIO_CLICKS_MAX + 1];
};

/* Parses one rule (the grammar above; keywords and states case-insensitive,
 * spaces around ';' and ':' free). Returns 0, or -EINVAL with *why set to an
 * allocated "what is wrong (expected ...)"; rule is then undefined. */
int cr_gpio_rule_parse(const char *text, struct cr_gpio_rule *rule, char **why);

/* Builds the click map of config: the rules of config->preset (NULL:
 * "recording"), then each config->clicks entry over them. Returns 0, or
 * -EINVAL with *key (the key at fault: "gpio.preset", "gpio.clicks.3") and
 * *why (as cr_gpio_rule_parse's) allocated; the caller frees both. */
int cr_gpio_map_build(const struct cr_gpio_config *config, struct cr_gpio_map *map, char **key, char **why);

/* What cr_gpio_map_build() refuses, without keeping the map: for the
 * start-up check (cr_pipeline_check), so that a bad rule stops camrig before
 * anything starts, whether or not gpio.enabled. Same returns. */
int cr_gpio_check(const struct cr_gpio_config *config, char **key, char **why);

/* The command line for a pattern of clicks in state (a mask of enum
 * cr_gpio_state bits); NULL for none (a count without a rule, or a rule's
 * none). */
const char *cr_gpio_map_command(const struct cr_gpio_map *map, int clicks, unsigned state);

/* Whether the command for clicks depends on the state (its rule has a
 * while), i.e. whether it is worth asking "status" first. */
bool cr_gpio_map_needs_state(const struct cr_gpio_map *map, int clicks);

/* The LED lines' levels in state: idle, recording, paused (gpio.h's top). */
void cr_gpio_leds_of(unsigned state, bool *idle, bool *recording, bool *paused);

/* ---- the GPIO part ---------------------------------------------------------- */

struct cr_gpio;

/* Creates the GPIO part for config (it must outlive it); nothing is opened
 * before cr_gpio_start(). Commands go to control, LED states come from
 * events and "status". Returns 0, -EINVAL for a click map that
 * cr_gpio_check() refuses (logged), or a negative errno. */
int cr_gpio_new(const struct cr_gpio_config *config, struct cr_control *control, struct cr_events *events,
		struct cr_gpio **out);

/* Opens config->chip, requests the lines (consumer "camrig") and starts the
 * threads "gpio-button" and "gpio-leds". Returns 0, or a negative errno after
 * logging what failed with which chip and line (-ENOTSUP: built without
 * libgpiod). */
int cr_gpio_start(struct cr_gpio *gpio);

/* Stops the threads and turns the LEDs off. Idempotent. */
void cr_gpio_stop(struct cr_gpio *gpio);

/* Stops, releases the lines and frees. NULL-safe; sets *gpio to NULL. */
void cr_gpio_free(struct cr_gpio **gpio);

#ifdef __cplusplus
}
#endif

#endif
