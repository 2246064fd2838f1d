/* SPDX-License-Identifier: MIT */
/*
 * Sweep planning: resolve plug-in names through the registries, validate
 * every value through the plug-ins' option tables (pb_opts_set) and the pin
 * policies through topo, and expand the axes into points.  Any option a
 * plug-in declares is an axis (--reclaim-opt threshold=16,64); an axis only
 * applies to the plug-ins that declare the option ("all" for a plug-in list
 * is every registered one that fits).  Runs in
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
#include "pool.h"

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

void pb_plan_note(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	note("%s", buf);
}

/*
 * Option axes of one kind (backend, reclaimer or workload): every setting
 * NAME=V1,V2,... with the last setting of a name winning (the sweep file's
 * arguments come first, the command line's last, so the command line wins
 * name by name).  A single value is an axis of one.
 */
struct oaxis {
	const char *name;
	const char *flag;  /* "backend-opt", or "seg-size" for --seg-size LIST */
	const char *given; /* the value list as given, for messages */
	bool lenient;      /* --seg-size etc.: no selected backend with it is a note */
	bool from_file;    /* the sweep file's (the command line may have changed the plug-ins) */
	unsigned n;
	const char *v[PB_LIST_MAX];
};

struct oaxes {
	unsigned n;
	struct oaxis a[PB_SETTINGS_MAX];
};

static void build_axes(const struct pb_settings *st, const char *kflag, struct oaxes *ax)
{
	ax->n = 0;
	for (unsigned i = 0; i < st->n; i++) {
		const char *flag = st->flag[i] ? st->flag[i] : kflag;
		struct oaxis *a = NULL;
		char *copy, *save = NULL, label[128];

		for (unsigned k = 0; k < ax->n; k++)
			if (!strcmp(ax->a[k].name, st->name[i]))
				a = &ax->a[k]; /* a later setting of the name replaces it */
		if (!a)
			a = &ax->a[ax->n++];
		memset(a, 0, sizeof(*a));
		a->name = st->name[i];
		a->flag = flag;
		a->given = st->value[i];
		a->lenient = st->flag[i] != NULL;
		a->from_file = st->from_file[i];
		copy = pb_xstrdup(st->value[i]);
		if (a->lenient)
			snprintf(label, sizeof(label), "--%s", flag);
		else
			snprintf(label, sizeof(label), "--%s %s", flag, st->name[i]);
		if (!*copy || copy[0] == ',' || copy[strlen(copy) - 1] == ',' || strstr(copy, ",,"))
			pb_usage_error_opt(flag, "bad list '%s' for %s: empty item, allowed: "
					   "comma-separated values like 1,64", st->value[i], label);
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			for (unsigned k = 0; k < a->n; k++)
				if (!strcmp(a->v[k], tok))
					pb_usage_error_opt(flag, "bad list '%s' for %s: '%s' given twice",
							   st->value[i], label, tok);
			if (a->n == PB_LIST_MAX)
				pb_usage_error_opt(flag, "bad list '%s' for %s: more than %d values",
						   st->value[i], label, PB_LIST_MAX);
			a->v[a->n++] = tok;
		}
	}
}

/* "--backend-opt seg-size=..." or "--seg-size ..." for messages. */
static const char *axis_what(const struct oaxis *a, char *buf, size_t len)
{
	if (a->lenient)
		snprintf(buf, len, "--%s", a->flag);
	else
		snprintf(buf, len, "--%s %s=%s", a->flag, a->name, a->given);
	return buf;
}

/*
 * The option sets of one plug-in: its defaults with every combination of
 * the axes it declares (the first axis outermost).  Each value is parsed
 * and range-checked by the plug-in's table; values that normalise to the
 * same one ("1k", "1024") count once.  Returns the number of sets.
 */
