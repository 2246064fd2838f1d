/* SPDX-License-Identifier: MIT */
/*
 * "poolbench compare A B" and "poolbench compare DIR --a SERIES --b SERIES"
 * (issue 8; docs/methodology.md "Comparing two sets of results"), in the
 * manner of Go's benchstat: for every point the two sides share, the median
 * of each side's ok repetitions, the ratio B/A as a Hodges-Lehmann estimate
 * with its 95 % confidence interval (Moses' interval from the Mann-Whitney
 * distribution), and the Mann-Whitney U test's two-sided p-value; a point
 * whose p >= 0.05 is marked "~" (no significant difference).
 *
 * Ratios work on logarithms: with d_ij = ln b_j - ln a_i over all n*m pairs,
 * the estimate is exp(median d) and the interval is exp(d_(k)) .. exp(d_(nm+1-k)),
 * k the largest with P(U <= k-1) <= 0.025 under the null distribution of U.
 * The null distribution is exact (a recurrence over sample sizes) when both
 * sides have at most 50 values and no value of A equals one of B; otherwise
 * the p-value uses the normal approximation with tie and continuity
 * corrections, and the interval the normal quantile of U.  Single-threaded.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"

#define EXACT_MAX 50 /* per side */
#define ALPHA 0.05

/* Columns that define a configuration (as in summary.csv). */
static const char *const key_cols[] = {
	"backend", "reclaim", "workload", "producers", "workers", "seg_size", "seg_count",
	"capacity", "seg_supply", "batch", "wake_min_jobs", "flush_us", "jobs", "pin_workers",
	"pin_producers", "backend_opts", "reclaim_opts", "workload_opts", "mode", "rate_target",
	"duration_ms", "latency",
};
#define NKEY PB_ARRAY_SIZE(key_cols)

/* A filter "col=value,col=value". */
#define MAX_FILTER 16
struct series {
	unsigned n;
	int col[MAX_FILTER];
	const char *name[MAX_FILTER], *value[MAX_FILTER];
};

/* One point of one side: its key and its ok values. */
struct cpoint {
	char *key;       /* point_id (two directories) or the key columns (series) */
	size_t row0;     /* a row of it, for the label */
	double *v;
	unsigned n, cap;
	const char *id;
};

struct side {
	const char *dir;
	struct pb_table *t;
	struct cpoint *p;
	size_t np, cap;
};

/* ---- statistics ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_sorted(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * cdf[u] = P(U <= u), u = 0 .. n*m, for the Mann-Whitney U of samples of
 * sizes n and m without ties, by the recurrence on probabilities
 *   p(u; i, j) = i/(i+j) p(u - j; i-1, j) + j/(i+j) p(u; i, j-1)
 * (the largest of the i+j values is in the first sample or in the second).
 * All additions of non-negative terms, so it is stable.  NULL when out of memory.
 */
