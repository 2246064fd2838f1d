/* SPDX-License-Identifier: MIT */
/*
 * Plug-in option tables.  Each backend, reclaimer and workload declares its
 * own options (name, type, range, default, help) in its own file; the core
 * parses, range-checks and reports them with one error shape:
 *   "value 0 is out of range for seg-size, allowed: 1 .. 16777216".
 * Tables are arrays terminated by an entry whose name is NULL.
 */
#ifndef PB_OPTIONS_H
#define PB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum pb_opt_type {
	PB_OPT_INT,  /* integer in [min, max]; accepts k/m/g suffixes (x1024) */
	PB_OPT_ENUM, /* one of choices[]; the value is the index */
	PB_OPT_BOOL, /* 0/1, true/false, yes/no, on/off */
};

#define PB_OPTF_POW2 0x1u /* PB_OPT_INT must be a power of two */
/* PB_OPT_ENUM that selects another algorithm (segmented's readiness=stamp|
 * bitmap), not a tuning: the registry-generated suites (conformance, pool,
 * torture) run every value, not only the default. */
#define PB_OPTF_VARIANT 0x2u

struct pb_option {
	const char *name;            /* "seg-size": lower case, dash separated */
	enum pb_opt_type type;
	int64_t min, max;            /* PB_OPT_INT range, inclusive */
	int64_t def;                 /* default value (index for PB_OPT_ENUM) */
	const char *const *choices;  /* PB_OPT_ENUM: NULL-terminated names */
	unsigned flags;              /* PB_OPTF_* */
	const char *help;            /* one line */
};

#define PB_MAX_OPTS 16

/* Values for one option table; v[i] belongs to defs[i]. */
struct pb_optvals {
	const struct pb_option *defs;
	size_t n;
	int64_t v[PB_MAX_OPTS];
};

/* Number of entries in a NULL-name-terminated table (0 for NULL). */
size_t pb_opts_count(const struct pb_option *defs);

/* Fill @ov with the defaults of @defs.  Aborts if a table exceeds PB_MAX_OPTS. */
void pb_opts_defaults(struct pb_optvals *ov, const struct pb_option *defs);

/* Index of option @name in @defs, or -1. */
int pb_opt_index(const struct pb_option *defs, const char *name);

/*
 * Parse @text as a value for option @name and store it in @ov.
 * Returns 0, or -EINVAL / -ERANGE / -ENOENT with a one-line message (no
 * trailing newline) in @err naming the value and what is allowed; for an
 * unknown name the message suggests the closest known one.
 */
int pb_opts_set(struct pb_optvals *ov, const char *name, const char *text,
		char *err, size_t errlen);

/* Value of option @name; aborts if @name is not in the table (a plug-in bug). */
int64_t pb_opt_get(const struct pb_optvals *ov, const char *name);

/* Format value of option i as text ("64", "alloc", "true") into buf. */
const char *pb_opt_format(const struct pb_optvals *ov, size_t i, char *buf, size_t len);

/* Print a table (name, type, range/choices, default, help) to @f, indented. */

void pb_opts_print(const struct pb_option *defs, FILE *f, const char *indent);

/* Levenshtein distance, for "did you mean" suggestions. */
unsigned pb_string_distance(const char *a, const char *b);

/* Closest of @names (n entries) to @s, or NULL if none is reasonably close. */
const char *pb_closest(const char *s, const char *const *names, size_t n);

#endif
