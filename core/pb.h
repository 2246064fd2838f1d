/* SPDX-License-Identifier: MIT */
/*
 * poolbench common definitions: status codes, cache-line helpers, time,
 * branch hints and the logging entry point shared by every module.
 */
#ifndef PB_PB_H
#define PB_PB_H

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

/* One logging module: messages go to stderr prefixed with "poolbench: ". */
void pb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
