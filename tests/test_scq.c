/* SPDX-License-Identifier: MIT */
/*
 * White-box tests of backends/scq.c (unit suite): the interleavings that the
 * conformance suite's threads almost never produce on 2 CPUs, driven one step
 * at a time from one thread.  A "preempted" operation is simulated by doing
 * its FAA on head or tail here and running the rest of it later
 * (scq_enqueue_at / scq_dequeue_at), while other operations run in between:
 * a dequeuer that arrives before its enqueuer, one that finds a later cycle,
 * catchup,
 * the IsSafe bit and the "head <= T" refill rule, threshold exhaustion and
 * recovery, and cycles wrapping their entry field.  Indices are < n (0 and 1:
 * every geometry has n >= 2).
 */
#include "common.h"

#include <inttypes.h>

/* The backend itself, with its ops struct renamed so that it does not clash
 * with the library's copy. */
#define pb_backend_scq pb_backend_scq_whitebox
#include "../backends/scq.c"
#undef pb_backend_scq

static struct pb_queue *wb_open(int64_t cap, int remap)
{
	struct pb_optvals ov;
	struct pb_queue *q = NULL;

	pb_opts_defaults(&ov, scq_options);
	ov.v[pb_opt_index(scq_options, "capacity")] = cap;
	ov.v[pb_opt_index(scq_options, "remap")] = remap ? SCQ_REMAP_ON : SCQ_REMAP_OFF;
	assert_int_equal(scq_create(&ov, NULL, &q), 0);
	return q;
}

static uint64_t faa(_Atomic uint64_t *p)
{
	return atomic_fetch_add(p, 1);
}

static int64_t thr(struct scq_ring *r)
{
	return atomic_load(&r->threshold);
}

static uint64_t entry_at(struct pb_queue *q, struct scq_ring *r, uint64_t pos)
{
	return atomic_load(&r->ent[scq_remap(q, pos)]);
}

/* One position lost by both sides: an enqueuer and a dequeuer take it, the
 * dequeuer invalidates it, the enqueuer then finds it unusable. */
static void burn_position(struct pb_queue *q, struct scq_ring *r)
{
	uint64_t t = faa(&r->tail), h = faa(&r->head);

	assert_int_equal(t, h);
	assert_true(scq_dequeue_at(q, r, h) < 0);
	assert_false(scq_enqueue_at(q, r, t, 0));
}

/* An enqueue and a dequeue, so the ring is empty and its threshold >= 0. */
static void prime(struct pb_queue *q, struct scq_ring *r)
{
	scq_enqueue(q, r, 0);
	assert_int_equal(scq_dequeue(q, r), 0);
	assert_int_equal(thr(r), q->thr_max);
}

/* Geometries: identity (R < 16), remapped, and remap=off on the same size. */
static const struct { int64_t cap; int remap; } geo[] = { {2, 1}, {4, 1}, {8, 1}, {8, 0}, {64, 1} };

/* The remap is a bijection on 0 .. R-1. */
static void test_remap_bijection(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		uint64_t R = 2 * q->n;
		unsigned char *seen = calloc(R, 1);

		for (uint64_t p = 0; p < R; p++) {
			size_t j = scq_remap(q, p);

			assert_true(j < R);
			assert_int_equal(seen[j], 0);
			seen[j] = 1;
			if (q->lshift && p + 1 < R && ((p + 1) & ((1ull << q->lshift) - 1)))
				/* consecutive positions land on different lines */
				assert_int_not_equal(j / 8, scq_remap(q, p + 1) / 8);
		}
		free(seen);
		scq_destroy(q);
	}
}

/* A fresh aq has threshold -1: a pop answers "empty" without taking a position,
 * even when a (preempted) enqueuer has moved tail; fq starts full. */
