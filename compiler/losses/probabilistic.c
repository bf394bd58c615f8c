/* KLDivergence, Poisson, CosineSimilarity (keras/src/losses/losses.py:
 * kl_divergence, poisson, cosine_similarity; ops/nn.py _normalize). */
#include "compiler/losses/losses.h"

/* sum(y' log(y' / p')), y' and p' clipped to [eps, 1] */
static int lower_kld(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                     nnc_status *st) {
  (void)loss;
  int yc = graph_clip(g, y, LOSS_EPSILON, 1.0, st), pc = graph_clip(g, p, LOSS_EPSILON, 1.0, st);
  int v =
      graph_binary(g, NNC_BIN_MUL, yc,
                   graph_unary(g, NNC_FN_LOG, graph_binary(g, NNC_BIN_DIV, yc, pc, st), st), st);
  out->values = loss_sum_last(g, v, st);
  return out->values < 0 ? -1 : 0;
}

/* mean(p - y log(p + eps)) */
static int lower_poisson(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                         nnc_status *st) {
  (void)loss;
  int l = graph_unary(g, NNC_FN_LOG,
                      graph_binary(g, NNC_BIN_ADD, p, loss_const(g, LOSS_EPSILON, st), st), st);
  out->values = loss_mean_last(
      g, graph_binary(g, NNC_BIN_SUB, p, graph_binary(g, NNC_BIN_MUL, y, l, st), st), st);
  return out->values < 0 ? -1 : 0;
}

/* x * rsqrt(max(sum(x^2), eps^2)) along the last axis */
static int l2_normalize(nnc_graph *g, int x, nnc_status *st) {
  int ss = loss_sum_last(g, graph_unary(g, NNC_FN_SQUARE, x, st), st);
  int m = graph_binary(g, NNC_BIN_MAX, ss, loss_const(g, LOSS_EPSILON * LOSS_EPSILON, st), st);
  int inv = graph_unary(g, NNC_FN_RECIP, graph_unary(g, NNC_FN_SQRT, m, st), st);
  return graph_binary(g, NNC_BIN_MUL, x, inv, st);
}

/* -sum(normalize(y) * normalize(p)) */
static int lower_cosine(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                        nnc_status *st) {
  (void)loss;
  int prod = graph_binary(g, NNC_BIN_MUL, l2_normalize(g, y, st), l2_normalize(g, p, st), st);
  out->values = graph_unary(g, NNC_FN_NEG, loss_sum_last(g, prod, st), st);
  return out->values < 0 ? -1 : 0;
}

const loss_class loss_kld = {
    NNC_LOSS_KLD, "KLDivergence", "kl_divergence", "kl_divergence", 0, 0, 0, 0, lower_kld};
const loss_class loss_poisson = {NNC_LOSS_POISSON, "Poisson", "poisson", "poisson", 0, 0, 0, 0,
                                 lower_poisson};
const loss_class loss_cosine = {NNC_LOSS_COSINE,
                                "CosineSimilarity",
                                "cosine_similarity",
                                "cosine_similarity",
                                LOSS_OPT_AXIS,
                                0,
                                0,
                                0,
                                lower_cosine};
