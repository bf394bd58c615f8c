/* Regression tests for what session 7's breaker found in masks, call
 * keyword arguments, recurrent layers and None axes. Each test failed on the
 * code before its fix.
 *
 * Truth: Keras 3's sources. Layer.__call__ uses an explicit mask= as given
 * and the layers cast it to bool (any nonzero value, NaN included, keeps the
 * step); a mask has one entry per step (the input's shape without the last
 * axis); an RNN takes one initial state per entry of cell.state_size (LSTM:
 * h and c); a masked output's loss is sum(loss * mask) / sum(mask). The
 * expected numbers are computed here by hand. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/model.h"
#include "testutil.h"

#define Q testutil_json

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "brk7.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* x [B, 3, 1] and m [B, MASK_STEPS] -> LAYER(x, mask=m) (Keras 2 spelling),
 * mse. */
static const char *mask_model(const char *layer_cls, const char *layer_cfg, int mask_steps) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, 3, "
           "1], 'name': 'x'}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 'm', 'config': {'batch_input_shape': [null, %d], "
           "'name': 'm'}, 'inbound_nodes': []},"
           "{'class_name': '%s', 'name': 'd', 'config': {'name': 'd', %s}, 'inbound_nodes': "
           "[[['x', 0, 0, {'mask': ['m', 0, 0]}]]]}],"
           "'input_layers': [['x', 0, 0], ['m', 0, 0]], 'output_layers': [['d', 0, 0]]},"
           "'compile_config': {'optimizer': 'sgd', 'loss': 'mse'}}",
           mask_steps, layer_cls, layer_cfg);
  return Q(buf);
}

static double masked_dense_loss(float *mask_values) {
  nnc_model *m = load(mask_model("Dense", "'units': 1", 3));
  float x[6] = {1, 2, 3, -1, 0.5f, 4}, y[6] = {0, 1, 2, 3, 4, 5};
  nnc_array in[2] = {{.dtype = NNC_F32, .rank = 3, .shape = {2, 3, 1}, .data = x},
                     testutil_f32(mask_values, 2, 3)};
  nnc_array ya = {.dtype = NNC_F32, .rank = 3, .shape = {2, 3, 1}, .data = y};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 2, in, 1, &ya, &st) == NNC_OK, "%s", st.message);
  float k = 2.0f, b = 0.5f;
  nnc_array ka = {.dtype = NNC_F32, .rank = 2, .shape = {1, 1}, .data = &k};
  nnc_array ba = {.dtype = NNC_F32, .rank = 1, .shape = {1}, .data = &b};
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &ka, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "d/bias", &ba, &st) == NNC_OK, "%s", st.message);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_test_on_batch_multi(m, 2, in, 1, &ya, &logs, &st) == NNC_OK, "%s",
                st.message);
  double loss = nnc_logs_get(&logs, "loss");
  nnc_model_free(m);
  return loss;
}

/* mask=m with NaN and 2.5 entries: Keras casts the mask to bool, so they
 * keep their steps exactly as 1 does (the loss used them as weights). */
START_TEST(explicit_mask_values_count_as_bool) {
  float ones[6] = {1, 1, 0, 1, 0, 1}, odd[6] = {1, NAN, 0, 2.5f, 0, -3};
  float x[6] = {1, 2, 3, -1, 0.5f, 4}, y[6] = {0, 1, 2, 3, 4, 5};
  double se = 0;
  int kept = 0;
  for (int i = 0; i < 6; i++)
    if (ones[i] != 0) {
      double d = 2.0 * x[i] + 0.5 - y[i];
      se += d * d, kept++;
    }
  ck_assert_double_eq_tol(masked_dense_loss(ones), se / kept, 1e-5);
  ck_assert_double_eq_tol(masked_dense_loss(odd), se / kept, 1e-5);
}
END_TEST

/* The code of loading json (which compiles a model whose input shapes are
 * declared) and building it; the error in st. */
