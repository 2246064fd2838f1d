/* SPDX-License-Identifier: MIT */
/*
 * wfcq: liburcu's wait-free concurrent queue (urcu/wfcqueue.h) as a pool
 * queue.  Producers enqueue wait-free (one exchange on the tail); a worker
 * splices everything queued into its private queue in one step (a natural
 * batch) and pops from there.  Unbounded; nodes come from per-producer free
 * lists and go back to their producer through a lock-free return stack.
 *
 * How it works and why it is correct (liburcu 0.13, static/wfcqueue.h; the
 * queue is Desnoyers' wait-free concurrent queue, liburcu's cds_wfcq):
 *  - push: take a node from the thread's free list, copy the job in, then
 *    cds_wfcq_enqueue: exchange the shared tail with the node, then link the
 *    old tail's next to it.  Wait-free.  Between the two steps the node is
 *    queued but not yet reachable from its predecessor.
 *  - pop_batch: first the worker's private queue (__cds_wfcq_dequeue_
 *    nonblocking, no lock: only its owner dequeues from it).  When it is
 *    empty, the worker takes the shared queue's dequeue lock (liburcu's
 *    cds_wfcq_dequeue_lock: splice and dequeue need mutual exclusion among
 *    consumers, never with enqueuers) and moves everything queued into its
 *    private queue with __cds_wfcq_splice_nonblocking: one exchange of the
 *    shared tail, O(1), the lock is held for that only.  Then it dequeues up
 *    to max from the private queue.
 *  - Exactly once: a node is in exactly one queue at a time (the splice moves
 *    the whole chain head..tail, and the exchange makes later enqueues go to
 *    the now-empty shared queue); each private queue has one dequeuer.
 *  - Pop never blocks.  We use the nonblocking splice and dequeue: where a
 *    producer was preempted between its exchange and its link, liburcu's
 *    blocking variants would wait for it (busy-wait, then 10 ms polls); the
 *    nonblocking ones return CDS_WFCQ_WOULDBLOCK and we return what we have
 *    (maybe 0: "nothing visible now").  The jobs behind the missing link stay
 *    in the private queue (or the shared one) and become visible when that
 *    producer's push returns; the pool's closing protocol waits for every
 *    push in flight before it closes, so after close nothing is stuck.
 *  - Leftovers: a splice may bring more than max jobs.  The rest stays in
 *    the worker's private queue for its next pop_batch; the worker splices
 *    again only once its private queue is empty, so it never appends behind
 *    a missing link.  thread_unregister moves whatever is left to the queue's
 *    orphan queue (a splice needs only its source's first link, which the
 *    splice that filled the private queue set; links still pending inside
 *    travel along and are waited for by whoever dequeues there), which
 *    every pop_batch looks at (one load) before the shared queue.  No job is
 *    lost (every node stays in some queue until it is popped) or duplicated
 *    (a node leaves a queue only through one dequeue).  A worker that parks
 *    with leftovers behind a missing link keeps them until it runs again:
 *    the pool's flush timer wakes an idle worker every flush period while
 *    jobs are pending, and futex wakes go to the longest sleeper first.
 *  - Not FIFO per producer in the contract's global sense: worker A may
 *    hold a producer's jobs 33..64 as leftovers while worker B splices and
 *    pops that producer's job 65 first.  Each worker's own stream keeps each
 *    producer's order.  So PB_Q_FIFO is not set.
 *  - PB_Q_NATIVE_BATCH: a worker claims every queued job in one exchange.
 *  - push_batch enqueues the batch into the thread's batch queue (private,
 *    no contention) and splices it into the shared queue: one exchange of
 *    the shared tail per batch (dest needs no mutual exclusion, liburcu).
 *
 * Node recycling (no malloc per job).  Nodes are allocated in chunks of
 * `chunk` by the producer that needs them and carry their owner's record.
 * After a consumer has copied the job out of a node it is the only thread
 * that can reach it (liburcu's dequeue returns a node only after its
 * successor link is set, and the last node only after the tail was moved
 * off it, so no enqueuer writes it again), and it pushes it on the owner's
 * return stack (backends/nodestore.h: CAS push, exchange take, no ABA).  The
 * owner takes the whole stack when its private free list runs dry, and only
 * then allocates a chunk.  Records (and their chunks) live until destroy and
 * are reused by later registrations, so a node can always go back, also
 * after its producer left.  stats.allocs counts the chunks allocated after
 * create.
 */
