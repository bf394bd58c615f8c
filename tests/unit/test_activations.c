/* The activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax) and the
 * activation strings added with them (relu6, hard_silu, mish, log_softmax).
 *
 * Forward: predict on fixed inputs against float64 formulas written here
 * from Keras 3's source (keras/src/activations/activations.py: ReLU.static_call,
 * leaky_relu, elu, relu6, hard_silu = x * relu6(x + 3) / 6, mish =
 * x * tanh(softplus(x)), log_softmax; keras/src/layers/activations/prelu.py:
 * relu(x) - alpha * relu(-x)). The inputs stay 0.05 or more from every kink.
 * Gradients: one SGD step at learning rate 1 against central differences
 * of the test loss (gradcheck.c), each layer between trainable Dense layers
 * (PReLU's alpha is a weight of its own). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "gradcheck.h"
#include "testutil.h"

#define Q testutil_json

/* InputLayer [null, dims] -> the layers -> (Flatten) with an mse compile config. */
static const char *model(const char *dims, const char *layers) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'in'}}, "
           "%s]}, 'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
           "{'learning_rate': 1.0}}, 'loss': 'mse'}}",
           dims, layers);
  return Q(buf);
}

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "act.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* The inputs: 16 values from -7.3 to 8.0 (none on a kink of the configs below). */
#define N_X 16
static const float xs[N_X] = {-7.3f, -5.1f, -3.4f, -2.2f, -1.3f, -0.7f, -0.2f, 0.1f,
                              0.3f,  0.65f, 1.2f,  2.5f,  3.3f,  4.6f,  6.4f,  8.0f};

typedef double (*formula)(double x, const double *p);

/* predict through a model of one layer (or activation) on [1, N_X]; compare each value */
static void forward(const char *layer_json, formula f, const double *p, const char *what) {
  nnc_model *m = load(model("16", layer_json));
  float x[N_X];
  memcpy(x, xs, sizeof x);
  nnc_array xa = testutil_f32(x, 1, N_X), out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 1, &out, &st) == NNC_OK, "%s", st.message);
  const float *o = out.data;
  for (int i = 0; i < N_X; i++) {
    double want = f(xs[i], p);
    ck_assert_msg(fabs(o[i] - want) <= 2e-6 * (1 + fabs(want)), "%s(%g) = %.9g, Keras: %.9g", what,
                  (double)xs[i], (double)o[i], want);
  }
  nnc_array_free(&out);
  nnc_model_free(m);
}

static double relu(double x) {
  return x > 0 ? x : 0;
}

/* ReLU.static_call with p = {negative_slope, max_value (<0: None), threshold} */
static double keras_relu(double x, const double *p) {
  double slope = p[0], max_value = p[1], threshold = p[2];
  if (slope != 0 && max_value < 0 && threshold == 0) return x > 0 ? x : slope * x;
  double negative = relu(threshold - x);
  double y = threshold != 0 ? x * (x > threshold) : relu(x);
  if (max_value >= 0) y = fmin(fmax(y, 0), max_value);
  return y - slope * negative;
}
static double leaky(double x, const double *p) {
  return x > 0 ? x : p[0] * x;
}
static double elu(double x, const double *p) {
  return x > 0 ? x : p[0] * expm1(x);
}
static double relu6(double x, const double *p) {
  (void)p;
  return fmin(fmax(x, 0), 6);
}
static double hard_silu(double x, const double *p) {
  (void)p;
  return x * fmin(fmax(x + 3, 0), 6) / 6;
}
static double mish(double x, const double *p) {
  (void)p;
  return x * tanh(log1p(exp(x)));
}

START_TEST(relu_layer_follows_keras_formula) {
  const double plain[3] = {0, -1, 0}, capped[3] = {0, 4.5, 0}, six[3] = {0.2, 6, 0},
               all[3] = {0.1, 5, 0.5}, slope_threshold[3] = {0.3, -1, 1.5}, leak[3] = {0.25, -1, 0};
  forward("{'class_name': 'ReLU', 'config': {'name': 'r'}}", keras_relu, plain, "ReLU()");
  forward("{'class_name': 'ReLU', 'config': {'name': 'r', 'max_value': 4.5}}", keras_relu, capped,
          "ReLU(max_value=4.5)");
  forward("{'class_name': 'ReLU', 'config': {'name': 'r', 'max_value': 6, 'negative_slope': 0.2}}",
          keras_relu, six, "ReLU(6, 0.2)");
  forward("{'class_name': 'ReLU', 'config': {'name': 'r', 'max_value': 5, 'negative_slope': 0.1, "
          "'threshold': 0.5}}",
          keras_relu, all, "ReLU(5, 0.1, 0.5)");
  forward(
      "{'class_name': 'ReLU', 'config': {'name': 'r', 'negative_slope': 0.3, 'threshold': 1.5}}",
      keras_relu, slope_threshold, "ReLU(slope 0.3, threshold 1.5)");
  forward("{'class_name': 'ReLU', 'config': {'name': 'r', 'negative_slope': 0.25}}", keras_relu,
          leak, "ReLU(negative_slope=0.25)");
}
END_TEST

