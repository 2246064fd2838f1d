/* SPDX-License-Identifier: MIT */
/*
 * "poolbench merge DIR... --out DIR": join the shards of one sweep (or a
 * sweep's directory and a copy of part of it).  Every input must have the CSV
 * header of this poolbench; the inputs' meta.json must record one sweep
 * identity (meta.c: the whole plan, commit, build) cut into one N: shards of
 * two sweeps, or cut differently (1/2 with 2/4), are refused naming what
 * differs.  A (point_id, rep) found twice is dropped when the two rows are
 * identical and refused when they differ.  Then completeness: a missing shard,
 * and missing (point, rep) pairs of the shards present (a gap in the reps, or
 * a point whose stopping rule is not met yet), are named and refused unless
 * --allow-partial, which merges anyway and records the gap in meta.json.  Rows
 * and timeseries.csv lines are concatenated in input order; the meta.json
 * files are kept whole under "sources" and their runs joined; summary.csv is
 * recomputed.  Nothing is written unless every input checks out.
 *
 * "poolbench status DIR...": the same completeness check, reported per shard
 * with the command that completes it.  Single-threaded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"

struct input {
	const char *dir;
	struct pb_table t;
	char *meta;            /* meta.json text */
	const char *runs;      /* start of the runs' entries inside meta */
	size_t runs_len;
	struct pb_table sum;   /* its summary.csv, if any */
	bool have_sum;
	struct pb_meta_run *mruns; /* its runs, read back (sweep identity, planned points) */
	int nruns;
};

/* ---- a string -> value hash table (open addressing, grows at 1/2) ---------- */

struct strmap {
	size_t cap, n;
	char **key;
	long *val;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static long *map_slot(struct strmap *m, const char *key, bool insert)
{
	if (insert && (m->n + 1) * 2 > m->cap) {
		struct strmap nm = {.cap = m->cap ? m->cap * 2 : 1024};

		nm.key = pb_xalloc(nm.cap, sizeof(char *));
		nm.val = pb_xalloc(nm.cap, sizeof(long));
		for (size_t i = 0; i < m->cap; i++)
			if (m->key[i])
				*map_slot(&nm, m->key[i], true) = m->val[i];
		*m = nm;
	}
	if (!m->cap)
		return NULL;
	for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->key[i]) {
			if (!insert)
				return NULL;
			m->key[i] = pb_xstrdup(key);
			m->n++;
			return &m->val[i];
		}
		if (!strcmp(m->key[i], key))
			return &m->val[i];
	}
}

/* ---- helpers ---------------------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char *tmp = pb_xstrdup(path);

	for (char *p = tmp + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;

			*p = 0;
			if (mkdir(tmp, 0777) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static const char meta_tail[] = "\n  ]\n}\n";
static const char runs_head[] = "\n  \"runs\": [\n";

/* Find the runs' entries of a meta.json written by poolbench (its last
 * top-level key); -EINVAL if the file is not in that form. */
static int find_runs(struct input *in)
{
	size_t len = strlen(in->meta), tl = sizeof(meta_tail) - 1;
	const char *p, *last = NULL;

	if (len < tl || strcmp(in->meta + len - tl, meta_tail) || in->meta[0] != '{')
		return -EINVAL;
	for (p = strstr(in->meta, runs_head); p; p = strstr(p + 1, runs_head))
		last = p;
	if (!last)
		return -EINVAL;
	in->runs = last + sizeof(runs_head) - 1;
	if (in->runs > in->meta + len - tl)
		return -EINVAL;
	in->runs_len = (size_t)(in->meta + len - tl - in->runs);
	return 0;
}

