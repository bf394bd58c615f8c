/* SLOT: an optimizer slot (params.index = its index in the program). */
#include "compiler/ops/op.h"

const nnc_op_def op_slot = {"slot", 0, NNC_CLASS_SOURCE, NULL, NULL, NULL, 0};
