/* What camrig publishes on ntfy: the reply to each command and the
 * notification of each event worth one (titles, priorities and tags are
 * tabled in ntfy.h). Pure text work; ntfy.c sends it. */
#include "control/ntfy_internal.h"

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

void cr_ntfy_job_free(struct job **pjob)
{
	struct job *job = *pjob;

	if (!job)
		return;
	*pjob = NULL;
	free(job->topic);
	free(job->title);
	free(job->tags);
	free(job->body);
	free(job->attach);
	free(job);
}

struct job *cr_ntfy_job_new(struct cr_ntfy *n, const char *title, int priority, const char *tags, const char *body)
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

/* One line per camera of a status reply (its /status cameras); detailed
 * (get_stats) adds the pre-trigger, encoder, clients, LSL and upload. */
static void add_cameras(struct text *t, json_t *cameras, bool detailed)
{
	size_t i;
	json_t *cam;

	json_array_foreach(cameras, i, cam) {
		json_t *frames = json_object_get(cam, "frames"), *rec = json_object_get(cam, "recording");
		json_t *pre = json_object_get(rec, "pre_trigger"), *enc = json_object_get(rec, "encoder");
		json_t *lsl = json_object_get(cam, "lsl"), *up = json_object_get(cam, "upload");

		text_add(t, "\n%s: %s, %.1f fps, %.0f frames, %.0f dropped", str(cam, "name"), str(cam, "state"),
			 num(json_object_get(cam, "fps"), "measured", 0), num(frames, "captured", 0),
			 num(frames, "dropped_pool", 0) + num(frames, "lost_upstream", 0));
		if (json_is_object(rec))
			text_add(t, ", recording: %s", str(rec, "state"));
		if (!detailed)
			continue;
		if (json_is_true(json_object_get(rec, "recording")))
			text_add(t, " (%.0f s, %.0f frames dropped)", num(rec, "seconds", 0),
				 num(json_object_get(rec, "frames"), "dropped", 0));
		if (json_is_object(pre) && num(pre, "target_seconds", 0) > 0)
			text_add(t, ", pre-trigger %.1f/%.1f s", num(pre, "seconds", 0), num(pre, "target_seconds", 0));
		if (json_is_object(enc) && json_is_true(json_object_get(enc, "active")))
			text_add(t, ", encoder %s %.0f kbit/s, %.0f dropped", str(enc, "encoder"), num(enc, "bitrate_kbps", 0),
				 num(enc, "dropped", 0));
		text_add(t, ", %.0f clients", num(cam, "clients", 0));
		if (json_is_object(lsl))
			text_add(t, ", LSL %.0f inlets", num(lsl, "streaming", 0));
		if (json_is_true(json_object_get(up, "enabled")))
			text_add(t, ", upload %.0f sent, %.0f failed", num(up, "sent", 0), num(up, "failed", 0));
	}
}

/* The host line and one line of sensors of a status: "host: CPU 12%, memory
 * 40%, 12.3 GB free, 48.2 °C" and "sensors: enclosure 21.5 celsius, ...". */
