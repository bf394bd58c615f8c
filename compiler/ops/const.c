/* CONST: a constant (params.value), shape []. */
#include "compiler/ops/op.h"

const nnc_op_def op_const = {.name = "const", .cls = NNC_CLASS_SOURCE};
