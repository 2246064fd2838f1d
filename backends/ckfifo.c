/* SPDX-License-Identifier: MIT */
/*
 * ckfifo: Concurrency Kit's Michael-Scott queue (ck_fifo.h, ck_fifo_mpmc)
 * with its generation-counted double-width CAS, nodes retired through the
 * reclaimer contract.  Unbounded; takes the reclaimers whose begin..end
 * section pins every node an operation can reach (ckepoch, urcu-memb,
 * urcu-qsbr).
 *
 * How it works and why it is correct (ck 0.7.1 ck_fifo.h; M. M. Michael and
 * M. L. Scott, "Simple, Fast, and Practical Non-Blocking and Blocking
 * Concurrent Queue Algorithms", PODC 1996, the counted-pointer version):
 *  - The queue always holds a dummy at the head.  enqueue: DCAS the tail
 *    node's {next, gen} from {NULL, g} to {node, g+1}, then DCAS the tail
 *    forward (helping a lagging tail first).  dequeue: read head, tail and
 *    head->next; read the value out of head->next, then DCAS the head
 *    {dummy, g} -> {next, g+1}.  The old dummy comes back as `garbage`;
 *    the dequeued node becomes the new dummy.  CK_F_FIFO_MPMC needs
 *    CK_F_PR_CAS_PTR_2 (cmpxchg16b), which ck 0.7.1's x86_64 port defines
 *    (gcc/x86_64/ck_f_pr.h); the file does not build without it.
 *  - Our node carries the job; ck's value is the node itself.  So the job is
 *    read out of the new dummy after the head DCAS: the node is still in the
 *    queue then (as its dummy) and a later dequeue may take it as garbage and
 *    retire it, but nobody rewrites it until it is freed, which the
 *    reclaimer does only after our section ended.
 *  - ck's generations make the DCASes ABA-free, but ck reads through
 *    pointers it loaded earlier (head->next, tail->next, next->value): the
 *    memory must stay valid for the whole operation.  Every operation
 *    therefore runs inside begin()..end() of the reclaimer, and garbage goes
 *    to retire().  That is enough for schemes whose section pins everything
 *    reachable: epochs (ckepoch) and RCU (urcu-memb, urcu-qsbr).  `none`
 *    (never frees) would be safe too but is left out: with a node per job it
 *    only measures malloc and leaks a node per job (a 200 000-job run holds
 *    ~40 MB), and in the registry-generated suites it was the slowest
 *    configuration (fresh memory for every job).  It is not enough for hp (ck's loads publish
 *    no hazards, so a retired node would be freed at once under a running
 *    dequeue) nor for limbo (it reuses by heuristic: a reused node's job
 *    could be rewritten while a dequeuer copies it), nor for pointer-based
 *    schemes in general (they need protect() on every load, inside ck).
 *    ck_hp_fifo, ck's hazard-pointer variant, needs a ck_hp_record_t of its
 *    own, which our hp reclaimer keeps private.  Hence the allow-list
 *    (.reclaim_only): a scheme registered later is refused until someone
 *    checks that its sections pin and adds it.
 *  - FIFO per producer (PB_Q_FIFO): a thread's enqueue i is linked (its next
 *    DCAS succeeded) before enqueue i+1 starts, and dequeues take nodes in
 *    list order (the head DCAS), so in the global order of the head DCASes
 *    each producer's jobs come out in push order.  Not native batch: one
 *    DCAS per job.
 *
 * Nodes come from backends/nodestore.h: with recycle=on (default) retired
 * nodes go back to a free list after their grace period and the steady state
 * allocates nothing; recycle=off mallocs one per push and free()s it, for ASan.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ck_fifo.h>

#include "nodequeue.h" /* store, handle, push loop, forwarding hooks */
#include "nodestore.h"
#include "pb.h"
#include "queue.h"

#if !defined(CK_F_FIFO_MPMC)
#error "ck_fifo_mpmc needs CK_F_PR_CAS_PTR_2 (a double-width CAS) in this ck port"
#endif

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/* ck_pr is inline asm, invisible to TSAN: the job is written before the
 * enqueue's DCAS publishes the node and read after the dequeue's DCAS. */
#define CKF_TSAN_RELEASE(a) __tsan_release(a)
#define CKF_TSAN_ACQUIRE(a) __tsan_acquire(a)
#else
#define CKF_TSAN_RELEASE(a) ((void)0)
#define CKF_TSAN_ACQUIRE(a) ((void)0)
#endif

struct ckf_node {
	struct ns_node hdr;            /* pb_smr_node first, then the store link */
	struct ck_fifo_mpmc_entry e;   /* ck's (16-byte aligned {next, gen}) */
	struct pb_job job;
};

struct pb_queue {
	struct nq_base b; /* read-mostly: store, reclaimer, closed */
	struct ck_fifo_mpmc fifo PB_ALIGNED; /* head | pad | tail */
};
NQ_BASE_FIRST(struct pb_queue, b);

static inline struct ckf_node *ckf_of(struct ck_fifo_mpmc_entry *e)
{
	return (struct ckf_node *)((char *)e - offsetof(struct ckf_node, e));
}

