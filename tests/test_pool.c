/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the worker pool (core/pool.h), one test per semantic of its
 * header comment, each run against every registered backend (and, for
 * exactly-once, every reclaimer each backend accepts).
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pool.h"
#include "registry.h"

/* ---- configurations ---------------------------------------------------- */

struct pconf {
	const struct pb_queue_ops *q;
	const struct pb_reclaim_ops *r;
	bool has_qo;            /* a variant: qo holds the backend's options */
	struct pb_optvals qo;
	char desc[96];
};

#define MAX_PCONFS 128

static bool usable_reclaim(const struct pb_queue_ops *q, const struct pb_reclaim_ops *r)
{
	return pb_queue_accepts_reclaim(q, r->name) && !(r->supported && r->supported());
}

/* One entry per supported backend (first usable reclaimer), or per pair. */
static size_t pconfs_build(struct pconf *out, bool all_reclaimers)
{
	size_t n = 0;

	for (size_t i = 0; pb_backends[i]; i++) {
		const struct pb_queue_ops *q = pb_backends[i];

		if (q->supported && q->supported()) {
			print_message("SKIP backend=%s: %s\n", q->name, q->supported());
			continue;
		}
		if (!(q->flags & PB_Q_RECLAIM)) {
			if (!tc_only(q->name, NULL))
				continue;
			out[n] = (struct pconf){.q = q};
			snprintf(out[n].desc, sizeof(out[n].desc), "backend=%s", q->name);
			n++;
			continue;
		}
		for (size_t k = 0; pb_reclaimers[k] && n < MAX_PCONFS; k++) {
			if (!usable_reclaim(q, pb_reclaimers[k]) ||
			    !tc_only(q->name, pb_reclaimers[k]->name))
				continue;
			out[n] = (struct pconf){.q = q, .r = pb_reclaimers[k]};
			snprintf(out[n].desc, sizeof(out[n].desc), "backend=%s reclaim=%s", q->name,
				 pb_reclaimers[k]->name);
			n++;
			if (!all_reclaimers)
				break;
		}
	}
	/* Each algorithm variant of a backend (an ENUM option flagged
	 * PB_OPTF_VARIANT: segmented's readiness=bitmap), once, with the
	 * backend's first usable reclaimer; conformance runs it with all. */
	for (size_t i = 0, nb = n; i < nb && n < MAX_PCONFS; i++) {
		const struct pb_queue_ops *q = out[i].q;
		struct pb_optvals qo;

		if (i > 0 && out[i - 1].q == q)
			continue; /* first entry of this backend only */
		pb_opts_defaults(&qo, q->options);
		for (size_t o = 0; o < qo.n; o++) {
			if (qo.defs[o].type != PB_OPT_ENUM || !(qo.defs[o].flags & PB_OPTF_VARIANT))
				continue;
			for (int64_t v = 0; qo.defs[o].choices[v] && n < MAX_PCONFS; v++) {
				if (v == qo.defs[o].def)
					continue;
				out[n] = out[i];
				out[n].has_qo = true;
				out[n].qo = qo;
				out[n].qo.v[o] = v;
				snprintf(out[n].desc + strlen(out[n].desc),
					 sizeof(out[n].desc) - strlen(out[n].desc), " %s=%s",
					 qo.defs[o].name, qo.defs[o].choices[v]);
				n++;
			}
		}
	}
	return n;
}

#define FOR_EACH_PCONF(pc, all)                                                    \
	struct pconf pcs_[MAX_PCONFS];                                             \
	size_t npcs_ = pconfs_build(pcs_, (all));                                  \
	for (const struct pconf *pc = pcs_; pc < pcs_ + npcs_; pc++)

static void cfg_init(struct pb_pool_config *cfg, const struct pconf *pc, unsigned workers)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->queue = pc->q;
	cfg->reclaim = pc->r;
	if (pc->has_qo)
		cfg->queue_opts = &pc->qo;
	cfg->workers = workers;
}

static struct pb_pool *pool_new(const struct pconf *pc, const struct pb_pool_config *cfg)
{
	struct pb_pool *p = NULL;
	int rc = pb_pool_create(cfg, &p);

	if (rc || !p)
		fail_msg("%s: pb_pool_create failed: %d", pc->desc, rc);
	return p;
}

static struct pb_producer *producer_new(const struct pconf *pc, struct pb_pool *p)
{
	struct pb_producer *pr = pb_producer_open(p);

	if (!pr)
		fail_msg("%s: pb_producer_open failed", pc->desc);
	return pr;
}

/* ---- instrumented jobs --------------------------------------------------- */

struct jobset;

struct tjob {
	struct jobset *set;
	atomic_uint ran;      /* fn calls */
	atomic_uint cleaned;  /* cleanup calls */
	atomic_int status;    /* status given to cleanup */
	atomic_int cpu;       /* sched_getcpu() inside fn */
	atomic_int worker;    /* executed hook's worker index */
	int ret;              /* what fn returns */
	unsigned sleep_us;    /* fn sleeps this long */
	atomic_int cancel;    /* the job's cancel flag */
};

struct jobset {
	struct tjob *jobs;
	size_t n;
	atomic_uint_fast64_t ran, cleaned;
};

static int tjob_fn(void *arg)
{
	struct tjob *j = arg;

	atomic_fetch_add(&j->ran, 1);
	atomic_store(&j->cpu, sched_getcpu());
	if (j->sleep_us)
		tc_sleep_ns(j->sleep_us * 1000ull);
	atomic_fetch_add(&j->set->ran, 1);
	return j->ret;
}

static int gate_fn(void *arg)
{
	atomic_int *gate = arg;

	while (!atomic_load(gate))
		tc_sleep_ns(100000);
	return 0;
}

static void tjob_cleanup(void *arg, int status)
{
	struct tjob *j = arg;

	atomic_store(&j->status, status);
	atomic_fetch_add(&j->cleaned, 1);
	atomic_fetch_add(&j->set->cleaned, 1);
}

static struct jobset *jobset_new(size_t n)
{
	struct jobset *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->jobs = calloc(n, sizeof(*s->jobs));
	assert_non_null(s->jobs);
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->jobs[i].set = s;
		atomic_init(&s->jobs[i].cpu, -1);
		atomic_init(&s->jobs[i].worker, -1);
		atomic_init(&s->jobs[i].status, 12345);
	}
	return s;
}

static void jobset_free(struct jobset *s)
{
	free(s->jobs);
	free(s);
}

static struct pb_job tjob_job(struct tjob *j)
{
	return (struct pb_job){.fn = tjob_fn, .arg = j, .cleanup = tjob_cleanup,
			       .cancel = &j->cancel};
}

/*
 * After destroy: every job's cleanup ran exactly once; jobs handed
 * PB_JOB_CANCELLED / PB_JOB_NOT_RUN never ran; the others ran once and
 * their cleanup got fn's return value.  Counts each outcome.
 */
