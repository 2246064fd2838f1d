/* SPDX-License-Identifier: MIT */
/*
 * he: Hazard Eras, written from the paper: P. Ramalhete, A. Correia,
 * "Brief Announcement: Hazard Eras - Non-Blocking Memory Reclamation",
 * SPAA 2017.  No Debian package provides it; no code was copied.
 *
 * The scheme.  A global era clock E (starts at 1; 0 means "no era").  Each
 * node has a birth era (on_alloc, before it is published) and a retire era
 * (retire, after it was unlinked).  Each thread has PB_SMR_SLOTS hazard-era
 * slots.  protect(slot, src) publishes the current E in the slot instead of
 * the pointer: loop { p = *src; e = E; if (e == slot) return p; slot = e; }.
 * retire stamps retire = E and, every era-every retires on the thread,
 * advances E if nobody did meanwhile (the paper advances it on every
 * retire: era-every = 1).  A thread scans its retired list every scan-every
 * retires: a node is freed when no published era h (over all slots of all
 * threads) has birth <= h <= retire.
 *
 * Correctness (a node n that protect() returned in a slot is not freed while
 * the slot keeps that era).  The returning iteration is: store slot = H
 * (seq_cst; this or an earlier iteration), load *src = n (seq_cst), load
 * E == H (seq_cst).  E was H when H was read and again after the load of n,
 * so (E monotonic) E == H when n was loaded.
 *  - birth(n) <= H: on_alloc read E before the release store publishing n;
 *    the reader's acquire load of n precedes its load of E (coherence).
 *  - retire(n) >= H: n was linked when loaded, so the unlink, and the
 *    retirer's later seq_cst load of E, come after that load, when E >= H.
 *  - the scan sees H: the slot store precedes the load of n, which precedes
 *    the unlink, which precedes the scan's seq_cst fence and seq_cst loads
 *    of the slots (Dekker); the slot later holds H or, once the reader
 *    moves it, another era (the reader then no longer uses n through it).
 *  Nodes published before any thread (a backend's pool pre-filled at
 *  create, on_alloc with rt == NULL) get birth 0: a lower birth only widens
 *  [birth, retire], so it can only delay the free.
 *
 * PB_RC_HOLD.  A slot pins its own node as long as it keeps its era, with
 * no section: a backend may leave the slot set between operations and keep
 * using the node it validated (the flag's first half).  Unlike a hazard
 * pointer it also pins the other nodes alive at that era (born before it,
 * retired after it): a fixed set that cannot grow, since nodes born later
 * are never pinned by it -- not an epoch that pins everything retired
 * after it.  That is what HOLD needs: a held slot delays a bounded set and
 * never stops reclamation.  end() and release() clear slots.
 *
 * Progress under a bounded supply (held_max): as ibr.  barrier() and
 * offline() (a backend's flush points at a shortage) scan, then hand what
 * stays pinned to the domain's orphans, which every barrier() adopts and
 * rescans; a slot held across operations is cleared (end) before either.
 * After its flush a thread keeps nothing that a later barrier by another
 * thread cannot free.  Declared: 0 per thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "reclaim.h"
#include "smr_stats.h"

#if defined(__SANITIZE_THREAD__)
/* TSAN does not model fences (gcc warns): a seq_cst RMW is a full barrier too. */
static _Thread_local _Atomic int he_fence_dummy;
#define HE_FENCE() ((void)atomic_fetch_add_explicit(&he_fence_dummy, 0, memory_order_seq_cst))
#else
#define HE_FENCE() atomic_thread_fence(memory_order_seq_cst)
#endif

#define HE_NONE 0u            /* an empty slot */
#define HE_SNAP (64 * PB_SMR_SLOTS) /* published eras copied per scan on the stack */

