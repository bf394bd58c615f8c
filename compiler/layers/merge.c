#include "compiler/layers/merge.h"

int merge_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  (void)ctx;
  (void)cfg;
  (void)cfg_path;
  (void)out;
  return NNC_OK;
}

int merge_lower(layer_call *c, const int *in, int n_in, nnc_binary_fn fn, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  const nnc_shape *first = &g->nodes[in[0]].shape;
  for (int i = 1; i < n_in; i++) {
    const nnc_shape *s = &g->nodes[in[i]].shape;
    if (!shape_equal(s, first)) {
      char a[64], b[64];
      shape_format(first, a, sizeof a);
      shape_format(s, b, sizeof b);
      return layer_fail(c, st,
                        "expected inputs of one shape for %s \"%s\" (nnc does not broadcast "
                        "merge inputs), got %s and %s (input %d)",
                        layer_class(c->layer->kind)->class_name, c->layer->name, a, b, i);
    }
  }
  int y = in[0];
  for (int i = 1; i < n_in && y >= 0; i++) {
    y = graph_binary(g, fn, y, in[i], st);
    layer_label(g, y, c->layer->name, layer_class(c->layer->kind)->prefix);
  }
  return y;
}
