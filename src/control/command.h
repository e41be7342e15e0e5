/* The command grammar: one text language for every control path (HTTP API,
 * ntfy, keyboard, signals, GPIO, MCP, the CLI). Each path only turns what it
 * receives into a line of this grammar and says who sent it.
 *
 * Grammar (case-insensitive verbs; arguments positional or NAME=VALUE):
 *   start_recording [SECONDS] [camera=NAME]   also: start_recording duration=SECONDS
 *   stop_recording [discard] [camera=NAME]      discard: delete the file instead of keeping it
 *   snapshot [camera=NAME]
 *   status
 *   get_stats
 *   set_control NAME VALUE [camera=NAME]
 *   list_controls [camera=NAME]                each control: type, range, step, menu, default, value
 *   timelapse start [SECONDS] [camera=NAME]    SECONDS: interval; 0 or absent: the configured one
 *   timelapse pause|resume|stop|abort|shot [camera=NAME]
 *   quit
 * Anything else is refused with the list of valid commands. */
#ifndef CR_CONTROL_COMMAND_H
#define CR_CONTROL_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Who sent a command; the numbers are those of the LSL trigger_type channel. */
enum cr_trigger {
	CR_TRIGGER_NONE = 0,
	CR_TRIGGER_KEYBOARD = 1,
	CR_TRIGGER_NTFY = 2,
	CR_TRIGGER_HTTP = 3,
	CR_TRIGGER_GPIO = 4,
	CR_TRIGGER_SCHEDULE = 5,
	CR_TRIGGER_MOTION = 6,
	CR_TRIGGER_MCP = 7,
	CR_TRIGGER_MQTT = 8,
};

enum cr_verb {
	CR_VERB_START_RECORDING,
	CR_VERB_STOP_RECORDING,
	CR_VERB_SNAPSHOT,
	CR_VERB_STATUS,
	CR_VERB_GET_STATS,
	CR_VERB_SET_CONTROL,
	CR_VERB_LIST_CONTROLS,
	CR_VERB_TIMELAPSE,
	CR_VERB_QUIT,
	CR_VERB_COUNT,
};

#define CR_COMMAND_TEXT_MAX 64

enum cr_timelapse_action {
	CR_TIMELAPSE_START,
	CR_TIMELAPSE_PAUSE,
	CR_TIMELAPSE_RESUME,
	CR_TIMELAPSE_STOP,     /* stop and assemble the video */
	CR_TIMELAPSE_ABORT,    /* stop without assembling */
	CR_TIMELAPSE_SHOT,     /* take one still now */
};

struct cr_command {
	enum cr_verb verb;
	enum cr_trigger trigger;
	int64_t mono_ns;                   /* when it arrived, CLOCK_MONOTONIC ns */
	int64_t utc_us;                    /* the same, µs since the UTC epoch */
	char camera[CR_COMMAND_TEXT_MAX];  /* "" = every camera */
	double duration_s;                 /* start_recording: seconds, 0 = until stopped;
					      timelapse start: interval in seconds, 0 = shots on
					      trigger only, -1 = not given (timelapse.interval) */
	int discard;                       /* stop_recording discard: delete instead of keeping */
	enum cr_timelapse_action timelapse; /* timelapse: the action */
	char name[CR_COMMAND_TEXT_MAX];    /* set_control: the control */
	char value[CR_COMMAND_TEXT_MAX];   /* set_control: its value */
};

/* Parses one command line (at most 1024 bytes) sent by trigger, stamping the
 * arrival time. Returns 0, or -EINVAL with *error set to an allocated
 * one-line reason naming the command (and for an unknown one, the valid
 * commands). */
int cr_command_parse(const char *line, enum cr_trigger trigger, struct cr_command *cmd, char **error);

/* Writes into buf (len bytes) the command line of head (a verb, or a verb
 * and its action: "timelapse shot") and its arguments, given as pairs of a
 * name and a value, ended by a NULL name: "start_recording duration=5
 * camera=left". A NULL value leaves its pair out; an empty name writes the
 * value alone (a positional argument). The one builder of command lines for
 * paths that receive their arguments separately (HTTP, the CLI). Returns 0,
 * -EINVAL when a value is empty or not one word (a space or '=' would change
 * the line), -ENAMETOOLONG when the line does not fit. */
int cr_command_line(char *buf, size_t len, const char *head, ...) __attribute__((sentinel));

/* How a verb's argument is written in a command line. */
enum cr_arg_form {
	CR_ARG_POSITIONAL,  /* its value, in the table's order: "set_control Gain 3" */
	CR_ARG_NAMED,       /* NAME=VALUE: "camera=left", "duration=5" */
	CR_ARG_WORD,        /* a boolean: its name when true: "discard" */
};

enum cr_arg_type { CR_ARG_STRING, CR_ARG_NUMBER, CR_ARG_BOOLEAN };

/* One argument of a verb, as help texts and agents' tool schemas (MCP)
 * describe it. */
struct cr_verb_arg {
	const char *name;           /* "duration", "camera"; NULL ends a list */
	enum cr_arg_type type;
	enum cr_arg_form form;
	const char *about;          /* one line */
	const char *const *choices; /* the values there are, NULL-terminated; NULL: any */
	bool required;
};

/* A verb of the grammar: the one table the parser, the usage text and the
 * MCP tools are made from. */
struct cr_verb_info {
	const char *name;           /* as written in the grammar: "start_recording" */
	const char *usage;          /* "start_recording [SECONDS] [camera=NAME]" */
	const char *tool;           /* its MCP tool name: "start_recording", "get_status" */
	const char *about;          /* one sentence for agents */
	const struct cr_verb_arg *args; /* ended by a NULL name */
	bool agent;                 /* offered to agents (not quit) */
};

/* The verb's row of the table; NULL for CR_VERB_COUNT or beyond. */
const struct cr_verb_info *cr_verb_info(enum cr_verb verb);

/* The verb's name as written in the grammar ("start_recording"). */
const char *cr_verb_name(enum cr_verb verb);

/* "start", "pause", "resume", "stop", "abort", "shot". */
const char *cr_timelapse_action_name(enum cr_timelapse_action action);

/* "none", "keyboard", "ntfy", "http", "gpio", "schedule", "motion", "mcp", "mqtt". */
const char *cr_trigger_name(enum cr_trigger trigger);

/* The valid commands with their arguments, one per line, for help texts. */
const char *cr_command_help(void);

#ifdef __cplusplus
}
#endif

#endif
