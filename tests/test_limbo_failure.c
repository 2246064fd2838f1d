/* SPDX-License-Identifier: MIT */
/*
 * The seed's limbo failure, reproduced and contrasted: the segmented backend
 * with tiny segments (seg-size 1) and a small pre-filled pool, run with every
 * registered reclaimer it accepts.  Checks exactly-once delivery, then the
 * segment counters: limbo (retire-order=seed, the default) keeps allocating
 * after warm-up, leaks, and stalls when supply is bounded; proven schemes give
 * every segment back, allocate after warm-up only as far as their pending
 * backlog grows, and complete with bounded supply; `none` allocates one
 * segment per seg-size jobs and stalls when bounded.  docs/segmented.md has
 * the figures and why "zero allocations in a fixed window" is not the right
 * test for a proven scheme.
 */
#include "common.h"

#include <inttypes.h>

#include "queue.h"
#include "reclaim.h"
#include "registry.h"

#define SEG_SIZE   1
#define SEG_COUNT  16
#define WINDOW     8   /* most jobs in flight (pushed - popped) */
#define BATCH      32
#define MAX_PROD   4

struct run {
	const struct pb_queue_ops *qo;
	struct pb_queue *q;
	unsigned np, nc;
	uint64_t first, njobs;   /* job ids [first, first + njobs) */
	_Atomic uint64_t pushed, popped;
	_Atomic int stop;
	atomic_uchar *seen;      /* indexed by id */
	struct tc_errs errs;
	_Atomic uint64_t fulls;
};

struct worker {
	struct run *r;
	unsigned idx;
};

static void *producer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	struct pb_qthread *t;
	uint64_t seq = 0, rnd = (uint64_t)w->idx * 7919 + 1;

	if (r->qo->thread_register(r->q, &t)) {
		tc_err(&r->errs, "producer %u: thread_register failed", w->idx);
		return NULL;
	}
	for (uint64_t id = r->first + w->idx; id < r->first + r->njobs; id += r->np) {
		struct pb_job job = {0};
		int st;

		job.arg = (void *)(uintptr_t)id;
		job.tag = ((uint64_t)w->idx << 48) | seq++;
		/* keep the backlog small so the number of segments in use is bounded */
		while (atomic_load(&r->pushed) - atomic_load(&r->popped) >= WINDOW &&
		       !atomic_load(&r->stop)) {
			pb_queue_quiescent(r->qo, r->q, t);
			sched_yield();
		}
		for (;;) {
			if (atomic_load(&r->stop))
				goto out;
			st = r->qo->push(r->q, t, &job);
			if (st == PB_OK)
				break;
			if (st != PB_FULL) {
				tc_err(&r->errs, "producer %u: push returned %d", w->idx, st);
				goto out;
			}
			atomic_fetch_add(&r->fulls, 1);
			pb_queue_quiescent(r->qo, r->q, t);
			sched_yield();
		}
		atomic_fetch_add(&r->pushed, 1);
		if ((seq & 15) == 0)
			pb_queue_quiescent(r->qo, r->q, t);
		tc_maybe_yield(&rnd, 10);
	}
out:
	r->qo->thread_unregister(r->q, t);
	return NULL;
}

static void *consumer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	struct pb_qthread *t;
	struct pb_job out[BATCH];
	uint64_t last[MAX_PROD];
	bool any[MAX_PROD] = {false};
	uint64_t rnd = (uint64_t)w->idx * 104729 + 3;

	if (r->qo->thread_register(r->q, &t)) {
		tc_err(&r->errs, "consumer %u: thread_register failed", w->idx);
		return NULL;
	}
	while (atomic_load(&r->popped) < r->njobs && !atomic_load(&r->stop)) {
		size_t n = r->qo->pop_batch(r->q, t, out, BATCH);

		for (size_t i = 0; i < n; i++) {
			uint64_t id = (uint64_t)(uintptr_t)out[i].arg;
			unsigned p = (unsigned)(out[i].tag >> 48);
			uint64_t s = out[i].tag & ((1ull << 48) - 1);

			if (id < r->first || id >= r->first + r->njobs || p >= MAX_PROD) {
				tc_err(&r->errs, "consumer %u: bad job id %" PRIu64, w->idx, id);
				continue;
			}
			if (atomic_fetch_add(&r->seen[id], 1) != 0)
				tc_err(&r->errs, "job %" PRIu64 " delivered twice", id);
			if (any[p] && s <= last[p])
				tc_err(&r->errs, "producer %u: seq %" PRIu64 " after %" PRIu64
					   " (FIFO per producer)", p, s, last[p]);
			any[p] = true;
			last[p] = s;
		}
		if (n)
			atomic_fetch_add(&r->popped, n);
		/* a worker's natural quiescent point: between batches */
		pb_queue_quiescent(r->qo, r->q, t);
		if (!n)
			sched_yield();
		else
			tc_maybe_yield(&rnd, 8);
	}
	r->qo->thread_unregister(r->q, t);
	return NULL;
}

