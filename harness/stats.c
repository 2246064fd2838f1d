/* SPDX-License-Identifier: MIT */
/*
 * Statistics over repetitions and summary.csv: a small RFC 4180 reader for
 * results.csv, per-point median / min / max / mean / standard deviation / 95 %
 * Student-t confidence interval of ns_per_job and jobs_per_s, the coefficient
 * of variation behind the stopping rule, and the summary table on stdout.
 * Single-threaded (the parent process, or "poolbench merge").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"

/* ---- CSV reader ------------------------------------------------------------- */

void pb_table_free(struct pb_table *t)
{
	for (size_t i = 0; i < t->nrows; i++)
		free(t->rows[i]);
	free(t->rows);
	free(t->raw);
	free(t->hdr);
	free(t->buf);
	free(t->rawbuf);
	memset(t, 0, sizeof(*t));
}

static int grow(void *pptr, size_t *cap, size_t need, size_t elem)
{
	void **p = pptr;

	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;

	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elem);

	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/*
 * Parse one record starting at buf[*pos] into fields (unquoted in place).
 * Returns the number of fields, 0 at the end of the data, or -1 when the
 * record is not terminated by a newline (a row cut short by a kill).
 */
static long parse_record(char *buf, size_t len, size_t *pos, char ***fields, size_t *cap)
{
	size_t i = *pos, n = 0;

	if (i >= len)
		return 0;
	for (;;) {
		char *out = buf + i, *start = out;

		if (grow(fields, cap, n + 1, sizeof(char *)))
			return -2;
		if (i < len && buf[i] == '"') {
			i++;
			for (;;) {
				if (i >= len)
					return -1;
				if (buf[i] == '"') {
					if (i + 1 < len && buf[i + 1] == '"') {
						*out++ = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				*out++ = buf[i++];
			}
			/* Anything up to the separator after the closing quote is kept. */
			while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
				*out++ = buf[i++];
		} else {
			while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
				*out++ = buf[i++];
		}
		if (i >= len)
			return -1; /* no newline: incomplete */
		char sep = buf[i];

		*out = 0; /* out <= buf + i: the separator is overwritten at most */
		(*fields)[n++] = start;
		i++;
		if (sep == ',')
			continue;
		if (sep == '\r' && i < len && buf[i] == '\n')
			i++;
		*pos = i;
		return (long)n;
	}
}

int pb_table_read(const char *path, struct pb_table *t, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0, len = 0, pos = 0, rcap = 0, fcap = 0;
	char **fields = NULL;
	long nf;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return rc;
	}
	for (;;) {
		if (grow(&t->buf, &cap, len + 65536 + 1, 1)) {
			rc = -ENOMEM;
			break;
		}
		size_t got = fread(t->buf + len, 1, cap - len - 1, f);

		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f) && !rc)
		rc = -EIO;
	fclose(f);
	if (rc) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		pb_table_free(t);
		return rc;
	}
	t->buf[len] = 0;
	t->rawbuf = malloc(len + 1);
	if (!t->rawbuf) {
		pb_table_free(t);
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(t->rawbuf, t->buf, len + 1);

	/* Header. */
	nf = parse_record(t->buf, len, &pos, &fields, &fcap);
	if (nf <= 0) {
		free(fields);
		snprintf(err, errlen, "%s has no header line", path);
		pb_table_free(t);
		return -EINVAL;
	}
	t->ncols = (size_t)nf;
	t->hdr = fields;
	fields = NULL;
	fcap = 0;
	t->good_len = pos;

	for (;;) {
		size_t start = pos, end;
		char **row;

		nf = parse_record(t->buf, len, &pos, &fields, &fcap);
		if (nf == 0)
			break;
		if (nf == -1) {
			t->partial = true; /* a row cut short: left out */
			break;
		}
		if (nf < 0 || grow(&t->rows, &rcap, t->nrows + 1, sizeof(*t->rows)) ||
		    grow(&t->raw, &t->rawcap, t->nrows + 1, sizeof(*t->raw))) {
			free(fields);
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(ENOMEM));
			pb_table_free(t);
			return -ENOMEM;
		}
		if ((size_t)nf != t->ncols) {
			snprintf(err, errlen, "%s: row %zu has %ld fields, the header %zu", path,
				 t->nrows + 2, nf, t->ncols);
			free(fields);
			pb_table_free(t);
			return -EINVAL;
		}
		row = malloc(t->ncols * sizeof(*row));
		if (!row) {
			free(fields);
			pb_table_free(t);
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(ENOMEM));
			return -ENOMEM;
		}
		memcpy(row, fields, t->ncols * sizeof(*row));
		end = pos;
		while (end > start && (t->rawbuf[end - 1] == '\n' || t->rawbuf[end - 1] == '\r'))
			end--;
		t->rawbuf[end] = 0;
		t->raw[t->nrows] = t->rawbuf + start;
		t->rows[t->nrows++] = row;
		t->good_len = pos;
	}
	free(fields);
	return 0;
}