/* The raw JSON string value of a top-level key ("  \"key\": \"...\""). */
static char *top_string(const char *meta, const char *key)
{
	char pat[128];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\n  \"%s\": \"", key);
	p = strstr(meta, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	for (e = p; *e && *e != '"' && *e != '\n'; e++)
		if (*e == '\\' && e[1])
			e++;
	if (*e != '"')
		return NULL;
	char *s = pb_xalloc((size_t)(e - p) + 1, 1);

	memcpy(s, p, (size_t)(e - p));
	return s;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Unique raw JSON string values of @key over the inputs, ", "-joined. */
static void joined(FILE *f, struct input *in, int n, const char *key)
{
	const char *seen[256];
	int ns = 0;

	fprintf(f, "  \"%s\": \"", key);
	for (int i = 0; i < n && ns < 256; i++) {
		char *v = top_string(in[i].meta, key);
		int dup = 0;

		if (!v)
			continue;
		for (int k = 0; k < ns; k++)
			if (!strcmp(seen[k], v))
				dup = 1;
		if (dup)
			continue;
		fprintf(f, "%s%s", ns ? ", " : "", v);
		seen[ns++] = v;
	}
	fputs("\",\n", f);
}

struct rule_ctx {
	struct strmap map; /* point_id -> index into rules */
	struct pb_rule *rules;
	size_t n;
};

static void lookup_rule(void *ctx, const char *id, struct pb_rule *r)
{
	struct rule_ctx *rc = ctx;
	long *v = map_slot(&rc->map, id, false);

	if (v)
		*r = rc->rules[*v];
}

struct sweep_view;
struct gap;
static void write_sweep_merge(FILE *f, const struct sweep_view *v, const struct gap *g, bool partial);

static int write_meta(const char *out, struct input *in, int n, const char *cmdline,
		      size_t rows, size_t dups, const struct sweep_view *v, const struct gap *g,
		      bool partial)
{
	char path[4096], tmp[4096], date[64];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int first = 1;

	snprintf(tmp, sizeof(tmp), "%s/.meta.json.tmp", out);
	snprintf(path, sizeof(path), "%s/meta.json", out);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "{\n  \"schema_version\": %d,\n  \"date\": \"%s\",\n", PB_SCHEMA_VERSION, date);
	joined(f, in, n, "host");
	joined(f, in, n, "cpu_model");
	fputs("  \"merge\": {\"command\": ", f);
	json_str(f, cmdline);
	fputs(", \"inputs\": [", f);
	for (int i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, in[i].dir);
	}
	fprintf(f, "], \"rows\": %zu, \"duplicates_dropped\": %zu, ", rows, dups);
	write_sweep_merge(f, v, g, partial);
	fputs("},\n", f);
	fputs("  \"sources\": [\n", f);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(in[i].meta);

		while (len && (in[i].meta[len - 1] == '\n' || in[i].meta[len - 1] == ' '))
			len--;
		fwrite(in[i].meta, 1, len, f);
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	fputs("  ],", f);
	fputs(runs_head, f);
	for (int i = 0; i < n; i++) {
		if (!in[i].runs_len)
			continue;
		if (!first)
			fputs(",\n", f);
		fwrite(in[i].runs, 1, in[i].runs_len, f);
		first = 0;
	}
	fputs(meta_tail, f);
	fflush(f);
	fsync(fileno(f));
	if (ferror(f) | fclose(f))
		return -EIO;
	return rename(tmp, path) ? -errno : 0;
}

/* ---- the sweep's shards and what is missing (merge and status) -------------------- */

struct prow {
	unsigned rep;
	const char *status;
	double ns;
};

struct plist {
	struct prow *v;
	size_t n, cap;
};

/* point_id -> its rows, over the tables given. */
struct pindex {
	struct strmap map;
	struct plist *l;
	size_t n, cap;
};

static void pindex_add(struct pindex *ix, const char *id, unsigned rep, const char *status,
		       const char *ns)
{
	long *slot = map_slot(&ix->map, id, false);
	struct plist *pl;

	if (!slot) {
		if (ix->n == ix->cap) {
			size_t nc = ix->cap ? ix->cap * 2 : 256;
			struct plist *nl = pb_xalloc(nc, sizeof(*nl));

			if (ix->n)
				memcpy(nl, ix->l, ix->n * sizeof(*nl));
			ix->l = nl;
			ix->cap = nc;
		}
		slot = map_slot(&ix->map, id, true);
		*slot = (long)ix->n++;
	}
	pl = &ix->l[*slot];
	if (pl->n == pl->cap) {
		size_t nc = pl->cap ? pl->cap * 2 : 8;
		struct prow *nv = pb_xalloc(nc, sizeof(*nv));

		if (pl->n)
			memcpy(nv, pl->v, pl->n * sizeof(*nv));
		pl->v = nv;
		pl->cap = nc;
	}
	pl->v[pl->n].rep = rep;
	pl->v[pl->n].status = status;
	pl->v[pl->n].ns = ns ? strtod(ns, NULL) : 0;
	pl->n++;
}

/* Index the rows of @t (rows whose point_id was blanked are left out). */
static void pindex_table(struct pindex *ix, struct pb_table *t)
{
	int ci = pb_table_col(t, "point_id"), cr = pb_table_col(t, "rep");
	int cs = pb_table_col(t, "status"), cn = pb_table_col(t, "ns_per_job");

	if (ci < 0 || cr < 0 || cs < 0 || cn < 0)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		if (t->rows[r][ci][0])
			pindex_add(ix, t->rows[r][ci], (unsigned)strtoul(t->rows[r][cr], NULL, 10),
				   t->rows[r][cs], t->rows[r][cn]);
}

static int prow_cmp(const void *a, const void *b)
{
	const struct prow *x = a, *y = b;

	return x->rep < y->rep ? -1 : x->rep > y->rep;
}

