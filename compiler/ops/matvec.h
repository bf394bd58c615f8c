/* Matrix products with one output column, vectorized across rows (matvec.c). */
#ifndef NNC_OPS_MATVEC_H
#define NNC_OPS_MATVEC_H

#include "compiler/codegen/cg.h"

/* out's rows [u0, u1) of m when m has one column (N = 1), float32
 * accumulation and constant strides: emits the product bit-identical to
 * cg_emit_gemm's and returns 1; otherwise emits nothing and returns 0. */
int cg_emit_matvec(cg *c, const cg_gemm *m, LLVMValueRef u0, LLVMValueRef u1);

#endif