struct outcome {
	uint64_t ran, cancelled, not_run;
};

static struct outcome jobset_check(const char *desc, struct jobset *s, size_t submitted)
{
	struct outcome o = {0};

	for (size_t i = 0; i < submitted; i++) {
		struct tjob *j = &s->jobs[i];
		unsigned ran = atomic_load(&j->ran), cl = atomic_load(&j->cleaned);
		int st = atomic_load(&j->status);

		if (cl != 1)
			fail_msg("%s: job %zu: cleanup ran %u times (want 1)", desc, i, cl);
		if (st == PB_JOB_CANCELLED || st == PB_JOB_NOT_RUN) {
			if (ran != 0)
				fail_msg("%s: job %zu ran %u times but cleanup got %d", desc, i, ran, st);
			if (st == PB_JOB_CANCELLED)
				o.cancelled++;
			else
				o.not_run++;
		} else {
			if (ran != 1)
				fail_msg("%s: job %zu ran %u times (want 1)", desc, i, ran);
			if (st != j->ret)
				fail_msg("%s: job %zu: cleanup got %d, fn returned %d", desc, i, st, j->ret);
			o.ran++;
		}
	}
	for (size_t i = submitted; i < s->n; i++)
		if (atomic_load(&s->jobs[i].ran) || atomic_load(&s->jobs[i].cleaned))
			fail_msg("%s: job %zu was never submitted but ran or was cleaned", desc, i);
	return o;
}

/* Wait until @counter reaches @want, or fail after a generous deadline. */
static void wait_count(const char *desc, const char *what, atomic_uint_fast64_t *counter,
		       uint64_t want)
{
	uint64_t t0 = pb_now_ns(), limit = tc_slow_build() ? 60ull : 20ull;

	while (atomic_load(counter) < want) {
		if (pb_now_ns() - t0 > limit * 1000000000ull)
			fail_msg("%s: %s: %" PRIu64 " of %" PRIu64 " after %" PRIu64 " s", desc, what,
				 (uint64_t)atomic_load(counter), want, limit);
		tc_sleep_ns(200000);
	}
}

static void submit_all(const struct pconf *pc, struct pb_producer *pr, struct jobset *s,
		       size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct pb_job j = tjob_job(&s->jobs[i]);
		int rc = pb_pool_submit_wait(pr, &j);

		if (rc != PB_OK)
			fail_msg("%s: submit_wait of job %zu returned %d", pc->desc, i, rc);
	}
}

/* ---- tests ---------------------------------------------------------------- */

static void test_create_invalid(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		struct pb_pool_config cfg;
		struct pb_pool *p = (struct pb_pool *)1;

		cfg_init(&cfg, pc, 0);
		if (pb_pool_create(&cfg, &p) != -EINVAL)
			fail_msg("%s: 0 workers accepted", pc->desc);
		cfg_init(&cfg, pc, 1);
		cfg.queue = NULL;
		if (pb_pool_create(&cfg, &p) != -EINVAL)
			fail_msg("%s: NULL queue accepted", pc->desc);
		cfg_init(&cfg, pc, 1);
		cfg.coalesce_relax = PB_COALESCE_MAX + 1;
		if (pb_pool_create(&cfg, &p) != -EINVAL)
			fail_msg("%s: coalesce_relax over PB_COALESCE_MAX accepted", pc->desc);
		cfg_init(&cfg, pc, 1);
		cfg.idle_poll = PB_IDLE_RELAX + 1;
		if (pb_pool_create(&cfg, &p) != -EINVAL)
			fail_msg("%s: idle_poll %u accepted", pc->desc, PB_IDLE_RELAX + 1);
		cfg_init(&cfg, pc, 1);
		if (pc->q->flags & PB_Q_RECLAIM) {
			cfg.reclaim = NULL;
			if (pb_pool_create(&cfg, &p) != -EINVAL)
				fail_msg("%s: missing reclaimer accepted", pc->desc);
			for (size_t k = 0; pb_reclaimers[k]; k++) {
				if (pb_queue_accepts_reclaim(pc->q, pb_reclaimers[k]->name))
					continue;
				cfg.reclaim = pb_reclaimers[k];
				if (pb_pool_create(&cfg, &p) != -EINVAL)
					fail_msg("%s: refused reclaimer %s accepted", pc->desc,
						 pb_reclaimers[k]->name);
			}
		} else if (pb_reclaimers[0]) {
			cfg.reclaim = pb_reclaimers[0];
			if (pb_pool_create(&cfg, &p) != -EINVAL)
				fail_msg("%s: reclaimer given to a backend without one", pc->desc);
		}
	}
}

/* Jobs run exactly once: 2 producer threads, 3 workers, all reclaimers. */
struct prod_arg {
	const struct pconf *pc;
	struct pb_pool *p;
	struct jobset *s;
	size_t from, to;
	struct tc_errs *errs;
};

static void *producer_main(void *arg)
{
	struct prod_arg *a = arg;
	struct pb_producer *pr = pb_producer_open(a->p);
	uint64_t rnd = a->from + 1;

	if (!pr) {
		tc_err(a->errs, "%s: producer_open failed", a->pc->desc);
		return NULL;
	}
	for (size_t i = a->from; i < a->to; i++) {
		struct pb_job j = tjob_job(&a->s->jobs[i]);
		int rc = (i & 1) ? pb_pool_submit_wait(pr, &j) : PB_FULL;

		while (rc == PB_FULL) {
			rc = pb_pool_submit(pr, &j);
			if (rc == PB_FULL)
				sched_yield();
		}
		if (rc != PB_OK) {
			tc_err(a->errs, "%s: submit of job %zu returned %d", a->pc->desc, i, rc);
			break;
		}
		tc_maybe_yield(&rnd, 6);
	}
	pb_producer_close(pr);
	return NULL;
}

