#include "runtime/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "base/base.h"

#define SPINS_BEFORE_YIELD 64
#define SPINS_BEFORE_SLEEP 200000
#define POOL_STACK_BYTES ((size_t)8 << 20)

typedef struct worker {
  struct nnc_pool *pool;
  int tid;
} worker;

/* Publication rules (each one a happens-before edge ThreadSanitizer checks):
 * - n, workers[t] are written before pthread_create starts worker t;
 * - job and arg are written before the (seq_cst) increment of generation
 *   that a worker acquires before reading them;
 * - a worker counts itself in sleepers under the lock before it waits, and
 *   pool_run reads sleepers after the increment (both seq_cst): either the
 *   worker sees the new generation or pool_run broadcasts under the lock;
 * - a worker's writes in a job precede its release decrement of running,
 *   which pool_run acquires before it returns (and before the next job
 *   overwrites job and arg);
 * - quit is set under the lock the sleeping workers wait on. */
struct nnc_pool {
  /* first: the drivers know a pool by its tag, then find a group's claim
   * slot at barrier_ctx + POOL_CLAIM_OFFSET + slot */
  _Alignas(64) uint64_t tag;
  _Alignas(64) _Atomic uint64_t claims[POOL_CLAIM_SLOTS][POOL_CLAIM_WORDS];
  int n;       /* threads, the caller included */
  int started; /* workers started (threads[1..started]) */
  pthread_t *threads;
  worker *workers;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  atomic_uint generation; /* bumped once per job */
  atomic_int running;     /* workers still in the current job */
  atomic_int sleepers;    /* workers waiting on wake (changed under lock) */
  atomic_int quit;
  void (*job)(void *, int, int);
  void *arg;
  /* sense-reversing barrier */
  atomic_int arrived;
  atomic_int sense;
  /* work counts (tests assert them): jobs that woke the workers, barriers crossed */
  atomic_long jobs, barriers;
  _Atomic(pool_trace *) trace; /* set only between jobs (pool_set_trace) */
  /* traced: when the current job was published, when the last thread
   * arrived at the current barrier (written before the release that ends
   * the wait, read after it) */
  double published, last_arrival;
  long steals; /* summed from the claim slots before they are zeroed */
  /* pool_set_idle: written by the caller between jobs, read by the workers
   * during one (the job's publication orders them) */
  int (*idle)(void *);
  void *idle_ctx;
  int lag_tid; /* pool_set_lag */
  long lag_spins;
};

/* The trace's view of the running thread: its id in the pool and the
 * barriers it has crossed in the current job. */
static _Thread_local int trace_tid, trace_at;
static _Thread_local double trace_cpu0; /* the thread's CPU time at its segment's start */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The work segment that ends here: at barrier `at`, or the job's end. */
static void trace_work(pool_trace *trace, int at) {
  double t = cpu_ns();
  trace->work_ns[trace_tid][at] += t - trace_cpu0;
  trace_cpu0 = t;
}

static pool_trace *trace_of(nnc_pool *p) {
  return atomic_load_explicit(&p->trace, memory_order_relaxed);
}

/* The trace for the running thread: threads past the trace's table are
 * not recorded (they would share its last row and race). */
static pool_trace *trace_mine(nnc_pool *p) {
  return trace_tid < POOL_TRACE_THREADS ? trace_of(p) : NULL;
}

/* One wait of a spin loop: a pause (the spinning core yields its pipeline
 * and does not flood the line it polls), then the CPU to other threads once
 * the wait is long. */
static void relax(long spins, pool_trace *trace) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
  if (spins > SPINS_BEFORE_YIELD) {
    sched_yield();
    if (trace) trace->yields[trace_tid]++;
  }
}

