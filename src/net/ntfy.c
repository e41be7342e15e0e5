/* ntfy client: commands from a topic, replies and notifications to one (see
 * ntfy.h for what is published and the protocol).
 *
 * Design. Two threads, each driving its transfers through its own libcurl
 * multi handle and waiting in curl_multi_poll(), which cr_ntfy_stop() wakes
 * with curl_multi_wakeup(): a stop takes effect at once whatever the
 * network does.
 *
 * - ntfy-sub keeps one streaming GET open (the subscription) and sends the
 *   replies, up to REPLIES_IN_FLIGHT POSTs beside the stream. The stream's
 *   write callback cuts the body into lines (at most STREAM_LINE_MAX bytes; a
 *   longer line is dropped whole) and runs each message with
 *   cr_control_run() right there, so commands from ntfy run one at a time and in order; its reply
 *   joins a bounded list (REPLIES_QUEUED, oldest dropped and counted). When
 *   the stream ends, fails or stalls (no byte, not even a keepalive, for
 *   STALL_NS; ntfy sends one every 45 s by default) the thread reconnects
 *   after a backoff of 1 s doubling up to 60 s, back to 1 s once a stream
 *   has delivered its "open" event.
 * - ntfy-pub takes events from its own event-bus subscription (EVENT_DEPTH;
 *   when it falls behind the bus drops the oldest and counts) and POSTs those
 *   worth a notification one at a time, 10 s to connect and 30 s in all.
 *   Neither thread ever blocks capture or the control thread.
 *
 * Each command runs once, and never an old one:
 * - the first stream asks for since=<the first whole second after camrig
 *   started>: nothing published before camrig started is replayed (ntfy
 *   returns messages with time >= since);
 * - every later stream asks for since=<id of the last message seen>, so a
 *   reconnect delivers exactly what was published during the outage;
 * - the ids of the last RUN_IDS messages run are kept and a repeat is
 *   skipped, so even a server that ignores since= cannot run one twice.
 * What camrig published is never run: messages tagged "camrig" and the ids
 * the server answered for camrig's own publishes (the last OWN_IDS) are
 * skipped. The tag covers the race where our own message arrives on the
 * stream before the POST's answer, and other camrigs on the same topic.
 *
 * Locking: n->lock guards n->stats, n->own_ids (both threads touch them) and
 * the n->sub pointer (/status reads its drop count); everything else belongs
 * to one thread. Curl callbacks run on the thread that drives their multi
 * handle, without the lock. */
#include "net/ntfy.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"
#include "camrig-version.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STREAM_LINE_MAX (64 * 1024)              /* bytes of one stream line */
#define RESPONSE_MAX 4096                 /* bytes of a POST answer kept */
#define ERROR_BODY_MAX 256                /* bytes of an HTTP error body kept for the log */
#define REPLY_MAX 3900                    /* bytes of a reply text (ntfy turns > 4096 into an attachment) */
#define REPLIES_QUEUED 16                 /* replies waiting to be sent */
#define REPLIES_IN_FLIGHT 2               /* reply POSTs at once */
#define EVENT_DEPTH 32                    /* events queued for ntfy-pub */
#define RUN_IDS 64                        /* ids of messages run, remembered */
#define OWN_IDS 64                        /* ids of camrig's own messages, remembered */
#define ID_MAX 64                         /* bytes of a message id (ntfy's are 12) */
#define TOKEN_FILE_MAX 1024               /* bytes of a token file */
#define CONNECT_TIMEOUT_S 10L
#define PUBLISH_TIMEOUT_S 30L
#define STALL_NS (150 * CR_NS_PER_SEC)    /* silence that ends a stream */
#define BACKOFF_MIN_NS (1 * CR_NS_PER_SEC)
#define BACKOFF_MAX_NS (60 * CR_NS_PER_SEC)
#define TAG "camrig"                      /* on everything camrig publishes */

/* One message to publish. */
struct job {
	char *topic;
	char *title;      /* ASCII, no control characters */
	char *tags;       /* comma-separated, always starting with TAG */
	int priority;     /* 1..5 */
	char *body;
};

/* A POST in flight. */
struct post {
	CURL *easy;
	struct curl_slist *headers;
	struct job *job;
	char response[RESPONSE_MAX];
	size_t len;       /* bytes in response */
};

/* The subscription stream (ntfy-sub only). */
struct stream {
	CURL *easy;
	struct curl_slist *headers;
	char *line;               /* STREAM_LINE_MAX + 1 bytes */
	size_t len;               /* bytes in line */
	bool overlong;            /* dropping the rest of a too-long line */
	bool opened;              /* the "open" event came */
	int64_t last_data_ns;     /* last byte received, CLOCK_MONOTONIC ns */
	char error_body[ERROR_BODY_MAX];  /* a non-200 answer's first bytes */
	size_t error_len;
};

