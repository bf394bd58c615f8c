/* Every Keras 3 loss, its options and reductions, and sample weights, run
 * through the compiled test and train steps directly (nnc_compile_spec and
 * the step functions, with regions filled here), so weighted losses are
 * tested before the runtime's sample-weight data path exists.
 *
 * Values: the model is an InputLayer and an Activation (linear, or sigmoid /
 * softmax where the logits matter), so y_pred is the data itself; each
 * expected number below was worked out from Keras's formula
 * (keras/src/losses/losses.py, loss.py) on the arrays P, Y, P2, Y2 in float64
 * (the arithmetic is in the comments). Gradients: a Dense layer trained
 * with SGD(learning_rate=1) for one step moves each weight by minus its
 * gradient; that must equal the central differences (Richardson, h and h/2)
 * of the loss the test step computes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "testutil.h"

/* ---- a compiled spec and its steps, called by hand ---- */

typedef struct run {
  nnc_spec spec;
  nnc_compiled c;
  float *params;
} run;

static void noop_barrier(void *ctx) {
  (void)ctx;
}

/* A spec of one input [in...] and one output, for targets y and weights w
 * (NULL: none) shaped per sample. Returns the error code (0: compiled). */
static int try_compile(run *r, const char *json, nnc_spec_shape x, nnc_spec_shape y,
                       const nnc_spec_shape *w, nnc_status *st) {
  memset(r, 0, sizeof *r);
  if (nnc_spec_parse_string(json, "loss.json", &r->spec, st)) return st->code;
  nnc_data_shapes d = {1, &x, 1, &y, w};
  nnc_compile_options o = {0};
  if (nnc_compile_spec(&r->spec, &d, &o, &r->c, st)) {
    nnc_spec_free(&r->spec);
    return st->code;
  }
  r->params = calloc((size_t)r->c.prog.params_floats + 1, sizeof(float));
  return NNC_OK;
}

static void compile_ok(run *r, const char *json, nnc_spec_shape x, nnc_spec_shape y,
                       const nnc_spec_shape *w) {
  nnc_status st = {0};
  ck_assert_msg(try_compile(r, json, x, y, w, &st) == NNC_OK, "%s\n%s", st.message, json);
}

static void run_free(run *r) {
  nnc_compiled_free(&r->c);
  nnc_spec_free(&r->spec);
  free(r->params);
}

/* One step of graph `which` on rows samples; returns the loss statistic. */
static double step(run *r, int which, const float *x, const float *y, const float *w, int rows) {
  const nnc_program *p = &r->c.prog;
  const nnc_graph *g = &r->c.graphs[which];
  ck_assert_ptr_nonnull(r->c.step[which]);
  float *slots = calloc((size_t)p->slots_floats + 1, sizeof(float));
  float *stats = calloc((size_t)p->n_stats + 1, sizeof(float));
  float *fixed = calloc((size_t)g->fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(g->batch_floats_per_row * rows) + 1, sizeof(float));
  float *scratch = testutil_scratch_floats(r->c.scratch_floats[which], 1);
  float *regions[16] = {r->params, slots, stats, fixed, batch, scratch};
  regions[NNC_REGION_IO] = (float *)x;
  regions[NNC_REGION_IO + 1] = (float *)y;
  ck_assert_int_eq(p->n_sample_weights, w ? 1 : 0);
  if (w) regions[NNC_REGION_IO + p->n_inputs + p->n_targets + p->n_outputs] = (float *)w;
  float scalars[NNC_SCALAR_COUNT] = {1.0f, 1.0f, (float)rows};
  r->c.step[which](regions, scalars, rows, 0, 0, 1, noop_barrier, NULL);
  double loss = stats[0];
  free(slots);
  free(stats);
  free(fixed);
  free(batch);
  free(scratch);
  return loss;
}

/* ---- specs ---- */

static const char *value_spec(int cols, const char *act, const char *loss) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'name': 'x', 'batch_shape': [null, %d]}},"
           "{'class_name': 'Activation', 'config': {'name': 'a', 'activation': '%s'}}]},"
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
           "{'learning_rate': 1.0}}, 'loss': %s}}",
           cols, act, loss);
  return testutil_json(buf);
}

/* P, Y: probabilities and one-hot labels; P2, Y2: regression values */
static float P[] = {0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f};
static float Y[] = {0, 1, 0, 1, 0, 0};
static float P2[] = {1.5f, -0.5f, 2.0f, 0.3f, 0.8f, -1.2f};
static float Y2[] = {1.0f, 0.5f, 3.0f, 0.5f, 1.0f, -1.0f};
/* soft labels for KLD */
static float YS[] = {0.1f, 0.8f, 0.1f, 0.7f, 0.2f, 0.1f};

