/* ARGMAX: index of the first maximum along the last axis, as a float, shape [..,1]. */
#include "compiler/ops/op.h"

static int argmax_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  (void)st;
  n->shape = op_with_last(g->nodes[n->in[0]].shape, 1);
  return NNC_OK;
}

const nnc_op_def op_argmax = {"argmax", 1, NNC_CLASS_ROW, argmax_shape, NULL, NULL, 1};
