/* SPDX-License-Identifier: MIT */
/*
 * Reclaimer torture, rcutorture style, generated from the registry: every
 * scheme in pb_reclaimers[] (plus the unregistered skeleton), with default
 * options and with each option moved to a non-default value, is run with
 * readers that check a magic tag and per-slot version order on every object
 * they protect (holding it across random yields and sleeps) while writers
 * replace and retire thousands of objects.  Freed objects are poisoned (0x6b,
 * tag DEAD) before free() — or before going back to a type-stable pool for
 * PB_RC_TYPE_STABLE schemes — so a reader that sees DEAD, or ASan, catches a
 * premature free.  Also: a reader stalled 50 ms inside its section, register /
 * unregister / re-register cycles, one thread registered in two domains,
 * barrier, and conservation (fn ran exactly once per retired object).
 * PB_TORTURE_ONLY=name runs one scheme.
 */
#include "common.h"

#include <inttypes.h>

#include "reclaim.h"
#include "registry.h"

extern const struct pb_reclaim_ops pb_reclaim_skeleton; /* compiled, not registered */

#define TAG_LIVE 0x0b1ec7a11feull
#define TAG_DEAD 0xdeaddeaddeadull
#define NSHARED 2 /* one shared pointer per writer */

struct obj {
	struct pb_smr_node node; /* first: scheme-owned */
	_Atomic uint64_t tag;
	_Atomic uint64_t version;
	_Atomic uint64_t slot;
	struct obj *pool_next; /* type-stable pool link (test-owned) */
	unsigned char payload[64];
};

/* One run: a scheme + options + the objects it sees. */
struct run {
	const struct pb_reclaim_ops *ops;
	struct pb_optvals ov;
	struct pb_reclaim *dom;
	char desc[160];
	bool type_stable, proven, no_reuse;
	void *_Atomic shared[NSHARED];
	_Atomic uint64_t retired, freed, allocated;
	_Atomic bool stop;
	_Atomic uint64_t reads, reuse_seen;
	struct tc_errs errs;
	/* type-stable pool: objects are never handed back to malloc until the end */
	pthread_mutex_t pool_mu;
	struct obj *pool;
	struct obj *all; /* every pool object ever allocated, for the final free */
	struct obj **all_list;
	size_t nall, capall;
};

static int failures; /* per-run failures, reported at the end of each test */

static bool selected(const struct pb_reclaim_ops *o)
{
	const char *only = getenv("PB_TORTURE_ONLY");

	return !only || !*only || !strcmp(only, o->name);
}

/* ---- objects ---------------------------------------------------------- */

static struct obj *obj_new(struct run *r, struct pb_rthread *rt, uint64_t slot, uint64_t version)
{
	struct obj *o = NULL;

	if (r->type_stable) {
		pthread_mutex_lock(&r->pool_mu);
		if (r->pool) {
			o = r->pool;
			r->pool = o->pool_next;
		}
		pthread_mutex_unlock(&r->pool_mu);
	}
	if (!o) {
		o = aligned_alloc(16, sizeof(*o));
		if (!o)
			abort();
		if (r->type_stable) {
			pthread_mutex_lock(&r->pool_mu);
			if (r->nall == r->capall) {
				r->capall = r->capall ? 2 * r->capall : 1024;
				r->all_list = realloc(r->all_list, r->capall * sizeof(*r->all_list));
				if (!r->all_list)
					abort();
			}
			r->all_list[r->nall++] = o;
			pthread_mutex_unlock(&r->pool_mu);
		}
	}
	memset(&o->node, 0, sizeof(o->node));
	/* as a backend does before publishing a node (ibr/he: birth era) */
	pb_reclaim_on_alloc(r->ops, rt, &o->node);
	memset(o->payload, 0x11, sizeof(o->payload));
	atomic_store_explicit(&o->slot, slot, memory_order_relaxed);
	atomic_store_explicit(&o->version, version, memory_order_relaxed);
	/* Relaxed: the object is published by the writer's exchange (release). */
	atomic_store_explicit(&o->tag, TAG_LIVE, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->allocated, 1, memory_order_relaxed);
	return o;
}

