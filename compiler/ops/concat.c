/* CONCAT: in[0] and in[1] joined along params.axis.axis (>= 1; never the
 * batch axis). Every other dimension must agree. Gradient: the two slices
 * of dy. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int concat_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  int64_t axis = n->params.axis.axis;
  if (op_check_axis(g, n, axis, a->rank, st)) return st->code;
  if (a->batched != b->batched || a->rank != b->rank)
    return op_shape_error(g, n, st, "concat needs operands of one rank, batched alike");
  for (int k = 0; k < a->rank; k++)
    if (k != axis && a->dims[k] != b->dims[k])
      return op_shape_error(g, n, st, "concat operands differ off the axis");
  n->shape = *a;
  n->shape.dims[axis] = a->dims[axis] + b->dims[axis];
  return NNC_OK;
}

static int concat_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int axis = (int)n->params.axis.axis;
  int64_t first = c->g->nodes[n->in[0]].shape.dims[axis];
  int64_t second = c->g->nodes[n->in[1]].shape.dims[axis];
  if (c->needs[n->in[0]] &&
      grad_accumulate(c, n->in[0], graph_slice(c->g, dy, axis, 0, first, c->st)))
    return -1;
  if (c->needs[n->in[1]] &&
      grad_accumulate(c, n->in[1], graph_slice(c->g, dy, axis, first, second, c->st)))
    return -1;
  return 0;
}

/* Per outer index o: a's block of A1 x inner, then b's block of A2 x inner. */
static int concat_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                       LLVMValueRef u0, LLVMValueRef u1) {
  int axis = (int)n->params.axis.axis;
  const nnc_shape *s = &n->shape;
  int64_t outer = op_span(s, 1, axis), inner = op_span(s, axis + 1, s->rank);
  int64_t first = c->g->nodes[n->in[0]].shape.dims[axis] * inner;
  int64_t second = c->g->nodes[n->in[1]].shape.dims[axis] * inner;
  LLVMValueRef o0 = cg_imul(c, u0, cg_i64(c, outer)), o1 = cg_imul(c, u1, cg_i64(c, outer));
  cg_loop o;
  cg_loop_begin(c, &o, o0, o1, "outer");
  LLVMValueRef at = cg_imul(c, o.i, cg_i64(c, first + second));
  op_copy(c, a, cg_imul(c, o.i, cg_i64(c, first)), out, at, cg_i64(c, first));
  op_copy(c, b, cg_imul(c, o.i, cg_i64(c, second)), out, cg_iadd(c, at, cg_i64(c, first)),
          cg_i64(c, second));
  cg_loop_end(c, &o);
  return NNC_OK;
}

const nnc_op_def op_concat = {.name = "concat",
                              .arity = 2,
                              .cls = NNC_CLASS_ROW,
                              .shape = concat_shape,
                              .grad = concat_grad,
                              .emit_anchor = concat_emit,
                              .anchor_units = op_leading_units};
