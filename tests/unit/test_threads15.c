/* The pool's wait trace (issue 9, session 15: where two threads wait on
 * W4-wide). A hand-made job on three threads: every barrier of every job is
 * counted for every thread at its own index, a thread's busy loop of known
 * CPU time shows in its work segment, and an unset trace counts nothing;
 * threads past the trace's rows are left out; a pool of one thread traces
 * its segments.
 * Fits with the trace on and off, on 1, 2 and 3 threads (remainder batches,
 * a validation split, shuffle on, NNC_SPLIT_SMALL_STEPS=1 so the small model
 * does split) give the same bytes: the trace only watches. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/model.h"
#include "runtime/pool.h"
#include "testutil.h"

enum { JOB_BARRIERS = 3, JOBS = 5, BUSY_NS = 2000000 };

static double thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* three barriers; thread 1 burns BUSY_NS of its own CPU between the first
 * and the second (segment 1) */
static void job(void *arg, int tid, int nthreads) {
  (void)nthreads;
  nnc_pool *p = arg;
  pool_barrier(p);
  if (tid == 1) {
    double t0 = thread_cpu_ns();
    while (thread_cpu_ns() - t0 < BUSY_NS) {
    }
  }
  pool_barrier(p);
  pool_barrier(p);
}

START_TEST(trace_counts_a_hand_job) {
  nnc_pool *p;
  nnc_status st;
  ck_assert(pool_create(3, &p, &st) == NNC_OK);
  pool_trace *tr = calloc(1, sizeof *tr);
  pool_run(p, job, p); /* untraced: nothing recorded */
  long before = pool_barriers(p);
  pool_set_trace(p, tr);
  for (int j = 0; j < JOBS; j++) pool_run(p, job, p);
  pool_set_trace(p, NULL);
  pool_run(p, job, p); /* after: nothing recorded either */
  ck_assert_int_eq(tr->jobs, JOBS);
  ck_assert_int_eq(pool_barriers(p) - before, (JOBS + 1) * JOB_BARRIERS);
  for (int t = 0; t < 3; t++) {
    for (int b = 0; b < POOL_TRACE_BARRIERS; b++)
      ck_assert_msg(tr->barrier_waits[t][b] == (b < JOB_BARRIERS ? JOBS : 0),
                    "thread %d barrier %d: %ld crossings", t, b, tr->barrier_waits[t][b]);
    for (int b = JOB_BARRIERS + 1; b <= POOL_TRACE_BARRIERS; b++)
      ck_assert(tr->work_ns[t][b] == 0); /* segments 0..3 only */
    for (int b = 0; b <= JOB_BARRIERS; b++) ck_assert(tr->work_ns[t][b] >= 0);
  }
  /* thread 1's busy loop is its segment 1's work, not thread 0's or 2's */
  ck_assert_msg(tr->work_ns[1][1] >= (double)JOBS * BUSY_NS, "%g", tr->work_ns[1][1]);
  ck_assert_msg(tr->work_ns[0][1] < tr->work_ns[1][1] && tr->work_ns[2][1] < tr->work_ns[1][1],
                "%g %g %g", tr->work_ns[0][1], tr->work_ns[1][1], tr->work_ns[2][1]);
  ck_assert(tr->end_ns[1] == 0 && tr->idle_ns[0] == 0); /* only thread 0 ends, only workers idle */
  free(tr);
  pool_destroy(p);
}
END_TEST

/* A pool of one thread runs a job on the caller; traced, its barriers end
 * segments (one thread's work, to set against several threads'), with
 * nobody to wait for: no crossing is counted by the pool. */
START_TEST(trace_of_one_thread) {
  nnc_pool *p;
  nnc_status st;
  ck_assert(pool_create(1, &p, &st) == NNC_OK);
  pool_trace *tr = calloc(1, sizeof *tr);
  pool_set_trace(p, tr);
  for (int j = 0; j < JOBS; j++) pool_run(p, job, p);
  pool_set_trace(p, NULL);
  pool_run(p, job, p);
  ck_assert_int_eq(tr->jobs, JOBS);
  ck_assert_int_eq(pool_barriers(p), 0);
  for (int b = 0; b < POOL_TRACE_BARRIERS; b++) {
    ck_assert_int_eq(tr->barrier_waits[0][b], b < JOB_BARRIERS ? JOBS : 0);
    ck_assert(tr->barrier_ns[0][b] == 0);
  }
  ck_assert(tr->work_ns[0][JOB_BARRIERS] >= 0 && tr->work_ns[0][JOB_BARRIERS + 1] == 0);
  free(tr);
  pool_destroy(p);
}
END_TEST

/* Six threads: the trace has rows for four; threads 4 and 5 are not
 * recorded (they would share a row and race: ThreadSanitizer runs this). */
