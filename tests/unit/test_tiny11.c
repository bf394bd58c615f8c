/* The per-call path of train_on_batch (session 11): a call whose arrays have
 * the headers of the previous call, on the same program, reuses what that
 * call derived (runtime/step_bind.c). Every kind of change must be noticed:
 * the batch size, the data pointer, the dtype, a sample shape (refused as
 * before), a recompile; every step's loss and weights follow a float64
 * reference written out here (SGD on a 1 -> 1 Dense with MSE: closed-form
 * gradients), and the bound path's results equal the unbound path's bit for
 * bit. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/model.h"
#include "testutil.h"

#define LINEAR_1                                                                                   \
  "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1, 'activation': 'linear'}}"
#define SGD_MSE(lr)                                                                                \
  "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': " lr "}}, 'loss': 'mse'}"

static nnc_model *w2_model(void) {
  nnc_model *m = testutil_load(
      testutil_sequential("1", testutil_json(LINEAR_1), testutil_json(SGD_MSE("0.1"))));
  nnc_status st;
  float w = 0.5f, b = -0.2f;
  nnc_array k = {0}, bias = {0};
  k.dtype = bias.dtype = NNC_F32;
  k.rank = 2, k.shape[0] = 1, k.shape[1] = 1, k.data = &w;
  bias.rank = 1, bias.shape[0] = 1, bias.data = &b;
  ck_assert_msg(!nnc_model_set_weight(m, "dense/kernel", &k, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_weight(m, "dense/bias", &bias, &st), "%s", st.message);
  return m;
}

static float weight(nnc_model *m, const char *name) {
  nnc_status st;
  nnc_array a;
  ck_assert_msg(!nnc_model_get_weight(m, name, &a, &st), "%s", st.message);
  float v = ((const float *)a.data)[0];
  nnc_array_free(&a);
  return v;
}

/* The model's weights in float64 and the SGD step on n samples. */
typedef struct reference {
  double w, b, lr;
} reference;

static double reference_step(reference *r, const float *x, const float *y, int n, int train) {
  double loss = 0, gw = 0, gb = 0;
  for (int i = 0; i < n; i++) {
    double e = r->w * x[i] + r->b - y[i];
    loss += e * e / n, gw += 2 * e * x[i] / n, gb += 2 * e / n;
  }
  if (train) r->w -= r->lr * gw, r->b -= r->lr * gb;
  return loss;
}

static void close_to(double got, double want, const char *what, const char *when) {
  ck_assert_msg(fabs(got - want) <= 2e-5 * fmax(1.0, fabs(want)), "%s: %s %.9g, want %.9g", when,
                what, got, want);
}

/* One call on (x, y) checked against the reference: loss and both weights. */
static void step_like_reference(nnc_model *m, reference *r, const nnc_array *x, const nnc_array *y,
                                const float *xv, const float *yv, int train, const char *when) {
  nnc_logs logs = {0};
  nnc_status st;
  int rc = train ? nnc_model_train_on_batch(m, x, y, &logs, &st)
                 : nnc_model_test_on_batch(m, x, y, &logs, &st);
  ck_assert_msg(!rc, "%s: %s", when, st.message);
  double loss = reference_step(r, xv, yv, (int)x->shape[0], train);
  ck_assert_int_eq(logs.n, 1);
  ck_assert_str_eq(logs.names[0], "loss");
  close_to(logs.values[0], loss, "loss", when);
  close_to(weight(m, "dense/kernel"), r->w, "kernel", when);
  close_to(weight(m, "dense/bias"), r->b, "bias", when);
  nnc_logs_free(&logs);
}

static void fill(float *x, float *y, int n, int seed) {
  for (int i = 0; i < n; i++) {
    x[i] = (float)((i * 37 + seed * 11) % 101) / 50.0f - 1.0f;
    y[i] = 0.6f * x[i] + 0.8f + (float)((i * 7 + seed) % 5) * 0.01f;
  }
}

