/* SPDX-License-Identifier: MIT */
/*
 * lfq: liburcu's RCU lock-free queue (urcu/rculfqueue.h, cds_lfq_*_rcu), a
 * Michael-Scott queue whose nodes are protected by RCU read-side sections.
 * Unbounded; takes only liburcu's own reclaimers (urcu-memb, urcu-qsbr), and
 * retires dequeued nodes through the reclaimer contract.
 *
 * How it works and why it is correct (liburcu 0.13, static/rculfqueue.h;
 * M. M. Michael and M. L. Scott, "Simple, Fast, and Practical Non-Blocking
 * and Blocking Concurrent Queue Algorithms", PODC 1996, with RCU in place of
 * counted pointers):
 *  - enqueue: CAS the tail node's next from NULL to the new node, then swing
 *    the tail (helping a lagging tail on failure).  dequeue: CAS the head
 *    from the first node to its successor and return the old first node;
 *    liburcu keeps at least one node in the queue by enqueueing a dummy
 *    (malloc'd by liburcu) when the last real node is taken, and frees
 *    dummies that it dequeues with the call_rcu given at init.
 *  - Both must run inside an RCU read-side section of a registered thread:
 *    they dereference q->head, q->tail and their next pointers, which
 *    another thread may have dequeued meanwhile; the section keeps those
 *    nodes allocated (no ABA either: a node is not reused while a section
 *    that could see it runs).  The dequeued node is the caller's alone (only
 *    racing dequeuers still read its next/dummy fields, never its job), so
 *    the job is copied out after the CAS, and the node is retired.
 *
 * Why only urcu-memb and urcu-qsbr.  liburcu's contract for cds_lfq is an
 * RCU read-side section of a thread registered with the flavour whose grace
 * periods free the nodes.  Our urcu reclaimers give exactly that: their
 * thread_register is rcu_register_thread() of their flavour, begin() is its
 * rcu_read_lock() (QSBR: the thread is online between quiescent states), and
 * retire() frees after synchronize_rcu() of the same flavour
 * (reclaim/urcu.c).  Two kinds of memory are freed after a grace period:
 *  (1) our nodes: retire() through the reclaimer contract;
 *  (2) liburcu's dummies: cds_lfq frees them with the queue_call_rcu given
 *      to cds_lfq_init_rcu.  We do not give it a flavour's call_rcu (a second
 *      deferral path, with its own worker thread): we give it lfq_call_rcu,
 *      which wraps the dummy in a small retirable node and retire()s it on
 *      the dequeuing thread's record, so the dummy is freed by the same
 *      reclaimer, after a grace period of the same flavour as the sections
 *      that could read it, and the reclaimer's ThreadSanitizer edges cover
 *      it.  liburcu calls queue_call_rcu synchronously inside
 *      cds_lfq_dequeue_rcu, so a thread-local says which queue and record.
 * The allow-list (.reclaim_only) keeps other schemes out: a scheme registered
 * later is refused until someone checks that its begin() is an RCU section of
 * the grace periods it frees by (urcu-bp would qualify); create() refuses any
 * other name too.
 *
 * Allocation: our nodes come from backends/nodestore.h (recycled after their
 * grace period with recycle=on; malloc/free per job with recycle=off).  liburcu
 * mallocs a dummy whenever a dequeue takes the last real node (a queue that
 * runs empty does so about once per empty spell), and we malloc its wrapper;
 * we count both where the dummy leaves the queue (lfq_call_rcu), so
 * stats.allocs is our mallocs plus two per dummy dequeued so far: short by at
 * most the dummies still queued (one or two).
 *
 * FIFO per producer (PB_Q_FIFO): jobs are linked in enqueue order (one thread's
 * enqueue i returns after its node is linked, before enqueue i+1 starts) and
 * dequeued in list order by the head CAS, so in the global order of the head
 * CASes (the pops) each producer's jobs come out in push order.  Not native
 * batch: one head CAS per job.
 */
#if !defined(__SANITIZE_THREAD__)
/* Inline liburcu's queue (static/rculfqueue.h).  TSAN builds call liburcu-cds
 * out of line instead: uninstrumented, so its uatomic accesses raise no false
 * reports; we state the real edges below. */
#define _LGPL_SOURCE
#endif
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/compiler.h> /* caa_container_of */
#include <urcu/rculfqueue.h>

#include "nodequeue.h" /* store, handle, push loop, forwarding hooks */
#include "nodestore.h"
#include "pb.h"
#include "queue.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/* A node's job is written before cds_lfq_enqueue_rcu publishes it (a CAS in
 * liburcu) and read after cds_lfq_dequeue_rcu returns it. */