static const struct pb_option he_options[] = {
	{"era-every", PB_OPT_INT, 1, 1 << 20, 1, NULL, 0,
	 "retires per thread between two advances of the era clock (the paper: 1)"},
	{"scan-every", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "retires per thread between two scans of its retired list against all hazard eras"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

struct he_node {
	uint64_t birth;  /* on_alloc; read by the scan after retire */
	uint64_t retire; /* retire */
	pb_free_fn fn;
	void *ctx;
	struct he_node *next; /* retired list */
};
_Static_assert(sizeof(struct he_node) <= PB_SMR_NODE_SIZE, "he node exceeds pb_smr_node");

struct pb_rthread {
	_Atomic uint64_t slots[PB_SMR_SLOTS] PB_ALIGNED; /* hazard eras, read by every scan */
	struct pb_reclaim *dom PB_ALIGNED;
	struct pb_rthread *next;  /* domain list; immutable once published */
	atomic_bool in_use;
	unsigned since_era;       /* owner only */
	unsigned since_scan;      /* owner only */
	struct he_node *list;     /* owner only: retired, not yet freed */
	_Atomic uint64_t retired; /* owner-written counters */
	_Atomic uint64_t freed;
};

struct pb_reclaim {
	_Atomic uint64_t era PB_ALIGNED;
	_Atomic(struct pb_rthread *) threads PB_ALIGNED; /* append-only list */
	pthread_mutex_t mu;                   /* list appends, orphans */
	struct he_node *orphans;             /* under mu */
	_Atomic bool has_orphans;             /* hint, read without mu: orphans != NULL */
	_Atomic uint64_t peak;                /* sampled pending peak */
	unsigned era_every, scan_every;
};

#define HE_PEAK_EVERY 32 /* retires between pending samples (peak error bound) */

static uint64_t he_pending_now(struct pb_reclaim *d, uint64_t *ret, uint64_t *fr)
{
	uint64_t r = 0, f = 0;

	PB_SMR_SUM_LIST(atomic_load_explicit(&d->threads, memory_order_acquire), r, f);
	if (ret)
		*ret = r;
	if (fr)
		*fr = f;
	return r > f ? r - f : 0;
}

static bool he_pinned_walk(struct pb_reclaim *d, const struct he_node *x)
{
	for (struct pb_rthread *o = atomic_load_explicit(&d->threads, memory_order_acquire); o; o = o->next)
		for (unsigned i = 0; i < PB_SMR_SLOTS; i++) {
			uint64_t h = atomic_load_explicit(&o->slots[i], memory_order_seq_cst);

			if (h != HE_NONE && x->birth <= h && h <= x->retire)
				return true;
		}
	return false;
}

/* Free every node of t->list that no published era lies in; keep the rest. */
static void he_scan(struct pb_rthread *t)
{
	struct pb_reclaim *d = t->dom;
	uint64_t eras[HE_SNAP];
	unsigned n = 0;
	bool all = true;
	struct he_node *keep = NULL, *x, *nx;
	uint64_t freed = 0;

	PB_DELAY("he.scan");
	HE_FENCE(); /* reclaimer side of the Dekker pair (file header) */
	for (struct pb_rthread *o = atomic_load_explicit(&d->threads, memory_order_acquire); o && all;
	     o = o->next)
		for (unsigned i = 0; i < PB_SMR_SLOTS; i++) {
			/* seq_cst: see the file header */
			uint64_t h = atomic_load_explicit(&o->slots[i], memory_order_seq_cst);

			if (h == HE_NONE)
				continue;
			if (n == HE_SNAP) {
				all = false; /* too many: walk per node */
				break;
			}
			eras[n++] = h;
		}
	for (x = t->list; x; x = nx) {
		bool pinned = false;

		nx = x->next;
		if (all) {
			for (unsigned i = 0; i < n && !pinned; i++)
				pinned = x->birth <= eras[i] && eras[i] <= x->retire;
		} else {
			pinned = he_pinned_walk(d, x);
		}
		if (pinned) {
			x->next = keep;
			keep = x;
		} else {
			/* everything read before fn: it may poison or reuse the node */
			x->fn((struct pb_smr_node *)x, x->ctx);
			freed++;
		}
	}
	t->list = keep;
	t->since_scan = 0;
	if (freed)
		pb_smr_cnt_add(&t->freed, freed);
}

static void he_orphan(struct pb_rthread *t)
{
	struct pb_reclaim *d = t->dom;
	struct he_node *x = t->list;

	if (!x)
		return;
	while (x->next)
		x = x->next;
	pthread_mutex_lock(&d->mu);
	x->next = d->orphans;
	d->orphans = t->list;
	/* relaxed: a hint for the retire path; the list itself is under mu */
	atomic_store_explicit(&d->has_orphans, true, memory_order_relaxed);
	pthread_mutex_unlock(&d->mu);
	t->list = NULL;
}

static void he_adopt(struct pb_rthread *t)
{
	struct pb_reclaim *d = t->dom;
	struct he_node *o, *x;

	pthread_mutex_lock(&d->mu);
	o = d->orphans;
	d->orphans = NULL;
	atomic_store_explicit(&d->has_orphans, false, memory_order_relaxed);
	pthread_mutex_unlock(&d->mu);
	for (; o; o = x) {
		x = o->next;
		o->next = t->list;
		t->list = o;
	}
}

static int he_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = aligned_alloc(PB_CACHELINE, (sizeof(*d) + PB_CACHELINE - 1) &
					     ~(size_t)(PB_CACHELINE - 1));

	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	atomic_init(&d->era, 1); /* 0 is "no era" and the birth of pre-filled nodes */
	d->era_every = (unsigned)pb_opt_get(opts, "era-every");
	d->scan_every = (unsigned)pb_opt_get(opts, "scan-every");
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

static void he_destroy(struct pb_reclaim *d)
{
	struct pb_rthread *t, *tn;
	struct he_node *x, *nx;

	/* No thread is registered: no era is published, everything goes. */
	for (x = d->orphans; x; x = nx) {
		nx = x->next;
		x->fn((struct pb_smr_node *)x, x->ctx);
	}
	for (t = atomic_load_explicit(&d->threads, memory_order_acquire); t; t = tn) {
		tn = t->next;
		free(t);
	}
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static int he_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	struct pb_rthread *t;

	for (t = atomic_load_explicit(&d->threads, memory_order_acquire); t; t = t->next) {
		bool f = false;

		if (atomic_compare_exchange_strong(&t->in_use, &f, true))
			break;
	}
	if (!t) {
		size_t sz = (sizeof(*t) + PB_CACHELINE - 1) & ~(size_t)(PB_CACHELINE - 1);

		t = aligned_alloc(PB_CACHELINE, sz);
		if (!t)
			return -ENOMEM;
		memset(t, 0, sz);
		t->dom = d;
		atomic_init(&t->in_use, true);
		pthread_mutex_lock(&d->mu);
		t->next = atomic_load_explicit(&d->threads, memory_order_relaxed);
		/* Release: list walkers see an initialised record. */
		atomic_store_explicit(&d->threads, t, memory_order_release);
		pthread_mutex_unlock(&d->mu);
	}
	t->since_era = t->since_scan = 0;
	*out = t;
	return 0;
}

static void he_end(struct pb_rthread *t)
{
	/* Release: reads of protected nodes happen before a scan that sees the
	 * slot empty. */
	for (unsigned i = 0; i < PB_SMR_SLOTS; i++)
		atomic_store_explicit(&t->slots[i], HE_NONE, memory_order_release);
}

static void he_thread_unregister(struct pb_reclaim *d, struct pb_rthread *t)
{
	he_end(t);
	he_scan(t);
	he_orphan(t);
	atomic_store_explicit(&t->in_use, false, memory_order_release);
	(void)d;
}

static void he_begin(struct pb_rthread *t)
{
	(void)t; /* eras are published per slot in protect() */
}

static void *he_protect(struct pb_rthread *t, unsigned slot, void *_Atomic *src)
{
	uint64_t h = atomic_load_explicit(&t->slots[slot], memory_order_relaxed); /* own value */

	for (;;) {
		/* seq_cst: the load of n after the slot store (file header) */
		void *p = atomic_load_explicit(src, memory_order_seq_cst);
		uint64_t e = atomic_load_explicit(&t->dom->era, memory_order_seq_cst);

		if (e == h)
			return p;
		atomic_store_explicit(&t->slots[slot], e, memory_order_seq_cst);
		h = e;
	}
}

static void he_release(struct pb_rthread *t, unsigned slot, void *p)
{
	(void)p;
	/* Release: reads of p happen before a scan that sees the slot empty. */
	atomic_store_explicit(&t->slots[slot], HE_NONE, memory_order_release);
}

static void he_on_alloc(struct pb_rthread *t, struct pb_smr_node *node)
{
	struct he_node *n = (struct he_node *)node;

	/* Before any thread: birth 0 (file header).  Otherwise the clock now;
	 * acquire is enough, the publishing release store orders it. */
	n->birth = t ? atomic_load_explicit(&t->dom->era, memory_order_acquire) : 0;
}

static void he_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct he_node *n = (struct he_node *)node;
	struct pb_reclaim *d = t->dom;
	uint64_t r = atomic_load_explicit(&t->retired, memory_order_relaxed) + 1;
	/* seq_cst: after the caller's unlink in the total order (file header) */
	uint64_t e = atomic_load_explicit(&d->era, memory_order_seq_cst);

	n->fn = fn;
	n->ctx = ctx;
	n->retire = e;
	n->next = t->list;
	t->list = n;
	atomic_store_explicit(&t->retired, r, memory_order_release);
	if (++t->since_era >= d->era_every) {
		t->since_era = 0;
		/* advance unless someone did (the paper): one step per round */
		atomic_compare_exchange_strong_explicit(&d->era, &e, e + 1, memory_order_seq_cst,
							memory_order_relaxed);
	}
	PB_DELAY("he.retire");
	if (++t->since_scan >= d->scan_every) {
		/* Nodes parked threads left behind: without a shortage (no
		 * barrier) only a retiring thread's scan would ever free them. */
		if (atomic_load_explicit(&d->has_orphans, memory_order_relaxed))
			he_adopt(t);
		he_scan(t); /* waits for nobody: fine inside a section */
	}
	if (r % HE_PEAK_EVERY == 0)
		pb_smr_peak_raise(&d->peak, he_pending_now(d, NULL, NULL));
}

static void he_offline(struct pb_rthread *t)
{
	/* Parking: free what we can, hand the rest to the domain (held_max). */
	he_end(t);
	he_scan(t);
	he_orphan(t);
}

static void he_barrier(struct pb_reclaim *d, struct pb_rthread *t)
{
	he_adopt(t);
	he_scan(t);
	he_orphan(t); /* what others pin now, any later barrier may free */
	pb_smr_peak_raise(&d->peak, he_pending_now(d, NULL, NULL));
}

static void he_stats(const struct pb_reclaim *cd, struct pb_reclaim_stats *st)
{
	struct pb_reclaim *d = (struct pb_reclaim *)cd;
	uint64_t p = he_pending_now(d, &st->retired, &st->freed);

	pb_smr_peak_raise(&d->peak, p);
	st->pending = p;
	st->pending_peak = atomic_load_explicit(&d->peak, memory_order_relaxed);
	st->leaked = 0;
}

static unsigned he_held_max(const struct pb_optvals *opts, unsigned threads)
{
	(void)opts;
	(void)threads;
	return 0; /* file header */
}

const struct pb_reclaim_ops pb_reclaim_he = {
	.abi = PB_ABI_VERSION,
	.name = "he",
	.summary = "Hazard Eras (Ramalhete & Correia, SPAA 2017): per-slot published eras vs. node birth/retire eras",
	.flags = PB_RC_PROVEN | PB_RC_HOLD,
	.options = he_options,
	.supported = NULL,
	.create = he_create,
	.destroy = he_destroy,
	.thread_register = he_thread_register,
	.thread_unregister = he_thread_unregister,
	.begin = he_begin,
	.end = he_end,
	.protect = he_protect,
	.release = he_release,
	.retire = he_retire,
	.quiescent = NULL,
	.offline = he_offline,
	.online = NULL,
	.barrier = he_barrier,
	.stats = he_stats,
	.on_alloc = he_on_alloc,
	.held_max = he_held_max,
};