/* What one shard has: (point, rep) pairs done, failed, missing. */
struct shard_count {
	size_t points, complete;
	size_t done, failed;   /* rows: ok or skip / any other status */
	size_t gaps;           /* reps missing below a point's last rep: exactly missing */
	size_t more;           /* reps a point with an unmet rule may still need, at most */
	char names[1024];      /* the first few missing pairs, by name */
	size_t nnames;
};

static void name_missing(struct shard_count *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void name_missing(struct shard_count *c, const char *fmt, ...)
{
	size_t off = strlen(c->names);
	va_list ap;

	if (c->nnames++ >= 6) {
		if (c->nnames == 7 && off + 6 < sizeof(c->names))
			strcat(c->names, ", ...");
		return;
	}
	if (off && off + 2 < sizeof(c->names)) {
		strcat(c->names, ", ");
		off += 2;
	}
	va_start(ap, fmt);
	vsnprintf(c->names + off, sizeof(c->names) - off, fmt, ap);
	va_end(ap);
}

/*
 * Check each planned point of a shard against its rows.  A point is complete
 * when it has a skip row, or its reps 1..m are all there and m reached
 * --reps, or the stopping rule is met, or --max-fail stall/crash reps were
 * reached (run.c's loop, the same rule).
 */
static void count_shard(const struct pb_meta_run *run, struct pindex *ix, struct shard_count *c)
{
	struct pb_rule rule = {run->min_reps ? run->min_reps : 3, run->cov_pct};
	unsigned maxr = run->max_reps ? run->max_reps : 10;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < run->nplanned; i++) {
		const char *id = run->planned[i];
		long *slot = map_slot(&ix->map, id, false);
		struct plist *pl = slot ? &ix->l[*slot] : NULL;
		double *ok;
		unsigned nok = 0, hard = 0, expect = 1, gaps = 0;
		bool skip = false, complete;

		c->points++;
		if (!pl || !pl->n) {
			c->more += maxr;
			name_missing(c, "point %s reps 1..%u (no rows)", id, maxr);
			continue;
		}
		qsort(pl->v, pl->n, sizeof(*pl->v), prow_cmp);
		ok = pb_xalloc(pl->n + 1, sizeof(double));
		for (size_t k = 0; k < pl->n; k++) {
			const struct prow *r = &pl->v[k];

			if (r->rep > expect) {
				gaps += r->rep - expect;
				name_missing(c, r->rep - expect == 1 ? "point %s rep %u" :
					     "point %s reps %u..%u", id, expect, r->rep - 1);
			}
			if (r->rep >= expect)
				expect = r->rep + 1;
			if (!strcmp(r->status, "ok")) {
				ok[nok++] = r->ns;
				c->done++;
			} else if (!strcmp(r->status, "skip")) {
				skip = true;
				c->done++;
			} else {
				c->failed++;
				if (!strcmp(r->status, "stall") || !strcmp(r->status, "crash"))
					hard++;
			}
		}
		c->gaps += gaps;
		complete = skip || pl->n >= maxr || pb_rule_met(ok, nok, &rule, NULL) ||
			   (run->max_fail && hard >= run->max_fail);
		if (!complete) {
			c->more += maxr - pl->n;
			if (maxr - pl->n == 1)
				name_missing(c, "point %s rep %u (stopping rule not met)", id, expect);
			else
				name_missing(c, "point %s reps %u..%u at most (stopping rule not met)",
					     id, expect, expect + (unsigned)(maxr - pl->n) - 1);
		}
		if (complete && !gaps)
			c->complete++;
	}
}

/* The shards of one sweep found in some directories. */
struct shard_rec {
	const struct pb_meta_run *run; /* its last run entry (planned, rule, command) */
	const char *dir;
};

struct sweep_view {
	const struct pb_meta_run *first;
	const char *first_dir;
	unsigned n;
	struct shard_rec *shard; /* [1..n] */
};

/*
 * Add a directory's runs to @v.  Returns NULL, or a one-line reason why the
 * runs cannot belong to @v's sweep (another sweep, another cut, no identity).
 */
