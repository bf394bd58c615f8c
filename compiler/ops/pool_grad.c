/* POOL_GRAD: the gradient of POOL with respect to its operand, in[0] = x
 * [B, S1.., C], in[1] = dy (POOL's shape), the same fn and params.pool.
 * Max: each dy goes to the first maximum of its window in index order (TF's
 * MaxPoolGrad takes the first one strictly greater); average: dy / count to
 * every entry of the window inside the input. A scatter per batch row, so a
 * thread owns whole rows and sums in a fixed order. Not differentiated. */
#include <math.h>

#include "compiler/ops/pool_window.h"

static int pool_grad_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape, *dy = &g->nodes[n->in[1]].shape;
  nnc_shape y;
  if (pool_out_shape(g, n, x, &n->params.pool, &y, st)) return st->code;
  if (!shape_equal(&y, dy))
    return op_shape_error(g, n, st, "pool_grad needs dy in the pooled shape of x");
  n->shape = *x;
  return NNC_OK;
}

static int pool_grad_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef dy,
                          LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  pool_geom gm;
  pool_geom_of(&n->shape, &c->g->nodes[n->in[1]].shape, &n->params.pool, &gm);
  int is_max = n->fn == NNC_POOL_MAX;
  LLVMValueRef best = cg_alloca_f32(c, "best"), where = cg_alloca(c, c->i64, "where");
  cg_loop r;
  cg_loop_begin(c, &r, u0, u1, "r");
  cg_zero_fill(c, out, cg_imul(c, r.i, cg_i64(c, gm.in_row)), cg_i64(c, gm.in_row));
  pool_walk w;
  pool_walk_begin(c, &gm, &w, r.i);
  LLVMValueRef g = cg_load(c, dy, w.out_at);
  if (is_max) {
    cg_set(c, best, cg_f32(c, -INFINITY));
    LLVMBuildStore(c->b, pool_x_at(c, &gm, &w, w.lo), where);
  } else {
    g = LLVMBuildFDiv(c->b, g, w.count, "");
  }
  cg_loop i[3];
  LLVMValueRef at[3];
  for (int k = 0; k < 3; k++) {
    cg_loop_begin(c, &i[k], w.lo[k], w.hi[k], "i");
    at[k] = i[k].i;
  }
  LLVMValueRef idx = pool_x_at(c, &gm, &w, at);
  if (is_max) {
    LLVMValueRef v = cg_load(c, x, idx), m = cg_get(c, best);
    LLVMValueRef better = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, v, m, ""),
                                       LLVMBuildFCmp(c->b, LLVMRealORD, m, m, ""), "");
    cg_set(c, best, cg_select(c, better, v, m));
    LLVMValueRef old = LLVMBuildLoad2(c->b, c->i64, where, "");
    LLVMBuildStore(c->b, LLVMBuildSelect(c->b, better, idx, old, ""), where);
  } else {
    cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, idx), g, ""), out, idx);
  }
  for (int k = 2; k >= 0; k--) cg_loop_end(c, &i[k]);
  if (is_max) {
    LLVMValueRef to = LLVMBuildLoad2(c->b, c->i64, where, "");
    cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, to), g, ""), out, to);
  }
  pool_walk_end(c, &w);
  cg_loop_end(c, &r);
  return NNC_OK;
}

const nnc_op_def op_pool_grad = {.name = "pool_grad",
                                 .arity = 2,
                                 .cls = NNC_CLASS_ROW,
                                 .shape = pool_grad_shape,
                                 .emit_anchor = pool_grad_emit,
                                 .anchor_units = op_leading_units};
