/* The window walk of POOL and POOL_GRAD (see pool_window.h). */
#include "compiler/ops/pool_window.h"

void pool_geom_of(const nnc_shape *x, const nnc_shape *y, const nnc_pool_params *p, pool_geom *gm) {
  int n = x->rank - 2;
  for (int k = 0; k < 3; k++) {
    int used = k < n;
    gm->in[k] = used ? x->dims[1 + k] : 1;
    gm->out[k] = used ? y->dims[1 + k] : 1;
    gm->k[k] = used ? p->window[k] : 1;
    gm->s[k] = used ? p->strides[k] : 1;
    gm->p[k] = used ? p->pad_lo[k] : 0;
  }
  gm->channels = x->dims[x->rank - 1];
  gm->in_row = gm->in[0] * gm->in[1] * gm->in[2] * gm->channels;
  gm->out_row = gm->out[0] * gm->out[1] * gm->out[2] * gm->channels;
}

static LLVMValueRef imax(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, a, b, ""), a, b, "");
}
static LLVMValueRef imin(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, a, b, ""), a, b, "");
}

void pool_walk_begin(cg *c, const pool_geom *gm, pool_walk *w, LLVMValueRef r) {
  static const char *const names[3] = {"o0", "o1", "o2"};
  LLVMValueRef count = cg_i64(c, 1), flat = cg_i64(c, 0);
  for (int k = 0; k < 3; k++) {
    cg_loop_begin(c, &w->o[k], cg_i64(c, 0), cg_i64(c, gm->out[k]), names[k]);
    /* the window starts at o*s - p; clip it to the input */
    LLVMValueRef start =
        LLVMBuildSub(c->b, cg_imul(c, w->o[k].i, cg_i64(c, gm->s[k])), cg_i64(c, gm->p[k]), "");
    w->lo[k] = imax(c, start, cg_i64(c, 0));
    w->hi[k] = imin(c, cg_iadd(c, start, cg_i64(c, gm->k[k])), cg_i64(c, gm->in[k]));
    count = cg_imul(c, count, LLVMBuildSub(c->b, w->hi[k], w->lo[k], ""));
    flat = cg_iadd(c, cg_imul(c, flat, cg_i64(c, gm->out[k])), w->o[k].i);
  }
  cg_loop_begin(c, &w->ch, cg_i64(c, 0), cg_i64(c, gm->channels), "ch");
  w->count = LLVMBuildSIToFP(c->b, count, c->f32, "");
  w->out_at = cg_iadd(c, cg_imul(c, r, cg_i64(c, gm->out_row)),
                      cg_iadd(c, cg_imul(c, flat, cg_i64(c, gm->channels)), w->ch.i));
  w->x_row = cg_iadd(c, cg_imul(c, r, cg_i64(c, gm->in_row)), w->ch.i);
}

void pool_walk_end(cg *c, pool_walk *w) {
  cg_loop_end(c, &w->ch);
  for (int k = 2; k >= 0; k--) cg_loop_end(c, &w->o[k]);
}

LLVMValueRef pool_x_at(cg *c, const pool_geom *gm, const pool_walk *w, const LLVMValueRef *i) {
  LLVMValueRef flat = i[0];
  flat = cg_iadd(c, cg_imul(c, flat, cg_i64(c, gm->in[1])), i[1]);
  flat = cg_iadd(c, cg_imul(c, flat, cg_i64(c, gm->in[2])), i[2]);
  return cg_iadd(c, w->x_row, cg_imul(c, flat, cg_i64(c, gm->channels)));
}

int pool_out_shape(nnc_graph *g, const nnc_node *n, const nnc_shape *x, const nnc_pool_params *p,
                   nnc_shape *out, nnc_status *st) {
  int spatial = x->rank - 2;
  if (!x->batched || spatial < 1 || spatial > 3)
    return op_shape_error(g, n, st, "pooling needs [B, S.., C] with 1 to 3 spatial axes");
  *out = *x;
  for (int k = 0; k < 3; k++) {
    int64_t win = p->window[k], stride = p->strides[k], lo = p->pad_lo[k], hi = p->pad_hi[k];
    if (k >= spatial) {
      if (win || stride || lo || hi)
        return op_shape_error(g, n, st, "pooling parameters past the spatial axes");
      continue;
    }
    int64_t len = x->dims[1 + k];
    if (win < 1 || stride < 1 || lo < 0 || hi < 0 || lo >= win || hi >= win)
      return op_shape_error(g, n, st, "pooling needs windows and strides >= 1, padding < window");
    if (len + lo + hi < win)
      return op_shape_error(g, n, st, "pooling window larger than the input");
    int64_t o = (len + lo + hi - win) / stride + 1;
    if ((o - 1) * stride - lo >= len)
      return op_shape_error(g, n, st, "pooling window entirely in the padding");
    out->dims[1 + k] = o;
  }
  return NNC_OK;
}
