/* The service manager's side of camrig (see service.h): libsystemd's
 * sd_notify() on a timerfd that the main loop polls.
 *
 * The tick is a third of WatchdogSec (systemd's advice is half; a third
 * leaves room for a loaded machine), or STATUS_TICK_NS when there is no
 * watchdog. Progress is judged by base/heartbeat.h: waiting threads are
 * never wedged, so an idle encoder or a camera waiting to be plugged in
 * again keeps the pings going; the main thread itself is covered because
 * it sends them. */
#include "app/service.h"

#include "base/heartbeat.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define STATUS_TICK_NS (5 * CR_NS_PER_SEC)
#define STATUS_MAX 512

struct cr_service {
	int timer_fd;                /* -1: no service manager */
	uint64_t watchdog_us;        /* WatchdogSec, µs; 0: no watchdog */
	bool wedged;                 /* a thread was wedged at the last tick */
};

struct cr_service *cr_service_new(void)
{
	struct cr_service *s = CR_NEW(s);
	const char *socket = getenv("NOTIFY_SOCKET");
	int64_t tick_ns = STATUS_TICK_NS;
	struct itimerspec its;

	s->timer_fd = -1;
	if (!socket || !*socket)
		return s;
	if (sd_watchdog_enabled(0, &s->watchdog_us) <= 0)
		s->watchdog_us = 0;
	if (s->watchdog_us)
		tick_ns = (int64_t)s->watchdog_us * 1000 / 3;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->timer_fd < 0) {
		cr_warn("service: timerfd: %m; the watchdog cannot be pinged");
		return s;
	}
	its.it_value = its.it_interval = cr_time_ts(tick_ns);
	timerfd_settime(s->timer_fd, 0, &its, NULL);
	cr_debug("service: notifying %s%s", socket, s->watchdog_us ? ", with a watchdog" : "");
	if (s->watchdog_us)
		cr_info("service: watchdog every %.1f s (WatchdogSec=%.1f s)", (double)tick_ns / 1e9,
			(double)s->watchdog_us / 1e6);
	return s;
}

int cr_service_fd(const struct cr_service *s)
{
	return s->timer_fd;
}

static void status_line(const struct cr_status_source *src, char *buf, size_t len)
{
	struct cr_status *st = cr_status_take(src);

	cr_status_line(st, buf, len);
	cr_status_free(&st);
}

void cr_service_ready(struct cr_service *s, const struct cr_status_source *src)
{
	char line[STATUS_MAX];

	if (s->timer_fd < 0)
		return;
	status_line(src, line, sizeof(line));
	sd_notifyf(0, "READY=1\nSTATUS=%s", line);
}

void cr_service_tick(struct cr_service *s, const struct cr_status_source *src)
{
	char line[STATUS_MAX], name[CR_HEARTBEAT_NAME_MAX];
	uint64_t ticks;
	double busy_s;
	bool wedged;

	if (s->timer_fd < 0 || read(s->timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	wedged = cr_heartbeat_find_wedged(cr_time_mono_ns(), name, sizeof(name), &busy_s);
	if (wedged) {
		if (!s->wedged)
			cr_err("watchdog: thread %s has been busy for %.1f s, past its bound: no more watchdog pings%s",
			       name, busy_s, s->watchdog_us ? "; the service manager will restart camrig" : "");
		snprintf(line, sizeof(line), "wedged: thread %s busy for %.0f s", name, busy_s);
		sd_notifyf(0, "STATUS=%s", line);
	} else {
		if (s->wedged)
			cr_warn("watchdog: no thread is wedged any more; pinging again");
		status_line(src, line, sizeof(line));
		sd_notifyf(0, "%sSTATUS=%s", s->watchdog_us ? "WATCHDOG=1\n" : "", line);
	}
	s->wedged = wedged;
}

void cr_service_stopping(struct cr_service *s)
{
	if (s->timer_fd >= 0)
		sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void cr_service_free(struct cr_service **ps)
{
	struct cr_service *s = *ps;

	if (!s)
		return;
	*ps = NULL;
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	free(s);
}
