/* SPDX-License-Identifier: MIT */
/*
 * Userspace RCU (liburcu 0.13) as a poolbench reclamation scheme.  One source,
 * three flavours: compiled once with -DPB_URCU_MEMB (pb_reclaim_urcu_memb, the
 * memory-barrier flavour, <urcu.h>), once with -DPB_URCU_QSBR
 * (pb_reclaim_urcu_qsbr, quiescent-state based, <urcu-qsbr.h>) and once with
 * -DPB_URCU_BP (pb_reclaim_urcu_bp, the "bulletproof" flavour, <urcu-bp.h>);
 * see reclaim/meson.build.
 *
 * urcu-bp fits the same code: its readers register themselves on their first
 * rcu_read_lock (rcu_register_thread is an optional no-op-like call there and
 * rcu_unregister_thread a no-op; a thread's reader slot is released when the
 * thread exits), its read side costs a full fence more than memb's
 * (sys_membarrier is not used), and synchronize_rcu/call_rcu/rcu_barrier are
 * the same calls.  It needs no quiescent states, so it takes memb's flags;
 * calling rcu_register_thread as for memb is harmless and keeps one path.
 *
 * liburcu's grace periods are process-global per flavour: two domains of the
 * same flavour share them (a grace period waits for the readers of both, and
 * rcu_barrier() waits for both domains' callbacks).  That is only a cost, never
 * a correctness problem, since a longer wait is always safe.  Each domain still
 * keeps its own counters.  Registration is reference-counted per thread and
 * flavour (rcu_register_thread on the first, rcu_unregister_thread on the
 * last), but QSBR's online/offline state is per thread, not per domain: a
 * thread registered in two QSBR domains that goes offline in one is offline
 * in both.
 *
 * Correctness comes from liburcu (Desnoyers, McKenney et al., "User-Level
 * Implementations of Read-Copy Update", IEEE TPDS 2012): a node retired with
 * call_rcu()/after synchronize_rcu() is freed only after every read-side
 * critical section (memb: rcu_read_lock..unlock; qsbr: the span between two
 * quiescent states of an online thread) that could have loaded it has ended.
 * protect() is a plain acquire load: a section pins everything it can reach.
 *
 * Retire modes (option retire-mode):
 *   thread    (default) collect batch nodes per thread, hand the list to the
 *             domain's reclaim thread (a mutex hold and a signal, never a
 *             wait), which runs synchronize_rcu() and frees; it sleeps only
 *             while nothing is handed.  barrier() hands off the caller's
 *             partial batch and waits for it (a QSBR caller goes offline).
 *   call-rcu  enqueue on a call_rcu worker (never blocks the caller);
 *   batch     collect batch nodes per thread, then synchronize_rcu() and free
 *             them on the retiring thread (bounded memory, blocks the caller
 *             for a grace period per batch; deferred to end() when retire is
 *             called inside a section, because waiting for a grace period from
 *             inside a read-side section would wait for ourselves).
 * Why thread is the default (2-core VM, segmented, seg-size 1, seg-count 16,
 * p=1 w=2; issue 11): with call-rcu, liburcu's single call_rcu worker naps
 * between rounds, so under --seg-supply bounded the producer waited for it
 * and every run stalled until the watchdog, for memb and qsbr alike; in
 * latency mode with allocation allowed it allocated 0.046-0.050 times per
 * job with ~9 900 segments pending.  With thread both flavours finish the
 * bounded runs, and allocate 0.0007 (memb) / 0.002 (qsbr) times per job with
 * 370 / 770 pending, the order of ck_epoch (0.0008, 310) in the same run.
 * Earlier figures for the other two (2 writers retiring 1M nodes each + 1
 * reader): call_rcu costs ~140-310 ns per retire and its single worker
 * falls behind, so pending peaked at 130k-950k nodes (the known trap); batch
 * costs ~50-230 ns and pending stays at batch x threads (128), but it makes
 * retire block: with QSBR, a thread that is online but waiting on the
 * retiring thread (a producer blocked on a full queue that this worker must
 * drain) would deadlock it.  thread keeps batch's bounded pending without
 * blocking the retiring thread; defer_rcu() (liburcu's other deferral) was
 * not tried: it also blocks the caller when its per-thread queue is full.
 * Option cr-workers=percpu creates liburcu's per-CPU call_rcu workers
 * (process-global, kept until exit) so that one worker does not fall behind
 * many retiring threads; on 2 CPUs it did not help (pending 136k-560k: the
 * workers compete with the retiring threads for the same two cores).
 */