/* The loss of (x as y_pred, y) for 2 samples of 3 columns, unweighted. */
static double loss_of(const char *act, const char *loss, const float *x, const float *y) {
  run r;
  nnc_spec_shape xs = {1, {3}}, ys = {1, {3}};
  compile_ok(&r, value_spec(3, act, loss), xs, ys, NULL);
  double v = step(&r, NNC_GRAPH_TEST, x, y, NULL, 2);
  run_free(&r);
  return v;
}

#define NEAR(got, want)                                                                            \
  ck_assert_msg(fabs((got) - (want)) <= 2e-6 * (1 + fabs(want)), "%s: got %.9g, want %.9g", #want, \
                (double)(got), (double)(want))

/* ---- values ---- */

START_TEST(regression_losses) {
  /* MAPE: 100 mean(|y-p| / max(|y|, eps)): row 1 (0.5/1 + 1/0.5 + 1/3)/3 = 0.94444,
   * row 2 (0.2/0.5 + 0.2/1 + 0.2/1)/3 = 0.26667; batch 100 (0.94444 + 0.26667)/2 */
  NEAR(loss_of("linear", "'mape'", P2, Y2), 60.555555555555564);
  /* MSLE: mean((log(max(p,eps)+1) - log(max(y,eps)+1))^2): rows 0.0989853, 0.0105262 */
  NEAR(loss_of("linear", "'msle'", P2, Y2), 0.054755763635630395);
  /* Huber(1): e = p - y = (0.5, -1, -1 | -0.2, -0.2, -0.2): row 1 (0.125 + 0.5 + 0.5)/3 = 0.375,
   * row 2 0.02 -> 0.1975; delta 0.5: |e| = 1 gives 0.5 - 0.125 = 0.375: row 1 0.29167 */
  NEAR(loss_of("linear", "'huber'", P2, Y2), 0.1975);
  NEAR(loss_of("linear", "{'class_name': 'Huber', 'config': {'delta': 0.5}}", P2, Y2),
       0.15583333333333335);
  /* LogCosh: mean(log(cosh(e))): rows 0.3292254, 0.0198681 */
  NEAR(loss_of("linear", "'log_cosh'", P2, Y2), 0.17454673057405898);
  /* Poisson: mean(p - y log(p + eps)) on P, Y2: rows 3.2318424, 0.0522670 */
  NEAR(loss_of("linear", "'poisson'", P, Y2), 1.642054699751074);
  /* CosineSimilarity: -sum(y/|y| p/|p|): rows -0.8882176, -0.9730101 */
  NEAR(loss_of("linear", "'cosine_similarity'", P2, Y2), -0.9306138554445015);
}
END_TEST

START_TEST(hinge_losses) {
  /* Y is all 0/1, so it becomes 2y - 1 = (-1, 1, -1 | 1, -1, -1):
   * max(1 - y p, 0) = (2.5, 0.5, 3 | 0.7, 1.8, 0) -> rows 2.33333, 0.83333 */
  NEAR(loss_of("linear", "'hinge'", P2, Y), 1.5833333333333335);
  /* squared: (6.25 + 0.25 + 9)/3 = 5.83333, (0.49 + 3.24 + 0)/3 = 1.24333 */
  NEAR(loss_of("linear", "'squared_hinge'", P2, Y), 3.538333333333333);
  /* Y2 is not all 0/1: labels stay; max(1 - y p, 0) = (0, 1.25, 0 | 0.85, 0.2, 0) */
  NEAR(loss_of("linear", "'Hinge'", P2, Y2), 0.3833333333333333);
  /* CategoricalHinge: pos = sum(y p), neg = max((1-y) p): row 1 pos -0.5, neg 2 -> 3.5;
   * row 2 pos 0.3, neg 0.8 -> 1.5 */
  NEAR(loss_of("linear", "'categorical_hinge'", P2, Y), 2.5);
}
END_TEST

START_TEST(probabilistic_losses) {
  /* KLD: sum(y log(y/p)), both clipped to [eps, 1]: rows 0.0375104, 0.0268125 */
  NEAR(loss_of("linear", "'kld'", P, YS), 0.03216142515053584);
  /* BCE label_smoothing 0.1: y' = 0.9 y + 0.05; clipped probability form (linear output):
   * rows 0.3022400, 0.3817868 */
  NEAR(loss_of("linear", "{'class_name': 'BinaryCrossentropy', 'config': {'label_smoothing': 0.1}}",
               P, Y),
       0.34201338525117714);
  /* CCE label_smoothing 0.2: y' = 0.8 y + 0.2/3: rows 0.5699198, 0.6764861 */
  NEAR(loss_of("linear",
               "{'class_name': 'CategoricalCrossentropy', 'config': {'label_smoothing': 0.2}}", P,
               Y),
       0.6232029427636507);
}
END_TEST

