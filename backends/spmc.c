/* SPDX-License-Identifier: MIT */
/*
 * spmc: one Concurrency Kit ring per producer in single-producer /
 * multi-consumer mode (ck_ring_enqueue_spmc / ck_ring_dequeue_spmc), jobs by
 * value.  Workers poll the rings round-robin from their own index and drain a
 * batch from one ring at a time: the sharded design many runtimes use, with
 * no producer-producer contention at all.
 *
 * How it works and why it is correct (ck_ring.h, _ck_ring_enqueue_sp and
 * _ck_ring_dequeue_mc; the MC side is the one ckring.c argues):
 *  - Rings are created lazily: a thread's first push claims a ring slot under
 *    the queue's mutex (rare: once per producer registration).  It reuses the
 *    lowest ring that no registered thread owns, else it creates ring number
 *    nrings (buffer allocated then; counted in stats.allocs), publishes its
 *    pointer (release) and then nrings (release).  Consumers load nrings
 *    (acquire) and each ring pointer (acquire; a slot may still be NULL if a
 *    later slot was published first) before using it.
 *  - Single producer per ring: a ring has one owner at a time; the owner
 *    drops it in thread_unregister under the same mutex that the next owner
 *    takes, so the old owner's last enqueue happens-before the new owner's
 *    first.  A ring keeps its jobs across owners (they are popped as usual).
 *  - push: the owner writes the job into slot p_tail and publishes it with a
 *    store fence and p_tail+1 (ck's SP enqueue; full when p_tail+1 - c_head
 *    == size: one slot stays empty, the ring holds capacity-1).
 *  - pop: CAS c_head per job (ck's MC dequeue; a failed CAS discards the
 *    copy).  Exactly once: each ticket is won by one successful CAS.
 *  - FIFO per producer (PB_Q_FIFO): a producer's jobs all go into the ring it
 *    owns, in push order, and every ring is consumed in ticket order (the
 *    c_head CASes), so in the global order of pops each producer's jobs come
 *    out in push order.  (A thread that unregisters and registers again may
 *    get another ring: it is then a new producer.)
 *  - Not PB_Q_NATIVE_BATCH: ck_ring has no batch claim, one CAS per job.
 *  - max-producers: at most that many rings exist.  A push from a thread that
 *    finds every ring owned returns PB_FULL (no room now) until a producer
 *    unregisters; a pool whose producers outnumber the rings would wait
 *    for ever, so spmc_check refuses it before it runs (producers plus the
 *    harness's own PB_QUEUE_EXTRA_PUSHERS against max-producers).  The
 *    minimum, 16, covers the test suites' threads and p up to 15; it is
 *    also the default, because a ring is only made when a thread
 *    first pushes, so a larger limit costs nothing until used (and the
 *    conformance suite then need not run every geometry again at the
 *    minimum).
 *  - Blocking: none in ck's SP enqueue (no commit wait, unlike ckring's MPMC
 *    one); consumers of one ring contend on its c_head.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_ring.h>

#include "pb.h"
#include "queue.h"

CK_RING_PROTOTYPE(spmcjob, pb_job)

/*
 * ThreadSanitizer (ck_pr is inline asm, invisible to it), TSAN builds only:
 * the producer releases the ring's `pub` before each enqueue and a consumer
 * acquires it after a non-empty dequeue (the job's contents); a consumer
 * releases `cons` after it dequeued and the producer acquires it before it
 * enqueues (a slot is rewritten only after the consumer that read it moved
 * c_head on).  The ck calls are noinline wrappers in TSAN builds so that a
 * suppression could name exactly them (see ckring.c); none is needed today.
 */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define SPMC_TSAN_RELEASE(a) __tsan_release(a)
#define SPMC_TSAN_ACQUIRE(a) __tsan_acquire(a)
#define SPMC_CK_CALL static __attribute__((noinline))
#else
#define SPMC_TSAN_RELEASE(a) ((void)0)
#define SPMC_TSAN_ACQUIRE(a) ((void)0)
#define SPMC_CK_CALL static inline
#endif

struct spmc_ring {
	struct ck_ring ring PB_ALIGNED;
	struct pb_job *buf PB_ALIGNED;
	bool owned;                /* under the queue's mutex */
	char pub, cons;            /* TSAN sync addresses */
};

