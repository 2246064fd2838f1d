/* SPDX-License-Identifier: MIT */
/*
 * meta.json next to results.csv: what machine and build produced the rows
 * (host, CPU model and flags, topology, kernel, clock source, frequency
 * governor, compiler, build type and flags, commit, library versions) and, per
 * poolbench invocation, the exact command line, the sweep file, the stopping
 * rule, the shard, and the pinning requested and applied.  --append and
 * --resume add one entry to "runs".  A small JSON string escaper; no JSON
 * library.  Single-threaded.
 */
#include <errno.h>
#include <hwloc.h>
#include <sched.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pb.h"
#include "pb_build.h"
#include "pb_git.h"

#if PB_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Write @s as a JSON string literal (quotes included). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void kv(FILE *f, const char *indent, const char *k, const char *v, int last)
{
	fprintf(f, "%s", indent);
	json_str(f, k);
	fputs(": ", f);
	json_str(f, v);
	fputs(last ? "\n" : ",\n", f);
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			colon[strcspn(colon, "\n")] = 0;
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* The CPU flags that matter for these measurements, as /proc/cpuinfo has them. */
static void cpu_flags(char *buf, size_t len)
{
	static const char *const wanted[] = {
		"sha_ni", "avx2", "avx512f", "aes", "vaes", "cx16", "constant_tsc", "nonstop_tsc",
		"tsc_known_freq", "rdtscp", "hypervisor", "ht", "pdpe1gb", "lse", "atomics",
	};
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	size_t off = 0;

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon || (strncmp(line, "flags", 5) && strncmp(line, "Features", 8)))
			continue;
		buf[0] = 0;
		for (size_t i = 0; i < PB_ARRAY_SIZE(wanted); i++) {
			char pat[64];
			size_t n;

			snprintf(pat, sizeof(pat), " %s", wanted[i]);
			n = strlen(pat);
			for (char *p = strstr(colon, pat); p; p = strstr(p + 1, pat))
				if (p[n] == ' ' || p[n] == '\n' || p[n] == 0) {
					if (off < len)
						off += (size_t)snprintf(buf + off, len - off, "%s%s",
									off ? " " : "", wanted[i]);
					break;
				}
		}
		break;
	}
	fclose(f);
}

/* First line of a small file (sysfs), or "n/a". */
static void first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, len, "n/a");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	else
		snprintf(buf, len, "n/a");
	fclose(f);
}

static void utc_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *jemalloc_version(void)
{
#if PB_HAVE_JEMALLOC
	const char *v = NULL;
	size_t sz = sizeof(v);

	if (mallctl("version", &v, &sz, NULL, 0) == 0 && v)
		return v;
	return "linked, version unknown";
#else
	return "not linked";
#endif
}

/* The distinct CPU assignments of the points (the pinning applied). */
static void write_pinning(FILE *f, const struct pb_point *pts, size_t npts)
{
	static char seen[64][1040];
	unsigned nseen = 0;

	fputs("      \"pinning_applied\": [", f);
	for (size_t i = 0; i < npts && nseen < PB_ARRAY_SIZE(seen); i++) {
		char w[512], p[512], key[1040];
		int dup = 0;

		pb_cpus_format(pts[i].cpus_workers, pts[i].workers, w, sizeof(w));
		pb_cpus_format(pts[i].cpus_producers, pts[i].producers, p, sizeof(p));
		snprintf(key, sizeof(key), "%s|%s", w, p);
		for (unsigned k = 0; k < nseen; k++)
			if (!strcmp(seen[k], key))
				dup = 1;
		if (dup)
			continue;
		strcpy(seen[nseen], key);
		fprintf(f, "%s\n        {\"workers\": %u, \"producers\": %u, \"cpus_workers\": ",
			nseen ? "," : "", pts[i].workers, pts[i].producers);
		json_str(f, w);
		fputs(", \"cpus_producers\": ", f);
		json_str(f, p);
		fputs("}", f);
		nseen++;
	}
	fputs(nseen ? "\n      ],\n" : "],\n", f);
}