/* pool_set_lag's delay for the running thread */
static void lag(const nnc_pool *p) {
  if (p->lag_tid != trace_tid) return;
  for (long i = 0; i < p->lag_spins; i++) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

_Static_assert(offsetof(struct nnc_pool, tag) == 0 &&
                   offsetof(struct nnc_pool, claims) == POOL_CLAIM_OFFSET,
               "the drivers' view of the pool (pool.h)");

static void *worker_main(void *p) {
  const worker *w = p;
  nnc_pool *pool = w->pool;
  unsigned seen = 0;
  trace_tid = w->tid;
  for (;;) {
    long spins = 0;
    unsigned gen;
    pool_trace *trace = trace_mine(pool);
    double idle0 = trace ? now_ns() : 0;
    while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
           !atomic_load(&pool->quit)) {
      if (++spins > SPINS_BEFORE_SLEEP) {
        /* seq_cst: pool_run either sees this sleeper or we see its generation */
        pthread_mutex_lock(&pool->lock);
        atomic_fetch_add(&pool->sleepers, 1);
        while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->quit))
          pthread_cond_wait(&pool->wake, &pool->lock);
        atomic_fetch_sub(&pool->sleepers, 1);
        pthread_mutex_unlock(&pool->lock);
      } else {
        relax(spins, NULL); /* the trace may be unset and freed meanwhile */
      }
    }
    if (atomic_load(&pool->quit)) break;
    seen = gen;
    pool_trace *now_trace = trace_mine(pool); /* set before this job was published */
    if (now_trace) {
      double t = now_ns();
      if (trace) now_trace->idle_ns[w->tid] += t - idle0;
      now_trace->wake_ns[w->tid] += t - pool->published;
    }
    trace_at = 0;
    if (now_trace) trace_cpu0 = cpu_ns();
    lag(pool);
    pool->job(pool->arg, w->tid, pool->n);
    if (now_trace)
      trace_work(now_trace, trace_at < POOL_TRACE_BARRIERS ? trace_at : POOL_TRACE_BARRIERS);
    atomic_fetch_sub_explicit(&pool->running, 1, memory_order_release);
  }
  return NULL;
}

int pool_create(int nthreads, nnc_pool **out, nnc_status *st) {
  *out = NULL;
  if (nthreads < 1 || nthreads > 256)
    return nnc_fail(st, NNC_ERR_ARG, "threads must be in [1, 256], got %d", nthreads);
  nnc_pool *p = nnc_calloc(1, sizeof *p, st);
  if (!p) return st->code;
  p->tag = POOL_TAG;
  p->n = nthreads;
  p->lag_tid = -1;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  p->threads = nnc_calloc((size_t)nthreads, sizeof *p->threads, st);
  p->workers = p->threads ? nnc_calloc((size_t)nthreads, sizeof *p->workers, st) : NULL;
  if (!p->workers) {
    pool_destroy(p);
    return st->code;
  }
  /* every worker's identity is complete before any thread starts */
  for (int t = 0; t < nthreads; t++) p->workers[t] = (worker){p, t};
  /* at least POOL_STACK_BYTES whatever the process's default (a small
   * `ulimit -s`): the kernels' own buffers are in the scratch region since
   * session 18 (test_stack18 runs fits on a 512 KiB caller), this is margin
   * for the runtime's frames, and costs address space only */
  pthread_attr_t attr;
  size_t stack = 0;
  int have_attr = pthread_attr_init(&attr) == 0;
  if (have_attr && pthread_attr_getstacksize(&attr, &stack) == 0 && stack < POOL_STACK_BYTES)
    pthread_attr_setstacksize(&attr, POOL_STACK_BYTES);
  for (int t = 1; t < nthreads; t++) {
    if (pthread_create(&p->threads[t], have_attr ? &attr : NULL, worker_main, &p->workers[t]) !=
        0) {
      if (have_attr) pthread_attr_destroy(&attr);
      pool_destroy(p);
      return nnc_fail(st, NNC_ERR_NOMEM, "cannot start thread %d of %d", t, nthreads);
    }
    p->started = t;
  }
  if (have_attr) pthread_attr_destroy(&attr);
  *out = p;
  return NNC_OK;
}

void pool_destroy(nnc_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int t = 1; t <= p->started; t++) pthread_join(p->threads[t], NULL);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  free(p->workers);
  free(p->threads);
  free(p);
}

int pool_size(const nnc_pool *p) {
  return p ? p->n : 1;
}

/* The last job's steals counted, every claim word zeroed (between jobs:
 * the generation's increment publishes the zeros to the workers). */
static void claims_reset(nnc_pool *p) {
  for (int s = 0; s < POOL_CLAIM_SLOTS; s++) {
    _Atomic uint64_t *w = p->claims[s];
    p->steals += (long)atomic_load_explicit(&w[POOL_CLAIM_THREADS], memory_order_relaxed);
    for (int t = 0; t < POOL_CLAIM_WORDS; t++)
      atomic_store_explicit(&w[t], 0, memory_order_relaxed);
  }
}

long pool_steals(nnc_pool *p) {
  if (!p) return 0;
  claims_reset(p);
  return p->steals;
}

void pool_set_lag(nnc_pool *p, int tid, long spins) {
  if (!p) return;
  p->lag_tid = tid;
  p->lag_spins = spins;
}

