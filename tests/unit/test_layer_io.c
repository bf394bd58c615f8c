/* Masks, tensor keyword arguments and several outputs of layer calls
 * (compiler/layers/layer_io.c, layer_mask.c, compiler/spec/spec_functional.c).
 *
 * Truth: Keras 3's sources. Embedding(mask_zero) masks index 0
 * (compute_mask: inputs != 0); Masking masks a step whose features all equal
 * mask_value and zeroes it; Add ORs its inputs' masks (_Merge.compute_mask);
 * GlobalAveragePooling1D averages the kept steps only; a masked output's loss
 * is sum(loss * mask) / sum(mask) for sum_over_batch_size (loss.py apply_mask:
 * weights total/valid, then the sum over total), and a MeanMetricWrapper metric
 * weighs each step by the mask (apply_mask with reduction "sum"). The
 * expected numbers are computed here in double from the data by hand. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/spec/spec.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "io.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static void set(nnc_model *m, const char *name, float *v, int rows, int cols) {
  nnc_array a = testutil_f32(v, rows, cols);
  if (cols == 0) a = (nnc_array){.dtype = NNC_F32, .rank = 1, .shape = {rows}, .data = v};
  nnc_status st;
  ck_assert_msg(nnc_model_set_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
}

/* A Keras 3 tensor of call node `node` of layer `name`. */
#define T3(name, shape)                                                                            \
  "{'class_name': '__keras_tensor__', 'config': {'shape': " shape ", "                             \
  "'dtype': 'float32', 'keras_history': ['" name "', 0, 0]}}"

/* tokens [B, 4] -> Embedding(5, 1, mask_zero) -> Dense(1) per step: [B, 4, 1],
 * mse, metric mae. */
static const char *seq_model(void) {
  return Q("{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'tokens', 'config': {'batch_shape': [null, 4], "
           "'name': 'tokens'}, 'inbound_nodes': []},"
           "{'class_name': 'Embedding', 'name': 'embedding', 'config': {'name': 'embedding', "
           "'input_dim': 5, 'output_dim': 1, 'mask_zero': true}, 'inbound_nodes': [{'args': "
           "[" T3("tokens",
                  "[null, 4]") "], 'kwargs': {}}]},"
                               "{'class_name': 'Dense', 'name': 'dense', 'config': {'name': "
                               "'dense', 'units': 1}, "
                               "'inbound_nodes': [{'args': [" T3(
                                   "embedding",
                                   "[null, 4, 1]") "], 'kwargs': {'mask': null}}]}],"
                                                   "'input_layers': [['tokens', 0, 0]], "
                                                   "'output_layers': [['dense', 0, 0]]},"
                                                   "'compile_config': {'optimizer': {'class_name': "
                                                   "'SGD', 'config': {'learning_rate': "
                                                   "0.1}}, 'loss': 'mse', 'metrics': ['mae']}}");
}

START_TEST(masked_loss_and_metric_skip_the_masked_steps) {
  nnc_model *m = load(seq_model());
  float x[8] = {1, 2, 0, 0, 3, 0, 4, 1}, y[8] = {0.5f, -1, 7, 9, 2, 5, 1, 0};
  float table[5] = {0.25f, 1.5f, -0.75f, 2.0f, 0.5f}, k[1] = {2.0f}, b[1] = {0.125f};
  nnc_array xa = testutil_f32(x, 2, 4);
  nnc_array ya = {.dtype = NNC_F32, .rank = 3, .shape = {2, 4, 1}, .data = y};
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  set(m, "embedding/embeddings", table, 5, 1);
  set(m, "dense/kernel", k, 1, 1);
  set(m, "dense/bias", b, 1, 0);
  double se = 0, ae = 0;
  int valid = 0;
  for (int i = 0; i < 8; i++) {
    if (x[i] == 0) continue;
    double d = 2.0 * table[(int)x[i]] + 0.125 - y[i];
    se += d * d, ae += fabs(d), valid++;
  }
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_test_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "loss"), se / valid, 1e-5);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "mae"), ae / valid, 1e-5);
  nnc_model_free(m);
}
END_TEST