START_TEST(binding_notices_every_change) {
  nnc_model *m = w2_model();
  reference r = {0.5, -0.2, 0.1};
  float x[50], y[50], x2[50], y2[50];
  double x64[50];
  fill(x, y, 50, 0);
  fill(x2, y2, 50, 1);
  for (int i = 0; i < 50; i++) x64[i] = x2[i];
  nnc_array xa = testutil_f32(x, 50, 1), ya = testutil_f32(y, 50, 1);
  for (int s = 0; s < 3; s++) step_like_reference(m, &r, &xa, &ya, x, y, 1, "same arrays");
  ck_assert_msg(m->bind != NULL, "three calls on the same arrays left no binding");

  /* the batch size: the first 7 rows of the same buffers, the same structs */
  xa.shape[0] = ya.shape[0] = 7;
  step_like_reference(m, &r, &xa, &ya, x, y, 1, "7 rows of the same arrays");
  xa.shape[0] = ya.shape[0] = 50;
  for (int s = 0; s < 2; s++) step_like_reference(m, &r, &xa, &ya, x, y, 1, "back to 50 rows");

  /* the data pointer: the same headers over other values */
  xa.data = x2, ya.data = y2;
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "other data, same header");
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "other data again");

  /* the dtype: the same values as float64 */
  nnc_array x64a = xa;
  x64a.dtype = NNC_F64, x64a.data = x64;
  step_like_reference(m, &r, &x64a, &ya, x2, y2, 1, "x as float64");
  step_like_reference(m, &r, &x64a, &ya, x2, y2, 1, "x as float64 again");
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "x as float32 again");

  /* shapes the model refuses are still refused, by the same messages */
  nnc_logs logs = {0};
  nnc_status st;
  nnc_array short_y = ya, wide_x = xa;
  short_y.shape[0] = 49;
  ck_assert_int_eq(nnc_model_train_on_batch(m, &xa, &short_y, &logs, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "y has shape (49, 1): expected 50 samples"), "%s", st.message);
  wide_x.shape[0] = 25, wide_x.shape[1] = 2;
  ck_assert_int_eq(nnc_model_train_on_batch(m, &wide_x, &ya, &logs, &st), NNC_ERR_DATA);
  nnc_array no_data = xa;
  no_data.data = NULL;
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "bound again");
  ck_assert_int_eq(nnc_model_train_on_batch(m, &no_data, &ya, &logs, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "data is NULL for 50 elements"), "%s", st.message);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &xa, &ya, NULL, &st), NNC_ERR_ARG);

  /* flat labels (N,) for [N, 1] targets: another target shape, a rebuild */
  nnc_array flat_y = ya;
  flat_y.rank = 1;
  for (int s = 0; s < 3; s++) step_like_reference(m, &r, &xa, &flat_y, x2, y2, 1, "flat labels");

  /* a recompile (another learning rate) with the arrays bound before */
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "before the recompile");
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "bound before the recompile");
  ck_assert_msg(!nnc_model_set_compile_config(m, testutil_json(SGD_MSE("0.05")), &st), "%s",
                st.message);
  r.lr = 0.05;
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "after the recompile");
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "after the recompile, again");

  /* test_on_batch on the arrays train_on_batch bound: no update */
  step_like_reference(m, &r, &xa, &ya, x2, y2, 0, "test_on_batch");
  step_like_reference(m, &r, &xa, &ya, x2, y2, 1, "train after test");
  nnc_logs_free(&logs);
  nnc_model_free(m);
}
END_TEST

/* Logs handed back with stale keys get exactly the step's keys, sorted. */
START_TEST(bound_logs_are_the_keys_sorted) {
  nnc_model *m = testutil_load(testutil_sequential(
      "1", testutil_json(LINEAR_1),
      testutil_json("{'optimizer': 'sgd', 'loss': 'mse', 'metrics': ['mae', 'mse']}")));
  float x[20], y[20];
  fill(x, y, 20, 3);
  nnc_array xa = testutil_f32(x, 20, 1), ya = testutil_f32(y, 20, 1);
  nnc_logs logs = {0};
  nnc_status st;
  for (int s = 0; s < 4; s++) {
    if (s == 3) { /* a host that scribbled over the names it was handed */
      for (int k = 0; k < logs.n; k++) memset(logs.names[k], 'z', 20);
    }
    ck_assert_msg(!nnc_model_test_on_batch(m, &xa, &ya, &logs, &st), "%s", st.message);
    ck_assert_int_eq(logs.n, 3);
    ck_assert_str_eq(logs.names[0], "loss");
    ck_assert_str_eq(logs.names[1], "mae");
    ck_assert_str_eq(logs.names[2], "mse");
    close_to(logs.values[2], logs.values[0], "mse", "the metric of the loss");
    ck_assert_msg(logs.values[1] > 0 && logs.values[1] != logs.values[0], "mae %.9g",
                  logs.values[1]);
  }
  nnc_logs_free(&logs);
  nnc_model_free(m);
}
END_TEST

/* The same steps bound (the same arrays every call) and unbound (x
 * alternates between float32 and float64 headers of the same values, so no
 * call matches the previous one): the same bits. */
START_TEST(bound_steps_equal_unbound_steps_bit_for_bit) {
  nnc_model *bound = w2_model(), *unbound = w2_model();
  float x[50], y[50];
  double x64[50];
  fill(x, y, 50, 5);
  for (int i = 0; i < 50; i++) x64[i] = x[i];
  nnc_array xa = testutil_f32(x, 50, 1), ya = testutil_f32(y, 50, 1), x64a = xa;
  x64a.dtype = NNC_F64, x64a.data = x64;
  nnc_logs lb = {0}, lu = {0};
  nnc_status st;
  for (int s = 0; s < 40; s++) {
    ck_assert_msg(!nnc_model_train_on_batch(bound, &xa, &ya, &lb, &st), "%s", st.message);
    ck_assert_msg(!nnc_model_train_on_batch(unbound, s % 2 ? &x64a : &xa, &ya, &lu, &st), "%s",
                  st.message);
    ck_assert_msg(lb.values[0] == lu.values[0], "step %d: loss %.9g bound, %.9g unbound", s,
                  lb.values[0], lu.values[0]);
    ck_assert_msg(weight(bound, "dense/kernel") == weight(unbound, "dense/kernel") &&
                      weight(bound, "dense/bias") == weight(unbound, "dense/bias"),
                  "step %d: the weights differ", s);
  }
  ck_assert_msg(bound->bind != NULL, "the same arrays every call left no binding");
  nnc_logs_free(&lb);
  nnc_logs_free(&lu);
  nnc_model_free(bound);
  nnc_model_free(unbound);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tiny11");
  TCase *tc = tcase_create("tiny11");
  tcase_add_test(tc, binding_notices_every_change);
  tcase_add_test(tc, bound_logs_are_the_keys_sorted);
  tcase_add_test(tc, bound_steps_equal_unbound_steps_bit_for_bit);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
