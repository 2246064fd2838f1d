/* SPDX-License-Identifier: MIT */
/*
 * Sweep files and the sweep engine's option values.  "poolbench sweep FILE"
 * reads a small INI file with inih and turns it into the arguments of "run":
 * every key of [sweep] is the long option of the same name, so an option
 * added to "run" is at once a sweep-file key.  Errors name the file, the line
 * and the key (pb_usage_ctx).  Also: --warmup N|DURATION, --cov, --shard K/N
 * and the count-list syntax (A..B, pow2:A..B, pus, Kxpus).  Single-threaded.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pb.h"


/* ---- where an argument came from --------------------------------------------- */

#define MAX_ARGS 512
static const char *arg_origin[MAX_ARGS]; /* per synthetic argv index, or NULL */
static const char *arg_opt[MAX_ARGS];    /* the long option it sets */
static int nargs;

void pb_usage_ctx_arg(int argi)
{
	pb_usage_ctx = argi >= 0 && argi < nargs ? arg_origin[argi] : NULL;
}

bool pb_arg_from_file(int argi)
{
	return argi >= 0 && argi < nargs && arg_origin[argi];
}

void pb_usage_ctx_opt(const char *opt)
{
	pb_usage_ctx = NULL;
	for (int i = nargs - 1; i >= 0; i--)
		if (arg_opt[i] && !strcmp(arg_opt[i], opt)) {
			pb_usage_ctx = arg_origin[i];
			return;
		}
}

void pb_usage_error_opt(const char *opt, const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pb_usage_ctx_opt(opt);
	pb_usage_error("%s", buf);
}

/* ---- option values ------------------------------------------------------------ */

void pb_parse_warmup(const char *arg, struct pb_sweep *sw)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char *end;
	double v;

	if (!isdigit((unsigned char)arg[0]))
		goto bad;
	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg)
		goto bad;
	if (!*end) {
		if (strchr(arg, '.') || strchr(arg, 'e') || strchr(arg, 'E') || v > (double)PB_MAX_JOBS)
			goto bad;
		sw->warmup = (int64_t)v;
		sw->warmup_ns = 0;
		return;
	}
	for (size_t i = 0; i < PB_ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].ns;
		if (!(v >= 1) || v > 3600e9)
			goto bad;
		sw->warmup_ns = (uint64_t)v;
		sw->warmup = -1;
		return;
	}
bad:
	pb_usage_error("value '%s' is not valid for --warmup, allowed: a job count 0 .. %llu, or a "
		       "duration 1ns .. 3600s with a unit ns, us, ms or s (e.g. 200ms)",
		       arg, PB_MAX_JOBS);
}

/* A percentage "N" or "N%", 0 .. max; -1 if @arg is not one. */
double pb_parse_pct(const char *arg, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end != arg && *end == '%')
		end++;
	if (errno || end == arg || *end || !isdigit((unsigned char)arg[0]) || !(v >= 0) || v > max)
		return -1;
	return v;
}

void pb_parse_cov(const char *arg, double *out)
{
	*out = pb_parse_pct(arg, 100);
	if (*out < 0)
		pb_usage_error("value '%s' is not valid for --cov, allowed: a percentage 0 .. 100 "
			       "(e.g. 2 or 2%%; 0: never stop before --reps)", arg);
}

void pb_parse_shard(const char *arg, unsigned *k, unsigned *n)
{
	char *end, *end2;
	unsigned long a, b;

	if (!isdigit((unsigned char)arg[0]))
		goto bad;
	errno = 0;
	a = strtoul(arg, &end, 10);
	if (errno || *end != '/' || !isdigit((unsigned char)end[1]))
		goto bad;
	b = strtoul(end + 1, &end2, 10);
	if (errno || *end2 || b < 1 || b > 100000 || a < 1 || a > b)
		goto bad;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return;
bad:
	pb_usage_error("value '%s' is not valid for --shard, allowed: K/N with 1 <= K <= N <= 100000 "
		       "(e.g. 2/4: the second of four shards)", arg);
}

static unsigned npus_cached;

static unsigned npus(void)
{
	struct pb_topo *t;

	if (npus_cached)
		return npus_cached;
	npus_cached = 1;
	if (pb_topo_open(&t) == 0) {
		npus_cached = pb_topo_npus(t);
		pb_topo_close(t);
	}
	if (!npus_cached)
		npus_cached = 1;
	return npus_cached;
}

/* "12", "pus", "2xpus" -> value; -1 if malformed. */
static long long count_value(const char *s, size_t len)
{
	char buf[64], *end;
	long long k = 1;

	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (isdigit((unsigned char)buf[0])) {
		errno = 0;
		k = strtoll(buf, &end, 10);
		if (errno || k < 0 || k > 1000000000)
			return -1;
		if (!*end)
			return k;
		if (*end != 'x')
			return -1;
		end++;
	} else {
		end = buf;
	}
	if (strcmp(end, "pus"))
		return -1;
	return k * (long long)npus();
}

