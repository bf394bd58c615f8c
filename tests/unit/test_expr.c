/* Custom losses and metrics as expressions (compiler/expr, docs/expressions.md):
 * parser errors at the right column, gradients against central differences
 * for every function and broadcast rule, losses and metrics equal to values
 * derived by hand from the predictions, and expressions of built-in losses
 * training to the built-in's weights. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/expr/expr.h"
#include "compiler/graph/graph.h"
#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

/* ---- parsing ---- */

static void parse_error(const char *text, int column, const char *what) {
  nnc_expr *e = NULL;
  nnc_status st;
  ck_assert_msg(expr_parse(text, "spec.json", "$.compile_config.loss.expression", &e, &st) ==
                    NNC_ERR_SPEC,
                "%s parsed", text);
  ck_assert_ptr_null(e);
  char want[128];
  snprintf(want, sizeof want, "loss expression, column %d: ", column);
  ck_assert_msg(strstr(st.message, want) && strstr(st.message, what), "%s -> %s", text, st.message);
  const char *prefix = "spec.json: $.compile_config.loss.expression: loss expression";
  ck_assert_msg(!strncmp(st.message, prefix, strlen(prefix)), "%s", st.message);
}

START_TEST(parse_errors) {
  /*            1234567890123456789012345678901 */
  parse_error("mean(square(y_true - y_pred) y_pred)", 30,
              "expected ')' after the arguments of mean(");
  parse_error("mean(y_true", 12, "expected ')' after the arguments of mean(");
  parse_error("y_true +", 9, "expected a value");
  parse_error("y_prd - y_true", 1, "unknown name 'y_prd'");
  parse_error("2 * foo(y_true)", 5, "unknown function 'foo'");
  parse_error("(y_true - y_pred", 17, "expected ')' to close the '(' of column 1");
  parse_error("y_true $ 2", 8, "unexpected character '$'");
  parse_error("", 1, "the expression is empty");
  parse_error("0 < y_pred < 1", 12, "comparisons do not chain");
  parse_error("mean(y_true, axes=1)", 14, "mean( has no argument 'axes'");
  parse_error("mean(y_true, axis=1.5)", 19, "axis= expects an integer");
  parse_error("sum(y_true, keepdims=1)", 22, "keepdims= expects True or False");
  parse_error("cast(y_true > 0, \"int32\")", 18, "cast( supports the dtype \"float32\"");
  parse_error("clip(y_pred, 0)", 1, "clip( needs the argument 'x_max'");
  parse_error("square(y_true, y_pred)", 16, "square( takes 1 positional argument, got 2");
  parse_error("mean(axis=1, y_true)", 14, "positional argument after a keyword argument");
  parse_error("y_true 2", 8, "expected an operator or the end, got '2'");
  parse_error("1e", 1, "malformed number");
  parse_error("y_true * True", 10, "True, False and None are only keyword values");
}
END_TEST

/* "t op t op ... t" with n operators, heap-allocated. */
static char *chain(const char *term, const char *op, int n) {
  size_t tl = strlen(term), ol = strlen(op);
  char *s = malloc((size_t)(n + 1) * (tl + ol) + 1), *at = s;
  ck_assert_ptr_nonnull(s);
  for (int i = 0; i <= n; i++) {
    memcpy(at, term, tl), at += tl;
    if (i < n) memcpy(at, op, ol), at += ol;
  }
  *at = '\0';
  return s;
}

/* Long chains once overflowed the stack: a+a+... is parsed by a loop but
 * freed and lowered recursively, a**a**... recursed without a depth check. */
START_TEST(parse_refuses_trees_too_deep_to_walk) {
  char *sum = chain("y_pred", "+", 100000), *pow = chain("y_pred", "**", 100000);
  parse_error(sum, 7 * 1001, "more than 1000 operations chained");
  parse_error(pow, 8 * 200 - 1, "nested more than 200 levels deep");
  free(sum);
  free(pow);
  char *ok = chain("y_pred", "+", 1000);
  nnc_expr *e = NULL;
  nnc_status st;
  ck_assert_msg(expr_parse(ok, "s.json", "$.compile_config.loss.expression", &e, &st) == NNC_OK,
                "%s", st.message);
  expr_free(e);
  free(ok);
}
END_TEST

