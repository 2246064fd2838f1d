/* SPDX-License-Identifier: MIT */
/*
 * The worker pool: fixed workers draining batches from one queue backend,
 * the seed's wake policy (threshold + flush timer), parking on a futex,
 * cancellation, cleanup, error accounting, shutdown with a deadline, and
 * metrics hooks.  See core/pool.h for the contract.
 *
 * Parking protocol (no lost wake-ups).  A worker that found nothing after a
 * bounded spin does:
 *     s = load(wake_seq); idle++ ; fence(seq_cst); n = pop_batch()
 *     if n == 0: futex_wait(wake_seq, s)
 * and a waker does:  wake_seq++ ; futex_wake(1).
 * A producer that wants a worker pushes, issues fence(seq_cst) and reads
 * idle.  By the two fences (store-buffer litmus), either the producer sees
 * idle > 0 and bumps wake_seq (then the worker's futex_wait returns at once
 * because wake_seq != s), or the worker's re-check pop sees the job.
 *
 * The wake policy only wakes at a threshold (wake_min_jobs per producer), so
 * jobs below it can sit in the queue while every worker is parked; the flush
 * timer bounds that wait to about flush_ns.  The timer ticks only while it
 * can matter: it parks when the pool has been empty for a while (producers
 * kick it, with a relaxed read of timer_parked per submit: no fence on the
 * fast path) and while every worker is busy (a worker kicks it when it goes
 * idle, on its already-slow parking path).  The rare race in which the
 * producer's read is stale is bounded by the timer's park timeout
 * (TIMER_PARK_NS), so progress never depends on winning a race.
 *
 * Shutdown never strands a job (the "closing" protocol).  A push that is
 * still in flight when the queue closes (segmented: a slot reserved but not
 * yet stamped; ckring: a ticket not yet committed; any plug-in: whatever its
 * push does before it returns) is invisible to pops for a while, so "an
 * empty pop after close()" alone does not mean the queue is drained.  So:
 *  - each producer raises its own in_push flag around the backend's push and
 *    checks `closed` in between (asymmetric Dekker: the producer pays a
 *    compiler barrier; shutdown pays a membarrier() that turns every such
 *    barrier into a full fence, as liburcu's urcu-memb flavour does;
 *    without membarrier the producer uses a seq_cst fence);
 *  - shutdown sets `closed`, runs that membarrier, waits until every
 *    producer's in_push is 0 (acquire: each finished push happens-before
 *    what follows), then closes the queue and only then sets `qclosed`;
 *  - a worker reads `qclosed` (acquire) BEFORE its pop and exits only if
 *    that earlier read said closed and the pop found nothing.
 * Either a producer saw `closed` (its submit returns PB_CLOSED, nothing
 * queued) or shutdown saw its in_push and waited for the push to finish;
 * so when qclosed is set every job that will ever be queued is published,
 * and a pop that starts after reading qclosed and finds nothing is final.
 * Reading qclosed after the pop instead lost jobs: pop finds nothing, the
 * worker is preempted, producers push, shutdown closes, the worker sees
 * qclosed and exits with those jobs queued.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pb.h"
#include "pool.h"
#include "topo.h"

#define DEFAULT_BATCH 64u
#define MAX_BATCH 65536u
#define DEFAULT_WAKE_MIN 128u
#define DEFAULT_FLUSH_NS 50000ull
#define DEFAULT_SPIN 64u
#define TIMER_IDLE_TICKS 40u           /* empty ticks before the timer parks (~2 ms) */
#define TIMER_PARK_NS 10000000ull      /* bound on a parked timer's sleep (10 ms) */
#define TIMER_WAIT_SUBMIT 1            /* timer_parked: pool empty, a producer kicks */
#define TIMER_WAIT_IDLE 2              /* timer_parked: all workers busy, an idling worker kicks */
#define CHANNEL_WAIT_NS 10000000ull    /* pop_wait timeout per loop (10 ms) */

struct pb_worker {
	/* Written by the worker once per batch, read by stats / the timer. */
	_Atomic uint64_t taken PB_ALIGNED;
	_Atomic uint64_t busy_end_ns; /* first empty pop after its last batch */
	_Atomic uint64_t executed;
	_Atomic uint64_t errors;
	_Atomic uint64_t cancelled;
	_Atomic uint64_t batches;
	_Atomic uint64_t parks;
	struct pb_pool *pool PB_ALIGNED;
	struct pb_qthread *qt;
	struct pb_job *buf;
	pthread_t thread;
	unsigned idx;
	int cpu;
	bool started;
	int reg_rc;                  /* thread_register result, set before `ready` */
};

struct pb_producer {
	_Atomic uint64_t submitted PB_ALIGNED; /* single writer: this producer */
	_Atomic uint64_t full;
	_Atomic int in_push;                   /* 1 around the backend's push (see top) */
	uint64_t unannounced;                  /* private */
	struct pb_pool *pool;
	struct pb_qthread *qt;
	struct pb_producer *next, *prev;       /* pool->producers, under pool->lock */
};

struct pb_pool {
	/* Read-mostly line: read by every submit and every worker loop. */
	const struct pb_queue_ops *qops PB_ALIGNED;
	struct pb_queue *q;
	const struct pb_hooks *hooks;
	unsigned wake_min;
	unsigned batch_max;
	unsigned spin_iters;
	bool idle_relax;             /* idle_poll == PB_IDLE_RELAX */
	unsigned coalesce_relax;
	unsigned nworkers;
	bool channel;                /* backend has pop_wait: it owns wake-ups */
	_Atomic int closed;          /* submissions refused */
	_Atomic int qclosed;         /* queue close() has returned */
	_Atomic int stop;            /* shutdown timed out: stop taking jobs */
	_Atomic int timer_parked;    /* 0 or TIMER_WAIT_* */

