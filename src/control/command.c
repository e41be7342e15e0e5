/* The command parser: the only place the control grammar is read (see
 * command.h for the grammar). */
#include "control/command.h"

#include "base/mem.h"
#include "base/time.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 1024
#define MAX_ARGS 8
#define MAX_DURATION_S (7 * 24 * 3600.0)

/* Arguments of the verbs, as agents (MCP tool schemas) see them; the
 * parser below reads the same words. */
static const char *const timelapse_choices[] = { "start", "pause", "resume", "stop", "abort", "shot", NULL };
/* A macro, not a const object: C allows only constant expressions in these
 * initializers (GCC takes the object as an extension, clang does not). */
#define CAMERA_ARG { "camera", CR_ARG_STRING, CR_ARG_NAMED, \
	"the camera's name (camera.name); absent: every camera", NULL, false }

static const struct cr_verb_arg start_args[] = {
	{ "duration", CR_ARG_NUMBER, CR_ARG_NAMED, "seconds to record, 0..604800; 0 or absent: until stopped", NULL,
	  false },
	CAMERA_ARG, { NULL },
};
static const struct cr_verb_arg stop_args[] = {
	{ "discard", CR_ARG_BOOLEAN, CR_ARG_WORD, "delete the file instead of keeping it", NULL, false },
	CAMERA_ARG, { NULL },
};
static const struct cr_verb_arg camera_args[] = { CAMERA_ARG, { NULL } };
static const struct cr_verb_arg no_args[] = { { NULL } };
static const struct cr_verb_arg control_args[] = {
	{ "name", CR_ARG_STRING, CR_ARG_POSITIONAL, "the control: a V4L2 control (v4l2-ctl --list-ctrls) or a GenICam "
	  "feature (ExposureTime, Gain, ...)", NULL, true },
	{ "value", CR_ARG_STRING, CR_ARG_POSITIONAL, "its value: a number, true/false, or a menu or enumeration entry",
	  NULL, true },
	CAMERA_ARG, { NULL },
};
static const struct cr_verb_arg timelapse_args[] = {
	{ "action", CR_ARG_STRING, CR_ARG_POSITIONAL, "what to do with the camera's timelapse session", timelapse_choices,
	  true },
	{ "interval", CR_ARG_NUMBER, CR_ARG_POSITIONAL, "start only: seconds between stills; absent: timelapse.interval, "
	  "0: shots on trigger only", NULL, false },
	CAMERA_ARG, { NULL },
};

static const struct {
	struct cr_verb_info info;
	unsigned min_positional, max_positional;
} verbs[CR_VERB_COUNT] = {
	[CR_VERB_START_RECORDING] = { { "start_recording", "start_recording [SECONDS] [camera=NAME]", "start_recording",
		"Start recording video (with its timestamp sidecar) on every camera or one; the reply lists the files.",
		start_args, true }, 0, 1 },
	[CR_VERB_STOP_RECORDING] = { { "stop_recording", "stop_recording [discard] [camera=NAME]", "stop_recording",
		"Stop recording and finalize the files (or delete them with discard).", stop_args, true }, 0, 1 },
	[CR_VERB_SNAPSHOT] = { { "snapshot", "snapshot [camera=NAME]", "snapshot",
		"Save a JPEG of a frame captured after the command, beside the recordings.", camera_args, true }, 0, 0 },
	[CR_VERB_STATUS] = { { "status", "status", "get_status",
		"The whole status: every camera's format, frame counts, recording and timelapse state, clients.",
		no_args, true }, 0, 0 },
	[CR_VERB_GET_STATS] = { { "get_stats", "get_stats", "get_stats",
		"Detailed counters: frames and drops per consumer, encoder, pre-trigger, LSL, upload, stream.",
		no_args, true }, 0, 0 },
	[CR_VERB_SET_CONTROL] = { { "set_control", "set_control NAME VALUE [camera=NAME]", "set_control",
		"Set a camera control live (V4L2 control or GenICam feature).", control_args, true }, 2, 2 },
	[CR_VERB_LIST_CONTROLS] = { { "list_controls", "list_controls [camera=NAME]", "list_controls",
		"The camera's controls (V4L2 controls, GenICam features, the test pattern's own): each with its type, "
		"range or menu entries and current value.", camera_args, true }, 0, 0 },
	[CR_VERB_TIMELAPSE] = { { "timelapse",
		"timelapse start [SECONDS]|pause|resume|stop|abort|shot [camera=NAME]", "timelapse",
		"Control timelapse sessions: start (optionally with an interval), pause, resume, stop (assembles the "
		"video), abort, or take one still now (shot).", timelapse_args, true }, 1, 2 },
	[CR_VERB_QUIT] = { { "quit", "quit", "quit", "Stop camrig cleanly.", no_args, false }, 0, 0 },
};

