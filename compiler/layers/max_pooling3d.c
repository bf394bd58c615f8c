/* MaxPooling3D: the max over each window (pooling.c). */
#include "compiler/layers/spatial.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return pooling_parse(ctx, cfg, cfg_path, 3, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return pooling_lower(c, in, NNC_POOL_MAX, st);
}

const nnc_layer_class layer_max_pooling3d = {"MaxPooling3D", "max_pooling3d", 1,   1,
                                             parse,          lower,           NULL};
