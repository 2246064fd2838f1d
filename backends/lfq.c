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
 * The flavour (why only urcu-memb and urcu-qsbr).  The sections are our
 * reclaimer's: begin() is rcu_read_lock() of its flavour (memb; QSBR: the
 * thread is online between quiescent states, begin is a no-op), and its
 * thread_register registered the thread with that flavour.  Two things are
 * freed after a grace period and must wait for exactly these sections:
 *  (1) our nodes: rc->ops->retire; the urcu reclaimer frees them after
 *      synchronize_rcu() of its flavour (reclaim/urcu.c);
 *  (2) liburcu's dummies: the queue_call_rcu passed to cds_lfq_init_rcu.  We
 *      pass the call_rcu of the same flavour, through liburcu's flavour
 *      struct (urcu_memb_flavor / urcu_qsbr_flavor: grace periods are
 *      process-global per flavour, so a grace period of the flavour waits for
 *      our sections).  A call_rcu of another flavour, or a scheme whose
 *      begin() is not an RCU section of that flavour (hp, ckepoch...), would
 *      free a dummy that a dequeuer still reads.
 * Hence the allow-list (.reclaim_only): a scheme registered later is refused
 * until it is added here with its flavour (urcu-bp would map to
 * urcu_bp_flavor).  create() maps the reclaimer's name to the flavour and
 * refuses any other name.  destroy() runs the flavour's rcu_barrier() so that
 * no dummy callback outlives the queue (they free only liburcu memory, but
 * the count of them is ours).
 *
 * Allocation: our nodes come from backends/nodestore.h (recycled after their
 * grace period with recycle=1; malloc/free per job with recycle=0).  liburcu
 * mallocs a dummy whenever a dequeue takes the last real node (a queue that
 * runs empty does so about once per empty spell); we count them where they
 * are freed (our call_rcu wrapper), so stats.allocs is our mallocs plus the
 * dummies freed so far: short by at most the dummies still queued (one or
 * two).
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

#include <urcu/flavor.h>
#include <urcu/rculfqueue.h>

#include "nodestore.h"
#include "pb.h"
#include "queue.h"

/* liburcu's flavour structs (liburcu-memb / liburcu-qsbr; declared in their
 * flavour headers, which cannot both be included in one file). */
extern const struct rcu_flavor_struct urcu_memb_flavor;
extern const struct rcu_flavor_struct urcu_qsbr_flavor;

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/* A node's job is written before cds_lfq_enqueue_rcu publishes it (a CAS in
 * liburcu) and read after cds_lfq_dequeue_rcu returns it. */
#define LFQ_TSAN_RELEASE(a) __tsan_release(a)
#define LFQ_TSAN_ACQUIRE(a) __tsan_acquire(a)
#else
#define LFQ_TSAN_RELEASE(a) ((void)0)
#define LFQ_TSAN_ACQUIRE(a) ((void)0)
#endif

struct lfq_node {
	struct ns_node hdr;             /* pb_smr_node first, then the store link */
	struct cds_lfq_node_rcu link;   /* liburcu's */
	struct pb_job job;
};

struct pb_queue {
	struct cds_lfq_queue_rcu lfq PB_ALIGNED;
	/* Read-mostly. */
	struct ns_store *st PB_ALIGNED;
	struct pb_reclaim_inst rc;
	const struct rcu_flavor_struct *flavor;
	atomic_int closed;
	_Atomic uint64_t dummies PB_ALIGNED; /* liburcu dummies handed to call_rcu */
};

struct pb_qthread {
	struct pb_rthread *rt;
	struct ns_link *cache; /* free nodes taken from the store */
};

/* The queue whose dequeue runs on this thread: liburcu calls queue_call_rcu
 * for a dummy synchronously inside cds_lfq_dequeue_rcu. */
static _Thread_local struct pb_queue *lfq_tls_q;

static void lfq_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *))
{
	struct pb_queue *q = lfq_tls_q;

	atomic_fetch_add_explicit(&q->dummies, 1, memory_order_relaxed); /* statistic */
	q->flavor->update_call_rcu(head, func);
}

static const char *const lfq_only[] = {"urcu-memb", "urcu-qsbr", NULL};

static const struct pb_option lfq_options[] = {
	{ .name = "recycle", .type = PB_OPT_INT, .min = 0, .max = 1, .def = 1,
	  .help = "1: nodes come back from the reclaimer to a free list; 0: malloc per push, "
		  "free() after the grace period (ASan sees a use after free)" },
	{ .name = NULL },
};

static int lfq_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
		      struct pb_queue **out)
{
	struct pb_optvals defs;
	struct pb_queue *q;

