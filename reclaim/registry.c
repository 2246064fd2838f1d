/* SPDX-License-Identifier: MIT */
/*
 * The reclaim registry: every plug-in of this kind, listed once.  To add one,
 * write reclaim/<name>.c exporting "const struct pb_reclaim_ops pb_reclaim_<name>" and add
 * X(<name>) to the list below (and the file to reclaim/meson.build).
 */
#include <stddef.h>

#include "registry.h"

#define PB_RECLAIMERS(X) \
	X(hp) \
	X(urcu_memb) \
	X(urcu_qsbr) \
	X(urcu_bp) \
	X(ckepoch) \
	X(limbo) \
	X(none) \
	X(ibr) \
	X(he) \
	/* end of list */

#define X(n) extern const struct pb_reclaim_ops pb_reclaim_##n;
PB_RECLAIMERS(X)
#undef X

#define X(n) &pb_reclaim_##n,
const struct pb_reclaim_ops *const pb_reclaimers[] = {
	PB_RECLAIMERS(X)
	NULL,
};
#undef X
