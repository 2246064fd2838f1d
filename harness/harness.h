/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the poolbench program: the sweep description built
 * from the command line, the planned points, the result a child process
 * sends back, and the CSV / metadata writers.  Single-threaded (the parent
 * process); only child.c creates threads, inside a forked child.
 */
#ifndef PB_HARNESS_H
#define PB_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "options.h"
#include "registry.h"
#include "topo.h"

#define PB_SUBMIT_BATCH_MAX 4096u /* --submit-batch upper bound */
#define PB_BACKLOG_MAX (1ull << 32) /* --backlog upper bound */
#define PB_SCHEMA_VERSION 6 /* 2: point_id column (H1); 3: elapsed_ns is the job phase, e2e_ns
                              (then submit_batch); 4: run_seq, canary_before_ns, canary_after_ns,
                              status noisy; 5: backlog, coalesce; 6: idle_poll */

#define PB_LIST_MAX 64    /* values per LIST option */
#define PB_SETTINGS_MAX 32 /* --backend-opt etc. per kind */

/* The four backend options with their own flag and CSV column (--seg-size
 * LIST is --backend-opt seg-size=LIST); any other declared option is an axis
 * through --backend-opt / --reclaim-opt / --workload-opt NAME=V1,V2. */
enum pb_axis { AX_SEG_SIZE, AX_SEG_COUNT, AX_CAPACITY, AX_SEG_SUPPLY, AX_COUNT };
extern const char *const pb_axis_opt[AX_COUNT]; /* "seg-size", ... (base.c) */

struct pb_strlist {
	unsigned n;
	const char *v[PB_LIST_MAX];
};

struct pb_ulist {
	unsigned n;
	uint64_t v[PB_LIST_MAX];
};

/* name=value settings given with --backend-opt / --reclaim-opt / --workload-opt;
 * a value may be a comma list (an axis).  The last setting of a name wins. */
struct pb_settings {
	unsigned n;
	char *name[PB_SETTINGS_MAX];
	char *value[PB_SETTINGS_MAX];
	const char *flag[PB_SETTINGS_MAX]; /* NULL, or "seg-size" etc. for --seg-size LIST */
	bool from_file[PB_SETTINGS_MAX];   /* came from the sweep file (the command line wins) */
};

/* Everything the run command was given (after parsing, before planning). */
struct pb_sweep {
	struct pb_strlist backends, reclaimers, workloads;
	bool reclaim_given;
	/* The list came from the command line over a sweep file's: the file's
	 * settings that no selected plug-in declares are then only noted. */
	bool backends_cli, reclaimers_cli, workloads_cli;
	struct pb_ulist producers, workers, wake_min_jobs, flush_us, batch;
	struct pb_ulist submit_batch; /* --submit-batch: jobs per pb_pool_submit_batch (1: per job) */
	struct pb_ulist backlog;      /* --backlog: most jobs queued, not yet taken (0: unbounded) */
	struct pb_ulist coalesce;     /* --coalesce: pool coalesce_relax (0: off) */
	struct pb_ulist idle_poll;    /* --idle-poll: pool idle_poll (PB_IDLE_*) */
	struct pb_settings bopt, ropt, wopt; /* --seg-size etc. are bopt entries */
	uint64_t jobs;
	unsigned reps;
	int64_t warmup; /* -1: jobs / 10 */
	unsigned watchdog_s;
	const char *pin_workers, *pin_producers;
	const char *out;
	bool append, quiet;
	char *cmdline; /* the exact command line, shell-quoted */
	/* Sweep engine (sweep.c, run.c): stopping rule, resume, shards. */
	unsigned min_reps;          /* k: ok reps before the rule may stop (default 3) */
	bool min_reps_given;
	unsigned max_fail;          /* stall/crash reps after which a point is given up (0: never) */
	double cov_pct;             /* stop when CoV of the last k ok reps < this (0: never) */
	uint64_t warmup_ns;         /* > 0: warm-up by duration (--warmup 200ms) */
	bool resume;                /* --resume: continue the points in DIR/results.csv */
	unsigned shard_k, shard_n;  /* --shard K/N (1/1: every point) */
	struct pb_settings wl_jobs; /* --workload-jobs NAME=N: jobs per workload */
	bool dry_run;               /* --dry-run: print the points, run nothing */
	/* Measurement (H2, docs/methodology.md). */
	int mode;                   /* enum pb_mode, --mode (default throughput) */
	uint64_t duration_ns;       /* --duration; 0: a fixed job count */
	uint64_t rate;              /* --rate: jobs/s over all producers (mode rate) */
	int latency;                /* --latency: 1 on, 0 off, -1 default (off in throughput) */
	unsigned sample_ms;         /* --sample-ms: timeseries period; 0: none */
	bool jobs_given;
	/* Noisy machines (issue 8): run order, canary, the machine's floor. */
	int order;                  /* enum pb_order, --order (default interleaved) */
	uint64_t seed;              /* --seed (order random); chosen and recorded if not given */
	bool seed_given;
	double canary_tol;          /* --canary-tol PCT (default 10; 0: never noisy) */
	uint64_t canary_iters;      /* the canary loop's length, calibrated to ~2 ms (0: none) */
	double canary_base_ns[8];   /* canaries timed before the first run */
	unsigned canary_base_n;
	bool no_calibrate;          /* --no-calibrate: no floor in meta.json */
	const struct pb_floor *floor; /* the machine's floor (calibrate.c), or NULL */
};

