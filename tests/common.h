/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the test programs: the cmocka include prelude, a
 * thread-safe error collector (cmocka asserts may only run on the test's own
 * thread), thread start/join, a per-thread PRNG and job-count scaling for
 * sanitizer and delay-injection builds.
 */
#ifndef PB_TESTS_COMMON_H
#define PB_TESTS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pb.h"

/* True in builds where every operation is much slower (sanitizers, delay injection). */
static inline bool tc_slow_build(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(PB_DELAY_INJECT)
	return true;
#else
	return false;
#endif
}

/*
 * Scale a job count: n in normal builds, n/2 under ASan or delay injection,
 * n/5 under TSan, times PB_TEST_MULT if set (the torture tier runs the same
 * programs with PB_TEST_MULT=3 or 5); PB_TEST_SCALE (a percentage of n,
 * e.g. 10 or 400) overrides the build's own factor.
 * Never returns less than 16.
 */
static inline uint64_t tc_scale(uint64_t n)
{
	const char *s = getenv("PB_TEST_SCALE");
	const char *mult = getenv("PB_TEST_MULT");
	uint64_t r;

	if (mult && *mult)
		n *= (uint64_t)strtoull(mult, NULL, 10);
	if (s && *s)
		r = n * (uint64_t)strtoull(s, NULL, 10) / 100;
	else
#if defined(__SANITIZE_THREAD__)
		r = n / 5;
#else
		r = tc_slow_build() ? n / 2 : n;
#endif
	return r < 16 ? 16 : r;
}

/*
 * PB_TEST_ONLY=NAME (scripts/test.sh --only NAME): keep only the
 * configurations that include the plug-in NAME (a backend, reclaimer or
 * workload; @b may be NULL).  Unset or empty: keep everything.
 */
static inline bool tc_only(const char *a, const char *b)
{
	const char *only = getenv("PB_TEST_ONLY");

	if (!only || !*only)
		return true;
	return (a && !strcmp(a, only)) || (b && !strcmp(b, only));
}

/* Seconds a test waits for progress before it calls the run stuck. */
static inline uint64_t tc_stall_ns(void)
{
	return (tc_slow_build() ? 20ull : 8ull) * 1000000000ull;
}

/*
 * Error collector: any thread may record a failure; the test thread then
 * asserts on it (cmocka's fail() longjmps and is only valid on the test
 * thread).  The first message is kept.  Thread-safe.
 */
struct tc_errs {
	atomic_uint n;
	pthread_mutex_t mu;
	char first[512];
};

static inline void tc_errs_init(struct tc_errs *e)
{
	atomic_init(&e->n, 0);
	pthread_mutex_init(&e->mu, NULL);
	e->first[0] = 0;
}

__attribute__((format(printf, 2, 3)))
static inline void tc_err(struct tc_errs *e, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&e->n, 1) != 0)
		return;
	pthread_mutex_lock(&e->mu);
	va_start(ap, fmt);
	vsnprintf(e->first, sizeof(e->first), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&e->mu);
}

/* Fail the current test (test thread only) if anything was recorded. */
#define tc_errs_check(e, what)                                                          \
	do {                                                                            \
		unsigned _n = atomic_load(&(e)->n);                                     \
		if (_n) {                                                               \
			pthread_mutex_lock(&(e)->mu);                                   \
			fail_msg("%s: %u error(s), first: %s", (what), _n, (e)->first); \
		}                                                                       \
	} while (0)

/* Start / join threads; failures to start fail the test (test thread only). */
static inline void tc_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, NULL, fn, arg);

	if (rc)
		fail_msg("pthread_create: error %d", rc);
}

static inline void tc_join(pthread_t t)
{
	int rc = pthread_join(t, NULL);

	if (rc)
		fail_msg("pthread_join: error %d", rc);
}

/* xorshift64: per-thread PRNG for random stalls.  Not thread-safe per state. */
static inline uint64_t tc_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Yield about once every 2^bits calls, to vary interleavings. */
static inline void tc_maybe_yield(uint64_t *s, unsigned bits)
{
	if ((tc_rand(s) & ((1ull << bits) - 1)) == 0)
		sched_yield();
}

static inline void tc_sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

#endif
