/* Scalar math in LLVM IR: every unary.def function, the binary functions,
 * the dropout generator, and the small helpers the emitters share. */
#include <math.h>
#include <string.h>

#include "compiler/codegen/cg.h"

LLVMValueRef cg_f32(cg *c, double v) {
  return LLVMConstReal(c->f32, (double)(float)v);
}
LLVMValueRef cg_i64(cg *c, int64_t v) {
  return LLVMConstInt(c->i64, (unsigned long long)v, 1);
}

LLVMValueRef cg_load(cg *c, LLVMValueRef base, LLVMValueRef index) {
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
  LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, p, "");
  LLVMSetAlignment(v, 4);
  return v;
}

void cg_store(cg *c, LLVMValueRef value, LLVMValueRef base, LLVMValueRef index) {
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
  LLVMSetAlignment(LLVMBuildStore(c->b, value, p), 4);
}

/* float f(float...) from libm or an llvm.* intrinsic, declared on first use. */
LLVMValueRef cg_call(cg *c, const char *name, LLVMValueRef *args, int n) {
  LLVMTypeRef params[2] = {c->f32, c->f32};
  LLVMTypeRef type = LLVMFunctionType(c->f32, params, (unsigned)n, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (!fn) fn = LLVMAddFunction(c->mod, name, type);
  return LLVMBuildCall2(c->b, type, fn, args, (unsigned)n, "");
}

static LLVMValueRef call1(cg *c, const char *name, LLVMValueRef x) {
  return cg_call(c, name, &x, 1);
}

LLVMValueRef cg_select(cg *c, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, cond, a, b, "");
}

LLVMValueRef cg_bool(cg *c, LLVMValueRef cond) {
  return LLVMBuildUIToFP(c->b, cond, c->f32, "");
}

static LLVMValueRef gt(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(c->b, LLVMRealOGT, a, b, "");
}
static LLVMValueRef lt(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(c->b, LLVMRealOLT, a, b, "");
}
static LLVMValueRef is_nan(cg *c, LLVMValueRef x) {
  return LLVMBuildFCmp(c->b, LLVMRealUNO, x, x, "");
}
static LLVMValueRef add(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFAdd(c->b, a, b, "");
}
static LLVMValueRef sub(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFSub(c->b, a, b, "");
}
static LLVMValueRef mul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFMul(c->b, a, b, "");
}
static LLVMValueRef fdiv(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFDiv(c->b, a, b, "");
}

/* ---- exp, tanh and sigmoid as plain IR, for float and <N x float> alike ----
 * No libm call, so the loops around them vectorize, and a lane of a vector
 * computes exactly what the scalar code computes (the same operations, fused
 * multiply-adds as llvm.fma): results do not depend on the vector width.
 * tests/unit/test_vec_math.c measures them against float64 over a dense sweep
 * of float inputs (docs/performance.md gives the maximum errors). */

/* x in every lane of t when t is a vector type (insertelement + shufflevector,
 * which the builder folds to a constant when x is one), else x */
static LLVMValueRef splat_like(cg *c, LLVMTypeRef t, LLVMValueRef x) {
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return x;
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), LLVMGetVectorSize(t));
  LLVMValueRef one = LLVMBuildInsertElement(c->b, LLVMGetUndef(vt), x, cg_i64(c, 0), "");
  LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(c->i32, LLVMGetVectorSize(t)));
  return LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(vt), zeros, "");
}

/* v as a constant of type t (float, or a vector of floats: every lane v) */
LLVMValueRef cg_const_like(cg *c, LLVMTypeRef t, double v) {
  return splat_like(c, t, cg_f32(c, v));
}

/* the integer type with t's shape (i32 or <N x i32>) */
static LLVMTypeRef int_like(cg *c, LLVMTypeRef t) {
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMVectorType(c->i32, LLVMGetVectorSize(t))
                                                  : c->i32;
}