static const char *view_add(struct sweep_view *v, const char *dir, const struct pb_meta_run *runs,
			    int nruns)
{
	static char why[6144];

	for (int i = 0; i < nruns; i++) {
		const struct pb_meta_run *r = &runs[i];

		if (!r->have_id || !r->id.shard_n || r->id.shard_k > r->id.shard_n) {
			snprintf(why, sizeof(why), "%s/meta.json: run %d records no sweep identity "
				 "(written by an older poolbench), so which sweep it belongs to cannot "
				 "be checked", dir, i + 1);
			return why;
		}
		if (!v->first) {
			v->first = r;
			v->first_dir = dir;
			v->n = r->id.shard_n;
			v->shard = pb_xalloc(v->n + 1, sizeof(*v->shard));
		}
		if (strcmp(r->id.id, v->first->id.id)) {
			char diff[4096], a[4200], b[4200];

			struct pb_sweep_id x = r->id;

			/* Shards differ in K by design: name only what else differs. */
			x.shard_k = v->first->id.shard_k;
			x.shard_n = v->first->id.shard_n;
			snprintf(a, sizeof(a), "in %s", v->first_dir);
			snprintf(b, sizeof(b), "in %s", dir);
			pb_sweep_id_diff(&v->first->id, &x, a, b, diff, sizeof(diff));
			snprintf(why, sizeof(why), "%s (sweep %s, shard %u/%u) and %s (sweep %s, shard "
				 "%u/%u) hold different sweeps: %s", v->first_dir, v->first->id.id,
				 v->first->id.shard_k, v->first->id.shard_n, dir, r->id.id,
				 r->id.shard_k, r->id.shard_n, diff[0] ? diff : "the sweep ids differ");
			return why;
		}
		if (r->id.shard_n != v->n) {
			snprintf(why, sizeof(why), "%s (shard %u/%u) and %s (shard %u/%u) are cut "
				 "differently: merge shards of one --shard K/%u cut", v->first_dir,
				 v->first->id.shard_k, v->first->id.shard_n, dir, r->id.shard_k,
				 r->id.shard_n, v->n);
			return why;
		}
		v->shard[r->id.shard_k].run = r;
		v->shard[r->id.shard_k].dir = dir;
	}
	return NULL;
}

/* @cmd (shard @from's command) with its --shard turned into @k/@n, and its
 * --out too where it ends in the shard number (DIR/shard-2 -> DIR/shard-3,
 * as the cluster scripts name them); else " (with its own --out)" follows. */
static char *shard_command(const char *cmd, unsigned from, unsigned k, unsigned n)
{
	char *s = pb_xalloc(strlen(cmd) + 128, 1), *o;
	const char *p = strstr(cmd, "--shard");
	bool out_done = false;

	if (!p || (p[7] != ' ' && p[7] != '=')) {
		o = s + sprintf(s, "%s --shard %u/%u", cmd, k, n);
	} else {
		memcpy(s, cmd, (size_t)(p - cmd));
		o = s + (p - cmd);
		o += sprintf(o, "--shard %u/%u%s", k, n, p + 8 + strcspn(p + 8, " "));
	}
	p = strstr(s, " --out ");
	if (p) {
		char *v = (char *)p + 7, *e = v + strcspn(v, " "), *d = e;
		char num[16];
		size_t nl = (size_t)snprintf(num, sizeof(num), "%u", from);

		while (d > v && d[-1] >= '0' && d[-1] <= '9')
			d--;
		if ((size_t)(e - d) == nl && !strncmp(d, num, nl)) {
			char *rest = pb_xstrdup(e);

			o = d + sprintf(d, "%u%s", k, rest);
			out_done = true;
		}
	}
	if (!out_done)
		strcpy(o, " (with its own --out)");
	return s;
}

/* "2/4, 3/4" for the missing shards; count returned. */
static unsigned missing_shards(const struct sweep_view *v, char *buf, size_t len)
{
	size_t off = 0;
	unsigned n = 0;

	buf[0] = 0;
	for (unsigned k = 1; k <= v->n; k++)
		if (!v->shard[k].run) {
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, "%s%u/%u", n ? ", " : "",
							k, v->n);
			n++;
		}
	return n;
}

/* timeseries.csv: the lines of the (point_id, rep) rows kept, input order.
 * Returns lines written, or -1 (logged). */
