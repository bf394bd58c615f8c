/* Threads that scale and tiny steps that pay for no pool (issue 9). Counts,
 * not times: a tiny model's step on a two-thread model wakes no worker and
 * crosses no barrier; a matmul's rows are split between threads in whole
 * GEMM tiles; a GEMM-bound step gives bit-identical weights on 1, 2 and 3
 * threads; train_on_batch still computes what SGD on MSE computes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/codegen/codegen.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "testutil.h"

static const char *sgd_mse = "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
                             "0.1}}, 'loss': 'mse'}";

/* W2: Dense(1) linear regression on n samples */
static nnc_model *linreg(int threads) {
  nnc_model *m = testutil_load(testutil_sequential(
      "1", "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}", sgd_mse));
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  return m;
}

static float weight(nnc_model *m, const char *name) {
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
  float v = ((float *)a.data)[0];
  nnc_array_free(&a);
  return v;
}

/* A tiny model on a two-thread pool: every group is below the split
 * threshold, so the step runs on the caller and the workers never wake. */
START_TEST(tiny_step_wakes_no_worker) {
  enum { N = 50 };
  float x[N], y[N];
  for (int i = 0; i < N; i++) x[i] = (float)i / N, y[i] = 0.6f * x[i] + 0.8f;
  nnc_array xa = testutil_f32(x, N, 1), ya = testutil_f32(y, N, 1);
  nnc_model *one = linreg(1), *two = linreg(2);
  nnc_status st;
  nnc_logs l1 = {0}, l2 = {0};
  for (int s = 0; s < 5; s++) {
    ck_assert_msg(nnc_model_train_on_batch(one, &xa, &ya, &l1, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(nnc_model_train_on_batch(two, &xa, &ya, &l2, &st) == NNC_OK, "%s", st.message);
    ck_assert(nnc_model_test_on_batch(two, &xa, &ya, &l2, &st) == NNC_OK);
  }
  ck_assert_ptr_nonnull(two->pool);
  ck_assert_int_gt(two->t->entries[NNC_ENTRY_TRAIN].parallel_rows, N);
  ck_assert_int_eq(pool_jobs(two->pool), 0);
  ck_assert_int_eq(pool_barriers(two->pool), 0);
  ck_assert(weight(one, "d/kernel") == weight(two, "d/kernel"));
  ck_assert(weight(one, "d/bias") == weight(two, "d/bias"));
  nnc_logs_free(&l1);
  nnc_logs_free(&l2);
  nnc_model_free(one);
  nnc_model_free(two);
}
END_TEST

/* parallel_rows is the exact boundary: at it the pool runs the step, one
 * row fewer it does not (a Dense 300 -> 40, work rows x 12000). */
START_TEST(parallel_rows_is_the_boundary) {
  nnc_model *m = testutil_load(testutil_sequential(
      "300", "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 40, 'use_bias': false}}",
      NULL));
  nnc_status st;
  ck_assert(nnc_model_set_threads(m, 2, &st) == NNC_OK);
  int64_t p = m->t->entries[NNC_ENTRY_PREDICT].parallel_rows;
  /* ceil(2^18 / (300 x 40)): the driver's test for a matmul (MATMUL_SERIAL_WORK) */
  ck_assert_int_eq(p, 22);
  float *x = calloc(300 * 23, sizeof *x);
  nnc_array xa = testutil_f32(x, p - 1, 300), out;
  ck_assert(nnc_model_predict(m, &xa, 64, &out, &st) == NNC_OK);
  nnc_array_free(&out);
  ck_assert_int_eq(pool_jobs(m->pool), 0);
  xa.shape[0] = p;
  ck_assert(nnc_model_predict(m, &xa, 64, &out, &st) == NNC_OK);
  nnc_array_free(&out);
  ck_assert_int_eq(pool_jobs(m->pool), 1);
  free(x);
  nnc_model_free(m);
}
END_TEST

static void no_barrier(void *ctx) {
  (void)ctx;
}

/* Thread t of n alone runs the predict step of Dense 300 -> 40 over 128
 * rows: the output rows it writes are its share. Shares are whole GEMM
 * tiles (not 64 + 64, which leaves short tiles to every thread). */
static void rows_written(nnc_model *m, int tid, int n, int64_t *first, int64_t *end) {
  enum { R = 128, IN = 300, OUT = 40 };
  nnc_status st;
  ck_assert(model_reserve(m, R, &st) == NNC_OK);
  float *x = malloc(sizeof(float) * R * IN), *y = malloc(sizeof(float) * R * OUT);
  for (int i = 0; i < R * IN; i++) x[i] = 1.0f;
  for (int i = 0; i < R * OUT; i++) y[i] = NAN;
  testutil_predict_step(m, x, y, R, tid, n, NULL);
  *first = -1, *end = -1;
  for (int r = 0; r < R; r++) {
    int written = !isnan(y[r * OUT]);
    for (int j = 1; j < OUT; j++) ck_assert_int_eq(!isnan(y[r * OUT + j]), written);
    if (written && *first < 0) *first = r;
    if (written) *end = r + 1;
  }
  for (int r = *first; r < *end; r++) ck_assert(!isnan(y[r * OUT])); /* contiguous */
  free(x);
  free(y);
}

START_TEST(matmul_split_in_whole_tiles) {
  nnc_model *m = testutil_load(testutil_sequential(
      "300", "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 40, 'use_bias': false}}",
      NULL));
  /* each thread's chunk: ceil(128 / n) rounded up to whole tiles of the
   * GEMM at this vector width (6 rows with AVX2: 66 + 62; 12 with AVX-512:
   * 72 + 56); three threads: 48 + 48 + 32 at both */
  int64_t mr = cg_gemm_tile_rows(codegen_vector_width());
  for (int n = 1; n <= 3; n++) {
    int64_t chunk = ((128 + n - 1) / n + mr - 1) / mr * mr;
    for (int t = 0; t < n; t++) {
      int64_t a, b, want_a = t * chunk, want_b = t * chunk + chunk < 128 ? t * chunk + chunk : 128;
      rows_written(m, t, n, &a, &b);
      ck_assert_msg(a == want_a && b == want_b, "%d threads, thread %d: rows [%lld, %lld)", n, t,
                    (long long)a, (long long)b);
      if (b < 128) ck_assert_int_eq(b % mr, 0);
    }
  }
  nnc_model_free(m);
}
END_TEST

/* Dense 300 -> 256, bias 1 and relu (an epilogue after the GEMM), 128 rows
 * of ones: thread t of n alone writes every row of its column strips, the
 * values one thread computes there, and nothing else. Strips of
 * cg_gemm_tile_cols columns are split when they divide evenly between the
 * threads or number at least 4 per thread (emit_group.c: matmul_share). */
START_TEST(matmul_split_in_column_strips) {
  enum { R = 128, IN = 300, OUT = 256 };
  nnc_model *m = testutil_load(testutil_sequential(
      "300",
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 256, 'activation': 'relu', "
      "'bias_initializer': {'class_name': 'Ones', 'config': {}}}}",
      NULL));
  nnc_status st;
  ck_assert(model_reserve(m, R, &st) == NNC_OK);
  float *x = malloc(sizeof(float) * R * IN), *y = malloc(sizeof(float) * R * OUT);
  float *one = malloc(sizeof(float) * R * OUT);
  for (int i = 0; i < R * IN; i++) x[i] = (float)sin(0.1 * i);
  float *scratch = testutil_table_scratch(m->t, NNC_ENTRY_PREDICT, 3);
  float *regions[NNC_REGION_IO + 2] = {m->params, m->slots, m->stats, m->fixed,
                                       m->batch,  scratch,  x,        one};
  float scalars[NNC_SCALAR_COUNT] = {0, 1, R};
  m->t->entries[NNC_ENTRY_PREDICT].fn(regions, scalars, R, 0, 0, 1, no_barrier, NULL);
  regions[NNC_REGION_IO + 1] = y;
  int64_t tile = cg_gemm_tile_cols(codegen_vector_width()), strips = OUT / tile;
  for (int n = 2; n <= 3; n++) {
    int by_strips = strips % n == 0 || strips >= 4 * n;
    int64_t chunk = (strips + n - 1) / n * tile;
    for (int t = 0; t < n && by_strips; t++) {
      for (int i = 0; i < R * OUT; i++) y[i] = NAN;
      m->t->entries[NNC_ENTRY_PREDICT].fn(regions, scalars, R, 0, t, n, no_barrier, NULL);
      for (int r = 0; r < R; r++)
        for (int j = 0; j < OUT; j++) {
          int mine = j >= t * chunk && j < (t + 1) * chunk;
          float got = y[r * OUT + j];
          ck_assert_msg(mine ? memcmp(&got, &one[r * OUT + j], sizeof got) == 0 : isnan(got),
                        "%d threads, thread %d: element (%d, %d) is %g", n, t, r, j, got);
        }
    }
  }
  free(x);
  free(y);
  free(one);
  free(scratch);
  nnc_model_free(m);
}
END_TEST

/* A W4-wide-like step (GEMM-bound, batch 128): 1, 2 and 3 threads give the
 * same weights bit for bit, and with 2 threads the pool did run it. Hidden
 * width 96 splits the forward GEMMs by rows, 256 by column strips. */
static void wide_steps(int threads, int hidden, nnc_array *w, long *jobs) {
  enum { R = 128, IN = 48, C = 10 };
  char layers[512];
  snprintf(layers, sizeof layers,
           "{'class_name': 'Dense', 'config': {'name': 'a', 'units': %d, 'activation': 'relu'}},"
           "{'class_name': 'Dense', 'config': {'name': 'b', 'units': %d, 'activation': 'relu'}},"
           "{'class_name': 'Dense', 'config': {'name': 'c', 'units': 10}}",
           hidden, hidden);
  nnc_model *m = testutil_load(testutil_sequential(
      "48", layers,
      "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.001}}, 'loss': "
      "{'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}, "
      "'metrics': ['accuracy']}"));
  nnc_status st;
  ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
  float *x = malloc(sizeof(float) * R * IN), y[R];
  for (int i = 0; i < R * IN; i++) x[i] = (float)sin(0.37 * i);
  for (int i = 0; i < R; i++) y[i] = (float)(i * 7 % C);
  nnc_array xa = testutil_f32(x, R, IN), ya = testutil_f32(y, R, 1);
  nnc_logs l = {0};
  for (int s = 0; s < 3; s++)
    ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &l, &st) == NNC_OK, "%s", st.message);
  const char *names[] = {"a/kernel", "a/bias", "b/kernel", "b/bias", "c/kernel", "c/bias"};
  for (int k = 0; k < 6; k++) ck_assert(nnc_model_get_weight(m, names[k], &w[k], &st) == NNC_OK);
  *jobs = pool_jobs(m->pool);
  nnc_logs_free(&l);
  free(x);
  nnc_model_free(m);
}