static const char *const ckfifo_only[] = {"ckepoch", "urcu-memb", "urcu-qsbr", NULL};

static const struct pb_option ckfifo_options[] = {
	NQ_OPT_RECYCLE,
	{ .name = NULL },
};

static int ckfifo_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
			 struct pb_queue **out)
{
	struct pb_queue *q;
	struct ckf_node *stub;
	int err = nq_create(opts, ckfifo_options, rc, sizeof(*q), sizeof(struct ckf_node), &q);

	if (err)
		return err;
	stub = (struct ckf_node *)ns_node_alloc(q->b.st, false);
	if (!stub) {
		nq_free(q);
		return -ENOMEM;
	}
	ck_fifo_mpmc_init(&q->fifo, &stub->e);
	*out = q;
	return 0;
}

/* Every thread unregistered: the dummy and what is still queued are ours. */
static void ckfifo_destroy(struct pb_queue *q)
{
	struct ck_fifo_mpmc_entry *e;

	if (!q)
		return;
	ck_fifo_mpmc_deinit(&q->fifo, &e);
	while (e) {
		struct ck_fifo_mpmc_entry *next = e->next.pointer;

		free(ckf_of(e));
		e = next;
	}
	nq_free(q);
}

/* The push loop's step (nodequeue.h), inside the section. */
static inline void ckfifo_enqueue(struct pb_queue *q, struct ns_node *n, const struct pb_job *job)
{
	struct ckf_node *nd = (struct ckf_node *)n;

	nd->job = *job;
	PB_DELAY("ckfifo.push");
	CKF_TSAN_RELEASE(q);
	/* ck: a store-atomic fence orders the node's contents before the DCAS
	 * that links it */
	ck_fifo_mpmc_enqueue(&q->fifo, &nd->e, nd);
}

static size_t ckfifo_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
				size_t n, int *rc)
{
	return nq_push_batch(q, t, jobs, n, rc, ckfifo_enqueue);
}

static int ckfifo_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	int rc;

	nq_push_batch(q, t, job, 1, &rc, ckfifo_enqueue);
	return rc;
}

/*
 * Torture point "ckfifo.pop.protected" (core/pb.h, tests/test_node_torture.c):
 * the consumer won the head DCAS and is about to copy the job out of nd, the
 * new dummy, which only its section keeps alive once others dequeue past it.
 * gen is the job's tag as read here; on "...resumed" the test compares it
 * with the tag read after the stall (a reuse changes it; a free is caught by
 * ASan with recycle=off).  Reached only when pb_torture_enabled is set.
 */
__attribute__((noinline, cold)) static void ckfifo_torture_point(struct pb_queue *q,
								 struct ckf_node *nd)
{
	struct pb_torture_probe p = {"ckfifo.pop.protected", nd, nd->job.tag, 0};

	if (!pb_torture_call(&p))
		return;
	p.where = "ckfifo.pop.protected.resumed";
	p.gen = nd->job.tag;
	/* detached: the head moved past nd, so nd was retired meanwhile */
	p.flags = ck_pr_load_ptr(&q->fifo.head.pointer) != &nd->e ? PB_TORTURE_DETACHED : 0;
	pb_torture_call(&p);
}

static size_t ckfifo_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out,
			       size_t max)
{
	const struct pb_reclaim_ops *ro = q->b.rc.ops;
	size_t n = 0;

	ro->begin(t->rt);
	while (n < max) {
		struct ckf_node *nd;
		struct ck_fifo_mpmc_entry *garbage;

		if (!ck_fifo_mpmc_dequeue(&q->fifo, &nd, &garbage))
			break;
		CKF_TSAN_ACQUIRE(q);
		/* relaxed: set by tests before the threads start (core/pb.h) */
		if (PB_UNLIKELY(atomic_load_explicit(&pb_torture_enabled, memory_order_relaxed)))
			ckfifo_torture_point(q, nd);
		/* nd is the new dummy: pinned by our section (see the header) */
		out[n++] = nd->job;
		PB_DELAY("ckfifo.pop");
		/* The old dummy is unlinked; racing operations may still read it. */
		ns_node_retire(q->b.st, &q->b.rc, t->rt, &ckf_of(garbage)->hdr);
	}
	ro->end(t->rt);
	return n;
}

const struct pb_queue_ops pb_backend_ckfifo = {
	.abi = PB_ABI_VERSION,
	.name = "ckfifo",
	.summary = "Concurrency Kit Michael-Scott queue (ck_fifo_mpmc, DCAS): section-based reclaimers",
	.flags = PB_Q_RECLAIM | PB_Q_FIFO,
	.options = ckfifo_options,
	.reclaim_excluded = NULL,
	.reclaim_only = ckfifo_only,
	.supported = NULL,
	.create = ckfifo_create,
	.destroy = ckfifo_destroy,
	.thread_register = nq_thread_register,
	.thread_unregister = nq_thread_unregister,
	.push = ckfifo_push,
	.push_batch = ckfifo_push_batch,
	.pop_batch = ckfifo_pop_batch,
	.close = nq_close,
	.quiescent = nq_quiescent,
	.offline = nq_offline,
	.online = nq_online,
	.stats = nq_stats,
	.reclaim_stats = nq_reclaim_stats,
};
