/* ARGMAX: index of the first maximum along the last axis, as a float, shape [..,1]. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int argmax_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  (void)st;
  n->shape = op_with_last(g->nodes[n->in[0]].shape, 1);
  return NNC_OK;
}

static void emit_argmax(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef out, LLVMValueRef u0,
                        LLVMValueRef u1) {
  int64_t w = shape_last(&c->g->nodes[n->in[0]].shape);
  if (cg_lanes_fit(c, w)) { /* rows in lanes */
    cg_lanes l;
    LLVMValueRef where;
    cg_lanes_begin(c, &l, w, u0, u1);
    LLVMValueRef cols = cg_lanes_array(c, &l);
    cg_lanes_columns(c, &l, x, cols);
    cg_lanes_max(c, &l, cols, &where);
    cg_lanes_store(c, &l, where, out);
    cg_lanes_end(c, &l);
    return;
  }
  cg_row r;
  cg_row_begin(c, &r, &c->g->nodes[n->in[0]].shape, u0, u1);
  LLVMValueRef where;
  cg_row_max(c, &r, x, &where);
  cg_store(c, where, out, r.row.i);
  cg_loop_end(c, &r.row);
}

static int argmax_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                       LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  emit_argmax(c, n, a, out, u0, u1);
  return NNC_OK;
}

const nnc_op_def op_argmax = {.name = "argmax",
                              .arity = 1,
                              .cls = NNC_CLASS_ROW,
                              .shape = argmax_shape,
                              .no_grad = 1,
                              .emit_anchor = argmax_emit};