/* The free function handed to retire(): check, poison, free or pool. */
static void obj_free(struct pb_smr_node *node, void *ctx)
{
	struct run *r = ctx;
	struct obj *o = (struct obj *)node;
	uint64_t tag = atomic_exchange_explicit(&o->tag, TAG_DEAD, memory_order_relaxed);

	if (tag != TAG_LIVE)
		tc_err(&r->errs, "%s: fn called on an object whose tag is %#" PRIx64
		       " (double free or corrupted node)", r->desc, tag);
	atomic_store_explicit(&o->version, UINT64_MAX, memory_order_relaxed);
	memset(o->payload, 0x6b, sizeof(o->payload));
	memset(&o->node, 0x6b, sizeof(o->node)); /* a scheme touching it after fn breaks */
	atomic_fetch_add_explicit(&r->freed, 1, memory_order_relaxed);
	if (r->type_stable) {
		pthread_mutex_lock(&r->pool_mu);
		o->pool_next = r->pool;
		r->pool = o;
		pthread_mutex_unlock(&r->pool_mu);
	} else {
		free(o);
	}
}

static int run_init(struct run *r, const struct pb_reclaim_ops *ops, const struct pb_optvals *ov)
{
	char v[64];
	size_t off;
	int rc;

	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->ov = *ov;
	r->type_stable = ops->flags & PB_RC_TYPE_STABLE;
	r->proven = ops->flags & PB_RC_PROVEN;
	r->no_reuse = ops->flags & PB_RC_NO_REUSE;
	tc_errs_init(&r->errs);
	pthread_mutex_init(&r->pool_mu, NULL);
	off = (size_t)snprintf(r->desc, sizeof(r->desc), "%s", ops->name);
	for (size_t i = 0; i < ov->n && off < sizeof(r->desc); i++)
		if (ov->v[i] != ov->defs[i].def)
			off += (size_t)snprintf(r->desc + off, sizeof(r->desc) - off, " %s=%s",
						ov->defs[i].name, pb_opt_format(ov, i, v, sizeof(v)));
	rc = ops->create(&r->ov, &r->dom);
	if (rc)
		fprintf(stderr, "%s: create failed: %d\n", r->desc, rc);
	return rc;
}

