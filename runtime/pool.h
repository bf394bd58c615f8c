/* A fixed pool of threads that run one step together. Workers spin briefly
 * between steps and then sleep; the barrier between kernel groups spins
 * (it is crossed every few microseconds while a step runs). */
#ifndef NNC_POOL_H
#define NNC_POOL_H

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

/* Work counts since pool_create: jobs that woke the workers (pool_run with
 * more than one thread), barriers crossed by all threads. */
long pool_jobs(const nnc_pool *p);
long pool_barriers(const nnc_pool *p);

#endif