static LLVMValueRef int_const_like(cg *c, LLVMTypeRef t, int v) {
  return splat_like(c, t, LLVMConstInt(c->i32, (unsigned long long)(int64_t)v, 1));
}

/* llvm.<name>.f32 or llvm.<name>.v<N>f32 (f64 for doubles) with n operands
 * of x's type */
static LLVMValueRef intrinsic(cg *c, const char *name, LLVMValueRef *args, int n) {
  LLVMTypeRef t = LLVMTypeOf(args[0]);
  int vector = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
  LLVMTypeRef elem = vector ? LLVMGetElementType(t) : t;
  int bits = LLVMGetTypeKind(elem) == LLVMDoubleTypeKind ? 64 : 32;
  char full[48];
  if (vector)
    snprintf(full, sizeof full, "llvm.%s.v%uf%d", name, LLVMGetVectorSize(t), bits);
  else
    snprintf(full, sizeof full, "llvm.%s.f%d", name, bits);
  LLVMTypeRef params[3] = {t, t, t};
  LLVMTypeRef type = LLVMFunctionType(t, params, (unsigned)n, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, full);
  if (!fn) fn = LLVMAddFunction(c->mod, full, type);
  return LLVMBuildCall2(c->b, type, fn, args, (unsigned)n, "");
}

LLVMValueRef cg_fma(cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d) {
  LLVMValueRef args[3] = {a, b, d};
  return intrinsic(c, "fma", args, 3);
}

static LLVMValueRef intrinsic1(cg *c, const char *name, LLVMValueRef x) {
  return intrinsic(c, name, &x, 1);
}

static LLVMValueRef intrinsic2(cg *c, const char *name, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef args[2] = {a, b};
  return intrinsic(c, name, args, 2);
}

/* 2^k for integer k in [-126, 127], built from the exponent bits */
static LLVMValueRef pow2i(cg *c, LLVMTypeRef t, LLVMValueRef k) {
  LLVMValueRef e = LLVMBuildAdd(c->b, k, int_const_like(c, t, 127), "");
  return LLVMBuildBitCast(c->b, LLVMBuildShl(c->b, e, int_const_like(c, t, 23), ""), t, "");
}

/* exp(x) = 2^n exp(r), n = rint(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
 * (ln 2 in two parts, fused multiply-adds), exp(r) by its Taylor polynomial
 * of degree 7 (truncation below 1e-8 relative), 2^n applied as two powers of
 * two so results that are subnormal round once. x is first clamped to
 * [-104, 88.8]: beyond, the result is 0 or overflows to +inf, as expf's;
 * NaN gives NaN. */
LLVMValueRef cg_exp(cg *c, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef xc = intrinsic2(c, "maxnum", intrinsic2(c, "minnum", x, cg_const_like(c, t, 88.8)),
                               cg_const_like(c, t, -104.0));
  LLVMValueRef n = intrinsic1(c, "rint", mul(c, xc, cg_const_like(c, t, 1.4426950408889634)));
  LLVMValueRef r = cg_fma(c, n, cg_const_like(c, t, -0.693145751953125), xc);
  r = cg_fma(c, n, cg_const_like(c, t, -1.428606765330187e-06), r);
  static const double taylor[8] = {1.0,      1.0,       1.0 / 2,   1.0 / 6,
                                   1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040};
  LLVMValueRef p = cg_const_like(c, t, taylor[7]);
  for (int k = 6; k >= 0; k--) p = cg_fma(c, p, r, cg_const_like(c, t, taylor[k]));
  LLVMValueRef ni = LLVMBuildFPToSI(c->b, n, int_like(c, t), "");
  LLVMValueRef n1 = LLVMBuildAShr(c->b, ni, int_const_like(c, t, 1), "");
  LLVMValueRef n2 = LLVMBuildSub(c->b, ni, n1, "");
  LLVMValueRef y = mul(c, mul(c, p, pow2i(c, t, n1)), pow2i(c, t, n2));
  return cg_select(c, is_nan(c, x), x, y);
}

