/* LSL outlet: lifecycle, the stream info (shortinfo/fullinfo XML), the query
 * predicate matcher, and the push path, for both kinds of outlet (frames and
 * markers, lsl.h).
 *
 * Design. cr_lsl_outlet_new() binds every socket in the caller's thread (so a
 * port problem is an error the caller sees), renders the two XML documents
 * once (they never change while the outlet lives, as in liblsl), and starts
 * the UDP thread (discovery.c) and the TCP thread (feed.c). A push encodes
 * the sample once, in the 1.10 layout, into a ring slot (internal.h: 33 bytes
 * for a frame, length + up to 4110 bytes for a marker), copies the slot into
 * a bounded ring under a mutex held for that copy; with no inlet streaming it
 * only counts. Then whoever sends drains the ring and appends each slot to
 * every inlet's own ring: the pushing thread itself when the TCP thread is
 * idle and at most LSL_INLINE_INLETS inlets stream (non-blocking sendmsg(),
 * no thread hop: on a loaded machine waiting for a thread to be scheduled is
 * most of the latency), else the TCP thread, woken through its eventfd
 * (feed.c). Frames (up to a few hundred a second) cost one 33-byte encode
 * and copy, the same lock, no allocation, and a non-blocking send per inlet.
 *
 * Triggers (frames outlets): o->trigger keeps the last LSL_TRIGGERS, sorted
 * by time. A frame takes the latest at or before its capture time; its type
 * goes out only if no frame has shown that trigger yet (lsl_trigger.shown),
 * and showing it marks every older one shown too, so of two triggers before
 * one frame only the later shows, and a trigger shows once.
 *
 * Locking: o->lock guards the push ring and the trigger history, nothing
 * else; no syscall runs under it. A push try-locks the feed's lock after
 * releasing o->lock (feed.c: its lock comes first). Counters are atomics. Everything else in
 * struct cr_lsl_outlet is written before the threads start and read-only
 * afterwards. */
#include "lsl/internal.h"

#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"
#include "camrig-version.h"

#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const field_names[LSL_F_COUNT] = {
	[LSL_F_NAME] = "name",
	[LSL_F_TYPE] = "type",
	[LSL_F_CHANNEL_COUNT] = "channel_count",
	[LSL_F_CHANNEL_FORMAT] = "channel_format",
	[LSL_F_SOURCE_ID] = "source_id",
	[LSL_F_NOMINAL_SRATE] = "nominal_srate",
	[LSL_F_VERSION] = "version",
	[LSL_F_CREATED_AT] = "created_at",
	[LSL_F_UID] = "uid",
	[LSL_F_SESSION_ID] = "session_id",
	[LSL_F_HOSTNAME] = "hostname",
	[LSL_F_V4ADDRESS] = "v4address",
	[LSL_F_V4DATA_PORT] = "v4data_port",
	[LSL_F_V4SERVICE_PORT] = "v4service_port",
	[LSL_F_V6ADDRESS] = "v6address",
	[LSL_F_V6DATA_PORT] = "v6data_port",
	[LSL_F_V6SERVICE_PORT] = "v6service_port",
};

struct channel_desc {
	const char *label, *unit, *description;
};

static const struct channel_desc frame_channels[CR_LSL_CHANNELS] = {
	{ "frame_number", "count", "camrig's number of the captured frame, from 0" },
	{ "trigger_time", "seconds",
	  "UTC seconds since 1970 of the latest trigger at or before this frame's capture, 0 before any" },
	{ "trigger_type", "code",
	  "who sent the trigger (see trigger_types), on the sample of the first frame captured after it "
	  "only; 0 on every other sample" },
};

static const struct channel_desc marker_channel = {
	"event", "JSON",
	"one camrig event per sample, a compact JSON object in UTF-8: {\"event\": TYPE, \"camera\": NAME, ...} "
	"(see marker_events); the timestamp is when it happened"
};

/* The events the daemon publishes on a markers outlet (src/app makes the
 * JSON), with the fields each has besides "event", for <desc>. */
