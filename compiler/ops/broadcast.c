/* BROADCAST: in[0] expanded to the shape of in[1] (the gradient of a
 * reduction). Gradient: the broadcast undone by a reduction. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int broadcast_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  return op_infer_broadcast(g, n, &g->nodes[n->in[1]].shape, 1, st);
}

static int broadcast_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  return grad_accumulate(c, n->in[0], grad_unbroadcast(c, dy, n->bcast[0]));
}

/* in[0] read through its broadcast mode */
static int broadcast_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  *v = cg_operand(c, n, 0, i);
  return NNC_OK;
}

const nnc_op_def op_broadcast = {.name = "broadcast",
                                 .arity = 2,
                                 .cls = NNC_CLASS_ELEMENTWISE,
                                 .shape = broadcast_shape,
                                 .grad = broadcast_grad,
                                 .emit_element = broadcast_emit};