/* tanh(x) = sign(x) tanh(|x|): below |x| = 0.625 the odd polynomial
 * |x| + |x|^3 P(x^2) (P fitted here to tanh's relative error, 0.07 ulp),
 * above 1 - 2 / (exp(2|x|) + 1), which is 1 once exp overflows. NaN gives
 * NaN, tanh(-0) = -0. */
LLVMValueRef cg_tanh(cg *c, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef a = intrinsic1(c, "fabs", x), one = cg_const_like(c, t, 1.0);
  LLVMValueRef s = mul(c, a, a);
  static const double poly[5] = {-0.3333328068256378, 0.13331441581249237, -0.05373971164226532,
                                 0.020639071241021156, -0.005704967770725489};
  LLVMValueRef p = cg_const_like(c, t, poly[4]);
  for (int k = 3; k >= 0; k--) p = cg_fma(c, p, s, cg_const_like(c, t, poly[k]));
  LLVMValueRef small = cg_fma(c, mul(c, a, s), p, a);
  LLVMValueRef e = cg_exp(c, add(c, a, a));
  LLVMValueRef large = sub(c, one, fdiv(c, cg_const_like(c, t, 2.0), add(c, e, one)));
  LLVMValueRef y = cg_select(c, lt(c, a, cg_const_like(c, t, 0.625)), small, large);
  return intrinsic2(c, "copysign", y, x);
}

/* 1 / (1 + e) for x >= 0, e / (1 + e) below, e = exp(-|x|): exp never
 * overflows, so sigmoid keeps its subnormal values down to x = -103 */
LLVMValueRef cg_sigmoid(cg *c, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef one = cg_const_like(c, t, 1.0);
  LLVMValueRef e = cg_exp(c, LLVMBuildFNeg(c->b, intrinsic1(c, "fabs", x), ""));
  LLVMValueRef num = cg_select(c, lt(c, x, cg_const_like(c, t, 0.0)), e, one);
  return fdiv(c, num, add(c, one, e));
}

/* log1p(x): 1 + x = 2^k (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)) taken
 * from the bits of u = 1 + x; c = the rounding error of u, divided by u;
 * log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.172, by its series
 * 2s + 2s z (1/3 + z/5 + z^2/7 + z^3/9), z = s^2 (truncation below 1e-9
 * relative), written as f - s (f - 2 z Q) so that f's bits go in exactly.
 * Where u needs no scaling (k = 0), f = x exactly and c = 0, so tiny x
 * give x. -1 gives -inf, below -1 and NaN give NaN, +inf gives +inf. */
