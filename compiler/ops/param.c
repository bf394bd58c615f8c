/* PARAM: a model variable (params.index = its index in the program); gradients start here. */
#include "compiler/ops/op.h"

const nnc_op_def op_param = {.name = "param", .cls = NNC_CLASS_SOURCE};
