/* NaN propagation and derivatives at break points (issue 5, items 4 and 12).
 *
 * Truth: TensorFlow's kernels, which Keras 3's TensorFlow backend runs.
 *  - tensorflow/core/kernels/relu_op_functor.h: Relu and Relu6 use
 *    cwiseMax/cwiseMin<Eigen::PropagateNaN>; ReluGrad = g * (x > 0);
 *    LeakyReluGrad = x > 0 ? g : g * alpha; EluGrad = out < 0 ? (out + 1) g : g;
 *    SeluGrad = out < 0 ? g (out + scale alpha) : g scale; Relu6Grad =
 *    g * (x > 0) * (x < 6).
 *  - keras/src/backend/tensorflow/nn.py: hard_sigmoid(x) = relu6(x + 3) / 6.
 *  - tensorflow/python/ops/clip_ops.py, clip_by_value's gradient: zero only
 *    where x < lo or x > hi (ties and NaN pass the gradient).
 *  - TF's maximum/minimum gradients give ties to the first operand.
 * Part 1 runs single emitted functions (one JIT-compiled graph each) at NaN
 * and at their break points. Part 2 goes through the C API: a NaN in x gives
 * a NaN loss for every activation and crossentropy, and one SGD step at a
 * break point moves the bias by exactly the derivative TF uses there. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

#define SELU_SCALE 1.0507009873554805f
#define SELU_ALPHA 1.6732632423543772f

/* ---- part 1: one op, JIT-compiled alone ---- */

typedef struct op_desc {
  nnc_op op;
  int fn;
  double attr[2];
  int binary; /* reads x and y */
} op_desc;

/* out[r, :] = op(x[r, :] (, y[r, :])) for rows r < rows of width w */
static void run_op(op_desc d, const float *x, const float *y, int64_t rows, int64_t w, float *out,
                   int64_t out_w) {
  nnc_status st = {0};
  nnc_graph g;
  ck_assert(graph_init(&g, "predict", &st) == NNC_OK);
  int64_t dims[2] = {-1, w};
  int in[2];
  in[0] = graph_source(&g, NNC_OP_INPUT, 0, shape_make(1, 2, dims), "x", &st);
  in[1] = graph_source(&g, NNC_OP_INPUT, 1, shape_make(1, 2, dims), "y", &st);
  int v = graph_add(&g, d.op, d.fn, in, d.binary ? 2 : 1, &st);
  ck_assert_msg(v >= 0, "%s", st.message);
  /* attr: clip bounds (lo, hi) or the leaky slope (alpha) */
  if (d.op == NNC_OP_UNARY && (d.fn == NNC_FN_CLIP || d.fn == NNC_FN_D_CLIP)) {
    g.nodes[v].params.clip.lo = d.attr[0];
    g.nodes[v].params.clip.hi = d.attr[1];
  } else if (d.op == NNC_OP_UNARY && (d.fn == NNC_FN_LEAKY_RELU || d.fn == NNC_FN_D_LEAKY_RELU)) {
    g.nodes[v].params.alpha = d.attr[0];
  }
  ck_assert_msg(graph_add(&g, NNC_OP_OUTPUT, 0, &v, 1, &st) >= 0, "%s", st.message);
  ck_assert_int_eq(shape_last(&g.nodes[v].shape), out_w);
  /* the output's region follows x's and y's */
  float *io[3] = {(float *)x, (float *)(y ? y : x), out};
  free(testutil_run_graph(&g, 1, 1, io, 3, rows, 1, -1, NULL));
}

static float unary_at(nnc_fn fn, double a0, float x) {
  float out = 0;
  op_desc d = {NNC_OP_UNARY, fn, {a0, 0}, 0};
  run_op(d, &x, NULL, 1, 1, &out, 1);
  return out;
}

static float clip_at(double lo, double hi, nnc_fn fn, float x) {
  float out = 0;
  op_desc d = {NNC_OP_UNARY, fn, {lo, hi}, 0};
  run_op(d, &x, NULL, 1, 1, &out, 1);
  return out;
}

static float binary_at(nnc_binary_fn fn, float a, float b) {
  float out = 0;
  op_desc d = {NNC_OP_BINARY, fn, {0, 0}, 1};
  run_op(d, &a, &b, 1, 1, &out, 1);
  return out;
}

#define ASSERT_NAN(v, what) ck_assert_msg(isnan(v), "%s gave %g, expected NaN", what, (double)(v))
#define ASSERT_EXACT(v, want, what)                                                                \
  ck_assert_msg((v) == (want), "%s gave %.9g, expected %.9g", what, (double)(v), (double)(want))