LLVMValueRef cg_log1p(cg *c, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x), it = int_like(c, t);
  LLVMValueRef one = cg_const_like(c, t, 1.0), u = add(c, x, one);
  LLVMValueRef iu = LLVMBuildAdd(c->b, LLVMBuildBitCast(c->b, u, it, ""),
                                 int_const_like(c, t, 0x3f800000 - 0x3f3504f3), "");
  LLVMValueRef k = LLVMBuildSub(c->b, LLVMBuildAShr(c->b, iu, int_const_like(c, t, 23), ""),
                                int_const_like(c, t, 127), "");
  LLVMValueRef mbits =
      LLVMBuildAdd(c->b, LLVMBuildAnd(c->b, iu, int_const_like(c, t, 0x007fffff), ""),
                   int_const_like(c, t, 0x3f3504f3), "");
  LLVMValueRef k0 = LLVMBuildICmp(c->b, LLVMIntEQ, k, int_const_like(c, t, 0), "");
  LLVMValueRef f = cg_select(c, k0, x, sub(c, LLVMBuildBitCast(c->b, mbits, t, ""), one));
  LLVMValueRef err = cg_select(c, LLVMBuildICmp(c->b, LLVMIntSGE, k, int_const_like(c, t, 2), ""),
                               sub(c, one, sub(c, u, x)), sub(c, x, sub(c, u, one)));
  LLVMValueRef no_err =
      LLVMBuildOr(c->b, k0, LLVMBuildICmp(c->b, LLVMIntSGE, k, int_const_like(c, t, 25), ""), "");
  LLVMValueRef corr = cg_select(c, no_err, cg_const_like(c, t, 0.0), fdiv(c, err, u));
  LLVMValueRef s = fdiv(c, f, add(c, cg_const_like(c, t, 2.0), f)), z = mul(c, s, s);
  LLVMValueRef q = cg_const_like(c, t, 1.0 / 9);
  q = cg_fma(c, q, z, cg_const_like(c, t, 1.0 / 7));
  q = cg_fma(c, q, z, cg_const_like(c, t, 1.0 / 5));
  q = cg_fma(c, q, z, cg_const_like(c, t, 1.0 / 3));
  LLVMValueRef r = mul(c, s, cg_fma(c, mul(c, cg_const_like(c, t, -2.0), z), q, f));
  LLVMValueRef fk = LLVMBuildSIToFP(c->b, k, t, "");
  LLVMValueRef low = cg_fma(c, fk, cg_const_like(c, t, 1.428606765330187e-06), corr);
  LLVMValueRef inner = sub(c, f, sub(c, r, low));
  LLVMValueRef y =
      cg_select(c, k0, inner, cg_fma(c, fk, cg_const_like(c, t, 0.693145751953125), inner));
  LLVMValueRef inf = cg_const_like(c, t, INFINITY);
  y = cg_select(c, LLVMBuildFCmp(c->b, LLVMRealOEQ, x, inf, ""), inf, y);
  y = cg_select(c, LLVMBuildFCmp(c->b, LLVMRealOEQ, x, cg_const_like(c, t, -1.0), ""),
                cg_const_like(c, t, -INFINITY), y);
  return cg_select(c, LLVMBuildFCmp(c->b, LLVMRealUGE, x, cg_const_like(c, t, -1.0), ""), y,
                   cg_const_like(c, t, NAN));
}

/* log1p(exp(-|x|)), the smooth part of softplus and of the logits form of
 * binary cross-entropy, in plain IR so that the loss loop vectorizes */
LLVMValueRef cg_log1p_exp_neg_abs(cg *c, LLVMValueRef x) {
  return cg_log1p(c, cg_exp(c, LLVMBuildFNeg(c->b, intrinsic1(c, "fabs", x), "")));
}

static LLVMValueRef sigmoid(cg *c, LLVMValueRef x) {
  return cg_sigmoid(c, x);
}

/* NaN propagates through every max, min and clamp, as in TensorFlow
 * (Eigen::PropagateNaN), PyTorch and JAX; llvm.maxnum/minnum would return the
 * other operand. relu: "x > 0 or unordered" keeps one compare and one select. */
static LLVMValueRef relu(cg *c, LLVMValueRef x) {
  LLVMValueRef zero = cg_f32(c, 0.0);
  return cg_select(c, LLVMBuildFCmp(c->b, LLVMRealUGT, x, zero, ""), x, zero);
}

/* Ordered compares are false for NaN, so a NaN x passes through both selects. */
static LLVMValueRef clamp(cg *c, LLVMValueRef x, double lo, double hi) {
  LLVMValueRef l = cg_f32(c, lo), h = cg_f32(c, hi);
  x = cg_select(c, lt(c, x, l), l, x);
  return cg_select(c, gt(c, x, h), h, x);
}

/* max(a, b) and min(a, b): NaN if either operand is NaN. */
static LLVMValueRef max_nan(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return cg_select(c, LLVMBuildOr(c->b, gt(c, a, b), is_nan(c, a), ""), a, b);
}
static LLVMValueRef min_nan(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return cg_select(c, LLVMBuildOr(c->b, lt(c, a, b), is_nan(c, a), ""), a, b);
}

