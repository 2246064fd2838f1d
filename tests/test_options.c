/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of core/options.c (defaults, parsing, error messages, "did you
 * mean") and core/registry.c (lookups, unknown-name message, ops checks),
 * plus a sanity check of every registered plug-in's option table.
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>

#include "options.h"
#include "registry.h"

static const char *const mode_choices[] = {"alloc", "pool", "limbo", NULL};

static const struct pb_option test_opts[] = {
	{"seg-size", PB_OPT_INT, 1, 16777216, 64, NULL, 0, "jobs per segment"},
	{"cap", PB_OPT_INT, 4, 65536, 1024, NULL, PB_OPTF_POW2, "ring capacity"},
	{"mode", PB_OPT_ENUM, 0, 0, 1, mode_choices, 0, "segment source"},
	{"flag", PB_OPT_BOOL, 0, 1, 0, NULL, 0, "a switch"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

/* Set name=text expecting success, and check the stored value. */
static void expect_set(struct pb_optvals *ov, const char *name, const char *text, int64_t want)
{
	char err[256] = "";
	int rc = pb_opts_set(ov, name, text, err, sizeof(err));

	if (rc != 0)
		fail_msg("%s=%s: rc %d (%s), want 0", name, text, rc, err);
	if (pb_opt_get(ov, name) != want)
		fail_msg("%s=%s: value %" PRId64 ", want %" PRId64, name, text, pb_opt_get(ov, name),
			 want);
}

/* Set name=text expecting error @want_rc and an unchanged value; returns the message. */
static void expect_err(struct pb_optvals *ov, const char *name, const char *text, int want_rc,
		       char *err, size_t errlen)
{
	int idx = pb_opt_index(ov->defs, name);
	int64_t before = idx >= 0 ? ov->v[idx] : 0;
	int rc;

	err[0] = 0;
	rc = pb_opts_set(ov, name, text, err, errlen);
	if (rc != want_rc)
		fail_msg("%s=%s: rc %d (%s), want %d", name, text, rc, err, want_rc);
	if (!err[0])
		fail_msg("%s=%s: empty error message", name, text);
	if (strchr(err, '\n'))
		fail_msg("%s=%s: message has a newline: %s", name, text, err);
	if (idx >= 0 && ov->v[idx] != before)
		fail_msg("%s=%s: value changed on error", name, text);
}

static void test_defaults(void **state)
{
	struct pb_optvals ov;

	(void)state;
	assert_int_equal(pb_opts_count(NULL), 0);
	assert_int_equal(pb_opts_count(test_opts), 4);
	pb_opts_defaults(&ov, test_opts);
	assert_ptr_equal(ov.defs, test_opts);
	assert_int_equal(ov.n, 4);
	assert_int_equal(ov.v[0], 64);
	assert_int_equal(ov.v[1], 1024);
	assert_int_equal(ov.v[2], 1);
	assert_int_equal(ov.v[3], 0);
	assert_int_equal(pb_opt_get(&ov, "seg-size"), 64);
	assert_int_equal(pb_opt_get(&ov, "mode"), 1);
	assert_int_equal(pb_opt_index(test_opts, "seg-size"), 0);
	assert_int_equal(pb_opt_index(test_opts, "flag"), 3);
	assert_int_equal(pb_opt_index(test_opts, "nope"), -1);
	assert_int_equal(pb_opt_index(NULL, "nope"), -1);

	pb_opts_defaults(&ov, NULL);
	assert_int_equal(ov.n, 0);
}

static void test_parse_int(void **state)
{
	struct pb_optvals ov;
	char err[256];

	(void)state;
	pb_opts_defaults(&ov, test_opts);
	expect_set(&ov, "seg-size", "1", 1);
	expect_set(&ov, "seg-size", "100", 100);
	expect_set(&ov, "seg-size", "4k", 4096);
	expect_set(&ov, "seg-size", "4K", 4096);
	expect_set(&ov, "seg-size", "3m", 3 * 1024 * 1024);
	expect_set(&ov, "seg-size", "16M", 16777216);
	expect_set(&ov, "seg-size", "0x20", 32);
	expect_set(&ov, "seg-size", "16777216", 16777216);

	expect_err(&ov, "seg-size", "abc", -EINVAL, err, sizeof(err));
	assert_non_null(strstr(err, "abc"));
	assert_non_null(strstr(err, "seg-size"));
	expect_err(&ov, "seg-size", "", -EINVAL, err, sizeof(err));
	expect_err(&ov, "seg-size", "12x", -EINVAL, err, sizeof(err));
	expect_err(&ov, "seg-size", "4kk", -EINVAL, err, sizeof(err));
	expect_err(&ov, "seg-size", "99999999999999999999", -EINVAL, err, sizeof(err));
	/* Overflow through the suffix must not wrap into range. */
	expect_err(&ov, "seg-size", "9000000000000000g", -EINVAL, err, sizeof(err));
}

static void test_range_message(void **state)
{
	struct pb_optvals ov;
	char err[256];

	(void)state;
	pb_opts_defaults(&ov, test_opts);
	expect_err(&ov, "seg-size", "0", -ERANGE, err, sizeof(err));
	assert_string_equal(err, "value 0 is out of range for seg-size, allowed: 1 .. 16777216");
	expect_err(&ov, "seg-size", "16777217", -ERANGE, err, sizeof(err));
	assert_string_equal(err,
			    "value 16777217 is out of range for seg-size, allowed: 1 .. 16777216");
	expect_err(&ov, "seg-size", "-1", -ERANGE, err, sizeof(err));
	assert_string_equal(err, "value -1 is out of range for seg-size, allowed: 1 .. 16777216");
	expect_err(&ov, "seg-size", "1g", -ERANGE, err, sizeof(err));
	assert_non_null(strstr(err, "out of range for seg-size, allowed: 1 .. 16777216"));
	/* A message is cut, not overflowed, when the buffer is small. */
	expect_err(&ov, "seg-size", "0", -ERANGE, err, 8);
	assert_int_equal(strlen(err), 7);
}

static void test_pow2(void **state)
{
	struct pb_optvals ov;
	char err[256];

	(void)state;
	pb_opts_defaults(&ov, test_opts);
	expect_set(&ov, "cap", "4", 4);
	expect_set(&ov, "cap", "64k", 65536);
	expect_set(&ov, "cap", "512", 512);
	expect_err(&ov, "cap", "1000", -EINVAL, err, sizeof(err));
	assert_non_null(strstr(err, "power of two"));
	assert_non_null(strstr(err, "1000"));
	assert_non_null(strstr(err, "cap"));
	expect_err(&ov, "cap", "6", -EINVAL, err, sizeof(err));
	/* Range is checked before the power of two. */
	expect_err(&ov, "cap", "2", -ERANGE, err, sizeof(err));
	assert_string_equal(err, "value 2 is out of range for cap, allowed: 4 .. 65536");
	expect_err(&ov, "cap", "128k", -ERANGE, err, sizeof(err));
}

static void test_enum_bool(void **state)
{
	struct pb_optvals ov;
	char err[256];
	char buf[32];

	(void)state;
	pb_opts_defaults(&ov, test_opts);
	expect_set(&ov, "mode", "alloc", 0);
	expect_set(&ov, "mode", "limbo", 2);
	expect_err(&ov, "mode", "bogus", -EINVAL, err, sizeof(err));
	assert_string_equal(err, "value 'bogus' is not valid for mode, allowed: alloc, pool, limbo");
	expect_err(&ov, "mode", "", -EINVAL, err, sizeof(err));
	assert_string_equal(pb_opt_format(&ov, 2, buf, sizeof(buf)), "limbo");

	static const char *const yes[] = {"1", "true", "TRUE", "yes", "Yes", "on", "ON"};
	static const char *const no[] = {"0", "false", "False", "no", "NO", "off", "Off"};

	for (size_t i = 0; i < PB_ARRAY_SIZE(yes); i++) {
		expect_set(&ov, "flag", no[i], 0);
		expect_set(&ov, "flag", yes[i], 1);
	}
	assert_string_equal(pb_opt_format(&ov, 3, buf, sizeof(buf)), "true");
	expect_err(&ov, "flag", "maybe", -EINVAL, err, sizeof(err));
	assert_non_null(strstr(err, "maybe"));
	assert_non_null(strstr(err, "flag"));
	expect_err(&ov, "flag", "2", -EINVAL, err, sizeof(err));
	expect_set(&ov, "flag", "off", 0);
	assert_string_equal(pb_opt_format(&ov, 3, buf, sizeof(buf)), "false");
	expect_set(&ov, "seg-size", "4k", 4096);
	assert_string_equal(pb_opt_format(&ov, 0, buf, sizeof(buf)), "4096");
}

static void test_unknown_option(void **state)
{
	struct pb_optvals ov;
	char err[256];

	(void)state;
	pb_opts_defaults(&ov, test_opts);
	expect_err(&ov, "seg-sise", "1", -ENOENT, err, sizeof(err));
	assert_string_equal(err, "unknown option 'seg-sise', allowed: seg-size, cap, mode, flag "
				 "(did you mean 'seg-size'?)");
	expect_err(&ov, "mdoe", "1", -ENOENT, err, sizeof(err));
	assert_non_null(strstr(err, "(did you mean 'mode'?)"));
	expect_err(&ov, "completely-different", "1", -ENOENT, err, sizeof(err));
	assert_string_equal(err, "unknown option 'completely-different', allowed: seg-size, cap, "
				 "mode, flag");
	assert_null(strstr(err, "did you mean"));

	/* A plug-in without options. */
	pb_opts_defaults(&ov, NULL);
	expect_err(&ov, "seg-size", "1", -ENOENT, err, sizeof(err));
	assert_non_null(strstr(err, "(none)"));
}

static void test_print(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	pb_opts_print(test_opts, f, "  ");
	pb_opts_print(NULL, f, "  ");
	fclose(f);
	/* Each line starts with the indent and names its option (the exact
	 * column layout is the printer's business). */
	for (char *l = buf; l && *l;) {
		assert_true(strncmp(l, "  ", 2) == 0);
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	for (size_t i = 0; test_opts[i].name; i++)
		assert_non_null(strstr(buf, test_opts[i].name));
	assert_non_null(strstr(buf, "1..16777216"));
	assert_non_null(strstr(buf, "jobs per segment"));
	assert_non_null(strstr(buf, "power of two"));
	assert_non_null(strstr(buf, "{alloc, pool, limbo}"));
	assert_non_null(strstr(buf, "default pool"));
	assert_non_null(strstr(buf, "default false"));
	/* One line per option. */
	size_t lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 4);
	free(buf);
}

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(pb_string_distance("", ""), 0);
	assert_int_equal(pb_string_distance("abc", ""), 3);
	assert_int_equal(pb_string_distance("", "abcd"), 4);
	assert_int_equal(pb_string_distance("kitten", "sitting"), 3);
	assert_int_equal(pb_string_distance("sitting", "kitten"), 3);
	assert_int_equal(pb_string_distance("segmented", "segmented"), 0);
	assert_int_equal(pb_string_distance("segmentd", "segmented"), 1);
	assert_int_equal(pb_string_distance("SEGMENTED", "segmented"), 0);
	assert_int_equal(pb_string_distance("flaw", "lawn"), 2);
}

static void test_closest(void **state)
{
	static const char *const names[] = {"segmented", "mutex", "ckring"};

	(void)state;
	assert_string_equal(pb_closest("segmentd", names, 3), "segmented");
	assert_string_equal(pb_closest("mutx", names, 3), "mutex");
	assert_string_equal(pb_closest("ckrnig", names, 3), "ckring");
	assert_string_equal(pb_closest("mutex", names, 3), "mutex");
	assert_null(pb_closest("xyzxyzxyz", names, 3));
	assert_null(pb_closest("mutex", names, 0));
}

/* Option table rules every plug-in must follow; @who names it in messages. */
static void check_option_table(const char *who, const struct pb_option *defs)
{
	size_t n = pb_opts_count(defs);
	struct pb_optvals ov;
	char err[256], text[64];

	if (n > PB_MAX_OPTS)
		fail_msg("%s: %zu options, more than PB_MAX_OPTS", who, n);
	pb_opts_defaults(&ov, defs);
	for (size_t i = 0; i < n; i++) {
		const struct pb_option *o = &defs[i];

		if (!o->help || !o->help[0])
			fail_msg("%s: option %s has no help", who, o->name);
		for (const char *c = o->name; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
				fail_msg("%s: option name '%s' is not lower-case-dashed", who, o->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(defs[j].name, o->name))
				fail_msg("%s: option %s declared twice", who, o->name);
		if (pb_opt_index(defs, o->name) != (int)i)
			fail_msg("%s: pb_opt_index(%s) wrong", who, o->name);
		switch (o->type) {
		case PB_OPT_INT:
			if (o->min > o->max || o->def < o->min || o->def > o->max)
				fail_msg("%s: option %s default %" PRId64 " outside %" PRId64 " .. %" PRId64,
					 who, o->name, o->def, o->min, o->max);
			if ((o->flags & PB_OPTF_POW2) &&
			    (o->def <= 0 || (o->def & (o->def - 1)) || o->min <= 0 ||
			     (o->min & (o->min - 1))))
				fail_msg("%s: option %s is power-of-two but min or default is not", who,
					 o->name);
			/* Both ends are accepted, one past each end is refused. */
			snprintf(text, sizeof(text), "%" PRId64, o->min);
			if (pb_opts_set(&ov, o->name, text, err, sizeof(err)) || ov.v[i] != o->min)
				fail_msg("%s: option %s refuses its min: %s", who, o->name, err);
			snprintf(text, sizeof(text), "%" PRId64, o->max);
			if (!(o->flags & PB_OPTF_POW2) || !(o->max & (o->max - 1)))
				if (pb_opts_set(&ov, o->name, text, err, sizeof(err)) || ov.v[i] != o->max)
					fail_msg("%s: option %s refuses its max: %s", who, o->name, err);
			if (o->min > INT64_MIN) {
				snprintf(text, sizeof(text), "%" PRId64, o->min - 1);
				if (pb_opts_set(&ov, o->name, text, err, sizeof(err)) != -ERANGE)
					fail_msg("%s: option %s accepts min-1", who, o->name);
			}
			if (o->max < INT64_MAX) {
				snprintf(text, sizeof(text), "%" PRId64, o->max + 1);
				if (pb_opts_set(&ov, o->name, text, err, sizeof(err)) != -ERANGE)
					fail_msg("%s: option %s accepts max+1", who, o->name);
			}
			break;
		case PB_OPT_ENUM: {
			int64_t k = 0;

			if (!o->choices || !o->choices[0])
				fail_msg("%s: enum option %s has no choices", who, o->name);
			for (; o->choices[k]; k++)
				if (pb_opts_set(&ov, o->name, o->choices[k], err, sizeof(err)) ||
				    ov.v[i] != k)
					fail_msg("%s: option %s refuses choice %s: %s", who, o->name,
						 o->choices[k], err);
			if (o->def < 0 || o->def >= k)
				fail_msg("%s: enum option %s default index %" PRId64 " out of range", who,
					 o->name, o->def);
			break;
		}
		case PB_OPT_BOOL:
			if (o->def != 0 && o->def != 1)
				fail_msg("%s: bool option %s default %" PRId64, who, o->name, o->def);
			break;
		default:
			fail_msg("%s: option %s has unknown type %d", who, o->name, (int)o->type);
		}
	}
}

static void test_registered_plugins(void **state)
{
	char who[128];
	const char *why;

	(void)state;
	for (size_t i = 0; pb_backends[i]; i++) {
		const struct pb_queue_ops *o = pb_backends[i];

		why = pb_backend_check(o);
		if (why)
			fail_msg("backend %s: %s", o->name ? o->name : "?", why);
		snprintf(who, sizeof(who), "backend %s", o->name);
		check_option_table(who, o->options);
		/* Every excluded reclaimer name must exist (catches typos that would
		 * silently let a refused reclaimer through). */
		for (size_t k = 0; o->reclaim_excluded && o->reclaim_excluded[k]; k++)
			if (!pb_reclaim_find(o->reclaim_excluded[k]))
				fail_msg("backend %s excludes unknown reclaimer '%s'", o->name,
					 o->reclaim_excluded[k]);
		/* The same for the allow-list: a typo there refuses a scheme the
		 * backend meant to take. */
		for (size_t k = 0; o->reclaim_only && o->reclaim_only[k]; k++)
			if (!pb_reclaim_find(o->reclaim_only[k]))
				fail_msg("backend %s allows unknown reclaimer '%s'", o->name,
					 o->reclaim_only[k]);
		if (o->supported && o->supported() && !o->supported()[0])
			fail_msg("backend %s: supported() returned an empty reason", o->name);
	}
	for (size_t i = 0; pb_reclaimers[i]; i++) {
		const struct pb_reclaim_ops *o = pb_reclaimers[i];

		why = pb_reclaim_check(o);
		if (why)
			fail_msg("reclaimer %s: %s", o->name ? o->name : "?", why);
		snprintf(who, sizeof(who), "reclaimer %s", o->name);
		check_option_table(who, o->options);
		if (o->supported && o->supported() && !o->supported()[0])
			fail_msg("reclaimer %s: supported() returned an empty reason", o->name);
	}
	for (size_t i = 0; pb_workloads[i]; i++) {
		const struct pb_workload_ops *o = pb_workloads[i];

		why = pb_workload_check(o);
		if (why)
			fail_msg("workload %s: %s", o->name ? o->name : "?", why);
		snprintf(who, sizeof(who), "workload %s", o->name);
		check_option_table(who, o->options);
	}
	print_message("checked %zu backends, %zu reclaimers, %zu workloads\n", pb_backend_count(),
		      pb_reclaim_count(), pb_workload_count());
}

/* The ops checks must reject malformed structs. */
static int dummy_create(const struct pb_optvals *o, const struct pb_reclaim_inst *rc,
			struct pb_queue **out)
{
	return -ENOSYS;
}

static void test_ops_check_rejects(void **state)
{
	struct pb_queue_ops q = {.abi = PB_ABI_VERSION, .name = "x", .summary = "y"};
	struct pb_reclaim_ops r = {.abi = PB_ABI_VERSION, .name = "x", .summary = "y"};
	struct pb_workload_ops w = {.abi = PB_ABI_VERSION, .name = "x", .summary = "y"};

	(void)state;
	assert_non_null(pb_backend_check(&q)); /* no hooks */
	q.create = dummy_create;
	assert_non_null(pb_backend_check(&q));
	assert_non_null(pb_reclaim_check(&r));
	assert_non_null(pb_workload_check(&w));
	if (pb_backends[0]) {
		q = *pb_backends[0];
		q.abi = PB_ABI_VERSION + 1;
		assert_non_null(pb_backend_check(&q));
		q = *pb_backends[0];
		q.pop_batch = NULL;
		assert_non_null(pb_backend_check(&q));
	}
	if (pb_reclaimers[0]) {
		r = *pb_reclaimers[0];
		r.abi = 0;
		assert_non_null(pb_reclaim_check(&r));
		r = *pb_reclaimers[0];
		r.retire = NULL;
		assert_non_null(pb_reclaim_check(&r));
		r = *pb_reclaimers[0];
		r.flags |= PB_RC_HOLD | PB_RC_SECTION;
		assert_non_null(pb_reclaim_check(&r));
	}
	if (pb_workloads[0]) {
		w = *pb_workloads[0];
		w.run = NULL;
		assert_non_null(pb_workload_check(&w));
	}
}

/* Lookups over one kind: every entry found by its name, names unique, count right. */
#define CHECK_LOOKUP(kind, table, find, count)                                              \
	do {                                                                                \
		size_t n_ = 0;                                                              \
		for (; table[n_]; n_++) {                                                   \
			if (find(table[n_]->name) != table[n_])                             \
				fail_msg("%s '%s' not found by name (duplicate?)", kind,     \
					 table[n_]->name);                                   \
		}                                                                           \
		assert_int_equal(count(), n_);                                              \
		assert_null(find("no-such-plugin"));                                        \
		assert_null(find(""));                                                      \
	} while (0)

/* pb_unknown_name_msg: lists every name and suggests the closest. */
static void check_unknown_msg(const char *kind, const char *const *names, size_t n)
{
	char msg[2048], want[256];

	pb_unknown_name_msg(kind, "zq-no-such-zq", msg, sizeof(msg));
	snprintf(want, sizeof(want), "unknown %s 'zq-no-such-zq', allowed: ", kind);
	if (strncmp(msg, want, strlen(want)))
		fail_msg("unexpected message shape: %s", msg);
	for (size_t i = 0; i < n; i++)
		if (!strstr(msg, names[i]))
			fail_msg("message does not list %s '%s': %s", kind, names[i], msg);
	if (strstr(msg, "did you mean"))
		fail_msg("suggestion for a far name: %s", msg);
	for (size_t i = 0; i < n; i++) {
		char typo[128];
		const char *near;

		if (strlen(names[i]) < 4 || strlen(names[i]) >= sizeof(typo))
			continue;
		/* Drop the last letter: one edit away. */
		snprintf(typo, sizeof(typo), "%.*s", (int)strlen(names[i]) - 1, names[i]);
		near = pb_closest(typo, names, n);
		if (!near || pb_string_distance(typo, near) > 1)
			fail_msg("no close %s for typo '%s'", kind, typo);
		pb_unknown_name_msg(kind, typo, msg, sizeof(msg));
		snprintf(want, sizeof(want), "(did you mean '%s'?)", near);
		if (!strstr(msg, want))
			fail_msg("no suggestion for typo '%s': %s", typo, msg);
	}
}

static void test_registry_lookup(void **state)
{
	const char *names[64];
	size_t n;

	(void)state;
	CHECK_LOOKUP("backend", pb_backends, pb_backend_find, pb_backend_count);
	CHECK_LOOKUP("reclaimer", pb_reclaimers, pb_reclaim_find, pb_reclaim_count);
	CHECK_LOOKUP("workload", pb_workloads, pb_workload_find, pb_workload_count);

	for (n = 0; pb_backends[n] && n < 64; n++)
		names[n] = pb_backends[n]->name;
	check_unknown_msg("backend", names, n);
	for (n = 0; pb_reclaimers[n] && n < 64; n++)
		names[n] = pb_reclaimers[n]->name;
	check_unknown_msg("reclaimer", names, n);
	for (n = 0; pb_workloads[n] && n < 64; n++)
		names[n] = pb_workloads[n]->name;
	check_unknown_msg("workload", names, n);
}

/* pb_queue_accepts_reclaim follows the flag, the allow-list and the exclusion list. */
static void test_accepts_reclaim(void **state)
{
	static const char *const excl[] = {"limbo", NULL};
	static const char *const only[] = {"hp", "limbo", NULL};
	struct pb_queue_ops q = {.abi = PB_ABI_VERSION, .name = "x", .summary = "y"};

	(void)state;
	assert_false(pb_queue_accepts_reclaim(&q, "hp"));
	q.flags = PB_Q_RECLAIM;
	assert_true(pb_queue_accepts_reclaim(&q, "hp"));
	q.reclaim_excluded = excl;
	assert_false(pb_queue_accepts_reclaim(&q, "limbo"));
	assert_true(pb_queue_accepts_reclaim(&q, "hp"));
	/* Allow-list: only the names listed, and the exclusion list still wins;
	 * a name nobody listed (a scheme added later) is refused. */
	q.reclaim_only = only;
	assert_true(pb_queue_accepts_reclaim(&q, "hp"));
	assert_false(pb_queue_accepts_reclaim(&q, "limbo"));
	assert_false(pb_queue_accepts_reclaim(&q, "ckepoch"));
	assert_false(pb_queue_accepts_reclaim(&q, "a-scheme-added-later"));
	q.reclaim_excluded = NULL;
	assert_true(pb_queue_accepts_reclaim(&q, "limbo"));
	for (size_t i = 0; pb_backends[i]; i++) {
		const struct pb_queue_ops *o = pb_backends[i];

		for (size_t k = 0; pb_reclaimers[k]; k++) {
			int acc = pb_queue_accepts_reclaim(o, pb_reclaimers[k]->name);

			if (!(o->flags & PB_Q_RECLAIM) && acc)
				fail_msg("backend %s without PB_Q_RECLAIM accepts %s", o->name,
					 pb_reclaimers[k]->name);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_range_message),
		cmocka_unit_test(test_pow2),
		cmocka_unit_test(test_enum_bool),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_closest),
		cmocka_unit_test(test_registry_lookup),
		cmocka_unit_test(test_registered_plugins),
		cmocka_unit_test(test_ops_check_rejects),
		cmocka_unit_test(test_accepts_reclaim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
