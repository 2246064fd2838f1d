/* SPDX-License-Identifier: MIT */
/*
 * What the two era schemes (ibr.c, he.c) share: the node header they keep in
 * a struct pb_smr_node, the domain (era clock, registry of thread records,
 * orphan list), the part of a thread record that is not its published eras,
 * and the hooks built from those alone: destroy, register/unregister,
 * offline, barrier, stats and held_max, which a scheme's ops struct names
 * directly, and the pieces of create, retire and the scan.  Not a plug-in;
 * static inline, one copy per scheme.  What a thread publishes (a
 * reservation, hazard eras), begin/end/protect, what pins a node in a scan
 * and when the clock advances stay in each scheme's file beside their
 * correctness argument; the scheme names its end() and scan in a struct
 * era_scheme that its domain points to.
 *
 * Layout.  A scheme's struct pb_rthread starts with struct era_rec (checked
 * by ERA_REC_FIRST) and puts its published eras after it, on their own cache
 * line; era_thr() and era_rec_of() convert.
 *
 * Who may touch what, when:
 *  - d->threads: an append-only list of records, pushed under d->mu with a
 *    release store and walked without the lock (acquire); a record is freed
 *    only by destroy, when no thread is registered.  rec->next is immutable
 *    once the record is published.
 *  - rec->in_use: taken by a registering thread with a CAS (acquire: the last
 *    owner's counters and empty list), given back by unregister (release).
 *    Between the two only the owner touches since_era, since_scan and list.
 *  - rec->retired, rec->freed: written by the owner only (pb_smr_cnt_add,
 *    release), summed by anyone (PB_SMR_SUM_LIST, acquire).
 *  - d->orphans: nodes that a thread's scan could not free when it flushed
 *    (offline, barrier, unregister); a list under d->mu, moved whole.
 *    d->has_orphans is a relaxed hint of orphans != NULL for the retire
 *    path; a stale value only moves an adoption to the next scan or barrier.
 *  - d->era: the clock.  Its loads and updates that the correctness
 *    arguments reason about are seq_cst and sit in the schemes' files;
 *    create sets it to 1 (0 is "no era" in he and the birth of nodes
 *    published before any thread, in both).
 */
#ifndef PB_RECLAIM_ERA_COMMON_H
#define PB_RECLAIM_ERA_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "reclaim.h"
#include "smr_stats.h"

#if defined(__SANITIZE_THREAD__)
/* TSAN does not model fences (gcc warns): a seq_cst RMW is a full barrier too. */
static _Thread_local _Atomic int era_fence_dummy;
#define ERA_FENCE() ((void)atomic_fetch_add_explicit(&era_fence_dummy, 0, memory_order_seq_cst))
#else
#define ERA_FENCE() atomic_thread_fence(memory_order_seq_cst)
#endif

#define ERA_PEAK_EVERY 32 /* retires between pending samples (peak error bound) */

/* What a scheme keeps in a node's struct pb_smr_node. */
struct era_node {
	uint64_t birth;  /* on_alloc; read by the scan after retire */
	uint64_t retire; /* retire */
	pb_free_fn fn;
	void *ctx;
	struct era_node *next; /* retired list, orphan list */
};
_Static_assert(sizeof(struct era_node) <= PB_SMR_NODE_SIZE, "era node exceeds pb_smr_node");

/* The first member of each scheme's struct pb_rthread. */
struct era_rec {
	struct pb_reclaim *dom;
	struct era_rec *next;     /* domain list; immutable once published */
	atomic_bool in_use;
	unsigned since_era;       /* owner only */
	unsigned since_scan;      /* owner only */
	struct era_node *list;    /* owner only: retired, not yet freed */
	_Atomic uint64_t retired; /* owner-written counters */
	_Atomic uint64_t freed;
};

#define ERA_REC_FIRST(rthread_type, member)                                        \
	_Static_assert(offsetof(rthread_type, member) == 0,                        \
		       "struct era_rec must be the first member of the record")

/* What a scheme tells the shared hooks. */
struct era_scheme {
	size_t rec_size;                        /* sizeof its struct pb_rthread */
	void (*rec_init)(struct pb_rthread *t); /* NULL, or: publish "none" in a new record */
	void (*end)(struct pb_rthread *t);      /* its end(): publish "none" */
	void (*scan)(struct pb_rthread *t);     /* free what nothing published pins (owner) */
};

/* The domain: both schemes use it as it is. */
struct pb_reclaim {
	_Atomic uint64_t era PB_ALIGNED;
	_Atomic(struct era_rec *) threads PB_ALIGNED; /* append-only list */
	pthread_mutex_t mu;                   /* list appends, orphans */
	struct era_node *orphans;             /* under mu */
	_Atomic bool has_orphans;             /* hint, read without mu: orphans != NULL */
	_Atomic uint64_t peak;                /* sampled pending peak */
	unsigned era_every, scan_every;       /* the schemes' options of those names */
	const struct era_scheme *sch;
};