/* tokens -> Embedding(mask_zero) [+ a second Embedding, Add] -> GAP1D */
static const char *pool_model(int two) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'a', 'config': {'batch_shape': [null, 3], "
           "'name': 'a'}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 'b', 'config': {'batch_shape': [null, 3], "
           "'name': 'b'}, 'inbound_nodes': []},"
           "{'class_name': 'Embedding', 'name': 'ea', 'config': {'name': 'ea', 'input_dim': 4, "
           "'output_dim': 2, 'mask_zero': true}, 'inbound_nodes': [[['a', 0, 0, {}]]]},"
           "{'class_name': 'Embedding', 'name': 'eb', 'config': {'name': 'eb', 'input_dim': 4, "
           "'output_dim': 2, 'mask_zero': true}, 'inbound_nodes': [[['b', 0, 0, {}]]]},"
           "{'class_name': 'Add', 'name': 'add', 'config': {'name': 'add'}, 'inbound_nodes': "
           "[[['ea', 0, 0, {}], ['eb', 0, 0, {}]]]},"
           "{'class_name': 'GlobalAveragePooling1D', 'name': 'gap', 'config': {'name': 'gap'}, "
           "'inbound_nodes': [[['%s', 0, 0, {'mask': null}]]]}],"
           "'input_layers': [['a', 0, 0]%s], 'output_layers': [['gap', 0, 0]]}}",
           two ? "add" : "ea", two ? ", ['b', 0, 0]" : "");
  return Q(buf);
}

START_TEST(global_average_pooling_averages_the_kept_steps) {
  nnc_model *m = load(pool_model(1));
  nnc_status st;
  float ta[8] = {0, 0, 1, 2, 3, 5, -1, 4}, tb[8] = {0, 0, 10, 20, 30, 50, -10, 40};
  float xa_[6] = {1, 0, 3, 0, 0, 0}, xb_[6] = {0, 0, 2, 0, 0, 0};
  nnc_array in[2] = {testutil_f32(xa_, 2, 3), testutil_f32(xb_, 2, 3)}, out;
  ck_assert_msg(nnc_model_build_multi(m, 2, in, 0, NULL, &st) == NNC_OK, "%s", st.message);
  set(m, "ea/embeddings", ta, 4, 2);
  set(m, "eb/embeddings", tb, 4, 2);
  ck_assert_msg(nnc_model_predict_multi(m, 2, in, 2, 1, &out, &st) == NNC_OK, "%s", st.message);
  /* sample 0: steps 0 (a) and 2 (a, b) kept: mask OR; sample 1: all masked -> NaN (0/0) */
  const float *o = out.data;
  for (int c = 0; c < 2; c++) {
    double s = (ta[2 + c] + tb[0 + c]) + (ta[6 + c] + tb[4 + c]);
    ck_assert_double_eq_tol(o[c], s / 2, 1e-5);
    ck_assert(isnan(o[2 + c]));
  }
  nnc_array_free(&out);
  nnc_model_free(m);
}
END_TEST

/* x [B, 3, 2] -> Masking(mask_value) -> GlobalAveragePooling1D */
START_TEST(masking_masks_the_steps_that_equal_mask_value) {
  nnc_model *m =
      load(Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
             "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 2], 'name': 'x'}},"
             "{'class_name': 'Masking', 'config': {'name': 'masking', 'mask_value': 0.5}},"
             "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'gap'}}]}}"));
  /* sample 0: step 1 is all 0.5 (masked); step 2 has one 0.5 (kept) */
  float x[12] = {1, 2, 0.5f, 0.5f, 0.5f, 4, -1, 3, 5, 7, 0.5f, 0.5f}, want[4];
  for (int b = 0; b < 2; b++)
    for (int c = 0; c < 2; c++) {
      double sum = 0;
      int kept = 0;
      for (int t = 0; t < 3; t++) {
        const float *f = &x[b * 6 + t * 2];
        if (f[0] == 0.5f && f[1] == 0.5f) continue;
        sum += f[c], kept++;
      }
      want[b * 2 + c] = (float)(sum / kept);
    }
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {2, 3, 2}, .data = x}, out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 2, &out, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < 4; i++) ck_assert_float_eq_tol(((float *)out.data)[i], want[i], 1e-6f);
  nnc_array_free(&out);
  nnc_model_free(m);
}
END_TEST

