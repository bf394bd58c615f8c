/* REPEAT_AXIS: a new axis params.axis.axis (>= 1) holding params.axis.len
 * copies of in[0] (RepeatVector). Gradient: the sum over that axis. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int repeat_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  int64_t axis = n->params.axis.axis, copies = n->params.axis.len;
  if (op_check_axis(g, n, axis, x->rank + 1, st)) return st->code;
  if (x->rank >= NNC_MAX_RANK)
    return op_shape_error(g, n, st, "repeat_axis exceeds the rank limit");
  if (copies < 1) return op_shape_error(g, n, st, "repeat_axis needs at least one copy");
  n->shape = *x;
  n->shape.rank = x->rank + 1;
  for (int k = x->rank; k > axis; k--) n->shape.dims[k] = x->dims[k - 1];
  n->shape.dims[axis] = copies;
  return NNC_OK;
}

static int repeat_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  return grad_accumulate(c, n->in[0], graph_reduce_axis(c->g, dy, (int)n->params.axis.axis, c->st));
}

/* Per outer index o: `copies` copies of the operand's block of inner. */
static int repeat_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                       LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  int axis = (int)n->params.axis.axis;
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape;
  int64_t outer = op_span(xs, 1, axis), inner = op_span(xs, axis, xs->rank);
  int64_t copies = n->params.axis.len;
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  cg_loop k;
  cg_loop_begin(c, &k, cg_i64(c, 0), cg_i64(c, copies), "copy");
  LLVMValueRef at =
      cg_imul(c, cg_iadd(c, cg_imul(c, o.i, cg_i64(c, copies)), k.i), cg_i64(c, inner));
  op_copy(c, x, cg_imul(c, o.i, cg_i64(c, inner)), out, at, cg_i64(c, inner));
  cg_loop_end(c, &k);
  cg_loop_end(c, &o);
  return NNC_OK;
}

const nnc_op_def op_repeat_axis = {.name = "repeat_axis",
                                   .arity = 1,
                                   .cls = NNC_CLASS_ROW,
                                   .shape = repeat_shape,
                                   .grad = repeat_grad,
                                   .emit_anchor = repeat_emit,
                                   .anchor_units = op_leading_units};
