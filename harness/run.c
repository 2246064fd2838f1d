/* SPDX-License-Identifier: MIT */
/*
 * The sweep runner: every (point, rep) runs in its own forked child under a
 * watchdog; a point repeats until the CoV of its last --min-reps ok
 * repetitions is below --cov, or --reps times (docs/sweeps.md), continuing
 * from the rows already in results.csv with --resume.  The parent waits on a
 * pipe with poll(); a child past the limit is SIGKILLed and recorded as
 * "stall", one killed by a signal as "crash", and the sweep goes on.  Each
 * row is appended to results.csv and synced at once; summary.csv and a table
 * on stdout come at the end.  The parent is single-threaded, so fork() is safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"

/* Seconds a child lives past its watchdog when its parent cannot kill it. */
#define CHILD_GRACE_S 2u

/*
 * Hidden fault injection for the CLI tests: PB_FAULT=KIND[@RUN][,KIND@RUN...]
 * with KIND crash, stall, lose, dup or err (see enum pb_fault) and RUN the
 * 1-based run index shown in the progress line ([RUN/N]); without @RUN every
 * run faults.
 */
static enum pb_fault fault_for(unsigned run)
{
	const char *env = getenv("PB_FAULT");
	char buf[256], *save = NULL;

	if (!env || !*env)
		return FAULT_NONE;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *at = strchr(tok, '@');
		enum pb_fault f;

		if (at)
			*at = 0;
		if (!strcmp(tok, "crash"))
			f = FAULT_CRASH;
		else if (!strcmp(tok, "stall"))
			f = FAULT_STALL;
		else if (!strcmp(tok, "lose"))
			f = FAULT_LOSE;
		else if (!strcmp(tok, "dup"))
			f = FAULT_DUP;
		else if (!strcmp(tok, "err"))
			f = FAULT_ERR;
		else
			continue;
		if (!at || strtoul(at + 1, NULL, 10) == run)
			return f;
	}
	return FAULT_NONE;
}

/* PB_FAULT=slow[@RUN]: the canary after run RUN runs slowed (issue 8). */
static bool slow_for(unsigned run)
{
	const char *env = getenv("PB_FAULT");
	char buf[256], *save = NULL;

	if (!env || !*env)
		return false;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *at = strchr(tok, '@');

		if (at)
			*at = 0;
		if (!strcmp(tok, "slow") && (!at || strtoul(at + 1, NULL, 10) == run))
			return true;
	}
	return false;
}

