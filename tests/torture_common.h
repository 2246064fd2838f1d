/* SPDX-License-Identifier: MIT */
/*
 * The stall machinery shared by the queue-level reclamation tortures
 * (test_queue_torture.c: segmented; test_node_torture.c: the node-based
 * backends).  TT_NPROD producers push tagged jobs, paced over run_ns, while
 * TT_NCHURN consumers pop and a last consumer, the staller, stops for
 * stall_ns (up to stall_max_ns, until stall_pass objects were retired
 * meanwhile) INSIDE its protected region at the backend's torture point
 * "<backend>.pop.protected" (core/pb.h), nstall times spread over the run.
 * Each consumer checks every job (magic tag, fields copied intact,
 * per-producer order in its own stream when check_order) and counts it in
 * seen[]; tt_check_seen() then asks for exactly once.  What a stall saw
 * (incarnation of the held object before and after, flags at resume,
 * objects retired meanwhile) is left in stalls[] for the test to judge.
 *
 * The test fills the "set by the test" part of struct tt_run (its own run
 * struct may start with it), calls tt_run_init() after creating the queue,
 * tt_run_threads(), then tc_errs_check(&r->errs, ...), tt_check_seen() and
 * its own checks, and tt_run_fini().
 */
#ifndef PB_TESTS_TORTURE_COMMON_H
#define PB_TESTS_TORTURE_COMMON_H

#include "common.h"

#include <inttypes.h>

#include "queue.h"
#include "reclaim.h"

#define TT_NPROD 2
#define TT_NCHURN 2                /* consumers that never stall */
#define TT_NCONS (TT_NCHURN + 1)   /* + the staller */
#define TT_NSTALL_MAX 4
#define TT_SEQ_BITS 40

/* One stall, as the staller saw it. */
struct tt_stall {
	uint64_t gen_before, gen_after; /* incarnation of the held object */
	unsigned flags_after;           /* PB_TORTURE_* at resume */
	uint64_t retired_during;        /* objects the others retired meanwhile */
	uint64_t ns;
};

struct tt_run {
	/* Set by the test. */
	const struct pb_queue_ops *ops;
	struct pb_queue *q;
	const char *desc;
	uint64_t magic;          /* mixed into every job's tag */
	uint64_t per;            /* jobs per producer */
	bool check_order;        /* per-producer order in each consumer's stream */
	unsigned nstall;         /* <= TT_NSTALL_MAX */
	uint64_t run_ns, stall_ns, stall_max_ns, stall_poll_ns, stall_pass;
	/* NULL, or: true for a popped job that the test counts itself instead
	 * of checking it (test_queue_torture: the backend's poison). */
	bool (*skip_job)(struct tt_run *r, const struct pb_job *j);
	/* NULL, or: called on the staller's thread when stall s resumed
	 * (r->nstalls already counts it). */
	void (*on_resume)(struct tt_run *r, const struct tt_stall *s);

	/* Shared by the threads. */
	uint64_t total;
	atomic_uchar *seen;
	atomic_uint_fast64_t popped;
	atomic_uint producers_done;
	atomic_uint_fast64_t last_progress_ns;
	atomic_int stop;
	pthread_barrier_t start;
	struct tc_errs errs;
	/* The staller's own state (its thread only; read by main after join). */
	unsigned nstalls;
	bool in_stall;
	const void *held;
	struct tt_stall stalls[TT_NSTALL_MAX];
};

struct tt_targ {
	struct tt_run *r;
	unsigned id;
	bool staller;
};

/* ---- jobs --------------------------------------------------------------- */

static atomic_int tt_cancel;

static int tt_fn(void *arg)
{
	(void)arg;
	return 0;
}

static void tt_cleanup(void *arg, int status)
{
	(void)arg;
	(void)status;
}

static uint64_t tt_tag(const struct tt_run *r, unsigned prod, uint64_t seq)
{
	return r->magic ^ (seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)prod << 56);
}

static void tt_make(const struct tt_run *r, struct pb_job *j, unsigned prod, uint64_t seq)
{
	memset(j, 0, sizeof(*j));
	j->fn = tt_fn;
	j->arg = (void *)(uintptr_t)(((uint64_t)prod << TT_SEQ_BITS) | seq);
	j->cleanup = tt_cleanup;
	j->cancel = &tt_cancel;
	j->deadline_ns = ~seq;
	j->tag = tt_tag(r, prod, seq);
}

/* NULL, or what is wrong with a popped job. */
static const char *tt_check(const struct tt_run *r, const struct pb_job *j, unsigned *prod,
			    uint64_t *seq)
{
	uint64_t a = (uint64_t)(uintptr_t)j->arg;

	*prod = (unsigned)(a >> TT_SEQ_BITS);
	*seq = a & ((1ull << TT_SEQ_BITS) - 1);
	if (*prod >= TT_NPROD || *seq >= r->per)
		return "arg out of range (garbage job)";
	if (j->tag != tt_tag(r, *prod, *seq))
		return "bad magic tag (torn or stale job)";
	if (j->fn != tt_fn || j->cleanup != tt_cleanup || j->cancel != &tt_cancel ||
	    j->deadline_ns != ~*seq)
		return "job fields not copied intact";
	return NULL;
}

