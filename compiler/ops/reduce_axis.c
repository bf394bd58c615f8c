/* REDUCE_AXIS: the sum over axis params.axis.axis (>= 1), which is removed.
 * Each output element sums its entries in index order (deterministic).
 * Gradient: dy repeated along the removed axis. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int reduce_axis_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  int64_t axis = n->params.axis.axis;
  if (op_check_axis(g, n, axis, x->rank, st)) return st->code;
  n->shape = *x;
  n->shape.rank = x->rank - 1;
  for (int k = (int)axis; k < n->shape.rank; k++) n->shape.dims[k] = x->dims[k + 1];
  n->shape.dims[x->rank - 1] = 0;
  return NNC_OK;
}

static int reduce_axis_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int axis = (int)n->params.axis.axis;
  int64_t len = c->g->nodes[n->in[0]].shape.dims[axis];
  return grad_accumulate(c, n->in[0], graph_repeat_axis(c->g, dy, axis, len, c->st));
}

/* Per outer index o: out[o, :] = sum over t of x[o, t, :], t ascending. */
static int reduce_axis_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b,
                            LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  int axis = (int)n->params.axis.axis;
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape;
  int64_t outer = op_span(xs, 1, axis), len = xs->dims[axis];
  int64_t inner = op_span(xs, axis + 1, xs->rank);
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  LLVMValueRef at = cg_imul(c, o.i, cg_i64(c, inner));
  cg_zero_fill(c, out, at, cg_i64(c, inner));
  cg_loop t;
  cg_loop_begin(c, &t, cg_i64(c, 0), cg_i64(c, len), "t");
  LLVMValueRef from =
      cg_imul(c, cg_iadd(c, cg_imul(c, o.i, cg_i64(c, len)), t.i), cg_i64(c, inner));
  cg_loop i;
  cg_loop_begin(c, &i, cg_i64(c, 0), cg_i64(c, inner), "i");
  LLVMValueRef dst = cg_iadd(c, at, i.i);
  cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, dst), cg_load(c, x, cg_iadd(c, from, i.i)), ""),
           out, dst);
  cg_loop_end(c, &i);
  cg_loop_end(c, &t);
  cg_loop_end(c, &o);
  return NNC_OK;
}

const nnc_op_def op_reduce_axis = {.name = "reduce_axis",
                                   .arity = 1,
                                   .cls = NNC_CLASS_ROW,
                                   .shape = reduce_axis_shape,
                                   .grad = reduce_axis_grad,
                                   .emit_anchor = reduce_axis_emit,
                                   .anchor_units = op_leading_units};
