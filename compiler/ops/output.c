/* OUTPUT: write in[0] into the prediction output params.index. */
#include "compiler/ops/op.h"

const nnc_op_def op_output = {"output", 1, NNC_CLASS_EFFECT, op_same_shape, NULL, NULL, 1};