static unsigned expand_opts(const struct pb_option *defs, const struct oaxes *ax, const char *kind,
			    const char *plugin, struct pb_optvals **out)
{
	struct pb_optvals base;
	unsigned idx[PB_SETTINGS_MAX], nval[PB_SETTINGS_MAX], nax = 0;
	int64_t val[PB_SETTINGS_MAX][PB_LIST_MAX];
	size_t total = 1;
	struct pb_optvals *sets;
	char err[512], what[600];

	pb_opts_defaults(&base, defs);
	for (unsigned k = 0; k < ax->n; k++) {
		const struct oaxis *a = &ax->a[k];
		int oi = pb_opt_index(defs, a->name);

		if (oi < 0)
			continue;
		idx[nax] = (unsigned)oi;
		nval[nax] = 0;
		for (unsigned i = 0; i < a->n; i++) {
			struct pb_optvals ov = base;
			int dup = 0;

			if (pb_opts_set(&ov, a->name, a->v[i], err, sizeof(err)))
				pb_usage_error_opt(a->flag, "%s for %s %s: %s", axis_what(a, what, sizeof(what)),
						   kind, plugin, err);
			for (unsigned j = 0; j < nval[nax]; j++)
				if (val[nax][j] == ov.v[oi])
					dup = 1;
			if (!dup)
				val[nax][nval[nax]++] = ov.v[oi];
		}
		total *= nval[nax];
		if (total > MAX_POINTS)
			pb_usage_error("the option axes of %s %s give more than %d combinations: split "
				       "the sweep", kind, plugin, MAX_POINTS);
		nax++;
	}
	sets = xcalloc(total, sizeof(*sets));
	for (size_t c = 0; c < total; c++) {
		size_t rest = c;

		sets[c] = base;
		for (unsigned k = nax; k-- > 0;) {
			sets[c].v[idx[k]] = val[k][rest % nval[k]];
			rest /= nval[k];
		}
	}
	*out = sets;
	return (unsigned)total;
}

/*
 * Every setting must be declared by at least one selected plug-in of its
 * kind; otherwise report it with the known names and a suggestion.  The
 * backend-option flags (--seg-size ...) only note it: the column is '-'.
 */
