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
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	fprintf(f, "      \"points\": %zu,\n", npts);
	fprintf(f, "      \"resume\": %s,\n      \"append\": %s,\n", sw->resume ? "true" : "false",
		sw->append ? "true" : "false");
	fprintf(f, "      \"stopping_rule\": {\"min_reps\": %u, \"max_reps\": %u, \"cov_pct\": %g},\n",
		sw->min_reps, sw->reps, sw->cov_pct);
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
	fprintf(f, "      \"jobs\": %llu,\n      \"reps\": %u,\n      \"watchdog_s\": %u\n",
		(unsigned long long)sw->jobs, sw->reps, sw->watchdog_s);
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
	fprintf(f, "  \"nproc\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
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