static long merge_timeseries(const char *out, struct input *in, int n, struct strmap *seen)
{
	char path[4096], tmp[4096], *line = NULL, *header = NULL;
	size_t cap = 0;
	long lines = 0;
	int have = 0;
	FILE *o = NULL;

	for (int i = 0; i < n; i++) {
		FILE *f;
		ssize_t len;
		int ci = -1, cr = -1;

		snprintf(path, sizeof(path), "%s/timeseries.csv", in[i].dir);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = getline(&line, &cap, f);
		if (len <= 0) {
			fclose(f);
			continue;
		}
		if (!header) {
			header = pb_xstrdup(line);
			snprintf(tmp, sizeof(tmp), "%s/.timeseries.csv.tmp", out);
			o = fopen(tmp, "w");
			if (!o) {
				pb_log("merge: cannot create %s: %s", tmp, strerror(errno));
				fclose(f);
				free(line);
				return -1;
			}
			fputs(header, o);
		} else if (strcmp(header, line)) {
			pb_log("merge: %s has another header than %s/timeseries.csv: left out", path,
			       in[0].dir);
			fclose(f);
			continue;
		}
		have++;
		{
			/* The key columns (plain fields: pb_ts_collect writes no quotes). */
			char *h = pb_xstrdup(line), *save = NULL;
			int k = 0;

			h[strcspn(h, "\r\n")] = 0;
			for (char *t = strtok_r(h, ",", &save); t; t = strtok_r(NULL, ",", &save), k++) {
				if (!strcmp(t, "point_id"))
					ci = k;
				else if (!strcmp(t, "rep"))
					cr = k;
			}
		}
		while ((len = getline(&line, &cap, f)) > 0) {
			char key[128], id[64] = "", rep[32] = "";
			const char *p = line;
			long *slot;

			if (line[len - 1] != '\n')
				continue; /* cut short */
			for (int k = 0; *p && k <= (ci > cr ? ci : cr); k++) {
				size_t fl = strcspn(p, ",\n");

				if (k == ci)
					snprintf(id, sizeof(id), "%.*s", (int)fl, p);
				if (k == cr)
					snprintf(rep, sizeof(rep), "%.*s", (int)fl, p);
				p += fl;
				if (*p == ',')
					p++;
			}
			snprintf(key, sizeof(key), "%s|%s", id, rep);
			slot = map_slot(seen, key, false);
			/* Only the input whose row was kept: a dropped duplicate's samples
			 * would be counted twice. */
			if (!slot || (int)(*slot >> 32) != i)
				continue;
			fputs(line, o);
			lines++;
		}
		fclose(f);
	}
	free(line);
	if (!o)
		return 0;
	fflush(o);
	fsync(fileno(o));
	if (ferror(o) | fclose(o)) {
		pb_log("merge: error writing %s", tmp);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/timeseries.csv", out);
	if (rename(tmp, path)) {
		pb_log("merge: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	(void)have;
	return lines;
}

/* What merge found missing, for meta.json (--allow-partial). */
struct gap {
	char shards[512];
	unsigned nshards;
	size_t gaps, more;
	char names[6144];
};

int pb_merge_cmd(int argc, char **argv, char *cmdline)
{
	const char *out = NULL;
	struct input *in;
	int n = 0, c_id = -1, c_rep = -1, c_sv = -1, rc;
	struct strmap seen = {0};
	struct rule_ctx rules = {0};
	struct pb_rule dflt = {3, 2.0};
	struct sweep_view view = {0};
	struct pindex ix = {0};
	struct gap gap;
	size_t total = 0, dups = 0, nrules = 0;
	char err[1024], path[4096];
	bool quiet = false, allow_partial = false;
	long tslines;
	FILE *f;

	memset(&gap, 0, sizeof(gap));
	in = pb_xalloc((size_t)argc, sizeof(*in));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--out")) {
			if (i + 1 >= argc || !argv[i + 1][0])
				pb_usage_error("merge: option '--out' needs a directory");
			out = argv[++i];
		} else if (!strncmp(a, "--out=", 6)) {
			out = a + 6;
			if (!*out)
				pb_usage_error("merge: option '--out' needs a directory");
		} else if (!strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "--allow-partial")) {
			allow_partial = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("usage: poolbench merge DIR... --out DIR [--allow-partial] [--quiet]\n");
			return PB_EXIT_OK;
		} else if (a[0] == '-') {
			pb_usage_error("merge: unknown option '%s', allowed: --out DIR, --allow-partial, "
				       "--quiet", a);
		} else {
			in[n++].dir = a;
		}
	}
	if (!out)
		pb_usage_error("merge: no --out DIR given (usage: poolbench merge DIR... --out DIR)");
	if (!n)
		pb_usage_error("merge: no input directory given (usage: poolbench merge DIR... --out DIR)");
	snprintf(path, sizeof(path), "%s/results.csv", out);
	if (access(path, F_OK) == 0)
		pb_usage_error("merge: cannot create %s: it exists already (use a new --out)", path);

	/* Read and check every input before writing anything. */
	for (int i = 0; i < n; i++) {
		struct input *x = &in[i];

		snprintf(path, sizeof(path), "%s/results.csv", x->dir);
		if (pb_table_read(path, &x->t, err, sizeof(err)))
			pb_usage_error("merge: %s", err);
		if (x->t.partial)
			pb_log("merge: note: %s ends with a row cut short: left out", path);
		if (i > 0) {
			bool same = x->t.ncols == in[0].t.ncols;

			for (size_t k = 0; same && k < x->t.ncols; k++)
				same = !strcmp(x->t.hdr[k], in[0].t.hdr[k]);
			if (!same)
				pb_usage_error("merge: %s/results.csv and %s/results.csv have different "
					       "headers (schemas): merge only results of one poolbench "
					       "schema", in[0].dir, x->dir);
		}
		{
			/* The header must be this poolbench's: summary.csv is recomputed. */
			char *h = pb_xstrdup(pb_csv_header()), *save = NULL, *tok;
			size_t k = 0;
			bool same = true;

			for (tok = strtok_r(h, ",", &save); tok; tok = strtok_r(NULL, ",", &save), k++)
				if (k >= x->t.ncols || strcmp(tok, x->t.hdr[k]))
					same = false;
			if (!same || k != x->t.ncols)
				pb_usage_error("merge: %s has another header than this poolbench writes "
					       "(schema_version %d, %zu columns): merge with the poolbench "
					       "that wrote it", path, PB_SCHEMA_VERSION, k);
		}
		c_id = pb_table_col(&x->t, "point_id");
		c_rep = pb_table_col(&x->t, "rep");
		c_sv = pb_table_col(&x->t, "schema_version");
		for (size_t r = 0; r < x->t.nrows; r++)
			if (atoi(x->t.rows[r][c_sv]) != PB_SCHEMA_VERSION)
				pb_usage_error("merge: %s row %zu has schema_version %s, allowed: %d",
					       path, r + 2, x->t.rows[r][c_sv], PB_SCHEMA_VERSION);

		snprintf(path, sizeof(path), "%s/meta.json", x->dir);
		x->meta = pb_read_text(path, 0);
		if (!x->meta)
			pb_usage_error("merge: cannot read %s: %s", path, strerror(errno));
		if (find_runs(x) || (x->nruns = pb_meta_runs(x->meta, &x->mruns)) < 0)
			pb_usage_error("merge: %s is not a meta.json written by poolbench (no \"runs\" "
				       "list at its end)", path);

		snprintf(path, sizeof(path), "%s/summary.csv", x->dir);
		x->have_sum = pb_table_read(path, &x->sum, err, sizeof(err)) == 0;
	}

	/* One sweep, one cut. */
	for (int i = 0; i < n; i++) {
		const char *why = view_add(&view, in[i].dir, in[i].mruns, in[i].nruns);

		if (why)
			pb_usage_error("merge: %s; nothing written", why);
	}

	/* Duplicates: the same (point_id, rep) in two places. */
	for (int i = 0; i < n; i++) {
		for (size_t r = 0; r < in[i].t.nrows; r++) {
			char key[128];
			long *slot;

			snprintf(key, sizeof(key), "%s|%s", in[i].t.rows[r][c_id], in[i].t.rows[r][c_rep]);
			slot = map_slot(&seen, key, false);
			if (slot) {
				int pi = (int)(*slot >> 32);
				size_t pr = (size_t)(*slot & 0xffffffff);

				if (strcmp(in[pi].t.raw[pr], in[i].t.raw[r]))
					pb_usage_error("merge: point %s rep %s is in %s (row %zu) and in %s "
						       "(row %zu) with different results: remove one of them",
						       in[i].t.rows[r][c_id], in[i].t.rows[r][c_rep],
						       in[pi].dir, pr + 2, in[i].dir, r + 2);
				in[i].t.rows[r][c_id][0] = 0; /* mark: identical duplicate, dropped */
				dups++;
				continue;
			}
			*map_slot(&seen, key, true) = ((long)i << 32) | (long)r;
			total++;
		}
	}

	/* Completeness: every shard, and every (point, rep) of each shard present. */
	for (int i = 0; i < n; i++)
		pindex_table(&ix, &in[i].t);
	gap.nshards = missing_shards(&view, gap.shards, sizeof(gap.shards));
	for (unsigned k = 1; k <= view.n; k++) {
		struct shard_count c;
		size_t off = strlen(gap.names);

		if (!view.shard[k].run)
			continue;
		count_shard(view.shard[k].run, &ix, &c);
		if (!c.gaps && !c.more)
			continue;
		gap.gaps += c.gaps;
		gap.more += c.more;
		if (off < sizeof(gap.names))
			snprintf(gap.names + off, sizeof(gap.names) - off, "%sshard %u/%u (%s): %s",
				 off ? "; " : "", k, view.n, view.shard[k].dir, c.names);
	}
	if ((gap.nshards || gap.gaps || gap.more) && !allow_partial) {
		char cmd[2048] = "";

		if (gap.nshards) {
			/* The command of a shard present, with the first missing K. */
			unsigned mk = 1;

			while (view.shard[mk].run)
				mk++;
			for (unsigned k = 1; k <= view.n && !cmd[0]; k++)
				if (view.shard[k].run && view.shard[k].run->command)
					snprintf(cmd, sizeof(cmd), "; e.g. %s",
						 shard_command(view.shard[k].run->command, k, mk, view.n));
			pb_usage_error("merge: sweep %s: missing shard%s %s (%u of %u present)%s%s%s; run "
				       "them, or merge with --allow-partial; nothing written",
				       view.first->id.id, gap.nshards == 1 ? "" : "s", gap.shards,
				       view.n - gap.nshards, view.n, gap.gaps || gap.more ? "; and " : "",
				       gap.names, cmd);
		}
		pb_usage_error("merge: sweep %s: %zu (point, rep) pair%s missing%s: %s; complete them "
			       "with each shard's command plus --resume ('poolbench status DIR' prints "
			       "it), or merge with --allow-partial; nothing written", view.first->id.id,
			       gap.gaps + gap.more, gap.gaps + gap.more == 1 ? "" : "s",
			       gap.more ? " (at most)" : "", gap.names);
	}

	/* The stopping rule each point ran under, from the inputs' summary.csv. */
	for (int i = 0; i < n; i++)
		nrules += in[i].have_sum ? in[i].sum.nrows : 0;
	rules.rules = pb_xalloc(nrules + 1, sizeof(*rules.rules));
	for (int i = 0; i < n; i++) {
		struct pb_table *s = &in[i].sum;
		int si, sk, sc;

		if (!in[i].have_sum)
			continue;
		si = pb_table_col(s, "point_id");
		sk = pb_table_col(s, "min_reps");
		sc = pb_table_col(s, "cov_target_pct");
		if (si < 0 || sk < 0 || sc < 0)
			continue;
		for (size_t r = 0; r < s->nrows; r++) {
			if (map_slot(&rules.map, s->rows[r][si], false))
				continue;
			rules.rules[rules.n].min_reps = (unsigned)strtoul(s->rows[r][sk], NULL, 10);
			rules.rules[rules.n].cov_pct = strtod(s->rows[r][sc], NULL);
			*map_slot(&rules.map, s->rows[r][si], true) = (long)rules.n;
			rules.n++;
		}
	}

	/* Write. */
	rc = mkdir_p(out);
	if (rc)
		pb_usage_error("merge: cannot use output directory '%s': %s", out, strerror(-rc));
	snprintf(path, sizeof(path), "%s/results.csv", out);
	f = fopen(path, "wx");
	if (!f)
		pb_usage_error("merge: cannot create %s: %s", path,
			       errno == EEXIST ? "it exists already (use a new --out)" : strerror(errno));
	fprintf(f, "%s\n", pb_csv_header());
	for (int i = 0; i < n; i++)
		for (size_t r = 0; r < in[i].t.nrows; r++)
			if (in[i].t.rows[r][c_id][0])
				fprintf(f, "%s\n", in[i].t.raw[r]);
	fflush(f);
	fsync(fileno(f));
	if (ferror(f) | fclose(f)) {
		pb_log("merge: error writing %s", path);
		return PB_EXIT_FAIL;
	}
	tslines = merge_timeseries(out, in, n, &seen);
	if (tslines < 0)
		return PB_EXIT_FAIL;
	rc = write_meta(out, in, n, cmdline, total, dups, &view, &gap, allow_partial);
	if (rc) {
		pb_log("merge: cannot write %s/meta.json: %s", out, strerror(-rc));
		return PB_EXIT_FAIL;
	}
	rc = pb_summary_write(out, &dflt, lookup_rule, &rules, quiet ? NULL : stdout);
	for (int i = 0; i < n; i++) {
		pb_table_free(&in[i].t);
		if (in[i].have_sum)
			pb_table_free(&in[i].sum);
	}
	if (rc)
		return PB_EXIT_FAIL;
	if (gap.nshards || gap.gaps || gap.more)
		pb_log("merge: --allow-partial: merged with missing shards: %s; (point, rep) pairs "
		       "missing in the shards given: %zu%s (recorded in meta.json merge.partial)",
		       gap.nshards ? gap.shards : "none", gap.gaps + gap.more,
		       gap.more ? " at most" : "");
	if (!quiet)
		pb_log("merge: %zu row%s from %d director%s (sweep %s, %u of %u shards) -> %s "
		       "(%zu identical duplicate%s dropped; %ld timeseries line%s)",
		       total, total == 1 ? "" : "s", n, n == 1 ? "y" : "ies", view.first->id.id,
		       view.n - gap.nshards, view.n, out, dups, dups == 1 ? "" : "s", tslines,
		       tslines == 1 ? "" : "s");
	return PB_EXIT_OK;
}

