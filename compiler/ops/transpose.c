/* TRANSPOSE: the transpose of a fixed (unbatched) matrix. */
#include "compiler/ops/op.h"

static int transpose_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (a->batched || a->rank != 2) return op_shape_error(g, n, st, "transpose needs a matrix");
  int64_t d[2] = {a->dims[1], a->dims[0]};
  n->shape = shape_make(0, 2, d);
  return NNC_OK;
}

static int transpose_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  return grad_accumulate(c, n->in[0], graph_add(c->g, NNC_OP_TRANSPOSE, 0, &dy, 1, c->st));
}

const nnc_op_def op_transpose = {"transpose", 1, NNC_CLASS_ROW, transpose_shape, transpose_grad,
                                 NULL,        0};
