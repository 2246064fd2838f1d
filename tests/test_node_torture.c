/* SPDX-License-Identifier: MIT */
/*
 * Reclamation torture for the node-based backends, generated from the
 * registries: every backend with PB_Q_RECLAIM except segmented (which
 * tests/test_queue_torture.c covers with its segment-specific checks), with
 * every reclaimer it accepts, with recycle on and off where the backend
 * has that option.  2 producers and 2 consumers churn through tens of
 * thousands of nodes, each pop retiring one, while a third consumer stalls
 * ~20 ms at a time INSIDE its section, at the backend's torture point
 * "<backend>.pop.protected" (core/pb.h), holding a node that the others
 * dequeue past and retire meanwhile.  A proven reclaimer must not let that
 * node be reused (its job tag, read before and after the stall, must not
 * change); with recycle=off the node would be free()d instead, which ASan
 * catches when the staller reads it.  Every job is checked exactly once
 * (magic tag, per-producer sequence, FIFO order in each consumer's stream for
 * FIFO backends).
 */
#include "common.h"

#include <inttypes.h>

#include "queue.h"
#include "reclaim.h"
#include "registry.h"

#define NPROD 2
#define NCHURN 2
#define NCONS (NCHURN + 1)         /* + the staller */
#define NSTALL 3
#define RUN_NS 200000000ull        /* producers pace themselves over this long */
#define STALL_NS 20000000ull       /* each stall: 20 ms ... */
#define STALL_MAX_NS 500000000ull  /* ... longer (<= 0.5 s) until others retired nodes */
#define STALL_PASS 64              /* nodes retired meanwhile that prove the churn went on */
#define TT_MAGIC 0x0de70b7e5ba11ab1ull
#define SEQ_BITS 40

struct nconf {
	const struct pb_queue_ops *q;
	const struct pb_reclaim_ops *r;
	struct pb_optvals qo, ro;
	char desc[160];
};

#define MAX_NCONFS 128
static struct nconf nconfs[MAX_NCONFS];
static size_t nnconfs;

struct stall {
	uint64_t gen_before, gen_after;
	unsigned flags_after;
	uint64_t retired_during;
};

struct run {
	const struct nconf *c;
	struct pb_reclaim_inst inst;
	struct pb_queue *q;
	uint64_t per, total;
	atomic_uchar *seen;
	atomic_uint_fast64_t popped;
	atomic_uint producers_done;
	atomic_uint_fast64_t last_progress_ns;
	atomic_int stop;
	pthread_barrier_t start;
	struct tc_errs errs;
	/* the staller's (its thread only; main reads after join) */
	unsigned nstalls;
	bool in_stall;
	const void *held;
	struct stall stalls[NSTALL];
};

struct targ {
	struct run *r;
	unsigned id;
	bool staller;
};

static void add_conf(const struct pb_queue_ops *q, const struct pb_reclaim_ops *r, int recycle)
{
	struct nconf *c = &nconfs[nnconfs++];
	char err[128];

	c->q = q;
	c->r = r;
	pb_opts_defaults(&c->qo, q->options);
	pb_opts_defaults(&c->ro, r->options);
	if (recycle >= 0)
		assert_int_equal(pb_opts_set(&c->qo, "recycle", recycle ? "on" : "off", err, sizeof(err)), 0);
	snprintf(c->desc, sizeof(c->desc), "backend=%s reclaim=%s%s", q->name, r->name,
		 recycle == 0 ? " recycle=off" : "");
}

static int setup_confs(void **state)
{
	(void)state;
	for (size_t i = 0; pb_backends[i]; i++) {
		const struct pb_queue_ops *q = pb_backends[i];
		bool has_recycle = false;

		if (!(q->flags & PB_Q_RECLAIM) || !strcmp(q->name, "segmented") ||
		    (q->supported && q->supported()))
			continue;
		for (size_t k = 0; q->options && q->options[k].name; k++)
			has_recycle |= !strcmp(q->options[k].name, "recycle");
		for (size_t k = 0; pb_reclaimers[k]; k++) {
			const struct pb_reclaim_ops *r = pb_reclaimers[k];

			if (!pb_queue_accepts_reclaim(q, r->name) || !tc_only(q->name, r->name) ||
			    (r->supported && r->supported()))
				continue;
			if (nnconfs + 2 > MAX_NCONFS)
				return -1;
			add_conf(q, r, has_recycle ? 1 : -1);
			if (has_recycle)
				add_conf(q, r, 0);
		}
	}
	print_message("%zu configurations\n", nnconfs);
	return 0;
}

