/* The command grammar: every verb with its arguments, both duration forms,
 * camera=, case and a leading '/', and the errors (unknown command naming the
 * valid ones, bad or extra arguments, over-long input). */
#include "control/command.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static struct cr_command parse_ok(const char *line)
{
	struct cr_command cmd;
	char *error = NULL;

	if (cr_command_parse(line, CR_TRIGGER_HTTP, &cmd, &error) != 0)
		fail_msg("\"%s\" was refused: %s", line, error);
	assert_null(error);
	return cmd;
}

static char *parse_error(const char *line)
{
	struct cr_command cmd;
	char *error = NULL;

	assert_int_equal(cr_command_parse(line, CR_TRIGGER_NTFY, &cmd, &error), -EINVAL);
	assert_non_null(error);
	return error;
}

static void test_verbs(void **state)
{
	struct cr_command c = parse_ok("start_recording");

	assert_int_equal(c.verb, CR_VERB_START_RECORDING);
	assert_int_equal(c.trigger, CR_TRIGGER_HTTP);
	assert_true(c.duration_s == 0);
	assert_true(c.mono_ns > 0 && c.utc_us > 0);
	c = parse_ok("start_recording 12.5");
	assert_true(c.duration_s == 12.5);
	c = parse_ok("  START_RECORDING   duration=30 camera=front\n");
	assert_true(c.duration_s == 30);
	assert_string_equal(c.camera, "front");
	c = parse_ok("/stop_recording");
	assert_int_equal(c.verb, CR_VERB_STOP_RECORDING);
	assert_string_equal(c.camera, "");
	assert_int_equal(parse_ok("snapshot").verb, CR_VERB_SNAPSHOT);
	assert_int_equal(parse_ok("status").verb, CR_VERB_STATUS);
	assert_int_equal(parse_ok("get_stats").verb, CR_VERB_GET_STATS);
	assert_int_equal(parse_ok("quit").verb, CR_VERB_QUIT);
	c = parse_ok("stop_recording discard");
	assert_true(c.discard);
	assert_false(parse_ok("stop_recording").discard);
	c = parse_ok("timelapse start 5 camera=printer");
	assert_int_equal(c.verb, CR_VERB_TIMELAPSE);
	assert_int_equal(c.timelapse, CR_TIMELAPSE_START);
	assert_true(c.duration_s == 5);
	assert_string_equal(c.camera, "printer");
	/* 0 is "shots on trigger only", not "not given". */
	assert_true(parse_ok("timelapse start 0").duration_s == 0);
	assert_true(parse_ok("timelapse start").duration_s == -1);
	assert_int_equal(parse_ok("timelapse shot").timelapse, CR_TIMELAPSE_SHOT);
	assert_int_equal(parse_ok("TIMELAPSE Resume").timelapse, CR_TIMELAPSE_RESUME);
	assert_int_equal(parse_ok("timelapse abort").timelapse, CR_TIMELAPSE_ABORT);
	c = parse_ok("set_control exposure_time_absolute 120 camera=cam1");
	assert_int_equal(c.verb, CR_VERB_SET_CONTROL);
	assert_string_equal(c.name, "exposure_time_absolute");
	assert_string_equal(c.value, "120");
	assert_string_equal(c.camera, "cam1");
	c = parse_ok("list_controls camera=cam1");
	assert_int_equal(c.verb, CR_VERB_LIST_CONTROLS);
	assert_string_equal(c.camera, "cam1");
	assert_int_equal(parse_ok("list_controls").verb, CR_VERB_LIST_CONTROLS);
}

static void test_errors(void **state)
{
	char *e = parse_error("start_recordin");

	assert_string_equal(e, "unknown command \"start_recordin\" (expected one of: start_recording, "
			       "stop_recording, snapshot, status, get_stats, set_control, list_controls, timelapse, quit)");
	free(e);
	e = parse_error("");
	assert_non_null(strstr(e, "empty command"));
	free(e);
	e = parse_error("start_recording ten");
	assert_string_equal(e, "start_recording: duration \"ten\" is not a number of seconds (expected 0..604800; "
			       "0 = until stopped)");
	free(e);
	e = parse_error("start_recording -5");
	free(e);
	e = parse_error("start_recording 1 2");
	assert_string_equal(e, "start_recording: wrong number of arguments (usage: start_recording [SECONDS] "
			       "[camera=NAME])");
	free(e);
	e = parse_error("stop_recording now");
	assert_non_null(strstr(e, "unknown argument \"now\""));
	free(e);
	e = parse_error("timelapse");
	free(e);
	e = parse_error("timelapse rewind");
	assert_string_equal(e, "timelapse: unknown action \"rewind\" (expected one of: start, pause, resume, stop, "
			       "abort, shot)");
	free(e);
	e = parse_error("timelapse pause 5");
	free(e);
	e = parse_error("timelapse start soon");
	assert_non_null(strstr(e, "interval \"soon\""));
	free(e);
	e = parse_error("set_control gain");
	assert_non_null(strstr(e, "usage: set_control NAME VALUE"));
	free(e);
	e = parse_error("status camera=x");
	assert_non_null(strstr(e, "unknown argument \"camera=x\""));
	free(e);
	e = parse_error("snapshot colour=red");
	free(e);
	e = parse_error("a b c d e f g h i j");
	assert_non_null(strstr(e, "too many arguments"));
	free(e);
	{
		char big[2000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		e = parse_error(big);
		assert_non_null(strstr(e, "too long"));
		free(e);
	}
}

static void test_names(void **state)
{
	assert_string_equal(cr_trigger_name(CR_TRIGGER_MCP), "mcp");
	assert_string_equal(cr_trigger_name(CR_TRIGGER_MQTT), "mqtt");
	assert_string_equal(cr_trigger_name(CR_TRIGGER_NONE), "none");
	assert_string_equal(cr_verb_name(CR_VERB_SET_CONTROL), "set_control");
	assert_non_null(strstr(cr_command_help(), "start_recording [SECONDS] [camera=NAME]\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
