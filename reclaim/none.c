/* SPDX-License-Identifier: MIT */
/*
 * none: never reuse.  Retired objects are kept until the domain is destroyed,
 * so protection is a plain load.  The cost floor of reclamation and the leak
 * baseline: a backend on it allocates afresh for everything it retires.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "pb.h"
#include "reclaim.h"

/*
 * Correctness: fn runs only in destroy, when no thread is registered, so no
 * thread can hold a retired object then (PB_RC_PROVEN, trivially).  retire
 * pushes onto a Treiber stack; only pushes happen concurrently (no pop, so no
 * ABA); destroy takes the whole stack single-threaded.
 */

#define NONE_NEXT(n) ((n)->u.ptrs[0])
#define NONE_FN(n)   ((n)->u.ptrs[1])
#define NONE_CTX(n)  ((n)->u.ptrs[2])

struct pb_reclaim {
	struct pb_smr_node *_Atomic list;
	_Atomic uint64_t retired;
};

static int none_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = calloc(1, sizeof(*d));

	(void)opts;
	if (!d)
		return -ENOMEM;
	*out = d;
	return 0;
}

static void none_destroy(struct pb_reclaim *d)
{
	/* acquire: pairs with the release push of every node */
	struct pb_smr_node *n = atomic_load_explicit(&d->list, memory_order_acquire), *nx;

	for (; n; n = nx) {
		nx = NONE_NEXT(n);
		((pb_free_fn)NONE_FN(n))(n, NONE_CTX(n));
	}
	free(d);
}

/* No per-thread state: the handle is the domain. */
static int none_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	*out = (struct pb_rthread *)d;
	return 0;
}

static void none_thread_unregister(struct pb_reclaim *d, struct pb_rthread *rt)
{
	(void)d;
	(void)rt;
}

static void none_begin(struct pb_rthread *rt)
{
	(void)rt;
}

static void none_end(struct pb_rthread *rt)
{
	(void)rt;
}

static void *none_protect(struct pb_rthread *rt, unsigned slot, void *_Atomic *src)
{
	(void)rt;
	(void)slot;
	return atomic_load_explicit(src, memory_order_acquire); /* the contract's acquire */
}

static void none_retire(struct pb_rthread *rt, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct pb_reclaim *d = (struct pb_reclaim *)rt;
	/* relaxed: a failed CAS reloads it */
	struct pb_smr_node *h = atomic_load_explicit(&d->list, memory_order_relaxed);

	NONE_FN(node) = (void *)fn;
	NONE_CTX(node) = ctx;
	do
		NONE_NEXT(node) = h;
	/* release: the node's fields are visible to destroy's acquire load */
	while (!atomic_compare_exchange_weak_explicit(&d->list, &h, node, memory_order_release,
						      memory_order_relaxed));
	/* relaxed: a statistic */
	atomic_fetch_add_explicit(&d->retired, 1, memory_order_relaxed);
}

static void none_stats(const struct pb_reclaim *d, struct pb_reclaim_stats *st)
{
	/* relaxed: a statistic */
	uint64_t r = atomic_load_explicit(&((struct pb_reclaim *)d)->retired, memory_order_relaxed);

	st->retired = r;
	st->freed = 0;
	st->pending = r;
	st->pending_peak = r;
	st->leaked = 0;
}

/* Never frees before destroy: every retired node is held back. */
static unsigned none_held_max(const struct pb_optvals *opts, unsigned threads)
{
	(void)opts;
	(void)threads;
	return PB_RC_HELD_UNBOUNDED;
}

const struct pb_reclaim_ops pb_reclaim_none = {
	.abi = PB_ABI_VERSION,
	.name = "none",
	.summary = "never reuse: retired objects are freed at destroy (cost floor, leak baseline)",
	.flags = PB_RC_NO_REUSE | PB_RC_PROVEN,
	.options = NULL,
	.supported = NULL,
	.create = none_create,
	.destroy = none_destroy,
	.thread_register = none_thread_register,
	.thread_unregister = none_thread_unregister,
	.begin = none_begin,
	.end = none_end,
	.protect = none_protect,
	.release = NULL,
	.retire = none_retire,
	.quiescent = NULL,
	.offline = NULL,
	.online = NULL,
	.barrier = NULL,
	.stats = none_stats,
	.held_max = none_held_max,
};
