/* Dice and Tversky (keras/src/losses/losses.py: dice, tversky): overlap
 * ratios summed over `axis` — None sums over every axis, the batch too, so
 * the loss is one number per batch; listed axes (the batch is axis 0) leave
 * one value per sample and remaining position. */
#include "compiler/losses/losses.h"

/* The sum over the loss's axes: [] for axis None, else those axes removed
 * (highest first, so the lower indices stay valid). */
static int overlap_sum(nnc_graph *g, const nnc_spec_loss *loss, int x, nnc_status *st) {
  if (x < 0) return -1;
  if (loss->n_axes == 0) return graph_reduce(g, NNC_RED_ALL, x, st);
  int axes[NNC_MAX_RANK], n = loss->n_axes, rank = g->nodes[x].shape.rank;
  for (int i = 0; i < n; i++) axes[i] = loss->axes[i] < 0 ? rank + loss->axes[i] : loss->axes[i];
  for (int i = 0; i < n; i++) /* descending */
    for (int j = i + 1; j < n; j++)
      if (axes[j] > axes[i]) {
        int t = axes[i];
        axes[i] = axes[j];
        axes[j] = t;
      }
  for (int i = 0; i < n && x >= 0; i++) {
    if (axes[i] < 1 || axes[i] >= rank || (i > 0 && axes[i] == axes[i - 1])) {
      nnc_fail(st, NNC_ERR_SPEC,
               "%s: expected distinct axes of the prediction other than the batch axis 0 (rank "
               "%d with it), got axis %d",
               loss->name, rank, axes[i]);
      return -1;
    }
    x = graph_reduce_axis(g, x, axes[i], st);
  }
  return x;
}

/* 1 - 2 sum(y p) / (sum(y) + sum(p) + eps) */
static int lower_dice(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                      nnc_status *st) {
  int inter = overlap_sum(g, loss, graph_binary(g, NNC_BIN_MUL, y, p, st), st);
  int den = graph_binary(
      g, NNC_BIN_ADD,
      graph_binary(g, NNC_BIN_ADD, overlap_sum(g, loss, y, st), overlap_sum(g, loss, p, st), st),
      loss_const(g, LOSS_EPSILON, st), st);
  int num = graph_binary(g, NNC_BIN_MUL, graph_const(g, 2.0, st), inter, st);
  out->values = loss_one_minus(g, graph_binary(g, NNC_BIN_DIV, num, den, st), st);
  return out->values < 0 ? -1 : 0;
}

/* i = sum(p y), fp = sum((1 - y) p), fn = sum(y (1 - p));
 * 1 - i / (i + fp alpha + fn beta + eps) */
static int lower_tversky(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                         nnc_status *st) {
  int inter = overlap_sum(g, loss, graph_binary(g, NNC_BIN_MUL, p, y, st), st);
  int fp = overlap_sum(g, loss, graph_binary(g, NNC_BIN_MUL, loss_one_minus(g, y, st), p, st), st);
  int fn = overlap_sum(g, loss, graph_binary(g, NNC_BIN_MUL, y, loss_one_minus(g, p, st), st), st);
  int den = graph_binary(g, NNC_BIN_ADD, inter,
                         graph_binary(g, NNC_BIN_MUL, fp, loss_const(g, loss->alpha, st), st), st);
  den = graph_binary(g, NNC_BIN_ADD, den,
                     graph_binary(g, NNC_BIN_MUL, fn, loss_const(g, loss->beta, st), st), st);
  den = graph_binary(g, NNC_BIN_ADD, den, loss_const(g, LOSS_EPSILON, st), st);
  out->values = loss_one_minus(g, graph_binary(g, NNC_BIN_DIV, inter, den, st), st);
  return out->values < 0 ? -1 : 0;
}

const loss_class loss_dice = {NNC_LOSS_DICE, "Dice", "dice", "dice", LOSS_OPT_AXES, 0, 0, 0,
                              lower_dice};
const loss_class loss_tversky = {NNC_LOSS_TVERSKY,
                                 "Tversky",
                                 "tversky",
                                 "tversky",
                                 LOSS_OPT_AXES | LOSS_OPT_ALPHA | LOSS_OPT_BETA,
                                 0.5,
                                 0.5,
                                 0,
                                 lower_tversky};
