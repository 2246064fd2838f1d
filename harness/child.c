/* SPDX-License-Identifier: MIT */
/*
 * One measured run, inside a forked child: create the pool, start the
 * producer threads, warm up (untimed), time the submission of every job up to
 * the end of pb_pool_shutdown, validate that every job id ran exactly once,
 * and collect pool / queue / reclaimer / latency / allocation / counter
 * figures into a pb_result (docs/methodology.md says how each is measured).
 *
 * Submission modes: throughput (closed loop, as fast as the pool takes jobs,
 * for --jobs jobs or --duration), latency (closed loop with at most
 * workers x 32 jobs in flight, the seed's latency benchmark) and rate (open
 * loop on an absolute schedule; a job's submit time is its scheduled time, so
 * a late producer does not hide queueing delay: no coordinated omission).
 * The child is a fresh process per (point, rep), so module-level state here
 * is per run.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hist.h"
#include "pb.h"
#include "pool.h"

/* --idle-poll names are indexed by these values (base.c). */
_Static_assert(PB_IDLE_YIELD == 0 && PB_IDLE_RELAX == 1, "pb_idle_poll_name order");

/*
 * A job's argument packs its id (low 32 bits; ids are < 2^31) and, for the
 * first PB_FIRST_MAX jobs of the run in submission order, 1 + that order
 * (high 32 bits; 0 = not among them), so that the latency hook can fill the
 * warm-up milestone array without any shared counter.
 */
#define ARG_ID(a) ((uint64_t)(uintptr_t)(a) & 0xffffffffu)
#define ARG_SEQ(a) ((uint64_t)(uintptr_t)(a) >> 32)
#define PB_FIRST_MAX 1000000u
static const uint64_t first_n[4] = {1, 100, 10000, PB_FIRST_MAX};

/* Per-worker latency record: written only by its worker (in the executed
 * hook), read by producers (done) and, after the join, by the main thread. */
struct wrec {
	_Atomic uint64_t done; /* jobs this worker finished (latency mode bound) */
	char pad[PB_CACHELINE - sizeof(uint64_t)];
	struct pb_hist h;      /* timed-phase latencies of the jobs it ran */
} PB_ALIGNED;

/* Read-only after setup (the threads that read them start after it). */
static const struct pb_workload_ops *g_wl;
static void *g_wl_ctx;
static _Atomic uint8_t *g_seen;
static const struct pb_point *g_pt;
static struct wrec *g_wrec;    /* workers entries when latency is recorded */
static uint64_t *g_first;      /* latency of the run's k-th job; UINT64_MAX: none */
static uint64_t g_first_len;   /* min(PB_FIRST_MAX, warm-up + timed ids) */
static uint64_t g_timed_cap;   /* ids below this are timed-phase jobs */
/* Written by the main thread before a barrier the producers then pass. */
static uint64_t g_warm_start, g_t0, g_deadline;

/* Start time of the job the calling worker is running (job_fn_lat -> hook). */
static _Thread_local uint64_t tls_start;

/*
 * The job: mark the id as run, then run the workload.  A store, not an
 * atomic increment: a lock-prefixed RMW a job cost about 5 ns on the 2-core
 * VM (poolbench calibrate: one uncontended increment, 4.8 ns), the largest
 * single item of a worker's time at submit-batch 64 (perf samples), and it
 * bought nothing the validation needs.  Exactly-once stays exact: the pool
 * counts every job it runs (pb_pool_stats executed: one counter per worker,
 * one writer each), so after the join
 *   lost       = submitted ids whose mark is 0,
 *   duplicated = executed - marked ids - flush jobs,
 * which counts every extra run -- of an id run twice at the same moment on
 * two workers too, where an increment that is not atomic could have lost
 * one (a mark cannot).  Relaxed: the marks are read after
 * pb_pool_shutdown has joined every worker, and join orders a worker's
 * writes before the read.
 */
static int job_fn(void *arg)
{
	uint64_t id = ARG_ID(arg);

	atomic_store_explicit(&g_seen[id], 1, memory_order_relaxed);
	return g_wl->run(g_wl_ctx, id);
}

/* With latency recording: the job's start time is taken first thing; the
 * executed hook, which the pool calls next on the same thread, uses it. */
static int job_fn_lat(void *arg)
{
	tls_start = pb_now_ns();
	return job_fn(arg);
}

/* FAULT_ERR: the same as job_fn, then fail (a job error must make the row invalid). */
static int job_fn_fail(void *arg)
{
	if (g_pt->latency)
		job_fn_lat(arg);
	else
		job_fn(arg);
	return -EIO;
}

/* ---- allocation-count flush round ----------------------------------------- */