/* ---- the sweep identity (issue 12) ------------------------------------------------ */

/*
 * A results directory must only ever hold one sweep's rows (or sweeps added on
 * purpose with --append): --resume and merge compare the identity recorded in
 * each run entry.  points_hash covers every planned point of the whole sweep in
 * plan order (a point_id hashes its whole configuration, plan.c), before the
 * --shard cut, so all shards of one sweep share it; the sweep id adds the
 * commit and the build flags; the fingerprint adds the shard.  The stopping
 * rule is left out on purpose: a larger --reps on --resume adds repetitions.
 */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static struct {
	bool set;
	size_t n;
	uint64_t hash;
} full_plan;

void pb_plan_record_full(const struct pb_point *pts, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h = fnv(h, pts[i].id);
		h = fnv(h, "\n");
	}
	full_plan.set = true;
	full_plan.n = n;
	full_plan.hash = h;
}

static const char *build_flags(void)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "buildtype=%s optimization=%s debug=%s b_ndebug=%s sanitize=%s c_std=%s "
		 "c_args=%s delay_inject=%s jemalloc=%d compiler=%s",
		 PB_BUILDTYPE, PB_OPTIMIZATION, PB_DEBUG, PB_B_NDEBUG, PB_SANITIZE, PB_C_STD,
		 PB_C_ARGS[0] ? PB_C_ARGS : "-", PB_DELAY_INJECT_OPT, PB_HAVE_JEMALLOC, PB_CC_ID);
	return buf;
}

void pb_sweep_identity(const struct pb_sweep *sw, const struct pb_point *pts, size_t npts,
		       struct pb_sweep_id *out)
{
	uint64_t h;
	char buf[64];

	memset(out, 0, sizeof(*out));
	if (!full_plan.set) /* no --shard cut: the points are the whole plan */
		pb_plan_record_full(pts, npts);
	out->points_total = full_plan.n;
	snprintf(out->points_hash, sizeof(out->points_hash), "%016llx",
		 (unsigned long long)full_plan.hash);
	out->shard_k = sw->shard_k ? sw->shard_k : 1;
	out->shard_n = sw->shard_n ? sw->shard_n : 1;
	snprintf(out->commit, sizeof(out->commit), "%s", PB_GIT);
	snprintf(out->build, sizeof(out->build), "%s", build_flags());
	h = fnv(0xcbf29ce484222325ull, out->points_hash);
	h = fnv(h, "|");
	h = fnv(h, out->commit);
	h = fnv(h, "|");
	h = fnv(h, out->build);
	snprintf(out->id, sizeof(out->id), "%016llx", (unsigned long long)h);
	snprintf(buf, sizeof(buf), "|%u/%u", out->shard_k, out->shard_n);
	h = fnv(h, buf);
	snprintf(out->fingerprint, sizeof(out->fingerprint), "%016llx", (unsigned long long)h);
}

/* The CPUs this process may run on (taskset, cgroups, Slurm), as a list. */
static unsigned cpus_allowed(char *buf, size_t len)
{
	cpu_set_t set;
	size_t off = 0;
	unsigned n = 0;

	snprintf(buf, len, "unknown");
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	buf[0] = 0;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		int e = c;

		if (!CPU_ISSET(c, &set))
			continue;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set))
			e++;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, e > c ? "%s%d-%d" : "%s%d",
						off ? "," : "", c, e);
		n += (unsigned)(e - c + 1);
		c = e;
	}
	return n;
}

