/* The layers built on the shape ops: Concatenate, RepeatVector, Permute, Dot.
 *
 * Forward: each layer's output on x = 1, 2, 3, ... equals numbers computed
 * by hand from Keras 3's definitions (written out in the comments).
 * Gradients: one SGD step at learning rate 1 moves every weight by minus its
 * gradient; that must equal the central difference of the test loss, for
 * models where the layers sit between trainable Dense layers. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "gradcheck.h"
#include "testutil.h"

/* Copy of s with ' turned into ", in a rotating static buffer. */
#define Q testutil_json

/* Keras 2 Functional pieces. */
#define INPUT(name, dim)                                                                           \
  "{'class_name': 'InputLayer', 'name': '" name "', 'config': {'batch_input_shape': [null, " dim   \
  "], 'name': '" name "'}, 'inbound_nodes': []}"
#define LAYER(cls, name, cfg, refs)                                                                \
  "{'class_name': '" cls "', 'name': '" name "', 'config': {'name': '" name "'" cfg                \
  "}, 'inbound_nodes': [[" refs "]]}"
#define REF(name) "['" name "', 0, 0, {}]"
#define MODEL(layers, out, compile)                                                                \
  "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': [" layers   \
  "], 'input_layers': [['x', 0, 0]], 'output_layers': [['" out "', 0, 0]]}" compile "}"
#define SGD1                                                                                       \
  ", 'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 1.0}}, "    \
  "'loss': 'mse'}"

static nnc_model *load(const char *json) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static void load_error(const char *json, const char *want) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_int_eq(nnc_model_load_string(json, "model.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
}

/* predict on one sample x = 1, 2, ..., in_dim; compare with want[] */
static void forward(const char *json, int in_dim, const double *want, int n_out) {
  nnc_model *m = load(json);
  float x[64];
  ck_assert_int_le(in_dim, 64);
  for (int i = 0; i < in_dim; i++) x[i] = (float)(i + 1);
  nnc_array xa = testutil_f32(x, 1, in_dim), out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 1, &out, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&out), n_out);
  const float *o = out.data;
  for (int i = 0; i < n_out; i++)
    ck_assert_msg(fabs(o[i] - want[i]) <= 1e-6 + 1e-6 * fabs(want[i]),
                  "output %d: %.9g, expected %.9g", i, o[i], want[i]);
  nnc_array_free(&out);
  nnc_model_free(m);
}

START_TEST(concatenate_values) {
  /* x = 1..6 as r = [[1,2,3],[4,5,6]]; p = Permute((2,1))(r) = [[1,4],[2,5],[3,6]];
   * q = Reshape((2,3))(p) = [[1,4,2],[5,3,6]]. */
#define RPQ                                                                                        \
  INPUT("x", "6")                                                                                  \
  ", " LAYER("Reshape", "r", ", 'target_shape': [2, 3]", REF("x")) ", " LAYER(                     \
      "Permute", "p", ", 'dims': [2, 1]",                                                          \
      REF("r")) ", " LAYER("Reshape", "q", ", 'target_shape': [2, 3]", REF("p"))
  /* axis 1: r's rows then q's */
  const double rows[] = {1, 2, 3, 4, 5, 6, 1, 4, 2, 5, 3, 6};
  forward(Q(MODEL(RPQ ", " LAYER("Concatenate", "c", ", 'axis': 1",
                                 REF("r") ", " REF("q")) ", " LAYER("Flatten", "f", "", REF("c")),
                  "f", "")),
          6, rows, 12);
  /* axis -1 (the default): each row of r then the same row of q */
  const double cols[] = {1, 2, 3, 1, 4, 2, 4, 5, 6, 5, 3, 6};
  forward(Q(MODEL(RPQ ", " LAYER("Concatenate", "c", "",
                                 REF("r") ", " REF("q")) ", " LAYER("Flatten", "f", "", REF("c")),
                  "f", "")),
          6, cols, 12);
  /* three inputs on the last axis of rank-2 tensors */
  const double three[] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6};
  forward(Q(MODEL(INPUT("x", "6") ", " LAYER("Concatenate", "c", ", 'axis': -1",
                                             REF("x") ", " REF("x") ", " REF("x")),
                  "c", "")),
          6, three, 18);
}
END_TEST