static double *u_cdf(unsigned n, unsigned m)
{
	size_t len = (size_t)n * m + 1;
	double *prev = calloc((m + 1) * len, sizeof(double)); /* layer i-1: [j][u] */
	double *cur = calloc((m + 1) * len, sizeof(double));
	double *cdf = malloc(len * sizeof(double));

	if (!prev || !cur || !cdf) {
		free(prev);
		free(cur);
		free(cdf);
		return NULL;
	}
	for (unsigned j = 0; j <= m; j++)
		prev[j * len] = 1; /* i = 0: U = 0 */
	for (unsigned i = 1; i <= n; i++) {
		double *t;

		memset(cur, 0, (m + 1) * len * sizeof(double));
		cur[0] = 1; /* j = 0: U = 0 */
		for (unsigned j = 1; j <= m; j++) {
			double a = (double)i / (i + j), b = (double)j / (i + j);

			for (size_t u = 0; u <= (size_t)i * j; u++) {
				double x = u >= j ? prev[j * len + u - j] : 0;
				double y = u <= (size_t)i * (j - 1) ? cur[(j - 1) * len + u] : 0;

				cur[j * len + u] = a * x + b * y;
			}
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	for (size_t u = 0; u < len; u++)
		cdf[u] = (u ? cdf[u - 1] : 0) + prev[m * len + u];
	free(prev);
	free(cur);
	return cdf;
}

struct cmp_result {
	double med_a, med_b, ratio, lo, hi, p;
	bool exact, have_ci;
};

/* Compare a[0..n) and b[0..m) (both > 0).  -ENOMEM or 0. */
static int mw_compare(const double *a, unsigned n, const double *b, unsigned m,
		      struct cmp_result *r)
{
	size_t nm = (size_t)n * m, k = 0;
	double *d = malloc(nm * sizeof(double)), *sa = malloc(n * sizeof(double)),
	       *sb = malloc(m * sizeof(double));
	double u = 0;
	bool ties = false;

	memset(r, 0, sizeof(*r));
	if (!d || !sa || !sb) {
		free(d);
		free(sa);
		free(sb);
		return -ENOMEM;
	}
	memcpy(sa, a, n * sizeof(double));
	memcpy(sb, b, m * sizeof(double));
	qsort(sa, n, sizeof(double), cmp_double);
	qsort(sb, m, sizeof(double), cmp_double);
	r->med_a = median_sorted(sa, n);
	r->med_b = median_sorted(sb, m);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < m; j++) {
			d[i * m + j] = log(b[j]) - log(a[i]);
			if (b[j] > a[i])
				u += 1;
			else if (b[j] == a[i]) {
				u += 0.5;
				ties = true;
			}
		}
	qsort(d, nm, sizeof(double), cmp_double);
	r->ratio = exp(median_sorted(d, nm));
	/* U counts pairs with b > a: the statistic of sample B (scipy's U1 for x = B). */
	if (n <= EXACT_MAX && m <= EXACT_MAX && !ties) {
		double *cdf = u_cdf(n, m);
		double up = u > (double)nm - u ? u : (double)nm - u;

		if (!cdf) {
			free(d);
			free(sa);
			free(sb);
			return -ENOMEM;
		}
		r->exact = true;
		/* two-sided: 2 P(U >= max(u, nm - u)), at most 1 */
		r->p = 2 * (1 - ((size_t)up ? cdf[(size_t)up - 1] : 0));
		if (r->p > 1)
			r->p = 1;
		/* Moses: the largest k >= 1 with P(U <= k-1) <= alpha/2 */
		while (k < nm / 2 + 1 && cdf[k] <= ALPHA / 2 + 1e-12)
			k++;
		free(cdf);
	} else {
		/* normal approximation with tie and continuity corrections */
		double *all = malloc((n + m) * sizeof(double)), tie = 0, mu = (double)nm / 2, s, z, up;
		size_t N = (size_t)n + m;

		if (!all) {
			free(d);
			free(sa);
			free(sb);
			return -ENOMEM;
		}
		memcpy(all, a, n * sizeof(double));
		memcpy(all + n, b, m * sizeof(double));
		qsort(all, N, sizeof(double), cmp_double);
		for (size_t i = 0; i < N;) {
			size_t j = i;

			while (j < N && all[j] == all[i])
				j++;
			tie += pow((double)(j - i), 3) - (double)(j - i);
			i = j;
		}
		free(all);
		s = sqrt((double)nm / 12 * ((double)(N + 1) - tie / ((double)N * (double)(N - 1))));
		up = u > (double)nm - u ? u : (double)nm - u;
		z = s > 0 ? (up - mu - 0.5) / s : 0;
		r->p = s > 0 ? erfc(z / sqrt(2)) : 1; /* 2 * (1 - Phi(z)) */
		if (r->p > 1)
			r->p = 1;
		/* k-1 = the alpha/2 quantile of U, nm/2 - 1.96 s (rounded down) */
		{
			double q = floor(mu - 1.959963984540054 * s);

			k = q >= 0 ? (size_t)q + 1 : 0;
		}
	}
	if (k >= 1 && k <= nm + 1 - k) {
		r->have_ci = true;
		r->lo = exp(d[k - 1]);
		r->hi = exp(d[nm - k]);
	}
	free(d);
	free(sa);
	free(sb);
	return 0;
}

/* ---- reading the two sides --------------------------------------------------------- */

static void parse_series(const struct pb_table *t, const char *flag, const char *arg,
			 struct series *s)
{
	char *copy = pb_xstrdup(arg), *save = NULL;

	s->n = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok || s->n == MAX_FILTER)
			pb_usage_error("compare: value '%s' is not valid for %s, allowed: COLUMN=VALUE[,"
				       "COLUMN=VALUE...] (at most %d), e.g. backend=segmented,reclaim=hp",
				       arg, flag, MAX_FILTER);
		*eq = 0;
		s->col[s->n] = pb_table_col(t, tok);
		if (s->col[s->n] < 0)
			pb_usage_error("compare: %s %s: '%s' is not a results.csv column, allowed: a "
				       "column of docs/csv.md such as backend, reclaim, workload", flag,
				       arg, tok);
		s->name[s->n] = tok;
		s->value[s->n++] = eq + 1;
	}
	if (!s->n)
		pb_usage_error("compare: empty %s, allowed: COLUMN=VALUE[,COLUMN=VALUE...]", flag);
}