START_TEST(activations_propagate_nan) {
  static const struct {
    nnc_fn fn;
    const char *name;
  } fns[] = {
      {NNC_FN_RELU, "relu"},
      {NNC_FN_LEAKY_RELU, "leaky_relu"},
      {NNC_FN_ELU, "elu"},
      {NNC_FN_SELU, "selu"},
      {NNC_FN_SOFTPLUS, "softplus"},
      {NNC_FN_HARD_SIGMOID, "hard_sigmoid"},
      {NNC_FN_SIGMOID, "sigmoid"},
      {NNC_FN_TANH, "tanh"},
      {NNC_FN_SOFTSIGN, "softsign"},
      {NNC_FN_SWISH, "swish"},
      {NNC_FN_GELU, "gelu"},
      /* derivatives that TF computes from the value itself: NaN */
      {NNC_FN_D_SIGMOID, "d_sigmoid"},
      {NNC_FN_D_TANH, "d_tanh"},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    ASSERT_NAN(unary_at(fns[i].fn, 0.2, NAN), fns[i].name);
  ASSERT_NAN(unary_at(NNC_FN_RELU, 0, -NAN), "relu(-NaN)");
  /* the crossentropies' clip to [eps, 1 - eps] keeps NaN */
  ASSERT_NAN(clip_at(1e-7, 1 - 1e-7, NNC_FN_CLIP, NAN), "clip");
  ASSERT_EXACT(clip_at(1e-7, 1 - 1e-7, NNC_FN_CLIP, 2.0f), (float)(1 - 1e-7), "clip(2)");
  ASSERT_EXACT(clip_at(1e-7, 1 - 1e-7, NNC_FN_CLIP, -1.0f), (float)1e-7, "clip(-1)");
}
END_TEST

/* The derivative functions at NaN, as TF's gradient kernels evaluate them
 * with a finite incoming gradient g = 1 (features or outputs NaN). */
START_TEST(derivatives_at_nan_match_tf) {
  ASSERT_EXACT(unary_at(NNC_FN_STEP, 0, NAN), 0.0f, "relu'(NaN): ReluGrad g*(x>0)");
  ASSERT_EXACT(unary_at(NNC_FN_D_LEAKY_RELU, 0.2, NAN), 0.2f, "leaky_relu'(NaN)");
  ASSERT_EXACT(unary_at(NNC_FN_D_ELU, 0, NAN), 1.0f, "elu'(NaN): EluGrad passes g");
  ASSERT_EXACT(unary_at(NNC_FN_D_SELU, 0, NAN), SELU_SCALE, "selu'(NaN): SeluGrad g*scale");
  ASSERT_EXACT(unary_at(NNC_FN_D_HARD_SIGMOID, 0, NAN), 0.0f, "hard_sigmoid mask(NaN)");
  ASSERT_EXACT(clip_at(1e-7, 1 - 1e-7, NNC_FN_D_CLIP, NAN), 1.0f, "clip'(NaN)");
  ASSERT_NAN(unary_at(NNC_FN_SIGMOID, 0, NAN), "softplus'(NaN) = sigmoid(NaN)");
}
END_TEST

START_TEST(values_at_break_points) {
  ASSERT_EXACT(unary_at(NNC_FN_RELU, 0, 0.0f), 0.0f, "relu(0)");
  ASSERT_EXACT(unary_at(NNC_FN_ELU, 0, 0.0f), 0.0f, "elu(0)");
  ASSERT_EXACT(unary_at(NNC_FN_SELU, 0, 0.0f), 0.0f, "selu(0)");
  ASSERT_EXACT(unary_at(NNC_FN_LEAKY_RELU, 0.2, 0.0f), 0.0f, "leaky_relu(0)");
  ASSERT_EXACT(unary_at(NNC_FN_HARD_SIGMOID, 0, -3.0f), 0.0f, "hard_sigmoid(-3)");
  ASSERT_EXACT(unary_at(NNC_FN_HARD_SIGMOID, 0, 3.0f), 1.0f, "hard_sigmoid(3)");
  ASSERT_EXACT(unary_at(NNC_FN_HARD_SIGMOID, 0, 0.0f), 0.5f, "hard_sigmoid(0)");
  /* relu6(x + 3) / 6 in float32, not x / 6 + 0.5 */
  float x = 1.0f;
  ASSERT_EXACT(unary_at(NNC_FN_HARD_SIGMOID, 0, x), (x + 3.0f) / 6.0f, "hard_sigmoid(1)");
}
END_TEST

START_TEST(derivatives_at_break_points_match_tf) {
  ASSERT_EXACT(unary_at(NNC_FN_STEP, 0, 0.0f), 0.0f, "relu'(0)");
  ASSERT_EXACT(unary_at(NNC_FN_D_LEAKY_RELU, 0.2, 0.0f), 0.2f, "leaky_relu'(0)");
  ASSERT_EXACT(unary_at(NNC_FN_D_ELU, 0, 0.0f), 1.0f, "elu'(0)");
  ASSERT_EXACT(unary_at(NNC_FN_D_SELU, 0, 0.0f), SELU_SCALE, "selu'(0)");
  ASSERT_EXACT(unary_at(NNC_FN_D_SELU, 0, -1.0f),
               SELU_SCALE * (SELU_ALPHA * expm1f(-1.0f)) + SELU_SCALE * SELU_ALPHA, "selu'(-1)");
  ASSERT_EXACT(unary_at(NNC_FN_D_HARD_SIGMOID, 0, -3.0f), 0.0f, "hard_sigmoid mask(-3)");
  ASSERT_EXACT(unary_at(NNC_FN_D_HARD_SIGMOID, 0, 3.0f), 0.0f, "hard_sigmoid mask(3)");
  ASSERT_EXACT(unary_at(NNC_FN_D_HARD_SIGMOID, 0, -2.99f), 1.0f, "hard_sigmoid mask(-2.99)");
  ASSERT_EXACT(unary_at(NNC_FN_D_HARD_SIGMOID, 0, 2.99f), 1.0f, "hard_sigmoid mask(2.99)");
  /* the largest float below 3: x + 3 rounds to 6 in float32, so TF's mask is 0 */
  ASSERT_EXACT(unary_at(NNC_FN_D_HARD_SIGMOID, 0, nextafterf(3.0f, 0.0f)), 0.0f,
               "hard_sigmoid mask(3-ulp)");
  ASSERT_EXACT(clip_at(0.25, 0.75, NNC_FN_D_CLIP, 0.25f), 1.0f, "clip'(lo)");
  ASSERT_EXACT(clip_at(0.25, 0.75, NNC_FN_D_CLIP, 0.75f), 1.0f, "clip'(hi)");
  ASSERT_EXACT(clip_at(0.25, 0.75, NNC_FN_D_CLIP, 0.2f), 0.0f, "clip'(below)");
  ASSERT_EXACT(clip_at(0.25, 0.75, NNC_FN_D_CLIP, 0.8f), 0.0f, "clip'(above)");
}
END_TEST

START_TEST(max_min_propagate_nan) {
  ASSERT_NAN(binary_at(NNC_BIN_MAX, NAN, 1), "max(NaN, 1)");
  ASSERT_NAN(binary_at(NNC_BIN_MAX, 1, NAN), "max(1, NaN)");
  ASSERT_NAN(binary_at(NNC_BIN_MIN, NAN, 1), "min(NaN, 1)");
  ASSERT_NAN(binary_at(NNC_BIN_MIN, 1, NAN), "min(1, NaN)");
  ASSERT_EXACT(binary_at(NNC_BIN_MAX, 1, 2), 2.0f, "max(1, 2)");
  ASSERT_EXACT(binary_at(NNC_BIN_MAX, 2, 1), 2.0f, "max(2, 1)");
  ASSERT_EXACT(binary_at(NNC_BIN_MIN, 1, 2), 1.0f, "min(1, 2)");
  ASSERT_EXACT(binary_at(NNC_BIN_MIN, 2, 1), 1.0f, "min(2, 1)");
  ASSERT_NAN(binary_at(NNC_BIN_BCE_LOGITS, NAN, 1), "bce_logits(NaN, 1)");
  ASSERT_NAN(binary_at(NNC_BIN_BCE_LOGITS, NAN, 0), "bce_logits(NaN, 0)");
}
END_TEST

/* Row ops over width 4: the max inside softmax and softmax_xent, and argmax. */
START_TEST(row_ops_with_nan) {
  float x[3 * 4] = {1, NAN, 5, NAN, /* */ NAN, 1, 2, 3, /* */ 1, 3, 2, -1};
  float y[3 * 4] = {0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0};
  float out[3 * 4];
  op_desc softmax = {NNC_OP_SOFTMAX, 0, {0, 0}, 0};
  run_op(softmax, x, NULL, 3, 4, out, 4);
  for (int j = 0; j < 8; j++) ASSERT_NAN(out[j], "softmax of a row holding NaN");
  for (int j = 8; j < 12; j++) ck_assert(isfinite(out[j]));
  op_desc xent = {NNC_OP_SOFTMAX_XENT, 0, {0, 0}, 1};
  run_op(xent, x, y, 3, 4, out, 1);
  ASSERT_NAN(out[0], "softmax_xent row 0");
  ASSERT_NAN(out[1], "softmax_xent row 1");
  ck_assert(isfinite(out[2]));
  /* argmax: NaN counts as the maximum and the first one wins (NumPy, JAX) */
  op_desc argmax = {NNC_OP_ARGMAX, 0, {0, 0}, 0};
  run_op(argmax, x, NULL, 3, 4, out, 1);
  ASSERT_EXACT(out[0], 1.0f, "argmax [1, NaN, 5, NaN]");
  ASSERT_EXACT(out[1], 0.0f, "argmax [NaN, 1, 2, 3]");
  ASSERT_EXACT(out[2], 1.0f, "argmax [1, 3, 2, -1]");
  float all_nan[4] = {NAN, NAN, NAN, NAN};
  run_op(argmax, all_nan, NULL, 1, 4, out, 1);
  ASSERT_EXACT(out[0], 0.0f, "argmax of NaNs");
}
END_TEST

/* ---- part 2: through the C API ---- */

static nnc_model *load_spec(const char *layers, const char *loss) {
  char json[4096];
  snprintf(json, sizeof json,
           "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"nan\",\"layers\":["
           "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,2]}},%s]},"
           "\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":"
           "{\"learning_rate\":1.0}},\"loss\":%s}}",
           layers, loss);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "nan.json", &m, &st) == NNC_OK, "%s\n%s", st.message,
                json);
  return m;
}

