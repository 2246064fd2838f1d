/* SPDX-License-Identifier: MIT */
/*
 * Registries: one static, NULL-terminated table per plug-in kind, defined
 * next to the plug-ins (backends/registry.c, reclaim/registry.c,
 * workloads/registry.c) from an X-macro list, and looked up here by name.
 * Adding a plug-in = one file + one line in that list.
 */
#ifndef PB_REGISTRY_H
#define PB_REGISTRY_H

#include <stddef.h>

#include "queue.h"
#include "reclaim.h"
#include "workload.h"

extern const struct pb_queue_ops *const pb_backends[];
extern const struct pb_reclaim_ops *const pb_reclaimers[];
extern const struct pb_workload_ops *const pb_workloads[];

const struct pb_queue_ops *pb_backend_find(const char *name);
const struct pb_reclaim_ops *pb_reclaim_find(const char *name);
const struct pb_workload_ops *pb_workload_find(const char *name);

size_t pb_backend_count(void);
size_t pb_reclaim_count(void);
size_t pb_workload_count(void);

/* "unknown backend 'segmentd', allowed: segmented, mutex, ckring (did you mean 'segmented'?)" */
void pb_unknown_name_msg(const char *kind, const char *name, char *buf, size_t len);

/*
 * Check an ops struct's ABI version and required hooks.  Returns NULL if it
 * is well-formed, else a description of what is wrong.
 */
const char *pb_backend_check(const struct pb_queue_ops *o);
const char *pb_reclaim_check(const struct pb_reclaim_ops *o);
const char *pb_workload_check(const struct pb_workload_ops *o);

#endif
