/* SPDX-License-Identifier: MIT */
/*
 * ibr: interval-based reclamation, the 2GE ("two global eras") variant,
 * written from the paper: H. Wen, J. Izraelevitz, W. Cai, H. A. Beadle,
 * M. L. Scott, "Interval-Based Memory Reclamation", PPoPP 2018 (section 3.2,
 * 2GEIBR).  No Debian package provides it; no code was copied.
 *
 * The scheme.  A global era E (monotonic).  Every node carries a birth era
 * (stamped by on_alloc before the node is published) and a retire era
 * (stamped by retire after it was unlinked).  Every thread publishes a
 * reservation [lower, upper]: begin() sets both to E; protect() raises upper
 * to E until a re-read of E confirms it; end() sets both to "none" (MAX).  A
 * retired node is freed by a scan of its retiring thread's list once its
 * interval [birth, retire] intersects no published reservation, i.e. for
 * every thread not (birth <= upper && retire >= lower).  E is advanced every
 * era-every allocations or retires (per thread, counted together: the paper
 * counts allocations; counting retires too keeps E moving under a backend
 * that never calls on_alloc); a thread scans its list every scan-every
 * retires.
 *
 * Correctness (a node n that protect() returned is not freed before the
 * reader's end()).  protect's returning iteration is: store upper = U
 * (seq_cst; in this or an earlier iteration, or begin's store), load *src = n
 * (seq_cst), load E == U (seq_cst).  E was U when the store's value was read
 * and is U again after the load of n, so (E monotonic) E == U when n was
 * loaded.
 *  - birth(n) <= U: on_alloc read E before the release store that published
 *    n, and the reader's acquire load of n precedes its load of E, so by
 *    coherence birth(n) <= U.
 *  - retire(n) >= lower: lower is the E read at begin(), before the load of
 *    n; n was still linked then, so the unlink and the retirer's later load
 *    of E (seq_cst) come after it in the total order: retire(n) >= lower.
 *  - the scan sees the reservation: the reader's stores of lower and U precede
 *    its load of n, which precedes the unlink (n was linked when loaded); the
 *    scan runs after the unlink, behind a seq_cst fence, and loads each
 *    reservation seq_cst (Dekker): it reads lower and U or later values of the
 *    same operation (upper only grows within an operation: wider, safe), or
 *    the MAX of its end() (the reader is done with n).  Values of a later
 *    operation belong to one that began after the unlink and cannot reach n.
 *  Hence the scan sees an intersecting reservation and keeps n.  Nodes
 *  published before any thread existed (a backend's pool pre-filled at
 *  create, on_alloc with rt == NULL) get birth 0: a lower birth only widens
 *  the interval, so it can only delay the free.
 *
 * PB_RC_HOLD is NOT claimed.  A reservation pins an interval of eras, i.e.
 * every node born before upper and retired after lower -- under a backend
 * that holds one across operations (lower stays put while E moves), that is
 * every node retired since the hold began, like an epoch: exactly what the
 * flag excludes.
 *
 * Progress under a bounded supply (held_max).  Between scans a thread's
 * private list holds up to scan-every - 1 nodes, which only it frees.  A
 * backend flushes each thread at a shortage (barrier() on an empty supply
 * or a starved hint, offline() before parking): both scan, then hand what
 * the scan could not free (pinned by operations in progress, which end) to
 * the domain's orphan list, which every barrier() adopts and rescans.  So
 * after its flush a thread keeps nothing that another thread's later
 * barrier cannot free.  Declared: 0 per thread.
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
static _Thread_local _Atomic int ibr_fence_dummy;
#define IBR_FENCE() ((void)atomic_fetch_add_explicit(&ibr_fence_dummy, 0, memory_order_seq_cst))
#else
#define IBR_FENCE() atomic_thread_fence(memory_order_seq_cst)
#endif

#define IBR_NONE UINT64_MAX /* no reservation */
#define IBR_SNAP 256        /* reservations copied per scan on the stack */