/* The formula itself against Keras's documented examples (activations.relu docstring). */
START_TEST(relu_formula_matches_keras_docstring) {
  const double x[5] = {-10, -5, 0, 5, 10};
  const double slope[3] = {0.5, -1, 0}, cap[3] = {0, 5, 0}, thr[3] = {0, -1, 5};
  const double want_slope[5] = {-5, -2.5, 0, 5, 10}, want_cap[5] = {0, 0, 0, 5, 5},
               want_thr[5] = {0, 0, 0, 0, 10};
  for (int i = 0; i < 5; i++) {
    ck_assert(keras_relu(x[i], slope) == want_slope[i]);
    ck_assert(keras_relu(x[i], cap) == want_cap[i]);
    ck_assert(keras_relu(x[i], thr) == want_thr[i]);
  }
}
END_TEST

START_TEST(leaky_relu_elu_and_activation_strings) {
  const double k3[1] = {0.1}, k2[1] = {0.25}, dflt[1] = {0.3}, string[1] = {0.2};
  forward("{'class_name': 'LeakyReLU', 'config': {'name': 'l', 'negative_slope': 0.1}}", leaky, k3,
          "LeakyReLU(negative_slope=0.1)");
  forward("{'class_name': 'LeakyReLU', 'config': {'name': 'l', 'alpha': 0.25}}", leaky, k2,
          "LeakyReLU(alpha=0.25) (Keras 2, tfjs)");
  /* Keras 3's __init__ pops a deprecated alpha over negative_slope */
  forward("{'class_name': 'LeakyReLU', 'config': {'name': 'l', 'negative_slope': 0.1, "
          "'alpha': 0.25}}",
          leaky, k2, "LeakyReLU(negative_slope=0.1, alpha=0.25): alpha wins");
  forward("{'class_name': 'LeakyReLU', 'config': {'name': 'l'}}", leaky, dflt, "LeakyReLU()");
  forward("{'class_name': 'Activation', 'config': {'name': 'a', 'activation': 'leaky_relu'}}",
          leaky, string, "leaky_relu");
  const double half[1] = {0.5}, one[1] = {1.0};
  forward("{'class_name': 'ELU', 'config': {'name': 'e', 'alpha': 0.5}}", elu, half,
          "ELU(alpha=0.5)");
  forward("{'class_name': 'ELU', 'config': {'name': 'e'}}", elu, one, "ELU()");
  forward("{'class_name': 'Activation', 'config': {'name': 'a', 'activation': 'relu6'}}", relu6,
          NULL, "relu6");
  forward("{'class_name': 'Activation', 'config': {'name': 'a', 'activation': 'hard_silu'}}",
          hard_silu, NULL, "hard_silu");
  forward("{'class_name': 'Activation', 'config': {'name': 'a', 'activation': 'hard_swish'}}",
          hard_silu, NULL, "hard_swish");
  forward("{'class_name': 'Activation', 'config': {'name': 'a', 'activation': 'mish'}}", mish, NULL,
          "mish");
}
END_TEST