void pool_run(nnc_pool *p, void (*job)(void *, int, int), void *arg) {
  pool_trace *trace = trace_of(p);
  if (p->n == 1 && !trace) {
    job(arg, 0, 1);
    return;
  }
  double start = 0;
  trace_tid = 0, trace_at = 0;
  if (trace) { /* the caller's time since the last job: its own work between steps */
    trace_cpu0 = cpu_ns();
    start = p->published = now_ns();
    if (trace->last_end_cpu > 0) {
      trace->between_ns += trace_cpu0 - trace->last_end_cpu;
      trace->between_wall_ns += start - trace->last_end_wall;
    }
  }
  if (p->n == 1) { /* traced: one thread's segments, to set against several threads' */
    job(arg, 0, 1);
    trace_work(trace, trace_at < POOL_TRACE_BARRIERS ? trace_at : POOL_TRACE_BARRIERS);
    trace->last_end_wall = now_ns();
    trace->last_end_cpu = cpu_ns();
    trace->job_wall_ns += trace->last_end_wall - start;
    trace->jobs++;
    return;
  }
  p->job = job;
  p->arg = arg;
  claims_reset(p);
  atomic_fetch_add_explicit(&p->jobs, 1, memory_order_relaxed);
  atomic_store(&p->running, p->n - 1);
  atomic_fetch_add(&p->generation, 1);
  /* spinning workers see the generation; only sleeping ones need the
   * lock and a broadcast (a system call) */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
  }
  lag(p);
  job(arg, 0, p->n);
  if (trace) trace_work(trace, trace_at < POOL_TRACE_BARRIERS ? trace_at : POOL_TRACE_BARRIERS);
  long spins = 0;
  double t0 = trace ? now_ns() : 0;
  while (atomic_load_explicit(&p->running, memory_order_acquire) > 0) relax(++spins, trace);
  if (trace) {
    trace->last_end_wall = now_ns();
    trace->last_end_cpu = cpu_ns();
    trace->end_ns[0] += trace->last_end_wall - t0;
    trace->job_wall_ns += trace->last_end_wall - start;
    trace->jobs++;
  }
}

void pool_barrier(void *pool) {
  nnc_pool *p = pool;
  if (!p || (p->n == 1 && !trace_of(p))) return;
  int my_sense = !atomic_load_explicit(&p->sense, memory_order_relaxed);
  pool_trace *trace = trace_of(p), *mine = trace_mine(p);
  int at = mine ? trace_at++ : 0;
  if (at >= POOL_TRACE_BARRIERS) at = POOL_TRACE_BARRIERS - 1;
  if (mine) {
    mine->barrier_waits[trace_tid][at]++;
    trace_work(mine, at);
  }
  if (p->n == 1) return; /* traced, alone: a segment ends here, nobody to wait for */
  if (atomic_fetch_add_explicit(&p->arrived, 1, memory_order_acq_rel) == p->n - 1) {
    atomic_fetch_add_explicit(&p->barriers, 1, memory_order_relaxed);
    if (trace) p->last_arrival = now_ns(); /* whichever thread arrives last */
    atomic_store_explicit(&p->arrived, 0, memory_order_relaxed);
    atomic_store_explicit(&p->sense, my_sense, memory_order_release);
    lag(p);
    return;
  }
  long spins = 0;
  double t0 = mine ? now_ns() : 0;
  int (*idle)(void *) = trace_tid ? p->idle : NULL; /* the caller's path stays short */
  while (atomic_load_explicit(&p->sense, memory_order_acquire) != my_sense)
    if (!idle || !idle(p->idle_ctx)) idle = NULL, relax(++spins, mine);
  if (mine) {
    double t = now_ns();
    mine->barrier_ns[trace_tid][at] += t - t0;
    mine->release_ns[trace_tid][at] += t - p->last_arrival;
    trace_cpu0 = cpu_ns(); /* the spin is not work */
  }
  lag(p);
}

void pool_set_idle(nnc_pool *p, int (*idle)(void *ctx), void *ctx) {
  if (!p) return;
  p->idle = idle;
  p->idle_ctx = ctx;
}

void pool_set_trace(nnc_pool *p, pool_trace *trace) {
  if (p) atomic_store_explicit(&p->trace, trace, memory_order_relaxed);
}

long pool_jobs(const nnc_pool *p) {
  return p ? atomic_load_explicit(&((nnc_pool *)p)->jobs, memory_order_relaxed) : 0;
}

long pool_barriers(const nnc_pool *p) {
  return p ? atomic_load_explicit(&((nnc_pool *)p)->barriers, memory_order_relaxed) : 0;
}
