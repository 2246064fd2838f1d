/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the workloads: every entry of pb_workloads[] is well-formed,
 * runs with its defaults and rejects out-of-range options with the core's
 * message shape; then the specific ones: sha256 against published and
 * precomputed vectors, cpu's result against a closed form, io's descriptors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "pb.h"
#include "registry.h"
#include "common.h"
#include "../workloads/cpu.h"
#include "../workloads/sha256.h"

static void hex(const unsigned char *md, char out[2 * PB_SHA256_LEN + 1])
{
	for (int i = 0; i < PB_SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static const char *skip_reason(const struct pb_workload_ops *w)
{
	return w->supported ? w->supported() : NULL;
}

/* Every registry entry: ops check, unique names, find(), option tables. */
static void test_registry(void **state)
{
	size_t n = pb_workload_count();

	(void)state;
	assert_true(n >= 4);
	for (size_t i = 0; pb_workloads[i]; i++) {
		const struct pb_workload_ops *w = pb_workloads[i];
		const char *why = pb_workload_check(w);

		if (why)
			fail_msg("workload %zu (%s): %s", i, w->name ? w->name : "?", why);
		assert_ptr_equal(pb_workload_find(w->name), w);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(pb_workloads[j]->name, w->name))
				fail_msg("workload name '%s' appears twice", w->name);
		for (size_t k = 0; w->options && w->options[k].name; k++) {
			const struct pb_option *o = &w->options[k];

			for (const char *c = o->name; *c; c++)
				if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
					fail_msg("%s: option '%s' is not lower-case-dashed", w->name, o->name);
			if (!o->help || !*o->help)
				fail_msg("%s: option '%s' has no help", w->name, o->name);
			if (pb_opt_index(w->options, o->name) != (int)k)
				fail_msg("%s: option '%s' declared twice", w->name, o->name);
			switch (o->type) {
			case PB_OPT_INT:
				if (o->min > o->max || o->def < o->min || o->def > o->max)
					fail_msg("%s: option '%s' default %" PRId64 " outside %" PRId64
						 " .. %" PRId64, w->name, o->name, o->def, o->min, o->max);
				if ((o->flags & PB_OPTF_POW2) && (o->def <= 0 || (o->def & (o->def - 1))))
					fail_msg("%s: option '%s' default is not a power of two",
						 w->name, o->name);
				break;
			case PB_OPT_ENUM: {
				int64_t nc = 0;

				if (!o->choices)
					fail_msg("%s: enum option '%s' has no choices", w->name, o->name);
				while (o->choices[nc])
					nc++;
				if (o->def < 0 || o->def >= nc)
					fail_msg("%s: enum option '%s' default index %" PRId64 " of %" PRId64,
						 w->name, o->name, o->def, nc);
				break;
			}
			case PB_OPT_BOOL:
				if (o->def != 0 && o->def != 1)
					fail_msg("%s: bool option '%s' default %" PRId64, w->name, o->name,
						 o->def);
				break;
			default:
				fail_msg("%s: option '%s' has unknown type %d", w->name, o->name, o->type);
			}
		}
	}
	for (const char *const *nm = (const char *const[]){ "empty", "sha256", "cpu", "io", NULL };
	     *nm; nm++)
		if (!pb_workload_find(*nm))
			fail_msg("workload '%s' is not registered", *nm);
}

/* Every registry entry: init with defaults, run a few ids, fini. */
static void test_defaults_run(void **state)
{
	(void)state;
	for (size_t i = 0; pb_workloads[i]; i++) {
		const struct pb_workload_ops *w = pb_workloads[i];
		struct pb_optvals ov;
		void *ctx = NULL;
		int rc;

		if (!tc_only(w->name, NULL))
			continue;

		if (skip_reason(w)) {
			print_message("skip %s: %s\n", w->name, skip_reason(w));
			continue;
		}
		pb_opts_defaults(&ov, w->options);
		rc = w->init(&ov, &ctx);
		if (rc)
			fail_msg("%s: init with defaults returned %d", w->name, rc);
		for (uint64_t id = 0; id < 8; id++) {
			rc = w->run(ctx, id * 7919);
			if (rc)
				fail_msg("%s: run(%" PRIu64 ") returned %d", w->name, id * 7919, rc);
		}
		w->fini(ctx);
	}
}

/*
 * Every INT option of every workload: min and max are accepted, min-1 and
 * max+1 are rejected with -ERANGE and exactly the core's message shape.
 * Enum options reject an unknown choice.  A misspelt name suggests the
 * right one.
 */
static void test_option_ranges(void **state)
{
	(void)state;
	for (size_t i = 0; pb_workloads[i]; i++) {
		const struct pb_workload_ops *w = pb_workloads[i];

		if (!tc_only(w->name, NULL))
			continue;
		for (size_t k = 0; w->options && w->options[k].name; k++) {
			const struct pb_option *o = &w->options[k];
			struct pb_optvals ov;
			char err[512], want[512], txt[64];
			int rc;

			pb_opts_defaults(&ov, w->options);
			if (o->type == PB_OPT_ENUM) {
				rc = pb_opts_set(&ov, o->name, "no-such-choice", err, sizeof(err));
				assert_int_equal(rc, -EINVAL);
				snprintf(want, sizeof(want), "value 'no-such-choice' is not valid for %s, allowed: ",
					 o->name);
				if (strncmp(err, want, strlen(want)) || !strstr(err, o->choices[0]))
					fail_msg("%s: message '%s'", w->name, err);
				continue;
			}
			if (o->type != PB_OPT_INT)
				continue;
			const int64_t bad[2] = { o->min - 1, o->max + 1 };
			const int64_t good[2] = { o->min, o->max };

			for (int b = 0; b < 2; b++) {
				snprintf(txt, sizeof(txt), "%" PRId64, good[b]);
				rc = pb_opts_set(&ov, o->name, txt, err, sizeof(err));
				if (rc != 0 && !(o->flags & PB_OPTF_POW2))
					fail_msg("%s: %s=%s rejected: %s", w->name, o->name, txt, err);
				snprintf(txt, sizeof(txt), "%" PRId64, bad[b]);
				rc = pb_opts_set(&ov, o->name, txt, err, sizeof(err));
				assert_int_equal(rc, -ERANGE);
				snprintf(want, sizeof(want), "value %s is out of range for %s, allowed: %"
					 PRId64 " .. %" PRId64, txt, o->name, o->min, o->max);
				if (strcmp(err, want))
					fail_msg("%s: got '%s', want '%s'", w->name, err, want);
			}
			/* A typo (first letter doubled) is refused and the real name suggested. */
			snprintf(txt, sizeof(txt), "%c%s", o->name[0], o->name);
			rc = pb_opts_set(&ov, txt, "1", err, sizeof(err));
			assert_int_equal(rc, -ENOENT);
			snprintf(want, sizeof(want), "(did you mean '%s'?)", o->name);
			if (!strstr(err, want))
				fail_msg("%s: typo '%s' gave '%s'", w->name, txt, err);
		}
	}
}

/* The concrete messages a user sees for the seed's two sizes. */
static void test_option_messages(void **state)
{
	const struct pb_workload_ops *sha = pb_workload_find("sha256");
	const struct pb_workload_ops *cpu = pb_workload_find("cpu");
	struct pb_optvals ov;
	char err[256];

	(void)state;
	assert_non_null(sha);
	assert_non_null(cpu);
	pb_opts_defaults(&ov, sha->options);
	assert_int_equal(pb_opt_get(&ov, "size"), 8192);
	assert_int_equal(pb_opts_set(&ov, "size", "0", err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "value 0 is out of range for size, allowed: 1 .. 67108864");
	assert_int_equal(pb_opts_set(&ov, "size", "16k", err, sizeof(err)), 0);
	assert_int_equal(pb_opt_get(&ov, "size"), 16384);
	pb_opts_defaults(&ov, cpu->options);
	assert_int_equal(pb_opt_get(&ov, "iters"), 100000);
	assert_int_equal(pb_opts_set(&ov, "iters", "-1", err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "value -1 is out of range for iters, allowed: 0 .. 1099511627776");
}

/* Published vectors (FIPS 180-2 "abc", empty input) and the seed's buffer. */
static void test_sha256_vectors(void **state)
{
	static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char nil[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	/* `head -c 8192 /dev/zero | tr '\0' '\360' | sha256sum` */
	static const char f0x8k[] = "d13be89d28daee34c65edd61ed916f9ce6f5a22df3f503100fcf74f0ca7fbea4";
	const struct pb_workload_ops *w = pb_workload_find("sha256");
	unsigned char md[PB_SHA256_LEN], buf[8192];
	char h[2 * PB_SHA256_LEN + 1];
	struct pb_optvals ov;
	char err[256];
	void *ctx;

	(void)state;
	pb_sha256_ctx("abc", 3, md);
	hex(md, h);
	assert_string_equal(h, abc);
	pb_sha256_oneshot("abc", 3, md);
	hex(md, h);
	assert_string_equal(h, abc);
	pb_sha256_ctx("", 0, md);
	hex(md, h);
	assert_string_equal(h, nil);
	memset(buf, 0xF0, sizeof(buf));
	pb_sha256_ctx(buf, sizeof(buf), md);
	hex(md, h);
	assert_string_equal(h, f0x8k);

	/* The workload with defaults hashes exactly that buffer, with both APIs. */
	assert_non_null(w);
	for (int api = 0; api < 2; api++) {
		pb_opts_defaults(&ov, w->options);
		assert_int_equal(pb_opts_set(&ov, "api", api ? "oneshot" : "ctx", err, sizeof(err)), 0);
		assert_int_equal(w->init(&ov, &ctx), 0);
		pb_sha256_wl_digest(ctx, md);
		hex(md, h);
		assert_string_equal(h, f0x8k);
		assert_int_equal(w->run(ctx, 1), 0);
		w->fini(ctx);
	}
	/* A different size hashes a different buffer (the option is honoured). */
	pb_opts_defaults(&ov, w->options);
	assert_int_equal(pb_opts_set(&ov, "size", "64", err, sizeof(err)), 0);
	assert_int_equal(w->init(&ov, &ctx), 0);
	pb_sha256_wl_digest(ctx, md);
	{
		unsigned char ref[PB_SHA256_LEN];

		pb_sha256_ctx(buf, 64, ref);
		assert_memory_equal(md, ref, sizeof(md));
	}
	assert_int_equal(w->run(ctx, 2), 0);
	w->fini(ctx);
}

/* sum of i*i for i < n, exactly, reduced mod 2^64. */
static uint64_t sumsq(uint64_t n)
{
	unsigned __int128 m = n;

	if (n == 0)
		return 0;
	return (uint64_t)((m - 1) * m * (2 * m - 1) / 6);
}

static void test_cpu_result(void **state)
{
	const struct pb_workload_ops *w = pb_workload_find("cpu");
	struct pb_optvals ov;
	char err[128];
	void *ctx;

	(void)state;
	assert_int_equal(pb_cpu_loop(0, 1000), 332833500u);
	assert_int_equal(pb_cpu_loop(42, 0), 42);
	for (uint64_t n = 1; n <= 100000; n *= 10)
		for (uint64_t x = 0; x < 3; x++)
			assert_int_equal(pb_cpu_loop(x * 1000003, n), x * 1000003 + sumsq(n));
	/* Two job ids give different results: the input is not ignored. */
	assert_int_not_equal(pb_cpu_loop(1, 100000), pb_cpu_loop(2, 100000));
	/* Wrap-around is well defined (unsigned), starting near the top. */
	assert_int_equal(pb_cpu_loop(UINT64_MAX, 2), 0);
	assert_non_null(w);
	pb_opts_defaults(&ov, w->options);
	assert_int_equal(pb_opts_set(&ov, "iters", "0", err, sizeof(err)), 0);
	assert_int_equal(w->init(&ov, &ctx), 0);
	assert_int_equal(w->run(ctx, 5), 0);
	w->fini(ctx);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* io succeeds and closes what it opens. */
static void test_io(void **state)
{
	const struct pb_workload_ops *w = pb_workload_find("io");
	void *ctx;
	int before, after;

	(void)state;
	assert_non_null(w);
	assert_int_equal(w->init(NULL, &ctx), 0);
	before = count_fds();
	for (int i = 0; i < 1000; i++) {
		int rc = w->run(ctx, (uint64_t)i);

		if (rc)
			fail_msg("io run %d returned %d", i, rc);
	}
	after = count_fds();
	w->fini(ctx);
	if (before >= 0)
		assert_int_equal(before, after);
}

/* run() from two threads at once on one context (TSAN checks read-only use). */
struct par {
	const struct pb_workload_ops *w;
	void *ctx;
	int bad;
};

static void *par_main(void *arg)
{
	struct par *p = arg;

	for (uint64_t i = 0; i < 200; i++)
		if (p->w->run(p->ctx, i))
			p->bad++;
	return NULL;
}

static void test_concurrent_run(void **state)
{
	(void)state;
	for (size_t i = 0; pb_workloads[i]; i++) {
		const struct pb_workload_ops *w = pb_workloads[i];
		struct pb_optvals ov;
		struct par p[2];
		pthread_t th[2];
		void *ctx;

		if (!tc_only(w->name, NULL))
			continue;

		if (skip_reason(w))
			continue;
		pb_opts_defaults(&ov, w->options);
		/* Keep the busy loop short: this checks sharing, not speed. */
		if (pb_opt_index(w->options, "iters") >= 0) {
			char err[128];

			assert_int_equal(pb_opts_set(&ov, "iters", "1000", err, sizeof(err)), 0);
		}
		assert_int_equal(w->init(&ov, &ctx), 0);
		for (int k = 0; k < 2; k++) {
			p[k] = (struct par){ .w = w, .ctx = ctx, .bad = 0 };
			assert_int_equal(pthread_create(&th[k], NULL, par_main, &p[k]), 0);
		}
		for (int k = 0; k < 2; k++) {
			pthread_join(th[k], NULL);
			if (p[k].bad)
				fail_msg("%s: %d concurrent runs failed", w->name, p[k].bad);
		}
		w->fini(ctx);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_defaults_run),
		cmocka_unit_test(test_option_ranges),
		cmocka_unit_test(test_option_messages),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_cpu_result),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_concurrent_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
