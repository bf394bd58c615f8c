/* Recurrent and attention masks as Keras 3 (session 8).
 *
 * Masked steps before the first kept one output zeros even when an initial
 * state is given (Keras 3's TF and torch backend.rnn start prev_output at
 * zeros; the states carry the initial state), checked by hand on a linear
 * SimpleRNN(1) with kernel 1, recurrent kernel 0.5 and no bias:
 * h_t = x_t + 0.5 h_{t-1} at a kept step, h carried at a masked one. The
 * Masking layer masks x_t == 0. Samples (x; initial h):
 *   s0 = (0, 2, 1; 4): step 0 masked, then 2 + 2 = 4, 1 + 2 = 3
 *   s1 = (0, 0, 0; 3): every step masked
 *   s2 = (2, 1, 0; 4): 2 + 2 = 4, 1 + 2 = 3, step 2 masked
 * Forward outputs: s0 (0, 4, 3), s1 (0, 0, 0), s2 (4, 3, 3); last outputs
 * 3, 0, 3; final h 3, 3, 3 (s1 keeps its initial state).
 * go_backwards (outputs in processed order, steps 2, 1, 0):
 *   s0: 1 + 2 = 3, 2 + 1.5 = 3.5, masked 3.5; s1: zeros; s2: masked 0
 *   (not 4), 1 + 2 = 3, 2 + 1.5 = 3.5. Last outputs 3.5, 0, 3.5.
 * The old lowering output the carried state: s0 step 0 = 4, s1 = 3 3 3. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json
enum { B = 3, T = 3 };

static float xs[B * T] = {0, 2, 1, 0, 0, 0, 2, 1, 0};
static float h0[B] = {4, 3, 4};

static const char *const linear_cell =
    "'units': 1, 'activation': 'linear', 'use_bias': false, "
    "'kernel_initializer': {'class_name': 'Constant', 'config': {'value': 1.0}}, "
    "'recurrent_initializer': {'class_name': 'Constant', 'config': {'value': 0.5}}";

/* Inputs x [3, 1] and s [1] (Keras 2 node lists); x -> Masking -> `layer`
 * called with initial_state [s] * n_states; the model outputs `outputs`
 * (a list of [layer, node, index]), concatenated when there are several. */
static const char *model(const char *layer, int n_states, const char *outputs, int n_out) {
  static char buf[4096];
  char states[128] = "";
  for (int k = 0; k < n_states; k++)
    strncat(states, k ? ", ['s', 0, 0]" : "['s', 0, 0]", sizeof states - strlen(states) - 1);
  char cat[512] = "";
  if (n_out > 1)
    snprintf(cat, sizeof cat,
             ",{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat'}, "
             "'inbound_nodes': [[%s]]}",
             outputs);
  snprintf(buf, sizeof buf,
           "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'x', 'config': {'name': 'x', "
           "'batch_input_shape': [null, %d, 1]}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 's', 'config': {'name': 's', "
           "'batch_input_shape': [null, 1]}, 'inbound_nodes': []},"
           "{'class_name': 'Masking', 'name': 'mk', 'config': {'name': 'mk'}, "
           "'inbound_nodes': [[['x', 0, 0, {}]]]},"
           "%s, 'inbound_nodes': [[['mk', 0, 0, {'initial_state': [%s]}]]]}%s],"
           "'input_layers': [['x', 0, 0], ['s', 0, 0]], 'output_layers': [%s]}}",
           T, layer, states, cat, n_out > 1 ? "['cat', 0, 0]" : outputs);
  return Q(buf);
}

/* Predict on xs, h0 and compare with want (n per sample) exactly: every
 * value is a sum of halves. */
static void expect(const char *json, const float *want, int n) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "rnnmask.json", &m, &st) == NNC_OK, "%s", st.message);
  nnc_array x[2] = {testutil_f32(xs, B, T), testutil_f32(h0, B, 1)}, y;
  x[0].rank = 3;
  x[0].shape[1] = T;
  x[0].shape[2] = 1;
  ck_assert_msg(nnc_model_predict_multi(m, 2, x, B, 1, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&y), B * n);
  const float *v = y.data;
  for (int i = 0; i < B * n; i++)
    ck_assert_msg(fabsf(v[i] - want[i]) <= 1e-6f, "sample %d value %d: got %g, want %g", i / n,
                  i % n, v[i], want[i]);
  nnc_array_free(&y);
  nnc_model_free(m);
}

