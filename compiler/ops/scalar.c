/* SCALAR: a runtime scalar of the step (params.index = NNC_SCALAR_*), shape []. */
#include "compiler/ops/op.h"

const nnc_op_def op_scalar = {.name = "scalar", .cls = NNC_CLASS_SOURCE};