/* log1p(exp(-|x|)) + max(x, 0): no overflow */
static LLVMValueRef softplus(cg *c, LLVMValueRef x) {
  return add(c,
             call1(c, "log1pf",
                   call1(c, "llvm.exp.f32", LLVMBuildFNeg(c->b, call1(c, "llvm.fabs.f32", x), ""))),
             relu(c, x));
}

/* Keras 3 (TF backend): relu6(x + 3) / 6 */
static LLVMValueRef hard_sigmoid(cg *c, LLVMValueRef x) {
  return fdiv(c, clamp(c, add(c, x, cg_f32(c, 3.0)), 0.0, 6.0), cg_f32(c, 6.0));
}

#define SQRT1_2 0.70710678118654752440
#define SELU_ALPHA 1.6732632423543772
#define SELU_SCALE 1.0507009873554805

/* scale * alpha * expm1(x): the negative branch of selu, as the forward computes it */
static LLVMValueRef selu_negative(cg *c, LLVMValueRef x) {
  return mul(c, cg_f32(c, SELU_SCALE), mul(c, cg_f32(c, SELU_ALPHA), call1(c, "expm1f", x)));
}

/* Derivatives at break points and at NaN follow TensorFlow's gradient
 * kernels (relu_op_functor.h, clip_ops.py), see docs/semantics.md:
 *   relu'(0) = 0, relu'(NaN) = 0          ReluGrad: g * (x > 0)
 *   leaky_relu'(0) = alpha, (NaN) = alpha LeakyReluGrad: x > 0 ? g : g * alpha
 *   elu'(0) = 1, elu'(NaN) = 1            EluGrad: out < 0 ? (out + 1) g : g
 *   selu'(0) = scale, selu'(NaN) = scale  SeluGrad: out < 0 ? (out + scale alpha) g : scale g
 *   hard_sigmoid = relu6(x + 3) / 6 (Keras 3): mask 0 at x + 3 in {0, 6} and NaN
 *   clip'(lo) = clip'(hi) = clip'(NaN) = 1 (clip_by_value's gradient: x < lo or x > hi) */