static void check_settings_declared(const struct oaxes *ax, const struct pb_option *const *tables,
				    size_t ntables, const char *kind, bool list_from_cli)
{
	for (unsigned i = 0; i < ax->n; i++) {
		const struct oaxis *a = &ax->a[i];
		const char *names[256] = {NULL};
		size_t n = 0, off = 0;
		char list[1024] = "";
		const char *near;
		int found = 0;

		for (size_t t = 0; t < ntables; t++) {
			for (size_t k = 0; tables[t] && tables[t][k].name; k++) {
				int dup = 0;

				if (!strcmp(tables[t][k].name, a->name))
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
		if (a->from_file && list_from_cli) {
			note("note: the sweep file's --%s %s=%s: none of the %s given on the command "
			     "line has option %s: ignored", a->flag, a->name, a->given, kind, a->name);
			continue;
		}
		if (a->lenient) {
			char blist[512] = "";
			size_t boff = 0;

			for (size_t k = 0; pb_backends[k]; k++)
				if (pb_opt_index(pb_backends[k]->options, a->name) >= 0 &&
				    boff < sizeof(blist))
					boff += (size_t)snprintf(blist + boff, sizeof(blist) - boff, "%s%s",
								 boff ? ", " : "", pb_backends[k]->name);
			note("note: --%s %s: no selected backend has option %s, so the axis is "
			     "'-' in every row (backends with it: %s)", a->flag, a->given, a->name,
			     boff ? blist : "none");
			continue;
		}
		near = pb_closest(a->name, names, n);
		pb_usage_ctx_opt(a->flag);
		pb_usage_error("--%s: unknown option '%s' for the selected %s, allowed: %s%s%s%s", a->flag,
			       a->name, kind, n ? list : "(none)", near ? " (did you mean '" : "",
			       near ? near : "", near ? "'?)" : "");
	}
}

struct bplan {
	const struct pb_queue_ops *q;
	unsigned nrc;
	const struct pb_reclaim_ops *rc[PB_LIST_MAX]; /* or one NULL */
	unsigned nsets;
	struct pb_optvals *sets; /* defaults + --backend-opt, one per axis combination */
	unsigned nleft;          /* --backend all: points its check() refused */
	char left_why[640];      /* the first of them, and why */
};

/*
 * The reclaimers backend bp->q runs with.  @given: the reclaimers were named
 * (command line or sweep file); otherwise rcs holds the default and, after
 * it, the first reclaimer of each backend that refuses the default, and a
 * backend takes the first of them it accepts.  @be_all: the backends came
 * from "all", so a backend that takes none of the named reclaimers is left
 * out with a note instead of refusing the sweep.
 */
static void plan_backend(struct bplan *bp, const struct oaxes *bax,
			 const struct pb_reclaim_ops *const *rcs, unsigned nrcs, bool rc_all,
			 bool given, bool be_all)
{
	const struct pb_queue_ops *q = bp->q;

	bp->nsets = expand_opts(q->options, bax, "backend", q->name, &bp->sets);
	bp->nrc = 0;
	if (q->flags & PB_Q_RECLAIM) {
		for (unsigned i = 0; i < nrcs && (given || !bp->nrc); i++) {
			if (pb_queue_accepts_reclaim(q, rcs[i]->name))
				bp->rc[bp->nrc++] = rcs[i];
			else if (!rc_all && given && !be_all)
				note("note: backend %s does not take reclaimer %s: combination left out",
				       q->name, rcs[i]->name);
		}
		if (!given && bp->nrc && bp->rc[0] != rcs[0])
			note("note: backend %s does not take the default reclaimer %s: it runs with %s",
			     q->name, rcs[0]->name, bp->rc[0]->name);
		if (!bp->nrc) {
			/* Name what was given and what this backend takes. */
			char allowed[512];
			size_t off = 0;

			allowed[0] = 0;
			for (size_t k = 0; pb_reclaimers[k] && off < sizeof(allowed); k++)
				if (pb_queue_accepts_reclaim(q, pb_reclaimers[k]->name))
					off += (size_t)snprintf(allowed + off, sizeof(allowed) - off, "%s%s",
								off ? ", " : "", pb_reclaimers[k]->name);
			if (be_all) {
				note("note: backend %s takes none of the reclaimers given (%s%s): left out "
				     "(it takes: %s)", q->name, nrcs ? rcs[0]->name : "none",
				     nrcs > 1 ? ", ..." : "", allowed[0] ? allowed : "none");
				return;
			}
			pb_usage_error_opt("reclaim", "backend %s takes none of the reclaimers given (%s%s), "
				       "allowed: %s", q->name, nrcs ? rcs[0]->name : "none",
				       nrcs > 1 ? ", ..." : "", allowed[0] ? allowed : "none");
		}
	} else {
		bp->rc[0] = NULL;
		bp->nrc = 1;
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
	if (pt->backlog)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "|backlog=%llu",
			 (unsigned long long)pt->backlog);
	if (pt->coalesce)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "|coalesce=%u", pt->coalesce);
	if (pt->idle_poll != PB_IDLE_YIELD)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "|idle_poll=%s",
			 pb_idle_poll_name(pt->idle_poll));
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

/*
 * "all" as a backend, reclaimer or workload list: every registered plug-in
 * of that kind that fits here (its supported() has no objection; for
 * reclaimers, also one that a selected backend takes).  It stands alone:
 * "all,hp" is refused.  Returns true if @l was "all".
 */
static bool expand_all(struct pb_strlist *l, const char *flag, const char *kind,
		       const struct pb_queue_ops *const *qs, unsigned nqs)
{
	size_t count = !strcmp(kind, "backend") ? pb_backend_count()
		       : !strcmp(kind, "reclaimer") ? pb_reclaim_count() : pb_workload_count();
	bool all = false;

	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], "all"))
			all = true;
	if (!all)
		return false;
	if (l->n > 1)
		pb_usage_error_opt(flag, "--%s: 'all' stands alone (every registered %s that fits), "
				   "allowed: all, or a list of names", flag, kind);
	l->n = 0;
	for (size_t i = 0; i < count && l->n < PB_LIST_MAX; i++) {
		const char *name, *why;

		if (!strcmp(kind, "backend")) {
			name = pb_backends[i]->name;
			why = pb_backends[i]->supported ? pb_backends[i]->supported() : NULL;
		} else if (!strcmp(kind, "reclaimer")) {
			int taken = 0;

			name = pb_reclaimers[i]->name;
			why = pb_reclaimers[i]->supported ? pb_reclaimers[i]->supported() : NULL;
			for (unsigned k = 0; k < nqs; k++)
				if ((qs[k]->flags & PB_Q_RECLAIM) && pb_queue_accepts_reclaim(qs[k], name))
					taken = 1;
			if (!taken)
				continue;
		} else {
			name = pb_workloads[i]->name;
			why = pb_workloads[i]->supported ? pb_workloads[i]->supported() : NULL;
		}
		if (why) {
			note("note: --%s all: %s %s left out: %s", flag, kind, name, why);
			continue;
		}
		l->v[l->n++] = name;
	}
	if (!l->n)
		pb_usage_error_opt(flag, "--%s all: no registered %s fits the selected backends here "
				   "(see 'poolbench list')", flag, kind);
	return true;
}

