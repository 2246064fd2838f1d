/* SPDX-License-Identifier: MIT */
/*
 * The reclamation contract (safe memory reclamation, SMR).
 *
 * One const ops struct per scheme, the symmetric shape used by Concurrency
 * Kit (ck_hp_*, ck_epoch_*) and the IBR / xenium literature:
 *   domain create/destroy, thread register/unregister, begin/end of an
 *   operation, protect/release of a shared pointer, retire, quiescent point,
 *   offline/online (parking), barrier, stats.
 *
 * Objects that a backend retires start with a struct pb_smr_node (first
 * member), which the scheme owns: a hazard record, an rcu_head, an epoch
 * entry or a reference count.  The backend never touches it.
 *
 * Call discipline (every scheme must accept it; the conformance and torture
 * suites check it):
 *   rt = thread_register(dom)            once per thread, before anything else
 *   begin(rt)                            start of a queue operation
 *     p = protect(rt, slot, &shared)     p is safe to dereference until
 *                                        release(rt, slot, p) or end(rt)
 *     release(rt, slot, p)               optional early release of one slot
 *   end(rt)                              end of the operation: every slot is
 *                                        released
 *   retire(rt, node, fn, ctx)            node is unlinked (no new thread can
 *                                        reach it through shared memory); fn(node, ctx)
 *                                        runs once no thread can still hold it
 *                                        (proven schemes) or when the scheme's
 *                                        heuristic says so (limbo)
 *   quiescent(rt)                        outside begin/end: "I hold nothing"
 *   offline(rt) ... online(rt)           around parking (QSBR needs it)
 *   thread_unregister(dom, rt)           outside begin/end
 *   on_alloc(rt, node)                   (optional) before a node is published,
 *                                        fresh or reused; rt may be NULL
 * retire may be called inside or outside begin/end.  fn may run on any
 * thread, including inside retire, barrier or destroy.
 */
#ifndef PB_RECLAIM_H
#define PB_RECLAIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

#define PB_SMR_NODE_SIZE 64
#define PB_SMR_SLOTS 4 /* protect slots per thread: 0 .. PB_SMR_SLOTS-1 */

/* Scheme-owned header at the start of every retirable object. */
struct pb_smr_node {
	union {
		unsigned char bytes[PB_SMR_NODE_SIZE];
		_Atomic uint64_t words[PB_SMR_NODE_SIZE / 8];
		void *ptrs[PB_SMR_NODE_SIZE / sizeof(void *)];
	} u;
} __attribute__((aligned(16)));

typedef void (*pb_free_fn)(struct pb_smr_node *node, void *ctx);

struct pb_reclaim;  /* a domain: opaque, scheme-defined */
struct pb_rthread;  /* a registered thread's record: opaque */

struct pb_reclaim_stats {
	uint64_t retired;      /* retire() calls */
	uint64_t freed;        /* fn() calls made */
	uint64_t pending;      /* retired - freed now */
	uint64_t pending_peak; /* highest pending seen (approximate for some schemes) */
	uint64_t leaked;       /* limbo: dropped while still referenced (freed at destroy) */
};

/* Capability flags. */
#define PB_RC_PROVEN      0x1u /* fn runs only when no thread can hold the node */
#define PB_RC_NEEDS_QS    0x2u /* threads must call quiescent()/offline() or grace periods stall (QSBR) */
#define PB_RC_TYPE_STABLE 0x4u /* protects by re-validation; relies on nodes never being unmapped
                                  while the domain lives (limbo) */
#define PB_RC_NO_REUSE    0x8u /* never runs fn before destroy (the "none" leak baseline) */
#define PB_RC_HOLD        0x10u /* protection may be held across operations: between
                                   begin and end a thread pins only the nodes in its
                                   slots (hazard pointers), so a backend may leave a
                                   slot set between operations and skip begin/protect/
                                   end while the protected node is still what it
                                   wants; it must end() before offline/unregister */
#define PB_RC_SECTION     0x20u /* the section is the protection (epochs, RCU):
                                   protect() is a plain load, and everything a
                                   thread reaches between begin and end stays
                                   valid until that end, retires made in it
                                   included; so a backend may run several
                                   operations, retires among them, in one
                                   section instead of end()+begin() between them */

struct pb_reclaim_ops {
	unsigned abi;               /* PB_ABI_VERSION */
	const char *name;           /* "hp" */
	const char *summary;        /* one line */
	unsigned flags;             /* PB_RC_* */
	const struct pb_option *options; /* NULL-name terminated, or NULL */
	/* NULL, or a reason string if the scheme cannot run here (reported as skip). */
	const char *(*supported)(void);