/* Where this invocation ran: host, allowed CPUs, Slurm job (environment). */
static void write_where(FILE *f)
{
	static const char *const slurm[][2] = {
		{"job_id", "SLURM_JOB_ID"}, {"array_job_id", "SLURM_ARRAY_JOB_ID"},
		{"array_task_id", "SLURM_ARRAY_TASK_ID"}, {"node", "SLURMD_NODENAME"},
		{"restart_count", "SLURM_RESTART_COUNT"}, {"partition", "SLURM_JOB_PARTITION"},
	};
	char host[256] = "unknown", cpus[1024];
	unsigned n;
	int any = 0;

	gethostname(host, sizeof(host) - 1);
	kv(f, "      ", "host", host, 0);
	n = cpus_allowed(cpus, sizeof(cpus));
	kv(f, "      ", "cpus_allowed", cpus, 0);
	fprintf(f, "      \"ncpus_allowed\": %u,\n", n);
	fprintf(f, "      \"pid\": %ld,\n", (long)getpid());
	for (size_t i = 0; i < PB_ARRAY_SIZE(slurm); i++) {
		const char *v = getenv(slurm[i][1]);

		if (!v || !*v)
			continue;
		fputs(any ? ", " : "      \"slurm\": {", f);
		json_str(f, slurm[i][0]);
		fputs(": ", f);
		json_str(f, v);
		any = 1;
	}
	if (any)
		fputs("},\n", f);
}

