/* IMAGE_AFFINE: the per-sample image transform of Keras 3's augmentation
 * layers (ops.image.affine_transform with the TensorFlow backend's
 * ImageProjectiveTransformV3 semantics). in[0] is a channels-last image
 * batch [B, H, W, C], in[1] the sample's uniforms u [B, 2] in [0, 1).
 *
 * Sample b's matrix (a0 a1 a2; b0 b1 b2) maps output pixel (x, y) to the
 * input point (a0 x + a1 y + a2, b0 x + b1 y + b2); params.affine.kind says
 * how u makes it (graph.h). The point is mapped into the image by fill_mode
 * (reflect, wrap, nearest; constant keeps it) and read with bilinear or
 * nearest (round half away from zero) interpolation; a neighbour outside
 * the image reads fill_value.
 *
 * fn NNC_AFFINE_ADJOINT is the transpose of that linear map in x (its
 * gradient): in[0] = dy, scattered back with the same weights. One work unit
 * per sample, so the scatter is race-free and the same for any thread count.
 * No gradient flows to u (random draws). */
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

int graph_image_affine(nnc_graph *g, int x, int u, nnc_affine_fn fn, const nnc_affine_params *p,
                       nnc_status *st) {
  nnc_params params;
  memset(&params, 0, sizeof params);
  params.affine = *p;
  int in[2] = {x, u};
  return graph_add_params(g, NNC_OP_IMAGE_AFFINE, fn, in, 2, &params, st);
}

static int affine_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape, *u = &g->nodes[n->in[1]].shape;
  if (!x->batched || x->rank != 4)
    return op_shape_error(g, n, st, "image_affine needs a batched [B, H, W, C] image");
  if (!u->batched || u->rank != 2 || u->dims[1] != 2)
    return op_shape_error(g, n, st, "image_affine needs uniforms [B, 2]");
  const nnc_affine_params *p = &n->params.affine;
  if (p->kind < NNC_AFFINE_ROTATE || p->kind > NNC_AFFINE_CROP || p->fill < NNC_FILL_REFLECT ||
      p->fill > NNC_FILL_NEAREST || (n->fn != NNC_AFFINE_FORWARD && n->fn != NNC_AFFINE_ADJOINT))
    return op_shape_error(g, n, st, "image_affine: unknown kind, fill or fn");
  n->shape = *x;
  return NNC_OK;
}

static int affine_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  nnc_affine_fn back = n->fn == NNC_AFFINE_FORWARD ? NNC_AFFINE_ADJOINT : NNC_AFFINE_FORWARD;
  return grad_accumulate(c, n->in[0],
                         graph_image_affine(c->g, dy, n->in[1], back, &n->params.affine, c->st));
}

/* ---- float helpers ---- */
static LLVMValueRef fadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFAdd(c->b, a, b, "");
}
static LLVMValueRef fsub(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFSub(c->b, a, b, "");
}
static LLVMValueRef fmul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFMul(c->b, a, b, "");
}
static LLVMValueRef fcmp(cg *c, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(c->b, p, a, b, "");
}
static LLVMValueRef fsel(cg *c, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, cond, a, b, "");
}
static LLVMValueRef call1(cg *c, const char *name, LLVMValueRef x) {
  return cg_call(c, name, &x, 1);
}
/* static_cast<integer>(v) back to float: truncation toward zero */
static LLVMValueRef ftrunc(cg *c, LLVMValueRef v) {
  return call1(c, "llvm.trunc.f32", v);
}
/* lo + (hi - lo) * u: Keras's random.uniform(minval, maxval) */
static LLVMValueRef lerp(cg *c, double lo, double hi, LLVMValueRef u) {
  return fadd(c, cg_f32(c, lo), fmul(c, cg_f32(c, hi - lo), u));
}

/* TensorFlow's MapCoordinate: the input coordinate v on an axis of `len`
 * entries moved inside [0, len - 1] by the fill mode (constant: unchanged). */
