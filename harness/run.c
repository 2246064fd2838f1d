/* SPDX-License-Identifier: MIT */
/*
 * The sweep runner: every (point, rep) runs in its own forked child under a
 * watchdog.  The parent waits on a pipe with poll(); a child past the limit is
 * SIGKILLed and recorded as "stall", one killed by a signal as "crash", and
 * the sweep goes on.  Each row is appended to results.csv and synced at
 * once; a summary table goes to stdout at the end.  The parent is
 * single-threaded, so fork() is safe.
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
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"

const char *pb_rstatus_name(enum pb_rstatus s)
{
	static const char *const names[] = {"ok", "skip", "invalid", "error", "crash", "stall"};

	return (unsigned)s < PB_ARRAY_SIZE(names) ? names[s] : "?";
}

const char *pb_phase_name(int ph)
{
	static const char *const names[] = {"start", "create", "warm-up", "timed", "shutdown",
					    "destroy", "done"};

	return ph >= 0 && (unsigned)ph < PB_ARRAY_SIZE(names) ? names[ph] : "?";
}

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
	pid_t pid;

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
		snprintf(buf + off, len - off, " flush-us=%llu", (unsigned long long)pt->flush_us);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void point_params(const struct pb_point *pt, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int a = 0; a < AX_COUNT; a++)
		if (strcmp(pt->axis[a], "-") && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", off ? " " : "",
						pb_axis_opt[a], pt->axis[a]);
	if (!off)
		snprintf(buf, len, "-");
}

static void print_summary(const struct pb_sweep *sw, const struct pb_point *pts, size_t npts,
			  double *nsj, const enum pb_rstatus *st)
{
	double *v = calloc(sw->reps, sizeof(double));
	char params[160];
	int pw = 6;

	if (!v)
		return;
	for (size_t i = 0; i < npts; i++) {
		point_params(&pts[i], params, sizeof(params));
		if ((int)strlen(params) > pw)
			pw = (int)strlen(params);
	}
	printf("\n%-10s %-9s %-8s %3s %3s %-*s %11s %11s %11s %13s %6s  %s\n", "backend", "reclaim",
	       "workload", "p", "w", pw, "params", "ns/job med", "min", "max", "jobs/s med", "ok",
	       "status");
	for (size_t i = 0; i < npts; i++) {
		const struct pb_point *pt = &pts[i];
		enum pb_rstatus worst = RS_OK;
		unsigned nok = 0;

		point_params(pt, params, sizeof(params));
		for (unsigned r = 0; r < sw->reps; r++) {
			enum pb_rstatus s = st[i * sw->reps + r];

			if (s > worst)
				worst = s;
			if (s == RS_OK)
				v[nok++] = nsj[i * sw->reps + r];
		}
		printf("%-10s %-9s %-8s %3u %3u %-*s ", pt->q->name, pt->rc ? pt->rc->name : "-",
		       pt->wl->name, pt->producers, pt->workers, pw, params);
		if (nok) {
			double med = median(v, nok);

			printf("%11.1f %11.1f %11.1f %13.0f", med, v[0], v[nok - 1], 1e9 / med);
		} else {
			printf("%11s %11s %11s %13s", "-", "-", "-", "-");
		}
		printf(" %2u/%-3u  %s\n", nok, sw->reps, pb_rstatus_name(worst));
	}
	free(v);
	fflush(stdout);
}

int pb_run_sweep(const struct pb_sweep *sw, struct pb_point *pts, size_t npts, FILE *csv)
{
	size_t nruns = npts * sw->reps;
	struct pb_progress *prog;
	double *nsj = calloc(nruns ? nruns : 1, sizeof(double));
	enum pb_rstatus *st = calloc(nruns ? nruns : 1, sizeof(*st));
	unsigned run = 0, nfail = 0, nskip = 0;
	char label[512];

	prog = mmap(NULL, sizeof(*prog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (prog == MAP_FAILED || !nsj || !st) {
		pb_log("out of memory");
		return PB_EXIT_NORES;
	}
	for (size_t i = 0; i < npts; i++) {
		const struct pb_point *pt = &pts[i];

		point_label(sw, pt, label, sizeof(label));
		if (pt->skip[0])
			pb_log("skip %s: %s", label, pt->skip);
		for (unsigned rep = 1; rep <= sw->reps; rep++) {
			struct pb_result res;

			run++;
			if (pt->skip[0]) {
				memset(&res, 0, sizeof(res));
				res.status = RS_SKIP;
				snprintf(res.note, sizeof(res.note), "%s", pt->skip);
			} else {
				run_one(sw, pt, rep, run, prog, &res);
			}
			pb_csv_row(csv, pt, rep, sw, &res);
			st[run - 1] = (enum pb_rstatus)res.status;
			nsj[run - 1] = (double)res.elapsed_ns / (double)pt->jobs;
			if (res.status == RS_SKIP)
				nskip++;
			else if (res.status != RS_OK)
				nfail++;
			if (!sw->quiet) {
				if (res.status == RS_OK || res.status == RS_INVALID)
					fprintf(stderr, "[%u/%zu] %s rep=%u: %.1f ns/job %s\n", run, nruns,
						label, rep, nsj[run - 1], pb_rstatus_name(res.status));
				else
					fprintf(stderr, "[%u/%zu] %s rep=%u: %s%s%s\n", run, nruns, label,
						rep, pb_rstatus_name(res.status), res.note[0] ? ": " : "",
						res.note);
			} else if (res.status != RS_OK && res.status != RS_SKIP) {
				fprintf(stderr, "[%u/%zu] %s rep=%u: %s: %s\n", run, nruns, label, rep,
					pb_rstatus_name(res.status), res.note);
			}
		}
	}
	print_summary(sw, pts, npts, nsj, st);
	munmap(prog, sizeof(*prog));
	free(nsj);
	free(st);
	if (nfail)
		return PB_EXIT_FAIL;
	if (nruns && nskip == nruns)
		return PB_EXIT_NOTSUP;
	return PB_EXIT_OK;
}
