/* Session 11 (gemm): fit prefetches the next batch's shuffled rows
 * (runtime/fit_data.c: fit_prefetch_rows, called by runtime/fit_loop.c).
 *
 * A prefetch is a hint and must change nothing: a shuffled fit (RMSprop, a
 * partial last batch, float32 and uint8 inputs) leaves weights bit-identical
 * to replaying the same order by hand with train_on_batch, which gathers
 * through the step path without any prefetch. The prefetch reads exactly
 * the `rows` indices it is given: called on the tail of an exactly-sized
 * index array (the ASan build reports a read past it) and on rows at the end
 * of the data, it leaves both untouched. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/fit.h"
#include "runtime/model.h"
#include "testutil.h"

enum { N = 50, IN = 19, OUT = 3, BATCH = 16, SEED = 7, EPOCHS = 2 };

#define LAYERS                                                                                     \
  "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 8, 'activation': 'relu'}},"           \
  "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 3, 'activation': 'linear'}}"
#define COMPILE                                                                                    \
  "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01}}, "                   \
  "'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}}"

static nnc_model *new_model(void) {
  nnc_status st;
  nnc_model *m = testutil_load(testutil_sequential("19", LAYERS, testutil_json(COMPILE)));
  ck_assert_msg(!nnc_model_set_seed(m, SEED, &st), "%s", st.message);
  return m;
}

static void get(nnc_model *m, const char *name, float *out, int64_t count) {
  nnc_status st;
  nnc_array a;
  ck_assert_msg(!nnc_model_get_weight(m, name, &a, &st), "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&a), count);
  memcpy(out, a.data, (size_t)count * sizeof *out);
  nnc_array_free(&a);
}

/* fit(shuffle) against train_on_batch over the rows fit_shuffle picks */
static void fit_equals_replay(nnc_dtype dt) {
  static float xf[N * IN], y[N], bx[BATCH * IN], by[BATCH];
  static uint8_t xu[N * IN];
  for (int i = 0; i < N * IN; i++) {
    xu[i] = (uint8_t)((i * 37 + 11) % 251);
    xf[i] = dt == NNC_U8 ? (float)xu[i] : (float)((i * 37 + 11) % 101) / 50.0f - 1.0f;
  }
  for (int i = 0; i < N; i++) y[i] = (float)(i * 7 % OUT);
  nnc_array x = testutil_f32(xf, N, IN), ya = testutil_f32(y, N, 1);
  ya.rank = 1;
  if (dt == NNC_U8) x.dtype = NNC_U8, x.data = xu;
  nnc_status st;
  nnc_model *fitted = new_model(), *replayed = new_model();
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = EPOCHS, o.batch_size = BATCH, o.shuffle = NNC_SHUFFLE_ON, o.verbose = 0;
  ck_assert_msg(!nnc_model_fit(fitted, &x, &ya, &o, NULL, &st), "%s", st.message);

  int64_t idx[N];
  for (int e = 0; e < EPOCHS; e++) {
    fit_shuffle(idx, N, NNC_SHUFFLE_ON, BATCH, SEED, e);
    for (int first = 0; first < N; first += BATCH) {
      int rows = N - first < BATCH ? N - first : BATCH;
      for (int r = 0; r < rows; r++) {
        for (int k = 0; k < IN; k++) bx[r * IN + k] = xf[idx[first + r] * IN + k];
        by[r] = y[idx[first + r]];
      }
      nnc_array b = testutil_f32(bx, rows, IN), t = testutil_f32(by, rows, 1);
      t.rank = 1;
      nnc_logs logs = {0};
      ck_assert_msg(!nnc_model_train_on_batch(replayed, &b, &t, &logs, &st), "%s", st.message);
      nnc_logs_free(&logs);
    }
  }
  static const struct {
    const char *name;
    int64_t count;
  } weights[] = {{"d0/kernel", IN * 8}, {"d0/bias", 8}, {"d1/kernel", 8 * OUT}, {"d1/bias", OUT}};
  for (size_t w = 0; w < sizeof weights / sizeof weights[0]; w++) {
    float a[IN * 8], b[IN * 8];
    get(fitted, weights[w].name, a, weights[w].count);
    get(replayed, weights[w].name, b, weights[w].count);
    for (int64_t i = 0; i < weights[w].count; i++)
      ck_assert_msg(!memcmp(&a[i], &b[i], sizeof a[i]), "%s[%lld]: fit %a, replay %a",
                    weights[w].name, (long long)i, (double)a[i], (double)b[i]);
  }
  nnc_model_free(fitted);
  nnc_model_free(replayed);
}

START_TEST(fit_shuffled_f32_equals_replay) {
  fit_equals_replay(NNC_F32);
}
END_TEST

START_TEST(fit_shuffled_u8_equals_replay) {
  fit_equals_replay(NNC_U8);
}
END_TEST

/* the last rows of the data, their indices the last of an exact allocation */
START_TEST(prefetch_reads_only_its_rows) {
  enum { ROWS = 9, ROW = 1000 };
  float *data = malloc(sizeof(float) * ROWS * ROW);
  int64_t *idx = malloc(sizeof(int64_t) * 3);
  ck_assert_ptr_nonnull(data);
  ck_assert_ptr_nonnull(idx);
  for (int i = 0; i < ROWS * ROW; i++) data[i] = (float)i;
  idx[0] = 8, idx[1] = 0, idx[2] = 7;
  int64_t row = ROW;
  const void *v = data;
  nnc_dtype dt = NNC_F32;
  model_data d = {.n = ROWS, .n_bufs = 1, .row = &row, .v = &v, .dt = &dt};
  fit_prefetch_rows(&d, idx + 1, 2);
  fit_prefetch_rows(&d, idx, 3);
  fit_prefetch_rows(&d, idx + 3, 0);
  for (int i = 0; i < ROWS * ROW; i++) ck_assert_float_eq(data[i], (float)i);
  ck_assert(idx[0] == 8 && idx[1] == 0 && idx[2] == 7);
  free(data);
  free(idx);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("gemm11");
  TCase *tc = tcase_create("prefetch");
  tcase_add_test(tc, fit_shuffled_f32_equals_replay);
  tcase_add_test(tc, fit_shuffled_u8_equals_replay);
  tcase_add_test(tc, prefetch_reads_only_its_rows);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
