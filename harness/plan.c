/* SPDX-License-Identifier: MIT */
/*
 * Sweep planning: resolve plug-in names through the registries, validate
 * every value through the plug-ins' option tables (pb_opts_set) and the pin
 * policies through topo, and expand the axes into points.  Backend-option
 * axes (seg-size, seg-count, capacity, seg-supply) only apply to backends
 * that declare the option; elsewhere they collapse to one "-" point.  Runs in
 * the parent before anything is written; any bad value exits with
 * PB_EXIT_USAGE and one line on stderr (naming the sweep-file key a value
 * came from).  Also: jobs per workload, pin-policy lists as an axis, each
 * point's point_id, and the --shard K/N selection.  Single-threaded.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pb.h"

#define MAX_POINTS 100000

#define xcalloc pb_xalloc

/* Notes are held back until the whole sweep validated, so that a usage
 * error stays the only line on stderr. */
#define MAX_NOTES 32
static char *notes[MAX_NOTES];
static unsigned nnotes;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (nnotes < MAX_NOTES)
		notes[nnotes++] = pb_xstrdup(buf);
}

/* Apply name=value settings to @ov where its table declares the name. */
static void apply_settings(struct pb_optvals *ov, const struct pb_settings *st, const char *flag,
			   const char *plugin)
{
	char err[512];

	for (unsigned i = 0; i < st->n; i++) {
		if (pb_opt_index(ov->defs, st->name[i]) < 0)
			continue;
		if (pb_opts_set(ov, st->name[i], st->value[i], err, sizeof(err)))
			pb_usage_error_opt(flag, "--%s %s=%s for %s: %s", flag, st->name[i],
					   st->value[i], plugin, err);
	}
}

/*
 * Every setting must be declared by at least one selected plug-in of its
 * kind; otherwise report it with the known names and a suggestion.
 */
static void check_settings_declared(const struct pb_settings *st, const char *flag,
				    const struct pb_option *const *tables, size_t ntables,
				    const char *kind)
{
	for (unsigned i = 0; i < st->n; i++) {
		const char *names[256] = {NULL};
		size_t n = 0, off = 0;
		char list[1024] = "";
		const char *near;
		int found = 0;

		for (size_t t = 0; t < ntables; t++) {
			for (size_t k = 0; tables[t] && tables[t][k].name; k++) {
				int dup = 0;

				if (!strcmp(tables[t][k].name, st->name[i]))
					found = 1;
				for (size_t j = 0; j < n; j++)
					if (!strcmp(names[j], tables[t][k].name))
						dup = 1;
				if (!dup && n < PB_ARRAY_SIZE(names)) {
					names[n++] = tables[t][k].name;
					if (off < sizeof(list))
						off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
									n > 1 ? ", " : "", tables[t][k].name);
				}
			}
		}
		if (found)
			continue;
		near = pb_closest(st->name[i], names, n);
		pb_usage_ctx_opt(flag);
		pb_usage_error("--%s: unknown option '%s' for the selected %s, allowed: %s%s%s%s", flag,
			       st->name[i], kind, n ? list : "(none)", near ? " (did you mean '" : "",
			       near ? near : "", near ? "'?)" : "");
	}
}

struct bplan {
	const struct pb_queue_ops *q;
	unsigned nrc;
	const struct pb_reclaim_ops *rc[PB_LIST_MAX]; /* or one NULL */
	unsigned nax[AX_COUNT];
	char ax[AX_COUNT][PB_LIST_MAX][32];
	struct pb_optvals base; /* defaults + --backend-opt */
};