const char *pb_expand_counts(const char *flag, const char *arg)
{
	char out[4096];
	size_t off = 0;
	const char *p = arg;

	if (!strstr(arg, "..") && !strcasestr(arg, "pus"))
		return arg;
	for (;;) {
		size_t len = strcspn(p, ",");
		int pow2 = 0;
		const char *item = p, *dots;
		long long a, b;

		if (len >= 5 && !strncasecmp(item, "pow2:", 5)) {
			pow2 = 1;
			item += 5;
			len -= 5;
		}
		dots = memmem(item, len, "..", 2);
		if (dots) {
			a = count_value(item, (size_t)(dots - item));
			b = count_value(dots + 2, len - (size_t)(dots - item) - 2);
		} else if (!pow2) {
			a = b = count_value(item, len);
		} else {
			a = b = -1;
		}
		if (a < 0 || b < 0 || a > b || (pow2 && a < 1) || b - a > 100000)
			pb_usage_error("bad value '%.*s' in '%s' for --%s, allowed: N, A..B, pow2:A..B "
				       "(powers of two from A to B, and B), with A <= B each a number, "
				       "'pus' or 'Kxpus' (K times the %u PUs here)",
				       (int)(p + strcspn(p, ",") - p), p, arg, flag, npus());
		if (pow2) {
			long long v = 1;

			while (v < a)
				v *= 2;
			for (; v <= b && off < sizeof(out); v *= 2)
				off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%lld",
							off ? "," : "", v);
			if ((b & (b - 1)) && off < sizeof(out))
				off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%lld",
							off ? "," : "", b);
		} else {
			for (long long v = a; v <= b && off < sizeof(out); v++)
				off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%lld",
							off ? "," : "", v);
		}
		if (off >= sizeof(out))
			pb_usage_error("value '%s' for --%s expands to too many values (at most %d)",
				       arg, flag, PB_LIST_MAX);
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	return pb_xstrdup(out);
}

void pb_sweep_check(struct pb_sweep *sw)
{
	if (!sw->min_reps_given)
		sw->min_reps = sw->reps < 3 ? sw->reps : 3;
	else if (sw->min_reps > sw->reps)
		pb_usage_error_opt("min-reps",
				   "value %u is out of range for --min-reps, allowed: 1 .. %u "
				   "(--reps, the maximum)", sw->min_reps, sw->reps);
	if (sw->resume && !sw->out)
		pb_usage_error_opt("resume", "--resume needs --out DIR (the directory to continue)");
	if (!sw->shard_n)
		sw->shard_k = sw->shard_n = 1;
}

/* ---- sweep files (inih) ---------------------------------------------------------- */

#define LINE_MAX_CHARS 4000

struct loader {
	const char *path;
	FILE *f;
	int line;      /* line number of the line inih is handling */
	int nout;
	char **out;    /* synthetic run arguments */
	/* Keys seen: "section\0key" and their line, for duplicates. */
	char *seen[MAX_ARGS];
	int seen_line[MAX_ARGS];
	int nseen;
};

/* The run command's long options (main.c passes them: sweep.c is below main). */
static const struct option *run_opts;

static const char *const known_sections[] = {"sweep", "jobs", "plot", "backend-opt",
					      "reclaim-opt", "workload-opt", "workload-jobs"};

static void bad_section(struct loader *ld, const char *section)
{
	const char *near = pb_closest(section, known_sections, PB_ARRAY_SIZE(known_sections));

	pb_usage_error("%s:%d: unknown section [%s]%s%s%s, allowed: [sweep], [jobs], [plot], "
		       "[backend-opt], [reclaim-opt], [workload-opt]", ld->path, ld->line, section,
		       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

/*
 * inih calls the handler for keys only, so a section without keys would go
 * unnoticed: check each "[name]" line as it is read (inih itself parses it).
 */
static void check_section_line(struct loader *ld, const char *line)
{
	char name[256];
	const char *p = line, *end;
	size_t len;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[' || !(end = strchr(p, ']')))
		return;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	len = (size_t)(end - p);
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, p, len);
	name[len] = 0;
	for (size_t i = 0; i < PB_ARRAY_SIZE(known_sections); i++)
		if (!strcmp(name, known_sections[i]))
			return;
	bad_section(ld, name);
}

static char *file_reader(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	size_t n;

	if (!fgets(str, num, ld->f))
		return NULL;
	ld->line++;
	n = strlen(str);
	if (n && str[n - 1] != '\n' && !feof(ld->f))
		pb_usage_error("%s:%d: line longer than %d characters", ld->path, ld->line,
			       LINE_MAX_CHARS);
	check_section_line(ld, str);
	return str;
}

/* Sections whose keys are NAME=VALUE settings of a repeatable option. */
static const char *const setting_sections[][2] = {
	{"jobs", "workload-jobs"},
	{"workload-jobs", "workload-jobs"},
	{"backend-opt", "backend-opt"},
	{"reclaim-opt", "reclaim-opt"},
	{"workload-opt", "workload-opt"},
};
static const char *const plot_keys[] = {"title", "description", "x", "y"};

static const char *where(struct loader *ld, const char *section, const char *key)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s:%d: key '%s' in [%s]: ", ld->path, ld->line, key, section);
	return pb_xstrdup(buf);
}

