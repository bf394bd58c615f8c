/* ASSIGN: write in[1] into the parameter or slot in[0] (same element count). */
#include "compiler/ops/op.h"

static int assign_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (shape_inner(a) != shape_inner(b) || a->batched || b->batched)
    return op_shape_error(g, n, st, "assignment shapes differ");
  n->shape = *a;
  return NNC_OK;
}

const nnc_op_def op_assign = {"assign", 2, NNC_CLASS_EFFECT, assign_shape, NULL, NULL, 1};