START_TEST(trace_skips_threads_past_its_table) {
  nnc_pool *p;
  nnc_status st;
  ck_assert(pool_create(6, &p, &st) == NNC_OK);
  pool_trace *tr = calloc(1, sizeof *tr);
  pool_set_trace(p, tr);
  for (int j = 0; j < JOBS; j++) pool_run(p, job, p);
  pool_set_trace(p, NULL);
  ck_assert_int_eq(tr->jobs, JOBS);
  for (int t = 0; t < POOL_TRACE_THREADS; t++)
    for (int b = 0; b < JOB_BARRIERS; b++) ck_assert_int_eq(tr->barrier_waits[t][b], JOBS);
  free(tr);
  pool_destroy(p);
}
END_TEST

/* Input(200) -> Dense(170, relu) -> Dense(3), sparse CE from logits, RMSprop. */
static nnc_model *small(int threads) {
  nnc_model *m = testutil_load(testutil_sequential(
      "200",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 170, 'activation': 'relu'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 3}}",
      "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01}}, "
      "'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': "
      "true}}, 'metrics': ['accuracy']}"));
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  return m;
}

START_TEST(fits_identical_with_the_trace_on_and_off) {
  enum { N = 103, IN = 200 }; /* d0: 34 000 multiply-adds a row: every step splits */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  float *x = malloc(sizeof(float) * N * IN), y[N];
  for (int i = 0; i < N * IN; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < N; i++) y[i] = (float)((i * 37) % 3);
  nnc_array xa = testutil_f32(x, N, IN), ya = testutil_f32(y, N, 1);
  ya.rank = 1;
  const char *names[4] = {"d0/kernel", "d0/bias", "d1/kernel", "d1/bias"};
  nnc_array ref[4];
  double ref_loss = 0, ref_val = 0;
  /* 1 thread (the reference); 2 threads untraced, traced; 3 threads traced */
  const int threads_of[4] = {1, 2, 2, 3}, traced[4] = {0, 0, 1, 1};
  for (int run = 0; run < 4; run++) {
    nnc_model *m = small(threads_of[run]);
    pool_trace *tr = calloc(1, sizeof *tr);
    long jobs0 = pool_jobs(m->pool), barriers0 = pool_barriers(m->pool);
    if (traced[run]) pool_set_trace(m->pool, tr);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 2, o.batch_size = 16, o.verbose = 0, o.validation_split = 0.2; /* 82 + 21 rows */
    nnc_history h;
    nnc_status st;
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
    pool_set_trace(m->pool, NULL);
    double loss = nnc_history_get(&h, "loss", 1), val = nnc_history_get(&h, "val_loss", 1);
    nnc_history_free(&h);
    if (threads_of[run] > 1) {
      long jobs = pool_jobs(m->pool) - jobs0, barriers = pool_barriers(m->pool) - barriers0;
      ck_assert_int_ge(jobs, 2 * 6); /* 6 training steps an epoch (5 of 16 rows, 1 of 2) */
      if (traced[run]) {             /* every job and every thread's every crossing */
        ck_assert_int_eq(tr->jobs, jobs);
        for (int t = 0; t < threads_of[run]; t++) {
          long crossed = 0;
          for (int b = 0; b < POOL_TRACE_BARRIERS; b++) crossed += tr->barrier_waits[t][b];
          ck_assert_int_eq(crossed, barriers);
        }
      } else {
        ck_assert_int_eq(tr->jobs, 0);
      }
    }
    for (int k = 0; k < 4; k++) {
      nnc_array w;
      ck_assert(nnc_model_get_weight(m, names[k], &w, &st) == NNC_OK);
      if (run == 0) {
        ref[k] = w;
        continue;
      }
      ck_assert_msg(!memcmp(w.data, ref[k].data, (size_t)nnc_array_count(&w) * sizeof(float)),
                    "%s differs: %d threads, trace %s", names[k], threads_of[run],
                    traced[run] ? "on" : "off");
      nnc_array_free(&w);
    }
    if (run == 0) {
      ref_loss = loss, ref_val = val;
    } else {
      ck_assert_msg(loss == ref_loss && val == ref_val, "run %d: %a %a vs %a %a", run, loss, val,
                    ref_loss, ref_val);
    }
    free(tr);
    nnc_model_free(m);
  }
  for (int k = 0; k < 4; k++) nnc_array_free(&ref[k]);
  free(x);
  unsetenv("NNC_SPLIT_SMALL_STEPS");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("threads15");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, trace_counts_a_hand_job);
  tcase_add_test(tc, trace_skips_threads_past_its_table);
  tcase_add_test(tc, trace_of_one_thread);
  tcase_add_test(tc, fits_identical_with_the_trace_on_and_off);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
