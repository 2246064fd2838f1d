/* SPDX-License-Identifier: MIT */
/*
 * The poolbench command line: "list", "topo" and "run" (getopt_long).  Parses
 * the run options into a struct pb_sweep; plan.c validates them against the
 * plug-ins' option tables, run.c runs the sweep.  Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"
#include "pool.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: poolbench list                 plug-ins: backends, reclaimers, workloads, options\n"
		"       poolbench topo                 topology and the CPUs each pin policy gives\n"
		"       poolbench run [options]        run a sweep; one CSV row per point and repetition\n"
		"       poolbench sweep FILE [options] run the sweep described by an INI file\n"
		"                                      (docs/sweeps.md); options override the file,\n"
		"                                      key by key ([jobs] included)\n"
		"       poolbench merge DIR... --out DIR [--allow-partial]  join the shards of a sweep\n"
		"       poolbench status DIR...        per shard: (point, rep) pairs done, failed,\n"
		"                                      missing, and the command that completes them\n"
		"       poolbench compare A B [--out CSV]  per-point ratio B/A with a 95%% CI\n"
		"       poolbench compare DIR --a SERIES --b SERIES [--out CSV]  (SERIES: col=v,...)\n"
		"       poolbench calibrate [--cpus LIST]  the machine's floor (docs/methodology.md)\n"
		"\n"
		"run options (LIST = comma-separated values; every combination is a point):\n"
		"  --backend LIST        queue backends (default segmented; all: every one)\n"
		"  --reclaim LIST        reclaimers, for backends that take one (default limbo;\n"
		"                        all: every one a selected backend takes)\n"
		"  --workload LIST       workloads (default empty; all: every one)\n"
		"  --producers LIST      producer threads (default 1)\n"
		"  --workers LIST        worker threads (default 1)\n"
		"  --seg-size LIST       backend option seg-size, where declared\n"
		"  --seg-count LIST      backend option seg-count, where declared\n"
		"  --capacity LIST       backend option capacity, where declared\n"
		"  --seg-supply LIST     backend option seg-supply, where declared\n"
		"  --wake-min-jobs LIST  pool wake threshold (default 128)\n"
		"  --flush-us LIST       pool flush timer in microseconds (default 50)\n"
		"  --batch LIST          jobs per pop_batch (default 64)\n"
		"  --submit-batch LIST   jobs per submit call, pb_pool_submit_batch (default 1: per job,\n"
		"                        as the seed); --mode throughput only\n"
		"  --backlog LIST        throughput mode: most jobs in the queue (submitted, not yet taken\n"
		"                        by a worker); a producer waits for room (default 0: no bound,\n"
		"                        the seed's flood; docs/methodology.md \"Backlog\")\n"
		"  --coalesce LIST       pool batch coalescing: after a batch of fewer than 8 jobs a\n"
		"                        worker pauses this many cpu-relax before it pops again\n"
		"                        (default 0: off, the seed; docs/pool.md \"Batch coalescing\")\n"
		"  --idle-poll LIST      what an idle worker does between empty polls before it\n"
		"                        parks: yield (sched_yield, default) or relax (a cpu pause;\n"
		"                        docs/pool.md \"Parking\")\n"
		"  --jobs N              timed jobs per run (default 200000)\n"
		"  --workload-jobs NAME=N  timed jobs for workload NAME (repeatable; else --jobs)\n"
		"  --warmup N|DURATION   untimed jobs before the timed phase (default jobs/10), or\n"
		"                        a duration such as 200ms (units ns, us, ms, s)\n"
		"  --reps N              most repetitions per point (default 10)\n"
		"  --min-reps K          fewest ok repetitions; the CoV is over the last K (default 3)\n"
		"  --max-fail N          give up a point after N stall/crash repetitions (default 2;\n"
		"                        0: never); its other repetitions are not run\n"
		"  --cov PCT             stop a point once the CoV of ns_per_job over its last K ok\n"
		"                        repetitions is below PCT percent (default 2; 0: run --reps)\n"
		"  --resume              continue DIR/results.csv: skip the repetitions it has\n"
		"  --shard K/N           run only points i with i mod N = K-1 (plan order from 0)\n"
		"  --dry-run             print the planned points (point_id, axes) and stop\n"
		"  --watchdog SECONDS    kill a run after this long: status stall (default 120)\n"
		"  --mode MODE           throughput (closed loop), latency (at most workers x 32 jobs\n"
		"                        in flight) or rate (open loop at --rate); default throughput\n"
		"  --duration TIME       submit for this long instead of --jobs jobs (2, 0.5s, 500ms);\n"
		"                        in rate mode: rate x duration jobs\n"
		"  --rate JOBS_PER_S     rate mode: submissions per second over all producers\n"
		"  --latency on|off      record submit->start latency (always on in latency and\n"
		"                        rate modes; default off in throughput mode)\n"
		"  --sample-ms MS        timeseries.csv period: reclaimer pending, live segments\n"
		"                        (default 1; 0: no timeseries)\n"
		"  --pin-workers POLICY  auto, none, compact, scatter, node:N or a CPU list (default\n"
		"                        auto: compact, workers first, when the threads fit the PUs)\n"
		"  --pin-producers POLICY  the same for producers (after the workers in one order)\n"
		"                        several policies separated by spaces are an axis\n"
		"  --backend-opt NAME=LIST    set a backend option; a list is an axis (repeatable;\n"
		"                             the last setting of a NAME wins)\n"
		"  --reclaim-opt NAME=LIST    the same for a reclaimer option (threshold=16,64)\n"
		"  --workload-opt NAME=LIST   the same for a workload option\n"
		"  --out DIR             output directory (default results/<YYYYMMDD-HHMMSS>-<host>)\n"
		"  --append              append to DIR/results.csv (its header must match)\n"
		"  --quiet               no progress lines on stderr\n"
		"  --order ORDER         interleaved (default: repetition r of every point before\n"
		"                        r+1 of any), random (each round shuffled) or sequential\n"
		"  --seed N              the shuffle's seed for --order random (default: chosen,\n"
		"                        recorded in meta.json)\n"
		"  --canary-tol PCT      a repetition whose canary is PCT%% slower than the sweep's\n"
		"                        median is 'noisy' and re-run (default 10; 0: never)\n"
		"  --no-calibrate        do not measure the machine's floor before the sweep\n"
		"exit status: 0 all rows ok (or noisy, skipped), 1 a row invalid/stall/crash/error, 2 usage,\n"
		"             3 every point skipped\n");
}

/* ---- list parsing -------------------------------------------------------- */

