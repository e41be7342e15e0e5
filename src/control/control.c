/* The control thread and its request queue (see control.h).
 *
 * A request is shared by the submitter and the control thread and refcounted:
 * a submitter that stops waiting (timeout) drops its reference and the
 * thread finishes the command anyway. Locking: ctl->lock guards the last
 * trigger; each request's own lock guards its reply. */
#include "control/control.h"

#include "base/heartbeat.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/queue.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_DEPTH 64
#define REPLY_TIMEOUT_NS (10 * CR_NS_PER_SEC)
/* A command takes at most this long (the watchdog's bound, base/heartbeat.h):
 * the longest wait of any (a snapshot's frame, a file finalized) is seconds. */
#define COMMAND_BOUND_NS (60 * CR_NS_PER_SEC)

struct request {
	atomic_int refs;
	struct cr_command cmd;
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done;
	json_t *reply;
	bool log_result;          /* posted: nobody waits, log the outcome */
};

struct cr_control {
	struct {
		cr_control_handler fn;
		void *ctx;
	} handlers[CR_VERB_COUNT];
	struct cr_queue *queue;
	struct cr_events *events;    /* may be NULL */
	pthread_t thread;
	bool started;

	cr_control_trigger_hook trigger_hook;
	void *trigger_hook_ctx;

	pthread_mutex_t lock;
	double last_trigger_utc_s;
	enum cr_trigger last_trigger_type;
};

static struct request *request_new(const struct cr_command *cmd, bool log_result)
{
	struct request *r = CR_NEW(r);

	atomic_store(&r->refs, 2); /* submitter + control thread */
	r->cmd = *cmd;
	r->log_result = log_result;
	pthread_mutex_init(&r->lock, NULL);
	cr_time_cond_init(&r->done_cond);
	return r;
}

