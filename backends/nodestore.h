/* SPDX-License-Identifier: MIT */
/*
 * Private helpers of the node-based backends (wfcq.c, lfq.c, ckfifo.c): a
 * lock-free return stack and a store of nodes that the reclaimer hands back.
 * Not a plug-in and not part of any contract; static inline, one copy per
 * backend file.
 *
 * Return stack (ns_stack).  Many threads push, one owner takes everything
 * at once.  push is a CAS loop on the top (Treiber); take is an exchange of
 * the top with NULL.  There is no single-node pop, so there is no ABA: the
 * only reader of a node's link is the thread that took the whole list, and a
 * node is pushed again only after that thread let go of it.  It is the pair
 * cds_lfs_push / __cds_lfs_pop_all of liburcu's lfstack, written with C11
 * atomics so that ThreadSanitizer sees the hand-off (liburcu's uatomic is
 * inline asm, invisible to it).
 *
 * Node store (ns_store).  Nodes that a queue retires through the reclaimer
 * contract start with struct ns_node (its struct pb_smr_node first, as the
 * contract asks).  The free function given to the reclaimer, ns_node_free,
 * runs on any thread, possibly after the queue is destroyed (a domain is
 * destroyed after its queue, and `none` frees only then).  So the store is
 * reference counted: one reference for the queue and one per retired node
 * whose free function has not run yet.  Whoever drops the last reference
 * (queue destroy or the last free function) frees the store and the nodes on
 * its stack.  With `recycle` the free function pushes the node on the stack
 * and producers take them back (steady state allocates nothing); without it
 * the node goes to free(), so that AddressSanitizer catches any access that
 * the reclaimer let happen after the grace period.
 */
#ifndef PB_BACKENDS_NODESTORE_H
#define PB_BACKENDS_NODESTORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "pb.h"
#include "reclaim.h"

/* ---- return stack -------------------------------------------------------- */

struct ns_link {
	struct ns_link *next;
};

struct ns_stack {
	struct ns_link *_Atomic top;
};

/* Push one node (any thread). */
static inline void ns_stack_push(struct ns_stack *s, struct ns_link *n)
{
	struct ns_link *old = atomic_load_explicit(&s->top, memory_order_relaxed);

	do
		n->next = old;
	/* release: everything the pusher did to the node (its last read of the
	 * job, its link) happens-before the taker's acquire exchange */
	while (!atomic_compare_exchange_weak_explicit(&s->top, &old, n, memory_order_release,
						      memory_order_relaxed));
}

/* Push a chain first..last (linked through next) at once. */
static inline void ns_stack_push_list(struct ns_stack *s, struct ns_link *first, struct ns_link *last)
{
	struct ns_link *old = atomic_load_explicit(&s->top, memory_order_relaxed);

	do
		last->next = old;
	/* release: as in ns_stack_push */
	while (!atomic_compare_exchange_weak_explicit(&s->top, &old, first, memory_order_release,
						      memory_order_relaxed));
}

/* Take everything (any thread; the list is then the caller's alone). */
static inline struct ns_link *ns_stack_take(struct ns_stack *s)
{
	/* relaxed pre-check: skip the exchange (a write) when empty */
	if (!atomic_load_explicit(&s->top, memory_order_relaxed))
		return NULL;
	/* acquire: pairs with the pushers' release CAS */
	return atomic_exchange_explicit(&s->top, NULL, memory_order_acquire);
}

/* ---- node store ------------------------------------------------------------ */

struct ns_node {
	struct pb_smr_node smr; /* the reclaimer's, first (core/reclaim.h) */
	struct ns_link link;    /* the store's stack and the per-thread caches */
};

struct ns_store {
	struct ns_stack back PB_ALIGNED; /* nodes the reclaimer gave back */
	_Atomic uint64_t refs;           /* 1 (the queue) + retired, not yet freed */
	_Atomic uint64_t allocs;         /* malloc calls after create */
	_Atomic uint64_t retired;
	size_t size;                     /* bytes per node */
	bool recycle;
};

static inline struct ns_store *ns_store_create(size_t node_size, bool recycle)
{
	struct ns_store *st;

	if (posix_memalign((void **)&st, PB_CACHELINE, sizeof(*st)))
		return NULL;
	atomic_init(&st->back.top, NULL);
	atomic_init(&st->refs, 1);
	atomic_init(&st->allocs, 0);
	atomic_init(&st->retired, 0);
	st->size = (node_size + PB_CACHELINE - 1) & ~(size_t)(PB_CACHELINE - 1);
	st->recycle = recycle;
	return st;
}

static inline void ns_free_list(struct ns_link *l)
{
	while (l) {
		struct ns_link *next = l->next;

		free((char *)l - offsetof(struct ns_node, link));
		l = next;
	}
}

/* Drop one reference; the last one frees the store and its stack. */
static inline void ns_store_put(struct ns_store *st)
{
	/* acq_rel: the last dropper sees every push made before the others'
	 * decrements (release), so it frees every node on the stack */
	if (atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1) {
		ns_free_list(atomic_load_explicit(&st->back.top, memory_order_relaxed));
		free(st);
	}
}

/* A new node (cache-line aligned), counted in allocs when @counted. */
static inline struct ns_node *ns_node_alloc(struct ns_store *st, bool counted)
{
	void *p;

	if (posix_memalign(&p, PB_CACHELINE, st->size))
		return NULL;
	if (counted)
		atomic_fetch_add_explicit(&st->allocs, 1, memory_order_relaxed); /* statistic */
	return p;
}

/* A node for a push: the thread's cache, else what came back, else malloc. */
static inline struct ns_node *ns_node_get(struct ns_store *st, struct ns_link **cache)
{
	struct ns_link *l = *cache;

	if (PB_UNLIKELY(!l)) {
		l = ns_stack_take(&st->back);
		if (!l)
			return ns_node_alloc(st, true);
	}
	*cache = l->next;
	return (struct ns_node *)((char *)l - offsetof(struct ns_node, link));
}

/* A thread's cache goes back to the store (unregister). */
static inline void ns_cache_return(struct ns_store *st, struct ns_link **cache)
{
	struct ns_link *first = *cache, *last = first;

	if (!first)
		return;
	while (last->next)
		last = last->next;
	ns_stack_push_list(&st->back, first, last);
	*cache = NULL;
}

/* The free function handed to the reclaimer (any thread, any time). */
static inline void ns_node_free(struct pb_smr_node *node, void *ctx)
{
	struct ns_store *st = ctx;
	struct ns_node *n = (struct ns_node *)node;

	if (st->recycle)
		ns_stack_push(&st->back, &n->link);
	else
		free(n);
	ns_store_put(st);
}

/* Retire @n through the reclaimer; it comes back through ns_node_free. */
static inline void ns_node_retire(struct ns_store *st, const struct pb_reclaim_inst *rc,
				  struct pb_rthread *rt, struct ns_node *n)
{
	/* relaxed: the queue's own reference keeps refs above zero here; the
	 * free function's acq_rel decrement orders the rest */
	atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->retired, 1, memory_order_relaxed); /* statistic */
	rc->ops->retire(rt, &n->smr, ns_node_free, st);
}

#endif
