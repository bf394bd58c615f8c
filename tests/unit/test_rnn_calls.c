/* Recurrent layers through Functional call features, checked by properties
 * Keras guarantees rather than by a reference implementation:
 *
 * - return_state + initial_state: a layer run over the first half of a
 *   sequence, then (the same layer, a second call) over the second half
 *   starting from the returned states, gives the output of one run over the
 *   whole sequence (Keras's stateful-splitting identity). This exercises
 *   extra outputs [name, node, 1..2], the initial_state keyword argument in
 *   both file formats, shared weights and several model inputs.
 * - masks: Embedding(mask_zero) -> LSTM/GRU skips masked steps, so indices
 *   followed by zeros predict what the indices alone predict (a None time
 *   axis builds both lengths from one spec with the same weights). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define Q testutil_json
enum { B = 2, T1 = 3, T2 = 4, F = 3 }; /* kt() shapes below spell these out */

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "calls.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static nnc_array seq(float *v, int t) {
  nnc_array a = testutil_f32(v, B, (int64_t)t * F);
  a.rank = 3;
  a.shape[1] = t;
  a.shape[2] = F;
  return a;
}

/* Keras 2 / tfjs node lists: inputs a [T1], b [T2], ab [T1 + T2]; `cls` is
 * called on a (states out), on b from those states, and on ab; the model
 * outputs the two runs' last outputs side by side. */
static const char *split_model_keras2(const char *cls, int n_states, int swap) {
  static char buf[4096];
  char states[256] = "";
  for (int k = 1; k <= n_states; k++) {
    char one[64];
    snprintf(one, sizeof one, "%s['r', 0, %d]", k > 1 ? ", " : "", swap ? n_states + 1 - k : k);
    strncat(states, one, sizeof states - strlen(states) - 1);
  }
  snprintf(buf, sizeof buf,
           "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'a', 'config': {'name': 'a', "
           "'batch_input_shape': [null, %d, %d]}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 'b', 'config': {'name': 'b', "
           "'batch_input_shape': [null, %d, %d]}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 'ab', 'config': {'name': 'ab', "
           "'batch_input_shape': [null, %d, %d]}, 'inbound_nodes': []},"
           "{'class_name': '%s', 'name': 'r', 'config': {'name': 'r', 'units': 4, "
           "'return_state': true}, 'inbound_nodes': [[['a', 0, 0, {}]], "
           "[['b', 0, 0, {'initial_state': [%s]}]], [['ab', 0, 0, {}]]]},"
           "{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat'}, "
           "'inbound_nodes': [[['r', 1, 0, {}], ['r', 2, 0, {}]]]}],"
           "'input_layers': [['a', 0, 0], ['b', 0, 0], ['ab', 0, 0]], "
           "'output_layers': [['cat', 0, 0]]}}",
           T1, F, T2, F, T1 + T2, F, cls, states);
  return Q(buf);
}

/* The same model in Keras 3's format: initial_state as a kwarg list of
 * __keras_tensor__ objects (keras_history [layer, node, index]). */
static const char *kt(const char *layer, int node, int index, const char *shape) {
  static char bufs[4][200];
  static int next;
  char *b = bufs[next++ % 4];
  snprintf(b, 200,
           "{'class_name': '__keras_tensor__', 'config': {'shape': %s, 'dtype': "
           "'float32', 'keras_history': ['%s', %d, %d]}}",
           shape, layer, node, index);
  return b;
}

static const char *split_model_keras3(const char *cls, int n_states) {
  static char buf[8192];
  char states[1024] = "";
  for (int k = 1; k <= n_states; k++) {
    strncat(states, k > 1 ? ", " : "", sizeof states - strlen(states) - 1);
    strncat(states, kt("r", 0, k, "[null, 4]"), sizeof states - strlen(states) - 1);
  }
  char in_a[200], in_b[200], in_ab[200], r1[200], r2[200];
  snprintf(in_a, sizeof in_a, "%s", kt("a", 0, 0, "[null, 3, 3]"));
  snprintf(in_b, sizeof in_b, "%s", kt("b", 0, 0, "[null, 4, 3]"));
  snprintf(in_ab, sizeof in_ab, "%s", kt("ab", 0, 0, "[null, 7, 3]"));
  snprintf(r1, sizeof r1, "%s", kt("r", 1, 0, "[null, 4]"));
  snprintf(r2, sizeof r2, "%s", kt("r", 2, 0, "[null, 4]"));
  snprintf(buf, sizeof buf,
           "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'a', 'config': {'name': 'a', "
           "'batch_shape': [null, %d, %d]}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 'b', 'config': {'name': 'b', "
           "'batch_shape': [null, %d, %d]}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 'ab', 'config': {'name': 'ab', "
           "'batch_shape': [null, %d, %d]}, 'inbound_nodes': []},"
           "{'class_name': '%s', 'name': 'r', 'config': {'name': 'r', 'units': 4, "
           "'return_state': true}, 'inbound_nodes': ["
           "{'args': [%s], 'kwargs': {}},"
           "{'args': [%s], 'kwargs': {'initial_state': [%s]}},"
           "{'args': [%s], 'kwargs': {}}]},"
           "{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat'}, "
           "'inbound_nodes': [{'args': [[%s, %s]], 'kwargs': {}}]}],"
           "'input_layers': [['a', 0, 0], ['b', 0, 0], ['ab', 0, 0]], "
           "'output_layers': [['cat', 0, 0]]}}",
           T1, F, T2, F, T1 + T2, F, cls, in_a, in_b, states, in_ab, r1, r2);
  return Q(buf);
}

/* equal: the split run must give the whole run's outputs; else they must
 * differ (the check can fail). */
