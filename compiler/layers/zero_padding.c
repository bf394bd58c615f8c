/* ZeroPadding1D/2D/3D: zeros before and after each spatial axis (padding:
 * an integer, one per axis, or [before, after] per axis; 1D: [left, right]),
 * one PAD node per padded side of an axis. data_format as Keras 3. */
#include "compiler/layers/spatial.h"

int zero_padding_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                       nnc_spec_layer *out) {
  spatial_params p = {.dims = dims, .a = {1, 1, 1}, .b = {1, 1, 1}};
  if (spatial_parse_sides(ctx, cfg, cfg_path, "padding", dims, p.a, p.b) ||
      spatial_parse_format(ctx, cfg, cfg_path, &p.channels_first))
    return ctx->st->code;
  return spatial_store(ctx, &p, out);
}

int zero_padding_lower(layer_call *c, const int *in, nnc_status *st) {
  const spatial_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (spatial_check_input(c, in[0], p->dims, st)) return -1;
  int x = in[0];
  for (int k = 0; k < p->dims && x >= 0; k++) {
    int axis = (p->channels_first ? 2 : 1) + k;
    int64_t len = g->nodes[x].shape.dims[axis];
    if (p->a[k] + p->b[k] == 0) continue;
    x = graph_pad(g, x, axis, p->a[k], len + p->a[k] + p->b[k], st);
    layer_label(g, x, c->layer->name, "pad");
  }
  return x;
}