static LLVMValueRef map_coord(cg *c, nnc_fill_mode fill, LLVMValueRef v, int64_t len) {
  float fl = (float)len;
  if (fill == NNC_FILL_CONSTANT) return v;
  if (len <= 1) return cg_f32(c, 0.0);
  LLVMValueRef below = fcmp(c, LLVMRealOLT, v, cg_f32(c, 0.0));
  LLVMValueRef above = fcmp(c, LLVMRealOGT, v, cg_f32(c, fl - 1.0f));
  LLVMValueRef r = v;
  if (fill == NNC_FILL_REFLECT) {
    LLVMValueRef sz2 = cg_f32(c, 2.0f * fl);
    /* below 0: v + sz2 * trunc(-v / sz2), then v < -len ? v + sz2 : -v - 1 */
    LLVMValueRef nb = fadd(
        c, fmul(c, sz2, ftrunc(c, LLVMBuildFDiv(c->b, LLVMBuildFNeg(c->b, v, ""), sz2, ""))), v);
    nb = fsel(c, fcmp(c, LLVMRealOLT, nb, cg_f32(c, -fl)), fadd(c, nb, sz2),
              fsub(c, LLVMBuildFNeg(c->b, nb, ""), cg_f32(c, 1.0)));
    /* above len - 1: v - sz2 * trunc(v / sz2), then v >= len ? sz2 - v - 1 : v */
    LLVMValueRef na = fsub(c, v, fmul(c, sz2, ftrunc(c, LLVMBuildFDiv(c->b, v, sz2, ""))));
    na = fsel(c, fcmp(c, LLVMRealOGE, na, cg_f32(c, fl)), fsub(c, fsub(c, sz2, na), cg_f32(c, 1.0)),
              na);
    r = fsel(c, below, nb, fsel(c, above, na, v));
  } else if (fill == NNC_FILL_WRAP) {
    LLVMValueRef sz = cg_f32(c, fl - 1.0f), n = cg_f32(c, fl);
    /* below 0: v + len * (trunc(-v / (len - 1)) + 1); above: v - len * trunc(v / (len - 1)) */
    LLVMValueRef nb =
        fadd(c, v,
             fmul(c, n,
                  fadd(c, ftrunc(c, LLVMBuildFDiv(c->b, LLVMBuildFNeg(c->b, v, ""), sz, "")),
                       cg_f32(c, 1.0))));
    LLVMValueRef na = fsub(c, v, fmul(c, n, ftrunc(c, LLVMBuildFDiv(c->b, v, sz, ""))));
    r = fsel(c, below, nb, fsel(c, above, na, v));
  }
  /* clamp to [0, len - 1] (every mode but constant) */
  r = fsel(c, fcmp(c, LLVMRealOLT, r, cg_f32(c, 0.0)), cg_f32(c, 0.0), r);
  return fsel(c, fcmp(c, LLVMRealOGT, r, cg_f32(c, fl - 1.0f)), cg_f32(c, fl - 1.0f), r);
}