	/* Written on every park / unpark. */
	_Atomic unsigned idle PB_ALIGNED;
	_Atomic uint32_t wake_seq PB_ALIGNED; /* worker futex word */
	_Atomic uint32_t running PB_ALIGNED;  /* workers not yet exited; futex word */
	_Atomic uint32_t ready;               /* workers registered (or failed to); futex word */
	_Atomic uint32_t timer_seq PB_ALIGNED;
	_Atomic uint64_t wakes;
	_Atomic uint64_t timer_wakes;
	_Atomic int timer_exit;

	/* Cold. */
	struct pb_reclaim_inst rc PB_ALIGNED;
	const struct pb_reclaim_ops *rops;
	uint64_t flush_ns;
	void (*on_error)(void *ctx, const struct pb_job *job, int err);
	void *on_error_ctx;
	struct pb_worker *workers;
	pthread_t timer;
	bool timer_started;

	pthread_mutex_t lock;        /* producers list, leftovers, shutdown */
	struct pb_producer *producers;
	uint64_t closed_submitted;   /* submitted by producers already closed */
	uint64_t closed_full;
	struct pb_job *leftover;     /* jobs never run: cleaned up by destroy */
	size_t nleftover, capleftover;
	pthread_cond_t shut_cv;      /* a second shutdown waits for the first */
	bool shut, shut_done;
	struct pb_shutdown_report report;
};

/* ---- the closing protocol's fences (see the top of the file) ---- */

/* 1: membarrier(PRIVATE_EXPEDITED) is registered for this process. */
static int g_membarrier;
static pthread_once_t g_membarrier_once = PTHREAD_ONCE_INIT;

static void membarrier_init(void)
{
	g_membarrier = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/* Producer side, between raising in_push and reading `closed`. */
static inline void closing_light_fence(void)
{
	/* relaxed: set once before any pool exists (pthread_once in create) */
	if (PB_LIKELY(g_membarrier))
		atomic_signal_fence(memory_order_seq_cst); /* compiler only; membarrier does the rest */
	else
		atomic_thread_fence(memory_order_seq_cst);
}

/* Shutdown side, between setting `closed` and reading the in_push flags. */
static void closing_heavy_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!g_membarrier || syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return;
	/* A process forked after registering may not inherit it: register
	 * again and retry, else the global (slow, registration-free) command;
	 * producers use only a compiler barrier, so one of them must work. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
		pb_log("membarrier failed after registration: %s (submits racing this shutdown "
		       "may be missed)", strerror(errno));
}

/* ---- futex helpers ---- */

static int futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ns) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
		ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
		tsp = &ts;
	}
	return (int)syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void pool_wake_workers(struct pb_pool *p, int n)
{
	/* seq_cst: pairs with the parking worker's load of wake_seq (see top). */
	atomic_fetch_add(&p->wake_seq, 1);
	atomic_fetch_add_explicit(&p->wakes, 1, memory_order_relaxed); /* statistic */
	futex_wake(&p->wake_seq, n);
}

/* Wake the timer if it sleeps waiting for @why (TIMER_WAIT_*). */
static void pool_kick_timer(struct pb_pool *p, int why)
{
	int expect = why;

	if (atomic_compare_exchange_strong(&p->timer_parked, &expect, 0)) {
		atomic_fetch_add(&p->timer_seq, 1);
		futex_wake(&p->timer_seq, 1);
	}
}

/* ---- accounting ---- */

/* Jobs submitted and not yet taken by a worker (approximate: counters are
 * read one after another without a snapshot; good enough for the timer). */
static uint64_t pool_pending(struct pb_pool *p)
{
	uint64_t sub, taken = 0;

	pthread_mutex_lock(&p->lock);
	sub = p->closed_submitted;
	for (struct pb_producer *pr = p->producers; pr; pr = pr->next)
		sub += atomic_load_explicit(&pr->submitted, memory_order_relaxed);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nworkers; i++)
		taken += atomic_load_explicit(&p->workers[i].taken, memory_order_relaxed);
	return sub > taken ? sub - taken : 0;
}

static void pool_keep_leftovers(struct pb_pool *p, const struct pb_job *jobs, size_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->nleftover + n > p->capleftover) {
		size_t cap = p->capleftover ? p->capleftover : 256;
		struct pb_job *nb;

		while (cap < p->nleftover + n)
			cap *= 2;
		nb = realloc(p->leftover, cap * sizeof(*nb));
		if (!nb) {
			/* Cannot keep them: run the cleanups now rather than lose them. */
			pthread_mutex_unlock(&p->lock);
			for (size_t i = 0; i < n; i++)
				if (jobs[i].cleanup)
					jobs[i].cleanup(jobs[i].arg, PB_JOB_NOT_RUN);
			pb_log("out of memory keeping %zu unrun jobs: cleaned up early", n);
			return;
		}
		p->leftover = nb;
		p->capleftover = cap;
	}
	memcpy(p->leftover + p->nleftover, jobs, n * sizeof(*jobs));
	p->nleftover += n;
	pthread_mutex_unlock(&p->lock);
}

/* ---- workers ---- */

