/* SPDX-License-Identifier: MIT */
/*
 * Hazard pointers with Concurrency Kit's ck_hp (0.7.1): PB_SMR_SLOTS hazard
 * slots per thread, retire = ck_hp_free (one scan of every record's hazards
 * once threshold nodes are pending on the thread).
 *
 * Correctness (Michael, "Hazard pointers: safe memory reclamation for
 * lock-free objects", IEEE TPDS 2004):
 *   reader:    H = p (seq_cst store: xchg), then re-load *src; keep p only if
 *              *src still equals p.
 *   reclaimer: the node was unlinked (store U) before retire; a seq_cst fence
 *              precedes every scan, which then loads all hazards.
 *   Both sides have a full fence between their store and their load (Dekker),
 *   so either the scan sees H = p and keeps the node, or the reader's re-load
 *   sees U (or later) and does not return p.  A node is therefore freed only
 *   if no hazard published before the scan names it, and a hazard published
 *   after the scan cannot validate.  protect() loops until validation holds.
 *
 * Pitfalls handled here:
 * - ck_hp_unregister resets the record's pending list: nodes still protected
 *   at unregister go to the wrapper's stash and are re-queued by the record's
 *   next owner, by a barrier, or freed at destroy (no thread left).
 * - ck records are never unlinked; we reuse them with ck_hp_recycle and free
 *   them at destroy.
 * - ck_hp_purge spins while anything stays protected: never called.
 * - ck_hp_member_cache writes one entry past its 512-entry cache when more than
 *   512 hazards are set at once; records are capped at 127 (127 x 4 < 512).
 * - barrier scans only the caller's pending list (plus adopted stashes): other
 *   live threads' lists are owner-only in ck_hp.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ck_hp.h>

#include "pb.h"
#include "reclaim.h"
#include "smr_stats.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/* ck_hp_reclaim reads hazards with inline asm, invisible to TSAN; annotate
 * the edge it really provides (hazard cleared -> node freed). */
#define HP_TSAN_RELEASE(a) __tsan_release(a)
#define HP_TSAN_ACQUIRE(a) __tsan_acquire(a)
/* TSAN does not model fences (gcc warns): use a seq_cst RMW, a full barrier too. */
static _Thread_local _Atomic int hp_fence_dummy;
#define HP_FENCE() ((void)atomic_fetch_add_explicit(&hp_fence_dummy, 0, memory_order_seq_cst))
#else
#define HP_FENCE() atomic_thread_fence(memory_order_seq_cst)
#define HP_TSAN_RELEASE(a) ((void)0)
#define HP_TSAN_ACQUIRE(a) ((void)0)
#endif

#define HP_MAX_RECORDS 127 /* see the file header: ck_hp cache overflow */