/* The matrix of one sample from its uniforms, as Keras 3 builds it. */
static void sample_matrix(cg *c, const nnc_affine_params *p, int64_t h, int64_t w, LLVMValueRef u0,
                          LLVMValueRef u1, LLVMValueRef m[6]) {
  LLVMValueRef one = cg_f32(c, 1.0), zero = cg_f32(c, 0.0);
  m[0] = one, m[1] = zero, m[2] = zero, m[3] = zero, m[4] = one, m[5] = zero;
  switch ((nnc_affine_kind)p->kind) {
  case NNC_AFFINE_ROTATE: {
    /* rotation about the centre ((W - 1) / 2, (H - 1) / 2) */
    LLVMValueRef rad =
        fmul(c, lerp(c, p->lo0, p->hi0, u0), cg_f32(c, 3.14159265358979323846 / 180.0));
    LLVMValueRef cs = call1(c, "llvm.cos.f32", rad), sn = call1(c, "llvm.sin.f32", rad);
    LLVMValueRef cx = cg_f32(c, 0.5 * (double)(w - 1)), cy = cg_f32(c, 0.5 * (double)(h - 1));
    m[0] = cs, m[1] = LLVMBuildFNeg(c->b, sn, ""), m[3] = sn, m[4] = cs;
    m[2] = fsub(c, fsub(c, cx, fmul(c, cx, m[0])), fmul(c, cy, m[1]));
    m[5] = fsub(c, fsub(c, cy, fmul(c, cx, m[3])), fmul(c, cy, m[4]));
    break;
  }
  case NNC_AFFINE_TRANSLATE:
    m[5] = LLVMBuildFNeg(c->b, fmul(c, lerp(c, p->lo0, p->hi0, u0), cg_f32(c, (double)h)), "");
    m[2] = LLVMBuildFNeg(c->b, fmul(c, lerp(c, p->lo1, p->hi1, u1), cg_f32(c, (double)w)), "");
    break;
  case NNC_AFFINE_ZOOM: {
    LLVMValueRef zh = lerp(c, 1.0 + p->lo0, 1.0 + p->hi0, u0);
    LLVMValueRef zw = p->tied ? zh : lerp(c, 1.0 + p->lo1, 1.0 + p->hi1, u1);
    m[0] = zw, m[4] = zh;
    m[2] = fmul(c, cg_f32(c, 0.5 * (double)(w - 1)), fsub(c, one, zw));
    m[5] = fmul(c, cg_f32(c, 0.5 * (double)(h - 1)), fsub(c, one, zh));
    break;
  }
  case NNC_AFFINE_FLIP: {
    LLVMValueRef flip = fcmp(c, LLVMRealOLE, u0, cg_f32(c, 0.5));
    if (p->lo0 != 0.0) {
      m[0] = fsel(c, flip, cg_f32(c, -1.0), one);
      m[2] = fsel(c, flip, cg_f32(c, (double)(w - 1)), zero);
    }
    if (p->hi0 != 0.0) {
      m[4] = fsel(c, flip, cg_f32(c, -1.0), one);
      m[5] = fsel(c, flip, cg_f32(c, (double)(h - 1)), zero);
    }
    break;
  }
  case NNC_AFFINE_CROP: {
    /* RandomCrop's window start: int(uniform(0, n)) rows and columns, n =
     * lo0 (lo1) the number of starts; kept below n against rounding */
    LLVMValueRef r = call1(c, "llvm.floor.f32", fmul(c, u0, cg_f32(c, p->lo0)));
    LLVMValueRef k = call1(c, "llvm.floor.f32", fmul(c, u1, cg_f32(c, p->lo1)));
    m[5] = fsel(c, fcmp(c, LLVMRealOGT, r, cg_f32(c, p->lo0 - 1.0)), cg_f32(c, p->lo0 - 1.0), r);
    m[2] = fsel(c, fcmp(c, LLVMRealOGT, k, cg_f32(c, p->lo1 - 1.0)), cg_f32(c, p->lo1 - 1.0), k);
    break;
  }
  }
}

/* One neighbour an output pixel reads: inside the image or not, where, how much. */
typedef struct corner {
  LLVMValueRef valid, at, weight;
} corner;

static corner make_corner(cg *c, LLVMValueRef yi, LLVMValueRef xi, LLVMValueRef weight, int64_t h,
                          int64_t w, int64_t ch, LLVMValueRef base) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef yok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, yi, cg_i64(c, 0), ""),
                                  LLVMBuildICmp(b, LLVMIntSLT, yi, cg_i64(c, h), ""), "");
  LLVMValueRef xok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, xi, cg_i64(c, 0), ""),
                                  LLVMBuildICmp(b, LLVMIntSLT, xi, cg_i64(c, w), ""), "");
  corner k;
  k.valid = LLVMBuildAnd(b, yok, xok, "");
  /* an outside neighbour points at pixel 0 (never read for its value) */
  LLVMValueRef pix = cg_iadd(c, cg_imul(c, yi, cg_i64(c, w)), xi);
  pix = LLVMBuildSelect(b, k.valid, pix, cg_i64(c, 0), "");
  k.at = cg_iadd(c, base, cg_imul(c, pix, cg_i64(c, ch)));
  k.weight = weight;
  return k;
}

