/* SPDX-License-Identifier: MIT */
/*
 * The workload contract: what a benchmark job does.  docs/adding-a-workload.md
 * walks through writing one; workloads/empty.c and workloads/cpu.c are the
 * smallest examples.
 *
 * Calls and threads:
 *   supported()  any thread, any time; NULL or a reason why the workload
 *                cannot run on this machine (its rows are then "skip").
 *   init()       once per run, on the harness thread, before any run();
 *   run()        from every worker thread at once, many times, with the
 *                context init() made: it must be thread-safe.  The context is
 *                read-only after init (per-call scratch lives on the stack);
 *   fini()       once, after the last run() has returned, on the harness
 *                thread; it frees what init() allocated (it gets NULL if
 *                init() set no context).  Not called when init() failed: a
 *                failing init() cleans up after itself.
 *
 * Options: @opts holds one value per entry of .options, already parsed and
 * range-checked by the core (pb_opt_get(opts, "name")).  @opts may be NULL
 * (the unit tests call init(NULL, &ctx)): use the defaults then
 * (pb_opts_defaults(&defs, my_options)).  A workload without options has
 * .options = NULL.
 *
 * Return values: init() 0 or a negative errno (the row gets status "error"
 * with the errno in its note).
 * run() 0 for a job that did its work; anything else (a negative errno by
 * convention) is counted in the pool's error count and the results.csv
 * "errors" column, and a row with errors is "invalid": its timing is not
 * used.  So non-zero means "this job failed", never "a result value".
 *
 * Keep the work: the compiler may delete a computation whose result is not
 * used, or hoist a call it proves pure out of the caller's loop.  Consume the
 * result with an empty asm (`__asm__ volatile("" : : "r"(x))`), not a store
 * to a shared variable (that adds a shared cache line per job), and mark a
 * helper the caller might hoist __attribute__((noipa)) (workloads/cpu.c).
 * Data the job reads should depend on @arg (the job id) or the context, not
 * on constants the compiler can fold.
 */
#ifndef PB_WORKLOAD_H
#define PB_WORKLOAD_H

#include <stdint.h>

#include "options.h"

struct pb_workload_ops {
	unsigned abi;                    /* PB_ABI_VERSION */
	const char *name;                /* "my-job": lower case, dash separated */
	const char *summary;             /* one line for 'poolbench list' */
	unsigned flags;                  /* none defined yet: 0 */
	const struct pb_option *options; /* NULL-name-terminated table, or NULL */
	const char *(*supported)(void);  /* optional (NULL: always supported) */
	/* @opts may be NULL (defaults).  0 or -errno; *ctx may be set to NULL. */
	int (*init)(const struct pb_optvals *opts, void **ctx);
	/* One job.  @arg is the job id (distinct per job of a run).  Thread-safe.
	 * 0: done; non-zero (-errno): the job failed (counted, row invalid). */
	int (*run)(void *ctx, uint64_t arg);
	void (*fini)(void *ctx);         /* after the last run(); frees ctx */
};

#endif