#define xstrdup pb_xstrdup

static void parse_strlist(const char *flag, const char *arg, struct pb_strlist *l)
{
	char *copy = xstrdup(arg);
	char *p = copy;

	l->n = 0;
	for (;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = 0;
		if (!*p)
			pb_usage_error("bad list '%s' for --%s: empty item, allowed: comma-separated values "
				       "like a,b", arg, flag);
		for (unsigned i = 0; i < l->n; i++)
			if (!strcmp(l->v[i], p))
				pb_usage_error("bad list '%s' for --%s: '%s' given twice", arg, flag, p);
		if (l->n == PB_LIST_MAX)
			pb_usage_error("bad list '%s' for --%s: more than %d values", arg, flag,
				       PB_LIST_MAX);
		l->v[l->n++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static uint64_t parse_num(const char *flag, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, &v))
		pb_usage_error("value '%s' is not an integer for --%s, allowed: %llu .. %llu", s, flag,
			       (unsigned long long)min, (unsigned long long)max);
	if (v < min || v > max)
		pb_usage_error("value %s is out of range for --%s, allowed: %llu .. %llu", s, flag,
			       (unsigned long long)min, (unsigned long long)max);
	return v;
}

static void parse_ulist(const char *flag, const char *arg, struct pb_ulist *l, uint64_t min,
			uint64_t max)
{
	struct pb_strlist s;

	arg = pb_expand_counts(flag, arg); /* 1..4, pow2:1..2xpus */
	parse_strlist(flag, arg, &s);
	l->n = 0;
	for (unsigned i = 0; i < s.n; i++) {
		uint64_t v = parse_num(flag, s.v[i], min, max);

		for (unsigned k = 0; k < l->n; k++)
			if (l->v[k] == v)
				pb_usage_error("bad list '%s' for --%s: %llu given twice", arg, flag,
					       (unsigned long long)v);
		l->v[l->n++] = v;
	}
}

/* --idle-poll: names, stored as PB_IDLE_* values (pb_idle_poll_name). */
static void parse_idle_poll(const char *arg, struct pb_ulist *l)
{
	struct pb_strlist s;

	parse_strlist("idle-poll", arg, &s);
	l->n = 0;
	for (unsigned i = 0; i < s.n; i++) {
		int v = pb_idle_poll_parse(s.v[i]);

		if (v < 0)
			pb_usage_error("unknown value '%s' for --idle-poll, allowed: yield, relax", s.v[i]);
		l->v[l->n++] = (uint64_t)v; /* parse_strlist refused duplicates */
	}
}

static void parse_setting(const char *flag, const char *arg, struct pb_settings *st, bool from_file)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		pb_usage_error("bad setting '%s' for --%s, allowed: NAME=VALUE or NAME=V1,V2,... (an axis)",
			       arg, flag);
	if (st->n == PB_SETTINGS_MAX)
		pb_usage_error("too many --%s settings (at most %d)", flag, PB_SETTINGS_MAX);
	st->name[st->n] = xstrdup(arg);
	st->name[st->n][eq - arg] = 0;
	st->value[st->n] = st->name[st->n] + (eq - arg) + 1;
	st->flag[st->n] = NULL;
	st->from_file[st->n] = from_file;
	st->n++;
}

/* --seg-size LIST and the like: --backend-opt seg-size=LIST, where declared. */
static void parse_axis_flag(const char *flag, const char *arg, struct pb_settings *st, bool from_file)
{
	if (!*arg)
		pb_usage_error("bad list '' for --%s: empty item, allowed: comma-separated values "
			       "like a,b", flag);
	if (st->n == PB_SETTINGS_MAX)
		pb_usage_error("too many --backend-opt settings (at most %d)", PB_SETTINGS_MAX);
	st->name[st->n] = (char *)flag;
	st->value[st->n] = xstrdup(arg);
	st->flag[st->n] = flag;
	st->from_file[st->n] = from_file;
	st->n++;
}


/* The exact command line, each argument shell-quoted where needed. */
static char *join_cmdline(int argc, char **argv)
{
	size_t len = 1;
	char *s, *p;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) * 4 + 3;
	s = pb_xalloc(len, 1);
	p = s;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int plain = *a != 0;

		for (const char *c = a; *c; c++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				    "-_=.,/:+@%", *c))
				plain = 0;
		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (const char *c = a; *c; c++) {
			if (*c == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *c;
		}
		*p++ = '\'';
	}
	*p = 0;
	return s;
}

