/* SPDX-License-Identifier: MIT */
/*
 * segmented: the seed design (azargarov/wpool's segmented FIFO) in C11
 * atomics.  Linked fixed-size segments, CAS slot reservation on a packed
 * state word, per-slot readiness stamps, batch claims by consumers, and
 * segment reuse through whatever reclamation scheme the queue is given.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "queue.h"
#include "reclaim.h"

#if defined(__SANITIZE_ADDRESS__)
#define SEG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SEG_ASAN 1
#endif
#endif
#ifdef SEG_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* Debug, sanitizer and delay-inject builds check the DEAD magic of every
 * segment they protect; release builds (NDEBUG) do not pay for it. */
#if !defined(NDEBUG) || defined(SEG_ASAN) || defined(PB_DELAY_INJECT)
#define SEG_CHECKS 1
#endif

/*
 * Correctness argument
 * ====================
 *
 * Objects.  A segment S has a state word W = state:8 | reserve:24 | gen:32,
 * a consumer index chead, a successor pointer next, seg-size job slots and
 * seg-size readiness stamps ready[i].  S.gen (a read-only copy of W.gen for
 * consumers) and S.base (global index of slot 0, for size()) are written
 * once per incarnation, before S is published.  State bits: CLOSED (no more
 * reservations), FULL (implies CLOSED; reserved count == seg-size, so the
 * 24-bit field never has to hold 2^24), DETACHED (unlinked, informational).
 * count(W) = FULL ? seg-size : W.reserve.
 *
 * Invariants.
 *  I1  Slots [0, count(W)) are reserved, each by exactly one producer: the
 *      reserve field only grows, by k >= 1 (a run of k slots for a batch
 *      push, push_batch; one for push), in a CAS on W that also checks that
 *      W is not CLOSED; the CAS reserving the last slot sets FULL|CLOSED.
 *      A run never crosses the segment: k <= seg-size - reserve, and the
 *      rest of a batch goes to the successor, so the run [r, r+k) is the
 *      producer's alone and its jobs keep their order (per-producer FIFO,
 *      I3, holds within a batch and across segments).
 *  I2  ready[i] == gen  <=>  slot i of the current incarnation is published.
 *      Nothing is cleared on the reuse path: every segment reaches the pool
 *      through seg_poison_body(), which poisons every stamp (SEG_POISON32,
 *      see Poisoning below), and a fresh segment's stamps are 0; a new
 *      incarnation's gen is never 0 or SEG_POISON32 (the bump skips both).
 *      So a stamp equals gen only if it was written in this incarnation:
 *      exact, with no wrap-around caveat (before poisoning, old stamps kept
 *      old gens and a match needed 2^32-1 reuses).
 *      readiness=bitmap replaces the stamps with one bit per slot: see
 *      "Readiness bitmap" below, whose I2b takes I2's place.
 *  I3  0 <= chead <= count(W), and every slot below chead was published
 *      when it was claimed: a consumer advances chead from h to e only over a
 *      contiguous run of slots it saw ready (acquire), by one CAS; a failed
 *      CAS claims nothing.  Claims are disjoint, so each job is copied out by
 *      exactly one pop (exactly-once), and since a producer's pushes take
 *      increasing slots along the chain and claims follow the chain in order,
 *      per-producer FIFO holds in global pop order.
 *  I4  A consumer stops at the first slot that is not ready, so a slot that
 *      is reserved but not yet published is never skipped; S is detached only
 *      when S is CLOSED, chead == count(W) and S.next is a real segment.  Then
 *      every reserved slot was published and claimed; no reservation can
 *      follow (CLOSED).  Claimants still copying are protected (below).
 *  I5  Tail is never behind head, and only unlinked segments are retired.
 *      Both move forward only, one link at a time (CAS X -> X.next while X
 *      is protected, so X cannot have been reused: no ABA).  A consumer that
 *      wants to move head off S first moves tail off S (CAS tail S -> next,
 *      helping a slow producer); since tail >= head = S, after that CAS tail
 *      is past S, so the head CAS S -> next keeps tail >= head.  The winner of
 *      the head CAS retires S: neither head nor tail points at S, the
 *      predecessor's next pointer belongs to a segment retired earlier, and
 *      later segments do not point back.  (Moving head first would let tail
 *      be swung onto a segment that head had already passed and retired.)
 *  I6  Safe access.  Every dereference of a segment happens between
 *      protect(head or tail) and end(); the reclaimer runs the free function,
 *      which returns S to the pool where it may be reset and reused, only when
 *      (proven schemes) no thread can still hold S, or (limbo) when its
 *      heuristic says so.  The reset (gen bump, W, chead, next) happens under
 *      the pool mutex, and S is republished by the release CAS that links it
 *      as a successor, so a thread that reaches S through head/tail/next sees
 *      the reset values.
 *
 * ABA on head/tail: a CAS tail S -> N or head S -> N where S was retired and
 * reused in between would need the thread to hold S across its reuse, which
 * I6 rules out for proven schemes.  Under limbo (no proof) the refcount plus
 * re-validation in protect means a thread that validated S holds a reference
 * that the eviction check sees, and if S was reused and re-linked as the new
 * tail, the validation is against that new incarnation, which is what the
 * thread then reads (it re-reads W and gen after protect).
 *
 * Close racing with push: close() walks the chain from tail under the pool
 * mutex, sets CLOSED on every segment it meets (fetch_or: the reserve count is
 * kept) and ends the chain by CAS next NULL -> SENTINEL.  A reservation CAS
 * either precedes the CLOSED bit in W's modification order (that push is
 * counted and will be published: pops drain it) or fails and sees CLOSED
 * without FULL -> PB_CLOSED.  A producer that finds a FULL segment links a
 * successor with CAS next NULL -> new; it either loses to the SENTINEL
 * (PB_CLOSED) or wins, and the walk, which reads next after that CAS, then
 * closes the new segment too.  No segment is freed, returned to the pool or
 * reset during the walk (all take the pool mutex); the tail read under the
 * mutex and every segment after it are unretired (I5), so the walk follows
 * the live chain to its end without protection.
 *
 * Poisoning (for the torture tests; cheap enough to stay on).  When the
 * reclaimer hands a segment back (free function) and it goes to the free
 * pool or, under a type-stable scheme, to the grave, every field a stale
 * reader could use is overwritten: word (reads as CLOSED, not FULL), gen and
 * every stamp (SEG_POISON32, so a stale consumer "sees" every slot ready and
 * copies out poisoned jobs, which a validating test notices), chead (0, so
 * that stale claim stays inside the segment), base, next, the jobs (0x6b
 * bytes) and the magic (SEG_DEAD).  The reclaimer's node is never touched,
 * nor the pool link.  Debug/sanitizer/delay builds check the magic right after
 * every protect (SEG_CHECK); under AddressSanitizer a pooled segment is also
 * made unaddressable (ASAN_POISON_MEMORY_REGION) unless the reclaimer is
 * PB_RC_TYPE_STABLE (limbo legitimately increments the count in the node of
 * a pooled segment through a stale pointer before it re-validates).  A
 * segment freed past the pool cap is just freed: ASan sees use-after-free.
 * store_get() unpoisons and re-initialises (seg_reset).
 *
 * Readiness bitmap (readiness=bitmap; the seed README's design, which its
 * code replaced by stamps).  Per segment, ceil(seg-size/64) 64-bit words
 * rbits[]; bit i%64 of word i/64 is slot i's.  A producer publishes a run of
 * slots inside one word with one release fetch_xor of their bits (a run that
 * crosses words takes one per word); a consumer loads a word (acquire), and
 * finds the ready run from its head with count-trailing-zeros, 64 slots per
 * load instead of one stamp per slot.
 *  I2b slot i of the current incarnation is published  <=>  its bit differs
 *      from S.rinv's (rinv is all zeros or all ones, fixed per incarnation).
 *      Why exact with no clearing: each slot is reserved by exactly one
 *      producer (I1), who toggles its bit exactly once; a segment reaches
 *      the free function only after it was detached, and only a FULL segment
 *      gets a successor, so every one of its seg-size slots was reserved,
 *      published and claimed (I4): every bit was toggled exactly once in the
 *      incarnation.  The free function therefore records rinv' = ~rinv in
 *      the pool-only field pool_rinv, and seg_reset makes it the new rinv:
 *      the bits already equal the new "not ready" value, so nothing is
 *      cleared, on the hot path or anywhere.  A spare that was reset but
 *      never linked (store_unget) toggled nothing, keeps its pool_rinv, and
 *      gets the same rinv back.  Bits past seg-size in the last word never
 *      toggle; consumers never look past seg-size (the scan is clamped).
 *      Ordering: the toggles of the old incarnation were seen (acquire) by
 *      the consumers that claimed its slots, which happened before the retire,
 *      the free function, the reset under st->mu and the link CAS that
 *      publishes the new incarnation, so a new reader's acquire load returns
 *      a value at or after them in the word's modification order
 *      (coherence): no old toggle can be mistaken for a new one.
 *      Poisoning leaves rinv and the bits as they are, so a stale consumer
 *      of a pooled segment sees every slot ready (as with poisoned stamps)
 *      and copies out poisoned jobs, which the torture test notices.
 *
 * Memory orders are chosen per access below; head/tail CAS and protect are
 * seq_cst because a reference-count scheme (limbo) validates with the
 * Dekker pattern "increment; re-load source" against "unlink; check count".
 */

#define ST_CLOSED   0x1u
#define ST_DETACHED 0x2u
#define ST_FULL     0x4u

