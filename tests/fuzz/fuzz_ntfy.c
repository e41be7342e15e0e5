/* Fuzz target: what camrig does with the ntfy subscription stream and the
 * texts it publishes (control/ntfy.c, control/ntfy_message.c), without a
 * network: as tests/unit/test_ntfy.c, it includes both files to reach their
 * statics and drives a fake client.
 *
 * The input is the body of a subscription stream, cut into lines as the
 * stream's write callback cuts it (at '\n'; empty lines and lines longer
 * than STREAM_LINE_MAX are not run). Each line goes to on_line(), which runs
 * a message's command on a real control thread (every verb answers ok), and
 * each line that is JSON is also given to the notification and reply
 * builders as an event and as a command's reply. Properties: a job has the
 * reply topic, a title without control characters, tags that start with
 * "camrig", a priority of 1..5 and a body; a reply text ends within its
 * buffer for every buffer size; at most REPLIES_QUEUED replies wait; the
 * last id kept for since= is a valid id. */
#include "../../src/control/ntfy.c"
#include "../../src/control/ntfy_message.c"

#include "fuzz.h"

static struct cr_ntfy_config config = {
	.enabled = true, .server = "http://127.0.0.1:9", .topic = "cmd", .priority = 3, .alert_priority = 5,
	.events = "ready,recording_started,recording_finished,error,camera_lost,camera_found",
};

static struct cr_control *control;

/* Every verb succeeds, with the fields the reply texts show. */
static int handler(void *ctx, const struct cr_command *cmd, json_t *reply)
{
	json_object_set_new(reply, "file", json_string("recordings/camera_2026_01_01_00_00_00.mkv"));
	json_object_set_new(reply, "stopped", json_integer(1));
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	cr_log_set_level(CR_LOG_ERROR);
	control = cr_control_new(NULL);
	for (int v = 0; v < CR_VERB_COUNT; v++)
		cr_control_on(control, (enum cr_verb)v, handler, NULL);
	if (cr_control_start(control) < 0)
		abort();
	return 0;
}

/* A client as cr_ntfy_new() makes one, without curl or threads. */
static struct cr_ntfy *fake(void)
{
	struct cr_ntfy *n = CR_NEW(n);

	n->config = &config;
	n->control = control;
	n->reply_topic = cr_strdup("replies");
	n->user_agent = cr_strdup("camrig-fuzz");
	n->stream.line = cr_malloc(STREAM_LINE_MAX + 1);
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

static void check_job(struct job *job)
{
	FUZZ_CHECK(job != NULL);
	FUZZ_CHECK(strcmp(job->topic, "replies") == 0);
	for (const char *p = job->title; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	FUZZ_CHECK(strncmp(job->tags, TAG, strlen(TAG)) == 0);
	FUZZ_CHECK(job->priority >= 1 && job->priority <= 5);
	FUZZ_CHECK(job->body != NULL);
	FUZZ_CHECK(strlen(job->body) <= REPLY_MAX);
	cr_ntfy_job_free(&job);
	FUZZ_CHECK(job == NULL);
}

/* The line as an event and as the reply to its own "message". */
static void build_texts(struct cr_ntfy *n, const char *line, size_t len)
{
	static const size_t sizes[] = { 1, 2, 8, 64, REPLY_MAX + 1 };
	json_t *json = json_loadb(line, len, 0, NULL);
	const char *message;
	struct job *job;
	char buf[REPLY_MAX + 1];

	if (!json)
		return;
	message = json_string_value(json_object_get(json, "message"));
	if (!message)
		message = "status";
	job = cr_ntfy_event_job(n, json);
	if (job)
		check_job(job);
	for (size_t i = 0; i < CR_ARRAY_SIZE(sizes); i++) {
		memset(buf, 'x', sizeof(buf));
		cr_ntfy_reply_text(message, json, buf, sizes[i]);
		FUZZ_CHECK(memchr(buf, '\0', sizes[i]) != NULL);
	}
	cr_ntfy_reply_text(message, json, buf, 0);
	check_job(cr_ntfy_reply_job(n, message, json));
	json_decref(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_ntfy *n = fake();
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		size_t len = (size_t)(e - p);

		if (!nl)
			break; /* a line without its '\n' waits for more, and the stream ends */
		if (len > 0 && len <= STREAM_LINE_MAX) {
			on_line(n, p, len);
			build_texts(n, p, len);
		}
		p = nl + 1;
	}
	FUZZ_CHECK(n->nreplies <= REPLIES_QUEUED);
	for (unsigned i = 0; i < n->nreplies; i++)
		check_job(n->replies[i]);
	n->nreplies = 0;
	FUZZ_CHECK(n->last_id[0] == '\0' || id_ok(n->last_id));
	cr_ntfy_free(&n);
	return 0;
}