LLVMValueRef cg_unary(cg *c, nnc_fn fn, LLVMValueRef x, const nnc_params *p) {
  LLVMValueRef zero = cg_f32(c, 0.0), one = cg_f32(c, 1.0);
  LLVMValueRef positive = gt(c, x, zero), negative = lt(c, x, zero);
  switch (fn) {
  case NNC_FN_NEG:
    return LLVMBuildFNeg(c->b, x, "");
  case NNC_FN_EXP:
    return call1(c, "llvm.exp.f32", x);
  case NNC_FN_LOG:
    return call1(c, "llvm.log.f32", x);
  case NNC_FN_SQRT:
    return call1(c, "llvm.sqrt.f32", x);
  case NNC_FN_ABS:
    return call1(c, "llvm.fabs.f32", x);
  case NNC_FN_CEIL:
    return call1(c, "llvm.ceil.f32", x);
  case NNC_FN_SQUARE:
    return mul(c, x, x);
  case NNC_FN_RECIP:
    return fdiv(c, one, x);
  case NNC_FN_RELU:
    return relu(c, x);
  case NNC_FN_SIGMOID:
    return sigmoid(c, x);
  case NNC_FN_TANH:
    return cg_tanh(c, x);
  case NNC_FN_ELU: /* NaN fails "x < 0" and passes through */
    return cg_select(c, negative, call1(c, "expm1f", x), x);
  case NNC_FN_SELU:
    return cg_select(c, negative, selu_negative(c, x), mul(c, cg_f32(c, SELU_SCALE), x));
  case NNC_FN_SOFTPLUS:
    return softplus(c, x);
  case NNC_FN_SOFTSIGN:
    return fdiv(c, x, add(c, one, call1(c, "llvm.fabs.f32", x)));
  case NNC_FN_SWISH:
    return mul(c, x, sigmoid(c, x));
  case NNC_FN_GELU:
    return mul(c, mul(c, cg_f32(c, 0.5), x),
               add(c, one, call1(c, "erff", mul(c, x, cg_f32(c, SQRT1_2)))));
  case NNC_FN_LEAKY_RELU:
    return cg_select(c, positive, x, mul(c, cg_f32(c, p->alpha), x));
  case NNC_FN_HARD_SIGMOID:
    return hard_sigmoid(c, x);
  case NNC_FN_CLIP:
    return clamp(c, x, p->clip.lo, p->clip.hi);
  case NNC_FN_FLOOR:
    return call1(c, "llvm.floor.f32", x);
  case NNC_FN_LOG1P:
    return call1(c, "log1pf", x);
  case NNC_FN_D_LOG1P: /* TF's Log1pGrad: 1 / (1 + x) */
    return fdiv(c, one, add(c, one, x));
  case NNC_FN_NEG_ONE:
    return cg_f32(c, -1.0);
  case NNC_FN_SIGN:
    return sub(c, cg_bool(c, positive), cg_bool(c, LLVMBuildFCmp(c->b, LLVMRealOLT, x, zero, "")));
  case NNC_FN_TWICE:
    return mul(c, cg_f32(c, 2.0), x);
  case NNC_FN_D_SQRT:
    return fdiv(c, cg_f32(c, 0.5), call1(c, "llvm.sqrt.f32", x));
  case NNC_FN_D_RECIP:
    return LLVMBuildFNeg(c->b, fdiv(c, one, mul(c, x, x)), "");
  case NNC_FN_STEP:
    return cg_bool(c, positive);
  case NNC_FN_D_SIGMOID: {
    LLVMValueRef s = sigmoid(c, x);
    return mul(c, s, sub(c, one, s));
  }
  case NNC_FN_D_TANH: {
    LLVMValueRef t = cg_tanh(c, x);
    return sub(c, one, mul(c, t, t));
  }
  case NNC_FN_D_ELU: /* elu(x) + 1 on the negative side, from the output as TF does */
    return cg_select(c, negative, add(c, call1(c, "expm1f", x), one), one);
  case NNC_FN_D_SELU:
    return cg_select(c, negative, add(c, selu_negative(c, x), cg_f32(c, SELU_SCALE * SELU_ALPHA)),
                     cg_f32(c, SELU_SCALE));
  case NNC_FN_D_SOFTSIGN: {
    LLVMValueRef d = add(c, one, call1(c, "llvm.fabs.f32", x));
    return fdiv(c, one, mul(c, d, d));
  }
  case NNC_FN_D_SWISH: {
    LLVMValueRef s = sigmoid(c, x);
    return add(c, s, mul(c, mul(c, x, s), sub(c, one, s)));
  }
  case NNC_FN_D_GELU: {
    LLVMValueRef cdf =
        mul(c, cg_f32(c, 0.5), add(c, one, call1(c, "erff", mul(c, x, cg_f32(c, SQRT1_2)))));
    LLVMValueRef pdf = mul(c, cg_f32(c, 0.3989422804014327),
                           call1(c, "llvm.exp.f32", mul(c, cg_f32(c, -0.5), mul(c, x, x))));
    return add(c, cdf, mul(c, x, pdf));
  }
  case NNC_FN_D_LEAKY_RELU:
    return cg_select(c, positive, one, cg_f32(c, p->alpha));
  case NNC_FN_D_HARD_SIGMOID: { /* Relu6Grad's mask on x + 3; autodiff divides by 6 */
    LLVMValueRef t = add(c, x, cg_f32(c, 3.0));
    return cg_bool(c, LLVMBuildAnd(c->b, gt(c, t, zero), lt(c, t, cg_f32(c, 6.0)), ""));
  }
  case NNC_FN_D_CLIP: {
    LLVMValueRef outside =
        LLVMBuildOr(c->b, lt(c, x, cg_f32(c, p->clip.lo)), gt(c, x, cg_f32(c, p->clip.hi)), "");
    return cg_select(c, outside, zero, one);
  }
  case NNC_FN_RELU6: /* tf.nn.relu6: NaN passes through both selects */
    return clamp(c, x, 0.0, 6.0);
  case NNC_FN_D_RELU6:
    return cg_bool(c, LLVMBuildAnd(c->b, positive, lt(c, x, cg_f32(c, 6.0)), ""));
  case NNC_FN_HARD_SILU: /* Keras 3 (TF backend): x * hard_sigmoid(x) */
    return mul(c, x, hard_sigmoid(c, x));
  case NNC_FN_D_HARD_SILU: { /* the product rule through Relu6Grad's mask on x + 3 */
    LLVMValueRef t = add(c, x, cg_f32(c, 3.0));
    LLVMValueRef mask =
        cg_bool(c, LLVMBuildAnd(c->b, gt(c, t, zero), lt(c, t, cg_f32(c, 6.0)), ""));
    return add(c, hard_sigmoid(c, x), fdiv(c, mul(c, x, mask), cg_f32(c, 6.0)));
  }
  case NNC_FN_MISH: /* x * tanh(softplus(x)) */
    return mul(c, x, call1(c, "tanhf", softplus(c, x)));
  case NNC_FN_D_MISH: { /* tanh(sp) + x * (1 - tanh(sp)^2) * sigmoid(x) */
    LLVMValueRef t = call1(c, "tanhf", softplus(c, x));
    return add(c, t, mul(c, mul(c, x, sub(c, one, mul(c, t, t))), sigmoid(c, x)));
  }
  case NNC_FN_COUNT:
  case NNC_FN_NONE:
    break;
  }
  return NULL;
}

