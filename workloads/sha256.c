/* SPDX-License-Identifier: MIT */
/*
 * sha256: SHA-256 (OpenSSL libcrypto) of a buffer of `size` bytes filled
 * with 0xF0, the seed's hashing job (8 KiB by default).  The digest is
 * compared with the one computed at init, so it cannot be elided and a
 * wrong result is counted as a job error.
 */
/*
 * Which OpenSSL API: measured here (docs/contributing.md, OpenSSL, and this workload's
 * report), OpenSSL 3.0's SHA256() one-shot fetches the algorithm and makes
 * 3 malloc calls per digest (~0.33 us fixed cost on 64 B); EVP_Digest with a
 * pre-fetched EVP_MD makes 2 (~0.15 us) and even a reused EVP_MD_CTX makes 1
 * (~0.12 us).  The low-level SHA256_Init/Update/Final on a stack context
 * makes none (~0.07-0.09 us) and uses the same SHA-NI code (8 KiB: ~4.6 us
 * vs ~4.8 us for the one-shot).  Allocations per job are a measured axis of
 * poolbench, so the default is the allocation-free path; "oneshot" is kept
 * as an option to show the difference.  The low-level functions are marked
 * deprecated (not removed) in 3.0, hence OPENSSL_SUPPRESS_DEPRECATED.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "pb.h"
#include "sha256.h"
#include "workload.h"

enum { SHA256_API_CTX, SHA256_API_ONESHOT };

static const char *const sha256_apis[] = { "ctx", "oneshot", NULL };

static const struct pb_option sha256_options[] = {
	{ .name = "size", .type = PB_OPT_INT, .min = 1, .max = 64 << 20, .def = 8192,
	  .help = "bytes hashed per job (buffer of 0xF0 bytes, as the seed)" },
	{ .name = "api", .type = PB_OPT_ENUM, .def = SHA256_API_CTX, .choices = sha256_apis,
	  .help = "ctx: SHA256_Init/Update/Final, no allocation; oneshot: SHA256(), 3 mallocs per call" },
	{ .name = NULL },
};

/* Read-only after init: shared by every worker. */
struct sha256_wl {
	unsigned char *buf;
	size_t len;
	int api;
	unsigned char expect[PB_SHA256_LEN];
};

void pb_sha256_ctx(const void *data, size_t len, unsigned char md[PB_SHA256_LEN])
{
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, data, len);
	SHA256_Final(md, &c);
}

void pb_sha256_oneshot(const void *data, size_t len, unsigned char md[PB_SHA256_LEN])
{
	SHA256(data, len, md);
}

void pb_sha256_wl_digest(const void *ctx, unsigned char md[PB_SHA256_LEN])
{
	const struct sha256_wl *w = ctx;

	if (w->api == SHA256_API_ONESHOT)
		pb_sha256_oneshot(w->buf, w->len, md);
	else
		pb_sha256_ctx(w->buf, w->len, md);
}

static int sha256_init(const struct pb_optvals *opts, void **ctx)
{
	struct pb_optvals defs;
	struct sha256_wl *w;

	if (!opts) {
		pb_opts_defaults(&defs, sha256_options);
		opts = &defs;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->len = (size_t)pb_opt_get(opts, "size");
	w->api = (int)pb_opt_get(opts, "api");
	w->buf = malloc(w->len);
	if (!w->buf) {
		free(w);
		return -ENOMEM;
	}
	memset(w->buf, 0xF0, w->len);
	pb_sha256_wl_digest(w, w->expect);
	*ctx = w;
	return 0;
}

/* Thread-safe: reads the shared context, hashes into stack memory. */
static int sha256_run(void *ctx, uint64_t arg)
{
	const struct sha256_wl *w = ctx;
	unsigned char md[PB_SHA256_LEN];

	(void)arg;
	pb_sha256_wl_digest(w, md);
	/* Consuming the digest keeps the call alive and validates it. */
	return memcmp(md, w->expect, sizeof(md)) ? -EIO : 0;
}

static void sha256_fini(void *ctx)
{
	struct sha256_wl *w = ctx;

	if (!w)
		return;
	free(w->buf);
	free(w);
}

/* Concurrency: init/fini on one thread; run() from any number of threads at once. */
const struct pb_workload_ops pb_workload_sha256 = {
	.abi = PB_ABI_VERSION,
	.name = "sha256",
	.summary = "SHA-256 (OpenSSL) of a buffer of 0xF0 bytes, 8 KiB by default (the seed's job)",
	.flags = 0,
	.options = sha256_options,
	.supported = NULL,
	.init = sha256_init,
	.run = sha256_run,
	.fini = sha256_fini,
};