START_TEST(repeat_vector_and_permute_values) {
  /* RepeatVector(2) of [1,2,3]: [[1,2,3],[1,2,3]] */
  const double rep[] = {1, 2, 3, 1, 2, 3};
  forward(Q(MODEL(INPUT("x", "3") ", " LAYER("RepeatVector", "rv", ", 'n': 2",
                                             REF("x")) ", " LAYER("Flatten", "f", "", REF("rv")),
                  "f", "")),
          3, rep, 6);
  /* x = 1..24 as [2,3,4]; Permute((3,1,2)): out[i,j,k] = in[j,k,i], shape [4,2,3] */
  double perm[24];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++) perm[(i * 2 + j) * 3 + k] = 1 + (j * 3 + k) * 4 + i;
  forward(Q(MODEL(INPUT("x", "24") ", " LAYER(
                      "Reshape", "r", ", 'target_shape': [2, 3, 4]",
                      REF("x")) ", " LAYER("Permute", "p", ", 'dims': [3, 1, 2]",
                                           REF("r")) ", " LAYER("Flatten", "f", "", REF("p")),
                  "f", "")),
          24, perm, 24);
}
END_TEST

START_TEST(dot_values) {
  /* x = [1,2,3,4]: Dot(axes=1)([x, x]) = 1 + 4 + 9 + 16 = 30, shape [B,1] */
  const double self[] = {30};
  forward(Q(MODEL(INPUT("x", "4") ", " LAYER("Dot", "d", ", 'axes': 1", REF("x") ", " REF("x")),
                  "d", "")),
          4, self, 1);
  /* r = [[1,2],[3,4]]: axes 1: r^T r = [[10,14],[14,20]]; axes [2,1]: r r =
   * [[7,10],[15,22]]; axes -1: r r^T = [[5,11],[11,25]] */
#define DOT_R(axes, norm)                                                                          \
  MODEL(                                                                                           \
      INPUT("x", "4") ", " LAYER("Reshape", "r", ", 'target_shape': [2, 2]", REF("x")) ", " LAYER( \
          "Dot", "d", ", 'axes': " axes norm, REF("r") ", " REF("r")) ", " LAYER("Flatten", "f",   \
                                                                                 "", REF("d")),    \
      "f", "")
  const double rtr[] = {10, 14, 14, 20}, rr[] = {7, 10, 15, 22}, rrt[] = {5, 11, 11, 25};
  forward(Q(DOT_R("1", "")), 4, rtr, 4);
  forward(Q(DOT_R("[2, 1]", "")), 4, rr, 4);
  forward(Q(DOT_R("-1", "")), 4, rrt, 4);
  /* normalize along axis 1: the columns [1,3]/sqrt(10) and [2,4]/sqrt(20);
   * their products: cosines 1, 14/sqrt(200), 14/sqrt(200), 1 */
  const double cos_cols[] = {1, 14 / sqrt(200.0), 14 / sqrt(200.0), 1};
  forward(Q(DOT_R("1", ", 'normalize': true")), 4, cos_cols, 4);
  /* rank 2 with normalize: x = [1,2,3,4] and f = Flatten(Permute((2,1))(r)) =
   * [1,3,2,4]: (1 + 6 + 6 + 16) / (sqrt(30) sqrt(30)) = 29/30 */
  const double cos_x[] = {29.0 / 30.0};
  forward(
      Q(MODEL(INPUT("x", "4") ", " LAYER(
                  "Reshape", "r", ", 'target_shape': [2, 2]",
                  REF("x")) ", " LAYER("Permute", "p", ", 'dims': [2, 1]",
                                       REF("r")) ", " LAYER("Flatten", "f", "",
                                                            REF("p")) ", " LAYER("Dot", "d",
                                                                                 ", 'axes': 1, "
                                                                                 "'normalize': "
                                                                                 "true",
                                                                                 REF("x") ", " REF(
                                                                                     "f")),
              "d", "")),
      4, cos_x, 1);
  /* mixed ranks: x [4] with r'= Reshape((2,4))(Concatenate of x, x) on its axis 2:
   * out[i] = sum_p x[p] r'[i,p] = 30 for both rows, shape [B,2] */
  const double mixed[] = {30, 30};
  forward(
      Q(MODEL(INPUT("x", "4") ", " LAYER("Concatenate", "c", "", REF("x") ", " REF("x")) ", " LAYER(
                  "Reshape", "r", ", 'target_shape': [2, 4]",
                  REF("c")) ", " LAYER("Dot", "d", ", 'axes': [1, 2]", REF("x") ", " REF("r")),
              "d", "")),
      4, mixed, 2);
}
END_TEST