static void test_fresh_rings(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		uint64_t t = faa(&q->aq.tail), h0 = atomic_load(&q->aq.head);

		assert_int_equal(thr(&q->aq), -1);
		assert_int_equal(scq_dequeue(q, &q->aq), SCQ_EMPTY);
		assert_int_equal(atomic_load(&q->aq.head), h0); /* no position taken */
		assert_true(scq_enqueue_at(q, &q->aq, t, 1)); /* the enqueuer resumes */
		assert_int_equal(thr(&q->aq), q->thr_max);
		assert_int_equal(scq_dequeue(q, &q->aq), 1);
		assert_int_equal(scq_dequeue(q, &q->aq), SCQ_EMPTY);
		for (uint64_t i = 0; i < q->n; i++) /* fq: 0 .. n-1 in order */
			assert_int_equal(scq_dequeue(q, &q->fq), (int64_t)i);
		assert_int_equal(scq_dequeue(q, &q->fq), SCQ_EMPTY);
		scq_destroy(q);
	}
}

/* A dequeuer that took its position before the enqueuer of that position
 * still gets the element when it resumes (S2: the entry was safe and old). */
static void test_dequeuer_first(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		struct scq_ring *r = &q->aq;
		uint64_t h;

		prime(q, r);
		h = faa(&r->head);      /* D1 preempted after its FAA */
		scq_enqueue(q, r, 1);   /* takes position h */
		assert_int_equal(atomic_load(&r->tail), h + 1);
		assert_int_equal(scq_dequeue_at(q, r, h), 1);
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		scq_destroy(q);
	}
}

/* A dequeuer that visits its position before the preempted enqueuer writes it
 * invalidates the entry; the enqueuer then fails there and places its index
 * at a later position, where the next dequeue finds it. */
static void test_enqueuer_invalidated(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		struct scq_ring *r = &q->aq;
		uint64_t t;

		prime(q, r);
		t = faa(&r->tail);      /* E1 preempted after its FAA */
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY); /* takes t, invalidates */
		assert_int_equal(E_CYC(q, entry_at(q, r, t)), scq_pos_cyc(q, t));
		assert_int_equal(thr(r), q->thr_max - 1);       /* one failed iteration */
		assert_false(scq_enqueue_at(q, r, t, 1));       /* E1 resumes: unusable */
		scq_enqueue(q, r, 1);                           /* and retries */
		assert_int_equal(thr(r), q->thr_max);
		assert_int_equal(scq_dequeue(q, r), 1);
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		scq_destroy(q);
	}
}

/* Catchup: a dequeuer that overtook tail raises it past its own position, so
 * the next enqueuer does not start at a position already given up. */
static void test_catchup(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		struct scq_ring *r = &q->aq;
		uint64_t t, h1, h2;

		prime(q, r);
		t = faa(&r->tail);      /* E1 preempted */
		h1 = faa(&r->head);     /* D1 preempted, position t */
		h2 = faa(&r->head);     /* D2, one past tail */
		assert_int_equal(h1, t);
		assert_int_equal(scq_dequeue_at(q, r, h2), SCQ_EMPTY);
		assert_int_equal(atomic_load(&r->tail), h2 + 1); /* caught up */
		assert_true(scq_enqueue_at(q, r, t, 1));        /* E1: still D1's */
		assert_int_equal(scq_dequeue_at(q, r, h1), 1);
		scq_enqueue(q, r, 0);
		assert_int_equal(atomic_load(&r->tail), h2 + 2); /* h2 skipped */
		assert_int_equal(scq_dequeue(q, r), 0);
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		scq_destroy(q);
	}
}

/*
 * IsSafe.  A dequeuer one cycle ahead finds an older, still occupied entry:
 * it clears the safe bit and gives up (the element stays for its own slow
 * dequeuer).  An enqueuer of that later position must then not refill the
 * entry once head has passed its position (its dequeuer is gone), but may
 * when head has not reached it yet ("head <= T").
 */