static void plan_backend(struct bplan *bp, const struct pb_sweep *sw,
			 const struct pb_reclaim_ops *const *rcs)
{
	const struct pb_queue_ops *q = bp->q;
	char err[512];

	pb_opts_defaults(&bp->base, q->options);
	apply_settings(&bp->base, &sw->bopt, "backend-opt", q->name);

	bp->nrc = 0;
	if (q->flags & PB_Q_RECLAIM) {
		for (unsigned i = 0; i < sw->reclaimers.n; i++) {
			if (pb_queue_accepts_reclaim(q, rcs[i]->name))
				bp->rc[bp->nrc++] = rcs[i];
			else
				note("note: backend %s does not take reclaimer %s: combination left out",
				       q->name, rcs[i]->name);
		}
		if (!bp->nrc)
			pb_usage_error_opt("reclaim", "backend %s takes none of the reclaimers given (%s%s), see "
				       "'poolbench list'", q->name, rcs[0]->name,
				       sw->reclaimers.n > 1 ? ", ..." : "");
	} else {
		bp->rc[0] = NULL;
		bp->nrc = 1;
	}

	for (int a = 0; a < AX_COUNT; a++) {
		int idx = pb_opt_index(q->options, pb_axis_opt[a]);

		bp->nax[a] = 0;
		if (idx < 0) {
			strcpy(bp->ax[a][bp->nax[a]++], "-");
			continue;
		}
		if (!sw->axis[a].n) {
			pb_opt_format(&bp->base, (size_t)idx, bp->ax[a][bp->nax[a]++], 32);
			continue;
		}
		for (unsigned i = 0; i < sw->axis[a].n; i++) {
			struct pb_optvals ov = bp->base;
			char norm[32];
			int dup = 0;

			if (pb_opts_set(&ov, pb_axis_opt[a], sw->axis[a].v[i], err, sizeof(err)))
				pb_usage_error_opt(pb_axis_opt[a], "--%s for backend %s: %s", pb_axis_opt[a],
						   q->name, err);
			pb_opt_format(&ov, (size_t)idx, norm, sizeof(norm));
			for (unsigned k = 0; k < bp->nax[a]; k++)
				if (!strcmp(bp->ax[a][k], norm))
					dup = 1;
			if (!dup)
				strcpy(bp->ax[a][bp->nax[a]++], norm);
		}
	}
}

/* The first supported() reason among the point's plug-ins, or "". */
static void skip_reason(struct pb_point *pt)
{
	const char *why;

	pt->skip[0] = 0;
	if (pt->q->supported && (why = pt->q->supported()))
		snprintf(pt->skip, sizeof(pt->skip), "backend %s: %s", pt->q->name, why);
	else if (pt->rc && pt->rc->supported && (why = pt->rc->supported()))
		snprintf(pt->skip, sizeof(pt->skip), "reclaimer %s: %s", pt->rc->name, why);
	else if (pt->wl->supported && (why = pt->wl->supported()))
		snprintf(pt->skip, sizeof(pt->skip), "workload %s: %s", pt->wl->name, why);
}

/* "none compact scatter" -> three policies, each checked by topo. */
static void split_policies(const struct pb_topo *topo, const char *flag, const char *arg,
			   struct pb_strlist *l)
{
	char *copy = pb_xstrdup(arg), *save = NULL, err[1024];

	l->n = 0;
	for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (strcmp(tok, "auto") && pb_pin_parse(topo, tok, err, sizeof(err)))
			pb_usage_error_opt(flag, "--%s: %s", flag, err);
		for (unsigned i = 0; i < l->n; i++)
			if (!strcmp(l->v[i], tok))
				pb_usage_error_opt(flag, "bad list '%s' for --%s: '%s' given twice", arg,
						   flag, tok);
		if (l->n == PB_LIST_MAX)
			pb_usage_error_opt(flag, "bad list '%s' for --%s: more than %d policies", arg,
					   flag, PB_LIST_MAX);
		l->v[l->n++] = tok;
	}
	if (!l->n)
		pb_usage_error_opt(flag, "empty policy for --%s, allowed: auto, none, compact, scatter, "
				   "node:N or a CPU list; several separated by spaces", flag);
}

/* Issue 8: "auto" is compact placement, workers first, when the point's
 * threads fit the PUs this process may run on, and none otherwise; the
 * point (and its CSV row) records the policy it resolved to. */