static void exactly_once(size_t jobs, unsigned coalesce, unsigned idle_poll)
{
	FOR_EACH_PCONF(pc, true) {
		const size_t n = tc_scale(jobs);
		struct jobset *s = jobset_new(n);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct prod_arg a[2];
		pthread_t th[2];
		struct tc_errs errs;
		struct pb_shutdown_report rep;
		struct pb_pool_stats st;
		struct outcome o;

		tc_errs_init(&errs);
		cfg_init(&cfg, pc, 3);
		cfg.coalesce_relax = coalesce;
		cfg.idle_poll = idle_poll;
		p = pool_new(pc, &cfg);
		for (int i = 0; i < 2; i++) {
			a[i] = (struct prod_arg){pc, p, s, i * n / 2, (i + 1) * n / 2, &errs};
			tc_spawn(&th[i], producer_main, &a[i]);
		}
		for (int i = 0; i < 2; i++)
			tc_join(th[i]);
		tc_errs_check(&errs, pc->desc);
		if (pb_pool_shutdown(p, 0, &rep) != 0 || rep.timed_out || rep.not_run)
			fail_msg("%s: shutdown without deadline: timed_out %d not_run %" PRIu64,
				 pc->desc, rep.timed_out, rep.not_run);
		pb_pool_stats(p, &st);
		pb_pool_destroy(p);
		o = jobset_check(pc->desc, s, n);
		if (o.ran != n || st.submitted != n || st.executed != n || st.cancelled || st.errors)
			fail_msg("%s: ran %" PRIu64 ", stats submitted %" PRIu64 " executed %" PRIu64
				 " cancelled %" PRIu64 " errors %" PRIu64 ", want %zu", pc->desc, o.ran,
				 st.submitted, st.executed, st.cancelled, st.errors, n);
		if (st.batches == 0 || st.batches > st.executed)
			fail_msg("%s: %" PRIu64 " batches for %" PRIu64 " jobs", pc->desc, st.batches,
				 st.executed);
		print_message("  %-40s %zu jobs, %" PRIu64 " batches, %" PRIu64 " parks, %" PRIu64
			      " wakes (%" PRIu64 " timer), %" PRIu64 " full%s%s\n", pc->desc, n,
			      st.batches, st.parks, st.wakes, st.timer_wakes, st.full,
			      coalesce ? ", coalescing" : "",
			      idle_poll == PB_IDLE_RELAX ? ", idle relax" : "");
		jobset_free(s);
	}
}

static void test_exactly_once(void **state)
{
	(void)state;
	exactly_once(20000, 0, PB_IDLE_YIELD);
}

/* idle_poll only changes what a worker does between empty polls (pause
 * instead of sched_yield): every job still runs once. */
static void test_exactly_once_idle_relax(void **state)
{
	(void)state;
	exactly_once(5000, 0, PB_IDLE_RELAX);
}

/* Batch coalescing (pb_pool_config.coalesce_relax) changes only when a
 * worker pops: every job still runs once, shutdown still drains. */
static void test_exactly_once_coalescing(void **state)
{
	(void)state;
	exactly_once(5000, 256, PB_IDLE_YIELD);
}

/* Batch draining: with the only worker held, queued jobs come out in
 * batches of more than one and never more than batch_max. */
struct batch_rec {
	atomic_uint_fast64_t batches, jobs, max_n, over;
	unsigned batch_max;
};

static void batch_dequeued(void *ctx, unsigned worker, size_t n)
{
	struct batch_rec *b = ctx;
	uint64_t m = atomic_load(&b->max_n);

	(void)worker;
	atomic_fetch_add(&b->batches, 1);
	atomic_fetch_add(&b->jobs, n);
	if (n > b->batch_max || n == 0)
		atomic_fetch_add(&b->over, 1);
	while (n > m && !atomic_compare_exchange_weak(&b->max_n, &m, n))
		;
}

static void test_batch_drain(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		const size_t n = 500;
		struct jobset *s = jobset_new(n);
		struct batch_rec b = {.batch_max = 16};
		struct pb_hooks hooks = {.dequeued = batch_dequeued, .ctx = &b};
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		atomic_int gate = 0;
		struct pb_job gj = {.fn = gate_fn, .arg = &gate};
		struct pb_pool_stats st;

		cfg_init(&cfg, pc, 1);
		cfg.batch_max = b.batch_max;
		cfg.hooks = &hooks;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		if (pb_pool_submit_wait(pr, &gj) != PB_OK)
			fail_msg("%s: submit of the gate job failed", pc->desc);
		pb_producer_flush(pr);
		/* Wait until the worker holds the gate job. */
		while (atomic_load(&b.batches) == 0)
			tc_sleep_ns(100000);
		submit_all(pc, pr, s, 0, n);
		pb_producer_flush(pr);
		atomic_store(&gate, 1);
		wait_count(pc->desc, "jobs ran", &s->ran, n);
		pb_producer_close(pr);
		pb_pool_shutdown(p, 0, NULL);
		pb_pool_stats(p, &st);
		pb_pool_destroy(p);
		jobset_check(pc->desc, s, n);
		if (atomic_load(&b.over))
			fail_msg("%s: a batch was empty or larger than batch_max %u", pc->desc,
				 b.batch_max);
		if (atomic_load(&b.jobs) != n + 1)
			fail_msg("%s: dequeued hooks counted %" PRIu64 " jobs, want %zu", pc->desc,
				 (uint64_t)atomic_load(&b.jobs), n + 1);
		if (atomic_load(&b.max_n) < 2 || st.batches >= st.executed)
			fail_msg("%s: no batching: %" PRIu64 " batches for %" PRIu64 " jobs, largest %"
				 PRIu64, pc->desc, st.batches, st.executed,
				 (uint64_t)atomic_load(&b.max_n));
		if (st.batches != atomic_load(&b.batches))
			fail_msg("%s: stats.batches %" PRIu64 " != dequeued hook calls %" PRIu64,
				 pc->desc, st.batches, (uint64_t)atomic_load(&b.batches));
		jobset_free(s);
	}
}

/* After shutdown, submit and submit_wait return PB_CLOSED and nothing runs. */
static void test_submit_after_shutdown(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		struct jobset *s = jobset_new(3);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_shutdown_report rep, rep2;
		struct pb_pool_stats st;

		cfg_init(&cfg, pc, 2);
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, 1);
		pb_pool_shutdown(p, 0, &rep);
		{
			struct pb_job j = tjob_job(&s->jobs[1]);

			if (pb_pool_submit(pr, &j) != PB_CLOSED)
				fail_msg("%s: submit after shutdown not PB_CLOSED", pc->desc);
			j = tjob_job(&s->jobs[2]);
			if (pb_pool_submit_wait(pr, &j) != PB_CLOSED)
				fail_msg("%s: submit_wait after shutdown not PB_CLOSED", pc->desc);
		}
		/* Idempotent. */
		if (pb_pool_shutdown(p, 1000, &rep2) != 0 || rep2.timed_out != rep.timed_out ||
		    rep2.not_run != rep.not_run)
			fail_msg("%s: second shutdown reported differently", pc->desc);
		pb_producer_close(pr);
		pb_pool_stats(p, &st);
		pb_pool_destroy(p);
		jobset_check(pc->desc, s, 1);
		if (atomic_load(&s->jobs[1].cleaned) || atomic_load(&s->jobs[2].cleaned))
			fail_msg("%s: a refused job was cleaned up by the pool", pc->desc);
		if (st.submitted != 1)
			fail_msg("%s: submitted %" PRIu64 ", want 1", pc->desc, st.submitted);
		jobset_free(s);
	}
}

