/* The transposed convolutions Conv1DTranspose, Conv2DTranspose,
 * Conv3DTranspose (conv_transpose_layer.c: shared hooks; one file per class).
 * Keras 3 semantics: kernel [k.., filters, in] named "<layer>/kernel" (the
 * layout of the convolution whose input gradient this is), bias [filters];
 * padding valid / same; output_padding; dilation_rate; channels_first by
 * transposes around the op. The forward op is CONV_TRANSPOSE. */
#ifndef NNC_LAYERS_CONV_TRANSPOSE_LAYER_H
#define NNC_LAYERS_CONV_TRANSPOSE_LAYER_H

#include "compiler/layers/conv_layer.h"

typedef struct conv_transpose_params {
  conv_layer_params conv; /* filters, kernel, strides, dilation, padding, data_format */
  int has_output_padding; /* 0: Keras's default (None) */
  int64_t output_padding[NNC_CONV_MAX_SPATIAL];
} conv_transpose_params;

int conv_transpose_layer_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               nnc_spec_layer *out, int spatial);
int conv_transpose_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st);

/* One spatial axis of Keras 3's conv_transpose for an input of length n and
 * kernel k: the output length and the zeros before / after of the forward
 * convolution whose input gradient it is (op < 0: output_padding None). */
void conv_transpose_axis(conv_padding mode, int64_t n, int64_t k, int64_t stride, int64_t dil,
                         int64_t op, int64_t *length, int64_t *pad, int64_t *pad_end);

#endif
