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

/* Run one (point, rep) in a child; fills *res whatever happens. */
static void run_one(const struct pb_sweep *sw, const struct pb_point *pt, unsigned rep,
		    unsigned run, struct pb_progress *prog, struct pb_result *res)
{
	enum pb_fault fault = fault_for(run);
	int fds[2], wst = 0;
	size_t got = 0;
	uint64_t deadline;
	int stalled = 0;
	pid_t pid, parent;

	memset(res, 0, sizeof(*res));
	atomic_store(&prog->phase, PH_START);
	atomic_store(&prog->executed, 0);
	atomic_store(&prog->submitted, 0);
	if (pipe2(fds, O_CLOEXEC)) {
		res->status = RS_ERROR;
		snprintf(res->note, sizeof(res->note), "pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		res->status = RS_ERROR;
		snprintf(res->note, sizeof(res->note), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		struct pb_result r;
		const char *p = (const char *)&r;
		size_t left = sizeof(r);

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
		prc = poll(&pfd, 1, ms);
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
	if (stalled)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
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
}

static void point_label(const struct pb_sweep *sw, const struct pb_point *pt, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "backend=%s reclaim=%s workload=%s p=%u workers=%u",
				      pt->q->name, pt->rc ? pt->rc->name : "-", pt->wl->name,
				      pt->producers, pt->workers);

	for (int a = 0; a < AX_COUNT && off < len; a++)
		if (sw->axis[a].n && strcmp(pt->axis[a], "-"))
			off += (size_t)snprintf(buf + off, len - off, " %s=%s", pb_axis_opt[a], pt->axis[a]);
	if (sw->batch.n && off < len)
		off += (size_t)snprintf(buf + off, len - off, " batch=%u", pt->batch);
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

int pb_run_sweep(const struct pb_sweep *sw, struct pb_point *pts, size_t npts, FILE *csv)
{
	size_t maxruns = npts * sw->reps;
	struct pb_rule rule = {sw->min_reps, sw->cov_pct};
	struct pb_progress *prog;
	struct pb_table existing;
	unsigned run = 0, nokruns = 0, nfail = 0, nskip = 0, nrows = 0, ndone = 0;
	double *okbuf;
	char label[512];
	int have_existing = 0, rc;

	prog = mmap(NULL, sizeof(*prog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (prog == MAP_FAILED) {
		pb_log("out of memory");
		return PB_EXIT_NORES;
	}
	memset(&existing, 0, sizeof(existing));
	if (sw->resume || sw->append) {
		if (resume_table(sw, csv, &existing)) {
			munmap(prog, sizeof(*prog));
			return PB_EXIT_FAIL;
		}
		have_existing = 1;
	}
	for (size_t i = 0; i < npts; i++) {
		struct pb_point *pt = &pts[i];
		struct pstate ps = {.next_rep = 1};
		double est = -1; /* ns per job, for a warm-up by duration */
		unsigned resumed;

		okbuf = pb_xalloc(sw->reps + (have_existing ? existing.nrows : 0) + 1, sizeof(double));
		ps.ok = okbuf;
		if (have_existing)
			load_existing(&existing, pt->id, &ps);
		if (!sw->resume) {
			/* --append: run the point afresh, numbering its reps on so that
			 * (point_id, rep) stays unique in the file. */
			unsigned next = ps.next_rep;

			memset(&ps, 0, sizeof(ps));
			ps.ok = okbuf;
			ps.next_rep = next;
		}
		resumed = ps.nrun;
		point_label(sw, pt, label, sizeof(label));
		if (resumed && !sw->quiet)
			pb_log("resume: %s: %u rep%s in the CSV already", label, resumed,
			       resumed == 1 ? "" : "s");
		if (pt->skip[0]) {
			/* Nothing would differ between repetitions: one row. */
			if (!ps.nrun) {
				struct pb_result res;

				pb_log("skip %s: %s", label, pt->skip);
				memset(&res, 0, sizeof(res));
				res.status = RS_SKIP;
				snprintf(res.note, sizeof(res.note), "%s", pt->skip);
				pb_csv_row(csv, pt, ps.next_rep, sw, &res);
				ps.nrun++;
				ps.nskip++;
				nrows++;
			}
			nskip += ps.nskip;
			nfail += ps.nfail;
			ndone += ps.nrun;
			continue;
		}
		if (ps.nok)
			est = ps.ok[ps.nok - 1];
		while (ps.nrun < sw->reps && !pb_rule_met(ps.ok, ps.nok, &rule, NULL) &&
		       (!sw->max_fail || ps.nhard < sw->max_fail)) {
			struct pb_result res;
			unsigned rep = ps.next_rep++;
			double nsj;

			if (sw->warmup_ns) {
				/* Warm-up by duration: as many jobs as the point ran in that
				 * time last (a short untimed pilot run the first time). */
				if (est <= 0) {
					struct pb_point pilot = *pt;

					pilot.jobs = pt->jobs < 1000 ? pt->jobs : 1000;
					pilot.warmup = 0;
					run_one(sw, &pilot, 0, 0, prog, &res);
					if (res.status == RS_OK && res.elapsed_ns)
						est = (double)res.elapsed_ns /
						      (double)pb_result_jobs(&pilot, &res);
				}
				if (est > 0) {
					double w = ceil((double)sw->warmup_ns / est);

					pt->warmup = w < 1 ? 1 : w > (double)(PB_MAX_JOBS - pt->jobs) ?
						PB_MAX_JOBS - pt->jobs : (uint64_t)w;
				} else {
					pt->warmup = pt->jobs / 10;
				}
			}
			run++;
			run_one(sw, pt, rep, run, prog, &res);
			fake_elapsed(nokruns, pt, &res);
			if (res.status == RS_OK)
				nokruns++;
			pb_csv_row(csv, pt, rep, sw, &res);
			nrows++;
			ps.nrun++;
			nsj = (double)res.elapsed_ns / (double)pb_result_jobs(pt, &res);
			if (res.status == RS_OK) {
				ps.ok[ps.nok++] = nsj;
				est = nsj;
			} else if (res.status == RS_SKIP) {
				ps.nskip++;
			} else {
				ps.nfail++;
				if (res.status == RS_STALL || res.status == RS_CRASH)
					ps.nhard++;
			}
			if (!sw->quiet) {
				if (res.status == RS_OK || res.status == RS_INVALID)
					fprintf(stderr, "[%u/%zu] %s rep=%u: %.1f ns/job %s\n", run,
						maxruns, label, rep, nsj, pb_rstatus_name(res.status));
				else
					fprintf(stderr, "[%u/%zu] %s rep=%u: %s%s%s\n", run, maxruns,
						label, rep, pb_rstatus_name(res.status),
						res.note[0] ? ": " : "", res.note);
			} else if (res.status != RS_OK && res.status != RS_SKIP) {
				fprintf(stderr, "[%u/%zu] %s rep=%u: %s: %s\n", run, maxruns, label, rep,
					pb_rstatus_name(res.status), res.note);
			}
		}
		if (!sw->quiet) {
			double cov;
			bool met = pb_rule_met(ps.ok, ps.nok, &rule, &cov);

			if (isnan(cov))
				pb_log("%s: %u rep%s, %u ok, CoV n/a, stopping rule %s", label, ps.nrun,
				       ps.nrun == 1 ? "" : "s", ps.nok, met ? "met" : "not met");
			else
				pb_log("%s: %u rep%s, %u ok, CoV %.2f%% (target %g%%), stopping rule %s",
				       label, ps.nrun, ps.nrun == 1 ? "" : "s", ps.nok, cov, sw->cov_pct,
				       met ? "met" : "not met");
		}
		nskip += ps.nskip;
		nfail += ps.nfail;
		ndone += ps.nrun;
	}
	munmap(prog, sizeof(*prog));
	if (have_existing)
		pb_table_free(&existing);
	if (fflush(csv))
		pb_log("error writing %s/results.csv: %s", sw->out, strerror(errno));
	if (!sw->quiet && sw->resume)
		pb_log("resume: %u new row%s", nrows, nrows == 1 ? "" : "s");
	rc = pb_summary_write(sw->out, &rule, NULL, NULL, stdout);
	if (rc)
		return PB_EXIT_FAIL;
	if (nfail)
		return PB_EXIT_FAIL;
	if (ndone && nskip == ndone)
		return PB_EXIT_NOTSUP;
	return PB_EXIT_OK;
}
