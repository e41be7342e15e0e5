/* ntfy client: commands from a topic, replies and notifications to one (see
 * ntfy.h for what is published and the protocol; ntfy_message.c writes the
 * texts).
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
#include "control/ntfy_internal.h"

#include "base/json.h"
#include "base/lazy.h"

/* ---- message ids ---------------------------------------------------------- */

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
	cr_ntfy_job_free(&p->job);
	free(p);
}

/* The contents of path (at most ATTACH_MAX bytes) into *data, allocated.
 * Returns the size or a negative errno. */
static long read_attachment(const char *path, char **data)
{
	FILE *f = fopen(path, "rb");
	long size = -ENOENT;

	*data = NULL;
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size <= ATTACH_MAX && fseek(f, 0, SEEK_SET) == 0) {
		*data = cr_malloc((size_t)size + 1);
		if (fread(*data, 1, (size_t)size, f) != (size_t)size)
			size = -EIO;
	} else {
		size = size > ATTACH_MAX ? -EFBIG : -EIO;
	}
	fclose(f);
	if (size < 0) {
		free(*data);
		*data = NULL;
	}
	return size;
}

/* Adds job's attachment to p: a PUT of the file with its name, the text in
 * the Message header (one line). False when the file cannot be read. */
static bool attach(struct post *p, const struct job *job)
{
	char *data, *h, *message = cr_strdup(job->body);
	const char *name = strrchr(job->attach, '/') ? strrchr(job->attach, '/') + 1 : job->attach;
	long size = read_attachment(job->attach, &data);

	if (size < 0) {
		cr_warn("ntfy: cannot attach %s: %s; sending the text alone", job->attach, cr_strerror((int)size));
		free(message);
		return false;
	}
	for (char *c = message; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	h = cr_asprintf("Message: %s", message);
	p->headers = curl_slist_append(p->headers, h);
	free(h);
	h = cr_asprintf("Filename: %s", name);
	for (char *c = h; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = '_';
	p->headers = curl_slist_append(p->headers, h);
	free(h);
	curl_easy_setopt(p->easy, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE, size);
	curl_easy_setopt(p->easy, CURLOPT_COPYPOSTFIELDS, data);
	free(data);
	free(message);
	return true;
}

/* Builds the POST for job (taken), or the PUT of its attachment. */
static struct post *post_new(struct cr_ntfy *n, struct job *job)
{
	struct post *p = CR_NEW(p);
	char *url = cr_asprintf("%s/%s", n->config->server, job->topic), *h;
	bool attached;

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
	attached = job->attach && attach(p, job);
	if (!attached) {
		p->headers = curl_slist_append(p->headers, "Content-Type: text/plain; charset=utf-8");
		curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(job->body));
		curl_easy_setopt(p->easy, CURLOPT_COPYPOSTFIELDS, job->body);
	}
	p->headers = auth_header(n, p->headers);
	common_options(n, p->easy, url);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT, PUBLISH_TIMEOUT_S);
	curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
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
	job = cr_ntfy_reply_job(n, line, reply);
	json_decref(reply);
	if (n->nreplies == REPLIES_QUEUED) {
		cr_ntfy_job_free(&n->replies[0]);
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
		struct job *job = cr_ntfy_event_job(n, event);

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
	char why[PATH_MAX + 128], *buf;
	int ret = cr_fs_read_secret("ntfy.token_file", path, TOKEN_FILE_MAX, &buf, why, sizeof(why));
	size_t len;

	if (ret < 0)
		return cr_log_ret(ret == -EFBIG ? -EINVAL : ret, CR_LOG_ERROR, "%s", why);
	len = strlen(buf);
	while (len && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
			len = 0;
	}
	if (len == 0 || len > 512) {
		explicit_bzero(buf, TOKEN_FILE_MAX);
		free(buf);
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "ntfy.token_file %s: not a token (expected one line of 1 "
				  "to 512 printable characters without spaces)", path);
	}
	*token = buf;
	return 0;
}

int cr_ntfy_new(const struct cr_ntfy_config *config, struct cr_control *control, struct cr_events *events,
		struct cr_ntfy **out)
{
	struct cr_ntfy *n;
	char why[512];
	int ret;

	*out = NULL;
	if (!config->topic || !config->server)
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "ntfy.topic: missing (expected a topic name when "
				  "ntfy.enabled is true)");
	if (cr_lazy_load(&cr_lazy_libcurl, why, sizeof(why)) != 0)
		return cr_log_ret(-ELIBACC, CR_LOG_ERROR, "ntfy: %s", why);
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
		cr_ntfy_job_free(&n->replies[i]);
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