static void run_check(struct run *r, bool cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void run_check(struct run *r, bool cond, const char *fmt, ...)
{
	va_list ap;
	char buf[400];

	if (cond)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tc_err(&r->errs, "%s: %s", r->desc, buf);
}

/* Drain the shared pointers (retire them) from a registered thread. */
static void run_drain(struct run *r, struct pb_rthread *rt)
{
	for (int i = 0; i < NSHARED; i++) {
		struct obj *o = atomic_exchange_explicit(&r->shared[i], NULL, memory_order_acq_rel);

		if (o) {
			atomic_fetch_add_explicit(&r->retired, 1, memory_order_relaxed);
			r->ops->retire(rt, &o->node, obj_free, r);
		}
	}
}

/*
 * Finish a run: every thread but @rt is unregistered.  Checks stats and
 * conservation, destroys the domain, frees the pool, reports.  Returns 1 on
 * failure.
 */
static int run_finish(struct run *r, struct pb_rthread *rt)
{
	struct pb_reclaim_stats st;
	uint64_t ret, fr;

	run_drain(r, rt);
	pb_reclaim_barrier(r->ops, r->dom, rt);
	r->ops->thread_unregister(r->dom, rt);
	pb_reclaim_get_stats(r->ops, r->dom, &st);
	ret = atomic_load(&r->retired);
	fr = atomic_load(&r->freed);
	run_check(r, st.retired == ret, "stats.retired %" PRIu64 " != retire calls %" PRIu64,
		  st.retired, ret);
	run_check(r, st.freed == fr, "stats.freed %" PRIu64 " != fn calls %" PRIu64, st.freed, fr);
	run_check(r, st.pending == st.retired - st.freed, "stats.pending %" PRIu64
		  " != retired - freed (%" PRIu64 ")", st.pending, st.retired - st.freed);
	run_check(r, st.pending_peak >= st.pending && st.pending_peak <= st.retired,
		  "stats.pending_peak %" PRIu64 " outside [pending %" PRIu64 ", retired %" PRIu64 "]",
		  st.pending_peak, st.pending, st.retired);
	if (r->no_reuse)
		run_check(r, fr == 0, "a no-reuse scheme ran fn %" PRIu64 " times before destroy", fr);
	else if (r->proven)
		/* No thread holds anything and the last one ran a barrier. */
		run_check(r, st.pending == 0, "%" PRIu64 " objects still pending after barrier with "
			  "no other thread registered", st.pending);
	r->ops->destroy(r->dom);
	fr = atomic_load(&r->freed);
	run_check(r, fr == ret, "after destroy fn ran %" PRIu64 " times for %" PRIu64
		  " retired objects", fr, ret);
	for (size_t i = 0; i < r->nall; i++)
		free(r->all_list[i]);
	free(r->all_list);
	pthread_mutex_destroy(&r->pool_mu);
	if (atomic_load(&r->errs.n)) {
		fprintf(stderr, "FAIL %s: %u error(s), first: %s\n", r->desc, atomic_load(&r->errs.n),
			r->errs.first);
		return 1;
	}
	return 0;
}

/* ---- readers and writers ---------------------------------------------- */

struct worker {
	struct run *r;
	int id;
	uint64_t n;      /* writer: at least this many objects ... */
	uint64_t min_ns; /* ... and for at least this long */
	uint64_t seed;
};

static void stall(uint64_t *seed)
{
	uint64_t x = tc_rand(seed);

	if ((x & 63) == 0)
		sched_yield();
	else if ((x & 1023) == 1)
		tc_sleep_ns(5000 + (x >> 20) % 50000);
	else if ((x & 8191) == 2)
		tc_sleep_ns(1000000); /* long hold: writers churn many objects meanwhile */
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	const struct pb_reclaim_ops *o = r->ops;
	struct pb_rthread *rt;
	uint64_t last[NSHARED] = {0};
	uint64_t reads = 0;

	if (o->thread_register(r->dom, &rt)) {
		tc_err(&r->errs, "%s: reader register failed", r->desc);
		return NULL;
	}
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		unsigned s = (unsigned)(tc_rand(&w->seed) % NSHARED);
		struct obj *p;

		o->begin(rt);
		p = o->protect(rt, (unsigned)reads % PB_SMR_SLOTS, &r->shared[s]);
		if (p) {
			uint64_t t1 = atomic_load_explicit(&p->tag, memory_order_relaxed);
			uint64_t v1 = atomic_load_explicit(&p->version, memory_order_relaxed);
			uint64_t t2, v2;

			stall(&w->seed);
			t2 = atomic_load_explicit(&p->tag, memory_order_relaxed);
			v2 = atomic_load_explicit(&p->version, memory_order_relaxed);
			if (t1 != TAG_LIVE || t2 != TAG_LIVE || v1 != v2) {
				if (r->proven && !r->type_stable)
					tc_err(&r->errs, "%s: reader saw a freed object while protected "
					       "(tag %#" PRIx64 " -> %#" PRIx64 ", version %" PRIu64
					       " -> %" PRIu64 ")", r->desc, t1, t2, v1, v2);
				else
					atomic_fetch_add(&r->reuse_seen, 1);
			} else if (atomic_load_explicit(&p->slot, memory_order_relaxed) == s) {
				/* Versions on one slot only grow (one writer per slot). */
				if (v1 < last[s] && (r->proven && !r->type_stable))
					tc_err(&r->errs, "%s: slot %u went back from version %" PRIu64
					       " to %" PRIu64, r->desc, s, last[s], v1);
				last[s] = v1;
			}
			pb_reclaim_release(o, rt, (unsigned)reads % PB_SMR_SLOTS, p);
		}
		o->end(rt);
		pb_reclaim_quiescent(o, rt);
		reads++;
		if ((reads & 255) == 0) {
			/* Park briefly like an idle worker: offline around the sleep. */
			pb_reclaim_offline(o, rt);
			tc_sleep_ns(2000);
			pb_reclaim_online(o, rt);
		}
	}
	atomic_fetch_add(&r->reads, reads);
	o->thread_unregister(r->dom, rt);
	return NULL;
}

