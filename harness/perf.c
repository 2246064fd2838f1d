/* SPDX-License-Identifier: MIT */
/*
 * Process-wide event counters for the timed phase through perf_event_open:
 * software events (task clock, context switches, page faults) and, where the
 * machine exposes a CPU PMU, hardware events (cycles, instructions, cache
 * references and misses).  One counter per event, opened with inherit=1 on
 * the child's main thread before any other thread starts, so every thread of
 * the run (workers, producers, sampler) is counted; enabled at t0, disabled at
 * t1.  An event that cannot be opened (ENOENT for hardware events on VMs
 * without a PMU, EACCES under a strict perf_event_paranoid) is simply
 * unavailable: its CSV column reads "n/a".  Used by one thread (the child's
 * main thread).
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

static const struct {
	uint32_t type;
	uint64_t config;
} events[PB_CTR_COUNT] = {
	[PB_CTR_TASK_CLOCK] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
	[PB_CTR_CTX_SWITCHES] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
	[PB_CTR_PAGE_FAULTS] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
	[PB_CTR_CYCLES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
	[PB_CTR_INSTRUCTIONS] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
	[PB_CTR_CACHE_REFS] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
	[PB_CTR_CACHE_MISSES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
};

static int open_event(uint32_t type, uint64_t config, int exclude_kernel)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = type;
	a.config = config;
	a.disabled = 1;
	a.inherit = 1; /* threads created after this call are counted too */
	a.exclude_kernel = (unsigned)exclude_kernel;
	a.exclude_hv = 1;
	a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	return (int)syscall(SYS_perf_event_open, &a, 0 /* this process */, -1 /* any CPU */, -1,
			    PERF_FLAG_FD_CLOEXEC);
}

void pb_perf_open(struct pb_perf *p)
{
	for (int i = 0; i < PB_CTR_COUNT; i++) {
		int fd = open_event(events[i].type, events[i].config, 0);

		/* perf_event_paranoid >= 2 refuses kernel counting to unprivileged
		 * users: count user space only then (docs/methodology.md). */
		if (fd < 0 && (errno == EACCES || errno == EPERM))
			fd = open_event(events[i].type, events[i].config, 1);
		p->fd[i] = fd;
		p->err[i] = fd < 0 ? errno : 0;
	}
}

void pb_perf_start(struct pb_perf *p)
{
	for (int i = 0; i < PB_CTR_COUNT; i++)
		if (p->fd[i] >= 0) {
			ioctl(p->fd[i], PERF_EVENT_IOC_RESET, 0);
			ioctl(p->fd[i], PERF_EVENT_IOC_ENABLE, 0);
		}
}

unsigned pb_perf_stop(struct pb_perf *p, uint64_t out[PB_CTR_COUNT])
{
	unsigned have = 0;

	for (int i = 0; i < PB_CTR_COUNT; i++)
		if (p->fd[i] >= 0)
			ioctl(p->fd[i], PERF_EVENT_IOC_DISABLE, 0);
	for (int i = 0; i < PB_CTR_COUNT; i++) {
		uint64_t v[3]; /* value, time enabled, time running */

		out[i] = 0;
		if (p->fd[i] < 0 || read(p->fd[i], v, sizeof(v)) != (ssize_t)sizeof(v))
			continue;
		if (v[2] == 0)
			continue; /* never scheduled on the PMU: no figure */
		/* Multiplexed (more events than PMU slots): scale to the enabled time. */
		out[i] = v[2] < v[1] ? (uint64_t)((double)v[0] * (double)v[1] / (double)v[2]) : v[0];
		have |= 1u << i;
	}
	return have;
}

void pb_perf_close(struct pb_perf *p)
{
	for (int i = 0; i < PB_CTR_COUNT; i++)
		if (p->fd[i] >= 0) {
			close(p->fd[i]);
			p->fd[i] = -1;
		}
}
