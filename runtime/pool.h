/* A fixed pool of threads that run one step together. Workers spin briefly
 * between steps and then sleep; the barrier between kernel groups spins
 * (it is crossed every few microseconds while a step runs). */
#ifndef NNC_POOL_H
#define NNC_POOL_H

#include <stdint.h>

#include "nnc.h"

typedef struct nnc_pool nnc_pool;

int pool_create(int nthreads, nnc_pool **out, nnc_status *st);
void pool_destroy(nnc_pool *p);
int pool_size(const nnc_pool *p);

/* Run job(arg, tid, nthreads) on every thread (the caller is tid 0); returns
 * when all have finished. */
void pool_run(nnc_pool *p, void (*job)(void *arg, int tid, int nthreads), void *arg);

/* The barrier the kernels call between groups (ctx is the pool). */
void pool_barrier(void *pool);

/* Work for the pool's workers (not the caller) while they wait at a barrier
 * of the jobs run until it is set again: idle(ctx) does one small piece and
 * returns 1, or 0 when none is left. Set by the caller between jobs; NULL:
 * none. (A step on the pool gathers the next batch there: step.c.) */
void pool_set_idle(nnc_pool *p, int (*idle)(void *ctx), void *ctx);

/* Work counts since pool_create: jobs that woke the workers (pool_run with
 * more than one thread), barriers crossed by all threads. */
long pool_jobs(const nnc_pool *p);
long pool_barriers(const nnc_pool *p);

/* Where the threads wait (a measurement, off unless a trace is set): per
 * thread, the time spent waiting at each barrier of a job (numbered from 0
 * in the order the job crosses them), at the job's end (the caller waiting
 * for the workers), and between jobs (a worker waiting for the next job:
 * the caller's own work between steps). Times in nanoseconds, summed over
 * jobs; `yields` counts sched_yield calls. Threads from POOL_TRACE_THREADS
 * on are not recorded. A pool of one thread records its segments too (one
 * thread's work between the same barriers). Unset, it costs a pointer load per
 * barrier and per job. */
enum { POOL_TRACE_BARRIERS = 48, POOL_TRACE_THREADS = 4 };
typedef struct pool_trace {
  double barrier_ns[POOL_TRACE_THREADS][POOL_TRACE_BARRIERS];
  long barrier_waits[POOL_TRACE_THREADS][POOL_TRACE_BARRIERS];
  /* the thread's CPU time from the job's start or the previous barrier to
   * barrier b (b = the barriers crossed: to the job's end): its own work,
   * whatever else the machine runs */
  double work_ns[POOL_TRACE_THREADS][POOL_TRACE_BARRIERS + 1];
  /* of barrier_ns, the part after the last thread arrived: how late a
   * waiter leaves once it may (its spin's reaction; a yield that gave the
   * core away) */
  double release_ns[POOL_TRACE_THREADS][POOL_TRACE_BARRIERS];
  double wake_ns[POOL_TRACE_THREADS]; /* workers: from a job's publication to its start */
  double end_ns[POOL_TRACE_THREADS];  /* thread 0: waiting for the workers to finish */
  double idle_ns[POOL_TRACE_THREADS]; /* workers: waiting for the next job */
  long yields[POOL_TRACE_THREADS];
  /* the caller's CPU time between one job's end and the next job's start
   * (its own work between steps), the wall time of the jobs (pool_run) and
   * between them, and that end (internal) */
  double between_ns, job_wall_ns, between_wall_ns, last_end_cpu, last_end_wall;
  long jobs;
} pool_trace;

/* Start (trace zeroed by the caller) or stop (NULL) recording; only between jobs. */
void pool_set_trace(nnc_pool *p, pool_trace *trace);

/* Strip claims (NNC_STRIP_STEAL=1, compiler/codegen/emit_claims.c): a job's
 * barrier_ctx (the pool) starts with POOL_TAG (the drivers use claims only
 * where barrier_ctx has it: a step called with another context keeps the
 * static split), then from POOL_CLAIM_OFFSET bytes POOL_CLAIM_SLOTS slots of
 * POOL_CLAIM_WORDS 64-bit words, zeroed by pool_run before it publishes a
 * job (every thread idle: no reset race). A stealing matmul group gets its
 * slot: word t < POOL_CLAIM_THREADS packs the strips taken from the front
 * of thread t's static range (low half) and from its back (high half);
 * the last word counts the strips a thread took from another's range. */
enum {
  POOL_CLAIM_OFFSET = 64,
  POOL_CLAIM_SLOTS = 64,
  POOL_CLAIM_WORDS = 8,
  POOL_CLAIM_THREADS = POOL_CLAIM_WORDS - 1
};
#define POOL_TAG UINT64_C(0x6c6f6f7063636e6e) /* "nnccpool" */
/* Strips taken from another thread's range since pool_create (between jobs). */
long pool_steals(nnc_pool *p);
/* A test hook (NULL-safe, only between jobs): thread tid spins `spins`
 * pauses after each barrier it crosses (tid < 0: none), so the other
 * threads reach the next group's strips first and take its strips. */
void pool_set_lag(nnc_pool *p, int tid, long spins);

#endif
