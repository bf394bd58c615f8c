/* SpatialDropout2D: Dropout of whole channels (one draw per sample and
 * channel) on a rank-4 input, in the train phase only (noise.c). */
#include "compiler/layers/noise.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return noise_parse_spatial(ctx, cfg, cfg_path, 1, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return noise_spatial_lower(c, in, 4, st);
}

const nnc_layer_class layer_spatial_dropout2d = {
    "SpatialDropout2D", "spatial_dropout2d", 1, 1, parse, lower, NULL};