START_TEST(focal_losses) {
  /* BinaryFocal (gamma 2): p_t = y p + (1-y)(1-p), mean((1-p_t)^2 bce):
   * rows 0.0140267, 0.0382955 */
  NEAR(loss_of("linear", "'binary_focal_crossentropy'", P, Y), 0.02616109034620922);
  /* apply_class_balancing: times y 0.25 + (1-y) 0.75: rows 0.0051699, 0.0150996 */
  NEAR(loss_of("linear",
               "{'class_name': 'BinaryFocalCrossentropy', 'config': {'apply_class_balancing': "
               "true}}",
               P, Y),
       0.010134747363236541);
  /* gamma 1.5 (exp(1.5 log x)), label_smoothing 0.1: rows 0.0385891, 0.0743121 */
  NEAR(loss_of("linear",
               "{'class_name': 'BinaryFocalCrossentropy', 'config': {'gamma': 1.5, "
               "'label_smoothing': 0.1}}",
               P, Y),
       0.056450598554317916);
  /* from_logits: p = sigmoid(z), bce from z: rows 1.0549207, 0.2240066 */
  NEAR(loss_of("linear",
               "{'class_name': 'BinaryFocalCrossentropy', 'config': {'from_logits': true}}", P2, Y),
       0.6394636727575469);
  /* the same through a sigmoid output (Keras's TF backend: bce from its logits) */
  NEAR(loss_of("sigmoid", "'binary_focal_crossentropy'", P2, Y), 0.6394636727575469);
  /* CategoricalFocal: q = clip(p / sum p), sum((1-q)^2 0.25 (-y log q)): rows 0.0080252,
   * 0.0204330; gamma 3, alpha 0.5, smoothing 0.1: rows 0.0462044, 0.0501158 */
  NEAR(loss_of("linear", "'categorical_focal_crossentropy'", P, Y), 0.014229105594630542);
  NEAR(loss_of("linear",
               "{'class_name': 'CategoricalFocalCrossentropy', 'config': {'gamma': 3, 'alpha': "
               "0.5, 'label_smoothing': 0.1}}",
               P, Y),
       0.04816008103368091);
}
END_TEST

START_TEST(overlap_losses) {
  /* Dice, axis None: over the whole batch: sum(y p) = 0.7 + 0.6 = 1.3, sum(y) = 2,
   * sum(p) = 2: 1 - 2.6 / (4 + 1e-7) = 0.35 */
  NEAR(loss_of("linear", "'dice'", P, Y), 0.35000001624999977);
  /* axis 1 (or -1): per sample 1 - 1.4/2 = 0.3, 1 - 1.2/2 = 0.4 */
  NEAR(loss_of("linear", "{'class_name': 'Dice', 'config': {'axis': 1}}", P, Y),
       0.3500000324999984);
  NEAR(loss_of("linear", "{'class_name': 'Dice', 'config': {'axis': [-1]}}", P, Y),
       0.3500000324999984);
  /* Tversky on labels (0,1,1 | 1,0,0): i = 0.8 + 0.6 = 1.4, fp = 0.2 + 0.4 = 0.6,
   * fn = (0.3 + 0.9) + 0.4 = 1.6: alpha = beta = 0.5: 1 - 1.4/(1.4 + 0.3 + 0.8) = 0.44;
   * alpha 0.3, beta 0.7: 1 - 1.4/(1.4 + 0.18 + 1.12) = 0.481481 */
  static float yt[] = {0, 1, 1, 1, 0, 0};
  NEAR(loss_of("linear", "'tversky'", P, yt), 1 - 1.4 / (1.4 + 0.3 + 0.8 + 1e-7));
  NEAR(loss_of("linear", "{'class_name': 'Tversky', 'config': {'alpha': 0.3, 'beta': 0.7}}", P, yt),
       1 - 1.4 / (1.4 + 0.18 + 1.12 + 1e-7));
}
END_TEST

/* SCCE ignore_class 2: the ignored row's loss is 0 and it does not count in
 * the mean (Keras's mask): (-log 0.7 + 0 + -log 0.5) / 2 valid rows. The
 * masked prediction is no longer the softmax: clipped probabilities. */
