/* Session 12 (w5): the kernels of W5's shapes.
 *
 * - A product with one output column (Dense(1); its weight gradient x^T @ dy)
 *   runs vectorized across rows (compiler/ops/matvec.c). Each output is the
 *   GEMM's chain: fmaf over p in order from +0. predict of Dense(1) on 37
 *   rows (two whole vectors at width 16 and a tail) and K = 10, 32 and 37
 *   (session 30: whole blocks of the width read as vector loads transposed
 *   in registers, the rest gathered) at widths 16, 8 and 4 equals that
 *   chain plus the bias, computed here with fmaf, bit for bit, and is
 *   within 1e-5 of a float64 dot product.
 * - A one-strip matmul of whole vectors (Dense(32) at width 16, Dense(16) at
 *   8) runs its bias + relu epilogue over rows x columns, the bias indexed by
 *   column (compiler/codegen/emit_group.c): predict equals relu(chain +
 *   bias[j]) bit for bit.
 * - A W5-like fit (x (24, 6, 10), Dense(32, relu) -> Dense(1, sigmoid) per
 *   timestep, binary cross-entropy, Adam, batch 8, validation data) leaves
 *   the same weights, bit for bit, on 1 and 2 threads and at vector widths
 *   16 and 8 (the arithmetic of each kernel is pinned by the checks above). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

static void use_width(const char *w) {
  if (w)
    setenv("NNC_VECTOR_WIDTH", w, 1);
  else
    unsetenv("NNC_VECTOR_WIDTH");
}

static void set_weight(nnc_model *m, const char *name, float *data, int64_t rows, int64_t cols) {
  nnc_status st;
  nnc_array a = testutil_f32(data, rows, cols);
  ck_assert_msg(!nnc_model_set_weight(m, name, &a, &st), "%s: %s", name, st.message);
}

static float input(int r, int p) {
  return (float)sin(0.7 * r + 1.3 * p + 0.1);
}

/* Dense(units, act) on K inputs, predict on R rows against the chain */
static void check_dense(const char *width, int k, int units, const char *act) {
  enum { R = 37 };
  use_width(width);
  char layers[256];
  snprintf(layers, sizeof layers,
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d, 'activation': '%s'}}",
           units, act);
  char shape[16];
  snprintf(shape, sizeof shape, "%d", k);
  nnc_model *m = testutil_load(testutil_sequential(shape, layers, NULL));
  float *w = malloc(sizeof(float) * (size_t)(k * units)), b[64],
        *x = malloc(sizeof(float) * R * (size_t)k);
  for (int i = 0; i < k * units; i++) w[i] = (float)cos(0.37 * i + 0.2) * 0.5f;
  for (int j = 0; j < units; j++) b[j] = 0.1f * (float)(j % 7) - 0.3f;
  for (int r = 0; r < R; r++)
    for (int p = 0; p < k; p++) x[r * k + p] = input(r, p);
  set_weight(m, "d/kernel", w, k, units);
  nnc_status st;
  nnc_array bias = testutil_f32(b, units, 1);
  bias.rank = 1;
  ck_assert_msg(!nnc_model_set_weight(m, "d/bias", &bias, &st), "%s", st.message);
  nnc_array xa = testutil_f32(x, R, k), out;
  ck_assert_msg(!nnc_model_predict(m, &xa, 32, &out, &st), "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&out), R * units);
  const float *got = out.data;
  for (int r = 0; r < R; r++)
    for (int j = 0; j < units; j++) {
      float acc = 0.0f;
      double ref = 0;
      for (int p = 0; p < k; p++) {
        acc = fmaf(x[r * k + p], w[p * units + j], acc);
        ref += (double)x[r * k + p] * w[p * units + j];
      }
      float want = acc + b[j];
      ref += b[j];
      if (!strcmp(act, "relu")) want = want > 0 ? want : 0.0f, ref = ref > 0 ? ref : 0;
      float g = got[r * units + j];
      ck_assert_msg(!memcmp(&g, &want, sizeof g), "width %s K %d Dense(%d): [%d,%d] %a, chain %a",
                    width ? width : "host", k, units, r, j, (double)g, (double)want);
      ck_assert_msg(fabs(g - ref) <= 1e-5 * (1 + fabs(ref)), "[%d,%d] %g vs float64 %g", r, j,
                    (double)g, ref);
    }
  nnc_array_free(&out);
  free(w);
  free(x);
  nnc_model_free(m);
  use_width(NULL);
}