int pb_table_col(const struct pb_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->hdr[i], name))
			return (int)i;
	return -1;
}

/* ---- statistics --------------------------------------------------------------- */

/*
 * Two-sided 95 % quantile of Student's t distribution with @df degrees of
 * freedom, t(0.975, df).  df 1..30 from the standard table (rounded to 3
 * decimals); above 30 the Cornish-Fisher expansion around z = 1.959964,
 * which is within 1e-4 of the exact value there.
 */
double pb_t975(unsigned df)
{
	static const double tab[31] = {
		NAN,   12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
		2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
	};
	const double z = 1.959964, v = df;

	if (df == 0)
		return NAN;
	if (df <= 30)
		return tab[df];
	return z + (z * z * z + z) / (4 * v) +
	       (5 * pow(z, 5) + 16 * pow(z, 3) + 3 * z) / (96 * v * v) +
	       (3 * pow(z, 7) + 19 * pow(z, 5) + 17 * pow(z, 3) - 15 * z) / (384 * v * v * v);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Order-statistic interval of the median of sorted w[0..n-1] (n >= 2). */
static void median_ci(const double *w, unsigned n, struct pb_stat *s)
{
	double logp = -(double)n * log(2.0), tail = 0, cover = NAN;
	unsigned k = 1;

	/* tail = P(Bin(n, 1/2) <= j - 1), built up term by term; rank j is
	 * usable while its coverage 1 - 2 * tail is >= 0.95.  Rank 1 (min ..
	 * max) is the fallback, with its own (lower) coverage. */
	for (unsigned j = 1; j <= n / 2; j++) {
		double c;

		/* add P(X = j - 1) = C(n, j - 1) / 2^n */
		tail += exp(lgamma(n + 1.0) - lgamma((double)j) - lgamma((double)(n - j + 2)) + logp);
		c = 1 - 2 * tail;
		if (j > 1 && c < 0.95)
			break;
		k = j;
		cover = c;
	}
	s->med_lo = w[k - 1];
	s->med_hi = w[n - k];
	s->med_level = cover;
}

void pb_stat_compute(const double *v, unsigned n, struct pb_stat *s)
{
	double *w, sum = 0, ss = 0;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->median = s->min = s->max = s->mean = s->sd = s->ci_lo = s->ci_hi = NAN;
	s->med_lo = s->med_hi = s->med_level = NAN;
	if (!n)
		return;
	w = malloc(n * sizeof(*w));
	if (!w)
		return;
	memcpy(w, v, n * sizeof(*w));
	qsort(w, n, sizeof(*w), cmp_double);
	s->min = w[0];
	s->max = w[n - 1];
	s->median = n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
	for (unsigned i = 0; i < n; i++)
		sum += w[i];
	s->mean = sum / n;
	if (n >= 2) {
		for (unsigned i = 0; i < n; i++)
			ss += (w[i] - s->mean) * (w[i] - s->mean);
		s->sd = sqrt(ss / (n - 1));
		double half = pb_t975(n - 1) * s->sd / sqrt((double)n);

		s->ci_lo = s->mean - half;
		s->ci_hi = s->mean + half;
		median_ci(w, n, s);
	}
	free(w);
}

double pb_cov_pct(const double *v, unsigned n)
{
	struct pb_stat s;

	if (n < 2)
		return NAN;
	pb_stat_compute(v, n, &s);
	if (!(s.mean > 0))
		return NAN;
	return s.sd / s.mean * 100.0;
}

bool pb_rule_met(const double *ok, unsigned n_ok, const struct pb_rule *r, double *cov_out)
{
	unsigned k = r->min_reps < 2 ? 2 : r->min_reps;
	unsigned use = n_ok < k ? n_ok : k;
	double cov = use >= 2 ? pb_cov_pct(ok + (n_ok - use), use) : NAN;

	if (cov_out)
		*cov_out = cov;
	return r->cov_pct > 0 && n_ok >= k && r->min_reps >= 2 && cov < r->cov_pct;
}

/* ---- summary.csv ------------------------------------------------------------ */

/* Columns copied from the first row of each point (those the file has). */
static const char *const cfg_cols[] = {
	"backend", "reclaim", "workload", "producers", "workers", "seg_size", "seg_count",
	"capacity", "seg_supply", "batch", "submit_batch", "backlog", "coalesce", "idle_poll", "wake_min_jobs",
	"flush_us", "jobs", "pin_workers",
	"pin_producers", "backend_opts", "reclaim_opts", "workload_opts", "mode", "rate_target",
	"duration_ms", "latency",
};

static const char *const stat_names[] = {"median", "min", "max", "mean", "sd", "ci95_lo",
					  "ci95_hi", "med_ci_lo", "med_ci_hi"};

const char *pb_summary_header(void)
{
	static char buf[2048];
	size_t off = 0;

	if (buf[0])
		return buf;
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "schema_version,point_id");
	for (size_t i = 0; i < PB_ARRAY_SIZE(cfg_cols); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, ",%s", cfg_cols[i]);
	off += (size_t)snprintf(buf + off, sizeof(buf) - off,
				",reps_run,reps_ok,n_invalid,n_error,n_crash,n_stall,n_skip");
	for (int m = 0; m < 2; m++)
		for (size_t i = 0; i < PB_ARRAY_SIZE(stat_names); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, ",%s_%s",
						m ? "jobs_per_s" : "ns_per_job", stat_names[i]);
	snprintf(buf + off, sizeof(buf) - off,
		 ",med_ci_level,cov_pct,cov_k,min_reps,cov_target_pct,cov_met,worst_status,n_noisy");
	return buf;
}