/* in [B, 4] -> a = Dense(4)(in), b = Dense(4)(in, KWARGS of b's call) ->
 * output b, listed [in, b, a] so a tensor kwarg may come from a later layer. */
static const char *kwarg_model(int keras3, const char *kwarg, const char *out_ref) {
  static char buf[8192];
  if (keras3)
    snprintf(
        buf, sizeof buf,
        "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
        "{'class_name': 'InputLayer', 'name': 'in', 'config': {'batch_shape': [null, 4], "
        "'name': 'in'}, 'inbound_nodes': []},"
        "{'class_name': 'Dense', 'name': 'b', 'config': {'name': 'b', 'units': 4}, "
        "'inbound_nodes': [{'args': [" T3(
            "in",
            "[null, 4]") "], 'kwargs': {%s}}]},"
                         "{'class_name': 'Dense', 'name': 'a', 'config': {'name': 'a', 'units': "
                         "4}, "
                         "'inbound_nodes': [{'args': [" T3(
                             "in",
                             "[null, 4]") "], 'kwargs': {}}]}],"
                                          "'input_layers': [['in', 0, 0]], 'output_layers': [%s]}}",
        kwarg, out_ref);
  else
    snprintf(buf, sizeof buf,
             "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
             "{'class_name': 'InputLayer', 'name': 'in', 'config': {'batch_input_shape': [null, "
             "4], 'name': 'in'}, 'inbound_nodes': []},"
             "{'class_name': 'Dense', 'name': 'b', 'config': {'name': 'b', 'units': 4}, "
             "'inbound_nodes': [[['in', 0, 0, {%s}]]]},"
             "{'class_name': 'Dense', 'name': 'a', 'config': {'name': 'a', 'units': 4}, "
             "'inbound_nodes': [[['in', 0, 0, {}]]]}],"
             "'input_layers': [['in', 0, 0]], 'output_layers': [%s]}}",
             kwarg, out_ref);
  return Q(buf);
}

static void parse(const char *json, nnc_spec *spec) {
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "io.json", spec, &st) == NNC_OK, "%s", st.message);
}

