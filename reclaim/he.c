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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "era_common.h" /* domain, record, orphans, the shared hooks */
#include "pb.h"
#include "reclaim.h"
#include "smr_stats.h"

#define HE_NONE 0u            /* an empty slot */
#define HE_SNAP (64 * PB_SMR_SLOTS) /* published eras copied per scan on the stack */

static const struct pb_option he_options[] = {
	{"era-every", PB_OPT_INT, 1, 1 << 20, 1, NULL, 0,
	 "retires per thread between two advances of the era clock (the paper: 1)"},
	{"scan-every", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "retires per thread between two scans of its retired list against all hazard eras"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

struct pb_rthread {
	struct era_rec r; /* first: dom, registry link, retired list, counters */
	_Atomic uint64_t slots[PB_SMR_SLOTS] PB_ALIGNED; /* hazard eras, read by every scan */
};
ERA_REC_FIRST(struct pb_rthread, r);

/* What a scan compares retired nodes with. */
struct he_snap {
	struct pb_reclaim *d;
	bool all;      /* every published era is in eras[] */
	unsigned n;
	uint64_t eras[HE_SNAP];
};

static bool he_pinned(const struct era_node *x, void *arg)
{
	const struct he_snap *s = arg;

	if (s->all) {
		for (unsigned i = 0; i < s->n; i++)
			if (x->birth <= s->eras[i] && s->eras[i] <= x->retire)
				return true;
		return false;
	}
	/* too many eras for the snapshot: walk the records per node */
	for (struct era_rec *o = era_first(s->d); o; o = o->next)
		for (unsigned i = 0; i < PB_SMR_SLOTS; i++) {
			uint64_t h = atomic_load_explicit(&era_thr(o)->slots[i], memory_order_seq_cst);

			if (h != HE_NONE && x->birth <= h && h <= x->retire)
				return true;
		}
	return false;
}

/* Free every node of t's list that no published era lies in; keep the rest. */
static void he_scan(struct pb_rthread *t)
{
	struct he_snap s = {.d = t->r.dom, .all = true, .n = 0};

	PB_DELAY("he.scan");
	ERA_FENCE(); /* reclaimer side of the Dekker pair (file header) */
	for (struct era_rec *o = era_first(s.d); o && s.all; o = o->next)
		for (unsigned i = 0; i < PB_SMR_SLOTS; i++) {
			/* seq_cst: see the file header */
			uint64_t h = atomic_load_explicit(&era_thr(o)->slots[i], memory_order_seq_cst);

			if (h == HE_NONE)
				continue;
			if (s.n == HE_SNAP) {
				s.all = false; /* too many: walk per node */
				break;
			}
			s.eras[s.n++] = h;
		}
	era_sweep(&t->r, he_pinned, &s);
}

static void he_end(struct pb_rthread *t)
{
	/* Release: reads of protected nodes happen before a scan that sees the
	 * slot empty. */
	for (unsigned i = 0; i < PB_SMR_SLOTS; i++)
		atomic_store_explicit(&t->slots[i], HE_NONE, memory_order_release);
}

/* Records start zeroed: every slot HE_NONE, no rec_init. */
static const struct era_scheme he_scheme = {sizeof(struct pb_rthread), NULL, he_end, he_scan};

static int he_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	return era_create(opts, &he_scheme, out);
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
		uint64_t e = atomic_load_explicit(&t->r.dom->era, memory_order_seq_cst);

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
	struct era_node *n = (struct era_node *)node;

	/* Before any thread: birth 0 (file header).  Otherwise the clock now;
	 * acquire is enough, the publishing release store orders it. */
	n->birth = t ? atomic_load_explicit(&t->r.dom->era, memory_order_acquire) : 0;
}

static void he_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct era_node *n = (struct era_node *)node;
	struct pb_reclaim *d = t->r.dom;
	/* seq_cst: after the caller's unlink in the total order (file header) */
	uint64_t e = atomic_load_explicit(&d->era, memory_order_seq_cst);
	uint64_t r;

	n->fn = fn;
	n->ctx = ctx;
	n->retire = e;
	r = era_push_retired(&t->r, n);
	if (++t->r.since_era >= d->era_every) {
		t->r.since_era = 0;
		/* advance unless someone did (the paper): one step per round */
		atomic_compare_exchange_strong_explicit(&d->era, &e, e + 1, memory_order_seq_cst,
							memory_order_relaxed);
	}
	PB_DELAY("he.retire");
	era_after_retire(&t->r, r);
}

const struct pb_reclaim_ops pb_reclaim_he = {
	.abi = PB_ABI_VERSION,
	.name = "he",
	.summary = "Hazard Eras (Ramalhete & Correia, SPAA 2017): per-slot published eras vs. node birth/retire eras",
	.flags = PB_RC_PROVEN | PB_RC_HOLD,
	.options = he_options,
	.supported = NULL,
	.create = he_create,
	.destroy = era_destroy,
	.thread_register = era_thread_register,
	.thread_unregister = era_thread_unregister,
	.begin = he_begin,
	.end = he_end,
	.protect = he_protect,
	.release = he_release,
	.retire = he_retire,
	.quiescent = NULL,
	.offline = era_offline,
	.online = NULL,
	.barrier = era_barrier,
	.stats = era_stats,
	.on_alloc = he_on_alloc,
	.held_max = era_held_max, /* 0: file header */
};