static const char *resolve_auto(const struct pb_topo *topo, const char *policy, unsigned nthreads)
{
	cpu_set_t set;
	unsigned npus = pb_topo_npus(topo);

	if (strcmp(policy, "auto"))
		return policy;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (unsigned)CPU_COUNT(&set) < npus)
		npus = (unsigned)CPU_COUNT(&set);
	return nthreads <= npus ? "compact" : "none";
}

/* --workload-jobs NAME=N: each name a registered workload, each N a job count. */
static void check_workload_jobs(const struct pb_sweep *sw)
{
	char err[1024];

	for (unsigned i = 0; i < sw->wl_jobs.n; i++) {
		uint64_t v;
		char *end;

		if (!pb_workload_find(sw->wl_jobs.name[i])) {
			pb_unknown_name_msg("workload", sw->wl_jobs.name[i], err, sizeof(err));
			pb_usage_error_opt("workload-jobs", "--workload-jobs %s=%s: %s",
					   sw->wl_jobs.name[i], sw->wl_jobs.value[i], err);
		}
		errno = 0;
		v = strtoull(sw->wl_jobs.value[i], &end, 10);
		if (errno || *end || sw->wl_jobs.value[i][0] < '0' || sw->wl_jobs.value[i][0] > '9' ||
		    v < 1 || v > PB_MAX_JOBS)
			pb_usage_error_opt("workload-jobs", "value '%s' is out of range for "
					   "--workload-jobs %s, allowed: 1 .. %llu", sw->wl_jobs.value[i],
					   sw->wl_jobs.name[i], PB_MAX_JOBS);
	}
}

/* Timed jobs for a workload: the last --workload-jobs for it, else --jobs. */
static uint64_t workload_jobs(const struct pb_sweep *sw, const char *wl)
{
	for (unsigned i = sw->wl_jobs.n; i-- > 0;)
		if (!strcmp(sw->wl_jobs.name[i], wl))
			return strtoull(sw->wl_jobs.value[i], NULL, 10);
	return sw->jobs;
}

/*
 * The point key: every field that defines the configuration, in a fixed
 * text form; point_id is its 64-bit FNV-1a hash in hex.  --resume, merge
 * and summary.csv identify a point by it, so rows of the same configuration
 * from different runs or machines match.  The warm-up is part of it (as a
 * duration when given as one: the job count then varies per repetition).
 */
static void point_id(struct pb_point *pt, const struct pb_sweep *sw)
{
	char key[4096], opts[3][1024];
	uint64_t h = 0xcbf29ce484222325ull;
	char warm[64];

	pb_opts_string(&pt->qopts, opts[0], sizeof(opts[0]));
	if (pt->rc)
		pb_opts_string(&pt->rcopts, opts[1], sizeof(opts[1]));
	else
		strcpy(opts[1], "-");
	pb_opts_string(&pt->wlopts, opts[2], sizeof(opts[2]));
	if (sw->warmup_ns)
		snprintf(warm, sizeof(warm), "%lluns", (unsigned long long)sw->warmup_ns);
	else
		snprintf(warm, sizeof(warm), "%llu", (unsigned long long)pt->warmup);
	snprintf(key, sizeof(key),
		 "backend=%s|reclaim=%s|workload=%s|bopts=%s|ropts=%s|wopts=%s|producers=%u|"
		 "workers=%u|batch=%u|wake=%u|flush_us=%llu|jobs=%llu|warmup=%s|pin_w=%s|pin_p=%s|"
		 "mode=%d|rate=%llu|duration_ns=%llu|latency=%d|sample_ms=%u",
		 pt->q->name, pt->rc ? pt->rc->name : "-", pt->wl->name, opts[0], opts[1], opts[2],
		 pt->producers, pt->workers, pt->batch, pt->wake_min_jobs,
		 (unsigned long long)pt->flush_us, (unsigned long long)pt->jobs, warm,
		 pt->pin_workers, pt->pin_producers, pt->mode, (unsigned long long)pt->rate,
		 (unsigned long long)pt->duration_ns, (int)pt->latency, pt->sample_ms);
	/* Only when not the default, so that every earlier point keeps its id. */
	if (pt->submit_batch != 1)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "|submit_batch=%u",
			 pt->submit_batch);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	snprintf(pt->id, sizeof(pt->id), "%016llx", (unsigned long long)h);
}

