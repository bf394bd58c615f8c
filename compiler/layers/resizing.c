/* Resizing (Keras 3 resizing.py): every phase, the image [B, H, W, C]
 * resized to [B, height, width, C] as ops.image.resize does with the
 * TensorFlow backend (tf.image.resize, half-pixel centers): interpolation
 * "bilinear" or "nearest"; crop_to_aspect_ratio crops the centred box of
 * the target's aspect ratio first; pad_to_aspect_ratio pads it with
 * fill_value to that ratio first (fill_mode "constant", the only one Keras's
 * resize takes). antialias with bilinear is TF's ScaleAndTranslate with the
 * triangle kernel, widened by the shrink factor (compiler/ops/resize.c);
 * nearest ignores it. "bicubic" is TF's ResizeBicubic (Keys' cubic with
 * half-pixel centers; with antialias refused). Other interpolations are
 * refused. */
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
  else if (cJSON_IsString(v) && !strcmp(v->valuestring, "bicubic"))
    p.bicubic = 1;
  else if (cJSON_IsString(v))
    return spec_fail_unsupported(
        ctx, path, v,
        "Resizing interpolation other than \"bilinear\", \"nearest\" and \"bicubic\"");
  else
    return spec_fail_expected(ctx, path, v, "\"bilinear\", \"nearest\" or \"bicubic\"");
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
  if (antialias && p.bicubic) { /* TF: ScaleAndTranslate with the keyscubic kernel */
    spec_path_key(path, cfg_path, "antialias");
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "antialias"),
                                 "Resizing antialias: true with interpolation \"bicubic\"");
  }
  p.antialias = antialias;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prep_params *p = c->layer->params;
  if (prep_check_image(c, in[0], st)) return -1;
  int x = prep_to_last(c, in[0], st);
  if (x < 0) return -1;
  if (p->pad_to_aspect_ratio) x = prep_pad_to_aspect(c, x, p->height, p->width, p->fill_value, st);
  /* tf.image.resize: antialias selects ScaleAndTranslate's triangle filter
   * for bilinear; nearest ignores it */
  int mode = p->nearest     ? PREP_RESIZE_NEAREST
             : p->bicubic   ? PREP_RESIZE_BICUBIC
             : p->antialias ? PREP_RESIZE_ANTIALIAS
                            : PREP_RESIZE_BILINEAR;
  x = x < 0 ? -1 : prep_resize(c, x, p->height, p->width, mode, p->crop_to_aspect_ratio, st);
  return prep_to_first(c, x, st);
}

const nnc_layer_class layer_resizing = {"Resizing", "resizing", 1, 1, parse, lower, NULL};
