/* SPDX-License-Identifier: MIT */
/*
 * The workloads registry: every plug-in of this kind, listed once.  To add one,
 * write workloads/<name>.c exporting "const struct pb_workload_ops pb_workload_<name>" and add
 * X(<name>) to the list below (and the file to workloads/meson.build).
 */
#include <stddef.h>

#include "registry.h"

#define PB_WORKLOADS(X) \
	X(empty) \
	X(sha256) \
	X(cpu) \
	X(io) \
	/* end of list */

#define X(n) extern const struct pb_workload_ops pb_workload_##n;
PB_WORKLOADS(X)
#undef X

#define X(n) &pb_workload_##n,
const struct pb_workload_ops *const pb_workloads[] = {
	PB_WORKLOADS(X)
	NULL,
};
#undef X
