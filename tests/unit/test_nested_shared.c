/* A nested model called more than once, and TimeDistributed of a nested
 * model (compiler/lower/lower.c, lower_nested_model).
 *
 * Truth: Keras 3 builds a model's layers once; every later call of the
 * model (a siamese tower, TimeDistributed's per-step calls) runs the same
 * variables, so the weights appear once (tower/d/kernel, for a
 * TimeDistributed time_distributed/sequential/dense/kernel: the wrapper's
 * build opens its scope around the Sequential's), the summary counts them
 * once and the gradient of a shared weight is the sum over its calls
 * (checked by central differences of the loss). Outputs are hand-derived
 * from tiny weights. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

/* a [null, 2], b [null, 2] -> tower (a Sequential of Dense d, 2 units) on
 * each -> Concatenate (Keras 2 format, the second call is tower's node 1) */
static const char *siamese =
    "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': ["
    "{'class_name': 'InputLayer', 'name': 'a', 'config': {'batch_input_shape': [null, 2], "
    "'name': 'a'}, 'inbound_nodes': []},"
    "{'class_name': 'InputLayer', 'name': 'b', 'config': {'batch_input_shape': [null, 2], "
    "'name': 'b'}, 'inbound_nodes': []},"
    "{'class_name': 'Sequential', 'name': 'tower', 'config': {'name': 'tower', 'layers': ["
    "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2}}]}, "
    "'inbound_nodes': [[['a', 0, 0, {}]], [['b', 0, 0, {}]]]},"
    "{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat'}, "
    "'inbound_nodes': [[['tower', 0, 0, {}], ['tower', 1, 0, {}]]]}],"
    "'input_layers': [['a', 0, 0], ['b', 0, 0]], 'output_layers': [['cat', 0, 0]]}}";

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(Q(json), "nested.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static void set(nnc_model *m, const char *name, float *v, int rank, int64_t d0, int64_t d1) {
  nnc_array a = {.dtype = NNC_F32, .rank = rank, .data = v, .shape = {d0, d1}};
  nnc_status st;
  ck_assert_msg(nnc_model_set_weight(m, name, &a, &st) == NNC_OK, "%s: %s", name, st.message);
}

static float kernel[4] = {1, 2, 3, 4}, bias[2] = {0.5f, -1};
/* a rows {1, 0}, {1, 1}; b rows {0, 2}, {-1, 0}: y = x K + bias per tower call */
static float xa[4] = {1, 0, 1, 1}, xb[4] = {0, 2, -1, 0};
static const float want[8] = {1.5f, 1, 6.5f, 7, 4.5f, 5, -0.5f, -3};

static void predict_siamese(nnc_model *m, float *out) {
  nnc_array x[2] = {testutil_f32(xa, 2, 2), testutil_f32(xb, 2, 2)}, y;
  nnc_status st;
  ck_assert_msg(nnc_model_predict_multi(m, 2, x, 2, 1, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&y), 8);
  memcpy(out, y.data, 8 * sizeof *out);
  nnc_array_free(&y);
}