static const struct {
	const char *name, *fields;
} marker_events[] = {
	{ "recording_started", "camera, file" },
	{ "recording_finished", "camera, file" },
	{ "snapshot", "camera" },
	{ "timelapse_shot", "camera" },
	{ "camera_lost", "camera" },
	{ "camera_found", "camera" },
	{ "motion_start", "camera, frame, fraction, box, snapshot" },
	{ "motion_end", "camera, frame, duration, peak_fraction, box" },
	{ "faces", "camera, frame, count, boxes" },
};

bool cr_lsl_marker_event(const char *type)
{
	for (unsigned i = 0; i < CR_ARRAY_SIZE(marker_events); i++)
		if (strcmp(type, marker_events[i].name) == 0)
			return true;
	return false;
}

static const char *const trigger_names[] = {
	"none", "keyboard", "ntfy", "http", "gpio", "schedule", "motion", "mcp", "mqtt",
};

double cr_lsl_clock(void)
{
	return (double)cr_time_mono_ns() / 1e9;
}

/* ---- small text buffer for the XML documents ---- */

struct text {
	char *data;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->data = cr_realloc(t->data, t->cap);
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(struct text *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		text_add(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Appends s with the five XML special characters escaped. */
static void text_escaped(struct text *t, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': text_add(t, "&amp;", 5); break;
		case '<': text_add(t, "&lt;", 4); break;
		case '>': text_add(t, "&gt;", 4); break;
		case '"': text_add(t, "&quot;", 6); break;
		case '\'': text_add(t, "&apos;", 6); break;
		default: text_add(t, s, 1); break;
		}
	}
}

/* <tag>value</tag> on its own line at the given depth (tabs, as pugixml writes
 * it); an empty value becomes <tag />. */
static void text_element(struct text *t, int depth, const char *tag, const char *value)
{
	for (int i = 0; i < depth; i++)
		text_add(t, "\t", 1);
	if (!value || !*value) {
		text_printf(t, "<%s />\n", tag);
		return;
	}
	text_printf(t, "<%s>", tag);
	text_escaped(t, value);
	text_printf(t, "</%s>\n", tag);
}

static void text_open(struct text *t, int depth, const char *tag)
{
	for (int i = 0; i < depth; i++)
		text_add(t, "\t", 1);
	text_printf(t, "<%s>\n", tag);
}

static void text_close(struct text *t, int depth, const char *tag)
{
	for (int i = 0; i < depth; i++)
		text_add(t, "\t", 1);
	text_printf(t, "</%s>\n", tag);
}

static void render_desc(const struct cr_lsl_outlet *o, struct text *t)
{
	const struct channel_desc *channels = o->markers ? &marker_channel : frame_channels;
	int nchannels = o->markers ? 1 : CR_LSL_CHANNELS;
	char num[32];

	text_open(t, 1, "desc");
	text_open(t, 2, "channels");
	for (int c = 0; c < nchannels; c++) {
		text_open(t, 3, "channel");
		text_element(t, 4, "label", channels[c].label);
		text_element(t, 4, "unit", channels[c].unit);
		text_element(t, 4, "description", channels[c].description);
		text_close(t, 3, "channel");
	}
	text_close(t, 2, "channels");
	if (o->markers) {
		text_open(t, 2, "marker_events");
		for (unsigned i = 0; i < CR_ARRAY_SIZE(marker_events); i++) {
			text_open(t, 3, "event");
			text_element(t, 4, "name", marker_events[i].name);
			text_element(t, 4, "fields", marker_events[i].fields);
			text_close(t, 3, "event");
		}
		text_close(t, 2, "marker_events");
	} else {
		text_open(t, 2, "trigger_types");
		for (unsigned i = 0; i < CR_ARRAY_SIZE(trigger_names); i++) {
			text_open(t, 3, "trigger_type");
			snprintf(num, sizeof(num), "%u", i);
			text_element(t, 4, "code", num);
			text_element(t, 4, "name", trigger_names[i]);
			text_close(t, 3, "trigger_type");
		}
		text_close(t, 2, "trigger_types");
	}
	text_open(t, 2, "camera");
	text_element(t, 3, "name", o->camera_name);
	snprintf(num, sizeof(num), "%d", o->width);
	text_element(t, 3, "width", num);
	snprintf(num, sizeof(num), "%d", o->height);
	text_element(t, 3, "height", num);
	text_element(t, 3, "format", o->format);
	text_element(t, 3, "fps", o->camera_fps);
	text_close(t, 2, "camera");
	text_open(t, 2, "acquisition");
	text_element(t, 3, "manufacturer", "camrig");
	text_element(t, 3, "software_version", CAMRIG_VERSION);
	text_element(t, 3, "clock", o->markers ? "CLOCK_MONOTONIC (lsl_local_clock), when the event happened"
					       : "CLOCK_MONOTONIC (lsl_local_clock), capture time from the driver");
	text_close(t, 2, "acquisition");
	text_close(t, 1, "desc");
}

/* The <info> document in liblsl's element order (stream_info_impl::write_xml),
 * with <desc /> empty (shortinfo) or filled (fullinfo). */
static char *render_info(const struct cr_lsl_outlet *o, bool full, size_t *len)
{
	struct text t = { 0 };

	text_printf(&t, "<?xml version=\"1.0\"?>\n");
	text_open(&t, 0, "info");
	for (int f = 0; f < LSL_F_COUNT; f++)
		text_element(&t, 1, field_names[f], o->field[f]);
	if (full)
		render_desc(o, &t);
	else
		text_element(&t, 1, "desc", NULL);
	text_close(&t, 0, "info");
	*len = t.len;
	return t.data;
}

/* ---- query predicates ---- */

static bool is_xpath_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && is_xpath_space(*p))
		p++;
	return p;
}

