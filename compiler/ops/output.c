/* OUTPUT: write in[0] into the prediction output params.index. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int output_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)v;
  cg_store(c, cg_operand(c, n, 0, i), cg_buffer(c, id), i);
  return NNC_OK;
}

const nnc_op_def op_output = {.name = "output",
                              .arity = 1,
                              .cls = NNC_CLASS_EFFECT,
                              .shape = op_same_shape,
                              .no_grad = 1,
                              .emit_element = output_emit};