LLVMValueRef cg_binary(cg *c, nnc_binary_fn fn, LLVMValueRef a, LLVMValueRef b) {
  switch (fn) {
  case NNC_BIN_ADD:
    return add(c, a, b);
  case NNC_BIN_SUB:
    return sub(c, a, b);
  case NNC_BIN_MUL:
    return mul(c, a, b);
  case NNC_BIN_DIV:
    return fdiv(c, a, b);
  case NNC_BIN_MAX:
    return max_nan(c, a, b);
  case NNC_BIN_MIN:
    return min_nan(c, a, b);
  case NNC_BIN_GT:
    return cg_bool(c, gt(c, a, b));
  case NNC_BIN_EQ:
    return cg_bool(c, LLVMBuildFCmp(c->b, LLVMRealOEQ, a, b, ""));
  case NNC_BIN_NE:
    return cg_bool(c, LLVMBuildFCmp(c->b, LLVMRealUNE, a, b, ""));
  case NNC_BIN_POW: {
    LLVMValueRef args[2] = {a, b};
    return cg_call(c, "llvm.pow.f32", args, 2);
  }
  case NNC_BIN_BCE_LOGITS: { /* max(z,0) - z*y + log1p(exp(-|z|)), as TF computes it */
    return add(c, sub(c, relu(c, a), mul(c, a, b)), cg_log1p_exp_neg_abs(c, a));
  }
  case NNC_BIN_GE:
    return cg_bool(c, LLVMBuildFCmp(c->b, LLVMRealOGE, a, b, ""));
  case NNC_BIN_COUNT:
    break;
  }
  return NULL;
}

