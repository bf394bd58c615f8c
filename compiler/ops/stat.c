/* STAT: write the scalar in[0] into statistic params.index. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int stat_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  if (!op_is_scalar_like(&g->nodes[n->in[0]].shape))
    return op_shape_error(g, n, st, "statistic must be a scalar");
  n->shape = shape_scalar();
  return NNC_OK;
}

static int stat_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)v;
  cg_store(c, cg_operand(c, n, 0, i), cg_buffer(c, id), cg_i64(c, 0));
  return NNC_OK;
}

const nnc_op_def op_stat = {.name = "stat",
                            .arity = 1,
                            .cls = NNC_CLASS_EFFECT,
                            .shape = stat_shape,
                            .no_grad = 1,
                            .emit_element = stat_emit};
