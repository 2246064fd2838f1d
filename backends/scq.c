/* SPDX-License-Identifier: MIT */
/*
 * scq: Nikolaev's Scalable Circular Queue, a bounded lock-free MPMC ring
 * that claims positions with fetch-and-add on head and tail, written from
 * the paper (no packaged C implementation exists):
 *
 *   Ruslan Nikolaev, "A Scalable, Portable, and Memory-Efficient Lock-Free
 *   FIFO Queue", DISC 2019, LIPIcs 146, 28:1-28:16; full version
 *   arXiv:1908.04511.
 *
 * The paper's design for arbitrary data: n job slots and two SCQ rings of 2n
 * index entries each, aq (indices of filled slots) and fq (indices of free
 * slots).  push = dequeue a free index from fq, copy the job into its slot,
 * enqueue the index into aq; pop = the reverse.  Fixed memory, no
 * allocation after create, no reclaimer.  docs/scq.md says where this file
 * departs from the paper; tests/test_scq.c drives the rare interleavings
 * (invalidation, IsSafe, catchup, threshold) one step at a time.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "queue.h"

/*
 * Correctness argument
 * ====================
 *
 * One SCQ ring (struct scq_ring) holds indices 0 .. n-1 (n a power of two)
 * in R = 2n entries.  Two 64-bit counters, head and tail, only grow (by
 * fetch-and-add, and tail also by the CAS in catchup); both start at R.  A
 * counter value P is a "position": its entry is ent[remap(P mod R)], its
 * cycle is cyc(P) = P / R.  An entry is one 64-bit word (single-width
 * atomics only, as the paper's SCQ needs):
 *
 *     bits 63 .. ib+1   cycle   (cyc of the position that last set it)
 *     bit  ib           safe    (the paper's IsSafe)
 *     bits ib-1 .. 0    index   (0 .. n-1, or BOT = R-1: empty)
 *
 * with ib = log2(R).  Entries start as {cycle 0, safe, BOT}, one cycle
 * behind the counters.  Cycles are compared as (63-ib)-bit wrapping
 * differences (cyc_cmp); the counters would need 2^63 operations to make
 * that ambiguous.
 *
 * enqueue(i) (never fails while the ring holds < R indices; it holds <= n):
 *     T = FAA(tail); E = ent[j(T)]
 *     if cyc(E) < cyc(T) and index(E) == BOT and (safe(E) or head <= T):
 *         CAS E -> {cyc(T), safe, i}  (retry the test on CAS failure)
 *         threshold = 3n-1 (store only if it differs); done
 *     else take another position (FAA again)
 * dequeue():
 *     [pre-check, ours] if head >= tail: empty
 *     if threshold < 0: empty
 *     H = FAA(head); E = ent[j(H)]
 *     if cyc(E) == cyc(H): OR index bits to BOT (consume); return index(E)
 *     if cyc(E) < cyc(H): CAS E -> index(E) == BOT ? {cyc(H), safe(E), BOT}
 *                                                  : {cyc(E), unsafe, index(E)}
 *                         (retry the test on CAS failure)
 *     if tail <= H+1: catchup (CAS tail up to H+1); threshold -= 1; empty
 *     if FAA(threshold, -1) <= 0: empty;  else take another position
 *
 * Invariants.
 *  S1  An index stored at position P (entry {cyc(P), *, i}) is returned
 *      only by the dequeuer whose FAA on head returned exactly P.  An entry
 *      maps to one position per cycle (j is a bijection on 0 .. R-1), and
 *      only the dequeuer holding H = P consumes an entry of cycle cyc(P);
 *      later-cycle dequeuers only clear its safe bit, keeping its cycle and
 *      index, and no enqueuer overwrites an entry whose index is not BOT.
 *      So each enqueued index is dequeued at most once (exactly-once, with
 *      S2 for "at least").
 *  S2  An enqueue that succeeds at P is not stranded: if the dequeuer of
 *      position P had already visited the entry, it moved the entry's cycle
 *      to cyc(P) (empty) or marked it unsafe (occupied by an older cycle),
 *      and then the enqueuer's test fails (cycle not older, index not BOT,
 *      or not safe with head > P), so it takes another position.  An
 *      unsafe entry is refilled only when head <= P, i.e. before position
 *      P's dequeuer exists.  Hence a successful CAS at P is always followed
 *      by the dequeuer of P finding cyc(E) == cyc(P).
 *  S3  Tail never passes over a live element's position backwards: catchup
 *      only raises tail to H+1 when it saw tail <= H+1 (CAS from the value
 *      it read), so the positions it skips are all <= H, already taken by
 *      dequeuers.  Enqueuers then start past them instead of spinning
 *      through entries that dequeuers have already invalidated.
 *  S4  Threshold (the paper's livelock fix).  Without it, dequeuers could
 *      invalidate every position enqueuers are about to use and vice versa,
 *      forever.  The paper's threshold argument shows that
 *      once an enqueue completes, the dequeuers reach its position within
 *      3n-1 failed iterations in total; so every completed enqueue resets
 *      threshold to 3n-1, every failed dequeue iteration spends one, and a
 *      dequeuer that finds threshold < 0 may answer "empty" (the queue is
 *      linearizably empty then).  Dequeuers that gave up stop consuming
 *      positions, so an enqueuer then finds a position >= head with an
 *      older, empty entry: lock-free, not wait-free.
 *
 * The queue on top (push and pop below).
 *  Q1  Each of the n slots is, at any time, either in fq, or held by one
 *      pusher (dequeued from fq, not yet enqueued into aq), or in aq, or
 *      held by one popper: an index moves only by the dequeue that S1 says
 *      is unique.  So a slot is written by one pusher at a time and read by
 *      one popper at a time, and never both.
 *  Q2  Exactly once: a pushed job sits in the slot whose index went into aq;
 *      that index is dequeued once (S1, S2) and the slot is read then.
 *  Q3  FIFO per producer (PB_Q_FIFO).  A thread's push of job a completes
 *      its aq enqueue (FAA on tail gives Ta) before its push of b starts
 *      (FAA gives Tb > Ta, tail's modification order follows the thread's
 *      program order).  By S1, a is popped by the dequeuer whose head FAA
 *      returned Ta and b by the one that got Tb, so in the order of the
 *      head FAAs, the global order of pops, a comes before b.  One
 *      consumer's successive FAAs return increasing values, so within its
 *      batches a producer's jobs are in order too.  (This is the paper's
 *      linearizability specialised to one producer.)
 *  Q4  Bound: fq holds n indices at create, so exactly n pushes succeed on
 *      an empty queue before fq is empty (PB_FULL).  A pop returns its index
 *      to fq only after copying the job out, so while a pop is between its
 *      two steps a push can see PB_FULL with n-1 jobs still queued: FULL
 *      means "n jobs queued or being copied out".
 *
 * Memory orders.  The ring operations are seq_cst: the paper's proofs
 * assume sequential consistency and they read across variables in the
 * store-then-load (Dekker) shape: an enqueuer FAAs tail, then loads head
 * ("head <= T") while a dequeuer FAAs head, then loads tail ("tail <=
 * H+1") and the entry; acquire/release would let both miss each other.  On
 * x86-64 this costs nothing extra: every RMW is a locked instruction, a full
 * fence whatever its order, and a seq_cst load is a plain mov; the one
 * seq_cst store (threshold reset) is an xchg, paid only when the threshold
 * had moved.  The job slots are plain memory: a pusher's copy into slot i
 * happens before its aq enqueue CAS (seq_cst, so release), and the popper's
 * seq_cst (acquire) load of that entry reads the CAS's value or a later
 * value of the same entry written by an RMW (a later-cycle dequeuer's
 * mark-unsafe CAS), which continues the release sequence; so the copy-out
 * sees the job.  Symmetrically the popper's copy-out happens before its fq
 * enqueue CAS, which the next pusher of slot i synchronises with.  The
 * consume OR may be relaxed as far as the slot is concerned (the slot is
 * handed back through fq, not aq) but it stays seq_cst: it is a locked
 * instruction on x86 anyway and the proof orders it with later enqueuers'
 * tests.
 *
 * Close: a flag, as ckring.c (see scq_close).
 */