/* mkdir -p; 0 or -errno */
static int mkdir_p(const char *path)
{
	char *tmp = xstrdup(path);
	int rc = 0;

	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;

			*p = 0;
			if (mkdir(tmp, 0777) && errno != EEXIST) {
				rc = -errno;
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	if (!rc) {
		struct stat st;

		if (stat(path, &st))
			rc = -errno;
		else if (!S_ISDIR(st.st_mode))
			rc = -ENOTDIR;
		else if (access(path, W_OK | X_OK))
			rc = -errno;
	}
	return rc;
}

/* ---- commands ------------------------------------------------------------- */

static void flag_names(FILE *f, unsigned flags, const char *const *names, const unsigned *bits,
		       size_t n)
{
	int any = 0;

	for (size_t i = 0; i < n; i++)
		if (flags & bits[i]) {
			fprintf(f, "%s%s", any ? "," : "", names[i]);
			any = 1;
		}
	if (!any)
		fprintf(f, "-");
}

static int cmd_list(void)
{
	static const char *const qf[] = {"bounded", "reclaim", "fifo", "native-batch"};
	static const unsigned qb[] = {PB_Q_BOUNDED, PB_Q_RECLAIM, PB_Q_FIFO, PB_Q_NATIVE_BATCH};
	static const char *const rf[] = {"proven", "needs-qs", "type-stable", "no-reuse", "hold",
					 "section"};
	static const unsigned rb[] = {PB_RC_PROVEN, PB_RC_NEEDS_QS, PB_RC_TYPE_STABLE,
				      PB_RC_NO_REUSE, PB_RC_HOLD, PB_RC_SECTION};
	FILE *f = stdout;

	fprintf(f, "backends:\n");
	for (size_t i = 0; pb_backends[i]; i++) {
		const struct pb_queue_ops *o = pb_backends[i];
		const char *why = o->supported ? o->supported() : NULL;

		fprintf(f, "  %-12s %s\n", o->name, o->summary);
		fprintf(f, "    flags: ");
		flag_names(f, o->flags, qf, qb, PB_ARRAY_SIZE(qf));
		fprintf(f, "\n");
		if (o->flags & PB_Q_RECLAIM) {
			fprintf(f, "    reclaimers:");
			for (size_t k = 0; pb_reclaimers[k]; k++)
				if (pb_queue_accepts_reclaim(o, pb_reclaimers[k]->name))
					fprintf(f, " %s", pb_reclaimers[k]->name);
			fprintf(f, "\n");
		}
		if (why)
			fprintf(f, "    not supported here: %s\n", why);
		fprintf(f, "    options:%s\n", pb_opts_count(o->options) ? " (--backend-opt NAME=VALUE)" : " (none)");
		pb_opts_print(o->options, f, "      ");
	}
	fprintf(f, "reclaimers:\n");
	for (size_t i = 0; pb_reclaimers[i]; i++) {
		const struct pb_reclaim_ops *o = pb_reclaimers[i];
		const char *why = o->supported ? o->supported() : NULL;

		fprintf(f, "  %-12s %s\n", o->name, o->summary);
		fprintf(f, "    flags: ");
		flag_names(f, o->flags, rf, rb, PB_ARRAY_SIZE(rf));
		fprintf(f, "\n");
		if (why)
			fprintf(f, "    not supported here: %s\n", why);
		fprintf(f, "    options:%s\n", pb_opts_count(o->options) ? " (--reclaim-opt NAME=VALUE)" : " (none)");
		pb_opts_print(o->options, f, "      ");
	}
	fprintf(f, "workloads:\n");
	for (size_t i = 0; pb_workloads[i]; i++) {
		const struct pb_workload_ops *o = pb_workloads[i];
		const char *why = o->supported ? o->supported() : NULL;

		fprintf(f, "  %-12s %s\n", o->name, o->summary);
		if (o->flags)
			fprintf(f, "    flags: 0x%x\n", o->flags); /* no workload flag is defined yet */
		else
			fprintf(f, "    flags: -\n");
		if (why)
			fprintf(f, "    not supported here: %s\n", why);
		fprintf(f, "    options:%s\n", pb_opts_count(o->options) ? " (--workload-opt NAME=VALUE)" : " (none)");
		pb_opts_print(o->options, f, "      ");
	}
	return PB_EXIT_OK;
}

static int cmd_topo(void)
{
	struct pb_topo *t;
	int rc = pb_topo_open(&t);

	if (rc) {
		pb_log("cannot read the topology: %s", strerror(-rc));
		return PB_EXIT_NORES;
	}
	pb_topo_print(t, stdout);
	pb_topo_close(t);
	return PB_EXIT_OK;
}

enum {
	O_BACKEND = 256, O_RECLAIM, O_WORKLOAD, O_PRODUCERS, O_WORKERS, O_SEG_SIZE, O_SEG_COUNT,
	O_CAPACITY, O_SEG_SUPPLY, O_JOBS, O_REPS, O_OUT, O_WARMUP, O_WATCHDOG, O_WAKE, O_FLUSH,
	O_BATCH, O_PIN_W, O_PIN_P, O_APPEND, O_QUIET, O_BOPT, O_ROPT, O_WOPT, O_HELP,
	O_MIN_REPS, O_MAX_FAIL, O_COV, O_RESUME, O_SHARD, O_WL_JOBS, O_DRY_RUN, /* sweep engine (H1) */
	O_MODE, O_DURATION, O_RATE, O_LATENCY, O_SAMPLE_MS, /* measurement (H2) */
	O_SUBMIT_BATCH,
	O_BACKLOG,
	O_COALESCE,
	O_IDLE_POLL,
	O_ORDER, O_SEED, O_CANARY_TOL, O_NO_CALIBRATE, /* noisy machines (issue 8) */
	O_END
};

static const struct option run_longopts[] = {
	{"backend", required_argument, NULL, O_BACKEND},
	{"reclaim", required_argument, NULL, O_RECLAIM},
	{"workload", required_argument, NULL, O_WORKLOAD},
	{"producers", required_argument, NULL, O_PRODUCERS},
	{"workers", required_argument, NULL, O_WORKERS},
	{"seg-size", required_argument, NULL, O_SEG_SIZE},
	{"seg-count", required_argument, NULL, O_SEG_COUNT},
	{"capacity", required_argument, NULL, O_CAPACITY},
	{"seg-supply", required_argument, NULL, O_SEG_SUPPLY},
	{"jobs", required_argument, NULL, O_JOBS},
	{"reps", required_argument, NULL, O_REPS},
	{"out", required_argument, NULL, O_OUT},
	{"warmup", required_argument, NULL, O_WARMUP},
	{"watchdog", required_argument, NULL, O_WATCHDOG},
	{"wake-min-jobs", required_argument, NULL, O_WAKE},
	{"flush-us", required_argument, NULL, O_FLUSH},
	{"batch", required_argument, NULL, O_BATCH},
	{"submit-batch", required_argument, NULL, O_SUBMIT_BATCH},
	{"backlog", required_argument, NULL, O_BACKLOG},
	{"coalesce", required_argument, NULL, O_COALESCE},
	{"idle-poll", required_argument, NULL, O_IDLE_POLL},
	{"pin-workers", required_argument, NULL, O_PIN_W},
	{"pin-producers", required_argument, NULL, O_PIN_P},
	{"append", no_argument, NULL, O_APPEND},
	{"quiet", no_argument, NULL, O_QUIET},
	{"backend-opt", required_argument, NULL, O_BOPT},
	{"reclaim-opt", required_argument, NULL, O_ROPT},
	{"workload-opt", required_argument, NULL, O_WOPT},
	{"help", no_argument, NULL, O_HELP},
	{"min-reps", required_argument, NULL, O_MIN_REPS},
	{"max-fail", required_argument, NULL, O_MAX_FAIL},
	{"cov", required_argument, NULL, O_COV},
	{"resume", no_argument, NULL, O_RESUME},
	{"shard", required_argument, NULL, O_SHARD},
	{"workload-jobs", required_argument, NULL, O_WL_JOBS},
	{"dry-run", no_argument, NULL, O_DRY_RUN},
	{"mode", required_argument, NULL, O_MODE},
	{"duration", required_argument, NULL, O_DURATION},
	{"rate", required_argument, NULL, O_RATE},
	{"latency", required_argument, NULL, O_LATENCY},
	{"sample-ms", required_argument, NULL, O_SAMPLE_MS},
	{"order", required_argument, NULL, O_ORDER},
	{"seed", required_argument, NULL, O_SEED},
	{"canary-tol", required_argument, NULL, O_CANARY_TOL},
	{"no-calibrate", no_argument, NULL, O_NO_CALIBRATE},
	{NULL, 0, NULL, 0},
};

/* "--jbos=5" -> "jobs" if a run option is close, else NULL. */
static const char *near_option(const char *arg)
{
	const char *names[64];
	char name[128];
	size_t n = 0, len;

	while (*arg == '-')
		arg++;
	len = strcspn(arg, "=");
	if (len >= sizeof(name))
		return NULL;
	memcpy(name, arg, len);
	name[len] = 0;
	for (const struct option *o = run_longopts; o->name && n < PB_ARRAY_SIZE(names); o++)
		names[n++] = o->name;
	return pb_closest(name, names, n);
}

#define MAX_JOBS (1ull << 30) /* the seen[] array is one byte per job */

/* ---- measurement options (H2) ---------------------------------------------- */

static int parse_mode(const char *arg)
{
	static const char *const names[] = {"throughput", "latency", "rate"};
	const char *near;

	for (int i = 0; i < (int)PB_ARRAY_SIZE(names); i++)
		if (!strcmp(arg, names[i]))
			return i;
	near = pb_closest(arg, names, PB_ARRAY_SIZE(names));
	pb_usage_error("unknown mode '%s' for --mode, allowed: throughput, latency, rate%s%s%s", arg,
		       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

/* "2", "0.5s", "500ms", "100us", "1000000ns": > 0 and at most a day. */
static uint64_t parse_duration(const char *arg)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}};
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (!errno && end != arg && (*arg >= '0' && *arg <= '9'))
		for (size_t i = 0; i < PB_ARRAY_SIZE(units); i++)
			if (!strcmp(end, units[i].unit)) {
				double ns = v * units[i].ns;

				if (ns >= 1e6 && ns <= 86400e9)
					return (uint64_t)ns;
				break;
			}
	pb_usage_error("value '%s' is not valid for --duration, allowed: 1ms .. 86400s, "
		       "like 2, 0.5s or 500ms", arg);
}

