/* ZeroPadding2D: zeros around the spatial axes (zero_padding.c). */
#include "compiler/layers/spatial.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return zero_padding_parse(ctx, cfg, cfg_path, 2, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return zero_padding_lower(c, in, st);
}

const nnc_layer_class layer_zero_padding2d = {
    "ZeroPadding2D", "zero_padding2d", 1, 1, parse, lower, NULL};
