/* SPDX-License-Identifier: MIT */
/*
 * Memory figures: exact allocation calls and bytes through jemalloc's
 * statistics (when poolbench links jemalloc), and timeseries.csv, the
 * reclaimer's pending objects sampled over time (the child writes a per-run
 * part file, the parent appends its complete lines after the run).
 *
 * Allocation counting: jemalloc has no per-thread call counter (docs/contributing.md, jemalloc),
 * so a snapshot sums stats.arenas.<ALL>.bins.<j>.nrequests (small) and
 * .lextents.<j>.nrequests (large) after an "epoch" refresh; bytes are those
 * counts times each size class (the same rounding as thread.allocated).
 * Thread caches merge their counts lazily: a count is exact only for threads
 * that flushed (thread.tcache.flush) or exited since they last allocated; the
 * child arranges that at both ends of the timed phase (see child.c).
 * The parent-side timeseries functions are single-threaded (the parent);
 * the jemalloc functions may be called from any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"
#include "pb_build.h"

#if PB_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

static int ctl_u32(const char *name, unsigned *v)
{
	size_t len = sizeof(*v);

	return mallctl(name, v, &len, NULL, 0) ? -1 : 0;
}

int pb_alloc_available(void)
{
	unsigned n;

	return ctl_u32("arenas.nbins", &n) == 0;
}

void pb_alloc_flush_thread(void)
{
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
}

/* Sum nrequests (and nrequests x size) over one family of size classes. */
static int sum_family(const char *count_name, const char *size_name, const char *stat_name,
		      size_t idx_pos, struct pb_alloc_snap *s)
{
	size_t smib[8], cmib[8], slen = 8, clen = 8;
	unsigned n;
	char name[128];

	if (ctl_u32(count_name, &n))
		return -1;
	snprintf(name, sizeof(name), "%s.0.size", size_name);
	if (mallctlnametomib(name, smib, &slen))
		return -1;
	snprintf(name, sizeof(name), "stats.arenas.0.%s.0.nrequests", stat_name);
	if (mallctlnametomib(name, cmib, &clen))
		return -1;
	cmib[2] = MALLCTL_ARENAS_ALL;
	for (unsigned j = 0; j < n; j++) {
		size_t sz, szlen = sizeof(sz);
		uint64_t req;
		size_t reqlen = sizeof(req);

		smib[2] = j;
		cmib[idx_pos] = j;
		if (mallctlbymib(smib, slen, &sz, &szlen, NULL, 0) ||
		    mallctlbymib(cmib, clen, &req, &reqlen, NULL, 0))
			return -1;
		s->allocs += req;
		s->bytes += req * sz;
	}
	return 0;
}

int pb_alloc_snapshot(struct pb_alloc_snap *s)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);

	memset(s, 0, sizeof(*s));
	if (mallctl("epoch", &epoch, &len, &epoch, len))
		return -ENOTSUP;
	/* "stats.arenas.<i>.bins.<j>.nrequests": j is mib[4]; the same for lextents. */
	if (sum_family("arenas.nbins", "arenas.bin", "bins", 4, s) ||
	    sum_family("arenas.nlextents", "arenas.lextent", "lextents", 4, s))
		return -ENOTSUP;
	return 0;
}

#else

int pb_alloc_available(void)
{
	return 0;
}

void pb_alloc_flush_thread(void)
{
}

int pb_alloc_snapshot(struct pb_alloc_snap *s)
{
	memset(s, 0, sizeof(*s));
	return -ENOTSUP;
}

#endif

/* ---- timeseries.csv (parent) ------------------------------------------------ */

/* Point columns the parent writes, then the sample columns the child writes. */
static const char ts_point_cols[] =
	"schema_version,point_id,backend,reclaim,workload,producers,workers,seg_size,seg_count,capacity,"
	"seg_supply,batch,wake_min_jobs,flush_us,mode,rate_target,rep,status";
static const char ts_sample_cols[] = PB_TS_SAMPLE_COLS;

static FILE *ts_file;
static char ts_part[4200];

static int ncommas(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

void pb_ts_open(const char *dir, bool append)
{
	char path[4096], header[1024];

	snprintf(header, sizeof(header), "%s,%s", ts_point_cols, ts_sample_cols);
	snprintf(path, sizeof(path), "%s/timeseries.csv", dir);
	ts_file = pb_csv_open_file(path, header, append);
	fflush(ts_file);
	snprintf(ts_part, sizeof(ts_part), "%s/.timeseries.%ld.part", dir, (long)getpid());
	unlink(ts_part);
}

const char *pb_ts_part_path(void)
{
	return ts_file ? ts_part : NULL;
}

void pb_ts_collect(const struct pb_point *pt, unsigned rep, const struct pb_result *res)
{
	char prefix[1024], line[1024], rate[32];
	int want = ncommas(ts_sample_cols);
	FILE *part;

	if (!ts_file)
		return;
	part = fopen(ts_part, "r");
	if (!part)
		return; /* the run wrote no samples (skip, --sample-ms 0, early failure) */
	if (pt->mode == PB_MODE_RATE)
		snprintf(rate, sizeof(rate), "%" PRIu64, pt->rate);
	else
		strcpy(rate, "-");
	snprintf(prefix, sizeof(prefix), "%d,%s,%s,%s,%s,%u,%u,%s,%s,%s,%s,%u,%u,%" PRIu64 ",%s,%s,%u,%s",
		 PB_SCHEMA_VERSION, pt->id, pt->q->name, pt->rc ? pt->rc->name : "-", pt->wl->name,
		 pt->producers, pt->workers, pt->axis[AX_SEG_SIZE], pt->axis[AX_SEG_COUNT],
		 pt->axis[AX_CAPACITY], pt->axis[AX_SEG_SUPPLY], pt->batch, pt->wake_min_jobs,
		 pt->flush_us, pb_mode_name(pt->mode), rate, rep,
		 pb_rstatus_name((enum pb_rstatus)res->status));
	/* Only complete, well-formed lines: a run killed mid-write leaves at most
	 * a torn last line, which is dropped. */
	while (fgets(line, sizeof(line), part)) {
		size_t n = strlen(line);

		if (!n || line[n - 1] != '\n' || ncommas(line) != want)
			continue;
		fprintf(ts_file, "%s,%s", prefix, line);
	}
	fclose(part);
	unlink(ts_part);
	fflush(ts_file);
	fsync(fileno(ts_file));
}