struct cr_ntfy {
	const struct cr_ntfy_config *config;
	struct cr_control *control;
	struct cr_events *events;
	char *token;              /* NULL: none; never logged */
	char *reply_topic;
	char *user_agent;
	atomic_bool stop;
	struct cr_event_sub *sub;

	/* ntfy-sub */
	pthread_t sub_thread;
	bool sub_started;
	CURLM *sub_multi;
	struct stream stream;
	int64_t first_since_s;    /* Unix s: the first stream's since= */
	char last_id[ID_MAX];     /* the last message seen; "" before any */
	char run_ids[RUN_IDS][ID_MAX];
	unsigned run_next;
	struct job *replies[REPLIES_QUEUED];
	unsigned nreplies;
	struct post *in_flight[REPLIES_IN_FLIGHT];
	unsigned failures;        /* stream failures in a row, for the log */

	/* ntfy-pub */
	pthread_t pub_thread;
	bool pub_started;
	CURLM *pub_multi;

	pthread_mutex_t lock;     /* guards the two below */
	struct cr_ntfy_stats stats;
	char own_ids[OWN_IDS][ID_MAX];
	unsigned own_next;
};

/* ---- text helpers -------------------------------------------------------- */

struct text {
	char *buf;
	size_t size, len;         /* bytes: capacity (with the NUL), used */
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends, cutting at the capacity. */
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = (size_t)n >= t->size - t->len ? t->size - 1 : t->len + (size_t)n;
}

/* A copy of s fit for an HTTP header value: control characters become spaces. */
static char *header_safe(const char *s)
{
	char *copy = cr_strdup(s);

	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return copy;
}

