/* SPDX-License-Identifier: MIT */
/*
 * One measured run, inside a forked child: create the pool, start the
 * producer threads, warm up (untimed), time the submission of every job up to
 * the end of pb_pool_shutdown, validate that every job id ran exactly once,
 * and collect pool / queue / reclaimer / rusage figures into a pb_result.
 * The child is a fresh process per (point, rep), so module-level state here
 * is per run.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"
#include "pool.h"

/* Read-only after setup; the job function runs on worker threads. */
static const struct pb_workload_ops *g_wl;
static void *g_wl_ctx;
static _Atomic uint8_t *g_seen;

/*
 * The job: count the id, then run the workload.  Relaxed suffices: the counts
 * are only read after pb_pool_shutdown has joined every worker, and thread
 * join orders all of a worker's writes before the read.  (A count wraps at
 * 256 runs of one id, which then reads as lost: still invalid.)
 */
static int job_fn(void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;

	atomic_fetch_add_explicit(&g_seen[id], 1, memory_order_relaxed);
	return g_wl->run(g_wl_ctx, id);
}

/* FAULT_ERR: the same as job_fn, then fail (a job error must make the row invalid). */
static int job_fn_fail(void *arg)
{
	job_fn(arg);
	return -EIO;
}

struct producer {
	pthread_t th;
	struct pb_pool *pool;
	pthread_barrier_t *bar;
	int cpu;
	uint64_t warm_lo, warm_hi; /* warm-up ids [lo, hi) */
	uint64_t lo, hi;           /* timed ids [lo, hi) */
	int err;                   /* -errno or a PB_* status; 0 if fine */
	enum pb_fault fault;       /* FAULT_LOSE / FAULT_DUP (tests), else FAULT_NONE */
	const char *what;
};

static int submit_range(struct pb_producer *pr, uint64_t lo, uint64_t hi)
{
	struct pb_job job = {.fn = job_fn};

	for (uint64_t id = lo; id < hi; id++) {
		int rc;

		job.arg = (void *)(uintptr_t)id;
		rc = pb_pool_submit_wait(pr, &job);
		if (PB_UNLIKELY(rc != PB_OK))
			return rc;
	}
	pb_producer_flush(pr);
	return 0;
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct pb_producer *pr = NULL;
	int rc = pb_pin_self(p->cpu);

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
	if (pr && (rc = submit_range(pr, p->warm_lo, p->warm_hi))) {
		p->err = rc;
		p->what = "submit (warm-up)";
	}
	pthread_barrier_wait(p->bar); /* B: warm-up submitted */
	pthread_barrier_wait(p->bar); /* C: timed phase starts */
	if (pr && !p->err && p->lo < p->hi && p->fault == FAULT_LOSE)
		p->lo++;
	if (pr && !p->err && p->lo < p->hi && p->fault == FAULT_DUP &&
	    (rc = submit_range(pr, p->lo, p->lo + 1))) {
		p->err = rc;
		p->what = "submit";
	}
	if (pr && !p->err && p->lo < p->hi && p->fault == FAULT_ERR) {
		struct pb_job job = {.fn = job_fn_fail, .arg = (void *)(uintptr_t)p->lo};

		if ((rc = pb_pool_submit_wait(pr, &job)) != PB_OK) {
			p->err = rc;
			p->what = "submit";
		}
		p->lo++;
	}
	if (pr && !p->err && (rc = submit_range(pr, p->lo, p->hi))) {
		p->err = rc;
		p->what = "submit";
	}
	if (pr)
		pb_producer_close(pr);
	return NULL;
}

/* Low-rate progress reporter (every 100 ms) for the parent's stall notes;
 * stop() wakes it at once so that it never delays the end of a run. */
struct monitor {
	pthread_t th;
	struct pb_pool *pool;
	struct pb_progress *prog;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop; /* under lock */
};

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	struct timespec until;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct pb_pool_stats st;

		pthread_mutex_unlock(&m->lock);
		pb_pool_stats(m->pool, &st);
		/* Relaxed: the parent reads these only after the child is dead. */
		atomic_store_explicit(&m->prog->executed, st.executed, memory_order_relaxed);
		atomic_store_explicit(&m->prog->submitted, st.submitted, memory_order_relaxed);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&m->lock);
		while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static int monitor_start(struct monitor *m, struct pb_pool *pool, struct pb_progress *prog)
{
	pthread_condattr_t ca;

	m->pool = pool;
	m->prog = prog;
	m->stop = 0;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	return pthread_create(&m->th, NULL, monitor_main, m) ? -EAGAIN : 0;
}

static void monitor_stop(struct monitor *m)
{
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->th, NULL);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
}

