/* Regularization losses: keras/src/regularizers/regularizers.py for the
 * penalties, keras/src/layers/layer.py for how they are collected
 * (activity penalties divided by the batch size in Layer.__call__; weight
 * penalties of trainable weights in Layer.losses), and
 * keras/src/trainers/trainer.py compute_loss for the sum: the compile loss
 * plus every entry of model.losses, in train and test steps alike. They are
 * part of the reported "loss" but not of "<output>_loss". */
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"
#include "compiler/lower/lower_regularizers.h"

static int k(nnc_graph *g, double v, nnc_status *st) {
  return graph_const(g, v, st);
}

/* L1L2.__call__: 0 + l1 * sum(|x|) + l2 * sum(x^2), each term only when its
 * factor is non-zero (L1 and L2 are the one-term cases). */
static int l1l2(nnc_graph *g, const nnc_spec_regularizer *r, int x, nnc_status *st) {
  int total = -1;
  if (r->l1 != 0.0) {
    int s = graph_reduce(g, NNC_RED_ALL, graph_unary(g, NNC_FN_ABS, x, st), st);
    total = graph_binary(g, NNC_BIN_MUL, k(g, r->l1, st), s, st);
  }
  if (r->l2 != 0.0) {
    int s = graph_reduce(g, NNC_RED_ALL, graph_unary(g, NNC_FN_SQUARE, x, st), st);
    int t = graph_binary(g, NNC_BIN_MUL, k(g, r->l2, st), s, st);
    total = total < 0 ? t : graph_binary(g, NNC_BIN_ADD, total, t, st);
  }
  return total < 0 ? k(g, 0.0, st) : total;
}

/* OrthogonalRegularizer.__call__: vectors (rows or columns) L2-normalized as
 * ops.normalize does (x * rsqrt(max(sum(x^2), epsilon^2)), epsilon 1e-7),
 * their Gram matrix without its diagonal, factor * 0.5 * sum|.| / pairs.
 * The diagonal is subtracted as the sum of the squared normalized entries
 * (the Gram diagonal) instead of multiplying by 1 - eye. */
static int orthogonal(nnc_graph *g, const nnc_spec_regularizer *r, int x, const char *source,
                      nnc_status *st) {
  const nnc_shape *s = &g->nodes[x].shape;
  if (s->rank != 2 || s->batched) {
    nnc_fail(st, NNC_ERR_SPEC,
             "%s: %s: expected a regularizer for a matrix: OrthogonalRegularizer needs inputs of "
             "rank 2, as Keras requires",
             source, r->path);
    return -1;
  }
  int64_t size = r->columns ? s->dims[1] : s->dims[0];
  int sq = graph_unary(g, NNC_FN_SQUARE, x, st);
  int sums = graph_reduce(g, r->columns ? NNC_RED_LEADING : NNC_RED_LAST, sq, st);
  int clamped = graph_binary(g, NNC_BIN_MAX, sums, k(g, 1e-7 * 1e-7, st), st);
  int inv = graph_unary(g, NNC_FN_RECIP, graph_unary(g, NNC_FN_SQRT, clamped, st), st);
  int n = graph_binary(g, NNC_BIN_MUL, x, inv, st);
  int perm[NNC_MAX_RANK] = {1, 0};
  int nt = graph_permute(g, n, perm, st);
  int gram = r->columns ? graph_matmul(g, nt, n, st) : graph_matmul(g, n, nt, st);
  int all = graph_reduce(g, NNC_RED_ALL, graph_unary(g, NNC_FN_ABS, gram, st), st);
  int diag = graph_reduce(g, NNC_RED_ALL, graph_unary(g, NNC_FN_SQUARE, n, st), st);
  int off = graph_binary(g, NNC_BIN_SUB, all, diag, st);
  double pairs = (double)size * ((double)size - 1.0) / 2.0;
  int scaled = graph_binary(g, NNC_BIN_MUL, k(g, (double)(float)r->factor * 0.5, st), off, st);
  return graph_binary(g, NNC_BIN_DIV, scaled, k(g, pairs, st), st);
}

int regularizer_penalty(nnc_graph *g, const nnc_spec_regularizer *r, int x, const char *source,
                        nnc_status *st) {
  switch (r->kind) {
  case NNC_REG_L1L2:
    return l1l2(g, r, x, st);
  case NNC_REG_ORTHOGONAL:
    return orthogonal(g, r, x, source, st);
  case NNC_REG_NONE:
    break;
  }
  return k(g, 0.0, st);
}

static void label(nnc_graph *g, int node, int of, const char *what) {
  char base[sizeof g->nodes[of].label];
  nnc_strlcpy(base, g->nodes[of].label, sizeof base);
  snprintf(g->nodes[node].label, sizeof g->nodes[node].label, "%.60s/%s", base, what);
}

static int push(int **list, int *n, int node, nnc_status *st) {
  if (node < 0) return st->code ? (int)st->code : nnc_fail(st, NNC_ERR_INTERNAL, "regularizer");
  int *grown = nnc_realloc_array(*list, (size_t)*n + 1, sizeof *grown, st);
  if (!grown) return st->code;
  *list = grown;
  grown[(*n)++] = node;
  return NNC_OK;
}

int lower_weight_regularizer(nnc_lowered *l, const nnc_spec_regularizer *r, int param,
                             const char *source, nnc_status *st) {
  if (r->kind == NNC_REG_NONE) return NNC_OK;
  int p = regularizer_penalty(&l->forward, r, param, source, st);
  if (p >= 0) label(&l->forward, p, param, "regularizer");
  return push(&l->weight_penalties, &l->n_weight_penalties, p, st);
}

/* Layer.__call__: loss = r(output); divide_no_nan(loss, batch size) */
int lower_activity_regularizer(nnc_lowered *l, const nnc_spec_regularizer *r, int output,
                               const char *source, nnc_status *st) {
  if (r->kind == NNC_REG_NONE) return NNC_OK;
  nnc_graph *g = &l->forward;
  int p = regularizer_penalty(g, r, output, source, st);
  int batch = graph_source(g, NNC_OP_SCALAR, NNC_SCALAR_BATCH, shape_scalar(), "batch", st);
  int per = p < 0 || batch < 0 ? -1 : graph_binary(g, NNC_BIN_DIV, p, batch, st);
  if (per >= 0) label(g, per, output, "activity_regularizer");
  return push(&l->activity_penalties, &l->n_activity_penalties, per, st);
}

int lower_regularizers(nnc_lowered *l, int total, nnc_status *st) {
  nnc_graph *g = &l->forward;
  for (int i = 0; i < l->n_activity_penalties && total >= 0; i++)
    total = graph_binary(g, NNC_BIN_ADD, total, l->activity_penalties[i], st);
  for (int i = 0; i < l->n_weight_penalties && total >= 0; i++)
    total = graph_binary(g, NNC_BIN_ADD, total, l->weight_penalties[i], st);
  return total;
}
