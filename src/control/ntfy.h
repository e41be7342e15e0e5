/* ntfy: remote control and notifications through an ntfy server
 * (https://ntfy.sh or a self-hosted one).
 *
 * camrig subscribes to one topic and runs every message on it as a command
 * of the grammar in control/command.h (trigger "ntfy"), then publishes a
 * short reply ("ok: recording started (30 s)", "error: ..."). It also
 * publishes the events worth a notification, each with a title, a priority
 * and tags (always the tag "camrig"):
 *
 *   event               title                priority        tags
 *   ready               camrig ready         priority        camrig, white_check_mark
 *   recording_started   Recording started    priority        camrig, red_circle
 *   recording_finished  Recording finished   priority        camrig, floppy_disk
 *   error               camrig error         alert_priority  camrig, warning
 *   camera_lost         Camera lost          alert_priority  camrig, rotating_light
 *   camera_found        Camera found         priority        camrig, camera
 *   motion_start        Motion               priority        camrig, eyes     (the snapshot attached)
 *   (reply)             camrig: VERB         priority        camrig, reply [, warning]
 *
 * "command" events are not published: the sender of a command gets its
 * reply, and what a command changes shows up as the events above.
 *
 * A message tagged "camrig", or whose id ntfy returned for one camrig
 * published, is never run as a command, so replies and notifications on the
 * command topic (or another camrig's) cannot loop.
 *
 * Protocol: ntfy's HTTP API (docs.ntfy.sh/subscribe/api/, /publish/):
 *   GET  SERVER/TOPIC/json?since=X  a stream of JSON objects, one per line:
 *        {"id", "time" (s), "event": "open"|"keepalive"|"message", "topic",
 *         "message", "title", "tags": [...], "priority": 1..5}; since is a
 *        message id (what came after it) or a Unix time in s (what came at
 *        or after it).
 *   POST SERVER/TOPIC  body = message text; headers Title, Priority (1..5),
 *        Tags (comma-separated); answers the stored message as JSON.
 *   PUT  SERVER/TOPIC  body = a file to attach (docs.ntfy.sh/publish/#attach-local-file),
 *        header Filename; the text in the header Message.
 *   Authorization: Bearer TOKEN on both, when a token is configured. */
#ifndef CR_CONTROL_NTFY_H
#define CR_CONTROL_NTFY_H

#include "config/config.h"
#include "control/control.h"
#include "base/events.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_ntfy;

struct cr_ntfy_stats {
	bool connected;            /* the subscription stream is open now */
	uint64_t connects;         /* streams opened (the first, then reconnects) */
	uint64_t messages_run;     /* messages run as commands */
	uint64_t messages_skipped; /* messages not run: camrig's own, repeats, overlong */
	uint64_t published;        /* replies and notifications the server accepted */
	uint64_t publish_errors;   /* publishes that failed (network, HTTP status) */
	uint64_t dropped;          /* notifications and replies dropped from full queues */
	uint64_t errors;           /* stream failures (connect, HTTP status, stall) */
};

/* Checks config (server, topic, token or token_file, which it reads now) and
 * creates the client; nothing connects before cr_ntfy_start(). control runs
 * the commands and events supplies the notifications; both must outlive the
 * client. Returns 0, or a negative errno after logging what is wrong
 * ("ntfy.token_file: /etc/x: cannot open: ..."). The token is never logged. */
int cr_ntfy_new(const struct cr_ntfy_config *config, struct cr_control *control, struct cr_events *events,
		struct cr_ntfy **out);

/* Starts the subscriber thread ("ntfy-sub": the stream, commands and their
 * replies) and the publisher thread ("ntfy-pub": notifications). Returns 0 or
 * a negative errno. */
int cr_ntfy_start(struct cr_ntfy *ntfy);

/* Stops both threads at once (transfers in flight are abandoned); the
 * counters stay readable. Idempotent. */
void cr_ntfy_stop(struct cr_ntfy *ntfy);

/* Stops (if not yet) and frees. NULL-safe; sets *ntfy to NULL. */
void cr_ntfy_free(struct cr_ntfy **ntfy);

/* A copy of the counters; thread-safe. */
void cr_ntfy_stats(struct cr_ntfy *ntfy, struct cr_ntfy_stats *stats);

/* The reply text for a command line and its JSON reply from
 * cr_control_run(): "ok: VERB ..." or "error: REASON", at most max_bytes - 1
 * bytes (UTF-8 may be cut), into buf. For tests and the subscriber. */
void cr_ntfy_reply_text(const char *line, json_t *reply, char *buf, size_t max_bytes);

#ifdef __cplusplus
}
#endif

#endif
