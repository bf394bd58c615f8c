/* The op table: op_def(op) for every row of ops.def. */
#include "compiler/ops/op.h"

#define OP(id, file) extern const nnc_op_def op_##file;
#include "compiler/ops/ops.def"
#undef OP

static const nnc_op_def *const table[] = {
#define OP(id, file) &op_##file,
#include "compiler/ops/ops.def"
#undef OP
};
_Static_assert(sizeof table / sizeof table[0] == NNC_OP_COUNT, "ops.def and the op table");

const nnc_op_def *op_def(nnc_op op) {
  return table[op];
}

const char *op_name(nnc_op op) {
  return table[op]->name;
}
nnc_op_class op_class(nnc_op op) {
  return table[op]->cls;
}
int op_arity(nnc_op op) {
  return table[op]->arity;
}
