/* SPDX-License-Identifier: MIT */
/*
 * Epoch-based reclamation with Concurrency Kit's ck_epoch (0.7.1): read
 * sections are ck_epoch_begin/end with a per-thread section, retire is
 * ck_epoch_call and every poll-every retires a non-blocking ck_epoch_poll.
 * Written by following docs/adding-a-reclaimer.md from reclaim/skeleton.c.
 *
 * Correctness (Fraser, "Practical lock-freedom", 2004; ck's src/ck_epoch.c):
 * a node deferred with ck_epoch_call is filed under the global epoch e seen at
 * retire time, after it was unlinked.  ck dispatches that bucket only once the
 * global epoch has advanced far enough that every record still active has
 * entered its section after the unlink, so no active section can hold the
 * node.  protect() is then a plain acquire load: a section pins everything it
 * can reach.  Each record has one owner (ck_epoch_call is single-owner).
 *
 * Pitfalls handled here:
 * - ck_epoch_unregister resets the record's pending lists; nodes still pending
 *   at unregister are moved to the wrapper's stash and re-deferred by the next
 *   owner of the record, by a barrier, or freed at destroy (no thread left).
 * - ck_epoch_poll updates the caller's own record epoch, so it is never called
 *   inside a section: a poll due inside one runs at end().
 * - ck_epoch_barrier spins; we use ck_epoch_barrier_wait with a callback that
 *   yields, so a barrier behind a stalled reader does not burn a core.
 * - Retire always runs inside a section, as ck's later documentation asks
 *   ("ck_epoch_call ... within an epoch section").  A caller that retires
 *   after end() (segmented's retire-order=released) gets one opened around
 *   the call: ck_epoch_begin's full fence (store active, then fence, then
 *   read the global epoch) orders the caller's earlier unlink before the
 *   epoch that ck_epoch_call files the node under.  Without it, on a weakly
 *   ordered machine that epoch read could be satisfied before the unlink is
 *   visible and file the node one epoch early; x86 (the CAS that unlinked is
 *   a full barrier) was only safe by accident.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ck_epoch.h>

#include "pb.h"
#include "reclaim.h"
#include "smr_stats.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/* ck's inline-asm atomics are invisible to TSAN; annotate the edge ck really
 * provides (end of a section -> dispatch of what it could hold). */
#define CKE_TSAN_RELEASE(a) __tsan_release(a)
#define CKE_TSAN_ACQUIRE(a) __tsan_acquire(a)
#else
#define CKE_TSAN_RELEASE(a) ((void)0)
#define CKE_TSAN_ACQUIRE(a) ((void)0)
#endif