START_TEST(sparse_ignore_class) {
  static float p3[] = {0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f, 0.5f, 0.25f, 0.25f};
  static float lab[] = {1, 2, 0};
  run r;
  nnc_spec_shape xs = {1, {3}}, ys = {1, {1}};
  compile_ok(&r,
             value_spec(3, "linear",
                        "{'class_name': 'SparseCategoricalCrossentropy', 'config': "
                        "{'ignore_class': 2}}"),
             xs, ys, NULL);
  NEAR(step(&r, NNC_GRAPH_TEST, p3, lab, NULL, 3), 0.5249110622493389);
  run_free(&r);
  /* reduction sum: the masked sum, 0.3566749 + 0.6931472 */
  compile_ok(&r,
             value_spec(3, "linear",
                        "{'class_name': 'SparseCategoricalCrossentropy', 'config': "
                        "{'ignore_class': 2, 'reduction': 'sum'}}"),
             xs, ys, NULL);
  NEAR(step(&r, NNC_GRAPH_TEST, p3, lab, NULL, 3), 0.3566749439387324 + 0.6931471805599453);
  run_free(&r);
}
END_TEST

/* ---- reductions and sample weights ----
 * MSE rows of (P2, Y2): (0.25 + 1 + 1)/3 = 0.75 and (0.04 + 0.04 + 0.04)/3 = 0.04 */
static double weighted_mse(const char *reduction, const float *w) {
  char loss[256];
  snprintf(loss, sizeof loss, "{'class_name': 'MeanSquaredError', 'config': {'reduction': %s}}",
           reduction);
  run r;
  nnc_spec_shape xs = {1, {3}}, ys = {1, {3}}, ws = {0, {0}};
  compile_ok(&r, value_spec(3, "linear", loss), xs, ys, w ? &ws : NULL);
  double v = step(&r, NNC_GRAPH_TEST, P2, Y2, w, 2);
  run_free(&r);
  return v;
}

START_TEST(reductions) {
  static float w[] = {1.0f, 0.5f};
  NEAR(weighted_mse("'sum_over_batch_size'", NULL), (0.75 + 0.04) / 2);
  NEAR(weighted_mse("'mean'", NULL), (0.75 + 0.04) / 2);
  NEAR(weighted_mse("'sum'", NULL), 0.75 + 0.04);
  /* none: the loss tracker reports the mean of the unreduced values */
  NEAR(weighted_mse("null", NULL), (0.75 + 0.04) / 2);
  NEAR(weighted_mse("'mean_with_sample_weight'", NULL), (0.75 + 0.04) / 2);
  /* weighted: sum_over_batch_size divides by the element count (2), not by sum(w) */
  NEAR(weighted_mse("'sum_over_batch_size'", w), (1.0 * 0.75 + 0.5 * 0.04) / 2);
  NEAR(weighted_mse("'sum'", w), 1.0 * 0.75 + 0.5 * 0.04);
  NEAR(weighted_mse("'mean_with_sample_weight'", w), (1.0 * 0.75 + 0.5 * 0.04) / 1.5);
  NEAR(weighted_mse("'none'", w), (1.0 * 0.75 + 0.5 * 0.04) / 2);
  /* zero weights: mean_with_sample_weight is divide_no_nan: 0, not NaN */
  static float zero[] = {0, 0};
  NEAR(weighted_mse("'mean_with_sample_weight'", zero), 0.0);
}
END_TEST

/* A sequence output [B, 3, 1]: MSE per timestep, l[b, t] = (y - p)^2;
 * weights per timestep W = (1, 0, 2 | 0.5, 0.5, 0):
 * (1·0.25 + 0 + 2·1 + 0.5·0.04 + 0.5·0.04 + 0) / 6 = 0.3816667;
 * one weight per sample (1 | 0.5) broadcast over the timesteps:
 * (0.25 + 1 + 1 + 0.5·0.12) / 6 = 0.385 */
START_TEST(per_timestep_weights) {
  static const char *json = NULL;
  json = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'name': 'x', 'batch_shape': [null, 3, 1]}},"
      "{'class_name': 'Activation', 'config': {'name': 'a', 'activation': 'linear'}}]},"
      "'compile_config': {'optimizer': 'sgd', 'loss': 'mse'}}");
  static float wt[] = {1, 0, 2, 0.5f, 0.5f, 0};
  static float ws[] = {1, 0.5f};
  run r;
  nnc_spec_shape xs = {2, {3, 1}}, ys = {2, {3, 1}}, per_t = {1, {3}}, per_s = {0, {0}};
  compile_ok(&r, json, xs, ys, &per_t);
  NEAR(step(&r, NNC_GRAPH_TEST, P2, Y2, wt, 2), 0.38166666666666665);
  ck_assert_int_eq(r.c.prog.sample_weights[0].shape.rank, 2); /* [B, 3]: as the host gives them */
  run_free(&r);
  compile_ok(&r, json, xs, ys, &per_s);
  NEAR(step(&r, NNC_GRAPH_TEST, P2, Y2, ws, 2), 0.385);
  run_free(&r);
  /* weights with more positions than the loss are refused */
  nnc_spec_shape too_many = {2, {3, 2}};
  nnc_status st = {0};
  ck_assert_int_eq(try_compile(&r, json, xs, ys, &too_many, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "sample weights"), "%s", st.message);
}
END_TEST