START_TEST(siamese_tower_has_one_set_of_weights) {
  nnc_model *m = load(siamese);
  nnc_array x[2] = {testutil_f32(xa, 2, 2), testutil_f32(xb, 2, 2)};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 2, x, 0, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_weight_count(m), 2);
  ck_assert_str_eq(nnc_model_weight_name(m, 0), "tower/d/kernel");
  ck_assert_str_eq(nnc_model_weight_name(m, 1), "tower/d/bias");
  set(m, "tower/d/kernel", kernel, 2, 2, 2);
  set(m, "tower/d/bias", bias, 1, 2, 0);
  float y[8];
  predict_siamese(m, y);
  for (int i = 0; i < 8; i++) ck_assert_msg(fabsf(y[i] - want[i]) < 1e-6f, "y[%d] = %g", i, y[i]);
  /* the summary's tower row and the total count the 6 floats once */
  char path[512];
  snprintf(path, sizeof path, "%s/summary.txt", testutil_tmpdir());
  FILE *f = fopen(path, "w+");
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(nnc_model_summary(m, f, &st) == NNC_OK, "%s", st.message);
  rewind(f);
  char line[512];
  int tower_rows = 0, total = 0;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, "tower (Sequential)")) {
      tower_rows++;
      ck_assert_msg(strstr(line, " 6 "), "%s", line);
    }
    if (strstr(line, "Total params: 6 (")) total = 1;
  }
  fclose(f);
  ck_assert_int_eq(tower_rows, 1);
  ck_assert(total);
  /* save and load: the one set of weights round-trips */
  snprintf(path, sizeof path, "%s/siamese.safetensors", testutil_tmpdir());
  ck_assert_msg(nnc_model_save_weights(m, path, &st) == NNC_OK, "%s", st.message);
  nnc_model *m2 = load(siamese);
  ck_assert_msg(nnc_model_build_multi(m2, 2, x, 0, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_load_weights(m2, path, &st) == NNC_OK, "%s", st.message);
  float y2[8];
  predict_siamese(m2, y2);
  ck_assert(!memcmp(y, y2, sizeof y));
  nnc_model_free(m2);
  nnc_model_free(m);
}
END_TEST

/* Keras 3's format: a nested Functional (tower_in -> e1) called on a and b;
 * its node 0 is its own built-in node, the calls are nodes 1 and 2. A
 * nested Functional's weights carry no model prefix in Keras 3 (built when
 * constructed, outside every scope): e1/kernel, e1/bias. */
#define K3_T(src, node)                                                                            \
  "{'class_name': '__keras_tensor__', 'config': {'shape': [null, 2], 'dtype': 'float32', "         \
  "'keras_history': ['" src "', " node ", 0]}}"
static const char *siamese_k3 =
    "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
    "{'class_name': 'InputLayer', 'name': 'a', 'config': {'batch_shape': [null, 2], 'name': 'a'}, "
    "'inbound_nodes': []},"
    "{'class_name': 'InputLayer', 'name': 'b', 'config': {'batch_shape': [null, 2], 'name': 'b'}, "
    "'inbound_nodes': []},"
    "{'class_name': 'Functional', 'name': 'tower', 'config': {'name': 'tower', 'layers': ["
    "{'class_name': 'InputLayer', 'name': 'tower_in', 'config': {'batch_shape': [null, 2], "
    "'name': 'tower_in'}, 'inbound_nodes': []},"
    "{'class_name': 'Dense', 'name': 'e1', 'config': {'name': 'e1', 'units': 2}, "
    "'inbound_nodes': [{'args': [" K3_T(
        "tower_in",
        "0") "], 'kwargs': {}}]}],"
             "'input_layers': ['tower_in', 0, 0], 'output_layers': ['e1', 0, 0]},"
             "'inbound_nodes': [{'args': [" K3_T("a", "0") "], 'kwargs': {}}, {'args': [" K3_T(
                 "b",
                 "0") "], 'kwargs': {}}]},"
                      "{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat'}, "
                      "'inbound_nodes': [{'args': [[" K3_T("tower", "1") ", " K3_T(
                          "tower", "2") "]], 'kwargs': {}}]}],"
                                        "'input_layers': [['a', 0, 0], ['b', 0, 0]], "
                                        "'output_layers': [['cat', 0, 0]]}}";

START_TEST(keras3_siamese_functional_tower) {
  nnc_model *m = load(siamese_k3);
  nnc_array x[2] = {testutil_f32(xa, 2, 2), testutil_f32(xb, 2, 2)};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 2, x, 0, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_weight_count(m), 2);
  ck_assert_str_eq(nnc_model_weight_name(m, 0), "e1/kernel");
  ck_assert_str_eq(nnc_model_weight_name(m, 1), "e1/bias");
  set(m, "e1/kernel", kernel, 2, 2, 2);
  set(m, "e1/bias", bias, 1, 2, 0);
  float y[8];
  predict_siamese(m, y);
  for (int i = 0; i < 8; i++) ck_assert_msg(fabsf(y[i] - want[i]) < 1e-6f, "y[%d] = %g", i, y[i]);
  nnc_model_free(m);
}
END_TEST

