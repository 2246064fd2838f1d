/* SPDX-License-Identifier: MIT */
/*
 * The queue-backend contract.  One const ops struct per backend
 * (backends/<name>.c), found by name in the registry.  The pool and the
 * harness only ever call these hooks, through the wrappers below for the
 * optional ones.
 *
 * Concurrency contract (checked by tests/conformance for every backend):
 *  - create/destroy: single-threaded; destroy after every thread unregistered.
 *  - thread_register/unregister: by the thread that will use the handle.
 *  - push: any registered thread, concurrently.  Copies *job into queue memory.
 *    Returns PB_OK, PB_FULL (bounded, no room now; nothing queued) or
 *    PB_CLOSED (after close(); nothing queued).  Never blocks.
 *  - pop_batch: any registered thread, concurrently.  Copies up to max jobs
 *    into out[] (caller-owned) and returns how many; 0 means "nothing visible
 *    now".  Each pushed job is returned by exactly one pop_batch.  When the
 *    handle returns, the caller holds no reference into queue memory.
 *  - close: any thread, once.  Later pushes return PB_CLOSED; pops still
 *    drain what was pushed before.  Every push that returned PB_OK happened
 *    before close() returned or is visible to pops after it.  The pool never
 *    calls close() while one of its pushes is in flight (core/pool.c, the
 *    closing protocol), so after close() a pop that finds nothing is final.
 *  - FIFO per producer (flag PB_Q_FIFO): jobs pushed by one thread are popped in
 *    push order (across all consumers' batches, by global pop order).
 */
#ifndef PB_QUEUE_H
#define PB_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "options.h"
#include "pb.h"
#include "reclaim.h"

struct pb_queue;   /* backend-defined */
struct pb_qthread; /* backend-defined per-thread handle (may be a dummy) */

/* Capability flags. */
#define PB_Q_BOUNDED      0x1u /* push can return PB_FULL */
#define PB_Q_RECLAIM      0x2u /* takes a reclaimer (create gets a pb_reclaim_inst) */
#define PB_Q_FIFO         0x4u /* FIFO per producer */
#define PB_Q_NATIVE_BATCH 0x8u /* pop_batch claims a batch in one step */

struct pb_queue_stats {
	uint64_t segs_allocated; /* malloc'd segments (including the pre-filled pool) */
	uint64_t segs_reused;    /* segments taken from the free pool */
	uint64_t segs_retired;   /* segments handed to the reclaimer */
	uint64_t segs_live;      /* allocated and not freed now */
	uint64_t segs_peak;      /* highest segs_live */
	uint64_t allocs;         /* malloc calls made after create (steady-state allocations) */
	/* Most jobs the queue can hold at once with its options:
	 * PB_QUEUE_UNBOUNDED if push never returns PB_FULL for lack of room
	 * (only for lack of memory), 0 if the backend does not say.  Reported
	 * beside every figure: backends compared at their defaults need not be
	 * bounded alike (docs/methodology.md, "Unequal defaults"). */
	uint64_t bound;
};
#define PB_QUEUE_UNBOUNDED UINT64_MAX

/* Threads besides the producers that the harness may push from while the
 * producers are registered: poolbench submits its allocation-count flush
 * jobs (between warm-up and the timed phase) from one thread of its own.
 * Counted whether or not this build has the allocation counters, so that a
 * configuration is refused or run alike in every build. */
#define PB_QUEUE_EXTRA_PUSHERS 1u

struct pb_queue_ops {
	unsigned abi;                    /* PB_ABI_VERSION */
	const char *name;                /* "segmented" */
	const char *summary;             /* one line */
	unsigned flags;                  /* PB_Q_* */
	const struct pb_option *options; /* NULL-name terminated, or NULL */
	/* Reclaimer names this backend refuses (NULL-terminated), or NULL = all. */
	const char *const *reclaim_excluded;
	/*
	 * NULL, or the only reclaimer names this backend accepts (NULL-
	 * terminated; the exclusion list still applies).  For a backend whose
	 * safety argument holds for named schemes only (lfq: liburcu's own
	 * flavours): a scheme registered later is refused until it is listed,
	 * where an exclusion list would let it in unexamined.
	 */
	const char *const *reclaim_only;
	const char *(*supported)(void);  /* NULL or reason it can't run here */

	/* rc is NULL unless flags has PB_Q_RECLAIM.  Returns 0 or -errno. */
	int (*create)(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
		      struct pb_queue **out);
	void (*destroy)(struct pb_queue *q);
	int (*thread_register)(struct pb_queue *q, struct pb_qthread **out);
	void (*thread_unregister)(struct pb_queue *q, struct pb_qthread *t);