static void check_split(const char *json, int equal) {
  float a[B * T1 * F], b[B * T2 * F], ab[B * (T1 + T2) * F];
  for (int s = 0; s < B; s++)
    for (int t = 0; t < T1 + T2; t++)
      for (int f = 0; f < F; f++) {
        float v = (float)sin(0.7 * (s * 31 + t * F + f) + 0.2);
        ab[(s * (T1 + T2) + t) * F + f] = v;
        if (t < T1)
          a[(s * T1 + t) * F + f] = v;
        else
          b[(s * T2 + t - T1) * F + f] = v;
      }
  nnc_model *m = load(json);
  nnc_array x[3] = {seq(a, T1), seq(b, T2), seq(ab, T1 + T2)}, y;
  nnc_status st;
  ck_assert_msg(nnc_model_predict_multi(m, 3, x, B, 1, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&y), B * 8);
  const float *v = y.data;
  double biggest = 0, apart = 0;
  for (int s = 0; s < B; s++)
    for (int u = 0; u < 4; u++) {
      float split = v[s * 8 + u], whole = v[s * 8 + 4 + u];
      biggest = fmax(biggest, fabs(whole));
      apart = fmax(apart, fabs(split - whole));
      if (equal)
        ck_assert_msg(fabs(split - whole) <= 1e-6, "sample %d unit %d: split %.9g, whole %.9g", s,
                      u, split, whole);
    }
  ck_assert_msg(biggest > 0.05, "outputs too small to tell anything: %g", biggest);
  if (!equal) ck_assert_msg(apart > 1e-3, "without the states the runs still agree (%g)", apart);
  nnc_array_free(&y);
  nnc_model_free(m);
}

START_TEST(split_sequence_with_returned_states_equals_whole_sequence) {
  check_split(split_model_keras2("LSTM", 2, 0), 1);
  check_split(split_model_keras2("GRU", 1, 0), 1);
  check_split(split_model_keras2("SimpleRNN", 1, 0), 1);
  check_split(split_model_keras3("LSTM", 2), 1);
  check_split(split_model_keras3("GRU", 1), 1);
}
END_TEST

/* With LSTM's states given in the wrong order (c, h) the identity must
 * fail, or the test above could not fail. An unread call argument is
 * refused, naming it. */
START_TEST(split_with_swapped_states_differs) {
  check_split(split_model_keras2("LSTM", 2, 1), 0);
  char *edited = strdup(split_model_keras2("LSTM", 2, 0));
  char *at = strstr(edited, "\"initial_state\"");
  ck_assert_ptr_nonnull(at);
  memcpy(at + 1, "initial_stat_", 13);
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(edited, "calls.json", &m, &st);
  if (rc == NNC_OK) {
    float a[B * T1 * F] = {0}, b[B * T2 * F] = {0}, ab[B * (T1 + T2) * F] = {0};
    nnc_array x[3] = {seq(a, T1), seq(b, T2), seq(ab, T1 + T2)}, y;
    rc = nnc_model_predict_multi(m, 3, x, B, 1, &y, &st);
    if (rc == NNC_OK) nnc_array_free(&y);
    nnc_model_free(m);
  }
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "initial_stat_"), "%s", st.message);
  free(edited);
}
END_TEST

/* Input [None] ints -> Embedding(mask_zero) -> `cls` -> Dense(2). */
static const char *masked_model(const char *cls) {
  static char buf[2048];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, null], 'name': 'in'}},"
           "{'class_name': 'Embedding', 'config': {'name': 'e', 'input_dim': 7, 'output_dim': 3, "
           "'mask_zero': true, 'embeddings_initializer': {'class_name': 'RandomUniform', "
           "'config': {'minval': -1, 'maxval': 1, 'seed': 3}}}},"
           "{'class_name': '%s', 'config': {'name': 'r', 'units': 4}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2}}]}}",
           cls);
  return Q(buf);
}

static void predict_ids(nnc_model *m, const float *ids, int t, float *out) {
  nnc_array x = testutil_f32((float *)ids, B, t), y;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &x, B, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&y), B * 2);
  memcpy(out, y.data, sizeof(float) * B * 2);
  nnc_array_free(&y);
}

static void check_masked(const char *cls) {
  nnc_model *m = load(masked_model(cls));
  const float short_ids[B * 3] = {3, 1, 5, 2, 6, 4};
  const float padded[B * 6] = {3, 1, 5, 0, 0, 0, 2, 6, 4, 0, 0, 0};
  const float unmasked[B * 6] = {3, 1, 5, 1, 1, 1, 2, 6, 4, 1, 1, 1};
  float a[B * 2], b[B * 2], c[B * 2];
  predict_ids(m, short_ids, 3, a);
  predict_ids(m, padded, 6, b);
  predict_ids(m, unmasked, 6, c);
  double moved = 0;
  for (int k = 0; k < B * 2; k++) {
    ck_assert_msg(fabs(a[k] - b[k]) <= 1e-6, "%s [%d]: %g without padding, %g with", cls, k, a[k],
                  b[k]);
    moved = fmax(moved, fabs(a[k] - c[k]));
  }
  /* index 1 instead of 0 is a real step: it must change the output */
  ck_assert_msg(moved > 1e-4, "%s: steps of index 1 changed nothing (%g)", cls, moved);
  nnc_model_free(m);
}

START_TEST(masked_steps_are_skipped) {
  check_masked("LSTM");
  check_masked("GRU");
  check_masked("SimpleRNN");
}
END_TEST

int main(void) {
  Suite *s = suite_create("rnn_calls");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, split_sequence_with_returned_states_equals_whole_sequence);
  tcase_add_test(tc, split_with_swapped_states_differs);
  tcase_add_test(tc, masked_steps_are_skipped);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
