/* The thread pool under stress: pools of 1..16 threads are created and
 * destroyed many times; every job must run exactly once on every tid, and
 * values exchanged across pool_barrier must be the ones written before it.
 * Run under ThreadSanitizer by tests/run.sh (build-tsan). */
#include <check.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "runtime/pool.h"
#include "testutil.h"

#define MAX_THREADS 16
#define PHASES 4

typedef struct stress_job {
  nnc_pool *pool;
  long round;
  int calls[MAX_THREADS];    /* each slot written by its own tid only */
  int nthreads[MAX_THREADS]; /* the thread count each tid was told */
  long in[MAX_THREADS];      /* written before a barrier, read by all after it */
  long sums[MAX_THREADS][PHASES];
} stress_job;

static long value(long round, int phase, int tid) {
  return round * 1000 + phase * 100 + tid;
}

static void stress(void *arg, int tid, int nthreads) {
  stress_job *j = arg;
  j->calls[tid]++;
  j->nthreads[tid] = nthreads;
  for (int phase = 0; phase < PHASES; phase++) {
    j->in[tid] = value(j->round, phase, tid);
    pool_barrier(j->pool);
    long sum = 0;
    for (int t = 0; t < nthreads; t++) sum += j->in[t];
    pool_barrier(j->pool); /* nobody overwrites in[] before everyone has read it */
    j->sums[tid][phase] = sum;
  }
}

/* One job on an n-thread pool, checked against sums computed here. */
static void run_and_check(nnc_pool *p, int n, long round) {
  stress_job j;
  memset(&j, 0, sizeof j);
  j.pool = p;
  j.round = round;
  pool_run(p, stress, &j);
  for (int t = 0; t < MAX_THREADS; t++) {
    ck_assert_msg(j.calls[t] == (t < n), "n=%d round %ld: tid %d ran %d times", n, round, t,
                  j.calls[t]);
    if (t >= n) continue;
    ck_assert_int_eq(j.nthreads[t], n);
    for (int phase = 0; phase < PHASES; phase++) {
      long want = 0;
      for (int u = 0; u < n; u++) want += value(round, phase, u);
      ck_assert_msg(j.sums[t][phase] == want, "n=%d round %ld tid %d phase %d: sum %ld, want %ld",
                    n, round, t, phase, j.sums[t][phase], want);
    }
  }
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Many short-lived pools: creation races with the workers' first reads, and
 * destroy races with workers that are still spinning. Bounded by a time
 * budget as well as a repetition count (the machine may be shared). */
START_TEST(create_run_destroy_many_pools) {
  double start = seconds();
  int pools = 0;
  for (int rep = 0; rep < 40 && (rep < 2 || seconds() - start < 20); rep++) {
    for (int n = 1; n <= MAX_THREADS; n++) {
      nnc_pool *p;
      nnc_status st;
      ck_assert_msg(pool_create(n, &p, &st) == NNC_OK, "%s", st.message);
      ck_assert_int_eq(pool_size(p), n);
      for (long round = 0; round < 3; round++) run_and_check(p, n, round);
      pool_destroy(p);
      pools++;
    }
  }
  ck_assert_int_ge(pools, 2 * MAX_THREADS);
}
END_TEST

/* Destroying a pool whose workers never ran a job. */
START_TEST(destroy_without_running) {
  for (int rep = 0; rep < 20; rep++)
    for (int n = 1; n <= MAX_THREADS; n++) {
      nnc_pool *p;
      nnc_status st;
      ck_assert_msg(pool_create(n, &p, &st) == NNC_OK, "%s", st.message);
      pool_destroy(p);
    }
}
END_TEST

/* Workers that have gone to sleep (after spinning) wake up for the next job
 * and for destroy. */
START_TEST(sleeping_workers_wake) {
  int sizes[] = {2, 4, 16};
  for (int i = 0; i < 3; i++) {
    nnc_pool *p;
    nnc_status st;
    ck_assert_msg(pool_create(sizes[i], &p, &st) == NNC_OK, "%s", st.message);
    for (long round = 0; round < 2; round++) {
      run_and_check(p, sizes[i], round);
      nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
    }
    pool_destroy(p);
  }
}
END_TEST

START_TEST(many_jobs_on_one_pool) {
  nnc_pool *p;
  nnc_status st;
  ck_assert_msg(pool_create(4, &p, &st) == NNC_OK, "%s", st.message);
  for (long round = 0; round < 2000; round++) run_and_check(p, 4, round);
  pool_destroy(p);
}
END_TEST

/* pool_set_idle: a worker waiting at a barrier does the idle work, piece by
 * piece, until none is left; the caller (tid 0) never does. Thread 0
 * reaches the barrier only once all the pieces are done (or after 10 s),
 * so the workers can only have done them waiting there. */
typedef struct idle_job {
  nnc_pool *pool;
  _Atomic int pieces, left, by_caller;
} idle_job;

static _Thread_local int idle_tid;

static int idle_piece(void *ctx) {
  idle_job *j = ctx;
  if (atomic_fetch_sub(&j->left, 1) <= 0) return 0;
  atomic_fetch_add(&j->pieces, 1);
  if (idle_tid == 0) atomic_fetch_add(&j->by_caller, 1);
  return 1;
}

static void idle_run(void *arg, int tid, int nthreads) {
  (void)nthreads;
  idle_job *j = arg;
  idle_tid = tid;
  for (int ms = 0; tid == 0 && atomic_load(&j->pieces) < 50 && ms < 10000; ms++)
    nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
  pool_barrier(j->pool);
}

START_TEST(waiting_workers_do_the_idle_work) {
  nnc_status st;
  for (int n = 2; n <= 4; n++) {
    idle_job j = {0};
    ck_assert_int_eq(pool_create(n, &j.pool, &st), NNC_OK);
    atomic_store(&j.left, 50);
    pool_set_idle(j.pool, idle_piece, &j);
    pool_run(j.pool, idle_run, &j);
    ck_assert_int_eq(atomic_load(&j.pieces), 50); /* all of it, each piece once */
    ck_assert_int_eq(atomic_load(&j.by_caller), 0);
    pool_set_idle(j.pool, NULL, NULL); /* none: the next job's waits only wait */
    atomic_store(&j.left, 50);
    pool_run(j.pool, idle_run, &j);
    ck_assert_int_eq(atomic_load(&j.pieces), 50);
    pool_destroy(j.pool);
  }
}
END_TEST

START_TEST(bad_sizes_are_refused) {
  nnc_pool *p = (nnc_pool *)&p;
  nnc_status st;
  ck_assert_int_eq(pool_create(0, &p, &st), NNC_ERR_ARG);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(pool_create(257, &p, &st), NNC_ERR_ARG);
  ck_assert_int_eq(pool_size(NULL), 1);
  pool_barrier(NULL); /* no pool: a no-op */
  pool_destroy(NULL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pool");
  TCase *tc = tcase_create("stress");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, create_run_destroy_many_pools);
  tcase_add_test(tc, destroy_without_running);
  tcase_add_test(tc, sleeping_workers_wake);
  tcase_add_test(tc, many_jobs_on_one_pool);
  tcase_add_test(tc, bad_sizes_are_refused);
  tcase_add_test(tc, waiting_workers_do_the_idle_work);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