/*
 * jemalloc merges a thread's tcache counts into the arena statistics lazily,
 * so before the first allocation snapshot every worker must flush its own
 * tcache.  The main thread submits one flush job at a time and waits until it
 * started; each flush job blocks until all workers ran one, so a worker that
 * holds one cannot take the next: W jobs reach W distinct workers.  A round
 * that does not complete within a second gives up (allocation columns n/a).
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned started, finished, target;
	int give_up;
} fr = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

static void deadline_ts(struct timespec *ts, uint64_t ns_from_now)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ns_from_now / 1000000000u);
	ts->tv_nsec += (long)(ns_from_now % 1000000000u);
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int flush_job(void *arg)
{
	struct timespec until;

	(void)arg;
	pb_alloc_flush_thread();
	deadline_ts(&until, 2000000000u);
	pthread_mutex_lock(&fr.lock);
	fr.started++;
	pthread_cond_broadcast(&fr.cond);
	while (fr.started < fr.target && !fr.give_up)
		if (pthread_cond_timedwait(&fr.cond, &fr.lock, &until) == ETIMEDOUT)
			break;
	fr.finished++;
	pthread_cond_broadcast(&fr.cond);
	pthread_mutex_unlock(&fr.lock);
	return 0;
}

/* Returns 1 if every worker flushed its tcache. */
static int flush_workers(struct pb_pool *pool, unsigned workers)
{
	struct pb_producer *pr = pb_producer_open(pool);
	struct pb_job job = {.fn = flush_job};
	struct timespec until;
	int ok = 1;

	if (!pr)
		return 0;
	fr.target = workers;
	for (unsigned k = 0; k < workers && ok; k++) {
		if (pb_pool_submit_wait(pr, &job) != PB_OK) {
			ok = 0;
			break;
		}
		pb_producer_flush(pr);
		pb_producer_offline(pr); /* waiting: QSBR grace periods go on */
		deadline_ts(&until, 1000000000u);
		pthread_mutex_lock(&fr.lock);
		while (fr.started < k + 1)
			if (pthread_cond_timedwait(&fr.cond, &fr.lock, &until) == ETIMEDOUT) {
				ok = 0;
				fr.give_up = 1;
				pthread_cond_broadcast(&fr.cond);
				break;
			}
		pthread_mutex_unlock(&fr.lock);
		pb_producer_online(pr);
	}
	/* Wait for every flush job that started to return (at most ~2 s). */
	deadline_ts(&until, 3000000000u);
	pthread_mutex_lock(&fr.lock);
	while (fr.finished < fr.started)
		if (pthread_cond_timedwait(&fr.cond, &fr.lock, &until) == ETIMEDOUT)
			break;
	if (fr.finished < fr.started || fr.started < workers)
		ok = 0;
	pthread_mutex_unlock(&fr.lock);
	pb_producer_close(pr);
	return ok;
}

/* ---- latency hook ----------------------------------------------------------- */

/*
 * Called by the pool on the worker thread right after a job ran (and its
 * cleanup).  No shared writes: the histogram and the done counter belong to
 * this worker; a g_first slot is written by the one worker that ran that
 * job, and read only after the workers were joined.
 */
