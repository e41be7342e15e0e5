/* `camrig monitor` and `camrig status` (see monitor.h).
 *
 * Design: one thread. libcurl's multi interface carries two transfers, the
 * /status poll (a new request every POLL_NS while none is in flight) and
 * the /api/events stream (reconnected RECONNECT_NS after it ends), and
 * curl_multi_poll() waits on both and on the keyboard (stdin) with a short
 * timeout, so a key, a resize (ncurses turns SIGWINCH into KEY_RESIZE) and
 * a reply are all handled within POLL_WAIT_MS. A daemon that goes away is
 * shown as such and asked again every second; when it is back, the view
 * fills again. Keys POST one command line to /api/command (the grammar
 * every control path speaks) and show the reply's first line.
 *
 * The view is rendered into lines of text first (render()), which the
 * monitor draws with ncurses and `camrig status` prints, so both show the
 * same. Everything drawn is ASCII, for any terminal over SSH. */
#include "app/monitor.h"

#include "app/client.h"
#include "base/mem.h"
#include "camrig-version.h"
#include "http/http.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <ncurses.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define POLL_NS 1000000000LL          /* /status once a second */
#define RECONNECT_NS 1000000000LL     /* the event stream, again after it ends */
#define POLL_WAIT_MS 200              /* keys and resizes are handled this often at least */
#define HISTORY 24                    /* fps samples kept per camera (one a second) */
#define EVENTS_MAX 64                 /* latest events kept */
#define CAMERAS_MAX 16
#define LINES_MAX 200
#define LINE_MAX_BYTES 512
#define BODY_MAX (4 * 1024 * 1024)    /* a /status larger than this is not camrig's */
#define SSE_MAX (256 * 1024)          /* an event larger than this is dropped */

enum attr { PLAIN, BOLD, REVERSE, DIM };

struct line {
	char text[LINE_MAX_BYTES];
	enum attr attr;
};

struct lines {
	struct line line[LINES_MAX];
	unsigned n;
	int width;
};

struct history {
	char name[72];
	double fps[HISTORY];          /* oldest first */
	unsigned n;
};

struct view {
	char base[512];               /* http://HOST:PORT */
	json_t *status;               /* the latest /status; NULL while none */
	char error[256];              /* why the last poll failed; "" after a success */
	struct history hist[CAMERAS_MAX];
	char events[EVENTS_MAX][LINE_MAX_BYTES]; /* oldest first */
	unsigned nevents;
	bool events_connected;
	char message[LINE_MAX_BYTES]; /* the last key's outcome */
	bool help;
	unsigned selected;            /* the camera keys act on */
};

/* ---- text --------------------------------------------------------------- */

