/* CenterCrop (Keras 3 center_crop.py): every phase, the centred
 * height x width box (start (H - height) // 2); an input smaller than the
 * target on either axis is instead smart-resized (centred crop to the
 * target's aspect ratio, then bilinear resize), as Keras does. */
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  if (prep_parse_size(ctx, cfg, cfg_path, &p)) return ctx->st->code;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (prep_check_image(c, in[0], st)) return -1;
  int x = prep_to_last(c, in[0], st);
  if (x < 0) return -1;
  int64_t h = g->nodes[x].shape.dims[1], w = g->nodes[x].shape.dims[2];
  if (h < p->height || w < p->width) {
    x = prep_resize(c, x, p->height, p->width, 0, 1, st);
  } else {
    if (h != p->height) x = graph_slice(g, x, 1, (h - p->height) / 2, p->height, st);
    if (x >= 0 && w != p->width) x = graph_slice(g, x, 2, (w - p->width) / 2, p->width, st);
    layer_label(g, x, c->layer->name, "crop");
  }
  return prep_to_first(c, x, st);
}

const nnc_layer_class layer_center_crop = {"CenterCrop", "center_crop", 1, 1, parse, lower, NULL};
