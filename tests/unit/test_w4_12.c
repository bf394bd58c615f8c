/* Session 12 (w4): a step on the pool copies its batch's rows on the pool's
 * threads, each its share of the rows (runtime/step.c: run_job), instead
 * of the calling thread alone before the step.
 *
 * A copy must change nothing: a shuffled 2-thread fit (RMSprop, a partial
 * last batch, float32 and uint8 inputs, sample weights) leaves weights
 * bit-identical to replaying the same order on one thread with
 * train_on_batch_weighted, whose rows the test gathers itself; the pool
 * did run the steps. An unshuffled uint8 fit (rows converted, not gathered)
 * on 2 threads equals the same fit on one. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/fit.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "testutil.h"

/* rows of 256 inputs into 64 units (16 384 multiply-adds a row; a matmul
 * splits from 2^18, session 36): above the rows at which the step runs on
 * the pool (emit_driver.c: codegen_parallel_rows), the last batch's 22 too */
enum { N = 150, IN = 256, H = 64, OUT = 10, BATCH = 32, SEED = 11, EPOCHS = 2 };

#define LAYERS                                                                                     \
  "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 64, 'activation': 'relu'}},"          \
  "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 10, 'activation': 'linear'}}"
#define COMPILE                                                                                    \
  "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01}}, "                   \
  "'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}}"

static nnc_model *new_model(int threads) {
  nnc_status st;
  nnc_model *m = testutil_load(testutil_sequential("256", LAYERS, testutil_json(COMPILE)));
  ck_assert_msg(!nnc_model_set_seed(m, SEED, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_threads(m, threads, &st), "%s", st.message);
  return m;
}

static const struct {
  const char *name;
  int64_t count;
} weights[] = {{"d0/kernel", IN *H}, {"d0/bias", H}, {"d1/kernel", H *OUT}, {"d1/bias", OUT}};

static void same_weights(nnc_model *a, nnc_model *b) {
  nnc_status st;
  for (size_t w = 0; w < sizeof weights / sizeof weights[0]; w++) {
    nnc_array x, y;
    ck_assert_msg(!nnc_model_get_weight(a, weights[w].name, &x, &st), "%s", st.message);
    ck_assert_msg(!nnc_model_get_weight(b, weights[w].name, &y, &st), "%s", st.message);
    ck_assert_int_eq(nnc_array_count(&x), weights[w].count);
    const float *p = x.data, *q = y.data;
    for (int64_t i = 0; i < weights[w].count; i++)
      ck_assert_msg(!memcmp(&p[i], &q[i], sizeof p[i]), "%s[%lld]: %a vs %a", weights[w].name,
                    (long long)i, (double)p[i], (double)q[i]);
    nnc_array_free(&x);
    nnc_array_free(&y);
  }
}

static float xf[N * IN], y[N], sw[N];
static uint8_t xu[N * IN];

static void make_data(void) {
  for (int i = 0; i < N * IN; i++) {
    xu[i] = (uint8_t)((i * 37 + 11) % 251);
    xf[i] = (float)sin(0.37 * i);
  }
  for (int i = 0; i < N; i++) y[i] = (float)(i * 7 % OUT), sw[i] = 0.25f + (float)(i % 5);
}

/* fit(shuffle, 2 threads) against train_on_batch_weighted (1 thread) over
 * the rows fit_shuffle picks */
static void fit_equals_replay(nnc_dtype dt) {
  static float bx[BATCH * IN], by[BATCH], bw[BATCH];
  make_data();
  nnc_array x = testutil_f32(xf, N, IN), ya = testutil_f32(y, N, 1), wa = testutil_f32(sw, N, 1);
  ya.rank = wa.rank = 1;
  if (dt == NNC_U8) x.dtype = NNC_U8, x.data = xu;
  nnc_status st;
  nnc_model *fitted = new_model(2), *replayed = new_model(1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = EPOCHS, o.batch_size = BATCH, o.shuffle = NNC_SHUFFLE_ON, o.verbose = 0;
  o.n_sample_weights = 1, o.sample_weights = &wa;
  ck_assert_msg(!nnc_model_fit(fitted, &x, &ya, &o, NULL, &st), "%s", st.message);
  ck_assert_int_ge(pool_jobs(fitted->pool), EPOCHS * ((N + BATCH - 1) / BATCH));

  int64_t idx[N];
  for (int e = 0; e < EPOCHS; e++) {
    fit_shuffle(idx, N, NNC_SHUFFLE_ON, BATCH, SEED, e);
    for (int first = 0; first < N; first += BATCH) {
      int rows = N - first < BATCH ? N - first : BATCH;
      for (int r = 0; r < rows; r++) {
        int64_t i = idx[first + r];
        for (int k = 0; k < IN; k++)
          bx[r * IN + k] = dt == NNC_U8 ? (float)xu[i * IN + k] : xf[i * IN + k];
        by[r] = y[i], bw[r] = sw[i];
      }
      nnc_array b = testutil_f32(bx, rows, IN), t = testutil_f32(by, rows, 1),
                w = testutil_f32(bw, rows, 1);
      t.rank = w.rank = 1;
      nnc_logs logs = {0};
      ck_assert_msg(!nnc_model_train_on_batch_weighted(replayed, 1, &b, 1, &t, &w, &logs, &st),
                    "%s", st.message);
      nnc_logs_free(&logs);
    }
  }
  ck_assert_int_eq(pool_jobs(replayed->pool), 0);
  same_weights(fitted, replayed);
  nnc_model_free(fitted);
  nnc_model_free(replayed);
}

START_TEST(shuffled_fit_f32_2_threads_equals_replay) {
  fit_equals_replay(NNC_F32);
}
END_TEST

START_TEST(shuffled_fit_u8_2_threads_equals_replay) {
  fit_equals_replay(NNC_U8);
}
END_TEST

/* unshuffled uint8: the rows are converted in place of a gather */
START_TEST(unshuffled_u8_fit_same_on_1_and_2_threads) {
  make_data();
  nnc_array x = testutil_f32(xf, N, IN), ya = testutil_f32(y, N, 1);
  ya.rank = 1;
  x.dtype = NNC_U8, x.data = xu;
  nnc_status st;
  nnc_model *one = new_model(1), *two = new_model(2);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = EPOCHS, o.batch_size = BATCH, o.shuffle = NNC_SHUFFLE_OFF, o.verbose = 0;
  ck_assert_msg(!nnc_model_fit(one, &x, &ya, &o, NULL, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_fit(two, &x, &ya, &o, NULL, &st), "%s", st.message);
  ck_assert_int_ge(pool_jobs(two->pool), EPOCHS * ((N + BATCH - 1) / BATCH));
  same_weights(one, two);
  nnc_model_free(one);
  nnc_model_free(two);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("w4_12");
  TCase *tc = tcase_create("gather");
  tcase_add_test(tc, shuffled_fit_f32_2_threads_equals_replay);
  tcase_add_test(tc, shuffled_fit_u8_2_threads_equals_replay);
  tcase_add_test(tc, unshuffled_u8_fit_same_on_1_and_2_threads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  return testutil_run(suite());
}
