/* SPDX-License-Identifier: MIT */
/*
 * results.csv: the column list (docs/csv.md describes each one), the header
 * check for --append, and one row per (point, rep), flushed and fsync'ed at
 * once so an interrupted sweep keeps every finished row.  RFC 4180 quoting
 * for fields that contain a comma, quote or newline.  Single-threaded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"

/* The first 16 are fixed by the schema (scripts rely on names and order). */
static const char *const columns[] = {
	"schema_version", "backend", "reclaim", "workload", "producers", "workers", "seg_size",
	"seg_count", "rep", "jobs", "elapsed_ns", "ns_per_job", "jobs_per_s", "status", "lost",
	"duplicated",
	/* then: */
	"capacity", "seg_supply", "batch", "wake_min_jobs", "flush_us", "warmup_jobs", "errors",
	"allocs_per_job", "segs_allocated", "segs_reused", "segs_retired", "segs_peak",
	"pending_end", "pending_peak", "batches", "parks", "wakes", "timer_wakes", "full_waits",
	"peak_rss_kb", "ctx_switches", "pin_workers", "pin_producers", "cpus_workers",
	"cpus_producers", "backend_opts", "reclaim_opts", "workload_opts", "point_id",
	/* measurement (H2, docs/methodology.md) */
	"mode", "rate_target", "rate_achieved", "duration_ms", "latency", "lat_samples",
	"lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns", "lat_first1_ns",
	"lat_first100_p99_ns", "lat_first10k_p99_ns", "lat_first1m_p99_ns", "bytes_per_job",
	"queue_allocs_per_job", "task_clock_ns", "cpu_util", "page_faults", "ipc", "cycles_per_job",
	"instructions_per_job", "cache_refs_per_job", "cache_misses_per_job", "sample_ms", "rate_lag_max_ns",
	/* schema 3: the end-to-end time beside the job phase (elapsed_ns) */
	"e2e_ns", "e2e_ns_per_job", "queue_bound", "submit_batch",
	/* schema 4: the order the rows ran in, the machine-speed canary (issue 8) */
	"run_seq", "canary_before_ns", "canary_after_ns",
	/* schema 5: the throughput mode's queue bound (--backlog), pool coalescing */
	"backlog", "coalesce",
	/* schema 6: what an idle worker does between empty polls (--idle-poll) */
	"idle_poll",
	"note",
};
#define NCOLS PB_ARRAY_SIZE(columns)

const char *pb_csv_header(void)
{
	static char buf[4096];

	if (!buf[0]) {
		size_t off = 0;

		for (size_t i = 0; i < NCOLS; i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
						columns[i]);
	}
	return buf;
}

static void sync_file(FILE *f)
{
	fflush(f);
	fsync(fileno(f));
}

FILE *pb_csv_open_file(const char *path, const char *header, bool append)
{
	char line[4096];
	FILE *f = fopen(path, "r");

	if (f) {
		size_t n;

		if (!append) {
			fclose(f);
			pb_usage_error("%s already exists: use --append to add rows, or another --out", path);
		}
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (strcmp(line, header))
			pb_usage_error("cannot append to %s: its header differs from this poolbench's "
				       "(schema_version %d); use another --out", path, PB_SCHEMA_VERSION);
		f = fopen(path, "a");
		if (!f)
			pb_usage_error("cannot append to %s: %s", path, strerror(errno));
		return f;
	}
	if (errno != ENOENT)
		pb_usage_error("cannot read %s: %s", path, strerror(errno));
	f = fopen(path, "wx");
	if (!f)
		pb_usage_error("cannot create %s: %s", path, strerror(errno));
	fprintf(f, "%s\n", header);
	sync_file(f);
	return f;
}

FILE *pb_csv_open(const char *dir, bool append)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/results.csv", dir);
	return pb_csv_open_file(path, pb_csv_header(), append);
}

void pb_opts_string(const struct pb_optvals *ov, char *buf, size_t len)
{
	size_t off = 0;
	char v[64];

	buf[0] = 0;
	for (size_t i = 0; ov && i < ov->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", i ? ";" : "", ov->defs[i].name,
					pb_opt_format(ov, i, v, sizeof(v)));
	if (!off)
		snprintf(buf, len, "-");
}

void pb_csv_put_field(FILE *f, const char *s, int first)
{
	if (!first)
		fputc(',', f);
	if (!s[strcspn(s, ",\"\n\r")]) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	}
	fputc('"', f);
}

/* Field buffers: a fixed pool of small strings, one per column. */
struct row {
	char v[NCOLS][512];
	size_t n;
};

