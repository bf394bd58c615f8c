/* POOL: max (fn NNC_POOL_MAX) or average (NNC_POOL_AVG) over windows of the
 * spatial axes of a channels-last x [B, S1.., C], 1 to 3 spatial axes,
 * params.pool: window, stride and the padding before/after per axis. Padded
 * positions are not entries: the max ignores them and the average divides
 * by the entries inside the input, as TF's pooling kernels (and Keras's
 * 'same') do. Gradient: POOL_GRAD (pool_grad.c). */
#include <math.h>
#include <string.h>

#include "compiler/ops/pool_window.h"

int graph_pool(nnc_graph *g, int x, nnc_pool_fn fn, const nnc_pool_params *pp, nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.pool = *pp;
  return graph_add_params(g, NNC_OP_POOL, fn, &x, 1, &p, st);
}

static int pool_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  return pool_out_shape(g, n, &g->nodes[n->in[0]].shape, &n->params.pool, &n->shape, st);
}

static int pool_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  int in[2] = {n->in[0], dy};
  (void)id;
  return grad_accumulate(c, n->in[0],
                         graph_add_params(c->g, NNC_OP_POOL_GRAD, n->fn, in, 2, &n->params, c->st));
}

typedef struct pool_ctx {
  const pool_geom *gm;
  int is_max;
  LLVMValueRef x, out, r;
} pool_ctx;

/* Per output entry (a block of channels): the window's max (a NaN wins, as
 * in the row max) or its sum over the entries inside, divided by their count. */
static void pool_block(cg *c, void *ctx, int lanes, int64_t ch0, int64_t ch1) {
  const pool_ctx *p = ctx;
  pool_walk w;
  pool_walk_begin(c, p->gm, &w, p->r, lanes, ch0, ch1);
  LLVMValueRef acc = cg_alloca(c, w.ty, "acc");
  cg_set(c, acc, pool_splat(c, &w, cg_f32(c, p->is_max ? -INFINITY : 0.0)));
  cg_loop i[3];
  LLVMValueRef at[3];
  for (int k = 0; k < 3; k++) {
    cg_loop_begin(c, &i[k], w.lo[k], w.hi[k], "i");
    at[k] = i[k].i;
  }
  LLVMValueRef v = pool_load(c, &w, p->x, pool_x_at(c, p->gm, &w, at));
  LLVMValueRef m = LLVMBuildLoad2(c->b, w.ty, acc, "");
  if (p->is_max) {
    LLVMValueRef better = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, v, m, ""),
                                       LLVMBuildFCmp(c->b, LLVMRealORD, m, m, ""), "");
    cg_set(c, acc, cg_select(c, better, v, m));
  } else {
    cg_set(c, acc, LLVMBuildFAdd(c->b, m, v, ""));
  }
  for (int k = 2; k >= 0; k--) cg_loop_end(c, &i[k]);
  LLVMValueRef result = LLVMBuildLoad2(c->b, w.ty, acc, "");
  if (!p->is_max) result = LLVMBuildFDiv(c->b, result, pool_splat(c, &w, w.count), "");
  pool_store(c, &w, result, p->out, w.out_at);
  pool_walk_end(c, &w);
}

static int pool_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                     LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  pool_geom gm;
  pool_geom_of(&c->g->nodes[n->in[0]].shape, &n->shape, &n->params.pool, &gm);
  pool_ctx p = {.gm = &gm, .is_max = n->fn == NNC_POOL_MAX, .x = x, .out = out};
  cg_loop r;
  cg_loop_begin(c, &r, u0, u1, "r");
  p.r = r.i;
  pool_channel_blocks(c, &gm, pool_block, &p);
  cg_loop_end(c, &r);
  return NNC_OK;
}

const nnc_op_def op_pool = {.name = "pool",
                            .arity = 1,
                            .cls = NNC_CLASS_ROW,
                            .shape = pool_shape,
                            .grad = pool_grad,
                            .emit_anchor = pool_emit,
                            .anchor_units = op_leading_units};