/* submit_wait on a bounded backend at its smallest capacity finishes. */
static void test_submit_wait_tiny(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		const size_t n = tc_scale(5000);
		struct jobset *s;
		struct pb_optvals qo;
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_pool_stats st;
		char desc[160];

		if (!(pc->q->flags & PB_Q_BOUNDED))
			continue;
		pb_opts_defaults(&qo, pc->q->options);
		snprintf(desc, sizeof(desc), "%s", pc->desc);
		for (size_t i = 0; i < qo.n; i++)
			if (qo.defs[i].type == PB_OPT_INT) {
				qo.v[i] = qo.defs[i].min;
				snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc), " %s=%" PRId64,
					 qo.defs[i].name, qo.v[i]);
			}
		s = jobset_new(n);
		cfg_init(&cfg, pc, 2);
		cfg.queue_opts = &qo;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, n);
		pb_producer_close(pr);
		wait_count(desc, "jobs ran", &s->ran, n);
		pb_pool_stats(p, &st);
		pb_pool_destroy(p);
		jobset_check(desc, s, n);
		print_message("  %-50s %zu jobs, %" PRIu64 " submits saw FULL\n", desc, n, st.full);
		jobset_free(s);
	}
}

/*
 * Wake policy: with wake_min_jobs far above what is submitted and no flush,
 * the flush timer must still get a few jobs run; with wake_min_jobs 1 every
 * submit wakes.  Asserts only that the jobs run within a generous deadline.
 */
static void test_wake_policy(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		for (int mode = 0; mode < 2; mode++) {
			struct jobset *s = jobset_new(3);
			struct pb_pool_config cfg;
			struct pb_pool *p;
			struct pb_producer *pr;
			struct pb_pool_stats st;
			char desc[160];

			snprintf(desc, sizeof(desc), "%s wake_min_jobs=%s", pc->desc,
				 mode ? "1" : "1000000");
			cfg_init(&cfg, pc, 2);
			cfg.wake_min_jobs = mode ? 1 : 1000000;
			cfg.flush_ns = 200000; /* 200 us */
			p = pool_new(pc, &cfg);
			pr = producer_new(pc, p);
			tc_sleep_ns(50000000); /* let the workers go idle and park */
			for (size_t i = 0; i < s->n; i++) {
				struct pb_job j = tjob_job(&s->jobs[i]);

				if (pb_pool_submit(pr, &j) != PB_OK)
					fail_msg("%s: submit failed", desc);
			}
			/* No flush, no close: only the policy or the timer can wake. */
			wait_count(desc, "jobs ran", &s->ran, s->n);
			pb_pool_stats(p, &st);
			/* wake_min_jobs 1: the submits themselves woke parked workers
			 * (wakes beyond the timer's).  Channel backends wake in push. */
			if (!pc->q->pop_wait && mode == 1 && st.wakes <= st.timer_wakes)
				fail_msg("%s: jobs ran but submit issued no wake (%" PRIu64 " wakes, %"
					 PRIu64 " by the timer)", desc, st.wakes, st.timer_wakes);
			pb_producer_close(pr);
			pb_pool_destroy(p);
			jobset_check(desc, s, s->n);
			jobset_free(s);
		}
	}
}

static uint64_t cpu_time_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000ull +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000ull;
}

/* 8 workers on 2 cores finish their work, then park: they do not burn CPU,
 * whether they yield (the default) or pause between empty polls. */
static void oversubscribed_park(unsigned idle)
{
	FOR_EACH_PCONF(pc, true) {
		const size_t n = tc_scale(20000);
		struct jobset *s = jobset_new(n);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_pool_stats st;
		uint64_t c0, used, limit = tc_slow_build() ? 100000000ull : 50000000ull;

		cfg_init(&cfg, pc, 8);
		cfg.idle_poll = idle;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, n);
		pb_producer_flush(pr);
		wait_count(pc->desc, "jobs ran", &s->ran, n);
		tc_sleep_ns(100000000); /* idle period */
		pb_pool_stats(p, &st);
		c0 = cpu_time_ns();
		tc_sleep_ns(200000000);
		used = cpu_time_ns() - c0;
		print_message("  %-40s 8 workers idle 200 ms (%s): %.1f ms CPU, %" PRIu64 " parks\n",
			      pc->desc, idle == PB_IDLE_RELAX ? "relax" : "yield", used / 1e6, st.parks);
		/* Channel backends park inside pop_wait, which the pool does not count. */
		if (!pc->q->pop_wait && st.parks == 0)
			fail_msg("%s: no worker parked after an idle period", pc->desc);
		if (used > limit)
			fail_msg("%s: idle 8-worker pool used %.1f ms CPU in 200 ms (limit %.0f ms): "
				 "workers do not park", pc->desc, used / 1e6, limit / 1e6);
		pb_producer_close(pr);
		pb_pool_destroy(p);
		jobset_check(pc->desc, s, n);
		jobset_free(s);
	}
}

static void test_oversubscribed_park(void **state)
{
	(void)state;
	oversubscribed_park(PB_IDLE_YIELD);
	oversubscribed_park(PB_IDLE_RELAX);
}

/* Cancellation by flag and by past deadline: not run, cleanup gets
 * PB_JOB_CANCELLED, counted in stats. */
static void test_cancel(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		const size_t n = 300;
		struct jobset *s = jobset_new(n);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_pool_stats st;
		struct outcome o;
		uint64_t want_cancel = 0;

		cfg_init(&cfg, pc, 2);
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		for (size_t i = 0; i < n; i++) {
			struct pb_job j = tjob_job(&s->jobs[i]);

			if (i % 3 == 1) {
				atomic_store(&s->jobs[i].cancel, 1);
				want_cancel++;
			} else if (i % 3 == 2 && i % 2) {
				j.deadline_ns = 1; /* long past */
				want_cancel++;
			} else if (i % 3 == 2) {
				j.deadline_ns = pb_now_ns() + 3600ull * 1000000000ull; /* far future */
			}
			if (pb_pool_submit_wait(pr, &j) != PB_OK)
				fail_msg("%s: submit failed", pc->desc);
		}
		pb_producer_close(pr);
		pb_pool_shutdown(p, 0, NULL);
		pb_pool_stats(p, &st);
		pb_pool_destroy(p);
		o = jobset_check(pc->desc, s, n);
		for (size_t i = 0; i < n; i++) {
			bool want = i % 3 == 1 || (i % 3 == 2 && i % 2);

			if (want != (atomic_load(&s->jobs[i].status) == PB_JOB_CANCELLED))
				fail_msg("%s: job %zu: cleanup status %d, cancelled expected %d", pc->desc,
					 i, atomic_load(&s->jobs[i].status), want);
		}
		if (o.cancelled != want_cancel || st.cancelled != want_cancel ||
		    st.executed != n - want_cancel || o.not_run)
			fail_msg("%s: cancelled %" PRIu64 " (stats %" PRIu64 "), executed %" PRIu64
				 ", want %" PRIu64 " cancelled", pc->desc, o.cancelled, st.cancelled,
				 st.executed, want_cancel);
		jobset_free(s);
	}
}