/* ---- the stall hook (runs on the staller thread only) -------------------- */

static uint64_t tt_retired(const struct tt_run *r)
{
	struct pb_queue_stats st;

	pb_queue_get_stats(r->ops, r->q, &st);
	return st.segs_retired; /* segments, or nodes for the node backends */
}

static bool tt_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void tt_stall_hook(const struct pb_torture_probe *p, void *arg)
{
	struct tt_run *r = arg;

	if (tt_ends_with(p->where, ".pop.protected")) {
		struct tt_stall *s;
		uint64_t t0, r0;

		/* Stalls spread over the run: the k-th after k/(nstall+1) of the jobs. */
		if (r->nstalls >= r->nstall ||
		    atomic_load(&r->popped) < r->total * (r->nstalls + 1) / (r->nstall + 1))
			return;
		s = &r->stalls[r->nstalls];
		s->gen_before = p->gen;
		r->held = p->obj;
		r->in_stall = true;
		r0 = tt_retired(r);
		t0 = pb_now_ns();
		tc_sleep_ns(r->stall_ns);
		/* Stay until the others have certainly moved past the held object
		 * (and retired it), unless the run is ending. */
		while (tt_retired(r) - r0 < r->stall_pass && pb_now_ns() - t0 < r->stall_max_ns &&
		       atomic_load(&r->popped) < r->total && !atomic_load(&r->stop))
			tc_sleep_ns(r->stall_poll_ns);
		s->retired_during = tt_retired(r) - r0;
		s->ns = pb_now_ns() - t0;
		return;
	}
	if (r->in_stall && tt_ends_with(p->where, ".pop.protected.resumed")) {
		struct tt_stall *s = &r->stalls[r->nstalls++];

		r->in_stall = false;
		if (p->obj != r->held)
			tc_err(&r->errs, "%s: torture probe resumed on %p, stalled on %p", r->desc,
			       p->obj, r->held);
		s->gen_after = p->gen;
		s->flags_after = p->flags;
		if (r->on_resume)
			r->on_resume(r, s);
	}
}

/* ---- threads ------------------------------------------------------------ */

static void *tt_producer_main(void *arg)
{
	struct tt_targ *a = arg;
	struct tt_run *r = a->r;
	struct pb_qthread *t = NULL;
	uint64_t rnd = 0x51ed27ull + a->id * 7919, t0;
	struct pb_job j;
	int rc;

	pthread_barrier_wait(&r->start);
	t0 = pb_now_ns();
	rc = r->ops->thread_register(r->q, &t);
	if (rc) {
		tc_err(&r->errs, "%s: producer %u: thread_register %d", r->desc, a->id, rc);
		atomic_store(&r->stop, 1);
		goto out;
	}
	/* relaxed: `stop` only asks threads to give up after an error */
	for (uint64_t seq = 0; seq < r->per && !atomic_load_explicit(&r->stop, memory_order_relaxed);
	     seq++) {
		tt_make(r, &j, a->id, seq);
		rc = r->ops->push(r->q, t, &j);
		if (rc != PB_OK) {
			/* unbounded as configured; nobody closes */
			tc_err(&r->errs, "%s: producer %u: push of seq %" PRIu64 " returned %d",
			       r->desc, a->id, seq, rc);
			atomic_store(&r->stop, 1);
			break;
		}
		if ((seq & 15) == 0) {
			/* Pace: spread the pushes over run_ns, so that the churn goes on
			 * through every stall instead of ending inside the first. */
			uint64_t due = t0 + r->run_ns * seq / r->per, now;

			pb_queue_quiescent(r->ops, r->q, t);
			while ((now = pb_now_ns()) < due &&
			       !atomic_load_explicit(&r->stop, memory_order_relaxed))
				tc_sleep_ns(due - now < 1000000 ? due - now : 1000000);
		}
		tc_maybe_yield(&rnd, 6);
	}
	r->ops->thread_unregister(r->q, t);
out:
	atomic_fetch_add(&r->producers_done, 1);
	return NULL;
}

/* Check and count what one pop_batch returned; false: stop consuming. */
static bool tt_take(struct tt_run *r, const struct pb_job *buf, size_t n, int64_t *last)
{
	for (size_t k = 0; k < n; k++) {
		unsigned prod;
		uint64_t seq;
		const char *why;

		if (r->skip_job && r->skip_job(r, &buf[k]))
			continue;
		why = tt_check(r, &buf[k], &prod, &seq);
		if (why) {
			tc_err(&r->errs, "%s: %s", r->desc, why);
			atomic_store(&r->stop, 1);
			return false;
		}
		if (atomic_fetch_add(&r->seen[prod * r->per + seq], 1) != 0)
			tc_err(&r->errs, "%s: job (producer %u, seq %" PRIu64 ") popped twice", r->desc,
			       prod, seq);
		if (r->check_order && (int64_t)seq <= last[prod])
			tc_err(&r->errs, "%s: per-producer order violated in one consumer's "
			       "stream: producer %u seq %" PRIu64 " after %" PRId64,
			       r->desc, prod, seq, last[prod]);
		last[prod] = (int64_t)seq;
	}
	return true;
}