static const char *const trigger_names[] = {
	"none", "keyboard", "ntfy", "http", "gpio", "schedule", "motion", "mcp", "mqtt",
};

int cr_command_line(char *buf, size_t len, const char *head, ...)
{
	size_t n = (size_t)snprintf(buf, len, "%s", head);
	const char *name, *value;
	int ret = 0;
	va_list ap;

	va_start(ap, head);
	while ((name = va_arg(ap, const char *))) {
		value = va_arg(ap, const char *);
		if (!value)
			continue;
		if (!*value || strcspn(value, " \t\r\n=") != strlen(value)) {
			ret = -EINVAL;
			break;
		}
		n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, " %s%s%s", name, *name ? "=" : "",
				      value);
	}
	va_end(ap);
	if (ret == 0 && n >= len)
		ret = -ENAMETOOLONG;
	return ret;
}

const char *cr_verb_name(enum cr_verb verb)
{
	return verb < CR_VERB_COUNT ? verbs[verb].info.name : "?";
}

const struct cr_verb_info *cr_verb_info(enum cr_verb verb)
{
	return verb < CR_VERB_COUNT ? &verbs[verb].info : NULL;
}

const char *cr_trigger_name(enum cr_trigger trigger)
{
	return (unsigned)trigger < CR_ARRAY_SIZE(trigger_names) ? trigger_names[trigger] : "?";
}

const char *cr_command_help(void)
{
	static char help[1024];

	if (!help[0]) {
		size_t n = 0;

		for (int v = 0; v < CR_VERB_COUNT; v++)
			n += (size_t)snprintf(help + n, sizeof(help) - n, "%s\n", verbs[v].info.usage);
	}
	return help;
}