static void on_executed(void *ctx, unsigned worker, const struct pb_job *j, int st)
{
	struct wrec *w = &g_wrec[worker];
	uint64_t a = (uint64_t)(uintptr_t)j->arg;

	(void)ctx;
	if (j->fn == flush_job)
		return;
	if (st != PB_JOB_CANCELLED) {
		uint64_t lat = tls_start > j->tag ? tls_start - j->tag : 0;
		uint64_t seq = ARG_SEQ(a);

		if (ARG_ID(a) < g_timed_cap)
			pb_hist_record(&w->h, lat);
		if (seq)
			g_first[seq - 1] = lat;
	}
	/* relaxed: single writer; a producer reading a stale (lower) count only
	 * waits longer, so the in-flight bound still holds. */
	atomic_store_explicit(&w->done, atomic_load_explicit(&w->done, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static const struct pb_hooks lat_hooks = {.executed = on_executed};

/* ---- producers ---------------------------------------------------------------- */

struct producer {
	pthread_t th;
	struct pb_pool *pool;
	pthread_barrier_t *bar;
	int cpu;
	unsigned idx, nprod;
	uint64_t warm_lo, warm_hi; /* warm-up ids [lo, hi) */
	uint64_t lo, hi;           /* timed ids [lo, hi) */
	uint64_t scan_lo, scan_hi; /* timed ids actually submitted (validation) */
	uint64_t k;                /* jobs submitted so far in this run */
	uint64_t t_last;           /* when the last timed submit returned */
	uint64_t lag_max;          /* rate mode: most a submit was behind its schedule */
	int err;                   /* -errno or a PB_* status; 0 if fine */
	enum pb_fault fault;       /* FAULT_LOSE / FAULT_DUP (tests), else FAULT_NONE */
	const char *what;
	/* jobs submitted, read by the other producers (single writer): per job
	 * in latency mode, at each look for room under --backlog */
	_Atomic uint64_t nsub PB_ALIGNED;
};

static struct producer *g_prods;

static void backoff(unsigned *spins)
{
	if (*spins < 64) {
		pb_cpu_relax();
	} else if (*spins < 256) {
		sched_yield();
	} else {
		struct timespec ts = {0, 20000};

		nanosleep(&ts, NULL);
	}
	(*spins)++;
}

/*
 * Wait until done + limit > submitted (over all producers), and return how
 * many jobs this producer may submit before it looks again: its 1/P share
 * of the room, at least 1.  done is the jobs the workers finished (latency
 * mode: their per-worker records) or took out of the queue (--backlog:
 * pb_pool_taken, published per batch popped, so the queue then holds at
 * most a batch per worker less than computed, never more).  Exact for one
 * producer; with several, a producer may see another's count late (relaxed
 * loads), by at most the share that one was last given, so the bound can
 * be exceeded by up to limit.  The counts are read per share, not per job
 * (one relaxed load per worker and producer each time).  Before it waits
 * the producer flushes (the jobs it queued must reach a worker); while it
 * waits it holds nothing (QSBR grace periods go on) and backs off to
 * sleeps, so an oversubscribed run still progresses.
 */
static uint64_t wait_for_room(struct producer *p, struct pb_producer *pr, uint64_t limit,
			      bool by_taken)
{
	unsigned spins = 0;
	int flushed = 0;

	for (;;) {
		uint64_t done = 0, sub = 0;

		/* relaxed: counters only grow; see above for why staleness is fine. */
		if (by_taken)
			done = pb_pool_taken(p->pool);
		else
			for (unsigned w = 0; w < g_pt->workers; w++)
				done += atomic_load_explicit(&g_wrec[w].done, memory_order_relaxed);
		for (unsigned i = 0; i < p->nprod; i++)
			sub += atomic_load_explicit(&g_prods[i].nsub, memory_order_relaxed);
		if (done + limit > sub) {
			uint64_t room = (done + limit - sub) / p->nprod;

			return room ? room : 1;
		}
		if (!flushed) {
			pb_producer_flush(pr);
			flushed = 1;
		} else {
			pb_producer_quiescent(pr);
		}
		backoff(&spins);
	}
}

/* Latency mode: at most workers x 32 jobs submitted and not finished (the
 * producers publish nsub per job there). */
static uint64_t wait_room(struct producer *p, struct pb_producer *pr)
{
	return wait_for_room(p, pr, (uint64_t)PB_LATENCY_INFLIGHT_PER_WORKER * g_pt->workers, false);
}

/* --backlog B (throughput mode): at most B jobs in the queue, submitted and
 * not yet taken by a worker.  @k: the jobs this producer submitted so far,
 * published here for the others (relaxed: single writer; they read it as a
 * bound, see wait_for_room). */
static uint64_t wait_backlog(struct producer *p, struct pb_producer *pr, uint64_t k)
{
	atomic_store_explicit(&p->nsub, k, memory_order_relaxed);
	return wait_for_room(p, pr, g_pt->backlog, true);
}

/* Rate mode: scheduled time of this producer's j-th job of a phase. */
static uint64_t sched_time(const struct producer *p, uint64_t start, uint64_t j)
{
	unsigned __int128 g = (unsigned __int128)j * p->nprod + p->idx;

	return start + (uint64_t)(g * 1000000000u / g_pt->rate);
}

/* Sleep until shortly before t, then yield until t (timer slack is 1 ns in
 * rate-mode producers). */
#define RATE_SPIN_NS 15000u
static void wait_until(uint64_t t)
{
	for (;;) {
		uint64_t now = pb_now_ns();

		if (now >= t)
			return;
		if (t - now > RATE_SPIN_NS) {
			uint64_t wake = t - RATE_SPIN_NS;
			struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		} else {
			sched_yield();
		}
	}
}

/*
 * Throughput mode with --submit-batch B > 1: ids [lo, hi) in calls of B
 * jobs (pb_pool_submit_batch_wait: what does not fit waits for room, as
 * pb_pool_submit_wait does per job).  The deadline is checked per call.
 */
static int submit_range_batched(struct producer *p, struct pb_producer *pr, uint64_t lo,
				uint64_t hi, uint64_t deadline, uint64_t *next)
{
	struct pb_job jobs[PB_SUBMIT_BATCH_MAX];
	const unsigned b = g_pt->submit_batch;
	uint64_t id = lo, room = g_pt->backlog ? 0 : UINT64_MAX;
	int rc = 0;

	while (id < hi) {
		size_t n = hi - id < b ? (size_t)(hi - id) : b, k;

		if (deadline && pb_now_ns() >= deadline)
			break;
		if (PB_UNLIKELY(room == 0))
			room = wait_backlog(p, pr, p->k);
		if (n > room)
			n = (size_t)room;
		for (size_t i = 0; i < n; i++) {
			uint64_t seq = (p->k + i) * p->nprod + p->idx;

			jobs[i] = (struct pb_job){.fn = job_fn,
				.arg = (void *)(uintptr_t)((id + i) |
					(seq < g_first_len ? (seq + 1) << 32 : 0))};
		}
		k = pb_pool_submit_batch_wait(pr, jobs, n);
		id += k;
		p->k += k;
		if (room != UINT64_MAX)
			room -= k;
		if (k < n) {
			rc = PB_CLOSED;
			break;
		}
	}
	*next = id;
	pb_producer_flush(pr);
	return rc;
}

/*
 * The throughput loop without a deadline or latency stamps (the common
 * sweep point): the same jobs in the same order as submit_range's general
 * loop, with the producer's counters in locals, so that the harness adds
 * as little as it can to the ns/job it measures (under callgrind, p=1 w=1:
 * the general loop ran about 35 instructions a job around the submit).
 */
static int submit_range_plain(struct producer *p, struct pb_producer *pr, uint64_t lo, uint64_t hi,
			      uint64_t *next)
{
	const uint64_t nprod = p->nprod, idx = p->idx, first = g_first_len;
	struct pb_job job = {.fn = job_fn};
	uint64_t id = lo, k = p->k;
	int rc = 0;

	/* --backlog: runs of as many jobs as there is room for, so that the
	 * per-job loop itself has no check (without a bound, one run) */
	while (id < hi && rc == PB_OK) {
		uint64_t end = hi;

		if (g_pt->backlog) {
			uint64_t room = wait_backlog(p, pr, k);

			if (end - id > room)
				end = id + room;
		}
		for (; id < end; id++, k++) {
			const uint64_t seq = k * nprod + idx;

			job.arg = (void *)(uintptr_t)(id | (seq < first ? (seq + 1) << 32 : 0));
			rc = pb_pool_submit_wait(pr, &job);
			if (PB_UNLIKELY(rc != PB_OK))
				break;
		}
	}
	p->k = k;
	*next = id;
	pb_producer_flush(pr);
	return rc;
}

/*
 * Submit ids [lo, hi) in the point's mode; the phase's schedule (rate mode)
 * starts at @start; with @deadline != 0 stop submitting once it passed.
 * *next gets the first id not submitted.  Returns 0 or the submit status.
 */
static int submit_range(struct producer *p, struct pb_producer *pr, uint64_t lo, uint64_t hi,
			uint64_t start, uint64_t deadline, uint64_t *next)
{
	const struct pb_point *pt = g_pt;
	struct pb_job job = {.fn = pt->latency ? job_fn_lat : job_fn};
	uint64_t id, room = 0;
	int rc = 0;

	if (pt->submit_batch > 1 && pt->mode == PB_MODE_THROUGHPUT && !pt->latency)
		return submit_range_batched(p, pr, lo, hi, deadline, next);
	if (pt->mode == PB_MODE_THROUGHPUT && !pt->latency && !deadline)
		return submit_range_plain(p, pr, lo, hi, next);
	for (id = lo; id < hi; id++) {
		uint64_t seq = p->k * p->nprod + p->idx;

		if (deadline && ((id - lo) & 15) == 0 && pb_now_ns() >= deadline)
			break;
		if (pt->mode == PB_MODE_LATENCY && room == 0)
			room = wait_room(p, pr);
		else if (pt->mode == PB_MODE_THROUGHPUT && pt->backlog && room == 0)
			room = wait_backlog(p, pr, p->k);
		if (pt->mode == PB_MODE_RATE) {
			uint64_t t = sched_time(p, start, id - lo);

			uint64_t now = pb_now_ns();

			if (now < t) {
				pb_producer_flush(pr); /* end of a burst: workers must see it */
				pb_producer_offline(pr); /* sleeping: QSBR must not wait for it */
				wait_until(t);
				pb_producer_online(pr);
				now = pb_now_ns();
			}
			if (now - t > p->lag_max)
				p->lag_max = now - t; /* behind schedule: the producer's own delay */
			job.tag = t; /* the intended submit time (coordinated omission) */
		} else if (pt->latency) {
			job.tag = pb_now_ns();
		}
		job.arg = (void *)(uintptr_t)(id | (seq < g_first_len ? (seq + 1) << 32 : 0));
		rc = pb_pool_submit_wait(pr, &job);
		if (PB_UNLIKELY(rc != PB_OK))
			break;
		p->k++;
		if (pt->mode == PB_MODE_THROUGHPUT && pt->backlog)
			room--;
		if (pt->mode == PB_MODE_LATENCY) {
			room--;
			/* relaxed: single writer; readers use it as a bound (wait_room) */
			atomic_store_explicit(&p->nsub, atomic_load_explicit(&p->nsub, memory_order_relaxed) + 1,
					      memory_order_relaxed);
		}
	}
	*next = id;
	pb_producer_flush(pr);
	return rc;
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct pb_producer *pr = NULL;
	uint64_t next;
	int rc = pb_pin_self(p->cpu);

	if (g_pt->mode == PB_MODE_RATE)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake on schedule, not 50 us late */
	if (rc) {
		p->err = rc;
		p->what = "pin producer";
	} else {
		pr = pb_producer_open(p->pool);
		if (!pr) {
			p->err = -ENOMEM;
			p->what = "pb_producer_open";
		}
	}
	pthread_barrier_wait(p->bar); /* A: every producer opened */
	if (pr && (rc = submit_range(p, pr, p->warm_lo, p->warm_hi, g_warm_start, 0, &next))) {
		p->err = rc;
		p->what = "submit (warm-up)";
	}
	pb_alloc_flush_thread(); /* its warm-up allocations count before t0 */
	/* Offline across the barriers: the workers drain the warm-up meanwhile,
	 * and a QSBR grace period they wait for must not wait for us. */
	if (pr)
		pb_producer_offline(pr);
	pthread_barrier_wait(p->bar); /* B: warm-up submitted */
	pthread_barrier_wait(p->bar); /* C: timed phase starts */
	if (pr)
		pb_producer_online(pr);
	p->scan_lo = p->scan_hi = p->lo;
	p->lag_max = 0; /* timed phase only */
	if (pr && !p->err && p->lo < p->hi && p->fault == FAULT_LOSE)
		p->lo++;
	if (pr && !p->err && p->lo < p->hi && p->fault == FAULT_DUP &&
	    (rc = submit_range(p, pr, p->lo, p->lo + 1, g_t0, 0, &next))) {
		p->err = rc;
		p->what = "submit";
	}
	if (pr && !p->err && p->lo < p->hi && p->fault == FAULT_ERR) {
		struct pb_job job = {.fn = job_fn_fail, .arg = (void *)(uintptr_t)p->lo, .tag = pb_now_ns()};

		if ((rc = pb_pool_submit_wait(pr, &job)) != PB_OK) {
			p->err = rc;
			p->what = "submit";
		}
		p->lo++;
		p->k++;
	}
	if (pr && !p->err) {
		rc = submit_range(p, pr, p->lo, p->hi, g_t0, g_deadline, &next);
		p->scan_hi = next;
		if (rc) {
			p->err = rc;
			p->what = "submit";
		}
	}
	p->t_last = pb_now_ns();
	if (pr)
		pb_producer_close(pr);
	return NULL;
}

/* ---- monitor and sampler ------------------------------------------------------ */

/*
 * One thread: every --sample-ms it appends a timeseries line (pending
 * segments of the reclaimer, live segments, submitted/executed) to the run's
 * part file; every 100 ms it copies the progress to the parent's shared page
 * for stall notes and flushes the part file, so a stalled run keeps its
 * samples up to then.  stop() wakes it at once.
 */
struct monitor {
	pthread_t th;
	struct pb_pool *pool;
	struct pb_progress *prog;
	FILE *ts;          /* part file, or NULL */
	unsigned period_ms;
	int has_rc;
	uint64_t start;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop; /* under lock */
};

static void monitor_sample(struct monitor *m, uint64_t now, int progress)
{
	struct pb_pool_stats st;

	pb_pool_stats(m->pool, &st);
	if (progress) {
		/* Relaxed: the parent reads these only after the child is dead. */
		atomic_store_explicit(&m->prog->executed, st.executed, memory_order_relaxed);
		atomic_store_explicit(&m->prog->submitted, st.submitted, memory_order_relaxed);
	}
	if (m->ts) {
		struct pb_queue *q = pb_pool_queue(m->pool);
		const struct pb_queue_ops *qo = pb_pool_queue_ops(m->pool);
		struct pb_queue_stats qs;
		struct pb_reclaim_stats rs;

		pb_queue_get_stats(qo, q, &qs);
		fprintf(m->ts, "%s,%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
			/* relaxed: the phase is only a label for the sample */
			pb_phase_name(atomic_load_explicit(&m->prog->phase, memory_order_relaxed)),
			(double)(now - m->start) / 1e6, st.submitted, st.executed, qs.segs_live,
			qs.segs_allocated);
		if (m->has_rc) {
			pb_queue_get_reclaim_stats(qo, q, &rs);
			fprintf(m->ts, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", rs.pending, rs.retired,
				rs.freed);
		} else {
			fprintf(m->ts, "-,-,-\n");
		}
		if (progress)
			fflush(m->ts);
	}
}

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	uint64_t period = (uint64_t)(m->ts ? m->period_ms : 100) * 1000000u;
	uint64_t every = m->ts ? (m->period_ms >= 100 ? 1 : 100 / m->period_ms) : 1;
	uint64_t k = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		uint64_t next = m->start + (k + 1) * period, now;
		struct timespec until = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};

		pthread_mutex_unlock(&m->lock);
		now = pb_now_ns();
		monitor_sample(m, now, k % every == 0);
		k++;
		/* Skip missed ticks (a descheduled sampler) instead of bursting. */
		while (m->start + (k + 1) * period < now)
			k++;
		next = m->start + (k + 1) * period;
		until.tv_sec = (time_t)(next / 1000000000u);
		until.tv_nsec = (long)(next % 1000000000u);
		pthread_mutex_lock(&m->lock);
		while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static int monitor_start(struct monitor *m, struct pb_pool *pool, struct pb_progress *prog,
			 const struct pb_point *pt)
{
	pthread_condattr_t ca;
	const char *part = pb_ts_part_path();

	m->pool = pool;
	m->prog = prog;
	m->stop = 0;
	m->period_ms = pt->sample_ms;
	m->has_rc = pt->rc != NULL;
	m->ts = part && pt->sample_ms ? fopen(part, "w") : NULL;
	m->start = pb_now_ns();
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&m->th, NULL, monitor_main, m))
		return -EAGAIN;
	pthread_setname_np(m->th, "pb-monitor");
	return 0;
}

