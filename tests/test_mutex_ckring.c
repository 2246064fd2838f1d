/* SPDX-License-Identifier: MIT */
/*
 * Backend-specific unit tests that the registry-driven conformance suite
 * cannot express: what `capacity` means for mutex (jobs held) and ckring
 * (ring size, holds capacity-1; power of two), mutex's ring wrap-around and
 * blocking pop_wait (timeout, wake by push, wake by close), and the
 * unregistered skeleton backend (which conformance never sees), including a
 * multi-producer / multi-consumer exactly-once run over all three.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "registry.h"
#include "common.h"

extern const struct pb_queue_ops pb_backend_skeleton;

#define MAGIC 0x5eb0c0de00000000ull

static struct pb_job mkjob(unsigned prod, uint64_t seq)
{
	struct pb_job j;

	memset(&j, 0, sizeof(j));
	j.arg = (void *)(uintptr_t)(((uint64_t)prod << 40) | seq);
	j.tag = MAGIC | prod;
	return j;
}

static uint64_t job_seq(const struct pb_job *j)
{
	return (uint64_t)(uintptr_t)j->arg & ((1ull << 40) - 1);
}

static unsigned job_prod(const struct pb_job *j)
{
	return (unsigned)((uint64_t)(uintptr_t)j->arg >> 40);
}

/* Create a queue of backend @o with option @name set to @val (NULL: defaults). */
static struct pb_queue *open_q(const struct pb_queue_ops *o, const char *name, const char *val)
{
	struct pb_optvals ov;
	struct pb_queue *q = NULL;
	char err[256];

	pb_opts_defaults(&ov, o->options);
	if (name && pb_opts_set(&ov, name, val, err, sizeof(err)))
		fail_msg("%s: %s", o->name, err);
	assert_int_equal(o->create(&ov, NULL, &q), 0);
	assert_non_null(q);
	return q;
}

/* Push until FULL; return how many fit. */
static uint64_t fill(const struct pb_queue_ops *o, struct pb_queue *q, struct pb_qthread *t)
{
	uint64_t n = 0;
	int rc;

	while ((rc = o->push(q, t, &(struct pb_job){ .tag = n })) == PB_OK && n < (1u << 24))
		n++;
	assert_int_equal(rc, PB_FULL);
	return n;
}

static void test_ckring_capacity(void **state)
{
	const struct pb_queue_ops *o = pb_backend_find("ckring");
	static const char *const sizes[] = { "4", "8", "1024", "4k" };
	static const uint64_t want[] = { 3, 7, 1023, 4095 };
	struct pb_optvals ov;
	struct pb_queue *q;
	struct pb_qthread *t;
	char err[256];

	(void)state;
	assert_non_null(o);
	assert_true(o->flags & PB_Q_BOUNDED);
	assert_non_null(strstr(o->options[0].help, "capacity-1"));
	pb_opts_defaults(&ov, o->options);
	assert_int_equal(pb_opts_set(&ov, "capacity", "6", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "value 6 is not a power of two for capacity, allowed: powers of two "
				 "in 4 .. 1073741824");
	assert_int_equal(pb_opts_set(&ov, "capacity", "2", err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "value 2 is out of range for capacity, allowed: 4 .. 1073741824");
	/* create itself refuses a size ck_ring_init would silently mis-handle. */
	ov.v[pb_opt_index(ov.defs, "capacity")] = 12;
	q = NULL;
	assert_int_equal(o->create(&ov, NULL, &q), -EINVAL);
	assert_null(q);

	for (size_t i = 0; i < PB_ARRAY_SIZE(sizes); i++) {
		struct pb_job out[8];
		uint64_t n;

		q = open_q(o, "capacity", sizes[i]);
		assert_int_equal(o->thread_register(q, &t), 0);
		n = fill(o, q, t);
		if (n != want[i])
			fail_msg("ckring capacity %s held %" PRIu64 ", want %" PRIu64, sizes[i], n, want[i]);
		assert_int_equal(o->size(q), n);
		/* One pop frees exactly one slot, and order is kept. */
		assert_int_equal(o->pop_batch(q, t, out, 1), 1);
		assert_int_equal(out[0].tag, 0);
		assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = n }), PB_OK);
		assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = n + 1 }), PB_FULL);
		for (uint64_t k = 1; k <= n;) {
			size_t m = o->pop_batch(q, t, out, 8);

			assert_true(m > 0);
			for (size_t j = 0; j < m; j++, k++)
				assert_int_equal(out[j].tag, k);
		}
		assert_int_equal(o->pop_batch(q, t, out, 8), 0);
		o->close(q);
		assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = 1 }), PB_CLOSED);
		o->thread_unregister(q, t);
		o->destroy(q);
	}
}

