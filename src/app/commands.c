/* The handlers of the command grammar's verbs. Each runs on the control
 * thread (control/control.h), acts on the rigs a command addresses (its
 * camera=NAME, or every camera) and adds its results to the JSON reply;
 * commands that are triggers (start and stop a recording, a snapshot, a
 * timelapse shot) note themselves with the control, which tells the LSL
 * outlets' trigger channel. State views come from the status model. */
#include "app/commands.h"

#include "base/json.h"
#include "base/mem.h"
#include "lsl/lsl.h"
#include "record/recorder.h"
#include "record/snapshot.h"
#include "record/timelapse.h"
#include "source/camera.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The rigs a command addresses: the one it names, or all of them. Returns
 * how many were put in out, or -ENOENT with reply's "error" set. */
static int addressed(struct cr_commands *c, const struct cr_command *cmd, json_t *reply, struct cr_rig **out)
{
	int n = 0;

	for (unsigned i = 0; i < c->config->ncameras; i++)
		if (!cmd->camera[0] || strcmp(c->config->cameras[i].name, cmd->camera) == 0)
			out[n++] = &c->rigs[i];
	if (n == 0) {
		json_object_set_new(reply, "error", cr_json_sprintf("%s: no camera named \"%s\"", cr_verb_name(cmd->verb),
								    cmd->camera));
		return -ENOENT;
	}
	return n;
}

/* Sets reply's key to render's JSON of a snapshot of the status model. */
static int reply_status(struct cr_commands *c, json_t *reply, const char *key,
			json_t *(*render)(const struct cr_status *status))
{
	struct cr_status *st = cr_status_take(c->status);

	json_object_set_new(reply, key, render(st));
	cr_status_free(&st);
	return 0;
}

static int on_status(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	return reply_status(ctx, reply, "status", cr_status_json);
}

static int on_get_stats(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_commands *c = ctx;
	struct cr_status *st = cr_status_take(c->status);
	json_t *stats = cr_status_stats_json(st);

	/* Its members go at the top of the reply: {"ok", ..., "cameras", ...}. */
	json_object_update(reply, stats);
	json_decref(stats);
	cr_status_free(&st);
	return 0;
}

static int on_set_control(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_rig *rigs[CR_CONFIG_MAX_CAMERAS];
	int n = addressed(ctx, cmd, reply, rigs);

	for (int i = 0; i < n; i++) {
		char why[1024] = "";
		int ret = cr_camera_set_control(rigs[i]->camera, cmd->name, cmd->value, why, sizeof(why));

		if (ret < 0) {
			json_object_set_new(reply, "error", cr_json_sprintf("set_control %s %s: %s: %s", cmd->name,
					    cmd->value, rigs[i]->config->name, why));
			return ret == -ENOTSUP ? -EINVAL : ret == -ENODEV ? -EBUSY : ret;
		}
	}
	return n < 0 ? n : 0;
}

/* One control as list_controls describes it: {name, label, type, min, max,
 * step, default, value, read_only, inactive, items: [{index, name}]} (value
 * null when the source cannot say; booleans true/false; a float's range and
 * values as reals; a compound one's min, max, step and default null, its
 * value as text and "values": what it takes), and "device" for a control on
 * another device than the source's own (a V4L2 camera's sensor sub-device). */
