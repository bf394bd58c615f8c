/* The plain-IR exp, tanh, sigmoid, log1p and log1p(exp(-|x|)) of
 * compiler/codegen/emit_math.c (cg_exp, cg_tanh, cg_sigmoid, cg_log1p,
 * cg_log1p_exp_neg_abs: the last is binary cross-entropy's), JIT-compiled alone as loops over
 * float, <4 x float>, <8 x float> and <16 x float>, run on a dense sweep of float inputs (every
 * 1021st bit pattern, both signs, NaN, infinities, subnormals included) and compared with float64
 * libm (exp, tanh, 1 / (1 + exp(-x))) rounded to float, log1p, log1p(exp(-|x|))) rounded to float:
 * the error in units in the last place of the float result stays within the bound asserted here;
 * NaN, infinities, overflow and underflow give what libm's expf / tanhf / log1pf give; and every
 * vector width gives the same bits as the scalar code. The maximum errors (also against libm's
 * float expf and tanhf) are printed. */
#include <check.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Target.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "testutil.h"

enum { FN_EXP, FN_TANH, FN_SIGMOID, FN_LOG1P, FN_LOG1PEXP, FN_COUNT };
static const char *math_name[FN_COUNT] = {"exp", "tanh", "sigmoid", "log1p", "log1p_exp_neg_abs"};
static const int widths[4] = {1, 4, 8, 16};

typedef void (*kernel)(const float *in, float *out, int64_t nvec);

/* void name(float *in, float *out, i64 nvec): out = f(in), `width` floats at a time */
static void emit_kernel(cg *c, int fn, int width, const char *name) {
  LLVMTypeRef params[3] = {c->ptr, c->ptr, c->i64};
  c->fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, params, 3, 0));
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, c->fn, "entry"));
  LLVMTypeRef t = width == 1 ? c->f32 : LLVMVectorType(c->f32, (unsigned)width);
  LLVMTypeRef tp = LLVMPointerType(t, 0);
  cg_loop l;
  cg_loop_begin(c, &l, cg_i64(c, 0), LLVMGetParam(c->fn, 2), "v");
  LLVMValueRef at = cg_imul(c, l.i, cg_i64(c, width));
  LLVMValueRef src = LLVMBuildGEP2(c->b, c->f32, LLVMGetParam(c->fn, 0), &at, 1, "");
  LLVMValueRef dst = LLVMBuildGEP2(c->b, c->f32, LLVMGetParam(c->fn, 1), &at, 1, "");
  LLVMValueRef x = LLVMBuildLoad2(c->b, t, LLVMBuildBitCast(c->b, src, tp, ""), "");
  LLVMSetAlignment(x, 4);
  LLVMValueRef y = fn == FN_EXP       ? cg_exp(c, x)
                   : fn == FN_TANH    ? cg_tanh(c, x)
                   : fn == FN_SIGMOID ? cg_sigmoid(c, x)
                   : fn == FN_LOG1P   ? cg_log1p(c, x)
                                      : cg_log1p_exp_neg_abs(c, x);
  LLVMSetAlignment(LLVMBuildStore(c->b, y, LLVMBuildBitCast(c->b, dst, tp, "")), 4);
  cg_loop_end(c, &l);
  LLVMBuildRetVoid(c->b);
}

static LLVMOrcLLJITRef jit;
static kernel kernels[FN_COUNT][4];

static void fail_on(LLVMErrorRef err) {
  if (!err) return;
  char *msg = LLVMGetErrorMessage(err);
  ck_abort_msg("LLVM: %s", msg);
}

