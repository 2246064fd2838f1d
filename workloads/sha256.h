/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the sha256 workload, for tests: the digest routines
 * it uses and a way to digest its configured buffer.  Not a plug-in contract.
 */
#ifndef PB_WORKLOADS_SHA256_H
#define PB_WORKLOADS_SHA256_H

#include <stddef.h>

#define PB_SHA256_LEN 32

/* SHA256_Init/Update/Final on a stack context: no allocation.  Thread-safe. */
void pb_sha256_ctx(const void *data, size_t len, unsigned char md[PB_SHA256_LEN]);
/* OpenSSL's one-shot SHA256() (fetches the algorithm and allocates per call).  Thread-safe. */
void pb_sha256_oneshot(const void *data, size_t len, unsigned char md[PB_SHA256_LEN]);
/* Digest of the buffer of a context made by pb_workload_sha256.init, with the
 * API it was configured for.  Thread-safe (the context is read-only). */
void pb_sha256_wl_digest(const void *ctx, unsigned char md[PB_SHA256_LEN]);

#endif