static void add(struct row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct row *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->v[r->n++], sizeof(r->v[0]), fmt, ap);
	va_end(ap);
}

static void add_u(struct row *r, int measured, uint64_t v)
{
	if (measured)
		add(r, "%" PRIu64, v);
	else
		add(r, "-");
}

static void add_cpus(struct row *r, const int *cpus, unsigned n)
{
	char buf[512];

	pb_cpus_format(cpus, n, buf, sizeof(buf));
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = ' '; /* space-separated: no quoting needed */
	add(r, "%s", buf);
}

/* A per-job ratio, "n/a" when the machine or build cannot give it. */
static void add_per_job(struct row *r, int m, int have, uint64_t v, uint64_t jobs, int prec)
{
	if (!m)
		add(r, "-");
	else if (!have)
		add(r, "n/a");
	else
		add(r, "%.*f", prec, (double)v / (double)jobs);
}

/* The measurement columns (H2); docs/csv.md describes each. */
static void add_measure(struct row *r, const struct pb_point *pt, const struct pb_result *res, int m,
			uint64_t jobs)
{
	const uint64_t *c = res->ctr;
	int lat = m && (res->have & PB_RES_LAT);
	int hw_ipc = (res->have & PB_RES_CTR(PB_CTR_CYCLES)) &&
		     (res->have & PB_RES_CTR(PB_CTR_INSTRUCTIONS)) && c[PB_CTR_CYCLES];

	add(r, "%s", pb_mode_name(pt->mode));
	if (pt->mode == PB_MODE_RATE) {
		add(r, "%" PRIu64, pt->rate);
		if (m && res->submit_ns)
			add(r, "%.0f", (double)jobs * 1e9 / (double)res->submit_ns);
		else
			add(r, "-");
	} else {
		add(r, "-");
		add(r, "-");
	}
	if (pt->duration_ns)
		add(r, "%.3f", (double)pt->duration_ns / 1e6);
	else
		add(r, "-");
	add(r, "%s", pt->latency ? "on" : "off");
	add_u(r, lat, res->lat_count);
	add_u(r, lat, res->lat_p50);
	add_u(r, lat, res->lat_p90);
	add_u(r, lat, res->lat_p99);
	add_u(r, lat, res->lat_p999);
	add_u(r, lat, res->lat_max);
	for (int i = 0; i < 4; i++)
		add_u(r, m && (res->have & PB_RES_FIRST(i)), res->lat_first[i]);
	add_per_job(r, m, res->have & PB_RES_ALLOCS, res->jm_bytes, jobs, 3);
	add_per_job(r, m, 1, res->allocs, jobs, 6); /* as allocs_per_job */
	if (m && (res->have & PB_RES_CTR(PB_CTR_TASK_CLOCK))) {
		add(r, "%" PRIu64, c[PB_CTR_TASK_CLOCK]);
		/* the counters run from t0 to shutdown's return: end to end */
		add(r, "%.3f", res->e2e_ns ? (double)c[PB_CTR_TASK_CLOCK] / (double)res->e2e_ns : 0.0);
	} else {
		add(r, m ? "n/a" : "-");
		add(r, m ? "n/a" : "-");
	}
	if (m && (res->have & PB_RES_CTR(PB_CTR_PAGE_FAULTS)))
		add(r, "%" PRIu64, c[PB_CTR_PAGE_FAULTS]);
	else
		add(r, m ? "n/a" : "-");
	if (m && hw_ipc)
		add(r, "%.3f", (double)c[PB_CTR_INSTRUCTIONS] / (double)c[PB_CTR_CYCLES]);
	else
		add(r, m ? "n/a" : "-");
	add_per_job(r, m, res->have & PB_RES_CTR(PB_CTR_CYCLES), c[PB_CTR_CYCLES], jobs, 3);
	add_per_job(r, m, res->have & PB_RES_CTR(PB_CTR_INSTRUCTIONS), c[PB_CTR_INSTRUCTIONS], jobs, 3);
	add_per_job(r, m, res->have & PB_RES_CTR(PB_CTR_CACHE_REFS), c[PB_CTR_CACHE_REFS], jobs, 3);
	add_per_job(r, m, res->have & PB_RES_CTR(PB_CTR_CACHE_MISSES), c[PB_CTR_CACHE_MISSES], jobs, 3);
	add(r, "%u", pt->sample_ms);
	add_u(r, m && pt->mode == PB_MODE_RATE, res->rate_lag_max);
	add_u(r, m, res->e2e_ns);
	add_per_job(r, m, 1, res->e2e_ns, jobs, 1);
	if (!m || !res->queue_bound)
		add(r, m ? "n/a" : "-");
	else if (res->queue_bound == PB_QUEUE_UNBOUNDED)
		add(r, "unbounded");
	else
		add_u(r, 1, res->queue_bound);
	add(r, "%u", pt->submit_batch);
}

