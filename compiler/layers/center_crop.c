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
  if (prep_check_image(c, in[0], st)) return -1;
  int x = prep_to_last(c, in[0], st);
  if (x < 0) return -1;
  return prep_to_first(c, prep_center_crop(c, x, p->height, p->width, st), st);
}

const nnc_layer_class layer_center_crop = {"CenterCrop", "center_crop", 1, 1, parse, lower, NULL};
