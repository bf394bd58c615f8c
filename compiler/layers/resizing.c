/* Resizing (Keras 3 resizing.py): every phase, the image [B, H, W, C]
 * resized to [B, height, width, C] as ops.image.resize does with the
 * TensorFlow backend (half-pixel centers, antialias off): interpolation
 * "bilinear" or "nearest"; crop_to_aspect_ratio crops the centred box of
 * the target's aspect ratio first; pad_to_aspect_ratio pads it with
 * fill_value to that ratio first (fill_mode "constant", the only one Keras's
 * resize takes). antialias is accepted where it changes nothing (nearest,
 * or no axis shrinks); a bilinear downscale with it is refused, as are
 * other interpolations. */
#include <string.h>

#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  if (prep_parse_size(ctx, cfg, cfg_path, &p)) return ctx->st->code;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "interpolation");
  const cJSON *v = spec_child(cfg, "interpolation");
  if (spec_is_absent(v) || (cJSON_IsString(v) && !strcmp(v->valuestring, "bilinear")))
    p.nearest = 0;
  else if (cJSON_IsString(v) && !strcmp(v->valuestring, "nearest"))
    p.nearest = 1;
  else if (cJSON_IsString(v))
    return spec_fail_unsupported(ctx, path, v,
                                 "Resizing interpolation other than \"bilinear\" and \"nearest\"");
  else
    return spec_fail_expected(ctx, path, v, "\"bilinear\" or \"nearest\"");
  int antialias;
  if (spec_get_bool(ctx, cfg, cfg_path, "crop_to_aspect_ratio", 0, &p.crop_to_aspect_ratio) ||
      spec_get_bool(ctx, cfg, cfg_path, "pad_to_aspect_ratio", 0, &p.pad_to_aspect_ratio) ||
      spec_get_bool(ctx, cfg, cfg_path, "antialias", 0, &antialias) ||
      spec_get_float32(ctx, cfg, cfg_path, "fill_value", 0.0, &p.fill_value))
    return ctx->st->code;
  if (p.pad_to_aspect_ratio && p.crop_to_aspect_ratio) { /* Keras raises too */
    spec_path_key(path, cfg_path, "pad_to_aspect_ratio");
    return spec_fail(ctx, path,
                     "expected only one of pad_to_aspect_ratio and crop_to_aspect_ratio to be "
                     "true");
  }
  spec_path_key(path, cfg_path, "fill_mode");
  const cJSON *fm = spec_child(cfg, "fill_mode");
  if (!spec_is_absent(fm) && !(cJSON_IsString(fm) && !strcmp(fm->valuestring, "constant")))
    return spec_fail_expected(ctx, path, fm,
                              "\"constant\" (the only fill_mode Keras's resize takes)");
  p.antialias = antialias;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prep_params *p = c->layer->params;
  if (prep_check_image(c, in[0], st)) return -1;
  int x = prep_to_last(c, in[0], st);
  if (x < 0) return -1;
  /* antialias changes only a bilinear downscale (tf.image.resize's
   * scale-and-translate triangle filter; upscaling it equals the bilinear
   * resize, nearest ignores it) */
  const nnc_shape *xs = &c->l->forward.nodes[x].shape;
  if (p->antialias && !p->nearest && !p->crop_to_aspect_ratio && !p->pad_to_aspect_ratio &&
      (xs->dims[1] > p->height || xs->dims[2] > p->width))
    return layer_fail(c, st,
                      "Resizing \"%s\": antialias: true when downscaling (%lld x %lld to %lld x "
                      "%lld) is not supported yet (TensorFlow's scale-and-translate filter)",
                      c->layer->name, (long long)xs->dims[1], (long long)xs->dims[2],
                      (long long)p->height, (long long)p->width);
  if (p->antialias && !p->nearest && (p->crop_to_aspect_ratio || p->pad_to_aspect_ratio))
    return layer_fail(c, st,
                      "Resizing \"%s\": antialias: true with crop_to_aspect_ratio or "
                      "pad_to_aspect_ratio is not supported yet",
                      c->layer->name);
  if (p->pad_to_aspect_ratio) x = prep_pad_to_aspect(c, x, p->height, p->width, p->fill_value, st);
  x = x < 0 ? -1 : prep_resize(c, x, p->height, p->width, p->nearest, p->crop_to_aspect_ratio, st);
  return prep_to_first(c, x, st);
}

const nnc_layer_class layer_resizing = {"Resizing", "resizing", 1, 1, parse, lower, NULL};
