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

#define PB_SCHEMA_VERSION 1

#define PB_LIST_MAX 64    /* values per LIST option */
#define PB_SETTINGS_MAX 32 /* --backend-opt etc. per kind */

/* The four backend-option axes: CLI flag, option name, CSV column. */
enum pb_axis { AX_SEG_SIZE, AX_SEG_COUNT, AX_CAPACITY, AX_SEG_SUPPLY, AX_COUNT };
extern const char *const pb_axis_opt[AX_COUNT]; /* "seg-size", ... */

struct pb_strlist {
	unsigned n;
	const char *v[PB_LIST_MAX];
};

struct pb_ulist {
	unsigned n;
	uint64_t v[PB_LIST_MAX];
};

/* name=value settings given with --backend-opt / --reclaim-opt / --workload-opt */
struct pb_settings {
	unsigned n;
	char *name[PB_SETTINGS_MAX];
	char *value[PB_SETTINGS_MAX];
};

/* Everything the run command was given (after parsing, before planning). */
struct pb_sweep {
	struct pb_strlist backends, reclaimers, workloads;
	bool reclaim_given;
	struct pb_ulist producers, workers, wake_min_jobs, flush_us, batch;
	struct pb_strlist axis[AX_COUNT];
	struct pb_settings bopt, ropt, wopt;
	uint64_t jobs;
	unsigned reps;
	int64_t warmup; /* -1: jobs / 10 */
	unsigned watchdog_s;
	const char *pin_workers, *pin_producers;
	const char *out;
	bool append, quiet;
	char *cmdline; /* the exact command line, shell-quoted */
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
	uint64_t flush_us;
	uint64_t jobs, warmup;
	int *cpus_workers, *cpus_producers;
	char skip[256]; /* supported() reason, or "" */
};

/* Row status, in the order of severity used by the summary. */
enum pb_rstatus { RS_OK, RS_SKIP, RS_INVALID, RS_ERROR, RS_CRASH, RS_STALL };
const char *pb_rstatus_name(enum pb_rstatus s);

/* What a child reports for one (point, rep): a fixed struct over a pipe
 * (smaller than PIPE_BUF, so one write is atomic). */
struct pb_result {
	uint32_t magic;
	uint32_t status; /* enum pb_rstatus */
	uint64_t elapsed_ns;
	uint64_t lost, duplicated, errors;
	uint64_t allocs; /* queue allocations during the timed phase */
	uint64_t segs_allocated, segs_reused, segs_retired, segs_peak;
	uint64_t pending_end, pending_peak;
	uint64_t batches, parks, wakes, timer_wakes, full;
	uint64_t peak_rss_kb, ctx_switches;
	char note[200];
};
#define PB_RESULT_MAGIC 0x50425231u

/* Shared page the child updates as it goes, read by the parent on a stall. */
struct pb_progress {
	_Atomic int phase; /* enum pb_phase */
	_Atomic uint64_t executed, submitted;
};
enum pb_phase { PH_START, PH_CREATE, PH_WARMUP, PH_TIMED, PH_SHUTDOWN, PH_DESTROY, PH_DONE };
const char *pb_phase_name(int ph);

/* Fault injection for the CLI tests (env PB_FAULT). */
enum pb_fault {
	FAULT_NONE,
	FAULT_CRASH, /* the child raises SIGSEGV in the timed phase */
	FAULT_STALL, /* the child never finishes the timed phase */
	FAULT_LOSE,  /* producer 0 skips its first timed job id (lost = 1) */
	FAULT_DUP,   /* producer 0 submits its first timed job id twice (duplicated = 1) */
	FAULT_ERR,   /* producer 0's first timed job returns -EIO (errors = 1) */
};

/* main.c */
extern const char *pb_prog;
/* Zeroed allocation that lives until pb_xfree_all() (at the end of main);
 * exits with PB_EXIT_NORES when out of memory.  Keeps everything reachable
 * on the exit() paths of usage errors. */
void *pb_xalloc(size_t n, size_t size);
char *pb_xstrdup(const char *s);
void pb_xfree_all(void);
void pb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* plan.c: validate everything and build the points.  Exits with
 * PB_EXIT_USAGE (one line on stderr) on any bad value. */
size_t pb_plan(const struct pb_sweep *sw, const struct pb_topo *topo, struct pb_point **out);
/* Print the notes pb_plan held back (call once the output is open). */
void pb_plan_notes(void);

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
void pb_csv_row(FILE *f, const struct pb_point *pt, unsigned rep, const struct pb_sweep *sw,
		const struct pb_result *r);

/* meta.c */
int pb_meta_write(const char *dir, const struct pb_sweep *sw, const struct pb_topo *topo,
		  bool append);

/* Small helpers (run.c). */
void pb_opts_string(const struct pb_optvals *ov, char *buf, size_t len); /* "a=1;b=x" or "-" */

#endif