static void build(void) {
  ck_assert(!LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter());
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  cg c;
  memset(&c, 0, sizeof c);
  c.ctx = LLVMOrcThreadSafeContextGetContext(tsc);
  c.mod = LLVMModuleCreateWithNameInContext("vec_math", c.ctx);
  c.b = LLVMCreateBuilderInContext(c.ctx);
  c.f32 = LLVMFloatTypeInContext(c.ctx);
  c.i64 = LLVMInt64TypeInContext(c.ctx);
  c.i32 = LLVMInt32TypeInContext(c.ctx);
  c.i1 = LLVMInt1TypeInContext(c.ctx);
  c.ptr = LLVMPointerType(c.f32, 0);
  c.void_t = LLVMVoidTypeInContext(c.ctx);
  c.vector_width = 16;
  char name[32];
  for (int f = 0; f < FN_COUNT; f++)
    for (int w = 0; w < 4; w++) {
      snprintf(name, sizeof name, "%s_%d", math_name[f], widths[w]);
      emit_kernel(&c, f, widths[w], name);
    }
  LLVMDisposeBuilder(c.b);
  fail_on(LLVMOrcCreateLLJIT(&jit, NULL));
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(c.mod, tsc);
  fail_on(LLVMOrcLLJITAddLLVMIRModule(jit, LLVMOrcLLJITGetMainJITDylib(jit), tsm));
  LLVMOrcDisposeThreadSafeContext(tsc);
  for (int f = 0; f < FN_COUNT; f++)
    for (int w = 0; w < 4; w++) {
      LLVMOrcJITTargetAddress addr = 0;
      snprintf(name, sizeof name, "%s_%d", math_name[f], widths[w]);
      fail_on(LLVMOrcLLJITLookup(jit, &addr, name));
      union {
        LLVMOrcJITTargetAddress a;
        kernel k;
      } u = {.a = addr};
      kernels[f][w] = u.k;
    }
}

static double reference(int fn, double x) {
  switch (fn) {
  case FN_EXP:
    return exp(x);
  case FN_TANH:
    return tanh(x);
  case FN_SIGMOID:
    return 1.0 / (1.0 + exp(-x));
  case FN_LOG1P:
    return log1p(x);
  default:
    return log1p(exp(-fabs(x)));
  }
}

/* libm's float function, for the printed comparison (sigmoid has none) */
static float libm_float(int fn, float x) {
  switch (fn) {
  case FN_EXP:
    return expf(x);
  case FN_TANH:
    return tanhf(x);
  case FN_LOG1P:
    return log1pf(x);
  default:
    return log1pf(expf(-fabsf(x)));
  }
}

/* |y - want| in units in the last place of want rounded to float */
static double ulps(float y, double want) {
  float wf = (float)want;
  if (isnan(wf) || isinf(wf)) return y == wf || (isnan(y) && isnan(wf)) ? 0 : INFINITY;
  if (isnan(y) || isinf(y)) return INFINITY;
  int e;
  frexp(wf, &e); /* |wf| in [2^(e-1), 2^e) */
  double ulp = ldexp(1.0, (e - 1 < -126 ? -126 : e - 1) - 23);
  return fabs((double)y - want) / ulp;
}

static float from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

/* the sweep: every 1021st bit pattern, then the special values */
static const float specials[] = {
    0.0f,        -0.0f,       INFINITY, -INFINITY,    NAN,         -NAN,        88.72f,
    88.73f,      89.0f,       -87.3f,   -103.9f,      -104.0f,     -105.f,      0.625f,
    -0.625f,     0.62499f,    1e-30f,   -1e-30f,      1e-45f,      9.01f,       -9.01f,
    20.0f,       1e-4f,       -1e-4f,   44.36f,       -44.36f,     3.4e38f,     -3.4e38f,
    0.34657f,    -0.34657f,   -1.0f,    -0.99999994f, -1.0000001f, -0.2928932f, -0.2928933f,
    0.41421354f, 0.41421357f, 1e-38f,   -1e-38f,      3e7f,        4e7f,        16.0f};

static int64_t sweep(float **in) {
  const int64_t patterns = ((int64_t)1 << 32) / 1021 + 1;
  const int64_t n_special = (int64_t)(sizeof specials / sizeof specials[0]);
  int64_t n = (patterns + n_special + 15) / 16 * 16;
  float *x = malloc(sizeof(float) * (size_t)n);
  for (int64_t k = 0; k < n; k++)
    x[k] = k < patterns               ? from_bits((uint32_t)(k * 1021))
           : k < patterns + n_special ? specials[k - patterns]
                                      : 1.0f;
  *in = x;
  return n;
}