/*
 * Run one phase: np producers and nc consumers move ids [first, first+n).
 * Returns true if it completed, false if it made no progress for the stall
 * window (then every thread is stopped and joined).
 */
static bool run_phase(struct run *r, unsigned np, unsigned nc, uint64_t first, uint64_t n,
		      uint64_t stall_ns)
{
	pthread_t th[2 * MAX_PROD];
	struct worker wk[2 * MAX_PROD];
	uint64_t last_popped = 0, last_change = pb_now_ns();
	bool done = true;

	r->np = np;
	r->nc = nc;
	r->first = first;
	r->njobs = n;
	atomic_store(&r->pushed, 0);
	atomic_store(&r->popped, 0);
	atomic_store(&r->stop, 0);
	for (unsigned i = 0; i < np + nc; i++) {
		wk[i].r = r;
		wk[i].idx = i < np ? i : i - np;
		tc_spawn(&th[i], i < np ? producer : consumer, &wk[i]);
	}
	while (atomic_load(&r->popped) < n) {
		uint64_t p = atomic_load(&r->popped);

		if (atomic_load(&r->errs.n))
			break;
		if (p != last_popped) {
			last_popped = p;
			last_change = pb_now_ns();
		} else if (pb_now_ns() - last_change > stall_ns) {
			done = false;
			break;
		}
		tc_sleep_ns(2000000);
	}
	atomic_store(&r->stop, 1);
	for (unsigned i = 0; i < np + nc; i++)
		tc_join(th[i]);
	return done && !atomic_load(&r->errs.n);
}

/* Failures of the counter checks are collected so every row gets printed. */
static char first_fail[512];
static unsigned nfails;

