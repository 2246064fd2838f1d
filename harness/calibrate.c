/* SPDX-License-Identifier: MIT */
/*
 * The machine's floor (issue 8, docs/methodology.md "The machine's floor"):
 * what the hardware charges for moving data between cores, measured on the
 * CPUs a sweep uses, so that figures from different machines can be put on
 * one scale.  Three small programs, each on threads pinned to those CPUs:
 *
 *  - one-way latency of one cache line: two threads ping-pong a counter on
 *    one line; a round trip is two one-way transfers.  Per CPU pair the
 *    median of 5 batches; reported: min and median over the pairs.
 *  - one contended atomic increment: t = 1 .. n threads fetch_add one
 *    counter for a fixed time; ns per increment per thread and total Mops/s.
 *  - a batched SPSC ring (the floor measured when the project started):
 *    32-byte items, the producer publishes its tail every 64 items, the
 *    consumer drains everything visible and publishes its head once per
 *    drain; ns per item, the fastest of 3 runs of 4M items.
 *
 * Runs in the parent before a sweep (a second or two; --no-calibrate skips
 * it), or alone as "poolbench calibrate".  Threads are created and joined
 * here; nothing is shared with the sweep.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "pb.h"

#define PP_ROUNDS 5000u       /* round trips per batch */
#define PP_BATCHES 5
#define PP_MAX_PAIRS 16
#define ATOMIC_NS 20000000ull /* 20 ms per thread count */
#define RING_SIZE 4096u       /* items, a power of two */
#define RING_PUBLISH 64u      /* the producer publishes its tail every 64 items */
#define RING_ITEMS (4u << 20)
#define RING_RUNS 3