/* A job's error is counted, handed to on_error and the error hook, and the
 * worker goes on. */
struct err_rec {
	atomic_uint_fast64_t on_error, hook, bad;
	struct jobset *s;
};

static void err_on_error(void *ctx, const struct pb_job *job, int err)
{
	struct err_rec *e = ctx;
	struct tjob *j = job->arg;

	atomic_fetch_add(&e->on_error, 1);
	if (err != j->ret || err == 0 || j < e->s->jobs || j >= e->s->jobs + e->s->n)
		atomic_fetch_add(&e->bad, 1);
}

static void err_hook(void *ctx, unsigned worker, const struct pb_job *job, int err)
{
	struct err_rec *e = ctx;
	struct tjob *j = job->arg;

	(void)worker;
	atomic_fetch_add(&e->hook, 1);
	if (err != j->ret || err == 0)
		atomic_fetch_add(&e->bad, 1);
}

static void test_errors(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		const size_t n = 400;
		struct jobset *s = jobset_new(n);
		struct err_rec e = {.s = s};
		struct pb_hooks hooks = {.error = err_hook, .ctx = &e};
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_pool_stats st;
		uint64_t want = 0;

		for (size_t i = 0; i < n; i++)
			if (i % 5 == 0) {
				s->jobs[i].ret = i % 2 ? -EIO : 7;
				want++;
			}
		cfg_init(&cfg, pc, 1); /* one worker: every later job proves it went on */
		cfg.hooks = &hooks;
		cfg.on_error = err_on_error;
		cfg.on_error_ctx = &e;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, n);
		pb_producer_close(pr);
		pb_pool_shutdown(p, 0, NULL);
		pb_pool_stats(p, &st);
		pb_pool_destroy(p);
		jobset_check(pc->desc, s, n);
		if (st.errors != want || st.executed != n || atomic_load(&e.on_error) != want ||
		    atomic_load(&e.hook) != want || atomic_load(&e.bad))
			fail_msg("%s: errors %" PRIu64 ", on_error %" PRIu64 ", hook %" PRIu64 ", bad %"
				 PRIu64 ", executed %" PRIu64 "; want %" PRIu64 " errors of %zu", pc->desc,
				 st.errors, (uint64_t)atomic_load(&e.on_error),
				 (uint64_t)atomic_load(&e.hook), (uint64_t)atomic_load(&e.bad),
				 st.executed, want, n);
		jobset_free(s);
	}
}

/* Shutdown with a deadline while jobs are long: timed out, some not run, and
 * destroy cleans every one of them up: nothing silently lost. */
static void test_shutdown_deadline(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		const size_t n = 100;
		struct jobset *s = jobset_new(n);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_shutdown_report rep, rep2;
		struct pb_pool_stats st;
		struct outcome o;

		for (size_t i = 0; i < n; i++)
			s->jobs[i].sleep_us = 10000;
		cfg_init(&cfg, pc, 1);
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, n);
		pb_producer_close(pr);
		pb_pool_shutdown(p, 30000000, &rep);
		if (!rep.timed_out || rep.not_run == 0)
			fail_msg("%s: shutdown(30 ms) with ~1 s of work: timed_out %d, not_run %" PRIu64,
				 pc->desc, rep.timed_out, rep.not_run);
		pb_pool_shutdown(p, 0, &rep2);
		if (rep2.timed_out != rep.timed_out || rep2.not_run != rep.not_run)
			fail_msg("%s: second shutdown reported differently", pc->desc);
		pb_pool_stats(p, &st);
		/* Before destroy, the jobs not run are not cleaned up yet. */
		if (atomic_load(&s->cleaned) + rep.not_run != n)
			fail_msg("%s: before destroy: %" PRIu64 " cleaned + %" PRIu64 " not run != %zu",
				 pc->desc, (uint64_t)atomic_load(&s->cleaned), rep.not_run, n);
		pb_pool_destroy(p);
		o = jobset_check(pc->desc, s, n);
		if (o.not_run != rep.not_run || o.ran + o.cancelled + o.not_run != n ||
		    o.ran != st.executed || o.cancelled != st.cancelled)
			fail_msg("%s: ran %" PRIu64 " + cancelled %" PRIu64 " + not run %" PRIu64
				 " (report %" PRIu64 ") != %zu submitted", pc->desc, o.ran, o.cancelled,
				 o.not_run, rep.not_run, n);
		print_message("  %-40s deadline shutdown: ran %" PRIu64 ", not run %" PRIu64 "\n",
			      pc->desc, o.ran, o.not_run);
		jobset_free(s);
	}
}

/*
 * Submits racing shutdown (regression: issue 14 items 1 and 2).  Producers
 * submit as fast as they can while the test thread shuts the pool down
 * after a random pause.  Without a deadline every submit that returned
 * PB_OK must run (the report's not_run is 0); with one, ran + cancelled +
 * not_run == PB_OK submits and destroy cleans up exactly the report's
 * not_run.  Before the fix a worker whose empty pop preceded the close
 * exited on seeing qclosed, stranding jobs pushed in between, and a push
 * still in flight at close hid the backlog behind it from the drain.
 */
struct racer {
	struct pb_pool *p;
	struct jobset *s;
	pthread_barrier_t *bar;
	struct tc_errs *errs;
	size_t ok;            /* submits that returned PB_OK: jobs [0, ok) */
	uint64_t seed;
	bool batch;           /* submit with pb_pool_submit_batch, 1..32 jobs a call */
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct pb_producer *pr = pb_producer_open(r->p);

	if (!pr)
		tc_err(r->errs, "pb_producer_open failed");
	pthread_barrier_wait(r->bar);
	for (size_t i = 0; pr && r->batch && i < r->s->n;) {
		struct pb_job jb[32];
		size_t want = 1 + tc_rand(&r->seed) % 32, k;
		int rc;

		if (want > r->s->n - i)
			want = r->s->n - i;
		for (size_t x = 0; x < want; x++)
			jb[x] = tjob_job(&r->s->jobs[i + x]);
		k = pb_pool_submit_batch(pr, jb, want, &rc);
		i += k;
		r->ok += k;
		if (rc == PB_CLOSED)
			break;
		if (rc == PB_FULL)
			sched_yield();
		else if (rc != PB_OK || k != want) {
			tc_err(r->errs, "submit_batch(%zu) returned %zu, rc %d", want, k, rc);
			break;
		}
		tc_maybe_yield(&r->seed, 3);
	}
	for (size_t i = 0; pr && !r->batch && i < r->s->n; i++) {
		struct pb_job j = tjob_job(&r->s->jobs[i]);
		int rc;

		while ((rc = pb_pool_submit(pr, &j)) == PB_FULL)
			sched_yield();
		if (rc == PB_CLOSED)
			break;
		if (rc != PB_OK) {
			tc_err(r->errs, "submit returned %d", rc);
			break;
		}
		r->ok++;
		tc_maybe_yield(&r->seed, 7);
	}
	pb_producer_close(pr);
	return NULL;
}