static json_t *control_json(const struct cr_source_control *sc)
{
	bool is_bool = sc->type == CR_CONTROL_BOOL;
	json_t *items = json_array(), *c;

	for (unsigned i = 0; i < sc->nitems; i++)
		json_array_append_new(items, json_pack("{s:I, s:o}", "index", (json_int_t)sc->items[i].index, "name",
						       cr_json_str(sc->items[i].name)));
	if (sc->type == CR_CONTROL_FLOAT)
		c = json_pack("{s:o, s:o, s:s, s:f, s:f, s:n, s:f, s:o, s:b, s:b, s:o}", "name", cr_json_str(sc->name),
			      "label", cr_json_str(sc->label), "type", cr_control_type_name(sc->type), "min", sc->real.min,
			      "max", sc->real.max, "step", "default", sc->real.def, "value",
			      sc->has_value ? json_real(sc->real.value) : json_null(), "read_only", sc->read_only,
			      "inactive", sc->inactive, "items", items);
	else if (sc->type == CR_CONTROL_COMPOUND)
		c = json_pack("{s:o, s:o, s:s, s:n, s:n, s:n, s:n, s:o, s:b, s:b, s:o, s:o}", "name",
			      cr_json_str(sc->name), "label", cr_json_str(sc->label), "type",
			      cr_control_type_name(sc->type), "min", "max", "step", "default", "value",
			      sc->has_value ? cr_json_str(sc->text) : json_null(), "read_only", sc->read_only, "inactive",
			      sc->inactive, "items", items, "values", cr_json_str(sc->values));
	else
		c = json_pack("{s:o, s:o, s:s, s:I, s:I, s:I, s:o, s:o, s:b, s:b, s:o}", "name", cr_json_str(sc->name),
			      "label", cr_json_str(sc->label), "type", cr_control_type_name(sc->type), "min",
			      (json_int_t)sc->min, "max", (json_int_t)sc->max, "step", (json_int_t)sc->step, "default",
			      is_bool ? json_boolean(sc->def) : json_integer(sc->def), "value",
			      !sc->has_value ? json_null() : is_bool ? json_boolean(sc->value) : json_integer(sc->value),
			      "read_only", sc->read_only, "inactive", sc->inactive, "items", items);
	if (sc->device[0])
		json_object_set_new(c, "device", cr_json_str(sc->device));
	return c;
}

/* list_controls: each addressed camera's controls, {cameras: [{camera,
 * controls: [...]}]}; a camera that cannot list them (lost) has an "error"
 * instead, and fails the command when it was named. */
static int on_list_controls(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_commands *c = ctx;
	struct cr_rig *rigs[CR_CONFIG_MAX_CAMERAS];
	int n = addressed(c, cmd, reply, rigs);
	struct cr_source_control *list = cr_calloc(CR_SOURCE_MAX_CONTROLS, sizeof(*list));
	json_t *cameras = json_array();
	int err = 0;

	for (int i = 0; i < n; i++) {
		char why[512] = "";
		int count = cr_camera_list_controls(rigs[i]->camera, list, CR_SOURCE_MAX_CONTROLS, why, sizeof(why));
		json_t *cam = json_pack("{s:o}", "camera", cr_json_str(rigs[i]->config->name)), *controls = json_array();

		for (int k = 0; k < count && k < CR_SOURCE_MAX_CONTROLS; k++)
			json_array_append_new(controls, control_json(&list[k]));
		json_object_set_new(cam, "controls", controls);
		if (count < 0) {
			json_object_set_new(cam, "error", cr_json_str(why));
			if (cmd->camera[0]) {
				json_object_set_new(reply, "error", cr_json_sprintf("list_controls: %s: %s",
						    rigs[i]->config->name, why));
				err = -EBUSY;
			}
		}
		json_array_append_new(cameras, cam);
	}
	free(list);
	json_object_set_new(reply, "cameras", cameras);
	return n < 0 ? n : err;
}

