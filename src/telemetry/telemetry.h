/* Host and sensor telemetry: what the machine camrig runs on is doing, and
 * the sensors beside the camera (a DHT22 through the kernel's dht11 IIO
 * driver, a fan or a board temperature through hwmon).
 *
 * One thread samples the host every telemetry.interval (CPU use of the
 * host and of camrig, memory, load, free disk under each recording root,
 * thermal zones, a Raspberry Pi's throttling flags when its firmware
 * reports them) and reads the sensors every telemetry.sensor_interval,
 * publishing a "sensors" event after each round. A sensor that cannot be
 * read keeps its error and its last value's time; it is never fatal.
 * Sources: proc(5) (/proc/stat, /proc/self/stat, /proc/meminfo,
 * /proc/loadavg), the kernel's Documentation/ABI/testing/sysfs-bus-iio
 * (value = (raw + offset) x scale, in the units it names) and
 * Documentation/hwmon/sysfs-interface.rst.
 *
 * Lifecycle as every part: new (no thread), start, stop, free; the stats
 * are copied under the part's lock. */
#ifndef CR_TELEMETRY_TELEMETRY_H
#define CR_TELEMETRY_TELEMETRY_H

#include "base/events.h"
#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_TELEMETRY_THERMAL_MAX 16
#define CR_TELEMETRY_DISKS_MAX CR_CONFIG_MAX_CAMERAS

struct cr_thermal_zone {
	char zone[32];                /* "thermal_zone0" */
	char type[32];                /* what the kernel calls it: "x86_pkg_temp", "cpu-thermal" */
	double celsius;
};

struct cr_disk_stats {
	char path[256];               /* a recording root as configured */
	uint64_t free_bytes;          /* available to camrig (statvfs f_bavail) */
	uint64_t total_bytes;
	int error;                    /* 0, or the negative errno of statvfs() */
};

struct cr_host_stats {
	bool sampled;                 /* false before the first sample */
	int64_t utc_us;               /* when sampled, µs since the UTC epoch */
	double cpu_percent;           /* the host, % of all CPUs since the last sample; < 0: not known yet */
	unsigned cpus;                /* online CPUs */
	double load[3];               /* load averages over 1, 5, 15 minutes */
	uint64_t mem_total_bytes, mem_available_bytes;
	double uptime_s;              /* the host's, s */
	struct cr_disk_stats disks[CR_TELEMETRY_DISKS_MAX];
	unsigned ndisks;
	struct cr_thermal_zone thermal[CR_TELEMETRY_THERMAL_MAX];
	unsigned nthermal;
	bool has_throttled;           /* a Raspberry Pi's firmware reports get_throttled */
	uint32_t throttled;           /* its flags: bit 0 under-voltage, 1 frequency capped, 2 throttled,
					 3 soft temperature limit; bits 16..19 the same, since boot */
	/* camrig itself */
	double process_cpu_percent;   /* % of one CPU since the last sample; < 0: not known yet */
	double process_cpu_seconds;   /* user + system CPU time since start, s */
	uint64_t rss_bytes, vsize_bytes;
	unsigned threads, open_fds;
	uint64_t max_fds;             /* RLIMIT_NOFILE, soft */
	double start_time_unix;       /* when camrig started, s since the UTC epoch */
};

struct cr_sensor_reading {
	struct cr_sensor_spec spec;
	char path[256];               /* the file last read ("" before the device was found) */
	const char *unit;             /* "celsius", "percent", "volts", "amperes", "kilopascals", "lux", "rpm",
					 "watts", "joules", or "" when the ABI names none;
					 known from the spec alone, before any read */
	bool valid;                   /* value holds a reading */
	double value;                 /* the last good reading, in unit */
	int64_t read_utc_us;          /* its time, µs since the UTC epoch; 0: none */
	uint64_t reads, errors;       /* reads that worked, that failed */
	bool failing;                 /* the last read failed */
	char error[160];              /* why the last read failed; "" when it worked */
};

struct cr_telemetry_stats {
	struct cr_host_stats host;
	struct cr_sensor_reading sensors[CR_CONFIG_MAX_SENSORS];
	unsigned nsensors;
};

struct cr_telemetry;

/* Creates the part for config (not copied: it must outlive the part); roots
 * are the directories (n of them, at most CR_TELEMETRY_DISKS_MAX, copied)
 * whose file systems' free space is sampled; each "sensors" round is
 * published to events (may be NULL). Takes a first sample of the host and
 * reads the sensors once, so the stats are filled from the start. Returns
 * 0, or -EINVAL for a sensor list that does not parse (cr_config_check()
 * refuses one first). */
int cr_telemetry_new(const struct cr_telemetry_config *config, const char *const *roots, unsigned n,
		     struct cr_events *events, struct cr_telemetry **out);

/* Starts the sampling thread. Returns 0 or a negative errno (logged). */
int cr_telemetry_start(struct cr_telemetry *t);

/* Wakes and joins the thread. Idempotent. */
void cr_telemetry_stop(struct cr_telemetry *t);

/* Stops and frees. NULL-safe; sets *t to NULL. */
void cr_telemetry_free(struct cr_telemetry **t);

/* Copies the latest samples into *stats. Safe from any thread. */
void cr_telemetry_stats(struct cr_telemetry *t, struct cr_telemetry_stats *stats);

/* The sensors as CSV columns, for a timelapse's stills.csv: header true
 * gives ",NAME,NAME..." (the names), false ",VALUE,VALUE..." (the latest
 * readings, empty where there is none), into buf (len bytes, truncated).
 * "" when there are no sensors. Safe from any thread. */
void cr_telemetry_csv(struct cr_telemetry *t, bool header, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