#define W_GEN(w)   ((uint32_t)(w))
#define W_RES(w)   ((uint32_t)(((w) >> 32) & 0xffffffu))
#define W_STATE(w) ((unsigned)((w) >> 56))
#define W_PACK(st, res, gen) (((uint64_t)(st) << 56) | ((uint64_t)(res) << 32) | (uint64_t)(gen))
#define W_RES_STEP (1ull << 32)

#define SEG_SENTINEL ((struct seg *)(uintptr_t)1) /* end of a closed chain */

#define SEG_LIVE        0x5e6a11feu /* magic of a segment in circulation */
#define SEG_DEAD        0xdead5e6du /* magic of a pooled (or parked) segment */
#define SEG_POISON_BYTE 0x6b
#define SEG_POISON32    0x6b6b6b6bu
#define SEG_POISON64    0x6b6b6b6b6b6b6b6bull

struct seg {
	struct pb_smr_node smr; /* first: owned by the reclaimer */
	_Atomic uint64_t word PB_ALIGNED;   /* producers' line */
	_Atomic uint32_t chead PB_ALIGNED;  /* consumers' line */
	/* Read-mostly line: written once per incarnation. */
	_Atomic uint32_t gen PB_ALIGNED;
	_Atomic uint32_t magic; /* SEG_LIVE, or SEG_DEAD while pooled */
	_Atomic uint64_t rinv;  /* readiness=bitmap: value of a not-ready bit (I2b) */
	_Atomic uint64_t base;
	struct seg *_Atomic next;
	/* Pool-only pair, under store.mu; never poisoned (see Poisoning). */
	struct seg *pool_next; /* grave and dfree lists (the pool is an array) */
	uint32_t pool_gen;     /* gen of the last incarnation, kept while poisoned */
	uint64_t pool_rinv;    /* rinv of the next incarnation (I2b) */
	_Atomic uint32_t *ready;  /* readiness=stamp: one stamp a slot, else NULL */
	_Atomic uint64_t *rbits;  /* readiness=bitmap: one bit a slot, else NULL */
	struct pb_job *jobs;
};

/*
 * The segment store: free pool and accounting.  It is the context of the
 * free function handed to the reclaimer, which may run after the queue is
 * destroyed (a domain destroyed after its queue), so it lives until both the
 * queue is gone and every retired segment came back.
 */
struct store {
	pthread_mutex_t mu;
	/* LIFO free pool: an array of pointers, not a list through the
	 * segments.  A refill then reads its max pointers (8 at seg-size 64) from
	 * consecutive lines of this array, where a list makes it chase pool_next through
	 * segments that another core poisoned last (a dependent cache miss per
	 * segment, with st->mu held).  freecap >= live always (store_reserve
	 * at every birth), so pooling never allocates and cannot fail. */
	struct seg **freev;
	size_t nfree, freecap;
	struct seg *grave;   /* type-stable schemes: over-cap segments kept mapped */
	size_t cap;          /* cap 0: unlimited */
	size_t seg_bytes;
	size_t ready_off, jobs_off; /* where a segment's stamps (or bits) and jobs start */
	uint32_t size;
	bool type_stable;    /* reclaimer has PB_RC_TYPE_STABLE: never free while alive */
	bool poison;         /* poison=on: full poisoning; off: stamps only (I2) */
	bool bitmap;         /* readiness=bitmap (I2b) */
	bool dead;           /* queue destroyed */
	/* retired, free function not yet run; exact once every thread's counts
	 * are folded in (always so at destroy), may wrap below zero meanwhile */
	_Atomic uint64_t outstanding;
	_Atomic uint64_t retired;
	uint64_t allocated, reused, live, peak, allocs;
};

struct pb_queue {
	struct seg *_Atomic head PB_ALIGNED;
	struct seg *_Atomic tail PB_ALIGNED;
	/* read-only after create */
	struct store *st PB_ALIGNED;
	struct pb_reclaim_inst rc;
	uint32_t size;
	uint64_t bound;       /* pb_queue_stats.bound */
	bool bounded;
	bool retire_released; /* retire-order=released */
	bool hold;            /* hold protection across operations (PB_RC_HOLD, hold=on) */
	bool bitmap;          /* readiness=bitmap */
	bool drain_batch;     /* drain=batch: a pop crosses used-up segments */
	bool tail_load;       /* size <= SEG_TAIL_LOAD_MAX_SIZE: load tail before helping */
	bool section;         /* reclaimer has PB_RC_SECTION */
	/* bounded supply: a producer found the pool empty (after its own
	 * barrier); the next consumer that finds nothing to pop runs the
	 * reclaimer's barrier too: its own pending list is what a per-thread
	 * scheme such as hp or ck_epoch can free */
	_Atomic int starved PB_ALIGNED;
};

/*
 * The segment supply's per-thread fast path (see "segment supply" below).
 * A thread moves segments to and from the shared pool `max` at a time: enough
 * for about SEG_TCACHE_JOBS job slots, at least SEG_TCACHE_MIN and at most
 * SEG_TCACHE_MAX segments (seg_tcache_max).  At seg-size 64 that is 8, as
 * it always was; at seg-size 1 it is 64, where 8 took the pool's mutex every
 * 8 jobs on each side and the producer and the workers contended for it
 * (perf: futex waits and wakes under pthread_mutex_lock on both sides).
 * Measured on the 2-core VM, seg-size 1, scripts/ab.py, 11 rounds: a fixed
 * 64 against 8 was 0.83x (hp w=2), 0.80x (hp w=1), 0.79x (ckepoch w=2) the
 * ns/job; a fixed 32 at seg-size 64 was 0.97x / 1.08x (hp / ckepoch w=2),
 * inside the noise, hence the scaling rather than one larger constant: the
 * seg-size-64 path is what it was.  A larger count only holds more free
 * segments per thread (at most max cached + max freed); the bounded supply
 * does not use the cache at all.
 */
#define SEG_TCACHE_MIN 8u
#define SEG_TCACHE_MAX 64u
#define SEG_TCACHE_JOBS 512u

static inline unsigned seg_tcache_max(uint32_t size)
{
	uint32_t n = SEG_TCACHE_JOBS / size;

	return n < SEG_TCACHE_MIN ? SEG_TCACHE_MIN : n > SEG_TCACHE_MAX ? SEG_TCACHE_MAX : n;
}

struct seg_tcache {
	struct store *st;
	bool on;
	unsigned max;                      /* segments per transfer, seg_tcache_max */
	struct seg *cache[SEG_TCACHE_MAX]; /* taken from the top: cache[ncache - 1]; max used */
	struct seg *dfree;
	unsigned ncache, ndfree;
	uint64_t reused;
	/* retires by this thread and free-function runs on its dfree path,
	 * not yet folded into the store's outstanding and retired counts */
	unsigned nretired, nfreed;
};

/*
 * Protection held across operations (reclaimers with PB_RC_HOLD: hp).  A
 * producer keeps its tail segment in hazard slot SLOT_TAIL after a push and a
 * consumer its head segment in SLOT_HEAD after a pop, with no end() between
 * operations; the next operation starts from the held segment without
 * begin/protect (no seq_cst store + re-load, no slot clearing).  Why that is
 * still correct: the slot has held s continuously since the protect that
 * validated it, so the reclaimer cannot have freed (or reused) s, and every
 * dereference of s is as safe as inside one long operation (I6).  s may no
 * longer be the tail (head): then the push finds it FULL or CLOSED and moves
 * on exactly as a push that protected a tail which then moved (the pop finds
 * it detached, its head CAS fails, and it re-protects head).  Whatever ends
 * the operation's protection -- end() on the retire-order=released path, the
 * bounded-supply barrier, offline, unregister -- clears both holds first
 * (seg_drop_holds), so a held pointer is never used unprotected.  Pushes and
 * pops use different slots, so a thread that does both keeps both.  Limbo
 * (the seed's counted references), epochs and RCU keep one begin/end per
 * operation: a held section would hold back every grace period.
 */
#define SLOT_HEAD 0u
#define SLOT_TAIL 1u

struct pb_qthread {
	struct pb_rthread *rt;
	struct seg_tcache tc;   /* the segment supply's fast path */
	bool hold;              /* reclaimer has PB_RC_HOLD */
	bool in_op;             /* begin() done, end() not yet (hold only) */
	struct seg *htail;      /* protected in SLOT_TAIL, or NULL */
	struct seg *hhead;      /* protected in SLOT_HEAD, or NULL */
};

/* End the held operation, if any: every slot is released. */
static inline void seg_drop_holds(const struct pb_reclaim_ops *ro, struct pb_qthread *t)
{
	if (t->in_op) {
		ro->end(t->rt);
		t->in_op = false;
	}
	t->htail = t->hhead = NULL;
}

/* Start an operation: begin() unless one is held open. */
static inline void seg_op_begin(const struct pb_reclaim_ops *ro, struct pb_qthread *t)
{
	if (!t->in_op)
		ro->begin(t->rt);
	t->in_op = true;
}

/* End an operation: keep it open (hold) or end() it. */
static inline void seg_op_end(const struct pb_reclaim_ops *ro, struct pb_qthread *t)
{
	if (!t->hold) {
		ro->end(t->rt);
		t->in_op = false;
	}
}