	if (!rc || !rc->ops)
		return -EINVAL;
	if (!opts) {
		pb_opts_defaults(&defs, lfq_options);
		opts = &defs;
	}
	if (posix_memalign((void **)&q, PB_CACHELINE, sizeof(*q)))
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	if (!strcmp(rc->ops->name, "urcu-memb"))
		q->flavor = &urcu_memb_flavor;
	else if (!strcmp(rc->ops->name, "urcu-qsbr"))
		q->flavor = &urcu_qsbr_flavor;
	else {
		free(q);
		return -EINVAL; /* the registry refuses it first (.reclaim_only) */
	}
	q->st = ns_store_create(sizeof(struct lfq_node), pb_opt_get(opts, "recycle") == 1);
	if (!q->st) {
		free(q);
		return -ENOMEM;
	}
	q->rc = *rc;
	atomic_init(&q->closed, 0);
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
	 * loads inside are safe without one, but dummies it meets still go to
	 * call_rcu (freed by the barrier below). */
	lfq_tls_q = q;
	while ((l = cds_lfq_dequeue_rcu(&q->lfq)))
		free(caa_container_of(l, struct lfq_node, link));
	lfq_tls_q = NULL;
	(void)cds_lfq_destroy_rcu(&q->lfq); /* frees the last dummy */
	q->flavor->barrier(); /* dummy callbacks of this queue have run */
	ns_store_put(q->st);  /* retired nodes keep the store until they are back */
	free(q);
}

static int lfq_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	struct pb_qthread *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	rc = q->rc.ops->thread_register(q->rc.dom, &t->rt);
	if (rc) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

static void lfq_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	q->rc.ops->thread_unregister(q->rc.dom, t->rt);
	ns_cache_return(q->st, &t->cache);
	free(t);
}

/* push and push_batch: jobs in order inside one read-side section. */
static size_t lfq_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
			     size_t n, int *rc)
{
	const struct pb_reclaim_ops *ro = q->rc.ops;
	size_t k;

	/* relaxed: as in ckring.c (the pool's closing protocol covers the race) */
	if (PB_UNLIKELY(atomic_load_explicit(&q->closed, memory_order_relaxed))) {
		*rc = PB_CLOSED;
		return 0;
	}
	ro->begin(t->rt);
	for (k = 0; k < n; k++) {
		struct lfq_node *nd = (struct lfq_node *)ns_node_get(q->st, &t->cache);

		if (PB_UNLIKELY(!nd))
			break;
		nd->job = jobs[k];
		cds_lfq_node_init_rcu(&nd->link);
		PB_DELAY("lfq.push");
		LFQ_TSAN_RELEASE(q);
		/* liburcu: the cmpxchg that links the node is a full barrier, so
		 * the job is written before the node is reachable */
		cds_lfq_enqueue_rcu(&q->lfq, &nd->link);
	}
	ro->end(t->rt);
	*rc = k == n ? PB_OK : PB_FULL; /* short only when malloc failed */
	return k;
}

static int lfq_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	int rc;

	lfq_push_batch(q, t, job, 1, &rc);
	return rc;
}

static size_t lfq_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out, size_t max)
{
	const struct pb_reclaim_ops *ro = q->rc.ops;
	size_t n = 0;

	ro->begin(t->rt);
	lfq_tls_q = q;
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
		ns_node_retire(q->st, &q->rc, t->rt, &nd->hdr);
	}
	lfq_tls_q = NULL;
	ro->end(t->rt);
	return n;
}

/* See ckring_close: a flag checked by push, and the pool's closing protocol. */
static void lfq_close(struct pb_queue *q)
{
	atomic_store_explicit(&q->closed, 1, memory_order_seq_cst);
}

static void lfq_quiescent(struct pb_queue *q, struct pb_qthread *t)
{
	pb_reclaim_quiescent(q->rc.ops, t->rt);
}

static void lfq_offline(struct pb_queue *q, struct pb_qthread *t)
{
	pb_reclaim_offline(q->rc.ops, t->rt);
}

static void lfq_online(struct pb_queue *q, struct pb_qthread *t)
{
	pb_reclaim_online(q->rc.ops, t->rt);
}

static void lfq_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->allocs = atomic_load_explicit(&q->st->allocs, memory_order_relaxed) +
		     atomic_load_explicit(&q->dummies, memory_order_relaxed);
	st->segs_retired = atomic_load_explicit(&q->st->retired, memory_order_relaxed);
	st->bound = PB_QUEUE_UNBOUNDED;
}

static void lfq_reclaim_stats(struct pb_queue *q, struct pb_reclaim_stats *st)
{
	pb_reclaim_get_stats(q->rc.ops, q->rc.dom, st);
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
	.thread_register = lfq_thread_register,
	.thread_unregister = lfq_thread_unregister,
	.push = lfq_push,
	.push_batch = lfq_push_batch,
	.pop_batch = lfq_pop_batch,
	.close = lfq_close,
	.quiescent = lfq_quiescent,
	.offline = lfq_offline,
	.online = lfq_online,
	.stats = lfq_stats,
	.reclaim_stats = lfq_reclaim_stats,
};