static void set_phase(struct pb_progress *prog, int ph)
{
	/* Relaxed: read by the parent after the child died (waitpid orders it). */
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
	struct rusage ru0, ru1;
	uint64_t total = pt->jobs + pt->warmup, t0, t1;
	unsigned started = 0;
	int rc;

	(void)rep;
	memset(res, 0, sizeof(*res));
	res->magic = PB_RESULT_MAGIC;
	res->status = RS_OK;
	set_phase(prog, PH_CREATE);

	g_wl = pt->wl;
	rc = pt->wl->init(&pt->wlopts, &g_wl_ctx);
	if (rc) {
		fail(res, "workload init", rc);
		return;
	}
	g_seen = calloc(total, 1);
	prods = calloc(pt->producers, sizeof(*prods));
	if (!g_seen || !prods) {
		fail(res, "allocating the run", -ENOMEM);
		goto out_wl;
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.queue = pt->q;
	cfg.queue_opts = &pt->qopts;
	cfg.reclaim = pt->rc;
	cfg.reclaim_opts = pt->rc ? &pt->rcopts : NULL;
	cfg.workers = pt->workers;
	cfg.batch_max = pt->batch;
	cfg.wake_min_jobs = pt->wake_min_jobs;
	cfg.flush_ns = pt->flush_us * 1000;
	cfg.worker_cpus = pt->cpus_workers;
	rc = pb_pool_create(&cfg, &pool);
	if (rc) {
		fail(res, "pb_pool_create", rc);
		goto out_wl;
	}

	if (monitor_start(&mon, pool, prog)) {
		fail(res, "starting the monitor thread", -EAGAIN);
		goto out_pool;
	}
	pthread_barrier_init(&bar, NULL, pt->producers + 1);
	for (unsigned i = 0; i < pt->producers; i++) {
		struct producer *p = &prods[i];

		p->pool = pool;
		p->bar = &bar;
		p->cpu = pt->cpus_producers[i];
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
		started++;
	}

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
	pb_queue_get_stats(pb_pool_queue_ops(pool), pb_pool_queue(pool), &qs0);
	getrusage(RUSAGE_SELF, &ru0);

	set_phase(prog, PH_TIMED);
	t0 = pb_now_ns();
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
	getrusage(RUSAGE_SELF, &ru1);
	monitor_stop(&mon);
	if (rc)
		fail(res, "pb_pool_shutdown", rc);
	for (unsigned i = 0; i < pt->producers; i++)
		if (prods[i].err && res->status == RS_OK)
			fail(res, prods[i].what, prods[i].err);

	pb_pool_stats(pool, &ps1);
	pb_queue_get_stats(pb_pool_queue_ops(pool), pb_pool_queue(pool), &qs1);
	pb_queue_get_reclaim_stats(pb_pool_queue_ops(pool), pb_pool_queue(pool), &rs);

	res->elapsed_ns = t1 - t0;
	for (uint64_t id = 0; id < total; id++) {
		uint8_t s = atomic_load_explicit(&g_seen[id], memory_order_relaxed);

		if (s == 0)
			res->lost++;
		else if (s > 1)
			res->duplicated++;
	}
	res->errors = ps1.errors;
	res->allocs = qs1.allocs - qs0.allocs;
	res->segs_allocated = qs1.segs_allocated;
	res->segs_reused = qs1.segs_reused;
	res->segs_retired = qs1.segs_retired;
	res->segs_peak = qs1.segs_peak;
	res->pending_end = rs.pending;
	res->pending_peak = rs.pending_peak;
	res->batches = ps1.batches - ps0.batches;
	res->parks = ps1.parks - ps0.parks;
	res->wakes = ps1.wakes - ps0.wakes;
	res->timer_wakes = ps1.timer_wakes - ps0.timer_wakes;
	res->full = ps1.full - ps0.full;
	res->ctx_switches = (uint64_t)(ru1.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nvcsw - ru0.ru_nivcsw);
	if (res->status == RS_OK && (res->lost || res->duplicated || res->errors)) {
		res->status = RS_INVALID;
		snprintf(res->note, sizeof(res->note),
			 "validation: %llu lost / %llu duplicated / %llu errors of %llu jobs",
			 (unsigned long long)res->lost, (unsigned long long)res->duplicated,
			 (unsigned long long)res->errors, (unsigned long long)total);
	}

	set_phase(prog, PH_DESTROY);
	pthread_barrier_destroy(&bar);
out_pool:
	pb_pool_destroy(pool);
out_wl:
	pt->wl->fini(g_wl_ctx);
	getrusage(RUSAGE_SELF, &ru1);
	res->peak_rss_kb = (uint64_t)ru1.ru_maxrss;
	free(prods);
	free(g_seen);
	set_phase(prog, PH_DONE);
}
