/* SPDX-License-Identifier: MIT */
/*
 * ckring: Concurrency Kit's bounded MPMC ring (ck_ring.h, header-only),
 * storing jobs by value through CK_RING_PROTOTYPE.  A fixed array, no
 * allocation after create, no reclaimer: the lock-free baseline beside the
 * seed's segmented queue.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <ck_ring.h>

#include "pb.h"
#include "queue.h"

/*
 * Typed, by-value ring functions for struct pb_job (ck 0.7.1 generates
 * ck_ring_{enqueue,dequeue,...}_mpmc_pbjob; checked to compile and run
 * here).  A job is 48 bytes and is copied into / out of the slot.
 */
CK_RING_PROTOTYPE(pbjob, pb_job)

/*
 * ThreadSanitizer.  ck_pr atomics are inline asm, invisible to TSAN, so it
 * sees neither the p_tail publication nor the c_head hand-back of a slot.
 *  - For the jobs' contents (and what job->arg points to) we state the edge
 *    ourselves: a release on the ring before each push, an acquire after
 *    each non-empty pop.  A pop of ticket k follows the commit of ticket k,
 *    which follows that push's release, so the acquire sees it.
 *  - The slot copies inside ck (a producer's write vs. an earlier
 *    consumer's read or a lapping consumer's discarded torn read) cannot be
 *    annotated from outside.  In TSAN builds the two ck calls are wrapped in
 *    noinline functions, ckring_ck_enqueue / ckring_ck_dequeue, that contain
 *    nothing but the ck call, so that a suppression could name exactly them
 *    (a symbol name works even without -g, where inlined frames would be
 *    invisible).  None is needed today: the TSan runs of the conformance,
 *    pool and torture suites report no race in them, and tests/tsan.supp
 *    has no entry for ckring.  If one ever appears, suppress these two names
 *    only ("race:ckring_ck_enqueue", "race:ckring_ck_dequeue").  Normal
 *    builds inline everything.
 */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define CKRING_TSAN_RELEASE(a) __tsan_release(a)
#define CKRING_TSAN_ACQUIRE(a) __tsan_acquire(a)
#define CKRING_CK_CALL static __attribute__((noinline))
#else
#define CKRING_TSAN_RELEASE(a) ((void)0)
#define CKRING_TSAN_ACQUIRE(a) ((void)0)
#define CKRING_CK_CALL static inline
#endif

/*
 * How this ring works and why it is correct (ck_ring's MPMC algorithm; ck
 * source: include/ck_ring.h, _ck_ring_enqueue_mp and _ck_ring_dequeue_mc):
 *
 *  - Three counters: p_head (next ticket to reserve), p_tail (all tickets
 *    below it are written), c_head (next ticket to consume).  Slot of
 *    ticket k is buf[k & mask].  The ring is full when p_head - c_head ==
 *    size - 1: one slot always stays empty, so a ring of size N holds N-1.
 *  - push: CAS p_head from k to k+1 (only if k - c_head < mask), write the
 *    job into slot k, wait until p_tail == k (earlier tickets published),
 *    store-fence, p_tail = k+1.  Publication is therefore in ticket order.
 *  - pop: read c_head = c, read p_tail; if equal, empty.  Else copy slot c
 *    out, then CAS c_head c -> c+1.  If the CAS fails another consumer took
 *    ticket c (the copy may be torn by a lapping producer and is discarded)
 *    and we retry with the new c_head.  A successful CAS means c_head was c
 *    during the copy, so no producer could have reserved ticket c + size
 *    (it needs c_head > c + 1): the copy is the job of ticket c.
 *    (Counters are 32-bit: that argument assumes a consumer is not stalled
 *    between its copy and its CAS for 2^32 pops of others.)
 *  - Exactly once: each ticket is won by exactly one successful c_head CAS.
 *
 * FIFO per producer (PB_Q_FIFO, in core/queue.h's sense): one thread's
 * pushes get increasing tickets (its CAS on p_head for push i+1 comes after
 * the one for push i), and consumers win tickets in increasing order (each
 * successful CAS moves c_head by one).  So in the global order of pops (the
 * order of the c_head CASes) a producer's jobs come out in push order.  A
 * pop_batch is a sequence of such pops, so within one consumer's batches
 * each producer's jobs are increasing too; two consumers' batches may
 * interleave ticket by ticket.
 *
 * Blocking caveat (ck's design, measured as such): a producer preempted
 * between its p_head CAS and its p_tail store makes later producers wait in commit (pause
 * loop) until it runs again, and consumers see nothing past its ticket.
 * Bounded by the scheduler, not forever, but visible on an oversubscribed
 * 2-core machine.
 */
struct pb_queue {
	struct ck_ring ring PB_ALIGNED;   /* c_head | p_tail, p_head | size, mask */
	/* Read-mostly line: written once by create and once by close. */
	struct pb_job *buf PB_ALIGNED;
	unsigned size;                    /* ring size (power of two) */
	atomic_int closed;
};

static const struct pb_option ckring_options[] = {
	{ .name = "capacity", .type = PB_OPT_INT, .min = 4, .max = 1 << 30, .def = 4096,
	  .flags = PB_OPTF_POW2,
	  .help = "ring size, a power of two; it holds capacity-1 jobs (one slot stays empty)" },
	{ .name = NULL },
};

static int ckring_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
			 struct pb_queue **out)
{
	struct pb_optvals defs;
	struct pb_queue *q;
	int64_t cap;
	void *mem;

