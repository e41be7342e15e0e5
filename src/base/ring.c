/* The bounded ring (see ring.h): head and length over a fixed slot array. */
#include "base/ring.h"

#include "base/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cr_ring_init(struct cr_ring *r, unsigned capacity, size_t size, enum cr_ring_policy policy)
{
	r->capacity = capacity ? capacity : 1;
	r->size = size;
	r->items = cr_calloc(r->capacity, size);
	r->head = r->length = 0;
	r->policy = policy;
}

void cr_ring_fini(struct cr_ring *r)
{
	free(r->items);
	r->items = NULL;
	r->head = r->length = 0;
}

static unsigned char *slot(const struct cr_ring *r, unsigned i)
{
	return r->items + (size_t)((r->head + i) % r->capacity) * r->size;
}

void cr_ring_grow(struct cr_ring *r, unsigned capacity)
{
	unsigned char *items;

	if (capacity <= r->capacity)
		return;
	items = cr_calloc(capacity, r->size);
	for (unsigned i = 0; i < r->length; i++)
		memcpy(items + (size_t)i * r->size, slot(r, i), r->size);
	free(r->items);
	r->items = items;
	r->head = 0;
	r->capacity = capacity;
}

void *cr_ring_at(const struct cr_ring *r, unsigned i)
{
	return slot(r, i);
}

int cr_ring_push(struct cr_ring *r, const void *item, void *evicted)
{
	if (r->length < r->capacity) {
		memcpy(slot(r, r->length++), item, r->size);
		return 0;
	}
	if (r->policy == CR_RING_DROP_NEWEST)
		return -EAGAIN;
	if (evicted)
		memcpy(evicted, slot(r, 0), r->size);
	memcpy(slot(r, 0), item, r->size); /* the oldest slot becomes the newest */
	r->head = (r->head + 1) % r->capacity;
	return 1;
}

int cr_ring_push_front(struct cr_ring *r, const void *item)
{
	if (r->length == r->capacity)
		return -EAGAIN;
	r->head = (r->head + r->capacity - 1) % r->capacity;
	r->length++;
	memcpy(slot(r, 0), item, r->size);
	return 0;
}

bool cr_ring_pop(struct cr_ring *r, void *out)
{
	if (r->length == 0)
		return false;
	if (out)
		memcpy(out, slot(r, 0), r->size);
	cr_ring_drop(r, 1);
	return true;
}

bool cr_ring_pop_back(struct cr_ring *r, void *out)
{
	if (r->length == 0)
		return false;
	if (out)
		memcpy(out, slot(r, r->length - 1), r->size);
	r->length--;
	return true;
}

void cr_ring_drop(struct cr_ring *r, unsigned n)
{
	if (n > r->length)
		n = r->length;
	r->head = (r->head + n) % r->capacity;
	r->length -= n;
}

void cr_ring_spans(const struct cr_ring *r, void **first, unsigned *first_n, void **second, unsigned *second_n)
{
	unsigned to_end = r->capacity - r->head;

	*first = slot(r, 0);
	*first_n = r->length < to_end ? r->length : to_end;
	*second = r->items;
	*second_n = r->length - *first_n;
}