static bool series_match(const struct pb_table *t, size_t r, const struct series *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(t->rows[r][s->col[i]], s->value[i]))
			return false;
	return true;
}

/* Is key column @name left out of the key (set by a filter, or implied by one)? */
static bool excluded(const char *name, const struct series *sa, const struct series *sb)
{
	static const char *const implied[][2] = {
		{"backend", "backend_opts"}, {"backend", "seg_size"}, {"backend", "seg_count"},
		{"backend", "capacity"},     {"backend", "seg_supply"}, {"reclaim", "reclaim_opts"},
		{"workload", "workload_opts"}, {"workload", "jobs"},
	};
	const struct series *ss[2] = {sa, sb};

	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; ss[k] && i < ss[k]->n; i++) {
			if (!strcmp(ss[k]->name[i], name))
				return true;
			for (size_t j = 0; j < PB_ARRAY_SIZE(implied); j++)
				if (!strcmp(ss[k]->name[i], implied[j][0]) && !strcmp(name, implied[j][1]))
					return true;
		}
	return false;
}

static char *row_key(const struct pb_table *t, size_t r, const struct series *sa,
		     const struct series *sb)
{
	char buf[4096];
	size_t off = 0;

	if (!sa)
		return t->rows[r][pb_table_col(t, "point_id")];
	for (size_t i = 0; i < NKEY; i++) {
		int c = pb_table_col(t, key_cols[i]);

		if (c < 0 || excluded(key_cols[i], sa, sb))
			continue;
		off += (size_t)snprintf(buf + off, off < sizeof(buf) ? sizeof(buf) - off : 0, "%s=%s\x1f",
					key_cols[i], t->rows[r][c]);
	}
	return pb_xstrdup(buf);
}

static void side_add(struct side *s, const char *key, size_t r, double v, bool ok)
{
	struct cpoint *p = NULL;

	for (size_t i = 0; i < s->np; i++)
		if (!strcmp(s->p[i].key, key)) {
			p = &s->p[i];
			break;
		}
	if (!p) {
		if (s->np == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 64;
			struct cpoint *np = pb_xalloc(cap, sizeof(*np));

			if (s->np)
				memcpy(np, s->p, s->np * sizeof(*np));
			s->p = np;
			s->cap = cap;
		}
		p = &s->p[s->np++];
		memset(p, 0, sizeof(*p));
		p->key = (char *)key;
		p->row0 = r;
	}
	if (!ok)
		return;
	if (p->n == p->cap) {
		unsigned cap = p->cap ? 2 * p->cap : 16;
		double *nv = pb_xalloc(cap, sizeof(double));

		if (p->n)
			memcpy(nv, p->v, p->n * sizeof(double));
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n++] = v;
}

