/* Conv2D: a 2-D convolution over [B, spatial.., C] (conv_layer.c). */
#include "compiler/layers/conv_layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return conv_layer_parse(ctx, cfg, cfg_path, out, 2);
}

const nnc_layer_class layer_conv2d = {"Conv2D", "conv2d", 1, 1, parse, conv_layer_lower, NULL};
