/* Graph helpers the loss families share. Constants are float32 as Keras's
 * tensors hold them; means are a sum then a division, as TF's reduce_mean. */
#include <math.h>

#include "compiler/losses/losses.h"

int loss_const(nnc_graph *g, double v, nnc_status *st) {
  return graph_const(g, (double)(float)v, st);
}

int loss_sum_last(nnc_graph *g, int x, nnc_status *st) {
  if (x < 0) return -1;
  if (shape_last(&g->nodes[x].shape) == 1) return x;
  return graph_reduce(g, NNC_RED_LAST, x, st);
}

int loss_mean_last(nnc_graph *g, int x, nnc_status *st) {
  if (x < 0) return -1;
  int64_t c = shape_last(&g->nodes[x].shape);
  if (c == 1) return x;
  return graph_binary(g, NNC_BIN_DIV, graph_reduce(g, NNC_RED_LAST, x, st),
                      graph_const(g, (double)c, st), st);
}

/* A chain of one-column slices and maxima (no reduce-max op is needed); the
 * gradient is binary max's, which gives a tie to the earlier column. */
int loss_max_last(nnc_graph *g, int x, nnc_status *st) {
  if (x < 0) return -1;
  const nnc_shape *s = &g->nodes[x].shape;
  int64_t c = shape_last(s);
  if (c == 1) return x;
  int axis = s->rank - 1;
  int m = graph_slice(g, x, axis, 0, 1, st);
  for (int64_t j = 1; j < c && m >= 0; j++)
    m = graph_binary(g, NNC_BIN_MAX, m, graph_slice(g, x, axis, j, 1, st), st);
  return m;
}

int loss_one_minus(nnc_graph *g, int x, nnc_status *st) {
  return graph_binary(g, NNC_BIN_SUB, graph_const(g, 1.0, st), x, st);
}

int loss_smooth(nnc_graph *g, int y, double s, double extra, nnc_status *st) {
  if (s == 0) return y;
  int scaled = graph_binary(g, NNC_BIN_MUL, y, loss_const(g, 1.0 - s, st), st);
  return graph_binary(g, NNC_BIN_ADD, scaled, loss_const(g, extra, st), st);
}

int loss_pow(nnc_graph *g, int x, double gamma, nnc_status *st) {
  if (x < 0) return -1;
  if (gamma == 0) return graph_const(g, 1.0, st); /* x ** 0 */
  if (gamma == floor(gamma) && gamma >= 1 && gamma <= 8) {
    int p = x;
    for (int i = 1; i < (int)gamma; i++) p = graph_binary(g, NNC_BIN_MUL, p, x, st);
    return p;
  }
  int l = graph_unary(g, NNC_FN_LOG, x, st);
  return graph_unary(g, NNC_FN_EXP, graph_binary(g, NNC_BIN_MUL, l, loss_const(g, gamma, st), st),
                     st);
}
