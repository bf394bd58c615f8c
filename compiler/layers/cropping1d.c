/* Cropping1D: entries removed at both ends of the spatial axes (cropping.c). */
#include "compiler/layers/spatial.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return cropping_parse(ctx, cfg, cfg_path, 1, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return cropping_lower(c, in, st);
}

const nnc_layer_class layer_cropping1d = {"Cropping1D", "cropping1d", 1, 1, parse, lower, NULL};
