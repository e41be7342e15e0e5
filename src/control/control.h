/* The control thread: every command, from whatever path, runs here one at a
 * time, so state changes (recording on/off, controls) never race.
 *
 * Paths submit a command line with its trigger and either wait for the JSON
 * reply (HTTP, MCP, the CLI) or post it and move on (signals, keyboard,
 * GPIO). The parts that act on commands (recorder, cameras) register one
 * handler per verb; pipeline.c does the registering. The latest trigger (a
 * recording started or stopped, a snapshot) is kept for the LSL outlet's
 * trigger channels. */
#ifndef CR_CONTROL_CONTROL_H
#define CR_CONTROL_CONTROL_H

#include "control/command.h"
#include "base/events.h"

#include <jansson.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_control;

/* Runs on the control thread. Adds its results to reply (a JSON object that
 * already has "command" and "trigger"). Returns 0, or a negative errno after
 * setting reply's "error" to a one-line reason: -ENOENT (no such camera or
 * control), -EINVAL (bad value), -EBUSY (not possible in this state), -ENOSPC
 * (not enough disk space), others for failures. */
typedef int (*cr_control_handler)(void *ctx, const struct cr_command *cmd, json_t *reply);

/* Creates the control; every command that succeeds is published to events
 * (may be NULL) as a "command" event. */
struct cr_control *cr_control_new(struct cr_events *events);

/* Refuses new commands, runs the queued ones and joins the thread.
 * Idempotent. */
void cr_control_stop(struct cr_control *ctl);

/* Stops and frees; commands still queued are answered with an error.
 * NULL-safe; sets *ctl to NULL. */
void cr_control_free(struct cr_control **ctl);

/* Sets the handler of verb; call before cr_control_start(). A verb without
 * one answers "not available". */
void cr_control_on(struct cr_control *ctl, enum cr_verb verb, cr_control_handler handler, void *ctx);

/* Starts the control thread. Returns 0 or a negative errno. */
int cr_control_start(struct cr_control *ctl);

/* Parses line, runs it on the control thread and waits up to 10 s for the
 * reply. Always returns a new JSON object the caller owns:
 *   {"ok": true, "command": ..., "trigger": ..., ...handler's fields}
 *   {"ok": false, "error": "...", "status": 400|404|409|500|503}
 * "status" is the HTTP status that fits the failure. */
json_t *cr_control_run(struct cr_control *ctl, const char *line, enum cr_trigger trigger);

/* Parses line and queues it without waiting; a parse error or a failure is
 * logged. For signals, the keyboard and GPIO. Returns 0 or -EINVAL. */
int cr_control_post(struct cr_control *ctl, const char *line, enum cr_trigger trigger);

/* cr_control_post() for a command that happened at mono_ns (CLOCK_MONOTONIC
 * ns, e.g. the capture time of the frame that showed motion) rather than
 * when it arrives: the command's time, and so a recording's trigger and
 * pre-trigger or the stop time, is that one. */
int cr_control_post_at(struct cr_control *ctl, const char *line, enum cr_trigger trigger, int64_t mono_ns);

/* The latest trigger: UTC seconds (0 before any) and the trigger type. */
void cr_control_last_trigger(struct cr_control *ctl, double *utc_s, enum cr_trigger *type);

/* Marks cmd as the latest trigger (handlers of start/stop/snapshot call it)
 * and tells the trigger hook. */
void cr_control_note_trigger(struct cr_control *ctl, const struct cr_command *cmd);

/* Called on the control thread for every trigger noted (the LSL outlets'
 * trigger channels). Set before cr_control_start(). */
typedef void (*cr_control_trigger_hook)(void *ctx, const struct cr_command *cmd);
void cr_control_on_trigger(struct cr_control *ctl, cr_control_trigger_hook hook, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