static const char *sig_name(int sig)
{
	static char buf[32];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

/*
 * SIGINT / SIGTERM (Ctrl-C, scancel, a Slurm time limit, GNU parallel's
 * --timeout): the sweep stops after the row it is writing.  Both signals stay
 * blocked in the parent except inside ppoll(), so they never land in the
 * middle of a row: a row is written whole or not at all.  The run in progress
 * is killed and not recorded (an interrupted repetition is no measurement and
 * no crash); --resume runs it again.
 */
static volatile sig_atomic_t stop_sig;
static sigset_t stop_set, run_mask; /* the two signals; the mask to restore */

static void on_stop(int sig)
{
	if (!stop_sig)
		stop_sig = sig;
}

static void stop_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: ppoll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_set, &run_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Has a stop been asked for?  Takes a signal that is pending (blocked). */
static int stop_requested(void)
{
	struct timespec zero = {0, 0};
	int sig;

	if (!stop_sig && (sig = sigtimedwait(&stop_set, NULL, &zero)) > 0)
		stop_sig = sig;
	return stop_sig;
}

/* The forked child: default dispositions and the caller's mask again. */
static void stop_child_reset(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigprocmask(SIG_SETMASK, &run_mask, NULL);
}

/* Run one (point, rep) in a child; fills *res whatever happens.  Returns 1
 * if a stop was asked for meanwhile: *res is then no result. */
static int run_one(const struct pb_sweep *sw, const struct pb_point *pt, unsigned rep,
		   unsigned run, struct pb_progress *prog, struct pb_result *res)
{
	enum pb_fault fault = fault_for(run);
	int fds[2], wst = 0;
	size_t got = 0;
	uint64_t deadline;
	int stalled = 0, stopped = 0;
	pid_t pid, parent;

	memset(res, 0, sizeof(*res));
	atomic_store(&prog->phase, PH_START);
	atomic_store(&prog->executed, 0);
	atomic_store(&prog->submitted, 0);
	if (pipe2(fds, O_CLOEXEC)) {
		res->status = RS_ERROR;
		snprintf(res->note, sizeof(res->note), "pipe: %s", strerror(errno));
		return 0;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		res->status = RS_ERROR;
		snprintf(res->note, sizeof(res->note), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		struct pb_result r;
		const char *p = (const char *)&r;
		size_t left = sizeof(r);

		stop_child_reset();
		close(fds[0]);
		/*
		 * A child never outlives the sweep, nor runs past its watchdog:
		 *  - PDEATHSIG: the kernel kills it when the parent dies (even by
		 *    SIGKILL, when the parent's own watchdog cannot run).  The
		 *    getppid() check covers a parent that died before the prctl.
		 *  - alarm(): its own deadline, CHILD_GRACE_S after the parent's,
		 *    for a parent that is alive but stopped or starved (SIGALRM's
		 *    default action ends the process; nothing in the child
		 *    handles it).  A live parent kills it first, as a stall.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(PB_EXIT_FAIL);
		alarm(sw->watchdog_s + CHILD_GRACE_S);
		pb_child_run(pt, rep, fault, prog, &r);
		while (left) {
			ssize_t w = write(fds[1], p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(PB_EXIT_FAIL);
			p += w;
			left -= (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	deadline = pb_now_ns() + (uint64_t)sw->watchdog_s * 1000000000ull;
	while (got < sizeof(*res)) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		uint64_t now = pb_now_ns();
		int ms, prc;
		ssize_t rd;

		if (now >= deadline) {
			stalled = 1;
			break;
		}
		ms = (int)((deadline - now + 999999) / 1000000);
		{
			struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

			/* The stop signals are let in here only. */
			prc = ppoll(&pfd, 1, &ts, &run_mask);
		}
		if (stop_requested()) {
			stopped = 1;
			break;
		}
		if (prc < 0 && errno == EINTR)
			continue;
		if (prc == 0)
			continue; /* re-check the deadline */
		rd = read(fds[0], (char *)res + got, sizeof(*res) - got);
		if (rd < 0 && errno == EINTR)
			continue;
		if (rd <= 0)
			break; /* EOF: the child exited or died */
		got += (size_t)rd;
	}
	close(fds[0]);
	if (stalled || stopped)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	/* A Ctrl-C or scancel signals the child too: it may have died of it
	 * before the parent saw its own copy (still pending, blocked). */
	if (stopped || stop_requested()) {
		memset(res, 0, sizeof(*res));
		res->status = RS_ERROR;
		snprintf(res->note, sizeof(res->note), "interrupted by %s", sig_name(stop_sig));
		if (pb_ts_part_path())
			unlink(pb_ts_part_path()); /* its samples are no row's */
		return 1;
	}
	if (stalled) {
		memset(res, 0, sizeof(*res));
		res->status = RS_STALL;
		snprintf(res->note, sizeof(res->note),
			 "watchdog: killed after %u s in phase %s (%llu of %llu jobs executed)",
			 sw->watchdog_s, pb_phase_name(atomic_load(&prog->phase)),
			 (unsigned long long)atomic_load(&prog->executed),
			 (unsigned long long)(pt->jobs + pt->warmup));
	} else if (WIFSIGNALED(wst)) {
		memset(res, 0, sizeof(*res));
		res->status = RS_CRASH;
		snprintf(res->note, sizeof(res->note), "%s in phase %s", sig_name(WTERMSIG(wst)),
			 pb_phase_name(atomic_load(&prog->phase)));
	} else if (got != sizeof(*res) || res->magic != PB_RESULT_MAGIC) {
		/* An abnormal end all the same (e.g. a sanitizer report then exit). */
		memset(res, 0, sizeof(*res));
		res->status = RS_CRASH;
		snprintf(res->note, sizeof(res->note),
			 "child exited with status %d in phase %s without a result",
			 WIFEXITED(wst) ? WEXITSTATUS(wst) : -1, pb_phase_name(atomic_load(&prog->phase)));
	}
	res->note[sizeof(res->note) - 1] = 0;
	return 0;
}

/*
 * The plug-in options of a point that were set (--backend-opt, --seg-size, a
 * sweep file) or differ from the default: " seg-size=64 reclaim.threshold=16".
 * The four backend options with their own flag keep their bare name.
 */
static size_t opts_label(const struct pb_optvals *ov, const struct pb_settings *st,
			 const char *prefix, char *buf, size_t len, size_t off)
{
	char v[64];

	for (size_t i = 0; i < ov->n && off < len; i++) {
		int given = ov->v[i] != ov->defs[i].def, bare = 0;

		for (unsigned k = 0; k < st->n; k++)
			if (!strcmp(st->name[k], ov->defs[i].name))
				given = 1;
		for (int a = 0; a < AX_COUNT; a++)
			if (!strcmp(pb_axis_opt[a], ov->defs[i].name) && !strcmp(prefix, "backend."))
				bare = 1;
		if (given)
			off += (size_t)snprintf(buf + off, len - off, " %s%s=%s", bare ? "" : prefix,
						ov->defs[i].name, pb_opt_format(ov, i, v, sizeof(v)));
	}
	return off;
}

static void point_label(const struct pb_sweep *sw, const struct pb_point *pt, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "backend=%s reclaim=%s workload=%s p=%u workers=%u",
				      pt->q->name, pt->rc ? pt->rc->name : "-", pt->wl->name,
				      pt->producers, pt->workers);

	off = opts_label(&pt->qopts, &sw->bopt, "backend.", buf, len, off);
	if (pt->rc)
		off = opts_label(&pt->rcopts, &sw->ropt, "reclaim.", buf, len, off);
	off = opts_label(&pt->wlopts, &sw->wopt, "workload.", buf, len, off);
	if (sw->batch.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " batch=%u", pt->batch);
	if (sw->submit_batch.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " submit-batch=%u", pt->submit_batch);
	if (sw->backlog.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " backlog=%llu",
					(unsigned long long)pt->backlog);
	if (sw->coalesce.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " coalesce=%u", pt->coalesce);
	if (sw->idle_poll.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " idle-poll=%s",
					pb_idle_poll_name(pt->idle_poll));
	if (sw->wake_min_jobs.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " wake-min-jobs=%u", pt->wake_min_jobs);
	if (sw->flush_us.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " flush-us=%llu",
					(unsigned long long)pt->flush_us);
	if (strcmp(pt->pin_workers, "none") && off < len)
		off += (size_t)snprintf(buf + off, len - off, " pin-workers=%s", pt->pin_workers);
	if (strcmp(pt->pin_producers, "none") && off < len)
		snprintf(buf + off, len - off, " pin-producers=%s", pt->pin_producers);
}

