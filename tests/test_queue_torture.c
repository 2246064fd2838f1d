/* SPDX-License-Identifier: MIT */
/*
 * Queue-level reclamation torture for the segmented backend (rcutorture
 * style), generated from the registry: for every reclaimer segmented accepts,
 * 2 producers and 2 consumers churn through >= 20k tiny segments while a third
 * consumer stalls ~50 ms at a time INSIDE its protected region (holding the
 * head segment, through the torture hook of core/pb.h).  Every job is checked
 * exactly once (magic tag, per-producer sequence); no popped job may carry
 * the backend's poison; under ASan a pooled or freed segment is unaddressable,
 * so any stale access aborts.  Proven schemes must never let the held segment
 * be reused; for limbo the test reports what happened as a FINDING.
 * A reuse is printed the moment the staller resumes on it, and a crash (a
 * broken reclaimer in a release build: no ASan to catch the stale access
 * first) prints the configuration and what was seen so far before the
 * process dies, in every build type (a signal handler; under a sanitizer its
 * death callback, so that the sanitizer's own report stays).
 */
#include "torture_common.h" /* jobs, stall hook, producer/consumer threads */

#include <inttypes.h>
#include <signal.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <sanitizer/common_interface_defs.h>
#define TT_SANITIZER 1
#endif

#include "queue.h"
#include "reclaim.h"
#include "registry.h"

#define NSTALL 4                   /* stalls per configuration */
#define RUN_NS 300000000ull        /* producers pace themselves over this long */
#define STALL_NS 50000000ull       /* each stall: 50 ms ... */
#define STALL_MAX_NS 1000000000ull /* ... longer (<= 1 s) until others passed the segment */
#define STALL_POLL_NS 5000000ull
#define STALL_PASS_SEGS 4          /* segments retired meanwhile that prove it was passed */
#define SEG_COUNT "4"
#define POOL_CAP "8"
#define SEGS_MIN 20000ull
#define POISON64 0x6b6b6b6b6b6b6b6bull /* backends/segmented.c fills pooled jobs with 0x6b */
#define QT_MAGIC 0x70b7e5ba11ab1e55ull

/* One configuration: reclaimer (+ options) x seg-size x retire-order. */
struct tconf {
	const struct pb_reclaim_ops *r;
	struct pb_optvals ro;
	unsigned seg_size;
	bool released;
	bool bitmap; /* readiness=bitmap (segmented's other variant) */
	bool drain_seg; /* drain=segment (the seed's one-segment pop; default batch) */
	char desc[160];
};

#define MAX_TCONFS 256
static struct tconf tconfs[MAX_TCONFS];
static size_t ntconfs;
static const struct pb_queue_ops *segq;

struct run {
	struct tt_run t;               /* first: the shared machinery's (tt_poisoned) */
	const struct tconf *c;
	struct pb_reclaim_inst inst;
	atomic_uint_fast64_t poisoned; /* popped jobs that carry the poison */
};

/* ---- configurations --------------------------------------------------- */

static int setup_confs(void **state)
{
	(void)state;
	segq = pb_backend_find("segmented");
	if (!segq)
		return -1;
	ntconfs = 0;
	for (size_t k = 0; pb_reclaimers[k]; k++) {
		const struct pb_reclaim_ops *r = pb_reclaimers[k];
		const char *why = r->supported ? r->supported() : NULL;

		if (!pb_queue_accepts_reclaim(segq, r->name) || !tc_only(segq->name, r->name))
			continue;
		if (why) {
			print_message("SKIP reclaim=%s: %s\n", r->name, why);
			continue;
		}
		/* Defaults: seg-size 1 and 2, both retire orders.  Then, if the
		 * scheme has integer options, all at their minimum (the most eager
		 * reclamation: hp threshold 1, limbo-size 1, ...), seg-size 1.
		 * Last, readiness=bitmap at seg-size 2 (two bits a word: runs and
		 * the parity flip of I2b under reuse).  The seg-size-2 released
		 * case pops one segment a call (drain=segment, the seed's code);
		 * every other case crosses segments in a pop (drain=batch). */
		for (int v = 0; v < 6; v++) {
			struct tconf *c;
			size_t off;
			char val[64];

			if (ntconfs == MAX_TCONFS)
				return -1;
			c = &tconfs[ntconfs];
			memset(c, 0, sizeof(*c));
			c->r = r;
			pb_opts_defaults(&c->ro, r->options);
			c->seg_size = v < 4 ? 1u + (unsigned)(v / 2) : v == 4 ? 1u : 2u;
			c->released = v < 4 ? (v & 1) : v == 4;
			c->bitmap = v == 5;
			c->drain_seg = v == 3;
			if (v == 4) {
				bool moved = false;

				for (size_t i = 0; i < c->ro.n; i++)
					if (c->ro.defs[i].type == PB_OPT_INT &&
					    c->ro.v[i] != c->ro.defs[i].min) {
						c->ro.v[i] = c->ro.defs[i].min;
						moved = true;
					}
				if (!moved)
					continue;
			}
			off = (size_t)snprintf(c->desc, sizeof(c->desc),
					       "reclaim=%s seg-size=%u seg-count=%s pool-cap=%s "
					       "retire-order=%s%s%s", r->name, c->seg_size, SEG_COUNT,
					       POOL_CAP, c->released ? "released" : "seed",
					       c->bitmap ? " readiness=bitmap" : "",
					       c->drain_seg ? " drain=segment" : "");
			for (size_t i = 0; i < c->ro.n && off < sizeof(c->desc); i++)
				if (c->ro.v[i] != c->ro.defs[i].def)
					off += (size_t)snprintf(c->desc + off, sizeof(c->desc) - off,
								" %s.%s=%s", r->name, c->ro.defs[i].name,
								pb_opt_format(&c->ro, i, val, sizeof(val)));
			ntconfs++;
		}
	}
	print_message("%zu configurations from %zu reclaimers\n", ntconfs, pb_reclaim_count());
	return ntconfs ? 0 : -1;
}