/* start_recording on the addressed cameras; the reply lists the files. */
static int on_start_recording(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_commands *c = ctx;
	struct cr_rig *rigs[CR_CONFIG_MAX_CAMERAS];
	int n = addressed(c, cmd, reply, rigs);
	json_t *files;
	char msg[CR_RECORDER_PATH_MAX + 64];

	if (n < 0)
		return n;
	files = json_array();
	for (int i = 0; i < n; i++) {
		int ret = cr_recorder_start_recording(rigs[i]->recorder, cmd, msg, sizeof(msg));

		if (ret < 0) {
			json_object_set_new(reply, "error", cr_json_sprintf("start_recording: %s: %s",
					    rigs[i]->config->name, msg));
			/* The cameras before it did start: say so, and which files. */
			json_object_set_new(reply, "recording", json_boolean(i > 0));
			json_object_set_new(reply, "files", files);
			return ret;
		}
		json_array_append_new(files, cr_json_str(msg));
		cr_events_publish(c->events, "recording_started", json_pack("{s:o, s:o, s:s, s:f, s:I}", "camera",
				  cr_json_str(rigs[i]->config->name), "file", cr_json_str(msg), "trigger",
				  cr_trigger_name(cmd->trigger), "duration", cmd->duration_s, "mono_ns", (json_int_t)cmd->mono_ns));
	}
	cr_control_note_trigger(c->control, cmd);
	json_object_set_new(reply, "recording", json_true());
	json_object_set_new(reply, "duration", json_real(cmd->duration_s));
	json_object_set_new(reply, "files", files);
	return 0;
}

static bool started_by_motion(struct cr_rig *rig)
{
	struct cr_recorder_stats st;

	cr_recorder_stats(rig->recorder, &st);
	return st.recording && strcmp(st.trigger, cr_trigger_name(CR_TRIGGER_MOTION)) == 0;
}

static int on_stop_recording(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_commands *c = ctx;
	struct cr_rig *rigs[CR_CONFIG_MAX_CAMERAS];
	int n = addressed(c, cmd, reply, rigs), stopped = 0;
	json_t *files = json_array();
	char msg[CR_RECORDER_PATH_MAX + 64], reason[64];

	snprintf(reason, sizeof(reason), "%s (%s)", cmd->discard ? "discarded" : "stopped", cr_trigger_name(cmd->trigger));
	for (int i = 0; i < n; i++) {
		int ret;

		if (cmd->trigger == CR_TRIGGER_MOTION && !started_by_motion(rigs[i]))
			continue; /* motion never stops a recording it did not start */
		ret = cr_recorder_stop_recording(rigs[i]->recorder, cmd->mono_ns, reason, cmd->discard, msg, sizeof(msg));
		if (ret < 0) {
			json_object_set_new(reply, "error", cr_json_sprintf("stop_recording: %s: %s",
					    rigs[i]->config->name, msg));
			json_object_set_new(reply, "stopped", json_integer(stopped));
			json_object_set_new(reply, "files", files);
			return ret;
		}
		if (ret > 0) {
			json_array_append_new(files, cr_json_str(msg));
			stopped++;
		}
	}
	if (stopped > 0)
		cr_control_note_trigger(c->control, cmd);
	json_object_set_new(reply, "recording", json_false());
	json_object_set_new(reply, "stopped", json_integer(stopped));
	json_object_set_new(reply, "discarded", json_boolean(cmd->discard && stopped > 0));
	json_object_set_new(reply, "files", files);
	return n < 0 ? n : 0;
}

/* timelapse ACTION on the addressed cameras. Without camera=NAME the action
 * goes to every camera and succeeds when it applies to at least one (start:
 * cameras without a session; shot, pause, ...: cameras with one). The reply
 * lists each camera's timelapse state with a "message". */