	int (*push)(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job);
	size_t (*pop_batch)(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out, size_t max);
	void (*close)(struct pb_queue *q);

	/* Optional (NULL allowed): */
	/*
	 * Push jobs[0..n) in order, as n pushes by this thread would (so per-
	 * producer FIFO holds across calls and within one).  Returns k, how many
	 * were pushed: always a prefix.  k == n: *rc = PB_OK.  k < n: *rc says
	 * why jobs[k] was not: PB_FULL (bounded, no room now; jobs[k..n) are
	 * not queued) or PB_CLOSED.  A backend crosses its own internal
	 * boundaries (segments) itself: a partial batch is never just "a
	 * segment ended".  NULL: pb_queue_push_batch loops over push.
	 */
	size_t (*push_batch)(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
			     size_t n, int *rc);
	/* Caller holds nothing in the queue (a worker between batches). */
	void (*quiescent)(struct pb_queue *q, struct pb_qthread *t);
	/* Around a long wait (parking); the thread calls nothing else in between. */
	void (*offline)(struct pb_queue *q, struct pb_qthread *t);
	void (*online)(struct pb_queue *q, struct pb_qthread *t);
	/*
	 * Blocking pop for "channel" backends (mutex + condition variable): wait
	 * up to timeout_ns for a job, then behave as pop_batch.  Returns 0 on
	 * timeout, or at once when the queue is closed and empty.  When present,
	 * idle pool workers park here instead of on the pool's futex, and push
	 * itself wakes a waiter (the backend owns the wake-up, as a Go channel
	 * does).
	 */
	size_t (*pop_wait)(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out, size_t max,
			   uint64_t timeout_ns);
	/*
	 * NULL, or a check of a whole configuration before anything runs:
	 * options together with the reclaimer (NULL if none) and its options
	 * (rcopts, NULL if none; e.g. for pb_reclaim_held_max), the number of
	 * producer threads (they push) and of pool workers (they pop); the
	 * threads that register with the queue are producers + workers.  Besides
	 * its producers, the caller may push from PB_QUEUE_EXTRA_PUSHERS more
	 * threads while the producers are registered: a limit on pushing threads
	 * must leave room for them.  Returns NULL if the configuration can make
	 * progress, else writes one line into buf (the value, the limit and what
	 * to change, e.g. "seg-supply bounded needs seg-count >= 2 ...") and
	 * returns buf; poolbench refuses the run with it.
	 */
	const char *(*check)(const struct pb_optvals *opts, const struct pb_reclaim_ops *rc,
			     const struct pb_optvals *rcopts, unsigned producers, unsigned workers,
			     char *buf, size_t len);
	/* Approximate number of queued jobs (for reports only). */
	size_t (*size)(struct pb_queue *q);
	void (*stats)(struct pb_queue *q, struct pb_queue_stats *st);
	/* Reclaimer statistics, if it has one. */
	void (*reclaim_stats)(struct pb_queue *q, struct pb_reclaim_stats *st);
};

static inline void pb_queue_quiescent(const struct pb_queue_ops *o, struct pb_queue *q,
				      struct pb_qthread *t)
{
	if (o->quiescent)
		o->quiescent(q, t);
}
static inline void pb_queue_offline(const struct pb_queue_ops *o, struct pb_queue *q,
				    struct pb_qthread *t)
{
	if (o->offline)
		o->offline(q, t);
}
static inline void pb_queue_online(const struct pb_queue_ops *o, struct pb_queue *q,
				   struct pb_qthread *t)
{
	if (o->online)
		o->online(q, t);
}
/* push_batch, or the generic loop over push when the backend has none. */
static inline size_t pb_queue_push_batch(const struct pb_queue_ops *o, struct pb_queue *q,
					 struct pb_qthread *t, const struct pb_job *jobs, size_t n,
					 int *rc)
{
	size_t k;

	if (o->push_batch)
		return o->push_batch(q, t, jobs, n, rc);
	*rc = PB_OK;
	for (k = 0; k < n; k++)
		if ((*rc = o->push(q, t, &jobs[k])) != PB_OK)
			break;
	return k;
}
/* Zeroes *st when the backend has no stats hook. */
void pb_queue_get_stats(const struct pb_queue_ops *o, struct pb_queue *q, struct pb_queue_stats *st);
void pb_queue_get_reclaim_stats(const struct pb_queue_ops *o, struct pb_queue *q,
				struct pb_reclaim_stats *st);

/* True if backend @o accepts reclaimer @rc_name (flag, allow-list, exclusion list). */
int pb_queue_accepts_reclaim(const struct pb_queue_ops *o, const char *rc_name);

#endif
