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

typedef struct pool_grad_ctx {
  const pool_geom *gm;
  int is_max;
  LLVMValueRef x, dy, out, r;
} pool_grad_ctx;

static void window_begin(cg *c, const pool_walk *w, cg_loop *i, LLVMValueRef *at) {
  for (int k = 0; k < 3; k++) {
    cg_loop_begin(c, &i[k], w->lo[k], w->hi[k], "i");
    at[k] = i[k].i;
  }
}
static void window_end(cg *c, cg_loop *i) {
  for (int k = 2; k >= 0; k--) cg_loop_end(c, &i[k]);
}

/* One output entry (a block of channels). Max: a first pass finds each
 * lane's first maximum (its flat index), a second adds dy to the entry at
 * that index and +0 to the others (x + +0 is x: the sums start at +0 and
 * never become -0), so each lane scatters as the scalar code would. */
static void pool_grad_block(cg *c, void *ctx, int lanes, int64_t ch0, int64_t ch1) {
  const pool_grad_ctx *p = ctx;
  pool_walk w;
  pool_walk_begin(c, p->gm, &w, p->r, lanes, ch0, ch1);
  LLVMValueRef g = pool_load(c, &w, p->dy, w.out_at);
  cg_loop i[3];
  LLVMValueRef at[3];
  if (!p->is_max) {
    g = LLVMBuildFDiv(c->b, g, pool_splat(c, &w, w.count), "");
    window_begin(c, &w, i, at);
    LLVMValueRef idx = pool_x_at(c, p->gm, &w, at);
    pool_store(c, &w, LLVMBuildFAdd(c->b, pool_load(c, &w, p->out, idx), g, ""), p->out, idx);
    window_end(c, i);
    pool_walk_end(c, &w);
    return;
  }
  LLVMTypeRef ity = lanes > 1 ? LLVMVectorType(c->i64, (unsigned)lanes) : c->i64;
  LLVMValueRef best = cg_alloca(c, w.ty, "best"), where = cg_alloca(c, ity, "where");
  cg_set(c, best, pool_splat(c, &w, cg_f32(c, -INFINITY)));
  LLVMBuildStore(c->b, pool_splat(c, &w, pool_x_at(c, p->gm, &w, w.lo)), where);
  window_begin(c, &w, i, at);
  LLVMValueRef idx = pool_x_at(c, p->gm, &w, at);
  LLVMValueRef v = pool_load(c, &w, p->x, idx), m = LLVMBuildLoad2(c->b, w.ty, best, "");
  LLVMValueRef better = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, v, m, ""),
                                     LLVMBuildFCmp(c->b, LLVMRealORD, m, m, ""), "");
  cg_set(c, best, cg_select(c, better, v, m));
  LLVMValueRef old = LLVMBuildLoad2(c->b, ity, where, "");
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, better, pool_splat(c, &w, idx), old, ""), where);
  window_end(c, i);
  if (lanes == 1) {
    LLVMValueRef to = LLVMBuildLoad2(c->b, c->i64, where, "");
    cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, p->out, to), g, ""), p->out, to);
  } else {
    LLVMValueRef to = LLVMBuildLoad2(c->b, ity, where, "");
    window_begin(c, &w, i, at);
    idx = pool_x_at(c, p->gm, &w, at);
    LLVMValueRef hit = LLVMBuildICmp(c->b, LLVMIntEQ, to, pool_splat(c, &w, idx), "");
    LLVMValueRef add = cg_select(c, hit, g, LLVMConstNull(w.ty));
    pool_store(c, &w, LLVMBuildFAdd(c->b, pool_load(c, &w, p->out, idx), add, ""), p->out, idx);
    window_end(c, i);
  }
  pool_walk_end(c, &w);
}

static int pool_grad_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef dy,
                          LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  pool_geom gm;
  pool_geom_of(&n->shape, &c->g->nodes[n->in[1]].shape, &n->params.pool, &gm);
  pool_grad_ctx p = {.gm = &gm, .is_max = n->fn == NNC_POOL_MAX, .x = x, .dy = dy, .out = out};
  cg_loop r;
  cg_loop_begin(c, &r, u0, u1, "r");
  cg_zero_fill(c, out, cg_imul(c, r.i, cg_i64(c, gm.in_row)), cg_i64(c, gm.in_row));
  p.r = r.i;
  pool_channel_blocks(c, &gm, pool_grad_block, &p);
  cg_loop_end(c, &r);
  return NNC_OK;
}

const nnc_op_def op_pool_grad = {.name = "pool_grad",
                                 .arity = 2,
                                 .cls = NNC_CLASS_ROW,
                                 .shape = pool_grad_shape,
                                 .emit_anchor = pool_grad_emit,
                                 .anchor_units = op_leading_units};