static void add(struct lines *l, enum attr attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(struct lines *l, enum attr attr, const char *fmt, ...)
{
	va_list ap;

	if (l->n == LINES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(l->line[l->n].text, sizeof(l->line[0].text), fmt, ap);
	va_end(ap);
	/* ASCII only: anything else (a UTF-8 name) as '?' */
	for (char *c = l->line[l->n].text; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	l->line[l->n++].attr = attr;
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static double num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "12.3 MB", "512 kB", "12 B". */
static const char *bytes(double b, char *buf, size_t len)
{
	if (isnan(b))
		snprintf(buf, len, "?");
	else if (b >= 1e9)
		snprintf(buf, len, "%.1f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(buf, len, "%.1f MB", b / 1e6);
	else if (b >= 1e3)
		snprintf(buf, len, "%.0f kB", b / 1e3);
	else
		snprintf(buf, len, "%.0f B", b);
	return buf;
}

/* "1h02m03s", "02:03" style elapsed time of s seconds. */
static const char *elapsed(double s, char *buf, size_t len)
{
	long t = isnan(s) || s < 0 ? 0 : (long)s;

	if (t >= 3600)
		snprintf(buf, len, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%02ld:%02ld", t / 60, t % 60);
	return buf;
}

/* A bar of width cells, filled for part of whole: "[#####.....]". */
static const char *bar(double part, double whole, int width, char *buf, size_t len)
{
	int fill = whole > 0 && !isnan(part) ? (int)lround(part / whole * width) : 0;

	if (fill > width)
		fill = width;
	if (fill < 0)
		fill = 0;
	if ((size_t)width + 3 > len)
		width = (int)len - 3;
	buf[0] = '[';
	for (int i = 0; i < width; i++)
		buf[1 + i] = i < fill ? '#' : '.';
	buf[width + 1] = ']';
	buf[width + 2] = '\0';
	return buf;
}

/* The fps history as a sparkline of n cells, scaled to its own maximum. */
static const char *sparkline(const struct history *h, unsigned n, char *buf, size_t len)
{
	static const char levels[] = "_.-=+*#";
	double max = 0;
	unsigned i, start = h->n > n ? h->n - n : 0;

	for (i = start; i < h->n; i++)
		max = h->fps[i] > max ? h->fps[i] : max;
	for (i = 0; i < n && i + 1 < len; i++) {
		unsigned k = start + i;

		if (k >= h->n)
			buf[i] = ' ';
		else
			buf[i] = levels[max > 0 ? (int)lround(h->fps[k] / max * (sizeof(levels) - 2)) : 0];
	}
	buf[i] = '\0';
	return buf;
}

static struct history *history_of(struct view *v, const char *name)
{
	for (unsigned i = 0; i < CAMERAS_MAX; i++)
		if (strcmp(v->hist[i].name, name) == 0)
			return &v->hist[i];
	for (unsigned i = 0; i < CAMERAS_MAX; i++)
		if (!v->hist[i].name[0]) {
			snprintf(v->hist[i].name, sizeof(v->hist[i].name), "%s", name);
			return &v->hist[i];
		}
	return &v->hist[CAMERAS_MAX - 1];
}

static void history_add(struct view *v, json_t *status)
{
	size_t i;
	json_t *cam;

	json_array_foreach(json_object_get(status, "cameras"), i, cam) {
		struct history *h = history_of(v, str(cam, "name"));
		double fps = num(json_object_get(cam, "fps"), "measured");

		if (h->n == HISTORY) {
			memmove(h->fps, h->fps + 1, (HISTORY - 1) * sizeof(h->fps[0]));
			h->n--;
		}
		h->fps[h->n++] = isnan(fps) || strcmp(str(cam, "state"), "running") != 0 ? 0 : fps;
	}
}

/* ---- the view -------------------------------------------------------------- */

static void render_host(struct lines *l, json_t *st)
{
	json_t *host = json_object_get(st, "host"), *proc = json_object_get(host, "process"), *z, *sensor;
	json_t *disk = json_array_get(json_object_get(host, "disks"), 0), *ntfy = json_object_get(st, "ntfy");
	char line[LINE_MAX_BYTES], b[32];
	size_t i, n = 0;

	if (json_is_object(host)) {
		if (json_is_number(json_object_get(host, "cpu_percent")))
			n = (size_t)snprintf(line, sizeof(line), "host: CPU %3.0f%%", num(host, "cpu_percent"));
		else
			n = (size_t)snprintf(line, sizeof(line), "host: CPU   ?");
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  mem %.0f%%  load %.2f",
				      num(json_object_get(host, "memory"), "used_percent"),
				      json_number_value(json_array_get(json_object_get(host, "load"), 0)));
		if (json_is_object(disk) && !*str(disk, "error"))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "  disk %s free", bytes(num(disk, "free_bytes"),
					      b, sizeof(b)));
		json_array_foreach(json_object_get(host, "thermal"), i, z) {
			if (n >= sizeof(line) || i >= 2)
				break;
			n += (size_t)snprintf(line + n, sizeof(line) - n, "  %.1fC", num(z, "celsius"));
		}
		if (json_is_object(json_object_get(host, "throttled")) && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "  THROTTLED %s",
					      str(json_object_get(host, "throttled"), "flags"));
		add(l, PLAIN, "%s", line);
		add(l, PLAIN, "camrig: CPU %.0f%%  RSS %s  %.0f threads  %.0f files", num(proc, "cpu_percent"),
		    bytes(num(proc, "rss_bytes"), b, sizeof(b)), num(proc, "threads"), num(proc, "open_fds"));
	}
	n = (size_t)snprintf(line, sizeof(line), "http: %.0f live views, %.0f connections",
			     num(json_object_get(st, "http"), "live_views"), num(json_object_get(st, "http"), "connections"));
	if (json_is_object(ntfy))
		n += (size_t)snprintf(line + n, sizeof(line) - n, " | ntfy: %s, %.0f run, %.0f published",
				      json_is_true(json_object_get(ntfy, "connected")) ? "connected" : "NOT CONNECTED",
				      num(ntfy, "messages_run"), num(ntfy, "published"));
	else
		n += (size_t)snprintf(line + n, sizeof(line) - n, " | ntfy: off");
	add(l, PLAIN, "%s", line);
	n = 0;
	json_array_foreach(json_object_get(st, "sensors"), i, sensor) {
		if (n >= sizeof(line))
			break;
		if (json_is_true(json_object_get(sensor, "ok")))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %.4g %s", i ? ", " : "sensors: ",
					      str(sensor, "name"), num(sensor, "value"), str(sensor, "unit"));
		else
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s: FAILING", i ? ", " : "sensors: ",
					      str(sensor, "name"));
	}
	if (n)
		add(l, PLAIN, "%s", line);
}

static void render_camera(struct view *v, struct lines *l, json_t *cam, bool selected)
{
	json_t *frames = json_object_get(cam, "frames"), *rec = json_object_get(cam, "recording");
	json_t *pre = json_object_get(rec, "pre_trigger"), *lsl = json_object_get(cam, "lsl");
	json_t *tl = json_object_get(cam, "timelapse"), *c;
	char spark[HISTORY + 1], b[32], t[32], pb[24], line[LINE_MAX_BYTES];
	double dropped = num(frames, "dropped_pool");
	size_t i, n;

	json_array_foreach(json_object_get(cam, "consumers"), i, c)
		dropped += num(c, "dropped");
	add(l, selected ? BOLD : PLAIN, "%s %-12s %-8s %5.1f fps %s  %.0fx%.0f %s", selected ? ">" : " ", str(cam, "name"),
	    str(cam, "state"), num(json_object_get(cam, "fps"), "measured"),
	    sparkline(history_of(v, str(cam, "name")), l->width >= 80 ? 20 : 10, spark, sizeof(spark)),
	    num(cam, "width"), num(cam, "height"), str(cam, "format"));
	n = (size_t)snprintf(line, sizeof(line), "  frames %.0f  dropped %.0f  lost %.0f  clients %.0f",
			     num(frames, "captured"), dropped, num(frames, "lost_upstream"), num(cam, "clients"));
	if (json_is_object(lsl))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  LSL %.0f inlets", num(lsl, "streaming"));
	if (*str(cam, "error") && strcmp(str(cam, "state"), "running") != 0)
		snprintf(line + n, sizeof(line) - n, "  (%s)", str(cam, "error"));
	add(l, PLAIN, "%s", line);
	if (json_is_true(json_object_get(rec, "recording")))
		n = (size_t)snprintf(line, sizeof(line), "  RECORDING %s %s", elapsed(num(rec, "seconds"), t, sizeof(t)),
				     bytes(num(rec, "bytes"), b, sizeof(b)));
	else
		n = (size_t)snprintf(line, sizeof(line), "  recording %s", json_is_object(rec) ? str(rec, "state") : "off");
	if (json_is_object(pre) && num(pre, "target_seconds") > 0)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  pre-trigger %s %.1f/%.0f s",
				      bar(num(pre, "seconds"), num(pre, "target_seconds"), 10, pb, sizeof(pb)),
				      num(pre, "seconds"), num(pre, "target_seconds"));
	if (json_is_object(tl) && strcmp(str(tl, "state"), "idle") != 0)
		snprintf(line + n, sizeof(line) - n, "  timelapse %s %.0f shots", str(tl, "state"), num(tl, "shots"));
	else if (json_is_object(tl))
		snprintf(line + n, sizeof(line) - n, "  timelapse idle");
	add(l, PLAIN, "%s", line);
}

static const char help_text[] =
	"keys: r start recording   s stop recording   p snapshot   t timelapse shot\n"
	"      Tab next camera      c clear events     h help       q quit\n"
	"\n"
	"Each key runs a command of the daemon (POST /api/command): start_recording,\n"
	"stop_recording, snapshot, timelapse shot; with several cameras, on the one\n"
	"marked '>'. The view is /status, asked for once a second, and /api/events.\n"
	"fps: measured, with the last seconds as a line (_ none .. # the most).\n"
	"dropped: frames the pool or a consumer (JPEG stage, encoder) dropped;\n"
	"lost: gaps in the driver's sequence numbers, before camrig.\n";

static void render(struct view *v, struct lines *l, bool with_events, bool with_keys)
{
	json_t *st = v->status, *cam;
	char t[32];
	size_t i;

	l->n = 0;
	add(l, REVERSE, "camrig %s at %s  up %s  %s", st ? str(st, "version") : "", v->base,
	    st ? elapsed(num(st, "uptime"), t, sizeof(t)) : "-", st ? str(st, "time") : "");
	if (!st) {
		add(l, BOLD, "the daemon does not answer: %s", v->error[0] ? v->error : "no reply yet");
		add(l, PLAIN, "asking again every second (is `camrig run` listening there? see --listen)");
	} else {
		if (v->error[0])
			add(l, BOLD, "the daemon stopped answering: %s; retrying", v->error);
		render_host(l, st);
		json_array_foreach(json_object_get(st, "cameras"), i, cam)
			render_camera(v, l, cam, json_array_size(json_object_get(st, "cameras")) > 1 && i == v->selected);
	}
	if (v->help) {
		const char *p = help_text;

		while (*p) {
			size_t len = strcspn(p, "\n");

			add(l, PLAIN, "%.*s", (int)len, p);
			p += len + (p[len] == '\n');
		}
	}
	if (with_events) {
		add(l, DIM, "events%s:", v->events_connected ? "" : " (not connected)");
		/* the newest at the bottom, as many as fit; draw() cuts from the top */
		for (unsigned k = 0; k < v->nevents; k++)
			add(l, PLAIN, "  %s", v->events[k]);
	}
	if (with_keys)
		add(l, REVERSE, "%s", v->message[0] ? v->message
						    : "r record  s stop  p snapshot  t shot  Tab camera  c clear  h help  q quit");
}

/* ---- talking to the daemon ----------------------------------------------- */

struct buffer {
	char *data;
	size_t len;
	bool too_large;
	size_t max;
};

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	struct buffer *b = ctx;
	size_t add_len = size * n;

	if (b->len + add_len > b->max) {
		b->too_large = true;
		return 0;
	}
	b->data = cr_realloc(b->data, b->len + add_len + 1);
	memcpy(b->data + b->len, data, add_len);
	b->len += add_len;
	b->data[b->len] = '\0';
	return add_len;
}