static void writer_one(struct run *r, struct pb_rthread *rt, int slot, uint64_t version, bool in_section)
{
	struct obj *n = obj_new(r, rt, (uint64_t)slot, version), *old;

	if (in_section)
		r->ops->begin(rt);
	/* acq_rel: publish n's initialisation; acquire old's before we retire it. */
	old = atomic_exchange_explicit(&r->shared[slot], n, memory_order_acq_rel);
	if (old) {
		atomic_fetch_add_explicit(&r->retired, 1, memory_order_relaxed);
		r->ops->retire(rt, &old->node, obj_free, r);
	}
	if (in_section)
		r->ops->end(rt);
}

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	struct pb_rthread *rt;

	if (r->ops->thread_register(r->dom, &rt)) {
		tc_err(&r->errs, "%s: writer register failed", r->desc);
		return NULL;
	}
	uint64_t t0 = pb_now_ns();

	for (uint64_t i = 1; i <= w->n || pb_now_ns() - t0 < w->min_ns; i++) {
		writer_one(r, rt, w->id, i, (tc_rand(&w->seed) & 7) == 0);
		pb_reclaim_quiescent(r->ops, rt);
		if ((tc_rand(&w->seed) & 255) == 0)
			sched_yield();
	}
	r->ops->thread_unregister(r->dom, rt);
	return NULL;
}

/* ---- the configurations tested ------------------------------------------ */

typedef int (*run_fn)(const struct pb_reclaim_ops *o, const struct pb_optvals *ov, bool variant);

/* Every scheme with defaults, then (if @variants) each option moved: every
 * non-default enum choice, and integer options at their minimum. */
static void for_each_scheme(run_fn fn, bool variants)
{
	const struct pb_reclaim_ops *list[64];
	size_t n = 0;

	for (size_t i = 0; pb_reclaimers[i] && n < 63; i++)
		if (tc_only(pb_reclaimers[i]->name, NULL))
			list[n++] = pb_reclaimers[i];
	if (tc_only(pb_reclaim_skeleton.name, NULL))
		list[n++] = &pb_reclaim_skeleton;
	failures = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pb_reclaim_ops *o = list[i];
		struct pb_optvals ov;
		const char *why;

		if (!selected(o))
			continue;
		why = pb_reclaim_check(o);
		if (why) {
			fprintf(stderr, "FAIL %s: malformed ops: %s\n", o->name, why);
			failures++;
			continue;
		}
		if (o->supported && (why = o->supported()) != NULL) {
			printf("skip %s: %s\n", o->name, why);
			continue;
		}
		pb_opts_defaults(&ov, o->options);
		failures += fn(o, &ov, false);
		if (!variants)
			continue;
		for (size_t k = 0; k < ov.n; k++) {
			const struct pb_option *d = &ov.defs[k];
			struct pb_optvals v = ov;

			if (d->type == PB_OPT_ENUM) {
				for (int64_t c = 0; d->choices[c]; c++) {
					if (c == d->def)
						continue;
					v.v[k] = c;
					failures += fn(o, &v, true);
				}
			} else if (d->type == PB_OPT_INT && d->min != d->def) {
				v.v[k] = d->min;
				failures += fn(o, &v, true);
			} else if (d->type == PB_OPT_BOOL) {
				v.v[k] = !d->def;
				failures += fn(o, &v, true);
			}
		}
	}
}

/* ---- test 1: readers vs writers ------------------------------------------ */

static int torture_one(const struct pb_reclaim_ops *o, const struct pb_optvals *ov, bool variant)
{
	struct run r;
	struct worker rd[2], wr[NSHARED];
	pthread_t rt_[2], wt[NSHARED];
	struct pb_rthread *me;
	uint64_t t0 = pb_now_ns();
	uint64_t n = tc_scale(variant ? 4000 : 20000);

	if (run_init(&r, o, ov))
		return 1;
	for (int i = 0; i < 2; i++) {
		rd[i] = (struct worker){&r, i, 0, 0, 0x1234567ull * (uint64_t)(i + 1)};
		tc_spawn(&rt_[i], reader_main, &rd[i]);
	}
	for (int i = 0; i < NSHARED; i++) {
		wr[i] = (struct worker){&r, i, n, (variant ? 100 : 300) * 1000000ull,
					0x9876543ull * (uint64_t)(i + 1)};
		tc_spawn(&wt[i], writer_main, &wr[i]);
	}
	for (int i = 0; i < NSHARED; i++)
		tc_join(wt[i]);
	atomic_store(&r.stop, true);
	for (int i = 0; i < 2; i++)
		tc_join(rt_[i]);
	printf("  %-40s retired %7" PRIu64 "  reads %8" PRIu64 "  reuse-seen %" PRIu64 "  %.2fs\n",
	       r.desc, atomic_load(&r.retired), atomic_load(&r.reads), atomic_load(&r.reuse_seen),
	       (double)(pb_now_ns() - t0) / 1e9);
	run_check(&r, atomic_load(&r.retired) >= 2 * (n - 1),
		  "writers retired %" PRIu64 " objects, expected %" PRIu64,
		  atomic_load(&r.retired), 2 * (n - 1));
	/* Registered only now: an idle registered QSBR thread would hold up
	 * every grace period of the run. */
	if (o->thread_register(r.dom, &me)) {
		fprintf(stderr, "FAIL %s: register failed\n", r.desc);
		return 1;
	}
	return run_finish(&r, me);
}