/* mutex: capacity = jobs held (any value), FIFO across many wrap-arounds. */
static void test_mutex_capacity_wrap(void **state)
{
	const struct pb_queue_ops *o = pb_backend_find("mutex");
	static const char *const caps[] = { "1", "5", "4096" };
	static const uint64_t want[] = { 1, 5, 4096 };
	struct pb_queue *q;
	struct pb_qthread *t;
	struct pb_job out[7];
	uint64_t in = 0, next = 0;
	char err[256];
	struct pb_optvals ov;

	(void)state;
	assert_non_null(o);
	assert_int_equal(o->flags & (PB_Q_BOUNDED | PB_Q_FIFO | PB_Q_NATIVE_BATCH),
			 PB_Q_BOUNDED | PB_Q_FIFO | PB_Q_NATIVE_BATCH);
	assert_non_null(o->pop_wait);
	pb_opts_defaults(&ov, o->options);
	assert_int_equal(pb_opts_set(&ov, "capacity", "0", err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "value 0 is out of range for capacity, allowed: 1 .. 1073741824");
	for (size_t i = 0; i < PB_ARRAY_SIZE(caps); i++) {
		q = open_q(o, "capacity", caps[i]);
		assert_int_equal(o->thread_register(q, &t), 0);
		assert_int_equal(fill(o, q, t), want[i]);
		assert_int_equal(o->size(q), want[i]);
		o->thread_unregister(q, t);
		o->destroy(q);
	}
	/* Capacity 5, pushes of 1..4 and pops of 1..7 jobs: head and tail wrap often. */
	q = open_q(o, "capacity", "5");
	assert_int_equal(o->thread_register(q, &t), 0);
	for (unsigned round = 0; round < 2000; round++) {
		unsigned np = 1 + round % 4, mx = 1 + (round * 3) % 7;

		for (unsigned k = 0; k < np; k++)
			if (o->push(q, t, &(struct pb_job){ .tag = in }) == PB_OK)
				in++;
		size_t m = o->pop_batch(q, t, out, mx);

		assert_true(m <= mx);
		for (size_t j = 0; j < m; j++, next++)
			if (out[j].tag != next)
				fail_msg("round %u: popped %" PRIu64 ", want %" PRIu64, round, out[j].tag, next);
	}
	while (next < in) {
		size_t m = o->pop_batch(q, t, out, 7);

		assert_true(m > 0);
		for (size_t j = 0; j < m; j++, next++)
			assert_int_equal(out[j].tag, next);
	}
	assert_true(in > 4000);
	o->thread_unregister(q, t);
	o->destroy(q);
}

struct waiter {
	const struct pb_queue_ops *o;
	struct pb_queue *q;
	uint64_t timeout_ns;
	atomic_int started;
	size_t got;
	uint64_t tag;
	uint64_t waited_ns;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct pb_qthread *t;
	struct pb_job out[4];
	uint64_t t0;

	if (w->o->thread_register(w->q, &t))
		return NULL;
	atomic_store(&w->started, 1);
	t0 = pb_now_ns();
	w->got = w->o->pop_wait(w->q, t, out, 4, w->timeout_ns);
	w->waited_ns = pb_now_ns() - t0;
	if (w->got)
		w->tag = out[0].tag;
	w->o->thread_unregister(w->q, t);
	return NULL;
}

static void start_waiters(struct waiter *w, pthread_t *th, int n, const struct pb_queue_ops *o,
			  struct pb_queue *q, uint64_t timeout_ns)
{
	for (int i = 0; i < n; i++) {
		w[i] = (struct waiter){ .o = o, .q = q, .timeout_ns = timeout_ns };
		assert_int_equal(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
	}
	for (int i = 0; i < n; i++)
		while (!atomic_load(&w[i].started))
			sched_yield();
	/* Give them time to actually sleep in the condvar (not required for correctness). */
	nanosleep(&(struct timespec){ .tv_nsec = 30 * 1000000 }, NULL);
}

static void test_mutex_pop_wait(void **state)
{
	const struct pb_queue_ops *o = pb_backend_find("mutex");
	const uint64_t long_ns = 20ull * 1000000000ull;
	struct pb_queue *q;
	struct pb_qthread *t;
	struct pb_job out[8];
	struct waiter w[3];
	pthread_t th[3];
	uint64_t t0, dt;

	(void)state;
	q = open_q(o, NULL, NULL);
	assert_int_equal(o->thread_register(q, &t), 0);

	/* Empty: timeout 0 returns at once, a timeout returns 0 no earlier than asked. */
	assert_int_equal(o->pop_wait(q, t, out, 8, 0), 0);
	t0 = pb_now_ns();
	assert_int_equal(o->pop_wait(q, t, out, 8, 20 * 1000000ull), 0);
	dt = pb_now_ns() - t0;
	if (dt < 19 * 1000000ull)
		fail_msg("pop_wait(20 ms) returned after %" PRIu64 " ns", dt);

	/* Jobs present: no wait, a whole batch. */
	for (uint64_t k = 0; k < 5; k++)
		assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = k }), PB_OK);
	assert_int_equal(o->pop_wait(q, t, out, 8, long_ns), 5);
	for (uint64_t k = 0; k < 5; k++)
		assert_int_equal(out[k].tag, k);

	/* A push wakes a sleeping waiter long before its timeout. */
	start_waiters(w, th, 1, o, q, long_ns);
	assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = 77 }), PB_OK);
	pthread_join(th[0], NULL);
	assert_int_equal(w[0].got, 1);
	assert_int_equal(w[0].tag, 77);
	if (w[0].waited_ns > long_ns / 2)
		fail_msg("waiter woke only after %" PRIu64 " ns", w[0].waited_ns);

	/* close() wakes every sleeper; they return 0 (closed and empty). */
	start_waiters(w, th, 3, o, q, long_ns);
	o->close(q);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].got, 0);
		if (w[i].waited_ns > long_ns / 2)
			fail_msg("waiter %d woke only after %" PRIu64 " ns", i, w[i].waited_ns);
	}
	assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = 1 }), PB_CLOSED);
	t0 = pb_now_ns();
	assert_int_equal(o->pop_wait(q, t, out, 8, long_ns), 0);
	assert_true(pb_now_ns() - t0 < long_ns / 2);
	o->thread_unregister(q, t);
	o->destroy(q);

	/* Closed with jobs left: pop_wait drains them without waiting. */
	q = open_q(o, NULL, NULL);
	assert_int_equal(o->thread_register(q, &t), 0);
	assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = 9 }), PB_OK);
	o->close(q);
	assert_int_equal(o->pop_wait(q, t, out, 8, long_ns), 1);
	assert_int_equal(out[0].tag, 9);
	assert_int_equal(o->pop_wait(q, t, out, 8, long_ns), 0);
	o->thread_unregister(q, t);
	o->destroy(q);
}