static const char *rnn(const char *cls, const char *extra) {
  static char buf[2][1024];
  static int k;
  char *b = buf[k++ % 2];
  snprintf(b, 1024, "{'class_name': '%s', 'name': 'r', 'config': {'name': 'r', %s%s%s}", cls,
           linear_cell, extra[0] ? ", " : "", extra);
  return b;
}

START_TEST(leading_masked_steps_output_zeros) {
  const float seq[] = {0, 4, 3, 0, 0, 0, 4, 3, 3};
  expect(model(rnn("SimpleRNN", "'return_sequences': true"), 1, "['r', 0, 0]", 1), seq, T);
  const float last[] = {3, 0, 3};
  expect(model(rnn("SimpleRNN", ""), 1, "['r', 0, 0]", 1), last, 1);
  /* return_state: the output is zeros, the state the initial one (s1) */
  const float with_state[] = {3, 3, 0, 3, 3, 3};
  expect(model(rnn("SimpleRNN", "'return_state': true"), 1, "['r', 0, 0], ['r', 0, 1]", 2),
         with_state, 2);
  /* the same through the generic RNN layer */
  char generic[1024];
  snprintf(generic, sizeof generic,
           "{'class_name': 'RNN', 'name': 'r', 'config': {'name': 'r', 'return_sequences': true, "
           "'cell': {'class_name': 'SimpleRNNCell', 'config': {%s}}}",
           linear_cell);
  expect(model(generic, 1, "['r', 0, 0]", 1), seq, T);
}
END_TEST

START_TEST(go_backwards_leading_masked_steps_output_zeros) {
  const float seq[] = {3, 3.5f, 3.5f, 0, 0, 0, 0, 3, 3.5f};
  expect(model(rnn("SimpleRNN", "'return_sequences': true, 'go_backwards': true"), 1, "['r', 0, 0]",
               1),
         seq, T);
  const float last[] = {3.5f, 3.5f, 0, 3, 3.5f, 3.5f};
  expect(model(rnn("SimpleRNN", "'go_backwards': true, 'return_state': true"), 1,
               "['r', 0, 0], ['r', 0, 1]", 2),
         last, 2);
}
END_TEST

/* zero_output_for_mask (Keras's RNN argument): every masked step outputs
 * zeros; without return_sequences the last output is zeros when the last
 * processed step is masked (s2). nnc refused it before. */
START_TEST(zero_output_for_mask) {
  const float seq[] = {0, 4, 3, 0, 0, 0, 4, 3, 0};
  expect(model(rnn("SimpleRNN", "'return_sequences': true, 'zero_output_for_mask': true"), 1,
               "['r', 0, 0]", 1),
         seq, T);
  const float last[] = {3, 0, 0};
  expect(model(rnn("SimpleRNN", "'zero_output_for_mask': true"), 1, "['r', 0, 0]", 1), last, 1);
  char generic[1024];
  snprintf(generic, sizeof generic,
           "{'class_name': 'RNN', 'name': 'r', 'config': {'name': 'r', 'zero_output_for_mask': "
           "true, 'cell': {'class_name': 'SimpleRNNCell', 'config': {%s}}}",
           linear_cell);
  expect(model(generic, 1, "['r', 0, 0]", 1), last, 1);
}
END_TEST

/* Bidirectional: Keras forces zero_output_for_mask = return_sequences, so
 * without return_sequences each side's last output is the plain rule's
 * (forward 3, 0, 3; backward 3.5, 0, 3.5), the initial states given as
 * [forward h, backward h]. With return_sequences masked steps are zeros,
 * the backward half back in time order: s0 (0, 3.5, 3), s2 (3.5, 3, 0). */