static void put_num(FILE *f, double v, const char *fmt)
{
	if (isnan(v))
		fputs(",-", f);
	else {
		fputc(',', f);
		fprintf(f, fmt, v);
	}
}

static int status_rank(const char *s)
{
	static const char *const sev[] = {"ok", "skip", "invalid", "error", "crash", "stall"};

	for (size_t i = 0; i < PB_ARRAY_SIZE(sev); i++)
		if (!strcmp(s, sev[i]))
			return (int)i;
	return (int)PB_ARRAY_SIZE(sev);
}

struct pgroup {
	const char *id;
	size_t *rows; /* row indexes, sorted by rep */
	size_t n, cap;
};

static const struct pb_table *sort_tab;
static int sort_repcol;

static int cmp_rep(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	long rx = strtol(sort_tab->rows[x][sort_repcol], NULL, 10);
	long ry = strtol(sort_tab->rows[y][sort_repcol], NULL, 10);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return x < y ? -1 : x > y;
}

static const char *cell(const struct pb_table *t, size_t row, int col)
{
	return col >= 0 ? t->rows[row][col] : "-";
}

/* The backend-option axes of a row, "seg_size=64 seg_count=128" or "-". */
static void row_params(const struct pb_table *t, size_t row0, char *params, size_t len)
{
	static const char *const par[] = {"seg_size", "seg_count", "capacity", "seg_supply"};
	size_t off = 0;

	params[0] = 0;
	for (size_t i = 0; i < PB_ARRAY_SIZE(par); i++) {
		const char *v = cell(t, row0, pb_table_col(t, par[i]));

		if (strcmp(v, "-") && off < len)
			off += (size_t)snprintf(params + off, len - off, "%s%s=%s", off ? " " : "",
						par[i], v);
	}
	/* Any other backend option that varies across the table (an axis such
	 * as --backend-opt readiness=stamp,bitmap): the lines must differ. */
	{
		const int bc = pb_table_col(t, "backend_opts");
		const char *mine = cell(t, row0, bc);

		for (const char *o = mine; bc >= 0 && *o;) {
			const size_t n = strcspn(o, ";");
			const char *eq = memchr(o, '=', n);
			const size_t kl = eq ? (size_t)(eq - o) : n;
			bool varies = false;

			/* the four columns above are already shown */
			for (size_t i = 0; eq && i < PB_ARRAY_SIZE(par); i++) {
				const char *c = par[i];
				size_t j = 0;

				while (j < kl && c[j] && (c[j] == o[j] || (c[j] == '_' && o[j] == '-')))
					j++;
				if (j == kl && !c[j])
					eq = NULL;
			}
			for (size_t r = 0; eq && !varies && r < t->nrows; r++) {
				const char *other = cell(t, r, bc), *f = other;

				/* find "key=" in the other row's list; same value? */
				for (; *f; f += strcspn(f, ";"), f += *f == ';') {
					if (!strncmp(f, o, kl + 1)) {
						varies = strncmp(f, o, n) || (f[n] && f[n] != ';');
						break;
					}
				}
			}
			if (varies && off < len)
				off += (size_t)snprintf(params + off, len - off, "%s%.*s", off ? " " : "",
							(int)n, o);
			o += n;
			o += *o == ';';
		}
	}
	/* The pool's own axes (--batch, --coalesce, --idle-poll, ...): shown
	 * where they vary across the table, so that those lines differ too. */
	{
		static const char *const pool[] = {"batch", "submit_batch", "backlog", "coalesce",
						   "idle_poll", "wake_min_jobs", "flush_us"};

		for (size_t i = 0; i < PB_ARRAY_SIZE(pool); i++) {
			const int c = pb_table_col(t, pool[i]);
			const char *v = cell(t, row0, c);
			bool varies = false;

			for (size_t r = 0; c >= 0 && !varies && r < t->nrows; r++)
				varies = strcmp(cell(t, r, c), v) != 0;
			if (varies && off < len)
				off += (size_t)snprintf(params + off, len - off, "%s%s=%s",
							off ? " " : "", pool[i], v);
		}
	}
	/* Reclaimer and workload options: an axis of theirs (--reclaim-opt
	 * threshold=16,64) must tell the lines apart. */
	for (size_t i = 0; i < 2; i++) {
		const char *v = cell(t, row0, pb_table_col(t, i ? "workload_opts" : "reclaim_opts"));

		if (strcmp(v, "-") && off < len)
			off += (size_t)snprintf(params + off, len - off, "%s%s", off ? " " : "", v);
	}
	if (!off)
		snprintf(params, len, "-");
}