	/* Returns 0 or -errno. */
	int (*create)(const struct pb_optvals *opts, struct pb_reclaim **out);
	/* No thread may be registered.  Runs fn for everything still pending. */
	void (*destroy)(struct pb_reclaim *dom);

	int (*thread_register)(struct pb_reclaim *dom, struct pb_rthread **out);
	void (*thread_unregister)(struct pb_reclaim *dom, struct pb_rthread *rt);

	void (*begin)(struct pb_rthread *rt);
	void (*end)(struct pb_rthread *rt);
	/* Load *src, make the pointee safe, and return it (NULL if *src is NULL).
	 * Must be between begin and end.  Acquire semantics on the load. */
	void *(*protect)(struct pb_rthread *rt, unsigned slot, void *_Atomic *src);
	/* Drop the protection taken in @slot on @p.  May be NULL (end() releases). */
	void (*release)(struct pb_rthread *rt, unsigned slot, void *p);
	void (*retire)(struct pb_rthread *rt, struct pb_smr_node *node, pb_free_fn fn, void *ctx);

	/* Optional hooks (NULL allowed; reached through the wrappers below). */
	void (*quiescent)(struct pb_rthread *rt);
	void (*offline)(struct pb_rthread *rt);
	void (*online)(struct pb_rthread *rt);
	/* Run fn for everything retired so far that can be freed now; called by a
	 * registered thread outside begin/end.  Must not wait for threads that are
	 * offline or not in a section. */
	void (*barrier)(struct pb_reclaim *dom, struct pb_rthread *rt);
	void (*stats)(const struct pb_reclaim *dom, struct pb_reclaim_stats *st);

	/* Optional: @node is about to be made reachable (freshly allocated or taken
	 * back from a pool for reuse) by registered thread @rt; @rt is NULL when no
	 * thread is registered (a backend pre-filling its pool at create).  Era
	 * schemes (ibr, he) stamp the node's birth era here; the stamp must happen
	 * before the store that publishes the node.  Writes only the node's
	 * pb_smr_node bytes.  NULL: nothing to do. */
	void (*on_alloc)(struct pb_rthread *rt, struct pb_smr_node *node);
	/* Optional: how many retired nodes one registered thread may keep unfreed
	 * that no other thread's barrier() can free (its private pending list up
	 * to the next scan, plus what its last scan left because others pinned
	 * it), with @threads registered threads and @opts this scheme's options.
	 * A backend with a bounded supply adds threads x this to its own need
	 * (see segmented_check).  PB_RC_HELD_UNBOUNDED: no bound (none never
	 * frees).  NULL: 0 (every retired node can be freed by any barrier once
	 * nobody protects it). */
	unsigned (*held_max)(const struct pb_optvals *opts, unsigned threads);
};

#define PB_RC_HELD_UNBOUNDED 0xffffffffu

/* Wrappers for the optional hooks. */
static inline void pb_reclaim_quiescent(const struct pb_reclaim_ops *o, struct pb_rthread *rt)
{
	if (o->quiescent)
		o->quiescent(rt);
}
static inline void pb_reclaim_offline(const struct pb_reclaim_ops *o, struct pb_rthread *rt)
{
	if (o->offline)
		o->offline(rt);
}
static inline void pb_reclaim_online(const struct pb_reclaim_ops *o, struct pb_rthread *rt)
{
	if (o->online)
		o->online(rt);
}
static inline void pb_reclaim_release(const struct pb_reclaim_ops *o, struct pb_rthread *rt,
				      unsigned slot, void *p)
{
	if (o->release)
		o->release(rt, slot, p);
}
static inline void pb_reclaim_barrier(const struct pb_reclaim_ops *o, struct pb_reclaim *d,
				      struct pb_rthread *rt)
{
	if (o->barrier)
		o->barrier(d, rt);
}
static inline void pb_reclaim_on_alloc(const struct pb_reclaim_ops *o, struct pb_rthread *rt,
				       struct pb_smr_node *node)
{
	if (o->on_alloc)
		o->on_alloc(rt, node);
}
static inline unsigned pb_reclaim_held_max(const struct pb_reclaim_ops *o,
					   const struct pb_optvals *opts, unsigned threads)
{
	return o->held_max ? o->held_max(opts, threads) : 0;
}
void pb_reclaim_get_stats(const struct pb_reclaim_ops *o, const struct pb_reclaim *d,
			  struct pb_reclaim_stats *st);

/* An instance handed to a backend at creation: ops + domain. */
struct pb_reclaim_inst {
	const struct pb_reclaim_ops *ops;
	struct pb_reclaim *dom;
};

#endif