/* "sweep" (one line: --resume and merge read it back) and "planned". */
static void write_identity(FILE *f, const struct pb_sweep *sw, const struct pb_point *pts,
			   size_t npts)
{
	struct pb_sweep_id id;

	pb_sweep_identity(sw, pts, npts, &id);
	write_where(f);
	fputs("      \"sweep\": {\"id\": ", f);
	json_str(f, id.id);
	fputs(", \"fingerprint\": ", f);
	json_str(f, id.fingerprint);
	fprintf(f, ", \"points_total\": %zu, \"points_hash\": ", id.points_total);
	json_str(f, id.points_hash);
	fprintf(f, ", \"shard\": \"%u/%u\", \"commit\": ", id.shard_k, id.shard_n);
	json_str(f, id.commit);
	fputs(", \"build\": ", f);
	json_str(f, id.build);
	fputs("},\n", f);
	/* The shard's planned points: status and merge name what is missing. */
	fputs("      \"planned\": [", f);
	for (size_t i = 0; i < npts; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", pts[i].id);
	fputs("],\n", f);
}

/* One entry of "runs" (no trailing newline). */
static void write_run(FILE *f, const struct pb_sweep *sw, const struct pb_point *pts, size_t npts)
{
	char date[64], buf[256];

	utc_now(date, sizeof(date));
	fputs("    {\n", f);
	kv(f, "      ", "date", date, 0);
	kv(f, "      ", "command", sw->cmdline, 0);
	if (pb_sweepfile.path) {
		kv(f, "      ", "sweep_file", pb_sweepfile.path, 0);
		kv(f, "      ", "sweep_file_text", pb_sweepfile.text, 0);
		fputs("      \"plot\": {", f);
		json_str(f, "title");
		fputs(": ", f);
		json_str(f, pb_sweepfile.title ? pb_sweepfile.title : "");
		fputs(", \"description\": ", f);
		json_str(f, pb_sweepfile.description ? pb_sweepfile.description : "");
		fputs(", \"x\": ", f);
		json_str(f, pb_sweepfile.x ? pb_sweepfile.x : "");
		fputs(", \"y\": ", f);
		json_str(f, pb_sweepfile.y ? pb_sweepfile.y : "");
		fputs("},\n", f);
	}
	kv(f, "      ", "pin_workers", sw->pin_workers, 0);
	kv(f, "      ", "pin_producers", sw->pin_producers, 0);
	write_pinning(f, pts, npts);
	if (sw->warmup_ns)
		snprintf(buf, sizeof(buf), "%lluns", (unsigned long long)sw->warmup_ns);
	else if (sw->warmup < 0)
		snprintf(buf, sizeof(buf), "jobs/10");
	else
		snprintf(buf, sizeof(buf), "%lld", (long long)sw->warmup);
	kv(f, "      ", "warmup", buf, 0);
	snprintf(buf, sizeof(buf), "%u/%u", sw->shard_k ? sw->shard_k : 1,
		 sw->shard_n ? sw->shard_n : 1);
	kv(f, "      ", "shard", buf, 0);
	write_identity(f, sw, pts, npts);
	fprintf(f, "      \"points\": %zu,\n", npts);
	fprintf(f, "      \"resume\": %s,\n      \"append\": %s,\n", sw->resume ? "true" : "false",
		sw->append ? "true" : "false");
	fprintf(f, "      \"stopping_rule\": {\"min_reps\": %u, \"max_reps\": %u, \"cov_pct\": %g, "
		"\"max_fail\": %u},\n", sw->min_reps, sw->reps, sw->cov_pct, sw->max_fail);
	/* Noisy machines (issue 8): the run order, the canary, the machine's floor. */
	kv(f, "      ", "order", pb_order_name(sw->order), 0);
	if (sw->order == PB_ORDER_RANDOM)
		fprintf(f, "      \"seed\": %llu,\n", (unsigned long long)sw->seed);
	fprintf(f, "      \"canary\": {\"iters\": %llu, \"tol_pct\": %g, \"baseline_ns\": [",
		(unsigned long long)sw->canary_iters, sw->canary_tol);
	for (unsigned i = 0; i < sw->canary_base_n; i++)
		fprintf(f, "%s%.0f", i ? ", " : "", sw->canary_base_ns[i]);
	fputs("]},\n", f);
	if (sw->floor) {
		fputs("      \"floor\": ", f);
		pb_floor_json(sw->floor, f, "      ");
		fputs(",\n", f);
	}
	{
		const char *hv, *hk;

		fputs("      \"test_hooks\": {", f);
		for (unsigned i = 0; (hk = pb_test_hook(i, &hv)) != NULL; i++) {
			fputs(i ? ", " : "", f);
			json_str(f, hk);
			fputs(": ", f);
			json_str(f, hv);
		}
		fputs("},\n", f);
	}
	/* The job counts that ran (after --jobs / [jobs] precedence): "jobs" is
	 * the points' count when they share one, and "workload_jobs" each
	 * workload's. */
	fputs("      \"workload_jobs\": {", f);
	{
		uint64_t jobs = npts ? pts[0].jobs : sw->jobs;
		unsigned nw = 0;

		for (size_t i = 0; i < npts; i++) {
			int seen = 0;

			for (size_t k = 0; k < i; k++)
				if (pts[k].wl == pts[i].wl)
					seen = 1;
			if (pts[i].jobs != jobs)
				jobs = sw->jobs;
			if (seen)
				continue;
			fprintf(f, "%s", nw++ ? ", " : "");
			json_str(f, pts[i].wl->name);
			fprintf(f, ": %llu", (unsigned long long)pts[i].jobs);
		}
		fprintf(f, "},\n      \"jobs\": %llu,\n      \"reps\": %u,\n      \"watchdog_s\": %u\n",
			(unsigned long long)jobs, sw->reps, sw->watchdog_s);
	}
	fputs("    }", f);
}

static const char meta_tail[] = "\n  ]\n}\n";

/* --append: add a run to an existing meta.json written by us.  0, or
 * -EAGAIN if the file is not in our format (then it is rewritten). */
static int meta_append(const char *path, const struct pb_sweep *sw, const struct pb_point *pts,
		       size_t npts)
{
	FILE *f = fopen(path, "r+");
	long size;
	char tail[sizeof(meta_tail)];

	if (!f)
		return -EAGAIN;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < (long)sizeof(meta_tail) ||
	    fseek(f, size - (long)(sizeof(meta_tail) - 1), SEEK_SET) ||
	    fread(tail, 1, sizeof(meta_tail) - 1, f) != sizeof(meta_tail) - 1) {
		fclose(f);
		return -EAGAIN;
	}
	tail[sizeof(meta_tail) - 1] = 0;
	if (strcmp(tail, meta_tail)) {
		fclose(f);
		return -EAGAIN;
	}
	fseek(f, size - (long)(sizeof(meta_tail) - 1), SEEK_SET);
	fputs(",\n", f);
	write_run(f, sw, pts, npts);
	fputs(meta_tail, f);
	fflush(f);
	fsync(fileno(f));
	return fclose(f) ? -errno : 0;
}