/* One combination of the axes; each repetition of it is one CSV row. */
struct pb_point {
	const struct pb_queue_ops *q;
	const struct pb_reclaim_ops *rc; /* NULL: backend takes no reclaimer ("-") */
	const struct pb_workload_ops *wl;
	struct pb_optvals qopts, rcopts, wlopts;
	char axis[AX_COUNT][32]; /* normalised value or "-" */
	unsigned producers, workers;
	unsigned batch, wake_min_jobs;
	unsigned submit_batch; /* jobs per submit call (1: pb_pool_submit_wait per job) */
	uint64_t backlog;      /* throughput mode: most jobs queued and not yet taken; 0: no bound */
	unsigned coalesce;     /* pb_pool_config.coalesce_relax; 0: off */
	unsigned idle_poll;    /* pb_pool_config.idle_poll: PB_IDLE_YIELD or PB_IDLE_RELAX */
	uint64_t flush_us;
	uint64_t jobs, warmup;
	int *cpus_workers, *cpus_producers;
	char skip[256]; /* supported() reason, or "" */
	/* Measurement (H2): how jobs are submitted and what is recorded. */
	int mode;             /* enum pb_mode */
	uint64_t rate;        /* mode rate: jobs/s over all producers */
	uint64_t duration_ns; /* > 0: submit until then (jobs is the id cap) */
	bool latency;         /* record submit->start latency */
	unsigned sample_ms;   /* timeseries sampling period; 0: none */
	/* Pin policies of this point (--pin-workers "none compact" is an axis). */
	const char *pin_workers, *pin_producers;
	/* Hash of everything above that defines the configuration (plan.c
	 * point_key(): a new configuration field must be added there). */
	char id[17];
};

/* Row status, in the order of severity used by the summary. */
enum pb_rstatus { RS_OK, RS_SKIP, RS_INVALID, RS_ERROR, RS_CRASH, RS_STALL,
		 RS_NOISY /* ok, but its canary ran slow: kept, not counted, re-run (issue 8) */ };
const char *pb_rstatus_name(enum pb_rstatus s); /* base.c */

/* What a child reports for one (point, rep): a fixed struct over a pipe
 * (smaller than PIPE_BUF, so one write is atomic). */
struct pb_result {
	uint32_t magic;
	uint32_t status; /* enum pb_rstatus */
	/* The job phase: t0 (the timed producers released) to the end of the
	 * last job (pool stats' busy_end_ns); ns_per_job and jobs_per_s use it. */
	uint64_t elapsed_ns;
	/* End to end: t0 to pb_pool_shutdown's return (joins, final drain). */
	uint64_t e2e_ns;
	uint64_t queue_bound; /* pb_queue_stats.bound */
	uint64_t lost, duplicated, errors;
	uint64_t allocs; /* queue allocations during the timed phase */
	uint64_t segs_allocated, segs_reused, segs_retired, segs_peak;
	uint64_t pending_end, pending_peak;
	uint64_t batches, parks, wakes, timer_wakes, full;
	uint64_t peak_rss_kb, ctx_switches;
	/* Measurement (H2).  have: PB_RES_* bits for figures that may be n/a. */
	uint32_t have;
	uint64_t jobs;       /* timed jobs submitted (== pt->jobs unless --duration) */
	uint64_t submit_ns;  /* t0 to the last timed submit (rate_achieved) */
	uint64_t rate_lag_max; /* rate mode: most a timed submit ran behind its schedule */
	uint64_t lat_count, lat_p50, lat_p90, lat_p99, lat_p999, lat_max;
	uint64_t lat_first[4]; /* first 1 job (its latency), 100, 10k, 1M jobs (p99) */
	uint64_t jm_allocs, jm_bytes; /* jemalloc requests in the timed phase */
	uint64_t ctr[8];     /* PB_CTR_* over the timed phase */
	/* Set by the parent (run.c), not the child (issue 8). */
	uint64_t run_seq;    /* 1, 2, ...: the order the rows ran in (results.csv continues it) */
	uint64_t canary_before_ns, canary_after_ns; /* the canary around the run; 0: none */
	char note[200];
};
/* Measurement (H2): result bits for figures that can be unavailable.
 * Counters use bit (8 + PB_CTR_*). */