static inline int job_cancelled(const struct pb_job *j)
{
	/* acquire: whatever the canceller wrote before setting the flag is visible
	 * to the cleanup that follows. */
	if (j->cancel && atomic_load_explicit(j->cancel, memory_order_acquire))
		return 1;
	if (j->deadline_ns && pb_now_ns() > j->deadline_ns)
		return 1;
	return 0;
}

/* Runs jobs[0..n-1]; returns how many were handled (less than n only if the
 * pool was told to stop). */
static size_t worker_run_batch(struct pb_pool *p, struct pb_worker *w, const struct pb_job *jobs,
			       size_t n, uint64_t *executed, uint64_t *errors, uint64_t *cancelled)
{
	const struct pb_hooks *h = p->hooks;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct pb_job *j = &jobs[i];
		int st;

		/* relaxed: a hint; shutdown joins the worker afterwards. */
		if (PB_UNLIKELY(atomic_load_explicit(&p->stop, memory_order_relaxed)))
			break;
		if (PB_UNLIKELY(job_cancelled(j))) {
			st = PB_JOB_CANCELLED;
			(*cancelled)++;
		} else {
			st = j->fn(j->arg);
			(*executed)++;
			if (PB_UNLIKELY(st != 0)) {
				(*errors)++;
				if (h && h->error)
					h->error(h->ctx, w->idx, j, st);
				if (p->on_error)
					p->on_error(p->on_error_ctx, j, st);
			}
		}
		if (j->cleanup)
			j->cleanup(j->arg, st);
		if (PB_UNLIKELY(h != NULL) && h->executed)
			h->executed(h->ctx, w->idx, j, st);
	}
	return i;
}

/* A worker's private running totals, published once per batch. */
struct worker_counts {
	uint64_t taken, executed, errors, cancelled, batches, parks;
};

static void worker_publish(struct pb_worker *w, const struct worker_counts *c)
{
	/* relaxed: single writer; readers want eventually-consistent totals. */
	atomic_store_explicit(&w->taken, c->taken, memory_order_relaxed);
	atomic_store_explicit(&w->executed, c->executed, memory_order_relaxed);
	atomic_store_explicit(&w->errors, c->errors, memory_order_relaxed);
	atomic_store_explicit(&w->cancelled, c->cancelled, memory_order_relaxed);
	atomic_store_explicit(&w->batches, c->batches, memory_order_relaxed);
	atomic_store_explicit(&w->parks, c->parks, memory_order_relaxed);
}

/* Handle the n jobs just popped into w->buf.  Returns false when the pool
 * was told to stop (the unrun rest of the batch went to the leftovers). */
static bool worker_handle_batch(struct pb_pool *p, struct pb_worker *w, size_t n,
				struct worker_counts *c)
{
	size_t done;

	c->taken += n;
	c->batches++;
	/* Published now, not after the batch ran: the flush timer reads taken
	 * (pool_pending) and would otherwise wake idle workers for jobs that
	 * this worker already holds (relaxed: single writer, a hint). */
	atomic_store_explicit(&w->taken, c->taken, memory_order_relaxed);
	/* The jobs are copies: nothing in queue memory is held now. */
	pb_queue_quiescent(p->qops, p->q, w->qt);
	if (PB_UNLIKELY(p->hooks != NULL) && p->hooks->dequeued)
		p->hooks->dequeued(p->hooks->ctx, w->idx, n);
	done = worker_run_batch(p, w, w->buf, n, &c->executed, &c->errors, &c->cancelled);
	worker_publish(w, c);
	if (PB_UNLIKELY(done < n)) {
		pool_keep_leftovers(p, w->buf + done, n - done);
		return false;
	}
	return true;
}

