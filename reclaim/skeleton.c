/* SPDX-License-Identifier: MIT */
/*
 * The reclamation skeleton: a minimal but correct scheme with every hook of
 * core/reclaim.h documented.  Copy it to start a new scheme (see
 * docs/adding-a-reclaimer.md).  It is compiled into libpoolbench but NOT
 * registered; the torture test runs it by name (pb_reclaim_skeleton).
 *
 * Scheme: one global count of threads inside begin/end ("readers") and one
 * mutex-protected list of retired nodes.  A scan takes the list, then reads the
 * reader count; if it is zero, every node on the taken list is freed.
 *
 * Why that is safe (the argument every scheme file must carry):
 *   A node is retired only after it was unlinked (store U), so U happens-before
 *   the scan's fence Fs and load L of the count.  A reader increments the count
 *   (R), fences (Fr), then loads the shared pointer (P).  Both fences are
 *   seq_cst, so one precedes the other in their total order:
 *   - Fr before Fs: L must see R (or a later value), so the count is >= 1
 *     unless that reader already decremented, i.e. left its section and no
 *     longer holds anything;
 *   - Fs before Fr: P must see U or a later store, so the reader cannot load
 *     the unlinked node at all.
 *   Either way a node on the taken list is held by nobody when L reads 0.
 * Cost: one shared counter RMW per begin and per end (it bounces between
 * cores), and reclamation starves while readers overlap continuously; that is
 * why it is a skeleton, not a contender.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pb.h"
#include "reclaim.h"

/* 1. Options: name, type, range, default, help.  The core parses and checks
 *    them; read them in create() with pb_opt_get(). */
