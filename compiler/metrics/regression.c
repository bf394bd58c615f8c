/* The regression family (keras/src/metrics/regression_metrics.py and the
 * loss functions they wrap, keras/src/losses/losses.py): Mean metrics of an
 * elementwise error, averaged per sample then over the epoch's samples.
 * RootMeanSquaredError takes the square root of the epoch mean. */
#include <stdio.h>

#include "compiler/losses/losses.h"
#include "compiler/metrics/metrics.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  if (out->kind != NNC_METRIC_COSINE_SIMILARITY) return NNC_OK;
  out->axis = -1; /* the axis along which it normalizes and sums (compiler/losses/loss_axis.c) */
  return loss_parse_axis(ctx, cfg, cfg_path, &out->axis);
}

/* Keras's epsilon() */
#define EPSILON 1e-7

/* x * min(rsqrt(sum(x^2, -1)), 1 / epsilon): ops.normalize (order 2) */
static int l2_normalize(nnc_graph *g, int x, nnc_status *st) {
  int sq = graph_reduce(g, NNC_RED_LAST, graph_unary(g, NNC_FN_SQUARE, x, st), st);
  int inv = graph_unary(g, NNC_FN_RECIP, graph_unary(g, NNC_FN_SQRT, sq, st), st);
  inv = graph_binary(g, NNC_BIN_MIN, inv, graph_const(g, 1.0 / EPSILON, st), st);
  return graph_binary(g, NNC_BIN_MUL, x, inv, st);
}

static int lower(metric_ctx *c) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int yp = c->yp, y = c->y, values;
  switch (c->kind) {
  case NNC_METRIC_MAE:
  case NNC_METRIC_MSE:
    values =
        graph_loss(g, c->kind == NNC_METRIC_MAE ? NNC_LOSS_MAE : NNC_LOSS_MSE, yp, y, 0, 0, st);
    return metric_mean(c, values, 0);
  case NNC_METRIC_RMSE:
    values = graph_unary(g, NNC_FN_SQUARE, graph_binary(g, NNC_BIN_SUB, yp, y, st), st);
    return metric_mean(c, values, 1);
  case NNC_METRIC_MAPE: { /* 100 * |(y - yp) / max(|y|, eps)| */
    int den = graph_binary(g, NNC_BIN_MAX, graph_unary(g, NNC_FN_ABS, y, st),
                           graph_const(g, EPSILON, st), st);
    int diff = graph_unary(
        g, NNC_FN_ABS,
        graph_binary(g, NNC_BIN_DIV, graph_binary(g, NNC_BIN_SUB, y, yp, st), den, st), st);
    return metric_mean(c, graph_binary(g, NNC_BIN_MUL, graph_const(g, 100.0, st), diff, st), 0);
  }
  case NNC_METRIC_MSLE: { /* (log(max(yp, eps) + 1) - log(max(y, eps) + 1))^2 */
    int one = graph_const(g, 1.0, st), eps = graph_const(g, EPSILON, st);
    int a = graph_unary(
        g, NNC_FN_LOG,
        graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MAX, yp, eps, st), one, st), st);
    int b = graph_unary(
        g, NNC_FN_LOG,
        graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MAX, y, eps, st), one, st), st);
    return metric_mean(c, graph_unary(g, NNC_FN_SQUARE, graph_binary(g, NNC_BIN_SUB, a, b, st), st),
                       0);
  }
  case NNC_METRIC_COSINE_SIMILARITY: { /* sum(normalize(y) * normalize(yp), axis) */
    if (c->m->axis != -1) {
      char what[NNC_NAME_MAX + 16];
      snprintf(what, sizeof what, "metric \"%s\"", c->key);
      if (loss_move_axis_last(g, what, c->m->axis, LOSS_LOGITS_NONE, &yp, &y, st)) return st->code;
    }
    int prod = graph_binary(g, NNC_BIN_MUL, l2_normalize(g, y, st), l2_normalize(g, yp, st), st);
    return metric_mean(c, graph_reduce(g, NNC_RED_LAST, prod, st), 0);
  }
  case NNC_METRIC_LOG_COSH_ERROR: { /* x + softplus(-2x) - log(2), x = yp - y */
    int x = graph_binary(g, NNC_BIN_SUB, yp, y, st);
    int sp = graph_unary(g, NNC_FN_SOFTPLUS,
                         graph_binary(g, NNC_BIN_MUL, graph_const(g, -2.0, st), x, st), st);
    int v = graph_binary(g, NNC_BIN_SUB, graph_binary(g, NNC_BIN_ADD, x, sp, st),
                         graph_const(g, 0.69314718055994530942, st), st);
    return metric_mean(c, v, 0);
  }
  default:
    return nnc_fail(st, NNC_ERR_INTERNAL, "regression: metric kind %d", (int)c->kind);
  }
}

const metric_family metric_family_regression = {parse, lower, 1};
