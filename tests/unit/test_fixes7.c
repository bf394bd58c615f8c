/* Session 7's small fixes, one test each (each fails on the code before
 * its fix): integer config values range-checked before their conversion
 * (UBSan's float-cast-overflow in the sanitizer run), ZeroPadding/Cropping
 * amounts as Keras 3 takes them, GaussianDropout rate 1, LeakyReLU's alpha
 * and negative_slope, weights files with tensors of no variable, per-step
 * sample weights with a loss axis, ModelCheckpoint templates checked before
 * training. Keras 3 behaviour is read from its source (cited per test).
 * JSON literals use ' for " (testutil_json()). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/lower/lower.h"
#include "compiler/spec/spec.h"
#include "runtime/io/io.h"
#include "testutil.h"

#define DENSE "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 3}}"
#define DENSE_4 "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 4}}"
#define SGD_MSE "{'optimizer': 'sgd', 'loss': 'mse'}"

/* ---- 1. integers range-checked before the conversion ---- */

/* Each value 1e30 used to be converted to int or int64 before its range
 * check: undefined behaviour, which the sanitizer run (float-cast-overflow,
 * no recovery) stops at. Now each is refused with its path. */
START_TEST(huge_integers_refused_before_conversion) {
  const char *loss_cfg[] = {
      "{'class_name': 'SparseCategoricalCrossentropy', 'config': {'ignore_class': 1e30}}",
      "{'class_name': 'SparseCategoricalCrossentropy', 'config': {'ignore_class': -1e30}}",
      "{'class_name': 'CategoricalCrossentropy', 'config': {'axis': 1e30}}",
      "{'class_name': 'Dice', 'config': {'axis': [1, -1e30]}}",
  };
  const char *loss_path[] = {
      "$.compile_config.loss.config.ignore_class", "$.compile_config.loss.config.ignore_class",
      "$.compile_config.loss.config.axis", "$.compile_config.loss.config.axis[1]"};
  for (int i = 0; i < 4; i++) {
    char cc[512];
    snprintf(cc, sizeof cc, "{'optimizer': 'sgd', 'loss': %s}", loss_cfg[i]);
    testutil_expect_spec_error(testutil_sequential("4", DENSE, cc), loss_path[i], "expected ");
  }
  /* the same in metrics and layers */
  testutil_expect_spec_error(
      testutil_sequential(
          "4", DENSE,
          "{'optimizer': 'sgd', 'loss': 'mse', 'metrics': [{'class_name': 'MeanIoU', "
          "'config': {'num_classes': 3, 'ignore_class': 1e30}}]}"),
      "$.compile_config.metrics[0].config.ignore_class", "expected an integer class id");
  testutil_expect_spec_error(
      testutil_sequential(
          "4", DENSE,
          "{'optimizer': 'sgd', 'loss': 'mse', 'metrics': [{'class_name': 'Precision', "
          "'config': {'top_k': 1e30}}]}"),
      "$.compile_config.metrics[0].config.top_k", "expected an integer >= 1");
  testutil_expect_spec_error(
      testutil_sequential(
          "4", DENSE,
          "{'optimizer': 'sgd', 'loss': 'mse', 'metrics': [{'class_name': 'Recall', "
          "'config': {'class_id': 1e30}}]}"),
      "$.compile_config.metrics[0].config.class_id", "expected a class index");
  testutil_expect_spec_error(
      testutil_sequential(
          "4", "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': 1e30}}", NULL),
      "$.config.layers[1].config.axis", "expected an integer");
  testutil_expect_spec_error(
      testutil_sequential(
          "4", "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': [-1e30]}}", NULL),
      "$.config.layers[1].config.axis", "expected an integer");
  /* an in-range ignore_class still parses */
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_msg(
      nnc_spec_parse_string(
          testutil_sequential("4", DENSE,
                              "{'optimizer': 'sgd', 'loss': {'class_name': "
                              "'SparseCategoricalCrossentropy', 'config': {'ignore_class': -1}}}"),
          "model.json", &spec, &st) == NNC_OK,
      "%s", st.message);
  ck_assert_int_eq(spec.compile.losses[0].loss.has_ignore_class, 1);
  ck_assert_int_eq(spec.compile.losses[0].loss.ignore_class, -1);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(huge_attention_axes_refused) {
  testutil_expect_spec_error(
      testutil_sequential(
          "4, 8",
          "{'class_name': 'MultiHeadAttention', 'config': {'name': 'a', 'num_heads': 1, "
          "'key_dim': 2, 'attention_axes': 1e30}}",
          NULL),
      "$.config.layers[1].config.attention_axes", "null or the one step axis");
}
END_TEST

/* ---- 2. ZeroPadding / Cropping amounts (keras/src/layers/reshaping) ---- */

#define ZP(cls, pad) "{'class_name': '" cls "', 'config': {'name': 'z', 'padding': " pad "}}"

/* ZeroPadding1D: standardize_tuple(padding, 2): an int or two ints only */
START_TEST(zero_padding1d_as_keras3) {
  nnc_shape s =
      testutil_lowered_output(testutil_sequential("5, 2", ZP("ZeroPadding1D", "[1, 2]"), NULL));
  ck_assert_int_eq(s.dims[1], 5 + 1 + 2);
  s = testutil_lowered_output(testutil_sequential("5, 2", ZP("ZeroPadding1D", "3"), NULL));
  ck_assert_int_eq(s.dims[1], 5 + 3 + 3);
  const char *bad[] = {"[[1, 2]]", "[3]", "[1, 2, 3]"};
  for (int i = 0; i < 3; i++) {
    char layer[256];
    snprintf(layer, sizeof layer, ZP("ZeroPadding1D", "%s"), bad[i]);
    testutil_expect_spec_error(testutil_sequential("5, 2", layer, NULL),
                               "$.config.layers[1].config.padding",
                               "expected an integer >= 0 or a list [before, after] of 2 integers");
  }
  testutil_expect_spec_error(
      testutil_sequential("5, 2", ZP("ZeroPadding1D", "[[1, 2], [3, 4]]"), NULL),
      "$.config.layers[1].config.padding[0]", "expected an integer >= 0, got a list");
  testutil_expect_spec_error(testutil_sequential("5, 2", ZP("ZeroPadding1D", "[1, [2, 3]]"), NULL),
                             "$.config.layers[1].config.padding[1]",
                             "expected an integer >= 0, got a list");
  testutil_expect_spec_error(testutil_sequential("5, 2", ZP("ZeroPadding1D", "[1, -2]"), NULL),
                             "$.config.layers[1].config.padding[1]",
                             "expected an integer >= 0, got -2");
  /* Cropping1D shares the rule */
  testutil_expect_spec_error(
      testutil_sequential("5, 2",
                          "{'class_name': 'Cropping1D', 'config': {'name': 'c', 'cropping': "
                          "[[1, 2]]}}",
                          NULL),
      "$.config.layers[1].config.cropping", "a list [before, after] of 2 integers");
}
END_TEST

/* ZeroPadding2D/3D: an int, or n entries each an int or a pair */
START_TEST(zero_padding2d_3d_as_keras3) {
  nnc_shape s = testutil_lowered_output(
      testutil_sequential("4, 5, 1", ZP("ZeroPadding2D", "[[1, 2], 3]"), NULL));
  ck_assert_int_eq(s.dims[1], 4 + 1 + 2);
  ck_assert_int_eq(s.dims[2], 5 + 3 + 3);
  s = testutil_lowered_output(
      testutil_sequential("2, 3, 4, 1", ZP("ZeroPadding3D", "[1, [0, 2], [3, 0]]"), NULL));
  ck_assert_int_eq(s.dims[1], 2 + 2);
  ck_assert_int_eq(s.dims[2], 3 + 2);
  ck_assert_int_eq(s.dims[3], 4 + 3);
  testutil_expect_spec_error(testutil_sequential("4, 5, 1", ZP("ZeroPadding2D", "[[1, 2]]"), NULL),
                             "$.config.layers[1].config.padding", "a list of 2 entries");
  testutil_expect_spec_error(
      testutil_sequential("4, 5, 1", ZP("ZeroPadding2D", "[[1, 2, 3], 1]"), NULL),
      "$.config.layers[1].config.padding[0]", "a list [before, after] of 2 integers");
  testutil_expect_spec_error(
      testutil_sequential("4, 5, 1", ZP("ZeroPadding2D", "[[1, -2], 1]"), NULL),
      "$.config.layers[1].config.padding[0][1]", "an integer >= 0");
  testutil_expect_spec_error(testutil_sequential("4, 5, 1", ZP("ZeroPadding2D", "[1, 'a']"), NULL),
                             "$.config.layers[1].config.padding[1]", "[before, after]");
  testutil_expect_spec_error(testutil_sequential("2, 3, 4, 1", ZP("ZeroPadding3D", "[1, 2]"), NULL),
                             "$.config.layers[1].config.padding", "a list of 3 entries");
}
END_TEST

/* ---- 4. GaussianDropout rate 1, noise arguments ---- */

#define GD(rate) "{'class_name': 'GaussianDropout', 'config': {'name': 'g', 'rate': " rate "}}"

/* gaussian_dropout.py: 0 <= rate <= 1 at construction; the training call
 * computes math.sqrt(rate / (1.0 - rate)): rate 1 divides by zero. */
START_TEST(gaussian_dropout_rate_one) {
  testutil_expect_spec_error(testutil_sequential("4", GD("1"), SGD_MSE), "$.config.layers[1]",
                             "has rate 1: its noise's stddev sqrt(rate / (1 - rate)) is infinite");
  testutil_expect_spec_error(testutil_sequential("4", GD("1.5"), NULL),
                             "$.config.layers[1].config.rate", "expected a number in [0, 1]");
  testutil_expect_spec_error(testutil_sequential("4", GD("-0.1"), NULL),
                             "$.config.layers[1].config.rate", "expected a number in [0, 1]");
  /* without a compile config: inference only, the layer is x */
  nnc_model *m = testutil_load(testutil_sequential("4", GD("1"), NULL));
  float x[8] = {1, -2, 3, -4, 5, 6, -7, 8};
  nnc_array xa = testutil_f32(x, 2, 4), out;
  nnc_status st = {0};
  ck_assert_msg(nnc_model_predict(m, &xa, 2, &out, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < 8; i++) ck_assert_float_eq(((float *)out.data)[i], x[i]);
  nnc_array_free(&out);
  nnc_model_free(m);
  /* a training: false call never runs the train side */
  nnc_model_free(testutil_load(
      testutil_json("{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
                    "{'class_name': 'InputLayer', 'name': 'in', 'config': {'batch_shape': "
                    "[null, 4], 'name': 'in'}, 'inbound_nodes': []},"
                    "{'class_name': 'GaussianDropout', 'name': 'g', 'config': {'name': 'g', "
                    "'rate': 1}, 'inbound_nodes': [{'args': [{'class_name': '__keras_tensor__', "
                    "'config': {'keras_history': ['in', 0, 0]}}], 'kwargs': {'training': "
                    "false}}]}], 'input_layers': [['in', 0, 0]], 'output_layers': [['g', 0, "
                    "0]]}, 'compile_config': {'optimizer': 'sgd', 'loss': 'mse'}}")));
}
END_TEST

/* gaussian_noise.py refuses a stddev below 0 */
START_TEST(gaussian_noise_negative_stddev) {
  testutil_expect_spec_error(
      testutil_sequential(
          "4", "{'class_name': 'GaussianNoise', 'config': {'name': 'g', 'stddev': -0.1}}", NULL),
      "$.config.layers[1].config.stddev", "expected a number >= 0, got -0.1");
}
END_TEST

/* ---- 5. LeakyReLU alpha / negative_slope (leaky_relu.py) ---- */

#define LRELU(cfg) "{'class_name': 'LeakyReLU', 'config': {'name': 'l'" cfg "}}"

/* The slope a LeakyReLU config gives: the output for x = -1. */
static float slope_of(const char *layer) {
  nnc_model *m = testutil_load(testutil_sequential("1", layer, NULL));
  float x = -1;
  nnc_array xa = testutil_f32(&x, 1, 1), out;
  nnc_status st = {0};
  ck_assert_msg(nnc_model_predict(m, &xa, 1, &out, &st) == NNC_OK, "%s", st.message);
  float y = ((float *)out.data)[0];
  nnc_array_free(&out);
  nnc_model_free(m);
  return -y;
}

START_TEST(leaky_relu_alpha_and_negative_slope) {
  ck_assert_float_eq_tol(slope_of(LRELU(", 'negative_slope': 0.1")), 0.1f, 1e-7f); /* Keras 3 */
  ck_assert_float_eq_tol(slope_of(LRELU(", 'alpha': 0.2")), 0.2f, 1e-7f);          /* Keras 2 */
  ck_assert_float_eq_tol(slope_of(LRELU("")), 0.3f, 1e-7f);
  /* both: __init__ pops alpha over negative_slope */
  ck_assert_float_eq_tol(slope_of(LRELU(", 'negative_slope': 0.1, 'alpha': 0.2")), 0.2f, 1e-7f);
  /* alpha: null is popped too and refused ("cannot be None"), not skipped */
  testutil_expect_spec_error(
      testutil_sequential("1", LRELU(", 'alpha': null, 'negative_slope': 0.1"), NULL),
      "$.config.layers[1].config.alpha", "takes alpha over negative_slope");
  testutil_expect_spec_error(testutil_sequential("1", LRELU(", 'negative_slope': null"), NULL),
                             "$.config.layers[1].config.negative_slope", "refuses a slope of None");
  testutil_expect_spec_error(testutil_sequential("1", LRELU(", 'negative_slope': -0.1"), NULL),
                             "$.config.layers[1].config.negative_slope", "a number >= 0");
  /* siblings: ReLU's negative_slope and threshold, ELU's alpha */
  testutil_expect_spec_error(
      testutil_sequential(
          "1", "{'class_name': 'ReLU', 'config': {'name': 'r', 'negative_slope': null}}", NULL),
      "$.config.layers[1].config.negative_slope", "refuses None");
  testutil_expect_spec_error(
      testutil_sequential("1", "{'class_name': 'ReLU', 'config': {'name': 'r', 'threshold': null}}",
                          NULL),
      "$.config.layers[1].config.threshold", "refuses None");
  testutil_expect_spec_error(
      testutil_sequential("1", "{'class_name': 'ELU', 'config': {'name': 'e', 'alpha': null}}",
                          NULL),
      "$.config.layers[1].config.alpha", "cannot be None");
}
END_TEST

/* ---- 3. weights files with tensors of no variable ---- */

/* A built Dense(3) on 4 features: weights d/kernel [4, 3], d/bias [3]. */
static nnc_model *dense_model(void) {
  nnc_model *m = testutil_load(testutil_sequential("4", DENSE, NULL));
  float x[4] = {0};
  nnc_array xa = testutil_f32(x, 1, 4);
  nnc_status st = {0};
  ck_assert_msg(nnc_model_build(m, &xa, NULL, &st) == NNC_OK, "%s", st.message);
  return m;
}

static const char *weights_file(const char *name, const float *kernel, int bias_len,
                                const char *extra) {
  static float bias[4] = {0.5f, 0.25f, -1, 2}, other[2] = {1, 2};
  nnc_array k = {.dtype = NNC_F32, .rank = 2, .shape = {4, 3}, .data = (void *)kernel};
  nnc_array b = {.dtype = NNC_F32, .rank = 1, .shape = {bias_len}, .data = bias};
  nnc_array e = {.dtype = NNC_F32, .rank = 1, .shape = {2}, .data = other};
  nnc_tensor_set set = {0};
  nnc_status st = {0};
  ck_assert(nnc_tensor_set_add(&set, "d/kernel", &k, &st) == NNC_OK);
  ck_assert(nnc_tensor_set_add(&set, "d/bias", &b, &st) == NNC_OK);
  if (extra) ck_assert(nnc_tensor_set_add(&set, extra, &e, &st) == NNC_OK);
  const char *path = testutil_path(testutil_tmpdir(), name);
  ck_assert_msg(nnc_safetensors_write(path, &set, &st) == NNC_OK, "%s", st.message);
  nnc_tensor_set_free(&set);
  return path;
}

static float kernel_at(const nnc_model *m, int i) {
  nnc_array a;
  nnc_status st = {0};
  ck_assert_msg(nnc_model_get_weight(m, "d/kernel", &a, &st) == NNC_OK, "%s", st.message);
  float v = ((float *)a.data)[i];
  nnc_array_free(&a);
  return v;
}

/* Keras 3's Layer._check_load_own_variables refuses a layer whose stored
 * variables outnumber its own; nnc's weights are named: the stray tensor is
 * refused by name, and nothing is loaded. */
START_TEST(load_weights_refuses_stray_tensor) {
  float kernel[12];
  for (int i = 0; i < 12; i++) kernel[i] = (float)i + 0.5f;
  nnc_model *m = dense_model();
  float before = kernel_at(m, 5);
  nnc_status st = {0};
  const char *path = weights_file("extra.safetensors", kernel, 3, "d/extra");
  ck_assert_int_eq(nnc_model_load_weights(m, path, &st), NNC_ERR_DATA);
  ck_assert_msg(
      strstr(st.message, "extra.safetensors: tensor 'd/extra' is no weight of this model"), "%s",
      st.message);
  ck_assert_float_eq(kernel_at(m, 5), before);
  path = weights_file("other_layer.safetensors", kernel, 3, "dense_9/kernel");
  ck_assert_int_eq(nnc_model_load_weights(m, path, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "tensor 'dense_9/kernel' is no weight"), "%s", st.message);
  /* a bias of the wrong shape: refused before the kernel is written */
  path = weights_file("bad_bias.safetensors", kernel, 4, NULL);
  ck_assert_int_eq(nnc_model_load_weights(m, path, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "weight 'd/bias' must have shape"), "%s", st.message);
  ck_assert_float_eq(kernel_at(m, 5), before);
  /* the exact set loads */
  path = weights_file("exact.safetensors", kernel, 3, NULL);
  ck_assert_msg(nnc_model_load_weights(m, path, &st) == NNC_OK, "%s", st.message);
  ck_assert_float_eq(kernel_at(m, 5), 5.5f);
  nnc_model_free(m);
}
END_TEST

/* ---- 6. per-step sample weights with a loss axis ---- */

/* CategoricalCrossentropy(axis=1) on outputs [B, 3, 4] (classes on axis 1,
 * 4 steps): Keras's values are [B, 4] and reduce_weighted_values multiplies
 * (N, 4) weights into them, then sum / (B x 4). The runtime's data check
 * used to want weights shaped like the output's leading axes, (N, 3). */
START_TEST(step_weights_with_loss_axis) {
  nnc_model *m = testutil_load(testutil_sequential(
      "3, 4", DENSE_4 ", {'class_name': 'Softmax', 'config': {'name': 's', 'axis': 1}}",
      "{'optimizer': 'sgd', 'loss': {'class_name': 'CategoricalCrossentropy', "
      "'config': {'axis': 1}}}"));
  float x[24], y[24] = {0}, w[8] = {1, 0, 2, 1, 0.5f, 1, 1, 3};
  for (int i = 0; i < 24; i++) x[i] = (float)(i % 7) * 0.25f - 0.5f;
  for (int b = 0; b < 2; b++)
    for (int t = 0; t < 4; t++) y[b * 12 + ((b + t) % 3) * 4 + t] = 1;
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {2, 3, 4}, .data = x};
  nnc_array ya = {.dtype = NNC_F32, .rank = 3, .shape = {2, 3, 4}, .data = y};
  nnc_array wa = {.dtype = NNC_F32, .rank = 2, .shape = {2, 4}, .data = w};
  nnc_status st = {0};
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_test_on_batch_weighted(m, 1, &xa, 1, &ya, &wa, &logs, &st) == NNC_OK,
                "%s", st.message);
  nnc_array p;
  ck_assert_msg(nnc_model_predict(m, &xa, 2, &p, &st) == NNC_OK, "%s", st.message);
  const float *pv = p.data;
  double sum = 0;
  for (int b = 0; b < 2; b++)
    for (int t = 0; t < 4; t++) {
      double ce = 0;
      for (int c = 0; c < 3; c++) ce -= y[b * 12 + c * 4 + t] * log(pv[b * 12 + c * 4 + t]);
      sum += w[b * 4 + t] * ce;
    }
  ck_assert_str_eq(logs.names[0], "loss");
  ck_assert_double_eq_tol(logs.values[0], sum / 8, 1e-5);
  nnc_array_free(&p);
  /* fit takes them too; weights shaped like neither are refused naming both rules */
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.verbose = 0;
  o.sample_weights = &wa;
  o.n_sample_weights = 1;
  ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, NULL, &st) == NNC_OK, "%s", st.message);
  nnc_array bad = {.dtype = NNC_F32, .rank = 2, .shape = {2, 2}, .data = w};
  ck_assert_int_eq(nnc_model_test_on_batch_weighted(m, 1, &xa, 1, &ya, &bad, &logs, &st),
                   NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "does not lead the per-sample loss"), "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* ---- 8. ModelCheckpoint templates checked at construction ---- */