struct client {
	const char *listen;
	char *credentials;
	struct curl_slist *headers;   /* auth, X-Camrig */
};

static CURL *request(struct client *cl, const char *path, struct buffer *body, long timeout_s)
{
	CURL *curl = curl_easy_init();
	char url[600];

	if (!curl)
		abort();
	cr_client_url(cl->listen, path, url, sizeof(url));
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 3L);
	if (timeout_s)
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
	if (cl->credentials && strncmp(cl->credentials, "Bearer ", 7) != 0)
		cr_client_auth(curl, cl->credentials, NULL); /* Basic: per transfer; a token is in cl->headers */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, cl->headers);
	return curl;
}

/* Runs one command line on the daemon; its outcome into v->message. */
static void run_command(struct view *v, struct client *cl, const char *line)
{
	struct buffer body = { .max = BODY_MAX };
	CURL *curl = request(cl, "/api/command", &body, 5);
	json_t *reply;
	CURLcode res;
	long code = 0;

	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, line);
	res = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(curl);
	reply = body.data ? json_loads(body.data, 0, NULL) : NULL;
	if (res != CURLE_OK)
		snprintf(v->message, sizeof(v->message), "%s: %s", line, curl_easy_strerror(res));
	else if (json_is_true(json_object_get(reply, "ok")))
		snprintf(v->message, sizeof(v->message), "%s: ok%s%s", line, *str(reply, "file") ? " " : "",
			 str(reply, "file"));
	else
		snprintf(v->message, sizeof(v->message), "%s: %ld %s", line, code, str(reply, "error"));
	json_decref(reply);
	free(body.data);
}