/* ---- jobs --------------------------------------------------------------- */

static atomic_int nt_cancel;

static int nt_fn(void *arg)
{
	(void)arg;
	return 0;
}

static uint64_t nt_tag(unsigned prod, uint64_t seq)
{
	return TT_MAGIC ^ (seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)prod << 56);
}

static void nt_make(struct pb_job *j, unsigned prod, uint64_t seq)
{
	memset(j, 0, sizeof(*j));
	j->fn = nt_fn;
	j->arg = (void *)(uintptr_t)(((uint64_t)prod << SEQ_BITS) | seq);
	j->cancel = &nt_cancel;
	j->deadline_ns = ~seq;
	j->tag = nt_tag(prod, seq);
}

static const char *nt_check(const struct run *r, const struct pb_job *j, unsigned *prod,
			    uint64_t *seq)
{
	uint64_t a = (uint64_t)(uintptr_t)j->arg;

	*prod = (unsigned)(a >> SEQ_BITS);
	*seq = a & ((1ull << SEQ_BITS) - 1);
	if (*prod >= NPROD || *seq >= r->per)
		return "arg out of range (garbage job)";
	if (j->tag != nt_tag(*prod, *seq))
		return "bad magic tag (torn or stale job)";
	if (j->fn != nt_fn || j->cancel != &nt_cancel || j->deadline_ns != ~*seq)
		return "job fields not copied intact";
	return NULL;
}

/* ---- the stall hook (staller thread only) -------------------------------- */

