/* BatchNormalization inside TimeDistributed (batch_normalization.c). */
#ifndef NNC_LAYERS_BATCH_NORMALIZATION_H
#define NNC_LAYERS_BATCH_NORMALIZATION_H

#include "compiler/layers/layer.h"

/* The call `c` of a BatchNormalization applied to each step of x [B, T, ...]
 * as Keras 3's TimeDistributed loop calls it: in training each step with its
 * own batch statistics and T chained moving-average updates in step order;
 * otherwise the moving statistics. Returns the output node, -1 on error. */
int batch_normalization_lower_steps(layer_call *c, int x, nnc_status *st);

#endif
