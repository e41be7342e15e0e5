/* Host and sensor telemetry (see telemetry.h).
 *
 * Design: one thread, woken by a condition variable with a deadline (the
 * next host sample or sensor round, whichever is first), never
 * sleep-polling. Each sample is made into a local struct without the lock
 * and copied in under it, so cr_telemetry_stats() never waits on a file
 * read. CPU use is the difference between two samples of /proc/stat (the
 * host) and /proc/self/stat (camrig), so the first sample has none.
 *
 * Sensors: a device is looked up by its directory or its sysfs "name" on
 * every read, so a device that appears later (a module loaded after camrig
 * started, a USB hwmon plugged in) is found then. IIO channels are read
 * from in_CHANNEL_input (already scaled) or in_CHANNEL_raw with
 * in_CHANNEL_scale / in_CHANNEL_offset, falling back to the attributes
 * shared by the channel type (in_voltage_scale for voltage0), as the ABI
 * allows; values are then turned from the ABI's milli-units into base units.
 * The kernel's dht11 driver answers a read it cannot make (a checksum
 * error, a timeout) with an errno, which becomes the sensor's error. */
#include "telemetry/telemetry.h"

#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Paths and messages are built in bounded buffers; a path cut short names
 * no file and its read fails, so GCC's guesses at truncation are noise. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* Where sysfs and procfs are: the unit test points these at a tree of its own. */
static const char *sysfs_root = "/sys";
static const char *procfs_root = "/proc";

#define THROTTLED_PATH "devices/platform/soc/soc:firmware/get_throttled"

struct cr_telemetry {
	const struct cr_telemetry_config *config;
	struct cr_events *events;
	char roots[CR_TELEMETRY_DISKS_MAX][256];
	unsigned nroots;
	pthread_t thread;
	bool started;

	/* previous samples, for CPU use; the thread's alone (and new()'s) */
	uint64_t prev_busy, prev_total;      /* /proc/stat jiffies */
	double prev_proc_cpu_s;              /* camrig's CPU time, s */
	int64_t prev_mono_ns;

	pthread_mutex_t lock;                /* guards everything below */
	pthread_cond_t wake;
	bool stopping;
	struct cr_telemetry_stats stats;
};

/* ---- files ----------------------------------------------------------------- */

/* Reads the first line of path into buf (len bytes; the newline cut).
 * Returns 0 or a negative errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		ret = ferror(f) ? -(errno ? errno : EIO) : -ENODATA;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return ret;
}

/* Reads a number from path into *value. Returns 0, a negative errno, or
 * -EINVAL when the file holds no number. */
static int read_number(const char *path, double *value)
{
	char buf[64], *end;
	int ret = read_line(path, buf, sizeof(buf));

	if (ret < 0)
		return ret;
	errno = 0;
	*value = strtod(buf, &end);
	if (end == buf || errno)
		return -EINVAL;
	return 0;
}

/* ---- the host ---------------------------------------------------------------- */

/* /proc/stat's first line: busy and total jiffies of all CPUs. */
static int read_cpu(uint64_t *busy, uint64_t *total)
{
	char path[64], line[512];
	unsigned long long v[10] = { 0 };
	int n, ret;

	snprintf(path, sizeof(path), "%s/stat", procfs_root);
	ret = read_line(path, line, sizeof(line));
	if (ret < 0)
		return ret;
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6], &v[7], &v[8], &v[9]);
	if (n < 4)
		return -EINVAL;
	*total = 0;
	for (int i = 0; i < 8; i++) /* guest time (8, 9) is counted in user time already */
		*total += v[i];
	*busy = *total - v[3] - v[4]; /* idle and iowait */
	return 0;
}

/* camrig's own line of /proc/self/stat (proc(5)): CPU time, threads, start,
 * sizes. */
static void read_process(struct cr_host_stats *h)
{
	char path[64], line[1024], *p;
	unsigned long long utime, stime, start, vsize;
	long long rss, threads;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	double boot_unix = 0;
	struct rlimit rl;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/self/stat", procfs_root);
	if (read_line(path, line, sizeof(line)) == 0 && (p = strrchr(line, ')')) &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %lld %*d %llu %llu %lld",
		   &utime, &stime, &threads, &start, &vsize, &rss) == 6) {
		h->process_cpu_seconds = (double)(utime + stime) / (double)tick;
		h->threads = (unsigned)threads;
		h->vsize_bytes = vsize;
		h->rss_bytes = (uint64_t)rss * (uint64_t)page;
		boot_unix = (double)cr_time_utc_us() / 1e6 - h->uptime_s;
		h->start_time_unix = boot_unix + (double)start / (double)tick;
	}
	snprintf(path, sizeof(path), "%s/self/fd", procfs_root);
	dir = opendir(path);
	if (dir) {
		struct dirent *de;

		h->open_fds = 0;
		while ((de = readdir(dir)))
			if (de->d_name[0] != '.')
				h->open_fds++;
		closedir(dir);
		h->open_fds--; /* the directory being read */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		h->max_fds = rl.rlim_cur;
}

