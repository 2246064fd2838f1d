/* SPDX-License-Identifier: MIT */
/*
 * The worker pool (semantics of azargarov/wpool, in C).
 *
 *  - A fixed number of worker threads drain batches from one queue backend:
 *    a batch is copied out of queue memory, the worker leaves the queue's
 *    protected region (quiescent point), then runs the jobs.
 *  - Any thread may submit through a producer handle it opened.
 *  - Wake policy (the seed's): each producer counts jobs it submitted since its
 *    last wake check; at wake_min_jobs (default 128) it wakes one idle worker.
 *    A flush timer (default 50 us) wakes one idle worker while jobs wait.
 *    (The seed keeps one shared pending counter; poolbench keeps the count per
 *    producer, so submit does no shared read-modify-write: see docs.)
 *  - Idle workers spin briefly (spin_iters) then park on a futex: they never
 *    burn a core while idle.
 *  - Cleanup always runs exactly once; cancellation is checked before a job
 *    runs; a job's error is counted and handed to on_error, never stops a worker.
 *  - Shutdown with a deadline: refuse new submissions, drain, join; on timeout
 *    workers stop taking jobs and the report says how many did not run;
 *    destroy runs their cleanups with PB_JOB_NOT_RUN.
 */
#ifndef PB_POOL_H
#define PB_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "queue.h"
#include "reclaim.h"

struct pb_pool;
struct pb_producer;

/* Metrics hooks.  Called from worker / producer threads; any may be NULL.
 * With no hooks installed (config.hooks == NULL) the pool pays one
 * well-predicted branch per batch and none per job. */
struct pb_hooks {
	void (*queued)(void *ctx, const struct pb_job *job);                 /* producer, after push OK */
	void (*dequeued)(void *ctx, unsigned worker, size_t n);              /* worker, per batch */
	void (*executed)(void *ctx, unsigned worker, const struct pb_job *job, int status);
	void (*error)(void *ctx, unsigned worker, const struct pb_job *job, int err);
	void *ctx;
};

#define PB_IDLE_YIELD 0u
#define PB_IDLE_RELAX 1u

#define PB_COALESCE_BELOW 8u   /* batches smaller than this trigger coalescing */
#define PB_COALESCE_MAX 65536u /* most pb_cpu_relax() a coalescing pause may take */

struct pb_pool_config {
	const struct pb_queue_ops *queue;        /* required */
	const struct pb_optvals *queue_opts;     /* NULL: defaults */
	const struct pb_reclaim_ops *reclaim;    /* required iff queue has PB_Q_RECLAIM */
	const struct pb_optvals *reclaim_opts;   /* NULL: defaults */
	unsigned workers;                        /* >= 1 */
	unsigned batch_max;                      /* jobs per pop_batch; 0: 64 */
	unsigned wake_min_jobs;                  /* 0: 128 */
	uint64_t flush_ns;                       /* 0: 50000 (50 us) */
	unsigned spin_iters;                     /* empty polls before parking; 0: 64 */
	/* What a worker does between two empty polls (docs/pool.md "Parking"):
	 * PB_IDLE_YIELD (0, the default) sched_yield(), PB_IDLE_RELAX one
	 * pb_cpu_relax() (a pause: what the pool did before). */
	unsigned idle_poll;
	/* Batch coalescing (docs/pool.md): after a batch of fewer than
	 * PB_COALESCE_BELOW jobs a worker pauses this many pb_cpu_relax()
	 * before it pops again, so that jobs accumulate; 0: never (the seed). */
	unsigned coalesce_relax;
	const int *worker_cpus;                  /* NULL, or workers entries: OS cpu index or -1 */
	const struct pb_hooks *hooks;            /* NULL: none */
	/* Called for every job that returned non-zero (after counting it). */
	void (*on_error)(void *ctx, const struct pb_job *job, int err);
	void *on_error_ctx;
};

struct pb_pool_stats {
	uint64_t submitted;  /* push returned PB_OK */
	uint64_t executed;   /* fn ran */
	uint64_t errors;     /* fn returned non-zero */
	uint64_t cancelled;
	uint64_t batches;    /* non-empty pop_batch calls */
	uint64_t parks;      /* futex waits by workers */
	uint64_t wakes;      /* wake-ups issued (policy + timer + shutdown) */
	uint64_t timer_wakes;
	uint64_t full;       /* submits that saw PB_FULL */
	/* pb_now_ns() of the latest end of a worker's busy spell: the first
	 * empty pop after it ran a batch (0: none yet).  Once every job has run
	 * and the workers have looked again, this is when the last job ended,
	 * to within one pop; the harness times the job phase up to it. */
	uint64_t busy_end_ns;
};