struct item {
	uint64_t v[4]; /* 32 bytes, as in the anchor */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A start line for pinned threads: each arrives, then all go; false if the
 * run was called off (a thread could not be created). */
struct gate {
	_Atomic unsigned arrived;
	_Atomic int abort;
};

static bool gate_wait(struct gate *g, unsigned n)
{
	atomic_fetch_add(&g->arrived, 1);
	while (atomic_load(&g->arrived) < n)
		if (atomic_load(&g->abort))
			return false;
	return true;
}

/* ---- one-way latency (ping-pong) ------------------------------------------ */

struct pingpong {
	_Atomic uint64_t line PB_ALIGNED;
	char pad[PB_CACHELINE - sizeof(uint64_t)];
	struct gate gate PB_ALIGNED;
	int cpu[2];
	double oneway_ns[PP_BATCHES];
	int pin_err;
};

static void *pp_thread(void *arg, int side)
{
	struct pingpong *p = arg;

	if (pb_pin_self(p->cpu[side]))
		p->pin_err = 1;
	if (!gate_wait(&p->gate, 2))
		return NULL;
	for (unsigned b = 0; b < PP_BATCHES; b++) {
		uint64_t base = (uint64_t)b * PP_ROUNDS * 2, t0 = pb_now_ns();

		for (uint64_t k = 0; k < PP_ROUNDS; k++) {
			uint64_t want = base + 2 * k + (uint64_t)side;

			while (atomic_load_explicit(&p->line, memory_order_acquire) != want)
				;
			atomic_store_explicit(&p->line, want + 1, memory_order_release);
		}
		if (side == 0)
			p->oneway_ns[b] = (double)(pb_now_ns() - t0) / (2.0 * PP_ROUNDS);
	}
	return NULL;
}

static void *pp_a(void *arg)
{
	return pp_thread(arg, 0);
}

static void *pp_b(void *arg)
{
	return pp_thread(arg, 1);
}

static int measure_oneway(int a, int b, double *out)
{
	struct pingpong *p = aligned_alloc(PB_CACHELINE, sizeof(*p));
	pthread_t ta, tb;
	int rc;

	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->cpu[0] = a;
	p->cpu[1] = b;
	if ((rc = pthread_create(&ta, NULL, pp_a, p)) != 0) {
		free(p);
		return -rc;
	}
	if ((rc = pthread_create(&tb, NULL, pp_b, p)) != 0) {
		atomic_store(&p->gate.abort, 1);
		pthread_join(ta, NULL);
		free(p);
		return -rc;
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	rc = p->pin_err ? -EINVAL : 0;
	qsort(p->oneway_ns, PP_BATCHES, sizeof(double), cmp_double);
	*out = p->oneway_ns[0];
	free(p);
	return rc;
}

/* ---- contended atomic increment ---------------------------------------------- */

struct counter {
	_Atomic uint64_t c PB_ALIGNED;
	char pad[PB_CACHELINE - sizeof(uint64_t)];
	struct gate gate PB_ALIGNED;
	_Atomic int stop PB_ALIGNED;
	unsigned n;
};

struct ctr_arg {
	struct counter *k;
	int cpu;
	uint64_t ops;
};

static void *ctr_thread(void *arg)
{
	struct ctr_arg *a = arg;
	uint64_t ops = 0;

	pb_pin_self(a->cpu);
	if (!gate_wait(&a->k->gate, a->k->n + 1))
		return NULL;
	while (!atomic_load_explicit(&a->k->stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++)
			atomic_fetch_add_explicit(&a->k->c, 1, memory_order_relaxed);
		ops += 64;
	}
	a->ops = ops;
	return NULL;
}

static int measure_atomic(const int *cpus, unsigned t, double *ns_per_inc, double *mops)
{
	struct counter *k = aligned_alloc(PB_CACHELINE, sizeof(*k));
	struct ctr_arg args[PB_FLOOR_MAX_THREADS];
	pthread_t th[PB_FLOOR_MAX_THREADS];
	unsigned started = 0;
	uint64_t t0, total = 0;
	int rc = 0;

	if (!k)
		return -ENOMEM;
	memset(k, 0, sizeof(*k));
	k->n = t;
	for (; started < t; started++) {
		args[started] = (struct ctr_arg){.k = k, .cpu = cpus[started]};
		if ((rc = pthread_create(&th[started], NULL, ctr_thread, &args[started])) != 0)
			break;
	}
	if (rc)
		atomic_store(&k->gate.abort, 1);
	else
		gate_wait(&k->gate, k->n + 1);
	t0 = pb_now_ns();
	/* Sleep, not spin: the counting threads have every CPU measured. */
	while (pb_now_ns() - t0 < ATOMIC_NS) {
		uint64_t left = ATOMIC_NS - (pb_now_ns() - t0);
		struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};

		nanosleep(&ts, NULL);
	}
	atomic_store(&k->stop, 1);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		total += args[i].ops;
	}
	t0 = pb_now_ns() - t0;
	free(k);
	if (rc)
		return -rc;
	*mops = (double)total / ((double)t0 / 1e3);
	*ns_per_inc = (double)t0 * t / (double)total;
	return 0;
}

/* ---- batched SPSC ring ------------------------------------------------------------ */

struct ring {
	_Atomic uint64_t tail PB_ALIGNED; /* written by the producer, every RING_PUBLISH items */
	_Atomic uint64_t head PB_ALIGNED; /* written by the consumer, once per drain */
	struct gate gate PB_ALIGNED;
	int cpu[2];
	uint64_t sum; /* consumer's checksum: the items are really read */
	struct item slot[RING_SIZE] PB_ALIGNED;
};

