/* UNIFORM_NOISE: a uniform sample in [0, 1) per element, shaped like in[0],
 * drawn from the stream `key` with the dropout masks' counter-based
 * generator (the augmentation layers' per-sample draws). Train phase only;
 * no gradient. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int uniform_noise_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  *v = cg_uniform01(c, n->key, i);
  return NNC_OK;
}

const nnc_op_def op_uniform_noise = {.name = "uniform_noise",
                                     .arity = 1,
                                     .cls = NNC_CLASS_ELEMENTWISE,
                                     .shape = op_same_shape,
                                     .no_grad = 1,
                                     .emit_element = uniform_noise_emit};
