/* SPDX-License-Identifier: MIT */
/*
 * Option tables: defaults, parsing with range checks, one error shape, and
 * "did you mean" suggestions (Levenshtein distance, as fio's string_distance).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "pb.h"

size_t pb_opts_count(const struct pb_option *defs)
{
	size_t n = 0;

	while (defs && defs[n].name)
		n++;
	return n;
}

void pb_opts_defaults(struct pb_optvals *ov, const struct pb_option *defs)
{
	size_t n = pb_opts_count(defs);

	if (n > PB_MAX_OPTS) {
		pb_log("option table with %zu entries exceeds PB_MAX_OPTS (%d)", n, PB_MAX_OPTS);
		abort();
	}
	memset(ov, 0, sizeof(*ov));
	ov->defs = defs;
	ov->n = n;
	for (size_t i = 0; i < n; i++)
		ov->v[i] = defs[i].def;
}

int pb_opt_index(const struct pb_option *defs, const char *name)
{
	for (size_t i = 0; defs && defs[i].name; i++)
		if (strcmp(defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

unsigned pb_string_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned *row = calloc(lb + 1, sizeof(*row));
	unsigned d;

	if (!row)
		return ~0u;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			unsigned best = prev + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

const char *pb_closest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	unsigned bestd = ~0u;

	for (size_t i = 0; i < n; i++) {
		unsigned d = pb_string_distance(s, names[i]);

		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	/* Accept up to a third of the longer name's length, at least 2 edits. */
	if (best) {
		size_t l = strlen(s) > strlen(best) ? strlen(s) : strlen(best);
		unsigned lim = (unsigned)(l / 3 > 2 ? l / 3 : 2);

		if (bestd > lim)
			best = NULL;
	}
	return best;
}

static int parse_int(const char *text, int64_t *out)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (!*text)
		return -EINVAL;
	errno = 0;
	v = strtoll(text, &end, 0);
	if (errno || end == text)
		return -EINVAL;
	if (*end) {
		switch (tolower((unsigned char)*end)) {
		case 'k': mul = 1024; break;
		case 'm': mul = 1024 * 1024; break;
		case 'g': mul = 1024 * 1024 * 1024; break;
		default: return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v > INT64_MAX / mul || v < INT64_MIN / mul)
		return -ERANGE;
	*out = (int64_t)v * mul;
	return 0;
}

static void choices_list(const struct pb_option *o, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; o->choices[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", o->choices[i]);
}

int pb_opts_set(struct pb_optvals *ov, const char *name, const char *text, char *err, size_t errlen)
{
	int i = pb_opt_index(ov->defs, name);
	const struct pb_option *o;
	int64_t v;
	char list[512];

	if (i < 0) {
		const char *names[PB_MAX_OPTS];
		const char *near;
		size_t off = 0;

		list[0] = 0;
		for (size_t k = 0; k < ov->n; k++) {
			names[k] = ov->defs[k].name;
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", k ? ", " : "", names[k]);
			if (off >= sizeof(list))
				break;
		}
		near = pb_closest(name, names, ov->n);
		snprintf(err, errlen, "unknown option '%s', allowed: %s%s%s%s", name,
			 ov->n ? list : "(none)", near ? " (did you mean '" : "", near ? near : "",
			 near ? "'?)" : "");
		return -ENOENT;
	}
	o = &ov->defs[i];
	switch (o->type) {
	case PB_OPT_INT:
		if (parse_int(text, &v)) {
			snprintf(err, errlen, "value '%s' is not an integer for %s, allowed: %" PRId64
				 " .. %" PRId64, text, name, o->min, o->max);
			return -EINVAL;
		}
		if (v < o->min || v > o->max) {
			snprintf(err, errlen, "value %s is out of range for %s, allowed: %" PRId64
				 " .. %" PRId64, text, name, o->min, o->max);
			return -ERANGE;
		}
		if ((o->flags & PB_OPTF_POW2) && (v <= 0 || (v & (v - 1)))) {
			snprintf(err, errlen, "value %s is not a power of two for %s, allowed: powers of two in %"
				 PRId64 " .. %" PRId64, text, name, o->min, o->max);
			return -EINVAL;
		}
		break;
	case PB_OPT_ENUM:
		v = -1;
		for (int64_t k = 0; o->choices[k]; k++)
			if (strcmp(o->choices[k], text) == 0)
				v = k;
		if (v < 0) {
			choices_list(o, list, sizeof(list));
			snprintf(err, errlen, "value '%s' is not valid for %s, allowed: %s", text, name, list);
			return -EINVAL;
		}
		break;
	case PB_OPT_BOOL:
		if (!strcasecmp(text, "1") || !strcasecmp(text, "true") || !strcasecmp(text, "yes") ||
		    !strcasecmp(text, "on"))
			v = 1;
		else if (!strcasecmp(text, "0") || !strcasecmp(text, "false") || !strcasecmp(text, "no") ||
			 !strcasecmp(text, "off"))
			v = 0;
		else {
			snprintf(err, errlen, "value '%s' is not valid for %s, allowed: true, false", text, name);
			return -EINVAL;
		}
		break;
	default:
		snprintf(err, errlen, "option %s has an unknown type", name);
		return -EINVAL;
	}
	ov->v[i] = v;
	return 0;
}

int64_t pb_opt_get(const struct pb_optvals *ov, const char *name)
{
	int i = pb_opt_index(ov->defs, name);

	if (i < 0) {
		pb_log("internal error: option '%s' is not declared", name);
		abort();
	}
	return ov->v[i];
}

const char *pb_opt_format(const struct pb_optvals *ov, size_t i, char *buf, size_t len)
{
	const struct pb_option *o = &ov->defs[i];

	switch (o->type) {
	case PB_OPT_ENUM:
		snprintf(buf, len, "%s", o->choices[ov->v[i]]);
		break;
	case PB_OPT_BOOL:
		snprintf(buf, len, "%s", ov->v[i] ? "true" : "false");
		break;
	default:
		snprintf(buf, len, "%" PRId64, ov->v[i]);
	}
	return buf;
}

void pb_opts_print(const struct pb_option *defs, FILE *f, const char *indent)
{
	char list[512];

	for (size_t i = 0; defs && defs[i].name; i++) {
		const struct pb_option *o = &defs[i];

		switch (o->type) {
		case PB_OPT_INT:
			fprintf(f, "%s%-16s int %" PRId64 "..%" PRId64 "%s, default %" PRId64 ": %s\n",
				indent, o->name, o->min, o->max,
				(o->flags & PB_OPTF_POW2) ? " (power of two)" : "", o->def, o->help);
			break;
		case PB_OPT_ENUM:
			choices_list(o, list, sizeof(list));
			fprintf(f, "%s%-16s one of {%s}, default %s: %s\n", indent, o->name, list,
				o->choices[o->def], o->help);
			break;
		case PB_OPT_BOOL:
			fprintf(f, "%s%-16s bool, default %s: %s\n", indent, o->name,
				o->def ? "true" : "false", o->help);
			break;
		}
	}
}