#define PB_RES_LAT 0x1u
#define PB_RES_FIRST(i) (0x2u << (i)) /* lat_first[i], i = 0..3 */
#define PB_RES_ALLOCS 0x40u
#define PB_RES_CTR(c) (0x100u << (c))
#define PB_RESULT_MAGIC 0x50425231u

/* Shared page the child updates as it goes, read by the parent on a stall. */
struct pb_progress {
	_Atomic int phase; /* enum pb_phase */
	_Atomic uint64_t executed, submitted;
};
enum pb_phase { PH_START, PH_CREATE, PH_WARMUP, PH_TIMED, PH_SHUTDOWN, PH_DESTROY, PH_DONE };
const char *pb_phase_name(int ph); /* base.c */

/* Fault injection for the CLI tests (env PB_FAULT). */
enum pb_fault {
	FAULT_NONE,
	FAULT_CRASH, /* the child raises SIGSEGV in the timed phase */
	FAULT_STALL, /* the child never finishes the timed phase */
	FAULT_LOSE,  /* producer 0 skips its first timed job id (lost = 1) */
	FAULT_DUP,   /* producer 0 submits its first timed job id twice (duplicated = 1) */
	FAULT_ERR,   /* producer 0's first timed job returns -EIO (errors = 1) */
};

/* base.c: the bottom module (enum names, usage errors, allocation, test-hook
 * gate); it calls no other harness file. */
extern const char *pb_prog;
/* Zeroed allocation that lives until pb_xfree_all() (at the end of main);
 * exits with PB_EXIT_NORES when out of memory.  Keeps everything reachable
 * on the exit() paths of usage errors. */
void *pb_xalloc(size_t n, size_t size);
char *pb_xstrdup(const char *s);
/* The whole file as a NUL-terminated pb_xalloc string, or NULL with errno set
 * (EFBIG when it is larger than @max bytes; @max 0: no limit). */
char *pb_read_text(const char *path, size_t max);
void pb_xfree_all(void);
void pb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Refuses (pb_usage_error) a test hook's variable (PB_FAKE_NS_PER_JOB,
 * PB_FAULT) unless PB_TEST_HOOKS=1.  pb_test_hook(i, &v) names the i-th hook
 * set (NULL past the last), for meta.json. */
void pb_test_hooks_check(void);
const char *pb_test_hook(unsigned i, const char **value);

/* plan.c: validate everything and build the points.  Exits with
 * PB_EXIT_USAGE (one line on stderr) on any bad value. */
size_t pb_plan(const struct pb_sweep *sw, const struct pb_topo *topo, struct pb_point **out);
/* Print the notes pb_plan held back (call once the output is open). */
void pb_plan_notes(void);
/* Hold back one note (printed by pb_plan_notes). */
void pb_plan_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* child.c: run one (point, rep) in the calling (forked) process. */
void pb_child_run(const struct pb_point *pt, unsigned rep, enum pb_fault fault,
		  struct pb_progress *prog, struct pb_result *res);

/* run.c: run every point under the watchdog; returns the exit code. */
int pb_run_sweep(const struct pb_sweep *sw, struct pb_point *pts, size_t npts, FILE *csv);

/* csv.c */
const char *pb_csv_header(void); /* the header line, without newline */
/* Open DIR/results.csv: create (with header) or, with append, check the
 * header of an existing file.  Exits PB_EXIT_USAGE on error. */
FILE *pb_csv_open(const char *dir, bool append);
/* Open @path for rows: create it with @header, or (with @append) check that
 * its header is @header and append.  Usage errors exit (pb_usage_error). */