#define LFQ_TSAN_RELEASE(a) __tsan_release(a)
#define LFQ_TSAN_ACQUIRE(a) __tsan_acquire(a)
/* TSAN's dynamic annotations (in libtsan; not in a header). */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define LFQ_TSAN_IGNORE_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define LFQ_TSAN_IGNORE_READS_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define LFQ_TSAN_RELEASE(a) ((void)0)
#define LFQ_TSAN_ACQUIRE(a) ((void)0)
#define LFQ_TSAN_IGNORE_READS_BEGIN() ((void)0)
#define LFQ_TSAN_IGNORE_READS_END() ((void)0)
#endif

struct lfq_node {
	struct ns_node hdr;             /* pb_smr_node first, then the store link */
	struct cds_lfq_node_rcu link;   /* liburcu's */
	struct pb_job job;
};

struct pb_queue {
	struct nq_base b; /* read-mostly: store, reclaimer, closed */
	struct cds_lfq_queue_rcu lfq PB_ALIGNED;
	_Atomic uint64_t dummies PB_ALIGNED; /* liburcu dummies handed to call_rcu */
};
NQ_BASE_FIRST(struct pb_queue, b);

/* A liburcu dummy on its way to the reclaimer (see the header). */
struct lfq_dummy {
	struct pb_smr_node smr; /* the reclaimer's, first */
	struct rcu_head *head;
	void (*func)(struct rcu_head *head);
};

/* The queue and record whose dequeue runs on this thread: liburcu calls
 * queue_call_rcu for a dummy synchronously inside cds_lfq_dequeue_rcu. */
static _Thread_local struct pb_queue *lfq_tls_q;
static _Thread_local struct pb_qthread *lfq_tls_t;

static void lfq_dummy_free(struct pb_smr_node *node, void *ctx)
{
	struct lfq_dummy *d = (struct lfq_dummy *)node;

	(void)ctx;
	d->func(d->head); /* liburcu's free_dummy_cb: free() */
	free(d);
}

static void lfq_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *))
{
	struct pb_queue *q = lfq_tls_q;
	struct pb_qthread *t = lfq_tls_t;
	struct lfq_dummy *d;

	/* relaxed: a statistic */
	atomic_fetch_add_explicit(&q->dummies, 1, memory_order_relaxed);
	/* destroy: no other thread left, nobody can read it; free it now */
	if (!t) {
		func(head);
		return;
	}
	d = malloc(sizeof(*d));
	if (PB_UNLIKELY(!d))
		return; /* out of memory: keep (leak) the dummy rather than free it early */
	d->head = head;
	d->func = func;
	q->b.rc.ops->retire(t->rt, &d->smr, lfq_dummy_free, NULL);
}

static const char *const lfq_only[] = {"urcu-memb", "urcu-qsbr", NULL};

static const struct pb_option lfq_options[] = {
	NQ_OPT_RECYCLE,
	{ .name = NULL },
};

static int lfq_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
		      struct pb_queue **out)
{
	struct pb_queue *q;
	int err;

	if (rc && rc->ops && strcmp(rc->ops->name, "urcu-memb") && strcmp(rc->ops->name, "urcu-qsbr"))
		return -EINVAL; /* the registry refuses it first (.reclaim_only) */
	err = nq_create(opts, lfq_options, rc, sizeof(*q), sizeof(struct lfq_node), &q);
	if (err)
		return err;
	atomic_init(&q->dummies, 0);
	/* mallocs the first dummy (before create returns: not counted) */
	cds_lfq_init_rcu(&q->lfq, lfq_call_rcu);
	*out = q;
	return 0;
}

/* Every thread unregistered: no section runs, the queue is ours. */
static void lfq_destroy(struct pb_queue *q)
{
	struct cds_lfq_node_rcu *l;

	if (!q)
		return;
	/* Nodes still queued were never retired: free them here (liburcu's
	 * destroy wants an empty queue).  Dequeuing needs a section of a
	 * registered thread; none can race with us, so the flavour-agnostic
	 * loads inside are safe without one; dummies it takes off are freed at
	 * once (lfq_call_rcu without a record). */
	lfq_tls_q = q;
	lfq_tls_t = NULL; /* dummies met here are freed at once */
	while ((l = cds_lfq_dequeue_rcu(&q->lfq)))
		free(caa_container_of(l, struct lfq_node, link));
	lfq_tls_q = NULL;
	(void)cds_lfq_destroy_rcu(&q->lfq); /* frees the last dummy */
	nq_free(q);
}

/* The push loop's step (nodequeue.h), inside the section. */
static inline void lfq_enqueue(struct pb_queue *q, struct ns_node *n, const struct pb_job *job)
{
	struct lfq_node *nd = (struct lfq_node *)n;

	nd->job = *job;
	cds_lfq_node_init_rcu(&nd->link);
	PB_DELAY("lfq.push");
	LFQ_TSAN_RELEASE(q);
	/* liburcu: the cmpxchg that links the node is a full barrier, so the
	 * job is written before the node is reachable */
	cds_lfq_enqueue_rcu(&q->lfq, &nd->link);
}