static LLVMValueRef mix64(cg *c, LLVMValueRef z) {
  LLVMBuilderRef b = c->b;
  z = LLVMBuildXor(b, z, LLVMBuildLShr(b, z, cg_i64(c, 30), ""), "");
  z = LLVMBuildMul(b, z, LLVMConstInt(c->i64, 0xbf58476d1ce4e5b9ull, 0), "");
  z = LLVMBuildXor(b, z, LLVMBuildLShr(b, z, cg_i64(c, 27), ""), "");
  z = LLVMBuildMul(b, z, LLVMConstInt(c->i64, 0x94d049bb133111ebull, 0), "");
  return LLVMBuildXor(b, z, LLVMBuildLShr(b, z, cg_i64(c, 31), ""), "");
}

/* Mirrors nnc_uniform01(key, rng, index) of base/rng.h bit for bit. */
LLVMValueRef cg_dropout_mask(cg *c, uint64_t key, double rate, LLVMValueRef index) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef k = LLVMBuildXor(b, LLVMConstInt(c->i64, key, 0), mix64(c, c->rng), "");
  LLVMValueRef z = mix64(c, LLVMBuildAdd(b, mix64(c, k), index, ""));
  LLVMValueRef bits = LLVMBuildLShr(b, z, cg_i64(c, 40), "");
  LLVMValueRef u =
      LLVMBuildFMul(b, LLVMBuildUIToFP(b, bits, c->f32, ""), cg_f32(c, 1.0 / 16777216.0), "");
  LLVMValueRef keep = LLVMBuildFCmp(b, LLVMRealOGE, u, cg_f32(c, rate), "");
  return cg_select(c, keep, cg_f32(c, 1.0 / (1.0 - rate)), cg_f32(c, 0.0));
}

/* A standard normal sample for element `index` of the stream `key`: the
 * dropout generator's 64-bit hash split into two 24-bit uniforms, u1 in
 * (0, 1] and u2 in [0, 1), then Box-Muller sqrt(-2 ln u1) cos(2 pi u2). */
LLVMValueRef cg_normal_noise(cg *c, uint64_t key, LLVMValueRef index) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef k = LLVMBuildXor(b, LLVMConstInt(c->i64, key, 0), mix64(c, c->rng), "");
  LLVMValueRef z = mix64(c, LLVMBuildAdd(b, mix64(c, k), index, ""));
  LLVMValueRef hi = LLVMBuildLShr(b, z, cg_i64(c, 40), "");
  LLVMValueRef lo =
      LLVMBuildAnd(b, LLVMBuildLShr(b, z, cg_i64(c, 16), ""), cg_i64(c, 0xffffff), "");
  LLVMValueRef scale = cg_f32(c, 1.0 / 16777216.0);
  LLVMValueRef u1 =
      mul(c, LLVMBuildUIToFP(b, LLVMBuildAdd(b, hi, cg_i64(c, 1), ""), c->f32, ""), scale);
  LLVMValueRef u2 = mul(c, LLVMBuildUIToFP(b, lo, c->f32, ""), scale);
  LLVMValueRef r = call1(c, "llvm.sqrt.f32", mul(c, cg_f32(c, -2.0), call1(c, "llvm.log.f32", u1)));
  return mul(c, r, call1(c, "llvm.cos.f32", mul(c, cg_f32(c, 6.283185307179586), u2)));
}

/* nnc_uniform01(key, rng, index) of base/rng.h: the dropout generator's
 * 24-bit uniform in [0, 1) (the preprocessing layers' random draws). */
LLVMValueRef cg_uniform01(cg *c, uint64_t key, LLVMValueRef index) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef k = LLVMBuildXor(b, LLVMConstInt(c->i64, key, 0), mix64(c, c->rng), "");
  LLVMValueRef z = mix64(c, LLVMBuildAdd(b, mix64(c, k), index, ""));
  LLVMValueRef bits = LLVMBuildLShr(b, z, cg_i64(c, 40), "");
  return LLVMBuildFMul(b, LLVMBuildUIToFP(b, bits, c->f32, ""), cg_f32(c, 1.0 / 16777216.0), "");
}