/* Parses "and"-joined terms and parenthesised groups up to end or a ')' at
 * depth > 0. Returns the position after the last term, or NULL on a syntax
 * error. *ok becomes false when a term does not hold. */
static const char *match_terms(const struct cr_lsl_outlet *o, const char *p, const char *end, int depth,
			       bool *ok)
{
	for (;;) {
		p = skip_space(p, end);
		if (p >= end)
			return NULL;
		if (*p == '(') {
			if (depth >= 8)
				return NULL;
			p = match_terms(o, p + 1, end, depth + 1, ok);
			if (!p || p >= end || *p != ')')
				return NULL;
			p++;
		} else {
			const char *key = p, *value;
			size_t key_len, value_len;
			int field = -1;

			while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
				p++;
			key_len = (size_t)(p - key);
			if (key_len == 0 || !isalpha((unsigned char)key[0]))
				return NULL;
			p = skip_space(p, end);
			if (p >= end || *p != '=')
				return NULL;
			p = skip_space(p + 1, end);
			if (p >= end)
				return NULL;
			for (int f = 0; f < LSL_F_COUNT; f++)
				if (strlen(field_names[f]) == key_len && memcmp(field_names[f], key, key_len) == 0)
					field = f;
			if (*p == '\'' || *p == '"') {
				const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));

				if (!close)
					return NULL;
				value = p + 1;
				value_len = (size_t)(close - value);
				p = close + 1;
				/* XPath: a node-set equals a string when its text does. An
				 * element <info> lacks compares false. */
				if (field < 0 || strlen(o->field[field]) != value_len ||
				    memcmp(o->field[field], value, value_len) != 0)
					*ok = false;
			} else {
				/* A number literal: compares the element's text as a number. */
				char num[64], *num_end;
				double want, have;

				value = p;
				while (p < end && (isdigit((unsigned char)*p) || *p == '.' || *p == '-'))
					p++;
				value_len = (size_t)(p - value);
				if (value_len == 0 || value_len >= sizeof(num))
					return NULL;
				memcpy(num, value, value_len);
				num[value_len] = '\0';
				want = strtod(num, &num_end);
				if (*num_end)
					return NULL;
				if (field < 0) {
					*ok = false;
				} else {
					have = strtod(o->field[field], &num_end);
					if (*num_end || o->field[field][0] == '\0' || have != want)
						*ok = false;
				}
			}
		}
		p = skip_space(p, end);
		if (p >= end || *p == ')')
			return depth > 0 || p >= end ? p : NULL;
		if (end - p < 4 || memcmp(p, "and", 3) != 0 || !(is_xpath_space(p[3]) || p[3] == '('))
			return NULL;
		p += 3;
	}
}

