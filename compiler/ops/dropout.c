/* DROPOUT (params.rate, key): x * mask in training, x in inference;
 * pass_specialize replaces it before autodiff. */
#include "compiler/ops/op.h"

const nnc_op_def op_dropout = {.name = "dropout",
                               .arity = 1,
                               .cls = NNC_CLASS_PHASED,
                               .shape = op_same_shape,
                               .grad = grad_lowered_first};
