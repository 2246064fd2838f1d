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
#include "torture_common.h" /* jobs, stall hook, producer/consumer threads */

#include <inttypes.h>

#include "queue.h"
#include "reclaim.h"
#include "registry.h"

#define NSTALL 3
#define RUN_NS 200000000ull        /* producers pace themselves over this long */
#define STALL_NS 20000000ull       /* each stall: 20 ms ... */
#define STALL_MAX_NS 500000000ull  /* ... longer (<= 0.5 s) until others retired nodes */
#define STALL_POLL_NS 2000000ull
#define STALL_PASS 64              /* nodes retired meanwhile that prove the churn went on */
#define NT_MAGIC 0x0de70b7e5ba11ab1ull

struct nconf {
	const struct pb_queue_ops *q;
	const struct pb_reclaim_ops *r;
	struct pb_optvals qo, ro;
	char desc[160];
};

#define MAX_NCONFS 128
static struct nconf nconfs[MAX_NCONFS];
static size_t nnconfs;

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

/* ---- one configuration --------------------------------------------------- */

static void run_one(const struct nconf *c)
{
	struct tt_run *r = calloc(1, sizeof(*r));
	struct pb_reclaim_inst inst = {.ops = c->r};
	struct pb_queue_stats qs;
	struct pb_reclaim_stats rs;
	unsigned detached = 0, reused = 0;
	uint64_t t0 = pb_now_ns(), passed = 0;

	assert_non_null(r);
	if (c->r->create(&c->ro, &inst.dom))
		fail_msg("%s: reclaimer create failed", c->desc);
	if (c->q->create(&c->qo, &inst, &r->q))
		fail_msg("%s: queue create failed", c->desc);
	r->ops = c->q;
	r->desc = c->desc;
	r->magic = NT_MAGIC;
	r->per = tc_scale(20000);
	r->check_order = (c->q->flags & PB_Q_FIFO) != 0;
	r->nstall = NSTALL;
	r->run_ns = RUN_NS;
	r->stall_ns = STALL_NS;
	r->stall_max_ns = STALL_MAX_NS;
	r->stall_poll_ns = STALL_POLL_NS;
	r->stall_pass = STALL_PASS;
	tt_run_init(r);
	tt_run_threads(r);
	tc_errs_check(&r->errs, c->desc);
	tt_check_seen(r);

	pb_queue_get_stats(c->q, r->q, &qs);
	pb_queue_get_reclaim_stats(c->q, r->q, &rs);
	for (unsigned i = 0; i < r->nstalls; i++) {
		const struct tt_stall *s = &r->stalls[i];

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
	c->r->destroy(inst.dom);
	tt_run_fini(r);
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