static bool id_ok(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	if (len == 0 || len >= ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
			return false;
	return true;
}

static bool ids_have(char ids[][ID_MAX], unsigned n, const char *id)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

static void ids_add(char ids[][ID_MAX], unsigned n, unsigned *next, const char *id)
{
	snprintf(ids[*next % n], ID_MAX, "%s", id);
	*next = (*next + 1) % n;
}

/* Whether the comma-separated list has name. */
static bool list_has(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static void job_free(struct job **pjob)
{
	struct job *job = *pjob;

	if (!job)
		return;
	*pjob = NULL;
	free(job->topic);
	free(job->title);
	free(job->tags);
	free(job->body);
	free(job);
}

static struct job *job_new(struct cr_ntfy *n, const char *title, int priority, const char *tags, const char *body)
{
	struct job *job = CR_NEW(job);

	job->topic = cr_strdup(n->reply_topic);
	job->title = header_safe(title);
	job->tags = cr_asprintf(TAG "%s%s", tags && *tags ? "," : "", tags ? tags : "");
	job->priority = priority;
	job->body = cr_strdup(body);
	return job;
}

/* ---- replies ------------------------------------------------------------- */

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* A number member, or def when absent. */
static double num(json_t *obj, const char *key, double def)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : def;
}

/* One line per camera of a get_stats or status reply. */
static void add_cameras(struct text *t, json_t *cameras)
{
	size_t i;
	json_t *cam;

	json_array_foreach(cameras, i, cam) {
		json_t *fps = json_object_get(cam, "fps"), *frames = json_object_get(cam, "frames");
		json_t *rec = json_object_get(cam, "recording");
		double rate = json_is_object(fps) ? num(fps, "measured", 0) : num(cam, "fps", 0);
		double captured = json_is_object(frames) ? num(frames, "captured", 0) : num(cam, "frames_captured", 0);
		double dropped = json_is_object(frames) ? num(frames, "dropped_pool", 0) : num(cam, "frames_dropped", 0);

		text_add(t, "\n%s: %s, %.1f fps, %.0f frames, %.0f dropped", str(cam, "name"), str(cam, "state"), rate,
			 captured, dropped);
		if (json_is_object(rec) && *str(rec, "state"))
			text_add(t, ", recording: %s", str(rec, "state"));
	}
}

void cr_ntfy_reply_text(const char *line, json_t *reply, char *buf, size_t max_bytes)
{
	struct text t = { .buf = buf, .size = max_bytes };
	struct cr_command cmd;
	char *error = NULL;
	json_t *file;
	size_t i;

	if (max_bytes == 0)
		return;
	buf[0] = '\0';
	if (!json_is_true(json_object_get(reply, "ok"))) {
		text_add(&t, "error: %s", *str(reply, "error") ? str(reply, "error") : "failed");
		return;
	}
	if (cr_command_parse(line, CR_TRIGGER_NTFY, &cmd, &error) < 0) {
		/* cannot happen: the control parsed it too */
		text_add(&t, "ok");
		free(error);
		return;
	}
	switch (cmd.verb) {
	case CR_VERB_START_RECORDING:
		if (cmd.duration_s > 0)
			text_add(&t, "ok: recording started (%g s)", cmd.duration_s);
		else
			text_add(&t, "ok: recording started (until stopped)");
		break;
	case CR_VERB_STOP_RECORDING:
		if (json_integer_value(json_object_get(reply, "stopped")) == 0 && json_object_get(reply, "stopped"))
			text_add(&t, "ok: nothing was recording");
		else
			text_add(&t, "ok: recording stopped%s", cmd.discard ? ", file discarded" : "");
		break;
	case CR_VERB_TIMELAPSE:
		text_add(&t, "ok: timelapse %s", cr_timelapse_action_name(cmd.timelapse));
		break;
	case CR_VERB_SET_CONTROL:
		text_add(&t, "ok: %s = %s", cmd.name, cmd.value);
		break;
	case CR_VERB_QUIT:
		text_add(&t, "ok: camrig is stopping");
		break;
	case CR_VERB_STATUS:
		text_add(&t, "ok: status");
		add_cameras(&t, json_object_get(json_object_get(reply, "status"), "cameras"));
		break;
	case CR_VERB_GET_STATS:
		text_add(&t, "ok: get_stats");
		add_cameras(&t, json_object_get(reply, "cameras"));
		break;
	default:
		text_add(&t, "ok: %s", cr_verb_name(cmd.verb));
		break;
	}
	if (cmd.camera[0] && cmd.verb != CR_VERB_STATUS && cmd.verb != CR_VERB_GET_STATS)
		text_add(&t, " [%s]", cmd.camera);
	for (const char *const *k = (const char *const[]){ "file", "path", "url", NULL }; *k; k++)
		if (*str(reply, *k))
			text_add(&t, "\n%s", str(reply, *k));
	json_array_foreach(json_object_get(reply, "files"), i, file)
		if (json_is_string(file))
			text_add(&t, "\n%s", json_string_value(file));
}

/* The reply job for a message run as line. */
static struct job *reply_job(struct cr_ntfy *n, const char *line, json_t *reply)
{
	bool ok = json_is_true(json_object_get(reply, "ok"));
	const char *verb = str(reply, "command");
	char body[REPLY_MAX + 1], *title;
	struct job *job;

	cr_ntfy_reply_text(line, reply, body, sizeof(body));
	title = cr_asprintf("camrig: %s", *verb ? verb : "error");
	job = job_new(n, title, n->config->priority, ok ? "reply" : "reply,warning", body);
	free(title);
	return job;
}

/* ---- notifications ------------------------------------------------------- */

/* The notification for event, or NULL when it is not one to send. */
static struct job *event_job(struct cr_ntfy *n, json_t *event)
{
	const char *type = str(event, "type"), *camera = str(event, "camera"), *error = str(event, "error");
	const char *device = str(event, "device");
	int prio = n->config->priority, alert = n->config->alert_priority;
	char body[1024];
	struct text t = { .buf = body, .size = sizeof(body) };
	struct job *job = NULL;

	if (!list_has(n->config->events, type))
		return NULL;
	body[0] = '\0';
	if (strcmp(type, "ready") == 0) {
		text_add(&t, "camrig %s is running", CAMRIG_VERSION);
		if (*str(event, "listen"))
			text_add(&t, "; HTTP on %s", str(event, "listen"));
		job = job_new(n, "camrig ready", prio, "white_check_mark", body);
	} else if (strcmp(type, "recording_started") == 0) {
		double duration = num(event, "duration", num(event, "duration_s", 0));

		text_add(&t, "%s: recording", *camera ? camera : "camrig");
		if (duration > 0)
			text_add(&t, " for %g s", duration);
		else
			text_add(&t, " until stopped");
		if (*str(event, "trigger"))
			text_add(&t, " (from %s)", str(event, "trigger"));
		if (*str(event, "file"))
			text_add(&t, "\n%s", str(event, "file"));
		job = job_new(n, "Recording started", prio, "red_circle", body);
	} else if (strcmp(type, "recording_finished") == 0) {
		/* recorder.c: camera, file, sidecar, frames, dropped, lost, bytes, reason */
		text_add(&t, "%s: %s\n%.0f frames, %.0f dropped", *camera ? camera : "camrig",
			 *str(event, "file") ? str(event, "file") : "(no file)", num(event, "frames", 0),
			 num(event, "dropped", num(event, "drops", 0)));
		if (num(event, "lost", 0) > 0)
			text_add(&t, ", %.0f lost upstream", num(event, "lost", 0));
		if (num(event, "bytes", 0) > 0)
			text_add(&t, ", %.1f MB", num(event, "bytes", 0) / 1e6);
		if (*str(event, "reason"))
			text_add(&t, " (%s)", str(event, "reason"));
		if (*error)
			text_add(&t, "\nerror: %s", error);
		job = job_new(n, "Recording finished", *error ? alert : prio, *error ? "floppy_disk,warning" : "floppy_disk",
			      body);
	} else if (strcmp(type, "error") == 0) {
		text_add(&t, "%s%s%s", camera, *camera ? ": " : "", *error ? error : str(event, "message"));
		job = job_new(n, "camrig error", alert, "warning", body);
	} else if (strcmp(type, "camera_lost") == 0) {
		text_add(&t, "%s%s%s%s%s", camera, *device ? " (" : "", device, *device ? ")" : "", " is gone");
		if (*error)
			text_add(&t, ": %s", error);
		job = job_new(n, "Camera lost", alert, "rotating_light", body);
	} else if (strcmp(type, "camera_found") == 0) {
		text_add(&t, "%s%s%s%s is capturing", camera, *device ? " (" : "", device, *device ? ")" : "");
		job = job_new(n, "Camera found", prio, "camera", body);
	}
	return job;
}

/* ---- POST ---------------------------------------------------------------- */

static size_t post_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct post *p = arg;
	size_t len = size * nmemb, room = sizeof(p->response) - 1 - p->len;

	memcpy(p->response + p->len, data, len < room ? len : room);
	p->len += len < room ? len : room;
	p->response[p->len] = '\0';
	return len;
}

