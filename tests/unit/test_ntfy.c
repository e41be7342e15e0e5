/* ntfy without a network: the notification for each event type (title,
 * priority, tags, body, and the ntfy.events filter), the reply texts, and
 * the subscriber's handling of stream lines (what runs, what is skipped as
 * camrig's own or a repeat, the last id kept for since=). Includes ntfy.c to
 * reach its statics. */
#include "../../src/control/ntfy.c"
#include "../../src/control/ntfy_message.c"

#include <fcntl.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static struct cr_ntfy_config config = {
	.enabled = true, .server = "http://127.0.0.1:9", .topic = "cmd", .priority = 3, .alert_priority = 5,
	.events = "ready,recording_started,recording_finished,error,camera_lost,camera_found",
};

static struct cr_ntfy *fake(void)
{
	struct cr_ntfy *n = CR_NEW(n);

	n->config = &config;
	n->reply_topic = cr_strdup("cmd");
	n->user_agent = cr_strdup("test");
	n->stream.line = cr_malloc(STREAM_LINE_MAX + 1);
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

static struct job *event(struct cr_ntfy *n, const char *json)
{
	json_t *ev = json_loads(json, 0, NULL);
	struct job *job;

	assert_non_null(ev);
	job = cr_ntfy_event_job(n, ev);
	json_decref(ev);
	return job;
}

static void expect(struct job *job, const char *title, int priority, const char *tags, const char *body)
{
	assert_non_null(job);
	assert_string_equal(job->topic, "cmd");
	assert_string_equal(job->title, title);
	assert_int_equal(job->priority, priority);
	assert_string_equal(job->tags, tags);
	assert_string_equal(job->body, body);
	cr_ntfy_job_free(&job);
	assert_null(job);
}

static void test_events(void **state)
{
	struct cr_ntfy *n = fake();

	expect(event(n, "{\"type\": \"ready\", \"listen\": \"127.0.0.1:8080\"}"), "camrig ready", 3,
	       "camrig,white_check_mark", "camrig " CAMRIG_VERSION " is running; HTTP on 127.0.0.1:8080");
	expect(event(n, "{\"type\": \"recording_started\", \"camera\": \"cam1\", \"file\": \"r/a.mkv\", "
		     "\"trigger\": \"gpio\", \"duration\": 30.0}"), "Recording started", 3, "camrig,red_circle",
	       "cam1: recording for 30 s (from gpio)\nr/a.mkv");
	expect(event(n, "{\"type\": \"recording_started\", \"camera\": \"cam1\", \"duration\": 0}"),
	       "Recording started", 3, "camrig,red_circle", "cam1: recording until stopped");
	expect(event(n, "{\"type\": \"recording_finished\", \"camera\": \"cam1\", \"file\": \"r/a.mkv\", "
		     "\"frames\": 300, \"dropped\": 2, \"lost\": 0, \"bytes\": 2500000, \"reason\": \"stopped (http)\"}"),
	       "Recording finished", 3, "camrig,floppy_disk",
	       "cam1: r/a.mkv\n300 frames, 2 dropped, 2.5 MB (stopped (http))");
	expect(event(n, "{\"type\": \"error\", \"camera\": \"cam1\", \"error\": \"no such device\"}"), "camrig error", 5,
	       "camrig,warning", "cam1: no such device");
	expect(event(n, "{\"type\": \"camera_lost\", \"camera\": \"cam1\", \"device\": \"/dev/video0\", "
		     "\"error\": \"the device went away\"}"), "Camera lost", 5, "camrig,rotating_light",
	       "cam1 (/dev/video0) is gone: the device went away");
	expect(event(n, "{\"type\": \"camera_found\", \"camera\": \"cam1\", \"device\": \"/dev/video0\", \"error\": \"\"}"),
	       "Camera found", 3, "camrig,camera", "cam1 (/dev/video0) is capturing");
	/* Not notified: commands, stopping, anything unknown. */
	assert_null(event(n, "{\"type\": \"command\", \"command\": \"snapshot\"}"));
	assert_null(event(n, "{\"type\": \"stopping\"}"));
	assert_null(event(n, "{\"type\": \"camera_ended\"}"));
	assert_null(event(n, "{}"));
	/* The filter. */
	config.events = "camera_lost";
	assert_null(event(n, "{\"type\": \"ready\"}"));
	assert_non_null(n);
	{
		struct job *job = event(n, "{\"type\": \"camera_lost\", \"camera\": \"c\"}");

		assert_non_null(job);
		cr_ntfy_job_free(&job);
	}
	config.events = "none";
	assert_null(event(n, "{\"type\": \"camera_lost\", \"camera\": \"c\"}"));
	config.events = "ready,recording_started,recording_finished,error,camera_lost,camera_found";
	cr_ntfy_free(&n);
	assert_null(n);
}

static void reply_is(const char *line, const char *json, const char *want)
{
	json_t *reply = json_loads(json, 0, NULL);
	char buf[512];

	assert_non_null(reply);
	cr_ntfy_reply_text(line, reply, buf, sizeof(buf));
	assert_string_equal(buf, want);
	json_decref(reply);
}

static void test_reply_text(void **state)
{
	char small[8];
	json_t *reply;

	reply_is("start_recording 30", "{\"ok\": true, \"command\": \"start_recording\", \"files\": [\"a.mkv\"]}",
		 "ok: recording started (30 s)\na.mkv");
	reply_is("start_recording", "{\"ok\": true, \"command\": \"start_recording\"}",
		 "ok: recording started (until stopped)");
	reply_is("stop_recording camera=c1", "{\"ok\": true, \"command\": \"stop_recording\", \"stopped\": 1}",
		 "ok: recording stopped [c1]");
	reply_is("stop_recording", "{\"ok\": true, \"command\": \"stop_recording\", \"stopped\": 0}",
		 "ok: nothing was recording");
	reply_is("snapshot", "{\"ok\": true, \"command\": \"snapshot\", \"file\": \"s.jpg\"}", "ok: snapshot\ns.jpg");
	reply_is("set_control gain 5", "{\"ok\": true, \"command\": \"set_control\"}", "ok: gain = 5");
	reply_is("get_stats", "{\"ok\": true, \"command\": \"get_stats\", \"cameras\": [{\"name\": \"c1\", \"state\": "
		 "\"running\", \"fps\": {\"measured\": 25.0}, \"frames\": {\"captured\": 100, \"dropped_pool\": 1}, "
		 "\"clients\": 2, \"recording\": {\"state\": \"recording\", \"recording\": true, \"seconds\": 4, "
		 "\"frames\": {\"dropped\": 0}, \"pre_trigger\": {\"target_seconds\": 10, \"seconds\": 9.5}, "
		 "\"encoder\": {\"active\": true, \"encoder\": \"libx264\", \"bitrate_kbps\": 800, \"dropped\": 0}}, "
		 "\"lsl\": {\"streaming\": 1}, \"upload\": {\"enabled\": true, \"sent\": 3, \"failed\": 1}}], "
		 "\"ntfy\": {\"published\": 5, \"publish_errors\": 0}}",
		 "ok: get_stats\nc1: running, 25.0 fps, 100 frames, 1 dropped, recording: recording (4 s, 0 frames "
		 "dropped), pre-trigger 9.5/10.0 s, encoder libx264 800 kbit/s, 0 dropped, 2 clients, LSL 1 inlets, "
		 "upload 3 sent, 1 failed\nntfy: 5 published, 0 errors");
	reply_is("status", "{\"ok\": true, \"command\": \"status\", \"status\": {\"cameras\": [{\"name\": \"c1\", "
		 "\"state\": \"running\", \"fps\": {\"measured\": 9.96}, \"frames\": {\"captured\": 7, \"dropped_pool\": 0}, "
		 "\"recording\": {\"state\": \"idle\"}}]}}",
		 "ok: status\nc1: running, 10.0 fps, 7 frames, 0 dropped, recording: idle");
	reply_is("status", "{\"ok\": true, \"command\": \"status\", \"status\": {\"cameras\": [], \"host\": {\"load\": "
		 "[0.5, 0, 0], \"cpu_percent\": 12.4, \"memory\": {\"used_percent\": 40.2}, \"disks\": [{\"free_bytes\": "
		 "12300000000, \"error\": \"\"}], \"thermal\": [{\"type\": \"cpu-thermal\", \"celsius\": 48.25}], "
		 "\"throttled\": {\"flags\": \"0x50005\"}}, \"sensors\": [{\"name\": \"box\", \"ok\": true, \"value\": 21.5, "
		 "\"unit\": \"celsius\"}, {\"name\": \"rh\", \"ok\": false, \"error\": \"no IIO device dht11\"}]}}",
		 "ok: status\nhost: load 0.50, CPU 12%, memory 40% used, 12.3 GB free, cpu-thermal 48.2 C, throttled 0x50005"
		 "\nsensors: box 21.5 celsius, rh: no IIO device dht11");
	reply_is("nope", "{\"ok\": false, \"error\": \"unknown command \\\"nope\\\"\", \"status\": 400}",
		 "error: unknown command \"nope\"");
	reply = json_pack("{s:b, s:s}", "ok", 0, "error", "a long reason");
	cr_ntfy_reply_text("x", reply, small, sizeof(small));
	assert_string_equal(small, "error: ");
	json_decref(reply);
}

static struct {
	int runs;
	char last[64];
} seen;

static int on_snapshot(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	seen.runs++;
	snprintf(seen.last, sizeof(seen.last), "%s/%s", cr_verb_name(cmd->verb), cr_trigger_name(cmd->trigger));
	return 0;
}

static void line(struct cr_ntfy *n, const char *text)
{
	on_line(n, text, strlen(text));
}

static void test_stream_lines(void **state)
{
	struct cr_events *events = cr_events_new();
	struct cr_control *control = cr_control_new(events);
	struct cr_ntfy *n = fake();

	cr_control_on(control, CR_VERB_SNAPSHOT, on_snapshot, NULL);
	assert_int_equal(cr_control_start(control), 0);
	n->control = control;

	line(n, "{\"id\":\"open1\",\"time\":1,\"event\":\"open\",\"topic\":\"cmd\"}");
	assert_true(n->stream.opened);
	assert_true(n->stats.connected);
	assert_string_equal(n->last_id, "");   /* open and keepalive ids are no message */
	line(n, "{\"id\":\"ka1\",\"time\":1,\"event\":\"keepalive\",\"topic\":\"cmd\"}");
	assert_string_equal(n->last_id, "");

	line(n, "{\"id\":\"m1\",\"time\":2,\"event\":\"message\",\"topic\":\"cmd\",\"message\":\"snapshot\"}");
	assert_int_equal(seen.runs, 1);
	assert_string_equal(seen.last, "snapshot/ntfy");
	assert_string_equal(n->last_id, "m1");
	assert_int_equal(n->nreplies, 1);
	assert_string_equal(n->replies[0]->title, "camrig: snapshot");
	assert_string_equal(n->replies[0]->body, "ok: snapshot");
	assert_string_equal(n->replies[0]->tags, "camrig,reply");

	/* The same message again (a server replaying it): skipped. */
	line(n, "{\"id\":\"m1\",\"time\":2,\"event\":\"message\",\"topic\":\"cmd\",\"message\":\"snapshot\"}");
	/* camrig's reply coming back, and another camrig's message: skipped. */
	line(n, "{\"id\":\"m2\",\"time\":2,\"event\":\"message\",\"topic\":\"cmd\",\"message\":\"snapshot\","
		"\"tags\":[\"camrig\",\"reply\"]}");
	/* One the server answered for a POST of ours, even untagged: skipped. */
	ids_add(n->own_ids, OWN_IDS, &n->own_next, "m3");
	line(n, "{\"id\":\"m3\",\"time\":2,\"event\":\"message\",\"topic\":\"cmd\",\"message\":\"snapshot\"}");
	assert_int_equal(seen.runs, 1);
	assert_int_equal(n->stats.messages_skipped, 3);
	assert_string_equal(n->last_id, "m3");   /* since= still moves past them */

	/* Not JSON, no event, an empty message: nothing runs. */
	line(n, "garbage");
	line(n, "{\"x\":1}");
	line(n, "{\"id\":\"m4\",\"time\":3,\"event\":\"message\",\"topic\":\"cmd\",\"message\":\"\"}");
	assert_int_equal(seen.runs, 1);
	/* An id that cannot go into a URL is not kept for since=. */
	line(n, "{\"id\":\"a b&c\",\"time\":3,\"event\":\"message\",\"topic\":\"cmd\",\"message\":\"snapshot\"}");
	assert_int_equal(seen.runs, 2);
	assert_string_equal(n->last_id, "m4");

	/* An error reply, and the reply queue's bound (oldest dropped). */
	for (int i = 0; i < REPLIES_QUEUED + 3; i++) {
		char text[128];

		snprintf(text, sizeof(text), "{\"id\":\"e%d\",\"event\":\"message\",\"message\":\"bogus\"}", i);
		line(n, text);
	}
	assert_int_equal(n->nreplies, REPLIES_QUEUED);
	assert_int_equal(n->stats.dropped, 5);
	assert_string_equal(n->replies[REPLIES_QUEUED - 1]->title, "camrig: error");
	assert_string_equal(n->replies[REPLIES_QUEUED - 1]->tags, "camrig,reply,warning");
	assert_int_equal(n->stats.messages_run, 2 + REPLIES_QUEUED + 3);

	cr_ntfy_free(&n);
	cr_control_free(&control);
	cr_events_free(&events);
}

static void test_new_checks(void **state)
{
	struct cr_ntfy_config bad = config;
	struct cr_ntfy *n = NULL;
	char path[] = "/tmp/test_ntfy.XXXXXX";
	int fd;

	bad.topic = NULL;
	assert_int_equal(cr_ntfy_new(&bad, NULL, NULL, &n), -EINVAL);
	assert_null(n);
	bad = config;
	bad.token_file = "/nonexistent/camrig-token";
	assert_int_equal(cr_ntfy_new(&bad, NULL, NULL, &n), -ENOENT);
	assert_null(n);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tk_abc\n", 7), 7);
	close(fd);
	bad.token_file = path;
	assert_int_equal(cr_ntfy_new(&bad, NULL, NULL, &n), 0);
	assert_string_equal(n->token, "tk_abc");
	cr_ntfy_free(&n);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "tk abc\n", 7), 7);
	close(fd);
	assert_int_equal(cr_ntfy_new(&bad, NULL, NULL, &n), -EINVAL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_reply_text),
		cmocka_unit_test(test_stream_lines),
		cmocka_unit_test(test_new_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