static void test_unsafe_refill(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		struct scq_ring *r = &q->aq;
		const uint64_t R = 2 * q->n;
		uint64_t p, h1, t2, h2, t3, e;

		prime(q, r);
		p = atomic_load(&r->tail);
		scq_enqueue(q, r, 1);          /* at p */
		h1 = faa(&r->head);            /* D1 (p) preempted */
		assert_int_equal(h1, p);
		for (uint64_t k = 1; k < R; k++)
			burn_position(q, r);   /* positions p+1 .. p+R-1 */
		t2 = faa(&r->tail);            /* E2 (p+R) preempted */
		h2 = faa(&r->head);            /* D2 (p+R) */
		assert_int_equal(t2, p + R);
		assert_int_equal(h2, p + R);
		assert_int_equal(scq_dequeue_at(q, r, h2), SCQ_EMPTY);
		e = entry_at(q, r, p);
		assert_int_equal(e & SCQ_SAFE(q), 0);                     /* marked unsafe */
		assert_int_equal(E_IDX(q, e), 1);                          /* element kept */
		assert_int_equal(E_CYC(q, e), scq_pos_cyc(q, p));
		assert_int_equal(scq_dequeue_at(q, r, h1), 1);             /* D1 resumes */
		assert_false(scq_enqueue_at(q, r, t2, 0)); /* unsafe, head > t2: refused */
		scq_enqueue(q, r, 0);                      /* E2 retries */
		assert_int_equal(scq_dequeue(q, r), 0);
		/* Next lap: the entry is still unsafe and empty; an enqueuer whose
		 * position head has not reached may use it. */
		while (atomic_load(&r->tail) < p + 2 * R)
			burn_position(q, r);
		assert_int_equal(atomic_load(&r->head), p + 2 * R);
		e = entry_at(q, r, p);
		assert_int_equal(e & SCQ_SAFE(q), 0);
		assert_int_equal(E_IDX(q, e), q->rmask);
		t3 = faa(&r->tail);
		assert_int_equal(t3, p + 2 * R);
		assert_true(scq_enqueue_at(q, r, t3, 1));
		assert_true(entry_at(q, r, p) & SCQ_SAFE(q)); /* safe again */
		assert_int_equal(scq_dequeue(q, r), 1);
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		scq_destroy(q);
	}
}

/* A slow dequeuer whose entry was taken by a later cycle's enqueuer finds
 * nothing there and moves on; its own position's enqueuer fails there too;
 * both elements come out in position order. */
static void test_later_cycle(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		struct scq_ring *r = &q->aq;
		const uint64_t R = 2 * q->n;
		uint64_t t0, h1, t4;

		prime(q, r);
		t0 = faa(&r->tail);            /* E0 preempted */
		h1 = faa(&r->head);            /* D1 preempted, same position */
		for (uint64_t k = 1; k < R; k++)
			burn_position(q, r);
		t4 = faa(&r->tail);            /* E4, one cycle later, same entry */
		assert_int_equal(t4, t0 + R);
		assert_true(scq_enqueue_at(q, r, t4, 1)); /* safe and untouched: placed */
		assert_int_equal(scq_dequeue_at(q, r, h1), SCQ_AGAIN); /* later cycle */
		assert_false(scq_enqueue_at(q, r, t0, 0)); /* E0: not an older cycle */
		scq_enqueue(q, r, 0);
		assert_int_equal(scq_dequeue(q, r), 1);
		assert_int_equal(scq_dequeue(q, r), 0);
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		scq_destroy(q);
	}
}

/*
 * Threshold.  With more than 3n positions taken by enqueuers that have not
 * written yet, one dequeue spends exactly 3n failed iterations, then answers
 * "empty"; further dequeues answer at once, taking no position; the next
 * completed enqueue resets the threshold and its element comes out (past the
 * positions still held by the preempted enqueuers, which fail there).
 */
