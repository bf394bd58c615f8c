/* DROPOUT_MASK: 0 or 1/(1-rate) per element, shaped like in[0], drawn from
 * the stream `key` (params.rate). Train phase only; no gradient. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int dropout_mask_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  *v = cg_dropout_mask(c, n->key, n->params.rate, i);
  return NNC_OK;
}

const nnc_op_def op_dropout_mask = {.name = "dropout_mask",
                                    .arity = 1,
                                    .cls = NNC_CLASS_ELEMENTWISE,
                                    .shape = op_same_shape,
                                    .no_grad = 1,
                                    .emit_element = dropout_mask_emit};
