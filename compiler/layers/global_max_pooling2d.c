/* GlobalMaxPooling2D: the max over every position, per channel (global_pooling.c). */
#include "compiler/layers/spatial.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return global_pooling_parse(ctx, cfg, cfg_path, 2, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return global_pooling_lower(c, in, NNC_POOL_MAX, st);
}

const nnc_layer_class layer_global_max_pooling2d = {
    "GlobalMaxPooling2D", "global_max_pooling2d", 1, 1, parse, lower, NULL};
