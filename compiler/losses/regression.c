/* MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber, LogCosh
 * (keras/src/losses/losses.py: mean_absolute_percentage_error,
 * mean_squared_logarithmic_error, huber, log_cosh), each a mean over the
 * last axis. */
#include <math.h>

#include "compiler/losses/losses.h"

/* 100 * mean(|(y - p) / max(|y|, eps)|) */
static int lower_mape(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                      nnc_status *st) {
  (void)loss;
  int den = graph_binary(g, NNC_BIN_MAX, graph_unary(g, NNC_FN_ABS, y, st),
                         loss_const(g, LOSS_EPSILON, st), st);
  int diff = graph_unary(
      g, NNC_FN_ABS, graph_binary(g, NNC_BIN_DIV, graph_binary(g, NNC_BIN_SUB, y, p, st), den, st),
      st);
  out->values =
      graph_binary(g, NNC_BIN_MUL, graph_const(g, 100.0, st), loss_mean_last(g, diff, st), st);
  return out->values < 0 ? -1 : 0;
}

/* log(max(x, eps) + 1) */
static int log1_clamped(nnc_graph *g, int x, nnc_status *st) {
  int m = graph_binary(g, NNC_BIN_MAX, x, loss_const(g, LOSS_EPSILON, st), st);
  return graph_unary(g, NNC_FN_LOG, graph_binary(g, NNC_BIN_ADD, m, graph_const(g, 1.0, st), st),
                     st);
}

/* mean((log(max(p, eps) + 1) - log(max(y, eps) + 1))^2) */
static int lower_msle(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                      nnc_status *st) {
  (void)loss;
  int d = graph_binary(g, NNC_BIN_SUB, log1_clamped(g, p, st), log1_clamped(g, y, st), st);
  out->values = loss_mean_last(g, graph_unary(g, NNC_FN_SQUARE, d, st), st);
  return out->values < 0 ? -1 : 0;
}

/* e = p - y; mean(0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2).
 * The where is inside * (|e| <= delta) + outside * (|e| > delta): one of
 * the products is exactly 0, the other exactly the branch's value. */
static int lower_huber(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                       nnc_status *st) {
  float delta = (float)loss->delta;
  int e = graph_binary(g, NNC_BIN_SUB, p, y, st);
  int a = graph_unary(g, NNC_FN_ABS, e, st);
  int half = graph_const(g, 0.5, st), dc = loss_const(g, delta, st);
  int quad = graph_binary(g, NNC_BIN_MUL, half, graph_unary(g, NNC_FN_SQUARE, e, st), st);
  int lin = graph_binary(g, NNC_BIN_SUB, graph_binary(g, NNC_BIN_MUL, dc, a, st),
                         loss_const(g, 0.5f * (delta * delta), st), st);
  int outside = graph_binary(g, NNC_BIN_GT, a, dc, st);
  int inside = loss_one_minus(g, outside, st);
  int v = graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, quad, inside, st),
                       graph_binary(g, NNC_BIN_MUL, lin, outside, st), st);
  out->values = loss_mean_last(g, v, st);
  return out->values < 0 ? -1 : 0;
}

/* x = p - y; mean(x + softplus(-2 x) - log 2) */
static int lower_log_cosh(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                          nnc_status *st) {
  (void)loss;
  int x = graph_binary(g, NNC_BIN_SUB, p, y, st);
  int sp = graph_unary(g, NNC_FN_SOFTPLUS,
                       graph_binary(g, NNC_BIN_MUL, x, graph_const(g, -2.0, st), st), st);
  int v = graph_binary(g, NNC_BIN_SUB, graph_binary(g, NNC_BIN_ADD, x, sp, st),
                       graph_const(g, (double)logf(2.0f), st), st);
  out->values = loss_mean_last(g, v, st);
  return out->values < 0 ? -1 : 0;
}

const loss_class loss_mape = {NNC_LOSS_MAPE,
                              "MeanAbsolutePercentageError",
                              "mean_absolute_percentage_error",
                              "mean_absolute_percentage_error",
                              0,
                              0,
                              0,
                              0,
                              lower_mape};
const loss_class loss_msle = {NNC_LOSS_MSLE,
                              "MeanSquaredLogarithmicError",
                              "mean_squared_logarithmic_error",
                              "mean_squared_logarithmic_error",
                              0,
                              0,
                              0,
                              0,
                              lower_msle};
const loss_class loss_huber = {
    NNC_LOSS_HUBER, "Huber", "huber", "huber_loss", LOSS_OPT_DELTA, 0, 0, 0, lower_huber};
const loss_class loss_log_cosh = {NNC_LOSS_LOG_COSH, "LogCosh", "log_cosh", "log_cosh", 0, 0, 0, 0,
                                  lower_log_cosh};