static void *ring_producer(void *arg)
{
	struct ring *r = arg;
	uint64_t tail = 0, head = 0;

	pb_pin_self(r->cpu[0]);
	if (!gate_wait(&r->gate, 2))
		return NULL;
	while (tail < RING_ITEMS) {
		while (tail - head >= RING_SIZE - RING_PUBLISH)
			head = atomic_load_explicit(&r->head, memory_order_acquire);
		for (unsigned i = 0; i < RING_PUBLISH; i++, tail++) {
			struct item *it = &r->slot[tail & (RING_SIZE - 1)];

			it->v[0] = tail;
			it->v[1] = tail ^ 1;
			it->v[2] = 0;
			it->v[3] = 0;
		}
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
	return NULL;
}

static void *ring_consumer(void *arg)
{
	struct ring *r = arg;
	uint64_t head = 0, sum = 0;

	pb_pin_self(r->cpu[1]);
	if (!gate_wait(&r->gate, 2))
		return NULL;
	while (head < RING_ITEMS) {
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

		if (tail == head)
			continue;
		for (; head < tail; head++)
			sum += r->slot[head & (RING_SIZE - 1)].v[0];
		atomic_store_explicit(&r->head, head, memory_order_release);
	}
	r->sum = sum;
	return NULL;
}

static int measure_ring(int a, int b, double *ns_per_item)
{
	struct ring *r = aligned_alloc(PB_CACHELINE, sizeof(*r));
	pthread_t tp, tc;
	uint64_t t0;
	int rc;

	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->cpu[0] = a;
	r->cpu[1] = b;
	if ((rc = pthread_create(&tc, NULL, ring_consumer, r)) != 0) {
		free(r);
		return -rc;
	}
	t0 = pb_now_ns();
	rc = pthread_create(&tp, NULL, ring_producer, r);
	if (rc) {
		atomic_store(&r->gate.abort, 1);
		pthread_join(tc, NULL);
		free(r);
		return -rc;
	}
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	t0 = pb_now_ns() - t0;
	rc = r->sum == (uint64_t)RING_ITEMS * (RING_ITEMS - 1) / 2 ? 0 : -EIO;
	free(r);
	*ns_per_item = (double)t0 / RING_ITEMS;
	return rc;
}

/* ---- the floor ----------------------------------------------------------------- */

int pb_floor_measure(const int *cpus, unsigned n, struct pb_floor *f)
{
	uint64_t t0 = pb_now_ns();
	double v[PP_MAX_PAIRS], runs[RING_RUNS];
	unsigned np = 0;

	memset(f, 0, sizeof(*f));
	if (!n) {
		cpu_set_t set;

		if (sched_getaffinity(0, sizeof(set), &set))
			return -errno;
		for (int c = 0; c < CPU_SETSIZE && f->ncpus < PB_FLOOR_MAX_THREADS; c++)
			if (CPU_ISSET(c, &set))
				f->cpus[f->ncpus++] = c;
	} else {
		for (unsigned i = 0; i < n && i < PB_FLOOR_MAX_THREADS; i++)
			f->cpus[f->ncpus++] = cpus[i];
	}
	if (!f->ncpus)
		return -EINVAL;
	for (unsigned i = 0; i < f->ncpus && np < PP_MAX_PAIRS; i++)
		for (unsigned j = i + 1; j < f->ncpus && np < PP_MAX_PAIRS; j++) {
			int rc = measure_oneway(f->cpus[i], f->cpus[j], &v[np]);

			if (rc)
				return rc;
			np++;
		}
	f->npairs = np;
	if (np) {
		f->oneway_med_ns = median(v, np); /* sorts v */
		f->oneway_min_ns = v[0];
	}
	for (unsigned t = 1; t <= f->ncpus; t++) {
		int rc = measure_atomic(f->cpus, t, &f->atomic_ns[t - 1], &f->atomic_mops[t - 1]);

		if (rc)
			return rc;
		f->natomic = t;
	}
	if (f->ncpus >= 2) {
		for (unsigned i = 0; i < RING_RUNS; i++) {
			int rc = measure_ring(f->cpus[0], f->cpus[1], &runs[i]);

			if (rc)
				return rc;
		}
		qsort(runs, RING_RUNS, sizeof(double), cmp_double);
		f->spsc_ns = runs[0];
	} else {
		snprintf(f->note, sizeof(f->note),
			 "one CPU: no core-to-core latency and no SPSC ring figure");
	}
	f->wall_s = (double)(pb_now_ns() - t0) / 1e9;
	return 0;
}

void pb_floor_print(const struct pb_floor *f, FILE *out)
{
	char cpus[512];

	pb_cpus_format(f->cpus, f->ncpus, cpus, sizeof(cpus));
	fprintf(out, "the machine's floor on CPUs %s (%.1f s)\n", cpus, f->wall_s);
	if (f->npairs)
		fprintf(out, "  one-way cache-line latency: min %.1f ns, median %.1f ns over %u pair%s\n",
			f->oneway_min_ns, f->oneway_med_ns, f->npairs, f->npairs == 1 ? "" : "s");
	for (unsigned t = 1; t <= f->natomic; t++)
		fprintf(out, "  contended atomic increment, %2u thread%s: %7.1f ns each, %7.1f Mops/s total\n",
			t, t == 1 ? " " : "s", f->atomic_ns[t - 1], f->atomic_mops[t - 1]);
	if (f->spsc_ns > 0)
		fprintf(out, "  batched SPSC ring (32-byte items, tail every %u): %.2f ns per item\n",
			RING_PUBLISH, f->spsc_ns);
	if (f->note[0])
		fprintf(out, "  note: %s\n", f->note);
}

void pb_floor_json(const struct pb_floor *f, FILE *out, const char *ind)
{
	fprintf(out, "{\n%s  \"cpus\": [", ind);
	for (unsigned i = 0; i < f->ncpus; i++)
		fprintf(out, "%s%d", i ? ", " : "", f->cpus[i]);
	fprintf(out, "],\n%s  \"oneway_latency_min_ns\": %.2f,\n%s  \"oneway_latency_median_ns\": %.2f,\n"
		"%s  \"oneway_pairs\": %u,\n", ind, f->oneway_min_ns, ind, f->oneway_med_ns, ind,
		f->npairs);
	fprintf(out, "%s  \"atomic_inc_ns\": [", ind);
	for (unsigned t = 0; t < f->natomic; t++)
		fprintf(out, "%s%.2f", t ? ", " : "", f->atomic_ns[t]);
	fprintf(out, "],\n%s  \"atomic_inc_total_mops\": [", ind);
	for (unsigned t = 0; t < f->natomic; t++)
		fprintf(out, "%s%.1f", t ? ", " : "", f->atomic_mops[t]);
	fprintf(out, "],\n%s  \"spsc_batched_ns_per_item\": %.3f,\n%s  \"seconds\": %.2f\n%s}", ind,
		f->spsc_ns, ind, f->wall_s, ind);
}

int pb_calibrate_cmd(int argc, char **argv)
{
	struct pb_topo *topo;
	struct pb_floor f;
	int cpus[PB_FLOOR_MAX_THREADS] = {0};
	unsigned n = 0;
	int json = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--cpus") && i + 1 < argc) {
			char err[512];

			if (pb_topo_open(&topo))
				pb_usage_error("calibrate: cannot read the topology");
			if (pb_pin_parse(topo, argv[i + 1], err, sizeof(err)) ||
			    !strcmp(argv[i + 1], "none"))
				pb_usage_error("calibrate: value '%s' is not valid for --cpus, allowed: a CPU "
					       "list such as 0,1 or 0-3, compact or scatter (%s)", argv[i + 1],
					       err[0] ? err : "none pins nothing");
			n = pb_topo_npus(topo) < PB_FLOOR_MAX_THREADS ? pb_topo_npus(topo) :
									PB_FLOOR_MAX_THREADS;
			/* A CPU list names its CPUs; compact/scatter: every PU in that order. */
			if (pb_pin_plan(topo, argv[i + 1], 0, n, cpus, err, sizeof(err)))
				pb_usage_error("calibrate: --cpus %s: %s", argv[i + 1], err);
			for (unsigned k = 1; k < n; k++)
				if (cpus[k] == cpus[0]) {
					n = k; /* a list wraps around: keep one of each */
					break;
				}
			pb_topo_close(topo);
			i++;
		} else {
			pb_usage_error("calibrate: unknown argument '%s', allowed: --cpus LIST, --json",
				       argv[i]);
		}
	}
	rc = pb_floor_measure(cpus, n, &f);
	if (rc) {
		pb_log("calibrate: %s", strerror(-rc));
		return PB_EXIT_FAIL;
	}
	if (json) {
		pb_floor_json(&f, stdout, "");
		fputc('\n', stdout);
	} else {
		pb_floor_print(&f, stdout);
	}
	return PB_EXIT_OK;
}