#define SCQ_MIN_CAP 2
#define SCQ_MAX_CAP (1 << 26)
#define SCQ_DEF_CAP 4096

struct scq_ring {
	_Atomic uint64_t head PB_ALIGNED;  /* dequeuers' FAA */
	_Atomic uint64_t tail PB_ALIGNED;  /* enqueuers' FAA, catchup's CAS */
	_Atomic int64_t threshold PB_ALIGNED;
	_Atomic uint64_t *ent PB_ALIGNED;  /* R entries; the pointer is read-only */
};

struct pb_queue {
	struct scq_ring aq; /* indices of filled slots */
	struct scq_ring fq; /* indices of free slots */
	/* Read-mostly line: written by create, and once by close. */
	struct pb_job *slots PB_ALIGNED;
	uint64_t n;         /* capacity: slots, and indices per ring */
	uint64_t rmask;     /* R-1 = 2n-1 = BOT */
	unsigned ib;        /* log2(R): index bits */
	unsigned lshift;    /* remap: log2(lines), 0 = identity */
	int64_t thr_max;    /* 3n-1 */
	atomic_int closed;
};

static const char *const scq_remap_names[] = {"on", "off", NULL};
enum { SCQ_REMAP_ON, SCQ_REMAP_OFF };

static const struct pb_option scq_options[] = {
	{"capacity", PB_OPT_INT, SCQ_MIN_CAP, SCQ_MAX_CAP, SCQ_DEF_CAP, NULL, PB_OPTF_POW2,
	 "jobs the queue holds, a power of two (two index rings of 2 x capacity entries; "
	 "80 bytes per job in all)"},
	{"remap", PB_OPT_ENUM, 0, 0, SCQ_REMAP_ON, scq_remap_names, 0,
	 "on = consecutive ring positions on different cache lines (the paper's Cache_Remap), "
	 "off = identity"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

/* Entry fields (see the layout above). */
#define SCQ_SAFE(q)        (1ull << (q)->ib)
#define E_IDX(q, e)        ((e) & (q)->rmask)
#define E_CYC(q, e)        ((e) >> ((q)->ib + 1))
#define E_PACK(q, c, s, i) (((c) << ((q)->ib + 1)) | ((uint64_t)(s) << (q)->ib) | (i))

/* Cycle of position p, truncated to the entry's cycle field. */
static inline uint64_t scq_pos_cyc(const struct pb_queue *q, uint64_t p)
{
	return (p >> q->ib) & (UINT64_MAX >> (q->ib + 1));
}

/* Sign of a - b for (63-ib)-bit cycles, wrapping. */
static inline int64_t scq_cyc_cmp(const struct pb_queue *q, uint64_t a, uint64_t b)
{
	return (int64_t)((a - b) << (q->ib + 1));
}

/*
 * Cache_Remap: position p mod R goes to line (p mod lines), word (p / lines)
 * of that line, so that consecutive positions (consecutive FAAs) touch
 * different cache lines (8 entries of 8 bytes per 64-byte line).  A
 * bijection on 0 .. R-1: it swaps the low log2(lines) bits with the high 3.
 * Identity when remap=off or R < 16 (one line).
 */
static inline size_t scq_remap(const struct pb_queue *q, uint64_t p)
{
	uint64_t r = p & q->rmask;

	if (!q->lshift)
		return (size_t)r;
	return (size_t)(((r & ((1ull << q->lshift) - 1)) << 3) | (r >> q->lshift));
}

/*
 * The enqueue at position t, after its FAA on tail (split out so that
 * tests/test_scq.c can stand in for a thread preempted between the two):
 * true if idx was placed at t, false if t is unusable (take another).
 */
static inline bool scq_enqueue_at(struct pb_queue *q, struct scq_ring *r, uint64_t t,
				  uint64_t idx)
{
	uint64_t tc = scq_pos_cyc(q, t);
	_Atomic uint64_t *ep = &r->ent[scq_remap(q, t)];
	uint64_t e = atomic_load_explicit(ep, memory_order_seq_cst);

	/* S2: an older, empty entry, not invalidated by this position's
	 * dequeuer (safe, or that dequeuer does not exist yet). */
	while (scq_cyc_cmp(q, E_CYC(q, e), tc) < 0 && E_IDX(q, e) == q->rmask &&
	       ((e & SCQ_SAFE(q)) || atomic_load_explicit(&r->head, memory_order_seq_cst) <= t)) {
		if (atomic_compare_exchange_weak_explicit(ep, &e, E_PACK(q, tc, 1, idx),
							  memory_order_seq_cst, memory_order_seq_cst)) {
			/* S4: the reset; a plain load first so that a steady
			 * stream of pushes does not store (xchg) every time. */
			if (atomic_load_explicit(&r->threshold, memory_order_seq_cst) != q->thr_max)
				atomic_store_explicit(&r->threshold, q->thr_max, memory_order_seq_cst);
			return true;
		}
		/* e reloaded by the failed CAS: test it again. */
	}
	return false;
}

static void scq_enqueue(struct pb_queue *q, struct scq_ring *r, uint64_t idx)
{
	for (;;) {
		uint64_t t = atomic_fetch_add_explicit(&r->tail, 1, memory_order_seq_cst);

		PB_DELAY("scq.enqueue.faa");
		if (scq_enqueue_at(q, r, t, idx))
			return;
	}
}

/* S3: raise tail to head if it is behind, so enqueuers skip dead positions. */
static void scq_catchup(struct scq_ring *r, uint64_t tail, uint64_t head)
{
	while (!atomic_compare_exchange_weak_explicit(&r->tail, &tail, head, memory_order_seq_cst,
						      memory_order_seq_cst)) {
		head = atomic_load_explicit(&r->head, memory_order_seq_cst);
		tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
		if (tail >= head)
			break;
	}
}

#define SCQ_EMPTY (-1) /* the ring is (linearizably) empty */
#define SCQ_AGAIN (-2) /* nothing at this position: take another */

/*
 * The dequeue at position h, after its FAA on head (split out as
 * scq_enqueue_at is): an index, SCQ_EMPTY or SCQ_AGAIN.
 */
static inline int64_t scq_dequeue_at(struct pb_queue *q, struct scq_ring *r, uint64_t h)
{
	uint64_t hc = scq_pos_cyc(q, h);
	_Atomic uint64_t *ep = &r->ent[scq_remap(q, h)];
	uint64_t e = atomic_load_explicit(ep, memory_order_seq_cst), t;

	for (;;) {
		int64_t d = scq_cyc_cmp(q, E_CYC(q, e), hc);
		uint64_t ne;

		if (d == 0) {
			/* S1: ours.  Consume: index bits to BOT, keeping cycle
			 * and safe (they are what later enqueuers test). */
			atomic_fetch_or_explicit(ep, q->rmask, memory_order_seq_cst);
			return (int64_t)E_IDX(q, e);
		}
		if (d > 0)
			break; /* a later cycle got here first: nothing at h */
		/* Older entry: invalidate it for position h (S2). */
		if (E_IDX(q, e) == q->rmask)
			ne = E_PACK(q, hc, (e & SCQ_SAFE(q)) ? 1 : 0, q->rmask);
		else
			ne = e & ~SCQ_SAFE(q);
		if (ne == e)
			break;
		if (atomic_compare_exchange_weak_explicit(ep, &e, ne, memory_order_seq_cst,
							  memory_order_seq_cst))
			break;
	}
	t = atomic_load_explicit(&r->tail, memory_order_seq_cst);
	if (t <= h + 1) {
		scq_catchup(r, t, h + 1);
		atomic_fetch_sub_explicit(&r->threshold, 1, memory_order_seq_cst);
		return SCQ_EMPTY;
	}
	if (atomic_fetch_sub_explicit(&r->threshold, 1, memory_order_seq_cst) <= 0)
		return SCQ_EMPTY;
	return SCQ_AGAIN;
}

/* An index, or SCQ_EMPTY if the ring is (linearizably) empty. */
static int64_t scq_dequeue(struct pb_queue *q, struct scq_ring *r)
{
	/*
	 * Pre-check (not in the paper): head >= tail means every position
	 * below tail already has its dequeuer, so whatever sits there is
	 * theirs (S1) and nothing is ours to take: empty, at the moment tail
	 * was read.  It spares an empty pop the head FAA, the entry
	 * invalidation, the catchup and a threshold decrement; the pool's
	 * workers pop until empty before they park, so that is every batch.
	 * head is loaded first: both only grow, so head_read <= head at the
	 * tail load.
	 */
	uint64_t h0 = atomic_load_explicit(&r->head, memory_order_seq_cst);

	if (h0 >= atomic_load_explicit(&r->tail, memory_order_seq_cst))
		return SCQ_EMPTY;
	if (atomic_load_explicit(&r->threshold, memory_order_seq_cst) < 0)
		return SCQ_EMPTY;
	for (;;) {
		uint64_t h = atomic_fetch_add_explicit(&r->head, 1, memory_order_seq_cst);
		int64_t v;

		PB_DELAY("scq.dequeue.faa");
		v = scq_dequeue_at(q, r, h);
		if (v != SCQ_AGAIN)
			return v;
	}
}

static int scq_ring_init(struct pb_queue *q, struct scq_ring *r, bool full)
{
	const uint64_t rn = 2 * q->n;
	void *mem;

	if (posix_memalign(&mem, PB_CACHELINE, (size_t)rn * sizeof(uint64_t)))
		return -ENOMEM;
	r->ent = mem;
	/* Positions start at R (cycle 1), entries at cycle 0: all empty. */
	for (uint64_t j = 0; j < rn; j++)
		atomic_init(&r->ent[j], E_PACK(q, 0ull, 1, q->rmask));
	atomic_init(&r->head, rn);
	atomic_init(&r->tail, rn);
	atomic_init(&r->threshold, -1);
	if (full) {
		/* As if n enqueues of 0 .. n-1 had run: positions R .. R+n-1. */
		for (uint64_t i = 0; i < q->n; i++)
			atomic_init(&r->ent[scq_remap(q, rn + i)], E_PACK(q, 1ull, 1, i));
		atomic_init(&r->tail, rn + q->n);
		atomic_init(&r->threshold, q->thr_max);
	}
	return 0;
}

static int scq_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
		      struct pb_queue **out)
{
	struct pb_optvals defs;
	struct pb_queue *q;
	int64_t cap;
	unsigned lines_log;
	void *mem;

	(void)rc;
	if (!opts) {
		pb_opts_defaults(&defs, scq_options);
		opts = &defs;
	}
	cap = pb_opt_get(opts, "capacity");
	/* The entry layout needs a power of two (BOT = 2n-1, the remap). */
	if (cap < SCQ_MIN_CAP || cap > SCQ_MAX_CAP || (cap & (cap - 1)))
		return -EINVAL;
	if (posix_memalign(&mem, PB_CACHELINE, sizeof(*q)))
		return -ENOMEM;
	q = mem;
	memset(q, 0, sizeof(*q));
	q->n = (uint64_t)cap;
	q->rmask = 2 * q->n - 1;
	q->ib = (unsigned)__builtin_ctzll(2 * q->n);
	q->thr_max = 3 * (int64_t)q->n - 1;
	lines_log = q->ib > 3 ? q->ib - 3 : 0; /* R / 8 entries per line */
	q->lshift = pb_opt_get(opts, "remap") == SCQ_REMAP_ON ? lines_log : 0;
	atomic_init(&q->closed, 0);
	if (posix_memalign(&mem, PB_CACHELINE, (size_t)q->n * sizeof(struct pb_job))) {
		free(q);
		return -ENOMEM;
	}
	q->slots = mem;
	memset(q->slots, 0, (size_t)q->n * sizeof(struct pb_job));
	if (scq_ring_init(q, &q->aq, false) || scq_ring_init(q, &q->fq, true)) {
		free(q->aq.ent);
		free(q->slots);
		free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

static void scq_destroy(struct pb_queue *q)
{
	if (!q)
		return;
	free(q->aq.ent);
	free(q->fq.ent);
	free(q->slots);
	free(q);
}

/* No per-thread state: the handle is the queue pointer and is never dereferenced. */
static int scq_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	*out = (struct pb_qthread *)q;
	return 0;
}

static void scq_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	(void)q;
	(void)t;
}

/* One job: a free slot from fq, fill it, publish its index in aq (Q1). */
static inline int scq_push_one(struct pb_queue *q, const struct pb_job *job)
{
	int64_t i = scq_dequeue(q, &q->fq);

	if (i < 0)
		return PB_FULL;
	q->slots[i] = *job; /* ours alone until the aq enqueue (Q1) */
	PB_DELAY("scq.push.filled");
	scq_enqueue(q, &q->aq, (uint64_t)i);
	return PB_OK;
}

static int scq_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	(void)t;
	/* Relaxed: the flag guards no data; see scq_close for the race. */
	if (PB_UNLIKELY(atomic_load_explicit(&q->closed, memory_order_relaxed)))
		return PB_CLOSED;
	return scq_push_one(q, job);
}