START_TEST(bidirectional_with_initial_state) {
  char bi[1024];
  snprintf(bi, sizeof bi,
           "{'class_name': 'Bidirectional', 'name': 'r', 'config': {'name': 'r', 'layer': "
           "{'class_name': 'SimpleRNN', 'config': {'name': 'f', %s}}}",
           linear_cell);
  const float last[] = {3, 3.5f, 0, 0, 3, 3.5f};
  expect(model(bi, 2, "['r', 0, 0]", 1), last, 2);
  snprintf(bi, sizeof bi,
           "{'class_name': 'Bidirectional', 'name': 'r', 'config': {'name': 'r', 'layer': "
           "{'class_name': 'SimpleRNN', 'config': {'name': 'f', 'return_sequences': true, %s}}}",
           linear_cell);
  const float seq[] = {0, 0, 4, 3.5f, 3, 3, 0, 0, 0, 0, 0, 0, 4, 3.5f, 3, 3, 0, 0};
  expect(model(bi, 2, "['r', 0, 0]", 1), seq, 2 * T);
}
END_TEST

/* LSTM(1) with kernel 1, recurrent kernel 0.5, no bias: every gate sees
 * z = x + 0.5 h; c' = sig(z) c + sig(z) tanh(z), h' = sig(z) tanh(c').
 * Initial h = c = s. Outputs [seq (3), h, c] per sample. */
