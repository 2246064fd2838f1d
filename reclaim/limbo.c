/* SPDX-License-Identifier: MIT */
/*
 * limbo: the seed's (azargarov/wpool) reuse heuristic, kept to reproduce its
 * failure.  Per-object reference counts behind protect/release, and a
 * fixed-size "limbo" ring that delays reuse of retired objects: NOT a proven
 * scheme.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "pb.h"
#include "reclaim.h"

/*
 * What the seed does (wpool segment.go, segment_limbo.go, segmented_queue.go)
 * and how it maps here:
 *  - tryAddRef: load the segment, increment its refcount, re-check; here
 *    protect() increments the count kept in the object's pb_smr_node and
 *    re-validates that the source pointer still points at the object (the
 *    seed re-checks the generation and state; the backend re-reads those
 *    itself after protect).  release()/end() decrement.
 *  - tryRecycle: a detached segment whose refcount is zero goes into a
 *    512-entry ring (limbo); the entry it evicts goes back to the segment
 *    pool if its refcount is zero.  Here retire() does that and "back to the
 *    pool" is fn(node, ctx).
 *  - A segment that still has references is never reused by the seed: at
 *    recycle time tryRecycle just returns (it is retried only when a batch
 *    completion drops the last reference), and an evicted entry with
 *    references is dropped and left to Go's garbage collector.  C has no
 *    collector, so such objects go on an orphan list, are counted as
 *    `leaked`, and are freed (fn) only at destroy.
 *  - The seed pre-fills its ring with 512 fresh segments; a reclaimer cannot
 *    make the backend's objects, so this ring starts empty (docs/segmented.md).
 *
 * Why it is not safe in general, and what makes it "work": a thread may load
 * a pointer, be delayed, and increment the count after the object was
 * retired, evicted with a zero count and reused.  The re-validation catches
 * the stale load (the source no longer points at the object, or points at
 * its new incarnation, which is then what the thread uses), but the
 * increment itself touches the object: the memory must stay mapped.  Hence
 * PB_RC_TYPE_STABLE: the backend must never unmap objects while the domain
 * lives.  The count check at eviction is a heuristic: an object evicted with
 * a zero count may still be read by a thread that loaded it before it was
 * unlinked and has not yet incremented (the seed accepts this window).
 *
 * Orders: the increment and the re-load are seq_cst, and so are the
 * backend's unlinking CAS and the count loads here: in the single total order
 * either the re-load sees the unlink (the protector backs off) or the
 * count load sees the increment (the object is orphaned, not reused).
 */

#define LIMBO_REFS(n) (&(n)->u.words[0])
#define LIMBO_NEXT(n) ((n)->u.ptrs[1])
#define LIMBO_FN(n)   ((n)->u.ptrs[2])
#define LIMBO_CTX(n)  ((n)->u.ptrs[3])

struct limbo_ent {
	struct pb_smr_node *node;
	pb_free_fn fn;
	void *ctx;
};

struct pb_reclaim {
	pthread_mutex_t mu;
	struct limbo_ent *ring;
	size_t cap, head;
	struct pb_smr_node *orphans; /* still referenced when retired or evicted */
	uint64_t retired, freed, leaked, pending_peak;
};

struct pb_rthread {
	struct pb_reclaim *dom;
	struct pb_smr_node *slot[PB_SMR_SLOTS];
};