int cr_lsl_query_match(const struct cr_lsl_outlet *o, const char *query, size_t len)
{
	const char *end = query + len, *p;
	bool ok = true;

	if (skip_space(query, end) == end)
		return 1; /* liblsl: an empty query matches every stream */
	p = match_terms(o, query, end, 0, &ok);
	if (!p || p != end) {
		cr_debug("lsl: %s: ignoring a query camrig cannot evaluate: \"%.*s\"",
			 o->field[LSL_F_NAME], (int)(len > 200 ? 200 : len), query);
		return 0;
	}
	return ok ? 1 : 0;
}

/* ---- samples ---- */

static void put_double(uint8_t *buf, double v)
{
	memcpy(buf, &v, sizeof(v)); /* host order; Byte-Order in the feed header says which */
}

void cr_lsl_sample_encode(uint8_t *buf, double timestamp, const double value[CR_LSL_CHANNELS])
{
	buf[0] = LSL_TAG_TRANSMITTED;
	put_double(buf + 1, timestamp);
	for (int c = 0; c < CR_LSL_CHANNELS; c++)
		put_double(buf + 9 + 8 * c, value[c]);
}

size_t cr_lsl_string_encode(uint8_t *buf, double timestamp, const char *text, size_t len)
{
	uint8_t *p = buf + 9;

	buf[0] = LSL_TAG_TRANSMITTED;
	put_double(buf + 1, timestamp);
	if (len <= 0xff) {
		*p++ = 1;
		*p++ = (uint8_t)len;
	} else {
		uint32_t n = (uint32_t)len; /* len <= CR_LSL_MARKER_MAX: never the 8-byte width */

		*p++ = 4;
		memcpy(p, &n, sizeof(n));
		p += sizeof(n);
	}
	memcpy(p, text, len);
	return (size_t)(p - buf) + len;
}

/* Queues one encoded slot for the TCP thread; streaming is the number of
 * inlets streaming when the push was counted. */
static void queue_slot(struct cr_lsl_outlet *o, const uint8_t *slot, unsigned streaming)
{
	uint64_t one = 1;
	bool wake;
	int ret;

	pthread_mutex_lock(&o->lock);
	/* Slots still queued mean a wake is pending and the TCP thread has
	 * not taken them yet: it takes this one in the same drain. */
	wake = cr_ring_length(&o->ring) == 0;
	/* A full ring: the TCP thread fell behind by a whole ring, and every
	 * streaming inlet misses the oldest sample. */
	if (cr_ring_push(&o->ring, slot, NULL) == 1)
		atomic_fetch_add_explicit(&o->samples_skipped, streaming, memory_order_relaxed);
	pthread_mutex_unlock(&o->lock);
	/* Send it from this thread if the TCP thread is idle (feed.c), else
	 * wake that thread. An eventfd write only blocks at a counter of
	 * 2^64-2; it is non-blocking anyway. */
	ret = cr_lsl_feed_send_now(o);
	if (ret > 0 || (ret < 0 && wake))
		(void)!write(o->wake_fd, &one, sizeof(one));
}

void cr_lsl_outlet_push(struct cr_lsl_outlet *o, double frame_number, double trigger_time,
			double trigger_type, double timestamp)
{
	uint8_t slot[LSL_SAMPLE_BYTES];
	unsigned streaming;

	if (!o || o->markers)
		return;
	atomic_fetch_add_explicit(&o->samples_pushed, 1, memory_order_relaxed);
	streaming = atomic_load_explicit(&o->streaming, memory_order_acquire);
	if (streaming == 0)
		return;
	cr_lsl_sample_encode(slot, timestamp,
			     (const double[CR_LSL_CHANNELS]){ frame_number, trigger_time, trigger_type });
	queue_slot(o, slot, streaming);
}