static int parse_onoff(const char *flag, const char *arg)
{
	if (!strcmp(arg, "on") || !strcmp(arg, "true") || !strcmp(arg, "yes") || !strcmp(arg, "1"))
		return 1;
	if (!strcmp(arg, "off") || !strcmp(arg, "false") || !strcmp(arg, "no") || !strcmp(arg, "0"))
		return 0;
	pb_usage_error("value '%s' is not valid for --%s, allowed: on, off", arg, flag);
}

/* Checks across the measurement options; fixes jobs and warm-up for --duration. */
static void check_measure(struct pb_sweep *sw)
{
	if (sw->rate && sw->mode != PB_MODE_RATE)
		pb_usage_error_opt("rate", "--rate %llu needs --mode rate (the %s mode submits as fast as it can)",
			       (unsigned long long)sw->rate, pb_mode_name(sw->mode));
	if (sw->mode == PB_MODE_RATE && !sw->rate)
		pb_usage_error_opt("mode", "--mode rate needs --rate JOBS_PER_S (1 .. 1000000000)");
	if (sw->latency == 0 && sw->mode != PB_MODE_THROUGHPUT)
		pb_usage_error_opt("latency", "--latency off is only valid with --mode throughput: the %s mode "
			       "always records latency", pb_mode_name(sw->mode));
	if (sw->latency < 0)
		sw->latency = sw->mode != PB_MODE_THROUGHPUT;
	for (unsigned i = 0; i < sw->submit_batch.n; i++)
		if (sw->submit_batch.v[i] > 1 && (sw->mode != PB_MODE_THROUGHPUT || sw->latency))
			pb_usage_error_opt("submit-batch", "--submit-batch %llu needs --mode throughput with "
					   "latency off (%s submits job by job), allowed otherwise: 1",
					   (unsigned long long)sw->submit_batch.v[i],
					   sw->mode != PB_MODE_THROUGHPUT ? pb_mode_name(sw->mode)
					   : "latency recording");
	for (unsigned i = 0; i < sw->backlog.n; i++)
		if (sw->backlog.v[i] && sw->mode != PB_MODE_THROUGHPUT)
			pb_usage_error_opt("backlog", "--backlog %llu needs --mode throughput (the %s mode "
					   "sets its own bound), allowed otherwise: 0",
					   (unsigned long long)sw->backlog.v[i], pb_mode_name(sw->mode));
	if (!sw->duration_ns)
		return;
	if (sw->mode == PB_MODE_RATE) {
		double n = (double)sw->rate * (double)sw->duration_ns / 1e9;

		if (sw->jobs_given)
			pb_usage_error_opt("duration", "--jobs and --duration exclude each other in rate mode "
				       "(the job count is rate x duration)");
		if (n < 1 || n > (double)MAX_JOBS / 2)
			pb_usage_error_opt("duration", "--rate %llu x --duration gives %.0f jobs, allowed: 1 .. %llu",
				       (unsigned long long)sw->rate, n, MAX_JOBS / 2);
		sw->jobs = (uint64_t)(n + 0.5);
		return;
	}
	/* Closed loop for a time: --jobs (if given) caps the timed ids; the
	 * warm-up is a fixed count unless given. */
	if (sw->warmup < 0 && !sw->warmup_ns)
		sw->warmup = PB_DURATION_WARMUP_JOBS;
	if (!sw->jobs_given)
		sw->jobs = MAX_JOBS - (sw->warmup > 0 ? (uint64_t)sw->warmup : 0);
}