/* The SSE stream's bytes: each message ends with a blank line. */
static void take_events(struct view *v, struct buffer *sse)
{
	char *end;

	while (sse->data && (end = strstr(sse->data, "\n\n"))) {
		char *msg = sse->data, type[64] = "", *data = NULL;
		size_t used = (size_t)(end - sse->data) + 2;

		*end = '\0';
		for (char *p = msg; p && *p;) {
			char *nl = strchr(p, '\n');

			if (nl)
				*nl = '\0';
			if (strncmp(p, "event: ", 7) == 0)
				snprintf(type, sizeof(type), "%s", p + 7);
			else if (strncmp(p, "data: ", 6) == 0)
				data = p + 6;
			p = nl ? nl + 1 : NULL;
		}
		if (type[0] && data && strcmp(type, "sensors") != 0) {
			json_t *e = json_loads(data, 0, NULL);
			const char *time = str(e, "time"), *tm = strchr(time, 'T');
			char text[LINE_MAX_BYTES];
			size_t n = (size_t)snprintf(text, sizeof(text), "%.8s %s", tm ? tm + 1 : "", type);

			for (const char *const *k = (const char *const[]){ "camera", "command", "file", "error", "reason",
									      NULL }; *k && n < sizeof(text); k++)
				if (*str(e, *k))
					n += (size_t)snprintf(text + n, sizeof(text) - n, " %s", str(e, *k));
			if (v->nevents == EVENTS_MAX) {
				memmove(v->events, v->events + 1, (EVENTS_MAX - 1) * sizeof(v->events[0]));
				v->nevents--;
			}
			snprintf(v->events[v->nevents++], sizeof(v->events[0]), "%s", text);
			json_decref(e);
		}
		memmove(sse->data, sse->data + used, sse->len - used + 1);
		sse->len -= used;
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the screen ----------------------------------------------------------- */

static void put_line(int row, const struct line *line, int cols)
{
	attrset(line->attr == BOLD ? A_BOLD : line->attr == REVERSE ? A_REVERSE : line->attr == DIM ? A_DIM
											      : A_NORMAL);
	mvaddnstr(row, 0, line->text, cols);
	if (line->attr == REVERSE)
		for (int c = (int)strlen(line->text); c < cols; c++)
			addch(' ');
	attrset(A_NORMAL);
}

/* The status and cameras from the top, the keys on the bottom row, and
 * between them the events header and the newest events that fit. */
static void draw(struct view *v)
{
	static struct lines l;
	int rows, cols, row = 0;
	unsigned events_at = 0, i;

	getmaxyx(stdscr, rows, cols);
	l.width = cols;
	render(v, &l, true, true);
	while (events_at < l.n && l.line[events_at].attr != DIM)
		events_at++;
	erase();
	for (i = 0; i < events_at && row < rows - 1; i++)
		put_line(row++, &l.line[i], cols);
	if (row < rows - 1) {
		unsigned events = l.n - 2 - events_at, fit = (unsigned)(rows - 2 - row);

		put_line(row++, &l.line[events_at], cols);
		for (i = events_at + 1 + (events > fit ? events - fit : 0); i + 1 < l.n; i++)
			put_line(row++, &l.line[i], cols);
	}
	put_line(rows - 1, &l.line[l.n - 1], cols);
	refresh();
}

static const char monitor_usage[] =
	"Usage: camrig monitor [--listen HOST:PORT] [--credentials FILE]\n\n"
	"A terminal view of the camrig daemon at HOST:PORT (default 127.0.0.1:8080; also a URL):\n"
	"each camera's measured fps with its last seconds, frames dropped and lost, clients,\n"
	"recording (time, size), the pre-trigger buffer, LSL inlets, timelapse, ntfy, the host's\n"
	"CPU, memory, disk and temperature, the sensors and the latest events.\n"
	"Keys: r start recording, s stop, p snapshot, t timelapse shot, Tab next camera,\n"
	"c clear events, h help, q quit. It keeps trying while the daemon is away.\n"
	"Credentials as for camrig record: the first line of FILE, else $CAMRIG_CREDENTIALS.\n";

static const char status_usage[] =
	"Usage: camrig status [--json] [--listen HOST:PORT] [--credentials FILE]\n\n"
	"Prints what camrig monitor shows, once; with --json the daemon's /status as it is.\n"
	"Exit status 1 when the daemon does not answer.\n";

/* The options both take. Returns 0, or the exit status of a usage error. */
static int parse_options(int argc, char **argv, const char *usage, bool *json, struct client *cl)
{
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' }, { "credentials", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	int opt;

	cl->listen = "127.0.0.1:8080";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "l:h", options, NULL)) != -1) {
		switch (opt) {
		case 'l': cl->listen = optarg; break;
		case 'k': file = optarg; break;
		case 'j':
			if (!json)
				return fputs(usage, stderr), 2;
			*json = true;
			break;
		case 'h': return fputs(usage, stdout), -1;
		default: return fputs(usage, stderr), 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "camrig: %s: unexpected argument \"%s\"\n%s", argv[0], argv[optind], usage);
		return 2;
	}
	if (cr_client_credentials(file, NULL, &cl->credentials))
		return 1;
	cl->headers = curl_slist_append(NULL, CR_HTTP_REQUEST_HEADER ": 1");
	cl->headers = curl_slist_append(cl->headers, "Content-Type: text/plain");
	if (cl->credentials && strncmp(cl->credentials, "Bearer ", 7) == 0)
		cr_client_auth(NULL, cl->credentials, &cl->headers);
	return 0;
}