	(void)rc;
	if (!opts) {
		pb_opts_defaults(&defs, ckring_options);
		opts = &defs;
	}
	cap = pb_opt_get(opts, "capacity");
	/* ck_ring_init does not check; a bad size would corrupt the ring. */
	if (cap < 4 || cap > (1 << 30) || (cap & (cap - 1)))
		return -EINVAL;
	if (posix_memalign(&mem, PB_CACHELINE, sizeof(*q)))
		return -ENOMEM;
	q = mem;
	memset(q, 0, sizeof(*q));
	if (posix_memalign(&mem, PB_CACHELINE, (size_t)cap * sizeof(struct pb_job))) {
		free(q);
		return -ENOMEM;
	}
	q->buf = mem;
	memset(q->buf, 0, (size_t)cap * sizeof(struct pb_job));
	q->size = (unsigned)cap;
	ck_ring_init(&q->ring, q->size);
	atomic_init(&q->closed, 0);
	*out = q;
	return 0;
}

static void ckring_destroy(struct pb_queue *q)
{
	if (!q)
		return;
	free(q->buf);
	free(q);
}

/* No per-thread state: the handle is the queue pointer and is never dereferenced. */
static int ckring_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	*out = (struct pb_qthread *)q;
	return 0;
}

static void ckring_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	(void)q;
	(void)t;
}

/* The two ck calls (see the TSAN note at the top for why they are wrapped). */
CKRING_CK_CALL bool ckring_ck_enqueue(struct pb_queue *q, const struct pb_job *job)
{
	/* ck's prototype takes a non-const pointer but only memcpy's from it. */
	return ck_ring_enqueue_mpmc_pbjob(&q->ring, q->buf, (struct pb_job *)job);
}

CKRING_CK_CALL bool ckring_ck_dequeue(struct pb_queue *q, struct pb_job *out)
{
	return ck_ring_dequeue_mpmc_pbjob(&q->ring, q->buf, out);
}

static int ckring_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	(void)t;
	/*
	 * Relaxed: the flag guards no data.  If close() happened before this
	 * push (any happens-before chain), coherence makes the load see 1.  A
	 * push racing with close may still see 0 and enqueue after close()
	 * returned; see ckring_close for why that loses nothing.
	 */
	if (PB_UNLIKELY(atomic_load_explicit(&q->closed, memory_order_relaxed)))
		return PB_CLOSED;
	PB_DELAY("ckring.push");
	CKRING_TSAN_RELEASE(&q->ring);
	return ckring_ck_enqueue(q, job) ? PB_OK : PB_FULL;
}

static size_t ckring_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out,
			       size_t max)
{
	size_t n = 0;

	(void)t;
	/* ck_ring has no batch claim: one c_head CAS per job. */
	while (n < max && ckring_ck_dequeue(q, &out[n]))
		n++;
	/* Pairs with the release in push (TSAN builds only). */
	if (n)
		CKRING_TSAN_ACQUIRE(&q->ring);
	return n;
}

/*
 * Close race argument.  push checks `closed` before it enqueues, so a push
 * that overlaps close() may still enqueue after close() returned.  That job
 * is not lost by the queue: it is in the ring and visible to every pop that
 * starts after its push returned, which is what core/queue.h asks ("happened
 * before close() returned or is visible to pops after it").  Nothing is lost
 * by the pool either, provided its shutdown keeps to this protocol:
 *   1. refuse submissions in the pool (its own flag) and close the queue;
 *   2. let the workers drain and join them;
 *   3. once no push can be in flight (every producer handle closed, as
 *      pb_pool_destroy requires), pop again: whatever a racing push
 *      enqueued after step 2 is there, and its cleanup runs as
 *      PB_JOB_NOT_RUN.
 * Pushes that start after close() returned see the flag (coherence; see
 * push) and return PB_CLOSED.  A stricter close, one after which no push
 * can succeed, needs every push to announce itself (a shared counter, or a
 * per-thread flag and a Dekker-style handshake with close), a store with a
 * full fence on every push that this baseline deliberately does not pay.
 */
static void ckring_close(struct pb_queue *q)
{
	atomic_store_explicit(&q->closed, 1, memory_order_seq_cst);
}

static size_t ckring_size(struct pb_queue *q)
{
	return ck_ring_size(&q->ring);
}

/* One array allocated at create, no segments, no allocations afterwards. */
static void ckring_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->bound = q->size - 1; /* one slot always stays empty */
}

/*
 * Concurrency contract: core/queue.h's.  push and pop_batch are lock-free
 * on the consumer side and block only in the commit wait described above;
 * close and size may be called from any thread at any time.
 */
const struct pb_queue_ops pb_backend_ckring = {
	.abi = PB_ABI_VERSION,
	.name = "ckring",
	.summary = "Concurrency Kit MPMC ring (ck_ring), jobs by value, bounded, one CAS per job",
	.flags = PB_Q_BOUNDED | PB_Q_FIFO,
	.options = ckring_options,
	.reclaim_excluded = NULL,
	.supported = NULL,
	.create = ckring_create,
	.destroy = ckring_destroy,
	.thread_register = ckring_thread_register,
	.thread_unregister = ckring_thread_unregister,
	.push = ckring_push,
	.pop_batch = ckring_pop_batch,
	.close = ckring_close,
	.size = ckring_size,
	.stats = ckring_stats,
};
