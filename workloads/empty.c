/* SPDX-License-Identifier: MIT */
/*
 * empty: the job that does nothing and returns 0.  Measures the pool and the
 * queue alone (the seed's "empty" benchmark job).
 */
#include <stddef.h>

#include "pb.h"
#include "workload.h"

static int empty_init(const struct pb_optvals *opts, void **ctx)
{
	(void)opts;
	*ctx = NULL;
	return 0;
}

/* Thread-safe: touches nothing. */
static int empty_run(void *ctx, uint64_t arg)
{
	(void)ctx;
	(void)arg;
	return 0;
}

static void empty_fini(void *ctx)
{
	(void)ctx;
}

/* Concurrency: run() may be called from any number of threads at once. */
const struct pb_workload_ops pb_workload_empty = {
	.abi = PB_ABI_VERSION,
	.name = "empty",
	.summary = "does nothing, returns 0 (pool + queue overhead only)",
	.flags = 0,
	.options = NULL,
	.supported = NULL,
	.init = empty_init,
	.run = empty_run,
	.fini = empty_fini,
};