static void client_free(struct client *cl)
{
	cr_client_credentials_free(&cl->credentials);
	curl_slist_free_all(cl->headers);
}

static void on_key(struct view *v, struct client *cl, int key)
{
	json_t *cams = json_object_get(v->status, "cameras");
	const char *name = json_array_size(cams) > 1 ? str(json_array_get(cams, v->selected), "name") : "";
	char line[160];
	const char *verb = NULL;

	switch (key) {
	case 'r': case 'R': verb = "start_recording"; break;
	case 's': case 'S': verb = "stop_recording"; break;
	case 'p': case 'P': verb = "snapshot"; break;
	case 't': case 'T': verb = "timelapse shot"; break;
	case '\t':
		v->selected = json_array_size(cams) ? (v->selected + 1) % (unsigned)json_array_size(cams) : 0;
		return;
	case 'c': case 'C':
		v->nevents = 0;
		v->message[0] = '\0';
		return;
	case 'h': case 'H': case '?':
		v->help = !v->help;
		return;
	default:
		return;
	}
	snprintf(line, sizeof(line), "%s%s%s", verb, *name ? " camera=" : "", name);
	snprintf(v->message, sizeof(v->message), "%s ...", line);
	draw(v);
	run_command(v, cl, line);
}

int cr_monitor_main(int argc, char **argv)
{
	struct client cl = { 0 };
	struct view v = { 0 };
	struct buffer status_body = { .max = BODY_MAX }, sse_body = { .max = SSE_MAX };
	CURL *status_req = NULL, *sse_req = NULL;
	int64_t next_poll = 0, next_sse = 0;
	CURLM *multi;
	int ret = parse_options(argc, argv, monitor_usage, NULL, &cl), running;
	bool quit = false;

	if (ret)
		return ret < 0 ? 0 : ret;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "camrig: monitor: needs a terminal (for one reading: camrig status)\n");
		client_free(&cl);
		return 1;
	}
	cr_client_url(cl.listen, "", v.base, sizeof(v.base));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	if (!initscr()) {
		fprintf(stderr, "camrig: monitor: cannot use the terminal (TERM=%s)\n", getenv("TERM"));
		return 1;
	}
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	draw(&v);
	while (!quit) {
		struct curl_waitfd keyboard = { .fd = STDIN_FILENO, .events = CURL_WAIT_POLLIN };
		int64_t now = now_ns();
		CURLMsg *msg;
		int key, left;
		bool dirty = false;

		if (!status_req && now >= next_poll) {
			status_body.len = 0;
			status_req = request(&cl, "/status", &status_body, 3);
			curl_multi_add_handle(multi, status_req);
			next_poll = now + POLL_NS;
		}
		if (!sse_req && now >= next_sse) {
			sse_body.len = 0;
			if (sse_body.data)
				sse_body.data[0] = '\0';
			sse_req = request(&cl, "/api/events", &sse_body, 0);
			curl_multi_add_handle(multi, sse_req);
		}
		curl_multi_poll(multi, &keyboard, 1, POLL_WAIT_MS, NULL);
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left))) {
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			if (msg->easy_handle == status_req) {
				json_t *st = msg->data.result == CURLE_OK && code == 200 && status_body.data
						     ? json_loads(status_body.data, 0, NULL) : NULL;

				if (st) {
					json_decref(v.status);
					v.status = st;
					v.error[0] = '\0';
					history_add(&v, st);
				} else {
					json_decref(v.status);
					v.status = NULL;
					if (msg->data.result != CURLE_OK)
						snprintf(v.error, sizeof(v.error), "%s", curl_easy_strerror(msg->data.result));
					else
						snprintf(v.error, sizeof(v.error), "/status answered %ld", code);
				}
				curl_multi_remove_handle(multi, status_req);
				curl_easy_cleanup(status_req);
				status_req = NULL;
			} else if (msg->easy_handle == sse_req) {
				curl_multi_remove_handle(multi, sse_req);
				curl_easy_cleanup(sse_req);
				sse_req = NULL;
				v.events_connected = false;
				next_sse = now_ns() + RECONNECT_NS;
			}
			dirty = true;
		}
		if (sse_req && sse_body.len) {
			v.events_connected = true;
			take_events(&v, &sse_body);
			dirty = true;
		}
		while ((key = getch()) != ERR) {
			if (key == 'q' || key == 'Q')
				quit = true;
			else if (key != KEY_RESIZE)
				on_key(&v, &cl, key);
			dirty = true;
		}
		if (dirty)
			draw(&v);
	}
	endwin();
	if (status_req) {
		curl_multi_remove_handle(multi, status_req);
		curl_easy_cleanup(status_req);
	}
	if (sse_req) {
		curl_multi_remove_handle(multi, sse_req);
		curl_easy_cleanup(sse_req);
	}
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	json_decref(v.status);
	free(status_body.data);
	free(sse_body.data);
	client_free(&cl);
	return 0;
}