enum { SUPPLY_ALLOC, SUPPLY_BOUNDED };
static const char *const segmented_supply_names[] = {"alloc", "bounded", NULL};
enum { RETIRE_SEED, RETIRE_RELEASED };
static const char *const segmented_retire_names[] = {"seed", "released", NULL};
enum { HOLD_OFF, HOLD_ON };
static const char *const segmented_hold_names[] = {"off", "on", NULL};
enum { READY_STAMP, READY_BITMAP };
static const char *const segmented_readiness_names[] = {"stamp", "bitmap", NULL};
enum { DRAIN_SEGMENT, DRAIN_BATCH };
static const char *const segmented_drain_names[] = {"segment", "batch", NULL};
enum { POISON_OFF, POISON_ON };
static const char *const segmented_poison_names[] = {"off", "on", NULL};
/*
 * Poisoning stays on by default in every build.  Measured (2-core VM, empty
 * job, p=1, pinned, 3 interleaved rounds): poison=off made segmented+hp
 * slower, not faster -- 186 vs 62 ns/job at w=1, 138 vs 83 at w=2, and
 * ckepoch 294 vs 150 at w=1.  Not poisoning makes the consumer's free cheap,
 * so it keeps up with the producer job by job (2-3 jobs a batch instead of
 * 8-50) and keeps pulling the head segment's stamp and job lines that the
 * producer is writing to its own core; the producer's stores then miss.  The
 * memset is a brake on that chase.  Measured again at c031037 with paired
 * ratios (scripts/ab.py, 11 rounds, off over on, 95 % intervals): hp w=1
 * 3.08x [2.63, 3.86], w=2 1.38x [1.00, 1.61], w=2 --backlog 4096 1.48x
 * [1.36, 1.89]; ckepoch w=1 1.55x [1.41, 1.82], w=2 1.58x [1.05, 1.71];
 * hp at seg-size 1 0.98x [0.97, 1.04] (results/2core-vm-20261207/drain/
 * poison).  poison=off stays an option (it is what a backend that does not
 * poison would measure), and every row's backend_opts records which was
 * used.
 */
#define POISON_DEFAULT POISON_ON

static const struct pb_option segmented_options[] = {
	{"seg-size", PB_OPT_INT, 1, 16777216, 64, NULL, 0,
	 "job slots per segment (seed default 64)"},
	{"seg-count", PB_OPT_INT, 1, 1 << 24, 128, NULL, 0,
	 "segments pre-filled into the free pool (seed benchmarks: 128)"},
	{"seg-supply", PB_OPT_ENUM, 0, 0, SUPPLY_ALLOC, segmented_supply_names, 0,
	 "empty pool: alloc = malloc a new segment, bounded = push returns full"},
	{"pool-cap", PB_OPT_INT, 0, 1 << 30, 0, NULL, 0,
	 "most segments the free pool keeps, 0 = unlimited (seed: 2 x seg-count)"},
	{"retire-order", PB_OPT_ENUM, 0, 0, RETIRE_SEED, segmented_retire_names, 0,
	 "seed = retire the detached segment while still protecting it (as wpool), "
	 "released = leave the protected region first"},
	{"poison", PB_OPT_ENUM, 0, 0, POISON_DEFAULT, segmented_poison_names, 0,
	 "on = overwrite every field, stamp and job of a segment going back to the pool (and "
	 "ASan-poison it); off = the stamps only (measured slower at p=1: see segmented.c)"},
	{"hold", PB_OPT_ENUM, 0, 0, HOLD_ON, segmented_hold_names, 0,
	 "on = keep the tail/head segment protected between operations when the reclaimer "
	 "allows it (hp), off = begin/protect/end every operation"},
	{"readiness", PB_OPT_ENUM, 0, 0, READY_STAMP, segmented_readiness_names, PB_OPTF_VARIANT,
	 "how a slot is marked published: stamp = a generation stamp per slot (the seed's "
	 "code), bitmap = a bit per slot, found by count-trailing-zeros (the seed's README)"},
	{"drain", PB_OPT_ENUM, 0, 0, DRAIN_BATCH, segmented_drain_names, PB_OPTF_VARIANT,
	 "segment = a pop claims from one segment at most (the seed's code), batch = a pop "
	 "that took a segment whole goes on into its successor until it has its batch"},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL},
};

static inline uint32_t seg_count(uint64_t w, uint32_t size)
{
	return (W_STATE(w) & ST_FULL) ? size : W_RES(w);
}

/* ---- segment store ---------------------------------------------------- */

/* Bytes of readiness state per segment: a stamp a slot, or a bit a slot. */
static size_t seg_ready_bytes(uint32_t size, bool bitmap)
{
	return bitmap ? (((size_t)size + 63) / 64) * sizeof(uint64_t)
		      : (size_t)size * sizeof(uint32_t);
}

static struct seg *seg_alloc(struct store *st)
{
	struct seg *s = aligned_alloc(PB_CACHELINE, st->seg_bytes);
	const size_t rbytes = seg_ready_bytes(st->size, st->bitmap);

	if (!s)
		return NULL;
	/* Zeroed once at birth (the reclaimer's node included); never again. */
	memset(s, 0, sizeof(*s));
	if (st->bitmap)
		s->rbits = (_Atomic uint64_t *)((char *)s + st->ready_off);
	else
		s->ready = (_Atomic uint32_t *)((char *)s + st->ready_off);
	s->jobs = (struct pb_job *)((char *)s + st->jobs_off);
	/* stamps 0 (no gen is 0) or bits 0 with rinv 0: nothing ready */
	memset((char *)s + st->ready_off, 0, rbytes);
	atomic_init(&s->gen, 1);
	atomic_init(&s->magic, SEG_LIVE);
	atomic_init(&s->word, W_PACK(0, 0, 1));
	s->pool_gen = 1;
	return s;
}

/* A segment's layout: the header; the stamps (or bits) from the next line;
 * the jobs from the line after them, or right after them when they take less
 * than a line. */
static void seg_layout(struct store *st)
{
	const size_t line = PB_CACHELINE, rbytes = seg_ready_bytes(st->size, st->bitmap);
	const size_t jalign = _Alignof(struct pb_job);

	st->ready_off = (sizeof(struct seg) + line - 1) & ~(line - 1);
	/* Stamps (or bits) of less than a line share it with the first jobs:
	 * the same producer writes both and the same consumer reads both, and
	 * at seg-size 1 stamp and job then fit one line (52 bytes). */
	if (rbytes < line)
		st->jobs_off = st->ready_off + ((rbytes + jalign - 1) & ~(jalign - 1));
	else
		st->jobs_off = st->ready_off + ((rbytes + line - 1) & ~(line - 1));
	st->seg_bytes = (st->jobs_off + (size_t)st->size * sizeof(struct pb_job) + line - 1) & ~(line - 1);
}

/*
 * Start fetching, for writing, the lines a producer touches first in a
 * segment it takes from its cache: the reclaimer's node (ibr and he stamp a
 * birth era there), the state word, chead and the read-mostly line (all
 * reset), and the first line of stamps and of jobs (the first push).  A hint
 * only: a prefetch never faults and orders nothing, and the segment is this
 * thread's alone (out of the pool).  The addresses come from the layout, not
 * from loads of s.  Each of these lines was last written on a worker's core
 * (claim, detach, retire, poison), so each is a miss of its own; fetched
 * together while the current segment is used, they overlap.
 * Only for segments of at most SEG_PREFETCH_MAX_SIZE slots, which a producer
 * uses up within a push or two; a larger one gets the node's line alone, as
 * before.  Measured on the 2-core VM (scripts/ab.py, hp and ckepoch, p=1,
 * pinned): at seg-size 1, 0.92-0.97x the ns/job of the node's line alone
 * in every run (by the medians; the paired 95 % intervals of those runs
 * reach 1.00-1.09 at their top: a small gain, not a shown one); at seg-size
 * 8 and 64 (hp w=2) anything from 0.93x to 1.22x over five runs of 9-21
 * rounds, every interval containing 1, so those sizes keep the code they
 * had (the next segment is taken 8 or 64 pushes later there, and lines
 * fetched that early have little to overlap with).  The workers' side was
 * tried too (prefetching the successor while detaching): hp at seg-size 1,
 * w=1 0.96x [0.90, 0.99]; at seg-size 64, w=1 the medians went from 30 to
 * 52 ns/job, smaller batches, the chase (docs/segmented.md), though the
 * paired interval, [0.83, 2.10], does not show it.  Not taken.
 */
#define SEG_PREFETCH_MAX_SIZE 2u

/*
 * A consumer detaching a used-up segment s helps a slow producer by CASing
 * tail from s to its successor (I5).  Usually tail has moved on already and
 * the CAS fails, but even a failing CAS takes tail's line exclusive, away
 * from the producer, which CASes tail once a segment.  At seg-size 1 that is
 * once a job for each worker: perf annotate (hp, w=2, pinned) put 26 % of
 * pop_batch's samples on that CAS.  So for segments of at most
 * SEG_TAIL_LOAD_MAX_SIZE slots a consumer loads tail first and CASes only if
 * it is still s.  Measured on the 2-core VM (scripts/ab.py, 11 rounds,
 * pinned, paired ratio with its 95 % interval, against the CAS always;
 * results/2core-vm-20261207/supply/tail-load/): at every size (every-size/)
 * seg-size 1 hp w=2 0.80 [0.78, 0.83], ckepoch w=2 0.76 [0.67, 0.87], hp
 * w=1 0.92 [0.90, 0.98]; but seg-size 8 hp w=2 1.25 [1.22, 1.37], seg-size
 * 64 hp w=1 1.16 [1.08, 1.36], hp w=2 1.19 [1.11, 1.22], with smaller
 * batches (the chase, docs/segmented.md: a consumer made faster catches up
 * with the producer and takes its jobs a few at a time).  With this bound
 * (max2/): seg-size 1 hp w=2 0.76 [0.71, 0.82], ckepoch w=2 0.76 [0.69,
 * 0.93], seg-size 2 hp w=2 0.90 [0.85, 0.99]; seg-size 8 and 64 inside the
 * noise (0.94 [0.78, 1.02] to 1.00 [0.92, 1.04]).
 */
#define SEG_TAIL_LOAD_MAX_SIZE 2u

