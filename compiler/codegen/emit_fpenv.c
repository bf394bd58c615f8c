/* The floating-point environment of a step: every driver (nnc_<graph>_step)
 * loads one fixed MXCSR on entry (round to nearest, every exception masked,
 * flush-to-zero and denormals-are-zero) and puts the caller's MXCSR back on
 * return. Each thread of the pool runs the driver, so every kernel of a step
 * runs in the same mode on any thread count, whatever mode the caller or
 * the pool's workers (which keep the mode of the thread that created them)
 * were in: before, only FTZ and DAZ were or-ed in, so a caller rounding
 * upward after set_threads trained with upward rounding on its own rows and
 * to nearest on the workers' (results changed with the thread count), and a
 * caller that unmasked FE_INVALID died of SIGFPE on relu(NaN) or inf * 0
 * (breaker, session 11: tests/unit/test_brk11.c).
 *
 * Why: subnormal operands and results cost a microcode assist each (about
 * a hundred cycles). RMSprop's velocity of a weight whose gradient became 0
 * decays by 0.9 per step through the whole subnormal range, and the update
 * loop then ran at a few cycles per element instead of a fraction
 * (docs/performance.md, "Session 10: W3"). Keras's TensorFlow and JAX
 * backends run their CPU kernels with both bits set; nnc now matches them
 * (docs/semantics.md, "Floating point"). */
#include "compiler/codegen/cg.h"

#if defined(__x86_64__) || defined(__i386__)
#define FPENV_X86 1
#else
#define FPENV_X86 0
#endif

/* masks: invalid, denormal, divide-by-zero, overflow, underflow, precision;
 * rounding control (bits 13-14) 0: to nearest */
enum { MXCSR_DAZ = 0x0040, MXCSR_MASK_ALL = 0x1f80, MXCSR_FTZ = 0x8000 };

static void mxcsr_call(cg *c, LLVMBuilderRef b, const char *name, LLVMValueRef slot) {
  LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(c->ctx), 0);
  LLVMTypeRef type = LLVMFunctionType(c->void_t, &i8p, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (!fn) fn = LLVMAddFunction(c->mod, name, type);
  LLVMValueRef arg = LLVMBuildBitCast(b, slot, i8p, "");
  LLVMBuildCall2(b, type, fn, &arg, 1, "");
}

LLVMValueRef cg_fpenv_enter(cg *c, LLVMBuilderRef b) {
  if (!FPENV_X86) return NULL;
  LLVMTypeRef i32 = LLVMInt32TypeInContext(c->ctx);
  LLVMValueRef saved = LLVMBuildAlloca(b, i32, "mxcsr_saved");
  LLVMValueRef flushed = LLVMBuildAlloca(b, i32, "mxcsr_flush");
  mxcsr_call(c, b, "llvm.x86.sse.stmxcsr", saved);
  /* a constant, not the caller's bits or-ed: the caller's rounding mode and
   * unmasked exceptions must not reach the kernels */
  LLVMBuildStore(b, LLVMConstInt(i32, MXCSR_MASK_ALL | MXCSR_DAZ | MXCSR_FTZ, 0), flushed);
  mxcsr_call(c, b, "llvm.x86.sse.ldmxcsr", flushed);
  return saved;
}

void cg_fpenv_leave(cg *c, LLVMBuilderRef b, LLVMValueRef saved) {
  if (saved) mxcsr_call(c, b, "llvm.x86.sse.ldmxcsr", saved);
}
