/* RandomRotation (Keras 3 random_rotation.py): in the train phase each
 * sample is rotated about its centre by an angle uniform in
 * [lower * 360, upper * 360] degrees (factor in [-1, 1]), read through the
 * fill mode and interpolation. Identity in inference. */
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  double lo, hi;
  if (prep_parse_factor(ctx, cfg, cfg_path, "factor", -1.0, 1.0, &lo, &hi) ||
      prep_parse_transform(ctx, cfg, cfg_path, &p))
    return ctx->st->code;
  p.affine.kind = NNC_AFFINE_ROTATE;
  p.affine.lo0 = (float)(lo * 360.0);
  p.affine.hi0 = (float)(hi * 360.0);
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return prep_affine_lower(c, in, st);
}

const nnc_layer_class layer_random_rotation = {
    "RandomRotation", "random_rotation", 1, 1, parse, lower, NULL};
