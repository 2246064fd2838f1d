/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the harness's log-linear latency histogram (harness/hist.c):
 * the bucket layout covers every uint64_t value without gaps, percentiles stay
 * within the stated relative error of the exact nearest-rank percentiles
 * (computed by sorting), merging is exact, and edge values work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "pb.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, good enough for test data. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct pb_hist *new_hist(void)
{
	struct pb_hist *h = malloc(sizeof(*h));

	assert_non_null(h);
	pb_hist_init(h);
	return h;
}

/* |r - v| <= v / 2^(SUB_BITS+1), the bound stated in hist.h. */
static void check_bound(uint64_t r, uint64_t v, const char *what, double p)
{
	uint64_t d = r > v ? r - v : v - r;

	if (d > (v >> (PB_HIST_SUB_BITS + 1))) {
		print_error("%s p%g: reported %llu, exact %llu (error %llu > bound %llu)\n", what, p,
			    (unsigned long long)r, (unsigned long long)v, (unsigned long long)d,
			    (unsigned long long)(v >> (PB_HIST_SUB_BITS + 1)));
		fail();
	}
}

static void test_layout(void **state)
{
	(void)state;
	/* Buckets are contiguous and the last one ends at UINT64_MAX. */
	assert_int_equal(pb_hist_bucket_lo(0), 0);
	for (unsigned i = 0; i + 1 < PB_HIST_NBUCKETS; i++)
		assert_true(pb_hist_bucket_lo(i) + pb_hist_bucket_width(i) == pb_hist_bucket_lo(i + 1));
	assert_true(pb_hist_bucket_lo(PB_HIST_NBUCKETS - 1) + (pb_hist_bucket_width(PB_HIST_NBUCKETS - 1) - 1) ==
		    UINT64_MAX);
	/* Each value lands in the bucket that contains it; the width is at most
	 * 2^-SUB_BITS of the bucket's lowest value. */
	for (int k = 0; k < 200000; k++) {
		uint64_t v = rnd() >> (rnd() % 64);
		unsigned i = pb_hist_index(v);

		assert_true(i < PB_HIST_NBUCKETS);
		assert_true(pb_hist_bucket_lo(i) <= v);
		assert_true(v - pb_hist_bucket_lo(i) < pb_hist_bucket_width(i));
		if (pb_hist_bucket_width(i) > 1)
			assert_true(pb_hist_bucket_width(i) <= pb_hist_bucket_lo(i) >> PB_HIST_SUB_BITS);
	}
	/* Values below 2^SUB_BITS * 2 are exact. */
	for (uint64_t v = 0; v < 2 * PB_HIST_SUB; v++)
		assert_int_equal(pb_hist_index(v), v);
}

static void test_rank(void **state)
{
	(void)state;
	assert_int_equal(pb_hist_rank(50, 0), 0);
	assert_int_equal(pb_hist_rank(0, 10), 1);
	assert_int_equal(pb_hist_rank(50, 1), 1);
	assert_int_equal(pb_hist_rank(50, 10), 5);
	assert_int_equal(pb_hist_rank(50, 11), 6);
	assert_int_equal(pb_hist_rank(99, 100), 99);
	assert_int_equal(pb_hist_rank(99.9, 1000), 999);
	assert_int_equal(pb_hist_rank(99.9, 1001), 1000);
	assert_int_equal(pb_hist_rank(100, 7), 7);
}

