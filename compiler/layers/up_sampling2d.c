/* UpSampling2D: the spatial axes enlarged by repetition or bilinear interpolation (up_sampling.c).
 */
#include "compiler/layers/spatial.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return up_sampling_parse(ctx, cfg, cfg_path, 2, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return up_sampling_lower(c, in, st);
}

const nnc_layer_class layer_up_sampling2d = {"UpSampling2D", "up_sampling2d", 1,   1,
                                             parse,          lower,           NULL};