/* Rows of @t (matching @sel, if any) into @s: ok rows with a positive metric. */
static void load_side(struct side *s, struct pb_table *t, int c_metric, const struct series *sel,
		      const struct series *sa, const struct series *sb)
{
	int c_st = pb_table_col(t, "status");

	s->t = t;
	for (size_t r = 0; r < t->nrows; r++) {
		char *end;
		double v;
		bool ok;

		if (sel && !series_match(t, r, sel))
			continue;
		v = strtod(t->rows[r][c_metric], &end);
		ok = !strcmp(t->rows[r][c_st], "ok") && end != t->rows[r][c_metric] && !*end && v > 0;
		side_add(s, row_key(t, r, sa, sb), r, v, ok);
	}
}

static void read_results(const char *dir, struct pb_table *t)
{
	char path[4096], err[512];

	snprintf(path, sizeof(path), "%s/results.csv", dir);
	if (pb_table_read(path, t, err, sizeof(err)))
		pb_usage_error("compare: %s", err);
	if (pb_table_col(t, "status") < 0 || pb_table_col(t, "point_id") < 0)
		pb_usage_error("compare: %s is not a poolbench results.csv (no status or point_id "
			       "column)", path);
}

/* ---- output ----------------------------------------------------------------------- */

static const char *cell(const struct pb_table *t, size_t r, const char *col)
{
	int c = pb_table_col(t, col);

	return c >= 0 ? t->rows[r][c] : "-";
}

static const char *const extra[] = {"seg_size", "seg_count", "capacity", "seg_supply",
				    "pin_workers", "pin_producers", "mode"};
/* Which extra[] columns differ among the points compared (set before labels). */
static bool extra_varies[PB_ARRAY_SIZE(extra)];

/* "segmented/hp empty p=1 w=2 seg_size=64": the point's axes, less those
 * the series filters fix (they are the same on every line) and the extra
 * columns that are the same on every line. */
static void label(const struct pb_table *t, size_t r, const struct series *sa,
		  const struct series *sb, char *buf, size_t len)
{
	size_t off = 0;

	if (!excluded("backend", sa, sb))
		off += (size_t)snprintf(buf + off, len - off, "%s/%s ", cell(t, r, "backend"),
					cell(t, r, "reclaim"));
	else if (!excluded("reclaim", sa, sb) && strcmp(cell(t, r, "reclaim"), "-"))
		off += (size_t)snprintf(buf + off, len - off, "%s ", cell(t, r, "reclaim"));
	if (!excluded("workload", sa, sb))
		off += (size_t)snprintf(buf + off, len - off, "%s ", cell(t, r, "workload"));
	off += (size_t)snprintf(buf + off, len - off, "p=%s w=%s", cell(t, r, "producers"),
				cell(t, r, "workers"));
	for (size_t i = 0; i < PB_ARRAY_SIZE(extra) && off < len; i++) {
		const char *v = cell(t, r, extra[i]);

		if (excluded(extra[i], sa, sb) || !extra_varies[i] || !strcmp(v, "-"))
			continue;
		off += (size_t)snprintf(buf + off, len - off, " %s=%s", extra[i], v);
	}
}

static void usage_compare(void)
{
	pb_usage_error("compare: usage: poolbench compare A B [--metric COL] [--out FILE], or "
		       "poolbench compare DIR --a SERIES --b SERIES [--metric COL] [--out FILE] "
		       "(SERIES: COLUMN=VALUE[,...])");
}

