/* SPDX-License-Identifier: MIT */
/*
 * The machine-speed canary (issue 8, docs/methodology.md "The canary"): a
 * fixed loop of dependent integer operations, the cpu workload's x += i*i
 * with a compiler barrier, timed by the parent just before and just after
 * every repetition.  Its length is calibrated once per sweep to about 2 ms;
 * on a steady machine it takes the same time every time, so a canary much
 * slower than the sweep's median says the host took CPU time away around
 * that repetition (a slow spell that /proc/stat's steal time does not show
 * on some VMs).  Single-threaded (the parent).
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "pb.h"

__attribute__((noipa)) static uint64_t canary_loop(uint64_t iters)
{
	uint64_t x = 0;

	for (uint64_t i = 0; i < iters; i++) {
		x += i * i;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

uint64_t pb_canary_run(uint64_t iters)
{
	uint64_t t0 = pb_now_ns(), x = canary_loop(iters);

	__asm__ volatile("" ::"r"(x));
	return pb_now_ns() - t0;
}

uint64_t pb_canary_calibrate(uint64_t target_ns)
{
	uint64_t iters = 1u << 14, best = UINT64_MAX;

	/* Grow until one loop takes a tenth of the target, then scale from the
	 * fastest of three (the least disturbed). */
	while (pb_canary_run(iters) < target_ns / 10 && iters < (1ull << 40))
		iters *= 2;
	for (int i = 0; i < 3; i++) {
		uint64_t t = pb_canary_run(iters);

		if (t < best)
			best = t;
	}
	if (!best)
		best = 1;
	iters = (uint64_t)((double)iters * (double)target_ns / (double)best);
	return iters ? iters : 1;
}

uint64_t pb_canary_fake_ns(void)
{
	const char *v = getenv("PB_FAKE_CANARY_NS");

	return v && *v ? strtoull(v, NULL, 10) : 0;
}
