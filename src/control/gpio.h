/* GPIO: a push button whose click patterns run commands, and status LEDs.
 *
 * A click is a press and a release, each level held for at least
 * gpio.debounce_ms (contact bounce shorter than that is ignored). A pattern
 * ends gpio.click_gap_ms after its last release without a new press; a press
 * held CR_CLICKS_LONG_MS or longer throws the pattern away. Patterns and the
 * command lines (control/command.h) they post, trigger "gpio":
 *
 *   1 click   snapshot
 *   3 clicks  start_recording, or stop_recording while a camera records
 *   4 clicks  timelapse pause, or timelapse resume while it is paused
 *   5 clicks  stop_recording discard (stop without keeping the file)
 *   other     nothing (logged)
 *
 * "Records" is what /status says (cameras[].recording.state "recording" or
 * "starting"), else what recording_started / recording_finished events said.
 * "Paused" is what /status says (cameras[].timelapse.state "paused"), else
 * what timelapse_paused / timelapse_resumed (and _started, _stopped,
 * _aborted, _finished) events said. The control answers a verb without a
 * handler in this build with "not available" (logged).
 *
 * LEDs (each optional): idle while camrig runs and no camera records
 * (the live view is up), recording while one does, paused while the
 * timelapse is paused.
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

/* The command line for a pattern of clicks (see the table above), given
 * whether a camera records and whether the timelapse is paused; NULL for a
 * pattern without a command. */
const char *cr_gpio_click_command(int clicks, bool recording, bool paused);

struct cr_gpio;

/* Creates the GPIO part for config (it must outlive it); nothing is opened
 * before cr_gpio_start(). Commands go to control, LED states come from
 * events. Returns 0 or a negative errno. */
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