static struct curl_slist *auth_header(struct cr_ntfy *n, struct curl_slist *headers)
{
	if (n->token) {
		char *h = cr_asprintf("Authorization: Bearer %s", n->token);

		headers = curl_slist_append(headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	return headers;
}

static void common_options(struct cr_ntfy *n, CURL *easy, const char *url)
{
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, n->user_agent);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
}

static void post_free(struct post **pp)
{
	struct post *p = *pp;

	if (!p)
		return;
	*pp = NULL;
	curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->headers);
	job_free(&p->job);
	free(p);
}

/* Builds the POST for job (taken). */
static struct post *post_new(struct cr_ntfy *n, struct job *job)
{
	struct post *p = CR_NEW(p);
	char *url = cr_asprintf("%s/%s", n->config->server, job->topic), *h;

	p->job = job;
	p->easy = curl_easy_init();
	if (!p->easy) {
		free(url);
		post_free(&p);
		return NULL;
	}
	h = cr_asprintf("Title: %s", job->title);
	p->headers = curl_slist_append(p->headers, h);
	free(h);
	h = cr_asprintf("Priority: %d", job->priority);
	p->headers = curl_slist_append(p->headers, h);
	free(h);
	h = cr_asprintf("Tags: %s", job->tags);
	p->headers = curl_slist_append(p->headers, h);
	free(h);
	p->headers = curl_slist_append(p->headers, "Content-Type: text/plain; charset=utf-8");
	p->headers = auth_header(n, p->headers);
	common_options(n, p->easy, url);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT, PUBLISH_TIMEOUT_S);
	curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(job->body));
	curl_easy_setopt(p->easy, CURLOPT_COPYPOSTFIELDS, job->body);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, post_write);
	curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
	free(url);
	return p;
}

/* Accounts for a finished POST and remembers the id the server gave it. */
static void post_done(struct cr_ntfy *n, struct post *p, CURLcode result)
{
	long status = 0;
	json_t *answer = NULL;
	const char *id = NULL;

	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK && status == 200) {
		answer = json_loads(p->response, 0, NULL);
		id = json_string_value(json_object_get(answer, "id"));
	}
	pthread_mutex_lock(&n->lock);
	if (result == CURLE_OK && status == 200) {
		n->stats.published++;
		if (id_ok(id))
			ids_add(n->own_ids, OWN_IDS, &n->own_next, id);
	} else {
		n->stats.publish_errors++;
	}
	pthread_mutex_unlock(&n->lock);
	if (result != CURLE_OK)
		cr_warn("ntfy: publishing \"%s\" to %s/%s: %s", p->job->title, n->config->server, p->job->topic,
			curl_easy_strerror(result));
	else if (status != 200)
		cr_warn("ntfy: publishing \"%s\" to %s/%s: HTTP %ld: %.200s", p->job->title, n->config->server,
			p->job->topic, status, p->response);
	else
		cr_debug("ntfy: published \"%s\" as %s", p->job->title, id ? id : "?");
	json_decref(answer);
}

