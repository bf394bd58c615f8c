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

/* every window along axis k inside the input: no clipping */
static int inside(const pool_geom *gm, int k) {
  return gm->p[k] == 0 && (gm->out[k] - 1) * gm->s[k] + gm->k[k] <= gm->in[k];
}

void pool_walk_begin(cg *c, const pool_geom *gm, pool_walk *w, LLVMValueRef r, int lanes,
                     int64_t ch0, int64_t ch1) {
  static const char *const names[3] = {"o0", "o1", "o2"};
  w->lanes = lanes;
  w->ty = lanes > 1 ? LLVMVectorType(c->f32, (unsigned)lanes) : c->f32;
  LLVMValueRef count = cg_i64(c, 1), flat = cg_i64(c, 0);
  for (int k = 0; k < 3; k++) {
    cg_loop_begin(c, &w->o[k], cg_i64(c, 0), cg_i64(c, gm->out[k]), names[k]);
    /* the window starts at o*s - p; clip it to the input */
    LLVMValueRef start =
        LLVMBuildSub(c->b, cg_imul(c, w->o[k].i, cg_i64(c, gm->s[k])), cg_i64(c, gm->p[k]), "");
    if (inside(gm, k)) { /* the window's extent a constant: its loops unroll */
      w->lo[k] = start;
      w->hi[k] = cg_iadd(c, start, cg_i64(c, gm->k[k]));
    } else {
      w->lo[k] = imax(c, start, cg_i64(c, 0));
      w->hi[k] = imin(c, cg_iadd(c, start, cg_i64(c, gm->k[k])), cg_i64(c, gm->in[k]));
    }
    count = cg_imul(c, count, LLVMBuildSub(c->b, w->hi[k], w->lo[k], ""));
    flat = cg_iadd(c, cg_imul(c, flat, cg_i64(c, gm->out[k])), w->o[k].i);
  }
  cg_loop_begin(c, &w->ch, cg_i64(c, 0), cg_i64(c, (ch1 - ch0) / lanes), "ch");
  LLVMValueRef ch = cg_iadd(c, cg_i64(c, ch0), cg_imul(c, w->ch.i, cg_i64(c, lanes)));
  w->count = LLVMBuildSIToFP(c->b, count, c->f32, "");
  w->out_at = cg_iadd(c, cg_imul(c, r, cg_i64(c, gm->out_row)),
                      cg_iadd(c, cg_imul(c, flat, cg_i64(c, gm->channels)), ch));
  w->x_row = cg_iadd(c, cg_imul(c, r, cg_i64(c, gm->in_row)), ch);
}

static LLVMValueRef block_at(cg *c, const pool_walk *w, LLVMValueRef base, LLVMValueRef i) {
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, base, &i, 1, "");
  return w->lanes > 1 ? LLVMBuildBitCast(c->b, p, LLVMPointerType(w->ty, 0), "") : p;
}

LLVMValueRef pool_load(cg *c, const pool_walk *w, LLVMValueRef base, LLVMValueRef i) {
  LLVMValueRef v = LLVMBuildLoad2(c->b, w->ty, block_at(c, w, base, i), "");
  LLVMSetAlignment(v, 4);
  return v;
}

void pool_store(cg *c, const pool_walk *w, LLVMValueRef v, LLVMValueRef base, LLVMValueRef i) {
  LLVMSetAlignment(LLVMBuildStore(c->b, v, block_at(c, w, base, i)), 4);
}

LLVMValueRef pool_splat(cg *c, const pool_walk *w, LLVMValueRef x) {
  if (w->lanes == 1) return x;
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef undef = LLVMGetUndef(LLVMVectorType(t, (unsigned)w->lanes));
  LLVMValueRef one = LLVMBuildInsertElement(c->b, undef, x, LLVMConstInt(c->i32, 0, 0), "");
  return LLVMBuildShuffleVector(c->b, one, undef,
                                LLVMConstNull(LLVMVectorType(c->i32, (unsigned)w->lanes)), "");
}

void pool_channel_blocks(cg *c, const pool_geom *gm, pool_blocks_body body, void *ctx) {
  int64_t vw = c->vector_width, vec = vw > 1 ? gm->channels / vw * vw : 0;
  if (vec > 0) body(c, ctx, (int)vw, 0, vec);
  if (vec < gm->channels) body(c, ctx, 1, vec, gm->channels);
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