FILE *pb_csv_open_file(const char *path, const char *header, bool append);
/* Write one CSV field (RFC 4180 quoting), preceded by a comma unless @first. */
void pb_csv_put_field(FILE *f, const char *s, int first);
void pb_csv_row(FILE *f, const struct pb_point *pt, unsigned rep, const struct pb_sweep *sw,
		const struct pb_result *r);

/* meta.c */
int pb_meta_write(const char *dir, const struct pb_sweep *sw, const struct pb_topo *topo,
		  const struct pb_point *pts, size_t npts, bool append);

/* Small helpers (run.c). */
void pb_opts_string(const struct pb_optvals *ov, char *buf, size_t len); /* "a=1;b=x" or "-" */

/* ---- sweep engine (H1): statistics, summary.csv, sweep files, merge ---------- */

#define PB_MAX_JOBS (1ull << 30) /* the child's seen[] array is one byte per job */

/* stats.c: a CSV file read whole (RFC 4180).  Not thread-safe. */
struct pb_table {
	char *buf, *rawbuf;   /* the file: fields unquoted in place / raw rows */
	size_t ncols, nrows, rawcap;
	char **hdr;           /* ncols names */
	char ***rows;         /* nrows x ncols fields */
	char **raw;           /* each row as in the file, without its newline */
	bool partial;         /* the last row had no newline (cut short) and is left out */
	size_t good_len;      /* bytes up to the end of the last complete row */
};
/* 0, or -errno with a one-line reason in err (-EINVAL: malformed). */
int pb_table_read(const char *path, struct pb_table *t, char *err, size_t errlen);
int pb_table_col(const struct pb_table *t, const char *name); /* index or -1 */
void pb_table_free(struct pb_table *t);

/* Statistics of n values; NAN where undefined (sd and CI need n >= 2).
 * CI: mean +- t(0.975, n-1) * sd / sqrt(n), sd the sample deviation.
 * Median CI: order statistics x(k) .. x(n+1-k), distribution-free, with k
 * the largest rank whose coverage 1 - 2 P(Bin(n, 1/2) < k) is >= 95 %; for
 * n < 6 no such k exists and it is min .. max with its lower coverage
 * (med_level: 0.75 for n = 3, 0.875 for 4, 0.9375 for 5). */
struct pb_stat {
	unsigned n;
	double median, min, max, mean, sd, ci_lo, ci_hi;
	double med_lo, med_hi, med_level;
};
void pb_stat_compute(const double *v, unsigned n, struct pb_stat *s);
double pb_t975(unsigned df);                   /* Student t, two-sided 95 % */
double pb_cov_pct(const double *v, unsigned n); /* 100 * sd / mean; NAN if n < 2 */

/* The stopping rule: stop once the last k = min_reps ok repetitions have a
 * CoV below cov_pct (k >= 2, cov_pct > 0), or at --reps. */
struct pb_rule {
	unsigned min_reps;
	double cov_pct;
};
/* Is the rule met by the ok values so far (in rep order)?  *cov_out: CoV of
 * the last min(k, n_ok) values (NAN if fewer than 2). */
bool pb_rule_met(const double *ok, unsigned n_ok, const struct pb_rule *r, double *cov_out);
/* Where a point's rule comes from (merge: the inputs' summary.csv). */
typedef void (*pb_rule_lookup)(void *ctx, const char *point_id, struct pb_rule *r);
const char *pb_summary_header(void);
/* Read DIR/results.csv, write DIR/summary.csv (atomically) and, if table_out,
 * a table per point.  0 or -errno (logged). */
int pb_summary_write(const char *dir, const struct pb_rule *dflt, pb_rule_lookup lookup, void *ctx,
		     FILE *table_out);

/* sweep.c */
/* Prefix of the next pb_usage_error line ("FILE:LINE: key 'k' in [s]: "), or
 * NULL: set while an option that came from a sweep file is checked. */
extern const char *pb_usage_ctx;
void pb_usage_ctx_arg(int argi);        /* origin of run argument argi, or NULL */
void pb_usage_ctx_opt(const char *opt); /* origin of the last key that gave --opt */
bool pb_arg_from_file(int argi);        /* did run argument argi come from the sweep file? */
/* "poolbench sweep FILE [overrides]": read FILE (inih) into run arguments
 * (*argv_out[0] is "sweep"), overrides last; keys are the run command's
 * @longopts (main.c's table).  Exits 2 on any bad input. */
struct option;
void pb_sweep_load(int argc, char **argv, const struct option *longopts, int *argc_out,
		   char ***argv_out);
