/* ONE_HOT: labels [..,1] -> [.., depth] (params.depth). */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int one_hot_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (shape_last(a) != 1) return op_shape_error(g, n, st, "labels must have a last axis of 1");
  n->shape = op_with_last(*a, n->params.depth);
  return NNC_OK;
}

static void emit_one_hot(cg *c, const nnc_node *n, LLVMValueRef labels, LLVMValueRef out,
                         LLVMValueRef u0, LLVMValueRef u1) {
  cg_row r;
  cg_row_begin(c, &r, &n->shape, u0, u1);
  LLVMValueRef label = cg_load(c, labels, r.row.i);
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), r.width, "j");
  LLVMValueRef hit =
      LLVMBuildFCmp(c->b, LLVMRealOEQ, LLVMBuildSIToFP(c->b, j.i, c->f32, ""), label, "");
  cg_store(c, cg_bool(c, hit), out, cg_iadd(c, r.base, j.i));
  cg_loop_end(c, &j);
  cg_loop_end(c, &r.row);
}

static int one_hot_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                        LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  emit_one_hot(c, n, a, out, u0, u1);
  return NNC_OK;
}

const nnc_op_def op_one_hot = {.name = "one_hot",
                               .arity = 1,
                               .cls = NNC_CLASS_ROW,
                               .shape = one_hot_shape,
                               .no_grad = 1,
                               .emit_anchor = one_hot_emit};
