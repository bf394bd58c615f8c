/* INPUT: a batch of model input k (params.index = k) or target j (n_inputs + j); shape set by the
 * builder. */
#include "compiler/ops/op.h"

const nnc_op_def op_input = {.name = "input", .cls = NNC_CLASS_SOURCE};