/* Record n values from gen, compare every percentile with the sorted truth. */
static void check_distribution(const char *what, uint64_t (*gen)(void), size_t n)
{
	static const double ps[] = {0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
	uint64_t *v = malloc(n * sizeof(*v));
	struct pb_hist *h = new_hist();

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		v[i] = gen();
		pb_hist_record(h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_int_equal(h->count, n);
	assert_true(h->min == v[0]);
	assert_true(h->max == v[n - 1]);
	for (size_t k = 0; k < PB_ARRAY_SIZE(ps); k++) {
		uint64_t exact = v[pb_hist_rank(ps[k], n) - 1];

		check_bound(pb_hist_percentile(h, ps[k]), exact, what, ps[k]);
	}
	assert_true(pb_hist_percentile(h, 100) == v[n - 1]); /* max is exact */
	free(v);
	free(h);
}

static uint64_t gen_uniform_small(void) { return rnd() % 5000; }
static uint64_t gen_loguniform(void) { return rnd() >> (rnd() % 64); }
static uint64_t gen_latency_like(void)
{
	/* mostly 200..2000 ns, a 1% tail up to 10 ms */
	return rnd() % 100 ? 200 + rnd() % 1800 : rnd() % 10000000;
}
static uint64_t gen_huge(void) { return UINT64_MAX - rnd() % 1000000; }

static void test_error_bound(void **state)
{
	(void)state;
	check_distribution("uniform 0..5000", gen_uniform_small, 100000);
	check_distribution("log-uniform 0..2^64", gen_loguniform, 100000);
	check_distribution("latency-like", gen_latency_like, 100000);
	check_distribution("near UINT64_MAX", gen_huge, 10000);
	check_distribution("small sample", gen_latency_like, 7);
}

static void test_merge_exact(void **state)
{
	struct pb_hist *all = new_hist(), *part[4], *m = new_hist();

	(void)state;
	for (int i = 0; i < 4; i++)
		part[i] = new_hist();
	for (int k = 0; k < 50000; k++) {
		uint64_t v = gen_loguniform();

		pb_hist_record(all, v);
		pb_hist_record(part[k % 3 == 0 ? 0 : 1 + (unsigned)(v % 3)], v);
	}
	/* part[3] may be empty or not; merge an explicitly empty one as well. */
	for (int i = 0; i < 4; i++)
		pb_hist_merge(m, part[i]);
	struct pb_hist *empty = new_hist();
	pb_hist_merge(m, empty);
	assert_int_equal(m->count, all->count);
	assert_true(m->min == all->min);
	assert_true(m->max == all->max);
	assert_memory_equal(m->b, all->b, sizeof(all->b));
	assert_true(pb_hist_percentile(m, 99.9) == pb_hist_percentile(all, 99.9));
	for (int i = 0; i < 4; i++)
		free(part[i]);
	free(all);
	free(m);
	free(empty);
}

static void test_edges(void **state)
{
	static const uint64_t single[] = {0, 1, 127, 128, 129, 255, 256, 1000, 1ull << 32,
					  (1ull << 63) - 1, 1ull << 63, UINT64_MAX - 1, UINT64_MAX};
	struct pb_hist *h = new_hist();

	(void)state;
	/* Empty. */
	assert_int_equal(h->count, 0);
	assert_int_equal(pb_hist_percentile(h, 50), 0);
	assert_int_equal(pb_hist_percentile(h, 100), 0);
	/* A single value: every percentile is that value exactly (clamping). */
	for (size_t k = 0; k < PB_ARRAY_SIZE(single); k++) {
		pb_hist_init(h);
		pb_hist_record(h, single[k]);
		assert_true(pb_hist_percentile(h, 0) == single[k]);
		assert_true(pb_hist_percentile(h, 50) == single[k]);
		assert_true(pb_hist_percentile(h, 99.9) == single[k]);
		assert_true(pb_hist_percentile(h, 100) == single[k]);
	}
	/* 0, 1 and UINT64_MAX together. */
	pb_hist_init(h);
	pb_hist_record(h, 0);
	pb_hist_record(h, 1);
	pb_hist_record(h, UINT64_MAX);
	assert_true(h->min == 0 && h->max == UINT64_MAX && h->count == 3);
	assert_true(pb_hist_percentile(h, 10) == 0);
	assert_true(pb_hist_percentile(h, 50) == 1);
	/* p90 is in the top bucket: within the bound of UINT64_MAX, not above it. */
	check_bound(pb_hist_percentile(h, 90), UINT64_MAX, "0,1,max", 90);
	assert_true(pb_hist_percentile(h, 90) > UINT64_MAX / 2);
	assert_true(pb_hist_percentile(h, 100) == UINT64_MAX);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_error_bound),
		cmocka_unit_test(test_merge_exact),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