/* ---- the subscriber ------------------------------------------------------ */

/* Runs one message of the stream, unless it is camrig's own or a repeat. */
static void on_message(struct cr_ntfy *n, json_t *msg)
{
	const char *id = json_string_value(json_object_get(msg, "id"));
	const char *line = json_string_value(json_object_get(msg, "message"));
	json_t *tags = json_object_get(msg, "tags"), *tag, *reply;
	bool skip = !line || !*line, own;
	struct job *job;
	size_t i;

	if (id_ok(id))
		snprintf(n->last_id, sizeof(n->last_id), "%s", id);
	json_array_foreach(tags, i, tag)
		if (json_is_string(tag) && strcmp(json_string_value(tag), TAG) == 0)
			skip = true;
	if (id_ok(id) && ids_have(n->run_ids, RUN_IDS, id))
		skip = true;
	pthread_mutex_lock(&n->lock);
	own = id_ok(id) && ids_have(n->own_ids, OWN_IDS, id);
	if (skip || own)
		n->stats.messages_skipped++;
	else
		n->stats.messages_run++;
	pthread_mutex_unlock(&n->lock);
	if (skip || own) {
		cr_debug("ntfy: message %s not run (camrig's own, empty or a repeat)", id ? id : "?");
		return;
	}
	if (id_ok(id))
		ids_add(n->run_ids, RUN_IDS, &n->run_next, id);
	cr_info("ntfy: running \"%.200s\"", line);
	reply = cr_control_run(n->control, line, CR_TRIGGER_NTFY);
	job = reply_job(n, line, reply);
	json_decref(reply);
	if (n->nreplies == REPLIES_QUEUED) {
		job_free(&n->replies[0]);
		memmove(n->replies, n->replies + 1, (REPLIES_QUEUED - 1) * sizeof(*n->replies));
		n->nreplies--;
		pthread_mutex_lock(&n->lock);
		n->stats.dropped++;
		pthread_mutex_unlock(&n->lock);
	}
	n->replies[n->nreplies++] = job;
}

static void on_line(struct cr_ntfy *n, const char *line, size_t len)
{
	json_t *msg = json_loadb(line, len, 0, NULL);
	const char *event = json_string_value(json_object_get(msg, "event"));

	if (!event) {
		cr_debug("ntfy: ignoring a stream line that is not an ntfy event");
	} else if (strcmp(event, "message") == 0) {
		on_message(n, msg);
	} else if (strcmp(event, "open") == 0 && !n->stream.opened) {
		n->stream.opened = true;
		pthread_mutex_lock(&n->lock);
		n->stats.connected = true;
		n->stats.connects++;
		pthread_mutex_unlock(&n->lock);
		if (n->failures)
			cr_info("ntfy: subscribed to %s again after %u failed attempt%s", n->config->server, n->failures,
				n->failures == 1 ? "" : "s");
		else
			cr_info("ntfy: subscribed on %s", n->config->server);
		n->failures = 0;
	}
	json_decref(msg);
}

static size_t stream_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct cr_ntfy *n = arg;
	struct stream *s = &n->stream;
	size_t len = size * nmemb;
	long status = 0;

	s->last_data_ns = cr_time_mono_ns();
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		size_t room = sizeof(s->error_body) - 1 - s->error_len, k = len < room ? len : room;

		memcpy(s->error_body + s->error_len, data, k);
		s->error_len += k;
		s->error_body[s->error_len] = '\0';
		return len;
	}
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			if (!s->overlong && s->len)
				on_line(n, s->line, s->len);
			s->len = 0;
			s->overlong = false;
		} else if (s->len == STREAM_LINE_MAX) {
			if (!s->overlong) {
				cr_warn("ntfy: dropping a stream line longer than %d bytes", STREAM_LINE_MAX);
				pthread_mutex_lock(&n->lock);
				n->stats.messages_skipped++;
				pthread_mutex_unlock(&n->lock);
			}
			s->overlong = true;
		} else if (!s->overlong) {
			s->line[s->len++] = data[i];
		}
	}
	return atomic_load(&n->stop) ? 0 : len;  /* 0 aborts the transfer */
}