/* Keras formats `filepath` at the first save, after an epoch of training;
 * what cannot format whatever the logs hold is refused before training. */
START_TEST(checkpoint_template_checked_before_training) {
  const char *bad[] = {
      "w-{epoch:02d.safetensors", "w-{epoch:02q}.safetensors", "w-{val_loss:02d}.safetensors",
      "w-}.safetensors",          "w-{}.safetensors",          "w-{0}.safetensors"};
  const char *why[] = {"'{' without its '}'", "format spec '02q'",  "unknown format code 'd'",
                       "single '}'",          "a positional field", "a positional field"};
  for (int i = 0; i < 6; i++) {
    char text[256];
    snprintf(text, sizeof text, "ModelCheckpoint(filepath='%s')", bad[i]);
    nnc_callback *cb = NULL;
    nnc_status st = {0};
    ck_assert_msg(nnc_callback_create(text, "cb", &cb, &st) == NNC_ERR_ARG, "%s accepted", text);
    ck_assert_msg(strstr(st.message, "expected a file name template str.format takes"), "%s",
                  st.message);
    ck_assert_msg(strstr(st.message, why[i]), "'%s' not in %s", why[i], st.message);
  }
  /* what may format: a key the logs may hold is checked at the save, as Keras */
  const char *good[] = {"w-{epoch:02d}-{val_loss:.2f}.safetensors",
                        "w-{{x}}-{learning_rate:.1e}.safetensors", "w-{batch:d}.safetensors"};
  for (int i = 0; i < 3; i++) {
    char text[256];
    snprintf(text, sizeof text, "ModelCheckpoint(filepath='%s')", good[i]);
    nnc_callback *cb = NULL;
    nnc_status st = {0};
    ck_assert_msg(nnc_callback_create(text, "cb", &cb, &st) == NNC_OK, "%s", st.message);
    nnc_callback_free(cb);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("fixes7");
  TCase *tc = tcase_create("spec");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, huge_integers_refused_before_conversion);
  tcase_add_test(tc, huge_attention_axes_refused);
  tcase_add_test(tc, zero_padding1d_as_keras3);
  tcase_add_test(tc, zero_padding2d_3d_as_keras3);
  tcase_add_test(tc, gaussian_dropout_rate_one);
  tcase_add_test(tc, gaussian_noise_negative_stddev);
  tcase_add_test(tc, leaky_relu_alpha_and_negative_slope);
  suite_add_tcase(s, tc);
  tc = tcase_create("runtime");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, load_weights_refuses_stray_tensor);
  tcase_add_test(tc, step_weights_with_loss_axis);
  tcase_add_test(tc, checkpoint_template_checked_before_training);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
