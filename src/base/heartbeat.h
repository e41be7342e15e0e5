/* Progress of camrig's long-lived threads, for the service watchdog
 * (app/service.c).
 *
 * A thread registers a heartbeat when it starts and, around each unit of
 * work, says it is busy with a bound on how long that unit may take
 * (cr_heartbeat_busy) or that it is waiting for the next one
 * (cr_heartbeat_idle). Waiting is never a wedge, however long: a camera
 * that is unplugged and being reopened, an encoder with nothing to encode.
 * A thread busy past its bound is wedged: the watchdog then stops telling
 * the service manager camrig is alive, and systemd restarts it.
 *
 * The registry is process-wide and fixed-size (CR_HEARTBEAT_MAX; beyond it
 * a thread gets a heartbeat nobody checks). busy/idle are one atomic store
 * each, safe on every frame; register, unregister and the check take the
 * registry's lock, a leaf. */
#ifndef CR_BASE_HEARTBEAT_H
#define CR_BASE_HEARTBEAT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_HEARTBEAT_MAX 256
#define CR_HEARTBEAT_NAME_MAX 32

struct cr_heartbeat {
	char name[CR_HEARTBEAT_NAME_MAX]; /* the thread's name, "cam:front" */
	atomic_int_fast64_t busy_since_ns; /* CLOCK_MONOTONIC ns the current unit began; 0: waiting */
	atomic_int_fast64_t bound_ns;      /* how long the current unit may take, ns */
	bool checked;                      /* in the registry (false: the overflow heartbeat) */
};

/* A heartbeat named name (truncated to CR_HEARTBEAT_NAME_MAX - 1 bytes),
 * waiting. Never NULL. */
struct cr_heartbeat *cr_heartbeat_register(const char *name);

/* Leaves the registry. NULL-safe; sets *hb to NULL. */
void cr_heartbeat_unregister(struct cr_heartbeat **hb);

/* The thread begins a unit of work that takes at most bound_ns (> 0). */
void cr_heartbeat_busy(struct cr_heartbeat *hb, int64_t bound_ns);

/* The thread waits for its next unit of work. */
void cr_heartbeat_idle(struct cr_heartbeat *hb);

/* The first registered thread busy past its bound at now_ns
 * (CLOCK_MONOTONIC): returns true with its name (len bytes) and how long it
 * has been busy in *busy_s (s); false when none is. */
bool cr_heartbeat_find_wedged(int64_t now_ns, char *name, size_t len, double *busy_s);

#ifdef __cplusplus
}
#endif

#endif
