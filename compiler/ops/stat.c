/* STAT: write the scalar in[0] into statistic params.index. */
#include "compiler/ops/op.h"

static int stat_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  if (!op_is_scalar_like(&g->nodes[n->in[0]].shape))
    return op_shape_error(g, n, st, "statistic must be a scalar");
  n->shape = shape_scalar();
  return NNC_OK;
}

const nnc_op_def op_stat = {"stat", 1, NNC_CLASS_EFFECT, stat_shape, NULL, NULL, 1};