struct pb_shutdown_report {
	bool timed_out;
	/* Jobs queued and never run; destroy runs exactly these cleanups with
	 * PB_JOB_NOT_RUN.  Exact even with submits racing the shutdown: every
	 * submit that returned PB_OK is executed, cancelled or counted here. */
	uint64_t not_run;
};

/* Returns 0 or -errno (-EINVAL bad config, -ENOMEM, -EAGAIN threads). */
int pb_pool_create(const struct pb_pool_config *cfg, struct pb_pool **out);

/* Open a submit handle for the calling thread (registers it with the queue
 * and reclaimer).  Close it on the same thread, before pb_pool_destroy. */
struct pb_producer *pb_producer_open(struct pb_pool *p);
void pb_producer_close(struct pb_producer *pr);

/* Non-blocking: PB_OK, PB_FULL or PB_CLOSED. */
int pb_pool_submit(struct pb_producer *pr, const struct pb_job *job);
/*
 * Non-blocking batch: queues a prefix of jobs[0..n) in order (the backend's
 * push_batch: one slot reservation per segment run for segmented, one lock
 * hold for mutex; a loop over push otherwise) and returns its length.  When
 * that is less than n, *rc (if not NULL) says why jobs[k] was not queued:
 * PB_FULL or PB_CLOSED; else PB_OK.  Bookkeeping (counters, the wake check,
 * the timer kick) is done once per call: the wake policy then wakes one idle
 * worker per wake_min_jobs jobs of the batch (docs/pool.md).
 */
size_t pb_pool_submit_batch(struct pb_producer *pr, const struct pb_job *jobs, size_t n, int *rc);
/* Queues all n, waiting for room as pb_pool_submit_wait does; returns n, or
 * fewer if the pool closed (jobs past the count were not queued). */
size_t pb_pool_submit_batch_wait(struct pb_producer *pr, const struct pb_job *jobs, size_t n);
/* Blocks (spin, then yield, then short sleeps) while the queue is full:
 * PB_OK or PB_CLOSED. */
int pb_pool_submit_wait(struct pb_producer *pr, const struct pb_job *job);
/* Wake workers now for whatever this producer queued (end of a burst), and
 * report a quiescent state to the reclaimer.  Submit does both every
 * wake_min_jobs jobs.  A producer that stays open but idle for long under a
 * quiescent-state scheme (urcu-qsbr) holds grace periods back: flush, or
 * close the handle. */
void pb_producer_flush(struct pb_producer *pr);

/* Report that this producer holds nothing in the queue (a quiescent state
 * for the reclaimer).  Cheap; call it in loops that wait between submits. */
void pb_producer_quiescent(struct pb_producer *pr);
/* Around a wait with no submit in between (a barrier, a sleep): offline, a
 * quiescent-state reclaimer (urcu-qsbr) does not wait for this producer.
 * Submit only while online.  On the calling (owning) thread. */
void pb_producer_offline(struct pb_producer *pr);
void pb_producer_online(struct pb_producer *pr);

/*
 * Refuse new submissions, let workers drain, and join them.  timeout_ns 0
 * waits forever.  On timeout the workers stop after the job each is running;
 * rep->not_run counts what was left queued.  Idempotent: a second or
 * concurrent caller waits until the first has finished and gets its report.
 */
int pb_pool_shutdown(struct pb_pool *p, uint64_t timeout_ns, struct pb_shutdown_report *rep);

/* Shuts down (no deadline) if needed, runs cleanups of jobs never run, frees. */
void pb_pool_destroy(struct pb_pool *p);

void pb_pool_stats(const struct pb_pool *p, struct pb_pool_stats *st);
/*
 * Jobs the workers have taken out of the queue so far, summed without a
 * lock: each worker publishes its count once per batch, when it pops it, so
 * the sum may lag by a batch per worker and never runs ahead.  For pacing a
 * producer (the harness's --backlog: submitted - taken is what still sits
 * in the queue, at most a batch per worker too high).
 */
uint64_t pb_pool_taken(const struct pb_pool *p);
struct pb_queue *pb_pool_queue(struct pb_pool *p);
const struct pb_queue_ops *pb_pool_queue_ops(const struct pb_pool *p);

#endif
