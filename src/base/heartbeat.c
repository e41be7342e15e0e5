/* The registry of thread heartbeats (see heartbeat.h): a fixed array of
 * slots under one lock; a slot's busy_since_ns and bound_ns are written by
 * its thread alone, with atomics, and read by the watchdog. */
#include "base/heartbeat.h"

#include "base/time.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cr_heartbeat slots[CR_HEARTBEAT_MAX];
static bool used[CR_HEARTBEAT_MAX];
static struct cr_heartbeat overflow; /* shared by threads beyond CR_HEARTBEAT_MAX; never checked */

struct cr_heartbeat *cr_heartbeat_register(const char *name)
{
	struct cr_heartbeat *hb = &overflow;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < CR_HEARTBEAT_MAX; i++) {
		if (used[i])
			continue;
		used[i] = true;
		hb = &slots[i];
		snprintf(hb->name, sizeof(hb->name), "%s", name);
		atomic_store(&hb->busy_since_ns, 0);
		atomic_store(&hb->bound_ns, 0);
		hb->checked = true;
		break;
	}
	pthread_mutex_unlock(&lock);
	return hb;
}

void cr_heartbeat_unregister(struct cr_heartbeat **phb)
{
	struct cr_heartbeat *hb = *phb;

	if (!hb)
		return;
	*phb = NULL;
	if (!hb->checked)
		return;
	pthread_mutex_lock(&lock);
	used[hb - slots] = false;
	pthread_mutex_unlock(&lock);
}

void cr_heartbeat_busy(struct cr_heartbeat *hb, int64_t bound_ns)
{
	atomic_store_explicit(&hb->bound_ns, bound_ns, memory_order_relaxed);
	atomic_store_explicit(&hb->busy_since_ns, cr_time_mono_ns(), memory_order_release);
}

void cr_heartbeat_idle(struct cr_heartbeat *hb)
{
	atomic_store_explicit(&hb->busy_since_ns, 0, memory_order_release);
}

bool cr_heartbeat_find_wedged(int64_t now_ns, char *name, size_t len, double *busy_s)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < CR_HEARTBEAT_MAX && !found; i++) {
		int64_t since, bound;

		if (!used[i])
			continue;
		since = atomic_load_explicit(&slots[i].busy_since_ns, memory_order_acquire);
		bound = atomic_load_explicit(&slots[i].bound_ns, memory_order_relaxed);
		if (since && now_ns - since > bound) {
			snprintf(name, len, "%s", slots[i].name);
			*busy_s = (double)(now_ns - since) / 1e9;
			found = true;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}