/*
 * memb and qsbr: inline the read-side fast paths (liburcu's LGPL headers).
 * bp: call the library instead.  liburcu-bp 0.13 hands out its per-thread
 * reader records from an arena aligned to 64 bytes while the type says 128
 * (CAA_CACHE_LINE_SIZE), so the inlined fast path is a misaligned member
 * access that UBSan reports (and halts on) in our build; inside the library
 * the same access is not instrumented.  The cost is one call per
 * rcu_read_lock/unlock, part of what urcu-bp measures.
 */
#if !defined(PB_URCU_BP)
#define _LGPL_SOURCE
#endif

#if defined(PB_URCU_QSBR)
#include <urcu-qsbr.h>
#define URCU_OPS pb_reclaim_urcu_qsbr
#define URCU_NAME "urcu-qsbr"
#define URCU_SUMMARY "liburcu QSBR: free read side; threads must report quiescent states"
#define URCU_FLAGS (PB_RC_PROVEN | PB_RC_NEEDS_QS | PB_RC_SECTION)
#elif defined(PB_URCU_BP)
#include <urcu-bp.h>
#define URCU_OPS pb_reclaim_urcu_bp
#define URCU_NAME "urcu-bp"
#define URCU_SUMMARY "liburcu bulletproof flavour: readers register themselves on first use; slower read side"
#define URCU_FLAGS (PB_RC_PROVEN | PB_RC_SECTION)
#elif defined(PB_URCU_MEMB)
#include <urcu.h>
#define URCU_OPS pb_reclaim_urcu_memb
#define URCU_NAME "urcu-memb"
#define URCU_SUMMARY "liburcu memb flavour: rcu_read_lock/unlock sections, sys_membarrier writers"
#define URCU_FLAGS (PB_RC_PROVEN | PB_RC_SECTION)
#else
#error "compile reclaim/urcu.c with -DPB_URCU_MEMB, -DPB_URCU_QSBR or -DPB_URCU_BP"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "reclaim.h"
#include "smr_stats.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/*
 * liburcu synchronises through inline-asm atomics that TSAN cannot see.  These
 * annotations tell TSAN about the happens-before edges liburcu really provides
 * (end of a read section -> callback; retire -> callback).  No code otherwise.
 */
#define URCU_TSAN_RELEASE(a) __tsan_release(a)
#define URCU_TSAN_ACQUIRE(a) __tsan_acquire(a)
/* TSAN's dynamic annotations (in libtsan; not in a header). */
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#else
#define URCU_TSAN_RELEASE(a) ((void)0)
#define URCU_TSAN_ACQUIRE(a) ((void)0)
#endif

enum { URCU_MODE_CALL_RCU, URCU_MODE_BATCH, URCU_MODE_THREAD };
enum { URCU_CRW_DEFAULT, URCU_CRW_PERCPU };

static const char *const urcu_mode_names[] = {"call-rcu", "batch", "thread", NULL};
static const char *const urcu_crw_names[] = {"default", "percpu", NULL};

