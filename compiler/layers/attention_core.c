/* Masks, masked softmax and dropout of the attention layers. */
#include <stdio.h>

#include "base/rng.h"
#include "compiler/layers/attention_core.h"

int attn_bool(nnc_graph *g, int m, nnc_status *st) {
  if (m < 0) return m;
  return graph_binary(g, NNC_BIN_NE, m, graph_const(g, 0.0, st), st);
}

int attn_and(nnc_graph *g, int a, int b, nnc_status *st) {
  if (a < 0) return b;
  if (b < 0) return a;
  return graph_binary(g, NNC_BIN_MUL, a, b, st);
}

int attn_query_mask(nnc_graph *g, int m, int64_t s, nnc_status *st) {
  return m < 0 ? -1 : graph_repeat_axis(g, attn_bool(g, m, st), 2, s, st);
}

int attn_value_mask(nnc_graph *g, int m, int64_t t, nnc_status *st) {
  return m < 0 ? -1 : graph_repeat_axis(g, attn_bool(g, m, st), 1, t, st);
}

int attn_causal_mask(nnc_graph *g, int scores, nnc_status *st) {
  int row = graph_axis_index(g, scores, 1, st), col = graph_axis_index(g, scores, 2, st);
  return graph_binary(g, NNC_BIN_GE, row, col, st);
}

int attn_masked_softmax(nnc_graph *g, int scores, int mask, nnc_status *st) {
  if (mask >= 0) {
    int pad = graph_binary(g, NNC_BIN_SUB, graph_const(g, 1.0, st), mask, st);
    int bias = graph_binary(g, NNC_BIN_MUL, pad, graph_const(g, ATTN_MASKED_SCORE, st), st);
    scores = graph_binary(g, NNC_BIN_ADD, scores, bias, st);
  }
  return graph_softmax(g, scores, st);
}

int attn_dropout(layer_call *c, int x, double rate, const char *what, nnc_status *st) {
  if (x < 0 || !c->training || rate <= 0.0) return x;
  /* a stream per layer, call and head: the masks are independent */
  char stream[NNC_NAME_MAX + 64];
  if (c->node == 0)
    snprintf(stream, sizeof stream, "dropout/%s/%s", c->layer->name, what);
  else
    snprintf(stream, sizeof stream, "dropout/%s/%s/call%d", c->layer->name, what, c->node);
  return graph_dropout(&c->l->forward, x, rate, nnc_stream_key(0, stream), st);
}

int attn_check_rank3(layer_call *c, int x, const char *what, nnc_status *st) {
  const nnc_shape *s = &c->l->forward.nodes[x].shape;
  if (s->batched && s->rank == 3) return NNC_OK;
  char have[64];
  shape_format(s, have, sizeof have);
  return layer_fail(c, st, "expected a %s of shape [batch, steps, features] for %s \"%s\", got %s",
                    what, layer_class(c->layer->kind)->class_name, c->layer->name, have);
}