int pb_compare_cmd(int argc, char **argv)
{
	const char *dirs[2] = {NULL, NULL}, *a_arg = NULL, *b_arg = NULL, *out = NULL;
	const char *metric = "ns_per_job";
	unsigned ndirs = 0;
	struct pb_table ta, tb;
	struct series sa, sb, *psa = NULL, *psb = NULL;
	struct side A = {0}, B = {0};
	size_t ncommon = 0;
	int c_ma, c_mb, lw = 5;
	FILE *csv = NULL;
	char tmp[4096];

	for (int i = 1; i < argc; i++) {
		const char **dst = NULL;

		if (!strcmp(argv[i], "--a"))
			dst = &a_arg;
		else if (!strcmp(argv[i], "--b"))
			dst = &b_arg;
		else if (!strcmp(argv[i], "--out"))
			dst = &out;
		else if (!strcmp(argv[i], "--metric"))
			dst = &metric;
		else if (argv[i][0] == '-')
			pb_usage_error("compare: unknown option '%s', allowed: --a, --b, --metric, --out",
				       argv[i]);
		else if (ndirs == 2)
			usage_compare();
		else
			dirs[ndirs++] = argv[i];
		if (dst) {
			if (i + 1 >= argc || !argv[i + 1][0])
				pb_usage_error("compare: option '%s' needs a value", argv[i]);
			*dst = argv[++i];
		}
	}
	if (!!a_arg != !!b_arg)
		pb_usage_error("compare: --a and --b go together (two series of one directory)");
	if ((a_arg && ndirs != 1) || (!a_arg && ndirs != 2))
		usage_compare();
	memset(&ta, 0, sizeof(ta));
	memset(&tb, 0, sizeof(tb));
	read_results(dirs[0], &ta);
	if (ndirs == 2) {
		read_results(dirs[1], &tb);
		for (size_t c = 0; c < ta.ncols || c < tb.ncols; c++)
			if (c >= ta.ncols || c >= tb.ncols || strcmp(ta.hdr[c], tb.hdr[c]))
				pb_usage_error("compare: %s/results.csv and %s/results.csv have different "
					       "columns (column %zu: '%s' vs '%s'), allowed: results of the "
					       "same schema_version", dirs[0], dirs[1], c + 1,
					       c < ta.ncols ? ta.hdr[c] : "(none)",
					       c < tb.ncols ? tb.hdr[c] : "(none)");
	}
	c_ma = pb_table_col(&ta, metric);
	if (c_ma < 0)
		pb_usage_error("compare: --metric '%s' is not a results.csv column, allowed: a numeric "
			       "column such as ns_per_job, jobs_per_s, lat_p99_ns", metric);
	if (a_arg) {
		parse_series(&ta, "--a", a_arg, &sa);
		parse_series(&ta, "--b", b_arg, &sb);
		psa = &sa;
		psb = &sb;
		load_side(&A, &ta, c_ma, psa, psa, psb);
		load_side(&B, &ta, c_ma, psb, psa, psb);
		B.t = &ta;
	} else {
		c_mb = pb_table_col(&tb, metric);
		load_side(&A, &ta, c_ma, NULL, NULL, NULL);
		load_side(&B, &tb, c_mb, NULL, NULL, NULL);
	}
	for (size_t i = 0; i < A.np; i++)
		for (size_t j = 0; j < B.np; j++)
			if (!strcmp(A.p[i].key, B.p[j].key))
				ncommon++;
	if (!ncommon) {
		if (a_arg)
			pb_usage_error("compare: no common points: %zu point%s match --a %s and %zu match "
				       "--b %s, and none of them agree on the other columns", A.np,
				       A.np == 1 ? "" : "s", a_arg, B.np, b_arg);
		pb_usage_error("compare: no common points: %s has %zu point%s and %s %zu, with no "
			       "point_id in both (the same configuration in both sweeps)", dirs[0],
			       A.np, A.np == 1 ? "" : "s", dirs[1], B.np);
	}
	if (out) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", out);
		csv = fopen(tmp, "w");
		if (!csv)
			pb_usage_error("compare: cannot create %s: %s", tmp, strerror(errno));
		fprintf(csv, "point,point_id_a,point_id_b,metric,n_a,n_b,median_a,median_b,ratio,"
			     "ci95_lo,ci95_hi,p_value,test,significant\n");
	}
	printf("A: %s\nB: %s\nmetric: %s (ok repetitions); ratio B/A: Hodges-Lehmann, 95%% CI: "
	       "Moses, p: Mann-Whitney U; ~ p >= 0.05\n\n",
	       a_arg ? a_arg : dirs[0], b_arg ? b_arg : dirs[1], metric);
	/* Extra columns in the labels: those that differ among the points compared. */
	for (size_t e = 0; e < PB_ARRAY_SIZE(extra); e++) {
		const char *first = NULL;

		for (size_t i = 0; i < A.np; i++) {
			const char *v = cell(A.t, A.p[i].row0, extra[e]);

			if (first && strcmp(first, v))
				extra_varies[e] = true;
			first = first ? first : v;
		}
	}
	/* The point column is as wide as its longest label. */
	for (size_t i = 0; i < A.np; i++)
		for (size_t j = 0; j < B.np; j++) {
			char lab[512];

			if (strcmp(A.p[i].key, B.p[j].key))
				continue;
			label(A.t, A.p[i].row0, psa, psb, lab, sizeof(lab));
			if ((int)strlen(lab) > lw)
				lw = (int)strlen(lab);
		}
	printf("%-*s %12s %12s %8s %19s %7s %5s\n", lw, "point", "median A", "median B", "B/A",
	       "95% CI", "p", "n");
	for (size_t i = 0; i < A.np; i++)
		for (size_t j = 0; j < B.np; j++) {
			struct cpoint *pa = &A.p[i], *pb = &B.p[j];
			struct cmp_result r;
			char lab[512], ci[64] = "-", pv[32] = "-";
			bool sig = false;

			if (strcmp(pa->key, pb->key))
				continue;
			label(A.t, pa->row0, psa, psb, lab, sizeof(lab));
			if (!pa->n || !pb->n) {
				printf("%-*s %12s %12s %8s %19s %7s %2u,%-2u no ok repetition on a side\n",
				       lw, lab, "-", "-", "-", "-", "-", pa->n, pb->n);
				if (csv) {
					pb_csv_put_field(csv, lab, 1);
					fprintf(csv, ",%s,%s,%s,%u,%u,-,-,-,-,-,-,-,false\n",
						A.t->rows[pa->row0][pb_table_col(A.t, "point_id")],
						B.t->rows[pb->row0][pb_table_col(B.t, "point_id")], metric,
						pa->n, pb->n);
				}
				continue;
			}
			if (mw_compare(pa->v, pa->n, pb->v, pb->n, &r)) {
				pb_log("compare: out of memory");
				return PB_EXIT_NORES;
			}
			sig = r.p < ALPHA;
			if (r.have_ci)
				snprintf(ci, sizeof(ci), "[%.3f, %.3f]", r.lo, r.hi);
			else
				snprintf(ci, sizeof(ci), "n/a (few reps)");
			snprintf(pv, sizeof(pv), r.p >= 0.001 ? "%.3f" : "%.1e", r.p);
			printf("%-*s %12.2f %12.2f %7.3fx %19s %7s %2u,%-2u %s\n", lw, lab, r.med_a, r.med_b,
			       r.ratio, ci, pv, pa->n, pb->n, sig ? "" : "~");
			if (csv) {
				pb_csv_put_field(csv, lab, 1);
				fprintf(csv, ",%s,%s,%s,%u,%u,%.6g,%.6g,%.6g,",
					A.t->rows[pa->row0][pb_table_col(A.t, "point_id")],
					B.t->rows[pb->row0][pb_table_col(B.t, "point_id")], metric, pa->n,
					pb->n, r.med_a, r.med_b, r.ratio);
				if (r.have_ci)
					fprintf(csv, "%.6g,%.6g,", r.lo, r.hi);
				else
					fputs("-,-,", csv);
				fprintf(csv, "%.6g,%s,%s\n", r.p, r.exact ? "exact" : "normal",
					sig ? "true" : "false");
			}
		}
	if (csv) {
		if (fflush(csv) || ferror(csv) | fclose(csv) || rename(tmp, out)) {
			pb_log("compare: cannot write %s: %s", out, strerror(errno));
			unlink(tmp);
			return PB_EXIT_FAIL;
		}
	}
	pb_table_free(&ta);
	pb_table_free(&tb);
	return PB_EXIT_OK;
}