static int load_and_build(const char *json, nnc_status *st) {
  nnc_model *m = NULL;
  int rc = nnc_model_load_string(json, "brk7.json", &m, st);
  if (rc == NNC_OK) rc = nnc_model_build_multi(m, 0, NULL, 0, NULL, st);
  nnc_model_free(m);
  return rc;
}

/* An explicit mask with another number of steps than the input: refused at
 * the mask's path, for a layer that passes it on (Dense) and one that uses
 * it (LSTM). */
static void refused_at_mask(const char *json, const char *what) {
  nnc_status st;
  ck_assert_int_eq(load_and_build(json, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "brk7.json: $.config.layers[2].inbound_nodes[0]") &&
                    strstr(st.message, "[0][0][3].mask:") &&
                    strstr(st.message, "expected a mask of shape [B,3]") &&
                    strstr(st.message, what) && strstr(st.message, "got [B,4]"),
                "%s", st.message);
}

START_TEST(explicit_mask_of_another_length_is_refused_at_its_path) {
  refused_at_mask(mask_model("Dense", "'units': 1", 4), "Dense \"d\"");
  refused_at_mask(mask_model("LSTM", "'units': 1, 'return_sequences': true", 4), "LSTM \"d\"");
}
END_TEST

START_TEST(attention_mask_list_of_another_length_is_refused) {
  nnc_status st;
  int rc = load_and_build(
      Q("{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
        "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, "
        "3, 1], 'name': 'x'}, 'inbound_nodes': []},"
        "{'class_name': 'InputLayer', 'name': 'm', 'config': {'batch_input_shape': [null, "
        "4], 'name': 'm'}, 'inbound_nodes': []},"
        "{'class_name': 'Attention', 'name': 'a', 'config': {'name': 'a'}, 'inbound_nodes': "
        "[[['x', 0, 0, {'mask': [null, ['m', 0, 0]]}], ['x', 0, 0, {}]]]}],"
        "'input_layers': [['x', 0, 0], ['m', 0, 0]], 'output_layers': [['a', 0, 0]]}}"),
      &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "brk7.json: $.config.layers[2].inbound_nodes[0]") &&
                    strstr(st.message, "[0][0][3].mask[1]:") &&
                    strstr(st.message, "expected a mask of shape [B,3] for input 1 of "
                                       "Attention \"a\"") &&
                    strstr(st.message, "got [B,4]"),
                "%s", st.message);
}
END_TEST

/* x [B, None] tokens -> Embedding -> LSTM: data of length 0 on the None axis
 * has no step to run; refused naming the input and the axis. */