int pb_meta_write(const char *dir, const struct pb_sweep *sw, const struct pb_topo *topo,
		  const struct pb_point *pts, size_t npts, bool append)
{
	char path[4096], tmp[4096], buf[512], date[64], host[256] = "unknown";
	struct utsname un;
	FILE *f;

	snprintf(path, sizeof(path), "%s/meta.json", dir);
	if (append && meta_append(path, sw, pts, npts) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/.meta.json.tmp", dir);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	gethostname(host, sizeof(host) - 1);
	utc_now(date, sizeof(date));
	fputs("{\n", f);
	fprintf(f, "  \"schema_version\": %d,\n", PB_SCHEMA_VERSION);
	kv(f, "  ", "date", date, 0);
	kv(f, "  ", "host", host, 0);
	cpu_model(buf, sizeof(buf));
	kv(f, "  ", "cpu_model", buf, 0);
	cpu_flags(buf, sizeof(buf));
	kv(f, "  ", "cpu_flags", buf, 0);
	/* nproc as nproc(1) counts: the CPUs this process may use (taskset,
	 * cgroups, a Slurm allocation), not every CPU online. */
	{
		char cpus[1024];
		unsigned nal = cpus_allowed(cpus, sizeof(cpus));

		fprintf(f, "  \"nproc\": %u,\n", nal ? nal : (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
		fprintf(f, "  \"cpus_online\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
		kv(f, "  ", "cpus_allowed", cpus, 0);
	}
	pb_topo_summary(topo, buf, sizeof(buf));
	kv(f, "  ", "topology", buf, 0);
	if (uname(&un) == 0) {
		char k[1024];

		snprintf(k, sizeof(k), "%s %s %s %s", un.sysname, un.release, un.version, un.machine);
		kv(f, "  ", "kernel", k, 0);
	} else {
		kv(f, "  ", "kernel", "unknown", 0);
	}
	first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", buf,
		   sizeof(buf));
	kv(f, "  ", "clocksource", buf, 0);
	first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", buf, sizeof(buf));
	kv(f, "  ", "governor", buf, 0);
#ifdef __VERSION__
	kv(f, "  ", "compiler", __VERSION__, 0);
#else
	kv(f, "  ", "compiler", PB_CC_ID, 0);
#endif
	fputs("  \"build\": {\n", f);
	kv(f, "    ", "compiler_id", PB_CC_ID, 0);
	kv(f, "    ", "buildtype", PB_BUILDTYPE, 0);
	kv(f, "    ", "optimization", PB_OPTIMIZATION, 0);
	kv(f, "    ", "debug", PB_DEBUG, 0);
	kv(f, "    ", "b_ndebug", PB_B_NDEBUG, 0);
	kv(f, "    ", "sanitize", PB_SANITIZE, 0);
	kv(f, "    ", "c_std", PB_C_STD, 0);
	kv(f, "    ", "c_args", PB_C_ARGS, 0);
	kv(f, "    ", "delay_inject", PB_DELAY_INJECT_OPT, 0);
	kv(f, "    ", "git", PB_GIT, 1);
	fputs("  },\n", f);
	fputs("  \"libraries\": {\n", f);
	kv(f, "    ", "ck", PB_CK_VERSION, 0);
	kv(f, "    ", "liburcu", PB_URCU_VERSION, 0);
	kv(f, "    ", "hwloc", PB_HWLOC_VERSION, 0);
	snprintf(buf, sizeof(buf), "0x%x", hwloc_get_api_version());
	kv(f, "    ", "hwloc_api_runtime", buf, 0);
	kv(f, "    ", "openssl", OpenSSL_version(OPENSSL_VERSION), 0);
	kv(f, "    ", "jemalloc", jemalloc_version(), 0);
	kv(f, "    ", "inih", PB_INIH_VERSION, 1);
	fputs("  },\n", f);
	fputs("  \"runs\": [\n", f);
	write_run(f, sw, pts, npts);
	fputs(meta_tail, f);
	fflush(f);
	fsync(fileno(f));
	if (fclose(f))
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s/.meta.json.tmp", dir);
	if (rename(tmp, path))
		return -errno;
	return 0;
}

/* ---- reading the identity back (--resume, merge, status) ------------------------ */

/* The value of "key" in a one-line JSON object @line: a string (unescaped
 * simply: \" and \\) or a bare number; "" if absent.  Stops at the line end. */
void pb_json_field(const char *line, const char *key, char *buf, size_t len)
{
	char pat[128];
	const char *p, *eol = strchr(line, '\n');
	size_t o = 0;

	buf[0] = 0;
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(line, pat);
	if (!p || (eol && p > eol))
		return;
	p += strlen(pat);
	if (*p == '"') {
		for (p++; *p && *p != '"' && *p != '\n'; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				if (*p == 'n')
					continue;
			}
			if (o + 1 < len)
				buf[o++] = *p;
		}
	} else {
		for (; *p && *p != ',' && *p != '}' && *p != '\n' && *p != ']'; p++)
			if (o + 1 < len)
				buf[o++] = *p;
	}
	buf[o] = 0;
}

/* The runs of a meta.json written by poolbench: each entry's sweep identity,
 * command, planned points and stopping rule.  Only the last top-level "runs"
 * list is read (a merged meta.json also holds its inputs under "sources"). */
int pb_meta_runs(const char *meta, struct pb_meta_run **out)
{
	static const char runs_key[] = "\n  \"runs\": [\n";
	const char *p, *last = NULL;
	struct pb_meta_run *r;
	int n = 0, cap = 0;

	*out = NULL;
	for (p = strstr(meta, runs_key); p; p = strstr(p + 1, runs_key))
		last = p;
	if (!last)
		return -EINVAL;
	for (p = last; (p = strstr(p, "\n    {\n")); p++)
		cap++;
	r = pb_xalloc((size_t)cap + 1, sizeof(*r));
	for (p = strstr(last, "\n    {\n"); p && n < cap; p = strstr(p + 1, "\n    {\n")) {
		const char *end = strstr(p + 1, "\n    }");
		struct pb_meta_run *x = &r[n++];
		char v[64];

		for (const char *l = p + 1; l && (!end || l < end); l = strchr(l, '\n')) {
			l++;
			if (!strncmp(l, "      \"command\": ", 17)) {
				x->command = pb_xalloc(strlen(l) + 1, 1);
				pb_json_field(l, "command", x->command, strlen(l) + 1);
			} else if (!strncmp(l, "      \"sweep\": {", 16)) {
				x->have_id = true;
				pb_json_field(l, "id", x->id.id, sizeof(x->id.id));
				pb_json_field(l, "fingerprint", x->id.fingerprint,
					      sizeof(x->id.fingerprint));
				pb_json_field(l, "points_hash", x->id.points_hash,
					      sizeof(x->id.points_hash));
				pb_json_field(l, "points_total", v, sizeof(v));
				x->id.points_total = strtoul(v, NULL, 10);
				pb_json_field(l, "shard", v, sizeof(v));
				if (sscanf(v, "%u/%u", &x->id.shard_k, &x->id.shard_n) != 2)
					x->id.shard_k = x->id.shard_n = 0;
				pb_json_field(l, "commit", x->id.commit, sizeof(x->id.commit));
				pb_json_field(l, "build", x->id.build, sizeof(x->id.build));
			} else if (!strncmp(l, "      \"planned\": [", 18)) {
				const char *q = l + 18, *e = strchr(l, '\n');
				size_t k = 0;

				x->planned = pb_xalloc((size_t)(e ? e - q : (long)strlen(q)) / 18 + 1,
						       sizeof(char *));
				while ((q = strchr(q, '"')) && (!e || q < e)) {
					const char *qe = strchr(q + 1, '"');

					if (!qe)
						break;
					x->planned[k] = pb_xalloc((size_t)(qe - q), 1);
					memcpy(x->planned[k], q + 1, (size_t)(qe - q - 1));
					k++;
					q = qe + 1;
				}
				x->nplanned = k;
			} else if (!strncmp(l, "      \"stopping_rule\": {", 24)) {
				pb_json_field(l, "min_reps", v, sizeof(v));
				x->min_reps = (unsigned)strtoul(v, NULL, 10);
				pb_json_field(l, "max_reps", v, sizeof(v));
				x->max_reps = (unsigned)strtoul(v, NULL, 10);
				pb_json_field(l, "cov_pct", v, sizeof(v));
				x->cov_pct = strtod(v, NULL);
				pb_json_field(l, "max_fail", v, sizeof(v));
				x->max_fail = (unsigned)strtoul(v, NULL, 10);
			} else if (!strncmp(l, "      \"host\": ", 14)) {
				pb_json_field(l, "host", x->host, sizeof(x->host));
			}
		}
	}
	*out = r;
	return n;
}

/* What differs between two identities, "" if nothing ("; "-joined). */
void pb_sweep_id_diff(const struct pb_sweep_id *here, const struct pb_sweep_id *there,
		      const char *here_name, const char *there_name, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
#define ADD(...)                                                                       \
	do {                                                                           \
		if (off < len)                                                         \
			off += (size_t)snprintf(buf + off, len - off, "%s", off ? "; " : ""); \
		if (off < len)                                                         \
			off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__);    \
	} while (0)
	if (strcmp(here->points_hash, there->points_hash))
		ADD("the planned points differ (%zu points, hash %s %s; %zu points, hash %s %s)",
		    here->points_total, here->points_hash, here_name, there->points_total,
		    there->points_hash, there_name);
	if (here->shard_k != there->shard_k || here->shard_n != there->shard_n)
		ADD("the shard differs (%u/%u %s, %u/%u %s)", here->shard_k, here->shard_n, here_name,
		    there->shard_k, there->shard_n, there_name);
	if (strcmp(here->commit, there->commit))
		ADD("the commit differs (%s %s, %s %s)", here->commit, here_name, there->commit,
		    there_name);
	if (strcmp(here->build, there->build)) {
		/* Name only the build settings that differ. */
		char a[1024], b[1024], *sa = NULL, *sb = NULL;
		char da[512] = "", db[512] = "";
		size_t oa = 0, ob = 0;

		snprintf(a, sizeof(a), "%s", here->build);
		snprintf(b, sizeof(b), "%s", there->build);
		for (char *ta = strtok_r(a, " ", &sa), *tb = strtok_r(b, " ", &sb); ta || tb;
		     ta = ta ? strtok_r(NULL, " ", &sa) : NULL, tb = tb ? strtok_r(NULL, " ", &sb) : NULL) {
			if (ta && tb && !strcmp(ta, tb))
				continue;
			if (ta && oa < sizeof(da))
				oa += (size_t)snprintf(da + oa, sizeof(da) - oa, "%s%s", oa ? " " : "", ta);
			if (tb && ob < sizeof(db))
				ob += (size_t)snprintf(db + ob, sizeof(db) - ob, "%s%s", ob ? " " : "", tb);
		}
		ADD("the build differs (%s %s, %s %s)", da, here_name, db, there_name);
	}
#undef ADD
}

/* Is @tok (exactly) one of the shell words of @cmd? */
static bool has_word(const char *cmd, const char *tok, bool prefix)
{
	size_t n = strlen(tok);

	for (const char *p = cmd; (p = strstr(p, tok)); p += n)
		if ((p == cmd || p[-1] == ' ') &&
		    (prefix ? p[n] == '=' : (p[n] == ' ' || p[n] == 0)))
			return true;
	return false;
}

static void shell_quote(char *out, size_t len, const char *s)
{
	size_t o = 0;
	bool plain = *s != 0;

	for (const char *c = s; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%", *c))
			plain = false;
	if (plain) {
		snprintf(out, len, "%s", s);
		return;
	}
	if (o + 1 < len)
		out[o++] = '\'';
	for (const char *c = s; *c && o + 5 < len; c++) {
		if (*c == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = *c;
		}
	}
	if (o + 1 < len)
		out[o++] = '\'';
	out[o] = 0;
}

char *pb_resume_command(const char *cmdline, const char *out_dir)
{
	size_t len = strlen(cmdline) + strlen(out_dir) * 4 + 4300;
	char *s = pb_xalloc(len, 1), *o = s;
	const char *p = cmdline;

	/* Drop the word --append (--append with --resume is refused). */
	while (*p) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (!(n == 8 && !strncmp(p, "--append", 8))) {
			if (o > s)
				*o++ = ' ';
			memcpy(o, p, n);
			o += n;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	*o = 0;
	{
		/* --out DIR as the directory now named (status may be given a copy,
		 * or a path from another working directory); added if absent. */
		char q[4200], *w = NULL;

		shell_quote(q, sizeof(q), out_dir);
		for (char *p2 = strstr(s, "--out"); p2; p2 = strstr(p2 + 5, "--out"))
			if ((p2 == s || p2[-1] == ' ') && (p2[5] == ' ' || p2[5] == '='))
				w = p2; /* the last one wins, as with getopt */
		if (w) {
			char *v = w + 6, *e = v, *rest;
			bool inq = false;

			for (; *e && (inq || *e != ' '); e++)
				if (*e == '\'')
					inq = !inq;
			rest = pb_xstrdup(e);
			o = v + sprintf(v, "%s%s", q, rest);
		} else {
			o += sprintf(o, " --out %s", q);
		}
	}
	if (!has_word(s, "--resume", false))
		strcpy(o, " --resume");
	return s;
}

void pb_resume_check(const struct pb_sweep *sw, const struct pb_point *pts, size_t npts)
{
	char path[4200], diff[4096];
	struct pb_sweep_id here;
	struct pb_meta_run *runs;
	const struct pb_meta_run *last = NULL;
	char *meta;
	int n;

	if (sw->append && sw->resume)
		pb_usage_error("--append and --resume exclude each other: --resume continues the "
			       "sweep in DIR (runs only its missing repetitions), --append runs every "
			       "point again and adds the rows; give one");
	if (!sw->resume)
		return;
	snprintf(path, sizeof(path), "%s/meta.json", sw->out);
	meta = pb_read_text(path, 0);
	if (!meta) {
		struct stat st;

		if (errno != ENOENT)
			pb_usage_error("--resume: cannot read %s: %s", path, strerror(errno));
		snprintf(path, sizeof(path), "%s/results.csv", sw->out);
		if (stat(path, &st) == 0) {
			/* A first attempt killed between creating results.csv and
			 * writing meta.json left a header and no row: nothing to mix. */
			char *text = pb_read_text(path, 1 << 20);
			char *nl = text ? strchr(text, '\n') : NULL;

			if (!nl || nl[1])
				pb_usage_error("--resume: %s/meta.json is missing, so which sweep %s "
					       "holds cannot be checked: use a new --out", sw->out, path);
		}
		return; /* nothing yet: --resume starts the sweep (a first Slurm attempt) */
	}
	pb_sweep_identity(sw, pts, npts, &here);
	n = pb_meta_runs(meta, &runs);
	if (n < 0)
		pb_usage_error("--resume: %s is not a meta.json written by poolbench (no \"runs\" list): "
			       "use a new --out", path);
	for (int i = 0; i < n; i++) {
		if (!runs[i].have_id)
			continue;
		if (!strcmp(runs[i].id.fingerprint, here.fingerprint))
			return;
		last = &runs[i];
	}
	if (!last)
		pb_usage_error("--resume: %s records no sweep fingerprint (written by an older "
			       "poolbench), so it cannot be checked: use a new --out", path);
	pb_sweep_id_diff(&here, &last->id, "here", "there", diff, sizeof(diff));
	pb_usage_error("--resume: %s holds another sweep (fingerprint %s, this command's %s): %s; "
		       "resume with its own command (%s), or use a new --out", sw->out,
		       last->id.fingerprint, here.fingerprint, diff[0] ? diff : "the fingerprint differs",
		       last->command ? last->command : "meta.json runs[].command");
}