/* Step 3: options. */
static const struct pb_option ckepoch_options[] = {
	{"poll-every", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "retires between two ck_epoch_poll calls (non-blocking reclamation attempts)"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

/* Step 4: node header. */
struct ckepoch_node {
	ck_epoch_entry_t entry; /* ck's deferral link + callback */
	pb_free_fn fn;
	void *ctx;
	struct pb_reclaim *dom;
};
_Static_assert(sizeof(struct ckepoch_node) <= PB_SMR_NODE_SIZE, "ckepoch node exceeds pb_smr_node");

/* Step 5: domain and per-thread wrapper around ck's record. */
struct pb_rthread {
	ck_epoch_record_t rec;        /* first: cache-line aligned, never unlinked by ck */
	ck_epoch_section_t section;   /* owner only */
	struct pb_reclaim *dom;
	struct pb_rthread *next;      /* domain list; immutable once published */
	ck_stack_entry_t *stash;      /* pending at unregister; guarded by dom->mu */
	bool in_section;              /* owner only */
	bool poll_due;                /* owner only */
	unsigned since_poll;          /* owner only */
	_Atomic uint64_t retired;     /* owner-written counters */
	_Atomic uint64_t freed;
};

struct pb_reclaim {
	ck_epoch_t epoch;
	pthread_mutex_t mu;                   /* list appends, stashes */
	_Atomic(struct pb_rthread *) threads; /* append-only wrapper list */
	_Atomic uint64_t peak;                /* sampled pending peak */
	unsigned poll_every;
};

#define CKE_PEAK_EVERY 32 /* retires between pending samples (peak error bound) */

CK_EPOCH_CONTAINER(struct ckepoch_node, entry, ckepoch_node_of)

static uint64_t ckepoch_pending_now(struct pb_reclaim *d, uint64_t *ret, uint64_t *fr)
{
	uint64_t r = 0, f = 0;

	PB_SMR_SUM_LIST(atomic_load_explicit(&d->threads, memory_order_acquire), r, f);
	if (ret)
		*ret = r;
	if (fr)
		*fr = f;
	return r > f ? r - f : 0;
}

static void ckepoch_sample_peak(struct pb_reclaim *d)
{
	pb_smr_peak_raise(&d->peak, ckepoch_pending_now(d, NULL, NULL));
}

/* ck callback: the node's grace period has elapsed. */
static void ckepoch_cb(ck_epoch_entry_t *e)
{
	struct ckepoch_node *n = ckepoch_node_of(e);

	CKE_TSAN_ACQUIRE(n->dom);
	n->fn((struct pb_smr_node *)n, n->ctx);
}

/* Run ck's dispatch calls on the owner's record and count what ran (ck keeps
 * n_dispatch per record; the owner is the only writer). */
static void ckepoch_poll(struct pb_rthread *t)
{
	unsigned before = t->rec.n_dispatch;

	PB_DELAY("ckepoch.poll");
	ck_epoch_poll(&t->rec);
	pb_smr_cnt_add(&t->freed, t->rec.n_dispatch - before);
	t->poll_due = false;
	t->since_poll = 0;
}

static void ckepoch_wait_cb(ck_epoch_t *g, ck_epoch_record_t *blocker, void *arg)
{
	sched_yield(); /* a reader holds the grace period: let it run */
}

static void ckepoch_barrier_own(struct pb_rthread *t)
{
	unsigned before = t->rec.n_dispatch;

	PB_DELAY("ckepoch.barrier");
	ck_epoch_barrier_wait(&t->rec, ckepoch_wait_cb, NULL);
	pb_smr_cnt_add(&t->freed, t->rec.n_dispatch - before);
}

/* Re-defer a stash (nodes pending on an unregistered record) on @t.  A later
 * epoch than the original retire only makes the wait longer: safe. */
static void ckepoch_adopt(struct pb_rthread *t, ck_stack_entry_t *s)
{
	while (s) {
		ck_stack_entry_t *next = s->next;
		ck_epoch_entry_t *e = (ck_epoch_entry_t *)((char *)s - offsetof(ck_epoch_entry_t, stack_entry));

		ck_epoch_call(&t->rec, e, ckepoch_cb);
		s = next;
	}
}

static int ckepoch_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	ck_epoch_init(&d->epoch);
	pthread_mutex_init(&d->mu, NULL);
	d->poll_every = (unsigned)pb_opt_get(opts, "poll-every");
	*out = d;
	return 0;
}

static void ckepoch_run_stack(ck_stack_entry_t *s)
{
	while (s) {
		ck_stack_entry_t *next = s->next;
		ck_epoch_entry_t *e = (ck_epoch_entry_t *)((char *)s - offsetof(ck_epoch_entry_t, stack_entry));

		e->function(e);
		s = next;
	}
}

static void ckepoch_destroy(struct pb_reclaim *d)
{
	struct pb_rthread *t, *next;

	/* No thread is registered: every record is free, nothing can be held. */
	for (t = atomic_load_explicit(&d->threads, memory_order_acquire); t; t = next) {
		next = t->next;
		ckepoch_run_stack(t->stash);
		free(t);
	}
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static int ckepoch_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	ck_epoch_record_t *rec = ck_epoch_recycle(&d->epoch, NULL);
	struct pb_rthread *t;
	ck_stack_entry_t *stash = NULL;

	if (rec) {
		t = (struct pb_rthread *)rec; /* rec is the first member */
		pthread_mutex_lock(&d->mu);
		stash = t->stash;
		t->stash = NULL;
		pthread_mutex_unlock(&d->mu);
	} else {
		size_t sz = (sizeof(*t) + PB_CACHELINE - 1) & ~(size_t)(PB_CACHELINE - 1);

		t = aligned_alloc(PB_CACHELINE, sz);
		if (!t)
			return -ENOMEM;
		memset(t, 0, sz);
		t->dom = d;
		ck_epoch_register(&d->epoch, &t->rec, NULL);
		pthread_mutex_lock(&d->mu);
		t->next = atomic_load_explicit(&d->threads, memory_order_relaxed);
		/* Release: list walkers see an initialised wrapper. */
		atomic_store_explicit(&d->threads, t, memory_order_release);
		pthread_mutex_unlock(&d->mu);
	}
	t->in_section = false;
	t->poll_due = false;
	t->since_poll = 0;
	ckepoch_adopt(t, stash);
	*out = t;
	return 0;
}

static void ckepoch_thread_unregister(struct pb_reclaim *d, struct pb_rthread *t)
{
	ck_stack_entry_t *stash = NULL;

	/* One non-blocking attempt, then keep the rest (see the file header). */
	ckepoch_poll(t);
	for (unsigned i = 0; i < CK_EPOCH_LENGTH; i++) {
		ck_stack_entry_t *s = CK_STACK_FIRST(&t->rec.pending[i]);

		while (s) {
			ck_stack_entry_t *next = s->next;

			s->next = stash;
			stash = s;
			s = next;
		}
	}
	CKE_TSAN_RELEASE(d);
	pthread_mutex_lock(&d->mu);
	if (stash) {
		ck_stack_entry_t *tail = stash;

		while (tail->next)
			tail = tail->next;
		tail->next = t->stash;
		t->stash = stash;
	}
	pthread_mutex_unlock(&d->mu);
	ck_epoch_unregister(&t->rec);
}

static void ckepoch_begin(struct pb_rthread *t)
{
	t->in_section = true;
	ck_epoch_begin(&t->rec, &t->section);
}

static void ckepoch_end(struct pb_rthread *t)
{
	CKE_TSAN_RELEASE(t->dom);
	ck_epoch_end(&t->rec, &t->section);
	t->in_section = false;
	if (PB_UNLIKELY(t->poll_due))
		ckepoch_poll(t);
}

static void *ckepoch_protect(struct pb_rthread *t, unsigned slot, void *_Atomic *src)
{
	/* The section pins what it can reach: an acquire load suffices. */
	return atomic_load_explicit(src, memory_order_acquire);
}

static void ckepoch_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct ckepoch_node *n = (struct ckepoch_node *)node;
	uint64_t r = atomic_load_explicit(&t->retired, memory_order_relaxed) + 1;
	const bool wrap = !t->in_section; /* see "Retire always runs inside a section" */

	n->fn = fn;
	n->ctx = ctx;
	n->dom = t->dom;
	atomic_store_explicit(&t->retired, r, memory_order_release);
	PB_DELAY("ckepoch.retire");
	if (wrap)
		ckepoch_begin(t);
	ck_epoch_call(&t->rec, &n->entry, ckepoch_cb);
	if (++t->since_poll >= t->dom->poll_every)
		t->poll_due = true; /* we are in a section: end() polls */
	if (wrap)
		ckepoch_end(t);
	if (r % CKE_PEAK_EVERY == 0)
		ckepoch_sample_peak(t->dom);
}

