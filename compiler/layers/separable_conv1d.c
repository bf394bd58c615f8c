/* SeparableConv1D: a depthwise then a pointwise 1-D convolution
 * (separable_conv_layer.c). */
#include "compiler/layers/separable_conv_layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return separable_conv_layer_parse(ctx, cfg, cfg_path, out, 1);
}

const nnc_layer_class layer_separable_conv1d = {
    "SeparableConv1D", "separable_conv1d", 1, 1, parse, separable_conv_layer_lower, NULL};
