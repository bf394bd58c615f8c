/* Convolution epilogues (compiler/passes/conv_epilogue.c, compiler/ops/
 * conv_tile_epilogue.c): the bias add, an inference BatchNormalization's
 * scale and shift and the activation computed on the conv's register tile.
 *
 * Truth: the same model compiled without the pass (NNC_CONV_EPILOGUE=0),
 * where each of those nodes is its own elementwise loop over the stored
 * output. The tile applies the same float operations in the same order, so
 * predictions, losses and the weights after training steps must be
 * bit-identical, not merely close. The models cover a vector strip with
 * single columns after it (40, 36, 5 and 3 channels: two vectors and more), relu (whose derivative
 * then reads the activation), sigmoid and tanh (lane by lane; training keeps the pre-activation),
 * BatchNormalization in inference (folded into the chain) and in training (the chain stops at the
 * batch statistics). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define B 3

/* Input [6, 6, 2]; conv a (20, relu, same) -> conv b (5, sigmoid, stride 2)
 * -> Flatten -> Dense 3; Adam on mse. */
static const char *relu_model =
    "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
    "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 6, 6, 2], 'name': 'x'}},"
    "{'class_name': 'Conv2D', 'config': {'name': 'a', 'filters': 40, 'kernel_size': [3, 3],"
    " 'padding': 'same', 'activation': 'relu'}},"
    "{'class_name': 'Conv2D', 'config': {'name': 'b', 'filters': 5, 'kernel_size': [3, 3],"
    " 'strides': [2, 2], 'activation': 'sigmoid'}},"
    "{'class_name': 'Flatten', 'config': {'name': 'f'}},"
    "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 3}}]},"
    "'compile_config': {'optimizer': {'class_name': 'Adam', 'config': {'learning_rate': 0.05}},"
    " 'loss': 'mse'}}";

/* Input [5, 5, 3]; conv a (16, no bias) -> BatchNormalization -> relu ->
 * conv b (3, 2x2, tanh) -> BatchNormalization (no center) -> Flatten. */
static const char *bn_model =
    "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
    "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 5, 5, 3], 'name': 'x'}},"
    "{'class_name': 'Conv2D', 'config': {'name': 'a', 'filters': 36, 'kernel_size': [3, 3],"
    " 'use_bias': false}},"
    "{'class_name': 'BatchNormalization', 'config': {'name': 'bn_a'}},"
    "{'class_name': 'Activation', 'config': {'name': 'act', 'activation': 'relu'}},"
    "{'class_name': 'Conv2D', 'config': {'name': 'b', 'filters': 3, 'kernel_size': [2, 2],"
    " 'activation': 'tanh'}},"
    "{'class_name': 'BatchNormalization', 'config': {'name': 'bn_b', 'center': false}},"
    "{'class_name': 'Flatten', 'config': {'name': 'f'}}]},"
    "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.1}},"
    " 'loss': 'mse'}}";

static const char *bn_weights[] = {"bn_a/gamma",           "bn_a/beta",  "bn_a/moving_mean",
                                   "bn_a/moving_variance", "bn_b/gamma", "bn_b/moving_mean",
                                   "bn_b/moving_variance"};

typedef struct run_out {
  float *pred, loss;
  int64_t n_pred;
  nnc_array w[8];
  int n_w;
} run_out;

static float *pattern(int64_t n, double freq, double shift) {
  float *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) v[i] = (float)(sin(freq * (double)i + shift) * 1.3);
  return v;
}

/* Load, set the BatchNormalization statistics away from their defaults
 * (positive variances), run `steps` train steps, predict. */
