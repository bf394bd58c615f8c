/* What the pooling and resampling layers share (MaxPooling*, AveragePooling*,
 * GlobalMax/AveragePooling*, ZeroPadding*, Cropping*, UpSampling*): their
 * parameters, the parsing of Keras's int-or-tuple keys and data_format, and
 * the move of channels_first inputs to channels_last and back. Each class is
 * a small file calling one of the family functions below. */
#ifndef NNC_LAYERS_SPATIAL_H
#define NNC_LAYERS_SPATIAL_H

#include "compiler/layers/layer.h"

typedef struct spatial_params {
  int dims;           /* spatial axes: 1, 2 or 3 */
  int channels_first; /* data_format */
  int64_t a[3], b[3]; /* pooling: window, strides; padding, cropping: before, after;
                         upsampling: factors in a */
  int same;           /* pooling: padding 'same' */
  int keepdims;       /* global pooling */
  int bilinear;       /* upsampling */
} spatial_params;

/* ---- parsing (spatial.c) ---- */
/* data_format: channels_last (default, also null) or channels_first. */
int spatial_parse_format(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         int *channels_first);
/* cfg.key as one positive integer for every axis or a list of n of them
 * (min_value 0 allows zeros); absent or null keeps out[]. */
int spatial_parse_ints(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                       int n, int64_t min_value, int64_t *out);
/* cfg.key as padding/cropping amounts, exactly what Keras 3's layers take:
 * n = 1 (ZeroPadding1D, Cropping1D): an integer (both sides) or [before,
 * after]; n = 2, 3: an integer (every side) or a list of n entries, each an
 * integer (both sides of that axis) or [before, after]. Absent or null keeps
 * lo[], hi[]. A bad entry is named by its own path ("padding[1][0]"). */
int spatial_parse_sides(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        const char *key, int n, int64_t *lo, int64_t *hi);
/* Store the parsed parameters into the layer. */
int spatial_store(const spec_ctx *ctx, const spatial_params *p, nnc_spec_layer *out);

/* ---- lowering (spatial.c) ---- */
/* The input x checked to be [B, S1..Sn, C] (or [B, C, S1..Sn]); -1 with a
 * message naming the layer otherwise. */
int spatial_check_input(layer_call *c, int x, int dims, nnc_status *st);
/* channels_first [B, C, S..] -> [B, S.., C], and back. */
int spatial_to_last(nnc_graph *g, int x, nnc_status *st);
int spatial_to_first(nnc_graph *g, int x, nnc_status *st);

/* ---- the families ---- */
/* pooling.c: MaxPooling / AveragePooling ND */
int pooling_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                  nnc_spec_layer *out);
int pooling_lower(layer_call *c, const int *in, nnc_pool_fn fn, nnc_status *st);
/* global_pooling.c: GlobalMaxPooling / GlobalAveragePooling ND */
int global_pooling_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                         nnc_spec_layer *out);
int global_pooling_lower(layer_call *c, const int *in, nnc_pool_fn fn, nnc_status *st);
/* zero_padding.c, cropping.c: ZeroPadding / Cropping ND */
int zero_padding_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                       nnc_spec_layer *out);
int zero_padding_lower(layer_call *c, const int *in, nnc_status *st);
int cropping_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                   nnc_spec_layer *out);
int cropping_lower(layer_call *c, const int *in, nnc_status *st);
/* up_sampling.c: UpSampling ND (nearest; bilinear for 2D) */
int up_sampling_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                      nnc_spec_layer *out);
int up_sampling_lower(layer_call *c, const int *in, nnc_status *st);

#endif