static const struct pb_option limbo_options[] = {
	{"limbo-size", PB_OPT_INT, 1, 1 << 20, 512, NULL, 0,
	 "entries in the limbo ring (seed: 512)"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

static int limbo_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->cap = (size_t)pb_opt_get(opts, "limbo-size");
	d->ring = calloc(d->cap, sizeof(*d->ring));
	if (!d->ring) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

/* No thread is registered: every object goes back through its fn. */
static void limbo_destroy(struct pb_reclaim *d)
{
	struct pb_smr_node *n, *nx;

	for (size_t i = 0; i < d->cap; i++)
		if (d->ring[i].node)
			d->ring[i].fn(d->ring[i].node, d->ring[i].ctx);
	for (n = d->orphans; n; n = nx) {
		nx = LIMBO_NEXT(n);
		((pb_free_fn)LIMBO_FN(n))(n, LIMBO_CTX(n));
	}
	pthread_mutex_destroy(&d->mu);
	free(d->ring);
	free(d);
}

static int limbo_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	struct pb_rthread *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return -ENOMEM;
	rt->dom = d;
	*out = rt;
	return 0;
}

static void limbo_release(struct pb_rthread *rt, unsigned slot, void *p)
{
	struct pb_smr_node *n = rt->slot[slot];

	if (!n || (p && (void *)n != p))
		return;
	rt->slot[slot] = NULL;
	/* release: our reads of the object happen before a later zero count is
	 * seen by the eviction check */
	atomic_fetch_sub_explicit(LIMBO_REFS(n), 1, memory_order_release);
}

static void limbo_end(struct pb_rthread *rt)
{
	for (unsigned i = 0; i < PB_SMR_SLOTS; i++)
		limbo_release(rt, i, NULL);
}

static void limbo_thread_unregister(struct pb_reclaim *d, struct pb_rthread *rt)
{
	limbo_end(rt);
	free(rt);
}

static void limbo_begin(struct pb_rthread *rt)
{
	(void)rt;
}

static void *limbo_protect(struct pb_rthread *rt, unsigned slot, void *_Atomic *src)
{
	limbo_release(rt, slot, NULL);
	for (;;) {
		void *p = atomic_load_explicit(src, memory_order_acquire);
		struct pb_smr_node *n = p;

		if (!p)
			return NULL;
		atomic_fetch_add(LIMBO_REFS(n), 1); /* seq_cst: see the header */
		if (atomic_load(src) == p) {
			rt->slot[slot] = n;
			return p;
		}
		/* relaxed: we never used the object */
		atomic_fetch_sub_explicit(LIMBO_REFS(n), 1, memory_order_relaxed);
	}
}

static void limbo_orphan_locked(struct pb_reclaim *d, struct pb_smr_node *n, pb_free_fn fn,
				void *ctx)
{
	LIMBO_FN(n) = (void *)fn;
	LIMBO_CTX(n) = ctx;
	LIMBO_NEXT(n) = d->orphans;
	d->orphans = n;
	d->leaked++;
}

static void limbo_retire(struct pb_rthread *rt, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct pb_reclaim *d = rt->dom;
	struct limbo_ent old = {NULL, NULL, NULL};
	uint64_t pending;

	pthread_mutex_lock(&d->mu);
	d->retired++;
	if (atomic_load(LIMBO_REFS(node)) != 0) { /* seq_cst: see the header */
		limbo_orphan_locked(d, node, fn, ctx);
	} else {
		struct limbo_ent *e = &d->ring[d->head];

		old = *e;
		e->node = node;
		e->fn = fn;
		e->ctx = ctx;
		d->head = (d->head + 1) % d->cap;
		if (old.node && atomic_load(LIMBO_REFS(old.node)) != 0) {
			limbo_orphan_locked(d, old.node, old.fn, old.ctx);
			old.node = NULL;
		}
		if (old.node)
			d->freed++;
	}
	pending = d->retired - d->freed;
	if (pending > d->pending_peak)
		d->pending_peak = pending;
	pthread_mutex_unlock(&d->mu);
	if (old.node)
		old.fn(old.node, old.ctx);
}

static void limbo_stats(const struct pb_reclaim *dc, struct pb_reclaim_stats *st)
{
	struct pb_reclaim *d = (struct pb_reclaim *)dc;

	pthread_mutex_lock(&d->mu);
	st->retired = d->retired;
	st->freed = d->freed;
	st->pending = d->retired - d->freed;
	st->pending_peak = d->pending_peak;
	st->leaked = d->leaked;
	pthread_mutex_unlock(&d->mu);
}

/*
 * Hold-back under a bounded supply: the ring keeps up to limbo-size retired
 * segments for the whole domain (a thread's share: limbo-size / threads,
 * rounded up), and there is no barrier to flush it.  Segments still
 * referenced at eviction are lost until destroy (the seed's failure); that
 * loss has no bound and is what a bounded run of limbo shows, so only the
 * ring is declared.
 */
static unsigned limbo_held_max(const struct pb_optvals *opts, unsigned threads)
{
	uint64_t cap = (uint64_t)pb_opt_get(opts, "limbo-size");

	if (threads == 0)
		threads = 1;
	return (unsigned)((cap + threads - 1) / threads);
}

const struct pb_reclaim_ops pb_reclaim_limbo = {
	.abi = PB_ABI_VERSION,
	.name = "limbo",
	.summary = "the seed's heuristic: refcounts + a 512-entry limbo ring (not proven)",
	.flags = PB_RC_TYPE_STABLE,
	.options = limbo_options,
	.supported = NULL,
	.create = limbo_create,
	.destroy = limbo_destroy,
	.thread_register = limbo_thread_register,
	.thread_unregister = limbo_thread_unregister,
	.begin = limbo_begin,
	.end = limbo_end,
	.protect = limbo_protect,
	.release = limbo_release,
	.retire = limbo_retire,
	.quiescent = NULL,
	.offline = NULL,
	.online = NULL,
	.barrier = NULL, /* the seed has no way to flush its ring */
	.stats = limbo_stats,
	.held_max = limbo_held_max,
};