static double loss_of(nnc_model *m, float *x, float *y, int64_t y_cols, int train) {
  nnc_array xa = testutil_f32(x, 4, 2), ya = testutil_f32(y, 4, y_cols);
  TEST_LOGS(logs);
  nnc_status st;
  int rc = train ? nnc_model_train_on_batch(m, &xa, &ya, &logs, &st)
                 : nnc_model_test_on_batch(m, &xa, &ya, &logs, &st);
  ck_assert_msg(rc == NNC_OK, "%s", st.message);
  return nnc_logs_get(&logs, "loss");
}

/* x row 2 holds one NaN: every hidden activation must carry it to the loss
 * (relu used to turn it into 0: a finite loss and a silently dead unit). */
START_TEST(nan_in_x_reaches_the_loss) {
  static const char *const acts[] = {"relu",     "leaky_relu",   "elu",     "selu", "softplus",
                                     "softsign", "hard_sigmoid", "sigmoid", "tanh", "swish",
                                     "gelu",     "exponential",  "linear"};
  float x[8] = {0.5f, -1, 1, 2, NAN, 0.25f, -0.5f, 1.5f};
  float y[4] = {1, 0, 1, 0};
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
    char layers[512];
    snprintf(layers, sizeof layers,
             "{\"class_name\":\"Dense\",\"config\":{\"name\":\"hidden\",\"units\":3,"
             "\"activation\":\"%s\"}},"
             "{\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":1}}",
             acts[i]);
    nnc_model *m = load_spec(layers, "\"mse\"");
    double test = loss_of(m, x, y, 1, 0), train = loss_of(m, x, y, 1, 1);
    ck_assert_msg(isnan(test) && isnan(train), "%s: loss %g / %g with a NaN in x", acts[i], test,
                  train);
    nnc_model_free(m);
  }
}
END_TEST

