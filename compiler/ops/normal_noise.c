/* NORMAL_NOISE: a standard normal sample per element, shaped like in[0],
 * drawn from the stream `key` with the dropout masks' counter-based
 * generator (Box-Muller of two uniforms). Train phase only; no gradient. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int normal_noise_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  *v = cg_normal_noise(c, n->key, i);
  return NNC_OK;
}

const nnc_op_def op_normal_noise = {.name = "normal_noise",
                                    .arity = 1,
                                    .cls = NNC_CLASS_ELEMENTWISE,
                                    .shape = op_same_shape,
                                    .no_grad = 1,
                                    .emit_element = normal_noise_emit};
