/* STAT: write in[0] into the statistics from params.index on: a scalar, or
 * an unbatched tensor (a metric's vector of counts: thresholds, classes)
 * whose element i goes to statistic params.index + i. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int stat_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  if (x->batched) return op_shape_error(g, n, st, "a statistic must not have a batch axis");
  n->shape = op_is_scalar_like(x) ? shape_scalar() : *x;
  return NNC_OK;
}

static int stat_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)v;
  cg_store(c, cg_operand(c, n, 0, i), cg_buffer(c, id),
           shape_inner(&n->shape) == 1 ? cg_i64(c, 0) : i);
  return NNC_OK;
}

const nnc_op_def op_stat = {.name = "stat",
                            .arity = 1,
                            .cls = NNC_CLASS_EFFECT,
                            .shape = stat_shape,
                            .no_grad = 1,
                            .emit_element = stat_emit};
