/* SCALAR: a runtime scalar of the step (params.index = NNC_SCALAR_*), shape []. */
#include "compiler/ops/op.h"

const nnc_op_def op_scalar = {"scalar", 0, NNC_CLASS_SOURCE, NULL, NULL, NULL, 0};