/* The skeleton is a working, well-formed backend that is not registered. */
static void test_skeleton(void **state)
{
	const struct pb_queue_ops *o = &pb_backend_skeleton;
	struct pb_queue_stats st;
	struct pb_queue *q;
	struct pb_qthread *t;
	struct pb_job out[16];
	uint64_t next = 0;

	(void)state;
	assert_null(pb_backend_check(o));
	assert_null(pb_backend_find("skeleton"));
	assert_null(o->supported());
	q = open_q(o, NULL, NULL);
	assert_int_equal(o->thread_register(q, &t), 0);
	assert_int_equal(o->pop_batch(q, t, out, 16), 0);
	for (uint64_t k = 0; k < 100; k++)
		assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = k }), PB_OK);
	assert_int_equal(o->size(q), 100);
	pb_queue_get_stats(o, q, &st);
	assert_int_equal(st.allocs, 100);
	assert_int_equal(st.segs_live, 100);
	while (next < 100) {
		size_t m = o->pop_batch(q, t, out, 16);

		assert_true(m > 0 && m <= 16);
		for (size_t j = 0; j < m; j++, next++)
			assert_int_equal(out[j].tag, next);
	}
	pb_queue_get_stats(o, q, &st);
	assert_int_equal(st.segs_live, 0);
	assert_int_equal(st.segs_peak, 100);
	assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = 1 }), PB_OK);
	o->close(q);
	assert_int_equal(o->push(q, t, &(struct pb_job){ .tag = 2 }), PB_CLOSED);
	assert_int_equal(o->pop_batch(q, t, out, 16), 1);
	o->thread_unregister(q, t);
	o->destroy(q);

	/* limit=3: the fourth push is refused; destroy frees what is left. */
	q = open_q(o, "limit", "3");
	assert_int_equal(o->thread_register(q, &t), 0);
	assert_int_equal(fill(o, q, t), 3);
	o->thread_unregister(q, t);
	o->destroy(q);
}