int cr_lsl_outlet_push_marker(struct cr_lsl_outlet *o, const char *text, int64_t mono_ns)
{
	uint8_t slot[LSL_MARKER_SLOT];
	unsigned streaming;
	uint32_t n;
	size_t len;

	if (!o)
		return -EINVAL;
	if (!o->markers || !text) {
		atomic_fetch_add_explicit(&o->markers_refused, 1, memory_order_relaxed);
		return -EINVAL;
	}
	len = strnlen(text, CR_LSL_MARKER_MAX + 1);
	if (len > CR_LSL_MARKER_MAX) {
		atomic_fetch_add_explicit(&o->markers_refused, 1, memory_order_relaxed);
		return -E2BIG;
	}
	atomic_fetch_add_explicit(&o->samples_pushed, 1, memory_order_relaxed);
	streaming = atomic_load_explicit(&o->streaming, memory_order_acquire);
	if (streaming == 0)
		return 0;
	n = (uint32_t)cr_lsl_string_encode(slot + sizeof(n), (double)mono_ns / 1e9, text, len);
	memcpy(slot, &n, sizeof(n));
	queue_slot(o, slot, streaming);
	return 0;
}

unsigned cr_lsl_outlet_take(struct cr_lsl_outlet *o, uint8_t *out, unsigned max)
{
	unsigned n = 0;

	pthread_mutex_lock(&o->lock);
	while (n < max && cr_ring_pop(&o->ring, out + (size_t)n * o->slot_bytes))
		n++;
	pthread_mutex_unlock(&o->lock);
	return n;
}

void cr_lsl_outlet_trigger(struct cr_lsl_outlet *o, int type, int64_t mono_ns, int64_t utc_us)
{
	unsigned i;

	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	if (o->ntriggers == LSL_TRIGGERS) {
		/* Forget the oldest: only frames captured before the 7 newest
		 * triggers would need it, and those were pushed long ago. */
		memmove(&o->trigger[0], &o->trigger[1], sizeof(o->trigger[0]) * (LSL_TRIGGERS - 1));
		o->ntriggers--;
	}
	/* Keep the history sorted by time; triggers normally arrive in order. */
	for (i = o->ntriggers; i > 0 && o->trigger[i - 1].mono_ns > mono_ns; i--)
		o->trigger[i] = o->trigger[i - 1];
	o->trigger[i] = (struct lsl_trigger){ .mono_ns = mono_ns, .utc_s = (double)utc_us / 1e6, .type = type };
	o->ntriggers++;
	pthread_mutex_unlock(&o->lock);
}

void cr_lsl_outlet_push_frame(struct cr_lsl_outlet *o, uint64_t frame_number, int64_t mono_ns)
{
	double trigger_time = 0, trigger_type = 0;
	unsigned i;

	if (!o || o->markers)
		return;
	pthread_mutex_lock(&o->lock);
	for (i = o->ntriggers; i > 0 && o->trigger[i - 1].mono_ns > mono_ns; i--)
		;
	if (i > 0) {
		struct lsl_trigger *t = &o->trigger[i - 1];

		trigger_time = t->utc_s;
		if (!t->shown) {
			/* The first frame captured after it (frames come in capture
			 * order); older triggers it hides will never show. */
			trigger_type = t->type;
			for (unsigned j = 0; j < i; j++)
				o->trigger[j].shown = true;
		}
	}
	pthread_mutex_unlock(&o->lock);
	cr_lsl_outlet_push(o, (double)frame_number, trigger_time, trigger_type, (double)mono_ns / 1e9);
}

void cr_lsl_outlet_tap(void *outlet, const struct cr_frame *frame)
{
	cr_lsl_outlet_push_frame(outlet, frame->index, frame->mono_ns);
}