/* ---- poolbench status DIR... ------------------------------------------------------- */

int pb_status_cmd(int argc, char **argv)
{
	int ndirs = 0, incomplete = 0;
	/* One view per sweep seen, to name its missing shards at the end. */
	struct sweep_view *views = pb_xalloc((size_t)argc + 1, sizeof(*views));
	int nviews = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: poolbench status DIR...\n");
			return PB_EXIT_OK;
		}
		if (argv[i][0] == '-')
			pb_usage_error("status: unknown option '%s', allowed: directories only "
				       "(usage: poolbench status DIR...)", argv[i]);
		ndirs++;
	}
	if (!ndirs)
		pb_usage_error("status: no directory given (usage: poolbench status DIR...)");
	for (int i = 1; i < argc; i++) {
		const char *dir = argv[i];
		char path[4096], err[1024];
		struct pb_table t;
		struct pb_meta_run *runs;
		struct sweep_view own = {0};
		struct pindex ix = {0};
		const char *why;
		char *meta;
		int nruns, vi;

		snprintf(path, sizeof(path), "%s/meta.json", dir);
		meta = pb_read_text(path, 0);
		if (!meta)
			pb_usage_error("status: cannot read %s: %s", path, strerror(errno));
		nruns = pb_meta_runs(meta, &runs);
		if (nruns < 0)
			pb_usage_error("status: %s is not a meta.json written by poolbench", path);
		why = view_add(&own, dir, runs, nruns);
		if (why)
			pb_usage_error("status: %s", why);
		if (!own.first)
			pb_usage_error("status: %s lists no run", path);
		snprintf(path, sizeof(path), "%s/results.csv", dir);
		if (pb_table_read(path, &t, err, sizeof(err)))
			pb_usage_error("status: %s", err);
		pindex_table(&ix, &t);
		for (unsigned k = 1; k <= own.n; k++) {
			struct shard_count c;
			bool done;

			if (!own.shard[k].run)
				continue;
			count_shard(own.shard[k].run, &ix, &c);
			done = !c.gaps && !c.more;
			incomplete += !done;
			printf("%s: sweep %s shard %u/%u: %zu of %zu points complete; (point, rep) pairs: "
			       "%zu done, %zu failed, %zu missing%s%s\n", dir, own.first->id.id, k, own.n,
			       c.complete, c.points, c.done, c.failed, c.gaps + c.more,
			       c.more ? " (at most)" : "", done ? "; complete" : "");
			if (!done) {
				printf("  missing: %s\n", c.names);
				printf("  complete with: %s\n",
				       pb_resume_command(own.shard[k].run->command ?
							 own.shard[k].run->command : "poolbench ...", dir));
			}
		}
		if (t.partial)
			printf("  note: %s ends with a row cut short (--resume removes it)\n", path);
		pb_table_free(&t);
		/* Join the sweep's view across directories. */
		for (vi = 0; vi < nviews; vi++)
			if (!strcmp(views[vi].first->id.id, own.first->id.id) && views[vi].n == own.n)
				break;
		if (vi == nviews)
			views[nviews++] = own;
		else
			for (unsigned k = 1; k <= own.n; k++)
				if (own.shard[k].run)
					views[vi].shard[k] = own.shard[k];
	}
	for (int v = 0; v < nviews; v++) {
		char ms[512];
		unsigned m = missing_shards(&views[v], ms, sizeof(ms));

		if (views[v].n == 1)
			continue;
		if (m) {
			const char *cmd = NULL;

			incomplete++;
			printf("sweep %s: %u of %u shards given; missing shard%s %s\n", views[v].first->id.id,
			       views[v].n - m, views[v].n, m == 1 ? "" : "s", ms);
			unsigned from = 0;

			for (unsigned k = 1; k <= views[v].n && !cmd; k++)
				if (views[v].shard[k].run) {
					cmd = views[v].shard[k].run->command;
					from = k;
				}
			for (unsigned k = 1; k <= views[v].n && cmd; k++)
				if (!views[v].shard[k].run)
					printf("  shard %u/%u runs with: %s\n", k, views[v].n,
					       shard_command(cmd, from, k, views[v].n));
		} else {
			printf("sweep %s: all %u shards given\n", views[v].first->id.id, views[v].n);
		}
	}
	return incomplete ? PB_EXIT_FAIL : PB_EXIT_OK;
}

/* merge.sweep and merge.partial in the merged meta.json. */
static void write_sweep_merge(FILE *f, const struct sweep_view *v, const struct gap *g, bool partial)
{
	fprintf(f, "\"sweep\": \"%s\", \"shards\": %u, \"allow_partial\": %s, \"partial\": ",
		v->first->id.id, v->n, partial ? "true" : "false");
	if (!g->nshards && !g->gaps && !g->more) {
		fputs("null", f);
		return;
	}
	fputs("{\"missing_shards\": ", f);
	json_str(f, g->shards);
	fprintf(f, ", \"missing_pairs\": %zu, \"missing_pairs_at_most\": %zu, \"missing\": ",
		g->gaps, g->more);
	json_str(f, g->names);
	fputs("}", f);
}