/* ---- jobs --------------------------------------------------------------- */

/* Counted (and reported by the main thread: a finding under limbo), not checked. */
static bool tt_poisoned(struct tt_run *t, const struct pb_job *j)
{
	if (j->tag == POISON64 || (uint64_t)(uintptr_t)j->arg == POISON64 ||
	    j->deadline_ns == POISON64 || (uint64_t)(uintptr_t)j->fn == POISON64) {
		atomic_fetch_add(&((struct run *)t)->poisoned, 1);
		return true;
	}
	return false;
}

/* ---- what was found so far, printed on a crash ------------------------------ */

static struct run *volatile cur_run; /* the configuration running, or NULL */
static volatile unsigned cur_reused; /* stalls whose held segment was reused so far */

/* Async-signal-safe enough for a dying process: snprintf into a static
 * buffer, one write(2). */
static void report_crash(int sig)
{
	static char buf[768], what[64];
	struct run *r = cur_run;
	int n;

	if (!r)
		return;
	if (sig)
		snprintf(what, sizeof(what), "signal %d", sig);
	else
		snprintf(what, sizeof(what), "sanitizer report above");
	n = snprintf(buf, sizeof(buf),
		     "\nFINDING at crash (%s) in %s: %" PRIu64 " of %" PRIu64 " jobs popped, %" PRIu64
		     " poisoned jobs popped, %u stalls done, held segment reused while referenced in "
		     "%u of them (each reuse printed above as it happened)\n", what, r->c->desc,
		     (uint64_t)atomic_load(&r->t.popped), r->t.total, (uint64_t)atomic_load(&r->poisoned),
		     r->t.nstalls, cur_reused);
	if (n > 0)
		(void)!write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

#ifdef TT_SANITIZER
static void on_sanitizer_death(void)
{
	report_crash(0);
}
#endif

/* Report, then die of the signal: cmocka's own handler would longjmp into
 * the test runner from a worker thread and exit 255 without a word. */
static void on_fatal_signal(int sig)
{
	report_crash(sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Call from inside the test: cmocka installs its handlers before each test. */
static void install_crash_report(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	struct sigaction sa;

#ifdef TT_SANITIZER
	__sanitizer_set_death_callback(on_sanitizer_death);
#endif
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < PB_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* ---- at each resume (the staller's thread) -------------------------------- */

static void on_resume(struct tt_run *t, const struct tt_stall *s)
{
	if (s->gen_after != s->gen_before || (s->flags_after & PB_TORTURE_DEAD)) {
		/* Say it now: the consumer goes on to read this segment, and
		 * without ASan a broken reclaimer may crash the process next. */
		cur_reused++;
		fprintf(stderr, "FINDING %s: stall %u: the held segment was reused while "
			"referenced (gen %" PRIu64 " -> %#" PRIx64 "%s); the consumer resumes on "
			"it now\n", t->desc, t->nstalls, s->gen_before, s->gen_after,
			(s->flags_after & PB_TORTURE_DEAD) ? ", DEAD" : "");
		fflush(stderr);
	}
	/* Test hook (tests/test_torture_report.sh): crash here, as a broken
	 * reclaimer would, to check that the report above comes out. */
	if (getenv("PB_TORTURE_CRASH_AT_STALL") &&
	    (unsigned)atoi(getenv("PB_TORTURE_CRASH_AT_STALL")) == t->nstalls)
		raise(SIGSEGV);
}

/* ---- one configuration --------------------------------------------------- */

static uint64_t target_segments(void)
{
	const char *scale = getenv("PB_TEST_SCALE");
	uint64_t n = tc_scale(2 * SEGS_MIN + SEGS_MIN / 5);

	/* At least SEGS_MIN segments, unless the caller asked for a smaller run. */
	if (n < SEGS_MIN + SEGS_MIN / 10 && !(scale && *scale))
		n = SEGS_MIN + SEGS_MIN / 10;
	return n;
}

static void run_open(struct run *r, const struct tconf *c)
{
	struct pb_optvals qv;
	char err[256], num[32];

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->t.ops = segq;
	r->t.desc = c->desc;
	r->t.magic = QT_MAGIC;
	r->t.check_order = true; /* segmented is FIFO */
	r->t.nstall = NSTALL;
	r->t.run_ns = RUN_NS;
	r->t.stall_ns = STALL_NS;
	r->t.stall_max_ns = STALL_MAX_NS;
	r->t.stall_poll_ns = STALL_POLL_NS;
	r->t.stall_pass = STALL_PASS_SEGS;
	r->t.skip_job = tt_poisoned;
	r->t.on_resume = on_resume;
	pb_opts_defaults(&qv, segq->options);
	snprintf(num, sizeof(num), "%u", c->seg_size);
	assert_int_equal(pb_opts_set(&qv, "seg-size", num, err, sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "seg-count", SEG_COUNT, err, sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "pool-cap", POOL_CAP, err, sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "seg-supply", "alloc", err, sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "retire-order", c->released ? "released" : "seed", err,
				     sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "readiness", c->bitmap ? "bitmap" : "stamp", err,
				     sizeof(err)), 0);
	assert_int_equal(pb_opts_set(&qv, "drain", c->drain_seg ? "segment" : "batch", err,
				     sizeof(err)), 0);
	r->inst.ops = c->r;
	if (c->r->create(&c->ro, &r->inst.dom))
		fail_msg("%s: reclaimer create failed", c->desc);
	if (segq->create(&qv, &r->inst, &r->t.q))
		fail_msg("%s: queue create failed", c->desc);
	r->t.per = target_segments() * c->seg_size / TT_NPROD;
	tt_run_init(&r->t);
}

static void run_close(struct run *r)
{
	segq->destroy(r->t.q);
	r->c->r->destroy(r->inst.dom);
	tt_run_fini(&r->t);
}

/* Returns the number of stalls whose held segment was reused or reclaimed. */
static unsigned run_one(const struct tconf *c)
{
	struct run *r = calloc(1, sizeof(*r));
	struct pb_queue_stats qs;
	struct pb_reclaim_stats rs;
	const bool proven = c->r->flags & PB_RC_PROVEN;
	unsigned detached = 0, reused = 0, dead = 0;
	uint64_t t0 = pb_now_ns(), poisoned, passed = 0;
	char first_reuse[128] = "";

	assert_non_null(r);
	run_open(r, c);
	cur_reused = 0;
	cur_run = r;
	tt_run_threads(&r->t);
	cur_run = NULL;
	tc_errs_check(&r->t.errs, c->desc);

	tt_check_seen(&r->t);
	if (atomic_load(&r->t.popped) != r->t.total + atomic_load(&r->poisoned))
		fail_msg("%s: %" PRIu64 " popped (%" PRIu64 " of them poisoned), want %" PRIu64,
			 c->desc, (uint64_t)atomic_load(&r->t.popped),
			 (uint64_t)atomic_load(&r->poisoned), r->t.total);

	pb_queue_get_stats(segq, r->t.q, &qs);
	pb_queue_get_reclaim_stats(segq, r->t.q, &rs);
	for (unsigned i = 0; i < r->t.nstalls; i++) {
		const struct tt_stall *s = &r->t.stalls[i];
		bool re = s->gen_after != s->gen_before || (s->flags_after & PB_TORTURE_DEAD);

		detached += (s->flags_after & PB_TORTURE_DETACHED) != 0;
		dead += (s->flags_after & PB_TORTURE_DEAD) != 0;
		passed += s->retired_during;
		if (re && !reused++)
			snprintf(first_reuse, sizeof(first_reuse),
				 " (stall %u: gen %" PRIu64 " -> %#" PRIx64 "%s)", i, s->gen_before,
				 s->gen_after, (s->flags_after & PB_TORTURE_DEAD) ? ", DEAD" : "");
	}
	poisoned = atomic_load(&r->poisoned);
	print_message("  %-78s %6.0f ms  segs retired %6" PRIu64 " alloc %6" PRIu64
		      " reused %6" PRIu64 "  stalls %u (held seg detached in %u, %" PRIu64
		      " segs passed it), held seg reused %u, poisoned jobs %" PRIu64
		      ", rc retired %" PRIu64 " freed %" PRIu64 " leaked %" PRIu64 "\n",
		      c->desc, (double)(pb_now_ns() - t0) / 1e6, qs.segs_retired,
		      qs.segs_allocated, qs.segs_reused, r->t.nstalls, detached, passed, reused,
		      poisoned, rs.retired, rs.freed, rs.leaked);

	if (proven || !(c->r->flags & PB_RC_TYPE_STABLE)) {
		if (reused)
			fail_msg("%s: the stalled consumer's segment was reused or reclaimed while "
				 "it was protected: %u of %u stalls%s", c->desc, reused, r->t.nstalls,
				 first_reuse);
		if (poisoned)
			fail_msg("%s: %" PRIu64 " poisoned jobs popped", c->desc, poisoned);
	} else {
		print_message("FINDING %s: held segment reused while referenced in %u of %u stalls%s"
			      " (DEAD at resume: %u); detached during the stall in %u; poisoned "
			      "jobs popped: %" PRIu64 "; limbo retired %" PRIu64 ", freed to the "
			      "pool %" PRIu64 ", orphaned (leaked) %" PRIu64 "; segments allocated "
			      "%" PRIu64 ", reused %" PRIu64 "\n", c->desc, reused, r->t.nstalls,
			      first_reuse, dead, detached, poisoned, rs.retired, rs.freed, rs.leaked,
			      qs.segs_allocated, qs.segs_reused);
	}
	/* The run did what it is for: enough churn, stalls that were passed. */
	if (qs.segs_retired < r->t.total / c->seg_size * 9 / 10)
		fail_msg("%s: only %" PRIu64 " segments retired for %" PRIu64 " jobs", c->desc,
			 qs.segs_retired, r->t.total);
	if (r->t.nstalls == 0 || detached == 0)
		fail_msg("%s: %u stalls, the held segment detached in %u: the stall never "
			 "overlapped the churn", c->desc, r->t.nstalls, detached);
	run_close(r);
	free(r);
	return reused;
}

/* ---- tests ------------------------------------------------------------- */

static void test_stalled_consumer(void **state)
{
	const char *only = getenv("PB_TORTURE_ONLY");

	(void)state;
	install_crash_report();
	for (size_t i = 0; i < ntconfs; i++)
		if (!only || !*only || !strcmp(only, tconfs[i].r->name))
			run_one(&tconfs[i]);
}

/* With the hooks off (the benchmark case) nothing calls the hook. */
static void hook_never(const struct pb_torture_probe *p, void *arg)
{
	(void)p;
	atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_hook_off_is_silent(void **state)
{
	const struct tconf *c = &tconfs[0];
	struct pb_qthread *t = NULL;
	struct pb_job j, out[4];
	struct run *r = calloc(1, sizeof(*r));
	atomic_int calls = 0;

	(void)state;
	assert_non_null(r);
	run_open(r, c);
	assert_int_equal(segq->thread_register(r->t.q, &t), 0);
	pb_torture_set_hook(hook_never, &calls);
	for (int k = 0; k < 8; k++) {
		tt_make(&r->t, &j, 0, (uint64_t)k);
		assert_int_equal(segq->push(r->t.q, t, &j), PB_OK);
		assert_int_equal(segq->pop_batch(r->t.q, t, out, 4), 1);
	}
	assert_int_equal(atomic_load(&calls), 0);
	/* ... and with them on, every pop reaches the point (twice: and resumed). */
	atomic_store(&pb_torture_enabled, 1);
	tt_make(&r->t, &j, 0, 8);
	assert_int_equal(segq->push(r->t.q, t, &j), PB_OK);
	assert_int_equal(segq->pop_batch(r->t.q, t, out, 4), 1);
	atomic_store(&pb_torture_enabled, 0);
	pb_torture_set_hook(NULL, NULL);
	assert_true(atomic_load(&calls) >= 2);
	segq->thread_unregister(r->t.q, t);
	run_close(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_off_is_silent),
		cmocka_unit_test(test_stalled_consumer),
	};

	bool any = false;

	/* scripts/test.sh --only NAME: this test is segmented's with a
	 * reclaimer; a backend that is not segmented (or takes no reclaimer)
	 * selects nothing here, which is a skip, not a failed group setup. */
	for (size_t k = 0; pb_reclaimers[k]; k++)
		if (tc_only("segmented", pb_reclaimers[k]->name))
			any = true;
	if (!any) {
		printf("SKIP: PB_TEST_ONLY=%s: not segmented or one of its reclaimers\n",
		       getenv("PB_TEST_ONLY"));
		return 77;
	}
	return cmocka_run_group_tests(tests, setup_confs, NULL);
}
