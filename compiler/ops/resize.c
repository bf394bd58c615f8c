/* RESIZE along axis params.axis.axis >= 1 to params.axis.len entries.
 * fn NNC_RESIZE_LINEAR: linear interpolation with half-pixel centers, as
 * tf.image.resize 'bilinear' (and jax.image.resize when enlarging) computes
 * it per axis: for output entry i of m from n, src = (i + 0.5) * n/m - 0.5
 * in float32, lo = max(floor(src), 0), hi = min(ceil(src), n - 1),
 * out = x[lo] + (x[hi] - x[lo]) * (src - floor(src)). UpSampling2D bilinear
 * is this along the height, then along the width.
 * fn NNC_RESIZE_LINEAR_ADJOINT: the transpose of that map (its gradient):
 * dy of m entries scattered back to len = n entries. Each is the other's
 * gradient.
 * fn NNC_RESIZE_NEAREST: nearest neighbour as tf.image.resize 'nearest'
 * (half-pixel centers): out[i] = x[min(floor((i + 0.5) * n/m), n - 1)] in
 * float32; NNC_RESIZE_NEAREST_ADJOINT scatters dy back the same way.
 * fn NNC_RESIZE_TRIANGLE: tf.image.resize 'bilinear' with antialias=True,
 * which is ScaleAndTranslate with the triangle kernel, scale m/n and no
 * translation (TF's scale_and_translate_op.cc, ComputeSpansCore; the same
 * weights as jax.image.scale_and_translate): in float32, inv = 1/(m/n),
 * ks = max(inv, 1) (the kernel widened when shrinking), for output i the
 * sample s = (i + 0.5) * inv, the entries j in [ceil(s - ks - 0.5),
 * floor(s + ks - 0.5)] clamped to [0, n), weights max(0, 1 - |(j + 0.5 -
 * s) / ks|) divided by their sum, out[i] = sum_j w_j x[j] in j order.
 * NNC_RESIZE_TRIANGLE_ADJOINT: dx[j] += w_ij dy[i], i ascending.
 * fn NNC_RESIZE_CUBIC: tf.image.resize 'bicubic' (ResizeBicubic with
 * half_pixel_centers, resize_bicubic_op.cc GetWeightsAndIndices, Keys'
 * kernel a = -0.5): src = (i + 0.5) * n/m - 0.5 in float32, taps floor(src)
 * - 1 .. floor(src) + 2, weights from TF's 1025-entry table at
 * rint(frac(src) * 1024), taps outside [0, n) weigh 0, the rest divided by
 * their sum; NNC_RESIZE_CUBIC_ADJOINT scatters dy back with them. */
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

int graph_resize(nnc_graph *g, int x, nnc_resize_fn fn, int axis, int64_t len, nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  p.axis.len = len;
  return graph_add_params(g, NNC_OP_RESIZE, fn, &x, 1, &p, st);
}

static int resize_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  if (op_check_axis(g, n, n->params.axis.axis, x->rank, st)) return st->code;
  if (n->params.axis.len < 1) return op_shape_error(g, n, st, "resize needs a length >= 1");
  if (n->fn < NNC_RESIZE_LINEAR || n->fn > NNC_RESIZE_CUBIC_ADJOINT)
    return op_shape_error(g, n, st, "resize: unknown fn");
  n->shape = *x;
  n->shape.dims[n->params.axis.axis] = n->params.axis.len;
  return NNC_OK;
}

static int resize_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int axis = (int)n->params.axis.axis;
  static const nnc_resize_fn back_of[] = {NNC_RESIZE_LINEAR_ADJOINT,   NNC_RESIZE_LINEAR,
                                          NNC_RESIZE_NEAREST_ADJOINT,  NNC_RESIZE_NEAREST,
                                          NNC_RESIZE_TRIANGLE_ADJOINT, NNC_RESIZE_TRIANGLE,
                                          NNC_RESIZE_CUBIC_ADJOINT,    NNC_RESIZE_CUBIC};
  nnc_resize_fn back = back_of[n->fn];
  return grad_accumulate(
      c, n->in[0],
      graph_resize(c->g, dy, back, axis, c->g->nodes[n->in[0]].shape.dims[axis], c->st));
}

static LLVMValueRef call_f32(cg *c, const char *name, LLVMValueRef x) {
  return cg_call(c, name, &x, 1);
}

/* The triangle weight of entry j (i64) for the sample s, before the
 * division by the sum: max(0, 1 - |(j + 0.5 - s) * (1 / ks)|) */