static const struct pb_option urcu_options[] = {
	{"retire-mode", PB_OPT_ENUM, 0, 0, URCU_MODE_THREAD, urcu_mode_names, 0,
	 "thread: per-thread batches handed to the domain's reclaim thread (synchronize_rcu, then "
	 "free; woken at once); call-rcu: hand nodes to liburcu's call_rcu worker; batch: "
	 "synchronize_rcu per batch on the retiring thread"},
	{"batch", PB_OPT_INT, 1, 1 << 20, 64, NULL, 0,
	 "retire-mode=thread/batch: nodes collected per thread before a hand-off / synchronize_rcu"},
	{"cr-workers", PB_OPT_ENUM, 0, 0, URCU_CRW_DEFAULT, urcu_crw_names, 0,
	 "call_rcu workers: default (one, process-wide) or percpu (one per CPU)"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

/* What the scheme keeps in a retired node's struct pb_smr_node. */
struct urcu_node {
	struct rcu_head head; /* liburcu's callback link */
	pb_free_fn fn;
	void *ctx;
	struct pb_reclaim *dom;
	struct urcu_node *batch_next; /* retire-mode=batch: per-thread list */
};
_Static_assert(sizeof(struct urcu_node) <= PB_SMR_NODE_SIZE, "urcu node exceeds pb_smr_node");

/*
 * A registered thread.  Records are kept on the domain's append-only list until
 * destroy and reused by later registrations (in_use), so stats() can walk the
 * list without a lock: a record's next pointer never changes once published.
 */
struct pb_rthread {
	struct pb_reclaim *dom;
	struct pb_rthread *next;      /* immutable once published */
	atomic_bool in_use;
	bool in_section;              /* owner only */
	bool flush_due;               /* owner only: batch full inside a section */
	unsigned nbatch;              /* owner only */
	struct urcu_node *batch;      /* owner only */
	struct urcu_node *batch_last; /* owner only: tail of batch (thread mode) */
	_Atomic uint64_t retired;     /* written by the owner only */
	_Atomic uint64_t batch_freed; /* retire-mode=batch frees, owner only */
};

struct pb_reclaim {
	int mode;
	unsigned batch;
	_Atomic(struct pb_rthread *) threads; /* append-only list */
	pthread_mutex_t mu;                   /* serialises list appends */
	_Atomic uint64_t cb_freed;            /* frees done by call_rcu workers and the reclaim thread */
	_Atomic uint64_t peak;                /* sampled pending peak */
	/* retire-mode=thread: the domain's reclaim thread and its hand-off. */
	pthread_t rthr;
	bool rthr_started;
	pthread_mutex_t rmu;
	pthread_cond_t rwork, rdone;
	struct urcu_node *handed;             /* under rmu: lists handed off, chained */
	uint64_t handed_seq, done_seq;        /* under rmu: hand-offs made / freed */
	bool rexit;                           /* under rmu */
};

/* Per-thread liburcu registration count for this flavour (a thread may be
 * registered in several domains, or twice in one). */
static _Thread_local unsigned urcu_tls_regs;

#define URCU_PEAK_EVERY 32 /* retires between pending samples (peak error bound) */

static uint64_t urcu_pending_now(const struct pb_reclaim *d, uint64_t *ret, uint64_t *fr)
{
	uint64_t r = 0, f;
	struct pb_rthread *t;

	/* Retires first, then frees (acquire pairs with the release increments):
	 * a sampler preempted between the two cannot inflate pending by what was
	 * retired meanwhile; the error is biased low (clamped at 0). */
	for (t = atomic_load_explicit(&((struct pb_reclaim *)d)->threads, memory_order_acquire); t; t = t->next)
		r += atomic_load_explicit(&t->retired, memory_order_acquire);
	f = atomic_load_explicit(&d->cb_freed, memory_order_acquire);
	for (t = atomic_load_explicit(&((struct pb_reclaim *)d)->threads, memory_order_acquire); t; t = t->next)
		f += atomic_load_explicit(&t->batch_freed, memory_order_acquire);
	if (ret)
		*ret = r;
	if (fr)
		*fr = f;
	return r > f ? r - f : 0;
}

static void urcu_sample_peak(struct pb_reclaim *d)
{
	pb_smr_peak_raise(&d->peak, urcu_pending_now(d, NULL, NULL));
}

/*
 * rcu_barrier(), plus what TSAN cannot see: inside it liburcu calloc()s work
 * items that its call_rcu threads free after an inline-asm hand-off, and when
 * it returns every callback queued before it has run (urcu_cb releases the
 * domain after counting).  Ignoring the caller's own accesses inside liburcu
 * keeps those library internals out of the reports; none of our code runs on
 * this thread in there.
 */
static void urcu_barrier_all(struct pb_reclaim *d)
{
#if defined(__SANITIZE_THREAD__)
	AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
	rcu_barrier();
#if defined(__SANITIZE_THREAD__)
	AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
#endif
	URCU_TSAN_ACQUIRE(d);
}

static void *urcu_reclaim_main(void *arg);

static int urcu_create(const struct pb_optvals *opts, struct pb_reclaim **out)
{
	struct pb_reclaim *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->mode = (int)pb_opt_get(opts, "retire-mode");
	d->batch = (unsigned)pb_opt_get(opts, "batch");
	if (pb_opt_get(opts, "cr-workers") == URCU_CRW_PERCPU && d->mode == URCU_MODE_CALL_RCU) {
		/* Process-global; CPUs that already have a worker are skipped. */
		int rc = create_all_cpu_call_rcu_data(0);

		if (rc) {
			free(d);
			return rc < 0 ? rc : -rc;
		}
	}
	pthread_mutex_init(&d->mu, NULL);
	if (d->mode == URCU_MODE_THREAD) {
		int rc;

		pthread_mutex_init(&d->rmu, NULL);
		pthread_cond_init(&d->rwork, NULL);
		pthread_cond_init(&d->rdone, NULL);
		rc = pthread_create(&d->rthr, NULL, urcu_reclaim_main, d);
		if (!rc)
			pthread_setname_np(d->rthr, "pb-urcu-reclaim");
		if (rc) {
			pthread_cond_destroy(&d->rwork);
			pthread_cond_destroy(&d->rdone);
			pthread_mutex_destroy(&d->rmu);
			pthread_mutex_destroy(&d->mu);
			free(d);
			return -rc;
		}
		d->rthr_started = true;
	}
	*out = d;
	return 0;
}

/* Free a list of nodes whose grace period has elapsed; returns the count. */
static uint64_t urcu_free_list(struct urcu_node *n)
{
	uint64_t k = 0;

	while (n) {
		struct urcu_node *next = n->batch_next;

		URCU_TSAN_ACQUIRE(n->dom);
		n->fn((struct pb_smr_node *)n, n->ctx);
		n = next;
		k++;
	}
	return k;
}

/*
 * retire-mode=thread.  Each thread collects `batch` retired nodes, then hands
 * the list to its domain (one mutex hold and a signal per batch, never a
 * wait, so it may happen inside a read section); the domain's reclaim
 * thread takes everything handed so far, waits one grace period
 * (synchronize_rcu: every section that could hold a node handed before it
 * started has ended) and frees it.  It sleeps only while nothing is handed,
 * so, unlike liburcu's call_rcu worker, which naps between rounds, segments
 * come back one grace period after their batch is full.  barrier() hands off
 * the caller's partial batch and waits for the rounds that cover it.
 */
static void *urcu_reclaim_main(void *arg)
{
	struct pb_reclaim *d = arg;

	pthread_mutex_lock(&d->rmu);
	for (;;) {
		struct urcu_node *list;
		uint64_t seq;

		while (!d->handed && !d->rexit)
			pthread_cond_wait(&d->rwork, &d->rmu);
		if (!d->handed)
			break; /* exit asked and nothing left */
		list = d->handed;
		d->handed = NULL;
		seq = d->handed_seq;
		pthread_mutex_unlock(&d->rmu);
		PB_DELAY("urcu.reclaim");
		synchronize_rcu(); /* not a registered reader: allowed for both flavours */
		/*
		 * Count each free as it happens, not the whole list after it: a
		 * list can hold thousands of nodes (urcu-bp's grace periods nap
		 * 10 ms while readers are active), and counting them at the end
		 * made pending (retired - freed) read thousands too high while the
		 * segments were already back in the pool -- an inflated peak that
		 * hid later real ones (tests/test_limbo_failure.c's alloc check).
		 * Release: see urcu_pending_now.
		 */
		for (struct urcu_node *n = list, *next; n; n = next) {
			next = n->batch_next;
			URCU_TSAN_ACQUIRE(n->dom);
			n->fn((struct pb_smr_node *)n, n->ctx);
			atomic_fetch_add_explicit(&d->cb_freed, 1, memory_order_release);
		}
		pthread_mutex_lock(&d->rmu);
		d->done_seq = seq;
		pthread_cond_broadcast(&d->rdone);
	}
	pthread_mutex_unlock(&d->rmu);
	return NULL;
}

/* Hand the thread's batch to the reclaim thread; returns the hand-off
 * sequence number that covers everything this thread retired so far. */
static uint64_t urcu_hand_off(struct pb_reclaim *d, struct pb_rthread *t)
{
	uint64_t seq;

	pthread_mutex_lock(&d->rmu);
	if (t->batch) {
		t->batch_last->batch_next = d->handed;
		d->handed = t->batch;
		d->handed_seq++;
		pthread_cond_signal(&d->rwork);
		t->batch = t->batch_last = NULL;
		t->nbatch = 0;
	}
	seq = d->handed_seq;
	pthread_mutex_unlock(&d->rmu);
	return seq;
}

/* Wait until the reclaim thread has freed hand-off @seq and everything
 * before it.  Outside any read section; a QSBR caller goes offline while it
 * waits (the grace period it waits for must not wait for it). */
static void urcu_wait_done(struct pb_reclaim *d, uint64_t seq)
{
#if defined(PB_URCU_QSBR)
	const bool online = rcu_read_ongoing();

	if (online)
		rcu_thread_offline();
#endif
	pthread_mutex_lock(&d->rmu);
	while (d->done_seq < seq)
		pthread_cond_wait(&d->rdone, &d->rmu);
	pthread_mutex_unlock(&d->rmu);
#if defined(PB_URCU_QSBR)
	if (online)
		rcu_thread_online();
#endif
	URCU_TSAN_ACQUIRE(d);
}

static void urcu_destroy(struct pb_reclaim *d)
{
	struct pb_rthread *t, *next;

	if (d->rthr_started) {
		/* Every thread unregistered (their batches handed off): the reclaim
		 * thread frees what is left, then exits. */
		pthread_mutex_lock(&d->rmu);
		d->rexit = true;
		pthread_cond_signal(&d->rwork);
		pthread_mutex_unlock(&d->rmu);
		pthread_join(d->rthr, NULL);
	}
	if (d->mode == URCU_MODE_THREAD) {
		pthread_cond_destroy(&d->rwork);
		pthread_cond_destroy(&d->rdone);
		pthread_mutex_destroy(&d->rmu);
	}

	/* Every thread is unregistered: no reader, so the callbacks still queued
	 * only need their workers to run (rcu_barrier works unregistered). */
	urcu_barrier_all(d);
	for (t = atomic_load_explicit(&d->threads, memory_order_acquire); t; t = next) {
		next = t->next;
		pb_smr_cnt_add(&t->batch_freed, urcu_free_list(t->batch)); /* empty: flushed at unregister */
		free(t);
	}
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static int urcu_thread_register(struct pb_reclaim *d, struct pb_rthread **out)
{
	struct pb_rthread *t;

	/* Reuse a record left by an unregistered thread (keeps the list bounded). */
	for (t = atomic_load_explicit(&d->threads, memory_order_acquire); t; t = t->next) {
		bool f = false;

		if (atomic_compare_exchange_strong(&t->in_use, &f, true))
			break;
	}
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		t->dom = d;
		atomic_init(&t->in_use, true);
		pthread_mutex_lock(&d->mu);
		t->next = atomic_load_explicit(&d->threads, memory_order_relaxed);
		/* Release: readers of the list see a fully initialised record. */
		atomic_store_explicit(&d->threads, t, memory_order_release);
		pthread_mutex_unlock(&d->mu);
	}
	t->in_section = false;
	t->flush_due = false;
	if (urcu_tls_regs++ == 0)
		rcu_register_thread();
	*out = t;
	return 0;
}

/* retire-mode=batch: wait one grace period, then free the thread's batch.
 * Caller is outside any read section. */
static void urcu_flush(struct pb_rthread *t)
{
	struct urcu_node *b = t->batch;

	if (!b)
		return;
	t->batch = NULL;
	t->nbatch = 0;
	t->flush_due = false;
	PB_DELAY("urcu.flush");
	synchronize_rcu(); /* QSBR: liburcu puts an online caller offline meanwhile */
	pb_smr_cnt_add(&t->batch_freed, urcu_free_list(b));
}

static void urcu_thread_unregister(struct pb_reclaim *d, struct pb_rthread *t)
{
	if (d->mode == URCU_MODE_THREAD)
		urcu_hand_off(d, t); /* no wait: the reclaim thread frees it */
	urcu_flush(t);
	URCU_TSAN_RELEASE(d);
	if (--urcu_tls_regs == 0)
		rcu_unregister_thread();
	/* Release: the next owner (CAS acquire) sees our last counter values. */
	atomic_store_explicit(&t->in_use, false, memory_order_release);
}

static void urcu_begin(struct pb_rthread *t)
{
	t->in_section = true;
	rcu_read_lock(); /* QSBR: no-op */
}

static void urcu_end(struct pb_rthread *t)
{
	URCU_TSAN_RELEASE(t->dom);
	rcu_read_unlock();
	t->in_section = false;
	if (PB_UNLIKELY(t->flush_due))
		urcu_flush(t);
}

static void *urcu_protect(struct pb_rthread *t, unsigned slot, void *_Atomic *src)
{
	/* rcu_dereference() is a volatile load + dependency ordering; an acquire
	 * load is the same instruction on x86 and visible to TSAN. */
	return atomic_load_explicit(src, memory_order_acquire);
}

static void urcu_cb(struct rcu_head *h)
{
	struct urcu_node *n = caa_container_of(h, struct urcu_node, head);
	struct pb_reclaim *d;

	URCU_TSAN_ACQUIRE(n);
	d = n->dom;
	URCU_TSAN_ACQUIRE(d);
	PB_DELAY("urcu.cb");
	n->fn((struct pb_smr_node *)n, n->ctx);
	/* Release: see urcu_pending_now. */
	atomic_fetch_add_explicit(&d->cb_freed, 1, memory_order_release);
	URCU_TSAN_RELEASE(d); /* -> urcu_barrier_all's acquire (destroy frees d) */
}

static void urcu_retire(struct pb_rthread *t, struct pb_smr_node *node, pb_free_fn fn, void *ctx)
{
	struct urcu_node *n = (struct urcu_node *)node;
	struct pb_reclaim *d = t->dom;
	uint64_t r;

	n->fn = fn;
	n->ctx = ctx;
	n->dom = d;
	r = atomic_load_explicit(&t->retired, memory_order_relaxed) + 1;
	atomic_store_explicit(&t->retired, r, memory_order_release);
	PB_DELAY("urcu.retire");
	if (d->mode == URCU_MODE_THREAD) {
		n->batch_next = t->batch;
		if (!t->batch)
			t->batch_last = n;
		t->batch = n;
		if (++t->nbatch >= d->batch)
			urcu_hand_off(d, t); /* never waits: fine inside a section */
	} else if (d->mode == URCU_MODE_CALL_RCU) {
		URCU_TSAN_RELEASE(n);
		call_rcu(&n->head, urcu_cb);
	} else {
		n->batch_next = t->batch;
		t->batch = n;
		if (++t->nbatch >= d->batch) {
			if (t->in_section)
				t->flush_due = true;
			else
				urcu_flush(t);
		}
	}
	if (r % URCU_PEAK_EVERY == 0)
		urcu_sample_peak(d);
}

static void urcu_quiescent(struct pb_rthread *t)
{
	URCU_TSAN_RELEASE(t->dom);
#if defined(PB_URCU_QSBR)
	rcu_quiescent_state();
#endif
}

static void urcu_offline(struct pb_rthread *t)
{
	URCU_TSAN_RELEASE(t->dom);
#if defined(PB_URCU_QSBR)
	rcu_thread_offline();
#endif
}

static void urcu_online(struct pb_rthread *t)
{
#if defined(PB_URCU_QSBR)
	rcu_thread_online();
#endif
}

static void urcu_barrier(struct pb_reclaim *d, struct pb_rthread *t)
{
	/* Outside any section (contract).  rcu_barrier() waits for every queued
	 * callback; with QSBR it takes the caller offline while it waits. */
	if (d->mode == URCU_MODE_THREAD)
		urcu_wait_done(d, urcu_hand_off(d, t));
	urcu_flush(t);
	URCU_TSAN_RELEASE(d);
	if (d->mode == URCU_MODE_CALL_RCU)
		urcu_barrier_all(d);
	urcu_sample_peak(d);
}

static void urcu_stats(const struct pb_reclaim *d, struct pb_reclaim_stats *st)
{
	uint64_t p = urcu_pending_now(d, &st->retired, &st->freed);

	urcu_sample_peak((struct pb_reclaim *)d);
	st->pending = p;
	st->pending_peak = atomic_load_explicit(&d->peak, memory_order_relaxed);
	if (st->pending_peak < p)
		st->pending_peak = p;
	st->leaked = 0;
}

/*
 * Hold-back under a bounded supply (held_max): 0.  Every mode's barrier()
 * frees all the caller retired (thread: hands off its partial batch and
 * waits for the round that frees it; batch: synchronize_rcu and free;
 * call-rcu: rcu_barrier), and a backend flushes each thread at a shortage
 * (barrier on an empty supply or a starved hint, and before parking), so
 * nothing stays on a thread's batch past its flush.
 */
static unsigned urcu_held_max(const struct pb_optvals *opts, unsigned threads)
{
	(void)opts;
	(void)threads;
	return 0;
}

const struct pb_reclaim_ops URCU_OPS = {
	.abi = PB_ABI_VERSION,
	.name = URCU_NAME,
	.summary = URCU_SUMMARY,
	.flags = URCU_FLAGS,
	.options = urcu_options,
	.create = urcu_create,
	.destroy = urcu_destroy,
	.thread_register = urcu_thread_register,
	.thread_unregister = urcu_thread_unregister,
	.begin = urcu_begin,
	.end = urcu_end,
	.protect = urcu_protect,
	.retire = urcu_retire,
	.quiescent = urcu_quiescent,
	.offline = urcu_offline,
	.online = urcu_online,
	.barrier = urcu_barrier,
	.stats = urcu_stats,
	.held_max = urcu_held_max,
};