static void test_threshold(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		struct scq_ring *r = &q->aq;
		const uint64_t k = 3 * q->n + 4;
		uint64_t *t = calloc(k, sizeof(*t)), h0;

		prime(q, r);
		for (uint64_t i = 0; i < k; i++)
			t[i] = faa(&r->tail);  /* k preempted enqueuers */
		h0 = atomic_load(&r->head);
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		assert_int_equal(atomic_load(&r->head) - h0, 3 * q->n);
		assert_int_equal(thr(r), -1);
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		assert_int_equal(atomic_load(&r->head) - h0, 3 * q->n); /* none taken */
		/* The enqueuers resume one at a time; each index comes out before
		 * the next one goes in. */
		for (uint64_t i = 0; i < k; i++) {
			uint64_t idx = i % q->n;

			/* Every position was invalidated by then: the first 3n by
			 * the exhausting dequeue, the rest by the first recovery. */
			assert_false(scq_enqueue_at(q, r, t[i], idx));
			scq_enqueue(q, r, idx);
			assert_int_equal(thr(r), q->thr_max);
			assert_int_equal(scq_dequeue(q, r), (int64_t)idx);
		}
		assert_int_equal(scq_dequeue(q, r), SCQ_EMPTY);
		free(t);
		scq_destroy(q);
	}
}

/* Cycles wrap their (63 - log2 R)-bit entry field: counters started just
 * below 2^63, entries one cycle behind, then many laps through the queue
 * (with all n slots in use) across the wrap. */
static void test_cycle_wrap(void **state)
{
	(void)state;
	for (size_t g = 0; g < PB_ARRAY_SIZE(geo); g++) {
		struct pb_queue *q = wb_open(geo[g].cap, geo[g].remap);
		const uint64_t R = 2 * q->n, start = (1ull << 63) - 4 * R;
		uint64_t next = 0, want = 0;
		struct pb_job job, out[8];

		assert_true(scq_cyc_cmp(q, 0, UINT64_MAX >> (q->ib + 1)) > 0);
		assert_true(scq_cyc_cmp(q, UINT64_MAX >> (q->ib + 1), 0) < 0);
		for (int w = 0; w < 2; w++) {
			struct scq_ring *r = w ? &q->fq : &q->aq;
			uint64_t c = scq_pos_cyc(q, start);
			uint64_t prev = (c - 1) & (UINT64_MAX >> (q->ib + 1));

			for (uint64_t j = 0; j < R; j++)
				atomic_store(&r->ent[j], E_PACK(q, prev, 1, q->rmask));
			atomic_store(&r->head, start);
			atomic_store(&r->tail, start);
			atomic_store(&r->threshold, -1);
		}
		for (uint64_t i = 0; i < q->n; i++) /* fq full again */
			scq_enqueue(q, &q->fq, i);
		memset(&job, 0, sizeof(job));
		for (int lap = 0; lap < 64; lap++) {
			size_t n;

			for (job.tag = next; scq_push(q, NULL, &job) == PB_OK; job.tag = ++next)
				;
			while ((n = scq_pop_batch(q, NULL, out, 8)))
				for (size_t i = 0; i < n; i++)
					assert_int_equal(out[i].tag, want++);
			assert_int_equal(want, next);
		}
		assert_true(atomic_load(&q->aq.head) > (1ull << 63)); /* crossed */
		assert_int_equal(next, 64 * q->n);
		scq_destroy(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remap_bijection),
		cmocka_unit_test(test_fresh_rings),
		cmocka_unit_test(test_dequeuer_first),
		cmocka_unit_test(test_enqueuer_invalidated),
		cmocka_unit_test(test_catchup),
		cmocka_unit_test(test_unsafe_refill),
		cmocka_unit_test(test_later_cycle),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_cycle_wrap),
	};

	if (!tc_only("scq", NULL)) {
		printf("SKIP: PB_TEST_ONLY=%s: not scq\n", getenv("PB_TEST_ONLY"));
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