void pb_plan_notes(void)
{
	for (unsigned i = 0; i < nnotes; i++)
		pb_log("%s", notes[i]);
	nnotes = 0;
}

size_t pb_plan(const struct pb_sweep *sw, const struct pb_topo *topo, struct pb_point **out)
{
	const struct pb_queue_ops *qs[PB_LIST_MAX];
	const struct pb_reclaim_ops *rcs[PB_LIST_MAX];
	const struct pb_workload_ops *wls[PB_LIST_MAX];
	const struct pb_option *tables[PB_LIST_MAX];
	struct bplan *bps;
	struct pb_optvals rcbase[PB_LIST_MAX], wlbase[PB_LIST_MAX];
	struct pb_ulist batch = sw->batch, wake = sw->wake_min_jobs, flush = sw->flush_us;
	struct pb_ulist sbatch = sw->submit_batch;
	struct pb_strlist pinw, pinp;
	char err[1024];
	const char *bad;
	size_t n = 0, cap, total = 1;
	struct pb_point *pts;
	int any_reclaim = 0;
	unsigned nrcs;

	/* Names. */
	for (unsigned i = 0; i < sw->backends.n; i++) {
		qs[i] = pb_backend_find(sw->backends.v[i]);
		if (!qs[i]) {
			pb_unknown_name_msg("backend", sw->backends.v[i], err, sizeof(err));
			pb_usage_error_opt("backend", "%s", err);
		}
		if ((bad = pb_backend_check(qs[i])))
			pb_usage_error("backend %s is malformed: %s", qs[i]->name, bad);
		if (qs[i]->flags & PB_Q_RECLAIM)
			any_reclaim = 1;
	}
	/* The default reclaimer only matters if a selected backend takes one. */
	nrcs = sw->reclaim_given || any_reclaim ? sw->reclaimers.n : 0;
	for (unsigned i = 0; i < nrcs; i++) {
		rcs[i] = pb_reclaim_find(sw->reclaimers.v[i]);
		if (!rcs[i]) {
			pb_unknown_name_msg("reclaimer", sw->reclaimers.v[i], err, sizeof(err));
			pb_usage_error_opt("reclaim", "%s", err);
		}
		if ((bad = pb_reclaim_check(rcs[i])))
			pb_usage_error("reclaimer %s is malformed: %s", rcs[i]->name, bad);
	}
	for (unsigned i = 0; i < sw->workloads.n; i++) {
		wls[i] = pb_workload_find(sw->workloads.v[i]);
		if (!wls[i]) {
			pb_unknown_name_msg("workload", sw->workloads.v[i], err, sizeof(err));
			pb_usage_error_opt("workload", "%s", err);
		}
		if ((bad = pb_workload_check(wls[i])))
			pb_usage_error("workload %s is malformed: %s", wls[i]->name, bad);
	}
	if (sw->reclaim_given && !any_reclaim)
		note("note: --reclaim %s%s: none of the selected backends takes a reclaimer "
		       "(reclaim is '-' in every row)", sw->reclaimers.v[0],
		       sw->reclaimers.n > 1 ? ",..." : "");

	/* Pin policies: a space-separated list of policies is an axis. */
	split_policies(topo, "pin-workers", sw->pin_workers, &pinw);
	split_policies(topo, "pin-producers", sw->pin_producers, &pinp);
	check_workload_jobs(sw);

	/* Settings: each name must exist somewhere among the selected plug-ins. */
	for (unsigned i = 0; i < sw->backends.n; i++)
		tables[i] = qs[i]->options;
	check_settings_declared(&sw->bopt, "backend-opt", tables, sw->backends.n, "backends");
	for (unsigned i = 0; i < nrcs; i++)
		tables[i] = rcs[i]->options;
	check_settings_declared(&sw->ropt, "reclaim-opt", tables, nrcs, "reclaimers");
	for (unsigned i = 0; i < sw->workloads.n; i++)
		tables[i] = wls[i]->options;
	check_settings_declared(&sw->wopt, "workload-opt", tables, sw->workloads.n, "workloads");

	/* A backend-option axis that no selected backend declares collapses to
	 * "-" everywhere: say so (it is probably a mistake), but run. */
	for (int a = 0; a < AX_COUNT; a++) {
		int found = 0;

		if (!sw->axis[a].n)
			continue;
		for (unsigned i = 0; i < sw->backends.n; i++)
			if (pb_opt_index(qs[i]->options, pb_axis_opt[a]) >= 0)
				found = 1;
		if (!found) {
			char list[512] = "";
			size_t off = 0;

			for (size_t k = 0; pb_backends[k]; k++)
				if (pb_opt_index(pb_backends[k]->options, pb_axis_opt[a]) >= 0 &&
				    off < sizeof(list))
					off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
								off ? ", " : "", pb_backends[k]->name);
			note("note: --%s %s%s: no selected backend has option %s, so the axis is "
			       "'-' in every row (backends with it: %s)", pb_axis_opt[a],
			       sw->axis[a].v[0], sw->axis[a].n > 1 ? ",..." : "", pb_axis_opt[a],
			       off ? list : "none");
		}
	}

	bps = xcalloc(sw->backends.n, sizeof(*bps));
	for (unsigned i = 0; i < sw->backends.n; i++) {
		bps[i].q = qs[i];
		plan_backend(&bps[i], sw, rcs);
	}

	for (unsigned i = 0; i < nrcs; i++) {
		pb_opts_defaults(&rcbase[i], rcs[i]->options);
		apply_settings(&rcbase[i], &sw->ropt, "reclaim-opt", rcs[i]->name);
	}
	for (unsigned i = 0; i < sw->workloads.n; i++) {
		pb_opts_defaults(&wlbase[i], wls[i]->options);
		apply_settings(&wlbase[i], &sw->wopt, "workload-opt", wls[i]->name);
	}
	if (!batch.n) {
		batch.n = 1;
		batch.v[0] = 64;
	}
	if (!wake.n) {
		wake.n = 1;
		wake.v[0] = 128;
	}
	if (!flush.n) {
		flush.n = 1;
		flush.v[0] = 50;
	}
	if (!sbatch.n) {
		sbatch.n = 1;
		sbatch.v[0] = 1;
	}

	/* Count, then expand. */
	cap = 0;
	for (unsigned b = 0; b < sw->backends.n; b++) {
		size_t c = bps[b].nrc;

		for (int a = 0; a < AX_COUNT; a++)
			c *= bps[b].nax[a];
		cap += c;
	}
	total = cap * sw->workloads.n * sw->producers.n * sw->workers.n * batch.n * wake.n * flush.n *
		sbatch.n * pinw.n * pinp.n;
	if (total > MAX_POINTS)
		pb_usage_error("the sweep has %zu points, more than %d: split it", total, MAX_POINTS);
	pts = xcalloc(total, sizeof(*pts));

	for (unsigned b = 0; b < sw->backends.n; b++) {
		struct bplan *bp = &bps[b];

		for (unsigned r = 0; r < bp->nrc; r++)
		for (unsigned w = 0; w < sw->workloads.n; w++)
		for (unsigned a0 = 0; a0 < bp->nax[0]; a0++)
		for (unsigned a1 = 0; a1 < bp->nax[1]; a1++)
		for (unsigned a2 = 0; a2 < bp->nax[2]; a2++)
		for (unsigned a3 = 0; a3 < bp->nax[3]; a3++)
		for (unsigned ip = 0; ip < sw->producers.n; ip++)
		for (unsigned iw = 0; iw < sw->workers.n; iw++)
		for (unsigned ib = 0; ib < batch.n; ib++)
		for (unsigned ik = 0; ik < wake.n; ik++)
		for (unsigned iflush = 0; iflush < flush.n; iflush++)
		for (unsigned isb = 0; isb < sbatch.n; isb++)
		for (unsigned ipw = 0; ipw < pinw.n; ipw++)
		for (unsigned ipp = 0; ipp < pinp.n; ipp++) {
			struct pb_point *pt = &pts[n++];
			unsigned ai[AX_COUNT] = {a0, a1, a2, a3};
			unsigned ri;

			pt->q = bp->q;
			pt->qopts = bp->base;
			for (int a = 0; a < AX_COUNT; a++) {
				strcpy(pt->axis[a], bp->ax[a][ai[a]]);
				if (strcmp(pt->axis[a], "-") &&
				    pb_opts_set(&pt->qopts, pb_axis_opt[a], pt->axis[a], err, sizeof(err)))
					pb_usage_error_opt(pb_axis_opt[a], "--%s for backend %s: %s",
							   pb_axis_opt[a], bp->q->name, err);
			}
			pt->rc = bp->rc[r];
			if (pt->rc) {
				for (ri = 0; rcs[ri] != pt->rc; ri++)
					;
				pt->rcopts = rcbase[ri];
			}
			pt->wl = wls[w];
			pt->wlopts = wlbase[w];
			pt->producers = (unsigned)sw->producers.v[ip];
			pt->workers = (unsigned)sw->workers.v[iw];
			pt->batch = (unsigned)batch.v[ib];
			pt->wake_min_jobs = (unsigned)wake.v[ik];
			pt->flush_us = flush.v[iflush];
			pt->submit_batch = (unsigned)sbatch.v[isb];
			pt->jobs = workload_jobs(sw, pt->wl->name);
			pt->warmup = sw->warmup < 0 ? pt->jobs / 10 : (uint64_t)sw->warmup;
			if (pt->warmup > PB_MAX_JOBS - pt->jobs)
				pb_usage_error_opt("warmup", "value %llu is out of range for --warmup, "
						   "allowed: 0 .. %llu with %llu jobs (workload %s)",
						   (unsigned long long)pt->warmup,
						   PB_MAX_JOBS - pt->jobs,
						   (unsigned long long)pt->jobs, pt->wl->name);
			pt->cpus_workers = xcalloc(pt->workers, sizeof(int));
			pt->cpus_producers = xcalloc(pt->producers, sizeof(int));
			pt->pin_workers = resolve_auto(topo, pinw.v[ipw], pt->workers + pt->producers);
			pt->pin_producers = resolve_auto(topo, pinp.v[ipp], pt->workers + pt->producers);
			if (pb_pin_plan(topo, pt->pin_workers, 0, pt->workers, pt->cpus_workers, err,
					sizeof(err)))
				pb_usage_error_opt("pin-workers", "--pin-workers: %s", err);
			if (pb_pin_plan(topo, pt->pin_producers,
					strcmp(pt->pin_producers, pt->pin_workers) ? 0 : pt->workers,
					pt->producers, pt->cpus_producers, err, sizeof(err)))
				pb_usage_error_opt("pin-producers", "--pin-producers: %s", err);
			pt->mode = sw->mode; /* measurement (H2) */
			pt->rate = sw->rate;
			pt->duration_ns = sw->duration_ns;
			pt->latency = sw->latency > 0;
			pt->sample_ms = sw->sample_ms;
			skip_reason(pt);
			point_id(pt, sw); /* last: after every field of the point is set */
		}
	}
	/* --shard K/N: point i (plan order, from 0) belongs to shard i mod N + 1. */
	if (sw->shard_n > 1) {
		size_t kept = 0;

		for (size_t i = 0; i < n; i++)
			if (i % sw->shard_n == sw->shard_k - 1)
				pts[kept++] = pts[i];
		note("note: --shard %u/%u: %zu of %zu points", sw->shard_k, sw->shard_n, kept, n);
		n = kept;
	}
	*out = pts;
	return n;
}
