/* Shape helpers shared by the ops' shape rules. */
#include "base/base.h"
#include "compiler/ops/op.h"

int op_is_scalar_like(const nnc_shape *s) {
  return !s->batched && shape_inner(s) == 1;
}

nnc_shape op_with_last(nnc_shape s, int64_t last) {
  if (s.rank == 0 || (s.batched && s.rank == 1)) {
    s.dims[s.rank++] = last;
  } else {
    s.dims[s.rank - 1] = last;
  }
  return s;
}

int op_broadcast_mode(const nnc_shape *operand, const nnc_shape *out) {
  if (shape_equal(operand, out)) return NNC_BCAST_FULL;
  if (op_is_scalar_like(operand)) return NNC_BCAST_SCALAR;
  if (!operand->batched && operand->rank == 1 && out->rank >= 1 &&
      operand->dims[0] == shape_last(out))
    return NNC_BCAST_LAST;
  if (operand->rank == out->rank && operand->batched == out->batched && shape_last(operand) == 1) {
    for (int i = 0; i + 1 < out->rank; i++)
      if (operand->dims[i] != out->dims[i]) return -1;
    return NNC_BCAST_ROW;
  }
  return -1;
}

int op_shape_error(const nnc_graph *g, const nnc_node *n, nnc_status *st, const char *what) {
  char a[64] = "", b[64] = "";
  if (n->n_in > 0) shape_format(&g->nodes[n->in[0]].shape, a, sizeof a);
  if (n->n_in > 1) shape_format(&g->nodes[n->in[1]].shape, b, sizeof b);
  return nnc_fail(st, NNC_ERR_SPEC, "%s: %s (operand shapes %s %s)",
                  n->label[0] ? n->label : op_name(n->op), what, a, b);
}

int op_infer_broadcast(const nnc_graph *g, nnc_node *n, const nnc_shape *out, int skip,
                       nnc_status *st) {
  n->shape = *out;
  for (int k = 0; k < n->n_in; k++) {
    if (k == skip) continue;
    int mode = op_broadcast_mode(&g->nodes[n->in[k]].shape, out);
    if (mode < 0) return op_shape_error(g, n, st, "operands do not broadcast");
    n->bcast[k] = (nnc_bcast)mode;
  }
  return NNC_OK;
}

int op_same_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  (void)st;
  n->shape = g->nodes[n->in[0]].shape;
  return NNC_OK;
}