static void racing_shutdown_round(const struct pconf *pc, unsigned workers, uint64_t timeout_ns,
				  uint64_t *seed, uint64_t *stranded)
{
	enum { NPROD = 2 };
	struct racer rs[NPROD];
	pthread_t th[NPROD];
	pthread_barrier_t bar;
	struct tc_errs errs;
	struct pb_pool_config cfg;
	struct pb_pool *p;
	struct pb_shutdown_report rep;
	uint64_t ok = 0, ran = 0, cancelled = 0, not_run = 0;
	char desc[160];

	snprintf(desc, sizeof(desc), "%s workers=%u%s", pc->desc, workers,
		 timeout_ns ? " deadline" : "");
	tc_errs_init(&errs);
	cfg_init(&cfg, pc, workers);
	p = pool_new(pc, &cfg);
	pthread_barrier_init(&bar, NULL, NPROD + 1);
	for (int i = 0; i < NPROD; i++) {
		rs[i] = (struct racer){.p = p, .s = jobset_new(tc_slow_build() ? 1024 : 4096),
				       .bar = &bar, .errs = &errs, .seed = tc_rand(seed),
				       .batch = (tc_rand(seed) & 1) != 0};
		tc_spawn(&th[i], racer_main, &rs[i]);
	}
	pthread_barrier_wait(&bar);
	tc_sleep_ns(tc_rand(seed) % 300000);
	pb_pool_shutdown(p, timeout_ns, &rep);
	for (int i = 0; i < NPROD; i++)
		tc_join(th[i]);
	tc_errs_check(&errs, desc);
	if (!timeout_ns) {
		for (int i = 0; i < NPROD; i++)
			if (atomic_load(&rs[i].s->ran) != rs[i].ok)
				*stranded += rs[i].ok - atomic_load(&rs[i].s->ran);
		if (rep.not_run || rep.timed_out)
			fail_msg("%s: shutdown without deadline left %" PRIu64 " jobs not run", desc,
				 rep.not_run);
	}
	pb_pool_destroy(p);
	for (int i = 0; i < NPROD; i++) {
		struct outcome o = jobset_check(desc, rs[i].s, rs[i].ok);

		ok += rs[i].ok;
		ran += o.ran;
		cancelled += o.cancelled;
		not_run += o.not_run;
		jobset_free(rs[i].s);
	}
	pthread_barrier_destroy(&bar);
	if (not_run != rep.not_run || ran + cancelled + not_run != ok)
		fail_msg("%s: %" PRIu64 " ok submits: ran %" PRIu64 " + cancelled %" PRIu64
			 " + not run %" PRIu64 ", shutdown report said not run %" PRIu64,
			 desc, ok, ran, cancelled, not_run, rep.not_run);
}

static void test_racing_shutdown(void **state)
{
	const unsigned rounds = tc_slow_build() ? 25 : 120;
	uint64_t seed = 0x5eed5eedull;

	(void)state;
	FOR_EACH_PCONF(pc, true) {
		for (unsigned workers = 1; workers <= 2; workers++) {
			uint64_t stranded = 0;

			for (unsigned r = 0; r < rounds; r++)
				racing_shutdown_round(pc, workers, 0, &seed, &stranded);
			if (stranded)
				fail_msg("%s workers=%u: %" PRIu64 " jobs submitted OK never ran "
					 "(shutdown without deadline)", pc->desc, workers, stranded);
			for (unsigned r = 0; r < rounds / 4; r++)
				racing_shutdown_round(pc, workers, 200000, &seed, &stranded);
		}
		print_message("  %-40s %u racing rounds x 2 worker counts: exact\n", pc->desc,
			      rounds + rounds / 4);
	}
}

/*
 * A second, concurrent shutdown (regression: issue 14 item 4) waits for the
 * first and returns its report: before the fix it returned at once with an
 * empty report, and destroying the pool then freed it under the first.
 */
struct shut_call {
	struct pb_pool *p;
	struct pb_shutdown_report rep;
	uint64_t executed_at_return;
	atomic_int entered;
};

static void *shut_main(void *arg)
{
	struct shut_call *c = arg;
	struct pb_pool_stats st;

	atomic_store(&c->entered, 1);
	pb_pool_shutdown(c->p, 0, &c->rep);
	pb_pool_stats(c->p, &st);
	c->executed_at_return = st.executed;
	return NULL;
}

static void test_concurrent_shutdown(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, false) {
		const size_t n = 40;
		struct jobset *s = jobset_new(n);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct shut_call first = {0}, second = {0};
		pthread_t t1, t2;

		for (size_t i = 0; i < n; i++)
			s->jobs[i].sleep_us = 1000;
		cfg_init(&cfg, pc, 1);
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, n);
		pb_producer_close(pr);
		first.p = second.p = p;
		tc_spawn(&t1, shut_main, &first);
		while (!atomic_load(&first.entered))
			sched_yield();
		tc_sleep_ns(5000000); /* the first is inside, draining ~40 ms of work */
		tc_spawn(&t2, shut_main, &second);
		tc_join(t2);
		if (second.executed_at_return != n || second.rep.not_run != 0)
			fail_msg("%s: the second shutdown returned with %" PRIu64 " of %zu jobs run "
				 "(it must wait for the first)", pc->desc, second.executed_at_return, n);
		tc_join(t1);
		if (first.rep.not_run != second.rep.not_run || first.rep.timed_out != second.rep.timed_out)
			fail_msg("%s: the two shutdown reports differ", pc->desc);
		pb_pool_destroy(p);
		jobset_check(pc->desc, s, n);
		jobset_free(s);
	}
}

/*
 * While one worker runs a batch, the flush timer must not keep waking the
 * idle ones for the jobs in that batch (regression: issue 14 item 3; the
 * taken count used to be published after the batch ran, so the timer saw
 * those jobs as still waiting: ~700 wakes for 64 jobs of 1 ms).
 */