/* Softmax over axis 1 of [B, 3, 2] and log_softmax over the last axis. */
START_TEST(softmax_axis_and_log_softmax) {
  nnc_model *m =
      load(model("3, 2", "{'class_name': 'Softmax', 'config': {'name': 's', 'axis': 1}}"));
  float x[6] = {0.5f, -1, 2, 3, -0.25f, 0.75f};
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {1, 3, 2}, .data = x}, out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 1, &out, &st) == NNC_OK, "%s", st.message);
  const float *o = out.data;
  for (int c = 0; c < 2; c++) {
    double sum = 0;
    for (int r = 0; r < 3; r++) sum += exp(x[r * 2 + c]);
    for (int r = 0; r < 3; r++)
      ck_assert_msg(fabs(o[r * 2 + c] - exp(x[r * 2 + c]) / sum) < 1e-6, "softmax[%d][%d]", r, c);
  }
  nnc_array_free(&out);
  nnc_model_free(m);

  m = load(model("6", "{'class_name': 'Activation', 'config': {'name': 'a', 'activation': "
                      "'log_softmax'}}"));
  float y[6] = {0.5f, -1, 2, 30, -0.25f, 0.75f};
  xa = testutil_f32(y, 1, 6);
  ck_assert_msg(nnc_model_predict(m, &xa, 1, &out, &st) == NNC_OK, "%s", st.message);
  o = out.data;
  double sum = 0;
  for (int i = 0; i < 6; i++) sum += exp(y[i] - 30.0);
  for (int i = 0; i < 6; i++) {
    double want = y[i] - 30.0 - log(sum);
    ck_assert_msg(fabs(o[i] - want) < 2e-6 * (1 + fabs(want)), "log_softmax[%d] %g vs %g", i,
                  (double)o[i], want);
  }
  nnc_array_free(&out);
  nnc_model_free(m);
}
END_TEST

/* PReLU on [B, 2, 3] sharing axis 1: alpha [1, 3], y = relu(x) - alpha relu(-x). */
START_TEST(prelu_weight_and_values) {
  nnc_model *m = load(model("2, 3", "{'class_name': 'PReLU', 'config': {'name': 'p_re_lu', "
                                    "'shared_axes': [1]}}"));
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, "p_re_lu/alpha", &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.rank, 2);
  ck_assert_int_eq(a.shape[0], 1);
  ck_assert_int_eq(a.shape[1], 3);
  const float zeros[3] = {0, 0, 0}; /* alpha_initializer "zeros" */
  ck_assert_mem_eq(a.data, zeros, sizeof zeros);
  float alpha[3] = {0.1f, -0.5f, 2.0f};
  memcpy(a.data, alpha, sizeof alpha);
  ck_assert(nnc_model_set_weight(m, "p_re_lu/alpha", &a, &st) == NNC_OK);
  nnc_array_free(&a);
  float x[6] = {-1, 2, -3, 4, -5, -6};
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {1, 2, 3}, .data = x}, out;
  ck_assert_msg(nnc_model_predict(m, &xa, 1, &out, &st) == NNC_OK, "%s", st.message);
  const float *o = out.data;
  for (int i = 0; i < 6; i++) {
    double want = relu(x[i]) - alpha[i % 3] * relu(-x[i]);
    ck_assert_msg(fabs(o[i] - want) < 1e-6, "prelu[%d] %g vs %g", i, (double)o[i], want);
  }
  nnc_array_free(&out);
  nnc_model_free(m);
}
END_TEST

static void spec_error(const char *json, const char *want) {
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(json, "act.json", &m, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
}

START_TEST(refusals_name_layer_and_key) {
  spec_error(model("2, 3", "{'class_name': 'PReLU', 'config': {'name': 'p', 'shared_axes': [2]}}"),
             "$.config.layers[1].config.shared_axes: PReLU \"p\" shares axis 2 after the unshared "
             "axis 1");
  spec_error(model("4", "{'class_name': 'ReLU', 'config': {'name': 'r', 'max_value': -1}}"),
             "config.max_value: expected a number >= 0");
  spec_error(model("4", "{'class_name': 'Softmax', 'config': {'name': 's', 'axis': [1, 2]}}"),
             "config.axis: Softmax over several axes is not supported yet");
  spec_error(model("4", "{'class_name': 'Softmax', 'config': {'name': 's', 'axis': 2}}"),
             "config.axis: expected an axis of the input");
}
END_TEST

/* ---- gradients ---- */

static void grad(const char *dims_after_dense, int units, const char *layers, int in_dim) {
  char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': %d}}, "
           "{'class_name': 'Reshape', 'config': {'name': 'r', 'target_shape': [%s]}}, %s, "
           "{'class_name': 'Flatten', 'config': {'name': 'f'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'd2', 'units': 1}}",
           units, dims_after_dense, layers);
  char dims[16];
  snprintf(dims, sizeof dims, "%d", in_dim);
  gradcheck_opts o = {6, 4242, -0.6, 0.3, 1.7, 3, 1, 5e-4, 5e-3};
  gradcheck_model(model(dims, buf), in_dim, &o);
}