/* The tower one level deeper: tower (Sequential) holds inner (Sequential)
 * holds d; tower called on a and b. The inner model's state lives inside
 * the tower's across its calls: one set, named tower/inner/d/... (a
 * Sequential in a Sequential, each build inside its parent's scope). */
START_TEST(nested_model_inside_a_shared_nested_model) {
  const char *json =
      "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'a', 'config': {'batch_input_shape': [null, 2], "
      "'name': 'a'}, 'inbound_nodes': []},"
      "{'class_name': 'InputLayer', 'name': 'b', 'config': {'batch_input_shape': [null, 2], "
      "'name': 'b'}, 'inbound_nodes': []},"
      "{'class_name': 'Sequential', 'name': 'tower', 'config': {'name': 'tower', 'layers': ["
      "{'class_name': 'Sequential', 'config': {'name': 'inner', 'layers': ["
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2}}]}}]}, "
      "'inbound_nodes': [[['a', 0, 0, {}]], [['b', 0, 0, {}]]]},"
      "{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat'}, "
      "'inbound_nodes': [[['tower', 0, 0, {}], ['tower', 1, 0, {}]]]}],"
      "'input_layers': [['a', 0, 0], ['b', 0, 0]], 'output_layers': [['cat', 0, 0]]}}";
  nnc_model *m = load(json);
  nnc_array x[2] = {testutil_f32(xa, 2, 2), testutil_f32(xb, 2, 2)};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 2, x, 0, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_weight_count(m), 2);
  ck_assert_str_eq(nnc_model_weight_name(m, 0), "tower/inner/d/kernel");
  set(m, "tower/inner/d/kernel", kernel, 2, 2, 2);
  set(m, "tower/inner/d/bias", bias, 1, 2, 0);
  float y[8];
  predict_siamese(m, y);
  for (int i = 0; i < 8; i++) ck_assert_msg(fabsf(y[i] - want[i]) < 1e-6f, "y[%d] = %g", i, y[i]);
  nnc_model_free(m);
}
END_TEST

/* x(3) -> tower (Dense 3, tanh) -> tower again -> out: the tower's weights
 * get the gradient of both calls (a stacked use of one nested model). */
START_TEST(shared_weight_gradient_sums_both_calls) {
  const char *json =
      "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, 3], "
      "'name': 'x'}, 'inbound_nodes': []},"
      "{'class_name': 'Sequential', 'name': 'tower', 'config': {'name': 'tower', 'layers': ["
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 3, 'activation': 'tanh'}}]}, "
      "'inbound_nodes': [[['x', 0, 0, {}]], [['tower', 0, 0, {}]]]},"
      "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1}, "
      "'inbound_nodes': [[['tower', 1, 0, {}]]]}],"
      "'input_layers': [['x', 0, 0]], 'output_layers': [['out', 0, 0]]}, "
      "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 1.0}}, "
      "'loss': 'mse'}}";
  gradcheck_opts o = {.rows = 4,
                      .seed = 7,
                      .y0 = 0.3,
                      .dy = 0.2,
                      .w_freq = 0.9,
                      .w_shift = 2,
                      .richardson = 1,
                      .abs_tol = 2e-4,
                      .rel_tol = 2e-3};
  gradcheck_model(Q(json), 3, &o);
  nnc_model *m = load(json);
  float x[3] = {0};
  nnc_array xs = testutil_f32(x, 1, 3);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xs, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_weight_count(m), 4); /* tower/d kernel+bias, out kernel+bias */
  nnc_model_free(m);
}
END_TEST

/* TimeDistributed(Sequential(Dense)) on x [1, 3, 2]: each step is the
 * Dense with the tower's weights; Keras 3 names them
 * time_distributed/sequential/dense/... */
