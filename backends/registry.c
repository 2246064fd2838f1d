/* SPDX-License-Identifier: MIT */
/*
 * The backends registry: every plug-in of this kind, listed once.  To add one,
 * write backends/<name>.c exporting "const struct pb_queue_ops pb_backend_<name>" and add
 * X(<name>) to the list below (and the file to backends/meson.build).
 */
#include <stddef.h>

#include "registry.h"

#define PB_BACKENDS(X) \
	X(mutex) \
	X(ckring) \
	X(segmented) \
	X(scq) \
	X(wfcq) \
	X(lfq) \
	X(ckfifo) \
	X(spmc) \
	/* end of list */

#define X(n) extern const struct pb_queue_ops pb_backend_##n;
PB_BACKENDS(X)
#undef X

#define X(n) &pb_backend_##n,
const struct pb_queue_ops *const pb_backends[] = {
	PB_BACKENDS(X)
	NULL,
};
#undef X
