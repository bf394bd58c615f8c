/* ONE_HOT: labels [..,1] -> [.., depth] (params.depth). */
#include "compiler/ops/op.h"

static int one_hot_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (shape_last(a) != 1) return op_shape_error(g, n, st, "labels must have a last axis of 1");
  n->shape = op_with_last(*a, n->params.depth);
  return NNC_OK;
}

const nnc_op_def op_one_hot = {"one_hot", 1, NNC_CLASS_ROW, one_hot_shape, NULL, NULL, 1};
