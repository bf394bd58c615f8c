/* Which logits the crossentropies read (Keras 3, TensorFlow backend).
 *
 * keras/src/activations sigmoid() and softmax() attach their input to their
 * output as _keras_logits, and backend/tensorflow/nn.py _get_logits makes
 * binary_crossentropy, categorical_crossentropy and
 * sparse_categorical_crossentropy use it whenever it is there, with
 * from_logits forced to True. So for a Dense(k, sigmoid|softmax) output with
 * pre-activation z, all twelve combinations
 *   {BCE, CCE, SCCE} x {sigmoid, softmax} x {from_logits false, true}
 * compute the loss from z: BCE as the sigmoid crossentropy of z, CCE/SCCE as
 * the softmax crossentropy of z. from_logits=True additionally warns, with a
 * text naming the activation the loss expects ("Sigmoid" for BCE, "Softmax"
 * for the others). Metrics read the output, not z.
 *
 * Truth: the float64 formulas below evaluated on z = x W + b, and their
 * central differences (h = 1e-6 in float64, error ~1e-9) for the gradient
 * the train step applies (SGD(learning_rate=1): g = w_before - w_after). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

enum { BCE, CCE, SCCE };
static const char *const loss_class[] = {"BinaryCrossentropy", "CategoricalCrossentropy",
                                         "SparseCategoricalCrossentropy"};
static const char *const loss_fn[] = {"binary_crossentropy", "categorical_crossentropy",
                                      "sparse_categorical_crossentropy"};

#define N 4 /* batch */
#define D 3 /* inputs */
#define K 3 /* units */

/* x, kernel, bias: fixed values with z spread over (-2, 2) */
static const float X[N][D] = {
    {0.5f, -1.0f, 0.25f}, {-0.75f, 0.3f, 0.9f}, {1.0f, 0.6f, -0.4f}, {-0.2f, -0.8f, -0.6f}};
static const float W0[D][K] = {{0.8f, -0.6f, 0.3f}, {-0.5f, 0.9f, 0.4f}, {0.7f, 0.2f, -1.1f}};
static const float B0[K] = {0.1f, -0.2f, 0.35f};

/* targets: hard and soft for BCE/CCE (a CCE row that does not sum to 1), classes for SCCE */
static const float Y_BCE[N][K] = {{1, 0, 0.3f}, {0, 1, 1}, {1, 1, 0}, {0, 0, 1}};
static const float Y_CCE[N][K] = {{0, 1, 0}, {1, 0, 0}, {0.2f, 0.5f, 0.6f}, {0, 0, 1}};
static const float Y_SCCE[N] = {2, 0, 1, 1};

/* Keras's loss on pre-activations z (float64), "sum_over_batch_size". */
static double ref_loss(int loss, const double w[D][K], const double b[K]) {
  double total = 0;
  for (int r = 0; r < N; r++) {
    double z[K], m = -INFINITY, s = 0;
    for (int j = 0; j < K; j++) {
      z[j] = b[j];
      for (int i = 0; i < D; i++) z[j] += (double)X[r][i] * w[i][j];
      m = fmax(m, z[j]);
    }
    if (loss ==
        BCE) { /* tf.nn.sigmoid_cross_entropy_with_logits, then the mean over the last axis */
      for (int j = 0; j < K; j++)
        total += (fmax(z[j], 0) - z[j] * Y_BCE[r][j] + log1p(exp(-fabs(z[j])))) / K;
      continue;
    }
    for (int j = 0; j < K; j++) s += exp(z[j] - m);
    double lse = m + log(s);
    if (loss == SCCE)
      total += lse - z[(int)Y_SCCE[r]];
    else
      for (int j = 0; j < K; j++) total -= Y_CCE[r][j] * (z[j] - lse);
  }
  return total / N;
}

static double sigmoid(double v) {
  return 1 / (1 + exp(-v));
}