struct pb_queue {
	_Atomic unsigned nrings PB_ALIGNED;   /* rings published (monotonic) */
	struct spmc_ring *_Atomic *rings;     /* [max]: NULL until published */
	unsigned max, cap;
	atomic_int closed;
	_Atomic unsigned next_idx;            /* registrations: start index */
	pthread_mutex_t mu PB_ALIGNED;        /* ring claims and hand-backs */
	uint64_t allocs;                      /* under mu */
};

struct pb_qthread {
	struct spmc_ring *ring;               /* owned ring, NULL until the first push */
	unsigned idx;                         /* where this thread's polling starts */
};

static const struct pb_option spmc_options[] = {
	{ .name = "capacity", .type = PB_OPT_INT, .min = 4, .max = 1 << 24, .def = 4096,
	  .flags = PB_OPTF_POW2,
	  .help = "ring size per producer, a power of two; each ring holds capacity-1 jobs" },
	{ .name = "max-producers", .type = PB_OPT_INT, .min = 16, .max = 4096, .def = 16,
	  .help = "rings at most (one per pushing thread); a push that finds none free gets PB_FULL" },
	{ .name = NULL },
};

static int spmc_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
		       struct pb_queue **out)
{
	struct pb_optvals defs;
	struct pb_queue *q;
	int64_t cap, max;

	(void)rc;
	if (!opts) {
		pb_opts_defaults(&defs, spmc_options);
		opts = &defs;
	}
	cap = pb_opt_get(opts, "capacity");
	max = pb_opt_get(opts, "max-producers");
	/* ck_ring_init does not check; a bad size would corrupt the ring. */
	if (cap < 4 || cap > (1 << 24) || (cap & (cap - 1)) || max < 1 || max > 4096)
		return -EINVAL;
	if (posix_memalign((void **)&q, PB_CACHELINE, sizeof(*q)))
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->rings = calloc((size_t)max, sizeof(*q->rings));
	if (!q->rings) {
		free(q);
		return -ENOMEM;
	}
	q->max = (unsigned)max;
	q->cap = (unsigned)cap;
	atomic_init(&q->nrings, 0);
	atomic_init(&q->closed, 0);
	atomic_init(&q->next_idx, 0);
	pthread_mutex_init(&q->mu, NULL);
	*out = q;
	return 0;
}

static void spmc_destroy(struct pb_queue *q)
{
	unsigned n;

	if (!q)
		return;
	n = atomic_load_explicit(&q->nrings, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		struct spmc_ring *r = atomic_load_explicit(&q->rings[i], memory_order_relaxed);

		if (r) {
			free(r->buf);
			free(r);
		}
	}
	free(q->rings);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

static int spmc_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	struct pb_qthread *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	/* relaxed: only spreads the threads' starting rings */
	t->idx = atomic_fetch_add_explicit(&q->next_idx, 1, memory_order_relaxed);
	*out = t;
	return 0;
}

static void spmc_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	if (t->ring) {
		pthread_mutex_lock(&q->mu); /* the next owner takes it under mu */
		t->ring->owned = false;
		pthread_mutex_unlock(&q->mu);
	}
	free(t);
}

/* Claim a ring for @t (its first push): an unowned one, else a new one. */
static struct spmc_ring *spmc_claim(struct pb_queue *q, struct pb_qthread *t)
{
	struct spmc_ring *r = NULL;
	unsigned n, i;

	pthread_mutex_lock(&q->mu);
	n = atomic_load_explicit(&q->nrings, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		r = atomic_load_explicit(&q->rings[i], memory_order_relaxed);
		if (!r->owned)
			break;
	}
	if (i == n) {
		r = NULL;
		if (n < q->max && !posix_memalign((void **)&r, PB_CACHELINE, sizeof(*r))) {
			memset(r, 0, sizeof(*r));
			if (posix_memalign((void **)&r->buf, PB_CACHELINE,
					   (size_t)q->cap * sizeof(struct pb_job))) {
				free(r);
				r = NULL;
			} else {
				q->allocs += 2;
				ck_ring_init(&r->ring, q->cap);
				/* release (both): a consumer that sees the ring
				 * sees it initialised */
				atomic_store_explicit(&q->rings[n], r, memory_order_release);
				atomic_store_explicit(&q->nrings, n + 1, memory_order_release);
			}
		}
	}
	if (r)
		r->owned = true;
	pthread_mutex_unlock(&q->mu);
	t->ring = r;
	return r;
}

SPMC_CK_CALL bool spmc_ck_enqueue(struct spmc_ring *r, const struct pb_job *job)
{
	/* ck's prototype takes a non-const pointer but only copies from it. */
	return ck_ring_enqueue_spmc_spmcjob(&r->ring, r->buf, (struct pb_job *)job);
}