void pb_print_plan(const struct pb_sweep *sw, const struct pb_point *pts, size_t npts)
{
	char label[512];

	for (size_t i = 0; i < npts; i++) {
		point_label(sw, &pts[i], label, sizeof(label));
		printf("%s %s jobs=%llu%s%s\n", pts[i].id, label, (unsigned long long)pts[i].jobs,
		       pts[i].skip[0] ? " skip: " : "", pts[i].skip);
	}
	printf("%zu point%s, at most %zu runs\n", npts, npts == 1 ? "" : "s", npts * sw->reps);
	fflush(stdout);
}

static void fake_elapsed(unsigned nok_runs, const struct pb_point *pt, struct pb_result *res)
{
	const char *env = getenv("PB_FAKE_NS_PER_JOB");
	double v = -1;

	if (!env || !*env || res->status != RS_OK)
		return;
	for (unsigned i = 0; *env; i++) {
		char *end;
		double x = strtod(env, &end);

		if (end == env)
			break;
		v = x;
		if (i == nok_runs || *end != ',')
			break;
		env = end + 1;
	}
	if (v > 0) {
		res->elapsed_ns = (uint64_t)(v * (double)pb_result_jobs(pt, res) + 0.5);
		snprintf(res->note, sizeof(res->note), "timing faked by PB_FAKE_NS_PER_JOB (test hook)");
	}
}

/* What is known about one point: its rows so far, in rep order. */
struct pstate {
	unsigned nrun, next_rep;
	unsigned nok;
	double *ok; /* ns_per_job of the ok rows, rep order */
	unsigned nfail, nskip;
	unsigned nhard;      /* stall + crash among nfail */
	unsigned nnoisy;     /* status noisy (issue 8): neither ok nor failed */
	double est;          /* ns per job, for a warm-up by duration (-1: none yet) */
};

