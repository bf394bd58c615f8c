/* Reverse mode: walk the nodes from the loss down, applying each op's
 * gradient rule and summing contributions where a value has several users. */
#include "compiler/autodiff/autodiff.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"

typedef struct ad {
  nnc_graph *g;
  int *grad;   /* by node id of the forward part */
  char *needs; /* 1 if a parameter influences the node */
  nnc_status *st;
} ad;

static int unbroadcast(ad *a, int d, nnc_bcast mode) {
  switch (mode) {
  case NNC_BCAST_FULL:
    return d;
  case NNC_BCAST_SCALAR:
    return graph_reduce(a->g, NNC_RED_ALL, d, a->st);
  case NNC_BCAST_LAST:
    return graph_reduce(a->g, NNC_RED_LEADING, d, a->st);
  case NNC_BCAST_ROW:
    return graph_reduce(a->g, NNC_RED_LAST, d, a->st);
  }
  return -1;
}

static int accumulate(ad *a, int target, int contribution) {
  if (contribution < 0) return -1;
  if (!a->needs[target]) return 0;
  if (a->grad[target] < 0) {
    a->grad[target] = contribution;
  } else {
    a->grad[target] = graph_binary(a->g, NNC_BIN_ADD, a->grad[target], contribution, a->st);
    if (a->grad[target] < 0) return -1;
  }
  return 0;
}

static int unary_grad(ad *a, const nnc_node *n, int dy) {
  nnc_fn deriv = fn_derivative((nnc_fn)n->fn);
  if (deriv == NNC_FN_NONE)
    return nnc_fail(a->st, NNC_ERR_INTERNAL, "no gradient for %s", fn_name((nnc_fn)n->fn)), -1;
  int x = n->in[0];
  if (deriv == NNC_FN_NEG_ONE) return graph_unary(a->g, NNC_FN_NEG, dy, a->st);
  int d = graph_unary(a->g, deriv, x, a->st);
  if (d < 0) return -1;
  a->g->nodes[d].attr[0] = n->attr[0];
  a->g->nodes[d].attr[1] = n->attr[1];
  int dx = graph_binary(a->g, NNC_BIN_MUL, dy, d, a->st);
  /* hard_sigmoid = relu6(x + 3) / 6: TF divides the gradient by 6 and then
   * applies Relu6Grad's 0/1 mask (d); dividing after the exact mask product
   * rounds the same way */
  if (n->fn == NNC_FN_HARD_SIGMOID)
    dx = graph_binary(a->g, NNC_BIN_DIV, dx, graph_const(a->g, 6.0, a->st), a->st);
  return dx;
}

static int binary_grads(ad *a, const nnc_node *n, int dy) {
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
  default:
    return 0; /* comparisons and pow carry no gradient */
  }
  if (a->needs[x] && accumulate(a, x, unbroadcast(a, dx, n->bcast[0]))) return -1;
  if (a->needs[y] && dyy >= 0 && accumulate(a, y, unbroadcast(a, dyy, n->bcast[1]))) return -1;
  return 0;
}

static int broadcast_to(ad *a, int dy, int like) {
  int in[2] = {dy, like};
  return graph_add(a->g, NNC_OP_BROADCAST, 0, in, 2, a->st);
}