START_TEST(lstm_leading_masked_steps) {
  float want[B * 5];
  for (int b = 0; b < B; b++) {
    double h = h0[b], c = h0[b], seen = 0;
    for (int t = 0; t < T; t++) {
      double x = xs[b * T + t];
      if (x != 0) {
        double z = x + 0.5 * h, sg = 1 / (1 + exp(-z));
        c = sg * c + sg * tanh(z);
        h = sg * tanh(c);
        seen = 1;
      }
      want[b * 5 + t] = (float)(seen * h);
    }
    want[b * 5 + 3] = (float)h;
    want[b * 5 + 4] = (float)c;
  }
  ck_assert_float_eq(want[0], 0.0f); /* s0's masked first step */
  ck_assert_float_eq(want[5 + 3], 3.0f);
  char layer[1024];
  snprintf(layer, sizeof layer,
           "{'class_name': 'LSTM', 'name': 'r', 'config': {'name': 'r', 'units': 1, 'use_bias': "
           "false, 'return_sequences': true, 'return_state': true, 'kernel_initializer': "
           "{'class_name': 'Constant', 'config': {'value': 1.0}}, 'recurrent_initializer': "
           "{'class_name': 'Constant', 'config': {'value': 0.5}}}");
  /* three outputs of different ranks: one model each; LSTM values are not
   * sums of halves, so compare at float rounding */
  static const char *const outs[] = {"['r', 0, 0]", "['r', 0, 1]", "['r', 0, 2]"};
  static const int width[] = {3, 1, 1}, at[] = {0, 3, 4};
  for (int o = 0; o < 3; o++) {
    nnc_model *m = NULL;
    nnc_status st;
    ck_assert_msg(nnc_model_load_string(model(layer, 2, outs[o], 1), "l.json", &m, &st) == NNC_OK,
                  "%s", st.message);
    nnc_array x[2] = {testutil_f32(xs, B, T), testutil_f32(h0, B, 1)}, y;
    x[0].rank = 3;
    x[0].shape[1] = T;
    x[0].shape[2] = 1;
    ck_assert_msg(nnc_model_predict_multi(m, 2, x, B, 1, &y, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(nnc_array_count(&y), B * width[o]);
    const float *v = y.data;
    for (int b = 0; b < B; b++)
      for (int i = 0; i < width[o]; i++) {
        float got = v[b * width[o] + i], w = want[b * 5 + at[o] + i];
        ck_assert_msg(fabsf(got - w) <= 2e-6f, "output %d sample %d entry %d: %g, want %g", o, b, i,
                      got, w);
      }
    nnc_array_free(&y);
    nnc_model_free(m);
  }
}
END_TEST

/* GRU: the same rule (a masked first step outputs 0, an all-masked sample
 * outputs zeros but keeps its state), checked as properties. */
START_TEST(gru_all_masked_sample) {
  char layer[1024];
  snprintf(layer, sizeof layer,
           "{'class_name': 'GRU', 'name': 'r', 'config': {'name': 'r', 'units': 1, "
           "'return_sequences': true, 'recurrent_initializer': {'class_name': 'Constant', "
           "'config': {'value': 0.5}}}");
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert(nnc_model_load_string(model(layer, 1, "['r', 0, 0]", 1), "g.json", &m, &st) == NNC_OK);
  nnc_array x[2] = {testutil_f32(xs, B, T), testutil_f32(h0, B, 1)}, y;
  x[0].rank = 3;
  x[0].shape[1] = T;
  x[0].shape[2] = 1;
  ck_assert_msg(nnc_model_predict_multi(m, 2, x, B, 1, &y, &st) == NNC_OK, "%s", st.message);
  const float *v = y.data;
  ck_assert_float_eq(v[0], 0.0f);
  ck_assert(fabsf(v[1]) > 1e-3f && fabsf(v[2]) > 1e-3f);
  for (int t = 0; t < T; t++) ck_assert_float_eq(v[T + t], 0.0f);
  ck_assert(fabsf(v[2 * T + 2] - v[2 * T + 1]) == 0.0f); /* s2's masked last step repeats */
  nnc_array_free(&y);
  nnc_model_free(m);
}
END_TEST

/* Finite differences through the new path: x [6] -> Reshape [3, 2] -> ReLU
 * -> Masking (a step masked where both entries were <= 0, fixed by the
 * inputs alone) -> LSTM(2, return_sequences) from initial states Dense(2)(x)
 * -> Flatten -> Dense(1). Leading masked steps' outputs are zeros, so no
 * gradient reaches the initial states through them. */
START_TEST(gradient_with_initial_state_and_mask) {
  const char *json =
      Q("{'class_name': 'Functional', 'config': {'name': 'g', 'layers': ["
        "{'class_name': 'InputLayer', 'name': 'in', 'config': {'name': 'in', "
        "'batch_input_shape': [null, 6]}, 'inbound_nodes': []},"
        "{'class_name': 'Reshape', 'name': 'rs', 'config': {'name': 'rs', 'target_shape': [3, 2]}, "
        "'inbound_nodes': [[['in', 0, 0, {}]]]},"
        "{'class_name': 'ReLU', 'name': 'act', 'config': {'name': 'act'}, "
        "'inbound_nodes': [[['rs', 0, 0, {}]]]},"
        "{'class_name': 'Masking', 'name': 'mk', 'config': {'name': 'mk'}, "
        "'inbound_nodes': [[['act', 0, 0, {}]]]},"
        "{'class_name': 'Dense', 'name': 'h0', 'config': {'name': 'h0', 'units': 2}, "
        "'inbound_nodes': [[['in', 0, 0, {}]]]},"
        "{'class_name': 'Dense', 'name': 'c0', 'config': {'name': 'c0', 'units': 2}, "
        "'inbound_nodes': [[['in', 0, 0, {}]]]},"
        "{'class_name': 'LSTM', 'name': 'r', 'config': {'name': 'r', 'units': 2, "
        "'return_sequences': true}, 'inbound_nodes': [[['mk', 0, 0, {'initial_state': "
        "[['h0', 0, 0], ['c0', 0, 0]]}]]]},"
        "{'class_name': 'Flatten', 'name': 'fl', 'config': {'name': 'fl'}, "
        "'inbound_nodes': [[['r', 0, 0, {}]]]},"
        "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1}, "
        "'inbound_nodes': [[['fl', 0, 0, {}]]]}],"
        "'input_layers': [['in', 0, 0]], 'output_layers': [['out', 0, 0]]},"
        "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 1}}, "
        "'loss': 'mse'}}");
  gradcheck_opts o = {8, 77, 0.3, -0.1, 0.9, 2, 1, 2e-4, 2e-2};
  gradcheck_model(json, 6, &o);
}
END_TEST

/* Keras 3's MultiHeadAttention.call has no mask parameter: a node giving
 * mask= fails in Keras ("unexpected keyword argument"); refused naming the
 * argument's path. */
START_TEST(mha_mask_kwarg_is_refused) {
  const char *json =
      Q("{'class_name': 'Functional', 'config': {'name': 'a', 'layers': ["
        "{'class_name': 'InputLayer', 'name': 'q', 'config': {'name': 'q', "
        "'batch_input_shape': [null, 3, 4]}, 'inbound_nodes': []},"
        "{'class_name': 'InputLayer', 'name': 'mq', 'config': {'name': 'mq', "
        "'batch_input_shape': [null, 3]}, 'inbound_nodes': []},"
        "{'class_name': 'MultiHeadAttention', 'name': 'mha', 'config': {'name': 'mha', "
        "'num_heads': 1, 'key_dim': 2}, 'inbound_nodes': [[['q', 0, 0, {'value': ['q', 0, 0], "
        "'mask': ['mq', 0, 0]}]]]}],"
        "'input_layers': [['q', 0, 0], ['mq', 0, 0]], 'output_layers': [['mha', 0, 0]]}}");
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(json, "mha.json", &m, &st);
  if (rc == NNC_OK) {
    float q[2 * 12] = {0}, mq[2 * 3] = {1, 1, 0, 1, 0, 0};
    nnc_array x[2] = {testutil_f32(q, 2, 12), testutil_f32(mq, 2, 3)}, y;
    x[0].rank = 3;
    x[0].shape[1] = 3;
    x[0].shape[2] = 4;
    rc = nnc_model_predict_multi(m, 2, x, 2, 1, &y, &st);
    if (rc == NNC_OK) nnc_array_free(&y);
    nnc_model_free(m);
  }
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "mha.json") && strstr(st.message, "inbound_nodes") &&
                    strstr(st.message, "mask") && strstr(st.message, "\"mha\"") &&
                    strstr(st.message, "no mask call argument"),
                "%s", st.message);
}
END_TEST