static void read_memory(struct cr_host_stats *h)
{
	char path[64], line[256];
	unsigned long long kb;
	FILE *f;

	snprintf(path, sizeof(path), "%s/meminfo", procfs_root);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			h->mem_total_bytes = kb * 1024;
		else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			h->mem_available_bytes = kb * 1024;
	}
	fclose(f);
}

static void read_thermal(struct cr_host_stats *h)
{
	char path[PATH_MAX], dirpath[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "%s/class/thermal", sysfs_root);
	dir = opendir(dirpath);
	if (!dir)
		return;
	while ((de = readdir(dir)) && h->nthermal < CR_TELEMETRY_THERMAL_MAX) {
		struct cr_thermal_zone *z = &h->thermal[h->nthermal];
		double milli;

		if (strncmp(de->d_name, "thermal_zone", 12) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/temp", dirpath, de->d_name);
		if (read_number(path, &milli) < 0)
			continue;
		snprintf(z->zone, sizeof(z->zone), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/%s/type", dirpath, de->d_name);
		if (read_line(path, z->type, sizeof(z->type)) < 0)
			z->type[0] = '\0';
		z->celsius = milli / 1000;
		h->nthermal++;
	}
	closedir(dir);
}

/* Free space of the file system a root is on: the root, or the nearest
 * directory above it that exists (a root camrig has not made yet). */
static void read_disk(const char *root, struct cr_disk_stats *d)
{
	char path[256];
	struct statvfs sv;

	snprintf(d->path, sizeof(d->path), "%s", root);
	snprintf(path, sizeof(path), "%s", root);
	for (;;) {
		char *slash;

		if (statvfs(path, &sv) == 0) {
			d->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
			d->total_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
			d->error = 0;
			return;
		}
		d->error = -errno;
		if (errno != ENOENT)
			return;
		slash = strrchr(path, '/');
		if (!slash) {
			if (strcmp(path, ".") == 0)
				return;
			snprintf(path, sizeof(path), ".");
		} else if (slash == path) {
			path[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
}

static void sample_host(struct cr_telemetry *t, struct cr_host_stats *h)
{
	int64_t now = cr_time_mono_ns();
	uint64_t busy = 0, total = 0;
	char path[PATH_MAX], line[128];
	double up;

	memset(h, 0, sizeof(*h));
	h->sampled = true;
	h->utc_us = cr_time_utc_us();
	h->cpu_percent = -1;
	h->process_cpu_percent = -1;
	h->cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(path, sizeof(path), "%s/uptime", procfs_root);
	if (read_number(path, &up) == 0)
		h->uptime_s = up;
	snprintf(path, sizeof(path), "%s/loadavg", procfs_root);
	if (read_line(path, line, sizeof(line)) == 0)
		sscanf(line, "%lf %lf %lf", &h->load[0], &h->load[1], &h->load[2]);
	if (read_cpu(&busy, &total) == 0) {
		if (t->prev_total && total > t->prev_total)
			h->cpu_percent = 100.0 * (double)(busy - t->prev_busy) / (double)(total - t->prev_total);
		t->prev_busy = busy;
		t->prev_total = total;
	}
	read_process(h);
	if (t->prev_mono_ns && now > t->prev_mono_ns)
		h->process_cpu_percent = 100.0 * (h->process_cpu_seconds - t->prev_proc_cpu_s) /
					 ((double)(now - t->prev_mono_ns) / 1e9);
	t->prev_proc_cpu_s = h->process_cpu_seconds;
	t->prev_mono_ns = now;
	read_memory(h);
	for (unsigned i = 0; i < t->nroots; i++)
		read_disk(t->roots[i], &h->disks[h->ndisks++]);
	read_thermal(h);
	snprintf(path, sizeof(path), "%s/" THROTTLED_PATH, sysfs_root);
	if (read_line(path, line, sizeof(line)) == 0) {
		h->has_throttled = true;
		h->throttled = (uint32_t)strtoul(line, NULL, 16);
	}
}

/* ---- sensors -------------------------------------------------------------------- */

/* The directory of device under class (sysfs_root/CLASS/DEVICE, or the one
 * whose "name" file says device) into dir. Returns 0 or -ENODEV. */
static int find_device(const char *class, const char *device, char *dir, size_t len)
{
	char base[PATH_MAX], path[PATH_MAX + 300], name[128];
	struct dirent *de;
	DIR *d;
	int ret = -ENODEV;

	snprintf(base, sizeof(base), "%s/%s", sysfs_root, class);
	snprintf(path, sizeof(path), "%s/%s/name", base, device);
	if (strchr(device, ':') || strncmp(device, "hwmon", 5) == 0) {
		if (snprintf(dir, len, "%s/%s", base, device) < (int)len && access(dir, F_OK) == 0)
			return 0;
	}
	d = opendir(base);
	if (!d)
		return -ENODEV;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/name", base, de->d_name);
		if (read_line(path, name, sizeof(name)) == 0 && strcmp(name, device) == 0 &&
		    snprintf(dir, len, "%s/%s", base, de->d_name) < (int)len) {
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

/* An IIO channel's type: the channel without its index ("voltage0" ->
 * "voltage"). */
static void channel_type(const char *channel, char *type, size_t len)
{
	size_t n = strlen(channel);

	while (n > 0 && isdigit((unsigned char)channel[n - 1]))
		n--;
	snprintf(type, len, "%.*s", (int)n, channel);
}

/* The unit a sensor's readings are in, as its kernel ABI gives its channel
 * type (IIO: Documentation/ABI/testing/sysfs-bus-iio, in_TYPE_input after
 * scaling; hwmon: Documentation/hwmon/sysfs-interface.rst, TYPEN_input),
 * "" when the ABI names none, and in *divisor (may be NULL) what takes the
 * ABI's number to that unit (1000 for millidegrees). Known from the spec
 * alone, before any read. */
static const char *sensor_unit(const struct cr_sensor_spec *spec, double *divisor)
{
	static const struct {
		enum cr_sensor_kind kind;
		const char *type, *unit;
		double divisor;
	} units[] = {
		{ CR_SENSOR_IIO, "temp", "celsius", 1000 },      { CR_SENSOR_IIO, "humidityrelative", "percent", 1000 },
		{ CR_SENSOR_IIO, "voltage", "volts", 1000 },     { CR_SENSOR_IIO, "current", "amperes", 1000 },
		{ CR_SENSOR_IIO, "pressure", "kilopascals", 1 }, { CR_SENSOR_IIO, "illuminance", "lux", 1 },
		{ CR_SENSOR_IIO, "power", "watts", 1000 },
		{ CR_SENSOR_HWMON, "temp", "celsius", 1000 },    { CR_SENSOR_HWMON, "in", "volts", 1000 },
		{ CR_SENSOR_HWMON, "fan", "rpm", 1 },            { CR_SENSOR_HWMON, "curr", "amperes", 1000 },
		{ CR_SENSOR_HWMON, "power", "watts", 1e6 },      { CR_SENSOR_HWMON, "energy", "joules", 1e6 },
		{ CR_SENSOR_HWMON, "humidity", "percent", 1000 },
	};
	char type[80];
	double unused;

	if (!divisor)
		divisor = &unused;
	channel_type(spec->channel, type, sizeof(type));
	for (size_t i = 0; i < CR_ARRAY_SIZE(units); i++)
		if (units[i].kind == spec->kind && strcmp(units[i].type, type) == 0) {
			*divisor = units[i].divisor;
			return units[i].unit;
		}
	*divisor = 1;
	return "";
}

/* Reads an attribute of the channel (in_CHANNEL_attr) or, failing that, of
 * its type (in_TYPE_attr); def when neither exists. */
static double iio_attribute(const char *dir, const char *channel, const char *type, const char *attr, double def)
{
	char path[PATH_MAX + 200];
	double v;

	snprintf(path, sizeof(path), "%s/in_%s_%s", dir, channel, attr);
	if (read_number(path, &v) == 0)
		return v;
	snprintf(path, sizeof(path), "%s/in_%s_%s", dir, type, attr);
	if (read_number(path, &v) == 0)
		return v;
	return def;
}

static int read_iio(struct cr_sensor_reading *r, double *value, char *why, size_t len)
{
	const struct cr_sensor_spec *sp = &r->spec;
	char dir[PATH_MAX], type[80];
	double v, divisor;
	int ret = find_device("bus/iio/devices", sp->device, dir, sizeof(dir));

	if (ret < 0) {
		snprintf(why, len, "no IIO device %s under %s/bus/iio/devices", sp->device, sysfs_root);
		return ret;
	}
	channel_type(sp->channel, type, sizeof(type));
	r->unit = sensor_unit(sp, &divisor);
	ret = snprintf(r->path, sizeof(r->path), "%s/in_%s_input", dir, sp->channel) < (int)sizeof(r->path)
		      ? read_number(r->path, &v) : -ENAMETOOLONG;
	if (ret == -ENOENT) {
		ret = snprintf(r->path, sizeof(r->path), "%s/in_%s_raw", dir, sp->channel) < (int)sizeof(r->path)
			      ? read_number(r->path, &v) : -ENAMETOOLONG;
		if (ret == 0)
			v = (v + iio_attribute(dir, sp->channel, type, "offset", 0)) *
			    iio_attribute(dir, sp->channel, type, "scale", 1);
	}
	if (ret == -ENOENT) {
		snprintf(why, len, "%s has no channel %s (no in_%s_input or in_%s_raw)", dir, sp->channel, sp->channel,
			 sp->channel);
		return ret;
	}
	if (ret < 0) {
		snprintf(why, len, "%s: %s", r->path, cr_strerror(ret));
		return ret;
	}
	*value = v / divisor;
	return 0;
}

static int read_hwmon(struct cr_sensor_reading *r, double *value, char *why, size_t len)
{
	const struct cr_sensor_spec *sp = &r->spec;
	char dir[PATH_MAX];
	double v, divisor;
	int ret = find_device("class/hwmon", sp->device, dir, sizeof(dir));

	if (ret < 0) {
		snprintf(why, len, "no hwmon device %s under %s/class/hwmon", sp->device, sysfs_root);
		return ret;
	}
	r->unit = sensor_unit(sp, &divisor);
	ret = snprintf(r->path, sizeof(r->path), "%s/%s_input", dir, sp->channel) < (int)sizeof(r->path)
		      ? read_number(r->path, &v) : -ENAMETOOLONG;
	if (ret < 0) {
		snprintf(why, len, ret == -ENOENT ? "%s has no input %s" : "%s: %s", ret == -ENOENT ? dir : r->path,
			 ret == -ENOENT ? sp->channel : cr_strerror(ret));
		return ret;
	}
	*value = v / divisor;
	return 0;
}

/* Reads every sensor (without the lock; the readings are the thread's until
 * copied in). */
static void read_sensors(struct cr_sensor_reading *rs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct cr_sensor_reading *r = &rs[i];
		char why[sizeof(r->error)] = "";
		double v = 0;
		int ret = r->spec.kind == CR_SENSOR_IIO ? read_iio(r, &v, why, sizeof(why))
							: read_hwmon(r, &v, why, sizeof(why));

		if (ret == 0 && isfinite(v)) {
			if (r->failing)
				cr_info("sensor %s: read again (%s)", r->spec.name, r->path);
			r->valid = true;
			r->value = v;
			r->read_utc_us = cr_time_utc_us();
			r->reads++;
			r->failing = false;
			r->error[0] = '\0';
		} else {
			if (ret == 0)
				snprintf(why, sizeof(why), "%s: not a finite number", r->path);
			if (!r->failing || strcmp(why, r->error) != 0)
				cr_warn("sensor %s: %s (camrig tries again every read)", r->spec.name, why);
			r->errors++;
			r->failing = true;
			snprintf(r->error, sizeof(r->error), "%s", why);
		}
	}
}

static void publish_sensors(struct cr_telemetry *t, const struct cr_sensor_reading *rs, unsigned n)
{
	json_t *list = json_array();

	if (!t->events || n == 0) {
		json_decref(list);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:o, s:o, s:s, s:o}", "name", cr_json_str(rs[i].spec.name),
			"value", rs[i].valid ? json_real(rs[i].value) : json_null(), "unit", rs[i].unit ? rs[i].unit : "",
			"error", cr_json_str(rs[i].error)));
	cr_events_publish(t->events, "sensors", json_pack("{s:o}", "sensors", list));
}

/* ---- the thread ------------------------------------------------------------- */

static void host_round(struct cr_telemetry *t)
{
	struct cr_host_stats h;

	sample_host(t, &h);
	pthread_mutex_lock(&t->lock);
	t->stats.host = h;
	pthread_mutex_unlock(&t->lock);
}

static void sensor_round(struct cr_telemetry *t)
{
	struct cr_sensor_reading rs[CR_CONFIG_MAX_SENSORS];
	unsigned n;

	pthread_mutex_lock(&t->lock);
	n = t->stats.nsensors;
	memcpy(rs, t->stats.sensors, n * sizeof(rs[0]));
	pthread_mutex_unlock(&t->lock);
	if (n == 0)
		return;
	read_sensors(rs, n);
	pthread_mutex_lock(&t->lock);
	memcpy(t->stats.sensors, rs, n * sizeof(rs[0]));
	pthread_mutex_unlock(&t->lock);
	publish_sensors(t, rs, n);
}

static void *telemetry_thread(void *arg)
{
	struct cr_telemetry *t = arg;
	int64_t host_ns = (int64_t)(t->config->interval * 1e9), sensor_ns = (int64_t)(t->config->sensor_interval * 1e9);
	int64_t next_host = cr_time_mono_ns() + host_ns, next_sensors = cr_time_mono_ns() + sensor_ns;

	pthread_setname_np(pthread_self(), "telemetry");
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		int64_t now = cr_time_mono_ns(), next = next_host < next_sensors ? next_host : next_sensors;

		if (now < next) {
			struct timespec ts = cr_time_ts(next);

			pthread_cond_timedwait(&t->wake, &t->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&t->lock);
		if (now >= next_host) {
			host_round(t);
			next_host = now + host_ns;
		}
		if (now >= next_sensors) {
			sensor_round(t);
			next_sensors = now + sensor_ns;
		}
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* ---- public ------------------------------------------------------------------ */

int cr_telemetry_new(const struct cr_telemetry_config *config, const char *const *roots, unsigned n,
		     struct cr_events *events, struct cr_telemetry **out)
{
	struct cr_telemetry *t = CR_NEW(t);
	char *list = cr_strdup(config->sensors ? config->sensors : ""), *save = NULL, *tok;

	t->config = config;
	t->events = events;
	pthread_mutex_init(&t->lock, NULL);
	cr_time_cond_init(&t->wake);
	for (unsigned i = 0; i < n && t->nroots < CR_TELEMETRY_DISKS_MAX; i++) {
		bool seen = false;

		for (unsigned j = 0; j < t->nroots; j++)
			seen = seen || strcmp(t->roots[j], roots[i]) == 0;
		if (!seen)
			snprintf(t->roots[t->nroots++], sizeof(t->roots[0]), "%s", roots[i]);
	}
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct cr_sensor_reading *r = &t->stats.sensors[t->stats.nsensors];

		while (*tok == ' ')
			tok++;
		if (t->stats.nsensors == CR_CONFIG_MAX_SENSORS || cr_config_sensor_parse(tok, &r->spec) < 0) {
			free(list);
			cr_telemetry_free(&t);
			return cr_log_ret(-EINVAL, CR_LOG_ERROR, "sensors: \"%s\" is not a sensor (expected "
					  CR_SENSOR_EXPECTED ")", tok);
		}
		r->unit = sensor_unit(&r->spec, NULL);
		t->stats.nsensors++;
	}
	free(list);
	host_round(t);
	sensor_round(t);
	*out = t;
	return 0;
}

int cr_telemetry_start(struct cr_telemetry *t)
{
	int ret = -pthread_create(&t->thread, NULL, telemetry_thread, t);

	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "telemetry: cannot start its thread: %s", cr_strerror(ret));
	t->started = true;
	return 0;
}

void cr_telemetry_stop(struct cr_telemetry *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	t->started = false;
}

void cr_telemetry_free(struct cr_telemetry **pt)
{
	struct cr_telemetry *t = *pt;

	if (!t)
		return;
	*pt = NULL;
	cr_telemetry_stop(t);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void cr_telemetry_stats(struct cr_telemetry *t, struct cr_telemetry_stats *stats)
{
	pthread_mutex_lock(&t->lock);
	*stats = t->stats;
	pthread_mutex_unlock(&t->lock);
}

void cr_telemetry_csv(struct cr_telemetry *t, bool header, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->stats.nsensors && n < len; i++) {
		const struct cr_sensor_reading *r = &t->stats.sensors[i];

		if (header)
			n += (size_t)snprintf(buf + n, len - n, ",%s", r->spec.name);
		else if (r->valid && !r->failing)
			n += (size_t)snprintf(buf + n, len - n, ",%.6g", r->value);
		else
			n += (size_t)snprintf(buf + n, len - n, ",");
	}
	pthread_mutex_unlock(&t->lock);
}