int cr_lsl_outlet_stats(struct cr_lsl_outlet *o, struct cr_lsl_stats *stats)
{
	if (!o || !stats)
		return -EINVAL;
	memset(stats, 0, sizeof(*stats));
	snprintf(stats->uid, sizeof(stats->uid), "%s", o->field[LSL_F_UID]);
	stats->data_port = o->data_port;
	stats->service_port = o->service_port;
	stats->inlets = atomic_load(&o->inlets);
	stats->queries_limited = atomic_load(&o->queries_limited);
	stats->streaming = atomic_load(&o->streaming);
	stats->inlets_total = atomic_load(&o->inlets_total);
	stats->inlets_dropped = atomic_load(&o->inlets_dropped);
	stats->requests_refused = atomic_load(&o->requests_refused);
	stats->requests_timed_out = atomic_load(&o->requests_timed_out);
	stats->queries_answered = atomic_load(&o->queries_answered);
	stats->timedata_answered = atomic_load(&o->timedata_answered);
	stats->samples_pushed = atomic_load(&o->samples_pushed);
	stats->samples_sent = atomic_load(&o->samples_sent);
	stats->samples_skipped = atomic_load(&o->samples_skipped);
	stats->markers_refused = atomic_load(&o->markers_refused);
	return 0;
}

/* ---- helpers shared by the threads ---- */

int cr_lsl_bind_port(int fd, uint16_t base, uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	socklen_t len = sizeof(sa);

	for (int i = 0; i < CR_LSL_PORT_RANGE && base + i <= 65535; i++) {
		sa.sin_port = htons((uint16_t)(base + i));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			*port = (uint16_t)(base + i);
			return 0;
		}
		if (errno != EADDRINUSE && errno != EACCES)
			return -errno;
	}
	/* liblsl's ports.AllowRandomPorts (default true): let the kernel pick. */
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	*port = ntohs(sa.sin_port);
	return 0;
}

int cr_lsl_thread_start(pthread_t *thread, const char *name, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	pthread_setname_np(*thread, name);
	return 0;
}

/* ---- lifecycle ---- */

/* A printable string of 1..LSL_STRING_MAX-1 bytes without control characters
 * (XML 1.0 cannot carry most of them). */