void pb_csv_row(FILE *f, const struct pb_point *pt, unsigned rep, const struct pb_sweep *sw,
		const struct pb_result *res)
{
	static struct row r; /* large: keep it off the stack */
	int m = res->status == RS_OK || res->status == RS_INVALID || res->status == RS_NOISY;
	uint64_t jobs = pb_result_jobs(pt, res); /* what ran: differs from --jobs with --duration */
	double nsj = (double)res->elapsed_ns / (double)jobs;
	char opts[512];

	r.n = 0;
	add(&r, "%d", PB_SCHEMA_VERSION);
	add(&r, "%s", pt->q->name);
	add(&r, "%s", pt->rc ? pt->rc->name : "-");
	add(&r, "%s", pt->wl->name);
	add(&r, "%u", pt->producers);
	add(&r, "%u", pt->workers);
	add(&r, "%s", pt->axis[AX_SEG_SIZE]);
	add(&r, "%s", pt->axis[AX_SEG_COUNT]);
	add(&r, "%u", rep);
	add(&r, "%" PRIu64, m ? jobs : pt->jobs);
	add_u(&r, m, res->elapsed_ns);
	if (m) {
		add(&r, "%.3f", nsj);
		add(&r, "%.0f", nsj > 0 ? 1e9 / nsj : 0.0);
	} else {
		add(&r, "-");
		add(&r, "-");
	}
	add(&r, "%s", pb_rstatus_name((enum pb_rstatus)res->status));
	add_u(&r, m, res->lost);
	add_u(&r, m, res->duplicated);

	add(&r, "%s", pt->axis[AX_CAPACITY]);
	add(&r, "%s", pt->axis[AX_SEG_SUPPLY]);
	add(&r, "%u", pt->batch);
	add(&r, "%u", pt->wake_min_jobs);
	add(&r, "%" PRIu64, pt->flush_us);
	add(&r, "%" PRIu64, pt->warmup);
	add_u(&r, m, res->errors);
	/* every allocation call in the timed phase (jemalloc), see add_measure() */
	if (m && (res->have & PB_RES_ALLOCS))
		add(&r, "%.6f", (double)res->jm_allocs / (double)jobs);
	else
		add(&r, m ? "n/a" : "-");
	add_u(&r, m, res->segs_allocated);
	add_u(&r, m, res->segs_reused);
	add_u(&r, m, res->segs_retired);
	add_u(&r, m, res->segs_peak);
	add_u(&r, m && pt->rc, res->pending_end);
	add_u(&r, m && pt->rc, res->pending_peak);
	add_u(&r, m, res->batches);
	add_u(&r, m, res->parks);
	add_u(&r, m, res->wakes);
	add_u(&r, m, res->timer_wakes);
	add_u(&r, m, res->full);
	add_u(&r, m, res->peak_rss_kb);
	add_u(&r, m, res->ctx_switches);
	add(&r, "%s", pt->pin_workers);
	add(&r, "%s", pt->pin_producers);
	add_cpus(&r, pt->cpus_workers, pt->workers);
	add_cpus(&r, pt->cpus_producers, pt->producers);
	pb_opts_string(&pt->qopts, opts, sizeof(opts));
	add(&r, "%s", opts);
	if (pt->rc)
		pb_opts_string(&pt->rcopts, opts, sizeof(opts));
	else
		strcpy(opts, "-");
	add(&r, "%s", opts);
	pb_opts_string(&pt->wlopts, opts, sizeof(opts));
	add(&r, "%s", opts);
	add(&r, "%s", pt->id);
	add_measure(&r, pt, res, m, jobs);
	add_u(&r, res->run_seq != 0, res->run_seq);
	add_u(&r, res->canary_before_ns != 0, res->canary_before_ns);
	add_u(&r, res->canary_after_ns != 0, res->canary_after_ns);
	add(&r, "%llu", (unsigned long long)pt->backlog);
	add(&r, "%u", pt->coalesce);
	add(&r, "%s", pb_idle_poll_name(pt->idle_poll));
	add(&r, "%s", res->note[0] ? res->note : "-");

	if (r.n != NCOLS) {
		pb_log("internal error: row has %zu fields, header %zu", r.n, NCOLS);
		abort();
	}
	for (size_t i = 0; i < r.n; i++)
		pb_csv_put_field(f, r.v[i], i == 0);
	fputc('\n', f);
	sync_file(f);
}
