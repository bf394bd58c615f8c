/* DROPOUT (params.rate, key): x * mask in training, x in inference;
 * pass_specialize replaces it before autodiff. */
#include "compiler/ops/op.h"

const nnc_op_def op_dropout = {"dropout", 1, NNC_CLASS_PHASED, op_same_shape, grad_lowered_first,
                               NULL,      0};
