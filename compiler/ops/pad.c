/* PAD: in[0] placed at entry params.axis.start of a zero tensor whose length
 * along params.axis.axis (>= 1) is params.axis.len (the gradient of a slice).
 * Gradient: the slice where in[0] was placed. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int pad_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  int64_t axis = n->params.axis.axis, start = n->params.axis.start, total = n->params.axis.len;
  if (op_check_axis(g, n, axis, x->rank, st)) return st->code;
  if (start < 0 || start > total - x->dims[axis])
    return op_shape_error(g, n, st, "pad places the operand outside the axis");
  n->shape = *x;
  n->shape.dims[axis] = total;
  return NNC_OK;
}

static int pad_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int axis = (int)n->params.axis.axis;
  int64_t len = c->g->nodes[n->in[0]].shape.dims[axis];
  return grad_accumulate(c, n->in[0],
                         graph_slice(c->g, dy, axis, n->params.axis.start, len, c->st));
}

/* Per outer index o: zeros, then the operand's block at entry `start`. */
static int pad_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                    LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  int axis = (int)n->params.axis.axis;
  const nnc_shape *s = &n->shape;
  int64_t outer = op_span(s, 1, axis), inner = op_span(s, axis + 1, s->rank);
  int64_t block = c->g->nodes[n->in[0]].shape.dims[axis] * inner, to = n->params.axis.len * inner;
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  LLVMValueRef at = cg_imul(c, o.i, cg_i64(c, to));
  cg_zero_fill(c, out, at, cg_i64(c, to));
  op_copy(c, x, cg_imul(c, o.i, cg_i64(c, block)), out,
          cg_iadd(c, at, cg_i64(c, n->params.axis.start * inner)), cg_i64(c, block));
  cg_loop_end(c, &o);
  return NNC_OK;
}

const nnc_op_def op_pad = {.name = "pad",
                           .arity = 1,
                           .cls = NNC_CLASS_ROW,
                           .shape = pad_shape,
                           .grad = pad_grad,
                           .emit_anchor = pad_emit,
                           .anchor_units = op_leading_units};
