/* AXIS_INDEX: shaped like in[0], each element is its own index along
 * params.axis.axis (as a float); in[0]'s values are not read. Attention's
 * causal mask is index(axis 1) >= index(axis 2). No gradient flows. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int axis_index_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (op_check_axis(g, n, n->params.axis.axis, a->rank, st)) return -1;
  n->shape = *a;
  return NNC_OK;
}

/* (i / span of the later axes) mod the axis's length */
static int axis_index_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  int axis = (int)n->params.axis.axis;
  int64_t inner = op_span(&n->shape, axis + 1, n->shape.rank);
  LLVMValueRef k = LLVMBuildSRem(c->b, LLVMBuildSDiv(c->b, i, cg_i64(c, inner), ""),
                                 cg_i64(c, n->shape.dims[axis]), "");
  *v = LLVMBuildSIToFP(c->b, k, c->f32, "");
  return NNC_OK;
}

const nnc_op_def op_axis_index = {.name = "axis_index",
                                  .arity = 1,
                                  .cls = NNC_CLASS_ELEMENTWISE,
                                  .shape = axis_index_shape,
                                  .no_grad = 1,
                                  .emit_element = axis_index_emit};
