/* SPDX-License-Identifier: MIT */
/*
 * The log-linear latency histogram (see hist.h for the layout and the error
 * bound).  Hand-written because Debian 12 has no packaged C HDR histogram.
 */
#include <math.h>
#include <string.h>

#include "hist.h"

void pb_hist_init(struct pb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t pb_hist_bucket_lo(unsigned i)
{
	unsigned shift;

	if (i < PB_HIST_SUB)
		return i;
	shift = (i >> PB_HIST_SUB_BITS) - 1u;
	return ((uint64_t)PB_HIST_SUB + (i & (PB_HIST_SUB - 1u))) << shift;
}

uint64_t pb_hist_bucket_width(unsigned i)
{
	if (i < PB_HIST_SUB)
		return 1;
	return 1ull << ((i >> PB_HIST_SUB_BITS) - 1u);
}

void pb_hist_merge(struct pb_hist *dst, const struct pb_hist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < PB_HIST_NBUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t pb_hist_rank(double p, uint64_t count)
{
	double x;
	uint64_t r;

	if (!count)
		return 0;
	if (p <= 0)
		return 1;
	if (p >= 100)
		return count;
	/* Round p/100*count to 1e-9 first, so 99.9% of 1000 is 999, not 1000. */
	x = p / 100.0 * (double)count;
	r = (uint64_t)ceil(x - 1e-9 * (x > 1 ? x : 1));
	if (r < 1)
		r = 1;
	if (r > count)
		r = count;
	return r;
}

uint64_t pb_hist_percentile(const struct pb_hist *h, double p)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (p >= 100)
		return h->max;
	rank = pb_hist_rank(p, h->count);
	for (unsigned i = 0; i < PB_HIST_NBUCKETS; i++) {
		seen += h->b[i];
		if (seen < rank)
			continue;
		/* The middle of the bucket: within half a width of any value in it. */
		v = pb_hist_bucket_lo(i) + pb_hist_bucket_width(i) / 2;
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max; /* not reached: the buckets add up to count */
}