/* Dice (axis None) is one number per batch; weights scale it by sum(w) / B:
 * 0.35 · 1.5 / 2 */
START_TEST(batch_loss_weighted) {
  static float w[] = {1.0f, 0.5f};
  run r;
  nnc_spec_shape xs = {1, {3}}, ys = {1, {3}}, ws = {0, {0}};
  compile_ok(&r, value_spec(3, "linear", "'dice'"), xs, ys, &ws);
  NEAR(step(&r, NNC_GRAPH_TEST, P, Y, w, 2), 0.26250001218749985);
  run_free(&r);
}
END_TEST

/* Two outputs a, b (both x itself), weights for b only: its INPUT reads IO
 * region n_inputs + n_targets + n_outputs + 0 = 5 and the table lists it
 * with output 1. loss = mse(a) + weighted mae(b): MAE rows of (P2, Y2):
 * (0.5 + 1 + 1)/3 = 0.83333 and 0.2; weighted (0.83333 + 0.5 * 0.2) / 2 =
 * 0.46667; mse 0.395 unweighted. */
START_TEST(weights_of_one_output) {
  const char *json = testutil_json(
      "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, 3], "
      "'name': 'x'}, 'inbound_nodes': []},"
      "{'class_name': 'Activation', 'name': 'a', 'config': {'name': 'a', 'activation': "
      "'linear'}, 'inbound_nodes': [[['x', 0, 0, {}]]]},"
      "{'class_name': 'Activation', 'name': 'b', 'config': {'name': 'b', 'activation': "
      "'linear'}, 'inbound_nodes': [[['x', 0, 0, {}]]]}],"
      "'input_layers': [['x', 0, 0]], 'output_layers': [['a', 0, 0], ['b', 0, 0]]},"
      "'compile_config': {'optimizer': 'sgd', 'loss': {'a': 'mse', 'b': 'mae'}}}");
  nnc_status st = {0};
  nnc_spec spec;
  ck_assert_msg(nnc_spec_parse_string(json, "two.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_spec_shape xs = {1, {3}}, ys[2] = {{1, {3}}, {1, {3}}}, ws[2] = {{-1, {0}}, {0, {0}}};
  nnc_data_shapes d = {1, &xs, 2, ys, ws};
  nnc_compile_options o = {0};
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, &d, &o, &c, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(c.prog.n_sample_weights, 1);
  ck_assert_int_eq(c.prog.sample_weights[0].output, 1);
  ck_assert_int_eq(c.prog.sample_weights[0].shape.rank, 1); /* (N,) */
  static float w[] = {1.0f, 0.5f};
  const nnc_graph *g = &c.graphs[NNC_GRAPH_TEST];
  float *stats = calloc((size_t)c.prog.n_stats + 1, sizeof(float));
  float *fixed = calloc((size_t)g->fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)g->batch_floats_per_row * 2 + 1, sizeof(float));
  float one = 0;
  float *scratch = testutil_scratch_floats(c.scratch_floats[NNC_GRAPH_TEST], 1);
  float *regions[16] = {&one, &one, stats, fixed, batch, scratch, P2, Y2, Y2, NULL, NULL, w};
  float scalars[NNC_SCALAR_COUNT] = {1.0f, 1.0f, 2.0f};
  c.step[NNC_GRAPH_TEST](regions, scalars, 2, 0, 0, 1, noop_barrier, NULL);
  const double mae_b = (2.5 / 3 + 0.5 * 0.2) / 2, mse_a = 0.395;
  for (int i = 0; i < c.prog.n_metrics; i++) {
    const nnc_metric_info *k = &c.prog.metrics[i];
    double want = !strcmp(k->name, "loss")     ? mse_a + mae_b
                  : !strcmp(k->name, "a_loss") ? mse_a
                                               : mae_b;
    NEAR(stats[k->stat[0]], want);
  }
  ck_assert_int_eq(c.prog.n_metrics, 3);
  free(stats);
  free(fixed);
  free(batch);
  free(scratch);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
}
END_TEST

/* ---- gradients ---- */

enum { ROWS = 4, IN = 2, OUT = 3 };

static const char *dense_spec(const char *act, const char *loss) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'name': 'x', 'batch_shape': [null, %d]}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d, 'activation': '%s'}}]},"
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
           "{'learning_rate': 1.0}}, 'loss': %s}}",
           IN, OUT, act, loss);
  return testutil_json(buf);
}

