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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "era_common.h" /* domain, record, orphans, the shared hooks */
#include "pb.h"
#include "reclaim.h"
#include "smr_stats.h"

#define IBR_NONE UINT64_MAX /* no reservation */
#define IBR_SNAP 256        /* reservations copied per scan on the stack */

static const struct pb_option ibr_options[] = {
	{"era-every", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "allocations + retires per thread between two advances of the global era"},
	{"scan-every", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "retires per thread between two scans of its retired list against all reservations"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

struct pb_rthread {
	struct era_rec r; /* first: dom, registry link, retired list, counters */
	/* the reservation, read by every scan: its own line */
	_Atomic uint64_t lower PB_ALIGNED;
	_Atomic uint64_t upper;
};
ERA_REC_FIRST(struct pb_rthread, r);

/* Count one allocation or retire; advance the global era every era_every. */
static inline void ibr_tick(struct pb_rthread *t)
{
	if (++t->r.since_era >= t->r.dom->era_every) {
		t->r.since_era = 0;
		/* seq_cst: part of the total order the file header reasons in */
		atomic_fetch_add_explicit(&t->r.dom->era, 1, memory_order_seq_cst);
	}
}

/* What a scan compares retired nodes with. */
struct ibr_snap {
	struct pb_reclaim *d;
	bool all;      /* every reservation is in lo[], up[] */
	unsigned n;
	uint64_t lo[IBR_SNAP], up[IBR_SNAP];
};

static bool ibr_pinned(const struct era_node *x, void *arg)
{
	const struct ibr_snap *s = arg;

	if (s->all) {
		for (unsigned i = 0; i < s->n; i++)
			if (x->birth <= s->up[i] && x->retire >= s->lo[i])
				return true;
		return false;
	}
	/* more records than the snapshot: walk them per node */
	for (struct era_rec *r = era_first(s->d); r; r = r->next)
		if (x->birth <= atomic_load_explicit(&era_thr(r)->upper, memory_order_seq_cst) &&
		    x->retire >= atomic_load_explicit(&era_thr(r)->lower, memory_order_seq_cst))
			return true;
	return false;
}

/*
 * Free every node of t's list whose interval meets no reservation; the rest
 * stays.  Caller is t's owner (or holds t's list exclusively).
 */
static void ibr_scan(struct pb_rthread *t)
{
	struct ibr_snap s = {.d = t->r.dom, .all = true, .n = 0};

	PB_DELAY("ibr.scan");
	ERA_FENCE(); /* reclaimer side of the Dekker pair (file header) */
	for (struct era_rec *r = era_first(s.d); r; r = r->next) {
		if (s.n == IBR_SNAP) {
			s.all = false; /* more records than the snapshot: walk per node */
			break;
		}
		/* seq_cst loads: see the file header */
		s.lo[s.n] = atomic_load_explicit(&era_thr(r)->lower, memory_order_seq_cst);
		s.up[s.n] = atomic_load_explicit(&era_thr(r)->upper, memory_order_seq_cst);
		s.n++;
	}
	era_sweep(&t->r, ibr_pinned, &s);
}

/* A new record's reservation is "none" before it is published. */
static void ibr_rec_init(struct pb_rthread *t)
{
	atomic_init(&t->lower, IBR_NONE);
	atomic_init(&t->upper, IBR_NONE);
}

static void ibr_begin(struct pb_rthread *t)
{
	/* seq_cst loads/stores: the reader side of the Dekker pair */
	uint64_t e = atomic_load_explicit(&t->r.dom->era, memory_order_seq_cst);

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

static const struct era_scheme ibr_scheme = {sizeof(struct pb_rthread), ibr_rec_init, ibr_end,
					      ibr_scan};

static int ibr_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	return era_create(opts, &ibr_scheme, out);
}

static void *ibr_protect(struct pb_rthread *t, unsigned slot, void *_Atomic *src)
{
	uint64_t u = atomic_load_explicit(&t->upper, memory_order_relaxed); /* own value */

	(void)slot; /* one reservation covers every slot */
	for (;;) {
		/* seq_cst: load of n after the store of u (file header) */
		void *p = atomic_load_explicit(src, memory_order_seq_cst);
		uint64_t e = atomic_load_explicit(&t->r.dom->era, memory_order_seq_cst);

		if (e == u)
			return p;
		atomic_store_explicit(&t->upper, e, memory_order_seq_cst);
		u = e;
	}
}

static void ibr_on_alloc(struct pb_rthread *t, struct pb_smr_node *node)
{
	struct era_node *n = (struct era_node *)node;

	if (!t) {
		n->birth = 0; /* before any thread: see the file header */
		return;
	}
	ibr_tick(t);
	/* acquire is enough: the publishing release store orders this read
	 * before any reader's load of the node (coherence, file header) */
	n->birth = atomic_load_explicit(&t->r.dom->era, memory_order_acquire);
}

static void ibr_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct era_node *n = (struct era_node *)node;
	uint64_t r;

	n->fn = fn;
	n->ctx = ctx;
	/* seq_cst: after the caller's unlink in the total order (file header) */
	n->retire = atomic_load_explicit(&t->r.dom->era, memory_order_seq_cst);
	r = era_push_retired(&t->r, n);
	ibr_tick(t);
	PB_DELAY("ibr.retire");
	era_after_retire(&t->r, r);
}

const struct pb_reclaim_ops pb_reclaim_ibr = {
	.abi = PB_ABI_VERSION,
	.name = "ibr",
	.summary = "interval-based reclamation, 2GE (Wen et al., PPoPP 2018): birth/retire eras vs. per-thread era reservations",
	.flags = PB_RC_PROVEN,
	.options = ibr_options,
	.supported = NULL,
	.create = ibr_create,
	.destroy = era_destroy,
	.thread_register = era_thread_register,
	.thread_unregister = era_thread_unregister,
	.begin = ibr_begin,
	.end = ibr_end,
	.protect = ibr_protect,
	.release = NULL,
	.retire = ibr_retire,
	.quiescent = NULL,
	.offline = era_offline,
	.online = NULL,
	.barrier = era_barrier,
	.stats = era_stats,
	.on_alloc = ibr_on_alloc,
	.held_max = era_held_max, /* 0: file header */
};