static void add_arg(struct loader *ld, const char *arg, const char *opt, const char *origin)
{
	if (ld->nout >= MAX_ARGS - 64)
		pb_usage_error("%s:%d: too many keys (at most %d)", ld->path, ld->line, MAX_ARGS - 64);
	arg_origin[ld->nout] = origin;
	arg_opt[ld->nout] = opt;
	ld->out[ld->nout++] = pb_xstrdup(arg);
}

/* "1, 2 ,4" -> "1,2,4" (spaces next to commas only). */
static char *squeeze_commas(const char *v)
{
	char *s = pb_xstrdup(v), *o = s;

	for (const char *p = v; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			const char *q = p;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == ',' || (o > s && o[-1] == ','))
				{
					p = q - 1;
					continue;
				}
		}
		*o++ = *p;
	}
	*o = 0;
	return s;
}

static int csv_has_column(const char *name)
{
	const char *h = pb_csv_header();
	size_t n = strlen(name);

	for (const char *p = h; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

static void check_column(struct loader *ld, const char *key, const char *value)
{
	const char *names[128];
	size_t n = 0;
	char *h = pb_xstrdup(pb_csv_header()), *save = NULL;
	const char *near;

	if (csv_has_column(value))
		return;
	/* A plug-in option (x = threshold): scripts/plot.py reads it from the
	 * backend_opts / reclaim_opts / workload_opts column. */
	for (size_t i = 0; pb_backends[i]; i++)
		if (pb_opt_index(pb_backends[i]->options, value) >= 0)
			return;
	for (size_t i = 0; pb_reclaimers[i]; i++)
		if (pb_opt_index(pb_reclaimers[i]->options, value) >= 0)
			return;
	for (size_t i = 0; pb_workloads[i]; i++)
		if (pb_opt_index(pb_workloads[i]->options, value) >= 0)
			return;
	for (char *t = strtok_r(h, ",", &save); t && n < PB_ARRAY_SIZE(names);
	     t = strtok_r(NULL, ",", &save))
		names[n++] = t;
	near = pb_closest(value, names, n);
	pb_usage_error("%s:%d: key '%s' in [plot]: '%s' is not a results.csv column%s%s%s, "
		       "allowed: a column name of docs/csv.md (e.g. workers, ns_per_job) or a "
		       "plug-in option of 'poolbench list' (e.g. threshold)",
		       ld->path, ld->line, key, value, near ? " (did you mean '" : "",
		       near ? near : "", near ? "'?)" : "");
}

static void note_seen(struct loader *ld, const char *section, const char *key)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s]%s", section, key);
	for (int i = 0; i < ld->nseen; i++)
		if (!strcmp(ld->seen[i], buf))
			pb_usage_error("%s:%d: key '%s' in [%s] given twice (first at line %d), "
				       "allowed: each key once per section", ld->path, ld->line, key,
				       section, ld->seen_line[i]);
	if (ld->nseen < MAX_ARGS) {
		ld->seen[ld->nseen] = pb_xstrdup(buf);
		ld->seen_line[ld->nseen++] = ld->line;
	}
}

static void unknown_key(struct loader *ld, const char *section, const char *key)
{
	const struct option *o = run_opts;
	const char *names[128];
	char list[2048];
	size_t n = 0, off = 0;
	const char *near;

	for (; o->name && n < PB_ARRAY_SIZE(names); o++) {
		if (!strcmp(o->name, "help"))
			continue;
		names[n++] = o->name;
		off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s", off ? ", " : "", o->name);
	}
	near = pb_closest(key, names, n);
	pb_usage_error("%s:%d: unknown key '%s' in [%s]%s%s%s, allowed: %s", ld->path, ld->line, key,
		       section, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "",
		       list);
}

static int is_true(const char *v, int *out)
{
	static const char *const t[] = {"true", "yes", "on", "1"};
	static const char *const f[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < PB_ARRAY_SIZE(t); i++) {
		if (!strcasecmp(v, t[i])) {
			*out = 1;
			return 1;
		}
		if (!strcasecmp(v, f[i])) {
			*out = 0;
			return 1;
		}
	}
	return 0;
}