static double central(run *r, const float *x, const float *y, const float *w, int64_t e, double h) {
  float keep = r->params[e];
  r->params[e] = keep + (float)h;
  double up = step(r, NNC_GRAPH_TEST, x, y, w, ROWS);
  r->params[e] = keep - (float)h;
  double down = step(r, NNC_GRAPH_TEST, x, y, w, ROWS);
  r->params[e] = keep;
  return (up - down) / ((double)(keep + (float)h) - (double)(keep - (float)h));
}

/* labels: 'r' regression values, 'b' 0/1 per column, 'c' one-hot rows, 's' class indices */
static void gradcheck(const char *act, const char *loss, char labels, const float *w) {
  static const float x[ROWS * IN] = {0.5f, -1.2f, 0.9f, 0.3f, -0.7f, 0.8f, 1.1f, -0.4f};
  static const float yr[ROWS * OUT] = {0.3f, -0.8f, 1.2f, 0.7f,  0.2f, -0.5f,
                                       1.5f, 0.4f,  0.1f, -0.3f, 0.9f, 0.6f};
  static const float yb[ROWS * OUT] = {1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0};
  /* (no two entries of (1 - y) y_pred within the step of each other: max's kink) */
  static const float yc[ROWS * OUT] = {0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0};
  static const float ys[ROWS] = {1, 0, 2, 1};
  const float *y = labels == 'r' ? yr : labels == 'b' ? yb : labels == 'c' ? yc : ys;
  nnc_spec_shape xs = {1, {IN}}, yshape = {1, {labels == 's' ? 1 : OUT}}, wshape = {0, {0}};
  run r;
  compile_ok(&r, dense_spec(act, loss), xs, yshape, w ? &wshape : NULL);
  int64_t n = r.c.prog.params_floats;
  float *w0 = malloc(sizeof(float) * (size_t)n);
  for (int64_t e = 0; e < n; e++) w0[e] = r.params[e] = (float)(0.6 * sin(1.7 * (double)e + 0.3));
  step(&r, NNC_GRAPH_TRAIN, x, y, w, ROWS);
  double *g = malloc(sizeof(double) * (size_t)n);
  for (int64_t e = 0; e < n; e++) {
    g[e] = (double)w0[e] - (double)r.params[e];
    r.params[e] = w0[e];
  }
  int moved = 0;
  for (int64_t e = 0; e < n; e++) {
    double fd = central(&r, x, y, w, e, 1e-2);
    fd = (4 * central(&r, x, y, w, e, 5e-3) - fd) / 3;
    ck_assert_msg(fabs(g[e] - fd) <= 2e-4 + 1e-2 * fabs(fd),
                  "%s: weight %lld: step %g, differences %g", loss, (long long)e, g[e], fd);
    moved += fabs(fd) > 1e-3;
  }
  ck_assert_msg(moved > 0, "%s: every gradient is flat", loss);
  free(w0);
  free(g);
  run_free(&r);
}