#if !defined(__SANITIZE_THREAD__)
/* Inline liburcu's fast paths.  TSAN builds call the library out of line
 * instead: its uatomic accesses are invisible to TSAN, and uninstrumented
 * code reports no false races; we state the real edges below. */
#define _LGPL_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/compiler.h> /* caa_container_of */
#include <urcu/wfcqueue.h>

#include "nodestore.h"
#include "pb.h"
#include "queue.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/* The job inside a node is published by cds_wfcq_enqueue (an exchange and a
 * store in liburcu) and taken by a splice: release before the enqueue,
 * acquire after the splice, on the queue. */
#define WFCQ_TSAN_RELEASE(a) __tsan_release(a)
#define WFCQ_TSAN_ACQUIRE(a) __tsan_acquire(a)
#else
#define WFCQ_TSAN_RELEASE(a) ((void)0)
#define WFCQ_TSAN_ACQUIRE(a) ((void)0)
#endif

struct wfcq_node {
	struct cds_wfcq_node link;  /* liburcu's */
	struct pb_qthread *owner;   /* the record it goes back to */
	struct ns_link free;        /* owner's free list / return stack */
	struct pb_job job;
};

struct wfcq_chunk {
	struct wfcq_chunk *next;
	struct wfcq_node nodes[];
};

/* A registered thread's record; kept until destroy and reused. */
struct pb_qthread {
	struct ns_stack back PB_ALIGNED;   /* nodes consumers gave back (any thread) */
	/* Owner only from here. */
	struct pb_queue *q PB_ALIGNED;
	struct pb_qthread *next_rec;       /* queue's record list, immutable once published */
	atomic_bool in_use;
	struct ns_link *free;              /* private free list */
	struct wfcq_chunk *chunks;         /* freed at destroy */
	struct cds_wfcq_head phead;        /* private queue: leftovers of a splice */
	struct cds_wfcq_tail ptail;
	struct cds_wfcq_head bhead;        /* push_batch's staging queue */
	struct cds_wfcq_tail btail;
};

struct pb_queue {
	struct cds_wfcq_head head PB_ALIGNED; /* shared: node + dequeue lock */
	struct cds_wfcq_tail tail PB_ALIGNED; /* every producer exchanges this */
	/* Orphans: leftovers of unregistered threads (rare). */
	struct cds_wfcq_head ohead PB_ALIGNED;
	struct cds_wfcq_tail otail;
	pthread_mutex_t omu;                  /* dequeuers of the orphan queue */
	/* Read-mostly. */
	_Atomic(struct pb_qthread *) recs PB_ALIGNED;
	pthread_mutex_t rmu;                  /* record appends */
	unsigned chunk;
	atomic_int closed;
	_Atomic uint64_t allocs;
};

static const struct pb_option wfcq_options[] = {
	{ .name = "chunk", .type = PB_OPT_INT, .min = 1, .max = 65536, .def = 256,
	  .help = "nodes a producer allocates at once when its free list and return stack are empty" },
	{ .name = NULL },
};

static int wfcq_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
		       struct pb_queue **out)
{
	struct pb_optvals defs;
	struct pb_queue *q;

	(void)rc;
	if (!opts) {
		pb_opts_defaults(&defs, wfcq_options);
		opts = &defs;
	}
	if (posix_memalign((void **)&q, PB_CACHELINE, sizeof(*q)))
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	cds_wfcq_init(&q->head, &q->tail);
	cds_wfcq_init(&q->ohead, &q->otail);
	pthread_mutex_init(&q->omu, NULL);
	pthread_mutex_init(&q->rmu, NULL);
	q->chunk = (unsigned)pb_opt_get(opts, "chunk");
	atomic_init(&q->recs, NULL);
	atomic_init(&q->closed, 0);
	atomic_init(&q->allocs, 0);
	*out = q;
	return 0;
}

