/* MATMUL: a[..,K] @ b[K,N] -> [..,N]; with params.transpose_a,
 * a^T @ b contracting over all rows (the weight gradient) -> [K,N]. */
#include "compiler/ops/op.h"

static int matmul_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (n->params.transpose_a) { /* a^T @ b, contracting over all rows */
    if (a->batched != b->batched ||
        shape_inner(a) / shape_last(a) != shape_inner(b) / shape_last(b))
      return op_shape_error(g, n, st, "transposed product needs matching rows");
    int64_t d[2] = {shape_last(a), shape_last(b)};
    n->shape = shape_make(0, 2, d);
    return NNC_OK;
  }
  if (b->batched || b->rank != 2) return op_shape_error(g, n, st, "right operand must be a matrix");
  if (shape_last(a) != b->dims[0]) return op_shape_error(g, n, st, "inner dimensions differ");
  n->shape = op_with_last(*a, b->dims[1]);
  return NNC_OK;
}

/* dx = dy @ w^T, dw = x^T @ dy */
static int matmul_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  nnc_graph *g = c->g;
  int x = n->in[0], w = n->in[1];
  if (n->params.transpose_a)
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "gradient of a transposed matmul"), -1;
  if (c->needs[x]) {
    int wt = graph_add(g, NNC_OP_TRANSPOSE, 0, &w, 1, c->st);
    int in[2] = {dy, wt};
    if (wt < 0 || grad_accumulate(c, x, graph_add(g, NNC_OP_MATMUL, 0, in, 2, c->st))) return -1;
  }
  if (c->needs[w]) {
    int in[2] = {x, dy};
    if (grad_accumulate(c, w, graph_add_attr(g, NNC_OP_MATMUL, 0, in, 2, 1, c->st))) return -1;
  }
  return 0;
}

const nnc_op_def op_matmul = {"matmul", 2, NNC_CLASS_MATMUL, matmul_shape, matmul_grad, NULL, 0};
