/* SELECT: where(cond, a, b) elementwise: a where cond != 0, else b (Keras's
 * ops.where on a 0/1 condition; NaN counts as true, as a cast to bool does).
 * The three operands broadcast against the output. Gradient (TF's
 * SelectV2 rule): dy flows to a where cond holds and to b elsewhere; none to
 * the condition. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

/* The output is the shape of the operand the other two broadcast against. */
static int select_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  for (int k = 0; k < 3; k++) {
    const nnc_shape *out = &g->nodes[n->in[k]].shape;
    int fits = 1;
    for (int j = 0; j < 3; j++) fits &= op_broadcast_mode(&g->nodes[n->in[j]].shape, out) >= 0;
    if (fits) return op_infer_broadcast(g, n, out, -1, st);
  }
  return op_shape_error(g, n, st, "operands do not broadcast");
}

static int select_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int zero = graph_const(c->g, 0.0, c->st);
  for (int k = 1; k < 3; k++) {
    int x = n->in[k];
    if (!c->needs[x]) continue;
    int d = k == 1 ? graph_select(c->g, n->in[0], dy, zero, c->st)
                   : graph_select(c->g, n->in[0], zero, dy, c->st);
    /* the condition may broadcast against dy: the gradient has dy's shape */
    if (grad_accumulate(c, x, grad_unbroadcast(c, d, n->bcast[k]))) return -1;
  }
  return 0;
}

static int select_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  LLVMValueRef cond = LLVMBuildFCmp(c->b, LLVMRealUNE, cg_operand(c, n, 0, i), cg_f32(c, 0.0), "");
  *v = cg_select(c, cond, cg_operand(c, n, 1, i), cg_operand(c, n, 2, i));
  return NNC_OK;
}

const nnc_op_def op_select = {.name = "select",
                              .arity = 3,
                              .cls = NNC_CLASS_ELEMENTWISE,
                              .shape = select_shape,
                              .grad = select_grad,
                              .emit_element = select_emit};
