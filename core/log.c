/* SPDX-License-Identifier: MIT */
/* The one logging module, the delay-injection points (debug builds) and the
 * torture hooks that tests use to stall one thread inside a queue operation. */
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "pb.h"

void pb_log(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "poolbench: %s\n", buf);
}

/* Torture hooks (see pb.h): a global switch and one hook per thread. */
atomic_int pb_torture_enabled;
static _Thread_local pb_torture_fn torture_fn;
static _Thread_local void *torture_arg;

void pb_torture_set_hook(pb_torture_fn fn, void *arg)
{
	torture_fn = fn;
	torture_arg = arg;
}

int pb_torture_call(const struct pb_torture_probe *p)
{
	if (!torture_fn)
		return 0;
	torture_fn(p, torture_arg);
	return 1;
}

#ifdef PB_DELAY_INJECT
/* About 1 in 16 points yields; 1 in 256 sleeps a few microseconds. */
void pb_delay_point(const char *where)
{
	static _Thread_local uint64_t s;
	uint64_t x;

	(void)where;
	if (!s)
		s = (uint64_t)(uintptr_t)&s ^ (uint64_t)clock();
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	x = s;
	if ((x & 0xff) == 0) {
		struct timespec ts = {0, (long)((x >> 8) % 20000)};

		nanosleep(&ts, NULL);
	} else if ((x & 0xf) == 0) {
		sched_yield();
	}
}
#endif
