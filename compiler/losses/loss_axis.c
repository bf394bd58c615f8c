/* Keras's `axis` of the crossentropies, the focal losses and the cosine
 * similarity (losses/losses.py): the loss works along `axis` and removes it,
 * so (B, C, T) with axis=1 gives per-sample values (B, T). nnc's losses work
 * along the last axis: the axis is moved last by one PERMUTE of y_pred and
 * y_true, and the values come out [B, T, 1] — the same elements, so the
 * reduction, sample weights per position and masks are those of axis -1.
 *
 * Keras's TF backend reads the logits under a sigmoid or softmax output
 * (_get_logits; compiler/passes/logits.c does the same on the LOSS node):
 * a permute in between would hide them, so the activation is applied again
 * after the permute of its input. For a sigmoid that is the same value
 * (elementwise); for a softmax the node is only there for the logits rewrite,
 * which replaces it by the crossentropy of the permuted logits — TF's
 * softmax_cross_entropy_with_logits(axis=...) over the pre-softmax tensor. */
#include "compiler/losses/losses.h"

int loss_resolve_axis(int axis, int rank, int *out) {
  int a = axis < 0 ? axis + rank : axis;
  if (a < 1 || a >= rank) return -1; /* the batch axis 0, or beyond the rank */
  *out = a;
  return 0;
}

/* the activation z -> p of pred that the logits rewrite reads, or -1 */
static int activation_input(const nnc_graph *g, int pred, int with_softmax) {
  const nnc_node *n = &g->nodes[pred];
  if (n->op == NNC_OP_UNARY && n->fn == NNC_FN_SIGMOID) return n->in[0];
  if (with_softmax && n->op == NNC_OP_SOFTMAX) return n->in[0];
  return -1;
}

int loss_move_axis_last(nnc_graph *g, const char *what, int axis, int logits, int *y_pred,
                        int *y_true, nnc_status *st) {
  const nnc_shape *ps = &g->nodes[*y_pred].shape, *ys = &g->nodes[*y_true].shape;
  int a;
  if (loss_resolve_axis(axis, ps->rank, &a)) {
    char have[64];
    shape_format(ps, have, sizeof have);
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: axis %d is not an axis of the prediction %s other than the batch axis 0 "
                    "(1 to %d, or -1 to %d)",
                    what, axis, have, ps->rank - 1, -(ps->rank - 1));
  }
  if (a == ps->rank - 1) return NNC_OK;
  if (ys->rank != ps->rank) {
    char have[64], want[64];
    shape_format(ys, have, sizeof have);
    shape_format(ps, want, sizeof want);
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: axis %d needs targets of the prediction's rank (%s), got %s", what, axis,
                    want, have);
  }
  int perm[NNC_MAX_RANK] = {0}, k = 0;
  for (int i = 0; i < ps->rank; i++)
    if (i != a) perm[k++] = i;
  perm[k] = a;
  int z = logits == LOSS_LOGITS_NONE ? -1 : activation_input(g, *y_pred, logits == LOSS_LOGITS_ALL);
  if (z >= 0) {
    int softmax = g->nodes[*y_pred].op == NNC_OP_SOFTMAX;
    int zp = graph_permute(g, z, perm, st);
    *y_pred = softmax ? graph_softmax(g, zp, st) : graph_unary(g, NNC_FN_SIGMOID, zp, st);
  } else {
    *y_pred = graph_permute(g, *y_pred, perm, st);
  }
  *y_true = graph_permute(g, *y_true, perm, st);
  return *y_pred < 0 || *y_true < 0 ? st->code : NNC_OK;
}
