/* SPDX-License-Identifier: MIT */
/*
 * A log-linear ("HDR-style") histogram of 64-bit values (latencies in ns),
 * written by hand: Debian 12 packages no C HDR histogram library.  Fixed
 * size, no allocation when recording, exact merge; plus percentiles by the
 * nearest-rank rule.
 *
 * Layout and error bound:
 *   values 0 .. 2^PB_HIST_SUB_BITS - 1 (0 .. 127) have one bucket each (exact);
 *   every power-of-two range [2^m, 2^(m+1)) with m >= PB_HIST_SUB_BITS is split
 *   into 2^PB_HIST_SUB_BITS = 128 equal buckets of width 2^(m-7).
 *   A percentile is reported as the middle of the bucket that holds the
 *   nearest-rank value (clamped to the recorded min and max), so the reported
 *   value r and the exact nearest-rank value v satisfy
 *       |r - v| <= v * 2^-(PB_HIST_SUB_BITS+1) = v / 256   (<= 0.39 %, < 1 %).
 *   min, max and count are exact; max covers the whole uint64_t range.
 *
 * Concurrency: none inside.  One writer per histogram (the harness keeps one
 * per worker thread and merges them after the workers were joined); readers
 * must be ordered after the writer (thread join, or the same thread).
 */
#ifndef PB_HIST_H
#define PB_HIST_H

#include <stdint.h>

#define PB_HIST_SUB_BITS 7
#define PB_HIST_SUB (1u << PB_HIST_SUB_BITS)
/* 128 exact buckets, then 128 per power of two for 2^7 .. 2^63. */
#define PB_HIST_NBUCKETS ((64u - PB_HIST_SUB_BITS + 1u) << PB_HIST_SUB_BITS)

struct pb_hist {
	uint64_t count;
	uint64_t min; /* UINT64_MAX while empty */
	uint64_t max;
	uint64_t b[PB_HIST_NBUCKETS];
};

/* Bucket of value v. */
static inline unsigned pb_hist_index(uint64_t v)
{
	unsigned m, shift;

	if (v < PB_HIST_SUB)
		return (unsigned)v;
	m = 63u - (unsigned)__builtin_clzll(v); /* msb position, >= SUB_BITS */
	shift = m - PB_HIST_SUB_BITS;
	/* (v >> shift) is in [SUB, 2*SUB): the top SUB_BITS+1 bits of v. */
	return ((shift + 1u) << PB_HIST_SUB_BITS) + (unsigned)(v >> shift) - PB_HIST_SUB;
}

/* Record one value.  Constant time, no allocation, single writer. */
static inline void pb_hist_record(struct pb_hist *h, uint64_t v)
{
	h->b[pb_hist_index(v)]++;
	h->count++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void pb_hist_init(struct pb_hist *h);
/* Lowest value of bucket i and its width (1 for the exact buckets). */
uint64_t pb_hist_bucket_lo(unsigned i);
uint64_t pb_hist_bucket_width(unsigned i);
/* dst += src (exact: bucket counts add, min/max combine). */
void pb_hist_merge(struct pb_hist *dst, const struct pb_hist *src);
/* Nearest rank of percentile p among count values: max(1, ceil(p/100 * count)),
 * computed so that e.g. p = 99.9, count = 1000 gives 999 (no float round-up). */
uint64_t pb_hist_rank(double p, uint64_t count);
/*
 * Percentile p in [0, 100] by nearest rank: the value of rank
 * max(1, ceil(p/100 * count)) in sorted order, within the bound above.
 * p >= 100 returns max exactly, an empty histogram returns 0.
 */
uint64_t pb_hist_percentile(const struct pb_hist *h, double p);

#endif
