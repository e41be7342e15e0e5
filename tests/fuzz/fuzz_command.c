/* Fuzz target: the command grammar (control/command.c), which every control
 * path feeds with text from outside (HTTP bodies, ntfy messages, the CLI,
 * MCP).
 *
 * The input, up to its first NUL byte, is one command line. Properties:
 * - cr_command_parse() returns 0 with no error, or -EINVAL with a message;
 *   every text field of the command is NUL-terminated within its array and
 *   a duration is a number of seconds in range;
 * - a command that parses is parsed again from its canonical line (verb,
 *   positionals, camera=) into the same command.
 * For cr_command_line() (the builder HTTP and the CLI use), the input split
 * at NUL bytes is a head and name/value pairs: the built line fits its
 * buffer exactly, one byte less gives -ENAMETOOLONG with a cut,
 * NUL-terminated line, and the line goes through the parser as above. */
#include "fuzz.h"

#include "base/log.h"
#include "base/mem.h"
#include "control/command.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>

#define LINE_MAX_BYTES 1024     /* command.c: the longest line parsed */
#define MAX_DURATION_S (7 * 24 * 3600.0)
#define BUILD_PAIRS 4           /* name/value pairs given to cr_command_line() */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	cr_log_set_level(CR_LOG_ERROR);
	return 0;
}

static bool terminated(const char *text, size_t size)
{
	return memchr(text, '\0', size) != NULL;
}

static void check_command(const struct cr_command *cmd)
{
	FUZZ_CHECK(cmd->verb < CR_VERB_COUNT);
	FUZZ_CHECK(cmd->trigger == CR_TRIGGER_HTTP);
	FUZZ_CHECK(terminated(cmd->camera, sizeof(cmd->camera)));
	FUZZ_CHECK(terminated(cmd->name, sizeof(cmd->name)));
	FUZZ_CHECK(terminated(cmd->value, sizeof(cmd->value)));
	/* -1: timelapse start without an interval (timelapse.interval). */
	FUZZ_CHECK((isfinite(cmd->duration_s) && cmd->duration_s >= 0 && cmd->duration_s <= MAX_DURATION_S) ||
		   (cmd->verb == CR_VERB_TIMELAPSE && cmd->timelapse == CR_TIMELAPSE_START && cmd->duration_s == -1));
	FUZZ_CHECK(cmd->discard == 0 || cmd->discard == 1);
	FUZZ_CHECK(cmd->timelapse <= CR_TIMELAPSE_SHOT);
	FUZZ_CHECK(strcmp(cr_verb_name(cmd->verb), "?") != 0);
}

/* The line that says what cmd says, in the grammar's own words. */
static void canonical_line(const struct cr_command *cmd, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s", cr_verb_name(cmd->verb));

	switch (cmd->verb) {
	case CR_VERB_START_RECORDING:
		n += (size_t)snprintf(buf + n, len - n, " duration=%.17g", cmd->duration_s);
		break;
	case CR_VERB_STOP_RECORDING:
		if (cmd->discard)
			n += (size_t)snprintf(buf + n, len - n, " discard");
		break;
	case CR_VERB_SET_CONTROL:
		n += (size_t)snprintf(buf + n, len - n, " %s %s", cmd->name, cmd->value);
		break;
	case CR_VERB_TIMELAPSE:
		n += (size_t)snprintf(buf + n, len - n, " %s", cr_timelapse_action_name(cmd->timelapse));
		if (cmd->timelapse == CR_TIMELAPSE_START && cmd->duration_s >= 0)
			n += (size_t)snprintf(buf + n, len - n, " %.17g", cmd->duration_s);
		break;
	default:
		break;
	}
	if (cmd->camera[0])
		snprintf(buf + n, len - n, " camera=%s", cmd->camera);
}

static void check_parse(const char *line)
{
	struct cr_command cmd, again;
	char *error = (char *)"unset", canon[4 * LINE_MAX_BYTES];
	int ret = cr_command_parse(line, CR_TRIGGER_HTTP, &cmd, &error);

	if (ret < 0) {
		FUZZ_CHECK(ret == -EINVAL);
		FUZZ_CHECK(error && error[0]);
		free(error);
		return;
	}
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(error == NULL);
	FUZZ_CHECK(strlen(line) <= LINE_MAX_BYTES);
	check_command(&cmd);

	canonical_line(&cmd, canon, sizeof(canon));
	if (strlen(canon) > LINE_MAX_BYTES)
		return; /* the canonical form may be longer than a short-hand line */
	ret = cr_command_parse(canon, CR_TRIGGER_HTTP, &again, &error);
	if (ret < 0)
		fprintf(stderr, "\"%s\" parsed, its canonical line \"%s\" not: %s\n", line, canon, error);
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(again.verb == cmd.verb);
	FUZZ_CHECK(strcmp(again.camera, cmd.camera) == 0);
	FUZZ_CHECK(again.duration_s == cmd.duration_s);
	FUZZ_CHECK(again.discard == cmd.discard);
	FUZZ_CHECK(cmd.verb != CR_VERB_TIMELAPSE || again.timelapse == cmd.timelapse);
	FUZZ_CHECK(strcmp(again.name, cmd.name) == 0);
	FUZZ_CHECK(strcmp(again.value, cmd.value) == 0);
}

static int build(char *buf, size_t len, const char *const *s)
{
	return cr_command_line(buf, len, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], (const char *)NULL);
}

/* The input split at NUL bytes: a head, then names and values; what is
 * missing is NULL (a NULL name ends the list, a NULL value skips a pair). */
static void check_build(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *big = malloc(8192), *exact;
	const char *s[1 + 2 * BUILD_PAIRS] = { 0 };
	size_t n = 0, len;
	int ret;

	if (!copy || !big)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t at = 0; at <= size && n < CR_ARRAY_SIZE(s); n++) {
		s[n] = copy + at;
		at += strlen(copy + at) + 1;
	}
	ret = build(big, 8192, s);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENAMETOOLONG);
	if (ret == 0) {
		len = strlen(big);
		FUZZ_CHECK(strncmp(big, s[0], strlen(s[0])) == 0);
		/* It fits a buffer of exactly its size, and not one byte less. */
		exact = malloc(len + 1);
		if (!exact)
			abort();
		FUZZ_CHECK(build(exact, len + 1, s) == 0);
		FUZZ_CHECK(strcmp(exact, big) == 0);
		if (len > 0) {
			FUZZ_CHECK(build(exact, len, s) == -ENAMETOOLONG);
			FUZZ_CHECK(strlen(exact) == len - 1 && strncmp(exact, big, len - 1) == 0);
		}
		free(exact);
		check_parse(big);
	}
	free(big);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstring(data, size);

	check_parse(line);
	free(line);
	check_build(data, size);
	return 0;
}
