/* SPDX-License-Identifier: MIT */
/*
 * "poolbench merge DIR... --out DIR": join result directories (the shards of
 * one sweep, or runs on several machines).  Every input must have the CSV
 * header of this poolbench (same schema_version and columns); rows are
 * concatenated in input order; a (point_id, rep) found twice is dropped when
 * the two rows are identical and refused (exit 2) when they differ; the
 * meta.json files are kept whole under "sources" and their runs joined; then
 * summary.csv is recomputed.  Nothing is written unless every input checks
 * out.  Single-threaded.
 */
#include <errno.h>
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

static int write_meta(const char *out, struct input *in, int n, const char *cmdline,
		      size_t rows, size_t dups)
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
	fprintf(f, "], \"rows\": %zu, \"duplicates_dropped\": %zu},\n", rows, dups);
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

int pb_merge_cmd(int argc, char **argv, char *cmdline)
{
	const char *out = NULL;
	struct input *in;
	int n = 0, c_id = -1, c_rep = -1, c_sv = -1, rc;
	struct strmap seen = {0};
	struct rule_ctx rules = {0};
	struct pb_rule dflt = {3, 2.0};
	size_t total = 0, dups = 0, nrules = 0;
	char err[1024], path[4096];
	bool quiet = false;
	FILE *f;

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
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("usage: poolbench merge DIR... --out DIR [--quiet]\n");
			return PB_EXIT_OK;
		} else if (a[0] == '-') {
			pb_usage_error("merge: unknown option '%s', allowed: --out DIR, --quiet", a);
		} else {
			in[n++].dir = a;
		}
	}
	if (!out)
		pb_usage_error("merge: no --out DIR given (usage: poolbench merge DIR... --out DIR)");
	if (!n)
		pb_usage_error("merge: no input directory given (usage: poolbench merge DIR... --out DIR)");

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
		if (find_runs(x))
			pb_usage_error("merge: %s is not a meta.json written by poolbench (no \"runs\" "
				       "list at its end)", path);

		snprintf(path, sizeof(path), "%s/summary.csv", x->dir);
		x->have_sum = pb_table_read(path, &x->sum, err, sizeof(err)) == 0;
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
	rc = write_meta(out, in, n, cmdline, total, dups);
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
	if (!quiet)
		pb_log("merge: %zu row%s from %d director%s -> %s (%zu identical duplicate%s dropped)",
		       total, total == 1 ? "" : "s", n, n == 1 ? "y" : "ies", out, dups,
		       dups == 1 ? "" : "s");
	return PB_EXIT_OK;
}
