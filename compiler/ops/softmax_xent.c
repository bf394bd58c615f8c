/* SOFTMAX_XENT: -sum(y * log_softmax(z)) per row of logits z = in[0] and
 * targets y = in[1], shape [..,1]. Gradient (to z only): dy * (softmax(z) * sum(y) - y). */
#include "compiler/ops/op.h"

static int softmax_xent_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (!shape_equal(a, b)) return op_shape_error(g, n, st, "logits and labels differ in shape");
  n->shape = op_with_last(*a, 1);
  return NNC_OK;
}

static int softmax_xent_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int x = n->in[0], y = n->in[1];
  int p = graph_add(g, NNC_OP_SOFTMAX, 0, &x, 1, st);
  int total = graph_reduce(g, NNC_RED_LAST, y, st);
  int d = graph_binary(g, NNC_BIN_SUB, graph_binary(g, NNC_BIN_MUL, p, total, st), y, st);
  return grad_accumulate(c, x, graph_binary(g, NNC_BIN_MUL, dy, d, st));
}

const nnc_op_def op_softmax_xent = {
    "softmax_xent", 2, NNC_CLASS_ROW, softmax_xent_shape, softmax_xent_grad, NULL, 0};