static void ckepoch_quiescent(struct pb_rthread *t)
{
	/* A natural point to reclaim: poll if anything is waiting. */
	if (t->since_poll || t->poll_due)
		ckepoch_poll(t);
}

static void ckepoch_barrier(struct pb_reclaim *d, struct pb_rthread *t)
{
	ck_stack_entry_t *all = NULL;

	/* Adopt stashes left by unregistered threads, then wait one grace
	 * period (for threads inside a section only) and dispatch. */
	pthread_mutex_lock(&d->mu);
	PB_SMR_TAKE_STASHES(atomic_load_explicit(&d->threads, memory_order_acquire), all);
	pthread_mutex_unlock(&d->mu);
	ckepoch_adopt(t, all);
	ckepoch_barrier_own(t);
	t->since_poll = 0;
	t->poll_due = false;
	ckepoch_sample_peak(d);
}

static void ckepoch_stats(const struct pb_reclaim *cd, struct pb_reclaim_stats *st)
{
	struct pb_reclaim *d = (struct pb_reclaim *)cd;
	uint64_t p = ckepoch_pending_now(d, &st->retired, &st->freed);

	ckepoch_sample_peak(d);
	st->pending = p;
	st->pending_peak = atomic_load_explicit(&d->peak, memory_order_relaxed);
	if (st->pending_peak < p)
		st->pending_peak = p;
	st->leaked = 0;
}

/*
 * Hold-back under a bounded supply (held_max): 0.  barrier() waits one grace
 * period (for threads inside a section, which end) and dispatches every node
 * the caller deferred, and a backend flushes each thread at a shortage
 * (barrier on an empty supply or a starved hint, and before parking), so no
 * node stays on a record past its flush.
 */
static unsigned ckepoch_held_max(const struct pb_optvals *opts, unsigned threads)
{
	(void)opts;
	(void)threads;
	return 0;
}

const struct pb_reclaim_ops pb_reclaim_ckepoch = {
	.abi = PB_ABI_VERSION,
	.name = "ckepoch",
	.summary = "Concurrency Kit ck_epoch: epoch sections, ck_epoch_call + periodic poll",
	.flags = PB_RC_PROVEN | PB_RC_SECTION,
	.options = ckepoch_options,
	.supported = NULL,
	.create = ckepoch_create,
	.destroy = ckepoch_destroy,
	.thread_register = ckepoch_thread_register,
	.thread_unregister = ckepoch_thread_unregister,
	.begin = ckepoch_begin,
	.end = ckepoch_end,
	.protect = ckepoch_protect,
	.release = NULL,
	.retire = ckepoch_retire,
	.quiescent = ckepoch_quiescent,
	.offline = NULL,
	.online = NULL,
	.barrier = ckepoch_barrier,
	.held_max = ckepoch_held_max,
	.stats = ckepoch_stats,
};
