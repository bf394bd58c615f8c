/* Conv1D: a 1-D convolution over [B, spatial.., C] (conv_layer.c). */
#include "compiler/layers/conv_layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return conv_layer_parse(ctx, cfg, cfg_path, out, 1);
}

const nnc_layer_class layer_conv1d = {"Conv1D", "conv1d", 1, 1, parse, conv_layer_lower, NULL};
