/* SPDX-License-Identifier: MIT */
/*
 * The bottom of the poolbench program (docs: README "Layout"): the names of
 * the harness enums (row status, child phase, measurement mode, backend-option
 * axes), the usage-error helper, the parent's allocator and the test-hook
 * gate.  It calls no other harness file, and every other harness file may
 * call it, so that the rest runs one way:
 *   main -> sweep/plan -> run -> child -> sinks (csv, stats, meta, memstat, perf) -> base.
 * Single-threaded (the parent process).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pb.h"

const char *pb_prog = "poolbench";
/* Prefix of the next usage error (set by sweep.c for options from a sweep file). */
const char *pb_usage_ctx;
/* The loaded sweep file (sweep.c fills it, meta.c records it). */
struct pb_sweepfile pb_sweepfile;

/* ---- enum names ----------------------------------------------------------- */

const char *const pb_axis_opt[AX_COUNT] = {"seg-size", "seg-count", "capacity", "seg-supply"};

const char *pb_rstatus_name(enum pb_rstatus s)
{
	static const char *const names[] = {"ok", "skip", "invalid", "error", "crash", "stall",
					    "noisy"};

	return (unsigned)s < PB_ARRAY_SIZE(names) ? names[s] : "?";
}

const char *pb_phase_name(int ph)
{
	static const char *const names[] = {"start", "create", "warm-up", "timed", "shutdown",
					    "destroy", "done"};

	return ph >= 0 && (unsigned)ph < PB_ARRAY_SIZE(names) ? names[ph] : "?";
}

const char *pb_mode_name(int mode)
{
	static const char *const names[] = {"throughput", "latency", "rate"};

	return mode >= 0 && (unsigned)mode < PB_ARRAY_SIZE(names) ? names[mode] : "?";
}

/* --idle-poll's names, indexed by PB_IDLE_* (core/pool.h). */
static const char *const idle_poll_names[] = {"yield", "relax"};

const char *pb_idle_poll_name(unsigned v)
{
	return v < PB_ARRAY_SIZE(idle_poll_names) ? idle_poll_names[v] : "?";
}

int pb_idle_poll_parse(const char *name)
{
	for (unsigned i = 0; i < PB_ARRAY_SIZE(idle_poll_names); i++)
		if (strcmp(name, idle_poll_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *pb_order_name(int order)
{
	static const char *const names[] = {"interleaved", "random", "sequential"};

	return order >= 0 && (unsigned)order < PB_ARRAY_SIZE(names) ? names[order] : "?";
}

/* ---- errors and allocation ------------------------------------------------ */

void pb_usage_error(const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One line, whatever the message contains. */
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fprintf(stderr, "%s: %s%s\n", pb_prog, pb_usage_ctx ? pb_usage_ctx : "", buf);
	exit(PB_EXIT_USAGE);
}

/* Every allocation of the parent, chained so that it stays reachable. */
struct xblock {
	struct xblock *next;
	max_align_t data[];
};
static struct xblock *xblocks;

void *pb_xalloc(size_t n, size_t size)
{
	struct xblock *b;

	if (size && n > (SIZE_MAX - sizeof(*b)) / size)
		n = SIZE_MAX; /* fail below */
	b = n == SIZE_MAX ? NULL : calloc(1, sizeof(*b) + n * size);
	if (!b) {
		pb_log("out of memory");
		exit(PB_EXIT_NORES);
	}
	b->next = xblocks;
	xblocks = b;
	return b->data;
}

char *pb_xstrdup(const char *s)
{
	return strcpy(pb_xalloc(strlen(s) + 1, 1), s);
}

char *pb_read_text(const char *path, size_t max)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n = -1;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || (max && (size_t)n > max) ||
	    fseek(f, 0, SEEK_SET)) {
		fclose(f);
		if (n >= 0)
			errno = EFBIG; /* else fseek/ftell set it */
		return NULL;
	}
	s = pb_xalloc((size_t)n + 1, 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	return s;
}

void pb_xfree_all(void)
{
	while (xblocks) {
		struct xblock *b = xblocks;

		xblocks = b->next;
		free(b);
	}
}

/* ---- test hooks ------------------------------------------------------------- */

/*
 * Test hooks.  PB_FAULT (run.c fault_for()) injects faults; PB_FAKE_NS_PER_JOB=V1,V2,...
 * replaces the measured time of the i-th ok run of this invocation by Vi ns
 * per job (the last value repeats), so that the CLI tests can drive the
 * stopping rule deterministically.  PB_FAKE_CANARY_NS=V makes every canary
 * read V ns (so that the suite, run on a loaded machine, never sees a
 * "noisy" row it did not inject with PB_FAULT=slow@RUN); PB_SKIP_CALIBRATE=1
 * skips the machine's floor before a sweep (the suite runs a hundred sweeps;
 * each would spend a second on it).  Any one left
 * exported in a shell would publish wrong rows, so pb_test_hooks_check() refuses to run unless
 * PB_TEST_HOOKS=1 (which the test scripts set) is there too; meta.json
 * records the hooks in use (pb_test_hooks) and every faked row says so in
 * its note.
 */
static const char *const test_hook_vars[] = {"PB_FAKE_NS_PER_JOB", "PB_FAULT", "PB_FAKE_CANARY_NS",
					     "PB_SKIP_CALIBRATE", NULL};

static const char *env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void pb_test_hooks_check(void)
{
	const char *allow = env_set("PB_TEST_HOOKS");

	if (allow && !strcmp(allow, "1"))
		return;
	for (unsigned i = 0; test_hook_vars[i]; i++)
		if (env_set(test_hook_vars[i]))
			pb_usage_error("%s='%s' is set: a test hook that %s; allowed only with "
				       "PB_TEST_HOOKS=1 (the test suite's), so unset %s",
				       test_hook_vars[i], env_set(test_hook_vars[i]),
				       i == 0 ? "replaces every measured time" :
				       i == 1 ? "injects faults" :
				       i == 2 ? "replaces every canary time" : "leaves the floor out of meta.json",
				       test_hook_vars[i]);
}

const char *pb_test_hook(unsigned i, const char **value)
{
	for (unsigned k = 0; test_hook_vars[k]; k++)
		if (env_set(test_hook_vars[k]) && i-- == 0) {
			*value = env_set(test_hook_vars[k]);
			return test_hook_vars[k];
		}
	return NULL;
}
