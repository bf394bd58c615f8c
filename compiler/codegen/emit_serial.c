/* Small elementwise kernels of a fixed size (an optimizer update of a bias
 * or a small weight matrix: no batch dimension) run whole on thread 0, with
 * constant loop bounds (docs/performance.md, "Session 16: cold compile").
 *
 * Why: the driver already runs such a group on thread 0 alone with
 * (tid, nthreads) = (0, 1) (emit_driver.c, SERIAL_WORK), but the kernel
 * computed its share from those arguments at run time, so its loop had an
 * unknown trip count and the loop vectorizer added a minimum-iterations
 * check and a scalar remainder loop that code generation then compiled.
 * With the bounds constant (0 and the element count) the vector loop needs
 * no check and, for a multiple of the vector length, no remainder. A kernel
 * called with tid != 0 returns at once, so it is right whatever the driver
 * decides; each element is computed by the same operations in the same
 * order, so results are the same bits. NNC_SERIAL_KERNELS=0 restores the
 * run-time share (a code switch of the cache key; test_cold16 compares). */
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"

/* The driver's SERIAL_WORK (emit_driver.c): at or above it a group may
 * split, and a kernel here would run on thread 0 only (right, but slower) */
#define SERIAL_ELEMENTS 32768

static int serial_kernels_on(void) {
  const char *e = getenv("NNC_SERIAL_KERNELS");
  return !(e && !strcmp(e, "0"));
}

int cg_serial_kernel(const cg *c, const nnc_shape *space) {
  (void)c;
  return serial_kernels_on() && !space->batched && shape_inner(space) < SERIAL_ELEMENTS;
}

void cg_serial_share(cg *c, LLVMValueRef units, LLVMValueRef *u0, LLVMValueRef *u1) {
  LLVMBasicBlockRef rest = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "serial");
  LLVMBasicBlockRef other = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "not_thread0");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, c->tid, cg_i64(c, 0), ""), rest, other);
  LLVMPositionBuilderAtEnd(c->b, other);
  LLVMBuildRetVoid(c->b);
  LLVMPositionBuilderAtEnd(c->b, rest);
  *u0 = cg_i64(c, 0);
  *u1 = units;
}