START_TEST(time_distributed_of_a_nested_model) {
  const char *json =
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 2], 'name': 'x'}},"
      "{'class_name': 'TimeDistributed', 'config': {'name': 'time_distributed', 'layer': "
      "{'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': ["
      "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 2}},"
      "{'class_name': 'Activation', 'config': {'name': 'act', 'activation': 'relu'}}]}}}}]}}";
  nnc_model *m = load(json);
  float x[6] = {1, 0, 0, 2, -1, -1};
  int64_t shape[3] = {1, 3, 2};
  nnc_array xs = {.dtype = NNC_F32, .rank = 3, .data = x, .shape = {shape[0], shape[1], shape[2]}};
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xs, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_weight_count(m), 2);
  ck_assert_str_eq(nnc_model_weight_name(m, 0), "time_distributed/sequential/dense/kernel");
  ck_assert_str_eq(nnc_model_weight_name(m, 1), "time_distributed/sequential/dense/bias");
  set(m, "time_distributed/sequential/dense/kernel", kernel, 2, 2, 2);
  set(m, "time_distributed/sequential/dense/bias", bias, 1, 2, 0);
  nnc_array y;
  ck_assert_msg(nnc_model_predict(m, &xs, 1, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(y.rank, 3);
  ck_assert_int_eq(y.shape[1], 3);
  ck_assert_int_eq(y.shape[2], 2);
  /* relu({1,0}K + b) = {1.5, 1}; relu({0,2}K + b) = {6.5, 7};
   * relu({-1,-1}K + b) = relu({-3.5, -7}) = {0, 0} */
  const float w[6] = {1.5f, 1, 6.5f, 7, 0, 0};
  for (int i = 0; i < 6; i++)
    ck_assert_msg(fabsf(((float *)y.data)[i] - w[i]) < 1e-6f, "y[%d] = %g", i,
                  ((float *)y.data)[i]);
  nnc_array_free(&y);
  nnc_model_free(m);
}
END_TEST

/* tower = Sequential(BatchNormalization(momentum 0.5)) on a, then on b,
 * in one train step: the moving statistics are the tower's, shared, and
 * updated in call order (Keras 3: the b call reads what the a call
 * assigned). a = {1, 3, 5, 7} (mean 4, variance 5), b = {0, 0, 0, 4}
 * (mean 1, variance 3), m0 = 0, v0 = 1:
 *   mean = (0 / 2 + 4 / 2) / 2 + 1 / 2 = 1.5 (b first would give 2.25)
 *   var  = (1 / 2 + 5 / 2) / 2 + 3 / 2 = 3 */
START_TEST(shared_batch_normalization_updates_in_call_order) {
  const char *json =
      "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'a', 'config': {'batch_input_shape': [null, 1], "
      "'name': 'a'}, 'inbound_nodes': []},"
      "{'class_name': 'InputLayer', 'name': 'b', 'config': {'batch_input_shape': [null, 1], "
      "'name': 'b'}, 'inbound_nodes': []},"
      "{'class_name': 'Sequential', 'name': 'tower', 'config': {'name': 'tower', 'layers': ["
      "{'class_name': 'BatchNormalization', 'config': {'name': 'bn', 'momentum': 0.5}}]}, "
      "'inbound_nodes': [[['a', 0, 0, {}]], [['b', 0, 0, {}]]]},"
      "{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat'}, "
      "'inbound_nodes': [[['tower', 0, 0, {}], ['tower', 1, 0, {}]]]}],"
      "'input_layers': [['a', 0, 0], ['b', 0, 0]], 'output_layers': [['cat', 0, 0]]}, "
      "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.1}}, "
      "'loss': 'mse'}}";
  nnc_model *m = load(json);
  float a[4] = {1, 3, 5, 7}, b[4] = {0, 0, 0, 4}, t[8] = {0};
  nnc_array x[2] = {testutil_f32(a, 4, 1), testutil_f32(b, 4, 1)}, y = testutil_f32(t, 4, 2);
  nnc_status st;
  nnc_logs logs = {0};
  ck_assert_msg(nnc_model_train_on_batch_multi(m, 2, x, 1, &y, &logs, &st) == NNC_OK, "%s",
                st.message);
  nnc_logs_free(&logs);
  ck_assert_int_eq(nnc_model_weight_count(m), 4);
  ck_assert_str_eq(nnc_model_weight_name(m, 2), "tower/bn/moving_mean");
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, "tower/bn/moving_mean", &w, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_msg(fabsf(((float *)w.data)[0] - 1.5f) < 1e-5f, "moving_mean %g", ((float *)w.data)[0]);
  nnc_array_free(&w);
  ck_assert_msg(nnc_model_get_weight(m, "tower/bn/moving_variance", &w, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_msg(fabsf(((float *)w.data)[0] - 3.0f) < 1e-5f, "moving_variance %g",
                ((float *)w.data)[0]);
  nnc_array_free(&w);
  nnc_model_free(m);
}
END_TEST

/* TimeDistributed(Sequential(BatchNormalization)) in training: Keras 3
 * calls the Sequential on each step, so BatchNormalization.call runs once
 * per step with that step's statistics and T chained updates: the same as
 * TimeDistributed(BatchNormalization) (whose per-step semantics
 * test_time_distributed works by hand). After one SGD step on the same
 * data every weight and the loss must agree. */
static double td_bn_step(const char *layer, const char *prefix, float *out) {
  char json[2048];
  snprintf(json, sizeof json,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 2], 'name': 'x'}},"
           "{'class_name': 'TimeDistributed', 'config': {'name': 'time_distributed', 'layer': "
           "%s}}, {'class_name': 'Flatten', 'config': {'name': 'f'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'out', 'units': 1, "
           "'kernel_initializer': 'ones'}}]}, "
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
           "0.1}}, 'loss': 'mse'}}",
           layer);
  nnc_model *m = load(json);
  float xv[4 * 3 * 2], yv[4] = {1, -1, 0.5f, 2};
  for (int i = 0; i < 24; i++) xv[i] = (float)sin(0.7 * i + 0.3) * (float)(1 + i % 3);
  nnc_array x = {.dtype = NNC_F32, .rank = 3, .data = xv, .shape = {4, 3, 2}};
  nnc_array y = testutil_f32(yv, 4, 1);
  nnc_status st;
  nnc_logs logs = {0};
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  double loss = nnc_logs_get(&logs, "loss");
  nnc_logs_free(&logs);
  const char *w[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
  ck_assert_int_eq(nnc_model_weight_count(m), 6);
  for (int k = 0; k < 4; k++) {
    char name[128];
    snprintf(name, sizeof name, "%s%s", prefix, w[k]);
    nnc_array a;
    ck_assert_msg(nnc_model_get_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
    memcpy(out + 2 * k, a.data, 2 * sizeof *out);
    nnc_array_free(&a);
  }
  nnc_model_free(m);
  return loss;
}

START_TEST(time_distributed_nested_batch_normalization_trains_per_step) {
  float plain[8], nested[8];
  double lp = td_bn_step("{'class_name': 'BatchNormalization', 'config': {'name': "
                         "'batch_normalization', 'momentum': 0.5}}",
                         "time_distributed/batch_normalization/", plain);
  double ln = td_bn_step("{'class_name': 'Sequential', 'config': {'name': 'sequential', "
                         "'layers': [{'class_name': 'BatchNormalization', 'config': {'name': "
                         "'batch_normalization', 'momentum': 0.5}}]}}",
                         "time_distributed/sequential/batch_normalization/", nested);
  ck_assert_msg(fabs(lp - ln) <= 1e-6 * fabs(lp), "loss %g vs %g", lp, ln);
  for (int i = 0; i < 8; i++)
    ck_assert_msg(fabsf(plain[i] - nested[i]) <= 1e-6f * (1 + fabsf(plain[i])), "%d: %g vs %g", i,
                  plain[i], nested[i]);
  /* and the statistics moved (a chained update happened at all) */
  ck_assert(plain[4] != 0.0f && plain[6] != 1.0f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("nested_shared");
  TCase *tc = tcase_create("nested_shared");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, siamese_tower_has_one_set_of_weights);
  tcase_add_test(tc, keras3_siamese_functional_tower);
  tcase_add_test(tc, nested_model_inside_a_shared_nested_model);
  tcase_add_test(tc, shared_weight_gradient_sums_both_calls);
  tcase_add_test(tc, time_distributed_of_a_nested_model);
  tcase_add_test(tc, shared_batch_normalization_updates_in_call_order);
  tcase_add_test(tc, time_distributed_nested_batch_normalization_trains_per_step);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
