/* RandomZoom (Keras 3 random_zoom.py): in the train phase each sample is
 * scaled about its centre: the output reads the input at zoom times its
 * coordinates, zoom = 1 + uniform factor per axis (factors in (-1, 1]; a
 * positive factor zooms out). Without width_factor the width uses the
 * height's draw. Identity in inference. */
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  double hlo, hhi, wlo = 0, whi = 0;
  if (prep_parse_factor(ctx, cfg, cfg_path, "height_factor", -1.0, 1.0, &hlo, &hhi))
    return ctx->st->code;
  int tied = spec_is_absent(spec_child(cfg, "width_factor"));
  if (!tied && prep_parse_factor(ctx, cfg, cfg_path, "width_factor", -1.0, 1.0, &wlo, &whi))
    return ctx->st->code;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, hlo <= -1.0 ? "height_factor" : "width_factor");
  if (hlo <= -1.0 || (!tied && wlo <= -1.0))
    return spec_fail(ctx, path, "expected zoom factors above -1 (a zoom of 0 or less)");
  if (prep_parse_transform(ctx, cfg, cfg_path, &p)) return ctx->st->code;
  p.affine.kind = NNC_AFFINE_ZOOM;
  p.affine.tied = tied;
  p.affine.lo0 = (float)hlo, p.affine.hi0 = (float)hhi;
  p.affine.lo1 = (float)wlo, p.affine.hi1 = (float)whi;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return prep_affine_lower(c, in, st);
}

const nnc_layer_class layer_random_zoom = {"RandomZoom", "random_zoom", 1, 1, parse, lower, NULL};