static void test_timer_quiet_during_batch(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, false) {
		const size_t n = 64;
		struct jobset *s = jobset_new(n);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_pool_stats st;

		if (pc->q->pop_wait) { /* channel backends have no flush timer */
			jobset_free(s);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			s->jobs[i].sleep_us = 1000;
		cfg_init(&cfg, pc, 2);
		cfg.wake_min_jobs = 100000; /* only the timer wakes anyone */
		cfg.batch_max = 64;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		/* Let both workers park first, then queue the 64 jobs at once. */
		tc_sleep_ns(20000000);
		submit_all(pc, pr, s, 0, n);
		wait_count(pc->desc, "jobs run", &s->ran, n);
		pb_pool_stats(p, &st);
		pb_producer_close(pr);
		pb_pool_destroy(p);
		jobset_check(pc->desc, s, n);
		/* One batch (or a few, if a woken worker raced for part of it):
		 * a handful of timer wakes, not one every tick. */
		if (st.timer_wakes > 16)
			fail_msg("%s: %" PRIu64 " timer wakes for %zu jobs taken in %" PRIu64
				 " batches while idle workers had nothing to do", pc->desc,
				 st.timer_wakes, n, st.batches);
		print_message("  %-40s timer wakes %" PRIu64 ", batches %" PRIu64 "\n", pc->desc,
			      st.timer_wakes, st.batches);
		jobset_free(s);
	}
}

/*
 * Batch submit keeps the pool's semantics: cancellation (flag and deadline)
 * is checked per job, every cleanup runs once, the counters count jobs (not
 * calls), and a shutdown with a deadline reports exactly the jobs that
 * destroy then cleans up as not run.
 */
static void submit_in_batches(const struct pconf *pc, struct pb_producer *pr, struct pb_job *jobs,
			      size_t n, size_t per_call)
{
	for (size_t i = 0; i < n; i += per_call) {
		size_t want = n - i < per_call ? n - i : per_call;
		size_t k = pb_pool_submit_batch_wait(pr, jobs + i, want);

		if (k != want)
			fail_msg("%s: submit_batch_wait(%zu) queued %zu", pc->desc, want, k);
	}
}

static void test_batch_submit(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		const size_t n = 300, slow = 100;
		struct jobset *s = jobset_new(n);
		struct pb_job *jobs = calloc(n, sizeof(*jobs));
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_pool_stats st;
		struct pb_shutdown_report rep;
		struct outcome o;
		uint64_t want_cancel = 0;

		assert_non_null(jobs);
		for (size_t i = 0; i < n; i++) {
			jobs[i] = tjob_job(&s->jobs[i]);
			if (i % 3 == 1) {
				atomic_store(&s->jobs[i].cancel, 1);
				want_cancel++;
			} else if (i % 3 == 2 && i % 2) {
				jobs[i].deadline_ns = 1; /* long past */
				want_cancel++;
			}
		}
		cfg_init(&cfg, pc, 2);
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_in_batches(pc, pr, jobs, n, 7);
		pb_producer_close(pr);
		pb_pool_shutdown(p, 0, &rep);
		pb_pool_stats(p, &st);
		pb_pool_destroy(p);
		o = jobset_check(pc->desc, s, n);
		if (st.submitted != n || o.cancelled != want_cancel || st.cancelled != want_cancel ||
		    st.executed != n - want_cancel || o.not_run || rep.not_run)
			fail_msg("%s: batches of 7: submitted %" PRIu64 ", cancelled %" PRIu64
				 " (stats %" PRIu64 "), executed %" PRIu64 ", want %" PRIu64 " cancelled",
				 pc->desc, st.submitted, o.cancelled, st.cancelled, st.executed,
				 want_cancel);
		jobset_free(s);

		/* Deadline: ~1 s of work in batches of 16, 30 ms allowed. */
		s = jobset_new(slow);
		for (size_t i = 0; i < slow; i++) {
			s->jobs[i].sleep_us = 10000;
			jobs[i] = tjob_job(&s->jobs[i]);
		}
		cfg_init(&cfg, pc, 1);
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_in_batches(pc, pr, jobs, slow, 16);
		pb_producer_close(pr);
		pb_pool_shutdown(p, 30000000, &rep);
		pb_pool_destroy(p);
		o = jobset_check(pc->desc, s, slow);
		if (!rep.timed_out || rep.not_run == 0 || o.not_run != rep.not_run ||
		    o.ran + o.cancelled + o.not_run != slow)
			fail_msg("%s: batch submit, deadline shutdown: timed_out %d, report not run %" PRIu64
				 ", destroy cleaned up %" PRIu64 " as not run, ran %" PRIu64, pc->desc,
				 rep.timed_out, rep.not_run, o.not_run, o.ran);
		jobset_free(s);
		free(jobs);
	}
}

/* Destroy without shutdown drains everything (no deadline). */
static void test_destroy_drains(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		const size_t n = 1000;
		struct jobset *s = jobset_new(n);
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct outcome o;

		cfg_init(&cfg, pc, 2);
		cfg.wake_min_jobs = 1000000;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, n);
		pb_producer_close(pr);
		pb_pool_destroy(p);
		o = jobset_check(pc->desc, s, n);
		if (o.ran != n)
			fail_msg("%s: destroy ran %" PRIu64 " of %zu jobs", pc->desc, o.ran, n);
		jobset_free(s);
	}
}

/* Metrics hooks: queued == executed == submitted; dequeued batches sum up. */
struct hook_rec {
	atomic_uint_fast64_t queued, dequeued_jobs, dequeued_calls, executed, errors, bad_worker;
	unsigned workers;
};

static void h_queued(void *ctx, const struct pb_job *job)
{
	struct hook_rec *h = ctx;

	(void)job;
	atomic_fetch_add(&h->queued, 1);
}

static void h_dequeued(void *ctx, unsigned worker, size_t n)
{
	struct hook_rec *h = ctx;

	atomic_fetch_add(&h->dequeued_calls, 1);
	atomic_fetch_add(&h->dequeued_jobs, n);
	if (worker >= h->workers)
		atomic_fetch_add(&h->bad_worker, 1);
}

static void h_executed(void *ctx, unsigned worker, const struct pb_job *job, int status)
{
	struct hook_rec *h = ctx;
	struct tjob *j = job->arg;

	(void)status;
	atomic_fetch_add(&h->executed, 1);
	atomic_store(&j->worker, (int)worker);
	if (worker >= h->workers)
		atomic_fetch_add(&h->bad_worker, 1);
}