static void *worker_main(void *arg)
{
	struct pb_worker *w = arg;
	struct pb_pool *p = w->pool;
	const struct pb_queue_ops *o = p->qops;
	struct pb_queue *q = p->q;
	struct worker_counts c = {0};
	unsigned spins = 0;
	bool busy = false; /* ran a batch since the last empty pop */

	if (w->cpu >= 0 && pb_pin_self(w->cpu) != 0)
		pb_log("worker %u: could not pin to cpu %d", w->idx, w->cpu);
	/* QSBR and hazard-pointer records are per thread: register here. */
	w->reg_rc = o->thread_register(q, &w->qt);
	/* seq_cst RMW publishes reg_rc to the creator, which reads `ready`. */
	atomic_fetch_add(&p->ready, 1);
	futex_wake(&p->ready, INT_MAX);
	if (w->reg_rc) {
		w->qt = NULL;
		goto out;
	}

	for (;;) {
		/* acquire, and BEFORE the pop: exiting on an empty pop is only
		 * right if the queue was already final when the pop began (the
		 * closing protocol at the top). */
		const int closing = atomic_load_explicit(&p->qclosed, memory_order_acquire);
		size_t n = o->pop_batch(q, w->qt, w->buf, p->batch_max);

		/* delay builds: widen the window between the pop and the exit
		 * decision that stranded jobs before the closing protocol */
		PB_DELAY("pool:popped");

		if (n == 0 && busy) {
			/* The end of this worker's busy spell: the harness times the
			 * job phase up to the latest of these.  One clock read per
			 * busy -> idle transition, not per batch. */
			atomic_store_explicit(&w->busy_end_ns, pb_now_ns(), memory_order_relaxed);
			busy = false;
		}
		if (n == 0 && p->channel) {
			/* Channel backends park inside the queue (condition variable). */
			if (closing || atomic_load_explicit(&p->stop, memory_order_relaxed))
				break;
			atomic_fetch_add(&p->idle, 1);
			n = o->pop_wait(q, w->qt, w->buf, p->batch_max, CHANNEL_WAIT_NS);
			atomic_fetch_sub(&p->idle, 1);
			/* Counted as a park: the worker blocked in the channel (or found a
			 * job at once, which an empty pop_batch just before makes rare). */
			c.parks++;
			atomic_store_explicit(&w->parks, c.parks, memory_order_relaxed);
			if (n == 0)
				continue;
		}
		if (n) {
			busy = true;
			if (PB_UNLIKELY(!worker_handle_batch(p, w, n, &c)))
				break;
			spins = 0;
			/*
			 * Coalescing (off unless configured): a small batch means
			 * this worker is right behind the producers, reading stamp
			 * and job lines they are still writing, so each line
			 * crosses between the cores twice.  A short pause lets a
			 * batch accumulate.  It holds nothing (the jobs were
			 * copies: quiescent already) and is bounded, so no job
			 * waits for more than the pause, and parking is
			 * unaffected (an empty pop still counts towards it).
			 */
			if (p->coalesce_relax && n < PB_COALESCE_BELOW)
				for (unsigned k = 0; k < p->coalesce_relax; k++)
					pb_cpu_relax();
			continue;
		}
		/* Nothing visible: final only if the queue was closed before the pop. */
		if (closing || atomic_load_explicit(&p->stop, memory_order_relaxed))
			break;
		if (++spins < p->spin_iters) {
			/*
			 * Between empty polls: yield the CPU (default), or pause.
			 * Yielding is for the CPU this worker may share: with more
			 * threads than CPUs (a producer and a worker pinned to one,
			 * or w=8 on 2 cores) a pausing worker burns the time slice
			 * of the thread it is waiting for, and each poll reads
			 * queue lines the producer is writing.  Alone on its CPU,
			 * sched_yield() returns at once, a ~0.5 us pause that lets
			 * a batch build (the chase, docs/pool.md).  It changes
			 * nothing that is correct: the loop, the count before
			 * parking and the parking protocol are the same.
			 * Measured (2-core VM, scripts/ab.py, paired ratio
			 * yield/relax with 95 % CI, results/2core-vm-20261207/
			 * idle/): segmented+hp w=2 pinned 0.44 [0.24, 0.51], w=8
			 * unpinned 0.20 [0.19, 0.24], ckepoch seg-size 1 w=2 0.83
			 * [0.77, 0.90]; but the bounded rings at w=2 slower
			 * (ckring 1.97 [1.07, 2.55], scq, spmc 1.5), and latency
			 * mode w=1 p50 602 -> 1044 ns.  docs/pool.md, "Parking".
			 * A yield can last a time slice, so the worker first
			 * reports a quiescent state (it holds nothing: its jobs
			 * were copies): without it an idle QSBR reader held
			 * grace periods back for as long, and urcu-qsbr at w=2
			 * kept 8 600 segments pending (with it: 2 100, and 0.37
			 * [0.23, 0.46] the ns/job; results/2core-vm-20261207/
			 * idle-quiescent/).  A no-op for schemes without the hook.
			 */
			if (p->idle_relax) {
				pb_cpu_relax();
			} else {
				pb_queue_quiescent(o, q, w->qt);
				sched_yield();
			}
			continue;
		}
		spins = 0;
		/* Park (protocol at the top of the file). */
		{
			uint32_t s = atomic_load(&p->wake_seq);

			atomic_fetch_add(&p->idle, 1);
			atomic_thread_fence(memory_order_seq_cst);
			/* seq_cst: pairs with timer_park(TIMER_WAIT_IDLE)'s store + idle load. */
			if (atomic_load(&p->timer_parked) == TIMER_WAIT_IDLE)
				pool_kick_timer(p, TIMER_WAIT_IDLE);
			n = o->pop_batch(q, w->qt, w->buf, p->batch_max);
			if (n == 0 && !atomic_load(&p->qclosed) && !atomic_load(&p->stop)) {
				/* Counted as it starts, so that a worker parked now is
				 * in the stats: with idle_poll=yield an idle pool's
				 * workers park once and may stay parked. */
				c.parks++;
				atomic_store_explicit(&w->parks, c.parks, memory_order_relaxed);
				pb_queue_offline(o, q, w->qt);
				futex_wait(&p->wake_seq, s, 0);
				pb_queue_online(o, q, w->qt);
			}
			atomic_fetch_sub(&p->idle, 1);
			/* An empty re-check pop never exits here: the loop goes back
			 * to the top, which reads qclosed before popping again. */
			if (n) {
				busy = true;
				if (PB_UNLIKELY(!worker_handle_batch(p, w, n, &c)))
					break;
			}
		}
	}
	worker_publish(w, &c);
	o->thread_unregister(q, w->qt);
	w->qt = NULL;
out:
	/* seq_cst + wake: the shutdown waiter sleeps on `running`. */
	atomic_fetch_sub(&p->running, 1);
	futex_wake(&p->running, INT_MAX);
	return NULL;
}

/* ---- flush timer ---- */

/* Sleep on timer_seq until kicked (by the party that @why names) or
 * TIMER_PARK_NS passes.  The reason to sleep is re-checked after publishing
 * timer_parked (seq_cst store, then load): against the kicker's seq_cst update
 * (pending / idle) followed by its load of timer_parked, one side sees the
 * other (store-buffer litmus). */