static uint64_t retired(const struct run *r)
{
	struct pb_queue_stats st;

	pb_queue_get_stats(r->c->q, r->q, &st);
	return st.segs_retired; /* node backends count retired nodes here */
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void stall_hook(const struct pb_torture_probe *p, void *arg)
{
	struct run *r = arg;

	if (ends_with(p->where, ".pop.protected")) {
		struct stall *s;
		uint64_t t0, r0;

		if (r->nstalls >= NSTALL ||
		    atomic_load(&r->popped) < r->total * (r->nstalls + 1) / (NSTALL + 1))
			return;
		s = &r->stalls[r->nstalls];
		s->gen_before = p->gen;
		r->held = p->obj;
		r->in_stall = true;
		r0 = retired(r);
		t0 = pb_now_ns();
		tc_sleep_ns(STALL_NS);
		while (retired(r) - r0 < STALL_PASS && pb_now_ns() - t0 < STALL_MAX_NS &&
		       atomic_load(&r->popped) < r->total && !atomic_load(&r->stop))
			tc_sleep_ns(2000000);
		s->retired_during = retired(r) - r0;
		return;
	}
	if (r->in_stall && ends_with(p->where, ".pop.protected.resumed")) {
		struct stall *s = &r->stalls[r->nstalls++];

		r->in_stall = false;
		if (p->obj != r->held)
			tc_err(&r->errs, "%s: probe resumed on %p, stalled on %p", r->c->desc, p->obj,
			       r->held);
		s->gen_after = p->gen;
		s->flags_after = p->flags;
	}
}

/* ---- threads ------------------------------------------------------------ */

static void *producer_main(void *arg)
{
	struct targ *a = arg;
	struct run *r = a->r;
	const struct pb_queue_ops *o = r->c->q;
	struct pb_qthread *t = NULL;
	uint64_t rnd = 0x51ed27ull + a->id * 7919, t0;
	struct pb_job j;
	int rc;

	pthread_barrier_wait(&r->start);
	t0 = pb_now_ns();
	rc = o->thread_register(r->q, &t);
	if (rc) {
		tc_err(&r->errs, "%s: producer %u: thread_register %d", r->c->desc, a->id, rc);
		atomic_store(&r->stop, 1);
		goto out;
	}
	/* relaxed: `stop` only asks threads to give up after an error */
	for (uint64_t seq = 0; seq < r->per && !atomic_load_explicit(&r->stop, memory_order_relaxed);
	     seq++) {
		nt_make(&j, a->id, seq);
		rc = o->push(r->q, t, &j);
		if (rc != PB_OK) {
			tc_err(&r->errs, "%s: producer %u: push of seq %" PRIu64 " returned %d",
			       r->c->desc, a->id, seq, rc);
			atomic_store(&r->stop, 1);
			break;
		}
		if ((seq & 15) == 0) {
			/* Pace: keep the churn going through every stall. */
			uint64_t due = t0 + RUN_NS * seq / r->per, now;

			pb_queue_quiescent(o, r->q, t);
			while ((now = pb_now_ns()) < due &&
			       !atomic_load_explicit(&r->stop, memory_order_relaxed))
				tc_sleep_ns(due - now < 1000000 ? due - now : 1000000);
		}
		tc_maybe_yield(&rnd, 6);
	}
	o->thread_unregister(r->q, t);
out:
	atomic_fetch_add(&r->producers_done, 1);
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct targ *a = arg;
	struct run *r = a->r;
	const struct pb_queue_ops *o = r->c->q;
	const bool fifo = (o->flags & PB_Q_FIFO) != 0;
	struct pb_qthread *t = NULL;
	struct pb_job buf[8];
	int64_t last[NPROD];
	uint64_t rnd = 0xc0ffeeull + a->id * 104729;
	int rc;

	for (unsigned p = 0; p < NPROD; p++)
		last[p] = -1;
	pthread_barrier_wait(&r->start);
	rc = o->thread_register(r->q, &t);
	if (rc) {
		tc_err(&r->errs, "%s: consumer %u: thread_register %d", r->c->desc, a->id, rc);
		atomic_store(&r->stop, 1);
		return NULL;
	}
	if (a->staller)
		pb_torture_set_hook(stall_hook, r);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) { /* relaxed: as above */
		size_t max = 1 + tc_rand(&rnd) % PB_ARRAY_SIZE(buf);
		size_t n = o->pop_batch(r->q, t, buf, max);

		if (n > max) {
			tc_err(&r->errs, "%s: pop_batch(max %zu) returned %zu", r->c->desc, max, n);
			atomic_store(&r->stop, 1);
			break;
		}
		for (size_t k = 0; k < n; k++) {
			unsigned prod;
			uint64_t seq;
			const char *why = nt_check(r, &buf[k], &prod, &seq);

			if (why) {
				tc_err(&r->errs, "%s: %s", r->c->desc, why);
				atomic_store(&r->stop, 1);
				break;
			}
			if (atomic_fetch_add(&r->seen[prod * r->per + seq], 1) != 0)
				tc_err(&r->errs, "%s: job (producer %u, seq %" PRIu64 ") popped twice",
				       r->c->desc, prod, seq);
			if (fifo && (int64_t)seq <= last[prod])
				tc_err(&r->errs, "%s: per-producer order violated in one consumer's "
				       "stream: producer %u seq %" PRIu64 " after %" PRId64,
				       r->c->desc, prod, seq, last[prod]);
			last[prod] = (int64_t)seq;
		}
		pb_queue_quiescent(o, r->q, t);
		if (n) {
			atomic_fetch_add(&r->popped, n);
			/* relaxed: a coarse progress clock for the stall detector */
			atomic_store_explicit(&r->last_progress_ns, pb_now_ns(), memory_order_relaxed);
			tc_maybe_yield(&rnd, 4);
			continue;
		}
		if (atomic_load(&r->popped) >= r->total)
			break;
		if (atomic_load(&r->producers_done) == NPROD) {
			uint64_t lastp = atomic_load_explicit(&r->last_progress_ns, memory_order_relaxed);
			uint64_t now = pb_now_ns();

			if (now > lastp && now - lastp > tc_stall_ns() + STALL_MAX_NS * NSTALL) {
				tc_err(&r->errs, "%s: lost jobs: %" PRIu64 " of %" PRIu64 " popped",
				       r->c->desc, (uint64_t)atomic_load(&r->popped), r->total);
				atomic_store(&r->stop, 1);
				break;
			}
		}
		sched_yield();
	}
	if (a->staller)
		pb_torture_set_hook(NULL, NULL);
	o->thread_unregister(r->q, t);
	return NULL;
}