/* sigmoid and softmax outputs (trained on the logits) and a linear output
 * (the clipped-probability path) with every crossentropy */
START_TEST(nan_in_x_reaches_every_crossentropy) {
  static const struct {
    const char *act, *loss;
    int units, y_cols;
  } cases[] = {
      {"sigmoid", "\"binary_crossentropy\"", 1, 1},
      {"linear", "\"binary_crossentropy\"", 1, 1},
      {"linear", "{\"class_name\":\"BinaryCrossentropy\",\"config\":{\"from_logits\":true}}", 1, 1},
      {"softmax", "\"categorical_crossentropy\"", 3, 3},
      {"relu", "\"categorical_crossentropy\"", 3, 3},
      {"softmax", "\"sparse_categorical_crossentropy\"", 3, 1},
      {"relu", "\"sparse_categorical_crossentropy\"", 3, 1},
      {"linear", "{\"class_name\":\"CategoricalCrossentropy\",\"config\":{\"from_logits\":true}}",
       3, 3},
  };
  float x[8] = {0.5f, -1, 1, 2, NAN, 0.25f, -0.5f, 1.5f};
  float y1[4] = {1, 0, 1, 0}, y3[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0};
  float labels[4] = {0, 1, 2, 0};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char layers[512];
    snprintf(layers, sizeof layers,
             "{\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":%d,"
             "\"activation\":\"%s\"}}",
             cases[i].units, cases[i].act);
    nnc_model *m = load_spec(layers, cases[i].loss);
    float *y = cases[i].units == 1 ? y1 : cases[i].y_cols == 1 ? labels : y3;
    double loss = loss_of(m, x, y, cases[i].y_cols, 0);
    ck_assert_msg(isnan(loss), "%s + %s: loss %g with a NaN in x", cases[i].act, cases[i].loss,
                  loss);
    nnc_model_free(m);
  }
}
END_TEST