static int stream_start(struct cr_ntfy *n)
{
	struct stream *s = &n->stream;
	char *url;

	if (n->last_id[0])
		url = cr_asprintf("%s/%s/json?since=%s", n->config->server, n->config->topic, n->last_id);
	else
		url = cr_asprintf("%s/%s/json?since=%lld", n->config->server, n->config->topic,
				  (long long)n->first_since_s);
	s->easy = curl_easy_init();
	if (!s->easy) {
		free(url);
		return -ENOMEM;
	}
	s->headers = auth_header(n, NULL);
	common_options(n, s->easy, url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, n);
	s->len = 0;
	s->overlong = false;
	s->opened = false;
	s->error_len = 0;
	s->error_body[0] = '\0';
	s->last_data_ns = cr_time_mono_ns();
	cr_debug("ntfy: connecting to %s (since=%s)", n->config->server,
		 strstr(url, "since=") + strlen("since="));
	free(url);
	curl_multi_add_handle(n->sub_multi, s->easy);
	return 0;
}

/* Ends the stream. why: what went wrong, NULL when the server closed it;
 * failed: count it as an error even when it had opened (a stall). */
static void stream_end(struct cr_ntfy *n, const char *why, bool failed)
{
	struct stream *s = &n->stream;
	long status = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(n->sub_multi, s->easy);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->headers);
	s->easy = NULL;
	s->headers = NULL;
	pthread_mutex_lock(&n->lock);
	n->stats.connected = false;
	if (!s->opened || failed)
		n->stats.errors++;
	pthread_mutex_unlock(&n->lock);
	if (atomic_load(&n->stop))
		return;
	if (s->opened) {
		cr_info("ntfy: stream ended (%s); reconnecting", why ? why : "closed by the server");
		return;
	}
	for (char *c = s->error_body; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	while (s->error_len && s->error_body[s->error_len - 1] == ' ')
		s->error_body[--s->error_len] = '\0';
	if (n->failures++ > 0)
		cr_debug("ntfy: %s: attempt %u failed", n->config->server, n->failures);
	else if (status == 401 || status == 403)
		cr_warn("ntfy: %s: HTTP %ld: access denied (check ntfy.token or ntfy.token_file); retrying",
			n->config->server, status);
	else if (status && status != 200)
		cr_warn("ntfy: %s: HTTP %ld: %s; retrying", n->config->server, status, s->error_body);
	else
		cr_warn("ntfy: %s: %s; retrying", n->config->server, why ? why : "the stream ended before it opened");
}

static void replies_start(struct cr_ntfy *n)
{
	for (unsigned i = 0; i < REPLIES_IN_FLIGHT && n->nreplies; i++) {
		if (n->in_flight[i])
			continue;
		n->in_flight[i] = post_new(n, n->replies[0]);
		memmove(n->replies, n->replies + 1, (REPLIES_QUEUED - 1) * sizeof(*n->replies));
		n->nreplies--;
		if (n->in_flight[i])
			curl_multi_add_handle(n->sub_multi, n->in_flight[i]->easy);
	}
}

static void *sub_main(void *arg)
{
	struct cr_ntfy *n = arg;
	int64_t backoff = BACKOFF_MIN_NS, retry_at = 0;
	int running;

	pthread_setname_np(pthread_self(), "ntfy-sub");
	while (!atomic_load(&n->stop)) {
		int64_t now = cr_time_mono_ns(), wait_ns;
		struct CURLMsg *m;
		int left;

		if (!n->stream.easy && now >= retry_at && stream_start(n) < 0)
			retry_at = now + BACKOFF_MAX_NS;
		replies_start(n);
		curl_multi_perform(n->sub_multi, &running);
		while ((m = curl_multi_info_read(n->sub_multi, &left))) {
			/* m dies with its handle: copy what is needed first */
			CURL *easy = m->easy_handle;
			CURLcode result = m->data.result;

			if (m->msg != CURLMSG_DONE)
				continue;
			if (n->stream.easy && easy == n->stream.easy) {
				bool opened = n->stream.opened;

				stream_end(n, result == CURLE_OK ? NULL : curl_easy_strerror(result), false);
				if (opened)
					backoff = BACKOFF_MIN_NS;
				retry_at = cr_time_mono_ns() + backoff;
				backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
				continue;
			}
			for (unsigned i = 0; i < REPLIES_IN_FLIGHT; i++) {
				if (n->in_flight[i] && n->in_flight[i]->easy == easy) {
					curl_multi_remove_handle(n->sub_multi, n->in_flight[i]->easy);
					post_done(n, n->in_flight[i], result);
					post_free(&n->in_flight[i]);
				}
			}
		}
		now = cr_time_mono_ns();
		if (n->stream.easy && now - n->stream.last_data_ns > STALL_NS) {
			bool opened = n->stream.opened;

			stream_end(n, "nothing received, not even a keepalive, for 150 s", true);
			if (opened)
				backoff = BACKOFF_MIN_NS;
			retry_at = now + backoff;
			backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
		}
		if (atomic_load(&n->stop))
			break;
		if (n->nreplies && (!n->in_flight[0] || !n->in_flight[REPLIES_IN_FLIGHT - 1]))
			continue;   /* a reply can start now */
		wait_ns = n->stream.easy ? n->stream.last_data_ns + STALL_NS - now : retry_at - now;
		if (wait_ns < 0)
			wait_ns = 0;
		curl_multi_poll(n->sub_multi, NULL, 0, (int)(wait_ns / CR_NS_PER_MS) + 1, NULL);
	}
	if (n->stream.easy)
		stream_end(n, NULL, false);
	for (unsigned i = 0; i < REPLIES_IN_FLIGHT; i++) {
		if (n->in_flight[i]) {
			curl_multi_remove_handle(n->sub_multi, n->in_flight[i]->easy);
			post_free(&n->in_flight[i]);
		}
	}
	return NULL;
}