static void test_readers_writers(void **state)
{
	(void)state;
	for_each_scheme(torture_one, true);
	assert_int_equal(failures, 0);
}

/* ---- test 2: a reader stalled 50 ms inside its section ------------------ */

struct stall_ctx {
	struct run *r;
	_Atomic int phase; /* 1: protected; 2: churn done */
	_Atomic uint64_t survived; /* 1 yes, 2 reused, 3 failed */
	uint64_t pending_during;
};

static void *stalled_reader(void *arg)
{
	struct stall_ctx *c = arg;
	struct run *r = c->r;
	const struct pb_reclaim_ops *o = r->ops;
	struct pb_rthread *rt;
	struct obj *p;
	uint64_t v, t0;
	bool bad = false;

	if (o->thread_register(r->dom, &rt)) {
		tc_err(&r->errs, "%s: register failed", r->desc);
		atomic_store(&c->phase, 1);
		return NULL;
	}
	o->begin(rt);
	p = o->protect(rt, 0, &r->shared[0]);
	if (!p) {
		tc_err(&r->errs, "%s: protect returned NULL for a non-NULL pointer", r->desc);
		o->end(rt);
		o->thread_unregister(r->dom, rt);
		atomic_store(&c->phase, 1);
		return NULL;
	}
	v = atomic_load_explicit(&p->version, memory_order_relaxed);
	atomic_store(&c->phase, 1);
	t0 = pb_now_ns();
	/* Hold it at least 50 ms and until the writer has churned (or 5 s). */
	while ((pb_now_ns() - t0 < 50000000ull || atomic_load(&c->phase) < 2) &&
	       pb_now_ns() - t0 < 5000000000ull) {
		tc_sleep_ns(1000000);
		if (atomic_load_explicit(&p->tag, memory_order_relaxed) != TAG_LIVE ||
		    atomic_load_explicit(&p->version, memory_order_relaxed) != v)
			bad = true;
	}
	if (atomic_load_explicit(&p->tag, memory_order_relaxed) != TAG_LIVE ||
	    atomic_load_explicit(&p->version, memory_order_relaxed) != v)
		bad = true;
	atomic_store(&c->survived, bad ? 2 : 1);
	o->end(rt);
	pb_reclaim_quiescent(o, rt);
	o->thread_unregister(r->dom, rt);
	return NULL;
}

static int stall_one(const struct pb_reclaim_ops *o, const struct pb_optvals *ov, bool variant)
{
	struct run r;
	struct stall_ctx c = {0};
	struct pb_rthread *me;
	struct pb_reclaim_stats st;
	pthread_t t;
	uint64_t churn = tc_scale(5000), peak = 0;

	if (run_init(&r, o, ov))
		return 1;
	if (o->thread_register(r.dom, &me)) {
		fprintf(stderr, "FAIL %s: register failed\n", r.desc);
		return 1;
	}
	c.r = &r;
	writer_one(&r, me, 0, 1, false);
	tc_spawn(&t, stalled_reader, &c);
	while (atomic_load(&c.phase) < 1)
		sched_yield();
	/* Churn: replace and retire objects while the reader holds version 1. */
	for (uint64_t i = 2; i < churn + 2; i++) {
		writer_one(&r, me, 0, i, (i & 7) == 0);
		pb_reclaim_quiescent(o, me);
		if ((i & 127) == 0) {
			pb_reclaim_get_stats(o, r.dom, &st);
			if (st.pending > peak)
				peak = st.pending;
			sched_yield();
		}
	}
	atomic_store(&c.phase, 2);
	/* QSBR: stay out of the reader's way while it finishes. */
	pb_reclaim_offline(o, me);
	tc_join(t);
	pb_reclaim_online(o, me);
	if (atomic_load(&c.survived) == 2) {
		if (r.type_stable || !r.proven)
			printf("  FINDING %s: the stalled reader's object was reused while still "
			       "referenced\n", r.desc);
		else
			tc_err(&r.errs, "%s: the stalled reader's object was freed while protected",
			       r.desc);
	}
	printf("  %-40s stall: churned %" PRIu64 " objects, pending max %" PRIu64 " during the stall%s\n",
	       r.desc, churn, peak, atomic_load(&c.survived) == 1 ? ", object survived" : "");
	return run_finish(&r, me);
}