static int sweep_ini_key(void *user, const char *section, const char *key, const char *value)
{
	struct loader *ld = user;
	char arg[LINE_MAX_CHARS + 64];

	if (!*section)
		pb_usage_error("%s:%d: key '%s' outside a section, allowed: keys under [sweep], "
			       "[jobs], [plot], [backend-opt], [reclaim-opt] or [workload-opt]",
			       ld->path, ld->line, key);
	note_seen(ld, section, key);

	if (!strcmp(section, "sweep")) {
		const struct option *o;

		for (o = run_opts; o->name; o++)
			if (!strcmp(o->name, key) && strcmp(key, "help"))
				break;
		if (!o->name)
			unknown_key(ld, section, key);
		if (o->has_arg == no_argument) {
			int on;

			if (!is_true(value, &on))
				pb_usage_error("%s:%d: key '%s' in [sweep]: value '%s' is not a boolean, "
					       "allowed: true, false (yes/no, on/off, 1/0)", ld->path,
					       ld->line, key, value);
			if (on) {
				snprintf(arg, sizeof(arg), "--%s", key);
				add_arg(ld, arg, o->name, where(ld, section, key));
			}
			return 1;
		}
		snprintf(arg, sizeof(arg), "--%s=%s", key, squeeze_commas(value));
		add_arg(ld, arg, o->name, where(ld, section, key));
		return 1;
	}
	for (size_t i = 0; i < PB_ARRAY_SIZE(setting_sections); i++) {
		if (strcmp(section, setting_sections[i][0]))
			continue;
		snprintf(arg, sizeof(arg), "--%s=%s=%s", setting_sections[i][1], key,
			 squeeze_commas(value));
		add_arg(ld, arg, setting_sections[i][1], where(ld, section, key));
		return 1;
	}
	if (!strcmp(section, "plot")) {
		if (!strcmp(key, "title"))
			pb_sweepfile.title = pb_xstrdup(value);
		else if (!strcmp(key, "description"))
			pb_sweepfile.description = pb_xstrdup(value);
		else if (!strcmp(key, "x") || !strcmp(key, "y")) {
			check_column(ld, key, value);
			if (key[0] == 'x')
				pb_sweepfile.x = pb_xstrdup(value);
			else
				pb_sweepfile.y = pb_xstrdup(value);
		} else {
			const char *near = pb_closest(key, plot_keys, PB_ARRAY_SIZE(plot_keys));

			pb_usage_error("%s:%d: unknown key '%s' in [plot]%s%s%s, allowed: title, "
				       "description, x, y", ld->path, ld->line, key,
				       near ? " (did you mean '" : "", near ? near : "",
				       near ? "'?)" : "");
		}
		return 1;
	}
	bad_section(ld, section);
	return 0;
}

void pb_sweep_load(int argc, char **argv, const struct option *longopts, int *argc_out,
		   char ***argv_out)
{
	struct loader ld;
	int rc;

	if (argc < 2 || argv[1][0] == '-')
		pb_usage_error("usage: poolbench sweep FILE [run options that override the file]");
	run_opts = longopts;
	memset(&ld, 0, sizeof(ld));
	ld.path = argv[1];
	ld.out = pb_xalloc(MAX_ARGS + (size_t)argc, sizeof(char *));
	pb_sweepfile.path = argv[1];
	pb_sweepfile.text = pb_read_text(argv[1], 1 << 20);
	if (!pb_sweepfile.text)
		pb_usage_error("cannot read sweep file '%s': %s", argv[1], strerror(errno));
	ld.f = fopen(argv[1], "r");
	if (!ld.f)
		pb_usage_error("cannot read sweep file '%s': %s", argv[1], strerror(errno));
	ld.out[ld.nout++] = "sweep";
	/* Strict: no continuation lines; long lines are reported, not split. */
	ini_allow_multiline = false;
	ini_max_line = LINE_MAX_CHARS + 3;
	ini_stop_on_first_error = true;
	rc = ini_parse_stream(file_reader, &ld, sweep_ini_key, &ld);
	fclose(ld.f);
	if (rc > 0)
		pb_usage_error("%s:%d: syntax error, allowed: '[section]', 'key = value' or a comment "
			       "starting with ';' or '#'", ld.path, rc);
	if (rc < 0)
		pb_usage_error("cannot read sweep file '%s'", ld.path);
	nargs = ld.nout;
	for (int i = 2; i < argc; i++)
		ld.out[ld.nout++] = argv[i];
	ld.out[ld.nout] = NULL;
	*argc_out = ld.nout;
	*argv_out = ld.out;
}
