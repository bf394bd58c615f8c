/* Identity: its output is its input. */
#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  (void)ctx;
  (void)cfg;
  (void)cfg_path;
  (void)out;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)c;
  (void)n_in;
  (void)st;
  return in[0];
}

const nnc_layer_class layer_identity = {"Identity", "identity", 1, 1, parse, lower, NULL};
