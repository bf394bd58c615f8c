/* REVERSE_AXIS: entry i along params.axis.axis (>= 1) is entry len-1-i of
 * in[0] (Bidirectional turns the backward layer's sequence back into time
 * order). Gradient: the same reversal. */
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int reverse_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  if (op_check_axis(g, n, n->params.axis.axis, x->rank, st)) return st->code;
  n->shape = *x;
  return NNC_OK;
}

static int reverse_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  return grad_accumulate(c, n->in[0],
                         graph_reverse_axis(c->g, dy, (int)n->params.axis.axis, c->st));
}

/* Per outer index o: the blocks of inner entries in reverse order. */
static int reverse_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                        LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  int axis = (int)n->params.axis.axis;
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape;
  int64_t outer = op_span(xs, 1, axis), len = xs->dims[axis];
  int64_t inner = op_span(xs, axis + 1, xs->rank);
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  cg_loop k;
  cg_loop_begin(c, &k, cg_i64(c, 0), cg_i64(c, len), "entry");
  LLVMValueRef base = cg_imul(c, o.i, cg_i64(c, len));
  LLVMValueRef from = cg_iadd(c, base, LLVMBuildSub(c->b, cg_i64(c, len - 1), k.i, ""));
  op_copy(c, x, cg_imul(c, from, cg_i64(c, inner)), out,
          cg_imul(c, cg_iadd(c, base, k.i), cg_i64(c, inner)), cg_i64(c, inner));
  cg_loop_end(c, &k);
  cg_loop_end(c, &o);
  return NNC_OK;
}

int graph_reverse_axis(nnc_graph *g, int x, int axis, nnc_status *st) {
  if (x < 0) return -1;
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  return graph_add_params(g, NNC_OP_REVERSE_AXIS, 0, &x, 1, &p, st);
}

const nnc_op_def op_reverse_axis = {.name = "reverse_axis",
                                    .arity = 1,
                                    .cls = NNC_CLASS_ROW,
                                    .shape = reverse_shape,
                                    .grad = reverse_grad,
                                    .emit_anchor = reverse_emit,
                                    .anchor_units = op_leading_units};
