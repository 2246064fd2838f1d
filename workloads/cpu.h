/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the cpu workload, for tests: the busy loop itself.
 * Not a plug-in contract.
 */
#ifndef PB_WORKLOADS_CPU_H
#define PB_WORKLOADS_CPU_H

#include <stdint.h>

/*
 * Returns x + sum of i*i for i < iters (mod 2^64), computed one iteration
 * at a time (never folded to a closed form, never hoisted).  Thread-safe.
 */
uint64_t pb_cpu_loop(uint64_t x, uint64_t iters);

#endif