static void request_unref(struct request *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	json_decref(r->reply);
	pthread_cond_destroy(&r->done_cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int status_of(int err)
{
	switch (err) {
	case -EINVAL: return 400;
	case -ENOENT: return 404;
	case -EBUSY:
	case -ENOSPC: return 409; /* not possible now: busy, or the disk is below recording.min_free_mb */
	case -ENOTSUP: return 501;
	case -ETIMEDOUT:
	case -EAGAIN: return 503;
	default: return 500;
	}
}

static json_t *error_reply(int err, const char *message)
{
	return json_pack("{s:b, s:o, s:i}", "ok", 0, "error", cr_json_str(message), "status", status_of(err));
}

static void execute(struct cr_control *ctl, struct request *r)
{
	const struct cr_command *cmd = &r->cmd;
	json_t *reply = json_pack("{s:b, s:s, s:s}", "ok", 1, "command", cr_verb_name(cmd->verb), "trigger",
				  cr_trigger_name(cmd->trigger));
	int ret;

	if (!ctl->handlers[cmd->verb].fn) {
		ret = -ENOTSUP;
		json_object_set_new(reply, "error", json_sprintf("%s: not available in this build or configuration",
								 cr_verb_name(cmd->verb)));
	} else {
		ret = ctl->handlers[cmd->verb].fn(ctl->handlers[cmd->verb].ctx, cmd, reply);
	}
	if (ret < 0) {
		json_object_set_new(reply, "ok", json_false());
		json_object_set_new(reply, "status", json_integer(status_of(ret)));
		if (!json_object_get(reply, "error"))
			json_object_set_new(reply, "error", json_sprintf("%s failed", cr_verb_name(cmd->verb)));
	}
	if (ret == 0 && ctl->events && cmd->verb != CR_VERB_STATUS && cmd->verb != CR_VERB_GET_STATS)
		cr_events_publish(ctl->events, "command", json_pack("{s:s, s:s, s:o}", "command",
				  cr_verb_name(cmd->verb), "trigger", cr_trigger_name(cmd->trigger), "camera",
				  cr_json_str(cmd->camera)));
	if (r->log_result) {
		if (ret < 0)
			cr_warn("%s (from %s): %s", cr_verb_name(cmd->verb), cr_trigger_name(cmd->trigger),
				json_string_value(json_object_get(reply, "error")));
		else
			cr_info("%s (from %s): done", cr_verb_name(cmd->verb), cr_trigger_name(cmd->trigger));
	}
	pthread_mutex_lock(&r->lock);
	r->reply = reply;
	r->done = true;
	pthread_cond_broadcast(&r->done_cond);
	pthread_mutex_unlock(&r->lock);
}

static void *control_thread(void *arg)
{
	struct cr_control *ctl = arg;
	void *item;

	struct cr_heartbeat *hb = cr_heartbeat_register("control");

	pthread_setname_np(pthread_self(), "control");
	while (cr_queue_pop(ctl->queue, &item, -1) == 0) {
		cr_heartbeat_busy(hb, COMMAND_BOUND_NS);
		execute(ctl, item);
		request_unref(item);
		cr_heartbeat_idle(hb);
	}
	cr_heartbeat_unregister(&hb);
	return NULL;
}

struct cr_control *cr_control_new(struct cr_events *events)
{
	struct cr_control *ctl = CR_NEW(ctl);

	ctl->events = events;
	ctl->queue = cr_queue_new(QUEUE_DEPTH, CR_QUEUE_DROP_NEWEST);
	pthread_mutex_init(&ctl->lock, NULL);
	return ctl;
}

void cr_control_on(struct cr_control *ctl, enum cr_verb verb, cr_control_handler handler, void *ctx)
{
	ctl->handlers[verb].fn = handler;
	ctl->handlers[verb].ctx = ctx;
}

int cr_control_start(struct cr_control *ctl)
{
	int ret = -pthread_create(&ctl->thread, NULL, control_thread, ctl);

	ctl->started = ret == 0;
	return ret;
}

static void drop_request(void *item)
{
	struct request *r = item;

	pthread_mutex_lock(&r->lock);
	r->reply = error_reply(-EAGAIN, "camrig is stopping");
	r->done = true;
	pthread_cond_broadcast(&r->done_cond);
	pthread_mutex_unlock(&r->lock);
	request_unref(r);
}

void cr_control_stop(struct cr_control *ctl)
{
	cr_queue_close(ctl->queue);
	if (ctl->started)
		pthread_join(ctl->thread, NULL);
	ctl->started = false;
}

void cr_control_free(struct cr_control **pctl)
{
	struct cr_control *ctl = *pctl;

	if (!ctl)
		return;
	*pctl = NULL;
	cr_control_stop(ctl);
	cr_queue_free(&ctl->queue, drop_request);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
}

/* Queues a parsed command; returns the request (one reference for the
 * caller) or NULL with *reply set when the queue refused it. */
static struct request *submit(struct cr_control *ctl, const struct cr_command *cmd, bool log_result, json_t **reply)
{
	struct request *r = request_new(cmd, log_result);

	if (cr_queue_push(ctl->queue, r, NULL) < 0) {
		*reply = error_reply(-EAGAIN, "too many commands waiting; try again");
		request_unref(r);
		request_unref(r);
		return NULL;
	}
	return r;
}

json_t *cr_control_run(struct cr_control *ctl, const char *line, enum cr_trigger trigger)
{
	struct timespec deadline = cr_time_ts(cr_time_mono_ns() + REPLY_TIMEOUT_NS);
	struct cr_command cmd;
	struct request *r;
	json_t *reply = NULL;
	char *error = NULL;

	if (cr_command_parse(line, trigger, &cmd, &error) < 0) {
		reply = error_reply(-EINVAL, error);
		free(error);
		return reply;
	}
	r = submit(ctl, &cmd, false, &reply);
	if (!r)
		return reply;
	pthread_mutex_lock(&r->lock);
	while (!r->done && pthread_cond_timedwait(&r->done_cond, &r->lock, &deadline) == 0)
		;
	reply = r->done ? json_incref(r->reply) : error_reply(-ETIMEDOUT, "no reply within 10 s");
	pthread_mutex_unlock(&r->lock);
	request_unref(r);
	return reply;
}

int cr_control_post(struct cr_control *ctl, const char *line, enum cr_trigger trigger)
{
	return cr_control_post_at(ctl, line, trigger, 0);
}

int cr_control_post_at(struct cr_control *ctl, const char *line, enum cr_trigger trigger, int64_t mono_ns)
{
	struct cr_command cmd;
	struct request *r;
	json_t *reply = NULL;
	char *error = NULL;

	if (cr_command_parse(line, trigger, &cmd, &error) < 0) {
		cr_warn("%s (from %s): %s", line, cr_trigger_name(trigger), error);
		free(error);
		return -EINVAL;
	}
	if (mono_ns > 0) {
		cmd.mono_ns = mono_ns;
		cmd.utc_us = cr_time_mono_to_utc_us(mono_ns);
	}
	r = submit(ctl, &cmd, true, &reply);
	if (!r) {
		cr_warn("%s (from %s): %s", line, cr_trigger_name(trigger), json_string_value(json_object_get(reply, "error")));
		json_decref(reply);
		return -EAGAIN;
	}
	request_unref(r);
	return 0;
}

void cr_control_note_trigger(struct cr_control *ctl, const struct cr_command *cmd)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->last_trigger_utc_s = (double)cmd->utc_us / 1e6;
	ctl->last_trigger_type = cmd->trigger;
	pthread_mutex_unlock(&ctl->lock);
	if (ctl->trigger_hook)
		ctl->trigger_hook(ctl->trigger_hook_ctx, cmd);
}

void cr_control_on_trigger(struct cr_control *ctl, cr_control_trigger_hook hook, void *ctx)
{
	ctl->trigger_hook = hook;
	ctl->trigger_hook_ctx = ctx;
}

void cr_control_last_trigger(struct cr_control *ctl, double *utc_s, enum cr_trigger *type)
{
	pthread_mutex_lock(&ctl->lock);
	*utc_s = ctl->last_trigger_utc_s;
	*type = ctl->last_trigger_type;
	pthread_mutex_unlock(&ctl->lock);
}
