/* SPDX-License-Identifier: MIT */
/*
 * skeleton: the backend to copy when writing a new one.  A minimal but
 * working queue (a linked list under one mutex) whose every hook says what
 * it must do, its concurrency contract and its return values.  It is
 * compiled but deliberately NOT in backends/registry.c; see
 * docs/adding-a-backend.md for the steps.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "queue.h"

/*
 * struct pb_queue and struct pb_qthread are declared (incomplete) in
 * core/queue.h; each backend defines them privately in its own file.  The
 * core and the harness only ever hold pointers to them.
 */
struct skeleton_node {
	struct pb_job job;           /* jobs are stored BY VALUE */
	struct skeleton_node *next;
};

struct pb_queue {
	pthread_mutex_t lock;        /* guards everything below */
	struct skeleton_node *head;  /* oldest job, NULL when empty */
	struct skeleton_node *tail;  /* newest job */
	size_t count;
	size_t limit;                /* 0: unbounded */
	bool closed;
	struct pb_queue_stats st;    /* allocs counts malloc calls after create */
};

/*
 * Per-thread handle.  Backends that keep per-thread state (a hazard record,
 * a cached segment, a reclaimer thread record) put it here; this one only
 * remembers its queue, to show the shape.
 */
struct pb_qthread {
	struct pb_queue *q;
};

/*
 * Options: NULL-name terminated.  The core parses "--q-limit 64" style
 * values, range-checks them against min/max (and PB_OPTF_POW2 if set) and
 * prints "value X is out of range for limit, allowed: 0 .. 1073741824";
 * create() only reads them back with pb_opt_get().  Keep at most
 * PB_MAX_OPTS entries; names are lower case, dash separated.
 */
static const struct pb_option skeleton_options[] = {
	{ .name = "limit", .type = PB_OPT_INT, .min = 0, .max = 1 << 30, .def = 0,
	  .help = "most jobs queued before push returns full; 0 = unbounded" },
	{ .name = NULL },
};

/*
 * supported (optional, may be NULL): return NULL if the backend can run on
 * this machine, else a one-line reason ("needs cmpxchg16b").  The harness
 * then reports the configuration as skipped, not failed.
 */
static const char *skeleton_supported(void)
{
	return NULL;
}

/*
 * create (required): allocate and initialise a queue from @opts (never
 * NULL when called by the pool; the skeleton tolerates NULL = defaults).
 * @rc is NULL unless the ops flags have PB_Q_RECLAIM; a backend that
 * retires memory keeps @rc and calls rc->ops->retire etc. through it.
 * Single-threaded.  Returns 0 and sets *out, or a negative errno
 * (-ENOMEM, -EINVAL) and leaves *out untouched.
 */
static int skeleton_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
			   struct pb_queue **out)
{
	struct pb_optvals defs;
	struct pb_queue *q;
	int err;

	(void)rc;
	if (!opts) {
		pb_opts_defaults(&defs, skeleton_options);
		opts = &defs;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->limit = (size_t)pb_opt_get(opts, "limit");
	err = pthread_mutex_init(&q->lock, NULL);
	if (err) {
		free(q);
		return -err;
	}
	*out = q;
	return 0;
}

/*
 * destroy (required): free everything.  Single-threaded, called after every
 * thread unregistered.  Jobs still queued are simply dropped here: the pool
 * has already popped them and run their cleanups before destroying the
 * queue, so a backend never calls job callbacks itself.
 */
static void skeleton_destroy(struct pb_queue *q)
{
	struct skeleton_node *n, *next;

	if (!q)
		return;
	for (n = q->head; n; n = next) {
		next = n->next;
		free(n);
	}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/*
 * thread_register (required): called once by each thread that will push
 * or pop, on that thread, before its first push/pop.  Returns 0 and a
 * handle in *out (a dummy is fine: any non-NULL pointer), or -errno.
 * A backend with a reclaimer registers the thread with it here.
 */
static int skeleton_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	struct pb_qthread *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->q = q;
	*out = t;
	return 0;
}

/*
 * thread_unregister (required): the same thread, after its last push/pop.
 * Releases what register took.  Never fails.
 */
static void skeleton_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	(void)q;
	free(t);
}

/*
 * push (required): any registered thread, concurrently with every other
 * hook except create/destroy.  Copies *job (the caller's memory may be
 * reused as soon as push returns).  Never blocks waiting for room.
 * Returns PB_OK, PB_FULL (only if flags has PB_Q_BOUNDED; nothing queued)
 * or PB_CLOSED (close() happened; nothing queued).  Not a negative errno:
 * an allocation failure here is reported as PB_FULL (try again later).
 */
static int skeleton_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	struct skeleton_node *n = malloc(sizeof(*n));

	(void)t;
	if (!n)
		return PB_FULL;
	n->job = *job;
	n->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->closed || (q->limit && q->count >= q->limit)) {
		int rc = q->closed ? PB_CLOSED : PB_FULL;

		pthread_mutex_unlock(&q->lock);
		free(n);
		return rc;
	}
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->count++;
	q->st.allocs++;
	q->st.segs_allocated++;
	q->st.segs_live++;
	if (q->st.segs_live > q->st.segs_peak)
		q->st.segs_peak = q->st.segs_live;
	pthread_mutex_unlock(&q->lock);
	return PB_OK;
}