static const struct pb_queue_ops *find_backend(const char *name)
{
	const struct pb_queue_ops *q = pb_backend_find(name);
	const char *bad;
	char err[1024];

	if (!q) {
		pb_unknown_name_msg("backend", name, err, sizeof(err));
		pb_usage_error_opt("backend", "%s", err);
	}
	if ((bad = pb_backend_check(q)))
		pb_usage_error("backend %s is malformed: %s", q->name, bad);
	return q;
}

/* An axis the sweep did not name: its one default value. */
static void ulist_default(struct pb_ulist *l, uint64_t v)
{
	if (!l->n) {
		l->n = 1;
		l->v[0] = v;
	}
}

size_t pb_plan(const struct pb_sweep *sw, const struct pb_topo *topo, struct pb_point **out)
{
	const struct pb_queue_ops *qs[PB_LIST_MAX];
	const struct pb_reclaim_ops *rcs[PB_LIST_MAX];
	const struct pb_workload_ops *wls[PB_LIST_MAX];
	const struct pb_option *tables[PB_LIST_MAX];
	struct bplan *bps;
	struct pb_optvals *rcsets[PB_LIST_MAX], *wlsets[PB_LIST_MAX];
	unsigned nrcsets[PB_LIST_MAX], nwlsets[PB_LIST_MAX];
	struct pb_ulist batch = sw->batch, wake = sw->wake_min_jobs, flush = sw->flush_us;
	struct pb_ulist sbatch = sw->submit_batch, backlog = sw->backlog, coalesce = sw->coalesce;
	struct pb_ulist idle = sw->idle_poll;
	struct pb_strlist backends = sw->backends, reclaimers = sw->reclaimers;
	struct pb_strlist workloads = sw->workloads;
	struct pb_strlist pinw, pinp;
	struct oaxes *bax = xcalloc(3, sizeof(*bax)), *rax = bax + 1, *wax = bax + 2;
	char err[1024];
	const char *bad;
	size_t n = 0, cap, total = 1;
	struct pb_point *pts;
	int any_reclaim = 0;
	unsigned nrcs;
	bool rc_all, be_all;

	/* Names ("all": every registered plug-in of the kind that fits). */
	be_all = expand_all(&backends, "backend", "backend", NULL, 0);
	for (unsigned i = 0; i < backends.n; i++) {
		qs[i] = find_backend(backends.v[i]);
		if (qs[i]->flags & PB_Q_RECLAIM)
			any_reclaim = 1;
	}
	/* The default reclaimer only matters if a selected backend takes one. */
	rc_all = any_reclaim && expand_all(&reclaimers, "reclaim", "reclaimer", qs, backends.n);
	nrcs = sw->reclaim_given || any_reclaim ? reclaimers.n : 0;
	if (!any_reclaim && nrcs == 1 && !strcmp(reclaimers.v[0], "all"))
		nrcs = 0; /* no backend takes one: "all" is none (noted below) */
	for (unsigned i = 0; i < nrcs; i++) {
		rcs[i] = pb_reclaim_find(reclaimers.v[i]);
		if (!rcs[i]) {
			pb_unknown_name_msg("reclaimer", reclaimers.v[i], err, sizeof(err));
			pb_usage_error_opt("reclaim", "%s", err);
		}
		if ((bad = pb_reclaim_check(rcs[i])))
			pb_usage_error("reclaimer %s is malformed: %s", rcs[i]->name, bad);
	}
	/* No reclaimer named: a backend that refuses the default runs with the
	 * first registered reclaimer it takes (plan_backend). */
	for (unsigned i = 0; !sw->reclaim_given && !rc_all && nrcs && i < backends.n; i++) {
		bool ok = false;

		if (!(qs[i]->flags & PB_Q_RECLAIM))
			continue;
		for (unsigned k = 0; k < nrcs && !ok; k++)
			ok = pb_queue_accepts_reclaim(qs[i], rcs[k]->name);
		for (size_t k = 0; !ok && pb_reclaimers[k] && nrcs < PB_LIST_MAX; k++) {
			const struct pb_reclaim_ops *r = pb_reclaimers[k];

			if (pb_queue_accepts_reclaim(qs[i], r->name) && !(r->supported && r->supported())) {
				rcs[nrcs] = r;
				reclaimers.v[nrcs++] = r->name;
				ok = true;
			}
		}
	}
	expand_all(&workloads, "workload", "workload", NULL, 0);
	for (unsigned i = 0; i < workloads.n; i++) {
		wls[i] = pb_workload_find(workloads.v[i]);
		if (!wls[i]) {
			pb_unknown_name_msg("workload", workloads.v[i], err, sizeof(err));
			pb_usage_error_opt("workload", "%s", err);
		}
		if ((bad = pb_workload_check(wls[i])))
			pb_usage_error("workload %s is malformed: %s", wls[i]->name, bad);
	}
	if (sw->reclaim_given && !any_reclaim)
		note("note: --reclaim %s%s: none of the selected backends takes a reclaimer "
		       "(reclaim is '-' in every row)", reclaimers.v[0],
		       reclaimers.n > 1 ? ",..." : "");

	/* Pin policies: a space-separated list of policies is an axis. */
	split_policies(topo, "pin-workers", sw->pin_workers, &pinw);
	split_policies(topo, "pin-producers", sw->pin_producers, &pinp);
	check_workload_jobs(sw);

	/* Option axes: each name must exist somewhere among the selected
	 * plug-ins of its kind; each value is range-checked for each of them. */
	build_axes(&sw->bopt, "backend-opt", bax);
	build_axes(&sw->ropt, "reclaim-opt", rax);
	build_axes(&sw->wopt, "workload-opt", wax);
	for (unsigned i = 0; i < backends.n; i++)
		tables[i] = qs[i]->options;
	check_settings_declared(bax, tables, backends.n, "backends", sw->backends_cli);
	for (unsigned i = 0; i < nrcs; i++)
		tables[i] = rcs[i]->options;
	check_settings_declared(rax, tables, nrcs, "reclaimers", sw->reclaimers_cli);
	for (unsigned i = 0; i < workloads.n; i++)
		tables[i] = wls[i]->options;
	check_settings_declared(wax, tables, workloads.n, "workloads", sw->workloads_cli);

	bps = xcalloc(backends.n, sizeof(*bps));
	for (unsigned i = 0; i < backends.n; i++) {
		bps[i].q = qs[i];
		plan_backend(&bps[i], bax, rcs, nrcs, rc_all, sw->reclaim_given, be_all);
	}
	for (unsigned i = 0; i < nrcs; i++)
		nrcsets[i] = expand_opts(rcs[i]->options, rax, "reclaimer", rcs[i]->name, &rcsets[i]);
	for (unsigned i = 0; i < workloads.n; i++)
		nwlsets[i] = expand_opts(wls[i]->options, wax, "workload", wls[i]->name, &wlsets[i]);
	ulist_default(&batch, 64);
	ulist_default(&wake, 128);
	ulist_default(&flush, 50);
	ulist_default(&sbatch, 1);
	ulist_default(&backlog, 0);
	ulist_default(&coalesce, 0);
	ulist_default(&idle, PB_IDLE_YIELD);

	/* Count, then expand. */
	cap = 0;
	for (unsigned b = 0; b < backends.n; b++) {
		size_t nrc = 0, nwl = 0;

		for (unsigned r = 0; r < bps[b].nrc; r++) {
			unsigned ri = 0;

			if (!bps[b].rc[r]) {
				nrc += 1;
				continue;
			}
			while (rcs[ri] != bps[b].rc[r])
				ri++;
			nrc += nrcsets[ri];
		}
		for (unsigned w = 0; w < workloads.n; w++)
			nwl += nwlsets[w];
		cap += nrc * nwl * bps[b].nsets;
	}
	total = cap * sw->producers.n * sw->workers.n * batch.n * wake.n * flush.n * sbatch.n *
		backlog.n * coalesce.n * idle.n * pinw.n * pinp.n;
	if (total > MAX_POINTS)
		pb_usage_error("the sweep has %zu points, more than %d: split it", total, MAX_POINTS);
	pts = xcalloc(total, sizeof(*pts));

	for (unsigned b = 0; b < backends.n; b++) {
		struct bplan *bp = &bps[b];

		for (unsigned r = 0; r < bp->nrc; r++) {
		unsigned ri = 0, nrs = 1;

		if (bp->rc[r]) {
			while (rcs[ri] != bp->rc[r])
				ri++;
			nrs = nrcsets[ri];
		}
		for (unsigned w = 0; w < workloads.n; w++)
		for (unsigned bs = 0; bs < bp->nsets; bs++)
		for (unsigned rs = 0; rs < nrs; rs++)
		for (unsigned ws = 0; ws < nwlsets[w]; ws++)
		for (unsigned ip = 0; ip < sw->producers.n; ip++)
		for (unsigned iw = 0; iw < sw->workers.n; iw++)
		for (unsigned ib = 0; ib < batch.n; ib++)
		for (unsigned ik = 0; ik < wake.n; ik++)
		for (unsigned iflush = 0; iflush < flush.n; iflush++)
		for (unsigned isb = 0; isb < sbatch.n; isb++)
		for (unsigned ibl = 0; ibl < backlog.n; ibl++)
		for (unsigned ico = 0; ico < coalesce.n; ico++)
		for (unsigned iid = 0; iid < idle.n; iid++)
		for (unsigned ipw = 0; ipw < pinw.n; ipw++)
		for (unsigned ipp = 0; ipp < pinp.n; ipp++) {
			struct pb_point *pt = &pts[n++];

			pt->q = bp->q;
			pt->qopts = bp->sets[bs];
			for (int a = 0; a < AX_COUNT; a++) {
				int oi = pb_opt_index(pt->q->options, pb_axis_opt[a]);

				if (oi < 0)
					strcpy(pt->axis[a], "-");
				else
					pb_opt_format(&pt->qopts, (size_t)oi, pt->axis[a],
						      sizeof(pt->axis[a]));
			}
			pt->rc = bp->rc[r];
			if (pt->rc)
				pt->rcopts = rcsets[ri][rs];
			pt->wl = wls[w];
			pt->wlopts = wlsets[w][ws];
			pt->producers = (unsigned)sw->producers.v[ip];
			pt->workers = (unsigned)sw->workers.v[iw];
			pt->batch = (unsigned)batch.v[ib];
			pt->wake_min_jobs = (unsigned)wake.v[ik];
			pt->flush_us = flush.v[iflush];
			pt->submit_batch = (unsigned)sbatch.v[isb];
			pt->backlog = backlog.v[ibl];
			pt->coalesce = (unsigned)coalesce.v[ico];
			pt->idle_poll = (unsigned)idle.v[iid];
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
			if (pt->q->check) {
				char why[512];

				if (pt->q->check(&pt->qopts, pt->rc, pt->rc ? &pt->rcopts : NULL,
						 pt->producers, pt->workers, why, sizeof(why))) {
					/* --backend all: left out (one note per backend,
					 * after the loop), as the combinations a backend
					 * does not take are */
					if (be_all) {
						if (!bp->nleft++)
							snprintf(bp->left_why, sizeof(bp->left_why),
								 "reclaimer %s, %u producers, %u workers: %s",
								 pt->rc ? pt->rc->name : "-", pt->producers,
								 pt->workers, why);
						memset(pt, 0, sizeof(*pt)); /* its cpus arrays go at exit */
						n--;
						continue;
					}
					pb_usage_error_opt("backend-opt", "backend %s with reclaimer %s, %u "
							   "producers, %u workers: %s", pt->q->name,
							   pt->rc ? pt->rc->name : "-", pt->producers,
							   pt->workers, why);
				}
			}
			point_id(pt, sw); /* last: after every field of the point is set */
		}
		}
	}
	for (unsigned b = 0; b < backends.n; b++)
		if (bps[b].nleft)
			note("note: --backend all: backend %s: %u point%s left out, the first with %s",
			     bps[b].q->name, bps[b].nleft, bps[b].nleft > 1 ? "s" : "", bps[b].left_why);
	if (!n) /* only --backend all leaves points out (check() above) */
		pb_usage_error_opt("backend", "--backend all: no backend can run any point of this sweep "
				   "(each was left out, see the notes above)");
	pb_plan_record_full(pts, n); /* the sweep's identity: the whole plan (meta.c) */
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