int cr_status_main(int argc, char **argv)
{
	struct client cl = { 0 };
	struct buffer body = { .max = BODY_MAX };
	static struct view v;
	static struct lines l;
	bool json = false;
	struct winsize ws;
	CURLcode res;
	CURL *curl;
	long code = 0;
	int ret = parse_options(argc, argv, status_usage, &json, &cl);

	if (ret)
		return ret < 0 ? 0 : ret;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = request(&cl, "/status", &body, 10);
	res = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	cr_client_url(cl.listen, "", v.base, sizeof(v.base));
	client_free(&cl);
	if (res != CURLE_OK || code != 200) {
		fprintf(stderr, "camrig: status: %s/status: %s (is `camrig run` listening there? see --listen)\n", v.base,
			res != CURLE_OK ? curl_easy_strerror(res) : "not 200");
		free(body.data);
		return 1;
	}
	if (json) {
		fputs(body.data, stdout);
		free(body.data);
		return 0;
	}
	v.status = json_loads(body.data, 0, NULL);
	free(body.data);
	if (!v.status) {
		fprintf(stderr, "camrig: status: %s/status: not JSON\n", v.base);
		return 1;
	}
	history_add(&v, v.status);
	l.width = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
	render(&v, &l, false, false);
	for (unsigned i = 0; i < l.n; i++)
		printf("%.*s\n", l.width, l.line[i].text);
	json_decref(v.status);
	return 0;
}
