/* SPDX-License-Identifier: MIT */
/*
 * Name lookup over the plug-in tables and ops-struct sanity checks (ABI
 * version, required hooks), in one place.
 */
#include <stdio.h>
#include <string.h>

#include "pb.h"
#include "registry.h"

#define DEFINE_FIND(fn, cnt, table, type)                                   \
	const type *fn(const char *name)                                     \
	{                                                                    \
		for (size_t i = 0; table[i]; i++)                            \
			if (strcmp(table[i]->name, name) == 0)               \
				return table[i];                             \
		return NULL;                                                 \
	}                                                                    \
	size_t cnt(void)                                                     \
	{                                                                    \
		size_t n = 0;                                                \
		while (table[n])                                             \
			n++;                                                 \
		return n;                                                    \
	}

DEFINE_FIND(pb_backend_find, pb_backend_count, pb_backends, struct pb_queue_ops)
DEFINE_FIND(pb_reclaim_find, pb_reclaim_count, pb_reclaimers, struct pb_reclaim_ops)
DEFINE_FIND(pb_workload_find, pb_workload_count, pb_workloads, struct pb_workload_ops)

void pb_unknown_name_msg(const char *kind, const char *name, char *buf, size_t len)
{
	const char *names[64];
	size_t n = 0, off = 0;
	char list[1024];
	const char *near;

	if (!strcmp(kind, "backend"))
		for (; pb_backends[n] && n < 64; n++)
			names[n] = pb_backends[n]->name;
	else if (!strcmp(kind, "reclaimer"))
		for (; pb_reclaimers[n] && n < 64; n++)
			names[n] = pb_reclaimers[n]->name;
	else
		for (; pb_workloads[n] && n < 64; n++)
			names[n] = pb_workloads[n]->name;
	list[0] = 0;
	for (size_t i = 0; i < n && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);
	near = pb_closest(name, names, n);
	snprintf(buf, len, "unknown %s '%s', allowed: %s%s%s%s", kind, name, list,
		 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

const char *pb_backend_check(const struct pb_queue_ops *o)
{
	if (o->abi != PB_ABI_VERSION)
		return "ABI version mismatch";
	if (!o->name || !o->summary)
		return "missing name or summary";
	if (!o->create || !o->destroy || !o->thread_register || !o->thread_unregister ||
	    !o->push || !o->pop_batch || !o->close)
		return "missing a required hook (create, destroy, thread_register, "
		       "thread_unregister, push, pop_batch, close)";
	if (pb_opts_count(o->options) > PB_MAX_OPTS)
		return "too many options";
	return NULL;
}

const char *pb_reclaim_check(const struct pb_reclaim_ops *o)
{
	if (o->abi != PB_ABI_VERSION)
		return "ABI version mismatch";
	if (!o->name || !o->summary)
		return "missing name or summary";
	if (!o->create || !o->destroy || !o->thread_register || !o->thread_unregister ||
	    !o->begin || !o->end || !o->protect || !o->retire || !o->stats)
		return "missing a required hook (create, destroy, thread_register, "
		       "thread_unregister, begin, end, protect, retire, stats)";
	if (pb_opts_count(o->options) > PB_MAX_OPTS)
		return "too many options";
	if ((o->flags & PB_RC_HOLD) && (o->flags & PB_RC_SECTION))
		return "flags hold and section contradict each other: hold means a thread pins only "
		       "the nodes in its slots, section that it pins everything it reaches";
	return NULL;
}

const char *pb_workload_check(const struct pb_workload_ops *o)
{
	if (o->abi != PB_ABI_VERSION)
		return "ABI version mismatch";
	if (!o->name || !o->summary)
		return "missing name or summary";
	if (!o->init || !o->run || !o->fini)
		return "missing a required hook (init, run, fini)";
	if (pb_opts_count(o->options) > PB_MAX_OPTS)
		return "too many options";
	return NULL;
}

void pb_queue_get_stats(const struct pb_queue_ops *o, struct pb_queue *q, struct pb_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (o->stats)
		o->stats(q, st);
}

void pb_queue_get_reclaim_stats(const struct pb_queue_ops *o, struct pb_queue *q,
				struct pb_reclaim_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (o->reclaim_stats)
		o->reclaim_stats(q, st);
}

void pb_reclaim_get_stats(const struct pb_reclaim_ops *o, const struct pb_reclaim *d,
			  struct pb_reclaim_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (o->stats)
		o->stats(d, st);
}

int pb_queue_accepts_reclaim(const struct pb_queue_ops *o, const char *rc_name)
{
	size_t k;

	if (!(o->flags & PB_Q_RECLAIM))
		return 0;
	if (o->reclaim_only) {
		for (k = 0; o->reclaim_only[k] && strcmp(o->reclaim_only[k], rc_name); k++)
			;
		if (!o->reclaim_only[k])
			return 0;
	}
	for (size_t i = 0; o->reclaim_excluded && o->reclaim_excluded[i]; i++)
		if (!strcmp(o->reclaim_excluded[i], rc_name))
			return 0;
	return 1;
}
