/* The per-call path of train_on_batch (session 10 made it allocate less and
 * format names only for messages): the benchmark's W1 and W2 models take
 * steps on batches whose size, array and values change from call to call,
 * and every step's loss, metric and updated weights equal a float64
 * reference computed here by hand (SGD on a 1 -> 1 Dense: the gradients are
 * closed-form). A mismatched target after good calls still fails with the
 * array named in the message. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define LINEAR_1                                                                                   \
  "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1, 'activation': '%s'}}"

static nnc_model *dense_model(const char *activation, const char *compile) {
  char layer[256];
  snprintf(layer, sizeof layer, testutil_json(LINEAR_1), activation);
  return testutil_load(testutil_sequential("1", layer, testutil_json(compile)));
}

static void set_weights(nnc_model *m, float w, float b) {
  nnc_status st;
  nnc_array k = {0}, bias = {0};
  k.dtype = bias.dtype = NNC_F32;
  k.rank = 2, k.shape[0] = 1, k.shape[1] = 1, k.data = &w;
  bias.rank = 1, bias.shape[0] = 1, bias.data = &b;
  ck_assert_msg(!nnc_model_set_weight(m, "dense/kernel", &k, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_weight(m, "dense/bias", &bias, &st), "%s", st.message);
}

static double weight(nnc_model *m, const char *name) {
  nnc_status st;
  nnc_array a;
  ck_assert_msg(!nnc_model_get_weight(m, name, &a, &st), "%s", st.message);
  double v = ((const float *)a.data)[0];
  nnc_array_free(&a);
  return v;
}

static void close_to(double got, double want, const char *what, int step) {
  ck_assert_msg(fabs(got - want) <= 2e-5 * fmax(1.0, fabs(want)), "step %d: %s %.9g, want %.9g",
                step, what, got, want);
}

/* batch sizes and arrays of the steps: another size, another array (its own
 * values) every call, then back */
static const int sizes[] = {50, 7, 50, 1, 100, 33, 50};
enum { STEPS = sizeof sizes / sizeof sizes[0] };

static void fill(float *x, float *y, int n, int step, int classes) {
  for (int i = 0; i < n; i++) {
    x[i] = (float)((i * 37 + step * 11) % 101) / 50.0f - 1.0f;
    y[i] = classes ? (float)((i + step) % 2) : 0.6f * x[i] + 0.8f;
  }
}

/* Step s of a run: one train_on_batch of the model (sigmoid + binary
 * cross-entropy with accuracy when logistic, else linear + MSE) on the
 * step's batch, against the same SGD step in float64 on (*w, *b). */
static void step_follows_float64(nnc_model *m, int s, int logistic, double lr, double *w,
                                 double *b) {
  int n = sizes[s];
  float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
  fill(x, y, n, s, logistic);
  double loss = 0, acc = 0, gw = 0, gb = 0;
  for (int i = 0; i < n; i++) {
    double z = *w * x[i] + *b, e; /* e: d(per-sample loss)/dz */
    if (logistic) {
      double p = 1 / (1 + exp(-z));
      loss += (fmax(z, 0) - z * y[i] + log1p(exp(-fabs(z)))) / n;
      acc += ((p > 0.5) == (y[i] > 0.5)) / (double)n;
      e = p - y[i];
    } else {
      loss += (z - y[i]) * (z - y[i]) / n;
      e = 2 * (z - y[i]);
    }
    gw += e * x[i] / n, gb += e / n;
  }
  nnc_array xa = testutil_f32(x, n, 1), ya = testutil_f32(y, n, 1);
  nnc_logs logs = {0};
  nnc_status st;
  ck_assert_msg(!nnc_model_train_on_batch(m, &xa, &ya, &logs, &st), "%s", st.message);
  *w -= lr * gw, *b -= lr * gb;
  close_to(nnc_logs_get(&logs, "loss"), loss, "loss", s);
  if (logistic) close_to(nnc_logs_get(&logs, "accuracy"), acc, "accuracy", s);
  close_to(weight(m, "dense/kernel"), *w, "kernel", s);
  close_to(weight(m, "dense/bias"), *b, "bias", s);
  nnc_logs_free(&logs);
  free(x);
  free(y);
}

START_TEST(w2_linear_regression_follows_float64) {
  nnc_model *m =
      dense_model("linear", "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
                            "0.1}}, 'loss': 'mse'}");
  set_weights(m, 0.5f, -0.2f);
  double w = 0.5, b = -0.2;
  for (int s = 0; s < STEPS; s++) step_follows_float64(m, s, 0, 0.1, &w, &b);
  nnc_model_free(m);
}
END_TEST

/* W1: sigmoid + binary cross-entropy (the logits form, vectorized log1p and
 * exp) with accuracy */
START_TEST(w1_logistic_regression_follows_float64) {
  nnc_model *m = dense_model("sigmoid", "{'optimizer': {'class_name': 'SGD', 'config': "
                                        "{'learning_rate': 2}}, 'loss': 'binary_crossentropy', "
                                        "'metrics': ['accuracy']}");
  set_weights(m, 0.3f, 0.1f);
  double w = 0.3, b = 0.1;
  for (int s = 0; s < STEPS; s++) step_follows_float64(m, s, 1, 2, &w, &b);
  nnc_model_free(m);
}
END_TEST

START_TEST(mismatch_after_good_calls_names_the_array) {
  nnc_model *m =
      dense_model("linear", "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
                            "0.1}}, 'loss': 'mse'}");
  float x[50], y[50];
  fill(x, y, 50, 0, 0);
  nnc_array xa = testutil_f32(x, 50, 1), ya = testutil_f32(y, 50, 1), short_y = ya;
  short_y.shape[0] = 40;
  nnc_logs logs = {0};
  nnc_status st;
  for (int s = 0; s < 3; s++)
    ck_assert_msg(!nnc_model_train_on_batch(m, &xa, &ya, &logs, &st), "%s", st.message);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &xa, &short_y, &logs, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "y has shape (40, 1): expected 50 samples"), "%s", st.message);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &short_y, &ya, &logs, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "y has shape (50, 1): expected 40 samples"), "%s", st.message);
  ck_assert_msg(!nnc_model_train_on_batch(m, &xa, &ya, &logs, &st), "%s", st.message);
  nnc_logs_free(&logs);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tiny10");
  TCase *tc = tcase_create("tiny10");
  tcase_add_test(tc, w2_linear_regression_follows_float64);
  tcase_add_test(tc, w1_logistic_regression_follows_float64);
  tcase_add_test(tc, mismatch_after_good_calls_names_the_array);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