static void table_line(FILE *out, const struct pb_table *t, size_t row0, const struct pb_stat *ns,
		       unsigned nrun, unsigned nok, double cov, bool met, const char *worst, int pw)
{
	char params[256];

	row_params(t, row0, params, sizeof(params));
	fprintf(out, "%-10s %-10s %-8s %3s %3s %-*s ", cell(t, row0, pb_table_col(t, "backend")),
		cell(t, row0, pb_table_col(t, "reclaim")), cell(t, row0, pb_table_col(t, "workload")),
		cell(t, row0, pb_table_col(t, "producers")), cell(t, row0, pb_table_col(t, "workers")),
		pw, params);
	if (ns->n) {
		fprintf(out, "%11.1f ", ns->median);
		if (ns->n >= 2)
			fprintf(out, "%9.1f", (ns->ci_hi - ns->ci_lo) / 2);
		else
			fprintf(out, "%9s", "-");
		fprintf(out, " %11.1f %11.1f %13.0f", ns->min, ns->max,
			ns->median > 0 ? 1e9 / ns->median : 0.0);
	} else {
		fprintf(out, "%11s %9s %11s %11s %13s", "-", "-", "-", "-", "-");
	}
	fprintf(out, " %3u/%-3u", nok, nrun);
	if (isnan(cov))
		fprintf(out, " %6s", "-");
	else
		fprintf(out, " %5.1f%%", cov);
	fprintf(out, " %-3s %s\n", met ? "yes" : "no", worst);
}

