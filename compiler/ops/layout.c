/* Helpers shared by the shape ops (concat, slice, pad, permute, repeat_axis,
 * reduce_axis): axis checks, their thread units and a copy loop. A shape op
 * sees its operand as [outer, axis, inner] and works on whole rows of the
 * batch (or entries of axis 0), so threads split it like a row op. */
#include <stdio.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

int64_t op_span(const nnc_shape *s, int from, int to) {
  int64_t p = 1;
  for (int k = from; k < to; k++) p *= s->dims[k];
  return p;
}

int op_check_axis(const nnc_graph *g, const nnc_node *n, int64_t axis, int limit, nnc_status *st) {
  if (axis < 1 || axis >= limit) {
    char what[96];
    snprintf(what, sizeof what, "axis %lld out of range [1, %d)", (long long)axis, limit);
    return op_shape_error(g, n, st, what);
  }
  return NNC_OK;
}

void op_leading_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  const nnc_shape *s = &n->shape;
  if (s->batched) {
    *units = c->rows;
    *per_unit = shape_inner(s);
  } else {
    *units = cg_i64(c, s->dims[0]);
    *per_unit = shape_inner(s) / s->dims[0];
  }
}

void op_copy(cg *c, LLVMValueRef src, LLVMValueRef src_at, LLVMValueRef dst, LLVMValueRef dst_at,
             LLVMValueRef count) {
  cg_loop l;
  cg_loop_begin(c, &l, cg_i64(c, 0), count, "copy");
  cg_store(c, cg_load(c, src, cg_iadd(c, src_at, l.i)), dst, cg_iadd(c, dst_at, l.i));
  cg_loop_end(c, &l);
}
