/* ASSIGN: write in[1] into the parameter or slot in[0] (same element count). */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int assign_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (shape_inner(a) != shape_inner(b) || a->batched || b->batched)
    return op_shape_error(g, n, st, "assignment shapes differ");
  n->shape = *a;
  return NNC_OK;
}

/* element i of the parameter or slot in[0] */
static int assign_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id, (void)v;
  cg_store(c, cg_operand(c, n, 1, i), cg_buffer(c, n->in[0]), i);
  return NNC_OK;
}

const nnc_op_def op_assign = {.name = "assign",
                              .arity = 2,
                              .cls = NNC_CLASS_EFFECT,
                              .shape = assign_shape,
                              .no_grad = 1,
                              .emit_element = assign_emit};