/* ---- the publisher ------------------------------------------------------- */

/* Sends job (taken) and waits for the answer or a stop. */
static void publish(struct cr_ntfy *n, struct job *job)
{
	struct post *p = post_new(n, job);
	bool done = false;
	int running;

	if (!p)
		return;
	curl_multi_add_handle(n->pub_multi, p->easy);
	while (!done && !atomic_load(&n->stop)) {
		struct CURLMsg *m;
		int left;

		curl_multi_perform(n->pub_multi, &running);
		while ((m = curl_multi_info_read(n->pub_multi, &left))) {
			if (m->msg == CURLMSG_DONE && m->easy_handle == p->easy) {
				post_done(n, p, m->data.result);
				done = true;
			}
		}
		/* libcurl shortens the wait to its own timeouts (connect, total) */
		if (!done)
			curl_multi_poll(n->pub_multi, NULL, 0, (int)(PUBLISH_TIMEOUT_S * 1000), NULL);
	}
	curl_multi_remove_handle(n->pub_multi, p->easy);
	post_free(&p);
}

static void *pub_main(void *arg)
{
	struct cr_ntfy *n = arg;
	json_t *event;

	pthread_setname_np(pthread_self(), "ntfy-pub");
	while (!atomic_load(&n->stop) && cr_event_sub_pop(n->sub, &event, -1) == 0) {
		struct job *job = event_job(n, event);

		json_decref(event);
		if (job)
			publish(n, job);
	}
	return NULL;
}

/* ---- lifetime ------------------------------------------------------------ */

/* Reads the token from path into *token (allocated). Like every secret file
 * of camrig's, it must not be readable by others. */
static int read_token(const char *path, char **token)
{
	char buf[TOKEN_FILE_MAX + 1];
	FILE *f = fopen(path, "r");
	struct stat st;
	size_t len;
	int ret;

	if (!f) {
		ret = -errno;
		return cr_log_ret(ret, CR_LOG_ERROR, "ntfy.token_file: %s: cannot open: %s", path, cr_strerror(ret));
	}
	if (fstat(fileno(f), &st) == 0 && st.st_mode & (S_IROTH | S_IWOTH)) {
		fclose(f);
		return cr_log_ret(-EPERM, CR_LOG_ERROR, "ntfy.token_file: %s is readable by others (mode %03o); refusing "
				  "to use it (run: chmod o-rwx %s)", path, (unsigned)(st.st_mode & 0777), path);
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (len > TOKEN_FILE_MAX)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "ntfy.token_file: %s: too long (expected one line of at "
				  "most 512 characters)", path);
	buf[len] = '\0';
	while (len && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
			len = 0;
	}
	if (len == 0 || len > 512) {
		explicit_bzero(buf, sizeof(buf));
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "ntfy.token_file: %s: not a token (expected one line of 1 "
				  "to 512 printable characters without spaces)", path);
	}
	*token = cr_strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int cr_ntfy_new(const struct cr_ntfy_config *config, struct cr_control *control, struct cr_events *events,
		struct cr_ntfy **out)
{
	struct cr_ntfy *n;
	int ret;