/* Keras 3 writes a multi-input layer's build_config as one shape per input
 * (regression: this was read as one shape and refused). */
START_TEST(keras3_build_config_per_input) {
#define K3_X                                                                                       \
  "{'class_name': '__keras_tensor__', 'config': {'shape': [null, 2], 'dtype': 'float32', "         \
  "'keras_history': ['x', 0, 0]}}"
  const double want[] = {1, 2, 1, 2};
  forward(Q("{'module': 'keras.src.models.functional', 'class_name': 'Functional', 'config': {"
            "'name': 'k3', 'layers': [{'class_name': 'InputLayer', 'name': 'x', 'config': "
            "{'batch_shape': [null, 2], 'name': 'x'}, 'inbound_nodes': []}, {'class_name': "
            "'Concatenate', 'name': 'c', 'config': {'name': 'c', 'axis': -1}, 'build_config': "
            "{'input_shape': [[null, 2], [null, 2]]}, 'inbound_nodes': [{'args': [[" K3_X ", " K3_X
            "]], 'kwargs': {}}]}], 'input_layers': [['x', 0, 0]], 'output_layers': [['c', 0, "
            "0]]}}"),
          2, want, 4);
}
END_TEST

START_TEST(bad_configs) {
  load_error(
      Q(MODEL(INPUT("x", "3") ", " LAYER("Concatenate", "c", ", 'axis': 0", REF("x") ", " REF("x")),
              "c", "")),
      "model.json: $.config.layers[1].config.axis: expected an axis of the input [B,3] "
      "other than the batch axis 0 (1 to 1, or -1 to -1) for Concatenate \"c\", got 0");
  load_error(
      Q(MODEL(INPUT("x", "3") ", " LAYER("Reshape", "r", ", 'target_shape': [3, 1]",
                                         REF("x")) ", " LAYER("Concatenate", "c", ", 'axis': 1",
                                                              REF("x") ", " REF("r")),
              "c", "")),
      "expected inputs of one shape except on axis 1 for Concatenate \"c\", got [B,3] and "
      "[B,3,1] (input 1)");
  load_error(
      Q(MODEL(INPUT("x", "3") ", " LAYER("Permute", "p", ", 'dims': [1, 1]", REF("x")), "p", "")),
      "$.config.layers[1].config.dims: expected a permutation of 1..n");
  load_error(
      Q(MODEL(INPUT("x", "3") ", " LAYER("Permute", "p", ", 'dims': [2, 1]", REF("x")), "p", "")),
      "$.config.layers[1].config.dims: expected one entry per axis after the batch axis of the "
      "input [B,3] (1) for Permute \"p\", got 2 entries");
  load_error(
      Q(MODEL(INPUT("x", "3") ", " LAYER("RepeatVector", "rv", ", 'n': 0", REF("x")), "rv", "")),
      "$.config.layers[1].config.n: expected a positive integer, got 0");
  load_error(
      Q(MODEL(INPUT("x", "3") ", " LAYER("Dot", "d", ", 'axes': [1]", REF("x") ", " REF("x")), "d",
              "")),
      "$.config.layers[1].config.axes: expected an integer axis or a list of two");
  load_error(Q(MODEL(INPUT("x", "3") ", " LAYER("Dense", "y", ", 'units': 2", REF("x")) ", " LAYER(
                         "Dot", "d", ", 'axes': 1", REF("x") ", " REF("y")),
                     "d", "")),
             "expected inputs whose dot axes have one size for Dot \"d\", got [B,3] (axis 1) and "
             "[B,2] (axis 1)");
}
END_TEST

/* ---- gradients against central differences ---- */

/* One SGD(lr=1) step against central differences at h and h/2 combined
 * (Richardson, O(h^4)), which the curvature of a normalization needs. */
static void gradcheck(const char *json, int in_dim) {
  gradcheck_opts o = {5, 777, -0.9, 0.4, 1.3, 5, 1, 5e-4, 5e-3};
  gradcheck_model(json, in_dim, &o);
}