START_TEST(gradients_match_finite_differences) {
  /* (ReLU with three kinks close together: derivatives_at_points_between_kinks;
   * here, with random pre-activations, a finite-difference step may cross one) */
  grad("6", 6,
       "{'class_name': 'ReLU', 'config': {'name': 'a', 'max_value': 6, "
       "'negative_slope': 0.2}}",
       3);
  grad("6", 6, "{'class_name': 'LeakyReLU', 'config': {'name': 'a', 'negative_slope': 0.15}}", 3);
  grad("6", 6, "{'class_name': 'ELU', 'config': {'name': 'a', 'alpha': 0.6}}", 3);
  grad("2, 3", 6, "{'class_name': 'PReLU', 'config': {'name': 'a', 'shared_axes': [1]}}", 3);
  grad("2, 3", 6, "{'class_name': 'PReLU', 'config': {'name': 'a'}}", 3);
  grad("3, 2", 6, "{'class_name': 'Softmax', 'config': {'name': 'a', 'axis': 1}}", 3);
  grad("3, 2", 6, "{'class_name': 'Softmax', 'config': {'name': 'a'}}", 3);
  static const char *const strings[] = {"relu6", "hard_silu", "mish", "log_softmax"};
  for (int i = 0; i < 4; i++) {
    char layer[256];
    snprintf(layer, sizeof layer,
             "{'class_name': 'Activation', 'config': {'name': 'a', 'activation': '%s'}}",
             strings[i]);
    grad("6", 6, layer, 3);
  }
}
END_TEST

/* The derivative of a layer at chosen points: x -> Dense(1, kernel 1, bias 0)
 * -> layer -> Dense(1, kernel 1, bias 0), mse against 0, one sample: the
 * loss is f(x + b)^2, so one SGD step moves the first bias by
 * -2 f(x) f'(x), compared with a central difference of f in float64. */
static void derivative_at(const char *layer, formula f, const double *p, double x) {
  char buf[2048];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 1, 'kernel_initializer': "
           "'ones'}}, %s, {'class_name': 'Dense', 'config': {'name': 'd2', 'units': 1, "
           "'kernel_initializer': 'ones'}}",
           layer);
  nnc_model *m = load(model("1", buf));
  float xv[1] = {(float)x}, yv[1] = {0};
  nnc_array xa = testutil_f32(xv, 1, 1), ya = testutil_f32(yv, 1, 1), b;
  nnc_status st;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_get_weight(m, "d1/bias", &b, &st) == NNC_OK);
  double step = -(double)((float *)b.data)[0];
  double fx = f((float)x, p), h = 1e-6;
  double d = (f((float)x + h, p) - f((float)x - h, p)) / (2 * h);
  ck_assert_msg(fabs(step - 2 * fx * d) <= 1e-5 * (1 + fabs(2 * fx * d)),
                "%s at %g: step %.7g, 2 f f' = %.7g", layer, x, step, 2 * fx * d);
  nnc_array_free(&b);
  nnc_model_free(m);
}

START_TEST(derivatives_at_points_between_kinks) {
  const double all[3] = {0.3, 0.9, 0.4};
  const char *relu_all = "{'class_name': 'ReLU', 'config': {'name': 'a', 'max_value': 0.9, "
                         "'negative_slope': 0.3, 'threshold': 0.4}}";
  for (int i = 0; i < N_X; i++) derivative_at(relu_all, keras_relu, all, xs[i] / 4);
  const double half[1] = {0.5};
  for (int i = 0; i < N_X; i++)
    derivative_at("{'class_name': 'ELU', 'config': {'name': 'a', 'alpha': 0.5}}", elu, half,
                  xs[i] / 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("activations");
  TCase *tc = tcase_create("activations");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, relu_formula_matches_keras_docstring);
  tcase_add_test(tc, relu_layer_follows_keras_formula);
  tcase_add_test(tc, leaky_relu_elu_and_activation_strings);
  tcase_add_test(tc, softmax_axis_and_log_softmax);
  tcase_add_test(tc, prelu_weight_and_values);
  tcase_add_test(tc, refusals_name_layer_and_key);
  tcase_add_test(tc, derivatives_at_points_between_kinks);
  tcase_add_test(tc, gradients_match_finite_differences);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
