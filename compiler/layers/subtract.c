/* Subtract: in[0] - in[1]; Keras 3 takes exactly two inputs. */
#include "compiler/layers/merge.h"

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  return merge_lower(c, in, n_in, NNC_BIN_SUB, st);
}

const nnc_layer_class layer_subtract = {"Subtract", "subtract", 2, 2, merge_parse, lower, NULL};