static void load_error(const char *json, const char *want) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_int_eq(nnc_model_load_string(json, "io.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
}

#define K3(name)                                                                                   \
  "{'class_name': '__keras_tensor__', 'config': {'shape': [null, 4], "                             \
  "'keras_history': ['" name "', 0, 0]}}"

START_TEST(tensor_kwargs_are_read_in_both_formats_and_ordered_first) {
  const char *forms[2][2] = {
      {"'value': " K3("a") ", 'initial_state': [" K3("a") ", null, " K3(
           "in") "], "
                 "'use_causal_mask': true, 'mask': null, 'training': false",
       "'value': ['a', 0, 0], 'initial_state': [['a', 0, 0], null, ['in', 0, 0]], "
       "'use_causal_mask': true, 'mask': null, 'training': false"}};
  for (int keras3 = 0; keras3 < 2; keras3++) {
    nnc_spec spec;
    parse(kwarg_model(keras3, forms[0][keras3 ? 0 : 1], "['b', 0, 0]"), &spec);
    ck_assert_int_eq(spec.n_calls, 2);
    /* a is listed after b but feeds b's kwarg: ordered first */
    ck_assert_str_eq(spec.layers[spec.calls[0].layer].name, "a");
    const nnc_spec_call *c = &spec.calls[1];
    ck_assert_int_eq(c->training, 0);
    ck_assert_int_eq(c->n_kwargs, 3);
    ck_assert_str_eq(c->kwargs[0].name, "value");
    ck_assert_int_eq(c->kwargs[0].n, 1);
    ck_assert_int_eq(c->kwargs[0].values[0], 0); /* call 0: a */
    ck_assert_str_eq(c->kwargs[1].name, "initial_state");
    ck_assert_int_eq(c->kwargs[1].n, 3);
    ck_assert_int_eq(c->kwargs[1].values[0], 0);
    ck_assert_int_eq(c->kwargs[1].tensors[1], -1); /* null item */
    ck_assert_int_eq(c->kwargs[1].values[2], -1);  /* model input 0 */
    ck_assert_str_eq(c->kwargs[2].name, "use_causal_mask");
    ck_assert_int_eq(c->kwargs[2].is_scalar, 1);
    ck_assert_double_eq(c->kwargs[2].scalar, 1.0);
    nnc_spec_free(&spec);
  }
  /* Dense reads no such argument: refused at the kwarg's path */
  load_error(kwarg_model(1, "'value': " K3("a"), "['b', 0, 0]"),
             "$.config.layers[1].inbound_nodes[0].kwargs.value: expected no call argument "
             "\"value\" for Dense \"b\"");
  load_error(kwarg_model(0, "'value': ['a', 0, 0]", "['b', 0, 0]"),
             "$.config.layers[1].inbound_nodes[0][0][3].value: expected no call argument");
}
END_TEST

START_TEST(bad_references_are_refused_with_their_path) {
  /* a layer has one output unless its lower hook registers more */
  load_error(kwarg_model(1, "", "['b', 0, 1], ['a', 0, 0]"),
             "$.config.output_layers[0]: expected a tensor index below 1 (this call of layer "
             "\"b\" has 1 output), got output 1");
  load_error(kwarg_model(0, "'value': ['a', 0, 2]", "['b', 0, 0]"),
             "$.config.layers[1].inbound_nodes[0][0][3].value: expected a tensor index below 1");
  /* a kwarg that depends on the call itself */
  load_error(kwarg_model(0, "'value': ['b', 0, 0]", "['b', 0, 0]"), "without cycles");
  /* a kwarg naming a node the layer does not have */
  load_error(kwarg_model(1,
                         "'value': {'class_name': '__keras_tensor__', 'config': "
                         "{'keras_history': ['a', 3, 0]}}",
                         "['b', 0, 0]"),
             "kwargs.value.config.keras_history[1]");
  /* not a tensor */
  load_error(kwarg_model(1, "'value': 'abc'", "['b', 0, 0]"), "kwargs.value");
  /* an InputLayer has one output */
  load_error(kwarg_model(0, "'value': ['in', 0, 1]", "['b', 0, 0]"), "tensor index 0");
}
END_TEST

/* tokens [B, 3] -> Embedding(4, 2, mask_zero) -> TimeDistributed(Dense(2)) -> GAP1D:
 * the Dense runs on every step with weights time_distributed/dense/..., and
 * TimeDistributed drops the mask (Keras 3: supports_masking = False), so the
 * pooling averages all three steps. */
START_TEST(time_distributed_dense_runs_per_step_and_drops_the_mask) {
  nnc_model *m =
      load(Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
             "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3], 'name': 'x'}},"
             "{'class_name': 'Embedding', 'config': {'name': 'embedding', 'input_dim': 4, "
             "'output_dim': 2, 'mask_zero': true}},"
             "{'class_name': 'TimeDistributed', 'config': {'name': 'time_distributed', 'layer': "
             "{'module': 'keras.layers', 'class_name': 'Dense', 'config': {'name': 'dense', "
             "'units': 2, 'activation': 'relu'}}}},"
             "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'gap'}}]}}"));
  float table[8] = {0.5f, -1, 1, 2, -3, 0.25f, 4, -2};
  float kernel[4] = {1, -2, 0.5f, 3}, bias[2] = {0.25f, -0.5f};
  set(m, "embedding/embeddings", table, 4, 2);
  set(m, "time_distributed/dense/kernel", kernel, 2, 2);
  set(m, "time_distributed/dense/bias", bias, 2, 0);
  float x[6] = {1, 0, 3, 2, 2, 0};
  double want[4] = {0};
  for (int b = 0; b < 2; b++)
    for (int t = 0; t < 3; t++) {
      const float *e = &table[(int)x[b * 3 + t] * 2];
      for (int j = 0; j < 2; j++) {
        double v = e[0] * kernel[j] + e[1] * kernel[2 + j] + bias[j];
        want[b * 2 + j] += (v > 0 ? v : 0) / 3;
      }
    }
  nnc_array xa = testutil_f32(x, 2, 3), out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 2, &out, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(((float *)out.data)[i], want[i], 1e-5);
  nnc_array_free(&out);
  nnc_model_free(m);
}
END_TEST

