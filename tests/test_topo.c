/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of core/topo.c: policy parsing and its error messages, the CPU
 * plans of none / compact / scatter / node:N / explicit lists (permutations,
 * wrap-around, offsets), pb_cpus_format, and pb_pin_self really binding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo.h"

static struct pb_topo *topo;
static unsigned npus;

static int setup(void **state)
{
	(void)state;
	if (pb_topo_open(&topo))
		return -1;
	npus = pb_topo_npus(topo);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pb_topo_close(topo);
	return 0;
}

static void test_counts_and_summary(void **state)
{
	char buf[256];

	(void)state;
	assert_true(npus >= 1);
	assert_true(pb_topo_ncores(topo) >= 1);
	assert_true(pb_topo_ncores(topo) <= npus);
	pb_topo_summary(topo, buf, sizeof(buf));
	assert_non_null(strstr(buf, "PU"));
	assert_non_null(strstr(buf, "core"));
}

static void test_parse(void **state)
{
	static const char *const good[] = {"none", "compact", "scatter", "0"};
	static const char *const bad[] = {"", "sideways", "node:", "node:x", "node:99999",
					  "0,", ",0", "3-1", "0-", "0,,1", "99999", "1a"};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(pb_pin_parse(topo, good[i], err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(pb_pin_parse(topo, bad[i], err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
		if (bad[i][0])
			assert_non_null(strstr(err, bad[i]));
	}
}

/* cpus[0..n-1] holds each PU exactly once. */
static void assert_permutation(const int *cpus, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char pol[32];
		char err[256];

		assert_true(cpus[i] >= 0);
		for (unsigned k = 0; k < i; k++)
			assert_int_not_equal(cpus[i], cpus[k]);
		/* Each entry is a CPU that exists (an explicit list of it parses). */
		snprintf(pol, sizeof(pol), "%d", cpus[i]);
		assert_int_equal(pb_pin_parse(topo, pol, err, sizeof(err)), 0);
	}
}

static void test_plans(void **state)
{
	unsigned n = npus + 1;
	int *a = calloc(n, sizeof(int)), *b = calloc(n, sizeof(int));
	char err[256], pol[64];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(pb_pin_plan(topo, "none", 0, n, a, err, sizeof(err)), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(a[i], -1);

	for (int p = 0; p < 2; p++) {
		const char *policy = p ? "scatter" : "compact";

		/* npus + 1 threads: a permutation, then wrap-around (with a note). */
		assert_int_equal(pb_pin_plan(topo, policy, 0, n, a, err, sizeof(err)), 0);
		assert_permutation(a, npus);
		assert_int_equal(a[npus], a[0]);
		/* An offset continues the same order. */
		assert_int_equal(pb_pin_plan(topo, policy, 1, npus, b, err, sizeof(err)), 0);
		for (unsigned i = 0; i < npus; i++)
			assert_int_equal(b[i], a[(i + 1) % npus]);
	}

	/* An explicit list is used in its order and wraps. */
	assert_int_equal(pb_pin_plan(topo, "compact", 0, npus, a, err, sizeof(err)), 0);
	snprintf(pol, sizeof(pol), "%d", a[npus - 1]);
	assert_int_equal(pb_pin_plan(topo, pol, 0, 3, b, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(b[i], a[npus - 1]);
	if (npus >= 2) {
		snprintf(pol, sizeof(pol), "%d,%d", a[1], a[0]);
		assert_int_equal(pb_pin_plan(topo, pol, 0, 3, b, err, sizeof(err)), 0);
		assert_int_equal(b[0], a[1]);
		assert_int_equal(b[1], a[0]);
		assert_int_equal(b[2], a[1]);
	}

	/* node:N for the NUMA node of the first PU (node 0 on every machine we
	 * know; skipped where it does not parse). */
	if (pb_pin_parse(topo, "node:0", err, sizeof(err)) == 0) {
		assert_int_equal(pb_pin_plan(topo, "node:0", 0, 2, b, err, sizeof(err)), 0);
		assert_true(b[0] >= 0 && b[1] >= 0);
	}
	assert_int_equal(pb_pin_plan(topo, "bogus", 0, 1, b, err, sizeof(err)), -EINVAL);
	free(a);
	free(b);
}

static void test_format(void **state)
{
	int two[] = {0, 1}, none[] = {-1, -1}, mixed[] = {3, -1};
	char buf[64];

	(void)state;
	pb_cpus_format(two, 2, buf, sizeof(buf));
	assert_string_equal(buf, "0,1");
	pb_cpus_format(none, 2, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	pb_cpus_format(two, 0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	pb_cpus_format(mixed, 2, buf, sizeof(buf));
	assert_string_equal(buf, "3,-");
}

struct bind_arg {
	int cpu;
	int rc;
	int seen;
};

static void *bind_thread(void *p)
{
	struct bind_arg *a = p;

	a->rc = pb_pin_self(a->cpu);
	a->seen = sched_getcpu();
	return NULL;
}

static void test_pin_self(void **state)
{
	int cpus[64];
	unsigned n = npus < 64 ? npus : 64;
	char err[256];

	(void)state;
	assert_int_equal(pb_pin_self(-1), 0);
	assert_int_equal(pb_pin_plan(topo, "compact", 0, n, cpus, err, sizeof(err)), 0);
	for (unsigned i = 0; i < n && i < 4; i++) {
		struct bind_arg a = {.cpu = cpus[i]};
		pthread_t th;

		/* In a thread, so the test's own affinity stays as it was. */
		assert_int_equal(pthread_create(&th, NULL, bind_thread, &a), 0);
		pthread_join(th, NULL);
		assert_int_equal(a.rc, 0);
		assert_int_equal(a.seen, cpus[i]);
	}
	{
		struct bind_arg a = {.cpu = 1 << 20};
		pthread_t th;

		assert_int_equal(pthread_create(&th, NULL, bind_thread, &a), 0);
		pthread_join(th, NULL);
		assert_true(a.rc < 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_summary),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_pin_self),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