static void test_stalled_reader(void **state)
{
	(void)state;
	for_each_scheme(stall_one, false);
	assert_int_equal(failures, 0);
}

/* ---- test 3: register / unregister / re-register cycles ------------------ */

struct cyc {
	struct run *r;
	int id;
	uint64_t seed;
};

static void *cycler(void *arg)
{
	struct cyc *c = arg;
	struct run *r = c->r;
	const struct pb_reclaim_ops *o = r->ops;

	for (int k = 0; k < 40; k++) {
		struct pb_rthread *rt;

		if (o->thread_register(r->dom, &rt)) {
			tc_err(&r->errs, "%s: register failed in cycle %d", r->desc, k);
			return NULL;
		}
		for (int j = 0; j < 50; j++) {
			struct obj *p;

			writer_one(r, rt, c->id, (uint64_t)(k * 100 + j + 1), j & 1);
			o->begin(rt);
			p = o->protect(rt, 1, &r->shared[(c->id + 1) % NSHARED]);
			if (p && atomic_load_explicit(&p->tag, memory_order_relaxed) != TAG_LIVE &&
			    r->proven && !r->type_stable)
				tc_err(&r->errs, "%s: freed object seen in cycle %d", r->desc, k);
			if ((tc_rand(&c->seed) & 15) == 0)
				sched_yield();
			o->end(rt);
			pb_reclaim_quiescent(o, rt);
		}
		if (k % 10 == 9)
			pb_reclaim_barrier(o, r->dom, rt);
		o->thread_unregister(r->dom, rt);
	}
	return NULL;
}

static int cycles_one(const struct pb_reclaim_ops *o, const struct pb_optvals *ov, bool variant)
{
	struct run r;
	struct cyc c[NSHARED];
	pthread_t t[NSHARED];
	struct pb_rthread *me;

	if (run_init(&r, o, ov))
		return 1;
	for (int i = 0; i < NSHARED; i++) {
		c[i] = (struct cyc){&r, i, 77ull + (uint64_t)i};
		tc_spawn(&t[i], cycler, &c[i]);
	}
	for (int i = 0; i < NSHARED; i++)
		tc_join(t[i]);
	if (o->thread_register(r.dom, &me)) {
		fprintf(stderr, "FAIL %s: register failed\n", r.desc);
		return 1;
	}
	return run_finish(&r, me);
}

static void test_register_cycles(void **state)
{
	(void)state;
	for_each_scheme(cycles_one, false);
	assert_int_equal(failures, 0);
}

/* ---- test 4: one thread in two domains (and twice in one) ---------------- */

struct dual {
	struct run *r2;
	_Atomic int phase;
};

static void *dual_writer(void *arg)
{
	struct dual *d = arg;
	struct run *r = d->r2;
	struct pb_rthread *rt;

	if (r->ops->thread_register(r->dom, &rt)) {
		tc_err(&r->errs, "%s: writer register failed", r->desc);
		return NULL;
	}
	while (atomic_load(&d->phase) < 1)
		sched_yield();
	for (uint64_t i = 2; i < tc_scale(3000); i++) {
		writer_one(r, rt, 0, i, false);
		pb_reclaim_quiescent(r->ops, rt);
		if ((i & 63) == 0)
			sched_yield();
	}
	r->ops->thread_unregister(r->dom, rt);
	return NULL;
}