static LLVMValueRef triangle_weight(cg *c, LLVMValueRef j, LLVMValueRef s, float one_over_ks) {
  LLVMValueRef pos = LLVMBuildFSub(
      c->b, LLVMBuildFAdd(c->b, LLVMBuildSIToFP(c->b, j, c->f32, ""), cg_f32(c, 0.5), ""), s, "");
  LLVMValueRef d =
      call_f32(c, "llvm.fabs.f32", LLVMBuildFMul(c->b, pos, cg_f32(c, one_over_ks), ""));
  return cg_select(c, LLVMBuildFCmp(c->b, LLVMRealOLT, d, cg_f32(c, 1.0), ""),
                   LLVMBuildFSub(c->b, cg_f32(c, 1.0), d, ""), cg_f32(c, 0.0));
}

static LLVMValueRef clamp_index(cg *c, LLVMValueRef v, int64_t hi) {
  v = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, v, cg_i64(c, 0), ""), cg_i64(c, 0), v,
                      "");
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, v, cg_i64(c, hi), ""), cg_i64(c, hi),
                         v, "");
}

/* Keys' cubic weight (a = -0.5) of a tap at distance |d| = 0, 1 (near) or
 * 1, 2 (far, u + 1), read from TF's table of 1025 entries: u = q / 1024,
 * evaluated in double (InitCoeffsTable takes a double) and stored as float. */
static LLVMValueRef cubic_weight(cg *c, LLVMValueRef q, int far) {
  LLVMTypeRef f64 = LLVMDoubleTypeInContext(LLVMGetTypeContext(c->f32));
  LLVMValueRef u =
      LLVMBuildFDiv(c->b, LLVMBuildSIToFP(c->b, q, f64, ""), LLVMConstReal(f64, 1024.0), "");
  const double a = -0.5;
#define K(v) LLVMConstReal(f64, (v))
  LLVMValueRef w;
  if (!far) { /* ((a + 2) u - (a + 3)) u u + 1 */
    w = LLVMBuildFSub(c->b, LLVMBuildFMul(c->b, K(a + 2), u, ""), K(a + 3), "");
    w = LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, w, u, ""), u, ""), K(1.0), "");
  } else { /* x = u + 1: ((a x - 5a) x + 8a) x - 4a */
    LLVMValueRef x = LLVMBuildFAdd(c->b, u, K(1.0), "");
    w = LLVMBuildFSub(c->b, LLVMBuildFMul(c->b, K(a), x, ""), K(5 * a), "");
    w = LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, w, x, ""), K(8 * a), "");
    w = LLVMBuildFSub(c->b, LLVMBuildFMul(c->b, w, x, ""), K(4 * a), "");
  }
#undef K
  return LLVMBuildFPTrunc(c->b, w, c->f32, "");
}

/* The weight of tap j before normalization: triangle (s = the sample) or
 * cubic (loc = floor of the source position, q = its fraction in 1024ths). */
typedef struct filter_at {
  int cubic;
  float one_over_ks;      /* triangle */
  LLVMValueRef s, loc, q; /* s: triangle; loc, q: cubic */
} filter_at;

static LLVMValueRef filter_weight(cg *c, const filter_at *f, LLVMValueRef j) {
  if (!f->cubic) return triangle_weight(c, j, f->s, f->one_over_ks);
  /* d = j - loc in {-1, 0, 1, 2}: taps 0, 1 read q, taps 1, 2 read 1024 - q */
  LLVMValueRef d = LLVMBuildSub(c->b, j, f->loc, "");
  LLVMValueRef right = LLVMBuildICmp(c->b, LLVMIntSGT, d, cg_i64(c, 0), "");
  LLVMValueRef q =
      LLVMBuildSelect(c->b, right, LLVMBuildSub(c->b, cg_i64(c, 1024), f->q, ""), f->q, "");
  LLVMValueRef far = LLVMBuildOr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, d, cg_i64(c, -1), ""),
                                 LLVMBuildICmp(c->b, LLVMIntEQ, d, cg_i64(c, 2), ""), "");
  return LLVMBuildSelect(c->b, far, cubic_weight(c, q, 1), cubic_weight(c, q, 0), "");
}

