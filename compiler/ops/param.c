/* PARAM: a model variable (params.index = its index in the program); gradients start here. */
#include "compiler/ops/op.h"

const nnc_op_def op_param = {"param", 0, NNC_CLASS_SOURCE, NULL, NULL, NULL, 0};
