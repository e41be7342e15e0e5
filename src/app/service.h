/* camrig under a service manager: systemd's notify protocol (sd_notify(3),
 * sd_watchdog_enabled(3)) through libsystemd.
 *
 *   READY=1      once the pipeline runs: cameras open, HTTP listening
 *   STATUS=...   a line of the status model (cr_status_line()), every tick
 *   WATCHDOG=1   every tick (a third of WatchdogSec) while no thread is
 *                wedged (base/heartbeat.h): a capture, encoder or control
 *                thread busy past its bound stops the pings, and systemd
 *                restarts camrig WatchdogSec after the last one
 *   STOPPING=1   when camrig begins to stop
 *
 * Without $NOTIFY_SOCKET nothing is sent and no timer runs. Main thread
 * only. */
#ifndef CR_APP_SERVICE_H
#define CR_APP_SERVICE_H

#include "app/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cr_service;

/* Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (systemd sets them) and arms the
 * tick timer. Never NULL. */
struct cr_service *cr_service_new(void);

/* A timerfd readable on every tick, for the main loop's poll(); -1 when
 * there is no service manager to tell. */
int cr_service_fd(const struct cr_service *service);

/* READY=1 with the first STATUS= line. */
void cr_service_ready(struct cr_service *service, const struct cr_status_source *src);

/* On a tick (reads the timer): STATUS=, and WATCHDOG=1 unless a thread is
 * wedged, which is logged once when it starts. */
void cr_service_tick(struct cr_service *service, const struct cr_status_source *src);

/* STOPPING=1. */
void cr_service_stopping(struct cr_service *service);

/* NULL-safe; sets *service to NULL. */
void cr_service_free(struct cr_service **service);

#ifdef __cplusplus
}
#endif

#endif