static int on_timelapse(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_commands *c = ctx;
	struct cr_rig *rigs[CR_CONFIG_MAX_CAMERAS];
	int n = addressed(c, cmd, reply, rigs), done = 0, err = 0;
	char msgs[CR_CONFIG_MAX_CAMERAS][CR_TIMELAPSE_PATH_MAX + 256];
	json_t *cameras = json_array();
	struct cr_status *st;

	for (int i = 0; i < n; i++) {
		int ret = cr_timelapse_control(rigs[i]->timelapse, cmd, msgs[i], sizeof(msgs[i]));

		if (ret >= 0) {
			if (!done++)
				json_object_set_new(reply, "message", cr_json_str(msgs[i]));
		} else if (!err) {
			err = ret;
			json_object_set_new(reply, "error", cr_json_sprintf("timelapse %s: %s: %s",
					    cr_timelapse_action_name(cmd->timelapse), rigs[i]->config->name, msgs[i]));
		}
	}
	/* The state each action left, from one snapshot. */
	st = cr_status_take(c->status);
	for (int i = 0; i < n; i++) {
		json_t *t = cr_status_camera_timelapse_json(st, (unsigned)(rigs[i] - c->rigs));

		json_object_set_new(t, "message", cr_json_str(msgs[i]));
		json_array_append_new(cameras, t);
	}
	cr_status_free(&st);
	json_object_set_new(reply, "cameras", cameras);
	if (n < 0 || (err && (done == 0 || cmd->camera[0])))
		return n < 0 ? n : err;
	json_object_del(reply, "error");
	if (cmd->timelapse == CR_TIMELAPSE_SHOT)
		cr_control_note_trigger(c->control, cmd);
	return 0;
}

/* snapshot: a JPEG of each addressed camera saved beside its recordings. */
static int on_snapshot(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	struct cr_commands *c = ctx;
	struct cr_rig *rigs[CR_CONFIG_MAX_CAMERAS];
	int n = addressed(c, cmd, reply, rigs);
	json_t *files = json_array();
	char path[PATH_MAX];

	for (int i = 0; i < n; i++) {
		const struct cr_camera_config *cc = rigs[i]->config;
		int ret = cr_snapshot_save(rigs[i]->camera, rigs[i]->jpeg, &cc->recording, ++rigs[i]->snapshots, path,
					   sizeof(path));

		if (ret < 0) {
			json_object_set_new(reply, "error", cr_json_sprintf("snapshot: %s: %s", cc->name, path));
			json_decref(files);
			return ret == -ETIMEDOUT ? -EAGAIN : -EIO;
		}
		json_array_append_new(files, cr_json_str(path));
		cr_events_publish(c->events, "snapshot", json_pack("{s:o, s:o, s:s, s:I}", "camera", cr_json_str(cc->name),
				  "file", cr_json_str(path), "trigger", cr_trigger_name(cmd->trigger), "mono_ns",
				  (json_int_t)cmd->mono_ns));
	}
	if (n > 0)
		cr_control_note_trigger(c->control, cmd);
	json_object_set_new(reply, "files", files);
	return n < 0 ? n : 0;
}

static int on_quit(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	/* The main thread waits for SIGTERM and stops everything in order. */
	return kill(getpid(), SIGTERM) < 0 ? -errno : 0;
}

/* Every trigger goes into every LSL outlet's trigger channel. */
static void lsl_trigger(void *ctx, const struct cr_command *cmd)
{
	struct cr_commands *c = ctx;

	for (unsigned i = 0; i < c->config->ncameras; i++)
		if (c->rigs[i].lsl)
			cr_lsl_outlet_trigger(c->rigs[i].lsl, (int)cmd->trigger, cmd->mono_ns, cmd->utc_us);
}

void cr_commands_register(struct cr_commands *c)
{
	static const struct {
		enum cr_verb verb;
		cr_control_handler handler;
	} handlers[] = {
		{ CR_VERB_START_RECORDING, on_start_recording },
		{ CR_VERB_STOP_RECORDING, on_stop_recording },
		{ CR_VERB_SNAPSHOT, on_snapshot },
		{ CR_VERB_STATUS, on_status },
		{ CR_VERB_GET_STATS, on_get_stats },
		{ CR_VERB_SET_CONTROL, on_set_control },
		{ CR_VERB_LIST_CONTROLS, on_list_controls },
		{ CR_VERB_TIMELAPSE, on_timelapse },
		{ CR_VERB_QUIT, on_quit },
	};

	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		cr_control_on(c->control, handlers[i].verb, handlers[i].handler, c);
	cr_control_on_trigger(c->control, lsl_trigger, c);
}
