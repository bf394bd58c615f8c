/* A small step runs on one thread, a large one on the pool (issue 9,
 * session 14). The table's parallel_rows is also the whole-step threshold
 * (compiler/driver/table.c: pool_rows): a step below 2^24 multiply-adds and
 * elements runs on the caller even where one of its groups would split.
 * Counted with the pool's counters, not timed. NNC_SPLIT_SMALL_STEPS=1 gives
 * the tests the per-group rule alone; bad values are refused. Fits above the
 * threshold give the same bits on 1, 2 and 3 threads. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"
#include "runtime/pool.h"
#include "testutil.h"

/* Input(512) -> Dense(512) -> Dense(1), MSE, SGD */
static nnc_model *wide(int threads) {
  nnc_model *m = testutil_load(testutil_sequential(
      "512",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 512, 'activation': 'relu'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 1}}",
      "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.01}}, 'loss': 'mse'}"));
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  return m;
}

static long predict_jobs(nnc_model *m, int64_t rows) {
  float *x = calloc((size_t)rows * 512, sizeof *x);
  nnc_array xa = testutil_f32(x, rows, 512), out;
  nnc_status st;
  long before = pool_jobs(m->pool);
  ck_assert_msg(nnc_model_predict(m, &xa, rows, &out, &st) == NNC_OK, "%s", st.message);
  nnc_array_free(&out);
  free(x);
  return pool_jobs(m->pool) - before;
}

/* The predict step's work per row is 512 x 512 multiply-adds of d0's GEMM
 * plus a few hundred (its bias and relu, d1's 512, d1's bias): the least
 * rows with rows x work >= 2^24 is 64 (63 x 262144 + 63 x 1024 < 2^24). */
START_TEST(whole_step_threshold_is_the_boundary) {
  nnc_model *m = wide(2);
  int64_t p = m->t->entries[NNC_ENTRY_PREDICT].parallel_rows;
  ck_assert_int_eq(p, 64);
  ck_assert_int_eq(predict_jobs(m, p - 1), 0);
  ck_assert_int_ge(predict_jobs(m, p), 1);
  ck_assert_int_eq(predict_jobs(m, 1), 0);
  nnc_model_free(m);
}
END_TEST

/* NNC_SPLIT_SMALL_STEPS=1: the pool from the per-group rule on (one row
 * of d0's GEMM is 262144 >= 32768 multiply-adds: any rows split). */
START_TEST(switch_forces_the_pool) {
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  nnc_model *m = wide(2);
  ck_assert_int_eq(m->t->entries[NNC_ENTRY_PREDICT].parallel_rows, 1);
  ck_assert_int_ge(predict_jobs(m, 2), 1);
  nnc_model_free(m);
  setenv("NNC_SPLIT_SMALL_STEPS", "0", 1); /* 0: the default */
  m = wide(2);
  ck_assert_int_eq(m->t->entries[NNC_ENTRY_PREDICT].parallel_rows, 64);
  ck_assert_int_eq(predict_jobs(m, 2), 0);
  nnc_model_free(m);
}
END_TEST

START_TEST(switch_refuses_bad_values) {
  const char *bad[] = {"2", "yes", "-1", " 1", "10"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    setenv("NNC_SPLIT_SMALL_STEPS", bad[i], 1);
    nnc_status st;
    int rc = testutil_compile(testutil_sequential("4",
                                                  "{'class_name': 'Dense', 'config': "
                                                  "{'name': 'd', 'units': 2}}",
                                                  NULL),
                              NULL, &st);
    ck_assert_int_eq(rc, NNC_ERR_ARG);
    ck_assert_msg(strstr(st.message, "NNC_SPLIT_SMALL_STEPS") != NULL, "%s", st.message);
  }
  unsetenv("NNC_SPLIT_SMALL_STEPS");
}
END_TEST

/* A fit whose steps of 48 rows are above the threshold (training is about
 * 3 x 262144 per row: ~22 rows) and whose last step of 4 rows is below it:
 * the same bits on 1, 2 and 3 threads, and the pool did run. */
START_TEST(fits_agree_on_1_2_3_threads) {
  enum { N = 100, IN = 512 };
  float *x = malloc(sizeof(float) * N * IN), y[N];
  for (int i = 0; i < N * IN; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < N; i++) y[i] = (float)(i % 7) / 7.0f;
  nnc_array xa = testutil_f32(x, N, IN), ya = testutil_f32(y, N, 1);
  nnc_array ref[2];
  const char *names[2] = {"d0/kernel", "d1/kernel"};
  for (int threads = 1; threads <= 3; threads++) {
    nnc_model *m = wide(threads);
    ck_assert_int_lt(m->t->entries[NNC_ENTRY_TRAIN].parallel_rows, 48);
    ck_assert_int_gt(m->t->entries[NNC_ENTRY_TRAIN].parallel_rows, 4);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 2, o.batch_size = 48, o.verbose = 0, o.shuffle = 0;
    nnc_history h;
    nnc_status st;
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
    nnc_history_free(&h);
    if (threads > 1) ck_assert_int_eq(pool_jobs(m->pool), 4); /* 2 of 3 steps per epoch */
    for (int k = 0; k < 2; k++) {
      nnc_array w;
      ck_assert(nnc_model_get_weight(m, names[k], &w, &st) == NNC_OK);
      if (threads == 1) {
        ref[k] = w;
        continue;
      }
      size_t bytes = (size_t)w.shape[0] * (size_t)w.shape[1] * sizeof(float);
      ck_assert_msg(!memcmp(w.data, ref[k].data, bytes), "%s differs on %d threads", names[k],
                    threads);
      nnc_array_free(&w);
    }
    nnc_model_free(m);
  }
  nnc_array_free(&ref[0]);
  nnc_array_free(&ref[1]);
  free(x);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("threads14");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, whole_step_threshold_is_the_boundary);
  tcase_add_test(tc, switch_forces_the_pool);
  tcase_add_test(tc, switch_refuses_bad_values);
  tcase_add_test(tc, fits_agree_on_1_2_3_threads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  unsetenv("NNC_SPLIT_SMALL_STEPS"); /* the default rule, whatever the caller's */
  return testutil_run(suite());
}