/* binary_accuracy on the output (threshold 0.5), as Keras computes it from y_pred */
static double ref_binary_accuracy(const char *act) {
  double hits = 0;
  for (int r = 0; r < N; r++) {
    double z[K], p[K], s = 0;
    for (int j = 0; j < K; j++) {
      z[j] = B0[j];
      for (int i = 0; i < D; i++) z[j] += (double)X[r][i] * W0[i][j];
      s += exp(z[j]);
    }
    for (int j = 0; j < K; j++) {
      p[j] = strcmp(act, "sigmoid") == 0 ? sigmoid(z[j]) : exp(z[j]) / s;
      hits += (p[j] > 0.5 ? 1.0f : 0.0f) == Y_BCE[r][j]; /* exact equality: 0.3 never hits */
    }
  }
  return hits / (N * K);
}

static char *spec_json(const char *act, int loss, int from_logits) {
  char *s = malloc(2048);
  ck_assert_ptr_nonnull(s);
  snprintf(s, 2048,
           "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"m\",\"layers\":["
           "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,%d],\"name\":\"in\"}},"
           "{\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":%d,"
           "\"activation\":\"%s\"}}]},"
           "\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":"
           "{\"learning_rate\":1.0}},\"loss\":{\"class_name\":\"%s\",\"config\":"
           "{\"from_logits\":%s}},\"metrics\":[%s]}}",
           D, K, act, loss_class[loss], from_logits ? "true" : "false",
           loss == BCE ? "\"binary_accuracy\"" : "");
  return s;
}

static nnc_array f32(const float *data, int rank, int64_t d0, int64_t d1) {
  nnc_array a;
  memset(&a, 0, sizeof a);
  a.dtype = NNC_F32;
  a.rank = rank;
  a.shape[0] = d0;
  a.shape[1] = d1;
  a.data = (void *)data;
  return a;
}

