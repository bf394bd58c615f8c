/* Conv3DTranspose: the 3-D transposed convolution (conv_transpose_layer.c). */
#include "compiler/layers/conv_transpose_layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return conv_transpose_layer_parse(ctx, cfg, cfg_path, out, 3);
}

const nnc_layer_class layer_conv3d_transpose = {
    "Conv3DTranspose", "conv3d_transpose", 1, 1, parse, conv_transpose_layer_lower, NULL};