static char *verb_list(void)
{
	char list[512];
	size_t n = 0;

	for (int v = 0; v < CR_VERB_COUNT; v++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", v ? ", " : "", verbs[v].info.name);
	return cr_strdup(list);
}

#define FAIL(error, ...) (*(error) = cr_asprintf(__VA_ARGS__), -EINVAL)

static int copy_text(char *dst, const char *src, const char *verb, const char *what, char **error)
{
	if (strlen(src) >= CR_COMMAND_TEXT_MAX)
		return FAIL(error, "%s: %s is too long (expected at most %d characters)", verb, what,
			    CR_COMMAND_TEXT_MAX - 1);
	strcpy(dst, src);
	return 0;
}

static int parse_seconds(const char *verb, const char *what, const char *text, double *out, char **error)
{
	char *end;
	double d = strtod(text, &end);

	if (end == text || *end || !isfinite(d) || d < 0 || d > MAX_DURATION_S)
		return FAIL(error, "%s: %s \"%s\" is not a number of seconds (expected 0..%.0f; 0 = %s)", verb, what,
			    text, MAX_DURATION_S, strcmp(verb, "timelapse") == 0 ? "shots on trigger only"
										 : "until stopped");
	*out = d;
	return 0;
}

static const char *const timelapse_actions[] = {
	[CR_TIMELAPSE_START] = "start", [CR_TIMELAPSE_PAUSE] = "pause", [CR_TIMELAPSE_RESUME] = "resume",
	[CR_TIMELAPSE_STOP] = "stop",   [CR_TIMELAPSE_ABORT] = "abort", [CR_TIMELAPSE_SHOT] = "shot",
};

const char *cr_timelapse_action_name(enum cr_timelapse_action action)
{
	return (unsigned)action < CR_ARRAY_SIZE(timelapse_actions) ? timelapse_actions[action] : "?";
}

static int parse_timelapse(const char *const *positional, unsigned npos, struct cr_command *cmd, char **error)
{
	int action = -1;

	for (size_t i = 0; i < CR_ARRAY_SIZE(timelapse_actions); i++)
		if (strcasecmp(positional[0], timelapse_actions[i]) == 0)
			action = (int)i;
	if (action < 0)
		return FAIL(error, "timelapse: unknown action \"%s\" (expected one of: start, pause, resume, stop, "
			    "abort, shot)", positional[0]);
	cmd->timelapse = (enum cr_timelapse_action)action;
	if (npos == 2 && action != CR_TIMELAPSE_START)
		return FAIL(error, "timelapse %s: takes no value (usage: %s)", positional[0],
			    verbs[CR_VERB_TIMELAPSE].info.usage);
	if (action == CR_TIMELAPSE_START)
		cmd->duration_s = -1; /* not given: timelapse.interval */
	return npos == 2 ? parse_seconds("timelapse", "interval", positional[1], &cmd->duration_s, error) : 0;
}

int cr_command_parse(const char *line, enum cr_trigger trigger, struct cr_command *cmd, char **error)
{
	char buf[LINE_MAX_BYTES + 1], *args[MAX_ARGS], *save = NULL, *tok;
	const char *positional[MAX_ARGS];
	unsigned nargs = 0, npos = 0;
	int verb = -1, ret;

	*error = NULL;
	if (strlen(line) > LINE_MAX_BYTES)
		return FAIL(error, "command too long (expected at most %d bytes)", LINE_MAX_BYTES);
	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (nargs == MAX_ARGS)
			return FAIL(error, "%s: too many arguments (expected at most %d)", args[0], MAX_ARGS - 1);
		args[nargs++] = tok;
	}
	if (nargs == 0) {
		char *list = verb_list();

		ret = FAIL(error, "empty command (expected one of: %s)", list);
		free(list);
		return ret;
	}
	/* "/start_recording" as typed in chat apps is the same command. */
	if (args[0][0] == '/')
		args[0]++;
	for (int v = 0; v < CR_VERB_COUNT; v++)
		if (strcasecmp(args[0], verbs[v].info.name) == 0)
			verb = v;
	if (verb < 0) {
		char *list = verb_list();

		ret = FAIL(error, "unknown command \"%s\" (expected one of: %s)", args[0], list);
		free(list);
		return ret;
	}
	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = (enum cr_verb)verb;
	cmd->trigger = trigger;
	cmd->mono_ns = cr_time_mono_ns();
	cmd->utc_us = cr_time_mono_to_utc_us(cmd->mono_ns);
	for (unsigned i = 1; i < nargs; i++) {
		char *eq = strchr(args[i], '=');

		if (!eq) {
			positional[npos++] = args[i];
			continue;
		}
		*eq = '\0';
		if (strcmp(args[i], "camera") == 0 && verb != CR_VERB_STATUS && verb != CR_VERB_GET_STATS &&
		    verb != CR_VERB_QUIT) {
			ret = copy_text(cmd->camera, eq + 1, verbs[verb].info.name, "camera name", error);
		} else if (strcmp(args[i], "duration") == 0 && verb == CR_VERB_START_RECORDING) {
			ret = parse_seconds("start_recording", "duration", eq + 1, &cmd->duration_s, error);
		} else {
			*eq = '=';
			ret = FAIL(error, "%s: unknown argument \"%s\" (usage: %s)", verbs[verb].info.name, args[i],
				   verbs[verb].info.usage);
		}
		if (ret < 0)
			return ret;
	}
	if (npos < verbs[verb].min_positional || npos > verbs[verb].max_positional)
		return FAIL(error, "%s: wrong number of arguments (usage: %s)", verbs[verb].info.name, verbs[verb].info.usage);
	switch (cmd->verb) {
	case CR_VERB_START_RECORDING:
		if (npos == 1)
			return parse_seconds("start_recording", "duration", positional[0], &cmd->duration_s, error);
		return 0;
	case CR_VERB_STOP_RECORDING:
		if (npos == 1 && strcasecmp(positional[0], "discard") != 0)
			return FAIL(error, "stop_recording: unknown argument \"%s\" (usage: %s)", positional[0],
				    verbs[cmd->verb].info.usage);
		cmd->discard = npos == 1;
		return 0;
	case CR_VERB_TIMELAPSE:
		return parse_timelapse(positional, npos, cmd, error);
	case CR_VERB_SET_CONTROL:
		ret = copy_text(cmd->name, positional[0], "set_control", "control name", error);
		if (ret == 0)
			ret = copy_text(cmd->value, positional[1], "set_control", "value", error);
		return ret;
	default:
		return 0;
	}
}
