/* SPDX-License-Identifier: MIT */
/*
 * The workload contract: what a benchmark job does.  init/fini run once per
 * run on the harness thread; run() is called by worker threads concurrently
 * with the same context (it must be thread-safe; the context is read-only
 * after init).
 */
#ifndef PB_WORKLOAD_H
#define PB_WORKLOAD_H

#include <stdint.h>

#include "options.h"

struct pb_workload_ops {
	unsigned abi;
	const char *name;
	const char *summary;
	unsigned flags;
	const struct pb_option *options;
	const char *(*supported)(void);
	int (*init)(const struct pb_optvals *opts, void **ctx); /* 0 or -errno */
	/* Returns 0 or an error code.  @arg is the job id. */
	int (*run)(void *ctx, uint64_t arg);
	void (*fini)(void *ctx);
};

#endif