/* Every thread unregistered: every node is in some chunk; free them all. */
static void wfcq_destroy(struct pb_queue *q)
{
	struct pb_qthread *t, *tn;

	if (!q)
		return;
	for (t = atomic_load_explicit(&q->recs, memory_order_acquire); t; t = tn) {
		tn = t->next_rec;
		for (struct wfcq_chunk *c = t->chunks, *cn; c; c = cn) {
			cn = c->next;
			free(c);
		}
		cds_wfcq_destroy(&t->phead, &t->ptail);
		cds_wfcq_destroy(&t->bhead, &t->btail);
		free(t);
	}
	cds_wfcq_destroy(&q->head, &q->tail);
	cds_wfcq_destroy(&q->ohead, &q->otail);
	pthread_mutex_destroy(&q->omu);
	pthread_mutex_destroy(&q->rmu);
	free(q);
}

static int wfcq_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	struct pb_qthread *t;

	/* Reuse a record left by an unregistered thread: its chunks and the
	 * nodes that come back to it go on serving. */
	for (t = atomic_load_explicit(&q->recs, memory_order_acquire); t; t = t->next_rec) {
		bool f = false;

		/* acquire: we see the previous owner's last writes (its release) */
		if (!atomic_load_explicit(&t->in_use, memory_order_relaxed) &&
		    atomic_compare_exchange_strong_explicit(&t->in_use, &f, true, memory_order_acquire,
							    memory_order_relaxed))
			break;
	}
	if (!t) {
		if (posix_memalign((void **)&t, PB_CACHELINE, sizeof(*t)))
			return -ENOMEM;
		memset(t, 0, sizeof(*t));
		atomic_init(&t->back.top, NULL);
		atomic_init(&t->in_use, true);
		t->q = q;
		cds_wfcq_init(&t->phead, &t->ptail);
		cds_wfcq_init(&t->bhead, &t->btail);
		pthread_mutex_lock(&q->rmu);
		t->next_rec = atomic_load_explicit(&q->recs, memory_order_relaxed);
		/* release: readers of the list see an initialised record */
		atomic_store_explicit(&q->recs, t, memory_order_release);
		pthread_mutex_unlock(&q->rmu);
	}
	*out = t;
	return 0;
}

static void wfcq_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	/* Leftovers go to the orphans (see the header: the splice source is ours
	 * alone and its first link is set, so the blocking splice does not wait;
	 * the destination needs no lock to be appended to). */
	if (!cds_wfcq_empty(&t->phead, &t->ptail)) {
		WFCQ_TSAN_RELEASE(&q->ohead);
		__cds_wfcq_splice_blocking(&q->ohead, &q->otail, &t->phead, &t->ptail);
	}
	/* release: the next owner of the record (acquire CAS) sees its state */
	atomic_store_explicit(&t->in_use, false, memory_order_release);
}

/* A free node of @t: its free list, else what consumers gave back, else a
 * new chunk.  NULL only when malloc fails. */
static struct wfcq_node *wfcq_node_get(struct pb_queue *q, struct pb_qthread *t)
{
	struct ns_link *l = t->free;

	if (PB_UNLIKELY(!l)) {
		l = ns_stack_take(&t->back);
		if (!l) {
			struct wfcq_chunk *c = malloc(sizeof(*c) + q->chunk * sizeof(struct wfcq_node));

			if (!c)
				return NULL;
			atomic_fetch_add_explicit(&q->allocs, 1, memory_order_relaxed); /* statistic */
			c->next = t->chunks;
			t->chunks = c;
			for (unsigned i = 0; i < q->chunk; i++) {
				c->nodes[i].owner = t;
				c->nodes[i].free.next = l;
				l = &c->nodes[i].free;
			}
		}
	}
	t->free = l->next;
	return (struct wfcq_node *)((char *)l - offsetof(struct wfcq_node, free));
}

static int wfcq_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	struct wfcq_node *n;

	/* relaxed: as in ckring.c; the race with close() is the same and is
	 * covered by the pool's closing protocol (core/pool.c) */
	if (PB_UNLIKELY(atomic_load_explicit(&q->closed, memory_order_relaxed)))
		return PB_CLOSED;
	n = wfcq_node_get(q, t);
	if (PB_UNLIKELY(!n))
		return PB_FULL; /* out of memory */
	n->job = *job;
	cds_wfcq_node_init(&n->link);
	PB_DELAY("wfcq.push");
	WFCQ_TSAN_RELEASE(q);
	/* liburcu: the exchange is a full barrier, so the job is written before
	 * the node is reachable */
	cds_wfcq_enqueue(&q->head, &q->tail, &n->link);
	return PB_OK;
}

