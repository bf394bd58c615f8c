/* REDUCE: a sum. fn = ALL (to []), LAST (over the last axis, to [..,1]) or
 * LEADING (over all rows, to [C]). Gradient: dy broadcast back. */
#include "compiler/ops/op.h"

static int reduce_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  (void)st;
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (n->fn == NNC_RED_ALL) {
    n->shape = shape_scalar();
  } else if (n->fn == NNC_RED_LAST) {
    n->shape = op_with_last(*a, 1);
  } else {
    int64_t c = shape_last(a);
    n->shape = shape_make(0, 1, &c);
  }
  return NNC_OK;
}

static int reduce_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int in[2] = {dy, n->in[0]};
  return grad_accumulate(c, n->in[0], graph_add(c->g, NNC_OP_BROADCAST, 0, in, 2, c->st));
}

const nnc_op_def op_reduce = {"reduce", 1, NNC_CLASS_REDUCE, reduce_shape, reduce_grad, NULL, 0};