/* the bound each function is held to, in ulps over the whole sweep */
static const double bound[FN_COUNT] = {1.5, 2.5, 2.5, 1.5, 2.5};

START_TEST(accurate_and_width_independent) {
  build();
  float *x;
  int64_t n = sweep(&x);
  float *y = malloc(sizeof(float) * (size_t)n), *yw = malloc(sizeof(float) * (size_t)n);
  for (int f = 0; f < FN_COUNT; f++) {
    kernels[f][0](x, y, n);
    double worst = 0, worst_libm = 0;
    float worst_at = 0;
    for (int64_t i = 0; i < n; i++) {
      double want = reference(f, (double)x[i]);
      double e = ulps(y[i], want);
      if (e > worst) worst = e, worst_at = x[i];
      if (f != FN_SIGMOID) { /* against libm's float function */
        float lf = libm_float(f, x[i]);
        double el = ulps(y[i], (double)lf);
        if (el > worst_libm) worst_libm = el;
      }
    }
    ck_assert_msg(worst <= bound[f], "%s(%a = %.9g): %.2f ulp from float64", math_name[f],
                  (double)worst_at, (double)worst_at, worst);
    printf("%s: max error %.3f ulp (at %.9g) against float64", math_name[f], worst,
           (double)worst_at);
    if (f != FN_SIGMOID) printf("; %.3f ulp against libm's float", worst_libm);
    printf("; %lld inputs\n", (long long)n);
    for (int w = 1; w < 4; w++) {
      memset(yw, 0, sizeof(float) * (size_t)n);
      kernels[f][w](x, yw, n / widths[w]);
      int64_t i = 0; /* loop without Check's per-assertion bookkeeping */
      while (i < n && !memcmp(&y[i], &yw[i], sizeof(float))) i++;
      ck_assert_msg(i == n, "%s at %a: width %d gives %a, the scalar code %a", math_name[f],
                    (double)x[i], widths[w], (double)yw[i], (double)y[i]);
    }
  }
  /* special values, as expf and tanhf give them */
  float s[8] = {NAN, INFINITY, -INFINITY, 89.0f, -110.0f, -0.0f, 0.0f, 1.0f}, r[8];
  kernels[FN_EXP][0](s, r, 8);
  ck_assert(isnan(r[0]) && r[1] == INFINITY && r[2] == 0 && r[3] == INFINITY && r[4] == 0 &&
            r[5] == 1 && r[6] == 1);
  kernels[FN_TANH][0](s, r, 8);
  ck_assert(isnan(r[0]) && r[1] == 1 && r[2] == -1 && r[3] == 1 && r[4] == -1);
  ck_assert(r[5] == 0 && signbit(r[5]) && r[6] == 0 && !signbit(r[6]));
  kernels[FN_SIGMOID][0](s, r, 8);
  ck_assert(isnan(r[0]) && r[1] == 1 && r[2] == 0 && r[3] == 1 && r[4] == 0 && r[5] == 0.5f);
  /* log1p: -1 -> -inf, below -1 -> NaN, +inf -> +inf, -0 -> -0, tiny x -> x */
  float l[8] = {NAN, INFINITY, -INFINITY, -1.0f, -1.5f, -0.0f, 1e-30f, 0x1p-149f};
  kernels[FN_LOG1P][0](l, r, 8);
  ck_assert(isnan(r[0]) && r[1] == INFINITY && isnan(r[2]) && r[3] == -INFINITY && isnan(r[4]));
  ck_assert(r[5] == 0 && signbit(r[5]) && r[6] == 1e-30f && r[7] == 0x1p-149f);
  /* log1p(exp(-|x|)): ln 2 at 0, 0 at +-inf (exp underflows), NaN stays NaN */
  kernels[FN_LOG1PEXP][0](s, r, 8);
  ck_assert(isnan(r[0]) && r[1] == 0 && r[2] == 0 && r[6] == (float)log(2.0) && r[5] == r[6]);
  free(x);
  free(y);
  free(yw);
  LLVMOrcDisposeLLJIT(jit);
}
END_TEST

int main(void) {
  Suite *s = suite_create("vec_math");
  TCase *tc = tcase_create("vec_math");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, accurate_and_width_independent);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