SPMC_CK_CALL bool spmc_ck_dequeue(struct spmc_ring *r, struct pb_job *out)
{
	return ck_ring_dequeue_spmc_spmcjob(&r->ring, r->buf, out);
}

static int spmc_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	struct spmc_ring *r = t->ring;

	/* relaxed: as in ckring.c (the pool's closing protocol covers the race) */
	if (PB_UNLIKELY(atomic_load_explicit(&q->closed, memory_order_relaxed)))
		return PB_CLOSED;
	if (PB_UNLIKELY(!r) && !(r = spmc_claim(q, t)))
		return PB_FULL; /* every ring owned (max-producers) */
	PB_DELAY("spmc.push");
	SPMC_TSAN_ACQUIRE(&r->cons);
	SPMC_TSAN_RELEASE(&r->pub);
	return spmc_ck_enqueue(r, job) ? PB_OK : PB_FULL;
}

static size_t spmc_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out, size_t max)
{
	/* acquire: pairs with spmc_claim's release of nrings */
	const unsigned n = atomic_load_explicit(&q->nrings, memory_order_acquire);
	unsigned i = n ? t->idx % n : 0;

	for (unsigned k = 0; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
		/* acquire: pairs with the release of the ring pointer */
		struct spmc_ring *r = atomic_load_explicit(&q->rings[i], memory_order_acquire);
		size_t got = 0;

		if (!r)
			continue;
		while (got < max && spmc_ck_dequeue(r, &out[got]))
			got++;
		if (got) {
			SPMC_TSAN_ACQUIRE(&r->pub);
			SPMC_TSAN_RELEASE(&r->cons);
			return got; /* one ring per batch */
		}
	}
	return 0;
}

/* See ckring_close: a flag checked by push, and the pool's closing protocol. */
static void spmc_close(struct pb_queue *q)
{
	atomic_store_explicit(&q->closed, 1, memory_order_seq_cst);
}

static size_t spmc_size(struct pb_queue *q)
{
	const unsigned n = atomic_load_explicit(&q->nrings, memory_order_acquire);
	size_t s = 0;

	for (unsigned i = 0; i < n; i++) {
		struct spmc_ring *r = atomic_load_explicit(&q->rings[i], memory_order_acquire);

		if (r)
			s += ck_ring_size(&r->ring);
	}
	return s;
}

/*
 * A ring per pushing thread: more pushing threads than max-producers wait
 * for a ring that no producer gives back before the run ends (spmc_push
 * returns PB_FULL for ever).  Refused before anything runs.
 */
static const char *spmc_check(const struct pb_optvals *opts, const struct pb_reclaim_ops *rc,
			      const struct pb_optvals *rcopts, unsigned producers, unsigned workers,
			      char *buf, size_t len)
{
	const unsigned long long max = (unsigned long long)pb_opt_get(opts, "max-producers");
	const unsigned long long push = (unsigned long long)producers + PB_QUEUE_EXTRA_PUSHERS;

	(void)rc;
	(void)rcopts;
	(void)workers; /* workers only pop: they never take a ring */
	if (push <= max)
		return NULL;
	snprintf(buf, len, "spmc max-producers %llu is less than the %llu threads that push (%u "
		 "producers + %u harness submitter); raise --backend-opt max-producers to %llu or more",
		 max, push, producers, PB_QUEUE_EXTRA_PUSHERS, push);
	return buf;
}

static void spmc_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&q->mu);
	st->allocs = q->allocs;
	pthread_mutex_unlock(&q->mu);
	/* One producer can have at most capacity-1 jobs queued; all of them
	 * together max-producers times that. */
	st->bound = (uint64_t)(q->cap - 1) * q->max;
}

const struct pb_queue_ops pb_backend_spmc = {
	.abi = PB_ABI_VERSION,
	.name = "spmc",
	.summary = "one Concurrency Kit SPMC ring per producer (ck_ring), workers poll the rings round-robin",
	.flags = PB_Q_BOUNDED | PB_Q_FIFO,
	.options = spmc_options,
	.reclaim_excluded = NULL,
	.supported = NULL,
	.create = spmc_create,
	.destroy = spmc_destroy,
	.thread_register = spmc_thread_register,
	.thread_unregister = spmc_thread_unregister,
	.push = spmc_push,
	.pop_batch = spmc_pop_batch,
	.close = spmc_close,
	.check = spmc_check,
	.size = spmc_size,
	.stats = spmc_stats,
};
