/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by reclamation schemes that keep per-thread records (hp,
 * ckepoch, urcu): owner-written counters, the pending sum over a list of
 * thread records, a sampled pending peak, and taking the stashes that
 * unregistered threads left behind.  Header-only; a scheme that counts under
 * a lock (limbo, none, skeleton) does not need it.
 */
#ifndef PB_SMR_STATS_H
#define PB_SMR_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Add @by to a counter that only its owner thread writes: a load and a store
 * instead of an RMW.  Release, so that a reader that sees a freed count (acquire)
 * also sees the retired count the owner wrote before it. */
static inline void pb_smr_cnt_add(_Atomic uint64_t *c, uint64_t by)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
			      memory_order_release);
}

/*
 * Sum the owner-written `retired` and `freed` counters over a NULL-terminated
 * list of thread records (any struct with those two fields and a `next`
 * link), into r and f (which must start at 0).  Each record's two counters are
 * read back to back, retired first (acquire, pairing with pb_smr_cnt_add): a
 * reader preempted mid-walk cannot inflate pending by what others retired
 * meanwhile; the error is biased low, by what is retired and freed within
 * those few instructions.
 */
#define PB_SMR_SUM_LIST(head, r, f)                                               \
	do {                                                                      \
		for (__typeof__(head) t_ = (head); t_; t_ = t_->next) {           \
			(r) += atomic_load_explicit(&t_->retired, memory_order_acquire); \
			(f) += atomic_load_explicit(&t_->freed, memory_order_acquire);   \
		}                                                                 \
	} while (0)

/* Raise *peak to at least @p.  Relaxed: a statistic, it orders nothing. */
static inline void pb_smr_peak_raise(_Atomic uint64_t *peak, uint64_t p)
{
	uint64_t old = atomic_load_explicit(peak, memory_order_relaxed);

	while (p > old && !atomic_compare_exchange_weak_explicit(peak, &old, p, memory_order_relaxed,
								 memory_order_relaxed))
		;
}

/*
 * Detach every record's `stash` (a ck_stack_entry_t chain of nodes still
 * pending when its thread unregistered) and push all of them onto @all (a
 * ck_stack_entry_t *).  The caller holds the lock that guards the stashes.
 */
#define PB_SMR_TAKE_STASHES(head, all)                                            \
	do {                                                                      \
		for (__typeof__(head) o_ = (head); o_; o_ = o_->next) {           \
			ck_stack_entry_t *s_ = o_->stash;                         \
                                                                                  \
			o_->stash = NULL;                                         \
			while (s_) {                                              \
				ck_stack_entry_t *n_ = s_->next;                  \
                                                                                  \
				s_->next = (all);                                 \
				(all) = s_;                                       \
				s_ = n_;                                          \
			}                                                         \
		}                                                                 \
	} while (0)

#endif
