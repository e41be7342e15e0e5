/* A bounded ring of fixed-size items: the one circular buffer camrig has.
 *
 * Items are stored inline (a pointer, a struct, a 33-byte LSL sample), in
 * one allocation of capacity x size bytes made by cr_ring_init(). Not
 * thread-safe: the owner guards it with its own lock (cr_queue is this ring
 * under a mutex and a condition variable).
 *
 * Pushing onto a full ring follows the ring's policy, as a queue does:
 * CR_RING_DROP_NEWEST refuses the new item (for consumers that need every
 * item in order up to their limit), CR_RING_DROP_OLDEST evicts the oldest
 * (latest wins). Index 0 is always the oldest item. */
#ifndef CR_BASE_RING_H
#define CR_BASE_RING_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cr_ring_policy { CR_RING_DROP_NEWEST, CR_RING_DROP_OLDEST };

struct cr_ring {
	unsigned char *items;       /* capacity x size bytes */
	size_t size;                /* bytes per item */
	unsigned capacity;          /* items, >= 1 */
	unsigned head;              /* slot of the oldest item */
	unsigned length;            /* items held */
	enum cr_ring_policy policy;
};

/* Allocates room for capacity (>= 1; 0 is taken as 1) items of size bytes. */
void cr_ring_init(struct cr_ring *ring, unsigned capacity, size_t size, enum cr_ring_policy policy);

/* Frees the storage (the items themselves are the caller's to release
 * first). Safe on a zeroed or already finished ring. */
void cr_ring_fini(struct cr_ring *ring);

static inline unsigned cr_ring_length(const struct cr_ring *ring)
{
	return ring->length;
}

static inline bool cr_ring_full(const struct cr_ring *ring)
{
	return ring->length == ring->capacity;
}

/* Makes room for capacity items (more than now), keeping the items and
 * their order. */
void cr_ring_grow(struct cr_ring *ring, unsigned capacity);

/* The item i places from the oldest (i < length). */
void *cr_ring_at(const struct cr_ring *ring, unsigned i);

/* Appends a copy of item. Returns 0 when it is in. On a full ring:
 * DROP_NEWEST returns -EAGAIN and holds the ring as it was; DROP_OLDEST
 * copies the oldest item into evicted (when not NULL: the caller releases
 * it), appends item and returns 1. */
int cr_ring_push(struct cr_ring *ring, const void *item, void *evicted);

/* Puts a copy of item back in front of the oldest (a retry goes first).
 * Returns 0, or -EAGAIN on a full ring. */
int cr_ring_push_front(struct cr_ring *ring, const void *item);

/* Removes the oldest item, copying it into out when out is not NULL.
 * Returns false when the ring is empty. */
bool cr_ring_pop(struct cr_ring *ring, void *out);

/* Removes the newest item (a push taken back), copying it into out when out
 * is not NULL. Returns false when the ring is empty. */
bool cr_ring_pop_back(struct cr_ring *ring, void *out);

/* Removes the n oldest items (n <= length) without copying them. */
void cr_ring_drop(struct cr_ring *ring, unsigned n);

/* The items as at most two contiguous runs, oldest first: *first holds
 * *first_n items from the oldest on, *second the *second_n after them (0 when
 * the items do not wrap). For one writev() over a ring of bytes. */
void cr_ring_spans(const struct cr_ring *ring, void **first, unsigned *first_n, void **second, unsigned *second_n);

#ifdef __cplusplus
}
#endif

#endif
