/* BINARY: an elementwise function of two broadcasting operands (fn =
 * nnc_binary_fn). The output has the shape of the operand the other
 * broadcasts against. Comparisons carry no gradient. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int binary_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  const nnc_shape *out = op_broadcast_mode(b, a) >= 0 ? a : b;
  return op_infer_broadcast(g, n, out, -1, st);
}

static int binary_grad(nnc_grad_ctx *a, const nnc_node *n, int id, int dy) {
  nnc_graph *g = a->g;
  nnc_status *st = a->st;
  int x = n->in[0], y = n->in[1], dx = -1, dyy = -1;
  switch ((nnc_binary_fn)n->fn) {
  case NNC_BIN_ADD:
    dx = dy, dyy = dy;
    break;
  case NNC_BIN_SUB:
    dx = dy, dyy = graph_unary(g, NNC_FN_NEG, dy, st);
    break;
  case NNC_BIN_MUL:
    dx = a->needs[x] ? graph_binary(g, NNC_BIN_MUL, dy, y, st) : -1;
    dyy = a->needs[y] ? graph_binary(g, NNC_BIN_MUL, dy, x, st) : -1;
    break;
  case NNC_BIN_DIV:
    dx = a->needs[x] ? graph_binary(g, NNC_BIN_DIV, dy, y, st) : -1;
    if (a->needs[y]) {
      int q = graph_binary(g, NNC_BIN_DIV, graph_binary(g, NNC_BIN_MUL, dy, x, st),
                           graph_binary(g, NNC_BIN_MUL, y, y, st), st);
      dyy = graph_unary(g, NNC_FN_NEG, q, st);
    }
    break;
  case NNC_BIN_MAX:
  case NNC_BIN_MIN: { /* TF: x gets the gradient where x >= y (max) or x <= y (min), ties included
                       */
    int strict = n->fn == NNC_BIN_MAX ? graph_binary(g, NNC_BIN_GT, x, y, st)
                                      : graph_binary(g, NNC_BIN_GT, y, x, st);
    int first = graph_binary(g, NNC_BIN_ADD, strict, graph_binary(g, NNC_BIN_EQ, x, y, st), st);
    dx = graph_binary(g, NNC_BIN_MUL, dy, first, st);
    dyy = graph_binary(g, NNC_BIN_SUB, dy, dx, st);
    break;
  }
  case NNC_BIN_BCE_LOGITS: /* d/dz = sigmoid(z) - y */
    dx = graph_binary(g, NNC_BIN_MUL, dy,
                      graph_binary(g, NNC_BIN_SUB, graph_unary(g, NNC_FN_SIGMOID, x, st), y, st),
                      st);
    break;
  case NNC_BIN_POW: { /* TF's _PowGrad: y x^(y-1); for y: x^y log x where x > 0, else 0 */
    if (a->needs[x]) {
      int ym1 = graph_binary(g, NNC_BIN_SUB, y, graph_const(g, 1.0, st), st);
      dx = graph_binary(
          g, NNC_BIN_MUL, dy,
          graph_binary(g, NNC_BIN_MUL, y, graph_binary(g, NNC_BIN_POW, x, ym1, st), st), st);
    }
    if (a->needs[y]) {
      int zero = graph_const(g, 0.0, st);
      int log_x = graph_select(g, graph_binary(g, NNC_BIN_GT, x, zero, st),
                               graph_unary(g, NNC_FN_LOG, x, st), zero, st);
      dyy = graph_binary(g, NNC_BIN_MUL, dy, graph_binary(g, NNC_BIN_MUL, id, log_x, st), st);
    }
    break;
  }
  default:
    return 0; /* comparisons carry no gradient */
  }
  if (a->needs[x] && grad_accumulate(a, x, grad_unbroadcast(a, dx, n->bcast[0]))) return -1;
  if (a->needs[y] && dyy >= 0 && grad_accumulate(a, y, grad_unbroadcast(a, dyy, n->bcast[1])))
    return -1;
  return 0;
}

static int binary_differentiable(const nnc_node *n) {
  return n->fn != NNC_BIN_GT && n->fn != NNC_BIN_GE && n->fn != NNC_BIN_EQ && n->fn != NNC_BIN_NE;
}

static int binary_emit(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v) {
  (void)id;
  *v = cg_binary(c, (nnc_binary_fn)n->fn, cg_operand(c, n, 0, i), cg_operand(c, n, 1, i));
  return NNC_OK;
}

const nnc_op_def op_binary = {.name = "binary",
                              .arity = 2,
                              .cls = NNC_CLASS_ELEMENTWISE,
                              .shape = binary_shape,
                              .grad = binary_grad,
                              .differentiable = binary_differentiable,
                              .emit_element = binary_emit};