START_TEST(empty_none_axis_is_refused_as_data) {
  nnc_model *m =
      load(Q("{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
             "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, null], 'name': 'x'}},"
             "{'class_name': 'Embedding', 'config': {'name': 'e', 'input_dim': 4, 'output_dim': "
             "2, 'mask_zero': true}},"
             "{'class_name': 'LSTM', 'config': {'name': 'l', 'units': 2}}]}}"));
  float x[1] = {0};
  nnc_array xa = {.dtype = NNC_F32, .rank = 2, .shape = {2, 0}, .data = x}, out = {0};
  nnc_status st;
  ck_assert_int_eq(nnc_model_predict(m, &xa, 2, &out, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "brk7.json: $.config.layers[0]: input \"x\" (None, None): "
                                   "the data's size on None axis 1 is 0: expected at least 1"),
                "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* An LSTM given three initial states (Keras: "An initial_state was passed
 * that is not compatible with cell.state_size"), a Bidirectional LSTM five. */
START_TEST(extra_initial_states_are_refused) {
  static const char *const cases[][2] = {
      {"{'class_name': 'LSTM', 'name': 'r', 'config': {'name': 'r', 'units': 2}, "
       "'inbound_nodes': [[['x', 0, 0, {'initial_state': [['h', 0, 0], ['h', 0, 0], ['h', 0, "
       "0]]}]]]}",
       "LSTM \"r\" takes 2 initial states (h and c), got more"},
      {"{'class_name': 'GRU', 'name': 'r', 'config': {'name': 'r', 'units': 2}, "
       "'inbound_nodes': [[['x', 0, 0, {'initial_state': [['h', 0, 0], ['h', 0, 0]]}]]]}",
       "GRU \"r\" takes 1 initial state (h), got more"},
      {"{'class_name': 'Bidirectional', 'name': 'r', 'config': {'name': 'r', 'layer': "
       "{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 2}}}, 'inbound_nodes': "
       "[[['x', 0, 0, {'initial_state': [['h', 0, 0], ['h', 0, 0], ['h', 0, 0], ['h', 0, 0], "
       "['h', 0, 0]]}]]]}",
       "Bidirectional \"r\" takes 4 initial states"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
             "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, "
             "3, 1], 'name': 'x'}, 'inbound_nodes': []},"
             "{'class_name': 'InputLayer', 'name': 'h', 'config': {'batch_input_shape': [null, "
             "2], 'name': 'h'}, 'inbound_nodes': []}, %s],"
             "'input_layers': [['x', 0, 0], ['h', 0, 0]], 'output_layers': [['r', 0, 0]]}}",
             cases[i][0]);
    nnc_status st;
    ck_assert_int_eq(load_and_build(Q(buf), &st), NNC_ERR_SPEC);
    ck_assert_msg(strstr(st.message, "brk7.json: $.config.layers[2].inbound_nodes[0]: ") &&
                      strstr(st.message, cases[i][1]),
                  "%s", st.message);
  }
}
END_TEST

/* Data of ever new lengths on a None axis: the model keeps at most
 * kept_max programs besides its current one (it kept one per length before),
 * and a length whose program was dropped compiles again with the same
 * weights: Dense(1) per step, y = 2 x + 0.5. */
START_TEST(programs_for_new_lengths_are_bounded) {
  nnc_model *m =
      load(Q("{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
             "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, null, 1], 'name': "
             "'x'}},"
             "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}]}}"));
  m->kept_max = 2;
  float x[8] = {1, -2, 3, 0.25f, 5, 6, -7, 8}, k = 2.0f, b = 0.5f;
  nnc_array ka = {.dtype = NNC_F32, .rank = 2, .shape = {1, 1}, .data = &k};
  nnc_array ba = {.dtype = NNC_F32, .rank = 1, .shape = {1}, .data = &b};
  static const int lengths[] = {1, 2, 3, 4, 1, 4};
  nnc_status st;
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
    int t = lengths[i];
    nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {2, t, 1}, .data = x}, out = {0};
    if (i == 0) {
      ck_assert_msg(nnc_model_build(m, &xa, NULL, &st) == NNC_OK, "%s", st.message);
      ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &ka, &st) == NNC_OK, "%s", st.message);
      ck_assert_msg(nnc_model_set_weight(m, "d/bias", &ba, &st) == NNC_OK, "%s", st.message);
    }
    ck_assert_msg(nnc_model_predict(m, &xa, 2, &out, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_le(m->n_kept, 2);
    ck_assert_int_eq(out.shape[1], t);
    for (int j = 0; j < 2 * t; j++)
      ck_assert_float_eq_tol(((float *)out.data)[j], 2.0f * x[j] + 0.5f, 1e-6f);
    nnc_array_free(&out);
  }
  nnc_model_free(m);
}
END_TEST

Suite *brk7_suite(void) {
  Suite *s = suite_create("brk7");
  TCase *t = tcase_create("core");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, explicit_mask_values_count_as_bool);
  tcase_add_test(t, explicit_mask_of_another_length_is_refused_at_its_path);
  tcase_add_test(t, attention_mask_list_of_another_length_is_refused);
  tcase_add_test(t, empty_none_axis_is_refused_as_data);
  tcase_add_test(t, extra_initial_states_are_refused);
  tcase_add_test(t, programs_for_new_lengths_are_bounded);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return testutil_run(brk7_suite());
}
