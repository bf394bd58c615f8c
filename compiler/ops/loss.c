/* LOSS: the per-sample loss of (prediction, target), fn = nnc_loss_kind,
 * params.loss; pass_decompose expands it. */
#include "compiler/ops/op.h"

static int loss_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  int sparse = n->fn == NNC_LOSS_SCCE;
  if (sparse ? shape_last(b) != 1 : !shape_equal(a, b))
    return op_shape_error(g, n, st, "predictions and targets do not match");
  n->shape = op_with_last(*a, 1);
  return NNC_OK;
}

const nnc_op_def op_loss = {.name = "loss",
                            .arity = 2,
                            .cls = NNC_CLASS_COMPOSITE,
                            .shape = loss_shape,
                            .grad = grad_lowered_first};
