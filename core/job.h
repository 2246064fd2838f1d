/* SPDX-License-Identifier: MIT */
/*
 * The job: what producers submit and workers run.  Jobs are copied by value
 * into queue memory and copied out again before they run, so a job's
 * lifetime is independent of the segment / slot that carried it.
 */
#ifndef PB_JOB_H
#define PB_JOB_H

#include <stdatomic.h>
#include <stdint.h>

/* Status handed to a job's cleanup (besides the job's own return value). */
enum pb_job_status {
	PB_JOB_OK = 0,
	PB_JOB_CANCELLED = -10001, /* cancel flag set or deadline passed before it ran */
	PB_JOB_NOT_RUN = -10002,   /* still queued when the pool was destroyed */
};

/* Runs the job; returns 0 or an error code (counted, passed to the error handler). */
typedef int (*pb_job_fn)(void *arg);
/* Always called exactly once per submitted job: with the job's return value,
 * PB_JOB_CANCELLED or PB_JOB_NOT_RUN. */
typedef void (*pb_cleanup_fn)(void *arg, int status);

struct pb_job {
	pb_job_fn fn;
	void *arg;
	pb_cleanup_fn cleanup;      /* NULL: none */
	const atomic_int *cancel;   /* NULL: none; non-zero when checked = cancelled */
	uint64_t deadline_ns;       /* 0: none; pb_now_ns() past it = cancelled */
	uint64_t tag;               /* free for the submitter (the harness: submit time) */
};

#endif