static void *tt_consumer_main(void *arg)
{
	struct tt_targ *a = arg;
	struct tt_run *r = a->r;
	struct pb_qthread *t = NULL;
	struct pb_job buf[8];
	int64_t last[TT_NPROD];
	uint64_t rnd = 0xc0ffeeull + a->id * 104729;
	int rc;

	for (unsigned p = 0; p < TT_NPROD; p++)
		last[p] = -1;
	pthread_barrier_wait(&r->start);
	rc = r->ops->thread_register(r->q, &t);
	if (rc) {
		tc_err(&r->errs, "%s: consumer %u: thread_register %d", r->desc, a->id, rc);
		atomic_store(&r->stop, 1);
		return NULL;
	}
	if (a->staller)
		pb_torture_set_hook(tt_stall_hook, r);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) { /* relaxed: as above */
		size_t max = 1 + tc_rand(&rnd) % PB_ARRAY_SIZE(buf);
		size_t n = r->ops->pop_batch(r->q, t, buf, max);

		if (n > max) {
			tc_err(&r->errs, "%s: pop_batch(max %zu) returned %zu", r->desc, max, n);
			atomic_store(&r->stop, 1);
			break;
		}
		if (!tt_take(r, buf, n, last))
			break;
		pb_queue_quiescent(r->ops, r->q, t);
		if (n) {
			atomic_fetch_add(&r->popped, n);
			/* relaxed: a coarse progress clock for the stall detector */
			atomic_store_explicit(&r->last_progress_ns, pb_now_ns(), memory_order_relaxed);
			tc_maybe_yield(&rnd, 4);
			continue;
		}
		if (atomic_load(&r->popped) >= r->total)
			break;
		if (atomic_load(&r->producers_done) == TT_NPROD) {
			/* Load the clock before reading now: another consumer may store a
			 * newer time meanwhile, and now - last must not underflow. */
			uint64_t lastp = atomic_load_explicit(&r->last_progress_ns, memory_order_relaxed);
			uint64_t now = pb_now_ns();

			if (now > lastp && now - lastp > tc_stall_ns() + r->stall_max_ns * r->nstall) {
				tc_err(&r->errs, "%s: lost jobs: %" PRIu64 " of %" PRIu64 " popped, "
				       "then nothing for %" PRIu64 " s", r->desc,
				       (uint64_t)atomic_load(&r->popped), r->total,
				       (now - lastp) / 1000000000u);
				atomic_store(&r->stop, 1);
				break;
			}
		}
		sched_yield();
	}
	if (a->staller)
		pb_torture_set_hook(NULL, NULL);
	r->ops->thread_unregister(r->q, t);
	return NULL;
}

/* ---- one run ----------------------------------------------------------- */

/* After the test set its part (ops, q, desc, per, ...): the shared state. */
static void tt_run_init(struct tt_run *r)
{
	assert_true(r->nstall <= TT_NSTALL_MAX);
	r->total = r->per * TT_NPROD;
	r->seen = calloc(r->total, sizeof(*r->seen));
	assert_non_null(r->seen);
	tc_errs_init(&r->errs);
	atomic_store(&r->last_progress_ns, pb_now_ns());
	pthread_barrier_init(&r->start, NULL, TT_NPROD + TT_NCONS + 1);
}

/* The producers and consumers (the last one stalls), torture points on. */
static void tt_run_threads(struct tt_run *r)
{
	struct tt_targ args[TT_NPROD + TT_NCONS];
	pthread_t th[TT_NPROD + TT_NCONS];
	unsigned nth = 0;

	atomic_store(&pb_torture_enabled, 1);
	for (unsigned i = 0; i < TT_NPROD; i++) {
		args[nth] = (struct tt_targ){r, i, false};
		tc_spawn(&th[nth], tt_producer_main, &args[nth]);
		nth++;
	}
	for (unsigned i = 0; i < TT_NCONS; i++) {
		args[nth] = (struct tt_targ){r, i, i == TT_NCONS - 1};
		tc_spawn(&th[nth], tt_consumer_main, &args[nth]);
		nth++;
	}
	pthread_barrier_wait(&r->start);
	for (unsigned i = 0; i < nth; i++)
		tc_join(th[i]);
	atomic_store(&pb_torture_enabled, 0);
}

/* Exactly once: every job seen once (duplicates were caught as they came). */
static void tt_check_seen(const struct tt_run *r)
{
	for (uint64_t i = 0; i < r->total; i++)
		if (atomic_load(&r->seen[i]) != 1)
			fail_msg("%s: job (producer %" PRIu64 ", seq %" PRIu64 ") popped %u times",
				 r->desc, i / r->per, i % r->per, (unsigned)atomic_load(&r->seen[i]));
}

static void tt_run_fini(struct tt_run *r)
{
	pthread_barrier_destroy(&r->start);
	free(r->seen);
}

#endif