/* ---- noisy machines (issue 8): order, canary, floor ------------------------- */

static int parse_order(const char *arg)
{
	static const char *const names[] = {"interleaved", "random", "sequential"};
	const char *near;

	for (int i = 0; i < (int)PB_ARRAY_SIZE(names); i++)
		if (!strcmp(arg, names[i]))
			return i;
	near = pb_closest(arg, names, PB_ARRAY_SIZE(names));
	pb_usage_error("unknown order '%s' for --order, allowed: interleaved, random, sequential%s%s%s",
		       arg, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

static double parse_canary_tol(const char *arg)
{
	double v = pb_parse_pct(arg, 1000);

	if (v < 0)
		pb_usage_error("value '%s' is not valid for --canary-tol, allowed: a percentage 0 .. 1000 "
			       "(e.g. 10 or 10%%; 0: never mark a repetition noisy)", arg);
	return v;
}

/* The canary's length and its first timings; the machine's floor on the
 * CPUs the sweep pins to (every PU when nothing is pinned). */
static void prepare_noise(struct pb_sweep *sw, const struct pb_point *pts, size_t npts)
{
	static struct pb_floor floor;
	int cpus[PB_FLOOR_MAX_THREADS];
	unsigned n = 0;

	if (!sw->seed_given)
		sw->seed = pb_now_ns() ^ ((uint64_t)getpid() << 32);
	sw->canary_iters = pb_canary_calibrate(2000000);
	for (unsigned i = 0; i < 5; i++) {
		uint64_t ns = pb_canary_fake_ns() ? pb_canary_fake_ns() : pb_canary_run(sw->canary_iters);

		sw->canary_base_ns[sw->canary_base_n++] = (double)ns;
	}
	if (sw->no_calibrate || (getenv("PB_SKIP_CALIBRATE") && *getenv("PB_SKIP_CALIBRATE")))
		return; /* the latter: a test hook (base.c) */
	for (size_t i = 0; i < npts; i++)
		for (unsigned k = 0; k < pts[i].workers + pts[i].producers; k++) {
			int c = k < pts[i].workers ? pts[i].cpus_workers[k] :
						     pts[i].cpus_producers[k - pts[i].workers];
			unsigned j;

			for (j = 0; j < n && cpus[j] != c; j++)
				;
			if (c >= 0 && j == n && n < PB_FLOOR_MAX_THREADS)
				cpus[n++] = c;
		}
	if (!sw->quiet)
		pb_log("calibrate: the machine's floor (--no-calibrate skips it)");
	if (pb_floor_measure(cpus, n, &floor) == 0)
		sw->floor = &floor;
	else
		pb_log("warning: calibrate failed; meta.json has no floor");
}

static char *default_out(void)
{
	char host[256] = "host", stamp[32], *s;
	time_t now = time(NULL);
	struct tm tm;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ' ')
			*p = '_';
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	s = pb_xalloc(strlen(host) + 64, 1);
	sprintf(s, "results/%s-%s", stamp, host);
	return s;
}

/* Where an option's last value came from. */
enum { SRC_NONE, SRC_FILE, SRC_CLI };
#define SRC(o) src[(o) - O_BACKEND]

/* Drop the sweep file's entries of @st (the command line replaced them);
 * returns their names, comma-separated, in @names. */
static unsigned drop_file_settings(struct pb_settings *st, char *names, size_t len)
{
	unsigned k = 0, dropped = 0;
	size_t off = 0;

	names[0] = 0;
	for (unsigned i = 0; i < st->n; i++) {
		if (st->from_file[i]) {
			if (off < len)
				off += (size_t)snprintf(names + off, len - off, "%s%s", dropped ? ", " : "",
							st->name[i]);
			dropped++;
			continue;
		}
		st->name[k] = st->name[i];
		st->value[k] = st->value[i];
		st->flag[k] = st->flag[i];
		st->from_file[k] = st->from_file[i];
		k++;
	}
	st->n = k;
	return dropped;
}

/*
 * The command line wins over the sweep file, key by key.  Keys of the same
 * name already do (the file's arguments come first, so the command line's
 * value is the last one; plug-in settings go by name).  Here: file values
 * that would override or contradict a command-line value through another
 * key give way, each with a note:
 *   --jobs                over the file's [jobs] / workload-jobs entries
 *   --reps / --min-reps   over the file's min-reps / reps when they conflict
 *   --mode                over the file's rate / latency when they conflict
 *   --jobs / --duration   over each other in rate mode
 */
static void command_line_wins(struct pb_sweep *sw, const unsigned char *src)
{
	char names[1024];

	if (SRC(O_JOBS) == SRC_CLI && drop_file_settings(&sw->wl_jobs, names, sizeof(names)))
		pb_plan_note("note: --jobs %llu from the command line replaces the sweep file's [jobs] "
			     "for %s", (unsigned long long)sw->jobs, names);
	if (SRC(O_REPS) == SRC_CLI && SRC(O_MIN_REPS) == SRC_FILE && sw->min_reps > sw->reps) {
		pb_plan_note("note: --reps %u from the command line: the sweep file's min-reps %u "
			     "lowered to %u", sw->reps, sw->min_reps, sw->reps);
		sw->min_reps = sw->reps;
	}
	if (SRC(O_MIN_REPS) == SRC_CLI && SRC(O_REPS) == SRC_FILE && sw->min_reps > sw->reps) {
		pb_plan_note("note: --min-reps %u from the command line: the sweep file's reps %u "
			     "raised to %u", sw->min_reps, sw->reps, sw->min_reps);
		sw->reps = sw->min_reps;
	}
	if (SRC(O_MODE) == SRC_CLI && sw->mode != PB_MODE_RATE && SRC(O_RATE) == SRC_FILE) {
		pb_plan_note("note: --mode %s from the command line: the sweep file's rate %llu dropped",
			     pb_mode_name(sw->mode), (unsigned long long)sw->rate);
		sw->rate = 0;
	}
	if (SRC(O_MODE) == SRC_CLI && sw->mode != PB_MODE_THROUGHPUT && SRC(O_LATENCY) == SRC_FILE &&
	    sw->latency == 0) {
		pb_plan_note("note: --mode %s from the command line: the sweep file's latency off "
			     "dropped (this mode always records it)", pb_mode_name(sw->mode));
		sw->latency = -1;
	}
	if (sw->mode == PB_MODE_RATE && sw->duration_ns && sw->jobs_given) {
		if (SRC(O_DURATION) == SRC_CLI && SRC(O_JOBS) == SRC_FILE) {
			pb_plan_note("note: --duration from the command line: the sweep file's jobs "
				     "dropped (rate mode runs rate x duration jobs)");
			sw->jobs_given = false;
		} else if (SRC(O_JOBS) == SRC_CLI && SRC(O_DURATION) == SRC_FILE) {
			pb_plan_note("note: --jobs from the command line: the sweep file's duration "
				     "dropped (rate mode: one or the other)");
			sw->duration_ns = 0;
		}
	}
}

static int cmd_run(int argc, char **argv, char *cmdline)
{
	unsigned char src[O_END - O_BACKEND] = {0};
	struct pb_sweep sw;
	struct pb_topo *topo;
	struct pb_point *pts;
	size_t npts;
	FILE *csv;
	int c, rc;

	pb_test_hooks_check(); /* before anything is planned or written */
	memset(&sw, 0, sizeof(sw));
	sw.backends.n = 1;
	sw.backends.v[0] = "segmented";
	sw.reclaimers.n = 1;
	sw.reclaimers.v[0] = "limbo";
	sw.workloads.n = 1;
	sw.workloads.v[0] = "empty";
	sw.producers.n = sw.workers.n = 1;
	sw.producers.v[0] = sw.workers.v[0] = 1;
	sw.jobs = 200000;
	sw.reps = 10;
	sw.min_reps = 3;
	sw.max_fail = 2;
	sw.cov_pct = 2.0;
	sw.latency = -1;
	sw.sample_ms = 1;
	sw.warmup = -1;
	sw.watchdog_s = 120;
	sw.pin_workers = sw.pin_producers = "auto"; /* issue 8: compact when the threads fit */
	sw.cmdline = cmdline;
	sw.order = PB_ORDER_INTERLEAVED;
	sw.canary_tol = 10;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", run_longopts, NULL)) != -1) {
		bool file;

		pb_usage_ctx_arg(optind - 1); /* sweep files: say where the value came from */
		file = pb_arg_from_file(optind - 1);
		if (c >= O_BACKEND && c < O_END)
			src[c - O_BACKEND] = file ? SRC_FILE : SRC_CLI;
		switch (c) {
		case O_BACKEND: parse_strlist("backend", optarg, &sw.backends); break;
		case O_RECLAIM:
			parse_strlist("reclaim", optarg, &sw.reclaimers);
			sw.reclaim_given = true;
			break;
		case O_WORKLOAD: parse_strlist("workload", optarg, &sw.workloads); break;
		case O_PRODUCERS: parse_ulist("producers", optarg, &sw.producers, 1, 1024); break;
		case O_WORKERS: parse_ulist("workers", optarg, &sw.workers, 1, 1024); break;
		case O_SEG_SIZE: parse_axis_flag("seg-size", optarg, &sw.bopt, file); break;
		case O_SEG_COUNT: parse_axis_flag("seg-count", optarg, &sw.bopt, file); break;
		case O_CAPACITY: parse_axis_flag("capacity", optarg, &sw.bopt, file); break;
		case O_SEG_SUPPLY: parse_axis_flag("seg-supply", optarg, &sw.bopt, file); break;
		case O_JOBS:
			sw.jobs = parse_num("jobs", optarg, 1, MAX_JOBS);
			sw.jobs_given = true;
			break;
		case O_REPS: sw.reps = (unsigned)parse_num("reps", optarg, 1, 1000); break;
		case O_OUT:
			if (!*optarg)
				pb_usage_error("empty --out directory");
			sw.out = optarg;
			break;
		case O_WARMUP: pb_parse_warmup(optarg, &sw); break;
		case O_WATCHDOG:
			sw.watchdog_s = (unsigned)parse_num("watchdog", optarg, 1, 7 * 86400);
			break;
		case O_WAKE: parse_ulist("wake-min-jobs", optarg, &sw.wake_min_jobs, 1, 1u << 24); break;
		case O_FLUSH: parse_ulist("flush-us", optarg, &sw.flush_us, 1, 10000000); break;
		case O_BATCH: parse_ulist("batch", optarg, &sw.batch, 1, 65536); break;
		case O_SUBMIT_BATCH:
			parse_ulist("submit-batch", optarg, &sw.submit_batch, 1, PB_SUBMIT_BATCH_MAX);
			break;
		case O_BACKLOG:
			parse_ulist("backlog", optarg, &sw.backlog, 0, PB_BACKLOG_MAX);
			break;
		case O_COALESCE:
			parse_ulist("coalesce", optarg, &sw.coalesce, 0, PB_COALESCE_MAX);
			break;
		case O_IDLE_POLL: parse_idle_poll(optarg, &sw.idle_poll); break;
		case O_PIN_W: sw.pin_workers = optarg; break;
		case O_PIN_P: sw.pin_producers = optarg; break;
		case O_APPEND: sw.append = true; break;
		case O_QUIET: sw.quiet = true; break;
		case O_BOPT: parse_setting("backend-opt", optarg, &sw.bopt, file); break;
		case O_ROPT: parse_setting("reclaim-opt", optarg, &sw.ropt, file); break;
		case O_WOPT: parse_setting("workload-opt", optarg, &sw.wopt, file); break;
		case O_HELP: usage(stdout); return PB_EXIT_OK;
		case O_MAX_FAIL:
			sw.max_fail = (unsigned)parse_num("max-fail", optarg, 0, 1000000);
			break;
		case O_MIN_REPS:
			sw.min_reps = (unsigned)parse_num("min-reps", optarg, 1, 1000);
			sw.min_reps_given = true;
			break;
		case O_COV: pb_parse_cov(optarg, &sw.cov_pct); break;
		case O_RESUME: sw.resume = true; break;
		case O_SHARD: pb_parse_shard(optarg, &sw.shard_k, &sw.shard_n); break;
		case O_WL_JOBS: parse_setting("workload-jobs", optarg, &sw.wl_jobs, file); break;
		case O_DRY_RUN: sw.dry_run = true; break;
		case O_MODE: sw.mode = parse_mode(optarg); break;
		case O_DURATION: sw.duration_ns = parse_duration(optarg); break;
		case O_RATE: sw.rate = parse_num("rate", optarg, 1, 1000000000); break;
		case O_LATENCY: sw.latency = parse_onoff("latency", optarg); break;
		case O_SAMPLE_MS: sw.sample_ms = (unsigned)parse_num("sample-ms", optarg, 0, 60000); break;
		case O_ORDER: sw.order = parse_order(optarg); break;
		case O_SEED:
			sw.seed = parse_num("seed", optarg, 0, UINT64_MAX);
			sw.seed_given = true;
			break;
		case O_CANARY_TOL: sw.canary_tol = parse_canary_tol(optarg); break;
		case O_NO_CALIBRATE: sw.no_calibrate = true; break;
		case ':':
			pb_usage_error("option '%s' needs a value", argv[optind - 1]);
		default: {
			const char *near = near_option(argv[optind - 1]);

			pb_usage_error("unknown option '%s' for run%s%s%s (see 'poolbench run --help')",
				       argv[optind - 1], near ? " (did you mean '--" : "",
				       near ? near : "", near ? "'?)" : "");
		}
		}
	}
	pb_usage_ctx = NULL;
	sw.backends_cli = SRC(O_BACKEND) == SRC_CLI && pb_sweepfile.path;
	sw.reclaimers_cli = SRC(O_RECLAIM) == SRC_CLI && pb_sweepfile.path;
	sw.workloads_cli = SRC(O_WORKLOAD) == SRC_CLI && pb_sweepfile.path;
	command_line_wins(&sw, src);
	if (optind < argc)
		pb_usage_error("unexpected argument '%s' for run (see 'poolbench run --help')",
			       argv[optind]);
	if (sw.warmup > (int64_t)MAX_JOBS - (int64_t)sw.jobs)
		pb_usage_error_opt("warmup", "value %lld is out of range for --warmup, allowed: 0 .. %llu with --jobs %llu",
			       (long long)sw.warmup, MAX_JOBS - sw.jobs, (unsigned long long)sw.jobs);
	pb_sweep_check(&sw);
	check_measure(&sw);

	rc = pb_topo_open(&topo);
	if (rc) {
		pb_log("cannot read the topology: %s", strerror(-rc));
		return PB_EXIT_NORES;
	}
	/* Every value is validated here, before anything is written. */
	npts = pb_plan(&sw, topo, &pts);
	if (sw.dry_run) {
		pb_plan_notes();
		pb_print_plan(&sw, pts, npts);
		pb_topo_close(topo);
		return PB_EXIT_OK;
	}

	if (sw.seed_given && sw.order != PB_ORDER_RANDOM)
		pb_usage_error_opt("seed", "--seed %llu needs --order random (the %s order does not "
				   "shuffle)", (unsigned long long)sw.seed, pb_order_name(sw.order));
	pb_resume_check(&sw, pts, npts); /* --append/--resume; another sweep in DIR (issue 12) */
	if (!sw.out)
		sw.out = default_out();
	rc = mkdir_p(sw.out);
	if (rc)
		pb_usage_error("cannot use output directory '%s': %s", sw.out, strerror(-rc));
	csv = pb_csv_open(sw.out, sw.append || sw.resume);
	pb_ts_open(sw.out, sw.append || sw.resume); /* timeseries.csv (H2) */
	pb_plan_notes();
	prepare_noise(&sw, pts, npts); /* issue 8: canary length, the machine's floor */
	rc = pb_meta_write(sw.out, &sw, topo, pts, npts, sw.append || sw.resume);
	if (rc)
		pb_log("warning: cannot write %s/meta.json: %s", sw.out, strerror(-rc));
	pb_topo_close(topo);
	if (!sw.quiet)
		pb_log("%zu point%s x %u..%u reps (stop at CoV < %g%% over the last %u) -> %s/results.csv",
		       npts, npts == 1 ? "" : "s", sw.min_reps, sw.reps, sw.cov_pct, sw.min_reps,
		       sw.out);
	rc = pb_run_sweep(&sw, pts, npts, csv);
	if (fclose(csv)) {
		pb_log("error closing %s/results.csv: %s", sw.out, strerror(errno));
		rc = PB_EXIT_FAIL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	char *cmdline;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return PB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "list") || !strcmp(argv[1], "topo")) {
		if (argc != 2)
			pb_usage_error("'%s' takes no arguments", argv[1]);
		return argv[1][0] == 'l' ? cmd_list() : cmd_topo();
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return PB_EXIT_OK;
	}
	if (!strcmp(argv[1], "calibrate")) {
		rc = pb_calibrate_cmd(argc - 1, argv + 1);
		pb_xfree_all();
		return rc;
	}
	if (!strcmp(argv[1], "compare")) {
		rc = pb_compare_cmd(argc - 1, argv + 1);
		pb_xfree_all();
		return rc;
	}
	if (!strcmp(argv[1], "status")) {
		rc = pb_status_cmd(argc - 1, argv + 1);
		pb_xfree_all();
		return rc;
	}
	if (!strcmp(argv[1], "merge")) {
		rc = pb_merge_cmd(argc - 1, argv + 1, join_cmdline(argc, argv));
		pb_xfree_all();
		return rc;
	}
	if (strcmp(argv[1], "run") && strcmp(argv[1], "sweep")) {
		static const char *const cmds[] = {"list", "topo", "run", "sweep", "merge", "status",
						   "compare", "calibrate", "help"};
		const char *near = pb_closest(argv[1], cmds, PB_ARRAY_SIZE(cmds));

		/* "--jobs 5" without "run" is a run option: say so. */
		if (argv[1][0] == '-' && !near && near_option(argv[1]))
			pb_usage_error("unknown command '%s', allowed: list, topo, run, sweep, merge, status, "
				       "compare, calibrate (did you mean 'run %s'?)", argv[1], argv[1]);
		pb_usage_error("unknown command '%s', allowed: list, topo, run, sweep, merge, status, "
			       "compare, calibrate%s%s%s",
			       argv[1], near ? " (did you mean '" : "", near ? near : "",
			       near ? "'?)" : "");
	}
	cmdline = join_cmdline(argc, argv);
	if (!strcmp(argv[1], "sweep")) {
		int nargc;
		char **nargv;

		pb_sweep_load(argc - 1, argv + 1, run_longopts, &nargc, &nargv);
		rc = cmd_run(nargc, nargv, cmdline);
		pb_xfree_all();
		return rc;
	}
	rc = cmd_run(argc - 1, argv + 1, cmdline);
	pb_xfree_all();
	return rc;
}