static int filter_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef out, LLVMValueRef u0,
                       LLVMValueRef u1) {
  int axis = (int)n->params.axis.axis;
  int adjoint = n->fn == NNC_RESIZE_TRIANGLE_ADJOINT || n->fn == NNC_RESIZE_CUBIC_ADJOINT;
  filter_at f = {.cubic = n->fn == NNC_RESIZE_CUBIC || n->fn == NNC_RESIZE_CUBIC_ADJOINT};
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape, *ys = &n->shape;
  int64_t outer = op_span(ys, 1, axis), inner = op_span(ys, axis + 1, ys->rank);
  int64_t from = adjoint ? ys->dims[axis] : xs->dims[axis];
  int64_t to = adjoint ? xs->dims[axis] : ys->dims[axis];
  /* triangle (ScaleAndTranslate): scale = float(m) / float(n), inv_scale =
   * 1.0 / scale (double, then float); cubic (ResizeBicubic): scale =
   * float(n) / float(m) */
  float scale = (float)to / (float)from;
  float inv = (float)(1.0 / (double)scale);
  float ks = inv > 1.0f ? inv : 1.0f, cubic_scale = (float)from / (float)to;
  f.one_over_ks = 1.0f / ks;
  LLVMValueRef sum = cg_alloca_f32(c, "weight_sum");
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  LLVMValueRef src_base = cg_imul(c, o.i, cg_i64(c, (adjoint ? to : from) * inner));
  LLVMValueRef dst_base = cg_imul(c, o.i, cg_i64(c, (adjoint ? from : to) * inner));
  cg_zero_fill(c, out, dst_base, cg_i64(c, (adjoint ? from : to) * inner));
  cg_loop i;
  cg_loop_begin(c, &i, cg_i64(c, 0), cg_i64(c, to), "i");
  LLVMValueRef centre =
      LLVMBuildFAdd(c->b, LLVMBuildSIToFP(c->b, i.i, c->f32, ""), cg_f32(c, 0.5), "");
  LLVMValueRef start, end;
  if (!f.cubic) {
    f.s = LLVMBuildFMul(c->b, centre, cg_f32(c, inv), "");
    LLVMValueRef lo =
        LLVMBuildFSub(c->b, LLVMBuildFSub(c->b, f.s, cg_f32(c, ks), ""), cg_f32(c, 0.5), "");
    LLVMValueRef hi =
        LLVMBuildFSub(c->b, LLVMBuildFAdd(c->b, f.s, cg_f32(c, ks), ""), cg_f32(c, 0.5), "");
    start = LLVMBuildFPToSI(c->b, call_f32(c, "llvm.ceil.f32", lo), c->i64, "");
    end = LLVMBuildFPToSI(c->b, call_f32(c, "llvm.floor.f32", hi), c->i64, "");
  } else { /* src = (i + 0.5) scale - 0.5; taps floor(src) - 1 .. + 2 */
    LLVMValueRef src = LLVMBuildFSub(c->b, LLVMBuildFMul(c->b, centre, cg_f32(c, cubic_scale), ""),
                                     cg_f32(c, 0.5), "");
    LLVMValueRef fl = call_f32(c, "llvm.floor.f32", src);
    f.loc = LLVMBuildFPToSI(c->b, fl, c->i64, "");
    /* lrintf(delta * 1024), round half to even */
    LLVMValueRef delta = LLVMBuildFSub(c->b, src, fl, "");
    f.q = LLVMBuildFPToSI(
        c->b, call_f32(c, "llvm.rint.f32", LLVMBuildFMul(c->b, delta, cg_f32(c, 1024.0), "")),
        c->i64, "");
    start = LLVMBuildSub(c->b, f.loc, cg_i64(c, 1), "");
    end = cg_iadd(c, f.loc, cg_i64(c, 2));
  }
  /* out-of-range taps weigh 0 (both filters), so the span is clamped */
  start = clamp_index(c, start, from - 1);
  end = cg_iadd(c, clamp_index(c, end, from - 1), cg_i64(c, 1));
  cg_set(c, sum, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, start, end, "j");
  cg_set(c, sum, LLVMBuildFAdd(c->b, cg_get(c, sum), filter_weight(c, &f, j.i), ""));
  cg_loop_end(c, &j);
  /* triangle: the sum is at least 1/2 (the nearest entry is within 1/2 of
   * s); cubic: at least the two near taps' share; so TF's test against
   * 1000 * FLT_MIN never skips the normalization here */
  LLVMValueRef rsum = LLVMBuildFDiv(c->b, cg_f32(c, 1.0), cg_get(c, sum), "");
  cg_loop_begin(c, &j, start, end, "j");
  LLVMValueRef w = LLVMBuildFMul(c->b, filter_weight(c, &f, j.i), rsum, "");
  /* forward: out[i] += w x[j]; adjoint: out[j] += w dy[i] */
  LLVMValueRef i_at = cg_imul(c, i.i, cg_i64(c, inner)), j_at = cg_imul(c, j.i, cg_i64(c, inner));
  LLVMValueRef rd = cg_iadd(c, src_base, adjoint ? i_at : j_at);
  LLVMValueRef wr = cg_iadd(c, dst_base, adjoint ? j_at : i_at);
  cg_loop k;
  cg_loop_begin(c, &k, cg_i64(c, 0), cg_i64(c, inner), "k");
  LLVMValueRef at = cg_iadd(c, wr, k.i);
  LLVMValueRef v = LLVMBuildFMul(c->b, w, cg_load(c, x, cg_iadd(c, rd, k.i)), "");
  cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, at), v, ""), out, at);
  cg_loop_end(c, &k);
  cg_loop_end(c, &j);
  cg_loop_end(c, &i);
  cg_loop_end(c, &o);
  return NNC_OK;
}

