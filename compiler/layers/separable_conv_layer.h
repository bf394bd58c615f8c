/* The separable convolutions SeparableConv1D and SeparableConv2D
 * (separable_conv_layer.c: shared hooks; one file per class). Keras 3
 * semantics: a depthwise convolution (kernel_size, strides, dilation_rate,
 * padding valid / same, depth_multiplier) then a 1x1 pointwise one, then the
 * bias and the activation. Weights as Keras 3 (and tf.keras 2, tfjs):
 * "<layer>/depthwise_kernel" [k.., in, depth_multiplier],
 * "<layer>/pointwise_kernel" [1.., in x depth_multiplier, filters],
 * "<layer>/bias" [filters]. */
#ifndef NNC_LAYERS_SEPARABLE_CONV_LAYER_H
#define NNC_LAYERS_SEPARABLE_CONV_LAYER_H

#include "compiler/layers/conv_layer.h"

typedef struct separable_conv_params {
  conv_layer_params conv; /* the depthwise geometry, multiplier, filters */
  /* the depthwise kernel's live in the layer's kernel_* fields */
  nnc_spec_init pointwise_init;
  nnc_spec_regularizer pointwise_regularizer;
  nnc_spec_constraint pointwise_constraint;
} separable_conv_params;

int separable_conv_layer_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               nnc_spec_layer *out, int spatial);
int separable_conv_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st);

#endif
