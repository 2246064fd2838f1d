/* SPDX-License-Identifier: MIT */
/*
 * cpu: the seed's busy loop, x += i*i for i < `iters` (100000 by default),
 * about 40 us on the development machines.  x starts from the job id, so
 * the result depends on the job and a test can tell it ran.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu.h"
#include "pb.h"
#include "workload.h"

static const struct pb_option cpu_options[] = {
	{ .name = "iters", .type = PB_OPT_INT, .min = 0, .max = INT64_C(1) << 40, .def = 100000,
	  .help = "loop iterations per job (x += i*i)" },
	{ .name = NULL },
};

/*
 * noipa: without it gcc infers the function is pure and hoists the call out
 * of a caller's loop (docs/contributing.md, OpenSSL and the cpu loop).  The empty asm that
 * "modifies" x each iteration stops the loop being folded into a closed
 * form or vectorised away, while leaving x in a register.
 *
 * align-loops=32: the loop body is 19 bytes.  Measured on the 2-core EPYC
 * (Zen 5) VM, the same five instructions ran at ~0.27 ns/iteration when the
 * loop sat inside one 32-byte fetch block and ~0.55 ns when it straddled a
 * boundary, i.e. the job's cost doubled or halved with the link layout.
 * Aligning the loop start to 32 bytes pins it to the fast case.
 */
__attribute__((noipa, optimize("align-loops=32")))
uint64_t pb_cpu_loop(uint64_t x, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		x += i * i;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static int cpu_init(const struct pb_optvals *opts, void **ctx)
{
	struct pb_optvals defs;
	uint64_t *iters;

	if (!opts) {
		pb_opts_defaults(&defs, cpu_options);
		opts = &defs;
	}
	iters = malloc(sizeof(*iters));
	if (!iters)
		return -ENOMEM;
	*iters = (uint64_t)pb_opt_get(opts, "iters");
	*ctx = iters;
	return 0;
}

/* Thread-safe: the context (the iteration count) is read-only. */
static int cpu_run(void *ctx, uint64_t arg)
{
	uint64_t x = pb_cpu_loop(arg, *(const uint64_t *)ctx);

	/* Use the result without storing it anywhere shared. */
	__asm__ volatile("" : : "r"(x));
	return 0;
}

static void cpu_fini(void *ctx)
{
	free(ctx);
}

/* Concurrency: init/fini on one thread; run() from any number of threads at once. */
const struct pb_workload_ops pb_workload_cpu = {
	.abi = PB_ABI_VERSION,
	.name = "cpu",
	.summary = "busy loop x += i*i for i < iters, 100000 by default (the seed's cpu job)",
	.flags = 0,
	.options = cpu_options,
	.supported = NULL,
	.init = cpu_init,
	.run = cpu_run,
	.fini = cpu_fini,
};