START_TEST(wide_step_identical_on_1_2_3_threads) {
  nnc_array w[3][6];
  long jobs[3];
  for (int t = 0; t < 3; t++) wide_steps(t + 1, _i ? 256 : 96, w[t], &jobs[t]);
  ck_assert_int_eq(jobs[0], 0); /* one thread: no pool */
  ck_assert_int_eq(jobs[1], 3); /* one job per step */
  ck_assert_int_eq(jobs[2], 3);
  for (int t = 1; t < 3; t++)
    for (int k = 0; k < 6; k++)
      ck_assert_msg(memcmp(w[0][k].data, w[t][k].data,
                           sizeof(float) * (size_t)nnc_array_count(&w[0][k])) == 0,
                    "%d threads, weight %d", t + 1, k);
  for (int t = 0; t < 3; t++)
    for (int k = 0; k < 6; k++) nnc_array_free(&w[t][k]);
}
END_TEST

/* train_on_batch on the tiny path computes full-batch SGD on MSE: w, b
 * against the same updates in float64 (3 steps). */
START_TEST(tiny_steps_match_sgd_reference) {
  enum { N = 50 };
  float x[N], y[N];
  for (int i = 0; i < N; i++) x[i] = (float)i / N, y[i] = 0.6f * x[i] + 0.8f;
  nnc_array xa = testutil_f32(x, N, 1), ya = testutil_f32(y, N, 1);
  nnc_model *m = linreg(2);
  double w = weight(m, "d/kernel"), b = weight(m, "d/bias");
  nnc_status st;
  nnc_logs l = {0};
  for (int s = 0; s < 3; s++) {
    double gw = 0, gb = 0, loss = 0;
    for (int i = 0; i < N; i++) {
      double e = w * x[i] + b - y[i];
      loss += e * e / N;
      gw += 2 * e * x[i] / N;
      gb += 2 * e / N;
    }
    ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &l, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.names[0], "loss");
    ck_assert_double_eq_tol(nnc_logs_get(&l, "loss"), loss, 1e-5 * (1 + loss));
    w -= 0.1 * gw, b -= 0.1 * gb;
    ck_assert_double_eq_tol(weight(m, "d/kernel"), w, 1e-5);
    ck_assert_double_eq_tol(weight(m, "d/bias"), b, 1e-5);
  }
  nnc_logs_free(&l);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("threads9");
  TCase *tc = tcase_create("threads9");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, tiny_step_wakes_no_worker);
  tcase_add_test(tc, parallel_rows_is_the_boundary);
  tcase_add_test(tc, matmul_split_in_whole_tiles);
  tcase_add_test(tc, matmul_split_in_column_strips);
  tcase_add_loop_test(tc, wide_step_identical_on_1_2_3_threads, 0, 2);
  tcase_add_test(tc, tiny_steps_match_sgd_reference);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
