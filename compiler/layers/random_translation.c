/* RandomTranslation (Keras 3 random_translation.py): in the train phase
 * each sample is shifted by (uniform height factor) * H rows and (uniform
 * width factor) * W columns (factors in [-1, 1]), read through the fill mode
 * and interpolation. Identity in inference. */
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  double hlo, hhi, wlo, whi;
  if (prep_parse_factor(ctx, cfg, cfg_path, "height_factor", -1.0, 1.0, &hlo, &hhi) ||
      prep_parse_factor(ctx, cfg, cfg_path, "width_factor", -1.0, 1.0, &wlo, &whi) ||
      prep_parse_transform(ctx, cfg, cfg_path, &p))
    return ctx->st->code;
  p.affine.kind = NNC_AFFINE_TRANSLATE;
  p.affine.lo0 = (float)hlo, p.affine.hi0 = (float)hhi;
  p.affine.lo1 = (float)wlo, p.affine.hi1 = (float)whi;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return prep_affine_lower(c, in, st);
}

const nnc_layer_class layer_random_translation = {
    "RandomTranslation", "random_translation", 1, 1, parse, lower, NULL};