static void timer_park(struct pb_pool *p, int why)
{
	uint32_t s = atomic_load(&p->timer_seq);
	bool sleep;

	atomic_store(&p->timer_parked, why);
	if (why == TIMER_WAIT_SUBMIT)
		sleep = pool_pending(p) == 0;
	else
		sleep = atomic_load(&p->idle) == 0;
	if (sleep && !atomic_load(&p->timer_exit))
		futex_wait(&p->timer_seq, s, TIMER_PARK_NS);
	atomic_store(&p->timer_parked, 0);
}

static void *timer_main(void *arg)
{
	struct pb_pool *p = arg;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
	unsigned empty_ticks = 0;

	/* Default timer slack (50 us) would double a 50 us period. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	ts.tv_sec = (time_t)(p->flush_ns / 1000000000ull);
	ts.tv_nsec = (long)(p->flush_ns % 1000000000ull);

	while (!atomic_load(&p->timer_exit)) {
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		if (atomic_load(&p->timer_exit))
			break;
		if (pool_pending(p) > 0) {
			empty_ticks = 0;
			if (atomic_load(&p->idle) > 0) {
				atomic_fetch_add_explicit(&p->timer_wakes, 1, memory_order_relaxed);
				pool_wake_workers(p, 1);
			} else {
				/* Every worker is busy and will find the jobs itself:
				 * ticking would only steal their CPUs.  A worker that
				 * goes idle kicks us. */
				timer_park(p, TIMER_WAIT_IDLE);
			}
			continue;
		}
		if (++empty_ticks < TIMER_IDLE_TICKS)
			continue;
		/* Empty for a while: park until a producer submits. */
		timer_park(p, TIMER_WAIT_SUBMIT);
		empty_ticks = 0;
	}
	return NULL;
}

/* ---- create / destroy ---- */

int pb_pool_create(const struct pb_pool_config *cfg, struct pb_pool **out)
{
	struct pb_pool *p;
	struct pb_optvals qdef, rdef;
	const struct pb_optvals *qo = cfg->queue_opts, *ro = cfg->reclaim_opts;
	int rc;

	*out = NULL;
	if (!cfg->queue || cfg->workers == 0 || cfg->batch_max > MAX_BATCH ||
	    cfg->coalesce_relax > PB_COALESCE_MAX || cfg->idle_poll > PB_IDLE_RELAX)
		return -EINVAL;
	if ((cfg->queue->flags & PB_Q_RECLAIM) && !cfg->reclaim)
		return -EINVAL;
	if (cfg->reclaim && !(cfg->queue->flags & PB_Q_RECLAIM))
		return -EINVAL;
	if (cfg->reclaim && !pb_queue_accepts_reclaim(cfg->queue, cfg->reclaim->name))
		return -EINVAL;
	p = aligned_alloc(PB_CACHELINE, (sizeof(*p) + PB_CACHELINE - 1) / PB_CACHELINE * PB_CACHELINE);
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	pthread_once(&g_membarrier_once, membarrier_init);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->shut_cv, NULL);
	p->qops = cfg->queue;
	p->hooks = cfg->hooks;
	p->wake_min = cfg->wake_min_jobs ? cfg->wake_min_jobs : DEFAULT_WAKE_MIN;
	p->batch_max = cfg->batch_max ? cfg->batch_max : DEFAULT_BATCH;
	p->spin_iters = cfg->spin_iters ? cfg->spin_iters : DEFAULT_SPIN;
	p->idle_relax = cfg->idle_poll == PB_IDLE_RELAX;
	p->coalesce_relax = cfg->coalesce_relax;
	p->flush_ns = cfg->flush_ns ? cfg->flush_ns : DEFAULT_FLUSH_NS;
	p->nworkers = cfg->workers;
	p->channel = cfg->queue->pop_wait != NULL;
	p->on_error = cfg->on_error;
	p->on_error_ctx = cfg->on_error_ctx;

	if (!qo) {
		pb_opts_defaults(&qdef, cfg->queue->options);
		qo = &qdef;
	}
	if (cfg->reclaim) {
		if (!ro) {
			pb_opts_defaults(&rdef, cfg->reclaim->options);
			ro = &rdef;
		}
		p->rops = cfg->reclaim;
		rc = cfg->reclaim->create(ro, &p->rc.dom);
		if (rc)
			goto fail;
		p->rc.ops = cfg->reclaim;
	}
	rc = cfg->queue->create(qo, cfg->reclaim ? &p->rc : NULL, &p->q);
	if (rc)
		goto fail;

	p->workers = aligned_alloc(PB_CACHELINE, sizeof(*p->workers) * cfg->workers);
	if (!p->workers) {
		rc = -ENOMEM;
		goto fail;
	}
	memset(p->workers, 0, sizeof(*p->workers) * cfg->workers);
	atomic_store(&p->running, cfg->workers);
	for (unsigned i = 0; i < cfg->workers; i++) {
		struct pb_worker *w = &p->workers[i];

		w->pool = p;
		w->idx = i;
		w->cpu = cfg->worker_cpus ? cfg->worker_cpus[i] : -1;
		w->buf = malloc(sizeof(*w->buf) * p->batch_max);
		if (!w->buf) {
			rc = -ENOMEM;
			goto fail_workers;
		}
	}
	for (unsigned i = 0; i < cfg->workers; i++) {
		struct pb_worker *w = &p->workers[i];

		rc = -pthread_create(&w->thread, NULL, worker_main, w);
		if (!rc) {
			/* Named for profilers (perf report --sort comm); 15 chars max. */
			char name[16];

			snprintf(name, sizeof(name), "pb-w%u", i);
			pthread_setname_np(w->thread, name);
		}
		if (rc) {
			/* Threads never started count as exited. */
			atomic_fetch_sub(&p->running, cfg->workers - i);
			atomic_fetch_add(&p->ready, cfg->workers - i);
			goto fail_workers;
		}
		w->started = true;
	}
	/* Wait until every worker has registered with the queue. */
	for (uint32_t r; (r = atomic_load(&p->ready)) < cfg->workers;)
		futex_wait(&p->ready, r, 0);
	for (unsigned i = 0; i < cfg->workers; i++)
		if (p->workers[i].reg_rc) {
			rc = p->workers[i].reg_rc < 0 ? p->workers[i].reg_rc : -EAGAIN;
			goto fail_workers;
		}
	if (!p->channel) {
		rc = -pthread_create(&p->timer, NULL, timer_main, p);
		if (rc)
			goto fail_workers;
		pthread_setname_np(p->timer, "pb-timer");
		p->timer_started = true;
	}
	*out = p;
	return 0;

