/* SLOT: an optimizer slot (params.index = its index in the program). */
#include "compiler/ops/op.h"

const nnc_op_def op_slot = {.name = "slot", .cls = NNC_CLASS_SOURCE};