static int dual_one(const struct pb_reclaim_ops *o, const struct pb_optvals *ov, bool variant)
{
	struct run r1, r2;
	struct pb_rthread *a, *b, *b2, *me;
	struct dual d = {0};
	pthread_t t;
	struct obj *p;
	uint64_t v, t0;
	int bad = 0;

	if (run_init(&r1, o, ov))
		return 1;
	if (run_init(&r2, o, ov)) {
		o->destroy(r1.dom);
		return 1;
	}
	d.r2 = &r2;
	if (o->thread_register(r1.dom, &a) || o->thread_register(r2.dom, &b) ||
	    o->thread_register(r2.dom, &b2)) {
		fprintf(stderr, "FAIL %s: register failed\n", r1.desc);
		return 1;
	}
	writer_one(&r2, b, 0, 1, false);
	/* Leave domain 1 and one of the two records in domain 2: the thread must
	 * still be a reader of domain 2 through b. */
	o->thread_unregister(r1.dom, a);
	o->thread_unregister(r2.dom, b2);
	tc_spawn(&t, dual_writer, &d);
	o->begin(b);
	p = o->protect(b, 0, &r2.shared[0]);
	v = p ? atomic_load_explicit(&p->version, memory_order_relaxed) : 0;
	atomic_store(&d.phase, 1);
	t0 = pb_now_ns();
	while (pb_now_ns() - t0 < 30000000ull) {
		tc_sleep_ns(1000000);
		if (p && (atomic_load_explicit(&p->tag, memory_order_relaxed) != TAG_LIVE ||
			  atomic_load_explicit(&p->version, memory_order_relaxed) != v))
			bad = 1;
	}
	o->end(b);
	pb_reclaim_offline(o, b);
	tc_join(t);
	pb_reclaim_online(o, b);
	if (bad && r2.proven && !r2.type_stable)
		tc_err(&r2.errs, "%s: object freed while protected by a thread registered in "
		       "two domains", r2.desc);
	if (!p)
		tc_err(&r2.errs, "%s: protect returned NULL", r2.desc);
	if (o->thread_register(r1.dom, &me)) {
		fprintf(stderr, "FAIL %s: register failed\n", r1.desc);
		return 1;
	}
	return run_finish(&r2, b) + run_finish(&r1, me);
}

static void test_two_domains(void **state)
{
	(void)state;
	for_each_scheme(dual_one, false);
	assert_int_equal(failures, 0);
}

/* ---- test 5: barrier ------------------------------------------------------ */

struct idle {
	struct run *r;
	_Atomic int phase;
};

static void *idle_thread(void *arg)
{
	struct idle *c = arg;
	struct pb_rthread *rt;

	if (c->r->ops->thread_register(c->r->dom, &rt)) {
		tc_err(&c->r->errs, "%s: register failed", c->r->desc);
		atomic_store(&c->phase, 1);
		return NULL;
	}
	/* Registered and idle (offline, as a parked worker): barrier must not
	 * wait for us. */
	pb_reclaim_offline(c->r->ops, rt);
	atomic_store(&c->phase, 1);
	while (atomic_load(&c->phase) < 2)
		tc_sleep_ns(200000);
	pb_reclaim_online(c->r->ops, rt);
	c->r->ops->thread_unregister(c->r->dom, rt);
	return NULL;
}

static int barrier_one(const struct pb_reclaim_ops *o, const struct pb_optvals *ov, bool variant)
{
	struct run r;
	struct idle c = {0};
	struct pb_rthread *me;
	struct pb_reclaim_stats st;
	pthread_t t;
	uint64_t n = 1000;

	if (run_init(&r, o, ov))
		return 1;
	c.r = &r;
	if (o->thread_register(r.dom, &me)) {
		fprintf(stderr, "FAIL %s: register failed\n", r.desc);
		return 1;
	}
	tc_spawn(&t, idle_thread, &c);
	while (atomic_load(&c.phase) < 1)
		sched_yield();
	for (uint64_t i = 1; i <= n; i++)
		writer_one(&r, me, (int)(i % NSHARED), i, false);
	pb_reclaim_barrier(o, r.dom, me);
	pb_reclaim_get_stats(o, r.dom, &st);
	if (r.proven && !r.no_reuse && o->barrier)
		run_check(&r, st.pending == 0, "barrier left %" PRIu64 " of %" PRIu64
			  " unprotected objects pending", st.pending, st.retired);
	run_check(&r, st.retired == n - NSHARED, "stats.retired %" PRIu64 ", expected %" PRIu64,
		  st.retired, n - NSHARED);
	atomic_store(&c.phase, 2);
	tc_join(t);
	return run_finish(&r, me);
}