static void add_host(struct text *t, json_t *status)
{
	json_t *host = json_object_get(status, "host"), *sensors = json_object_get(status, "sensors"), *v, *z;
	size_t i;

	if (json_is_object(host)) {
		json_t *disk = json_array_get(json_object_get(host, "disks"), 0);

		text_add(t, "\nhost: load %.2f", json_number_value(json_array_get(json_object_get(host, "load"), 0)));
		if (json_is_number(json_object_get(host, "cpu_percent")))
			text_add(t, ", CPU %.0f%%", num(host, "cpu_percent", 0));
		if (json_is_number(json_object_get(json_object_get(host, "memory"), "used_percent")))
			text_add(t, ", memory %.0f%% used", num(json_object_get(host, "memory"), "used_percent", 0));
		if (json_is_object(disk) && !*str(disk, "error"))
			text_add(t, ", %.1f GB free", num(disk, "free_bytes", 0) / 1e9);
		json_array_foreach(json_object_get(host, "thermal"), i, z)
			text_add(t, ", %s %.1f C", str(z, "type"), num(z, "celsius", 0));
		if (json_is_object(json_object_get(host, "throttled")))
			text_add(t, ", throttled %s", str(json_object_get(host, "throttled"), "flags"));
	}
	json_array_foreach(sensors, i, v) {
		text_add(t, i ? ", " : "\nsensors: ");
		if (json_is_true(json_object_get(v, "ok")))
			text_add(t, "%s %.4g %s", str(v, "name"), num(v, "value", 0), str(v, "unit"));
		else
			text_add(t, "%s: %s", str(v, "name"), str(v, "error"));
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
		add_cameras(&t, json_object_get(json_object_get(reply, "status"), "cameras"), false);
		add_host(&t, json_object_get(reply, "status"));
		break;
	case CR_VERB_GET_STATS:
		text_add(&t, "ok: get_stats");
		add_cameras(&t, json_object_get(reply, "cameras"), true);
		add_host(&t, reply);
		if (json_is_object(json_object_get(reply, "ntfy")))
			text_add(&t, "\nntfy: %.0f published, %.0f errors", num(json_object_get(reply, "ntfy"), "published", 0),
				 num(json_object_get(reply, "ntfy"), "publish_errors", 0));
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
struct job *cr_ntfy_reply_job(struct cr_ntfy *n, const char *line, json_t *reply)
{
	bool ok = json_is_true(json_object_get(reply, "ok"));
	const char *verb = str(reply, "command");
	char body[REPLY_MAX + 1], *title;
	struct job *job;

	cr_ntfy_reply_text(line, reply, body, sizeof(body));
	title = cr_asprintf("camrig: %s", *verb ? verb : "error");
	job = cr_ntfy_job_new(n, title, n->config->priority, ok ? "reply" : "reply,warning", body);
	free(title);
	return job;
}

/* ---- notifications ------------------------------------------------------- */

/* The notification for event, or NULL when it is not one to send. */
struct job *cr_ntfy_event_job(struct cr_ntfy *n, json_t *event)
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
		job = cr_ntfy_job_new(n, "camrig ready", prio, "white_check_mark", body);
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
		job = cr_ntfy_job_new(n, "Recording started", prio, "red_circle", body);
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
		job = cr_ntfy_job_new(n, "Recording finished", *error ? alert : prio, *error ? "floppy_disk,warning" : "floppy_disk",
			      body);
	} else if (strcmp(type, "error") == 0) {
		text_add(&t, "%s%s%s", camera, *camera ? ": " : "", *error ? error : str(event, "message"));
		job = cr_ntfy_job_new(n, "camrig error", alert, "warning", body);
	} else if (strcmp(type, "camera_lost") == 0) {
		text_add(&t, "%s%s%s%s%s", camera, *device ? " (" : "", device, *device ? ")" : "", " is gone");
		if (*error)
			text_add(&t, ": %s", error);
		job = cr_ntfy_job_new(n, "Camera lost", alert, "rotating_light", body);
	} else if (strcmp(type, "motion_start") == 0) {
		/* analysis/analysis.h: camera, frame, fraction, box, snapshot */
		text_add(&t, "%s: motion, %.1f%% of the image changed", *camera ? camera : "camrig",
			 num(event, "fraction", 0));
		job = cr_ntfy_job_new(n, "Motion", prio, "eyes", body);
		if (*str(event, "snapshot"))
			job->attach = cr_strdup(str(event, "snapshot"));
	} else if (strcmp(type, "camera_found") == 0) {
		text_add(&t, "%s%s%s%s is capturing", camera, *device ? " (" : "", device, *device ? ")" : "");
		job = cr_ntfy_job_new(n, "Camera found", prio, "camera", body);
	}
	return job;
}
