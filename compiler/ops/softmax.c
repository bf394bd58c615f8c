/* SOFTMAX over the last axis. Gradient: y * (dy - sum(dy * y)) per row. */
#include "compiler/ops/op.h"

static int softmax_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int s = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_MUL, dy, id, st), st);
  return grad_accumulate(
      c, n->in[0], graph_binary(g, NNC_BIN_MUL, id, graph_binary(g, NNC_BIN_SUB, dy, s, st), st));
}

const nnc_op_def op_softmax = {"softmax", 1, NNC_CLASS_ROW, op_same_shape, softmax_grad, NULL, 0};