/*
 * A prefix of jobs, in order (Q3 holds within the batch: the aq enqueues
 * are this thread's, one after another).  The closed flag is read once per
 * batch: a batch that overlaps close() is a push that overlaps it (see
 * scq_close).  Short only at PB_FULL (fq empty) or PB_CLOSED.
 */
static size_t scq_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
			     size_t n, int *rc)
{
	size_t k;

	(void)t;
	if (PB_UNLIKELY(atomic_load_explicit(&q->closed, memory_order_relaxed))) {
		*rc = PB_CLOSED;
		return 0;
	}
	*rc = PB_OK;
	for (k = 0; k < n; k++)
		if ((*rc = scq_push_one(q, &jobs[k])) != PB_OK)
			break;
	return k;
}

static size_t scq_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out,
			    size_t max)
{
	size_t n = 0;

	(void)t;
	/* No batch claim in SCQ: one aq dequeue per job. */
	while (n < max) {
		int64_t i = scq_dequeue(q, &q->aq);

		if (i < 0)
			break;
		out[n++] = q->slots[i]; /* ours alone until the fq enqueue (Q1) */
		PB_DELAY("scq.pop.copied");
		scq_enqueue(q, &q->fq, (uint64_t)i);
	}
	return n;
}

/*
 * Close, as ckring.c: push tests a flag before it takes a slot, so a push
 * that overlaps close() may still complete after close() returned; its job
 * is in aq and visible to every pop that starts after that push returned,
 * which is what core/queue.h asks.  The pool never closes the queue with
 * one of its pushes in flight.  A push that starts after close() returned
 * sees the flag (coherence: close's store precedes it) and returns
 * PB_CLOSED.  Pops do not look at the flag: they drain aq.
 */