/* A loss that does not keep one value per masked step (an expression
 * reduced over every axis) is refused, naming the file and the loss. */
START_TEST(loss_mask_message_names_the_path) {
  const char *json =
      Q("{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 2], 'name': 'in'}},"
        "{'class_name': 'Masking', 'config': {'name': 'mk'}},"
        "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}]},"
        "'compile_config': {'optimizer': 'sgd', 'loss': {'expression': "
        "'mean(square(y_true - y_pred))'}}}");
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(json, "lossmask.json", &m, &st);
  if (rc == NNC_OK) {
    float x[2 * 6] = {1, 2, 0, 0, 3, 4, 1, 1, 1, 1, 0, 0}, yv[2 * 3] = {0};
    nnc_array xa = testutil_f32(x, 2, 6), ya = testutil_f32(yv, 2, 3);
    xa.rank = 3;
    xa.shape[1] = 3;
    xa.shape[2] = 2;
    ya.rank = 3;
    ya.shape[1] = 3;
    ya.shape[2] = 1;
    TEST_LOGS(logs);
    rc = nnc_model_train_on_batch(m, &xa, &ya, &logs, &st);
    nnc_model_free(m);
  }
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "lossmask.json: ") && strstr(st.message, ".loss: ") &&
                    strstr(st.message, "does not fit"),
                "%s", st.message);
}
END_TEST

/* Keras 3's Bidirectional builds its backward copy with go_backwards = True
 * and refuses two backward layers (bidirectional.py _verify_layer_config);
 * Keras 2 and tfjs flip the wrapped layer's value instead. */
#define BIDI_BACKWARDS(module)                                                                     \
  "{'class_name': 'Sequential', " module "'config': {'name': 'm', 'layers': ["                     \
  "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 2], 'name': 'in'}}, "          \
  "{'class_name': 'Bidirectional', 'config': {'name': 'b', 'layer': {'class_name': 'SimpleRNN', "  \
  "'config': {'name': 'f', 'units': 2, 'go_backwards': true}}}}]}}"
START_TEST(keras3_bidirectional_refuses_backwards_layer) {
  testutil_expect_spec_error(testutil_json(BIDI_BACKWARDS("'module': 'keras', ")),
                             "$.config.layers[1].config.layer", "needs a backward_layer");
  nnc_shape s = testutil_lowered_output(testutil_json(BIDI_BACKWARDS("")));
  ck_assert_int_eq(s.rank, 2);
  ck_assert_int_eq(s.dims[1], 4);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rnnmask8");
  TCase *t = tcase_create("core");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, leading_masked_steps_output_zeros);
  tcase_add_test(t, go_backwards_leading_masked_steps_output_zeros);
  tcase_add_test(t, zero_output_for_mask);
  tcase_add_test(t, bidirectional_with_initial_state);
  tcase_add_test(t, lstm_leading_masked_steps);
  tcase_add_test(t, gru_all_masked_sample);
  tcase_add_test(t, gradient_with_initial_state_and_mask);
  tcase_add_test(t, mha_mask_kwarg_is_refused);
  tcase_add_test(t, loss_mask_message_names_the_path);
  tcase_add_test(t, keras3_bidirectional_refuses_backwards_layer);
  suite_add_tcase(s, t);
  return testutil_run(s);
}