static int node_grads(ad *a, int id) {
  nnc_graph *g = a->g;
  nnc_status *st = a->st;
  nnc_node n = g->nodes[id]; /* copy: appending may move the array */
  int dy = a->grad[id], x = n.n_in > 0 ? n.in[0] : -1;
  switch (n.op) {
  case NNC_OP_UNARY:
    return accumulate(a, x, unary_grad(a, &n, dy));
  case NNC_OP_BINARY:
    return binary_grads(a, &n, dy);
  case NNC_OP_BROADCAST:
    return accumulate(a, x, unbroadcast(a, dy, n.bcast[0]));
  case NNC_OP_RESHAPE: {
    int r = graph_add(g, NNC_OP_RESHAPE, 0, &dy, 1, st);
    if (r < 0) return -1;
    g->nodes[r].shape = g->nodes[x].shape;
    return accumulate(a, x, r);
  }
  case NNC_OP_MATMUL: {
    int w = n.in[1];
    if (n.iattr[0]) return nnc_fail(st, NNC_ERR_INTERNAL, "gradient of a transposed matmul"), -1;
    if (a->needs[x]) {
      int wt = graph_add(g, NNC_OP_TRANSPOSE, 0, &w, 1, st);
      int in[2] = {dy, wt};
      if (wt < 0 || accumulate(a, x, graph_add(g, NNC_OP_MATMUL, 0, in, 2, st))) return -1;
    }
    if (a->needs[w]) {
      int in[2] = {x, dy};
      if (accumulate(a, w, graph_add_attr(g, NNC_OP_MATMUL, 0, in, 2, 1, st))) return -1;
    }
    return 0;
  }
  case NNC_OP_TRANSPOSE:
    return accumulate(a, x, graph_add(g, NNC_OP_TRANSPOSE, 0, &dy, 1, st));
  case NNC_OP_SOFTMAX: { /* y * (dy - sum(dy * y)) */
    int s = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_MUL, dy, id, st), st);
    return accumulate(
        a, x, graph_binary(g, NNC_BIN_MUL, id, graph_binary(g, NNC_BIN_SUB, dy, s, st), st));
  }
  case NNC_OP_SOFTMAX_XENT: { /* dy * (softmax(z) * sum(y) - y) */
    int y = n.in[1];
    int p = graph_add(g, NNC_OP_SOFTMAX, 0, &x, 1, st);
    int total = graph_reduce(g, NNC_RED_LAST, y, st);
    int d = graph_binary(g, NNC_BIN_SUB, graph_binary(g, NNC_BIN_MUL, p, total, st), y, st);
    return accumulate(a, x, graph_binary(g, NNC_BIN_MUL, dy, d, st));
  }
  case NNC_OP_REDUCE:
    return accumulate(a, x, broadcast_to(a, dy, x));
  case NNC_OP_LOSS:
  case NNC_OP_DROPOUT:
    return nnc_fail(st, NNC_ERR_INTERNAL, "%s must be lowered before autodiff", op_name(n.op)), -1;
  default:
    return 0; /* sources, masks, argmax, one-hot, effects */
  }
}

static int differentiable(const nnc_node *n) {
  if (n->flags & NNC_NODE_NO_GRAD) return 0;
  switch (n->op) {
  case NNC_OP_ARGMAX:
  case NNC_OP_ONE_HOT:
  case NNC_OP_DROPOUT_MASK:
  case NNC_OP_STAT:
  case NNC_OP_OUTPUT:
  case NNC_OP_ASSIGN:
    return 0;
  case NNC_OP_BINARY:
    return n->fn != NNC_BIN_GT && n->fn != NNC_BIN_EQ && n->fn != NNC_BIN_NE &&
           n->fn != NNC_BIN_POW;
  default:
    return 1;
  }
}

int autodiff_backward(nnc_graph *g, const nnc_program *prog, int *grads, nnc_status *st) {
  if (g->loss < 0) return nnc_fail(st, NNC_ERR_INTERNAL, "autodiff: the graph has no loss");
  int n_forward = g->n;
  ad a = {g, NULL, NULL, st};
  a.grad = nnc_calloc((size_t)n_forward, sizeof *a.grad, st);
  a.needs = nnc_calloc((size_t)n_forward, 1, st);
  if (!a.grad || !a.needs) goto fail;
  for (int i = 0; i < n_forward; i++) {
    nnc_node *n = &g->nodes[i];
    a.grad[i] = -1;
    if (n->dead || !differentiable(n)) continue;
    if (n->op == NNC_OP_PARAM) a.needs[i] = 1;
    for (int k = 0; k < n->n_in; k++) a.needs[i] |= a.needs[n->in[k]];
  }
  a.grad[g->loss] = graph_const(g, 1.0, st);
  if (a.grad[g->loss] < 0) goto fail;
  for (int i = g->loss; i >= 0; i--) {
    if (a.grad[i] < 0 || !a.needs[i] || g->nodes[i].dead) continue;
    int first_new = g->n;
    if (node_grads(&a, i)) goto fail;
    for (int j = first_new; j < g->n; j++) {
      g->nodes[j].phase = NNC_PHASE_TRAIN;
      if (!g->nodes[j].label[0])
        snprintf(g->nodes[j].label, sizeof g->nodes[j].label, "grad %.85s",
                 g->nodes[i].label[0] ? g->nodes[i].label : op_name(g->nodes[i].op));
    }
  }
  for (int p = 0; p < prog->n_params; p++) grads[p] = -1;
  for (int i = 0; i < n_forward; i++)
    if (g->nodes[i].op == NNC_OP_PARAM && !g->nodes[i].dead)
      grads[g->nodes[i].iattr[0]] = a.grad[i];
  free(a.grad);
  free(a.needs);
  return graph_verify(g, "autodiff", st);
fail:
  free(a.grad);
  free(a.needs);
  if (st->code == NNC_OK) nnc_fail(st, NNC_ERR_INTERNAL, "autodiff failed");
  return st->code;
}
