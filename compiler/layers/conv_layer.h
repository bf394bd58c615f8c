/* The convolution layer family (Conv1D/2D/3D; conv_layer.c holds the shared
 * parse and lower hooks, conv1d.c ... one class each). Keras 3 semantics:
 * kernel [k.., in/groups, filters] named "<layer>/kernel", bias [filters],
 * padding valid / same (pad_before = total // 2) / causal (1-D: dilation
 * (k - 1) zeros before), channels_first by transposes around the op. */
#ifndef NNC_LAYERS_CONV_LAYER_H
#define NNC_LAYERS_CONV_LAYER_H

#include "compiler/layers/layer.h"

typedef enum { CONV_PAD_VALID, CONV_PAD_SAME, CONV_PAD_CAUSAL } conv_padding;

typedef struct conv_layer_params {
  int spatial; /* 1, 2 or 3 */
  int64_t filters, groups;
  int64_t kernel[NNC_CONV_MAX_SPATIAL], strides[NNC_CONV_MAX_SPATIAL],
      dilation[NNC_CONV_MAX_SPATIAL];
  conv_padding padding;
  int channels_first;
  /* DepthwiseConv: filters = channels x depth_multiplier, groups = channels
   * (known when lowered); kernel [k.., channels, multiplier] */
  int depthwise;
  int64_t multiplier;
} conv_layer_params;

/* Parse a Conv<spatial>D config into out (its own keys in out->params). */
int conv_layer_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                     nnc_spec_layer *out, int spatial);
/* The same for DepthwiseConv<spatial>D (depth_multiplier, depthwise_* keys). */
int conv_layer_parse_depthwise(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               nnc_spec_layer *out, int spatial);
int conv_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st);

/* ---- pieces shared with the transposed and separable convolutions ---- */
/* kernel_size (required), strides, dilation_rate, padding, data_format of a
 * config into p (p->spatial set by the caller); refuses strides > 1 with
 * dilation_rate > 1 as Keras 3 does. */
int conv_layer_parse_geometry(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                              conv_layer_params *p);
/* An int (every axis) or a list of `spatial` positive ints; dflt < 1: required. */
int conv_layer_int_tuple(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         const char *key, int spatial, int64_t dflt, int64_t *out);
int conv_layer_parse_padding(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                             int spatial, conv_padding *out);
int conv_layer_parse_data_format(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                                 int *channels_first);
/* activation, use_bias, "<kernel>_initializer/_regularizer/_constraint",
 * bias_*, activity_regularizer into out's Dense fields. */
int conv_layer_parse_weight_keys(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                                 const char *kernel, nnc_spec_layer *out);
/* [B, C, s..] -> [B, s.., C] (last = 1) or back (last = 0). */
int conv_layer_to_channels(nnc_graph *g, int x, int spatial, int last, nnc_status *st);

/* Zeros before and after one spatial axis of length n for Keras's padding. */
void conv_layer_padding(conv_padding mode, int64_t n, int64_t k, int64_t stride, int64_t dil,
                        int64_t *before, int64_t *after);

/* The input of a convolution layer with `sp` spatial axes, channels last:
 * its rank checked, transposed from channels_first. -1 with st set. */
int conv_layer_input(layer_call *c, int x, int sp, int channels_first, nnc_status *st);

/* After the convolution y: bias, activation, channels_first, activity
 * regularizer; the layer's output, -1 with st set. */
int conv_layer_output(layer_call *c, int y, int64_t filters, int sp, int channels_first,
                      nnc_status *st);

#endif
