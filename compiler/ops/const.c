/* CONST: a constant (params.value), shape []. */
#include "compiler/ops/op.h"

const nnc_op_def op_const = {"const", 0, NNC_CLASS_SOURCE, NULL, NULL, NULL, 0};
