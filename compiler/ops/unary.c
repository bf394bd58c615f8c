/* UNARY: an elementwise function of unary.def (fn); params its parameters (alpha, clip).
 * Gradient: dy times the function's derivative table entry evaluated at x. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int unary_grad(nnc_grad_ctx *a, const nnc_node *n, int id, int dy) {
  (void)id;
  nnc_fn deriv = fn_derivative((nnc_fn)n->fn);
  if (deriv == NNC_FN_NONE)
    return nnc_fail(a->st, NNC_ERR_INTERNAL, "no gradient for %s", fn_name((nnc_fn)n->fn)), -1;
  int x = n->in[0];
  if (deriv == NNC_FN_NEG_ONE)
    return grad_accumulate(a, x, graph_unary(a->g, NNC_FN_NEG, dy, a->st));
  int d = graph_unary(a->g, deriv, x, a->st);
  if (d < 0) return -1;
  a->g->nodes[d].params = n->params; /* the derivative takes the function's parameters */
  int dx = graph_binary(a->g, NNC_BIN_MUL, dy, d, a->st);
  /* hard_sigmoid = relu6(x + 3) / 6: TF divides the gradient by 6 and then
   * applies Relu6Grad's 0/1 mask (d); dividing after the exact mask product
   * rounds the same way */
  if (n->fn == NNC_FN_HARD_SIGMOID)
    dx = graph_binary(a->g, NNC_BIN_DIV, dx, graph_const(a->g, 6.0, a->st), a->st);
  return grad_accumulate(a, x, dx);
}

static int unary_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  *v = cg_unary(c, (nnc_fn)n->fn, cg_operand(c, n, 0, i), &n->params);
  return NNC_OK;
}

const nnc_op_def op_unary = {.name = "unary",
                             .arity = 1,
                             .cls = NNC_CLASS_ELEMENTWISE,
                             .shape = op_same_shape,
                             .grad = unary_grad,
                             .emit_element = unary_emit};