START_TEST(gradients) {
  static const float w[ROWS] = {1.0f, 0.5f, 2.0f, 0.0f};
  gradcheck("linear", "'mape'", 'r', NULL);
  gradcheck("softplus", "'msle'", 'r', NULL);
  gradcheck("linear", "{'class_name': 'Huber', 'config': {'delta': 0.5}}", 'r', NULL);
  gradcheck("linear", "'log_cosh'", 'r', NULL);
  gradcheck("linear", "'hinge'", 'b', NULL);
  gradcheck("linear", "'squared_hinge'", 'b', NULL);
  gradcheck("linear", "'categorical_hinge'", 'c', NULL);
  gradcheck("softmax", "'kld'", 'c', NULL);
  gradcheck("softplus", "'poisson'", 'r', NULL);
  gradcheck("linear", "'cosine_similarity'", 'r', NULL);
  gradcheck("sigmoid", "'binary_focal_crossentropy'", 'b', NULL);
  gradcheck("linear",
            "{'class_name': 'BinaryFocalCrossentropy', 'config': {'from_logits': true, 'gamma': "
            "1.5, 'apply_class_balancing': true, 'label_smoothing': 0.1}}",
            'b', NULL);
  gradcheck("softmax", "'categorical_focal_crossentropy'", 'c', NULL);
  gradcheck("sigmoid", "'dice'", 'b', NULL);
  gradcheck("sigmoid", "{'class_name': 'Tversky', 'config': {'alpha': 0.3, 'beta': 0.7}}", 'b',
            NULL);
  gradcheck("sigmoid", "{'class_name': 'BinaryCrossentropy', 'config': {'label_smoothing': 0.2}}",
            'b', NULL);
  gradcheck("softmax",
            "{'class_name': 'CategoricalCrossentropy', 'config': {'label_smoothing': 0.1}}", 'c',
            NULL);
  gradcheck("softmax",
            "{'class_name': 'SparseCategoricalCrossentropy', 'config': {'ignore_class': 2}}", 's',
            NULL);
  /* reductions and weights: the train step differentiates what Keras's tape does */
  gradcheck("linear", "{'class_name': 'MeanSquaredError', 'config': {'reduction': 'sum'}}", 'r', w);
  gradcheck("linear",
            "{'class_name': 'MeanSquaredError', 'config': {'reduction': "
            "'mean_with_sample_weight'}}",
            'r', w);
  gradcheck("sigmoid", "'binary_crossentropy'", 'b', w);
}
END_TEST

/* reduction "none": Keras's tape differentiates the unreduced tensor, so the
 * step is the gradient of the SUM (B times the mean's), while the reported
 * loss is the mean. */
START_TEST(reduction_none_trains_on_the_sum) {
  static const float x[ROWS * IN] = {0.5f, -1.2f, 0.9f, 0.3f, -0.7f, 0.8f, 1.1f, -0.4f};
  static const float y[ROWS * OUT] = {0.3f, -0.8f, 1.2f, 0.7f,  0.2f, -0.5f,
                                      1.5f, 0.4f,  0.1f, -0.3f, 0.9f, 0.6f};
  nnc_spec_shape xs = {1, {IN}}, ys = {1, {OUT}};
  run mean, none;
  compile_ok(&mean, dense_spec("linear", "'mse'"), xs, ys, NULL);
  compile_ok(
      &none,
      dense_spec("linear", "{'class_name': 'MeanSquaredError', 'config': {'reduction': 'none'}}"),
      xs, ys, NULL);
  int64_t n = mean.c.prog.params_floats;
  for (int64_t e = 0; e < n; e++)
    mean.params[e] = none.params[e] = (float)(0.6 * sin(1.7 * (double)e + 0.3));
  double lm = step(&mean, NNC_GRAPH_TRAIN, x, y, NULL, ROWS);
  double ln = step(&none, NNC_GRAPH_TRAIN, x, y, NULL, ROWS);
  NEAR(ln, lm);
  for (int64_t e = 0; e < n; e++) {
    double w0 = 0.6 * sin(1.7 * (double)e + 0.3);
    double gm = w0 - mean.params[e], gn = w0 - none.params[e];
    ck_assert_msg(fabs(gn - ROWS * gm) <= 1e-5 + 1e-4 * fabs(gn), "weight %lld: %g vs %d x %g",
                  (long long)e, gn, ROWS, gm);
  }
  run_free(&mean);
  run_free(&none);
}
END_TEST

/* ---- parsing ---- */

