/* GlobalAveragePooling1D: the mean over every position, per channel
 * (global_pooling.c). With a mask (Keras 3's call(inputs, mask)), the mean
 * over the kept steps only: sum(x * mask) / sum(mask) per sample (NaN for a
 * sample whose steps are all masked, as in Keras). Its output has no mask. */
#include "compiler/layers/spatial.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return global_pooling_parse(ctx, cfg, cfg_path, 1, out);
}

static int masked_mean(layer_call *c, int x, int mask, nnc_status *st) {
  const spatial_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (spatial_check_input(c, x, 1, st)) return -1;
  static const int to_last[3] = {0, 2, 1};
  if (p->channels_first) x = graph_permute(g, x, to_last, st); /* [B, T, C] */
  if (x < 0) return -1;
  nnc_shape s = g->nodes[x].shape, ms = g->nodes[mask].shape;
  if (ms.rank != 2 || ms.dims[1] != s.dims[1])
    return layer_fail(c, st, "expected a mask [batch, %lld] for the steps of its input",
                      (long long)s.dims[1]);
  int64_t d[3] = {-1, s.dims[1], 1};
  int m = layer_reshape_node(g, mask, shape_make(1, 3, d), st);
  int sum = graph_reduce_axis(g, graph_binary(g, NNC_BIN_MUL, x, m, st), 1, st);
  int count = graph_reduce_axis(g, m, 1, st); /* [B, 1] */
  int y = graph_binary(g, NNC_BIN_DIV, sum, count, st);
  if (y < 0) return -1;
  layer_label(g, y, c->layer->name, "masked_mean");
  if (p->keepdims) {
    int64_t k[3] = {-1, p->channels_first ? s.dims[2] : 1, p->channels_first ? 1 : s.dims[2]};
    y = layer_reshape_node(g, y, shape_make(1, 3, k), st);
  }
  return y;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  int mask = layer_input_mask(c, 0);
  layer_set_output_mask(c, -1); /* compute_mask returns None */
  return mask >= 0 ? masked_mean(c, in[0], mask, st)
                   : global_pooling_lower(c, in, NNC_POOL_AVG, st);
}

const nnc_layer_class layer_global_average_pooling1d = {
    "GlobalAveragePooling1D", "global_average_pooling1d", 1, 1, parse, lower, NULL};