fail_workers:
	/* Stop whatever started, then free (wait for registration first so no
	 * worker is still inside thread_register). */
	for (uint32_t r; (r = atomic_load(&p->ready)) < cfg->workers;)
		futex_wait(&p->ready, r, 0);
	atomic_store(&p->stop, 1);
	atomic_store(&p->qclosed, 1);
	p->qops->close(p->q);
	pool_wake_workers(p, INT_MAX);
	for (unsigned i = 0; i < cfg->workers; i++) {
		if (p->workers[i].started)
			pthread_join(p->workers[i].thread, NULL);
		free(p->workers[i].buf);
	}
	free(p->workers);
	p->workers = NULL;
fail:
	if (p->q)
		p->qops->destroy(p->q);
	if (p->rc.dom)
		p->rops->destroy(p->rc.dom);
	pthread_cond_destroy(&p->shut_cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return rc;
}

/* Move whatever is still queued (never run) to the leftovers; returns how
 * many.  Called with the workers joined, from the thread calling shutdown or
 * destroy. */
static size_t pool_drain_queue(struct pb_pool *p)
{
	struct pb_qthread *qt;
	struct pb_job buf[64];
	size_t n, total = 0;

	if (p->qops->thread_register(p->q, &qt) != 0) {
		pb_log("shutdown: could not register to drain the queue");
		return 0;
	}
	while ((n = p->qops->pop_batch(p->q, qt, buf, PB_ARRAY_SIZE(buf))) > 0) {
		pool_keep_leftovers(p, buf, n);
		total += n;
	}
	p->qops->thread_unregister(p->q, qt);
	return total;
}

/* Closing protocol, shutdown's side (top of the file): after `closed` is
 * set and the heavy fence ran, wait until no producer is inside a push. */
static void pool_wait_pushes(struct pb_pool *p)
{
	pthread_mutex_lock(&p->lock); /* the list; producers never take it to push */
	for (struct pb_producer *pr = p->producers; pr; pr = pr->next)
		/* acquire: pairs with the release that ends the push, so the
		 * job it queued happens-before our close and qclosed */
		for (unsigned i = 0; atomic_load_explicit(&pr->in_push, memory_order_acquire); i++) {
			if (i < 64)
				pb_cpu_relax();
			else
				sched_yield(); /* a preempted producer: let it finish */
		}
	pthread_mutex_unlock(&p->lock);
}

