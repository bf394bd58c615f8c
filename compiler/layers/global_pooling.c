/* GlobalMaxPooling1D/2D/3D and GlobalAveragePooling1D/2D/3D: the max or the
 * mean over every spatial position, per channel; keepdims keeps the spatial
 * axes with length 1. Lowered as a reshape to [B, positions, C] (or
 * [B, C, positions] for channels_first), REDUCE_MAX or REDUCE_AXIS over the
 * positions, and for the mean a division by their count (tf.reduce_mean).
 * The max's gradient is shared among equal maxima, as TF's reduce_max's. */
#include "compiler/layers/spatial.h"

int global_pooling_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                         nnc_spec_layer *out) {
  spatial_params p = {.dims = dims};
  if (spatial_parse_format(ctx, cfg, cfg_path, &p.channels_first) ||
      spec_get_bool(ctx, cfg, cfg_path, "keepdims", 0, &p.keepdims))
    return ctx->st->code;
  return spatial_store(ctx, &p, out);
}

int global_pooling_lower(layer_call *c, const int *in, nnc_pool_fn fn, nnc_status *st) {
  const spatial_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (spatial_check_input(c, in[0], p->dims, st)) return -1;
  nnc_shape s = g->nodes[in[0]].shape;
  int first = p->channels_first ? 2 : 1; /* the first spatial axis */
  int64_t positions = 1;
  for (int a = first; a < first + p->dims; a++) positions *= s.dims[a];
  int64_t channels = s.dims[p->channels_first ? 1 : s.rank - 1];
  int64_t d3[3] = {-1, p->channels_first ? channels : positions,
                   p->channels_first ? positions : channels};
  int x = layer_reshape_node(g, in[0], shape_make(1, 3, d3), st);
  int axis = p->channels_first ? 2 : 1;
  int y =
      fn == NNC_POOL_MAX ? graph_reduce_max(g, x, axis, 0, st) : graph_reduce_axis(g, x, axis, st);
  if (fn == NNC_POOL_AVG)
    y = graph_binary(g, NNC_BIN_DIV, y, graph_const(g, (double)positions, st), st);
  layer_label(g, y, c->layer->name, fn == NNC_POOL_MAX ? "global_max" : "global_mean");
  if (y >= 0 && p->keepdims) {
    nnc_shape k = s;
    for (int a = first; a < first + p->dims; a++) k.dims[a] = 1;
    y = layer_reshape_node(g, y, k, st);
  }
  return y;
}