/* Rows of this point already in results.csv (--resume). */
static void load_existing(const struct pb_table *t, const char *id, struct pstate *ps)
{
	int c_id = pb_table_col(t, "point_id"), c_rep = pb_table_col(t, "rep");
	int c_st = pb_table_col(t, "status"), c_ns = pb_table_col(t, "ns_per_job");
	size_t m = 0, *idx;

	if (c_id < 0 || c_rep < 0 || c_st < 0 || c_ns < 0)
		return;
	idx = pb_xalloc(t->nrows + 1, sizeof(size_t));
	for (size_t r = 0; r < t->nrows; r++)
		if (!strcmp(t->rows[r][c_id], id))
			idx[m++] = r;
	/* Insertion sort by rep (few rows per point). */
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && strtoul(t->rows[idx[j - 1]][c_rep], NULL, 10) >
						strtoul(t->rows[idx[j]][c_rep], NULL, 10); j--) {
			size_t x = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = x;
		}
	for (size_t i = 0; i < m; i++) {
		char **row = t->rows[idx[i]];
		unsigned rep = (unsigned)strtoul(row[c_rep], NULL, 10);

		ps->nrun++;
		if (rep >= ps->next_rep)
			ps->next_rep = rep + 1;
		if (!strcmp(row[c_st], "ok")) {
			char *end;
			double v = strtod(row[c_ns], &end);

			if (end != row[c_ns] && !*end)
				ps->ok[ps->nok++] = v;
		} else if (!strcmp(row[c_st], "skip")) {
			ps->nskip++;
		} else if (!strcmp(row[c_st], "noisy")) {
			ps->nnoisy++;
		} else {
			ps->nfail++;
			if (!strcmp(row[c_st], "stall") || !strcmp(row[c_st], "crash"))
				ps->nhard++;
		}
	}
}

/* Read results.csv for --resume / --append: the table of its rows; a row cut short at
 * the end (a killed sweep) is cut off so that new rows start on a new line. */
