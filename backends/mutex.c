/* SPDX-License-Identifier: MIT */
/*
 * mutex: the "channel" baseline.  A bounded ring of struct pb_job guarded by
 * one pthread mutex, with a condition variable so that idle workers can sleep
 * in pop_wait until a producer pushes (what a Go buffered channel does).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pb.h"
#include "queue.h"

/*
 * Everything below `lock` is protected by it; nothing is read or written
 * without holding it, so no atomics are needed (and TSAN sees every edge).
 */
struct pb_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;  /* signalled by push when waiters > 0 */
	struct pb_job *ring;      /* cap entries */
	size_t cap;
	size_t head;              /* index of the oldest job */
	size_t count;             /* jobs in the ring */
	unsigned waiters;         /* threads sleeping in pop_wait */
	bool closed;
};

static const struct pb_option mutex_options[] = {
	{ .name = "capacity", .type = PB_OPT_INT, .min = 1, .max = 1 << 30, .def = 4096,
	  .help = "jobs the ring holds before push returns full (like a buffered channel's size)" },
	{ .name = NULL },
};

static int mutex_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
			struct pb_queue **out)
{
	struct pb_optvals defs;
	struct pb_queue *q;
	pthread_condattr_t ca;
	int64_t cap;
	int err;

	(void)rc;
	if (!opts) {
		pb_opts_defaults(&defs, mutex_options);
		opts = &defs;
	}
	cap = pb_opt_get(opts, "capacity");
	if (cap < 1 || cap > (1 << 30))
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cap = (size_t)cap;
	q->ring = calloc(q->cap, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return -ENOMEM;
	}
	err = pthread_mutex_init(&q->lock, NULL);
	if (err)
		goto fail_ring;
	/* Timed waits use CLOCK_MONOTONIC, immune to wall-clock jumps. */
	err = pthread_condattr_init(&ca);
	if (err)
		goto fail_mutex;
	err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(&q->nonempty, &ca);
	pthread_condattr_destroy(&ca);
	if (err)
		goto fail_mutex;
	*out = q;
	return 0;

fail_mutex:
	pthread_mutex_destroy(&q->lock);
fail_ring:
	free(q->ring);
	free(q);
	return -err;
}

static void mutex_destroy(struct pb_queue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

/* No per-thread state: the handle is the queue pointer and is never dereferenced. */
static int mutex_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	*out = (struct pb_qthread *)q;
	return 0;
}

static void mutex_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	(void)q;
	(void)t;
}

/* One lock hold for the whole batch: as much of it as fits. */
static size_t mutex_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
			       size_t n, int *rc)
{
	size_t k, tail;

	(void)t;
	pthread_mutex_lock(&q->lock);
	if (PB_UNLIKELY(q->closed)) {
		pthread_mutex_unlock(&q->lock);
		*rc = PB_CLOSED;
		return 0;
	}
	k = q->cap - q->count < n ? q->cap - q->count : n;
	tail = q->head + q->count;
	if (tail >= q->cap)
		tail -= q->cap;
	for (size_t i = 0; i < k; i++) {
		q->ring[tail] = jobs[i];
		if (++tail == q->cap)
			tail = 0;
	}
	q->count += k;
	/* As in push: signalled under the lock; one waiter per job, at most
	 * every waiter. */
	if (k && q->waiters) {
		if (k >= q->waiters)
			pthread_cond_broadcast(&q->nonempty);
		else
			for (size_t i = 0; i < k; i++)
				pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	*rc = k == n ? PB_OK : PB_FULL;
	return k;
}

static int mutex_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	size_t tail;

	(void)t;
	pthread_mutex_lock(&q->lock);
	if (PB_UNLIKELY(q->closed)) {
		pthread_mutex_unlock(&q->lock);
		return PB_CLOSED;
	}
	if (PB_UNLIKELY(q->count == q->cap)) {
		pthread_mutex_unlock(&q->lock);
		return PB_FULL;
	}
	tail = q->head + q->count;
	if (tail >= q->cap)
		tail -= q->cap;
	q->ring[tail] = *job;
	q->count++;
	/*
	 * Signal while holding the lock: a waiter that has checked count == 0
	 * is already inside pthread_cond_timedwait (it checked under the lock),
	 * so the wake-up cannot be lost.  Only pay for the signal when somebody
	 * sleeps.
	 */
	if (q->waiters)
		pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
	return PB_OK;
}

