/* Attention and AdditiveAttention (Keras 3's Attention and its subclass):
 * the same config, masks and application of the scores; only the scores
 * differ. */
#ifndef NNC_LAYERS_DENSE_ATTENTION_H
#define NNC_LAYERS_DENSE_ATTENTION_H

#include "compiler/layers/attention_core.h"

typedef struct dense_attention_params {
  int use_scale;
  int concat; /* Attention's score_mode "concat" (0: "dot") */
  double dropout;
} dense_attention_params;

/* use_scale (default dflt_scale), dropout, seed, and score_mode when
 * with_mode (AdditiveAttention has none). */
int dense_attention_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                          nnc_spec_layer *out, int dflt_scale, int with_mode);

/* Scores [B, Tq, Tv] of query [B, Tq, d] against key [B, Tv, d]. */
typedef int (*dense_attention_scores)(layer_call *c, int query, int key, nnc_status *st);

/* inputs [query, value(, key)]: softmax of the masked scores (value mask,
 * causal mask), dropout in training, times the value, zero at masked query
 * steps; return_attention_scores gives the probabilities after dropout. */
int dense_attention_lower(layer_call *c, const int *in, int n_in, dense_attention_scores scores,
                          nnc_status *st);

/* [B, Tq, Tv, d]: q [B, Tq, d] and k [B, Tv, d] broadcast and added */
int dense_attention_pair_sum(nnc_graph *g, int q, int k, nnc_status *st);

#endif