static inline struct pb_rthread *era_thr(struct era_rec *r)
{
	return (struct pb_rthread *)r; /* its first member (ERA_REC_FIRST) */
}

static inline struct era_rec *era_rec_of(struct pb_rthread *t)
{
	return (struct era_rec *)t;
}

static inline struct era_rec *era_first(struct pb_reclaim *d)
{
	/* acquire: pairs with the release push in era_thread_register */
	return atomic_load_explicit(&d->threads, memory_order_acquire);
}

static inline uint64_t era_pending_now(struct pb_reclaim *d, uint64_t *ret, uint64_t *fr)
{
	uint64_t r = 0, f = 0;

	PB_SMR_SUM_LIST(era_first(d), r, f);
	if (ret)
		*ret = r;
	if (fr)
		*fr = f;
	return r > f ? r - f : 0;
}

/* Move r's list (after a scan) to the domain's orphans: nothing stays on a
 * thread that parks or leaves. */
static inline void era_orphan(struct era_rec *r)
{
	struct pb_reclaim *d = r->dom;
	struct era_node *x = r->list;

	if (!x)
		return;
	while (x->next)
		x = x->next;
	pthread_mutex_lock(&d->mu);
	x->next = d->orphans;
	d->orphans = r->list;
	/* relaxed: a hint for the retire path; the list itself is under mu */
	atomic_store_explicit(&d->has_orphans, true, memory_order_relaxed);
	pthread_mutex_unlock(&d->mu);
	r->list = NULL;
}

/* Take the domain's orphans onto r's list (r's owner). */
static inline void era_adopt(struct era_rec *r)
{
	struct pb_reclaim *d = r->dom;
	struct era_node *o, *x;

	pthread_mutex_lock(&d->mu);
	o = d->orphans;
	d->orphans = NULL;
	atomic_store_explicit(&d->has_orphans, false, memory_order_relaxed);
	pthread_mutex_unlock(&d->mu);
	for (; o; o = x) {
		x = o->next;
		o->next = r->list;
		r->list = o;
	}
}