/* One SGD(1) step of Dense(1, act) on x = 0 with kernel 1 and bias b, target
 * t, loss mse: the pre-activation is b, dL/da = 2 (act(b) - t), and the bias
 * moves by -dL/da * act'(b). Returns the bias after the step. */
static float bias_after_step(const char *act, float b, float t) {
  char layers[512];
  snprintf(layers, sizeof layers,
           "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":1,"
           "\"activation\":\"%s\"}}",
           act);
  nnc_model *m = load_spec(layers, "\"mse\"");
  nnc_status st;
  float k[2] = {1, 1};
  nnc_array ka = testutil_f32(k, 2, 1), ba;
  memset(&ba, 0, sizeof ba);
  ba.dtype = NNC_F32;
  ba.rank = 1;
  ba.shape[0] = 1;
  ba.data = &b;
  ck_assert(nnc_model_set_weight(m, "d/kernel", &ka, &st) == NNC_OK);
  ck_assert(nnc_model_set_weight(m, "d/bias", &ba, &st) == NNC_OK);
  float x[2] = {0, 0};
  nnc_array xa = testutil_f32(x, 1, 2), ya = testutil_f32(&t, 1, 1);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  nnc_array after;
  ck_assert(nnc_model_get_weight(m, "d/bias", &after, &st) == NNC_OK);
  float v = ((float *)after.data)[0];
  nnc_array_free(&after);
  nnc_model_free(m);
  return v;
}

/* The regression test of item 12: SeluGrad uses the exponential branch only
 * for outputs < 0, so selu'(0) = scale (nnc used scale * alpha). */
START_TEST(selu_gradient_at_zero_is_scale) {
  /* selu(0) = 0, t = -0.5: dL/da = 1 exactly */
  ASSERT_EXACT(bias_after_step("selu", 0, -0.5f), -SELU_SCALE, "bias after selu step at 0");
}
END_TEST

START_TEST(gradients_at_break_points_match_tf) {
  ASSERT_EXACT(bias_after_step("relu", 0, -0.5f), 0.0f, "relu at 0");
  ASSERT_EXACT(bias_after_step("elu", 0, -0.5f), -1.0f, "elu at 0");
  ASSERT_EXACT(bias_after_step("leaky_relu", 0, -0.5f), -0.2f, "leaky_relu at 0");
  /* hard_sigmoid: the output is 0 at -3 and 1 at 3 (t = 0.5 off by 0.5: dL/da = -1, 1);
   * Relu6Grad's mask is 0 at both corners, so the bias stays */
  ASSERT_EXACT(bias_after_step("hard_sigmoid", -3.0f, 0.5f), -3.0f, "hard_sigmoid at -3");
  ASSERT_EXACT(bias_after_step("hard_sigmoid", 3.0f, 0.5f), 3.0f, "hard_sigmoid at 3");
  /* inside: a = 0.5, t = 0: dL/da = 1, TF's gradient (1 / 6) * 1 */
  ASSERT_EXACT(bias_after_step("hard_sigmoid", 0, 0), -(1.0f / 6.0f), "hard_sigmoid at 0");
}
END_TEST

int main(void) {
  Suite *s = suite_create("numerics");
  TCase *fns = tcase_create("functions");
  tcase_set_timeout(fns, 300);
  tcase_add_test(fns, activations_propagate_nan);
  tcase_add_test(fns, derivatives_at_nan_match_tf);
  tcase_add_test(fns, values_at_break_points);
  tcase_add_test(fns, derivatives_at_break_points_match_tf);
  tcase_add_test(fns, max_min_propagate_nan);
  tcase_add_test(fns, row_ops_with_nan);
  suite_add_tcase(s, fns);
  TCase *api = tcase_create("api");
  tcase_set_timeout(api, 300);
  tcase_add_test(api, nan_in_x_reaches_the_loss);
  tcase_add_test(api, nan_in_x_reaches_every_crossentropy);
  tcase_add_test(api, selu_gradient_at_zero_is_scale);
  tcase_add_test(api, gradients_at_break_points_match_tf);
  suite_add_tcase(s, api);
  return testutil_run(s);
}
