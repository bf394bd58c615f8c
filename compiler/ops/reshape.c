/* RESHAPE: the same elements in a new shape (set by the builder, checked
 * here). Gradient: dy reshaped back to the operand's shape. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int reshape_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (n->shape.batched != a->batched || shape_inner(&n->shape) != shape_inner(a))
    return op_shape_error(g, n, st, "reshape changes the number of elements");
  return NNC_OK;
}

static int reshape_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int r = graph_add(c->g, NNC_OP_RESHAPE, 0, &dy, 1, c->st);
  if (r < 0) return -1;
  c->g->nodes[r].shape = c->g->nodes[n->in[0]].shape;
  return grad_accumulate(c, n->in[0], r);
}

/* the same flat index */
static int reshape_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  *v = cg_operand(c, n, 0, i);
  return NNC_OK;
}

const nnc_op_def op_reshape = {.name = "reshape",
                               .arity = 1,
                               .cls = NNC_CLASS_ELEMENTWISE,
                               .shape = reshape_shape,
                               .grad = reshape_grad,
                               .emit_element = reshape_emit};
