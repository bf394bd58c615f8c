/* What MultiHeadAttention, Attention and AdditiveAttention share: masks of
 * shape [B, T, S] (1: query step t may attend to key step s), the masked
 * softmax and the train-phase dropout of the attention probabilities. */
#ifndef NNC_LAYERS_ATTENTION_CORE_H
#define NNC_LAYERS_ATTENTION_CORE_H

#include "compiler/layers/layer.h"

/* Keras's bias for masked scores: Softmax's -1e9, Attention's -1e9 * pad */
#define ATTN_MASKED_SCORE -1e9

/* 1.0 where m != 0 (Keras casts masks to bool); -1 stays -1. */
int attn_bool(nnc_graph *g, int m, nnc_status *st);
/* a AND b of two 0/1 nodes of one shape; either may be -1 (absent). */
int attn_and(nnc_graph *g, int a, int b, nnc_status *st);
/* A query mask [B, T] as [B, T, S] (each row repeated along S). */
int attn_query_mask(nnc_graph *g, int m, int64_t s, nnc_status *st);
/* A value or key mask [B, S] as [B, T, S] (the same for every query step). */
int attn_value_mask(nnc_graph *g, int m, int64_t t, nnc_status *st);
/* The causal mask shaped like scores [B, T, S]: 1 where s <= t. */
int attn_causal_mask(nnc_graph *g, int scores, nnc_status *st);
/* softmax over S of scores + (1 - mask) * -1e9 (mask -1: plain softmax). */
int attn_masked_softmax(nnc_graph *g, int scores, int mask, nnc_status *st);
/* x with dropout at `rate` in the train phase of a training call (x itself
 * otherwise); `what` names the random stream within the layer. */
int attn_dropout(layer_call *c, int x, double rate, const char *what, nnc_status *st);
/* Refuse an input that is not [B, T, d] (rank 3, batched), naming it. */
int attn_check_rank3(layer_call *c, int x, const char *what, nnc_status *st);

#endif