	*out = NULL;
	if (!config->topic || !config->server)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "ntfy.topic: missing (expected a topic name when "
				  "ntfy.enabled is true)");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cr_log_ret(-ENOMEM, CR_LOG_ERROR, "ntfy: cannot initialize libcurl");
	n = CR_NEW(n);
	n->config = config;
	n->control = control;
	n->events = events;
	pthread_mutex_init(&n->lock, NULL);
	n->reply_topic = cr_strdup(config->reply_topic ? config->reply_topic : config->topic);
	n->user_agent = cr_asprintf("camrig/%s", CAMRIG_VERSION);
	n->stream.line = cr_malloc(STREAM_LINE_MAX + 1);
	n->first_since_s = cr_time_utc_us() / CR_US_PER_SEC + 1;
	if (config->token)
		n->token = cr_strdup(config->token);
	if (config->token_file) {
		ret = read_token(config->token_file, &n->token);
		if (ret < 0) {
			cr_ntfy_free(&n);
			return ret;
		}
	}
	n->sub_multi = curl_multi_init();
	n->pub_multi = curl_multi_init();
	if (!n->sub_multi || !n->pub_multi) {
		cr_ntfy_free(&n);
		return cr_log_ret(-ENOMEM, CR_LOG_ERROR, "ntfy: cannot create libcurl handles");
	}
	*out = n;
	return 0;
}

int cr_ntfy_start(struct cr_ntfy *n)
{
	int ret;

	pthread_mutex_lock(&n->lock);
	n->sub = cr_events_subscribe(n->events, EVENT_DEPTH);
	pthread_mutex_unlock(&n->lock);
	ret = -pthread_create(&n->pub_thread, NULL, pub_main, n);
	n->pub_started = ret == 0;
	if (ret == 0) {
		ret = -pthread_create(&n->sub_thread, NULL, sub_main, n);
		n->sub_started = ret == 0;
	}
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "ntfy: cannot start a thread: %s", cr_strerror(ret));
	cr_info("ntfy: subscribing on %s", n->config->server);
	return 0;
}

void cr_ntfy_stop(struct cr_ntfy *n)
{
	if (!n)
		return;
	atomic_store(&n->stop, true);
	if (n->sub)
		cr_event_sub_close(n->sub);
	if (n->sub_multi)
		curl_multi_wakeup(n->sub_multi);
	if (n->pub_multi)
		curl_multi_wakeup(n->pub_multi);
	if (n->sub_started)
		pthread_join(n->sub_thread, NULL);
	if (n->pub_started)
		pthread_join(n->pub_thread, NULL);
	n->sub_started = n->pub_started = false;
	if (n->sub) {
		struct cr_event_sub *sub;

		pthread_mutex_lock(&n->lock);
		sub = n->sub;
		n->sub = NULL;
		n->stats.dropped += cr_event_sub_dropped(sub);
		pthread_mutex_unlock(&n->lock);
		cr_events_unsubscribe(n->events, &sub);
	}
}

void cr_ntfy_free(struct cr_ntfy **pn)
{
	struct cr_ntfy *n = *pn;

	if (!n)
		return;
	*pn = NULL;
	cr_ntfy_stop(n);
	for (unsigned i = 0; i < n->nreplies; i++)
		job_free(&n->replies[i]);
	if (n->sub_multi)
		curl_multi_cleanup(n->sub_multi);
	if (n->pub_multi)
		curl_multi_cleanup(n->pub_multi);
	if (n->token) {
		explicit_bzero(n->token, strlen(n->token));
		free(n->token);
	}
	free(n->stream.line);
	free(n->reply_topic);
	free(n->user_agent);
	pthread_mutex_destroy(&n->lock);
	free(n);
	curl_global_cleanup();
}

void cr_ntfy_stats(struct cr_ntfy *n, struct cr_ntfy_stats *stats)
{
	pthread_mutex_lock(&n->lock);
	*stats = n->stats;
	if (n->sub)
		stats->dropped += cr_event_sub_dropped(n->sub);
	pthread_mutex_unlock(&n->lock);
}

json_t *cr_ntfy_status_json(struct cr_ntfy *n)
{
	struct cr_ntfy_stats st;

	if (!n)
		return NULL;
	cr_ntfy_stats(n, &st);
	return json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "server", n->config->server,
			 "connected", st.connected, "connects", (json_int_t)st.connects,
			 "messages_run", (json_int_t)st.messages_run, "messages_skipped", (json_int_t)st.messages_skipped,
			 "published", (json_int_t)st.published, "publish_errors", (json_int_t)st.publish_errors,
			 "dropped", (json_int_t)st.dropped, "errors", (json_int_t)st.errors);
}
