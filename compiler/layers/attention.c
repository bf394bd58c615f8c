/* Attention (Luong-style): scores = query @ key^T (times the scalar weight
 * "scale" when use_scale), or with score_mode "concat"
 * concat_score_weight * sum_d tanh(scale * (q + k)); both weights are
 * scalars initialized to 1. The rest is dense_attention.c. */
#include "compiler/layers/dense_attention.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return dense_attention_parse(ctx, cfg, cfg_path, out, 0, 1);
}

static int scores(layer_call *c, int q, int k, nnc_status *st) {
  const dense_attention_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  nnc_spec_init ones = {.kind = NNC_INIT_ONES};
  int scale = -1;
  if (p->use_scale && (scale = layer_param(c, "scale", shape_make(0, 0, NULL), &ones, st)) < 0)
    return -1;
  if (!p->concat) {
    int s = graph_batch_matmul_t(g, q, k, 0, 1, st);
    return scale >= 0 ? graph_binary(g, NNC_BIN_MUL, s, scale, st) : s;
  }
  int w = layer_param(c, "concat_score_weight", shape_make(0, 0, NULL), &ones, st);
  int sum = dense_attention_pair_sum(g, q, k, st);
  if (scale >= 0) sum = graph_binary(g, NNC_BIN_MUL, scale, sum, st);
  int r = graph_reduce_axis(g, graph_unary(g, NNC_FN_TANH, sum, st), 3, st);
  return graph_binary(g, NNC_BIN_MUL, w, r, st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  return dense_attention_lower(c, in, n_in, scores, st);
}

const nnc_layer_class layer_attention = {"Attention", "attention", 2, 3, parse, lower, NULL};