static bool valid_string(const char *s, bool may_be_empty)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if ((!may_be_empty && n == 0) || n >= LSL_STRING_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void make_uid(char out[37])
{
	uint8_t b[16];
	ssize_t n = getrandom(b, sizeof(b), 0);

	if (n != (ssize_t)sizeof(b)) {
		/* No entropy source: time and address still make it unique per run. */
		uint64_t t = (uint64_t)cr_time_mono_ns() ^ (uint64_t)cr_time_utc_us() << 20;
		uint64_t a = (uint64_t)(uintptr_t)out ^ (uint64_t)getpid() << 32;

		memcpy(b, &t, 8);
		memcpy(b + 8, &a, 8);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 1 */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int cr_lsl_outlet_new(const struct cr_lsl_stream_info *info, struct cr_lsl_outlet **out)
{
	struct cr_lsl_outlet *o;
	char hostname[LSL_STRING_MAX] = "", uid[37];
	const char *host, *camera;
	int ret;

	if (!info || !out)
		return -EINVAL;
	*out = NULL;
	host = info->hostname;
	if (!host) {
		if (gethostname(hostname, sizeof(hostname) - 1) < 0)
			snprintf(hostname, sizeof(hostname), "localhost");
		host = hostname;
	}
	camera = info->camera_name ? info->camera_name : info->name;
	if (!valid_string(info->name, false) || (info->type && !valid_string(info->type, false)) ||
	    (info->source_id && !valid_string(info->source_id, true)) ||
	    (info->session_id && !valid_string(info->session_id, true)) || !valid_string(host, true) ||
	    !valid_string(camera, true) || (info->format && !valid_string(info->format, true)) ||
	    !(info->nominal_rate >= 0 && isfinite(info->nominal_rate)))
		return cr_log_ret(-EINVAL, CR_LOG_ERROR,
				  "lsl: stream \"%s\": invalid stream info (names must be 1-%d printable bytes, "
				  "the rate >= 0)", info->name ? info->name : "(null)", LSL_STRING_MAX - 1);

	o = CR_NEW(o);
	o->stop_fd = o->wake_fd = -1;
	pthread_mutex_init(&o->lock, NULL);
	o->markers = info->markers;
	o->slot_bytes = o->markers ? LSL_MARKER_SLOT : LSL_SAMPLE_BYTES;
	o->push_capacity = o->markers ? LSL_MARKER_RING : LSL_PUSH_RING;
	o->inlet_capacity = o->markers ? LSL_MARKER_INLET_RING : LSL_INLET_RING;
	cr_ring_init(&o->ring, o->push_capacity, o->slot_bytes, CR_RING_DROP_OLDEST);
	o->multicast_port = info->multicast_port ? info->multicast_port : CR_LSL_MULTICAST_PORT;
	o->base_port = info->base_port ? info->base_port : CR_LSL_BASE_PORT;
	o->stall_timeout_ns = (info->stall_timeout_ms > 0 ? info->stall_timeout_ms : 10000) * CR_NS_PER_MS;
	o->request_timeout_ns = (info->request_timeout_ms > 0 ? info->request_timeout_ms : 2000) * CR_NS_PER_MS;
	o->limit_loopback = info->limit_loopback;
	if (info->interfaces && info->interfaces[0])
		o->interfaces = cr_asprintf(",%s,", info->interfaces);
	o->camera_name = cr_strdup(camera);
	o->format = cr_strdup(info->format ? info->format : "");
	o->camera_fps = cr_asprintf("%#.16g", info->nominal_rate);
	o->width = info->width;
	o->height = info->height;

	make_uid(uid);
	o->field[LSL_F_NAME] = cr_strdup(info->name);
	o->field[LSL_F_TYPE] = cr_strdup(info->type ? info->type : o->markers ? "Markers" : "VideoEvents");
	o->field[LSL_F_CHANNEL_COUNT] = cr_asprintf("%d", o->markers ? 1 : CR_LSL_CHANNELS);
	o->field[LSL_F_CHANNEL_FORMAT] = cr_strdup(o->markers ? "string" : "double64");
	o->field[LSL_F_SOURCE_ID] = info->source_id ? cr_strdup(info->source_id)
						    : cr_asprintf("camrig:%s:%s%s", host, camera, o->markers ? ":markers" : "");
	/* liblsl writes doubles with precision 16 and showpoint: "%#.16g". */
	o->field[LSL_F_NOMINAL_SRATE] = cr_asprintf("%#.16g", o->markers ? 0.0 : info->nominal_rate);
	o->field[LSL_F_VERSION] = cr_asprintf("%#.16g", LSL_PROTOCOL_VERSION / 100.0);
	o->field[LSL_F_CREATED_AT] = cr_asprintf("%#.16g", cr_lsl_clock());
	o->field[LSL_F_UID] = cr_strdup(uid);
	o->field[LSL_F_SESSION_ID] = cr_strdup(info->session_id ? info->session_id : "default");
	o->field[LSL_F_HOSTNAME] = cr_strdup(host);
	o->field[LSL_F_V4ADDRESS] = cr_strdup(""); /* the inlet takes the reply's source address */
	o->field[LSL_F_V6ADDRESS] = cr_strdup("");
	o->field[LSL_F_V6DATA_PORT] = cr_strdup("0"); /* no IPv6 (doc/lsl-protocol.md) */
	o->field[LSL_F_V6SERVICE_PORT] = cr_strdup("0");
	o->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	o->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->stop_fd < 0 || o->wake_fd < 0) {
		ret = cr_log_ret(-errno, CR_LOG_ERROR, "lsl: stream \"%s\": eventfd: %s", info->name, strerror(errno));
		goto fail;
	}
	ret = cr_lsl_feed_open(o);
	if (ret < 0)
		goto fail;
	ret = cr_lsl_discovery_open(o);
	if (ret < 0)
		goto fail;
	o->field[LSL_F_V4DATA_PORT] = cr_asprintf("%u", o->data_port);
	o->field[LSL_F_V4SERVICE_PORT] = cr_asprintf("%u", o->service_port);
	o->shortinfo = render_info(o, false, &o->shortinfo_len);
	o->fullinfo = render_info(o, true, &o->fullinfo_len);
	cr_lsl_discovery_join(o);
	*out = o;
	return 0;

fail:
	cr_lsl_outlet_free(&o);
	return ret;
}

int cr_lsl_outlet_start(struct cr_lsl_outlet *o)
{
	int ret = cr_lsl_thread_start(&o->tcp_thread, "lsl-tcp", cr_lsl_feed_thread, o);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "lsl: stream \"%s\": cannot start the TCP thread: %s",
				  o->field[LSL_F_NAME], strerror(-ret));
	o->tcp_started = true;
	ret = cr_lsl_thread_start(&o->udp_thread, "lsl-udp", cr_lsl_discovery_thread, o);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "lsl: stream \"%s\": cannot start the UDP thread: %s",
				  o->field[LSL_F_NAME], strerror(-ret));
	o->udp_started = true;
	cr_info("lsl: %s outlet \"%s\" (type %s, source_id %s, uid %s): data on TCP port %u, service on UDP "
		"port %u, discovery on UDP port %u", o->markers ? "markers" : "frames", o->field[LSL_F_NAME],
		o->field[LSL_F_TYPE], o->field[LSL_F_SOURCE_ID], o->field[LSL_F_UID], o->data_port, o->service_port,
		o->multicast_port);
	return 0;
}

