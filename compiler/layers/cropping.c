/* Cropping1D/2D/3D: entries removed before and after each spatial axis
 * (cropping: an integer, one per axis, or [before, after] per axis; 1D:
 * [start, end]), one SLICE node per cropped axis. data_format as Keras 3. */
#include "compiler/layers/spatial.h"

int cropping_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                   nnc_spec_layer *out) {
  /* Keras 3's defaults: Cropping1D (1, 1), Cropping2D 0, Cropping3D 1 */
  int64_t d = dims == 2 ? 0 : 1;
  spatial_params p = {.dims = dims, .a = {d, d, d}, .b = {d, d, d}};
  if (spatial_parse_sides(ctx, cfg, cfg_path, "cropping", dims, p.a, p.b) ||
      spatial_parse_format(ctx, cfg, cfg_path, &p.channels_first))
    return ctx->st->code;
  return spatial_store(ctx, &p, out);
}

int cropping_lower(layer_call *c, const int *in, nnc_status *st) {
  const spatial_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (spatial_check_input(c, in[0], p->dims, st)) return -1;
  int x = in[0];
  for (int k = 0; k < p->dims && x >= 0; k++) {
    int axis = (p->channels_first ? 2 : 1) + k;
    int64_t len = g->nodes[x].shape.dims[axis];
    if (p->a[k] + p->b[k] == 0) continue;
    if (p->a[k] + p->b[k] >= len)
      return layer_fail(c, st,
                        "%s \"%s\" crops %lld + %lld entries from spatial axis %d of length "
                        "%lld: nothing would remain",
                        layer_class(c->layer->kind)->class_name, c->layer->name, (long long)p->a[k],
                        (long long)p->b[k], k, (long long)len);
    x = graph_slice(g, x, axis, p->a[k], len - p->a[k] - p->b[k], st);
    layer_label(g, x, c->layer->name, "crop");
  }
  return x;
}