static void set_weights(nnc_model *m) {
  nnc_status st;
  nnc_array k = f32(&W0[0][0], 2, D, K), b = f32(B0, 1, K, 0);
  ck_assert_msg(nnc_model_set_weight(m, "out/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "out/bias", &b, &st) == NNC_OK, "%s", st.message);
}

static const char *expected_warning(int loss) {
  static char text[512];
  snprintf(text, sizeof text,
           "\"`%s` received `from_logits=True`, but the `output` argument was produced by a %s "
           "activation and thus does not represent logits. Was this intended?",
           loss_fn[loss], loss == BCE ? "Sigmoid" : "Softmax");
  return text;
}

/* _i = loss * 4 + act * 2 + from_logits */
START_TEST(crossentropy_reads_the_pre_activation) {
  int loss = _i / 4, from_logits = _i % 2;
  const char *act = (_i / 2) % 2 ? "softmax" : "sigmoid";
  char what[128];
  snprintf(what, sizeof what, "%s on a %s output, from_logits=%s", loss_fn[loss], act,
           from_logits ? "true" : "false");
  char *json = spec_json(act, loss, from_logits);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "logits", &m, &st) == NNC_OK, "%s", st.message);
  free(json);
  nnc_array x = f32(&X[0][0], 2, N, D);
  nnc_array y = loss == BCE   ? f32(&Y_BCE[0][0], 2, N, K)
                : loss == CCE ? f32(&Y_CCE[0][0], 2, N, K)
                              : f32(Y_SCCE, 1, N, 0);
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s: %s", what, st.message);
  set_weights(m);

  /* the warning: present exactly when from_logits=True, once */
  ck_assert_msg(nnc_model_warning_count(m) == from_logits, "%s: %d warnings", what,
                nnc_model_warning_count(m));
  if (from_logits) ck_assert_str_eq(nnc_model_warning(m, 0), expected_warning(loss));
  ck_assert_ptr_null(nnc_model_warning(m, from_logits));

  /* the loss value */
  double w[D][K], b[K];
  for (int i = 0; i < D; i++)
    for (int j = 0; j < K; j++) w[i][j] = W0[i][j];
  for (int j = 0; j < K; j++) b[j] = B0[j];
  double want = ref_loss(loss, w, b);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_test_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  double got = nnc_logs_get(&logs, "loss");
  ck_assert_msg(fabs(got - want) <= 1e-6 * fabs(want), "%s: loss %.9g, Keras %.9g", what, got,
                want);
  if (loss == BCE) { /* the metric reads the output, not z */
    double acc = nnc_logs_get(&logs, "binary_accuracy"), want_acc = ref_binary_accuracy(act);
    ck_assert_msg(fabs(acc - want_acc) < 1e-6, "%s: binary_accuracy %.6g, from y_pred %.6g", what,
                  acc, want_acc);
  }

  /* the gradient: one SGD(1) step against central differences of the loss */
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(fabs(nnc_logs_get(&logs, "loss") - want) <= 1e-6 * fabs(want), "%s: train loss",
                what);
  nnc_array k1, b1;
  ck_assert(nnc_model_get_weight(m, "out/kernel", &k1, &st) == NNC_OK);
  ck_assert(nnc_model_get_weight(m, "out/bias", &b1, &st) == NNC_OK);
  const float *kk = k1.data, *bb = b1.data;
  const double h = 1e-6;
  for (int e = 0; e < D * K + K; e++) {
    double *v = e < D * K ? &w[e / K][e % K] : &b[e - D * K], keep = *v;
    *v = keep + h;
    double lp = ref_loss(loss, w, b);
    *v = keep - h;
    double lm = ref_loss(loss, w, b);
    *v = keep;
    double fd = (lp - lm) / (2 * h);
    double g = e < D * K ? (double)W0[e / K][e % K] - kk[e] : (double)B0[e - D * K] - bb[e - D * K];
    ck_assert_msg(fabs(g - fd) <= 1e-5 + 1e-4 * fabs(fd), "%s: gradient[%d] %.8g, Keras %.8g", what,
                  e, g, fd);
  }
  nnc_array_free(&k1);
  nnc_array_free(&b1);
  nnc_model_free(m);
}
END_TEST

/* No sigmoid/softmax, no _keras_logits: from_logits=True is taken at its word, silently. */
START_TEST(linear_output_no_warning) {
  char *json = spec_json("linear", BCE, 1);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "logits", &m, &st) == NNC_OK, "%s", st.message);
  free(json);
  ck_assert(nnc_model_is_built(m));
  ck_assert_int_eq(nnc_model_warning_count(m), 0);
  ck_assert_ptr_null(nnc_model_warning(m, 0));
  nnc_model_free(m);
  ck_assert_int_eq(nnc_model_warning_count(NULL), 0);
  ck_assert_ptr_null(nnc_model_warning(NULL, 0));
}
END_TEST

/* The rank fix-up: targets (N, 5) against an output (None, 5, 1) make Keras
 * squeeze the output, a new tensor without _keras_logits. from_logits=True
 * then reads the probabilities as logits (sigmoid applied twice), with no
 * warning: loss = mean sigmoid_xent(sigmoid(z), y). */