static const struct pb_option ibr_options[] = {
	{"era-every", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "allocations + retires per thread between two advances of the global era"},
	{"scan-every", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "retires per thread between two scans of its retired list against all reservations"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

/* What the scheme keeps in a node's struct pb_smr_node. */
struct ibr_node {
	uint64_t birth;  /* on_alloc; read by the scan after retire */
	uint64_t retire; /* retire */
	pb_free_fn fn;
	void *ctx;
	struct ibr_node *next; /* retired list */
};
_Static_assert(sizeof(struct ibr_node) <= PB_SMR_NODE_SIZE, "ibr node exceeds pb_smr_node");

struct pb_rthread {
	/* the reservation, read by every scan: its own line */
	_Atomic uint64_t lower PB_ALIGNED;
	_Atomic uint64_t upper;
	struct pb_reclaim *dom PB_ALIGNED;
	struct pb_rthread *next;  /* domain list; immutable once published */
	atomic_bool in_use;
	unsigned since_era;       /* owner only */
	unsigned since_scan;      /* owner only */
	struct ibr_node *list;    /* owner only: retired, not yet freed */
	uint64_t nlist;           /* owner only */
	_Atomic uint64_t retired; /* owner-written counters */
	_Atomic uint64_t freed;
};

struct pb_reclaim {
	_Atomic uint64_t era PB_ALIGNED;
	_Atomic(struct pb_rthread *) threads PB_ALIGNED; /* append-only list */
	pthread_mutex_t mu;                   /* list appends, orphans */
	struct ibr_node *orphans;             /* under mu */
	_Atomic bool has_orphans;             /* hint, read without mu: orphans != NULL */
	_Atomic uint64_t peak;                /* sampled pending peak */
	unsigned era_every, scan_every;
};

#define IBR_PEAK_EVERY 32 /* retires between pending samples (peak error bound) */

static uint64_t ibr_pending_now(struct pb_reclaim *d, uint64_t *ret, uint64_t *fr)
{
	uint64_t r = 0, f = 0;

	PB_SMR_SUM_LIST(atomic_load_explicit(&d->threads, memory_order_acquire), r, f);
	if (ret)
		*ret = r;
	if (fr)
		*fr = f;
	return r > f ? r - f : 0;
}

/* Count one allocation or retire; advance the global era every era_every. */
static inline void ibr_tick(struct pb_rthread *t)
{
	if (++t->since_era >= t->dom->era_every) {
		t->since_era = 0;
		/* seq_cst: part of the total order the file header reasons in */
		atomic_fetch_add_explicit(&t->dom->era, 1, memory_order_seq_cst);
	}
}

/*
 * Free every node of t->list whose interval meets no reservation; the rest
 * stays.  Caller is t's owner (or holds t's list exclusively).
 */
static void ibr_scan(struct pb_rthread *t)
{
	struct pb_reclaim *d = t->dom;
	uint64_t lo[IBR_SNAP], up[IBR_SNAP];
	unsigned n = 0;
	bool all = true;
	struct ibr_node *keep = NULL, *x, *nx;
	uint64_t kept = 0, freed = 0;

	PB_DELAY("ibr.scan");
	IBR_FENCE(); /* reclaimer side of the Dekker pair (file header) */
	for (struct pb_rthread *o = atomic_load_explicit(&d->threads, memory_order_acquire); o; o = o->next) {
		if (n == IBR_SNAP) {
			all = false; /* more records than the snapshot: walk per node */
			break;
		}
		/* seq_cst loads: see the file header */
		lo[n] = atomic_load_explicit(&o->lower, memory_order_seq_cst);
		up[n] = atomic_load_explicit(&o->upper, memory_order_seq_cst);
		n++;
	}
	for (x = t->list; x; x = nx) {
		bool pinned = false;

		nx = x->next;
		if (all) {
			for (unsigned i = 0; i < n && !pinned; i++)
				pinned = x->birth <= up[i] && x->retire >= lo[i];
		} else {
			for (struct pb_rthread *o = atomic_load_explicit(&d->threads, memory_order_acquire);
			     o && !pinned; o = o->next)
				pinned = x->birth <= atomic_load_explicit(&o->upper, memory_order_seq_cst) &&
					 x->retire >= atomic_load_explicit(&o->lower, memory_order_seq_cst);
		}
		if (pinned) {
			x->next = keep;
			keep = x;
			kept++;
		} else {
			/* read everything before fn: it may poison or reuse the node */
			x->fn((struct pb_smr_node *)x, x->ctx);
			freed++;
		}
	}
	t->list = keep;
	t->nlist = kept;
	t->since_scan = 0;
	if (freed)
		pb_smr_cnt_add(&t->freed, freed);
}

/* Move t's list (after a scan) to the domain's orphans: nothing stays on a
 * thread that parks or leaves. */
static void ibr_orphan(struct pb_rthread *t)
{
	struct pb_reclaim *d = t->dom;
	struct ibr_node *x = t->list;

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
	t->nlist = 0;
}

static void ibr_adopt(struct pb_rthread *t)
{
	struct pb_reclaim *d = t->dom;
	struct ibr_node *o, *x;

	pthread_mutex_lock(&d->mu);
	o = d->orphans;
	d->orphans = NULL;
	atomic_store_explicit(&d->has_orphans, false, memory_order_relaxed);
	pthread_mutex_unlock(&d->mu);
	for (; o; o = x) {
		x = o->next;
		o->next = t->list;
		t->list = o;
		t->nlist++;
	}
}

static int ibr_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = aligned_alloc(PB_CACHELINE, (sizeof(*d) + PB_CACHELINE - 1) &
					     ~(size_t)(PB_CACHELINE - 1));

	if (!d)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	atomic_init(&d->era, 1); /* birth 0 is for nodes published before any thread */
	d->era_every = (unsigned)pb_opt_get(opts, "era-every");
	d->scan_every = (unsigned)pb_opt_get(opts, "scan-every");
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

static void ibr_destroy(struct pb_reclaim *d)
{
	struct pb_rthread *t, *tn;
	struct ibr_node *x, *nx;

	/* No thread is registered: nothing is reserved, everything goes. */
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

static int ibr_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	struct pb_rthread *t;

	/* Reuse a record left by an unregistered thread (acquire: its last
	 * counter values and empty list). */
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
		atomic_init(&t->lower, IBR_NONE);
		atomic_init(&t->upper, IBR_NONE);
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

static void ibr_end(struct pb_rthread *t);

static void ibr_thread_unregister(struct pb_reclaim *d, struct pb_rthread *t)
{
	ibr_end(t); /* outside begin/end by contract; harmless if so */
	ibr_scan(t);
	ibr_orphan(t);
	/* Release: the next owner (CAS acquire) sees our counters. */
	atomic_store_explicit(&t->in_use, false, memory_order_release);
	(void)d;
}

static void ibr_begin(struct pb_rthread *t)
{
	/* seq_cst loads/stores: the reader side of the Dekker pair */
	uint64_t e = atomic_load_explicit(&t->dom->era, memory_order_seq_cst);

	atomic_store_explicit(&t->lower, e, memory_order_seq_cst);
	atomic_store_explicit(&t->upper, e, memory_order_seq_cst);
}

static void ibr_end(struct pb_rthread *t)
{
	/* Release: our reads of protected nodes happen before a scan that sees
	 * the reservation gone.  upper first: a scan that reads the old lower
	 * and the new upper sees an empty interval only after both are gone. */
	atomic_store_explicit(&t->upper, IBR_NONE, memory_order_release);
	atomic_store_explicit(&t->lower, IBR_NONE, memory_order_release);
}

static void *ibr_protect(struct pb_rthread *t, unsigned slot, void *_Atomic *src)
{
	uint64_t u = atomic_load_explicit(&t->upper, memory_order_relaxed); /* own value */

	(void)slot; /* one reservation covers every slot */
	for (;;) {
		/* seq_cst: load of n after the store of u (file header) */
		void *p = atomic_load_explicit(src, memory_order_seq_cst);
		uint64_t e = atomic_load_explicit(&t->dom->era, memory_order_seq_cst);

		if (e == u)
			return p;
		atomic_store_explicit(&t->upper, e, memory_order_seq_cst);
		u = e;
	}
}

static void ibr_on_alloc(struct pb_rthread *t, struct pb_smr_node *node)
{
	struct ibr_node *n = (struct ibr_node *)node;

	if (!t) {
		n->birth = 0; /* before any thread: see the file header */
		return;
	}
	ibr_tick(t);
	/* acquire is enough: the publishing release store orders this read
	 * before any reader's load of the node (coherence, file header) */
	n->birth = atomic_load_explicit(&t->dom->era, memory_order_acquire);
}

static void ibr_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct ibr_node *n = (struct ibr_node *)node;
	struct pb_reclaim *d = t->dom;
	uint64_t r = atomic_load_explicit(&t->retired, memory_order_relaxed) + 1;

	n->fn = fn;
	n->ctx = ctx;
	/* seq_cst: after the caller's unlink in the total order (file header) */
	n->retire = atomic_load_explicit(&d->era, memory_order_seq_cst);
	n->next = t->list;
	t->list = n;
	t->nlist++;
	atomic_store_explicit(&t->retired, r, memory_order_release);
	ibr_tick(t);
	PB_DELAY("ibr.retire");
	/* Scanning inside a section is fine: it waits for nobody. */
	if (++t->since_scan >= d->scan_every) {
		/* Nodes parked threads left behind: without a shortage (no
		 * barrier) only a retiring thread's scan would ever free them. */
		if (atomic_load_explicit(&d->has_orphans, memory_order_relaxed))
			ibr_adopt(t);
		ibr_scan(t);
	}
	if (r % IBR_PEAK_EVERY == 0)
		pb_smr_peak_raise(&d->peak, ibr_pending_now(d, NULL, NULL));
}

static void ibr_offline(struct pb_rthread *t)
{
	/* Parking: free what we can, hand the rest to the domain (held_max). */
	ibr_end(t);
	ibr_scan(t);
	ibr_orphan(t);
}

static void ibr_barrier(struct pb_reclaim *d, struct pb_rthread *t)
{
	ibr_adopt(t);
	ibr_scan(t);
	ibr_orphan(t); /* what others pin now, any later barrier may free */
	pb_smr_peak_raise(&d->peak, ibr_pending_now(d, NULL, NULL));
}

static void ibr_stats(const struct pb_reclaim *cd, struct pb_reclaim_stats *st)
{
	struct pb_reclaim *d = (struct pb_reclaim *)cd;
	uint64_t p = ibr_pending_now(d, &st->retired, &st->freed);

	pb_smr_peak_raise(&d->peak, p);
	st->pending = p;
	st->pending_peak = atomic_load_explicit(&d->peak, memory_order_relaxed);
	st->leaked = 0;
}

static unsigned ibr_held_max(const struct pb_optvals *opts, unsigned threads)
{
	(void)opts;
	(void)threads;
	return 0; /* file header */
}

const struct pb_reclaim_ops pb_reclaim_ibr = {
	.abi = PB_ABI_VERSION,
	.name = "ibr",
	.summary = "interval-based reclamation, 2GE (Wen et al., PPoPP 2018): birth/retire eras vs. per-thread era reservations",
	.flags = PB_RC_PROVEN,
	.options = ibr_options,
	.supported = NULL,
	.create = ibr_create,
	.destroy = ibr_destroy,
	.thread_register = ibr_thread_register,
	.thread_unregister = ibr_thread_unregister,
	.begin = ibr_begin,
	.end = ibr_end,
	.protect = ibr_protect,
	.release = NULL,
	.retire = ibr_retire,
	.quiescent = NULL,
	.offline = ibr_offline,
	.online = NULL,
	.barrier = ibr_barrier,
	.stats = ibr_stats,
	.on_alloc = ibr_on_alloc,
	.held_max = ibr_held_max,
};