static inline void seg_prefetch(const struct store *st, const struct seg *s)
{
	const char *b = (const char *)s;

	__builtin_prefetch(b, 1);
	__builtin_prefetch(&s->word, 1);
	__builtin_prefetch(&s->chead, 1);
	__builtin_prefetch(&s->gen, 1);
	__builtin_prefetch(b + st->ready_off, 1);
	__builtin_prefetch(b + st->jobs_off, 1);
}

/* The pool-only pair, which stays addressable while a segment is poisoned. */
#define SEG_POOL_OFF offsetof(struct seg, pool_next)
#define SEG_POOL_LEN (offsetof(struct seg, pool_gen) + sizeof(uint32_t) - SEG_POOL_OFF)

/*
 * The segment leaves circulation (pool or grave): poison it (see Poisoning
 * in the correctness argument), in two parts.  Relaxed stores: no thread may
 * read s now (the reclaimer said so); one that does anyway is the bug this
 * is here to expose, and the reuse is published by the link CAS.
 *
 * seg_poison_body: everything but word and next, WITHOUT st->mu, by the
 * thread whose free function got s (segmented_seg_free), or on a spare that
 * was never linked (store_unget).  The only reader a freed segment can still
 * have is the close walk, which takes no protection: it may be following a
 * segment that was retired and freed while it ran (see "segment supply").
 * The walk reads and writes word and next alone, so the body may change
 * under it; word and next change only in seg_poison_links, under st->mu,
 * which the walk holds throughout.  Why not all of it under the lock:
 * at seg-size 64 a flush poisoned 8 segments (24 KiB of jobs) with st->mu
 * held, at seg-size 1 64 of them, and a producer needing a refill waited
 * for it on the futex (perf, seg-size 1, w=2: lll_lock_wait in the producer,
 * lll_lock_wake in the workers).  The body's stores still happen-before the
 * segment's next incarnation: they precede the pooling under st->mu, and the
 * thread that takes it from the pool takes st->mu after.
 */