START_TEST(concatenate_gradients) {
  /* a, b and a again along the last axis */
  gradcheck(
      Q(MODEL(INPUT("x", "3") ", " LAYER(
                  "Dense", "a", ", 'units': 2, 'activation': 'tanh'",
                  REF("x")) ", " LAYER("Dense", "b",
                                       ", 'units': 3, 'activation': "
                                       "'sigmoid'",
                                       REF("x")) ", " LAYER("Concatenate", "c", "",
                                                            REF("a") ", " REF("b") ", " REF(
                                                                "a")) ", " LAYER("Dense", "out",
                                                                                 ", 'units': 1",
                                                                                 REF("c")),
              "out", SGD1)),
      3);
}
END_TEST

START_TEST(repeat_permute_concat_gradients) {
  /* RepeatVector(3) of a [B,2] -> [B,3,2], Permute((2,1)) -> [B,2,3], joined on
   * axis 1 with b [B,2,3] -> [B,4,3] */
  gradcheck(
      Q(MODEL(
          INPUT("x", "3") ", " LAYER("Dense", "a", ", 'units': 2, 'activation': 'tanh'", REF("x")) ", " LAYER("RepeatVector", "rv", ", 'n': 3", REF("a")) ", " LAYER(
              "Permute", "p", ", 'dims': [2, 1]",
              REF("rv")) ", " LAYER("Dense", "bd", ", 'units': 6, 'activation': 'tanh'",
                                    REF("x")) ", " LAYER("Reshape", "b", ", 'target_shape': [2, 3]",
                                                         REF("bd")) ", " LAYER("Concatenate", "c",
                                                                               ", 'axis': 1",
                                                                               REF("p") ", " REF(
                                                                                   "b")) ", " LAYER("Flatten",
                                                                                                    "f",
                                                                                                    "",
                                                                                                    REF("c")) ", " LAYER("Dense",
                                                                                                                         "out",
                                                                                                                         ", 'units': 1",
                                                                                                                         REF("f")),
          "out", SGD1)),
      3);
}
END_TEST

/* x -> a = Dense(4), b = Dense(4, tanh) -> Dot(axes=1 [, normalize]) -> out */
static const char *dot2(const char *norm) {
  static char buf[4096];
  snprintf(
      buf, sizeof buf, "%s",
      Q(MODEL(INPUT("x", "3") ", " LAYER("Dense", "a", ", 'units': 4", REF("x")) ", " LAYER(
                  "Dense", "b", ", 'units': 4, 'activation': 'tanh'",
                  REF("x")) ", " LAYER("Dot", "d", ", 'axes': 1 NORM",
                                       REF("a") ", " REF("b")) ", " LAYER("Dense", "out",
                                                                          ", 'units': 1", REF("d")),
              "out", SGD1)));
  char *at = strstr(buf, " NORM");
  ck_assert_ptr_nonnull(at);
  char rest[4096];
  snprintf(rest, sizeof rest, "%s", at + 5);
  snprintf(at, sizeof buf - (size_t)(at - buf), "%s%s", norm, rest);
  return buf;
}

START_TEST(dot_rank2_gradients) {
  gradcheck(dot2(""), 3);
  gradcheck(dot2(", \"normalize\": true"), 3);
}
END_TEST

/* a = Reshape((2,3))(Dense(6)), b = Reshape(b_shape)(Dense(12, tanh)): Dot on
 * the axes given (and normalize) -> Flatten -> out */
static const char *dot3(const char *b_shape, const char *axes, const char *norm) {
  static char buf[8192];
  snprintf(
      buf, sizeof buf,
      "{\"class_name\": \"Model\", \"config\": {\"name\": \"m\", \"layers\": [%s, "
      "{\"class_name\": \"Reshape\", \"name\": \"b\", \"config\": {\"name\": \"b\", "
      "\"target_shape\": %s}, \"inbound_nodes\": [[[\"bd\", 0, 0, {}]]]}, "
      "{\"class_name\": \"Dot\", \"name\": \"d\", \"config\": {\"name\": \"d\", "
      "\"axes\": %s%s}, \"inbound_nodes\": [[[\"a\", 0, 0, {}], [\"b\", 0, 0, {}]]]}, %s], "
      "\"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"out\", 0, 0]]}%s}",
      Q(INPUT("x", "3") ", " LAYER("Dense", "ad", ", 'units': 6", REF("x")) ", " LAYER(
          "Reshape", "a", ", 'target_shape': [2, 3]",
          REF("ad")) ", " LAYER("Dense", "bd", ", 'units': 12, 'activation': 'tanh'", REF("x"))),
      b_shape, axes, norm,
      Q(LAYER("Flatten", "f", "", REF("d")) ", " LAYER("Dense", "out", ", 'units': 1", REF("f"))),
      Q(SGD1));
  return buf;
}