/* x [B, 3, 2] -> LSTM(2, return_state) "lstm"; the model's outputs are the
 * LSTM's output h and its cell state c: two outputs of one layer. Keras 3
 * names both "lstm" (Functional.output_names: the layer's name per output);
 * a loss list pairs by position, a loss or metrics dict by name feeds every
 * output of that name; the two per-output losses log one "lstm_loss", the
 * last one's (get_metrics_result's dict), the metrics "lstm_mae",
 * "lstm_mae_1" (CompileMetrics.result). With zero kernels the gates are
 * constants of the bias: c_t = f c_{t-1} + i g, h = o tanh(c_3). */
static nnc_model *two_state_model(const char *compile) {
  char json[4096];
  snprintf(json, sizeof json,
           "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_shape': [null, 3, 2], "
           "'name': 'x'}, 'inbound_nodes': []},"
           "{'class_name': 'LSTM', 'name': 'lstm', 'config': {'name': 'lstm', 'units': 2, "
           "'return_state': true}, 'inbound_nodes': [{'args': [{'class_name': "
           "'__keras_tensor__', 'config': {'shape': [null, 3, 2], 'dtype': 'float32', "
           "'keras_history': ['x', 0, 0]}}], 'kwargs': {}}]}],"
           "'input_layers': [['x', 0, 0]], 'output_layers': [['lstm', 0, 0], ['lstm', 0, 2]]},"
           "'compile_config': {'optimizer': 'sgd', %s}}",
           compile);
  nnc_model *m = load(Q(json));
  float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  float y[4] = {0};
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {2, 3, 2}, .data = x};
  nnc_array ya[2] = {testutil_f32(y, 2, 2), testutil_f32(y, 2, 2)};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 1, &xa, 2, ya, &st) == NNC_OK, "%s", st.message);
  float zero[16] = {0}, bias[8] = {0.5f, -1, 1, 0.25f, -0.5f, 2, -0.75f, 1.5f};
  set(m, "lstm/lstm_cell/kernel", zero, 2, 8);
  set(m, "lstm/lstm_cell/recurrent_kernel", zero, 2, 8);
  set(m, "lstm/lstm_cell/bias", bias, 8, 0);
  return m;
}

static double sigmoid(double v) {
  return 1 / (1 + exp(-v));
}

/* Logs of test_on_batch with targets y0 (for h) and y1 (for c), and the
 * hand values of h and c (per unit). */
static void two_state_logs(nnc_model *m, float *y0, float *y1, nnc_logs *logs, double *h,
                           double *c) {
  float x[12] = {0};
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {2, 3, 2}, .data = x};
  nnc_array ya[2] = {testutil_f32(y0, 2, 2), testutil_f32(y1, 2, 2)};
  nnc_status st;
  ck_assert_msg(nnc_model_test_on_batch_multi(m, 1, &xa, 2, ya, logs, &st) == NNC_OK, "%s",
                st.message);
  const double b[8] = {0.5, -1, 1, 0.25, -0.5, 2, -0.75, 1.5}; /* i i f f g g o o */
  for (int u = 0; u < 2; u++) {
    double i = sigmoid(b[u]), f = sigmoid(b[2 + u]), g = tanh(b[4 + u]), o = sigmoid(b[6 + u]);
    c[u] = 0;
    for (int t = 0; t < 3; t++) c[u] = f * c[u] + i * g;
    h[u] = o * tanh(c[u]);
  }
}