static void monitor_stop(struct monitor *m)
{
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->th, NULL);
	if (m->ts) {
		monitor_sample(m, pb_now_ns(), 0); /* the final state */
		fclose(m->ts);
		m->ts = NULL;
	}
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
}

/* ---- the run -------------------------------------------------------------------- */

static void set_phase(struct pb_progress *prog, int ph)
{
	/* Relaxed: read by the parent after the child died (waitpid orders it)
	 * and by the sampler only as a label. */
	atomic_store_explicit(&prog->phase, ph, memory_order_relaxed);
}

static void fail(struct pb_result *res, const char *what, int rc)
{
	res->status = RS_ERROR;
	snprintf(res->note, sizeof(res->note), "%s: %s", what,
		 rc < 0 ? strerror(-rc) : rc == PB_CLOSED ? "pool closed" : "failed");
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

/* Merge the workers' histograms and the milestone array into res. */
static void latency_results(const struct pb_point *pt, uint64_t total_submitted,
			    struct pb_result *res)
{
	struct pb_hist *h = malloc(sizeof(*h));
	uint64_t n = 0;
	unsigned m = 0;

	if (!h)
		return;
	pb_hist_init(h);
	for (unsigned w = 0; w < pt->workers; w++)
		pb_hist_merge(h, &g_wrec[w].h);
	if (h->count) {
		res->have |= PB_RES_LAT;
		res->lat_count = h->count;
		res->lat_p50 = pb_hist_percentile(h, 50);
		res->lat_p90 = pb_hist_percentile(h, 90);
		res->lat_p99 = pb_hist_percentile(h, 99);
		res->lat_p999 = pb_hist_percentile(h, 99.9);
		res->lat_max = h->max;
	}
	/* Milestones: the first N jobs of the run (warm-up first), in order. */
	pb_hist_init(h);
	for (uint64_t s = 0; s < g_first_len && m < 4; s++) {
		if (g_first[s] != UINT64_MAX) {
			pb_hist_record(h, g_first[s]);
			n++;
		}
		while (m < 4 && s + 1 == first_n[m]) {
			if (total_submitted >= first_n[m] && n) {
				res->lat_first[m] = m == 0 ? h->max : pb_hist_percentile(h, 99);
				res->have |= PB_RES_FIRST(m);
			}
			m++;
		}
	}
	free(h);
}

void pb_child_run(const struct pb_point *pt, unsigned rep, enum pb_fault fault,
		  struct pb_progress *prog, struct pb_result *res)
{
	struct pb_pool_config cfg;
	struct pb_pool *pool = NULL;
	struct producer *prods = NULL;
	struct monitor mon;
	pthread_barrier_t bar;
	struct pb_pool_stats ps0, ps1;
	struct pb_queue_stats qs0, qs1;
	struct pb_reclaim_stats rs;
	struct pb_shutdown_report srep;
	struct pb_alloc_snap a0, a1;
	struct pb_perf perf;
	struct rusage ru0, ru1;
	uint64_t total = pt->jobs + pt->warmup, t0, t1, submitted = 0, t_last = 0, seen_runs = 0;
	int alloc_ok = 0;
	unsigned started = 0, have_ctr;
	int rc;

	(void)rep;
	memset(res, 0, sizeof(*res));
	res->magic = PB_RESULT_MAGIC;
	res->status = RS_OK;
	set_phase(prog, PH_CREATE);

	if (pb_ts_part_path())
		unlink(pb_ts_part_path()); /* no stale samples (e.g. of a pilot run) */
	g_pt = pt;
	g_wl = pt->wl;
	g_timed_cap = pt->jobs;
	rc = pt->wl->init(&pt->wlopts, &g_wl_ctx);
	if (rc) {
		fail(res, "workload init", rc);
		return;
	}
	/* One byte per id; with --duration most of it is never touched (the
	 * pages stay unmapped zero pages). */
	g_seen = calloc(total, 1);
	/* A fixed job count touches every byte: fault the pages in now, not
	 * in the timed phase.  Left to the workers' first increments, the
	 * faults cost 5 ns a job at p=1 w=1 (one fault per 4096 ids; a fault
	 * costs about 20 us on the 2-core VM) -- harness cost inside ns/job.
	 * A volatile store per page: a memset of calloc'd memory may be
	 * dropped by the compiler as a no-op. */
	if (g_seen && !pt->duration_ns)
		for (uint64_t i = 0; i < total; i += 4096)
			((volatile uint8_t *)g_seen)[i] = 0;
	prods = calloc(pt->producers, sizeof(*prods));
	g_prods = prods;
	if (!g_seen || !prods) {
		fail(res, "allocating the run", -ENOMEM);
		goto out_wl;
	}
	if (pt->latency) {
		g_first_len = total < PB_FIRST_MAX ? total : PB_FIRST_MAX;
		g_wrec = aligned_alloc(PB_CACHELINE, pt->workers * sizeof(*g_wrec));
		g_first = malloc(g_first_len * sizeof(*g_first));
		if (!g_wrec || !g_first) {
			fail(res, "allocating the latency records", -ENOMEM);
			goto out_wl;
		}
		for (unsigned w = 0; w < pt->workers; w++) {
			atomic_init(&g_wrec[w].done, 0);
			pb_hist_init(&g_wrec[w].h);
		}
		memset(g_first, 0xff, g_first_len * sizeof(*g_first));
	}

	/* Counters first: every thread created from here on inherits them. */
	pb_perf_open(&perf);

	memset(&cfg, 0, sizeof(cfg));
	cfg.queue = pt->q;
	cfg.queue_opts = &pt->qopts;
	cfg.reclaim = pt->rc;
	cfg.reclaim_opts = pt->rc ? &pt->rcopts : NULL;
	cfg.workers = pt->workers;
	cfg.batch_max = pt->batch;
	cfg.coalesce_relax = pt->coalesce;
	cfg.idle_poll = pt->idle_poll; /* PB_IDLE_*, the index of its name (base.c) */
	cfg.wake_min_jobs = pt->wake_min_jobs;
	cfg.flush_ns = pt->flush_us * 1000;
	cfg.worker_cpus = pt->cpus_workers;
	/* No hooks at all unless latency is recorded: the pool then pays one
	 * predicted branch per batch (core/pool.h), the instrumentation-off case. */
	cfg.hooks = pt->latency ? &lat_hooks : NULL;
	rc = pb_pool_create(&cfg, &pool);
	if (rc) {
		fail(res, "pb_pool_create", rc);
		goto out_perf;
	}

	if (monitor_start(&mon, pool, prog, pt)) {
		fail(res, "starting the monitor thread", -EAGAIN);
		goto out_pool;
	}
	pthread_barrier_init(&bar, NULL, pt->producers + 1);
	for (unsigned i = 0; i < pt->producers; i++) {
		struct producer *p = &prods[i];

		p->pool = pool;
		p->bar = &bar;
		p->cpu = pt->cpus_producers[i];
		p->idx = i;
		p->nprod = pt->producers;
		atomic_init(&p->nsub, 0);
		p->warm_lo = pt->jobs + pt->warmup * i / pt->producers;
		p->warm_hi = pt->jobs + pt->warmup * (i + 1) / pt->producers;
		p->lo = pt->jobs * i / pt->producers;
		p->hi = pt->jobs * (i + 1) / pt->producers;
		p->fault = i == 0 && fault >= FAULT_LOSE ? fault : FAULT_NONE;
		if (pthread_create(&p->th, NULL, producer_main, p)) {
			/* Cannot recover the barrier count: report and leave. */
			fail(res, "starting producer threads", -EAGAIN);
			snprintf(res->note, sizeof(res->note), "pthread_create failed for producer %u", i);
			return; /* the process exits; threads die with it */
		}
		{
			char name[16]; /* for profilers: perf report --sort comm */

			snprintf(name, sizeof(name), "pb-p%u", i);
			pthread_setname_np(p->th, name);
		}
		started++;
	}

	g_warm_start = pb_now_ns();
	pthread_barrier_wait(&bar); /* A */
	set_phase(prog, PH_WARMUP);
	pthread_barrier_wait(&bar); /* B */
	/* Wait until the warm-up jobs ran (the flush timer wakes workers for a
	 * tail shorter than wake_min_jobs). */
	for (;;) {
		pb_pool_stats(pool, &ps0);
		if (ps0.submitted >= pt->warmup && ps0.executed + ps0.cancelled >= ps0.submitted)
			break;
		for (unsigned i = 0; i < pt->producers; i++)
			if (prods[i].err)
				goto warm_done;
		sleep_us(200);
	}
warm_done:
	/* Allocation counts: every thread that allocated merges its tcache. */
	if (pb_alloc_available() && flush_workers(pool, pt->workers)) {
		pb_alloc_flush_thread();
		alloc_ok = pb_alloc_snapshot(&a0) == 0;
	}
	pb_pool_stats(pool, &ps0);
	pb_queue_get_stats(pb_pool_queue_ops(pool), pb_pool_queue(pool), &qs0);
	getrusage(RUSAGE_SELF, &ru0);

	set_phase(prog, PH_TIMED);
	pb_perf_start(&perf);
	t0 = pb_now_ns();
	g_t0 = t0;
	/* Rate mode turns a duration into a job count (plan.c): no deadline. */
	g_deadline = pt->duration_ns && pt->mode != PB_MODE_RATE ? t0 + pt->duration_ns : 0;
	pthread_barrier_wait(&bar); /* C */
	if (fault == FAULT_CRASH) {
		struct rlimit nocore = {0, 0};

		setrlimit(RLIMIT_CORE, &nocore); /* an injected crash needs no core file */
		signal(SIGSEGV, SIG_DFL);          /* die by the signal, even under ASan */
		raise(SIGSEGV);
	}
	if (fault == FAULT_STALL)
		for (;;)
			pause();
	for (unsigned i = 0; i < started; i++)
		pthread_join(prods[i].th, NULL);
	set_phase(prog, PH_SHUTDOWN);
	rc = pb_pool_shutdown(pool, 0, &srep);
	t1 = pb_now_ns();
	have_ctr = pb_perf_stop(&perf, res->ctr);
	getrusage(RUSAGE_SELF, &ru1);
	/* Workers and producers have exited (their tcaches merged at exit). */
	if (alloc_ok) {
		pb_alloc_flush_thread();
		alloc_ok = pb_alloc_snapshot(&a1) == 0;
	}
	monitor_stop(&mon);
	if (rc)
		fail(res, "pb_pool_shutdown", rc);
	for (unsigned i = 0; i < pt->producers; i++)
		if (prods[i].err && res->status == RS_OK)
			fail(res, prods[i].what, prods[i].err);

	pb_pool_stats(pool, &ps1);
	pb_queue_get_stats(pb_pool_queue_ops(pool), pb_pool_queue(pool), &qs1);
	pb_queue_get_reclaim_stats(pb_pool_queue_ops(pool), pb_pool_queue(pool), &rs);

	/*
	 * Two clocks (docs/methodology.md).  elapsed_ns, the job phase, ends
	 * when the last job ended: the pool's busy_end_ns, stamped by the
	 * worker's first empty pop after it (within one pop of the end).
	 * e2e_ns adds the fixed cost of shutdown: waking and joining the
	 * workers and the timer, the final drain (0.5-2 ms per run, which at
	 * --jobs 50000 inflated ns/job by 10-20%, by a different amount per
	 * backend).  Without a stamp after t0 (no timed job ran) the job
	 * phase falls back to end to end.
	 */
	res->e2e_ns = t1 - t0;
	res->elapsed_ns = ps1.busy_end_ns > t0 && ps1.busy_end_ns <= t1 ? ps1.busy_end_ns - t0 : t1 - t0;
	/* Validation: every warm-up id, and every timed id each producer
	 * submitted (all of its range unless --duration stopped it early). */
	for (unsigned i = 0; i < pt->producers; i++) {
		struct producer *p = &prods[i];
		uint64_t ranges[2][2] = {{p->warm_lo, p->warm_hi}, {p->scan_lo, p->scan_hi}};

		if (!g_deadline)
			ranges[1][1] = p->hi; /* a fixed count: the whole range must have run */
		for (int r = 0; r < 2; r++)
			for (uint64_t id = ranges[r][0]; id < ranges[r][1]; id++) {
				uint8_t s = atomic_load_explicit(&g_seen[id], memory_order_relaxed);

				seen_runs += s; /* a mark: 0 or 1 (job_fn) */
				if (s == 0)
					res->lost++;
			}
		res->jobs += ranges[1][1] - ranges[1][0];
		submitted += p->warm_hi - p->warm_lo + ranges[1][1] - ranges[1][0];
		if (p->t_last > t_last)
			t_last = p->t_last;
		if (p->lag_max > res->rate_lag_max)
			res->rate_lag_max = p->lag_max;
	}
	/* Every run beyond the first of an id, and every run of an id outside
	 * the ranges (a corrupted id), is a duplicate: the pool's exact count
	 * of runs less the ids marked and the flush jobs (see job_fn).  A job
	 * that ran twice is duplicated = 1. */
	if (ps1.executed > seen_runs + fr.started)
		res->duplicated += ps1.executed - seen_runs - fr.started;
	res->submit_ns = t_last > t0 ? t_last - t0 : 0;
	res->errors = ps1.errors;
	res->allocs = qs1.allocs - qs0.allocs;
	res->segs_allocated = qs1.segs_allocated;
	res->segs_reused = qs1.segs_reused;
	res->segs_retired = qs1.segs_retired;
	res->segs_peak = qs1.segs_peak;
	res->queue_bound = qs1.bound;
	res->pending_end = rs.pending;
	res->pending_peak = rs.pending_peak;
	res->batches = ps1.batches - ps0.batches;
	res->parks = ps1.parks - ps0.parks;
	res->wakes = ps1.wakes - ps0.wakes;
	res->timer_wakes = ps1.timer_wakes - ps0.timer_wakes;
	res->full = ps1.full - ps0.full;
	if (have_ctr & (1u << PB_CTR_CTX_SWITCHES))
		res->ctx_switches = res->ctr[PB_CTR_CTX_SWITCHES];
	else
		res->ctx_switches = (uint64_t)(ru1.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nvcsw - ru0.ru_nivcsw);
	if (!(have_ctr & (1u << PB_CTR_TASK_CLOCK))) {
		/* getrusage fallback: user + system CPU time of all threads */
		uint64_t u0 = (uint64_t)ru0.ru_utime.tv_sec * 1000000000u + (uint64_t)ru0.ru_utime.tv_usec * 1000u +
			      (uint64_t)ru0.ru_stime.tv_sec * 1000000000u + (uint64_t)ru0.ru_stime.tv_usec * 1000u;
		uint64_t u1 = (uint64_t)ru1.ru_utime.tv_sec * 1000000000u + (uint64_t)ru1.ru_utime.tv_usec * 1000u +
			      (uint64_t)ru1.ru_stime.tv_sec * 1000000000u + (uint64_t)ru1.ru_stime.tv_usec * 1000u;

		res->ctr[PB_CTR_TASK_CLOCK] = u1 - u0;
		have_ctr |= 1u << PB_CTR_TASK_CLOCK;
	}
	for (int c = 0; c < PB_CTR_COUNT; c++)
		if (have_ctr & (1u << c))
			res->have |= PB_RES_CTR(c);
	if (alloc_ok) {
		res->have |= PB_RES_ALLOCS;
		res->jm_allocs = a1.allocs - a0.allocs;
		res->jm_bytes = a1.bytes - a0.bytes;
	}
	if (pt->latency)
		latency_results(pt, submitted, res);
	if (res->status == RS_OK && (res->lost || res->duplicated || res->errors)) {
		res->status = RS_INVALID;
		snprintf(res->note, sizeof(res->note),
			 "validation: %llu lost / %llu duplicated / %llu errors of %llu jobs",
			 (unsigned long long)res->lost, (unsigned long long)res->duplicated,
			 (unsigned long long)res->errors, (unsigned long long)submitted);
	}

	set_phase(prog, PH_DESTROY);
	pthread_barrier_destroy(&bar);
out_pool:
	pb_pool_destroy(pool);
out_perf:
	pb_perf_close(&perf);
out_wl:
	pt->wl->fini(g_wl_ctx);
	getrusage(RUSAGE_SELF, &ru1);
	res->peak_rss_kb = (uint64_t)ru1.ru_maxrss;
	free(prods);
	free(g_seen);
	free(g_wrec);
	free(g_first);
	set_phase(prog, PH_DONE);
}
