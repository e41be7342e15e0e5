/* Clocks. A frame's capture time is CLOCK_MONOTONIC nanoseconds (the clock
 * V4L2 buffer timestamps and LSL's local_clock() use); UTC is derived from it
 * through an offset sampled at start and refreshed at most once a second. */
#ifndef CR_BASE_TIME_H
#define CR_BASE_TIME_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_NS_PER_SEC INT64_C(1000000000)
#define CR_NS_PER_MS INT64_C(1000000)
#define CR_US_PER_SEC INT64_C(1000000)

/* Now, CLOCK_MONOTONIC, in ns. */
int64_t cr_time_mono_ns(void);

/* Now, CLOCK_REALTIME, in µs since the UTC epoch. */
int64_t cr_time_utc_us(void);

/* Maps a CLOCK_MONOTONIC time (ns) to UTC (µs since the epoch), with the
 * offset between the clocks as last sampled (refreshed here when it is older
 * than one second, so clock steps by NTP show up within a second). */
int64_t cr_time_mono_to_utc_us(int64_t mono_ns);

/* Initializes a condition variable whose pthread_cond_timedwait() deadlines
 * are CLOCK_MONOTONIC (as cr_time_ts() of a cr_time_mono_ns() value), so a
 * wall-clock step cannot stretch or cut a wait. */
void cr_time_cond_init(pthread_cond_t *cond);

/* Converts ns to a struct timespec, and back. */
struct timespec cr_time_ts(int64_t ns);
int64_t cr_time_from_ts(const struct timespec *ts);

/* Formats UTC µs as the stamp in camrig's file names, "2026_11_21_19_15_37",
 * with "_123" (milliseconds) appended when millis, into buf (>= 32 bytes).
 * Its first 10 characters name the day ("2026_11_21"). Returns buf. */
char *cr_time_stamp(int64_t utc_us, bool millis, char *buf, size_t len);

/* Formats UTC µs as ISO 8601 "2026-11-21T19:15:37.123456Z" into buf (>= 32 bytes). */
char *cr_time_iso8601(int64_t utc_us, char *buf, size_t len);

/* A test hook: the delay, ns, that $CAMRIG_TEST_DELAY ("STAGE:MS[,STAGE:MS]",
 * e.g. "encoder:40,writer:100") asks of stage ("encoder": each frame the
 * video encoder takes; "writer": each packet the recorder writes; "http":
 * each request, in its pool's thread, before its headers are checked); 0 when
 * it asks none. Read once by each part when it is made; the tests use it to
 * make a consumer slow on purpose. */
int64_t cr_time_test_delay_ns(const char *stage);

#ifdef __cplusplus
}
#endif

#endif