static void test_hooks(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		for (int variant = 0; variant < 3; variant++) {
			const size_t n = tc_scale(5000);
			struct jobset *s = jobset_new(n);
			struct hook_rec h = {.workers = 3};
			struct pb_hooks full = {h_queued, h_dequeued, h_executed, NULL, &h};
			struct pb_hooks partial = {.executed = h_executed, .ctx = &h};
			struct pb_pool_config cfg;
			struct pb_pool *p;
			struct pb_producer *pr;
			struct pb_pool_stats st;
			struct outcome o;

			cfg_init(&cfg, pc, 3);
			cfg.hooks = variant == 0 ? &full : variant == 1 ? &partial : NULL;
			p = pool_new(pc, &cfg);
			pr = producer_new(pc, p);
			submit_all(pc, pr, s, 0, n);
			pb_producer_close(pr);
			pb_pool_shutdown(p, 0, NULL);
			pb_pool_stats(p, &st);
			pb_pool_destroy(p);
			o = jobset_check(pc->desc, s, n);
			if (o.ran != n || st.submitted != n || st.executed != n)
				fail_msg("%s hooks variant %d: ran %" PRIu64 ", submitted %" PRIu64
					 ", executed %" PRIu64 ", want %zu", pc->desc, variant, o.ran,
					 st.submitted, st.executed, n);
			if (atomic_load(&h.bad_worker))
				fail_msg("%s: a hook got a worker index >= workers", pc->desc);
			if (variant == 0 &&
			    (atomic_load(&h.queued) != n || atomic_load(&h.executed) != n ||
			     atomic_load(&h.dequeued_jobs) != n ||
			     atomic_load(&h.dequeued_calls) != st.batches))
				fail_msg("%s: hooks: queued %" PRIu64 ", dequeued %" PRIu64 " in %" PRIu64
					 " calls (stats %" PRIu64 " batches), executed %" PRIu64
					 "; want %zu", pc->desc, (uint64_t)atomic_load(&h.queued),
					 (uint64_t)atomic_load(&h.dequeued_jobs),
					 (uint64_t)atomic_load(&h.dequeued_calls), st.batches,
					 (uint64_t)atomic_load(&h.executed), n);
			if (variant == 1 && (atomic_load(&h.executed) != n || atomic_load(&h.queued)))
				fail_msg("%s: executed-only hooks: executed %" PRIu64 ", want %zu",
					 pc->desc, (uint64_t)atomic_load(&h.executed), n);
			if (variant == 2 && atomic_load(&h.executed))
				fail_msg("%s: hooks called with config.hooks NULL", pc->desc);
			jobset_free(s);
		}
	}
}

/* Pinning: each worker pinned to an allowed CPU runs its jobs there. */
/*
 * A producer that keeps submitting must not hold grace periods back: submit
 * reports quiescent states (every wake_min_jobs jobs).  For every pair whose
 * reclaimer needs quiescent states (urcu-qsbr), with the smallest segments so
 * that every job retires one: while one producer submits for 300 ms without
 * closing its handle, the reclaimer must free something.  Before the fix the
 * producer stayed online and silent, and nothing was freed until it closed.
 */
static int noop_fn(void *arg)
{
	(void)arg;
	return 0;
}

static void test_producer_quiescent(void **state)
{
	(void)state;
	FOR_EACH_PCONF(pc, true) {
		struct pb_optvals qo;
		struct pb_pool_config cfg;
		struct pb_reclaim_stats rs;
		struct pb_pool *p;
		struct pb_producer *pr;
		struct pb_job job = {.fn = noop_fn};
		uint64_t t0, n = 0;

		if (!pc->r || !(pc->r->flags & PB_RC_NEEDS_QS))
			continue;
		pb_opts_defaults(&qo, pc->q->options);
		for (size_t i = 0; i < qo.n; i++)
			if (qo.defs[i].type == PB_OPT_INT && !strcmp(qo.defs[i].name, "seg-size"))
				qo.v[i] = qo.defs[i].min;
		cfg_init(&cfg, pc, 1);
		cfg.queue_opts = &qo;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		t0 = pb_now_ns();
		while (pb_now_ns() - t0 < 300000000ull) {
			if (pb_pool_submit_wait(pr, &job) != PB_OK)
				fail_msg("%s: submit failed", pc->desc);
			n++;
		}
		pb_queue_get_reclaim_stats(pc->q, pb_pool_queue(p), &rs);
		print_message("  %-40s %" PRIu64 " jobs in 300 ms: retired %" PRIu64 " freed %" PRIu64
			      " before the producer closed\n", pc->desc, n, rs.retired, rs.freed);
		if (rs.retired > 1000 && rs.freed == 0)
			fail_msg("%s: %" PRIu64 " segments retired, none freed while a producer "
				 "was submitting: it holds grace periods back", pc->desc, rs.retired);
		pb_producer_close(pr);
		pb_pool_destroy(p);
	}
}

static void test_pinning(void **state)
{
	cpu_set_t set;
	int cpus[CPU_SETSIZE];
	unsigned ncpu = 0;

	(void)state;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		fail_msg("sched_getaffinity failed");
	for (int c = 0; c < CPU_SETSIZE && ncpu < 4; c++)
		if (CPU_ISSET(c, &set))
			cpus[ncpu++] = c;
	assert_true(ncpu >= 1);
	FOR_EACH_PCONF(pc, true) {
		const size_t n = 200;
		struct jobset *s = jobset_new(n);
		struct hook_rec h = {.workers = ncpu};
		struct pb_hooks hooks = {.executed = h_executed, .ctx = &h};
		struct pb_pool_config cfg;
		struct pb_pool *p;
		struct pb_producer *pr;

		cfg_init(&cfg, pc, ncpu);
		cfg.worker_cpus = cpus;
		cfg.hooks = &hooks;
		cfg.wake_min_jobs = 1;
		p = pool_new(pc, &cfg);
		pr = producer_new(pc, p);
		submit_all(pc, pr, s, 0, n);
		pb_producer_close(pr);
		pb_pool_shutdown(p, 0, NULL);
		pb_pool_destroy(p);
		jobset_check(pc->desc, s, n);
		for (size_t i = 0; i < n; i++) {
			int w = atomic_load(&s->jobs[i].worker), c = atomic_load(&s->jobs[i].cpu);

			if (w < 0 || (unsigned)w >= ncpu)
				fail_msg("%s: job %zu: executed hook gave worker %d", pc->desc, i, w);
			if (c != cpus[w])
				fail_msg("%s: job %zu ran on cpu %d, its worker %d is pinned to cpu %d",
					 pc->desc, i, c, w, cpus[w]);
		}
		jobset_free(s);
	}
}

static int check_registry(void **state)
{
	(void)state;
	if (!pb_backends[0])
		print_message("no backend registered: pool tests have nothing to run\n");
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_exactly_once),
		cmocka_unit_test(test_exactly_once_coalescing),
		cmocka_unit_test(test_exactly_once_idle_relax),
		cmocka_unit_test(test_batch_drain),
		cmocka_unit_test(test_submit_after_shutdown),
		cmocka_unit_test(test_submit_wait_tiny),
		cmocka_unit_test(test_wake_policy),
		cmocka_unit_test(test_oversubscribed_park),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shutdown_deadline),
		cmocka_unit_test(test_destroy_drains),
		cmocka_unit_test(test_racing_shutdown),
		cmocka_unit_test(test_batch_submit),
		cmocka_unit_test(test_concurrent_shutdown),
		cmocka_unit_test(test_timer_quiet_during_batch),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_pinning),
		cmocka_unit_test(test_producer_quiescent),
	};

	return cmocka_run_group_tests(tests, check_registry, NULL);
}