static size_t lfq_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
			     size_t n, int *rc)
{
	return nq_push_batch(q, t, jobs, n, rc, lfq_enqueue);
}

static int lfq_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	int rc;

	nq_push_batch(q, t, job, 1, &rc, lfq_enqueue);
	return rc;
}

/*
 * Torture point "lfq.pop.protected" (core/pb.h, tests/test_node_torture.c):
 * inside the section, the consumer loads the queue's head as liburcu's
 * dequeue does and stalls before it would read through it; others may
 * dequeue and retire that node meanwhile.  gen is the job's tag in it; on
 * "...resumed" the test compares it with the tag read after the stall (a
 * reuse changes it; a free is caught by ASan with recycle=off).  Only real
 * nodes are probed (a dummy has no job).  Reached only when
 * pb_torture_enabled is set.
 */
__attribute__((noinline, cold)) static void lfq_torture_point(struct pb_queue *q)
{
	struct cds_lfq_node_rcu *h = __atomic_load_n(&q->lfq.head, __ATOMIC_ACQUIRE);
	struct lfq_node *nd;
	struct pb_torture_probe p;
	int dummy;

	/* h may be one of liburcu's dummies, malloc'd and published inside
	 * liburcu (uninstrumented in TSAN builds, which cannot see that edge):
	 * this test-only read of liburcu's flag is hidden from TSAN. */
	LFQ_TSAN_IGNORE_READS_BEGIN();
	dummy = h->dummy;
	LFQ_TSAN_IGNORE_READS_END();
	if (dummy)
		return;
	LFQ_TSAN_ACQUIRE(q); /* our node: pairs with the push's release */
	nd = caa_container_of(h, struct lfq_node, link);
	p = (struct pb_torture_probe){"lfq.pop.protected", nd, nd->job.tag, 0};
	if (!pb_torture_call(&p))
		return;
	p.where = "lfq.pop.protected.resumed";
	p.gen = nd->job.tag;
	/* detached: the head moved past it, so it was retired meanwhile */
	p.flags = __atomic_load_n(&q->lfq.head, __ATOMIC_ACQUIRE) != h ? PB_TORTURE_DETACHED : 0;
	pb_torture_call(&p);
}

static size_t lfq_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out, size_t max)
{
	const struct pb_reclaim_ops *ro = q->b.rc.ops;
	size_t n = 0;

	ro->begin(t->rt);
	lfq_tls_q = q;
	lfq_tls_t = t;
	/* relaxed: set by tests before the threads start (core/pb.h) */
	if (PB_UNLIKELY(atomic_load_explicit(&pb_torture_enabled, memory_order_relaxed)))
		lfq_torture_point(q);
	while (n < max) {
		struct cds_lfq_node_rcu *l = cds_lfq_dequeue_rcu(&q->lfq);
		struct lfq_node *nd;

		if (!l)
			break;
		LFQ_TSAN_ACQUIRE(q);
		nd = caa_container_of(l, struct lfq_node, link);
		out[n++] = nd->job;
		PB_DELAY("lfq.pop");
		/* Unlinked: racing dequeuers may still read it until their
		 * sections end, which the reclaimer waits for. */
		ns_node_retire(q->b.st, &q->b.rc, t->rt, &nd->hdr);
	}
	lfq_tls_q = NULL;
	lfq_tls_t = NULL;
	ro->end(t->rt);
	return n;
}

/* The store's counters, plus liburcu's dummies and their wrappers (header). */
static void lfq_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	nq_stats(q, st);
	/* relaxed: a statistic */
	st->allocs += 2 * atomic_load_explicit(&q->dummies, memory_order_relaxed);
}

const struct pb_queue_ops pb_backend_lfq = {
	.abi = PB_ABI_VERSION,
	.name = "lfq",
	.summary = "liburcu RCU lock-free queue (cds_lfq, Michael-Scott): urcu reclaimers only",
	.flags = PB_Q_RECLAIM | PB_Q_FIFO,
	.options = lfq_options,
	.reclaim_excluded = NULL,
	.reclaim_only = lfq_only,
	.supported = NULL,
	.create = lfq_create,
	.destroy = lfq_destroy,
	.thread_register = nq_thread_register,
	.thread_unregister = nq_thread_unregister,
	.push = lfq_push,
	.push_batch = lfq_push_batch,
	.pop_batch = lfq_pop_batch,
	.close = nq_close,
	.quiescent = nq_quiescent,
	.offline = nq_offline,
	.online = nq_online,
	.stats = lfq_stats,
	.reclaim_stats = nq_reclaim_stats,
};