static int resume_table(const struct pb_sweep *sw, FILE *csv, struct pb_table *t)
{
	char path[4096], err[512];
	int rc;

	snprintf(path, sizeof(path), "%s/results.csv", sw->out);
	fflush(csv);
	rc = pb_table_read(path, t, err, sizeof(err));
	if (rc) {
		pb_log("%s: %s", sw->resume ? "--resume" : "--append", err);
		return rc;
	}
	if (t->partial) {
		pb_log("%s: %s ends with a row cut short: removed", sw->resume ? "--resume" : "--append",
		       path);
		if (ftruncate(fileno(csv), (off_t)t->good_len)) {
			pb_log("cannot truncate %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* ---- the order of the runs (issue 8) -------------------------------------------
 *
 * sequential: every repetition of a point before the next point (the old
 * order).  interleaved (the default): rounds; round r runs repetition r of
 * every point still active, in plan order, so that a slow spell of the host
 * is spread over the points instead of landing on one.  random: the same
 * rounds, each shuffled (Fisher-Yates on splitmix64 seeded with --seed).
 * A point stays active while its stopping rule allows another repetition.
 */

/* The whole sweep's state: shared by the per-repetition steps. */
struct sweep_state {
	const struct pb_sweep *sw;
	struct pb_rule rule;
	struct pb_progress *prog;
	FILE *csv;
	size_t maxruns;
	unsigned run, nokruns, nrows;
	uint64_t run_seq; /* the last run_seq written (results.csv continues it) */
	/* Every canary of this sweep (ns), for its median. */
	double *canary;
	size_t ncanary, canary_cap;
	double *sortbuf;
};

static bool point_active(const struct sweep_state *st, const struct pb_point *pt,
			 const struct pstate *ps)
{
	const struct pb_sweep *sw = st->sw;

	if (pt->skip[0])
		return false;
	return ps->nrun < sw->reps && !pb_rule_met(ps->ok, ps->nok, &st->rule, NULL) &&
	       (!sw->max_fail || ps->nhard < sw->max_fail);
}

static void canary_add(struct sweep_state *st, double ns)
{
	if (st->ncanary == st->canary_cap) {
		size_t cap = st->canary_cap ? st->canary_cap * 2 : 256;
		double *n = pb_xalloc(cap, sizeof(double)), *b = pb_xalloc(cap, sizeof(double));

		if (st->ncanary)
			memcpy(n, st->canary, st->ncanary * sizeof(double));
		st->canary = n;
		st->sortbuf = b;
		st->canary_cap = cap;
	}
	st->canary[st->ncanary++] = ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of the sweep's canaries so far (NAN: none). */
static double canary_median(struct sweep_state *st)
{
	size_t n = st->ncanary;

	if (!n)
		return NAN;
	memcpy(st->sortbuf, st->canary, n * sizeof(double));
	qsort(st->sortbuf, n, sizeof(double), cmp_double);
	return n % 2 ? st->sortbuf[n / 2] : (st->sortbuf[n / 2 - 1] + st->sortbuf[n / 2]) / 2;
}

/* Time the canary; @slow (the PB_FAULT kind "slow") runs 8 times its loop,
 * a real slowdown of the measured loop as if the machine ran at 1/8 speed. */
static uint64_t canary_time(const struct pb_sweep *sw, bool slow)
{
	uint64_t ns;

	if (!sw->canary_iters)
		return 0;
	ns = pb_canary_run(sw->canary_iters * (slow ? 8 : 1));
	if (pb_canary_fake_ns())
		ns = pb_canary_fake_ns() * (slow ? 8 : 1);
	return ns;
}

/* One repetition of point @pt: run it between two canaries, write its row.
 * Returns false if a stop (SIGINT/SIGTERM) came meanwhile: then no row. */
static bool run_rep(struct sweep_state *st, struct pb_point *pt, struct pstate *ps,
		    const char *label)
{
	const struct pb_sweep *sw = st->sw;
	struct pb_result res;
	unsigned rep = ps->next_rep++;
	uint64_t cb, ca;
	bool slow;
	double nsj, med;

	if (sw->warmup_ns) {
		/* Warm-up by duration: as many jobs as the point ran in that
		 * time last (a short untimed pilot run the first time). */
		if (ps->est <= 0) {
			struct pb_point pilot = *pt;

			pilot.jobs = pt->jobs < 1000 ? pt->jobs : 1000;
			pilot.warmup = 0;
			if (run_one(sw, &pilot, 0, 0, st->prog, &res))
				return false;
			if (res.status == RS_OK && res.elapsed_ns)
				ps->est = (double)res.elapsed_ns / (double)pb_result_jobs(&pilot, &res);
		}
		if (ps->est > 0) {
			double w = ceil((double)sw->warmup_ns / ps->est);

			pt->warmup = w < 1 ? 1 : w > (double)(PB_MAX_JOBS - pt->jobs) ?
				PB_MAX_JOBS - pt->jobs : (uint64_t)w;
		} else {
			pt->warmup = pt->jobs / 10;
		}
	}
	st->run++;
	slow = slow_for(st->run);
	cb = canary_time(sw, false);
	if (run_one(sw, pt, rep, st->run, st->prog, &res)) {
		ps->next_rep--; /* interrupted: no row for this rep; --resume runs it */
		return false;
	}
	ca = canary_time(sw, slow);
	fake_elapsed(st->nokruns, pt, &res);
	res.run_seq = ++st->run_seq;
	res.canary_before_ns = cb;
	res.canary_after_ns = ca;
	/* A repetition whose canary ran more than --canary-tol slower than the
	 * sweep's median canary ran on a slowed machine: kept, not counted. */
	med = canary_median(st);
	if (res.status == RS_OK && sw->canary_tol > 0 && !isnan(med) &&
	    (double)(cb > ca ? cb : ca) > med * (1 + sw->canary_tol / 100)) {
		size_t off = strlen(res.note);

		res.status = RS_NOISY;
		snprintf(res.note + off, sizeof(res.note) - off,
			 "%scanary %.0f%% slower than the sweep's median (%.0f ns; --canary-tol %g)",
			 off ? "; " : "", 100.0 * ((double)(cb > ca ? cb : ca) / med - 1), med,
			 sw->canary_tol);
	}
	if (cb)
		canary_add(st, (double)cb);
	if (ca)
		canary_add(st, (double)ca);
	if (res.status == RS_OK)
		st->nokruns++;
	pb_csv_row(st->csv, pt, rep, sw, &res);
	pb_ts_collect(pt, rep, &res); /* this run's timeseries.csv lines (H2) */
	st->nrows++;
	ps->nrun++;
	nsj = (double)res.elapsed_ns / (double)pb_result_jobs(pt, &res);
	if (res.status == RS_OK) {
		ps->ok[ps->nok++] = nsj;
		ps->est = nsj;
	} else if (res.status == RS_NOISY) {
		ps->nnoisy++;
	} else if (res.status == RS_SKIP) {
		ps->nskip++;
	} else {
		ps->nfail++;
		if (res.status == RS_STALL || res.status == RS_CRASH)
			ps->nhard++;
	}
	if (!sw->quiet) {
		if (res.status == RS_OK || res.status == RS_INVALID || res.status == RS_NOISY)
			fprintf(stderr, "[%u/%zu] %s rep=%u: %.1f ns/job %s\n", st->run, st->maxruns,
				label, rep, nsj, pb_rstatus_name(res.status));
		else
			fprintf(stderr, "[%u/%zu] %s rep=%u: %s%s%s\n", st->run, st->maxruns, label,
				rep, pb_rstatus_name(res.status), res.note[0] ? ": " : "", res.note);
	} else if (res.status != RS_OK && res.status != RS_SKIP && res.status != RS_NOISY) {
		fprintf(stderr, "[%u/%zu] %s rep=%u: %s: %s\n", st->run, st->maxruns, label, rep,
			pb_rstatus_name(res.status), res.note);
	}
	return true;
}

static void point_done_log(const struct sweep_state *st, const struct pstate *ps,
			   const char *label)
{
	double cov;
	bool met = pb_rule_met(ps->ok, ps->nok, &st->rule, &cov);
	char noisy[64] = "";

	if (st->sw->quiet || stop_sig)
		return;
	if (ps->nnoisy)
		snprintf(noisy, sizeof(noisy), ", %u noisy", ps->nnoisy);
	if (isnan(cov))
		pb_log("%s: %u rep%s, %u ok%s, CoV n/a, stopping rule %s", label, ps->nrun,
		       ps->nrun == 1 ? "" : "s", ps->nok, noisy, met ? "met" : "not met");
	else
		pb_log("%s: %u rep%s, %u ok%s, CoV %.2f%% (target %g%%), stopping rule %s", label,
		       ps->nrun, ps->nrun == 1 ? "" : "s", ps->nok, noisy, cov, st->sw->cov_pct,
		       met ? "met" : "not met");
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Largest run_seq in the rows already there (--resume, --append). */
static uint64_t existing_run_seq(const struct pb_table *t)
{
	int c = pb_table_col(t, "run_seq");
	uint64_t m = 0;

	for (size_t r = 0; c >= 0 && r < t->nrows; r++) {
		uint64_t v = strtoull(t->rows[r][c], NULL, 10);

		if (v > m)
			m = v;
	}
	return m;
}

int pb_run_sweep(const struct pb_sweep *sw, struct pb_point *pts, size_t npts, FILE *csv)
{
	struct sweep_state st = {.sw = sw, .rule = {sw->min_reps, sw->cov_pct}, .csv = csv,
				 .maxruns = npts * sw->reps};
	struct pb_table existing;
	struct pstate *pss;
	char **labels;
	size_t *order;
	unsigned nfail = 0, nskip = 0, ndone = 0;
	uint64_t rng = sw->seed;
	int have_existing = 0, rc;

	st.prog = mmap(NULL, sizeof(*st.prog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (st.prog == MAP_FAILED) {
		pb_log("out of memory");
		return PB_EXIT_NORES;
	}
	memset(&existing, 0, sizeof(existing));
	if (sw->resume || sw->append) {
		if (resume_table(sw, csv, &existing)) {
			munmap(st.prog, sizeof(*st.prog));
			return PB_EXIT_FAIL;
		}
		have_existing = 1;
		st.run_seq = existing_run_seq(&existing);
	}
	for (unsigned i = 0; i < sw->canary_base_n; i++)
		canary_add(&st, sw->canary_base_ns[i]);
	pss = pb_xalloc(npts + 1, sizeof(*pss));
	labels = pb_xalloc(npts + 1, sizeof(char *));
	order = pb_xalloc(npts + 1, sizeof(size_t));
	stop_install();
	/* Every point's state first: resumed rows, skip rows. */
	for (size_t i = 0; i < npts && !stop_requested(); i++) {
		struct pb_point *pt = &pts[i];
		struct pstate *ps = &pss[i];
		double *okbuf;
		unsigned resumed;
		char label[512];

		okbuf = pb_xalloc(sw->reps + (have_existing ? existing.nrows : 0) + 1, sizeof(double));
		ps->next_rep = 1;
		ps->ok = okbuf;
		ps->est = -1;
		if (have_existing)
			load_existing(&existing, pt->id, ps);
		if (!sw->resume) {
			/* --append: run the point afresh, numbering its reps on so that
			 * (point_id, rep) stays unique in the file. */
			unsigned next = ps->next_rep;

			memset(ps, 0, sizeof(*ps));
			ps->ok = okbuf;
			ps->next_rep = next;
			ps->est = -1;
		}
		resumed = ps->nrun;
		point_label(sw, pt, label, sizeof(label));
		labels[i] = pb_xstrdup(label);
		if (resumed && !sw->quiet)
			pb_log("resume: %s: %u rep%s in the CSV already", label, resumed,
			       resumed == 1 ? "" : "s");
		if (pt->skip[0]) {
			/* Nothing would differ between repetitions: one row. */
			if (!ps->nrun) {
				struct pb_result res;

				pb_log("skip %s: %s", label, pt->skip);
				memset(&res, 0, sizeof(res));
				res.status = RS_SKIP;
				res.run_seq = ++st.run_seq;
				snprintf(res.note, sizeof(res.note), "%s", pt->skip);
				pb_csv_row(csv, pt, ps->next_rep, sw, &res);
				pb_ts_collect(pt, ps->next_rep, &res);
				ps->nrun++;
				ps->nskip++;
				st.nrows++;
			}
			continue;
		}
		if (ps->nok)
			ps->est = ps->ok[ps->nok - 1];
		if (resumed && !point_active(&st, pt, ps))
			point_done_log(&st, ps, label);
	}
	if (sw->order == PB_ORDER_SEQUENTIAL) {
		for (size_t i = 0; i < npts && !stop_requested(); i++) {
			if (!point_active(&st, &pts[i], &pss[i]))
				continue;
			while (point_active(&st, &pts[i], &pss[i]) && !stop_requested())
				if (!run_rep(&st, &pts[i], &pss[i], labels[i]))
					break;
			point_done_log(&st, &pss[i], labels[i]);
		}
	} else {
		while (!stop_requested()) {
			size_t n = 0;

			for (size_t i = 0; i < npts; i++)
				if (point_active(&st, &pts[i], &pss[i]))
					order[n++] = i;
			if (!n)
				break;
			if (sw->order == PB_ORDER_RANDOM)
				for (size_t i = n - 1; i > 0; i--) {
					size_t j = (size_t)(splitmix64(&rng) % (i + 1)), x = order[i];

					order[i] = order[j];
					order[j] = x;
				}
			for (size_t k = 0; k < n && !stop_requested(); k++) {
				size_t i = order[k];

				if (!run_rep(&st, &pts[i], &pss[i], labels[i]))
					break;
				if (!point_active(&st, &pts[i], &pss[i]))
					point_done_log(&st, &pss[i], labels[i]);
			}
		}
	}
	for (size_t i = 0; i < npts; i++) {
		nskip += pss[i].nskip;
		nfail += pss[i].nfail;
		ndone += pss[i].nrun;
	}
	munmap(st.prog, sizeof(*st.prog));
	if (have_existing)
		pb_table_free(&existing);
	if (fflush(csv))
		pb_log("error writing %s/results.csv: %s", sw->out, strerror(errno));
	if (!sw->quiet && sw->resume)
		pb_log("resume: %u new row%s", st.nrows, st.nrows == 1 ? "" : "s");
	rc = pb_summary_write(sw->out, &st.rule, NULL, NULL, stop_sig ? NULL : stdout);
	if (stop_requested()) {
		/* summary.csv covers the rows so far; say how to go on. */
		pb_log("interrupted by %s: %u new row%s in %s/results.csv, summary.csv %s; "
		       "continue with:", sig_name(stop_sig), st.nrows, st.nrows == 1 ? "" : "s",
		       sw->out, rc ? "NOT written" : "written for the rows so far");
		fprintf(stderr, "  %s\n", pb_resume_command(sw->cmdline, sw->out));
		return PB_EXIT_SIGNAL(stop_sig);
	}
	if (rc)
		return PB_EXIT_FAIL;
	if (nfail)
		return PB_EXIT_FAIL;
	if (ndone && nskip == ndone)
		return PB_EXIT_NOTSUP;
	return PB_EXIT_OK;
}
