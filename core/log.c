/* SPDX-License-Identifier: MIT */
/* The one logging module, and the delay-injection points (debug builds). */
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
