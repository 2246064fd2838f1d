/* SPDX-License-Identifier: MIT */
/*
 * Topology and thread placement through hwloc.
 * Policies: "none", "compact" (fill cores in logical order), "scatter"
 * (round-robin across packages / NUMA nodes / cores), "node:N", or an explicit
 * CPU list "0,2,4-7" (OS indexes).  Not thread-safe: plan on one thread, then
 * hand each thread its CPU.
 */
#ifndef PB_TOPO_H
#define PB_TOPO_H

#include <stddef.h>
#include <stdio.h>

struct pb_topo;

int pb_topo_open(struct pb_topo **out);   /* 0 or -errno */
void pb_topo_close(struct pb_topo *t);
unsigned pb_topo_npus(const struct pb_topo *t);
unsigned pb_topo_ncores(const struct pb_topo *t);
/* One line: "1 package, 1 NUMA node, 2 cores, 2 PUs" */
void pb_topo_summary(const struct pb_topo *t, char *buf, size_t len);
void pb_topo_print(const struct pb_topo *t, FILE *f);

/* Check a policy string; 0 or -EINVAL with a one-line message in err. */
int pb_pin_parse(const struct pb_topo *t, const char *policy, char *err, size_t errlen);
/*
 * Fill cpus[0..n-1] with the OS CPU index each of n threads gets under
 * @policy (-1 for "none").  @offset skips the first @offset threads of the
 * placement (producers after workers share one order).  0 or -EINVAL.
 */
int pb_pin_plan(const struct pb_topo *t, const char *policy, unsigned offset, unsigned n,
		int *cpus, char *err, size_t errlen);
/* Bind the calling thread to OS CPU @cpu (no-op for -1).  0 or -errno. */
int pb_pin_self(int cpu);
/* "0,1" / "-" for a cpu array */
void pb_cpus_format(const int *cpus, unsigned n, char *buf, size_t len);

#endif