START_TEST(parse_metric_prefix_and_keras_spellings) {
  nnc_expr *e = NULL;
  nnc_status st;
  ck_assert_int_eq(expr_parse("ops.mean(y_pred, axis=-1, keepdims=True) ** -2 + K.epsilon()",
                              "s.json", "$.m", &e, &st),
                   NNC_OK);
  expr_free(e);
  ck_assert_int_eq(
      expr_parse("bogus(1)", "s.json", "$.compile_config.metrics[0].expression", &e, &st),
      NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "metric expression, column 1: unknown function 'bogus'"), "%s",
                st.message);
}
END_TEST

/* The new ops' dump reads back as the same graph (graph/attrs.c rows). */
START_TEST(new_ops_dump_and_parse) {
  nnc_graph g;
  nnc_status st;
  ck_assert(graph_init(&g, "train", &st) == NNC_OK);
  int64_t d[3] = {-1, 2, 3};
  int x = graph_input(&g, 0, shape_make(1, 3, d), "x", &st);
  int c = graph_binary(&g, NNC_BIN_GE, x, graph_const(&g, 0.5, &st), &st);
  int w = graph_select(&g, c, x, graph_unary(&g, NNC_FN_LOG1P, x, &st), &st);
  int mn = graph_reduce_max(&g, w, 2, 1, &st), mx = graph_reduce_max(&g, mn, 0, 0, &st);
  ck_assert_msg(graph_stat(&g, mx, 0, &st) >= 0, "%s", st.message);
  char *text = NULL, *again = NULL;
  size_t n = 0, m = 0;
  FILE *f = open_memstream(&text, &n);
  graph_dump_text(&g, f);
  fclose(f);
  ck_assert_msg(strstr(text, "reduce_max.min") && strstr(text, "axis=2") &&
                    strstr(text, "reduce_max.max") && strstr(text, "select") &&
                    strstr(text, "binary.ge") && strstr(text, "unary.log1p"),
                "%s", text);
  nnc_graph back;
  const char *rest;
  ck_assert_msg(graph_parse("dump", text, &rest, NULL, &back, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(back.nodes[mn].shape.rank, 2); /* [B,2]: axis 2 removed */
  ck_assert_int_eq(back.nodes[mx].shape.rank, 0);
  ck_assert_int_eq(back.nodes[mn].fn, NNC_RED_MIN);
  f = open_memstream(&again, &m);
  graph_dump_text(&back, f);
  fclose(f);
  ck_assert_str_eq(again, text);
  free(text);
  free(again);
  graph_free(&g);
  graph_free(&back);
}
END_TEST

/* ---- models ---- */

/* A Sequential model: Dense(units, act) on 3 features, SGD(lr), the loss and metrics JSON. */
static const char *spec(int units, const char *act, double lr, const char *loss,
                        const char *metrics) {
  static char buf[4][4096];
  static int k;
  char *b = buf[k++ % 4];
  snprintf(b, 4096,
           "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d, 'activation': '%s'}}]},"
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
           "%g}}, 'loss': %s, 'metrics': %s}}",
           units, act, lr, loss, metrics);
  return Q(b);
}

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static void load_error(const char *json, const char *what) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_int_eq(nnc_model_load_string(json, "model.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, what), "%s", st.message);
}

/* ---- gradients ---- */

static void gradcheck(int units, const char *loss, int richardson) {
  gradcheck_opts o = {6, 4242, -0.6, 0.23, 1.1, 3, richardson, 2e-3, 2e-2};
  gradcheck_model_out(spec(units, "linear", 1.0, loss, "[]"), 3, units, &o);
}

START_TEST(gradient_of_the_issue_example) {
  /* the issue's example: mse plus a penalty on |y_pred| */
  gradcheck(2,
            "{'expression': 'mean(square(y_true - y_pred), axis=-1) + 0.01 * mean(abs(y_pred))', "
            "'name': 'my_loss'}",
            1);
}
END_TEST

/* One loss per function or rule, each differentiated through its own op. */
static const char *const gradient_cases[] = {
    "mean(where(y_pred > y_true, 2 * square(y_pred - y_true), abs(y_pred - y_true)), axis=-1)",
    "max(square(y_true - y_pred), axis=-1) + 0.5 * min(y_pred * y_true)",
    /* y_true's entries are 0.23 apart: no tie of the max or min moves under the differences */
    "max(y_pred + 10 * y_true) - min(y_pred - 10 * y_true, axis=1)",
    "mean(log1p(exp(y_pred)) + softplus(y_true - y_pred) + sigmoid(y_pred) * tanh(y_true), "
    "axis=-1)",
    /* kinks far from every value: both sides of each piecewise function */
    "mean(relu(y_pred - 10) + relu(y_pred + 10) + clip(y_pred, -10, 10) + clip(y_pred, 10, 20) + "
    "maximum(y_pred, y_true - 10) - minimum(y_pred, y_true - 10), axis=-1)",
    "mean(pow(exp(y_pred), 1.5 + y_pred) + sqrt(square(y_pred) + 1) + (y_pred ** 2) / 3, axis=-1)",
    "mean(square(y_pred - mean(y_pred, axis=-1, keepdims=True)), axis=-1) + mean(y_pred * "
    "mean(y_pred, axis=0), axis=-1)",
    "sum(y_pred, axis=0) * sum(y_true) / 10 + sign(y_pred) * y_pred",
    "mean(clip(y_pred, y_true - 0.5, y_true + 0.5) * (y_pred >= 0) + (y_pred != y_true) * "
    "log(exp(y_pred)), axis=-1)",
    "-mean(y_true * log(clip(sigmoid(y_pred), epsilon(), 1 - epsilon())) * "
    "cast(y_true <= 0.5, \\'float32\\'), axis=-1)",
};
enum { N_GRADIENT_CASES = (int)(sizeof gradient_cases / sizeof gradient_cases[0]) };

START_TEST(gradients_of_each_function) {
  char loss[1024];
  snprintf(loss, sizeof loss, "{'expression': '%s'}", gradient_cases[_i]);
  gradcheck(3, loss, 1);
}
END_TEST

/* ---- values against hand computation ---- */

static void set_weights(nnc_model *m, int units) {
  nnc_status st;
  float k[3 * 4], b[4];
  for (int i = 0; i < 3 * units; i++) k[i] = (float)(0.3 * sin(1.7 * i + 0.2));
  for (int i = 0; i < units; i++) b[i] = (float)(0.1 * i - 0.05);
  nnc_array ka = testutil_f32(k, 3, units), ba = {.dtype = NNC_F32, .rank = 1, .data = b};
  ba.shape[0] = units;
  ck_assert(nnc_model_set_weight(m, "d/kernel", &ka, &st) == NNC_OK);
  ck_assert(nnc_model_set_weight(m, "d/bias", &ba, &st) == NNC_OK);
}

enum { ROWS = 10 };
static float xs[ROWS * 3], ys[ROWS * 2];

static void data(nnc_array *x, nnc_array *y, int units) {
  for (int i = 0; i < ROWS * 3; i++) xs[i] = (float)sin(0.9 * i + 0.3);
  for (int i = 0; i < ROWS * units; i++) ys[i] = (float)cos(1.3 * i);
  *x = testutil_f32(xs, ROWS, 3);
  *y = testutil_f32(ys, ROWS, units);
}

static void predictions(nnc_model *m, const nnc_array *x, double *p, int units) {
  nnc_status st;
  nnc_array out;
  ck_assert_msg(nnc_model_predict(m, x, 32, &out, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < ROWS * units; i++) p[i] = ((float *)out.data)[i];
  nnc_array_free(&out);
}

START_TEST(loss_value_is_the_hand_derived_one) {
  nnc_model *m = load(
      spec(2, "linear", 0.1,
           "{'expression': 'mean(square(y_true - y_pred), axis=-1) + 0.01 * mean(abs(y_pred))'}",
           "['mse']"));
  nnc_array x, y;
  data(&x, &y, 2);
  set_weights(m, 2);
  double p[ROWS * 2], mse = 0, pen = 0;
  predictions(m, &x, p, 2);
  for (int i = 0; i < ROWS * 2; i++) {
    mse += (ys[i] - p[i]) * (ys[i] - p[i]);
    pen += fabs(p[i]);
  }
  /* per sample: its mse + 0.01 * mean |y_pred| over the batch; the loss is their mean */
  double want = mse / (ROWS * 2) + 0.01 * pen / (ROWS * 2);
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert_msg(nnc_model_test_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(fabs(nnc_logs_get(&logs, "loss") - want) < 1e-6 * want, "%.9g vs %.9g",
                nnc_logs_get(&logs, "loss"), want);
  ck_assert_msg(fabs(nnc_logs_get(&logs, "mse") - mse / (ROWS * 2)) < 1e-6, "%.9g",
                nnc_logs_get(&logs, "mse"));
  nnc_model_free(m);
}
END_TEST

/* A metric is a MeanMetricWrapper: the mean over samples of each sample's
 * value, whatever the batches (10 rows in batches of 4, 4, 2). */
START_TEST(metric_value_through_fit_and_evaluate) {
  nnc_model *m = load(spec(2, "linear", 0.0, "'mse'",
                           "[{'expression': 'max(abs(y_true - y_pred), axis=-1)', 'name': "
                           "'max_err'}, {'expression': 'y_pred > 0'}]"));
  nnc_array x, y;
  data(&x, &y, 2);
  set_weights(m, 2);
  double p[ROWS * 2], max_err = 0, positive = 0;
  predictions(m, &x, p, 2);
  for (int i = 0; i < ROWS; i++) {
    max_err += fmax(fabs(ys[2 * i] - p[2 * i]), fabs(ys[2 * i + 1] - p[2 * i + 1])) / ROWS;
    positive += ((p[2 * i] > 0) + (p[2 * i + 1] > 0)) / 2.0 / ROWS;
  }
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.batch_size = 4;
  o.shuffle = 0;
  o.verbose = 0;
  nnc_history h = {0};
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  for (int e = 0; e < 2; e++) { /* learning rate 0: the same weights every epoch */
    ck_assert_msg(fabs(nnc_history_get(&h, "max_err", e) - max_err) < 1e-6, "%.9g vs %.9g",
                  nnc_history_get(&h, "max_err", e), max_err);
    ck_assert_msg(fabs(nnc_history_get(&h, "custom_metric", e) - positive) < 1e-6, "%.9g vs %.9g",
                  nnc_history_get(&h, "custom_metric", e), positive);
  }
  nnc_history_free(&h);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 3, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert(fabs(nnc_logs_get(&logs, "max_err") - max_err) < 1e-6);
  ck_assert(fabs(nnc_logs_get(&logs, "custom_metric") - positive) < 1e-6);
  nnc_model_free(m);
}
END_TEST

/* ---- the built-in losses as expressions ---- */

static const struct {
  const char *builtin, *expression, *activation;
} same_losses[] = {
    {"'mse'", "mean(square(y_true - y_pred), axis=-1)", "linear"},
    {"'mae'", "mean(abs(y_true - y_pred), axis=-1)", "linear"},
    /* hard_sigmoid: no logits, so the built-in reads the clipped probabilities too */
    {"'binary_crossentropy'",
     "-mean(y_true * log(clip(y_pred, epsilon(), 1 - epsilon())) + (1 - y_true) * log(1 - "
     "clip(y_pred, epsilon(), 1 - epsilon())), axis=-1)",
     "hard_sigmoid"},
};

static void train(const char *json, int binary, float *w) {
  nnc_model *m = load(json);
  nnc_array x, y;
  data(&x, &y, 2);
  if (binary)
    for (int i = 0; i < ROWS * 2; i++) ys[i] = ys[i] > 0;
  set_weights(m, 2);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 3;
  o.batch_size = 4;
  o.verbose = 0;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
  nnc_array k;
  ck_assert(nnc_model_get_weight(m, "d/kernel", &k, &st) == NNC_OK);
  memcpy(w, k.data, 6 * sizeof *w);
  nnc_array_free(&k);
  nnc_model_free(m);
}

START_TEST(builtin_losses_as_expressions_train_alike) {
  char loss[1024];
  snprintf(loss, sizeof loss, "{'expression': '%s'}", same_losses[_i].expression);
  float a[6], b[6], w0[6];
  for (int i = 0; i < 6; i++) w0[i] = (float)(0.3 * sin(1.7 * i + 0.2));
  train(spec(2, same_losses[_i].activation, 0.5, same_losses[_i].builtin, "[]"), _i == 2, a);
  train(spec(2, same_losses[_i].activation, 0.5, loss, "[]"), _i == 2, b);
  int moved = 0;
  for (int i = 0; i < 6; i++) {
    ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-6f * (1 + fabsf(a[i])), "%s: w[%d] %.9g vs %.9g",
                  same_losses[_i].builtin, i, a[i], b[i]);
    moved += fabsf(a[i] - w0[i]) > 1e-3f;
  }
  ck_assert_int_gt(moved, 0);
}
END_TEST

/* ---- shape errors name the column ---- */

START_TEST(shape_errors) {
  load_error(spec(2, "linear", 0.1, "{'expression': 'mean(y_pred, axis=-1) * y_pred'}", "[]"),
             "$.compile_config.loss.expression: loss expression, column 23: shapes [B] and "
             "[B,2] do not broadcast");
  load_error(spec(2, "linear", 0.1, "{'expression': 'mean(y_pred, axis=2)'}", "[]"),
             "column 1: axis=2 is out of range for a value shaped [B,2]");
  load_error(spec(2, "linear", 0.1, "'mse'", "[{'expression': 'mean(y_pred)'}]"),
             "$.compile_config.metrics[0].expression: metric expression, column 1: the value is "
             "shaped []: a metric needs one value per sample");
  load_error(spec(2, "linear", 0.1, "'mse'", "[{'expression': 'y_pred', 'nmae': 'x'}]"),
             "$.compile_config.metrics[0].nmae: expected only the keys \"expression\" and "
             "\"name\"");
}
END_TEST

/* A scalar loss is its own batch loss (sum_over_batch_size of one element). */
START_TEST(scalar_loss) {
  nnc_model *a =
      load(spec(2, "linear", 0.1, "{'expression': 'mean(square(y_true - y_pred))'}", "[]"));
  nnc_model *b = load(spec(2, "linear", 0.1, "'mse'", "[]"));
  nnc_array x, y;
  data(&x, &y, 2);
  set_weights(a, 2);
  set_weights(b, 2);
  TEST_LOGS(la);
  TEST_LOGS(lb);
  nnc_status st;
  ck_assert(nnc_model_test_on_batch(a, &x, &y, &la, &st) == NNC_OK);
  ck_assert(nnc_model_test_on_batch(b, &x, &y, &lb, &st) == NNC_OK);
  ck_assert_msg(fabs(nnc_logs_get(&la, "loss") - nnc_logs_get(&lb, "loss")) < 1e-6, "%g vs %g",
                nnc_logs_get(&la, "loss"), nnc_logs_get(&lb, "loss"));
  nnc_model_free(a);
  nnc_model_free(b);
}
END_TEST

/* Keras 2 Functional, two outputs a [B,2] and b [B,1] from x [B,3]. */
static const char *two_outputs(const char *loss, const char *metrics) {
  static char b[2][4096];
  static int k;
  char *out = b[k++ % 2];
  snprintf(out, 4096,
           "{'class_name': 'Model', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, 3], "
           "'name': 'x'}, 'inbound_nodes': []},"
           "{'class_name': 'Dense', 'name': 'a', 'config': {'name': 'a', 'units': 2}, "
           "'inbound_nodes': [[['x', 0, 0, {}]]]},"
           "{'class_name': 'Dense', 'name': 'b', 'config': {'name': 'b', 'units': 1}, "
           "'inbound_nodes': [[['x', 0, 0, {}]]]}],"
           "'input_layers': [['x', 0, 0]], 'output_layers': [['a', 0, 0], ['b', 0, 0]]},"
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
           "0.1}}, 'loss': %s, 'metrics': %s}}",
           loss, metrics);
  return Q(out);
}

/* In a dict and a list of per-output losses and metrics, an expression is one
 * more entry: the same History as the built-in it spells out. */
START_TEST(per_output_expressions) {
  const char *mse = "{'expression': 'mean(square(y_true - y_pred), axis=-1)'}";
  char dict[512], list[512], metrics[512];
  snprintf(dict, sizeof dict, "{'a': %s, 'b': 'mae'}", mse);
  snprintf(list, sizeof list, "['mae', %s]", mse);
  snprintf(metrics, sizeof metrics,
           "{'b': [{'expression': 'abs(y_true - y_pred)', 'name': 'my_mae'}, 'mae']}");
  const char *specs[4] = {two_outputs(dict, metrics),
                          two_outputs("{'a': 'mse', 'b': 'mae'}", "{'b': ['mae']}"),
                          two_outputs(list, "[]"), two_outputs("['mae', 'mse']", "[]")};
  float xv[6 * 3], av[6 * 2], bv[6];
  for (int i = 0; i < 18; i++) xv[i] = (float)sin(0.4 * i);
  for (int i = 0; i < 12; i++) av[i] = (float)cos(0.8 * i);
  for (int i = 0; i < 6; i++) bv[i] = (float)(0.3 * i - 0.5);
  nnc_array x = testutil_f32(xv, 6, 3), y[2] = {testutil_f32(av, 6, 2), testutil_f32(bv, 6, 1)};
  double loss[4], a_loss[4], b_loss[4], b_mae[4];
  for (int i = 0; i < 4; i++) {
    nnc_model *m = load(specs[i]);
    TEST_LOGS(logs);
    nnc_status st;
    ck_assert_msg(nnc_model_test_on_batch_multi(m, 1, &x, 2, y, &logs, &st) == NNC_OK, "%s",
                  st.message);
    loss[i] = nnc_logs_get(&logs, "loss");
    a_loss[i] = nnc_logs_get(&logs, "a_loss");
    b_loss[i] = nnc_logs_get(&logs, "b_loss");
    b_mae[i] = nnc_logs_get(&logs, i == 0 ? "b_my_mae" : "b_mae");
    if (i == 0) ck_assert_double_eq(nnc_logs_get(&logs, "b_mae"), b_mae[0]);
    nnc_model_free(m);
  }
  for (int i = 0; i < 4; i += 2) {
    ck_assert_msg(!isnan(loss[i]) && loss[i] == loss[i + 1], "%g vs %g", loss[i], loss[i + 1]);
    ck_assert(a_loss[i] == a_loss[i + 1] && b_loss[i] == b_loss[i + 1]);
  }
  ck_assert(b_mae[0] == b_mae[1]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("expr");
  TCase *parse = tcase_create("parse"); /* no compilation: quick under valgrind */
  tcase_add_test(parse, parse_errors);
  tcase_add_test(parse, parse_refuses_trees_too_deep_to_walk);
  tcase_add_test(parse, parse_metric_prefix_and_keras_spellings);
  tcase_add_test(parse, new_ops_dump_and_parse);
  suite_add_tcase(s, parse);
  TCase *tc = tcase_create("models");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, gradient_of_the_issue_example);
  tcase_add_loop_test(tc, gradients_of_each_function, 0, N_GRADIENT_CASES);
  tcase_add_test(tc, loss_value_is_the_hand_derived_one);
  tcase_add_test(tc, metric_value_through_fit_and_evaluate);
  tcase_add_loop_test(tc, builtin_losses_as_expressions_train_alike, 0,
                      (int)(sizeof same_losses / sizeof same_losses[0]));
  tcase_add_test(tc, shape_errors);
  tcase_add_test(tc, scalar_loss);
  tcase_add_test(tc, per_output_expressions);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
