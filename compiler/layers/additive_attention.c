/* AdditiveAttention (Bahdanau-style): scores = sum_d scale_d tanh(q + k),
 * with the weight "scale" [d] (glorot_uniform) when use_scale (the
 * default), else sum_d tanh(q + k). The rest is dense_attention.c. */
#include "compiler/layers/dense_attention.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return dense_attention_parse(ctx, cfg, cfg_path, out, 1, 0);
}

static int scores(layer_call *c, int q, int k, nnc_status *st) {
  const dense_attention_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int t = graph_unary(g, NNC_FN_TANH, dense_attention_pair_sum(g, q, k, st), st);
  if (p->use_scale) {
    nnc_spec_init glorot = {.kind = NNC_INIT_VARIANCE_SCALING,
                            .scale = 1.0,
                            .mode = NNC_FAN_AVG,
                            .distribution = NNC_DIST_UNIFORM};
    int64_t d = shape_last(&g->nodes[q].shape);
    int scale = layer_param(c, "scale", shape_make(0, 1, &d), &glorot, st);
    if (scale < 0) return -1;
    t = graph_binary(g, NNC_BIN_MUL, scale, t, st);
  }
  return graph_reduce_axis(g, t, 3, st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  return dense_attention_lower(c, in, n_in, scores, st);
}

const nnc_layer_class layer_additive_attention = {
    "AdditiveAttention", "additive_attention", 2, 3, parse, lower, NULL};
