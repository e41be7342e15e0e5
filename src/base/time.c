/* Monotonic and UTC clocks and the mapping between them. */
#include "base/time.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int_fast64_t utc_minus_mono_us; /* UTC µs - monotonic µs */
static atomic_int_fast64_t offset_sampled_ns; /* monotonic ns of the last sample, 0: never */

struct timespec cr_time_ts(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / CR_NS_PER_SEC, .tv_nsec = ns % CR_NS_PER_SEC };
}

int64_t cr_time_from_ts(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * CR_NS_PER_SEC + ts->tv_nsec;
}

int64_t cr_time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return cr_time_from_ts(&ts);
}

int64_t cr_time_utc_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * CR_US_PER_SEC + ts.tv_nsec / 1000;
}

/* Samples the offset between the clocks, bracketing the realtime read by two
 * monotonic reads and taking the midpoint of the tightest of three tries. */
static void sample_offset(void)
{
	int64_t best_gap = INT64_MAX, offset = 0;

	for (int i = 0; i < 3; i++) {
		int64_t a = cr_time_mono_ns(), utc = cr_time_utc_us(), b = cr_time_mono_ns();

		if (b - a < best_gap) {
			best_gap = b - a;
			offset = utc - (a + (b - a) / 2) / 1000;
		}
	}
	atomic_store(&utc_minus_mono_us, offset);
	atomic_store(&offset_sampled_ns, cr_time_mono_ns());
}

int64_t cr_time_mono_to_utc_us(int64_t mono_ns)
{
	int64_t sampled = atomic_load(&offset_sampled_ns);

	if (sampled == 0 || cr_time_mono_ns() - sampled > CR_NS_PER_SEC)
		sample_offset();
	return mono_ns / 1000 + atomic_load(&utc_minus_mono_us);
}

char *cr_time_iso8601(int64_t utc_us, char *buf, size_t len)
{
	time_t secs = (time_t)(utc_us / CR_US_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(utc_us % CR_US_PER_SEC));
	return buf;
}

void cr_time_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

char *cr_time_stamp(int64_t utc_us, bool millis, char *buf, size_t len)
{
	time_t secs = (time_t)(utc_us / CR_US_PER_SEC);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y_%m_%d_%H_%M_%S", &tm);
	if (millis && n > 0)
		snprintf(buf + n, len - n, "_%03d", (int)(utc_us % CR_US_PER_SEC / 1000));
	return buf;
}

int64_t cr_time_test_delay_ns(const char *stage)
{
	const char *hook = getenv("CAMRIG_TEST_DELAY"), *p;
	size_t n = strlen(stage);
	unsigned ms;

	for (p = hook; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, stage, n) == 0 && p[n] == ':' && sscanf(p + n + 1, "%u", &ms) == 1)
			return (int64_t)ms * CR_NS_PER_MS;
	return 0;
}