/* ---- one configuration --------------------------------------------------- */

static void run_one(const struct nconf *c)
{
	struct run *r = calloc(1, sizeof(*r));
	struct targ args[NPROD + NCONS];
	pthread_t th[NPROD + NCONS];
	struct pb_queue_stats qs;
	struct pb_reclaim_stats rs;
	unsigned nth = 0, detached = 0, reused = 0;
	uint64_t t0 = pb_now_ns(), passed = 0;

	assert_non_null(r);
	r->c = c;
	r->inst.ops = c->r;
	if (c->r->create(&c->ro, &r->inst.dom))
		fail_msg("%s: reclaimer create failed", c->desc);
	if (c->q->create(&c->qo, &r->inst, &r->q))
		fail_msg("%s: queue create failed", c->desc);
	r->per = tc_scale(20000);
	r->total = r->per * NPROD;
	r->seen = calloc(r->total, sizeof(*r->seen));
	assert_non_null(r->seen);
	tc_errs_init(&r->errs);
	atomic_store(&r->last_progress_ns, pb_now_ns());
	pthread_barrier_init(&r->start, NULL, NPROD + NCONS + 1);
	atomic_store(&pb_torture_enabled, 1);
	for (unsigned i = 0; i < NPROD; i++) {
		args[nth] = (struct targ){r, i, false};
		tc_spawn(&th[nth], producer_main, &args[nth]);
		nth++;
	}
	for (unsigned i = 0; i < NCONS; i++) {
		args[nth] = (struct targ){r, i, i == NCONS - 1};
		tc_spawn(&th[nth], consumer_main, &args[nth]);
		nth++;
	}
	pthread_barrier_wait(&r->start);
	for (unsigned i = 0; i < nth; i++)
		tc_join(th[i]);
	atomic_store(&pb_torture_enabled, 0);
	tc_errs_check(&r->errs, c->desc);

	for (uint64_t i = 0; i < r->total; i++)
		if (atomic_load(&r->seen[i]) != 1)
			fail_msg("%s: job (producer %" PRIu64 ", seq %" PRIu64 ") popped %u times",
				 c->desc, i / r->per, i % r->per, (unsigned)atomic_load(&r->seen[i]));
	pb_queue_get_stats(c->q, r->q, &qs);
	pb_queue_get_reclaim_stats(c->q, r->q, &rs);
	for (unsigned i = 0; i < r->nstalls; i++) {
		const struct stall *s = &r->stalls[i];

		detached += (s->flags_after & PB_TORTURE_DETACHED) != 0;
		passed += s->retired_during;
		reused += s->gen_after != s->gen_before;
	}
	print_message("  %-44s %6.0f ms  nodes retired %6" PRIu64 " allocs %6" PRIu64
		      "  stalls %u (held node detached in %u, %" PRIu64 " retired meanwhile), "
		      "reused %u; rc retired %" PRIu64 " freed %" PRIu64 " peak pending %" PRIu64 "\n",
		      c->desc, (double)(pb_now_ns() - t0) / 1e6, qs.segs_retired, qs.allocs,
		      r->nstalls, detached, passed, reused, rs.retired, rs.freed, rs.pending_peak);
	if (reused)
		fail_msg("%s: the stalled consumer's node was reused while its section held it "
			 "(%u of %u stalls)", c->desc, reused, r->nstalls);
	if (qs.segs_retired < r->total * 9 / 10)
		fail_msg("%s: only %" PRIu64 " nodes retired for %" PRIu64 " jobs", c->desc,
			 qs.segs_retired, r->total);
	if (r->nstalls == 0 || detached == 0 || passed < STALL_PASS)
		fail_msg("%s: %u stalls, held node detached in %u, %" PRIu64 " retired meanwhile: "
			 "the stalls never overlapped the churn", c->desc, r->nstalls, detached, passed);
	c->q->destroy(r->q);
	c->r->destroy(r->inst.dom);
	pthread_barrier_destroy(&r->start);
	free(r->seen);
	free(r);
}

static void test_stalled_section(void **state)
{
	(void)state;
	if (!nnconfs)
		skip();
	for (size_t i = 0; i < nnconfs; i++)
		run_one(&nconfs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_section),
	};

	return cmocka_run_group_tests(tests, setup_confs, NULL);
}
