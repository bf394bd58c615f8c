/* BROADCAST: in[0] expanded to the shape of in[1] (the gradient of a
 * reduction). Gradient: the broadcast undone by a reduction. */
#include "compiler/ops/op.h"

static int broadcast_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  return op_infer_broadcast(g, n, &g->nodes[n->in[1]].shape, 1, st);
}

static int broadcast_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  return grad_accumulate(c, n->in[0], grad_unbroadcast(c, dy, n->bcast[0]));
}

const nnc_op_def op_broadcast = {
    "broadcast", 2, NNC_CLASS_ELEMENTWISE, broadcast_shape, broadcast_grad, NULL, 0};