static int resize_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                       LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  if (n->fn >= NNC_RESIZE_TRIANGLE) return filter_emit(c, n, x, out, u0, u1);
  int axis = (int)n->params.axis.axis;
  int adjoint = n->fn == NNC_RESIZE_LINEAR_ADJOINT || n->fn == NNC_RESIZE_NEAREST_ADJOINT;
  int nearest = n->fn == NNC_RESIZE_NEAREST || n->fn == NNC_RESIZE_NEAREST_ADJOINT;
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape, *ys = &n->shape;
  int64_t outer = op_span(ys, 1, axis), inner = op_span(ys, axis + 1, ys->rank);
  /* the forward map takes `from` entries to `to` entries */
  int64_t from = adjoint ? ys->dims[axis] : xs->dims[axis];
  int64_t to = adjoint ? xs->dims[axis] : ys->dims[axis];
  float scale = (float)from / (float)to;
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  LLVMValueRef src_base = cg_imul(c, o.i, cg_i64(c, (adjoint ? to : from) * inner));
  LLVMValueRef dst_base = cg_imul(c, o.i, cg_i64(c, (adjoint ? from : to) * inner));
  if (adjoint) cg_zero_fill(c, out, dst_base, cg_i64(c, from * inner));
  cg_loop i;
  cg_loop_begin(c, &i, cg_i64(c, 0), cg_i64(c, to), "i");
  LLVMValueRef centre =
      LLVMBuildFAdd(c->b, LLVMBuildSIToFP(c->b, i.i, c->f32, ""), cg_f32(c, 0.5), "");
  LLVMValueRef src = LLVMBuildFMul(c->b, centre, cg_f32(c, scale), "");
  /* nearest: lo = hi = floor(src) and t = 0, so both paths below read one entry */
  if (!nearest) src = LLVMBuildFSub(c->b, src, cg_f32(c, 0.5), "");
  LLVMValueRef fl = call_f32(c, "llvm.floor.f32", src);
  LLVMValueRef lo = LLVMBuildFPToSI(c->b, fl, c->i64, "");
  LLVMValueRef hi =
      nearest ? lo : LLVMBuildFPToSI(c->b, call_f32(c, "llvm.ceil.f32", src), c->i64, "");
  lo = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, lo, cg_i64(c, 0), ""), cg_i64(c, 0),
                       lo, "");
  lo = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, lo, cg_i64(c, from - 1), ""),
                       cg_i64(c, from - 1), lo, "");
  hi = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, hi, cg_i64(c, from - 1), ""),
                       cg_i64(c, from - 1), hi, "");
  LLVMValueRef t = nearest ? cg_f32(c, 0.0) : LLVMBuildFSub(c->b, src, fl, "");
  LLVMValueRef lo_at = cg_imul(c, lo, cg_i64(c, inner)), hi_at = cg_imul(c, hi, cg_i64(c, inner));
  LLVMValueRef i_at = cg_imul(c, i.i, cg_i64(c, inner));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, inner), "j");
  if (!adjoint) {
    LLVMValueRef a = cg_load(c, x, cg_iadd(c, src_base, cg_iadd(c, lo_at, j.i)));
    LLVMValueRef z = cg_load(c, x, cg_iadd(c, src_base, cg_iadd(c, hi_at, j.i)));
    LLVMValueRef v =
        LLVMBuildFAdd(c->b, a, LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, z, a, ""), t, ""), "");
    cg_store(c, v, out, cg_iadd(c, dst_base, cg_iadd(c, i_at, j.i)));
  } else {
    LLVMValueRef g = cg_load(c, x, cg_iadd(c, src_base, cg_iadd(c, i_at, j.i)));
    LLVMValueRef w0 = LLVMBuildFSub(c->b, cg_f32(c, 1.0), t, "");
    LLVMValueRef at_lo = cg_iadd(c, dst_base, cg_iadd(c, lo_at, j.i));
    cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, at_lo), LLVMBuildFMul(c->b, g, w0, ""), ""),
             out, at_lo);
    LLVMValueRef at_hi = cg_iadd(c, dst_base, cg_iadd(c, hi_at, j.i));
    cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, at_hi), LLVMBuildFMul(c->b, g, t, ""), ""), out,
             at_hi);
  }
  cg_loop_end(c, &j);
  cg_loop_end(c, &i);
  cg_loop_end(c, &o);
  return NNC_OK;
}

const nnc_op_def op_resize = {.name = "resize",
                              .arity = 1,
                              .cls = NNC_CLASS_ROW,
                              .shape = resize_shape,
                              .grad = resize_grad,
                              .emit_anchor = resize_emit,
                              .anchor_units = op_leading_units};