int pb_pool_shutdown(struct pb_pool *p, uint64_t timeout_ns, struct pb_shutdown_report *rep)
{
	uint64_t deadline = timeout_ns ? pb_now_ns() + timeout_ns : 0;
	struct pb_shutdown_report r = {0};

	pthread_mutex_lock(&p->lock);
	if (p->shut) {
		/* A later (or concurrent) caller waits for the first one: it must
		 * neither get an empty report nor go on to destroy the pool while
		 * the first is still inside. */
		while (!p->shut_done)
			pthread_cond_wait(&p->shut_cv, &p->lock);
		if (rep)
			*rep = p->report;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	p->shut = true;
	pthread_mutex_unlock(&p->lock);

	atomic_store(&p->closed, 1);
	closing_heavy_fence();
	pool_wait_pushes(p);
	p->qops->close(p->q);
	/* release (seq_cst): every push that will ever succeed is complete */
	atomic_store(&p->qclosed, 1);
	pool_wake_workers(p, INT_MAX);

	for (;;) {
		uint32_t run = atomic_load(&p->running);
		uint64_t now;

		if (run == 0)
			break;
		now = pb_now_ns();
		if (deadline && now >= deadline) {
			r.timed_out = true;
			atomic_store(&p->stop, 1);
			pool_wake_workers(p, INT_MAX);
			break;
		}
		futex_wait(&p->running, run, deadline ? deadline - now : 0);
	}
	for (unsigned i = 0; i < p->nworkers; i++)
		if (p->workers[i].started) {
			pthread_join(p->workers[i].thread, NULL);
			p->workers[i].started = false;
		}
	if (p->timer_started) {
		atomic_store(&p->timer_exit, 1);
		atomic_fetch_add(&p->timer_seq, 1);
		futex_wake(&p->timer_seq, 1);
		pthread_join(p->timer, NULL);
		p->timer_started = false;
	}
	pool_drain_queue(p);
	pthread_mutex_lock(&p->lock);
	r.not_run = p->nleftover;
	p->report = r;
	p->shut_done = true;
	if (rep)
		*rep = r;
	pthread_cond_broadcast(&p->shut_cv);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void pb_pool_destroy(struct pb_pool *p)
{
	size_t late;

	if (!p)
		return;
	pb_pool_shutdown(p, 0, NULL);
	/* By the closing protocol nothing can land after shutdown's drain; a
	 * job found here would be missing from the shutdown report, so say so
	 * (a backend that breaks the queue contract's close rule). */
	late = pool_drain_queue(p);
	if (late)
		pb_log("destroy: %zu job%s queued after shutdown's drain (not in its report)", late,
		       late == 1 ? "" : "s");
	for (size_t i = 0; i < p->nleftover; i++)
		if (p->leftover[i].cleanup)
			p->leftover[i].cleanup(p->leftover[i].arg, PB_JOB_NOT_RUN);
	free(p->leftover);
	for (unsigned i = 0; i < p->nworkers; i++)
		free(p->workers[i].buf);
	free(p->workers);
	p->qops->destroy(p->q);
	if (p->rc.dom)
		p->rops->destroy(p->rc.dom);
	pthread_cond_destroy(&p->shut_cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- producers ---- */

struct pb_producer *pb_producer_open(struct pb_pool *p)
{
	struct pb_producer *pr = aligned_alloc(PB_CACHELINE,
		(sizeof(*pr) + PB_CACHELINE - 1) / PB_CACHELINE * PB_CACHELINE);

	if (!pr)
		return NULL;
	memset(pr, 0, sizeof(*pr));
	pr->pool = p;
	if (p->qops->thread_register(p->q, &pr->qt) != 0) {
		free(pr);
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	pr->next = p->producers;
	if (p->producers)
		p->producers->prev = pr;
	p->producers = pr;
	pthread_mutex_unlock(&p->lock);
	return pr;
}

void pb_producer_close(struct pb_producer *pr)
{
	struct pb_pool *p;

	if (!pr)
		return;
	p = pr->pool;
	pb_producer_flush(pr);
	p->qops->thread_unregister(p->q, pr->qt);
	pthread_mutex_lock(&p->lock);
	if (pr->prev)
		pr->prev->next = pr->next;
	else
		p->producers = pr->next;
	if (pr->next)
		pr->next->prev = pr->prev;
	p->closed_submitted += atomic_load_explicit(&pr->submitted, memory_order_relaxed);
	p->closed_full += atomic_load_explicit(&pr->full, memory_order_relaxed);
	pthread_mutex_unlock(&p->lock);
	free(pr);
}

void pb_producer_quiescent(struct pb_producer *pr)
{
	pb_queue_quiescent(pr->pool->qops, pr->pool->q, pr->qt);
}

void pb_producer_offline(struct pb_producer *pr)
{
	pb_queue_offline(pr->pool->qops, pr->pool->q, pr->qt);
}

void pb_producer_online(struct pb_producer *pr)
{
	pb_queue_online(pr->pool->qops, pr->pool->q, pr->qt);
}

/* Flush with up to @nwake workers woken (the wake policy: one per
 * wake_min_jobs jobs announced). */
static void producer_flush_n(struct pb_producer *pr, unsigned nwake)
{
	struct pb_pool *p = pr->pool;
	unsigned idle;

	pr->unannounced = 0;
	/* Between submits the producer holds nothing in the queue: a quiescent
	 * state for the reclaimer.  QSBR needs it, or a producer that never
	 * stops submitting holds every grace period (and every retired segment)
	 * back.  Once per wake_min_jobs submitted jobs, and on every PB_FULL. */
	pb_queue_quiescent(p->qops, p->q, pr->qt);
	if (p->channel)
		return;
	atomic_thread_fence(memory_order_seq_cst); /* push -> idle (see top) */
	idle = atomic_load_explicit(&p->idle, memory_order_relaxed);
	if (idle > 0)
		pool_wake_workers(p, (int)(nwake < idle ? nwake : idle));
}

void pb_producer_flush(struct pb_producer *pr)
{
	producer_flush_n(pr, 1);
}

/*
 * The backend's push or push_batch, inside the closing protocol (top of the
 * file): raise in_push, then read closed.  relaxed store + light fence:
 * against shutdown's closed store + heavy fence + in_push read, one side
 * sees the other.  The release store that lowers in_push publishes the
 * push to shutdown's acquire.
 */
static inline size_t pool_push(struct pb_pool *p, struct pb_producer *pr, const struct pb_job *jobs,
			       size_t n, int *rc)
{
	size_t k;

	atomic_store_explicit(&pr->in_push, 1, memory_order_relaxed);
	closing_light_fence();
	if (PB_UNLIKELY(atomic_load_explicit(&p->closed, memory_order_relaxed))) {
		atomic_store_explicit(&pr->in_push, 0, memory_order_relaxed);
		*rc = PB_CLOSED;
		return 0;
	}
	if (n == 1) {
		*rc = p->qops->push(p->q, pr->qt, jobs);
		k = *rc == PB_OK;
	} else {
		k = pb_queue_push_batch(p->qops, p->q, pr->qt, jobs, n, rc);
	}
	atomic_store_explicit(&pr->in_push, 0, memory_order_release);
	return k;
}

/* Bookkeeping once per submit call, whatever its size: k jobs went in, and
 * rc says why the rest did not. */
static inline void pool_after_push(struct pb_pool *p, struct pb_producer *pr,
				   const struct pb_job *jobs, size_t k, int rc)
{
	if (PB_LIKELY(k)) {
		/* relaxed: single writer; read approximately by the timer. */
		atomic_store_explicit(&pr->submitted,
				      atomic_load_explicit(&pr->submitted, memory_order_relaxed) + k,
				      memory_order_relaxed);
		if (PB_UNLIKELY(p->hooks != NULL) && p->hooks->queued)
			for (size_t i = 0; i < k; i++)
				p->hooks->queued(p->hooks->ctx, &jobs[i]);
		if (PB_UNLIKELY(atomic_load_explicit(&p->timer_parked, memory_order_relaxed) ==
				TIMER_WAIT_SUBMIT))
			pool_kick_timer(p, TIMER_WAIT_SUBMIT);
		pr->unannounced += k;
		if (PB_UNLIKELY(pr->unannounced >= p->wake_min))
			producer_flush_n(pr, (unsigned)(pr->unannounced / p->wake_min));
	}
	if (PB_UNLIKELY(rc == PB_FULL)) {
		atomic_store_explicit(&pr->full, atomic_load_explicit(&pr->full,
				      memory_order_relaxed) + 1, memory_order_relaxed);
		/* Someone must drain: make sure a worker is awake. */
		if (!p->channel)
			pb_producer_flush(pr);
	}
}

int pb_pool_submit(struct pb_producer *pr, const struct pb_job *job)
{
	struct pb_pool *p = pr->pool;
	int rc;
	size_t k = pool_push(p, pr, job, 1, &rc);

	if (PB_LIKELY(k) || rc == PB_FULL)
		pool_after_push(p, pr, job, k, rc);
	return rc;
}

size_t pb_pool_submit_batch(struct pb_producer *pr, const struct pb_job *jobs, size_t n, int *rcp)
{
	struct pb_pool *p = pr->pool;
	int rc = PB_OK;
	size_t k = n ? pool_push(p, pr, jobs, n, &rc) : 0;

	if (PB_LIKELY(k) || rc == PB_FULL)
		pool_after_push(p, pr, jobs, k, rc);
	if (rcp)
		*rcp = rc;
	return k;
}

/* Waiting for room: spin, then yield, then 50 us sleeps, holding nothing. */
static void submit_backoff(struct pb_producer *pr, unsigned *tries)
{
	/* Waiting for room: hold nothing (QSBR grace periods go on). */
	pb_producer_quiescent(pr);
	if (*tries < 64) {
		pb_cpu_relax();
	} else if (*tries < 128) {
		sched_yield();
	} else {
		struct timespec ts = {0, 50000};

		nanosleep(&ts, NULL);
	}
	(*tries)++;
}

int pb_pool_submit_wait(struct pb_producer *pr, const struct pb_job *job)
{
	unsigned tries = 0;

	for (;;) {
		int rc = pb_pool_submit(pr, job);

		if (rc != PB_FULL)
			return rc;
		submit_backoff(pr, &tries);
	}
}

size_t pb_pool_submit_batch_wait(struct pb_producer *pr, const struct pb_job *jobs, size_t n)
{
	unsigned tries = 0;
	size_t done = 0;

	while (done < n) {
		int rc;
		size_t k = pb_pool_submit_batch(pr, jobs + done, n - done, &rc);

		done += k;
		if (rc == PB_CLOSED)
			break;
		if (rc == PB_FULL) {
			/* Progress restarts the backoff, as a new per-job
			 * submit_wait would: a ring that drains a few slots at a
			 * time must not send the producer into 50 us sleeps. */
			if (k)
				tries = 0;
			submit_backoff(pr, &tries);
		}
	}
	return done;
}

/* ---- stats ---- */

void pb_pool_stats(const struct pb_pool *cp, struct pb_pool_stats *st)
{
	struct pb_pool *p = (struct pb_pool *)cp; /* the lock is not part of the value */
	uint64_t busy_end;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->lock);
	st->submitted = p->closed_submitted;
	st->full = p->closed_full;
	for (struct pb_producer *pr = p->producers; pr; pr = pr->next) {
		st->submitted += atomic_load_explicit(&pr->submitted, memory_order_relaxed);
		st->full += atomic_load_explicit(&pr->full, memory_order_relaxed);
	}
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nworkers; i++) {
		const struct pb_worker *w = &p->workers[i];

		st->executed += atomic_load_explicit(&w->executed, memory_order_relaxed);
		st->errors += atomic_load_explicit(&w->errors, memory_order_relaxed);
		st->cancelled += atomic_load_explicit(&w->cancelled, memory_order_relaxed);
		st->batches += atomic_load_explicit(&w->batches, memory_order_relaxed);
		st->parks += atomic_load_explicit(&w->parks, memory_order_relaxed);
		busy_end = atomic_load_explicit(&w->busy_end_ns, memory_order_relaxed);
		if (busy_end > st->busy_end_ns)
			st->busy_end_ns = busy_end;
	}
	st->wakes = atomic_load_explicit(&p->wakes, memory_order_relaxed);
	st->timer_wakes = atomic_load_explicit(&p->timer_wakes, memory_order_relaxed);
}

uint64_t pb_pool_taken(const struct pb_pool *p)
{
	uint64_t taken = 0;

	/* relaxed: each count only grows, a single writer each (worker_handle_batch) */
	for (unsigned i = 0; i < p->nworkers; i++)
		taken += atomic_load_explicit(&p->workers[i].taken, memory_order_relaxed);
	return taken;
}

struct pb_queue *pb_pool_queue(struct pb_pool *p)
{
	return p->q;
}

const struct pb_queue_ops *pb_pool_queue_ops(const struct pb_pool *p)
{
	return p->qops;
}