/*
 * pop_batch (required): any registered thread, concurrently.  Copies up to
 * @max jobs into out[] and returns how many; 0 means "nothing visible
 * now" (not an error, and not "closed").  Each pushed job is returned by
 * exactly one pop.  Never blocks waiting for jobs.  On return the caller
 * must hold no reference into queue memory: jobs are copied out, so the
 * node (segment, slot) can be freed or reused at once.  With PB_Q_FIFO,
 * one producer's jobs come out in push order.
 */
static size_t skeleton_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out,
				 size_t max)
{
	struct skeleton_node *done = NULL, *n;
	size_t k = 0;

	(void)t;
	pthread_mutex_lock(&q->lock);
	while (k < max && q->head) {
		n = q->head;
		out[k++] = n->job;
		q->head = n->next;
		n->next = done;   /* free after unlocking: keep the lock hold short */
		done = n;
	}
	if (!q->head)
		q->tail = NULL;
	q->count -= k;
	q->st.segs_live -= k;
	pthread_mutex_unlock(&q->lock);
	while (done) {
		n = done->next;
		free(done);
		done = n;
	}
	return k;
}

/*
 * close (required): any thread, once.  Later pushes return PB_CLOSED; pops
 * still drain what was pushed.  Every push that returned PB_OK must have
 * happened before close() returned or be visible to pops after it.  Must
 * wake threads sleeping in pop_wait, if the backend has that hook.
 */
static void skeleton_close(struct pb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_mutex_unlock(&q->lock);
}

/*
 * Optional hooks (set to NULL when not needed; the core calls them through
 * wrappers in core/queue.h):
 *  - quiescent(q, t): the thread holds nothing in the queue (a worker
 *    between batches).  Reclaiming backends pass it to the reclaimer.
 *  - offline(q, t) / online(q, t): around a long wait (a parked worker);
 *    QSBR-style reclaimers need it so grace periods do not stall.
 *  - pop_wait(q, t, out, max, timeout_ns): channel-style backends only;
 *    wait up to timeout_ns for a job, then behave as pop_batch; return 0
 *    on timeout or at once when closed and empty.  When present, push
 *    must wake a waiter (see backends/mutex.c).
 *  - reclaim_stats(q, st): the reclaimer's statistics, if it has one.
 * The skeleton shows check and the two cheap ones, size and stats.
 */

/*
 * check (optional): refuse, before anything runs, a configuration that
 * cannot make progress.  Called by poolbench once per point of a sweep with
 * the backend's options, the reclaimer (NULL if none) and its options
 * (NULL if none), the number of producer threads (they push) and of pool
 * workers (they pop; producers + workers threads register).  The harness
 * may push from PB_QUEUE_EXTRA_PUSHERS threads besides the producers, so a
 * limit on pushing threads counts them too.  Return NULL if the
 * configuration can run, else write ONE line into buf naming the value,
 * the limit and what to change, and return buf: poolbench prints it and
 * exits 2 without writing results.  Examples: spmc ("spmc max-producers 16
 * is less than the 21 threads that push (20 producers + 1 harness
 * submitter); raise --backend-opt max-producers to 21 or more"), segmented
 * (a bounded segment supply against what the reclaimer holds per thread).
 * A list under one mutex with a limit always makes progress: workers pop
 * whatever the limit lets in.
 */
static const char *skeleton_check(const struct pb_optvals *opts, const struct pb_reclaim_ops *rc,
				  const struct pb_optvals *rcopts, unsigned producers,
				  unsigned workers, char *buf, size_t len)
{
	(void)opts;
	(void)rc;
	(void)rcopts;
	(void)producers;
	(void)workers;
	(void)buf;
	(void)len;
	return NULL;
}

/* size (optional): approximate number of queued jobs, for reports.  Any thread. */
static size_t skeleton_size(struct pb_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/*
 * stats (optional): fill *st (the core zeroed it).  Any thread; a snapshot,
 * need not be exact under concurrency.  Here a "segment" is one list node.
 */
static void skeleton_stats(struct pb_queue *q, struct pb_queue_stats *st)
{
	pthread_mutex_lock(&q->lock);
	*st = q->st;
	pthread_mutex_unlock(&q->lock);
}

/*
 * The one exported symbol, const, at the bottom.  Its name must be
 * pb_backend_<name> for the X(<name>) registry line to find it.  Flags
 * state honestly what the conformance suite may check:
 *   PB_Q_BOUNDED      push can return PB_FULL
 *   PB_Q_RECLAIM      create() receives a reclaimer instance
 *   PB_Q_FIFO         FIFO per producer
 *   PB_Q_NATIVE_BATCH pop_batch claims a whole batch in one step
 */
const struct pb_queue_ops pb_backend_skeleton = {
	.abi = PB_ABI_VERSION,
	.name = "skeleton",
	.summary = "example: linked list under one mutex (documents every hook; not registered)",
	.flags = PB_Q_BOUNDED | PB_Q_FIFO | PB_Q_NATIVE_BATCH,
	.options = skeleton_options,
	.reclaim_excluded = NULL,      /* only meaningful with PB_Q_RECLAIM */
	.supported = skeleton_supported,
	.create = skeleton_create,
	.destroy = skeleton_destroy,
	.thread_register = skeleton_thread_register,
	.thread_unregister = skeleton_thread_unregister,
	.push = skeleton_push,
	.pop_batch = skeleton_pop_batch,
	.close = skeleton_close,
	.quiescent = NULL,
	.offline = NULL,
	.online = NULL,
	.pop_wait = NULL,
	.check = skeleton_check,
	.size = skeleton_size,
	.stats = skeleton_stats,
	.reclaim_stats = NULL,
};
