/* DROPOUT_MASK: 0 or 1/(1-rate) per element, shaped like in[0], drawn from
 * the stream `key` (params.rate). Train phase only; no gradient. */
#include "compiler/ops/op.h"

const nnc_op_def op_dropout_mask = {"dropout_mask", 1, NNC_CLASS_ELEMENTWISE, op_same_shape, NULL,
                                    NULL,           1};