static void seg_poison_body(const struct store *st, struct seg *s)
{
	s->pool_gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	if (!st->poison) {
		/* poison=off: only what I2 needs, the stamps (4 bytes a slot), so
		 * that no stale stamp can match a later gen; not the jobs (48
		 * bytes a slot) nor the other fields.  The bitmap needs nothing
		 * (I2b). */
		for (uint32_t i = 0; !st->bitmap && i < st->size; i++)
			atomic_store_explicit(&s->ready[i], SEG_POISON32, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&s->magic, SEG_DEAD, memory_order_relaxed);
	atomic_store_explicit(&s->gen, SEG_POISON32, memory_order_relaxed);
	atomic_store_explicit(&s->chead, 0, memory_order_relaxed);
	atomic_store_explicit(&s->base, SEG_POISON64, memory_order_relaxed);
	/* the bitmap and rinv stay (I2b): a stale reader sees every slot ready */
	for (uint32_t i = 0; !st->bitmap && i < st->size; i++)
		atomic_store_explicit(&s->ready[i], SEG_POISON32, memory_order_relaxed);
	memset(s->jobs, SEG_POISON_BYTE, (size_t)st->size * sizeof(*s->jobs));
}

/* The rest, as the segment goes into the pool or the grave.  Caller holds
 * st->mu and ran seg_poison_body on s. */
static void seg_poison_links(const struct store *st, struct seg *s)
{
	if (!st->poison)
		return;
	atomic_store_explicit(&s->word, SEG_POISON64, memory_order_relaxed);
	atomic_store_explicit(&s->next, (struct seg *)(uintptr_t)SEG_POISON64, memory_order_relaxed);
#ifdef SEG_ASAN
	if (!st->type_stable) {
		ASAN_POISON_MEMORY_REGION(s, st->seg_bytes);
		ASAN_UNPOISON_MEMORY_REGION((char *)s + SEG_POOL_OFF, SEG_POOL_LEN);
	}
#endif
}

/* free() a segment that may sit poisoned in the pool. */
static void seg_free_mem(const struct store *st, struct seg *s)
{
#ifdef SEG_ASAN
	ASAN_UNPOISON_MEMORY_REGION(s, st->seg_bytes);
#else
	(void)st;
#endif
	free(s);
}

/* New incarnation of a segment the caller took out of the pool (or its
 * cache): in no live chain and in no list, so no other thread -- the close
 * walk included -- can reach it until it is linked (see "segment supply").
 * The stores are relaxed: the segment is published later by
 * the release CAS that links it.  Stamps and jobs keep their poison (I2). */
static void seg_reset(const struct store *st, struct seg *s)
{
	uint32_t g;

#ifdef SEG_ASAN
	ASAN_UNPOISON_MEMORY_REGION(s, st->seg_bytes);
#else
	(void)st;
#endif
	g = s->pool_gen + 1;
	while (g == 0 || g == SEG_POISON32)
		g++;
	atomic_store_explicit(&s->gen, g, memory_order_relaxed);
	atomic_store_explicit(&s->rinv, s->pool_rinv, memory_order_relaxed); /* I2b */
	atomic_store_explicit(&s->magic, SEG_LIVE, memory_order_relaxed);
	atomic_store_explicit(&s->word, W_PACK(0, 0, g), memory_order_relaxed);
	atomic_store_explicit(&s->chead, 0, memory_order_relaxed);
	atomic_store_explicit(&s->next, NULL, memory_order_relaxed);
}

/* Room in the pool's array for every live segment (+1: the one being
 * born).  Caller holds st->mu, or is create. */
static bool store_reserve(struct store *st)
{
	size_t want = st->live + 1, cap;
	struct seg **v;

	if (st->freecap >= want)
		return true;
	cap = st->freecap ? st->freecap * 2 : 256;
	while (cap < want)
		cap *= 2;
	v = realloc(st->freev, cap * sizeof(*v));
	if (!v)
		return false;
	st->freev = v;
	st->freecap = cap;
	return true;
}

/* A birth: caller holds st->mu (or is create) and reserved its pool room. */
static void store_account_new(struct store *st, bool after_create)
{
	st->allocated++;
	st->live++;
	if (st->live > st->peak)
		st->peak = st->live;
	if (after_create)
		st->allocs++;
}

/* Put @s in the pool (or drop it past the cap).  Caller holds st->mu and
 * poisoned the body (seg_poison_body) before it took the lock. */
static void store_put_locked(struct store *st, struct seg *s)
{
	if (st->cap == 0 || st->nfree < st->cap) {
		seg_poison_links(st, s);
		st->freev[st->nfree++] = s; /* nfree < live <= freecap */
	} else if (st->type_stable) {
		seg_poison_links(st, s);
		s->pool_next = st->grave;
		st->grave = s;
	} else {
		free(s);
		st->live--;
	}
}

/*
 * The segment supply's fast path: a small cache per registered thread, so
 * that taking and returning segments costs no global lock in the common
 * case (seg-supply=alloc; bounded supply keeps every segment in the shared
 * pool, where a starving producer can find it).
 *  - cache: segments taken from the pool max at a time under one
 *    lock (their pointers only: the pool is an array), still poisoned;
 *    each is reset when this thread takes it, outside the lock, as is the
 *    one a refill hands out directly.
 *  - dfree: segments the reclaimer freed while this thread was inside a
 *    queue call (the free function runs there for hp and ck_epoch), linked
 *    through pool_next, their bodies poisoned at once (seg_poison_body, no
 *    lock); they are pooled max at a time under one lock, which poisons
 *    word and next, at offline, at a starved hint and at unregister.
 * Why no lock is needed where there is none.  A cached segment (or the one
 * a refill returns) came out of the pool, so it is in no live chain: resetting it concerns nobody until
 * the release CAS that links it (I6), which is also what the close walk
 * follows.  A dfree segment may still be under the close walk (it can be
 * retired and freed while the walk runs, since the walk takes no
 * protection), but the walk reads only word and next, and neither dfree
 * (pool_next) nor the body's poison (seg_poison_body) writes them; the
 * poisoning and pooling that change word and next take the mutex, as the
 * walk does.  The cache is per thread and the free
 * function runs synchronously inside this thread's own calls (tl_tcache is
 * set only around them), so neither list is ever shared.  Counts: reused,
 * retired and the free-function runs of the dfree path are folded into
 * the store's under the lock (at each refill or flush, every max
 * retires, and at unregister), so they are exact once every thread has
 * unregistered and at most max per thread behind while they run.
 */

/* The calling thread's cache while it is inside one of this backend's calls.
 * initial-exec: the library is built position-independent (meson's static
 * PIC default), where a plain __thread goes through __tls_get_addr on every
 * access, four times per job here; it is only ever linked into executables,
 * never dlopen()ed, so the fixed-offset model is valid (and ~2x faster per
 * job at p=1 w=1 under hp: measured 180 -> 33 ns). */
static __thread struct seg_tcache *tl_tcache __attribute__((tls_model("initial-exec")));

/* Pool this thread's freed segments and fold its counts.  Caller holds st->mu. */
static void tcache_flush_locked(struct seg_tcache *tc)
{
	struct store *st = tc->st;

	for (struct seg *s = tc->dfree, *n; s; s = n) {
		n = s->pool_next;
		store_put_locked(st, s);
	}
	tc->dfree = NULL;
	tc->ndfree = 0;
	st->reused += tc->reused;
	tc->reused = 0;
	/* relaxed: counts; destroy reads them under st->mu, after every
	 * thread's last fold (unregister).  nretired - nfreed may be negative:
	 * modular addition subtracts. */
	atomic_fetch_add_explicit(&st->retired, tc->nretired, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->outstanding, (uint64_t)tc->nretired - tc->nfreed,
				  memory_order_relaxed);
	tc->nretired = tc->nfreed = 0;
}

static void tcache_flush(struct seg_tcache *tc)
{
	if (!tc->ndfree && !tc->reused && !tc->nretired && !tc->nfreed)
		return;
	pthread_mutex_lock(&tc->st->mu);
	tcache_flush_locked(tc);
	pthread_mutex_unlock(&tc->st->mu);
}

/* Everything back to the pool (unregister). */
static void tcache_drain(struct seg_tcache *tc)
{
	pthread_mutex_lock(&tc->st->mu);
	tcache_flush_locked(tc);
	/* Cached segments are pool segments already (poisoned when they were
	 * pooled, or reset spares nothing ever saw): relink, do not re-poison. */
	for (unsigned i = 0; i < tc->ncache; i++) {
		struct store *st = tc->st;
		struct seg *s = tc->cache[i];

		if (st->cap == 0 || st->nfree < st->cap) {
			st->freev[st->nfree++] = s;
		} else if (st->type_stable) {
			s->pool_next = st->grave;
			st->grave = s;
		} else {
			seg_free_mem(st, s);
			st->live--;
		}
	}
	tc->ncache = 0;
	pthread_mutex_unlock(&tc->st->mu);
}

/* Take a reset segment: the thread's cache, else the pool (refilling the
 * cache in the same lock hold), else malloc one when @may_alloc. */
static struct seg *store_get(struct store *st, struct seg_tcache *tc, bool may_alloc)
{
	struct seg *s;

	if (tc && tc->on && tc->ncache) {
		s = tc->cache[--tc->ncache];
		/* The next one's lines were last written by whichever core
		 * poisoned it: start fetching them for the next take now. */
		if (tc->ncache) {
			const struct seg *nx = tc->cache[tc->ncache - 1];

			if (st->size <= SEG_PREFETCH_MAX_SIZE)
				seg_prefetch(st, nx);
			else
				__builtin_prefetch(nx, 1);
		}
		tc->reused++;
		seg_reset(st, s); /* outside the lock: see "segment supply" above */
		return s;
	}
	pthread_mutex_lock(&st->mu);
	if (tc && tc->on)
		tcache_flush_locked(tc); /* what this thread freed is supply too */
	if (st->nfree) {
		s = st->freev[--st->nfree];
		st->reused++;
		/* Refill: pointers only, read from the array (no segment is
		 * touched under the lock; each is reset when it is taken). */
		while (tc && tc->on && tc->ncache < tc->max && st->nfree)
			tc->cache[tc->ncache++] = st->freev[--st->nfree];
		pthread_mutex_unlock(&st->mu);
		seg_reset(st, s); /* out of the pool: ours alone, as a cached one */
		return s;
	}
	pthread_mutex_unlock(&st->mu);
	if (!may_alloc)
		return NULL;
	s = seg_alloc(st);
	if (!s)
		return NULL;
	pthread_mutex_lock(&st->mu);
	if (!store_reserve(st)) {
		pthread_mutex_unlock(&st->mu);
		free(s);
		return NULL;
	}
	store_account_new(st, true);
	pthread_mutex_unlock(&st->mu);
	return s;
}

/*
 * store_get for a registered thread: every segment a push may link -- fresh
 * from malloc, from the pool or from the thread's cache -- passes here, and
 * the reclaimer stamps it (on_alloc: ibr and he record its birth era) before
 * the release CAS that links it.  A spare taken, put back (store_unget) and
 * taken again is stamped again: a later birth is still before its link.
 */
static inline struct seg *seg_take(struct pb_queue *q, struct pb_qthread *t, bool may_alloc)
{
	struct seg *s = store_get(q->st, &t->tc, may_alloc);

	if (s)
		pb_reclaim_on_alloc(q->rc.ops, t->rt, &s->smr);
	return s;
}

/* A spare segment that was reset but never linked: back to the cache (it
 * needs no poisoning, nothing ever saw it), or to the pool. */
static void store_unget(struct store *st, struct seg_tcache *tc, struct seg *s)
{
	if (tc && tc->on && tc->ncache < tc->max) {
		tc->cache[tc->ncache++] = s;
		return;
	}
	seg_poison_body(st, s);
	pthread_mutex_lock(&st->mu);
	store_put_locked(st, s);
	pthread_mutex_unlock(&st->mu);
}

static void store_free_all(struct store *st)
{
	struct seg *s, *n;

	for (size_t i = 0; i < st->nfree; i++)
		seg_free_mem(st, st->freev[i]);
	free(st->freev); /* nothing is pooled after this (destroy, or create failed) */
	st->freev = NULL;
	st->nfree = st->freecap = 0;
	for (s = st->grave; s; s = n) {
		n = s->pool_next;
		seg_free_mem(st, s);
	}
	st->grave = NULL;
}

static void store_destroy(struct store *st)
{
	store_free_all(st);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/*
 * The free function handed to the reclaimer: back to the pool.  Thread-safe;
 * may run on any thread (inside retire, on liburcu's call_rcu thread, in the
 * domain's destroy, after the queue is gone).
 */
static void segmented_seg_free(struct pb_smr_node *node, void *ctx)
{
	struct store *st = ctx;
	struct seg *s = (struct seg *)node;
	struct seg_tcache *tc = tl_tcache;
	bool last;

	/* Retired, so FULL and every bit toggled once (I2b): the next
	 * incarnation's not-ready value is the opposite of this one's.  rinv
	 * is never written while the segment is out of circulation; pool_rinv
	 * is pool-only (no reader of the old incarnation looks at it). */
	s->pool_rinv = ~atomic_load_explicit(&s->rinv, memory_order_relaxed);
	/* Outside st->mu: see seg_poison_body (this is its free function). */
	seg_poison_body(st, s);
	if (tc && tc->on && tc->st == st) {
		/* Freed inside this thread's own queue call: its dfree list (see
		 * "segment supply").  The thread is registered, so the queue is
		 * alive (not dead) and this cannot be the last outstanding one
		 * that destroy waits for; relaxed as below. */
		s->pool_next = tc->dfree;
		tc->dfree = s;
		tc->nfreed++; /* folded into outstanding with the list */
		if (++tc->ndfree >= tc->max)
			tcache_flush(tc);
		return;
	}
	pthread_mutex_lock(&st->mu);
	/* relaxed: the decision below is made under st->mu, as is destroy's */
	last = atomic_fetch_sub_explicit(&st->outstanding, 1, memory_order_relaxed) == 1 && st->dead;
	if (st->dead) {
		free(s);
		st->live--;
	} else {
		store_put_locked(st, s);
	}
	pthread_mutex_unlock(&st->mu);
	if (last)
		store_destroy(st);
}

/* ---- checks and torture points ---------------------------------------------- */

#ifdef SEG_CHECKS
/*
 * A protected segment must be in circulation.  DEAD means the reclaimer let
 * it go back to the pool while this thread could still reach it: fatal under
 * a proven scheme; under limbo (not proven) it is reported once per process and
 * the pop goes on, so a test can see what a stale reader gets.  Relaxed: the
 * magic was written before s was published (acquire in protect).
 */
static void seg_check(struct pb_queue *q, struct seg *s, const char *where)
{
	static atomic_int reported;

	if (PB_LIKELY(atomic_load_explicit(&s->magic, memory_order_relaxed) == SEG_LIVE))
		return;
	if (q->rc.ops->flags & PB_RC_PROVEN) {
		pb_log("segmented: %s: protected segment %p is not live (magic %#x) under "
		       "reclaimer %s: reclaimed while held", where, (void *)s,
		       atomic_load_explicit(&s->magic, memory_order_relaxed), q->rc.ops->name);
		abort();
	}
	/* relaxed: only limits the messages */
	if (!atomic_exchange_explicit(&reported, 1, memory_order_relaxed))
		pb_log("segmented: %s: protected segment %p is DEAD under reclaimer %s "
		       "(stale reference; reported once)", where, (void *)s, q->rc.ops->name);
}
#define SEG_CHECK(q, s, where) seg_check((q), (s), (where))
#else
#define SEG_CHECK(q, s, where) ((void)0)
#endif

static unsigned seg_probe_flags(struct seg *s)
{
	/* relaxed: a report of what is there now, nothing is ordered by it */
	uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
	unsigned f = 0;

	if (atomic_load_explicit(&s->magic, memory_order_relaxed) != SEG_LIVE)
		f |= PB_TORTURE_DEAD;
	else if (W_STATE(w) & ST_DETACHED)
		f |= PB_TORTURE_DETACHED;
	return f;
}

/*
 * Torture point "segmented.pop.protected" (pb.h): the consumer holds the head
 * segment s protected and has read its gen and chead.  The test's hook may
 * stall here; then s is re-read and reported as "...resumed".  Only reached
 * when pb_torture_enabled is set (one relaxed load per pop_batch).
 */
__attribute__((noinline, cold)) static void seg_torture_point(struct seg *s, uint32_t gen)
{
	struct pb_torture_probe p = {"segmented.pop.protected", s, gen, seg_probe_flags(s)};

	if (!pb_torture_call(&p))
		return;
	p.where = "segmented.pop.protected.resumed";
	/* relaxed: see seg_probe_flags */
	p.gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	p.flags = seg_probe_flags(s);
	pb_torture_call(&p);
}

/* ---- create / destroy ---------------------------------------------------- */

static int segmented_create(const struct pb_optvals *opts, const struct pb_reclaim_inst *rc,
			    struct pb_queue **out)
{
	struct pb_queue *q;
	struct store *st;
	struct seg *first;
	int64_t count;

	if (!rc || !rc->ops)
		return -EINVAL;
	q = aligned_alloc(PB_CACHELINE, (sizeof(*q) + PB_CACHELINE - 1) & ~(size_t)(PB_CACHELINE - 1));
	st = calloc(1, sizeof(*st));
	if (!q || !st) {
		free(q);
		free(st);
		return -ENOMEM;
	}
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&st->mu, NULL);
	q->size = (uint32_t)pb_opt_get(opts, "seg-size");
	q->bounded = pb_opt_get(opts, "seg-supply") == SUPPLY_BOUNDED;
	q->retire_released = pb_opt_get(opts, "retire-order") == RETIRE_RELEASED;
	q->hold = (rc->ops->flags & PB_RC_HOLD) && pb_opt_get(opts, "hold") == HOLD_ON;
	q->rc = *rc;
	q->st = st;
	st->size = q->size;
	st->cap = (size_t)pb_opt_get(opts, "pool-cap");
	st->type_stable = (rc->ops->flags & PB_RC_TYPE_STABLE) != 0;
	st->poison = pb_opt_get(opts, "poison") == POISON_ON;
	st->bitmap = q->bitmap = pb_opt_get(opts, "readiness") == READY_BITMAP;
	q->drain_batch = pb_opt_get(opts, "drain") == DRAIN_BATCH;
	q->tail_load = q->size <= SEG_TAIL_LOAD_MAX_SIZE;
	q->section = (rc->ops->flags & PB_RC_SECTION) != 0;
	seg_layout(st);
	count = pb_opt_get(opts, "seg-count");
	/* bounded supply: at most every segment full at once */
	q->bound = q->bounded ? (uint64_t)count * q->size : PB_QUEUE_UNBOUNDED;

	for (int64_t i = 0; i < count; i++) {
		struct seg *s = store_reserve(st) ? seg_alloc(st) : NULL;

		if (!s) {
			store_free_all(st);
			pthread_mutex_destroy(&st->mu);
			free(st);
			free(q);
			return -ENOMEM;
		}
		store_account_new(st, false);
		/* No thread is registered yet: on_alloc(NULL) (ibr and he give
		 * birth era 0, which only widens the node's interval).  The first
		 * segment is linked below; the others are stamped again by
		 * seg_take when a push takes them. */
		pb_reclaim_on_alloc(rc->ops, NULL, &s->smr);
		st->freev[st->nfree++] = s;
	}
	/* The first segment comes from the pre-filled pool (not counted as reuse). */
	first = st->freev[--st->nfree];
	atomic_init(&q->head, first);
	atomic_init(&q->tail, first);
	*out = q;
	return 0;
}

static void segmented_destroy(struct pb_queue *q)
{
	struct store *st = q->st;
	struct seg *s, *n;
	bool last;

	/* The live chain was never retired: it is ours to free. */
	for (s = atomic_load_explicit(&q->head, memory_order_relaxed); s && s != SEG_SENTINEL; s = n) {
		n = atomic_load_explicit(&s->next, memory_order_relaxed);
		free(s);
	}
	pthread_mutex_lock(&st->mu);
	st->dead = true;
	store_free_all(st);
	last = atomic_load_explicit(&st->outstanding, memory_order_relaxed) == 0;
	pthread_mutex_unlock(&st->mu);
	if (last) {
		pthread_mutex_destroy(&st->mu);
		free(st);
	}
	free(q);
}

static int segmented_thread_register(struct pb_queue *q, struct pb_qthread **out)
{
	/* Cache-line aligned and padded: the handle is written on every
	 * operation (in_op, the holds, the supply cache), and two threads'
	 * handles sharing a line would bounce it between their cores. */
	const size_t sz = (sizeof(struct pb_qthread) + PB_CACHELINE - 1) & ~(size_t)(PB_CACHELINE - 1);
	struct pb_qthread *t = aligned_alloc(PB_CACHELINE, sz);
	int rc;

	if (!t)
		return -ENOMEM;
	memset(t, 0, sz);
	rc = q->rc.ops->thread_register(q->rc.dom, &t->rt);
	if (rc) {
		free(t);
		return rc;
	}
	t->hold = q->hold;
	t->tc.st = q->st;
	t->tc.on = !q->bounded; /* bounded: every segment stays where a starving producer finds it */
	t->tc.max = seg_tcache_max(q->size);
	*out = t;
	return 0;
}

static void segmented_thread_unregister(struct pb_queue *q, struct pb_qthread *t)
{
	struct seg_tcache *prev_tc = tl_tcache;

	tl_tcache = &t->tc;
	seg_drop_holds(q->rc.ops, t);
	q->rc.ops->thread_unregister(q->rc.dom, t->rt); /* may free into dfree */
	tl_tcache = prev_tc;
	tcache_drain(&t->tc);
	free(t);
}

/* ---- push ---------------------------------------------------------------- */

/* readiness=bitmap: write the jobs of the reserved run [r, r+k) and publish
 * them, one release fetch_xor per 64-bit word the run touches (I2b). */
static inline void seg_publish_bits(struct seg *s, uint32_t r, uint32_t k, const struct pb_job *jobs)
{
	for (uint32_t i = r, end = r + k; i < end;) {
		const uint32_t b = i & 63u;
		const uint32_t m = end - i < 64u - b ? end - i : 64u - b;
		const uint64_t mask = (m == 64u ? ~0ull : (1ull << m) - 1) << b;

		memcpy(&s->jobs[i], jobs, m * sizeof(*jobs));
		/* release: the job writes happen-before a consumer's acquire load
		 * that sees these bits toggled (I2b) */
		atomic_fetch_xor_explicit(&s->rbits[i >> 6], mask, memory_order_release);
		jobs += m;
		i += m;
	}
}

/* readiness=bitmap: the end of the ready run that starts at slot h, not past
 * lim (<= seg-size, so bits past seg-size are never looked at). */
static inline uint32_t seg_ready_end_bits(struct seg *s, uint32_t h, uint32_t lim)
{
	/* relaxed: written before s was published (acquire in protect) */
	const uint64_t inv = atomic_load_explicit(&s->rinv, memory_order_relaxed);
	uint32_t e = h;

	while (e < lim) {
		const uint32_t b = e & 63u;
		/* acquire: pairs with the producers' release fetch_xor */
		const uint64_t x = (atomic_load_explicit(&s->rbits[e >> 6], memory_order_acquire) ^ inv) >> b;
		/* ready bits are 1 in x; its top b bits are 0, so ~x != 0 when b > 0 */
		const uint32_t run = ~x ? (uint32_t)__builtin_ctzll(~x) : 64u;

		e += run;
		if (run < 64u - b)
			break;
	}
	return e < lim ? e : lim;
}

/* push and push_batch: jobs[0..n) in order; returns how many went in. */
static size_t segmented_push_batch(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *jobs,
				   size_t n, int *rcp)
{
	const struct pb_reclaim_ops *ro = q->rc.ops;
	struct pb_rthread *rt = t->rt;
	const uint32_t size = q->size;
	struct seg *spare = NULL;
	struct seg_tcache *prev_tc = tl_tcache;
	size_t done = 0;
	int ret;

	if (PB_UNLIKELY(n == 0)) {
		*rcp = PB_OK;
		return 0;
	}
	tl_tcache = &t->tc; /* segments freed inside this call go to its cache */
	seg_op_begin(ro, t);
	for (bool first = true;; first = false) {
		/* a held tail is still protected (see "Protection held across
		 * operations"); after the first round the tail moved: protect it */
		struct seg *s = first && t->htail ? t->htail
			: ro->protect(rt, SLOT_TAIL, (void *_Atomic *)&q->tail);
		struct seg *nxt;
		/* acquire: pairs with the link CAS / reset publication of s */
		uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);

		if (t->hold)
			t->htail = s;
		SEG_CHECK(q, s, "push");
		PB_DELAY("seg:protected");
		while (!(W_STATE(w) & ST_CLOSED)) {
			const uint32_t r = W_RES(w);
			/* the run: what is left of the batch, up to the segment's end (I1) */
			const uint32_t k = size - r < n - done ? size - r : (uint32_t)(n - done);
			const uint64_t nw = r + k == size
				? W_PACK(W_STATE(w) | ST_CLOSED | ST_FULL, 0, W_GEN(w))
				: w + (uint64_t)k * W_RES_STEP;

			/* relaxed: the CAS only has to make the run ours (atomicity
			 * of W); each job is published by the release store of its
			 * stamp, and s itself is protected. */
			if (atomic_compare_exchange_weak_explicit(&s->word, &w, nw, memory_order_relaxed,
								  memory_order_relaxed)) {
				PB_DELAY("seg:reserved");
				if (q->bitmap)
					seg_publish_bits(s, r, k, jobs + done);
				else
					for (uint32_t i = 0; i < k; i++) {
						s->jobs[r + i] = jobs[done + i];
						/* release: the job write happens-before a
						 * consumer's acquire load that sees this stamp
						 * (slot by slot, so consumers may start on the
						 * run's head at once) */
						atomic_store_explicit(&s->ready[r + i], W_GEN(w),
								      memory_order_release);
					}
				done += k;
				if (done == n) {
					ret = PB_OK;
					goto out;
				}
				w = nw; /* FULL now: the rest goes to the successor */
				break;
			}
		}
		if (!(W_STATE(w) & ST_FULL)) { /* closed short by close() */
			ret = PB_CLOSED;
			goto out;
		}
		/* acquire: pairs with the release CAS that linked the successor */
		nxt = atomic_load_explicit(&s->next, memory_order_acquire);
		if (nxt == NULL) {
			if (!spare)
				spare = seg_take(q, t, !q->bounded);
			if (!spare && q->bounded) {
				/* Ask the reclaimer for what it can free now, once
				 * (outside any operation: holds dropped). */
				seg_drop_holds(ro, t);
				pb_reclaim_barrier(ro, q->rc.dom, rt);
				spare = seg_take(q, t, false);
				if (!spare) {
					/* relaxed: a hint; missing it only delays reuse */
					if (!atomic_load_explicit(&q->starved, memory_order_relaxed))
						atomic_store_explicit(&q->starved, 1, memory_order_relaxed);
					tl_tcache = prev_tc;
					*rcp = PB_FULL;
					return done;
				}
				seg_op_begin(ro, t); /* holds dropped: the loop re-protects */
				continue;
			}
			if (!spare) {
				ret = PB_FULL; /* malloc failed */
				goto out;
			}
			atomic_store_explicit(&spare->base,
					      atomic_load_explicit(&s->base, memory_order_relaxed) + size,
					      memory_order_relaxed);
			/* release: publishes spare's reset; acquire on failure: we
			 * follow the winner's segment */
			if (atomic_compare_exchange_strong_explicit(&s->next, &nxt, spare,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				nxt = spare;
				spare = NULL;
			}
		}
		if (nxt == SEG_SENTINEL) {
			ret = PB_CLOSED;
			goto out;
		}
		{
			struct seg *exp = s;
			/* seq_cst: see the note on the Dekker pattern above */
			atomic_compare_exchange_strong(&q->tail, &exp, nxt);
		}
	}
out:
	seg_op_end(ro, t);
	if (spare)
		store_unget(q->st, &t->tc, spare);
	tl_tcache = prev_tc;
	*rcp = ret;
	return done;
}

/*
 * One job: the common case first, the batch loop for everything else.  The
 * fast path is the batch loop's first round cut to one slot, for the case
 * that decides nearly every push: the tail segment has room.  It is one
 * acquire load of W, one relaxed CAS reserving slot r without filling the
 * segment, the job copy and its release publication -- exactly what the
 * loop does for k = 1, so I1-I3 hold as argued there.  s is safe to read
 * because it is protected: held in SLOT_TAIL (hold=on, hp; see "Protection
 * held across operations"), or protected inside this call's own begin/end
 * (every other scheme, as the loop would).  Anything else -- nothing held
 * under a holding scheme, the segment CLOSED, this push would fill it (FULL
 * and a successor to link), a lost CAS -- goes to segmented_push_batch,
 * which starts over: nothing was reserved, so nothing needs undoing.  The
 * fast path frees nothing and allocates nothing, so it sets no tl_tcache
 * (a free function that runs in end() anyway takes the locked path).
 * Measured under callgrind (p=1 w=1, seg-size 64, release build;
 * scripts/profile.py): the batch loop ran about 120 instructions per
 * single-job push under hp and 130 under ckepoch.
 */
static inline bool seg_push1(struct pb_queue *q, struct seg *s, const struct pb_job *job)
{
	/* acquire: as in the loop (pairs with the link CAS / reset of s) */
	uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
	const uint32_t r = W_RES(w);

	/* r + 1 < size: room, and this push does not fill s (the filling push
	 * sets FULL and may link: the loop's job) */
	if ((W_STATE(w) & ST_CLOSED) || r + 1 >= q->size ||
	    /* relaxed: see the reservation CAS in the loop */
	    !atomic_compare_exchange_strong_explicit(&s->word, &w, w + W_RES_STEP,
						     memory_order_relaxed, memory_order_relaxed))
		return false;
	SEG_CHECK(q, s, "push");
	PB_DELAY("seg:reserved");
	if (q->bitmap) {
		seg_publish_bits(s, r, 1, job);
	} else {
		s->jobs[r] = *job;
		/* release: as in the loop */
		atomic_store_explicit(&s->ready[r], W_GEN(w), memory_order_release);
	}
	return true;
}

static int segmented_push(struct pb_queue *q, struct pb_qthread *t, const struct pb_job *job)
{
	int rc;

	if (PB_LIKELY(t->htail != NULL)) {
		if (PB_LIKELY(seg_push1(q, t->htail, job)))
			return PB_OK;
	} else if (!t->hold) {
		const struct pb_reclaim_ops *ro = q->rc.ops;
		bool ok;

		ro->begin(t->rt);
		ok = seg_push1(q, ro->protect(t->rt, SLOT_TAIL, (void *_Atomic *)&q->tail), job);
		ro->end(t->rt);
		if (PB_LIKELY(ok))
			return PB_OK;
	}
	segmented_push_batch(q, t, job, 1, &rc);
	return rc;
}

/* ---- pop ----------------------------------------------------------------- */

static size_t segmented_pop_batch(struct pb_queue *q, struct pb_qthread *t, struct pb_job *out,
				  size_t max)
{
	const struct pb_reclaim_ops *ro = q->rc.ops;
	struct pb_rthread *rt = t->rt;
	const uint32_t size = q->size;
	/* relaxed: set by a test before its threads start (pb.h) */
	const int torture = atomic_load_explicit(&pb_torture_enabled, memory_order_relaxed);
	struct seg_tcache *prev_tc = tl_tcache;
	size_t n = 0;

	if (max == 0)
		return 0;
	tl_tcache = &t->tc; /* segments freed inside this call go to its cache */
	seg_op_begin(ro, t);
	for (bool first = true;; first = false) {
		/* a held head is still protected (see "Protection held across
		 * operations"); a detached one makes the head CAS below fail */
		struct seg *s = first && t->hhead ? t->hhead
			: ro->protect(rt, SLOT_HEAD, (void *_Atomic *)&q->head);
		/* relaxed: gen was written before s was published (acquire in protect) */
		uint32_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
		/* relaxed: a stale h only makes the claim CAS below fail */
		uint32_t h = atomic_load_explicit(&s->chead, memory_order_relaxed);
		uint32_t lim = (size - h) > max - n ? h + (uint32_t)(max - n) : size;
		uint32_t e = h;
		uint64_t w;
		struct seg *nxt, *exp;

		if (t->hold)
			t->hhead = s;
		SEG_CHECK(q, s, "pop");
		if (PB_UNLIKELY(torture))
			seg_torture_point(s, gen);
		if (q->bitmap)
			e = seg_ready_end_bits(s, h, lim);
		else
			/* acquire: pairs with the producer's release of the stamp */
			while (e < lim && atomic_load_explicit(&s->ready[e], memory_order_acquire) == gen)
				e++;
		if (e > h) {
			PB_DELAY("seg:protected");
			/* relaxed: the run was already acquired above; the CAS only
			 * has to make it ours */
			if (!atomic_compare_exchange_strong_explicit(&s->chead, &h, e, memory_order_relaxed,
								     memory_order_relaxed))
				continue;
			memcpy(out + n, &s->jobs[h], (e - h) * sizeof(*out));
			n += e - h;
			/*
			 * drain=batch: a claim that took s whole (from slot 0 to
			 * its end) with room left in the batch goes round again,
			 * where s is found used up and detached, exactly as the
			 * next call would find it, and the claim continues in its
			 * successor.  Nothing new is argued: every round is a
			 * whole claim under its own protect (I3, I6), and the
			 * detach path already loops (I4, I5).  The claims of one
			 * call follow the chain in order, so per-producer FIFO
			 * holds inside the batch (out[] keeps claim order), and
			 * the copies are out of s before it is retired.
			 * Why only a whole segment (h == 0): then the producers
			 * were at least a segment ahead, and the successor is
			 * likely filled already.  A claim of s's tail means this
			 * worker is right behind them; crossing then starts on
			 * the successor's lines while they are being written (the
			 * chase, docs/segmented.md), and measured so: crossing on
			 * any used-up segment made hp at seg-size 64, w=1,
			 * --coalesce 64 1.25x slower (paired ratio, 95 % interval
			 * [1.13, 1.29]), against 1.00x [0.95, 1.04] with this
			 * rule (2-core VM, scripts/ab.py, 15 rounds; with the
			 * default batch of 64 a whole claim fills the batch, so
			 * at seg-size 64 this rule never crosses at all).  At
			 * seg-size 1 every claim is whole.  drain=segment stops
			 * here always, as the seed: at seg-size 1 every pop then
			 * returns one job.
			 */
			if (e < size || h != 0 || n == max || !q->drain_batch)
				break;
			continue;
		}
		/* acquire: FULL/CLOSED then the successor link */
		w = atomic_load_explicit(&s->word, memory_order_acquire);
		if (!(W_STATE(w) & ST_CLOSED) || h < seg_count(w, size))
			break; /* empty for now, or a reserved slot not yet published (I4) */
		nxt = atomic_load_explicit(&s->next, memory_order_acquire);
		if (nxt == NULL || nxt == SEG_SENTINEL)
			break;
		/*
		 * I5: tail leaves s before head does (seq_cst, see above).  At
		 * small seg-sizes (q->tail_load) only a tail still at s gets the
		 * helping CAS: a load that sees another segment is what the
		 * failed CAS would have been (a seq_cst read of tail), and tail
		 * cannot be back at s, since it only moves forward and s,
		 * protected, cannot be reused.  See SEG_TAIL_LOAD_MAX_SIZE for
		 * why only there.
		 */
		exp = s;
		if (!q->tail_load || atomic_load(&q->tail) == s)
			atomic_compare_exchange_strong(&q->tail, &exp, nxt);
		exp = s;
		if (atomic_compare_exchange_strong(&q->head, &exp, nxt)) {
			/* relaxed: informational; nothing is ordered by it.  A load
			 * and a store, not an RMW: s is FULL|CLOSED (it has a
			 * successor), so no producer CASes W any more, and the only
			 * other writer, close()'s fetch_or of CLOSED, sets a bit
			 * that is already set: nothing can be lost. */
			atomic_store_explicit(&s->word,
					      atomic_load_explicit(&s->word, memory_order_relaxed) |
						      (uint64_t)ST_DETACHED << 56,
					      memory_order_relaxed);
			/*
			 * The seed detaches while it still holds its reference on s
			 * and never recycles on that path (retire-order=seed: a
			 * reference-count scheme sees our own protection); with
			 * retire-order=released we drop it first.  Proven schemes
			 * accept either (retire is allowed inside begin/end).
			 */
			if (q->retire_released)
				seg_drop_holds(ro, t);
			PB_DELAY("seg:retire");
			if (t->tc.on) {
				/* Counted per thread, folded max at a time
				 * (tcache_flush_locked): two RMWs a segment less on
				 * the store's shared line.  outstanding only has to
				 * be exact at destroy, after every fold; a free that
				 * runs before the fold takes it below zero a while. */
				t->tc.nretired++;
			} else {
				/* relaxed: the reclaimer's hand-off orders it before
				 * the free function's decrement */
				atomic_fetch_add_explicit(&q->st->outstanding, 1, memory_order_relaxed);
				atomic_fetch_add_explicit(&q->st->retired, 1, memory_order_relaxed);
			}
			ro->retire(rt, &s->smr, segmented_seg_free, q->st);
			if (t->tc.nretired >= t->tc.max)
				tcache_flush(&t->tc);
			/*
			 * Under a section scheme (PB_RC_SECTION: epochs, RCU)
			 * the section goes on into the successor: one section
			 * for the whole pop, as for a batch claimed in one
			 * segment, not an end() and a begin() (ck_epoch's has
			 * a full fence) per segment crossed.  Still correct:
			 * the section protects everything this thread reaches
			 * until its end (the flag's contract), s included,
			 * which this thread no longer touches; s's grace period
			 * simply waits for that end.  The section stays short:
			 * a pop passes the segments it claims (at most max) and
			 * the used-up ones that other pops left attached, at
			 * most one per pop that stopped in one.  Other schemes
			 * protect by pointer
			 * (hp, he, limbo's references) and drop s's protection
			 * here.
			 */
			if (!q->retire_released && !q->section)
				seg_drop_holds(ro, t);
			seg_op_begin(ro, t);
		}
	}
	seg_op_end(ro, t);
	/* relaxed: a hint (see starved) */
	if (n == 0 && q->bounded && atomic_load_explicit(&q->starved, memory_order_relaxed)) {
		atomic_store_explicit(&q->starved, 0, memory_order_relaxed);
		seg_drop_holds(ro, t); /* the barrier runs outside any operation */
		pb_reclaim_barrier(ro, q->rc.dom, rt);
	}
	tl_tcache = prev_tc;
	return n;
}

/* ---- close and the optional hooks ------------------------------------------ */

static void segmented_close(struct pb_queue *q)
{
	struct store *st = q->st;
	struct seg *s;

	pthread_mutex_lock(&st->mu); /* nothing is freed or reset meanwhile */
	s = atomic_load(&q->tail);
	for (;;) {
		struct seg *nxt = NULL;

		atomic_fetch_or(&s->word, (uint64_t)ST_CLOSED << 56);
		if (atomic_compare_exchange_strong(&s->next, &nxt, SEG_SENTINEL) || nxt == SEG_SENTINEL)
			break;
		s = nxt;
	}
	pthread_mutex_unlock(&st->mu);
}

static void segmented_quiescent(struct pb_queue *q, struct pb_qthread *t)
{
	/* Holds survive a quiescent point when the scheme has nothing to do
	 * there (hp: a slot pins one segment, not a grace period). */
	if (q->rc.ops->quiescent) {
		struct seg_tcache *prev_tc = tl_tcache;

		tl_tcache = &t->tc; /* ck_epoch polls here: frees go to the cache */
		seg_drop_holds(q->rc.ops, t);
		q->rc.ops->quiescent(t->rt);
		tl_tcache = prev_tc;
	}
}

static void segmented_offline(struct pb_queue *q, struct pb_qthread *t)
{
	seg_drop_holds(q->rc.ops, t); /* a parked thread pins nothing */
	if (q->bounded) {
		/* Nor keeps retired segments that only it can free (a per-thread
		 * list: hp, ck_epoch, liburcu batches): with a bounded supply a
		 * producer may need them while we sleep.  This is the flush that
		 * the reclaimers' held_max declarations count on (segmented_check). */
		struct seg_tcache *prev_tc = tl_tcache;

		tl_tcache = &t->tc;
		pb_reclaim_barrier(q->rc.ops, q->rc.dom, t->rt);
		tl_tcache = prev_tc;
	}
	tcache_flush(&t->tc);         /* nor keeps freed segments from others */
	pb_reclaim_offline(q->rc.ops, t->rt);
}

static void segmented_online(struct pb_queue *q, struct pb_qthread *t)
{
	pb_reclaim_online(q->rc.ops, t->rt);
}

/* Approximate: pushed-so-far minus popped-so-far, from the tail's and head's
 * base indexes.  Under the pool mutex, so neither segment can be freed. */
static size_t segmented_size(struct pb_queue *q)
{
	struct store *st = q->st;
	struct seg *h, *t;
	uint64_t pushed, popped;

	pthread_mutex_lock(&st->mu);
	h = atomic_load(&q->head);
	t = atomic_load(&q->tail);
	pushed = atomic_load(&t->base) + seg_count(atomic_load(&t->word), q->size);
	popped = atomic_load(&h->base) + atomic_load(&h->chead);
	pthread_mutex_unlock(&st->mu);
	return pushed > popped ? (size_t)(pushed - popped) : 0;
}

static void segmented_stats(struct pb_queue *q, struct pb_queue_stats *out)
{
	struct store *st = q->st;

	pthread_mutex_lock(&st->mu);
	out->segs_allocated = st->allocated;
	out->segs_reused = st->reused;
	out->segs_live = st->live;
	out->segs_peak = st->peak;
	out->allocs = st->allocs;
	pthread_mutex_unlock(&st->mu);
	out->segs_retired = atomic_load_explicit(&st->retired, memory_order_relaxed);
	out->bound = q->bound;
}

/*
 * The least bounded supply that can make progress: 2 + held x threads.  The
 * chain needs a current segment and a successor to link when it fills (the
 * first is taken at create): with one segment the first push that fills it
 * can never go on, whatever the reclaimer.  Beyond that, retired segments
 * come back through the shortage flushes: a producer that finds the pool
 * empty runs the reclaimer's barrier and raises `starved`, which makes a
 * consumer run its own on its next empty pop, and with a bounded supply
 * every thread runs one before it parks (segmented_offline).  What a flush
 * cannot free is what an operation in progress protects (it ends), plus
 * what the reclaimer declares it may keep per thread through its flush
 * (pb_reclaim_held_max: hp 1, limbo its ring's share; none has no bound and
 * is refused).  Measured on the 2-core VM (seg-size 1, p=2 w=2): every proven
 * scheme finishes at exactly this minimum (tests/test_cli.sh) and at seg-count
 * 2; limbo loses segments (the seed's failure) and stalls once its losses
 * use the supply up, by design.
 */
static const char *segmented_check(const struct pb_optvals *opts, const struct pb_reclaim_ops *rc,
				   const struct pb_optvals *rcopts, unsigned producers, unsigned workers,
				   char *buf, size_t len)
{
	const unsigned threads = producers + workers; /* every one registers */
	const long long have = (long long)pb_opt_get(opts, "seg-count");
	unsigned held = 0;
	unsigned long long need;

	if (pb_opt_get(opts, "seg-supply") != SUPPLY_BOUNDED)
		return NULL;
	if (rc && rcopts)
		held = pb_reclaim_held_max(rc, rcopts, threads);
	if (held == PB_RC_HELD_UNBOUNDED) {
		snprintf(buf, len, "seg-supply bounded cannot make progress with reclaimer %s (it holds "
			 "retired segments without bound); use seg-supply alloc or another reclaimer",
			 rc->name);
		return buf;
	}
	/* the chain's current and next segment, plus what each thread's
	 * reclaimer record may keep that no barrier frees (held_max) */
	need = 2ull + (unsigned long long)held * threads;
	if ((unsigned long long)have < need) {
		snprintf(buf, len, "seg-supply bounded needs seg-count >= %llu for %s with %u threads "
			 "(2 + %u held back per thread), got %lld", need, rc ? rc->name : "-", threads,
			 held, have);
		return buf;
	}
	return NULL;
}

static void segmented_reclaim_stats(struct pb_queue *q, struct pb_reclaim_stats *out)
{
	pb_reclaim_get_stats(q->rc.ops, q->rc.dom, out);
}

const struct pb_queue_ops pb_backend_segmented = {
	.abi = PB_ABI_VERSION,
	.name = "segmented",
	.summary = "the seed's segmented FIFO: CAS slot reservation, ready stamps, batch claims",
	.flags = PB_Q_RECLAIM | PB_Q_FIFO | PB_Q_NATIVE_BATCH,
	.options = segmented_options,
	.reclaim_excluded = NULL,
	.supported = NULL,
	.create = segmented_create,
	.destroy = segmented_destroy,
	.thread_register = segmented_thread_register,
	.thread_unregister = segmented_thread_unregister,
	.push = segmented_push,
	.pop_batch = segmented_pop_batch,
	.push_batch = segmented_push_batch,
	.check = segmented_check,
	.close = segmented_close,
	.quiescent = segmented_quiescent,
	.offline = segmented_offline,
	.online = segmented_online,
	.pop_wait = NULL,
	.size = segmented_size,
	.stats = segmented_stats,
	.reclaim_stats = segmented_reclaim_stats,
};
