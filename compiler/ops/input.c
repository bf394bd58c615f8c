/* INPUT: a batch of model input k (params.index = k) or target j (n_inputs + j); shape set by the
 * builder. */
#include "compiler/ops/op.h"

const nnc_op_def op_input = {"input", 0, NNC_CLASS_SOURCE, NULL, NULL, NULL, 0};