static void run(const char *json, const int64_t *xdims, int64_t ycols, int steps,
                const char **names, int n_names, int fused, run_out *out) {
  if (fused)
    unsetenv("NNC_CONV_EPILOGUE");
  else
    setenv("NNC_CONV_EPILOGUE", "0", 1);
  int64_t nx = B * xdims[0] * xdims[1] * xdims[2];
  float *x = pattern(nx, 0.37, 0.2), *y = pattern(B * ycols, 0.91, 1.0);
  nnc_array xa = {
      .dtype = NNC_F32, .rank = 4, .shape = {B, xdims[0], xdims[1], xdims[2]}, .data = x};
  nnc_array ya = testutil_f32(y, B, ycols);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(testutil_json(json), "epilogue", &m, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < n_names; i++) {
    nnc_array w;
    ck_assert_msg(nnc_model_get_weight(m, names[i], &w, &st) == NNC_OK, "%s", st.message);
    float *d = w.data;
    for (int64_t e = 0; e < nnc_array_count(&w); e++)
      d[e] = strstr(names[i], "variance") ? 0.5f + 0.1f * (float)e
                                          : (float)cos(0.7 * (double)e + (double)i);
    ck_assert(nnc_model_set_weight(m, names[i], &w, &st) == NNC_OK);
    nnc_array_free(&w);
  }
  for (int s = 0; s < steps; s++) {
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
    out->loss = (float)logs.values[0];
  }
  nnc_array p;
  ck_assert_msg(nnc_model_predict(m, &xa, B, &p, &st) == NNC_OK, "%s", st.message);
  out->n_pred = nnc_array_count(&p);
  out->pred = malloc((size_t)out->n_pred * sizeof *out->pred);
  memcpy(out->pred, p.data, (size_t)out->n_pred * sizeof *out->pred);
  nnc_array_free(&p);
  const char *trained[] = {"a/kernel", "b/kernel", "b/bias"};
  out->n_w = 3;
  for (int i = 0; i < 3; i++)
    ck_assert_msg(nnc_model_get_weight(m, trained[i], &out->w[i], &st) == NNC_OK, "%s", st.message);
  nnc_model_free(m);
  free(x), free(y);
  unsetenv("NNC_CONV_EPILOGUE");
}

static void same(const char *what, run_out *a, run_out *b) {
  ck_assert_int_eq(a->n_pred, b->n_pred);
  for (int64_t i = 0; i < a->n_pred; i++)
    ck_assert_msg(!memcmp(&a->pred[i], &b->pred[i], 4), "%s: prediction %lld: %.9g fused, %.9g not",
                  what, (long long)i, a->pred[i], b->pred[i]);
  ck_assert_msg(!memcmp(&a->loss, &b->loss, 4), "%s: loss %.9g fused, %.9g not", what, a->loss,
                b->loss);
  for (int k = 0; k < a->n_w; k++) {
    int64_t n = nnc_array_count(&a->w[k]);
    ck_assert_int_eq(n, nnc_array_count(&b->w[k]));
    ck_assert_msg(!memcmp(a->w[k].data, b->w[k].data, (size_t)n * 4), "%s: weight %d differs", what,
                  k);
    nnc_array_free(&a->w[k]);
    nnc_array_free(&b->w[k]);
  }
  free(a->pred), free(b->pred);
}

START_TEST(test_relu_sigmoid_train) {
  static const int64_t xd[3] = {6, 6, 2};
  run_out f, u;
  run(relu_model, xd, 3, 3, NULL, 0, 1, &f);
  run(relu_model, xd, 3, 3, NULL, 0, 0, &u);
  same("relu/sigmoid", &f, &u);
}
END_TEST

START_TEST(test_batchnorm) {
  static const int64_t xd[3] = {5, 5, 3};
  run_out f, u;
  /* a prediction with the moving statistics first (no step), then after
   * two train steps (batch statistics: the chain stops at them) */
  run(bn_model, xd, 2 * 2 * 3, 0, bn_weights, 7, 1, &f);
  run(bn_model, xd, 2 * 2 * 3, 0, bn_weights, 7, 0, &u);
  f.loss = u.loss = 0;
  same("batchnorm inference", &f, &u);
  run(bn_model, xd, 2 * 2 * 3, 2, bn_weights, 7, 1, &f);
  run(bn_model, xd, 2 * 2 * 3, 2, bn_weights, 7, 0, &u);
  same("batchnorm training", &f, &u);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("conv_epilogue");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_relu_sigmoid_train);
  tcase_add_test(tc, test_batchnorm);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