/*
 * 2 producers x 2 consumers: every job popped exactly once, and each
 * consumer sees each producer's jobs in increasing order (FIFO backends).
 * Consumers of a backend with pop_wait use it on every other call.
 */
#define NPROD 2
#define NCONS 2

struct mt {
	const struct pb_queue_ops *o;
	struct pb_queue *q;
	uint64_t per;
	atomic_uchar *seen;
	atomic_uint_fast64_t popped;
	atomic_int stop;
	atomic_int errors;
	char first[256];
};

struct mt_arg {
	struct mt *m;
	unsigned id;
};

static void mt_err(struct mt *m, const char *msg, uint64_t a, uint64_t b)
{
	if (atomic_fetch_add(&m->errors, 1) == 0)
		snprintf(m->first, sizeof(m->first), "%s: %s (%" PRIu64 ", %" PRIu64 ")", m->o->name,
			 msg, a, b);
	atomic_store(&m->stop, 1);
}

static void *prod_main(void *arg)
{
	struct mt_arg *a = arg;
	struct mt *m = a->m;
	struct pb_qthread *t;

	if (m->o->thread_register(m->q, &t)) {
		mt_err(m, "producer register failed", a->id, 0);
		return NULL;
	}
	for (uint64_t s = 0; s < m->per && !atomic_load_explicit(&m->stop, memory_order_relaxed);) {
		struct pb_job j = mkjob(a->id, s);
		int rc = m->o->push(m->q, t, &j);

		if (rc == PB_OK)
			s++;
		else if (rc == PB_FULL)
			sched_yield();
		else
			mt_err(m, "push returned", (uint64_t)rc, s);
	}
	m->o->thread_unregister(m->q, t);
	return NULL;
}