/* The scheme's create() calls it with its options (era-every, scan-every). */
static inline int era_create(const struct pb_optvals *opts, const struct era_scheme *sch,
			     struct pb_reclaim **out)
{
	struct pb_reclaim *d = aligned_alloc(PB_CACHELINE, (sizeof(*d) + PB_CACHELINE - 1) &
					     ~(size_t)(PB_CACHELINE - 1));

	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	atomic_init(&d->era, 1); /* 0: "no era" (he), birth of pre-filled nodes (both) */
	d->era_every = (unsigned)pb_opt_get(opts, "era-every");
	d->scan_every = (unsigned)pb_opt_get(opts, "scan-every");
	d->sch = sch;
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

/* No thread is registered: nothing is published, every orphan goes. */
static inline void era_destroy(struct pb_reclaim *d)
{
	struct era_rec *t, *tn;
	struct era_node *x, *nx;

	for (x = d->orphans; x; x = nx) {
		nx = x->next;
		x->fn((struct pb_smr_node *)x, x->ctx);
	}
	for (t = era_first(d); t; t = tn) {
		tn = t->next;
		free(t); /* the whole record: era_rec is its first member */
	}
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* Take a record left by an unregistered thread, or make a zeroed one, with
 * the scheme's rec_init run before it is published. */
static inline int era_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	struct era_rec *t;

	/* acquire (CAS): the last owner's counters and empty list */
	for (t = era_first(d); t; t = t->next) {
		bool f = false;

		if (atomic_compare_exchange_strong(&t->in_use, &f, true))
			break;
	}
	if (!t) {
		size_t sz = (d->sch->rec_size + PB_CACHELINE - 1) & ~(size_t)(PB_CACHELINE - 1);

		t = aligned_alloc(PB_CACHELINE, sz);
		if (!t)
			return -ENOMEM;
		memset(t, 0, sz);
		t->dom = d;
		if (d->sch->rec_init)
			d->sch->rec_init(era_thr(t));
		atomic_init(&t->in_use, true);
		pthread_mutex_lock(&d->mu);
		t->next = atomic_load_explicit(&d->threads, memory_order_relaxed);
		/* Release: list walkers see an initialised record. */
		atomic_store_explicit(&d->threads, t, memory_order_release);
		pthread_mutex_unlock(&d->mu);
	}
	t->since_era = t->since_scan = 0;
	*out = era_thr(t);
	return 0;
}

/*
 * offline (parking), and unregister's first half: publish "none", take the
 * domain's orphans, free what we can, hand the rest back (held_max: nothing
 * stays behind).
 *
 * The adoption is what keeps a parking thread's list from growing without
 * bound.  A pool worker that wakes for a batch or two parks again after a
 * few retires; what its scan here cannot free (pinned by a producer's
 * operation in progress) goes to the orphans, and the periodic scan that
 * also adopts them (era_after_retire) is due only every scan-every retires
 * -- which such a worker, its count reset by this very scan, never reaches.
 * Measured on the 2-core VM (ibr, seg-size 64, p=1 w=1, a run where the
 * worker parked ~4 500 times): 15 000 segments, every one retired in the
 * run, stayed pending to the end, and the queue allocated a new segment
 * per 64 jobs.  tests/test_reclaim_torture.c "park cycles" catches it.
 * The cost: the domain mutex per park while there are orphans (era_orphan
 * takes it anyway when the scan leaves something), and a rescan of what
 * is still pinned, which is bounded by what operations in progress pin.
 */
static inline void era_offline(struct pb_rthread *t)
{
	struct era_rec *r = era_rec_of(t);
	struct pb_reclaim *d = r->dom;

	d->sch->end(t); /* unregister is outside begin/end by contract: harmless */
	/* relaxed: a hint (the list itself is under mu); one missed here is
	 * adopted by the next park, scan or barrier */
	if (atomic_load_explicit(&d->has_orphans, memory_order_relaxed))
		era_adopt(r);
	d->sch->scan(t);
	era_orphan(r);
}

static inline void era_thread_unregister(struct pb_reclaim *d, struct pb_rthread *t)
{
	era_offline(t);
	/* Release: the next owner (CAS acquire) sees our counters. */
	atomic_store_explicit(&era_rec_of(t)->in_use, false, memory_order_release);
	(void)d;
}

/*
 * The second half of a scan: free every node of r->list that @pinned (given
 * the scheme's snapshot @arg) says no published era pins, keep the rest.
 * Everything is read before a node's fn runs: fn may poison or reuse it.
 */
static inline void era_sweep(struct era_rec *r, bool (*pinned)(const struct era_node *x, void *arg),
			     void *arg)
{
	struct era_node *keep = NULL, *x, *nx;
	uint64_t freed = 0;

	for (x = r->list; x; x = nx) {
		nx = x->next;
		if (pinned(x, arg)) {
			x->next = keep;
			keep = x;
		} else {
			x->fn((struct pb_smr_node *)x, x->ctx);
			freed++;
		}
	}
	r->list = keep;
	r->since_scan = 0;
	if (freed)
		pb_smr_cnt_add(&r->freed, freed);
}

/* Push a retired node (fn, ctx and retire era already set) on r's list and
 * count it; returns the new retired count. */
static inline uint64_t era_push_retired(struct era_rec *r, struct era_node *n)
{
	uint64_t c = atomic_load_explicit(&r->retired, memory_order_relaxed) + 1; /* own counter */

	n->next = r->list;
	r->list = n;
	atomic_store_explicit(&r->retired, c, memory_order_release);
	return c;
}

/* The end of retire: scan every scan-every retires, sample the peak.
 * Scanning inside a section is fine: it waits for nobody. */
static inline void era_after_retire(struct era_rec *r, uint64_t retired)
{
	struct pb_reclaim *d = r->dom;

	if (++r->since_scan >= d->scan_every) {
		/* Nodes parked threads left behind: without a shortage (no
		 * barrier) only a retiring thread's scan would ever free them. */
		if (atomic_load_explicit(&d->has_orphans, memory_order_relaxed))
			era_adopt(r);
		d->sch->scan(era_thr(r));
	}
	if (retired % ERA_PEAK_EVERY == 0)
		pb_smr_peak_raise(&d->peak, era_pending_now(d, NULL, NULL));
}

/* barrier(): take the orphans, free what nobody pins, hand back the rest:
 * what others pin now, any later barrier may free. */
static inline void era_barrier(struct pb_reclaim *d, struct pb_rthread *t)
{
	struct era_rec *r = era_rec_of(t);

	era_adopt(r);
	d->sch->scan(t);
	era_orphan(r);
	pb_smr_peak_raise(&d->peak, era_pending_now(d, NULL, NULL));
}

static inline void era_stats(const struct pb_reclaim *cd, struct pb_reclaim_stats *st)
{
	struct pb_reclaim *d = (struct pb_reclaim *)cd;
	uint64_t p = era_pending_now(d, &st->retired, &st->freed);

	pb_smr_peak_raise(&d->peak, p);
	st->pending = p;
	st->pending_peak = atomic_load_explicit(&d->peak, memory_order_relaxed);
	st->leaked = 0;
}

/* held_max: both schemes flush at a shortage (offline, barrier) and declare
 * 0 per thread; each file header says why. */
static inline unsigned era_held_max(const struct pb_optvals *opts, unsigned threads)
{
	(void)opts;
	(void)threads;
	return 0;
}

#endif
