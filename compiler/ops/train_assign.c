/* TRAIN_ASSIGN: write in[1] into the parameter in[0] in the train graph only
 * (BatchNormalization's moving statistics); pass_specialize makes it an
 * ASSIGN there and drops it from the inference graphs. */
#include "compiler/ops/op.h"

static int train_assign_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (shape_inner(a) != shape_inner(b) || a->batched || b->batched)
    return op_shape_error(g, n, st, "train_assign shapes differ");
  n->shape = *a;
  return NNC_OK;
}

const nnc_op_def op_train_assign = {.name = "train_assign",
                                    .arity = 2,
                                    .cls = NNC_CLASS_PHASED,
                                    .shape = train_assign_shape,
                                    .no_grad = 1};
