/* Hinge, SquaredHinge, CategoricalHinge (keras/src/losses/losses.py). */
#include "compiler/losses/losses.h"

/* convert_binary_labels_to_hinge: when every label of the batch is 0 or 1,
 * y becomes 2y - 1; otherwise it stays. all01 is 1 or 0 for the batch, and
 * y + all01 * (y - 1) is exactly 2y - 1 or y. */
static int hinge_labels(nnc_graph *g, int y, nnc_status *st) {
  int one = graph_const(g, 1.0, st);
  int is01 =
      graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_EQ, y, graph_const(g, 0.0, st), st),
                   graph_binary(g, NNC_BIN_EQ, y, one, st), st);
  int count = graph_reduce(g, NNC_RED_ALL, is01, st);
  int64_t per_row = y >= 0 ? shape_inner(&g->nodes[y].shape) : 1;
  int numel = graph_binary(g, NNC_BIN_MUL, graph_scalar(g, NNC_SCALAR_BATCH, st),
                           graph_const(g, (double)per_row, st), st);
  int all01 = graph_binary(g, NNC_BIN_EQ, count, numel, st);
  return graph_binary(
      g, NNC_BIN_ADD, y,
      graph_binary(g, NNC_BIN_MUL, all01, graph_binary(g, NNC_BIN_SUB, y, one, st), st), st);
}

/* max(1 - y * p, 0) */
static int margin(nnc_graph *g, int p, int y, nnc_status *st) {
  int yp = graph_binary(g, NNC_BIN_MUL, hinge_labels(g, y, st), p, st);
  return graph_binary(g, NNC_BIN_MAX, loss_one_minus(g, yp, st), graph_const(g, 0.0, st), st);
}

static int lower_hinge(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                       nnc_status *st) {
  (void)loss;
  out->values = loss_mean_last(g, margin(g, p, y, st), st);
  return out->values < 0 ? -1 : 0;
}

static int lower_squared_hinge(nnc_graph *g, const nnc_spec_loss *loss, int p, int y,
                               loss_values *out, nnc_status *st) {
  (void)loss;
  out->values = loss_mean_last(g, graph_unary(g, NNC_FN_SQUARE, margin(g, p, y, st), st), st);
  return out->values < 0 ? -1 : 0;
}

/* pos = sum(y p), neg = max((1 - y) p); max(neg - pos + 1, 0) */
static int lower_categorical_hinge(nnc_graph *g, const nnc_spec_loss *loss, int p, int y,
                                   loss_values *out, nnc_status *st) {
  (void)loss;
  int pos = loss_sum_last(g, graph_binary(g, NNC_BIN_MUL, y, p, st), st);
  int neg = loss_max_last(g, graph_binary(g, NNC_BIN_MUL, loss_one_minus(g, y, st), p, st), st);
  int d = graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_SUB, neg, pos, st),
                       graph_const(g, 1.0, st), st);
  out->values = graph_binary(g, NNC_BIN_MAX, d, graph_const(g, 0.0, st), st);
  return out->values < 0 ? -1 : 0;
}

const loss_class loss_hinge = {NNC_LOSS_HINGE, "Hinge", "hinge", "hinge", 0, 0, 0, 0, lower_hinge};
const loss_class loss_squared_hinge = {
    NNC_LOSS_SQUARED_HINGE, "SquaredHinge", "squared_hinge", "squared_hinge", 0, 0, 0, 0,
    lower_squared_hinge};
const loss_class loss_categorical_hinge = {NNC_LOSS_CATEGORICAL_HINGE,
                                           "CategoricalHinge",
                                           "categorical_hinge",
                                           "categorical_hinge",
                                           0,
                                           0,
                                           0,
                                           0,
                                           lower_categorical_hinge};
