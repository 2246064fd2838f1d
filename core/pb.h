/* SPDX-License-Identifier: MIT */
/*
 * poolbench common definitions: status codes, cache-line helpers, time,
 * branch hints and the logging entry point shared by every module.
 */
#ifndef PB_PB_H
#define PB_PB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <time.h>

#define PB_ABI_VERSION 1u

#define PB_CACHELINE 64
#define PB_ALIGNED __attribute__((aligned(PB_CACHELINE)))
#define PB_LIKELY(x) __builtin_expect(!!(x), 1)
#define PB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PB_UNUSED __attribute__((unused))

/* Results of queue push and pool submit (not errno values). */
enum pb_status {
	PB_OK = 0,
	PB_FULL = 1,   /* bounded queue has no room right now */
	PB_CLOSED = 2, /* queue closed / pool shut down: nothing was queued */
};

/* Exit codes of the poolbench program (stress-ng style). */
enum pb_exit {
	PB_EXIT_OK = 0,
	PB_EXIT_FAIL = 1,     /* a run failed validation or crashed */
	PB_EXIT_USAGE = 2,    /* bad command line / bad input */
	PB_EXIT_NOTSUP = 3,   /* a plug-in cannot run here (skip) */
	PB_EXIT_NORES = 4,    /* out of a resource (memory, threads, files) */
};

/* Monotonic nanoseconds.  Safe from any thread. */
static inline uint64_t pb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void pb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * Delay injection (meson option -Ddelay_inject=true): random yields at named
 * points in queue and reclaimer paths, in the spirit of liburcu's
 * debug-yield.h, to shake out races on a 2-core machine.  Compiles to nothing
 * otherwise.  Thread-safe (per-thread PRNG state).
 */
#ifdef PB_DELAY_INJECT
void pb_delay_point(const char *where);
#define PB_DELAY(where) pb_delay_point(where)
#else
#define PB_DELAY(where) ((void)0)
#endif

/*
 * Torture hooks (tests/test_queue_torture.c): let a test stop ONE chosen
 * thread at a named point inside a queue's protected region (e.g. a consumer
 * that holds the head segment), in every build, not only delay-inject ones.
 * Cost when unused: a backend reads pb_torture_enabled once per operation
 * (one relaxed load of a global that never changes during a benchmark, so
 * the branch is perfectly predicted); only when it is set does it call
 * pb_torture_call() at its points.  A delay-inject-only PB_DELAY hook would
 * be free in release builds but could not run under ASan or in the normal
 * build, which is where the torture test has to pass.
 *
 * Protocol at a point: the backend fills a probe (where, the protected
 * object, its incarnation and flags as the thread read them) and calls
 * pb_torture_call(); if that returns 1 (the calling thread has a hook, which
 * may have slept), the backend re-reads the object and calls again with
 * where = "<point>.resumed", so the test sees whether the object it held was
 * reclaimed or reused meanwhile.
 */
#define PB_TORTURE_DETACHED 0x1u /* the object was unlinked (retired or about to be) */
#define PB_TORTURE_DEAD     0x2u /* it carries the backend's DEAD magic (pooled / freed) */

struct pb_torture_probe {
	const char *where;   /* "segmented.pop.protected", "segmented.pop.protected.resumed" */
	const void *obj;     /* the object the thread holds protected (identity only) */
	uint64_t gen;        /* its incarnation (generation) as read at the point */
	unsigned flags;      /* PB_TORTURE_* as read at the point */
};

/* Called on the thread that reached the point; may block (that is the stall). */
typedef void (*pb_torture_fn)(const struct pb_torture_probe *p, void *arg);

/* Non-zero: backends call pb_torture_call() at their points.  Set by tests
 * only, before the threads that must see it start (relaxed loads suffice). */
extern atomic_int pb_torture_enabled;

/* Install (fn != NULL) or remove the calling thread's hook.  Thread-local. */
void pb_torture_set_hook(pb_torture_fn fn, void *arg);

/* Runs the calling thread's hook with @p; returns 1 if there was one, else 0. */
int pb_torture_call(const struct pb_torture_probe *p);

/* One logging module: messages go to stderr prefixed with "poolbench: ". */
void pb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