START_TEST(bad_configs) {
  static const struct {
    const char *loss, *needle;
  } cases[] = {
      {"{'class_name': 'Huber', 'config': {'delta': 1, 'gamma': 2}}",
       "$.compile_config.loss.config.gamma: expected an argument Keras 3's Huber accepts (delta, "
       "name, reduction, dtype)"},
      {"{'class_name': 'MeanSquaredError', 'config': {'reduction': 'avg'}}",
       "$.compile_config.loss.config.reduction: expected a reduction"},
      {"{'class_name': 'CategoricalCrossentropy', 'config': {'ignore_class': 1}}",
       "$.compile_config.loss.config.ignore_class: expected an argument Keras 3's "
       "CategoricalCrossentropy accepts"},
      {"{'class_name': 'SparseCategoricalCrossentropy', 'config': {'ignore_class': 1.5}}",
       "$.compile_config.loss.config.ignore_class: expected null or an integer"},
      {"{'class_name': 'CategoricalCrossentropy', 'config': {'axis': 0}}",
       "$.compile_config.loss.config.axis: expected an integer axis other than the batch axis 0"},
      {"{'class_name': 'CosineSimilarity', 'config': {'axis': true}}",
       "$.compile_config.loss.config.axis: expected an integer axis"},
      {"{'class_name': 'Dice', 'config': {'axis': [1, 0]}}",
       "$.compile_config.loss.config.axis[1]: expected an axis other than the batch axis 0"},
      {"{'class_name': 'Tversky', 'config': {'dtype': 'float16'}}",
       "$.compile_config.loss.config.dtype: a loss dtype other than float32"},
      {"'circle'", "$.compile_config.loss: expected a loss (mse, mae"},
      /* the whole list fits the message: it was cut mid-name before "got" */
      {"'circle'", "tversky, or the class of one of them, e.g. MeanSquaredError), got \"circle\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    nnc_spec spec;
    nnc_status st = {0};
    int rc = nnc_spec_parse_string(value_spec(3, "linear", cases[i].loss), "loss.json", &spec, &st);
    ck_assert_msg(rc == NNC_ERR_SPEC, "%s: got %d", cases[i].loss, rc);
    ck_assert_msg(strstr(st.message, cases[i].needle), "%s: '%s' not in: %s", cases[i].loss,
                  cases[i].needle, st.message);
  }
}
END_TEST

START_TEST(names_and_defaults) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert(nnc_spec_parse_string(value_spec(3, "linear", "'Huber'"), "l.json", &spec, &st) == 0);
  const nnc_spec_loss *l = &spec.compile.losses[0].loss;
  ck_assert_int_eq(l->kind, NNC_LOSS_HUBER);
  ck_assert_str_eq(l->name, "huber");
  ck_assert_double_eq(l->delta, 1.0);
  nnc_spec_free(&spec);
  ck_assert(nnc_spec_parse_string(value_spec(3, "linear",
                                             "{'class_name': 'BinaryFocalCrossentropy', "
                                             "'config': {'name': 'bf', 'reduction': null}}"),
                                  "l.json", &spec, &st) == 0);
  l = &spec.compile.losses[0].loss;
  ck_assert_str_eq(l->name, "bf");
  ck_assert_int_eq(l->reduction, NNC_REDUCTION_NONE);
  ck_assert_double_eq(l->alpha, 0.25);
  ck_assert_double_eq(l->gamma, 2.0);
  nnc_spec_free(&spec);
  ck_assert(nnc_spec_parse_string(value_spec(3, "linear", "{'class_name': 'Tversky'}"), "l.json",
                                  &spec, &st) == 0);
  l = &spec.compile.losses[0].loss;
  ck_assert_str_eq(l->name, "tversky");
  ck_assert_double_eq(l->alpha, 0.5);
  ck_assert_double_eq(l->beta, 0.5);
  ck_assert_int_eq(l->n_axes, 0);
  nnc_spec_free(&spec);
  static const struct {
    const char *s;
    nnc_loss_kind kind;
  } aliases[] = {{"'kld'", NNC_LOSS_KLD},
                 {"'kullback_leibler_divergence'", NNC_LOSS_KLD},
                 {"'MAPE'", NNC_LOSS_MAPE},
                 {"'msle'", NNC_LOSS_MSLE},
                 {"'logcosh'", NNC_LOSS_LOG_COSH},
                 {"{'class_name': 'function', 'config': 'squared_hinge'}", NNC_LOSS_SQUARED_HINGE}};
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
    ck_assert_msg(
        nnc_spec_parse_string(value_spec(3, "linear", aliases[i].s), "l.json", &spec, &st) == 0,
        "%s", st.message);
    ck_assert_int_eq(spec.compile.losses[0].loss.kind, aliases[i].kind);
    nnc_spec_free(&spec);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("losses");
  TCase *values = tcase_create("values");
  tcase_set_timeout(values, 300);
  tcase_add_test(values, regression_losses);
  tcase_add_test(values, hinge_losses);
  tcase_add_test(values, probabilistic_losses);
  tcase_add_test(values, focal_losses);
  tcase_add_test(values, overlap_losses);
  tcase_add_test(values, sparse_ignore_class);
  tcase_add_test(values, reductions);
  tcase_add_test(values, per_timestep_weights);
  tcase_add_test(values, batch_loss_weighted);
  tcase_add_test(values, weights_of_one_output);
  suite_add_tcase(s, values);
  TCase *grads = tcase_create("gradients");
  tcase_set_timeout(grads, 600);
  tcase_add_test(grads, gradients);
  tcase_add_test(grads, reduction_none_trains_on_the_sum);
  suite_add_tcase(s, grads);
  TCase *parse = tcase_create("parse");
  tcase_add_test(parse, bad_configs);
  tcase_add_test(parse, names_and_defaults);
  suite_add_tcase(s, parse);
  return testutil_run(s);
}