static size_t wfcq_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
			      size_t n, int *rc)
{
	size_t k;

	if (PB_UNLIKELY(atomic_load_explicit(&q->closed, memory_order_relaxed))) {
		*rc = PB_CLOSED;
		return 0;
	}
	for (k = 0; k < n; k++) {
		struct wfcq_node *nd = wfcq_node_get(q, t);

		if (PB_UNLIKELY(!nd))
			break;
		nd->job = jobs[k];
		cds_wfcq_node_init(&nd->link);
		/* the staging queue is ours: no contention on its tail */
		cds_wfcq_enqueue(&t->bhead, &t->btail, &nd->link);
	}
	if (k) {
		PB_DELAY("wfcq.push_batch");
		WFCQ_TSAN_RELEASE(q);
		/* One exchange of the shared tail for the whole run; in order, so
		 * the batch keeps its order as k pushes would.  The source is ours
		 * and fully linked (the blocking variant cannot wait). */
		__cds_wfcq_splice_blocking(&q->head, &q->tail, &t->bhead, &t->btail);
	}
	*rc = k == n ? PB_OK : PB_FULL; /* short only when malloc failed */
	return k;
}

/* Up to max jobs from @t's private queue; *stuck when a link is pending. */
static size_t wfcq_drain(struct pb_qthread *t, struct pb_job *out, size_t max, bool *stuck)
{
	size_t n = 0;

	*stuck = false;
	while (n < max) {
		struct cds_wfcq_node *l = __cds_wfcq_dequeue_nonblocking(&t->phead, &t->ptail);
		struct wfcq_node *nd;

		if (!l)
			break;
		if (l == CDS_WFCQ_WOULDBLOCK) {
			*stuck = true;
			break;
		}
		nd = caa_container_of(l, struct wfcq_node, link);
		out[n++] = nd->job;
		/* The node is ours alone now (see "Node recycling"): back to its
		 * producer; the release push orders our read of the job before
		 * the producer's next write. */
		ns_stack_push(&nd->owner->back, &nd->free);
	}
	return n;
}

static size_t wfcq_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out, size_t max)
{
	bool stuck;
	size_t n = wfcq_drain(t, out, max, &stuck);

	if (n == max || stuck)
		return n;
	/* Private queue empty: orphans first (older than anything shared). */
	if (PB_UNLIKELY(!cds_wfcq_empty(&q->ohead, &q->otail))) {
		pthread_mutex_lock(&q->omu);
		(void)__cds_wfcq_splice_nonblocking(&t->phead, &t->ptail, &q->ohead, &q->otail);
		pthread_mutex_unlock(&q->omu);
		WFCQ_TSAN_ACQUIRE(&q->ohead);
		WFCQ_TSAN_ACQUIRE(q);
	} else if (!cds_wfcq_empty(&q->head, &q->tail)) {
		cds_wfcq_dequeue_lock(&q->head, &q->tail);
		PB_DELAY("wfcq.splice");
		(void)__cds_wfcq_splice_nonblocking(&t->phead, &t->ptail, &q->head, &q->tail);
		cds_wfcq_dequeue_unlock(&q->head, &q->tail);
		WFCQ_TSAN_ACQUIRE(q);
	} else {
		return n;
	}
	return n + wfcq_drain(t, out + n, max - n, &stuck);
}

/* See ckring_close: a flag checked by push, and the pool's closing protocol. */
static void wfcq_close(struct pb_queue *q)
{
	atomic_store_explicit(&q->closed, 1, memory_order_seq_cst);
}

static void wfcq_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->allocs = atomic_load_explicit(&q->allocs, memory_order_relaxed);
	st->bound = PB_QUEUE_UNBOUNDED;
}

const struct pb_queue_ops pb_backend_wfcq = {
	.abi = PB_ABI_VERSION,
	.name = "wfcq",
	.summary = "liburcu wait-free queue (cds_wfcq): wait-free push, workers splice all queued jobs at once",
	.flags = PB_Q_NATIVE_BATCH,
	.options = wfcq_options,
	.reclaim_excluded = NULL,
	.supported = NULL,
	.create = wfcq_create,
	.destroy = wfcq_destroy,
	.thread_register = wfcq_thread_register,
	.thread_unregister = wfcq_thread_unregister,
	.push = wfcq_push,
	.push_batch = wfcq_push_batch,
	.pop_batch = wfcq_pop_batch,
	.close = wfcq_close,
	.stats = wfcq_stats,
};
