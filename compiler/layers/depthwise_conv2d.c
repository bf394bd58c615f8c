/* DepthwiseConv2D: each input channel convolved with its own depth_multiplier
 * kernels (conv_layer.c: a grouped convolution, one group per channel);
 * kernel [k.., channels, depth_multiplier] named "<layer>/kernel" as Keras 3. */
#include "compiler/layers/conv_layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return conv_layer_parse_depthwise(ctx, cfg, cfg_path, out, 2);
}

const nnc_layer_class layer_depthwise_conv2d = {
    "DepthwiseConv2D", "depthwise_conv2d", 1, 1, parse, conv_layer_lower, NULL};