void cr_lsl_outlet_stop(struct cr_lsl_outlet *o)
{
	uint64_t one = 1;

	if (o->stop_fd >= 0)
		(void)!write(o->stop_fd, &one, sizeof(one));
	if (o->tcp_started)
		pthread_join(o->tcp_thread, NULL);
	if (o->udp_started)
		pthread_join(o->udp_thread, NULL);
	o->tcp_started = o->udp_started = false;
}

void cr_lsl_outlet_free(struct cr_lsl_outlet **outlet)
{
	struct cr_lsl_outlet *o = outlet ? *outlet : NULL;

	if (!o)
		return;
	cr_lsl_outlet_stop(o);
	cr_lsl_feed_close(o);
	cr_lsl_discovery_close(o);
	if (o->stop_fd >= 0)
		close(o->stop_fd);
	if (o->wake_fd >= 0)
		close(o->wake_fd);
	for (int f = 0; f < LSL_F_COUNT; f++)
		free(o->field[f]);
	free(o->interfaces);
	free(o->camera_name);
	free(o->format);
	free(o->camera_fps);
	free(o->shortinfo);
	free(o->fullinfo);
	cr_ring_fini(&o->ring);
	pthread_mutex_destroy(&o->lock);
	free(o);
	*outlet = NULL;
}

bool cr_lsl_interface_allowed(const struct cr_lsl_outlet *o, const char *ifname)
{
	char item[IF_NAMESIZE + 3];

	if (!o->interfaces)
		return true;
	snprintf(item, sizeof(item), ",%s,", ifname);
	return strstr(o->interfaces, item) != NULL;
}

bool cr_lsl_address_allowed(const struct cr_lsl_outlet *o, struct in_addr addr)
{
	struct ifaddrs *ifs, *ifa;
	bool allowed = false;

	if (!o->interfaces)
		return true;
	if (getifaddrs(&ifs) < 0)
		return false;
	for (ifa = ifs; ifa && !allowed; ifa = ifa->ifa_next)
		allowed = ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET &&
			  ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr == addr.s_addr &&
			  cr_lsl_interface_allowed(o, ifa->ifa_name);
	freeifaddrs(ifs);
	return allowed;
}