/* The loaded sweep file (for meta.json), or NULL fields; defined in base.c. */
struct pb_sweepfile {
	const char *path, *text;
	const char *title, *description, *x, *y;
};
extern struct pb_sweepfile pb_sweepfile;
/* Option values with more than a number (exit 2 on bad input). */
void pb_parse_warmup(const char *arg, struct pb_sweep *sw);
void pb_parse_cov(const char *arg, double *out);
double pb_parse_pct(const char *arg, double max);
void pb_parse_shard(const char *arg, unsigned *k, unsigned *n);
/* Expand list syntax for counts: "1..4", "pow2:1..2xpus", "pus" -> "1,2,4".
 * Returns @arg itself when there is nothing to expand. */
const char *pb_expand_counts(const char *flag, const char *arg);
/* Checks across options once all are parsed (min-reps vs reps, ...). */
void pb_sweep_check(struct pb_sweep *sw);
/* Usage error about option @opt (prefixed with its sweep-file origin). */
void pb_usage_error_opt(const char *opt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));


/* run.c: --dry-run: one line per planned point (point_id and label) on stdout. */
void pb_print_plan(const struct pb_sweep *sw, const struct pb_point *pts, size_t npts);

/* merge.c: "poolbench merge DIR... --out DIR" */
int pb_merge_cmd(int argc, char **argv, char *cmdline);

/* ---- sweep identity, interrupts, status (issue 12: docs/cluster.md) ---------- */

/* meta.c: what makes a results directory one sweep's.  points_hash: every
 * point_id of the whole plan (before --shard), in plan order; id: with the
 * commit and build flags (equal for every shard); fingerprint: with the shard. */
struct pb_sweep_id {
	char id[17], fingerprint[17], points_hash[17];
	size_t points_total;
	unsigned shard_k, shard_n;
	char commit[128];
	char build[1024];
};
/* plan.c calls this with the whole plan before the --shard cut. */
void pb_plan_record_full(const struct pb_point *pts, size_t n);
void pb_sweep_identity(const struct pb_sweep *sw, const struct pb_point *pts, size_t npts,
		       struct pb_sweep_id *out);
/* Before anything is written: --append with --resume, and --resume of a
 * directory whose recorded fingerprint differs, exit 2 naming what differs. */
void pb_resume_check(const struct pb_sweep *sw, const struct pb_point *pts, size_t npts);
/* @cmdline without --append, with --out DIR (if it had none) and --resume. */
char *pb_resume_command(const char *cmdline, const char *out_dir);
/* One entry of meta.json "runs", as read back. */
struct pb_meta_run {
	bool have_id;
	struct pb_sweep_id id;
	char *command;
	char **planned;
	size_t nplanned;
	unsigned min_reps, max_reps, max_fail;
	double cov_pct;
	char host[256];
};
/* Parse the runs of a meta.json text; count, or -EINVAL if not ours. */
int pb_meta_runs(const char *meta, struct pb_meta_run **out);
void pb_json_field(const char *line, const char *key, char *buf, size_t len);
void pb_sweep_id_diff(const struct pb_sweep_id *here, const struct pb_sweep_id *there,
		      const char *here_name, const char *there_name, char *buf, size_t len);

/* run.c: SIGINT/SIGTERM stop the sweep after the current row (the run in
 * progress is killed and not recorded); then summary.csv, the --resume
 * command on stderr, exit 128 + signal. */
#define PB_EXIT_SIGNAL(sig) (128 + (sig))

/* merge.c: "poolbench status DIR..." */
int pb_status_cmd(int argc, char **argv);

/* ---- measurement (H2): modes, counters, allocation counts, timeseries ------- */

enum pb_mode { PB_MODE_THROUGHPUT, PB_MODE_LATENCY, PB_MODE_RATE };
const char *pb_mode_name(int mode); /* "throughput", "latency", "rate" (base.c) */
/* --idle-poll: "yield" (PB_IDLE_YIELD), "relax" (PB_IDLE_RELAX); parse: -1 if unknown (base.c) */
const char *pb_idle_poll_name(unsigned v);
int pb_idle_poll_parse(const char *name);
/* Latency mode: at most this many jobs in flight per worker (the seed's bound). */
#define PB_LATENCY_INFLIGHT_PER_WORKER 32
/* --duration (closed loop) without --warmup: warm-up jobs. */
#define PB_DURATION_WARMUP_JOBS 20000