static LLVMValueRef to_index(cg *c, LLVMValueRef v) {
  return LLVMBuildFPToSI(c->b, v, c->i64, "");
}

static int affine_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef ub, LLVMValueRef out,
                       LLVMValueRef s0, LLVMValueRef s1) {
  const nnc_affine_params *p = &n->params.affine;
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape;
  int64_t h = xs->dims[1], w = xs->dims[2], ch = xs->dims[3], image = h * w * ch;
  int adjoint = n->fn == NNC_AFFINE_ADJOINT;
  nnc_fill_mode fill = (nnc_fill_mode)p->fill;
  cg_loop s;
  cg_loop_begin(c, &s, s0, s1, "sample");
  /* a crop reads the draws of the batch's first sample: one window per
   * batch, as Keras's RandomCrop (u is a finished buffer: a row op starts
   * its group, so every unit sees the whole batch's draws) */
  LLVMValueRef row = p->kind == NNC_AFFINE_CROP ? cg_i64(c, 0) : cg_imul(c, s.i, cg_i64(c, 2));
  LLVMValueRef u0 = cg_load(c, ub, row);
  LLVMValueRef u1 = cg_load(c, ub, cg_iadd(c, row, cg_i64(c, 1)));
  LLVMValueRef m[6];
  sample_matrix(c, p, h, w, u0, u1, m);
  LLVMValueRef base = cg_imul(c, s.i, cg_i64(c, image));
  if (adjoint) cg_zero_fill(c, out, base, cg_i64(c, image));
  cg_loop y;
  cg_loop_begin(c, &y, cg_i64(c, 0), cg_i64(c, h), "y");
  LLVMValueRef fy = LLVMBuildSIToFP(c->b, y.i, c->f32, "");
  cg_loop xl;
  cg_loop_begin(c, &xl, cg_i64(c, 0), cg_i64(c, w), "x");
  LLVMValueRef fx = LLVMBuildSIToFP(c->b, xl.i, c->f32, "");
  LLVMValueRef xin = fadd(c, fadd(c, fmul(c, m[0], fx), fmul(c, m[1], fy)), m[2]);
  LLVMValueRef yin = fadd(c, fadd(c, fmul(c, m[3], fx), fmul(c, m[4], fy)), m[5]);
  xin = map_coord(c, fill, xin, w);
  yin = map_coord(c, fill, yin, h);
  corner k[4];
  if (p->nearest) {
    k[0] =
        make_corner(c, to_index(c, call1(c, "llvm.round.f32", yin)),
                    to_index(c, call1(c, "llvm.round.f32", xin)), cg_f32(c, 1.0), h, w, ch, base);
  } else {
    LLVMValueRef yf = call1(c, "llvm.floor.f32", yin), xf = call1(c, "llvm.floor.f32", xin);
    LLVMValueRef yc = fadd(c, yf, cg_f32(c, 1.0)), xc = fadd(c, xf, cg_f32(c, 1.0));
    LLVMValueRef wy0 = fsub(c, yc, yin), wy1 = fsub(c, yin, yf);
    LLVMValueRef wx0 = fsub(c, xc, xin), wx1 = fsub(c, xin, xf);
    LLVMValueRef yi0 = to_index(c, yf), yi1 = to_index(c, yc);
    LLVMValueRef xi0 = to_index(c, xf), xi1 = to_index(c, xc);
    /* corner weights along x; the forward adds the rows as TF does:
     * wy0 (wx0 v00 + wx1 v01) + wy1 (wx0 v10 + wx1 v11) */
    k[0] = make_corner(c, yi0, xi0, wx0, h, w, ch, base);
    k[1] = make_corner(c, yi0, xi1, wx1, h, w, ch, base);
    k[2] = make_corner(c, yi1, xi0, wx0, h, w, ch, base);
    k[3] = make_corner(c, yi1, xi1, wx1, h, w, ch, base);
    /* the adjoint scatters with the full weight wy * wx */
    LLVMValueRef wy[4] = {wy0, wy0, wy1, wy1};
    if (adjoint)
      for (int j = 0; j < 4; j++) k[j].weight = fmul(c, wy[j], k[j].weight);
    LLVMValueRef at_out =
        cg_imul(c, cg_iadd(c, cg_imul(c, y.i, cg_i64(c, w)), xl.i), cg_i64(c, ch));
    at_out = cg_iadd(c, base, at_out);
    cg_loop q;
    cg_loop_begin(c, &q, cg_i64(c, 0), cg_i64(c, ch), "c");
    if (!adjoint) {
      LLVMValueRef v[4];
      for (int j = 0; j < 4; j++)
        v[j] =
            fsel(c, k[j].valid, cg_load(c, x, cg_iadd(c, k[j].at, q.i)), cg_f32(c, p->fill_value));
      LLVMValueRef r0 = fadd(c, fmul(c, k[0].weight, v[0]), fmul(c, k[1].weight, v[1]));
      LLVMValueRef r1 = fadd(c, fmul(c, k[2].weight, v[2]), fmul(c, k[3].weight, v[3]));
      cg_store(c, fadd(c, fmul(c, wy0, r0), fmul(c, wy1, r1)), out, cg_iadd(c, at_out, q.i));
    } else {
      LLVMValueRef g = cg_load(c, x, cg_iadd(c, at_out, q.i));
      for (int j = 0; j < 4; j++) {
        LLVMValueRef at = cg_iadd(c, k[j].at, q.i);
        LLVMValueRef add = fsel(c, k[j].valid, fmul(c, k[j].weight, g), cg_f32(c, 0.0));
        cg_store(c, fadd(c, cg_load(c, out, at), add), out, at);
      }
    }
    cg_loop_end(c, &q);
    cg_loop_end(c, &xl);
    cg_loop_end(c, &y);
    cg_loop_end(c, &s);
    return NNC_OK;
  }
  /* nearest: one neighbour */
  LLVMValueRef at_out = cg_imul(c, cg_iadd(c, cg_imul(c, y.i, cg_i64(c, w)), xl.i), cg_i64(c, ch));
  at_out = cg_iadd(c, base, at_out);
  cg_loop q;
  cg_loop_begin(c, &q, cg_i64(c, 0), cg_i64(c, ch), "c");
  LLVMValueRef at = cg_iadd(c, k[0].at, q.i);
  if (!adjoint) {
    LLVMValueRef v = fsel(c, k[0].valid, cg_load(c, x, at), cg_f32(c, p->fill_value));
    cg_store(c, v, out, cg_iadd(c, at_out, q.i));
  } else {
    LLVMValueRef g = cg_load(c, x, cg_iadd(c, at_out, q.i));
    LLVMValueRef add = fsel(c, k[0].valid, g, cg_f32(c, 0.0));
    cg_store(c, fadd(c, cg_load(c, out, at), add), out, at);
  }
  cg_loop_end(c, &q);
  cg_loop_end(c, &xl);
  cg_loop_end(c, &y);
  cg_loop_end(c, &s);
  return NNC_OK;
}

const nnc_op_def op_image_affine = {.name = "image_affine",
                                    .arity = 2,
                                    .cls = NNC_CLASS_ROW,
                                    .shape = affine_shape,
                                    .grad = affine_grad,
                                    .emit_anchor = affine_emit,
                                    .anchor_units = op_leading_units};
