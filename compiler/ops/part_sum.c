/* PART_SUM: the k_parts partial products of a split MATMUL (stored part
 * after part, ops/matmul.c) summed in part order: out[r, j] = P_0[r, j] +
 * P_1[r, j] + ... (passes/ksplit.c). params.axis.len: the parts. Made after
 * differentiation, so it has no gradient. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int part_sum_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  int64_t parts = n->params.axis.len;
  if (parts < 2 || !x->batched || shape_last(x) % parts)
    return op_shape_error(g, n, st, "needs a batched product of k_parts >= 2 parts");
  n->shape = op_with_last(*x, shape_last(x) / parts);
  return NNC_OK;
}

/* Rows [u0, u1): each element the parts' values added in order. */
static int part_sum_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                         LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  int64_t width = shape_last(&n->shape), parts = n->params.axis.len;
  LLVMValueRef block = cg_count(c, &n->shape); /* one part: M rows of width */
  cg_loop r;
  cg_loop_begin(c, &r, cg_imul(c, u0, cg_i64(c, width)), cg_imul(c, u1, cg_i64(c, width)), "elem");
  LLVMValueRef v = cg_load(c, x, r.i);
  for (int64_t p = 1; p < parts; p++)
    v = LLVMBuildFAdd(c->b, v, cg_load(c, x, cg_iadd(c, r.i, cg_imul(c, block, cg_i64(c, p)))), "");
  cg_store(c, v, out, r.i);
  cg_loop_end(c, &r);
  return NNC_OK;
}

const nnc_op_def op_part_sum = {.name = "part_sum",
                                .arity = 1,
                                .cls = NNC_CLASS_ROW,
                                .shape = part_sum_shape,
                                .no_grad = 1,
                                .emit_anchor = part_sum_emit,
                                .anchor_units = op_leading_units};