/* perf.c: process-wide counters (inherit=1); one thread uses a pb_perf. */
enum pb_ctr {
	PB_CTR_TASK_CLOCK, PB_CTR_CTX_SWITCHES, PB_CTR_PAGE_FAULTS, PB_CTR_CYCLES,
	PB_CTR_INSTRUCTIONS, PB_CTR_CACHE_REFS, PB_CTR_CACHE_MISSES, PB_CTR_COUNT
};
struct pb_perf {
	int fd[PB_CTR_COUNT];
	int err[PB_CTR_COUNT]; /* errno of a failed open, else 0 */
};
/* Open every counter disabled; call before the run's threads start. */
void pb_perf_open(struct pb_perf *p);
void pb_perf_start(struct pb_perf *p); /* reset + enable */
/* Disable and read; returns a bit mask (1 << PB_CTR_*) of the counters read. */
unsigned pb_perf_stop(struct pb_perf *p, uint64_t out[PB_CTR_COUNT]);
void pb_perf_close(struct pb_perf *p);

/* memstat.c: jemalloc allocation counts (any thread; counts are exact for
 * threads that flushed their tcache or exited since they last allocated). */
struct pb_alloc_snap {
	uint64_t allocs; /* allocation requests (malloc, calloc, realloc, ...) */
	uint64_t bytes;  /* their sizes rounded up to the size class */
};
int pb_alloc_available(void);      /* 1 if poolbench is linked with jemalloc */
void pb_alloc_flush_thread(void);  /* merge the calling thread's tcache counts */
int pb_alloc_snapshot(struct pb_alloc_snap *s); /* 0 or -ENOTSUP */

/* memstat.c: timeseries.csv (parent, single-threaded).  The child writes
 * lines of PB_TS_SAMPLE_COLS to pb_ts_part_path(); after each run the
 * parent appends the complete ones, prefixed with the point's columns. */
#define PB_TS_SAMPLE_COLS "phase,t_ms,submitted,executed,segs_live,segs_allocated,pending,retired,freed"
void pb_ts_open(const char *dir, bool append); /* exits 2 on a bad file */
const char *pb_ts_part_path(void);            /* NULL: no timeseries */
void pb_ts_collect(const struct pb_point *pt, unsigned rep, const struct pb_result *res);

/* Timed jobs of a row: what the child ran (--duration), else --jobs. */
static inline uint64_t pb_result_jobs(const struct pb_point *pt, const struct pb_result *r)
{
	return r->jobs ? r->jobs : pt->jobs;
}

/* ---- noisy machines (issue 8): run order, canary, floor, compare ------------- */

enum pb_order { PB_ORDER_INTERLEAVED, PB_ORDER_RANDOM, PB_ORDER_SEQUENTIAL };
const char *pb_order_name(int order); /* "interleaved", "random", "sequential" (base.c) */

/* canary.c: a fixed dependent integer loop timed in the parent around every
 * repetition (docs/methodology.md, "The canary"). */
uint64_t pb_canary_run(uint64_t iters);          /* ns for @iters iterations */
uint64_t pb_canary_calibrate(uint64_t target_ns); /* iterations that take about target_ns */
uint64_t pb_canary_fake_ns(void);                /* PB_FAKE_CANARY_NS (test hook), or 0 */

/* calibrate.c: the machine's floor on the CPUs a sweep uses. */
#define PB_FLOOR_MAX_THREADS 64
struct pb_floor {
	unsigned ncpus;
	int cpus[PB_FLOOR_MAX_THREADS];       /* OS indexes measured on */
	double oneway_min_ns, oneway_med_ns;  /* one cache line, one way, over CPU pairs */
	unsigned npairs;
	unsigned natomic;
	double atomic_ns[PB_FLOOR_MAX_THREADS]; /* [t-1]: ns per increment, t threads, one counter */
	double atomic_mops[PB_FLOOR_MAX_THREADS]; /* [t-1]: total increments per us */
	double spsc_ns;                       /* batched SPSC ring, ns per item, two CPUs */
	double wall_s;                        /* how long calibrating took */
	char note[160];                       /* why a figure is missing, or "" */
};
/* Measure on @cpus (n of them; n 0: every PU).  0 or -errno. */
int pb_floor_measure(const int *cpus, unsigned n, struct pb_floor *f);
void pb_floor_print(const struct pb_floor *f, FILE *out);
void pb_floor_json(const struct pb_floor *f, FILE *out, const char *indent);
int pb_calibrate_cmd(int argc, char **argv);     /* "poolbench calibrate" */

/* compare.c: "poolbench compare A B" / "--a SERIES --b SERIES DIR" */
int pb_compare_cmd(int argc, char **argv);

#endif
