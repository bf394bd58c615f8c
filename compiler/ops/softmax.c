/* SOFTMAX over the last axis. Gradient: y * (dy - sum(dy * y)) per row. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int softmax_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int s = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_MUL, dy, id, st), st);
  return grad_accumulate(
      c, n->in[0], graph_binary(g, NNC_BIN_MUL, id, graph_binary(g, NNC_BIN_SUB, dy, s, st), st));
}

static void emit_softmax(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef out,
                         LLVMValueRef u0, LLVMValueRef u1) {
  int64_t w = shape_last(&n->shape);
  if (cg_lanes_fit(c, w)) { /* rows in lanes */
    cg_lanes l;
    cg_lanes_begin(c, &l, w, u0, u1);
    LLVMValueRef cols = cg_lanes_array(c, &l);
    cg_lanes_columns(c, &l, x, cols);
    LLVMValueRef m = cg_lanes_max(c, &l, cols, NULL), s = cg_lanes_sum_exp(c, &l, cols, m);
    cg_loop j;
    cg_lanes_loop_begin(c, &l, &j, 0);
    LLVMValueRef e = cg_exp(c, LLVMBuildFSub(c->b, cg_lanes_get(c, cols, j.i), m, ""));
    cg_lanes_set(c, cols, j.i, LLVMBuildFDiv(c->b, e, s, ""));
    cg_lanes_loop_end(c, &j);
    cg_lanes_store_rows(c, &l, cols, out);
    cg_lanes_end(c, &l);
    return;
  }
  cg_row r;
  cg_row_begin(c, &r, &n->shape, u0, u1);
  LLVMValueRef m = cg_row_max(c, &r, x, NULL);
  LLVMValueRef s = cg_row_sum_exp(c, &r, x, m);
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), r.width, "j");
  LLVMValueRef idx = cg_iadd(c, r.base, j.i);
  LLVMValueRef shifted = LLVMBuildFSub(c->b, cg_load(c, x, idx), m, "");
  LLVMValueRef v = LLVMBuildFDiv(c->b, cg_exp(c, shifted), s, "");
  cg_store(c, v, out, idx);
  cg_loop_end(c, &j);
  cg_loop_end(c, &r.row);
}

static int softmax_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                        LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  emit_softmax(c, n, a, out, u0, u1);
  return NNC_OK;
}

const nnc_op_def op_softmax = {.name = "softmax",
                               .arity = 1,
                               .cls = NNC_CLASS_ROW,
                               .shape = op_same_shape,
                               .grad = softmax_grad,
                               .emit_anchor = softmax_emit};