START_TEST(two_outputs_of_one_layer_are_named_after_it) {
  float y0[4] = {0.5f, -0.25f, 1, 0}, y1[4] = {-1, 0.75f, 0.25f, 2};
  double h[2], c[2], mse_h = 0, mse_c = 0, mae_h = 0, mae_c = 0;
  TEST_LOGS(logs);
  /* a loss list, by position */
  nnc_model *m = two_state_model("'loss': ['mse', 'mae']");
  ck_assert_str_eq(nnc_model_output_name(m, 0), "lstm");
  ck_assert_str_eq(nnc_model_output_name(m, 1), "lstm");
  two_state_logs(m, y0, y1, &logs, h, c);
  for (int e = 0; e < 4; e++) {
    double dh = h[e % 2] - y0[e], dc = c[e % 2] - y1[e];
    mse_h += dh * dh / 4, mse_c += dc * dc / 4, mae_h += fabs(dh) / 4, mae_c += fabs(dc) / 4;
  }
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "loss"), mse_h + mae_c, 1e-5);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "lstm_loss"), mae_c, 1e-5);
  ck_assert_int_eq(logs.n, 2);
  nnc_model_free(m);
  /* a loss dict and a metrics dict by the shared name: every output */
  m = two_state_model("'loss': {'lstm': 'mse'}, 'metrics': {'lstm': ['mae']}");
  two_state_logs(m, y0, y1, &logs, h, c);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "loss"), mse_h + mse_c, 1e-5);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "lstm_loss"), mse_c, 1e-5);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "lstm_mae"), mae_h, 1e-5);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "lstm_mae_1"), mae_c, 1e-5);
  ck_assert_int_eq(logs.n, 4);
  nnc_model_free(m);
  /* loss weights by name, metrics by position */
  m = two_state_model("'loss': {'lstm': 'mse'}, 'loss_weights': {'lstm': 0.5}, "
                      "'metrics': [[], ['mae']]");
  two_state_logs(m, y0, y1, &logs, h, c);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "loss"), 0.5 * (mse_h + mse_c), 1e-5);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "lstm_mae"), mae_c, 1e-5);
  ck_assert_int_eq(logs.n, 3);
  nnc_model_free(m);
}
END_TEST

/* RNN without a cell: the message names the layer, the path and the key. */
START_TEST(rnn_without_a_cell_says_the_cell_is_required) {
  load_error(Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
               "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 2]}},"
               "{'class_name': 'RNN', 'config': {'name': 'my_rnn', 'units': 3}}]}}"),
             "$.config.layers[1].config.cell: expected the cell of RNN layer \"my_rnn\": the key "
             "\"cell\" is required");
}
END_TEST

Suite *layer_io_suite(void) {
  Suite *s = suite_create("layer_io");
  TCase *t = tcase_create("core");
  tcase_add_test(t, masked_loss_and_metric_skip_the_masked_steps);
  tcase_add_test(t, global_average_pooling_averages_the_kept_steps);
  tcase_add_test(t, masking_masks_the_steps_that_equal_mask_value);
  tcase_add_test(t, tensor_kwargs_are_read_in_both_formats_and_ordered_first);
  tcase_add_test(t, bad_references_are_refused_with_their_path);
  tcase_add_test(t, time_distributed_dense_runs_per_step_and_drops_the_mask);
  tcase_add_test(t, two_outputs_of_one_layer_are_named_after_it);
  tcase_add_test(t, rnn_without_a_cell_says_the_cell_is_required);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return testutil_run(layer_io_suite());
}