/* Copy up to max jobs out; caller holds q->lock. */
static size_t mutex_take_locked(struct pb_queue *q, struct pb_job *out, size_t max)
{
	size_t n = q->count < max ? q->count : max;
	size_t first = q->cap - q->head; /* contiguous entries before the wrap */

	if (n == 0)
		return 0;
	if (first > n)
		first = n;
	memcpy(out, &q->ring[q->head], first * sizeof(*out));
	if (n > first)
		memcpy(out + first, &q->ring[0], (n - first) * sizeof(*out));
	q->head += n;
	if (q->head >= q->cap)
		q->head -= q->cap;
	q->count -= n;
	return n;
}

static size_t mutex_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out,
			      size_t max)
{
	size_t n;

	(void)t;
	pthread_mutex_lock(&q->lock);
	n = mutex_take_locked(q, out, max);
	pthread_mutex_unlock(&q->lock);
	return n;
}

static size_t mutex_pop_wait(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out,
			     size_t max, uint64_t timeout_ns)
{
	struct timespec dl;
	size_t n;

	(void)t;
	pthread_mutex_lock(&q->lock);
	if (q->count == 0 && !q->closed && timeout_ns > 0 && max > 0) {
		uint64_t now_ns, dl_ns;

		clock_gettime(CLOCK_MONOTONIC, &dl);
		now_ns = (uint64_t)dl.tv_sec * 1000000000ull + (uint64_t)dl.tv_nsec;
		/* Clamp so that "wait forever" (UINT64_MAX) does not wrap. */
		dl_ns = timeout_ns > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + timeout_ns;
		if (dl_ns / 1000000000ull > (uint64_t)INT32_MAX)
			dl_ns = (uint64_t)INT32_MAX * 1000000000ull;
		dl.tv_sec = (time_t)(dl_ns / 1000000000ull);
		dl.tv_nsec = (long)(dl_ns % 1000000000ull);
		q->waiters++;
		while (q->count == 0 && !q->closed) {
			int rc = pthread_cond_timedwait(&q->nonempty, &q->lock, &dl);

			if (rc == ETIMEDOUT)
				break;
		}
		q->waiters--;
	}
	n = mutex_take_locked(q, out, max);
	pthread_mutex_unlock(&q->lock);
	return n;
}

static void mutex_close(struct pb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	/* Every sleeper must see "closed": it then returns what is left, or 0. */
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

static size_t mutex_size(struct pb_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* One ring allocated at create, no segments, no allocations afterwards. */
static void mutex_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->bound = q->cap; /* read-only after create */
}

/*
 * Concurrency contract: exactly core/queue.h's.  Every hook takes the one
 * lock, so any thread may call push, pop_batch, pop_wait, close and size at
 * any time; pop_wait is the only hook that sleeps (at most timeout_ns).
 */
const struct pb_queue_ops pb_backend_mutex = {
	.abi = PB_ABI_VERSION,
	.name = "mutex",
	.summary = "bounded ring under one pthread mutex + condvar (the Go buffered-channel baseline)",
	.flags = PB_Q_BOUNDED | PB_Q_FIFO | PB_Q_NATIVE_BATCH,
	.options = mutex_options,
	.reclaim_excluded = NULL,
	.supported = NULL,
	.create = mutex_create,
	.destroy = mutex_destroy,
	.thread_register = mutex_thread_register,
	.thread_unregister = mutex_thread_unregister,
	.push = mutex_push,
	.pop_batch = mutex_pop_batch,
	.close = mutex_close,
	.pop_wait = mutex_pop_wait,
	.push_batch = mutex_push_batch,
	.size = mutex_size,
	.stats = mutex_stats,
};