__attribute__((format(printf, 1, 2)))
static void note_fail(const char *fmt, ...)
{
	va_list ap;

	if (nfails++ == 0) {
		va_start(ap, fmt);
		vsnprintf(first_fail, sizeof(first_fail), fmt, ap);
		va_end(ap);
	}
	printf("  FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void check_fails(void)
{
	unsigned n = nfails;

	nfails = 0;
	if (n)
		fail_msg("%u check(s) failed, first: %s", n, first_fail);
}

enum rc_class { RC_HEURISTIC, RC_PROVEN_REUSE, RC_NO_REUSE, RC_OTHER };

static enum rc_class classify(const struct pb_reclaim_ops *rc)
{
	if (rc->flags & PB_RC_NO_REUSE)
		return RC_NO_REUSE;
	if (rc->flags & PB_RC_PROVEN)
		return RC_PROVEN_REUSE;
	if (rc->flags & PB_RC_TYPE_STABLE)
		return RC_HEURISTIC;
	return RC_OTHER;
}

struct setup {
	const struct pb_queue_ops *qo;
	const struct pb_reclaim_ops *ro;
	struct pb_reclaim_inst inst;
	struct run r;
};

static void setup_open(struct setup *s, const struct pb_reclaim_ops *ro, bool bounded,
		       uint64_t total_ids)
{
	struct pb_optvals qv, rv;
	char err[256], num[32];

	s->qo = pb_backend_find("segmented");
	assert_non_null(s->qo);
	s->ro = ro;
	pb_opts_defaults(&qv, s->qo->options);
	pb_opts_defaults(&rv, ro->options);
	snprintf(num, sizeof(num), "%d", SEG_SIZE);
	assert_int_equal(pb_opts_set(&qv, "seg-size", num, err, sizeof(err)), 0);
	snprintf(num, sizeof(num), "%d", SEG_COUNT);
	assert_int_equal(pb_opts_set(&qv, "seg-count", num, err, sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "seg-supply", bounded ? "bounded" : "alloc", err,
				     sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "pool-cap", "0", err, sizeof(err)), 0);
	s->inst.ops = ro;
	assert_int_equal(ro->create(&rv, &s->inst.dom), 0);
	memset(&s->r, 0, sizeof(s->r));
	s->r.qo = s->qo;
	assert_int_equal(s->qo->create(&qv, &s->inst, &s->r.q), 0);
	tc_errs_init(&s->r.errs);
	s->r.seen = calloc(total_ids, sizeof(*s->r.seen));
	assert_non_null(s->r.seen);
}

/*
 * After the workers are gone: register a thread with the domain, ask it to
 * free everything it can, and return the reclaimer's statistics.
 */
static void drain_reclaimer(struct setup *s, struct pb_reclaim_stats *rs)
{
	struct pb_rthread *rt;

	assert_int_equal(s->ro->thread_register(s->inst.dom, &rt), 0);
	pb_reclaim_barrier(s->ro, s->inst.dom, rt);
	s->ro->thread_unregister(s->inst.dom, rt);
	pb_reclaim_get_stats(s->ro, s->inst.dom, rs);
}

static void setup_close(struct setup *s)
{
	s->qo->destroy(s->r.q);
	s->ro->destroy(s->inst.dom);
	free(s->r.seen);
}

/* Every id in [first, first+n) seen exactly once (complete) or at most once. */
static void check_ids(struct run *r, uint64_t first, uint64_t n, bool complete, const char *what)
{
	for (uint64_t i = first; i < first + n; i++) {
		unsigned v = atomic_load(&r->seen[i]);

		if (v > 1 || (complete && v != 1))
			fail_msg("%s: job %" PRIu64 " delivered %u times", what, i, v);
	}
}

static const unsigned thread_confs[][2] = {{1, 1}, {2, 2}, {4, 4}};

static bool skip_rc(const struct pb_reclaim_ops *ro)
{
	const struct pb_queue_ops *qo = pb_backend_find("segmented");

	return !pb_queue_accepts_reclaim(qo, ro->name) || (ro->supported && ro->supported()) ||
	       !tc_only(qo->name, ro->name);
}

/* Unbounded supply: exactly-once, then allocations per job after warm-up. */
static void test_alloc_mode(void **state)
{
	const uint64_t warm = tc_scale(20000), meas = tc_scale(40000);
	const uint64_t stall = tc_stall_ns();

	(void)state;
	printf("# segmented seg-size=%d seg-count=%d seg-supply=alloc, %" PRIu64 " warm-up + %" PRIu64
	       " measured jobs\n", SEG_SIZE, SEG_COUNT, warm, meas);
	printf("# allocs/job and allocs: measured phase; pend-pk: reclaimer's pending peak (warm-up -> "
	       "end); left: pending after a barrier with every worker gone\n");
	printf("# %-10s %-5s %10s %7s %8s %15s %7s %7s %6s\n", "reclaim", "thr", "allocs/job",
	       "allocs", "seg-peak", "pend-pk", "leaked", "left", "ms");
	for (size_t k = 0; pb_reclaimers[k]; k++) {
		const struct pb_reclaim_ops *ro = pb_reclaimers[k];
		enum rc_class cls = classify(ro);

		if (skip_rc(ro))
			continue;
		for (size_t c = 0; c < PB_ARRAY_SIZE(thread_confs); c++) {
			unsigned np = thread_confs[c][0], nc = thread_confs[c][1];
			struct setup s;
			struct pb_queue_stats a, b;
			struct pb_reclaim_stats ra, rs, rd;
			char what[128];
			double per_job;
			uint64_t t0 = pb_now_ns(), slack;

			snprintf(what, sizeof(what), "reclaim=%s %ux%u alloc", ro->name, np, nc);
			setup_open(&s, ro, false, warm + meas);
			if (!run_phase(&s.r, np, nc, 0, warm, stall)) {
				tc_errs_check(&s.r.errs, what);
				fail_msg("%s: warm-up stalled (no progress for %" PRIu64 " ms)", what,
					 stall / 1000000);
			}
			pb_queue_get_stats(s.qo, s.r.q, &a);
			pb_queue_get_reclaim_stats(s.qo, s.r.q, &ra);
			if (!run_phase(&s.r, np, nc, warm, meas, stall)) {
				tc_errs_check(&s.r.errs, what);
				fail_msg("%s: measured phase stalled", what);
			}
			pb_queue_get_stats(s.qo, s.r.q, &b);
			pb_queue_get_reclaim_stats(s.qo, s.r.q, &rs);
			check_ids(&s.r, 0, warm + meas, true, what);
			drain_reclaimer(&s, &rd);
			per_job = (double)(b.allocs - a.allocs) / (double)meas;
			printf("  %-10s %ux%-3u %10.4f %7" PRIu64 " %8" PRIu64 " %7" PRIu64 " ->%6" PRIu64
			       " %7" PRIu64 " %7" PRIu64 " %6" PRIu64 "\n", ro->name, np, nc, per_job,
			       b.allocs - a.allocs, b.segs_peak, ra.pending_peak, rs.pending_peak,
			       rs.leaked, rd.pending, (pb_now_ns() - t0) / 1000000);
			fflush(stdout);
			setup_close(&s);
			/*
			 * Segments in use at any time: the chain (at most WINDOW
			 * unconsumed jobs' segments, the head and the tail), one
			 * spare per producer, and the reclaimer's pending ones.  The
			 * pool is unlimited, so a segment is allocated only when that
			 * sum reaches a new high: in the measured phase, only by as
			 * much as the pending peak grew (hp samples its peak every 32
			 * retires per thread: allow that much per thread).
			 */
			slack = WINDOW / SEG_SIZE + 3 + np + 32 * (np + nc);

			switch (cls) {
			case RC_HEURISTIC:
				/* the seed's failure: reuse keeps missing, so it keeps allocating */
				if (b.allocs == a.allocs || rs.leaked == 0)
					note_fail("%s: expected allocations after warm-up and leaked segments "
						  "(the seed's limbo failure), got %" PRIu64 " and %" PRIu64,
						  what, b.allocs - a.allocs, rs.leaked);
				break;
			case RC_PROVEN_REUSE:
				/* segments come back: nothing pending once drained... */
				if (rd.pending != 0)
					note_fail("%s: %" PRIu64 " segments still pending after a barrier "
						  "with no worker left", what, rd.pending);
				/* ...and steady state allocates only for backlog growth */
				if (b.allocs - a.allocs > rs.pending_peak - ra.pending_peak + slack)
					note_fail("%s: %" PRIu64 " allocations after warm-up, more than the "
						  "pending peak grew (%" PRIu64 ") + %" PRIu64, what,
						  b.allocs - a.allocs, rs.pending_peak - ra.pending_peak, slack);
				break;
			case RC_NO_REUSE:
				/* one fresh segment per SEG_SIZE jobs, within 10 % */
				if (per_job < 0.9 / SEG_SIZE || per_job > 1.1 / SEG_SIZE)
					note_fail("%s: %.4f allocations per job, expected about %.4f", what,
						 per_job, 1.0 / SEG_SIZE);
				break;
			case RC_OTHER:
				break;
			}
		}
	}
	check_fails();
}

/* Bounded supply: limbo (and none) run out of segments; proven schemes complete. */
static void test_bounded_mode(void **state)
{
	/* 2000 jobs cycle the 16 segments over a hundred times */
	const uint64_t n = tc_scale(2000);
	/*
	 * A stall is "no progress for this long".  Proven schemes pause, but not
	 * that long: with liburcu a segment comes back only after a grace period
	 * and a call_rcu worker's wake-up (it naps ~10 ms between batches), and a
	 * barrier behind a preempted reader can take hundreds of ms here.
	 */
	const uint64_t stall = tc_slow_build() ? 6000000000ull : 2000000000ull;

	(void)state;
	printf("# segmented seg-size=%d seg-count=%d seg-supply=bounded, %" PRIu64 " jobs, stall = no "
	       "progress for %" PRIu64 " ms\n", SEG_SIZE, SEG_COUNT, n, stall / 1000000);
	printf("# %-10s %-5s %-9s %10s %10s %8s %8s\n", "reclaim", "thr", "result", "popped", "full",
	       "pend-pk", "leaked");
	for (size_t k = 0; pb_reclaimers[k]; k++) {
		const struct pb_reclaim_ops *ro = pb_reclaimers[k];
		enum rc_class cls = classify(ro);

		if (skip_rc(ro))
			continue;
		for (size_t c = 0; c < 2; c++) {
			unsigned np = thread_confs[c][0], nc = thread_confs[c][1];
			struct setup s;
			struct pb_queue_stats qs;
			struct pb_reclaim_stats rs;
			char what[128];
			bool done;
			uint64_t popped;

			snprintf(what, sizeof(what), "reclaim=%s %ux%u bounded", ro->name, np, nc);
			setup_open(&s, ro, true, n);
			done = run_phase(&s.r, np, nc, 0, n, stall);
			tc_errs_check(&s.r.errs, what);
			popped = atomic_load(&s.r.popped);
			pb_queue_get_stats(s.qo, s.r.q, &qs);
			pb_queue_get_reclaim_stats(s.qo, s.r.q, &rs);
			check_ids(&s.r, 0, n, done, what);
			printf("  %-10s %ux%-3u %-9s %10" PRIu64 " %10" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
			       ro->name, np, nc, done ? "complete" : "stall", popped,
			       atomic_load(&s.r.fulls), rs.pending_peak, rs.leaked);
			fflush(stdout);
			if (qs.allocs != 0)
				note_fail("%s: bounded supply allocated %" PRIu64 " segments", what, qs.allocs);
			setup_close(&s);

			switch (cls) {
			case RC_HEURISTIC:
			case RC_NO_REUSE:
				if (done)
					note_fail("%s: expected a stall (segments never come back in time), "
						 "but all %" PRIu64 " jobs completed", what, n);
				break;
			case RC_PROVEN_REUSE:
				if (!done)
					note_fail("%s: stalled after %" PRIu64 " of %" PRIu64 " jobs", what,
						 popped, n);
				break;
			case RC_OTHER:
				break;
			}
		}
	}
	check_fails();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_mode),
		cmocka_unit_test(test_bounded_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