START_TEST(dense1_predict_is_the_fma_chain) {
  const char *widths[] = {"16", "8", "4"};
  /* K below one vector (gathers only), whole blocks of the width (loads
   * transposed in registers), and blocks then gathers (37 = 2 x 16 + 5 =
   * 4 x 8 + 5 = 9 x 4 + 1) */
  check_dense(widths[_i], 10, 1, "linear");
  check_dense(widths[_i], 32, 1, "linear");
  check_dense(widths[_i], 37, 1, "linear");
}
END_TEST

START_TEST(dense32_relu_epilogue_is_exact) {
  const char *widths[] = {"16", "8"};
  check_dense(widths[_i], 10, 32, "relu");
  check_dense(widths[_i], 7, 16, "relu");
}
END_TEST

/* the W5-like fit: its four weights after 2 epochs */
static void w5_fit(const char *width, int threads, nnc_array *w) {
  enum { N = 24, T = 6, F = 10, NV = 8 };
  use_width(width);
  nnc_model *m = testutil_load(testutil_sequential(
      "6, 10",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 32, 'activation': 'relu'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 1, 'activation': 'sigmoid'}}",
      "{'optimizer': 'adam', 'loss': 'binary_crossentropy', 'metrics': ['accuracy']}"));
  nnc_status st;
  ck_assert(!nnc_model_set_seed(m, 5, &st));
  ck_assert_msg(!nnc_model_set_threads(m, threads, &st), "%s", st.message);
  static float x[(N + NV) * T * F], y[(N + NV) * T];
  for (int i = 0; i < (N + NV) * T * F; i++) x[i] = (float)sin(0.913 * i) * 1.5f;
  for (int i = 0; i < (N + NV) * T; i++) y[i] = x[i * F] > 0;
  nnc_array xt = {0}, yt = {0}, xv, yv;
  xt.dtype = yt.dtype = NNC_F32;
  xt.rank = yt.rank = 3;
  xt.shape[0] = N, xt.shape[1] = T, xt.shape[2] = F, xt.data = x;
  yt.shape[0] = N, yt.shape[1] = T, yt.shape[2] = 1, yt.data = y;
  xv = xt, yv = yt;
  xv.shape[0] = yv.shape[0] = NV, xv.data = x + N * T * F, yv.data = y + N * T;
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2, o.batch_size = 8, o.verbose = 0, o.x_val = &xv, o.y_val = &yv;
  ck_assert_msg(!nnc_model_fit(m, &xt, &yt, &o, NULL, &st), "%s", st.message);
  const char *names[] = {"d0/kernel", "d0/bias", "d1/kernel", "d1/bias"};
  for (int k = 0; k < 4; k++)
    ck_assert_msg(!nnc_model_get_weight(m, names[k], &w[k], &st), "%s", st.message);
  nnc_model_free(m);
  use_width(NULL);
}

START_TEST(w5_fit_identical_on_threads_and_widths) {
  static const struct {
    const char *width;
    int threads;
  } runs[] = {{"16", 1}, {"16", 2}, {"8", 1}, {"8", 2}};
  nnc_array w[4][4];
  for (int r = 0; r < 4; r++) w5_fit(runs[r].width, runs[r].threads, w[r]);
  for (int r = 1; r < 4; r++)
    for (int k = 0; k < 4; k++) {
      const float *a = w[0][k].data, *b = w[r][k].data;
      for (int64_t i = 0; i < nnc_array_count(&w[0][k]); i++)
        ck_assert_msg(!memcmp(&a[i], &b[i], sizeof a[i]),
                      "width %s, %d threads: weight %d[%lld] %a, width 16 on 1 thread %a",
                      runs[r].width, runs[r].threads, k, (long long)i, (double)b[i], (double)a[i]);
    }
  /* the fit did train: d1/bias moved from its zero start */
  ck_assert(((const float *)w[0][3].data)[0] != 0.0f);
  for (int r = 0; r < 4; r++)
    for (int k = 0; k < 4; k++) nnc_array_free(&w[r][k]);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("w5_12");
  TCase *tc = tcase_create("w5_12");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, dense1_predict_is_the_fma_chain, 0, 3);
  tcase_add_loop_test(tc, dense32_relu_epilogue_is_exact, 0, 2);
  tcase_add_test(tc, w5_fit_identical_on_threads_and_widths);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  return testutil_run(suite());
}