static void *cons_main(void *arg)
{
	struct mt_arg *a = arg;
	struct mt *m = a->m;
	const bool fifo = (m->o->flags & PB_Q_FIFO) != 0;
	int64_t last[NPROD] = { -1, -1 };
	struct pb_qthread *t;
	struct pb_job buf[32];
	unsigned iter = 0;

	if (m->o->thread_register(m->q, &t)) {
		mt_err(m, "consumer register failed", a->id, 0);
		return NULL;
	}
	while (!atomic_load_explicit(&m->stop, memory_order_relaxed) &&
	       atomic_load(&m->popped) < NPROD * m->per) {
		size_t max = 1 + iter % 32, n;

		if (m->o->pop_wait && (iter & 1))
			n = m->o->pop_wait(m->q, t, buf, max, 1000000);
		else
			n = m->o->pop_batch(m->q, t, buf, max);
		iter++;
		if (n > max) {
			mt_err(m, "batch larger than max", n, max);
			break;
		}
		if (n == 0) {
			sched_yield();
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			unsigned p = job_prod(&buf[k]);
			uint64_t s = job_seq(&buf[k]);

			if (buf[k].tag != (MAGIC | p) || p >= NPROD || s >= m->per) {
				mt_err(m, "corrupt job", buf[k].tag, s);
				break;
			}
			if (atomic_fetch_add(&m->seen[p * m->per + s], 1) != 0)
				mt_err(m, "job popped twice", p, s);
			if (fifo && (int64_t)s <= last[p])
				mt_err(m, "FIFO violated (seq, after)", s, (uint64_t)last[p]);
			last[p] = (int64_t)s;
		}
		atomic_fetch_add(&m->popped, n);
	}
	m->o->thread_unregister(m->q, t);
	return NULL;
}

static void run_mt(const struct pb_queue_ops *o, const char *opt, const char *val, uint64_t per)
{
	struct mt m = { .o = o, .per = per };
	struct mt_arg args[NPROD + NCONS];
	pthread_t th[NPROD + NCONS];
	uint64_t t0 = pb_now_ns();

	m.q = open_q(o, opt, val);
	m.seen = calloc(NPROD * per, 1);
	assert_non_null(m.seen);
	for (unsigned i = 0; i < NPROD + NCONS; i++) {
		args[i] = (struct mt_arg){ .m = &m, .id = i < NPROD ? i : i - NPROD };
		assert_int_equal(pthread_create(&th[i], NULL, i < NPROD ? prod_main : cons_main,
						&args[i]), 0);
	}
	/* Watchdog: a lost job would leave the consumers polling forever. */
	while (atomic_load(&m.popped) < NPROD * per && !atomic_load(&m.stop)) {
		if (pb_now_ns() - t0 > 60ull * 1000000000ull)
			mt_err(&m, "stalled: popped, of", atomic_load(&m.popped), NPROD * per);
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
	}
	for (unsigned i = 0; i < NPROD + NCONS; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&m.errors))
		fail_msg("%s", m.first);
	for (uint64_t i = 0; i < NPROD * per; i++)
		if (atomic_load(&m.seen[i]) != 1)
			fail_msg("%s: job %" PRIu64 " seen %u times", o->name, i, atomic_load(&m.seen[i]));
	print_message("%s %s=%s: %" PRIu64 " jobs, %.1f ms\n", o->name, opt ? opt : "-",
		      val ? val : "-", NPROD * per, (double)(pb_now_ns() - t0) / 1e6);
	o->destroy(m.q);
	free(m.seen);
}

static void test_mt_exactly_once(void **state)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	const uint64_t per = 100000;
#else
	const uint64_t per = 500000;
#endif
	(void)state;
	run_mt(pb_backend_find("mutex"), NULL, NULL, per);
	run_mt(pb_backend_find("mutex"), "capacity", "3", per / 4);
	run_mt(pb_backend_find("ckring"), NULL, NULL, per);
	run_mt(pb_backend_find("ckring"), "capacity", "4", per / 4);
	run_mt(&pb_backend_skeleton, NULL, NULL, per / 4);
	run_mt(&pb_backend_skeleton, "limit", "2", per / 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ckring_capacity),
		cmocka_unit_test(test_mutex_capacity_wrap),
		cmocka_unit_test(test_mutex_pop_wait),
		cmocka_unit_test(test_skeleton),
		cmocka_unit_test(test_mt_exactly_once),
	};

	/* scripts/test.sh --only NAME: these are the mutex and ckring tests. */
	if (!tc_only("mutex", "ckring") && !tc_only(pb_backend_skeleton.name, NULL)) {
		printf("SKIP: PB_TEST_ONLY=%s: not mutex, ckring or the skeleton\n",
		       getenv("PB_TEST_ONLY"));
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