START_TEST(dot_rank3_gradients) {
  const char *norm = ", \"normalize\": true";
  gradcheck(dot3("[2, 6]", "1", ""), 3);        /* a^T b: [B,3,6] */
  gradcheck(dot3("[4, 3]", "[2, 2]", ""), 3);   /* a b^T: [B,2,4] */
  gradcheck(dot3("[3, 4]", "[2, 1]", ""), 3);   /* a b: [B,2,4] */
  gradcheck(dot3("[2, 6]", "1", norm), 3);      /* cosines of columns: [B,3,6] */
  gradcheck(dot3("[6, 2]", "[1, 2]", norm), 3); /* a^T b^T: [B,3,6] */
}
END_TEST

/* One step on 8192 rows (enough work to split) with 1 and 3 threads: the
 * shape ops split by rows, so the weights after it are bit-identical. */
static void same_with_threads(const char *json) {
  enum { N = 8192 };
  static float xv[N * 3], yv[N];
  for (int i = 0; i < N * 3; i++) xv[i] = (float)sin(0.37 * i);
  for (int i = 0; i < N; i++) yv[i] = (float)cos(0.91 * i);
  nnc_array x = testutil_f32(xv, N, 3), y = testutil_f32(yv, N, 1);
  nnc_model *m[2];
  nnc_status st;
  for (int k = 0; k < 2; k++) {
    m[k] = load(json);
    ck_assert(nnc_model_set_seed(m[k], 7, &st) == NNC_OK);
    ck_assert(nnc_model_set_threads(m[k], k ? 3 : 1, &st) == NNC_OK);
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_train_on_batch(m[k], &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  }
  for (int i = 0; i < nnc_model_weight_count(m[0]); i++) {
    const char *name = nnc_model_weight_name(m[0], i);
    nnc_array a, b;
    ck_assert(nnc_model_get_weight(m[0], name, &a, &st) == NNC_OK);
    ck_assert(nnc_model_get_weight(m[1], name, &b, &st) == NNC_OK);
    ck_assert_msg(!memcmp(a.data, b.data, (size_t)nnc_array_count(&a) * 4), "%s differs", name);
    nnc_array_free(&a);
    nnc_array_free(&b);
  }
  nnc_model_free(m[0]);
  nnc_model_free(m[1]);
}

START_TEST(threads_give_the_same_step) {
  same_with_threads(
      Q(MODEL(
          INPUT("x", "3") ", " LAYER("Dense", "a", ", 'units': 2, 'activation': 'tanh'", REF("x")) ", " LAYER("RepeatVector", "rv", ", 'n': 3", REF("a")) ", " LAYER(
              "Permute", "p", ", 'dims': [2, 1]",
              REF("rv")) ", " LAYER("Dense", "bd", ", 'units': 6, 'activation': 'tanh'",
                                    REF("x")) ", " LAYER("Reshape", "b", ", 'target_shape': [2, 3]",
                                                         REF("bd")) ", " LAYER("Concatenate", "c",
                                                                               ", 'axis': 1",
                                                                               REF("p") ", " REF(
                                                                                   "b")) ", " LAYER("Flatten",
                                                                                                    "f",
                                                                                                    "",
                                                                                                    REF("c")) ", " LAYER("Dense",
                                                                                                                         "out",
                                                                                                                         ", 'units': 1",
                                                                                                                         REF("f")),
          "out", SGD1)));
  same_with_threads(dot3("[6, 2]", "[1, 2]", ", \"normalize\": true"));
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("shape_layers");
  TCase *tc = tcase_create("layers");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, concatenate_values);
  tcase_add_test(tc, repeat_vector_and_permute_values);
  tcase_add_test(tc, dot_values);
  tcase_add_test(tc, keras3_build_config_per_input);
  tcase_add_test(tc, bad_configs);
  tcase_add_test(tc, concatenate_gradients);
  tcase_add_test(tc, repeat_permute_concat_gradients);
  tcase_add_test(tc, dot_rank2_gradients);
  tcase_add_test(tc, dot_rank3_gradients);
  tcase_add_test(tc, threads_give_the_same_step);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
