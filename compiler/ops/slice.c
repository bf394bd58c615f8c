/* SLICE: entries [start, start + len) of in[0] along params.axis.axis (>= 1).
 * Gradient: dy placed back at start in zeros (PAD). */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int slice_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  int64_t axis = n->params.axis.axis, start = n->params.axis.start, len = n->params.axis.len;
  if (op_check_axis(g, n, axis, x->rank, st)) return st->code;
  if (start < 0 || len < 1 || start > x->dims[axis] - len)
    return op_shape_error(g, n, st, "slice outside the axis");
  n->shape = *x;
  n->shape.dims[axis] = len;
  return NNC_OK;
}

static int slice_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int axis = (int)n->params.axis.axis;
  int64_t total = c->g->nodes[n->in[0]].shape.dims[axis];
  return grad_accumulate(c, n->in[0],
                         graph_pad(c->g, dy, axis, n->params.axis.start, total, c->st));
}

/* Per outer index o: the len x inner block starting at entry `start`. */
static int slice_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                      LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  int axis = (int)n->params.axis.axis;
  const nnc_shape *s = &n->shape;
  int64_t outer = op_span(s, 1, axis), inner = op_span(s, axis + 1, s->rank);
  int64_t from = c->g->nodes[n->in[0]].shape.dims[axis] * inner, block = n->params.axis.len * inner;
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  LLVMValueRef src =
      cg_iadd(c, cg_imul(c, o.i, cg_i64(c, from)), cg_i64(c, n->params.axis.start * inner));
  op_copy(c, x, src, out, cg_imul(c, o.i, cg_i64(c, block)), cg_i64(c, block));
  cg_loop_end(c, &o);
  return NNC_OK;
}

const nnc_op_def op_slice = {.name = "slice",
                             .arity = 1,
                             .cls = NNC_CLASS_ROW,
                             .shape = slice_shape,
                             .grad = slice_grad,
                             .emit_anchor = slice_emit,
                             .anchor_units = op_leading_units};