static const struct pb_option hp_options[] = {
	{"threshold", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "pending nodes per thread before a scan of all hazard pointers"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

struct hp_node {
	ck_hp_hazard_t hz; /* pointer compared with hazards, data, pending link */
	pb_free_fn fn;
	void *ctx;
	struct pb_reclaim *dom;
};
_Static_assert(sizeof(struct hp_node) <= PB_SMR_NODE_SIZE, "hp node exceeds pb_smr_node");

struct pb_rthread {
	ck_hp_record_t rec;                 /* first: ck's record, never unlinked */
	void *_Atomic slots[PB_SMR_SLOTS];  /* the hazard array ck scans */
	struct pb_reclaim *dom;
	struct pb_rthread *next;            /* domain list; immutable once published */
	ck_stack_entry_t *stash;            /* pending at unregister; dom->mu */
	_Atomic uint64_t retired;           /* owner-written counters */
	_Atomic uint64_t freed;
};

struct pb_reclaim {
	ck_hp_t hp;
	pthread_mutex_t mu;                   /* list appends, stashes, nrec */
	_Atomic(struct pb_rthread *) threads; /* append-only wrapper list */
	unsigned nrec;
	unsigned threshold;
	_Atomic uint64_t peak;                /* sampled pending peak */
};

#define HP_PEAK_EVERY 32 /* retires between pending samples (peak error bound) */

static uint64_t hp_pending_now(struct pb_reclaim *d, uint64_t *ret, uint64_t *fr)
{
	uint64_t r = 0, f = 0;

	PB_SMR_SUM_LIST(atomic_load_explicit(&d->threads, memory_order_acquire), r, f);
	if (ret)
		*ret = r;
	if (fr)
		*fr = f;
	return r > f ? r - f : 0;
}

static void hp_sample_peak(struct pb_reclaim *d)
{
	pb_smr_peak_raise(&d->peak, hp_pending_now(d, NULL, NULL));
}

/* ck_hp's destructor: called with hazard->data, our node. */
static void hp_destructor(void *data)
{
	struct hp_node *n = data;

	HP_TSAN_ACQUIRE(n->dom);
	n->fn((struct pb_smr_node *)n, n->ctx);
}

/* One scan of the caller's pending list; counts what ck destroyed. */
static void hp_scan(struct pb_rthread *t)
{
	uint64_t before = t->rec.n_reclamations;

	PB_DELAY("hp.scan");
	HP_FENCE(); /* reclaimer side of the Dekker pair */
	ck_hp_reclaim(&t->rec);
	pb_smr_cnt_add(&t->freed, t->rec.n_reclamations - before);
}

static void hp_adopt(struct pb_rthread *t, ck_stack_entry_t *s)
{
	while (s) {
		ck_stack_entry_t *next = s->next;
		ck_hp_hazard_t *hz = (ck_hp_hazard_t *)((char *)s - offsetof(ck_hp_hazard_t, pending_entry));

		ck_hp_retire(&t->rec, hz, hz->data, hz->pointer); /* push only, no scan */
		s = next;
	}
}

static int hp_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->threshold = (unsigned)pb_opt_get(opts, "threshold");
	ck_hp_init(&d->hp, PB_SMR_SLOTS, d->threshold, hp_destructor);
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

static void hp_destroy(struct pb_reclaim *d)
{
	struct pb_rthread *t, *next;

	/* No thread is registered: nothing is protected. */
	for (t = atomic_load_explicit(&d->threads, memory_order_acquire); t; t = next) {
		ck_stack_entry_t *s = t->stash;

		next = t->next;
		while (s) {
			ck_stack_entry_t *sn = s->next;
			ck_hp_hazard_t *hz = (ck_hp_hazard_t *)((char *)s - offsetof(ck_hp_hazard_t, pending_entry));

			hp_destructor(hz->data);
			s = sn;
		}
		free(t);
	}
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static int hp_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	ck_hp_record_t *rec = ck_hp_recycle(&d->hp);
	struct pb_rthread *t;
	ck_stack_entry_t *stash = NULL;

	if (rec) {
		/* The record's previous owner handed it over through ck's
		 * inline-asm state word (ck_hp_unregister -> ck_hp_recycle),
		 * invisible to TSAN: state the edge, paired with the release at
		 * the end of hp_thread_unregister. */
		HP_TSAN_ACQUIRE(rec);
		t = (struct pb_rthread *)rec; /* rec is the first member */
		pthread_mutex_lock(&d->mu);
		stash = t->stash;
		t->stash = NULL;
		pthread_mutex_unlock(&d->mu);
	} else {
		size_t sz = (sizeof(*t) + PB_CACHELINE - 1) & ~(size_t)(PB_CACHELINE - 1);

		pthread_mutex_lock(&d->mu);
		if (d->nrec >= HP_MAX_RECORDS) {
			pthread_mutex_unlock(&d->mu);
			return -EAGAIN;
		}
		d->nrec++;
		pthread_mutex_unlock(&d->mu);
		t = aligned_alloc(PB_CACHELINE, sz);
		if (!t)
			return -ENOMEM;
		memset(t, 0, sz);
		t->dom = d;
		ck_hp_register(&d->hp, &t->rec, (void **)t->slots);
		pthread_mutex_lock(&d->mu);
		t->next = atomic_load_explicit(&d->threads, memory_order_relaxed);
		/* Release: list walkers see an initialised wrapper. */
		atomic_store_explicit(&d->threads, t, memory_order_release);
		pthread_mutex_unlock(&d->mu);
	}
	hp_adopt(t, stash);
	*out = t;
	return 0;
}

static void hp_thread_unregister(struct pb_reclaim *d, struct pb_rthread *t)
{
	ck_stack_entry_t *s, *stash;

	for (unsigned i = 0; i < PB_SMR_SLOTS; i++)
		atomic_store_explicit(&t->slots[i], NULL, memory_order_release);
	HP_TSAN_RELEASE(d);
	hp_scan(t);
	stash = CK_STACK_FIRST(&t->rec.pending);
	if (stash) {
		for (s = stash; s->next; s = s->next)
			;
		pthread_mutex_lock(&d->mu);
		s->next = t->stash;
		t->stash = stash;
		pthread_mutex_unlock(&d->mu);
	}
	HP_TSAN_RELEASE(&t->rec); /* -> the next owner's ck_hp_recycle (see register) */
	ck_hp_unregister(&t->rec);
}

static void hp_begin(struct pb_rthread *t)
{
	(void)t; /* hazards are published per pointer in protect() */
}

static void hp_end(struct pb_rthread *t)
{
	HP_TSAN_RELEASE(t->dom);
	/* Release: our reads of the nodes happen before a scan that sees NULL. */
	for (unsigned i = 0; i < PB_SMR_SLOTS; i++)
		atomic_store_explicit(&t->slots[i], NULL, memory_order_release);
}

static void *hp_protect(struct pb_rthread *t, unsigned slot, void *_Atomic *src)
{
	void *p;

	/* Moving a slot off its old pointer ends the reads of that object, as
	 * hp_release does: tell TSAN (no-op in other builds). */
	HP_TSAN_RELEASE(t->dom);
	p = atomic_load_explicit(src, memory_order_acquire);

	for (;;) {
		void *q;

		if (!p) {
			atomic_store_explicit(&t->slots[slot], NULL, memory_order_release);
			return NULL;
		}
		/* seq_cst store (xchg, like ck_hp_set_fence) then seq_cst re-load:
		 * the reader side of the Dekker pair in the file header. */
		atomic_store_explicit(&t->slots[slot], p, memory_order_seq_cst);
		q = atomic_load_explicit(src, memory_order_seq_cst);
		if (q == p)
			return p;
		p = q;
	}
}

static void hp_release(struct pb_rthread *t, unsigned slot, void *p)
{
	HP_TSAN_RELEASE(t->dom);
	/* Release: reads of p happen before a scan that sees the slot empty. */
	atomic_store_explicit(&t->slots[slot], NULL, memory_order_release);
}

static void hp_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct hp_node *n = (struct hp_node *)node;
	struct pb_reclaim *d = t->dom;
	uint64_t r = atomic_load_explicit(&t->retired, memory_order_relaxed) + 1;

	n->fn = fn;
	n->ctx = ctx;
	n->dom = d;
	atomic_store_explicit(&t->retired, r, memory_order_release);
	PB_DELAY("hp.retire");
	if (t->rec.n_pending + 1 >= d->threshold) {
		/* ck_hp_free will scan: fence first (Dekker), count what it frees. */
		uint64_t before = t->rec.n_reclamations;

		HP_FENCE();
		ck_hp_free(&t->rec, &n->hz, n, n);
		pb_smr_cnt_add(&t->freed, t->rec.n_reclamations - before);
	} else {
		ck_hp_free(&t->rec, &n->hz, n, n); /* below threshold: push only */
	}
	if (r % HP_PEAK_EVERY == 0)
		hp_sample_peak(d);
}

static void hp_barrier(struct pb_reclaim *d, struct pb_rthread *t)
{
	ck_stack_entry_t *all = NULL;

	pthread_mutex_lock(&d->mu);
	PB_SMR_TAKE_STASHES(atomic_load_explicit(&d->threads, memory_order_acquire), all);
	pthread_mutex_unlock(&d->mu);
	hp_adopt(t, all);
	hp_scan(t);
	hp_sample_peak(d);
}

static void hp_stats(const struct pb_reclaim *cd, struct pb_reclaim_stats *st)
{
	struct pb_reclaim *d = (struct pb_reclaim *)cd;
	uint64_t p = hp_pending_now(d, &st->retired, &st->freed);

	hp_sample_peak(d);
	st->pending = p;
	st->pending_peak = atomic_load_explicit(&d->peak, memory_order_relaxed);
	if (st->pending_peak < p)
		st->pending_peak = p;
	st->leaked = 0;
}

/*
 * Hold-back under a bounded supply (held_max).  A backend flushes each
 * thread at a shortage: barrier() when it finds the supply empty or is told
 * another thread starves, and (segmented, bounded) barrier() before parking.
 * hp's barrier scans the caller's list and frees everything no hazard names;
 * what stays is what other threads' hazards name at that moment, and those
 * stay on this thread's list until its next flush even after the hazard
 * moves.  A thread's hazards name at most one retired node at a time when,
 * as in segmented, a thread protects one node per queue operation and a
 * node it protects is retired at most once: so each thread can cause at
 * most one node to stay behind: 1 per thread.
 */
static unsigned hp_held_max(const struct pb_optvals *opts, unsigned threads)
{
	(void)opts;
	(void)threads;
	return 1;
}

const struct pb_reclaim_ops pb_reclaim_hp = {
	.abi = PB_ABI_VERSION,
	.name = "hp",
	.summary = "Concurrency Kit ck_hp hazard pointers: validate-and-retry protect, threshold scans",
	/* HOLD: a set slot pins one node and nothing else (no section, no
	 * epoch), so a backend may keep it set between operations. */
	.flags = PB_RC_PROVEN | PB_RC_HOLD,
	.options = hp_options,
	.supported = NULL,
	.create = hp_create,
	.destroy = hp_destroy,
	.thread_register = hp_thread_register,
	.thread_unregister = hp_thread_unregister,
	.begin = hp_begin,
	.end = hp_end,
	.protect = hp_protect,
	.release = hp_release,
	.retire = hp_retire,
	.quiescent = NULL,
	.offline = NULL,
	.online = NULL,
	.barrier = hp_barrier,
	.stats = hp_stats,
	.held_max = hp_held_max,
};