START_TEST(rank_fixup_from_logits_reads_the_output) {
  const char *json =
      "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"m\",\"layers\":["
      "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,5,1],\"name\":\"in\"}},"
      "{\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":1,"
      "\"activation\":\"sigmoid\"}}]},"
      "\"compile_config\":{\"optimizer\":\"sgd\",\"loss\":{\"class_name\":\"BinaryCrossentropy\","
      "\"config\":{\"from_logits\":true}}}}";
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "logits", &m, &st) == NNC_OK, "%s", st.message);
  float x[2 * 5], y[2 * 5], kernel[1] = {1.5f}, bias[1] = {-0.25f};
  for (int i = 0; i < 10; i++) x[i] = (float)(i - 4) * 0.4f, y[i] = (float)(i % 3 == 0);
  nnc_array xa = f32(x, 3, 2, 5), ya = f32(y, 2, 2, 5);
  xa.shape[2] = 1;
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  nnc_array ka = f32(kernel, 2, 1, 1), ba = f32(bias, 1, 1, 0);
  ck_assert(nnc_model_set_weight(m, "out/kernel", &ka, &st) == NNC_OK);
  ck_assert(nnc_model_set_weight(m, "out/bias", &ba, &st) == NNC_OK);
  ck_assert_int_eq(nnc_model_warning_count(m), 0);
  double want = 0;
  for (int i = 0; i < 10; i++) {
    double p = sigmoid(1.5 * (double)x[i] - 0.25);
    want += (fmax(p, 0) - p * y[i] + log1p(exp(-fabs(p)))) / 10;
  }
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_test_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  double got = nnc_logs_get(&logs, "loss");
  ck_assert_msg(fabs(got - want) <= 1e-6 * want, "loss %.9g, Keras %.9g", got, want);
  nnc_model_free(m);
}
END_TEST

/* Keras's Flatten is a reshape: a new tensor without _keras_logits. A
 * Flatten after the sigmoid therefore leaves the loss on the probabilities:
 * clipped BCE with from_logits=false, the probabilities read as logits with
 * from_logits=true, and no warning either way. */
START_TEST(flatten_after_the_activation_hides_the_logits) {
  for (int from_logits = 0; from_logits < 2; from_logits++) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"m\",\"layers\":["
             "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,1]}},"
             "{\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":1,"
             "\"activation\":\"sigmoid\"}},{\"class_name\":\"Flatten\",\"config\":{}}]},"
             "\"compile_config\":{\"optimizer\":\"sgd\",\"loss\":{\"class_name\":"
             "\"BinaryCrossentropy\",\"config\":{\"from_logits\":%s}}}}",
             from_logits ? "true" : "false");
    nnc_model *m;
    nnc_status st;
    ck_assert_msg(nnc_model_load_string(json, "logits", &m, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(nnc_model_warning_count(m), 0);
    /* z = 20 x: sigmoid(20) = 1 - 2e-9 is clipped to 1 - 1e-7 (float32) without logits */
    float x[2] = {1.0f, -0.5f}, y[2] = {0.0f, 1.0f}, kernel[1] = {20.0f}, bias[1] = {0.0f};
    nnc_array xa = f32(x, 2, 2, 1), ya = f32(y, 2, 2, 1);
    nnc_array ka = f32(kernel, 2, 1, 1), ba = f32(bias, 1, 1, 0);
    ck_assert(nnc_model_set_weight(m, "out/kernel", &ka, &st) == NNC_OK);
    ck_assert(nnc_model_set_weight(m, "out/bias", &ba, &st) == NNC_OK);
    double want = 0;
    for (int i = 0; i < 2; i++) {
      double p = sigmoid(20.0 * x[i]);
      if (from_logits) {
        want += (fmax(p, 0) - p * y[i] + log1p(exp(-fabs(p)))) / 2;
      } else {
        double q = fmin(fmax(p, 1e-7), (double)(1.0f - 1e-7f));
        want -= (y[i] * log(q) + (1 - y[i]) * log(1 - q)) / 2;
      }
    }
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_test_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
    double got = nnc_logs_get(&logs, "loss");
    /* the logits form would give (20 + 10) / 2 = 15, not about 13 */
    ck_assert_msg(fabs(got - want) <= 1e-5 * want, "from_logits=%d: loss %.9g, Keras %.9g",
                  from_logits, got, want);
    nnc_model_free(m);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("logits");
  TCase *tc = tcase_create("logits");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, crossentropy_reads_the_pre_activation, 0, 12);
  tcase_add_test(tc, linear_output_no_warning);
  tcase_add_test(tc, rank_fixup_from_logits_reads_the_output);
  tcase_add_test(tc, flatten_after_the_activation_hides_the_logits);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
