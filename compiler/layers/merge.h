/* The elementwise merge layers (Add, Subtract, Multiply, Average, Maximum,
 * Minimum) share this: inputs of one shape combined left to right. */
#ifndef NNC_LAYERS_MERGE_H
#define NNC_LAYERS_MERGE_H

#include "compiler/layers/layer.h"

/* Their configs hold nothing beyond the common keys. */
int merge_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out);
/* ((in[0] fn in[1]) fn in[2]) ...; every input must have in[0]'s shape. */
int merge_lower(layer_call *c, const int *in, int n_in, nnc_binary_fn fn, nnc_status *st);

#endif