int pb_summary_write(const char *dir, const struct pb_rule *dflt, pb_rule_lookup lookup, void *ctx,
		     FILE *table_out)
{
	char path[4096], tmp[4096], err[512];
	struct pb_table t;
	struct pgroup *g = NULL;
	size_t ng = 0, gcap = 0;
	int c_id, c_rep, c_st, c_ns, c_jps, c_sv, rc;
	int cfg_idx[PB_ARRAY_SIZE(cfg_cols)];
	double *nsv = NULL, *jpv = NULL;
	FILE *f;
	int pw = 6;

	snprintf(path, sizeof(path), "%s/results.csv", dir);
	rc = pb_table_read(path, &t, err, sizeof(err));
	if (rc) {
		pb_log("summary: %s", err);
		return rc;
	}
	c_id = pb_table_col(&t, "point_id");
	c_rep = pb_table_col(&t, "rep");
	c_st = pb_table_col(&t, "status");
	c_ns = pb_table_col(&t, "ns_per_job");
	c_jps = pb_table_col(&t, "jobs_per_s");
	c_sv = pb_table_col(&t, "schema_version");
	if (c_id < 0 || c_rep < 0 || c_st < 0 || c_ns < 0 || c_jps < 0) {
		pb_log("summary: %s lacks point_id, rep, status, ns_per_job or jobs_per_s", path);
		pb_table_free(&t);
		return -EINVAL;
	}
	for (size_t i = 0; i < PB_ARRAY_SIZE(cfg_cols); i++)
		cfg_idx[i] = pb_table_col(&t, cfg_cols[i]);

	/* Group rows by point_id, in order of first appearance. */
	for (size_t r = 0; r < t.nrows; r++) {
		const char *id = t.rows[r][c_id];
		size_t k;

		for (k = ng; k > 0; k--)
			if (!strcmp(g[k - 1].id, id))
				break;
		if (k == 0) {
			if (grow(&g, &gcap, ng + 1, sizeof(*g)))
				goto oom;
			memset(&g[ng], 0, sizeof(*g));
			g[ng].id = id;
			k = ++ng;
		}
		struct pgroup *pg = &g[k - 1];

		if (grow(&pg->rows, &pg->cap, pg->n + 1, sizeof(size_t)))
			goto oom;
		pg->rows[pg->n++] = r;
	}
	nsv = malloc((t.nrows + 1) * sizeof(double));
	jpv = malloc((t.nrows + 1) * sizeof(double));
	if (!nsv || !jpv)
		goto oom;

	snprintf(tmp, sizeof(tmp), "%s/.summary.csv.tmp", dir);
	f = fopen(tmp, "w");
	if (!f) {
		rc = -errno;
		pb_log("summary: cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	fprintf(f, "%s\n", pb_summary_header());
	for (size_t k = 0; table_out && k < ng; k++) {
		char params[256];

		row_params(&t, g[k].rows[0], params, sizeof(params));
		if ((int)strlen(params) > pw)
			pw = (int)strlen(params);
	}
	if (table_out) {
		fprintf(table_out, "\n%-10s %-10s %-8s %3s %3s %-*s %11s %9s %11s %11s %13s %7s %6s %-3s %s\n",
			"backend", "reclaim", "workload", "p", "w", pw, "params", "ns/job med",
			"ci95 +-", "min", "max", "jobs/s med", "ok/reps", "cov", "met", "status");
	}
	for (size_t k = 0; k < ng; k++) {
		struct pgroup *pg = &g[k];
		struct pb_stat ns, jp;
		struct pb_rule rule = *dflt;
		unsigned nrun = 0, nok = 0, cnt[6] = {0}, nnoisy = 0;
		const char *worst = "ok";
		double cov;
		bool met;
		size_t r0 = pg->rows[0];

		sort_tab = &t;
		sort_repcol = c_rep;
		qsort(pg->rows, pg->n, sizeof(size_t), cmp_rep);
		for (size_t i = 0; i < pg->n; i++) {
			char **row = t.rows[pg->rows[i]];
			int sr = status_rank(row[c_st]);

			nrun++;
			if (!strcmp(row[c_st], "noisy")) {
				/* kept, not counted (issue 8): worse than ok only */
				nnoisy++;
				if (!strcmp(worst, "ok"))
					worst = row[c_st];
				continue;
			}
			if (sr < 6)
				cnt[sr]++;
			if (sr > status_rank(worst) || (sr > 0 && !strcmp(worst, "noisy")))
				worst = row[c_st];
			if (sr == 0) {
				char *e1, *e2;
				double a = strtod(row[c_ns], &e1), b = strtod(row[c_jps], &e2);

				if (*e1 || e1 == row[c_ns] || *e2 || e2 == row[c_jps])
					continue; /* not measured ("-") */
				nsv[nok] = a;
				jpv[nok] = b;
				nok++;
			}
		}
		if (lookup)
			lookup(ctx, pg->id, &rule);
		pb_stat_compute(nsv, nok, &ns);
		pb_stat_compute(jpv, nok, &jp);
		met = pb_rule_met(nsv, nok, &rule, &cov);

		fprintf(f, "%s", c_sv >= 0 ? t.rows[r0][c_sv] : "-");
		pb_csv_put_field(f, pg->id, 0);
		for (size_t i = 0; i < PB_ARRAY_SIZE(cfg_cols); i++)
			pb_csv_put_field(f, cell(&t, r0, cfg_idx[i]), 0);
		fprintf(f, ",%u,%u,%u,%u,%u,%u,%u", nrun, nok, cnt[RS_INVALID], cnt[RS_ERROR],
			cnt[RS_CRASH], cnt[RS_STALL], cnt[RS_SKIP]);
		for (int m = 0; m < 2; m++) {
			const struct pb_stat *s = m ? &jp : &ns;
			const char *fmt = m ? "%.0f" : "%.3f";

			put_num(f, s->median, fmt);
			put_num(f, s->min, fmt);
			put_num(f, s->max, fmt);
			put_num(f, s->mean, fmt);
			put_num(f, s->sd, fmt);
			put_num(f, s->ci_lo, fmt);
			put_num(f, s->ci_hi, fmt);
			put_num(f, s->med_lo, fmt);
			put_num(f, s->med_hi, fmt);
		}
		put_num(f, ns.med_level, "%.4f");
		put_num(f, cov, "%.3f");
		fprintf(f, ",%u,%u,%g,%s,%s,%u\n", nok < (rule.min_reps < 2 ? 2 : rule.min_reps) ?
			nok : (rule.min_reps < 2 ? 2 : rule.min_reps), rule.min_reps, rule.cov_pct,
			met ? "true" : "false", worst, nnoisy);
		if (table_out) {
			table_line(table_out, &t, r0, &ns, nrun, nok, cov, met, worst, pw);
		}
	}
	if (table_out)
		fflush(table_out);
	fflush(f);
	fsync(fileno(f));
	if (ferror(f) | fclose(f)) {
		rc = -EIO;
		pb_log("summary: error writing %s", tmp);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/summary.csv", dir);
	if (rename(tmp, path)) {
		rc = -errno;
		pb_log("summary: cannot rename %s to %s: %s", tmp, path, strerror(errno));
	}
	goto out;
oom:
	rc = -ENOMEM;
	pb_log("summary: out of memory");
out:
	for (size_t k = 0; k < ng; k++)
		free(g[k].rows);
	free(g);
	free(nsv);
	free(jpv);
	pb_table_free(&t);
	return rc;
}