static const struct pb_option skeleton_options[] = {
	{"scan-every", PB_OPT_INT, 1, 1 << 20, 32, NULL, 0, "retires between two scans"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

/* 2. What the scheme keeps in each retired node's struct pb_smr_node (64
 *    bytes, owned by the scheme).  Check that it fits. */
struct skeleton_node {
	struct skeleton_node *next; /* deferred list link */
	pb_free_fn fn;
	void *ctx;
};
_Static_assert(sizeof(struct skeleton_node) <= PB_SMR_NODE_SIZE, "skeleton node exceeds pb_smr_node");

/* 3. The domain and the per-thread record (opaque to everyone else). */
struct pb_reclaim {
	_Atomic long readers;         /* threads between begin and end */
	pthread_mutex_t mu;           /* guards list and the counters below */
	struct skeleton_node *list;   /* retired, not yet freed */
	uint64_t retired, freed, pending_peak;
	unsigned scan_every;
};

struct pb_rthread {
	struct pb_reclaim *dom;
	unsigned since_scan;          /* owner only */
};

/* Free what was retired before a moment at which no reader was active. */
static void skeleton_scan(struct pb_reclaim *d)
{
	struct skeleton_node *l, *next;
	uint64_t n = 0;

	pthread_mutex_lock(&d->mu);
	l = d->list;
	d->list = NULL;
	pthread_mutex_unlock(&d->mu);
	if (!l)
		return;
	PB_DELAY("skeleton.scan");
	atomic_thread_fence(memory_order_seq_cst); /* Fs in the argument above */
	/* Acquire: pairs with end()'s release, so the readers' accesses to the
	 * nodes happen before fn below. */
	if (atomic_load_explicit(&d->readers, memory_order_acquire) != 0) {
		/* Someone may hold one of them: put the list back. */
		struct skeleton_node *tail = l;

		while (tail->next)
			tail = tail->next;
		pthread_mutex_lock(&d->mu);
		tail->next = d->list;
		d->list = l;
		pthread_mutex_unlock(&d->mu);
		return;
	}
	for (; l; l = next) {
		next = l->next; /* read before fn: fn may reuse the memory */
		l->fn((struct pb_smr_node *)l, l->ctx);
		n++;
	}
	pthread_mutex_lock(&d->mu);
	d->freed += n;
	pthread_mutex_unlock(&d->mu);
}

/* create: allocate a domain from the option values.  Returns 0 or -errno. */
static int skeleton_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	atomic_init(&d->readers, 0);
	pthread_mutex_init(&d->mu, NULL);
	d->scan_every = (unsigned)pb_opt_get(opts, "scan-every");
	*out = d;
	return 0;
}

/* destroy: no thread is registered any more, so nothing can be held: run fn
 * for everything still pending, then free the domain. */
static void skeleton_destroy(struct pb_reclaim *d)
{
	struct skeleton_node *l, *next;

	for (l = d->list; l; l = next) {
		next = l->next;
		l->fn((struct pb_smr_node *)l, l->ctx);
	}
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* thread_register: once per thread (a thread may register again after
 * unregistering, and may be registered in several domains). */
static int skeleton_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	struct pb_rthread *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->dom = d;
	*out = t;
	return 0;
}

/* thread_unregister: outside begin/end.  The thread's retired nodes stay on
 * the domain list, so nothing is lost. */
static void skeleton_thread_unregister(struct pb_reclaim *d, struct pb_rthread *t)
{
	free(t);
}

/* begin: start of an operation.  R + Fr in the argument above. */
static void skeleton_begin(struct pb_rthread *t)
{
	atomic_fetch_add_explicit(&t->dom->readers, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
}

/* end: every protection taken since begin is dropped.  Release: our reads of
 * protected nodes happen before a scan that sees the lower count. */
static void skeleton_end(struct pb_rthread *t)
{
	atomic_fetch_sub_explicit(&t->dom->readers, 1, memory_order_release);
}

/* protect: load *src with acquire semantics and make the pointee safe until
 * end (here the section already does: a plain acquire load suffices). */
static void *skeleton_protect(struct pb_rthread *t, unsigned slot, void *_Atomic *src)
{
	return atomic_load_explicit(src, memory_order_acquire);
}

/* retire: node is unlinked; fn(node, ctx) must run once nobody holds it.
 * May be called inside or outside begin/end. */
static void skeleton_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct skeleton_node *n = (struct skeleton_node *)node;
	struct pb_reclaim *d = t->dom;
	uint64_t pending;

	n->fn = fn;
	n->ctx = ctx;
	PB_DELAY("skeleton.retire");
	pthread_mutex_lock(&d->mu);
	n->next = d->list;
	d->list = n;
	d->retired++;
	pending = d->retired - d->freed;
	if (pending > d->pending_peak)
		d->pending_peak = pending;
	pthread_mutex_unlock(&d->mu);
	if (++t->since_scan >= d->scan_every) {
		t->since_scan = 0;
		skeleton_scan(d);
	}
}

/* quiescent (optional): the thread holds nothing.  A good moment to scan. */
static void skeleton_quiescent(struct pb_rthread *t)
{
	if (t->since_scan) {
		t->since_scan = 0;
		skeleton_scan(t->dom);
	}
}

/* offline/online (optional): around parking.  Nothing to do here: a thread
 * outside begin/end is already invisible to scans.  Left NULL below. */

/* barrier (optional): free what can be freed now; must not wait for threads
 * that are outside a section or offline. */
static void skeleton_barrier(struct pb_reclaim *d, struct pb_rthread *t)
{
	skeleton_scan(d);
}

/* stats: counters; must be safe to call concurrently with everything. */
static void skeleton_stats(const struct pb_reclaim *cd, struct pb_reclaim_stats *st)
{
	struct pb_reclaim *d = (struct pb_reclaim *)cd;

	pthread_mutex_lock(&d->mu);
	st->retired = d->retired;
	st->freed = d->freed;
	st->pending = d->retired - d->freed;
	st->pending_peak = d->pending_peak;
	st->leaked = 0;
	pthread_mutex_unlock(&d->mu);
}

/* The one const ops struct.  Not listed in reclaim/registry.c on purpose. */
const struct pb_reclaim_ops pb_reclaim_skeleton = {
	.abi = PB_ABI_VERSION,
	.name = "skeleton",
	.summary = "documented example: global reader count + deferred list (not registered)",
	.flags = PB_RC_PROVEN,
	.options = skeleton_options,
	.supported = NULL,
	.create = skeleton_create,
	.destroy = skeleton_destroy,
	.thread_register = skeleton_thread_register,
	.thread_unregister = skeleton_thread_unregister,
	.begin = skeleton_begin,
	.end = skeleton_end,
	.protect = skeleton_protect,
	.release = NULL,
	.retire = skeleton_retire,
	.quiescent = skeleton_quiescent,
	.offline = NULL,
	.online = NULL,
	.barrier = skeleton_barrier,
	.stats = skeleton_stats,
};