static void test_barrier(void **state)
{
	(void)state;
	for_each_scheme(barrier_one, false);
	assert_int_equal(failures, 0);
}

/* ---- test 6: a thread that parks between a few retires ------------------- *
 *
 * A pool worker that runs a small batch, retires a segment or two and parks
 * (offline) again, over and over, with nothing protecting anything: a proven
 * scheme must keep reclaiming, without a barrier.  The flaw this catches:
 * the era schemes handed each parking thread's list to the domain's orphans
 * and adopted orphans only on a scan due every scan-every retires, which a
 * thread that parks sooner never reaches -- nothing was freed until exit.
 */
#define PARK_CYCLES 2000
#define PARK_RETIRES 2

/* A producer's pushes: short sections, back to back, until stop. */
static void *busy_reader(void *arg)
{
	struct run *r = arg;
	const struct pb_reclaim_ops *o = r->ops;
	struct pb_rthread *rt;

	if (o->thread_register(r->dom, &rt)) {
		tc_err(&r->errs, "%s: reader register failed", r->desc);
		return NULL;
	}
	atomic_fetch_add(&r->reads, 1); /* started */
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		o->begin(rt);
		if (o->protect(rt, 0, &r->shared[0]))
			pb_reclaim_release(o, rt, 0, NULL);
		o->end(rt);
		pb_reclaim_quiescent(o, rt);
	}
	o->thread_unregister(r->dom, rt);
	return NULL;
}

static int park_one(const struct pb_reclaim_ops *o, const struct pb_optvals *ov, bool variant)
{
	struct run r;
	struct pb_rthread *me;
	struct pb_reclaim_stats st;
	pthread_t bt;
	uint64_t v = 0, t_end;

	(void)variant;
	if (run_init(&r, o, ov))
		return 1;
	if (o->thread_register(r.dom, &me)) {
		fprintf(stderr, "FAIL %s: register failed\n", r.desc);
		return 1;
	}
	tc_spawn(&bt, busy_reader, &r);
	while (atomic_load(&r.reads) == 0)
		sched_yield();
	pb_reclaim_offline(o, me);
	for (unsigned c = 0; c < PARK_CYCLES; c++) {
		pb_reclaim_online(o, me);
		for (unsigned k = 0; k < PARK_RETIRES; k++, v++)
			writer_one(&r, me, (int)(v % NSHARED), v + 1, true);
		pb_reclaim_quiescent(o, me);
		pb_reclaim_offline(o, me); /* parked, as a pool worker with no jobs */
		tc_sleep_ns(1000);
	}
	/* Asynchronous schemes (liburcu's call_rcu thread) free a little later:
	 * give them up to 5 s, the reader still busy.  No barrier: it would
	 * adopt and free the orphans itself. */
	t_end = pb_now_ns() + 5000000000ull;
	do {
		pb_reclaim_get_stats(o, r.dom, &st);
		if (st.pending <= st.retired / 4)
			break;
		tc_sleep_ns(10000000);
	} while (pb_now_ns() < t_end);
	atomic_store(&r.stop, true);
	tc_join(bt);
	pb_reclaim_online(o, me);
	if (r.proven && !r.no_reuse)
		run_check(&r, st.pending <= st.retired / 4,
			  "%" PRIu64 " of %" PRIu64 " retired objects still pending after %u park "
			  "cycles of %u retires, beside a thread in short sections", st.pending,
			  st.retired, PARK_CYCLES, PARK_RETIRES);
	printf("  %-40s retired %7" PRIu64 "  pending %" PRIu64 "\n", r.desc, st.retired, st.pending);
	return run_finish(&r, me);
}

static void test_park_cycles(void **state)
{
	(void)state;
	for_each_scheme(park_one, false);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_barrier),
		cmocka_unit_test(test_register_cycles),
		cmocka_unit_test(test_two_domains),
		cmocka_unit_test(test_stalled_reader),
		cmocka_unit_test(test_readers_writers),
		cmocka_unit_test(test_park_cycles),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