static void scq_close(struct pb_queue *q)
{
	atomic_store_explicit(&q->closed, 1, memory_order_seq_cst);
}

/* Approximate (reports only): aq's tail - head, clamped to 0 .. n.  Exact
 * when no operation is in flight and no enqueue skipped a position. */
static size_t scq_size(struct pb_queue *q)
{
	uint64_t h = atomic_load_explicit(&q->aq.head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&q->aq.tail, memory_order_relaxed);

	if (t <= h)
		return 0;
	return (size_t)(t - h > q->n ? q->n : t - h);
}

/* Three arrays allocated at create, nothing afterwards. */
static void scq_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->bound = q->n; /* Q4: exactly n fit */
}

/*
 * Concurrency contract: core/queue.h's.  push, push_batch and pop_batch are
 * lock-free (S4, Q1: every loop either completes or sees another thread's
 * FAA or CAS succeed); close and size may be called from any thread.
 */
const struct pb_queue_ops pb_backend_scq = {
	.abi = PB_ABI_VERSION,
	.name = "scq",
	.summary = "Nikolaev's SCQ (DISC 2019): bounded lock-free ring, FAA on head and tail, "
		   "jobs by value through two index rings",
	.flags = PB_Q_BOUNDED | PB_Q_FIFO,
	.options = scq_options,
	.reclaim_excluded = NULL,
	.supported = NULL,
	.create = scq_create,
	.destroy = scq_destroy,
	.thread_register = scq_thread_register,
	.thread_unregister = scq_thread_unregister,
	.push = scq_push,
	.pop_batch = scq_pop_batch,
	.close = scq_close,
	.push_batch = scq_push_batch,
	.size = scq_size,
	.stats = scq_stats,
};
