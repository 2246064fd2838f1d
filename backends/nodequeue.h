/* SPDX-License-Identifier: MIT */
/*
 * What the two library node queues (lfq.c: liburcu's cds_lfq; ckfifo.c: ck's
 * ck_fifo_mpmc) share around the library call: a node per job from a
 * backends/nodestore.h store, every operation inside one begin()..end()
 * section of the queue's reclaimer, dequeued nodes retired through it.
 * Here: the queue's read-mostly part, the per-thread handle, the push loop
 * (the library's enqueue passed in), and the hooks that only forward to the
 * reclaimer or the store, which the backends' ops structs name directly.
 * Not a plug-in and not part of any contract; static inline, one copy per
 * backend file.  Why the section is enough for each library, and which
 * reclaimers it is enough for, is argued in each backend's file header.
 *
 * A backend's struct pb_queue starts with struct nq_base (checked by
 * NQ_BASE_FIRST); its library queue follows on its own cache line.
 */
#ifndef PB_BACKENDS_NODEQUEUE_H
#define PB_BACKENDS_NODEQUEUE_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nodestore.h"
#include "pb.h"
#include "queue.h"
#include "reclaim.h"

/* The option both declare (with their own table's terminator after it). */
#define NQ_OPT_RECYCLE                                                                          \
	{ .name = "recycle", .type = PB_OPT_BOOL, .def = 1,                                     \
	  .help = "on: nodes come back from the reclaimer to a free list; off: malloc per push, " \
		  "free() after the grace period (ASan sees a use after free)" }

/* Read-mostly: set by create, then only read (closed: once, by close). */
struct nq_base {
	struct ns_store *st;
	struct pb_reclaim_inst rc;
	atomic_int closed;
};

#define NQ_BASE_FIRST(queue_type, member)                                  \
	_Static_assert(offsetof(queue_type, member) == 0,                  \
		       "struct nq_base must be the first member of the queue")

struct pb_qthread {
	struct pb_rthread *rt;
	struct ns_link *cache; /* free nodes taken from the store (owner only) */
};

static inline struct nq_base *nq_base_of(struct pb_queue *q)
{
	return (struct nq_base *)q; /* its first member (NQ_BASE_FIRST) */
}

/*
 * create's common part: a zeroed, cache-aligned queue of @qsize bytes whose
 * base holds a store of @node_size-byte nodes (the recycle option of @opts,
 * or of @table's defaults when @opts is NULL) and the reclaimer; 0, -EINVAL
 * (no reclaimer) or -ENOMEM, with nothing left to free.
 */
static inline int nq_create(const struct pb_optvals *opts, const struct pb_option *table,
			    const struct pb_reclaim_inst *rc, size_t qsize, size_t node_size,
			    struct pb_queue **out)
{
	struct pb_optvals defs;
	struct nq_base *b;

	if (!rc || !rc->ops)
		return -EINVAL;
	if (!opts) {
		pb_opts_defaults(&defs, table);
		opts = &defs;
	}
	if (posix_memalign((void **)&b, PB_CACHELINE, qsize))
		return -ENOMEM;
	memset(b, 0, qsize);
	b->st = ns_store_create(node_size, pb_opt_get(opts, "recycle") != 0);
	if (!b->st) {
		free(b);
		return -ENOMEM;
	}
	b->rc = *rc;
	atomic_init(&b->closed, 0);
	*out = (struct pb_queue *)b; /* nq_base is its first member */
	return 0;
}

/* Undo nq_create (a later step of create failed), or end destroy: retired
 * nodes keep the store until their free functions have run. */
static inline void nq_free(struct pb_queue *q)
{
	ns_store_put(nq_base_of(q)->st);
	free(q);
}

static inline int nq_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	struct nq_base *b = nq_base_of(q);
	struct pb_qthread *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	rc = b->rc.ops->thread_register(b->rc.dom, &t->rt);
	if (rc) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

static inline void nq_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	struct nq_base *b = nq_base_of(q);

	b->rc.ops->thread_unregister(b->rc.dom, t->rt);
	ns_cache_return(b->st, &t->cache);
	free(t);
}

/*
 * push and push_batch: jobs in order inside one section; @enqueue copies the
 * job into the node and links it with the library's enqueue (it is inlined:
 * always a backend's static function).  Short only when malloc failed.
 */
static inline __attribute__((always_inline)) size_t
nq_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs, size_t n, int *rc,
	      void (*enqueue)(struct pb_queue *q, struct ns_node *nd, const struct pb_job *job))
{
	struct nq_base *b = nq_base_of(q);
	const struct pb_reclaim_ops *ro = b->rc.ops;
	size_t k;

	/* relaxed: as in ckring.c (the pool's closing protocol covers the race) */
	if (PB_UNLIKELY(atomic_load_explicit(&b->closed, memory_order_relaxed))) {
		*rc = PB_CLOSED;
		return 0;
	}
	ro->begin(t->rt);
	for (k = 0; k < n; k++) {
		struct ns_node *nd = ns_node_get(b->st, &t->cache);

		if (PB_UNLIKELY(!nd))
			break;
		enqueue(q, nd, &jobs[k]);
	}
	ro->end(t->rt);
	*rc = k == n ? PB_OK : PB_FULL;
	return k;
}

/* See ckring_close: a flag checked by push, and the pool's closing protocol. */
static inline void nq_close(struct pb_queue *q)
{
	atomic_store_explicit(&nq_base_of(q)->closed, 1, memory_order_seq_cst);
}

static inline void nq_quiescent(struct pb_queue *q, struct pb_qthread *t)
{
	pb_reclaim_quiescent(nq_base_of(q)->rc.ops, t->rt);
}

static inline void nq_offline(struct pb_queue *q, struct pb_qthread *t)
{
	pb_reclaim_offline(nq_base_of(q)->rc.ops, t->rt);
}

static inline void nq_online(struct pb_queue *q, struct pb_qthread *t)
{
	pb_reclaim_online(nq_base_of(q)->rc.ops, t->rt);
}

/* The store's counters; unbounded.  A backend may add its own mallocs. */
static inline void nq_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	struct nq_base *b = nq_base_of(q);

	memset(st, 0, sizeof(*st));
	/* relaxed: statistics */
	st->allocs = atomic_load_explicit(&b->st->allocs, memory_order_relaxed);
	st->segs_retired = atomic_load_explicit(&b->st->retired, memory_order_relaxed);
	st->bound = PB_QUEUE_UNBOUNDED;
}

static inline void nq_reclaim_stats(struct pb_queue *q, struct pb_reclaim_stats *st)
{
	pb_reclaim_get_stats(nq_base_of(q)->rc.ops, nq_base_of(q)->rc.dom, st);
}

#endif
