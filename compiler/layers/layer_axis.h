/* Axes in layer configs (Concatenate, Dot, Permute): integers that may be
 * negative (counted from the last axis), resolved against the rank of the
 * input including the batch axis, as Keras does. */
#ifndef NNC_LAYERS_LAYER_AXIS_H
#define NNC_LAYERS_LAYER_AXIS_H

#include "compiler/layers/layer.h"

/* An integer of magnitude below NNC_MAX_RANK * 2 (an axis, not a size). */
int layer_parse_axis(const spec_ctx *ctx, const cJSON *item, const char *path, int64_t *out);

/* axis (negative: from the end) of a tensor of `rank` axes counting the
 * batch axis as 0; the batch axis itself is refused. "<cfg_path>: expected
 * ..." naming the layer and the input shape. -1 with st set on error. */
int layer_resolve_axis(const layer_call *c, const char *cfg_path, int64_t axis,
                       const nnc_shape *input, nnc_status *st);

#endif
